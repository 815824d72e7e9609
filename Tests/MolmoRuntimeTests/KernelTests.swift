import CKernels
import Foundation
import MolmoRuntime
import Testing

/// Kernels against straightforward double-precision references, on shapes that hit every edge path
/// (partial panels, partial row blocks, K not a multiple of the block size) with both instruction sets.
@Suite(.serialized) struct KernelTests {
    static func random(_ n: Int, _ rng: inout SeededGenerator) -> [Float] { (0..<n).map { _ in rng.nextUnit() - 0.5 } }

    static func bf16Round(_ x: Float) -> Float {
        var bits = x.bitPattern
        bits = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000
        return Float(bitPattern: bits)
    }

    @Test(arguments: [0, 1])
    func matmulMatchesReference(forceBaseline: Int32) throws {
        spotter_gemm_force_baseline(forceBaseline)
        defer { spotter_gemm_force_baseline(0) }
        var rng = SeededGenerator(seed: 99)
        let shapes = [(1, 1, 1), (1, 33, 17), (3, 70, 300), (7, 32, 256), (13, 31, 257), (25, 100, 513), (200, 65, 40),
                      (12, 64, 64), (6, 16, 8), (300, 130, 600)]
        for (m, n, k) in shapes {
            let a = Self.random(m * k, &rng)
            let w = Self.random(n * k, &rng)
            let initial = Self.random(m * n, &rng)
            for format in [WeightFormat.float32, .bfloat16] {  // int8: Int8WeightTests
                let packed = PackedLinear(weights: w, outFeatures: n, inFeatures: k, format: format)
                let wq = format == .float32 ? w : w.map(Self.bf16Round)
                for accumulate in [false, true] {
                    var out = initial
                    a.withUnsafeBufferPointer { ap in
                        out.withUnsafeMutableBufferPointer { op in
                            packed.apply(ap.baseAddress!, xStride: k, rows: m, into: op.baseAddress!, outStride: n,
                                         accumulate: accumulate)
                        }
                    }
                    var worst = 0.0
                    for i in 0..<m {
                        for j in 0..<n {
                            var s = accumulate ? Double(initial[i * n + j]) : 0
                            for kk in 0..<k { s += Double(a[i * k + kk]) * Double(wq[j * k + kk]) }
                            worst = max(worst, abs(s - Double(out[i * n + j])))
                        }
                    }
                    #expect(worst < 1e-5 * Double(k).squareRoot() + 1e-6,
                            "\(m)×\(n)×\(k) \(format) acc=\(accumulate) isa=\(spotter_gemm_isa()): \(worst)")
                }
            }
        }
    }

    /// Blocked attention (GQA group, transposed keys, causal + bidirectional visual keys) against a naive softmax.
    @Test(arguments: [(4, 16, 0, 23), (1, 24, 5, 40), (2, 128, 30, 7)])
    func attentionBlockMatchesReference(group: Int, d: Int, start: Int, chunk: Int) {
        var rng = SeededGenerator(seed: UInt64(group * 1000 + d))
        let kvHeads = 2
        let total = start + chunk
        let capacity = (total + 15) / 16 * 16 + 16
        let keys = Self.random(total * kvHeads * d, &rng)  // [token][head][d]
        let values = Self.random(total * kvHeads * d, &rng)
        var kt = [Float](repeating: 0, count: kvHeads * d * capacity)
        for j in 0..<total { for r in 0..<(kvHeads * d) { kt[r * capacity + j] = keys[j * kvHeads * d + r] } }
        let visual: [UInt8] = (0..<total).map { j in (j % 5 == 1 || (j >= start + 2 && j < start + 9)) ? 1 : 0 }
        let qWidth = kvHeads * group * d
        var q = Self.random(chunk * qWidth, &rng).map { $0 * 3 }
        let original = q
        let scale = 1 / Float(d).squareRoot()
        var scratch = [Float](repeating: 0, count: spotter_attention_scratch_floats(group, 5, d, total))
        kt.withUnsafeBufferPointer { ktp in
            values.withUnsafeBufferPointer { vp in
                q.withUnsafeMutableBufferPointer { qp in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        for head in 0..<kvHeads {
                            var t0 = 0
                            while t0 < chunk {
                                let n = min(5, chunk - t0)
                                let base = qp.baseAddress! + t0 * qWidth + head * group * d
                                spotter_attention_block(
                                    base, qWidth, group, d, ktp.baseAddress! + head * d * capacity, capacity,
                                    vp.baseAddress! + head * d, kvHeads * d, start, t0, n, visual, total, scale,
                                    sp.baseAddress!, base, qWidth)
                                t0 += n
                            }
                        }
                    }
                }
            }
        }
        var worst = 0.0
        for t in 0..<chunk {
            let pos = start + t
            let allowed = (0..<total).filter { $0 <= pos || (visual[pos] == 1 && visual[$0] == 1) }
            for head in 0..<kvHeads {
                for r in 0..<group {
                    let qi = t * qWidth + (head * group + r) * d
                    let scores = allowed.map { j in
                        (0..<d).reduce(0.0) { $0 + Double(original[qi + $1]) * Double(keys[(j * kvHeads + head) * d + $1]) }
                            * Double(scale)
                    }
                    let mx = scores.max() ?? 0
                    let e = scores.map { exp($0 - mx) }
                    let sum = e.reduce(0, +)
                    for c in 0..<d {
                        let ref = zip(allowed, e).reduce(0.0) {
                            $0 + $1.1 / sum * Double(values[($1.0 * kvHeads + head) * d + c])
                        }
                        worst = max(worst, abs(ref - Double(q[qi + c])))
                    }
                }
            }
        }
        #expect(worst < 2e-6, "max error \(worst)")
    }

    @Test func rmsNormRopeAndSiluMatchReference() {
        var rng = SeededGenerator(seed: 6)
        let n = 37
        let x = Self.random(n, &rng).map { $0 * 4 }
        let w = Self.random(n, &rng)
        var out = [Float](repeating: 0, count: n)
        spotter_rmsnorm(x, n, w, &out, n, 1, n, 1e-6)
        let ms = x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n)
        for i in 0..<n { #expect(abs(Double(out[i]) - Double(w[i]) * Double(x[i]) / (ms + 1e-6).squareRoot()) < 1e-5) }

        let d = 8
        var v = Self.random(2 * d, &rng)
        let original = v
        let cos = Self.random(d, &rng)
        let sin = Self.random(d, &rng)
        spotter_rope(&v, 2, d, cos, sin)
        for h in 0..<2 {
            for i in 0..<d {
                let rot = i < d / 2 ? -original[h * d + i + d / 2] : original[h * d + i - d / 2]
                #expect(abs(v[h * d + i] - (original[h * d + i] * cos[i] + rot * sin[i])) < 1e-6)
            }
        }

        let g: [Float] = (0..<37).map { Float($0) * 0.9 - 16 } + [-100, 90]
        let val: [Float] = g.map { _ in 1.5 }
        var s = [Float](repeating: 0, count: g.count)
        spotter_silu_mul(g, val, &s, g.count)
        for i in 0..<g.count {
            let ref = Double(g[i]) / (1 + exp(-Double(g[i]))) * 1.5
            #expect(abs(Double(s[i]) - ref) <= 1e-6 * max(1, abs(ref)), "silu(\(g[i]))")
        }
    }
}

