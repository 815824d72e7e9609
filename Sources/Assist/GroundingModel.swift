/// A stage of answering, for a progress line.
package enum GroundingStage: String, Sendable, Equatable {
    /// Frames are being encoded for the model (PNG for a server; pixels to patches in process).
    case encodingFrames = "encoding frames"
    /// The request is being sent.
    case uploading
    /// Waiting for the first token (the model reads the frames and the prompt).
    case waitingForModel = "waiting for the model"
    /// Tokens are arriving.
    case generating
    /// A failed attempt will be retried after a pause.
    case retrying
}

/// A progress report: the stage, how far it is when known (0…1), and a short detail ("attempt 2 of 3").
package struct GroundingProgress: Sendable, Equatable {
    package var stage: GroundingStage
    package var fraction: Double?
    package var detail: String?

    package init(stage: GroundingStage, fraction: Double? = nil, detail: String? = nil) {
        self.stage = stage
        self.fraction = fraction
        self.detail = detail
    }
}

/// Where the time of one answer went, in seconds.
package struct GroundingTimings: Sendable, Equatable {
    /// Preparing the visual input (encoding frames).
    package var encodeSeconds: Double
    /// From sending the request (last attempt) to the first token; nil when no token arrived.
    package var firstTokenSeconds: Double?
    /// From the first to the last token.
    package var generateSeconds: Double?
    /// Everything, retries and pauses included.
    package var totalSeconds: Double
    /// Attempts made (1 without retries).
    package var attempts: Int

    package init(
        encodeSeconds: Double = 0, firstTokenSeconds: Double? = nil, generateSeconds: Double? = nil,
        totalSeconds: Double = 0, attempts: Int = 1
    ) {
        self.encodeSeconds = encodeSeconds
        self.firstTokenSeconds = firstTokenSeconds
        self.generateSeconds = generateSeconds
        self.totalSeconds = totalSeconds
        self.attempts = attempts
    }

    /// The timings as named numbers (what a query record stores).
    package var dictionary: [String: Double] {
        var out = ["encode_s": encodeSeconds, "total_s": totalSeconds, "attempts": Double(attempts)]
        if let firstTokenSeconds { out["first_token_s"] = firstTokenSeconds }
        if let generateSeconds { out["generate_s"] = generateSeconds }
        return out
    }
}

/// A model's complete answer: the raw text (parse it with `Predictions`), who answered and how long it took.
package struct GroundingAnswer: Sendable, Equatable {
    package var text: String
    /// The model as the backend names it (served model name, checkpoint directory, …).
    package var model: String
    /// Why generation ended (`stop`, `length`, …) when the backend says.
    package var finishReason: String?
    package var promptTokens: Int?
    package var completionTokens: Int?
    package var timings: GroundingTimings
    /// The answer budget sent (the request's, or less to fit the server's context).
    package var maxTokens: Int?
    /// The server's context length, when it said.
    package var contextTokens: Int?
    /// Each generated token's log probability and the likeliest alternatives (servers asked for them).
    package var logprobs: [TokenLogprob] = []

    /// One generated token's log probability, with the likeliest alternatives at that step.
    package struct TokenLogprob: Sendable, Equatable {
        package var token: String
        package var logprob: Double
        package var alternatives: [Alternative]

        package struct Alternative: Sendable, Equatable {
            package var token: String
            package var logprob: Double
        }

        package init(token: String, logprob: Double, alternatives: [(token: String, logprob: Double)]) {
            self.token = token
            self.logprob = logprob
            self.alternatives = alternatives.map { Alternative(token: $0.token, logprob: $0.logprob) }
        }
    }

    package init(
        text: String, model: String, finishReason: String? = nil, promptTokens: Int? = nil, completionTokens: Int? = nil,
        timings: GroundingTimings = GroundingTimings()
    ) {
        self.text = text
        self.model = model
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.timings = timings
    }

    /// True when generation stopped at the token budget (the answer is probably cut off).
    package var hitTokenLimit: Bool { finishReason == "length" }
}

/// A Molmo2 model that answers grounding questions about frames: in process or behind a server.
///
/// Callers run `answer` off the UI thread (it is async); tokens and stage changes arrive on the given closures
/// (from any thread) while it runs, and cancelling the calling task stops it promptly with `AssistError.cancelled`.
/// A backend that computes synchronously polls `Task.isCancelled` (or bridges it with
/// `withTaskCancellationHandler`) between tokens.
package protocol GroundingModel: Sendable {
    /// The model and backend, for records and the status line ("Molmo2-4B via http://host:8000/v1").
    var displayName: String { get }

    /// Answers `request`, streaming the text as it is generated.
    func answer(
        _ request: GroundingRequest, progress: @escaping @Sendable (GroundingProgress) -> Void,
        onToken: @escaping @Sendable (String) -> Void
    ) async throws -> GroundingAnswer
}

extension GroundingModel {
    /// Answers without progress or token callbacks.
    package func answer(_ request: GroundingRequest) async throws -> GroundingAnswer {
        try await answer(request, progress: { _ in }, onToken: { _ in })
    }
}
