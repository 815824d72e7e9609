import Annotations
import Assist

/// What undo steps back over: an edit in the store, or a rejection of predictions (which never touches the store).
package enum UndoKind: Equatable, Sendable {
    case store
    case rejection
}

/// The model side of the reducer: the query pane, continuing a track, range marks and deciding on predictions.
extension Reducer {
    /// Keys of normal mode that belong to the model side; nil when the key is not one of them.
    static func handleAssistKey(_ state: inout AppState, _ key: Key) -> [Effect]? {
        switch key {
        case .character("/"):
            state.playback = nil
            state.assist.historyIndex = nil
            state.mode = .prompt(.ask, "")
            if state.assist.backend == nil { state.message = AssistState.noModelHint }
            return [.repaintAll]
        case .character("c"):
            return continueSelected(&state)
        case .character("["), .character("]"):
            let start = key == .character("[")
            if start { state.assist.rangeStart = state.frame } else { state.assist.rangeEnd = state.frame }
            if let a = state.assist.rangeStart, let b = state.assist.rangeEnd {
                state.message = "range \(min(a, b))…\(max(a, b)) (questions with scope \"range\" cover it)"
            } else {
                state.message = "range \(start ? "starts" : "ends") at frame \(state.frame); \(start ? "]" : "[") sets the other end"
            }
            return []
        case .character(","), .character("."):
            return browsePredictions(&state, forward: key == .character("."))
        case .character("a"), .character("A"), .character("y"), .character("z"), .character("Z"), .backspace:
            if let running = state.assist.running, running.continuing == nil {
                state.message = "the answer is still coming: decide when it is complete (Esc cancels the question)"
                return []
            }
            return decidePredictions(&state, key)
        default:
            return nil
        }
    }

    /// Accept (a A y) or reject (z Z Backspace) predictions: all, the highlighted object, or its point here.
    static func decidePredictions(_ state: inout AppState, _ key: Key) -> [Effect] {
        guard var set = state.assist.predictions, set.pendingCount > 0 else {
            state.message = "no predictions waiting (/ asks the model)"
            return []
        }
        let accepting = key == .character("a") || key == .character("A") || key == .character("y")
        let choice: PredictionSet.Choice
        switch key {
        case .character("A"), .character("Z"): choice = .all
        case .character("y"), .backspace: choice = .highlightedPoint(near: state.frame)
        default: choice = .highlighted
        }
        let keys = set.pendingKeys(choice)
        guard !keys.isEmpty else {
            if !accepting {
                state.message = "nothing to reject here"
            } else if case .highlightedPoint = choice, let i = set.highlighted {
                state.message = "prediction \(i + 1) has no pending point on this frame"
            } else {
                state.message = "the highlighted prediction has nothing pending (, . choose another)"
            }
            return []
        }
        if accepting {
            state.playback = nil
            return [.accept(keys)]
        }
        set.rejected.formUnion(keys)
        state.assist.predictions = set
        state.assist.rejectionLog.append(keys)
        state.assist.rejectionRedo = []
        state.undoJournal.append(.rejection)
        state.redoJournal = []
        moveHighlightToPending(&state)
        state.annotations.revision += 1
        state.message = "rejected \(keys.count) predicted point\(keys.count == 1 ? "" : "s") (u undoes)"
        return []
    }

    /// The selected track with a visible point placed on this frame: where single-point tracking starts.
    static func placedPoint(_ state: AppState) -> (id: TrackID, track: Track, point: FramePoint)? {
        guard let id = state.annotations.selected, let track = state.annotations.track(id),
            let point = state.annotations.selectedPoint, point.entry.visibility == .visible, !point.isInterpolated
        else { return nil }
        return (id, track, point)
    }

    /// The last frame a single-point track from this frame covers: the range's end when after it, else the video's.
    static func trackPointEnd(_ state: AppState) -> Int {
        state.assist.rangeEnd.flatMap { $0 > state.frame ? $0 : nil } ?? state.media.lastFrame
    }

