import Foundation
import Media
import TerminalGraphics

/// How the viewer draws pictures.
public enum ViewerGraphics: Equatable, Sendable {
    case halfBlock(HalfBlockEncoder.ColorMode)
    case sixel(cellWidth: Int, cellHeight: Int)

    public var name: String {
        switch self {
        case .halfBlock(.truecolor): return "half-block"
        case .halfBlock(.palette256): return "half-block 256"
        case .sixel: return "sixel"
        }
    }

    /// Display pixels per terminal cell.
    var pixelsPerCell: (width: Int, height: Int) {
        switch self {
        case .halfBlock: return (1, 2)
        case .sixel(let w, let h): return (w, h)
        }
    }

    /// Chooses from the detected capabilities and the user's override.
    public static func choose(_ mode: GraphicsMode, capabilities: TerminalCapabilities) -> ViewerGraphics {
        switch mode.resolved(with: capabilities) {
        case .sixel:
            return .sixel(cellWidth: capabilities.cellWidth ?? 10, cellHeight: capabilities.cellHeight ?? 20)
        case .halfblock256:
            return .halfBlock(.palette256)
        default:
            return .halfBlock(.truecolor)
        }
    }
}

/// Decodes the frame the state asks for at the size the viewer shows it, letterboxes it into the viewer
/// rectangle and encodes it for the terminal.
public final class FramePainter: VideoPainter {
    private let server: FrameServer
    private let graphics: ViewerGraphics
    private var halfBlock: HalfBlockEncoder
    private let sixel = SixelEncoder()
    public private(set) var lastError: String?
    /// The background of letterbox bars.
    public var background = RGB(r: 0, g: 0, b: 0)

    public init(server: FrameServer, graphics: ViewerGraphics) {
        self.server = server
        self.graphics = graphics
        if case .halfBlock(let mode) = graphics {
            halfBlock = HalfBlockEncoder(colorMode: mode)
        } else {
            halfBlock = HalfBlockEncoder()
        }
    }

    public func invalidate() { halfBlock.invalidate() }

    /// Where the picture sits inside the viewer, in display pixels.
    public func placement(for state: AppState) -> ViewportFit {
        let viewer = state.layout.viewer
        let cell = graphics.pixelsPerCell
        return ViewportMapping.fit(
            sourceWidth: state.media.width, sourceHeight: state.media.height, pixelAspect: state.media.pixelAspect,
            areaWidth: viewer.width * cell.width, areaHeight: viewer.height * cell.height)
    }

    public func paint(_ state: AppState) -> [UInt8] {
        let viewer = state.layout.viewer
        guard !viewer.isEmpty else { return [] }
        let cell = graphics.pixelsPerCell
        let fit = placement(for: state)
        var canvas = RGBImage(width: viewer.width * cell.width, height: viewer.height * cell.height, fill: background)
        do {
            let frame = try server.frame(at: state.frame, width: fit.width, height: fit.height)
            canvas.paste(RGBImage(width: frame.width, height: frame.height, pixels: frame.pixels), x: fit.x, y: fit.y)
            lastError = nil
        } catch {
            lastError = "\(error)"
        }
        switch graphics {
        case .halfBlock:
            return halfBlock.encode(canvas, row: viewer.row, column: viewer.column)
        case .sixel:
            return sixel.encode(canvas, row: viewer.row, column: viewer.column)
        }
    }

    public func prefetch(after frame: Int, state: AppState) {
        let fit = placement(for: state)
        server.prefetch(from: frame + 1, count: 12, width: fit.width, height: fit.height)
    }
}
