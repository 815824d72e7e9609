import Foundation

/// Per-layer cache of post-RoPE keys and values (fp32, [tokens, kvHeads·headDim] per layer) plus each cached
/// token's visual flag. Grows by doubling.
public final class KVCache {
    /// Number of layers.
    public let layers: Int
    /// Width of one cached key or value row (kvHeads · headDim).
    public let rowWidth: Int
    /// Tokens the buffers hold before they grow.
    public private(set) var capacity: Int
    /// Tokens cached so far (= the position of the next token).
    public private(set) var count: Int = 0
    /// Visual flag of every cached token.
    public private(set) var visual: [Bool] = []
    var keys: [AlignedBuffer]
    var values: [AlignedBuffer]

    /// An empty cache for a model with `layers` layers and `rowWidth` = kvHeads · headDim.
    public init(layers: Int, rowWidth: Int, capacity: Int = 256) {
        self.layers = layers
        self.rowWidth = rowWidth
        self.capacity = max(1, capacity)
        keys = (0..<layers).map { _ in AlignedBuffer(byteCount: max(1, capacity) * rowWidth * 4) }
        values = (0..<layers).map { _ in AlignedBuffer(byteCount: max(1, capacity) * rowWidth * 4) }
    }

    /// Bytes of cache per token (keys and values of every layer).
    public var bytesPerToken: Int { 2 * layers * rowWidth * 4 }

    /// Makes room for `extra` more tokens.
    func reserve(_ extra: Int) {
        let needed = count + extra
        guard needed > capacity else { return }
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        for l in 0..<layers {
            let k = AlignedBuffer(byteCount: newCapacity * rowWidth * 4)
            let v = AlignedBuffer(byteCount: newCapacity * rowWidth * 4)
            k.raw.copyMemory(from: keys[l].raw, byteCount: count * rowWidth * 4)
            v.raw.copyMemory(from: values[l].raw, byteCount: count * rowWidth * 4)
            keys[l] = k
            values[l] = v
        }
        capacity = newCapacity
    }

    /// Key rows of a layer.
    @inline(__always) func keyRows(_ layer: Int) -> UnsafeMutablePointer<Float> {
        keys[layer].raw.assumingMemoryBound(to: Float.self)
    }

    /// Value rows of a layer.
    @inline(__always) func valueRows(_ layer: Int) -> UnsafeMutablePointer<Float> {
        values[layer].raw.assumingMemoryBound(to: Float.self)
    }

    /// Marks `flags.count` tokens (already written in every layer) as cached.
    func commit(visual flags: [Bool]) {
        visual.append(contentsOf: flags)
        count += flags.count
    }

    /// Forgets every token from `position` on (for re-prompting after a shared prefix).
    public func truncate(to position: Int) {
        guard position < count else { return }
        count = max(0, position)
        visual.removeLast(visual.count - count)
    }
}
