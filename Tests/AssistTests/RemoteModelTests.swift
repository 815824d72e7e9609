import Basics
import Foundation
import Testing

@testable import Assist

/// Collects what a model reports while answering.
private final class Transcript: @unchecked Sendable {
    private let lock = NSLock()
    private var tokenList: [String] = []
    private var stageList: [GroundingStage] = []

    var tokens: [String] {
        lock.lock()
        defer { lock.unlock() }
        return tokenList
    }

    var stages: [GroundingStage] {
        lock.lock()
        defer { lock.unlock() }
        return stageList
    }

    func token(_ text: String) {
        lock.lock()
        tokenList.append(text)
        lock.unlock()
    }

    func progress(_ report: GroundingProgress) {
        lock.lock()
        if stageList.last != report.stage { stageList.append(report.stage) }
        lock.unlock()
    }
}

private let modelName = "allenai/Molmo2-4B"

/// The whole-video tracking request of the recorded answer, its expected shape, and the recorded events.
private func trackingCase(stream: Bool) throws -> (GroundingRequest, Molmo2RequestShape) {
    let video = SyntheticVideo(width: 96, height: 54)
    let request = try GroundingRequest.make(task: .track(label: "checker disc", fps: 2), scope: .defaultWholeVideo, source: video.source)
    let times = (0..<14).map { String(format: "%.1f", Double($0) * 0.5) } + ["7.0"]
    return (
        request,
        Molmo2RequestShape(
            model: modelName, question: "Track checker disc in 2 FPS.", stream: stream, printedTimes: times, maxTokens: 4096)
    )
}

/// The model on a clock that stays still unless the test moves it: no timeout fires because the machine is slow.
private func remoteModel(_ configuration: RemoteModelConfiguration, clock: ManualClock = ManualClock()) -> RemoteGroundingModel {
    RemoteGroundingModel(configuration: configuration, clock: TimeoutClock(clock))
}

private func configuration(_ url: String, model: String = modelName, stream: Bool = true) throws -> RemoteModelConfiguration {
    var configuration = try RemoteModelConfiguration(endpoint: url, modelName: model)
    configuration.streaming = stream
    configuration.initialBackoff = 0.01
    configuration.maxBackoff = 0.05
    configuration.idleTimeout = 20
    configuration.totalTimeout = 60
    return configuration
}

