import Foundation

// MARK: - Identifiers and per-point state

/// The stable identity of one object/track inside a project; never reused while the track exists.
package struct TrackID: Hashable, Comparable, Sendable, CustomStringConvertible {
    package let rawValue: Int64
    package init(_ rawValue: Int64) { self.rawValue = rawValue }
    package static func < (lhs: TrackID, rhs: TrackID) -> Bool { lhs.rawValue < rhs.rawValue }
    package var description: String { "#\(rawValue)" }
}

/// Whether an object is seen at a frame: visible, hidden behind something (position estimated), or not in the scene.
package enum Visibility: UInt8, Sendable, CaseIterable {
    case visible = 0
    case occluded = 1
    case outside = 2

    /// The word used in files and messages.
    package var name: String {
        switch self {
        case .visible: return "visible"
        case .occluded: return "occluded"
        case .outside: return "outside"
        }
    }

    package init?(name: String) {
        switch name {
        case "visible", "v": self = .visible
        case "occluded", "o": self = .occluded
        case "outside", "x": self = .outside
        default: return nil
        }
    }
}

/// Where the value of a stored point came from. Human values are never replaced by machine output
/// without an explicit accept.
package enum Provenance: UInt8, Sendable, CaseIterable {
    case human = 0
    case model = 1
    case tracker = 2
    case interpolated = 3

    /// The word used in files and messages.
    package var name: String {
        switch self {
        case .human: return "human"
        case .model: return "model"
        case .tracker: return "tracker"
        case .interpolated: return "interpolated"
        }
    }

    package init?(name: String) {
        switch name {
        case "human", "h": self = .human
        case "model", "m": self = .model
        case "tracker", "t": self = .tracker
        case "interpolated", "i": self = .interpolated
        default: return nil
        }
    }

    /// True for values a machine produced (model, tracker, interpolation).
    package var isMachine: Bool { self != .human }
}

/// Who made an edit; recorded in the edit log so correction statistics can tell human work from machine output.
package enum EditActor: UInt8, Sendable, CaseIterable {
    case human = 0
    case model = 1
    case tracker = 2
    case importer = 3

    package var name: String {
        switch self {
        case .human: return "human"
        case .model: return "model"
        case .tracker: return "tracker"
        case .importer: return "importer"
        }
    }

    package init?(name: String) {
        guard let actor = EditActor.allCases.first(where: { $0.name == name }) else { return nil }
        self = actor
    }

    /// The provenance given to points this actor creates when the edit does not say otherwise.
    package var defaultProvenance: Provenance {
        switch self {
        case .human, .importer: return .human
        case .model: return .model
        case .tracker: return .tracker
        }
    }
}

