import Basics
import TerminalGraphics

/// Basics' SplitMix64 with image and colour helpers, so property tests are reproducible from their seed.
struct SeededRandom: RandomNumberGenerator {
    private var generator: SplitMix64

    init(seed: UInt64) {
        generator = SplitMix64(seed: seed)
    }

    mutating func next() -> UInt64 { generator.next() }

    mutating func color() -> RGB {
        RGB(
            r: UInt8.random(in: 0...255, using: &self), g: UInt8.random(in: 0...255, using: &self),
            b: UInt8.random(in: 0...255, using: &self))
    }

    /// A random image of one of several kinds: noise, smooth gradient, flat blocks, or few colours, so that
    /// runs, repeats and per-pixel changes are all exercised.
    mutating func image(width: Int, height: Int) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        let kind = Int.random(in: 0..<4, using: &self)
        let palette = (0..<4).map { _ in color() }
        let blockSize = Int.random(in: 1...9, using: &self)
        let base = color()
        for y in 0..<height {
            for x in 0..<width {
                let pixel: RGB
                switch kind {
                case 0:
                    pixel = color()
                case 1:
                    pixel = RGB(
                        r: UInt8(truncatingIfNeeded: Int(base.r) + x * 3),
                        g: UInt8(truncatingIfNeeded: Int(base.g) + y * 5),
                        b: UInt8(truncatingIfNeeded: Int(base.b) + (x + y) * 2))
                case 2:
                    var blockRandom = SeededRandom(seed: UInt64(x / blockSize) << 32 | UInt64(y / blockSize) ^ 0xABCDEF)
                    pixel = blockRandom.color()
                default:
                    pixel = palette[Int.random(in: 0..<palette.count, using: &self)]
                }
                image.setPixel(x: x, y: y, pixel)
            }
        }
        return image
    }
}
