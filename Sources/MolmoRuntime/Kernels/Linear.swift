import CKernels
import Foundation

/// A linear layer's weight W [outFeatures, inFeatures] (y = x·Wᵀ), repacked into 32-wide column panels in fp32 or
/// bf16 for the matmul kernels. Several checkpoint tensors can be stacked along the output rows (fused q/k/v).
package final class PackedLinear {
    /// Output width N.
    package let outFeatures: Int
    /// Input width K.
    package let inFeatures: Int
    /// Storage format.
    package let format: WeightFormat
    let storage: AlignedBuffer
    let panels: Int
    /// int8: one scale per output column (32 per panel).
    let scales: AlignedBuffer?

    /// Number of stored bytes.
    package var byteCount: Int { storage.byteCount + (scales?.byteCount ?? 0) }

    /// An empty packed weight to be filled with `fill(rows:from:dtype:)`.
    init(outFeatures: Int, inFeatures: Int, format: WeightFormat) {
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.format = format
        panels = (outFeatures + Int(SPOTTER_PANEL) - 1) / Int(SPOTTER_PANEL)
        storage = AlignedBuffer(byteCount: panels * inFeatures * Int(SPOTTER_PANEL) * format.bytesPerWeight)
        scales = format == .int8 ? AlignedBuffer(byteCount: panels * Int(SPOTTER_PANEL) * 4) : nil
    }

    /// Packs a row-major [outFeatures, inFeatures] fp32 matrix (used by tests and benchmarks); missing values
    /// are zero.
    package convenience init(weights: [Float], outFeatures: Int, inFeatures: Int, format: WeightFormat) {
        self.init(outFeatures: outFeatures, inFeatures: inFeatures, format: format)
        var full = weights
        if full.count < outFeatures * inFeatures {
            full += [Float](repeating: 0, count: outFeatures * inFeatures - full.count)
        }
        guard outFeatures > 0, inFeatures > 0 else { return }
        full.withUnsafeBytes { raw in
            if let base = raw.baseAddress { fill(sources: [(base, Int32(SPOTTER_F32.rawValue), outFeatures)]) }
        }
    }

    /// Packs stacked sources: each is a row-major [rows, inFeatures] block of the given dtype; the blocks stack
    /// along the output dimension in order and must add up to `outFeatures` rows.
    func fill(sources: [(pointer: UnsafeRawPointer, dtype: Int32, rows: Int)]) {
        // A panel may straddle two sources, so gather rows per panel from the right block.
        var rowSource: [(UnsafeRawPointer, Int32, Int)] = []  // (block pointer, dtype, row within block)
        rowSource.reserveCapacity(outFeatures)
        for s in sources { for r in 0..<s.rows { rowSource.append((s.pointer, s.dtype, r)) } }
        let P = Int(SPOTTER_PANEL)
        let K = inFeatures
        let fmt = format
        let base = storage.raw
        if fmt == .int8 {
            fillQuantized(rowSource: rowSource)
            return
        }
        parallelChunks(panels) { p0, p1 in
            for p in p0..<p1 {
                let n0 = p * P
                let rows = min(P, outFeatures - n0)
                // Fast path: the panel's rows are consecutive rows of one block.
                let first = rowSource[n0]
                let last = rowSource[n0 + rows - 1]
                if first.0 == last.0 && last.2 - first.2 == rows - 1 {
                    if fmt == .float32 {
                        spotter_pack_panel_f32(first.0, first.1, K, first.2, rows,
                                               base.assumingMemoryBound(to: Float.self) + p * K * P)
                    } else {
                        spotter_pack_panel_bf16(first.0, first.1, K, first.2, rows,
                                                base.assumingMemoryBound(to: UInt16.self) + p * K * P)
                    }
                } else {
                    // Rows from two blocks: pack each row on its own (rare: only at block boundaries).
                    for j in 0..<P {
                        if j < rows {
                            let (ptr, dt, r) = rowSource[n0 + j]
                            self.packRow(ptr, dt, r, panel: p, column: j)
                        } else {
                            self.zeroColumn(panel: p, column: j)
                        }
                    }
                }
            }
        }
    }

    /// int8: each panel packed as fp32, then quantized per column.
    private func fillQuantized(rowSource: [(UnsafeRawPointer, Int32, Int)]) {
        let P = Int(SPOTTER_PANEL)
        let K = inFeatures
        let q = storage.raw.assumingMemoryBound(to: Int8.self)
        guard let scales else { return }
        let s = scales.raw.assumingMemoryBound(to: Float.self)
        parallelChunks(panels) { p0, p1 in
            let panel = UnsafeMutablePointer<Float>.allocate(capacity: K * P)
            defer { panel.deallocate() }
            var row = [Float](repeating: 0, count: K)
            for p in p0..<p1 {
                let n0 = p * P
                let rows = min(P, outFeatures - n0)
                let first = rowSource[n0]
                let last = rowSource[n0 + rows - 1]
                if first.0 == last.0 && last.2 - first.2 == rows - 1 {
                    spotter_pack_panel_f32(first.0, first.1, K, first.2, rows, panel)
                } else {
                    panel.update(repeating: 0, count: K * P)
                    for j in 0..<rows {
                        let (ptr, dt, r) = rowSource[n0 + j]
                        let elementSize = dt == Int32(SPOTTER_F32.rawValue) ? 4 : 2
                        row.withUnsafeMutableBufferPointer { t in
                            spotter_convert_to_f32(ptr + r * K * elementSize, dt, K, t.baseAddress!)
                            for k in 0..<K { panel[k * P + j] = t[k] }
                        }
                    }
                }
                spotter_quantize_panel_i8(panel, K, q + p * K * P, s + p * P)
            }
        }
    }

    private func packRow(_ src: UnsafeRawPointer, _ dtype: Int32, _ row: Int, panel p: Int, column j: Int) {
        let P = Int(SPOTTER_PANEL)
        let K = inFeatures
        var tmp = [Float](repeating: 0, count: K)
        tmp.withUnsafeMutableBufferPointer { t in
            let elementSize = dtype == Int32(SPOTTER_F32.rawValue) ? 4 : 2
            spotter_convert_to_f32(src + row * K * elementSize, dtype, K, t.baseAddress!)
            if format == .float32 {
                let dst = storage.raw.assumingMemoryBound(to: Float.self) + p * K * P
                for k in 0..<K { dst[k * P + j] = t[k] }
            } else {
                var b = [UInt16](repeating: 0, count: K)
                b.withUnsafeMutableBufferPointer { bb in
                    spotter_convert_to_bf16(t.baseAddress!, Int32(SPOTTER_F32.rawValue), K, bb.baseAddress!)
                    let dst = storage.raw.assumingMemoryBound(to: UInt16.self) + p * K * P
                    for k in 0..<K { dst[k * P + j] = bb[k] }
                }
            }
        }
    }

    private func zeroColumn(panel p: Int, column j: Int) {
        let P = Int(SPOTTER_PANEL)
        let K = inFeatures
        if format == .float32 {
            let dst = storage.raw.assumingMemoryBound(to: Float.self) + p * K * P
            for k in 0..<K { dst[k * P + j] = 0 }
        } else {
            let dst = storage.raw.assumingMemoryBound(to: UInt16.self) + p * K * P
            for k in 0..<K { dst[k * P + j] = 0 }
        }
    }

    /// out[M, N] = x[M, K] · Wᵀ (or += when `accumulate`), split across threads by output panels.
    /// `x` rows have stride `xStride`, `out` rows stride `outStride`. With `bf16DotProducts`, bf16 weights and
    /// at least 16 rows, the activations are rounded to bf16 and AVX512_BF16 dot products are used (where the CPU
    /// has them): about twice the rate, with the rounding error of PyTorch's bf16 matmul.
    package func apply(_ x: UnsafePointer<Float>, xStride: Int, rows M: Int, into out: UnsafeMutablePointer<Float>,
                      outStride: Int, accumulate: Bool = false, bf16DotProducts: Bool = false) {
        let K = inFeatures
        let N = outFeatures
        let acc: Int32 = accumulate ? 1 : 0
        let raw = storage.raw
        let fmt = format
        // Enough panels per thread that the split pays off.
        let minPanels = M == 1 ? 8 : 2
        let dot = fmt == .bfloat16 && M >= 16 && bf16DotProducts
        let scalePointer = scales.map { UnsafePointer($0.raw.assumingMemoryBound(to: Float.self)) }
        parallelChunks(panels, minChunk: minPanels) { p0, p1 in
            if let scalePointer {
                spotter_gemm_i8(x, xStride, M, K, raw.assumingMemoryBound(to: Int8.self), scalePointer, N, p0, p1, out,
                                outStride, acc)
            } else if dot {
                spotter_gemm_bf16dot(x, xStride, M, K, raw.assumingMemoryBound(to: UInt16.self), N, p0, p1, out, outStride, acc)
            } else if fmt == .float32 {
                spotter_gemm_f32(x, xStride, M, K, raw.assumingMemoryBound(to: Float.self), N, p0, p1, out, outStride, acc)
            } else {
                spotter_gemm_bf16(x, xStride, M, K, raw.assumingMemoryBound(to: UInt16.self), N, p0, p1, out, outStride, acc)
            }
        }
    }

    /// Writes weight row `n` (W[n, :], inFeatures values) as fp32 into `out` (strided reads across one panel).
    func copyRow(_ n: Int, into out: UnsafeMutablePointer<Float>) {
        let P = Int(SPOTTER_PANEL)
        let K = inFeatures
        let p = n / P
        let j = n % P
        if format == .float32 {
            let panel = storage.raw.assumingMemoryBound(to: Float.self) + p * K * P + j
            for k in 0..<K { out[k] = panel[k * P] }
        } else if let scales {
            let panel = storage.raw.assumingMemoryBound(to: Int8.self) + p * K * P + j
            let scale = scales.raw.assumingMemoryBound(to: Float.self)[n]
            for k in 0..<K { out[k] = Float(panel[k * P]) * scale }
        } else {
            let panel = storage.raw.assumingMemoryBound(to: UInt16.self) + p * K * P + j
            for k in 0..<K { out[k] = Float(bitPattern: UInt32(panel[k * P]) << 16) }
        }
    }

    /// The int8 panels and their per-column scales (tests call the C kernels on them directly); nil otherwise.
    package var int8PanelsForTesting: (panels: UnsafePointer<Int8>, scales: UnsafePointer<Float>)? {
        guard let scales else { return nil }
        return (UnsafePointer(storage.raw.assumingMemoryBound(to: Int8.self)),
                UnsafePointer(scales.raw.assumingMemoryBound(to: Float.self)))
    }

    /// The packed bf16 panels (tests call the C kernels on them directly); nil for fp32 storage.
    package var panelsForTesting: UnsafePointer<UInt16>? {
        format == .bfloat16 ? UnsafePointer(storage.raw.assumingMemoryBound(to: UInt16.self)) : nil
    }

    /// Convenience: x [M, K] → new tensor [M, N].
    package func callAsFunction(_ x: Tensor) -> Tensor {
        let out = Tensor(shape: [x.rows, outFeatures])
        apply(x.data, xStride: x.cols, rows: x.rows, into: out.data, outStride: outFeatures)
        return out
    }
}

