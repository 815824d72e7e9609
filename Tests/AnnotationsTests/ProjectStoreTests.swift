import Foundation
import Testing

@testable import Annotations

@Suite struct ProjectStoreTests {
    @Test func editsSurviveReopenAndUndoRedoWalksTheLogAcrossRestarts() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.file("clip.spotter")
        do {
            let store = try ProjectStore.create(at: url, media: testVideo())
            let created = try store.apply(.createTrack(NewTrack(label: "dog")))
            let id = try #require(created.createdTracks.first)
            try store.apply(.setPoint(id, frame: 3, x: 10, y: 20))
            try store.apply(.setPoint(id, frame: 9, x: 30, y: 40))
            try store.apply(.setPoint(id, frame: 9, x: 31, y: 41))
            #expect(store.track(id)?.entries.map(\.frame) == [3, 9])
            #expect(store.track(id)?.entry(at: 9)?.x == 31)
            try store.close()
        }
        do {
            let store = try ProjectStore.open(at: url)
            let id = try #require(store.trackIDs.first)
            #expect(store.track(id)?.entry(at: 9)?.x == 31)
            #expect(store.canUndo)
            #expect(!store.canRedo)
            try store.undo()
            #expect(store.track(id)?.entry(at: 9)?.x == 30)
            try store.undo()
            #expect(store.track(id)?.entry(at: 9) == nil)
            try store.close()
        }
        do {
            let store = try ProjectStore.open(at: url)
            let id = try #require(store.trackIDs.first)
            #expect(store.track(id)?.entry(at: 9) == nil)
            #expect(store.canRedo)
            try store.redo()
            #expect(store.track(id)?.entry(at: 9)?.x == 30)
            // A new edit discards the remaining redo step.
            try store.apply(.setPoint(id, frame: 5, x: 1, y: 1))
            #expect(!store.canRedo)
            let history = try store.editHistory()
            #expect(history.map(\.state) == [.applied, .applied, .applied, .discarded, .applied])
            try store.close()
        }
    }

    @Test func everyEditIsVisibleToASecondConnectionImmediately() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.file("clip.spotter")
        let writer = try ProjectStore.create(at: url, media: testVideo())
        let id = try #require(try writer.apply(.createTrack(NewTrack(label: "ball"))).createdTracks.first)
        for frame in 0..<20 {
            try writer.apply(.setPoint(id, frame: frame, x: Double(frame) * 2.5, y: 7))
            // A separate connection, opened while the writer stays open, must already see the edit.
            let reader = try ProjectStore.open(at: url, readOnly: true)
            #expect(reader.track(id)?.entries.count == frame + 1)
            #expect(reader.track(id)?.entry(at: frame)?.x == Double(frame) * 2.5)
            try reader.close()
        }
        try writer.undo()
        let reader = try ProjectStore.open(at: url, readOnly: true)
        #expect(reader.track(id)?.entries.count == 19)
        #expect(reader.canRedo)
        try reader.close()
        try writer.close()
    }

    @Test func interpolationFollowsCVATRules() throws {
        let store = try ProjectStore.inMemory(media: testVideo())
        let id = try #require(
            try store.apply(
                .createTrack(
                    NewTrack(
                        label: "p",
                        entries: [
                            PointEntry(frame: 0, x: 0, y: 0),
                            PointEntry(frame: 10, x: 100, y: 50, visibility: .occluded),
                            PointEntry(frame: 20, x: 200, y: 100),
                            PointEntry(frame: 30, x: 0, y: 0, visibility: .outside),
                            PointEntry(frame: 40, x: 10, y: 10),
                        ]))
            ).createdTracks.first)
        let mid = try #require(store.point(track: id, frame: 5))
        #expect(mid.isInterpolated && mid.entry.x == 50 && mid.entry.y == 25 && mid.entry.visibility == .visible)
        // After an occluded entry the derived state is occluded.
        #expect(store.point(track: id, frame: 15)?.entry.visibility == .occluded)
        #expect(store.point(track: id, frame: 15)?.entry.x == 150)
        // The next entry is outside: position held.
        #expect(store.point(track: id, frame: 25)?.entry.x == 200)
        // After an outside entry: absent until the next entry.
        #expect(store.point(track: id, frame: 35) == nil)
        #expect(store.point(track: id, frame: 41) == nil)
        #expect(store.points(onFrame: 5).count == 1)
        #expect(store.points(onFrame: 5, interpolate: false).isEmpty)
        #expect(store.nextKeyframe(track: id, after: 10) == 20)
        #expect(store.previousKeyframe(track: id, before: 10) == 0)
    }

    @Test func mergeSplitAndKeyframeEditsAreUndoable() throws {
        let store = try ProjectStore.inMemory(media: testVideo())
        let a = try #require(
            try store.apply(
                .createTrack(
                    NewTrack(
                        label: "a", entries: [PointEntry(frame: 0, x: 0, y: 0), PointEntry(frame: 10, x: 10, y: 0)]))
            ).createdTracks.first)
        let b = try #require(
            try store.apply(
                .createTrack(
                    NewTrack(
                        label: "b", entries: [PointEntry(frame: 10, x: 99, y: 99), PointEntry(frame: 20, x: 20, y: 0)]))
            ).createdTracks.first)
        let before = store.snapshot().tracks
        try store.apply(.merge(into: a, from: b))
        #expect(store.track(b) == nil)
        #expect(store.track(a)?.entries.map(\.frame) == [0, 10, 20])
        #expect(store.track(a)?.entry(at: 10)?.x == 10)  // the kept track wins on conflicts
        let split = try store.apply(.split(a, atFrame: 5))
        let tail = try #require(split.createdTracks.first)
        // Derived positions at the cut are stored on both sides.
        #expect(store.track(a)?.entries.map(\.frame) == [0, 4])
        #expect(store.track(a)?.entry(at: 4)?.x == 4)
        #expect(store.track(tail)?.entries.map(\.frame) == [5, 10, 20])
        #expect(store.track(tail)?.entry(at: 5)?.x == 5)
        try store.apply(.toggleKeyframe(tail, frame: 7))
        #expect(store.track(tail)?.entry(at: 7)?.isKeyframe == true)
        #expect(store.track(tail)?.entry(at: 7)?.x == 7)
        try store.apply(.toggleKeyframe(tail, frame: 7))
        #expect(store.track(tail)?.entry(at: 7)?.isKeyframe == false)
        try store.undo()
        try store.undo()
        try store.undo()
        try store.undo()
        #expect(store.snapshot().tracks == before)
        try store.redo()
        #expect(store.track(b) == nil)
    }

    @Test func machineOutputNeverReplacesHumanPointsWithoutExplicitAccept() throws {
        let store = try ProjectStore.inMemory(media: testVideo())
        let id = try #require(
            try store.apply(.createTrack(NewTrack(label: "x", entries: [PointEntry(frame: 1, x: 1, y: 1)])))
                .createdTracks.first)
        let machine = [
            PointEntry(frame: 1, x: 50, y: 50, provenance: .tracker, isKeyframe: false),
            PointEntry(frame: 2, x: 51, y: 50, provenance: .tracker, isKeyframe: false),
        ]
        try store.apply(.putEntries(id, machine, policy: .replaceMachine), actor: .tracker)
        #expect(store.track(id)?.entry(at: 1)?.x == 1)
        #expect(store.track(id)?.entry(at: 2)?.provenance == .tracker)
        try store.apply(.putEntries(id, machine, policy: .replaceAll), actor: .tracker)
        #expect(store.track(id)?.entry(at: 1)?.x == 50)
        // A human move turns the point human and pins it.
        try store.apply(.setPoint(id, frame: 2, x: 3, y: 3))
        #expect(store.track(id)?.entry(at: 2)?.provenance == .human)
        #expect(store.track(id)?.entry(at: 2)?.isKeyframe == true)
    }

    @Test func bulkAcceptIsOneTransactionAndOneUndoStep() throws {
        let store = try ProjectStore.inMemory(media: testVideo())
        let tracks = (0..<500).map { i in
            NewTrack(label: "penguin", entries: [PointEntry(frame: i % 100, x: Double(i), y: 1, provenance: .model)])
        }
        let result = try store.apply(.createTracks(tracks), actor: .model)
        #expect(result.createdTracks.count == 500)
        #expect(store.pointCount == 500)
        try store.undo()
        #expect(store.pointCount == 0)
        #expect(!store.canUndo)
        try store.redo()
        #expect(store.pointCount == 500)
        #expect(try store.editHistory().count == 1)
    }

    @Test func invalidEditsThrowAndChangeNothing() throws {
        let store = try ProjectStore.inMemory(media: testVideo(frameCount: 10))
        let id = try #require(try store.apply(.createTrack(NewTrack(label: "x"))).createdTracks.first)
        #expect(throws: AnnotationError.self) { try store.apply(.setPoint(id, frame: 10, x: 1, y: 1)) }
        #expect(throws: AnnotationError.self) { try store.apply(.setPoint(id, frame: 1, x: .nan, y: 1)) }
        #expect(throws: AnnotationError.self) { try store.apply(.setPoint(TrackID(99), frame: 1, x: 1, y: 1)) }
        #expect(throws: AnnotationError.self) {
            try store.apply(.batch([.setPoint(id, frame: 1, x: 1, y: 1), .deleteTrack(TrackID(42))], summary: ""))
        }
        #expect(store.track(id)?.entries.isEmpty == true)
        #expect(try store.editHistory().count == 1)
        // An edit that changes nothing is not logged.
        #expect(try store.apply(.deletePoint(id, frame: 3)).editID == nil)
    }

    @Test func recordedQueriesPersist() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.file("q.spotter")
        let store = try ProjectStore.create(at: url, media: testVideo())
        let sampling = FrameSampling(mode: "uniform_last_frame", maxFrames: 384, maxFPS: 2, times: [0, 0.5], frames: [0, 5])
        let id = try store.recordQuery(
            QueryRecord(
                createdAt: Date(timeIntervalSince1970: 1_700_000_000.25), prompt: "Point to dogs", label: "dogs",
                task: "video_point", model: "Molmo2-4B", answer: "There are none.", timings: ["total": 1.5],
                sampling: sampling))
        try store.close()
        let reopened = try ProjectStore.open(at: url)
        #expect(reopened.queries.count == 1)
        #expect(reopened.queries.first?.id == id)
        #expect(reopened.queries.first?.timings == ["total": 1.5])
        #expect(reopened.queries.first?.sampling == sampling)
        #expect(reopened.queries.first?.createdAt == Date(timeIntervalSince1970: 1_700_000_000.25))
    }

    @Test func aSecondWriterNeverClobbersTheFirst() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.file("shared.spotter")
        let ui = try ProjectStore.create(at: url, media: testVideo())
        let cli = try ProjectStore.open(at: url)
        let first = try #require(try ui.apply(.createTrack(NewTrack(label: "from ui"))).createdTracks.first)
        // The other writer has not looked since; its next edit must see the new track and pick a fresh id.
        let second = try #require(try cli.apply(.createTrack(NewTrack(label: "from cli"))).createdTracks.first)
        #expect(second != first)
        #expect(cli.track(first)?.label == "from ui")
        #expect(try ui.reloadIfChangedElsewhere())
        #expect(!(try ui.reloadIfChangedElsewhere()))
        #expect(ui.track(second)?.label == "from cli")
        // Undo in the first store undoes the latest edit of the file, made by the other writer.
        try ui.undo()
        #expect(ui.track(second) == nil && ui.track(first) != nil)
        try cli.close()
        try ui.close()
    }

    @Test func durabilitySettingsReachTheConnection() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let normal = try ProjectStore.create(at: dir.file("a.spotter"), media: testVideo())
        #expect(try normal.pragma("journal_mode") == "wal")
        #expect(try normal.pragma("synchronous") == "1")
        let full = try ProjectStore.create(at: dir.file("b.spotter"), media: testVideo(), durability: .powerLoss)
        #expect(try full.pragma("journal_mode") == "wal")
        #expect(try full.pragma("synchronous") == "2")
        try normal.close()
        try full.close()
    }

    @Test func refusesFilesThatAreNotProjects() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.file("not.spotter")
        try Data("hello".utf8).write(to: url)
        #expect(throws: AnnotationError.self) { try ProjectStore.open(at: url) }
    }
}
