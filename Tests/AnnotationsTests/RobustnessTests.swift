import Foundation
import Testing

@testable import Annotations

/// Damaged input must be refused with an `AnnotationError` (or read), never crash.
@Suite struct RobustnessTests {
    static let replacements: [UInt8] = Array("0123456789-.,;:\"{}[]<>/ e\t\n".utf8) + [0xFF, 0x00]

    @Test(arguments: ExchangeTests.goldenNames.map(\.1)) func damagedGoldenFilesNeverCrashTheImporter(_ name: String) throws {
        let original = [UInt8](try Data(contentsOf: fixtureURL(name)))
        let format = try #require(AnnotationFormat.detect(path: name, bytes: original))
        var rng = SeededGenerator(seed: UInt64(original.count))
        var refused = 0
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let index = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[index] = Self.replacements.randomElement(using: &rng)!
                case 1: bytes.remove(at: index)
                default: bytes.removeSubrange(index..<min(bytes.count, index + Int.random(in: 1...40, using: &rng)))
                }
            }
            do {
                var imported = try AnnotationExchange.decode(bytes, path: name, format: format, targetMedia: testVideo())
                imported.clamp(to: imported.media ?? testVideo())
            } catch is AnnotationError {
                refused += 1
            } catch {
                Issue.record("unexpected error type \(type(of: error)): \(error)")
            }
        }
        // Most damage is detected; what is not detected still parsed into something.
        #expect(refused > 0)
    }

    @Test func randomAnswerTextNeverCrashesTheParser() {
        let pieces = [
            "<points", "<tracks", " coords=\"", "\"", ">", "</points>", "</tracks>", " ", ";", "\t", ",", ":", "1", "0.5",
            "999", "1000", "1001", "00", ".", "There are ", "none.", "Counting the ", " shows a total of ", "/", "é",
        ]
        var rng = SeededGenerator(seed: 77)
        let media = testVideo()
        for _ in 0..<3000 {
            let text = (0..<Int.random(in: 0...30, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let answer = Molmo2Answer.parse(text)
            for element in answer.elements {
                for group in element.groups {
                    for point in group.points { #expect(point.x <= 1000 && point.y <= 1000 && point.id > 0) }
                }
            }
            _ = answer.objects(media: media)
            _ = answer.text
        }
    }

    @Test func hostileNumbersAreRefused() throws {
        let huge = #"{"task":"video_point","label":"x","two_fps_timestamps":[1e300],"points":[[{"x":1,"y":1}]]}"#
        let imported = try AnnotationExchange.decode(Array(huge.utf8), path: "h.jsonl", format: .molmo2, targetMedia: testVideo())
        #expect(imported.tracks.first?.entries.first?.frame == 99)
        let mask = #"{"task":"video_point","label":"x","two_fps_timestamps":[1],"points":[{"x":1,"y":1}],"masks":[[{"frame_id":2,"rle":{"size":[4611686018427387904,4],"counts":[1,2]}}]]}"#
        #expect(throws: AnnotationError.self) {
            try AnnotationExchange.decode(Array(mask.utf8), path: "m.jsonl", format: .molmo2, targetMedia: testVideo())
        }
        let media = #"{"spotter":{"media":{"kind":"video","path":"p","byte_size":1,"head_sha256":"","duration":1,"frame_count":900000000000,"width":10,"height":10,"fps":1}}}"#
        #expect(throws: AnnotationError.self) {
            try AnnotationExchange.decode(Array(media.utf8), path: "x.jsonl", format: .molmo2)
        }
        #expect(RLEMask(width: 2, height: 2, compressedCounts: "ooooooooooooo") == nil)
    }
}
