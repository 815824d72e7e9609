import Foundation

/// The field conventions of allenai/molmo2's own dataset loaders (docs/formats.md): timestamps on the 0.5 s grid of
/// the 2 fps videos the pointing sets were annotated on, integer frame rates that a sampling rate divides, string
/// object ids, and paths built as `<video dir>/<clip>.mp4`.
enum Molmo2PackageLayout {
    /// Molmo2's pointing annotations live on a 2 fps grid (`ts / 0.5 == int(ts / 0.5)`).
    static let gridStep = 0.5

    /// One sample of the 0.5 s grid: its absolute time and the media frame on screen then.
    struct GridSample: Equatable {
        var time: Double
        var frame: Int
    }

    /// Grid times `k·0.5` inside `[clipStart, clipEnd)`, each with the frame displayed at it. The end is excluded: a
    /// time equal to the duration has no frame in Molmo2's 2 fps indexing (`frame_id = 2·t`).
    static func gridSamples(media: MediaDescriptor, clipStart: Double, clipEnd: Double) -> [GridSample] {
        guard clipEnd > clipStart, clipEnd.isFinite else { return [] }
        var k = Int((max(0, clipStart) / gridStep - 1e-9).rounded(.up))
        var samples: [GridSample] = []
        while Double(k) * gridStep < clipEnd - 1e-9 {
            let t = Double(k) * gridStep
            samples.append(GridSample(time: t, frame: media.frame(atTime: t)))
            k += 1
        }
        return samples
    }

    /// Where one object is pointed in a video pointing or counting record.
    struct PointPlacement {
        var track: TrackID
        var sample: Int
        var x: Double
        var y: Double
        /// The stored frame the position comes from (differs from the grid frame when a lone point was snapped).
        var sourceFrame: Int
    }

    /// One point per object (track), so that `count` equals the number of points as Molmo2's formatter assumes: the
    /// first grid sample at which the track is visible (stored or interpolated there); a track with no visible state
    /// on any grid frame (a lone point between two grid frames) puts its first visible point on the grid sample
    /// whose frame is nearest, and counts as snapped.
    static func pointPlacements(tracks: [Track], samples: [GridSample]) -> (placements: [PointPlacement], snapped: Int) {
        var placements: [PointPlacement] = []
        var snapped = 0
        guard !samples.isEmpty else { return ([], 0) }
        for track in tracks {
            guard let first = track.entries.first(where: { $0.visibility == .visible }) else { continue }
            if let index = samples.indices.first(where: { i in
                samples[i].frame >= first.frame && track.resolved(at: samples[i].frame)?.entry.visibility == .visible
            }), let resolved = track.resolved(at: samples[index].frame) {
                placements.append(
                    PointPlacement(
                        track: track.id, sample: index, x: resolved.entry.x, y: resolved.entry.y,
                        sourceFrame: samples[index].frame))
                continue
            }
            var best = 0
            for i in samples.indices where abs(samples[i].frame - first.frame) < abs(samples[best].frame - first.frame) {
                best = i
            }
            if samples[best].frame != first.frame { snapped += 1 }
            placements.append(
                PointPlacement(track: track.id, sample: best, x: first.x, y: first.y, sourceFrame: first.frame))
        }
        return (placements, snapped)
    }

    /// The integer frame rate written for Molmo2, whose track loaders keep a row only when `fps % sampling_fps == 0`:
    /// NTSC rates (29.97, 23.976, 59.94) round to their nominal integer; other non-integer rates stay as they are.
    static func integerFPS(_ fps: Double) -> Int? {
        guard fps.isFinite, fps > 0 else { return nil }
        let nominal = fps.rounded()
        guard nominal >= 1, abs(fps - nominal) <= 0.002 * nominal else { return nil }
        return Int(nominal)
    }

    /// The tracking sampling rate: 2 fps (Spotter's and Molmo2's default) when it divides the frame rate, else 1.
    static func trackSamplingFPS(integerFPS fps: Int) -> Int { fps % 2 == 0 ? 2 : 1 }

