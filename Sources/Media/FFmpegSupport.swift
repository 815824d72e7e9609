import CFFmpeg

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// MARK: - Logging

/// FFmpeg logs to stderr, which would draw over the terminal UI. It is silenced unless
/// SPOTTER_FFMPEG_LOG is set (to a level name such as "warning" or "debug", or a number).
enum FFmpegLogging {
    static let configured: Void = {
        guard let raw = getenv("SPOTTER_FFMPEG_LOG") else {
            av_log_set_level(AV_LOG_QUIET)
            return
        }
        let value = String(cString: raw).lowercased()
        let named: [String: Int32] = [
            "quiet": AV_LOG_QUIET, "panic": AV_LOG_PANIC, "fatal": AV_LOG_FATAL, "error": AV_LOG_ERROR,
            "warning": AV_LOG_WARNING, "info": AV_LOG_INFO, "verbose": AV_LOG_VERBOSE,
            "debug": AV_LOG_DEBUG, "trace": AV_LOG_TRACE,
        ]
        av_log_set_level(named[value] ?? Int32(value) ?? AV_LOG_WARNING)
    }()
}

/// FFmpeg's own text for an error code (av_strerror).
func ffmpegErrorText(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    if av_strerror(code, &buffer, buffer.count) < 0 {
        return "FFmpeg error \(code)"
    }
    return String(cString: buffer)
}

let ffmpegEOF = spotter_averror_eof()
let ffmpegEAGAIN = spotter_averror_eagain()
let ffmpegNoPTS = spotter_av_nopts_value()

// MARK: - Owned C resources

/// Owns an opened AVFormatContext (demuxer) and closes it.
final class FormatContextOwner {
    var pointer: UnsafeMutablePointer<AVFormatContext>?

    init(pointer: UnsafeMutablePointer<AVFormatContext>?) {
        self.pointer = pointer
    }

    deinit {
        if pointer != nil {
            avformat_close_input(&pointer)
        }
    }
}

/// Owns an AVCodecContext (decoder or encoder) and frees it.
final class CodecContextOwner {
    var pointer: UnsafeMutablePointer<AVCodecContext>?

    init(pointer: UnsafeMutablePointer<AVCodecContext>?) {
        self.pointer = pointer
    }

    deinit {
        if pointer != nil {
            avcodec_free_context(&pointer)
        }
    }
}

/// Owns an AVPacket and frees it.
final class PacketOwner {
    let pointer: UnsafeMutablePointer<AVPacket>

    init?() {
        guard let packet = av_packet_alloc() else { return nil }
        pointer = packet
    }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&packet)
    }
}

/// Owns an AVFrame and frees it.
final class FrameOwner {
    let pointer: UnsafeMutablePointer<AVFrame>

    init?() {
        guard let frame = av_frame_alloc() else { return nil }
        pointer = frame
    }

    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&frame)
    }
}

/// Owns a swscale context plus an aligned scratch buffer that it scales into.
final class ScalerOwner {
    var context: OpaquePointer?
    /// Parameters the context was configured for; a change rebuilds the colour setup.
    var configuration: ScalerConfiguration?
    private(set) var scratch: UnsafeMutablePointer<UInt8>?
    private(set) var scratchSize = 0

    func scratchBuffer(size: Int) -> UnsafeMutablePointer<UInt8>? {
        if size > scratchSize || scratch == nil {
            av_free(scratch)
            scratch = av_malloc(size)?.assumingMemoryBound(to: UInt8.self)
            scratchSize = scratch == nil ? 0 : size
        }
        return scratch
    }

    deinit {
        sws_freeContext(context)
        av_free(scratch)
    }
}

struct ScalerConfiguration: Equatable {
    var sourceWidth: Int32
    var sourceHeight: Int32
    var sourceFormat: Int32
    var targetWidth: Int32
    var targetHeight: Int32
    var colorspace: UInt32
    var colorRange: UInt32
}
