import Basics
import Foundation
import Testing

@testable import Media

/// Frame-numbered fixtures: every frame shows its own presentation index.
let numberedFixtures = [
    "numbered_h264.mp4", "numbered_vp9.webm", "numbered_h264.mkv", "numbered_h264.ts",
    "numbered_raw.h264", "numbered.gif", "numbered_vfr.mp4", "numbered_gaps.mp4", "rotated90.mp4",
]

@Suite("VideoSource on frame-numbered fixtures")
struct NumberedFixtureTests {
    @Test("frame count and timestamps match ffprobe", arguments: numberedFixtures)
    func countAndTimestamps(name: String) throws {
        let expected = try #require(Expectations.all[name])
        let source = try VideoSource(path: TestPaths.fixture(name))
        #expect(source.frameCount == expected.frame_count)
        #expect(source.info.frameCount == expected.frame_count)
        #expect(source.info.frameCountIsExact)
        // ffprobe reports the coded size; frames come upright, so a quarter turn swaps the displayed size.
        #expect(source.info.codedWidth == expected.width)
        #expect(source.info.codedHeight == expected.height)
        let turned = abs(expected.ffprobe_rotation) % 180 == 90
        #expect(source.info.width == (turned ? expected.height : expected.width))
        #expect(source.info.height == (turned ? expected.width : expected.height))
        #expect(source.info.codec == expected.codec)
        #expect(source.info.containerFormat == expected.format)
        #expect(source.info.hasBFrames == expected.has_b_frames)
        #expect(source.info.rotation == expected.ffprobe_rotation)
        #expect(source.frameTimestamps.first == 0)
        // Raw elementary streams carry no packet timestamps and are indexed by decoding.
        #expect(source.info.indexMethod == (name.hasSuffix(".h264") ? "decoding" : "packets"))
        #expect(source.keyframeIndices == expected.key_frames.indices.filter { expected.key_frames[$0] != 0 })
        if let times = expected.relativeTimestamps {
            #expect(source.frameTimestamps.count == times.count)
            for (index, (actual, wanted)) in zip(source.frameTimestamps, times).enumerated() {
                #expect(abs(actual - wanted) < 1e-9, "frame \(index): \(actual) vs \(wanted)")
            }
        } else {
            // No timestamps at all (raw elementary stream): frames are spaced by the nominal rate.
            let fps = source.info.fps.doubleValue
            #expect(fps > 0)
            for (index, actual) in source.frameTimestamps.enumerated() {
                #expect(abs(actual - Double(index) / fps) < 1e-9)
            }
        }
        #expect(zip(source.frameTimestamps, source.frameTimestamps.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test("every index, in shuffled order, shows its own number", arguments: numberedFixtures)
    func randomAccessEveryIndex(name: String) throws {
        let source = try VideoSource(path: TestPaths.fixture(name))
        var generator = SplitMix64(seed: 42)
        let order = Array(0..<source.frameCount).shuffled(using: &generator)
        for index in order {
            let frame = try source.frame(at: index)
            #expect(frame.index == index)
            #expect(frame.timestamp == source.frameTimestamps[index])
            #expect(decodeFrameNumber(coded(frame, rotation: source.info.rotation)) == index, "\(name) frame \(index)")
        }
    }

    /// A display-matrix rotation of 90 degrees counter-clockwise (ffmpeg's `rotate=90` tag, ffprobe's
    /// rotation 90) is applied when decoding: the frame is portrait, and turning it back clockwise gives the coded
    /// picture with its number grid in place; left as coded, the grid would not read.
    @Test func rotatedVideoIsDecodedUpright() throws {
        let source = try VideoSource(path: TestPaths.fixture("rotated90.mp4"))
        #expect(source.info.rotation == 90)
        #expect(source.info.width == 96 && source.info.height == 160)
        let frame = try source.frame(at: 3)
        #expect(frame.width == 96 && frame.height == 160)
        #expect(decodeFrameNumber(coded(frame, rotation: 90)) == 3)
        // Scaled requests are in display orientation too.
        let small = try source.frame(at: 4, width: 48, height: 80)
        #expect(small.width == 48 && small.height == 80)
        #expect(decodeFrameNumber(coded(small, rotation: 90)) == 4)
        // Turning the wrong way round does not read: the test tells the two directions apart.
        #expect(decodeFrameNumber(coded(frame, rotation: -90)) == nil)
    }

    @Test("stepping forward decodes one picture per step and never seeks", arguments: numberedFixtures)
    func sequentialStepping(name: String) throws {
        let source = try VideoSource(path: TestPaths.fixture(name))
        let random = try VideoSource(path: TestPaths.fixture(name))
        _ = try source.frame(at: 0)
        let seeksBefore = source.statistics.seeks
        let rewindsBefore = source.statistics.rewinds
        var generator = SplitMix64(seed: 7)
        for index in 1..<source.frameCount {
            let decodedBefore = source.statistics.framesDecoded
            let frame = try source.frame(at: index)
            #expect(source.statistics.framesDecoded == decodedBefore + 1, "\(name) step to \(index)")
            #expect(decodeFrameNumber(coded(frame, rotation: source.info.rotation)) == index)
            // Sequential and random access give byte-identical pictures.
            if Int.random(in: 0..<4, using: &generator) == 0 {
                let direct = try random.frame(at: index)
                #expect(direct.pixels == frame.pixels, "\(name) frame \(index)")
            }
        }
        #expect(source.statistics.seeks == seeksBefore)
        #expect(source.statistics.rewinds == rewindsBefore)
    }

    @Test("scaled frames keep the content", arguments: ["numbered_h264.mp4", "numbered_vp9.webm", "numbered.gif"])
    func scaledFrames(name: String) throws {
        let source = try VideoSource(path: TestPaths.fixture(name))
        for index in [source.frameCount - 1, 3, 17] {
            let frame = try source.frame(at: index, width: 80, height: 48)
            #expect(frame.width == 80 && frame.height == 48)
            #expect(frame.pixels.count == 80 * 48 * 3)
            #expect(decodeFrameNumber(frame) == index)
        }
        let large = try source.frame(at: 5, width: 321, height: 197)
        #expect(large.pixels.count == 321 * 197 * 3)
        #expect(decodeFrameNumber(large) == 5)
    }

    @Test("time to frame lookups on a variable-frame-rate file")
    func timeLookups() throws {
        let source = try VideoSource(path: TestPaths.fixture("numbered_vfr.mp4"))
        let times = source.frameTimestamps
        for index in [0, 1, 5, 44, 89] {
            #expect(source.frameIndex(nearestTo: times[index]) == index)
            #expect(source.frameIndex(displayedAt: times[index]) == index)
        }
        // Between frames 10 and 11: "displayed at" is the earlier one, "nearest" depends on the side.
        let gapStart = times[10]
        let gapEnd = times[11]
        let nearEnd = gapEnd - (gapEnd - gapStart) * 0.25
        #expect(source.frameIndex(displayedAt: nearEnd) == 10)
        #expect(source.frameIndex(nearestTo: nearEnd) == 11)
        #expect(source.frameIndex(nearestTo: gapStart + (gapEnd - gapStart) * 0.25) == 10)
        #expect(source.frameIndex(nearestTo: -5) == 0)
        #expect(source.frameIndex(nearestTo: 1e9) == 89)
        #expect(source.frameIndex(displayedAt: -1) == 0)
        #expect(source.frameIndex(nearestTo: .nan) == 0)
    }

    @Test("VideoInfo survives a JSON round trip")
    func infoCodable() throws {
        let info = try VideoSource(path: TestPaths.fixture("numbered_h264.ts")).info
        #expect(info.startTime > 1.4 && info.startTime < 1.5)
        let decoded = try JSONDecoder().decode(VideoInfo.self, from: JSONEncoder().encode(info))
        #expect(decoded == info)
    }
}
