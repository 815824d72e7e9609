/// An 8-bit-per-channel colour, used for overlays, palettes and pixel access.
package struct RGB: Sendable, Equatable, Hashable {
    package var r: UInt8
    package var g: UInt8
    package var b: UInt8

    package init(r: UInt8, g: UInt8, b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    package static let black = RGB(r: 0, g: 0, b: 0)
    package static let white = RGB(r: 255, g: 255, b: 255)

    /// The colour packed as 0x00RRGGBB.
    var packed: UInt32 { UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b) }

    init(packed: UInt32) {
        self.init(
            r: UInt8(truncatingIfNeeded: packed >> 16), g: UInt8(truncatingIfNeeded: packed >> 8),
            b: UInt8(truncatingIfNeeded: packed))
    }
}

/// A packed RGB24 image (row stride `width * 3`), the input of every encoder in this module.
///
/// The initialisers never trap on bad input: negative sizes become 0, and a pixel buffer of the wrong
/// length is padded with black or truncated to `width * height * 3` bytes.
package struct RGBImage: Sendable, Equatable {
    package var width: Int
    package var height: Int
    package var pixels: [UInt8]

    /// Wraps `pixels` (row-major RGB24). A buffer of the wrong length is padded with black or truncated.
    package init(width: Int, height: Int, pixels: [UInt8]) {
        guard let bytes = RGBImage.byteCount(width: width, height: height) else {
            self.width = 0
            self.height = 0
            self.pixels = []
            return
        }
        self.width = max(0, width)
        self.height = max(0, height)
        if pixels.count == bytes {
            self.pixels = pixels
        } else if pixels.count > bytes {
            self.pixels = Array(pixels[0..<bytes])
        } else {
            var padded = pixels
            padded.append(contentsOf: repeatElement(0, count: bytes - pixels.count))
            self.pixels = padded
        }
    }

    /// An image filled with one colour.
    package init(width: Int, height: Int, fill: RGB = .black) {
        guard let bytes = RGBImage.byteCount(width: width, height: height) else {
            self.width = 0
            self.height = 0
            self.pixels = []
            return
        }
        var buffer = [UInt8](repeating: 0, count: bytes)
        if fill != .black {
            buffer.withUnsafeMutableBufferPointer { out in
                var i = 0
                while i < out.count {
                    out[i] = fill.r
                    out[i + 1] = fill.g
                    out[i + 2] = fill.b
                    i += 3
                }
            }
        }
        self.width = max(0, width)
        self.height = max(0, height)
        self.pixels = buffer
    }

    /// `width * height * 3` for non-negative sizes (negative sizes count as 0), nil on overflow.
    static func byteCount(width: Int, height: Int) -> Int? {
        let (count, overflow) = max(0, width).multipliedReportingOverflow(by: max(0, height))
        let (bytes, overflow3) = count.multipliedReportingOverflow(by: 3)
        return overflow || overflow3 ? nil : bytes
    }

    /// True when `pixels` holds exactly `width * height * 3` bytes. The fields are package and mutable, so a
    /// caller can break this; encoders then work on a repaired copy instead of trapping.
    package var isConsistent: Bool {
        guard width >= 0, height >= 0, let bytes = RGBImage.byteCount(width: width, height: height) else {
            return false
        }
        return pixels.count == bytes
    }

    /// The image with a pixel buffer of exactly `width * height * 3` bytes.
    var consistent: RGBImage {
        isConsistent ? self : RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The pixel at (x, y), or nil outside the image.
    package func pixel(x: Int, y: Int) -> RGB? {
        guard x >= 0, y >= 0, x < width, y < height else { return nil }
        let i = (y &* width &+ x) &* 3
        guard i &+ 2 < pixels.count else { return nil }
        return RGB(r: pixels[i], g: pixels[i + 1], b: pixels[i + 2])
    }

    /// Sets the pixel at (x, y); positions outside the image are ignored.
    package mutating func setPixel(x: Int, y: Int, _ color: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y &* width &+ x) &* 3
        guard i &+ 2 < pixels.count else { return }
        pixels[i] = color.r
        pixels[i + 1] = color.g
        pixels[i + 2] = color.b
    }
}
