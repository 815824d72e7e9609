import Foundation

/// A parsed JSON value. Integers without fraction or exponent stay exact (`.int`); everything else numeric is `.double`.
/// Used for safetensors headers, configs and tokenizer files, where exact integers and speed on multi-megabyte
/// files both matter.
package enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses UTF-8 JSON text (one value, surrounded by optional whitespace).
    package static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes.bindMemory(to: UInt8.self))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw JSONParseError(offset: parser.index, reason: "trailing characters") }
        return value
    }

    /// Parses JSON from `data`.
    package static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { try parse($0) }
    }

    /// Member of an object, or nil.
    package subscript(key: String) -> JSONValue? {
        if case let .object(o) = self { return o[key] }
        return nil
    }

    /// The value as an object, or nil.
    package var object: [String: JSONValue]? { if case let .object(o) = self { return o } else { return nil } }
    /// The value as an array, or nil.
    package var array: [JSONValue]? { if case let .array(a) = self { return a } else { return nil } }
    /// The value as a string, or nil.
    package var string: String? { if case let .string(s) = self { return s } else { return nil } }
    /// The value as a bool, or nil.
    package var bool: Bool? { if case let .bool(b) = self { return b } else { return nil } }
    /// The value as an exact integer (also a double with no fraction), or nil.
    package var int: Int? {
        switch self {
        case let .int(i): return i
        case let .double(d) where d == d.rounded() && abs(d) < 9.0e15: return Int(d)
        default: return nil
        }
    }
    /// The value as a number, or nil.
    package var double: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: return nil
        }
    }
    /// True for `null`.
    package var isNull: Bool { self == .null }
}

/// Where and why JSON text failed to parse.
package struct JSONParseError: Error, CustomStringConvertible {
    /// Byte offset of the problem.
    package let offset: Int
    /// What was wrong.
    package let reason: String
    package var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func skipWhitespace() {
        while index < bytes.count {
            let c = bytes[index]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { index += 1 } else { break }
        }
    }

    func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: index, reason: reason) }

    mutating func parseValue(depth: Int) throws -> JSONValue {
        guard depth < 512 else { throw fail("nesting too deep") }
        guard index < bytes.count else { throw fail("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var dict: [String: JSONValue] = [:]
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(dict)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try parseString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                index += 1
                skipWhitespace()
                dict[key] = try parseValue(depth: depth + 1)
                skipWhitespace()
                guard index < bytes.count else { throw fail("unterminated object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(dict)
                }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            index += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard index < bytes.count else { throw fail("unterminated array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(items)
                }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            return try parseNumber()
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard index + n <= bytes.count else { throw fail("unexpected end") }
        for i in 0..<n where bytes[index + i] != word.utf8Start[i] { throw fail("invalid literal") }
        index += n
    }

    mutating func parseNumber() throws -> JSONValue {
        let start = index
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let digitsStart = index
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
        guard index > digitsStart else { throw fail("invalid value") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            let f = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            guard index > f else { throw fail("invalid number") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            let e = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            guard index > e else { throw fail("invalid exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let i = Int(text) { return .int(i) }
        guard let d = Double(text) else { throw fail("invalid number") }
        return .double(d)
    }

    mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            index += 1
            v <<= 4
            switch c {
            case 0x30...0x39: v |= UInt32(c - 0x30)
            case 0x41...0x46: v |= UInt32(c - 0x41 + 10)
            case 0x61...0x66: v |= UInt32(c - 0x61 + 10)
            default: throw fail("bad hex digit")
            }
        }
        return v
    }

    mutating func appendScalar(_ v: UInt32) {
        if let s = Unicode.Scalar(v) {
            scratch.append(contentsOf: UTF8.encode(s)!)
        } else {
            scratch.append(contentsOf: [0xEF, 0xBF, 0xBD])
        }
    }

    mutating func parseString() throws -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes.
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            guard c >= 0x20 else { throw fail("control character in string") }
            index += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let c = bytes[index]
            index += 1
            if c == UInt8(ascii: "\"") { return String(decoding: scratch, as: UTF8.self) }
            if c != UInt8(ascii: "\\") {
                guard c >= 0x20 else { throw fail("control character in string") }
                scratch.append(c)
                continue
            }
            guard index < bytes.count else { break }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""): scratch.append(0x22)
            case UInt8(ascii: "\\"): scratch.append(0x5C)
            case UInt8(ascii: "/"): scratch.append(0x2F)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                let hi = try hex4()
                if hi >= 0xD800, hi < 0xDC00, index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u")
                {
                    let save = index
                    index += 2
                    let lo = try hex4()
                    if lo >= 0xDC00, lo < 0xE000 {
                        appendScalar(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                    } else {
                        index = save
                        appendScalar(0xFFFD)
                    }
                } else {
                    appendScalar(hi)
                }
            default: throw fail("bad escape")
            }
        }
        throw fail("unterminated string")
    }
}
