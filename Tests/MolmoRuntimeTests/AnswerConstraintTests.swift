import Foundation
import Testing

@testable import MolmoRuntime

/// The answer grammar as an automaton (prefixes, keys, numbers, limits), token masking and the budget on the tiny
/// tokenizer, and constrained answers of the tiny random Molmo2 (whose free answers are noise).
@Suite struct AnswerConstraintTests {
    static let times = ["0.0", "0.5", "1.0", "1.5"]

    func grammar(
        _ element: AnswerConstraint.Element = .points, label: String = "dogs", keys: [String] = times,
        maxPoints: Int = 64, perKey: Int = 16
    ) throws -> AnswerGrammar {
        try AnswerGrammar(
            AnswerConstraint(element: element, label: label, keys: keys, maxPoints: maxPoints, maxPointsPerKey: perKey))
    }

    // MARK: - Automaton

    @Test func prefixesOfAValidAnswerAreAccepted() throws {
        let g = try grammar()
        let answer = #"<points coords="0.0 1 250 500 2 750 250;1.0 3 1000 000">dogs</points>"#
        for end in answer.indices { #expect(g.isPrefix(String(answer[..<end])), "\(answer[..<end])") }
        #expect(g.isPrefix(answer) && g.matches(answer))
        #expect(!g.matches(String(answer.dropLast())))
        #expect(!g.isPrefix(answer + " "), "nothing may follow the closing tag")
        #expect(g.matches(#"<points coords="1.5 7 000 999">dogs</points>"#))
    }

    @Test func wrongLiteralTextIsRejected() throws {
        let g = try grammar()
        #expect(!g.isPrefix("<tracks"))
        #expect(!g.isPrefix("There are none."))
        #expect(!g.isPrefix(#"<points coords= "#))
        #expect(!g.isPrefix(#"<points coords="0.0 1 250 500">cats"#))
        #expect(!g.isPrefix(#"<points coords="0.0 1 250 500"/>"#))
        #expect(!g.isPrefix(#"<points coords="0.0  1"#), "one space between fields")
        #expect(!g.isPrefix(#"<points coords="0.0 1 250 500;"#.replacingOccurrences(of: ";", with: "\t")))
        let tracks = try grammar(.tracks, label: "the dog")
        #expect(tracks.matches(#"<tracks coords="0.5 1 510 505;1.5 1 530 498">the dog</tracks>"#))
        #expect(!tracks.isPrefix(#"<points"#))
        #expect(!tracks.isPrefix(#"<tracks coords="0.5 1 510 505">the dog</points>"#))
    }

    @Test func keysComeFromTheListInOrderEachAtMostOnce() throws {
        let g = try grammar()
        #expect(!g.isPrefix(#"<points coords="0.7"#), "not a sampled time")
        #expect(!g.isPrefix(#"<points coords="2.0 "#))
        #expect(!g.isPrefix(#"<points coords="0 "#), "a prefix of a key is not a key")
        #expect(g.isPrefix(#"<points coords="0.5 1 100 100;1.5 2 100 100"#), "keys may be skipped")
        #expect(!g.isPrefix(#"<points coords="1.0 1 100 100;0.5"#), "earlier key after a later one")
        #expect(!g.isPrefix(#"<points coords="1.0 1 100 100;1.0"#), "the same key twice")
        #expect(!g.isPrefix(#"<points coords="1.5 1 100 100;"#), "no key left after the last one")

        // Image numbers where one key is a prefix of another.
        let images = try grammar(keys: (1...12).map(String.init))
        #expect(images.isPrefix(#"<points coords="1 1 100 100;10 2 100 100;12 "#))
        #expect(!images.isPrefix(#"<points coords="13"#))
        #expect(!images.isPrefix(#"<points coords="10 1 100 100;1 "#))
        #expect(images.isPrefix(#"<points coords="10 1 100 100;11 "#))
        #expect(!images.isPrefix(#"<points coords="10 1 100 100;1;"#))
    }

    @Test func coordinatesAreThreeDigitsOrExactlyOneThousand() throws {
        let g = try grammar()
        let head = #"<points coords="0.0 1 "#
        for good in ["000 000", "999 999", "1000 1000", "100 1000", "007 050"] {
            #expect(g.matches(head + good + #"">dogs</points>"#), "\(good)")
        }
        for bad in ["1001", "1010", "0999", "10 ", "5 ", "2000", "10000", "-1", "12a"] {
            #expect(!g.isPrefix(head + bad), "\(bad)")
        }
        #expect(!g.isPrefix(head + "250 1001"))
        #expect(!g.isPrefix(head + "250 99\""))
    }

    @Test func idsArePositiveWithoutLeadingZeros() throws {
        let g = try grammar()
        let head = #"<points coords="0.0 "#
        for good in ["1", "9", "10", "999"] { #expect(g.isPrefix(head + good + " 500 500"), "\(good)") }
        for bad in ["0", "01", "007", "1000", " "] { #expect(!g.isPrefix(head + bad + " "), "\(bad)") }
    }

    @Test func pointLimitsPerGroupAndInTotal() throws {
        let g = try grammar(maxPoints: 3, perKey: 2)
        let two = #"<points coords="0.0 1 100 100 2 200 200"#
        #expect(g.isPrefix(two))
        #expect(!g.isPrefix(two + " "), "a third point in the group")
        #expect(g.isPrefix(two + ";0.5 3 300 300"))
        #expect(!g.isPrefix(two + ";0.5 3 300 300 "), "a fourth point")
        #expect(!g.isPrefix(two + ";0.5 3 300 300;"), "a group after the last allowed point")
        #expect(g.matches(two + #";0.5 3 300 300">dogs</points>"#))
        #expect(!g.isPrefix(#"<points coords="0.0">"#), "a group has at least one point")
        #expect(!g.isPrefix(#"<points coords="">"#), "an element has at least one group")
    }

    @Test func labelsAreMatchedByteForByte() throws {
        let g = try grammar(label: "café crème")
        #expect(g.matches(#"<points coords="0.0 1 100 100">café crème</points>"#))
        #expect(!g.isPrefix(#"<points coords="0.0 1 100 100">cafe"#))
    }

    @Test func invalidConstraintsAreRejected() {
        func fails(_ c: AnswerConstraint) -> Bool { (try? AnswerGrammar(c)) == nil }
        #expect(fails(AnswerConstraint(element: .points, label: "x", keys: [], maxPoints: 4, maxPointsPerKey: 2)))
        #expect(fails(AnswerConstraint(element: .points, label: "x", keys: ["0 5"], maxPoints: 4, maxPointsPerKey: 2)))
        #expect(fails(AnswerConstraint(element: .points, label: "", keys: ["1"], maxPoints: 4, maxPointsPerKey: 2)))
        #expect(fails(AnswerConstraint(element: .points, label: "x", keys: ["1"], maxPoints: 0, maxPointsPerKey: 2)))
        #expect(!fails(AnswerConstraint(element: .points, label: "x", keys: ["1", "1"], maxPoints: 1, maxPointsPerKey: 1)))
    }

    // MARK: - Tokens

    func tinyModelDecoder(_ constraint: AnswerConstraint) throws -> (ConstrainedDecoder, BPETokenizer) {
        let tokenizer = try BPETokenizer(url: Fixtures.url("qwen3-vision-tiny/tokenizer.json"))
        let decoder = try ConstrainedDecoder(
            constraint: constraint, tokenizer: tokenizer, endOfSequenceIds: [482], logitCount: 512)
        return (decoder, tokenizer)
    }

    static let dogs = AnswerConstraint(element: .points, label: "dogs", keys: times, maxPoints: 8, maxPointsPerKey: 4)

    @Test func tokensAreMaskedByTheirText() throws {
        let (decoder, tokenizer) = try tinyModelDecoder(Self.dogs)
        let id = { (text: String) -> Int in tokenizer.id(of: text) ?? -1 }
        #expect(decoder.allows(id("<")))
        #expect(!decoder.allows(id("Ġthe")))
        #expect(!decoder.allows(482), "end of sequence before the element")
        for special in tokenizer.specialTokenIds { #expect(!decoder.allows(special)) }
        #expect(!decoder.allows(600), "beyond the logits")
        for piece in tokenizer.encode(#"<points coords="0.5 1 250 500"#) {
            #expect(decoder.allows(piece))
            decoder.advance(piece)
        }
        #expect(decoder.allows(id("\">")))
        #expect(!decoder.allows(id("0")), "500 cannot grow to four digits")
        #expect(decoder.allows(id("Ġ")))
        #expect(decoder.allows(id(";")))
        #expect(!decoder.allows(482))
        for piece in tokenizer.encode(#"">dogs</points>"#) {
            #expect(decoder.allows(piece))
            decoder.advance(piece)
        }
        #expect(decoder.isComplete)
        #expect(decoder.allows(482))
        #expect((0..<512).filter { decoder.allows($0) } == [482], "only end of sequence after the element")
    }

    /// Random logits, heavily biased towards continuing (spaces and digits): whatever the draws, an answer given at
    /// least `minimumBudget` tokens ends complete with end of sequence, and greedy steps pick the best allowed token.
    @Test func theBudgetNeverCutsTheElementOff() throws {
        var rng = SeededGenerator(seed: 11)
        let (probe, tokenizer) = try tinyModelDecoder(Self.dogs)
        let minimum = probe.minimumBudget
        #expect(minimum > 20 && minimum < 48, "\(minimum)")
        let favoured = Set(tokenizer.encode(" 0123456789;").map { $0 })
        for trial in 0..<40 {
            let (decoder, _) = try tinyModelDecoder(Self.dogs)
            let budget = minimum + trial % 12
            let options = trial % 2 == 0 ? SamplingOptions.greedy : SamplingOptions(temperature: 1, seed: UInt64(trial))
            var sampler = TokenSampler(options: options)
            var tokens: [Int] = []
            var logits = [Float](repeating: 0, count: 512)
            while tokens.count < budget {
                for i in 0..<512 { logits[i] = rng.nextUnit() * 4 + (favoured.contains(i) ? 6 : 0) }
                logits[482] = 10  // the model would rather stop at once
                let left = budget - tokens.count
                let choice = try #require(
                    logits.withUnsafeBufferPointer { decoder.choose($0, tokensLeft: left, sampler: &sampler) })
                if sampler.options.temperature == 0 {
                    // The best allowed token that leaves room to finish.
                    let best = (0..<512).filter { id in
                        guard let next = decoder.successor(of: id) else { return false }
                        return id == 482 || decoder.cost(next) + 1 <= left - 1
                    }.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }
                    #expect(choice == best)
                }
                decoder.advance(choice)
                tokens.append(choice)
                if choice == 482 { break }
            }
            #expect(tokens.last == 482, "trial \(trial), budget \(budget): \(tokenizer.decode(tokens))")
            let text = tokenizer.decode(tokens, skipSpecialTokens: true)
            #expect(decoder.grammar.matches(text), "\(text)")
        }
    }

    // MARK: - The tiny model

    static let videoFrames = (0..<4).map { k in
        VisionFixtures.synthetic(width: 64, height: 48, seed: k, timestamp: Double(k) * 0.5)
    }

    @Test func constrainedAnswerOfTheTinyModelIsOneCompleteElement() throws {
        let model = try MolmoModel(directory: VisionFixtures.checkpoint("qwen3"), format: .float32)
        let constraint = AnswerConstraint(
            element: .tracks, label: "the disc", keys: Self.times, maxPoints: 6, maxPointsPerKey: 2)
        let grammar = try AnswerGrammar(constraint)
        let free = try model.answer(
            media: .video(Self.videoFrames), question: "Track the disc.", options: AnswerOptions(maxNewTokens: 24))
        #expect(!grammar.isPrefix(free.text), "the fixture's free answer is noise: \(free.text)")

        let vocab = model.language.config.vocabSize
        var streamed = ""
        let answer = try model.answer(
            media: .video(Self.videoFrames), question: "Track the disc.",
            options: AnswerOptions(maxNewTokens: 200, topLogits: vocab, constraint: constraint)
        ) { piece in
            streamed += piece
            return true
        }
        #expect(answer.stopReason == .endOfSequence(482), "\(answer.stopReason): \(answer.text)")
        #expect(grammar.matches(answer.text), "\(answer.text)")
        #expect(streamed == answer.text)
        #expect(answer.text.hasPrefix(#"<tracks coords=""#) && answer.text.hasSuffix(">the disc</tracks>"))

        // Each step took the highest-logit token among those allowed (the traced logits are unmasked).
        let replay = try ConstrainedDecoder(
            constraint: constraint, tokenizer: model.tokenizer, endOfSequenceIds: model.generationConfig.eosTokenIds,
            logitCount: vocab)
        #expect(answer.topLogits.count == answer.generatedIds.count)
        for (step, (top, chosen)) in zip(answer.topLogits, answer.generatedIds).enumerated() {
            let left = 200 - step
            let best = top.ids.first { id in
                guard let next = replay.successor(of: id) else { return false }
                return replay.endOfSequenceIds.contains(id) || replay.cost(next) + 1 <= left - 1
            }
            #expect(chosen == best, "step \(step)")
            let before = model.tokenizer.decode(Array(answer.generatedIds[..<step]), skipSpecialTokens: true)
            if chosen != 482 { #expect(grammar.isPrefix(before + model.tokenizer.decode([chosen]))) }
            replay.advance(chosen)
        }
    }

    /// With budgets from the least that is sure to close up to a generous one, the element always closes.
    @Test func smallBudgetsStillCloseTheElement() throws {
        let model = try MolmoModel(directory: VisionFixtures.checkpoint("qwen3"), format: .float32)
        let constraint = AnswerConstraint(
            element: .points, label: "disc", keys: Self.times, maxPoints: 64, maxPointsPerKey: 16)
        let grammar = try AnswerGrammar(constraint)
        let minimum = try ConstrainedDecoder(
            constraint: constraint, tokenizer: model.tokenizer, endOfSequenceIds: [482], logitCount: 512
        ).minimumBudget
        for budget in [minimum, minimum + 7, 48, 64] {
            let answer = try model.answer(
                media: .video(Self.videoFrames), question: "Point to disc",
                options: AnswerOptions(maxNewTokens: budget, constraint: constraint))
            #expect(answer.stopReason == .endOfSequence(482), "budget \(budget): \(answer.text)")
            #expect(answer.generatedIds.count <= budget)
            #expect(grammar.matches(answer.text), "budget \(budget): \(answer.text)")
        }
    }

    @Test func unconstrainedAnswersAreUnchanged() throws {
        let model = try MolmoModel(directory: VisionFixtures.checkpoint("qwen3"), format: .float32)
        let options = AnswerOptions(maxNewTokens: 16, topLogits: 1)
        let answer = try model.answer(media: .video(Self.videoFrames), question: "Point to disc", options: options)
        #expect(answer.generatedIds == answer.topLogits.map { $0.ids[0] }, "greedy on the raw logits")
    }
}

/// The masking on the released Molmo2 tokenizer (151,669 ids; 151,936 logits).
@Suite struct AnswerConstraintReleasedTokenizerTests {
    @Test func releasedVocabularyCostsAndMasks() throws {
        let tokenizer = try BPETokenizer(url: Fixtures.url("qwen3-molmo2-tokenizer/tokenizer.json"))
        let endOfSequence = try #require(tokenizer.id(of: "<|im_end|>"))
        let keys = (0..<384).map { String(format: "%.1f", Double($0) * 0.5) }
        let constraint = AnswerConstraint(
            element: .points, label: "person", keys: keys, maxPoints: 64, maxPointsPerKey: 16)
        let decoder = try ConstrainedDecoder(
            constraint: constraint, tokenizer: tokenizer, endOfSequenceIds: [endOfSequence], logitCount: 151_936)
        // `<points coords="` and `">person</points>` take a handful of tokens each; digits are single tokens.
        #expect(decoder.minimumBudget < 40, "\(decoder.minimumBudget)")
        #expect(!decoder.allows(endOfSequence))
        for special in tokenizer.specialTokenIds { #expect(!decoder.allows(special)) }

        var rng = SeededGenerator(seed: 3)
        var sampler = TokenSampler(options: .greedy)
        var logits = [Float](repeating: 0, count: 151_936)
        let digits = Set(tokenizer.encode(" 0123456789;"))
        var tokens: [Int] = []
        let budget = decoder.minimumBudget + 20
        while tokens.count < budget {
            for i in 0..<logits.count { logits[i] = rng.nextUnit() * 4 + (digits.contains(i) ? 5 : 0) }
            let choice = try #require(
                logits.withUnsafeBufferPointer { decoder.choose($0, tokensLeft: budget - tokens.count, sampler: &sampler) })
            decoder.advance(choice)
            tokens.append(choice)
            if choice == endOfSequence { break }
        }
        #expect(tokens.last == endOfSequence)
        #expect(decoder.grammar.matches(tokenizer.decode(tokens, skipSpecialTokens: true)))
    }
}
