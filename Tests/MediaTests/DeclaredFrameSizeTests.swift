import Foundation
import Testing

@testable import Media

@Suite struct DeclaredFrameSizeTests {
    /// PNG signature and an IHDR chunk declaring `width`×`height` (CRC left zero: the size is read before decoding).
    static func pngHeader(width: UInt32, height: UInt32) -> [UInt8] {
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
        for value in [width, height] { bytes += withUnsafeBytes(of: value.bigEndian, Array.init) }
        return bytes + [8, 2, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 0, 0] + Array("IEND".utf8) + [0xAE, 0x42, 0x60, 0x82]
    }

    @Test func headersAreRead() {
        #expect(DeclaredFrameSize.parse(Self.pngHeader(width: 100_000, height: 7))! == (100_000, 7))
        #expect(DeclaredFrameSize.parse(Array("YUV4MPEG2 W100000 H480 F30:1 C420jpeg\nFRAME\n".utf8))! == (100_000, 480))
        #expect(DeclaredFrameSize.parse(Array("YUV4MPEG2 W99999999999999999999999 H4\n".utf8))! == (Int.max, 4))
        #expect(DeclaredFrameSize.parse(Array("YUV4MPEG2 C420\n".utf8)) == nil)
        #expect(DeclaredFrameSize.parse(Array("not an image".utf8)) == nil)
    }

    @Test func oversizedFramesAreRefusedWithTheDeclaredSize() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spotter-declared-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let png = directory.appendingPathComponent("huge.png")
        try Data(Self.pngHeader(width: 100_000, height: 100_000)).write(to: png)
        let y4m = directory.appendingPathComponent("wide.y4m")
        try Data(("YUV4MPEG2 W100000 H2 F30:1 C420jpeg\nFRAME\n" + String(repeating: "\u{10}", count: 64)).utf8).write(to: y4m)
        for (url, size) in [(png, "100000x100000"), (y4m, "100000x2")] {
            #expect {
                _ = try VideoSource(path: url.path)
            } throws: { error in
                "\(error)".contains("unsupported frame size \(size)") && "\(error)".contains(url.path)
            }
        }
    }
}
