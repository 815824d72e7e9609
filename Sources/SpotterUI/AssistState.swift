import Annotations
import Assist

/// How the text typed into the query pane becomes a question (molmo2-spec §8.4): as the label of a template, or
/// as a question sent as written.
public enum QueryTemplate: String, CaseIterable, Equatable, Sendable {
    case point
    case count
    case track
    /// Continue the selected track's point on this frame (single-point tracking, spec §8.3).
    case trackPoint = "track this point"
    case question

    /// What the typed text is, shown before it.
    public var caption: String {
        switch self {
        case .point: return "point to"
        case .count: return "count"
        case .track: return "track"
        case .trackPoint: return "track point"
        case .question: return "ask"
        }
    }

    public var next: QueryTemplate {
        let all = QueryTemplate.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }
}

/// Which frames a question is about.
public enum QueryScope: String, CaseIterable, Equatable, Sendable {
    case frame = "this frame"
    case range = "range [ ]"
    case wholeVideo = "whole video"

    public var next: QueryScope {
        let all = QueryScope.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }
}

/// A question on its way to the model, decided by the reducer (pure) and run by the job center.
public struct AskRequest: Equatable, Sendable {
    public var task: GroundingTask
    public var scope: GroundingScope
    /// The label the answer's objects get (the template's label, the track's label, or the question).
    public var label: String
    /// The text as typed, for the history.
    public var typed: String
    public var constrain: Bool
    /// Continue this track: the answer is merged into it after `frame` instead of shown as predictions.
    public var continuing: TrackID?
    /// Show the answer as predictions whose accept joins this track (track this point from the query pane).
    public var acceptInto: TrackID?
    /// The frame the question was asked on.
    public var frame: Int
    /// False for a still image (its records are image tasks).
    public var isVideo = true

    public init(
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
    public var recordTask: String {
        guard isVideo else { return "image_point" }
        switch task {
        case .point, .question: return "video_point"
        case .count: return "video_count"
        case .track, .trackPoint: return "video_track"
        }
    }
}

/// One predicted point, addressed by its object (index in the answer) and frame.
public struct PredictionKey: Hashable, Sendable {
    public var object: Int
    public var frame: Int

    public init(object: Int, frame: Int) {
        self.object = object
        self.frame = frame
    }
}

/// A model's answer shown on the frames until the person accepts or rejects its points.
public struct PredictionSet: Equatable, Sendable {
    public var question: String
    public var label: String
    public var task: String
    public var model: String
    public var answer: String
    public var timings: [String: Double]
    public var sampling: FrameSampling?
    /// The frames the model was shown, ascending (predictions sit on these).
    public var shownFrames: [Int]
    public var objects: [PredictedObject]
    /// Set once the query is recorded in the project (at the first accept).
    public var queryID: Int64?
    /// Points the person rejected.
    public var rejected: Set<PredictionKey> = []
    /// Points the project holds (derived from the store after every change, so undo brings them back).
    public var accepted: Set<PredictionKey> = []
    /// The track each object was accepted into, so later accepts of the same object join it.
    public var trackOfObject: [Int: TrackID] = [:]
    /// The object the keys act on.
    public var highlighted: Int?
    public var diagnostics: [String] = []

    public init(
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

    public func isPending(_ key: PredictionKey) -> Bool { !rejected.contains(key) && !accepted.contains(key) }

    /// Pending points of object `index`.
    public func pendingPoints(of index: Int) -> [PredictedPoint] {
        guard objects.indices.contains(index) else { return [] }
        return objects[index].points.filter { isPending(PredictionKey(object: index, frame: $0.frame)) }
    }

    /// Which pending points a decision covers.
    public enum Choice: Equatable, Sendable {
        case all
        case highlighted
        /// The highlighted object's point on the shown frame nearest to `near`.
        case highlightedPoint(near: Int)
    }

    public func pendingKeys(_ choice: Choice) -> [PredictionKey] {
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

    public var pendingCount: Int { objects.indices.reduce(0) { $0 + pendingPoints(of: $1).count } }

    /// Objects that still have pending points.
    public var pendingObjects: [Int] { objects.indices.filter { !pendingPoints(of: $0).isEmpty } }

    /// The shown frame nearest to `frame` (predictions of a frame between samples are those of the nearest sample).
    public func nearestShownFrame(to frame: Int) -> Int? {
        shownFrames.min { abs($0 - frame) < abs($1 - frame) || (abs($0 - frame) == abs($1 - frame) && $0 < $1) }
    }

    /// Pending points to draw on `frame`: those of the nearest shown frame, with whether that frame is exactly it.
    public func pendingPoints(near frame: Int) -> [(key: PredictionKey, point: PredictedPoint, exact: Bool)] {
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
public struct AssistState: Equatable, Sendable {
    /// The backend's name; nil when Spotter was started without a model.
    public var backend: String?
    public var template: QueryTemplate = .point
    public var scope: QueryScope = .wholeVideo
    public var maxFPS: Int = 2
    public var maxFrames: Int = 16
    /// Hold the answer to the Molmo2 grammar while it is generated (backends that can).
    public var constrain = false
    /// The range a `range` question covers, set with `[` and `]`.
    public var rangeStart: Int?
    public var rangeEnd: Int?
    /// Questions asked, oldest first (↑ in the query pane walks back through them).
    public var history: [String] = []
    /// Position in `history` while browsing it with ↑/↓.
    public var historyIndex: Int?
    /// The question in flight.
    public var running: AskRequest?
    /// The answer so far, streamed while it is generated, kept after it ends.
    public var answerText = ""
    public var predictions: PredictionSet?
    /// Rejections in the order made, for undo (the store's own log undoes accepts).
    public var rejectionLog: [[PredictionKey]] = []
    public var rejectionRedo: [[PredictionKey]] = []

    public init() {}

    public static let fpsChoices = [1, 2, 4]
    public static let frameChoices = [4, 8, 16, 32, 64, 128, 384]

    /// The one line shown when no model is configured.
    public static let noModelHint =
        "no model: open with --model DIR|HF-ID, or --endpoint URL --model-name NAME (vLLM server)"

    /// The settings line of the query pane.
    public var settingsLine: String {
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
