import Basics
import Foundation
import Testing

import struct Basics.SplitMix64

@testable import Annotations

/// A fresh temporary directory, removed when the test's scope ends via `defer`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("spotter-annotations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// A small video description that needs no file (fingerprint fields are made up but fixed).
func testVideo(
    frameCount: Int = 100, width: Int = 640, height: Int = 480, fps: Double = 10, path: String = "clip.mp4"
) -> MediaDescriptor {
    MediaDescriptor(
        kind: .video, path: path, byteSize: 123_456, headSHA256: String(repeating: "ab", count: 32),
        duration: Double(frameCount) / fps, frameCount: frameCount, width: width, height: height, fps: fps,
        frameTimestamps: (0..<frameCount).map { Double($0) / fps })
}

/// Location of a fixture file in Tests/AnnotationsTests/Fixtures.
func fixtureURL(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
}

/// The deterministic pseudo-random generator of the property-based tests (Media's SplitMix64).
typealias SeededGenerator = SplitMix64

/// A small, varied project: several labels, every visibility and provenance, pinned and unpinned entries, a name,
/// a custom colour, kept extras, a mask and a recorded query.
func makeSampleProject(_ store: ProjectStore) throws {
    let queryID = try store.recordQuery(
        QueryRecord(
            createdAt: Date(timeIntervalSince1970: 1_700_000_000.5), prompt: "Point to ball.", label: "ball",
            task: "video_point", model: "Molmo2-4B", answer: #"<points coords="2.0 1 078 125">ball</points>"#,
            timings: ["decode": 0.25, "total": 1.5]))
    let mask = RLEMask(width: 640, height: 480, counts: [15 * 480 + 20, 100, 480 * 640 - (15 * 480 + 20) - 100])
    let tracks = [
        NewTrack(
            label: "dog",
            entries: [
                PointEntry(frame: 0, x: 100.25, y: 200.5),
                PointEntry(frame: 10, x: 120, y: 210, visibility: .occluded, provenance: .model),
                PointEntry(frame: 20, x: 130.125, y: 190, provenance: .tracker, isKeyframe: false),
                PointEntry(frame: 30, x: 130.125, y: 190, visibility: .outside),
            ]),
        NewTrack(
            label: "dog", name: "big dog", color: RGBColor(red: 1, green: 2, blue: 3),
            extras: #"{"annotator_unsure":true}"#, createdBy: .model,
            entries: [
                PointEntry(frame: 5, x: 400, y: 300, provenance: .model),
                PointEntry(frame: 25, x: 420.5, y: 310.75),
                PointEntry(frame: 26, x: 421, y: 311, provenance: .interpolated, isKeyframe: false),
            ]),
        NewTrack(
            label: "ball", queryID: queryID, createdBy: .model,
            entries: [PointEntry(frame: 15, x: 50, y: 60, provenance: .model)], masks: [15: mask]),
        NewTrack(label: "ball", entries: [PointEntry(frame: 40, x: 600, y: 470)]),
    ]
    try store.apply(.createTracks(tracks))
}

/// Tracks with query ids replaced by the query's prompt, so projects whose query ids were renumbered compare equal.
func comparableTracks(_ snapshot: ProjectSnapshot) -> [String] {
    let prompts = Dictionary(uniqueKeysWithValues: snapshot.queries.map { ($0.id, $0.prompt) })
    return snapshot.tracks.map { track in
        var info = track.info
        let prompt = info.queryID.flatMap { prompts[$0] } ?? "-"
        info.queryID = nil
        return "\(info) query=\(prompt) entries=\(track.entries) masks=\(track.masks.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" })"
    }
}

func comparableQueries(_ snapshot: ProjectSnapshot) -> [String] {
    snapshot.queries.map { query in
        let timings = query.timings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return "\(query.createdAt.timeIntervalSince1970) \(query.prompt) \(query.label) \(query.task) \(query.model) "
            + "\(query.answer) \(timings) \(String(describing: query.sampling)) \(query.extras ?? "-")"
    }.sorted()
}
