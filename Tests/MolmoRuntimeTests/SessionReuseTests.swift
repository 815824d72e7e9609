import Foundation
@testable import MolmoRuntime
import Testing

/// Questions asked through one `MolmoSession`: the features of media seen before and the KV cache of the shared
/// prompt prefix are reused, and every answer is the cold answer bit for bit (tokens and top-20 logits).
@Suite struct SessionReuseTests {
    /// Answers of a fresh model call: the reference the reused answers must equal exactly.
    func coldAnswer(_ model: MolmoModel, _ media: MolmoMedia, _ question: String) throws -> MolmoAnswer {
        try model.answer(media: media, question: question, options: AnswerOptions(maxNewTokens: 10, topLogits: 20))
    }

    func expectIdentical(_ reused: MolmoAnswer, _ cold: MolmoAnswer, _ label: String) {
        #expect(reused.inputIds == cold.inputIds, "\(label): prompt ids")
        #expect(reused.generatedIds == cold.generatedIds, "\(label): tokens")
        #expect(reused.topLogits == cold.topLogits, "\(label): top-20 logits of every step, bit for bit")
        #expect(reused.text == cold.text, "\(label): text")
    }

    @Test(arguments: ["qwen3", "olmo3"])
    func secondQuestionSkipsVisionAndPrefixPrefill(family: String) throws {
        let model = try MolmoModel(directory: VisionFixtures.checkpoint(family), format: .float32)
        let options = AnswerOptions(maxNewTokens: 10, topLogits: 20)
        for c in try VisionFixtures.cases() {
            let session = MolmoSession(model: model)
            let first = try session.answer(media: c.media, question: c.question, options: options)
            #expect(first.timings.reusedCrops == 0 && first.timings.reusedPromptTokens == 0, "\(c.name): first")
            #expect(first.timings.encodedCrops == first.timings.crops && first.timings.crops > 0)
            expectIdentical(first, try coldAnswer(model, c.media, c.question), "\(family)/\(c.name) first")

            let followUp = "What else is in it?"
            var prefilled: [Int] = []
            var followOptions = options
            followOptions.onProgress = { if case let .prefill(tokens) = $0 { prefilled.append(tokens) } }
            let second = try session.answer(media: c.media, question: followUp, options: followOptions)
            let cold = try coldAnswer(model, c.media, followUp)
            expectIdentical(second, cold, "\(family)/\(c.name) follow-up")
            // No crop went through the ViT, and every token up to the last visual one was kept.
            #expect(second.timings.reusedCrops == second.timings.crops, "\(c.name): crops from the feature cache")
            #expect(second.timings.encodedCrops == 0)
            let prompt = try model.prepare(media: c.media, question: followUp).prompt
            let lastVisual = try #require(prompt.visual.lastIndex(of: true))
            let shared = zip(first.inputIds, second.inputIds).prefix { $0 == $1 }.count
            #expect(second.timings.reusedPromptTokens > lastVisual, "\(c.name): the visual tokens were not prefilled")
            #expect(second.timings.reusedPromptTokens == min(shared, second.inputIds.count - 2))
            #expect(second.timings.prefilledTokens == second.inputIds.count - second.timings.reusedPromptTokens)
            #expect(prefilled == [second.timings.prefilledTokens])

            // The same question once more: all but the last two prompt tokens are kept.
            let again = try session.answer(media: c.media, question: followUp, options: options)
            expectIdentical(again, cold, "\(family)/\(c.name) repeated")
            #expect(again.timings.reusedPromptTokens == again.inputIds.count - 2)
        }
    }

    /// Other media after a cached clip: the new frames go through the ViT, only the text before the first visual
    /// token is kept, and the answer is still the cold one; the first media's features are still cached.
    @Test func otherMediaRecomputeAndMatchCold() throws {
        let model = try MolmoModel(directory: VisionFixtures.checkpoint("qwen3"), format: .float32)
        let cases = try VisionFixtures.cases()
        let video = try #require(cases.first { $0.isVideo })
        let image = try #require(cases.first { !$0.isVideo })
        let options = AnswerOptions(maxNewTokens: 10, topLogits: 20)
        let session = MolmoSession(model: model)
        _ = try session.answer(media: video.media, question: video.question, options: options)
        let other = try session.answer(media: image.media, question: image.question, options: options)
        expectIdentical(other, try coldAnswer(model, image.media, image.question), "image after video")
        #expect(other.timings.reusedCrops == 0)
        let firstVisual = try #require(
            try model.prepare(media: image.media, question: image.question).prompt.visual.firstIndex(of: true))
        #expect(other.timings.reusedPromptTokens <= firstVisual)
        let back = try session.answer(media: video.media, question: "And now?", options: options)
        expectIdentical(back, try coldAnswer(model, video.media, "And now?"), "video again")
        #expect(back.timings.reusedCrops == back.timings.crops)
        #expect(session.featureCache.count >= 2)

