/// Painting of annotation marks (points, ghost points, crosshair, track trails, selection) into an image
/// before it is encoded. Everything is clipped at the image bounds; non-finite coordinates draw nothing.
///
/// Coordinates are continuous image coordinates: pixel (i, j) covers [i, i+1) x [j, j+1), so its centre is
/// (i + 0.5, j + 0.5). `ViewportMapping.imagePoint` produces such coordinates from source pixels.
package enum Overlay {
    /// A filled disc with an outline (a point marker): pixels whose centre lies within `radius` of the
    /// centre, those within `outlineWidth` of the edge in `outline`, the rest in `fill`. The pixel containing
    /// the centre is always painted, so tiny markers stay visible.
    package static func disc(
        in image: inout RGBImage, centerX: Double, centerY: Double, radius: Double, fill: RGB, outline: RGB,
        outlineWidth: Double = 1
    ) {
        guard centerX.isFinite, centerY.isFinite, radius.isFinite else { return }
        let r = max(0, radius)
        let inner = r - max(0, outlineWidth)
        forPixels(near: centerX, centerY, reach: r, width: image.width, height: image.height) { x, y, distance in
            if distance <= r {
                image.setPixel(x: x, y: y, distance > inner ? outline : fill)
            }
        }
        let cx = Int(centerX.rounded(.down).clamped(-1, Double(image.width)))
        let cy = Int(centerY.rounded(.down).clamped(-1, Double(image.height)))
        let ex = Double(cx) + 0.5 - centerX
        let ey = Double(cy) + 0.5 - centerY
        let centreDistance = (ex * ex + ey * ey).squareRoot()
        if centreDistance > r {
            image.setPixel(x: cx, y: cy, inner > 0 ? fill : outline)
        }
    }

    /// A hollow ring (an occluded or ghost point): pixels whose centre is at a distance in
    /// (radius - thickness, radius] from the centre.
    package static func ring(
        in image: inout RGBImage, centerX: Double, centerY: Double, radius: Double, color: RGB,
        thickness: Double = 1
    ) {
        guard centerX.isFinite, centerY.isFinite, radius.isFinite, thickness.isFinite else { return }
        let r = max(0.5, radius)
        let inner = r - max(0.5, thickness)
        forPixels(near: centerX, centerY, reach: r, width: image.width, height: image.height) { x, y, distance in
            if distance <= r && distance > inner {
                image.setPixel(x: x, y: y, color)
            }
        }
    }

    /// A cross centred on the pixel containing (centerX, centerY): arms of `armLength` pixels each way,
    /// leaving `gap` pixels free around the centre (gap 0 paints the centre too), `thickness` pixels wide.
    package static func cross(
        in image: inout RGBImage, centerX: Double, centerY: Double, armLength: Int, color: RGB, gap: Int = 0,
        thickness: Int = 1
    ) {
        guard centerX.isFinite, centerY.isFinite else { return }
        let limit = Double(image.width + image.height + 2)
        let cx = Int(centerX.rounded(.down).clamped(-limit, limit))
        let cy = Int(centerY.rounded(.down).clamped(-limit, limit))
        let arm = min(max(0, armLength), image.width + image.height)
        let freeRadius = max(0, gap)
        let width = min(max(1, thickness), image.width + image.height + 1)
        let low = -(width - 1) / 2
        for k in -arm...arm where abs(k) >= freeRadius && (k != 0 || freeRadius == 0) {
            for t in low..<(low + width) {
                image.setPixel(x: cx + k, y: cy + t, color)
                image.setPixel(x: cx + t, y: cy + k, color)
            }
        }
    }

    /// A straight line (Bresenham) between the pixels containing the two end points, `thickness` pixels
    /// wide (a square brush). The segment is clipped to the image first, so far-away end points are cheap.
    package static func line(
        in image: inout RGBImage, fromX: Double, fromY: Double, toX: Double, toY: Double, color: RGB,
        thickness: Int = 1
    ) {
        guard fromX.isFinite, fromY.isFinite, toX.isFinite, toY.isFinite, image.width > 0, image.height > 0
        else { return }
        // Liang-Barsky clip against a box one pixel larger than the image.
        let minX = -1.0
        let minY = -1.0
        let maxX = Double(image.width) + 1
        let maxY = Double(image.height) + 1
        let dx = toX - fromX
        let dy = toY - fromY
        var t0 = 0.0
        var t1 = 1.0
        for (p, q) in [(-dx, fromX - minX), (dx, maxX - fromX), (-dy, fromY - minY), (dy, maxY - fromY)] {
            if p == 0 {
                if q < 0 { return }
            } else {
                let t = q / p
                if p < 0 {
                    if t > t1 { return }
                    t0 = max(t0, t)
                } else {
                    if t < t0 { return }
                    t1 = min(t1, t)
                }
            }
        }
        var x0 = Int((fromX + t0 * dx).rounded(.down))
        var y0 = Int((fromY + t0 * dy).rounded(.down))
        let x1 = Int((fromX + t1 * dx).rounded(.down))
        let y1 = Int((fromY + t1 * dy).rounded(.down))
        let width = min(max(1, thickness), image.width + image.height + 1)
        let low = -(width - 1) / 2
        let stepX = x0 < x1 ? 1 : -1
        let stepY = y0 < y1 ? 1 : -1
        let spanX = abs(x1 - x0)
        let spanY = -abs(y1 - y0)
        var error = spanX + spanY
        while true {
            for by in low..<(low + width) {
                for bx in low..<(low + width) {
                    image.setPixel(x: x0 + bx, y: y0 + by, color)
                }
            }
            if x0 == x1 && y0 == y1 { break }
            let doubled = 2 * error
            if doubled >= spanY {
                error += spanY
                x0 += stepX
            }
            if doubled <= spanX {
                error += spanX
                y0 += stepY
            }
        }
    }

    /// The border of the pixel rectangle [x, x + width) x [y, y + height), `thickness` pixels wide inwards
    /// (a selection box).
    package static func rectangle(
        in image: inout RGBImage, x: Int, y: Int, width: Int, height: Int, color: RGB, thickness: Int = 1
    ) {
        guard width > 0, height > 0 else { return }
        let (xEnd, xOverflow) = x.addingReportingOverflow(width)
        let (yEnd, yOverflow) = y.addingReportingOverflow(height)
        let right = xOverflow ? Int.max : xEnd
        let bottom = yOverflow ? Int.max : yEnd
        let band = min(max(1, thickness), max(width, height))
        // Only the visible part is walked, so huge rectangles cost what is on screen.
        let visibleLeft = max(x, 0)
        let visibleRight = min(right, image.width)
        let visibleTop = max(y, 0)
        let visibleBottom = min(bottom, image.height)
        guard visibleLeft < visibleRight, visibleTop < visibleBottom else { return }
        for py in visibleTop..<visibleBottom {
            let onHorizontalEdge = py < y + band || bottom - 1 - py < band
            if onHorizontalEdge {
                for px in visibleLeft..<visibleRight { image.setPixel(x: px, y: py, color) }
                continue
            }
            let leftEdgeEnd = min(visibleRight, x + band)
            if visibleLeft < leftEdgeEnd {
                for px in visibleLeft..<leftEdgeEnd { image.setPixel(x: px, y: py, color) }
            }
            let rightEdgeStart = max(visibleLeft, right - band)
            if rightEdgeStart < visibleRight {
                for px in rightEdgeStart..<visibleRight { image.setPixel(x: px, y: py, color) }
            }
        }
    }

    /// Calls `body(x, y, distance)` for the in-bounds pixels whose centre may lie within `reach` of (cx, cy).
    private static func forPixels(
        near cx: Double, _ cy: Double, reach: Double, width: Int, height: Int, _ body: (Int, Int, Double) -> Void
    ) {
        guard width > 0, height > 0 else { return }
        let x0 = Int((cx - reach - 1).rounded(.down).clamped(0, Double(width - 1)))
        let x1 = Int((cx + reach + 1).rounded(.up).clamped(0, Double(width - 1)))
        let y0 = Int((cy - reach - 1).rounded(.down).clamped(0, Double(height - 1)))
        let y1 = Int((cy + reach + 1).rounded(.up).clamped(0, Double(height - 1)))
        for y in y0...y1 {
            for x in x0...x1 {
                let ex = Double(x) + 0.5 - cx
                let ey = Double(y) + 0.5 - cy
                body(x, y, (ex * ex + ey * ey).squareRoot())
            }
        }
    }
}

extension Double {
    func clamped(_ low: Double, _ high: Double) -> Double {
        Swift.min(Swift.max(self, low), high)
    }
}
