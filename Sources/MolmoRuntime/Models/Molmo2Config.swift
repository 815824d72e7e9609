import Basics
import Foundation

/// Problems with `config.json` or `generation_config.json`.
package enum ModelConfigError: Error, CustomStringConvertible {
    /// The file is missing or not valid JSON.
    case unreadable(file: String, reason: String)
    /// A field is missing, has the wrong type or an unsupported value.
    case invalid(file: String, reason: String)

    package var description: String {
        switch self {
        case let .unreadable(f, r): return "\(f): \(r)"
        case let .invalid(f, r): return "\(f): \(r)"
        }
    }
}

/// Rotary embedding settings (`rope_parameters` in transformers 5.x, `rope_theta` + `rope_scaling` in the released
/// checkpoints).
package struct RopeParameters: Decodable, Equatable, Sendable {
    /// "default" or "yarn".
    package var ropeType: String
    /// Base θ.
    package var theta: Double
    /// YaRN scale factor s.
    package var factor: Double?
    /// YaRN cos/sin multiplier; derived from `factor` when absent.
    package var attentionFactor: Double?
    /// YaRN β_fast (default 32).
    package var betaFast: Double?
    /// YaRN β_slow (default 1).
    package var betaSlow: Double?
    /// YaRN original context length L₀.
    package var originalMaxPositionEmbeddings: Int?
    /// Whether the YaRN correction range is rounded outward (default true).
    package var truncate: Bool?

    enum CodingKeys: String, CodingKey {
        case ropeType = "rope_type", type, theta = "rope_theta", factor
        case attentionFactor = "attention_factor", betaFast = "beta_fast", betaSlow = "beta_slow"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings", truncate
    }

    package init(ropeType: String = "default", theta: Double) {
        self.ropeType = ropeType
        self.theta = theta
    }

    package init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ropeType =
            try c.decodeIfPresent(String.self, forKey: .ropeType) ?? c.decodeIfPresent(String.self, forKey: .type)
            ?? "default"
        theta = try c.decodeIfPresent(Double.self, forKey: .theta) ?? 10000
        factor = try c.decodeIfPresent(Double.self, forKey: .factor)
        attentionFactor = try c.decodeIfPresent(Double.self, forKey: .attentionFactor)
        betaFast = try c.decodeIfPresent(Double.self, forKey: .betaFast)
        betaSlow = try c.decodeIfPresent(Double.self, forKey: .betaSlow)
        originalMaxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .originalMaxPositionEmbeddings)
        truncate = try c.decodeIfPresent(Bool.self, forKey: .truncate)
    }
}

