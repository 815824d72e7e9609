import Foundation

/// A dense row-major fp32 tensor that owns its (64-byte aligned) memory. Runtime activations are 2-D
/// `[rows, cols]`; the last dimension is contiguous.
package final class Tensor {
    /// Dimensions, outermost first.
    package let shape: [Int]
    /// Number of elements.
    package let count: Int
    /// The elements.
    package let data: UnsafeMutablePointer<Float>

    /// A zero-filled tensor.
    package init(shape: [Int]) {
        self.shape = shape
        count = shape.reduce(1, *)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        data = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        data.initialize(repeating: 0, count: max(count, 1))
    }

    /// A 2-D tensor filled from `values` (row-major).
    package convenience init(rows: Int, cols: Int, values: [Float]) {
        self.init(shape: [rows, cols])
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { data.update(from: base, count: min(values.count, count)) }
        }
    }

    deinit { UnsafeMutableRawPointer(data).deallocate() }

    /// Size of the first dimension.
    package var rows: Int { shape.count > 1 ? shape[0] : 1 }
    /// Size of the last dimension (the row length).
    package var cols: Int { shape.last ?? 1 }

    /// Pointer to row `i` of a 2-D tensor.
    @inline(__always) package func row(_ i: Int) -> UnsafeMutablePointer<Float> { data + i * cols }

    /// The elements as an array.
    package var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// Row `i` as an array.
    package func rowArray(_ i: Int) -> [Float] { Array(UnsafeBufferPointer(start: row(i), count: cols)) }
}

/// How the runtime stores linear-layer and embedding weights in memory.
package enum WeightFormat: String, Sendable, CaseIterable {
    /// 4 bytes per weight, exact.
    case float32
    /// 2 bytes per weight (bfloat16, rounded to nearest even); compute stays fp32.
    case bfloat16
    /// The decoder's linear layers (LM head included) as int8 with one fp32 scale per output channel, dequantized
    /// in the matmul kernels (decode reads half the bytes of bfloat16); embeddings and the vision side stay
    /// bfloat16. Lossy: see docs/runtime.md for its agreement with fp32.
    case int8

    /// Bytes per stored decoder weight.
    package var bytesPerWeight: Int {
        switch self {
        case .float32: return 4
        case .bfloat16: return 2
        case .int8: return 1
        }
    }

    /// The format of weights that are not int8-quantized (embedding tables, the vision side): bfloat16 for int8.
    package var unquantized: WeightFormat { self == .int8 ? .bfloat16 : self }
}

/// Aligned raw storage that frees itself.
final class AlignedBuffer {
    let raw: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = byteCount
        raw = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 64), alignment: 64)
    }

    deinit { raw.deallocate() }
}
