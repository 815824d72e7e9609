/// A small, strict XML tokenizer for the CVAT files: elements, attributes, text, the five predefined entities and
/// character references, comments, CDATA and processing instructions (skipped). Invalid UTF-8 is replaced, never
/// trusted; every error names its line. (Foundation's XMLParser on Linux crashes on some malformed input.)
struct XMLEventReader {
    enum Event: Equatable {
        case start(name: String, attributes: [String: String], line: Int)
        case end(name: String, line: Int)
        case text(String)
    }

    private let bytes: [UInt8]
    private let path: String
    private var position = 0
    private(set) var line = 1
    private var open: [String] = []
    private var pendingEnd: (String, Int)?
    private var sawRoot = false
    /// Deepest element nesting read.
    static let maximumDepth = 256

    init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    private func fail(_ reason: String) -> AnnotationError { .malformed(path: path, line: line, reason: reason) }

    private mutating func advance(_ count: Int = 1) {
        for _ in 0..<count where position < bytes.count {
            if bytes[position] == 0x0A { line += 1 }
            position += 1
        }
    }

    private func starts(with text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        for i in 0..<count where bytes[position + i] != text.utf8Start[i] { return false }
        return true
    }

    private mutating func skip(until terminator: StaticString, what: String) throws {
        while position < bytes.count {
            if starts(with: terminator) {
                advance(terminator.utf8CodeUnitCount)
                return
            }
            advance()
        }
        throw fail("unterminated \(what)")
    }

    /// The next event, or nil at the end of a well-formed document.
    mutating func next() throws -> Event? {
        if let (name, line) = pendingEnd {
            pendingEnd = nil
            return .end(name: name, line: line)
        }
        while position < bytes.count {
            if bytes[position] != UInt8(ascii: "<") {
                let text = try readText()
                if open.isEmpty {
                    guard text.allSatisfy({ $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }) else {
                        throw fail("text outside the root element")
                    }
                    continue
                }
                return .text(text)
            }
            if starts(with: "<?") {
                try skip(until: "?>", what: "processing instruction")
            } else if starts(with: "<!--") {
                try skip(until: "-->", what: "comment")
            } else if starts(with: "<![CDATA[") {
                advance(9)
                let start = position
                try skip(until: "]]>", what: "CDATA section")
                guard !open.isEmpty else { throw fail("CDATA outside the root element") }
                return .text(String(decoding: bytes[start..<(position - 3)], as: UTF8.self))
            } else if starts(with: "<!") {
                throw fail("document type declarations are not supported")
            } else if starts(with: "</") {
                advance(2)
                let name = try readName()
                skipSpace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ">") else {
                    throw fail("expected '>' after </\(name)")
                }
                advance()
                guard let expected = open.popLast() else { throw fail("unexpected </\(name)>") }
                guard expected == name else { throw fail("</\(name)> closes <\(expected)>") }
                return .end(name: name, line: line)
            } else {
                return try readStartTag()
            }
        }
        if let unclosed = open.last { throw fail("the file ends inside <\(unclosed)>") }
        guard sawRoot else { throw fail("no XML element found") }
        return nil
    }

    private mutating func readStartTag() throws -> Event {
        let tagLine = line
        advance()
        let name = try readName()
        guard open.isEmpty ? !sawRoot : true else { throw fail("a second root element <\(name)>") }
        var attributes: [String: String] = [:]
        while true {
            let hadSpace = skipSpace()
            guard position < bytes.count else { throw fail("the file ends inside <\(name)>") }
            if bytes[position] == UInt8(ascii: ">") {
                advance()
                // CVAT files nest four deep; a document nested deeper than this is not one.
                guard open.count < Self.maximumDepth else { throw fail("elements nested deeper than \(Self.maximumDepth)") }
                open.append(name)
                sawRoot = true
                return .start(name: name, attributes: attributes, line: tagLine)
            }
            if starts(with: "/>") {
                advance(2)
                sawRoot = true
                pendingEnd = (name, line)
                return .start(name: name, attributes: attributes, line: tagLine)
            }
            guard hadSpace else { throw fail("expected a space before an attribute of <\(name)>") }
            let key = try readName()
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "=") else {
                throw fail("attribute \(key) of <\(name)> has no value")
            }
            advance()
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") || bytes[position] == UInt8(ascii: "'")
            else { throw fail("attribute \(key) of <\(name)> must be quoted") }
            let quote = bytes[position]
            advance()
            let start = position
            while position < bytes.count, bytes[position] != quote {
                guard bytes[position] != UInt8(ascii: "<") else { throw fail("'<' inside attribute \(key)") }
                advance()
            }
            guard position < bytes.count else { throw fail("unterminated attribute \(key) of <\(name)>") }
            let raw = Array(bytes[start..<position])
            advance()
            guard attributes[key] == nil else { throw fail("attribute \(key) repeated in <\(name)>") }
            attributes[key] = try decodeEntities(raw)
        }
    }

    private mutating func readText() throws -> String {
        let start = position
        while position < bytes.count, bytes[position] != UInt8(ascii: "<") { advance() }
        return try decodeEntities(Array(bytes[start..<position]))
    }

    @discardableResult
    private mutating func skipSpace() -> Bool {
        var skipped = false
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) {
            advance()
            skipped = true
        }
        return skipped
    }

    private mutating func readName() throws -> String {
        let start = position
        while position < bytes.count {
            let b = bytes[position]
            let isNameByte =
                (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
                || b == UInt8(ascii: ".") || b == UInt8(ascii: ":") || b >= 0x80
            if !isNameByte { break }
            advance()
        }
        guard position > start else { throw fail("expected a name") }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private func decodeEntities(_ raw: [UInt8]) throws -> String {
        guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            guard raw[i] == UInt8(ascii: "&") else {
                out.append(raw[i])
                i += 1
                continue
            }
            guard let semicolon = raw[i...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
                throw fail("'&' without an entity")
            }
            let entity = String(decoding: raw[(i + 1)..<semicolon], as: UTF8.self)
            switch entity {
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "amp": out.append(UInt8(ascii: "&"))
            case "quot": out.append(UInt8(ascii: "\""))
            case "apos": out.append(UInt8(ascii: "'"))
            default:
                var value: UInt32?
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    value = UInt32(entity.dropFirst(2), radix: 16)
                } else if entity.hasPrefix("#") {
                    value = UInt32(entity.dropFirst())
                }
                guard let code = value, code > 0, let scalar = Unicode.Scalar(code) else {
                    throw fail("unknown entity &\(entity);")
                }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            }
            i = semicolon + 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
