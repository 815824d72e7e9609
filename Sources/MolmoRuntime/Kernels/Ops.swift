import CKernels
import Foundation

// Row operations used by the models, split across threads by rows. The arithmetic lives in CKernels.

/// RMSNorm of `rows` rows of length `n`: out = w ⊙ x / sqrt(mean(x²) + eps).
func rmsNorm(_ x: UnsafePointer<Float>, stride xs: Int, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
             outStride os: Int, rows: Int, width n: Int, eps: Float) {
    parallelChunks(rows, minChunk: max(1, 16384 / max(n, 1))) { r0, r1 in
        spotter_rmsnorm(x + r0 * xs, xs, weight, out + r0 * os, os, r1 - r0, n, eps)
    }
}

/// out = silu(gate) ⊙ value for `rows` rows; gate/value rows have stride `inStride`, out rows `outStride`.
func siluMul(gate: UnsafePointer<Float>, value: UnsafePointer<Float>, inStride: Int, out: UnsafeMutablePointer<Float>,
             outStride: Int, rows: Int, width: Int) {
    parallelChunks(rows, minChunk: max(1, 8192 / max(width, 1))) { r0, r1 in
        for r in r0..<r1 { spotter_silu_mul(gate + r * inStride, value + r * inStride, out + r * outStride, width) }
    }
}

/// x[r] += bias for `rows` rows of stride `stride` (the row width is `bias.count`).
func addBias(_ x: UnsafeMutablePointer<Float>, stride: Int, bias: [Float], rows: Int) {
    bias.withUnsafeBufferPointer { b in
        parallelChunks(rows, minChunk: 64) { r0, r1 in
            spotter_add_bias(x + r0 * stride, stride, b.baseAddress!, r1 - r0, b.count)
        }
    }
}

/// y += x over `count` elements.
func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    parallelChunks(count, minChunk: 1 << 16) { a, b in spotter_add_inplace(y + a, x + a, b - a) }
}

/// Rotary-embedding inverse frequencies and cos/sin multiplier for one table (plain or YaRN), computed in fp32 the
/// way transformers does.
struct RotaryTable {
    let invFreq: [Float]
    let attentionScaling: Float
    let headDim: Int

    init(rope: RopeParameters, headDim d: Int, maxPositionEmbeddings: Int, scaled: Bool) {
        headDim = d
        let half = d / 2
        let base = Float(rope.theta)
        let posFreqs = (0..<half).map { i in powf(base, Float(2 * i) / Float(d)) }
        guard scaled, rope.ropeType == "yarn" else {
            invFreq = posFreqs.map { 1 / $0 }
            attentionScaling = 1
            return
        }
        let factor = rope.factor ?? Double(maxPositionEmbeddings) / Double(rope.originalMaxPositionEmbeddings ?? 1)
        let mscale = factor <= 1 ? 1.0 : 0.1 * log(factor) + 1.0
        attentionScaling = Float(rope.attentionFactor ?? mscale)
        let betaFast = rope.betaFast ?? 32
        let betaSlow = rope.betaSlow ?? 1
        let original = Double(rope.originalMaxPositionEmbeddings ?? maxPositionEmbeddings)
        func correctionDim(_ rotations: Double) -> Double {
            Double(d) * log(original / (rotations * 2 * Double.pi)) / (2 * log(rope.theta))
        }
        var low = correctionDim(betaFast)
        var high = correctionDim(betaSlow)
        if rope.truncate ?? true {
            low = low.rounded(.down)
            high = high.rounded(.up)
        }
        low = max(low, 0)
        high = min(high, Double(d - 1))
        if low == high { high += 0.001 }
        let lowF = Float(low)
        let span = Float(high - low)
        let factorF = Float(factor)
        invFreq = (0..<half).map { i in
            let extrapolation = 1 / posFreqs[i]
            let interpolation = 1 / (factorF * posFreqs[i])
            let ramp = min(max((Float(i) - lowF) / span, 0), 1)
            let keep = 1 - ramp
            return interpolation * (1 - keep) + extrapolation * keep
        }
    }

    /// Writes cos and sin rows (length headDim each) for `position`.
    func fill(position: Int, cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>) {
        let half = headDim / 2
        let p = Float(position)
        for i in 0..<half {
            let angle = p * invFreq[i]
            let c = cosf(angle) * attentionScaling
            let s = sinf(angle) * attentionScaling
            cos[i] = c
            cos[i + half] = c
            sin[i] = s
            sin[i + half] = s
        }
    }
}
