import Foundation
import Media
import Testing

/// The command-line tool on good and bad input: one line on stderr naming the file, exit status 1, no crash.
struct CommandTests {
    static let fixtures = packageRoot.appendingPathComponent("Tests/MediaTests/Fixtures")

    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)-\(name)").path
    }

    /// Every bad input fails the same way: status 1, one stderr line `spotter: PATH…`, nothing on stdout.
    func expectOneLineFailure(_ result: ProcessResult, naming path: String, _ comment: String = "") {
        #expect(result.status == 1, "\(comment): status \(result.status), stderr \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(comment): expected one line, got \(result.stderr)")
        #expect(result.stderr.hasPrefix("spotter: "), "\(comment): \(result.stderr)")
        #expect(result.stderr.contains(path), "\(comment): the message must name \(path): \(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test(arguments: ["random_bytes.mp4", "not_a_video.txt", "empty.mp4", "truncated_no_moov.mp4", "huge_dimensions.y4m", "no-such-file.mp4"])
    func badMediaIsRefusedByEveryCommand(_ name: String) throws {
        let path = Self.fixtures.appendingPathComponent(name).path
        expectOneLineFailure(try runSpotter(["probe", path]), naming: path, "probe \(name)")
        expectOneLineFailure(try runSpotter(["render", path, "--frame", "0"]), naming: path, "render \(name)")
        expectOneLineFailure(try runSpotter(["open", path]), naming: path, "open \(name)")
    }

    @Test(arguments: [[], ["open"], ["ask"], ["render"], ["bench", "render"], ["export"], ["doctor"]])
    func helpIsPrintedForEveryCommand(_ command: [String]) throws {
        let result = try runSpotter(command + ["--help"])
        #expect(result.status == 0, "\(command): \(result.stderr)")
        #expect(result.stdout.contains("USAGE:"), "\(command): \(result.stdout)")
    }

    @Test func argumentMistakesGetUsage() throws {
        let result = try runSpotter(["render", samplePath("shapes.mp4")])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--frame"))
    }

    @Test func openNeedsATerminal() throws {
        let result = try runSpotter(["open", samplePath("shapes.mp4"), "--no-project"])
        expectOneLineFailure(result, naming: "shapes.mp4")
        #expect(result.stderr.contains("terminal"))
    }

    @Test func probeReportsTheSample() throws {
        let result = try runSpotter(["probe", samplePath("shapes.mp4"), "--json"])
        #expect(result.status == 0)
        let info = try JSONDecoder().decode(VideoInfo.self, from: result.stdoutBytes)
        #expect(info.width == 640 && info.height == 360 && info.frameCount == 210 && info.frameCountIsExact)
    }

    @Test func renderFramesInEveryFormat() throws {
        let source = try VideoSource(path: samplePath("shapes.mp4"))
        // PNG at source size is the decoded frame, exactly.
        let png = temporaryPath("f.png")
        defer { unlink(png) }
        let r1 = try runSpotter(["render", samplePath("shapes.mp4"), "--frame", "42", "--format", "png", "-o", png])
        #expect(r1.status == 0, "\(r1.stderr)")
        let written = try VideoSource(path: png).frame(at: 0)
        #expect(written.pixels == (try source.frame(at: 42)).pixels)
        // --time picks the nearest frame: 1.4 s is frame 42 at 30 fps.
        let png2 = temporaryPath("t.png")
        defer { unlink(png2) }
        #expect(try runSpotter(["render", samplePath("shapes.mp4"), "--time", "1.4", "--format", "png", "-o", png2]).status == 0)
        #expect(try VideoSource(path: png2).frame(at: 0).pixels == written.pixels)
        // Half-blocks: 80 columns, rows from the aspect ratio (640x360 → 80x45 pixels → 23 rows).
        let half = try runSpotter(["render", samplePath("shapes.mp4"), "--frame", "42", "--cols", "80"])
        #expect(half.status == 0)
        #expect(half.stdout.split(separator: "\r\n").count == 23)  // rows end with CR LF
        // Sixel: header, raster size.
        let six = try runSpotter(["render", samplePath("shapes.mp4"), "--frame", "42", "--format", "sixel", "--width", "320"])
        #expect(six.status == 0)
        #expect(six.stdout.hasPrefix("\u{1B}P0;1;0q\"1;1;320;180"))
        #expect(six.stdout.hasSuffix("\u{1B}\\"))
    }

    @Test func renderRefusesFramesOutsideTheVideo() throws {
        let path = samplePath("shapes.mp4")
        expectOneLineFailure(try runSpotter(["render", path, "--frame", "210"]), naming: path)
        expectOneLineFailure(try runSpotter(["render", path, "--time", "9"]), naming: path)
    }

    @Test func sampleAnnotationsImportAndExportUnchanged() throws {
        let project = temporaryPath("sample.spotter")
        let jsonl = samplePath("shapes.molmo2.jsonl")
        let imported = try runSpotter(["import", jsonl, "--media", samplePath("shapes.mp4"), "--project", project])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("imported 7 tracks"), "\(imported.stdout)")
        let out = temporaryPath("again.jsonl")
        defer { unlink(out) }
        let exported = try runSpotter(["export", project, "--format", "molmo2", "-o", out])
        #expect(exported.status == 0, "\(exported.stderr)")
        func answers(_ path: String) throws -> [String] {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                return "\(object?["task"] ?? "") \(object?["answer"] ?? "")"
            }
        }
        #expect(try answers(out) == answers(jsonl))
    }

    @Test func malformedJSONLImportsNothingAndNamesTheLine() throws {
        let lines = try String(contentsOfFile: samplePath("shapes.molmo2.jsonl"), encoding: .utf8).split(separator: "\n")
        let bad = temporaryPath("bad.jsonl")
        defer { unlink(bad) }
        try (lines[0] + "\n" + lines[1] + "\n{\"task\": \"video_track\", \"answer\": [\n" + lines[2] + "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let project = temporaryPath("bad.spotter")
        let result = try runSpotter(["import", bad, "--media", samplePath("shapes.mp4"), "--project", project])
        expectOneLineFailure(result, naming: bad + ":3")
        let tracks = try runSpotter(["export", project, "--format", "tapvid", "-o", temporaryPath("empty.json")])
        // Either no project was created, or it holds nothing.
        if tracks.status == 0 {
            #expect(tracks.stdout.contains("0 tracks") || tracks.stdout.contains(" 0 points"), "\(tracks.stdout)")
        }
    }
}
