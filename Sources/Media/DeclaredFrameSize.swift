import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The frame size a PNG or YUV4MPEG2 file declares in its header, read before FFmpeg opens it: FFmpeg refuses
/// oversized frames with an unrelated message ("0x0", "Device or resource busy"), so such files are refused here with
/// the size they declare.
enum DeclaredFrameSize {
    /// (width, height) from the first bytes of `path`, or nil when the format is not one this reads.
    static func read(path: String) -> (width: Int, height: Int)? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 256)
        let n = header.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return parse(Array(header[0..<n]))
    }

    /// Parses a PNG IHDR or a YUV4MPEG2 stream header.
    static func parse(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if bytes.count >= 24, Array(bytes[0..<8]) == png, Array(bytes[12..<16]) == Array("IHDR".utf8) {
            func be32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
            return (be32(16), be32(20))
        }
        let magic = Array("YUV4MPEG2 ".utf8)
        if bytes.count > magic.count, Array(bytes[0..<magic.count]) == magic {
            let line = bytes[magic.count...].prefix { $0 != 0x0A }
            var width: Int?
            var height: Int?
            for field in line.split(separator: 0x20) where field.count > 1 {
                let value = Int(String(decoding: field.dropFirst(), as: UTF8.self)) ?? Int.max
                if field.first == UInt8(ascii: "W") { width = value }
                if field.first == UInt8(ascii: "H") { height = value }
            }
            if let width, let height { return (width, height) }
            return nil
        }
        return nil
    }
}