/// The opt-in bf16 dot-product kernels: equal to a reference that rounds activations and weights to bf16.
@Suite(.serialized) struct BF16DotKernelTests {
    @Test func bf16DotMatchesRoundedReference() throws {
        var rng = SeededGenerator(seed: 11)
        for (m, n, k) in [(16, 32, 64), (29, 70, 301), (200, 33, 256), (13, 64, 1000)] {
            let a = KernelTests.random(m * k, &rng)
            let w = KernelTests.random(n * k, &rng)
            let packed = PackedLinear(weights: w, outFeatures: n, inFeatures: k, format: .bfloat16)
            for accumulate in [false, true] {
                var out = [Float](repeating: 0.25, count: m * n)
                a.withUnsafeBufferPointer { ap in
                    out.withUnsafeMutableBufferPointer { op in
                        spotter_gemm_bf16dot(ap.baseAddress!, k, m, k, packed.panelsForTesting, n, 0,
                                             (n + 31) / 32, op.baseAddress!, n, accumulate ? 1 : 0)
                    }
                }
                // With AVX512_BF16 the activations are rounded; without it the call falls back to the exact kernel.
                let roundA = KernelSettings.bf16DotProductsAvailable
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        var s = accumulate ? 0.25 : 0.0
                        for kk in 0..<k {
                            let av = roundA ? KernelTests.bf16Round(a[i * k + kk]) : a[i * k + kk]
                            s += Double(av) * Double(KernelTests.bf16Round(w[j * k + kk]))
                        }
                        worst = max(worst, abs(s - Double(out[i * n + j])))
                    }
                }
                #expect(worst < 1e-4, "\(m)×\(n)×\(k) acc=\(accumulate): \(worst)")
            }
        }
    }

    @Test func bf16DotModelStaysWithinBF16Tolerance() throws {
        let ref = try Fixtures.reference("qwen3")
        let model = try Molmo2LanguageModel.load(directory: Fixtures.url("qwen3-tiny-bf16"), format: .bfloat16)
        let ids = try ref.integers("text.input_ids")
        model.useBF16DotProducts = true
        let logits = try model.prefill(ids: ids, cache: model.makeCache(), logits: .all).array
        let torchBF16 = try ref.floats("text.logits_bf16")
        let (diff, scale) = maxDifference(logits, torchBF16)
        #expect(diff <= 2e-2 * scale, "\(diff) vs \(scale)")
        let V = model.config.vocabSize
        #expect(rowArgmax(logits, cols: V).last == rowArgmax(torchBF16, cols: V).last)
    }
}
