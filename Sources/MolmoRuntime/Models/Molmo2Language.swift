import CKernels
import Foundation

// MARK: - Weight names

/// Where each language-model parameter lives in a checkpoint. Two layouts exist: the released Molmo2 checkpoints
/// (`model.transformer.*`, fused q/k/v and [up; gate] tensors, split embedding) and transformers 5.x's native
/// module names (`model.language_model.*`, separate q/k/v and gate/up). This is the one place that maps them.
struct LanguageTensorNames {
    struct Block {
        var attnNorm: String
        var ffNorm: String
        /// Stacked in order q, k, v along the output rows.
        var attProj: [String]
        var attProjBias: [String]?
        var qNorm: String?
        var kNorm: String?
        var attnOut: String
        /// Stacked in order value ("up") then gate along the output rows.
        var ffProj: [String]
        var ffOut: String
    }

    /// Embedding tensors stacked along rows (base vocabulary, then the additional rows).
    var embedding: [String]
    var blocks: [Block]
    var lnF: String
    var lmHead: String
    /// "released" or "native".
    var layout: String

    /// Picks the layout present in `names` and lists every tensor the decoder needs.
    static func sanitize(names: Set<String>, config: Molmo2TextConfig, directory: String) throws -> LanguageTensorNames {
        // Every layer has at least five tensors (two norms, attention in/out, MLP in/out): names are built for at
        // most one layer more than the checkpoint could hold, so a config declaring a million layers costs nothing
        // and the shape check names the first missing tensor.
        let L = min(config.numHiddenLayers, names.count / 5 + 1)
        if names.contains("model.transformer.wte.embedding") {
            let p = "model.transformer."
            let blocks = (0..<L).map { i -> Block in
                let b = "\(p)blocks.\(i)."
                return Block(
                    attnNorm: b + "attn_norm.weight", ffNorm: b + "ff_norm.weight",
                    attProj: [b + "self_attn.att_proj.weight"],
                    attProjBias: config.attentionBias ? [b + "self_attn.att_proj.bias"] : nil,
                    qNorm: config.useQKNorm ? b + "self_attn.q_norm.weight" : nil,
                    kNorm: config.useQKNorm ? b + "self_attn.k_norm.weight" : nil,
                    attnOut: b + "self_attn.attn_out.weight", ffProj: [b + "mlp.ff_proj.weight"],
                    ffOut: b + "mlp.ff_out.weight")
            }
            var embedding = [p + "wte.embedding"]
            if config.additionalVocabSize > 0 { embedding.append(p + "wte.new_embedding") }
            return LanguageTensorNames(
                embedding: embedding, blocks: blocks, lnF: p + "ln_f.weight", lmHead: "lm_head.weight", layout: "released")
        }
        if names.contains("model.language_model.embed_tokens.weight") {
            let p = "model.language_model."
            let blocks = (0..<L).map { i -> Block in
                let b = "\(p)layers.\(i)."
                return Block(
                    attnNorm: b + "input_layernorm.weight", ffNorm: b + "post_attention_layernorm.weight",
                    attProj: ["q_proj", "k_proj", "v_proj"].map { b + "self_attn.\($0).weight" },
                    attProjBias: config.attentionBias ? ["q_proj", "k_proj", "v_proj"].map { b + "self_attn.\($0).bias" } : nil,
                    qNorm: config.useQKNorm ? b + "self_attn.q_norm.weight" : nil,
                    kNorm: config.useQKNorm ? b + "self_attn.k_norm.weight" : nil,
                    attnOut: b + "self_attn.o_proj.weight",
                    ffProj: [b + "mlp.up_proj.weight", b + "mlp.gate_proj.weight"],
                    ffOut: b + "mlp.down_proj.weight")
            }
            return LanguageTensorNames(
                embedding: [p + "embed_tokens.weight"], blocks: blocks, lnF: p + "norm.weight",
                lmHead: "lm_head.weight", layout: "native")
        }
        throw CheckpointError.missingTensor(
            tensor: "model.transformer.wte.embedding (or model.language_model.embed_tokens.weight)",
            directory: directory)
    }
}

// MARK: - Language

