import Annotations
import Foundation
import Media
import Tracking

/// What a propagation run will do: follow the selected point from `frame` in `direction`, up to the next keyframe
/// (then bridging: tracked from both keyframes and blended) or up to `limit` frames.
package struct PropagationRequest: Equatable, Sendable {
    package var track: TrackID
    package var frame: Int
    package var forward: Bool
    package var x: Double
    package var y: Double
    /// The keyframe the run ends at, when there is one in that direction.
    package var keyframe: (frame: Int, x: Double, y: Double)?
    package var lastFrame: Int

    package static func == (a: PropagationRequest, b: PropagationRequest) -> Bool {
        a.track == b.track && a.frame == b.frame && a.forward == b.forward && a.x == b.x && a.y == b.y
            && a.keyframe?.frame == b.keyframe?.frame && a.keyframe?.x == b.keyframe?.x
            && a.keyframe?.y == b.keyframe?.y && a.lastFrame == b.lastFrame
    }

    package init(track: TrackID, frame: Int, forward: Bool, x: Double, y: Double, keyframe: (frame: Int, x: Double, y: Double)?, lastFrame: Int) {
        self.track = track
        self.frame = frame
        self.forward = forward
        self.x = x
        self.y = y
        self.keyframe = keyframe
        self.lastFrame = lastFrame
    }

    /// The longest unbridged run, so one key press cannot start a walk through a two-hour video.
    package static let maximumFrames = 600
}

/// Runs Lucas–Kanade propagation off the UI thread, reporting progress and the outcome as actions. The outcome is
/// an edit (tracker points, never replacing what a person placed) committed like any other, so it is one undo step.
package enum PropagationJob {
    /// Starts the run on a background thread. `frames` must be safe to call from that thread.
    static func start(
        _ request: PropagationRequest, frames: @escaping @Sendable (Int) throws -> GrayImage, cancel: CancelFlag,
        report: @escaping @Sendable (Action) -> Void
    ) {
        Thread.detachNewThread {
            let (edit, summary) = PropagationJob.run(
                request, frames: frames, progress: { done, total in report(.propagationProgress(done: done, total: total)) },
                isCancelled: { cancel.isSet })
            report(.propagationFinished(edit, summary: summary))
        }
    }

    /// The whole computation, synchronous and pure apart from reading frames (tested directly).
    package static func run(
        _ request: PropagationRequest, frames: (Int) throws -> GrayImage, progress: ((Int, Int) -> Void)? = nil,
        isCancelled: () -> Bool = { false }
    ) -> (Edit?, String) {
        let propagator = Propagator()
        // The store measures from the image's corner (pixel i spans [i, i+1)); the tracker's coordinates are pixel
        // centres (pixel i is at i). Convert both ways, or rotating and scaling objects drift by half a pixel.
        let seed = PropagationSeed(frame: request.frame, point: FlowPoint(x: Float(request.x - 0.5), y: Float(request.y - 0.5)))
        var tracked: [(Int, FlowPoint)] = []
        var summary: String
        if let key = request.keyframe {
            let other = PropagationSeed(frame: key.frame, point: FlowPoint(x: Float(key.x - 0.5), y: Float(key.y - 0.5)))
            let (a, b) = request.forward ? (seed, other) : (other, seed)
            let bridge = propagator.bridge(from: a, to: b, frames: frames, progress: progress, isCancelled: isCancelled)
            tracked = bridge.points.filter { $0.source != .keyframe }.map { ($0.frame, $0.point) }
            let blended = bridge.points.filter { $0.source == .blended }.count
            let gaps = bridge.points.filter { $0.source == .interpolated }.count
            summary = "bridged frames \(a.frame)…\(b.frame): \(blended) tracked both ways"
                + (gaps > 0 ? ", \(gaps) interpolated where tracking failed" : "")
            if case .cancelled = bridge.forward.stop { summary = "propagation cancelled" }
            if case .cancelled = bridge.backward.stop { summary = "propagation cancelled" }
        } else {
            let limit = request.forward
                ? min(request.lastFrame, request.frame + PropagationRequest.maximumFrames)
                : max(0, request.frame - PropagationRequest.maximumFrames)
            let path = propagator.propagate(
                seed, direction: request.forward ? .forward : .backward, limit: limit, frames: frames,
                progress: progress, isCancelled: isCancelled)
            for (i, point) in path.points.enumerated() where i > 0 {
                tracked.append((path.startFrame + i * path.direction.step, point))
            }
            summary = "propagated \(tracked.count) frame\(tracked.count == 1 ? "" : "s") to \(path.lastFrame); \(path.stop)"
        }
        guard !tracked.isEmpty else { return (nil, summary) }
        let entries = tracked.sorted { $0.0 < $1.0 }.map { frame, p in
            PointEntry(
                frame: frame, x: Double(p.x) + 0.5, y: Double(p.y) + 0.5, visibility: .visible, provenance: .tracker,
                isKeyframe: false)
        }
        return (.putEntries(request.track, entries, policy: .fillMissing), summary)
    }
}

extension FrameServer {
    /// The luma of a frame at source size, for optical flow.
    package func grayFrame(at index: Int) throws -> GrayImage {
        GrayImage(try frame(at: index, width: info.width, height: info.height))
    }
}

