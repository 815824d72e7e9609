import Foundation
import MolmoRuntime
import Testing

/// The SigLIP2 encoder and the connector against transformers' Molmo2 on the tiny vision checkpoints: ViT hidden
/// states after blocks 18 and 24, attention-pooling output and projected features (fp32, within 1e-4 × max|ref|).
@Suite struct VisionParityTests {
    @Test func configResolvesBothLayouts() throws {
        // transformers 5.x layout: vision_config with 25 layers, vision_feature_layer [24, 18].
        let native = try #require(try Molmo2Config.load(directory: VisionFixtures.checkpoint("qwen3")).vision)
        // Released layout: vit_config declares 27 layers, vit_layers [-3, -9]; 25 blocks are stored.
        let released = try #require(try Molmo2Config.load(directory: VisionFixtures.checkpoint("olmo3")).vision)
        for v in [native, released] {
            #expect(v.layers == 25)
            #expect(v.featureLayers == [24, 18])
            #expect(v.numPositions == 729 && v.imageSize == 378 && v.patchSize == 14)
            #expect(v.hiddenSize == 32 && v.numHeads == 2 && v.headDim == 16 && v.featureWidth == 64)
        }
        #expect(native.textHiddenSize == 64)
    }

    @Test func encoderHiddenStatesMatchReference() throws {
        let ref = try VisionFixtures.reference("qwen3")
        let (model, processor) = try Self.load("qwen3")
        let image = try #require(try VisionFixtures.cases().first { $0.name == "image" })
        let visual = try Molmo2ImagePreprocessor(config: processor).preprocess(image: image.frames[0])
        var hidden: [Int: [Int: [Float]]] = [:]  // layer → crop → values
        _ = try model.features(
            for: visual, mean: processor.imageMean, std: processor.imageStd,
            inspect: VisionInspection(block: { crop, layer, h in
                if layer == 18 || layer == 24 { hidden[layer, default: [:]][crop] = h.array }
            }, pooled: { _ in }))
        for layer in [18, 24] {
            let expected = try ref.floats("image.vit.\(layer)")
            let mine = (0..<visual.numCrops).flatMap { hidden[layer]?[$0] ?? [] }
            #expect(mine.count == expected.count)
            let (diff, scale) = maxDifference(mine, expected)
            #expect(diff <= 1e-4 * scale, "block \(layer): max diff \(diff), scale \(scale)")
        }
    }

    @Test(arguments: ["qwen3", "olmo3"])
    func connectorMatchesReference(family: String) throws {
        let ref = try VisionFixtures.reference(family)
        let (model, processor) = try Self.load(family)
        let preprocessor = Molmo2ImagePreprocessor(config: processor)
        for c in try VisionFixtures.cases() {
            let visuals =
                c.isVideo
                ? [try preprocessor.preprocess(videoFrames: c.frames)]
                : try c.frames.map { try preprocessor.preprocess(image: $0) }
            var pooled: [Float] = []
            var projected: [Float] = []
            for v in visuals {
                let features = try model.features(
                    for: v, mean: processor.imageMean, std: processor.imageStd,
                    inspect: VisionInspection(block: { _, _, _ in }, pooled: { pooled += $0.array }))
                projected += features.array
            }
            for (name, mine) in [("pooled", pooled), ("projected", projected)] {
                let expected = try ref.floats("\(c.name).\(name)")
                #expect(mine.count == expected.count, "\(family)/\(c.name).\(name): count")
                let (diff, scale) = maxDifference(mine, expected)
                #expect(diff <= 1e-4 * scale, "\(family)/\(c.name).\(name): max diff \(diff), scale \(scale)")
            }
        }
    }

    static func load(_ family: String) throws -> (Molmo2VisionModel, Molmo2ProcessorConfig) {
        let dir = VisionFixtures.checkpoint(family)
        let config = try #require(try Molmo2Config.load(directory: dir).vision)
        let model = try Molmo2VisionModel.load(
            checkpoint: try CheckpointFiles(directory: dir), config: config, format: .float32)
        return (model, try Molmo2ProcessorConfig.load(directory: dir))
    }
}
