import Annotations
import Foundation

/// What the model is asked to do. `GroundingPrompt.text(for:context:)` renders it with Molmo2's training prompts.
package enum GroundingTask: Sendable, Equatable {
    /// Point to every instance of a label.
    case point(label: String)
    /// Count the instances of a label (the model answers by pointing, then counting).
    case count(label: String)
    /// Track every instance of a label through a video, with positions at `fps` frames per second.
    case track(label: String, fps: Int)
    /// Continue the track of one point a person placed at source pixel (x, y) on `frame`.
    case trackPoint(label: String, frame: Int, x: Double, y: Double, fps: Int)
    /// Any other question, sent as written.
    case question(String)

    /// Answer budgets of the Molmo2 evaluation (molmo2-spec §7.5): 192 tokens for image pointing and counting,
    /// 2048 for video pointing and counting, 4096 for tracking; free questions get 512.
    package func defaultMaxNewTokens(isVideo: Bool) -> Int {
        switch self {
        case .point, .count: return isVideo ? 2048 : 192
        case .track, .trackPoint: return 4096
        case .question: return 512
        }
    }
}

/// Molmo2 prompt templates (molmo2-spec §8.4, and §8.3 for single-point tracking) as pure functions.
package enum GroundingPrompt {
    /// What the prompt is rendered for.
    package enum Context: Sendable, Equatable {
        /// A video: the sampling gives the printed time of a query frame; width and height are the source size.
        case video(sampling: FrameSampling, width: Int, height: Int)
        /// `count` still images.
        case images(count: Int)

        package var isVideo: Bool {
            if case .video = self { return true }
            return false
        }
    }

    /// Why a task cannot be rendered for a context.
    package struct PromptError: Error, Equatable, CustomStringConvertible {
        package var reason: String
        package var description: String { "cannot write the prompt: \(reason)" }
    }

    /// The prompt text for `task`:
    /// - point: `Point to {label}`
    /// - count: `How many "{label}" are there in the video?` (video) or `How many {label} are there?` (images)
    /// - track: `Track {label} in {fps} FPS.`
    /// - track a point: `Track the following point <points coords="{t} 1 {x} {y}">{label}</points> given as
    ///   <points coords="t id x y">label</points>. Provide coordinates at {fps} frames per second`, where t is the
    ///   printed time of the query frame (which must be a sampled frame) and x, y are on the 0–1000 scale.
    package static func text(for task: GroundingTask, context: Context) throws -> String {
        switch task {
        case .point(let label):
            return "Point to \(try cleaned(label))"
        case .count(let label):
            let label = try cleaned(label)
            return context.isVideo ? "How many \"\(label)\" are there in the video?" : "How many \(label) are there?"
        case .track(let label, let fps):
            guard case .video(let sampling, _, _) = context else { throw PromptError(reason: "tracking needs a video") }
            try checkRate(fps, sampling: sampling)
            return "Track \(try cleaned(label)) in \(fps) FPS."
        case .trackPoint(let label, let frame, let x, let y, let fps):
            guard case .video(let sampling, let width, let height) = context else {
                throw PromptError(reason: "tracking a point needs a video")
            }
            try checkRate(fps, sampling: sampling)
            guard let sample = sampling.sampleIndex(ofFrame: frame) else {
                throw PromptError(reason: "frame \(frame) is not among the sampled frames; start the clip on it")
            }
            guard x.isFinite, y.isFinite, x >= 0, y >= 0, x <= Double(width), y <= Double(height) else {
                throw PromptError(reason: "point (\(x), \(y)) is outside the \(width)x\(height) frame")
            }
            let label = try cleaned(label)
            let normalizedX = Molmo2Canonical.normalize(x, extent: width).value
            let normalizedY = Molmo2Canonical.normalize(y, extent: height).value
            let query = CoordinateElement(
                kind: .points, label: label,
                groups: [
                    CoordinateGroup(
                        key: .time(sampling.times[sample]), points: [NormalizedPoint(id: 1, x: normalizedX, y: normalizedY)])
                ])
            return "Track the following point \(Molmo2Answer.render(query)) given as "
                + "<points coords=\"t id x y\">label</points>. Provide coordinates at \(fps) frames per second"
        case .question(let text):
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw PromptError(reason: "the question is empty") }
            return trimmed
        }
    }

    /// A tracking prompt names the frame rate the frames are sampled at; a different number misleads the model.
    static func checkRate(_ fps: Int, sampling: FrameSampling) throws {
        guard fps > 0 else { throw PromptError(reason: "tracking fps must be positive") }
        guard sampling.maxFPS == Double(fps) else {
            throw PromptError(reason: "the prompt says \(fps) FPS but the frames are sampled at up to \(sampling.maxFPS) per second")
        }
    }

    /// Labels go inside the prompt (and inside a `<points>` element): one line, no markup characters.
    static func cleaned(_ label: String) throws -> String {
        let flat = label.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        guard !flat.isEmpty else { throw PromptError(reason: "the label is empty") }
        guard !flat.contains(where: { $0 == "<" || $0 == ">" || $0 == "\"" }) else {
            throw PromptError(reason: "the label \"\(flat)\" contains <, > or a double quote")
        }
        return flat
    }
}
