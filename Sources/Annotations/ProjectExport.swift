import Basics
import Foundation

/// The interchange formats Spotter writes and reads back.
package enum AnnotationFormat: String, CaseIterable, Sendable {
    /// One JSON line per (media, label): the Molmo2 training/eval record (molmo2-spec §9.5) plus the fields of the
    /// package Molmo2 datasets and a lossless `spotter` section.
    case molmo2
    /// Molmo2's evaluation layouts (`Molmo2VideoPointEval`, `Molmo2VideoTrackEval` rows), one JSON line per label.
    case molmo2Evaluation = "molmo2-eval"
    /// CVAT for video 1.1 XML, one single-point track per object.
    case cvat
    /// TAP-Vid style JSON: query points, per-point per-frame positions and occlusion.
    case tapvid

    /// Guesses the format of a file from its name and first bytes.
    package static func detect(path: String, bytes: [UInt8]) -> AnnotationFormat? {
        let lower = path.lowercased()
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") { return .molmo2 }
        if lower.hasSuffix(".xml") { return .cvat }
        let head = String(decoding: bytes.prefix(4096), as: UTF8.self)
        if head.hasPrefix("<?xml") || head.contains("<annotations") { return .cvat }
        // TAP-Vid: Spotter's JSON, or tapnet's pickle layout as JSON (`points` normalised, `occluded`).
        if head.contains("\"tapvid") || head.contains("\"target_points\"") || head.contains("\"query_points\"")
            || (head.contains("\"occluded\"") && head.contains("\"points\"") && !head.contains("\"task\""))
            || head.contains("\"video\": [") || head.contains("\"video\":[")
        {
            return .tapvid
        }
        if head.hasPrefix("{") { return .molmo2 }
        return nil
    }
}

/// Choices an export can make.
package struct ExportOptions: Sendable {
    /// Molmo2: the task of every record (`video_point`, `video_count`, `video_track`, `image_point`,
    /// `multi_image_point`) instead of the one inferred per label.
    package var task: String?
    /// CVAT: the `dumped` date written into the file (fixed in tests for byte-exact output).
    package var date: Date

    package init(task: String? = nil, date: Date = Date()) {
        self.task = task
        self.date = date
    }
}

/// What an export wrote.
package struct ExportReport: Equatable, Sendable {
    package var path: String
    package var format: AnnotationFormat
    /// Records (Molmo2 lines), tracks (CVAT) or points (TAP-Vid).
    package var items: Int
    package var points: Int
    /// Coordinates outside the frame that had to be clamped for the 0–1000 answer text.
    package var clamped: Int
    package var bytes: Int
    /// What the target tool will read differently from Spotter (snapped points, rates it filters out).
    package var warnings: [String] = []
}

