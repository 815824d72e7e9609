import Foundation
import Media
import TerminalGraphics

/// How the viewer draws pictures: the renderer plus the cell geometry it needs.
public struct ViewerGraphics: Equatable, Sendable {
    public var renderer: GraphicsRenderer
    /// Cell size in screen pixels when the terminal reported it.
    public var cellWidth: Int?
    public var cellHeight: Int?

    public init(renderer: GraphicsRenderer, cellWidth: Int? = nil, cellHeight: Int? = nil) {
        self.renderer = renderer
        self.cellWidth = cellWidth
        self.cellHeight = cellHeight
    }

    public var name: String {
        switch renderer {
        case .halfBlock(.truecolor): return "half-block"
        case .halfBlock(.palette256): return "half-block 256"
        case .sixel: return "sixel"
        }
    }

    /// Chooses from the detected capabilities and the user's override.
    public static func choose(_ mode: GraphicsMode, capabilities: TerminalCapabilities) -> ViewerGraphics {
        ViewerGraphics(renderer: mode.resolve(capabilities), cellWidth: capabilities.cellWidth, cellHeight: capabilities.cellHeight)
    }

    /// Where a `media` frame sits inside `area`.
    public func mapping(for media: MediaFacts, in area: CellRect) -> ViewportMapping {
        switch renderer {
        case .halfBlock:
            return .halfBlock(
                sourceWidth: media.width, sourceHeight: media.height, sampleAspectRatio: media.pixelAspect,
                originColumn: area.column, originRow: area.row, areaColumns: area.width, areaRows: area.height,
                cellPixelWidth: cellWidth, cellPixelHeight: cellHeight)
        case .sixel:
            return .sixel(
                sourceWidth: media.width, sourceHeight: media.height, sampleAspectRatio: media.pixelAspect,
                originColumn: area.column, originRow: area.row, areaColumns: area.width, areaRows: area.height,
                cellWidth: cellWidth ?? 10, cellHeight: cellHeight ?? 20)
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
    /// Shown in place of a frame that cannot be decoded.
    public var background = RGB(r: 0, g: 0, b: 0)

    public init(server: FrameServer, graphics: ViewerGraphics) {
        self.server = server
        self.graphics = graphics
        if case .halfBlock(let mode) = graphics.renderer {
            halfBlock = HalfBlockEncoder(colorMode: mode)
        } else {
            halfBlock = HalfBlockEncoder()
        }
    }

    public func invalidate() { halfBlock.invalidate() }

    public func paint(_ state: AppState) -> [UInt8] {
        let mapping = graphics.mapping(for: state.media, in: state.layout.viewer)
        guard mapping.displayWidth > 0, mapping.displayHeight > 0 else { return [] }
        let image: RGBImage
        do {
            let frame = try server.frame(at: state.frame, width: mapping.displayWidth, height: mapping.displayHeight)
            image = RGBImage(width: frame.width, height: frame.height, pixels: frame.pixels)
            lastError = nil
        } catch {
            lastError = "\(error)"
            image = RGBImage(width: mapping.displayWidth, height: mapping.displayHeight, fill: background)
        }
        switch graphics.renderer {
        case .halfBlock:
            return halfBlock.encode(image, row: mapping.imageRow, column: mapping.imageColumn)
        case .sixel:
            return sixel.encode(image, row: mapping.imageRow, column: mapping.imageColumn)
        }
    }

    public func prefetch(after frame: Int, state: AppState) {
        let mapping = graphics.mapping(for: state.media, in: state.layout.viewer)
        guard mapping.displayWidth > 0, mapping.displayHeight > 0 else { return }
        server.prefetch(from: frame + 1, count: 12, width: mapping.displayWidth, height: mapping.displayHeight)
    }
}
