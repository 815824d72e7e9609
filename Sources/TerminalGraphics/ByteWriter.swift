/// Appends bytes to memory whose capacity the caller has already ensured; the encoders size their output
/// buffers with an upper bound first, so the hot loops carry no capacity checks.
struct ByteWriter {
    let base: UnsafeMutablePointer<UInt8>
    var count: Int = 0
    private let digitTable: UnsafePointer<UInt32>

    init(base: UnsafeMutablePointer<UInt8>) {
        self.base = base
        self.digitTable = DecimalTable.entries
    }

    @inline(__always) mutating func put(_ byte: UInt8) {
        base[count] = byte
        count &+= 1
    }

    @inline(__always) mutating func put(_ a: UInt8, _ b: UInt8) {
        base[count] = a
        base[count &+ 1] = b
        count &+= 2
    }

    @inline(__always) mutating func put(_ a: UInt8, _ b: UInt8, _ c: UInt8) {
        base[count] = a
        base[count &+ 1] = b
        base[count &+ 2] = c
        count &+= 3
    }

    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (base + count).update(from: source, count: bytes.count)
        count &+= bytes.count
    }

    mutating func put(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { put($0) }
    }

    /// Writes 0...255 in decimal from the shared digit table (no division in the hot path).
    @inline(__always) mutating func putByteDecimal(_ value: UInt8) {
        let entry = digitTable[Int(value)]
        let length = Int(entry >> 24)
        base[count] = UInt8(truncatingIfNeeded: entry)
        base[count &+ 1] = UInt8(truncatingIfNeeded: entry >> 8)
        base[count &+ 2] = UInt8(truncatingIfNeeded: entry >> 16)
        count &+= length
    }

    /// Writes a non-negative integer in decimal (negative values are written as 0).
    mutating func putDecimal(_ value: Int) {
        if value >= 0 && value < 256 {
            putByteDecimal(UInt8(value))
            return
        }
        var remaining = value > 0 ? UInt(value) : 0
        let length = ByteWriter.decimalLength(value)
        var index = count + length - 1
        repeat {
            base[index] = UInt8(truncatingIfNeeded: remaining % 10) &+ 48
            remaining /= 10
            index -= 1
        } while remaining > 0
        count &+= length
    }

    /// Number of decimal digits of a non-negative integer.
    static func decimalLength(_ value: Int) -> Int {
        var remaining = max(0, value)
        var length = 1
        while remaining >= 10 {
            remaining /= 10
            length += 1
        }
        return length
    }
}

/// Decimal spellings of 0...255 packed as three ASCII digits (low bytes) and the length (top byte).
enum DecimalTable {
    static let entries: UnsafePointer<UInt32> = {
        let table = UnsafeMutablePointer<UInt32>.allocate(capacity: 256)
        for value in 0..<256 {
            let text = Array(String(value).utf8)
            var entry = UInt32(text.count) << 24
            for (i, digit) in text.enumerated() {
                entry |= UInt32(digit) << (8 * UInt32(i))
            }
            table[value] = entry
        }
        return UnsafePointer(table)
    }()
}

extension Array where Element == UInt8 {
    /// Builds an array by writing at most `capacity` bytes through a `ByteWriter`.
    static func written(capacity: Int, _ body: (inout ByteWriter) -> Void) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Swift.max(capacity, 1)) { buffer, initializedCount in
            guard let base = buffer.baseAddress else {
                initializedCount = 0
                return
            }
            var writer = ByteWriter(base: base)
            body(&writer)
            initializedCount = writer.count
        }
    }
}