/// Writes projects to files and reads files back into importable content.
package enum AnnotationExchange {
    /// Encodes a snapshot in a format.
    package static func encode(
        _ snapshot: ProjectSnapshot, format: AnnotationFormat, options: ExportOptions = ExportOptions()
    ) throws -> (bytes: [UInt8], items: Int, clamped: Int, warnings: [String]) {
        switch format {
        case .molmo2:
            let result = try Molmo2JSONL.encode(snapshot, options: options)
            return (result.bytes, result.records, result.clamped, result.warnings)
        case .molmo2Evaluation:
            let result = try Molmo2JSONL.encodeEvaluation(snapshot, options: options)
            return (result.bytes, result.records, 0, result.warnings)
        case .cvat:
            let bytes = CVATVideoXML.encode(snapshot, options: options)
            return (bytes, snapshot.tracks.count, 0, [])
        case .tapvid:
            let bytes = TAPVidJSON.encode(snapshot)
            return (bytes, snapshot.tracks.count, 0, [])
        }
    }

    /// Exports a snapshot to `path` atomically (temporary file, fsync, rename).
    @discardableResult
    package static func export(
        _ snapshot: ProjectSnapshot, format: AnnotationFormat, to path: String, options: ExportOptions = ExportOptions()
    ) throws -> ExportReport {
        let encoded = try encode(snapshot, format: format, options: options)
        try AtomicFileWriter.write(encoded.bytes, to: path)
        return ExportReport(
            path: path, format: format, items: encoded.items, points: snapshot.pointCount, clamped: encoded.clamped,
            bytes: encoded.bytes.count, warnings: encoded.warnings)
    }

    /// Parses a file completely (nothing is imported if any part is malformed; errors name file:line).
    /// `targetMedia` places foreign data that does not describe its media (frame sizes, frame times).
    package static func read(
        path: String, format: AnnotationFormat? = nil, targetMedia: MediaDescriptor? = nil,
        refuseOtherShapes: Bool = false
    ) throws -> ImportedProject {
        let bytes = try readFileBytes(path)
        guard let format = format ?? AnnotationFormat.detect(path: path, bytes: bytes) else {
            throw AnnotationError.malformed(path: path, line: 0, reason: "unknown annotation format (use --format)")
        }
        return try decode(bytes, path: path, format: format, targetMedia: targetMedia, refuseOtherShapes: refuseOtherShapes)
    }

    package static func decode(
        _ bytes: [UInt8], path: String, format: AnnotationFormat, targetMedia: MediaDescriptor? = nil,
        refuseOtherShapes: Bool = false
    ) throws -> ImportedProject {
        switch format {
        case .molmo2, .molmo2Evaluation: return try Molmo2JSONL.decode(bytes, path: path, targetMedia: targetMedia)
        case .cvat:
            return try CVATVideoXML.decode(
                bytes, path: path, targetMedia: targetMedia, refuseOtherShapes: refuseOtherShapes)
        case .tapvid: return try TAPVidJSON.decode(bytes, path: path, targetMedia: targetMedia)
        }
    }

    /// Reads a file and adds it to a store in one transaction and one undo step. Refuses a file that describes other
    /// media (fingerprint) unless `force`; clamps coordinates to the frame and reports how many in `warnings`.
    @discardableResult
    package static func importFile(
        path: String, into store: ProjectStore, format: AnnotationFormat? = nil, force: Bool = false,
        policy: ImportPolicy = .add, refuseOtherShapes: Bool = false
    ) throws -> (result: EditResult, imported: ImportedProject) {
        var imported = try read(
            path: path, format: format, targetMedia: store.media, refuseOtherShapes: refuseOtherShapes)
        if let media = imported.media {
            let differences = store.media.fingerprint.differences(from: media.fingerprint)
            if !differences.isEmpty {
                if !force {
                    throw AnnotationError.fingerprintMismatch(path: path, reason: differences.joined(separator: "; "))
                }
                imported.warnings.append("imported despite a media fingerprint mismatch: \(differences.joined(separator: "; "))")
            }
        } else {
            imported.warnings.append("the file does not describe its media; no fingerprint check was possible")
        }
        imported.clamp(to: store.media)
        try imported.checkFrames(against: store.media)
        let applied = imported.applying(policy, existingTracks: store.tracks, existingQueries: store.queries)
        imported = applied.content
        if applied.skippedTracks + applied.skippedQueries > 0 {
            imported.warnings.append(
                "\(applied.skippedTracks) tracks and \(applied.skippedQueries) queries already in the project were skipped")
        }
        if !applied.replacing.isEmpty {
            imported.warnings.append("\(applied.replacing.count) existing tracks replaced by the file's tracks of the same id")
        }
        let result = try store.importContent(
            imported, replaceExisting: policy == .replace, replacingTracks: applied.replacing)
        return (result, imported)
    }
}

extension ImportedProject {
    /// Clamps every position into its frame (0…W, 0…H) and adds a warning with the count.
    package mutating func clamp(to media: MediaDescriptor) {
        var clamped = 0
        for t in tracks.indices {
            for e in tracks[t].entries.indices {
                let entry = tracks[t].entries[e]
                let size = media.frameSize(entry.frame)
                let x = min(max(entry.x, 0), Double(size.width))
                let y = min(max(entry.y, 0), Double(size.height))
                if x != entry.x || y != entry.y {
                    clamped += 1
                    tracks[t].entries[e].x = x
                    tracks[t].entries[e].y = y
                }
            }
        }
        if clamped > 0 { warnings.append("\(clamped) out-of-range coordinates were clamped to the frame") }
    }

    /// Refuses frames the media does not have.
    func checkFrames(against media: MediaDescriptor) throws {
        guard media.frameCount > 0 else { return }
        for track in tracks {
            for entry in track.entries where entry.frame < 0 || entry.frame >= media.frameCount {
                throw AnnotationError.malformed(
                    path: source, line: 0,
                    reason: "track \"\(track.label)\" has a point on frame \(entry.frame), outside 0..<\(media.frameCount)")
            }
        }
    }
}

// MARK: - Shared pieces of the JSON formats

