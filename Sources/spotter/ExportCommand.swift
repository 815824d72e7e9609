import Annotations
import ArgumentParser
import Foundation

/// Where a project lives: a `.spotter` path as given, or the default project beside a media file.
enum ProjectLocation {
    static func url(forProjectOrMedia path: String) -> URL {
        if path.hasSuffix(".spotter") { return URL(fileURLWithPath: path) }
        return ProjectStore.defaultProjectURL(forMedia: path)
    }
}

/// `spotter export`: writes a project's annotations in an interchange format.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a project's points and tracks as Molmo2 JSONL, CVAT video XML or TAP-Vid JSON.",
        discussion: """
            PROJECT is a project file (NAME.spotter) or the media file whose project sits beside it.

            molmo2: one JSON line per label with the canonical Molmo2 answer, the sampled timestamps, pixels and \
            the package dataset fields (two_fps_timestamps on the 0.5 s grid, frame_trajectories, string mask_id).

            molmo2-eval: Molmo2's evaluation rows (pointing with pixel points, masks, width, height; tracking with \
            per-frame points and masks).

            cvat: CVAT for video 1.1 XML, one single-point track per object.

            tapvid: query points, per-frame positions and occlusion.

            Every format imports back into Spotter without loss. The file is written to a temporary file and \
            renamed, so an interrupted export never leaves a partial file.
            """)

    @Argument(help: "The project file (NAME.spotter) or its media file.")
    var project: String

    @Option(help: "Output format.")
    var format: AnnotationFormat

    @Option(name: [.short, .customLong("output")], help: "The file to write.")
    var output: String

    @Option(help: "Molmo2 only: the task of every record.")
    var task: Molmo2ExportTask?

    func validate() throws {
        if task != nil, format != .molmo2, format != .molmo2Evaluation {
            throw ValidationError("--task applies to the molmo2 formats only.")
        }
    }

    func run() throws {
        let url = ProjectLocation.url(forProjectOrMedia: project)
        let store = try ProjectStore.open(at: url, readOnly: true)
        let snapshot = store.snapshot()
        try store.close()
        let report = try AnnotationExchange.export(
            snapshot, format: format, to: output, options: ExportOptions(task: task?.rawValue))
        var line = "wrote \(report.path): \(report.format.rawValue), \(report.items) "
        line += report.format == .molmo2 || report.format == .molmo2Evaluation ? "records" : "tracks"
        line += ", \(report.points) points, \(report.bytes) bytes"
        print(line)
        if report.clamped > 0 {
            print("warning: \(report.clamped) coordinates outside the frame were clamped to 0–1000 in the answers")
        }
        for warning in report.warnings { print("warning: \(warning)") }
    }
}
