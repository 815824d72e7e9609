import Foundation
import Testing

@testable import Tracking

/// A smooth texture (sum of seeded sinusoids) translated by `velocity` pixels per frame, so the true position of
/// any texture point on every frame is known exactly.
private struct MovingTexture {
    var width = 160
    var height = 120
    var velocity = (x: 1.5, y: -0.8)
    /// Frames shown as a flat grey field instead of the texture.
    var flatFrames: Set<Int> = []

    func frame(_ index: Int) -> GrayImage {
        if flatFrames.contains(index) {
            return GrayImage(width: width, height: height, pixels: [Float](repeating: 90, count: width * height))
        }
        return sinusoidTexture(
            width: width, height: height,
            waves: [(0.23, 0.11, 0.7), (0.05, -0.19, 2.1), (-0.13, 0.07, 3.3), (0.29, 0.31, 0.1)], amplitude: 26,
            dx: velocity.x * Double(index), dy: velocity.y * Double(index))
    }

    func truth(_ start: FlowPoint, from startFrame: Int, to frame: Int) -> FlowPoint {
        let k = Float(frame - startFrame)
        return FlowPoint(x: start.x + Float(velocity.x) * k, y: start.y + Float(velocity.y) * k)
    }
}

private struct MissingFrame: Error, CustomStringConvertible {
    var description: String { "no such frame" }
}

@Test func forwardPropagationFollowsTheMotion() {
    let scene = MovingTexture()
    let seed = PropagationSeed(frame: 2, point: FlowPoint(x: 50, y: 70))
    var reports: [(Int, Int)] = []
    let path = Propagator().propagate(
        seed, direction: .forward, limit: 12, frames: { scene.frame($0) }, progress: { reports.append(($0, $1)) })
    #expect(path.stop == .reachedLimit)
    #expect(path.points.count == 11)
    #expect(path.lastFrame == 12)
    for frame in 2...12 {
        guard let p = path.point(at: frame) else {
            Issue.record("no position on frame \(frame)")
            continue
        }
        let t = scene.truth(seed.point, from: 2, to: frame)
        #expect(abs(p.x - t.x) < 0.1 && abs(p.y - t.y) < 0.1, "frame \(frame): \(p) vs \(t)")
    }
    #expect(reports.count == 10)
    #expect(reports.last.map { $0 == (10, 10) } == true)
}

@Test func backwardPropagationFollowsTheMotion() {
    let scene = MovingTexture(velocity: (-1.2, 0.9))
    let seed = PropagationSeed(frame: 9, point: FlowPoint(x: 90.5, y: 40.25))
    let path = Propagator().propagate(seed, direction: .backward, limit: 1, frames: { scene.frame($0) })
    #expect(path.stop == .reachedLimit)
    #expect(path.lastFrame == 1)
    #expect(path.point(at: 10) == nil)
    for frame in 1...9 {
        guard let p = path.point(at: frame) else {
            Issue.record("no position on frame \(frame)")
            continue
        }
        let t = scene.truth(seed.point, from: 9, to: frame)
        #expect(abs(p.x - t.x) < 0.1 && abs(p.y - t.y) < 0.1, "frame \(frame): \(p) vs \(t)")
    }
}

@Test func propagationStopsAtTheFirstFailure() {
    let scene = MovingTexture(flatFrames: [6])
    let path = Propagator().propagate(
        PropagationSeed(frame: 0, point: FlowPoint(x: 60, y: 60)), direction: .forward, limit: 10,
        frames: { scene.frame($0) })
    guard case .trackingFailed(let frame, _) = path.stop else {
        Issue.record("expected a tracking failure, got \(path.stop)")
        return
    }
    #expect(frame == 6)
    #expect(path.lastFrame == 5)
    #expect(path.points.count == 6)
}

@Test func frameProviderErrorsStopThePath() {
    let scene = MovingTexture()
    let path = Propagator().propagate(
        PropagationSeed(frame: 0, point: FlowPoint(x: 60, y: 60)), direction: .forward, limit: 10,
        frames: { index in
            if index == 4 { throw MissingFrame() }
            return scene.frame(index)
        })
    #expect(path.stop == .frameUnavailable(frame: 4, reason: "no such frame"))
    #expect(path.lastFrame == 3)
}

@Test func framesOfAnotherSizeStopThePath() {
    let scene = MovingTexture()
    let small = MovingTexture(width: 80, height: 60)
    let path = Propagator().propagate(
        PropagationSeed(frame: 0, point: FlowPoint(x: 40, y: 30)), direction: .forward, limit: 5,
        frames: { $0 == 3 ? small.frame(3) : scene.frame($0) })
    guard case .frameUnavailable(let frame, _) = path.stop else {
        Issue.record("expected frameUnavailable, got \(path.stop)")
        return
    }
    #expect(frame == 3)
    #expect(path.lastFrame == 2)
}

