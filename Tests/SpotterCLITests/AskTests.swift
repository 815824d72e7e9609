import Foundation
import Testing

/// `spotter ask` end to end on the tiny random Molmo2 fixture (its answers are noise; the plumbing is what is
/// checked here — numerics are proven against the reference in MolmoRuntimeTests).
struct AskTests {
    static let model = packageRoot.appendingPathComponent("Tests/MolmoRuntimeTests/Fixtures/qwen3-vision-tiny").path

    func json(_ result: ProcessResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: result.stdoutBytes) as? [String: Any])
    }

    @Test func imageQuestionAnswersWithJSONAndTrace() throws {
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(UUID().uuidString).json").path
        defer { unlink(trace) }
        let result = try runSpotter([
            "ask", samplePath("stills/shapes_frame000.png"), "Point to the disc.", "--model", Self.model, "--json",
            "--max-tokens", "6", "--trace", trace,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let answer = try json(result)
        #expect(answer["generated_tokens"] as? Int == 6)
        #expect(answer["stop_reason"] as? String == "max_tokens")
        let promptTokens = try #require(answer["prompt_tokens"] as? Int)
        #expect(promptTokens > 100)  // the image's crops are in the prompt
        let traced = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: trace))) as? [String: Any])
        #expect((traced["input_ids"] as? [Any])?.count == promptTokens)
        let steps = try #require(traced["steps"] as? [[String: Any]])
        #expect(steps.count == 6)
        #expect(steps.allSatisfy { ($0["ids"] as? [Any])?.count == 20 && ($0["logits"] as? [Any])?.count == 20 })
        // Greedy decoding: each generated id is the top id of its step.
        let generated = try #require(traced["generated_ids"] as? [Int])
        for (step, id) in zip(steps, generated) { #expect((step["ids"] as? [Int])?.first == id) }
    }

    @Test func videoIsSampledWithinTheFrameBudget() throws {
        let result = try runSpotter([
            "ask", samplePath("shapes.mp4"), "Track the disc.", "--model", Self.model, "--json", "--max-tokens", "3",
            "--max-frames", "4",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let media = try #require(try json(result)["media"] as? [String: Any])
        #expect(media["kind"] as? String == "video")
        #expect(media["sampled_frames"] as? [Int] == [0, 70, 140, 209])
        #expect((media["sampled_times"] as? [Double])?.last == 7)
    }

    @Test func constrainedTaskAnswersWithOneElement() throws {
        let result = try runSpotter([
            "ask", samplePath("shapes.mp4"), "disc", "--task", "point", "--constrain", "--model", Self.model, "--json",
            "--max-tokens", "48", "--max-frames", "4",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let answer = try json(result)
        #expect(answer["question"] as? String == "Point to disc")
        #expect(answer["constrained"] as? Bool == true)
        #expect(answer["stop_reason"] as? String == "end_of_sequence")
        #expect((answer["generated_tokens"] as? Int ?? .max) <= 48)
        let text = try #require(answer["answer"] as? String)
        #expect(text.hasPrefix(#"<points coords=""#) && text.hasSuffix(">disc</points>"), "\(text)")
        let objects = try #require(answer["objects"] as? [[String: Any]])
        #expect(!objects.isEmpty && objects.allSatisfy { ($0["label"] as? String) == "disc" })
        let frames = objects.flatMap { ($0["points"] as? [[String: Any]] ?? []).compactMap { $0["frame"] as? Int } }
        #expect(!frames.isEmpty && frames.allSatisfy { [0, 70, 140, 209].contains($0) })
    }

    @Test func constrainNeedsATask() throws {
        let result = try runSpotter(["ask", samplePath("shapes.mp4"), "Point to the disc.", "--constrain", "--model", Self.model])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--constrain needs --task"), "\(result.stderr)")
        let still = try runSpotter([
            "ask", samplePath("stills/shapes_frame000.png"), "disc", "--task", "track", "--constrain", "--model", Self.model,
        ])
        #expect(still.status == 1 && errorLines(still).count == 1, "\(still.stderr)")
        #expect(errorLines(still).first?.contains("tracking needs a video") == true)
    }

    /// Progress lines go to stderr too; the failure itself is exactly one `spotter:` line, the last one.
    func errorLines(_ result: ProcessResult) -> [Substring] {
        result.stderr.split(separator: "\n").filter { $0.hasPrefix("spotter: ") }
    }

    @Test func badModelsAndMediaGetOneLine() throws {
        // A directory that is not a checkpoint.
        let notModel = try runSpotter(["ask", samplePath("stills/shapes_frame000.png"), "q", "--model", samplePath("stills")])
        #expect(notModel.status == 1 && errorLines(notModel).count == 1, "\(notModel.stderr)")
        #expect(errorLines(notModel).first?.contains("config.json") == true)
        // A checkpoint with a shard missing: the message names it.
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("model-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: Self.model), to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.removeItem(at: copy.appendingPathComponent("model-00003-of-00004.safetensors"))
        let missing = try runSpotter(["ask", samplePath("stills/shapes_frame000.png"), "q", "--model", copy.path])
        #expect(missing.status == 1 && errorLines(missing).count == 1, "\(missing.stderr)")
        #expect(errorLines(missing).first?.contains("model-00003-of-00004.safetensors") == true)
        // Media that cannot be decoded.
        let text = packageRoot.appendingPathComponent("Tests/MediaTests/Fixtures/not_a_video.txt").path
        let bad = try runSpotter(["ask", text, "q", "--model", Self.model])
        #expect(bad.status == 1 && errorLines(bad).count == 1, "\(bad.stderr)")
        #expect(errorLines(bad).first?.contains("not_a_video.txt") == true)
    }
}
