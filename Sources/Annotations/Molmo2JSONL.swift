import Foundation

/// Molmo2 JSONL: one line per (media, label) in the record layout of molmo2-spec §9.5 — pixels, the exact sampled
/// timestamps, the canonical answer — plus the package datasets' fields (`two_fps_timestamps` and percent `points` for
/// video pointing, `frame_trajectories` for tracking) and a `spotter` section that restores the project losslessly.
enum Molmo2JSONL {
    static let tasks = ["video_point", "video_count", "video_track", "image_point", "multi_image_point"]

    /// Top-level fields this format writes or reads; anything else is an unknown field (kept).
    static let knownFields: Set<String> = [
        "id", "task", "label", "question", "media", "sampling", "frames", "points", "count", "answer",
        "two_fps_timestamps", "video_id", "video_duration", "clip_start", "clip_end", "video", "fps", "sampling_fps",
        "width", "height", "expression", "exp", "mask_id", "frame_trajectories", "masks", "spotter",
        "video_source", "category", "annotator_unsure", "clip", "video_dataset", "start_frame", "end_frame", "w", "h",
    ]

    /// Package fields whose value a kept extra (from an imported record) overrides.
    static let overridableFields: Set<String> = ["video_source", "category", "annotator_unsure"]

    /// A kept extra field of the group's tracks or queries.
    static func extraValue(_ group: LabelGroup, _ key: String) -> JSONValue? {
        for text in group.tracks.compactMap(\.info.extras) + group.queries.compactMap(\.extras) {
            if let value = (try? JSONParser.parse(text))?.objectValue?[key] { return value }
        }
        return nil
    }

    // MARK: - Writing

    static func encode(_ snapshot: ProjectSnapshot, options: ExportOptions) throws -> (
        bytes: [UInt8], records: Int, clamped: Int, warnings: [String]
    ) {
        let media = snapshot.media
        if let task = options.task {
            guard tasks.contains(task) else {
                throw AnnotationError.io(path: media.path, reason: "unknown Molmo2 task \(task); use one of \(tasks.joined(separator: ", "))")
            }
            guard task.hasPrefix("video") == (media.kind == .video) else {
                throw AnnotationError.io(path: media.path, reason: "task \(task) does not fit \(media.kind.rawValue) media")
            }
        }
        var w = JSONWriter(capacity: max(1 << 16, snapshot.pointCount * 48))
        var records = 0
        var clamped = 0
        var snapped = 0
        var nonIntegerFPS = 0
        let stem = URL(fileURLWithPath: media.path).deletingPathExtension().lastPathComponent
        for group in labelGroups(snapshot) {
            let latest = group.queries.last
            let task = options.task ?? inferTask(group, media: media)
            let sampling = group.queries.last(where: { $0.sampling != nil })?.sampling ?? media.effectiveSampling
            w.byte(UInt8(ascii: "{"))
            w.key("id", first: true)
            w.string("\(stem):\(group.label)")
            w.key("task")
            w.string(task)
            w.key("label")
            w.string(group.label)
            w.key("question")
            w.string(latest?.prompt ?? defaultQuestion(task: task, label: group.label))
            w.key("media")
            writeMediaSummary(media, task: task, sampling: sampling, into: &w)
            switch task {
            case "video_point", "video_count":
                let written = writeVideoPointing(group, media: media, sampling: sampling, task: task, into: &w)
                clamped += written.clamped
                snapped += written.snapped
            case "video_track":
                clamped += writeVideoTracking(group, media: media, sampling: sampling, into: &w)
                if Molmo2PackageLayout.integerFPS(media.fps) == nil { nonIntegerFPS += 1 }
            default:
                clamped += writeImagePointing(group, media: media, task: task, into: &w)
            }
            w.key("spotter")
            writeLosslessSection(
                format: "spotter-molmo2", media: records == 0 ? media : nil, tracks: group.tracks,
                queries: group.queries, into: &w)
            writeExtras(group, into: &w)
            w.raw("}\n")
            records += 1
        }
        var warnings: [String] = []
        if snapped > 0 {
            warnings.append(
                "\(snapped) lone points lie between 0.5 s grid frames and were placed on the nearest grid frame")
        }
        if nonIntegerFPS > 0 {
            warnings.append(
                "\(nonIntegerFPS) tracking records have a non-integer frame rate (\(media.fps)); Molmo2's track loaders drop rows whose fps a sampling_fps does not divide")
        }
        return (w.bytes, records, clamped, warnings)
    }