    /// `c`: ask the model to continue the selected track from its point on this frame (spec §8.3).
    static func continueSelected(_ state: inout AppState) -> [Effect] {
        state.playback = nil
        guard state.annotations.selectedTrack != nil else {
            state.message = "select the track to continue first (Tab or click its point)"
            return []
        }
        guard let (id, track, point) = placedPoint(state) else {
            state.message = "track #\(state.annotations.selected!.rawValue) needs a visible point placed on this frame to continue from"
            return []
        }
        guard state.assist.backend != nil else {
            state.message = AssistState.noModelHint
            return []
        }
        guard !state.jobRunning else {
            state.message = "a job is already running (Esc cancels it)"
            return []
        }
        let end = trackPointEnd(state)
        guard end > state.frame else {
            state.message = "nothing after this frame to continue into"
            return []
        }
        let fps = state.assist.maxFPS
        let request = AskRequest(
            task: .trackPoint(label: track.label, frame: state.frame, x: point.entry.x, y: point.entry.y, fps: fps),
            scope: .frames(state.frame...end, maxFPS: Double(fps), maxFrames: state.assist.maxFrames),
            label: track.label, typed: "", constrain: state.assist.constrain, continuing: id, frame: state.frame)
        return [.ask(request)]
    }

    static func browsePredictions(_ state: inout AppState, forward: Bool) -> [Effect] {
        guard var set = state.assist.predictions, !set.pendingObjects.isEmpty else {
            state.message = "no predictions waiting (/ asks the model)"
            return []
        }
        let pending = set.pendingObjects
        let current = set.highlighted ?? (forward ? -1 : set.objects.count)
        let next = forward
            ? (pending.first { $0 > current } ?? pending.first!)
            : (pending.last { $0 < current } ?? pending.last!)
        set.highlighted = next
        state.assist.predictions = set
        state.annotations.revision += 1
        // Show the object: stay if it has a point near this frame, else go to its first pending point.
        let points = set.pendingPoints(of: next)
        let shown = set.nearestShownFrame(to: state.frame)
        if !points.contains(where: { $0.frame == shown }), let first = points.first {
            seek(&state, to: first.frame)
        }
        state.message = describePrediction(set, next)
        return []
    }

    static func describePrediction(_ set: PredictionSet, _ index: Int) -> String {
        let object = set.objects[index]
        let points = set.pendingPoints(of: index)
        let frames = points.map(\.frame)
        let span = frames.isEmpty ? "" : frames.count == 1 ? " on frame \(frames[0])" : " on frames \(frames.first!)…\(frames.last!)"
        return "prediction \(index + 1)/\(set.objects.count) \"\(object.label)\": \(points.count) pending point\(points.count == 1 ? "" : "s")\(span) — a accept, z reject"
    }

    static func moveHighlightToPending(_ state: inout AppState) {
        guard var set = state.assist.predictions else { return }
        if let h = set.highlighted, !set.pendingPoints(of: h).isEmpty { return }
        let pending = set.pendingObjects
        set.highlighted = pending.first { $0 > (set.highlighted ?? -1) } ?? pending.first
        state.assist.predictions = set
    }

    /// `u` and Ctrl-R step over rejections as well as store edits, in the order they were made.
    static func undoEffects(_ state: inout AppState, redo: Bool) -> [Effect] {
        state.playback = nil
        if !redo, state.undoJournal.last == .rejection, let keys = state.assist.rejectionLog.popLast() {
            state.undoJournal.removeLast()
            state.assist.predictions?.rejected.subtract(keys)
            state.assist.rejectionRedo.append(keys)
            state.redoJournal.append(.rejection)
            state.annotations.revision += 1
            state.message = "rejection undone (\(keys.count) point\(keys.count == 1 ? "" : "s") back)"
            return []
        }
        if redo, state.redoJournal.last == .rejection, let keys = state.assist.rejectionRedo.popLast() {
            state.redoJournal.removeLast()
            state.assist.predictions?.rejected.formUnion(keys)
            state.assist.rejectionLog.append(keys)
            state.undoJournal.append(.rejection)
            moveHighlightToPending(&state)
            state.annotations.revision += 1
            state.message = "rejection redone"
            return []
        }
        return [redo ? .redo : .undo]
    }

    // MARK: - The query pane

