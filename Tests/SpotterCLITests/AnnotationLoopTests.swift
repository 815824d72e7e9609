import Foundation
import SpotterUI
import TerminalGraphics
import Testing

/// The manual annotation loop, end to end, the way a person works: click a point on an object, let the tracker
/// follow it, correct one frame, undo and redo, quit; then export, import back and score against the ground truth
/// of the sample. Drives `spotter open`'s application core in process (its rendered screen read as text) and reads
/// the project with the real binary from outside while the viewer is open.
@Suite(.serialized) struct AnnotationLoopTests {
    static let columns = 160
    static let rows = 50
    /// The ground-truth point annotated. It sits on the noise blob, which only translates; `spotter bench track`
    /// follows it for 122 frames, while the disc's and the stripes' points are lost within a few frames.
    static let pointLabel = "blob top"
    static let label = "blob"
    /// The frame corrected: a frame Molmo2 samples at 2 fps (1.5 s), so it appears in the JSONL answer.
    static let correctedFrame = 45

    @Test func clickPropagateCorrectUndoRedoExportImportCompare() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let video = directory.appendingPathComponent("shapes.mp4").path
        try FileManager.default.copyItem(atPath: samplePath("shapes.mp4"), toPath: video)
        let project = directory.appendingPathComponent("shapes.spotter").path
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

        let truth = try GroundTruth.load(samplePath("shapes.points.json"))
        let point = try #require(truth.points.first { $0.label == Self.pointLabel })
        try #require(point.visible[0], "the annotated point must be visible on frame 0")

        let viewer = try InProcessViewer([video, "--graphics", "halfblock"], columns: Self.columns, rows: Self.rows)
        let start = viewer.screen
        try #require(start.contains("frame 0/\(truth.frameCount - 1)"), "the viewer did not start:\n\(start)")

        // 1. Click the ground-truth point on frame 0: the picture maps cells to source pixels as the app lays it out
        //    (no track yet, so no lane under the timeline).
        let before = mapping(tracks: 0, truth: truth)
        let target = try #require(before.cell(sourceX: point.position(0).x, sourceY: point.position(0).y))
        let placed = try #require(before.sourcePoint(column: target.column, row: target.row))
        viewer.click(column: target.column, row: target.row)
        let created = viewer.screen
        #expect(created.contains("Objects (1)"), "no track in the objects pane:\n\(created)")
        #expect(counts(created) == [1, 1, 0, 0], "\(paneText(created))")
        #expect(statusLine(created).contains("selected #1 object"), "\(statusLine(created))")
        #expect(FileManager.default.fileExists(atPath: project), "the project must be created beside the video copy")

        // Name the object; the label travels to every export.
        viewer.press(.character("l"))
        #expect(statusLine(viewer.screen).hasPrefix("label: object"))
        viewer.press(.control("u"))
        viewer.type(Self.label)
        viewer.press(.enter)
        let labelled = viewer.screen
        #expect(statusLine(labelled).contains("selected #1 \(Self.label)"), "\(statusLine(labelled))")
        #expect(paneText(labelled).contains(" 1 \(Self.label) "), "\(paneText(labelled))")

        // 2. Follow it forward. The run is in the background; its summary replaces the progress line.
        viewer.press(.character("p"))
        #expect(statusLine(viewer.screen).contains("propagating #1 forward"))
        let propagatedScreen = await viewer.screen { _ in !viewer.core.state.jobRunning }
        let summary = statusLine(propagatedScreen)
        let (tracked, lastTracked) = try #require(Self.parsePropagation(summary), "no summary: \(summary)")
        #expect(lastTracked == tracked, "from frame 0, n frames end at frame n: \(summary)")
        // The ground truth is visible through frame 124: the blob must be followed for most of that.
        try #require(tracked >= 100 && tracked > Self.correctedFrame, "lost too early: \(summary)")
        #expect(counts(propagatedScreen) == [tracked + 1, 1, 0, tracked], "\(paneText(propagatedScreen))")

        // The store is written before the screen shows it: a second process reads the run while the viewer is open.
        let trackerRun = try exportedTrack(project, to: path("open-1.jsonl"))
        let trackerPoint = try #require(trackerRun.entry(Self.correctedFrame))
        #expect(trackerRun.entries.count == tracked + 1)
        #expect(trackerPoint.provenance == "t" && !trackerPoint.isKeyframe)

