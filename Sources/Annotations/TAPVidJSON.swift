import Foundation

/// TAP-Vid style JSON: for every track a query point `(t, y, x)` at its first visible frame, a position `(x, y)` on
/// every frame (interpolated, or held outside its span, as TAP-Vid requires a coordinate even when occluded) and an
/// occlusion flag per frame. Pixels, origin at the top-left corner of the top-left pixel. A `spotter` section keeps
/// the sparse tracks so the file imports back losslessly.
enum TAPVidJSON {
    static func encode(_ snapshot: ProjectSnapshot) -> [UInt8] {
        let media = snapshot.media
        let frameCount = max(0, media.frameCount)
        let interpolate = media.kind == .video
        let dense = snapshot.tracks.filter { !$0.entries.isEmpty }
        var w = JSONWriter(capacity: 1024 + dense.count * frameCount * 24 + snapshot.pointCount * 40)
        w.raw("{\"format\":\"tapvid-json\",\"version\":1")
        w.key("video")
        w.raw("{\"path\":")
        w.string(media.path)
        w.key("width")
        w.int(media.width)
        w.key("height")
        w.int(media.height)
        w.key("num_frames")
        w.int(frameCount)
        w.key("fps")
        w.number(media.fps)
        w.byte(UInt8(ascii: "}"))
        w.key("coordinates")
        w.string("pixels, origin at the top-left corner of the top-left pixel; query_points are (t, y, x)")
        w.key("query_mode")
        w.string("first")
        w.key("track_ids")
        w.array(dense) { w, track in w.int(Int(track.id.rawValue)) }
        w.key("labels")
        w.array(dense) { w, track in w.string(track.label) }
        w.key("query_points")
        w.array(dense) { w, track in
            let query = track.entries.first { $0.visibility == .visible } ?? track.entries[0]
            w.byte(UInt8(ascii: "["))
            w.int(query.frame)
            w.byte(UInt8(ascii: ","))
            w.number(query.y)
            w.byte(UInt8(ascii: ","))
            w.number(query.x)
            w.byte(UInt8(ascii: "]"))
        }
        var occlusion: [[Bool]] = []
        w.key("target_points")
        w.array(dense) { w, track in
            var flags = [Bool](repeating: true, count: frameCount)
            w.array(0..<frameCount) { w, frame in
                let resolved = track.resolved(at: frame, interpolate: interpolate)
                let position = resolved.map { ($0.entry.x, $0.entry.y) } ?? track.heldPosition(at: frame) ?? (0, 0)
                flags[frame] = resolved?.entry.visibility != .visible
                w.byte(UInt8(ascii: "["))
                w.number(position.0)
                w.byte(UInt8(ascii: ","))
                w.number(position.1)
                w.byte(UInt8(ascii: "]"))
            }
            occlusion.append(flags)
        }
        w.key("occluded")
        w.array(occlusion) { w, flags in w.array(flags) { w, flag in w.bool(flag) } }
        w.key("spotter")
        writeLosslessSection(
            format: "spotter-tapvid", media: media, tracks: snapshot.tracks, queries: snapshot.queries, into: &w)
        w.raw("}\n")
        return w.bytes
    }

    static let knownFields: Set<String> = [
        "format", "version", "video", "coordinates", "query_mode", "track_ids", "labels", "query_points",
        "target_points", "points", "occluded", "spotter",
    ]