/// One decoder block (Qwen3 pre-norm or OLMo3 post-norm); property names follow the released checkpoint keys.
struct DecoderBlock {
    let attnNorm: [Float]
    let ffNorm: [Float]
    let attProj: PackedLinear
    let attProjBias: [Float]?
    let qNorm: [Float]?
    let kNorm: [Float]?
    let attnOut: PackedLinear
    /// [value; gate] rows, 2·intermediate wide.
    let ffProj: PackedLinear
    let ffOut: PackedLinear
    let scaledRope: Bool

    var byteCount: Int { attProj.byteCount + attnOut.byteCount + ffProj.byteCount + ffOut.byteCount }
}

/// Errors raised while running the decoder on bad input.
package enum DecoderError: Error, CustomStringConvertible {
    /// A token id outside the embedding table.
    case tokenOutOfRange(id: Int, rows: Int)
    /// Input embeddings of the wrong width, or flags of the wrong length.
    case shapeMismatch(String)
    /// The sequence would exceed the model's position limit.
    case tooLong(positions: Int, limit: Int)
    /// The cancellation flag was set during a prefill.
    case cancelled

    package var description: String {
        switch self {
        case let .tokenOutOfRange(id, rows): return "decoder: token id \(id) is outside the \(rows)-row embedding table"
        case let .shapeMismatch(s): return "decoder: \(s)"
        case let .tooLong(p, l): return "decoder: \(p) positions exceed max_position_embeddings \(l)"
        case .cancelled: return "decoder: cancelled"
        }
    }
}

/// Fewest rows the prefill puts through one matmul when the prompt has at least this many (see
/// `PrefillScratch.rows(at:of:)`); a prompt continued after a reused prefix is prefilled with at least this many
/// tokens for the same reason.
package let minimumPrefillRows = 16

/// Which rows of the final hidden state get logits.
package enum LogitRows: Sendable {
    /// Only the last token (generation).
    case last
    /// Every token of the chunk (parity tests, scoring).
    case all
}

