import Basics
import Foundation

/// Problems reading a `tokenizer.json`.
package enum TokenizerError: Error, CustomStringConvertible {
    /// The file is missing or not valid JSON.
    case unreadable(file: String, reason: String)
    /// The file uses a component or option this tokenizer does not implement.
    case unsupported(file: String, reason: String)
    /// The vocabulary or merges are inconsistent.
    case invalid(file: String, reason: String)

    package var description: String {
        switch self {
        case let .unreadable(f, r): return "\(f): cannot read tokenizer: \(r)"
        case let .unsupported(f, r): return "\(f): unsupported tokenizer: \(r)"
        case let .invalid(f, r): return "\(f): invalid tokenizer: \(r)"
        }
    }
}

/// Byte-level BPE tokenizer read from a Hugging Face `tokenizer.json` of the Qwen2/Qwen3 kind: NFC (or no)
/// normalizer, the Qwen split regex (or its cl100k variant) + ByteLevel pre-tokenizer, BPE merges by rank,
/// added/special tokens matched atomically (leftmost-longest) before everything else, ByteLevel decoder.
/// Added tokens are matched on the raw text whatever their `normalized` flag (all Qwen/Molmo2 tokens are
/// non-normalized); `lstrip`/`rstrip` are honoured, `single_word` is not. Other tokenizer kinds are rejected.
package final class BPETokenizer {
    /// One added token (`added_tokens` entry).
    package struct AddedToken: Sendable, Equatable {
        package let id: Int
        package let content: String
        package let special: Bool
        package let lstrip: Bool
        package let rstrip: Bool
    }

    /// Number of ids (model vocabulary plus added tokens beyond it).
    package let vocabularySize: Int
    /// Added tokens by id.
    package let addedTokens: [Int: AddedToken]
    /// Ids of special added tokens.
    package let specialTokenIds: Set<Int>

    private let tokenToId: [String: Int]
    private let idToTokenText: [Int: String]
    /// Bytes each model token stands for (index = id); added tokens decode through `addedTokens`.
    private let tokenBytes: [[UInt8]]
    private let byteTokenIds: [Int32]  // id of the single-byte token for each byte value
    private let merges: [UInt64: (rank: Int32, id: Int32)]
    private let ignoreMerges: Bool
    private let normalizeNFC: Bool
    private let maxDigits: Int
    private let addedTrie: ByteTrie
    private var cache: [[UInt8]: [Int32]] = [:]
    private let cacheLock = NSLock()
    private var byteTable: TokenByteTable?
    private let byteTableLock = NSLock()

    /// Reads `tokenizer.json`.
    package convenience init(url: URL) throws {
        let data: Data
        do { data = try RegularFile.read(url.path) } catch {
            throw TokenizerError.unreadable(file: url.path, reason: "cannot read the file: \(error)")
        }
        try self.init(data: data, file: url.path)
    }

    /// Parses tokenizer.json contents; `file` is used in error messages.
    package init(data: Data, file: String) throws {
        let root: JSONValue
        do { root = try JSONValue.parse(data) } catch {
            throw TokenizerError.unreadable(file: file, reason: "\(error)")
        }
        func unsupported(_ r: String) -> TokenizerError { .unsupported(file: file, reason: r) }
        func invalid(_ r: String) -> TokenizerError { .invalid(file: file, reason: r) }

        guard let model = root["model"]?.object, model["type"]?.string == "BPE" else {
            throw unsupported("model.type is not BPE")
        }
        if model["byte_fallback"]?.bool == true { throw unsupported("byte_fallback BPE") }
        if let p = model["continuing_subword_prefix"]?.string, !p.isEmpty { throw unsupported("continuing_subword_prefix") }
        if let p = model["end_of_word_suffix"]?.string, !p.isEmpty { throw unsupported("end_of_word_suffix") }
        if let dropout = model["dropout"]?.double, dropout > 0 { throw unsupported("BPE dropout") }
        ignoreMerges = model["ignore_merges"]?.bool ?? false

        // normalizer: null or NFC
        switch root["normalizer"] {
        case .none, .some(.null): normalizeNFC = false
        case let .some(n) where n["type"]?.string == "NFC": normalizeNFC = true
        case let .some(n): throw unsupported("normalizer \(n["type"]?.string ?? "?")")
        }
        // pre-tokenizer: Sequence[Split(Qwen or cl100k regex, keeping the matches), ByteLevel(use_regex: false)].
        // The matches tile the text, so "Isolated" and inverted "Removed" keep the same pieces.
        guard let pre = root["pre_tokenizer"], pre["type"]?.string == "Sequence",
            let steps = pre["pretokenizers"]?.array, steps.count == 2,
            steps[0]["type"]?.string == "Split",
            let digits = steps[0]["pattern"]?["Regex"]?.string.flatMap(QwenPreTokenizer.maxDigits(forPattern:)),
            (steps[0]["behavior"]?.string == "Isolated" && steps[0]["invert"]?.bool != true)
                || (steps[0]["behavior"]?.string == "Removed" && steps[0]["invert"]?.bool == true),
            steps[1]["type"]?.string == "ByteLevel", steps[1]["use_regex"]?.bool == false,
            steps[1]["add_prefix_space"]?.bool != true
        else { throw unsupported("pre_tokenizer is not the Qwen/cl100k split + ByteLevel sequence") }
        maxDigits = digits
        guard root["decoder"]?["type"]?.string == "ByteLevel" else { throw unsupported("decoder is not ByteLevel") }

        guard let vocab = model["vocab"]?.object else { throw invalid("model.vocab is missing") }
        var tokenToId: [String: Int] = [:]
        tokenToId.reserveCapacity(vocab.count)
        var maxId = -1
        for (token, value) in vocab {
            guard let id = value.int, id >= 0, id < 1 << 24 else { throw invalid("vocab entry '\(token)' has a bad id") }
            tokenToId[token] = id
            maxId = max(maxId, id)
        }

        var added: [Int: AddedToken] = [:]
        for entry in root["added_tokens"]?.array ?? [] {
            guard let id = entry["id"]?.int, id >= 0, id < 1 << 24, let content = entry["content"]?.string,
                !content.isEmpty
            else { throw invalid("an added_tokens entry lacks id or content") }
            added[id] = AddedToken(
                id: id, content: content, special: entry["special"]?.bool ?? false,
                lstrip: entry["lstrip"]?.bool ?? false, rstrip: entry["rstrip"]?.bool ?? false)
            maxId = max(maxId, id)
        }
        addedTokens = added
        specialTokenIds = Set(added.values.filter(\.special).map(\.id))
        vocabularySize = maxId + 1

        // Byte-level alphabet: byte b is written as the scalar byteToUnicode[b].
        let byteToUnicode = BPETokenizer.byteToUnicode
        let unicodeToByte = BPETokenizer.unicodeToByte
        var byteIds = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            guard let id = tokenToId[String(Character(byteToUnicode[b]))] else {
                throw invalid("the vocabulary has no token for byte \(b)")
            }
            byteIds[b] = Int32(id)
        }
        byteTokenIds = byteIds

        var bytes = [[UInt8]](repeating: [], count: vocabularySize)
        var textOf: [Int: String] = [:]
        for (token, id) in tokenToId {
            textOf[id] = token
            var out: [UInt8] = []
            var mapped = true
            for s in token.unicodeScalars {
                guard let b = unicodeToByte[s] else {
                    mapped = false
                    break
                }
                out.append(b)
            }
            bytes[id] = mapped ? out : Array(token.utf8)
        }
        for t in added.values {
            textOf[t.id] = t.content
            if tokenToId[t.content] == nil { tokenToId[t.content] = t.id }
        }
        tokenBytes = bytes
        idToTokenText = textOf
        self.tokenToId = tokenToId

        // Merges: "a b" strings or [a, b] pairs, rank = position.
        guard let mergeList = model["merges"]?.array else { throw invalid("model.merges is missing") }
        var merges: [UInt64: (rank: Int32, id: Int32)] = [:]
        merges.reserveCapacity(mergeList.count)
        for (rank, m) in mergeList.enumerated() {
            let left: String
            let right: String
            if let s = m.string {
                let parts = s.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw invalid("merge \(rank) '\(s)' is not a pair") }
                left = String(parts[0])
                right = String(parts[1])
            } else if let pair = m.array, pair.count == 2, let a = pair[0].string, let b = pair[1].string {
                left = a
                right = b
            } else {
                throw invalid("merge \(rank) is neither a string nor a pair")
            }
            guard let l = tokenToId[left], let r = tokenToId[right], let merged = tokenToId[left + right] else {
                throw invalid("merge \(rank) '\(left) \(right)' uses tokens missing from the vocabulary")
            }
            let key = UInt64(l) << 32 | UInt64(r)
            if merges[key] == nil { merges[key] = (Int32(rank), Int32(merged)) }
        }
        self.merges = merges

        var trie = ByteTrie()
        for t in added.values { trie.insert(Array(t.content.utf8), id: t.id) }
        addedTrie = trie
    }

    /// GPT-2's byte → printable scalar table.
    static let byteToUnicode: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var printable = Set<Int>()
        for r in [0x21...0x7E, 0xA1...0xAC, 0xAE...0xFF] { for b in r { printable.insert(b) } }
        var next = 256
        for b in 0..<256 {
            if printable.contains(b) {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(UInt32(next))!
                next += 1
            }
        }
        return table
    }()

    /// Id of a token string (model vocabulary or added token).
    package func id(of token: String) -> Int? { tokenToId[token] }

    /// `bytes` written in the byte-level alphabet (the form of the vocabulary's token strings).
    static func byteLevelText<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var text = String.UnicodeScalarView()
        for b in bytes { text.append(byteToUnicode[Int(b)]) }
        return String(text)
    }

    /// Id of the model token (not an added token) that stands for exactly `bytes`.
    func modelTokenId<C: Collection>(bytes: C) -> Int? where C.Element == UInt8 {
        guard let id = tokenToId[BPETokenizer.byteLevelText(bytes)], addedTokens[id] == nil else { return nil }
        return id
    }

    /// The bytes of every model token, built on first use (constrained decoding reads them at every step).
    var tokenByteTable: TokenByteTable {
        byteTableLock.lock()
        defer { byteTableLock.unlock() }
        if let table = byteTable { return table }
        let table = TokenByteTable(tokenizer: self)
        byteTable = table
        return table
    }

    /// The token string of an id (byte-level form for model tokens).
    package func token(for id: Int) -> String? { idToTokenText[id] }

    /// Encodes text to ids (no BOS/EOS are added, as for Qwen's tokenizer).
    package func encode(_ text: String) -> [Int] {
        var out: [Int] = []
        let utf8 = Array(text.utf8)
        var segmentStart = 0
        var i = 0
        var pending: (start: Int, end: Int, id: Int)? = nil
        while i < utf8.count {
            if let (length, id) = addedTrie.longestMatch(utf8, from: i) {
                var start = i
                var end = i + length
                if let t = addedTokens[id] {
                    if t.lstrip { while start > segmentStart && isASCIISpace(utf8[start - 1]) { start -= 1 } }
                    if t.rstrip { while end < utf8.count && isASCIISpace(utf8[end]) { end += 1 } }
                }
                pending = (start, end, id)
            }
            if let p = pending {
                encodeSegment(utf8[segmentStart..<p.start], into: &out)
                out.append(p.id)
                segmentStart = p.end
                i = p.end
                pending = nil
            } else {
                i += 1
            }
        }
        encodeSegment(utf8[segmentStart..<utf8.count], into: &out)
        return out
    }

    @inline(__always) private func isASCIISpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    private func encodeSegment(_ bytes: ArraySlice<UInt8>, into out: inout [Int]) {
        guard !bytes.isEmpty else { return }
        var text = String(decoding: bytes, as: UTF8.self)
        if normalizeNFC && !bytes.allSatisfy({ $0 < 0x80 }) {
            text = text.precomposedStringWithCanonicalMapping
        }
        let scalars = Array(text.unicodeScalars)
        let classes = QwenPreTokenizer.classes(scalars)
        let ends = QwenPreTokenizer.split(scalars, classes: classes, maxDigits: maxDigits)
        var start = 0
        var piece: [UInt8] = []
        for end in ends {
            piece.removeAll(keepingCapacity: true)
            for s in scalars[start..<end] {
                if s.value < 0x80 { piece.append(UInt8(s.value)) } else { piece.append(contentsOf: UTF8.encode(s)!) }
            }
            for id in bpe(piece) { out.append(Int(id)) }
            start = end
        }
    }

    /// BPE on one pre-token's bytes: repeatedly merge the adjacent pair of lowest rank (leftmost first).
    func bpe(_ bytes: [UInt8]) -> [Int32] {
        if bytes.count == 1 { return [byteTokenIds[Int(bytes[0])]] }
        cacheLock.lock()
        if let hit = cache[bytes] {
            cacheLock.unlock()
            return hit
        }
        cacheLock.unlock()
        var result: [Int32]
        if ignoreMerges, let whole = tokenToId[BPETokenizer.byteLevelText(bytes)] {
            result = [Int32(whole)]
        } else {
            var symbols = bytes.map { byteTokenIds[Int($0)] }
            while symbols.count > 1 {
                var bestRank = Int32.max
                var bestIndex = -1
                var bestId: Int32 = 0
                for k in 0..<(symbols.count - 1) {
                    let key = UInt64(UInt32(bitPattern: symbols[k])) << 32 | UInt64(UInt32(bitPattern: symbols[k + 1]))
                    if let m = merges[key], m.rank < bestRank {
                        bestRank = m.rank
                        bestIndex = k
                        bestId = m.id
                    }
                }
                if bestIndex < 0 { break }
                symbols[bestIndex] = bestId
                symbols.remove(at: bestIndex + 1)
            }
            result = symbols
        }
        cacheLock.lock()
        if cache.count > 200_000 { cache.removeAll(keepingCapacity: true) }
        cache[bytes] = result
        cacheLock.unlock()
        return result
    }

    /// Bytes an id decodes to (added tokens: their content through the byte-level map, as HF does).
    private func bytes(for id: Int) -> [UInt8] {
        if let t = addedTokens[id] {
            var out: [UInt8] = []
            for s in t.content.unicodeScalars {
                guard let b = BPETokenizer.unicodeToByte[s] else { return Array(t.content.utf8) }
                out.append(b)
            }
            return out
        }
        guard id >= 0, id < tokenBytes.count else { return [] }
        return tokenBytes[id]
    }

    private static let unicodeToByte: [Unicode.Scalar: UInt8] = {
        var m: [Unicode.Scalar: UInt8] = [:]
        for (b, u) in byteToUnicode.enumerated() { m[u] = UInt8(b) }
        return m
    }()

    /// Decodes ids to text; invalid UTF-8 (a character split across tokens) becomes U+FFFD. Unknown ids are skipped.
    package func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        String(decoding: decodeBytes(ids, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
    }

    /// The raw bytes of `decode` (for streaming: complete characters only once all their bytes arrived).
    package func decodeBytes(_ ids: [Int], skipSpecialTokens: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids {
            if skipSpecialTokens && specialTokenIds.contains(id) { continue }
            out.append(contentsOf: bytes(for: id))
        }
        return out
    }
}

