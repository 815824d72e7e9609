import Basics
import Testing

@testable import Media

/// Hand-computed cases from molmo2-spec §6.5 (uniform_last_frame, time-based path, and the
/// frame-index path).
@Suite("Molmo2 frame sampling")
struct FrameSamplingTests {
    @Test("10.3 s clip at 2 fps: 0.0 ... 10.0 then 10.3 (22 frames)")
    func specExample() {
        let times = MolmoFrameSampler.sampleTimes(duration: 10.3, maxFPS: 2, maxFrames: 384)
        let expected = (0...20).map { Double($0) * 0.5 } + [10.3]
        #expect(times == expected)
        #expect(times.count == 22)
    }

    @Test("30 fps, 309 frames: each time maps to the frame displayed at it; the last to the last frame")
    func thirtyFPSMapping() {
        let sampled = MolmoFrameSampler.sample(duration: 10.3, fps: 30, frameCount: 309)
        #expect(sampled.frameIndices == (0...20).map { $0 * 15 } + [308])
        #expect(sampled.timestamps.last == 10.3)
        #expect(sampled.timestamps[1] == 0.5)
    }

    @Test("a duration on the 0.5 s grid is not repeated: 3.0 s gives 0 ... 2.5 and 3.0")
    func durationOnGrid() {
        #expect(MolmoFrameSampler.sampleTimes(duration: 3.0) == [0, 0.5, 1, 1.5, 2, 2.5, 3])
    }

    @Test("(N-1)/f = D exactly keeps the fixed rate: 191.5 s gives 384 frames")
    func boundaryKeepsRate() {
        let times = MolmoFrameSampler.sampleTimes(duration: 191.5, maxFPS: 2, maxFrames: 384)
        #expect(times.count == 384)
        #expect(times[382] == 191.0)
        #expect(times[383] == 191.5)
    }

    @Test("long video: N evenly spaced times from 0 to D inclusive")
    func longVideoUniform() {
        let times = MolmoFrameSampler.sampleTimes(duration: 200, maxFPS: 2, maxFrames: 384)
        #expect(times.count == 384)
        #expect(times[0] == 0)
        #expect(times[1] == 200.0 / 383.0)
        #expect(times[2] == 2 * (200.0 / 383.0))
        #expect(times[383] == 200)
        #expect(MolmoFrameSampler.sampleTimes(duration: 10, maxFPS: 2, maxFrames: 5) == [0, 2.5, 5, 7.5, 10])
    }

    @Test("no rate limit means a uniform spread")
    func noRateLimit() {
        #expect(MolmoFrameSampler.sampleTimes(duration: 4, maxFPS: nil, maxFrames: 3) == [0, 2, 4])
        #expect(MolmoFrameSampler.sampleTimes(duration: 4, maxFPS: 0, maxFrames: 3) == [0, 2, 4])
    }

    @Test("a non-power-of-two rate uses k * (1/f), as numpy.arange does")
    func thirdOfASecond() {
        #expect(MolmoFrameSampler.sampleTimes(duration: 1.0, maxFPS: 3, maxFrames: 384) == [0, 1.0 / 3.0, 2 * (1.0 / 3.0), 1.0])
    }

    @Test("a video slower than the sampling rate repeats frames")
    func slowVideoRepeats() {
        // 2.5 fps, 10 frames, 4.0 s: times 0, 0.5, ..., 3.5, 4.0.
        let sampled = MolmoFrameSampler.sample(duration: 4.0, fps: 2.5, frameCount: 10)
        #expect(sampled.timestamps == [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4])
        #expect(sampled.frameIndices == [0, 1, 2, 3, 5, 6, 7, 8, 9])
        // 1 fps, 4 frames: every frame is shown twice, the last one three times.
        let slower = MolmoFrameSampler.sample(duration: 4.0, fps: 1, frameCount: 4)
        #expect(slower.frameIndices == [0, 0, 1, 1, 2, 2, 3, 3, 3])
    }

    @Test("variable frame rate: exact timestamps decide which frame is displayed")
    func variableFrameRate() {
        let sampled = MolmoFrameSampler.sample(frameTimestamps: [0, 0.1, 0.7, 0.75, 1.6], duration: 2.0)
        #expect(sampled.timestamps == [0, 0.5, 1.0, 1.5, 2.0])
        #expect(sampled.frameIndices == [0, 1, 3, 3, 4])
        // A time exactly at a frame's start shows that frame.
        #expect(MolmoFrameSampler.frameDisplayed(at: 0.7, frameTimestamps: [0, 0.1, 0.7, 0.75, 1.6], duration: 2) == 2)
    }

    @Test("degenerate inputs")
    func degenerate() {
        let still = MolmoFrameSampler.sample(frameTimestamps: [0], duration: 0)
        #expect(still == SampledFrames(frameIndices: [0], timestamps: [0]))
        #expect(MolmoFrameSampler.sampleTimes(duration: 5, maxFrames: 0).isEmpty)
        #expect(MolmoFrameSampler.sample(frameTimestamps: [], duration: 3).frameIndices.isEmpty)
        #expect(MolmoFrameSampler.sampleTimes(duration: .nan) == [0])
        #expect(MolmoFrameSampler.sampleTimes(duration: 7, maxFPS: 2, maxFrames: 1) == [0])
    }

    @Test("frame-index path (arrays of frames with fps metadata)")
    func frameIndexPath() {
        #expect(MolmoFrameSampler.sampleFrameIndices(frameCount: 2, fps: 30).frameIndices == [0, 1])
        let short = MolmoFrameSampler.sampleFrameIndices(frameCount: 300, fps: 30)
        #expect(short.frameIndices == (0..<20).map { $0 * 15 } + [299])
        #expect(short.timestamps.last == 299.0 / 30.0)
        // Rounding is half to even: 12.5 -> 12, 37.5 -> 38.
        #expect(MolmoFrameSampler.sampleFrameIndices(frameCount: 40, fps: 25).frameIndices == [0, 12, 25, 38, 39])
        let long = MolmoFrameSampler.sampleFrameIndices(frameCount: 10000, fps: 25)
        #expect(long.frameIndices.count == 384)
        #expect(Array(long.frameIndices.prefix(4)) == [0, 26, 52, 78])
        #expect(Array(long.frameIndices.suffix(3)) == [9946, 9972, 9999])
    }

    @Test("sampling a real file through its frame index")
    func realFile() throws {
        let source = try VideoSource(path: TestPaths.fixture("numbered_gaps.mp4"))
        let sampled = MolmoFrameSampler.sample(frameTimestamps: source.frameTimestamps, duration: source.info.duration)
        // 4.5 s: 0.0 ... 4.0 then 4.5; frames 30... start 1 s late and frames 60... another 0.5 s.
        #expect(sampled.timestamps == [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5])
        #expect(sampled.frameIndices == [0, 15, 29, 29, 30, 45, 59, 60, 75, 89])
        for (index, time) in zip(sampled.frameIndices, sampled.timestamps) {
            #expect(source.frameIndex(displayedAt: time) == index || time == source.info.duration)
        }
    }
}