/// A server that answers `/v1/models` (context `contextLength`) and `/tokenize` (`promptTokens`) as vLLM does,
/// checks every chat request against `shape` (400 with vLLM's error body when it does not match) and otherwise
/// answers with `reply(number)`, numbering chat requests from 1.
private func molmo2Server(
    _ shape: Molmo2RequestShape, contextLength: Int? = 32768, promptTokens: Int? = 1531,
    reply: @escaping @Sendable (Int) -> LoopbackChatServer.Reply
) throws -> LoopbackChatServer {
    let counter = ChatCounter()
    return try LoopbackChatServer { request, _ in
        if request.path == "/v1/models" {
            let length = contextLength.map { #", "max_model_len": \#($0)"# } ?? ""
            return .json(
                status: 200,
                body: #"{"object": "list", "data": [{"id": "\#(modelName)", "object": "model", "root": "\#(modelName)"\#(length)}]}"#)
        }
        if request.path == "/tokenize" {
            guard let promptTokens else { return .json(status: 404, body: #"{"detail": "Not Found"}"#) }
            return .json(status: 200, body: #"{"count": \#(promptTokens), "max_model_len": \#(contextLength ?? 0), "tokens": []}"#)
        }
        let number = counter.next()
        let problems = shape.problems(request)
        guard problems.isEmpty else { return .json(status: 400, body: Molmo2RequestShape.errorBody(problems)) }
        return reply(number)
    }
}

private final class ChatCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func next() -> Int { lock.withLock { count += 1; return count } }
}

@Test func streamedAnswerArrivesTokenByToken() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let events = try recordedEvents("track-whole-video.sse")
    let server = try molmo2Server(shape) { _ in .events(events) }
    defer { server.stop() }
    let transcript = Transcript()
    let model = remoteModel(try configuration(server.url))
    let answer = try await model.answer(request, progress: { transcript.progress($0) }, onToken: { transcript.token($0) })
    let expected = String(decoding: try fixture("track-whole-video.answer.txt"), as: UTF8.self)
        .trimmingCharacters(in: .newlines)
    #expect(answer.text == expected)
    #expect(transcript.tokens.count == 145)
    #expect(transcript.tokens.joined() == expected)
    #expect(answer.finishReason == "stop")
    #expect(answer.promptTokens == 1531 && answer.completionTokens == 145)
    #expect(answer.model == modelName)
    #expect(answer.timings.attempts == 1)
    #expect(answer.timings.firstTokenSeconds != nil)
    #expect(transcript.stages.first == .encodingFrames)
    #expect(transcript.stages.contains(.waitingForModel) && transcript.stages.last == .generating)
    #expect(server.chatRequests.count == 1)
    #expect(server.chatRequests.first?.headers["accept"] == "text/event-stream")
    // The recorded answer maps onto the request's frames.
    #expect(Predictions(answer: answer, request: request).objects.first?.points.count == 14)
}

@Test func constrainedRequestsSendTheRegularExpression() async throws {
    let video = SyntheticVideo(width: 96, height: 54)
    let request = try GroundingRequest.make(
        task: .track(label: "checker disc", fps: 2), scope: .defaultWholeVideo, source: video.source, constrainOutput: true)
    let (_, shape) = try trackingCase(stream: true)
    let events = try recordedEvents("track-whole-video.sse")
    let server = try molmo2Server(shape) { _ in .events(events) }
    defer { server.stop() }
    let model = remoteModel(try configuration(server.url))
    let answer = try await model.answer(request)
    let body = try #require(server.chatRequests.first?.json)
    let sent = try #require((body["structured_outputs"] as? [String: Any])?["regex"] as? String)
    #expect(sent == request.constrainedOutput?.regularExpression)
    #expect(sent.hasPrefix(#"<tracks coords=""#) && sent.hasSuffix("\">checker disc</tracks>"))
    #expect(body["guided_regex"] == nil)
    // The recorded answer is one the expression allows.
    let regex = try NSRegularExpression(pattern: "^(?:" + sent + ")$")
    #expect(regex.firstMatch(in: answer.text, range: NSRange(answer.text.startIndex..., in: answer.text)) != nil)

    // Without a constraint, no structured output is requested.
    let (free, _) = try trackingCase(stream: true)
    _ = try await model.answer(free)
    let plain = try #require(server.chatRequests.last?.json)
    #expect(plain["structured_outputs"] == nil)
}

@Test func completeAnswerWithoutStreaming() async throws {
    let video = SyntheticVideo(width: 64, height: 36)
    let request = try GroundingRequest.make(task: .count(label: "red stripes"), scope: .frame(75), source: video.source)
    let shape = Molmo2RequestShape(
        model: modelName, question: "How many red stripes are there?", stream: false, printedTimes: nil, imageCount: 1,
        maxTokens: 192)
    let recorded = String(decoding: try fixture("count-frame.json"), as: UTF8.self)
    let server = try molmo2Server(shape) { _ in .json(status: 200, body: recorded) }
    defer { server.stop() }
    let transcript = Transcript()
    let model = remoteModel(try configuration(server.url, stream: false))
    let answer = try await model.answer(request, progress: { transcript.progress($0) }, onToken: { transcript.token($0) })
    #expect(answer.text.hasPrefix("Counting the <points"))
    #expect(transcript.tokens == [answer.text])
    #expect(answer.completionTokens == 39)
    let predictions = Predictions(answer: answer, request: request)
    #expect(predictions.statedCount == 3 && predictions.objects.allSatisfy { $0.points.first?.frame == 75 })
}

@Test func requestShapeMismatchIsReportedWithTheServersMessage() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let server = try molmo2Server(shape) { _ in .events(["[DONE]"]) }
    defer { server.stop() }
    let model = remoteModel(try configuration(server.url, model: "Molmo2-4B-typo"))
    do {
        _ = try await model.answer(request)
        Issue.record("a rejected request must fail")
    } catch let error as AssistError {
        guard case .server(let endpoint, let status, let message, let attempts) = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(endpoint == "\(server.url)/v1/chat/completions")
        #expect(status == 400 && attempts == 1)
        #expect(message.contains("Molmo2-4B-typo"))
        #expect(error.description.contains("HTTP 400") && !error.description.contains("\n"))
    }
    #expect(server.chatRequests.count == 1, "4xx is not retried")
}

@Test func serverErrorsAreRetriedWithBackoff() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let events = try recordedEvents("track-whole-video.sse")
    let server = try molmo2Server(shape) { number in
        switch number {
        case 1: return .json(status: 503, body: #"{"error":{"message":"engine is starting","code":503}}"#)
        case 2: return .close
        default: return .events(events)
        }
    }
    defer { server.stop() }
    let transcript = Transcript()
    let model = remoteModel(try configuration(server.url))
    let answer = try await model.answer(request, progress: { transcript.progress($0) }, onToken: { transcript.token($0) })
    #expect(answer.timings.attempts == 3)
    #expect(server.chatRequests.count == 3)
    #expect(transcript.stages.contains(.retrying))
    #expect(transcript.tokens.joined() == answer.text && !answer.text.isEmpty)
}

@Test func persistentServerErrorsGiveUpAfterTheLastAttempt() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let server = try molmo2Server(shape) { _ in .json(status: 500, body: #"{"error":{"message":"CUDA out of memory","code":500}}"#) }
    defer { server.stop() }
    var settings = try configuration(server.url)
    settings.maxAttempts = 2
    do {
        _ = try await remoteModel(settings).answer(request)
        Issue.record("expected a server error")
    } catch let error as AssistError {
        #expect(error == .server(endpoint: settings.chatCompletionsURL.absoluteString, status: 500, message: "CUDA out of memory", attempts: 2))
    }
    #expect(server.chatRequests.count == 2)
}

@Test func unreachableEndpointIsOneClearLine() async throws {
    let (request, _) = try trackingCase(stream: true)
    let port = try LoopbackChatServer.closedPort()
    let settings = try configuration("http://127.0.0.1:\(port)")
    do {
        _ = try await remoteModel(settings).answer(request)
        Issue.record("nothing listens there")
    } catch let error as AssistError {
        guard case .unreachable(let endpoint, _, let attempts) = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(endpoint == "http://127.0.0.1:\(port)/v1/chat/completions")
        #expect(attempts == 3)
        #expect(error.description.hasPrefix("http://127.0.0.1:\(port)/v1/chat/completions: model server unreachable"))
        #expect(!error.description.contains("\n"))
    }
}

@Test func silentServerTimesOut() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let server = try molmo2Server(shape) { _ in .hang }
    defer { server.stop() }
    var settings = try configuration(server.url)
    settings.idleTimeout = 0.4
    let clock = ManualClock()
    let model = remoteModel(settings, clock: clock)
    do {
        // The clock moves only once the server holds the request.
        _ = try await runAdvancing(clock, by: .seconds(1), when: { server.chatRequests.count == 1 }) {
            try await model.answer(request)
        }
        Issue.record("expected a timeout")
    } catch let error as AssistError {
        guard case .timedOut(let endpoint, let seconds, _) = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(endpoint == settings.chatCompletionsURL.absoluteString && seconds == 0.4)
    }
    #expect(server.chatRequests.count == 1, "a timeout is not retried")
}

@Test func stalledStreamTimesOutBetweenTokens() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let events = try recordedEvents("track-whole-video.sse")
    let server = try molmo2Server(shape) { _ in .events(events, stallAfter: 5) }
    defer { server.stop() }
    var settings = try configuration(server.url)
    settings.idleTimeout = 0.4
    let transcript = Transcript()
    let clock = ManualClock()
    let model = remoteModel(settings, clock: clock)
    do {
        // The clock moves only once the stream has stalled after its fourth token.
        _ = try await runAdvancing(clock, by: .seconds(1), when: { transcript.tokens.count == 4 }) {
            try await model.answer(request, progress: { transcript.progress($0) }, onToken: { transcript.token($0) })
        }
        Issue.record("expected a timeout")
    } catch let error as AssistError {
        guard case .timedOut(_, _, let what) = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(what == "no token for too long")
    }
    #expect(transcript.tokens.count == 4)
}

@Test func totalTimeoutEndsAStreamThatKeepsTrickling() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let events = try recordedEvents("track-whole-video.sse")
    let server = try molmo2Server(shape) { _ in .events(events, stallAfter: 5) }
    defer { server.stop() }
    var settings = try configuration(server.url)
    settings.idleTimeout = 600
    settings.totalTimeout = 30
    let transcript = Transcript()
    let clock = ManualClock()
    let model = remoteModel(settings, clock: clock)
    do {
        _ = try await runAdvancing(clock, by: .seconds(10), when: { transcript.tokens.count == 4 }) {
            try await model.answer(request, progress: { transcript.progress($0) }, onToken: { transcript.token($0) })
        }
        Issue.record("expected a timeout")
    } catch let error as AssistError {
        guard case .timedOut(_, let seconds, let what) = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(seconds == 30 && what == "the answer took too long")
    }
}

