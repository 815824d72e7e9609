import Annotations
import Assist
import Foundation
import Media
import TerminalGraphics

/// How the viewer draws pictures: the renderer plus the cell geometry it needs.
package struct ViewerGraphics: Equatable, Sendable {
    package var renderer: GraphicsRenderer
    /// Cell size in screen pixels when the terminal reported it.
    package var cellWidth: Int?
    package var cellHeight: Int?
    /// The largest sixel image the terminal draws, when it says (xterm: 1000x1000 by default).
    package var graphicsLimit: PixelSize?

    package init(renderer: GraphicsRenderer, cellWidth: Int? = nil, cellHeight: Int? = nil, graphicsLimit: PixelSize? = nil) {
        self.renderer = renderer
        self.cellWidth = cellWidth
        self.cellHeight = cellHeight
        self.graphicsLimit = graphicsLimit
    }

    package var name: String {
        switch renderer {
        case .halfBlock(.truecolor): return "half-block"
        case .halfBlock(.palette256): return "half-block 256"
        case .sixel: return "sixel"
        }
    }

    /// Chooses from the detected capabilities and the user's override.
    package static func choose(_ mode: GraphicsMode, capabilities: TerminalCapabilities) -> ViewerGraphics {
        ViewerGraphics(
            renderer: mode.resolve(capabilities), cellWidth: capabilities.cellWidth, cellHeight: capabilities.cellHeight,
            graphicsLimit: capabilities.graphicsLimit)
    }

    /// Where a `media` frame sits inside `area`.
    package func mapping(for media: MediaFacts, in area: CellRect) -> ViewportMapping {
        switch renderer {
        case .halfBlock:
            return .halfBlock(
                sourceWidth: media.width, sourceHeight: media.height, sampleAspectRatio: media.pixelAspect,
                originColumn: area.column, originRow: area.row, areaColumns: area.width, areaRows: area.height,
                cellPixelWidth: cellWidth, cellPixelHeight: cellHeight)
        case .sixel:
            // The picture stays inside the terminal's graphics limit: fewer cells of the area are used.
            let cell = (width: cellWidth ?? 10, height: cellHeight ?? 20)
            var columns = area.width
            var rows = area.height
            if let limit = graphicsLimit {
                columns = max(1, min(columns, limit.width / max(1, cell.width)))
                rows = max(1, min(rows, limit.height / max(1, cell.height)))
            }
            return .sixel(
                sourceWidth: media.width, sourceHeight: media.height, sampleAspectRatio: media.pixelAspect,
                originColumn: area.column, originRow: area.row, areaColumns: columns, areaRows: rows,
                cellWidth: cell.width, cellHeight: cell.height)
        }
    }
}

/// Decodes the frame the state shows at the size the viewer shows it and draws the overlay into it: the picture
/// part of the rendered `Screen`.
package final class PictureComposer {
    private let decode: (_ frame: Int, _ width: Int, _ height: Int) throws -> RGBImage
    private let prefetchFrames: ((_ after: Int, _ width: Int, _ height: Int) -> Void)?

    package init(
        decode: @escaping (_ frame: Int, _ width: Int, _ height: Int) throws -> RGBImage,
        prefetch: ((_ after: Int, _ width: Int, _ height: Int) -> Void)? = nil
    ) {
        self.decode = decode
        self.prefetchFrames = prefetch
    }

    /// Frames from a decoder's server (cached; prefetches ahead during playback and stepping).
    package convenience init(server: FrameServer) {
        self.init(
            decode: { index, width, height in
                let frame = try server.frame(at: index, width: width, height: height)
                return RGBImage(width: frame.width, height: frame.height, pixels: frame.pixels)
            },
            prefetch: { after, width, height in server.prefetch(from: after + 1, count: 12, width: width, height: height) })
    }

    /// The picture of `state.frame` in `state.layout.viewer`; nil when the viewer has no room.
    package func compose(_ state: AppState) -> Picture? {
        let mapping = state.graphics.mapping(for: state.media, in: state.layout.viewer)
        guard mapping.displayWidth > 0, mapping.displayHeight > 0 else { return nil }
        var picture: RGBImage
        var problem: String?
        do {
            picture = try decode(state.frame, mapping.displayWidth, mapping.displayHeight)
        } catch {
            problem = "\(error)"
            picture = RGBImage(width: mapping.displayWidth, height: mapping.displayHeight, fill: state.theme.missingFrame)
        }
        PointOverlay.paint(state.annotations, into: &picture, mapping: mapping, selectionRing: state.theme.selectionRing)
        if let predictions = state.assist.predictions {
            PointOverlay.paintPredictions(
                predictions, frame: state.frame, into: &picture, mapping: mapping, color: state.theme.prediction,
                highlight: state.theme.selectionRing)
        }
        return Picture(
            frame: state.frame, image: picture, row: mapping.imageRow, column: mapping.imageColumn, isMoving: state.isPlaying,
            problem: problem)
    }

    /// Hint that frames after `frame` will be wanted soon (playback, stepping).
    package func prefetch(after frame: Int, state: AppState) {
        let mapping = state.graphics.mapping(for: state.media, in: state.layout.viewer)
        guard mapping.displayWidth > 0, mapping.displayHeight > 0 else { return }
        prefetchFrames?(frame, mapping.displayWidth, mapping.displayHeight)
    }
}