@Test func cancellationStopsBeforeTheNextFrame() {
    let scene = MovingTexture()
    var steps = 0
    let path = Propagator().propagate(
        PropagationSeed(frame: 20, point: FlowPoint(x: 100, y: 60)), direction: .backward, limit: 0,
        frames: { scene.frame($0) }, progress: { done, _ in steps = done }, isCancelled: { steps >= 3 })
    #expect(path.stop == .cancelled(frame: 16))
    #expect(path.lastFrame == 17)
    #expect(path.points.count == 4)
}

@Test func manySeedsShareFramesAndStopIndependently() {
    // The right half of every frame is flat: a point there cannot be followed at all.
    let scene = MovingTexture()
    var loads: [Int: Int] = [:]
    let frames: (Int) throws -> GrayImage = { index in
        loads[index, default: 0] += 1
        var image = scene.frame(index)
        for y in 0..<image.height {
            for x in (image.width / 2)..<image.width { image.pixels[y * image.width + x] = 77 }
        }
        return image
    }
    let seeds = [
        PropagationSeed(frame: 0, point: FlowPoint(x: 30, y: 60)),
        PropagationSeed(frame: 3, point: FlowPoint(x: 40, y: 80)),
        PropagationSeed(frame: 2, point: FlowPoint(x: 140, y: 60)),
        PropagationSeed(frame: 8, point: FlowPoint(x: 30, y: 60)),
    ]
    let paths = Propagator().propagate(seeds, direction: .forward, limit: 8, frames: frames)
    #expect(paths.count == 4)
    #expect(paths[0].stop == .reachedLimit && paths[0].lastFrame == 8)
    #expect(paths[1].stop == .reachedLimit && paths[1].startFrame == 3 && paths[1].lastFrame == 8)
    #expect(paths[2].stop == .trackingFailed(frame: 3, reason: .flatWindow))
    #expect(paths[2].points.count == 1)
    #expect(paths[3].stop == .reachedLimit && paths[3].points == [seeds[3].point])
    #expect(loads.values.allSatisfy { $0 == 1 }, "every frame is loaded once: \(loads)")
    #expect(Set(loads.keys) == Set(0...8))
    for frame in 3...8 {
        let t = scene.truth(seeds[1].point, from: 3, to: frame)
        if let p = paths[1].point(at: frame) {
            #expect(abs(p.x - t.x) < 0.1 && abs(p.y - t.y) < 0.1)
        } else {
            Issue.record("seed 1 has no position on frame \(frame)")
        }
    }
}

@Test func seedsAtOrBeyondTheLimitDoNotMove() {
    var loaded = 0
    let paths = Propagator().propagate(
        [PropagationSeed(frame: 5, point: FlowPoint(x: 1, y: 2)), PropagationSeed(frame: 3, point: FlowPoint(x: 3, y: 4))],
        direction: .backward, limit: 5, frames: { _ in
            loaded += 1
            return MovingTexture().frame(0)
        })
    #expect(paths.map(\.points.count) == [1, 1])
    #expect(paths.allSatisfy { $0.stop == .reachedLimit })
    #expect(loaded == 0)
}

// MARK: - Blending

private func path(from start: Int, _ direction: PropagationDirection, xs: [Float], stop: PropagationStop = .reachedLimit)
    -> PropagationPath
{
    PropagationPath(startFrame: start, direction: direction, points: xs.map { FlowPoint(x: $0, y: 2 * $0) }, stop: stop)
}

@Test func blendingWeighsEachPathByClosenessToItsKeyframe() {
    let start = PropagationSeed(frame: 0, point: FlowPoint(x: 10, y: 20))
    let end = PropagationSeed(frame: 10, point: FlowPoint(x: 22, y: 44))
    // Forward reaches frames 0…6 (x = 10 + t); backward reaches 10…4 (x = 12 + t).
    let forward = path(from: 0, .forward, xs: (0...6).map { 10 + Float($0) }, stop: .trackingFailed(frame: 7, reason: .flatWindow))
    let backward = path(from: 10, .backward, xs: (0...6).map { 22 - Float($0) }, stop: .trackingFailed(frame: 3, reason: .diverged))
    let blended = Propagator.blend(start: start, end: end, forward: forward, backward: backward)
    #expect(blended.map(\.frame) == Array(0...10))
    #expect(blended[0] == BridgedPoint(frame: 0, point: start.point, source: .keyframe))
    #expect(blended[10] == BridgedPoint(frame: 10, point: end.point, source: .keyframe))
    for t in 1...3 {
        #expect(blended[t].source == .forward && blended[t].point.x == 10 + Float(t))
    }
    for t in 7...9 {
        #expect(blended[t].source == .backward && blended[t].point.x == 12 + Float(t))
    }
    for t in 4...6 {
        let wf = Float(10 - t) / 10
        let expected = wf * (10 + Float(t)) + (1 - wf) * (12 + Float(t))
        #expect(blended[t].source == .blended)
        #expect(abs(blended[t].point.x - expected) < 1e-5)
        #expect(abs(blended[t].point.y - 2 * expected) < 1e-5)
        #expect(abs((blended[t].disagreement ?? 0) - 2 * Float(5).squareRoot()) < 1e-4)
    }
    let bridge = KeyframeBridge(forward: forward, backward: backward, points: blended)
    #expect(bridge.disagreements(above: 4) == [4, 5, 6])
    #expect(bridge.disagreements(above: 5).isEmpty)
}

