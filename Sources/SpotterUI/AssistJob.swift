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
/// stage progress and streamed text, and the run loop polls for the outcome. Esc cancels it.
package final class AssistJob: @unchecked Sendable {
    package let ask: AskRequest
    private let lock = NSLock()
    private var stage = "sampling frames"
    private var streamed = ""
    private var outcome: Result<(GroundingRequest, GroundingAnswer), Error>?
    private var built: GroundingRequest?
    private var task: Task<Void, Never>?
    private let started = Date()

    package init(_ ask: AskRequest, assistant: Assistant) {
        self.ask = ask
        task = Task.detached { [self] in
            let result: Result<(GroundingRequest, GroundingAnswer), Error>
            do {
                let source = assistant.frames()
                let request: GroundingRequest = try {
                    let progress: (Int, Int) -> Void = { done, total in self.setStage("decoding frames \(done)/\(total)") }
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
                self.setBuilt(request)
                let answer = try await assistant.model.answer(
                    request,
                    progress: { p in self.setStage(AssistJob.describe(p)) },
                    onToken: { piece in
                        self.lock.lock()
                        self.streamed += piece
                        self.lock.unlock()
                    })
                result = .success((request, answer))
            } catch {
                result = .failure(error)
            }
            self.finish(result)
        }
    }

    private func finish(_ result: Result<(GroundingRequest, GroundingAnswer), Error>) {
        lock.lock()
        outcome = result
        lock.unlock()
    }

    private func setBuilt(_ request: GroundingRequest) {
        lock.lock()
        built = request
        lock.unlock()
    }

    /// The request as sent, once its frames are decoded.
    package var request: GroundingRequest? {
        lock.lock()
        defer { lock.unlock() }
        return built
    }

    private func setStage(_ text: String) {
        lock.lock()
        stage = text
        lock.unlock()
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

    package func cancel() { task?.cancel() }

    /// "asking: prefill 812 tokens (4 s; Esc cancels)".
    package var progressText: String {
        lock.lock()
        defer { lock.unlock() }
        let what = ask.continuing != nil ? "continuing #\(ask.continuing!.rawValue)" : "asking"
        return "\(what): \(stage) (\(Int(Date().timeIntervalSince(started))) s; Esc cancels)"
    }

    /// The answer text received so far.
    package var streamedText: String {
        lock.lock()
        defer { lock.unlock() }
        return streamed
    }

    package func takeOutcome() -> Result<(GroundingRequest, GroundingAnswer), Error>? {
        lock.lock()
        defer { lock.unlock() }
        let result = outcome
        if result != nil { outcome = nil }
        return result
    }

    /// Waits for the outcome (tests).
    package func waitForOutcome() -> Result<(GroundingRequest, GroundingAnswer), Error> {
        while true {
            if let result = takeOutcome() { return result }
            usleep(2_000)
        }
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
            return "the model found nothing" + (answer.isEmpty ? "" : ": \(answer.prefix(60))")
        }
        let points = objects.reduce(0) { $0 + $1.points.count }
        return "\(objects.count) predicted object\(objects.count == 1 ? "" : "s"), \(points) point\(points == 1 ? "" : "s"): "
            + "a/A accept, z/Z reject, , . browse"
    }
}

/// Owns the viewer's background job (one at a time: propagation or a question to the model) and feeds its result
/// back as an edit or as predictions.
package final class JobCenter {
    private let frames: @Sendable (Int) throws -> GrayImage
    package let assistant: Assistant?
    private var propagation: PropagationJob?
    private var asking: AssistJob?

    package init(frames: @escaping @Sendable (Int) throws -> GrayImage, assistant: Assistant? = nil) {
        self.frames = frames
        self.assistant = assistant
    }

    package var isBusy: Bool { propagation != nil || asking != nil }

    package func start(_ request: PropagationRequest, state: inout AppState) {
        guard !isBusy else { return }
        let job = PropagationJob(request, frames: frames)
        propagation = job
        state.jobRunning = true
        state.jobStatus = job.progressText
    }

    package func start(_ ask: AskRequest, state: inout AppState) {
        guard !isBusy else { return }
        guard let assistant else {
            state.message = AssistState.noModelHint
            return
        }
        let job = AssistJob(ask, assistant: assistant)
        asking = job
        state.jobRunning = true
        state.jobStatus = job.progressText
        state.assist.running = ask
        state.assist.answerText = ""
        if ask.continuing == nil { state.assist.predictions = nil }
    }

    package func cancel() {
        propagation?.cancel()
        asking?.cancel()
    }

    /// Updates the progress line; when the job has ended, commits its edit or shows its predictions. Returns true
    /// while running.
    @discardableResult
    package func poll(state: inout AppState, annotations: AnnotationSession?) -> Bool {
        if let job = propagation {
            guard let (edit, summary) = job.takeResult() else {
                state.jobStatus = job.progressText
                return true
            }
            propagation = nil
            state.jobRunning = false
            state.jobStatus = nil
            if let edit, let annotations {
                annotations.perform(.edit(edit, selectCreated: false), on: &state, actor: .tracker)
                if state.message == nil || state.message == "nothing changed" { state.message = summary }
            } else {
                state.message = summary
            }
            return false
        }
        if let job = asking {
            let streamed = job.streamedText
            if streamed != state.assist.answerText {
                state.assist.answerText = streamed
                // Complete groups of the answer so far are shown as they arrive (not for a continuation, which is
                // merged at the end).
                if job.ask.continuing == nil, let request = job.request, let closed = PartialAnswer.closedPrefix(streamed, label: job.ask.label) {
                    var set = PredictionSet(ask: job.ask, request: request, text: closed, model: assistant?.model.displayName ?? "")
                    set.highlighted = set.objects.isEmpty ? nil : 0
                    if set.objects != state.assist.predictions?.objects {
                        state.assist.predictions = set
                        state.annotations.revision += 1
                    }
                }
            }
            guard let outcome = job.takeOutcome() else {
                state.jobStatus = job.progressText
                return true
            }
            asking = nil
            state.jobRunning = false
            state.jobStatus = nil
            state.assist.running = nil
            switch outcome {
            case .failure(let error):
                let partial = state.assist.predictions.map { $0.objects.count } ?? 0
                let kept = partial > 0 ? "; the \(partial) object\(partial == 1 ? "" : "s") answered so far stay as predictions" : ""
                if case AssistError.cancelled = error { state.message = "question cancelled" + kept } else { state.message = "\(error)" + kept }
            case .success(let (request, answer)):
                state.assist.answerText = answer.text
                var set = PredictionSet(ask: job.ask, request: request, answer: answer)
                let cut = answer.hitTokenLimit ? " (the answer hit the token limit)" : ""
                if let track = job.ask.continuing {
                    if let annotations {
                        annotations.continueTrack(track, with: set, after: job.ask.frame, on: &state)
                    } else {
                        state.message = "no project is open (--no-project): the answer cannot be merged"
                    }
                    state.message = (state.message ?? "") + cut
                } else {
                    set.highlighted = set.objects.isEmpty ? nil : 0
                    state.assist.predictions = set
                    annotations?.refresh(&state, tracksChanged: true)
                    state.annotations.revision += 1
                    state.message = set.summary + cut
                }
            }
            return false
        }
        return false
    }

    /// Waits for the running job to end (tests; quitting).
    package func wait(state: inout AppState, annotations: AnnotationSession?) {
        while poll(state: &state, annotations: annotations) { usleep(2_000) }
    }
}

/// Reading an answer while it streams: the complete groups of a coordinate element so far.
package enum PartialAnswer {
    /// `text` itself when its element is closed; else the text up to its last complete group (`;`) with the
    /// element closed after it; nil when no group is complete yet.
    package static func closedPrefix(_ text: String, label: String) -> String? {
        for tag in ["points", "tracks"] {
            guard let open = text.range(of: "<\(tag) coords=\"") else { continue }
            if text[open.upperBound...].contains("\">") { return text }
            guard let last = text[open.upperBound...].lastIndex(of: ";") else { return nil }
            return String(text[..<last]) + "\">\(label)</\(tag)>"
        }
        return nil
    }
}
