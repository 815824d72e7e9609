/// Renders an RGB image into terminal cells with the half-block glyphs U+2580 / U+2584 (two image rows per
/// cell row), emitting only the cells that changed since the previous frame.
///
/// The encoder keeps a backing store of the colours it believes are on screen. A cell whose top and bottom
/// colours are within `tolerance` (per channel) of the stored ones is skipped; a cell that is drawn stores
/// what was actually drawn, so the on-screen error never exceeds `tolerance`. Uniform cells are drawn as a
/// space with a background colour. An image with an odd height gets a black bottom half in its last cell row.
/// The image must fit on the screen from its top-left cell: cells past the right margin would wrap.
///
/// Colours are sent as `38;2;r;g;b` (truecolor) or `38;5;n` with n in 16...255 (256-colour mode). The
/// theme-defined ANSI entries 0...15 are never used, so the picture does not depend on the user's palette.
package struct HalfBlockEncoder: Sendable {
    /// How colours are sent to the terminal.
    package enum ColorMode: Sendable, Equatable, Hashable {
        /// 24-bit `38;2;r;g;b` / `48;2;r;g;b`.
        case truecolor
        /// xterm 256-colour `38;5;n` / `48;5;n`, nearest of the 6x6x6 cube and the 24-step grey ramp.
        case palette256
    }

    package let colorMode: ColorMode
    /// Largest per-channel difference (0...255) treated as "unchanged" when diffing and reusing colours.
    /// May change between frames (the viewer loosens it during playback); the backing store always holds what
    /// is on screen, so tightening it repaints exactly the cells that are off.
    package var tolerance: Int {
        didSet { tolerance = min(255, max(0, tolerance)) }
    }

    private struct Placement: Equatable {
        var row: Int
        var column: Int
        var columns: Int
        var rows: Int
    }

    /// Colour on screen per cell: 0xRRGGBB, with the palette index in the top byte in 256-colour mode.
    private var screenTop: [UInt32] = []
    private var screenBottom: [UInt32] = []
    /// Where the backing store was drawn; nil after `invalidate()` or before the first frame.
    private var placement: Placement?

    /// Largest image width (cells), cell-row count and screen position handled; larger images encode to
    /// nothing (no terminal is that big, and the output buffer is sized from these numbers).
    package static let maximumCells = 65_535

    package init(colorMode: ColorMode = .truecolor, tolerance: Int = 0) {
        self.colorMode = colorMode
        self.tolerance = min(255, max(0, tolerance))
    }

    /// Forces the next `encode` to repaint every cell (after a full ncurses repaint, a resize, or anything
    /// else that may have overwritten the region). A change of size or position does this automatically.
    package mutating func invalidate() {
        placement = nil
    }

    /// Encodes `image` for the cells whose top-left corner is the 0-based screen cell (`row`, `column`).
    ///
    /// The bytes save the cursor (ESC 7), position with CUP, draw the changed cells, and end with SGR 0 and
    /// ESC 8. When nothing changed the result is empty. Write the result in one `write()`.
    package mutating func encode(_ image: RGBImage, row: Int, column: Int) -> [UInt8] {
        let source = image.consistent
        let columns = source.width
        let rows = (source.height + 1) / 2
        guard columns > 0, rows > 0, columns <= HalfBlockEncoder.maximumCells, rows <= HalfBlockEncoder.maximumCells
        else { return [] }
        let origin = (
            row: min(max(0, row), HalfBlockEncoder.maximumCells),
            column: min(max(0, column), HalfBlockEncoder.maximumCells)
        )
        let wanted = Placement(row: origin.row, column: origin.column, columns: columns, rows: rows)
        let repaint = placement != wanted
        if repaint {
            screenTop = [UInt32](repeating: 0, count: columns * rows)
            screenBottom = [UInt32](repeating: 0, count: columns * rows)
        }
        var top = screenTop
        var bottom = screenBottom
        screenTop = []
        screenBottom = []
        let cupLength =
            4 + ByteWriter.decimalLength(origin.row + rows) + ByteWriter.decimalLength(origin.column + columns)
        let capacity = columns * rows * (cupLength + 44) + 16
        let mode = colorMode
        let tolerance = Int32(self.tolerance)

        let bytes = [UInt8].written(capacity: capacity) { writer in
            source.pixels.withUnsafeBufferPointer { pixels in
                top.withUnsafeMutableBufferPointer { top in
                    bottom.withUnsafeMutableBufferPointer { bottom in
                        var state = SGRState()
                        var cursorRow = -1
                        var cursorColumn = -1
                        var wroteAnything = false
                        for cellRow in 0..<rows {
                            for cellColumn in 0..<columns {
                                let (newTop, newBottom) = HalfBlockEncoder.cellColors(
                                    pixels, width: columns, height: source.height, cellRow: cellRow,
                                    cellColumn: cellColumn, mode: mode)
                                let index = cellRow * columns + cellColumn
                                if !repaint && isClose(newTop, top[index], tolerance)
                                    && isClose(newBottom, bottom[index], tolerance)
                                {
                                    continue
                                }
                                if !wroteAnything {
                                    writer.put(0x1B, 0x37)  // ESC 7
                                    wroteAnything = true
                                }
                                let screenRow = origin.row + cellRow + 1
                                let screenColumn = origin.column + cellColumn + 1
                                if cursorRow == cellRow && cursorColumn <= cellColumn {
                                    let gap = cellColumn - cursorColumn
                                    if gap > 0 {
                                        let forwardLength = gap == 1 ? 3 : 3 + ByteWriter.decimalLength(gap)
                                        let jumpLength =
                                            4 + ByteWriter.decimalLength(screenRow)
                                            + ByteWriter.decimalLength(screenColumn)
                                        if forwardLength <= jumpLength {
                                            HalfBlockEncoder.putCursorForward(&writer, gap)
                                        } else {
                                            HalfBlockEncoder.putCursorPosition(&writer, screenRow, screenColumn)
                                        }
                                    }
                                } else {
                                    HalfBlockEncoder.putCursorPosition(&writer, screenRow, screenColumn)
                                }
                                let shown = state.drawCell(
                                    top: newTop, bottom: newBottom, tolerance: tolerance, mode: mode, into: &writer)
                                top[index] = shown.top
                                bottom[index] = shown.bottom
                                cursorRow = cellRow
                                cursorColumn = cellColumn + 1
                            }
                        }
                        if wroteAnything {
                            writer.put(0x1B, 0x5B, 0x30)  // ESC [ 0
                            writer.put(0x6D, 0x1B, 0x38)  // m ESC 8
                        }
                    }
                }
            }
        }
        screenTop = top
        screenBottom = bottom
        placement = wanted
        return bytes
    }

    /// Encodes the whole image for a plain scrolling terminal (`spotter render`): no cursor addressing,
    /// each cell row ends with SGR 0 and CR LF. The backing store is neither used nor changed.
    package func encodeFull(_ image: RGBImage) -> [UInt8] {
        let source = image.consistent
        let columns = source.width
        let rows = (source.height + 1) / 2
        guard columns > 0, rows > 0, columns <= HalfBlockEncoder.maximumCells, rows <= HalfBlockEncoder.maximumCells
        else { return [] }
        let capacity = columns * rows * 44 + rows * 8 + 16
        let mode = colorMode
        let tolerance = Int32(self.tolerance)
        return [UInt8].written(capacity: capacity) { writer in
            source.pixels.withUnsafeBufferPointer { pixels in
                for cellRow in 0..<rows {
                    var state = SGRState()
                    state.attributesClean = true
                    for cellColumn in 0..<columns {
                        let (newTop, newBottom) = HalfBlockEncoder.cellColors(
                            pixels, width: columns, height: source.height, cellRow: cellRow,
                            cellColumn: cellColumn, mode: mode)
                        _ = state.drawCell(
                            top: newTop, bottom: newBottom, tolerance: tolerance, mode: mode, into: &writer)
                    }
                    writer.put(0x1B, 0x5B, 0x30)  // ESC [ 0
                    writer.put(0x6D, 0x0D, 0x0A)  // m CR LF
                }
            }
        }
    }

    // MARK: - Cells

    /// Top and bottom colours of one cell in the encoder's colour space (missing bottom row = black).
    @inline(__always)
    private static func cellColors(
        _ pixels: UnsafeBufferPointer<UInt8>, width: Int, height: Int, cellRow: Int, cellColumn: Int,
        mode: ColorMode
    ) -> (UInt32, UInt32) {
        let topOffset = (2 * cellRow * width + cellColumn) * 3
        let topColor = packedColor(pixels, topOffset, mode)
        if 2 * cellRow + 1 < height {
            return (topColor, packedColor(pixels, topOffset + width * 3, mode))
        }
        return (topColor, mode == .truecolor ? 0 : XtermPalette.Tables.shared.nearest(0, 0, 0))
    }

    @inline(__always)
    private static func packedColor(_ pixels: UnsafeBufferPointer<UInt8>, _ offset: Int, _ mode: ColorMode) -> UInt32 {
        let r = pixels[offset]
        let g = pixels[offset + 1]
        let b = pixels[offset + 2]
        switch mode {
        case .truecolor:
            return UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b)
        case .palette256:
            return XtermPalette.Tables.shared.nearest(r, g, b)
        }
    }

    private static func putCursorPosition(_ writer: inout ByteWriter, _ row: Int, _ column: Int) {
        writer.put(0x1B, 0x5B)
        writer.putDecimal(row)
        writer.put(0x3B)
        writer.putDecimal(column)
        writer.put(0x48)  // H
    }

    private static func putCursorForward(_ writer: inout ByteWriter, _ count: Int) {
        writer.put(0x1B, 0x5B)
        if count != 1 { writer.putDecimal(count) }
        writer.put(0x43)  // C
    }
}

