import Foundation

/// CVAT for video 1.1 XML. Every object is a track of single-point `points` shapes, one per stored entry, all marked
/// `keyframe="1"` because CVAT's importer keeps only keyframes and re-interpolates the rest (linear for one-point
/// shapes, held before an outside keyframe — the same rules Spotter uses). A track that ends before the last frame
/// gets an `outside="1"` shape one frame later, since CVAT would otherwise hold it to the end. Spotter's own facts
/// (provenance, keyframe pin, colour, name, media fingerprint, queries) travel in extra attributes and elements that
/// CVAT ignores, so files round-trip losslessly.
enum CVATVideoXML {
    // MARK: - Writing

    static func encode(_ snapshot: ProjectSnapshot, options: ExportOptions) -> [UInt8] {
        let media = snapshot.media
        let stem = URL(fileURLWithPath: media.path).deletingPathExtension().lastPathComponent
        let date = cvatDate(options.date)
        let lastFrame = max(0, media.frameCount - 1)
        var out: [UInt8] = []
        out.reserveCapacity(4096 + snapshot.pointCount * 200)
        func line(_ text: String) {
            out.append(contentsOf: text.utf8)
            out.append(0x0A)
        }
        line(#"<?xml version="1.0" encoding="utf-8"?>"#)
        line("<annotations>")
        line("  <version>1.1</version>")
        line("  <meta>")
        line("    <task>")
        line("      <id>0</id>")
        line("      <name>\(escape(stem))</name>")
        line("      <size>\(media.frameCount)</size>")
        line("      <mode>interpolation</mode>")
        line("      <overlap>0</overlap>")
        line("      <bugtracker></bugtracker>")
        line("      <created>\(date)</created>")
        line("      <updated>\(date)</updated>")
        line("      <subset>default</subset>")
        line("      <start_frame>0</start_frame>")
        line("      <stop_frame>\(lastFrame)</stop_frame>")
        line("      <frame_filter></frame_filter>")
        line("      <segments>")
        line("        <segment>")
        line("          <id>0</id>")
        line("          <start>0</start>")
        line("          <stop>\(lastFrame)</stop>")
        line("          <url></url>")
        line("        </segment>")
        line("      </segments>")
        line("      <labels>")
        var labelColors: [(String, RGBColor)] = []
        for track in snapshot.tracks where !labelColors.contains(where: { $0.0 == track.label }) {
            labelColors.append((track.label, track.color))
        }
        for (label, color) in labelColors {
            line("        <label>")
            line("          <name>\(escape(label))</name>")
            line("          <color>\(color)</color>")
            line("          <type>points</type>")
            line("          <attributes>")
            line("            <attribute>")
            line("              <name>provenance</name>")
            line("              <mutable>True</mutable>")
            line("              <input_type>select</input_type>")
            line("              <default_value>human</default_value>")
            line("              <values>human\nmodel\ntracker\ninterpolated</values>")
            line("            </attribute>")
            line("            <attribute>")
            line("              <name>spotter_keyframe</name>")
            line("              <mutable>True</mutable>")
            line("              <input_type>checkbox</input_type>")
            line("              <default_value>true</default_value>")
            line("              <values>true\nfalse</values>")
            line("            </attribute>")
            line("            <attribute>")
            line("              <name>spotter_position</name>")
            line("              <mutable>True</mutable>")
            line("              <input_type>text</input_type>")
            line("              <default_value></default_value>")
            line("              <values></values>")
            line("            </attribute>")
            line("          </attributes>")
            line("        </label>")
        }
        line("      </labels>")
        line("      <original_size>")
        line("        <width>\(media.width)</width>")
        line("        <height>\(media.height)</height>")
        line("      </original_size>")
        line("      <source>\(escape(media.path))</source>")
        line("    </task>")
        line("    <dumped>\(date)</dumped>")
        line("    <spotter_media>\(escape(media.jsonText))</spotter_media>")
        if !snapshot.queries.isEmpty {
            var w = JSONWriter()
            w.array(snapshot.queries) { w, query in query.writeJSON(into: &w) }
            line("    <spotter_queries>\(escape(w.text))</spotter_queries>")
        }
        line("  </meta>")
        for track in snapshot.tracks {
            var attributes =
                "id=\"\(track.id.rawValue)\" label=\"\(escape(track.label))\" source=\"\(source(of: track.info.createdBy))\""
                + " spotter_name=\"\(escape(track.name))\" spotter_color=\"\(track.color)\""
            if let query = track.info.queryID { attributes += " spotter_query_id=\"\(query)\"" }
            if let extras = track.info.extras { attributes += " spotter_extras=\"\(escape(extras))\"" }
            if !track.masks.isEmpty {
                var w = JSONWriter()
                writeLosslessTrack(Track(info: track.info, entries: [], masks: track.masks), into: &w)
                attributes += " spotter_masks=\"\(escape(w.text))\""
            }
            line("  <track \(attributes)>")
            var held: PointEntry?
            for entry in track.entries {
                // CVAT interpolates toward an outside keyframe's coordinates; Spotter holds the last position until
                // it. An outside shape is written at the held position so CVAT draws the same; its own coordinates
                // travel in `spotter_position`.
                var written = (x: entry.x, y: entry.y)
                if entry.visibility == .outside, let held { written = (held.x, held.y) }
                line(
                    "    <points frame=\"\(entry.frame)\" keyframe=\"1\" outside=\"\(entry.visibility == .outside ? 1 : 0)\""
                        + " occluded=\"\(entry.visibility == .occluded ? 1 : 0)\" points=\"\(coordinate(written.x)),\(coordinate(written.y))\" z_order=\"0\">"
                )
                line("      <attribute name=\"provenance\">\(entry.provenance.name)</attribute>")
                line("      <attribute name=\"spotter_keyframe\">\(entry.isKeyframe ? "true" : "false")</attribute>")
                if written.x != entry.x || written.y != entry.y {
                    line("      <attribute name=\"spotter_position\">\(coordinate(entry.x)),\(coordinate(entry.y))</attribute>")
                }
                line("    </points>")
                held = entry.visibility == .outside ? nil : entry
            }
            if let last = track.entries.last, last.visibility != .outside, last.frame + 1 < media.frameCount {
                line(
                    "    <points frame=\"\(last.frame + 1)\" keyframe=\"1\" outside=\"1\" occluded=\"0\""
                        + " points=\"\(coordinate(last.x)),\(coordinate(last.y))\" z_order=\"0\">")
                line("    </points>")
            }
            line("  </track>")
        }
        line("</annotations>")
        return out
    }

    private static func coordinate(_ value: Double) -> String {
        var w = JSONWriter(capacity: 24)
        w.number(value)
        return w.text
    }

    private static func source(of actor: EditActor) -> String {
        switch actor {
        case .human: return "manual"
        case .model: return "auto"
        case .tracker: return "semi-auto"
        case .importer: return "file"
        }
    }

    /// CVAT's date style, `2024-05-01 12:00:00.000000+00:00`, in UTC.
    static func cvatDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: date)
        func two(_ v: Int?) -> String { String(format: "%02d", v ?? 0) }
        let micro = String(format: "%06d", (c.nanosecond ?? 0) / 1000)
        return "\(c.year ?? 1970)-\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute)):\(two(c.second)).\(micro)+00:00"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            case "\t": out += "&#9;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    // MARK: - Reading

