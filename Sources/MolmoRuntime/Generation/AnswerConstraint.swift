import Foundation

/// The shape an answer is held to while it is generated: exactly one Molmo2 coordinate element and then the end of
/// the sequence (molmo2-spec §8.2):
///
///     <{element} coords="KEY ID X Y[ ID X Y…][;KEY ID X Y…]…">{label}</{element}>
///
/// Keys come from `keys`, each at most once and in the given order (any may be skipped); ids are 1…999 without
/// leading zeros; coordinates are three digits (`000`–`999`) or `1000` (§8.1); a group has at most
/// `maxPointsPerKey` points and the element at most `maxPoints`.
package struct AnswerConstraint: Sendable, Equatable {
    package enum Element: String, Sendable, Equatable {
        case points
        case tracks
    }

    package var element: Element
    /// The text between the tags, written verbatim.
    package var label: String
    /// Allowed group keys in the order they must appear: `%.1f` times, or `1`, `2`, … for images.
    package var keys: [String]
    /// Most points in the whole element.
    package var maxPoints: Int
    /// Most points in one group.
    package var maxPointsPerKey: Int

    package init(element: Element, label: String, keys: [String], maxPoints: Int, maxPointsPerKey: Int) {
        self.element = element
        self.label = label
        self.keys = keys
        self.maxPoints = maxPoints
        self.maxPointsPerKey = maxPointsPerKey
    }
}

/// Why an `AnswerConstraint` cannot be decoded to.
package struct AnswerConstraintError: Error, Equatable, CustomStringConvertible {
    package var reason: String
    package var description: String { "answer constraint: \(reason)" }
}

// MARK: - Grammar

