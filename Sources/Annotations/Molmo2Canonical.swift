/// Conversions between annotations in source pixels and Molmo2 answers on the 0–1000 scale: the canonical answer
/// written from annotations (sorting and id assignment per molmo2-spec §8.1/§8.5), and predicted objects read back
/// from an answer.
package enum Molmo2Canonical {
    /// One `<points>` group in pixels: image index or timestamp, the frame size, and the points.
    package struct PixelGroup: Sendable {
        package var key: CoordinateGroup.Key
        package var width: Int
        package var height: Int
        package var points: [(x: Double, y: Double)]

        package init(key: CoordinateGroup.Key, width: Int, height: Int, points: [(x: Double, y: Double)]) {
            self.key = key
            self.width = width
            self.height = height
            self.points = points
        }
    }

    /// One sampled frame of a `<tracks>` answer: its timestamp, size, and the objects there (any stable identity).
    package struct TrackFrame: Sendable {
        package var time: Double
        package var width: Int
        package var height: Int
        package var objects: [(object: Int, x: Double, y: Double, occluded: Bool)]

        package init(time: Double, width: Int, height: Int, objects: [(object: Int, x: Double, y: Double, occluded: Bool)]) {
            self.time = time
            self.width = width
            self.height = height
            self.objects = objects
        }
    }

    /// x̂ = round(1000·x/W) with ties to even (Python `round`), clamped to 0…1000; reports whether it clamped.
    package static func normalize(_ value: Double, extent: Int) -> (value: Int, clamped: Bool) {
        guard extent > 0, value.isFinite else { return (0, true) }
        let scaled = (value / Double(extent) * 1000).rounded(.toNearestOrEven)
        if scaled < 0 { return (0, true) }
        if scaled > 1000 { return (1000, true) }
        return (Int(scaled), false)
    }

    /// The canonical `<points>` element: groups in key order (empty ones omitted), points sorted by (x̂, ŷ) after
    /// rounding, ids 1, 2, … across all groups.
    package static func pointsElement(label: String, groups: [PixelGroup]) -> (element: CoordinateElement, clamped: Int) {
        var clamped = 0
        let ordered = groups.enumerated().sorted { a, b in
            let order = compareKeys(a.element.key, b.element.key)
            return order != 0 ? order < 0 : a.offset < b.offset
        }.map(\.element)
        var out: [CoordinateGroup] = []
        var nextID = 1
        for group in ordered where !group.points.isEmpty {
            var normalized: [(x: Int, y: Int, order: Int)] = []
            for (i, point) in group.points.enumerated() {
                let x = normalize(point.x, extent: group.width)
                let y = normalize(point.y, extent: group.height)
                if x.clamped || y.clamped { clamped += 1 }
                normalized.append((x.value, y.value, i))
            }
            normalized.sort { ($0.x, $0.y, $0.order) < ($1.x, $1.y, $1.order) }
            var points: [NormalizedPoint] = []
            for point in normalized {
                points.append(NormalizedPoint(id: nextID, x: point.x, y: point.y))
                nextID += 1
            }
            if let index = out.firstIndex(where: { $0.key == group.key }) {
                // Two groups with one key: merged, as the formatter would have built one group.
                out[index].points.append(contentsOf: points)
            } else {
                out.append(CoordinateGroup(key: group.key, points: points))
            }
        }
        return (CoordinateElement(kind: .points, label: label, groups: out), clamped)
    }

    /// The canonical `<tracks>` element (§8.5): frames in time order, occluded points dropped, new objects numbered
    /// in (x̂, ŷ) order at their first appearance, each frame printed by id. Returns the object → answer id map.
    package static func tracksElement(label: String, frames: [TrackFrame]) -> (
        element: CoordinateElement, clamped: Int, answerIDs: [Int: Int]
    ) {
        var clamped = 0
        var answerIDs: [Int: Int] = [:]
        var nextID = 1
        var groups: [CoordinateGroup] = []
        let ordered = frames.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
        for (_, frame) in ordered {
            var seen: Set<Int> = []
            var visible: [(object: Int, x: Int, y: Int, order: Int)] = []
            for (i, object) in frame.objects.enumerated() where !object.occluded {
                guard seen.insert(object.object).inserted else { continue }
                let x = normalize(object.x, extent: frame.width)
                let y = normalize(object.y, extent: frame.height)
                if x.clamped || y.clamped { clamped += 1 }
                visible.append((object.object, x.value, y.value, i))
            }
            guard !visible.isEmpty else { continue }
            visible.sort { ($0.x, $0.y, $0.order) < ($1.x, $1.y, $1.order) }
            for point in visible where answerIDs[point.object] == nil {
                answerIDs[point.object] = nextID
                nextID += 1
            }
            let points = visible.map { NormalizedPoint(id: answerIDs[$0.object] ?? 0, x: $0.x, y: $0.y) }
                .sorted { $0.id < $1.id }
            groups.append(CoordinateGroup(key: .time(frame.time), points: points))
        }
        return (CoordinateElement(kind: .tracks, label: label, groups: groups), clamped, answerIDs)
    }

    static func compareKeys(_ a: CoordinateGroup.Key, _ b: CoordinateGroup.Key) -> Int {
        switch (a, b) {
        case (.image(let x), .image(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.time(let x), .time(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.image, .time): return -1
        case (.time, .image): return 1
        }
    }
}

/// A point of a model answer in source pixels on a decoded frame.
package struct PredictedPoint: Equatable, Sendable {
    package var frame: Int
    package var x: Double
    package var y: Double

    package init(frame: Int, x: Double, y: Double) {
        self.frame = frame
        self.x = x
        self.y = y
    }
}

/// An object read from a model answer: one `<points>` point, or one `<tracks>` identity with its per-frame points.
package struct PredictedObject: Equatable, Sendable {
    package var answerID: Int
    package var label: String
    package var points: [PredictedPoint]

    package init(answerID: Int, label: String, points: [PredictedPoint]) {
        self.answerID = answerID
        self.label = label
        self.points = points
    }
}

extension Molmo2Answer {
    /// The answer's objects in source pixels. Timestamps map to the sampled frame with the nearest time (or, without
    /// a sampling table, the frame displayed at that time); image keys to image index − 1. Groups whose key cannot
    /// be placed are skipped and counted in `unplaced`.
    package func objects(media: MediaDescriptor, sampling: FrameSampling? = nil) -> (
        objects: [PredictedObject], unplaced: Int
    ) {
        let table = sampling ?? (media.kind == .video ? media.effectiveSampling : nil)
        var unplaced = 0
        var objects: [PredictedObject] = []
        for element in elements {
            var trackIndex: [Int: Int] = [:]
            for group in element.groups {
                guard let frame = Self.frame(for: group.key, media: media, sampling: table) else {
                    unplaced += group.points.count
                    continue
                }
                let size = media.frameSize(frame)
                for point in group.points {
                    let pixel = PredictedPoint(
                        frame: frame, x: Double(point.x) / 1000 * Double(size.width),
                        y: Double(point.y) / 1000 * Double(size.height))
                    switch element.kind {
                    case .points:
                        objects.append(PredictedObject(answerID: point.id, label: element.label, points: [pixel]))
                    case .tracks:
                        if let index = trackIndex[point.id] {
                            // A repeated id on the same frame keeps the first point (as the reference parser does).
                            if objects[index].points.last?.frame != frame { objects[index].points.append(pixel) }
                        } else {
                            trackIndex[point.id] = objects.count
                            objects.append(PredictedObject(answerID: point.id, label: element.label, points: [pixel]))
                        }
                    }
                }
            }
        }
        return (objects, unplaced)
    }

    /// The answer's objects as new tracks with model provenance (every point a keyframe so interpolation fills the
    /// frames between samples), ready for `Edit.createTracks` with actor `.model`.
    package func newTracks(media: MediaDescriptor, sampling: FrameSampling? = nil, queryID: Int64? = nil) -> [NewTrack] {
        objects(media: media, sampling: sampling).objects.map { object in
            NewTrack(
                label: object.label, queryID: queryID,
                entries: object.points.map {
                    PointEntry(frame: $0.frame, x: $0.x, y: $0.y, provenance: .model, isKeyframe: true)
                })
        }
    }

    static func frame(for key: CoordinateGroup.Key, media: MediaDescriptor, sampling: FrameSampling?) -> Int? {
        switch key {
        case .image(let index):
            if media.kind == .images { return index >= 1 && index <= media.frameCount ? index - 1 : nil }
            return index == 1 && media.frameCount == 1 ? 0 : nil
        case .time(let t):
            guard media.kind == .video else { return nil }
            if let sampling, !sampling.frames.isEmpty, let i = sampling.nearestSampleIndex(toTime: t) {
                return sampling.frames[i]
            }
            let start = sampling?.clipStart ?? 0
            return media.frame(atTime: t + start)
        }
    }
}
