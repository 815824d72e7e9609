import Annotations

/// The project store as the TUI uses it: applies edit effects (committed before the screen shows them) and
/// refreshes the state's view of the annotations.
public final class AnnotationSession {
    public let store: ProjectStore

    public init(store: ProjectStore) {
        self.store = store
    }

    /// Performs store effects; returns false for effects that are not about the store. Edits are logged as
    /// made by `actor` (the tracker's runs are machine output, for the correction statistics).
    @discardableResult
    public func perform(_ effect: Effect, on state: inout AppState, actor: EditActor = .human) -> Bool {
        do {
            switch effect {
            case .edit(let edit, let selectCreated):
                let result = try store.apply(edit, actor: actor)
                if selectCreated, let created = result.createdTracks.first { state.annotations.selected = created }
                if result.editID == nil { state.message = "nothing changed" }
            case .undo:
                if let result = try store.undo() {
                    state.message = "undone (\(result.changedTracks.count) track\(result.changedTracks.count == 1 ? "" : "s"))"
                } else {
                    state.message = "nothing to undo"
                }
            case .redo:
                if let result = try store.redo() {
                    state.message = "redone (\(result.changedTracks.count) track\(result.changedTracks.count == 1 ? "" : "s"))"
                } else {
                    state.message = "nothing to redo"
                }
            case .repaintAll, .propagate, .cancelJob:
                return false
            }
        } catch {
            state.message = "\(error)"
        }
        refresh(&state, tracksChanged: true)
        return true
    }

    /// Copies what the panes and overlay need from the store into the state.
    public func refresh(_ state: inout AppState, tracksChanged: Bool) {
        var annotations = state.annotations
        if tracksChanged {
            _ = try? store.reloadIfChangedElsewhere()
            annotations.tracks = store.tracks
            annotations.canUndo = store.canUndo
            annotations.canRedo = store.canRedo
            if let id = annotations.selected, store.track(id) == nil { annotations.selected = nil }
        }
        annotations.framePoints = store.points(onFrame: state.frame)
        if annotations != state.annotations {
            annotations.revision += 1
            let laneCountChanged = annotations.tracks.count != state.annotations.tracks.count
            state.annotations = annotations
            if laneCountChanged { state.relayout(columns: state.layout.screenColumns, rows: state.layout.screenRows) }
        }
    }
}
