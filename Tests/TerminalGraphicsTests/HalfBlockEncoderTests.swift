import TerminalGraphics
import Testing

/// Expected colour of the lower half of cell row `row` (black below an odd-height image).
private func bottomPixel(_ image: RGBImage, x: Int, row: Int) -> RGB {
    image.pixel(x: x, y: 2 * row + 1) ?? RGB(r: 0, g: 0, b: 0)
}

private func withinTolerance(_ a: RGB?, _ b: RGB, _ tolerance: Int) -> Bool {
    guard let a else { return false }
    return abs(Int(a.r) - Int(b.r)) <= tolerance && abs(Int(a.g) - Int(b.g)) <= tolerance
        && abs(Int(a.b) - Int(b.b)) <= tolerance
}

/// Checks every cell of the image region against the image (within `tolerance`) and that nothing outside
/// the region was touched. Returns the number of mismatching cells.
private func mismatches(
    _ grid: TerminalGrid, _ image: RGBImage, row: Int, column: Int, tolerance: Int
) -> Int {
    var bad = 0
    let cellRows = (image.height + 1) / 2
    for r in 0..<grid.rows {
        for c in 0..<grid.columns {
            let inside = r >= row && r < row + cellRows && c >= column && c < column + image.width
            let halves = grid.halves(column: c, row: r)
            if !inside {
                if grid.cell(column: c, row: r).glyph != .untouched { bad += 1 }
                continue
            }
            let x = c - column
            let cellRow = r - row
            let top = image.pixel(x: x, y: 2 * cellRow) ?? RGB(r: 0, g: 0, b: 0)
            if !withinTolerance(halves.top, top, tolerance)
                || !withinTolerance(halves.bottom, bottomPixel(image, x: x, row: cellRow), tolerance)
            {
                bad += 1
            }
        }
    }
    return bad
}

/// A copy of `image` with some pixels nudged by at most `small` per channel, some replaced, and a random
/// rectangle repainted.
private func perturbed(_ image: RGBImage, small: Int, random: inout SeededRandom) -> RGBImage {
    var next = image
    let count = image.width * image.height
    for _ in 0..<max(1, count / 5) {
        let x = Int.random(in: 0..<image.width, using: &random)
        let y = Int.random(in: 0..<image.height, using: &random)
        guard let p = next.pixel(x: x, y: y) else { continue }
        let d = Int.random(in: -small...small, using: &random)
        next.setPixel(
            x: x, y: y,
            RGB(r: UInt8(clamping: Int(p.r) + d), g: UInt8(clamping: Int(p.g) - d), b: UInt8(clamping: Int(p.b) + d)))
    }
    for _ in 0..<max(1, count / 20) {
        next.setPixel(
            x: Int.random(in: 0..<image.width, using: &random), y: Int.random(in: 0..<image.height, using: &random),
            random.color())
    }
    let x0 = Int.random(in: 0..<image.width, using: &random)
    let y0 = Int.random(in: 0..<image.height, using: &random)
    let fill = random.color()
    for y in y0..<min(image.height, y0 + 3) {
        for x in x0..<min(image.width, x0 + 4) { next.setPixel(x: x, y: y, fill) }
    }
    return next
}

