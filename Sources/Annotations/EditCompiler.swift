/// Turns high-level edits into a change set against the committed tracks. Works on copies of the touched tracks;
/// nothing is committed until the store writes the resulting change set.
struct EditCompiler {
    let committed: [TrackID: Track]
    let media: MediaDescriptor
    let path: String
    let actor: EditActor
    private(set) var nextTrackID: Int64
    private var working: [TrackID: Track] = [:]
    private var deleted: Set<TrackID> = []
    private var touchedOrder: [TrackID] = []
    private var touchedSet: Set<TrackID> = []
    private(set) var createdOrder: [TrackID] = []

    init(committed: [TrackID: Track], media: MediaDescriptor, path: String, actor: EditActor, nextTrackID: Int64) {
        self.committed = committed
        self.media = media
        self.path = path
        self.actor = actor
        self.nextTrackID = nextTrackID
    }

    // MARK: - State access

    func current(_ id: TrackID) -> Track? {
        if deleted.contains(id) { return nil }
        return working[id] ?? committed[id]
    }

    private func fail(_ reason: String) -> AnnotationError { .invalidEdit(path: path, reason: reason) }

    private mutating func touch(_ id: TrackID) {
        if touchedSet.insert(id).inserted { touchedOrder.append(id) }
    }

    private mutating func modify(_ id: TrackID, _ body: (inout Track) throws -> Void) throws {
        guard var track = current(id) else { throw fail("no track \(id)") }
        touch(id)
        working[id] = nil
        try body(&track)
        working[id] = track
    }

    private mutating func remove(_ id: TrackID) throws {
        guard current(id) != nil else { throw fail("no track \(id)") }
        touch(id)
        working[id] = nil
        deleted.insert(id)
    }

    private mutating func insertNew(_ track: Track) {
        touch(track.id)
        deleted.remove(track.id)
        working[track.id] = track
        createdOrder.append(track.id)
    }

    private func validate(frame: Int) throws {
        guard frame >= 0, media.frameCount <= 0 || frame < media.frameCount else {
            throw fail("frame \(frame) is outside 0..<\(media.frameCount)")
        }
    }

    private func validate(x: Double, y: Double) throws {
        guard x.isFinite, y.isFinite else { throw fail("coordinates must be finite, got (\(x), \(y))") }
    }

    private func validate(_ entry: PointEntry) throws {
        try validate(frame: entry.frame)
        try validate(x: entry.x, y: entry.y)
    }

    // MARK: - Compiling

