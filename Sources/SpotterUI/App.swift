import Basics
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

/// The application without a terminal: the state, the effect runner (store session and jobs), the clock and the
/// view. Each turn ticks the clock, reduces the jobs' reports and renders a `Screen` value; input comes in as
/// events. The terminal backend (`ViewerApp`) and the tests drive it the same way.
package final class ViewerCore {
    package private(set) var state: AppState
    private let composer: PictureComposer
    package let annotations: AnnotationSession?
    package let jobs: JobCenter
    private let clock: ClockReading
    /// The picture last composed, with what it was composed from.
    private var picture: Picture?
    private var paintedRevision = -1
    private var paintedPlaying = false
    private var paintedLayout: Layout?
    private var needsFullRepaint = true

    /// One rendering of the application and what the backend must do to show it.
    package struct Turn {
        package var screen: Screen
        /// Everything on screen must be drawn again (mode change, resize, Ctrl-L).
        package var repaintAll: Bool
        /// The picture changed since the last turn and must be sent.
        package var pictureChanged: Bool
    }

    package init(
        state: AppState, composer: PictureComposer, annotations: AnnotationSession?, jobs: JobCenter,
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.state = state
        self.composer = composer
        self.annotations = annotations
        self.jobs = jobs
        self.clock = ClockReading(clock)
        Dispatcher.load(state: &self.state, annotations: annotations)
    }

    package var shouldQuit: Bool { state.shouldQuit }

    /// Ticks the clock, reduces what the jobs reported, composes the picture when it changed, and renders.
    package func turn() -> Turn {
        dispatch(.tick(now: clock.seconds))
        if Dispatcher.drain(state: &state, annotations: annotations, jobs: jobs) { needsFullRepaint = true }
        let repaintAll = needsFullRepaint || state.layout != paintedLayout
        if repaintAll {
            needsFullRepaint = false
            paintedLayout = state.layout
            picture = nil
        }
        let showsPicture = !state.layout.isTooSmall && state.mode != .help
        let pictureDue = showsPicture
            && (picture?.frame != state.frame || state.annotations.revision != paintedRevision
                || state.isPlaying != paintedPlaying)
        if pictureDue, let composed = composer.compose(state) {
            picture = composed
            paintedRevision = state.annotations.revision
            paintedPlaying = state.isPlaying
            dispatch(.frameDecoded(frame: composed.frame, problem: composed.problem))
            composer.prefetch(after: composed.frame, state: state)
        }
        return Turn(
            screen: PaneView.render(state, picture: showsPicture ? picture : nil), repaintAll: repaintAll,
            pictureChanged: pictureDue)
    }

    /// Reduces input events in order (stopping at quit), at the clock's time now.
    package func handle(_ events: [InputEvent]) {
        dispatch(.tick(now: clock.seconds))
        for event in events {
            if dispatch(.input(event)) { needsFullRepaint = true }
            if state.shouldQuit { break }
        }
    }

    @discardableResult
    private func dispatch(_ action: Action) -> Bool {
        Dispatcher.dispatch(action, state: &state, annotations: annotations, jobs: jobs)
    }

    /// Blocks until the running job has ended and its result is reduced.
    package func settle() {
        Dispatcher.settle(state: &state, annotations: annotations, jobs: jobs)
    }

    /// How long the run loop may wait for input: until the next frame is due during playback (1 to 50 ms),
    /// else a quarter second (job reports wake it earlier).
    package var waitMilliseconds: Int {
        guard let playback = state.playback else { return 250 }
        guard !playback.startClock.isNaN else { return 1 }
        let media = state.media
        let next = min(state.frame + 1, media.lastFrame)
        let due = playback.startClock + (media.timestamps[next] - media.timestamps[playback.startFrame])
        let delay = (due - clock.seconds) * 1000
        return min(50, max(1, Int(delay.rounded(.up))))
    }
}

/// The terminal backend's run loop: turns of the core are presented with ncurses; it waits for input or a job's
/// report, whichever comes first.
package final class ViewerApp {
    private let core: ViewerCore
    private let session: TerminalSession
    private let presenter: TerminalPresenter

    package init(core: ViewerCore, session: TerminalSession) {
        self.core = core
        self.session = session
        self.presenter = TerminalPresenter(session: session, graphics: core.state.graphics, theme: core.state.theme)
    }

    /// Runs until the user quits or a terminating signal arrives.
    package func run() {
        core.handle([.resize(columns: session.columns, rows: session.rows)])
        defer { core.jobs.cancel() }
        while !core.shouldQuit && !session.interrupted {
            let turn = core.turn()
            if turn.repaintAll { presenter.invalidate() }
            presenter.presentText(turn.screen)
            if turn.pictureChanged { presenter.presentPicture(turn.screen) }

            guard
                let event = session.nextEvent(
                    timeoutMilliseconds: core.waitMilliseconds, wakeDescriptor: core.jobs.channel.wakeDescriptor)
            else { continue }
            var events = [event]
            // Drain a burst (key repeat, mouse drag) so the screen shows its end state, not every step.
            while events.count < 64, let more = session.nextEvent(timeoutMilliseconds: 0) { events.append(more) }
            core.handle(events)
        }
    }
}