/// The constraint as a deterministic automaton over the bytes of the answer: `next` says whether a byte keeps the
/// text a prefix of some allowed answer, and `isComplete` whether the element is finished (only the end of the
/// sequence may follow). The grammar is ASCII except for the label, which is matched byte for byte.
package struct AnswerGrammar: Sendable {
    /// Where in the element the text so far ends.
    package enum Phase: Hashable, Sendable {
        /// `digits` bytes of `<{element} coords="` matched.
        case opening(Int)
        /// Inside a key: the node of the key trie reached so far (0: no character yet).
        case key(node: Int)
        /// Inside a point id, `digits` written.
        case id(digits: Int)
        /// Inside the x coordinate: `digits` written, whose value is `value`.
        case x(digits: Int, value: Int)
        /// Inside the y coordinate.
        case y(digits: Int, value: Int)
        /// `count` bytes of `">{label}</{element}>` matched.
        case closing(Int)
        /// The element is finished.
        case complete
    }

    /// The automaton's state: the phase and the counts the limits need.
    package struct State: Hashable, Sendable {
        package var phase: Phase
        /// Index in `keys` of the last group's key (-1 before the first group).
        package var lastKey: Int
        /// Completed points in the current group.
        package var pointsInGroup: Int
        /// Completed points in the element.
        package var points: Int
    }

    package let constraint: AnswerConstraint
    /// `<{element} coords="`.
    let opening: [UInt8]
    /// `">{label}</{element}>`.
    let closing: [UInt8]
    /// Distinct keys in order.
    let keys: [[UInt8]]
    // Key trie: node 0 is the root.
    private var children: [[UInt8: Int]] = [[:]]
    /// Index of the key ending at a node, or -1.
    private var terminal: [Int] = [-1]
    /// Largest key index below (or at) a node.
    private var largestKeyBelow: [Int] = [-1]
    /// Characters from the root to a node.
    private(set) var depth: [Int] = [0]
    /// Longest key, in bytes.
    let longestKey: Int

    package init(_ constraint: AnswerConstraint) throws {
        func invalid(_ reason: String) -> AnswerConstraintError { AnswerConstraintError(reason: reason) }
        guard !constraint.label.isEmpty else { throw invalid("the label is empty") }
        guard constraint.maxPoints >= 1, constraint.maxPointsPerKey >= 1 else {
            throw invalid("maxPoints and maxPointsPerKey must be at least 1")
        }
        var seen = Set<String>()
        let distinct = constraint.keys.filter { seen.insert($0).inserted }
        guard !distinct.isEmpty else { throw invalid("no keys (times or image numbers) to answer with") }
        for key in distinct {
            let allowed = Set("0123456789.".utf8)
            guard !key.isEmpty, key.utf8.allSatisfy({ allowed.contains($0) })
            else { throw invalid("key \"\(key)\" is not made of digits and dots") }
        }
        self.constraint = constraint
        opening = Array("<\(constraint.element.rawValue) coords=\"".utf8)
        closing = Array("\">\(constraint.label)</\(constraint.element.rawValue)>".utf8)
        keys = distinct.map { Array($0.utf8) }
        longestKey = keys.map(\.count).max() ?? 0
        for (index, key) in keys.enumerated() {
            var node = 0
            largestKeyBelow[0] = max(largestKeyBelow[0], index)
            for byte in key {
                if let child = children[node][byte] {
                    node = child
                } else {
                    children.append([:])
                    terminal.append(-1)
                    largestKeyBelow.append(-1)
                    depth.append(depth[node] + 1)
                    children[node][byte] = children.count - 1
                    node = children.count - 1
                }
                largestKeyBelow[node] = max(largestKeyBelow[node], index)
            }
            terminal[node] = index
        }
    }

    /// The state before any text.
    package var start: State { State(phase: .opening(0), lastKey: -1, pointsInGroup: 0, points: 0) }

    package func isComplete(_ state: State) -> Bool { state.phase == .complete }

    /// The state after `byte`, or nil when no allowed answer continues that way.
    package func next(_ state: State, byte: UInt8) -> State? {
        var s = state
        let space = UInt8(ascii: " ")
        let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
        let digit = Int(byte) - Int(UInt8(ascii: "0"))
        switch state.phase {
        case .opening(let matched):
            guard byte == opening[matched] else { return nil }
            s.phase = matched + 1 == opening.count ? .key(node: 0) : .opening(matched + 1)
        case .key(let node):
            if byte == space {
                guard terminal[node] > state.lastKey else { return nil }
                s.lastKey = terminal[node]
                s.pointsInGroup = 0
                s.phase = .id(digits: 0)
            } else {
                guard let child = children[node][byte], largestKeyBelow[child] > state.lastKey else { return nil }
                s.phase = .key(node: child)
            }
        case .id(let digits):
            if byte == space, digits > 0 {
                s.phase = .x(digits: 0, value: 0)
            } else {
                guard isDigit, digits < 3, digits > 0 || digit > 0 else { return nil }
                s.phase = .id(digits: digits + 1)
            }
        case .x(let digits, let value):
            if byte == space, digits >= 3 {
                s.phase = .y(digits: 0, value: 0)
            } else {
                guard isDigit, Self.coordinateAccepts(digits: digits, value: value, digit: digit) else { return nil }
                s.phase = .x(digits: digits + 1, value: value * 10 + digit)
            }
        case .y(let digits, let value):
            if isDigit {
                guard Self.coordinateAccepts(digits: digits, value: value, digit: digit) else { return nil }
                s.phase = .y(digits: digits + 1, value: value * 10 + digit)
                return s
            }
            guard digits >= 3 else { return nil }
            s.points += 1
            s.pointsInGroup += 1
            switch byte {
            case space:
                guard s.pointsInGroup < constraint.maxPointsPerKey, s.points < constraint.maxPoints else { return nil }
                s.phase = .id(digits: 0)
            case UInt8(ascii: ";"):
                guard s.points < constraint.maxPoints, state.lastKey < keys.count - 1 else { return nil }
                s.pointsInGroup = 0
                s.phase = .key(node: 0)
            case closing[0]:
                s.phase = closing.count == 1 ? .complete : .closing(1)
            default:
                return nil
            }
        case .closing(let matched):
            guard byte == closing[matched] else { return nil }
            s.phase = matched + 1 == closing.count ? .complete : .closing(matched + 1)
        case .complete:
            return nil
        }
        return s
    }

    /// Three digits `000`–`999`, or the fourth `0` of `1000`.
    @inline(__always) static func coordinateAccepts(digits: Int, value: Int, digit: Int) -> Bool {
        digits < 3 || (digits == 3 && value == 100 && digit == 0)
    }

    /// The state after all of `bytes`, or nil.
    package func next<S: Sequence>(_ state: State, bytes: S) -> State? where S.Element == UInt8 {
        var s = state
        for b in bytes {
            guard let n = next(s, byte: b) else { return nil }
            s = n
        }
        return s
    }

    /// True when `text` can be continued into an allowed answer (or is one).
    package func isPrefix(_ text: String) -> Bool { next(start, bytes: text.utf8) != nil }

    /// True when `text` is a complete allowed answer.
    package func matches(_ text: String) -> Bool { next(start, bytes: text.utf8).map(isComplete) ?? false }

    /// Most characters still needed to finish the current point from `phase` (one id of three digits, coordinates
    /// of four), without starting another.
    func pointCharactersLeft(_ phase: Phase) -> Int {
        func coordinateLeft(_ digits: Int, _ value: Int) -> Int {
            // Only a prefix of "1000" can still grow to four digits.
            let towardsThousand = digits == 0 || (digits == 1 && value == 1) || (digits == 2 && value == 10)
                || (digits == 3 && value == 100)
            return max(0, (towardsThousand ? 4 : 3) - digits)
        }
        switch phase {
        case .id(let d): return (3 - d) + 1 + 4 + 1 + 4
        case .x(let d, let v): return coordinateLeft(d, v) + 1 + 4
        case .y(let d, let v): return coordinateLeft(d, v)
        default: return 3 + 1 + 4 + 1 + 4
        }
    }
}

