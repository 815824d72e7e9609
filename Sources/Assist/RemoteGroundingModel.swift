import Foundation
import Media

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// How to reach a vLLM (OpenAI-compatible) server serving Molmo2, and how patient to be with it.
package struct RemoteModelConfiguration: Sendable, Equatable {
    /// The chat-completions URL (`…/v1/chat/completions`), derived from the endpoint given by the user.
    package var chatCompletionsURL: URL
    /// The served model name (`--model-name`; vLLM's `--served-model-name`, by default the model path).
    package var modelName: String
    /// Sent as `Authorization: Bearer …` when set.
    package var apiKey: String?
    /// Stream tokens (server-sent events) as they are generated.
    package var streaming: Bool = true
    /// Give up when nothing arrives for this long (connecting, prefill before the first token, between tokens).
    package var idleTimeout: Double = 300
    /// Give up when one attempt takes longer than this in total.
    package var totalTimeout: Double = 1800
    /// Attempts for connection failures and HTTP 429/5xx (never after tokens have been streamed).
    package var maxAttempts: Int = 3
    /// Pause before the second attempt; doubled for each further attempt, up to `maxBackoff`.
    package var initialBackoff: Double = 0.5
    package var maxBackoff: Double = 8
    /// Sampling temperature; Molmo2 is evaluated greedily.
    package var temperature: Double = 0
    /// Size the answer budget to the server's context: `max_model_len` from `/v1/models` minus the prompt's length
    /// from vLLM's `/tokenize` (never above the context; the request's own budget when it is smaller).
    package var sizeBudgetToContext = true
    /// Ask for this many alternatives with each generated token's log probability (0: none).
    package var topLogprobs = 0

    /// Accepts `http(s)://host:port`, `…/v1` or the full `…/v1/chat/completions`.
    package init(endpoint: String, modelName: String, apiKey: String? = nil) throws {
        chatCompletionsURL = try Self.chatCompletionsURL(endpoint)
        let name = modelName.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw AssistError.invalidEndpoint(endpoint: endpoint, reason: "the model name is empty") }
        self.modelName = name
        self.apiKey = apiKey
    }

    /// `…/v1/models`, beside the chat-completions URL.
    package var modelsURL: URL { siblingURL(v1Path: "/models") }
    /// vLLM's `/tokenize`, at the server's root (beside `/v1`).
    package var tokenizeURL: URL { siblingURL(v1Path: nil, rootPath: "/tokenize") }

    private func siblingURL(v1Path: String?, rootPath: String = "") -> URL {
        guard var components = URLComponents(url: chatCompletionsURL, resolvingAgainstBaseURL: false) else {
            return chatCompletionsURL
        }
        var path = components.path
        if path.hasSuffix("/chat/completions") { path.removeLast("/chat/completions".count) }
        if let v1Path {
            path += v1Path
        } else {
            if path.hasSuffix("/v1") { path.removeLast(3) }
            path += rootPath
        }
        components.path = path
        components.query = nil
        return components.url ?? chatCompletionsURL
    }

    static func chatCompletionsURL(_ endpoint: String) throws -> URL {
        let trimmed = endpoint.trimmingCharacters(in: .whitespacesAndNewlines)
        guard var components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw AssistError.invalidEndpoint(endpoint: endpoint, reason: "expected http://host:port or https://host/v1")
        }
        var path = components.path
        while path.hasSuffix("/") { path.removeLast() }
        if path.hasSuffix("/chat/completions") {
            // Already complete.
        } else if path.hasSuffix("/v1") {
            path += "/chat/completions"
        } else {
            path += "/v1/chat/completions"
        }
        components.path = path
        guard let url = components.url else {
            throw AssistError.invalidEndpoint(endpoint: endpoint, reason: "cannot form the chat-completions URL")
        }
        return url
    }
}

