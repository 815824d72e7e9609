import TerminalGraphics
import Testing

private let red = RGB(r: 255, g: 0, b: 0)
private let white = RGB(r: 255, g: 255, b: 255)
private let black = RGB(r: 0, g: 0, b: 0)

/// Positions painted with `color`.
private func painted(_ image: RGBImage, _ color: RGB) -> Set<[Int]> {
    var result: Set<[Int]> = []
    for y in 0..<image.height {
        for x in 0..<image.width where image.pixel(x: x, y: y) == color {
            result.insert([x, y])
        }
    }
    return result
}

@Suite("Overlays")
struct OverlayTests {
    @Test("RGB images: fill, get/set, and repair of bad buffers")
    func images() {
        var image = RGBImage(width: 3, height: 2, fill: red)
        #expect(image.pixels.count == 18 && image.isConsistent)
        #expect(image.pixel(x: 2, y: 1) == red)
        #expect(image.pixel(x: 3, y: 0) == nil && image.pixel(x: -1, y: 0) == nil)
        image.setPixel(x: 1, y: 1, white)
        image.setPixel(x: 9, y: 9, white)
        #expect(image.pixels[12...14] == [255, 255, 255])
        #expect(painted(image, white) == [[1, 1]])
        let padded = RGBImage(width: 2, height: 2, pixels: [1, 2, 3])
        #expect(padded.pixels == [1, 2, 3] + Array(repeating: 0, count: 9))
        let truncated = RGBImage(width: 1, height: 1, pixels: [1, 2, 3, 4, 5])
        #expect(truncated.pixels == [1, 2, 3])
        let negative = RGBImage(width: -4, height: 3, fill: red)
        #expect(negative.width == 0 && negative.pixels.isEmpty)
        let huge = RGBImage(width: Int.max, height: 2)
        #expect(huge.width == 0 && huge.pixels.isEmpty)
    }

    @Test("A disc with an outline: fill inside, outline on the rim, nothing outside the radius")
    func disc() {
        var image = RGBImage(width: 11, height: 11)
        Overlay.disc(in: &image, centerX: 5.5, centerY: 5.5, radius: 3, fill: red, outline: white)
        #expect(image.pixel(x: 5, y: 5) == red)
        #expect(image.pixel(x: 8, y: 5) == white)  // distance 3: on the rim
        #expect(image.pixel(x: 7, y: 5) == red)  // distance 2
        #expect(image.pixel(x: 9, y: 5) == black)  // distance 4
        #expect(image.pixel(x: 8, y: 8) == black)  // distance 4.2
        for point in painted(image, red).union(painted(image, white)) {
            let dx = Double(point[0]) + 0.5 - 5.5
            let dy = Double(point[1]) + 0.5 - 5.5
            #expect((dx * dx + dy * dy).squareRoot() <= 3)
        }
        // Symmetric: 4-fold rotation of the painted set about the centre pixel.
        let all = painted(image, red).union(painted(image, white))
        #expect(Set(all.map { [10 - $0[1], $0[0]] }) == all)
        // A tiny disc still marks its pixel.
        var small = RGBImage(width: 4, height: 4)
        Overlay.disc(in: &small, centerX: 1.1, centerY: 2.9, radius: 0.2, fill: red, outline: white)
        #expect(painted(small, red).union(painted(small, white)) == [[1, 2]])
    }

    @Test("A ring leaves its inside untouched")
    func ring() {
        var image = RGBImage(width: 15, height: 15)
        Overlay.ring(in: &image, centerX: 7.5, centerY: 7.5, radius: 5, color: red)
        #expect(image.pixel(x: 7, y: 7) == black)
        #expect(image.pixel(x: 12, y: 7) == red)
        #expect(image.pixel(x: 7, y: 2) == red)
        #expect(image.pixel(x: 10, y: 7) == black)
        for point in painted(image, red) {
            let dx = Double(point[0]) + 0.5 - 7.5
            let dy = Double(point[1]) + 0.5 - 7.5
            let distance = (dx * dx + dy * dy).squareRoot()
            #expect(distance <= 5 && distance > 4)
        }
    }

    @Test("A cross with a gap around its centre")
    func cross() {
        var image = RGBImage(width: 9, height: 9)
        Overlay.cross(in: &image, centerX: 4.2, centerY: 4.7, armLength: 3, color: red, gap: 1)
        #expect(image.pixel(x: 4, y: 4) == black)
        #expect(painted(image, red).count == 12)
        #expect(image.pixel(x: 7, y: 4) == red && image.pixel(x: 1, y: 4) == red)
        #expect(image.pixel(x: 4, y: 1) == red && image.pixel(x: 4, y: 7) == red)
        #expect(image.pixel(x: 8, y: 4) == black)
        var solid = RGBImage(width: 9, height: 9)
        Overlay.cross(in: &solid, centerX: 0.5, centerY: 0.5, armLength: 2, color: red)
        #expect(painted(solid, red) == [[0, 0], [1, 0], [2, 0], [0, 1], [0, 2]])  // clipped at the edges
    }

