import Foundation
import Testing

@testable import Annotations

struct PendingPredictionTests {
    static let media = testVideo(frameCount: 60, width: 640, height: 480, fps: 10)

    static func prediction(job: String) -> PendingPrediction {
        PendingPrediction(
            jobKey: job, question: "Point to the disc", label: "the disc", task: "video_point", model: "Molmo2-4B",
            answer: #"<points coords="0.0 1 500 500">the disc</points>"#, shownFrames: [0, 20, 40],
            objects: [PredictedObject(answerID: 1, label: "the disc", points: [PredictedPoint(frame: 0, x: 320, y: 240)])],
            sampling: FrameSampling(mode: "uniform_last_frame", maxFrames: 3, maxFPS: 2, times: [0, 2, 4], frames: [0, 20, 40]),
            timings: ["total_s": 1.5, "completion_tokens": 12], diagnostics: ["a note"],
            provenance: ["endpoint": "http://h:8000/v1/chat/completions"])
    }

    @Test func pendingPredictionsRoundTripAndSurviveReopening() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.file("clip.spotter")
        let store = try ProjectStore.create(at: url, media: Self.media)
        // A project from before the table existed reads as having none.
        #expect(try store.pendingPredictions().isEmpty)
        #expect(try store.hasPendingPrediction(jobKey: "job-a") == false)
        let id = try store.addPendingPrediction(Self.prediction(job: "job-a"))
        try store.close()

        let reopened = try ProjectStore.open(at: url)
        let stored = try reopened.pendingPredictions()
        var expected = Self.prediction(job: "job-a")
        expected.id = id
        expected.createdAt = stored.first?.createdAt ?? expected.createdAt
        #expect(stored == [expected])
        #expect(try reopened.hasPendingPrediction(jobKey: "job-a"))
        #expect(try reopened.hasPendingPrediction(jobKey: "job-b") == false)
        // Reviewed predictions stay as records but are no longer offered; the job stays done.
        try reopened.markPendingPredictionReviewed(id)
        #expect(try reopened.pendingPredictions().isEmpty)
        #expect(try reopened.pendingPredictions(includeReviewed: true).first?.reviewed == true)
        #expect(try reopened.hasPendingPrediction(jobKey: "job-a"))
        // The tracks are untouched: pending predictions are not annotations.
        #expect(reopened.tracks.isEmpty)
        try reopened.close()
    }

    @Test func readOnlyProjectsRefuseNewPredictions() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.file("clip.spotter")
        try ProjectStore.create(at: url, media: Self.media).close()
        let readOnly = try ProjectStore.open(at: url, readOnly: true)
        #expect(throws: AnnotationError.self) { try readOnly.addPendingPrediction(Self.prediction(job: "x")) }
        #expect(try readOnly.pendingPredictions().isEmpty)
    }
}
