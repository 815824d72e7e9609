import Annotations
import Foundation
import Testing

/// A vLLM stand-in: `/v1/models` lists one model with its context length, `/tokenize` counts 300 prompt tokens,
/// and chat requests get `reply(request, number)` (numbered from 1 across the server's chat requests).
private func fakeVLLM(
    model: String = "allenai/Molmo2-4B", context: Int = 8192,
    reply: @escaping @Sendable (LoopbackChatServer.Request, Int) -> LoopbackChatServer.Reply
) throws -> LoopbackChatServer {
    let counter = RequestCounter()
    return try LoopbackChatServer { request, _ in
        switch request.path {
        case "/v1/models":
            return .json(status: 200, body: #"{"object":"list","data":[{"id":"\#(model)","object":"model","max_model_len":\#(context)}]}"#)
        case "/tokenize":
            return .json(status: 200, body: #"{"count":300,"max_model_len":\#(context),"tokens":[]}"#)
        default:
            return reply(request, counter.next())
        }
    }
}

private final class RequestCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func next() -> Int { lock.withLock { count += 1; return count } }
}

/// A streamed answer in chunks, as vLLM streams it.
private func streamed(_ text: String, model: String = "allenai/Molmo2-4B") -> LoopbackChatServer.Reply {
    var events: [String] = []
    var rest = Substring(text)
    while !rest.isEmpty {
        let piece = rest.prefix(7)
        rest = rest.dropFirst(piece.count)
        let chunk: [String: Any] = [
            "model": model, "choices": [["index": 0, "delta": ["content": String(piece)], "finish_reason": NSNull()]],
        ]
        let data = try! JSONSerialization.data(withJSONObject: chunk)
        events.append(String(decoding: data, as: UTF8.self))
    }
    events.append(#"{"model":"\#(model)","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#)
    events.append(#"{"model":"\#(model)","choices":[],"usage":{"prompt_tokens":300,"completion_tokens":\#(events.count - 1)}}"#)
    events.append("[DONE]")
    return .events(events)
}

/// The printed times a chat request carries (`frames_indices / fps`, one decimal, as vLLM's Molmo2 processor prints).
private func printedTimes(_ request: LoopbackChatServer.Request) -> [String] {
    guard let video = (request.json?["media_io_kwargs"] as? [String: Any])?["video"] as? [String: Any],
        let fps = (video["fps"] as? NSNumber)?.doubleValue, let indices = video["frames_indices"] as? [NSNumber]
    else { return [] }
    return indices.map { String(format: "%.1f", $0.doubleValue / fps) }
}

/// Two points at the first two of the four sampled times of the sample video (0.0 and 2.3 s).
private let pointAnswer = #"<points coords="0.0 1 500 500;2.3 1 520 480">disc</points>"#

struct RemoteAskTests {
    @Test func askAnEndpointPrintsTheAnswerAndItsPoints() throws {
        let server = try fakeVLLM { _, _ in streamed(pointAnswer) }
        defer { server.stop() }
        let result = try runSpotter([
            "ask", samplePath("shapes.mp4"), "disc", "--task", "point", "--endpoint", server.url, "--json", "--max-frames", "4",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let answer = try #require(try JSONSerialization.jsonObject(with: result.stdoutBytes) as? [String: Any])
        #expect(answer["answer"] as? String == pointAnswer)
        #expect(answer["model"] as? String == "allenai/Molmo2-4B")
        #expect(answer["max_tokens"] as? Int == 2048 && answer["context_tokens"] as? Int == 8192)
        let objects = try #require(answer["objects"] as? [[String: Any]])
        #expect(objects.reduce(0) { $0 + (($1["points"] as? [Any])?.count ?? 0) } == 2)
        // The request carried 4 frames with their sample times; the model name came from /v1/models.
        let chat = try #require(server.chatRequests.first)
        #expect(chat.json?["model"] as? String == "allenai/Molmo2-4B")
        let media = try #require(answer["media"] as? [String: Any])
        let times = try #require(media["sampled_times"] as? [Double])
        #expect(times.count == 4)
        #expect(printedTimes(chat) == times.map { String(format: "%.1f", $0) })
        #expect(result.stderr.contains("prompt 300 tokens"))
    }

    @Test func askTextShowsControlCharactersSafely() throws {
        let server = try fakeVLLM { _, _ in streamed("a\u{0B}b\u{1B}[2J") }
        defer { server.stop() }
        let result = try runSpotter(["ask", samplePath("stills/shapes_frame000.png"), "What is this?", "--endpoint", server.url])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("a␋b␛[2J"))
        #expect(!result.stdout.contains("\u{1B}"))
    }

    @Test func refusedMediaArgumentsSayWhichServerFlagIsMissing() throws {
        let message = "Per-request media_io_kwargs are disabled by default because they can change multimodal media "
            + "loading resource usage. Start the server with --trust-request-mm-kwargs only when clients are trusted."
        let server = try fakeVLLM { _, _ in .json(status: 400, body: #"{"error":{"message":"\#(message)","code":400}}"#) }
        defer { server.stop() }
        let result = try runSpotter([
            "ask", samplePath("shapes.mp4"), "disc", "--task", "point", "--endpoint", server.url, "--model-name",
            "allenai/Molmo2-4B", "--max-frames", "4",
        ])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("spotter:") }
        #expect(lines.count == 1)
        #expect(lines.first?.hasSuffix("restart it with --trust-request-mm-kwargs") == true, "\(result.stderr)")
    }

    @Test func askNeedsAModelOrAnEndpoint() throws {
        let result = try runSpotter(["ask", samplePath("shapes.mp4"), "disc"])
        #expect(result.status != 0 && result.stderr.contains("--endpoint"))
    }
}

/// A temporary folder with `count` copies of the sample video.
private func videoFolder(_ count: Int) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("annotate-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for k in 0..<count {
        try FileManager.default.copyItem(
            atPath: samplePath("shapes.mp4"), toPath: folder.appendingPathComponent("clip\(k).mp4").path)
    }
    return folder
}

/// The pending predictions stored in a project file, as the viewer will load them.
private func pendingPredictions(_ project: URL) throws -> [PendingPrediction] {
    let store = try ProjectStore.open(at: project, readOnly: true)
    defer { try? store.close() }
    return try store.pendingPredictions()
}

private func pendingRows(_ project: URL) throws -> Int { try pendingPredictions(project).count }

struct AnnotateTests {
    @Test func annotateSharesTheWorkRetriesAndResumes() throws {
        let folder = try videoFolder(4)
        defer { try? FileManager.default.removeItem(at: folder) }
        // The first server fails its first request with 503 twice (retried with backoff), then answers.
        let first = try fakeVLLM { _, number in
            number <= 2 ? .json(status: 503, body: #"{"error":{"message":"engine busy","code":503}}"#) : streamed(pointAnswer)
        }
        let second = try fakeVLLM { _, _ in streamed(pointAnswer) }
        defer {
            first.stop()
            second.stop()
        }
        let arguments = [
            "annotate", folder.path, "--task", "point", "--label", "disc", "--endpoint", first.url, "--endpoint",
            second.url, "--max-frames", "4",
        ]
        let run = try runSpotter(arguments)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("4 asked, 0 already done, 0 failed, 4 of 4 items done"), "\(run.stderr)")
        for k in 0..<4 {
            #expect(try pendingRows(folder.appendingPathComponent("clip\(k).spotter")) == 1)
        }
        let asked = first.chatRequests.count + second.chatRequests.count
        #expect(asked == 4 + 2, "four answers and two refused attempts")
        let stored = try #require(try pendingPredictions(folder.appendingPathComponent("clip1.spotter")).first)
        #expect(stored.question == "Point to disc" && stored.label == "disc" && stored.task == "video_point")
        #expect(stored.model == "allenai/Molmo2-4B" && stored.answer == pointAnswer)
        #expect(stored.objects.reduce(0) { $0 + $1.points.count } == 2)
        #expect(stored.shownFrames.count == 4 && stored.sampling?.frames.count == 4)
        #expect(stored.objects.allSatisfy { $0.points.allSatisfy { stored.shownFrames.contains($0.frame) } })
        #expect(stored.diagnostics.isEmpty, "both answer times were shown")
        #expect(stored.provenance["max_frames"] == "4" && stored.provenance["max_tokens"] == "2048")

        // Again: everything is done, nothing is asked.
        let again = try runSpotter(arguments)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("0 asked, 4 already done"), "\(again.stderr)")
        #expect(first.chatRequests.count + second.chatRequests.count == asked)

        // A removed project is asked again, alone; another label is a new job for every item.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("clip2.spotter"))
        let resumed = try runSpotter(arguments)
        #expect(resumed.stderr.contains("1 asked, 3 already done"), "\(resumed.stderr)")
        #expect(first.chatRequests.count + second.chatRequests.count == asked + 1)
        let relabelled = try runSpotter(arguments.map { $0 == "disc" ? "square" : $0 })
        #expect(relabelled.stderr.contains("4 asked, 0 already done"), "\(relabelled.stderr)")
        #expect(try pendingRows(folder.appendingPathComponent("clip0.spotter")) == 2)
    }

    @Test func annotateMovesItemsOffAFailingEndpoint() throws {
        let folder = try videoFolder(3)
        defer { try? FileManager.default.removeItem(at: folder) }
        let broken = try fakeVLLM { _, _ in .json(status: 500, body: #"{"error":{"message":"out of memory","code":500}}"#) }
        let working = try fakeVLLM { _, _ in streamed(pointAnswer) }
        defer {
            broken.stop()
            working.stop()
        }
        let output = folder.appendingPathComponent("predictions.jsonl").path
        let result = try runSpotter([
            "annotate", folder.path, "--task", "point", "--label", "disc", "--endpoint", broken.url, "--endpoint",
            working.url, "--max-frames", "4", "--output", output,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        let media = Set(lines.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["media"] as? String
        })
        #expect(media.count == 3)
        #expect(working.chatRequests.count == 3)
        // Every stored line says who answered it.
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        let provenance = try #require(first["provenance"] as? [String: String])
        #expect(provenance["endpoint"] == "\(working.url)/v1/chat/completions")
        // A second run over the same file asks nothing.
        let again = try runSpotter([
            "annotate", folder.path, "--task", "point", "--label", "disc", "--endpoint", working.url, "--max-frames", "4",
            "--output", output,
        ])
        #expect(again.stderr.contains("0 asked, 3 already done"), "\(again.stderr)")
    }

    @Test func annotateGivesUpOnAnItemAfterItsAttempts() throws {
        let folder = try videoFolder(1)
        defer { try? FileManager.default.removeItem(at: folder) }
        let broken = try fakeVLLM { _, _ in .json(status: 500, body: #"{"error":{"message":"out of memory","code":500}}"#) }
        defer { broken.stop() }
        let result = try runSpotter([
            "annotate", folder.path, "--task", "point", "--label", "disc", "--endpoint", broken.url, "--max-frames", "4",
            "--item-attempts", "2",
        ])
        #expect(result.status == 1)
        #expect(result.stderr.contains("0 asked, 0 already done, 1 failed"), "\(result.stderr)")
        #expect(result.stderr.contains("out of memory"))
        #expect(broken.chatRequests.count == 2 * 3, "two item attempts of three HTTP attempts each")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("clip0.spotter").path))
    }
}

struct AnnotateInProcessTests {
    static let model = packageRoot.appendingPathComponent("Tests/MolmoRuntimeTests/Fixtures/qwen3-vision-tiny").path

    @Test func annotateRunsTheModelInProcessAndResumes() throws {
        let folder = try videoFolder(2)
        defer { try? FileManager.default.removeItem(at: folder) }
        let arguments = [
            "annotate", folder.path, "--task", "count", "--label", "disc", "--model", Self.model, "--format", "float32",
            "--max-frames", "4", "--max-tokens", "4",
        ]
        let run = try runSpotter(arguments)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("2 asked, 0 already done, 0 failed"), "\(run.stderr)")
        for k in 0..<2 {
            let stored = try pendingPredictions(folder.appendingPathComponent("clip\(k).spotter"))
            #expect(stored.count == 1)
            #expect(stored.first?.task == "video_count" && stored.first?.timings["completion_tokens"] == 4)
            #expect(stored.first?.provenance["endpoint"] == "in process")
        }
        let again = try runSpotter(arguments)
        #expect(again.stderr.contains("0 asked, 2 already done"), "\(again.stderr)")
        // The viewer opens a pre-annotated video with its answer pending, to accept or reject.
        let stored = try #require(try pendingPredictions(folder.appendingPathComponent("clip0.spotter")).first)
        let viewer = try InProcessViewer([folder.appendingPathComponent("clip0.mp4").path], columns: 120, rows: 40)
        defer { viewer.close() }
        let shown = try #require(viewer.core.state.assist.predictions)
        #expect(shown.answer == stored.answer && shown.model == stored.model && shown.objects == stored.objects)
        #expect(viewer.core.state.message?.hasPrefix("pre-annotated by ") == true, "\(viewer.core.state.message ?? "")")
    }
}
