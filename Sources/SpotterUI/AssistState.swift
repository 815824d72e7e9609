import Annotations
import Assist

/// How the text typed into the query pane becomes a question (molmo2-spec §8.4): as the label of a template, or
/// as a question sent as written.
package enum QueryTemplate: String, CaseIterable, Equatable, Sendable {
    case point
    case count
    case track
    /// Continue the selected track's point on this frame (single-point tracking, spec §8.3).
    case trackPoint = "track this point"
    case question

    /// What the typed text is, shown before it.
    package var caption: String {
        switch self {
        case .point: return "point to"
        case .count: return "count"
        case .track: return "track"
        case .trackPoint: return "track point"
        case .question: return "ask"
        }
    }

    package var next: QueryTemplate {
        let all = QueryTemplate.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }
}

/// Which frames a question is about.
package enum QueryScope: String, CaseIterable, Equatable, Sendable {
    case frame = "this frame"
    case range = "range [ ]"
    case wholeVideo = "whole video"

    package var next: QueryScope {
        let all = QueryScope.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }
}

/// A question on its way to the model, decided by the reducer (pure) and run by the job center.
package struct AskRequest: Equatable, Sendable {
    package var task: GroundingTask
    package var scope: GroundingScope
    /// The label the answer's objects get (the template's label, the track's label, or the question).
    package var label: String
    /// The text as typed, for the history.
    package var typed: String
    package var constrain: Bool
    /// Continue this track: the answer is merged into it after `frame` instead of shown as predictions.
    package var continuing: TrackID?
    /// Show the answer as predictions whose accept joins this track (track this point from the query pane).
    package var acceptInto: TrackID?
    /// The frame the question was asked on.
    package var frame: Int
    /// False for a still image (its records are image tasks).
    package var isVideo = true

    package init(
        task: GroundingTask, scope: GroundingScope, label: String, typed: String, constrain: Bool,
        continuing: TrackID? = nil, acceptInto: TrackID? = nil, frame: Int
    ) {
        self.acceptInto = acceptInto
        self.task = task
        self.scope = scope
        self.label = label
        self.typed = typed
        self.constrain = constrain
        self.continuing = continuing
        self.frame = frame
    }

    /// The Molmo2 task name a query record stores (what the JSONL exporter writes).
    package var recordTask: String {
        guard isVideo else { return "image_point" }
        switch task {
        case .point, .question: return "video_point"
        case .count: return "video_count"
        case .track, .trackPoint: return "video_track"
        }
    }
}

/// One predicted point, addressed by its object (index in the answer) and frame.
package struct PredictionKey: Hashable, Sendable {
    package var object: Int
    package var frame: Int

    package init(object: Int, frame: Int) {
        self.object = object
        self.frame = frame
    }
}

