import TerminalGraphics

/// A minimal terminal model for checking half-block output cell by cell. It understands exactly what the
/// encoder is allowed to emit (CUP, CUF, SGR 0 / 38;2 / 48;2 / 38;5 / 48;5, ESC 7 / ESC 8, CR, LF, space,
/// U+2580, U+2584) and records anything else as an error.
struct TerminalGrid {
    enum Glyph: Equatable {
        case untouched, space, upperHalf, lowerHalf
    }

    struct Cell: Equatable {
        var glyph: Glyph = .untouched
        var foreground: RGB?
        var background: RGB?
        var foregroundIndex: Int?
        var backgroundIndex: Int?
    }

    let columns: Int
    let rows: Int
    var cells: [Cell]
    var cursorRow = 0
    var cursorColumn = 0
    var foreground: RGB?
    var background: RGB?
    var foregroundIndex: Int?
    var backgroundIndex: Int?
    private var saved: (row: Int, column: Int, foreground: RGB?, background: RGB?, fgIndex: Int?, bgIndex: Int?)?
    /// Protocol violations (unknown sequences, writing off screen, ANSI palette entries ...).
    var errors: [String] = []
    /// SGR colour settings that set the colour already in effect (the encoder should never send these).
    var redundantColorSets = 0
    var cursorPositionCount = 0
    var cursorForwardCount = 0
    var glyphCount = 0

    init(columns: Int, rows: Int) {
        self.columns = columns
        self.rows = rows
        cells = Array(repeating: Cell(), count: columns * rows)
    }

    /// The xterm palette, defined here independently of the code under test.
    static func paletteColor(_ index: Int) -> RGB? {
        let levels: [UInt8] = [0, 95, 135, 175, 215, 255]
        switch index {
        case 16...231:
            let i = index - 16
            return RGB(r: levels[i / 36], g: levels[(i / 6) % 6], b: levels[i % 6])
        case 232...255:
            let v = UInt8(8 + 10 * (index - 232))
            return RGB(r: v, g: v, b: v)
        default:
            return nil
        }
    }

    func cell(column: Int, row: Int) -> Cell {
        cells[row * columns + column]
    }

    /// The colours shown in the upper and lower half of a cell (nil where nothing or a default colour shows).
    func halves(column: Int, row: Int) -> (top: RGB?, bottom: RGB?) {
        let cell = cell(column: column, row: row)
        switch cell.glyph {
        case .untouched: return (nil, nil)
        case .space: return (cell.background, cell.background)
        case .upperHalf: return (cell.foreground, cell.background)
        case .lowerHalf: return (cell.background, cell.foreground)
        }
    }

    /// Palette indices shown in the upper and lower half (256-colour mode).
    func halfIndices(column: Int, row: Int) -> (top: Int?, bottom: Int?) {
        let cell = cell(column: column, row: row)
        switch cell.glyph {
        case .untouched: return (nil, nil)
        case .space: return (cell.backgroundIndex, cell.backgroundIndex)
        case .upperHalf: return (cell.foregroundIndex, cell.backgroundIndex)
        case .lowerHalf: return (cell.backgroundIndex, cell.foregroundIndex)
        }
    }