        // 3. Go to a later frame and put the point elsewhere: that frame becomes a human keyframe.
        viewer.press(.character(":"))
        viewer.type("\(Self.correctedFrame)")
        viewer.press(.enter)
        #expect(viewer.screen.contains("frame \(Self.correctedFrame)/"))
        let after = mapping(tracks: 1, truth: truth)  // one lane now sits under the timeline
        let shown = try #require(after.cell(sourceX: trackerPoint.x, sourceY: trackerPoint.y))
        let correction = (column: shown.column + 5, row: shown.row + 2)
        let corrected = try #require(after.sourcePoint(column: correction.column, row: correction.row))
        viewer.click(column: correction.column, row: correction.row)
        let correctedScreen = viewer.screen
        #expect(counts(correctedScreen) == [tracked + 1, 2, 0, tracked - 1], "\(paneText(correctedScreen))")

        let whileOpen = try exportedTrack(project, to: path("open-2.jsonl"))
        let humanPoint = try #require(whileOpen.entry(Self.correctedFrame))
        #expect(humanPoint.provenance == "h" && humanPoint.isKeyframe)
        #expect(abs(humanPoint.x - corrected.x) < 1e-6 && abs(humanPoint.y - corrected.y) < 1e-6, "\(humanPoint) vs \(corrected)")
        #expect(hypot(humanPoint.x - trackerPoint.x, humanPoint.y - trackerPoint.y) > 20, "the correction must move the point")

        // 4. Undo brings the tracker's point back; redo the correction. Both reach the file at once.
        viewer.press(.character("u"))
        let undone = viewer.screen
        #expect(statusLine(undone).hasPrefix(" undone (1 track)"), "\(statusLine(undone))")
        #expect(counts(undone) == [tracked + 1, 1, 0, tracked], "\(paneText(undone))")
        #expect(try exportedTrack(project, to: path("open-3.jsonl")).entry(Self.correctedFrame) == trackerPoint)

        viewer.press(.control("r"))
        let redone = viewer.screen
        #expect(statusLine(redone).hasPrefix(" redone (1 track)"), "\(statusLine(redone))")
        #expect(counts(redone) == [tracked + 1, 2, 0, tracked - 1], "\(paneText(redone))")
        #expect(try exportedTrack(project, to: path("open-4.jsonl")).entry(Self.correctedFrame) == humanPoint)

        // 5. Quit, then work on the project from outside.
        viewer.press(.character("Q"))
        #expect(viewer.core.shouldQuit)
        viewer.close()

        let exports = ["molmo2": path("loop.jsonl"), "cvat": path("loop.xml"), "tapvid": path("loop.json")]
        for (format, file) in exports.sorted(by: { $0.key < $1.key }) {
            let result = try runSpotter(["export", project, "--format", format, "-o", file])
            #expect(result.status == 0, "export \(format): \(result.stderr)")
            #expect(result.stdout.contains(", \(tracked + 1) points,"), "export \(format): \(result.stdout)")
        }

        // The Molmo2 record: the label, the human points, the tracker's frames, the corrected frame in the answer.
        let record = try Molmo2Record(path: exports["molmo2"]!)
        #expect(record.label == Self.label && record.answer.hasSuffix(">\(Self.label)</tracks>"), "\(record.answer)")
        let track = record.track
        #expect(track.entries.map(\.frame) == Array(0...tracked))
        #expect(track.entry(0).map { abs($0.x - placed.x) < 1e-6 && abs($0.y - placed.y) < 1e-6 && $0.provenance == "h" } == true)
        #expect(track.entry(Self.correctedFrame) == humanPoint)
        let trackerFrames = track.entries.filter { $0.provenance == "t" }.map(\.frame)
        #expect(trackerFrames == Array(1...tracked).filter { $0 != Self.correctedFrame })
        let answer = record.answerPoints
        let answered = try #require(answer[1.5], "no point at 1.5 s in \(record.answer)")
        #expect(abs(Double(answered.x) - corrected.x / Double(truth.width) * 1000) <= 0.5, "\(answered) vs \(corrected)")
        #expect(abs(Double(answered.y) - corrected.y / Double(truth.height) * 1000) <= 0.5, "\(answered) vs \(corrected)")
        for (time, frame) in [(0.5, 15), (1.0, 30)] {  // propagated frames are in the answer too
            let stored = try #require(track.entry(frame))
            let shownAt = try #require(answer[time], "no point at \(time) s in \(record.answer)")
            #expect(abs(Double(shownAt.x) - stored.x / Double(truth.width) * 1000) <= 0.5)
            #expect(abs(Double(shownAt.y) - stored.y / Double(truth.height) * 1000) <= 0.5)
        }
        let trajectory = try #require(record.trajectoryPoint(frame: Self.correctedFrame))
        #expect(abs(trajectory.x - corrected.x) <= 0.005 + 1e-9 && abs(trajectory.y - corrected.y) <= 0.005 + 1e-9)

