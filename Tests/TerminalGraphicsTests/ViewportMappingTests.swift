import TerminalGraphics
import Testing

@Suite("Viewport mapping")
struct ViewportMappingTests {
    @Test("16:9 video in a 160x48 half-block area: full width, letterboxed by whole cells")
    func letterbox() {
        let mapping = ViewportMapping.halfBlock(sourceWidth: 1920, sourceHeight: 1080, areaColumns: 160, areaRows: 48)
        #expect(mapping.displayWidth == 160 && mapping.displayHeight == 90)
        #expect(mapping.offsetX == 0 && mapping.offsetY == 2)
        #expect(mapping.imageColumn == 0 && mapping.imageRow == 1)
    }

    @Test("Portrait video is pillarboxed")
    func pillarbox() {
        let mapping = ViewportMapping.halfBlock(sourceWidth: 1080, sourceHeight: 1920, areaColumns: 160, areaRows: 48)
        #expect(mapping.displayWidth == 54 && mapping.displayHeight == 96)
        #expect(mapping.offsetX == 53 && mapping.offsetY == 0)
        #expect(mapping.imageColumn == 53)
    }

    @Test("Sixel: display pixels are screen pixels, offsets are whole cells")
    func sixelArea() {
        let mapping = ViewportMapping.sixel(
            sourceWidth: 1920, sourceHeight: 1080, originColumn: 4, originRow: 3, areaColumns: 160, areaRows: 45,
            cellWidth: 8, cellHeight: 17)
        #expect(mapping.areaPixelWidth == 1280 && mapping.areaPixelHeight == 765)
        #expect(mapping.displayWidth == 1280 && mapping.displayHeight == 720)
        #expect(mapping.offsetY == 17 && mapping.imageRow == 4 && mapping.imageColumn == 4)
    }

    @Test("Sample aspect ratio and non-square display pixels change the fitted size")
    func aspect() {
        // PAL 4:3 anamorphic: 720x576 with SAR 16:15 shows as 768x576.
        let pal = ViewportMapping(
            sourceWidth: 720, sourceHeight: 576, sampleAspectRatio: 16.0 / 15.0, areaColumns: 100, areaRows: 100,
            pixelsPerCellX: 4, pixelsPerCellY: 4)
        #expect(pal.displayWidth == 400 && pal.displayHeight == 300)
        // 8x17 cells make half-block pixels 8 x 8.5, a little taller than wide: the frame gets fewer rows.
        let tall = ViewportMapping.halfBlock(
            sourceWidth: 1920, sourceHeight: 1080, areaColumns: 160, areaRows: 48, cellPixelWidth: 8,
            cellPixelHeight: 17)
        #expect(tall.displayWidth == 160 && tall.displayHeight == 85)
        // Bad aspect values fall back to square.
        let bad = ViewportMapping(
            sourceWidth: 100, sourceHeight: 100, sampleAspectRatio: .nan, areaColumns: 10, areaRows: 10,
            pixelsPerCellX: 1, pixelsPerCellY: 1, displayPixelAspect: -2)
        #expect(bad.displayWidth == 10 && bad.displayHeight == 10)
    }