    struct Shape {
        var frame: Int
        var keyframe: Bool
        var outside: Bool
        var occluded: Bool
        var points: [(Double, Double)]
        var attributes: [String: String]
        var line: Int
    }

    struct TrackElement {
        var attributes: [String: String]
        var shapes: [Shape]
        var line: Int
    }

    static func decode(
        _ bytes: [UInt8], path: String, targetMedia: MediaDescriptor?, refuseOtherShapes: Bool = false
    ) throws -> ImportedProject {
        let reader = try Reader.read(bytes, path: path)
        if refuseOtherShapes, let first = reader.skippedTrackLines.first {
            throw AnnotationError.malformed(
                path: path, line: first.line, reason: "<\(first.kind)> tracks are not point tracks (refused as asked)")
        }
        guard reader.sawAnnotations else {
            throw AnnotationError.malformed(path: path, line: 0, reason: "not a CVAT annotations file (no <annotations>)")
        }
        var imported = ImportedProject(source: path, media: nil, tracks: [], queries: [])
        if let version = reader.text["version"], version != "1.1" {
            imported.warnings.append("CVAT format version \(version); read as 1.1")
        }
        if let mediaText = reader.text["spotter_media"] {
            let json: JSONValue
            do { json = try JSONParser.parse(mediaText) } catch {
                throw AnnotationError.malformed(path: path, line: reader.lines["spotter_media"] ?? 0, reason: "spotter_media is not JSON")
            }
            imported.media = try MediaDescriptor(json: json) { reason in
                AnnotationError.malformed(path: path, line: reader.lines["spotter_media"] ?? 0, reason: reason)
            }
        }
        if let queriesText = reader.text["spotter_queries"] {
            let fail = { (reason: String) in
                AnnotationError.malformed(path: path, line: reader.lines["spotter_queries"] ?? 0, reason: reason)
            }
            guard let list = (try? JSONParser.parse(queriesText))?.arrayValue else { throw fail("spotter_queries is not a JSON array") }
            imported.queries = try list.map { try QueryRecord(json: $0, fail: fail) }
        }
        if reader.imageCount > 0 {
            // CVAT for images (datumaro writes it): no track identity, so every point is a single-point track.
            var count = 0
            for (label, shape) in reader.imagePoints where !shape.outside {
                for (x, y) in shape.points {
                    imported.tracks.append(
                        NewTrack(
                            label: label,
                            entries: [PointEntry(frame: shape.frame, x: x, y: y, visibility: shape.occluded ? .occluded : .visible)]))
                    count += 1
                }
            }
            imported.warnings.append(
                "\(reader.imageCount) <image> elements (CVAT for images): \(count) points read as single-point tracks, since the format keeps no track identity")
        }
        if !reader.skippedTracks.isEmpty {
            let kinds = reader.skippedTracks.sorted { $0.key < $1.key }.map { "\($0.value) <\($0.key)>" }
            imported.warnings.append("skipped tracks that are not point tracks: \(kinds.joined(separator: ", "))")
        }
        if reader.skeletonKeypointTracks > 0 {
            imported.warnings.append(
                "\(reader.skeletonKeypointTracks) skeleton keypoints read as point tracks named skeleton/keypoint")
        }
        // `<size>` is the task's frame count in CVAT's writer, but other writers (datumaro) put the item count there;
        // the media's own frame count wins when they differ, and the last annotated frame bounds it from below.
        let lastShapeFrame = reader.tracks.flatMap(\.shapes).map(\.frame).max() ?? -1
        let fileSize = reader.text["size"].flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        var frameCount = fileSize ?? imported.media?.frameCount ?? targetMedia?.frameCount ?? 0
        if let known = imported.media?.frameCount ?? targetMedia?.frameCount, known > 0, frameCount != known {
            if fileSize != nil {
                imported.warnings.append("<size> \(frameCount) differs from the media's \(known) frames; using the media's")
            }
            frameCount = known
        }
        if frameCount < lastShapeFrame + 1 {
            imported.warnings.append("<size> \(frameCount) is below the last annotated frame \(lastShapeFrame); using \(lastShapeFrame + 1)")
            frameCount = lastShapeFrame + 1
        }
        var labelColors: [String: RGBColor] = [:]
        for (name, color) in reader.labelColors { labelColors[name] = RGBColor(hex: color) }
        for element in reader.tracks {
            imported.tracks += try tracks(from: element, frameCount: frameCount, labelColors: labelColors, path: path)
        }
        return imported
    }

