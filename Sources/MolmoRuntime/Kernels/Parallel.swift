import CKernels
import Dispatch
import Foundation

/// How many threads the kernels split work across (cores by default; `SPOTTER_THREADS` overrides).
package enum KernelThreads {
    nonisolated(unsafe) private static var configured: Int = {
        if let text = ProcessInfo.processInfo.environment["SPOTTER_THREADS"], let n = Int(text), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Current thread count.
    package static var count: Int { configured }

    /// Sets the thread count (values below 1 become 1).
    package static func set(_ n: Int) { configured = max(1, n) }
}

/// Capabilities of the kernels on this CPU.
package enum KernelSettings {
    /// True when this CPU can run the bf16 dot-product kernels (AVX512_BF16).
    package static var bf16DotProductsAvailable: Bool { spotter_bf16dot_available() != 0 }
}

/// Runs `body(chunkStart, chunkEnd)` over `0..<total` split into at most `KernelThreads.count` contiguous chunks,
/// in parallel when there is more than one chunk. `minChunk` keeps tiny work on one thread.
@inline(__always)
func parallelChunks(_ total: Int, minChunk: Int = 1, _ body: (Int, Int) -> Void) {
    guard total > 0 else { return }
    let threads = min(KernelThreads.count, max(1, total / max(1, minChunk)))
    if threads <= 1 {
        body(0, total)
        return
    }
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        let start = total * t / threads
        let end = total * (t + 1) / threads
        if start < end { body(start, end) }
    }
}

/// Runs `body(item, scratch)` for every item of `0..<items`, interleaved across `KernelThreads.count` threads (item i
/// on thread i mod threads), each thread with its own `scratchFloats` floats of scratch. For blocked attention: later
/// tokens attend to more keys, so contiguous ranges would leave the first thread idle.
func parallelInterleaved(_ items: Int, scratchFloats: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
    let threads = min(KernelThreads.count, items)
    DispatchQueue.concurrentPerform(iterations: threads) { thread in
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchFloats)
        defer { scratch.deallocate() }
        var item = thread
        while item < items {
            body(item, scratch)
            item += threads
        }
    }
}
