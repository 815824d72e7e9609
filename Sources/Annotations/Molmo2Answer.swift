import Foundation

// MARK: - Answer syntax tree (0–1000 coordinates, exactly as written)

/// One point of a `<points>`/`<tracks>` group on the 0–1000 scale: an id (point number in `<points>`, object
/// identity in `<tracks>`) and x, y.
package struct NormalizedPoint: Equatable, Hashable, Sendable {
    package var id: Int
    package var x: Int
    package var y: Int

    package init(id: Int, x: Int, y: Int) {
        self.id = id
        self.x = x
        self.y = y
    }
}

/// One `key id x y id x y …` group: the key is a 1-based image index or a timestamp in seconds.
package struct CoordinateGroup: Equatable, Sendable {
    /// A 1-based image index (`1`, `3`) or a timestamp in seconds (`0.5`); a key with a decimal point is a time.
    package enum Key: Equatable, Hashable, Sendable {
        case image(Int)
        case time(Double)
    }

    package var key: Key
    package var points: [NormalizedPoint]

    package init(key: Key, points: [NormalizedPoint]) {
        self.key = key
        self.points = points
    }
}

/// A `<points coords="…">label</points>` or `<tracks …>` element.
package struct CoordinateElement: Equatable, Sendable {
    /// `<points>` (ids enumerate points) or `<tracks>` (ids are object identities).
    package enum Kind: String, Sendable {
        case points
        case tracks
    }

    package var kind: Kind
    package var label: String
    package var groups: [CoordinateGroup]
    /// False when the answer was cut off inside the element (only the complete groups are kept).
    package var isComplete: Bool

    package init(kind: Kind, label: String, groups: [CoordinateGroup], isComplete: Bool = true) {
        self.kind = kind
        self.label = label
        self.groups = groups
        self.isComplete = isComplete
    }

    package var pointCount: Int { groups.reduce(0) { $0 + $1.points.count } }
}

/// A parsed Molmo2 answer (molmo2-spec §8): which sentence form it used, its coordinate elements, and what the
/// parser had to drop.
package struct Molmo2Answer: Equatable, Sendable {
    package enum Form: Equatable, Sendable {
        /// `There are none.`
        case none
        /// `No tracks available.`
        case noTracks
        /// A bare number (`video_count`, `multi_image_counting`).
        case count(Int)
        /// Just the element.
        case element
        /// `Counting the <points …>label</points> shows a total of N.`
        case countingSentence(Int)
        /// `There are N <points …>label</points>.`
        case thereAre(Int)
        /// Anything else (kept verbatim; elements found inside are still parsed).
        case text(String)
    }

    package var form: Form
    package var elements: [CoordinateElement]
    /// What the parser dropped or ignored, in words (incomplete trailing group, out-of-range coordinates, …).
    package var diagnostics: [String]

    package init(form: Form, elements: [CoordinateElement] = [], diagnostics: [String] = []) {
        self.form = form
        self.elements = elements
        self.diagnostics = diagnostics
    }

    package var pointCount: Int { elements.reduce(0) { $0 + $1.pointCount } }

    /// The number the answer states (0 for `There are none.`), if any.
    package var statedCount: Int? {
        switch form {
        case .none, .noTracks: return 0
        case .count(let n), .countingSentence(let n), .thereAre(let n): return n
        case .element, .text: return nil
        }
    }

    /// Whether the answer was cut off inside an element.
    package var isTruncated: Bool { elements.contains { !$0.isComplete } }
}

// MARK: - Canonical text

extension Molmo2Answer {
    /// The canonical text: `;` separators, `%03d` coordinates, one-decimal timestamps, the sentence of `form`.
    package var text: String {
        let element = elements.first.map(Molmo2Answer.render) ?? ""
        switch form {
        case .none: return "There are none."
        case .noTracks: return "No tracks available."
        case .count(let n): return String(n)
        case .element: return elements.map(Molmo2Answer.render).joined(separator: " ")
        case .countingSentence(let n): return "Counting the \(element) shows a total of \(n)."
        case .thereAre(let n): return "There are \(n) \(element)."
        case .text(let raw): return raw
        }
    }

