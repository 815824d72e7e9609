/// Encodes RGB images as DEC sixel graphics with a fixed 256-register palette (6x6x6 cube + 40 greys),
/// fast enough for video (one table look-up per pixel, work proportional to pixels plus output).
///
/// Output: `ESC P 0;1;0 q` (P2 = 1: zero bits leave the screen unchanged, no background flash), raster
/// attributes `"1;1;W;H`, definitions (RGB percent) of the registers the frame uses, then one 6-row band
/// after another: for each register present in the band `#n`, its sixel characters with `!n` repeats,
/// `$` between registers and `-` between bands, and finally `ESC \`.
package struct SixelEncoder: Sendable {
    /// Apply an 8x8 ordered (Bayer) dither of one cube step before the palette look-up: smoother gradients,
    /// stable between frames, but roughly 2-3x larger output because runs break up.
    package let dither: Bool

    /// Largest width or height encoded; bigger images become an empty image (terminals cap sixel size far
    /// below this, and scratch memory grows with the width).
    package static let maximumSize = 65_535

    /// Number of colour registers the encoder uses (the terminal must offer at least this many).
    package static let registerCount = SixelPalette.registerCount

    /// Which palette the encoder uses, for logs and `doctor`.
    package static let paletteDescription =
        "256 registers: 6x6x6 cube at 0/20/40/60/80/100 % + 40-step grey ramp, 18-bit RGB look-up table"

    /// Where the colour registers come from.
    package enum PaletteChoice: Sendable, Equatable {
        /// The fixed 256-register cube and grey ramp (`SixelPalette`): one table look-up a pixel.
        case fixed
        /// A palette chosen for each image by median cut (`AdaptiveSixelPalette`), optionally with
        /// Floyd–Steinberg error diffusion: much closer to the source, at a few milliseconds a frame.
        case adaptive(diffusion: Bool)
    }

    /// The palette used for every image this encoder writes.
    package let palette: PaletteChoice

    package init(dither: Bool = false, palette: PaletteChoice = .fixed) {
        self.dither = dither
        self.palette = palette
    }

    /// The fixed palette as a decoder reproduces it (register n is element n).
    package static var fixedPalette: [RGB] { SixelPalette.shared.colors }

    /// The register chosen for `color` without dithering.
    package static func register(for color: RGB) -> Int {
        Int(SixelPalette.shared.register(r: color.r, g: color.g, b: color.b))
    }

    /// The image wrapped for drawing at the 0-based screen cell (`row`, `column`): ESC 7, CUP, the sixel,
    /// ESC 8. The cursor and attributes are as before afterwards.
    package func encode(_ image: RGBImage, row: Int, column: Int) -> [UInt8] {
        var before: [UInt8] = [0x1B, 0x37, 0x1B, 0x5B]
        before.append(contentsOf: String(min(max(0, row), 999_999) + 1).utf8)
        before.append(0x3B)
        before.append(contentsOf: String(min(max(0, column), 999_999) + 1).utf8)
        before.append(0x48)
        return encode(image, between: before, and: [0x1B, 0x38])
    }

    /// The image as one sixel DCS string.
    package func encode(_ image: RGBImage) -> [UInt8] {
        encode(image, between: [], and: [])
    }

    /// The sixel string with `before` and `after` around it, written into one array.
    private func encode(_ image: RGBImage, between before: [UInt8], and after: [UInt8]) -> [UInt8] {
        let source = image.consistent
        guard source.width > 0, source.height > 0, source.width <= SixelEncoder.maximumSize,
            source.height <= SixelEncoder.maximumSize
        else {
            return SixelEncoder.frame(
                width: 0, height: 0, used: [], definitions: [], body: UnsafeBufferPointer(start: nil, count: 0),
                before: before, after: after)
        }
        var body = GrowableBytes(capacity: source.width * source.height / 4 + 4096)
        defer { body.release() }
        var used = [Bool](repeating: false, count: SixelPalette.registerCount)
        // With an adaptive palette every pixel's register is chosen first (error diffusion runs across band
        // boundaries); the bands then copy from that plane.
        var definitions = SixelPalette.shared.definitions
        var plane: UnsafeMutablePointer<UInt8>?
        if case .adaptive(let diffusion) = palette {
            let chosen = AdaptiveSixelPalette(image: source)
            definitions = chosen.definitions
            plane = .allocate(capacity: source.width * source.height)
            chosen.quantise(source, diffuse: diffusion, into: plane!)
        }
        defer { plane?.deallocate() }
        source.pixels.withUnsafeBufferPointer { pixels in
            used.withUnsafeMutableBufferPointer { used in
                var bands = BandEncoder(width: source.width, dither: dither)
                defer { bands.release() }
                var top = 0
                while top < source.height {
                    let rows = min(6, source.height - top)
                    if let plane {
                        bands.copy(plane, top: top, rows: rows)
                    } else {
                        bands.quantise(pixels, top: top, rows: rows)
                    }
                    bands.collectRuns(rows: rows)
                    bands.sortRunsByRegister()
                    body.ensure(additional: bands.outputBound)
                    var writer = body.writer
                    bands.write(into: &writer, used: used)
                    top += rows
                    if top < source.height { writer.put(0x2D) }  // "-": next band
                    body.count = writer.count
                }
            }
        }
        return SixelEncoder.frame(
            width: source.width, height: source.height, used: used, definitions: definitions,
            body: UnsafeBufferPointer(start: body.base, count: body.count), before: before, after: after)
    }

    /// `before`, then the header, raster attributes, the used register definitions, the body and the
    /// terminator, then `after`.
    private static func frame(
        width: Int, height: Int, used: [Bool], definitions: [[UInt8]], body: UnsafeBufferPointer<UInt8>,
        before: [UInt8], after: [UInt8]
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(before.count + body.count + 5200 + after.count)
        bytes.append(contentsOf: before)
        bytes.append(contentsOf: [0x1B, 0x50, 0x30, 0x3B, 0x31, 0x3B, 0x30, 0x71])  // ESC P 0;1;0 q
        bytes.append(contentsOf: "\"1;1;\(width);\(height)".utf8)
        for (register, isUsed) in used.enumerated() where isUsed {
            bytes.append(contentsOf: definitions[register])
        }
        bytes.append(contentsOf: body)
        bytes.append(contentsOf: [0x1B, 0x5C])  // ESC \
        bytes.append(contentsOf: after)
        return bytes
    }
}