    /// Frames every `fps / sampling_fps` frames from frame 0 (Molmo2's `frame_idx % (fps // sampling_fps) == 0`).
    static func trackFrames(frameCount: Int, fps: Int, samplingFPS: Int) -> [Int] {
        let step = max(1, fps / max(1, samplingFPS))
        return Array(stride(from: 0, to: max(0, frameCount), by: step))
    }

    /// `clip` and `video` as the loaders join them: a name without directory or extension (`<dir>/<clip>.mp4`).
    static func clipName(_ media: MediaDescriptor) -> String {
        URL(fileURLWithPath: media.path).deletingPathExtension().lastPathComponent
    }

    static let videoDataset = "spotter"

    /// The clip fields every tracking row starts with, as `TrackingDataset` reads them: `video`/`clip` (joined as
    /// `<dir>/<clip>.mp4`), `video_dataset`, the whole-clip frame range, an integer fps when the rate has one
    /// and `sampling_fps` (`fallbackSamplingFPS` when it has none).
    static func writeClipHeader(_ media: MediaDescriptor, fallbackSamplingFPS: Int, into w: inout JSONWriter) {
        let clip = clipName(media)
        let rate = integerFPS(media.fps)
        w.key("video")
        w.string(clip)
        w.key("clip")
        w.string(clip)
        w.key("video_dataset")
        w.string(videoDataset)
        w.key("start_frame")
        w.int(0)
        w.key("end_frame")
        w.int(max(0, media.frameCount - 1))
        w.key("fps")
        if let rate { w.int(rate) } else { w.number(media.fps) }
        w.key("sampling_fps")
        w.int(rate.map(trackSamplingFPS) ?? fallbackSamplingFPS)
    }
    static let videoSource = "spotter"
    static let defaultCategory = "object"

    /// A COCO RLE object with uncompressed runs, which Molmo2's `_decode_rle_mask` reads without pycocotools.
    static func writeRLE(_ mask: RLEMask, into w: inout JSONWriter) {
        w.raw("{\"size\":[")
        w.int(mask.height)
        w.byte(UInt8(ascii: ","))
        w.int(mask.width)
        w.raw("],\"counts\":")
        w.array(mask.counts) { w, run in w.int(run) }
        w.byte(UInt8(ascii: "}"))
    }
}

extension Molmo2JSONL {
    /// Molmo2's evaluation layouts, one line per label: a `Molmo2VideoPointEval` row (one pixel point per object with
    /// its `two_fps_timestamps` entry and `{frame_id, rle}` masks, `width`, `height`) for pointing and counting, a
    /// `Molmo2VideoTrackEval` row (per-object per-frame points and masks, string `mask_id`s) for tracking. Each line
    /// also carries the lossless `spotter` section, which Molmo2's loaders ignore.
    static func encodeEvaluation(_ snapshot: ProjectSnapshot, options: ExportOptions) throws -> (
        bytes: [UInt8], records: Int, warnings: [String]
    ) {
        let media = snapshot.media
        guard media.kind == .video else {
            throw AnnotationError.io(path: media.path, reason: "the Molmo2 evaluation layouts cover video pointing and tracking only")
        }
        if let task = options.task, !["video_point", "video_count", "video_track"].contains(task) {
            throw AnnotationError.io(path: media.path, reason: "task \(task) has no Molmo2 evaluation layout")
        }
        var w = JSONWriter(capacity: max(1 << 16, snapshot.pointCount * 64))
        var records = 0
        var snapped = 0
        let clip = Molmo2PackageLayout.clipName(media)
        for group in labelGroups(snapshot) {
            let task = options.task ?? inferTask(group, media: media)
            w.byte(UInt8(ascii: "{"))
            w.key("id", first: true)
            w.string("\(clip):\(group.label)")
            if task == "video_track" {
                writeTrackEvaluation(group, media: media, into: &w)
            } else {
                snapped += writePointEvaluation(group, media: media, into: &w)
            }
            w.key("spotter")
            writeLosslessSection(
                format: "spotter-molmo2", media: records == 0 ? media : nil, tracks: group.tracks,
                queries: group.queries, into: &w)
            w.raw("}\n")
            records += 1
        }
        var warnings: [String] = []
        if snapped > 0 {
            warnings.append("\(snapped) lone points lie between 0.5 s grid frames and were placed on the nearest grid frame")
        }
        return (w.bytes, records, warnings)
    }

