import Basics
import Foundation

/// The preprocessing and prompt-layout settings of a Molmo2 checkpoint: `preprocessor_config.json` (images),
/// `video_preprocessor_config.json` (video frames) and `processor_config.json` (token layout flags). Missing files
/// or keys take the values of the released Molmo2 processors (molmo2-spec §1.4), including
/// `use_frame_special_tokens = false` (transformers' own default is true, the released file says false).
package struct Molmo2ProcessorConfig: Sendable, Equatable {
    /// Side of every square crop (global view, tile, video frame) in pixels.
    package var cropSize = 378
    /// ViT patch side in pixels.
    package var patchSize = 14
    /// Most tiles per image (besides the global view).
    package var maxCrops = 8
    /// Overlap margins (left/top, right/bottom) of the tiles, in patches.
    package var overlapMargins = [4, 4]
    /// Pooling window (rows, cols) for image patches.
    package var imagePooling = [2, 2]
    /// Pooling window (rows, cols) for video frame patches.
    package var videoPooling = [3, 3]
    /// Per-channel mean and standard deviation on the 0…1 scale; pixels become (v/255 − mean) / std.
    package var imageMean: [Double] = [0.5, 0.5, 0.5]
    package var imageStd: [Double] = [0.5, 0.5, 0.5]
    /// Video sampling defaults (`max_fps`, `num_frames`).
    package var videoMaxFPS = 2.0
    package var videoMaxFrames = 384
    /// `<im_col>` after every row of the tiled view.
    package var imageUseColumnTokens = true
    /// `<im_col>` after every row of the global view (nil: same as `imageUseColumnTokens`).
    package var useSingleCropColumnTokens: Bool? = false
    /// The global view starts with `<low_res_im_start>` (else `<im_start>`).
    package var useSingleCropStartToken = true
    /// `<im_col>` after every row of a video frame.
    package var videoUseColumnTokens = false
    /// Frames wrapped in `<frame_start>`/`<frame_end>` (else `<im_start>`/`<im_end>`).
    package var useFrameSpecialTokens = false

    package init() {}

    /// Patches per crop side (27 for 378 / 14).
    package var patchesPerSide: Int { cropSize / patchSize }
    /// Patches per crop (729).
    package var patchesPerCrop: Int { patchesPerSide * patchesPerSide }
    /// Values per flattened patch (588 for 14·14·3).
    package var valuesPerPatch: Int { patchSize * patchSize * 3 }

    /// Reads the three processor files of `directory` (each optional).
    package static func load(directory: URL) throws -> Molmo2ProcessorConfig {
        var c = Molmo2ProcessorConfig()
        func object(_ name: String) throws -> (JSONValue, String)? {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { return nil }
            do {
                let v = try JSONValue.parse(try RegularFile.read(url.path))
                guard v.object != nil else {
                    throw ModelConfigError.invalid(file: url.path, reason: "not a JSON object")
                }
                return (v, url.path)
            } catch let e as ModelConfigError {
                throw e
            } catch {
                throw ModelConfigError.unreadable(file: url.path, reason: "\(error)")
            }
        }
        func size(_ v: JSONValue?, file: String) throws -> Int? {
            guard let v else { return nil }
            if let n = v.int { return n }
            guard let h = v["height"]?.int, let w = v["width"]?.int else {
                throw ModelConfigError.invalid(file: file, reason: "size must be {height, width}")
            }
            guard h == w else {
                throw ModelConfigError.invalid(file: file, reason: "size \(w)x\(h) is not square (Molmo2 crops are)")
            }
            return h
        }
        func pair(_ v: JSONValue?, _ key: String, file: String) throws -> [Int]? {
            guard let v else { return nil }
            guard let a = v.array?.compactMap(\.int), a.count == 2, a.allSatisfy({ $0 >= 0 }) else {
                throw ModelConfigError.invalid(file: file, reason: "\(key) must be two non-negative integers")
            }
            return a
        }
        func triple(_ v: JSONValue?, _ key: String, file: String) throws -> [Double]? {
            guard let v else { return nil }
            if let d = v.double { return [d, d, d] }
            guard let a = v.array?.compactMap(\.double), a.count == 3 else {
                throw ModelConfigError.invalid(file: file, reason: "\(key) must be three numbers")
            }
            return a
        }
        if let (v, file) = try object("preprocessor_config.json") {
            if let s = try size(v["size"], file: file) { c.cropSize = s }
            if let p = v["patch_size"]?.int { c.patchSize = p }
            if let m = v["max_crops"]?.int { c.maxCrops = m }
            if let m = try pair(v["overlap_margins"], "overlap_margins", file: file) { c.overlapMargins = m }
            if let p = try pair(v["pooling_size"], "pooling_size", file: file) { c.imagePooling = p }
            if let m = try triple(v["image_mean"], "image_mean", file: file) { c.imageMean = m }
            if let s = try triple(v["image_std"], "image_std", file: file) { c.imageStd = s }
        }
        if let (v, file) = try object("video_preprocessor_config.json") {
            if let s = try size(v["size"], file: file), s != c.cropSize {
                throw ModelConfigError.invalid(
                    file: file, reason: "video size \(s) differs from the image crop size \(c.cropSize)")
            }
            if let p = v["patch_size"]?.int, p != c.patchSize {
                throw ModelConfigError.invalid(file: file, reason: "video patch_size \(p) differs from the image one")
            }
            if let p = try pair(v["pooling_size"], "pooling_size", file: file) { c.videoPooling = p }
            if let f = v["max_fps"]?.double { c.videoMaxFPS = f }
            if let n = v["num_frames"]?.int { c.videoMaxFrames = n }
        }
        if let (v, _) = try object("processor_config.json") {
            if let b = v["image_use_col_tokens"]?.bool { c.imageUseColumnTokens = b }
            switch v["use_single_crop_col_tokens"] {
            case .some(.null): c.useSingleCropColumnTokens = nil
            case let .some(x): if let b = x.bool { c.useSingleCropColumnTokens = b }
            case .none: break
            }
            if let b = v["use_single_crop_start_token"]?.bool { c.useSingleCropStartToken = b }
            if let b = v["video_use_col_tokens"]?.bool { c.videoUseColumnTokens = b }
            if let b = v["use_frame_special_tokens"]?.bool { c.useFrameSpecialTokens = b }
        }
        try c.validate(file: directory.appendingPathComponent("preprocessor_config.json").path)
        return c
    }

    /// Checks the values the preprocessing implements.
    func validate(file: String) throws {
        func bad(_ r: String) -> ModelConfigError { .invalid(file: file, reason: r) }
        guard patchSize > 0, cropSize > 0, cropSize % patchSize == 0, cropSize <= 4096 else {
            throw bad("crop size \(cropSize) is not a positive multiple of patch_size \(patchSize)")
        }
        guard (1...64).contains(maxCrops) else { throw bad("max_crops \(maxCrops) is outside 1…64") }
        guard overlapMargins.allSatisfy({ $0 < patchesPerSide }),
            overlapMargins[0] + overlapMargins[1] < patchesPerSide
        else {
            throw bad("overlap_margins \(overlapMargins) leave no tile window")
        }
        for p in [imagePooling, videoPooling] where !(p.allSatisfy { (1...16).contains($0) }) {
            throw bad("pooling_size \(p) is outside 1…16")
        }
        guard imageStd.allSatisfy({ $0 != 0 && $0.isFinite }), imageMean.allSatisfy(\.isFinite) else {
            throw bad("image_std must be non-zero and image_mean finite")
        }
        guard videoMaxFPS.isFinite, videoMaxFPS > 0, videoMaxFPS <= 1000 else {
            throw bad("video max_fps \(videoMaxFPS) is outside (0, 1000]")
        }
        guard (1...100_000).contains(videoMaxFrames) else {
            throw bad("video num_frames \(videoMaxFrames) is outside 1…100000")
        }
    }
}