/// A byte buffer grown on demand between bands (each band first asks for its worst case).
private struct GrowableBytes {
    var base: UnsafeMutablePointer<UInt8>
    var capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    mutating func ensure(additional: Int) {
        guard count + additional > capacity else { return }
        let newCapacity = max(capacity * 2, count + additional)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    var writer: ByteWriter {
        var writer = ByteWriter(base: base)
        writer.count = count
        return writer
    }

    func release() {
        base.deallocate()
    }
}

/// Scratch state for encoding one 6-row band, reused for every band of a frame.
///
/// The band's register indices are stored column-major, 8 bytes per column (rows 0...5 in the low bytes), so
/// a column is one 64-bit word: equal neighbouring columns extend runs without per-pixel work, and a
/// single-colour column is one compare. Each (register, 6-bit mask) pair of a column becomes a run; runs
/// are then counting-sorted by register, so writing a register's row only visits the columns it occurs
/// in, never all columns for every register.
private struct BandEncoder {
    let width: Int
    let dither: Bool
    /// Register indices, column-major, 8 bytes per column.
    let columns: UnsafeMutablePointer<UInt64>
    /// Runs packed as register | mask << 8 | start << 14 | length << 38, in column order.
    let runs: UnsafeMutablePointer<UInt64>
    /// The same runs grouped by register (stable, so still in column order within a register).
    let sortedRuns: UnsafeMutablePointer<UInt64>
    var runCount = 0
    /// Per register: number of runs in this band, then (after sorting) the end of its group.
    let runCounts: UnsafeMutablePointer<Int32>
    let groupEnds: UnsafeMutablePointer<Int32>
    /// Registers present in this band.
    var present: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    var presentCount = 0
    /// Per-column scratch: mask of each register, and which registers were touched.
    let columnMasks: UnsafeMutablePointer<UInt8>