    mutating func feed(_ bytes: [UInt8]) {
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            switch byte {
            case 0x1B:
                guard i + 1 < bytes.count else {
                    errors.append("lone ESC at end")
                    return
                }
                let next = bytes[i + 1]
                if next == 0x37 {
                    saved = (cursorRow, cursorColumn, foreground, background, foregroundIndex, backgroundIndex)
                    i += 2
                } else if next == 0x38 {
                    if let s = saved {
                        cursorRow = s.row
                        cursorColumn = s.column
                        foreground = s.foreground
                        background = s.background
                        foregroundIndex = s.fgIndex
                        backgroundIndex = s.bgIndex
                    } else {
                        errors.append("ESC 8 without ESC 7")
                    }
                    i += 2
                } else if next == 0x5B {
                    var j = i + 2
                    var text: [UInt8] = []
                    while j < bytes.count, (0x30...0x3F).contains(bytes[j]) {
                        text.append(bytes[j])
                        j += 1
                    }
                    guard j < bytes.count else {
                        errors.append("unterminated CSI")
                        return
                    }
                    control(parameters: String(decoding: text, as: UTF8.self), final: bytes[j])
                    i = j + 1
                } else {
                    errors.append("unexpected ESC \(next)")
                    i += 2
                }
            case 0x0D:
                cursorColumn = 0
                i += 1
            case 0x0A:
                cursorRow += 1
                if cursorRow >= rows { errors.append("line feed below the screen") }
                i += 1
            case 0x20:
                put(.space)
                i += 1
            case 0xE2:
                if i + 2 < bytes.count, bytes[i + 1] == 0x96, bytes[i + 2] == 0x80 {
                    put(.upperHalf)
                } else if i + 2 < bytes.count, bytes[i + 1] == 0x96, bytes[i + 2] == 0x84 {
                    put(.lowerHalf)
                } else {
                    errors.append("unexpected UTF-8 sequence")
                }
                i += 3
            default:
                errors.append("unexpected byte \(byte)")
                i += 1
            }
        }
    }

    private mutating func put(_ glyph: Glyph) {
        guard cursorRow >= 0, cursorRow < rows, cursorColumn >= 0, cursorColumn < columns else {
            errors.append("glyph written off screen at \(cursorRow),\(cursorColumn)")
            return
        }
        cells[cursorRow * columns + cursorColumn] = Cell(
            glyph: glyph, foreground: foreground, background: background, foregroundIndex: foregroundIndex,
            backgroundIndex: backgroundIndex)
        cursorColumn += 1
        glyphCount += 1
    }

    private mutating func control(parameters: String, final: UInt8) {
        let values = parameters.split(separator: ";", omittingEmptySubsequences: false).map { Int($0) }
        switch final {
        case 0x48:  // CUP
            cursorPositionCount += 1
            let row = values.count > 0 ? (values[0] ?? 1) : 1
            let column = values.count > 1 ? (values[1] ?? 1) : 1
            cursorRow = row - 1
            cursorColumn = column - 1
        case 0x43:  // CUF
            cursorForwardCount += 1
            let count = parameters.isEmpty ? 1 : (values[0] ?? 1)
            cursorColumn = min(columns - 1, cursorColumn + max(1, count))
        case 0x6D:  // SGR
            sgr(values.map { $0 ?? 0 })
        default:
            errors.append("unexpected CSI final \(final)")
        }
    }

    private mutating func sgr(_ values: [Int]) {
        var k = 0
        let list = values.isEmpty ? [0] : values
        while k < list.count {
            switch list[k] {
            case 0:
                foreground = nil
                background = nil
                foregroundIndex = nil
                backgroundIndex = nil
                k += 1
            case 38, 48:
                let isForeground = list[k] == 38
                guard k + 1 < list.count else {
                    errors.append("truncated SGR colour")
                    return
                }
                var color: RGB?
                var index: Int?
                if list[k + 1] == 2, k + 4 < list.count {
                    let channels = list[(k + 2)...(k + 4)]
                    if channels.contains(where: { $0 < 0 || $0 > 255 }) { errors.append("channel out of range") }
                    color = RGB(
                        r: UInt8(clamping: list[k + 2]), g: UInt8(clamping: list[k + 3]),
                        b: UInt8(clamping: list[k + 4]))
                    k += 5
                } else if list[k + 1] == 5, k + 2 < list.count {
                    index = list[k + 2]
                    color = TerminalGrid.paletteColor(list[k + 2])
                    if color == nil { errors.append("palette index \(list[k + 2]) is theme-defined or invalid") }
                    k += 3
                } else {
                    errors.append("malformed SGR colour")
                    return
                }
                if isForeground {
                    if foreground != nil && foreground == color { redundantColorSets += 1 }
                    foreground = color
                    foregroundIndex = index
                } else {
                    if background != nil && background == color { redundantColorSets += 1 }
                    background = color
                    backgroundIndex = index
                }
            default:
                errors.append("unexpected SGR \(list[k])")
                k += 1
            }
        }
    }
}