        let tapvid = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: exports["tapvid"]!))) as? [String: Any]
        let targets = ((tapvid?["target_points"] as? [Any])?.first as? [Any])?.map { ($0 as? [NSNumber])?.map(\.doubleValue) ?? [] }
        #expect(targets?.count == truth.frameCount)
        let targetAt = targets?[Self.correctedFrame] ?? []
        #expect(targetAt.count == 2 && abs(targetAt[0] - corrected.x) < 1e-6 && abs(targetAt[1] - corrected.y) < 1e-6, "\(targetAt)")

        // Every export imports into a new project with exactly the same points, and compare agrees.
        for (format, file) in exports.sorted(by: { $0.key < $1.key }) {
            let reimported = path("reimported-\(format).spotter")
            let result = try runSpotter(["import", file, "--media", video, "--project", reimported])
            #expect(result.status == 0, "import \(format): \(result.stderr)")
            #expect(result.stdout.contains("imported 1 tracks (\(tracked + 1) points)"), "import \(format): \(result.stdout)")
            let again = try Molmo2Record(path: try exportedFile(reimported, to: path("again-\(format).jsonl")))
            #expect(again.label == Self.label, "\(format)")
            #expect(again.track == track, "\(format): the points changed on the way through the file")

            let scores = try compare(exports["molmo2"]!, reimported, "--frames", "all")
            #expect(scores.f1 > 1 - 1e-9 && scores.evaluatedFrames == tracked + 1, "\(format): \(scores)")
            #expect(scores.pairedTracks == 1 && scores.averageJaccard == 1 && scores.occlusionAccuracy == 1, "\(format): \(scores)")
        }

        // Against the ground truth. The click put the point up to half a cell from the true point; the blob only
        // translates, so that offset stays constant and the tracker's error is measured against truth + offset.
        let offset = (x: placed.x - point.position(0).x, y: placed.y - point.position(0).y)
        for entry in track.entries where entry.provenance == "t" {
            let truthHere = point.position(entry.frame)
            let error = hypot(entry.x - truthHere.x - offset.x, entry.y - truthHere.y - offset.y)
            #expect(point.visible[entry.frame], "frame \(entry.frame): tracked while the point is hidden")
            #expect(error <= (entry.frame <= 30 ? 1.5 : 3.0), "frame \(entry.frame): \(error) px from the truth")
        }

        // `spotter compare` on the ground truth written as a TAP-Vid file (what any TAP-Vid tool would produce).
        let truthFile = path("truth.json")
        try point.writeTAPVid(to: truthFile, label: Self.label, width: truth.width, height: truth.height)
        let threshold = 6.0
        let scores = try compare(truthFile, project, "--frames", "all", "--threshold", "\(threshold)")
        // Frames where either side has a visible point, and of those the ones where they agree within the threshold.
        var evaluated = 0
        var hits = 0
        for frame in 0..<truth.frameCount {
            let mine = track.entry(frame)
            guard point.visible[frame] || mine != nil else { continue }
            evaluated += 1
            if let mine, point.visible[frame],
                hypot(mine.x - point.position(frame).x, mine.y - point.position(frame).y) <= threshold
            {
                hits += 1
            }
        }
        #expect(scores.evaluatedFrames == evaluated, "\(scores)")
        #expect(abs(scores.f1 - Double(hits) / Double(evaluated)) < 1e-6, "\(scores) vs \(hits)/\(evaluated)")
        #expect(Double(hits) / Double(evaluated) >= 0.7, "the track covers too little of the object's visible span")
        #expect(scores.pairedTracks == 1 && scores.evaluatedPoints == truth.frameCount - 1, "\(scores)")
        #expect(scores.averageWithin >= 0.45 && scores.averageJaccard >= 0.4 && scores.occlusionAccuracy >= 0.7, "\(scores)")
        // The edit log: a click, a label and a correction by hand; the tracker's points, all kept but the one corrected.
        #expect(scores.humanEdits == 3 && scores.undos == 1 && scores.redos == 1, "\(scores)")
        #expect(scores.machinePointsCreated == tracked && scores.machinePointsKept == tracked - 1, "\(scores)")
    }

    // MARK: - Driving the viewer

    /// Where the picture sits for this screen with `tracks` lanes under the timeline, as the viewer lays it out.
    func mapping(tracks: Int, truth: GroundTruth) -> ViewportMapping {
        let viewer = Layout(columns: Self.columns, rows: Self.rows, tracks: tracks).viewer
        return ViewportMapping.halfBlock(
            sourceWidth: truth.width, sourceHeight: truth.height, originColumn: viewer.column, originRow: viewer.row,
            areaColumns: viewer.width, areaRows: viewer.height)
    }

    /// "propagated 121 frames to 121; lost at …" → (121, 121).
    static func parsePropagation(_ status: String) -> (frames: Int, last: Int)? {
        let words = status.split(separator: " ")
        guard words.count >= 5, words[0] == "propagated", let frames = Int(words[1]),
            let last = Int(words[4].trimmingCharacters(in: CharacterSet(charactersIn: ";")))
        else { return nil }
        return (frames, last)
    }

    // MARK: - Reading and running

    func exportedFile(_ project: String, to file: String) throws -> String {
        let result = try runSpotter(["export", project, "--format", "molmo2", "-o", file])
        try #require(result.status == 0, "export \(project): \(result.stderr)")
        return file
    }

    func exportedTrack(_ project: String, to file: String) throws -> ExportedTrack {
        try Molmo2Record(path: try exportedFile(project, to: file)).track
    }

    func compare(_ reference: String, _ candidate: String, _ options: String...) throws -> Scores {
        let result = try runSpotter(["compare", reference, candidate, "--json"] + options)
        try #require(result.status == 0, "compare: \(result.stderr)")
        return try Scores(json: result.stdoutBytes)
    }
}

