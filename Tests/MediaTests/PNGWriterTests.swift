import Basics
import Foundation
import Testing

@testable import Media

@Suite("PNG writing")
struct PNGWriterTests {
    private func temporaryPath(_ name: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spotter-media-tests-\(getpid())", isDirectory: true)
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent(name).path
    }

    /// Writes `rgb`, reopens it as a one-frame source and compares every byte.
    private func roundTrip(width: Int, height: Int, rgb: [UInt8], name: String) throws {
        let path = temporaryPath(name)
        try PNGWriter.write(path: path, width: width, height: height, rgb: rgb)
        let source = try VideoSource(path: path)
        #expect(source.info.isStillImage)
        #expect(source.info.codec == "png")
        #expect(source.frameCount == 1)
        #expect(source.info.width == width && source.info.height == height)
        let frame = try source.frame(at: 0)
        #expect(frame.pixels == rgb)
        try? FileManager.default.removeItem(atPath: path)
    }

    @Test("round trip: gradients, noise, flat areas, odd sizes")
    func roundTrips() throws {
        var generator = SplitMix64(seed: 11)
        for (width, height) in [(1, 1), (3, 2), (17, 9), (160, 96), (333, 101)] {
            var rgb = [UInt8](repeating: 0, count: width * height * 3)
            for y in 0..<height {
                for x in 0..<width {
                    let offset = (y * width + x) * 3
                    rgb[offset] = UInt8((x * 255) / max(1, width - 1))
                    rgb[offset + 1] = y < height / 2 ? 40 : UInt8.random(in: 0...255, using: &generator)
                    rgb[offset + 2] = UInt8((x ^ y) & 0xFF)
                }
            }
            try roundTrip(width: width, height: height, rgb: rgb, name: "trip_\(width)x\(height).png")
        }
        // Long runs exercise the maximum match length and distances near the window size.
        let long = [UInt8](repeating: 200, count: 600 * 80 * 3)
        try roundTrip(width: 600, height: 80, rgb: long, name: "flat.png")
    }

    @Test("a decoded video frame written as PNG reads back identically")
    func videoFrameRoundTrip() throws {
        let source = try VideoSource(path: TestPaths.samples.appendingPathComponent("shapes.mp4").path)
        let frame = try source.frame(at: 42)
        let path = temporaryPath("shapes_42.png")
        try PNGWriter.write(frame, to: path)
        let bytes = try #require(FileManager.default.contents(atPath: path))
        // Compressed well below the raw size, proving the DEFLATE stream is not stored blocks.
        #expect(bytes.count < frame.pixels.count / 2)
        let reread = try VideoSource(path: path).frame(at: 0)
        #expect(reread.pixels == frame.pixels)
        try? FileManager.default.removeItem(atPath: path)
    }

    @Test("the committed PNG stills decode like the encoder's output")
    func encoderIsDeterministic() throws {
        let rgb = (0..<(64 * 64 * 3)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let first = try PNGWriter.encode(width: 64, height: 64, rgb: rgb)
        let second = try PNGWriter.encode(width: 64, height: 64, rgb: rgb)
        #expect(first == second)
        #expect(Array(first.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    @Test("bad buffers and unwritable paths throw MediaError")
    func errors() {
        #expect(throws: MediaError.self) { try PNGWriter.encode(width: 4, height: 4, rgb: [1, 2, 3]) }
        #expect(throws: MediaError.self) { try PNGWriter.encode(width: 0, height: 4, rgb: []) }
        let path = "/nonexistent-directory/out.png"
        do {
            try PNGWriter.write(path: path, width: 1, height: 1, rgb: [0, 0, 0])
            Issue.record("write to a missing directory succeeded")
        } catch let error as MediaError {
            #expect(error.description.hasPrefix(path + ": "))
            #expect(!error.description.contains("\n"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("a failed write leaves no file behind and an existing file intact")
    func atomicReplace() throws {
        let path = temporaryPath("replace.png")
        try PNGWriter.write(path: path, width: 2, height: 1, rgb: [1, 2, 3, 4, 5, 6])
        #expect(throws: MediaError.self) { try PNGWriter.write(path: path, width: 2, height: 2, rgb: [1]) }
        let kept = try VideoSource(path: path).frame(at: 0)
        #expect(kept.pixels == [1, 2, 3, 4, 5, 6])
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
        try? FileManager.default.removeItem(atPath: path)
    }
}
