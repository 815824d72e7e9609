import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Encodes packed RGB24 pixels as an 8-bit truecolour PNG and writes it atomically.
///
/// Self-contained: each row gets the PNG filter (None/Sub/Up/Average/Paeth) with the smallest sum
/// of absolute values, and the filtered data is compressed with a single-pass LZ77 matcher into
/// one fixed-Huffman DEFLATE block inside a zlib stream.
package enum PNGWriter {
    /// The PNG file bytes for `width` x `height` RGB pixels (`rgb.count == width * height * 3`).
    package static func encode(width: Int, height: Int, rgb: [UInt8]) throws -> [UInt8] {
        guard VideoSource.acceptsSize(width: width, height: height) else {
            throw MediaError.invalidImageBuffer(path: "(PNG in memory)", reason: "size \(width)x\(height) is not allowed")
        }
        guard rgb.count == width * height * 3 else {
            throw MediaError.invalidImageBuffer(
                path: "(PNG in memory)",
                reason: "\(rgb.count) bytes given, \(width)x\(height) RGB needs \(width * height * 3)")
        }
        let filtered = filterRows(width: width, height: height, rgb: rgb)
        var zlib: [UInt8] = [0x78, 0x01]
        zlib.append(contentsOf: Deflater.compressFixedHuffman(filtered))
        appendBigEndian(adler32(filtered), to: &zlib)

        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        appendBigEndian(UInt32(width), to: &header)
        appendBigEndian(UInt32(height), to: &header)
        header.append(contentsOf: [8, 2, 0, 0, 0])  // 8 bits, truecolour, deflate, adaptive filter, no interlace
        appendChunk("IHDR", header, to: &png)
        appendChunk("IDAT", zlib, to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// Encodes and writes a PNG to `path` through a temporary file in the same directory that is
    /// renamed into place, so readers never see a partial file.
    package static func write(path: String, width: Int, height: Int, rgb: [UInt8]) throws {
        let bytes: [UInt8]
        do {
            bytes = try encode(width: width, height: height, rgb: rgb)
        } catch MediaError.invalidImageBuffer(_, let reason) {
            throw MediaError.invalidImageBuffer(path: path, reason: reason)
        }
        try writeAtomically(bytes, to: path)
    }

    /// Writes a decoded frame as a PNG.
    package static func write(_ frame: Frame, to path: String) throws {
        try write(path: path, width: frame.width, height: frame.height, rgb: frame.pixels)
    }

    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = "\(directory)/.\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else {
            throw MediaError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        var written = 0
        var failure: Int32 = 0
        bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let result = systemWrite(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                written += result
            }
        }
        if failure == 0, fsync(descriptor) != 0 { failure = errno }
        if close(descriptor) != 0, failure == 0 { failure = errno }
        if failure == 0, rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw MediaError.writeFailed(path: path, reason: String(cString: strerror(failure)))
        }
    }

    private static func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
            return Glibc.write(descriptor, bytes, count)
        #else
            return Darwin.write(descriptor, bytes, count)
        #endif
    }

    // MARK: - Filtering

    /// Each output row is one filter-type byte followed by the filtered row.
    private static func filterRows(width: Int, height: Int, rgb: [UInt8]) -> [UInt8] {
        let rowBytes = width * 3
        let outputRow = rowBytes + 1
        var output = [UInt8](repeating: 0, count: outputRow * height)
        var candidates = [UInt8](repeating: 0, count: rowBytes * 5)
        let zeroRow = [UInt8](repeating: 0, count: rowBytes)
        rgb.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                candidates.withUnsafeMutableBufferPointer { scratch in
                    zeroRow.withUnsafeBufferPointer { zeros in
                        for y in 0..<height {
                            let row = source.baseAddress! + y * rowBytes
                            let above = y > 0 ? source.baseAddress! + (y - 1) * rowBytes : zeros.baseAddress!
                            let best = filterRow(row: row, above: above, rowBytes: rowBytes, scratch: scratch.baseAddress!)
                            let destination = target.baseAddress! + y * outputRow
                            destination[0] = UInt8(best)
                            (destination + 1).update(from: scratch.baseAddress! + best * rowBytes, count: rowBytes)
                        }
                    }
                }
            }
        }
        return output
    }

    /// Fills the five filtered versions of a row into `scratch` and returns the filter type with
    /// the smallest sum of absolute (signed) values.
    private static func filterRow(
        row: UnsafePointer<UInt8>, above: UnsafePointer<UInt8>, rowBytes: Int, scratch: UnsafeMutablePointer<UInt8>
    ) -> Int {
        var sums = [Int](repeating: 0, count: 5)
        for i in 0..<rowBytes {
            let x = row[i]
            let a = i >= 3 ? row[i - 3] : 0
            let b = above[i]
            let c = i >= 3 ? above[i - 3] : 0
            let values: (UInt8, UInt8, UInt8, UInt8, UInt8) = (
                x,
                x &- a,
                x &- b,
                x &- UInt8((UInt16(a) + UInt16(b)) >> 1),
                x &- paeth(a, b, c)
            )
            scratch[i] = values.0
            scratch[rowBytes + i] = values.1
            scratch[2 * rowBytes + i] = values.2
            scratch[3 * rowBytes + i] = values.3
            scratch[4 * rowBytes + i] = values.4
            sums[0] += Int(Int8(bitPattern: values.0).magnitude)
            sums[1] += Int(Int8(bitPattern: values.1).magnitude)
            sums[2] += Int(Int8(bitPattern: values.2).magnitude)
            sums[3] += Int(Int8(bitPattern: values.3).magnitude)
            sums[4] += Int(Int8(bitPattern: values.4).magnitude)
        }
        var best = 0
        for filter in 1..<5 where sums[filter] < sums[best] { best = filter }
        return best
    }

    @inline(__always)
    private static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a))
        let pb = abs(p - Int(b))
        let pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    // MARK: - Chunks and checksums

    private static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        appendBigEndian(UInt32(data.count), to: &png)
        let typeBytes = Array(type.utf8)
        png.append(contentsOf: typeBytes)
        png.append(contentsOf: data)
        var crc = CRC32.update(0xFFFF_FFFF, typeBytes)
        crc = CRC32.update(crc, data)
        appendBigEndian(crc ^ 0xFFFF_FFFF, to: &png)
    }

    private static func appendBigEndian(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        data.withUnsafeBufferPointer { buffer in
            var index = 0
            while index < buffer.count {
                // 5552 bytes is the longest run before the sums can overflow 32 bits.
                let end = min(index + 5552, buffer.count)
                while index < end {
                    a &+= UInt32(buffer[index])
                    b &+= a
                    index += 1
                }
                a %= 65521
                b %= 65521
            }
        }
        return (b << 16) | a
    }
}