/// True when every channel of `a` and `b` differs by at most `tolerance` (palette index byte ignored).
@inline(__always)
func isClose(_ a: UInt32, _ b: UInt32, _ tolerance: Int32) -> Bool {
    if tolerance == 0 { return (a ^ b) & 0xFF_FFFF == 0 }
    let dr = Int32((a >> 16) & 0xFF) &- Int32((b >> 16) & 0xFF)
    let dg = Int32((a >> 8) & 0xFF) &- Int32((b >> 8) & 0xFF)
    let db = Int32(a & 0xFF) &- Int32(b & 0xFF)
    return abs(dr) <= tolerance && abs(dg) <= tolerance && abs(db) <= tolerance
}

/// The terminal's current foreground/background while a frame is written, and the choice of glyph that
/// needs the fewest colour changes.
struct SGRState {
    var foreground: UInt32 = 0
    var background: UInt32 = 0
    var foregroundKnown = false
    var backgroundKnown = false
    /// False until the first SGR of a frame, which then starts with `0;` to drop attributes left by others.
    var attributesClean = false

    /// Writes one cell (SGR if needed, then the glyph) and returns the colours now shown in its two halves.
    @inline(__always)
    mutating func drawCell(
        top: UInt32, bottom: UInt32, tolerance: Int32, mode: HalfBlockEncoder.ColorMode, into writer: inout ByteWriter
    ) -> (top: UInt32, bottom: UInt32) {
        let fgTop = foregroundKnown && isClose(foreground, top, tolerance)
        let fgBottom = foregroundKnown && isClose(foreground, bottom, tolerance)
        let bgTop = backgroundKnown && isClose(background, top, tolerance)
        let bgBottom = backgroundKnown && isClose(background, bottom, tolerance)
        // Space: background only. Upper half (U+2580): fg = top, bg = bottom. Lower half (U+2584): the reverse.
        let spaceCost = bgTop && bgBottom ? 0 : (isClose(top, bottom, tolerance) ? 1 : 3)
        let upperCost = (fgTop ? 0 : 1) + (bgBottom ? 0 : 1)
        let lowerCost = (fgBottom ? 0 : 1) + (bgTop ? 0 : 1)
        if spaceCost <= upperCost && spaceCost <= lowerCost {
            if spaceCost != 0 { setColors(foreground: nil, background: top, mode: mode, into: &writer) }
            writer.put(0x20)
            return (background, background)
        }
        if upperCost <= lowerCost {
            setColors(foreground: fgTop ? nil : top, background: bgBottom ? nil : bottom, mode: mode, into: &writer)
            writer.put(0xE2, 0x96, 0x80)
            return (foreground, background)
        }
        setColors(foreground: fgBottom ? nil : bottom, background: bgTop ? nil : top, mode: mode, into: &writer)
        writer.put(0xE2, 0x96, 0x84)
        return (background, foreground)
    }