    private static func tracks(
        from element: TrackElement, frameCount: Int, labelColors: [String: RGBColor], path: String
    ) throws -> [NewTrack] {
        let fail = { (line: Int, reason: String) in AnnotationError.malformed(path: path, line: line, reason: reason) }
        guard let label = element.attributes["label"] else { throw fail(element.line, "<track> without a label") }
        let ours = element.attributes["spotter_color"] != nil
        let shapes = element.shapes.sorted { $0.frame < $1.frame }
        let pointCount = shapes.map(\.points.count).max() ?? 1
        var template = NewTrack(label: label)
        template.color = element.attributes["spotter_color"].flatMap(RGBColor.init(hex:)) ?? labelColors[label]
        template.name = element.attributes["spotter_name"] ?? ""
        template.queryID = element.attributes["spotter_query_id"].flatMap { Int64($0) }
        template.extras = element.attributes["spotter_extras"]
        if let masksText = element.attributes["spotter_masks"] {
            let maskFail = { (reason: String) in fail(element.line, reason) }
            guard let json = try? JSONParser.parse(masksText) else { throw fail(element.line, "spotter_masks is not JSON") }
            template.masks = try readLosslessTrack(json, fail: maskFail).masks
        }
        if ours, let id = element.attributes["id"].flatMap({ Int64($0) }), id > 0 { template.preferredID = TrackID(id) }
        let defaultProvenance: Provenance
        switch element.attributes["source"] {
        case "auto":
            defaultProvenance = .model
            template.createdBy = .model
        case "semi-auto":
            defaultProvenance = .tracker
            template.createdBy = .tracker
        case "manual":
            defaultProvenance = .human
            template.createdBy = .human
        default:
            defaultProvenance = .human
        }
        var out: [NewTrack] = []
        for pointIndex in 0..<max(1, pointCount) {
            var track = template
            if pointCount > 1 {
                track.name = template.name.isEmpty ? "point \(pointIndex + 1)" : "\(template.name) \(pointIndex + 1)"
                track.preferredID = nil
            }
            var derivedCandidates: [PointEntry] = []
            for (s, shape) in shapes.enumerated() {
                guard shape.frame >= 0 else { throw fail(shape.line, "negative frame \(shape.frame)") }
                guard pointIndex < shape.points.count else { continue }
                var (x, y) = shape.points[pointIndex]
                if ours, pointCount == 1, let position = shape.attributes["spotter_position"] {
                    let parts = position.split(separator: ",").compactMap { Double($0) }
                    if parts.count == 2, parts.allSatisfy(\.isFinite) { (x, y) = (parts[0], parts[1]) }
                }
                let visibility: Visibility = shape.outside ? .outside : (shape.occluded ? .occluded : .visible)
                let provenanceName = shape.attributes["provenance"]
                // Our own end-of-track marker carries no provenance.
                if ours, provenanceName == nil, shape.outside, s == shapes.count - 1 { continue }
                let provenance = provenanceName.flatMap(Provenance.init(name:)) ?? defaultProvenance
                let pinned = shape.attributes["spotter_keyframe"].map { $0 == "true" } ?? shape.keyframe
                let entry = PointEntry(
                    frame: shape.frame, x: x, y: y, visibility: visibility, provenance: provenance,
                    isKeyframe: pinned)
                if shape.keyframe || ours {
                    track.entries.append(entry)
                } else {
                    derivedCandidates.append(entry)
                }
            }
            func holdToEnd(_ entries: [PointEntry]) -> [PointEntry] {
                // CVAT holds a track that does not end with outside until the last frame.
                guard !ours, let last = entries.last, last.visibility != .outside, last.frame < frameCount - 1 else {
                    return entries
                }
                var hold = last
                hold.frame = frameCount - 1
                hold.provenance = .interpolated
                hold.isKeyframe = false
                return entries + [hold]
            }
            var kept: [PointEntry] = []
            if !derivedCandidates.isEmpty {
                // Non-key shapes that CVAT derived the same way we would carry no information; keep the others.
                let keyed = Track(
                    info: TrackInfo(id: TrackID(0), label: label), entries: holdToEnd(sortedUnique(track.entries)))
                for candidate in derivedCandidates {
                    if let derived = keyed.resolved(at: candidate.frame), derived.isInterpolated,
                        abs(derived.entry.x - candidate.x) < 0.01, abs(derived.entry.y - candidate.y) < 0.01,
                        derived.entry.visibility == candidate.visibility
                    {
                        continue
                    }
                    if candidate.visibility == .outside && keyed.resolved(at: candidate.frame) == nil { continue }
                    var entry = candidate
                    entry.isKeyframe = false
                    kept.append(entry)
                }
            }
            track.entries = holdToEnd(sortedUnique(track.entries + kept))
            if !ours { track.entries = followCVATTowardOutside(track.entries) }
            out.append(track)
        }
        return out
    }