@Test func cancellingStopsAnAnswerInFlight() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let events = try recordedEvents("track-whole-video.sse")
    let server = try molmo2Server(shape) { _ in .events(events, stallAfter: 3) }
    defer { server.stop() }
    // The timeouts run on a clock that stays still: the cancellation, not a timeout, is what is under test.
    let model = remoteModel(try configuration(server.url))
    let (firstToken, signal) = AsyncStream<Void>.makeStream()
    let task = Task {
        try await model.answer(request, progress: { _ in }, onToken: { _ in signal.yield() })
    }
    for await _ in firstToken { break }
    task.cancel()
    do {
        _ = try await task.value
        Issue.record("a cancelled answer must not complete")
    } catch let error as AssistError {
        #expect(error == .cancelled(endpoint: "\(server.url)/v1/chat/completions"))
    }
    #expect(server.chatRequests.count == 1)
}

@Test func errorInsideTheStreamIsAServerError() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let events = try Array(recordedEvents("track-whole-video.sse").prefix(4)) + [
        #"{"error":{"object":"error","message":"decoding failed","type":"InternalServerError","code":500}}"#
    ]
    let server = try molmo2Server(shape) { _ in .events(events) }
    defer { server.stop() }
    do {
        _ = try await remoteModel(try configuration(server.url)).answer(request)
        Issue.record("expected a server error")
    } catch let error as AssistError {
        guard case .server(_, _, let message, let attempts) = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(message == "decoding failed" && attempts == 1)
    }
    #expect(server.chatRequests.count == 1, "tokens were already streamed: no retry")
}

