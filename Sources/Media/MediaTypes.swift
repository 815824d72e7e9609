/// An exact fraction, as FFmpeg stores time bases, frame rates and aspect ratios.
public struct Rational: Sendable, Codable, Equatable, Hashable, CustomStringConvertible {
    public var num: Int
    public var den: Int

    public init(num: Int, den: Int) {
        self.num = num
        self.den = den
    }

    /// The value as a Double (0 when the denominator is 0).
    public var doubleValue: Double {
        den == 0 ? 0 : Double(num) / Double(den)
    }

    /// True when both parts are positive.
    public var isPositive: Bool { num > 0 && den > 0 }

    public var description: String { "\(num)/\(den)" }
}

/// What a video or image file holds, as far as Spotter cares: geometry, timing and frame count.
/// Frame numbering and timestamps come from the frame index built when the file is opened.
public struct VideoInfo: Sendable, Codable, Equatable {
    /// The path the source was opened with.
    public var path: String
    /// Demuxer name as FFmpeg reports it, e.g. "mov,mp4,m4a,3gp,3g2,mj2".
    public var containerFormat: String
    /// Codec name, e.g. "h264".
    public var codec: String
    /// Coded frame width in pixels, before any display rotation.
    public var width: Int
    /// Coded frame height in pixels, before any display rotation.
    public var height: Int
    /// Pixel aspect ratio (1/1 when the file does not say).
    public var sampleAspectRatio: Rational
    /// Counter-clockwise degrees the coded frames must be turned for display, from the stream's
    /// display matrix, as ffprobe and av_display_rotation_get report it (a phone's portrait clip
    /// shows -90). 0 when there is no display matrix. Frames are returned unrotated.
    public var rotation: Int
    /// Nominal frame rate; `fpsSource` says where it came from.
    public var fps: Rational
    /// "avg_frame_rate" (the stream's average rate, preferred), "r_frame_rate" (FFmpeg's guess of
    /// the base rate, when no average is known) or "timestamps" (derived from the frame index).
    public var fpsSource: String
    /// The stream time base that timestamps are counted in.
    public var timeBase: Rational
    /// Presentation time of frame 0 in the stream's own clock, seconds. `frameTimestamps` are
    /// relative to it.
    public var startTime: Double
    /// End of the last frame relative to frame 0's start, seconds (0 for a still image).
    public var duration: Double
    /// Number of frames in the frame index; frames are numbered 0..<frameCount.
    public var frameCount: Int
    /// True when the whole stream was read to its end while indexing (false when a read error
    /// stopped the scan early, e.g. a truncated file).
    public var frameCountIsExact: Bool
    /// True for a single-frame image file (PNG, JPEG, ...).
    public var isStillImage: Bool
    /// True when frames are decoded in a different order from their presentation (B-frames).
    public var hasBFrames: Bool
    /// How the frame index was built: "packets" (demuxed timestamps, fast seeking) or "decoding"
    /// (the packets carry no usable timestamps; random access rewinds and decodes forward).
    public var indexMethod: String
}

/// One decoded frame as packed RGB24 (`width * 3` bytes per row, no padding).
public struct Frame: Sendable, Equatable {
    /// Frame number in presentation order.
    public var index: Int
    /// Presentation time in seconds relative to frame 0.
    public var timestamp: Double
    public var width: Int
    public var height: Int
    /// Row-major RGB bytes, `width * height * 3` of them.
    public var pixels: [UInt8]

    public init(index: Int, timestamp: Double, width: Int, height: Int, pixels: [UInt8]) {
        self.index = index
        self.timestamp = timestamp
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
