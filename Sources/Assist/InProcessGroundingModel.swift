import Foundation
import MolmoRuntime

/// Molmo2 run by Spotter's own runtime in this process. The computation runs on a thread of its own (it is long and
/// CPU-bound, so it must not occupy the cooperative pool); cancelling the calling task sets the runtime's
/// cancellation flag, which stops it after the current crop, layer or token.
package final class InProcessGroundingModel: GroundingModel, @unchecked Sendable {
    package let model: MolmoModel
    package let displayName: String
    /// Kept across questions: a follow-up about the same media reuses its vision features and KV-cache prefix.
    private let session: MolmoSession
    /// One answer at a time: the runtime's buffers and KV cache are not shared between answers.
    private let busy = NSLock()

    package init(model: MolmoModel, name: String? = nil) {
        self.model = model
        session = MolmoSession(model: model)
        self.displayName = (name ?? model.directory.lastPathComponent) + " (in process)"
    }

    /// Loads a checkpoint directory or a Hugging Face cache id (`allenai/Molmo2-4B`).
    package static func load(_ reference: String, format: WeightFormat = .bfloat16) throws -> InProcessGroundingModel {
        InProcessGroundingModel(model: try MolmoModel.load(reference, format: format), name: reference)
    }

    package func answer(
        _ request: GroundingRequest, progress: @escaping @Sendable (GroundingProgress) -> Void,
        onToken: @escaping @Sendable (String) -> Void
    ) async throws -> GroundingAnswer {
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<GroundingAnswer, Error>) in
                Thread.detachNewThread { [self] in
                    do {
                        continuation.resume(returning: try run(request, flag: flag, progress: progress, onToken: onToken))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            flag.cancel()
        }
    }

    /// The synchronous answer: request media to runtime frames, stage progress mapped, text streamed, and the
    /// request's `constrainedOutput` enforced token by token.
    func run(
        _ request: GroundingRequest, flag: CancellationFlag, progress: @escaping (GroundingProgress) -> Void,
        onToken: @escaping (String) -> Void
    ) throws -> GroundingAnswer {
        busy.lock()
        defer { busy.unlock() }
        let start = Date()
        let media: MolmoMedia
        switch request.media {
        case .video(let frames, _, _, _):
            media = .video(frames.map { RGBFrame(pixels: $0.image.pixels, width: $0.image.width, height: $0.image.height, timestamp: $0.time) })
        case .images(let images):
            media = .images(images.map { RGBFrame(pixels: $0.image.pixels, width: $0.image.width, height: $0.image.height) })
        }
        var firstToken: Double?
        let options = AnswerOptions(
            maxNewTokens: request.maxNewTokens, cancellation: flag,
            constraint: request.constrainedOutput,
            onProgress: { stage in
                switch stage {
                case .framesPrepared(let done, let total):
                    progress(GroundingProgress(
                        stage: .encodingFrames, fraction: total > 0 ? Double(done) / Double(total) : nil,
                        detail: "frames \(done)/\(total) prepared"))
                case .visionCrops(let done, let total):
                    progress(GroundingProgress(
                        stage: .encodingFrames, fraction: total > 0 ? Double(done) / Double(total) : nil,
                        detail: "ViT \(done)/\(total) crops"))
                case .prefill(let tokens):
                    progress(GroundingProgress(stage: .waitingForModel, detail: "prefill \(tokens) tokens"))
                case .decoding(let tokens, let rate):
                    progress(GroundingProgress(stage: .generating, detail: String(format: "%d tokens, %.1f tok/s", tokens, rate)))
                }
            })
        let answer: MolmoAnswer
        do {
            answer = try session.answer(media: media, question: request.question, options: options) { piece in
                if firstToken == nil { firstToken = Date().timeIntervalSince(start) }
                onToken(piece)
                return !flag.isCancelled
            }
        } catch MolmoModelError.cancelled {
            throw AssistError.cancelled(endpoint: displayName)
        } catch let error as AnswerConstraintError {
            throw AssistError.invalidRequest(media: request.mediaName, reason: error.description)
        }
        if flag.isCancelled { throw AssistError.cancelled(endpoint: displayName) }
        let t = answer.timings
        let finish: String
        switch answer.stopReason {
        case .maxTokens: finish = "length"
        default: finish = "stop"
        }
        return GroundingAnswer(
            text: answer.text, model: displayName, finishReason: finish, promptTokens: answer.inputIds.count,
            completionTokens: answer.generatedIds.count,
            timings: GroundingTimings(
                encodeSeconds: t.preprocessing + t.vision, firstTokenSeconds: firstToken, generateSeconds: t.decode,
                totalSeconds: Date().timeIntervalSince(start)))
    }
}
