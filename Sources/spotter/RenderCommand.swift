import Basics
import ArgumentParser
import Foundation
import Media
import TerminalGraphics

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render one frame as half-blocks, sixel or PNG.",
        discussion: """
            Half-block output is sized in terminal cells (--cols, --rows; default: the terminal's width, or \
            80 columns); sixel and PNG in pixels (--width, --height; default: the source size). The picture \
            keeps its aspect ratio inside the requested box. Output goes to standard output, or atomically \
            to -o FILE.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case halfblock, sixel, png }

    @Argument(help: "The video or image.")
    var file: String

    @Option(help: "Frame index (0-based).")
    var frame: Int?

    @Option(help: "Time in seconds, or m:ss.s; the nearest frame is rendered.")
    var time: String?

    @Option(help: "halfblock, sixel or png.")
    var format: Format = .halfblock

    @Option(help: "Half-block width in cells.") var cols: Int?
    @Option(help: "Half-block height in cells.") var rows: Int?
    @Option(help: "Sixel/PNG width in pixels.") var width: Int?
    @Option(help: "Sixel/PNG height in pixels.") var height: Int?

    @Flag(help: "Half-blocks in the 256-colour palette instead of truecolor.")
    var palette256 = false

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    func validate() throws {
        if (frame == nil) == (time == nil) { throw ValidationError("give exactly one of --frame N or --time T") }
        if let frame, frame < 0 { throw ValidationError("--frame must be 0 or more") }
        switch format {
        case .halfblock:
            if width != nil || height != nil { throw ValidationError("half-block output is sized with --cols/--rows") }
        case .sixel, .png:
            if cols != nil || rows != nil { throw ValidationError("\(format.rawValue) output is sized with --width/--height") }
        }
        for (name, value) in [("cols", cols), ("rows", rows), ("width", width), ("height", height)] {
            if let value, value < 1 || value > 16384 { throw ValidationError("--\(name) must be between 1 and 16384") }
        }
        if format == .png && output == nil && isatty(STDOUT_FILENO) == 1 {
            throw ValidationError("PNG output needs -o FILE (or redirect standard output)")
        }
    }

    func run() throws {
        let source: VideoSource
        do { source = try VideoSource(path: file) } catch { fail("\(error)") }
        let info = source.info
        let index: Int
        if let frame {
            guard frame < info.frameCount else { fail("\(file): frame \(frame) is past the last frame \(info.frameCount - 1)") }
            index = frame
        } else {
            guard let seconds = FrameReference.seconds(time ?? "") else { fail("\(file): --time \(time ?? ""): not a time (try 4.5 or 1:02.5)") }
            guard seconds >= 0, seconds <= info.duration else {
                fail("\(file): --time \(seconds) is outside the video (0…\(info.duration) s)")
            }
            index = source.frameIndex(nearestTo: seconds)
        }

        let bytes: [UInt8]
        do {
            switch format {
            case .halfblock:
                let columns = cols ?? TerminalSizeDefault.columns()
                // Only the picture is printed (no letterbox): without --rows, rows follow from the aspect ratio.
                let mapping = ViewportMapping.halfBlock(
                    sourceWidth: info.width, sourceHeight: info.height, sampleAspectRatio: info.sampleAspectRatio.doubleValue,
                    areaColumns: columns, areaRows: rows ?? 8192)
                let picture = try source.frame(at: index, width: mapping.displayWidth, height: mapping.displayHeight)
                let encoder = HalfBlockEncoder(colorMode: palette256 ? .palette256 : .truecolor)
                bytes = encoder.encodeFull(RGBImage(width: picture.width, height: picture.height, pixels: picture.pixels))
            case .sixel, .png:
                let size = fittedSize(info, width: width, height: height)
                let picture = try source.frame(at: index, width: size.width, height: size.height)
                if format == .png {
                    bytes = try PNGWriter.encode(width: picture.width, height: picture.height, rgb: picture.pixels)
                } else {
                    bytes = SixelEncoder(palette: .adaptive(diffusion: false)).encode(RGBImage(width: picture.width, height: picture.height, pixels: picture.pixels))
                }
            }
        } catch {
            fail("\(error)")
        }
        if let output {
            do { try AtomicFileWriter.write(bytes, to: output) } catch { fail("\(error)") }
        } else {
            FileHandle.standardOutput.write(Data(bytes))
        }
    }
}

/// The largest size with the source's display aspect inside `width` x `height` (each defaulting to the
/// source's display size, so no option means the source size with its sample aspect applied).
func fittedSize(_ info: VideoInfo, width: Int?, height: Int?) -> (width: Int, height: Int) {
    let sar = info.sampleAspectRatio.doubleValue
    let naturalWidth = Int((Double(info.width) * (sar.isFinite && sar > 0 ? sar : 1)).rounded())
    let mapping = ViewportMapping(
        sourceWidth: info.width, sourceHeight: info.height, sampleAspectRatio: sar,
        areaColumns: width ?? (height == nil ? naturalWidth : 1 << 16), areaRows: height ?? (width == nil ? info.height : 1 << 16),
        pixelsPerCellX: 1, pixelsPerCellY: 1)
    return (mapping.displayWidth, mapping.displayHeight)
}

enum TerminalSizeDefault {
    /// The terminal's width when standard output is one, else 80.
    static func columns() -> Int {
        if let size = TerminalCapabilities.windowSize(fd: STDOUT_FILENO), size.columns > 0 { return size.columns }
        return 80
    }
}
