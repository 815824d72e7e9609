import Foundation
import MolmoRuntime
import Testing

/// The Swift byte-level BPE against HF `tokenizers` on the real Qwen3 tokenizer (with Molmo2's tokens) and on the
/// tiny fixture tokenizer.
@Suite struct TokenizerTests {
    static let qwen: BPETokenizer? = try? BPETokenizer(url: Fixtures.url("qwen3-molmo2-tokenizer/tokenizer.json"))

    static func cases() throws -> JSONValue {
        try JSONValue.parse(try Data(contentsOf: Fixtures.url("tokenizer-cases.json")))
    }

    @Test func encodesLikeHFTokenizers() throws {
        let tokenizer = try #require(Self.qwen)
        let cases = try #require(try Self.cases()["encode"]?.array)
        #expect(cases.count >= 10_000)
        var mismatches: [String] = []
        for c in cases {
            let text = try #require(c["text"]?.string)
            let expected = try #require(c["ids"]?.array).compactMap(\.int)
            let ids = tokenizer.encode(text)
            if ids != expected, mismatches.count < 5 {
                mismatches.append("\(text.debugDescription): \(ids) != \(expected)")
            } else if ids != expected {
                mismatches.append("")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(cases.count) differ, e.g. \(mismatches.prefix(5))")
    }

    @Test func decodesLikeHFTokenizers() throws {
        let tokenizer = try #require(Self.qwen)
        let cases = try #require(try Self.cases()["decode"]?.array)
        var bad = 0
        for c in cases {
            let ids = try #require(c["ids"]?.array).compactMap(\.int)
            let skip = c["skip_special_tokens"]?.bool ?? false
            let expected = try #require(c["text"]?.string)
            if tokenizer.decode(ids, skipSpecialTokens: skip) != expected { bad += 1 }
        }
        #expect(cases.count > 1000)
        #expect(bad == 0, "\(bad) decode cases differ")
    }

    @Test func molmoSpecialTokensAreAtomicAndKnown() throws {
        let tokenizer = try #require(Self.qwen)
        #expect(tokenizer.id(of: "<im_patch>") == 151938)
        #expect(tokenizer.id(of: "<|video|>") == 151945)
        #expect(tokenizer.encode("<|im_start|>user\nDescribe this image.<|im_end|>\n")
            == [151644, 872, 198, 74785, 419, 2168, 13, 151645, 198])
        #expect(tokenizer.encode("Hello, world! 你好") == [9707, 11, 1879, 0, 220, 108386])
        #expect(tokenizer.encode("<im_start><im_patch><im_col>") == [151936, 151938, 151939])
        #expect(tokenizer.specialTokenIds.contains(151938))
        #expect(!tokenizer.specialTokenIds.contains(151667))  // <think> is added but not special
        #expect(tokenizer.decode([151644, 872, 151645], skipSpecialTokens: true) == "user")
    }

    @Test func streamingDetokenizerHoldsIncompleteCharacters() throws {
        let tokenizer = try #require(Self.qwen)
        let text = "Ünïcödé 你好 👍🏽 done"
        let ids = tokenizer.encode(text)
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        var pieces: [String] = []
        for id in ids { pieces.append(stream.append(id)) }
        pieces.append(stream.flush())
        #expect(pieces.joined() == text)
        #expect(!pieces.joined().contains("\u{FFFD}"))
    }

    @Test func tinyTokenizerMatchesFixturePrompt() throws {
        let tokenizer = try BPETokenizer(url: Fixtures.url("tokenizer-tiny/tokenizer.json"))
        let ref = try Fixtures.reference("qwen3")
        let prompt = try #require(ref.metadata["text.prompt"])
        #expect(tokenizer.encode(prompt) == (try ref.integers("text.input_ids")))
        let visualPrompt = try #require(ref.metadata["visual.prompt"])
        #expect(tokenizer.encode(visualPrompt) == (try ref.integers("visual.input_ids")))
        #expect(tokenizer.decode(try ref.integers("text.input_ids")) == prompt)
    }

    /// The cl100k/Llama-3 split (number runs of up to three, no normalizer, inverted "Removed" split) of OLMo
    /// tokenizers, on the tiny vocabulary.
    @Test func cl100kVariantEncodesLikeHFTokenizers() throws {
        let tokenizer = try BPETokenizer(url: Fixtures.url("tokenizer-cl100k-tiny/tokenizer.json"))
        let cases = try #require(try JSONValue.parse(try Data(contentsOf: Fixtures.url("tokenizer-cl100k-cases.json")))["encode"]?.array)
        #expect(cases.count == 2000)
        var bad = 0
        for c in cases {
            let text = try #require(c["text"]?.string)
            if tokenizer.encode(text) != (try #require(c["ids"]?.array).compactMap(\.int)) { bad += 1 }
        }
        #expect(bad == 0, "\(bad) of \(cases.count) differ")
        // Number runs split in threes ("123" + "45"); HF gives these ids for this fixture. A one-digit split could
        // not produce the "12" and "45" tokens.
        #expect(tokenizer.encode("12345") == [300, 18, 351])
    }

    @Test func rejectsUnsupportedTokenizers() {
        let wordPiece = #"{"model":{"type":"WordPiece","vocab":{}}}"#
        #expect(throws: TokenizerError.self) { try BPETokenizer(data: Data(wordPiece.utf8), file: "x.json") }
        #expect(throws: TokenizerError.self) { try BPETokenizer(data: Data("{".utf8), file: "x.json") }
    }
}