// MARK: - Server facts, budgets and messages that say the fix

@Test func answerBudgetFitsTheServersContext() async throws {
    // The tracking budget (4096) does not fit a 3000-token context after a 1531-token prompt: 1469 are asked for.
    let (request, shapeAtFullBudget) = try trackingCase(stream: true)
    var shape = shapeAtFullBudget
    shape.maxTokens = 3000 - 1531
    let events = try recordedEvents("track-whole-video.sse")
    let server = try molmo2Server(shape, contextLength: 3000, promptTokens: 1531) { _ in .events(events) }
    defer { server.stop() }
    let answer = try await remoteModel(try configuration(server.url)).answer(request)
    #expect(answer.maxTokens == 1469 && answer.contextTokens == 3000)
    #expect(server.chatRequests.count == 1)
    // The prompt was counted with the same messages and media arguments, without the sampling fields.
    let tokenize = try #require(server.requests.first { $0.path == "/tokenize" }?.json)
    #expect(tokenize["add_generation_prompt"] as? Bool == true)
    #expect(tokenize["media_io_kwargs"] != nil && tokenize["max_tokens"] == nil && tokenize["stream"] == nil)
    #expect(tokenize["messages"] as? [[String: Any]] != nil)
}

@Test func answerBudgetIsTheRequestsWhenTheContextIsLarge() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let events = try recordedEvents("track-whole-video.sse")
    let server = try molmo2Server(shape, contextLength: 32768, promptTokens: 1531) { _ in .events(events) }
    defer { server.stop() }
    let model = remoteModel(try configuration(server.url))
    let answer = try await model.answer(request)
    #expect(answer.maxTokens == 4096)
    // The context length is asked for once per model.
    _ = try await model.answer(request)
    #expect(server.requests.filter { $0.path == "/v1/models" }.count == 1)
}