/// Incremental detokenizer for streaming: feed ids one at a time, get the text that became complete.
package struct StreamingDetokenizer {
    let tokenizer: BPETokenizer
    let skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    package init(tokenizer: BPETokenizer, skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one token; returns the newly completed text (possibly empty while a character is incomplete).
    package mutating func append(_ id: Int) -> String {
        pending.append(contentsOf: tokenizer.decodeBytes([id], skipSpecialTokens: skipSpecialTokens))
        // Keep an incomplete UTF-8 sequence at the end for the next token.
        var cut = pending.count
        var back = 0
        while back < min(4, pending.count) {
            let b = pending[pending.count - 1 - back]
            if b & 0xC0 == 0x80 {
                back += 1
                continue
            }
            if b >= 0xC0 {
                let need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
                if back + 1 < need { cut = pending.count - 1 - back }
            }
            break
        }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Text still held back (an incomplete character), decoded lossily.
    package mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }
}

/// A byte trie over added-token contents for leftmost-longest matching.
struct ByteTrie {
    private var children: [[UInt8: Int32]] = [[:]]
    private var terminal: [Int32] = [-1]

    mutating func insert(_ bytes: [UInt8], id: Int) {
        var node = 0
        for b in bytes {
            if let next = children[node][b] {
                node = Int(next)
            } else {
                children.append([:])
                terminal.append(-1)
                children[node][b] = Int32(children.count - 1)
                node = children.count - 1
            }
        }
        terminal[node] = Int32(id)
    }

    /// Length and id of the longest token starting at `start`, if any.
    func longestMatch(_ bytes: [UInt8], from start: Int) -> (Int, Int)? {
        var node = 0
        var best: (Int, Int)? = nil
        var i = start
        while i < bytes.count, let next = children[node][bytes[i]] {
            node = Int(next)
            i += 1
            if terminal[node] >= 0 { best = (i - start, Int(terminal[node])) }
        }
        return best
    }
}
