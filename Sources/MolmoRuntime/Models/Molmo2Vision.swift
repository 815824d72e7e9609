import CKernels
import Foundation

// MARK: - Configuration

/// The vision tower and connector settings of a Molmo2 `config.json`, resolved: how many ViT blocks are stored and
/// which blocks feed the connector. Reads the released layout (`vit_config` with 27 layers and `adapter_config.vit_layers`
/// [-3, -9], of which only blocks 0…24 exist) and the transformers 5.x layout (`vision_config` with 25 layers,
/// `adapter_config.vision_feature_layer` [24, 18]).
package struct Molmo2VisionConfig: Sendable, Equatable {
    /// ViT width (1152).
    package var hiddenSize: Int
    /// ViT MLP width (4304).
    package var intermediateSize: Int
    package var numHeads: Int
    package var headDim: Int
    package var layerNormEps: Double
    /// Crop side in pixels (378) and patch side (14).
    package var imageSize: Int
    package var patchSize: Int
    /// Positional embeddings (729 = 27²).
    package var numPositions: Int
    /// ViT blocks stored and run (25).
    package var layers: Int
    /// Blocks whose outputs are concatenated, in order ([24, 18]).
    package var featureLayers: [Int]
    /// Connector attention pooling: heads × head dim, output width (1152).
    package var poolingHeads: Int
    package var poolingHeadDim: Int
    package var poolingOutputSize: Int
    /// Connector SwiGLU projector width and output width (the LLM's hidden size).
    package var projectorIntermediateSize: Int
    package var textHiddenSize: Int

    /// Width of the concatenated patch features (hidden · feature layers).
    package var featureWidth: Int { hiddenSize * featureLayers.count }
    /// Patches per crop side (27).
    package var patchesPerSide: Int { imageSize / patchSize }

    /// Parses the vision and adapter objects of a config.json root; nil when the config has no vision tower.
    static func parse(root: JSONValue, file: String) throws -> Molmo2VisionConfig? {
        let released = root["vit_config"]?.object != nil
        guard let vision = root["vit_config"] ?? root["vision_config"], vision.object != nil else { return nil }
        let section = released ? "vit_config" : "vision_config"
        guard let adapter = root["adapter_config"], adapter.object != nil else {
            throw ModelConfigError.invalid(file: file, reason: "\(section) without adapter_config")
        }
        func bad(_ r: String) -> ModelConfigError { .invalid(file: file, reason: r) }
        func int(_ v: JSONValue, _ key: String, _ s: String, default d: Int? = nil) throws -> Int {
            if let n = v[key]?.int { return n }
            if let d { return d }
            throw bad("\(s).\(key) is missing")
        }
        let hidden = try int(vision, "hidden_size", section, default: 1152)
        let heads = try int(vision, "num_attention_heads", section, default: 16)
        let headDim = try int(vision, "head_dim", section, default: hidden / max(1, heads))
        let patch = try int(vision, released ? "image_patch_size" : "patch_size", section, default: 14)
        let sizeValue = vision[released ? "image_default_input_size" : "image_size"]
        let size = sizeValue?.array?.first?.int ?? sizeValue?.int ?? 378
        if let sides = sizeValue?.array?.compactMap(\.int), sides.count == 2, sides[0] != sides[1] {
            throw bad("\(section): non-square image size \(sides)")
        }
        let positions = try int(
            vision, released ? "image_num_pos" : "num_position_embeddings", section,
            default: (size / max(1, patch)).multipliedReportingOverflow(by: size / max(1, patch)).partialValue)
        let declaredLayers = try int(vision, "num_hidden_layers", section, default: 25)
        let act = vision["hidden_act"]?.string ?? "gelu_pytorch_tanh"
        guard act == "gelu_pytorch_tanh" || act == "gelu_tanh" else {
            throw bad("\(section): unsupported hidden_act '\(act)' (only gelu_pytorch_tanh)")
        }
        if vision["attention_bias"]?.bool == false { throw bad("\(section): attention without biases is not supported") }

        let layerKey = adapter["vit_layers"] != nil ? "vit_layers" : "vision_feature_layer"
        let rawLayers = adapter[layerKey]?.array?.compactMap(\.int) ?? [24, 18]
        guard !rawLayers.isEmpty, declaredLayers > 0 else { throw bad("adapter_config.\(layerKey) is empty") }
        guard rawLayers.allSatisfy({ $0 >= -declaredLayers && $0 < declaredLayers }) else {
            throw bad("adapter_config.\(layerKey) \(rawLayers) does not index the \(declaredLayers) ViT layers")
        }
        // Released configs: indices modulo the declared 27 layers, and only max + 1 blocks are built/stored.
        // transformers 5.x: negative indices count from the last stored block.
        let featureLayers = rawLayers.map { $0 >= 0 ? $0 : declaredLayers + $0 }
        let layers = released ? (featureLayers.max() ?? 0) + 1 : declaredLayers
        if adapter["pooling_attention_mask"]?.bool == false {
            throw bad("adapter_config.pooling_attention_mask = false is not supported (released models use true)")
        }
        let adapterAct = adapter["hidden_act"]?.string ?? "silu"
        guard adapterAct == "silu" else { throw bad("adapter_config: unsupported hidden_act '\(adapterAct)'") }
        if adapter["mlp_bias"]?.bool == true { throw bad("adapter_config: projector biases are not supported") }
        if adapter["attention_bias"]?.bool == false { throw bad("adapter_config: pooling without biases is not supported") }
        let poolHidden = try int(adapter, "hidden_size", "adapter_config", default: hidden)
        let poolHeads = try int(adapter, "num_attention_heads", "adapter_config", default: heads)
        let config = Molmo2VisionConfig(
            hiddenSize: hidden, intermediateSize: try int(vision, "intermediate_size", section, default: 4304),
            numHeads: heads, headDim: headDim, layerNormEps: vision["layer_norm_eps"]?.double ?? 1e-6,
            imageSize: size, patchSize: patch, numPositions: positions, layers: layers, featureLayers: featureLayers,
            poolingHeads: poolHeads,
            poolingHeadDim: try int(adapter, "head_dim", "adapter_config", default: poolHidden / max(1, poolHeads)),
            poolingOutputSize: poolHidden,
            projectorIntermediateSize: try int(adapter, "intermediate_size", "adapter_config"),
            textHiddenSize: try int(adapter, "text_hidden_size", "adapter_config"))
        try config.validate(file: file)
        return config
    }

    func validate(file: String) throws {
        func bad(_ r: String) -> ModelConfigError { .invalid(file: file, reason: "vision: \(r)") }
        for (name, v) in [
            ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize), ("num_attention_heads", numHeads),
            ("head_dim", headDim), ("patch size", patchSize), ("image size", imageSize), ("layers", layers),
            ("pooling heads", poolingHeads), ("pooling head_dim", poolingHeadDim),
            ("pooling hidden_size", poolingOutputSize), ("projector intermediate_size", projectorIntermediateSize),
            ("text_hidden_size", textHiddenSize),
        ] where v <= 0 || v > 1 << 20 {
            throw bad("\(name) = \(v) is out of range")
        }
        guard layers <= 256 else { throw bad("\(layers) layers is out of range") }
        guard imageSize % patchSize == 0, patchesPerSide * patchesPerSide == numPositions else {
            throw bad("\(numPositions) positions do not match a \(imageSize)-px crop of \(patchSize)-px patches")
        }
        guard headDim % 8 == 0 else { throw bad("head_dim \(headDim) must be a multiple of 8 (attention kernels)") }
    }
}

