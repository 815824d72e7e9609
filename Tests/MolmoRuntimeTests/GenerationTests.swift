import Foundation
import MolmoRuntime
import Testing

/// Streaming, stopping, cancellation and sampling on the tiny Qwen3 fixture.
@Suite struct GenerationTests {
    let ref: SafetensorsFile
    let model: Molmo2LanguageModel
    let ids: [Int]
    let greedy: [Int]

    init() throws {
        ref = try Fixtures.reference("qwen3")
        model = try Molmo2LanguageModel.load(directory: Fixtures.url("qwen3-tiny-f32"), format: .float32)
        ids = try ref.integers("text.input_ids")
        greedy = try ref.integers("text.greedy")
    }

    @Test func stopsAtEndOfSequenceId() throws {
        // Use the first token that appears at a position > 3 for the first time as the EOS id.
        guard let k = (4..<greedy.count).first(where: { !greedy[..<$0].contains(greedy[$0]) }) else {
            Issue.record("fixture continuation has no fresh token after position 3")
            return
        }
        var streamed: [Int] = []
        let result = try TextGenerator(model: model).generate(
            promptIds: ids, maxNewTokens: 32, stopTokenIds: [greedy[k]]) { streamed.append($0); return true }
        #expect(result.tokens == Array(greedy[...k]))
        #expect(result.stopReason == .endOfSequence(greedy[k]))
        #expect(streamed == Array(greedy[..<k]))
    }

    @Test func callbackAndCancellationStop() throws {
        let gen = TextGenerator(model: model)
        var seen: [Int] = []
        let byCaller = try gen.generate(promptIds: ids, maxNewTokens: 32) { seen.append($0); return seen.count < 3 }
        #expect(byCaller.tokens == Array(greedy[..<3]))
        #expect(byCaller.stopReason == .stoppedByCaller)
        #expect(seen == byCaller.tokens)

        let flag = CancellationFlag()
        var count = 0
        let cancelled = try gen.generate(promptIds: ids, maxNewTokens: 32, cancellation: flag) { _ in
            count += 1
            if count == 5 { flag.cancel() }
            return true
        }
        #expect(cancelled.tokens == Array(greedy[..<5]))
        #expect(cancelled.stopReason == .cancelled)
    }

    @Test func generationConfigEOSIds() throws {
        let qwen = try GenerationConfig.load(directory: Fixtures.url("qwen3-tiny-f32"))
        let olmo = try GenerationConfig.load(directory: Fixtures.url("olmo3-tiny-f32"))
        #expect(qwen.eosTokenIds == [482])
        #expect(olmo.eosTokenIds == [482, 480])
        #expect(qwen.bosTokenId == 482)
        #expect(qwen.padTokenId == 480)
    }

    @Test func seededSamplingIsReproducible() throws {
        let gen = TextGenerator(model: model)
        let options = SamplingOptions(temperature: 1.0, topP: 0.9, seed: 42)
        let a = try gen.generate(promptIds: ids, maxNewTokens: 24, sampling: options)
        let b = try gen.generate(promptIds: ids, maxNewTokens: 24, sampling: options)
        #expect(a == b)
        #expect(a.tokens.count == 24)
        // A nucleus this small keeps only the top token: identical to greedy.
        let narrow = try gen.generate(
            promptIds: ids, maxNewTokens: 24, sampling: SamplingOptions(temperature: 1.0, topP: 1e-6, seed: 7))
        #expect(narrow.tokens == Array(greedy[..<24]))
    }

    @Test func samplerDistributionAndFrequencies() {
        let logits: [Float] = [2.0, 1.0, 0.0, -1.0]
        let sampler = TokenSampler(options: SamplingOptions(temperature: 1, topP: 0.8, seed: 1))
        let p = logits.withUnsafeBufferPointer { sampler.distribution($0) }
        // softmax = [0.644, 0.237, 0.087, 0.032]; top-p 0.8 keeps the first two, renormalised.
        #expect(abs(p[0] - 0.7311) < 1e-3)
        #expect(abs(p[1] - 0.2689) < 1e-3)
        #expect(p[2] == 0 && p[3] == 0)

        var s = TokenSampler(options: SamplingOptions(temperature: 1, topP: 1, seed: 9))
        var counts = [0, 0, 0, 0]
        for _ in 0..<20000 { counts[logits.withUnsafeBufferPointer { s.next($0) }] += 1 }
        let expected: [Double] = [0.6439, 0.2369, 0.0871, 0.0321]
        for i in 0..<4 { #expect(abs(Double(counts[i]) / 20000 - expected[i]) < 0.015, "token \(i): \(counts[i])") }
    }
}

/// Text in, streamed text out, through a whole checkpoint directory.
@Suite struct TextRuntimeTests {
    @Test func generatesReferenceContinuationAsText() throws {
        let ref = try Fixtures.reference("qwen3")
        let runtime = try Molmo2TextRuntime(directory: Fixtures.url("qwen3-tiny-f32"), format: .float32)
        let prompt = try #require(ref.metadata["text.prompt"])
        #expect(runtime.promptIds(prompt) == (try ref.integers("text.input_ids")))  // BOS already present
        let greedy = try ref.integers("text.greedy")
        let eos = Set(runtime.generationConfig.eosTokenIds)
        let expected = greedy.firstIndex(where: eos.contains).map { Array(greedy[...$0]) } ?? greedy
        var streamed = ""
        let (text, result) = try runtime.generate(prompt: prompt, maxNewTokens: 32) { streamed += $0; return true }
        #expect(result.tokens == expected)
        #expect(text == runtime.tokenizer.decode(expected, skipSpecialTokens: true))
        #expect(streamed == text)

        // Without its BOS the prompt gets one.
        let body = String(prompt.dropFirst("<|im_end|>".count))
        #expect(runtime.promptIds(body).first == runtime.generationConfig.bosTokenId)
        #expect(Molmo2TextRuntime.chatPrompt(question: "Hi?") == "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n")
    }
}
