import Basics
import Annotations
import Assist

/// The project store as the TUI uses it: runs store effects (committed before the screen shows them) and reports
/// what they did, with the project's new contents, as a `StoreOutcome` value. It never touches `AppState`.
package final class AnnotationSession {
    package let store: ProjectStore
    /// Query records removed because their accepted tracks were undone, kept to be restored as they were.
    var removedQueries: [Int64: QueryRecord] = [:]

    package init(store: ProjectStore) {
        self.store = store
    }

    /// Runs a store effect; nil for effects that are not about the store. `predictions` are the state's. Edits
    /// are logged as made by a person, propagation runs as the tracker's (machine output, for the correction
    /// statistics).
    package func perform(_ effect: Effect, predictions: PredictionSet?) -> StoreOutcome? {
        var outcome = StoreOutcome(view: nil)
        var predictions = predictions
        do {
            switch effect {
            case .edit(let edit, let selectCreated):
                let result = try store.apply(edit, actor: .human)
                if selectCreated, let created = result.createdTracks.first { outcome.select = created }
                if result.editID == nil { outcome.message = "nothing changed" } else { outcome.journal.append(.recorded) }
            case .commitTracked(let edit, let summary):
                let result = try store.apply(edit, actor: .tracker)
                if result.editID == nil { outcome.message = "nothing changed" } else { outcome.journal.append(.recorded) }
                outcome.summary = summary
            case .undo, .redo:
                let redo: Bool
                if case .redo = effect { redo = true } else { redo = false }
                try stepHistory(redo: redo, into: &outcome)
            case .accept(let keys):
                try accept(keys, predictions: &predictions, into: &outcome)
            case .continueTrack(let track, let set, let frame, let suffix):
                continueTrack(track, with: set, after: frame, into: &outcome)
                outcome.suffix = suffix
            case .reload:
                break
            case .repaintAll, .propagate, .cancelJob, .ask:
                return nil
            }
        } catch {
            outcome.message = "\(error)"
        }
        _ = try? store.reloadIfChangedElsewhere()
        outcome.view = view
        if let set = predictions {
            syncQueryRecord(set)
            let (accepted, tracks) = acceptedPredictions(set)
            if accepted != set.accepted || tracks != set.trackOfObject {
                outcome.acceptance = PredictionAcceptance(accepted: accepted, trackOfObject: tracks)
            }
        }
        return outcome
    }

    /// The project's contents read afresh (another process may have changed the file): the first view of a session.
    package func load(predictions: PredictionSet? = nil) -> StoreOutcome {
        perform(.reload, predictions: predictions)!
    }

    /// What the store holds now.
    package var view: ProjectView {
        ProjectView(tracks: store.tracks, canUndo: store.canUndo, canRedo: store.canRedo, interpolates: store.media.kind == .video)
    }
}

extension AnnotationSession {
    /// Undoes or redoes the store's last edit, moving it between the undo and redo journals.
    func stepHistory(redo: Bool, into outcome: inout StoreOutcome) throws {
        outcome.journal.append(.popped(redo: redo))
        guard let result = try (redo ? store.redo() : store.undo()) else {
            outcome.message = redo ? "nothing to redo" : "nothing to undo"
            return
        }
        outcome.journal.append(.stepped(redo: redo))
        let count = result.changedTracks.count
        outcome.message = "\(redo ? "redone" : "undone") (\(count) track\(count == 1 ? "" : "s"))"
    }

    /// Keeps the predictions' query record exactly while some track refers to it: an undone accept must not leave
    /// a question with no answer behind (the export would read it as "there are none"); a redo brings it back.
    func syncQueryRecord(_ set: PredictionSet) {
        guard let id = set.queryID else { return }
        let referenced = store.tracks.contains { $0.info.queryID == id }
        let recorded = store.queries.contains { $0.id == id }
        if referenced && !recorded {
            try? store.restoreQuery(queryRecord(of: set, id: id))
        } else if !referenced && recorded {
            removedQueries[id] = store.queries.first { $0.id == id }
            try? store.deleteQuery(id)
        }
    }

    /// The record of the predictions' question as first recorded (or rebuilt from the predictions).
    func queryRecord(of set: PredictionSet, id: Int64) -> QueryRecord {
        removedQueries[id]
            ?? QueryRecord(
                id: id, prompt: set.question, label: set.label, task: set.task, model: set.model, answer: set.answer,
                timings: set.timings, sampling: set.sampling)
    }

    /// Records the predictions' query in the project (once) and returns its id.
    func recordQuery(of set: inout PredictionSet) throws -> Int64 {
        if let id = set.queryID {
            if !store.queries.contains(where: { $0.id == id }) { try store.restoreQuery(queryRecord(of: set, id: id)) }
            return id
        }
        let id = try store.recordQuery(
            QueryRecord(
                prompt: set.question, label: set.label, task: set.task, model: set.model, answer: set.answer,
                timings: set.timings, sampling: set.sampling))
        set.queryID = id
        return id
    }

