import Foundation

/// A loaded Molmo2 checkpoint's language side: decoder, tokenizer and generation settings, with text in and
/// streamed text out. `MolmoModel` adds the vision side and feeds `generate(embeddings:visual:...)`-style prompts.
package final class Molmo2TextRuntime {
    /// The checkpoint directory.
    package let directory: URL
    /// Full model config.
    package let config: Molmo2Config
    /// The decoder.
    package let model: Molmo2LanguageModel
    /// The tokenizer from `tokenizer.json`.
    package let tokenizer: BPETokenizer
    /// Ids from `generation_config.json`.
    package let generationConfig: GenerationConfig

    /// Loads config, tokenizer and language weights (converted to `format`).
    package init(directory: URL, format: WeightFormat) throws {
        self.directory = directory
        config = try Molmo2Config.load(directory: directory)
        tokenizer = try BPETokenizer(url: directory.appendingPathComponent("tokenizer.json"))
        generationConfig = try GenerationConfig.load(directory: directory)
        model = try Molmo2LanguageModel.load(
            checkpoint: try CheckpointFiles(directory: directory), config: config.text, format: format)
    }

    /// Token ids of `text` with the BOS id of generation_config.json in front when the text does not already
    /// start with it (as Molmo2's processor does).
    package func promptIds(_ text: String) -> [Int] {
        var ids = tokenizer.encode(text)
        if let bos = generationConfig.bosTokenId, ids.first != bos { ids.insert(bos, at: 0) }
        return ids
    }

    /// The single-turn chat prompt of Molmo2 for a text-only question (no visual block).
    package static func chatPrompt(question: String) -> String { PromptLayout.chatText(question: question) }

    /// Generates a reply to `prompt` (raw text, BOS added), streaming decoded text pieces to `onText`
    /// (return false to stop). Stops at the checkpoint's EOS ids. Returns the whole reply without special tokens.
    package func generate(prompt: String, maxNewTokens: Int, sampling: SamplingOptions = .greedy,
                         cancellation: CancellationFlag? = nil, onText: ((String) -> Bool)? = nil) throws
        -> (text: String, result: GenerationResult)
    {
        try generate(embeddings: try model.embed(promptIds(prompt)), visual: nil, maxNewTokens: maxNewTokens,
                     sampling: sampling, cancellation: cancellation, onText: onText)
    }

    /// Generates after prompt embeddings (e.g. with image features added) and their visual flags.
    package func generate(embeddings: Tensor, visual: [Bool]?, maxNewTokens: Int, sampling: SamplingOptions = .greedy,
                         cancellation: CancellationFlag? = nil, onText: ((String) -> Bool)? = nil) throws
        -> (text: String, result: GenerationResult)
    {
        var stream = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: true)
        let result = try TextGenerator(model: model).generate(
            prompt: embeddings, visual: visual, maxNewTokens: maxNewTokens,
            stopTokenIds: Set(generationConfig.eosTokenIds), sampling: sampling, cancellation: cancellation,
            onToken: { id in
                let piece = stream.append(id)
                if piece.isEmpty { return true }
                return onText?(piece) ?? true
            })
        let rest = stream.flush()
        if !rest.isEmpty { _ = onText?(rest) }
        return (tokenizer.decode(result.tokens, skipSpecialTokens: true), result)
    }
}
