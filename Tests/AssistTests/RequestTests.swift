import Annotations
import Foundation
import Media
import Testing

@testable import Assist

// MARK: - Prompts

@Test func promptTemplatesFollowTheTrainingPrompts() throws {
    let sampling = FrameSampling(
        mode: "uniform_last_frame", maxFrames: 384, maxFPS: 2, clipStart: 0, times: [0, 0.5, 1.0, 1.5],
        frames: [0, 15, 30, 45])
    let video = GroundingPrompt.Context.video(sampling: sampling, width: 640, height: 360)
    let image = GroundingPrompt.Context.images(count: 1)
    #expect(try GroundingPrompt.text(for: .point(label: "red mug"), context: image) == "Point to red mug")
    #expect(try GroundingPrompt.text(for: .count(label: "birds"), context: image) == "How many birds are there?")
    #expect(try GroundingPrompt.text(for: .count(label: "birds"), context: video) == "How many \"birds\" are there in the video?")
    #expect(try GroundingPrompt.text(for: .track(label: "the dog", fps: 2), context: video) == "Track the dog in 2 FPS.")
    #expect(try GroundingPrompt.text(for: .question("  What happens?\n"), context: video) == "What happens?")
    // Frame 30 is shown at 1.0 s; (275.2, 220.3) in 640x360 is (430, 612) on the 0–1000 scale.
    let trackPoint = try GroundingPrompt.text(
        for: .trackPoint(label: "dog", frame: 30, x: 275.2, y: 220.3, fps: 2), context: video)
    #expect(
        trackPoint
            == #"Track the following point <points coords="1.0 1 430 612">dog</points> given as <points coords="t id x y">label</points>. Provide coordinates at 2 frames per second"#
    )
    // The query element is valid Molmo2 grammar.
    let parsed = Molmo2Answer.parse(String(trackPoint.dropFirst("Track the following point ".count).prefix(44)))
    #expect(parsed.elements.first?.groups.first?.points == [NormalizedPoint(id: 1, x: 430, y: 612)])
}

@Test func promptsRejectWhatCannotBeAsked() {
    let sampling = FrameSampling(mode: "uniform_last_frame", maxFrames: 384, maxFPS: 2, times: [0, 0.5], frames: [0, 15])
    let video = GroundingPrompt.Context.video(sampling: sampling, width: 640, height: 360)
    #expect(throws: GroundingPrompt.PromptError.self) {
        try GroundingPrompt.text(for: .trackPoint(label: "dog", frame: 7, x: 1, y: 1, fps: 2), context: video)
    }
    #expect(throws: GroundingPrompt.PromptError.self) {
        try GroundingPrompt.text(for: .trackPoint(label: "dog", frame: 15, x: 700, y: 1, fps: 2), context: video)
    }
    #expect(throws: GroundingPrompt.PromptError.self) {
        try GroundingPrompt.text(for: .track(label: "dog", fps: 2), context: .images(count: 1))
    }
    #expect(throws: GroundingPrompt.PromptError.self) {
        try GroundingPrompt.text(for: .track(label: "dog", fps: 1), context: video)
    }
    #expect(throws: GroundingPrompt.PromptError.self) {
        try GroundingPrompt.text(for: .point(label: "a <b>"), context: video)
    }
    #expect(throws: GroundingPrompt.PromptError.self) { try GroundingPrompt.text(for: .count(label: "  "), context: video) }
    #expect(GroundingTask.point(label: "x").defaultMaxNewTokens(isVideo: false) == 192)
    #expect(GroundingTask.count(label: "x").defaultMaxNewTokens(isVideo: true) == 2048)
    #expect(GroundingTask.track(label: "x", fps: 1).defaultMaxNewTokens(isVideo: true) == 4096)
}

// MARK: - Sampling and request building

@Test func wholeVideoSamplingMatchesMolmo2() throws {
    let video = SyntheticVideo()  // 210 frames at 30 fps: 7 s
    let request = try GroundingRequest.make(
        task: .track(label: "disc", fps: 2), scope: .defaultWholeVideo, source: video.source)
    guard case .video(let frames, let sampling, let width, let height) = request.media else {
        Issue.record("expected a video request")
        return
    }
    #expect(sampling.times == (0..<14).map { Double($0) * 0.5 } + [7.0])
    #expect(sampling.frames == (0..<14).map { $0 * 15 } + [209])
    #expect(frames.map(\.frameIndex) == sampling.frames)
    #expect(frames.map(\.time) == sampling.times)
    #expect((width, height) == (640, 360))
    #expect(frames.allSatisfy { $0.image.width == 640 && $0.image.height == 360 && Int($0.image.pixels[0]) == $0.frameIndex % 256 })
    #expect(request.question == "Track disc in 2 FPS.")
    #expect(request.maxNewTokens == 4096)
    #expect(video.decoded == sampling.frames)
}