/// Molmo2 behind a vLLM server's OpenAI-compatible chat API: sends the request's frames (PNG, with their sample
/// times as vLLM's Molmo2 processor reads them, see `ChatCompletionWire`) and streams the answer back, with idle and
/// total timeouts, bounded retries with exponential backoff on connection failures and HTTP 429/5xx, and one-line
/// errors that name the endpoint.
package struct RemoteGroundingModel: GroundingModel {
    package var configuration: RemoteModelConfiguration
    /// The clock the idle and total timeouts run on.
    package let clock: TimeoutClock
    /// What this model has learned about its server (context length, whether it streams), shared by copies.
    private let facts = ServerFacts()

    package init(configuration: RemoteModelConfiguration, clock: TimeoutClock = .continuous) {
        self.configuration = configuration
        self.clock = clock
    }

    /// The server's context length for this model (`max_model_len` of `/v1/models`); nil when the server does not
    /// say. Asked once per model value.
    package func contextLength() async throws -> Int? {
        if let known = facts.contextLength { return known.value }
        let (status, data) = try await exchange(
            url: configuration.modelsURL, method: "GET", body: nil, accept: "application/json")
        var length: Int?
        if status == 200, let list = try? JSONDecoder().decode(ChatCompletionWire.ModelList.self, from: data) {
            let entry = list.data.first { $0.id == configuration.modelName } ?? (list.data.count == 1 ? list.data.first : nil)
            length = entry?.maxModelLen
        }
        facts.contextLength = .init(value: length)
        return length
    }

    /// The model names the server serves (`/v1/models`).
    package func servedModels() async throws -> [String] {
        let (status, data) = try await exchange(
            url: configuration.modelsURL, method: "GET", body: nil, accept: "application/json")
        guard status == 200 else {
            throw AssistError.server(
                endpoint: configuration.modelsURL.absoluteString, status: status,
                message: ChatCompletionWire.errorMessage(body: data, status: status), attempts: 1)
        }
        guard let list = try? JSONDecoder().decode(ChatCompletionWire.ModelList.self, from: data) else {
            throw AssistError.invalidResponse(endpoint: configuration.modelsURL.absoluteString, reason: "not a model list")
        }
        return list.data.map(\.id)
    }

    /// The answer budget for `body`'s prompt: the request's budget, at most the context left after the prompt.
    private func tokenBudget(
        for request: GroundingRequest, encodedFrames: [String]
    ) async throws -> (maxTokens: Int, promptTokens: Int?, contextTokens: Int?) {
        guard configuration.sizeBudgetToContext else { return (request.maxNewTokens, nil, nil) }
        let context: Int?
        do {
            context = try await contextLength()
        } catch let error as AssistError {
            if case .cancelled = error { throw error }
            context = nil
        }
        guard let context else { return (request.maxNewTokens, nil, nil) }
        var promptTokens: Int?
        if facts.canTokenize {
            let body = try ChatCompletionWire.tokenizeBody(
                for: request, model: configuration.modelName, encodedFrames: encodedFrames)
            do {
                let (status, data) = try await exchange(
                    url: configuration.tokenizeURL, method: "POST", body: body, accept: "application/json")
                if status == 200, let reply = try? JSONDecoder().decode(ChatCompletionWire.TokenizeReply.self, from: data) {
                    promptTokens = reply.count
                } else if status == 404 || status == 405 {
                    facts.canTokenize = false
                }
            } catch let error as AssistError {
                if case .cancelled = error { throw error }
            }
        }
        guard let promptTokens else { return (min(request.maxNewTokens, context), nil, context) }
        let room = context - promptTokens
        guard room >= 1 else {
            throw AssistError.promptTooLong(endpoint: endpoint, promptTokens: promptTokens, contextTokens: context)
        }
        return (min(request.maxNewTokens, room), promptTokens, context)
    }

    /// A small request beside the chat completion (`/v1/models`, `/tokenize`), with the same timeouts.
    private func exchange(url: URL, method: String, body: Data?, accept: String) async throws -> (Int, Data) {
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = method
        urlRequest.httpBody = body
        if body != nil { urlRequest.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        urlRequest.setValue(accept, forHTTPHeaderField: "Accept")
        if let key = configuration.apiKey, !key.isEmpty {
            urlRequest.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        }
        var status = 0
        var data = Data()
        do {
            for try await event in HTTPExchange.start(
                urlRequest, idleTimeout: configuration.idleTimeout, totalTimeout: configuration.totalTimeout, clock: clock)
            {
                switch event {
                case .sent: break
                case .response(let code, _): status = code
                case .data(let piece): if data.count < 1 << 22 { data.append(piece) }
                }
            }
        } catch {
            if Task.isCancelled { throw AssistError.cancelled(endpoint: url.absoluteString) }
            throw AssistError.unreachable(endpoint: url.absoluteString, reason: "\(error)", attempts: 1)
        }
        return (status, data)
    }

    package var displayName: String { "\(configuration.modelName) via \(configuration.chatCompletionsURL.absoluteString)" }

    private var endpoint: String { configuration.chatCompletionsURL.absoluteString }

    package func answer(
        _ request: GroundingRequest, progress: @escaping @Sendable (GroundingProgress) -> Void,
        onToken: @escaping @Sendable (String) -> Void
    ) async throws -> GroundingAnswer {
        let started = Self.now()
        let frames = try encodeFrames(request, progress: progress)
        let encodeSeconds = Self.now() - started
        let budget = try await tokenBudget(for: request, encodedFrames: frames)
        let attempts = max(1, configuration.maxAttempts)
        var attempt = 1
        while true {
            try checkCancellation()
            let streaming = configuration.streaming && facts.streams
            let body = try encodeBody(request, frames: frames, stream: streaming, maxTokens: budget.maxTokens)
            do {
                var answer = try await send(body, streaming: streaming, attempt: attempt, progress: progress, onToken: onToken)
                answer.timings.encodeSeconds = encodeSeconds
                answer.timings.totalSeconds = Self.now() - started
                answer.timings.attempts = attempt
                answer.maxTokens = budget.maxTokens
                answer.contextTokens = budget.contextTokens
                if answer.promptTokens == nil { answer.promptTokens = budget.promptTokens }
                return answer
            } catch let failure as AttemptFailure {
                // A server or proxy that cannot stream: ask again for the whole answer at once (not an attempt).
                if streaming, failure.refusesStreaming {
                    facts.streams = false
                    progress(GroundingProgress(stage: .retrying, detail: "the server does not stream; asking for the whole answer"))
                    continue
                }
                if failure.isRetryable, attempt < attempts {
                    let pause = min(configuration.maxBackoff, configuration.initialBackoff * pow(2, Double(attempt - 1)))
                    let detail = "\(failure.summary); attempt \(attempt + 1) of \(attempts) in \(AssistError.seconds(pause))"
                    progress(GroundingProgress(stage: .retrying, detail: detail))
                    do {
                        try await Task.sleep(nanoseconds: UInt64(max(0, pause) * 1e9))
                    } catch {
                        throw AssistError.cancelled(endpoint: endpoint)
                    }
                    attempt += 1
                    continue
                }
                throw failure.error(endpoint: endpoint, attempts: attempt)
            }
        }
    }

    private func checkCancellation() throws {
        if Task.isCancelled { throw AssistError.cancelled(endpoint: endpoint) }
    }

    /// Monotonic seconds, for the timings an answer reports.
    static func now() -> Double { TimeoutClock.continuous.now() }

    private func encodeFrames(_ request: GroundingRequest, progress: @Sendable (GroundingProgress) -> Void) throws -> [String] {
        let images: [Frame]
        switch request.media {
        case .video(let frames, _, _, _): images = frames.map(\.image)
        case .images(let stills): images = stills.map(\.image)
        }
        guard !images.isEmpty else {
            throw AssistError.invalidRequest(media: request.mediaName, reason: "no frames to send")
        }
        var encoded: [String] = []
        encoded.reserveCapacity(images.count)
        var previous: (Frame, String)?
        for (k, image) in images.enumerated() {
            try checkCancellation()
            if let (frame, text) = previous, frame == image {
                encoded.append(text)
            } else {
                do {
                    let text = try ChatCompletionWire.pngBase64(image)
                    encoded.append(text)
                    previous = (image, text)
                } catch {
                    throw AssistError.frameUnavailable(
                        media: request.mediaName, frame: image.index, reason: "PNG encoding failed: \(error)")
                }
            }
            progress(GroundingProgress(stage: .encodingFrames, fraction: Double(k + 1) / Double(images.count)))
        }
        return encoded
    }

    private func encodeBody(_ request: GroundingRequest, frames: [String], stream: Bool, maxTokens: Int) throws -> Data {
        do {
            return try ChatCompletionWire.body(
                for: request, model: configuration.modelName, stream: stream, temperature: configuration.temperature,
                encodedFrames: frames, maxTokens: maxTokens, topLogprobs: configuration.topLogprobs)
        } catch {
            throw AssistError.invalidRequest(media: request.mediaName, reason: "cannot encode the request: \(error)")
        }
    }

    /// One attempt: POST the body, read the status, stream or collect the completion.
    private func send(
        _ body: Data, streaming: Bool, attempt: Int, progress: @escaping @Sendable (GroundingProgress) -> Void,
        onToken: @escaping @Sendable (String) -> Void
    ) async throws -> GroundingAnswer {
        var urlRequest = URLRequest(url: configuration.chatCompletionsURL)
        urlRequest.httpMethod = "POST"
        urlRequest.httpBody = body
        urlRequest.setValue("application/json", forHTTPHeaderField: "Content-Type")
        urlRequest.setValue(streaming ? "text/event-stream" : "application/json", forHTTPHeaderField: "Accept")
        if let key = configuration.apiKey, !key.isEmpty {
            urlRequest.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        }
        let sentAt = Self.now()
        progress(GroundingProgress(stage: .uploading, fraction: 0, detail: attempt > 1 ? "attempt \(attempt)" : nil))
        let events = HTTPExchange.start(
            urlRequest, idleTimeout: configuration.idleTimeout, totalTimeout: configuration.totalTimeout, clock: clock)

        var status = 0
        var isEventStream = false
        var errorBody = Data()
        var wholeBody = Data()
        var parser = ServerSentEventParser()
        var text = ""
        var tokens = 0
        var firstTokenAt: Double?
        var lastTokenAt: Double?
        var finishReason: String?
        var promptTokens: Int?
        var completionTokens: Int?
        var servedModel: String?
        var sawDone = false
        var logprobs: [GroundingAnswer.TokenLogprob] = []

        func handle(event payload: String) throws {
            let trimmed = payload.trimmingCharacters(in: .whitespaces)
            if trimmed == "[DONE]" {
                sawDone = true
                return
            }
            guard let delta = ChatCompletionWire.decode(Data(trimmed.utf8)) else {
                throw AttemptFailure.badReply("a streamed chunk is not a chat completion: \(trimmed.prefix(120))")
            }
            if let message = delta.error { throw AttemptFailure.streamError(message) }
            servedModel = delta.model ?? servedModel
            if let reason = delta.finishReason { finishReason = reason }
            if let value = delta.promptTokens { promptTokens = value }
            if let value = delta.completionTokens { completionTokens = value }
            logprobs += delta.logprobs.map(GroundingAnswer.TokenLogprob.init)
            if !delta.content.isEmpty {
                let now = Self.now()
                if firstTokenAt == nil {
                    firstTokenAt = now
                    progress(GroundingProgress(stage: .generating))
                }
                lastTokenAt = now
                tokens += 1
                text += delta.content
                onToken(delta.content)
            }
        }

        do {
            for try await event in events {
                switch event {
                case .sent(let done, let total):
                    if total > 0 { progress(GroundingProgress(stage: .uploading, fraction: Double(done) / Double(total))) }
                case .response(let code, let contentType):
                    status = code
                    isEventStream = contentType.lowercased().contains("text/event-stream")
                    if code == 200 { progress(GroundingProgress(stage: .waitingForModel)) }
                case .data(let data):
                    if status != 200 {
                        if errorBody.count < 1 << 16 { errorBody.append(data) }
                    } else if isEventStream {
                        for payload in parser.feed(data) { try handle(event: payload) }
                    } else {
                        wholeBody.append(data)
                    }
                }
            }
        } catch let failure as HTTPExchange.Failure {
            if Task.isCancelled { throw AssistError.cancelled(endpoint: endpoint) }
            throw AttemptFailure.transport(failure, tokensReceived: tokens)
        } catch let failure as AttemptFailure {
            throw failure
        } catch {
            if Task.isCancelled { throw AssistError.cancelled(endpoint: endpoint) }
            throw AttemptFailure.badReply("\(error)")
        }
        try checkCancellation()

        guard status == 200 else {
            if status == 0 { throw AttemptFailure.badReply("the connection closed without an HTTP response") }
            throw AttemptFailure.http(status: status, message: ChatCompletionWire.errorMessage(body: errorBody, status: status))
        }
        if isEventStream {
            for payload in parser.finish() { try handle(event: payload) }
            guard sawDone || finishReason != nil else {
                throw AttemptFailure.badReply("the event stream ended without a finish reason or [DONE]")
            }
        } else {
            guard let delta = ChatCompletionWire.decode(wholeBody) else {
                throw AttemptFailure.badReply(
                    "the body is not a chat completion: \(String(decoding: wholeBody.prefix(120), as: UTF8.self))")
            }
            if let message = delta.error { throw AttemptFailure.streamError(message) }
            text = delta.content
            finishReason = delta.finishReason
            promptTokens = delta.promptTokens
            completionTokens = delta.completionTokens
            servedModel = delta.model
            logprobs = delta.logprobs.map(GroundingAnswer.TokenLogprob.init)
            if !text.isEmpty {
                firstTokenAt = Self.now()
                lastTokenAt = firstTokenAt
                onToken(text)
            }
        }
        var answer = GroundingAnswer(
            text: text, model: servedModel ?? configuration.modelName, finishReason: finishReason,
            promptTokens: promptTokens, completionTokens: completionTokens,
            timings: GroundingTimings(
                firstTokenSeconds: firstTokenAt.map { $0 - sentAt },
                generateSeconds: firstTokenAt.flatMap { first in lastTokenAt.map { $0 - first } }))
        answer.logprobs = logprobs
        return answer
    }
}

/// What a model value has learned about its server; shared by its copies (a struct's `let` of a class).
private final class ServerFacts: @unchecked Sendable {
    struct Known { var value: Int? }
    private let lock = NSLock()
    private var storedContextLength: Known?
    private var storedStreams = true
    private var storedCanTokenize = true

    var contextLength: Known? {
        get { lock.withLock { storedContextLength } }
        set { lock.withLock { storedContextLength = newValue } }
    }
    var streams: Bool {
        get { lock.withLock { storedStreams } }
        set { lock.withLock { storedStreams = newValue } }
    }
    var canTokenize: Bool {
        get { lock.withLock { storedCanTokenize } }
        set { lock.withLock { storedCanTokenize = newValue } }
    }
}

extension GroundingAnswer.TokenLogprob {
    init(_ wire: ChatCompletionWire.TokenLogprob) {
        self.init(
            token: wire.token, logprob: wire.logprob,
            alternatives: (wire.topLogprobs ?? []).map { (token: $0.token, logprob: $0.logprob) })
    }
}

/// Why one attempt failed, and whether another may succeed.
enum AttemptFailure: Error {
    case transport(HTTPExchange.Failure, tokensReceived: Int)
    case http(status: Int, message: String)
    case streamError(String)
    case badReply(String)

    var isRetryable: Bool {
        switch self {
        case .transport(let failure, let tokens):
            switch failure {
            case .cannotConnect: return true
            case .connectionLost: return tokens == 0
            case .idleTimeout, .totalTimeout, .other: return false
            }
        case .http(let status, _): return status == 429 || (500...599).contains(status)
        case .streamError, .badReply: return false
        }
    }

    /// The server (or a proxy before it) refused a streamed request as such.
    var refusesStreaming: Bool {
        guard case .http(let status, let message) = self, [400, 406, 415, 422, 501].contains(status) else { return false }
        let lowered = message.lowercased()
        return lowered.contains("stream") || lowered.contains("event-stream")
    }

    var summary: String {
        switch self {
        case .transport(let failure, _):
            switch failure {
            case .cannotConnect(let reason), .connectionLost(let reason), .other(let reason): return reason
            case .idleTimeout: return "timed out"
            case .totalTimeout: return "timed out"
            }
        case .http(let status, _): return "HTTP \(status)"
        case .streamError: return "server error in the stream"
        case .badReply: return "unexpected reply"
        }
    }

    func error(endpoint: String, attempts: Int) -> AssistError {
        switch self {
        case .transport(let failure, let tokens):
            switch failure {
            case .cannotConnect(let reason): return .unreachable(endpoint: endpoint, reason: reason, attempts: attempts)
            case .connectionLost(let reason):
                return .invalidResponse(endpoint: endpoint, reason: "\(reason) after \(tokens) streamed chunks")
            case .idleTimeout(let seconds):
                return .timedOut(
                    endpoint: endpoint, seconds: seconds,
                    what: tokens > 0 ? "no token for too long" : "no reply")
            case .totalTimeout(let seconds): return .timedOut(endpoint: endpoint, seconds: seconds, what: "the answer took too long")
            case .other(let reason): return .invalidResponse(endpoint: endpoint, reason: reason)
            }
        case .http(let status, let message): return .server(endpoint: endpoint, status: status, message: message, attempts: attempts)
        case .streamError(let message): return .server(endpoint: endpoint, status: 200, message: message, attempts: attempts)
        case .badReply(let reason): return .invalidResponse(endpoint: endpoint, reason: reason)
        }
    }
}
