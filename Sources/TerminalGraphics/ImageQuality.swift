import Foundation

/// How close a displayed picture is to its source.
package enum ImageQuality {
    /// Peak signal-to-noise ratio in dB over all channels of two same-sized RGB images (infinity when equal, nil
    /// when the sizes differ).
    package static func psnr(_ source: RGBImage, _ shown: RGBImage) -> Double? {
        guard source.width == shown.width, source.height == shown.height, source.isConsistent, shown.isConsistent
        else { return nil }
        var squared: UInt64 = 0
        source.pixels.withUnsafeBufferPointer { a in
            shown.pixels.withUnsafeBufferPointer { b in
                for i in 0..<a.count {
                    let d = Int(a[i]) - Int(b[i])
                    squared &+= UInt64(d * d)
                }
            }
        }
        guard squared > 0 else { return .infinity }
        let mse = Double(squared) / Double(source.pixels.count)
        return 10 * log10(255 * 255 / mse)
    }

    /// The picture a sixel string paints (its raster size; unpainted pixels black), or nil when it is not one.
    package static func sixelPicture(_ bytes: [UInt8]) -> RGBImage? {
        let decoded = SixelDecoder.decode(bytes)
        guard decoded.rasterWidth > 0, decoded.rasterHeight > 0,
            decoded.pixels.count == decoded.rasterWidth * decoded.rasterHeight
        else { return nil }
        var pixels: [UInt8] = []
        pixels.reserveCapacity(decoded.pixels.count * 3)
        for pixel in decoded.pixels { pixels.append(contentsOf: [pixel.r, pixel.g, pixel.b]) }
        return RGBImage(width: decoded.rasterWidth, height: decoded.rasterHeight, pixels: pixels)
    }
}
