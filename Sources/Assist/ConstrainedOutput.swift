import Annotations
import Foundation

/// The shape an answer is held to while it is generated: exactly one Molmo2 coordinate element
/// (`<points coords="…">label</points>` or `<tracks …>`), whose keys are only the times (or image numbers) the model
/// was shown, with at most `maxPoints` points, followed by the end of the answer (molmo2-spec §8.2).
///
/// Backends that can constrain decoding use it (the in-process runtime masks tokens; a vLLM server gets the
/// equivalent regular expression); an unconstrained model may answer in any form of the grammar.
public struct ConstrainedOutput: Sendable, Equatable {
    public enum Element: String, Sendable, Equatable {
        case points
        case tracks
    }

    public var element: Element
    /// The text between the tags: the query's noun phrase.
    public var label: String
    /// Allowed group keys in the order they must appear (each at most once): `%.1f` times, or `1`, `2`, … for images.
    public var keys: [String]
    /// Most points in the whole element.
    public var maxPoints: Int
    /// Most points in one group.
    public var maxPointsPerKey: Int

    public init(element: Element, label: String, keys: [String], maxPoints: Int, maxPointsPerKey: Int) {
        self.element = element
        self.label = label
        self.keys = keys
        self.maxPoints = maxPoints
        self.maxPointsPerKey = maxPointsPerKey
    }

    /// The constraint that fits `task` on `media`: `<tracks>` for tracking (for a single point, only the times after
    /// the query frame), `<points>` otherwise; nil for free questions.
    public static func fitting(
        _ task: GroundingTask, media: GroundingMedia, maxPoints: Int = 64, maxPointsPerKey: Int = 16
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
            if case .video(_, let sampling, _, _) = media, let k = sampling.sampleIndex(ofFrame: frame) {
                after = sampling.times[k]
            }
        case .question:
            return nil
        }
        let cleaned = label.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        guard !cleaned.isEmpty else { return nil }
        let keys: [String]
        switch media {
        case .video(_, let sampling, _, _):
            var seen = Set<String>()
            keys = sampling.times.filter { t in after.map { t > $0 + 1e-9 } ?? true }
                .map { String(format: "%.1f", $0) }
                .filter { seen.insert($0).inserted }
        case .images(let images):
            keys = images.indices.map { String($0 + 1) }
        }
        guard !keys.isEmpty else { return nil }
        return ConstrainedOutput(
            element: element, label: cleaned, keys: keys, maxPoints: maxPoints, maxPointsPerKey: maxPointsPerKey)
    }
}
