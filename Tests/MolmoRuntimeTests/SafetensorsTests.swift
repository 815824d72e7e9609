import Foundation
import MolmoRuntime
import Testing

/// Builds a safetensors file from a header JSON string and a data blob.
func safetensorsBytes(header: String, data: [UInt8]) -> Data {
    var out = Data()
    var n = UInt64(header.utf8.count).littleEndian
    withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
    out.append(contentsOf: Array(header.utf8))
    out.append(contentsOf: data)
    return out
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("molmo-st-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct SafetensorsTests {
    func open(_ header: String, _ data: [UInt8]) throws -> SafetensorsFile {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("t.safetensors")
        try safetensorsBytes(header: header, data: data).write(to: url)
        return try SafetensorsFile(path: url.path)  // the mapping outlives the directory entry
    }

    func expectInvalid(_ header: String, _ data: [UInt8], mentioning word: String) {
        do {
            _ = try open(header, data)
            Issue.record("accepted an invalid file: \(header)")
        } catch let e as SafetensorsError {
            #expect(e.description.contains(word), "\(e.description)")
            #expect(!e.description.contains("\n"))
        } catch {
            Issue.record("unexpected error type \(error)")
        }
    }

    @Test func readsF32BF16F16AndMetadata() throws {
        // a: F32 [2] = 1.5, -2 ; b: BF16 [2] = 1.0, -0.5 ; c: F16 [1] = 0.25
        let f32: [UInt8] = [0, 0, 0xC0, 0x3F, 0, 0, 0, 0xC0]
        let bf16: [UInt8] = [0x80, 0x3F, 0x00, 0xBF]
        let f16: [UInt8] = [0x00, 0x34]
        let header = """
            {"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},\
            "b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},"c":{"dtype":"F16","shape":[1],"data_offsets":[12,14]}}
            """
        let file = try open(header, f32 + bf16 + f16)
        #expect(file.metadata == ["format": "pt"])
        #expect(try file.floats("a") == [1.5, -2])
        #expect(try file.floats("b") == [1.0, -0.5])
        #expect(try file.floats("c") == [0.25])
        #expect(file.tensors["b"]?.shape == [2])
    }

    @Test func rejectsMalformedHeaders() {
        let eight = [UInt8](repeating: 0, count: 8)
        expectInvalid("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", eight, mentioning: "JSON")
        expectInvalid("[1,2]", eight, mentioning: "header")
        expectInvalid("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", eight, mentioning: "unknown dtype")
        expectInvalid("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", eight, mentioning: "bytes")
        expectInvalid("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", eight, mentioning: "non-negative")
        expectInvalid("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", eight, mentioning: "past")
        expectInvalid("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", eight, mentioning: "ordered")
        expectInvalid(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
            eight, mentioning: "overlaps")
        expectInvalid("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", eight, mentioning: "gap")
        expectInvalid("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", eight, mentioning: "not described")
        expectInvalid("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", eight, mentioning: "data_offsets")
    }

    @Test func rejectsBadLengthPrefix() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, bytes) in [
            ("short", Data([1, 2, 3])),
            ("huge", Data([0, 0, 0, 0x10, 0, 0, 0, 0]) + Data(repeating: 0x20, count: 16)),
            ("past-end", Data([200, 0, 0, 0, 0, 0, 0, 0]) + Data("{}".utf8)),
        ] {
            let url = dir.appendingPathComponent("\(name).safetensors")
            try bytes.write(to: url)
            #expect(throws: SafetensorsError.self) { try SafetensorsFile(path: url.path) }
        }
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(path: dir.appendingPathComponent("absent").path) }
    }

    @Test func shardedCheckpointThroughIndex() throws {
        let files = try CheckpointFiles(directory: Fixtures.url("qwen3-tiny-f32"))
        #expect(files.shards.count >= 2)
        let (file, info) = try files.weight("model.transformer.ln_f.weight", shape: [64])
        #expect(info.dtype == .F32)
        #expect(file.path.hasSuffix(".safetensors"))
        #expect(files.totals.elements > 100_000)
    }

    @Test func missingAndMisshapedTensorsNameTheTensorAndShard() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = Fixtures.url("qwen3-tiny-f32")
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        var config = try Molmo2Config.load(directory: dir).text
        config.intermediateSize += 1
        let files = try CheckpointFiles(directory: dir)
        do {
            _ = try Molmo2LanguageModel.load(checkpoint: files, config: config, format: .float32)
            Issue.record("loaded a checkpoint with the wrong intermediate size")
        } catch let e as CheckpointError {
            #expect(e.description.contains("mlp.ff_proj.weight") && e.description.contains("model-0000"))
        }

        // Drop a shard: the index names it, so opening fails and names it.
        let index = try JSONValue.parse(try Data(contentsOf: dir.appendingPathComponent("model.safetensors.index.json")))
        let shard = try #require(index["weight_map"]?["model.transformer.ln_f.weight"]?.string)
        try FileManager.default.removeItem(at: dir.appendingPathComponent(shard))
        do {
            _ = try CheckpointFiles(directory: dir)
            Issue.record("opened a checkpoint with a missing shard")
        } catch let e as CheckpointError {
            #expect(e.description.contains(shard))
        }

        // A weight missing from a single-file checkpoint names the tensor.
        let single = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: single) }
        try safetensorsBytes(
            header: "{\"model.transformer.wte.embedding\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
            data: [0, 0, 0, 0]
        ).write(to: single.appendingPathComponent("model.safetensors"))
        try FileManager.default.copyItem(at: dir.appendingPathComponent("config.json"),
                                         to: single.appendingPathComponent("config.json"))
        do {
            _ = try Molmo2LanguageModel.load(directory: single, format: .float32)
            Issue.record("loaded an incomplete checkpoint")
        } catch let e as CheckpointError {
            #expect(e.description.contains("tensor 'model.transformer.") && e.description.contains(single.path))
        }
    }

    @Test func jsonParserHandlesEscapesAndRejectsGarbage() throws {
        let v = try JSONValue.parse(Data(#"{"a":[1,-2.5e3,true,null,"\u00e9\ud83d\ude00\n"],"b":{}}"#.utf8))
        #expect(v["a"]?.array?[0] == .int(1))
        #expect(v["a"]?.array?[1] == .double(-2500))
        #expect(v["a"]?.array?[4].string == "é😀\n")
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Data("{\"a\":}".utf8)) }
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Data("[1,2] x".utf8)) }
    }
}
