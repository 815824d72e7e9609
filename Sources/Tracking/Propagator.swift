/// Which way along the timeline a point is followed.
package enum PropagationDirection: Sendable, Equatable {
    case forward
    case backward

    /// +1 or −1 frames per step.
    package var step: Int { self == .forward ? 1 : -1 }
}

/// A point to follow: where it is on which frame (pixel centres at integer coordinates).
package struct PropagationSeed: Sendable, Equatable {
    package var frame: Int
    package var point: FlowPoint

    package init(frame: Int, point: FlowPoint) {
        self.frame = frame
        self.point = point
    }
}

/// Why a propagation run ended. Everything but `reachedLimit` hands control back to the person annotating.
package enum PropagationStop: Sendable, Equatable, CustomStringConvertible {
    /// The path reached the limit frame.
    case reachedLimit
    /// The point could not be followed into `frame` (the path ends on the frame before it).
    case trackingFailed(frame: Int, reason: FlowFailure)
    /// The frame provider could not supply `frame`.
    case frameUnavailable(frame: Int, reason: String)
    /// Cancelled before `frame` was attempted.
    case cancelled(frame: Int)

    package var description: String {
        switch self {
        case .reachedLimit: return "reached the limit"
        case .trackingFailed(let frame, let reason): return "lost at frame \(frame): \(reason)"
        case .frameUnavailable(let frame, let reason): return "frame \(frame) unavailable: \(reason)"
        case .cancelled(let frame): return "cancelled before frame \(frame)"
        }
    }
}

/// A followed point: its position on consecutive frames from the seed frame in one direction, and why it ended.
package struct PropagationPath: Sendable, Equatable {
    package var startFrame: Int
    package var direction: PropagationDirection
    /// `points[k]` is the position on frame `startFrame + k * direction.step`; `points[0]` is the seed.
    package var points: [FlowPoint]
    package var stop: PropagationStop

    package init(startFrame: Int, direction: PropagationDirection, points: [FlowPoint], stop: PropagationStop) {
        self.startFrame = startFrame
        self.direction = direction
        self.points = points
        self.stop = stop
    }

    /// The last frame with a position.
    package var lastFrame: Int { startFrame + (points.count - 1) * direction.step }

    /// The position on `frame`, if the path reached it.
    package func point(at frame: Int) -> FlowPoint? {
        let k = (frame - startFrame) * direction.step
        guard k >= 0, k < points.count else { return nil }
        return points[k]
    }
}

