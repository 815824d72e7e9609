import Basics
import Foundation

/// Paints the current frame into the viewer rectangle with raw escapes, after ncurses has drawn the panes.
package protocol VideoPainter: AnyObject {
    /// Bytes that show `state.frame` in `state.layout.viewer`; empty when nothing changed.
    func paint(_ state: AppState) -> [UInt8]
    /// Forget what is on screen: the next paint repaints the whole region.
    func invalidate()
    /// Hint that frames after `frame` will be wanted soon (playback, stepping).
    func prefetch(after frame: Int, state: AppState)
    /// A problem met while painting (a frame that cannot be decoded), shown in the status line.
    var lastError: String? { get }
}

/// The run loop: input and clock ticks go through the reducer; panes are drawn by ncurses, then the video
/// region is written raw in one write.
package final class ViewerApp {
    private var state: AppState
    private let painter: VideoPainter
    private let session: TerminalSession
    private let annotations: AnnotationSession?
    private let jobs: JobCenter?

    package init(
        state: AppState, painter: VideoPainter, session: TerminalSession, annotations: AnnotationSession?, jobs: JobCenter?
    ) {
        self.state = state
        self.painter = painter
        self.session = session
        self.annotations = annotations
        self.jobs = jobs
    }

    private static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Runs until the user quits or a terminating signal arrives.
    package func run() {
        Palette.install(state.theme)
        annotations?.refresh(&state, tracksChanged: true)
        state.relayout(columns: session.columns, rows: session.rows)
        var needsFullRepaint = true
        var paintedFrame = -1
        var paintedRevision = -1
        var paintedPlaying = false
        var paintedLayout = state.layout
        defer { jobs?.cancel() }
        while !state.shouldQuit && !session.interrupted {
            let frameBefore = state.frame
            _ = Reducer.reduce(&state, .tick(now: ViewerApp.monotonicSeconds()))
            jobs?.poll(state: &state, annotations: annotations)
            if state.frame != frameBefore { annotations?.refresh(&state, tracksChanged: false) }

            if needsFullRepaint || state.layout != paintedLayout {
                session.invalidateScreen()
                painter.invalidate()
                needsFullRepaint = false
                paintedLayout = state.layout
                paintedFrame = -1
            }
            if let problem = painter.lastError, state.message == nil { state.message = problem }
            PaneView.draw(state)
            session.flush()
            if !state.layout.isTooSmall && state.mode != .help
                && (state.frame != paintedFrame || state.annotations.revision != paintedRevision
                    || state.isPlaying != paintedPlaying)
            {
                session.writeRaw(painter.paint(state))
                paintedFrame = state.frame
                paintedRevision = state.annotations.revision
                paintedPlaying = state.isPlaying
                if let problem = painter.lastError { state.message = problem }
                painter.prefetch(after: state.frame, state: state)
                if case .prompt = state.mode { session.flush() }  // put the prompt cursor back
            }

            let timeout = state.isPlaying ? nextFrameDelayMilliseconds() : (state.jobRunning ? 100 : 250)
            guard let event = session.nextEvent(timeoutMilliseconds: timeout) else { continue }
            var events = [event]
            // Drain a burst (key repeat, mouse drag) so the screen shows its end state, not every step.
            while events.count < 64, let more = session.nextEvent(timeoutMilliseconds: 0) { events.append(more) }
            for event in events {
                if Dispatcher.dispatch(.input(event), state: &state, annotations: annotations, jobs: jobs) {
                    needsFullRepaint = true
                }
                if state.shouldQuit { break }
            }
        }
    }

    /// Milliseconds until the next frame is due during playback (at least 1, at most 50).
    private func nextFrameDelayMilliseconds() -> Int {
        guard let playback = state.playback, !playback.startClock.isNaN else { return 1 }
        let media = state.media
        let next = min(state.frame + 1, media.lastFrame)
        let due = playback.startClock + (media.timestamps[next] - media.timestamps[playback.startFrame])
        let delay = (due - ViewerApp.monotonicSeconds()) * 1000
        return min(50, max(1, Int(delay.rounded(.up))))
    }
}

/// One step of the application: the reducer, then its effects (edits are committed to the store before
/// anything is drawn), then the annotation view for the new frame. Shared by the run loop and the tests.
package enum Dispatcher {
    /// Returns true when the whole screen must be repainted.
    @discardableResult
    package static func dispatch(
        _ action: Action, state: inout AppState, annotations: AnnotationSession?, jobs: JobCenter? = nil
    ) -> Bool {
        let previousMode = state.mode
        let previousFrame = state.frame
        var repaint = false
        for effect in Reducer.reduce(&state, action) {
            if effect.isRepaintAll {
                repaint = true
            } else if case .propagate(let request) = effect {
                if let jobs { jobs.start(request, state: &state) } else { state.message = "propagation needs the video" }
            } else if case .cancelJob = effect {
                jobs?.cancel()
            } else if case .ask(let request) = effect {
                if let jobs, jobs.assistant != nil {
                    jobs.start(request, state: &state)
                } else {
                    state.message = AssistState.noModelHint
                }
            } else if let annotations {
                annotations.perform(effect, on: &state)
            } else {
                state.message = "no project is open (--no-project): edits are off"
            }
        }
        if state.frame != previousFrame { annotations?.refresh(&state, tracksChanged: false) }
        if previousMode == .help && state.mode != .help { repaint = true }
        return repaint
    }
}
