import CKernels
import Foundation

/// A decoded picture handed to the runtime: packed RGB24 (`width * 3` bytes per row, no padding). For a video
/// frame, `timestamp` is the time in seconds written into the prompt (the requested sample time, molmo2-spec §6.5).
package struct RGBFrame: Sendable, Equatable {
    package var pixels: [UInt8]
    package var width: Int
    package var height: Int
    package var timestamp: Double

    package init(pixels: [UInt8], width: Int, height: Int, timestamp: Double = 0) {
        self.pixels = pixels
        self.width = width
        self.height = height
        self.timestamp = timestamp
    }
}

/// Problems with pictures handed to the preprocessor.
package enum PreprocessingError: Error, CustomStringConvertible, Equatable {
    /// A frame's size or pixel buffer is unusable.
    case invalidFrame(String)
    /// A buffer could not be allocated.
    case outOfMemory(String)

    package var description: String {
        switch self {
        case let .invalidFrame(r): return "preprocessing: \(r)"
        case let .outOfMemory(r): return "preprocessing: out of memory (\(r))"
        }
    }
}

/// How an image is cut into tiles (`select_tiling` of the reference processor) and the size it is stretched to first.
package struct ImageTiling: Equatable, Sendable {
    package var rows: Int
    package var cols: Int
    package var canvasWidth: Int
    package var canvasHeight: Int

    package init(rows: Int, cols: Int, canvasWidth: Int, canvasHeight: Int) {
        self.rows = rows
        self.cols = cols
        self.canvasWidth = canvasWidth
        self.canvasHeight = canvasHeight
    }
}

/// One image or one video after preprocessing: crop pixels as uint8 in patch order (crop-major, then patch row-major,
/// each patch 14×14×RGB row-major, molmo2-spec §6.3) and the pooling table that groups patches into LLM tokens.
package struct PreprocessedVisual: Sendable {
    package enum Kind: Sendable, Equatable {
        case image
        case video
    }

    package var kind: Kind
    /// numCrops × patchesPerCrop × valuesPerPatch bytes.
    package var crops: [UInt8]
    package var numCrops: Int
    /// tokenCount × windowSize patch indices (crop · patchesPerCrop + patch, local to this image/video), −1 = padding.
    package var pooling: [Int32]
    /// Patches per pooling window (4 for images, 9 for video).
    package var windowSize: Int
    /// Image: [global rows, global cols, tiled rows, tiled cols] of pooled tokens; video: [frames, rows, cols].
    package var grid: [Int]
    /// Prompt times of the video frames (empty for images).
    package var timestamps: [Double]
    /// The tiling of an image (nil for video).
    package var tiling: ImageTiling?

    /// Number of `<im_patch>` tokens (pooling rows).
    package var tokenCount: Int { windowSize > 0 ? pooling.count / windowSize : 0 }
}

