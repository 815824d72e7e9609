import Foundation
import MolmoRuntime
import Testing

/// bf16 weights (compute in fp32) against the reference run in bfloat16 and against fp32 compute on the same
/// bf16-rounded weights.
@Suite struct BF16ParityTests {
    @Test(arguments: ["qwen3", "olmo3"])
    func bf16CheckpointMatchesReference(family: String) throws {
        let ref = try Fixtures.reference(family)
        let model = try Molmo2LanguageModel.load(directory: Fixtures.url("\(family)-tiny-bf16"), format: .bfloat16)
        #expect(model.format == .bfloat16)
        let ids = try ref.integers("text.input_ids")
        let logits = try model.prefill(ids: ids, cache: model.makeCache(), logits: .all).array
        let V = model.config.vocabSize

        // Reference in bfloat16 (activations rounded too): 2e-2 relative, same top-1 for the prompt's next token
        // and wherever the reference's own top-1 margin exceeds that tolerance.
        let torchBF16 = try ref.floats("text.logits_bf16")
        let (diff, scale) = maxDifference(logits, torchBF16)
        #expect(diff <= 2e-2 * scale, "max diff \(diff), scale \(scale)")
        let ours = rowArgmax(logits, cols: V)
        let theirs = rowArgmax(torchBF16, cols: V)
        #expect(ours.last == theirs.last)
        for row in 0..<ids.count {
            let r = Array(torchBF16[(row * V)..<((row + 1) * V)]).sorted(by: >)
            if r[0] - r[1] > 2 * 2e-2 * scale { #expect(ours[row] == theirs[row], "row \(row)") }
        }

        // Same bf16 weights computed in fp32 by the reference: fp32 tolerance.
        let f32Compute = try ref.floats("text.logits_bf16_weights_f32_compute")
        let (d2, s2) = maxDifference(logits, f32Compute)
        #expect(d2 <= 1e-4 * s2, "fp32-compute diff \(d2), scale \(s2)")
    }

    /// Converting fp32 weights to bf16 rounds exactly like PyTorch's `.to(torch.bfloat16)`, tensor by tensor.
    @Test func conversionRoundsLikeReference() throws {
        let f32 = try CheckpointFiles(directory: Fixtures.url("qwen3-tiny-f32"))
        let bf16 = try CheckpointFiles(directory: Fixtures.url("qwen3-tiny-bf16"))
        var compared = 0
        for name in f32.tensorNames.sorted() {
            let (fa, ia) = try f32.locate(name)
            let (fb, ib) = try bf16.locate(name)
            #expect(ia.dtype == .F32 && ib.dtype == .BF16)
            let ours = try fa.bfloat16Bits(name)
            let theirs = try fb.bfloat16Bits(name)
            let mismatches = zip(ours, theirs).filter { $0 != $1 }.count
            #expect(mismatches == 0, "\(name): \(mismatches) of \(ours.count) values round differently")
            compared += ours.count
        }
        #expect(compared > 100_000)
    }

    /// The bf16 matmul kernels equal the fp32 kernels on the same (bf16-valued) weights, and the bf16 format halves
    /// the weight memory.
    @Test func bf16StorageEqualsWidenedStorage() throws {
        let ref = try Fixtures.reference("qwen3")
        let ids = try ref.integers("text.input_ids")
        let stored = try Molmo2LanguageModel.load(directory: Fixtures.url("qwen3-tiny-bf16"), format: .bfloat16)
        let widened = try Molmo2LanguageModel.load(directory: Fixtures.url("qwen3-tiny-bf16"), format: .float32)
        let b = try stored.prefill(ids: ids, cache: stored.makeCache(), logits: .all).array
        let c = try widened.prefill(ids: ids, cache: widened.makeCache(), logits: .all).array
        #expect(maxDifference(b, c).diff == 0)
        #expect(stored.weightBytes * 2 == widened.weightBytes)
    }

    /// An F16 checkpoint converts on load (to fp32 or bf16) and matches the reference run on its weights.
    @Test func f16CheckpointLoads() throws {
        let ref = try Fixtures.reference("qwen3")
        let ids = try ref.integers("text.input_ids")
        let files = try CheckpointFiles(directory: Fixtures.url("qwen3-tiny-f16"))
        #expect(files.bytesByDType.keys.contains(.F16))
        let model = try Molmo2LanguageModel.load(directory: Fixtures.url("qwen3-tiny-f16"), format: .float32)
        let logits = try model.prefill(ids: ids, cache: model.makeCache(), logits: .all).array
        let (diff, scale) = maxDifference(logits, try ref.floats("text.logits_f16_weights_f32_compute"))
        #expect(diff <= 1e-4 * scale, "\(diff) vs \(scale)")
        let narrow = try Molmo2LanguageModel.load(directory: Fixtures.url("qwen3-tiny-f16"), format: .bfloat16)
        let narrowLogits = try narrow.prefill(ids: ids, cache: narrow.makeCache(), logits: .all).array
        let (d2, s2) = maxDifference(narrowLogits, try ref.floats("text.logits_f16_weights_f32_compute"))
        #expect(d2 <= 2e-2 * s2)
    }
}

/// A checkpoint whose LM head is an exact copy of the base embedding (as Molmo2-4B's) stores it once.
@Suite struct TiedEmbeddingTests {
    /// Writes `tensors` (name, dtype, shape, bytes) as one safetensors file.
    static func write(_ tensors: [(String, String, [Int], Data)], to url: URL) throws {
        var header: [String] = []
        var offset = 0
        var data = Data()
        for (name, dtype, shape, bytes) in tensors {
            header.append("\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + bytes.count)]}")
            offset += bytes.count
            data.append(bytes)
        }
        try safetensorsBytes(header: "{" + header.joined(separator: ",") + "}", data: Array(data)).write(to: url)
    }

