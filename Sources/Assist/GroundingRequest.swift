import Basics
import Annotations
import Foundation
import Media

/// One sampled video frame as the model sees it: the decoded frame it shows, the time printed next to it and its
/// pixels (scaled down for transmission when the source is large).
package struct TimedFrame: Sendable, Equatable {
    package var frameIndex: Int
    /// Clip-relative seconds shown to the model: the requested sample time, not the frame's own timestamp
    /// (molmo2-spec §6.5).
    package var time: Double
    package var image: Frame

    package init(frameIndex: Int, time: Double, image: Frame) {
        self.frameIndex = frameIndex
        self.time = time
        self.image = image
    }
}

/// One still image as the model sees it; answers address it by its 1-based position in the request.
package struct StillImage: Sendable, Equatable {
    package var frameIndex: Int
    /// Size of the frame in the source, which the model's 0–1000 coordinates are relative to.
    package var sourceWidth: Int
    package var sourceHeight: Int
    package var image: Frame

    package init(frameIndex: Int, sourceWidth: Int, sourceHeight: Int, image: Frame) {
        self.frameIndex = frameIndex
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.image = image
    }
}

/// What the model is shown: sampled video frames with their timestamps, or still images.
package enum GroundingMedia: Sendable, Equatable {
    /// Frames of one video; `sampling` maps the printed times back to decoded frame indices.
    case video(frames: [TimedFrame], sampling: FrameSampling, sourceWidth: Int, sourceHeight: Int)
    /// Still images: one video frame, or images of an image set.
    case images([StillImage])
}

/// Which part of the media a question is about.
package enum GroundingScope: Sendable, Equatable {
    /// One frame, sent as a single image.
    case frame(Int)
    /// A clip of consecutive frames, sampled like a video of its own (times restart at 0.0 on its first frame).
    case frames(ClosedRange<Int>, maxFPS: Double, maxFrames: Int)
    /// The whole video with Molmo2's sampling.
    case wholeVideo(maxFPS: Double, maxFrames: Int)
    /// Several frames (images of an image set) sent as separate images.
    case images([Int])

    /// Molmo2's released sampling: at most 2 frames per second and 384 frames.
    package static let defaultWholeVideo = GroundingScope.wholeVideo(
        maxFPS: MolmoFrameSampler.defaultMaxFPS, maxFrames: MolmoFrameSampler.defaultMaxFrames)
}

/// A question with the frames it is about, ready for any `GroundingModel`.
package struct GroundingRequest: Sendable, Equatable {
    package var question: String
    package var media: GroundingMedia
    /// The part of the media the frames were taken from.
    package var scope: GroundingScope
    package var maxNewTokens: Int
    /// The media file's name, used in errors and records.
    package var mediaName: String
    /// When set, backends that can constrain decoding hold the answer to this shape.
    package var constrainedOutput: ConstrainedOutput?

    package init(question: String, media: GroundingMedia, scope: GroundingScope, maxNewTokens: Int, mediaName: String) {
        self.question = question
        self.media = media
        self.scope = scope
        self.maxNewTokens = maxNewTokens
        self.mediaName = mediaName
    }

    /// The times shown with the frames and their frame indices (what a query record stores); nil for images.
    package var sampling: FrameSampling? {
        if case .video(_, let sampling, _, _) = media { return sampling }
        return nil
    }

    /// Frames or images the model is shown.
    package var visualCount: Int {
        switch media {
        case .video(let frames, _, _, _): return frames.count
        case .images(let images): return images.count
        }
    }

    package var isVideo: Bool {
        if case .video = media { return true }
        return false
    }
}

/// Where a request's frames come from: the media's facts and a way to decode one frame at a given size.
package struct FrameSource {
    package var name: String
    /// Start time of every frame, in seconds from frame 0.
    package var frameTimestamps: [Double]
    /// End of the last frame, in seconds from frame 0.
    package var duration: Double
    /// Source pixel size of a frame.
    package var frameSize: (Int) -> (width: Int, height: Int)
    /// Decodes frame `index` scaled to `width` x `height` (packed RGB24).
    package var decode: (_ index: Int, _ width: Int, _ height: Int) throws -> Frame

    package init(
        name: String, frameTimestamps: [Double], duration: Double, frameSize: @escaping (Int) -> (width: Int, height: Int),
        decode: @escaping (Int, Int, Int) throws -> Frame
    ) {
        self.name = name
        self.frameTimestamps = frameTimestamps
        self.duration = duration
        self.frameSize = frameSize
        self.decode = decode
    }

    package var frameCount: Int { frameTimestamps.count }

    /// A video opened with the Media module (not thread-safe: build requests on one thread at a time).
    package static func video(_ video: VideoSource) -> FrameSource {
        self.video(
            name: (video.path as NSString).lastPathComponent, info: video.info, frameTimestamps: video.frameTimestamps,
            decode: { index, width, height in try video.frame(at: index, width: width, height: height) })
    }

    /// A video as the Media module measured it, its frames decoded by `decode`.
    package static func video(
        name: String, info: VideoInfo, frameTimestamps timestamps: [Double], decode: @escaping (Int, Int, Int) throws -> Frame
    ) -> FrameSource {
        // The video ends when its last frame does; `info.duration` can be shorter or longer than the index says.
        let duration = MolmoFrameSampler.videoEnd(
            reportedDuration: info.duration, frameTimestamps: timestamps, fps: info.fps.doubleValue)
        return FrameSource(
            name: name, frameTimestamps: timestamps, duration: duration, frameSize: { _ in (info.width, info.height) },
            decode: decode)
    }
}

