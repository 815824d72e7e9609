import Foundation
import Testing

@testable import Assist

@Test func timestampIndicesPrintAsTheSampleTimes() {
    // Regular 2 fps times, a clip end, long-video linspace times, and values on the rounding edge.
    let samplings: [[Double]] = [
        (0..<14).map { Double($0) * 0.5 } + [6.9666666],
        (0..<384).map { Double($0) * 1234.567 / 383 },
        [0.0004, 0.05, 0.25, 2.95, 10.0499999, 10.0500001, 10.25],
    ]
    for times in samplings {
        let indices = ChatCompletionWire.timestampIndices(for: times)
        #expect(indices.count == times.count)
        #expect(zip(indices, indices.dropFirst()).allSatisfy { $0 <= $1 })
        for (t, index) in zip(times, indices) {
            #expect(String(format: "%.1f", Double(index) / 1000) == String(format: "%.1f", t), "t = \(t), index \(index)")
        }
    }
    let monotone = ChatCompletionWire.timestampIndices(for: [0, 0.5, 1.0, 1.5, 7.0])
    #expect(monotone == [0, 500, 1000, 1500, 7000])
}

@Test func videoBodyCarriesFramesTimesAndModel() throws {
    let video = SyntheticVideo(width: 64, height: 36)
    let request = try GroundingRequest.make(
        task: .track(label: "disc", fps: 2), scope: .frames(30...89, maxFPS: 2, maxFrames: 384), source: video.source)
    guard case .video(let frames, _, _, _) = request.media else {
        Issue.record("expected video")
        return
    }
    let encoded = try frames.map { try ChatCompletionWire.pngBase64($0.image) }
    let body = try ChatCompletionWire.body(
        for: request, model: "allenai/Molmo2-4B", stream: true, temperature: 0, encodedFrames: encoded)
    let shape = Molmo2RequestShape(
        model: "allenai/Molmo2-4B", question: "Track disc in 2 FPS.", stream: true,
        printedTimes: ["0.0", "0.5", "1.0", "1.5", "2.0"], maxTokens: 4096)
    let problems = shape.problems(.init(method: "POST", path: "/v1/chat/completions", headers: [:], body: body))
    #expect(problems.isEmpty, "\(problems)")
    let json = try JSONSerialization.jsonObject(with: body) as? [String: Any]
    #expect((json?["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
    let kwargs = (json?["media_io_kwargs"] as? [String: Any])?["video"] as? [String: Any]
    #expect((kwargs?["duration"] as? NSNumber)?.doubleValue == 2.0)
    // Slashes in base64 are not escaped (the body stays as small as the data).
    #expect(!String(decoding: body, as: UTF8.self).contains("\\/"))
}

@Test func imageBodyUsesImageURLParts() throws {
    let video = SyntheticVideo(width: 32, height: 32)
    let request = try GroundingRequest.make(
        question: "Point to disc in all images.", scope: .images([1, 2, 3]), source: video.source, maxNewTokens: 64)
    guard case .images(let images) = request.media else {
        Issue.record("expected images")
        return
    }
    let body = try ChatCompletionWire.body(
        for: request, model: "m", stream: false, temperature: 0, encodedFrames: try images.map { try ChatCompletionWire.pngBase64($0.image) })
    let shape = Molmo2RequestShape(model: "m", question: "Point to disc in all images.", stream: false, printedTimes: nil, imageCount: 3)
    let problems = shape.problems(.init(method: "POST", path: "/v1/chat/completions", headers: [:], body: body))
    #expect(problems.isEmpty, "\(problems)")
}

@Test func serverSentEventsSurviveAnySplit() throws {
    let transcript = Data(": keep-alive\r\ndata: {\"a\":1}\r\n\r\ndata: first\ndata: second\n\nevent: x\ndata:[DONE]\n\n".utf8)
    let expected = ["{\"a\":1}", "first\nsecond", "[DONE]"]
    for size in [1, 2, 3, 7, transcript.count] {
        var parser = ServerSentEventParser()
        var events: [String] = []
        var offset = 0
        while offset < transcript.count {
            let end = min(offset + size, transcript.count)
            events += parser.feed(transcript.subdata(in: offset..<end))
            offset = end
        }
        events += parser.finish()
        #expect(events == expected, "pieces of \(size) bytes")
    }
    var unterminated = ServerSentEventParser()
    #expect(unterminated.feed(Data("data: tail".utf8)).isEmpty)
    #expect(unterminated.finish() == ["tail"])
}

