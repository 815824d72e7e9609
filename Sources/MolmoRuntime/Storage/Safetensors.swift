import Basics
import CKernels
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Element types a safetensors header may name.
package enum SafetensorsDType: String, Sendable, CaseIterable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL
    case F8_E4M3, F8_E5M2

    /// Bytes per element.
    package var size: Int {
        switch self {
        case .F64, .I64, .U64: return 8
        case .F32, .I32, .U32: return 4
        case .F16, .BF16, .I16, .U16: return 2
        case .I8, .U8, .BOOL, .F8_E4M3, .F8_E5M2: return 1
        }
    }

    /// True for the floating-point types the runtime converts weights from (F32, BF16, F16).
    package var isWeightType: Bool { self == .F32 || self == .BF16 || self == .F16 }

    var kernelType: Int32? {
        switch self {
        case .F32: return Int32(SPOTTER_F32.rawValue)
        case .BF16: return Int32(SPOTTER_BF16.rawValue)
        case .F16: return Int32(SPOTTER_F16.rawValue)
        default: return nil
        }
    }
}

/// Problems found while opening or validating a safetensors file.
package enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or mapped.
    case unreadable(file: String, reason: String)
    /// The 8-byte length prefix or the JSON header is malformed.
    case invalidHeader(file: String, reason: String)
    /// One tensor entry of the header is malformed or points outside the data.
    case invalidTensor(file: String, tensor: String, reason: String)

    package var description: String {
        switch self {
        case let .unreadable(file, reason): return "\(file): cannot read safetensors file: \(reason)"
        case let .invalidHeader(file, reason): return "\(file): invalid safetensors header: \(reason)"
        case let .invalidTensor(file, tensor, reason): return "\(file): tensor '\(tensor)': \(reason)"
        }
    }
}

/// A read-only memory map of a whole file; unmapped on deinit.
final class MappedFile {
    let path: String
    let base: UnsafeRawPointer
    let size: Int

    init(path: String) throws {
        self.path = path
        // O_NONBLOCK: a FIFO named like a shard must not hang open(2); RegularFile refuses it after fstat.
        let opened: (fd: Int32, size: Int)
        do { opened = try RegularFile.open(path) } catch {
            throw SafetensorsError.unreadable(file: path, reason: "\(error)")
        }
        let fd = opened.fd
        defer { close(fd) }
        size = opened.size
        guard size > 0 else {
            throw SafetensorsError.invalidHeader(file: path, reason: "empty file")
        }
        let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw SafetensorsError.unreadable(file: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapped)
    }

    /// Asks the kernel to start reading the pages of a range ahead of use.
    func prefetch(offset: Int, count: Int) { advise(MADV_WILLNEED, offset: offset, count: count) }

    /// Tells the kernel the pages of `range` are no longer needed by this process (they stay in the page cache).
    func release(offset: Int, count: Int) { advise(MADV_DONTNEED, offset: offset, count: count) }

    /// `madvise` over the pages that hold bytes [offset, offset + count).
    private func advise(_ advice: Int32, offset: Int, count: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (offset / page) * page
        let end = min(size, offset + count)
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, advice)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }
}

