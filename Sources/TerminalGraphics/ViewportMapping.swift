/// Which half of a cell a click or a point falls in (half-block rendering has two pixels per cell).
package enum CellHalf: Sendable, Equatable, Hashable {
    case upper
    case lower
}

/// A cell on screen (0-based) plus the half of it.
package struct CellPosition: Sendable, Equatable, Hashable {
    package var column: Int
    package var row: Int
    package var half: CellHalf

    package init(column: Int, row: Int, half: CellHalf) {
        self.column = column
        self.row = row
        self.half = half
    }
}

/// A point in continuous coordinates (source video pixels or display pixels).
package struct PixelPoint: Sendable, Equatable, Hashable {
    package var x: Double
    package var y: Double

    package init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// Where a video of Vw x Vh source pixels lands inside a rectangle of cells, and how clicks and points
/// convert between cells and source pixels (pure arithmetic, testable without a terminal).
///
/// Definitions (terminal.md section 4.3). The area is `areaColumns` x `areaRows` cells whose top-left cell is
/// (`originColumn`, `originRow`); each cell holds px x py display pixels (half-block 1 x 2, sixel the cell size
/// in pixels), so the area is Aw = areaColumns * px by Ah = areaRows * py display pixels. A display pixel
/// is `displayPixelAspect` (its width / its height on screen) and a source pixel `sampleAspectRatio`.
/// - Fit: rho = (Vw * sar) / (Vh * displayPixelAspect) is the frame's width/height in display pixels.
///   If Aw >= Ah * rho then Hd = Ah, Wd = round(Ah * rho), else Wd = Aw, Hd = round(Aw / rho)
///   (both at least 1 and at most the area).
/// - Letterbox: ox = floor((Aw - Wd) / 2 / px) * px, oy = floor((Ah - Hd) / 2 / py) * py, i.e. centred and
///   rounded down to whole cells so the frame starts on a cell boundary (`imageColumn`, `imageRow`).
/// - Display <-> source: sx = (dx - ox) * Vw / Wd, sy = (dy - oy) * Vh / Hd, and back dx = ox + sx * Wd / Vw,
///   dy = oy + sy * Hd / Vh, with dx, dy measured in display pixels from the area's top-left corner.
/// - A click on a cell (or a cell half) maps to the centre of the part of that cell (half) covered by the
///   frame, so the round trip source -> cell -> source errs by at most half a cell (half) in each direction:
///   |dsx| <= px / 2 * Vw / Wd, |dsy| <= py / 2 * Vh / Hd (py / 4 * Vh / Hd with a half).
/// - A pixel click (SGR-Pixels 1016, 1-based text-area pixels, real cell size cw x ch) maps to the display
///   pixel under it: cell = ((X - 1) / cw, (Y - 1) / ch), offset inside it f = ((X - 1) mod cw + 0.5) / cw
///   (same vertically), dx = floor((column - originColumn + f) * px) + 0.5; then as above.
package struct ViewportMapping: Sendable, Equatable {
    package let sourceWidth: Int
    package let sourceHeight: Int
    package let sampleAspectRatio: Double
    package let originColumn: Int
    package let originRow: Int
    package let areaColumns: Int
    package let areaRows: Int
    package let pixelsPerCellX: Int
    package let pixelsPerCellY: Int
    package let displayPixelAspect: Double
    /// Size of the scaled frame in display pixels (0 when the source or the area is empty).
    package let displayWidth: Int
    package let displayHeight: Int
    /// Letterbox offset of the frame inside the area, in display pixels (whole cells).
    package let offsetX: Int
    package let offsetY: Int

    package init(
        sourceWidth: Int, sourceHeight: Int, sampleAspectRatio: Double = 1, originColumn: Int = 0,
        originRow: Int = 0, areaColumns: Int, areaRows: Int, pixelsPerCellX: Int, pixelsPerCellY: Int,
        displayPixelAspect: Double = 1
    ) {
        let limit = 1 << 20
        self.sourceWidth = min(max(0, sourceWidth), limit)
        self.sourceHeight = min(max(0, sourceHeight), limit)
        self.sampleAspectRatio = sampleAspectRatio.isFinite && sampleAspectRatio > 0 ? sampleAspectRatio : 1
        self.originColumn = min(max(0, originColumn), limit)
        self.originRow = min(max(0, originRow), limit)
        self.areaColumns = min(max(0, areaColumns), limit)
        self.areaRows = min(max(0, areaRows), limit)
        self.pixelsPerCellX = min(max(1, pixelsPerCellX), 1024)
        self.pixelsPerCellY = min(max(1, pixelsPerCellY), 1024)
        self.displayPixelAspect = displayPixelAspect.isFinite && displayPixelAspect > 0 ? displayPixelAspect : 1

        let areaWidth = self.areaColumns * self.pixelsPerCellX
        let areaHeight = self.areaRows * self.pixelsPerCellY
        guard self.sourceWidth > 0, self.sourceHeight > 0, areaWidth > 0, areaHeight > 0 else {
            displayWidth = 0
            displayHeight = 0
            offsetX = 0
            offsetY = 0
            return
        }
        let rho =
            Double(self.sourceWidth) * self.sampleAspectRatio / (Double(self.sourceHeight) * self.displayPixelAspect)
        var width: Int
        var height: Int
        if Double(areaWidth) >= Double(areaHeight) * rho {
            height = areaHeight
            width = Int((Double(areaHeight) * rho).rounded())
        } else {
            width = areaWidth
            height = Int((Double(areaWidth) / rho).rounded())
        }
        width = min(max(1, width), areaWidth)
        height = min(max(1, height), areaHeight)
        displayWidth = width
        displayHeight = height
        offsetX = (areaWidth - width) / 2 / self.pixelsPerCellX * self.pixelsPerCellX
        offsetY = (areaHeight - height) / 2 / self.pixelsPerCellY * self.pixelsPerCellY
    }

    /// Half-block rendering: 1 x 2 display pixels per cell. With the real cell size in pixels the display
    /// pixels' aspect (cellWidth / (cellHeight / 2)) is honoured; without it they are taken as square.
    package static func halfBlock(
        sourceWidth: Int, sourceHeight: Int, sampleAspectRatio: Double = 1, originColumn: Int = 0,
        originRow: Int = 0, areaColumns: Int, areaRows: Int, cellPixelWidth: Int? = nil, cellPixelHeight: Int? = nil
    ) -> ViewportMapping {
        var aspect = 1.0
        if let width = cellPixelWidth, let height = cellPixelHeight, width > 0, height > 1 {
            aspect = Double(width) / (Double(height) / 2)
        }
        return ViewportMapping(
            sourceWidth: sourceWidth, sourceHeight: sourceHeight, sampleAspectRatio: sampleAspectRatio,
            originColumn: originColumn, originRow: originRow, areaColumns: areaColumns, areaRows: areaRows,
            pixelsPerCellX: 1, pixelsPerCellY: 2, displayPixelAspect: aspect)
    }

    /// Sixel rendering: one display pixel per screen pixel, `cellWidth` x `cellHeight` per cell.
    package static func sixel(
        sourceWidth: Int, sourceHeight: Int, sampleAspectRatio: Double = 1, originColumn: Int = 0,
        originRow: Int = 0, areaColumns: Int, areaRows: Int, cellWidth: Int, cellHeight: Int
    ) -> ViewportMapping {
        ViewportMapping(
            sourceWidth: sourceWidth, sourceHeight: sourceHeight, sampleAspectRatio: sampleAspectRatio,
            originColumn: originColumn, originRow: originRow, areaColumns: areaColumns, areaRows: areaRows,
            pixelsPerCellX: cellWidth, pixelsPerCellY: cellHeight)
    }

    /// Area size in display pixels.
    package var areaPixelWidth: Int { areaColumns * pixelsPerCellX }
    package var areaPixelHeight: Int { areaRows * pixelsPerCellY }

    /// Screen cell (0-based) of the frame's top-left display pixel: where the encoders draw it.
    package var imageColumn: Int { originColumn + offsetX / pixelsPerCellX }
    package var imageRow: Int { originRow + offsetY / pixelsPerCellY }

    var isEmpty: Bool { displayWidth == 0 || displayHeight == 0 }

    // MARK: - Source -> screen

    /// A source position in the scaled frame's own pixel coordinates (for painting overlays into it).
    package func imagePoint(sourceX: Double, sourceY: Double) -> PixelPoint {
        guard !isEmpty else { return PixelPoint(x: 0, y: 0) }
        return PixelPoint(
            x: sourceX * Double(displayWidth) / Double(sourceWidth),
            y: sourceY * Double(displayHeight) / Double(sourceHeight))
    }

    /// The cell (and half) showing a source position, or nil if it falls outside the frame or is not finite.
    package func cell(sourceX: Double, sourceY: Double) -> CellPosition? {
        guard !isEmpty, sourceX.isFinite, sourceY.isFinite, sourceX >= 0, sourceY >= 0,
            sourceX < Double(sourceWidth), sourceY < Double(sourceHeight)
        else { return nil }
        let point = imagePoint(sourceX: sourceX, sourceY: sourceY)
        let dx = Double(offsetX) + point.x
        let dy = Double(offsetY) + point.y
        let column = Int((dx / Double(pixelsPerCellX)).rounded(.down))
        let row = Int((dy / Double(pixelsPerCellY)).rounded(.down))
        let inside = dy - Double(row * pixelsPerCellY)
        return CellPosition(
            column: originColumn + column, row: originRow + row,
            half: inside < Double(pixelsPerCellY) / 2 ? .upper : .lower)
    }

    // MARK: - Screen -> source

    /// The source position for a click on a screen cell (0-based), optionally on one half of it: the centre
    /// of the part of the cell (half) the frame covers. Nil when the cell shows no part of the frame.
    package func sourcePoint(column: Int, row: Int, half: CellHalf? = nil) -> PixelPoint? {
        guard !isEmpty else { return nil }
        let cellX = Double(column - originColumn) * Double(pixelsPerCellX)
        let cellY = Double(row - originRow) * Double(pixelsPerCellY)
        var top = cellY
        var height = Double(pixelsPerCellY)
        if let half {
            height /= 2
            if half == .lower { top += height }
        }
        let left = max(cellX, Double(offsetX))
        let right = min(cellX + Double(pixelsPerCellX), Double(offsetX + displayWidth))
        let upper = max(top, Double(offsetY))
        let lower = min(top + height, Double(offsetY + displayHeight))
        guard left < right, upper < lower else { return nil }
        return source(displayX: (left + right) / 2, displayY: (upper + lower) / 2)
    }

    /// The source position for a pixel-precise click (SGR-Pixels 1016: 1-based pixels relative to the text
    /// area) given the real cell size in pixels: the centre of the display pixel under the pointer, or nil
    /// outside the frame.
    package func sourcePoint(pixelX: Int, pixelY: Int, cellPixelWidth: Int, cellPixelHeight: Int) -> PixelPoint? {
        guard !isEmpty, cellPixelWidth > 0, cellPixelHeight > 0, pixelX >= 1, pixelY >= 1 else { return nil }
        let x = pixelX - 1
        let y = pixelY - 1
        let fractionX = (Double(x % cellPixelWidth) + 0.5) / Double(cellPixelWidth)
        let fractionY = (Double(y % cellPixelHeight) + 0.5) / Double(cellPixelHeight)
        let cellsX = Double(x / cellPixelWidth - originColumn) + fractionX
        let cellsY = Double(y / cellPixelHeight - originRow) + fractionY
        let displayX = (cellsX * Double(pixelsPerCellX)).rounded(.down) + 0.5
        let displayY = (cellsY * Double(pixelsPerCellY)).rounded(.down) + 0.5
        guard displayX >= Double(offsetX), displayX < Double(offsetX + displayWidth), displayY >= Double(offsetY),
            displayY < Double(offsetY + displayHeight)
        else { return nil }
        return source(displayX: displayX, displayY: displayY)
    }

    /// Display coordinates (from the area's top-left corner) to source coordinates.
    package func source(displayX: Double, displayY: Double) -> PixelPoint {
        guard !isEmpty else { return PixelPoint(x: 0, y: 0) }
        return PixelPoint(
            x: (displayX - Double(offsetX)) * Double(sourceWidth) / Double(displayWidth),
            y: (displayY - Double(offsetY)) * Double(sourceHeight) / Double(displayHeight))
    }
}
