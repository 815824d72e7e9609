import Basics
import Foundation

/// How the next token is chosen. Temperature 0 is greedy (the Molmo2 default).
package struct SamplingOptions: Sendable, Equatable {
    /// Softmax temperature; 0 selects the arg-max.
    package var temperature: Float
    /// Nucleus mass kept (1 = no truncation).
    package var topP: Float
    /// Seed of the random generator (same seed, same tokens).
    package var seed: UInt64

    package init(temperature: Float = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topP = topP
        self.seed = seed
    }

    /// Greedy decoding.
    package static let greedy = SamplingOptions()
}

/// A thread-safe flag another thread sets to stop generation between tokens.
package final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    package init() {}

    /// Requests cancellation.
    package func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }

    /// True once `cancel()` was called.
    package var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }
}

/// Why generation ended.
package enum StopReason: Equatable, Sendable {
    /// An end-of-sequence id was produced (it is the last element of `tokens`).
    case endOfSequence(Int)
    /// `maxNewTokens` were produced.
    case maxTokens
    /// The cancellation flag was set.
    case cancelled
    /// The token callback asked to stop.
    case stoppedByCaller
    /// The answer constraint allowed no token at all (a vocabulary without single-byte tokens or end-of-sequence
    /// ids in the logits).
    case noAllowedToken
}

/// Tokens produced by one generation call.
package struct GenerationResult: Equatable, Sendable {
    /// New tokens in order (including a final end-of-sequence id, as transformers does).
    package var tokens: [Int]
    /// Why it ended.
    package var stopReason: StopReason
}

/// xoshiro256** seeded through SplitMix64: small, fast and reproducible across platforms.
package struct SeededGenerator: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    package init(seed: UInt64) {
        var seeds = SplitMix64(seed: seed)
        s = (seeds.next(), seeds.next(), seeds.next(), seeds.next())
    }

    package mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// A uniform Float in [0, 1).
    package mutating func nextUnit() -> Float { Float(next() >> 40) * (1.0 / Float(1 << 24)) }
}

/// Picks tokens from logits: arg-max, or temperature + top-p sampling (the order transformers applies them).
package struct TokenSampler {
    package let options: SamplingOptions
    private var rng: SeededGenerator

    package init(options: SamplingOptions) {
        self.options = options
        rng = SeededGenerator(seed: options.seed)
    }

    /// Index of the largest logit (first one on ties).
    package static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<logits.count where logits[i] > bestValue {
            bestValue = logits[i]
            best = i
        }
        return best
    }

    /// Probabilities after temperature and top-p truncation (zero outside the nucleus), for inspection and tests.
    package func distribution(_ logits: UnsafeBufferPointer<Float>) -> [Float] {
        let n = logits.count
        let t = max(options.temperature, 1e-6)
        var maxLogit = -Float.infinity
        for v in logits { maxLogit = max(maxLogit, v) }
        var probs = [Float](repeating: 0, count: n)
        var sum: Float = 0
        for i in 0..<n {
            let e = expf((logits[i] - maxLogit) / t)
            probs[i] = e
            sum += e
        }
        for i in 0..<n { probs[i] /= sum }
        if options.topP < 1 {
            // Keep the smallest set of most likely tokens whose mass reaches top_p (at least one token).
            let order = (0..<n).sorted { probs[$0] > probs[$1] || (probs[$0] == probs[$1] && $0 < $1) }
            var mass: Float = 0
            var keep = 0
            for idx in order {
                keep += 1
                mass += probs[idx]
                if mass >= options.topP { break }
            }
            var kept = [Float](repeating: 0, count: n)
            var keptSum: Float = 0
            for idx in order.prefix(keep) {
                kept[idx] = probs[idx]
                keptSum += probs[idx]
            }
            for i in 0..<n { kept[i] /= keptSum }
            probs = kept
        }
        return probs
    }

    /// The next token.
    package mutating func next(_ logits: UnsafeBufferPointer<Float>) -> Int {
        if options.temperature <= 0 { return TokenSampler.argmax(logits) }
        let probs = distribution(logits)
        let u = rng.nextUnit()
        var cumulative: Float = 0
        var last = 0
        for (i, p) in probs.enumerated() where p > 0 {
            cumulative += p
            last = i
            if u < cumulative { return i }
        }
        return last
    }
}

