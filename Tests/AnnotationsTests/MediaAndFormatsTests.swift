import Basics
import Foundation
import Testing

@testable import Annotations

@Suite struct MediaAndFormatsTests {
    @Test func sha256MatchesKnownVectors() {
        #expect(SHA256.hexDigest(of: Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hexDigest(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hexDigest(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Fed in uneven pieces, the digest is the same.
        var pieces = SHA256()
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var offset = 0
        var size = 1
        while offset < million.count {
            let end = min(million.count, offset + size)
            pieces.update(million[offset..<end])
            offset = end
            size = size * 3 % 1000 + 1
        }
        #expect(SHA256.hex(pieces.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func videoFingerprintHashesOnlyTheFirstMiB() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var bytes = [UInt8](repeating: 7, count: (1 << 20) + 5000)
        try Data(bytes).write(to: dir.file("a.mp4"))
        bytes[(1 << 20) + 10] = 9  // beyond the first MiB: same hash, same size
        try Data(bytes).write(to: dir.file("b.mp4"))
        bytes[100] = 1  // inside the first MiB: different hash
        try Data(bytes).write(to: dir.file("c.mp4"))
        func describe(_ name: String) throws -> MediaDescriptor {
            try MediaDescriptor.video(
                path: dir.file(name).path, duration: 2, frameCount: 50, width: 320, height: 240, fps: 25)
        }
        let a = try describe("a.mp4")
        #expect(a.byteSize == Int64(bytes.count))
        #expect(a.headSHA256 == SHA256.hexDigest(of: [UInt8](repeating: 7, count: 1 << 20)))
        #expect(a.fingerprint.differences(from: try describe("b.mp4").fingerprint).isEmpty)
        #expect(a.fingerprint.differences(from: try describe("c.mp4").fingerprint) == ["first-MiB hash differs"])
        #expect(throws: AnnotationError.self) { try MediaDescriptor.video(path: dir.file("none.mp4").path, duration: 1, frameCount: 1, width: 1, height: 1, fps: 1) }
        #expect(throws: AnnotationError.self) {
            try MediaDescriptor.video(path: dir.file("a.mp4").path, duration: 1, frameCount: 3, width: 1, height: 1, fps: 1, frameTimestamps: [0])
        }
    }

    @Test func molmo2SamplingFollowsTheReferenceTimes() {
        // molmo2-spec §11: max_fps = 1, 4 frames: D = 2.1 → 0, 1, 2, 2.1; D = 3.001 → 4 evenly spaced times.
        let frameTimes = (0..<400).map { Double($0) / 100 }
        let short = FrameSampling.molmo2UniformLastFrame(duration: 2.1, frameTimestamps: frameTimes, maxFrames: 4, maxFPS: 1)
        #expect(short.times == [0, 1, 2, 2.1])
        #expect(short.frames == [0, 100, 200, 210])
        let long = FrameSampling.molmo2UniformLastFrame(duration: 3.001, frameTimestamps: frameTimes, maxFrames: 4, maxFPS: 1)
        #expect(long.times.count == 4 && long.times.first == 0 && long.times.last == 3.001)
        // 10.3 s at 2 fps: 0.0 … 10.0 and 10.3, 22 times; the last maps to the last frame.
        let clip = FrameSampling.molmo2UniformLastFrame(duration: 10.3, frameTimestamps: (0..<309).map { Double($0) / 30 })
        #expect(clip.times.count == 22 && clip.times[20] == 10 && clip.times[21] == 10.3)
        #expect(clip.frames.last == 308)
        #expect(clip.nearestSampleIndex(toTime: 0.74) == 1 && clip.nearestSampleIndex(toTime: 0.76) == 2)
        // The frame shown at t is the first whose end is after t.
        #expect(MolmoFrameSampler.frameDisplayed(at: 0.5, frameTimestamps: [0, 0.4, 0.8], duration: 1.2) == 1)
        #expect(MolmoFrameSampler.frameDisplayed(at: 0.8, frameTimestamps: [0, 0.4, 0.8], duration: 1.2) == 2)
    }

    @Test func jsonParserIsStrictAndExact() throws {
        let value = try JSONParser.parse(#"{"a":[1,-2.5e3,0.1,true,null],"b":"\u00e9\"\n\ud83d\ude00","c":{}}"#)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["a", "b", "c"])
        #expect(object["a"] == .array([.number(1), .number(-2500), .number(0.1), .bool(true), .null]))
        #expect(object["b"]?.stringValue == "é\"\n😀")
        for bad in ["{", "[1,]", "{\"a\" 1}", "01", "\"\\x\"", "[1] 2", "nul", "\"\u{1}\"", "1.", "-"] {
            #expect(throws: JSONSyntaxError.self, "\(bad)") { try JSONParser.parse(bad) }
        }
        var writer = JSONWriter()
        for number in [0.1, 1e-7, 123456.789, 5, -0.0, 1e300, Double.leastNonzeroMagnitude * 5060] {
            writer.bytes = []
            writer.number(number)
            #expect(try JSONParser.parse(writer.bytes).doubleValue?.bitPattern == number.bitPattern, "\(number)")
        }
        writer.bytes = []
        writer.string("tab\there \"quoted\" \u{1}")
        #expect(try JSONParser.parse(writer.bytes).stringValue == "tab\there \"quoted\" \u{1}")
    }

    @Test func imageSetsDoNotInterpolateAndExportAsMultiImagePoints() throws {
        let images = (0..<3).map {
            ImageDescriptor(path: "img\($0).png", width: 200, height: 100, byteSize: 10, headSHA256: "h\($0)")
        }
        let media = MediaDescriptor.imageSet(images: images, path: "images")
        let store = try ProjectStore.inMemory(media: media)
        try store.apply(
            .createTracks([
                NewTrack(label: "cup", entries: [PointEntry(frame: 0, x: 50, y: 50), PointEntry(frame: 2, x: 100, y: 25)]),
                NewTrack(label: "cup", entries: [PointEntry(frame: 2, x: 20, y: 10)]),
            ]))
        #expect(store.points(onFrame: 1).isEmpty)
        #expect(store.points(onFrame: 2).count == 2)
        let text = String(decoding: try AnnotationExchange.encode(store.snapshot(), format: .molmo2).bytes, as: UTF8.self)
        let record = try #require(try JSONParser.parse(String(text.dropLast())).objectValue)
        #expect(record["task"]?.stringValue == "multi_image_point")
        #expect(record["answer"]?.stringValue == #"<points coords="1 1 250 500;3 2 100 100 3 500 250">cup</points>"#)
        // And back: the answer's points land on the right images.
        let answer = Molmo2Answer.parse(record["answer"]?.stringValue ?? "")
        let objects = answer.objects(media: media).objects
        #expect(objects.map { $0.points[0].frame } == [0, 2, 2])
        #expect(objects[2].points[0].x == 100 && objects[2].points[0].y == 25)
    }

    @Test func modelAnswersBecomeTracksOnSampledFrames() throws {
        let media = testVideo(frameCount: 90, width: 1000, height: 500, fps: 30)
        let answer = Molmo2Answer.parse(
            #"<tracks coords="0.0 1 100 200 2 500 500;0.5 1 110 210;1.0 2 520 520">ants</tracks>"#)
        let tracks = answer.newTracks(media: media, queryID: 4)
        #expect(tracks.count == 2)
        #expect(tracks[0].entries.map(\.frame) == [0, 15])
        #expect(tracks[0].entries[1] == PointEntry(frame: 15, x: 110, y: 105, provenance: .model))
        #expect(tracks[1].entries.map(\.frame) == [0, 30])
        #expect(tracks.allSatisfy { $0.queryID == 4 && $0.label == "ants" })
        let store = try ProjectStore.inMemory(media: media)
        try store.apply(.createTracks(tracks), actor: .model)
        // Between the samples the ghost point is interpolated.
        let ghost = try #require(store.point(track: store.trackIDs[0], frame: 5))
        #expect(ghost.isInterpolated && abs(ghost.entry.x - (100 + 10.0 / 3)) < 1e-9)
    }

    @Test func moreEditSemantics() throws {
        let store = try ProjectStore.inMemory(media: testVideo())
        let id = try #require(
            try store.apply(
                .createTrack(
                    NewTrack(
                        label: "a",
                        entries: [
                            PointEntry(frame: 0, x: 0, y: 0, provenance: .model),
                            PointEntry(frame: 10, x: 10, y: 10, provenance: .tracker, isKeyframe: false),
                            PointEntry(frame: 20, x: 20, y: 20),
                        ]))
            ).createdTracks.first)
        // Marking a derived frame occluded stores the derived position there.
        try store.apply(.setVisibility(id, frame: 5, .occluded))
        #expect(store.track(id)?.entry(at: 5) == PointEntry(frame: 5, x: 5, y: 5, visibility: .occluded))
        // Baking stores derived positions without replacing stored ones.
        let baked = try store.apply(.bakeInterpolation(id, frames: 11...13))
        #expect(baked.frames == 11...13)
        #expect(store.track(id)?.entry(at: 12)?.provenance == .interpolated)
        // Truncating machine points from frame 10 on keeps the human ones.
        try store.apply(.deletePoints(id, frames: 10...100, provenances: [.tracker, .interpolated]))
        #expect(store.track(id)?.entries.map(\.frame) == [0, 5, 20])
        // Fill-missing machine output does not touch stored frames.
        try store.apply(
            .putEntries(id, [PointEntry(frame: 0, x: 9, y: 9, provenance: .tracker), PointEntry(frame: 1, x: 1, y: 1, provenance: .tracker)], policy: .fillMissing),
            actor: .tracker)
        #expect(store.track(id)?.entry(at: 0)?.x == 0 && store.track(id)?.entry(at: 1)?.x == 1)
        try store.apply(.relabel(id, "b"))
        try store.apply(.rename(id, "first"))
        try store.apply(.recolor(id, RGBColor(red: 9, green: 8, blue: 7)))
        #expect(store.track(id)?.info.label == "b" && store.track(id)?.name == "first")
        #expect(store.track(id)?.color.description == "#090807")
        try store.apply(.deleteAllTracks)
        #expect(store.tracks.isEmpty)
        try store.undo()
        #expect(store.track(id)?.name == "first")
        // Splitting where one side would be empty is refused.
        #expect(throws: AnnotationError.self) { try store.apply(.split(id, atFrame: 0)) }
        #expect(throws: AnnotationError.self) { try store.apply(.merge(into: id, from: id)) }
        // A new track never reuses an id, even after undoing the creation of a higher one.
        let second = try #require(try store.apply(.createTrack(NewTrack(label: "c"))).createdTracks.first)
        try store.undo()
        let third = try #require(try store.apply(.createTrack(NewTrack(label: "d"))).createdTracks.first)
        #expect(third.rawValue > second.rawValue)
    }

    @Test func changeSetCodecRoundTripsAndRejectsCorruption() throws {
        let info = TrackInfo(id: TrackID(-3), label: "ä", name: "n", createdBy: .tracker, queryID: 77, extras: "{}")
        var renamed = info
        renamed.id = TrackID(5)
        let changes = ChangeSet(tracks: [
            ChangeSet.TrackChange(
                id: TrackID(-3), infoBefore: nil, infoAfter: info,
                entries: [
                    ChangeSet.EntryChange(frame: 4, before: nil, after: PointEntry(frame: 4, x: -1.5, y: .pi, visibility: .outside)),
                    ChangeSet.EntryChange(frame: 9, before: PointEntry(frame: 9, x: 1, y: 2), after: nil),
                ],
                masks: [ChangeSet.MaskChange(frame: 4, before: nil, after: RLEMask(width: 3, height: 2, counts: [1, 4, 1]))]),
            ChangeSet.TrackChange(id: TrackID(5), infoBefore: renamed, infoAfter: renamed, entries: [], masks: []),
        ])
        let bytes = ChangeSetCodec.encode(changes)
        #expect(try ChangeSetCodec.decode(bytes) == changes)
        #expect(changes.inverted().inverted() == changes)
        for cut in [0, 3, 5, bytes.count / 2, bytes.count - 1] {
            #expect(throws: (any Error).self) { try ChangeSetCodec.decode(Array(bytes.prefix(cut))) }
        }
    }
}