/// CRC-32 (ISO 3309, as PNG uses it).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func update(_ crc: UInt32, _ bytes: [UInt8]) -> UInt32 {
        var c = crc
        table.withUnsafeBufferPointer { table in
            for byte in bytes { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        }
        return c
    }
}

/// A small DEFLATE compressor: greedy LZ77 with hash chains, one fixed-Huffman block.
enum Deflater {
    private static let windowSize = 32768
    private static let minimumMatch = 3
    private static let maximumMatch = 258
    private static let maximumChainSteps = 16
    /// A match this long is taken without looking further down the chain.
    private static let niceLength = 64
    private static let hashBits = 15

    private static let lengthBase: [UInt16] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
    ]
    private static let lengthExtraBits: [UInt8] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ]
    private static let distanceBase: [UInt16] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
        6145, 8193, 12289, 16385, 24577,
    ]
    private static let distanceExtraBits: [UInt8] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
    ]

    /// For every match length 3...258: its complete fixed-Huffman encoding (length symbol, then
    /// extra bits) as one bit string, low bits first, and its bit count.
    private static let lengthEncodings: [(bits: UInt32, count: UInt8)] = {
        var table = [(bits: UInt32, count: UInt8)](repeating: (0, 0), count: maximumMatch + 1)
        for code in 0..<29 {
            let upper = code == 28 ? 258 : Int(lengthBase[code + 1]) - 1
            for length in Int(lengthBase[code])...min(upper, 258) {
                let symbol = literalCode(257 + code)
                let extra = UInt32(length - Int(lengthBase[code]))
                table[length] = (
                    symbol.bits | extra << UInt32(symbol.count), symbol.count + lengthExtraBits[code]
                )
            }
        }
        return table
    }()

    /// For every literal byte: its fixed-Huffman code, bit-reversed for LSB-first output.
    private static let literalEncodings: [(bits: UInt32, count: UInt8)] = (0..<256).map(literalCode)

    /// For distances 1...32768: the distance code index (via the usual two-level table).
    private static let distanceCodeForSmall: [UInt8] = (0..<256).map { distance in distanceCode(distance + 1) }
    private static let distanceCodeForLarge: [UInt8] = (0..<256).map { slot in distanceCode((slot << 7) + 1) }

    private static func distanceCode(_ distance: Int) -> UInt8 {
        var code = 29
        while Int(distanceBase[code]) > distance { code -= 1 }
        return UInt8(code)
    }

    private static func literalCode(_ symbol: Int) -> (bits: UInt32, count: UInt8) {
        let (code, length): (Int, Int)
        switch symbol {
        case 0...143: (code, length) = (0x30 + symbol, 8)
        case 144...255: (code, length) = (0x190 + symbol - 144, 9)
        case 256...279: (code, length) = (symbol - 256, 7)
        default: (code, length) = (0xC0 + symbol - 280, 8)
        }
        return (reverse(UInt32(code), bits: length), UInt8(length))
    }

    private static func reverse(_ value: UInt32, bits: Int) -> UInt32 {
        var result: UInt32 = 0
        var input = value
        for _ in 0..<bits {
            result = (result << 1) | (input & 1)
            input >>= 1
        }
        return result
    }

    /// LSB-first bit packer writing into a buffer sized for the worst case.
    private struct BitWriter {
        let output: UnsafeMutablePointer<UInt8>
        var written = 0
        var buffer: UInt64 = 0
        var count: UInt64 = 0

        @inline(__always)
        mutating func write(_ value: UInt32, bits: UInt8) {
            buffer |= UInt64(value) << count
            count += UInt64(bits)
            if count >= 32 {
                output[written] = UInt8(truncatingIfNeeded: buffer)
                output[written + 1] = UInt8(truncatingIfNeeded: buffer >> 8)
                output[written + 2] = UInt8(truncatingIfNeeded: buffer >> 16)
                output[written + 3] = UInt8(truncatingIfNeeded: buffer >> 24)
                written += 4
                buffer >>= 32
                count -= 32
            }
        }

        mutating func finish() {
            while count > 0 {
                output[written] = UInt8(truncatingIfNeeded: buffer)
                written += 1
                buffer >>= 8
                count = count > 8 ? count - 8 : 0
            }
        }
    }

    /// One final fixed-Huffman DEFLATE block holding all of `input`.
    static func compressFixedHuffman(_ input: [UInt8]) -> [UInt8] {
        let count = input.count
        // Literals cost at most 9 bits; matches cost less than their literals would.
        let bound = count * 9 / 8 + 16
        var output = [UInt8](repeating: 0, count: bound)
        let hashSize = 1 << hashBits
        var head = [Int32](repeating: -1, count: hashSize)
        var previous = [Int32](repeating: -1, count: windowSize)
        let literals = literalEncodings
        let lengths = lengthEncodings
        let smallDistances = distanceCodeForSmall
        let largeDistances = distanceCodeForLarge
        let distanceBases = distanceBase
        let distanceExtras = distanceExtraBits
        let endOfBlock = literalCode(256)
        let chainLimit = maximumChainSteps
        let niceMatch = niceLength
        let window = windowSize
        let shift = UInt32(32 - hashBits)

        let written = output.withUnsafeMutableBufferPointer { outputBuffer -> Int in
            var writer = BitWriter(output: outputBuffer.baseAddress!)
            writer.write(1, bits: 1)  // final block
            writer.write(1, bits: 2)  // fixed Huffman codes
            input.withUnsafeBufferPointer { dataBuffer in
                head.withUnsafeMutableBufferPointer { headBuffer in
                    previous.withUnsafeMutableBufferPointer { previousBuffer in
                        guard let data = dataBuffer.baseAddress else { return }
                        let head = headBuffer.baseAddress!
                        let previous = previousBuffer.baseAddress!
                        @inline(__always) func hash(_ position: Int) -> Int {
                            let value =
                                UInt32(data[position]) | UInt32(data[position + 1]) << 8 | UInt32(data[position + 2]) << 16
                            return Int((value &* 2_654_435_761) >> shift)
                        }
                        var position = 0
                        while position < count {
                            var bestLength = 0
                            var bestDistance = 0
                            if position + minimumMatch <= count {
                                let limit = min(maximumMatch, count - position)
                                let bucket = hash(position)
                                var candidate = Int(head[bucket])
                                var steps = 0
                                while candidate >= 0, position - candidate <= window, steps < chainLimit {
                                    if data[candidate + bestLength] == data[position + bestLength] {
                                        var length = 0
                                        while length + 8 <= limit {
                                            let a = UnsafeRawPointer(data + candidate + length).loadUnaligned(as: UInt64.self)
                                            let b = UnsafeRawPointer(data + position + length).loadUnaligned(as: UInt64.self)
                                            let difference = a ^ b
                                            if difference != 0 {
                                                length += difference.trailingZeroBitCount >> 3
                                                break
                                            }
                                            length += 8
                                        }
                                        if length + 8 > limit {
                                            while length < limit, data[candidate + length] == data[position + length] {
                                                length += 1
                                            }
                                        }
                                        if length > bestLength {
                                            bestLength = length
                                            bestDistance = position - candidate
                                            if length >= min(limit, niceMatch) { break }
                                        }
                                    }
                                    let next = Int(previous[candidate & (window - 1)])
                                    if next >= candidate { break }
                                    candidate = next
                                    steps += 1
                                }
                                previous[position & (window - 1)] = head[bucket]
                                head[bucket] = Int32(position)
                            }
                            if bestLength >= minimumMatch {
                                let lengthCode = lengths[bestLength]
                                writer.write(lengthCode.bits, bits: lengthCode.count)
                                let code = Int(
                                    bestDistance <= 256
                                        ? smallDistances[bestDistance - 1] : largeDistances[(bestDistance - 1) >> 7])
                                // Distance codes are 5 bits, reversed; the extra bits follow.
                                let reversedCode = reverse(UInt32(code), bits: 5)
                                writer.write(reversedCode, bits: 5)
                                let extra = distanceExtras[code]
                                if extra > 0 {
                                    writer.write(UInt32(bestDistance - Int(distanceBases[code])), bits: extra)
                                }
                                let end = position + bestLength
                                position += 1
                                while position < end {
                                    if position + minimumMatch <= count {
                                        let bucket = hash(position)
                                        previous[position & (window - 1)] = head[bucket]
                                        head[bucket] = Int32(position)
                                    }
                                    position += 1
                                }
                            } else {
                                let literal = literals[Int(data[position])]
                                writer.write(literal.bits, bits: literal.count)
                                position += 1
                            }
                        }
                    }
                }
            }
            writer.write(endOfBlock.bits, bits: endOfBlock.count)
            writer.finish()
            return writer.written
        }
        output.removeSubrange(written...)
        return output
    }
}
