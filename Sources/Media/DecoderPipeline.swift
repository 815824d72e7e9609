import CFFmpeg

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Demuxer + decoder for one video stream of one file: reads packets, feeds the decoder, hands
/// out decoded pictures one at a time, and can seek or start over. It knows nothing of frame
/// numbers; `VideoSource` maps pictures to indices.
final class DecoderPipeline {
    let path: String
    private(set) var demuxer: FormatContextOwner
    private(set) var streamIndex: Int32
    let decoder: CodecContextOwner
    private let packet: PacketOwner
    /// The picture most recently returned by `receiveNextPicture()`.
    let received: FrameOwner

    /// The demuxer has no more packets (end of file or a read error).
    private(set) var demuxerFinished = false
    /// The demuxer stopped on a read error rather than at the end of the file.
    private(set) var demuxerFailed = false
    /// The decoder was told the input ended; it must be flushed before it accepts packets again.
    private(set) var drainStarted = false
    /// After a seek, packets before the first keyframe are dropped so decoding starts clean.
    private var skipUntilKeyframe = false
    private var packetPending = false
    /// While set, packets presented before this timestamp are decoded only if other frames
    /// reference them (non-reference pictures before a seek target are never shown).
    var skipNonReferenceBefore: Int64?
    private var skippingNonReference = false

    private(set) var counters = DecodeStatistics()

    init(path: String, decoderThreads: Int) throws {
        self.path = path
        let (demuxer, streamIndex) = try DecoderPipeline.openDemuxer(path: path)
        self.demuxer = demuxer
        self.streamIndex = streamIndex
        guard let packet = PacketOwner(), let received = FrameOwner() else {
            throw MediaError.decoderFailure(path: path, reason: "out of memory")
        }
        self.packet = packet
        self.received = received
        self.decoder = try DecoderPipeline.openDecoder(
            path: path, stream: DecoderPipeline.stream(demuxer, streamIndex), threads: decoderThreads)
    }

    var formatContext: UnsafeMutablePointer<AVFormatContext> {
        // Set in init and only replaced by a successful reopen.
        demuxer.pointer!
    }

    var stream: UnsafeMutablePointer<AVStream> {
        DecoderPipeline.stream(demuxer, streamIndex)
    }

    // MARK: - Opening

    private static func stream(_ demuxer: FormatContextOwner, _ index: Int32) -> UnsafeMutablePointer<AVStream> {
        demuxer.pointer!.pointee.streams[Int(index)]!
    }

    /// Opens the container, reads stream parameters and picks the video stream. Other streams are
    /// set to be discarded so the demuxer skips their data.
    static func openDemuxer(path: String) throws -> (FormatContextOwner, Int32) {
        var context: UnsafeMutablePointer<AVFormatContext>?
        var options: OpaquePointer?
        // A file name is a file name, never an image-sequence pattern like "frame%03d.png".
        av_dict_set(&options, "pattern_type", "none", 0)
        let openResult = avformat_open_input(&context, path, nil, &options)
        av_dict_free(&options)
        guard openResult >= 0, let opened = context else {
            throw MediaError.cannotOpen(path: path, reason: ffmpegErrorText(openResult))
        }
        let owner = FormatContextOwner(pointer: opened)
        let infoResult = avformat_find_stream_info(opened, nil)
        guard infoResult >= 0 else {
            throw MediaError.cannotOpen(path: path, reason: ffmpegErrorText(infoResult))
        }
        let streamCount = Int(opened.pointee.nb_streams)
        var chosen: Int32 = -1
        let best = av_find_best_stream(opened, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        let attachedPicture = spotter_disposition_attached_pic()
        if best >= 0 {
            chosen = best
            if opened.pointee.streams[Int(best)]!.pointee.disposition & attachedPicture != 0 {
                // Prefer a real video stream over cover art when the file has both.
                for index in 0..<streamCount {
                    let candidate = opened.pointee.streams[index]!.pointee
                    if candidate.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO,
                        candidate.disposition & attachedPicture == 0
                    {
                        chosen = Int32(index)
                        break
                    }
                }
            }
        }
        guard chosen >= 0 else { throw MediaError.noVideoStream(path: path) }
        for index in 0..<streamCount where index != Int(chosen) {
            opened.pointee.streams[index]!.pointee.discard = AVDISCARD_ALL
        }
        return (owner, chosen)
    }

    private static func openDecoder(path: String, stream: UnsafeMutablePointer<AVStream>, threads: Int) throws
        -> CodecContextOwner
    {
        let parameters = stream.pointee.codecpar!
        guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
            throw MediaError.unsupportedCodec(
                path: path, codec: String(cString: avcodec_get_name(parameters.pointee.codec_id)))
        }
        let owner = CodecContextOwner(pointer: avcodec_alloc_context3(codec))
        guard let context = owner.pointer else {
            throw MediaError.decoderFailure(path: path, reason: "out of memory")
        }
        let copyResult = avcodec_parameters_to_context(context, parameters)
        guard copyResult >= 0 else {
            throw MediaError.decoderFailure(path: path, reason: ffmpegErrorText(copyResult))
        }
        context.pointee.pkt_timebase = stream.pointee.time_base
        context.pointee.thread_count = Int32(max(1, threads))
        context.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        let openResult = avcodec_open2(context, codec, nil)
        guard openResult >= 0 else {
            throw MediaError.decoderFailure(path: path, reason: ffmpegErrorText(openResult))
        }
        return owner
    }

