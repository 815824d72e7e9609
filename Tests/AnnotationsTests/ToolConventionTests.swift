import Foundation
import Testing

@testable import Annotations

/// The exports as the other tools' own code reads them: allenai/molmo2's loaders (field names and types, the 0.5 s
/// grid, integer frame rates), CVAT's interpolation, tapnet's query sampling. The readers' rules are restated here
/// from their code (docs/formats.md), not taken from Spotter.
@Suite struct ToolConventionTests {
    // MARK: - Molmo2 loaders

    /// Lines of an export as JSON objects.
    static func records(_ bytes: [UInt8]) throws -> [JSONObject] {
        try String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { line in
            try #require(try JSONParser.parse(String(line)).objectValue)
        }
    }

    static func store(media: MediaDescriptor, _ tracks: [NewTrack]) throws -> ProjectStore {
        let store = try ProjectStore.inMemory(media: media)
        try store.apply(.createTracks(tracks))
        return store
    }

    /// `TrackingDataset._create_message_list`: `object_id_to_idx = {obj_id: idx for idx, obj_id in
    /// enumerate(ex['mask_id'])}`, then `str(p['id']) in object_id_to_idx` for every trajectory point.
    @Test func trackingRecordsGiveMolmo2sLoaderNonEmptyTargets() throws {
        let store = try Self.store(
            media: testVideo(frameCount: 60, fps: 10, path: "videos/street.mp4"),
            [
                NewTrack(label: "car", entries: [PointEntry(frame: 0, x: 10, y: 20), PointEntry(frame: 40, x: 50, y: 60)]),
                NewTrack(label: "car", entries: [PointEntry(frame: 10, x: 100, y: 120), PointEntry(frame: 30, x: 90, y: 100)]),
            ])
        let record = try #require(
            try Self.records(AnnotationExchange.encode(store.snapshot(), format: .molmo2).bytes).first)
        let maskIDs = try #require(record["mask_id"]?.arrayValue).compactMap(\.stringValue)
        #expect(maskIDs == ["1", "2"])
        var found = 0
        var total = 0
        for frame in try #require(record["frame_trajectories"]?.arrayValue) {
            for point in frame.objectValue?["points"]?.arrayValue ?? [] {
                total += 1
                let id = point.objectValue?["id"]
                let pythonStr = id?.stringValue ?? id?.intValue.map { String($0) } ?? ""
                if maskIDs.contains(pythonStr) { found += 1 }
            }
        }
        #expect(total > 0 && found == total)
        // Paths: `join(video_dir, ex['video'] + '.mp4')` and `join(video_dir, ex['clip'] + '.mp4')`.
        #expect(record["video"]?.stringValue == "street")
        #expect(record["clip"]?.stringValue == "street")
        #expect(record["video_dataset"]?.stringValue != nil)
        // `fps % sampling_fps == 0`, and trajectories on `frame_idx % (fps // sampling_fps) == 0`.
        let fps = try #require(record["fps"]?.doubleValue)
        let samplingFPS = try #require(record["sampling_fps"]?.doubleValue)
        #expect(fps.truncatingRemainder(dividingBy: samplingFPS) == 0)
        let step = Int(fps) / Int(samplingFPS)
        let frames = try #require(record["frame_trajectories"]?.arrayValue).compactMap { $0.objectValue?["frame"]?.intValue }
        #expect(frames == Array(stride(from: 0, to: 60, by: step)))
    }

    @Test func ntscFrameRatesAreWrittenAsTheirNominalInteger() throws {
        #expect(Molmo2PackageLayout.integerFPS(29.97) == 30)
        #expect(Molmo2PackageLayout.integerFPS(23.976) == 24)
        #expect(Molmo2PackageLayout.integerFPS(12.5) == nil)
        let store = try Self.store(
            media: testVideo(frameCount: 90, fps: 29.97),
            [NewTrack(label: "a", entries: [PointEntry(frame: 0, x: 1, y: 2), PointEntry(frame: 60, x: 3, y: 4)])])
        let record = try #require(try Self.records(AnnotationExchange.encode(store.snapshot(), format: .molmo2).bytes).first)
        #expect(record["fps"] == .number(30))
        #expect(record["sampling_fps"] == .number(2))
    }

    /// `Molmo2VideoPoint.load()`: reads `category`, `video_source`, `annotator_unsure`, asserts `ts / 0.5 ==
    /// int(ts / 0.5)`; the 2 fps video has frames `0 … 2·duration` exclusive, so a time equal to the duration has none.
    @Test func videoPointRowsCarryTheLoaderFieldsOnTheHalfSecondGrid() throws {
        let media = testVideo(frameCount: 219, fps: 30)  // 7.3 s
        let store = try Self.store(
            media: media,
            [
                NewTrack(label: "ball", entries: [PointEntry(frame: 218, x: 100, y: 100)]),
                NewTrack(label: "ball", entries: [PointEntry(frame: 14, x: 200, y: 50)]),
            ])
        let record = try #require(
            try Self.records(
                AnnotationExchange.encode(store.snapshot(), format: .molmo2, options: ExportOptions(task: "video_point"))
                    .bytes
            ).first)
        for key in ["category", "video_source", "annotator_unsure", "video_id", "video_duration", "question", "label"] {
            #expect(record[key] != nil, "missing \(key)")
        }
        let times = try #require(record["two_fps_timestamps"]?.arrayValue).compactMap(\.doubleValue)
        #expect(times == [0.5, 7.0])
        for t in times {
            #expect((t / 0.5).rounded() == t / 0.5)
            #expect(Int(t * 2) < Int((media.duration * 2).rounded(.up)))
        }
        // Frame 14 (0.467 s) shows at the 0.5 s sample (frame 15): `frames`, `answer` and the package fields agree.
        let frames = try #require(record["frames"]?.arrayValue).compactMap(\.objectValue)
        #expect(frames.map { $0["frame"]?.intValue } == [15, 210])
        #expect(frames.map { $0["time"]?.doubleValue } == [0.5, 7.0])
        #expect(record["answer"]?.stringValue?.hasPrefix(#"<points coords="0.5 1 "#) == true)
    }

    /// Molmo2's formatter says "a total of N" with N the number of points: `count` must equal it.
    @Test func countingATrackGivesOnePointPerObject() throws {
        let media = testVideo(frameCount: 150, fps: 30)
        let store = try Self.store(
            media: media,
            [
                NewTrack(
                    label: "dog",
                    entries: (0..<10).map { PointEntry(frame: 14 + 10 * $0, x: 100 + Double($0), y: 100) }),
                NewTrack(label: "dog", entries: [PointEntry(frame: 70, x: 300, y: 300)]),
            ])
        for task in ["video_point", "video_count"] {
            let record = try #require(
                try Self.records(
                    AnnotationExchange.encode(store.snapshot(), format: .molmo2, options: ExportOptions(task: task)).bytes
                ).first)
            let points = try #require(record["points"]?.arrayValue).reduce(0) { $0 + ($1.arrayValue?.count ?? 0) }
            #expect(record["count"] == .number(2))
            #expect(points == 2)
            // The track's first grid frame at or after frame 14 is 15 (0.5 s), interpolated there: x = 100.1.
            let first = try #require(record["frames"]?.arrayValue?.first?.objectValue)
            #expect(first["frame"] == .number(15))
            let x = try #require(first["points"]?.arrayValue?.first?.arrayValue?.first?.doubleValue)
            #expect(abs(x - 100.1) < 1e-9)
            if task == "video_count" { #expect(record["answer"] == .string("2")) }
        }
    }

    /// `Molmo2VideoPointEval.load()`: `points[i]` pixel {x, y} at `two_fps_timestamps[i]`, `masks[i]` a list of
    /// `{frame_id, rle}` with time `frame_id / 2`, `width`, `height`. `Molmo2VideoTrackEval`: `masks` and `mask_id`
    /// of equal length, per-object per-frame points.
    @Test func evaluationLayoutsHaveTheEvaluatorsFields() throws {
        let media = testVideo(frameCount: 40, width: 64, height: 48, fps: 10)
        let mask = RLEMask(width: 64, height: 48, counts: [100, 20, 64 * 48 - 120])
        let store = try Self.store(
            media: media,
            [
                NewTrack(label: "cup", entries: [PointEntry(frame: 5, x: 10, y: 12)], masks: [5: mask]),
                NewTrack(label: "car", entries: [PointEntry(frame: 0, x: 1, y: 2), PointEntry(frame: 20, x: 21, y: 22)]),
            ])
        let rows = try Self.records(
            AnnotationExchange.encode(store.snapshot(), format: .molmo2Evaluation).bytes)
        let point = try #require(rows.first { $0["label"]?.stringValue == "cup" })
        #expect(point["width"] == .number(64) && point["height"] == .number(48))
        #expect(point["two_fps_timestamps"] == .array([.number(0.5)]))
        #expect(point["points"] == .array([.object(JSONObject(fields: [("x", .number(10)), ("y", .number(12))]))]))
        let masks = try #require(point["masks"]?.arrayValue?.first?.arrayValue?.first?.objectValue)
        #expect(masks["frame_id"] == .number(1))
        #expect(masks["rle"]?.objectValue?["size"] == .array([.number(48), .number(64)]))
        let track = try #require(rows.first { $0["exp"]?.stringValue == "car" })
        #expect(track["mask_id"] == .array([.string("2")]))
        #expect(track["masks"]?.arrayValue?.count == track["mask_id"]?.arrayValue?.count)
        let perFrame = try #require(track["points"]?.arrayValue?.first?.objectValue?["points"]?.arrayValue)
        #expect(perFrame.count == 40)
        #expect(perFrame[10] == .array([.number(11), .number(12)]))
        #expect(perFrame[21] == .null)
        // Without the spotter section the rows still import (the foreign readers), with the same points.
        let foreign = rows.map { row -> String in
            JSONValue.object(JSONObject(fields: row.fields.filter { $0.key != "spotter" })).jsonText
        }.joined(separator: "\n")
        let imported = try AnnotationExchange.decode(
            Array(foreign.utf8), path: "eval.jsonl", format: .molmo2Evaluation, targetMedia: media)
        let car = try #require(imported.tracks.first { $0.label == "car" })
        #expect(car.preferredID == TrackID(2))
        #expect(car.entries.filter { $0.visibility == .visible }.count == 21)
        #expect(car.entries.last?.visibility == .outside && car.entries.last?.frame == 21)
        let cup = try #require(imported.tracks.first { $0.label == "cup" })
        #expect(cup.entries.map(\.frame) == [5])
        #expect(cup.masks[5] == mask)
    }

    // MARK: - Importing Molmo2's published layout

    @Test func publishedTrackingRowsKeepAbsenceAndStringIDs() throws {
        let record =
            #"{"id":"x","video":"v","clip":"v","video_dataset":"mose","fps":10,"sampling_fps":2,"expression":"zebra","width":640,"height":480,"mask_id":["7","a"],"frame_trajectories":[{"frame":0,"time":0.0,"points":[{"id":"7","point":[10,20],"occluded":false},{"id":"a","point":[1,1],"occluded":false}]},{"frame":5,"time":0.5,"points":[{"id":"a","point":[2,2],"occluded":false}]},{"frame":10,"time":1.0,"points":[{"id":"7","point":[30,40],"occluded":false},{"id":"a","point":[3,3],"occluded":false}]}]}"#
        let imported = try AnnotationExchange.decode(
            Array((record + "\n").utf8), path: "t.jsonl", format: .molmo2, targetMedia: testVideo())
        #expect(imported.tracks.count == 2)
        let seven = try #require(imported.tracks.first { $0.preferredID == TrackID(7) })
        // Absent at frame 5: outside there, so nothing is drawn between frames 0 and 10.
        #expect(seven.entries.map(\.frame) == [0, 5, 10])
        #expect(seven.entries[1].visibility == .outside)
        let named = try #require(imported.tracks.first { $0.name == "a" })
        #expect(named.preferredID == nil)
        #expect(named.entries.count == 3)
    }

    @Test func hostileFrameOffsetsInTrackRowsNeverCrash() throws {
        for start in ["9223372036854775000", "-9223372036854775000", "5", "1e300"] {
            let record =
                #"{"exp":"x","start_frame":"# + start + #","mask_id":["1"],"points":[{"object_id":"1","points":[[1,2],null,[3,4]]}]}"#
            let store = try ProjectStore.inMemory(media: testVideo(frameCount: 10))
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let file = dir.file("hostile.jsonl")
            try Data((record + "\n").utf8).write(to: file)
            // Either placed on the media's frames or refused with a one-line error; never a trap.
            do {
                try AnnotationExchange.importFile(path: file.path, into: store)
                #expect(store.tracks.allSatisfy { $0.entries.allSatisfy { (0..<10).contains($0.frame) } })
            } catch let error as AnnotationError {
                #expect(!"\(error)".contains("\n"))
            }
        }
    }

    @Test func aBareNumberAnswerIsACountWithAWarning() throws {
        let record = #"{"task":"video_count","label":"birds","answer":"11"}"#
        let imported = try AnnotationExchange.decode(
            Array((record + "\n").utf8), path: "c.jsonl", format: .molmo2, targetMedia: testVideo())
        #expect(imported.tracks.isEmpty)
        #expect(imported.queries.map(\.answer) == ["11"])
        #expect(imported.warnings.contains { $0.contains("bare count (11)") })
        let reference = try ProjectStore.inMemory(media: testVideo())
        try reference.apply(
            .createTracks((0..<11).map { NewTrack(label: "birds", entries: [PointEntry(frame: 0, x: Double($0), y: 1)]) }))
        let candidate = try ProjectStore.inMemory(media: testVideo())
        try candidate.importContent(imported, replaceExisting: false)
        let result = ProjectComparison.compare(reference: reference.snapshot(), candidate: candidate.snapshot())
        let birds = try #require(result.counts.first { $0.label == "birds" })
        #expect(birds.candidate == 11 && birds.exact && birds.fromBareAnswer)
    }

    // MARK: - Idempotent import

    @Test func importingTheSameFileTwiceChangesNothing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let source = try ProjectStore.inMemory(media: ExchangeTests.sampleMedia)
        try makeSampleProject(source)
        for format in [AnnotationFormat.molmo2, .cvat, .tapvid] {
            let file = dir.file("twice.\(format.rawValue)")
            try AnnotationExchange.export(source.snapshot(), format: format, to: file.path)
            let target = try ProjectStore.inMemory(media: ExchangeTests.sampleMedia)
            try AnnotationExchange.importFile(path: file.path, into: target, format: format)
            let once = comparableTracks(target.snapshot())
            let queries = target.queries.count
            let (result, imported) = try AnnotationExchange.importFile(path: file.path, into: target, format: format)
            #expect(comparableTracks(target.snapshot()) == once, "\(format)")
            #expect(target.queries.count == queries)
            #expect(result.editID == nil)
            #expect(imported.warnings.contains { $0.contains("already in the project were skipped") })
            // --replace gives the same project too; --merge replaces a same-id track that was edited elsewhere.
            try AnnotationExchange.importFile(path: file.path, into: target, format: format, policy: .replace)
            #expect(comparableTracks(target.snapshot()) == once)
        }
    }

    @Test func mergeReplacesTracksOfTheSameIDAndColoursStayDistinct() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let target = try ProjectStore.inMemory(media: ExchangeTests.sampleMedia)
        try target.apply(.createTracks([NewTrack(label: "dog", entries: [PointEntry(frame: 0, x: 1, y: 1)])]))
        let edited = try ProjectStore.inMemory(media: ExchangeTests.sampleMedia)
        try edited.apply(
            .createTracks([
                NewTrack(
                    preferredID: TrackID(1), label: "dog",
                    entries: [PointEntry(frame: 0, x: 1, y: 1), PointEntry(frame: 9, x: 5, y: 5)])
            ]))
        let file = dir.file("edited.jsonl")
        try AnnotationExchange.export(edited.snapshot(), format: .molmo2, to: file.path)
        try AnnotationExchange.importFile(path: file.path, into: target, policy: .merge)
        #expect(target.tracks.count == 1)
        #expect(target.tracks[0].entries.map(\.frame) == [0, 9])
        // A plain add keeps both, in different colours.
        let other = try ProjectStore.inMemory(media: ExchangeTests.sampleMedia)
        try other.apply(.createTracks([NewTrack(label: "dog", entries: [PointEntry(frame: 3, x: 1, y: 1)])]))
        try AnnotationExchange.importFile(path: file.path, into: other)
        #expect(other.tracks.count == 2)
        #expect(Set(other.tracks.map(\.color)).count == 2)
    }

    // MARK: - CVAT

    /// CVAT's `interpolate` (cvat/apps/dataset_manager/annotation.py) for one-point shapes: linear between
    /// consecutive keyframes, toward the next keyframe's coordinates even when it is outside; hidden from an outside
    /// keyframe until the next keyframe.
    static func cvatPosition(_ shapes: [(frame: Int, x: Double, y: Double, outside: Bool)], at frame: Int) -> (Double, Double)? {
        guard let index = shapes.lastIndex(where: { $0.frame <= frame }) else { return nil }
        let shape = shapes[index]
        if shape.outside { return nil }
        guard index + 1 < shapes.count else { return (shape.x, shape.y) }
        let next = shapes[index + 1]
        let t = Double(frame - shape.frame) / Double(next.frame - shape.frame)
        return (shape.x + (next.x - shape.x) * t, shape.y + (next.y - shape.y) * t)
    }

    static func cvatShapes(_ xml: String) -> [[(frame: Int, x: Double, y: Double, outside: Bool)]] {
        var tracks: [[(frame: Int, x: Double, y: Double, outside: Bool)]] = []
        for line in xml.split(separator: "\n") {
            if line.contains("<track ") { tracks.append([]) }
            guard line.contains("<points frame=") else { continue }
            func attribute(_ name: String) -> String {
                let text = String(line)
                guard let start = text.range(of: " \(name)=\"") else { return "" }
                return String(text[start.upperBound...].prefix { $0 != "\"" })
            }
            let coordinates = attribute("points").split(separator: ",").compactMap { Double($0) }
            tracks[tracks.count - 1].append(
                (Int(attribute("frame")) ?? 0, coordinates[0], coordinates[1], attribute("outside") == "1"))
        }
        return tracks
    }

    @Test func cvatDrawsWhatSpotterDrawsBeforeAnOutsideKeyframe() throws {
        let store = try Self.store(
            media: ExchangeTests.sampleMedia,
            [
                NewTrack(
                    label: "kite",
                    entries: [
                        PointEntry(frame: 2, x: 10, y: 10), PointEntry(frame: 20, x: 200, y: 300, visibility: .outside),
                        PointEntry(frame: 30, x: 50, y: 50), PointEntry(frame: 40, x: 60, y: 70),
                    ])
            ])
        let xml = String(decoding: try AnnotationExchange.encode(store.snapshot(), format: .cvat).bytes, as: UTF8.self)
        let shapes = try #require(Self.cvatShapes(xml).first)
        let track = store.tracks[0]
        for frame in 0..<60 {
            let spotter = track.resolved(at: frame).flatMap { $0.entry.visibility == .outside ? nil : $0.entry }
            let cvat = Self.cvatPosition(shapes, at: frame)
            #expect(spotter.map { [$0.x, $0.y] } == cvat.map { [$0.0, $0.1] }, "frame \(frame)")
        }
        // A foreign file with CVAT's semantics reads as CVAT draws it.
        let foreign = """
            <annotations><version>1.1</version><meta><task><size>60</size></task></meta>
            <track id="0" label="kite" source="manual">
            <points frame="0" keyframe="1" outside="0" occluded="0" points="0,0" z_order="0"/>
            <points frame="10" keyframe="1" outside="1" occluded="0" points="100,50" z_order="0"/>
            </track></annotations>
            """
        let imported = try AnnotationExchange.decode(Array(foreign.utf8), path: "f.xml", format: .cvat, targetMedia: ExchangeTests.sampleMedia)
        let kite = Track(info: TrackInfo(id: TrackID(1), label: "kite"), entries: imported.tracks[0].entries)
        let foreignShapes = [(frame: 0, x: 0.0, y: 0.0, outside: false), (frame: 10, x: 100.0, y: 50.0, outside: true)]
        for frame in 0..<12 {
            let spotter = kite.resolved(at: frame).flatMap { $0.entry.visibility == .outside ? nil : $0.entry }
            let cvat = Self.cvatPosition(foreignShapes, at: frame)
            #expect(spotter.map { [$0.x, $0.y] } == cvat.map { [$0.0, $0.1] }, "frame \(frame)")
        }
    }

    @Test func mixedCVATTasksImportTheirPointAndSkeletonTracks() throws {
        let xml = """
            <?xml version="1.0" encoding="utf-8"?>
            <annotations><version>1.1</version><meta><task><size>3</size></task></meta>
            <track id="0" label="car" source="manual">
              <box frame="0" keyframe="1" outside="0" occluded="0" xtl="1" ytl="1" xbr="5" ybr="5" z_order="0"/>
            </track>
            <track id="1" label="car" source="manual">
              <box frame="0" keyframe="1" outside="0" occluded="0" xtl="1" ytl="1" xbr="5" ybr="5" z_order="0"/>
            </track>
            <track id="2" label="pose" source="manual">
              <skeleton frame="0" keyframe="1" outside="0" occluded="0" z_order="0">
                <points label="nose" outside="0" occluded="0" points="10,20"/>
                <points label="tail" outside="0" occluded="1" points="30,40"/>
              </skeleton>
              <skeleton frame="50" keyframe="1" outside="0" occluded="0" z_order="0">
                <points label="nose" outside="0" occluded="0" points="12,22"/>
                <points label="tail" outside="1" occluded="0" points="30,40"/>
              </skeleton>
            </track>
            <track id="3" label="ball" source="manual">
              <points frame="40" keyframe="1" outside="0" occluded="0" points="5,6" z_order="0"/>
            </track>
            </annotations>
            """
        let media = ExchangeTests.sampleMedia
        let imported = try AnnotationExchange.decode(Array(xml.utf8), path: "m.xml", format: .cvat, targetMedia: media)
        #expect(imported.tracks.map(\.label) == ["pose/nose", "pose/tail", "ball"])
        #expect(imported.warnings.contains("skipped tracks that are not point tracks: 2 <box>"))
        #expect(imported.warnings.contains { $0.contains("2 skeleton keypoints") })
        let tail = imported.tracks[1]
        #expect(tail.entries.map(\.visibility) == [.occluded, .outside])
        // <size> 3 (an item count) is below the annotated frames: the media's 60 frames are used, so the ball is held
        // to the last frame rather than cut.
        #expect(imported.warnings.contains { $0.contains("<size> 3 differs from the media's 60 frames") })
        #expect(imported.tracks[2].entries.last?.frame == 59)
        #expect(throws: AnnotationError.self) {
            try AnnotationExchange.decode(
                Array(xml.utf8), path: "m.xml", format: .cvat, targetMedia: media, refuseOtherShapes: true)
        }
    }

    // MARK: - TAP-Vid

    @Test func stridedQueriesFollowTapnetsSampling() throws {
        #expect(AnnotationMetrics.tapVidQueryFrames(visible: [false, true, true, true, true, true, true, true, true, true, true, true], mode: .strided) == [5, 10])
        #expect(AnnotationMetrics.tapVidQueryFrames(visible: [true] + [Bool](repeating: false, count: 9), mode: .strided) == [0])
        #expect(AnnotationMetrics.tapVidQueryFrames(visible: [false, false, true], mode: .first) == [2])
        // A track visible on frames 0–9 with queries at 0 and 5: each query is evaluated on the other 9 frames.
        let gt = [[SIMD2<Double>]](repeating: (0..<10).map { SIMD2(Double($0), 0) }, count: 2)
        var pred = gt
        pred[0][3].x += 3  // off by 3 px: within 4, 8, 16 only
        pred[1][3].x += 3
        let occluded = [[Bool]](repeating: [Bool](repeating: false, count: 10), count: 2)
        let scores = try #require(
            AnnotationMetrics.tapVid(
                groundTruthPoints: gt, groundTruthOccluded: occluded, predictedPoints: pred,
                predictedOccluded: occluded, queryFrames: [0, 5], mode: .strided))
        #expect(scores.evaluatedPoints == 18)
        #expect(scores.withinThreshold[0] == 16.0 / 18.0)
        #expect(scores.withinThreshold[2] == 1)
        // Nothing visible evaluated: NaN as tapnet (0/0), or 0 when asked.
        let hidden = [[Bool]](repeating: [false] + [Bool](repeating: true, count: 9), count: 1)
        let empty = try #require(
            AnnotationMetrics.tapVid(
                groundTruthPoints: [gt[0]], groundTruthOccluded: hidden, predictedPoints: [gt[0]],
                predictedOccluded: hidden, queryFrames: [0], mode: .first))
        #expect(empty.averageWithin.isNaN && empty.jaccard.allSatisfy(\.isNaN))
        #expect(empty.occlusionAccuracy == 1)
        let zero = try #require(
            AnnotationMetrics.tapVid(
                groundTruthPoints: [gt[0]], groundTruthOccluded: hidden, predictedPoints: [gt[0]],
                predictedOccluded: hidden, queryFrames: [0], mode: .first, emptyScore: 0))
        #expect(zero.averageWithin == 0)
    }
}
