import Annotations
import TerminalGraphics

/// The colours the panes use, named by role; the terminal backend maps them to what the terminal has.
package enum Palette: Int16, Sendable {
    case statusBar = 1, timelinePlayed, timelineRest, timelineMarker, helpBox, message, prompt, dim
}

/// A cell's colour: the terminal's default, a pane role, or a track's own colour.
package enum CellColor: Hashable, Sendable {
    case normal
    case palette(Palette)
    case track(RGB)
}

package struct CellStyle: Hashable, Sendable {
    package var color: CellColor
    package var bold: Bool
    package var reverse: Bool

    package init(_ color: CellColor = .normal, bold: Bool = false, reverse: Bool = false) {
        self.color = color
        self.bold = bold
        self.reverse = reverse
    }

    package static let plain = CellStyle()
    package static func palette(_ p: Palette, bold: Bool = false) -> CellStyle { CellStyle(.palette(p), bold: bold) }
}

package struct Cell: Equatable, Sendable {
    package var character: Character
    package var style: CellStyle

    package init(_ character: Character = " ", style: CellStyle = .plain) {
        self.character = character
        self.style = style
    }
}

/// The screen's text as a value: `rows` lines of `columns` cells.
package struct CellGrid: Equatable, Sendable {
    package let columns: Int
    package let rows: Int
    package private(set) var cells: [Cell]

    package init(columns: Int, rows: Int) {
        self.columns = max(0, columns)
        self.rows = max(0, rows)
        cells = Array(repeating: Cell(), count: self.columns * self.rows)
    }

    package subscript(column: Int, row: Int) -> Cell {
        cells[row * columns + column]
    }

    /// Writes at most `width` characters of `text` at (row, column), clipped at the screen's edge.
    package mutating func put(row: Int, column: Int, _ text: String, width: Int, style: CellStyle) {
        guard width > 0, row >= 0, row < rows, column >= 0 else { return }
        var c = column
        for character in text.prefix(width) {
            guard c < columns else { return }
            cells[row * columns + c] = Cell(character, style: style)
            c += 1
        }
    }

    /// The characters of one row.
    package func text(row: Int) -> String {
        String(cells[(row * columns)..<((row + 1) * columns)].map(\.character))
    }

    /// Every row's characters, top to bottom.
    package var lines: [String] { (0..<rows).map(text(row:)) }
}

/// The picture as shown: the frame it is of, its pixels with the overlay drawn in, and the cell it starts at.
package struct Picture: Equatable, Sendable {
    /// The frame index the pixels were decoded from.
    package var frame: Int
    package var image: RGBImage
    package var row: Int
    package var column: Int
    /// Moving pictures may be sent approximately (playback).
    package var isMoving: Bool
    /// Why the frame could not be decoded (the image is then the theme's missing-frame colour).
    package var problem: String?

    package init(frame: Int, image: RGBImage, row: Int, column: Int, isMoving: Bool = false, problem: String? = nil) {
        self.frame = frame
        self.image = image
        self.row = row
        self.column = column
        self.isMoving = isMoving
        self.problem = problem
    }
}

/// Everything on screen as a value: the panes' cells, where the cursor is, and the picture region with its pixels.
package struct Screen: Equatable, Sendable {
    package var grid: CellGrid
    /// The prompt's cursor; nil hides it.
    package var cursor: (row: Int, column: Int)?
    /// The cells the picture owns (the text backend leaves them alone); nil when no picture is shown.
    package var pictureRegion: CellRect?
    package var picture: Picture?

    package init(grid: CellGrid, cursor: (row: Int, column: Int)? = nil, pictureRegion: CellRect? = nil, picture: Picture? = nil) {
        self.grid = grid
        self.cursor = cursor
        self.pictureRegion = pictureRegion
        self.picture = picture
    }

    package static func == (a: Screen, b: Screen) -> Bool {
        a.grid == b.grid && a.cursor?.row == b.cursor?.row && a.cursor?.column == b.cursor?.column
            && a.pictureRegion == b.pictureRegion && a.picture == b.picture
    }
}

extension Track {
    /// The track's colour as the picture and the panes draw it.
    package var rgb: RGB { RGB(r: color.red, g: color.green, b: color.blue) }
}