    static func inferTask(_ group: LabelGroup, media: MediaDescriptor) -> String {
        if media.kind == .images { return media.frameCount <= 1 ? "image_point" : "multi_image_point" }
        if let task = group.queries.last?.task, task.hasPrefix("video"), tasks.contains(task) { return task }
        let singlePoints = group.tracks.allSatisfy { track in
            track.entries.filter { $0.visibility != .outside }.count <= 1
        }
        return singlePoints ? "video_point" : "video_track"
    }

    static func defaultQuestion(task: String, label: String) -> String {
        switch task {
        case "video_count": return "How many \"\(label)\" are there in the video?"
        case "video_track": return "Track \(label)."
        case "multi_image_point": return "Point to \(label) in all images."
        default: return "Point to \(label)."
        }
    }

    private static func writeMediaSummary(
        _ media: MediaDescriptor, task: String, sampling: FrameSampling, into w: inout JSONWriter
    ) {
        func image(_ image: ImageDescriptor, into w: inout JSONWriter) {
            w.raw("{\"type\":\"image\",")
            image.writeFields(into: &w)
            w.byte(UInt8(ascii: "}"))
        }
        if media.kind == .images {
            if task == "image_point", let first = media.images.first {
                image(first, into: &w)
            } else {
                w.array(media.images) { w, item in image(item, into: &w) }
            }
            return
        }
        w.raw("{\"type\":\"video\",\"path\":")
        w.string(media.path)
        w.key("width")
        w.int(media.width)
        w.key("height")
        w.int(media.height)
        w.key("fps")
        w.number(media.fps)
        w.key("duration")
        w.number(media.duration)
        w.key("frame_count")
        w.int(media.frameCount)
        w.key("clip_start")
        w.number(sampling.clipStart)
        w.key("clip_end")
        w.number(sampling.clipStart + (sampling.times.last ?? media.duration))
        w.key("byte_size")
        w.int(Int(media.byteSize))
        w.key("head_sha256")
        w.string(media.headSHA256)
        w.byte(UInt8(ascii: "}"))
        w.key("sampling")
        sampling.writeJSON(into: &w)
    }

    /// Video pointing/counting: one point per object on the 0.5 s grid (`Molmo2PackageLayout.pointPlacements`), so
    /// `count`, the answer's points and the package fields agree; the grid keeps Molmo2's alignment assertion.
    private static func writeVideoPointing(
        _ group: LabelGroup, media: MediaDescriptor, sampling: FrameSampling, task: String, into w: inout JSONWriter
    ) -> (clamped: Int, snapped: Int) {
        let clipStart = sampling.clipStart
        let clipEnd = min(media.duration, clipStart + (sampling.times.last ?? media.duration))
        let samples = Molmo2PackageLayout.gridSamples(media: media, clipStart: clipStart, clipEnd: clipEnd)
        let (placements, snapped) = Molmo2PackageLayout.pointPlacements(tracks: group.tracks, samples: samples)
        var bySample: [Int: [(x: Double, y: Double)]] = [:]
        for placement in placements { bySample[placement.sample, default: []].append((placement.x, placement.y)) }
        let objects = placements.count
        let indices = bySample.keys.sorted()
        let groups = indices.map { index -> Molmo2Canonical.PixelGroup in
            let size = media.frameSize(samples[index].frame)
            return Molmo2Canonical.PixelGroup(
                key: .time(samples[index].time - clipStart), width: size.width, height: size.height,
                points: bySample[index] ?? [])
        }
        let (element, clamped) = Molmo2Canonical.pointsElement(label: group.label, groups: groups)
        w.key("frames")
        w.array(indices) { w, index in
            w.raw("{\"time\":")
            w.number(samples[index].time - clipStart)
            w.key("frame")
            w.int(samples[index].frame)
            w.key("points")
            writePairs(bySample[index] ?? [], into: &w)
            w.byte(UInt8(ascii: "}"))
        }
        w.key("count")
        w.int(objects)
        w.key("answer")
        w.string(canonicalAnswer(element, count: task == "video_count" ? objects : nil).text)
        // Molmo2-VideoPoint fields as `Molmo2VideoPoint.load()` reads them: absolute grid times, percent points.
        w.key("video_id")
        w.string(Molmo2PackageLayout.clipName(media))
        w.key("video_source")
        w.value(extraValue(group, "video_source") ?? .string(Molmo2PackageLayout.videoSource))
        w.key("category")
        w.value(extraValue(group, "category") ?? .string(Molmo2PackageLayout.defaultCategory))
        w.key("annotator_unsure")
        w.value(extraValue(group, "annotator_unsure") ?? .bool(false))
        w.key("video_duration")
        w.number(media.duration)
        w.key("clip_start")
        w.number(clipStart)
        w.key("clip_end")
        w.number(clipEnd)
        w.key("two_fps_timestamps")
        w.array(indices) { w, index in w.number(samples[index].time) }
        w.key("points")
        w.array(indices) { w, index in
            let size = media.frameSize(samples[index].frame)
            w.array(bySample[index] ?? []) { w, point in
                w.raw("{\"x\":")
                w.number(point.x / Double(max(1, size.width)) * 100)
                w.raw(",\"y\":")
                w.number(point.y / Double(max(1, size.height)) * 100)
                w.byte(UInt8(ascii: "}"))
            }
        }
        return (clamped, snapped)
    }

