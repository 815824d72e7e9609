import Annotations
import Assist
import Foundation
import Media

/// Media for a question asked through the request builder the viewer uses (`GroundingRequest.make`): a video file,
/// image files, or a folder of frames taken as a video.
struct QuestionMedia {
    var source: FrameSource
    var scope: GroundingScope
    var isVideo: Bool
    /// `video`, `images` or `frames`.
    var kind: String
    /// The file or folder the answers belong to.
    var path: String

    /// Opens `paths` as `spotter ask` reads them (one video, image files, or one folder of frames at `frameRate`).
    static func open(paths: [String], frameRate: Double, maxFPS: Double, maxFrames: Int) throws -> QuestionMedia {
        var isDirectory: ObjCBool = false
        if paths.count == 1, FileManager.default.fileExists(atPath: paths[0], isDirectory: &isDirectory),
            isDirectory.boolValue
        {
            return try folder(paths[0], frameRate: frameRate, maxFPS: maxFPS, maxFrames: maxFrames)
        }
        if paths.count == 1 {
            let video = try VideoSource(path: paths[0])
            if !video.info.isStillImage && video.frameCount > 1 {
                return QuestionMedia(
                    source: .video(video), scope: .wholeVideo(maxFPS: maxFPS, maxFrames: maxFrames), isVideo: true,
                    kind: "video", path: paths[0])
            }
        }
        return try images(paths)
    }

    /// Still images, sent as Image 1, Image 2, …
    static func images(_ paths: [String]) throws -> QuestionMedia {
        var sizes: [(width: Int, height: Int)] = []
        for path in paths {
            let still = try VideoSource(path: path)
            guard still.info.isStillImage || still.frameCount == 1 else { throw AskError.mixedMedia(path: path) }
            sizes.append((still.info.width, still.info.height))
        }
        let name = paths.count == 1 ? (paths[0] as NSString).lastPathComponent : "\(paths.count) images"
        let source = FrameSource(
            name: name, frameTimestamps: paths.indices.map(Double.init), duration: Double(paths.count),
            frameSize: { sizes[$0] },
            decode: { index, width, height in try VideoSource(path: paths[index]).frame(at: 0, width: width, height: height) })
        return QuestionMedia(
            source: source, scope: .images(Array(paths.indices)), isVideo: false, kind: "images",
            path: paths.count == 1 ? paths[0] : ".")
    }

    /// A folder of frames (sorted by name) at `frameRate`, sampled like a video.
    static func folder(_ path: String, frameRate: Double, maxFPS: Double, maxFrames: Int) throws -> QuestionMedia {
        let files = try imageFiles(inFolder: path)
        guard !files.isEmpty else { throw AskError.emptyFolder(path: path) }
        let first = try VideoSource(path: files[0])
        let size = (width: first.info.width, height: first.info.height)
        let source = FrameSource(
            name: (path as NSString).lastPathComponent, frameTimestamps: files.indices.map { Double($0) / frameRate },
            duration: Double(files.count) / frameRate, frameSize: { _ in size },
            decode: { index, width, height in try VideoSource(path: files[index]).frame(at: 0, width: width, height: height) })
        return QuestionMedia(
            source: source, scope: .wholeVideo(maxFPS: maxFPS, maxFrames: maxFrames), isVideo: true, kind: "frames",
            path: path)
    }

    /// Image files of a folder, sorted by name as numbers read (frame2 before frame10).
    static func imageFiles(inFolder path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { AskMedia.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted { $0.compare($1, options: [.numeric]) == .orderedAscending }
            .map { (path as NSString).appendingPathComponent($0) }
    }

    /// Start time of a frame, in seconds.
    func time(ofFrame frame: Int) -> Double {
        source.frameTimestamps.indices.contains(frame) ? source.frameTimestamps[frame] : 0
    }
}

/// The Molmo2 task for `--task` and a label.
func groundingTask(_ task: AskTask, label: String, fps: Double) -> GroundingTask {
    switch task {
    case .point: return .point(label: label)
    case .count: return .count(label: label)
    case .track: return .track(label: label, fps: Int(fps))
    }
}

/// The task name a query record stores (`video_point`, `video_track`, `image_point`, …).
func recordTaskName(_ task: AskTask?, isVideo: Bool) -> String {
    guard isVideo else { return task == .count ? "image_count" : "image_point" }
    switch task {
    case .count: return "video_count"
    case .track: return "video_track"
    case .point, nil: return "video_point"
    }
}

/// The server and model named by `--endpoint` and `--model-name`; without a name, the server's only model.
func remoteModel(endpoint: String, modelName: String?, apiKey: String?) throws -> RemoteGroundingModel {
    if let modelName {
        return RemoteGroundingModel(configuration: try RemoteModelConfiguration(endpoint: endpoint, modelName: modelName, apiKey: apiKey))
    }
    let probe = try RemoteModelConfiguration(endpoint: endpoint, modelName: "?", apiKey: apiKey)
    let names = try runBlocking { try await RemoteGroundingModel(configuration: probe).servedModels() }
    guard names.count == 1 else {
        let list = names.isEmpty ? "none" : names.joined(separator: ", ")
        throw AssistError.invalidEndpoint(
            endpoint: endpoint, reason: "give --model-name (the server serves \(list))")
    }
    return RemoteGroundingModel(configuration: try RemoteModelConfiguration(endpoint: endpoint, modelName: names[0], apiKey: apiKey))
}

/// Runs async work to completion from synchronous command code.
func runBlocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await work()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}

/// A stage report as one status-line text.
func progressText(_ progress: GroundingProgress) -> String {
    var text = progress.stage.rawValue
    if let fraction = progress.fraction { text += String(format: " %d%%", Int((fraction * 100).rounded())) }
    if let detail = progress.detail { text += " (\(detail))" }
    return text
}
