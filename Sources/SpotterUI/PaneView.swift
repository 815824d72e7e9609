import Assist
import Basics
import Annotations
import Foundation
import TerminalGraphics

/// Renders everything except the picture's pixels from state into a `Screen` value: the panes' cells, the prompt
/// cursor and the region the picture owns. No terminal is involved; a backend presents the value.
package enum PaneView {
    package static func render(_ state: AppState, picture: Picture? = nil) -> Screen {
        let layout = state.layout
        var grid = CellGrid(columns: layout.screenColumns, rows: layout.screenRows)
        if layout.isTooSmall {
            drawTooSmall(layout, &grid)
            return Screen(grid: grid)
        }
        drawTimeline(state, &grid)
        drawLanes(state, &grid)
        ObjectsPane.draw(state, &grid)
        let cursor = drawStatus(state, &grid)
        if state.mode == .help {
            drawHelp(layout, page: state.helpPage, &grid)
            return Screen(grid: grid, cursor: cursor)
        }
        return Screen(grid: grid, cursor: cursor, pictureRegion: layout.viewer, picture: picture)
    }

    static func drawTooSmall(_ layout: Layout, _ grid: inout CellGrid) {
        let text = "Terminal \(layout.screenColumns)x\(layout.screenRows) is too small: Spotter needs \(Layout.minimumColumns)x\(Layout.minimumRows)."
        grid.put(row: max(0, layout.screenRows / 2), column: 0, text, width: layout.screenColumns, style: .plain)
    }

    static func drawTimeline(_ state: AppState, _ grid: inout CellGrid) {
        let layout = state.layout
        let bar = layout.timelineBar
        let media = state.media
        let marker = layout.timelineColumn(forFrame: state.frame, frameCount: media.frameCount)
        clearRow(layout.timeline.row, from: layout.timeline.column, width: layout.timeline.width, &grid)
        for column in bar.column..<(bar.column + bar.width) {
            let glyph: String
            let pair: Palette
            if column == marker {
                glyph = "┃"
                pair = .timelineMarker
            } else if column < marker {
                glyph = "━"
                pair = .timelinePlayed
            } else {
                glyph = "─"
                pair = .timelineRest
            }
            grid.put(row: bar.row, column: column, glyph, width: 1, style: .palette(pair))
        }
        for (mark, glyph) in [(state.assist.rangeStart, "["), (state.assist.rangeEnd, "]")] {
            guard let mark, mark <= media.lastFrame else { continue }
            let column = layout.timelineColumn(forFrame: mark, frameCount: media.frameCount)
            if column != marker { grid.put(row: bar.row, column: column, glyph, width: 1, style: CellStyle.palette(.prompt, bold: true)) }
        }
        let labelRow = layout.labels.row
        clearRow(labelRow, from: layout.timeline.column, width: layout.timeline.width, &grid)
        let time = media.timestamps.isEmpty ? 0 : media.timestamps[state.frame]
        let left = " frame \(state.frame)/\(media.lastFrame)  \(Timecode.format(time)) / \(Timecode.format(media.duration))"
        grid.put(row: labelRow, column: 0, left, width: layout.timeline.width, style: CellStyle(bold: true))
        let hint = "space play  ←/→ step  Tab select  u undo  ? help "
        let hintStart = layout.timeline.width - hint.count
        if hintStart > left.count + 2 {
            grid.put(row: labelRow, column: hintStart, hint, width: hint.count, style: CellStyle.palette(.dim))
        }
    }

    static func drawStatus(_ state: AppState, _ grid: inout CellGrid) -> (row: Int, column: Int)? {
        let row = state.layout.status.row
        let width = state.layout.status.width
        if case .prompt(let kind, let text) = state.mode {
            clearRow(row, from: 0, width: width, &grid)
            var caption = kind == .mergeInto ? "merge #\(state.annotations.selected?.rawValue ?? 0) into track #" : kind.caption
            if kind == .ask {
                caption = "\(state.assist.template.caption)\(state.assist.template == .trackPoint ? " (label)" : ""): "
                // The line above the prompt: its settings, or how to configure a model.
                let labelRow = state.layout.labels.row
                clearRow(labelRow, from: 0, width: width, &grid)
                if let message = state.message {
                    grid.put(row: labelRow, column: 0, " " + message, width: width, style: CellStyle.palette(.message, bold: true))
                } else if state.assist.backend == nil {
                    grid.put(row: labelRow, column: 0, " " + AssistState.noModelHint, width: width, style: CellStyle.palette(.message, bold: true))
                } else {
                    grid.put(row: labelRow, column: 0, " " + state.assist.settingsLine, width: width, style: CellStyle.palette(.dim))
                }
            }
            grid.put(row: row, column: 0, caption + text, width: width, style: CellStyle.palette(.prompt))
            return (row, min(width - 1, caption.count + text.count))
        }
        let media = state.media
        var text: String
        var attribute = CellStyle.palette(.statusBar)
        if let job = state.jobStatus {
            text = " " + job
            attribute = CellStyle.palette(.message, bold: true)
        } else if let message = state.message {
            text = " " + message
            // The selection stays in sight: an edit applies to it.
            if let track = state.annotations.selectedTrack { text += "  · selected #\(track.id.rawValue) \(track.label)" }
            attribute = CellStyle.palette(.message, bold: true)
        } else if state.mode == .move {
            text = " MOVE  ←↑↓→/hjkl 1 px, shift 10 px; Enter or Esc when done"
            attribute = CellStyle.palette(.message, bold: true)
        } else {
            let playing = state.isPlaying ? "▶ playing" : "❚❚ paused"
            text = " \(media.name)  \(media.width)x\(media.height)  \(String(format: "%.3g", media.fps)) fps  \(state.rendererName)  \(playing)"
            if let project = state.projectName {
                text += "  · \(project)"
            }
            if let track = state.annotations.selectedTrack {
                text += "  · selected #\(track.id.rawValue) \(track.label)"
            }
        }
        grid.put(row: row, column: 0, text.padding(toLength: max(text.count, width), withPad: " ", startingAt: 0), width: width, style: attribute)
        return nil
    }

    /// One lane per track under the bar: keyframes, stored points, occlusion and interpolated spans.
    static func drawLanes(_ state: AppState, _ grid: inout CellGrid) {
        let layout = state.layout
        guard layout.lanes.height > 0 else { return }
        let bar = layout.timelineBar
        let tracks = Reducer.laneTracks(state)
        let marker = layout.timelineColumn(forFrame: state.frame, frameCount: state.media.frameCount)
        for lane in 0..<layout.lanes.height {
            let row = layout.lanes.row + lane
            clearRow(row, from: layout.lanes.column, width: layout.lanes.width, &grid)
            guard lane < tracks.count else { continue }
            let track = tracks[lane]
            let selected = track.id == state.annotations.selected
            let pair = CellStyle(.track(track.rgb))
            grid.put(row: row, column: 0, selected ? "▶" : "▌", width: 1, style: pair)
            let glyphs = LaneGlyphs.glyphs(for: track, frameCount: state.media.frameCount, width: bar.width)
            var text = String(glyphs)
            if bar.column + bar.width > marker, marker >= bar.column, glyphs[marker - bar.column] == LaneGlyphs.empty {
                var chars = Array(text)
                chars[marker - bar.column] = "┊"
                text = String(chars)
            }
            grid.put(row: row, column: bar.column, text, width: bar.width, style: CellStyle(pair.color, bold: selected))
        }
    }

    static let helpLines: [String] = [
        "Spotter — keys",
        "",
        "space          play / pause at the source rate",
        "← → / d f      previous / next frame",
        "shift-← → D F  10 frames back / forward",
        "PgUp PgDn      5 seconds back / forward",
        "g G            first / last frame",
        ":              go to a frame (120) or a time (4.5s, 1:02.5)",
        "click timeline seek there (a lane also selects its track)",
        "",
        "click picture  on a point: select it; else place the selected",
        "               track's point here, or start a new track",
        "Tab shift-Tab  select next / previous track; Esc: none",
        "n              new track          l  label",
        "m              move the point: arrows/hjkl 1 px, shift 10 px",
        "k              keyframe on/off    r e  next / previous keyframe",
        "v / o          occluded / outside on this frame (with a selection)",
        "x Del          delete the point   X  delete the track",
        "M              merge into a track s  split at this frame",
        "p P            follow the point forward / backward (optical",
        "               flow; bridges to the next keyframe); Esc stops",
        "u  Ctrl-R      undo / redo (every edit is saved as you make it)",
        "/              ask the model: Tab template (point, count, track,",
        "               track this point, question), ^O scope (frame,",
        "               range, whole video), ^F fps, ^N frames, ^G grammar",
        "c              continue the selected point with the model",
        "[ ]            first / last frame of the question range",
        ", .            previous / next predicted object",
        "a A y          accept it / all / its point here (as model points)",
        "z Z Backspace  reject it / all / its point here",
        "Ctrl-L         redraw             ?  this help",
        "q (no selection), Q, Ctrl-C       quit",
        "",
        "any key closes this help",
    ]

    /// The help split into pages that fit `layout` (the last line of each says what a key does next).
    static func helpPages(_ layout: Layout) -> [[String]] {
        let body = Array(helpLines.dropFirst(2).dropLast())
        let capacity = max(6, layout.screenRows - 1 - 2)
        if helpLines.count <= capacity { return [helpLines] }
        var chunks: [[String]] = []
        var rest = body[...]
        while !rest.isEmpty {
            var take = rest.prefix(capacity - 4)
            // Do not end a page on a blank line or start one with a continuation line.
            while take.count > 1, rest.count > take.count, rest[rest.startIndex + take.count].hasPrefix("   ") {
                take = take.dropLast()
            }
            rest = rest.dropFirst(take.count)
            chunks.append(Array(take))
        }
        return chunks.enumerated().map { k, lines in
            ["\(helpLines[0]) (\(k + 1)/\(chunks.count))", ""] + lines
                + ["", k + 1 == chunks.count ? "any key closes this help" : "any key: more keys; Esc closes"]
        }
    }

    static func drawHelp(_ layout: Layout, page: Int, _ grid: inout CellGrid) {
        let pages = helpPages(layout)
        let lines = pages[min(page, pages.count - 1)]
        let innerWidth = (helpLines.map(\.count).max() ?? 0) + 4
        let width = min(layout.screenColumns, innerWidth)
        let height = min(layout.screenRows - 1, lines.count + 2)
        let top = max(0, (layout.screenRows - 1 - height) / 2)
        let left = max(0, (layout.screenColumns - width) / 2)
        for r in 0..<height {
            let line: String
            if r == 0 || r == height - 1 {
                line = (r == 0 ? "┌" : "└") + String(repeating: "─", count: max(0, width - 2)) + (r == 0 ? "┐" : "┘")
            } else {
                let content = r - 1 < lines.count ? lines[r - 1] : ""
                line = "│ " + content.padding(toLength: max(0, width - 4), withPad: " ", startingAt: 0) + " │"
            }
            grid.put(row: top + r, column: left, line, width: width, style: CellStyle.palette(.helpBox))
        }
    }

    static func clearRow(_ row: Int, from column: Int, width: Int, _ grid: inout CellGrid) {
        guard width > 0 else { return }
        grid.put(row: row, column: column, String(repeating: " ", count: width), width: width, style: .plain)
    }
}

