import TerminalGraphics
import Foundation

/// Timing of the real encoders on caller-supplied frames (`spotter bench render`), plus synthetic frames
/// for development. Not used by tests: wall-clock numbers depend on the machine.
package enum GraphicsBenchmarks {
    /// Throughput of one encoder run over a sequence of frames.
    package struct Result: Sendable, Equatable {
        package var frames: Int
        package var seconds: Double
        package var totalBytes: Int

        package var framesPerSecond: Double { seconds > 0 ? Double(frames) / seconds : 0 }
        package var millisecondsPerFrame: Double { frames > 0 ? seconds * 1000 / Double(frames) : 0 }
        package var bytesPerFrame: Double { frames > 0 ? Double(totalBytes) / Double(frames) : 0 }
    }

    /// Encodes the frames in order with one diffing half-block encoder (as during playback), drawn at the
    /// 0-based screen cell (`row`, `column`), `passes` times over the sequence. The first frame of each pass is
    /// a full repaint (the encoder is invalidated).
    package static func halfBlock(
        frames: [RGBImage], colorMode: HalfBlockEncoder.ColorMode = .truecolor, tolerance: Int = 0, row: Int = 0,
        column: Int = 0, passes: Int = 1
    ) -> Result {
        var encoder = HalfBlockEncoder(colorMode: colorMode, tolerance: tolerance)
        var bytes = 0
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<max(1, passes) {
            encoder.invalidate()
            for frame in frames {
                bytes += encoder.encode(frame, row: row, column: column).count
            }
        }
        return Result(frames: frames.count * max(1, passes), seconds: seconds(clock.now - start), totalBytes: bytes)
    }

    /// Encodes every frame as a complete sixel image, `passes` times over the sequence.
    package static func sixel(
        frames: [RGBImage], dither: Bool = false, palette: SixelEncoder.PaletteChoice = .fixed, passes: Int = 1
    ) -> Result {
        let encoder = SixelEncoder(dither: dither, palette: palette)
        var bytes = 0
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<max(1, passes) {
            for frame in frames {
                bytes += encoder.encode(frame).count
            }
        }
        return Result(frames: frames.count * max(1, passes), seconds: seconds(clock.now - start), totalBytes: bytes)
    }

    /// Moving synthetic frames: flat colour bars, a smooth gradient and a bright square that moves one
    /// pixel per frame, plus optional per-pixel noise of +-`noise` (a camera-noise worst case). Deterministic.
    package static func syntheticFrames(width: Int, height: Int, count: Int, noise: Int = 0) -> [RGBImage] {
        let bars: [RGB] = [
            RGB(r: 192, g: 192, b: 192), RGB(r: 192, g: 192, b: 0), RGB(r: 0, g: 192, b: 192),
            RGB(r: 0, g: 192, b: 0), RGB(r: 192, g: 0, b: 192), RGB(r: 192, g: 0, b: 0), RGB(r: 0, g: 0, b: 192),
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var frames: [RGBImage] = []
        let w = max(1, width)
        let h = max(1, height)
        for index in 0..<max(0, count) {
            var image = RGBImage(width: w, height: h)
            image.pixels.withUnsafeMutableBufferPointer { out in
                for y in 0..<h {
                    for x in 0..<w {
                        var color: RGB
                        if y < h / 2 {
                            color = bars[min(bars.count - 1, x * bars.count / w)]
                        } else {
                            let level = UInt8(truncatingIfNeeded: (x + index) * 255 / max(1, w))
                            color = RGB(r: level, g: UInt8(truncatingIfNeeded: y * 255 / h), b: 255 &- level)
                        }
                        let square = max(4, h / 6)
                        let squareX = (index * 2) % max(1, w - square)
                        if x >= squareX && x < squareX + square && y >= h / 3 && y < h / 3 + square {
                            color = RGB(r: 255, g: 255, b: 255)
                        }
                        let offset = (y * w + x) * 3
                        if noise > 0 {
                            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                            let n = Int((state >> 33) % UInt64(2 * noise + 1)) - noise
                            out[offset] = UInt8(min(255, max(0, Int(color.r) + n)))
                            out[offset + 1] = UInt8(min(255, max(0, Int(color.g) + n)))
                            out[offset + 2] = UInt8(min(255, max(0, Int(color.b) + n)))
                        } else {
                            out[offset] = color.r
                            out[offset + 1] = color.g
                            out[offset + 2] = color.b
                        }
                    }
                }
            }
            frames.append(image)
        }
        return frames
    }

    private static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