    @inline(__always)
    private mutating func setColors(
        foreground newForeground: UInt32?, background newBackground: UInt32?, mode: HalfBlockEncoder.ColorMode,
        into writer: inout ByteWriter
    ) {
        if newForeground == nil && newBackground == nil { return }
        writer.put(0x1B, 0x5B)
        if !attributesClean {
            writer.put(0x30, 0x3B)  // "0;"
            attributesClean = true
        }
        if let color = newForeground {
            SGRState.putColor(&writer, selector: 0x33, color, mode)
            foreground = color
            foregroundKnown = true
            if newBackground != nil { writer.put(0x3B) }
        }
        if let color = newBackground {
            SGRState.putColor(&writer, selector: 0x34, color, mode)
            background = color
            backgroundKnown = true
        }
        writer.put(0x6D)  // m
    }

    @inline(__always)
    private static func putColor(
        _ writer: inout ByteWriter, selector: UInt8, _ color: UInt32, _ mode: HalfBlockEncoder.ColorMode
    ) {
        switch mode {
        case .truecolor:
            writer.put(selector, 0x38, 0x3B)  // "38;" or "48;"
            writer.put(0x32, 0x3B)  // "2;"
            writer.putByteDecimal(UInt8(truncatingIfNeeded: color >> 16))
            writer.put(0x3B)
            writer.putByteDecimal(UInt8(truncatingIfNeeded: color >> 8))
            writer.put(0x3B)
            writer.putByteDecimal(UInt8(truncatingIfNeeded: color))
        case .palette256:
            writer.put(selector, 0x38, 0x3B)
            writer.put(0x35, 0x3B)  // "5;"
            writer.putByteDecimal(UInt8(truncatingIfNeeded: color >> 24))
        }
    }
}