extension GroundingRequest {
    /// Molmo2's `uniform_last_frame` sampling of frames `range` treated as a clip: sample times restart at 0.0 on
    /// the clip's first frame, the last time is the clip's duration (end of its last frame), and each time shows the
    /// frame displayed then. `frameTimestamps` are all frames' start times; `duration` is the end of the last frame.
    package static func sampling(
        range: ClosedRange<Int>, frameTimestamps: [Double], duration: Double, maxFPS: Double, maxFrames: Int
    ) -> FrameSampling? {
        guard range.lowerBound >= 0, range.upperBound < frameTimestamps.count else { return nil }
        let clipStart = frameTimestamps[range.lowerBound]
        let clipEnd = range.upperBound + 1 < frameTimestamps.count ? frameTimestamps[range.upperBound + 1] : duration
        guard clipStart.isFinite, clipEnd.isFinite, clipEnd >= clipStart else { return nil }
        let relative = frameTimestamps[range].map { $0 - clipStart }
        let sampled = MolmoFrameSampler.sample(
            frameTimestamps: relative, duration: clipEnd - clipStart, maxFPS: maxFPS, maxFrames: maxFrames)
        return FrameSampling(
            mode: MolmoFrameSampler.Mode.uniformLastFrame.rawValue, maxFrames: maxFrames, maxFPS: maxFPS,
            clipStart: clipStart, times: sampled.timestamps, frames: sampled.frameIndices.map { $0 + range.lowerBound })
    }