/// The decoder part of a Molmo2 `config.json` (`text_config`). Reads both the released layout (`rope_theta`,
/// `rope_scaling`, `layer_norm_eps`, `qkv_bias`) and the transformers 5.x layout (`rope_parameters`, `rms_norm_eps`,
/// `attention_bias`).
package struct Molmo2TextConfig: Decodable, Equatable, Sendable {
    package var hiddenSize: Int
    package var numHiddenLayers: Int
    package var numAttentionHeads: Int
    package var numKeyValueHeads: Int
    package var headDim: Int
    package var intermediateSize: Int
    /// Rows of the base embedding and of the LM head.
    package var vocabSize: Int
    /// Extra embedding rows (image/frame special tokens) after the base vocabulary.
    package var additionalVocabSize: Int
    /// "qwen3" (q/k RMSNorm per head) or "olmo" (over the whole projection).
    package var qkNormType: String
    package var useQKNorm: Bool
    /// Post-norm blocks (OLMo3) instead of pre-norm (Qwen3).
    package var normAfter: Bool
    package var rmsNormEps: Double
    package var attentionBias: Bool
    package var hiddenAct: String
    package var maxPositionEmbeddings: Int
    package var rope: RopeParameters
    /// Layers using the scaled (YaRN) rotary table; nil = every layer.
    package var ropeScalingLayers: [Int]?

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", numKeyValueHeads = "num_key_value_heads"
        case headDim = "head_dim", intermediateSize = "intermediate_size", vocabSize = "vocab_size"
        case additionalVocabSize = "additional_vocab_size", qkNormType = "qk_norm_type", useQKNorm = "use_qk_norm"
        case normAfter = "norm_after", rmsNormEps = "rms_norm_eps", layerNormEps = "layer_norm_eps"
        case attentionBias = "attention_bias", qkvBias = "qkv_bias", hiddenAct = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings", ropeParameters = "rope_parameters"
        case ropeTheta = "rope_theta", ropeScaling = "rope_scaling", ropeScalingLayers = "rope_scaling_layers"
    }

    package init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? hiddenSize / max(1, numAttentionHeads)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        additionalVocabSize = try c.decodeIfPresent(Int.self, forKey: .additionalVocabSize) ?? 128
        qkNormType = try c.decodeIfPresent(String.self, forKey: .qkNormType) ?? "qwen3"
        useQKNorm = try c.decodeIfPresent(Bool.self, forKey: .useQKNorm) ?? true
        normAfter = try c.decodeIfPresent(Bool.self, forKey: .normAfter) ?? false
        rmsNormEps =
            try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? c.decodeIfPresent(Double.self, forKey: .layerNormEps)
            ?? 1e-6
        attentionBias =
            try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? c.decodeIfPresent(Bool.self, forKey: .qkvBias)
            ?? false
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 32768
        if let params = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters) {
            rope = params
        } else {
            let theta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 10000
            if var scaling = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeScaling) {
                scaling.theta = theta
                rope = scaling
            } else {
                rope = RopeParameters(theta: theta)
            }
        }
        ropeScalingLayers = try c.decodeIfPresent([Int].self, forKey: .ropeScalingLayers)
    }

    /// Checks the values this runtime implements; throws naming the field otherwise.
    func validate(file: String) throws {
        func bad(_ r: String) -> ModelConfigError { .invalid(file: file, reason: "text_config: \(r)") }
        for (name, v) in [
            ("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
            ("num_attention_heads", numAttentionHeads), ("num_key_value_heads", numKeyValueHeads),
            ("head_dim", headDim), ("intermediate_size", intermediateSize), ("vocab_size", vocabSize),
        ] where v <= 0 || v > 1 << 24 {
            throw bad("\(name) = \(v) is out of range")
        }
        guard additionalVocabSize >= 0, additionalVocabSize <= 1 << 24 else {
            throw bad("additional_vocab_size = \(additionalVocabSize) is out of range")
        }
        // Layers are bounded again by the tensors a checkpoint really holds (LanguageTensorNames.sanitize).
        guard numHiddenLayers <= Self.maximumLayers else {
            throw bad("num_hidden_layers = \(numHiddenLayers) is out of range (at most \(Self.maximumLayers))")
        }
        guard maxPositionEmbeddings > 0, maxPositionEmbeddings <= 1 << 24 else {
            throw bad("max_position_embeddings = \(maxPositionEmbeddings) is out of range")
        }
        guard rmsNormEps.isFinite, rmsNormEps > 0, rmsNormEps < 1 else {
            throw bad("rms_norm_eps = \(rmsNormEps) is out of range")
        }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw bad("num_attention_heads \(numAttentionHeads) is not a multiple of num_key_value_heads \(numKeyValueHeads)")
        }
        guard headDim % 8 == 0 else { throw bad("head_dim \(headDim) must be a multiple of 8 (attention kernels)") }
        guard qkNormType == "qwen3" || qkNormType == "olmo" else { throw bad("unsupported qk_norm_type '\(qkNormType)'") }
        guard hiddenAct == "silu" else { throw bad("unsupported hidden_act '\(hiddenAct)' (only silu)") }
        guard rope.ropeType == "default" || rope.ropeType == "yarn" else {
            throw bad("unsupported rope type '\(rope.ropeType)' (default and yarn are implemented)")
        }
        guard rope.theta > 1, rope.theta <= 1e12 else { throw bad("rope_theta \(rope.theta) must be in (1, 1e12]") }
        for (name, value) in [
            ("factor", rope.factor), ("attention_factor", rope.attentionFactor), ("beta_fast", rope.betaFast),
            ("beta_slow", rope.betaSlow),
        ] {
            if let value, !(value.isFinite && value > 0 && value <= 1e6) {
                throw bad("rope scaling \(name) = \(value) is out of range")
            }
        }
        if rope.ropeType == "yarn" {
            guard let original = rope.originalMaxPositionEmbeddings, original > 0, original <= 1 << 24 else {
                throw bad("yarn rope needs original_max_position_embeddings in 1...\(1 << 24)")
            }
        }
        if let layers = ropeScalingLayers, let badLayer = layers.first(where: { $0 < 0 || $0 >= numHiddenLayers }) {
            throw bad("rope_scaling_layers names layer \(badLayer) of \(numHiddenLayers)")
        }
    }

    /// Most decoder layers a config may declare (released Molmo2 models have 36).
    package static let maximumLayers = 4096

    /// Total embedding rows (base + additional).
    package var embeddingRows: Int { vocabSize + additionalVocabSize }
    /// Width of the fused q/k/v projection.
    package var qkvWidth: Int { (numAttentionHeads + 2 * numKeyValueHeads) * headDim }
    /// True when layer `i` uses the scaled rotary table.
    package func usesScaledRope(layer i: Int) -> Bool { ropeScalingLayers.map { $0.contains(i) } ?? true }
}