@Test func repliesAreDecodedInEveryVLLMShape() {
    let chunk = ChatCompletionWire.decode(
        Data(#"{"model":"m","choices":[{"index":0,"delta":{"content":"<po"},"finish_reason":null}]}"#.utf8))
    #expect(chunk?.content == "<po" && chunk?.finishReason == nil && chunk?.model == "m")
    let usage = ChatCompletionWire.decode(Data(#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3}}"#.utf8))
    #expect(usage?.promptTokens == 12 && usage?.completionTokens == 3)
    let whole = ChatCompletionWire.decode(
        Data(#"{"choices":[{"message":{"role":"assistant","content":"There are none."},"finish_reason":"length"}]}"#.utf8))
    #expect(whole?.content == "There are none." && whole?.finishReason == "length")
    let nullContent = ChatCompletionWire.decode(Data(#"{"choices":[{"delta":{"content":null},"finish_reason":"stop"}]}"#.utf8))
    #expect(nullContent?.content == "" && nullContent?.finishReason == "stop")
    #expect(ChatCompletionWire.decode(Data(#"{"error":{"message":"boom","code":500}}"#.utf8))?.error == "boom")
    #expect(ChatCompletionWire.decode(Data("not json".utf8)) == nil)
    #expect(
        ChatCompletionWire.errorMessage(body: Data(#"{"object":"error","message":"bad frames","code":400}"#.utf8), status: 400)
            == "bad frames")
    #expect(ChatCompletionWire.errorMessage(body: Data(#"{"detail":"Not Found"}"#.utf8), status: 404) == "Not Found")
    #expect(ChatCompletionWire.errorMessage(body: Data("Bad Gateway".utf8), status: 502) == "Bad Gateway")
    #expect(ChatCompletionWire.errorMessage(body: Data(), status: 503) == "HTTP 503 with an empty body")
}

@Test func endpointsAreCompletedToTheChatURL() throws {
    let cases = [
        ("http://gpu-box:8000", "http://gpu-box:8000/v1/chat/completions"),
        ("http://gpu-box:8000/", "http://gpu-box:8000/v1/chat/completions"),
        ("https://example.org/v1", "https://example.org/v1/chat/completions"),
        ("https://example.org/serve/v1/chat/completions", "https://example.org/serve/v1/chat/completions"),
        ("https://example.org/proxy", "https://example.org/proxy/v1/chat/completions"),
    ]
    for (given, expected) in cases {
        #expect(try RemoteModelConfiguration(endpoint: given, modelName: "m").chatCompletionsURL.absoluteString == expected)
    }
    for bad in ["gpu-box:8000", "ftp://host/v1", "", "http://"] {
        #expect(throws: AssistError.self, "\(bad)") { try RemoteModelConfiguration(endpoint: bad, modelName: "m") }
    }
    #expect(throws: AssistError.self) { try RemoteModelConfiguration(endpoint: "http://h:1", modelName: " ") }
}

@Test func errorDescriptionsAreOneLineAndNameTheEndpoint() {
    let endpoint = "http://127.0.0.1:9/v1/chat/completions"
    let errors: [AssistError] = [
        .unreachable(endpoint: endpoint, reason: "connection refused", attempts: 3),
        .timedOut(endpoint: endpoint, seconds: 0.5, what: "no reply"),
        .server(endpoint: endpoint, status: 400, message: "line one\nline two", attempts: 1),
        .invalidResponse(endpoint: endpoint, reason: "x"),
        .cancelled(endpoint: endpoint),
    ]
    for error in errors {
        #expect(error.description.hasPrefix(endpoint))
        #expect(!error.description.contains("\n"))
    }
    #expect(errors[0].description == "\(endpoint): model server unreachable (connection refused) after 3 attempts")
    #expect(errors[2].description.hasSuffix("HTTP 400: line one line two"))
}