    mutating func compile(_ edit: Edit) throws {
        switch edit {
        case .createTrack(let newTrack):
            try create(newTrack)
        case .createTracks(let newTracks):
            for newTrack in newTracks { try create(newTrack) }
        case .setPoint(let id, let frame, let x, let y):
            try validate(frame: frame)
            try validate(x: x, y: y)
            let provenance = actor.defaultProvenance
            let pin = actor != .tracker
            try modify(id) { track in
                if var entry = track.entry(at: frame) {
                    entry.x = x
                    entry.y = y
                    entry.provenance = provenance
                    if entry.visibility == .outside { entry.visibility = .visible }
                    if pin { entry.isKeyframe = true }
                    track.store(entry)
                } else {
                    let derived = track.resolved(at: frame)
                    let visibility: Visibility = derived?.entry.visibility == .occluded ? .occluded : .visible
                    track.store(
                        PointEntry(
                            frame: frame, x: x, y: y, visibility: visibility, provenance: provenance, isKeyframe: pin))
                }
            }
        case .putEntries(let id, let entries, let policy):
            for entry in entries { try validate(entry) }
            try modify(id) { track in
                track.upsert(sortedUnique(entries)) { existing, _ in
                    switch policy {
                    case .fillMissing: return false
                    case .replaceMachine: return existing.provenance.isMachine
                    case .replaceAll: return true
                    }
                }
            }
        case .deletePoint(let id, let frame):
            try modify(id) { track in track.removeEntry(at: frame) }
        case .deletePoints(let id, let frames, let provenances):
            try modify(id) { track in
                track.entries.removeAll { entry in
                    frames.contains(entry.frame) && (provenances?.contains(entry.provenance) ?? true)
                }
            }
        case .setVisibility(let id, let frame, let visibility):
            try validate(frame: frame)
            let provenance = actor.defaultProvenance
            let actor = self.actor
            let path = self.path
            try modify(id) { track in
                if var entry = track.entry(at: frame) {
                    guard entry.visibility != visibility else { return }
                    entry.visibility = visibility
                    entry.provenance = provenance
                    if actor == .human { entry.isKeyframe = true }
                    track.store(entry)
                    return
                }
                let position: (x: Double, y: Double)
                if let derived = track.resolved(at: frame) {
                    guard derived.entry.visibility != visibility else { return }
                    position = (derived.entry.x, derived.entry.y)
                } else {
                    // The object is absent here; marking it outside changes nothing.
                    guard visibility != .outside else { return }
                    guard let held = track.heldPosition(at: frame) else {
                        throw AnnotationError.invalidEdit(path: path, reason: "track \(track.id) has no point to give a visibility at frame \(frame)")
                    }
                    position = held
                }
                track.store(
                    PointEntry(
                        frame: frame, x: position.x, y: position.y, visibility: visibility, provenance: provenance,
                        isKeyframe: true))
            }
        case .setKeyframe(let id, let frame, let on):
            try validate(frame: frame)
            try setKeyframe(id, frame: frame, on: on)
        case .toggleKeyframe(let id, let frame):
            try validate(frame: frame)
            guard let track = current(id) else { throw fail("no track \(id)") }
            let on = !(track.entry(at: frame)?.isKeyframe ?? false)
            try setKeyframe(id, frame: frame, on: on)
        case .relabel(let id, let label):
            try modify(id) { $0.info.label = label }
        case .rename(let id, let name):
            try modify(id) { $0.info.name = name }
        case .recolor(let id, let color):
            try modify(id) { $0.info.color = color }
        case .merge(let into, let from):
            guard into != from else { throw fail("cannot merge track \(into) with itself") }
            guard let source = current(from) else { throw fail("no track \(from)") }
            try modify(into) { track in
                track.upsert(source.entries) { _, _ in false }
                for (frame, mask) in source.masks where track.masks[frame] == nil { track.masks[frame] = mask }
            }
            try remove(from)
        case .split(let id, let frame):
            try validate(frame: frame)
            try split(id, at: frame)
        case .deleteTrack(let id):
            try remove(id)
        case .deleteAllTracks:
            let ids = Set(committed.keys).union(working.keys).subtracting(deleted).sorted()
            for id in ids { try remove(id) }
        case .bakeInterpolation(let id, let frames):
            try modify(id) { track in
                let derived = track.interpolatedEntries(in: frames)
                track.upsert(derived) { _, _ in false }
            }
        case .batch(let edits, _):
            for edit in edits { try compile(edit) }
        }
    }

    private mutating func setKeyframe(_ id: TrackID, frame: Int, on: Bool) throws {
        let provenance = actor.defaultProvenance
        let path = self.path
        try modify(id) { track in
            if var entry = track.entry(at: frame) {
                entry.isKeyframe = on
                track.store(entry)
                return
            }
            guard on else { return }
            guard let derived = track.resolved(at: frame) else {
                throw AnnotationError.invalidEdit(path: path, reason: "track \(track.id) has no point at frame \(frame) to make a keyframe")
            }
            var entry = derived.entry
            entry.isKeyframe = true
            entry.provenance = provenance
            track.store(entry)
        }
    }

    private mutating func create(_ newTrack: NewTrack) throws {
        for entry in newTrack.entries { try validate(entry) }
        for frame in newTrack.masks.keys { try validate(frame: frame) }
        var id = TrackID(nextTrackID)
        if let preferred = newTrack.preferredID, preferred.rawValue > 0, current(preferred) == nil {
            id = preferred
        }
        // Ids near the limit are refused, never incremented past it.
        guard id.rawValue > 0, id.rawValue <= TrackID.largest else {
            throw fail("track id \(id.rawValue) is out of range (1...\(TrackID.largest))")
        }
        nextTrackID = max(nextTrackID, id.rawValue + 1)
        let info = TrackInfo(
            id: id, label: newTrack.label, name: newTrack.name, color: newTrack.color, createdBy: newTrack.createdBy ?? actor,
            queryID: newTrack.queryID, extras: newTrack.extras)
        insertNew(Track(info: info, entries: sortedUnique(newTrack.entries), masks: newTrack.masks))
    }

