import Foundation

/// Seconds on the system's monotonic clock (CLOCK_MONOTONIC): for measuring intervals and deadlines, never for
/// dates. Code whose timing tests must control takes a `Clock` instead.
package func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
