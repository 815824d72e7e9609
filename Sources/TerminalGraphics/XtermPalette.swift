/// The xterm 256-colour palette entries 16...255 (6x6x6 cube + 24 greys) and an exact nearest-colour map.
///
/// Entries 0...15 are the ANSI colours, which users' themes redefine freely; mapping to them would make
/// the picture depend on the theme (the "ANSI palette trap"), so they are never chosen.
package enum XtermPalette {
    /// The six levels of each cube axis (indices 16 + 36r + 6g + b).
    package static let cubeLevels: [UInt8] = [0, 95, 135, 175, 215, 255]

    /// The RGB value of palette index 16...255 (nil for the theme-defined 0...15 and out-of-range values).
    package static func color(ofIndex index: Int) -> RGB? {
        guard index >= 16, index <= 255 else { return nil }
        if index >= 232 {
            let level = UInt8(8 + 10 * (index - 232))
            return RGB(r: level, g: level, b: level)
        }
        let cube = index - 16
        return RGB(r: cubeLevels[cube / 36], g: cubeLevels[(cube / 6) % 6], b: cubeLevels[cube % 6])
    }

    /// The index (16...255) nearest to `color` in squared RGB distance; ties prefer the cube.
    package static func nearestIndex(to color: RGB) -> Int {
        Int(Tables.shared.nearest(color.r, color.g, color.b) >> 24)
    }

    /// Per-channel and grey look-up tables; `nearest` returns (index << 24) | 0xRRGGBB of the entry.
    final class Tables: @unchecked Sendable {
        static let shared = Tables()

        /// Per channel value: nearest cube level index (0...5).
        let cubeIndex: UnsafeMutablePointer<UInt8>
        /// Per r+g+b sum (0...765): nearest grey ramp index (0...23).
        let greyIndex: UnsafeMutablePointer<UInt8>
        let levels: UnsafeMutablePointer<Int32>

        private init() {
            cubeIndex = .allocate(capacity: 256)
            greyIndex = .allocate(capacity: 766)
            levels = .allocate(capacity: 6)
            for i in 0..<6 { levels[i] = Int32(XtermPalette.cubeLevels[i]) }
            for value in 0..<256 {
                var best = 0
                for i in 1..<6 where abs(Int(levels[i]) - value) < abs(Int(levels[best]) - value) {
                    best = i
                }
                cubeIndex[value] = UInt8(best)
            }
            // sum((c - g)^2) = 3 (g - mean)^2 + const, so the nearest grey is the one nearest the mean,
            // i.e. minimising |3g - sum|.
            for sum in 0...765 {
                var best = 0
                for k in 1..<24 where abs(3 * (8 + 10 * k) - sum) < abs(3 * (8 + 10 * best) - sum) {
                    best = k
                }
                greyIndex[sum] = UInt8(best)
            }
        }

        @inline(__always) func nearest(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt32 {
            let ri = Int(cubeIndex[Int(r)])
            let gi = Int(cubeIndex[Int(g)])
            let bi = Int(cubeIndex[Int(b)])
            let cr = levels[ri]
            let cg = levels[gi]
            let cb = levels[bi]
            let r32 = Int32(r)
            let g32 = Int32(g)
            let b32 = Int32(b)
            let dCube = (r32 - cr) * (r32 - cr) + (g32 - cg) * (g32 - cg) + (b32 - cb) * (b32 - cb)
            let k = Int32(greyIndex[Int(r) + Int(g) + Int(b)])
            let grey = 8 + 10 * k
            let dGrey = (r32 - grey) * (r32 - grey) + (g32 - grey) * (g32 - grey) + (b32 - grey) * (b32 - grey)
            if dGrey < dCube {
                let level = UInt32(grey)
                return UInt32(232 + k) << 24 | level << 16 | level << 8 | level
            }
            let index = UInt32(16 + 36 * ri + 6 * gi + bi)
            return index << 24 | UInt32(cr) << 16 | UInt32(cg) << 8 | UInt32(cb)
        }
    }
}
