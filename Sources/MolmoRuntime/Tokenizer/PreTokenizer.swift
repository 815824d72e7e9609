import Foundation

/// The Qwen2/Qwen3 pre-tokenizer split, hand-compiled from its regular expression
/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
/// with the leftmost-first alternation semantics of the Oniguruma engine HF tokenizers uses (`\s` = White_Space,
/// `\p{L}`/`\p{N}` = general categories L*/N*). The matches tile the input, so pieces are consecutive ranges.
/// The cl100k/Llama-3 variant (`\p{N}{1,3}` instead of `\p{N}`, used by OLMo tokenizers) differs only in the
/// length of number runs.
enum QwenPreTokenizer {
    static let pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let cl100kPattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Longest number run of a pattern (1 for Qwen, 3 for cl100k), or nil for an unknown pattern.
    static func maxDigits(forPattern p: String) -> Int? {
        p == pattern ? 1 : p == cl100kPattern ? 3 : nil
    }

    /// Character classes of the pattern.
    struct Class: OptionSet {
        let rawValue: UInt8
        static let letter = Class(rawValue: 1)
        static let number = Class(rawValue: 2)
        static let space = Class(rawValue: 4)  // \s
        static let newline = Class(rawValue: 8)  // \r or \n
    }

    static let asciiClasses: [Class] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    static func classify(_ s: Unicode.Scalar) -> Class {
        let v = s.value
        if v == 0x0A || v == 0x0D { return [.space, .newline] }
        if (0x09...0x0D).contains(v) || v == 0x20 || v == 0x85 { return .space }
        let props = s.properties
        switch props.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        case .spaceSeparator, .lineSeparator, .paragraphSeparator: return .space
        default: return []
        }
    }

    /// Classes of every scalar of `scalars`.
    static func classes(_ scalars: [Unicode.Scalar]) -> [Class] {
        scalars.map { $0.value < 128 ? asciiClasses[Int($0.value)] : classify($0) }
    }

    /// End (exclusive) of every piece, in order.
    static func split(_ s: [Unicode.Scalar], classes c: [Class], maxDigits: Int = 1) -> [Int] {
        let n = s.count
        var ends: [Int] = []
        ends.reserveCapacity(n / 3 + 1)
        var i = 0
        while i < n {
            let e = matchEnd(s, c, at: i, count: n, maxDigits: maxDigits)
            ends.append(e)
            i = e
        }
        return ends
    }

    @inline(__always)
    static func folded(_ s: Unicode.Scalar) -> UInt32 {
        let v = s.value
        if v >= 0x41 && v <= 0x5A { return v + 0x20 }
        if v == 0x17F { return 0x73 }  // ſ case-folds to s
        return v
    }

    @inline(__always)
    static func isOther(_ c: Class) -> Bool { c.isDisjoint(with: [.letter, .number, .space]) }

    static func matchEnd(_ s: [Unicode.Scalar], _ c: [Class], at i: Int, count n: Int, maxDigits: Int) -> Int {
        // 1. contractions
        if s[i] == "'" && i + 1 < n {
            let a = folded(s[i + 1])
            if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return i + 2 }  // s t m d
            if i + 2 < n {
                let b = folded(s[i + 2])
                if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return i + 3 }
            }
        }
        let ci = c[i]
        // 2. [^\r\n\p{L}\p{N}]?\p{L}+
        if ci.contains(.letter) {
            var j = i + 1
            while j < n && c[j].contains(.letter) { j += 1 }
            return j
        }
        if !ci.contains(.newline) && !ci.contains(.number) && i + 1 < n && c[i + 1].contains(.letter) {
            var j = i + 2
            while j < n && c[j].contains(.letter) { j += 1 }
            return j
        }
        // 3. \p{N} (or \p{N}{1,3})
        if ci.contains(.number) {
            var j = i + 1
            while j < n && j - i < maxDigits && c[j].contains(.number) { j += 1 }
            return j
        }
        // 4.  ?[^\s\p{L}\p{N}]+[\r\n]*
        var j = i
        if s[j] == " " && j + 1 < n && isOther(c[j + 1]) { j += 1 }
        if isOther(c[j]) {
            j += 1
            while j < n && isOther(c[j]) { j += 1 }
            while j < n && c[j].contains(.newline) { j += 1 }
            return j
        }
        // Only whitespace remains.
        var e = i
        while e < n && c[e].contains(.space) { e += 1 }
        // 5. \s*[\r\n]+ : up to the last newline of the run
        var k = e - 1
        while k >= i && !c[k].contains(.newline) { k -= 1 }
        if k >= i { return k + 1 }
        // 6. \s+(?!\S)
        if e == n { return e }
        if e - i >= 2 { return e - 1 }
        // 7. \s+
        return e
    }
}