@Test func clipSamplingRestartsTimeAtTheClip() throws {
    let video = SyntheticVideo()
    var reports: [(Int, Int)] = []
    let request = try GroundingRequest.make(
        task: .trackPoint(label: "cell", frame: 30, x: 320, y: 180, fps: 2), scope: .frames(30...89, maxFPS: 2, maxFrames: 384),
        source: video.source, maxTransmittedSide: 320, progress: { reports.append(($0, $1)) })
    guard case .video(let frames, let sampling, _, _) = request.media else {
        Issue.record("expected a video request")
        return
    }
    #expect(sampling.clipStart == 1.0)
    #expect(sampling.times == [0, 0.5, 1.0, 1.5, 2.0])
    #expect(sampling.frames == [30, 45, 60, 75, 89])
    // Sent at 320x180 (the answer coordinates are relative, so nothing else changes).
    #expect(frames.allSatisfy { $0.image.width == 320 && $0.image.height == 180 })
    #expect(request.question.hasPrefix(#"Track the following point <points coords="0.0 1 500 500">cell</points>"#))
    #expect(reports.count == 5 && reports.last.map { $0 == (5, 5) } == true)
}

@Test func slowVideosRepeatFramesButDecodeThemOnce() throws {
    let video = SyntheticVideo(frameCount: 3, fps: 1)  // 3 s at 1 fps, sampled at 2 fps
    let request = try GroundingRequest.make(question: "What?", scope: .defaultWholeVideo, source: video.source, maxNewTokens: 10)
    guard case .video(let frames, _, _, _) = request.media else {
        Issue.record("expected a video request")
        return
    }
    #expect(frames.map(\.frameIndex) == [0, 0, 1, 1, 2, 2, 2])
    #expect(video.decoded == [0, 1, 2])
}

@Test func singleFramesAndImageSetsAreSentAsImages() throws {
    let video = SyntheticVideo()
    let one = try GroundingRequest.make(task: .point(label: "disc"), scope: .frame(75), source: video.source)
    guard case .images(let images) = one.media else {
        Issue.record("expected an image request")
        return
    }
    #expect(images.map(\.frameIndex) == [75])
    #expect(one.question == "Point to disc" && one.maxNewTokens == 192)
    let several = try GroundingRequest.make(
        question: "Point to disc in all images.", scope: .images([3, 9]), source: video.source, maxNewTokens: 64)
    #expect(several.visualCount == 2 && !several.isVideo)
}

@Test func invalidScopesAreReportedNotCrashed() {
    let video = SyntheticVideo()
    let cases: [GroundingScope] = [
        .frame(210), .frame(-1), .frames(200...300, maxFPS: 2, maxFrames: 10), .images([]),
        .frames(0...10, maxFPS: 0, maxFrames: 10), .wholeVideo(maxFPS: 2, maxFrames: 0),
    ]
    for scope in cases {
        #expect(throws: AssistError.self, "\(scope)") {
            try GroundingRequest.make(question: "q", scope: scope, source: video.source, maxNewTokens: 5)
        }
    }
    let broken = FrameSource(
        name: "broken.mp4", frameTimestamps: [0, 0.04], duration: 0.08, frameSize: { _ in (64, 48) },
        decode: { index, _, _ in throw MediaError.frameNotDecodable(path: "broken.mp4", index: index, reason: "corrupt") })
    do {
        _ = try GroundingRequest.make(question: "q", scope: .frame(1), source: broken, maxNewTokens: 5)
        Issue.record("a frame that cannot be decoded must fail the request")
    } catch let error as AssistError {
        guard case .frameUnavailable(let media, let frame, _) = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(media == "broken.mp4" && frame == 1)
        #expect(!error.description.contains("\n"))
    } catch {
        Issue.record("unexpected \(error)")
    }
}

@Test func transmittedSizeKeepsTheAspectRatio() {
    #expect(GroundingRequest.transmittedSize(width: 1920, height: 1080, maxSide: 768) == (768, 432))
    #expect(GroundingRequest.transmittedSize(width: 640, height: 360, maxSide: 768) == (640, 360))
    #expect(GroundingRequest.transmittedSize(width: 1080, height: 1920, maxSide: nil) == (1080, 1920))
    #expect(GroundingRequest.transmittedSize(width: 3000, height: 1, maxSide: 100) == (100, 1))
}

@Test func realVideoFramesComeFromMedia() throws {
    let path = repositoryRoot.appendingPathComponent("Samples/shapes.mp4").path
    let video = try VideoSource(path: path)
    let source = FrameSource.video(video)
    #expect(source.frameCount == 210)
    #expect(abs(source.duration - 7.0) < 1e-6)
    let request = try GroundingRequest.make(
        question: "Track checker disc in 1 FPS.", scope: .wholeVideo(maxFPS: 1, maxFrames: 384), source: source,
        maxNewTokens: 100, maxTransmittedSide: 160)
    guard case .video(let frames, let sampling, let width, let height) = request.media else {
        Issue.record("expected a video request")
        return
    }
    #expect(sampling.times == [0, 1, 2, 3, 4, 5, 6, 7])
    #expect(sampling.frames == [0, 30, 60, 90, 120, 150, 180, 209])
    #expect((width, height) == (640, 360))
    #expect(frames.allSatisfy { $0.image.width == 160 && $0.image.height == 90 && $0.image.pixels.count == 160 * 90 * 3 })
    #expect(request.mediaName == "shapes.mp4")
    #expect(request.scope == .wholeVideo(maxFPS: 1, maxFrames: 384) && request.sampling == sampling)
}
