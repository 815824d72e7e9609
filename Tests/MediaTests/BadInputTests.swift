import Basics
import Foundation
import Testing

@testable import Media

@Suite("Bad input gives a one-line MediaError naming the file")
struct BadInputTests {
    /// Each bad fixture and the kind of error it must produce.
    static let badFiles: [(String, String)] = [
        ("truncated_no_moov.mp4", "cannotOpen"),
        ("random_bytes.mp4", "cannotOpen"),
        ("empty.mp4", "cannotOpen"),
        ("not_a_video.txt", "cannotOpen"),
        ("undecodable.mp4", "noDecodableFrames"),
        ("huge_dimensions.y4m", "invalidDimensions"),
        ("zero_width.y4m", "invalidDimensions"),
    ]

    static func kind(of error: MediaError) -> String {
        switch error {
        case .fileNotFound: return "fileNotFound"
        case .notARegularFile: return "notARegularFile"
        case .unreadable: return "unreadable"
        case .cannotOpen: return "cannotOpen"
        case .noVideoStream: return "noVideoStream"
        case .unsupportedCodec: return "unsupportedCodec"
        case .invalidDimensions: return "invalidDimensions"
        case .noFrames: return "noFrames"
        case .noDecodableFrames: return "noDecodableFrames"
        case .frameIndexOutOfRange: return "frameIndexOutOfRange"
        case .invalidOutputSize: return "invalidOutputSize"
        case .frameNotDecodable: return "frameNotDecodable"
        case .decoderFailure: return "decoderFailure"
        case .invalidImageBuffer: return "invalidImageBuffer"
        case .writeFailed: return "writeFailed"
        }
    }

    static func expectOneLineError(_ error: MediaError, naming path: String) {
        let text = error.description
        #expect(text.hasPrefix(path + ": "), "\(text)")
        #expect(!text.contains("\n"))
        #expect(text.count > path.count + 4)
    }

    /// Opens `path` expecting a MediaError of the given kind.
    static func expectOpenFails(_ path: String, kind expectedKind: String) {
        do {
            let source = try VideoSource(path: path)
            Issue.record("\(path) opened with \(source.frameCount) frames")
        } catch let error as MediaError {
            #expect(kind(of: error) == expectedKind, "\(error)")
            expectOneLineError(error, naming: path)
        } catch {
            Issue.record("\(path): unexpected error type \(error)")
        }
    }

    @Test("opening a bad file throws the right error", arguments: badFiles)
    func badFileThrows(name: String, expectedKind: String) {
        BadInputTests.expectOpenFails(TestPaths.fixture(name), kind: expectedKind)
    }

    @Test func missingFile() {
        BadInputTests.expectOpenFails(TestPaths.fixture("does_not_exist.mp4"), kind: "fileNotFound")
        BadInputTests.expectOpenFails(TestPaths.fixture("empty.mp4/inside.mp4"), kind: "fileNotFound")
    }

    @Test func directory() {
        BadInputTests.expectOpenFails(TestPaths.fixtures.path, kind: "notARegularFile")
    }

    @Test func frameOutOfRangeAndBadSizes() throws {
        let path = TestPaths.fixture("numbered_h264.mp4")
        let source = try VideoSource(path: path)
        for (index, width, height, kind) in [
            (-1, 16, 16, "frameIndexOutOfRange"), (90, 16, 16, "frameIndexOutOfRange"),
            (0, 0, 16, "invalidOutputSize"), (0, 16, -3, "invalidOutputSize"),
            (0, 16385, 16, "invalidOutputSize"),
        ] {
            do {
                _ = try source.frame(at: index, width: width, height: height)
                Issue.record("frame \(index) at \(width)x\(height) did not throw")
            } catch let error as MediaError {
                #expect(BadInputTests.kind(of: error) == kind)
                BadInputTests.expectOneLineError(error, naming: path)
            }
        }
        // The source is still usable after rejected requests.
        #expect(decodeFrameNumber(try source.frame(at: 10)) == 10)
    }

    @Test("a file cut short decodes what is there and reports the rest")
    func truncatedTail() throws {
        let path = TestPaths.fixture("truncated_tail.mp4")
        let expected = try #require(Expectations.all["truncated_tail.mp4"])
        let source = try VideoSource(path: path)
        #expect(source.frameCount <= 90)
        #expect(source.frameCount >= expected.frame_count)
        var decoded = 0
        var generator = SplitMix64(seed: 3)
        for index in Array(0..<source.frameCount).shuffled(using: &generator) {
            do {
                let frame = try source.frame(at: index)
                if let number = decodeFrameNumber(frame) {
                    #expect(number == index)
                }
                decoded += 1
            } catch let error as MediaError {
                #expect(BadInputTests.kind(of: error) == "frameNotDecodable", "\(error)")
                BadInputTests.expectOneLineError(error, naming: path)
            }
        }
        // ffprobe decodes this many frames from the same file; we must not do worse.
        #expect(decoded >= expected.frame_count)
        // The frames before the cut decode to their own numbers.
        for index in 0..<min(20, expected.frame_count) {
            #expect(decodeFrameNumber(try source.frame(at: index)) == index)
        }
    }

    @Test("a corrupt packet mid-stream leaves the other frames intact")
    func corruptPacket() throws {
        let path = TestPaths.fixture("corrupt_packet.mp4")
        let source = try VideoSource(path: path)
        #expect(source.frameCount == 90)
        var failures = 0
        var wrong = 0
        var generator = SplitMix64(seed: 5)
        for index in Array(0..<source.frameCount).shuffled(using: &generator) {
            do {
                let frame = try source.frame(at: index)
                if decodeFrameNumber(frame) != index { wrong += 1 }
            } catch let error as MediaError {
                failures += 1
                #expect(BadInputTests.kind(of: error) == "frameNotDecodable", "\(error)")
                BadInputTests.expectOneLineError(error, naming: path)
                #expect(error.description.contains("frame \(index)"))
            }
        }
        // The damaged packet is in the third GOP (frames 48...71); the other GOPs are untouched.
        for index in Array(0..<48) + Array(72..<90) {
            #expect(decodeFrameNumber(try source.frame(at: index)) == index)
        }
        #expect(failures + wrong <= 24)
        #expect(failures >= 1)  // ffprobe also loses one frame of this file
    }
}
