/// The frames Molmo2 is shown for a video: which frame indices to decode and the timestamps to
/// write into the prompt next to them.
package struct SampledFrames: Sendable, Equatable, Codable {
    /// Frame index (presentation order) decoded for each sample. Indices can repeat when the
    /// video has fewer frames per second than the sampling rate.
    package var frameIndices: [Int]
    /// Time in seconds shown to the model for each sample: the requested sample time, not the
    /// decoded frame's own timestamp (molmo2-spec §6.5).
    package var timestamps: [Double]

    package init(frameIndices: [Int], timestamps: [Double]) {
        self.frameIndices = frameIndices
        self.timestamps = timestamps
    }
}

/// Molmo2's video frame sampling (molmo2-spec §6.5), as pure functions.
///
/// The time-based path (`uniform_last_frame`, used by the HF processor for video files): with
/// duration D, at most N frames and at most f frames per second, the sample times are
/// `0, 1/f, 2/f, …` below D followed by D itself when (N − 1)/f ≥ D, and otherwise N evenly
/// spaced times from 0 to D inclusive. Each time t is decoded as the frame being displayed at t:
/// the first frame whose end time is greater than t, clamped to the last frame.
package enum MolmoFrameSampler {
    /// Released processors: 384 frames (long-context SFT used 384; SFT used 128).
    package static let defaultMaxFrames = 384
    /// Released processors: at most 2 frames per second.
    package static let defaultMaxFPS = 2.0

    /// Sampling modes of the HF Molmo2 video processor that are implemented here.
    package enum Mode: String, Sendable, Codable {
        /// `uniform_last_frame`: fixed-rate times below the duration plus the duration itself,
        /// or a uniform spread when the video is too long for the frame budget.
        case uniformLastFrame = "uniform_last_frame"
    }

    /// The sample times in seconds (numpy's `arange`/`linspace` arithmetic reproduced exactly).
    /// A nil, zero, negative or non-finite `maxFPS` means "no rate limit": a uniform spread of
    /// `maxFrames` times. Returns no times when `maxFrames` < 1.
    package static func sampleTimes(
        duration: Double, maxFPS: Double? = defaultMaxFPS, maxFrames: Int = defaultMaxFrames,
        mode: Mode = .uniformLastFrame
    ) -> [Double] {
        guard maxFrames >= 1 else { return [] }
        let length = duration.isFinite && duration > 0 ? duration : 0
        switch mode {
        case .uniformLastFrame:
            if let rate = maxFPS, rate.isFinite, rate > 0, !(Double(maxFrames - 1) / rate < length) {
                // np.arange(0.0, D, 1/f) has ceil(D / step) elements k * step, then D is appended.
                let step = 1 / rate
                let count = length > 0 ? Int((length / step).rounded(.up)) : 0
                var times = (0..<count).map { Double($0) * step }
                times.append(length)
                return times
            }
            return linspace(from: 0, to: length, count: maxFrames)
        }
    }

    /// Samples a video given its exact frame timestamps (seconds from frame 0, ascending) and
    /// duration (end of the last frame). Each sample time is mapped to the frame displayed at it.
    package static func sample(
        frameTimestamps: [Double], duration: Double, maxFPS: Double? = defaultMaxFPS,
        maxFrames: Int = defaultMaxFrames, mode: Mode = .uniformLastFrame
    ) -> SampledFrames {
        guard !frameTimestamps.isEmpty else { return SampledFrames(frameIndices: [], timestamps: []) }
        let times = sampleTimes(duration: duration, maxFPS: maxFPS, maxFrames: maxFrames, mode: mode)
        let indices = times.map { frameDisplayed(at: $0, frameTimestamps: frameTimestamps, duration: duration) }
        return SampledFrames(frameIndices: indices, timestamps: times)
    }

    /// Samples a constant-rate video known only by its duration, frame rate and frame count
    /// (frame k starts at k / fps).
    package static func sample(
        duration: Double, fps: Double, frameCount: Int, maxFPS: Double? = defaultMaxFPS,
        maxFrames: Int = defaultMaxFrames, mode: Mode = .uniformLastFrame
    ) -> SampledFrames {
        guard frameCount > 0, fps.isFinite, fps > 0 else {
            return SampledFrames(frameIndices: [], timestamps: [])
        }
        let timestamps = (0..<frameCount).map { Double($0) / fps }
        return sample(
            frameTimestamps: timestamps, duration: duration, maxFPS: maxFPS, maxFrames: maxFrames, mode: mode)
    }

    /// Where a video ends for sampling: the container's reported duration, or, when that does not reach past the
    /// last frame's start (missing or wrong metadata), the last frame's start plus one frame period.
    package static func videoEnd(reportedDuration: Double, frameTimestamps: [Double], fps: Double) -> Double {
        guard let last = frameTimestamps.last else { return reportedDuration.isFinite ? max(0, reportedDuration) : 0 }
        if reportedDuration.isFinite, reportedDuration > last { return reportedDuration }
        return last + (fps.isFinite && fps > 0 ? 1 / fps : 0)
    }

    /// The frame displayed at time `t`: the first frame whose end time (the next frame's start,
    /// or `duration` for the last frame) is greater than `t`, clamped to the last frame —
    /// decord's and PyAV's `searchsorted(ends, t, side="right")`.
    package static func frameDisplayed(at t: Double, frameTimestamps: [Double], duration: Double) -> Int {
        let count = frameTimestamps.count
        guard count > 0 else { return 0 }
        // ends[i] = frameTimestamps[i + 1] for i < count - 1, ends[count - 1] = duration.
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            let end = middle + 1 < count ? frameTimestamps[middle + 1] : duration
            if end <= t { low = middle + 1 } else { high = middle }
        }
        return min(low, count - 1)
    }

    /// The HF frame-index path (`sample_frames`, used when the processor receives decoded frames
    /// plus fps metadata): F frames at φ fps. F ≤ 2 takes all frames; when F/φ > (N − 1)/f it
    /// takes `floor(linspace(0, F − 1, min(N, F)))`; otherwise `round(k·φ/f)` for k·φ/f < F − 1,
    /// plus F − 1 when the last rounded index is not already F − 1. Timestamps are index / φ.
    package static func sampleFrameIndices(
        frameCount: Int, fps: Double, maxFPS: Double = defaultMaxFPS, maxFrames: Int = defaultMaxFrames
    ) -> SampledFrames {
        guard frameCount > 0, fps.isFinite, fps > 0, maxFrames >= 1, maxFPS.isFinite, maxFPS > 0 else {
            return SampledFrames(frameIndices: [], timestamps: [])
        }
        var indices: [Int]
        if frameCount <= 2 {
            indices = Array(0..<frameCount)
        } else if Double(frameCount) / fps > Double(maxFrames - 1) / maxFPS {
            indices = linspace(from: 0, to: Double(frameCount - 1), count: min(maxFrames, frameCount))
                .map { Int($0.rounded(.down)) }
        } else {
            let step = fps / maxFPS
            let stop = Double(frameCount - 1)
            let count = Int((stop / step).rounded(.up))
            var positions = (0..<count).map { Double($0) * step }
            if positions.last.map({ $0.rounded(.toNearestOrEven) }) != stop {
                positions.append(stop)
            }
            indices = positions.map { Int($0.rounded(.toNearestOrEven)) }
        }
        return SampledFrames(frameIndices: indices, timestamps: indices.map { Double($0) / fps })
    }

    /// numpy.linspace(start, stop, count, endpoint=True): `i * step + start`, last value exactly `stop`.
    static func linspace(from start: Double, to stop: Double, count: Int) -> [Double] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (stop - start) / Double(count - 1)
        var values: [Double]
        if step == 0 {
            // numpy divides then multiplies when the step underflows to 0.
            values = (0..<count).map { Double($0) / Double(count - 1) * (stop - start) + start }
        } else {
            values = (0..<count).map { Double($0) * step + start }
        }
        values[count - 1] = stop
        return values
    }
}
