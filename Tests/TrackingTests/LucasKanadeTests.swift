import Foundation
import Testing

@testable import Tracking

/// The smooth texture of these tests shifted by (dx, dy), so a sub-pixel shift is known exactly; `flatRight`
/// makes its right half one flat grey.
private func texture(width: Int, height: Int, dx: Double = 0, dy: Double = 0, flatRight: Bool = false) -> GrayImage {
    var image = sinusoidTexture(
        width: width, height: height,
        waves: [(0.21, 0.13, 0.4), (0.07, -0.17, 1.9), (-0.11, 0.05, 2.7), (0.31, 0.29, 0.3), (0.03, 0.09, 5.1)],
        amplitude: 24, dx: dx, dy: dy)
    if flatRight {
        for y in 0..<height {
            for x in (width / 2)..<width { image.pixels[y * width + x] = 100 }
        }
    }
    return image
}

@Test(arguments: [(0.0, 0.0), (0.37, -0.61), (3.25, 1.5), (-7.8, 4.4), (12.0, -9.5)])
func recoversKnownShifts(_ shift: (Double, Double)) {
    let tracker = LucasKanadeTracker()
    let a = tracker.pyramid(texture(width: 160, height: 120))
    let b = tracker.pyramid(texture(width: 160, height: 120, dx: shift.0, dy: shift.1))
    for (x, y) in [(80.0, 60.0), (40.5, 30.25), (120.0, 90.0)] {
        let start = FlowPoint(x: Float(x), y: Float(y))
        guard case .success(let moved) = tracker.track(start, from: a, to: b) else {
            Issue.record("tracking failed at \(x),\(y) for shift \(shift)")
            continue
        }
        #expect(abs(Double(moved.x) - (x + shift.0)) < 0.05, "x: \(moved.x) vs \(x + shift.0)")
        #expect(abs(Double(moved.y) - (y + shift.1)) < 0.05, "y: \(moved.y) vs \(y + shift.1)")
    }
}

@Test func flatWindowsFail() {
    let tracker = LucasKanadeTracker()
    let a = tracker.pyramid(texture(width: 160, height: 120, flatRight: true))
    let b = tracker.pyramid(texture(width: 160, height: 120, dx: 1, flatRight: true))
    let result = tracker.track(FlowPoint(x: 130, y: 60), from: a, to: b)
    #expect(result == .failure(.flatWindow))
}

@Test func pointsLeavingTheImageFail() {
    let tracker = LucasKanadeTracker()
    let a = tracker.pyramid(texture(width: 160, height: 120))
    let b = tracker.pyramid(texture(width: 160, height: 120, dx: 6))
    #expect(tracker.track(FlowPoint(x: 157, y: 60), from: a, to: b) == .failure(.leftImage))
    #expect(tracker.track(FlowPoint(x: -1, y: 60), from: a, to: b) == .failure(.leftImage))
}

@Test func unrelatedFramesAreRejected() {
    // Frame B shows a different scene: whatever flow finds, it must not be accepted as the same point.
    let tracker = LucasKanadeTracker()
    let a = tracker.pyramid(noise(width: 160, height: 120, seed: 1))
    let b = tracker.pyramid(noise(width: 160, height: 120, seed: 2))
    var accepted = 0
    for i in 0..<30 {
        let p = FlowPoint(x: Float(20 + (i * 37) % 120), y: Float(20 + (i * 53) % 80))
        if case .success = tracker.track(p, from: a, to: b) { accepted += 1 }
    }
    #expect(accepted <= 2, "\(accepted) of 30 points were 'tracked' between unrelated frames")
}

@Test func forwardBackwardThresholdIsApplied() {
    var tracker = LucasKanadeTracker()
    let a = tracker.pyramid(texture(width: 160, height: 120))
    let b = tracker.pyramid(texture(width: 160, height: 120, dx: 2.3, dy: -1.1))
    let p = FlowPoint(x: 80, y: 60)
    guard case .success = tracker.track(p, from: a, to: b) else {
        Issue.record("a plain shift must track with the default threshold")
        return
    }
    tracker.maxForwardBackwardError = 0
    guard case .failure(.forwardBackward(let error)) = tracker.track(p, from: a, to: b) else {
        Issue.record("a zero threshold must reject any round-trip error")
        return
    }
    #expect(error > 0 && error < 0.05)
}

private func noise(width: Int, height: Int, seed: UInt64) -> GrayImage {
    var state = seed &* 0x9E37_79B9_7F4A_7C15
    var coarse = [Float](repeating: 0, count: (width / 4 + 2) * (height / 4 + 2))
    for i in coarse.indices {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        coarse[i] = Float(state >> 56)
    }
    // Blocky noise smoothed by bilinear upsampling, so gradients exist at every scale.
    var pixels = [Float](repeating: 0, count: width * height)
    let cw = width / 4 + 2
    for y in 0..<height {
        for x in 0..<width {
            let fx = Float(x) / 4, fy = Float(y) / 4
            let ix = Int(fx), iy = Int(fy)
            let ax = fx - Float(ix), ay = fy - Float(iy)
            let p = coarse[iy * cw + ix] * (1 - ax) * (1 - ay) + coarse[iy * cw + ix + 1] * ax * (1 - ay)
                + coarse[(iy + 1) * cw + ix] * (1 - ax) * ay + coarse[(iy + 1) * cw + ix + 1] * ax * ay
            pixels[y * width + x] = p
        }
    }
    return GrayImage(width: width, height: height, pixels: pixels)
}

@Test func grayConversionUsesBT601() {
    let g = GrayImage(width: 2, height: 1, rgb: [255, 0, 0, 10, 20, 30])
    #expect(abs(g.pixels[0] - 76.245) < 1e-3)
    #expect(abs(g.pixels[1] - (2.99 + 11.74 + 3.42)) < 1e-3)
}

@Test func downsamplingHalvesAndSmooths() {
    let g = GrayImage(width: 5, height: 3, pixels: [Float](repeating: 7, count: 15))
    let d = g.downsampled()
    #expect(d.width == 3 && d.height == 2)
    #expect(d.pixels.allSatisfy { abs($0 - 7) < 1e-5 })
}
