import Basics
import Annotations
import Assist
import Foundation

/// Actions the reducer understands: input, the passage of time, and the results of effects (edits committed,
/// job progress and outcomes, frames decoded). Every change of `AppState` is the reduction of one of them.
package enum Action: Sendable {
    case input(InputEvent)
    /// A clock tick at `now` (seconds on the injected clock); advances playback and the job's elapsed time.
    case tick(now: Double)
    /// A store effect ran: what the project holds now, and what the edit did.
    case storeChanged(StoreOutcome)
    /// A one-line notice for the status line (an effect that could not run).
    case notice(String)
    /// A background job was started by the effect runner.
    case jobStarted(JobKind)
    /// Propagation followed the point over `done` of `total` frames.
    case propagationProgress(done: Int, total: Int)
    /// Propagation ended: the edit to commit (nil when nothing was tracked) and a summary.
    case propagationFinished(Edit?, summary: String)
    /// The question's stage changed ("decoding frames 3/8", "prefill 40%").
    case answerStage(String)
    /// The question's frames are decoded: the request as sent.
    case answerRequestBuilt(GroundingRequest)
    /// The answer text streamed so far (all of it, not the last piece).
    case answerText(String)
    /// The model answered, or the question failed.
    case answerFinished(AnswerOutcome)
    /// The picture of `frame` was decoded for display; `problem` when it could not be.
    case frameDecoded(frame: Int, problem: String?)
}

/// Which background job the effect runner started.
package enum JobKind: Equatable, Sendable {
    case propagation(PropagationRequest)
    case asking(AskRequest)
}

/// How a question to the model ended.
package enum AnswerOutcome: Sendable {
    case answered(GroundingRequest, GroundingAnswer)
    /// `message` is the error as shown; `cancelled` when Esc stopped it.
    case failed(message: String, cancelled: Bool)
}

/// Side effects the run loop performs after a reduction.
package enum Effect: Sendable {
    /// Everything on screen must be repainted (mode change, resize): the video region too.
    case repaintAll
    /// Commit an edit to the project store; with `selectCreated`, select the track it creates.
    case edit(Edit, selectCreated: Bool)
    case undo
    case redo
    /// Start following the selected point in the background (Lucas–Kanade, forward–backward checked).
    case propagate(PropagationRequest)
    /// Stop a running background job.
    case cancelJob
    /// Ask the model in the background.
    case ask(AskRequest)
    /// Accept predicted points into the project (provenance `model`).
    case accept([PredictionKey])
    /// Commit a propagation run's points as the tracker's edit; `summary` is shown unless the edit reports a problem.
    case commitTracked(Edit, summary: String)
    /// Merge a single-point tracking answer into `track` after `frame`; `suffix` is appended to its message.
    case continueTrack(TrackID, PredictionSet, after: Int, suffix: String)
    /// Read the project again (another process may have changed it) and check the predictions against it.
    case reload

    package var isRepaintAll: Bool {
        if case .repaintAll = self { return true }
        return false
    }

    /// The edit, if this effect is one.
    package var edit: Edit? {
        if case .edit(let edit, _) = self { return edit }
        return nil
    }
}