@Test func answerBudgetWithoutTokenizeStaysWithinTheContext() async throws {
    let (request, shapeAtFullBudget) = try trackingCase(stream: true)
    var shape = shapeAtFullBudget
    shape.maxTokens = 2048
    let events = try recordedEvents("track-whole-video.sse")
    let server = try molmo2Server(shape, contextLength: 2048, promptTokens: nil) { _ in .events(events) }
    defer { server.stop() }
    let answer = try await remoteModel(try configuration(server.url)).answer(request)
    #expect(answer.maxTokens == 2048)
}

@Test func promptLongerThanTheContextIsOneLineThatSaysTheFix() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let server = try molmo2Server(shape, contextLength: 1024, promptTokens: 1531) { _ in .events(["[DONE]"]) }
    defer { server.stop() }
    do {
        _ = try await remoteModel(try configuration(server.url)).answer(request)
        Issue.record("the prompt cannot fit")
    } catch let error as AssistError {
        #expect(error == .promptTooLong(endpoint: "\(server.url)/v1/chat/completions", promptTokens: 1531, contextTokens: 1024))
        #expect(error.description.contains("--max-frames") && error.description.contains("--max-model-len"))
    }
    #expect(server.chatRequests.isEmpty)
}

@Test func refusedMediaArgumentsNameTheServerFlag() async throws {
    let (request, _) = try trackingCase(stream: true)
    // vLLM 0.32's refusal when it was started without --trust-request-mm-kwargs, behind a long preamble.
    let message = String(repeating: "Context. ", count: 80) + "Per-request media_io_kwargs are disabled by default "
        + "because they can change multimodal media loading resource usage. Start the server with "
        + "--trust-request-mm-kwargs only when clients are trusted."
    let server = try LoopbackChatServer { request, _ in
        if request.path.hasSuffix("/chat/completions") {
            return .json(status: 400, body: #"{"error": {"message": "\#(message)", "type": "BadRequestError", "code": 400}}"#)
        }
        return .json(status: 404, body: #"{"detail": "Not Found"}"#)
    }
    defer { server.stop() }
    do {
        _ = try await remoteModel(try configuration(server.url)).answer(request)
        Issue.record("the server refuses the request")
    } catch let error as AssistError {
        let line = error.description
        #expect(!line.contains("\n"))
        #expect(line.hasSuffix("restart it with --trust-request-mm-kwargs"))
        #expect(line.contains("HTTP 400"))
    }
    #expect(server.chatRequests.count == 1, "a 400 is not retried")
}

@Test func longServerMessagesKeepTheirEnd() {
    let message = "Start. " + String(repeating: "filler ", count: 400) + "Use --max-model-len 8192 to fix this."
    let line = AssistError.server(endpoint: "http://h/v1/chat/completions", status: 400, message: message, attempts: 1)
        .description
    #expect(line.hasSuffix("Use --max-model-len 8192 to fix this."))
    #expect(line.contains("Start.") && line.count < 800)
}

@Test func serverThatCannotStreamIsAskedForTheWholeAnswer() async throws {
    let video = SyntheticVideo(width: 64, height: 36)
    let request = try GroundingRequest.make(task: .count(label: "red stripes"), scope: .frame(75), source: video.source)
    let recorded = String(decoding: try fixture("count-frame.json"), as: UTF8.self)
    let server = try LoopbackChatServer { request, _ in
        guard request.path.hasSuffix("/chat/completions") else { return .json(status: 404, body: #"{"detail":"Not Found"}"#) }
        if request.json?["stream"] as? Bool == true {
            return .json(status: 400, body: #"{"error": {"message": "stream is not supported by this proxy", "code": 400}}"#)
        }
        return .json(status: 200, body: recorded)
    }
    defer { server.stop() }
    let transcript = Transcript()
    let model = remoteModel(try configuration(server.url))
    let answer = try await model.answer(request, progress: { transcript.progress($0) }, onToken: { transcript.token($0) })
    #expect(answer.text.hasPrefix("Counting the <points"))
    #expect(transcript.tokens == [answer.text])
    #expect(server.chatRequests.map { $0.json?["stream"] as? Bool } == [true, false])
    // The model remembers: the next question goes without streaming at once.
    _ = try await model.answer(request)
    #expect(server.chatRequests.count == 3 && server.chatRequests.last?.json?["stream"] as? Bool == false)
}

@Test func tokenLogprobsAreReadWhenAskedFor() async throws {
    let video = SyntheticVideo(width: 64, height: 36)
    let request = try GroundingRequest.make(task: .count(label: "red stripes"), scope: .frame(75), source: video.source)
    let events = [
        #"{"model":"m","choices":[{"index":0,"delta":{"content":"There"},"logprobs":{"content":[{"token":"There","logprob":-0.1,"top_logprobs":[{"token":"There","logprob":-0.1},{"token":"Counting","logprob":-2.5}]}]},"finish_reason":null}]}"#,
        #"{"model":"m","choices":[{"index":0,"delta":{"content":" are none."},"logprobs":{"content":[{"token":" are","logprob":-0.2,"top_logprobs":[]},{"token":" none.","logprob":-0.3,"top_logprobs":[]}]},"finish_reason":"stop"}]}"#,
        "[DONE]",
    ]
    let server = try LoopbackChatServer { request, _ in
        request.path.hasSuffix("/chat/completions") ? .events(events) : .json(status: 404, body: #"{"detail":"Not Found"}"#)
    }
    defer { server.stop() }
    var settings = try configuration(server.url)
    settings.topLogprobs = 2
    let answer = try await remoteModel(settings).answer(request)
    #expect(answer.text == "There are none.")
    #expect(answer.logprobs.map(\.token) == ["There", " are", " none."])
    #expect(answer.logprobs.first?.alternatives.map(\.token) == ["There", "Counting"])
    let body = try #require(server.chatRequests.first?.json)
    #expect(body["logprobs"] as? Bool == true && (body["top_logprobs"] as? NSNumber)?.intValue == 2)
}

@Test func answerTextIsMadeSafeForATerminal() {
    #expect(DisplaySafe.visible("a\u{0B}b\u{06}c") == "a␋b␆c")
    #expect(DisplaySafe.visible("x\u{1B}[2Jy") == "x␛[2Jy")
    #expect(DisplaySafe.visible("one\r\ntwo\nthree") == "one⏎two⏎three")
    #expect(DisplaySafe.visible("one\r\ntwo\tthree", keepNewlines: true) == "one\ntwo three")
    #expect(DisplaySafe.visible("\u{7F}\u{85}\u{202E}ok") == "␡\u{FFFD}\u{FFFD}ok")
    #expect(DisplaySafe.visible("<points coords=\"1 1 500 500\">é 😀</points>") == "<points coords=\"1 1 500 500\">é 😀</points>")
}
