import Annotations
import Foundation
import Testing
import Tracking

@testable import SpotterUI

/// A smooth texture moving 2 px right and 1 px down per frame: frame f shows the base texture shifted by (2f, f).
private func movingTexture(_ frame: Int) -> GrayImage {
    let width = 160, height = 120
    var pixels = [Float](repeating: 0, count: width * height)
    for y in 0..<height {
        for x in 0..<width {
            let u = Double(x) - 2 * Double(frame)
            let v = Double(y) - Double(frame)
            pixels[y * width + x] = Float(128 + 40 * sin(0.21 * u + 0.13 * v) + 30 * sin(-0.11 * u + 0.17 * v + 2) + 20 * sin(0.05 * u - 0.19 * v + 1))
        }
    }
    return GrayImage(width: width, height: height, pixels: pixels)
}

@Test func forwardRunAddsTrackerPointsUntilTheEnd() {
    let request = PropagationRequest(track: TrackID(1), frame: 3, forward: true, x: 60, y: 50, keyframe: nil, lastFrame: 12)
    let (edit, summary) = PropagationJob.run(request, frames: { movingTexture($0) })
    guard case .putEntries(let id, let entries, let policy)? = edit else {
        Issue.record("no edit: \(summary)")
        return
    }
    #expect(id == TrackID(1))
    #expect(policy == .fillMissing)
    #expect(entries.map(\.frame) == Array(4...12))
    for e in entries {
        #expect(abs(e.x - (60 + 2 * Double(e.frame - 3))) < 0.1 && abs(e.y - (50 + Double(e.frame - 3))) < 0.1)
        #expect(e.provenance == .tracker && !e.isKeyframe)
    }
    #expect(summary.contains("propagated 9 frames"))
}

@Test func backwardRunBridgesToTheKeyframe() {
    // From frame 10 back to a keyframe at frame 2: tracked both ways and blended, keyframes untouched.
    let request = PropagationRequest(
        track: TrackID(7), frame: 10, forward: false, x: 76, y: 58, keyframe: (frame: 2, x: 60, y: 50), lastFrame: 20)
    let (edit, summary) = PropagationJob.run(request, frames: { movingTexture($0) })
    guard case .putEntries(_, let entries, _)? = edit else {
        Issue.record("no edit: \(summary)")
        return
    }
    #expect(entries.map(\.frame) == Array(3...9))
    for e in entries { #expect(abs(e.x - (60 + 2 * Double(e.frame - 2))) < 0.1) }
    #expect(summary.contains("bridged frames 2…10"))
}

@Test func propagationThroughTheViewerIsOneUndoableEdit() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let frames = 15
    let times = (0..<frames).map { Double($0) / 30 }
    let media = try MediaDescriptor.video(
        path: root.appendingPathComponent("Samples/shapes.mp4").path, duration: 0.5, frameCount: frames, width: 160,
        height: 120, fps: 30, frameTimestamps: times)
    let store = try ProjectStore.inMemory(media: media)
    let session = AnnotationSession(store: store)
    let jobs = JobCenter(frames: { movingTexture($0) })
    var state = AppState(
        media: MediaFacts(name: "t", width: 160, height: 120, timestamps: times, fps: 30), columns: 100, rows: 30,
        graphics: ViewerGraphics(renderer: .halfBlock(.truecolor)))
    _ = try store.apply(.createTrack(NewTrack(label: "p", entries: [PointEntry(frame: 0, x: 40, y: 40)])))
    Dispatcher.load(state: &state, annotations: session)
    Dispatcher.dispatch(.input(.key(.tab)), state: &state, annotations: session, jobs: jobs)
    Dispatcher.dispatch(.input(.key(.character("p"))), state: &state, annotations: session, jobs: jobs)
    #expect(state.jobRunning)
    Dispatcher.settle(state: &state, annotations: session, jobs: jobs)
    #expect(!state.jobRunning)
    let track = try #require(store.tracks.first)
    #expect(track.entries.count == frames)
    #expect(track.entries.filter { $0.provenance == .tracker }.count == frames - 1)
    #expect(state.message?.contains("propagated 14 frames") == true)
    // The run is logged as the tracker's work, so correction statistics count its points as machine output.
    let history = try store.editHistory()
    #expect(history.map(\.actor) == [.human, .tracker])
    let statistics = AnnotationMetrics.correctionStatistics(history: history, current: store.tracks)
    #expect(statistics.humanEdits == 1)
    #expect(statistics.machinePointsCreated == frames - 1 && statistics.machinePointsKept == frames - 1)
    // One undo removes the whole run and leaves the human point.
    Dispatcher.dispatch(.input(.key(.character("u"))), state: &state, annotations: session, jobs: jobs)
    #expect(store.tracks.first?.entries.count == 1)
}

@Test func cancellingStopsTheRun() {
    let request = PropagationRequest(track: TrackID(1), frame: 0, forward: true, x: 60, y: 50, keyframe: nil, lastFrame: 500)
    var calls = 0
    let (edit, summary) = PropagationJob.run(request, frames: { movingTexture($0 % 3) }, isCancelled: {
        calls += 1
        return calls > 3
    })
    #expect(summary.contains("cancelled"))
    if case .putEntries(_, let entries, _)? = edit { #expect(entries.count <= 3) }
}

