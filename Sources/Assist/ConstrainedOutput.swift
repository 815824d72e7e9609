import Annotations
import Foundation
import MolmoRuntime

/// The shape an answer is held to while it is generated: exactly one Molmo2 coordinate element
/// (`<points coords="…">label</points>` or `<tracks …>`), whose keys are only the times (or image numbers) the model
/// was shown, with at most `maxPoints` points, followed by the end of the answer (molmo2-spec §8.2).
///
/// Backends that can constrain decoding use it (the in-process runtime masks tokens; a vLLM server gets the
/// equivalent regular expression); an unconstrained model may answer in any form of the grammar.
package typealias ConstrainedOutput = AnswerConstraint

extension AnswerConstraint {
    /// The constraint that fits `task` on `media`: `<tracks>` for tracking (for a single point, only the times after
    /// the query frame), `<points>` otherwise; nil for free questions.
    package static func fitting(
        _ task: GroundingTask, media: GroundingMedia, maxPoints: Int = 64, maxPointsPerKey: Int = 16
    ) -> ConstrainedOutput? {
        let context = GroundingPrompt.Context(media)
        return fitting(task, context: context, maxPoints: maxPoints, maxPointsPerKey: maxPointsPerKey)
    }

    /// The constraint that fits `task` shown the video sampling or the number of images of `context`.
    package static func fitting(
        _ task: GroundingTask, context: GroundingPrompt.Context, maxPoints: Int = 64, maxPointsPerKey: Int = 16
    ) -> ConstrainedOutput? {
        let label: String
        var element = Element.points
        var after: Double?
        switch task {
        case .point(let l), .count(let l):
            label = l
        case .track(let l, _):
            label = l
            element = .tracks
        case .trackPoint(let l, let frame, _, _, _):
            label = l
            element = .tracks
            if case .video(let sampling, _, _) = context, let k = sampling.sampleIndex(ofFrame: frame) {
                after = sampling.times[k]
            }
        case .question:
            return nil
        }
        let cleaned = label.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        guard !cleaned.isEmpty else { return nil }
        let keys: [String]
        switch context {
        case .video(let sampling, _, _):
            var seen = Set<String>()
            keys = sampling.times.filter { t in after.map { t > $0 + 1e-9 } ?? true }
                .map { String(format: "%.1f", $0) }
                .filter { seen.insert($0).inserted }
        case .images(let count):
            keys = (0..<count).map { String($0 + 1) }
        }
        guard !keys.isEmpty else { return nil }
        return ConstrainedOutput(
            element: element, label: cleaned, keys: keys, maxPoints: maxPoints, maxPointsPerKey: maxPointsPerKey)
    }
}

extension ConstrainedOutput {

    /// A regular expression matching exactly the allowed answers, except that the total `maxPoints` is not counted
    /// (a regular expression cannot count across groups compactly; the token budget bounds it instead):
    ///
    ///     <points coords="GROUPS">label</points>
    ///
    /// where a group is `KEY( [1-9][0-9]{0,2} ([0-9]{3}|1000) ([0-9]{3}|1000)){1,maxPointsPerKey}` and GROUPS
    /// lists groups of increasing keys joined by `;` (see `orderedSequence`). Only plain constructs are used (groups,
    /// alternation, `?`, `{m,n}`, character classes), which vLLM's structured-output backends (xgrammar, guidance)
    /// and `NSRegularExpression` read alike.
    package var regularExpression: String {
        let point = " [1-9][0-9]{0,2} ([0-9]{3}|1000) ([0-9]{3}|1000)"
        var seen = Set<String>()
        let perKey = max(1, maxPointsPerKey)
        let groups = keys.filter { seen.insert($0).inserted }.map { Self.escaped($0) + "(\(point)){1,\(perKey)}" }
        let tag = element.rawValue
        return "<\(tag) coords=\"\(Self.orderedSequence(groups))\">\(Self.escaped(label))</\(tag)>"
    }

    /// A regular expression for one or more of `items` (regular expressions) in their order, joined by `;`.
    ///
    /// For a few items it is built left to right: S₁ = I₁, Sⱼ = (Sⱼ₋₁(;Iⱼ)?|Iⱼ) — the items so far,
    /// optionally followed by item j, or item j first — which is linear in size but nests one level per item, and
    /// regular expression engines limit nesting (ICU's, behind `NSRegularExpression`, to fewer than 100 levels). So longer
    /// lists are cut into blocks of `blockSize`, each block becomes one item ("one or more of the block's items in
    /// order") and the blocks are combined the same way: each level doubles the size and adds at most `blockSize`
    /// levels (384 keys: about 250 bytes per key, 44 levels deep).
    static func orderedSequence(_ items: [String], blockSize: Int = 32) -> String {
        func chain(_ items: ArraySlice<String>) -> String {
            var sequence = items.first ?? ""
            for item in items.dropFirst() { sequence = "(\(sequence)(;\(item))?|\(item))" }
            return sequence
        }
        guard items.count > blockSize else { return chain(items[...]) }
        let blocks = stride(from: 0, to: items.count, by: blockSize).map {
            chain(items[$0..<min($0 + blockSize, items.count)])
        }
        return orderedSequence(blocks, blockSize: blockSize)
    }

    /// `text` with every regular-expression metacharacter escaped.
    static func escaped(_ text: String) -> String {
        var out = ""
        for c in text {
            if "\\^$.|?*+()[]{}".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