/// Pure state transitions of the viewer and editor; no terminal, no decoding, no store.
package enum Reducer {
    /// Frames moved by shift-arrows.
    package static let shortJump = 10
    /// Source pixels moved by a nudge, and by a shifted nudge.
    package static let nudge = 1.0
    package static let bigNudge = 10.0
    /// Label of tracks created by a click or `n`.
    package static let defaultLabel = "object"

    package static func reduce(_ state: inout AppState, _ action: Action) -> [Effect] {
        let frameBefore = state.frame
        let messageBefore = state.message
        let effects = reduceAction(&state, action)
        if state.frame != frameBefore { refreshFramePoints(&state) }
        if state.message != messageBefore { state.messageShownAt = state.message == nil ? nil : state.now }
        return effects
    }

    /// Seconds a status message stays before the status line shows the video and selection again.
    package static let messageLifetime = 5.0

    static func reduceAction(_ state: inout AppState, _ action: Action) -> [Effect] {
        switch action {
        case .tick(let now):
            state.now = now
            advancePlayback(&state, now: now)
            if let shown = state.messageShownAt, now - shown >= messageLifetime {
                state.message = nil
                state.messageShownAt = nil
            }
            return []
        case .storeChanged, .notice, .jobStarted, .propagationProgress, .propagationFinished, .answerStage,
            .answerRequestBuilt, .answerText, .answerFinished, .frameDecoded:
            return reduceResult(&state, action)
        case .input(.resize(let columns, let rows)):
            state.relayout(columns: columns, rows: rows)
            return [.repaintAll]
        case .input(.mouse(let mouse)):
            return handleMouse(&state, mouse)
        case .input(.key(let key)):
            switch state.mode {
            case .help:
                if key != .escape && key != .character("Q") && state.helpPage + 1 < PaneView.helpPages(state.layout).count {
                    state.helpPage += 1
                    return [.repaintAll]
                }
                state.mode = .normal
                if key == .character("Q") { state.shouldQuit = true }
                return [.repaintAll]
            case .prompt(.ask, let text):
                return handleAskKey(&state, key, text: text)
            case .prompt(let kind, let text):
                return handlePromptKey(&state, key, kind: kind, text: text)
            case .move:
                return handleMoveKey(&state, key)
            case .normal:
                return handleKey(&state, key)
            }
        }
    }

    /// Long jump: about five seconds of video, at least one frame.
    package static func longJump(_ media: MediaFacts) -> Int {
        max(1, Int((media.fps * 5).rounded()))
    }

    static func handleKey(_ state: inout AppState, _ key: Key) -> [Effect] {
        let last = state.media.lastFrame
        let selected = state.annotations.selected
        switch key {
        case .character("q"), .character("Q"), .control("c"):
            // Always quit: no key changes meaning with the selection (every edit is already saved).
            state.shouldQuit = true
        case .character(" "):
            if state.playback != nil {
                state.playback = nil
            } else {
                if state.frame >= last { state.frame = 0 }
                state.playback = .init(startFrame: state.frame, startClock: .nan)
            }
        case .right, .character("f"):
            seek(&state, to: state.frame + 1)
        case .left, .character("d"):
            seek(&state, to: state.frame - 1)
        case .shiftRight, .character("F"):
            seek(&state, to: state.frame + shortJump)
        case .shiftLeft, .character("D"):
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
            state.mode = .prompt(.goTo, "")
        case .character("?"):
            state.mode = .help
            state.helpPage = 0
            return [.repaintAll]
        case .control("l"):
            return [.repaintAll]

        // Selection.
        case .tab, .backTab:
            selectNext(&state, forward: key == .tab)
        case .escape:
            if state.jobRunning { return [.cancelJob] }
            if selected != nil { select(&state, nil) }

        // Editing.
        case .character("n"):
            state.playback = nil
            return [.edit(.createTrack(NewTrack(label: defaultLabel)), selectCreated: true)]
        case .character("u"):
            return undoEffects(&state, redo: false)
        case .control("r"):
            return undoEffects(&state, redo: true)
        case .character("r"), .character("e"):
            if let target = state.annotations.keyframe(from: state.frame, forward: key == .character("r")) {
                seek(&state, to: target)
            } else {
                state.message = key == .character("r") ? "no keyframe after this frame" : "no keyframe before this frame"
            }
        default:
            if let effects = handleAssistKey(&state, key) { return effects }
            guard let id = selected else {
                if isEditingKey(key) { state.message = "select a track first (Tab, or click a point; n makes a new one)" }
                return []
            }
            return handleTrackKey(&state, key, id)
        }
        return []
    }

    static func isEditingKey(_ key: Key) -> Bool {
        switch key {
        case .character("k"), .character("o"), .character("v"), .character("x"), .delete, .character("X"), .character("l"),
            .character("M"), .character("s"), .character("m"), .character("p"), .character("P"):
            return true
        default:
            return false
        }
    }

    /// Keys that act on the selected track.
    static func handleTrackKey(_ state: inout AppState, _ key: Key, _ id: TrackID) -> [Effect] {
        state.playback = nil
        let frame = state.frame
        let point = state.annotations.selectedPoint
        switch key {
        case .character("k"):
            guard point != nil else {
                state.message = "track #\(id.rawValue) has no point on this frame"
                return []
            }
            return [.edit(.toggleKeyframe(id, frame: frame), selectCreated: false)]
        case .character("o"):
            return toggleVisibility(&state, id, .outside)
        case .character("v"):
            return toggleVisibility(&state, id, .occluded)
        case .character("x"), .delete:
            guard let point, !point.isInterpolated else {
                state.message = "no stored point of #\(id.rawValue) on this frame to delete"
                return []
            }
            return [.edit(.deletePoint(id, frame: frame), selectCreated: false)]
        case .character("X"):
            select(&state, nil)
            return [.edit(.deleteTrack(id), selectCreated: false)]
        case .character("l"):
            state.mode = .prompt(.label, state.annotations.track(id)?.label ?? "")
        case .character("M"):
            state.mode = .prompt(.mergeInto, "")
        case .character("s"):
            return [.edit(.split(id, atFrame: frame), selectCreated: true)]
        case .character("m"):
            guard point != nil else {
                state.message = "track #\(id.rawValue) has no point on this frame to move"
                return []
            }
            state.mode = .move
        case .character("p"), .character("P"):
            let forward = key == .character("p")
            guard let point, point.entry.visibility == .visible, let track = state.annotations.track(id) else {
                state.message = "track #\(id.rawValue) has no visible point on this frame to follow"
                return []
            }
            guard !state.jobRunning else {
                state.message = "a propagation is already running (Esc cancels it)"
                return []
            }
            let next = forward ? track.nextKeyframe(after: frame) : track.previousKeyframe(before: frame)
            let keyframe = next.flatMap { f in track.entry(at: f).map { (frame: f, x: $0.x, y: $0.y) } }
            return [.propagate(PropagationRequest(
                track: id, frame: frame, forward: forward, x: point.entry.x, y: point.entry.y, keyframe: keyframe,
                lastFrame: state.media.lastFrame))]
        default:
            break
        }
        return []
    }

    static func toggleVisibility(_ state: inout AppState, _ id: TrackID, _ target: Visibility) -> [Effect] {
        state.playback = nil
        guard let point = state.annotations.selectedPoint else {
            state.message = "track #\(id.rawValue) has no point on this frame"
            return []
        }
        let next: Visibility = point.entry.visibility == target ? .visible : target
        return [.edit(.setVisibility(id, frame: state.frame, next), selectCreated: false)]
    }

    static func handleMoveKey(_ state: inout AppState, _ key: Key) -> [Effect] {
        guard let id = state.annotations.selected, let point = state.annotations.selectedPoint else {
            state.mode = .normal
            return []
        }
        var dx = 0.0
        var dy = 0.0
        switch key {
        case .left, .character("h"): dx = -nudge
        case .right, .character("l"): dx = nudge
        case .up, .character("k"): dy = -nudge
        case .down, .character("j"): dy = nudge
        case .shiftLeft, .character("H"): dx = -bigNudge
        case .shiftRight, .character("L"): dx = bigNudge
        case .shiftUp, .character("K"): dy = -bigNudge
        case .shiftDown, .character("J"): dy = bigNudge
        case .enter, .escape, .character("m"):
            state.mode = .normal
            return []
        default:
            return []
        }
        let x = min(max(0, point.entry.x + dx), Double(state.media.width))
        let y = min(max(0, point.entry.y + dy), Double(state.media.height))
        return [.edit(.setPoint(id, frame: state.frame, x: x, y: y), selectCreated: false)]
    }

    static func handlePromptKey(_ state: inout AppState, _ key: Key, kind: PromptKind, text: String) -> [Effect] {
        switch key {
        case .escape:
            state.mode = .normal
        case .enter:
            state.mode = .normal
            return submitPrompt(&state, kind: kind, text: text)
        case .backspace:
            // On an empty prompt Backspace does nothing: only Esc closes it, so typed text never turns into commands.
            if !text.isEmpty { state.mode = .prompt(kind, String(text.dropLast())) }
        case .control("u"):
            state.mode = .prompt(kind, "")
        case .character(let c):
            state.mode = .prompt(kind, text + String(c))
        default:
            break
        }
        return []
    }

    static func submitPrompt(_ state: inout AppState, kind: PromptKind, text: String) -> [Effect] {
        switch kind {
        case .goTo:
            switch FrameReference.parse(text) {
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
        case .ask:
            return submitAsk(&state, text: text)
        case .label:
            let label = text.trimmingCharacters(in: .whitespaces)
            guard let id = state.annotations.selected else { return [] }
            guard !label.isEmpty else {
                state.message = "a label cannot be empty"
                return []
            }
            return [.edit(.relabel(id, label), selectCreated: false)]
        case .mergeInto:
            guard let from = state.annotations.selected else { return [] }
            let digits = text.trimmingCharacters(in: CharacterSet(charactersIn: " #"))
            guard let n = Int64(digits), let target = state.annotations.track(TrackID(n))?.id else {
                state.message = "no track #\(text) to merge into"
                return []
            }
            guard target != from else {
                state.message = "cannot merge a track into itself"
                return []
            }
            select(&state, target)
            return [.edit(.merge(into: target, from: from), selectCreated: false)]
        }
        return []
    }

    static func handleMouse(_ state: inout AppState, _ mouse: MouseEvent) -> [Effect] {
        switch mouse.kind {
        case .scrollUp:
            seek(&state, to: state.frame - 1)
            return []
        case .scrollDown:
            seek(&state, to: state.frame + 1)
            return []
        case .press:
            break
        default:
            return []
        }
        if state.mode == .help {
            state.mode = .normal
            return [.repaintAll]
        }
        let layout = state.layout
        if mouse.row >= layout.timeline.row && mouse.row < layout.labels.row,
            let target = layout.frameForTimelineColumn(mouse.column, frameCount: state.media.frameCount)
        {
            // The bar seeks; a lane also selects its track.
            if mouse.row > layout.timeline.row {
                let lane = mouse.row - layout.lanes.row
                if lane >= 0 && lane < laneTracks(state).count { select(&state, laneTracks(state)[lane].id) }
            }
            seek(&state, to: target)
            return []
        }
        if layout.objects.contains(column: mouse.column, row: mouse.row) {
            let index = mouse.row - layout.objects.row - ObjectsPane.headerRows
            let tracks = state.annotations.tracks
            if index >= 0 && index < tracks.count { select(&state, tracks[index].id) }
            return []
        }
        if layout.viewer.contains(column: mouse.column, row: mouse.row) {
            return clickInViewer(&state, column: mouse.column, row: mouse.row)
        }
        return []
    }

    /// The tracks that have a lane, in lane order: the selected one is always among them.
    package static func laneTracks(_ state: AppState) -> [Track] {
        let tracks = state.annotations.tracks
        let capacity = state.layout.lanes.height
        guard tracks.count > capacity, capacity > 0, let selected = state.annotations.selected,
            let index = tracks.firstIndex(where: { $0.id == selected })
        else { return Array(tracks.prefix(capacity)) }
        let start = min(max(0, index - capacity / 2), tracks.count - capacity)
        return Array(tracks[start..<(start + capacity)])
    }

    /// A click on the picture: on a point, select its track; elsewhere, place the selected track's point
    /// here, or start a new track with it when none is selected.
    static func clickInViewer(_ state: inout AppState, column: Int, row: Int) -> [Effect] {
        state.playback = nil
        let mapping = state.graphics.mapping(for: state.media, in: state.layout.viewer)
        guard let source = mapping.sourcePoint(column: column, row: row) else { return [] }
        // Hit test in cells: a point within one cell of the click.
        var best: (FramePoint, Int)?
        for point in state.annotations.framePoints where point.entry.visibility != .outside {
            guard let cell = mapping.cell(sourceX: point.entry.x, sourceY: point.entry.y) else { continue }
            let distance = max(abs(cell.column - column), abs(cell.row - row))
            if distance <= 1 && (best == nil || distance < best!.1) { best = (point, distance) }
        }
        if let (hit, _) = best, hit.track != state.annotations.selected {
            select(&state, hit.track)
            return []
        }
        // A click on a pending prediction highlights its object (a, y, z then act on it).
        if best == nil, var set = state.assist.predictions {
            let near = set.pendingPoints(near: state.frame).compactMap { item -> (Int, Int)? in
                guard let cell = mapping.cell(sourceX: item.point.x, sourceY: item.point.y) else { return nil }
                let distance = max(abs(cell.column - column), abs(cell.row - row))
                return distance <= 1 ? (item.key.object, distance) : nil
            }
            if let (object, _) = near.min(by: { $0.1 < $1.1 }) {
                set.highlighted = object
                state.assist.predictions = set
                state.annotations.revision += 1
                state.message = describePrediction(set, object)
                return []
            }
        }
        let x = min(max(0, source.x), Double(state.media.width))
        let y = min(max(0, source.y), Double(state.media.height))
        if let id = state.annotations.selected {
            return [.edit(.setPoint(id, frame: state.frame, x: x, y: y), selectCreated: false)]
        }
        let entry = PointEntry(frame: state.frame, x: x, y: y)
        return [.edit(.createTrack(NewTrack(label: defaultLabel, entries: [entry])), selectCreated: true)]
    }

    static func select(_ state: inout AppState, _ id: TrackID?) {
        guard state.annotations.selected != id else { return }
        state.annotations.selected = id
        state.annotations.revision += 1
        if state.mode == .move { state.mode = .normal }
    }

    static func selectNext(_ state: inout AppState, forward: Bool) {
        let ids = state.annotations.tracks.map(\.id)
        guard !ids.isEmpty else {
            state.message = "no tracks yet: click the picture or press n"
            return
        }
        guard let current = state.annotations.selected, let index = ids.firstIndex(of: current) else {
            select(&state, forward ? ids.first : ids.last)
            return
        }
        select(&state, ids[(index + (forward ? 1 : ids.count - 1)) % ids.count])
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