/// Which decoder family a checkpoint uses.
package enum DecoderFamily: String, Sendable {
    /// Pre-norm, per-head q/k norm (Molmo2-4B / 8B).
    case qwen3
    /// Post-norm, full-width q/k norm, YaRN on listed layers (Molmo2-O-7B).
    case olmo3
}

/// The parts of a Molmo2 `config.json` the runtime reads (released or transformers 5.x layout).
package struct Molmo2Config: Sendable {
    package var modelType: String
    package var text: Molmo2TextConfig
    /// Storage dtype named by the config (`dtype`, older `torch_dtype`).
    package var dtype: String?
    package var imagePatchId: Int?
    package var imageStartTokenId: Int?
    package var imageEndTokenId: Int?
    package var imageColumnId: Int?
    package var lowResImageStartTokenId: Int?
    package var imageLowResId: Int?
    package var frameStartTokenId: Int?
    package var frameEndTokenId: Int?
    /// True when the config carries a vision tower (`vit_config` or `vision_config`).
    package var hasVision: Bool
    /// The vision tower and connector settings (nil without a vision tower).
    package var vision: Molmo2VisionConfig?

    /// `model_type` values this runtime loads.
    package static let supportedModelTypes = ["molmo2"]

    /// Decoder family from the text config.
    package var family: DecoderFamily { text.normAfter || text.qkNormType == "olmo" ? .olmo3 : .qwen3 }

    /// Reads `config.json` in `directory`.
    package static func load(directory: URL) throws -> Molmo2Config {
        let url = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ModelConfigError.unreadable(
                file: url.path, reason: "missing (not a Hugging Face checkpoint directory)")
        }
        let data: Data
        do { data = try RegularFile.read(url.path) } catch {
            throw ModelConfigError.unreadable(file: url.path, reason: "cannot read config.json: \(error)")
        }
        return try parse(data, file: url.path)
    }

    /// Parses config.json text.
    package static func parse(_ data: Data, file: String) throws -> Molmo2Config {
        let root: JSONValue
        do { root = try JSONValue.parse(data) } catch {
            throw ModelConfigError.unreadable(file: file, reason: "\(error)")
        }
        guard root.object != nil else { throw ModelConfigError.invalid(file: file, reason: "not a JSON object") }
        guard let modelType = root["model_type"]?.string else {
            throw ModelConfigError.invalid(
                file: file, reason: "no model_type (supported: \(supportedModelTypes.joined(separator: ", ")))")
        }
        guard supportedModelTypes.contains(modelType) else {
            throw ModelConfigError.invalid(
                file: file,
                reason: "unsupported model_type '\(modelType)' (supported: \(supportedModelTypes.joined(separator: ", ")))")
        }
        guard root["text_config"]?.object != nil else {
            throw ModelConfigError.invalid(file: file, reason: "no text_config object")
        }
        let text: Molmo2TextConfig
        do {
            let textData = try JSONSerialization.data(withJSONObject: foundationObject(root["text_config"]!))
            text = try JSONDecoder().decode(Molmo2TextConfig.self, from: textData)
        } catch let e as DecodingError {
            throw ModelConfigError.invalid(file: file, reason: "text_config: \(describe(e))")
        }
        try text.validate(file: file)
        func id(_ key: String) -> Int? { root[key]?.int }
        let vision = try Molmo2VisionConfig.parse(root: root, file: file)
        if let v = vision, v.textHiddenSize != text.hiddenSize {
            throw ModelConfigError.invalid(
                file: file,
                reason: "adapter_config.text_hidden_size \(v.textHiddenSize) differs from text_config.hidden_size \(text.hiddenSize)")
        }
        return Molmo2Config(
            modelType: modelType, text: text,
            dtype: root["dtype"]?.string ?? root["torch_dtype"]?.string ?? root["text_config"]?["dtype"]?.string,
            imagePatchId: id("image_patch_id"), imageStartTokenId: id("image_start_token_id"),
            imageEndTokenId: id("image_end_token_id"), imageColumnId: id("image_col_id"),
            lowResImageStartTokenId: id("low_res_image_start_token_id"), imageLowResId: id("image_low_res_id"),
            frameStartTokenId: id("frame_start_token_id"), frameEndTokenId: id("frame_end_token_id"),
            hasVision: root["vit_config"]?.object != nil || root["vision_config"]?.object != nil,
            vision: vision)
    }
}

