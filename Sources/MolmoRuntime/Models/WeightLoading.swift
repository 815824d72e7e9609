import Foundation

// Converting checkpoint tensors into runtime weights, shared by the decoder and vision loaders (which check every
// shape before converting anything). Each source tensor's mapped pages are released after conversion, so that at
// most one copy of the weights is resident.
extension CheckpointFiles {
    /// A vector or small tensor as fp32.
    func floats(_ name: String) throws -> [Float] {
        let (file, info) = try locate(name)
        defer { file.release(info) }
        return try file.floats(info.name)
    }

    /// Weight tensors [rows, inFeatures] stacked along the output rows in the order given, packed for the matmul
    /// kernels in `format`.
    func packedLinear(_ names: [String], inFeatures: Int, format: WeightFormat) throws -> PackedLinear {
        var sources: [(pointer: UnsafeRawPointer, dtype: Int32, rows: Int)] = []
        var located: [(SafetensorsFile, SafetensorsTensorInfo)] = []
        for name in names {
            let (file, info) = try locate(name)
            guard let dtype = info.dtype.kernelType else {
                throw CheckpointError.unsupportedDType(tensor: name, shard: file.path, dtype: info.dtype.rawValue)
            }
            guard info.shape.count == 2, info.shape[1] == inFeatures else {
                throw CheckpointError.wrongShape(
                    tensor: name, shard: file.path, expected: [info.shape.first ?? 0, inFeatures], found: info.shape)
            }
            file.prefetch(info)
            sources.append((file.bytes(of: info), dtype, info.shape[0]))
            located.append((file, info))
        }
        let out = PackedLinear(
            outFeatures: sources.reduce(0) { $0 + $1.rows }, inFeatures: inFeatures, format: format)
        out.fill(sources: sources)
        for (file, info) in located { file.release(info) }
        return out
    }
}
