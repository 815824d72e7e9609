import Foundation

/// How an import meets what the project already holds.
package enum ImportPolicy: String, Sendable, CaseIterable {
    /// Adds what is new; a track equal to an existing one (same label, same frames, positions within 0.001 px and
    /// visibilities) and a query equal to an existing one (prompt, label, task, model, answer) are skipped, so
    /// importing the same file twice leaves the project as after once.
    case add
    /// As `add`, and an imported track whose id names an existing track of the same label replaces that track's
    /// points (a file exported from this project, edited elsewhere, merges back).
    case merge
    /// Deletes every existing track first.
    case replace
}

extension ImportedProject {
    /// Whether a stored track holds the same annotation as an imported one.
    static func isSame(_ track: Track, as imported: NewTrack) -> Bool {
        guard track.label == imported.label, track.entries.count == imported.entries.count else { return false }
        for (a, b) in zip(track.entries, imported.entries) {
            guard a.frame == b.frame, a.visibility == b.visibility, abs(a.x - b.x) <= 1e-3, abs(a.y - b.y) <= 1e-3
            else { return false }
        }
        return Set(track.masks.keys) == Set(imported.masks.keys)
    }

    /// The content left to import under `policy` into a project holding `tracks` and `queries`, the existing tracks it
    /// replaces, and how many imported tracks and queries were already there. Tracks that keep no colour of their
    /// own, or one an existing track uses, get a palette colour no existing track uses (while one is left).
    func applying(_ policy: ImportPolicy, existingTracks: [Track], existingQueries: [QueryRecord]) -> (
        content: ImportedProject, replacing: [TrackID], skippedTracks: Int, skippedQueries: Int
    ) {
        var content = self
        var replacing: [TrackID] = []
        var skippedTracks = 0
        var skippedQueries = 0
        let existing = policy == .replace ? [] : existingTracks
        if policy != .replace {
            let byID = Dictionary(existing.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            content.tracks = tracks.filter { track in
                if existing.contains(where: { Self.isSame($0, as: track) }) {
                    skippedTracks += 1
                    return false
                }
                if policy == .merge, let id = track.preferredID, let old = byID[id], old.label == track.label {
                    replacing.append(id)
                }
                return true
            }
            content.queries = queries.filter { query in
                let known = existingQueries.contains {
                    $0.prompt == query.prompt && $0.label == query.label && $0.task == query.task
                        && $0.model == query.model && $0.answer == query.answer
                }
                if known { skippedQueries += 1 }
                return !known
            }
        }
        let kept = existing.filter { !replacing.contains($0.id) }
        var used = Set(kept.map(\.color))
        for index in content.tracks.indices {
            if let color = content.tracks[index].color, !used.contains(color) {
                used.insert(color)
                continue
            }
            guard let free = RGBColor.palette.first(where: { !used.contains($0) }) else { continue }
            content.tracks[index].color = free
            used.insert(free)
        }
        return (content, replacing, skippedTracks, skippedQueries)
    }
}
