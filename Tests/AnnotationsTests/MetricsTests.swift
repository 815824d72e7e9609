import Foundation
import Testing

@testable import Annotations

@Suite struct MetricsTests {
    @Test func pointF1UsesOptimalAssignmentAndTheThreshold() {
        let score = AnnotationMetrics.pointF1(
            predicted: [(1, 0), (50, 50)], groundTruth: [GroundTruthPoint(x: 0, y: 0), GroundTruthPoint(x: 10, y: 0)],
            threshold: 5)
        #expect(score.correct == 1 && score.precision == 0.5 && score.recall == 0.5)
        #expect(abs(score.f1 - 0.5) < 1e-9)
        // Greedy nearest matching would pair (2,0)→(4,0) first and leave (6,0)→(0,0); the optimum gets both.
        let optimal = AnnotationMetrics.pointF1(
            predicted: [(2, 0), (6, 0)], groundTruth: [GroundTruthPoint(x: 0, y: 0), GroundTruthPoint(x: 4, y: 0)],
            threshold: 2.5)
        #expect(optimal.correct == 2)
        #expect(abs(optimal.f1 - 2.0 / (2.0 + 1e-10)) < 1e-15)
        // Rectangular: 3 predictions, 1 ground truth.
        let extra = AnnotationMetrics.pointF1(
            predicted: [(100, 100), (0, 1), (30, 30)], groundTruth: [GroundTruthPoint(x: 0, y: 0)], threshold: 2)
        #expect(extra.correct == 1 && abs(extra.precision - 1.0 / 3) < 1e-12 && extra.recall == 1)
    }

    @Test func pointF1EdgeCasesFollowTheMolmo2Evaluator() {
        #expect(AnnotationMetrics.pointF1(predicted: [], groundTruth: [], threshold: 1).f1 == 1)
        #expect(AnnotationMetrics.pointF1(predicted: [(1, 1)], groundTruth: [], threshold: 1).f1 == 0)
        #expect(AnnotationMetrics.pointF1(predicted: [], groundTruth: [GroundTruthPoint(x: 1, y: 1)], threshold: 1).f1 == 0)
    }

    @Test func masksDecideCorrectnessWhereTheyExist() {
        // A 10×10 mask covering columns 6…9 of rows 0…9.
        let pixels = (0..<100).map { ($0 % 10) >= 6 }
        let mask = RLEMask(width: 10, height: 10, rowMajor: pixels)
        #expect(mask.area == 40)
        #expect(mask.contains(x: 7, y: 3) && !mask.contains(x: 5, y: 3) && !mask.contains(x: 10, y: 3))
        let gt = [GroundTruthPoint(x: 5, y: 5, mask: mask)]
        // Near the point but outside the mask: wrong even though within the threshold.
        #expect(AnnotationMetrics.pointF1(predicted: [(5.2, 5)], groundTruth: gt, threshold: 3).correct == 0)
        // Far from the point but inside the mask: correct (rounded to pixel 9, 9).
        #expect(AnnotationMetrics.pointF1(predicted: [(9.4, 9.4)], groundTruth: gt, threshold: 0.1).correct == 1)
        // COCO compressed counts round-trip.
        let decoded = RLEMask(width: 10, height: 10, compressedCounts: mask.compressedCounts)
        #expect(decoded == mask)
        #expect(RLEMask(width: 10, height: 10, compressedCounts: "\u{7f}") == nil)
    }

    @Test func countingCloseMeansWithinOnePlusFivePercent() {
        #expect(AnnotationMetrics.countAgreement(groundTruth: 20, predicted: 22) == (false, true))
        #expect(AnnotationMetrics.countAgreement(groundTruth: 20, predicted: 23) == (false, false))
        #expect(AnnotationMetrics.countAgreement(groundTruth: 40, predicted: 37) == (false, true))
        #expect(AnnotationMetrics.countAgreement(groundTruth: 0, predicted: 1) == (false, true))
        #expect(AnnotationMetrics.countAgreement(groundTruth: 7, predicted: 7) == (true, true))
    }

