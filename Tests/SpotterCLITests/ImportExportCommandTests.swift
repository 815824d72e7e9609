import Foundation
import Testing

/// `spotter import` and `spotter export` on the sample: importing twice, foreign rows into a fresh project, and the
/// README's description of the sample annotations.
@Suite struct ImportExportCommandTests {
    static func scratch() throws -> (directory: URL, video: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let video = directory.appendingPathComponent("shapes.mp4").path
        try FileManager.default.copyItem(atPath: samplePath("shapes.mp4"), toPath: video)
        return (directory, video)
    }

    @Test func importingTheSampleTwiceLeavesTheProjectAsAfterOnce() throws {
        let (directory, video) = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = samplePath("shapes.molmo2.jsonl")
        let first = try runSpotter(["import", file, "--media", video])
        #expect(first.status == 0, "\(first.stderr)")
        // README: three tracks (one per shape) and a pointing annotation of the four disc cells.
        #expect(first.stdout.hasPrefix("imported 7 tracks"), "\(first.stdout)")
        let once = directory.appendingPathComponent("once.jsonl").path
        #expect(try runSpotter(["export", video, "--format", "molmo2", "-o", once]).status == 0)
        let second = try runSpotter(["import", file, "--media", video])
        #expect(second.status == 0)
        #expect(second.stdout.hasPrefix("imported 0 tracks"), "\(second.stdout)")
        #expect(second.stdout.contains("7 tracks and 0 queries already in the project were skipped"))
        let twice = directory.appendingPathComponent("twice.jsonl").path
        #expect(try runSpotter(["export", video, "--format", "molmo2", "-o", twice]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: once)) == Data(contentsOf: URL(fileURLWithPath: twice)))
        let both = try runSpotter(["import", file, "--media", video, "--merge", "--replace"])
        #expect(both.status != 0)
    }

    @Test func foreignRowsImportIntoAFreshProjectFromTheMediaAlone() throws {
        let (directory, video) = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("published.jsonl").path
        let row =
            #"{"video_id":"shapes","video_source":"youtube","category":"animal","annotator_unsure":false,"label":"disc","question":"How many discs?","count":1,"video_duration":7.0,"clip_start":0.0,"clip_end":7.0,"two_fps_timestamps":[2.0],"points":[[{"x":50.0,"y":50.0}]]}"#
        try Data((row + "\n").utf8).write(to: URL(fileURLWithPath: file))
        let result = try runSpotter(["import", file, "--media", video])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("imported 1 tracks (1 points)"), "\(result.stdout)")
        // The published category and source come back out instead of Spotter's defaults.
        let out = directory.appendingPathComponent("out.jsonl").path
        #expect(try runSpotter(["export", video, "--format", "molmo2", "-o", out]).status == 0)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains(#""category":"animal""#) && text.contains(#""video_source":"youtube""#))
        #expect(text.contains(#""two_fps_timestamps":[2]"#))
    }

    /// tapnet's pickle layout written as JSON (normalised, pixel-centre points) into a fresh project: `--media` gives
    /// the size, and the file is recognised as TAP-Vid.
    @Test func tapVidPickleStyleJSONImportsIntoAFreshProject() throws {
        let (directory, video) = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("davis.json").path
        let frames = 210
        let points = Array(repeating: "[0.25, 0.5]", count: frames).joined(separator: ", ")
        let flags = Array(repeating: "false", count: frames).joined(separator: ", ")
        let text = #"{"shapes": {"points": [["# + points + #"]], "occluded": [["# + flags + "]]}}\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        let result = try runSpotter(["import", file, "--media", video])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("imported 1 tracks (\(frames) points)"), "\(result.stdout)")
        let out = directory.appendingPathComponent("out.json").path
        #expect(try runSpotter(["export", video, "--format", "tapvid", "-o", out]).status == 0)
        // 0.25 · 640 + 0.5 = 160.5, 0.5 · 360 + 0.5 = 180.5 (Spotter's pixel-corner origin).
        let exported = try String(contentsOfFile: out, encoding: .utf8)
        #expect(exported.contains("[160.5,180.5]"))
    }
}
