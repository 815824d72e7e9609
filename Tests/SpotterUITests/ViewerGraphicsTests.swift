import SpotterUI
import TerminalGraphics
import Testing

/// The picture region's geometry as the terminal really is: cells from the window, the sixel size limit respected.
@Suite struct ViewerGraphicsTests {
    let media = MediaFacts(name: "720p.mp4", width: 1280, height: 720, timestamps: [0], fps: 25)
    let area = CellRect(column: 0, row: 1, width: 150, height: 40)

    /// xterm -ti vt340, 160x48 cells in a 1284 px window: 8x18 px cells, sixels at most 1000x1000.
    @Test func sixelPictureUsesTheWindowCellsAndStaysInsideTheLimit() {
        let capabilities = TerminalCapabilities(
            sixel: true, truecolor: true, colorRegisters: 256, cellWidth: 8, cellHeight: 18, columns: 160, rows: 48,
            graphicsLimit: PixelSize(width: 1000, height: 1000))
        let graphics = ViewerGraphics.choose(.auto, capabilities: capabilities)
        let mapping = graphics.mapping(for: media, in: area)
        #expect(mapping.displayWidth <= 1000 && mapping.displayHeight <= 1000)
        // 1000 px / 8 px = 125 columns at most: the picture is as wide as the limit allows, not the 6 px guess.
        #expect(mapping.displayWidth >= 992, "\(mapping.displayWidth)")
        let unlimited = ViewerGraphics(renderer: .sixel, cellWidth: 8, cellHeight: 18).mapping(for: media, in: area)
        #expect(unlimited.displayWidth > 1000)
    }
}
