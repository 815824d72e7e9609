import Foundation
import Testing

@testable import Annotations

@Suite struct ExchangeTests {
    static let sampleMedia = testVideo(frameCount: 60, width: 640, height: 480, fps: 10)

    @Test(arguments: AnnotationFormat.allCases) func everyFormatRoundTripsLosslessly(_ format: AnnotationFormat) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let original = try ProjectStore.inMemory(media: Self.sampleMedia)
        try makeSampleProject(original)
        let file = dir.file("export.\(format.rawValue)")
        let report = try AnnotationExchange.export(original.snapshot(), format: format, to: file.path)
        #expect(report.points == original.pointCount)
        let imported = try AnnotationExchange.read(path: file.path, format: format)
        #expect(imported.media == Self.sampleMedia)
        let copy = try ProjectStore.inMemory(media: try #require(imported.media))
        let result = try AnnotationExchange.importFile(path: file.path, into: copy, format: format)
        #expect(result.result.editID != nil)
        #expect(comparableTracks(copy.snapshot()) == comparableTracks(original.snapshot()))
        #expect(comparableQueries(copy.snapshot()) == comparableQueries(original.snapshot()))
        #expect(copy.trackIDs == original.trackIDs)
        // The import is one undo step.
        try copy.undo()
        #expect(copy.pointCount == 0)
        // Exporting the copy gives the same bytes again (stable, no drift through a round trip).
        try copy.redo()
        let again = try AnnotationExchange.encode(copy.snapshot(), format: format, options: ExportOptions(date: Date(timeIntervalSince1970: 0)))
        let first = try AnnotationExchange.encode(original.snapshot(), format: format, options: ExportOptions(date: Date(timeIntervalSince1970: 0)))
        let identical = again.bytes == first.bytes
        #expect(identical)
    }

    /// A tiny project for the byte-exact golden files.
    static func goldenProject() throws -> ProjectStore {
        let media = MediaDescriptor(
            kind: .video, path: "cats.mp4", byteSize: 4096, headSHA256: String(repeating: "0f", count: 32),
            duration: 2, frameCount: 8, width: 160, height: 120, fps: 4,
            frameTimestamps: (0..<8).map { Double($0) / 4 })
        let store = try ProjectStore.inMemory(media: media)
        try store.recordQuery(
            QueryRecord(
                createdAt: Date(timeIntervalSince1970: 1_700_000_000), prompt: "Point to dog.", label: "dog",
                task: "video_point", model: "Molmo2-4B", answer: #"<points coords="0.5 1 625 417">dog</points>"#,
                timings: ["total": 2]))
        try store.apply(
            .createTracks([
                NewTrack(
                    label: "cat",
                    entries: [
                        PointEntry(frame: 0, x: 32, y: 24),
                        PointEntry(frame: 4, x: 64, y: 40, visibility: .occluded, provenance: .model),
                        PointEntry(frame: 6, x: 80.5, y: 48.25, provenance: .tracker, isKeyframe: false),
                    ]),
                NewTrack(
                    label: "cat",
                    entries: [
                        PointEntry(frame: 2, x: 10, y: 10),
                        PointEntry(frame: 5, x: 15, y: 12, visibility: .outside),
                    ]),
                NewTrack(label: "dog", queryID: 1, entries: [PointEntry(frame: 1, x: 100, y: 50, provenance: .model)]),
            ]))
        return store
    }

    static let goldenNames: [(AnnotationFormat, String)] = [
        (.molmo2, "golden-small.jsonl"), (.cvat, "golden-small.xml"), (.tapvid, "golden-small.tapvid.json"),
    ]

    @Test(arguments: goldenNames.map(\.0)) func exportsMatchTheGoldenFilesByteForByte(_ format: AnnotationFormat) throws {
        let name = try #require(Self.goldenNames.first { $0.0 == format }?.1)
        let store = try Self.goldenProject()
        let bytes = try AnnotationExchange.encode(
            store.snapshot(), format: format, options: ExportOptions(date: Date(timeIntervalSince1970: 1_700_000_000))
        ).bytes
        if ProcessInfo.processInfo.environment["SPOTTER_RECORD_GOLDENS"] == "1" {
            try Data(bytes).write(to: fixtureURL(name))
        }
        let golden = try Data(contentsOf: fixtureURL(name))
        let identical = [UInt8](golden) == bytes
        #expect(identical)
    }