    @Test func tiedHeadIsStoredOnceAndGivesIdenticalLogits() throws {
        let source = Fixtures.url("qwen3-tiny-native-names")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for f in ["config.json", "generation_config.json"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        let file = try SafetensorsFile(path: source.appendingPathComponent("model.safetensors").path)
        let embedding = try #require(file.tensors["model.language_model.embed_tokens.weight"])
        let config = try Molmo2Config.load(directory: source).text
        var tensors: [(String, String, [Int], Data)] = []
        for (name, info) in file.tensors.sorted(by: { $0.key < $1.key }) {
            var bytes = Data(bytes: file.bytes(of: info), count: info.byteCount)
            if name == "lm_head.weight" {
                bytes = Data(bytes: file.bytes(of: embedding), count: info.byteCount)  // first vocab rows
            }
            tensors.append((name, info.dtype.rawValue, info.shape, bytes))
        }
        try Self.write(tensors, to: dir.appendingPathComponent("model.safetensors"))

        let ids = [0, 5, 17, config.vocabSize - 1, config.vocabSize, config.vocabSize + 9, 3]
        for format in WeightFormat.allCases {
            let shared = try Molmo2LanguageModel.load(directory: dir, format: format)
            let separate = try Molmo2LanguageModel.load(directory: dir, format: format, shareTiedEmbedding: false)
            #expect(shared.sharesEmbeddingWithHead && !separate.sharesEmbeddingWithHead)
            #expect(separate.weightBytes - shared.weightBytes
                == config.vocabSize * config.hiddenSize * format.unquantized.bytesPerWeight)
            if format == .int8 {
                // The shared base rows are read back from the int8 head: within half a quantization step (1/254 of
                // the row's largest |value|) plus bf16 rounding of the separate table.
                let x = try shared.embed(ids).array
                let y = try separate.embed(ids).array
                let scale = y.reduce(Float(0)) { max($0, abs($1)) }
                #expect(zip(x, y).allSatisfy { abs($0 - $1) <= scale / 254 + abs($1) / 128 })
                #expect(x != y)
                continue
            }
            #expect(try shared.embed(ids).array == (try separate.embed(ids).array))
            let a = try shared.prefill(ids: ids, cache: shared.makeCache(), logits: .all).array
            let b = try separate.prefill(ids: ids, cache: separate.makeCache(), logits: .all).array
            #expect(a == b)
        }
        // The untied fixture is not shared.
        #expect(!(try Molmo2LanguageModel.load(directory: source, format: .float32)).sharesEmbeddingWithHead)
    }
}
