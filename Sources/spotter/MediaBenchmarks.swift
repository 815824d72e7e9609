import Media
import Basics
import Foundation

/// Sequential decode throughput of one file at one output size.
package struct DecodeRateMeasurement: Sendable, Codable, Equatable {
    package var path: String
    package var width: Int
    package var height: Int
    package var frames: Int
    package var seconds: Double
    package var framesPerSecond: Double
    /// CPU time of the calling thread (all decoding runs there with one decoder thread); less
    /// sensitive to other processes than wall time.
    package var cpuSeconds: Double
    package var framesPerCPUSecond: Double
}

/// Latency of random frame requests (`VideoSource.frame(at:)` at source size) on one file.
package struct SeekLatencyMeasurement: Sendable, Codable, Equatable {
    package var path: String
    package var requests: Int
    package var seed: UInt64
    package var p50Milliseconds: Double
    package var p95Milliseconds: Double
    package var meanMilliseconds: Double
    package var maxMilliseconds: Double
    /// The same percentiles in CPU time of the calling thread.
    package var p50CPUMilliseconds: Double
    package var p95CPUMilliseconds: Double
    /// Demuxer seeks performed (requests that could continue forward do not seek).
    package var seeks: Int
}

/// Timing helpers for `spotter bench`: how fast the Media module decodes and seeks. They measure
/// wall-clock time on the calling thread and are not used by tests.
package enum MediaBenchmarks {
    /// Decodes frames 0..<min(frameLimit, frameCount) in order, scaled to `width` x `height`
    /// (default: source size), and reports frames per second. Opening the file is not timed.
    package static func decodeRate(
        path: String, width: Int? = nil, height: Int? = nil, frameLimit: Int? = nil, decoderThreads: Int = 1
    ) throws -> DecodeRateMeasurement {
        let source = try VideoSource(path: path, decoderThreads: decoderThreads)
        let count = min(frameLimit ?? source.frameCount, source.frameCount)
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = threadCPUNanoseconds()
        for index in 0..<count {
            _ = try source.frame(at: index, width: width, height: height)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpuSeconds = Double(threadCPUNanoseconds() - cpuStart) / 1e9
        return DecodeRateMeasurement(
            path: path, width: width ?? source.info.width, height: height ?? source.info.height, frames: count,
            seconds: seconds, framesPerSecond: seconds > 0 ? Double(count) / seconds : 0,
            cpuSeconds: cpuSeconds, framesPerCPUSecond: cpuSeconds > 0 ? Double(count) / cpuSeconds : 0)
    }

    /// Requests `count` frames at uniformly random indices (a fixed-seed generator, so runs repeat)
    /// and reports latency percentiles. Each request is timed from call to returned RGB frame.
    package static func seekLatencies(
        path: String, count: Int = 200, seed: UInt64 = 1, width: Int? = nil, height: Int? = nil,
        decoderThreads: Int = 1
    ) throws -> SeekLatencyMeasurement {
        let source = try VideoSource(path: path, decoderThreads: decoderThreads)
        var generator = SplitMix64(seed: seed)
        var latencies: [Double] = []
        var cpuLatencies: [Double] = []
        latencies.reserveCapacity(count)
        let seeksBefore = source.statistics.seeks + source.statistics.rewinds
        for _ in 0..<max(0, count) {
            let index = Int(generator.next() % UInt64(source.frameCount))
            let start = DispatchTime.now().uptimeNanoseconds
            let cpuStart = threadCPUNanoseconds()
            _ = try source.frame(at: index, width: width, height: height)
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            cpuLatencies.append(Double(threadCPUNanoseconds() - cpuStart) / 1e6)
        }
        let sorted = latencies.sorted()
        let sortedCPU = cpuLatencies.sorted()
        func percentile(_ p: Double, _ values: [Double] = sorted) -> Double {
            guard !values.isEmpty else { return 0 }
            let rank = Int((p * Double(values.count - 1)).rounded())
            return values[min(max(rank, 0), values.count - 1)]
        }
        return SeekLatencyMeasurement(
            path: path, requests: latencies.count, seed: seed, p50Milliseconds: percentile(0.5),
            p95Milliseconds: percentile(0.95),
            meanMilliseconds: latencies.isEmpty ? 0 : latencies.reduce(0, +) / Double(latencies.count),
            maxMilliseconds: sorted.last ?? 0,
            p50CPUMilliseconds: percentile(0.5, sortedCPU), p95CPUMilliseconds: percentile(0.95, sortedCPU),
            seeks: source.statistics.seeks + source.statistics.rewinds - seeksBefore)
    }
}

/// CPU time consumed by the calling thread, in nanoseconds.
func threadCPUNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

