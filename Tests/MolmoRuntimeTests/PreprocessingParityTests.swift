import Foundation
import MolmoRuntime
import Testing

/// Preprocessing against the reference processor (transformers 5.24 + torchvision): resized pixels, tiling, patch
/// order, pooling tables, and the prompt token ids.
@Suite struct PreprocessingParityTests {
    let inputs: SafetensorsFile
    let config: Molmo2ProcessorConfig
    let preprocessor: Molmo2ImagePreprocessor

    init() throws {
        inputs = try VisionFixtures.inputs()
        config = try Molmo2ProcessorConfig.load(directory: VisionFixtures.checkpoint("qwen3"))
        preprocessor = Molmo2ImagePreprocessor(config: config)
    }

    @Test func processorConfigFromFiles() {
        #expect(config.cropSize == 378 && config.patchSize == 14 && config.maxCrops == 8)
        #expect(config.imagePooling == [2, 2] && config.videoPooling == [3, 3])
        #expect(config.useFrameSpecialTokens == false && config.useSingleCropColumnTokens == false)
        #expect(config.patchesPerCrop == 729 && config.valuesPerPatch == 588)
    }

    /// Small odd-sized resizes, up and down, byte for byte.
    @Test func resizeMatchesReference() throws {
        for i in 0..<4 {
            let spec = try #require(inputs.metadata["resize.\(i)"])
            let v = try #require(try JSONSerialization.jsonObject(with: Data(spec.utf8)) as? [Int])
            let source = VisionFixtures.synthetic(width: v[0], height: v[1], seed: v[2])
            let mine = try Molmo2ImagePreprocessor.resize(source, width: v[3], height: v[4])
            let expected = try inputs.integers("resize.\(i)").map(UInt8.init)
            let differing = zip(mine, expected).filter { $0 != $1 }.count
            #expect(mine.count == expected.count && differing == 0, "resize \(v[0])x\(v[1]) → \(v[3])x\(v[4]): \(differing) values differ")
        }
    }

