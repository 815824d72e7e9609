import Basics
import CKernels
import Foundation

/// Problems loading a Molmo2 model or answering with it (one line each, naming the file or input).
package enum MolmoModelError: Error, CustomStringConvertible {
    /// The model reference is neither a directory nor a model in the Hugging Face cache.
    case notFound(reference: String, searched: String)
    /// The checkpoint has no vision tower.
    case noVisionTower(directory: String)
    /// config.json and the tokenizer disagree about a token id.
    case tokenMismatch(file: String, reason: String)
    /// Nothing to look at.
    case noMedia
    /// Visual features and `<im_patch>` tokens do not pair up.
    case featureCountMismatch(features: Int, tokens: Int)
    /// The cancellation flag was set before the answer started.
    case cancelled

    package var description: String {
        switch self {
        case let .notFound(r, s): return "\(r): not a checkpoint directory and not in the Hugging Face cache (\(s))"
        case let .noVisionTower(d): return "\(d)/config.json: no vit_config/vision_config (a text-only checkpoint)"
        case let .tokenMismatch(f, r): return "\(f): \(r)"
        case .noMedia: return "answer: no images or video frames given"
        case let .featureCountMismatch(f, t): return "answer: \(f) visual features for \(t) <im_patch> tokens"
        case .cancelled: return "answer: cancelled"
        }
    }
}

/// What the model looks at: still images (numbered `Image 1`, `Image 2`, … in the prompt when there are several) or
/// the sampled frames of one video, each carrying its prompt timestamp.
package enum MolmoMedia {
    case images([RGBFrame])
    case video([RGBFrame])
    /// Video frames fetched one at a time (`frame(i)` for i in 0..<count), so that full-size frames are not all held
    /// in memory at once.
    case videoFrames(count: Int, frame: (Int) throws -> RGBFrame)
}

/// Stage progress of one answer, for status lines.
package enum AnswerProgress: Sendable, Equatable {
    /// Frames/images preprocessed so far.
    case framesPrepared(done: Int, total: Int)
    /// ViT crops encoded so far.
    case visionCrops(done: Int, total: Int)
    /// The prompt of this many tokens is being prefilled.
    case prefill(tokens: Int)
    /// Tokens generated so far and the decode rate (after the first token).
    case decoding(tokens: Int, tokensPerSecond: Double)
}

/// Settings of one answer.
package struct AnswerOptions {
    /// Most new tokens (the end-of-sequence token included).
    package var maxNewTokens: Int
    /// Tiles per image (nil: `max_crops` of the checkpoint, 8 for the released models).
    package var maxCrops: Int?
    package var sampling: SamplingOptions
    package var cancellation: CancellationFlag?
    /// Record the largest `topLogits` logits (ids and values) of every step (0 = none), before any constraint.
    package var topLogits: Int
    /// Hold the answer to exactly one coordinate element (see `ConstrainedDecoder`); nil: free text.
    package var constraint: AnswerConstraint?
    package var onProgress: ((AnswerProgress) -> Void)?

    package init(maxNewTokens: Int = 512, maxCrops: Int? = nil, sampling: SamplingOptions = .greedy,
                cancellation: CancellationFlag? = nil, topLogits: Int = 0, constraint: AnswerConstraint? = nil,
                onProgress: ((AnswerProgress) -> Void)? = nil) {
        self.maxNewTokens = maxNewTokens
        self.maxCrops = maxCrops
        self.sampling = sampling
        self.cancellation = cancellation
        self.topLogits = topLogits
        self.constraint = constraint
        self.onProgress = onProgress
    }
}

/// Seconds spent in each stage of an answer.
package struct AnswerTimings: Sendable, Equatable {
    package var preprocessing: Double = 0
    package var vision: Double = 0
    /// Prefill and the first token.
    package var prefill: Double = 0
    /// Every token after the first.
    package var decode: Double = 0
    package var crops = 0
    /// Crops whose features came from a `VisionFeatureCache` instead of the ViT (counted in `crops`).
    package var reusedCrops = 0
    package var promptTokens = 0
    /// Leading prompt tokens whose keys and values were kept from the previous answer of a `MolmoSession`
    /// (counted in `promptTokens`, not prefilled).
    package var reusedPromptTokens = 0
    package var generatedTokens = 0

    /// Crops run through the ViT.
    package var encodedCrops: Int { crops - reusedCrops }
    /// Prompt tokens run through the decoder's prefill.
    package var prefilledTokens: Int { promptTokens - reusedPromptTokens }
    /// Tokens per second after the first token.
    package var decodeTokensPerSecond: Double { generatedTokens > 1 && decode > 0 ? Double(generatedTokens - 1) / decode : 0 }
    /// Prefilled tokens per second of the prefill.
    package var prefillTokensPerSecond: Double { prefill > 0 ? Double(prefilledTokens) / prefill : 0 }
}