    /// Video tracking: every sampled frame, each track's stored or interpolated state there.
    private static func writeVideoTracking(
        _ group: LabelGroup, media: MediaDescriptor, sampling: FrameSampling, into w: inout JSONWriter
    ) -> Int {
        var frames: [Molmo2Canonical.TrackFrame] = []
        var frameIndices: [Int] = []
        for (i, t) in sampling.times.enumerated() {
            let frame = sampling.frames.isEmpty ? media.frame(atTime: t + sampling.clipStart) : sampling.frames[i]
            var objects: [(object: Int, x: Double, y: Double, occluded: Bool)] = []
            for track in group.tracks {
                guard let resolved = track.resolved(at: frame), resolved.entry.visibility != .outside else { continue }
                objects.append(
                    (Int(track.id.rawValue), resolved.entry.x, resolved.entry.y, resolved.entry.visibility == .occluded))
            }
            let size = media.frameSize(frame)
            frames.append(Molmo2Canonical.TrackFrame(time: t, width: size.width, height: size.height, objects: objects))
            frameIndices.append(frame)
        }
        let (element, clamped, _) = Molmo2Canonical.tracksElement(label: group.label, frames: frames)
        w.key("frames")
        writeTrackingFrames(frames, frameIndices: frameIndices, objectsKey: "objects", into: &w) { w, object in
            w.raw("{\"id\":")
            w.int(object.object)
            w.key("x")
            w.number(object.x)
            w.key("y")
            w.number(object.y)
            w.key("occluded")
            w.bool(object.occluded)
            w.byte(UInt8(ascii: "}"))
        }
        w.key("answer")
        w.string(canonicalAnswer(element).text)
        // molmo2-track-instruction fields as `TrackingDataset` reads them: string `mask_id`s that the trajectory ids
        // match after `str(id)`, `video`/`clip` joined as `<dir>/<clip>.mp4`, an integer fps that `sampling_fps`
        // divides, and trajectories on the frames `frame_idx % (fps // sampling_fps) == 0`.
        let integerFPS = Molmo2PackageLayout.integerFPS(media.fps)
        let samplingFPS = integerFPS.map(Molmo2PackageLayout.trackSamplingFPS) ?? 2
        Molmo2PackageLayout.writeClipHeader(media, fallbackSamplingFPS: 2, into: &w)
        w.key("width")
        w.int(media.width)
        w.key("height")
        w.int(media.height)
        w.key("expression")
        w.string(group.label)
        w.key("mask_id")
        w.array(group.tracks) { w, track in w.string(String(track.id.rawValue)) }
        w.key("frame_trajectories")
        let trackFrames = Molmo2PackageLayout.trackFrames(
            frameCount: media.frameCount, fps: integerFPS ?? max(1, Int(media.fps.rounded())), samplingFPS: samplingFPS)
        w.array(trackFrames) { w, frame in
            w.raw("{\"frame\":")
            w.int(frame)
            w.key("time")
            w.number(Double(frame) / Double(integerFPS ?? max(1, Int(media.fps.rounded()))))
            w.key("points")
            var first = true
            w.byte(UInt8(ascii: "["))
            for track in group.tracks {
                guard let resolved = track.resolved(at: frame), resolved.entry.visibility != .outside else { continue }
                if !first { w.byte(UInt8(ascii: ",")) }
                first = false
                w.raw("{\"id\":")
                w.string(String(track.id.rawValue))
                w.raw(",\"point\":[")
                w.number(resolved.entry.x)
                w.byte(UInt8(ascii: ","))
                w.number(resolved.entry.y)
                w.raw("],\"occluded\":")
                w.bool(resolved.entry.visibility == .occluded)
                w.byte(UInt8(ascii: "}"))
            }
            w.raw("]}")
        }
        return clamped
    }