/// Tracks grouped by label, with the queries asked about that label.
struct LabelGroup {
    var label: String
    var tracks: [Track]
    var queries: [QueryRecord]
}

func labelGroups(_ snapshot: ProjectSnapshot) -> [LabelGroup] {
    var order: [String] = []
    var groups: [String: LabelGroup] = [:]
    for track in snapshot.tracks {
        if groups[track.label] == nil {
            order.append(track.label)
            groups[track.label] = LabelGroup(label: track.label, tracks: [], queries: [])
        }
        groups[track.label]?.tracks.append(track)
    }
    for query in snapshot.queries {
        if groups[query.label] == nil {
            order.append(query.label)
            groups[query.label] = LabelGroup(label: query.label, tracks: [], queries: [])
        }
        groups[query.label]?.queries.append(query)
    }
    return order.compactMap { groups[$0] }
}

/// The `spotter` section of the JSON formats, from which an import restores the project losslessly:
/// `{"format":…,"version":1,"media":…,"tracks":[…],"queries":[…]}`, without `media` when it is nil.
func writeLosslessSection(
    format: StaticString, media: MediaDescriptor?, tracks: [Track], queries: [QueryRecord], into w: inout JSONWriter
) {
    w.raw("{\"format\":\"")
    w.raw(format)
    w.raw("\",\"version\":1")
    if let media {
        w.key("media")
        media.writeJSON(into: &w)
    }
    w.key("tracks")
    w.array(tracks) { w, track in writeLosslessTrack(track, into: &w) }
    w.key("queries")
    w.array(queries) { w, query in query.writeJSON(into: &w) }
    w.byte(UInt8(ascii: "}"))
}

/// The tracks and queries of a `spotter` section (see `writeLosslessSection`).
func readLosslessSection(_ section: JSONObject, fail: (String) -> AnnotationError, log: UnknownFieldLog) throws -> (
    tracks: [NewTrack], queries: [QueryRecord]
) {
    let tracks = try (section["tracks"]?.arrayValue ?? []).map { try readLosslessTrack($0, fail: fail, log: log) }
    let queries = try (section["queries"]?.arrayValue ?? []).map { try QueryRecord(json: $0, fail: fail) }
    return (tracks, queries)
}

/// Lossless JSON of a track: `entries` rows are `[frame, x, y, visibility, provenance, keyframe]` with one-letter
/// codes (v/o/x; h/m/t/i; 1/0).
func writeLosslessTrack(_ track: Track, into w: inout JSONWriter) {
    w.byte(UInt8(ascii: "{"))
    w.key("id", first: true)
    w.int(Int(track.id.rawValue))
    w.key("label")
    w.string(track.label)
    w.key("name")
    w.string(track.name)
    w.key("color")
    w.string(track.color.description)
    w.key("created_by")
    w.string(track.info.createdBy.name)
    w.key("query_id")
    if let query = track.info.queryID { w.int(Int(query)) } else { w.raw("null") }
    w.key("extras")
    if let extras = track.info.extras { w.rawString(extras) } else { w.raw("null") }
    w.key("entries")
    let visibilityCodes: [StaticString] = ["\"v\",\"", "\"o\",\"", "\"x\",\""]
    let provenanceCodes: [StaticString] = ["h\",", "m\",", "t\",", "i\","]
    w.array(track.entries) { w, entry in
        w.byte(UInt8(ascii: "["))
        w.int(entry.frame)
        w.byte(UInt8(ascii: ","))
        w.number(entry.x)
        w.byte(UInt8(ascii: ","))
        w.number(entry.y)
        w.byte(UInt8(ascii: ","))
        w.raw(visibilityCodes[Int(entry.visibility.rawValue)])
        w.raw(provenanceCodes[Int(entry.provenance.rawValue)])
        w.byte(entry.isKeyframe ? UInt8(ascii: "1") : UInt8(ascii: "0"))
        w.byte(UInt8(ascii: "]"))
    }
    if !track.masks.isEmpty {
        w.key("masks")
        w.array(track.masks.sorted { $0.key < $1.key }) { w, item in
            let (frame, mask) = item
            w.raw("{\"frame\":")
            w.int(frame)
            w.raw(",\"size\":[")
            w.int(mask.height)
            w.byte(UInt8(ascii: ","))
            w.int(mask.width)
            w.raw("],\"counts\":")
            w.string(mask.compressedCounts)
            w.byte(UInt8(ascii: "}"))
        }
    }
    w.byte(UInt8(ascii: "}"))
}

