import Foundation
import TerminalGraphics
import Testing

/// Largest distance between a channel value and the centre of its 6-bit look-up bucket (values 4q...4q+3,
/// centre 4q + 1.5), taken over three channels.
private let bucketRadius = 1.5 * 3.0.squareRoot()

/// Euclidean distance from `color` to the nearest palette entry.
private func nearestPaletteDistance(_ color: RGB) -> Double {
    Double(SixelEncoder.fixedPalette.map { squaredDistance($0, color) }.min() ?? 0).squareRoot()
}

/// Decodes and checks the structure every encoder output must have; returns the decoder for pixel checks.
private func decodeChecked(_ bytes: [UInt8], width: Int, height: Int, _ label: String) -> SixelDecoder {
    let decoded = SixelDecoder.decode(bytes)
    #expect(decoded.errors.isEmpty, "\(label): \(decoded.errors.prefix(3))")
    #expect(Array(bytes.prefix(8)) == Array("\u{1B}P0;1;0q".utf8), "\(label)")
    #expect(decoded.introducerParameters == [0, 1, 0])
    #expect(decoded.rasterWidth == width && decoded.rasterHeight == height, "\(label)")
    #expect(decoded.terminated)
    #expect(decoded.trailingEmptyRuns == 0, "\(label): trailing empty runs")
    #expect(decoded.emptySelections == 0, "\(label): registers selected without pixels")
    #expect(decoded.definitionPercents.count <= SixelEncoder.registerCount)
    #expect(decoded.paintCounts.allSatisfy { $0 == 1 }, "\(label): every pixel painted exactly once")
    return decoded
}

@Suite("Sixel encoder")
struct SixelEncoderTests {
    @Test("The fixed palette: 216 cube entries at 0/51/.../255 and 40 distinct greys")
    func palette() {
        let palette = SixelEncoder.fixedPalette
        #expect(palette.count == 256)
        #expect(Set(palette).count == 256)
        let levels: Set<UInt8> = [0, 51, 102, 153, 204, 255]
        let cube = palette.filter { levels.contains($0.r) && levels.contains($0.g) && levels.contains($0.b) }
        #expect(cube.count == 216)
        let greys = palette.filter { $0.r == $0.g && $0.g == $0.b && !levels.contains($0.r) }
        #expect(greys.count == 40)
    }

    @Test("Decoding our output gives back the image: raster = size, every pixel near-optimal for the palette")
    func roundTrip() {
        var random = SeededRandom(seed: 21)
        var sizes: [(Int, Int)] = [(1, 1), (1, 6), (1, 7), (7, 5), (13, 13), (300, 1), (64, 12), (5, 37)]
        for _ in 0..<30 {
            sizes.append((Int.random(in: 1...60, using: &random), Int.random(in: 1...40, using: &random)))
        }
        for (width, height) in sizes {
            let image = random.image(width: width, height: height)
            let bytes = SixelEncoder().encode(image)
            let decoded = decodeChecked(bytes, width: width, height: height, "\(width)x\(height)")
            guard decoded.errors.isEmpty else { continue }
            // The register chosen is the nearest to the centre of the pixel's look-up bucket, so by the
            // triangle inequality it is at most 2 * bucketRadius (5.2) farther than the true nearest entry.
            var worstExcess = 0.0
            for y in 0..<height {
                for x in 0..<width {
                    guard let source = image.pixel(x: x, y: y) else { continue }
                    let error = Double(squaredDistance(decoded.pixel(x: x, y: y), source)).squareRoot()
                    worstExcess = max(worstExcess, error - nearestPaletteDistance(source))
                }
            }
            #expect(worstExcess <= 2 * bucketRadius + 1e-9, "\(width)x\(height): excess \(worstExcess)")
        }
    }

    @Test("Registers in the header are exactly the ones the image uses")
    func onlyUsedRegistersDefined() {
        let image = RGBImage(width: 10, height: 10, fill: RGB(r: 255, g: 0, b: 0))
        let decoded = decodeChecked(SixelEncoder().encode(image), width: 10, height: 10, "solid")
        #expect(decoded.definitionPercents.count == 1)
        #expect(decoded.definitionPercents.values.first.map { [$0.0, $0.1, $0.2] } == [100, 0, 0])
    }

