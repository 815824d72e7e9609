import Annotations
import Foundation
import MolmoRuntime
import Testing

@testable import Assist

/// The regular expression a vLLM server gets for a constrained request: it accepts what the runtime's grammar accepts.
struct ConstrainedOutputTests {
    static let shape = ConstrainedOutput(
        element: .points, label: "red car (left)", keys: ["0.0", "0.5", "1.0", "10.5"], maxPoints: 64, maxPointsPerKey: 2)

    /// True when `pattern` matches the whole of `text`, as vLLM's structured output requires.
    func fullMatch(_ pattern: String, _ text: String) throws -> Bool {
        let regex = try NSRegularExpression(pattern: "^(?:" + pattern + ")$")
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    static let accepted = [
        #"<points coords="0.0 1 250 500">red car (left)</points>"#,
        #"<points coords="0.5 1 1000 000 2 999 1000">red car (left)</points>"#,
        #"<points coords="0.0 1 250 500;1.0 2 100 100;10.5 3 007 070">red car (left)</points>"#,
        #"<points coords="10.5 12 250 500">red car (left)</points>"#,
        #"<points coords="0.5 1 250 500;10.5 2 250 500 3 251 501">red car (left)</points>"#,
    ]

    static let rejected = [
        #"<points coords="0.0 1 250 500">red car</points>"#,
        #"<tracks coords="0.0 1 250 500">red car (left)</tracks>"#,
        #"<points coords="0.7 1 250 500">red car (left)</points>"#,
        #"<points coords="1.0 1 250 500;0.5 2 250 500">red car (left)</points>"#,
        #"<points coords="0.5 1 250 500;0.5 2 250 500">red car (left)</points>"#,
        #"<points coords="0.0 1 250 500 2 250 500 3 250 500">red car (left)</points>"#,
        #"<points coords="0.0 1 1001 500">red car (left)</points>"#,
        #"<points coords="0.0 01 250 500">red car (left)</points>"#,
        #"<points coords="0.0 0 250 500">red car (left)</points>"#,
        #"<points coords="0.0 1 25 500">red car (left)</points>"#,
        #"<points coords="0.0 1 250 500;">red car (left)</points>"#,
        #"<points coords=";0.0 1 250 500">red car (left)</points>"#,
        #"<points coords="0.0 1 250 500">red car (left)</points> "#,
        #"<points coords="">red car (left)</points>"#,
        #"<points coords="0.0">red car (left)</points>"#,
        "There are none.",
    ]

    @Test func regularExpressionAcceptsExactlyTheAllowedAnswers() throws {
        let pattern = Self.shape.regularExpression
        let grammar = try AnswerGrammar(Self.shape)
        for text in Self.accepted {
            #expect(try fullMatch(pattern, text), "\(text)")
            #expect(grammar.matches(text), "\(text)")
        }
        for text in Self.rejected {
            #expect(try !fullMatch(pattern, text), "\(text)")
            #expect(!grammar.matches(text), "\(text)")
        }
        // Real Molmo2 output (recorded from vLLM) fits the constraint built for its request.
        let recorded = String(decoding: try fixture("track-whole-video.answer.txt"), as: UTF8.self)
            .trimmingCharacters(in: .newlines)
        let request = try GroundingRequest.make(
            task: .track(label: "checker disc", fps: 2), scope: .defaultWholeVideo,
            source: SyntheticVideo(width: 96, height: 54).source, constrainOutput: true)
        let constraint = try #require(request.constrainedOutput)
        #expect(try fullMatch(constraint.regularExpression, recorded))
        #expect(try AnswerGrammar(constraint).matches(recorded))
    }

    /// Long key lists stay linear in size and shallow enough for regular-expression engines that limit nesting.
    /// (ICU backtracks, so the matching checks stay at sizes it handles; vLLM's backends compile to automata.)
    @Test(arguments: [40, 200, 384, 1200])
    func regularExpressionStaysSmallAndShallowForManyKeys(count: Int) throws {
        let keys = (0..<count).map { String(format: "%.1f", Double($0) * 0.5) }
        let shape = ConstrainedOutput(element: .tracks, label: "dog", keys: keys, maxPoints: 64, maxPointsPerKey: 16)
        let pattern = shape.regularExpression
        #expect(pattern.utf8.count < count * 300, "\(pattern.utf8.count) bytes")
        var depth = 0
        var deepest = 0
        for c in pattern {
            if c == "(" { depth += 1 }
            if c == ")" { depth -= 1 }
            deepest = max(deepest, depth)
        }
        #expect(depth == 0 && deepest < 80, "nested \(deepest) deep")
        guard count <= 384 else { return }
        let (first, middle, last) = (keys[0], keys[count / 2], keys[count - 1])
        #expect(try fullMatch(pattern, #"<tracks coords="\#(last) 1 300 300">dog</tracks>"#))
        #expect(try fullMatch(pattern, #"<tracks coords="\#(keys[31]) 1 300 300;\#(keys[32]) 2 300 300">dog</tracks>"#))
        #expect(try !fullMatch(pattern, #"<tracks coords="\#(keys[32]) 1 300 300;\#(keys[31]) 2 300 300">dog</tracks>"#))
        guard count <= 200 else { return }
        #expect(try fullMatch(pattern, #"<tracks coords="\#(first) 1 100 100;\#(middle) 1 200 200;\#(last) 1 300 300">dog</tracks>"#))
        #expect(try !fullMatch(pattern, #"<tracks coords="\#(middle) 1 200 200;\#(first) 1 100 100">dog</tracks>"#))
        #expect(try !fullMatch(pattern, #"<tracks coords="\#(middle) 1 200 200;\#(middle) 1 100 100">dog</tracks>"#))
    }

    @Test func labelsAreEscaped() throws {
        let shape = ConstrainedOutput(
            element: .points, label: #"a.b*c [x] {y} \z $"#, keys: ["1"], maxPoints: 4, maxPointsPerKey: 4)
        #expect(try fullMatch(shape.regularExpression, #"<points coords="1 1 100 100">a.b*c [x] {y} \z $</points>"#))
        #expect(try !fullMatch(shape.regularExpression, #"<points coords="1 1 100 100">aXb*c [x] {y} \z $</points>"#))
    }
}