// MARK: - The screen

/// The status line: the screen's last row.
private func statusLine(_ screen: String) -> String {
    let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
    return lines.count >= AnnotationLoopTests.rows ? String(lines[AnnotationLoopTests.rows - 1]) : ""
}

/// The objects pane's text, row by row.
private func paneText(_ screen: String) -> String {
    let column = Layout(columns: AnnotationLoopTests.columns, rows: AnnotationLoopTests.rows).objects.column
    return screen.split(separator: "\n", omittingEmptySubsequences: false).prefix(6)
        .map { String(Array($0).dropFirst(column)) }.joined(separator: "\n")
}

/// Track #1's counts in the objects pane, "  1 blob      • 122 1/0/121": [points, human, model, tracker].
private func counts(_ screen: String) -> [Int]? {
    let rows = paneText(screen).split(separator: "\n", omittingEmptySubsequences: false)
    guard rows.count > 2 else { return nil }
    let words = rows[2].split(whereSeparator: { $0 == " " || $0 == "•" || $0 == "│" || $0 == "■" })
    guard words.count >= 3, words[0] == "1" else { return nil }
    let sources = words[words.count - 1].split(separator: "/").compactMap { Int($0) }
    guard sources.count == 3, let points = Int(words[words.count - 2]) else { return nil }
    return [points] + sources
}

// MARK: - Files

/// Samples/shapes.points.json (schema in Scripts/make_samples.py).
struct GroundTruth: Decodable {
    struct Point: Decodable {
        var id: Int
        var label: String
        /// [x, y] in source pixels on every frame, origin at the top-left corner of the top-left pixel.
        var positions: [[Double]]
        var visible: [Bool]

        func position(_ frame: Int) -> (x: Double, y: Double) { (positions[frame][0], positions[frame][1]) }