    static func decode(_ bytes: [UInt8], path: String, targetMedia: MediaDescriptor?) throws -> ImportedProject {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch let error as JSONSyntaxError {
            let line = bytes.withUnsafeBufferPointer { lineAndColumn(of: error.offset, in: $0).line }
            throw AnnotationError.malformed(path: path, line: line, reason: "invalid JSON: \(error.message)")
        }
        let fail = { (reason: String) in AnnotationError.malformed(path: path, line: 0, reason: reason) }
        guard var object = root.objectValue else { throw fail("a TAP-Vid file must be a JSON object") }
        // tapnet's pickles are keyed by video name: `{name: {video, points, occluded}}`; that one video is read.
        if object["points"] == nil, object["target_points"] == nil, object.fields.count == 1,
            let inner = object.fields[0].value.objectValue, inner["points"] != nil || inner["target_points"] != nil
        {
            object = inner
        }
        var imported = ImportedProject(source: path, media: nil, tracks: [], queries: [])
        let unknown = object.fields.filter { !knownFields.contains($0.key) }
        if let spotter = object["spotter"] {
            guard let section = spotter.objectValue else { throw fail("spotter must be an object") }
            if let media = section["media"] { imported.media = try MediaDescriptor(json: media, fail: fail) }
            let log = UnknownFieldLog()
            (imported.tracks, imported.queries) = try readLosslessSection(section, fail: fail, log: log)
            imported.warnings += log.messages
            // The public fields are checked as strictly as in a file without the section.
            let publicTracks = try foreignTracks(object, targetMedia: imported.media ?? targetMedia, fail: fail)
            let pointed = imported.tracks.filter { !$0.entries.isEmpty }.count
            guard publicTracks.count == pointed else {
                throw fail("target_points has \(publicTracks.count) rows but the spotter section \(pointed) tracks with points")
            }
            if let frames = imported.media?.frameCount, frames > 0,
                let short = publicTracks.firstIndex(where: { $0.entries.count != frames })
            {
                throw fail("point \(short): \(publicTracks[short].entries.count) frames, the video has \(frames)")
            }
        } else {
            imported.tracks = try foreignTracks(object, targetMedia: targetMedia, fail: fail)
        }
        if !unknown.isEmpty {
            if let first = imported.tracks.indices.first {
                // Document-level fields are kept on the first track and written back by the JSON formats.
                imported.tracks[first].extras = Molmo2JSONL.mergeExtras(imported.tracks[first].extras, unknown)
                imported.warnings.append("kept unknown fields: \(unknown.map(\.key).joined(separator: ", "))")
            } else {
                imported.warnings.append("unknown fields \(unknown.map(\.key).joined(separator: ", ")) ignored (no track)")
            }
        }
        return imported
    }

    /// TAP-Vid's normalised points are pixel-centre based (tapnet's generate_tapvid.py stores `(x·W − 0.5) / W`);
    /// Spotter's pixels put 0 at the top-left corner of the first pixel, so an import adds half a pixel.
    static let pixelCentreOffset = 0.5

    private static func foreignTracks(
        _ object: JSONObject, targetMedia: MediaDescriptor?, fail: (String) -> AnnotationError
    ) throws -> [NewTrack] {
        let video = object["video"]?.objectValue
        let width = min(video?["width"]?.intValue ?? targetMedia?.width ?? 0, MediaDescriptor.maximumSide)
        let height = min(video?["height"]?.intValue ?? targetMedia?.height ?? 0, MediaDescriptor.maximumSide)
        let pixelTracks = object["target_points"]?.arrayValue
        guard let positions = pixelTracks ?? object["points"]?.arrayValue else {
            throw fail("a TAP-Vid file needs target_points (pixels) or points (normalized)")
        }
        let normalized = pixelTracks == nil
        if normalized && (width <= 0 || height <= 0) {
            throw fail("normalized points need the video width and height")
        }
        guard let occludedRows = object["occluded"]?.arrayValue, occludedRows.count == positions.count else {
            throw fail("occluded must have one row per point")
        }
        let queries = object["query_points"]?.arrayValue
        if let queries, queries.count != positions.count { throw fail("query_points must have one row per point") }
        let labels = object["labels"]?.arrayValue
        let ids = object["track_ids"]?.arrayValue
        var tracks: [NewTrack] = []
        for (n, row) in positions.enumerated() {
            guard let frames = row.arrayValue, let flags = occludedRows[n].arrayValue, flags.count == frames.count else {
                throw fail("point \(n): positions and occlusion flags differ in length")
            }
            var queryFrame = -1
            if let query = queries?[n].arrayValue, query.count == 3, let t = query[0].doubleValue, t.isFinite,
                abs(t) < Double(MediaDescriptor.maximumFrameCount)
            {
                queryFrame = Int(t.rounded())
            }
            var track = NewTrack(label: labels?[safe: n]?.stringValue ?? "point")
            if let id = ids?[safe: n]?.intValue, id > 0 { track.preferredID = TrackID(Int64(id)) }
            track.entries.reserveCapacity(frames.count)
            for (t, cell) in frames.enumerated() {
                guard let pair = cell.arrayValue, pair.count == 2, var x = pair[0].doubleValue, var y = pair[1].doubleValue,
                    x.isFinite, y.isFinite
                else { throw fail("point \(n) frame \(t): a position must be [x, y]") }
                if normalized {
                    x = x * Double(width) + pixelCentreOffset
                    y = y * Double(height) + pixelCentreOffset
                }
                let occluded: Bool
                switch flags[t] {
                case .bool(let b): occluded = b
                case .number(let v): occluded = v > 0
                default: throw fail("point \(n) frame \(t): occluded must be a boolean")
                }
                track.entries.append(
                    PointEntry(frame: t, x: x, y: y, visibility: occluded ? .occluded : .visible, isKeyframe: t == queryFrame))
            }
            tracks.append(track)
        }
        return tracks
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { index >= 0 && index < count ? self[index] : nil }
}