    /// CVAT moves a point linearly from a keyframe toward the next outside keyframe's coordinates (and hides it only
    /// at that frame); Spotter holds the position until the outside entry. An interpolated entry one frame before
    /// the outside one, at CVAT's position there, makes Spotter draw what CVAT draws on every frame between.
    static func followCVATTowardOutside(_ entries: [PointEntry]) -> [PointEntry] {
        var out: [PointEntry] = []
        for (i, entry) in entries.enumerated() {
            out.append(entry)
            guard i + 1 < entries.count, entry.visibility != .outside else { continue }
            let next = entries[i + 1]
            guard next.visibility == .outside, next.frame - entry.frame > 1, next.x != entry.x || next.y != entry.y
            else { continue }
            let t = Double(next.frame - 1 - entry.frame) / Double(next.frame - entry.frame)
            out.append(
                PointEntry(
                    frame: next.frame - 1, x: entry.x + (next.x - entry.x) * t, y: entry.y + (next.y - entry.y) * t,
                    visibility: entry.visibility, provenance: .interpolated, isKeyframe: false))
        }
        return out
    }

    /// Collects the parts of a CVAT XML document this importer uses, with line numbers for errors.
    struct Reader {
        let path: String
        var sawAnnotations = false
        var text: [String: String] = [:]
        var lines: [String: Int] = [:]
        var labelColors: [(String, String)] = []
        var tracks: [TrackElement] = []
        var imageCount = 0
        /// Tracks of other shapes (box, polygon, …) left out, by element name, and where they start.
        var skippedTracks: [String: Int] = [:]
        var skippedTrackLines: [(kind: String, line: Int)] = []
        var skeletonKeypointTracks = 0
        /// `<points>` of CVAT-for-images `<image>` elements (datumaro's CVAT writer), with the image's frame.
        var imagePoints: [(label: String, shape: Shape)] = []
        private var currentImageFrame: Int?
        private var currentSkeleton: Shape?
        private var keypointShapes: [(label: String, shapes: [Shape])] = []
        private var otherShapeKind: String?
        private var stack: [String] = []
        private var buffer = ""
        private var currentTrack: TrackElement?
        private var currentShape: Shape?
        private var currentAttributeName: String?
        private var labelName: String?
        private var labelColor: String?