    /// Renders one element canonically.
    package static func render(_ element: CoordinateElement) -> String {
        var out = "<\(element.kind.rawValue) coords=\""
        for (g, group) in element.groups.enumerated() {
            if g > 0 { out += ";" }
            out += renderKey(group.key)
            for point in group.points {
                out += " \(point.id) \(pad3(point.x)) \(pad3(point.y))"
            }
        }
        out += "\">\(element.label)</\(element.kind.rawValue)>"
        return out
    }

    static func renderKey(_ key: CoordinateGroup.Key) -> String {
        switch key {
        case .image(let index): return String(index)
        case .time(let t): return formatTime(t)
        }
    }

    /// Python `%0.1f` of a time (round half to even on the binary value, as printf does).
    static func formatTime(_ t: Double) -> String {
        guard t.isFinite else { return "0.0" }
        return String(format: "%.1f", t)
    }

    static func pad3(_ value: Int) -> String {
        if value >= 100 || value < 0 { return String(value) }
        if value >= 10 { return "0" + String(value) }
        return "00" + String(value)
    }
}

// MARK: - Parsing

extension Molmo2Answer {
    /// Parses any answer form of molmo2-spec §8, accepting the legacy group separators (TAB, `:`, `,`) and keeping
    /// the complete groups of an answer that was cut off. Never fails: unparseable text becomes `.text`.
    package static func parse(_ answer: String) -> Molmo2Answer {
        let trimmed = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        let lower = trimmed.lowercased()
        if lower == "there are none." || lower == "there are none" { return Molmo2Answer(form: .none) }
        if lower == "no tracks available." || lower == "no tracks available" { return Molmo2Answer(form: .noTracks) }
        if let n = wholeInteger(trimmed.hasSuffix(".") ? String(trimmed.dropLast()) : trimmed) {
            return Molmo2Answer(form: .count(n))
        }
        var diagnostics: [String] = []
        let scanned = scanElements(Array(trimmed.utf8), diagnostics: &diagnostics)
        guard let first = scanned.first else { return Molmo2Answer(form: .text(answer), diagnostics: diagnostics) }
        let bytes = Array(trimmed.utf8)
        let before = String(decoding: bytes[0..<first.range.lowerBound], as: UTF8.self)
            .trimmingCharacters(in: .whitespaces)
        let after = String(decoding: bytes[scanned[scanned.count - 1].range.upperBound...], as: UTF8.self)
            .trimmingCharacters(in: .whitespaces)
        let elements = scanned.map(\.element)
        let form: Form
        if scanned.count == 1, before.lowercased() == "counting the",
            let n = countAfter(prefix: "shows a total of ", in: after)
        {
            form = .countingSentence(n)
        } else if scanned.count == 1, before.lowercased().hasPrefix("there are "),
            let n = wholeInteger(String(before.dropFirst("there are ".count))), after == "." || after.isEmpty
        {
            form = .thereAre(n)
        } else if before.isEmpty && after.isEmpty {
            form = .element
        } else if !first.element.isComplete && before.isEmpty {
            form = .element
        } else {
            form = .text(answer)
        }
        return Molmo2Answer(form: form, elements: elements, diagnostics: diagnostics)
    }

    /// The predicted count of a video counting answer by the Molmo2 evaluator's rules (§10.3): the whole answer as an
    /// integer, else "a total of N", else "the total number … is: N"; `There are none.` counts as 0 here (the
    /// reference evaluator's regex misses it).
    package static func countPrediction(_ answer: String) -> Int? {
        var text = answer.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if text.hasSuffix(".") { text.removeLast() }
        if let n = wholeInteger(text) { return n }
        if text == "there are none" { return 0 }
        if let range = text.range(of: "a total of ") {
            return leadingInteger(text[range.upperBound...])
        }
        if let start = text.range(of: "the total number"), let colon = text.range(of: "is:", range: start.upperBound..<text.endIndex) {
            return leadingInteger(text[colon.upperBound...].drop { $0 == " " })
        }
        return nil
    }