/// The objects pane: one row per track with its colour, id, label, point count and where the points came from.
enum ObjectsPane {
    static let headerRows = 2

    static func draw(_ state: AppState, _ grid: inout CellGrid) {
        var pane = state.layout.objects
        guard !pane.isEmpty else { return }
        let tracks = state.annotations.tracks
        let model = ModelSection.height(state, paneHeight: pane.height)
        if model > 0 {
            ModelSection.draw(state, in: CellRect(column: pane.column, row: pane.row + pane.height - model, width: pane.width, height: model), &grid)
            pane.height -= model
        }
        for r in 0..<pane.height {
            grid.put(row: pane.row + r, column: pane.column, "│" + String(repeating: " ", count: pane.width - 1), width: pane.width, style: CellStyle.palette(.dim))
        }
        let inner = pane.width - 2
        let undo = (state.annotations.canUndo ? "u" : "-") + (state.annotations.canRedo ? "^R" : "--")
        grid.put(row: pane.row, column: pane.column + 2, "Objects (\(tracks.count))".padding(toLength: inner - 4, withPad: " ", startingAt: 0) + undo, width: inner, style: CellStyle(bold: true))
        if tracks.isEmpty {
            let hint = ["click the picture to", "place a point; n: new", "track; ? for keys"]
            for (i, line) in hint.enumerated() where i + headerRows < pane.height {
                grid.put(row: pane.row + headerRows + i, column: pane.column + 2, line, width: inner, style: CellStyle.palette(.dim))
            }
            return
        }
        grid.put(row: pane.row + 1, column: pane.column + 2, " id label       pts H/M/T", width: inner, style: CellStyle.palette(.dim))
        for (i, track) in tracks.enumerated() where i + headerRows < pane.height {
            let row = pane.row + headerRows + i
            let selected = track.id == state.annotations.selected
            let here = state.annotations.framePoints.contains { $0.track == track.id && !$0.isInterpolated }
            let text = line(for: track, hasPointHere: here, width: inner)
            grid.put(row: row, column: pane.column + 1, "■", width: 1, style: CellStyle(.track(track.rgb)))
            grid.put(row: row, column: pane.column + 2, text, width: inner, style: selected ? CellStyle(reverse: true) : .plain)
        }
    }