    // MARK: - Decoding

    /// Decodes until the next picture is available in `received`. Returns false at the end of
    /// the stream. Corrupt packets are passed over: whatever the decoder can make of the rest is
    /// still returned.
    func receiveNextPicture() -> Bool {
        guard let context = decoder.pointer else { return false }
        var errorsInARow = 0
        while true {
            let result = avcodec_receive_frame(context, received.pointer)
            if result >= 0 {
                counters.framesDecoded += 1
                return true
            }
            if result == ffmpegEOF { return false }
            if result != ffmpegEAGAIN {
                // A decode error for one picture; the decoder keeps going with the next one.
                errorsInARow += 1
                if errorsInARow > 10_000 { return false }
                if drainStarted { continue }
            }
            if drainStarted { return false }
            if !feedDecoder(context) { continue }
        }
    }

    /// Sends the next packet of our stream (or the end-of-stream signal) to the decoder.
    /// Returns false when nothing was sent because the decoder must be emptied first.
    private func feedDecoder(_ context: UnsafeMutablePointer<AVCodecContext>) -> Bool {
        if !packetPending {
            if demuxerFinished {
                avcodec_send_packet(context, nil)
                drainStarted = true
                return true
            }
            while true {
                let readResult = av_read_frame(formatContext, packet.pointer)
                if readResult < 0 {
                    demuxerFinished = true
                    demuxerFailed = readResult != ffmpegEOF
                    avcodec_send_packet(context, nil)
                    drainStarted = true
                    return true
                }
                counters.packetsRead += 1
                let ours = packet.pointer.pointee.stream_index == streamIndex
                let usable = ours && (!skipUntilKeyframe || packet.pointer.pointee.flags & AV_PKT_FLAG_KEY != 0)
                if usable { break }
                av_packet_unref(packet.pointer)
            }
            skipUntilKeyframe = false
        }
        let pts = packet.pointer.pointee.pts
        let skip = skipNonReferenceBefore.map { pts != ffmpegNoPTS && pts < $0 } ?? false
        if skip != skippingNonReference {
            // Frame-threaded decoders copy this setting per packet, so switching is safe.
            context.pointee.skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
            skippingNonReference = skip
        }
        let sendResult = avcodec_send_packet(context, packet.pointer)
        if sendResult == ffmpegEAGAIN {
            packetPending = true
            return false
        }
        packetPending = false
        av_packet_unref(packet.pointer)
        return true
    }

    // MARK: - Repositioning

    /// Seeks the demuxer to the keyframe at or before `timestamp` (stream time base) and resets
    /// the decoder. Returns false when the demuxer cannot seek.
    func seek(toKeyframeAtOrBefore timestamp: Int64) -> Bool {
        let result = av_seek_frame(formatContext, streamIndex, timestamp, AVSEEK_FLAG_BACKWARD)
        guard result >= 0 else { return false }
        resetDecoder()
        skipUntilKeyframe = true
        counters.seeks += 1
        return true
    }

    /// Reopens the file so reading starts again at its first packet; the decoder is reset.
    func rewind() throws {
        let (reopened, index) = try DecoderPipeline.openDemuxer(path: path)
        guard index == streamIndex else {
            throw MediaError.decoderFailure(path: path, reason: "the file changed while it was open")
        }
        demuxer = reopened
        resetDecoder()
        skipUntilKeyframe = false
        counters.rewinds += 1
    }

    private func resetDecoder() {
        if packetPending {
            av_packet_unref(packet.pointer)
            packetPending = false
        }
        if let context = decoder.pointer {
            avcodec_flush_buffers(context)
        }
        demuxerFinished = false
        demuxerFailed = false
        drainStarted = false
    }

    // MARK: - Packet scan

    struct PacketRecord {
        var pts: Int64
        var dts: Int64
        var duration: Int64
        var isKeyframe: Bool
        var decodeOrder: Int
    }

    /// Reads every packet of the video stream once, without decoding, and leaves the demuxer at
    /// the end (call `rewind()` before decoding). Packets the container marks as discarded (edit
    /// list pre-roll) and empty packets are not frames and are left out.
    func scanPackets() -> (records: [PacketRecord], reachedEnd: Bool) {
        var records: [PacketRecord] = []
        var reachedEnd = true
        while true {
            let result = av_read_frame(formatContext, packet.pointer)
            if result < 0 {
                reachedEnd = result == ffmpegEOF
                break
            }
            counters.packetsRead += 1
            let item = packet.pointer.pointee
            if item.stream_index == streamIndex, item.size > 0, item.flags & AV_PKT_FLAG_DISCARD == 0 {
                records.append(
                    PacketRecord(
                        pts: item.pts, dts: item.dts, duration: item.duration,
                        isKeyframe: item.flags & AV_PKT_FLAG_KEY != 0, decodeOrder: records.count))
            }
            av_packet_unref(packet.pointer)
        }
        demuxerFinished = true
        demuxerFailed = !reachedEnd
        return (records, reachedEnd)
    }
}

/// Counters describing the work a `VideoSource` has done, for tests and benchmarks.
package struct DecodeStatistics: Sendable, Equatable {
    /// Demuxer seeks.
    package var seeks = 0
    /// Times the file was reopened to decode from its start.
    package var rewinds = 0
    /// Pictures received from the decoder.
    package var framesDecoded = 0
    /// Packets read from the demuxer (all streams).
    package var packetsRead = 0

    package init() {}
}
