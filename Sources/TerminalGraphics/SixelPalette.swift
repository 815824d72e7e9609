/// The fixed 256-register sixel palette: a 6x6x6 cube at 0, 20, 40, 60, 80, 100 % per channel (registers
/// 0...215, index 36r + 6g + b) plus a 40-step grey ramp between the cube's greys (registers 216...255).
///
/// Entries are defined in the percent units sixel sends, and their 8-bit values are `round(p * 255 / 100)`,
/// i.e. exactly what a decoder reproduces. The grey ramp keeps near-grey areas from splitting into tinted
/// cube colours.
final class SixelPalette: @unchecked Sendable {
    static let shared = SixelPalette()

    static let registerCount = 256
    static let cubeSteps = 6
    static let greyCount = 40
    /// Bits kept per channel to index the look-up table.
    static let lookupBits = 6

    /// Register percentages (r, g, b), 0...100.
    let percents: [(UInt8, UInt8, UInt8)]
    /// Register colours as a decoder reproduces them.
    let colors: [RGB]
    /// `#n;2;r;g;b` for each register.
    let definitions: [[UInt8]]
    /// Nearest register for each quantised colour: index (r >> 2) << 12 | (g >> 2) << 6 | (b >> 2).
    let lookup: UnsafeMutablePointer<UInt8>
    /// 8x8 Bayer offsets scaled to one cube step (about -25...+25), row-major.
    let bayerOffsets: UnsafeMutablePointer<Int16>

    static func eightBit(percent: Int) -> UInt8 {
        UInt8((percent * 255 + 50) / 100)
    }

    private init() {
        var percents: [(UInt8, UInt8, UInt8)] = []
        for r in 0..<6 {
            for g in 0..<6 {
                for b in 0..<6 {
                    percents.append((UInt8(r * 20), UInt8(g * 20), UInt8(b * 20)))
                }
            }
        }
        // Grey k sits at 1.25 + 2.5k %, rounded half up: never a multiple of 20, so distinct from the cube.
        var greyPercents: [Int] = []
        for k in 0..<SixelPalette.greyCount {
            let p = (125 + 250 * k + 50) / 100
            greyPercents.append(p)
            percents.append((UInt8(p), UInt8(p), UInt8(p)))
        }
        self.percents = percents
        let colors = percents.map {
            RGB(
                r: SixelPalette.eightBit(percent: Int($0.0)), g: SixelPalette.eightBit(percent: Int($0.1)),
                b: SixelPalette.eightBit(percent: Int($0.2)))
        }
        self.colors = colors
        definitions = percents.enumerated().map { index, p in
            Array("#\(index);2;\(p.0);\(p.1);\(p.2)".utf8)
        }

        // Nearest register to each cell centre of the quantised RGB grid. The palette is the cube plus a grey
        // ramp, so the nearest entry is either the nearest cube entry (separable per channel) or the grey
        // nearest to the mean of the channels (sum((c - v)^2) = 3 (v - mean)^2 + const).
        let cubeValues = (0..<6).map { Double(SixelPalette.eightBit(percent: $0 * 20)) }
        let greyValues = greyPercents.map { Double(SixelPalette.eightBit(percent: $0)) }
        let levels = 1 << SixelPalette.lookupBits
        let step = 256.0 / Double(levels)
        var nearestCube = [Int](repeating: 0, count: levels)
        for q in 0..<levels {
            let centre = (Double(q) + 0.5) * step - 0.5
            var best = 0
            for i in 1..<6 where abs(cubeValues[i] - centre) < abs(cubeValues[best] - centre) { best = i }
            nearestCube[q] = best
        }
        // The channel mean depends only on qr + qg + qb, so the nearest grey is tabulated per sum.
        var nearestGrey = [Int](repeating: 0, count: 3 * levels)
        for sum in 0..<(3 * levels) {
            let mean = (Double(sum) / 3 + 0.5) * step - 0.5
            var grey = 0
            for k in 1..<greyValues.count where abs(greyValues[k] - mean) < abs(greyValues[grey] - mean) {
                grey = k
            }
            nearestGrey[sum] = grey
        }
        lookup = .allocate(capacity: levels * levels * levels)
        for qr in 0..<levels {
            for qg in 0..<levels {
                for qb in 0..<levels {
                    let r = (Double(qr) + 0.5) * step - 0.5
                    let g = (Double(qg) + 0.5) * step - 0.5
                    let b = (Double(qb) + 0.5) * step - 0.5
                    let ri = nearestCube[qr]
                    let gi = nearestCube[qg]
                    let bi = nearestCube[qb]
                    let cubeDistance =
                        (r - cubeValues[ri]) * (r - cubeValues[ri]) + (g - cubeValues[gi]) * (g - cubeValues[gi])
                        + (b - cubeValues[bi]) * (b - cubeValues[bi])
                    let grey = nearestGrey[qr + qg + qb]
                    let v = greyValues[grey]
                    let greyDistance = (r - v) * (r - v) + (g - v) * (g - v) + (b - v) * (b - v)
                    let index = greyDistance < cubeDistance ? 216 + grey : 36 * ri + 6 * gi + bi
                    lookup[(qr << (2 * SixelPalette.lookupBits)) | (qg << SixelPalette.lookupBits) | qb] =
                        UInt8(index)
                }
            }
        }

        bayerOffsets = .allocate(capacity: 64)
        let cubeStep = 255.0 / 5.0
        for y in 0..<8 {
            for x in 0..<8 {
                let threshold = Double(SixelPalette.bayerRank(x: x, y: y))
                bayerOffsets[y * 8 + x] = Int16(((threshold + 0.5) / 64.0 - 0.5) * cubeStep)
            }
        }
    }

    /// Rank (0...63) of (x, y) in the 8x8 Bayer matrix, by bit interleaving of x ^ y and y.
    static func bayerRank(x: Int, y: Int) -> Int {
        var rank = 0
        let xorValue = x ^ y
        for bit in 0..<3 {
            rank |= ((xorValue >> bit) & 1) << (5 - 2 * bit)
            rank |= ((y >> bit) & 1) << (4 - 2 * bit)
        }
        return rank
    }

    @inline(__always) func register(r: UInt8, g: UInt8, b: UInt8) -> UInt8 {
        lookup[Int(r >> 2) << 12 | Int(g >> 2) << 6 | Int(b >> 2)]
    }
}