/// `generation_config.json`: special ids and (optional) sampling defaults.
package struct GenerationConfig: Sendable, Equatable {
    package var bosTokenId: Int?
    /// Every id that ends generation (`eos_token_id` may be an int or a list).
    package var eosTokenIds: [Int]
    package var padTokenId: Int?
    package var doSample: Bool
    package var temperature: Double?
    package var topP: Double?

    package init(bosTokenId: Int? = nil, eosTokenIds: [Int] = [], padTokenId: Int? = nil, doSample: Bool = false,
                temperature: Double? = nil, topP: Double? = nil) {
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
        self.padTokenId = padTokenId
        self.doSample = doSample
        self.temperature = temperature
        self.topP = topP
    }

    /// Reads `generation_config.json` in `directory`; a missing file gives an empty config.
    package static func load(directory: URL) throws -> GenerationConfig {
        let url = directory.appendingPathComponent("generation_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return GenerationConfig() }
        let root: JSONValue
        do { root = try JSONValue.parse(try RegularFile.read(url.path)) } catch {
            throw ModelConfigError.unreadable(file: url.path, reason: "\(error)")
        }
        var out = GenerationConfig()
        out.bosTokenId = root["bos_token_id"]?.int
        out.padTokenId = root["pad_token_id"]?.int
        switch root["eos_token_id"] {
        case let .some(.array(items)):
            out.eosTokenIds = try items.map {
                guard let i = $0.int else {
                    throw ModelConfigError.invalid(file: url.path, reason: "eos_token_id list holds a non-integer")
                }
                return i
            }
        case let .some(v) where v.int != nil: out.eosTokenIds = [v.int!]
        case .none, .some(.null): break
        default: throw ModelConfigError.invalid(file: url.path, reason: "eos_token_id is neither an int nor a list")
        }
        out.doSample = root["do_sample"]?.bool ?? false
        out.temperature = root["temperature"]?.double
        out.topP = root["top_p"]?.double
        return out
    }
}

/// Converts a JSONValue into Foundation objects for JSONSerialization/JSONDecoder.
func foundationObject(_ v: JSONValue) -> Any {
    switch v {
    case .null: return NSNull()
    case let .bool(b): return b
    case let .int(i): return i
    case let .double(d): return d
    case let .string(s): return s
    case let .array(a): return a.map(foundationObject)
    case let .object(o): return o.mapValues(foundationObject)
    }
}

func describe(_ e: DecodingError) -> String {
    switch e {
    case let .keyNotFound(key, _): return "missing key '\(key.stringValue)'"
    case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx), let .dataCorrupted(ctx):
        let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
        return "bad value at '\(path)': \(ctx.debugDescription)"
    @unknown default: return "\(e)"
    }
}
