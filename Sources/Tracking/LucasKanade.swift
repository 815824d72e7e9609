/// A 2-D point in image pixels (x right, y down; pixel centres at integer coordinates).
public struct FlowPoint: Equatable, Sendable {
    public var x: Float
    public var y: Float
    public init(x: Float, y: Float) {
        self.x = x
        self.y = y
    }
}

/// Why a point could not be followed to the next frame.
public enum FlowFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// Too little texture in the window to know where it moved (smallest eigenvalue under the threshold).
    case flatWindow
    /// The point left the image.
    case leftImage
    /// Tracking forward then backward did not come back to the start.
    case forwardBackward(error: Float)
    /// The iteration did not settle.
    case diverged

    public var description: String {
        switch self {
        case .flatWindow: return "too little texture around the point"
        case .leftImage: return "the point left the frame"
        case .forwardBackward(let e): return "forward-backward check failed (\((e * 100).rounded() / 100) px)"
        case .diverged: return "optical flow did not converge"
        }
    }
}

/// Pyramidal Lucas–Kanade optical flow (Bouguet's formulation) with a forward–backward check.
public struct LucasKanadeTracker: Sendable {
    /// Side of the square window, in pixels (odd).
    public var windowSize = 21
    /// Pyramid levels including the full-resolution one (3 = full, half, quarter).
    public var levels = 3
    public var maxIterations = 30
    /// Iteration stops when the update is smaller than this (pixels).
    public var epsilon: Float = 0.01
    /// Minimum eigenvalue of the normalised structure tensor, as OpenCV's minEigThreshold.
    public var minEigenvalue: Float = 1e-4
    /// Largest forward–backward distance accepted, in pixels.
    public var maxForwardBackwardError: Float = 1.0

    public init() {}

    public func pyramid(_ image: GrayImage) -> ImagePyramid { ImagePyramid(image, levels: levels) }

    /// Where `point` of `previous` lies in `next`, checked by tracking back.
    public func track(_ point: FlowPoint, from previous: ImagePyramid, to next: ImagePyramid) -> Result<FlowPoint, FlowFailure> {
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

    /// One-directional pyramidal flow of a single point.
    public func flow(_ point: FlowPoint, from previous: ImagePyramid, to next: ImagePyramid) -> Result<FlowPoint, FlowFailure> {
        let base = previous.levels[0]
        guard point.x >= 0, point.y >= 0, point.x <= Float(base.width - 1), point.y <= Float(base.height - 1) else {
            return .failure(.leftImage)
        }
        let top = min(previous.levels.count, next.levels.count) - 1
        let half = windowSize / 2
        var guess = FlowPoint(x: 0, y: 0)
        for level in stride(from: top, through: 0, by: -1) {
            let scale = Float(1 << level)
            let I = previous.levels[level]
            let J = next.levels[level]
            let Ix = previous.gradientX[level]
            let Iy = previous.gradientY[level]
            let px = point.x / scale
            let py = point.y / scale

            // Structure tensor and the template, sampled once per level.
            let n = windowSize * windowSize
            var template = [Float](repeating: 0, count: n)
            var gxs = [Float](repeating: 0, count: n)
            var gys = [Float](repeating: 0, count: n)
            var gxx: Float = 0, gxy: Float = 0, gyy: Float = 0
            var k = 0
            for wy in -half...half {
                for wx in -half...half {
                    let sx = px + Float(wx)
                    let sy = py + Float(wy)
                    let gx = Ix.sample(sx, sy)
                    let gy = Iy.sample(sx, sy)
                    template[k] = I.sample(sx, sy)
                    gxs[k] = gx
                    gys[k] = gy
                    gxx += gx * gx
                    gxy += gx * gy
                    gyy += gy * gy
                    k += 1
                }
            }
            let det = gxx * gyy - gxy * gxy
            let trace = gxx + gyy
            let minEig = (trace - ((gxx - gyy) * (gxx - gyy) + 4 * gxy * gxy).squareRoot()) / 2
            if minEig / Float(n) < minEigenvalue || det.magnitude < 1e-12 {
                return .failure(.flatWindow)
            }

            var v = FlowPoint(x: 0, y: 0)
            var converged = false
            for _ in 0..<maxIterations {
                var bx: Float = 0, by: Float = 0
                var k = 0
                let ox = px + guess.x + v.x
                let oy = py + guess.y + v.y
                for wy in -half...half {
                    for wx in -half...half {
                        let diff = template[k] - J.sample(ox + Float(wx), oy + Float(wy))
                        bx += diff * gxs[k]
                        by += diff * gys[k]
                        k += 1
                    }
                }
                let ex = (gyy * bx - gxy * by) / det
                let ey = (gxx * by - gxy * bx) / det
                guard ex.isFinite, ey.isFinite else { return .failure(.diverged) }
                v.x += ex
                v.y += ey
                if ex * ex + ey * ey < epsilon * epsilon {
                    converged = true
                    break
                }
            }
            _ = converged  // OpenCV accepts the last estimate after the iteration cap too.
            if level > 0 {
                guess = FlowPoint(x: 2 * (guess.x + v.x), y: 2 * (guess.y + v.y))
            } else {
                guess = FlowPoint(x: guess.x + v.x, y: guess.y + v.y)
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