@Suite("Half-block encoder")
struct HalfBlockEncoderTests {
    @Test("A full frame reproduces random images exactly, cell by cell")
    func fullFrameExact() {
        var random = SeededRandom(seed: 1)
        var sizes: [(Int, Int)] = [(1, 1), (1, 2), (2, 1), (3, 3), (160, 96), (7, 13)]
        for _ in 0..<30 {
            sizes.append((Int.random(in: 1...40, using: &random), Int.random(in: 1...31, using: &random)))
        }
        for (width, height) in sizes {
            let image = random.image(width: width, height: height)
            let row = Int.random(in: 0...3, using: &random)
            let column = Int.random(in: 0...5, using: &random)
            var grid = TerminalGrid(columns: column + width + 2, rows: row + (height + 1) / 2 + 2)
            // Whatever ncurses left: a cursor position and colours the encoder must not rely on.
            grid.feed(Array("\u{1B}[\(grid.rows);2H\u{1B}[38;2;1;2;3;48;2;4;5;6m".utf8))
            var encoder = HalfBlockEncoder()
            let bytes = encoder.encode(image, row: row, column: column)
            #expect(Array(bytes.prefix(2)) == [0x1B, 0x37])
            #expect(Array(bytes.suffix(6)) == Array("\u{1B}[0m\u{1B}8".utf8))
            grid.feed(bytes)
            #expect(grid.errors.isEmpty, "\(width)x\(height): \(grid.errors.prefix(3))")
            #expect(mismatches(grid, image, row: row, column: column, tolerance: 0) == 0, "\(width)x\(height)")
            #expect(grid.redundantColorSets == 0)
            // ESC 8 put the cursor and the colours back where they were.
            #expect(grid.cursorRow == grid.rows - 1 && grid.cursorColumn == 1)
            #expect(grid.foreground == RGB(r: 1, g: 2, b: 3) && grid.background == RGB(r: 4, g: 5, b: 6))
        }
    }

    @Test(
        "Diffed frames applied on top of each other give the latest image within the tolerance", arguments: [0, 3, 12])
    func diffedFrames(tolerance: Int) {
        var random = SeededRandom(seed: 100 + UInt64(tolerance))
        for _ in 0..<12 {
            let width = Int.random(in: 1...30, using: &random)
            let height = Int.random(in: 1...24, using: &random)
            var image = random.image(width: width, height: height)
            var grid = TerminalGrid(columns: width + 3, rows: (height + 1) / 2 + 2)
            var encoder = HalfBlockEncoder(tolerance: tolerance)
            // Even the first frame may reuse a colour within the tolerance instead of sending a new one.
            grid.feed(encoder.encode(image, row: 1, column: 2))
            #expect(mismatches(grid, image, row: 1, column: 2, tolerance: tolerance) == 0)
            for _ in 0..<6 {
                image = perturbed(image, small: tolerance, random: &random)
                grid.feed(encoder.encode(image, row: 1, column: 2))
                #expect(grid.errors.isEmpty, "\(grid.errors.prefix(3))")
                #expect(mismatches(grid, image, row: 1, column: 2, tolerance: tolerance) == 0)
                #expect(grid.redundantColorSets == 0)
            }
        }
    }

    @Test("An unchanged frame costs nothing and a small change costs little")
    func bytesShrink() {
        var random = SeededRandom(seed: 7)
        let image = random.image(width: 160, height: 96)
        var encoder = HalfBlockEncoder()
        let first = encoder.encode(image, row: 0, column: 0)
        #expect(first.count > 160 * 48 * 3)
        #expect(encoder.encode(image, row: 0, column: 0).isEmpty)
        var changed = image
        changed.setPixel(x: 10, y: 10, RGB(r: 1, g: 2, b: 3))
        changed.setPixel(x: 100, y: 11, RGB(r: 250, g: 2, b: 3))
        let second = encoder.encode(changed, row: 0, column: 0)
        #expect(!second.isEmpty && second.count < 120, "\(second.count) bytes for two changed cells")
        var grid = TerminalGrid(columns: 160, rows: 48)
        grid.feed(first)
        grid.feed(second)
        #expect(mismatches(grid, changed, row: 0, column: 0, tolerance: 0) == 0)
    }

