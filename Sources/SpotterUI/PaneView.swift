import Annotations
import CNcurses
import Foundation
import TerminalGraphics

/// Colour pairs used by the panes.
enum Palette: Int16 {
    case statusBar = 1, timelinePlayed, timelineRest, timelineMarker, helpBox, message, prompt, dim

    /// Sets up the pairs from the theme, each colour mapped to the nearest the terminal has.
    static func install(_ theme: Theme) {
        guard has_colors() else { return }
        func pair(_ p: Palette, _ fg: RGB, _ bg: RGB?) {
            init_pair(p.rawValue, TerminalColor.index(fg), bg.map(TerminalColor.index) ?? -1)
        }
        pair(.statusBar, theme.statusForeground, theme.statusBackground)
        pair(.timelinePlayed, theme.timelinePlayed, nil)
        pair(.timelineRest, theme.timelineRest, nil)
        pair(.timelineMarker, theme.timelineMarker, nil)
        pair(.helpBox, theme.helpForeground, theme.helpBackground)
        pair(.message, theme.messageForeground, theme.statusBackground)
        pair(.prompt, theme.prompt, nil)
        pair(.dim, theme.textDim, nil)
    }

    var attribute: attr_t { attr_t(spotter_color_pair(Int32(rawValue))) }
}

/// Draws everything except the video region, from state, with ncurses. The video cells are never touched,
/// so ncurses never repaints over the raw image.
enum PaneView {
    static func draw(_ state: AppState) {
        let layout = state.layout
        if layout.isTooSmall {
            drawTooSmall(layout)
            return
        }
        drawTimeline(state)
        drawLanes(state)
        ObjectsPane.draw(state)
        drawStatus(state)
        if state.mode == .help { drawHelp(layout, page: state.helpPage) }
    }

    static func drawTooSmall(_ layout: Layout) {
        _ = werase(spotter_stdscr())
        let text = "Terminal \(layout.screenColumns)x\(layout.screenRows) is too small: Spotter needs \(Layout.minimumColumns)x\(Layout.minimumRows)."
        put(row: max(0, layout.screenRows / 2), column: 0, text, width: layout.screenColumns, attribute: 0)
    }