// MARK: - Token masking

/// Holds token-by-token generation to an `AnswerGrammar`: a token may come next only when its bytes keep the answer a
/// valid prefix, an end-of-sequence id only when the element is complete, and other special tokens never.
///
/// It also keeps the token budget from cutting the element off. Every state has a cost: an upper bound on the tokens
/// that finishing from it takes without starting another point or group — the fewest vocabulary tokens that spell the
/// rest of the fixed texts (`<points coords="` and `">label</points>`, computed once from the vocabulary), plus one
/// token per character for the digits of the current point and for the longest key. A token is allowed only if the
/// cost of the state it leads to, plus the end-of-sequence token, fits in the tokens left after it. Since some token
/// always lowers the cost by at least one (a single byte; the first token of the cheapest spelling of the fixed text),
/// an answer that starts with at least `minimumBudget` tokens always ends complete with end of sequence: when the
/// budget runs low, new points and groups are no longer allowed and the element closes. With less, decoding keeps to
/// valid prefixes and may stop at the budget.
package final class ConstrainedDecoder {
    package let grammar: AnswerGrammar
    /// The answer so far.
    package private(set) var state: AnswerGrammar.State
    package let endOfSequenceIds: Set<Int>
    private let table: TokenByteTable
    /// Ids at or above this (rows the LM head has but the tokenizer not, or the reverse) are never allowed.
    private let tokenLimit: Int
    /// Fewest tokens that spell `opening[i...]` and `closing[i...]`.
    private let openingCost: [Int]
    private let closingCost: [Int]
    /// Cached per state: which first bytes can continue it.
    private var firstBytesState: AnswerGrammar.State?
    private var firstBytes = [Bool](repeating: false, count: 256)

    /// `logitCount` is the number of logits per step (the LM head's rows).
    package init(
        constraint: AnswerConstraint, tokenizer: BPETokenizer, endOfSequenceIds: [Int], logitCount: Int
    ) throws {
        grammar = try AnswerGrammar(constraint)
        guard !endOfSequenceIds.isEmpty else {
            throw AnswerConstraintError(reason: "the generation config names no end-of-sequence id")
        }
        self.endOfSequenceIds = Set(endOfSequenceIds)
        table = tokenizer.tokenByteTable
        tokenLimit = min(logitCount, table.count)
        state = grammar.start
        openingCost = Self.fewestTokens(grammar.opening, table: table, tokenizer: tokenizer, limit: tokenLimit)
        closingCost = Self.fewestTokens(grammar.closing, table: table, tokenizer: tokenizer, limit: tokenLimit)
    }

    /// cost[i]: fewest vocabulary tokens (ids below `limit`) that spell `text[i...]`.
    static func fewestTokens(_ text: [UInt8], table: TokenByteTable, tokenizer: BPETokenizer, limit: Int) -> [Int] {
        var cost = [Int](repeating: Int.max / 2, count: text.count + 1)
        cost[text.count] = 0
        for i in stride(from: text.count - 1, through: 0, by: -1) {
            for length in 1...max(1, min(table.longestToken, text.count - i)) {
                guard let id = tokenizer.modelTokenId(bytes: text[i..<(i + length)]), id < limit else { continue }
                cost[i] = min(cost[i], 1 + cost[i + length])
            }
            // Every byte has a token in a byte-level vocabulary; count bytes should one be cut from the logits.
            if cost[i] >= Int.max / 2 { cost[i] = 1 + cost[i + 1] }
        }
        return cost
    }

    package var isComplete: Bool { grammar.isComplete(state) }

    /// Most tokens finishing the element from `state` takes (end of sequence excluded).
    package func cost(_ state: AnswerGrammar.State) -> Int {
        let point = grammar.pointCharactersLeft(state.phase)
        switch state.phase {
        case .opening(let matched):
            return openingCost[matched] + grammar.longestKey + 1 + point + closingCost[0]
        case .key(let node):
            return grammar.longestKey - grammar.depth[node] + 1 + point + closingCost[0]
        case .id, .x, .y:
            return point + closingCost[0]
        case .closing(let matched):
            return closingCost[matched]
        case .complete:
            return 0
        }
    }

    /// Fewest new tokens (end of sequence included) with which the element is sure to close.
    package var minimumBudget: Int { cost(grammar.start) + 1 }

    /// The state token `id` leads to, or nil when it may not come next (budget aside).
    package func successor(of id: Int) -> AnswerGrammar.State? {
        guard id >= 0, id < tokenLimit, let first = table.firstByte(id), !endOfSequenceIds.contains(id) else {
            return endOfSequenceIds.contains(id) && isComplete ? state : nil
        }
        if firstBytesState != state {
            for b in 0..<256 { firstBytes[b] = grammar.next(state, byte: UInt8(b)) != nil }
            firstBytesState = state
        }
        guard firstBytes[Int(first)] else { return nil }
        return grammar.next(state, bytes: table.bytes(id))
    }

    /// Whether `id` may come next, budget aside.
    package func allows(_ id: Int) -> Bool { successor(of: id) != nil }

    /// Whether taking `id` (leading to `next`) leaves room to finish with `tokensLeft` tokens (this one included).
    private func fits(_ id: Int, _ next: AnswerGrammar.State, tokensLeft: Int) -> Bool {
        endOfSequenceIds.contains(id) || cost(next) + 1 <= tokensLeft - 1
    }

    /// The next token: the highest-logit allowed token that fits the budget (lowest id on ties) for greedy decoding,
    /// else a sample from the logits with every other token masked out. When no token fits the budget, the best
    /// allowed one; nil when none is allowed.
    func choose(_ logits: UnsafeBufferPointer<Float>, tokensLeft: Int, sampler: inout TokenSampler) -> Int? {
        if sampler.options.temperature <= 0 {
            let top = TokenSampler.argmax(logits)
            if let next = successor(of: top), fits(top, next, tokensLeft: tokensLeft) { return top }
            var bestFit = -1
            var bestFitValue = -Float.infinity
            var bestAllowed = -1
            var bestAllowedValue = -Float.infinity
            for i in 0..<logits.count where logits[i] > bestFitValue {
                guard let next = successor(of: i) else { continue }
                if logits[i] > bestAllowedValue {
                    bestAllowed = i
                    bestAllowedValue = logits[i]
                }
                if fits(i, next, tokensLeft: tokensLeft) {
                    bestFit = i
                    bestFitValue = logits[i]
                }
            }
            // Logits that are all -inf or NaN: take any allowed token.
            if bestFit < 0 && bestAllowed < 0 {
                return (0..<logits.count).first { successor(of: $0) != nil }
            }
            return bestFit >= 0 ? bestFit : bestAllowed
        }
        var masked = [Float](repeating: -Float.infinity, count: logits.count)
        var fitting = 0
        var allowed: [Int] = []
        for i in 0..<logits.count {
            guard let next = successor(of: i) else { continue }
            allowed.append(i)
            if fits(i, next, tokensLeft: tokensLeft) {
                masked[i] = logits[i]
                fitting += 1
            }
        }
        if allowed.isEmpty { return nil }
        if fitting == 0 { for i in allowed { masked[i] = logits[i] } }
        if !masked.contains(where: { $0 > -Float.infinity }) { return allowed[0] }
        return masked.withUnsafeBufferPointer { sampler.next($0) }
    }

    /// Moves past a chosen token.
    package func advance(_ id: Int) {
        if let next = successor(of: id) { state = next }
    }
}

