/// A track to create: metadata plus its initial entries (any order; one per frame, the last one wins).
package struct NewTrack: Equatable, Sendable {
    /// Keep this id when no current track has it (imports keep their ids); otherwise a fresh id is assigned.
    package var preferredID: TrackID?
    package var label: String
    package var name: String
    package var color: RGBColor?
    package var queryID: Int64?
    package var extras: String?
    /// Who originally created the track (imports keep it); nil means the actor applying the edit.
    package var createdBy: EditActor?
    package var entries: [PointEntry]
    package var masks: [Int: RLEMask]

    package init(
        preferredID: TrackID? = nil, label: String, name: String = "", color: RGBColor? = nil, queryID: Int64? = nil,
        extras: String? = nil, createdBy: EditActor? = nil, entries: [PointEntry] = [], masks: [Int: RLEMask] = [:]
    ) {
        self.preferredID = preferredID
        self.createdBy = createdBy
        self.label = label
        self.name = name
        self.color = color
        self.queryID = queryID
        self.extras = extras
        self.entries = entries
        self.masks = masks
    }
}

/// How machine output (model answers, tracker runs) meets entries that are already stored.
package enum MachineMergePolicy: Sendable {
    /// Only frames with no stored entry receive a value.
    case fillMissing
    /// Machine-made entries are replaced; human entries are kept.
    case replaceMachine
    /// Everything is replaced (an explicit accept).
    case replaceAll
}

/// One user-visible change to the annotations. Each `apply` is one SQLite transaction and one undo step; a
/// `batch` groups several edits into one transaction and one undo step.
package indirect enum Edit: Sendable {
    /// A new track; its id is reported in `EditResult.createdTracks`.
    case createTrack(NewTrack)
    /// Several new tracks at once (accepting a model answer, importing).
    case createTracks([NewTrack])
    /// Adds or moves the point of `track` at `frame`. A human edit makes it a keyframe with human provenance.
    case setPoint(TrackID, frame: Int, x: Double, y: Double)
    /// Writes machine output into a track under a merge policy.
    case putEntries(TrackID, [PointEntry], policy: MachineMergePolicy)
    /// Removes the stored entry at `frame` (the frame becomes derived again).
    case deletePoint(TrackID, frame: Int)
    /// Removes stored entries in a frame range, optionally only those of the given provenances ("truncate from here").
    case deletePoints(TrackID, frames: ClosedRange<Int>, provenances: Set<Provenance>?)
    /// Sets visible / occluded / outside at `frame`, storing the derived position there if needed.
    case setVisibility(TrackID, frame: Int, Visibility)
    /// Pins or unpins `frame` as a keyframe; pinning a derived frame stores its derived position.
    case setKeyframe(TrackID, frame: Int, Bool)
    /// Flips the keyframe state of `frame` (see `setKeyframe`).
    case toggleKeyframe(TrackID, frame: Int)
    case relabel(TrackID, String)
    case rename(TrackID, String)
    case recolor(TrackID, RGBColor)
    /// Moves every entry of `from` into `into` (entries of `into` win where both have one) and deletes `from`.
    case merge(into: TrackID, from: TrackID)
    /// Moves the entries at and after `atFrame` into a new track; derived positions at the cut are stored so the
    /// two halves look as before.
    case split(TrackID, atFrame: Int)
    case deleteTrack(TrackID)
    /// Deletes every track (used by importing with replace).
    case deleteAllTracks
    /// Stores the derived positions of a frame range as `interpolated` entries.
    case bakeInterpolation(TrackID, frames: ClosedRange<Int>)
    /// Several edits as one transaction and one undo step.
    case batch([Edit], summary: String)

    /// Short name recorded in the edit log.
    package var kind: String {
        switch self {
        case .createTrack: return "createTrack"
        case .createTracks: return "createTracks"
        case .setPoint: return "setPoint"
        case .putEntries: return "putEntries"
        case .deletePoint: return "deletePoint"
        case .deletePoints: return "deletePoints"
        case .setVisibility: return "setVisibility"
        case .setKeyframe: return "setKeyframe"
        case .toggleKeyframe: return "toggleKeyframe"
        case .relabel: return "relabel"
        case .rename: return "rename"
        case .recolor: return "recolor"
        case .merge: return "merge"
        case .split: return "split"
        case .deleteTrack: return "deleteTrack"
        case .deleteAllTracks: return "deleteAllTracks"
        case .bakeInterpolation: return "bakeInterpolation"
        case .batch: return "batch"
        }
    }

    /// One-line human description for the edit log and the status line.
    package var summary: String {
        switch self {
        case .createTrack(let track): return "new track \"\(track.label)\" (\(track.entries.count) points)"
        case .createTracks(let tracks):
            return "\(tracks.count) new tracks (\(tracks.reduce(0) { $0 + $1.entries.count }) points)"
        case .setPoint(let id, let frame, let x, let y): return "point \(id) @\(frame) → (\(x), \(y))"
        case .putEntries(let id, let entries, _): return "\(entries.count) machine points into \(id)"
        case .deletePoint(let id, let frame): return "delete point \(id) @\(frame)"
        case .deletePoints(let id, let frames, _):
            return "delete points \(id) @\(frames.lowerBound)…\(frames.upperBound)"
        case .setVisibility(let id, let frame, let visibility): return "\(id) @\(frame) \(visibility.name)"
        case .setKeyframe(let id, let frame, let on): return "\(id) @\(frame) keyframe \(on ? "on" : "off")"
        case .toggleKeyframe(let id, let frame): return "\(id) @\(frame) toggle keyframe"
        case .relabel(let id, let label): return "relabel \(id) \"\(label)\""
        case .rename(let id, let name): return "rename \(id) \"\(name)\""
        case .recolor(let id, let color): return "recolour \(id) \(color)"
        case .merge(let into, let from): return "merge \(from) into \(into)"
        case .split(let id, let frame): return "split \(id) @\(frame)"
        case .deleteTrack(let id): return "delete track \(id)"
        case .deleteAllTracks: return "delete all tracks"
        case .bakeInterpolation(let id, let frames):
            return "bake interpolation \(id) @\(frames.lowerBound)…\(frames.upperBound)"
        case .batch(let edits, let summary): return summary.isEmpty ? "\(edits.count) edits" : summary
        }
    }
}

/// What an applied edit (or undo/redo) changed, so the UI can refresh only that.
package struct EditResult: Equatable, Sendable {
    /// The edit-log id; nil when the edit changed nothing and was not logged.
    package var editID: Int64?
    package var createdTracks: [TrackID]
    package var removedTracks: [TrackID]
    /// Every track whose metadata or entries changed (created and removed ones included).
    package var changedTracks: [TrackID]
    /// The range of frames whose stored entries changed.
    package var frames: ClosedRange<Int>?

    package init(
        editID: Int64?, createdTracks: [TrackID] = [], removedTracks: [TrackID] = [], changedTracks: [TrackID] = [],
        frames: ClosedRange<Int>? = nil
    ) {
        self.editID = editID
        self.createdTracks = createdTracks
        self.removedTracks = removedTracks
        self.changedTracks = changedTracks
        self.frames = frames
    }
}