/// Follows points frame to frame with pyramidal Lucas–Kanade and its forward–backward check, stopping each point at
/// its first failure; and bridges two keyframes by propagating from both ends and blending the two paths.
///
/// Frames come from a closure so callers decide about decoding and caching; every frame's pyramid is built once per
/// run and shared by all points on it.
package struct Propagator: Sendable {
    package var tracker: LucasKanadeTracker

    package init(tracker: LucasKanadeTracker = LucasKanadeTracker()) {
        self.tracker = tracker
    }

    /// Follows one point from its seed frame towards `limit` (inclusive).
    /// - Parameters:
    ///   - frames: the gray image of a frame index; an error stops the path (`frameUnavailable`).
    ///   - progress: called after every frame step with (steps done, steps in the run).
    ///   - isCancelled: polled before every frame step.
    package func propagate(
        _ seed: PropagationSeed, direction: PropagationDirection, limit: Int,
        frames: (Int) throws -> GrayImage, progress: ((Int, Int) -> Void)? = nil,
        isCancelled: () -> Bool = { false }
    ) -> PropagationPath {
        propagate([seed], direction: direction, limit: limit, frames: frames, progress: progress, isCancelled: isCancelled)[0]
    }

    /// Follows several points over the same frames (each from its own seed frame) towards `limit` (inclusive),
    /// loading each frame and building its pyramid once. Paths are returned in seed order.
    package func propagate(
        _ seeds: [PropagationSeed], direction: PropagationDirection, limit: Int,
        frames: (Int) throws -> GrayImage, progress: ((Int, Int) -> Void)? = nil,
        isCancelled: () -> Bool = { false }
    ) -> [PropagationPath] {
        let step = direction.step
        var paths = seeds.map {
            PropagationPath(startFrame: $0.frame, direction: direction, points: [$0.point], stop: .reachedLimit)
        }
        // A path is running while it has not stopped and still has frames to go before the limit.
        var running = [Bool](repeating: false, count: seeds.count)
        var pending: [Int] = []
        for (i, seed) in seeds.enumerated() where (limit - seed.frame) * step > 0 { pending.append(i) }
        pending.sort { seeds[$0].frame * step < seeds[$1].frame * step }
        guard let firstIndex = pending.first else { return paths }
        let firstFrame = seeds[firstIndex].frame
        let totalSteps = (limit - firstFrame) * step
        var doneSteps = 0
        var nextPending = 0

        var frame = firstFrame
        var current: ImagePyramid?
        var size: (width: Int, height: Int)?

        func load(_ index: Int) -> LoadedFrame {
            let image: GrayImage
            do {
                image = try frames(index)
            } catch {
                return .unavailable(.frameUnavailable(frame: index, reason: "\(error)"))
            }
            if let size, size != (image.width, image.height) {
                return .unavailable(
                    .frameUnavailable(
                        frame: index, reason: "size \(image.width)x\(image.height) differs from \(size.width)x\(size.height)"))
            }
            guard image.width > 0, image.height > 0 else {
                return .unavailable(.frameUnavailable(frame: index, reason: "empty image"))
            }
            size = (image.width, image.height)
            return .loaded(tracker.pyramid(image))
        }

        /// Ends the running paths `active` with `stop`.
        func stopRunning(_ active: [Int], _ stop: PropagationStop) {
            for i in active {
                paths[i].stop = stop
                running[i] = false
            }
        }

        while frame != limit {
            // Seeds starting on this frame join.
            while nextPending < pending.count, seeds[pending[nextPending]].frame == frame {
                running[pending[nextPending]] = true
                nextPending += 1
            }
            let active = running.indices.filter { running[$0] }
            if active.isEmpty {
                // Nothing to follow until the next seed: skip ahead without loading frames.
                guard nextPending < pending.count else { break }
                let nextStart = seeds[pending[nextPending]].frame
                doneSteps += (nextStart - frame) * step
                frame = nextStart
                current = nil
                continue
            }
            let target = frame + step
            if isCancelled() {
                stopRunning(active, .cancelled(frame: target))
                for k in nextPending..<pending.count { paths[pending[k]].stop = .cancelled(frame: seeds[pending[k]].frame) }
                return paths
            }
            if current == nil {
                switch load(frame) {
                case .loaded(let pyramid): current = pyramid
                case .unavailable(let stop):
                    stopRunning(active, stop)
                    continue
                }
            }
            switch load(target) {
            case .unavailable(let stop):
                stopRunning(active, stop)
                current = nil
            case .loaded(let next):
                if let previous = current {
                    for i in active {
                        let from = paths[i].points[paths[i].points.count - 1]
                        switch tracker.track(from, from: previous, to: next) {
                        case .success(let moved):
                            paths[i].points.append(moved)
                            if target == limit { running[i] = false }
                        case .failure(let reason):
                            paths[i].stop = .trackingFailed(frame: target, reason: reason)
                            running[i] = false
                        }
                    }
                }
                current = next
            }
            frame = target
            doneSteps += 1
            progress?(doneSteps, totalSteps)
        }
        return paths
    }
}

/// A frame's pyramid, or why the frame could not be used.
private enum LoadedFrame {
    case loaded(ImagePyramid)
    case unavailable(PropagationStop)
}

// MARK: - Bridging keyframes

/// How a position between two keyframes was obtained.
package enum BridgeSource: Sendable, Equatable {
    /// One of the two keyframes themselves.
    case keyframe
    /// Only the path from the earlier keyframe reached the frame.
    case forward
    /// Only the path from the later keyframe reached the frame.
    case backward
    /// Both paths reached it; weighted by closeness to each keyframe.
    case blended
    /// Neither path reached it; linear between the nearest tracked positions on both sides.
    case interpolated
}

/// A position on one frame between two keyframes.
package struct BridgedPoint: Sendable, Equatable {
    package var frame: Int
    package var point: FlowPoint
    package var source: BridgeSource
    /// Distance in pixels between the forward and backward estimates, where both exist.
    package var disagreement: Float?

    package init(frame: Int, point: FlowPoint, source: BridgeSource, disagreement: Float? = nil) {
        self.frame = frame
        self.point = point
        self.source = source
        self.disagreement = disagreement
    }
}