    /// The size a `width` x `height` frame is sent at: unchanged when its longer side fits `maxSide`, else scaled
    /// down keeping the aspect ratio (the model's answers are relative to the frame, so they do not change).
    package static func transmittedSize(width: Int, height: Int, maxSide: Int?) -> (width: Int, height: Int) {
        guard let maxSide, maxSide > 0, max(width, height) > maxSide else { return (width, height) }
        let scale = Double(maxSide) / Double(max(width, height))
        return (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
    }

    /// Builds a request: samples the scope, decodes the frames (scaled to fit `maxTransmittedSide`) and attaches the
    /// question. `progress` reports (frames decoded, frames to decode); `isCancelled` is polled between frames.
    package static func make(
        question: String, scope: GroundingScope, source: FrameSource, maxNewTokens: Int,
        maxTransmittedSide: Int? = 768, progress: ((Int, Int) -> Void)? = nil, isCancelled: () -> Bool = { false }
    ) throws -> GroundingRequest {
        let media = try decodeMedia(
            scope: scope, source: source, maxTransmittedSide: maxTransmittedSide, progress: progress, isCancelled: isCancelled)
        guard maxNewTokens > 0 else {
            throw AssistError.invalidRequest(media: source.name, reason: "max new tokens must be positive")
        }
        return GroundingRequest(
            question: question, media: media, scope: scope, maxNewTokens: maxNewTokens, mediaName: source.name)
    }

    /// Builds a request for a task: the prompt of molmo2-spec §8.4 (for a single-point track, with the query
    /// frame's sampled time) and the task's default answer budget.
    package static func make(
        task: GroundingTask, scope: GroundingScope, source: FrameSource, maxNewTokens: Int? = nil,
        maxTransmittedSide: Int? = 768, constrainOutput: Bool = false, progress: ((Int, Int) -> Void)? = nil,
        isCancelled: () -> Bool = { false }
    ) throws -> GroundingRequest {
        let media = try decodeMedia(
            scope: scope, source: source, maxTransmittedSide: maxTransmittedSide, progress: progress, isCancelled: isCancelled)
        let context = GroundingPrompt.Context(media)
        let question: String
        do {
            question = try GroundingPrompt.text(for: task, context: context)
        } catch let error as GroundingPrompt.PromptError {
            throw AssistError.invalidRequest(media: source.name, reason: error.reason)
        }
        let budget = maxNewTokens ?? task.defaultMaxNewTokens(isVideo: context.isVideo)
        var request = GroundingRequest(
            question: question, media: media, scope: scope, maxNewTokens: budget, mediaName: source.name)
        if constrainOutput { request.constrainedOutput = ConstrainedOutput.fitting(task, media: media) }
        return request
    }

    static func decodeMedia(
        scope: GroundingScope, source: FrameSource, maxTransmittedSide: Int?, progress: ((Int, Int) -> Void)?,
        isCancelled: () -> Bool
    ) throws -> GroundingMedia {
        let count = source.frameCount
        func checkFrame(_ index: Int) throws {
            guard index >= 0, index < count else {
                throw AssistError.invalidRequest(
                    media: source.name, reason: "frame \(index) is outside the media (0..<\(count))")
            }
        }
        func decode(_ index: Int) throws -> (frame: Frame, width: Int, height: Int) {
            let size = source.frameSize(index)
            guard size.width > 0, size.height > 0 else {
                throw AssistError.frameUnavailable(
                    media: source.name, frame: index, reason: "invalid size \(size.width)x\(size.height)")
            }
            let sent = transmittedSize(width: size.width, height: size.height, maxSide: maxTransmittedSide)
            do {
                return (try source.decode(index, sent.width, sent.height), size.width, size.height)
            } catch {
                throw AssistError.frameUnavailable(media: source.name, frame: index, reason: "\(error)")
            }
        }
        func stillImages(_ indices: [Int]) throws -> GroundingMedia {
            guard !indices.isEmpty else { throw AssistError.invalidRequest(media: source.name, reason: "no images selected") }
            var images: [StillImage] = []
            for (k, index) in indices.enumerated() {
                try checkFrame(index)
                if isCancelled() { throw AssistError.cancelled(endpoint: source.name) }
                let decoded = try decode(index)
                images.append(
                    StillImage(frameIndex: index, sourceWidth: decoded.width, sourceHeight: decoded.height, image: decoded.frame))
                progress?(k + 1, indices.count)
            }
            return .images(images)
        }

        let range: ClosedRange<Int>
        let maxFPS: Double
        let maxFrames: Int
        switch scope {
        case .frame(let index):
            return try stillImages([index])
        case .images(let indices):
            return try stillImages(indices)
        case .frames(let frames, let fps, let limit):
            try checkFrame(frames.lowerBound)
            try checkFrame(frames.upperBound)
            (range, maxFPS, maxFrames) = (frames, fps, limit)
        case .wholeVideo(let fps, let limit):
            guard count > 0 else { throw AssistError.invalidRequest(media: source.name, reason: "the video has no frames") }
            (range, maxFPS, maxFrames) = (0...(count - 1), fps, limit)
        }
        guard maxFrames >= 1 else { throw AssistError.invalidRequest(media: source.name, reason: "max frames must be at least 1") }
        guard maxFPS.isFinite, maxFPS > 0 else {
            throw AssistError.invalidRequest(media: source.name, reason: "max fps must be a positive number")
        }
        guard
            let sampling = sampling(
                range: range, frameTimestamps: source.frameTimestamps, duration: source.duration, maxFPS: maxFPS,
                maxFrames: maxFrames), !sampling.frames.isEmpty
        else {
            throw AssistError.invalidRequest(media: source.name, reason: "frames \(range) cannot be sampled")
        }
        let size = source.frameSize(range.lowerBound)
        var frames: [TimedFrame] = []
        frames.reserveCapacity(sampling.frames.count)
        var decodedByIndex: [Int: Frame] = [:]
        for (k, index) in sampling.frames.enumerated() {
            if isCancelled() { throw AssistError.cancelled(endpoint: source.name) }
            // Slow videos repeat frames across samples: decode each once.
            let frame: Frame
            if let cached = decodedByIndex[index] {
                frame = cached
            } else {
                frame = try decode(index).frame
                decodedByIndex = [index: frame]
            }
            frames.append(TimedFrame(frameIndex: index, time: sampling.times[k], image: frame))
            progress?(k + 1, sampling.frames.count)
        }
        return .video(frames: frames, sampling: sampling, sourceWidth: size.width, sourceHeight: size.height)
    }
}

extension GroundingPrompt.Context {
    /// The context a prompt is written for when the model is shown `media`.
    package init(_ media: GroundingMedia) {
        switch media {
        case .video(_, let sampling, let width, let height):
            self = .video(sampling: sampling, width: width, height: height)
        case .images(let images):
            self = .images(count: images.count)
        }
    }
}