// MARK: - Weight names

/// Where each vision/connector parameter lives: the released layout (`model.vision_backbone.*`) or transformers'
/// native module names (`model.vision_tower.*`, `model.multi_modal_projector.*`). The one place that maps them.
struct VisionTensorNames {
    struct Block {
        var attentionNorm: (weight: String, bias: String)
        var ffnNorm: (weight: String, bias: String)
        /// q, k, v weights and biases (stacked along the output rows in this order).
        var qkv: [String]
        var qkvBias: [String]
        var out: (weight: String, bias: String)
        var fc1: (weight: String, bias: String)
        var fc2: (weight: String, bias: String)
    }

    var positionalEmbedding: String
    var patchEmbedding: (weight: String, bias: String)
    var blocks: [Block]
    var poolingQuery: (weight: String, bias: String)
    var poolingKey: (weight: String, bias: String)
    var poolingValue: (weight: String, bias: String)
    var poolingOut: (weight: String, bias: String)
    /// Projector: up ("w3"), gate ("w1"), down ("w2").
    var projectorUp: String
    var projectorGate: String
    var projectorDown: String

    static func sanitize(names: Set<String>, config: Molmo2VisionConfig, directory: String) throws -> VisionTensorNames {
        func pair(_ p: String) -> (String, String) { (p + ".weight", p + ".bias") }
        if names.contains("model.vision_backbone.image_vit.positional_embedding") {
            let v = "model.vision_backbone."
            let blocks = (0..<config.layers).map { j -> Block in
                let b = "\(v)image_vit.transformer.resblocks.\(j)."
                return Block(
                    attentionNorm: pair(b + "attention_norm"), ffnNorm: pair(b + "ffn_norm"),
                    qkv: ["wq", "wk", "wv"].map { b + "attention.\($0).weight" },
                    qkvBias: ["wq", "wk", "wv"].map { b + "attention.\($0).bias" }, out: pair(b + "attention.wo"),
                    fc1: pair(b + "feed_forward.w1"), fc2: pair(b + "feed_forward.w2"))
            }
            return VisionTensorNames(
                positionalEmbedding: v + "image_vit.positional_embedding",
                patchEmbedding: pair(v + "image_vit.patch_embedding"), blocks: blocks,
                poolingQuery: pair(v + "image_pooling_2d.wq"), poolingKey: pair(v + "image_pooling_2d.wk"),
                poolingValue: pair(v + "image_pooling_2d.wv"), poolingOut: pair(v + "image_pooling_2d.wo"),
                projectorUp: v + "image_projector.w3.weight", projectorGate: v + "image_projector.w1.weight",
                projectorDown: v + "image_projector.w2.weight")
        }
        if names.contains("model.vision_tower.positional_embedding") {
            let v = "model.vision_tower."
            let m = "model.multi_modal_projector."
            let blocks = (0..<config.layers).map { j -> Block in
                let b = "\(v)layers.\(j)."
                return Block(
                    attentionNorm: pair(b + "layer_norm1"), ffnNorm: pair(b + "layer_norm2"),
                    qkv: ["q_proj", "k_proj", "v_proj"].map { b + "self_attn.\($0).weight" },
                    qkvBias: ["q_proj", "k_proj", "v_proj"].map { b + "self_attn.\($0).bias" },
                    out: pair(b + "self_attn.o_proj"), fc1: pair(b + "mlp.fc1"), fc2: pair(b + "mlp.fc2"))
            }
            return VisionTensorNames(
                positionalEmbedding: v + "positional_embedding", patchEmbedding: pair(v + "patch_embedding"),
                blocks: blocks, poolingQuery: pair(m + "image_pooling_2d.q_proj"),
                poolingKey: pair(m + "image_pooling_2d.k_proj"), poolingValue: pair(m + "image_pooling_2d.v_proj"),
                poolingOut: pair(m + "image_pooling_2d.o_proj"), projectorUp: m + "image_projector.up_proj.weight",
                projectorGate: m + "image_projector.gate_proj.weight", projectorDown: m + "image_projector.down_proj.weight")
        }
        throw CheckpointError.missingTensor(
            tensor: "model.vision_backbone.image_vit.positional_embedding (or model.vision_tower.positional_embedding)",
            directory: directory)
    }
}