    @Test("Tolerance suppresses small changes but keeps the on-screen error bounded")
    func toleranceSuppressesNoise() {
        var random = SeededRandom(seed: 8)
        let image = random.image(width: 40, height: 20)
        var exact = HalfBlockEncoder(tolerance: 0)
        var tolerant = HalfBlockEncoder(tolerance: 6)
        _ = exact.encode(image, row: 0, column: 0)
        _ = tolerant.encode(image, row: 0, column: 0)
        let noisy = perturbed(image, small: 6, random: &random)
        let exactBytes = exact.encode(noisy, row: 0, column: 0)
        let tolerantBytes = tolerant.encode(noisy, row: 0, column: 0)
        #expect(tolerantBytes.count < exactBytes.count)
    }

    @Test("Gaps in a row are skipped with cursor-forward, other rows with one CUP")
    func cursorMovement() {
        let image = RGBImage(width: 20, height: 4, fill: RGB(r: 10, g: 20, b: 30))
        var encoder = HalfBlockEncoder()
        var grid = TerminalGrid(columns: 20, rows: 2)
        grid.feed(encoder.encode(image, row: 0, column: 0))
        var changed = image
        changed.setPixel(x: 2, y: 0, RGB(r: 200, g: 0, b: 0))
        changed.setPixel(x: 12, y: 1, RGB(r: 0, g: 200, b: 0))
        changed.setPixel(x: 5, y: 3, RGB(r: 0, g: 0, b: 200))
        let bytes = encoder.encode(changed, row: 0, column: 0)
        #expect(String(decoding: bytes, as: UTF8.self).contains("\u{1B}[9C"))
        var check = grid
        check.cursorPositionCount = 0
        check.cursorForwardCount = 0
        check.glyphCount = 0
        check.feed(bytes)
        #expect(check.errors.isEmpty)
        #expect(check.cursorForwardCount == 1)
        #expect(check.cursorPositionCount == 2)
        #expect(check.glyphCount == 3)
        #expect(mismatches(check, changed, row: 0, column: 0, tolerance: 0) == 0)
    }

    @Test("invalidate() and a change of position repaint every cell")
    func repaint() {
        var random = SeededRandom(seed: 9)
        let image = random.image(width: 12, height: 9)
        var encoder = HalfBlockEncoder()
        _ = encoder.encode(image, row: 0, column: 0)
        encoder.invalidate()
        var fresh = TerminalGrid(columns: 12, rows: 5)
        fresh.feed(encoder.encode(image, row: 0, column: 0))
        #expect(mismatches(fresh, image, row: 0, column: 0, tolerance: 0) == 0)

        var moved = TerminalGrid(columns: 14, rows: 7)
        moved.feed(encoder.encode(image, row: 2, column: 2))
        #expect(mismatches(moved, image, row: 2, column: 2, tolerance: 0) == 0)

        let smaller = random.image(width: 11, height: 9)
        var resized = TerminalGrid(columns: 14, rows: 7)
        resized.feed(encoder.encode(smaller, row: 2, column: 2))
        #expect(mismatches(resized, smaller, row: 2, column: 2, tolerance: 0) == 0)
    }

    @Test("256-colour mode shows the nearest of the cube and grey entries, never the ANSI 0-15")
    func palette256Nearest() {
        var random = SeededRandom(seed: 10)
        for _ in 0..<10 {
            let width = Int.random(in: 1...30, using: &random)
            let height = Int.random(in: 1...20, using: &random)
            let image = random.image(width: width, height: height)
            var encoder = HalfBlockEncoder(colorMode: .palette256)
            var grid = TerminalGrid(columns: width, rows: (height + 1) / 2)
            grid.feed(encoder.encode(image, row: 0, column: 0))
            #expect(grid.errors.isEmpty, "\(grid.errors.prefix(3))")
            #expect(grid.redundantColorSets == 0)
            var bad = 0
            for row in 0..<grid.rows {
                for column in 0..<width {
                    let indices = grid.halfIndices(column: column, row: row)
                    let pixels = [image.pixel(x: column, y: 2 * row), bottomPixel(image, x: column, row: row)]
                    for (index, pixel) in zip([indices.top, indices.bottom], pixels) {
                        guard let index, let pixel, let shown = TerminalGrid.paletteColor(index) else {
                            bad += 1
                            continue
                        }
                        if squaredDistance(shown, pixel) != nearestPaletteDistance(pixel) { bad += 1 }
                    }
                }
            }
            #expect(bad == 0)
        }
    }

