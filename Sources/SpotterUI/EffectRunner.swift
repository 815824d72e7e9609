import Foundation
import Tracking

/// The one stream effect results come back on: background jobs send actions, the run loop (or a test) takes them
/// and reduces them. A pipe is written on every send so the run loop's input wait wakes up at once.
package final class ActionChannel: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [Action] = []
    private var waiters: [CheckedContinuation<Void, Never>] = []
    /// Readable when actions are waiting (one byte per send; `drain` empties it).
    package let wakeDescriptor: Int32
    private let wakeWriter: Int32

    package init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        wakeDescriptor = fds[0]
        wakeWriter = fds[1]
    }

    deinit {
        if wakeDescriptor >= 0 { close(wakeDescriptor) }
        if wakeWriter >= 0 { close(wakeWriter) }
    }

    package func send(_ action: Action) {
        condition.lock()
        queue.append(action)
        let resumed = waiters
        waiters = []
        condition.broadcast()
        condition.unlock()
        var byte: UInt8 = 1
        if wakeWriter >= 0 { _ = write(wakeWriter, &byte, 1) }  // a full pipe already wakes the reader
        for waiter in resumed { waiter.resume() }
    }

    /// Every action sent so far, oldest first; empties the channel.
    package func drain() -> [Action] {
        // The pipe first: a send after this leaves its byte behind, so the next wait wakes for it.
        var sink = [UInt8](repeating: 0, count: 256)
        while wakeDescriptor >= 0, read(wakeDescriptor, &sink, sink.count) > 0 {}
        condition.lock()
        let taken = queue
        queue = []
        condition.unlock()
        return taken
    }

    /// Blocks the calling thread until an action is waiting.
    package func waitForActions() {
        condition.lock()
        while queue.isEmpty { condition.wait() }
        condition.unlock()
    }

    /// Suspends until an action is waiting, without holding a thread.
    package func actionsAvailable() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if queue.isEmpty {
                waiters.append(continuation)
                condition.unlock()
            } else {
                condition.unlock()
                continuation.resume()
            }
        }
    }
}

/// A flag a background computation checks to stop early.
package final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    package init() {}

    package var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    package func set() {
        lock.lock()
        value = true
        lock.unlock()
    }
}

/// Runs the viewer's background jobs (one at a time: propagation or a question to the model); they report on
/// `channel`.
package final class JobCenter {
    private let frames: @Sendable (Int) throws -> GrayImage
    package let assistant: Assistant?
    package let channel: ActionChannel
    private var propagationCancel: CancelFlag?
    private var question: Task<Void, Never>?

    package init(
        frames: @escaping @Sendable (Int) throws -> GrayImage, assistant: Assistant? = nil, channel: ActionChannel = ActionChannel()
    ) {
        self.frames = frames
        self.assistant = assistant
        self.channel = channel
    }

    /// Starts following a point; the returned action says so.
    func start(_ request: PropagationRequest) -> Action {
        let cancel = CancelFlag()
        propagationCancel = cancel
        let channel = self.channel
        PropagationJob.start(request, frames: frames, cancel: cancel, report: { channel.send($0) })
        return .jobStarted(.propagation(request))
    }

    /// Starts a question to the model; the returned action says so, or why it cannot.
    func start(_ ask: AskRequest) -> Action {
        guard let assistant else { return .notice(AssistState.noModelHint) }
        let channel = self.channel
        question = AssistJob.start(ask, assistant: assistant, report: { channel.send($0) })
        return .jobStarted(.asking(ask))
    }

    package func cancel() {
        propagationCancel?.set()
        question?.cancel()
    }
}

/// The effect runner: one step of the application is the reducer, then its effects. Store effects run at once
/// (edits are committed before anything is drawn) and their results are reduced in the same step; jobs report
/// later on the job center's channel. Shared by the run loop and the tests.
package enum Dispatcher {
    /// Reduces `action` and runs its effects; returns true when the whole screen must be repainted.
    @discardableResult
    package static func dispatch(
        _ action: Action, state: inout AppState, annotations: AnnotationSession?, jobs: JobCenter? = nil
    ) -> Bool {
        var pending = [action]
        var repaint = false
        while !pending.isEmpty {
            let next = pending.removeFirst()
            let previousMode = state.mode
            for effect in Reducer.reduce(&state, next) {
                if let result = run(effect, state: state, annotations: annotations, jobs: jobs, repaint: &repaint) {
                    pending.append(result)
                }
            }
            if previousMode == .help && state.mode != .help { repaint = true }
        }
        return repaint
    }

    /// Runs one effect; returns the action that reports its result at once, if any.
    static func run(
        _ effect: Effect, state: AppState, annotations: AnnotationSession?, jobs: JobCenter?, repaint: inout Bool
    ) -> Action? {
        switch effect {
        case .repaintAll:
            repaint = true
            return nil
        case .propagate(let request):
            return jobs?.start(request) ?? .notice("propagation needs the video")
        case .cancelJob:
            jobs?.cancel()
            return nil
        case .ask(let request):
            guard let jobs else { return .notice(AssistState.noModelHint) }
            return jobs.start(request)
        case .reload:
            return annotations?.perform(effect, predictions: state.assist.predictions).map(Action.storeChanged)
        case .continueTrack(_, _, _, let suffix) where annotations == nil:
            return .notice("no project is open (--no-project): the answer cannot be merged" + suffix)
        case .edit, .undo, .redo, .accept, .commitTracked, .continueTrack:
            guard let annotations, let outcome = annotations.perform(effect, predictions: state.assist.predictions) else {
                return .notice("no project is open (--no-project): edits are off")
            }
            return .storeChanged(outcome)
        }
    }

    /// The project's contents as the first view of a session.
    package static func load(state: inout AppState, annotations: AnnotationSession?) {
        guard let annotations else { return }
        dispatch(.storeChanged(annotations.load(predictions: state.assist.predictions)), state: &state, annotations: annotations)
    }

    /// Reduces every result the jobs have reported so far; returns true when the whole screen must be repainted.
    @discardableResult
    package static func drain(state: inout AppState, annotations: AnnotationSession?, jobs: JobCenter?) -> Bool {
        guard let jobs else { return false }
        var repaint = false
        for action in jobs.channel.drain() {
            if dispatch(action, state: &state, annotations: annotations, jobs: jobs) { repaint = true }
        }
        return repaint
    }

    /// Blocks until the running job has ended and its result is reduced (tests; quitting).
    package static func settle(state: inout AppState, annotations: AnnotationSession?, jobs: JobCenter) {
        drain(state: &state, annotations: annotations, jobs: jobs)
        while state.jobRunning {
            jobs.channel.waitForActions()
            drain(state: &state, annotations: annotations, jobs: jobs)
        }
    }

    /// Suspends until the running job has ended and its result is reduced.
    package static func settle(state: inout AppState, annotations: AnnotationSession?, jobs: JobCenter) async {
        drain(state: &state, annotations: annotations, jobs: jobs)
        while state.jobRunning {
            await jobs.channel.actionsAvailable()
            drain(state: &state, annotations: annotations, jobs: jobs)
        }
    }
}