    static func handleAskKey(_ state: inout AppState, _ key: Key, text: String) -> [Effect] {
        var assist = state.assist
        defer { state.assist = assist }
        state.message = nil
        switch key {
        case .escape:
            state.mode = .normal
            state.message = nil
            return [.repaintAll]
        case .tab:
            assist.template = assist.template.next
        case .backTab:
            assist.template = QueryTemplate.allCases.first { $0.next == assist.template }!
        case .control("o"):
            assist.scope = assist.scope.next
        case .control("f"):
            let choices = AssistState.fpsChoices
            assist.maxFPS = choices[((choices.firstIndex(of: assist.maxFPS) ?? 0) + 1) % choices.count]
        case .control("n"):
            let choices = AssistState.frameChoices
            assist.maxFrames = choices[((choices.firstIndex(of: assist.maxFrames) ?? 0) + 1) % choices.count]
        case .control("g"):
            assist.constrain.toggle()
        case .up, .down:
            let history = assist.history
            guard !history.isEmpty else { return [] }
            var index = assist.historyIndex ?? history.count
            index = key == .up ? max(0, index - 1) : index + 1
            if index >= history.count {
                assist.historyIndex = nil
                state.mode = .prompt(.ask, "")
            } else {
                assist.historyIndex = index
                state.mode = .prompt(.ask, history[index])
            }
        case .backspace:
            state.mode = .prompt(.ask, String(text.dropLast()))
        case .control("u"):
            state.mode = .prompt(.ask, "")
        case .character(let c):
            state.mode = .prompt(.ask, text + String(c))
        case .enter:
            state.assist = assist
            let effects = submitAsk(&state, text: text)
            assist = state.assist
            return effects
        default:
            break
        }
        return []
    }

    /// Enter in the query pane: the typed text with the template and scope becomes an `AskRequest`.
    static func submitAsk(_ state: inout AppState, text: String) -> [Effect] {
        let assist = state.assist
        let typed = text.trimmingCharacters(in: .whitespaces)
        guard assist.backend != nil else {
            state.message = AssistState.noModelHint
            return []
        }
        guard !state.jobRunning else {
            state.message = "a job is already running (Esc cancels it)"
            return []
        }
        let fps = assist.maxFPS
        let frames = assist.maxFrames
        var scope: GroundingScope
        switch assist.scope {
        case .frame:
            scope = .frame(state.frame)
        case .wholeVideo:
            scope = .wholeVideo(maxFPS: Double(fps), maxFrames: frames)
        case .range:
            guard let a = assist.rangeStart, let b = assist.rangeEnd, a != b else {
                state.message = "set the range first: [ on its first frame, ] on its last"
                return []
            }
            scope = .frames(min(a, b)...max(a, b), maxFPS: Double(fps), maxFrames: frames)
        }
        let task: GroundingTask
        var label = typed
        var acceptInto: TrackID?
        switch assist.template {
        case .point: task = .point(label: typed)
        case .count: task = .count(label: typed)
        case .track: task = .track(label: typed, fps: fps)
        case .question: task = .question(typed)
        case .trackPoint:
            guard let (id, track, point) = placedPoint(state) else {
                state.message = "track this point: select a track with a point placed on this frame"
                return []
            }
            label = typed.isEmpty ? track.label : typed
            let end = trackPointEnd(state)
            guard end > state.frame else {
                state.message = "nothing after this frame to track into"
                return []
            }
            task = .trackPoint(label: label, frame: state.frame, x: point.entry.x, y: point.entry.y, fps: fps)
            scope = .frames(state.frame...end, maxFPS: Double(fps), maxFrames: frames)
            acceptInto = id
        }
        guard !label.isEmpty else {
            state.message = assist.template == .question ? "type a question first" : "type what to \(assist.template.caption) first"
            return []
        }
        if case .track = task, case .frame = scope {
            state.message = "tracking needs several frames: ^O chooses a range or the whole video"
            return []
        }
        if !typed.isEmpty, state.assist.history.last != typed { state.assist.history.append(typed) }
        state.assist.historyIndex = nil
        state.mode = .normal
        var ask = AskRequest(
            task: task, scope: scope, label: label, typed: typed, constrain: assist.constrain, acceptInto: acceptInto,
            frame: state.frame)
        ask.isVideo = state.media.frameCount > 1
        return [.repaintAll, .ask(ask)]
    }
}
