import Annotations
import Assist
import Basics
import Testing

/// Asking (the viewer's request builder and `spotter ask`) and exporting (the project's media description) must
/// name the same frames for the same video and settings: the frames an export says the model saw are the frames
/// it was shown.
@Suite struct FrameSamplingAgreementTests {
    static let rates: [Double] = [24000.0 / 1001, 24, 25, 30000.0 / 1001, 30, 50, 60000.0 / 1001, 60, 12.5, 7, 1]
    static let frameCounts = [1, 2, 3, 7, 48, 100, 241, 1000, 5362, 21_601, 86_400]
    static let maxRates: [Double] = [1, 2, 4]
    static let maxFrameCounts = [2, 8, 13, 64, 128, 384]

    @Test func askingAndExportingPickTheSameFramesAcrossTheGrid() throws {
        var settings = 0
        for fps in Self.rates {
            for frameCount in Self.frameCounts {
                let timestamps = (0..<frameCount).map { Double($0) / fps }
                let duration = Double(frameCount) / fps
                let media = MediaDescriptor(
                    kind: .video, path: "grid.mp4", byteSize: 0, headSHA256: "", duration: duration,
                    frameCount: frameCount, width: 64, height: 48, fps: fps, frameTimestamps: timestamps)
                for maxFPS in Self.maxRates {
                    for maxFrames in Self.maxFrameCounts {
                        settings += 1
                        let exported = FrameSampling.molmo2UniformLastFrame(
                            duration: media.duration, frameTimestamps: media.allFrameTimes, maxFrames: maxFrames,
                            maxFPS: maxFPS)
                        let viewer = try #require(
                            GroundingRequest.sampling(
                                range: 0...(frameCount - 1), frameTimestamps: timestamps, duration: duration,
                                maxFPS: maxFPS, maxFrames: maxFrames))
                        let cli = MolmoFrameSampler.sample(
                            frameTimestamps: timestamps, duration: duration, maxFPS: maxFPS, maxFrames: maxFrames)
                        guard exported.frames == viewer.frames, exported.frames == cli.frameIndices,
                            exported.times == viewer.times, exported.times == cli.timestamps
                        else {
                            Issue.record("fps \(fps), \(frameCount) frames, max \(maxFPS) fps, \(maxFrames) frames disagree")
                            return
                        }
                        // Every sampled frame exists and the frames never go backwards.
                        #expect(exported.frames.allSatisfy { $0 >= 0 && $0 < frameCount })
                        #expect(zip(exported.frames, exported.frames.dropFirst()).allSatisfy { $0 <= $1 })
                    }
                }
            }
        }
        #expect(settings == Self.rates.count * Self.frameCounts.count * Self.maxRates.count * Self.maxFrameCounts.count)
    }

    /// The default settings of a project (2 fps, 384 frames) on a 23.976 fps video of 5,362 frames: numpy's
    /// `linspace` puts sample 13 at 7.5909 s, which shows frame 182 (the old exporter computed 181).
    @Test func defaultProjectSamplingMatchesNumpy() throws {
        let fps = 24000.0 / 1001
        let timestamps = (0..<5362).map { Double($0) / fps }
        let media = MediaDescriptor(
            kind: .video, path: "ntsc.mp4", byteSize: 0, headSHA256: "", duration: 5362 / fps, frameCount: 5362,
            width: 64, height: 48, fps: fps, frameTimestamps: timestamps)
        let sampling = media.effectiveSampling
        #expect(sampling.frames.count == 384)
        #expect(Array(sampling.frames.prefix(14)) == [0, 14, 28, 42, 56, 70, 84, 98, 112, 126, 140, 154, 168, 182])
        #expect(abs(sampling.times[13] - 7.590916666666667) < 1e-12)
    }

    /// A container whose reported duration stops at the last frame's start still ends one frame later.
    @Test func aShortReportedDurationEndsAfterTheLastFrame() {
        let timestamps = (0..<10).map { Double($0) / 5 }
        #expect(MolmoFrameSampler.videoEnd(reportedDuration: 1.8, frameTimestamps: timestamps, fps: 5) == 2.0)
        #expect(MolmoFrameSampler.videoEnd(reportedDuration: 2.5, frameTimestamps: timestamps, fps: 5) == 2.5)
        #expect(MolmoFrameSampler.videoEnd(reportedDuration: .nan, frameTimestamps: [], fps: 5) == 0)
    }
}
