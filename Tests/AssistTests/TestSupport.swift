import Basics
import Annotations
import Foundation
import Media

@testable import Assist

/// The repository root (this file is Tests/AssistTests/TestSupport.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func fixture(_ name: String) throws -> Data {
    try Data(contentsOf: repositoryRoot.appendingPathComponent("Tests/AssistTests/Fixtures/\(name)"))
}

/// A constant-rate video made up in memory: frame k is a flat picture whose red channel is k (mod 256), so a
/// decoded frame can be recognised; every decode is counted.
final class SyntheticVideo: @unchecked Sendable {
    let frameCount: Int
    let fps: Double
    let width: Int
    let height: Int
    private let lock = NSLock()
    private var decodedFrames: [Int] = []

    init(frameCount: Int = 210, fps: Double = 30, width: Int = 640, height: Int = 360) {
        self.frameCount = frameCount
        self.fps = fps
        self.width = width
        self.height = height
    }

    var decoded: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return decodedFrames
    }

    var source: FrameSource {
        FrameSource(
            name: "synthetic.mp4", frameTimestamps: (0..<frameCount).map { Double($0) / fps },
            duration: Double(frameCount) / fps, frameSize: { [width, height] _ in (width, height) },
            decode: { [self] index, w, h in
                lock.lock()
                decodedFrames.append(index)
                lock.unlock()
                var pixels = [UInt8](repeating: 40, count: w * h * 3)
                for i in stride(from: 0, to: pixels.count, by: 3) { pixels[i] = UInt8(index % 256) }
                return Frame(index: index, timestamp: Double(index) / fps, width: w, height: h, pixels: pixels)
            })
    }
}

/// What a vLLM server serving Molmo2 needs to find in a chat-completion request; `problems` lists every
/// mismatch (the test server answers 400 with them, as vLLM's request validation would).
struct Molmo2RequestShape {
    var model: String
    var question: String
    var stream: Bool
    /// Times as printed in the prompt, one per frame, for a video; nil for images.
    var printedTimes: [String]?
    /// Number of images for an image request.
    var imageCount: Int = 0
    var maxTokens: Int?

    func problems(_ request: LoopbackChatServer.Request) -> [String] {
        var out: [String] = []
        if request.method != "POST" { out.append("method \(request.method)") }
        if request.path != "/v1/chat/completions" { out.append("path \(request.path)") }
        guard let body = request.json else { return out + ["body is not a JSON object"] }
        if body["model"] as? String != model {
            out.append("The model `\(body["model"] ?? "nil")` does not exist.")
        }
        if (body["stream"] as? Bool ?? false) != stream { out.append("stream is \(body["stream"] ?? "nil")") }
        if let maxTokens, (body["max_tokens"] as? NSNumber)?.intValue != maxTokens { out.append("max_tokens \(body["max_tokens"] ?? "nil")") }
        if (body["temperature"] as? NSNumber)?.doubleValue != 0 { out.append("temperature is not 0") }
        guard let messages = body["messages"] as? [[String: Any]], messages.count == 1,
            messages[0]["role"] as? String == "user", let parts = messages[0]["content"] as? [[String: Any]]
        else { return out + ["messages must be one user message with content parts"] }
        guard let last = parts.last, last["type"] as? String == "text", last["text"] as? String == question else {
            return out + ["the last part must be the question text"]
        }
        let visual = parts.dropLast()
        if let printedTimes {
            guard visual.count == 1, visual[0]["type"] as? String == "video_url",
                let url = (visual[0]["video_url"] as? [String: Any])?["url"] as? String,
                url.hasPrefix("data:video/jpeg;base64,")
            else { return out + ["expected one video_url part with a data:video/jpeg;base64 URL"] }
            let frames = url.dropFirst("data:video/jpeg;base64,".count).split(separator: ",", omittingEmptySubsequences: false)
            if frames.count != printedTimes.count { out.append("\(frames.count) frames sent, expected \(printedTimes.count)") }
            for (k, frame) in frames.enumerated() {
                guard let bytes = Data(base64Encoded: String(frame)), bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) else {
                    out.append("frame \(k) is not a base64 PNG")
                    break
                }
            }
            guard let video = (body["media_io_kwargs"] as? [String: Any])?["video"] as? [String: Any],
                let fps = (video["fps"] as? NSNumber)?.doubleValue, fps > 0,
                let indices = video["frames_indices"] as? [NSNumber],
                let numFrames = (video["num_frames"] as? NSNumber)?.intValue,
                let total = (video["total_num_frames"] as? NSNumber)?.intValue
            else { return out + ["media_io_kwargs.video needs fps, frames_indices, num_frames, total_num_frames"] }
            if numFrames != frames.count { out.append("num_frames \(numFrames) for \(frames.count) frames") }
            if indices.count != frames.count {
                out.append("frames_indices length (\(indices.count)) must match number of frames sent (\(frames.count))")
            }
            if total < frames.count { out.append("total_num_frames (\(total)) must be >= number of frames sent") }
            if video["do_sample_frames"] as? Bool != false { out.append("do_sample_frames must be false") }
            // vLLM's Molmo2 processor prints frame_idx / fps with one decimal.
            let printed = indices.map { String(format: "%.1f", $0.doubleValue / fps) }
            if printed != printedTimes { out.append("timestamps \(printed) instead of \(printedTimes)") }
        } else {
            if visual.count != imageCount { out.append("\(visual.count) image parts, expected \(imageCount)") }
            for part in visual {
                guard part["type"] as? String == "image_url",
                    let url = (part["image_url"] as? [String: Any])?["url"] as? String, url.hasPrefix("data:image/png;base64,")
                else {
                    out.append("image parts must be PNG data URLs")
                    break
                }
            }
            if body["media_io_kwargs"] != nil { out.append("media_io_kwargs sent for images") }
        }
        return out
    }

    /// vLLM's error body for a rejected request.
    static func errorBody(_ problems: [String]) -> String {
        let message = problems.joined(separator: "; ").replacingOccurrences(of: "\"", with: "'")
        return #"{"error": {"message": "\#(message)", "type": "BadRequestError", "param": null, "code": 400}}"#
    }
}

/// The `data` payloads of a recorded server-sent-event transcript.
func recordedEvents(_ name: String) throws -> [String] {
    let text = String(decoding: try fixture(name), as: UTF8.self)
    return text.components(separatedBy: "\n\n").compactMap { block in
        let line = block.trimmingCharacters(in: .newlines)
        return line.hasPrefix("data: ") ? String(line.dropFirst(6)) : nil
    }
}

/// Runs `work` while moving `clock` on by `step` whenever it has a sleeper and `when` holds, until `work` ends: the
/// way a test lets a timeout expire without waiting on the wall clock.
func runAdvancing<T: Sendable>(
    _ clock: ManualClock, by step: Duration, when ready: @escaping @Sendable () -> Bool = { true },
    _ work: @escaping @Sendable () async throws -> T
) async throws -> T {
    let task = Task { try await work() }
    let driver = Task {
        while !Task.isCancelled {
            if clock.sleeperCount > 0 && ready() { clock.advance(by: step) }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
    }
    defer { driver.cancel() }
    return try await task.value
}
