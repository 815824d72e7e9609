import Annotations
import CNcurses
import Foundation
import TerminalGraphics

/// The ncurses backend: presents a `Screen` value. Text cells go through ncurses (which sends only what changed);
/// the picture region is never touched by ncurses and is written raw, encoded for the terminal, after it.
package final class TerminalPresenter {
    private let session: TerminalSession
    private let graphics: ViewerGraphics
    private var halfBlock: HalfBlockEncoder
    /// Sixel while playing: the fixed palette, a table look-up a pixel. Paused or seeking: a palette chosen for the
    /// frame (median cut), several dB closer to the source, so the frame a person corrects on is the clearest.
    private let movingSixel = SixelEncoder()
    private let stillSixel = SixelEncoder(palette: .adaptive(diffusion: false))
    /// Per-channel difference below which a cell is not re-sent during playback.
    package static let playbackTolerance = 4

    package init(session: TerminalSession, graphics: ViewerGraphics, theme: Theme) {
        self.session = session
        self.graphics = graphics
        if case .halfBlock(let mode) = graphics.renderer {
            halfBlock = HalfBlockEncoder(colorMode: mode)
        } else {
            halfBlock = HalfBlockEncoder()
        }
        TerminalPalette.install(theme)
    }

    /// Forgets what is on screen: the next presentation repaints every cell and the whole picture.
    package func invalidate() {
        session.invalidateScreen()
        halfBlock.invalidate()
    }

    /// Presents the panes' cells (outside the picture region) and the cursor.
    package func presentText(_ screen: Screen) {
        let grid = screen.grid
        let region = screen.pictureRegion
        for row in 0..<grid.rows {
            var column = 0
            while column < grid.columns {
                if let region, region.contains(column: column, row: row) {
                    column += 1
                    continue
                }
                // One run of cells with the same style, stopping at the picture region.
                let style = grid[column, row].style
                var text = ""
                let start = column
                while column < grid.columns, grid[column, row].style == style,
                    !(region?.contains(column: column, row: row) ?? false)
                {
                    text.append(grid[column, row].character)
                    column += 1
                }
                let attribute = TerminalPalette.attribute(style)
                _ = wattr_on(spotter_stdscr(), attribute, nil)
                _ = mvwaddstr(spotter_stdscr(), Int32(row), Int32(start), text)
                _ = wattr_off(spotter_stdscr(), attribute, nil)
            }
        }
        placeCursor(screen)
        session.flush()
    }

    /// Writes the picture raw, after ncurses' output; puts the prompt cursor back after it.
    package func presentPicture(_ screen: Screen) {
        guard let picture = screen.picture else { return }
        // Moving pictures may be approximate (compression noise is not worth the bytes); a still one is exact.
        halfBlock.tolerance = picture.isMoving ? TerminalPresenter.playbackTolerance : 0
        let bytes: [UInt8]
        switch graphics.renderer {
        case .halfBlock:
            bytes = halfBlock.encode(picture.image, row: picture.row, column: picture.column)
        case .sixel:
            bytes = (picture.isMoving ? movingSixel : stillSixel).encode(picture.image, row: picture.row, column: picture.column)
        }
        session.writeRaw(bytes)
        if screen.cursor != nil {
            placeCursor(screen)
            session.flush()
        }
    }

    private func placeCursor(_ screen: Screen) {
        if let cursor = screen.cursor {
            _ = curs_set(1)
            _ = wmove(spotter_stdscr(), Int32(cursor.row), Int32(cursor.column))
        } else {
            _ = curs_set(0)
        }
    }
}

/// ncurses colour pairs for the panes' roles, installed from the theme.
enum TerminalPalette {
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

    /// The ncurses attribute that draws `style`.
    static func attribute(_ style: CellStyle) -> attr_t {
        var attribute: attr_t = 0
        switch style.color {
        case .normal: break
        case .palette(let p): attribute = attr_t(spotter_color_pair(Int32(p.rawValue)))
        case .track(let rgb): attribute = TrackColors.pair(for: rgb)
        }
        if style.bold { attribute |= spotter_a_bold() }
        if style.reverse { attribute |= spotter_a_reverse() }
        return attribute
    }
}

/// ncurses colour pairs for track colours (nearest xterm-256 entry; 8 colours on poorer terminals).
enum TrackColors {
    static let firstPair: Int16 = 32
    nonisolated(unsafe) static var assigned: [Int64: Int16] = [:]

    static func pair(for color: RGB) -> attr_t {
        guard has_colors() else { return 0 }
        let packed = Int64(color.r) << 16 | Int64(color.g) << 8 | Int64(color.b)
        if let pair = assigned[packed] { return attr_t(spotter_color_pair(Int32(pair))) }
        let pair = firstPair + Int16(assigned.count % 200)
        init_pair(pair, TerminalColor.index(color), -1)
        assigned[packed] = pair
        return attr_t(spotter_color_pair(Int32(pair)))
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
