import CNcurses
import Foundation

/// Colour pairs used by the panes.
enum Palette: Int16 {
    case statusBar = 1, timelinePlayed, timelineRest, timelineMarker, helpBox, message, prompt, dim

    /// Sets up the pairs; 256-colour terminals get softer greys, others the 8 ANSI colours.
    static func install() {
        guard has_colors() else { return }
        let rich = spotter_colors() >= 256
        let grey: Int16 = rich ? 240 : Int16(COLOR_WHITE)
        let bar: Int16 = rich ? 236 : Int16(COLOR_BLUE)
        init_pair(statusBar.rawValue, Int16(COLOR_WHITE), bar)
        init_pair(timelinePlayed.rawValue, Int16(COLOR_CYAN), -1)
        init_pair(timelineRest.rawValue, grey, -1)
        init_pair(timelineMarker.rawValue, Int16(COLOR_YELLOW), -1)
        init_pair(helpBox.rawValue, Int16(COLOR_WHITE), bar)
        init_pair(message.rawValue, Int16(COLOR_YELLOW), bar)
        init_pair(prompt.rawValue, Int16(COLOR_WHITE), -1)
        init_pair(dim.rawValue, grey, -1)
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
        drawStatus(state)
        if state.mode == .help { drawHelp(layout) }
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
        let labelRow = layout.timeline.row + 1
        clearRow(labelRow, from: layout.timeline.column, width: layout.timeline.width)
        let time = media.timestamps.isEmpty ? 0 : media.timestamps[state.frame]
        let left = " frame \(state.frame)/\(media.lastFrame)  \(Timecode.format(time)) / \(Timecode.format(media.duration))"
        put(row: labelRow, column: 0, left, width: layout.timeline.width, attribute: spotter_a_bold())
        let hint = "space play  ←/→ step  : go to  ? help  q quit "
        let hintStart = layout.timeline.width - hint.count
        if hintStart > left.count + 2 {
            put(row: labelRow, column: hintStart, hint, width: hint.count, attribute: Palette.dim.attribute)
        }
    }

    static func drawStatus(_ state: AppState) {
        let row = state.layout.status.row
        let width = state.layout.status.width
        if case .command(let text) = state.mode {
            clearRow(row, from: 0, width: width)
            put(row: row, column: 0, ":" + text, width: width, attribute: Palette.prompt.attribute)
            _ = curs_set(1)
            _ = wmove(spotter_stdscr(), Int32(row), Int32(min(width - 1, text.count + 1)))
            return
        }
        _ = curs_set(0)
        let media = state.media
        let playing = state.isPlaying ? "▶ playing" : "❚❚ paused"
        var text = " \(media.name)  \(media.width)x\(media.height)  \(String(format: "%.3g", media.fps)) fps  \(state.rendererName)  \(playing)"
        var attribute = Palette.statusBar.attribute
        if let message = state.message {
            text = " " + message
            attribute = Palette.message.attribute | spotter_a_bold()
        }
        put(row: row, column: 0, text.padding(toLength: max(text.count, width), withPad: " ", startingAt: 0), width: width, attribute: attribute)
    }

    static let helpLines: [String] = [
        "Spotter — keys",
        "",
        "space        play / pause at the source rate",
        "← → / h l    previous / next frame",
        "shift-← →    10 frames back / forward",
        "PgUp PgDn    5 seconds back / forward",
        "g G          first / last frame",
        ":            go to a frame (120) or a time (4.5s, 1:02.5)",
        "click        on the timeline: seek there",
        "Ctrl-L       redraw the screen",
        "?            this help",
        "q            quit",
        "",
        "any key closes this help",
    ]

    static func drawHelp(_ layout: Layout) {
        let innerWidth = (helpLines.map(\.count).max() ?? 0) + 4
        let width = min(layout.screenColumns, innerWidth)
        let height = min(layout.viewer.height + layout.timeline.height, helpLines.count + 2)
        let top = max(0, (layout.viewer.height - height) / 2)
        let left = max(0, (layout.screenColumns - width) / 2)
        for r in 0..<height {
            let line: String
            if r == 0 || r == height - 1 {
                line = (r == 0 ? "┌" : "└") + String(repeating: "─", count: max(0, width - 2)) + (r == 0 ? "┐" : "┘")
            } else {
                let content = r - 1 < helpLines.count ? helpLines[r - 1] : ""
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
        let clipped = text.count > width ? String(text.prefix(width)) : text
        _ = wattr_on(spotter_stdscr(), attribute, nil)
        _ = mvwaddstr(spotter_stdscr(), Int32(row), Int32(column), clipped)
        _ = wattr_off(spotter_stdscr(), attribute, nil)
    }
}