/// The Molmo2 language model (Qwen3 or OLMo3 decoder), weights converted to the runtime format.
/// `prefill` takes input embeddings and per-token visual flags, so the vision path can add image features to the
/// `<im_patch>` embeddings and get bidirectional attention among visual tokens.
package final class Molmo2LanguageModel {
    /// The decoder configuration.
    package let config: Molmo2TextConfig
    /// Storage format of the weights.
    package let format: WeightFormat
    /// Which checkpoint naming layout the weights came from ("released" or "native").
    package let weightLayout: String
    /// Embedding rows stored outside the head (all rows, or only the additional ones when the head is tied).
    let wte: EmbeddingTable
    /// Number of leading embedding rows read from the LM head (vocabSize when tied, else 0).
    let embeddingRowsInHead: Int

    /// True when the base embedding is read from the (identical) LM head instead of a second copy.
    package var sharesEmbeddingWithHead: Bool { embeddingRowsInHead > 0 }
    let blocks: [DecoderBlock]
    let lnF: [Float]
    let lmHead: PackedLinear
    let ropePlain: RotaryTable
    let ropeScaled: RotaryTable

    /// Opt-in: prefill matmuls with bf16 weights round activations to bf16 and use AVX512_BF16 dot products
    /// (about 2× faster prefill on CPUs that have them; within bf16 tolerance of the reference). Default false:
    /// exact fp32 products.
    package var useBF16DotProducts = false

    /// Bytes of converted weights held in memory.
    package var weightBytes: Int { wte.byteCount + lmHead.byteCount + blocks.reduce(0) { $0 + $1.byteCount } }

    init(config: Molmo2TextConfig, format: WeightFormat, layout: String, wte: EmbeddingTable, embeddingRowsInHead: Int,
         blocks: [DecoderBlock], lnF: [Float], lmHead: PackedLinear) {
        self.embeddingRowsInHead = embeddingRowsInHead
        self.config = config
        self.format = format
        weightLayout = layout
        self.wte = wte
        self.blocks = blocks
        self.lnF = lnF
        self.lmHead = lmHead
        ropePlain = RotaryTable(
            rope: config.rope, headDim: config.headDim, maxPositionEmbeddings: config.maxPositionEmbeddings, scaled: false)
        ropeScaled = RotaryTable(
            rope: config.rope, headDim: config.headDim, maxPositionEmbeddings: config.maxPositionEmbeddings, scaled: true)
    }

    /// Checks every language tensor's name, dtype and shape against the config without reading weights, so a
    /// config that disagrees with the weights fails with a named tensor instead of a huge allocation. `doctor` runs
    /// the same check.
    static func checkShapes(checkpoint: CheckpointFiles, config: Molmo2TextConfig) throws -> LanguageTensorNames {
        let names = try LanguageTensorNames.sanitize(
            names: Set(checkpoint.tensorNames), config: config, directory: checkpoint.directory.path)
        let D = config.hiddenSize
        let H = config.numAttentionHeads
        let K = config.numKeyValueHeads
        let d = config.headDim
        let I = config.intermediateSize

        let qNormWidth = config.qkNormType == "qwen3" ? d : H * d
        let kNormWidth = config.qkNormType == "qwen3" ? d : K * d
        if names.embedding.count == 1 {
            _ = try checkpoint.weight(names.embedding[0], shape: [config.embeddingRows, D])
        }
        _ = try checkpoint.weight(names.lnF, shape: [D])
        _ = try checkpoint.weight(names.lmHead, shape: [config.vocabSize, D])
        for b in names.blocks {
            _ = try checkpoint.weight(b.attnNorm, shape: [D])
            _ = try checkpoint.weight(b.ffNorm, shape: [D])
            let qkvRows = b.attProj.count == 1 ? [config.qkvWidth] : [H * d, K * d, K * d]
            for (name, rows) in zip(b.attProj, qkvRows) { _ = try checkpoint.weight(name, shape: [rows, D]) }
            for (name, rows) in zip(b.attProjBias ?? [], qkvRows) { _ = try checkpoint.weight(name, shape: [rows]) }
            if let q = b.qNorm { _ = try checkpoint.weight(q, shape: [qNormWidth]) }
            if let k = b.kNorm { _ = try checkpoint.weight(k, shape: [kNormWidth]) }
            _ = try checkpoint.weight(b.attnOut, shape: [D, H * d])
            let ffRows = b.ffProj.count == 1 ? [2 * I] : [I, I]
            for (name, rows) in zip(b.ffProj, ffRows) { _ = try checkpoint.weight(name, shape: [rows, D]) }
            _ = try checkpoint.weight(b.ffOut, shape: [D, I])
        }
        if names.embedding.count == 2 {
            let (f0, i0) = try checkpoint.locate(names.embedding[0])
            let rows0 = i0.shape.first ?? 0
            guard i0.shape.count == 2, rows0 <= config.embeddingRows else {
                throw CheckpointError.wrongShape(
                    tensor: i0.name, shard: f0.path, expected: [config.vocabSize, D], found: i0.shape)
            }
            _ = try checkpoint.weight(names.embedding[0], shape: [rows0, D])
            _ = try checkpoint.weight(names.embedding[1], shape: [config.embeddingRows - rows0, D])
        }
        guard names.blocks.count == config.numHiddenLayers else {
            throw CheckpointError.invalidFile(
                file: checkpoint.directory.appendingPathComponent("config.json").path,
                reason: "text_config.num_hidden_layers = \(config.numHiddenLayers) but the checkpoint holds "
                    + "\(names.blocks.count) layers")
        }
        return names
    }

    /// Loads and converts the language weights of a checkpoint, tensor by tensor, releasing each source tensor's
    /// mapped pages after conversion so that at most one copy of the weights is resident.
    /// `shareTiedEmbedding` (default true) stores the base embedding only once when the LM head is an exact copy.
    package static func load(checkpoint: CheckpointFiles, config: Molmo2TextConfig, format: WeightFormat,
                            shareTiedEmbedding: Bool = true) throws -> Molmo2LanguageModel
    {
        let names = try checkShapes(checkpoint: checkpoint, config: config)
        let D = config.hiddenSize
        let H = config.numAttentionHeads
        let d = config.headDim
        let I = config.intermediateSize

        func kernelType(_ file: SafetensorsFile, _ info: SafetensorsTensorInfo) throws -> Int32 {
            guard let t = info.dtype.kernelType else {
                throw CheckpointError.unsupportedDType(tensor: info.name, shard: file.path, dtype: info.dtype.rawValue)
            }
            return t
        }
        func linear(_ names: [String], inFeatures: Int) throws -> PackedLinear {
            try checkpoint.packedLinear(names, inFeatures: inFeatures, format: format)
        }

        // Embedding rows: base vocabulary then additional rows, from one tensor or two. Released checkpoints split
        // the table as [vocab] + [additional]; transformers 5.24's save_pretrained splits it into two equal halves.
        // Any split whose rows add up is accepted.
        var segments: [(file: SafetensorsFile, info: SafetensorsTensorInfo, rows: Int)] = []
        if names.embedding.count == 1 {
            let (file, info) = try checkpoint.weight(names.embedding[0], shape: [config.embeddingRows, D])
            segments.append((file, info, config.embeddingRows))
        } else {
            let (f0, i0) = try checkpoint.locate(names.embedding[0])
            let rows0 = i0.shape.first ?? 0
            guard i0.shape.count == 2, rows0 <= config.embeddingRows else {
                throw CheckpointError.wrongShape(
                    tensor: i0.name, shard: f0.path, expected: [config.vocabSize, D], found: i0.shape)
            }
            _ = try checkpoint.weight(names.embedding[0], shape: [rows0, D])
            let (f1, i1) = try checkpoint.weight(names.embedding[1], shape: [config.embeddingRows - rows0, D])
            segments += [(f0, i0, rows0), (f1, i1, config.embeddingRows - rows0)]
        }
        // A head that is a byte-for-byte copy of the base embedding (Molmo2-4B) is stored once: base rows are then
        // read back from the packed head.
        var headRows = 0
        if shareTiedEmbedding, let first = segments.first, first.rows >= config.vocabSize {
            let (hf, hi) = try checkpoint.weight(names.lmHead, shape: [config.vocabSize, D])
            if hi.dtype == first.info.dtype,
                memcmp(hf.bytes(of: hi), first.file.bytes(of: first.info), hi.byteCount) == 0
            {
                headRows = config.vocabSize
            }
        }
        let wte = EmbeddingTable(rows: config.embeddingRows - headRows, width: D, format: format)
        var segmentStart = 0
        for seg in segments {
            let segmentEnd = segmentStart + seg.rows
            let from = max(segmentStart, headRows)
            if from < segmentEnd {
                wte.fill(firstRow: from - headRows, count: segmentEnd - from,
                         from: seg.file.bytes(of: seg.info) + (from - segmentStart) * D * seg.info.dtype.size,
                         dtype: try kernelType(seg.file, seg.info))
            }
            seg.file.release(seg.info)
            segmentStart = segmentEnd
        }

        var blocks: [DecoderBlock] = []
        for (i, b) in names.blocks.enumerated() {
            blocks.append(
                DecoderBlock(
                    attnNorm: try checkpoint.floats(b.attnNorm), ffNorm: try checkpoint.floats(b.ffNorm),
                    attProj: try linear(b.attProj, inFeatures: D),
                    attProjBias: try b.attProjBias.map { try $0.flatMap(checkpoint.floats) },
                    qNorm: try b.qNorm.map(checkpoint.floats), kNorm: try b.kNorm.map(checkpoint.floats),
                    attnOut: try linear([b.attnOut], inFeatures: H * d),
                    ffProj: try linear(b.ffProj, inFeatures: D),
                    ffOut: try linear([b.ffOut], inFeatures: I),
                    scaledRope: config.usesScaledRope(layer: i)))
        }
        let lnF = try checkpoint.floats(names.lnF)
        let lmHead = try linear([names.lmHead], inFeatures: D)
        return Molmo2LanguageModel(
            config: config, format: format, layout: names.layout, wte: wte, embeddingRowsInHead: headRows, blocks: blocks,
            lnF: lnF, lmHead: lmHead)
    }

    /// Loads the language model of the checkpoint in `directory`.
    package static func load(directory: URL, format: WeightFormat, shareTiedEmbedding: Bool = true) throws
        -> Molmo2LanguageModel
    {
        let config = try Molmo2Config.load(directory: directory)
        let files = try CheckpointFiles(directory: directory)
        return try load(checkpoint: files, config: config.text, format: format, shareTiedEmbedding: shareTiedEmbedding)
    }

    /// An empty KV cache sized for this model.
    package func makeCache(capacity: Int = 256) -> KVCache {
        KVCache(layers: config.numHiddenLayers, kvHeads: config.numKeyValueHeads, headDim: config.headDim,
                capacity: capacity)
    }

    /// Token embeddings [ids.count, hidden]. Id −1 (padding) maps to row 0, as the reference does.
    package func embed(_ ids: [Int]) throws -> Tensor {
        let out = Tensor(shape: [ids.count, config.hiddenSize])
        for (r, id) in ids.enumerated() {
            let row = id == -1 ? 0 : id
            guard row >= 0, row < config.embeddingRows else {
                throw DecoderError.tokenOutOfRange(id: id, rows: config.embeddingRows)
            }
            if row < embeddingRowsInHead {
                lmHead.copyRow(row, into: out.row(r))
            } else {
                wte.copyRow(row - embeddingRowsInHead, into: out.row(r))
            }
        }
        return out
    }

    /// Runs `embeddings` [S, hidden] through the decoder after the tokens already in `cache`, appending their keys
    /// and values. Visual tokens (`visual[i]` true) attend to every visual token of this chunk, earlier or later;
    /// all other attention is causal. Positions continue from `cache.count`. Returns logits [rows, vocab] for the
    /// requested rows. `hiddenStates`, if given, receives the hidden state after each layer. A set `cancellation`
    /// flag stops the prefill between layers (throwing `DecoderError.cancelled`; the cache is then unchanged in
    /// length but its buffers past `count` hold partial data).
    package func prefill(embeddings: Tensor, visual: [Bool]? = nil, cache: KVCache, logits rows: LogitRows = .last,
                        cancellation: CancellationFlag? = nil,
                        hiddenStates: ((Int, Tensor) -> Void)? = nil) throws -> Tensor {
        let S = embeddings.rows
        let D = config.hiddenSize
        guard embeddings.cols == D, embeddings.shape.count == 2 else {
            throw DecoderError.shapeMismatch("embeddings are \(embeddings.shape), expected [tokens, \(D)]")
        }
        let flags = visual ?? [Bool](repeating: false, count: S)
        guard flags.count == S else {
            throw DecoderError.shapeMismatch("\(flags.count) visual flags for \(S) tokens")
        }
        guard S > 0 else { throw DecoderError.shapeMismatch("empty input") }
        guard cache.layers == config.numHiddenLayers, cache.kvHeads == config.numKeyValueHeads,
            cache.headDim == config.headDim
        else {
            throw DecoderError.shapeMismatch("KV cache does not belong to this model")
        }
        let start = cache.count
        guard start + S <= config.maxPositionEmbeddings else {
            throw DecoderError.tooLong(positions: start + S, limit: config.maxPositionEmbeddings)
        }
        cache.reserve(S)

        let h = Tensor(shape: [S, D])
        h.data.update(from: embeddings.data, count: S * D)
        let rope = RopeRows(plain: ropePlain, scaled: ropeScaled, start: start, count: S, headDim: config.headDim)
        let visualFlags: [UInt8] = (cache.visual + flags).map { $0 ? 1 : 0 }
        let scratch = PrefillScratch(config: config, tokens: S)
        for (l, block) in blocks.enumerated() {
            if cancellation?.isCancelled == true { throw DecoderError.cancelled }
            forwardBlock(block, layer: l, h: h, start: start, visualFlags: visualFlags, rope: rope,
                         cache: cache, scratch: scratch)
            hiddenStates?(l, h)
        }
        cache.commit(visual: flags)

        let first = rows == .last ? S - 1 : 0
        let n = S - first
        let normed = Tensor(shape: [n, D])
        rmsNorm(h.row(first), stride: D, weight: lnF, out: normed.data, outStride: D, rows: n, width: D,
                eps: Float(config.rmsNormEps))
        return lmHead(normed)
    }

    /// Embeds `ids` and runs `prefill` (no visual tokens).
    package func prefill(ids: [Int], cache: KVCache, logits rows: LogitRows = .last,
                        hiddenStates: ((Int, Tensor) -> Void)? = nil) throws -> Tensor {
        try prefill(embeddings: try embed(ids), visual: nil, cache: cache, logits: rows, hiddenStates: hiddenStates)
    }

    /// Buffers reused across the layers of one prefill call.
    final class PrefillScratch {
        let qkv: Tensor
        let attn: Tensor
        let normed: Tensor
        let mlp: Tensor
        let act: Tensor
        let out: Tensor
        let chunk: Int

        /// Rows of the chunk starting at row `r0` of `S`: at most `chunk`, and never leaving a last chunk of
        /// fewer than `minimumPrefillRows` rows. Every matmul row then goes through the same kernel whatever the
        /// chunk boundaries (one-row products take the GEMV kernel, whose summation order differs, and bf16 dot
        /// products start at 16 rows), so a prompt prefilled after a reused prefix gets the same bits as cold.
        func rows(at r0: Int, of S: Int) -> Int {
            let left = S - r0
            if left <= chunk { return left }
            let tail = left - chunk
            return tail >= minimumPrefillRows ? chunk : left - minimumPrefillRows
        }

        init(config c: Molmo2TextConfig, tokens S: Int) {
            chunk = min(S, 256)
            qkv = Tensor(shape: [chunk, c.qkvWidth])
            attn = Tensor(shape: [S, c.numAttentionHeads * c.headDim])
            normed = Tensor(shape: [chunk, c.hiddenSize])
            mlp = Tensor(shape: [chunk, 2 * c.intermediateSize])
            act = Tensor(shape: [chunk, c.intermediateSize])
            out = Tensor(shape: [chunk, c.hiddenSize])
        }
    }

    private func forwardBlock(_ b: DecoderBlock, layer l: Int, h: Tensor, start: Int, visualFlags: [UInt8],
                              rope: RopeRows, cache: KVCache, scratch s: PrefillScratch) {
        let c = config
        let S = h.rows
        let D = c.hiddenSize
        let H = c.numAttentionHeads
        let K = c.numKeyValueHeads
        let d = c.headDim
        let I = c.intermediateSize
        let eps = Float(c.rmsNormEps)
        let qWidth = H * d
        let kvWidth = K * d
        let values = cache.valueRows(l)
        let dot = useBF16DotProducts
        let (cosRows, sinRows) = b.scaledRope ? (rope.scaledCos, rope.scaledSin) : (rope.plainCos, rope.plainSin)

        // 1. q/k/v for every token: projections, q/k norm, RoPE; k and v go straight into the cache.
        var r0 = 0
        while r0 < S {
            let n = s.rows(at: r0, of: S)
            let input: UnsafePointer<Float>
            if c.normAfter {
                input = UnsafePointer(h.row(r0))
            } else {
                rmsNorm(h.row(r0), stride: D, weight: b.attnNorm, out: s.normed.data, outStride: D, rows: n, width: D, eps: eps)
                input = UnsafePointer(s.normed.data)
            }
            b.attProj.apply(input, xStride: D, rows: n, into: s.qkv.data, outStride: c.qkvWidth, bf16DotProducts: dot)
            let qkv = s.qkv.data
            let qkvW = c.qkvWidth
            if let bias = b.attProjBias { addBias(qkv, stride: qkvW, bias: bias, rows: n) }
            if let qn = b.qNorm, let kn = b.kNorm {
                if c.qkNormType == "qwen3" {
                    for r in 0..<n {
                        spotter_rmsnorm(qkv + r * qkvW, d, qn, qkv + r * qkvW, d, H, d, eps)
                        spotter_rmsnorm(qkv + r * qkvW + qWidth, d, kn, qkv + r * qkvW + qWidth, d, K, d, eps)
                    }
                } else {
                    spotter_rmsnorm(qkv, qkvW, qn, qkv, qkvW, n, qWidth, eps)
                    spotter_rmsnorm(qkv + qWidth, qkvW, kn, qkv + qWidth, qkvW, n, kvWidth, eps)
                }
            }
            let attn = s.attn.data
            parallelChunks(n, minChunk: 16) { a, e in
                for r in a..<e {
                    let t = r0 + r
                    let row = qkv + r * qkvW
                    spotter_rope(row, H, d, cosRows + t * d, sinRows + t * d)
                    spotter_rope(row + qWidth, K, d, cosRows + t * d, sinRows + t * d)
                    (attn + t * qWidth).update(from: row, count: qWidth)
                    cache.storeKey(row + qWidth, layer: l, position: start + t)
                    (values + (start + t) * kvWidth).update(from: row + qWidth + kvWidth, count: kvWidth)
                }
            }
            r0 += n
        }

        // 2. Attention, in blocks of tokens × the query heads of one kv head; the output overwrites the queries
        //    in place. Visual queries also see every visual key of this chunk.
        let scale = 1 / Float(d).squareRoot()
        let group = H / K
        let total = start + S
        let attn = s.attn.data
        let tokensPerBlock = max(1, 12 / group)
        let blocksOfTokens = (S + tokensPerBlock - 1) / tokensPerBlock
        let keysT = cache.transposedKeys(l)
        let capacity = cache.capacity
        let scratchFloats = spotter_attention_scratch_floats(group, tokensPerBlock, d, total)
        visualFlags.withUnsafeBufferPointer { vis in
            parallelInterleaved(blocksOfTokens * K, scratchFloats: scratchFloats) { item, scratch in
                let kvHead = item % K
                let t0 = (item / K) * tokensPerBlock
                let n = min(tokensPerBlock, S - t0)
                let q = attn + t0 * qWidth + kvHead * group * d
                spotter_attention_block(q, qWidth, group, d, keysT + kvHead * d * capacity, capacity,
                                        values + kvHead * d, kvWidth, start, t0, n, vis.baseAddress, total,
                                        scale, scratch, q, qWidth)
            }
        }

        // 3. Output projection and MLP, chunk by chunk, with residuals.
        r0 = 0
        while r0 < S {
            let n = s.rows(at: r0, of: S)
            b.attnOut.apply(attn + r0 * qWidth, xStride: qWidth, rows: n, into: s.out.data, outStride: D, bf16DotProducts: dot)
            if c.normAfter {
                rmsNorm(s.out.data, stride: D, weight: b.attnNorm, out: s.out.data, outStride: D, rows: n, width: D, eps: eps)
            }
            addInPlace(h.row(r0), s.out.data, count: n * D)
            let input: UnsafePointer<Float>
            if c.normAfter {
                input = UnsafePointer(h.row(r0))
            } else {
                rmsNorm(h.row(r0), stride: D, weight: b.ffNorm, out: s.normed.data, outStride: D, rows: n, width: D, eps: eps)
                input = UnsafePointer(s.normed.data)
            }
            b.ffProj.apply(input, xStride: D, rows: n, into: s.mlp.data, outStride: 2 * I, bf16DotProducts: dot)
            siluMul(gate: s.mlp.data + I, value: s.mlp.data, inStride: 2 * I, out: s.act.data, outStride: I, rows: n,
                    width: I)
            b.ffOut.apply(s.act.data, xStride: I, rows: n, into: s.out.data, outStride: D, bf16DotProducts: dot)
            if c.normAfter {
                rmsNorm(s.out.data, stride: D, weight: b.ffNorm, out: s.out.data, outStride: D, rows: n, width: D, eps: eps)
            }
            addInPlace(h.row(r0), s.out.data, count: n * D)
            r0 += n
        }
    }
}

/// cos/sin rows [count, headDim] for consecutive positions, for the plain and the scaled rotary tables.
final class RopeRows {
    let plainCos: UnsafeMutablePointer<Float>
    let plainSin: UnsafeMutablePointer<Float>
    let scaledCos: UnsafeMutablePointer<Float>
    let scaledSin: UnsafeMutablePointer<Float>
    private let buffer: AlignedBuffer

    init(plain: RotaryTable, scaled: RotaryTable, start: Int, count: Int, headDim d: Int) {
        buffer = AlignedBuffer(byteCount: 4 * count * d * 4)
        let base = buffer.raw.assumingMemoryBound(to: Float.self)
        plainCos = base
        plainSin = base + count * d
        scaledCos = base + 2 * count * d
        scaledSin = base + 3 * count * d
        for t in 0..<count {
            plain.fill(position: start + t, cos: plainCos + t * d, sin: plainSin + t * d)
            scaled.fill(position: start + t, cos: scaledCos + t * d, sin: scaledSin + t * d)
        }
    }
}
