import Basics
import Foundation

/// The identity of a media item: byte size, SHA-256 of the first MiB, duration and frame count. A project only
/// accepts annotations for media whose fingerprint matches (unless forced).
package struct MediaFingerprint: Equatable, Sendable {
    package var byteSize: Int64
    /// Lower-case hex SHA-256 of the first 1,048,576 bytes (for image sets: of the images' own hashes, one per line).
    package var headSHA256: String
    package var duration: Double
    package var frameCount: Int

    package init(byteSize: Int64, headSHA256: String, duration: Double, frameCount: Int) {
        self.byteSize = byteSize
        self.headSHA256 = headSHA256
        self.duration = duration
        self.frameCount = frameCount
    }

    /// The differences between two fingerprints, in words; empty when they match (durations within 1 ms).
    package func differences(from other: MediaFingerprint) -> [String] {
        var out: [String] = []
        if byteSize != other.byteSize { out.append("size \(other.byteSize) bytes, expected \(byteSize)") }
        if headSHA256 != other.headSHA256 { out.append("first-MiB hash differs") }
        if frameCount != other.frameCount { out.append("frame count \(other.frameCount), expected \(frameCount)") }
        if abs(duration - other.duration) > 1e-3 { out.append("duration \(other.duration) s, expected \(duration) s") }
        return out
    }

    /// Size and first-MiB hash of a file on disk.
    package static func hashFileHead(path: String) throws -> (byteSize: Int64, headSHA256: String) {
        // stat first: opening a FIFO named like the media would block.
        var status = stat()
        guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw AnnotationError.io(path: path, reason: "not a regular file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw AnnotationError.io(path: path, reason: "cannot open the media file")
        }
        defer { try? handle.close() }
        let size: Int64
        do {
            size = Int64(try handle.seekToEnd())
            try handle.seek(toOffset: 0)
        } catch {
            throw AnnotationError.io(path: path, reason: "cannot read the media file: \(error)")
        }
        var hasher = SHA256()
        var remaining = 1 << 20
        while remaining > 0 {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: min(remaining, 1 << 16)) ?? Data()
            } catch {
                throw AnnotationError.io(path: path, reason: "cannot read the media file: \(error)")
            }
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { hasher.update($0) }
            remaining -= chunk.count
        }
        return (size, SHA256.hex(hasher.finalize()))
    }
}

/// One image of an ordered image set.
package struct ImageDescriptor: Equatable, Sendable {
    package var path: String
    package var width: Int
    package var height: Int
    package var byteSize: Int64
    package var headSHA256: String

    package init(path: String, width: Int, height: Int, byteSize: Int64, headSHA256: String) {
        self.path = path
        self.width = width
        self.height = height
        self.byteSize = byteSize
        self.headSHA256 = headSHA256
    }
}

/// The frames a model was shown: requested times (the ones printed in the prompt, clip-relative seconds) and the
/// decoded frame index displayed at each time.
package struct FrameSampling: Equatable, Sendable {
    /// `uniform_last_frame`, `fps`, `frame_index` or `all`.
    package var mode: String
    package var maxFrames: Int
    package var maxFPS: Double
    package var samplingFPS: Double?
    package var clipStart: Double
    package var times: [Double]
    package var frames: [Int]

    package init(
        mode: String, maxFrames: Int, maxFPS: Double, samplingFPS: Double? = nil, clipStart: Double = 0,
        times: [Double], frames: [Int]
    ) {
        self.mode = mode
        self.maxFrames = maxFrames
        self.maxFPS = maxFPS
        self.samplingFPS = samplingFPS
        self.clipStart = clipStart
        self.times = times
        self.frames = frames
    }

    /// Molmo2's time-based `uniform_last_frame` sampling (molmo2-spec §6.5) through the one sampler every part of
    /// Spotter uses (`MolmoFrameSampler`), so the frames an export names are the frames the model is shown.
    /// `frameTimestamps` are the decoded frames' start times in seconds from the stream start.
    package static func molmo2UniformLastFrame(
        duration: Double, frameTimestamps: [Double], maxFrames: Int = MolmoFrameSampler.defaultMaxFrames,
        maxFPS: Double = MolmoFrameSampler.defaultMaxFPS
    ) -> FrameSampling {
        let sampled = MolmoFrameSampler.sample(
            frameTimestamps: frameTimestamps, duration: duration, maxFPS: maxFPS, maxFrames: maxFrames)
        return FrameSampling(
            mode: MolmoFrameSampler.Mode.uniformLastFrame.rawValue, maxFrames: maxFrames, maxFPS: maxFPS,
            times: sampled.timestamps, frames: sampled.frameIndices)
    }

    /// Index into `times` of the sampled time nearest to `t` (ties to the earlier one).
    package func nearestSampleIndex(toTime t: Double) -> Int? {
        guard !times.isEmpty else { return nil }
        var low = 0
        var high = times.count
        while low < high {
            let mid = (low + high) >> 1
            if times[mid] < t { low = mid + 1 } else { high = mid }
        }
        if low == 0 { return 0 }
        if low == times.count { return times.count - 1 }
        return abs(times[low - 1] - t) <= abs(times[low] - t) ? low - 1 : low
    }

    /// Index into `frames` of the sample showing `frame`, if that frame was shown.
    package func sampleIndex(ofFrame frame: Int) -> Int? { frames.firstIndex(of: frame) }
}