    /// A track's row: id, label, a dot when it has a stored point on this frame, its point count and how many
    /// came from a human, a model and the tracker. The label gives way first, so the counts always show whole.
    static func line(for track: Track, hasPointHere: Bool, width: Int) -> String {
        var human = 0, machine = 0, tracker = 0
        for entry in track.entries {
            switch entry.provenance {
            case .human: human += 1
            case .model: machine += 1
            case .tracker, .interpolated: tracker += 1
            }
        }
        let id = String("\(track.id.rawValue)".suffix(3)).leftPadded(3)
        let counts = "\(hasPointHere ? "•" : " ")\(String(track.entries.count).leftPadded(4)) \(human)/\(machine)/\(tracker)"
        let labelWidth = max(0, min(10, width - id.count - 1 - counts.count))
        let label = String(DisplaySafe.escape(track.label).prefix(labelWidth)).padding(toLength: labelWidth, withPad: " ", startingAt: 0)
        return "\(id) \(label)\(counts)"
    }
}

/// The bottom of the objects pane while the model is involved: the question in flight with its streamed answer,
/// then the predictions waiting for a decision.
enum ModelSection {
    static func hasContent(_ state: AppState) -> Bool {
        state.assist.running != nil || state.assist.predictions != nil || !state.assist.answerText.isEmpty
    }

