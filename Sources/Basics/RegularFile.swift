import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads checkpoint side files (configs, tokenizer, index) without ever blocking: the file is opened with
/// `O_NONBLOCK`, so a FIFO or a device named like a config cannot hang `open(2)`, and anything that is not a regular
/// file, or is larger than `limit`, is refused before a byte is read.
package enum RegularFile {
    /// Largest JSON side file read (tokenizer.json of Molmo2 is ~11 MB).
    package static let defaultLimit = 256 << 20

    /// Why a file was refused.
    package struct Refusal: Error, CustomStringConvertible {
        package var reason: String
        package var description: String { reason }
    }

    /// True when `path` exists and is a regular file (after symlinks), checked without opening it.
    package static func isRegular(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Opens `path` read-only without blocking and checks it is a regular file; returns the descriptor and size.
    package static func open(_ path: String) throws -> (fd: Int32, size: Int) {
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Refusal(reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Refusal(reason: reason)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw Refusal(reason: "not a regular file")
        }
        return (fd, Int(st.st_size))
    }

    /// The whole contents of a regular file of at most `limit` bytes.
    package static func read(_ path: String, limit: Int = defaultLimit) throws -> Data {
        let (fd, size) = try open(path)
        defer { close(fd) }
        guard size <= limit else { throw Refusal(reason: "\(size) bytes exceeds the \(limit)-byte limit") }
        var data = Data(count: size)
        var done = 0
        try data.withUnsafeMutableBytes { (buffer: UnsafeMutableRawBufferPointer) in
            while done < size {
                let n = Glibc.read(fd, buffer.baseAddress! + done, size - done)
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    throw Refusal(reason: String(cString: strerror(errno)))
                }
                if n == 0 { break }
                done += n
            }
        }
        if done < size { data.count = done }
        return data
    }
}