    private static func wholeInteger(_ text: String) -> Int? {
        guard !text.isEmpty, text.count <= 12, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    private static func leadingInteger<S: StringProtocol>(_ text: S) -> Int? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 12 else { return nil }
        return Int(digits)
    }

    private static func countAfter(prefix: String, in text: String) -> Int? {
        guard text.lowercased().hasPrefix(prefix) else { return nil }
        var rest = text.dropFirst(prefix.count)
        if rest.hasSuffix(".") { rest = rest.dropLast() }
        return wholeInteger(String(rest))
    }

    private struct ScannedElement {
        var element: CoordinateElement
        var range: Range<Int>
    }

    private static func scanElements(_ bytes: [UInt8], diagnostics: inout [String]) -> [ScannedElement] {
        var out: [ScannedElement] = []
        var position = 0
        while let (start, kind) = findOpening(bytes, from: position) {
            // ` coords="` before the end of the opening tag.
            var cursor = start + 1 + kind.rawValue.utf8.count
            let marker = Array(" coords=\"".utf8)
            var coordsStart: Int?
            while cursor < bytes.count, bytes[cursor] != UInt8(ascii: ">") {
                if matches(bytes, at: cursor, marker) {
                    coordsStart = cursor + marker.count
                    break
                }
                cursor += 1
            }
            guard let runStart = coordsStart else {
                if cursor >= bytes.count {
                    // Cut off before `coords="`: an element with no complete group.
                    out.append(
                        ScannedElement(
                            element: CoordinateElement(kind: kind, label: "", groups: [], isComplete: false),
                            range: start..<bytes.count))
                    diagnostics.append("answer ends inside a <\(kind.rawValue)> tag")
                    return out
                }
                diagnostics.append("<\(kind.rawValue)> without coords ignored")
                position = cursor
                continue
            }
            var runEnd = runStart
            while runEnd < bytes.count, isCoordinateByte(bytes[runEnd]) { runEnd += 1 }
            let closed = runEnd < bytes.count && bytes[runEnd] == UInt8(ascii: "\"")
            var groups = parseGroups(bytes[runStart..<runEnd], lastGroupComplete: closed, diagnostics: &diagnostics)
            var element = CoordinateElement(kind: kind, label: "", groups: [], isComplete: false)
            var end = runEnd
            if closed {
                var tagEnd = runEnd + 1
                if tagEnd < bytes.count, bytes[tagEnd] == UInt8(ascii: "/") { tagEnd += 1 }
                if tagEnd < bytes.count, bytes[tagEnd] == UInt8(ascii: ">") {
                    let labelStart = tagEnd + 1
                    let closing = Array("</\(kind.rawValue)>".utf8)
                    var labelEnd = labelStart
                    while labelEnd < bytes.count, !matches(bytes, at: labelEnd, closing),
                        bytes[labelEnd] != UInt8(ascii: "<")
                    {
                        labelEnd += 1
                    }
                    element.label = String(decoding: bytes[labelStart..<labelEnd], as: UTF8.self)
                    if matches(bytes, at: labelEnd, closing) {
                        element.isComplete = true
                        end = labelEnd + closing.count
                    } else {
                        // Closing tag missing or cut off: the coordinates are complete, keep them.
                        element.isComplete = false
                        diagnostics.append("no </\(kind.rawValue)> after the label")
                        let rest = bytes[labelEnd...]
                        end = closing.starts(with: rest) ? bytes.count : labelEnd
                    }
                } else {
                    diagnostics.append("answer ends inside a <\(kind.rawValue)> tag")
                    end = min(tagEnd, bytes.count)
                }
            } else if runEnd < bytes.count {
                diagnostics.append("unexpected character in coords of <\(kind.rawValue)>")
            } else {
                diagnostics.append("answer cut off inside coords; kept \(groups.count) complete groups")
            }
            groups.removeAll { $0.points.isEmpty }
            element.groups = groups
            out.append(ScannedElement(element: element, range: start..<end))
            position = max(end, start + 1)
        }
        return out
    }