/// The two propagation paths between keyframes A and B and their blend over every frame A…B.
package struct KeyframeBridge: Sendable, Equatable {
    package var forward: PropagationPath
    package var backward: PropagationPath
    /// One entry per frame from A to B inclusive.
    package var points: [BridgedPoint]

    /// Frames where the two paths disagree by more than `threshold` pixels (worth a human look).
    package func disagreements(above threshold: Float) -> [Int] {
        points.compactMap { p in (p.disagreement ?? 0) > threshold ? p.frame : nil }
    }
}

extension Propagator {
    /// Tracks forward from keyframe `start` and backward from keyframe `end` (each stopping at its first failure)
    /// and blends the two paths (`blend`). Progress counts the steps of both runs.
    package func bridge(
        from start: PropagationSeed, to end: PropagationSeed, frames: (Int) throws -> GrayImage,
        progress: ((Int, Int) -> Void)? = nil, isCancelled: () -> Bool = { false }
    ) -> KeyframeBridge {
        let span = max(0, end.frame - start.frame)
        let forward = propagate(
            start, direction: .forward, limit: end.frame, frames: frames,
            progress: { done, _ in progress?(done, 2 * span) }, isCancelled: isCancelled)
        let backward: PropagationPath
        if case .cancelled = forward.stop {
            backward = PropagationPath(
                startFrame: end.frame, direction: .backward, points: [end.point], stop: .cancelled(frame: end.frame - 1))
        } else {
            backward = propagate(
                end, direction: .backward, limit: start.frame, frames: frames,
                progress: { done, _ in progress?(span + done, 2 * span) }, isCancelled: isCancelled)
        }
        return KeyframeBridge(
            forward: forward, backward: backward, points: Propagator.blend(start: start, end: end, forward: forward, backward: backward))
    }

    /// Blends a forward path from keyframe `start` and a backward path from keyframe `end` over every frame between
    /// them: where both reached a frame t, the forward estimate weighs (B − t)/(B − A) and the backward one
    /// (t − A)/(B − A); where one failed the other is used alone; frames neither reached are interpolated linearly
    /// between the last forward and the first backward position around the gap. Keyframes keep their own positions.
    package static func blend(
        start: PropagationSeed, end: PropagationSeed, forward: PropagationPath, backward: PropagationPath
    ) -> [BridgedPoint] {
        guard end.frame >= start.frame else { return [] }
        if end.frame == start.frame { return [BridgedPoint(frame: start.frame, point: start.point, source: .keyframe)] }
        let a = start.frame
        let b = end.frame
        let span = Float(b - a)
        var out: [BridgedPoint] = []
        out.reserveCapacity(b - a + 1)
        out.append(BridgedPoint(frame: a, point: start.point, source: .keyframe))
        var gap: [Int] = []  // indices into `out` waiting for the next known position
        var lastKnown = (frame: a, point: start.point)

        func fillGap(until frame: Int, point: FlowPoint) {
            for index in gap {
                let t = Float(out[index].frame - lastKnown.frame) / Float(frame - lastKnown.frame)
                out[index].point = FlowPoint(
                    x: lastKnown.point.x + (point.x - lastKnown.point.x) * t,
                    y: lastKnown.point.y + (point.y - lastKnown.point.y) * t)
            }
            gap.removeAll()
        }

        for t in (a + 1)..<b {
            let f = forward.direction == .forward && forward.startFrame == a ? forward.point(at: t) : nil
            let g = backward.direction == .backward && backward.startFrame == b ? backward.point(at: t) : nil
            let entry: BridgedPoint
            switch (f, g) {
            case (let f?, let g?):
                let wf = Float(b - t) / span
                let wb = Float(t - a) / span
                let dx = f.x - g.x, dy = f.y - g.y
                entry = BridgedPoint(
                    frame: t, point: FlowPoint(x: wf * f.x + wb * g.x, y: wf * f.y + wb * g.y), source: .blended,
                    disagreement: (dx * dx + dy * dy).squareRoot())
            case (let f?, nil):
                entry = BridgedPoint(frame: t, point: f, source: .forward)
            case (nil, let g?):
                entry = BridgedPoint(frame: t, point: g, source: .backward)
            case (nil, nil):
                gap.append(out.count)
                out.append(BridgedPoint(frame: t, point: lastKnown.point, source: .interpolated))
                continue
            }
            fillGap(until: t, point: entry.point)
            out.append(entry)
            lastKnown = (t, entry.point)
        }
        fillGap(until: b, point: end.point)
        out.append(BridgedPoint(frame: b, point: end.point, source: .keyframe))
        return out
    }
}
