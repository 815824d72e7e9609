import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file that could not be read or written, with the path and the operating system's reason.
package struct FileIOError: Error, CustomStringConvertible, Equatable, Sendable {
    package var path: String
    package var reason: String

    package init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    package var description: String { "\(path): \(reason)" }
}

/// Writes a file through a temporary file in the same directory, fsyncs it and renames it over the target, so
/// readers see the old file or the complete new one, never a partial one. Not committing removes the temporary file.
package final class AtomicFileWriter {
    package let path: String
    private let temporaryPath: String
    private var descriptor: Int32
    private var finished = false

    package init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        temporaryPath =
            url.deletingLastPathComponent().appendingPathComponent(
                ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            ).path
        descriptor = posixOpen(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw FileIOError(path: path, reason: "cannot create a temporary file: \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        if !finished {
            _ = posixClose(descriptor)
            _ = unlink(temporaryPath)
        }
    }

    /// Writes `bytes` to the temporary file (straight from the caller's buffer, no copy).
    package func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = posixWrite(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw FileIOError(path: path, reason: "write failed: \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
    }

    /// Fsyncs and renames over the target.
    package func commit() throws {
        guard fsync(descriptor) == 0 else {
            throw FileIOError(path: path, reason: "fsync failed: \(String(cString: strerror(errno)))")
        }
        _ = posixClose(descriptor)
        finished = true
        guard rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            _ = unlink(temporaryPath)
            throw FileIOError(path: path, reason: "cannot move the written file into place: \(reason)")
        }
        let directory = posixOpen(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            _ = posixClose(directory)
        }
    }

    /// Writes `bytes` to `path` atomically.
    package static func write(_ bytes: [UInt8], to path: String) throws {
        let writer = try AtomicFileWriter(path: path)
        try writer.write(bytes)
        try writer.commit()
    }
}

private func posixOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 { open(path, flags, mode) }
private func posixClose(_ descriptor: Int32) -> Int32 { close(descriptor) }
private func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(descriptor, bytes, count) }

/// Reads a whole file.
package func readFileBytes(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw FileIOError(path: path, reason: "cannot read the file")
    }
    return [UInt8](data)
}