/// The media a project annotates: a video or an ordered image set, with the facts the Media module measured
/// (frame count, frame times, size) and the fingerprint that ties a project to its file.
package struct MediaDescriptor: Equatable, Sendable {
    /// Limits applied to descriptions read from files, so hostile input cannot demand absurd allocations.
    package static let maximumFrameCount = 50_000_000
    package static let maximumSide = 1 << 20

    /// A video, or an ordered set of images (frame i = image i).
    package enum Kind: String, Sendable {
        case video
        case images
    }

    package var kind: Kind
    /// The media path as given when the project was created.
    package var path: String
    package var byteSize: Int64
    package var headSHA256: String
    package var duration: Double
    package var frameCount: Int
    package var width: Int
    package var height: Int
    package var fps: Double
    /// Presentation time in seconds of every decoded frame, from the stream start (empty: `frame / fps`).
    package var frameTimestamps: [Double]
    /// The images of an image set, in order (empty for video).
    package var images: [ImageDescriptor]
    /// The default frames shown to the model (Molmo2 sampling), if the caller measured them.
    package var sampling: FrameSampling?

    package init(
        kind: Kind, path: String, byteSize: Int64, headSHA256: String, duration: Double, frameCount: Int,
        width: Int, height: Int, fps: Double, frameTimestamps: [Double] = [], images: [ImageDescriptor] = [],
        sampling: FrameSampling? = nil
    ) {
        self.kind = kind
        self.path = path
        self.byteSize = byteSize
        self.headSHA256 = headSHA256
        self.duration = duration
        self.frameCount = frameCount
        self.width = width
        self.height = height
        self.fps = fps
        self.frameTimestamps = frameTimestamps
        self.images = images
        self.sampling = sampling
    }

    /// Describes a video file: reads its size and first MiB for the fingerprint; the other facts come from the
    /// caller's decoder.
    package static func video(
        path: String, duration: Double, frameCount: Int, width: Int, height: Int, fps: Double,
        frameTimestamps: [Double] = [], sampling: FrameSampling? = nil
    ) throws -> MediaDescriptor {
        guard width > 0, height > 0, frameCount >= 0, duration.isFinite, duration >= 0, fps.isFinite, fps >= 0 else {
            throw AnnotationError.io(path: path, reason: "invalid video facts \(width)x\(height), \(frameCount) frames")
        }
        guard frameTimestamps.isEmpty || frameTimestamps.count == frameCount else {
            throw AnnotationError.io(
                path: path, reason: "\(frameTimestamps.count) frame timestamps for \(frameCount) frames")
        }
        let head = try MediaFingerprint.hashFileHead(path: path)
        return MediaDescriptor(
            kind: .video, path: path, byteSize: head.byteSize, headSHA256: head.headSHA256, duration: duration,
            frameCount: frameCount, width: width, height: height, fps: fps, frameTimestamps: frameTimestamps,
            sampling: sampling)
    }

    /// Describes an ordered image set (frame i = image i); `sizes` are the decoded pixel sizes.
    package static func imageSet(paths: [String], sizes: [(width: Int, height: Int)]) throws -> MediaDescriptor {
        guard !paths.isEmpty, paths.count == sizes.count else {
            throw AnnotationError.io(
                path: paths.first ?? "(no images)", reason: "\(paths.count) images but \(sizes.count) sizes")
        }
        var images: [ImageDescriptor] = []
        for (path, size) in zip(paths, sizes) {
            guard size.width > 0, size.height > 0 else {
                throw AnnotationError.io(path: path, reason: "invalid image size \(size.width)x\(size.height)")
            }
            let head = try MediaFingerprint.hashFileHead(path: path)
            images.append(
                ImageDescriptor(
                    path: path, width: size.width, height: size.height, byteSize: head.byteSize,
                    headSHA256: head.headSHA256))
        }
        return imageSet(images: images, path: paths.count == 1 ? paths[0] : commonDirectory(paths))
    }

    /// An image-set descriptor from already measured images.
    package static func imageSet(images: [ImageDescriptor], path: String) -> MediaDescriptor {
        let combined = SHA256.hexDigest(of: Array(images.map { $0.headSHA256 + "\n" }.joined().utf8))
        return MediaDescriptor(
            kind: .images, path: path, byteSize: images.reduce(0) { $0 + $1.byteSize }, headSHA256: combined,
            duration: 0, frameCount: images.count, width: images.first?.width ?? 0,
            height: images.first?.height ?? 0, fps: 0, images: images)
    }

    private static func commonDirectory(_ paths: [String]) -> String {
        let directories = paths.map { ($0 as NSString).deletingLastPathComponent }
        guard let first = directories.first, directories.allSatisfy({ $0 == first }) else { return paths[0] }
        return first.isEmpty ? "." : first
    }

    package var fingerprint: MediaFingerprint {
        MediaFingerprint(byteSize: byteSize, headSHA256: headSHA256, duration: duration, frameCount: frameCount)
    }

    /// Pixel size of a frame (image sets may mix sizes).
    package func frameSize(_ frame: Int) -> (width: Int, height: Int) {
        if kind == .images, frame >= 0, frame < images.count { return (images[frame].width, images[frame].height) }
        return (width, height)
    }

    /// Presentation time of a frame in seconds.
    package func time(ofFrame frame: Int) -> Double {
        if frame >= 0, frame < frameTimestamps.count { return frameTimestamps[frame] }
        return fps > 0 ? Double(frame) / fps : Double(frame)
    }

    /// The frame on screen at time `t` (seconds from the stream start).
    package func frame(atTime t: Double) -> Int {
        if !frameTimestamps.isEmpty { return MolmoFrameSampler.frameDisplayed(at: t, frameTimestamps: frameTimestamps, duration: duration) }
        guard fps > 0, t.isFinite else { return 0 }
        let position = (t * fps + 1e-6).rounded(.down)
        guard position > 0 else { return 0 }
        guard position < Double(max(1, frameCount)) else { return max(0, frameCount - 1) }
        return Int(position)
    }

    /// Every frame's start time (explicit or derived from fps).
    package var allFrameTimes: [Double] {
        if !frameTimestamps.isEmpty { return frameTimestamps }
        return (0..<max(0, frameCount)).map { time(ofFrame: $0) }
    }

    /// The stored sampling, or Molmo2's default 2 fps `uniform_last_frame` sampling computed from the frame times.
    package var effectiveSampling: FrameSampling {
        if let sampling { return sampling }
        if kind == .images {
            return FrameSampling(
                mode: "all", maxFrames: frameCount, maxFPS: 0, times: (0..<frameCount).map { Double($0 + 1) },
                frames: Array(0..<frameCount))
        }
        return FrameSampling.molmo2UniformLastFrame(duration: duration, frameTimestamps: allFrameTimes)
    }

    /// Whether two descriptors describe the same frames (kind, count, sizes); used when importing into a project.
    package func isCompatible(with other: MediaDescriptor) -> Bool {
        kind == other.kind && frameCount == other.frameCount && width == other.width && height == other.height
    }
}
