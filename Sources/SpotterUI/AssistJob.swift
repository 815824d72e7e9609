import Basics
import Annotations
import Assist
import Foundation
import Tracking

/// The model the viewer asks, and where it reads frames from (safe to call from a background thread).
package struct Assistant: Sendable {
    package var model: any GroundingModel
    package var frames: @Sendable () -> FrameSource
    /// Longest side frames are sent at (nil: source size).
    package var maxTransmittedSide: Int?

    package init(model: any GroundingModel, frames: @escaping @Sendable () -> FrameSource, maxTransmittedSide: Int? = 768) {
        self.model = model
        self.frames = frames
        self.maxTransmittedSide = maxTransmittedSide
    }
}

/// One question to the model, run off the UI thread: frames are sampled and decoded, the model answers with its
/// stage progress and streamed text, all reported as actions. Cancelling the task stops it (Esc).
enum AssistJob {
    static func start(_ ask: AskRequest, assistant: Assistant, report: @escaping @Sendable (Action) -> Void) -> Task<Void, Never> {
        Task.detached {
            let streamed = StreamedText()
            do {
                let source = assistant.frames()
                let request: GroundingRequest = try {
                    let progress: (Int, Int) -> Void = { done, total in report(.answerStage("decoding frames \(done)/\(total)")) }
                    let cancelled: () -> Bool = { Task.isCancelled }
                    if case .question(let text) = ask.task {
                        return try GroundingRequest.make(
                            question: text, scope: ask.scope, source: source, maxNewTokens: 512,
                            maxTransmittedSide: assistant.maxTransmittedSide, progress: progress, isCancelled: cancelled)
                    }
                    return try GroundingRequest.make(
                        task: ask.task, scope: ask.scope, source: source, maxTransmittedSide: assistant.maxTransmittedSide,
                        constrainOutput: ask.constrain, progress: progress, isCancelled: cancelled)
                }()
                report(.answerRequestBuilt(request))
                let answer = try await assistant.model.answer(
                    request,
                    progress: { p in report(.answerStage(AssistJob.describe(p))) },
                    onToken: { piece in report(.answerText(streamed.append(piece))) })
                report(.answerFinished(.answered(request, answer)))
            } catch {
                let cancelled: Bool
                if case AssistError.cancelled = error { cancelled = true } else { cancelled = false }
                report(.answerFinished(.failed(message: "\(error)", cancelled: cancelled)))
            }
        }
    }

    static func describe(_ progress: GroundingProgress) -> String {
        var text = progress.stage.rawValue
        if let detail = progress.detail {
            text += ": " + detail
        } else if let fraction = progress.fraction {
            text += String(format: " %.0f%%", fraction * 100)
        }
        return text
    }
}

/// The answer text received so far; the model's token callback may come from any thread.
private final class StreamedText: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""

    /// Appends `piece` and returns the whole text.
    func append(_ piece: String) -> String {
        lock.lock()
        defer { lock.unlock() }
        text += piece
        return text
    }
}

extension PredictionSet {
    /// The predictions of an answer to `ask`.
    package init(ask: AskRequest, request: GroundingRequest, answer: GroundingAnswer) {
        self.init(ask: ask, request: request, text: answer.text, model: answer.model, timings: answer.timings.dictionary)
    }

    /// The predictions of an answer text (complete, or the closed prefix of one still streaming).
    package init(ask: AskRequest, request: GroundingRequest, text: String, model: String, timings: [String: Double] = [:]) {
        let predictions = Predictions(text: text, request: request)
        let shown: [Int]
        switch request.media {
        case .video(let frames, _, _, _): shown = Array(Set(frames.map(\.frameIndex)))
        case .images(let images): shown = images.map(\.frameIndex)
        }
        var objects = predictions.objects
        for i in objects.indices where objects[i].label.isEmpty { objects[i].label = ask.label }
        // A single-point track answer lists the points after the query frame only.
        if ask.continuing != nil || ask.acceptInto != nil {
            objects = objects.map { object in
                var o = object
                o.points = object.points.filter { $0.frame > ask.frame }
                return o
            }.filter { !$0.points.isEmpty }
        }
        self.init(
            question: request.question, label: ask.label, task: ask.recordTask, model: model, answer: text,
            timings: timings, sampling: request.sampling, shownFrames: shown, objects: objects)
        diagnostics = predictions.diagnostics
        if let into = ask.acceptInto { for i in objects.indices { trackOfObject[i] = into } }
    }

    /// A one-line account of the predictions for the status line.
    package var summary: String {
        if objects.isEmpty {
            return "the model found nothing" + (answer.isEmpty ? "" : ": \(DisplaySafe.visible(String(answer.prefix(60))))")
        }
        let points = objects.reduce(0) { $0 + $1.points.count }
        return "\(objects.count) predicted object\(objects.count == 1 ? "" : "s"), \(points) point\(points == 1 ? "" : "s"): "
            + "a/A accept, z/Z reject, , . browse"
    }
}