    /// `[{"frame":…,"time":…,"<objectsKey>":[…]},…]`, one item per sampled frame, each object written by `object`
    /// (§9.5 `frames` and the package `frame_trajectories` differ only in the key and the object's form).
    private static func writeTrackingFrames(
        _ frames: [Molmo2Canonical.TrackFrame], frameIndices: [Int], objectsKey: StaticString,
        into w: inout JSONWriter,
        object: (inout JSONWriter, (object: Int, x: Double, y: Double, occluded: Bool)) -> Void
    ) {
        w.array(zip(frames, frameIndices)) { w, item in
            let (frame, frameIndex) = item
            w.raw("{\"frame\":")
            w.int(frameIndex)
            w.key("time")
            w.number(frame.time)
            w.key(objectsKey)
            w.array(frame.objects, object)
            w.byte(UInt8(ascii: "}"))
        }
    }

    private static func writeImagePointing(
        _ group: LabelGroup, media: MediaDescriptor, task: String, into w: inout JSONWriter
    ) -> Int {
        let imageCount = task == "image_point" ? 1 : max(1, media.frameCount)
        var perImage = [[(x: Double, y: Double)]](repeating: [], count: imageCount)
        var objects = 0
        for track in group.tracks {
            var counted = false
            for entry in track.entries where entry.visibility == .visible && entry.frame < imageCount {
                perImage[entry.frame].append((entry.x, entry.y))
                if !counted {
                    objects += 1
                    counted = true
                }
            }
        }
        let groups = perImage.enumerated().map { index, points -> Molmo2Canonical.PixelGroup in
            let size = media.frameSize(index)
            return Molmo2Canonical.PixelGroup(key: .image(index + 1), width: size.width, height: size.height, points: points)
        }
        let (element, clamped) = Molmo2Canonical.pointsElement(label: group.label, groups: groups)
        w.key("points")
        if task == "image_point" {
            writePairs(perImage[0], into: &w)
        } else {
            w.array(perImage) { w, points in writePairs(points, into: &w) }
        }
        w.key("count")
        w.int(objects)
        w.key("answer")
        w.string(canonicalAnswer(element).text)
        return clamped
    }

    /// The record's answer: `There are none.` when the element has no point, else the count (for counting) or the
    /// element.
    private static func canonicalAnswer(_ element: CoordinateElement, count: Int? = nil) -> Molmo2Answer {
        if element.pointCount == 0 { return Molmo2Answer(form: .none) }
        if let count { return Molmo2Answer(form: .count(count)) }
        return Molmo2Answer(form: .element, elements: [element])
    }

    private static func writePairs(_ points: [(x: Double, y: Double)], into w: inout JSONWriter) {
        w.array(points) { w, point in
            w.byte(UInt8(ascii: "["))
            w.number(point.x)
            w.byte(UInt8(ascii: ","))
            w.number(point.y)
            w.byte(UInt8(ascii: "]"))
        }
    }

    /// Unknown fields kept from an import, written back at the record's top level.
    private static func writeExtras(_ group: LabelGroup, into w: inout JSONWriter) {
        var written: Set<String> = []
        let sources = group.tracks.compactMap(\.info.extras) + group.queries.compactMap(\.extras)
        for text in sources {
            guard let object = (try? JSONParser.parse(text))?.objectValue else { continue }
            for field in object.fields where !knownFields.contains(field.key) && written.insert(field.key).inserted {
                w.byte(UInt8(ascii: ","))
                w.string(field.key)
                w.byte(UInt8(ascii: ":"))
                w.value(field.value)
            }
        }
    }

    // MARK: - Reading

    /// Longest record line read (a record of a long video with many tracks is a few MB).
    static let maximumLineBytes = 32 << 20