    /// Tiling choice and canvas size for many sizes (including sides under the 112-px margin) and max_crops values.
    @Test func tilingMatchesReference() throws {
        let data = try Data(contentsOf: Fixtures.url("vision-tiling.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try #require(root["cases"] as? [[Int]])
        #expect(cases.count > 1000)
        var mismatches: [String] = []
        for c in cases {
            let t = preprocessor.tiling(width: c[0], height: c[1], maxCrops: c[2])
            if [t.rows, t.cols, t.canvasHeight, t.canvasWidth] != Array(c[3...6]) {
                mismatches.append("\(c[0])x\(c[1]) max \(c[2]): \(t.rows)x\(t.cols) vs \(c[3])x\(c[4])")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    /// Crops, pooling tables, grids and token ids for one tiled image, two images and a 6-frame video.
    @Test func casesMatchReference() throws {
        let tokenizer = try BPETokenizer(url: VisionFixtures.checkpoint("qwen3").appendingPathComponent("tokenizer.json"))
        let tokens = try Molmo2SpecialTokens(tokenizer: tokenizer, bos: 482, file: "tokenizer.json")
        let layout = PromptLayout(config: config, tokens: tokens, tokenizer: tokenizer)
        let cases = try VisionFixtures.cases()
        #expect(cases.map(\.name) == ["image", "images", "video"])
        for c in cases {
            var visuals: [PreprocessedVisual] = []
            if c.isVideo {
                visuals = [try preprocessor.preprocess(videoFrames: c.frames)]
            } else {
                visuals = try c.frames.map { try preprocessor.preprocess(image: $0) }
            }
            let pixels = visuals.flatMap(\.crops)
            let expectedPixels = try inputs.integers("\(c.name).pixels").map(UInt8.init)
            #expect(pixels.count == expectedPixels.count, "\(c.name): pixel count")
            let differing = zip(pixels, expectedPixels).filter { $0 != $1 }.count
            #expect(differing == 0, "\(c.name): \(differing) pixel values differ")

            // The reference numbers patches across all images of a prompt.
            var pooling: [Int] = []
            var offset = 0
            for v in visuals {
                pooling += v.pooling.map { $0 >= 0 ? Int($0) + offset : -1 }
                offset += v.numCrops * config.patchesPerCrop
            }
            #expect(pooling == (try inputs.integers("\(c.name).pooling")), "\(c.name): pooling table")
            #expect(visuals.flatMap(\.grid) == (try inputs.integers("\(c.name).grids")), "\(c.name): grids")

            let prompt = try layout.prompt(visuals: visuals, question: c.question)
            #expect(prompt.ids == (try inputs.integers("\(c.name).input_ids")), "\(c.name): input ids")
            #expect(prompt.visual == (try inputs.integers("\(c.name).token_type")).map { $0 == 1 }, "\(c.name): types")
            #expect(prompt.patchPositions(patchId: tokens.imagePatch).count == visuals.reduce(0) { $0 + $1.tokenCount })
        }
    }

    /// The image case is a 2×2 tiling: 5 crops, 23×23 pooled tiled tokens, end padding in the last window row/col.
    @Test func poolingPadsAtTheEnd() throws {
        let image = try preprocessor.preprocess(image: VisionFixtures.synthetic(width: 560, height: 420, seed: 1))
        #expect(image.tiling == ImageTiling(rows: 2, cols: 2, canvasWidth: 644, canvasHeight: 644))
        #expect(image.numCrops == 5 && image.grid == [14, 14, 23, 23])
        // Global view: window (0, 13) holds patches (0, 26) and (1, 26) plus two padding slots on the right.
        let row13 = Array(image.pooling[(13 * 4)..<(14 * 4)])
        #expect(row13 == [26, -1, 53, -1])
        // The last global window (13, 13) has only patch (26, 26).
        let last = Array(image.pooling[(195 * 4)..<(196 * 4)])
        #expect(last == [728, -1, -1, -1])
    }

    @Test func rejectsBadFrames() {
        #expect(throws: PreprocessingError.self) {
            _ = try preprocessor.preprocess(image: RGBFrame(pixels: [1, 2, 3], width: 2, height: 2))
        }
        #expect(throws: PreprocessingError.self) {
            _ = try preprocessor.preprocess(image: RGBFrame(pixels: [], width: 0, height: 0))
        }
        #expect(throws: PreprocessingError.self) {
            _ = try preprocessor.preprocess(videoFrames: [])
        }
        #expect(throws: PreprocessingError.self) {
            _ = try preprocessor.preprocess(image: VisionFixtures.synthetic(width: 4, height: 4, seed: 0), maxCrops: 0)
        }
    }
}

/// The other branch of every `processor_config.json` layout flag against the reference processor run with it.
@Suite struct PromptLayoutFlagTests {
    @Test func alternateFlagsMatchReference() throws {
        let inputs = try VisionFixtures.inputs()
        let text = try #require(inputs.metadata["variant.processor_config"])
        let flags = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        var config = try Molmo2ProcessorConfig.load(directory: VisionFixtures.checkpoint("qwen3"))
        config.imageUseColumnTokens = try #require(flags["image_use_col_tokens"] as? Bool)
        config.useSingleCropColumnTokens = flags["use_single_crop_col_tokens"] as? Bool
        config.useSingleCropStartToken = try #require(flags["use_single_crop_start_token"] as? Bool)
        config.videoUseColumnTokens = try #require(flags["video_use_col_tokens"] as? Bool)
        config.useFrameSpecialTokens = try #require(flags["use_frame_special_tokens"] as? Bool)
        #expect(config.useSingleCropColumnTokens == nil && config.useFrameSpecialTokens)

        let tokenizer = try BPETokenizer(url: VisionFixtures.checkpoint("qwen3").appendingPathComponent("tokenizer.json"))
        let tokens = try Molmo2SpecialTokens(tokenizer: tokenizer, bos: 482, file: "tokenizer.json")
        let layout = PromptLayout(config: config, tokens: tokens, tokenizer: tokenizer)
        let preprocessor = Molmo2ImagePreprocessor(config: config)
        for c in try VisionFixtures.cases() {
            let visuals =
                c.isVideo
                ? [try preprocessor.preprocess(videoFrames: c.frames)]
                : try c.frames.map { try preprocessor.preprocess(image: $0) }
            let ids = try layout.prompt(visuals: visuals, question: c.question).ids
            #expect(ids == (try inputs.integers("variant.\(c.name).input_ids")), "\(c.name)")
            #expect(ids != (try inputs.integers("\(c.name).input_ids")))
        }
    }
}
