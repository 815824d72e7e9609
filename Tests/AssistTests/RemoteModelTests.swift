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

private func configuration(_ url: String, model: String = modelName, stream: Bool = true) throws -> RemoteModelConfiguration {
    var configuration = try RemoteModelConfiguration(endpoint: url, modelName: model)
    configuration.streaming = stream
    configuration.initialBackoff = 0.01
    configuration.maxBackoff = 0.05
    configuration.idleTimeout = 20
    configuration.totalTimeout = 60
    return configuration
}

/// A server that checks every request against `shape` (400 with vLLM's error body when it does not match) and
/// otherwise answers with `reply(number)`.
private func molmo2Server(
    _ shape: Molmo2RequestShape, reply: @escaping @Sendable (Int) -> LoopbackChatServer.Reply
) throws -> LoopbackChatServer {
    try LoopbackChatServer { request, number in
        let problems = shape.problems(request)
        guard problems.isEmpty else { return .json(status: 400, body: Molmo2RequestShape.errorBody(problems)) }
        return reply(number)
    }
}

@Test func streamedAnswerArrivesTokenByToken() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let events = try recordedEvents("track-whole-video.sse")
    let server = try molmo2Server(shape) { _ in .events(events) }
    defer { server.stop() }
    let transcript = Transcript()
    let model = RemoteGroundingModel(configuration: try configuration(server.url))
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
    #expect(server.requests.count == 1)
    #expect(server.requests.first?.headers["accept"] == "text/event-stream")
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
    let model = RemoteGroundingModel(configuration: try configuration(server.url))
    let answer = try await model.answer(request)
    let body = try #require(server.requests.first?.json)
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
    let plain = try #require(server.requests.last?.json)
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
    let model = RemoteGroundingModel(configuration: try configuration(server.url, stream: false))
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
    let model = RemoteGroundingModel(configuration: try configuration(server.url, model: "Molmo2-4B-typo"))
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
    #expect(server.requests.count == 1, "4xx is not retried")
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
    let model = RemoteGroundingModel(configuration: try configuration(server.url))
    let answer = try await model.answer(request, progress: { transcript.progress($0) }, onToken: { transcript.token($0) })
    #expect(answer.timings.attempts == 3)
    #expect(server.requests.count == 3)
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
        _ = try await RemoteGroundingModel(configuration: settings).answer(request)
        Issue.record("expected a server error")
    } catch let error as AssistError {
        #expect(error == .server(endpoint: settings.chatCompletionsURL.absoluteString, status: 500, message: "CUDA out of memory", attempts: 2))
    }
    #expect(server.requests.count == 2)
}

@Test func unreachableEndpointIsOneClearLine() async throws {
    let (request, _) = try trackingCase(stream: true)
    let port = try LoopbackChatServer.closedPort()
    let settings = try configuration("http://127.0.0.1:\(port)")
    do {
        _ = try await RemoteGroundingModel(configuration: settings).answer(request)
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
    do {
        _ = try await RemoteGroundingModel(configuration: settings).answer(request)
        Issue.record("expected a timeout")
    } catch let error as AssistError {
        guard case .timedOut(let endpoint, let seconds, _) = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(endpoint == settings.chatCompletionsURL.absoluteString && seconds == 0.4)
    }
    #expect(server.requests.count == 1, "a timeout is not retried")
}

@Test func stalledStreamTimesOutBetweenTokens() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let events = try recordedEvents("track-whole-video.sse")
    let server = try molmo2Server(shape) { _ in .events(events, stallAfter: 5) }
    defer { server.stop() }
    var settings = try configuration(server.url)
    settings.idleTimeout = 0.4
    let transcript = Transcript()
    do {
        _ = try await RemoteGroundingModel(configuration: settings).answer(request, progress: { transcript.progress($0) }, onToken: { transcript.token($0) })
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

@Test func cancellingStopsAnAnswerInFlight() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let events = try recordedEvents("track-whole-video.sse")
    let server = try molmo2Server(shape) { _ in .events(events, stallAfter: 3) }
    defer { server.stop() }
    // Long timeouts: when the machine is busy (the whole suite runs in parallel on two cores) the test's own
    // task may be scheduled late, and the cancellation, not a timeout, is what is under test.
    var settings = try configuration(server.url)
    settings.idleTimeout = 600
    settings.totalTimeout = 900
    let model = RemoteGroundingModel(configuration: settings)
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
    #expect(server.requests.count == 1)
}

@Test func errorInsideTheStreamIsAServerError() async throws {
    let (request, shape) = try trackingCase(stream: true)
    let events = try Array(recordedEvents("track-whole-video.sse").prefix(4)) + [
        #"{"error":{"object":"error","message":"decoding failed","type":"InternalServerError","code":500}}"#
    ]
    let server = try molmo2Server(shape) { _ in .events(events) }
    defer { server.stop() }
    do {
        _ = try await RemoteGroundingModel(configuration: try configuration(server.url)).answer(request)
        Issue.record("expected a server error")
    } catch let error as AssistError {
        guard case .server(_, _, let message, let attempts) = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(message == "decoding failed" && attempts == 1)
    }
    #expect(server.requests.count == 1, "tokens were already streamed: no retry")
}
