import CKernels
import Foundation

/// What a checkpoint directory holds and what running it here would take: family, sizes, on-disk dtype, memory
/// estimates per weight format, and whether this machine can run it. Reads headers and configs only.
package struct CheckpointReport: Sendable {
    /// Decoder family.
    package var family: DecoderFamily
    /// The decoder configuration.
    package var text: Molmo2TextConfig
    /// True when the config and weights carry a vision tower.
    package var hasVision: Bool
    /// Weight naming layout ("released" or "native").
    package var weightLayout: String
    /// Number of safetensors files.
    package var shardCount: Int
    /// Bytes of tensor data on disk.
    package var checkpointBytes: Int
    /// Bytes on disk per dtype.
    package var bytesByDType: [SafetensorsDType: Int]
    /// Parameters of the language model (embedding, blocks, head).
    package var languageParameters: Int
    /// All other parameters (vision tower, connector).
    package var otherParameters: Int
    /// Whether tokenizer.json is present and loads, with its size or the reason it does not.
    package var tokenizerStatus: String
    /// End-of-sequence ids from generation_config.json.
    package var eosTokenIds: [Int]
    /// Context length used for the memory estimate.
    package var contextTokens: Int
    /// MemAvailable of this machine, if known.
    package var availableMemory: Int?
    /// CPU features relevant to the kernels.
    package var cpuFeatures: [String]
    /// The CPU has the AVX2+FMA baseline the kernels need.
    package var cpuSupported: Bool

    /// Bytes of KV cache per token (fp32 keys and values of every layer).
    package var kvBytesPerToken: Int {
        saturatingProduct([2, text.numHiddenLayers, text.numKeyValueHeads, text.headDim, 4])
    }

    /// Bytes of KV cache for `contextTokens` (saturates at Int.max instead of trapping).
    package var kvBytes: Int { saturatingProduct([kvBytesPerToken, contextTokens]) }

    /// Estimated peak resident memory with the given weight format: converted weights (language and other tensors),
    /// KV cache for `contextTokens`, prefill activations, and one source tensor mapped during conversion. Saturates
    /// at Int.max: the sizes come from the checkpoint's config.
    package func memoryNeeded(format: WeightFormat) -> Int {
        let c = text
        let chunk = min(contextTokens, 256)
        return saturatingSum([
            saturatingProduct([saturatingSum([languageParameters, otherParameters]), format.bytesPerWeight]),
            kvBytes,
            saturatingProduct([contextTokens, saturatingSum([2 * c.hiddenSize, c.numAttentionHeads * c.headDim]), 4]),
            saturatingProduct([
                chunk, saturatingSum([c.qkvWidth, 3 * c.intermediateSize, 2 * c.hiddenSize]), 4,
            ]),
            saturatingProduct([chunk, c.vocabSize, 4]),
            saturatingProduct([c.vocabSize, c.hiddenSize, 4]),
            256 << 20,
        ])
    }

    /// True when `format` fits the available memory and the CPU is supported.
    package func canRun(format: WeightFormat) -> Bool {
        guard cpuSupported else { return false }
        guard let available = availableMemory else { return true }
        return memoryNeeded(format: format) <= available
    }
}

/// Builds a `CheckpointReport` for a directory, or says in one line why the directory is not a usable checkpoint.
package enum CheckpointInspector {
    /// Largest context a memory estimate is made for.
    package static let maximumContextTokens = 1 << 24

    /// Inspects `directory` (headers and JSON only; no weights are read). Everything `ask` checks before converting
    /// weights is checked here too (configs against each other, tokenizer and special ids, every tensor's shape),
    /// so a checkpoint `ask` would refuse is refused here with the same one-line reason. The work is bounded by
    /// the tensors the checkpoint really holds, not by the counts its config declares.
    package static func inspect(directory: URL, contextTokens: Int = 8192) throws -> CheckpointReport {
        guard contextTokens > 0, contextTokens <= maximumContextTokens else {
            throw ModelConfigError.invalid(
                file: directory.path, reason: "context \(contextTokens) tokens is out of range (1...\(maximumContextTokens))")
        }
        let config = try Molmo2Config.load(directory: directory)
        let files = try CheckpointFiles(directory: directory)
        let names = try Molmo2LanguageModel.checkShapes(checkpoint: files, config: config.text)
        var languageNames = Set(names.embedding + [names.lnF, names.lmHead])
        for b in names.blocks {
            languageNames.formUnion([b.attnNorm, b.ffNorm, b.attnOut, b.ffOut] + b.attProj + b.ffProj)
            languageNames.formUnion([b.qNorm, b.kNorm].compactMap { $0 } + (b.attProjBias ?? []))
        }
        var language = 0
        var other = 0
        for name in files.tensorNames {
            let (_, info) = try files.locate(name)
            if languageNames.contains(name) { language += info.elementCount } else { other += info.elementCount }
        }

        // `ask` needs the vision tower, processor settings, tokenizer and special ids: so does doctor.
        let tokenizer = try MolmoModel.loadSettings(directory: directory).tokenizer
        if let vision = config.vision { _ = try Molmo2VisionModel.checkShapes(checkpoint: files, config: vision) }
        var tokenizerStatus = "loads, \(tokenizer.vocabularySize) ids"
        if let patch = config.imagePatchId {
            tokenizerStatus += tokenizer.id(of: "<im_patch>") == patch
                ? ", <im_patch> = \(patch) as in config.json"
                : ", <im_patch> does not match config.json image_patch_id \(patch)"
        }
        let generation = try GenerationConfig.load(directory: directory)
        let f = spotter_cpu_features()
        let has = { (bit: spotter_cpu_feature) in f & UInt32(bit.rawValue) != 0 }
        var features: [String] = []
        for (bit, label) in [
            (SPOTTER_CPU_AVX2, "avx2"), (SPOTTER_CPU_FMA, "fma"), (SPOTTER_CPU_F16C, "f16c"),
            (SPOTTER_CPU_AVX512F, "avx512f"), (SPOTTER_CPU_AVX512BW, "avx512bw"), (SPOTTER_CPU_AVX512VNNI, "avx512vnni"),
            (SPOTTER_CPU_AVX512BF16, "avx512bf16"),
        ] where has(bit) {
            features.append(label)
        }
        return CheckpointReport(
            family: config.family, text: config.text, hasVision: config.hasVision && other > 0,
            weightLayout: names.layout, shardCount: files.shards.count, checkpointBytes: files.totals.bytes,
            bytesByDType: files.bytesByDType, languageParameters: language, otherParameters: other,
            tokenizerStatus: tokenizerStatus, eosTokenIds: generation.eosTokenIds, contextTokens: contextTokens,
            availableMemory: availableMemoryBytes(), cpuFeatures: features,
            cpuSupported: has(SPOTTER_CPU_AVX2) && has(SPOTTER_CPU_FMA))
    }

    /// MemAvailable from /proc/meminfo, in bytes.
    package static func availableMemoryBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return nil
    }
}

/// Product of non-negative factors, Int.max when it overflows.
func saturatingProduct(_ factors: [Int]) -> Int {
    var out = 1
    for f in factors {
        let (p, overflow) = out.multipliedReportingOverflow(by: f)
        if overflow { return Int.max }
        out = p
    }
    return out
}

/// Sum of non-negative terms, Int.max when it overflows.
func saturatingSum(_ terms: [Int]) -> Int {
    var out = 0
    for t in terms {
        let (s, overflow) = out.addingReportingOverflow(t)
        if overflow { return Int.max }
        out = s
    }
    return out
}
