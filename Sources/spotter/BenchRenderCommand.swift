import Basics
import ArgumentParser
import Foundation
import Media
import SpotterUI
import TerminalGraphics

struct BenchRenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Decode, seek, half-block and sixel encode speeds, next to chafa and img2sixel.",
        discussion: """
            Times the real decoder and encoders on the video's frames: half-block at 160x48 cells (diffed, \
            as in playback), sixel at 640x360, sequential decode, and random seeks. When chafa and img2sixel \
            are installed (Scripts/bench-render installs them), the same frames are rendered by them in the \
            same run and the ratios are printed. Build with -c release before measuring.
            """)

    @Argument(help: "Video to measure on.")
    var file: String = "Samples/shapes.mp4"

    @Option(help: "Number of frames to encode.")
    var frames: Int = 150

    @Option(help: "Number of random seeks.")
    var seeks: Int = 200

    @Flag(help: "Skip the chafa / img2sixel comparison.")
    var noReference = false

    @Flag(help: "Print the results as JSON.")
    var json = false

    func run() throws {
        let source: VideoSource
        do { source = try VideoSource(path: file) } catch { fail("\(error)") }
        let info = source.info
        let count = min(frames, info.frameCount)
        var results: [(String, String)] = []
        func report(_ name: String, _ value: String) {
            results.append((name, value))
            if !json { print("\(name.padding(toLength: 60, withPad: " ", startingAt: 0)) \(value)") }
        }
        if !json { print("spotter bench render: \(file), \(info.width)x\(info.height), \(count) frames, \(CPUInfo.summary)") }

        // Sequential decode at source size and at the half-block size, each on a fresh source.
        func decodeRate(width: Int, height: Int) throws -> Double {
            try MediaBenchmarks.decodeRate(path: file, width: width, height: height, frameLimit: frames).framesPerSecond
        }
        let halfFit = ViewportMapping.halfBlock(
            sourceWidth: info.width, sourceHeight: info.height, sampleAspectRatio: info.sampleAspectRatio.doubleValue,
            areaColumns: 160, areaRows: 48)
        do {
            report("decode, source size (frames/s)", String(format: "%.1f", try decodeRate(width: info.width, height: info.height)))
            report("decode + scale to \(halfFit.displayWidth)x\(halfFit.displayHeight) (frames/s)", String(format: "%.1f", try decodeRate(width: halfFit.displayWidth, height: halfFit.displayHeight)))

            // Random seeks: a fresh source, uniformly random frame indices with a fixed seed.
            var generator = SplitMix64(seed: 42)
            let seeker = try VideoSource(path: file)
            var latencies: [Double] = []
            for _ in 0..<seeks {
                let target = Int(generator.next() % UInt64(info.frameCount))
                let start = monotonicSeconds()
                _ = try seeker.frame(at: target)
                latencies.append((monotonicSeconds() - start) * 1000)
            }
            report("random seek p50 (ms)", String(format: "%.2f", percentile(latencies, 50)))
            report("random seek p95 (ms)", String(format: "%.2f", percentile(latencies, 95)))

            // The frames to encode, decoded once at the size an encoder gets them.
            func images(width: Int, height: Int) throws -> [RGBImage] {
                try (0..<count).map { i in
                    let f = try source.frame(at: i, width: width, height: height)
                    return RGBImage(width: f.width, height: f.height, pixels: f.pixels)
                }
            }

            // Half-block: the frames as the viewer shows them in 160x48 cells, through the diffed encoder.
            let canvasSmall = try images(width: halfFit.displayWidth, height: halfFit.displayHeight)
            for (label, mode, tolerance) in [
                ("truecolor", HalfBlockEncoder.ColorMode.truecolor, 0),
                ("truecolor, playback tolerance \(TerminalPresenter.playbackTolerance)", .truecolor, TerminalPresenter.playbackTolerance),
                ("truecolor, tolerance 8", .truecolor, 8), ("256-colour", .palette256, 0),
            ] {
                let run = GraphicsBenchmarks.halfBlock(
                    frames: canvasSmall, colorMode: mode, tolerance: tolerance, row: halfFit.imageRow,
                    column: halfFit.imageColumn)
                report("half-block \(label) 160x48 (frames/s)", String(format: "%.0f", run.framesPerSecond))
                report("half-block \(label) 160x48 (KB/frame)", String(format: "%.1f", Double(run.totalBytes) / Double(count) / 1000))
            }

            // Sixel at 640x360, with each palette; quality is the PSNR of the decoded sixel against the frame.
            let sixelFit = fittedSize(info, width: 640, height: 360)
            let sixelFrames = try images(width: sixelFit.width, height: sixelFit.height)
            let size = "\(sixelFit.width)x\(sixelFit.height)"
            var sixelRate = 0.0
            for (label, choice) in [
                ("fixed palette", SixelEncoder.PaletteChoice.fixed), ("adaptive palette", .adaptive(diffusion: false)),
                ("adaptive palette + diffusion", .adaptive(diffusion: true)),
            ] {
                let run = GraphicsBenchmarks.sixel(frames: sixelFrames, palette: choice)
                if choice == .fixed { sixelRate = run.framesPerSecond }
                let encoder = SixelEncoder(palette: choice)
                let quality = meanPSNR(sixelFrames) { encoder.encode($0) }
                report("sixel \(label) \(size) (ms/frame)", String(format: "%.2f", run.millisecondsPerFrame))
                report("sixel \(label) \(size) (KB/frame)", String(format: "%.1f", run.bytesPerFrame / 1000))
                report("sixel \(label) \(size) (PSNR dB)", String(format: "%.2f", quality))
            }

            if !noReference {
                let reference = ReferenceRenderers(frames: sixelFrames)
                defer { reference.cleanUp() }
                let halfRate = results.first { $0.0.hasPrefix("half-block truecolor 160x48 (frames/s)") }.flatMap { Double($0.1) } ?? .nan
                if let chafa = reference.chafaHalfBlockRate() {
                    report("chafa vhalf 160x48 (frames/s, minus PNG decode)", String(format: "%.0f", chafa))
                    report("ratio half-block: spotter / chafa", String(format: "%.1fx", halfRate / chafa))
                } else {
                    report("chafa", "not installed (Scripts/bench-render installs it)")
                }
                if let img2sixel = reference.img2sixelRate() {
                    report("img2sixel -b xterm256 -d none (frames/s, minus PNG decode)", String(format: "%.0f", img2sixel))
                    report("ratio sixel fixed: spotter / img2sixel", String(format: "%.1fx", sixelRate / img2sixel))
                } else {
                    report("img2sixel", "not installed (Scripts/bench-render installs it)")
                }
                // img2sixel's own default: a median-cut palette of 256 colours with its automatic diffusion.
                if let adaptive = reference.img2sixelAdaptive() {
                    report("img2sixel -p 256 (ms/frame, minus PNG decode)", String(format: "%.2f", adaptive.milliseconds))
                    report("img2sixel -p 256 \(size) (PSNR dB)", String(format: "%.2f", meanPSNR(adaptive.pictures)))
                }
            }
        } catch {
            fail("\(error)")
        }
        if json {
            let object = Dictionary(results, uniquingKeysWith: { a, _ in a })
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

/// Runs chafa and img2sixel over the same frames (as PNG files) and times them. PNG decoding is part of
/// what they do, so it is measured separately (chafa rendering a 2x1-cell picture) and taken out.
final class ReferenceRenderers {
    let directory: URL
    let files: [String]
    let frames: [RGBImage]

    init(frames: [RGBImage]) {
        self.frames = frames
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spotter-bench-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        directory = dir
        files = frames.enumerated().compactMap { i, image in
            let path = dir.appendingPathComponent(String(format: "f%04d.png", i)).path
            guard (try? PNGWriter.write(path: path, width: image.width, height: image.height, rgb: image.pixels)) != nil else { return nil }
            return path
        }
    }

    func cleanUp() { try? FileManager.default.removeItem(at: directory) }

    static func find(_ tool: String) -> String? {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(tool)") {
            return "\(dir)/\(tool)"
        }
        return nil
    }

    /// Seconds the tool takes over all files (one process, output discarded).
    func time(_ tool: String, _ arguments: [String]) -> Double? {
        guard let path = ReferenceRenderers.find(tool) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments + files
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        let start = monotonicSeconds()
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return monotonicSeconds() - start
    }

    private lazy var decodeSeconds: Double? = time("chafa", ["--animate", "off", "-f", "symbols", "-s", "2x1"])

    func chafaHalfBlockRate() -> Double? {
        guard let total = time("chafa", ["--animate", "off", "-f", "symbols", "-c", "full", "--symbols", "vhalf", "-s", "160x48"]) else { return nil }
        return Double(files.count) / max(1e-6, total - (decodeSeconds ?? 0))
    }

    /// img2sixel with a 256-colour median-cut palette and its default diffusion: time per frame and the pictures
    /// its output decodes to, paired with the frames.
    func img2sixelAdaptive() -> (milliseconds: Double, pictures: [(RGBImage, RGBImage?)])? {
        guard let total = time("img2sixel", ["-p", "256"]), let tool = ReferenceRenderers.find("img2sixel") else {
            return nil
        }
        let pictures = zip(frames, files).map { frame, file -> (RGBImage, RGBImage?) in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = ["-p", "256", file]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            guard (try? process.run()) != nil else { return (frame, nil) }
            let bytes = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (frame, ImageQuality.sixelPicture([UInt8](bytes)))
        }
        return (max(0, total - (decodeSeconds ?? 0)) * 1000 / Double(max(1, files.count)), pictures)
    }

    func img2sixelRate() -> Double? {
        guard let total = time("img2sixel", ["-b", "xterm256", "-d", "none"]) else { return nil }
        return Double(files.count) / max(1e-6, total - (decodeSeconds ?? 0))
    }
}

/// Mean PSNR (dB) of the pictures an encoder's output decodes to, against the frames it was given.
func meanPSNR(_ frames: [RGBImage], encode: (RGBImage) -> [UInt8]) -> Double {
    meanPSNR(frames.map { ($0, ImageQuality.sixelPicture(encode($0))) })
}

/// Mean PSNR (dB) over (source, shown) pairs; a picture that did not decode or has the wrong size counts as NaN.
func meanPSNR(_ pairs: [(RGBImage, RGBImage?)]) -> Double {
    guard !pairs.isEmpty else { return .nan }
    let values = pairs.map { source, shown in shown.flatMap { ImageQuality.psnr(source, $0) } ?? .nan }
    return values.reduce(0, +) / Double(values.count)
}
