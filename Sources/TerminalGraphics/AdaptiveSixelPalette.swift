/// A sixel palette chosen for one image: median cut over a subsample of its pixels, up to 256 registers.
///
/// Colours are kept as sixel sends them (whole percents per channel) and `colors` holds what a decoder
/// reproduces, so the nearest-colour choice and the error diffusion work with the colours the terminal shows.
package struct AdaptiveSixelPalette: Sendable {
    /// Register percentages (r, g, b), 0...100.
    package let percents: [(UInt8, UInt8, UInt8)]
    /// Register colours as a decoder reproduces them.
    package let colors: [RGB]
    /// `#n;2;r;g;b` for each register.
    let definitions: [[UInt8]]

    /// Pixels looked at when choosing the palette: enough to find small coloured objects, few enough to stay
    /// a small part of a frame's encode time.
    static let sampleBudget = 32_768

    /// Median cut: start from one box holding the sampled pixels, split the box whose widest channel spans the
    /// most (weighted by its pixel count) at the median of that channel, until `registers` boxes or no box can be
    /// split; each register is its box's mean.
    package init(image: RGBImage, registers: Int = 256) {
        let source = image.consistent
        let pixelCount = source.width * source.height
        let maxRegisters = min(256, max(1, registers))
        guard pixelCount > 0 else {
            self.init(percents: [(0, 0, 0)])
            return
        }
        // A regular grid subsample (rows and columns both strided) so every region of the frame is represented.
        let stride = max(1, Int(Double(pixelCount / AdaptiveSixelPalette.sampleBudget).squareRoot()))
        var samples: [UInt32] = []
        samples.reserveCapacity((source.width / stride + 1) * (source.height / stride + 1))
        source.pixels.withUnsafeBufferPointer { pixels in
            var y = stride / 2
            while y < source.height {
                var x = stride / 2
                while x < source.width {
                    let i = (y * source.width + x) * 3
                    samples.append(UInt32(pixels[i]) << 16 | UInt32(pixels[i + 1]) << 8 | UInt32(pixels[i + 2]))
                    x += stride
                }
                y += stride
            }
        }
        var boxes: [Range<Int>] = [0..<samples.count]
        var splittable = [true]
        while boxes.count < maxRegisters {
            var best = -1
            var bestScore = 0
            var bestChannel = 0
            for (index, box) in boxes.enumerated() where splittable[index] && box.count > 1 {
                let (channel, span) = AdaptiveSixelPalette.widestChannel(samples, box)
                let score = span * span * box.count
                if span > 0, score > bestScore {
                    best = index
                    bestScore = score
                    bestChannel = channel
                }
                if span == 0 { splittable[index] = false }
            }
            guard best >= 0 else { break }
            let box = boxes[best]
            let shift = UInt32(16 - 8 * bestChannel)
            samples[box].sort { ($0 >> shift) & 0xFF < ($1 >> shift) & 0xFF }
            var middle = box.lowerBound + box.count / 2
            // Keep equal values on one side so both halves are non-empty and distinct.
            let pivot = (samples[middle] >> shift) & 0xFF
            while middle > box.lowerBound + 1, (samples[middle - 1] >> shift) & 0xFF == pivot { middle -= 1 }
            if middle == box.lowerBound { middle += 1 }
            boxes[best] = box.lowerBound..<middle
            boxes.append(middle..<box.upperBound)
            splittable.append(true)
        }
        var percents: [(UInt8, UInt8, UInt8)] = []
        var seen = Set<UInt32>()
        for box in boxes where !box.isEmpty {
            var sums = (0, 0, 0)
            for sample in samples[box] {
                sums.0 += Int(sample >> 16)
                sums.1 += Int((sample >> 8) & 0xFF)
                sums.2 += Int(sample & 0xFF)
            }
            let n = box.count
            let p = (
                AdaptiveSixelPalette.percent(eightBit: (sums.0 + n / 2) / n),
                AdaptiveSixelPalette.percent(eightBit: (sums.1 + n / 2) / n),
                AdaptiveSixelPalette.percent(eightBit: (sums.2 + n / 2) / n)
            )
            if seen.insert(UInt32(p.0) << 16 | UInt32(p.1) << 8 | UInt32(p.2)).inserted { percents.append(p) }
        }
        self.init(percents: percents)
    }

    private init(percents: [(UInt8, UInt8, UInt8)]) {
        self.percents = percents
        colors = percents.map {
            RGB(
                r: SixelPalette.eightBit(percent: Int($0.0)), g: SixelPalette.eightBit(percent: Int($0.1)),
                b: SixelPalette.eightBit(percent: Int($0.2)))
        }
        definitions = percents.enumerated().map { index, p in Array("#\(index);2;\(p.0);\(p.1);\(p.2)".utf8) }
    }

    /// The whole percent whose 8-bit value (as a decoder computes it) is nearest to `value`.
    static func percent(eightBit value: Int) -> UInt8 {
        let guess = (value * 100 + 127) / 255
        var best = guess
        for candidate in max(0, guess - 1)...min(100, guess + 1)
        where abs(Int(SixelPalette.eightBit(percent: candidate)) - value)
            < abs(Int(SixelPalette.eightBit(percent: best)) - value)
        {
            best = candidate
        }
        return UInt8(best)
    }

    private static func widestChannel(_ samples: [UInt32], _ box: Range<Int>) -> (channel: Int, span: Int) {
        var low: (UInt32, UInt32, UInt32) = (255, 255, 255)
        var high: (UInt32, UInt32, UInt32) = (0, 0, 0)
        for sample in samples[box] {
            let r = sample >> 16
            let g = (sample >> 8) & 0xFF
            let b = sample & 0xFF
            low = (min(low.0, r), min(low.1, g), min(low.2, b))
            high = (max(high.0, r), max(high.1, g), max(high.2, b))
        }
        let spans = [Int(high.0 - low.0), Int(high.1 - low.1), Int(high.2 - low.2)]
        let channel = spans.indices.max { spans[$0] < spans[$1] } ?? 0
        return (channel, spans[channel])
    }

    /// Maps every pixel of `image` to a register, optionally with Floyd–Steinberg error diffusion (serpentine),
    /// into `indices` (row-major, one byte a pixel). Nearest registers are found once per 18-bit colour cell.
    func quantise(_ image: RGBImage, diffuse: Bool, into indices: UnsafeMutablePointer<UInt8>) {
        let width = image.width
        let height = image.height
        let cache = NearestRegisterCache(colors: colors)
        defer { cache.release() }
        image.pixels.withUnsafeBufferPointer { pixelBuffer in
            guard let pixels = pixelBuffer.baseAddress else { return }
            if !diffuse {
                for i in 0..<(width * height) {
                    indices[i] = cache.register(Int(pixels[3 * i]), Int(pixels[3 * i + 1]), Int(pixels[3 * i + 2]))
                }
                return
            }
            // Errors of the current and next row, in 1/16 units, with one guard column on each side.
            let rowLength = (width + 2) * 3
            var current = [Int32](repeating: 0, count: rowLength)
            var next = [Int32](repeating: 0, count: rowLength)
            let palette = colors
            for y in 0..<height {
                let leftToRight = y & 1 == 0
                for k in 0..<width {
                    let x = leftToRight ? k : width - 1 - k
                    let p = pixels + (y * width + x) * 3
                    let e = (x + 1) * 3
                    let r = min(255, max(0, Int(p[0]) + Int((current[e] + 8) >> 4)))
                    let g = min(255, max(0, Int(p[1]) + Int((current[e + 1] + 8) >> 4)))
                    let b = min(255, max(0, Int(p[2]) + Int((current[e + 2] + 8) >> 4)))
                    let register = cache.register(r, g, b)
                    indices[y * width + x] = register
                    let chosen = palette[Int(register)]
                    let errors = (Int32(r - Int(chosen.r)), Int32(g - Int(chosen.g)), Int32(b - Int(chosen.b)))
                    let ahead = leftToRight ? e + 3 : e - 3
                    let behind = leftToRight ? e - 3 : e + 3
                    for (c, error) in [errors.0, errors.1, errors.2].enumerated() {
                        current[ahead + c] += error * 7
                        next[behind + c] += error * 3
                        next[e + c] += error * 5
                        next[ahead + c] += error
                    }
                }
                swap(&current, &next)
                for i in next.indices { next[i] = 0 }
            }
        }
    }
}

