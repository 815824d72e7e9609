import Foundation
import MolmoRuntime
import Testing

@Suite struct CheckpointInspectorTests {
    @Test func reportsFamilySizesAndDType() throws {
        let qwen = try CheckpointInspector.inspect(directory: Fixtures.url("qwen3-tiny-f32"), contextTokens: 1000)
        #expect(qwen.family == .qwen3)
        #expect(qwen.weightLayout == "released")
        #expect(qwen.shardCount == 5)
        #expect(qwen.bytesByDType.keys.sorted { $0.rawValue < $1.rawValue } == [.F32])
        // embedding 640×64 + lm_head 512×64 + final norm 64 + 3 blocks
        let block = 64 * 64 + 64 * 64 / 2 * 2 + 64 * 64 + 2 * 96 * 64 + 64 * 96 + 2 * 64 + 2 * 16
        #expect(qwen.languageParameters == 640 * 64 + 512 * 64 + 64 + 3 * block)
        #expect(qwen.otherParameters > 0 && qwen.hasVision)
        #expect(qwen.kvBytesPerToken == 2 * 3 * 2 * 16 * 4)
        #expect(qwen.memoryNeeded(format: .float32) > qwen.memoryNeeded(format: .bfloat16))
        #expect(qwen.eosTokenIds == [482])
        #expect(qwen.tokenizerStatus.contains("as in config.json"))

        let olmo = try CheckpointInspector.inspect(directory: Fixtures.url("olmo3-tiny-bf16"))
        #expect(olmo.family == .olmo3)
        #expect(olmo.bytesByDType[.BF16] == olmo.checkpointBytes)
        #expect(olmo.text.ropeScalingLayers == [1, 3])
        #expect(olmo.text.rope.ropeType == "yarn")

        // Its config names a vision tower whose weights are absent: `ask` cannot load it, so doctor refuses it too.
        do {
            _ = try CheckpointInspector.inspect(directory: Fixtures.url("qwen3-tiny-native-names"))
            Issue.record("a checkpoint without its vision weights was accepted")
        } catch {
            #expect("\(error)".contains("is missing") && "\(error)".contains("vision"))
        }
    }

    @Test func notACheckpointGivesOneLineReason() throws {
        for dir in [Fixtures.url("tokenizer-tiny"), URL(fileURLWithPath: "/nonexistent-dir"), Fixtures.directory] {
            do {
                _ = try CheckpointInspector.inspect(directory: dir)
                Issue.record("\(dir.path) accepted")
            } catch {
                let text = "\(error)"
                #expect(!text.contains("\n") && text.contains(dir.path))
            }
        }
    }

    @Test func releasedAndNativeConfigLayoutsAgree() throws {
        // qwen3 fixtures use the transformers 5.x keys, olmo3 the released keys; both parse to the values written.
        let q = try Molmo2Config.load(directory: Fixtures.url("qwen3-tiny-f32"))
        #expect(q.text.rope.theta == 5_000_000 && q.text.rope.ropeType == "default")
        #expect(q.text.rmsNormEps == 1e-6 && !q.text.normAfter && q.text.qkNormType == "qwen3")
        let o = try Molmo2Config.load(directory: Fixtures.url("olmo3-tiny-f32"))
        #expect(o.text.rope.theta == 500_000 && o.text.rope.factor == 8 && o.text.rope.originalMaxPositionEmbeddings == 8192)
        #expect(o.text.normAfter && o.text.qkNormType == "olmo" && o.text.numKeyValueHeads == 4)
        #expect(o.imageColumnId == 515 && o.imagePatchId == 514)

        let bad = #"{"model_type":"molmo2","text_config":{"hidden_size":64,"num_hidden_layers":1,"num_attention_heads":3,"num_key_value_heads":2,"intermediate_size":8,"vocab_size":10}}"#
        #expect(throws: ModelConfigError.self) { try Molmo2Config.parse(Data(bad.utf8), file: "config.json") }
    }
}
