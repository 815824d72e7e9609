import Annotations

/// What the panes and the overlay need to know about the project, refreshed from the store after every edit
/// and frame change. The reducer decides edits from it; the store stays the single source of truth.
package struct AnnotationState: Equatable, Sendable {
    package var tracks: [Track] = []
    /// Every point on the current frame, stored and interpolated (ghost) ones.
    package var framePoints: [FramePoint] = []
    package var selected: TrackID?
    package var canUndo = false
    package var canRedo = false
    /// Bumped on every change that alters what the overlay draws, so the picture is repainted.
    package var revision = 0
    /// Points between stored ones are derived (videos; not image sequences).
    package var interpolates = true

    package init() {}

    package func track(_ id: TrackID) -> Track? { tracks.first { $0.id == id } }

    package var selectedTrack: Track? { selected.flatMap(track) }

    /// Every track's point on `frame`, stored or derived, in track order.
    package func points(onFrame frame: Int) -> [FramePoint] {
        tracks.compactMap { track in
            track.resolved(at: frame, interpolate: interpolates).map {
                FramePoint(track: track.id, entry: $0.entry, isInterpolated: $0.isInterpolated)
            }
        }
    }

    /// The selected track's state on the current frame, if it has one (stored or interpolated).
    package var selectedPoint: FramePoint? {
        guard let id = selected else { return nil }
        return framePoints.first { $0.track == id }
    }

    /// Next or previous keyframe of the selected track, or of any track when none is selected.
    package func keyframe(from frame: Int, forward: Bool) -> Int? {
        let candidates = (selectedTrack.map { [$0] } ?? tracks).compactMap { track in
            forward ? track.nextKeyframe(after: frame) : track.previousKeyframe(before: frame)
        }
        return forward ? candidates.min() : candidates.max()
    }
}

/// One character per timeline column for a track's lane: keyframes, other stored points, occlusion and the
/// interpolated spans between stored points, CVAT-style.
package enum LaneGlyphs {
    package static let keyframe: Character = "◆"
    package static let stored: Character = "•"
    package static let occluded: Character = "░"
    package static let interpolated: Character = "─"
    package static let empty: Character = " "

    /// Glyphs for `width` columns spanning frames 0..<frameCount (column c covers the frames nearest to it).
    package static func glyphs(for track: Track, frameCount: Int, width: Int) -> [Character] {
        guard width > 0 else { return [] }
        var out = [Character](repeating: empty, count: width)
        guard frameCount > 0 else { return out }
        func column(_ frame: Int) -> Int {
            guard frameCount > 1, width > 1 else { return 0 }
            return min(width - 1, max(0, Int((Double(frame) / Double(frameCount - 1) * Double(width - 1)).rounded())))
        }
        func rank(_ c: Character) -> Int {
            switch c {
            case keyframe: return 4
            case stored: return 3
            case occluded: return 2
            case interpolated: return 1
            default: return 0
            }
        }
        func put(_ c: Character, at col: Int) {
            if rank(c) > rank(out[col]) { out[col] = c }
        }
        let entries = track.entries.sorted { $0.frame < $1.frame }
        // Interpolated spans: between consecutive stored entries when the earlier one is not `outside`.
        for (a, b) in zip(entries, entries.dropFirst()) where a.visibility != .outside && b.frame > a.frame + 1 {
            let glyph = a.visibility == .occluded ? occluded : interpolated
            for col in column(a.frame + 1)...column(b.frame - 1) { put(glyph, at: col) }
        }
        for entry in entries {
            let glyph: Character
            switch entry.visibility {
            case .outside: continue
            case .occluded: glyph = entry.isKeyframe ? keyframe : occluded
            case .visible: glyph = entry.isKeyframe ? keyframe : stored
            }
            put(glyph, at: column(entry.frame))
        }
        return out
    }
}