    init(width: Int, dither: Bool) {
        self.width = width
        self.dither = dither
        columns = .allocate(capacity: width)
        columns.initialize(repeating: 0, count: width)
        runs = .allocate(capacity: 6 * width)
        sortedRuns = .allocate(capacity: 6 * width)
        runCounts = .allocate(capacity: 256)
        runCounts.initialize(repeating: 0, count: 256)
        groupEnds = .allocate(capacity: 256)
        groupEnds.initialize(repeating: 0, count: 256)
        columnMasks = .allocate(capacity: 256)
        columnMasks.initialize(repeating: 0, count: 256)
    }

    func release() {
        columns.deallocate()
        runs.deallocate()
        sortedRuns.deallocate()
        runCounts.deallocate()
        groupEnds.deallocate()
        columnMasks.deallocate()
    }

    /// Maps `rows` image rows starting at `top` to registers, into the column-major band buffer.
    func quantise(_ pixels: UnsafeBufferPointer<UInt8>, top: Int, rows: Int) {
        guard let base = pixels.baseAddress else { return }
        let palette = SixelPalette.shared
        let lookup = palette.lookup
        let bands = UnsafeMutableRawPointer(columns).assumingMemoryBound(to: UInt8.self)
        for row in 0..<rows {
            let y = top + row
            var pixel = base + y * width * 3
            var out = bands + row
            if dither {
                let offsets = palette.bayerOffsets + (y & 7) * 8
                for x in 0..<width {
                    let offset = Int(offsets[x & 7])
                    let r = min(255, max(0, Int(pixel[0]) + offset))
                    let g = min(255, max(0, Int(pixel[1]) + offset))
                    let b = min(255, max(0, Int(pixel[2]) + offset))
                    out.pointee = lookup[(r >> 2) << 12 | (g >> 2) << 6 | (b >> 2)]
                    pixel += 3
                    out += 8
                }
            } else {
                for _ in 0..<width {
                    out.pointee = lookup[Int(pixel[0] >> 2) << 12 | Int(pixel[1] >> 2) << 6 | Int(pixel[2] >> 2)]
                    pixel += 3
                    out += 8
                }
            }
        }
    }

    /// Copies `rows` rows of already chosen registers (row-major, one byte a pixel) into the band buffer.
    func copy(_ plane: UnsafeMutablePointer<UInt8>, top: Int, rows: Int) {
        let bands = UnsafeMutableRawPointer(columns).assumingMemoryBound(to: UInt8.self)
        for row in 0..<rows {
            var source = plane + (top + row) * width
            var out = bands + row
            for _ in 0..<width {
                out.pointee = source.pointee
                source += 1
                out += 8
            }
        }
    }

    /// Turns the band's columns into (register, mask) runs and counts runs per register.
    mutating func collectRuns(rows: Int) {
        let laneMask: UInt64 = rows == 6 ? 0xFFFF_FFFF_FFFF : (1 << (8 * UInt64(rows))) - 1
        let fullMask = UInt64((1 << rows) - 1)
        var count = 0
        var previous: UInt64 = 0
        var previousRuns = 0
        var presentBits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        for x in 0..<width {
            let word = columns[x] & laneMask
            if x > 0 && word == previous {
                // Same registers as the column before: lengthen its runs.
                for i in (count - previousRuns)..<count { runs[i] &+= 1 << 38 }
                continue
            }
            previous = word
            let first = word & 0xFF
            let start = UInt64(x) << 14 | 1 << 38
            if word == (first &* 0x0101_0101_0101_0101) & laneMask {
                runs[count] = first | fullMask << 8 | start
                count += 1
                previousRuns = 1
                BandEncoder.mark(&presentBits, Int(first), runCounts)
                continue
            }
            let runsBefore = count
            var touched: UInt64 = 0  // up to 6 registers, one byte each
            var touchedCount: UInt64 = 0
            for row in 0..<rows {
                let register = Int((word >> (8 * UInt64(row))) & 0xFF)
                if columnMasks[register] == 0 {
                    touched |= UInt64(register) << (8 * touchedCount)
                    touchedCount += 1
                }
                columnMasks[register] |= UInt8(1 << row)
            }
            for i in 0..<touchedCount {
                let register = Int((touched >> (8 * i)) & 0xFF)
                runs[count] = UInt64(register) | UInt64(columnMasks[register]) << 8 | start
                count += 1
                columnMasks[register] = 0
                BandEncoder.mark(&presentBits, register, runCounts)
            }
            previousRuns = count - runsBefore
        }
        runCount = count
        present = presentBits
    }

