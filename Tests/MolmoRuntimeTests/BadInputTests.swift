import Foundation
import MolmoRuntime
import Testing

/// Unusable checkpoints and inputs give one-line errors that name the file or input, never a crash.
@Suite struct BadInputTests {
    /// A scratch copy of a fixture checkpoint, removed when the test ends.
    final class ScratchCheckpoint {
        let root: URL
        let directory: URL

        init(copying fixture: String) throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("molmo-bad-\(UUID().uuidString)")
            directory = root.appendingPathComponent("model")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: VisionFixtures.checkpoint(fixture), to: directory)
        }

        func editConfig(_ edit: (inout [String: Any]) -> Void) throws {
            let url = directory.appendingPathComponent("config.json")
            var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            edit(&object)
            try JSONSerialization.data(withJSONObject: object).write(to: url)
        }

        deinit { try? FileManager.default.removeItem(at: root) }
    }

    func oneLineError(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            let text = "\(error)"
            #expect(!text.contains("\n"), "multi-line error: \(text)")
            return text
        }
    }

    @Test func directoryWithoutConfig() throws {
        let scratch = try ScratchCheckpoint(copying: "qwen3")
        try FileManager.default.removeItem(at: scratch.directory.appendingPathComponent("config.json"))
        let text = try #require(oneLineError { _ = try MolmoModel(directory: scratch.directory) })
        #expect(text.contains("config.json") && text.contains("missing"))
    }

    @Test func unknownModelTypeListsSupportedOnes() throws {
        let scratch = try ScratchCheckpoint(copying: "qwen3")
        try scratch.editConfig { $0["model_type"] = "llava" }
        let text = try #require(oneLineError { _ = try MolmoModel(directory: scratch.directory) })
        #expect(text.contains("'llava'") && text.contains("supported: molmo2"))
    }

    @Test func missingShardIsNamed() throws {
        let scratch = try ScratchCheckpoint(copying: "olmo3")
        try FileManager.default.removeItem(at: scratch.directory.appendingPathComponent("model-00003-of-00004.safetensors"))
        let text = try #require(oneLineError { _ = try MolmoModel(directory: scratch.directory) })
        #expect(text.contains("model-00003-of-00004.safetensors") && text.contains("does not exist"))
    }

    @Test func textOnlyCheckpointIsRejected() throws {
        let scratch = try ScratchCheckpoint(copying: "qwen3")
        try scratch.editConfig {
            $0["vision_config"] = nil
            $0["adapter_config"] = nil
        }
        let text = try #require(oneLineError { _ = try MolmoModel(directory: scratch.directory) })
        #expect(text.contains("no vit_config/vision_config"))
    }

    @Test func inconsistentVisionConfigIsNamed() throws {
        let scratch = try ScratchCheckpoint(copying: "olmo3")
        try scratch.editConfig { root in
            var adapter = root["adapter_config"] as? [String: Any] ?? [:]
            adapter["vit_layers"] = [-3, -40]
            root["adapter_config"] = adapter
        }
        let text = try #require(oneLineError { _ = try MolmoModel(directory: scratch.directory) })
        #expect(text.contains("vit_layers") && text.contains("config.json"))
    }

    @Test func wrongVisionShapeIsNamed() throws {
        let scratch = try ScratchCheckpoint(copying: "qwen3")
        try scratch.editConfig { root in
            var vision = root["vision_config"] as? [String: Any] ?? [:]
            vision["intermediate_size"] = 72
            root["vision_config"] = vision
        }
        let text = try #require(oneLineError { _ = try MolmoModel(directory: scratch.directory) })
        #expect(text.contains("feed_forward.w1.weight") && text.contains("[64, 32]"))
    }

    @Test func huggingFaceIdsResolveInTheCache() throws {
        let scratch = try ScratchCheckpoint(copying: "qwen3")
        let hub = scratch.root.appendingPathComponent("hub").path
        let repo = "\(hub)/models--acme--tiny-molmo"
        try FileManager.default.createDirectory(atPath: "\(repo)/refs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(repo)/snapshots", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: scratch.directory.path, toPath: "\(repo)/snapshots/0123abc")
        try "0123abc\n".write(toFile: "\(repo)/refs/main", atomically: true, encoding: .utf8)
        let resolved = try MolmoModel.resolve("acme/tiny-molmo", hubCache: hub)
        #expect(resolved.path == "\(repo)/snapshots/0123abc")
        let text = try #require(oneLineError { _ = try MolmoModel.resolve("acme/other", hubCache: hub) })
        #expect(text.contains("acme/other") && text.contains("models--acme--other"))
        #expect(oneLineError { _ = try MolmoModel.resolve("not-an-id", hubCache: hub) } != nil)
    }

    @Test func unusableMediaIsRejected() throws {
        let model = try MolmoModel(directory: VisionFixtures.checkpoint("qwen3"))
        let bad = RGBFrame(pixels: [0, 0, 0], width: 7, height: 7)
        #expect(oneLineError { _ = try model.answer(media: .images([bad]), question: "q") }?.contains("7x7") == true)
        #expect(oneLineError { _ = try model.answer(media: .images([]), question: "q") } != nil)
        #expect(oneLineError { _ = try model.answer(media: .video([]), question: "q") } != nil)
        let frame = VisionFixtures.synthetic(width: 20, height: 20, seed: 1)
        #expect(oneLineError {
            _ = try model.answer(media: .images([frame]), question: "q", options: AnswerOptions(maxCrops: 1000))
        } != nil)
    }
}