    @Test("Cell clicks map to the centre of the clicked half; letterbox clicks map to nothing")
    func clicks() {
        let mapping = ViewportMapping.halfBlock(
            sourceWidth: 1920, sourceHeight: 1080, originColumn: 2, originRow: 1, areaColumns: 160, areaRows: 48)
        // Frame starts at area row 1 (offset 2 display pixels); each display pixel is 12 source pixels.
        #expect(mapping.sourcePoint(column: 2, row: 2, half: .upper) == PixelPoint(x: 6, y: 6))
        #expect(mapping.sourcePoint(column: 2, row: 2, half: .lower) == PixelPoint(x: 6, y: 18))
        #expect(mapping.sourcePoint(column: 2, row: 2) == PixelPoint(x: 6, y: 12))
        #expect(mapping.sourcePoint(column: 161, row: 46, half: .lower) == PixelPoint(x: 1914, y: 1074))
        #expect(mapping.sourcePoint(column: 2, row: 1) == nil)  // letterbox bar
        #expect(mapping.sourcePoint(column: 1, row: 10) == nil)  // left of the area
        #expect(mapping.sourcePoint(column: 162, row: 10) == nil)  // right of the area
        #expect(mapping.cell(sourceX: 6, sourceY: 6) == CellPosition(column: 2, row: 2, half: .upper))
        #expect(mapping.cell(sourceX: 1919.9, sourceY: 1079.9) == CellPosition(column: 161, row: 46, half: .lower))
        #expect(mapping.cell(sourceX: 1920, sourceY: 5) == nil)
        #expect(mapping.cell(sourceX: .infinity, sourceY: 5) == nil)
    }

    @Test("A partly covered cell maps to the centre of its covered part")
    func partialCells() {
        // 100 source pixels shown 37 display pixels wide in 8-pixel cells: the 5th cell covers only 5 pixels.
        let mapping = ViewportMapping(
            sourceWidth: 100, sourceHeight: 100, areaColumns: 5, areaRows: 5, pixelsPerCellX: 8, pixelsPerCellY: 8,
            displayPixelAspect: 40.0 / 37.0)
        #expect(mapping.displayWidth == 37 && mapping.offsetX == 0)
        let point = mapping.sourcePoint(column: 4, row: 0)
        #expect(point.map { abs($0.x - 34.5 * 100 / 37) < 1e-9 } == true)
    }

    @Test("SGR-Pixels clicks map to the display pixel under the pointer")
    func pixelClicks() {
        let mapping = ViewportMapping.sixel(
            sourceWidth: 1920, sourceHeight: 1080, originColumn: 10, originRow: 2, areaColumns: 160, areaRows: 45,
            cellWidth: 8, cellHeight: 17)
        // 1-based pixel X = 10 cells * 8 + 100 + 1 is display pixel 100 -> centre 100.5 -> source 100.5 * 1.5.
        let x = 10 * 8 + 100 + 1
        let y = 2 * 17 + mapping.offsetY + 40 + 1
        let point = mapping.sourcePoint(pixelX: x, pixelY: y, cellPixelWidth: 8, cellPixelHeight: 17)
        #expect(point == PixelPoint(x: 100.5 * 1.5, y: 40.5 * 1.5))
        #expect(mapping.sourcePoint(pixelX: 1, pixelY: 1, cellPixelWidth: 8, cellPixelHeight: 17) == nil)
        #expect(mapping.sourcePoint(pixelX: 0, pixelY: 5, cellPixelWidth: 8, cellPixelHeight: 17) == nil)

        // Half-block with pixel reports: the pointer's half of the cell decides the sub-pixel.
        let half = ViewportMapping.halfBlock(sourceWidth: 160, sourceHeight: 96, areaColumns: 160, areaRows: 48)
        let upper = half.sourcePoint(pixelX: 3 * 8 + 1, pixelY: 5 * 16 + 2, cellPixelWidth: 8, cellPixelHeight: 16)
        let lower = half.sourcePoint(pixelX: 3 * 8 + 8, pixelY: 5 * 16 + 15, cellPixelWidth: 8, cellPixelHeight: 16)
        #expect(upper == PixelPoint(x: 3.5, y: 10.5))
        #expect(lower == PixelPoint(x: 3.5, y: 11.5))
    }