@Test func framesNeitherPathReachedAreInterpolatedAcrossTheGap() {
    let start = PropagationSeed(frame: 100, point: FlowPoint(x: 0, y: 0))
    let end = PropagationSeed(frame: 110, point: FlowPoint(x: 50, y: 100))
    let forward = path(from: 100, .forward, xs: [0, 1, 2], stop: .trackingFailed(frame: 103, reason: .flatWindow))
    let backward = path(from: 110, .backward, xs: [50, 40, 30, 20], stop: .trackingFailed(frame: 106, reason: .leftImage))
    let blended = Propagator.blend(start: start, end: end, forward: forward, backward: backward)
    // Gap 103…106 lies between forward's frame 102 (x 2) and backward's frame 107 (x 20).
    for (k, frame) in (103...106).enumerated() {
        let expected = 2 + (20 - 2) * Float(k + 1) / 5
        #expect(blended[frame - 100].source == .interpolated)
        #expect(abs(blended[frame - 100].point.x - expected) < 1e-5)
    }
    #expect(blended[2].source == .forward && blended[7].source == .backward)
    // No path at all: plain linear interpolation between the keyframes.
    let none = Propagator.blend(
        start: start, end: end, forward: path(from: 100, .forward, xs: [0]), backward: path(from: 110, .backward, xs: [50]))
    #expect(none[1...9].allSatisfy { $0.source == .interpolated })
    #expect(abs(none[4].point.x - 20) < 1e-5 && abs(none[4].point.y - 40) < 1e-5)
}

@Test func bridgingTracksFromBothKeyframes() {
    let scene = MovingTexture(flatFrames: [6])
    let a = PropagationSeed(frame: 0, point: FlowPoint(x: 40, y: 70))
    let b = PropagationSeed(frame: 12, point: scene.truth(a.point, from: 0, to: 12))
    var last = (0, 0)
    let bridge = Propagator().bridge(from: a, to: b, frames: { scene.frame($0) }, progress: { last = ($0, $1) })
    #expect(bridge.forward.stop.failureFrame == 6)
    #expect(bridge.backward.stop.failureFrame == 6)
    #expect(bridge.forward.lastFrame == 5)
    #expect(bridge.backward.lastFrame == 7)
    #expect(bridge.points.count == 13)
    #expect(bridge.points[6].source == .interpolated)
    #expect(bridge.points[1...5].allSatisfy { $0.source == .forward })
    #expect(bridge.points[7...11].allSatisfy { $0.source == .backward })
    for entry in bridge.points {
        let t = scene.truth(a.point, from: 0, to: entry.frame)
        #expect(abs(entry.point.x - t.x) < 0.15 && abs(entry.point.y - t.y) < 0.15, "frame \(entry.frame)")
    }
    #expect(last.1 == 24)
}

@Test func bridgingWithoutFailuresBlendsEveryFrame() {
    let scene = MovingTexture(velocity: (0.7, 1.1))
    let a = PropagationSeed(frame: 3, point: FlowPoint(x: 60, y: 30))
    let b = PropagationSeed(frame: 9, point: scene.truth(a.point, from: 3, to: 9))
    let bridge = Propagator().bridge(from: a, to: b, frames: { scene.frame($0) })
    #expect(bridge.points[1...5].allSatisfy { $0.source == .blended && ($0.disagreement ?? 99) < 0.2 })
    #expect(bridge.disagreements(above: 1).isEmpty)
}

extension PropagationStop {
    fileprivate var failureFrame: Int? {
        if case .trackingFailed(let frame, _) = self { return frame }
        return nil
    }
}

@Test func lumaRoundTripsThroughQuantization() {
    let bytes: [UInt8] = [0, 1, 127, 128, 254, 255]
    guard let image = GrayImage(width: 3, height: 2, luma: bytes) else {
        Issue.record("valid luma rejected")
        return
    }
    #expect(image.quantized() == bytes)
    #expect(GrayImage(width: 4, height: 2, luma: bytes) == nil)
    #expect(GrayImage(width: 0, height: 0, luma: []) == nil)
    let clamped = GrayImage(width: 3, height: 1, pixels: [-3, 254.6, 300])
    #expect(clamped.quantized() == [0, 255, 255])
}
