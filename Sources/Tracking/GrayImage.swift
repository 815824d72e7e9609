import Media

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

    /// 8-bit luma (one byte per pixel, row-major); nil when the buffer does not hold `width * height` bytes.
    public init?(width: Int, height: Int, luma: [UInt8]) {
        guard width > 0, height > 0, luma.count == width * height else { return nil }
        self.width = width
        self.height = height
        var out = [Float](repeating: 0, count: luma.count)
        luma.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count { dst[i] = Float(src[i]) }
            }
        }
        pixels = out
    }

    /// The luma of a decoded frame (BT.601).
    public init(_ frame: Frame) {
        self.init(width: frame.width, height: frame.height, rgb: frame.pixels)
    }

    /// The image rounded to 8 bits (clamped to 0…255): the exact input an 8-bit tool such as OpenCV sees.
    public func quantized() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count {
                    let v = src[i].rounded(.toNearestOrEven)
                    dst[i] = v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v))
                }
            }
        }
        return out
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

    /// Fills `side × side` bilinear samples at (x + i, y + j), i, j = 0..<side, row by row. All samples share
    /// one pair of fractional weights, so a window inside the image is four shifted reads per sample.
    func sampleWindow(x: Float, y: Float, side: Int, into out: UnsafeMutablePointer<Float>) {
        let fx = x.rounded(.down)
        let fy = y.rounded(.down)
        let ax = x - fx
        let ay = y - fy
        guard fx.magnitude < 1e8, fy.magnitude < 1e8, width > 0, height > 0 else {
            for k in 0..<(side * side) { out[k] = 0 }
            return
        }
        let ix = Int(fx)
        let iy = Int(fy)
        if ix >= 0, iy >= 0, ix + side < width, iy + side < height {
            let w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay
            let stride = width
            pixels.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                for j in 0..<side {
                    let row = base + (iy + j) * stride + ix
                    let below = row + stride
                    let target = out + j * side
                    for i in 0..<side {
                        target[i] = w00 * row[i] + w01 * row[i + 1] + w10 * below[i] + w11 * below[i + 1]
                    }
                }
            }
            return
        }
        for j in 0..<side {
            for i in 0..<side {
                out[j * side + i] = sample(x + Float(i), y + Float(j))
            }
        }
    }

    /// Half-size image after a 5-tap binomial blur (1 4 6 4 1)/16 in each direction, as a Gaussian pyramid
    /// (OpenCV's pyrDown) does; borders are replicated.
    public func downsampled() -> GrayImage {
        guard width > 0, height > 0 else { return self }
        let w2 = max(1, (width + 1) / 2)
        let h2 = max(1, (height + 1) / 2)
        let w = width
        let h = height
        // Horizontal pass at the even columns, then vertical at the even rows.
        var horizontal = [Float](repeating: 0, count: w2 * h)
        var out = [Float](repeating: 0, count: w2 * h2)
        pixels.withUnsafeBufferPointer { src in
            horizontal.withUnsafeMutableBufferPointer { mid in
                for y in 0..<h {
                    let row = src.baseAddress! + y * w
                    let target = mid.baseAddress! + y * w2
                    for x2 in 0..<w2 {
                        let x = 2 * x2
                        if x >= 2 && x + 2 < w {
                            target[x2] = (row[x - 2] + 4 * row[x - 1] + 6 * row[x] + 4 * row[x + 1] + row[x + 2]) / 16
                        } else {
                            let a = row[clampedIndex(x - 2, w)], b = row[clampedIndex(x - 1, w)], c = row[clampedIndex(x, w)]
                            let d = row[clampedIndex(x + 1, w)], e = row[clampedIndex(x + 2, w)]
                            target[x2] = (a + 4 * b + 6 * c + 4 * d + e) / 16
                        }
                    }
                }
            }
        }
        horizontal.withUnsafeBufferPointer { mid in
            out.withUnsafeMutableBufferPointer { dst in
                let m = mid.baseAddress!
                for y2 in 0..<h2 {
                    let y = 2 * y2
                    let r0 = m + clampedIndex(y - 2, h) * w2
                    let r1 = m + clampedIndex(y - 1, h) * w2
                    let r2 = m + clampedIndex(y, h) * w2
                    let r3 = m + clampedIndex(y + 1, h) * w2
                    let r4 = m + clampedIndex(y + 2, h) * w2
                    let target = dst.baseAddress! + y2 * w2
                    for x2 in 0..<w2 {
                        target[x2] = (r0[x2] + 4 * r1[x2] + 6 * r2[x2] + 4 * r3[x2] + r4[x2]) / 16
                    }
                }
            }
        }
        return GrayImage(width: w2, height: h2, pixels: out)
    }
}

/// Border index by replication (… 0 0 | 0 1 … n-1 | n-1 n-1 …), the border rule of all sampling here.
@inline(__always) func clampedIndex(_ i: Int, _ n: Int) -> Int {
    min(max(i, 0), n - 1)
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

    /// 3x3 Scharr derivative (3 10 3) / 32, with replicated borders.
    static func scharr(_ image: GrayImage) -> (GrayImage, GrayImage) {
        let w = image.width
        let h = image.height
        var dx = [Float](repeating: 0, count: w * h)
        var dy = [Float](repeating: 0, count: w * h)
        guard w > 0, h > 0 else {
            return (GrayImage(width: w, height: h, pixels: dx), GrayImage(width: w, height: h, pixels: dy))
        }
        image.pixels.withUnsafeBufferPointer { src in
            dx.withUnsafeMutableBufferPointer { gx in
                dy.withUnsafeMutableBufferPointer { gy in
                    let s = src.baseAddress!
                    for y in 0..<h {
                        let up = s + clampedIndex(y - 1, h) * w
                        let mid = s + y * w
                        let down = s + clampedIndex(y + 1, h) * w
                        let ox = gx.baseAddress! + y * w
                        let oy = gy.baseAddress! + y * w
                        for x in 0..<w {
                            let xl: Int, xr: Int
                            if x >= 1 && x + 1 < w {
                                xl = x - 1
                                xr = x + 1
                            } else {
                                xl = clampedIndex(x - 1, w)
                                xr = clampedIndex(x + 1, w)
                            }
                            let a = up[xl], b = up[x], c = up[xr]
                            let d = mid[xl], f = mid[xr]
                            let g = down[xl], hh = down[x], i = down[xr]
                            ox[x] = (3 * (c - a) + 10 * (f - d) + 3 * (i - g)) / 32
                            oy[x] = (3 * (g - a) + 10 * (hh - b) + 3 * (i - c)) / 32
                        }
                    }
                }
            }
        }
        return (GrayImage(width: w, height: h, pixels: dx), GrayImage(width: w, height: h, pixels: dy))
    }
}