        static func read(_ bytes: [UInt8], path: String) throws -> Reader {
            var reader = Reader(path: path)
            var events = XMLEventReader(bytes: bytes, path: path)
            while let event = try events.next() {
                switch event {
                case .start(let name, let attributes, let line): try reader.start(name, attributes, line: line)
                case .end(let name, let line): reader.end(name, line: line)
                case .text(let text): reader.buffer += text
                }
            }
            return reader
        }

        private init(path: String) { self.path = path }

        private func fail(_ line: Int, _ reason: String) -> AnnotationError {
            .malformed(path: path, line: line, reason: reason)
        }

        private mutating func start(_ name: String, _ attributes: [String: String], line: Int) throws {
            let parent = stack.last
            stack.append(name)
            buffer = ""
            switch name {
            case "annotations":
                if stack.count == 1 { sawAnnotations = true }
            case "track":
                guard parent == "annotations" else { return }
                currentTrack = TrackElement(attributes: attributes, shapes: [], line: line)
                keypointShapes = []
                otherShapeKind = nil
            case "image":
                if parent == "annotations" {
                    imageCount += 1
                    currentImageFrame = (attributes["frame"] ?? attributes["id"]).flatMap { Int($0) }
                }
            case "points" where parent == "image":
                guard let frame = currentImageFrame, let label = attributes["label"] else { return }
                var points: [(Double, Double)] = []
                for pair in (attributes["points"] ?? "").split(separator: ";") {
                    let parts = pair.split(separator: ",").compactMap { Double($0) }
                    guard parts.count == 2, parts.allSatisfy(\.isFinite) else {
                        throw fail(line, "invalid points \"\(attributes["points"] ?? "")\"")
                    }
                    points.append((parts[0], parts[1]))
                }
                imagePoints.append(
                    (label, Shape(
                        frame: frame, keyframe: true, outside: attributes["outside"] == "1",
                        occluded: attributes["occluded"] == "1", points: points, attributes: [:], line: line)))
            case "skeleton":
                guard currentTrack != nil, parent == "track" else { return }
                guard let frame = attributes["frame"].flatMap({ Int($0) }) else {
                    throw fail(line, "<skeleton> without an integer frame")
                }
                currentSkeleton = Shape(
                    frame: frame, keyframe: attributes["keyframe"] == "1", outside: attributes["outside"] == "1",
                    occluded: attributes["occluded"] == "1", points: [], attributes: [:], line: line)
            case "box", "polygon", "polyline", "ellipse", "cuboid", "mask", "tag":
                if currentTrack != nil, otherShapeKind == nil { otherShapeKind = name }
            case "points" where parent == "skeleton":
                // A skeleton keypoint: `<points label="nose" outside occluded points="x,y">` inside `<skeleton>`.
                guard let skeleton = currentSkeleton, let label = attributes["label"] else { return }
                let parts = (attributes["points"] ?? "").split(separator: ",").compactMap { Double($0) }
                guard parts.count == 2, parts.allSatisfy(\.isFinite) else {
                    throw fail(line, "invalid keypoint points \"\(attributes["points"] ?? "")\"")
                }
                let shape = Shape(
                    frame: skeleton.frame, keyframe: skeleton.keyframe,
                    outside: skeleton.outside || attributes["outside"] == "1",
                    occluded: attributes["occluded"] == "1", points: [(parts[0], parts[1])], attributes: [:], line: line)
                if let index = keypointShapes.firstIndex(where: { $0.label == label }) {
                    keypointShapes[index].shapes.append(shape)
                } else {
                    keypointShapes.append((label, [shape]))
                }
            case "points":
                guard currentTrack != nil, parent == "track" else { return }
                guard let frameText = attributes["frame"], let frame = Int(frameText) else {
                    throw fail(line, "<points> without an integer frame")
                }
                guard let pointsText = attributes["points"] else { throw fail(line, "<points> without points") }
                var points: [(Double, Double)] = []
                for pair in pointsText.split(separator: ";") {
                    let parts = pair.split(separator: ",")
                    guard parts.count == 2, let x = Double(parts[0]), let y = Double(parts[1]), x.isFinite, y.isFinite else {
                        throw fail(line, "invalid points \"\(pointsText)\"")
                    }
                    points.append((x, y))
                }
                guard !points.isEmpty else { throw fail(line, "<points> with no coordinates") }
                func flag(_ key: String) -> Bool? {
                    switch attributes[key] {
                    case nil: return false
                    case "0", "false", "False": return false
                    case "1", "true", "True": return true
                    default: return nil
                    }
                }
                guard let keyframe = flag("keyframe"), let outside = flag("outside"), let occluded = flag("occluded") else {
                    throw fail(line, "keyframe/outside/occluded must be 0 or 1")
                }
                currentShape = Shape(
                    frame: frame, keyframe: keyframe, outside: outside, occluded: occluded, points: points,
                    attributes: [:], line: line)
            case "attribute":
                if currentShape != nil { currentAttributeName = attributes["name"] }
            case "label":
                if parent == "labels" {
                    labelName = nil
                    labelColor = nil
                }
            default:
                break
            }
        }

