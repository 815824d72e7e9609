import Foundation
import MolmoRuntime
import Testing

/// Whole answers against transformers' Molmo2 on the tiny vision checkpoints: prompt ids, the logits of the last 8
/// prompt positions (fp32, within 1e-4 × max|ref|), and the greedy continuation (`generate`, stopping at EOS).
@Suite struct EndToEndParityTests {
    @Test(arguments: ["qwen3", "olmo3"])
    func answersMatchReference(family: String) throws {
        let ref = try VisionFixtures.reference(family)
        let inputs = try VisionFixtures.inputs()
        let model = try MolmoModel(directory: VisionFixtures.checkpoint(family), format: .float32)
        let V = model.language.config.vocabSize
        for c in try VisionFixtures.cases() {
            let prepared = try model.prepare(media: c.media, question: c.question)
            #expect(prepared.prompt.ids == (try inputs.integers("\(c.name).input_ids")), "\(family)/\(c.name): ids")
            let S = prepared.prompt.ids.count
            let logits = try model.language.prefill(
                embeddings: prepared.embeddings, visual: prepared.prompt.visual, cache: model.language.makeCache(),
                logits: .all)
            let last = Array(logits.array[((S - 8) * V)...])
            let (diff, scale) = maxDifference(last, try ref.floats("\(c.name).logits"))
            #expect(diff <= 1e-4 * scale, "\(family)/\(c.name) logits: max diff \(diff), scale \(scale)")

            var streamed = ""
            var progress: [AnswerProgress] = []
            let answer = try model.answer(
                media: c.media, question: c.question,
                options: AnswerOptions(maxNewTokens: 12, topLogits: 20, onProgress: { progress.append($0) })
            ) { piece in
                streamed += piece
                return true
            }
            let greedy = try ref.integers("\(c.name).greedy")
            #expect(answer.generatedIds == greedy, "\(family)/\(c.name): greedy tokens")
            #expect(answer.text == model.tokenizer.decode(greedy, skipSpecialTokens: true))
            #expect(streamed == answer.text)
            #expect(answer.inputIds == prepared.prompt.ids)
            #expect(answer.topLogits.count == greedy.count)
            #expect(answer.topLogits.first?.ids.first == greedy.first)
            #expect(answer.topLogits.allSatisfy { $0.ids.count == 20 && $0.values == $0.values.sorted(by: >) })
            #expect(answer.timings.promptTokens == S && answer.timings.generatedTokens == greedy.count)
            let crops = c.isVideo ? c.frames.count : (try inputs.integers("\(c.name).num_crops")).reduce(0, +)
            #expect(progress.contains(.visionCrops(done: crops, total: crops)))
            #expect(progress.contains(.prefill(tokens: S)))
        }
    }

    /// A question about a video and a set flag: the answer ends with `cancelled` after the first token, and a flag set
    /// before the vision stage stops there.
    @Test func cancellation() throws {
        let model = try MolmoModel(directory: VisionFixtures.checkpoint("qwen3"), format: .float32)
        let video = try #require(try VisionFixtures.cases().first { $0.isVideo })
        let flag = CancellationFlag()
        let answer = try model.answer(
            media: video.media, question: video.question, options: AnswerOptions(maxNewTokens: 12, cancellation: flag)
        ) { _ in
            flag.cancel()
            return true
        }
        #expect(answer.stopReason == .cancelled)
        #expect(answer.generatedIds.count < 12)

        let early = CancellationFlag()
        #expect(throws: MolmoModelError.self) {
            _ = try model.answer(
                media: video.media, question: video.question,
                options: AnswerOptions(cancellation: early, onProgress: { if case .visionCrops = $0 { early.cancel() } }))
        }
    }
}