    static func height(_ state: AppState, paneHeight: Int) -> Int {
        guard hasContent(state), paneHeight >= 8 else { return 0 }
        return min(paneHeight / 2 + 1, 12)
    }

    /// `text` cut into lines of `width` characters (newlines kept).
    static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var rest = Substring(paragraph)
            if rest.isEmpty { lines.append("") }
            while !rest.isEmpty {
                lines.append(String(rest.prefix(width)))
                rest = rest.dropFirst(width)
            }
        }
        return lines
    }

    static func draw(_ state: AppState, in area: CellRect, _ grid: inout CellGrid) {
        let inner = area.width - 2
        for r in 0..<area.height {
            grid.put(row: area.row + r, column: area.column, "│" + String(repeating: " ", count: area.width - 1), width: area.width, style: CellStyle.palette(.dim))
        }
        var lines: [(String, CellStyle)] = []
        let assist = state.assist
        let title = assist.running != nil ? (assist.running!.continuing != nil ? "Model: continuing" : "Model: answering") : "Model"
        lines.append(("─ " + title + " " + String(repeating: "─", count: max(0, inner - title.count - 3)), CellStyle(bold: true)))
        let answer = wrap(DisplaySafe.visible(assist.answerText, keepNewlines: true), width: inner)
        if let set = assist.predictions, assist.running == nil {
            lines.append(("\(set.objects.count) obj, \(set.pendingCount) pending", CellStyle.palette(.dim)))
            // The start of the answer, then a window of the objects around the highlighted one.
            lines += answer.prefix(2).map { ($0, CellStyle.palette(.dim)) }
            let room = max(0, area.height - lines.count)
            let highlighted = set.highlighted ?? 0
            let first = min(max(0, highlighted - room / 2), max(0, set.objects.count - room))
            for i in first..<min(set.objects.count, first + room) {
                let object = set.objects[i]
                let pending = set.pendingPoints(of: i).count
                let mark = i == set.highlighted ? "▶" : " "
                let label = String(DisplaySafe.escape(object.label).prefix(10)).padding(toLength: 10, withPad: " ", startingAt: 0)
                let done = object.points.allSatisfy { set.accepted.contains(PredictionKey(object: i, frame: $0.frame)) }
                let status = pending > 0 ? "\(pending)/\(object.points.count)" : done ? "accepted" : "rejected"
                lines.append(("\(mark)\(String(i + 1).leftPadded(2)) \(label) \(status)", i == set.highlighted ? CellStyle(reverse: true) : .plain))
            }
        } else if !answer.isEmpty {
            // While answering: the latest part of the streamed text.
            lines += answer.suffix(max(0, area.height - lines.count)).map { ($0, CellStyle.palette(.dim)) }
        }
        for (r, line) in lines.prefix(area.height).enumerated() {
            grid.put(row: area.row + r, column: area.column + 2, line.0, width: inner, style: line.1)
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

