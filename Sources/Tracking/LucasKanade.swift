/// A 2-D point in image pixels (x right, y down; pixel centres at integer coordinates).
package struct FlowPoint: Equatable, Sendable {
    package var x: Float
    package var y: Float
    package init(x: Float, y: Float) {
        self.x = x
        self.y = y
    }
}

/// Why a point could not be followed to the next frame.
package enum FlowFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// Too little texture in the window to know where it moved (smallest eigenvalue under the threshold).
    case flatWindow
    /// The point left the image.
    case leftImage
    /// Tracking forward then backward did not come back to the start.
    case forwardBackward(error: Float)
    /// The iteration did not settle.
    case diverged

    package var description: String {
        switch self {
        case .flatWindow: return "too little texture around the point"
        case .leftImage: return "the point left the frame"
        case .forwardBackward(let e): return "forward-backward check failed (\((e * 100).rounded() / 100) px)"
        case .diverged: return "optical flow did not converge"
        }
    }
}

/// Pyramidal Lucas–Kanade optical flow (Bouguet's formulation) with a forward–backward check.
package struct LucasKanadeTracker: Sendable {
    /// Side of the square window, in pixels (odd).
    package var windowSize = 21
    /// Pyramid levels including the full-resolution one (3 = full, half, quarter).
    package var levels = 3
    package var maxIterations = 30
    /// Iteration stops when the update is smaller than this (pixels).
    package var epsilon: Float = 0.01
    /// Minimum eigenvalue of the normalised structure tensor, as OpenCV's minEigThreshold.
    package var minEigenvalue: Float = 1e-4
    /// Largest forward–backward distance accepted, in pixels.
    package var maxForwardBackwardError: Float = 1.0

    package init() {}

    package func pyramid(_ image: GrayImage) -> ImagePyramid { ImagePyramid(image, levels: levels) }

    /// Where `point` of `previous` lies in `next`, checked by tracking back.
    package func track(_ point: FlowPoint, from previous: ImagePyramid, to next: ImagePyramid) -> Result<FlowPoint, FlowFailure> {
        switch flow(point, from: previous, to: next) {
        case .failure(let f):
            return .failure(f)
        case .success(let forward):
            switch flow(forward, from: next, to: previous) {
            case .failure(let f):
                return .failure(f)
            case .success(let back):
                let dx = back.x - point.x
                let dy = back.y - point.y
                let error = (dx * dx + dy * dy).squareRoot()
                if error > maxForwardBackwardError { return .failure(.forwardBackward(error: error)) }
                return .success(forward)
            }
        }
    }

    /// One-directional pyramidal flow of a single point, coarse to fine (OpenCV's `calcOpticalFlowPyrLK` for one
    /// point): at each level the window's structure tensor is inverted and the displacement refined until the
    /// update is below `epsilon` or `maxIterations` is reached. A flat window at a coarse level only skips that
    /// level; at full resolution it is a failure. The minimum-eigenvalue test is in OpenCV's units (Scharr
    /// derivatives unnormalised, products scaled by 2⁻²⁰, divided by the window area), so `minEigenvalue` means
    /// what OpenCV's `minEigThreshold` means.
    package func flow(_ point: FlowPoint, from previous: ImagePyramid, to next: ImagePyramid) -> Result<FlowPoint, FlowFailure> {
        guard let base = previous.levels.first, !next.levels.isEmpty else { return .failure(.leftImage) }
        guard point.x.isFinite, point.y.isFinite, point.x >= 0, point.y >= 0, point.x <= Float(base.width - 1),
            point.y <= Float(base.height - 1)
        else {
            return .failure(.leftImage)
        }
        let side = max(1, windowSize | 1)
        let half = Float(side / 2)
        let n = side * side
        let top = min(previous.levels.count, next.levels.count) - 1
        // Our gradients are Scharr / 32; OpenCV sums raw Scharr products scaled by 2^-20, so its tensor is ours
        // divided by 1024, and its minimum-eigenvalue test divides by the window area as well.
        let tensorToOpenCV: Float = 1 / 1024
        let padded = side + 2
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * n + padded * padded) {
            scratch -> Result<FlowPoint, FlowFailure> in
            guard let memory = scratch.baseAddress else { return .failure(.diverged) }
            let template = memory
            let gxs = memory + n
            let gys = memory + 2 * n
            let moving = memory + 3 * n
            let patch = memory + 4 * n
            // Displacement estimate in the current level's pixels.
            var guess = FlowPoint(x: 0, y: 0)
            for level in stride(from: top, through: 0, by: -1) {
                if level < top { guess = FlowPoint(x: 2 * guess.x, y: 2 * guess.y) }
                let scale = Float(1 << level)
                let I = previous.levels[level]
                let J = next.levels[level]
                let px = point.x / scale
                let py = point.y / scale
                let originX = px - half
                let originY = py - half

                var gxx: Float = 0, gxy: Float = 0, gyy: Float = 0
                if I.containsWindow(x: originX - 1, y: originY - 1, side: padded) {
                    // The window with a one-pixel margin; Scharr derivatives (3 10 3)/32 of the bilinearly sampled
                    // patch equal bilinear samples of the derivative image, since all samples share their weights.
                    I.sampleWindow(x: originX - 1, y: originY - 1, side: padded, into: patch)
                    for j in 0..<side {
                        let up = patch + j * padded
                        let mid = up + padded
                        let down = mid + padded
                        let row = j * side
                        for i in 0..<side {
                            let gx = (3 * (up[i + 2] - up[i]) + 10 * (mid[i + 2] - mid[i]) + 3 * (down[i + 2] - down[i])) * (1 / 32)
                            let gy = (3 * (down[i] - up[i]) + 10 * (down[i + 1] - up[i + 1]) + 3 * (down[i + 2] - up[i + 2])) * (1 / 32)
                            template[row + i] = mid[i + 1]
                            gxs[row + i] = gx
                            gys[row + i] = gy
                        }
                    }
                } else {
                    // Near the border: the derivative image with replicated borders, sampled with clamping.
                    I.sampleWindow(x: originX, y: originY, side: side, into: template)
                    for j in 0..<side {
                        for i in 0..<side {
                            let g = I.sampledScharr(originX + Float(i), originY + Float(j))
                            gxs[j * side + i] = g.x
                            gys[j * side + i] = g.y
                        }
                    }
                }
                for k in 0..<n {
                    let gx = gxs[k], gy = gys[k]
                    gxx += gx * gx
                    gxy += gx * gy
                    gyy += gy * gy
                }
                let det = gxx * gyy - gxy * gxy
                let trace = gxx + gyy
                let minEig = (trace - ((gxx - gyy) * (gxx - gyy) + 4 * gxy * gxy).squareRoot()) / 2
                let openCVMinEig = minEig * tensorToOpenCV / Float(n)
                let openCVDet = det * tensorToOpenCV * tensorToOpenCV
                if !(openCVMinEig >= minEigenvalue) || !(openCVDet >= Float.ulpOfOne) {
                    if level == 0 { return .failure(.flatWindow) }
                    continue
                }

                var previousStep = FlowPoint(x: 0, y: 0)
                for iteration in 0..<maxIterations {
                    let ox = originX + guess.x
                    let oy = originY + guess.y
                    // The moving window must overlap the image (OpenCV drops the point otherwise).
                    if !(ox > -Float(side)) || !(oy > -Float(side)) || !(ox < Float(J.width)) || !(oy < Float(J.height)) {
                        if level == 0 { return .failure(.leftImage) }
                        break
                    }
                    J.sampleWindow(x: ox, y: oy, side: side, into: moving)
                    var bx: Float = 0, by: Float = 0
                    for k in 0..<n {
                        let diff = template[k] - moving[k]
                        bx += diff * gxs[k]
                        by += diff * gys[k]
                    }
                    let ex = (gyy * bx - gxy * by) / det
                    let ey = (gxx * by - gxy * bx) / det
                    guard ex.isFinite, ey.isFinite else { return .failure(.diverged) }
                    guess.x += ex
                    guess.y += ey
                    if ex * ex + ey * ey <= epsilon * epsilon { break }
                    // An update that undoes the previous one: settle halfway (as OpenCV does).
                    if iteration > 0, abs(ex + previousStep.x) < 0.01, abs(ey + previousStep.y) < 0.01 {
                        guess.x -= ex / 2
                        guess.y -= ey / 2
                        break
                    }
                    previousStep = FlowPoint(x: ex, y: ey)
                }
            }
            let result = FlowPoint(x: point.x + guess.x, y: point.y + guess.y)
            guard result.x.isFinite, result.y.isFinite else { return .failure(.diverged) }
            guard result.x >= 0, result.y >= 0, result.x <= Float(base.width - 1), result.y <= Float(base.height - 1) else {
                return .failure(.leftImage)
            }
            return .success(result)
        }
    }
}