    private mutating func split(_ id: TrackID, at frame: Int) throws {
        guard let original = current(id) else { throw fail("no track \(id)") }
        var head = original.entries.filter { $0.frame < frame }
        var tail = original.entries.filter { $0.frame >= frame }
        if original.entry(at: frame) == nil, let derived = original.resolved(at: frame) {
            var entry = derived.entry
            entry.isKeyframe = true
            tail.insert(entry, at: 0)
        }
        if frame > 0, original.entry(at: frame - 1) == nil, let derived = original.resolved(at: frame - 1) {
            var entry = derived.entry
            entry.isKeyframe = true
            head.append(entry)
        }
        guard !head.isEmpty, !tail.isEmpty else {
            throw fail("track \(id) has no points on both sides of frame \(frame); nothing to split")
        }
        let newID = TrackID(nextTrackID)
        nextTrackID += 1
        var info = original.info
        info.id = newID
        info.color = RGBColor.forTrack(newID)
        info.createdBy = actor
        let tailMasks = original.masks.filter { $0.key >= frame }
        insertNew(Track(info: info, entries: tail, masks: tailMasks))
        try modify(id) { track in
            track.entries = head
            track.masks = track.masks.filter { $0.key < frame }
        }
    }

    // MARK: - Result

    /// The change set of everything compiled so far, and the new state of each touched track (nil = deleted).
    func finish() -> (changes: ChangeSet, tracks: [(TrackID, Track?)]) {
        var changes = ChangeSet()
        var states: [(TrackID, Track?)] = []
        for id in touchedOrder {
            let after = current(id)
            if let change = ChangeSet.diff(id: id, before: committed[id], after: after) {
                changes.tracks.append(change)
                states.append((id, after))
            }
        }
        return (changes, states)
    }
}

/// Entries sorted by frame with one per frame (the last given wins).
func sortedUnique(_ entries: [PointEntry]) -> [PointEntry] {
    if entries.count < 2 { return entries }
    var isSorted = true
    for i in 1..<entries.count where entries[i - 1].frame >= entries[i].frame {
        isSorted = false
        break
    }
    if isSorted { return entries }
    let order = entries.indices.sorted { a, b in
        entries[a].frame != entries[b].frame ? entries[a].frame < entries[b].frame : a < b
    }
    var out: [PointEntry] = []
    out.reserveCapacity(entries.count)
    for index in order {
        if let last = out.last, last.frame == entries[index].frame {
            out[out.count - 1] = entries[index]
        } else {
            out.append(entries[index])
        }
    }
    return out
}

extension Track {
    /// Stores or replaces the entry at its frame.
    mutating func store(_ entry: PointEntry) {
        let index = entryIndex(atOrAfter: entry.frame)
        if index < entries.count, entries[index].frame == entry.frame {
            entries[index] = entry
        } else {
            entries.insert(entry, at: index)
        }
    }

    mutating func removeEntry(at frame: Int) {
        let index = entryIndex(atOrAfter: frame)
        if index < entries.count, entries[index].frame == frame { entries.remove(at: index) }
    }

    /// Merges sorted, unique `incoming` entries; where a frame already has an entry, `replace` decides.
    mutating func upsert(_ incoming: [PointEntry], replace: (PointEntry, PointEntry) -> Bool) {
        guard !incoming.isEmpty else { return }
        if incoming.count <= 8 {
            for entry in incoming {
                if let existing = self.entry(at: entry.frame) {
                    if replace(existing, entry) { store(entry) }
                } else {
                    store(entry)
                }
            }
            return
        }
        var merged: [PointEntry] = []
        merged.reserveCapacity(entries.count + incoming.count)
        var i = 0
        var j = 0
        while i < entries.count || j < incoming.count {
            if j >= incoming.count || (i < entries.count && entries[i].frame < incoming[j].frame) {
                merged.append(entries[i])
                i += 1
            } else if i >= entries.count || incoming[j].frame < entries[i].frame {
                merged.append(incoming[j])
                j += 1
            } else {
                merged.append(replace(entries[i], incoming[j]) ? incoming[j] : entries[i])
                i += 1
                j += 1
            }
        }
        entries = merged
    }
}

extension TrackID {
    /// Largest track id a project holds: 2^53, the largest integer every JSON reader keeps exact. Ids above it
    /// (from a file or a damaged project) are refused where they enter, so `id + 1` can never overflow.
    package static let largest: Int64 = 1 << 53
}