        private mutating func end(_ name: String, line: Int) {
            _ = stack.popLast()
            let parent = stack.last
            let value = buffer
            buffer = ""
            switch name {
            case "track":
                if let track = currentTrack, parent == "annotations" {
                    if !keypointShapes.isEmpty {
                        let skeletonLabel = track.attributes["label"] ?? "skeleton"
                        for keypoint in keypointShapes {
                            var attributes = track.attributes
                            attributes["label"] = "\(skeletonLabel)/\(keypoint.label)"
                            attributes["id"] = nil
                            tracks.append(TrackElement(attributes: attributes, shapes: keypoint.shapes, line: track.line))
                            skeletonKeypointTracks += 1
                        }
                    } else if track.shapes.isEmpty, let kind = otherShapeKind {
                        skippedTracks[kind, default: 0] += 1
                        skippedTrackLines.append((kind, track.line))
                    } else {
                        tracks.append(track)
                    }
                }
                currentTrack = nil
            case "skeleton":
                currentSkeleton = nil
            case "image":
                currentImageFrame = nil
            case "points":
                if let shape = currentShape {
                    currentTrack?.shapes.append(shape)
                    currentShape = nil
                }
            case "attribute":
                if let attributeName = currentAttributeName, currentShape != nil {
                    currentShape?.attributes[attributeName] = value.trimmingCharacters(in: .whitespacesAndNewlines)
                    currentAttributeName = nil
                }
            case "name":
                if parent == "label" { labelName = value }
                if parent == "task" { text["name"] = value }
            case "color":
                if parent == "label" { labelColor = value }
            case "label":
                if parent == "labels", let labelName { labelColors.append((labelName, labelColor ?? "")) }
            case "version", "size", "source", "spotter_media", "spotter_queries":
                if text[name] == nil {
                    text[name] = value
                    lines[name] = line
                }
            default:
                break
            }
        }
    }
}