    @Test("Round trips source -> cell -> source stay within half a cell (property test)")
    func roundTrips() {
        var random = SeededRandom(seed: 41)
        for _ in 0..<300 {
            let sourceWidth = Int.random(in: 1...4000, using: &random)
            let sourceHeight = Int.random(in: 1...4000, using: &random)
            let sixel = Bool.random(using: &random)
            let cellWidth = Int.random(in: 5...12, using: &random)
            let cellHeight = Int.random(in: 10...24, using: &random)
            let mapping =
                sixel
                ? ViewportMapping.sixel(
                    sourceWidth: sourceWidth, sourceHeight: sourceHeight,
                    originColumn: Int.random(in: 0...20, using: &random),
                    originRow: Int.random(in: 0...5, using: &random),
                    areaColumns: Int.random(in: 1...200, using: &random),
                    areaRows: Int.random(in: 1...60, using: &random),
                    cellWidth: cellWidth, cellHeight: cellHeight)
                : ViewportMapping.halfBlock(
                    sourceWidth: sourceWidth, sourceHeight: sourceHeight,
                    originColumn: Int.random(in: 0...20, using: &random),
                    originRow: Int.random(in: 0...5, using: &random),
                    areaColumns: Int.random(in: 1...200, using: &random),
                    areaRows: Int.random(in: 1...60, using: &random),
                    cellPixelWidth: cellWidth, cellPixelHeight: cellHeight)
            #expect(mapping.displayWidth <= mapping.areaPixelWidth && mapping.displayHeight <= mapping.areaPixelHeight)
            #expect(mapping.offsetX + mapping.displayWidth <= mapping.areaPixelWidth)
            #expect(mapping.offsetY + mapping.displayHeight <= mapping.areaPixelHeight)
            let scaleX = Double(sourceWidth) / Double(mapping.displayWidth)
            let scaleY = Double(sourceHeight) / Double(mapping.displayHeight)
            for _ in 0..<10 {
                let x = Double.random(in: 0..<Double(sourceWidth), using: &random)
                let y = Double.random(in: 0..<Double(sourceHeight), using: &random)
                guard let cell = mapping.cell(sourceX: x, sourceY: y) else {
                    Issue.record("no cell for a point inside the source")
                    continue
                }
                let withHalf = mapping.sourcePoint(column: cell.column, row: cell.row, half: cell.half)
                let whole = mapping.sourcePoint(column: cell.column, row: cell.row)
                let limitX = Double(mapping.pixelsPerCellX) / 2 * scaleX + 1e-6
                #expect(withHalf.map { abs($0.x - x) <= limitX } == true)
                #expect(withHalf.map { abs($0.y - y) <= Double(mapping.pixelsPerCellY) / 4 * scaleY + 1e-6 } == true)
                #expect(whole.map { abs($0.y - y) <= Double(mapping.pixelsPerCellY) / 2 * scaleY + 1e-6 } == true)
                // The image point of the source position lies in the same cell.
                let image = mapping.imagePoint(sourceX: x, sourceY: y)
                let column =
                    mapping.originColumn
                    + Int(((Double(mapping.offsetX) + image.x) / Double(mapping.pixelsPerCellX)).rounded(.down))
                #expect(column == cell.column)
            }
        }
    }

    @Test("Degenerate sizes give an empty mapping instead of trapping")
    func degenerate() {
        let empty = ViewportMapping(
            sourceWidth: 0, sourceHeight: 10, areaColumns: 10, areaRows: 10, pixelsPerCellX: 1, pixelsPerCellY: 2)
        #expect(empty.displayWidth == 0 && empty.displayHeight == 0)
        #expect(empty.sourcePoint(column: 0, row: 0) == nil)
        #expect(empty.cell(sourceX: 0, sourceY: 0) == nil)
        let negative = ViewportMapping(
            sourceWidth: 100, sourceHeight: 100, originColumn: -5, originRow: Int.min, areaColumns: -1, areaRows: 5,
            pixelsPerCellX: 0, pixelsPerCellY: -3)
        #expect(negative.displayWidth == 0)
        let tiny = ViewportMapping(
            sourceWidth: 10_000, sourceHeight: 1, areaColumns: 1, areaRows: 1, pixelsPerCellX: 1, pixelsPerCellY: 2)
        #expect(tiny.displayWidth == 1 && tiny.displayHeight == 1)
    }
}
