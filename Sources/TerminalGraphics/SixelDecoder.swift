/// A sixel decoder, used by the tests and by `spotter bench render` to score encoders (ours and img2sixel) the same way: parses the DCS header, raster attributes, colour definitions
/// (RGB percent -> round(p * 255 / 100)), register selection, data characters, `!` repeats, `$` and `-`,
/// and records structural faults the encoder must never produce.
package struct SixelDecoder {
    package var introducerParameters: [Int] = []
    package var rasterWidth = -1
    package var rasterHeight = -1
    /// Register definitions in percent, as sent.
    package var definitionPercents: [Int: (Int, Int, Int)] = [:]
    package var pixels: [RGB] = []
    package var paintCounts: [Int] = []
    package var errors: [String] = []
    /// Register rows that ended in `?` (a trailing empty run the encoder should have dropped).
    package var trailingEmptyRuns = 0
    /// Register rows that painted nothing.
    package var emptySelections = 0
    package var bandCount = 0
    package var repeatTokens = 0
    package var terminated = false

    package static func decode(_ bytes: [UInt8]) -> SixelDecoder {
        var decoder = SixelDecoder()
        decoder.run(bytes)
        return decoder
    }

    package static func eightBit(_ percent: Int) -> UInt8 {
        UInt8((min(100, max(0, percent)) * 255 + 50) / 100)
    }

    package func pixel(x: Int, y: Int) -> RGB { pixels[y * rasterWidth + x] }

    private mutating func run(_ bytes: [UInt8]) {
        guard bytes.count >= 4, bytes[0] == 0x1B, bytes[1] == 0x50 else {
            errors.append("missing ESC P")
            return
        }
        var i = 2
        var text: [UInt8] = []
        while i < bytes.count, bytes[i] != 0x71 {
            text.append(bytes[i])
            i += 1
        }
        introducerParameters = String(decoding: text, as: UTF8.self).split(separator: ";").map { Int($0) ?? -1 }
        i += 1

        var x = 0
        var bandTop = 0
        var register: Int?
        var selectedInBand: Set<Int> = []
        var lastCharacter: UInt8?
        var paintedInRow = false

        func number(_ i: inout Int) -> Int {
            var value = 0
            var digits = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                value = value * 10 + Int(bytes[i] - 0x30)
                i += 1
                digits += 1
            }
            return digits == 0 ? -1 : value
        }

        var rowOpen = false

        func endRegisterRow() {
            if rowOpen {
                if lastCharacter == 0x3F { trailingEmptyRuns += 1 }
                if !paintedInRow { emptySelections += 1 }
            }
            rowOpen = false
            lastCharacter = nil
            paintedInRow = false
        }

        while i < bytes.count {
            let byte = bytes[i]
            switch byte {
            case 0x1B:
                endRegisterRow()
                if i + 1 < bytes.count, bytes[i + 1] == 0x5C {
                    terminated = true
                    if i + 2 != bytes.count { errors.append("bytes after the terminator") }
                } else {
                    errors.append("ESC inside sixel data")
                }
                if rasterWidth >= 0 { bandCount = bandTop / 6 + 1 }
                return
            case 0x22:  // raster attributes
                i += 1
                var values: [Int] = []
                values.append(number(&i))
                while i < bytes.count, bytes[i] == 0x3B {
                    i += 1
                    values.append(number(&i))
                }
                guard values.count == 4, values[0] == 1, values[1] == 1, pixels.isEmpty else {
                    errors.append("bad raster attributes \(values)")
                    continue
                }
                rasterWidth = values[2]
                rasterHeight = values[3]
                pixels = Array(repeating: RGB(r: 0, g: 0, b: 0), count: max(0, rasterWidth * rasterHeight))
                paintCounts = Array(repeating: 0, count: pixels.count)
            case 0x23:  // colour introducer
                endRegisterRow()
                i += 1
                let index = number(&i)
                if i < bytes.count, bytes[i] == 0x3B {
                    var values: [Int] = []
                    while i < bytes.count, bytes[i] == 0x3B {
                        i += 1
                        values.append(number(&i))
                    }
                    guard values.count == 4, values[0] == 2, values[1...].allSatisfy({ (0...100).contains($0) }) else {
                        errors.append("bad colour definition \(values)")
                        continue
                    }
                    if definitionPercents[index] != nil { errors.append("register \(index) defined twice") }
                    if index < 0 || index > 255 { errors.append("register \(index) out of range") }
                    definitionPercents[index] = (values[1], values[2], values[3])
                } else {
                    if definitionPercents[index] == nil { errors.append("register \(index) used before definition") }
                    if selectedInBand.contains(index) { errors.append("register \(index) selected twice in a band") }
                    selectedInBand.insert(index)
                    register = index
                    rowOpen = true
                }
            case 0x24:  // "$"
                endRegisterRow()
                x = 0
                i += 1
            case 0x2D:  // "-"
                endRegisterRow()
                x = 0
                bandTop += 6
                selectedInBand = []
                register = nil
                i += 1
            case 0x21:  // "!"
                i += 1
                let count = number(&i)
                guard i < bytes.count, count >= 1 else {
                    errors.append("bad repeat")
                    return
                }
                repeatTokens += 1
                paint(bytes[i], count: count, x: &x, bandTop: bandTop, register: register)
                lastCharacter = bytes[i]
                if bytes[i] != 0x3F { paintedInRow = true }
                i += 1
            case 0x3F...0x7E:
                paint(byte, count: 1, x: &x, bandTop: bandTop, register: register)
                lastCharacter = byte
                if byte != 0x3F { paintedInRow = true }
                i += 1
            default:
                errors.append("unexpected byte \(byte)")
                i += 1
            }
        }
        errors.append("missing terminator")
    }

    private mutating func paint(_ character: UInt8, count: Int, x: inout Int, bandTop: Int, register: Int?) {
        let bits = Int(character) - 63
        guard (0...63).contains(bits) else {
            errors.append("bad sixel character \(character)")
            return
        }
        if bits != 0 {
            guard let register, let percent = definitionPercents[register] else {
                errors.append("pixels without a defined register")
                x += count
                return
            }
            let color = RGB(
                r: SixelDecoder.eightBit(percent.0), g: SixelDecoder.eightBit(percent.1),
                b: SixelDecoder.eightBit(percent.2))
            for column in x..<(x + count) {
                for bit in 0..<6 where bits & (1 << bit) != 0 {
                    let y = bandTop + bit
                    guard column < rasterWidth, y < rasterHeight else {
                        errors.append("pixel outside the raster at \(column),\(y)")
                        continue
                    }
                    pixels[y * rasterWidth + column] = color
                    paintCounts[y * rasterWidth + column] += 1
                }
            }
        }
        x += count
    }
}