// MARK: - Vision

/// One pre-norm SigLIP2 block; property names follow the released checkpoint keys.
struct VisionBlock {
    let attentionNorm: (weight: [Float], bias: [Float])
    let ffnNorm: (weight: [Float], bias: [Float])
    /// [q; k; v] rows.
    let qkv: PackedLinear
    let qkvBias: [Float]
    let wo: PackedLinear
    let woBias: [Float]
    let w1: PackedLinear
    let w1Bias: [Float]
    let w2: PackedLinear
    let w2Bias: [Float]

    var byteCount: Int { qkv.byteCount + wo.byteCount + w1.byteCount + w2.byteCount }
}

/// Errors raised by the vision path on bad input.
package enum VisionError: Error, CustomStringConvertible {
    /// Crop pixels, pooling rows or features have the wrong size.
    case shapeMismatch(String)
    /// The caller cancelled.
    case cancelled

    package var description: String {
        switch self {
        case let .shapeMismatch(s): return "vision: \(s)"
        case .cancelled: return "vision: cancelled"
        }
    }
}

/// Molmo2's vision side: the SigLIP2 encoder as stored (no class token, no final norm, features = outputs of the
/// configured blocks concatenated, [24 ‖ 18]) and the connector (masked attention pooling of each pooling window
/// with a masked-mean query, then a SwiGLU projector to the LLM width). Each crop is encoded on its own; all
/// patches of a crop go through every matmul as one batch.
package final class Molmo2VisionModel {
    package let config: Molmo2VisionConfig
    package let format: WeightFormat
    /// "released" or "native" tensor names.
    package let weightLayout: String
    let positionalEmbedding: [Float]
    let patchEmbedding: PackedLinear
    let patchEmbeddingBias: [Float]
    let blocks: [VisionBlock]
    let poolingQuery: PackedLinear
    let poolingQueryBias: [Float]
    /// [k; v] rows.
    let poolingKeyValue: PackedLinear
    let poolingKeyValueBias: [Float]
    let poolingOut: PackedLinear
    let poolingOutBias: [Float]
    /// [up; gate] rows.
    let projectorUpGate: PackedLinear
    let projectorDown: PackedLinear

    /// Opt-in bf16 dot products for bf16 weights (see `Molmo2LanguageModel.useBF16DotProducts`).
    package var useBF16DotProducts = false

    /// Bytes of converted weights held in memory.
    package var weightBytes: Int {
        blocks.reduce(0) { $0 + $1.byteCount } + patchEmbedding.byteCount + poolingQuery.byteCount
            + poolingKeyValue.byteCount + poolingOut.byteCount + projectorUpGate.byteCount + projectorDown.byteCount
            + positionalEmbedding.count * 4
    }

    init(config: Molmo2VisionConfig, format: WeightFormat, layout: String, positionalEmbedding: [Float],
         patchEmbedding: PackedLinear, patchEmbeddingBias: [Float], blocks: [VisionBlock], poolingQuery: PackedLinear,
         poolingQueryBias: [Float], poolingKeyValue: PackedLinear, poolingKeyValueBias: [Float],
         poolingOut: PackedLinear, poolingOutBias: [Float], projectorUpGate: PackedLinear, projectorDown: PackedLinear) {
        self.config = config
        self.format = format
        weightLayout = layout
        self.positionalEmbedding = positionalEmbedding
        self.patchEmbedding = patchEmbedding
        self.patchEmbeddingBias = patchEmbeddingBias
        self.blocks = blocks
        self.poolingQuery = poolingQuery
        self.poolingQueryBias = poolingQueryBias
        self.poolingKeyValue = poolingKeyValue
        self.poolingKeyValueBias = poolingKeyValueBias
        self.poolingOut = poolingOut
        self.poolingOutBias = poolingOutBias
        self.projectorUpGate = projectorUpGate
        self.projectorDown = projectorDown
    }

    /// Checks every vision/connector tensor's name, dtype and shape against the config without reading weights
    /// (`doctor` runs the same check).
    static func checkShapes(checkpoint: CheckpointFiles, config c: Molmo2VisionConfig) throws -> VisionTensorNames {
        let names = try VisionTensorNames.sanitize(
            names: Set(checkpoint.tensorNames), config: c, directory: checkpoint.directory.path)
        let E = c.hiddenSize
        let A = c.numHeads * c.headDim
        let P = c.patchSize * c.patchSize * 3
        let F = c.featureWidth
        let PA = c.poolingHeads * c.poolingHeadDim
        let I = c.projectorIntermediateSize

        var shapes: [(String, [Int])] = [
            (names.positionalEmbedding, [c.numPositions, E]), (names.patchEmbedding.weight, [E, P]),
            (names.patchEmbedding.bias, [E]),
            (names.poolingQuery.weight, [PA, F]), (names.poolingQuery.bias, [PA]),
            (names.poolingKey.weight, [PA, F]), (names.poolingKey.bias, [PA]),
            (names.poolingValue.weight, [PA, F]), (names.poolingValue.bias, [PA]),
            (names.poolingOut.weight, [c.poolingOutputSize, PA]), (names.poolingOut.bias, [c.poolingOutputSize]),
            (names.projectorUp, [I, c.poolingOutputSize]), (names.projectorGate, [I, c.poolingOutputSize]),
            (names.projectorDown, [c.textHiddenSize, I]),
        ]
        for b in names.blocks {
            shapes += [
                (b.attentionNorm.weight, [E]), (b.attentionNorm.bias, [E]), (b.ffnNorm.weight, [E]),
                (b.ffnNorm.bias, [E]), (b.out.weight, [E, A]), (b.out.bias, [E]),
                (b.fc1.weight, [c.intermediateSize, E]), (b.fc1.bias, [c.intermediateSize]),
                (b.fc2.weight, [E, c.intermediateSize]), (b.fc2.bias, [E]),
            ]
            shapes += b.qkv.map { ($0, [A, E]) } + b.qkvBias.map { ($0, [A]) }
        }
        for (name, shape) in shapes { _ = try checkpoint.weight(name, shape: shape) }
        return names
    }

    /// Loads and converts the vision weights of a checkpoint, checking every shape first.
    package static func load(checkpoint: CheckpointFiles, config c: Molmo2VisionConfig, format: WeightFormat) throws
        -> Molmo2VisionModel
    {
        let names = try checkShapes(checkpoint: checkpoint, config: c)
        let E = c.hiddenSize
        let A = c.numHeads * c.headDim
        let P = c.patchSize * c.patchSize * 3
        let F = c.featureWidth
        let PA = c.poolingHeads * c.poolingHeadDim
        let I = c.projectorIntermediateSize

        func vector(_ name: String) throws -> [Float] { try checkpoint.floats(name) }
        func linear(_ names: [String], inFeatures: Int) throws -> PackedLinear {
            try checkpoint.packedLinear(names, inFeatures: inFeatures, format: format.unquantized)
        }
        let blocks = try names.blocks.map { b in
            VisionBlock(
                attentionNorm: (try vector(b.attentionNorm.weight), try vector(b.attentionNorm.bias)),
                ffnNorm: (try vector(b.ffnNorm.weight), try vector(b.ffnNorm.bias)),
                qkv: try linear(b.qkv, inFeatures: E), qkvBias: try b.qkvBias.flatMap(vector),
                wo: try linear([b.out.weight], inFeatures: A), woBias: try vector(b.out.bias),
                w1: try linear([b.fc1.weight], inFeatures: E), w1Bias: try vector(b.fc1.bias),
                w2: try linear([b.fc2.weight], inFeatures: c.intermediateSize), w2Bias: try vector(b.fc2.bias))
        }
        return Molmo2VisionModel(
            config: c, format: format.unquantized, layout: names.positionalEmbedding.hasPrefix("model.vision_backbone") ? "released" : "native",
            positionalEmbedding: try vector(names.positionalEmbedding),
            patchEmbedding: try linear([names.patchEmbedding.weight], inFeatures: P),
            patchEmbeddingBias: try vector(names.patchEmbedding.bias), blocks: blocks,
            poolingQuery: try linear([names.poolingQuery.weight], inFeatures: F),
            poolingQueryBias: try vector(names.poolingQuery.bias),
            poolingKeyValue: try linear([names.poolingKey.weight, names.poolingValue.weight], inFeatures: F),
            poolingKeyValueBias: try vector(names.poolingKey.bias) + vector(names.poolingValue.bias),
            poolingOut: try linear([names.poolingOut.weight], inFeatures: PA),
            poolingOutBias: try vector(names.poolingOut.bias),
            projectorUpGate: try linear([names.projectorUp, names.projectorGate], inFeatures: c.poolingOutputSize),
            projectorDown: try linear([names.projectorDown], inFeatures: I))
    }

    // MARK: Encoder

    /// Buffers for encoding one crop, reused across blocks and crops.
    final class EncoderScratch {
        let x: Tensor
        let normed: Tensor
        let qkv: Tensor
        let attention: Tensor
        let mlp: Tensor
        let keysT: AlignedBuffer
        let keyStride: Int
        let visible: [UInt8]

        init(config c: Molmo2VisionConfig) {
            let T = c.numPositions
            let A = c.numHeads * c.headDim
            x = Tensor(shape: [T, c.hiddenSize])
            normed = Tensor(shape: [T, c.hiddenSize])
            qkv = Tensor(shape: [T, 3 * A])
            attention = Tensor(shape: [T, A])
            mlp = Tensor(shape: [T, c.intermediateSize])
            keyStride = (T + 15) / 16 * 16
            keysT = AlignedBuffer(byteCount: c.numHeads * c.headDim * keyStride * 4)
            visible = [UInt8](repeating: 1, count: T)
        }
    }

    /// Encodes one crop: `patches` are the crop's normalized patch vectors [numPositions, patch·patch·3]; writes the
    /// concatenated feature-layer outputs into `features` (numPositions rows of `featureWidth`). `hiddenStates`, if
    /// given, receives the output of every block.
    func encodeCrop(_ patches: UnsafePointer<Float>, into features: UnsafeMutablePointer<Float>,
                    scratch s: EncoderScratch, hiddenStates: ((Int, Tensor) -> Void)? = nil) {
        let c = config
        let T = c.numPositions
        let E = c.hiddenSize
        let A = c.numHeads * c.headDim
        let M = c.intermediateSize
        let Fw = c.featureWidth
        let eps = Float(c.layerNormEps)
        let dot = useBF16DotProducts
        let x = s.x.data
        patchEmbedding.apply(patches, xStride: c.patchSize * c.patchSize * 3, rows: T, into: x, outStride: E,
                             bf16DotProducts: dot)
        patchEmbeddingBias.withUnsafeBufferPointer { b in
            positionalEmbedding.withUnsafeBufferPointer { pos in
                parallelChunks(T, minChunk: 64) { r0, r1 in
                    spotter_add_bias(x + r0 * E, E, b.baseAddress!, r1 - r0, E)
                    spotter_add_inplace(x + r0 * E, pos.baseAddress! + r0 * E, (r1 - r0) * E)
                }
            }
        }
        let lastNeeded = c.featureLayers.max() ?? (blocks.count - 1)
        for (l, b) in blocks.enumerated() where l <= lastNeeded {
            // Attention: x += wo(attn(LN1(x))) + bias
            layerNorm(x, weight: b.attentionNorm.weight, bias: b.attentionNorm.bias, out: s.normed.data, rows: T,
                      width: E, eps: eps)
            b.qkv.apply(s.normed.data, xStride: E, rows: T, into: s.qkv.data, outStride: 3 * A, bf16DotProducts: dot)
            addBias(s.qkv.data, stride: 3 * A, bias: b.qkvBias, rows: T)
            attend(qkv: s.qkv.data, scratch: s)
            b.wo.apply(s.attention.data, xStride: A, rows: T, into: s.normed.data, outStride: E, bf16DotProducts: dot)
            addBias(s.normed.data, stride: E, bias: b.woBias, rows: T)
            addInPlace(x, s.normed.data, count: T * E)
            // MLP: x += w2(gelu_tanh(w1(LN2(x)))) with biases
            layerNorm(x, weight: b.ffnNorm.weight, bias: b.ffnNorm.bias, out: s.normed.data, rows: T, width: E, eps: eps)
            b.w1.apply(s.normed.data, xStride: E, rows: T, into: s.mlp.data, outStride: M, bf16DotProducts: dot)
            let mlp = s.mlp.data
            b.w1Bias.withUnsafeBufferPointer { bias in
                parallelChunks(T, minChunk: 16) { r0, r1 in
                    spotter_bias_gelu_tanh(mlp + r0 * M, M, bias.baseAddress!, r1 - r0, M)
                }
            }
            b.w2.apply(mlp, xStride: M, rows: T, into: s.normed.data, outStride: E, bf16DotProducts: dot)
            addBias(s.normed.data, stride: E, bias: b.w2Bias, rows: T)
            addInPlace(x, s.normed.data, count: T * E)
            hiddenStates?(l, s.x)
            for (slot, layer) in c.featureLayers.enumerated() where layer == l {
                for t in 0..<T { (features + t * Fw + slot * E).update(from: x + t * E, count: E) }
            }
        }
    }

    /// Full (unmasked) multi-head self-attention of one crop: q, k, v rows of `qkv` → `scratch.attention`.
    private func attend(qkv: UnsafeMutablePointer<Float>, scratch s: EncoderScratch) {
        let c = config
        let T = c.numPositions
        let H = c.numHeads
        let d = c.headDim
        let A = H * d
        let kt = s.keysT.raw.assumingMemoryBound(to: Float.self)
        let stride = s.keyStride
        parallelChunks(H) { h0, h1 in
            for h in h0..<h1 {
                spotter_transpose_keys(qkv + A + h * d, 3 * A, T, 1, d, kt + h * d * stride, stride)
            }
        }
        let scale = 1 / Float(d).squareRoot()
        let tokensPerBlock = 12
        let tokenBlocks = (T + tokensPerBlock - 1) / tokensPerBlock
        let out = s.attention.data
        let scratchFloats = spotter_attention_scratch_floats(1, tokensPerBlock, d, T)
        s.visible.withUnsafeBufferPointer { vis in
            parallelInterleaved(tokenBlocks * H, scratchFloats: scratchFloats) { item, scratch in
                let h = item % H
                let t0 = (item / H) * tokensPerBlock
                let n = min(tokensPerBlock, T - t0)
                // Every query sees every key: all tokens are flagged visual and the chunk is the whole crop.
                spotter_attention_block(qkv + t0 * 3 * A + h * d, 3 * A, 1, d, kt + h * d * stride, stride,
                                        qkv + 2 * A + h * d, 3 * A, 0, t0, n, vis.baseAddress, T, scale,
                                        scratch, out + t0 * A + h * d, A)
            }
        }
    }

    // MARK: Connector

    /// Pools patch features into one vector per pooling window and projects them to the LLM width.
    /// `features`: [patches, featureWidth] of one image (all its crops) or one video frame; `pooling`: rows of
    /// `windowSize` indices into `features` (−1 = padding). Returns the attention-pooling output [rows,
    /// poolingOutputSize] and the projected features [rows, textHiddenSize].
    func connect(features: UnsafePointer<Float>, patches: Int, pooling: ArraySlice<Int32>, windowSize k: Int,
                 offset: Int32 = 0) throws -> (pooled: Tensor, projected: Tensor) {
        let c = config
        let Fw = c.featureWidth
        let PA = c.poolingHeads * c.poolingHeadDim
        let d = c.poolingHeadDim
        let H = c.poolingHeads
        let N = pooling.count / k
        guard N * k == pooling.count, N > 0 else {
            throw VisionError.shapeMismatch("\(pooling.count) pooling indices are not rows of \(k)")
        }
        let indices = Array(pooling)
        for i in indices where i >= 0 && (Int(i - offset) >= patches || i < offset) {
            throw VisionError.shapeMismatch("pooling index \(i) is outside the \(patches) patches of this group")
        }
        // Gathered window rows (zero where padded) and masked-mean queries.
        let rows = Tensor(shape: [N * k, Fw])
        let query = Tensor(shape: [N, Fw])
        let r = rows.data
        let q = query.data
        indices.withUnsafeBufferPointer { idx in
            parallelChunks(N, minChunk: 8) { n0, n1 in
                for n in n0..<n1 {
                    var valid: Float = 0
                    for j in 0..<k {
                        let i = Int(idx[n * k + j])
                        guard i >= 0 else { continue }
                        (r + (n * k + j) * Fw).update(from: features + (i - Int(offset)) * Fw, count: Fw)
                        valid += 1
                    }
                    let qn = q + n * Fw
                    for j in 0..<k where idx[n * k + j] >= 0 {
                        spotter_add_inplace(qn, r + (n * k + j) * Fw, Fw)
                    }
                    let denominator = valid == 0 ? 1 : valid
                    for e in 0..<Fw { qn[e] /= denominator }
                }
            }
        }
        let dot = useBF16DotProducts
        let qp = Tensor(shape: [N, PA])
        poolingQuery.apply(q, xStride: Fw, rows: N, into: qp.data, outStride: PA, bf16DotProducts: dot)
        addBias(qp.data, stride: PA, bias: poolingQueryBias, rows: N)
        let kv = Tensor(shape: [N * k, 2 * PA])
        poolingKeyValue.apply(r, xStride: Fw, rows: N * k, into: kv.data, outStride: 2 * PA, bf16DotProducts: dot)
        addBias(kv.data, stride: 2 * PA, bias: poolingKeyValueBias, rows: N * k)

        // Per window and head: softmax over the valid rows only (the mask of `pooling_attention_mask`).
        let attended = Tensor(shape: [N, PA])
        let scale = 1 / Float(d).squareRoot()
        let a = attended.data
        let kvp = kv.data
        let qpp = qp.data
        indices.withUnsafeBufferPointer { idx in
            parallelChunks(N, minChunk: 16) { n0, n1 in
                var logits = [Float](repeating: 0, count: k)
                for n in n0..<n1 {
                    for h in 0..<H {
                        let qh = qpp + n * PA + h * d
                        var maxLogit = -Float.infinity
                        for j in 0..<k {
                            guard idx[n * k + j] >= 0 else { continue }
                            let kr = kvp + (n * k + j) * 2 * PA + h * d
                            var sum: Float = 0
                            for e in 0..<d { sum += qh[e] * kr[e] }
                            logits[j] = sum * scale
                            maxLogit = max(maxLogit, logits[j])
                        }
                        var total: Float = 0
                        for j in 0..<k {
                            if idx[n * k + j] >= 0 {
                                logits[j] = expf(logits[j] - maxLogit)
                                total += logits[j]
                            } else {
                                logits[j] = 0
                            }
                        }
                        let out = a + n * PA + h * d
                        guard total > 0 else { continue }
                        for j in 0..<k where logits[j] > 0 {
                            let w = logits[j] / total
                            let vr = kvp + (n * k + j) * 2 * PA + PA + h * d
                            for e in 0..<d { out[e] += w * vr[e] }
                        }
                    }
                }
            }
        }
        let pooled = Tensor(shape: [N, c.poolingOutputSize])
        poolingOut.apply(a, xStride: PA, rows: N, into: pooled.data, outStride: c.poolingOutputSize, bf16DotProducts: dot)
        addBias(pooled.data, stride: c.poolingOutputSize, bias: poolingOutBias, rows: N)

        // SwiGLU projector: down(silu(gate(h)) ⊙ up(h)).
        let I = c.projectorIntermediateSize
        let upGate = Tensor(shape: [N, 2 * I])
        projectorUpGate.apply(pooled.data, xStride: c.poolingOutputSize, rows: N, into: upGate.data, outStride: 2 * I,
                              bf16DotProducts: dot)
        let act = Tensor(shape: [N, I])
        siluMul(gate: upGate.data + I, value: upGate.data, inStride: 2 * I, out: act.data, outStride: I, rows: N, width: I)
        let projected = Tensor(shape: [N, c.textHiddenSize])
        projectorDown.apply(act.data, xStride: I, rows: N, into: projected.data, outStride: c.textHiddenSize,
                            bf16DotProducts: dot)
        return (pooled, projected)
    }

    // MARK: Whole images and videos

    /// Projected features [tokens, textHiddenSize] of one preprocessed image or video, in pooling-row order.
    /// Pixels are normalized as (v − 255·mean) / (255·std) per channel. Images are encoded crop by crop and pooled
    /// together; video frames are encoded and pooled one at a time. `onCrop(done, total)` reports progress and may
    /// return false to cancel. `inspect` (tests) receives every block's output per crop and the pooled features.
    /// With a `cache`, each group's projected features are looked up by the digest of exactly what determines
    /// them (its crops' pixels, pooling table, window size, normalization) and stored after encoding; `inspect`
    /// bypasses the cache.
    package func features(for visual: PreprocessedVisual, mean: [Double], std: [Double],
                         cache: VisionFeatureCache? = nil,
                         onCrop: ((Int, Int) -> Bool)? = nil,
                         inspect: VisionInspection? = nil) throws -> Tensor {
        let c = config
        let T = c.numPositions
        let P = c.patchSize * c.patchSize * 3
        guard visual.crops.count == visual.numCrops * T * P, visual.numCrops > 0 else {
            throw VisionError.shapeMismatch(
                "\(visual.crops.count) pixel bytes for \(visual.numCrops) crops of \(T) patches × \(P)")
        }
        guard mean.count == 3, std.count == 3 else { throw VisionError.shapeMismatch("mean/std need 3 channels") }
        let k = visual.windowSize
        let scratch = EncoderScratch(config: c)
        let normalized = Tensor(shape: [T, P])
        let mean255 = mean.map { Float($0) * Float(255) }
        let std255 = std.map { Float($0) * Float(255) }
        let out = Tensor(shape: [visual.tokenCount, c.textHiddenSize])
        var pooledAll: [Float] = []

        // Groups of crops whose pooling rows reference only themselves: an image's crops, or one video frame.
        let cropsPerGroup = visual.kind == .video ? 1 : visual.numCrops
        let rowsPerGroup = visual.kind == .video ? visual.tokenCount / max(1, visual.numCrops) : visual.tokenCount
        guard rowsPerGroup * (visual.numCrops / cropsPerGroup) == visual.tokenCount else {
            throw VisionError.shapeMismatch("\(visual.tokenCount) pooling rows for \(visual.numCrops) video frames")
        }
        let features = Tensor(shape: [cropsPerGroup * T, c.featureWidth])
        var done = 0
        let featureCache = inspect == nil ? cache : nil
        for group in 0..<(visual.numCrops / cropsPerGroup) {
            let rows = visual.pooling[(group * rowsPerGroup * k)..<((group + 1) * rowsPerGroup * k)]
            let destination = out.data + group * rowsPerGroup * c.textHiddenSize
            var key: VisionFeatureCache.Key?
            if let featureCache {
                let groupKey = VisionFeatureCache.Key(
                    visual: visual, group: group, cropsPerGroup: cropsPerGroup, cropBytes: T * P, pooling: rows,
                    patchOffset: Int32(group * cropsPerGroup * T), mean: mean255, std: std255)
                if featureCache.lookup(groupKey, rows: rowsPerGroup * c.textHiddenSize, into: destination) {
                    done += cropsPerGroup
                    if let onCrop, !onCrop(done, visual.numCrops) { throw VisionError.cancelled }
                    continue
                }
                key = groupKey
            }
            for local in 0..<cropsPerGroup {
                let crop = group * cropsPerGroup + local
                visual.crops.withUnsafeBufferPointer { px in
                    let src = px.baseAddress! + crop * T * P
                    let dst = normalized.data
                    parallelChunks(T, minChunk: 64) { r0, r1 in
                        for i in (r0 * P)..<(r1 * P) {
                            let ch = i % 3
                            dst[i] = (Float(src[i]) - mean255[ch]) / std255[ch]
                        }
                    }
                }
                encodeCrop(normalized.data, into: features.row(local * T), scratch: scratch,
                           hiddenStates: inspect.map { f in { f.block(crop, $0, $1) } })
                done += 1
                if let onCrop, !onCrop(done, visual.numCrops) { throw VisionError.cancelled }
            }
            let (pooled, projected) = try connect(
                features: features.data, patches: cropsPerGroup * T, pooling: rows, windowSize: k,
                offset: Int32(group * cropsPerGroup * T))
            destination.update(from: projected.data, count: rowsPerGroup * c.textHiddenSize)
            if let key, let featureCache {
                featureCache.store(key, values: projected.data, count: rowsPerGroup * c.textHiddenSize,
                                   crops: cropsPerGroup)
            }
            if inspect != nil { pooledAll += pooled.array }
        }
        inspect?.pooled(Tensor(rows: visual.tokenCount, cols: c.poolingOutputSize, values: pooledAll))
        return out
    }

    private func layerNorm(_ x: UnsafePointer<Float>, weight: [Float], bias: [Float], out: UnsafeMutablePointer<Float>,
                           rows: Int, width: Int, eps: Float) {
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                parallelChunks(rows, minChunk: 32) { r0, r1 in
                    spotter_layernorm(x + r0 * width, width, w.baseAddress!, b.baseAddress!, out + r0 * width, width,
                                      r1 - r0, width, eps)
                }
            }
        }
    }
}

