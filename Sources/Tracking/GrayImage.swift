import Media

/// A single-channel float image (luma 0…255), row-major, the input of optical flow.
package struct GrayImage: Sendable {
    package let width: Int
    package let height: Int
    package var pixels: [Float]

    package init(width: Int, height: Int, pixels: [Float]) {
        precondition(pixels.count == width * height, "GrayImage: pixel count does not match the size")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Luma (BT.601 weights, as OpenCV's RGB2GRAY) of packed RGB24 pixels.
    package init(width: Int, height: Int, rgb: [UInt8]) {
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
    package init?(width: Int, height: Int, luma: [UInt8]) {
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
    package init(_ frame: Frame) {
        self.init(width: frame.width, height: frame.height, rgb: frame.pixels)
    }

    /// The image rounded to 8 bits (clamped to 0…255): the exact input an 8-bit tool such as OpenCV sees.
    package func quantized() -> [UInt8] {
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

    /// Whether a `side × side` window at (x, y) and its bilinear neighbours lie inside the image.
    func containsWindow(x: Float, y: Float, side: Int) -> Bool {
        let fx = x.rounded(.down)
        let fy = y.rounded(.down)
        guard fx.magnitude < 1e8, fy.magnitude < 1e8 else { return false }
        let ix = Int(fx)
        let iy = Int(fy)
        return ix >= 0 && iy >= 0 && ix + side < width && iy + side < height
    }

    /// Scharr derivative (3 10 3)/32 at an integer pixel, neighbours replicated at the border.
    @inline(__always) func scharr(_ x: Int, _ y: Int) -> (x: Float, y: Float) {
        let a = at(x - 1, y - 1), b = at(x, y - 1), c = at(x + 1, y - 1)
        let d = at(x - 1, y), f = at(x + 1, y)
        let g = at(x - 1, y + 1), h = at(x, y + 1), i = at(x + 1, y + 1)
        return ((3 * (c - a) + 10 * (f - d) + 3 * (i - g)) / 32, (3 * (g - a) + 10 * (h - b) + 3 * (i - c)) / 32)
    }

    /// Bilinear sample of the Scharr derivative image, with clamped coordinates (the slow path for borders).
    func sampledScharr(_ x: Float, _ y: Float) -> (x: Float, y: Float) {
        let fx = x.rounded(.down)
        let fy = y.rounded(.down)
        guard fx.magnitude < 1e8, fy.magnitude < 1e8 else { return (0, 0) }
        let ax = x - fx
        let ay = y - fy
        let x0 = min(max(Int(fx), 0), width - 1), x1 = min(max(Int(fx) + 1, 0), width - 1)
        let y0 = min(max(Int(fy), 0), height - 1), y1 = min(max(Int(fy) + 1, 0), height - 1)
        let g00 = scharr(x0, y0), g01 = scharr(x1, y0), g10 = scharr(x0, y1), g11 = scharr(x1, y1)
        return (
            (g00.x * (1 - ax) + g01.x * ax) * (1 - ay) + (g10.x * (1 - ax) + g11.x * ax) * ay,
            (g00.y * (1 - ax) + g01.y * ax) * (1 - ay) + (g10.y * (1 - ax) + g11.y * ax) * ay
        )
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
    package func downsampled() -> GrayImage {
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
                // Columns whose 5 taps are all inside the row: x2 in 1...interiorEnd.
                let interiorEnd = (w - 3) / 2
                for y in 0..<h {
                    let row = src.baseAddress! + y * w
                    let target = mid.baseAddress! + y * w2
                    func border(_ x2: Int) {
                        let x = 2 * x2
                        let a = row[clampedIndex(x - 2, w)], b = row[clampedIndex(x - 1, w)], c = row[clampedIndex(x, w)]
                        let d = row[clampedIndex(x + 1, w)], e = row[clampedIndex(x + 2, w)]
                        target[x2] = (a + 4 * b + 6 * c + 4 * d + e) * (1 / 16)
                    }
                    border(0)
                    if interiorEnd >= 1 {
                        for x2 in 1...interiorEnd {
                            let p = row + 2 * x2 - 2
                            target[x2] = (p[0] + 4 * p[1] + 6 * p[2] + 4 * p[3] + p[4]) * (1 / 16)
                        }
                    }
                    for x2 in max(1, interiorEnd + 1)..<max(1, w2) { border(x2) }
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
                        target[x2] = (r0[x2] + 4 * r1[x2] + 6 * r2[x2] + 4 * r3[x2] + r4[x2]) * (1 / 16)
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

/// An image and its coarser levels (a Gaussian pyramid), the input of pyramidal optical flow. Gradients are not
/// stored: flow computes them only inside the windows it samples.
package struct ImagePyramid: Sendable {
    package let levels: [GrayImage]

    package init(_ image: GrayImage, levels count: Int) {
        var levels = [image]
        while levels.count < count, let last = levels.last, last.width >= 16, last.height >= 16 {
            levels.append(last.downsampled())
        }
        self.levels = levels
    }
}
