import Annotations
import Assist

/// What the project holds, as the panes and the overlay need it: copied out of the store after every store effect.
package struct ProjectView: Equatable, Sendable {
    package var tracks: [Track]
    package var canUndo: Bool
    package var canRedo: Bool
    /// Points between stored ones are derived (videos; not image sequences).
    package var interpolates: Bool

    package init(tracks: [Track], canUndo: Bool, canRedo: Bool, interpolates: Bool) {
        self.tracks = tracks
        self.canUndo = canUndo
        self.canRedo = canRedo
        self.interpolates = interpolates
    }
}

/// How a store effect moved the undo and redo journals.
package enum JournalStep: Equatable, Sendable {
    /// A new undoable edit: it goes on the undo journal and ends any redo.
    case recorded
    /// Undo (or redo) was asked for: the store entry on top of its journal is taken off first.
    case popped(redo: Bool)
    /// The store stepped back (or forward): the step goes on the other journal.
    case stepped(redo: Bool)
}

/// The result of a store effect, reported to the reducer as `.storeChanged`.
package struct StoreOutcome: Equatable, Sendable {
    package var view: ProjectView?
    package var journal: [JournalStep] = []
    /// The track to select (an edit that created one, asked to select it).
    package var select: TrackID?
    /// Replaces the status message when set.
    package var message: String?
    /// Shown after the edit unless it reported something else than "nothing changed" (propagation summaries).
    package var summary: String?
    /// Appended to the status message.
    package var suffix: String?
    /// The predictions as the effect left them (a recorded query id, the tracks objects went into).
    package var predictions: PredictionSet?
    /// Which predicted points the project now holds and which tracks objects went into, when that changed.
    package var acceptance: PredictionAcceptance?

    package init(view: ProjectView?) {
        self.view = view
    }
}

/// The predicted points a project holds and the tracks the objects were accepted into.
package struct PredictionAcceptance: Equatable, Sendable {
    package var accepted: Set<PredictionKey>
    package var trackOfObject: [Int: TrackID]
}

/// Reductions of effect results: store changes, job progress and outcomes, decoded frames.
extension Reducer {
    static func reduceResult(_ state: inout AppState, _ action: Action) -> [Effect] {
        switch action {
        case .storeChanged(let outcome):
            applyStoreOutcome(&state, outcome)
        case .notice(let text):
            state.message = text
        case .jobStarted(.propagation(let request)):
            state.job = .propagation(request, done: 0, total: 0)
        case .jobStarted(.asking(let ask)):
            state.job = .asking(AskingJob(ask: ask, startedAt: state.now))
            state.assist.running = ask
            state.assist.answerText = ""
            if ask.continuing == nil { state.assist.predictions = nil }
        case .propagationProgress(let done, let total):
            if case .propagation(let request, _, _)? = state.job { state.job = .propagation(request, done: done, total: total) }
        case .propagationFinished(let edit, let summary):
            guard case .propagation? = state.job else { return [] }
            state.job = nil
            if let edit { return [.commitTracked(edit, summary: summary)] }
            state.message = summary
        case .answerStage(let stage):
            if case .asking(var asking)? = state.job {
                asking.stage = stage
                state.job = .asking(asking)
            }
        case .answerRequestBuilt(let request):
            if case .asking(var asking)? = state.job {
                asking.request = request
                state.job = .asking(asking)
            }
        case .answerText(let text):
            showStreamedAnswer(&state, text)
        case .answerFinished(let outcome):
            return finishAnswer(&state, outcome)
        case .frameDecoded(_, let problem):
            if let problem { state.message = problem }
        case .input, .tick:
            break
        }
        return []
    }

