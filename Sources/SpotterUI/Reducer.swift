import Foundation

/// Actions the reducer understands: input plus the passage of time.
public enum Action: Equatable, Sendable {
    case input(InputEvent)
    /// A clock tick at monotonic time `now` (seconds); advances playback.
    case tick(now: Double)
}

/// Side effects the run loop performs after a reduction.
public enum Effect: Equatable, Sendable {
    /// Everything on screen must be repainted (mode change, resize): the video region too.
    case repaintAll
}

/// Pure state transitions of the viewer; no terminal, no decoding.
public enum Reducer {
    /// Frames moved by shift-arrows.
    public static let shortJump = 10

    public static func reduce(_ state: inout AppState, _ action: Action) -> [Effect] {
        switch action {
        case .tick(let now):
            advancePlayback(&state, now: now)
            return []
        case .input(.resize(let columns, let rows)):
            state.layout = Layout(columns: columns, rows: rows)
            return [.repaintAll]
        case .input(.mouse(let mouse)):
            return handleMouse(&state, mouse)
        case .input(.key(let key)):
            switch state.mode {
            case .help:
                state.mode = .normal
                if key == .character("q") { state.shouldQuit = true }
                return [.repaintAll]
            case .command(let text):
                return handleCommandKey(&state, key, text: text)
            case .normal:
                return handleKey(&state, key)
            }
        }
    }

    /// Long jump: about five seconds of video, at least one frame.
    public static func longJump(_ media: MediaFacts) -> Int {
        max(1, Int((media.fps * 5).rounded()))
    }

    static func handleKey(_ state: inout AppState, _ key: Key) -> [Effect] {
        let last = state.media.lastFrame
        switch key {
        case .character("q"), .control("c"):
            state.shouldQuit = true
        case .character(" "):
            if state.playback != nil {
                state.playback = nil
            } else {
                if state.frame >= last { state.frame = 0 }
                state.playback = .init(startFrame: state.frame, startClock: .nan)
            }
        case .right, .character("l"):
            seek(&state, to: state.frame + 1)
        case .left, .character("h"):
            seek(&state, to: state.frame - 1)
        case .shiftRight, .character("L"):
            seek(&state, to: state.frame + shortJump)
        case .shiftLeft, .character("H"):
            seek(&state, to: state.frame - shortJump)
        case .pageDown:
            seek(&state, to: state.frame + longJump(state.media))
        case .pageUp:
            seek(&state, to: state.frame - longJump(state.media))
        case .character("g"), .home:
            seek(&state, to: 0)
        case .character("G"), .end:
            seek(&state, to: last)
        case .character(":"):
            state.playback = nil
            state.mode = .command("")
        case .character("?"):
            state.mode = .help
            return [.repaintAll]
        case .control("l"):
            return [.repaintAll]
        default:
            break
        }
        return []
    }

    static func handleCommandKey(_ state: inout AppState, _ key: Key, text: String) -> [Effect] {
        switch key {
        case .escape:
            state.mode = .normal
        case .enter:
            state.mode = .normal
            switch GoToTarget.parse(text) {
            case .frame(let index)?:
                if index < 0 || index > state.media.lastFrame {
                    state.message = "frame \(index) is outside 0…\(state.media.lastFrame)"
                } else {
                    seek(&state, to: index)
                }
            case .time(let seconds)?:
                if seconds < 0 || seconds > state.media.duration {
                    state.message = "time \(Timecode.format(seconds)) is outside the video (\(Timecode.format(state.media.duration)))"
                } else {
                    seek(&state, to: state.media.frameNearest(to: seconds))
                }
            case nil:
                state.message = "not a frame or time: \(text) (try 120, 4.5s or 1:02.5)"
            }
        case .backspace:
            if text.isEmpty { state.mode = .normal } else { state.mode = .command(String(text.dropLast())) }
        case .character(let c):
            state.mode = .command(text + String(c))
        default:
            break
        }
        return []
    }

    static func handleMouse(_ state: inout AppState, _ mouse: MouseEvent) -> [Effect] {
        guard mouse.kind == .press || mouse.kind == .drag else {
            if mouse.kind == .scrollUp { seek(&state, to: state.frame - 1) }
            if mouse.kind == .scrollDown { seek(&state, to: state.frame + 1) }
            return []
        }
        if state.mode == .help {
            state.mode = .normal
            return [.repaintAll]
        }
        if mouse.row == state.layout.timelineBar.row,
            let target = state.layout.frameForTimelineColumn(mouse.column, frameCount: state.media.frameCount)
        {
            seek(&state, to: target)
        }
        return []
    }

    /// Moves to `frame` (clamped), stopping playback: a manual seek always wins over the clock.
    static func seek(_ state: inout AppState, to frame: Int) {
        state.playback = nil
        state.message = nil
        state.frame = min(max(0, frame), state.media.lastFrame)
    }

    /// Playback follows the clock, never the decoder: the frame shown is the one due now, so slow decoding
    /// drops frames instead of lagging behind.
    static func advancePlayback(_ state: inout AppState, now: Double) {
        guard var playback = state.playback else { return }
        if playback.startClock.isNaN {
            playback.startClock = now
            state.playback = playback
            return
        }
        let media = state.media
        let startTime = media.timestamps.isEmpty ? 0 : media.timestamps[playback.startFrame]
        let due = media.frameShown(at: startTime + (now - playback.startClock))
        state.frame = due
        if due >= media.lastFrame { state.playback = nil }
    }
}

/// What the `:` prompt can go to.
public enum GoToTarget: Equatable, Sendable {
    case frame(Int)
    case time(Double)

    /// `120` is a frame; `4.5s`, `1:02.5` and `0:01:02` are times.
    public static func parse(_ text: String) -> GoToTarget? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.isEmpty { return nil }
        if let n = Int(t) { return .frame(n) }
        if t.hasSuffix("s"), let s = Double(t.dropLast()), s.isFinite { return .time(s) }
        if t.contains(":") {
            let parts = t.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 3, let secs = Double(parts.last!), secs.isFinite, secs >= 0, secs < 60 else { return nil }
            var total = secs
            var scale = 60.0
            for part in parts.dropLast().reversed() {
                guard let v = Int(part), v >= 0 else { return nil }
                total += Double(v) * scale
                scale *= 60
            }
            return .time(total)
        }
        return nil
    }
}

/// Times as people read them: `m:ss.mmm`, or `h:mm:ss.mmm` past an hour.
public enum Timecode {
    public static func format(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let ms = Int((max(0, seconds) * 1000).rounded())
        let h = ms / 3_600_000
        let m = (ms / 60_000) % 60
        let s = (ms / 1000) % 60
        let frac = ms % 1000
        let tail = String(format: "%02d.%03d", s, frac)
        return h > 0 ? String(format: "%d:%02d:", h, m) + tail : String(format: "%d:", m) + tail
    }
}
