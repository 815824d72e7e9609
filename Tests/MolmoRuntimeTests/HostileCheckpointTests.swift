import Foundation
import MolmoRuntime
import Testing

/// A checkpoint directory made from a fixture: every file is a symlink to the fixture's, except the ones replaced.
private struct CraftedCheckpoint {
    let url: URL

    init(from fixture: String = "qwen3-vision-tiny", editConfig: ((inout [String: Any]) -> Void)? = nil) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("spotter-crafted-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let source = Fixtures.url(fixture)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.createSymbolicLink(
                at: url.appendingPathComponent(name), withDestinationURL: source.appendingPathComponent(name))
        }
        if let editConfig {
            let data = try Data(contentsOf: source.appendingPathComponent("config.json"))
            var root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            editConfig(&root)
            try replace("config.json", with: try JSONSerialization.data(withJSONObject: root))
        }
    }

    func replace(_ name: String, with data: Data) throws {
        let file = url.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: file)
        try data.write(to: file)
    }

    func replaceWithFIFO(_ name: String) throws {
        let file = url.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: file)
        #expect(mkfifo(file.path, 0o600) == 0)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

private func textConfig(_ edit: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
    { root in
        var text = root["text_config"] as! [String: Any]
        edit(&text)
        root["text_config"] = text
    }
}

/// Both `doctor` (CheckpointInspector) and `ask` (MolmoModel) refuse `directory` with one line naming a file.
private func expectBothRefuse(_ directory: URL, mentioning expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
    var messages: [String] = []
    do {
        _ = try CheckpointInspector.inspect(directory: directory)
        Issue.record("doctor accepted the checkpoint", sourceLocation: sourceLocation)
    } catch { messages.append("\(error)") }
    do {
        _ = try MolmoModel(directory: directory)
        Issue.record("ask accepted the checkpoint", sourceLocation: sourceLocation)
    } catch { messages.append("\(error)") }
    for message in messages {
        #expect(!message.contains("\n"), "\(message)", sourceLocation: sourceLocation)
        #expect(message.contains(directory.path), "\(message)", sourceLocation: sourceLocation)
        #expect(message.contains(expected), "\(message)", sourceLocation: sourceLocation)
    }
}

@Suite struct HostileCheckpointTests {
    @Test func theUnchangedCraftedCopyIsUsable() throws {
        let crafted = try CraftedCheckpoint()
        defer { crafted.remove() }
        let report = try CheckpointInspector.inspect(directory: crafted.url)
        #expect(report.hasVision)
        _ = try MolmoModel(directory: crafted.url)
    }

    @Test(arguments: [
        ("additional_vocab_size", Int.max as Any), ("num_hidden_layers", 1_000_000 as Any),
        ("vocab_size", Int.max as Any), ("max_position_embeddings", Int.max as Any),
        ("rms_norm_eps", Double.infinity as Any),
    ])
    func outOfRangeTextNumbersAreRefusedByDoctorAndAsk(field: String, value: Any) throws {
        // JSONSerialization cannot write infinity: that case writes 1e308 * 10 as text instead.
        let crafted = try CraftedCheckpoint(editConfig: textConfig { $0[field] = value is Double ? 1e308 : value })
        defer { crafted.remove() }
        if value is Double {
            let text = try String(contentsOf: crafted.url.appendingPathComponent("config.json"), encoding: .utf8)
            try crafted.replace("config.json", with: Data(text.replacingOccurrences(of: "1e-06", with: "1e999").utf8))
        }
        expectBothRefuse(crafted.url, mentioning: field == "rms_norm_eps" ? "config.json" : field)
    }

    @Test func hugeRopeThetaIsRefused() throws {
        let crafted = try CraftedCheckpoint(
            editConfig: textConfig { $0["rope_parameters"] = ["rope_theta": 1e308, "rope_type": "default"] })
        defer { crafted.remove() }
        expectBothRefuse(crafted.url, mentioning: "rope_theta")
    }

    @Test func layerCountIsBoundedByTheTensorsPresent() throws {
        // 4000 layers pass the config's range check; the checkpoint holds far fewer tensors, so no per-layer names
        // are built for them.
        let crafted = try CraftedCheckpoint(editConfig: textConfig { $0["num_hidden_layers"] = 2000 })
        defer { crafted.remove() }
        expectBothRefuse(crafted.url, mentioning: "is missing")
    }

    @Test(arguments: ["model-00002-of-00004.safetensors", "config.json", "tokenizer.json", "model.safetensors.index.json",
                      "preprocessor_config.json", "generation_config.json"])
    func aFIFOInPlaceOfAFileIsRefusedWithoutBlocking(name: String) throws {
        let crafted = try CraftedCheckpoint()
        defer { crafted.remove() }
        try crafted.replaceWithFIFO(name)
        expectBothRefuse(crafted.url, mentioning: "not a regular file")
    }

    @Test func aTokenizerThatDoesNotLoadIsRefusedByDoctorToo() throws {
        let crafted = try CraftedCheckpoint()
        defer { crafted.remove() }
        try crafted.replace("tokenizer.json", with: Data(#"{"model": {"type": "Unigram"}}"#.utf8))
        expectBothRefuse(crafted.url, mentioning: "tokenizer.json")
    }

    @Test func aProcessorConfigThatDisagreesIsRefusedByDoctorToo() throws {
        let crafted = try CraftedCheckpoint()
        defer { crafted.remove() }
        try crafted.replace("preprocessor_config.json", with: Data(#"{"patch_size": 7}"#.utf8))
        expectBothRefuse(crafted.url, mentioning: "preprocessor_config.json")
    }

    @Test func aVisionShapeThatDisagreesIsRefusedByDoctorToo() throws {
        // The ViT's MLP width in the config no longer matches the stored fc1/fc2 tensors.
        let crafted = try CraftedCheckpoint { root in
            var vision = root["vit_config"] as? [String: Any] ?? root["vision_config"] as! [String: Any]
            vision["intermediate_size"] = (vision["intermediate_size"] as? Int ?? 4304) + 8
            root[root["vit_config"] != nil ? "vit_config" : "vision_config"] = vision
        }
        defer { crafted.remove() }
        expectBothRefuse(crafted.url, mentioning: "has shape")
    }

    @Test func deeplyNestedJSONIsRefusedWithALine() throws {
        let crafted = try CraftedCheckpoint()
        defer { crafted.remove() }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        try crafted.replace("config.json", with: Data((#"{"model_type": "molmo2", "text_config": "# + deep + "}").utf8))
        expectBothRefuse(crafted.url, mentioning: "nesting too deep")
    }

    @Test func contextAndMemoryArithmeticNeverTraps() throws {
        let crafted = try CraftedCheckpoint()
        defer { crafted.remove() }
        for context in [0, -1, CheckpointInspector.maximumContextTokens + 1, 1 << 62, Int.max] {
            #expect(throws: (any Error).self) { try CheckpointInspector.inspect(directory: crafted.url, contextTokens: context) }
        }
        var report = try CheckpointInspector.inspect(
            directory: crafted.url, contextTokens: CheckpointInspector.maximumContextTokens)
        #expect(report.kvBytes == report.kvBytesPerToken * CheckpointInspector.maximumContextTokens)
        report.contextTokens = Int.max
        report.languageParameters = Int.max / 2
        #expect(report.kvBytes == Int.max)
        #expect(report.memoryNeeded(format: .float32) == Int.max)
    }
}
