import CKernels
import Foundation

/// A model kept across questions: the vision features of recently seen images and frames (`featureCache`) and the
/// KV cache of the previous answer. A new question about the same media computes no ViT crop it has seen before,
/// and prefills only the prompt tokens after the prefix it shares with the previous answer's tokens (Molmo2's
/// prompt puts the frames before the question, so that prefix holds every visual token). The answers are the
/// ones a fresh `MolmoModel.answer` gives, bit for bit. One answer at a time (not thread-safe).
package final class MolmoSession {
    package let model: MolmoModel
    package let featureCache: VisionFeatureCache
    private var cache: KVCache?
    /// One key per token held in `cache`.
    private var cachedTokens: [TokenKey] = []

    /// What a decoder input row is: a digest of its embedding (token embedding plus any visual features) and its
    /// visual flag. Two rows with equal keys get the same keys and values from the same preceding rows.
    struct TokenKey: Equatable {
        var high: UInt64
        var low: UInt64
        var visual: Bool

        init(row: UnsafePointer<Float>, width: Int, visual: Bool) {
            var state: [UInt64] = [0x746F_6B65_6E5F_6B65, 0x795F_726F_7773_2121]
            state.withUnsafeMutableBufferPointer { spotter_digest128_update($0.baseAddress!, row, width * 4) }
            high = state[0]
            low = state[1]
            self.visual = visual
        }
    }

    /// A session over `model` whose feature cache holds at most `featureCacheBytes` bytes.
    package init(model: MolmoModel, featureCacheBytes: Int = 512 << 20) {
        self.model = model
        featureCache = VisionFeatureCache(byteBudget: featureCacheBytes)
    }

    /// Tokens whose keys and values are kept for the next question.
    package var cachedTokenCount: Int { cache?.count ?? 0 }

    /// Forgets the kept KV cache and every cached feature.
    package func reset() {
        cache = nil
        cachedTokens = []
        featureCache.removeAll()
    }

    /// Answers as `MolmoModel.answer` does, reusing cached vision features and the shared KV prefix;
    /// `timings.reusedCrops` and `timings.reusedPromptTokens` say how much work was skipped.
    package func answer(media: MolmoMedia, question: String, options: AnswerOptions = AnswerOptions(),
                       onText: ((String) -> Bool)? = nil) throws -> MolmoAnswer {
        let decoder = try model.constrainedDecoder(options)
        let prepared = try model.prepareAnswer(media: media, question: question, options: options,
                                               featureCache: featureCache)
        let D = model.language.config.hiddenSize
        let prompt = prepared.prompt.visual.enumerated().map { i, visual in
            TokenKey(row: prepared.embeddings.row(i), width: D, visual: visual)
        }
        let S = prompt.count
        var reused = 0
        let kv: KVCache
        if let previous = cache {
            reused = Self.reusablePrefix(
                cached: cachedTokens, prompt: prompt,
                minimumSuffix: model.useBF16DotProducts ? minimumPrefillRows : 2)
            previous.truncate(to: reused)
            kv = previous
        } else {
            kv = model.language.makeCache(capacity: S + options.maxNewTokens)
        }
        if reused == 0 { kv.truncate(to: 0) }
        // Until the answer is through, the kept cache is in an unknown state.
        cache = nil
        cachedTokens = []
        let answer = try model.generate(
            prepared, decoder: decoder, options: options, cache: kv, reusedPrefix: reused, onText: onText)
        // The cache now holds the prompt and every generated token but the last (which was never fed back); a
        // cancelled prefill leaves it shorter, and it is then dropped.
        let fed = answer.generatedIds.isEmpty ? 0 : answer.generatedIds.count - 1
        if kv.count == S + fed {
            var tokens = prompt
            for id in answer.generatedIds.prefix(fed) {
                let row = try model.language.embed([id])
                tokens.append(TokenKey(row: row.data, width: D, visual: false))
            }
            cache = kv
            cachedTokens = tokens
        }
        return answer
    }

    /// How many leading prompt tokens can keep their cached keys and values: the shared prefix of the cached and
    /// the new tokens, less whatever is needed for the result to be the one a cold prefill gives:
    /// - at least `minimumSuffix` tokens are prefilled (a one-row prefill takes the GEMV kernel, whose summation
    ///   order differs from the prefill's; bf16 dot products start at `minimumPrefillRows` rows);
    /// - visual tokens attend to every visual token of the prompt, later ones too, so a prefix holding visual
    ///   tokens is kept only when neither the cached nor the new tokens have a visual token after it; otherwise
    ///   only the text before the first visual token is kept.
    static func reusablePrefix(cached: [TokenKey], prompt: [TokenKey], minimumSuffix: Int) -> Int {
        var shared = 0
        let limit = min(cached.count, prompt.count)
        while shared < limit && cached[shared] == prompt[shared] { shared += 1 }
        shared = min(shared, max(0, prompt.count - minimumSuffix))
        if let firstVisual = prompt[..<shared].firstIndex(where: \.visual) {
            let lastCached = cached.lastIndex(where: \.visual) ?? -1
            let lastPrompt = prompt.lastIndex(where: \.visual) ?? -1
            if lastCached >= shared || lastPrompt >= shared { shared = firstVisual }
        }
        return shared
    }
}