/// Draws the project's points on a frame already scaled to the display: stored visible points as filled discs,
/// interpolated (ghost) points as rings, occluded ones as crosses, the selected track ringed in white with a
/// short trail of where it was on the previous frames.
package enum PointOverlay {
    package static let trailFrames = 12

    package static func paint(
        _ annotations: AnnotationState, into image: inout RGBImage, mapping: ViewportMapping, selectionRing: RGB = .white
    ) {
        guard !annotations.framePoints.isEmpty else { return }
        let radius = max(1.5, Double(image.width) / 200)
        if let track = annotations.selectedTrack, let here = annotations.selectedPoint {
            paintTrail(track, endingAt: here.entry.frame, into: &image, mapping: mapping)
        }
        for point in annotations.framePoints {
            let entry = point.entry
            guard entry.visibility != .outside, let track = annotations.track(point.track) else { continue }
            let color = RGB(r: track.color.red, g: track.color.green, b: track.color.blue)
            let p = mapping.imagePoint(sourceX: entry.x, sourceY: entry.y)
            if point.track == annotations.selected {
                Overlay.ring(in: &image, centerX: p.x, centerY: p.y, radius: radius + 2, color: selectionRing)
            }
            switch (entry.visibility, point.isInterpolated) {
            case (.occluded, _):
                Overlay.cross(in: &image, centerX: p.x, centerY: p.y, armLength: Int(radius.rounded(.up)) + 1, color: color)
            case (_, true):
                Overlay.ring(in: &image, centerX: p.x, centerY: p.y, radius: radius, color: color)
            default:
                Overlay.disc(in: &image, centerX: p.x, centerY: p.y, radius: radius, fill: color, outline: .black)
            }
        }
    }

    /// Pending predictions of the nearest frame the model was shown: diamonds in the prediction colour, the
    /// highlighted object's filled; on a frame between samples they are drawn hollow and smaller.
    package static func paintPredictions(
        _ set: PredictionSet, frame: Int, into image: inout RGBImage, mapping: ViewportMapping, color: RGB, highlight: RGB
    ) {
        let radius = max(2.5, Double(image.width) / 120)
        for (key, point, exact) in set.pendingPoints(near: frame) {
            let p = mapping.imagePoint(sourceX: point.x, sourceY: point.y)
            let r = exact ? radius : radius * 0.7
            let corners = [(p.x, p.y - r), (p.x + r, p.y), (p.x, p.y + r), (p.x - r, p.y)]
            let highlighted = key.object == set.highlighted
            if highlighted && exact {
                Overlay.disc(in: &image, centerX: p.x, centerY: p.y, radius: r * 0.5, fill: color, outline: color)
            }
            for i in 0..<4 {
                let a = corners[i]
                let b = corners[(i + 1) % 4]
                Overlay.line(in: &image, fromX: a.0, fromY: a.1, toX: b.0, toY: b.1, color: highlighted ? highlight : color)
            }
        }
    }

    static func paintTrail(_ track: Track, endingAt frame: Int, into image: inout RGBImage, mapping: ViewportMapping) {
        let color = RGB(r: track.color.red, g: track.color.green, b: track.color.blue)
        var previous: PixelPoint?
        for f in max(0, frame - trailFrames)...frame {
            guard let resolved = track.resolved(at: f), resolved.entry.visibility != .outside else {
                previous = nil
                continue
            }
            let p = mapping.imagePoint(sourceX: resolved.entry.x, sourceY: resolved.entry.y)
            if let q = previous {
                Overlay.line(in: &image, fromX: q.x, fromY: q.y, toX: p.x, toY: p.y, color: color)
            }
            previous = p
        }
    }
}
