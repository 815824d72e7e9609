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

    /// `path` may be a symlink: the file it points to is replaced and the link stays (the temporary file is made
    /// next to the target, so the rename stays within one file system).
    package init(path: String) throws {
        let target = try Self.resolveSymlinks(path)
        self.path = target
        let url = URL(fileURLWithPath: target)
        Self.removeStaleTemporaries(of: target)
        temporaryPath =
            url.deletingLastPathComponent().appendingPathComponent(
                Self.temporaryPrefix(of: target) + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
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

    /// `.NAME.tmp-`: the start of every temporary file name made for `path` (then the writer's pid and a random tag).
    static func temporaryPrefix(of path: String) -> String {
        ".\(URL(fileURLWithPath: path).lastPathComponent).tmp-"
    }

    /// Removes temporary files of `path` left by writers that were killed (their process no longer exists), so an
    /// export interrupted by SIGKILL or a power cut leaves nothing behind after the next run.
    static func removeStaleTemporaries(of path: String) {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let prefix = temporaryPrefix(of: path)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count).split(separator: "-")
            guard rest.count == 2, let pid = Int32(rest[0]), pid > 0, UInt32(rest[1]) != nil else { continue }
            if pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                _ = unlink(directory + "/" + name)
            }
        }
    }

    /// The file a path finally names, following symlinks (also dangling ones, whose target is then created).
    static func resolveSymlinks(_ path: String) throws -> String {
        var current = path
        for _ in 0..<40 {
            var st = stat()
            guard lstat(current, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n > 0 else { return current }
            let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = link.hasPrefix("/")
                ? link : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(link).path
        }
        throw FileIOError(path: path, reason: "too many levels of symbolic links")
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

/// Largest annotation file read (an export of 100k frames × 100 tracks is ~500 MB of JSON).
package let maximumAnnotationFileBytes = 1 << 30

/// Reads a whole regular file of at most `limit` bytes without ever blocking (`RegularFile`: a FIFO or a device
/// named like the file is refused before a byte is read).
package func readFileBytes(_ path: String, limit: Int = maximumAnnotationFileBytes) throws -> [UInt8] {
    do {
        return [UInt8](try RegularFile.read(path, limit: limit))
    } catch let refusal as RegularFile.Refusal {
        throw FileIOError(path: path, reason: "cannot read the file: \(refusal.reason)")
    }
}