        /// This point as a TAP-Vid file without Spotter's own section, as another tool would write it.
        func writeTAPVid(to path: String, label: String, width: Int, height: Int) throws {
            let query = visible.firstIndex(of: true) ?? 0
            let document: [String: Any] = [
                "video": ["width": width, "height": height, "num_frames": positions.count],
                "track_ids": [1], "labels": [label],
                "query_points": [[query, positions[query][1], positions[query][0]]],
                "target_points": [positions], "occluded": [visible.map { !$0 }],
            ]
            try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: path))
        }
    }

    var width: Int
    var height: Int
    var frameCount: Int
    var points: [Point]

    enum CodingKeys: String, CodingKey {
        case width, height, points
        case frameCount = "frame_count"
    }

    static func load(_ path: String) throws -> GroundTruth {
        try JSONDecoder().decode(GroundTruth.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// A track's stored entries as Spotter's section of an export lists them: [frame, x, y, visibility, provenance, key].
struct ExportedTrack: Equatable {
    struct Entry: Equatable {
        var frame: Int
        var x: Double
        var y: Double
        var visibility: String
        var provenance: String
        var isKeyframe: Bool
    }

    var entries: [Entry]

    func entry(_ frame: Int) -> Entry? { entries.first { $0.frame == frame } }
}

/// The one record of a Molmo2 JSONL export.
struct Molmo2Record {
    var label: String
    var answer: String
    var object: [String: Any]
    var track: ExportedTrack

    init(path: String) throws {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        try #require(lines.count == 1, "\(path): one record expected, got \(lines.count)")
        object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        label = object["label"] as? String ?? ""
        answer = object["answer"] as? String ?? ""
        let spotter = object["spotter"] as? [String: Any]
        let tracks = try #require(spotter?["tracks"] as? [[String: Any]], "\(path): no spotter tracks")
        try #require(tracks.count == 1, "\(path): one track expected")
        let rows = try #require(tracks[0]["entries"] as? [[Any]])
        track = ExportedTrack(
            entries: try rows.map { row in
                try #require(row.count == 6, "entry \(row)")
                return ExportedTrack.Entry(
                    frame: (row[0] as? NSNumber)?.intValue ?? -1, x: (row[1] as? NSNumber)?.doubleValue ?? .nan,
                    y: (row[2] as? NSNumber)?.doubleValue ?? .nan, visibility: row[3] as? String ?? "",
                    provenance: row[4] as? String ?? "", isKeyframe: (row[5] as? NSNumber)?.intValue == 1)
            })
    }

    /// The answer's points by time: `<tracks coords="0.5 1 605 428;…">` holds "time id x y" in 0–1000 units.
    var answerPoints: [Double: (x: Int, y: Int)] {
        guard let open = answer.range(of: "coords=\""), let close = answer[open.upperBound...].firstIndex(of: "\"") else {
            return [:]
        }
        var points: [Double: (x: Int, y: Int)] = [:]
        for item in answer[open.upperBound..<close].split(separator: ";") {
            let parts = item.split(separator: " ")
            guard parts.count == 4, let time = Double(parts[0]), let x = Int(parts[2]), let y = Int(parts[3]) else { continue }
            points[time] = (x, y)
        }
        return points
    }

    /// The pixel position of object 1 in `frame_trajectories` on `frame`.
    func trajectoryPoint(frame: Int) -> (x: Double, y: Double)? {
        let frames = object["frame_trajectories"] as? [[String: Any]] ?? []
        guard let entry = frames.first(where: { ($0["frame"] as? NSNumber)?.intValue == frame }),
            let point = (entry["points"] as? [[String: Any]])?.first?["point"] as? [NSNumber], point.count == 2
        else { return nil }
        return (point[0].doubleValue, point[1].doubleValue)
    }
}

/// What `spotter compare --json` reports, the parts checked here.
struct Scores: CustomStringConvertible {
    var f1: Double
    var evaluatedFrames: Int
    var pairedTracks: Int
    var evaluatedPoints: Int
    var averageJaccard: Double
    var averageWithin: Double
    var occlusionAccuracy: Double
    var humanEdits: Int?
    var undos: Int?
    var redos: Int?
    var machinePointsCreated: Int?
    var machinePointsKept: Int?
    var description: String

    init(json: Data) throws {
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        description = String(decoding: json, as: UTF8.self)
        let points = try #require(object["point_f1"] as? [String: Any], "no point F1 in \(description)")
        let tapvid = try #require(object["tapvid"] as? [String: Any], "no TAP-Vid scores in \(description)")
        func number(_ dictionary: [String: Any]?, _ key: String) -> NSNumber? { dictionary?[key] as? NSNumber }
        f1 = number(points, "f1")?.doubleValue ?? .nan
        evaluatedFrames = number(points, "evaluated_frames")?.intValue ?? -1
        pairedTracks = number(tapvid, "paired_tracks")?.intValue ?? -1
        evaluatedPoints = number(tapvid, "evaluated_points")?.intValue ?? -1
        averageJaccard = number(tapvid, "average_jaccard")?.doubleValue ?? .nan
        averageWithin = number(tapvid, "average_pts_within_thresh")?.doubleValue ?? .nan
        occlusionAccuracy = number(tapvid, "occlusion_accuracy")?.doubleValue ?? .nan
        let candidate = (object["corrections"] as? [String: Any])?["candidate"] as? [String: Any]
        humanEdits = number(candidate, "human_edits")?.intValue
        undos = number(candidate, "undos")?.intValue
        redos = number(candidate, "redos")?.intValue
        machinePointsCreated = number(candidate, "machine_points_created")?.intValue
        machinePointsKept = number(candidate, "machine_points_kept")?.intValue
    }
}
