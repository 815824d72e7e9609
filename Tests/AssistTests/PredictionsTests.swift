import Basics
import Annotations
import Foundation
import Testing

@testable import Assist

@Test func trackAnswersLandOnSampledFramesInSourcePixels() throws {
    let video = SyntheticVideo()
    let request = try GroundingRequest.make(
        task: .track(label: "checker disc", fps: 2), scope: .defaultWholeVideo, source: video.source)
    let text = String(decoding: try fixture("track-whole-video.answer.txt"), as: UTF8.self)
    let predictions = Predictions(text: text, request: request)
    #expect(predictions.answer.form == .element)
    #expect(predictions.objects.count == 1)
    #expect(predictions.unplaced == 0)
    #expect(predictions.diagnostics.isEmpty)
    guard let track = predictions.objects.first else { return }
    #expect(track.label == "checker disc")
    // 14 sampled times carry the disc (it is outside the frame at 5.0 s); 7.0 s is the last frame, 209.
    #expect(track.points.map(\.frame) == [0, 15, 30, 45, 60, 75, 90, 105, 120, 135, 165, 180, 195, 209])
    #expect(abs(track.points[0].x - 0.634 * 640) < 1e-9 && abs(track.points[0].y - 0.721 * 360) < 1e-9)
    #expect(abs(track.points[9].x - 0.012 * 640) < 1e-9)
}

@Test func timesThatWereNotShownSnapToTheNearestSample() throws {
    let video = SyntheticVideo()
    let request = try GroundingRequest.make(
        question: "Point to the disc", scope: .frames(30...89, maxFPS: 2, maxFrames: 384), source: video.source,
        maxNewTokens: 50)
    // The clip's samples are 0.0 0.5 1.0 1.5 2.0 s (frames 30 45 60 75 89); 1.2 s and 9.0 s were never shown.
    let predictions = Predictions(
        text: #"<points coords="0.5 1 100 100;1.2 2 200 200;9.0 3 300 300">disc</points>"#, request: request)
    #expect(predictions.objects.map { $0.points.map(\.frame) } == [[45], [60], [89]])
    #expect(predictions.diagnostics.count == 2)
    #expect(predictions.diagnostics.allSatisfy { $0.contains("was not shown") })
    #expect(predictions.objects[1].points[0].x == 128 && predictions.objects[1].points[0].y == 72)
}

@Test func imageAnswersLandOnTheirFrames() throws {
    let video = SyntheticVideo()
    let one = try GroundingRequest.make(task: .count(label: "red stripes"), scope: .frame(75), source: video.source)
    let completion = try JSONSerialization.jsonObject(with: try fixture("count-frame.json")) as? [String: Any]
    let message = ((completion?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
    let predictions = Predictions(text: message ?? "", request: one)
    #expect(predictions.statedCount == 3)
    #expect(predictions.pointCount == 3)
    #expect(predictions.objects.allSatisfy { $0.points.count == 1 && $0.points[0].frame == 75 })
    #expect(abs(predictions.objects[0].points[0].x - 0.355 * 640) < 1e-9)

    let pair = try GroundingRequest.make(
        question: "Point to disc in all images.", scope: .images([12, 40]), source: video.source, maxNewTokens: 64)
    let multi = Predictions(text: #"<points coords="1 1 500 500;2 2 250 250 3 750 750;3 4 100 100">disc</points>"#, request: pair)
    #expect(multi.objects.map { $0.points.map(\.frame) } == [[12], [40], [40]])
    #expect(multi.unplaced == 1)
}

@Test func emptyAndBrokenAnswersAreReportedNotFatal() throws {
    let video = SyntheticVideo()
    let request = try GroundingRequest.make(question: "q", scope: .defaultWholeVideo, source: video.source, maxNewTokens: 5)
    let none = Predictions(text: "There are none.", request: request)
    #expect(none.objects.isEmpty && none.statedCount == 0)
    let cut = Predictions(text: #"<tracks coords="0.0 1 500 500;0.5 1 510 5"#, request: request)
    #expect(cut.answer.isTruncated)
    #expect(cut.objects.first?.points.map(\.frame) == [0])
    #expect(!cut.diagnostics.isEmpty)
    let prose = Predictions(text: "I cannot see a dog.", request: request)
    #expect(prose.objects.isEmpty && prose.statedCount == nil)
}
