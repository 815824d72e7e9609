/// An exact fraction, as FFmpeg stores time bases, frame rates and aspect ratios.
package struct Rational: Sendable, Codable, Equatable, Hashable, CustomStringConvertible {
    package var num: Int
    package var den: Int

    package init(num: Int, den: Int) {
        self.num = num
        self.den = den
    }

    /// The value as a Double (0 when the denominator is 0).
    package var doubleValue: Double {
        den == 0 ? 0 : Double(num) / Double(den)
    }

    /// True when both parts are positive.
    package var isPositive: Bool { num > 0 && den > 0 }

    package var description: String { "\(num)/\(den)" }
}

/// What a video or image file holds, as far as Spotter cares: geometry, timing and frame count.
/// Frame numbering and timestamps come from the frame index built when the file is opened.
package struct VideoInfo: Sendable, Codable, Equatable {
    /// The path the source was opened with.
    package var path: String
    /// Demuxer name as FFmpeg reports it, e.g. "mov,mp4,m4a,3gp,3g2,mj2".
    package var containerFormat: String
    /// Codec name, e.g. "h264".
    package var codec: String
    /// Frame width in pixels as displayed: after the display matrix's rotation. Frames are decoded in this
    /// orientation, and every coordinate Spotter stores refers to it.
    package var width: Int
    /// Frame height in pixels as displayed.
    package var height: Int
    /// Coded frame width in pixels, before any display rotation.
    package var codedWidth: Int
    /// Coded frame height in pixels, before any display rotation.
    package var codedHeight: Int
    /// Pixel aspect ratio of the displayed frame (1/1 when the file does not say; inverted by a quarter turn).
    package var sampleAspectRatio: Rational
    /// Counter-clockwise degrees the coded frames are turned for display, from the stream's display matrix, as
    /// ffprobe and av_display_rotation_get report it (a phone's portrait clip shows -90). 0 when there is no
    /// display matrix. Decoded frames are turned by the nearest multiple of 90 degrees, as ffmpeg's autorotate.
    package var rotation: Int
    /// Nominal frame rate; `fpsSource` says where it came from.
    package var fps: Rational
    /// "avg_frame_rate" (the stream's average rate, preferred), "r_frame_rate" (FFmpeg's guess of
    /// the base rate, when no average is known) or "timestamps" (derived from the frame index).
    package var fpsSource: String
    /// The stream time base that timestamps are counted in.
    package var timeBase: Rational
    /// Presentation time of frame 0 in the stream's own clock, seconds. `frameTimestamps` are
    /// relative to it.
    package var startTime: Double
    /// End of the last frame relative to frame 0's start, seconds (0 for a still image).
    package var duration: Double
    /// Number of frames in the frame index; frames are numbered 0..<frameCount.
    package var frameCount: Int
    /// True when the whole stream was read to its end while indexing (false when a read error
    /// stopped the scan early, e.g. a truncated file).
    package var frameCountIsExact: Bool
    /// True for a single-frame image file (PNG, JPEG, ...).
    package var isStillImage: Bool
    /// True when frames are decoded in a different order from their presentation (B-frames).
    package var hasBFrames: Bool
    /// How the frame index was built: "packets" (demuxed timestamps, fast seeking) or "decoding"
    /// (the packets carry no usable timestamps; random access rewinds and decodes forward).
    package var indexMethod: String
}

/// One decoded frame as packed RGB24 (`width * 3` bytes per row, no padding).
package struct Frame: Sendable, Equatable {
    /// Frame number in presentation order.
    package var index: Int
    /// Presentation time in seconds relative to frame 0.
    package var timestamp: Double
    package var width: Int
    package var height: Int
    /// Row-major RGB bytes, `width * height * 3` of them.
    package var pixels: [UInt8]

    package init(index: Int, timestamp: Double, width: Int, height: Int, pixels: [UInt8]) {
        self.index = index
        self.timestamp = timestamp
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