        // A changed frame of the clip is a different key: it alone is encoded again.
        var frames = video.frames
        frames[0] = VisionFixtures.synthetic(width: frames[0].width, height: frames[0].height, seed: 991,
                                             timestamp: frames[0].timestamp)
        let changed = try session.answer(media: .video(frames), question: "And now?", options: options)
        expectIdentical(changed, try coldAnswer(model, .video(frames), "And now?"), "one frame changed")
        #expect(changed.timings.encodedCrops == 1)
    }

    /// bfloat16 weights with bf16 dot products (where the CPU has AVX512_BF16; elsewhere the same check runs on the
    /// fp32-product path): a follow-up keeps at least `minimumPrefillRows` tokens to prefill and still matches cold.
    @Test func bf16DotProductsFollowUpMatchesCold() throws {
        let model = try MolmoModel(directory: VisionFixtures.checkpoint("qwen3"), format: .bfloat16)
        model.useBF16DotProducts = true
        let image = try #require(try VisionFixtures.cases().first { !$0.isVideo })
        let options = AnswerOptions(maxNewTokens: 10, topLogits: 20)
        let session = MolmoSession(model: model)
        _ = try session.answer(media: image.media, question: image.question, options: options)
        let followUp = "Describe the colours in this picture, from left to right, in detail."
        let second = try session.answer(media: image.media, question: followUp, options: options)
        expectIdentical(second, try coldAnswer(model, image.media, followUp), "bf16 dot follow-up")
        #expect(second.timings.reusedPromptTokens > 0)
        #expect(second.timings.prefilledTokens >= minimumPrefillRows)
        #expect(second.timings.reusedCrops == second.timings.crops)
    }

    /// The prefix rule on its own: a cut through the visual tokens keeps only the text before them.
    @Test func reusablePrefixRespectsBidirectionalVisualAttention() {
        func key(_ id: UInt64, _ visual: Bool) -> MolmoSession.TokenKey {
            var row = [Float](repeating: 0, count: 4)
            row[0] = Float(id)
            return MolmoSession.TokenKey(row: row, width: 4, visual: visual)
        }
        let text = (0..<3).map { key($0, false) }
        let frames = (10..<16).map { key($0, true) }
        let question = (20..<30).map { key($0, false) }
        let old = text + frames + question
        // Same frames, other question: everything up to the question is kept.
        let newQuestion = text + frames + (40..<50).map { key($0, false) }
        #expect(MolmoSession.reusablePrefix(cached: old, prompt: newQuestion, minimumSuffix: 2) == 9)
        // Same first frames, then other frames: the visual prefix saw frames that are gone, so only the text stays.
        let otherFrames = text + frames.prefix(3) + (60..<63).map { key($0, true) } + question
        #expect(MolmoSession.reusablePrefix(cached: old, prompt: otherFrames, minimumSuffix: 2) == 3)
        // The same prompt: all but the minimum suffix.
        #expect(MolmoSession.reusablePrefix(cached: old, prompt: old, minimumSuffix: 2) == old.count - 2)
        #expect(MolmoSession.reusablePrefix(cached: old, prompt: old, minimumSuffix: 16) == old.count - 16)
        // A minimum suffix reaching into the frames drops back to the text.
        let shortQuestion = text + frames + [key(70, false)]
        #expect(MolmoSession.reusablePrefix(cached: old, prompt: shortQuestion, minimumSuffix: 2) == 3)
        #expect(MolmoSession.reusablePrefix(cached: [], prompt: old, minimumSuffix: 2) == 0)
    }

    /// The feature cache stays within its budget, dropping the least recently used entries.
    @Test func featureCacheIsBounded() throws {
        let cache = VisionFeatureCache(byteBudget: 3 * 100 * 4)
        let visual = PreprocessedVisual(kind: .video, crops: [UInt8](repeating: 7, count: 64), numCrops: 4, pooling: [],
                                        windowSize: 9, grid: [], timestamps: [], tiling: nil)
        func key(_ group: Int) -> VisionFeatureCache.Key {
            VisionFeatureCache.Key(visual: visual, group: group, cropsPerGroup: 1, cropBytes: 16,
                                   pooling: [Int32(group)], patchOffset: Int32(group), mean: [1], std: [2])
        }
        // Identical pixels and relative pooling: the same key wherever the frame is.
        #expect(key(0) == key(3))
        let otherPixels = VisionFeatureCache.Key(
            visual: PreprocessedVisual(kind: .video, crops: [UInt8](repeating: 8, count: 64), numCrops: 4, pooling: [],
                                       windowSize: 9, grid: [], timestamps: [], tiling: nil),
            group: 0, cropsPerGroup: 1, cropBytes: 16, pooling: [0], patchOffset: 0, mean: [1], std: [2])
        #expect(otherPixels != key(0))
        let otherSettings = VisionFeatureCache.Key(
            visual: visual, group: 0, cropsPerGroup: 1, cropBytes: 16, pooling: [0], patchOffset: 0, mean: [1],
            std: [3])
        #expect(otherSettings != key(0))

        var keys: [VisionFeatureCache.Key] = []
        for i in 0..<4 {
            let k = VisionFeatureCache.Key(
                visual: visual, group: 0, cropsPerGroup: 1, cropBytes: 16, pooling: [0], patchOffset: 0,
                mean: [Float(i)], std: [1])
            keys.append(k)
            let values = [Float](repeating: Float(i), count: 100)
            values.withUnsafeBufferPointer { cache.store(k, values: $0.baseAddress!, count: 100, crops: 1) }
            if i == 2 {
                // Touch the first entry so that the second is the least recently used.
                var out = [Float](repeating: 0, count: 100)
                #expect(out.withUnsafeMutableBufferPointer { cache.lookup(keys[0], rows: 100, into: $0.baseAddress!) })
                #expect(out == [Float](repeating: 0, count: 100))
            }
        }
        #expect(cache.count == 3 && cache.byteCount <= cache.byteBudget)
        var out = [Float](repeating: -1, count: 100)
        #expect(!out.withUnsafeMutableBufferPointer { cache.lookup(keys[1], rows: 100, into: $0.baseAddress!) })
        #expect(out.withUnsafeMutableBufferPointer { cache.lookup(keys[3], rows: 100, into: $0.baseAddress!) })
        #expect(out == [Float](repeating: 3, count: 100))
        #expect(cache.reusedCrops == 2 && cache.encodedCrops == 4)
    }
}