    /// Accepts predicted points into the project as one undoable edit: each object's points go into the track it
    /// was accepted into before (or the track the question was about), else into a new track of the query's label.
    /// Points have provenance `model`; a person's points are never replaced.
    func accept(_ keys: [PredictionKey], predictions: inout PredictionSet?, into outcome: inout StoreOutcome) throws {
        guard var set = predictions else { return }
        let queryID = try recordQuery(of: &set)
        var byObject: [Int: [PointEntry]] = [:]
        for key in keys where set.isPending(key) && set.objects.indices.contains(key.object) {
            guard let point = set.objects[key.object].points.first(where: { $0.frame == key.frame }) else { continue }
            byObject[key.object, default: []].append(
                PointEntry(frame: point.frame, x: point.x, y: point.y, visibility: .visible, provenance: .model, isKeyframe: false))
        }
        var edits: [Edit] = []
        var newObjects: [Int] = []
        for object in byObject.keys.sorted() {
            let entries = byObject[object]!.sorted { $0.frame < $1.frame }
            if let track = set.trackOfObject[object], store.track(track) != nil {
                edits.append(.putEntries(track, entries, policy: .replaceMachine))
            } else {
                let label = set.objects[object].label.isEmpty ? set.label : set.objects[object].label
                edits.append(.createTrack(NewTrack(label: label, queryID: queryID, createdBy: .model, entries: entries)))
                newObjects.append(object)
            }
        }
        predictions = set
        outcome.predictions = set
        guard !edits.isEmpty else { return }
        let count = byObject.values.reduce(0) { $0 + $1.count }
        let edit = edits.count == 1 ? edits[0] : .batch(edits, summary: "accept \(count) predicted points")
        let result = try store.apply(edit, actor: .human)
        guard result.editID != nil else {
            outcome.message = "nothing changed (the project already has these points, or a person's points are there)"
            return
        }
        outcome.journal.append(.recorded)
        for (object, track) in zip(newObjects, result.createdTracks) { set.trackOfObject[object] = track }
        predictions = set
        outcome.predictions = set
        outcome.message = "accepted \(count) predicted point\(count == 1 ? "" : "s") into \(byObject.count) track\(byObject.count == 1 ? "" : "s") (u undoes)"
    }

    /// Merges a single-point tracking answer into `track` after `frame` (machine points there are replaced, a person's
    /// are kept) as one undoable edit.
    func continueTrack(_ track: TrackID, with set: PredictionSet, after frame: Int, into outcome: inout StoreOutcome) {
        var set = set
        // The answer's first object is the queried point (id 1); others would be inventions.
        guard let object = set.objects.first(where: { $0.answerID == 1 }) ?? set.objects.first, !object.points.isEmpty else {
            outcome.message = "the model did not continue #\(track.rawValue)" + (set.answer.isEmpty ? "" : ": \(DisplaySafe.visible(String(set.answer.prefix(60))))")
            return
        }
        do {
            _ = try recordQuery(of: &set)
            let entries = object.points.filter { $0.frame > frame }.map {
                PointEntry(frame: $0.frame, x: $0.x, y: $0.y, visibility: .visible, provenance: .model, isKeyframe: false)
            }
            let result = try store.apply(.putEntries(track, entries, policy: .replaceMachine), actor: .model)
            if result.editID != nil { outcome.journal.append(.recorded) }
            let kept = entries.filter { e in store.track(track)?.entry(at: e.frame)?.provenance == .human }.count
            outcome.message = "continued #\(track.rawValue): \(entries.count) model point\(entries.count == 1 ? "" : "s") after frame \(frame)"
                + (kept > 0 ? ", \(kept) kept as placed by you" : "") + " (u undoes)"
        } catch {
            outcome.message = "\(error)"
        }
    }

    /// Which predicted points the project holds (in a track of the query with the same frame and position), and
    /// which tracks still exist for the objects accepted before.
    func acceptedPredictions(_ set: PredictionSet) -> (Set<PredictionKey>, [Int: TrackID]) {
        let tracks = set.trackOfObject.filter { store.track($0.value) != nil }
        var accepted = Set<PredictionKey>()
        let candidates = store.tracks.filter { ($0.info.queryID != nil && $0.info.queryID == set.queryID) || tracks.values.contains($0.id) }
        guard !candidates.isEmpty else { return (accepted, tracks) }
        for (index, object) in set.objects.enumerated() {
            for point in object.points {
                let held = candidates.contains { track in
                    guard let entry = track.entry(at: point.frame), entry.provenance == .model else { return false }
                    return abs(entry.x - point.x) < 1e-6 && abs(entry.y - point.y) < 1e-6
                }
                if held { accepted.insert(PredictionKey(object: index, frame: point.frame)) }
            }
        }
        return (accepted, tracks)
    }
}
