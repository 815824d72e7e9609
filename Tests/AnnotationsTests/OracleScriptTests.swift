import Foundation
import Testing

@testable import Annotations

/// Independent readers run as subprocesses: the TAP-Vid metric script written from the paper's definitions, the
/// TAP-Vid pickle converter, and datumaro's CVAT reader and writer (installed by Scripts/setup in .venv-oracles).
@Suite struct OracleScriptTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let oraclePython = repositoryRoot.appendingPathComponent(".venv-oracles/bin/python")
    static var hasOracleVenv: Bool { FileManager.default.isExecutableFile(atPath: oraclePython.path) }

    /// Runs a Python script (the oracle venv's interpreter when set up, else python3) and returns its stdout.
    static func runPython(_ arguments: [String]) throws -> String {
        let process = Process()
        if hasOracleVenv {
            process.executableURL = oraclePython
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3"] + arguments
        }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw AnnotationError.io(
                path: arguments.first ?? "python", reason: String(decoding: errorData, as: UTF8.self))
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func randomProject(
        media: MediaDescriptor, trackIDs: [Int64], generator: inout SeededGenerator
    ) throws -> ProjectStore {
        let store = try ProjectStore.inMemory(media: media)
        var tracks: [NewTrack] = []
        for id in trackIDs {
            var frame = Int.random(in: 0..<10, using: &generator)
            var entries: [PointEntry] = []
            while frame < media.frameCount {
                let roll = Int.random(in: 0..<10, using: &generator)
                let visibility: Visibility = roll < 7 ? .visible : roll < 9 ? .occluded : .outside
                entries.append(
                    PointEntry(
                        frame: frame, x: Double.random(in: 0...Double(media.width), using: &generator),
                        y: Double.random(in: 0...Double(media.height), using: &generator), visibility: visibility))
                frame += Int.random(in: 1...12, using: &generator)
            }
            tracks.append(NewTrack(preferredID: TrackID(id), label: "p", entries: entries))
        }
        try store.apply(.createTracks(tracks))
        return store
    }

    @Test func tapnetStyleMetricScriptAgreesWithCompareOnRandomPairs() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let script = Self.repositoryRoot.appendingPathComponent("Scripts/tapvid_metrics.py").path
        var generator = SeededGenerator(seed: 20_261_201)
        for pair in 0..<6 {
            let media = testVideo(frameCount: 40 + 7 * pair, width: 320 + 16 * pair, height: 240, fps: 10)
            let referenceIDs: [Int64] = Array(1...Int64(3 + pair % 3))
            let candidateIDs = referenceIDs.filter { _ in Bool.random(using: &generator) } + [99]
            // Candidates near the reference: the reference with noise, so the thresholds matter.
            let reference = try Self.randomProject(media: media, trackIDs: referenceIDs, generator: &generator)
            let candidate = try ProjectStore.inMemory(media: media)
            try candidate.apply(
                .createTracks(
                    candidateIDs.compactMap { id -> NewTrack? in
                        guard let track = reference.track(TrackID(id)) else {
                            return NewTrack(preferredID: TrackID(id), label: "p", entries: [PointEntry(frame: 0, x: 1, y: 1)])
                        }
                        let entries = track.entries.map { entry -> PointEntry in
                            var moved = entry
                            moved.x += Double.random(in: -12...12, using: &generator)
                            moved.y += Double.random(in: -12...12, using: &generator)
                            if Int.random(in: 0..<8, using: &generator) == 0 { moved.visibility = .occluded }
                            return moved
                        }
                        return NewTrack(preferredID: TrackID(id), label: "p", entries: entries)
                    }))
            let referenceFile = dir.file("reference-\(pair).json")
            let candidateFile = dir.file("candidate-\(pair).json")
            try AnnotationExchange.export(reference.snapshot(), format: .tapvid, to: referenceFile.path)
            try AnnotationExchange.export(candidate.snapshot(), format: .tapvid, to: candidateFile.path)
            for mode in [AnnotationMetrics.QueryMode.first, .strided] {
                let ours = try #require(
                    ProjectComparison.compare(
                        reference: reference.snapshot(), candidate: candidate.snapshot(),
                        options: ComparisonOptions(queryMode: mode)
                    ).tapVid)
                let text = try Self.runPython([
                    script, referenceFile.path, candidateFile.path, "--query-mode", mode.rawValue,
                ])
                let theirs = try #require(try JSONParser.parse(text).objectValue)
                func close(_ a: Double, _ b: JSONValue?) -> Bool {
                    if a.isNaN { return b == .null }
                    guard let b = b?.doubleValue else { return false }
                    return abs(a - b) < 1e-12
                }
                #expect(theirs["evaluated_points"]?.intValue == ours.evaluatedPoints, "pair \(pair) \(mode)")
                #expect(close(ours.averageJaccard, theirs["average_jaccard"]), "pair \(pair) \(mode)")
                #expect(close(ours.averageWithin, theirs["average_pts_within_thresh"]), "pair \(pair) \(mode)")
                #expect(close(ours.occlusionAccuracy, theirs["occlusion_accuracy"]), "pair \(pair) \(mode)")
                for (k, value) in (theirs["jaccard"]?.arrayValue ?? []).enumerated() {
                    #expect(close(ours.jaccard[k], value), "pair \(pair) \(mode) jaccard \(k)")
                }
            }
        }
    }

    /// Spotter's CVAT export read by datumaro (every keyframe shape at its frame, label, track and visibility), and
    /// datumaro's CVAT output (CVAT for images, its item count in `<size>`) read back by Spotter.
    @Test(.enabled(if: hasOracleVenv, "needs .venv-oracles with datumaro (Scripts/setup makes it)"))
    func cvatRoundTripsThroughDatumaroBothWays() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let media = ExchangeTests.sampleMedia
        let store = try ProjectStore.inMemory(media: media)
        try makeSampleProject(store)
        let file = dir.file("spotter.xml")
        try AnnotationExchange.export(store.snapshot(), format: .cvat, to: file.path)
        let script = Self.repositoryRoot.appendingPathComponent("Scripts/check_cvat_datumaro.py").path
        let text = try Self.runPython([script, file.path, dir.file("datumaro").path])
        let result = try #require(try JSONParser.parse(text).objectValue)
        let points = try #require(result["points"]?.arrayValue).compactMap(\.arrayValue)
        // What datumaro read: one point per exported shape (stored entries plus the closing outside shapes).
        var expected: [(frame: Int, label: String, track: Int, outside: Bool, occluded: Bool)] = []
        for track in store.tracks {
            for entry in track.entries {
                expected.append((entry.frame, track.label, Int(track.id.rawValue), entry.visibility == .outside, entry.visibility == .occluded))
            }
            if let last = track.entries.last, last.visibility != .outside, last.frame + 1 < media.frameCount {
                expected.append((last.frame + 1, track.label, Int(track.id.rawValue), true, false))
            }
        }
        #expect(points.count == expected.count)
        for item in expected {
            let match = points.first {
                $0[0].intValue == item.frame && $0[1].stringValue == item.label && $0[2].intValue == item.track
            }
            #expect(match?[5] == .bool(item.occluded), "\(item)")
            #expect(match?[6] == .bool(item.outside), "\(item)")
            if let match, !item.outside, let entry = store.track(TrackID(Int64(item.track)))?.entry(at: item.frame) {
                // datumaro keeps CVAT's two decimals (130.125 reads as 130.12).
                #expect(abs((match[3].doubleValue ?? .nan) - entry.x) <= 0.0051 && abs((match[4].doubleValue ?? .nan) - entry.y) <= 0.0051)
            }
        }
        // What Spotter reads of datumaro's file: every visible or occluded point, on its frame, none cut short.
        let written = try #require(result["written"]?.stringValue)
        let imported = try AnnotationExchange.read(path: written, format: .cvat, targetMedia: media)
        let visiblePoints = points.filter { $0[6] == .bool(false) }
        #expect(imported.tracks.count == visiblePoints.count)
        for point in visiblePoints {
            #expect(
                imported.tracks.contains { track in
                    track.label == point[1].stringValue && track.entries.first?.frame == point[0].intValue
                        && abs(track.entries[0].x - (point[3].doubleValue ?? .nan)) < 1e-2
                })
        }
        #expect(imported.warnings.contains { $0.contains("<size>") })
    }

    /// Spotter's TAP-Vid export → Scripts/tapvid_to_pickle.py → tapnet's pickle layout; the pickle written back as
    /// JSON (as a user would) imports into a fresh project described only by the media, at the same pixels.
    @Test func tapVidPickleLayoutRoundTripsWithThePixelCentreConvention() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let media = testVideo(frameCount: 30, width: 320, height: 240, fps: 10)
        let store = try ProjectStore.inMemory(media: media)
        try store.apply(
            .createTracks([
                NewTrack(label: "p", entries: [PointEntry(frame: 2, x: 0.5, y: 0.5), PointEntry(frame: 20, x: 100.25, y: 30)]),
                NewTrack(label: "p", entries: [PointEntry(frame: 0, x: 319.5, y: 10, visibility: .occluded)]),
            ]))
        let export = dir.file("export.json")
        let pickle = dir.file("tracks.pkl")
        let pickleJSON = dir.file("pickle.json")
        try AnnotationExchange.export(store.snapshot(), format: .tapvid, to: export.path)
        let converter = Self.repositoryRoot.appendingPathComponent("Scripts/tapvid_to_pickle.py").path
        _ = try Self.runPython([converter, export.path, pickle.path])
        // What tapnet's create_davis_dataset does with the pickle (`points * [W, H]`), and the pickle as JSON.
        let check = """
            import pickle, json, sys, numpy as np
            doc = pickle.load(open(sys.argv[1], "rb"))
            (name, item), = doc.items()
            assert item["video"].shape == (30, 240, 320, 3) and item["video"].dtype == np.uint8
            assert item["points"].shape == (2, 30, 2) and item["occluded"].shape == (2, 30)
            scaled = item["points"] * np.array([item["video"].shape[2], item["video"].shape[1]])
            json.dump({name: {"points": item["points"].tolist(), "occluded": item["occluded"].tolist()}}, open(sys.argv[2], "w"))
            print(json.dumps(scaled[0, 2].tolist()))
            """
        let scaled = try Self.runPython(["-c", check, pickle.path, pickleJSON.path])
        // Spotter's (0.5, 0.5) is the centre of the first pixel: TAP-Vid's pixel (0, 0).
        #expect(try JSONParser.parse(scaled) == .array([.number(0), .number(0)]))
        let imported = try AnnotationExchange.read(path: pickleJSON.path, targetMedia: media)
        #expect(imported.tracks.count == 2)
        let first = try #require(store.tracks.first)
        for (frame, entry) in imported.tracks[0].entries.enumerated() {
            // TAP-Vid needs a position on every frame: the export's held position where the track is not shown.
            let original = try #require(first.heldPosition(at: frame))
            #expect(abs(entry.x - original.x) < 1e-9 && abs(entry.y - original.y) < 1e-9, "frame \(frame)")
            #expect((entry.visibility == .visible) == (frame >= 2 && frame <= 20))
        }
    }
}