/// Nearest palette register per 18-bit colour cell (6 bits a channel), computed on first use.
private struct NearestRegisterCache {
    let table: UnsafeMutablePointer<UInt16>
    let colors: [(Int, Int, Int)]
    static let cells = 1 << 18

    init(colors: [RGB]) {
        table = .allocate(capacity: NearestRegisterCache.cells)
        table.initialize(repeating: 0xFFFF, count: NearestRegisterCache.cells)
        self.colors = colors.map { (Int($0.r), Int($0.g), Int($0.b)) }
    }

    func release() { table.deallocate() }

    @inline(__always) func register(_ r: Int, _ g: Int, _ b: Int) -> UInt8 {
        let key = (r >> 2) << 12 | (g >> 2) << 6 | (b >> 2)
        let cached = table[key]
        if cached != 0xFFFF { return UInt8(cached) }
        // The cell's centre decides, so the answer does not depend on which pixel reached the cell first.
        let cr = (r & ~3) + 2
        let cg = (g & ~3) + 2
        let cb = (b & ~3) + 2
        var best = 0
        var bestDistance = Int.max
        for (index, color) in colors.enumerated() {
            let dr = cr - color.0
            let dg = cg - color.1
            let db = cb - color.2
            let distance = dr * dr + dg * dg + db * db
            if distance < bestDistance {
                bestDistance = distance
                best = index
            }
        }
        table[key] = UInt16(best)
        return UInt8(best)
    }
}