    @Test func tapVidMetricsMatchAHandComputedCase() throws {
        let gt = [SIMD2<Double>](repeating: SIMD2(10, 10), count: 4)
        let scores = try #require(
            AnnotationMetrics.tapVid(
                groundTruthPoints: [gt], groundTruthOccluded: [[false, false, false, true]],
                predictedPoints: [[SIMD2(99, 99), SIMD2(10.5, 10), SIMD2(13, 10), SIMD2(10, 10)]],
                predictedOccluded: [[false, false, false, false]], queryFrames: [0]))
        #expect(scores.evaluatedPoints == 3)
        #expect(abs(scores.occlusionAccuracy - 2.0 / 3) < 1e-12)
        #expect(scores.withinThreshold == [0.5, 0.5, 1, 1, 1])
        #expect(abs(scores.averageWithin - 0.8) < 1e-12)
        let expectedJaccard = [0.25, 0.25, 2.0 / 3, 2.0 / 3, 2.0 / 3]
        for (a, b) in zip(scores.jaccard, expectedJaccard) { #expect(abs(a - b) < 1e-12) }
        #expect(abs(scores.averageJaccard - 0.5) < 1e-12)
        // Strided mode with the query in the middle also evaluates the frame before it.
        let strided = try #require(
            AnnotationMetrics.tapVid(
                groundTruthPoints: [gt], groundTruthOccluded: [[false, false, false, true]],
                predictedPoints: [[SIMD2(99, 99), SIMD2(10.5, 10), SIMD2(13, 10), SIMD2(10, 10)]],
                predictedOccluded: [[false, false, false, false]], queryFrames: [1], mode: .strided))
        #expect(strided.evaluatedPoints == 3)
        #expect(strided.withinThreshold[0] == 0)  // frames 0 (far) and 2 (3 px) are visible; neither within 1 px
        // A missing prediction (NaN, occluded) is never within and never a false positive.
        let missing = try #require(
            AnnotationMetrics.tapVid(
                groundTruthPoints: [gt], groundTruthOccluded: [[false, false, false, false]],
                predictedPoints: [[SIMD2<Double>](repeating: SIMD2(.nan, .nan), count: 4)],
                predictedOccluded: [[true, true, true, true]], queryFrames: [0]))
        #expect(missing.averageJaccard == 0 && missing.averageWithin == 0 && missing.occlusionAccuracy == 0)
    }

    @Test func correctionStatisticsComeFromTheEditLog() throws {
        let store = try ProjectStore.inMemory(media: testVideo())
        let created = try store.apply(
            .createTracks([
                NewTrack(
                    label: "fish",
                    entries: [0, 5, 9].map { PointEntry(frame: $0, x: Double($0), y: 1, provenance: .model) }),
                NewTrack(
                    label: "fish", entries: [2, 10].map { PointEntry(frame: $0, x: Double($0), y: 2, provenance: .model) }),
            ]), actor: .model)
        let a = created.createdTracks[0]
        let b = created.createdTracks[1]
        try store.apply(.setPoint(a, frame: 5, x: 50, y: 50))
        try store.apply(.setPoint(a, frame: 7, x: 70, y: 70))
        try store.apply(.setPoint(b, frame: 10, x: 0, y: 0))
        try store.undo()
        let counts = try store.undoRedoCounts()
        let stats = AnnotationMetrics.correctionStatistics(
            history: try store.editHistory(), current: store.tracks, undos: counts.undos, redos: counts.redos)
        #expect(stats.humanEdits == 2)
        #expect(stats.editsPerTrack == [a: 2, b: 0])
        #expect(stats.meanEditsPerTrack == 1)
        #expect(stats.machineTracks == 2)
        #expect(stats.framesUntilFirstCorrection[a] == .some(5))
        #expect(stats.framesUntilFirstCorrection[b] == .some(nil))
        #expect(stats.uncorrectedMachineTracks == 1)
        #expect(stats.medianFramesUntilFirstCorrection == 5)
        #expect(stats.machinePointsCreated == 5 && stats.machinePointsKept == 4)
        #expect(stats.shareOfMachinePointsKept == 0.8)
        #expect(stats.undos == 1)
    }

    @Test func comparingACorrectedProjectWithTheModelOutput() throws {
        let media = testVideo(frameCount: 40, width: 256, height: 256, fps: 2)
        let model = try ProjectStore.inMemory(media: media)
        try model.apply(
            .createTracks([
                NewTrack(
                    preferredID: TrackID(1), label: "bee",
                    entries: (0..<40).map { PointEntry(frame: $0, x: 10 + Double($0), y: 10, provenance: .model) }),
                NewTrack(preferredID: TrackID(2), label: "bee", entries: [PointEntry(frame: 3, x: 200, y: 200)]),
            ]), actor: .model)
        let corrected = try ProjectStore.inMemory(media: media)
        try corrected.apply(
            .createTracks([
                NewTrack(
                    preferredID: TrackID(1), label: "bee",
                    entries: (0..<40).map { PointEntry(frame: $0, x: 10 + Double($0) + ($0 >= 20 ? 3 : 0), y: 10) })
            ]))
        let result = ProjectComparison.compare(
            reference: corrected.snapshot(), candidate: model.snapshot(),
            options: ComparisonOptions(thresholdPixels: 2, frames: .all))
        // Frame 3 has an extra predicted point (P = 0.5, R = 1); frames 20…39 are 3 px off (0); the rest perfect.
        #expect(result.evaluatedFrames == 40)
        let f1Frame3 = 2 * 0.5 / (1.5 + 1e-10)
        let perfect = 2.0 / (2 + 1e-10)
        #expect(abs(result.meanF1 - (19 * perfect + f1Frame3) / 40) < 1e-9)
        #expect(result.counts == [ProjectComparison.LabelCount(label: "bee", reference: 1, candidate: 2, exact: false, close: true)])
        #expect(result.pairedTracks == 1 && result.unpairedCandidateTracks == 1)
        let tap = try #require(result.tapVid)
        // Evaluated frames 1…39: 19 exact, 20 off by 3 px (within 4, 8, 16 only).
        #expect(abs(tap.withinThreshold[0] - 19.0 / 39) < 1e-12)
        #expect(tap.withinThreshold[2] == 1)
        #expect(tap.occlusionAccuracy == 1)
    }
}