/// One tensor entry of a safetensors header (offsets are absolute file offsets).
package struct SafetensorsTensorInfo: Sendable, Equatable {
    /// Tensor name.
    package let name: String
    /// Element type.
    package let dtype: SafetensorsDType
    /// Dimensions.
    package let shape: [Int]
    /// First byte in the file.
    package let fileOffset: Int
    /// Number of bytes.
    package let byteCount: Int

    /// Number of elements.
    package var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file whose header has been fully validated: size limit, JSON, known dtypes,
/// shape × dtype size = byte range, ranges inside the file, and ranges tiling the data area without overlap or holes.
package final class SafetensorsFile {
    /// Largest header accepted (as the reference implementation).
    package static let maxHeaderBytes = 100_000_000

    /// Path of the file.
    package let path: String
    /// Tensor entries by name.
    package let tensors: [String: SafetensorsTensorInfo]
    /// The optional `__metadata__` string map.
    package let metadata: [String: String]
    let file: MappedFile

    /// Opens and validates `path`.
    package init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        (tensors, metadata) = try SafetensorsFile.parseHeader(base: file.base, size: file.size, path: path)
    }

    /// Raw bytes of a tensor (valid while this object lives).
    package func bytes(of info: SafetensorsTensorInfo) -> UnsafeRawPointer { file.base + info.fileOffset }

    /// Starts reading a tensor's pages ahead of conversion.
    package func prefetch(_ info: SafetensorsTensorInfo) { file.prefetch(offset: info.fileOffset, count: info.byteCount) }

    /// Lets the kernel drop this process's mapping of a tensor's pages after conversion.
    package func release(_ info: SafetensorsTensorInfo) { file.release(offset: info.fileOffset, count: info.byteCount) }

    /// Reads a tensor as fp32 (F32/BF16/F16 only).
    package func floats(_ name: String) throws -> [Float] {
        try converted(name, spotter_convert_to_f32)
    }

    /// Reads a tensor (F32/BF16/F16) as bfloat16 bit patterns, rounding fp32 to nearest even as the runtime's
    /// bf16 weight format does.
    package func bfloat16Bits(_ name: String) throws -> [UInt16] {
        try converted(name, spotter_convert_to_bf16)
    }

    /// A float tensor's elements converted by one of CKernels' `spotter_convert_to_*` functions.
    private func converted<Element: Numeric>(
        _ name: String,
        _ convert: (UnsafeRawPointer?, Int32, Int, UnsafeMutablePointer<Element>?) -> Void
    ) throws -> [Element] {
        let info = try entry(name)
        guard let kt = info.dtype.kernelType else {
            throw SafetensorsError.invalidTensor(file: path, tensor: name, reason: "dtype \(info.dtype) is not a float type")
        }
        var out = [Element](repeating: 0, count: info.elementCount)
        out.withUnsafeMutableBufferPointer { dst in convert(bytes(of: info), kt, info.elementCount, dst.baseAddress!) }
        return out
    }

    private func entry(_ name: String) throws -> SafetensorsTensorInfo {
        guard let info = tensors[name] else {
            throw SafetensorsError.invalidTensor(file: path, tensor: name, reason: "not in this file")
        }
        return info
    }

    /// Reads an integer tensor (I64/I32/I16/I8/U8/U16/U32) as Int.
    package func integers(_ name: String) throws -> [Int] {
        let info = try entry(name)
        let p = bytes(of: info)
        let n = info.elementCount
        switch info.dtype {
        case .I64: return (0..<n).map { Int(p.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        case .I32: return (0..<n).map { Int(p.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        case .U32: return (0..<n).map { Int(p.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
        case .I16: return (0..<n).map { Int(p.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)) }
        case .U16: return (0..<n).map { Int(p.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) }
        case .I8: return (0..<n).map { Int(p.load(fromByteOffset: $0, as: Int8.self)) }
        case .U8, .BOOL: return (0..<n).map { Int(p.load(fromByteOffset: $0, as: UInt8.self)) }
        default:
            throw SafetensorsError.invalidTensor(file: path, tensor: name, reason: "dtype \(info.dtype) is not an integer type")
        }
    }

    package static func parseHeader(base: UnsafeRawPointer, size: Int, path: String) throws
        -> ([String: SafetensorsTensorInfo], [String: String])
    {
        guard size >= 8 else { throw SafetensorsError.invalidHeader(file: path, reason: "file shorter than 8 bytes") }
        let headerLength = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(maxHeaderBytes) else {
            throw SafetensorsError.invalidHeader(
                file: path, reason: "header length \(headerLength) exceeds the \(maxHeaderBytes)-byte limit")
        }
        guard headerLength >= 2, 8 + Int(headerLength) <= size else {
            throw SafetensorsError.invalidHeader(
                file: path, reason: "header length \(headerLength) does not fit a \(size)-byte file")
        }
        let dataStart = 8 + Int(headerLength)
        guard base.load(fromByteOffset: 8, as: UInt8.self) == UInt8(ascii: "{") else {
            throw SafetensorsError.invalidHeader(file: path, reason: "header does not start with '{'")
        }
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(UnsafeRawBufferPointer(start: base + 8, count: Int(headerLength)))
        } catch {
            throw SafetensorsError.invalidHeader(file: path, reason: "header is not valid JSON (\(error))")
        }
        guard let dict = parsed.object else {
            throw SafetensorsError.invalidHeader(file: path, reason: "header is not a JSON object")
        }
        var tensors: [String: SafetensorsTensorInfo] = [:]
        var metadata: [String: String] = [:]
        let dataSize = size - dataStart
        for (name, value) in dict {
            if name == "__metadata__" {
                guard let meta = value.object else {
                    throw SafetensorsError.invalidHeader(file: path, reason: "__metadata__ is not an object")
                }
                for (k, v) in meta {
                    guard let s = v.string else {
                        throw SafetensorsError.invalidHeader(file: path, reason: "__metadata__ value '\(k)' is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            func bad(_ reason: String) -> SafetensorsError {
                .invalidTensor(file: path, tensor: name, reason: reason)
            }
            guard let entry = value.object else { throw bad("entry is not an object") }
            guard let dtypeName = entry["dtype"]?.string else { throw bad("missing dtype") }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else { throw bad("unknown dtype '\(dtypeName)'") }
            guard let shapeAny = entry["shape"]?.array else { throw bad("missing shape") }
            var shape: [Int] = []
            var elements = 1
            for d in shapeAny {
                guard case let .int(n) = d, n >= 0 else { throw bad("shape entries must be non-negative integers") }
                shape.append(n)
                let (m, overflow) = elements.multipliedReportingOverflow(by: n)
                guard !overflow else { throw bad("shape \(shape) overflows") }
                elements = m
            }
            guard let offsets = entry["data_offsets"]?.array, offsets.count == 2,
                case let .int(begin) = offsets[0], case let .int(end) = offsets[1]
            else { throw bad("data_offsets must be two integers") }
            guard begin >= 0, end >= begin else { throw bad("data_offsets [\(begin), \(end)] are not ordered") }
            guard end <= dataSize else {
                throw bad("data_offsets [\(begin), \(end)] run past the \(dataSize)-byte data area")
            }
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, bytes == end - begin else {
                throw bad("shape \(shape) × \(dtype) is \(bytes) bytes but data_offsets span \(end - begin)")
            }
            tensors[name] = SafetensorsTensorInfo(
                name: name, dtype: dtype, shape: shape, fileOffset: dataStart + begin, byteCount: end - begin)
        }
        // The data area must be tiled exactly: no overlaps, no holes.
        let ordered = tensors.values.sorted {
            ($0.fileOffset, $0.byteCount, $0.name) < ($1.fileOffset, $1.byteCount, $1.name)
        }
        var cursor = dataStart
        var previous = "(start of data)"
        for t in ordered {
            if t.fileOffset < cursor {
                throw SafetensorsError.invalidTensor(
                    file: path, tensor: t.name, reason: "byte range overlaps tensor '\(previous)'")
            }
            if t.fileOffset > cursor {
                throw SafetensorsError.invalidTensor(
                    file: path, tensor: t.name, reason: "gap of \(t.fileOffset - cursor) bytes before this tensor")
            }
            cursor = t.fileOffset + t.byteCount
            previous = t.name
        }
        if cursor != size {
            throw SafetensorsError.invalidHeader(
                file: path, reason: "\(size - cursor) bytes after the last tensor are not described by the header")
        }
        return (tensors, metadata)
    }
}