/// The bytes of every model token (added tokens have none: they are never part of a constrained answer), laid out
/// flat, built once per tokenizer.
final class TokenByteTable: @unchecked Sendable {
    private let offsets: [Int32]
    private let storage: [UInt8]
    let longestToken: Int

    init(tokenizer: BPETokenizer) {
        var offsets: [Int32] = [0]
        var storage: [UInt8] = []
        offsets.reserveCapacity(tokenizer.vocabularySize + 1)
        storage.reserveCapacity(tokenizer.vocabularySize * 7)
        var longest = 0
        for id in 0..<tokenizer.vocabularySize {
            if tokenizer.addedTokens[id] == nil {
                let bytes = tokenizer.decodeBytes([id])
                storage.append(contentsOf: bytes)
                longest = max(longest, bytes.count)
            }
            offsets.append(Int32(storage.count))
        }
        self.offsets = offsets
        self.storage = storage
        longestToken = longest
    }

    var count: Int { offsets.count - 1 }

    func bytes(_ id: Int) -> ArraySlice<UInt8> { storage[Int(offsets[id])..<Int(offsets[id + 1])] }

    func firstByte(_ id: Int) -> UInt8? {
        let start = Int(offsets[id])
        return start < Int(offsets[id + 1]) ? storage[start] : nil
    }
}
