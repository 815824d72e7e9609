import Foundation
import TerminalGraphics
import Testing

/// A picture that is hard for a fixed palette: smooth gradients in three hues, a textured band and small
/// saturated discs, the kinds of content the sample video and real footage have.
private func texturedPicture(width: Int, height: Int, seed: UInt64) -> RGBImage {
    var random = SeededRandom(seed: seed)
    var image = RGBImage(width: width, height: height)
    for y in 0..<height {
        for x in 0..<width {
            let u = Double(x) / Double(width)
            let v = Double(y) / Double(height)
            var r = 40 + 120 * u + 30 * v
            var g = 70 + 60 * v + 20 * sin(u * 9)
            var b = 90 + 90 * (1 - u) * v
            if y > height / 2, y < height / 2 + height / 6 {
                let n = Double(Int.random(in: -12...12, using: &random))
                r += n
                g += n
                b += n
            }
            image.setPixel(
                x: x, y: y,
                RGB(r: UInt8(max(0, min(255, r))), g: UInt8(max(0, min(255, g))), b: UInt8(max(0, min(255, b)))))
        }
    }
    for k in 0..<6 {
        let cx = (k + 1) * width / 7
        let cy = height / 4 + (k % 2) * height / 2
        let color = RGB(r: UInt8(k * 40 + 30), g: UInt8(200 - k * 30), b: UInt8((k * 97) % 256))
        for y in max(0, cy - 5)..<min(height, cy + 5) {
            for x in max(0, cx - 5)..<min(width, cx + 5) where (x - cx) * (x - cx) + (y - cy) * (y - cy) <= 25 {
                image.setPixel(x: x, y: y, color)
            }
        }
    }
    return image
}

@Suite("Sixel with an adaptive palette")
struct AdaptiveSixelTests {
    @Test("Adaptive output is well formed: raster size, one paint a pixel, every register it selects defined")
    func structure() {
        var random = SeededRandom(seed: 3)
        for (width, height) in [(1, 1), (7, 5), (64, 13), (33, 40)] {
            let image = random.image(width: width, height: height)
            for diffusion in [false, true] {
                let bytes = SixelEncoder(palette: .adaptive(diffusion: diffusion)).encode(image)
                let decoded = SixelDecoder.decode(bytes)
                #expect(decoded.errors.isEmpty, "\(width)x\(height): \(decoded.errors.prefix(3))")
                #expect(decoded.rasterWidth == width && decoded.rasterHeight == height)
                #expect(decoded.paintCounts.allSatisfy { $0 == 1 })
                #expect(decoded.definitionPercents.count <= 256)
            }
        }
    }

    @Test("A picture of few colours comes back exactly (no diffusion)")
    func fewColoursExactly() throws {
        // Colours that sixel's whole percents represent exactly: 8-bit values of p * 255 / 100.
        let percents = [0, 20, 35, 50, 65, 80, 100]
        var image = RGBImage(width: 48, height: 30)
        for y in 0..<30 {
            for x in 0..<48 {
                let p = percents[(x / 7 + y / 5) % percents.count]
                let q = percents[(x / 3) % percents.count]
                image.setPixel(
                    x: x, y: y,
                    RGB(
                        r: UInt8((p * 255 + 50) / 100), g: UInt8((q * 255 + 50) / 100),
                        b: UInt8(((100 - p) * 255 + 50) / 100)))
            }
        }
        let shown = try #require(ImageQuality.sixelPicture(SixelEncoder(palette: .adaptive(diffusion: false)).encode(image)))
        #expect(ImageQuality.psnr(image, shown) == .infinity)
    }

    @Test("On textured footage the adaptive palette is at least 5 dB closer than the fixed one")
    func closerThanTheFixedPalette() throws {
        let image = texturedPicture(width: 160, height: 96, seed: 8)
        let fixed = try #require(ImageQuality.sixelPicture(SixelEncoder().encode(image)))
        let adaptive = try #require(ImageQuality.sixelPicture(SixelEncoder(palette: .adaptive(diffusion: false)).encode(image)))
        let diffused = try #require(ImageQuality.sixelPicture(SixelEncoder(palette: .adaptive(diffusion: true)).encode(image)))
        let fixedPSNR = try #require(ImageQuality.psnr(image, fixed))
        let adaptivePSNR = try #require(ImageQuality.psnr(image, adaptive))
        let diffusedPSNR = try #require(ImageQuality.psnr(image, diffused))
        #expect(adaptivePSNR > fixedPSNR + 5, "fixed \(fixedPSNR) dB, adaptive \(adaptivePSNR) dB")
        #expect(diffusedPSNR > fixedPSNR, "fixed \(fixedPSNR) dB, diffused \(diffusedPSNR) dB")
    }

    @Test("The same picture always gives the same bytes")
    func deterministic() {
        let image = texturedPicture(width: 64, height: 40, seed: 2)
        for diffusion in [false, true] {
            let encoder = SixelEncoder(palette: .adaptive(diffusion: diffusion))
            #expect(encoder.encode(image) == encoder.encode(image))
        }
    }

    @Test("PSNR: equal pictures are infinite, a known error gives the known value, sizes must match")
    func psnrValues() {
        let a = RGBImage(width: 4, height: 4, fill: RGB(r: 100, g: 100, b: 100))
        let b = RGBImage(width: 4, height: 4, fill: RGB(r: 110, g: 100, b: 100))
        #expect(ImageQuality.psnr(a, a) == .infinity)
        // MSE = 100 / 3 over the channels: 10 log10(65025 / 33.33) = 32.902 dB.
        #expect(abs((ImageQuality.psnr(a, b) ?? 0) - 32.9020) < 1e-3)
        #expect(ImageQuality.psnr(a, RGBImage(width: 4, height: 5)) == nil)
    }
}