/// Runs a prompt through the language model and produces tokens one by one with the KV cache, streaming each to a
/// callback, stopping at an end-of-sequence id, at a token budget, or on cancellation.
package final class TextGenerator {
    /// The decoder.
    package let model: Molmo2LanguageModel

    package init(model: Molmo2LanguageModel) { self.model = model }

    /// Generates after a prompt given as embeddings (with visual flags for image/video tokens).
    /// `constraint` holds the tokens to its grammar (and the element to the budget); without it tokens are picked
    /// from the raw logits. `onLogits` sees the logits of every step before the token is chosen (traces, unmasked);
    /// `onToken` receives every new token except a final end-of-sequence id; returning false stops.
    package func generate(prompt: Tensor, visual: [Bool]? = nil, cache: KVCache? = nil, maxNewTokens: Int,
                         stopTokenIds: Set<Int> = [], sampling: SamplingOptions = .greedy,
                         constraint: ConstrainedDecoder? = nil, cancellation: CancellationFlag? = nil,
                         onLogits: ((UnsafeBufferPointer<Float>) -> Void)? = nil,
                         onToken: ((Int) -> Bool)? = nil) throws -> GenerationResult
    {
        let kv = cache ?? model.makeCache(capacity: prompt.rows + maxNewTokens)
        var sampler = TokenSampler(options: sampling)
        var tokens: [Int] = []
        if cancellation?.isCancelled == true { return GenerationResult(tokens: [], stopReason: .cancelled) }
        guard maxNewTokens > 0 else { return GenerationResult(tokens: [], stopReason: .maxTokens) }
        var logits: Tensor
        do {
            logits = try model.prefill(embeddings: prompt, visual: visual, cache: kv, logits: .last,
                                       cancellation: cancellation)
        } catch DecoderError.cancelled {
            return GenerationResult(tokens: [], stopReason: .cancelled)
        }
        while true {
            let step = UnsafeBufferPointer(start: logits.data, count: logits.cols)
            onLogits?(step)
            let token: Int
            if let constraint {
                guard let allowed = constraint.choose(step, tokensLeft: maxNewTokens - tokens.count, sampler: &sampler)
                else { return GenerationResult(tokens: tokens, stopReason: .noAllowedToken) }
                constraint.advance(allowed)
                token = allowed
            } else {
                token = sampler.next(step)
            }
            tokens.append(token)
            if stopTokenIds.contains(token) { return GenerationResult(tokens: tokens, stopReason: .endOfSequence(token)) }
            if let onToken, !onToken(token) { return GenerationResult(tokens: tokens, stopReason: .stoppedByCaller) }
            if tokens.count >= maxNewTokens { return GenerationResult(tokens: tokens, stopReason: .maxTokens) }
            if cancellation?.isCancelled == true { return GenerationResult(tokens: tokens, stopReason: .cancelled) }
            logits = try model.prefill(embeddings: try model.embed([token]), visual: nil, cache: kv, logits: .last)
        }
    }

    /// Generates after a prompt given as token ids.
    package func generate(promptIds: [Int], maxNewTokens: Int, stopTokenIds: Set<Int> = [],
                         sampling: SamplingOptions = .greedy, cancellation: CancellationFlag? = nil,
                         onToken: ((Int) -> Bool)? = nil) throws -> GenerationResult {
        try generate(prompt: try model.embed(promptIds), maxNewTokens: maxNewTokens, stopTokenIds: stopTokenIds,
                     sampling: sampling, cancellation: cancellation, onToken: onToken)
    }
}
