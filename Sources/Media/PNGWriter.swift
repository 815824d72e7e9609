import Basics
import CFFmpeg
import Foundation

/// Encodes packed RGB24 pixels as an 8-bit truecolour PNG (libavcodec's PNG encoder, Paeth prediction and zlib)
/// and writes it atomically.
package enum PNGWriter {
    /// The PNG file bytes for `width` x `height` RGB pixels (`rgb.count == width * height * 3`).
    package static func encode(width: Int, height: Int, rgb: [UInt8]) throws -> [UInt8] {
        let place = "(PNG in memory)"
        guard VideoSource.acceptsSize(width: width, height: height) else {
            throw MediaError.invalidImageBuffer(path: place, reason: "size \(width)x\(height) is not allowed")
        }
        guard rgb.count == width * height * 3 else {
            throw MediaError.invalidImageBuffer(
                path: place, reason: "\(rgb.count) bytes given, \(width)x\(height) RGB needs \(width * height * 3)")
        }
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG) else {
            throw MediaError.writeFailed(path: place, reason: "this FFmpeg has no PNG encoder")
        }
        let context = CodecContextOwner(pointer: avcodec_alloc_context3(codec))
        guard let codecContext = context.pointer, let frame = FrameOwner(), let packet = PacketOwner() else {
            throw MediaError.writeFailed(path: place, reason: "out of memory")
        }
        codecContext.pointee.width = Int32(width)
        codecContext.pointee.height = Int32(height)
        codecContext.pointee.pix_fmt = AV_PIX_FMT_RGB24
        codecContext.pointee.time_base = AVRational(num: 1, den: 1)
        // Paeth on every row: smaller files than "mixed" per-row choice at a fraction of its time on video frames.
        av_opt_set_int(codecContext.pointee.priv_data, "pred", 4, 0)
        try check(avcodec_open2(codecContext, codec, nil), place)

        let picture = frame.pointer
        picture.pointee.width = Int32(width)
        picture.pointee.height = Int32(height)
        picture.pointee.format = AV_PIX_FMT_RGB24.rawValue
        try check(av_frame_get_buffer(picture, 0), place)
        let stride = Int(picture.pointee.linesize.0)
        let rowBytes = width * 3
        rgb.withUnsafeBufferPointer { source in
            guard let destination = picture.pointee.data.0, let base = source.baseAddress else { return }
            for y in 0..<height {
                (destination + y * stride).update(from: base + y * rowBytes, count: rowBytes)
            }
        }
        try check(avcodec_send_frame(codecContext, picture), place)
        try check(avcodec_send_frame(codecContext, nil), place)
        var bytes: [UInt8] = []
        while true {
            let status = avcodec_receive_packet(codecContext, packet.pointer)
            if status == ffmpegEOF || status == ffmpegEAGAIN { break }
            try check(status, place)
            if let data = packet.pointer.pointee.data {
                bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(packet.pointer.pointee.size)))
            }
            av_packet_unref(packet.pointer)
        }
        guard !bytes.isEmpty else { throw MediaError.writeFailed(path: place, reason: "the PNG encoder wrote nothing") }
        return bytes
    }

    /// Encodes and writes a PNG to `path` through a temporary file in the same directory that is
    /// renamed into place, so readers never see a partial file.
    package static func write(path: String, width: Int, height: Int, rgb: [UInt8]) throws {
        let bytes: [UInt8]
        do {
            bytes = try encode(width: width, height: height, rgb: rgb)
        } catch MediaError.invalidImageBuffer(_, let reason) {
            throw MediaError.invalidImageBuffer(path: path, reason: reason)
        } catch MediaError.writeFailed(_, let reason) {
            throw MediaError.writeFailed(path: path, reason: reason)
        }
        do {
            try AtomicFileWriter.write(bytes, to: path)
        } catch let error as FileIOError {
            throw MediaError.writeFailed(path: path, reason: error.reason)
        }
    }

    /// Writes a decoded frame as a PNG.
    package static func write(_ frame: Frame, to path: String) throws {
        try write(path: path, width: frame.width, height: frame.height, rgb: frame.pixels)
    }

    private static func check(_ status: Int32, _ place: String) throws {
        if status < 0 { throw MediaError.writeFailed(path: place, reason: ffmpegErrorText(status)) }
    }
}