/// Callbacks that let tests look inside the vision path: every ViT block's output per crop, and the attention-pooling
/// output of all tokens.
package struct VisionInspection {
    package var block: (_ crop: Int, _ layer: Int, _ hidden: Tensor) -> Void
    package var pooled: (Tensor) -> Void

    package init(block: @escaping (Int, Int, Tensor) -> Void, pooled: @escaping (Tensor) -> Void) {
        self.block = block
        self.pooled = pooled
    }
}

/// Projected vision features of recently seen images and video frames, so that a second question about the same
/// media skips the ViT. An entry is keyed by a 128-bit digest of everything its features are computed from — the
/// preprocessed crop pixels (which fix the media, the frame and the resize/tiling settings), the pooling table,
/// the window size and the normalization — so a key cannot go stale when a file or a setting changes. Least
/// recently used entries are dropped beyond `byteBudget`. Not thread-safe: one answer at a time.
package final class VisionFeatureCache {
    struct Key: Hashable {
        let high: UInt64
        let low: UInt64

        init(visual: PreprocessedVisual, group: Int, cropsPerGroup: Int, cropBytes: Int, pooling: ArraySlice<Int32>,
             patchOffset: Int32, mean: [Float], std: [Float]) {
            var state: [UInt64] = [0x5350_4F54_5445_5231, 0x7669_7369_6F6E_2121]
            // Pooling indices relative to the group's first patch (padding stays −1), so that the same frame at
            // another place in a clip has the same key.
            let relative = pooling.map { $0 < 0 ? $0 : $0 - patchOffset }
            var settings: [Int64] = [Int64(visual.windowSize), visual.kind == .video ? 1 : 0, Int64(cropsPerGroup)]
            settings += (mean + std).map { Int64($0.bitPattern) }
            state.withUnsafeMutableBufferPointer { st in
                let digest = st.baseAddress!
                visual.crops.withUnsafeBytes { px in
                    spotter_digest128_update(digest, px.baseAddress! + group * cropsPerGroup * cropBytes,
                                             cropsPerGroup * cropBytes)
                }
                settings.withUnsafeBytes { spotter_digest128_update(digest, $0.baseAddress!, $0.count) }
                relative.withUnsafeBytes { spotter_digest128_update(digest, $0.baseAddress!, $0.count) }
            }
            high = state[0]
            low = state[1]
        }
    }

    private struct Entry {
        let values: [Float]
        let crops: Int
        var lastUse: UInt64
    }

    /// Most bytes of features held.
    package let byteBudget: Int
    /// Bytes of features held now.
    package private(set) var byteCount = 0
    /// Crops whose features were found here, since creation.
    package private(set) var reusedCrops = 0
    /// Crops encoded (and offered to the cache), since creation.
    package private(set) var encodedCrops = 0
    private var entries: [Key: Entry] = [:]
    private var useClock: UInt64 = 0

    /// A cache holding at most `byteBudget` bytes of features (default 512 MiB: about 640 video frames of
    /// Molmo2-4B, whose frames pool to 81 tokens of 2,560 floats).
    package init(byteBudget: Int = 512 << 20) { self.byteBudget = byteBudget }

    /// Number of images/frames held.
    package var count: Int { entries.count }

    /// Copies the features of `key` (`rows` floats) into `destination`; false when absent.
    func lookup(_ key: Key, rows count: Int, into destination: UnsafeMutablePointer<Float>) -> Bool {
        guard var entry = entries[key], entry.values.count == count else { return false }
        useClock += 1
        entry.lastUse = useClock
        entries[key] = entry
        entry.values.withUnsafeBufferPointer { destination.update(from: $0.baseAddress!, count: count) }
        reusedCrops += entry.crops
        return true
    }

    /// Stores `count` floats of features for `key` (computed from `crops` crops), evicting the least recently used
    /// entries beyond the budget; features larger than the whole budget are not stored.
    func store(_ key: Key, values: UnsafePointer<Float>, count: Int, crops: Int) {
        encodedCrops += crops
        let bytes = count * MemoryLayout<Float>.size
        guard bytes <= byteBudget else { return }
        if let old = entries.removeValue(forKey: key) { byteCount -= old.values.count * MemoryLayout<Float>.size }
        while byteCount + bytes > byteBudget, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            entries.removeValue(forKey: oldest.key)
            byteCount -= oldest.value.values.count * MemoryLayout<Float>.size
        }
        useClock += 1
        entries[key] = Entry(values: Array(UnsafeBufferPointer(start: values, count: count)), crops: crops,
                             lastUse: useClock)
        byteCount += bytes
    }

    /// Drops every entry.
    package func removeAll() {
        entries.removeAll()
        byteCount = 0
    }
}
