import Foundation

@testable import Tracking

/// A smooth texture: 128 plus `amplitude` times the sum of sin(a u + b v + phase) over `waves`, sampled at
/// (u, v) = (x - dx, y - dy), so the same texture shifted by any amount is known exactly.
func sinusoidTexture(
    width: Int, height: Int, waves: [(a: Double, b: Double, phase: Double)], amplitude: Double, dx: Double = 0,
    dy: Double = 0
) -> GrayImage {
    var pixels = [Float](repeating: 0, count: width * height)
    for y in 0..<height {
        for x in 0..<width {
            let u = Double(x) - dx
            let v = Double(y) - dy
            var s = 128.0
            for (a, b, phase) in waves { s += amplitude * sin(a * u + b * v + phase) }
            pixels[y * width + x] = Float(s)
        }
    }
    return GrayImage(width: width, height: height, pixels: pixels)
}
