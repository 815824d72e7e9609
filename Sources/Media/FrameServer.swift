import Foundation

/// Thread-safe, cached frame access for the UI: an LRU cache of scaled frames in front of a
/// `VideoSource`, plus a read-ahead thread with its own `VideoSource` that decodes forward into
/// the cache. Any thread may call any method.
package final class FrameServer: @unchecked Sendable {
    package let info: VideoInfo
    /// Same as `VideoSource.frameTimestamps`.
    package let frameTimestamps: [Double]
    package let cacheCapacity: Int

    private let state: SharedState
    /// Decodes cache misses; guarded by `decodeLock` (VideoSource is single-threaded).
    private let source: VideoSource
    private let decodeLock = NSLock()
    private let worker: Thread
    private let workerFinished = DispatchSemaphore(value: 0)

    /// Counters for tests and diagnostics.
    package struct Statistics: Sendable, Equatable {
        /// Requests answered from the cache.
        package var hits = 0
        /// Requests that had to decode on the caller's thread.
        package var misses = 0
        /// Requests that waited for another thread to finish decoding the same frame.
        package var waitedForReadAhead = 0
        /// Frames the read-ahead thread decoded into the cache.
        package var prefetched = 0
    }

    /// Opens `path` (throws like `VideoSource.init`) and starts the (idle) read-ahead thread.
    /// `cacheCapacity` is the number of frames kept (at least 2).
    package init(path: String, cacheCapacity: Int = 64) throws {
        source = try VideoSource(path: path)
        info = source.info
        frameTimestamps = source.frameTimestamps
        self.cacheCapacity = max(2, cacheCapacity)
        let state = SharedState(capacity: self.cacheCapacity)
        self.state = state
        let finished = workerFinished
        let index = source.frameIndex
        worker = Thread {
            ReadAhead.run(index: index, state: state)
            finished.signal()
        }
        worker.name = "spotter.media.read-ahead"
        worker.start()
    }

    deinit {
        stop()
    }

    /// The frame at `index` scaled to `width` x `height`, from the cache or decoded now.
    package func frame(at index: Int, width: Int, height: Int) throws -> Frame {
        let key = FrameKey(index: index, width: width, height: height)
        state.condition.lock()
        while true {
            if let frame = state.cache.value(for: key) {
                state.statistics.hits += 1
                state.condition.unlock()
                return frame
            }
            if state.inFlight.contains(key) {
                state.statistics.waitedForReadAhead += 1
                state.condition.wait()
                continue
            }
            break
        }
        state.statistics.misses += 1
        state.inFlight.insert(key)
        state.condition.unlock()

        decodeLock.lock()
        let result = Result { try source.frame(at: index, width: width, height: height) }
        decodeLock.unlock()
        state.condition.lock()
        state.inFlight.remove(key)
        if case .success(let frame) = result {
            state.cache.insert(frame, for: key)
        }
        state.condition.broadcast()
        state.condition.unlock()
        return try result.get()
    }

    /// Asks the read-ahead thread to decode frames `from..<from+count` at `width` x `height` into
    /// the cache, in order, skipping ones already cached. A different request cancels the current
    /// one after the frame in progress; repeating the current request changes nothing. `count`
    /// is clamped so the read-ahead never evicts its own frames (at most `cacheCapacity - 1`).
    package func prefetch(from: Int, count: Int, width: Int, height: Int) {
        let clampedFrom = max(0, from)
        let end = min(frameTimestamps.count, clampedFrom + max(0, min(count, cacheCapacity - 1)))
        let request = ReadAheadRequest(from: clampedFrom, end: end, width: width, height: height)
        state.condition.lock()
        defer { state.condition.unlock() }
        guard !state.stopped, state.request != request else { return }
        state.request = request
        state.generation += 1
        state.requestDone = clampedFrom >= end
        state.condition.broadcast()
    }

    /// Blocks until the current read-ahead request has been worked through (or replaced by an
    /// empty one, or the server stopped).
    package func waitForPrefetch() {
        state.condition.lock()
        while !state.stopped, state.request != nil, !state.requestDone {
            state.condition.wait()
        }
        state.condition.unlock()
    }

    /// Stops the read-ahead thread and waits for it to exit. Cached and synchronous access keep
    /// working afterwards; `prefetch` does nothing. Safe to call more than once.
    package func stop() {
        state.condition.lock()
        let wasRunning = !state.stopped
        state.stopped = true
        state.condition.broadcast()
        state.condition.unlock()
        if wasRunning {
            workerFinished.wait()
        }
    }

    package var statistics: Statistics {
        state.condition.lock()
        defer { state.condition.unlock() }
        return state.statistics
    }

    /// Whether the frame at `index` and size is in the cache (does not count as a hit).
    package func isCached(index: Int, width: Int, height: Int) -> Bool {
        state.condition.lock()
        defer { state.condition.unlock() }
        return state.cache.contains(FrameKey(index: index, width: width, height: height))
    }
}

