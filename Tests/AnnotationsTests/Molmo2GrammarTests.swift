import Foundation
import Testing

@testable import Annotations

@Suite struct Molmo2GrammarTests {
    /// The example strings of molmo2-spec §8.3, each already canonical.
    static let specExamples = [
        #"<points coords="1 1 250 500 2 750 250">dogs</points>"#,
        #"<points coords="1 1 503 087">red mug</points>"#,
        "There are none.",
        #"Counting the <points coords="1 1 102 330 2 455 610 3 901 012">apples</points> shows a total of 3."#,
        #"Counting the <points coords="1 1 500 500">moon</points> shows a total of 1."#,
        #"<points coords="1 1 420 515;3 2 100 200 3 640 388">cats</points>"#,
        #"Counting the <points coords="2 1 333 250 2 710 905">traffic cones</points> shows a total of 2."#,
        "5",
        #"<points coords="0.5 1 300 400;2.0 2 710 220 3 715 600;6.5 4 512 512">person jumping</points>"#,
        #"Counting the <points coords="1.0 1 250 610;3.5 2 260 600">goals scored</points> shows a total of 2."#,
        #"There are 4 <points coords="0.5 1 300 400;2.0 2 710 220 3 715 600;6.5 4 512 512">birds</points>."#,
        #"<tracks coords="0.0 1 212 480 2 655 470;0.5 1 220 478 2 650 468;1.0 2 648 466;1.5 1 240 470 2 640 460 3 100 300">player in red</tracks>"#,
        #"<tracks coords="0.0 1 510 505;1.0 1 530 498;2.0 1 561 490">the dog</tracks>"#,
        #"<tracks coords="0.0 1 300 420 2 610 380;4.5 2 700 390;7.0 1 150 500">cars</tracks>"#,
        #"<tracks coords="2.0 1 433 610;2.5 1 440 605;3.0 1 452 601">dog</tracks>"#,
        "No tracks available.",
    ]

    @Test(arguments: specExamples) func specExamplesRoundTripExactly(_ text: String) {
        let answer = Molmo2Answer.parse(text)
        #expect(answer.diagnostics.isEmpty)
        #expect(!answer.isTruncated)
        #expect(answer.text == text)
    }

