import Basics
import Foundation

/// Problems with a checkpoint directory as a whole (files, index, tensor names and shapes).
package enum CheckpointError: Error, CustomStringConvertible {
    /// The path is not a readable directory.
    case notADirectory(String)
    /// Neither `model.safetensors` nor `model.safetensors.index.json` is present.
    case noWeights(directory: String)
    /// The shard index is malformed.
    case invalidIndex(file: String, reason: String)
    /// A shard named by the index does not exist.
    case missingShard(index: String, shard: String)
    /// The index names a tensor that its shard does not contain.
    case tensorNotInShard(tensor: String, shard: String)
    /// A tensor the model needs is absent.
    case missingTensor(tensor: String, directory: String)
    /// A tensor has the wrong shape.
    case wrongShape(tensor: String, shard: String, expected: [Int], found: [Int])
    /// A tensor has a dtype the runtime cannot convert.
    case unsupportedDType(tensor: String, shard: String, dtype: String)
    /// A JSON file of the checkpoint is missing or malformed.
    case invalidFile(file: String, reason: String)

    package var description: String {
        switch self {
        case let .notADirectory(p): return "\(p): not a directory"
        case let .noWeights(d): return "\(d): no model.safetensors or model.safetensors.index.json"
        case let .invalidIndex(f, r): return "\(f): invalid shard index: \(r)"
        case let .missingShard(i, s): return "\(i): shard '\(s)' does not exist"
        case let .tensorNotInShard(t, s): return "\(s): tensor '\(t)' is listed in the index but not in this shard"
        case let .missingTensor(t, d): return "\(d): tensor '\(t)' is missing"
        case let .wrongShape(t, s, e, f): return "\(s): tensor '\(t)' has shape \(f), expected \(e)"
        case let .unsupportedDType(t, s, d): return "\(s): tensor '\(t)' has dtype \(d); only F32, BF16 and F16 load"
        case let .invalidFile(f, r): return "\(f): \(r)"
        }
    }
}

/// The safetensors files of a Hugging Face checkpoint directory: one `model.safetensors`, or the shards listed by
/// `model.safetensors.index.json`. Shards are memory-mapped; nothing is copied until a tensor is converted.
package final class CheckpointFiles {
    /// The checkpoint directory.
    package let directory: URL
    /// Open shards by file name.
    package let shards: [String: SafetensorsFile]
    private let shardOfTensor: [String: String]

    /// Opens and validates every shard of `directory`.
    package init(directory: URL) throws {
        self.directory = directory
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw CheckpointError.notADirectory(directory.path)
        }
        let indexURL = directory.appendingPathComponent("model.safetensors.index.json")
        let singleURL = directory.appendingPathComponent("model.safetensors")
        var shards: [String: SafetensorsFile] = [:]
        var owner: [String: String] = [:]
        if FileManager.default.fileExists(atPath: indexURL.path) {
            let index: JSONValue
            do {
                index = try JSONValue.parse(try RegularFile.read(indexURL.path))
            } catch {
                throw CheckpointError.invalidIndex(file: indexURL.path, reason: "\(error)")
            }
            guard let map = index["weight_map"]?.object else {
                throw CheckpointError.invalidIndex(file: indexURL.path, reason: "no weight_map object")
            }
            for (tensor, value) in map {
                guard let shard = value.string, !shard.contains("/"), !shard.isEmpty else {
                    throw CheckpointError.invalidIndex(
                        file: indexURL.path, reason: "tensor '\(tensor)' maps to an invalid shard name")
                }
                owner[tensor] = shard
            }
            for shard in Set(owner.values).sorted() {
                let url = directory.appendingPathComponent(shard)
                guard FileManager.default.fileExists(atPath: url.path) else {
                    throw CheckpointError.missingShard(index: indexURL.path, shard: shard)
                }
                shards[shard] = try SafetensorsFile(path: url.path)
            }
            for (tensor, shard) in owner where shards[shard]?.tensors[tensor] == nil {
                throw CheckpointError.tensorNotInShard(tensor: tensor, shard: directory.appendingPathComponent(shard).path)
            }
        } else if FileManager.default.fileExists(atPath: singleURL.path) {
            let file = try SafetensorsFile(path: singleURL.path)
            shards["model.safetensors"] = file
            for name in file.tensors.keys { owner[name] = "model.safetensors" }
        } else {
            throw CheckpointError.noWeights(directory: directory.path)
        }
        self.shards = shards
        shardOfTensor = owner
    }

    /// All tensor names.
    package var tensorNames: [String] { Array(shardOfTensor.keys) }

    /// True when the checkpoint has a tensor of that name.
    package func contains(_ name: String) -> Bool { shardOfTensor[name] != nil }

    /// The shard file and header entry of a tensor.
    package func locate(_ name: String) throws -> (file: SafetensorsFile, info: SafetensorsTensorInfo) {
        guard let shard = shardOfTensor[name], let file = shards[shard], let info = file.tensors[name] else {
            throw CheckpointError.missingTensor(tensor: name, directory: directory.path)
        }
        return (file, info)
    }

    /// A floating-point weight tensor with a required shape.
    package func weight(_ name: String, shape: [Int]) throws -> (file: SafetensorsFile, info: SafetensorsTensorInfo) {
        let (file, info) = try locate(name)
        guard info.dtype.isWeightType else {
            throw CheckpointError.unsupportedDType(tensor: name, shard: file.path, dtype: info.dtype.rawValue)
        }
        guard info.shape == shape else {
            throw CheckpointError.wrongShape(tensor: name, shard: file.path, expected: shape, found: info.shape)
        }
        return (file, info)
    }

    /// Total bytes of tensor data and the number of elements, over all shards.
    package var totals: (bytes: Int, elements: Int) {
        var bytes = 0
        var elements = 0
        for file in shards.values {
            for t in file.tensors.values {
                bytes += t.byteCount
                elements += t.elementCount
            }
        }
        return (bytes, elements)
    }

    /// Bytes of tensor data per dtype.
    package var bytesByDType: [SafetensorsDType: Int] {
        var out: [SafetensorsDType: Int] = [:]
        for file in shards.values { for t in file.tensors.values { out[t.dtype, default: 0] += t.byteCount } }
        return out
    }
}
