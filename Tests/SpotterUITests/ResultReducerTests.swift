import Annotations
import Testing

@testable import SpotterUI

private func viewerState() -> AppState {
    AppState(
        media: MediaFacts(name: "t", width: 160, height: 120, timestamps: (0..<30).map { Double($0) / 30 }, fps: 30), columns: 100,
        rows: 30, graphics: ViewerGraphics(renderer: .halfBlock(.truecolor)))
}

/// Job reports are plain actions: the reducer alone turns them into the progress line and the outcome.
@Test func propagationReportsAreReduced() {
    var state = viewerState()
    let request = PropagationRequest(track: TrackID(3), frame: 0, forward: false, x: 1, y: 1, keyframe: nil, lastFrame: 29)
    #expect(Reducer.reduce(&state, .jobStarted(.propagation(request))).isEmpty)
    #expect(state.jobRunning)
    _ = Reducer.reduce(&state, .propagationProgress(done: 4, total: 10))
    #expect(state.jobStatus == "propagating #3 backward: 4/10 frames (Esc cancels)")
    // Esc asks the runner to cancel; the job is over only when its outcome is reduced.
    let effects = Reducer.reduce(&state, .input(.key(.escape)))
    #expect(effects.count == 1 && { if case .cancelJob = effects[0] { return true } else { return false } }())
    #expect(state.jobRunning)
    // An outcome with points becomes a store effect (the tracker's edit); without, just the summary.
    let edit = Edit.putEntries(TrackID(3), [PointEntry(frame: 1, x: 2, y: 2, provenance: .tracker)], policy: .fillMissing)
    let commit = Reducer.reduce(&state, .propagationFinished(edit, summary: "propagated 1 frame"))
    #expect(!state.jobRunning && state.jobStatus == nil)
    guard case .commitTracked(_, let summary)? = commit.first else {
        Issue.record("no commit effect: \(commit)")
        return
    }
    #expect(summary == "propagated 1 frame")
    _ = Reducer.reduce(&state, .jobStarted(.propagation(request)))
    #expect(Reducer.reduce(&state, .propagationFinished(nil, summary: "propagation cancelled")).isEmpty)
    #expect(state.message == "propagation cancelled" && !state.jobRunning)
    // A late report of a job no longer running changes nothing.
    let before = state
    _ = Reducer.reduce(&state, .propagationProgress(done: 9, total: 10))
    #expect(state == before)
}

/// What a store effect did arrives as a value: the journals, the selection, the message and the project's contents.
@Test func storeOutcomesAreReduced() {
    var state = viewerState()
    let track = Track(info: TrackInfo(id: TrackID(1), label: "dog"), entries: [PointEntry(frame: 0, x: 5, y: 6)])
    var outcome = StoreOutcome(view: ProjectView(tracks: [track], canUndo: true, canRedo: false, interpolates: true))
    outcome.journal = [.recorded]
    outcome.select = TrackID(1)
    _ = Reducer.reduce(&state, .storeChanged(outcome))
    #expect(state.annotations.tracks == [track] && state.annotations.selected == TrackID(1))
    #expect(state.annotations.framePoints.map(\.track) == [TrackID(1)])
    #expect(state.undoJournal == [.store] && state.annotations.canUndo)
    // One lane for the track: the layout follows.
    #expect(state.layout.lanes.height == 1)
    // Undo: the store entry moves to the redo journal; the track is gone, and with it the selection.
    var undone = StoreOutcome(view: ProjectView(tracks: [], canUndo: false, canRedo: true, interpolates: true))
    undone.journal = [.popped(redo: false), .stepped(redo: false)]
    undone.message = "undone (1 track)"
    _ = Reducer.reduce(&state, .storeChanged(undone))
    #expect(state.undoJournal.isEmpty && state.redoJournal == [.store])
    #expect(state.annotations.selected == nil && state.annotations.framePoints.isEmpty)
    #expect(state.message == "undone (1 track)")
    #expect(state.layout.lanes.height == 0)
}