    @Test("Lines: exact pixels for axis-aligned and diagonal segments, clipping, far end points")
    func lines() {
        var image = RGBImage(width: 10, height: 10)
        Overlay.line(in: &image, fromX: 1.5, fromY: 2.5, toX: 6.5, toY: 2.5, color: red)
        #expect(painted(image, red) == Set((1...6).map { [$0, 2] }))
        var diagonal = RGBImage(width: 10, height: 10)
        Overlay.line(in: &diagonal, fromX: 0.5, fromY: 0.5, toX: 9.5, toY: 9.5, color: red)
        #expect(painted(diagonal, red) == Set((0...9).map { [$0, $0] }))
        // Steep line: one pixel per row, each step moves at most one column.
        var steep = RGBImage(width: 10, height: 10)
        Overlay.line(in: &steep, fromX: 2.5, fromY: 0.5, toX: 5.5, toY: 9.5, color: red)
        let rows = painted(steep, red).sorted { $0[1] < $1[1] }
        #expect(rows.count == 10 && Set(rows.map { $0[1] }).count == 10)
        #expect(zip(rows, rows.dropFirst()).allSatisfy { abs($0[0] - $1[0]) <= 1 })
        // Far-away end points are clipped (and cheap); the visible part is still drawn.
        var far = RGBImage(width: 10, height: 10)
        Overlay.line(in: &far, fromX: -1e12, fromY: 4.5, toX: 1e12, toY: 4.5, color: red)
        #expect(painted(far, red) == Set((0...9).map { [$0, 4] }))
        var outside = RGBImage(width: 10, height: 10)
        Overlay.line(in: &outside, fromX: -5, fromY: -5, toX: -1, toY: 20, color: red)
        Overlay.line(in: &outside, fromX: .nan, fromY: 1, toX: 3, toY: 3, color: red)
        #expect(painted(outside, red).isEmpty)
        var thick = RGBImage(width: 10, height: 10)
        Overlay.line(in: &thick, fromX: 2.5, fromY: 5.5, toX: 6.5, toY: 5.5, color: red, thickness: 3)
        #expect(painted(thick, red) == Set((1...7).flatMap { x in (4...6).map { [x, $0] } }))
    }

    @Test("Rectangle borders, clipped")
    func rectangles() {
        var image = RGBImage(width: 10, height: 8)
        Overlay.rectangle(in: &image, x: 2, y: 1, width: 5, height: 4, color: red)
        var expected: Set<[Int]> = []
        for x in 2...6 {
            expected.insert([x, 1])
            expected.insert([x, 4])
        }
        for y in 1...4 {
            expected.insert([2, y])
            expected.insert([6, y])
        }
        #expect(painted(image, red) == expected)
        var clipped = RGBImage(width: 10, height: 8)
        Overlay.rectangle(in: &clipped, x: -3, y: 6, width: 6, height: 100, color: red, thickness: 2)
        // Rows 6 and 7 are the (2 pixel) top edge; the left and bottom edges are off the image.
        #expect(painted(clipped, red) == [[0, 6], [1, 6], [2, 6], [0, 7], [1, 7], [2, 7]])
        // Extreme values neither trap nor overflow: this one ends at x = -1, so nothing shows...
        var offImage = RGBImage(width: 4, height: 4)
        Overlay.rectangle(
            in: &offImage, x: Int.min, y: Int.min, width: Int.max, height: Int.max, color: red, thickness: Int.max)
        #expect(painted(offImage, red).isEmpty)
        // ...and this one's top edge band (thickness clamped to the image) covers the whole image.
        var covering = RGBImage(width: 4, height: 4)
        Overlay.rectangle(in: &covering, x: 0, y: 0, width: Int.max, height: Int.max, color: red, thickness: Int.max)
        #expect(painted(covering, red).count == 16)
    }

    @Test("Random marks never write outside the image (property test)")
    func randomMarksStayInside() {
        var random = SeededRandom(seed: 31)
        for _ in 0..<200 {
            let width = Int.random(in: 1...20, using: &random)
            let height = Int.random(in: 1...20, using: &random)
            var image = RGBImage(width: width, height: height)
            let x = Double.random(in: -30...50, using: &random)
            let y = Double.random(in: -30...50, using: &random)
            Overlay.disc(
                in: &image, centerX: x, centerY: y, radius: Double.random(in: 0...15, using: &random), fill: red,
                outline: white)
            Overlay.ring(
                in: &image, centerX: y, centerY: x, radius: Double.random(in: 0...15, using: &random), color: red)
            Overlay.cross(
                in: &image, centerX: x, centerY: y, armLength: Int.random(in: 0...30, using: &random), color: white)
            Overlay.line(
                in: &image, fromX: x, fromY: y, toX: Double.random(in: -50...50, using: &random),
                toY: Double.random(in: -50...50, using: &random), color: red,
                thickness: Int.random(in: 1...3, using: &random))
            Overlay.rectangle(
                in: &image, x: Int(x), y: Int(y), width: Int.random(in: 0...40, using: &random),
                height: Int.random(in: 0...40, using: &random), color: white)
            #expect(image.pixels.count == width * height * 3)
        }
    }
}
