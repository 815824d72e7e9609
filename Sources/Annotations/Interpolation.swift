/// Derived (ghost) positions between stored entries, following CVAT's rules for single-point tracks: linear between
/// the stored entries on both sides, the position held when the next entry is `outside`, nothing after an `outside`
/// entry, and nothing before the first or after the last stored entry. The derived visibility is the previous
/// entry's. Every stored entry anchors interpolation; the keyframe flag marks entries the user pinned.
extension Track {
    /// The state of the track at `frame`: the stored entry, or a derived one (`isInterpolated`), or nil when the
    /// object is absent. Derived `outside` states are reported as absent.
    package func resolved(at frame: Int, interpolate: Bool = true) -> (entry: PointEntry, isInterpolated: Bool)? {
        let index = entryIndex(atOrAfter: frame)
        if index < entries.count, entries[index].frame == frame { return (entries[index], false) }
        guard interpolate, index > 0, index < entries.count else { return nil }
        let previous = entries[index - 1]
        let next = entries[index]
        guard previous.visibility != .outside else { return nil }
        var x = previous.x
        var y = previous.y
        if next.visibility != .outside {
            let t = Double(frame - previous.frame) / Double(next.frame - previous.frame)
            x = previous.x + (next.x - previous.x) * t
            y = previous.y + (next.y - previous.y) * t
        }
        return (
            PointEntry(
                frame: frame, x: x, y: y, visibility: previous.visibility, provenance: .interpolated,
                isKeyframe: false), true
        )
    }

    /// Position at `frame` for dense formats that need a coordinate on every frame (TAP-Vid): the resolved
    /// position, or the nearest stored position held outside the track's span or inside an outside span.
    func heldPosition(at frame: Int) -> (x: Double, y: Double)? {
        guard !entries.isEmpty else { return nil }
        if let resolved = resolved(at: frame) { return (resolved.entry.x, resolved.entry.y) }
        let index = entryIndex(atOrAfter: frame)
        let neighbour = index > 0 ? entries[index - 1] : entries[index]
        return (neighbour.x, neighbour.y)
    }

    /// The first keyframe after `frame` (or, with `includeAllStored`, the first stored entry).
    package func nextKeyframe(after frame: Int, includeAllStored: Bool = false) -> Int? {
        var index = entryIndex(atOrAfter: frame + 1)
        while index < entries.count {
            if includeAllStored || entries[index].isKeyframe { return entries[index].frame }
            index += 1
        }
        return nil
    }

    /// The last keyframe before `frame` (or, with `includeAllStored`, the last stored entry).
    package func previousKeyframe(before frame: Int, includeAllStored: Bool = false) -> Int? {
        var index = entryIndex(atOrAfter: frame) - 1
        while index >= 0 {
            if includeAllStored || entries[index].isKeyframe { return entries[index].frame }
            index -= 1
        }
        return nil
    }

    /// The derived entries in `frames` that have no stored entry (what "bake interpolation" would store).
    package func interpolatedEntries(in frames: ClosedRange<Int>) -> [PointEntry] {
        var out: [PointEntry] = []
        guard let span = frameSpan else { return out }
        let lower = max(frames.lowerBound, span.lowerBound)
        let upper = min(frames.upperBound, span.upperBound)
        guard lower <= upper else { return out }
        for frame in lower...upper {
            if let resolved = resolved(at: frame), resolved.isInterpolated { out.append(resolved.entry) }
        }
        return out
    }
}