    @inline(__always)
    private static func mark(
        _ bits: inout (UInt64, UInt64, UInt64, UInt64), _ register: Int, _ counts: UnsafeMutablePointer<Int32>
    ) {
        counts[register] &+= 1
        let bit = UInt64(1) << UInt64(register & 63)
        switch register >> 6 {
        case 0: bits.0 |= bit
        case 1: bits.1 |= bit
        case 2: bits.2 |= bit
        default: bits.3 |= bit
        }
    }

    /// Calls `body` for every register present in the band, in increasing order.
    @inline(__always)
    private func forEachPresent(_ body: (Int) -> Void) {
        for (wordIndex, word) in [present.0, present.1, present.2, present.3].enumerated() {
            var bits = word
            while bits != 0 {
                let bit = bits.trailingZeroBitCount
                body(wordIndex * 64 + bit)
                bits &= bits &- 1
            }
        }
    }

    /// Counting sort of the runs by register (stable).
    mutating func sortRunsByRegister() {
        var offset: Int32 = 0
        var registers = 0
        forEachPresent { register in
            groupEnds[register] = offset
            offset += runCounts[register]
            registers += 1
        }
        presentCount = registers
        for i in 0..<runCount {
            let run = runs[i]
            let register = Int(run & 0xFF)
            sortedRuns[Int(groupEnds[register])] = run
            groupEnds[register] += 1
        }
    }

    /// Worst-case bytes `write` can produce for this band (plus the band separator).
    var outputBound: Int {
        // Per register: "#nnn" and "$"; each run can flush a gap and a pending run, each at most "!nnnnn" + a
        // character per 32,767 repeated columns.
        let chunksPerRow = width / 32_767 + 1
        return presentCount * (6 + 14 * chunksPerRow) + runCount * 14 + 8
    }

    /// Writes the band: per present register `#n`, its characters, `$` between registers.
    func write(into writer: inout ByteWriter, used: UnsafeMutableBufferPointer<Bool>) {
        var first = true
        forEachPresent { register in
            if !first { writer.put(0x24) }  // "$": back to the band's left edge
            first = false
            used[register] = true
            writer.put(0x23)  // "#"
            writer.putByteDecimal(UInt8(register))
            let end = Int(groupEnds[register])
            let begin = end - Int(runCounts[register])
            runCounts[register] = 0
            var position = 0
            var pendingCharacter: UInt8 = 0
            var pendingLength = 0
            for i in begin..<end {
                let run = sortedRuns[i]
                let start = Int((run >> 14) & 0xFF_FFFF)
                let length = Int(run >> 38)
                let character = UInt8((run >> 8) & 0x3F) &+ 63
                if start == position && character == pendingCharacter {
                    pendingLength += length
                } else {
                    BandEncoder.putRepeated(&writer, pendingCharacter, pendingLength)
                    BandEncoder.putRepeated(&writer, 63, start - position)  // "?" over columns without it
                    pendingCharacter = character
                    pendingLength = length
                }
                position = start + length
            }
            BandEncoder.putRepeated(&writer, pendingCharacter, pendingLength)
        }
    }

    /// `count` copies of a sixel character, as `!n c` when that is shorter (n at most 32,767 per token).
    @inline(__always)
    static func putRepeated(_ writer: inout ByteWriter, _ character: UInt8, _ count: Int) {
        var remaining = count
        while remaining > 3 {
            let chunk = min(remaining, 32_767)
            writer.put(0x21)  // "!"
            writer.putDecimal(chunk)
            writer.put(character)
            remaining -= chunk
        }
        while remaining > 0 {
            writer.put(character)
            remaining -= 1
        }
    }
}
