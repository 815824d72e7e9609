import Foundation

/// Per-layer cache of post-RoPE keys and values (fp32) plus each cached token's visual flag. Keys are stored
/// transposed per kv head ([kvHeads][headDim][capacity], so attention scores are a matrix product over
/// consecutive keys); values as rows [capacity][kvHeads·headDim]. Grows by doubling; capacity is a multiple of 16
/// and unused key slots are zero.
package final class KVCache {
    /// Number of layers.
    package let layers: Int
    /// Number of kv heads.
    package let kvHeads: Int
    /// Head dimension.
    package let headDim: Int
    /// Tokens the buffers hold before they grow.
    package private(set) var capacity: Int
    /// Tokens cached so far (= the position of the next token).
    package private(set) var count: Int = 0
    /// Visual flag of every cached token.
    package private(set) var visual: [Bool] = []
    var keys: [AlignedBuffer]
    var values: [AlignedBuffer]

    /// An empty cache.
    package init(layers: Int, kvHeads: Int, headDim: Int, capacity: Int = 256) {
        self.layers = layers
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.capacity = KVCache.round(capacity)
        let cap = self.capacity
        keys = (0..<layers).map { _ in KVCache.zeroed(cap * kvHeads * headDim) }
        values = (0..<layers).map { _ in KVCache.zeroed(cap * kvHeads * headDim) }
    }

    private static func round(_ n: Int) -> Int { max(16, (n + 15) / 16 * 16) }

    private static func zeroed(_ floats: Int) -> AlignedBuffer {
        let b = AlignedBuffer(byteCount: floats * 4)
        b.raw.initializeMemory(as: UInt8.self, repeating: 0, count: floats * 4)
        return b
    }

    /// Width of one value row (kvHeads · headDim).
    package var rowWidth: Int { kvHeads * headDim }

    /// Bytes of cache per token (keys and values of every layer).
    package var bytesPerToken: Int { 2 * layers * rowWidth * 4 }

    /// Makes room for `extra` more tokens.
    func reserve(_ extra: Int) {
        let needed = count + extra
        guard needed > capacity else { return }
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        let rows = kvHeads * headDim
        for l in 0..<layers {
            let k = KVCache.zeroed(newCapacity * rows)
            let v = KVCache.zeroed(newCapacity * rows)
            let oldK = keys[l].raw.assumingMemoryBound(to: Float.self)
            let newK = k.raw.assumingMemoryBound(to: Float.self)
            for r in 0..<rows { (newK + r * newCapacity).update(from: oldK + r * capacity, count: count) }
            v.raw.copyMemory(from: values[l].raw, byteCount: count * rowWidth * 4)
            keys[l] = k
            values[l] = v
        }
        capacity = newCapacity
    }

    /// Transposed keys of a layer: head g, dimension c, token j at [(g·headDim + c)·capacity + j].
    @inline(__always) func transposedKeys(_ layer: Int) -> UnsafeMutablePointer<Float> {
        keys[layer].raw.assumingMemoryBound(to: Float.self)
    }

    /// Value rows of a layer.
    @inline(__always) func valueRows(_ layer: Int) -> UnsafeMutablePointer<Float> {
        values[layer].raw.assumingMemoryBound(to: Float.self)
    }

    /// Stores the key (kvHeads · headDim floats) of the token at `position` in `layer`.
    @inline(__always) func storeKey(_ key: UnsafePointer<Float>, layer: Int, position: Int) {
        let kt = transposedKeys(layer)
        for r in 0..<(kvHeads * headDim) { kt[r * capacity + position] = key[r] }
    }

    /// Marks `flags.count` tokens (already written in every layer) as cached.
    func commit(visual flags: [Bool]) {
        visual.append(contentsOf: flags)
        count += flags.count
    }

    /// Forgets every token from `position` on (for re-prompting after a shared prefix).
    package func truncate(to position: Int) {
        guard position < count else { return }
        let keep = max(0, position)
        for l in 0..<layers {
            let kt = transposedKeys(l)
            for r in 0..<(kvHeads * headDim) { (kt + r * capacity + keep).update(repeating: 0, count: count - keep) }
        }
        count = keep
        visual.removeLast(visual.count - count)
    }
}