/// Molmo2's image and video-frame preprocessing (molmo2-spec §6), exactly as the reference processor:
/// stretch resizes with PyTorch's bilinear arithmetic, a global 378² view plus overlapping tiles for images,
/// one 378² view per video frame, patch flattening and pooling tables with end padding.
package struct Molmo2ImagePreprocessor: Sendable {
    package let config: Molmo2ProcessorConfig

    /// Largest side accepted for an input picture.
    package static let maximumSide = 16384
    /// Largest `max_crops` accepted (training used up to 24).
    package static let maximumCrops = 64

    package init(config: Molmo2ProcessorConfig) { self.config = config }

    // MARK: - Resize

    /// Stretches `frame` to `width` × `height` (bilinear, half-pixel centres, no antialias, computed in float and
    /// rounded half-to-even to uint8, as `F.interpolate` + `round` in the reference).
    package static func resize(_ frame: RGBFrame, width: Int, height: Int) throws -> [UInt8] {
        try check(frame, what: "image")
        guard (1...maximumSide).contains(width), (1...maximumSide).contains(height) else {
            throw PreprocessingError.invalidFrame("resize target \(width)x\(height) is out of range")
        }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        var failed = false
        let failure = NSLock()
        frame.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                parallelChunks(height, minChunk: 32) { r0, r1 in
                    if spotter_resize_bilinear_rgb8(
                        s, frame.width, frame.height, frame.width * 3, d, width, height, width * 3, r0, r1) != 0
                    {
                        failure.lock()
                        failed = true
                        failure.unlock()
                    }
                }
            }
        }
        if failed { throw PreprocessingError.outOfMemory("resize to \(width)x\(height)") }
        return out
    }

    static func check(_ frame: RGBFrame, what: String) throws {
        guard (1...maximumSide).contains(frame.width), (1...maximumSide).contains(frame.height) else {
            throw PreprocessingError.invalidFrame("\(what) size \(frame.width)x\(frame.height) is out of range")
        }
        guard frame.pixels.count == frame.width * frame.height * 3 else {
            throw PreprocessingError.invalidFrame(
                "\(what) of \(frame.width)x\(frame.height) has \(frame.pixels.count) bytes, expected "
                    + "\(frame.width * frame.height * 3) (packed RGB24)")
        }
    }

    // MARK: - Tiling

    /// The tiling of an image of `width` × `height` with at most `maxCrops` tiles (`select_tiling` on the size minus
    /// the total overlap margin, scales in float32, candidates ordered by (tiles, rows)).
    package func tiling(width: Int, height: Int, maxCrops: Int? = nil) -> ImageTiling {
        let crops = min(max(1, maxCrops ?? config.maxCrops), Self.maximumCrops)
        let margin = (config.overlapMargins[0] + config.overlapMargins[1]) * config.patchSize
        let window = (config.patchesPerSide - config.overlapMargins[0] - config.overlapMargins[1]) * config.patchSize
        var candidates: [(rows: Int, cols: Int)] = []
        for r in 1...crops { for c in 1...crops where r * c <= crops { candidates.append((r, c)) } }
        candidates.sort { ($0.rows * $0.cols, $0.rows) < ($1.rows * $1.cols, $1.rows) }
        let h = Float(height - margin)
        let w = Float(width - margin)
        let scales = candidates.map { min(Float($0.rows * window) / h, Float($0.cols * window) / w) }
        var pick = 0
        if scales.allSatisfy({ $0 < 1 }) {
            for i in scales.indices where scales[i] > scales[pick] { pick = i }
        } else {
            let masked = scales.map { $0 < 1 ? Float(10e9) : $0 }
            for i in masked.indices where masked[i] < masked[pick] { pick = i }
        }
        let (rows, cols) = candidates[pick]
        return ImageTiling(rows: rows, cols: cols, canvasWidth: cols * window + margin,
                           canvasHeight: rows * window + margin)
    }

    // MARK: - Images

    /// The global view and tiles of one image, with its pooling table (global rows first, then tiled rows).
    package func preprocess(image: RGBFrame, maxCrops: Int? = nil) throws -> PreprocessedVisual {
        try Self.check(image, what: "image")
        if let m = maxCrops, !(1...Self.maximumCrops).contains(m) {
            throw PreprocessingError.invalidFrame("max crops \(m) is outside 1…\(Self.maximumCrops)")
        }
        let c = config
        let side = c.patchesPerSide
        let perCrop = c.patchesPerCrop
        let t = tiling(width: image.width, height: image.height, maxCrops: maxCrops)
        let tiles = t.rows * t.cols
        var crops = [UInt8](repeating: 0, count: (1 + tiles) * perCrop * c.valuesPerPatch)

        let global = try Self.resize(image, width: c.cropSize, height: c.cropSize)
        writePatches(of: global, width: c.cropSize, x: 0, y: 0, crop: 0, into: &crops)
        let canvas = try Self.resize(image, width: t.canvasWidth, height: t.canvasHeight)
        let window = (side - c.overlapMargins[0] - c.overlapMargins[1]) * c.patchSize
        for i in 0..<t.rows {
            for j in 0..<t.cols {
                writePatches(of: canvas, width: t.canvasWidth, x: j * window, y: i * window,
                             crop: 1 + i * t.cols + j, into: &crops)
            }
        }

        // Patch index grid of the tiled view: every canvas patch comes from exactly one tile (the reference drops
        // each tile's overlap margins except at the image border).
        let left = c.overlapMargins[0]
        let right = c.overlapMargins[1]
        var tiled: [Int32] = []
        tiled.reserveCapacity((t.canvasHeight / c.patchSize) * (t.canvasWidth / c.patchSize))
        for ti in 0..<t.rows {
            for r in 0..<side {
                if ti > 0 && r < left { continue }
                if ti < t.rows - 1 && r >= side - right { continue }
                for tj in 0..<t.cols {
                    for col in 0..<side {
                        if tj > 0 && col < left { continue }
                        if tj < t.cols - 1 && col >= side - right { continue }
                        tiled.append(Int32(perCrop + (ti * t.cols + tj) * perCrop + r * side + col))
                    }
                }
            }
        }
        let gridRows = t.canvasHeight / c.patchSize
        let gridCols = t.canvasWidth / c.patchSize
        guard tiled.count == gridRows * gridCols else {
            throw PreprocessingError.invalidFrame(
                "tiling \(t.rows)x\(t.cols) gives \(tiled.count) patches for a \(gridCols)x\(gridRows) grid")
        }
        let globalGrid = (0..<Int32(perCrop)).map { $0 }
        let (globalPool, gh, gw) = Self.poolingWindows(
            globalGrid, rows: side, cols: side, poolRows: c.imagePooling[0], poolCols: c.imagePooling[1])
        let (tiledPool, th, tw) = Self.poolingWindows(
            tiled, rows: gridRows, cols: gridCols, poolRows: c.imagePooling[0], poolCols: c.imagePooling[1])
        return PreprocessedVisual(
            kind: .image, crops: crops, numCrops: 1 + tiles, pooling: globalPool + tiledPool,
            windowSize: c.imagePooling[0] * c.imagePooling[1], grid: [gh, gw, th, tw], timestamps: [], tiling: t)
    }

    // MARK: - Video

    /// One video frame stretched to a single crop, in patch order (`patchesPerCrop × valuesPerPatch` bytes).
    package func videoFramePatches(_ frame: RGBFrame) throws -> [UInt8] {
        try Self.check(frame, what: "video frame")
        let c = config
        let resized = try Self.resize(frame, width: c.cropSize, height: c.cropSize)
        var out = [UInt8](repeating: 0, count: c.patchesPerCrop * c.valuesPerPatch)
        writePatches(of: resized, width: c.cropSize, x: 0, y: 0, crop: 0, into: &out)
        return out
    }

    /// Pooling rows of `frames` video frames (frame-major, index = frame · patchesPerCrop + patch) and the per-frame
    /// pooled grid.
    package func videoPooling(frames: Int) -> (pooling: [Int32], rows: Int, cols: Int) {
        let c = config
        let grid = (0..<Int32(c.patchesPerCrop)).map { $0 }
        let (one, rows, cols) = Self.poolingWindows(
            grid, rows: c.patchesPerSide, cols: c.patchesPerSide, poolRows: c.videoPooling[0],
            poolCols: c.videoPooling[1])
        var out: [Int32] = []
        out.reserveCapacity(one.count * frames)
        for f in 0..<frames {
            let offset = Int32(f * c.patchesPerCrop)
            out += one.map { $0 >= 0 ? $0 + offset : -1 }
        }
        return (out, rows, cols)
    }

    /// Every frame of a video (already sampled; `timestamp` of each is its prompt time).
    package func preprocess(videoFrames frames: [RGBFrame]) throws -> PreprocessedVisual {
        try preprocess(videoFrameCount: frames.count, frame: { frames[$0] })
    }

    /// A video of `count` frames fetched one at a time (`frame(i)`), so that full-size frames are not all held in
    /// memory at once. `afterFrame(done)` runs after each frame (progress; it may throw to stop).
    func preprocess(videoFrameCount count: Int, frame: (Int) throws -> RGBFrame,
                    afterFrame: ((Int) throws -> Void)? = nil) throws -> PreprocessedVisual {
        guard count > 0 else { throw PreprocessingError.invalidFrame("a video needs at least one frame") }
        var crops: [UInt8] = []
        crops.reserveCapacity(count * config.patchesPerCrop * config.valuesPerPatch)
        var timestamps: [Double] = []
        for i in 0..<count {
            let f = try frame(i)
            crops += try videoFramePatches(f)
            timestamps.append(f.timestamp)
            try afterFrame?(i + 1)
        }
        let (pooling, rows, cols) = videoPooling(frames: count)
        return PreprocessedVisual(
            kind: .video, crops: crops, numCrops: count, pooling: pooling,
            windowSize: config.videoPooling[0] * config.videoPooling[1], grid: [count, rows, cols],
            timestamps: timestamps, tiling: nil)
    }

    // MARK: - Shared

    /// Copies the crop whose top-left pixel is (x, y) of an RGB image `width` pixels wide into crop slot `crop` of
    /// `out`, patch by patch.
    private func writePatches(of image: [UInt8], width: Int, x: Int, y: Int, crop: Int, into out: inout [UInt8]) {
        let p = config.patchSize
        let side = config.patchesPerSide
        let perPatch = config.valuesPerPatch
        let base = crop * config.patchesPerCrop * perPatch
        image.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                for pr in 0..<side {
                    for pc in 0..<side {
                        let patch = d + base + (pr * side + pc) * perPatch
                        for dy in 0..<p {
                            let row = s + ((y + pr * p + dy) * width + x + pc * p) * 3
                            (patch + dy * p * 3).update(from: row, count: p * 3)
                        }
                    }
                }
            }
        }
    }

    /// `arange_for_pooling`: pads a rows × cols index grid with −1 to multiples of the window (⌊pad/2⌋ before,
    /// ⌈pad/2⌉ after: all at the end for 2×2 windows) and lists the windows row-major, each row-major.
    static func poolingWindows(_ grid: [Int32], rows: Int, cols: Int, poolRows: Int, poolCols: Int)
        -> (windows: [Int32], rows: Int, cols: Int)
    {
        let padH = (rows + poolRows - 1) / poolRows * poolRows - rows
        let padW = (cols + poolCols - 1) / poolCols * poolCols - cols
        let top = padH / 2
        let leftPad = padW / 2
        let outRows = (rows + padH) / poolRows
        let outCols = (cols + padW) / poolCols
        var out = [Int32](repeating: -1, count: outRows * outCols * poolRows * poolCols)
        var k = 0
        for wr in 0..<outRows {
            for wc in 0..<outCols {
                for dr in 0..<poolRows {
                    for dc in 0..<poolCols {
                        let r = wr * poolRows + dr - top
                        let c = wc * poolCols + dc - leftPad
                        if r >= 0 && r < rows && c >= 0 && c < cols { out[k] = grid[r * cols + c] }
                        k += 1
                    }
                }
            }
        }
        return (out, outRows, outCols)
    }
}
