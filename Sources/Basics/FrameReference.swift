import Foundation

/// A place in a video as a person types it: a frame number or a time.
package enum FrameReference: Equatable, Sendable {
    case frame(Int)
    case time(Double)

    /// `120` is a frame; `4.5s`, `1:02.5` and `0:01:02` are times.
    package static func parse(_ text: String) -> FrameReference? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.isEmpty { return nil }
        if let n = Int(t) { return .frame(n) }
        if t.hasSuffix("s"), let s = Double(t.dropLast()), s.isFinite { return .time(s) }
        if t.contains(":"), let seconds = clockSeconds(t) { return .time(seconds) }
        return nil
    }

    /// Parses a time alone: `4.5`, `4.5s`, `1:02.5` or `0:01:02` into seconds (a bare number is seconds here).
    package static func seconds(_ text: String) -> Double? {
        var t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("s") { t.removeLast() }
        if let v = Double(t), v.isFinite { return v }
        return clockSeconds(t)
    }

    /// `[[h:]m:]s.fff` with seconds below 60 and whole, non-negative minutes and hours.
    private static func clockSeconds(_ t: String) -> Double? {
        let parts = t.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.count <= 3, let secs = Double(parts.last!), secs.isFinite, secs >= 0, secs < 60
        else { return nil }
        var total = secs
        var scale = 60.0
        for part in parts.dropLast().reversed() {
            guard let v = Int(part), v >= 0 else { return nil }
            total += Double(v) * scale
            scale *= 60
        }
        return total
    }
}

/// Times as people read them: `m:ss.mmm`, or `h:mm:ss.mmm` past an hour.
package enum Timecode {
    package static func format(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let ms = Int((max(0, min(seconds, 1e12)) * 1000).rounded())
        let h = ms / 3_600_000
        let m = (ms / 60_000) % 60
        let s = (ms / 1000) % 60
        let frac = ms % 1000
        let tail = String(format: "%02d.%03d", s, frac)
        return h > 0 ? String(format: "%d:%02d:", h, m) + tail : String(format: "%d:", m) + tail
    }
}