    @Test func goldenJSONLCarriesTheCanonicalAnswersAndPublicFields() throws {
        let text = try String(contentsOf: fixtureURL("golden-small.jsonl"), encoding: .utf8)
        let records = try text.split(separator: "\n").map { line in try #require(try JSONParser.parse(String(line)).objectValue) }
        #expect(records.count == 2)
        let cats = records[0]
        #expect(cats["task"]?.stringValue == "video_track")
        // Sampled at 2 fps: times 0, 0.5, 1, 1.5, 2 → frames 0, 2, 4, 6, 7. At frame 2 track 1 is interpolated
        // (48, 32); at frame 4 it is occluded (dropped from the answer) while track 2 is held before its outside
        // entry; 10/160·1000 = 62.5 rounds to even (062).
        #expect(cats["sampling"]?.objectValue?["frames"] == .array([0, 2, 4, 6, 7].map { .number(Double($0)) }))
        #expect(
            cats["answer"]?.stringValue
                == #"<tracks coords="0.0 1 200 200;0.5 1 300 267 2 062 083;1.0 2 062 083;1.5 1 503 402">cat</tracks>"#)
        // Trajectories follow Molmo2's rule `frame % (fps // sampling_fps) == 0` (4 fps, 2 fps: frames 0, 2, 4, 6).
        #expect(cats["frame_trajectories"]?.arrayValue?.count == 4)
        let dog = records[1]
        #expect(dog["task"]?.stringValue == "video_point")
        // Frame 1 (0.25 s) lies halfway between the samples at 0.0 and 0.5 s; ties go to the earlier sample.
        #expect(dog["answer"]?.stringValue == #"<points coords="0.0 1 625 417">dog</points>"#)
        #expect(dog["two_fps_timestamps"] == .array([.number(0)]))
        #expect(dog["points"] == .array([.array([.object(JSONObject(fields: [("x", .number(62.5)), ("y", .number(50.0 / 120 * 100))]))])]))
        #expect(dog["question"]?.stringValue == "Point to dog.")
    }

    @Test func aMalformedLineImportsNothingAndNamesFileAndLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let source = try ProjectStore.inMemory(media: Self.sampleMedia)
        try makeSampleProject(source)
        var bytes = try AnnotationExchange.encode(source.snapshot(), format: .molmo2).bytes
        bytes += Array("{\"task\": \"video_point\", \"label\": oops}\n".utf8)
        let file = dir.file("broken.jsonl")
        try Data(bytes).write(to: file)
        let target = try ProjectStore.inMemory(media: Self.sampleMedia)
        do {
            try AnnotationExchange.importFile(path: file.path, into: target)
            Issue.record("a malformed file was imported")
        } catch let error as AnnotationError {
            guard case .malformed(let path, let line, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(path == file.path)
            #expect(line == 3)
            #expect(error.description.hasPrefix("\(file.path):3: invalid JSON"))
        }
        #expect(target.pointCount == 0)
        #expect(try target.editHistory().isEmpty)
        #expect(target.queries.isEmpty)
    }

    @Test func unknownFieldsAreKeptAndWrittenBack() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.file("foreign.jsonl")
        let record =
            #"{"task":"video_point","label":"bird","video_source":"youtube","category":"animal","two_fps_timestamps":[0.5,1.0],"points":[[{"x":50,"y":50}],[{"x":10,"y":20,"z":3}]]}"#
        try Data((record + "\n").utf8).write(to: file)
        let store = try ProjectStore.inMemory(media: Self.sampleMedia)
        let (_, imported) = try AnnotationExchange.importFile(path: file.path, into: store)
        #expect(imported.warnings.contains("kept unknown fields: category, video_source"))
        #expect(imported.warnings.contains { $0.contains("\"z\"") })
        #expect(store.tracks.count == 2)
        #expect(store.tracks[0].entries == [PointEntry(frame: 5, x: 320, y: 240)])
        #expect(store.tracks[1].entries == [PointEntry(frame: 10, x: 64, y: 96)])
        let out = String(decoding: try AnnotationExchange.encode(store.snapshot(), format: .molmo2).bytes, as: UTF8.self)
        #expect(out.contains(#""video_source":"youtube""#))
        #expect(out.contains(#""category":"animal""#))
    }