    static func decode(_ bytes: [UInt8], path: String, targetMedia: MediaDescriptor?) throws -> ImportedProject {
        var lines: [(number: Int, object: JSONObject)] = []
        try bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            var number = 1
            while start < buffer.count {
                var end = start
                while end < buffer.count, buffer[end] != 0x0A { end += 1 }
                guard end - start <= maximumLineBytes else {
                    throw AnnotationError.malformed(
                        path: path, line: number,
                        reason: "line of \(end - start) bytes exceeds the \(maximumLineBytes)-byte limit for one record")
                }
                let line = UnsafeBufferPointer(rebasing: buffer[start..<end])
                if line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) {
                    let value: JSONValue
                    do {
                        value = try JSONParser.parse(line)
                    } catch let error as JSONSyntaxError {
                        let position = lineAndColumn(of: error.offset, in: line)
                        throw AnnotationError.malformed(
                            path: path, line: number, reason: "invalid JSON at column \(position.column): \(error.message)")
                    }
                    guard let object = value.objectValue else {
                        throw AnnotationError.malformed(path: path, line: number, reason: "a record must be a JSON object")
                    }
                    lines.append((number, object))
                }
                start = end + 1
                number += 1
            }
        }
        guard !lines.isEmpty else {
            throw AnnotationError.malformed(path: path, line: 0, reason: "the file holds no records")
        }
        // The full media description (first line of our own exports), else a record's media summary.
        var fileMedia: MediaDescriptor?
        for line in lines {
            guard let media = line.object["spotter"]?.objectValue?["media"] else { continue }
            fileMedia = try MediaDescriptor(json: media) { reason in
                AnnotationError.malformed(path: path, line: line.number, reason: reason)
            }
            break
        }
        if fileMedia == nil, let first = lines.first {
            fileMedia = mediaFromSummary(first.object["media"])
        }
        let media = fileMedia ?? targetMedia
        var imported = ImportedProject(source: path, media: fileMedia, tracks: [], queries: [])
        var unknownKept: Set<String> = []
        let log = UnknownFieldLog()
        for line in lines {
            let fail = { (reason: String) in AnnotationError.malformed(path: path, line: line.number, reason: reason) }
            // Unknown fields are kept on the tracks; so are a foreign record's `category`, `video_source` and
            // `annotator_unsure`, which the export writes back instead of its defaults.
            let isForeign = line.object["spotter"] == nil
            let unknownFields = line.object.fields.filter {
                !knownFields.contains($0.key) || (isForeign && overridableFields.contains($0.key))
            }
            var tracks: [NewTrack]
            var queries: [QueryRecord] = []
            if let spotter = line.object["spotter"] {
                guard let section = spotter.objectValue else { throw fail("spotter must be an object") }
                (tracks, queries) = try readLosslessSection(section, fail: fail, log: log)
                // The public fields are checked as strictly as in a record without the section.
                if let media {
                    var ignored: [String] = []
                    var ignoredQueries: [QueryRecord] = []
                    _ = try foreignTracks(
                        line.object, media: media, fail: fail, log: UnknownFieldLog(), warnings: &ignored,
                        bareCountQueries: &ignoredQueries)
                }
            } else {
                guard let media else {
                    throw fail("the record carries no spotter section and neither it nor the project describes the media")
                }
                tracks = try foreignTracks(
                    line.object, media: media, fail: fail, log: log, warnings: &imported.warnings,
                    bareCountQueries: &queries)
            }
            // Fields our own export lifted from a track's or query's kept extras are already restored with it.
            let alreadyKept = Set(
                (tracks.compactMap(\.extras) + queries.compactMap(\.extras)).flatMap { text in
                    (try? JSONParser.parse(text))?.objectValue?.keys ?? []
                })
            let extraFields = unknownFields.filter { !alreadyKept.contains($0.key) }
            if !extraFields.isEmpty {
                for field in extraFields { unknownKept.insert(field.key) }
                if tracks.isEmpty {
                    for q in queries.indices { queries[q].extras = mergeExtras(queries[q].extras, extraFields) }
                } else {
                    for t in tracks.indices { tracks[t].extras = mergeExtras(tracks[t].extras, extraFields) }
                }
                if tracks.isEmpty && queries.isEmpty {
                    imported.warnings.append(
                        "\(path):\(line.number): unknown fields \(extraFields.map(\.key).joined(separator: ", ")) ignored (no track to keep them on)")
                }
            }
            imported.tracks += tracks
            imported.queries += queries
        }
        imported.warnings += log.messages
        if !unknownKept.isEmpty {
            imported.warnings.append("kept unknown fields: \(unknownKept.sorted().joined(separator: ", "))")
        }
        return imported
    }

    static func mergeExtras(_ existing: String?, _ fields: [(key: String, value: JSONValue)]) -> String {
        var object = existing.flatMap { (try? JSONParser.parse($0))?.objectValue } ?? JSONObject()
        for field in fields where object[field.key] == nil { object.append(field) }
        return JSONValue.object(object).jsonText
    }

    /// A descriptor from a record's `media` summary, when it carries a fingerprint.
    static func mediaFromSummary(_ value: JSONValue?) -> MediaDescriptor? {
        if let list = value?.arrayValue {
            var images: [ImageDescriptor] = []
            for item in list {
                guard let image = item.objectValue, let path = image["path"]?.stringValue,
                    let width = image["width"]?.intValue, let height = image["height"]?.intValue,
                    (1...MediaDescriptor.maximumSide).contains(width), (1...MediaDescriptor.maximumSide).contains(height),
                    let size = image["byte_size"]?.intValue, let hash = image["head_sha256"]?.stringValue
                else { return nil }
                images.append(ImageDescriptor(path: path, width: width, height: height, byteSize: Int64(size), headSHA256: hash))
            }
            return images.isEmpty ? nil : MediaDescriptor.imageSet(images: images, path: ".")
        }
        guard let object = value?.objectValue, let path = object["path"]?.stringValue,
            let width = object["width"]?.intValue, let height = object["height"]?.intValue,
            let size = object["byte_size"]?.intValue, let hash = object["head_sha256"]?.stringValue,
            (1...MediaDescriptor.maximumSide).contains(width), (1...MediaDescriptor.maximumSide).contains(height)
        else { return nil }
        if object["type"]?.stringValue == "image" {
            return MediaDescriptor.imageSet(
                images: [ImageDescriptor(path: path, width: width, height: height, byteSize: Int64(size), headSHA256: hash)],
                path: path)
        }
        guard let fps = object["fps"]?.doubleValue, let duration = object["duration"]?.doubleValue,
            let frames = object["frame_count"]?.intValue, (0...MediaDescriptor.maximumFrameCount).contains(frames),
            (1...MediaDescriptor.maximumSide).contains(width), (1...MediaDescriptor.maximumSide).contains(height),
            fps.isFinite, fps >= 0, duration.isFinite, duration >= 0
        else { return nil }
        return MediaDescriptor(
            kind: .video, path: path, byteSize: Int64(size), headSHA256: hash, duration: duration, frameCount: frames,
            width: width, height: height, fps: fps)
    }

    /// An object id of a foreign record: an integer, or a string (Molmo2's `mask_id`s), as text.
    private static func objectKey(_ value: JSONValue?) -> String? {
        if let text = value?.stringValue, !text.isEmpty { return text }
        if let number = value?.intValue { return String(number) }
        return nil
    }

    /// A track for a foreign object id: a positive integer id is kept when free; any other id becomes its name.
    private static func newForeignTrack(id: String, label: String) -> NewTrack {
        if let number = Int64(id), number > 0 { return NewTrack(preferredID: TrackID(number), label: label) }
        return NewTrack(label: label, name: id)
    }

    /// An object not listed at a sampled frame between its appearances, or after its last one, is absent there: an
    /// outside entry at the first such frame of each gap keeps interpolation from bridging it.
    private static func markAbsence(_ track: NewTrack, listedFrames: [Int], media: MediaDescriptor) -> NewTrack {
        var result = track
        let present = Set(track.entries.map(\.frame))
        guard let first = track.entries.map(\.frame).min() else { return track }
        var previousPresent = true
        var last: PointEntry?
        var entriesByFrame: [Int: PointEntry] = [:]
        for entry in track.entries { entriesByFrame[entry.frame] = entry }
        for frame in Set(listedFrames).sorted() where frame > first {
            if present.contains(frame) {
                previousPresent = true
                last = entriesByFrame[frame]
            } else if previousPresent {
                let held = last ?? entriesByFrame[first]!
                let size = media.frameSize(frame)
                result.entries.append(
                    PointEntry(
                        frame: frame, x: min(max(held.x, 0), Double(size.width)),
                        y: min(max(held.y, 0), Double(size.height)), visibility: .outside))
                previousPresent = false
            }
        }
        result.entries.sort { $0.frame < $1.frame }
        return result
    }

    /// Tracks from a record without a spotter section (the package datasets or hand-written records).
    private static func foreignTracks(
        _ record: JSONObject, media: MediaDescriptor, fail: (String) -> AnnotationError, log: UnknownFieldLog,
        warnings: inout [String], bareCountQueries: inout [QueryRecord]
    ) throws -> [NewTrack] {
        let label = record["label"]?.stringValue ?? record["expression"]?.stringValue ?? record["exp"]?.stringValue ?? ""
        let clipStart = record["clip_start"]?.doubleValue ?? 0
        func point(_ x: Double, _ y: Double, frame: Int, occluded: Bool = false) throws -> PointEntry {
            guard x.isFinite, y.isFinite else { throw fail("coordinates must be finite numbers") }
            return PointEntry(frame: frame, x: x, y: y, visibility: occluded ? .occluded : .visible)
        }
        func pair(_ value: JSONValue) throws -> (Double, Double) {
            if let cells = value.arrayValue, cells.count == 2, let x = cells[0].doubleValue, let y = cells[1].doubleValue {
                return (x, y)
            }
            throw fail("a point must be [x, y]")
        }
        func frame(of item: JSONObject) throws -> Int {
            if let frame = item["frame"]?.intValue { return frame }
            if let time = item["time"]?.doubleValue { return media.frame(atTime: time + clipStart) }
            throw fail("a frame entry needs \"frame\" or \"time\"")
        }
        // Tracking: §9.5 `frames` with objects, or the package `frame_trajectories`. Ids may be integers or strings
        // (Molmo2's `mask_id`s are strings); an object missing from a listed frame is absent there (outside).
        let trajectories = record["frame_trajectories"]?.arrayValue
        let framesArray = record["frames"]?.arrayValue
        let isTracking = trajectories != nil || (framesArray?.first?.objectValue?["objects"] != nil)
        if isTracking {
            var byObject: [String: NewTrack] = [:]
            var order: [String] = []
            var listedFrames: [Int] = []
            for item in trajectories ?? framesArray ?? [] {
                guard let frameObject = item.objectValue else { throw fail("frames must hold objects") }
                log.check(frameObject, known: ["frame", "time", "points", "objects"], context: "a tracking frame")
                let index = try frame(of: frameObject)
                listedFrames.append(index)
                let objects = frameObject["points"]?.arrayValue ?? frameObject["objects"]?.arrayValue ?? []
                for object in objects {
                    guard let fields = object.objectValue, let id = objectKey(fields["id"]) else {
                        throw fail("a tracked point needs an integer or string id")
                    }
                    log.check(fields, known: ["id", "point", "x", "y", "occluded"], context: "a tracked point")
                    let (x, y): (Double, Double)
                    if let p = fields["point"] {
                        (x, y) = try pair(p)
                    } else if let px = fields["x"]?.doubleValue, let py = fields["y"]?.doubleValue {
                        (x, y) = (px, py)
                    } else {
                        throw fail("tracked point \(id) has no position")
                    }
                    if byObject[id] == nil {
                        order.append(id)
                        byObject[id] = newForeignTrack(id: id, label: label)
                    }
                    byObject[id]?.entries.append(
                        try point(x, y, frame: index, occluded: fields["occluded"]?.boolValue ?? false))
                }
            }
            return order.compactMap { byObject[$0].map { markAbsence($0, listedFrames: listedFrames, media: media) } }
        }
        // Molmo2-VideoTrack / VideoTrackEval rows: per object one point per frame, null where it is absent.
        if let objects = record["points"]?.arrayValue, objects.first?.objectValue?["object_id"] != nil {
            let start = record["start_frame"]?.intValue ?? 0
            var tracks: [NewTrack] = []
            var masksByObject: [String: [JSONValue]] = [:]
            for item in record["masks"]?.arrayValue ?? [] {
                if let fields = item.objectValue, let id = objectKey(fields["object_id"]),
                    let list = fields["masks"]?.arrayValue
                {
                    masksByObject[id] = list
                }
            }
            // Frames relative to the clip when `start_frame` lies past the media (the media is the clip itself).
            let base = media.frameCount > 0 && start >= media.frameCount ? 0 : start
            for object in objects {
                guard let fields = object.objectValue, let id = objectKey(fields["object_id"]),
                    let perFrame = fields["points"]?.arrayValue
                else { throw fail("points must hold {object_id, points} objects") }
                var track = newForeignTrack(id: id, label: label)
                var listed: [Int] = []
                for (k, value) in perFrame.enumerated() {
                    let index = k + base
                    listed.append(index)
                    if case .null = value { continue }
                    if let cells = value.arrayValue, cells.isEmpty { continue }
                    let (x, y) = try pair(value)
                    track.entries.append(try point(x, y, frame: index))
                }
                for (k, value) in (masksByObject[id] ?? []).enumerated() {
                    if let mask = try readRLE(value, fail: fail) { track.masks[k + base] = mask }
                }
                tracks.append(markAbsence(track, listedFrames: listed, media: media))
            }
            return tracks
        }
        // Video pointing: §9.5 `frames` with points (clip-relative times), or `two_fps_timestamps` + percent points.
        if let framesArray {
            var tracks: [NewTrack] = []
            for item in framesArray {
                guard let frameObject = item.objectValue else { throw fail("frames must hold objects") }
                log.check(frameObject, known: ["frame", "time", "points"], context: "a pointing frame")
                let index = try frame(of: frameObject)
                for value in frameObject["points"]?.arrayValue ?? [] {
                    let (x, y) = try pair(value)
                    tracks.append(NewTrack(label: label, entries: [try point(x, y, frame: index)]))
                }
            }
            return tracks
        }
        if let timestamps = record["two_fps_timestamps"]?.arrayValue, let points = record["points"]?.arrayValue {
            guard timestamps.count == points.count else {
                throw fail("two_fps_timestamps and points differ in length")
            }
            let masks = record["masks"]?.arrayValue
            var tracks: [NewTrack] = []
            for (k, (timeValue, pointsValue)) in zip(timestamps, points).enumerated() {
                guard let time = timeValue.doubleValue else { throw fail("two_fps_timestamps must be numbers") }
                let index = media.frame(atTime: time)
                let size = media.frameSize(index)
                // VideoPoint (train) holds a list of percent points per time; VideoPointEval one pixel point.
                let items = pointsValue.arrayValue ?? [pointsValue]
                let percent = pointsValue.arrayValue != nil
                for item in items {
                    guard let fields = item.objectValue, let x = fields["x"]?.doubleValue, let y = fields["y"]?.doubleValue
                    else { throw fail("points must be {x, y} objects") }
                    log.check(fields, known: ["x", "y"], context: "a percent point")
                    var track = NewTrack(
                        label: label,
                        entries: [
                            try point(
                                percent ? x / 100 * Double(size.width) : x, percent ? y / 100 * Double(size.height) : y,
                                frame: index)
                        ])
                    if let masks, k < masks.count {
                        for maskItem in masks[k].arrayValue ?? [] {
                            guard let maskObject = maskItem.objectValue, let frameID = maskObject["frame_id"]?.intValue,
                                let rle = maskObject["rle"], let mask = try readRLE(rle, fail: fail)
                            else { throw fail("masks must hold {frame_id, rle} objects") }
                            track.masks[media.frame(atTime: Double(frameID) / 2)] = mask
                        }
                    }
                    tracks.append(track)
                }
            }
            return tracks
        }
        // Image pointing: pixels per §9.5, one list per image for multi-image.
        if let points = record["points"]?.arrayValue {
            let nested = points.first?.arrayValue?.first?.arrayValue != nil
            let perImage = nested ? points : [JSONValue.array(points)]
            var tracks: [NewTrack] = []
            for (image, list) in perImage.enumerated() {
                for value in list.arrayValue ?? [] {
                    let (x, y) = try pair(value)
                    tracks.append(NewTrack(label: label, entries: [try point(x, y, frame: image)]))
                }
            }
            return tracks
        }
        // Only an answer: its points become the ground truth.
        if let answerText = record["answer"]?.stringValue {
            let answer = Molmo2Answer.parse(answerText)
            let sampling: FrameSampling?
            if let value = record["sampling"] { sampling = try FrameSampling(json: value, fail: fail) } else { sampling = nil }
            let placed = answer.objects(media: media, sampling: sampling)
            if placed.unplaced > 0 { warnings.append("\(placed.unplaced) answer points could not be placed on a frame") }
            if placed.objects.isEmpty, case .count(let n) = answer.form {
                warnings.append(
                    "the answer \"\(answerText)\" is a bare count (\(n)) without points; it is kept as the query's answer and counted from there")
                bareCountQueries.append(
                    QueryRecord(
                        prompt: record["question"]?.stringValue ?? defaultQuestion(task: "video_count", label: label),
                        label: label, task: record["task"]?.stringValue ?? "video_count", model: "", answer: answerText,
                        sampling: sampling))
            }
            return placed.objects.map { object in
                NewTrack(label: label, entries: object.points.map { PointEntry(frame: $0.frame, x: $0.x, y: $0.y) })
            }
        }
        throw fail("the record has neither a spotter section nor points, frames, trajectories or an answer")
    }
}