/// Embedding rows [rows, width] stored in fp32 or bf16; looked up by token id.
package final class EmbeddingTable {
    /// Number of rows.
    package let rows: Int
    /// Row width.
    package let width: Int
    /// Storage format.
    package let format: WeightFormat
    let storage: AlignedBuffer

    /// An empty table; int8 is stored as bfloat16 (embeddings are read once per token, not worth quantizing).
    init(rows: Int, width: Int, format requested: WeightFormat) {
        self.rows = rows
        self.width = width
        format = requested.unquantized
        storage = AlignedBuffer(byteCount: rows * width * requested.unquantized.bytesPerWeight)
    }

    /// Number of stored bytes.
    package var byteCount: Int { storage.byteCount }

    /// Converts `count` rows from `src` (dtype as CKernels' spotter_dtype) into rows starting at `firstRow`.
    func fill(firstRow: Int, count: Int, from src: UnsafeRawPointer, dtype: Int32) {
        let elementSize = dtype == Int32(SPOTTER_F32.rawValue) ? 4 : 2
        let w = width
        let fmt = format
        let raw = storage.raw
        parallelChunks(count, minChunk: 256) { r0, r1 in
            let n = (r1 - r0) * w
            let s = src + r0 * w * elementSize
            if fmt == .float32 {
                spotter_convert_to_f32(s, dtype, n, raw.assumingMemoryBound(to: Float.self) + (firstRow + r0) * w)
            } else {
                spotter_convert_to_bf16(s, dtype, n, raw.assumingMemoryBound(to: UInt16.self) + (firstRow + r0) * w)
            }
        }
    }

    /// Writes row `index` as fp32 into `out` (width floats).
    func copyRow(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        if format == .float32 {
            out.update(from: storage.raw.assumingMemoryBound(to: Float.self) + index * width, count: width)
        } else {
            spotter_convert_to_f32(storage.raw + index * width * 2, Int32(SPOTTER_BF16.rawValue), width, out)
        }
    }
}