    @Test("The palette look-up agrees with a brute-force search")
    func paletteLookup() {
        var random = SeededRandom(seed: 11)
        var colors = (0..<3000).map { _ in random.color() }
        colors += (0...255).map { RGB(r: UInt8($0), g: UInt8($0), b: UInt8($0)) }
        for color in colors {
            let index = XtermPalette.nearestIndex(to: color)
            #expect((16...255).contains(index))
            guard let shown = XtermPalette.color(ofIndex: index) else { continue }
            #expect(shown == TerminalGrid.paletteColor(index))
            #expect(squaredDistance(shown, color) == nearestPaletteDistance(color), "\(color)")
        }
    }

    @Test("encodeFull writes a scrolling-terminal frame: no cursor addressing, rows end with SGR 0 CR LF")
    func fullFrameForScrollingTerminal() {
        var random = SeededRandom(seed: 12)
        for (width, height) in [(1, 1), (17, 9), (40, 30)] {
            let image = random.image(width: width, height: height)
            let bytes = HalfBlockEncoder().encodeFull(image)
            var grid = TerminalGrid(columns: width, rows: (height + 1) / 2 + 1)
            grid.feed(bytes)
            #expect(grid.errors.isEmpty, "\(grid.errors.prefix(3))")
            #expect(grid.cursorPositionCount == 0 && grid.cursorForwardCount == 0)
            #expect(!String(decoding: bytes, as: UTF8.self).contains("\u{1B}7"))
            #expect(Array(bytes.suffix(6)) == Array("\u{1B}[0m\r\n".utf8))
            #expect(mismatches(grid, image, row: 0, column: 0, tolerance: 0) == 0)
            #expect(grid.cursorRow == (height + 1) / 2 && grid.cursorColumn == 0)
        }
    }

    @Test("Inconsistent or empty images never trap")
    func badInput() {
        var encoder = HalfBlockEncoder()
        #expect(encoder.encode(RGBImage(width: 0, height: 0), row: 0, column: 0).isEmpty)
        var broken = RGBImage(width: 4, height: 4, fill: RGB(r: 9, g: 9, b: 9))
        broken.pixels.removeLast(10)
        var grid = TerminalGrid(columns: 4, rows: 2)
        grid.feed(encoder.encode(broken, row: -5, column: -5))
        #expect(grid.errors.isEmpty)
        #expect(grid.halves(column: 0, row: 0).top == RGB(r: 9, g: 9, b: 9))
        #expect(grid.halves(column: 3, row: 1).bottom == RGB(r: 0, g: 0, b: 0))
        // Wider than any terminal: nothing is drawn (and no huge buffer is reserved).
        let wide = RGBImage(width: HalfBlockEncoder.maximumCells + 1, height: 2)
        #expect(encoder.encode(wide, row: 0, column: 0).isEmpty)
        #expect(encoder.encodeFull(wide).isEmpty)
        // Absurd positions are clamped instead of overflowing.
        let far = encoder.encode(RGBImage(width: 1, height: 2), row: Int.max, column: Int.max)
        #expect(String(decoding: far, as: UTF8.self).contains("\u{1B}[65536;65536H"))
    }
}

func squaredDistance(_ a: RGB, _ b: RGB) -> Int {
    let dr = Int(a.r) - Int(b.r)
    let dg = Int(a.g) - Int(b.g)
    let db = Int(a.b) - Int(b.b)
    return dr * dr + dg * dg + db * db
}

private func nearestPaletteDistance(_ color: RGB) -> Int {
    (16...255).compactMap { TerminalGrid.paletteColor($0) }.map { squaredDistance($0, color) }.min() ?? -1
}