    private static func findOpening(_ bytes: [UInt8], from position: Int) -> (Int, CoordinateElement.Kind)? {
        var i = position
        let points = Array("<points".utf8)
        let tracks = Array("<tracks".utf8)
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "<") {
                if matches(bytes, at: i, points) { return (i, .points) }
                if matches(bytes, at: i, tracks) { return (i, .tracks) }
            }
            i += 1
        }
        return nil
    }

    private static func matches(_ bytes: [UInt8], at index: Int, _ pattern: [UInt8]) -> Bool {
        guard index + pattern.count <= bytes.count else { return false }
        for k in 0..<pattern.count where bytes[index + k] != pattern[k] { return false }
        return true
    }

    private static func isCoordinateByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: " "), UInt8(ascii: "."), UInt8(ascii: ";"),
            UInt8(ascii: ":"), UInt8(ascii: ","), 0x09:
            return true
        default:
            return false
        }
    }

    private static func isSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ";") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ",") || byte == 0x09
    }

    private static func parseGroups(
        _ run: ArraySlice<UInt8>, lastGroupComplete: Bool, diagnostics: inout [String]
    ) -> [CoordinateGroup] {
        var pieces: [ArraySlice<UInt8>] = []
        var start = run.startIndex
        for i in run.indices where isSeparator(run[i]) {
            pieces.append(run[start..<i])
            start = i + 1
        }
        let last = run[start..<run.endIndex]
        if lastGroupComplete {
            pieces.append(last)
        } else if !last.allSatisfy({ $0 == UInt8(ascii: " ") }) {
            diagnostics.append("incomplete last group dropped")
        }
        var groups: [CoordinateGroup] = []
        for piece in pieces {
            let tokens = piece.split(separator: UInt8(ascii: " "))
            guard let keyToken = tokens.first else { continue }
            guard let key = parseKey(keyToken) else {
                diagnostics.append("group with invalid key \"\(String(decoding: keyToken, as: UTF8.self))\" dropped")
                continue
            }
            var points: [NormalizedPoint] = []
            var index = 1
            while index + 3 <= tokens.count {
                let idToken = tokens[index]
                let xToken = tokens[index + 1]
                let yToken = tokens[index + 2]
                index += 3
                guard let id = digitsValue(idToken, minDigits: 1, maxDigits: 9), id > 0,
                    let x = digitsValue(xToken, minDigits: 3, maxDigits: 4),
                    let y = digitsValue(yToken, minDigits: 3, maxDigits: 4)
                else {
                    diagnostics.append("malformed point in group \(renderKey(key)) dropped")
                    continue
                }
                guard x <= 1000, y <= 1000 else {
                    diagnostics.append("point \(id) at (\(x), \(y)) is outside 0–1000 and was dropped")
                    continue
                }
                points.append(NormalizedPoint(id: id, x: x, y: y))
            }
            if index < tokens.count { diagnostics.append("trailing values in group \(renderKey(key)) ignored") }
            groups.append(CoordinateGroup(key: key, points: points))
        }
        return groups
    }

    private static func parseKey(_ token: ArraySlice<UInt8>) -> CoordinateGroup.Key? {
        let text = String(decoding: token, as: UTF8.self)
        if token.contains(UInt8(ascii: ".")) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty || !parts[1].isEmpty,
                parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }), let t = Double(text), t.isFinite
            else { return nil }
            return .time(t)
        }
        guard let index = digitsValue(token, minDigits: 1, maxDigits: 9), index > 0 else { return nil }
        return .image(index)
    }

    private static func digitsValue(_ token: ArraySlice<UInt8>, minDigits: Int, maxDigits: Int) -> Int? {
        guard token.count >= minDigits, token.count <= maxDigits else { return nil }
        var value = 0
        for byte in token {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
