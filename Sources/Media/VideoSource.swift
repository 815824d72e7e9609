import CFFmpeg

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A video or still image opened for frame-accurate access by frame index.
///
/// Opening reads every packet of the video stream once (no decoding) to build the frame index:
/// the presentation-ordered timestamps of all frames and which are keyframes. That index defines
/// frame numbers 0..<frameCount, so numbering is exact with B-frames, timestamp gaps and variable
/// frame rates. `frame(at:)` seeks to the keyframe at or before the requested frame and decodes
/// forward to it; stepping forward continues decoding without seeking. Streams whose packets
/// carry no timestamps (raw elementary streams) are indexed by decoding them once instead.
///
/// Not thread-safe: use one instance from one thread at a time. `FrameServer` gives shared,
/// cached access.
package final class VideoSource {
    /// Largest accepted frame side, in pixels (for the source and for scaled output).
    package static let maximumDimension = 16384

    /// True when both sides are in 1...`maximumDimension`.
    static func acceptsSize(width: Int, height: Int) -> Bool {
        (1...maximumDimension).contains(width) && (1...maximumDimension).contains(height)
    }

    /// Decoding forward across at most this many frames beyond a keyframe is preferred to seeking.
    private static let forwardDecodeSlack = 8

    package let path: String
    package let info: VideoInfo
    /// Presentation time of every frame in seconds, relative to frame 0 (so frame 0 is at 0.0),
    /// computed exactly from the stream's timestamps and time base. Add `info.startTime` for the
    /// stream's own clock.
    package let frameTimestamps: [Double]
    /// Indices of the frames the container marks as keyframes (seek points).
    package let keyframeIndices: [Int]

    package var frameCount: Int { frameTimestamps.count }

    /// Work done so far (seeks, decoded pictures, ...).
    package var statistics: DecodeStatistics { pipeline.counters }

    fileprivate enum IndexMethod {
        /// Frames are identified by their timestamp; seeking by keyframe works.
        case packets
        /// Frames are identified by counting decoded pictures from the start of the file.
        case decoding
    }

    private let indexMethod: IndexMethod
    /// Per frame index: the stream timestamp (packet mode), sorted ascending and unique.
    private let presentationTimestamps: [Int64]
    /// Per frame index: the nearest keyframe index at or before it, or -1.
    private let keyframeAtOrBefore: [Int]
    /// Per frame index: timestamp to seek to for that frame when it is a keyframe.
    private let seekTimestamps: [Int64]

    private let pipeline: DecoderPipeline
    /// Counter-clockwise quarter turns from the coded frame to the displayed one (0...3).
    private let quarterTurns: Int
    private let held: FrameOwner
    private let scaler = ScalerOwner()
    /// Index of the picture in `held`.
    private var heldIndex: Int?
    /// Index of the last picture the decoder produced, nil when the decoder must be repositioned.
    private var lastReceivedIndex: Int?
    /// Decoding mode: pictures received since the last rewind, minus one.
    private var decodeCounter = -1

    /// The frame index and what opening the file measured, as a value: a second `VideoSource` over the
    /// same file starts from it (`init(reopening:)`) instead of reading every packet again.
    struct FrameIndex: Sendable {
        fileprivate let info: VideoInfo
        fileprivate let frameTimestamps: [Double]
        fileprivate let keyframeIndices: [Int]
        fileprivate let method: IndexMethod
        fileprivate let presentationTimestamps: [Int64]
        fileprivate let keyframeAtOrBefore: [Int]
        fileprivate let seekTimestamps: [Int64]
        fileprivate let streamIndex: Int32
    }

    /// This source's frame index, for `init(reopening:)`.
    var frameIndex: FrameIndex {
        FrameIndex(
            info: info, frameTimestamps: frameTimestamps, keyframeIndices: keyframeIndices, method: indexMethod,
            presentationTimestamps: presentationTimestamps, keyframeAtOrBefore: keyframeAtOrBefore,
            seekTimestamps: seekTimestamps, streamIndex: pipeline.streamIndex)
    }

    /// Opens the file of `index` again, with its own decoder (one thread) and the given frame index.
    init(reopening index: FrameIndex) throws {
        _ = FFmpegLogging.configured
        path = index.info.path
        try VideoSource.checkReadableFile(path)
        let pipeline = try DecoderPipeline(path: path, decoderThreads: 1)
        guard pipeline.streamIndex == index.streamIndex else {
            throw MediaError.decoderFailure(path: path, reason: "the file changed while it was open")
        }
        self.pipeline = pipeline
        guard let held = FrameOwner() else {
            throw MediaError.decoderFailure(path: path, reason: "out of memory")
        }
        self.held = held
        info = index.info
        quarterTurns = VideoSource.quarterTurns(index.info.rotation)
        frameTimestamps = index.frameTimestamps
        keyframeIndices = index.keyframeIndices
        indexMethod = index.method
        presentationTimestamps = index.presentationTimestamps
        keyframeAtOrBefore = index.keyframeAtOrBefore
        seekTimestamps = index.seekTimestamps
    }

    /// Opens `path` and builds its frame index.
    /// - Parameter decoderThreads: decoder threads (frame threading); 1 gives the lowest seek latency.
    package init(path: String, decoderThreads: Int = 1) throws {
        _ = FFmpegLogging.configured
        self.path = path
        try VideoSource.checkReadableFile(path)
        if let declared = DeclaredFrameSize.read(path: path),
            !VideoSource.acceptsSize(width: declared.width, height: declared.height)
        {
            throw MediaError.invalidDimensions(path: path, width: declared.width, height: declared.height)
        }
        let pipeline = try DecoderPipeline(path: path, decoderThreads: decoderThreads)
        self.pipeline = pipeline
        guard let held = FrameOwner() else {
            throw MediaError.decoderFailure(path: path, reason: "out of memory")
        }
        self.held = held

        let stream = pipeline.stream.pointee
        let parameters = stream.codecpar.pointee
        let width = Int(parameters.width)
        let height = Int(parameters.height)
        guard VideoSource.acceptsSize(width: width, height: height) else {
            throw MediaError.invalidDimensions(path: path, width: width, height: height)
        }
        let timeBase = Rational(num: Int(stream.time_base.num), den: Int(stream.time_base.den))
        guard timeBase.isPositive else {
            throw MediaError.cannotOpen(path: path, reason: "the video stream has no time base")
        }
        let formatName = String(cString: pipeline.formatContext.pointee.iformat.pointee.name)
        let (nominalFPS, fpsSource) = VideoSource.nominalFrameRate(stream)

        // Frame index: from packet timestamps when every packet has a distinct one.
        let scan = pipeline.scanPackets()
        guard !scan.records.isEmpty else { throw MediaError.noFrames(path: path) }
        let ordered = scan.records.sorted { ($0.pts, $0.decodeOrder) < ($1.pts, $1.decodeOrder) }
        let timestampsUsable = VideoSource.timestampsIdentifyFrames(ordered.lazy.map(\.pts))

        let timestamps: [Double]
        var keyframes: [Bool]
        var lastFrameDuration: Double?
        var reordered = parameters.video_delay > 0
        var countIsExact = scan.reachedEnd
        if timestampsUsable {
            indexMethod = .packets
            let firstPTS = ordered[0].pts
            timestamps = ordered.map { VideoSource.seconds($0.pts - firstPTS, timeBase) }
            keyframes = ordered.map(\.isKeyframe)
            presentationTimestamps = ordered.map(\.pts)
            seekTimestamps = ordered.map { $0.dts != ffmpegNoPTS ? min($0.dts, $0.pts) : $0.pts }
            if let last = ordered.last, last.duration > 0 {
                lastFrameDuration = VideoSource.seconds(last.duration, timeBase)
            }
            reordered = reordered || ordered.enumerated().contains { $0.offset != $0.element.decodeOrder }
        } else {
            indexMethod = .decoding
            try pipeline.rewind()
            var pictureTimes: [Int64] = []
            keyframes = []
            while pipeline.receiveNextPicture() {
                let picture = pipeline.received.pointer.pointee
                pictureTimes.append(picture.best_effort_timestamp)
                keyframes.append(picture.key_frame != 0)
            }
            countIsExact = !pipeline.demuxerFailed
            guard !pictureTimes.isEmpty else { throw MediaError.noDecodableFrames(path: path) }
            if VideoSource.timestampsIdentifyFrames(pictureTimes) {
                timestamps = pictureTimes.map { VideoSource.seconds($0 - pictureTimes[0], timeBase) }
            } else {
                let rate = nominalFPS.isPositive ? nominalFPS.doubleValue : 25
                timestamps = (0..<pictureTimes.count).map { Double($0) / rate }
            }
            if !keyframes.contains(true) { keyframes[0] = true }
            presentationTimestamps = []
            seekTimestamps = []
        }
        frameTimestamps = timestamps
        keyframeIndices = keyframes.indices.filter { keyframes[$0] }
        var nearestKeyframe = -1
        keyframeAtOrBefore = keyframes.enumerated().map { offset, isKey in
            if isKey { nearestKeyframe = offset }
            return nearestKeyframe
        }

        // Geometry and timing.
        let frameCount = timestamps.count
        let isStill = frameCount == 1 && (formatName == "image2" || formatName.hasSuffix("_pipe"))
        let duration: Double
        if isStill {
            duration = 0
        } else {
            let tail: Double
            if let lastFrameDuration {
                tail = lastFrameDuration
            } else if frameCount >= 2 {
                tail = timestamps[frameCount - 1] - timestamps[frameCount - 2]
            } else {
                tail = nominalFPS.isPositive ? 1 / nominalFPS.doubleValue : 0
            }
            duration = timestamps[frameCount - 1] + tail
        }
        var fps = nominalFPS
        var fpsOrigin = fpsSource
        if !fps.isPositive {
            let span = timestamps[frameCount - 1]
            let rate = frameCount > 1 && span > 0 ? min(Double(frameCount - 1) / span, 1e6) : 25
            fps = Rational(num: Int((rate * 1000).rounded()), den: 1000)
            fpsOrigin = "timestamps"
        }
        var aspect = stream.sample_aspect_ratio
        if aspect.num <= 0 || aspect.den <= 0 { aspect = parameters.sample_aspect_ratio }
        let sampleAspect =
            aspect.num > 0 && aspect.den > 0
            ? Rational(num: Int(aspect.num), den: Int(aspect.den)) : Rational(num: 1, den: 1)
        let rotationDegrees = spotter_stream_display_rotation(pipeline.stream)
        let rotation = rotationDegrees.isFinite ? Int(rotationDegrees.rounded()) : 0
        quarterTurns = VideoSource.quarterTurns(rotation)
        let turned = quarterTurns % 2 == 1
        let startTime =
            indexMethod == .packets ? VideoSource.seconds(presentationTimestamps[0], timeBase) : 0

        info = VideoInfo(
            path: path, containerFormat: formatName,
            codec: String(cString: avcodec_get_name(parameters.codec_id)),
            width: turned ? height : width, height: turned ? width : height, codedWidth: width, codedHeight: height,
            sampleAspectRatio: turned ? Rational(num: sampleAspect.den, den: sampleAspect.num) : sampleAspect,
            rotation: rotation,
            fps: fps, fpsSource: fpsOrigin, timeBase: timeBase, startTime: startTime,
            duration: duration, frameCount: frameCount, frameCountIsExact: countIsExact,
            isStillImage: isStill, hasBFrames: reordered,
            indexMethod: indexMethod == .packets ? "packets" : "decoding")

        if indexMethod == .packets {
            // Start again at the top and make sure at least one frame decodes.
            try pipeline.rewind()
            var found = false
            while pipeline.receiveNextPicture() {
                if let index = identifyReceivedPicture() {
                    lastReceivedIndex = index
                    holdReceivedPicture(as: index)
                    found = true
                    break
                }
            }
            guard found else { throw MediaError.noDecodableFrames(path: path) }
        }
    }

    // MARK: - Frame access

    /// The frame with index `index`, converted to packed RGB24, scaled (swscale bilinear, which widens its kernel
    /// when shrinking, so downscaling is antialiased) and turned upright: `width` x `height` in display orientation
    /// (default: the display size). Throws when the index is out of range or that frame cannot be decoded.
    package func frame(at index: Int, width: Int? = nil, height: Int? = nil) throws -> Frame {
        guard index >= 0, index < frameCount else {
            throw MediaError.frameIndexOutOfRange(path: path, index: index, frameCount: frameCount)
        }
        let outputWidth = width ?? info.width
        let outputHeight = height ?? info.height
        guard VideoSource.acceptsSize(width: outputWidth, height: outputHeight) else {
            throw MediaError.invalidOutputSize(path: path, width: outputWidth, height: outputHeight)
        }
        switch indexMethod {
        case .packets: try positionByTimestamp(at: index)
        case .decoding: try positionByCounting(at: index)
        }
        let turned = quarterTurns % 2 == 1
        let coded = try convertHeldPicture(
            index: index, width: turned ? outputHeight : outputWidth, height: turned ? outputWidth : outputHeight)
        let pixels = VideoSource.turnCounterClockwise(
            coded, width: turned ? outputHeight : outputWidth, height: turned ? outputWidth : outputHeight,
            quarterTurns: quarterTurns)
        return Frame(
            index: index, timestamp: frameTimestamps[index], width: outputWidth, height: outputHeight,
            pixels: pixels)
    }

    /// The frame shown at `seconds` after frame 0 whose start is nearest to it (ties go to the
    /// earlier frame).
    package func frameIndex(nearestTo seconds: Double) -> Int {
        guard !seconds.isNaN else { return 0 }
        let after = VideoSource.firstIndex(in: frameTimestamps, greaterThan: seconds)
        if after == 0 { return 0 }
        if after == frameTimestamps.count { return frameTimestamps.count - 1 }
        let before = after - 1
        return seconds - frameTimestamps[before] <= frameTimestamps[after] - seconds ? before : after
    }

    /// The frame being displayed at `seconds` after frame 0: the last frame starting at or
    /// before it (frame 0 for earlier times).
    package func frameIndex(displayedAt seconds: Double) -> Int {
        guard !seconds.isNaN else { return 0 }
        return max(0, VideoSource.firstIndex(in: frameTimestamps, greaterThan: seconds) - 1)
    }

    // MARK: - Positioning

    private enum ForwardOutcome {
        case found
        /// Frames before and after the target came out, the target did not.
        case passedOver
        /// The first frame after repositioning was already beyond the target.
        case overshot
        case endedBeforeAnyFrame
        case endedAfterEarlierFrames
    }

    private func positionByTimestamp(at index: Int) throws {
        if heldIndex == index { return }
        var positionedBefore = false
        if let position = lastReceivedIndex, position < index,
            keyframeAtOrBefore[index] <= position + VideoSource.forwardDecodeSlack
        {
            positionedBefore = true
        } else {
            try reposition(for: index, attempt: 0)
        }
        var attempt = 0
        pipeline.skipNonReferenceBefore = presentationTimestamps[index]
        defer { pipeline.skipNonReferenceBefore = nil }
        while true {
            switch decodeForward(to: index, positionedBefore: positionedBefore) {
            case .found:
                return
            case .passedOver:
                throw MediaError.frameNotDecodable(
                    path: path, index: index, reason: "the decoder produced no picture for it (corrupt data)")
            case .endedAfterEarlierFrames:
                throw MediaError.frameNotDecodable(
                    path: path, index: index, reason: "the data ended before it (truncated or corrupt file)")
            case .overshot, .endedBeforeAnyFrame:
                attempt += 1
                guard attempt <= 2 else {
                    throw MediaError.frameNotDecodable(
                        path: path, index: index,
                        reason: "decoding from its keyframe and from the start of the file did not reach it")
                }
                try reposition(for: index, attempt: attempt)
                positionedBefore = false
            }
        }
    }

    /// Attempt 0 seeks to the frame's keyframe, attempt 1 to the keyframe before that, and
    /// later attempts (or a failed seek) reopen the file and decode from its start.
    private func reposition(for index: Int, attempt: Int) throws {
        lastReceivedIndex = nil
        let keyframe = keyframeAtOrBefore[index]
        var seekFrame = -1
        if attempt == 0 {
            seekFrame = keyframe
        } else if attempt == 1, keyframe > 0 {
            seekFrame = keyframeAtOrBefore[keyframe - 1]
        }
        if seekFrame >= 0, pipeline.seek(toKeyframeAtOrBefore: seekTimestamps[seekFrame]) {
            return
        }
        try pipeline.rewind()
    }

    private func decodeForward(to target: Int, positionedBefore: Bool) -> ForwardOutcome {
        var sawEarlierFrame = positionedBefore
        while pipeline.receiveNextPicture() {
            guard let index = identifyReceivedPicture() else { continue }
            lastReceivedIndex = index
            if index < target {
                sawEarlierFrame = true
                continue
            }
            holdReceivedPicture(as: index)
            if index == target { return .found }
            return sawEarlierFrame ? .passedOver : .overshot
        }
        lastReceivedIndex = nil
        return sawEarlierFrame ? .endedAfterEarlierFrames : .endedBeforeAnyFrame
    }

    private func positionByCounting(at index: Int) throws {
        if heldIndex == index { return }
        if let position = lastReceivedIndex, position < index {
            // Keep decoding forward.
        } else {
            try pipeline.rewind()
            decodeCounter = -1
            lastReceivedIndex = nil
        }
        while pipeline.receiveNextPicture() {
            decodeCounter += 1
            lastReceivedIndex = decodeCounter
            if decodeCounter == index {
                holdReceivedPicture(as: index)
                return
            }
        }
        lastReceivedIndex = nil
        throw MediaError.frameNotDecodable(
            path: path, index: index, reason: "the data ended before it (truncated or corrupt file)")
    }

    /// Frame index of the picture in `pipeline.received`, from its timestamp.
    private func identifyReceivedPicture() -> Int? {
        let picture = pipeline.received.pointer.pointee
        let timestamp = picture.pts != ffmpegNoPTS ? picture.pts : picture.best_effort_timestamp
        guard timestamp != ffmpegNoPTS else { return nil }
        var low = 0
        var high = presentationTimestamps.count
        while low < high {
            let middle = (low + high) / 2
            if presentationTimestamps[middle] < timestamp { low = middle + 1 } else { high = middle }
        }
        return low < presentationTimestamps.count && presentationTimestamps[low] == timestamp ? low : nil
    }

    private func holdReceivedPicture(as index: Int) {
        av_frame_unref(held.pointer)
        av_frame_move_ref(held.pointer, pipeline.received.pointer)
        heldIndex = index
    }

    // MARK: - Conversion

    private func convertHeldPicture(index: Int, width: Int, height: Int) throws -> [UInt8] {
        let picture = held.pointer.pointee
        let sourceWidth = Int(picture.width)
        let sourceHeight = Int(picture.height)
        guard VideoSource.acceptsSize(width: sourceWidth, height: sourceHeight), picture.format >= 0,
            picture.data.0 != nil
        else {
            throw MediaError.frameNotDecodable(
                path: path, index: index, reason: "the decoder returned an unusable \(sourceWidth)x\(sourceHeight) picture")
        }
        let rowBytes = width * 3
        if picture.format == AV_PIX_FMT_RGB24.rawValue, sourceWidth == width, sourceHeight == height,
            let source = picture.data.0
        {
            return VideoSource.packedRows(source, stride: Int(picture.linesize.0), rowBytes: rowBytes, height: height)
        }

        let configuration = ScalerConfiguration(
            sourceWidth: picture.width, sourceHeight: picture.height, sourceFormat: picture.format,
            targetWidth: Int32(width), targetHeight: Int32(height),
            colorspace: picture.colorspace.rawValue, colorRange: picture.color_range.rawValue)
        // Full horizontal chroma interpolation is nearly free; SWS_ACCURATE_RND would halve the
        // conversion speed for at most one level of difference.
        let flags = SWS_BILINEAR | SWS_FULL_CHR_H_INT
        scaler.context = sws_getCachedContext(
            scaler.context, picture.width, picture.height, AVPixelFormat(rawValue: picture.format),
            Int32(width), Int32(height), AV_PIX_FMT_RGB24, flags, nil, nil, nil)
        guard let context = scaler.context else {
            let name = av_get_pix_fmt_name(AVPixelFormat(rawValue: picture.format)).map { String(cString: $0) }
            throw MediaError.decoderFailure(
                path: path, reason: "cannot convert pixel format \(name ?? "\(picture.format)") to RGB")
        }
        if scaler.configuration != configuration {
            VideoSource.configureColour(context, picture: picture)
            scaler.configuration = configuration
        }
        let stride = (rowBytes + 63) & ~63
        guard let scratch = scaler.scratchBuffer(size: stride * height + 64) else {
            throw MediaError.decoderFailure(path: path, reason: "out of memory")
        }
        var sourceData = picture.data
        var sourceStrides = picture.linesize
        var targetData: [UnsafeMutablePointer<UInt8>?] = [scratch, nil, nil, nil]
        var targetStrides: [Int32] = [Int32(stride), 0, 0, 0]
        let scaledRows = withUnsafePointer(to: &sourceData) { dataTuple in
            dataTuple.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { data in
                withUnsafePointer(to: &sourceStrides) { strideTuple in
                    strideTuple.withMemoryRebound(to: Int32.self, capacity: 8) { strides in
                        sws_scale(context, data, strides, 0, picture.height, &targetData, &targetStrides)
                    }
                }
            }
        }
        guard scaledRows == Int32(height) else {
            throw MediaError.decoderFailure(path: path, reason: "scaling frame \(index) failed")
        }
        return VideoSource.packedRows(scratch, stride: stride, rowBytes: rowBytes, height: height)
    }

    /// Counter-clockwise quarter turns (0...3) that put coded frames upright: the display matrix's rotation rounded
    /// to the nearest multiple of 90 degrees.
    static func quarterTurns(_ degrees: Int) -> Int {
        let normalized = ((degrees % 360) + 360) % 360
        return ((normalized + 45) / 90) % 4
    }

    /// Packed RGB24 `width` x `height` turned counter-clockwise by `quarterTurns` quarter turns (the result is
    /// `height` x `width` for odd turns).
    static func turnCounterClockwise(_ rgb: [UInt8], width: Int, height: Int, quarterTurns: Int) -> [UInt8] {
        let turns = ((quarterTurns % 4) + 4) % 4
        guard turns != 0 else { return rgb }
        let outWidth = turns % 2 == 1 ? height : width
        return [UInt8](unsafeUninitializedCapacity: rgb.count) { out, count in
            rgb.withUnsafeBufferPointer { source in
                for dy in 0..<(turns % 2 == 1 ? width : height) {
                    for dx in 0..<outWidth {
                        // The coded pixel shown at (dx, dy).
                        let (x, y): (Int, Int)
                        switch turns {
                        case 1: (x, y) = (width - 1 - dy, dx)
                        case 2: (x, y) = (width - 1 - dx, height - 1 - dy)
                        default: (x, y) = (dy, height - 1 - dx)
                        }
                        let from = (y * width + x) * 3
                        let to = (dy * outWidth + dx) * 3
                        out[to] = source[from]
                        out[to + 1] = source[from + 1]
                        out[to + 2] = source[from + 2]
                    }
                }
            }
            count = rgb.count
        }
    }

    /// `height` rows of `rowBytes` bytes, `stride` bytes apart at `source`, copied into a packed array.
    private static func packedRows(_ source: UnsafePointer<UInt8>, stride: Int, rowBytes: Int, height: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: rowBytes * height) { buffer, count in
            for row in 0..<height {
                (buffer.baseAddress! + row * rowBytes).update(from: source + row * stride, count: rowBytes)
            }
            count = rowBytes * height
        }
    }

    /// YUV to RGB matrix and range from the picture's tags. Untagged material follows the usual
    /// player convention: BT.709 for HD sizes, BT.601 otherwise.
    private static func configureColour(_ context: OpaquePointer, picture: AVFrame) {
        guard spotter_pix_fmt_is_yuv(picture.format) != 0 else { return }
        let matrix: Int32
        switch picture.colorspace {
        case AVCOL_SPC_BT709: matrix = SWS_CS_ITU709
        case AVCOL_SPC_FCC: matrix = SWS_CS_FCC
        case AVCOL_SPC_SMPTE240M: matrix = SWS_CS_SMPTE240M
        case AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL: matrix = SWS_CS_BT2020
        case AVCOL_SPC_BT470BG, AVCOL_SPC_SMPTE170M: matrix = SWS_CS_ITU601
        default: matrix = picture.width >= 1280 || picture.height > 576 ? SWS_CS_ITU709 : SWS_CS_ITU601
        }
        let format = AVPixelFormat(rawValue: picture.format)
        let fullRangeFormats: Set<Int32> = [
            AV_PIX_FMT_YUVJ420P.rawValue, AV_PIX_FMT_YUVJ422P.rawValue, AV_PIX_FMT_YUVJ444P.rawValue,
            AV_PIX_FMT_YUVJ440P.rawValue, AV_PIX_FMT_YUVJ411P.rawValue,
        ]
        let sourceFullRange: Int32 =
            picture.color_range == AVCOL_RANGE_JPEG || fullRangeFormats.contains(format.rawValue) ? 1 : 0
        let coefficients = sws_getCoefficients(matrix)
        let rgbCoefficients = sws_getCoefficients(SWS_CS_DEFAULT)
        _ = sws_setColorspaceDetails(context, coefficients, sourceFullRange, rgbCoefficients, 1, 0, 1 << 16, 1 << 16)
    }

    // MARK: - Helpers

    private static func seconds(_ ticks: Int64, _ timeBase: Rational) -> Double {
        Double(ticks) * Double(timeBase.num) / Double(timeBase.den)
    }

    /// True when the timestamps can name the frames: every frame has one, they strictly increase, and the
    /// span from the first to the last fits in 64 bits.
    private static func timestampsIdentifyFrames(_ timestamps: some BidirectionalCollection<Int64>) -> Bool {
        guard let first = timestamps.first, let last = timestamps.last else { return false }
        return timestamps.allSatisfy { $0 != ffmpegNoPTS }
            && zip(timestamps, timestamps.dropFirst()).allSatisfy { $0 < $1 }
            && !last.subtractingReportingOverflow(first).overflow
    }

    private static func nominalFrameRate(_ stream: AVStream) -> (Rational, String) {
        let average = stream.avg_frame_rate
        if average.num > 0, average.den > 0 {
            return (Rational(num: Int(average.num), den: Int(average.den)), "avg_frame_rate")
        }
        let base = stream.r_frame_rate
        if base.num > 0, base.den > 0 {
            return (Rational(num: Int(base.num), den: Int(base.den)), "r_frame_rate")
        }
        return (Rational(num: 0, den: 1), "timestamps")
    }

    /// Index of the first element greater than `value` in an ascending array.
    static func firstIndex(in sorted: [Double], greaterThan value: Double) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] <= value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private static func checkReadableFile(_ path: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                throw MediaError.fileNotFound(path: path)
            }
            throw MediaError.unreadable(path: path, reason: String(cString: strerror(code)))
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw MediaError.notARegularFile(path: path)
        }
        guard access(path, R_OK) == 0 else {
            throw MediaError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
    }
}