/// A 24-bit display colour of a track.
package struct RGBColor: Hashable, Sendable, CustomStringConvertible {
    package var red: UInt8
    package var green: UInt8
    package var blue: UInt8

    package init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    package init(packed: Int64) {
        red = UInt8((packed >> 16) & 0xFF)
        green = UInt8((packed >> 8) & 0xFF)
        blue = UInt8(packed & 0xFF)
    }

    /// Parses `#rrggbb` (the `#` is optional).
    package init?(hex: String) {
        var text = Substring(hex)
        if text.hasPrefix("#") { text = text.dropFirst() }
        guard text.count == 6, let value = Int64(text, radix: 16) else { return nil }
        self.init(packed: value)
    }

    package var packed: Int64 { Int64(red) << 16 | Int64(green) << 8 | Int64(blue) }

    /// `#rrggbb`, lower case.
    package var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = [UInt8(ascii: "#")]
        for component in [red, green, blue] {
            bytes.append(digits[Int(component >> 4)])
            bytes.append(digits[Int(component & 0xF)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A palette of well-separated colours, assigned to new tracks by id.
    package static let palette: [RGBColor] = [
        0xE6194B, 0x3CB44B, 0xFFE119, 0x4363D8, 0xF58231, 0x911EB4,
        0x42D4F4, 0xF032E6, 0xBFEF45, 0xFABED4, 0x469990, 0xDCBEFF,
        0x9A6324, 0xFFFAC8, 0x800000, 0xAAFFC3, 0x808000, 0xFFD8B1,
    ].map { RGBColor(packed: $0) }

    /// The palette colour for a track id.
    package static func forTrack(_ id: TrackID) -> RGBColor {
        let count = Int64(palette.count)
        let index = ((id.rawValue - 1) % count + count) % count
        return palette[Int(index)]
    }
}

// MARK: - Points and tracks

/// One stored per-frame state of a track: position in source pixels (origin at the top-left corner of the
/// top-left pixel), visibility, where the value came from, and whether the user pinned it as a keyframe.
package struct PointEntry: Equatable, Sendable {
    package var frame: Int
    package var x: Double
    package var y: Double
    package var visibility: Visibility
    package var provenance: Provenance
    package var isKeyframe: Bool

    package init(
        frame: Int, x: Double, y: Double, visibility: Visibility = .visible,
        provenance: Provenance = .human, isKeyframe: Bool = true
    ) {
        self.frame = frame
        self.x = x
        self.y = y
        self.visibility = visibility
        self.provenance = provenance
        self.isKeyframe = isKeyframe
    }

    /// Visibility, provenance and keyframe packed in one byte (the store's `state` column and the edit-log codec).
    var packedState: UInt8 {
        visibility.rawValue | provenance.rawValue << 2 | (isKeyframe ? 0x10 : 0)
    }

    init?(frame: Int, x: Double, y: Double, packedState: UInt8) {
        guard let visibility = Visibility(rawValue: packedState & 0x3),
            let provenance = Provenance(rawValue: (packedState >> 2) & 0x3)
        else { return nil }
        self.init(
            frame: frame, x: x, y: y, visibility: visibility, provenance: provenance,
            isKeyframe: packedState & 0x10 != 0)
    }
}

/// The metadata of a track without its points (what a relabel, rename or recolour changes).
package struct TrackInfo: Equatable, Sendable {
    package var id: TrackID
    package var label: String
    package var name: String
    package var color: RGBColor
    /// Who created the track (a model-created track that a human later corrects counts for correction statistics).
    package var createdBy: EditActor
    /// The recorded query whose answer produced this track, if any.
    package var queryID: Int64?
    /// Unknown fields of an imported record, kept verbatim as a JSON object text and written back on export.
    package var extras: String?

    package init(
        id: TrackID, label: String, name: String = "", color: RGBColor? = nil,
        createdBy: EditActor = .human, queryID: Int64? = nil, extras: String? = nil
    ) {
        self.id = id
        self.label = label
        self.name = name
        self.color = color ?? RGBColor.forTrack(id)
        self.createdBy = createdBy
        self.queryID = queryID
        self.extras = extras
    }
}

/// One object followed through the media: metadata, its stored per-frame entries (sorted by frame, one per frame),
/// and optional ground-truth masks keyed by frame (used by the point-in-mask metrics).
package struct Track: Equatable, Sendable {
    package var info: TrackInfo
    package var entries: [PointEntry]
    package var masks: [Int: RLEMask]

    package init(info: TrackInfo, entries: [PointEntry] = [], masks: [Int: RLEMask] = [:]) {
        self.info = info
        self.entries = entries
        self.masks = masks
    }

    package var id: TrackID { info.id }
    package var label: String { info.label }
    package var name: String { info.name }
    package var color: RGBColor { info.color }

    /// Index of the stored entry at `frame`, or where it would be inserted.
    func entryIndex(atOrAfter frame: Int) -> Int {
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) >> 1
            if entries[mid].frame < frame { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The stored entry at `frame`, if any.
    package func entry(at frame: Int) -> PointEntry? {
        let index = entryIndex(atOrAfter: frame)
        return index < entries.count && entries[index].frame == frame ? entries[index] : nil
    }

    /// First and last stored frame.
    package var frameSpan: ClosedRange<Int>? {
        guard let first = entries.first, let last = entries.last else { return nil }
        return first.frame...last.frame
    }
}

/// A point shown on one frame: the stored entry, or (when `isInterpolated`) a derived ghost point.
package struct FramePoint: Equatable, Sendable {
    package var track: TrackID
    package var entry: PointEntry
    package var isInterpolated: Bool

    package init(track: TrackID, entry: PointEntry, isInterpolated: Bool) {
        self.track = track
        self.entry = entry
        self.isInterpolated = isInterpolated
    }
}

// MARK: - Queries

/// A model query made on the project, recorded for provenance and export: prompt, model, raw answer and timings.
package struct QueryRecord: Equatable, Sendable {
    package var id: Int64
    package var createdAt: Date
    package var prompt: String
    /// The noun phrase the prompt asks about (the `<points>`/`<tracks>` label); groups export records.
    package var label: String
    /// The Molmo2 task the prompt was phrased for (`video_point`, `video_track`, …).
    package var task: String
    package var model: String
    package var answer: String
    /// Named durations in seconds (for example `prefill`, `decode`, `total`) and counters.
    package var timings: [String: Double]
    /// The frames and times the model was shown.
    package var sampling: FrameSampling?
    /// Unknown fields of an imported record, kept as a JSON object text.
    package var extras: String?

    package init(
        id: Int64 = 0, createdAt: Date = Date(), prompt: String, label: String, task: String, model: String,
        answer: String, timings: [String: Double] = [:], sampling: FrameSampling? = nil, extras: String? = nil
    ) {
        self.id = id
        self.createdAt = createdAt
        self.prompt = prompt
        self.label = label
        self.task = task
        self.model = model
        self.answer = answer
        self.timings = timings
        self.sampling = sampling
        self.extras = extras
    }
}