    static func drawTimeline(_ state: AppState) {
        let layout = state.layout
        let bar = layout.timelineBar
        let media = state.media
        let marker = layout.timelineColumn(forFrame: state.frame, frameCount: media.frameCount)
        clearRow(layout.timeline.row, from: layout.timeline.column, width: layout.timeline.width)
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
            put(row: bar.row, column: column, glyph, width: 1, attribute: pair.attribute)
        }
        for (mark, glyph) in [(state.assist.rangeStart, "["), (state.assist.rangeEnd, "]")] {
            guard let mark, mark <= media.lastFrame else { continue }
            let column = layout.timelineColumn(forFrame: mark, frameCount: media.frameCount)
            if column != marker { put(row: bar.row, column: column, glyph, width: 1, attribute: Palette.prompt.attribute | spotter_a_bold()) }
        }
        let labelRow = layout.labels.row
        clearRow(labelRow, from: layout.timeline.column, width: layout.timeline.width)
        let time = media.timestamps.isEmpty ? 0 : media.timestamps[state.frame]
        let left = " frame \(state.frame)/\(media.lastFrame)  \(Timecode.format(time)) / \(Timecode.format(media.duration))"
        put(row: labelRow, column: 0, left, width: layout.timeline.width, attribute: spotter_a_bold())
        let hint = "space play  ←/→ step  Tab select  u undo  ? help "
        let hintStart = layout.timeline.width - hint.count
        if hintStart > left.count + 2 {
            put(row: labelRow, column: hintStart, hint, width: hint.count, attribute: Palette.dim.attribute)
        }
    }

    static func drawStatus(_ state: AppState) {
        let row = state.layout.status.row
        let width = state.layout.status.width
        if case .prompt(let kind, let text) = state.mode {
            clearRow(row, from: 0, width: width)
            var caption = kind == .mergeInto ? "merge #\(state.annotations.selected?.rawValue ?? 0) into track #" : kind.caption
            if kind == .ask {
                caption = "\(state.assist.template.caption)\(state.assist.template == .trackPoint ? " (label)" : ""): "
                // The line above the prompt: its settings, or how to configure a model.
                let labelRow = state.layout.labels.row
                clearRow(labelRow, from: 0, width: width)
                if let message = state.message {
                    put(row: labelRow, column: 0, " " + message, width: width, attribute: Palette.message.attribute | spotter_a_bold())
                } else if state.assist.backend == nil {
                    put(row: labelRow, column: 0, " " + AssistState.noModelHint, width: width, attribute: Palette.message.attribute | spotter_a_bold())
                } else {
                    put(row: labelRow, column: 0, " " + state.assist.settingsLine, width: width, attribute: Palette.dim.attribute)
                }
            }
            put(row: row, column: 0, caption + text, width: width, attribute: Palette.prompt.attribute)
            _ = curs_set(1)
            _ = wmove(spotter_stdscr(), Int32(row), Int32(min(width - 1, caption.count + text.count)))
            return
        }
        _ = curs_set(0)
        let media = state.media
        var text: String
        var attribute = Palette.statusBar.attribute
        if let job = state.jobStatus {
            text = " " + job
            attribute = Palette.message.attribute | spotter_a_bold()
        } else if let message = state.message {
            text = " " + message
            attribute = Palette.message.attribute | spotter_a_bold()
        } else if state.mode == .move {
            text = " MOVE  ←↑↓→/hjkl 1 px, shift 10 px; Enter or Esc when done"
            attribute = Palette.message.attribute | spotter_a_bold()
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
        put(row: row, column: 0, text.padding(toLength: max(text.count, width), withPad: " ", startingAt: 0), width: width, attribute: attribute)
    }

    /// One lane per track under the bar: keyframes, stored points, occlusion and interpolated spans.
    static func drawLanes(_ state: AppState) {
        let layout = state.layout
        guard layout.lanes.height > 0 else { return }
        let bar = layout.timelineBar
        let tracks = Reducer.laneTracks(state)
        let marker = layout.timelineColumn(forFrame: state.frame, frameCount: state.media.frameCount)
        for lane in 0..<layout.lanes.height {
            let row = layout.lanes.row + lane
            clearRow(row, from: layout.lanes.column, width: layout.lanes.width)
            guard lane < tracks.count else { continue }
            let track = tracks[lane]
            let selected = track.id == state.annotations.selected
            let pair = TrackColors.pair(for: track)
            put(row: row, column: 0, selected ? "▶" : "▌", width: 1, attribute: pair)
            let glyphs = LaneGlyphs.glyphs(for: track, frameCount: state.media.frameCount, width: bar.width)
            var text = String(glyphs)
            if bar.column + bar.width > marker, marker >= bar.column, glyphs[marker - bar.column] == LaneGlyphs.empty {
                var chars = Array(text)
                chars[marker - bar.column] = "┊"
                text = String(chars)
            }
            put(row: row, column: bar.column, text, width: bar.width, attribute: selected ? pair | spotter_a_bold() : pair)
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
        "q / o          occluded / outside on this frame (with a selection)",
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

    static func drawHelp(_ layout: Layout, page: Int) {
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
            put(row: top + r, column: left, line, width: width, attribute: Palette.helpBox.attribute)
        }
    }

    static func clearRow(_ row: Int, from column: Int, width: Int) {
        guard width > 0 else { return }
        put(row: row, column: column, String(repeating: " ", count: width), width: width, attribute: 0)
    }

    /// Writes at most `width` characters of `text` at (row, column) with `attribute`.
    static func put(row: Int, column: Int, _ text: String, width: Int, attribute: attr_t) {
        guard width > 0, row >= 0, column >= 0 else { return }
        let safe = DisplaySafe.escape(text)  // labels and messages come from files
        let clipped = safe.count > width ? String(safe.prefix(width)) : safe
        _ = wattr_on(spotter_stdscr(), attribute, nil)
        _ = mvwaddstr(spotter_stdscr(), Int32(row), Int32(column), clipped)
        _ = wattr_off(spotter_stdscr(), attribute, nil)
    }
}

/// The objects pane: one row per track with its colour, id, label, point count and where the points came from.
enum ObjectsPane {
    static let headerRows = 2

    static func draw(_ state: AppState) {
        var pane = state.layout.objects
        guard !pane.isEmpty else { return }
        let tracks = state.annotations.tracks
        let model = ModelSection.height(state, paneHeight: pane.height)
        if model > 0 {
            ModelSection.draw(state, in: CellRect(column: pane.column, row: pane.row + pane.height - model, width: pane.width, height: model))
            pane.height -= model
        }
        for r in 0..<pane.height {
            PaneView.put(row: pane.row + r, column: pane.column, "│" + String(repeating: " ", count: pane.width - 1), width: pane.width, attribute: Palette.dim.attribute)
        }
        let inner = pane.width - 2
        let undo = (state.annotations.canUndo ? "u" : "-") + (state.annotations.canRedo ? "^R" : "--")
        PaneView.put(row: pane.row, column: pane.column + 2, "Objects (\(tracks.count))".padding(toLength: inner - 4, withPad: " ", startingAt: 0) + undo, width: inner, attribute: spotter_a_bold())
        if tracks.isEmpty {
            let hint = ["click the picture to", "place a point; n: new", "track; ? for keys"]
            for (i, line) in hint.enumerated() where i + headerRows < pane.height {
                PaneView.put(row: pane.row + headerRows + i, column: pane.column + 2, line, width: inner, attribute: Palette.dim.attribute)
            }
            return
        }
        PaneView.put(row: pane.row + 1, column: pane.column + 2, " id label       pts H/M/T", width: inner, attribute: Palette.dim.attribute)
        for (i, track) in tracks.enumerated() where i + headerRows < pane.height {
            let row = pane.row + headerRows + i
            let selected = track.id == state.annotations.selected
            let here = state.annotations.framePoints.contains { $0.track == track.id && !$0.isInterpolated }
            let text = line(for: track, hasPointHere: here, width: inner)
            PaneView.put(row: row, column: pane.column + 1, "■", width: 1, attribute: TrackColors.pair(for: track))
            PaneView.put(row: row, column: pane.column + 2, text, width: inner, attribute: selected ? spotter_a_reverse() : 0)
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

    static func draw(_ state: AppState, in area: CellRect) {
        let inner = area.width - 2
        for r in 0..<area.height {
            PaneView.put(row: area.row + r, column: area.column, "│" + String(repeating: " ", count: area.width - 1), width: area.width, attribute: Palette.dim.attribute)
        }
        var lines: [(String, attr_t)] = []
        let assist = state.assist
        let title = assist.running != nil ? (assist.running!.continuing != nil ? "Model: continuing" : "Model: answering") : "Model"
        lines.append(("─ " + title + " " + String(repeating: "─", count: max(0, inner - title.count - 3)), spotter_a_bold()))
        let answer = wrap(assist.answerText, width: inner)
        if let set = assist.predictions, assist.running == nil {
            lines.append(("\(set.objects.count) obj, \(set.pendingCount) pending", Palette.dim.attribute))
            // The start of the answer, then a window of the objects around the highlighted one.
            lines += answer.prefix(2).map { ($0, Palette.dim.attribute) }
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
                lines.append(("\(mark)\(String(i + 1).leftPadded(2)) \(label) \(status)", i == set.highlighted ? spotter_a_reverse() : 0))
            }
        } else if !answer.isEmpty {
            // While answering: the latest part of the streamed text.
            lines += answer.suffix(max(0, area.height - lines.count)).map { ($0, Palette.dim.attribute) }
        }
        for (r, line) in lines.prefix(area.height).enumerated() {
            PaneView.put(row: area.row + r, column: area.column + 2, line.0, width: inner, attribute: line.1)
        }
    }
}

/// ncurses colour pairs for track colours (nearest xterm-256 entry; 8 colours on poorer terminals).
enum TrackColors {
    static let firstPair: Int16 = 32
    nonisolated(unsafe) static var assigned: [Int64: Int16] = [:]

    static func pair(for track: Track) -> attr_t {
        guard has_colors() else { return 0 }
        let packed = track.color.packed
        if let pair = assigned[packed] { return attr_t(spotter_color_pair(Int32(pair))) }
        let pair = firstPair + Int16(assigned.count % 200)
        init_pair(pair, TerminalColor.index(RGB(r: track.color.red, g: track.color.green, b: track.color.blue)), -1)
        assigned[packed] = pair
        return attr_t(spotter_color_pair(Int32(pair)))
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// Maps RGB to the nearest colour number the terminal offers: the xterm 256-colour cube and greys, or the eight
/// ANSI colours.
enum TerminalColor {
    static let ansi: [(RGB, Int16)] = [
        (RGB(r: 0, g: 0, b: 0), Int16(COLOR_BLACK)), (RGB(r: 205, g: 0, b: 0), Int16(COLOR_RED)),
        (RGB(r: 0, g: 205, b: 0), Int16(COLOR_GREEN)), (RGB(r: 205, g: 205, b: 0), Int16(COLOR_YELLOW)),
        (RGB(r: 0, g: 0, b: 238), Int16(COLOR_BLUE)), (RGB(r: 205, g: 0, b: 205), Int16(COLOR_MAGENTA)),
        (RGB(r: 0, g: 205, b: 205), Int16(COLOR_CYAN)), (RGB(r: 229, g: 229, b: 229), Int16(COLOR_WHITE)),
    ]

    static func index(_ color: RGB) -> Int16 {
        if spotter_colors() >= 256 { return Int16(XtermPalette.nearestIndex(to: color)) }
        func distance(_ a: RGB, _ b: RGB) -> Int {
            let dr = Int(a.r) - Int(b.r), dg = Int(a.g) - Int(b.g), db = Int(a.b) - Int(b.b)
            return dr * dr + dg * dg + db * db
        }
        return ansi.min { distance($0.0, color) < distance($1.0, color) }!.1
    }
}