/// Collects "unknown field" reports from nested objects, once per (context, field).
final class UnknownFieldLog {
    private(set) var messages: [String] = []
    private var seen: Set<String> = []

    func check(_ object: JSONObject, known: Set<String>, context: String) {
        for key in object.keys where !known.contains(key) {
            let message = "unknown field \"\(key)\" in \(context) ignored"
            if seen.insert(message).inserted { messages.append(message) }
        }
    }
}

private let losslessTrackFields: Set<String> = [
    "id", "label", "name", "color", "created_by", "query_id", "extras", "entries", "masks",
]

func readLosslessTrack(_ value: JSONValue, fail: (String) -> AnnotationError, log: UnknownFieldLog? = nil) throws
    -> NewTrack
{
    guard let object = value.objectValue else { throw fail("spotter.tracks must hold objects") }
    log?.check(object, known: losslessTrackFields, context: "a spotter track")
    guard let id = object["id"]?.intValue, id > 0 else { throw fail("a track needs a positive integer id") }
    guard let label = object["label"]?.stringValue else { throw fail("track \(id) needs a label") }
    var track = NewTrack(preferredID: TrackID(Int64(id)), label: label)
    track.name = object["name"]?.stringValue ?? ""
    if let colorText = object["color"]?.stringValue {
        guard let color = RGBColor(hex: colorText) else { throw fail("track \(id) has an invalid colour \(colorText)") }
        track.color = color
    }
    if let query = object["query_id"]?.intValue { track.queryID = Int64(query) }
    if let actor = object["created_by"]?.stringValue {
        guard let parsed = EditActor(name: actor) else { throw fail("track \(id) has an unknown created_by \(actor)") }
        track.createdBy = parsed
    }
    if let extras = object["extras"], !extras.isNull {
        guard extras.objectValue != nil else { throw fail("track \(id) extras must be an object") }
        track.extras = extras.jsonText
    }
    guard let rows = object["entries"]?.arrayValue else { throw fail("track \(id) needs an entries array") }
    track.entries.reserveCapacity(rows.count)
    for row in rows {
        guard let cells = row.arrayValue, cells.count == 6, let frame = cells[0].intValue, frame >= 0,
            let x = cells[1].doubleValue, let y = cells[2].doubleValue, x.isFinite, y.isFinite,
            let visibilityCode = cells[3].stringValue, let visibility = Visibility(name: visibilityCode),
            let provenanceCode = cells[4].stringValue, let provenance = Provenance(name: provenanceCode),
            let key = cells[5].intValue, key == 0 || key == 1
        else { throw fail("track \(id) has a malformed entry (expected [frame, x, y, v|o|x, h|m|t|i, 0|1])") }
        track.entries.append(
            PointEntry(frame: frame, x: x, y: y, visibility: visibility, provenance: provenance, isKeyframe: key == 1))
    }
    for item in object["masks"]?.arrayValue ?? [] {
        guard let mask = item.objectValue, let frame = mask["frame"]?.intValue,
            let parsed = try readRLE(item, fail: fail)
        else { throw fail("track \(id) has a malformed mask") }
        track.masks[frame] = parsed
    }
    return track
}

/// Reads a COCO RLE object `{size: [h, w], counts: "…" | [runs]}`.
func readRLE(_ value: JSONValue, fail: (String) -> AnnotationError) throws -> RLEMask? {
    guard let object = value.objectValue, let size = object["size"]?.arrayValue else { return nil }
    guard size.count == 2, let height = size[0].intValue, let width = size[1].intValue, width > 0, height > 0,
        width <= RLEMask.maximumSide, height <= RLEMask.maximumSide
    else { throw fail("an RLE size must be [height, width] with sides from 1 to \(RLEMask.maximumSide)") }
    if let text = object["counts"]?.stringValue {
        guard let mask = RLEMask(width: width, height: height, compressedCounts: text) else {
            throw fail("invalid RLE counts string")
        }
        return mask
    }
    guard let runs = object["counts"]?.arrayValue else { return nil }
    var counts: [Int] = []
    for run in runs {
        guard let n = run.intValue, n >= 0 else { throw fail("invalid RLE run") }
        counts.append(n)
    }
    guard RLEMask.runsFit(counts, width: width, height: height) else {
        throw fail("RLE runs do not fit a \(width)×\(height) mask")
    }
    return RLEMask(width: width, height: height, counts: counts)
}
