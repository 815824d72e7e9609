import Basics
import Foundation
import Testing

@testable import Media

@Suite("FrameServer")
struct FrameServerTests {
    @Test("read-ahead fills the cache so stepping forward always hits")
    func steppingHitsCache() throws {
        let server = try FrameServer(path: TestPaths.fixture("numbered_h264.mp4"), cacheCapacity: 40)
        defer { server.stop() }
        let first = try server.frame(at: 10, width: 160, height: 96)
        #expect(decodeFrameNumber(first) == 10)
        server.prefetch(from: 11, count: 30, width: 160, height: 96)
        server.waitForPrefetch()
        let before = server.statistics
        #expect(before.prefetched == 30)
        for index in 11..<41 {
            #expect(decodeFrameNumber(try server.frame(at: index, width: 160, height: 96)) == index)
        }
        let after = server.statistics
        #expect(after.misses == before.misses)
        #expect(after.hits == before.hits + 30)
    }

    @Test("prefetch is clamped to the cache and to the video")
    func prefetchClamped() throws {
        let server = try FrameServer(path: TestPaths.fixture("numbered_vp9.webm"), cacheCapacity: 8)
        defer { server.stop() }
        server.prefetch(from: 85, count: 100, width: 80, height: 48)
        server.waitForPrefetch()
        #expect(server.statistics.prefetched == 5)
        server.prefetch(from: 0, count: 100, width: 80, height: 48)
        server.waitForPrefetch()
        #expect(server.statistics.prefetched == 12)
        #expect((0..<7).allSatisfy { server.isCached(index: $0, width: 80, height: 48) })
        #expect(!server.isCached(index: 7, width: 80, height: 48))
    }

    @Test("frames requested on many threads while read-ahead runs are all correct")
    func concurrentRequests() throws {
        let server = try FrameServer(path: TestPaths.fixture("numbered_h264.mkv"), cacheCapacity: 24)
        defer { server.stop() }
        let frameCount = server.frameTimestamps.count
        let results = ResultCollector()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            var generator = SplitMix64(seed: UInt64(worker + 1))
            for step in 0..<60 {
                let index = Int.random(in: 0..<frameCount, using: &generator)
                let (width, height) = step % 2 == 0 ? (160, 96) : (80, 48)
                if worker == 0, step % 10 == 0 {
                    // Keep moving the read-ahead window while others read.
                    server.prefetch(from: index, count: 20, width: 160, height: 96)
                }
                do {
                    let frame = try server.frame(at: index, width: width, height: height)
                    results.record(
                        frame.index == index && frame.width == width && decodeFrameNumber(frame) == index)
                } catch {
                    results.record(false)
                }
            }
        }
        server.waitForPrefetch()
        #expect(results.total == 240)
        #expect(results.failures == 0)
        // The read-ahead thread's frames are correct too.
        for index in 0..<frameCount where server.isCached(index: index, width: 160, height: 96) {
            #expect(decodeFrameNumber(try server.frame(at: index, width: 160, height: 96)) == index)
        }
    }

    @Test("errors pass through, stop is idempotent and the server keeps serving after stop")
    func errorsAndStop() throws {
        let server = try FrameServer(path: TestPaths.fixture("numbered.gif"))
        #expect(throws: MediaError.self) { try server.frame(at: 999, width: 10, height: 10) }
        server.prefetch(from: 0, count: 10, width: 160, height: 96)
        server.stop()
        server.stop()
        server.prefetch(from: 20, count: 10, width: 160, height: 96)
        server.waitForPrefetch()
        #expect(decodeFrameNumber(try server.frame(at: 30, width: 160, height: 96)) == 30)
        #expect(throws: MediaError.self) { try FrameServer(path: TestPaths.fixture("empty.mp4")) }
    }

    @Test("LRU cache evicts the least recently used entry")
    func lruOrder() {
        var cache = LRUCache<Int, String>(capacity: 3)
        cache.insert("a", for: 1)
        cache.insert("b", for: 2)
        cache.insert("c", for: 3)
        #expect(cache.value(for: 1) == "a")  // 1 becomes the newest
        cache.insert("d", for: 4)  // evicts 2
        #expect(!cache.contains(2))
        #expect(cache.contains(1) && cache.contains(3) && cache.contains(4))
        cache.insert("c2", for: 3)
        cache.insert("e", for: 5)  // evicts 1
        #expect(!cache.contains(1))
        #expect(cache.value(for: 3) == "c2")
        #expect(cache.count == 3)
    }
}

/// Thread-safe tally for the concurrency test.
final class ResultCollector: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var total = 0
    private(set) var failures = 0

    func record(_ success: Bool) {
        lock.lock()
        total += 1
        if !success { failures += 1 }
        lock.unlock()
    }
}
