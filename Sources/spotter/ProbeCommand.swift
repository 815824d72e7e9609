import ArgumentParser
import Foundation
import Media

/// `spotter probe FILE`: what Spotter sees in a video or image file.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Show the size, timing and frame count Spotter reads from a video or image.",
        discussion: """
            Opens the file the way the viewer does: it reads every packet of the video stream once to \
            build the frame index, so the frame count is exact (B-frames, timestamp gaps and variable \
            frame rates included). Times are seconds from frame 0.

            --json prints the same information as one JSON object (the VideoInfo fields); with \
            --frames the object is {"info": {...}, "frames": [{"index", "time", "keyframe"}, ...]}.
            """)

    @Argument(help: "A video or image file.")
    var file: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: "Also list every frame: index, time in seconds, keyframe.")
    var frames = false

    func run() throws {
        let source = try VideoSource(path: file)
        let info = source.info
        let keyframes = Set(source.keyframeIndices)
        let frameList = source.frameTimestamps.enumerated().map {
            ProbeFrame(index: $0.offset, time: $0.element, keyframe: keyframes.contains($0.offset))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data =
                frames
                ? try encoder.encode(ProbeReport(info: info, frames: frameList)) : try encoder.encode(info)
            print(String(decoding: data, as: UTF8.self))
            return
        }
        for (name, value) in ProbeCommand.rows(info, keyframeCount: keyframes.count) {
            print(name.padding(toLength: 16, withPad: " ", startingAt: 0) + value)
        }
        if frames {
            print("")
            print("frame      time (s)  key")
            for frame in frameList {
                let index = String(frame.index).leftPadded(to: 5)
                let time = String(format: "%.6f", frame.time).leftPadded(to: 14)
                print(frame.keyframe ? "\(index)\(time)  K" : "\(index)\(time)")
            }
        }
    }

    static func rows(_ info: VideoInfo, keyframeCount: Int) -> [(String, String)] {
        [
            ("file", info.path),
            ("container", info.containerFormat),
            ("codec", info.codec),
            ("size", "\(info.width)x\(info.height) (as displayed; coded \(info.codedWidth)x\(info.codedHeight))"),
            ("pixel aspect", "\(info.sampleAspectRatio)"),
            ("rotation", "\(info.rotation) degrees counter-clockwise (frames are decoded upright)"),
            ("fps", "\(info.fps) = \(String(format: "%.4f", info.fps.doubleValue)) (\(info.fpsSource))"),
            ("time base", "\(info.timeBase)"),
            ("start time", String(format: "%.6f s", info.startTime)),
            ("duration", String(format: "%.6f s", info.duration)),
            ("frames", "\(info.frameCount)\(info.frameCountIsExact ? "" : " (scan stopped early on a read error)")"),
            ("keyframes", "\(keyframeCount)"),
            ("still image", info.isStillImage ? "yes" : "no"),
            ("B-frames", info.hasBFrames ? "yes" : "no"),
            ("frame index", "by \(info.indexMethod)"),
        ]
    }
}

struct ProbeFrame: Codable {
    var index: Int
    var time: Double
    var keyframe: Bool
}

struct ProbeReport: Codable {
    var info: VideoInfo
    var frames: [ProbeFrame]
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