/// One step's largest logits.
package struct TopLogits: Sendable, Equatable {
    package var ids: [Int]
    package var values: [Float]
}

/// A finished answer.
package struct MolmoAnswer: Sendable {
    /// The reply without special tokens.
    package var text: String
    /// The prompt token ids.
    package var inputIds: [Int]
    /// The generated ids (with a final end-of-sequence id when generation stopped there).
    package var generatedIds: [Int]
    package var stopReason: StopReason
    /// Per step, when `AnswerOptions.topLogits` > 0.
    package var topLogits: [TopLogits]
    package var timings: AnswerTimings
}

/// A prompt ready for the decoder: token ids, visual flags, and embeddings with the visual features added to the
/// `<im_patch>` rows.
package struct PreparedPrompt {
    package var prompt: Molmo2Prompt
    package var embeddings: Tensor
    package var timings: AnswerTimings
}

/// A loaded Molmo2 checkpoint with its vision side: frames and a question in, a streamed answer out, computed as the
/// reference does (preprocessing, SigLIP2 + connector, prompt layout, decoder with bidirectional visual attention,
/// greedy decoding until `<|im_end|>`).
package final class MolmoModel {
    /// The checkpoint directory.
    package let directory: URL
    package let config: Molmo2Config
    package let processorConfig: Molmo2ProcessorConfig
    package let generationConfig: GenerationConfig
    package let tokenizer: BPETokenizer
    package let specialTokens: Molmo2SpecialTokens
    package let language: Molmo2LanguageModel
    package let vision: Molmo2VisionModel

    /// Loads a checkpoint directory, or a Hugging Face model id (`allenai/Molmo2-4B`) from the local cache
    /// (`$HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`). Weights are converted to `format`.
    package static func load(_ reference: String, format: WeightFormat = .float32) throws -> MolmoModel {
        try MolmoModel(directory: try resolve(reference), format: format)
    }

    /// The checkpoint directory a reference names: an existing directory, or the cached snapshot of a model id
    /// (`refs/main`, or the only snapshot) in `hubCache` (default: the environment's Hugging Face cache).
    package static func resolve(_ reference: String, hubCache: String? = nil) throws -> URL {
        let expanded = (reference as NSString).expandingTildeInPath
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: expanded, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CheckpointError.notADirectory(expanded) }
            return URL(fileURLWithPath: expanded)
        }
        let env = ProcessInfo.processInfo.environment
        let hub: String
        if let hubCache {
            hub = hubCache
        } else if let cache = env["HF_HUB_CACHE"], !cache.isEmpty {
            hub = cache
        } else if let home = env["HF_HOME"], !home.isEmpty {
            hub = home + "/hub"
        } else {
            hub = NSHomeDirectory() + "/.cache/huggingface/hub"
        }
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && !$0.contains("..") }) else {
            throw MolmoModelError.notFound(reference: reference, searched: "not an owner/name id either")
        }
        let repo = "\(hub)/models--\(parts[0])--\(parts[1])"
        let snapshots = repo + "/snapshots"
        if let revision = try? String(contentsOfFile: repo + "/refs/main", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !revision.isEmpty, !revision.contains("/"),
            FileManager.default.fileExists(atPath: "\(snapshots)/\(revision)")
        {
            return URL(fileURLWithPath: "\(snapshots)/\(revision)")
        }
        let found = (try? FileManager.default.contentsOfDirectory(atPath: snapshots))?.sorted() ?? []
        if found.count == 1 { return URL(fileURLWithPath: "\(snapshots)/\(found[0])") }
        throw MolmoModelError.notFound(
            reference: reference,
            searched: found.isEmpty ? "looked in \(repo)" : "\(found.count) snapshots in \(snapshots) and no refs/main")
    }

    /// Everything a checkpoint needs besides its weights: configs, processor settings, tokenizer and special ids,
    /// checked against each other. `init` and `CheckpointInspector` (doctor) share it, so both refuse the same files.
    package static func loadSettings(directory: URL) throws -> (
        config: Molmo2Config, processor: Molmo2ProcessorConfig, generation: GenerationConfig, tokenizer: BPETokenizer,
        specialTokens: Molmo2SpecialTokens
    ) {
        let config = try Molmo2Config.load(directory: directory)
        guard let visionConfig = config.vision else { throw MolmoModelError.noVisionTower(directory: directory.path) }
        let processorConfig = try Molmo2ProcessorConfig.load(directory: directory)
        let processorFile = directory.appendingPathComponent("preprocessor_config.json").path
        guard processorConfig.cropSize == visionConfig.imageSize, processorConfig.patchSize == visionConfig.patchSize
        else {
            throw ModelConfigError.invalid(
                file: processorFile,
                reason: "crops of \(processorConfig.cropSize) px / patch \(processorConfig.patchSize) do not fit the "
                    + "ViT's \(visionConfig.imageSize) px / \(visionConfig.patchSize)")
        }
        let generationConfig = try GenerationConfig.load(directory: directory)
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        let tokenizer = try BPETokenizer(url: tokenizerURL)
        let specialTokens = try Molmo2SpecialTokens(
            tokenizer: tokenizer, bos: try bosId(directory: directory, generation: generationConfig, tokenizer: tokenizer),
            file: tokenizerURL.path)
        if let patch = config.imagePatchId, patch != specialTokens.imagePatch {
            throw MolmoModelError.tokenMismatch(
                file: directory.appendingPathComponent("config.json").path,
                reason: "image_patch_id \(patch) is not the tokenizer's <im_patch> (\(specialTokens.imagePatch))")
        }
        return (config, processorConfig, generationConfig, tokenizer, specialTokens)
    }

    /// Loads config, processor settings, tokenizer and weights of `directory`.
    package init(directory: URL, format: WeightFormat = .float32) throws {
        self.directory = directory
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw CheckpointError.notADirectory(directory.path)
        }
        let settings = try Self.loadSettings(directory: directory)
        config = settings.config
        processorConfig = settings.processor
        generationConfig = settings.generation
        tokenizer = settings.tokenizer
        specialTokens = settings.specialTokens
        guard let visionConfig = config.vision else { throw MolmoModelError.noVisionTower(directory: directory.path) }
        let files = try CheckpointFiles(directory: directory)
        vision = try Molmo2VisionModel.load(checkpoint: files, config: visionConfig, format: format)
        language = try Molmo2LanguageModel.load(checkpoint: files, config: config.text, format: format)
    }

    /// BOS: generation_config.json's `bos_token_id`, else tokenizer_config.json's `bos_token` or `eos_token` (the
    /// processor prepends `bos_token or eos_token`).
    static func bosId(directory: URL, generation: GenerationConfig, tokenizer: BPETokenizer) throws -> Int? {
        if let bos = generation.bosTokenId { return bos }
        let url = directory.appendingPathComponent("tokenizer_config.json")
        guard let data = try? RegularFile.read(url.path), let root = try? JSONValue.parse(data) else { return nil }
        for key in ["bos_token", "eos_token"] {
            let text = root[key]?.string ?? root[key]?["content"]?.string
            if let text, let id = tokenizer.id(of: text) { return id }
        }
        return nil
    }

    /// Opt-in bf16 dot products in both the vision and language matmuls (bf16 weights only).
    package var useBF16DotProducts: Bool {
        get { language.useBF16DotProducts }
        set {
            language.useBF16DotProducts = newValue
            vision.useBF16DotProducts = newValue
        }
    }

    /// Why `useBF16DotProducts` changes nothing for this model on this CPU (no AVX512_BF16, or weights not
    /// bfloat16); nil when it takes effect.
    package var bf16DotProductsIneffective: String? {
        KernelSettings.bf16DotProductsIneffective(format: language.format)
    }

    /// The prompt layout of this checkpoint.
    package var layout: PromptLayout { PromptLayout(config: processorConfig, tokens: specialTokens, tokenizer: tokenizer) }

    /// Preprocesses the media, encodes it, lays out the prompt and adds the visual features to the `<im_patch>`
    /// embeddings.
    package func prepare(media: MolmoMedia, question: String, options: AnswerOptions = AnswerOptions()) throws
        -> PreparedPrompt
    {
        try prepare(media: media, question: question, options: options, featureCache: nil)
    }

    /// As `prepare(media:question:options:)`, looking features up in (and adding them to) `featureCache`.
    func prepare(media: MolmoMedia, question: String, options: AnswerOptions, featureCache: VisionFeatureCache?)
        throws -> PreparedPrompt
    {
        var timings = AnswerTimings()
        let preprocessor = Molmo2ImagePreprocessor(config: processorConfig)
        let started = Date()
        var visuals: [PreprocessedVisual] = []
        switch media {
        case let .images(images):
            guard !images.isEmpty else { throw MolmoModelError.noMedia }
            for (i, image) in images.enumerated() {
                visuals.append(try preprocessor.preprocess(image: image, maxCrops: options.maxCrops))
                options.onProgress?(.framesPrepared(done: i + 1, total: images.count))
                if options.cancellation?.isCancelled == true { throw MolmoModelError.cancelled }
            }
        case let .video(frames):
            guard !frames.isEmpty else { throw MolmoModelError.noMedia }
            visuals.append(try preprocessVideo(count: frames.count, frame: { frames[$0] }, options: options))
        case let .videoFrames(count, frame):
            guard count > 0 else { throw MolmoModelError.noMedia }
            visuals.append(try preprocessVideo(count: count, frame: frame, options: options))
        }
        let prompt = try layout.prompt(visuals: visuals, question: question)
        timings.preprocessing = Date().timeIntervalSince(started)

        let visionStarted = Date()
        let totalCrops = visuals.reduce(0) { $0 + $1.numCrops }
        var cropsDone = 0
        var features: [Tensor] = []
        let reusedBefore = featureCache?.reusedCrops ?? 0
        for visual in visuals {
            let before = cropsDone
            features.append(
                try vision.features(
                    for: visual, mean: processorConfig.imageMean, std: processorConfig.imageStd, cache: featureCache,
                    onCrop: { done, _ in
                        cropsDone = before + done
                        options.onProgress?(.visionCrops(done: cropsDone, total: totalCrops))
                        return options.cancellation?.isCancelled != true
                    }))
        }
        timings.vision = Date().timeIntervalSince(visionStarted)
        timings.crops = totalCrops
        timings.reusedCrops = (featureCache?.reusedCrops ?? 0) - reusedBefore

        let embeddings = try language.embed(prompt.ids)
        let positions = prompt.patchPositions(patchId: specialTokens.imagePatch)
        let featureRows = features.reduce(0) { $0 + $1.rows }
        guard featureRows == positions.count else {
            throw MolmoModelError.featureCountMismatch(features: featureRows, tokens: positions.count)
        }
        let D = language.config.hiddenSize
        var next = 0
        for f in features {
            for r in 0..<f.rows {
                spotter_add_inplace(embeddings.row(positions[next]), f.row(r), D)
                next += 1
            }
        }
        timings.promptTokens = prompt.ids.count
        return PreparedPrompt(prompt: prompt, embeddings: embeddings, timings: timings)
    }

    private func preprocessVideo(count: Int, frame: (Int) throws -> RGBFrame, options: AnswerOptions) throws
        -> PreprocessedVisual
    {
        try Molmo2ImagePreprocessor(config: processorConfig).preprocess(videoFrameCount: count, frame: frame) { done in
            options.onProgress?(.framesPrepared(done: done, total: count))
            if options.cancellation?.isCancelled == true { throw MolmoModelError.cancelled }
        }
    }

    /// Answers `question` about `media`, streaming decoded text pieces to `onText` (return false to stop), and
    /// returns the whole answer with its token ids and stage timings. Generation stops at the checkpoint's EOS ids.
    /// With `options.constraint` the answer is held to that element (an invalid constraint throws
    /// `AnswerConstraintError` before any work).
    package func answer(media: MolmoMedia, question: String, options: AnswerOptions = AnswerOptions(),
                       onText: ((String) -> Bool)? = nil) throws -> MolmoAnswer {
        let decoder = try constrainedDecoder(options)
        let prepared = try prepareAnswer(media: media, question: question, options: options, featureCache: nil)
        return try generate(
            prepared, decoder: decoder, options: options,
            cache: language.makeCache(capacity: prepared.prompt.ids.count + options.maxNewTokens), reusedPrefix: 0,
            onText: onText)
    }

    /// The decoder holding the answer to `options.constraint` (nil without one).
    func constrainedDecoder(_ options: AnswerOptions) throws -> ConstrainedDecoder? {
        try options.constraint.map {
            try ConstrainedDecoder(
                constraint: $0, tokenizer: tokenizer, endOfSequenceIds: generationConfig.eosTokenIds,
                logitCount: language.config.vocabSize)
        }
    }

    /// `prepare`, with a vision-stage cancellation reported as `MolmoModelError.cancelled`.
    func prepareAnswer(media: MolmoMedia, question: String, options: AnswerOptions,
                       featureCache: VisionFeatureCache?) throws -> PreparedPrompt {
        do {
            return try prepare(media: media, question: question, options: options, featureCache: featureCache)
        } catch VisionError.cancelled {
            throw MolmoModelError.cancelled
        }
    }

    /// Prefills the prompt after its first `reusedPrefix` tokens (whose keys and values `cache` already holds, and
    /// nothing after them) and generates the answer.
    func generate(_ prepared: PreparedPrompt, decoder: ConstrainedDecoder?, options: AnswerOptions, cache: KVCache,
                  reusedPrefix: Int, onText: ((String) -> Bool)?) throws -> MolmoAnswer {
        var timings = prepared.timings
        timings.reusedPromptTokens = reusedPrefix
        let S = prepared.prompt.ids.count
        let D = language.config.hiddenSize
        var promptRows = prepared.embeddings
        if reusedPrefix > 0 {
            promptRows = Tensor(shape: [S - reusedPrefix, D])
            promptRows.data.update(from: prepared.embeddings.row(reusedPrefix), count: (S - reusedPrefix) * D)
        }
        var stream = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: true)
        var top: [TopLogits] = []
        let k = options.topLogits
        options.onProgress?(.prefill(tokens: S - reusedPrefix))
        let generationStarted = Date()
        var firstToken: Date?
        var count = 0
        let result = try TextGenerator(model: language).generate(
            prompt: promptRows, visual: Array(prepared.prompt.visual[reusedPrefix...]), cache: cache,
            maxNewTokens: options.maxNewTokens,
            stopTokenIds: Set(generationConfig.eosTokenIds), sampling: options.sampling, constraint: decoder,
            cancellation: options.cancellation,
            onLogits: k > 0 ? { top.append(Self.largest(k, of: $0)) } : nil
        ) { id in
            count += 1
            let now = Date()
            if firstToken == nil { firstToken = now }
            let decodeSeconds = now.timeIntervalSince(firstToken ?? now)
            options.onProgress?(
                .decoding(tokens: count, tokensPerSecond: count > 1 && decodeSeconds > 0 ? Double(count - 1) / decodeSeconds : 0))
            let piece = stream.append(id)
            if piece.isEmpty { return true }
            return onText?(piece) ?? true
        }
        let rest = stream.flush()
        if !rest.isEmpty { _ = onText?(rest) }
        let finished = Date()
        timings.prefill = (firstToken ?? finished).timeIntervalSince(generationStarted)
        timings.decode = firstToken.map { finished.timeIntervalSince($0) } ?? 0
        timings.generatedTokens = result.tokens.count
        return MolmoAnswer(
            text: tokenizer.decode(result.tokens, skipSpecialTokens: true), inputIds: prepared.prompt.ids,
            generatedIds: result.tokens, stopReason: result.stopReason, topLogits: top, timings: timings)
    }

    /// The `k` largest logits, largest first (ties: lower id first).
    static func largest(_ k: Int, of logits: UnsafeBufferPointer<Float>) -> TopLogits {
        var best: [(Int, Float)] = []
        best.reserveCapacity(k + 1)
        for (i, v) in logits.enumerated() {
            if best.count == k, let last = best.last, v <= last.1 { continue }
            var j = best.count
            while j > 0 && best[j - 1].1 < v { j -= 1 }
            best.insert((i, v), at: j)
            if best.count > k { best.removeLast() }
        }
        return TopLogits(ids: best.map(\.0), values: best.map(\.1))
    }
}