    /// Applies what a store effect did, then copies the project's new contents into the state.
    static func applyStoreOutcome(_ state: inout AppState, _ outcome: StoreOutcome) {
        for step in outcome.journal {
            switch step {
            case .recorded:
                state.undoJournal.append(.store)
                state.redoJournal = []
                state.assist.rejectionRedo = []
            case .popped(let redo):
                if redo {
                    if state.redoJournal.last == .store { state.redoJournal.removeLast() }
                } else if state.undoJournal.last == .store {
                    state.undoJournal.removeLast()
                }
            case .stepped(let redo):
                if redo { state.undoJournal.append(.store) } else { state.redoJournal.append(.store) }
            }
        }
        if let id = outcome.select { state.annotations.selected = id }
        if let message = outcome.message { state.message = message }
        if let summary = outcome.summary, state.message == nil || state.message == "nothing changed" { state.message = summary }
        if let suffix = outcome.suffix { state.message = (state.message ?? "") + suffix }
        if let set = outcome.predictions { state.assist.predictions = set }
        var annotations = state.annotations
        if let acceptance = outcome.acceptance, var set = state.assist.predictions {
            set.accepted = acceptance.accepted
            set.trackOfObject = acceptance.trackOfObject
            state.assist.predictions = set
            moveHighlightToPending(&state)
            annotations.revision += 1
        }
        if let view = outcome.view {
            annotations.tracks = view.tracks
            annotations.canUndo = view.canUndo
            annotations.canRedo = view.canRedo
            annotations.interpolates = view.interpolates
            if let id = annotations.selected, annotations.track(id) == nil { annotations.selected = nil }
        }
        annotations.framePoints = annotations.points(onFrame: state.frame)
        commitAnnotations(&state, annotations)
    }

    /// The points of the frame shown, after the frame changed.
    static func refreshFramePoints(_ state: inout AppState) {
        var annotations = state.annotations
        annotations.framePoints = annotations.points(onFrame: state.frame)
        commitAnnotations(&state, annotations)
    }

    static func commitAnnotations(_ state: inout AppState, _ annotations: AnnotationState) {
        guard annotations != state.annotations else { return }
        var annotations = annotations
        annotations.revision += 1
        let laneCountChanged = annotations.tracks.count != state.annotations.tracks.count
        state.annotations = annotations
        if laneCountChanged { state.relayout(columns: state.layout.screenColumns, rows: state.layout.screenRows) }
    }

    /// Complete groups of the answer so far are shown as they arrive (not for a continuation, which is merged at
    /// the end).
    static func showStreamedAnswer(_ state: inout AppState, _ text: String) {
        guard case .asking(let asking)? = state.job, text != state.assist.answerText else { return }
        state.assist.answerText = text
        guard asking.ask.continuing == nil, let request = asking.request,
            let closed = PartialAnswer.closedPrefix(text, label: asking.ask.label)
        else { return }
        var set = PredictionSet(ask: asking.ask, request: request, text: closed, model: state.assist.backend ?? "")
        set.highlighted = set.objects.isEmpty ? nil : 0
        if set.objects != state.assist.predictions?.objects {
            state.assist.predictions = set
            state.annotations.revision += 1
        }
    }

    static func finishAnswer(_ state: inout AppState, _ outcome: AnswerOutcome) -> [Effect] {
        guard case .asking(let asking)? = state.job else { return [] }
        state.job = nil
        state.assist.running = nil
        switch outcome {
        case .failed(let message, let cancelled):
            let partial = state.assist.predictions.map { $0.objects.count } ?? 0
            let kept = partial > 0 ? "; the \(partial) object\(partial == 1 ? "" : "s") answered so far stay as predictions" : ""
            state.message = (cancelled ? "question cancelled" : message) + kept
            return []
        case .answered(let request, let answer):
            state.assist.answerText = answer.text
            var set = PredictionSet(ask: asking.ask, request: request, answer: answer)
            let cut = answer.hitTokenLimit ? " (the answer hit the token limit)" : ""
            if let track = asking.ask.continuing {
                return [.continueTrack(track, set, after: asking.ask.frame, suffix: cut)]
            }
            set.highlighted = set.objects.isEmpty ? nil : 0
            state.assist.predictions = set
            state.annotations.revision += 1
            state.message = set.summary + cut
            return [.reload]
        }
    }
}
