import Foundation
import SpotterUI
import Testing

/// The model in the loop, end to end with the tiny random Molmo2 fixture: `spotter open`'s application core driven
/// in process (its rendered screen read as text) asks from the query pane, shows the predictions, accepts them,
/// continues a placed point with the model and quits; the real binary exports. The fixture's
/// free answers are noise; with the grammar constraint (`--constrain`) they are one valid `<points>`/`<tracks>`
/// element, so what the viewer shows and exports can be checked against `spotter ask` on the same frames.
@Suite(.serialized) struct ModelLoopTests {
    static let model = packageRoot.appendingPathComponent("Tests/MolmoRuntimeTests/Fixtures/qwen3-vision-tiny").path

    /// Multiset of (frame, x, y) with coordinates rounded to 1e-3 px.
    typealias PointBag = [String: Int]

    static func key(_ frame: Int, _ x: Double, _ y: Double) -> String {
        String(format: "%d %.3f %.3f", frame, x, y)
    }

    @Test func askAcceptContinueExport() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("model-loop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let video = directory.appendingPathComponent("shapes.mp4").path
        try FileManager.default.copyItem(atPath: samplePath("shapes.mp4"), toPath: video)
        let project = directory.appendingPathComponent("shapes.spotter").path

        // What the model answers on the same frames, asked from the command line.
        let asked = try runSpotter([
            "ask", video, "disc", "--task", "point", "--constrain", "--model", Self.model, "--format", "float32",
            "--max-frames", "4", "--fps", "2", "--max-tokens", "2048", "--json",
        ])
        try #require(asked.status == 0, "\(asked.stderr)")
        let answer = try #require(try JSONSerialization.jsonObject(with: asked.stdoutBytes) as? [String: Any])
        let objects = try #require(answer["objects"] as? [[String: Any]])
        var expected = PointBag()
        for object in objects {
            for point in object["points"] as? [[String: Any]] ?? [] {
                let frame = (point["frame"] as? NSNumber)?.intValue ?? -1
                let x = (point["x"] as? NSNumber)?.doubleValue ?? .nan
                let y = (point["y"] as? NSNumber)?.doubleValue ?? .nan
                expected[Self.key(frame, x, y), default: 0] += 1
            }
        }
        try #require(!expected.isEmpty, "the constrained answer has no points: \(answer["answer"] ?? "")")

        let viewer = try InProcessViewer(
            [video, "--graphics", "halfblock", "--model", Self.model, "--format", "float32", "--max-frames", "4", "--fps", "2", "--constrain"],
            columns: 160, rows: 50)
        let opened = viewer.screen
        try #require(opened.contains("Objects (0)"), "the viewer did not open:\n\(opened)")

        // The query pane: template and settings on the line above, the question on the status line.
        viewer.press(.character("/"))
        let pane = viewer.screen
        try #require(pane.contains("point to:"), "no query pane:\n\(pane)")
        #expect(pane.contains("Tab point · ^O whole video 2 fps ≤4"), "\(pane)")
        viewer.type("disc")
        viewer.press(.enter)
        let shown = await viewer.screen { _ in !viewer.core.state.jobRunning }
        let objectCount = objects.count
        #expect(shown.contains("\(objectCount) predicted object"), "\(shown)")
        #expect(shown.contains("Model"), "the model section of the objects pane is missing:\n\(shown)")
        #expect(shown.contains("\(objectCount) obj, \(objectCount) pending"), "\(shown)")
        #expect(shown.contains("<points coords="), "the answer text is not shown:\n\(shown)")
        // Nothing is in the project until accepted.
        #expect(try exportedPoints(project, directory: directory).isEmpty)

        viewer.press(.character("A"))
        let pointTotal = expected.values.reduce(0, +)
        let accepted = viewer.screen
        #expect(accepted.contains("accepted \(pointTotal) predicted point"), "\(accepted)")
        #expect(accepted.contains("Objects (\(objectCount))"), "\(accepted)")
        // The project already holds them (durable before the screen said so).
        #expect(try exportedPoints(project, directory: directory) == expected)

        // Undo and redo the accept.
        viewer.press(.character("u"))
        let undone = viewer.screen
        #expect(undone.contains("Objects (0)") && undone.contains("undone"), "\(undone)")
        #expect(try exportedPoints(project, directory: directory).isEmpty)
        viewer.press(.control("r"))
        let redone = viewer.screen
        #expect(redone.contains("Objects (\(objectCount))") && redone.contains("redone"), "\(redone)")

        // Continue a point a person places: deselect, click the picture on frame 0 (a new track), then c.
        viewer.press(.escape)
        viewer.click(column: 29, row: 11)
        let newTrack = objectCount + 1
        let placed = viewer.screen
        try #require(placed.contains("Objects (\(newTrack))"), "the click made no track:\n\(placed)")
        viewer.press(.character("c"))
        let continued = await viewer.screen { _ in !viewer.core.state.jobRunning }
        #expect(continued.contains("continued #\(newTrack)"), "\(continued)")

        viewer.press(.character("Q"))
        #expect(viewer.core.shouldQuit)
        viewer.close()

        // The export: one record for "disc" with the accepted points as model points of the question asked.
        let jsonl = directory.appendingPathComponent("out.jsonl").path
        let exported = try runSpotter(["export", project, "--format", "molmo2", "--output", jsonl])
        try #require(exported.status == 0, "\(exported.stderr)")
        let records = try String(contentsOfFile: jsonl, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let disc = try #require(records.first { $0["label"] as? String == "disc" }, "no disc record in \(records)")
        #expect(disc["task"] as? String == "video_point")
        #expect(disc["question"] as? String == "Point to disc")
        #expect((disc["answer"] as? String)?.contains("<points coords=\"") == true)
        let spotter = try #require(disc["spotter"] as? [String: Any])
        let queries = try #require(spotter["queries"] as? [[String: Any]])
        #expect(queries.count == 1)
        #expect(queries.first?["answer"] as? String == answer["answer"] as? String)
        var bag = PointBag()
        for track in spotter["tracks"] as? [[String: Any]] ?? [] {
            for row in track["entries"] as? [[Any]] ?? [] {
                #expect(row.count == 6 && row[4] as? String == "m", "not a model point: \(row)")
                bag[Self.key((row[0] as? NSNumber)?.intValue ?? -1, (row[1] as? NSNumber)?.doubleValue ?? .nan, (row[2] as? NSNumber)?.doubleValue ?? .nan), default: 0] += 1
            }
        }
        #expect(bag == expected)
        // The continued track: the placed point (human) on frame 0 and model points after it.
        let object = try #require(records.first { $0["label"] as? String == "object" }, "no record of the continued track")
        let continuedTrack = try #require(((object["spotter"] as? [String: Any])?["tracks"] as? [[String: Any]])?.first)
        let rows = continuedTrack["entries"] as? [[Any]] ?? []
        #expect(rows.first.map { ($0[0] as? NSNumber)?.intValue == 0 && $0[4] as? String == "h" } == true, "\(rows)")
        #expect(rows.count > 1 && rows.dropFirst().allSatisfy { ($0[0] as? NSNumber)?.intValue ?? 0 > 0 && $0[4] as? String == "m" }, "\(rows)")
    }

    /// The points of the project as (frame, x, y), read from a Molmo2 export made while the viewer runs.
    func exportedPoints(_ project: String, directory: URL) throws -> PointBag {
        let file = directory.appendingPathComponent("probe-\(UUID().uuidString).jsonl").path
        let result = try runSpotter(["export", project, "--format", "molmo2", "--output", file])
        try #require(result.status == 0, "\(result.stderr)")
        var bag = PointBag()
        for line in try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n") {
            let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for track in (record["spotter"] as? [String: Any])?["tracks"] as? [[String: Any]] ?? [] {
                for row in track["entries"] as? [[Any]] ?? [] {
                    bag[Self.key((row[0] as? NSNumber)?.intValue ?? -1, (row[1] as? NSNumber)?.doubleValue ?? .nan, (row[2] as? NSNumber)?.doubleValue ?? .nan), default: 0] += 1
                }
            }
        }
        return bag
    }

    /// A server that is not there: the question fails with one line naming the endpoint, and the viewer goes on.
    @Test func unreachableServerIsReportedOnTheStatusLine() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("model-loop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let video = directory.appendingPathComponent("shapes.mp4").path
        try FileManager.default.copyItem(atPath: samplePath("shapes.mp4"), toPath: video)
        let viewer = try InProcessViewer(
            [video, "--graphics", "halfblock", "--endpoint", "http://127.0.0.1:9/v1", "--model-name", "allenai/Molmo2-4B", "--max-frames", "2"],
            columns: 120, rows: 40)
        let opened = viewer.screen
        try #require(opened.contains("frame 0/"), "the viewer did not open:\n\(opened)")
        viewer.press(.character("/"))
        viewer.type("disc")
        viewer.press(.enter)
        let failed = await viewer.screen { _ in !viewer.core.state.jobRunning }
        #expect(failed.contains("127.0.0.1:9"), "\(failed)")
        #expect(!failed.contains("predicted object"))
        // Still usable: step a frame and quit cleanly.
        viewer.press(.right)
        let stepped = viewer.screen
        #expect(stepped.contains("frame 1/"))
        viewer.press(.character("Q"))
        #expect(viewer.core.shouldQuit)
    }
}
