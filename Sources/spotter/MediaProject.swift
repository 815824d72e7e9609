import Basics
import Annotations
import Foundation
import Assist
import Media

/// Bridges Media's measurements to the project's description of its media, so the store, the exporters and
/// the model all see the same frame times and the same Molmo2 sampling.
enum MediaProject {
    /// Describes the media at `path` as measured by the decoder.
    static func descriptor(path: String, info: VideoInfo, frameTimestamps: [Double]) throws -> MediaDescriptor {
        let duration = MolmoFrameSampler.videoEnd(
            reportedDuration: info.duration, frameTimestamps: frameTimestamps, fps: info.fps.doubleValue)
        let sampling = FrameSampling.molmo2UniformLastFrame(duration: duration, frameTimestamps: frameTimestamps)
        if info.isStillImage {
            return try MediaDescriptor.imageSet(paths: [path], sizes: [(info.width, info.height)])
        }
        return try MediaDescriptor.video(
            path: path, duration: duration, frameCount: info.frameCount, width: info.width, height: info.height,
            fps: info.fps.doubleValue, frameTimestamps: frameTimestamps, sampling: sampling)
    }

    /// The project file: `projectPath` when given, else the default project beside the media.
    static func projectURL(mediaPath: String, projectPath: String?) -> URL {
        projectPath.map { URL(fileURLWithPath: $0) } ?? ProjectStore.defaultProjectURL(forMedia: mediaPath)
    }

    /// Opens the project beside the media (or at `projectPath`), creating it on first use. A project made for
    /// other media is refused unless `force`.
    static func openStore(mediaPath: String, projectPath: String?, info: VideoInfo, frameTimestamps: [Double], force: Bool)
        throws -> ProjectStore
    {
        let url = projectURL(mediaPath: mediaPath, projectPath: projectPath)
        let media = try descriptor(path: mediaPath, info: info, frameTimestamps: frameTimestamps)
        return try ProjectStore.openOrCreate(at: url, media: media, force: force)
    }
}

extension MediaProject {
    /// The media as the model's request builder reads it, decoding through the viewer's frame server (thread-safe).
    static func frameSource(_ server: FrameServer, info: VideoInfo, path: String) -> FrameSource {
        FrameSource.video(
            name: URL(fileURLWithPath: path).lastPathComponent, info: info, frameTimestamps: server.frameTimestamps,
            decode: { index, width, height in try server.frame(at: index, width: width, height: height) })
    }

    /// Earlier questions of the project, oldest first: the labels asked about (what the query pane's ↑ offers).
    static func questionHistory(_ store: ProjectStore) -> [String] {
        var seen = Set<String>()
        return store.queries.sorted { $0.createdAt < $1.createdAt }.map(\.label).reversed()
            .filter { !$0.isEmpty && seen.insert($0).inserted }.reversed()
    }
}