/// A model's answer shown on the frames until the person accepts or rejects its points.
package struct PredictionSet: Equatable, Sendable {
    package var question: String
    package var label: String
    package var task: String
    package var model: String
    package var answer: String
    package var timings: [String: Double]
    package var sampling: FrameSampling?
    /// The frames the model was shown, ascending (predictions sit on these).
    package var shownFrames: [Int]
    package var objects: [PredictedObject]
    /// Set once the query is recorded in the project (at the first accept).
    package var queryID: Int64?
    /// Points the person rejected.
    package var rejected: Set<PredictionKey> = []
    /// Points the project holds (derived from the store after every change, so undo brings them back).
    package var accepted: Set<PredictionKey> = []
    /// The track each object was accepted into, so later accepts of the same object join it.
    package var trackOfObject: [Int: TrackID] = [:]
    /// The object the keys act on.
    package var highlighted: Int?
    package var diagnostics: [String] = []

    package init(
        question: String, label: String, task: String, model: String, answer: String, timings: [String: Double],
        sampling: FrameSampling?, shownFrames: [Int], objects: [PredictedObject]
    ) {
        self.question = question
        self.label = label
        self.task = task
        self.model = model
        self.answer = answer
        self.timings = timings
        self.sampling = sampling
        self.shownFrames = shownFrames.sorted()
        self.objects = objects
        highlighted = objects.isEmpty ? nil : 0
    }

    package func isPending(_ key: PredictionKey) -> Bool { !rejected.contains(key) && !accepted.contains(key) }

    /// Pending points of object `index`.
    package func pendingPoints(of index: Int) -> [PredictedPoint] {
        guard objects.indices.contains(index) else { return [] }
        return objects[index].points.filter { isPending(PredictionKey(object: index, frame: $0.frame)) }
    }

    /// Which pending points a decision covers.
    package enum Choice: Equatable, Sendable {
        case all
        case highlighted
        /// The highlighted object's point on the shown frame nearest to `near`.
        case highlightedPoint(near: Int)
    }

    package func pendingKeys(_ choice: Choice) -> [PredictionKey] {
        func keys(_ i: Int) -> [PredictionKey] { pendingPoints(of: i).map { PredictionKey(object: i, frame: $0.frame) } }
        switch choice {
        case .all:
            return objects.indices.flatMap(keys)
        case .highlighted:
            return highlighted.map(keys) ?? []
        case .highlightedPoint(let frame):
            guard let i = highlighted, let shown = nearestShownFrame(to: frame) else { return [] }
            return keys(i).filter { $0.frame == shown }
        }
    }

    package var pendingCount: Int { objects.indices.reduce(0) { $0 + pendingPoints(of: $1).count } }

    /// Objects that still have pending points.
    package var pendingObjects: [Int] { objects.indices.filter { !pendingPoints(of: $0).isEmpty } }

    /// The shown frame nearest to `frame` (predictions of a frame between samples are those of the nearest sample).
    package func nearestShownFrame(to frame: Int) -> Int? {
        shownFrames.min { abs($0 - frame) < abs($1 - frame) || (abs($0 - frame) == abs($1 - frame) && $0 < $1) }
    }

    /// Pending points to draw on `frame`: those of the nearest shown frame, with whether that frame is exactly it.
    package func pendingPoints(near frame: Int) -> [(key: PredictionKey, point: PredictedPoint, exact: Bool)] {
        guard let shown = nearestShownFrame(to: frame) else { return [] }
        var out: [(PredictionKey, PredictedPoint, Bool)] = []
        for (index, object) in objects.enumerated() {
            for point in object.points where point.frame == shown {
                let key = PredictionKey(object: index, frame: point.frame)
                if isPending(key) { out.append((key, point, shown == frame)) }
            }
        }
        return out
    }
}

/// What the viewer knows about the model side: the backend, the query pane's settings and history, the question
/// in flight with its streamed answer, and the predictions waiting for a decision.
package struct AssistState: Equatable, Sendable {
    /// The backend's name; nil when Spotter was started without a model.
    package var backend: String?
    package var template: QueryTemplate = .point
    package var scope: QueryScope = .wholeVideo
    package var maxFPS: Int = 2
    package var maxFrames: Int = 16
    /// Hold the answer to the Molmo2 grammar while it is generated (backends that can).
    package var constrain = false
    /// The range a `range` question covers, set with `[` and `]`.
    package var rangeStart: Int?
    package var rangeEnd: Int?
    /// Questions asked, oldest first (↑ in the query pane walks back through them).
    package var history: [String] = []
    /// Position in `history` while browsing it with ↑/↓.
    package var historyIndex: Int?
    /// The question in flight.
    package var running: AskRequest?
    /// The answer so far, streamed while it is generated, kept after it ends.
    package var answerText = ""
    package var predictions: PredictionSet?
    /// Rejections in the order made, for undo (the store's own log undoes accepts).
    package var rejectionLog: [[PredictionKey]] = []
    package var rejectionRedo: [[PredictionKey]] = []

    package init() {}

    package static let fpsChoices = [1, 2, 4]
    package static let frameChoices = [4, 8, 16, 32, 64, 128, 384]

    /// The one line shown when no model is configured.
    package static let noModelHint =
        "no model: open with --model DIR|HF-ID, or --endpoint URL --model-name NAME (vLLM server)"

    /// The settings line of the query pane.
    package var settingsLine: String {
        let scopeText: String
        switch (template, scope) {
        case (.trackPoint, _):
            scopeText = "from this frame"
        case (_, .range):
            if let a = rangeStart, let b = rangeEnd { scopeText = "frames \(min(a, b))…\(max(a, b))" } else { scopeText = "range (set [ ])" }
        default:
            scopeText = scope.rawValue
        }
        let sampling = scope == .frame && template != .trackPoint ? "" : " \(maxFPS) fps ≤\(maxFrames)"
        return "Tab \(template.rawValue) · ^O \(scopeText)\(sampling) · ^F fps ^N frames · ^G grammar \(constrain ? "on" : "off") · ↑↓ history"
    }
}
