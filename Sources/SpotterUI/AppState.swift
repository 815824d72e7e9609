import Assist
import TerminalGraphics

/// What the viewer needs to know about the media, independent of how it is decoded.
package struct MediaFacts: Equatable, Sendable {
    package var name: String
    package var width: Int
    package var height: Int
    /// Display aspect correction (sample aspect ratio), 1 for square pixels.
    package var pixelAspect: Double
    /// Presentation time in seconds of every frame, ascending; `timestamps.count` is the frame count.
    package var timestamps: [Double]
    /// Nominal frame rate, used for jump sizes and the status line.
    package var fps: Double

    package init(name: String, width: Int, height: Int, pixelAspect: Double = 1, timestamps: [Double], fps: Double) {
        self.name = name
        self.width = width
        self.height = height
        self.pixelAspect = pixelAspect
        self.timestamps = timestamps
        self.fps = fps
    }

    package var frameCount: Int { timestamps.count }
    package var lastFrame: Int { max(0, timestamps.count - 1) }
    package var duration: Double {
        guard let last = timestamps.last else { return 0 }
        return last + (fps > 0 ? 1 / fps : 0)
    }

    /// The frame shown at `seconds`: the last frame whose timestamp is not after it.
    package func frameShown(at seconds: Double) -> Int {
        var lo = 0
        var hi = timestamps.count - 1
        guard hi >= 0 else { return 0 }
        if seconds <= timestamps[0] { return 0 }
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if timestamps[mid] <= seconds { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// The frame whose timestamp is closest to `seconds`.
    package func frameNearest(to seconds: Double) -> Int {
        let shown = frameShown(at: seconds)
        if shown + 1 < timestamps.count, abs(timestamps[shown + 1] - seconds) < abs(timestamps[shown] - seconds) {
            return shown + 1
        }
        return shown
    }
}

/// What a one-line prompt at the bottom asks for.
package enum PromptKind: Equatable, Sendable {
    /// `:` — a frame or a time to go to.
    case goTo
    /// A new label for the selected track.
    case label
    /// The id of the track to merge the selected one into.
    case mergeInto
    /// A question for the model (the query pane).
    case ask

    package var caption: String {
        switch self {
        case .goTo: return ":"
        case .label: return "label: "
        case .mergeInto: return "merge into track #"
        case .ask: return "ask: "
        }
    }
}

/// Which overlay or input mode owns the keyboard.
package enum Mode: Equatable, Sendable {
    case normal
    case help
    /// A prompt with what has been typed so far.
    case prompt(PromptKind, String)
    /// Arrows and hjkl nudge the selected point (1 px, shifted 10 px) until Enter, Esc or m.
    case move
}

/// The whole state of the viewer as a value; the reducer changes it, the view draws it.
package struct AppState: Equatable, Sendable {
    package var media: MediaFacts
    package var layout: Layout
    package var frame: Int = 0
    package var mode: Mode = .normal
    /// Set while playing: the frame and clock time playback started from.
    package var playback: Playback?
    package var message: String?
    package var graphics: ViewerGraphics
    package var theme = Theme.dark
    package var annotations = AnnotationState()
    /// The project file's name, shown in the status line.
    package var projectName: String?
    package var shouldQuit = false
    /// The background job running (propagation or a question to the model), shown in the status line.
    package var job: RunningJob?
    /// Seconds on the injected clock at the last tick.
    package var now: Double = 0
    /// When the status message was set (on the injected clock); it is cleared `Reducer.messageLifetime` later.
    package var messageShownAt: Double?
    /// The model side: query pane settings, the question in flight, predictions.
    package var assist = AssistState()
    /// What `u` and Ctrl-R step over, newest last.
    package var undoJournal: [UndoKind] = []
    package var redoJournal: [UndoKind] = []
    /// The page of the help overlay shown.
    package var helpPage = 0

    package struct Playback: Equatable, Sendable {
        package var startFrame: Int
        package var startClock: Double
    }

    package init(media: MediaFacts, columns: Int, rows: Int, graphics: ViewerGraphics) {
        self.media = media
        self.layout = Layout(columns: columns, rows: rows)
        self.graphics = graphics
    }

    package var rendererName: String { graphics.name }

    /// Recomputes the layout for a screen size, keeping room for one lane per track (as many as fit).
    package mutating func relayout(columns: Int, rows: Int) {
        layout = Layout(columns: columns, rows: rows, tracks: annotations.tracks.count)
    }

    package var isPlaying: Bool { playback != nil }

    package var jobRunning: Bool { job != nil }

    /// The job's progress line: "propagating #1 forward: 12/40 frames (Esc cancels)".
    package var jobStatus: String? {
        switch job {
        case nil:
            return nil
        case .propagation(let request, let done, let total)?:
            return "propagating #\(request.track.rawValue) \(request.forward ? "forward" : "backward"): \(done)/\(max(total, done)) frames (Esc cancels)"
        case .asking(let asking)?:
            let what = asking.ask.continuing.map { "continuing #\($0.rawValue)" } ?? "asking"
            return "\(what): \(asking.stage) (\(Int(max(0, now - asking.startedAt))) s; Esc cancels)"
        }
    }
}

/// The background job as the state knows it.
package enum RunningJob: Equatable, Sendable {
    case propagation(PropagationRequest, done: Int, total: Int)
    case asking(AskingJob)
}

/// A question to the model in flight.
package struct AskingJob: Equatable, Sendable {
    package var ask: AskRequest
    package var stage = "sampling frames"
    /// `AppState.now` when it started.
    package var startedAt: Double
    /// The request as sent, once its frames are decoded.
    package var request: GroundingRequest?

    package init(ask: AskRequest, startedAt: Double) {
        self.ask = ask
        self.startedAt = startedAt
    }
}
