import Foundation

/// Seconds elapsed on a clock since a start instant: how the run loop reads the injected clock.
package struct ClockReading: Sendable {
    private let read: @Sendable () -> Duration

    package init(_ clock: any Clock<Duration>) {
        read = ClockReading.reader(clock)
    }

    private static func reader<C: Clock>(_ clock: C) -> @Sendable () -> Duration where C.Duration == Duration {
        let start = clock.now
        return { start.duration(to: clock.now) }
    }

    package var seconds: Double {
        let elapsed = read().components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    }
}

/// The run loop: input, clock ticks and job results go through the reducer (via the effect runner); the view
/// renders the state into a `Screen` value, which the terminal backend presents.
package final class ViewerApp {
    private var state: AppState
    private let composer: PictureComposer
    private let session: TerminalSession
    private let presenter: TerminalPresenter
    private let annotations: AnnotationSession?
    private let jobs: JobCenter
    private let clock: ClockReading

    package init(
        state: AppState, composer: PictureComposer, session: TerminalSession, annotations: AnnotationSession?, jobs: JobCenter,
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.state = state
        self.composer = composer
        self.session = session
        self.presenter = TerminalPresenter(session: session, graphics: state.graphics, theme: state.theme)
        self.annotations = annotations
        self.jobs = jobs
        self.clock = ClockReading(clock)
    }

    /// Runs until the user quits or a terminating signal arrives.
    package func run() {
        Dispatcher.load(state: &state, annotations: annotations)
        Dispatcher.dispatch(.input(.resize(columns: session.columns, rows: session.rows)), state: &state, annotations: annotations)
        var needsFullRepaint = true
        var paintedFrame = -1
        var paintedRevision = -1
        var paintedPlaying = false
        var paintedLayout = state.layout
        defer { jobs.cancel() }
        while !state.shouldQuit && !session.interrupted {
            dispatch(.tick(now: clock.seconds))
            if Dispatcher.drain(state: &state, annotations: annotations, jobs: jobs) { needsFullRepaint = true }

            if needsFullRepaint || state.layout != paintedLayout {
                presenter.invalidate()
                needsFullRepaint = false
                paintedLayout = state.layout
                paintedFrame = -1
            }
            let pictureDue = !state.layout.isTooSmall && state.mode != .help
                && (state.frame != paintedFrame || state.annotations.revision != paintedRevision
                    || state.isPlaying != paintedPlaying)
            var picture: Picture?
            if pictureDue, let composed = composer.compose(state) {
                picture = composed
                dispatch(.frameDecoded(frame: composed.frame, problem: composed.problem))
            }
            let screen = PaneView.render(state, picture: picture)
            presenter.presentText(screen)
            if pictureDue {
                presenter.presentPicture(screen)
                paintedFrame = state.frame
                paintedRevision = state.annotations.revision
                paintedPlaying = state.isPlaying
                composer.prefetch(after: state.frame, state: state)
            }

            let timeout = state.isPlaying ? nextFrameDelayMilliseconds() : 250
            guard let event = session.nextEvent(timeoutMilliseconds: timeout, wakeDescriptor: jobs.channel.wakeDescriptor) else {
                continue
            }
            var events = [event]
            // Drain a burst (key repeat, mouse drag) so the screen shows its end state, not every step.
            while events.count < 64, let more = session.nextEvent(timeoutMilliseconds: 0) { events.append(more) }
            for event in events {
                if dispatch(.input(event)) { needsFullRepaint = true }
                if state.shouldQuit { break }
            }
        }
    }

    @discardableResult
    private func dispatch(_ action: Action) -> Bool {
        Dispatcher.dispatch(action, state: &state, annotations: annotations, jobs: jobs)
    }

    /// Milliseconds until the next frame is due during playback (at least 1, at most 50).
    private func nextFrameDelayMilliseconds() -> Int {
        guard let playback = state.playback, !playback.startClock.isNaN else { return 1 }
        let media = state.media
        let next = min(state.frame + 1, media.lastFrame)
        let due = playback.startClock + (media.timestamps[next] - media.timestamps[playback.startFrame])
        let delay = (due - clock.seconds) * 1000
        return min(50, max(1, Int(delay.rounded(.up))))
    }
}