    @Test func specExamplesParseToTheirMeaning() throws {
        let multi = Molmo2Answer.parse(#"<points coords="1 1 420 515;3 2 100 200 3 640 388">cats</points>"#)
        let element = try #require(multi.elements.first)
        #expect(element.kind == .points && element.label == "cats")
        #expect(element.groups.map(\.key) == [.image(1), .image(3)])
        #expect(element.groups[1].points == [NormalizedPoint(id: 2, x: 100, y: 200), NormalizedPoint(id: 3, x: 640, y: 388)])

        let counting = Molmo2Answer.parse(
            #"Counting the <points coords="1 1 102 330 2 455 610 3 901 012">apples</points> shows a total of 3."#)
        #expect(counting.form == .countingSentence(3))
        #expect(counting.statedCount == 3 && counting.pointCount == 3)
        #expect(counting.elements.first?.groups.first?.points.last == NormalizedPoint(id: 3, x: 901, y: 12))

        let tracks = Molmo2Answer.parse(Self.specExamples[11])
        #expect(tracks.elements.first?.kind == .tracks)
        #expect(tracks.elements.first?.groups.map(\.key) == [.time(0), .time(0.5), .time(1), .time(1.5)])
        #expect(Molmo2Answer.parse("There are none.").statedCount == 0)
        #expect(Molmo2Answer.parse("4").form == .count(4))
        #expect(Molmo2Answer.parse(Self.specExamples[10]).form == .thereAre(4))
    }

    @Test func legacySeparatorsAndAttributesAreAccepted() throws {
        let tabbed = Molmo2Answer.parse("<points coords=\"0.5 1 300 400\t2.0 2 710 220 3 715 600\">x</points>")
        #expect(tabbed.elements.first?.groups.count == 2)
        #expect(tabbed.text == #"<points coords="0.5 1 300 400;2.0 2 710 220 3 715 600">x</points>"#)
        let commas = Molmo2Answer.parse(#"<points coords="1 1 100 100,2 2 200 200:3 3 300 300">y</points>"#)
        #expect(commas.elements.first?.groups.map(\.key) == [.image(1), .image(2), .image(3)])
        let attributes = Molmo2Answer.parse(#"<points alt="dogs" coords="1 1 250 500"/>"#)
        #expect(attributes.elements.first?.groups.first?.points == [NormalizedPoint(id: 1, x: 250, y: 500)])
        // Unpadded coordinates are not points (the reference parser requires 3–4 digits); values over 1000 are dropped.
        let bad = Molmo2Answer.parse(#"<points coords="1 1 5 500 2 1500 100 3 100 100">z</points>"#)
        #expect(bad.elements.first?.groups.first?.points == [NormalizedPoint(id: 3, x: 100, y: 100)])
        #expect(bad.diagnostics.count == 2)
        // Text around an element still yields its points.
        let chatty = Molmo2Answer.parse(#"Sure! <points coords="1 1 250 500">dog</points> Hope that helps."#)
        #expect(chatty.pointCount == 1)
        #expect(Molmo2Answer.parse("I cannot see any.").form == .text("I cannot see any."))
    }

    @Test func truncatedAnswersKeepExactlyTheCompleteGroups() {
        let full = Self.specExamples[11]
        let original = Molmo2Answer.parse(full).elements[0].groups
        let bytes = Array(full.utf8)
        let coordsStart = Array(#"<tracks coords=""#.utf8).count
        let closingQuote = bytes.lastIndex(of: UInt8(ascii: "\""))!
        for length in 0...bytes.count {
            let prefix = String(decoding: bytes[0..<length], as: UTF8.self)
            let parsed = Molmo2Answer.parse(prefix)
            let groups = parsed.elements.first?.groups ?? []
            let expectedCount: Int
            if length > closingQuote {
                expectedCount = original.count
            } else if length <= coordsStart {
                expectedCount = 0
            } else {
                expectedCount = bytes[coordsStart..<length].filter { $0 == UInt8(ascii: ";") }.count
            }
            #expect(groups == Array(original.prefix(expectedCount)), "prefix of length \(length)")
            if length > 7 && length < bytes.count { #expect(parsed.isTruncated, "prefix of length \(length)") }
        }
    }

    @Test func countPredictionFollowsTheEvaluatorRules() {
        #expect(Molmo2Answer.countPrediction("12") == 12)
        #expect(Molmo2Answer.countPrediction("7.") == 7)
        #expect(Molmo2Answer.countPrediction(#"Counting the <points coords="1 1 500 500">moon</points> shows a total of 1."#) == 1)
        #expect(Molmo2Answer.countPrediction("The total number of birds is: 9") == 9)
        #expect(Molmo2Answer.countPrediction("There are none.") == 0)
        #expect(Molmo2Answer.countPrediction("several") == nil)
    }

    // MARK: - Canonical answers from pixels

    @Test func canonicalPointsFromPixelsMatchTheSpecExample() {
        let group = Molmo2Canonical.PixelGroup(
            key: .image(1), width: 640, height: 480, points: [(480, 120), (160, 240)])
        let (element, clamped) = Molmo2Canonical.pointsElement(label: "dogs", groups: [group])
        #expect(clamped == 0)
        #expect(Molmo2Answer(form: .element, elements: [element]).text == Self.specExamples[0])
        // Ties round to even, as Python's round does: 0.5 → 0, 1.5 → 2 (x = 0.5‰ and 1.5‰ of 1000 px).
        #expect(Molmo2Canonical.normalize(0.5, extent: 1000).value == 0)
        #expect(Molmo2Canonical.normalize(1.5, extent: 1000).value == 2)
        #expect(Molmo2Canonical.normalize(-3, extent: 100) == (0, true))
        #expect(Molmo2Canonical.normalize(101, extent: 100) == (1000, true))
    }

    @Test func canonicalTrackIdsFollowFirstAppearanceThenXY() {
        // Objects 70, 30, 50 (arbitrary identities) reproduce the spec's tracking example.
        let frames = [
            Molmo2Canonical.TrackFrame(
                time: 0, width: 1000, height: 1000,
                objects: [(30, 655, 470, false), (70, 212, 480, false)]),
            Molmo2Canonical.TrackFrame(
                time: 0.5, width: 1000, height: 1000,
                objects: [(70, 220, 478, false), (30, 650, 468, false)]),
            Molmo2Canonical.TrackFrame(
                time: 1.0, width: 1000, height: 1000,
                objects: [(70, 215, 470, true), (30, 648, 466, false)]),
            Molmo2Canonical.TrackFrame(
                time: 1.5, width: 1000, height: 1000,
                objects: [(30, 640, 460, false), (50, 100, 300, false), (70, 240, 470, false)]),
        ]
        let (element, _, ids) = Molmo2Canonical.tracksElement(label: "player in red", frames: frames)
        #expect(Molmo2Answer(form: .element, elements: [element]).text == Self.specExamples[11])
        #expect(ids == [70: 1, 30: 2, 50: 3])
    }

    // MARK: - Property-based round trips

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8]) func renderThenParseIsIdentity(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<200 {
            let answer = randomAnswer(&rng)
            let text = answer.text
            let parsed = Molmo2Answer.parse(text)
            #expect(parsed == answer, "\(text)")
            #expect(parsed.text == text)
        }
    }

    @Test(arguments: [UInt64(11), 12, 13, 14]) func pixelsSurviveTheAnswerWithinRounding(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let width = Int.random(in: 64...4000, using: &rng)
        let height = Int.random(in: 64...4000, using: &rng)
        let images = (0..<6).map {
            ImageDescriptor(path: "img\($0).png", width: width, height: height, byteSize: 1, headSHA256: "")
        }
        let media = MediaDescriptor.imageSet(images: images, path: ".")
        for _ in 0..<50 {
            var groups: [Molmo2Canonical.PixelGroup] = []
            var originals: [(frame: Int, x: Double, y: Double)] = []
            for image in 1...6 where Bool.random(using: &rng) {
                let points = (0..<Int.random(in: 1...5, using: &rng)).map { _ in
                    (x: Double.random(in: 0...Double(width), using: &rng), y: Double.random(in: 0...Double(height), using: &rng))
                }
                originals += points.map { (image - 1, $0.x, $0.y) }
                groups.append(.init(key: .image(image), width: width, height: height, points: points))
            }
            let (element, clamped) = Molmo2Canonical.pointsElement(label: "thing", groups: groups)
            #expect(clamped == 0)
            let parsed = Molmo2Answer.parse(Molmo2Answer(form: .element, elements: [element]).text)
            let objects = parsed.objects(media: media).objects
            #expect(objects.count == originals.count)
            // Every original point has a prediction on its image within half a unit of the 0–1000 grid.
            let toleranceX = Double(width) / 2000 + 1e-9
            let toleranceY = Double(height) / 2000 + 1e-9
            var unmatched = objects.map { $0.points[0] }
            for original in originals {
                let index = unmatched.firstIndex {
                    $0.frame == original.frame && abs($0.x - original.x) <= toleranceX && abs($0.y - original.y) <= toleranceY
                }
                #expect(index != nil)
                if let index { unmatched.remove(at: index) }
            }
            // Ids enumerate all points.
            #expect(objects.map(\.answerID) == Array(1...max(1, objects.count)).prefix(objects.count).map { $0 })
        }
    }

    @Test(arguments: [UInt64(21), 22, 23]) func tracksSurviveTheAnswerWithinRounding(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let media = testVideo(frameCount: 300, width: 1280, height: 720, fps: 30)
        let sampling = media.effectiveSampling
        #expect(sampling.times.first == 0 && sampling.frames[1] == 15)
        for _ in 0..<30 {
            let objectCount = Int.random(in: 1...4, using: &rng)
            var frames: [Molmo2Canonical.TrackFrame] = []
            var truth: [Int: [(frame: Int, x: Double, y: Double)]] = [:]
            for (time, frame) in zip(sampling.times, sampling.frames).prefix(12) {
                var objects: [(object: Int, x: Double, y: Double, occluded: Bool)] = []
                for object in 0..<objectCount {
                    let occluded = Int.random(in: 0..<4, using: &rng) == 0
                    let x = Double.random(in: 0...1280, using: &rng)
                    let y = Double.random(in: 0...720, using: &rng)
                    objects.append((object * 10 + 5, x, y, occluded))
                    if !occluded { truth[object * 10 + 5, default: []].append((frame, x, y)) }
                }
                frames.append(.init(time: time, width: 1280, height: 720, objects: objects))
            }
            let (element, _, answerIDs) = Molmo2Canonical.tracksElement(label: "car", frames: frames)
            let text = Molmo2Answer(form: .element, elements: [element]).text
            let objects = Molmo2Answer.parse(text).objects(media: media, sampling: sampling).objects
            #expect(objects.count == truth.count)
            for (object, points) in truth {
                let predicted = try #require(objects.first { $0.answerID == answerIDs[object] })
                #expect(predicted.points.map(\.frame) == points.map(\.frame))
                for (p, t) in zip(predicted.points, points) {
                    #expect(abs(p.x - t.x) <= 0.64 + 1e-9 && abs(p.y - t.y) <= 0.36 + 1e-9)
                }
            }
        }
    }

    private func randomAnswer(_ rng: inout SeededGenerator) -> Molmo2Answer {
        let choice = Int.random(in: 0..<10, using: &rng)
        if choice == 0 { return Molmo2Answer(form: .none) }
        if choice == 1 { return Molmo2Answer(form: .count(Int.random(in: 0...500, using: &rng))) }
        let kind: CoordinateElement.Kind = Bool.random(using: &rng) ? .points : .tracks
        let useTime = kind == .tracks || Bool.random(using: &rng)
        var groups: [CoordinateGroup] = []
        var key = Int.random(in: 0...5, using: &rng)
        var nextID = 1
        for _ in 0..<Int.random(in: 1...8, using: &rng) {
            var points: [NormalizedPoint] = []
            for _ in 0..<Int.random(in: 1...5, using: &rng) {
                points.append(
                    NormalizedPoint(
                        id: kind == .points ? nextID : Int.random(in: 1...9, using: &rng),
                        x: Int.random(in: 0...1000, using: &rng), y: Int.random(in: 0...1000, using: &rng)))
                nextID += 1
            }
            groups.append(CoordinateGroup(key: useTime ? .time(Double(key) / 10) : .image(key + 1), points: points))
            key += Int.random(in: 1...20, using: &rng)
        }
        let letters = Array("abcdefghijklmnopqrstuvwxyz ")
        var label = String((0..<Int.random(in: 1...12, using: &rng)).map { _ in letters.randomElement(using: &rng)! })
        label = label.trimmingCharacters(in: .whitespaces)
        if label.isEmpty { label = "x" }
        let element = CoordinateElement(kind: kind, label: label, groups: groups)
        let forms: [Molmo2Answer.Form] = [
            .element, .countingSentence(element.pointCount), .thereAre(element.pointCount),
        ]
        return Molmo2Answer(form: forms[Int.random(in: 0..<3, using: &rng)], elements: [element])
    }
}

@Test func partialAnswersCloseAfterTheLastCompleteGroup() {
    #expect(PartialAnswer.closedPrefix("<points coords=\"0.0 1 100 200;0.5 2 300", label: "dog")
        == "<points coords=\"0.0 1 100 200\">dog</points>")
    #expect(PartialAnswer.closedPrefix("<tracks coords=\"0.0 1 100 200;0.5 1 110 2", label: "dog")
        == "<tracks coords=\"0.0 1 100 200\">dog</tracks>")
    #expect(PartialAnswer.closedPrefix("<points coords=\"0.0 1 100 20", label: "dog") == nil)
    #expect(PartialAnswer.closedPrefix("There are", label: "dog") == nil)
    let done = "<points coords=\"0.0 1 100 200\">dog</points>"
    #expect(PartialAnswer.closedPrefix(done, label: "x") == done)
}