    /// `Molmo2VideoPointEval`: `points[i]` is one pixel `{x, y}` at `two_fps_timestamps[i]`, `masks[i]` the object's
    /// masks on grid frames as `{frame_id: 2·t, rle}`.
    private static func writePointEvaluation(_ group: LabelGroup, media: MediaDescriptor, into w: inout JSONWriter)
        -> Int
    {
        let samples = Molmo2PackageLayout.gridSamples(media: media, clipStart: 0, clipEnd: media.duration)
        let (placements, snapped) = Molmo2PackageLayout.pointPlacements(tracks: group.tracks, samples: samples)
        let tracksByID = Dictionary(group.tracks.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        w.key("video_id")
        w.string(Molmo2PackageLayout.clipName(media))
        w.key("video_source")
        w.string(Molmo2PackageLayout.videoSource)
        w.key("category")
        w.string(Molmo2PackageLayout.defaultCategory)
        w.key("label")
        w.string(group.label)
        w.key("question")
        w.string(group.queries.last?.prompt ?? defaultQuestion(task: "video_count", label: group.label))
        w.key("count")
        w.int(placements.count)
        w.key("width")
        w.int(media.width)
        w.key("height")
        w.int(media.height)
        w.key("video_duration")
        w.number(media.duration)
        w.key("two_fps_timestamps")
        w.array(placements) { w, placement in w.number(samples[placement.sample].time) }
        w.key("points")
        w.array(placements) { w, placement in
            w.raw("{\"x\":")
            w.number(placement.x)
            w.raw(",\"y\":")
            w.number(placement.y)
            w.byte(UInt8(ascii: "}"))
        }
        w.key("masks")
        w.array(placements) { w, placement in
            let masks = tracksByID[placement.track]?.masks ?? [:]
            let onGrid = samples.filter { masks[$0.frame] != nil }
            w.array(onGrid) { w, sample in
                w.raw("{\"frame_id\":")
                w.int(Int((sample.time / Molmo2PackageLayout.gridStep).rounded()))
                w.raw(",\"rle\":")
                Molmo2PackageLayout.writeRLE(masks[sample.frame]!, into: &w)
                w.byte(UInt8(ascii: "}"))
            }
        }
        return snapped
    }

    /// `Molmo2VideoTrackEval` (and the raw `Molmo2-VideoTrack` rows): per object a point per media frame (`null`
    /// where the object is not visible) and a mask per frame (`null` where none is stored).
    private static func writeTrackEvaluation(_ group: LabelGroup, media: MediaDescriptor, into w: inout JSONWriter) {
        Molmo2PackageLayout.writeClipHeader(media, fallbackSamplingFPS: 1, into: &w)
        w.key("exp")
        w.string(group.label)
        w.key("w")
        w.int(media.width)
        w.key("h")
        w.int(media.height)
        w.key("mask_id")
        w.array(group.tracks) { w, track in w.string(String(track.id.rawValue)) }
        let frames = 0..<max(0, media.frameCount)
        w.key("points")
        w.array(group.tracks) { w, track in
            w.raw("{\"object_id\":")
            w.string(String(track.id.rawValue))
            w.raw(",\"points\":")
            w.array(frames) { w, frame in
                guard let resolved = track.resolved(at: frame), resolved.entry.visibility == .visible else {
                    w.raw("null")
                    return
                }
                w.byte(UInt8(ascii: "["))
                w.number(resolved.entry.x)
                w.byte(UInt8(ascii: ","))
                w.number(resolved.entry.y)
                w.byte(UInt8(ascii: "]"))
            }
            w.byte(UInt8(ascii: "}"))
        }
        w.key("masks")
        w.array(group.tracks) { w, track in
            w.raw("{\"object_id\":")
            w.string(String(track.id.rawValue))
            w.raw(",\"masks\":")
            w.array(frames) { w, frame in
                if let mask = track.masks[frame] { Molmo2PackageLayout.writeRLE(mask, into: &w) } else { w.raw("null") }
            }
            w.byte(UInt8(ascii: "}"))
        }
    }
}