    @Test("Runs are compressed with ! and bands are separated by -")
    func runLengthCompression() {
        let image = RGBImage(width: 100, height: 12, fill: RGB(r: 0, g: 102, b: 204))
        let bytes = SixelEncoder().encode(image)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("!100~-"))
        #expect(text.hasSuffix("!100~\u{1B}\\"))
        let decoded = decodeChecked(bytes, width: 100, height: 12, "runs")
        #expect(decoded.repeatTokens == 2)
        #expect(bytes.count < 60)
    }

    @Test("Ordered dithering keeps the mean colour of flat patches and stays well formed")
    func dithering() {
        var random = SeededRandom(seed: 22)
        let patch = 8
        var image = RGBImage(width: 8 * patch, height: 6 * patch)
        var colors: [RGB] = []
        for by in 0..<6 {
            for bx in 0..<8 {
                // Strongly coloured (channel spread >= 90), so the grey ramp never competes with the cube.
                var color: RGB
                repeat {
                    color = RGB(
                        r: UInt8.random(in: 30...225, using: &random), g: UInt8.random(in: 30...225, using: &random),
                        b: UInt8.random(in: 30...225, using: &random))
                } while max(color.r, color.g, color.b) - min(color.r, color.g, color.b) < 90
                colors.append(color)
                for y in (by * patch)..<((by + 1) * patch) {
                    for x in (bx * patch)..<((bx + 1) * patch) { image.setPixel(x: x, y: y, color) }
                }
            }
        }
        let dithered = SixelEncoder(dither: true).encode(image)
        let decoded = decodeChecked(dithered, width: image.width, height: image.height, "dither")
        guard decoded.errors.isEmpty else { return }
        var worst = 0.0
        for by in 0..<6 {
            for bx in 0..<8 {
                var sum = (0.0, 0.0, 0.0)
                for y in (by * patch)..<((by + 1) * patch) {
                    for x in (bx * patch)..<((bx + 1) * patch) {
                        let p = decoded.pixel(x: x, y: y)
                        sum = (sum.0 + Double(p.r), sum.1 + Double(p.g), sum.2 + Double(p.b))
                    }
                }
                let n = Double(patch * patch)
                let source = colors[by * 8 + bx]
                worst = max(
                    worst, abs(sum.0 / n - Double(source.r)), abs(sum.1 / n - Double(source.g)),
                    abs(sum.2 / n - Double(source.b)))
            }
        }
        // Without dithering a patch is off by up to half a cube step (25.5); with an 8x8 Bayer matrix of one
        // step the mean is off by the offsets' rounding and the 4-level look-up bucket (a few units).
        #expect(worst <= 6, "worst patch mean error \(worst)")
        #expect(dithered != SixelEncoder().encode(image))
    }

    @Test("The positioned variant saves the cursor, moves with CUP and restores it")
    func positioned() {
        var random = SeededRandom(seed: 23)
        let image = random.image(width: 9, height: 8)
        let plain = SixelEncoder().encode(image)
        let placed = SixelEncoder().encode(image, row: 4, column: 10)
        let prefix = Array("\u{1B}7\u{1B}[5;11H".utf8)
        #expect(Array(placed.prefix(prefix.count)) == prefix)
        #expect(Array(placed.suffix(2)) == [0x1B, 0x38])
        #expect(Array(placed[prefix.count..<(placed.count - 2)]) == plain)
    }

    @Test("Empty and inconsistent images never trap")
    func badInput() {
        let empty = SixelDecoder.decode(SixelEncoder().encode(RGBImage(width: 0, height: 5)))
        #expect(empty.errors.isEmpty)
        #expect(empty.rasterWidth == 0 && empty.rasterHeight == 0)
        var broken = RGBImage(width: 6, height: 6, fill: RGB(r: 255, g: 255, b: 255))
        broken.pixels.removeLast(30)
        let decoded = decodeChecked(SixelEncoder().encode(broken), width: 6, height: 6, "broken")
        #expect(decoded.pixel(x: 0, y: 0) == RGB(r: 255, g: 255, b: 255))
        #expect(decoded.pixel(x: 5, y: 5) == RGB(r: 0, g: 0, b: 0))
        let tooWide = SixelDecoder.decode(
            SixelEncoder().encode(RGBImage(width: SixelEncoder.maximumSize + 1, height: 1)))
        #expect(tooWide.errors.isEmpty && tooWide.rasterWidth == 0)
    }

    @Test("ImageMagick decodes our output to the same pixels as the test decoder")
    func imageMagickCrossCheck() throws {
        let convert = "/usr/bin/convert"
        guard FileManager.default.isExecutableFile(atPath: convert) else {
            print("SKIPPED: ImageMagick cross-check (\(convert) not installed; apt-get install imagemagick)")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sixel-check-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SeededRandom(seed: 24)
        for (index, (width, height, dither)) in [(37, 29, false), (64, 13, true), (5, 1, false), (120, 90, false)]
            .enumerated()
        {
            let image = random.image(width: width, height: height)
            let bytes = SixelEncoder(dither: dither).encode(image)
            let ours = SixelDecoder.decode(bytes)
            let sixelFile = directory.appendingPathComponent("frame\(index).six")
            let pngFile = directory.appendingPathComponent("frame\(index).png")
            try Data(bytes).write(to: sixelFile)
            // ImageMagick 6.9.11 keeps a decoded sixel as a palette image whose pixels read back as black
            // through `rgb:-`; going through PNG writes the palette colours, so decode in two steps.
            _ = try run(convert, ["sixel:\(sixelFile.path)", "png:\(pngFile.path)"])
            let rgb = try run(convert, [pngFile.path, "-depth", "8", "rgb:-"])
            #expect(rgb.count == width * height * 3, "ImageMagick returned \(rgb.count) bytes")
            guard rgb.count == width * height * 3 else { continue }
            var worst = 0
            for y in 0..<height {
                for x in 0..<width {
                    let offset = (y * width + x) * 3
                    let p = ours.pixel(x: x, y: y)
                    worst = max(
                        worst, abs(Int(rgb[offset]) - Int(p.r)), abs(Int(rgb[offset + 1]) - Int(p.g)),
                        abs(Int(rgb[offset + 2]) - Int(p.b)))
                }
            }
            // Both turn percent into 8 bits by rounding p * 255 / 100; allow one unit for a different rounding.
            #expect(worst <= 1, "\(width)x\(height): ImageMagick differs by \(worst)")
        }
    }
}

/// Runs a program and returns its standard output.
private func run(_ path: String, _ arguments: [String]) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return [UInt8](data)
}
