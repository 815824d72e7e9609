/// A single-channel float image (luma 0…255), row-major, the input of optical flow.
public struct GrayImage: Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(pixels.count == width * height, "GrayImage: pixel count does not match the size")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Luma (BT.601 weights, as OpenCV's RGB2GRAY) of packed RGB24 pixels.
    public init(width: Int, height: Int, rgb: [UInt8]) {
        precondition(rgb.count >= width * height * 3, "GrayImage: RGB buffer is smaller than the size")
        self.width = width
        self.height = height
        var out = [Float](repeating: 0, count: width * height)
        rgb.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<(width * height) {
                    dst[i] = 0.299 * Float(src[3 * i]) + 0.587 * Float(src[3 * i + 1]) + 0.114 * Float(src[3 * i + 2])
                }
            }
        }
        pixels = out
    }

    @inline(__always) func at(_ x: Int, _ y: Int) -> Float {
        let cx = min(max(x, 0), width - 1)
        let cy = min(max(y, 0), height - 1)
        return pixels[cy * width + cx]
    }

    /// Bilinear sample with border replication.
    @inline(__always) func sample(_ x: Float, _ y: Float) -> Float {
        let fx = x.rounded(.down)
        let fy = y.rounded(.down)
        let ax = x - fx
        let ay = y - fy
        let ix = Int(fx)
        let iy = Int(fy)
        if ix >= 0 && iy >= 0 && ix + 1 < width && iy + 1 < height {
            let i = iy * width + ix
            let p00 = pixels[i], p01 = pixels[i + 1], p10 = pixels[i + width], p11 = pixels[i + width + 1]
            return (p00 * (1 - ax) + p01 * ax) * (1 - ay) + (p10 * (1 - ax) + p11 * ax) * ay
        }
        let p00 = at(ix, iy), p01 = at(ix + 1, iy), p10 = at(ix, iy + 1), p11 = at(ix + 1, iy + 1)
        return (p00 * (1 - ax) + p01 * ax) * (1 - ay) + (p10 * (1 - ax) + p11 * ax) * ay
    }

    /// Half-size image after a 5-tap binomial blur (1 4 6 4 1)/16 in each direction, as a Gaussian pyramid does.
    public func downsampled() -> GrayImage {
        let w2 = max(1, (width + 1) / 2)
        let h2 = max(1, (height + 1) / 2)
        let k: [Float] = [1, 4, 6, 4, 1]
        // Horizontal pass at the even columns, then vertical at the even rows.
        var horizontal = [Float](repeating: 0, count: w2 * height)
        for y in 0..<height {
            for x2 in 0..<w2 {
                let x = 2 * x2
                var s: Float = 0
                for t in -2...2 { s += k[t + 2] * at(x + t, y) }
                horizontal[y * w2 + x2] = s / 16
            }
        }
        var out = [Float](repeating: 0, count: w2 * h2)
        for y2 in 0..<h2 {
            let y = 2 * y2
            for x2 in 0..<w2 {
                var s: Float = 0
                for t in -2...2 {
                    let yy = min(max(y + t, 0), height - 1)
                    s += k[t + 2] * horizontal[yy * w2 + x2]
                }
                out[y2 * w2 + x2] = s / 16
            }
        }
        return GrayImage(width: w2, height: h2, pixels: out)
    }
}

/// An image and its coarser levels, with the spatial gradients flow needs.
public struct ImagePyramid: Sendable {
    public let levels: [GrayImage]
    /// Scharr gradients per level (d/dx, d/dy), scaled to intensity units per pixel.
    let gradientX: [GrayImage]
    let gradientY: [GrayImage]

    public init(_ image: GrayImage, levels count: Int) {
        var levels = [image]
        while levels.count < count, let last = levels.last, last.width >= 16, last.height >= 16 {
            levels.append(last.downsampled())
        }
        self.levels = levels
        var gx: [GrayImage] = []
        var gy: [GrayImage] = []
        for level in levels {
            let (x, y) = ImagePyramid.scharr(level)
            gx.append(x)
            gy.append(y)
        }
        gradientX = gx
        gradientY = gy
    }

    /// 3x3 Scharr derivative (3 10 3) / 32, with border replication.
    static func scharr(_ image: GrayImage) -> (GrayImage, GrayImage) {
        let w = image.width
        let h = image.height
        var dx = [Float](repeating: 0, count: w * h)
        var dy = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let a = image.at(x - 1, y - 1), b = image.at(x, y - 1), c = image.at(x + 1, y - 1)
                let d = image.at(x - 1, y), f = image.at(x + 1, y)
                let g = image.at(x - 1, y + 1), hh = image.at(x, y + 1), i = image.at(x + 1, y + 1)
                dx[y * w + x] = (3 * (c - a) + 10 * (f - d) + 3 * (i - g)) / 32
                dy[y * w + x] = (3 * (g - a) + 10 * (hh - b) + 3 * (i - c)) / 32
            }
        }
        return (GrayImage(width: w, height: h, pixels: dx), GrayImage(width: w, height: h, pixels: dy))
    }
}
