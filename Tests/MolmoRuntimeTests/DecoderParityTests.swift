import Foundation
import MolmoRuntime
import Testing

/// Parity of the Swift decoders with transformers' Molmo2 on the tiny random checkpoints (fixtures).
@Suite struct DecoderParityTests {
    /// Text prompt: hidden states after every layer, all logits, and a 32-token greedy continuation.
    @Test(arguments: [("qwen3", "qwen3-tiny-f32"), ("olmo3", "olmo3-tiny-f32"), ("qwen3", "qwen3-tiny-native-names")])
    func textPromptMatchesReference(family: String, checkpoint: String) throws {
        let ref = try Fixtures.reference(family)
        let model = try Molmo2LanguageModel.load(directory: Fixtures.url(checkpoint), format: .float32)
        let ids = try ref.integers("text.input_ids")
        var hidden: [Int: [Float]] = [:]
        let logits = try model.prefill(ids: ids, cache: model.makeCache(), logits: .all) { layer, h in
            hidden[layer] = h.array
        }
        #expect(hidden.count == model.config.numHiddenLayers)
        for layer in 0..<model.config.numHiddenLayers {
            let (diff, scale) = maxDifference(hidden[layer] ?? [], try ref.floats("text.hidden.\(layer)"))
            #expect(diff <= 1e-4 * scale, "layer \(layer): max diff \(diff), scale \(scale)")
        }
        let expected = try ref.floats("text.logits")
        let (diff, scale) = maxDifference(logits.array, expected)
        #expect(diff <= 1e-4 * scale, "logits: max diff \(diff), scale \(scale)")

        let result = try TextGenerator(model: model).generate(promptIds: ids, maxNewTokens: 32)
        #expect(result.tokens == (try ref.integers("text.greedy")))
        #expect(result.stopReason == .maxTokens)
    }

    /// Image-like prompt: features added to `<im_patch>` embeddings, bidirectional attention among visual tokens.
    @Test(arguments: ["qwen3", "olmo3"])
    func visualPromptMatchesReference(family: String) throws {
        let ref = try Fixtures.reference(family)
        let model = try Molmo2LanguageModel.load(directory: Fixtures.url("\(family)-tiny-f32"), format: .float32)
        let config = try Molmo2Config.load(directory: Fixtures.url("\(family)-tiny-f32"))
        let ids = try ref.integers("visual.input_ids")
        let flags = try ref.integers("visual.token_type").map { $0 == 1 }
        let features = try ref.floats("visual.features")
        let embeddings = try model.embed(ids)
        let D = model.config.hiddenSize
        var next = 0
        for (t, id) in ids.enumerated() where id == config.imagePatchId {
            for j in 0..<D { embeddings.row(t)[j] += features[next * D + j] }
            next += 1
        }
        #expect(next * D == features.count)
        var hidden: [Int: [Float]] = [:]
        let logits = try model.prefill(embeddings: embeddings, visual: flags, cache: model.makeCache(), logits: .all) {
            hidden[$0] = $1.array
        }
        for layer in 0..<model.config.numHiddenLayers {
            let (diff, scale) = maxDifference(hidden[layer] ?? [], try ref.floats("visual.hidden.\(layer)"))
            #expect(diff <= 1e-4 * scale, "layer \(layer): max diff \(diff), scale \(scale)")
        }
        let (diff, scale) = maxDifference(logits.array, try ref.floats("visual.logits"))
        #expect(diff <= 1e-4 * scale, "logits: max diff \(diff), scale \(scale)")

        // Without the visual flags the prefill is causal and must differ from the reference.
        let causal = try model.prefill(embeddings: embeddings, visual: nil, cache: model.makeCache(), logits: .all)
        #expect(maxDifference(causal.array, try ref.floats("visual.logits")).diff > 1e-2)

        let result = try TextGenerator(model: model).generate(prompt: embeddings, visual: flags, maxNewTokens: 16)
        #expect(result.tokens == (try ref.integers("visual.greedy")))
    }

    /// Prefill in two chunks (the second continues the KV cache at later positions) equals the one-pass reference,
    /// for text and for a visual prompt split right after its visual block.
    @Test(arguments: ["qwen3", "olmo3"])
    func chunkedPrefillMatchesReference(family: String) throws {
        let ref = try Fixtures.reference(family)
        let model = try Molmo2LanguageModel.load(directory: Fixtures.url("\(family)-tiny-f32"), format: .float32)
        let V = model.config.vocabSize
        let ids = try ref.integers("text.input_ids")
        let expected = try ref.floats("text.logits")
        let cache = model.makeCache(capacity: 4)  // forces the cache to grow
        _ = try model.prefill(ids: Array(ids[..<20]), cache: cache, logits: .last)
        let rest = try model.prefill(ids: Array(ids[20...]), cache: cache, logits: .all)
        let (diff, scale) = maxDifference(rest.array, Array(expected[(20 * V)...]))
        #expect(diff <= 1e-4 * scale, "text: \(diff) vs \(scale)")
        #expect(cache.count == ids.count)

        let config = try Molmo2Config.load(directory: Fixtures.url("\(family)-tiny-f32"))
        let vids = try ref.integers("visual.input_ids")
        let flags = try ref.integers("visual.token_type").map { $0 == 1 }
        let features = try ref.floats("visual.features")
        let embeddings = try model.embed(vids)
        let D = model.config.hiddenSize
        var next = 0
        for (t, id) in vids.enumerated() where id == config.imagePatchId {
            for j in 0..<D { embeddings.row(t)[j] += features[next * D + j] }
            next += 1
        }
        let split = try #require(flags.lastIndex(of: true)) + 1
        let first = Tensor(rows: split, cols: D, values: Array(embeddings.array[..<(split * D)]))
        let second = Tensor(rows: vids.count - split, cols: D, values: Array(embeddings.array[(split * D)...]))
        let vcache = model.makeCache()
        _ = try model.prefill(embeddings: first, visual: Array(flags[..<split]), cache: vcache)
        let vrest = try model.prefill(embeddings: second, visual: Array(flags[split...]), cache: vcache, logits: .all)
        let (vd, vs) = maxDifference(vrest.array, Array(try ref.floats("visual.logits")[(split * V)...]))
        #expect(vd <= 1e-4 * vs, "visual: \(vd) vs \(vs)")
        #expect(vcache.visual == flags)

        // Forgetting the second chunk and running it again gives the same logits.
        vcache.truncate(to: split)
        let again = try model.prefill(embeddings: second, visual: Array(flags[split...]), cache: vcache, logits: .all)
        #expect(again.array == vrest.array)
    }
}