    @Test func fingerprintMismatchRefusesUnlessForced() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var otherMedia = Self.sampleMedia
        otherMedia.headSHA256 = String(repeating: "cd", count: 32)
        let source = try ProjectStore.inMemory(media: otherMedia)
        try makeSampleProject(source)
        for format in AnnotationFormat.allCases {
            let file = dir.file("other.\(format.rawValue)")
            try AnnotationExchange.export(source.snapshot(), format: format, to: file.path)
            let target = try ProjectStore.inMemory(media: Self.sampleMedia)
            #expect(throws: AnnotationError.self) { try AnnotationExchange.importFile(path: file.path, into: target) }
            #expect(target.pointCount == 0)
            let forced = try AnnotationExchange.importFile(path: file.path, into: target, force: true)
            #expect(forced.imported.warnings.contains { $0.contains("fingerprint mismatch") })
            #expect(target.pointCount == source.pointCount)
        }
    }

    @Test func outOfRangeCoordinatesAreClampedAndCounted() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.file("wide.jsonl")
        let record =
            #"{"task":"video_track","label":"car","frames":[{"frame":1,"time":0.1,"objects":[{"id":4,"x":-5,"y":10,"occluded":false},{"id":5,"x":700,"y":500,"occluded":true}]},{"frame":2,"objects":[{"id":4,"x":20,"y":30}]}]}"#
        try Data((record + "\n").utf8).write(to: file)
        let store = try ProjectStore.inMemory(media: Self.sampleMedia)
        let (_, imported) = try AnnotationExchange.importFile(path: file.path, into: store)
        #expect(imported.warnings.contains("2 out-of-range coordinates were clamped to the frame"))
        #expect(store.track(TrackID(4))?.entries.map(\.x) == [0, 20])
        // Object 5 is not listed at frame 2: absent there (outside), not held or interpolated through.
        #expect(
            store.track(TrackID(5))?.entries == [
                PointEntry(frame: 1, x: 640, y: 480, visibility: .occluded),
                PointEntry(frame: 2, x: 640, y: 480, visibility: .outside),
            ])
    }

    @Test func publicTrackingRecordsImport() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.file("track.jsonl")
        let record =
            #"{"id":"x","video":"v","fps":10,"sampling_fps":2,"expression":"zebra","width":640,"height":480,"mask_id":[7],"frame_trajectories":[{"frame":0,"time":0.0,"points":[{"id":7,"point":[10,20],"occluded":false}]},{"frame":5,"time":0.5,"points":[{"id":7,"point":[12,22],"occluded":true}]}]}"#
        try Data((record + "\n").utf8).write(to: file)
        let store = try ProjectStore.inMemory(media: Self.sampleMedia)
        try AnnotationExchange.importFile(path: file.path, into: store)
        let track = try #require(store.track(TrackID(7)))
        #expect(track.label == "zebra")
        #expect(track.entries == [PointEntry(frame: 0, x: 10, y: 20), PointEntry(frame: 5, x: 12, y: 22, visibility: .occluded)])
    }

    @Test func foreignCVATFilesFollowCVATSemantics() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let xml = """
            <?xml version="1.0" encoding="utf-8"?>
            <annotations>
              <version>1.1</version>
              <meta><task><size>60</size><labels><label><name>kite</name><color>#aabbcc</color></label></labels></task></meta>
              <track id="0" label="kite" source="manual">
                <points frame="2" keyframe="1" outside="0" occluded="0" points="10.00,20.00" z_order="0"></points>
                <points frame="3" keyframe="0" outside="0" occluded="0" points="15.00,25.00" z_order="0"></points>
                <points frame="4" keyframe="1" outside="0" occluded="1" points="20.00,30.00" z_order="0"></points>
                <points frame="5" keyframe="0" outside="0" occluded="1" points="99.00,99.00" z_order="0"></points>
              </track>
              <track id="1" label="kite" source="auto">
                <points frame="7" keyframe="1" outside="0" occluded="0" points="1,1" z_order="0"></points>
                <points frame="9" keyframe="1" outside="1" occluded="0" points="1,1" z_order="0"></points>
              </track>
            </annotations>
            """
        let file = dir.file("cvat.xml")
        try Data(xml.utf8).write(to: file)
        let store = try ProjectStore.inMemory(media: Self.sampleMedia)
        let (_, imported) = try AnnotationExchange.importFile(path: file.path, into: store)
        #expect(imported.warnings.contains { $0.contains("no fingerprint check") })
        let first = store.tracks[0]
        #expect(first.color == RGBColor(hex: "#aabbcc"))
        // The derived frame-3 shape equals linear interpolation and is dropped; frame 5 differs and is kept;
        // without an outside keyframe the track holds to the last frame.
        #expect(first.entries.map(\.frame) == [2, 4, 5, 59])
        #expect(first.entries[2].isKeyframe == false)
        #expect(store.point(track: first.id, frame: 30)?.entry.x == 99)
        let second = store.tracks[1]
        #expect(second.info.createdBy == .model)
        #expect(second.entries.map(\.provenance) == [.model, .model])
        #expect(store.point(track: second.id, frame: 10) == nil)
    }

    @Test func malformedCVATReportsTheLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.file("bad.xml")
        try Data("<annotations>\n<track label=\"a\">\n<points frame=\"x\" points=\"1,2\"/>\n</track>\n</annotations>\n".utf8)
            .write(to: file)
        #expect {
            try AnnotationExchange.read(path: file.path)
        } throws: { error in
            (error as? AnnotationError).map { "\($0)".hasPrefix("\(file.path):3:") } ?? false
        }
        try Data("<annotations><track>".utf8).write(to: file)
        #expect(throws: AnnotationError.self) { try AnnotationExchange.read(path: file.path) }
    }

    @Test func tapVidExportHasADenseGridWithQueriesAtFirstVisibleFrame() throws {
        let store = try Self.goldenProject()
        let bytes = try AnnotationExchange.encode(store.snapshot(), format: .tapvid).bytes
        let root = try #require(try JSONParser.parse(bytes).objectValue)
        let queries = try #require(root["query_points"]?.arrayValue)
        #expect(queries[0] == .array([.number(0), .number(24), .number(32)]))
        let target = try #require(root["target_points"]?.arrayValue)
        #expect(target.count == 3 && target.allSatisfy { $0.arrayValue?.count == 8 })
        let occluded = try #require(root["occluded"]?.arrayValue)
        // Track 2 is visible on frames 2–4 (derived visible after frame 2 until the outside entry at 5).
        #expect(occluded[1] == .array([true, true, false, false, false, true, true, true].map { .bool($0) }))
        // Held position before the first entry.
        #expect(target[1].arrayValue?[0] == .array([.number(10), .number(10)]))
    }
}
