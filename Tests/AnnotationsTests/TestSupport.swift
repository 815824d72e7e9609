import Foundation
import Testing

@testable import Annotations

/// A fresh temporary directory, removed when the test's scope ends via `defer`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("spotter-annotations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// A small video description that needs no file (fingerprint fields are made up but fixed).
func testVideo(
    frameCount: Int = 100, width: Int = 640, height: Int = 480, fps: Double = 10, path: String = "clip.mp4"
) -> MediaDescriptor {
    MediaDescriptor(
        kind: .video, path: path, byteSize: 123_456, headSHA256: String(repeating: "ab", count: 32),
        duration: Double(frameCount) / fps, frameCount: frameCount, width: width, height: height, fps: fps,
        frameTimestamps: (0..<frameCount).map { Double($0) / fps })
}

/// Location of a fixture file in Tests/AnnotationsTests/Fixtures.
func fixtureURL(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
}

/// A deterministic pseudo-random generator (SplitMix64) for property-based tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
