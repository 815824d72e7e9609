import Basics
import Annotations
import ArgumentParser
import Foundation
import Media

/// `spotter bench annotations`: measures the real store and exporter on generated data.
struct BenchAnnotationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annotations",
        abstract: "Measure the annotation store: edit commit p50/p99, project open time, Molmo2 JSONL export.",
        discussion: """
            Builds a project with --points points (generated, seeded), applies --edits single edits timing each \
            committed transaction, reopens the project timing the load, then exports a --export-points project as \
            Molmo2 JSONL. Targets: commit p50 ≤ 2 ms, open ≤ 300 ms, 1M-point export ≤ 3 s. Use a release build.
            """)

    @Option(help: "Points in the edited project.")
    var points = 100_000

    @Option(help: "Tracks the points are spread over.")
    var tracks = 100

    @Option(help: "Single edits to time.")
    var edits = 2_000

    @Option(help: "Points in the exported project (0 skips the export).")
    var exportPoints = 1_000_000

    @Option(help: "process (synchronous=NORMAL, survives kill -9) or power (synchronous=FULL, fsync per commit).")
    var durability = "process"

    @Option(help: "Scratch directory (default: a new temporary directory, removed afterwards).")
    var directory: String?

    @Flag(help: "Also time CVAT and TAP-Vid exports of the export project.")
    var allFormats = false

    @Flag(help: "Print JSON.")
    var json = false

    @Option(help: .hidden)
    var crashTestProject: String?

    @Option(help: .hidden)
    var crashTestEdits = 100_000

    @Option(help: .hidden)
    var reportProject: String?

    func validate() throws {
        guard ["process", "power"].contains(durability) else {
            throw ValidationError("--durability must be process or power.")
        }
        guard points >= 0, tracks > 0, edits >= 0, exportPoints >= 0 else {
            throw ValidationError("--points, --tracks, --edits and --export-points must not be negative.")
        }
    }

    func run() throws {
        if let crashTestProject { try runCrashWriter(path: crashTestProject) }
        if let reportProject { return try report(path: reportProject) }
        let scratch =
            directory.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("spotter-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(at: scratch) } }
        let durability: ProjectStore.Durability = self.durability == "power" ? .powerLoss : .processCrash
        var results: [(String, Double)] = []

        // 1. A project with `points` points, inserted as one edit.
        let framesPerTrack = max(1, points / tracks)
        let editURL = scratch.appendingPathComponent("edit.spotter")
        let store = try ProjectStore.create(at: editURL, media: Self.media(frames: framesPerTrack), durability: durability)
        var rng = SplitMix64(seed: 42)
        let bulk = Self.generatedTracks(count: tracks, frames: framesPerTrack, rng: &rng)
        let insertTime = try Self.milliseconds { try store.apply(.createTracks(bulk), actor: .model) }
        results.append(("bulk_insert_ms", insertTime))

        // 2. Single edits, each one committed transaction.
        let ids = store.trackIDs
        var latencies: [Double] = []
        latencies.reserveCapacity(edits)
        for i in 0..<edits {
            guard let track = ids.randomElement(using: &rng) else { break }
            let frame = Int.random(in: 0..<framesPerTrack, using: &rng)
            let edit: Edit
            switch i % 10 {
            case 0: edit = .setVisibility(track, frame: frame, Bool.random(using: &rng) ? .occluded : .visible)
            case 1: edit = .toggleKeyframe(track, frame: frame)
            default:
                edit = .setPoint(
                    track, frame: frame, x: Double.random(in: 0...1920, using: &rng),
                    y: Double.random(in: 0...1080, using: &rng))
            }
            latencies.append(try Self.milliseconds { try store.apply(edit) })
        }
        latencies.sort()
        if !latencies.isEmpty {
            results.append(("commit_p50_ms", Self.percentile(latencies, 0.50)))
            results.append(("commit_p99_ms", Self.percentile(latencies, 0.99)))
            results.append(("commit_max_ms", latencies[latencies.count - 1]))
        }
        let undoTime = try Self.milliseconds { try store.undo() }
        results.append(("undo_ms", undoTime))
        let pointCount = store.pointCount
        try store.close()

        // 3. Open time (the whole project loaded into memory), median of 5.
        var openTimes: [Double] = []
        for _ in 0..<5 {
            var opened: ProjectStore?
            openTimes.append(try Self.milliseconds { opened = try ProjectStore.open(at: editURL) })
            if opened?.pointCount != pointCount { throw ValidationError("reopened project lost points") }
            try opened?.close()
        }
        openTimes.sort()
        results.append(("open_first_ms", openTimes[0]))
        results.append(("open_median_ms", openTimes[openTimes.count / 2]))

        // 4. Molmo2 JSONL export of an `exportPoints` project.
        if exportPoints > 0 {
            let exportTracks = 200
            let exportFrames = max(1, exportPoints / exportTracks)
            let exportStore = try ProjectStore.inMemory(media: Self.media(frames: exportFrames))
            let generated = Self.generatedTracks(count: exportTracks, frames: exportFrames, rng: &rng)
            try exportStore.apply(.createTracks(generated), actor: .model)
            let snapshot = exportStore.snapshot()
            results.append(("export_points", Double(snapshot.pointCount)))
            var formats: [AnnotationFormat] = [.molmo2]
            if allFormats { formats += [.cvat, .tapvid] }
            for format in formats {
                let file = scratch.appendingPathComponent("export.\(format.rawValue)")
                var report: ExportReport?
                let time = try Self.milliseconds {
                    report = try AnnotationExchange.export(snapshot, format: format, to: file.path)
                }
                results.append(("export_\(format.rawValue)_ms", time))
                results.append(("export_\(format.rawValue)_mb", Double(report?.bytes ?? 0) / 1_048_576))
            }
            let importTime = try Self.milliseconds {
                _ = try AnnotationExchange.read(path: scratch.appendingPathComponent("export.molmo2").path)
            }
            results.append(("parse_molmo2_ms", importTime))
        }

        if json {
            var object: [String: Any] = ["points": pointCount, "edits": latencies.count, "durability": self.durability]
            for (key, value) in results { object[key] = value }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("annotations benchmark: \(pointCount) points in \(tracks) tracks, \(latencies.count) edits, durability \(self.durability)")
            for (key, value) in results {
                print("  " + key.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: "%12.3f", value))
            }
        }
    }

    // MARK: - Generated data

    static func media(frames: Int) -> MediaDescriptor {
        MediaDescriptor(
            kind: .video, path: "bench.mp4", byteSize: 1 << 30, headSHA256: String(repeating: "0", count: 64),
            duration: Double(frames) / 30, frameCount: frames, width: 1920, height: 1080, fps: 30)
    }

    static func generatedTracks(count: Int, frames: Int, rng: inout SplitMix64) -> [NewTrack] {
        (0..<count).map { t in
            var x = Double.random(in: 100...1800, using: &rng)
            var y = Double.random(in: 100...1000, using: &rng)
            var entries: [PointEntry] = []
            entries.reserveCapacity(frames)
            for frame in 0..<frames {
                x = min(1920, max(0, x + Double.random(in: -3...3, using: &rng)))
                y = min(1080, max(0, y + Double.random(in: -3...3, using: &rng)))
                entries.append(
                    PointEntry(
                        frame: frame, x: x, y: y, visibility: frame % 97 == 0 ? .occluded : .visible,
                        provenance: frame % 10 == 0 ? .model : .tracker, isKeyframe: frame % 10 == 0))
            }
            return NewTrack(label: "object \(t % 10)", entries: entries)
        }
    }

    static func milliseconds(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        let index = min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))
        return sorted[index]
    }

    // MARK: - Crash testing (for the CLI tests: kill -9 this process, then --report-project)

    /// Applies edits one by one, printing `committed EDIT_ID FRAME X` after each commit returns, then waits forever.
    private func runCrashWriter(path: String) throws -> Never {
        let url = URL(fileURLWithPath: path)
        let frames = 10_000
        let store =
            FileManager.default.fileExists(atPath: url.path)
            ? try ProjectStore.open(at: url) : try ProjectStore.create(at: url, media: Self.media(frames: frames))
        let track: TrackID
        if let existing = store.trackIDs.first {
            track = existing
        } else {
            let created = try store.apply(.createTrack(NewTrack(label: "crash test")))
            guard let id = created.createdTracks.first else { throw ValidationError("could not create a track") }
            track = id
        }
        let output = FileHandle.standardOutput
        for i in 0..<crashTestEdits {
            let frame = i % frames
            let result = try store.apply(.setPoint(track, frame: frame, x: Double(i), y: Double(i)))
            output.write(Data("committed \(result.editID ?? -1) \(frame) \(i)\n".utf8))
        }
        output.write(Data("done\n".utf8))
        while true { sleep(3600) }
    }

    /// Prints the applied edit ids and the stored points of a project as JSON (after a crash test).
    private func report(path: String) throws {
        let store = try ProjectStore.open(at: URL(fileURLWithPath: path), readOnly: true)
        defer { try? store.close() }
        let applied = try store.editHistory().filter { $0.state == .applied }.map(\.id)
        let entries = store.tracks.flatMap { track in track.entries.map { [Int(track.id.rawValue), $0.frame, $0.x] as [Any] } }
        let object: [String: Any] = ["applied_edits": applied, "points": store.pointCount, "entries": entries]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