// MARK: - Shared state

struct FrameKey: Hashable {
    var index: Int
    var width: Int
    var height: Int
}

struct ReadAheadRequest: Equatable {
    var from: Int
    var end: Int
    var width: Int
    var height: Int
}

/// Everything the caller threads and the read-ahead thread share, guarded by `condition`.
final class SharedState: @unchecked Sendable {
    let condition = NSCondition()
    var cache: LRUCache<FrameKey, Frame>
    var request: ReadAheadRequest?
    var generation = 0
    var requestDone = true
    /// Frames being decoded right now (by a caller or the read-ahead thread).
    var inFlight: Set<FrameKey> = []
    var stopped = false
    var statistics = FrameServer.Statistics()

    init(capacity: Int) {
        cache = LRUCache(capacity: capacity)
    }
}

/// The read-ahead thread's loop. It opens its own VideoSource on first use, so forward decoding
/// there never disturbs the decoder that serves cache misses; that source reuses the frame index
/// of the first, so the file's packets are not all read a second time.
enum ReadAhead {
    static func run(index: VideoSource.FrameIndex, state: SharedState) {
        var source: VideoSource?
        var sourceFailed = false
        var workingGeneration = -1
        var cursor = 0
        state.condition.lock()
        while true {
            while !state.stopped, state.requestDone || state.request == nil {
                state.condition.wait()
            }
            if state.stopped { break }
            guard let request = state.request else { continue }
            if workingGeneration != state.generation {
                workingGeneration = state.generation
                cursor = request.from
            }
            if cursor >= request.end || sourceFailed {
                state.requestDone = true
                state.condition.broadcast()
                continue
            }
            let key = FrameKey(index: cursor, width: request.width, height: request.height)
            if state.cache.contains(key) || state.inFlight.contains(key) {
                cursor += 1
                continue
            }
            state.inFlight.insert(key)
            state.condition.unlock()

            if source == nil, !sourceFailed {
                source = try? VideoSource(reopening: index)
                sourceFailed = source == nil
            }
            let frame = try? source?.frame(at: key.index, width: key.width, height: key.height)

            state.condition.lock()
            state.inFlight.remove(key)
            if let frame {
                state.cache.insert(frame, for: key)
                state.statistics.prefetched += 1
            }
            if workingGeneration == state.generation { cursor += 1 }
            state.condition.broadcast()
        }
        state.condition.unlock()
    }
}

/// Least-recently-used map with a fixed capacity; O(1) lookup, insert and eviction (a doubly
/// linked list threaded through arrays). Not thread-safe by itself.
struct LRUCache<Key: Hashable, Value> {
    private struct Node {
        var key: Key
        var value: Value
        var newer: Int
        var older: Int
    }

    let capacity: Int
    private var slots: [Key: Int] = [:]
    private var nodes: [Node] = []
    private var newest = -1
    private var oldest = -1

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { slots.count }

    func contains(_ key: Key) -> Bool { slots[key] != nil }

    /// The value for `key`, marking it most recently used.
    mutating func value(for key: Key) -> Value? {
        guard let slot = slots[key] else { return nil }
        moveToNewest(slot)
        return nodes[slot].value
    }

    mutating func insert(_ value: Value, for key: Key) {
        if let slot = slots[key] {
            nodes[slot].value = value
            moveToNewest(slot)
            return
        }
        let slot: Int
        if nodes.count < capacity {
            slot = nodes.count
            nodes.append(Node(key: key, value: value, newer: -1, older: -1))
        } else {
            slot = oldest
            unlink(slot)
            slots[nodes[slot].key] = nil
            nodes[slot] = Node(key: key, value: value, newer: -1, older: -1)
        }
        slots[key] = slot
        linkAsNewest(slot)
    }

    private mutating func moveToNewest(_ slot: Int) {
        guard slot != newest else { return }
        unlink(slot)
        linkAsNewest(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let newer = nodes[slot].newer
        let older = nodes[slot].older
        if newer >= 0 { nodes[newer].older = older } else { newest = older }
        if older >= 0 { nodes[older].newer = newer } else { oldest = newer }
        nodes[slot].newer = -1
        nodes[slot].older = -1
    }

    private mutating func linkAsNewest(_ slot: Int) {
        nodes[slot].older = newest
        nodes[slot].newer = -1
        if newest >= 0 { nodes[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }
}
