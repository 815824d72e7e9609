import Foundation

// MARK: - Point F1 (molmo2-spec §10.1)

/// Precision, recall and F1 of predicted points against ground truth for one frame or image.
package struct PointMatchScore: Equatable, Sendable {
    package var precision: Double
    package var recall: Double
    package var f1: Double
    package var correct: Int
    package var predictions: Int
    package var groundTruth: Int
}

/// A ground-truth point, with the object's mask when one exists.
package struct GroundTruthPoint: Sendable {
    package var x: Double
    package var y: Double
    package var mask: RLEMask?

    package init(x: Double, y: Double, mask: RLEMask? = nil) {
        self.x = x
        self.y = y
        self.mask = mask
    }
}

/// The metrics of the human-in-the-loop loop: Molmo2 point F1, counting, TAP-Vid and correction statistics.
package enum AnnotationMetrics {
    /// Molmo2's matching rule: Hungarian assignment on pixel distance; a pair is correct when the prediction,
    /// rounded to a pixel, lies in the ground-truth mask, or (without a mask) within `threshold` pixels.
    /// No ground truth: 1 if there are no predictions, else 0; no predictions: 0. F1 = 2PR/(P+R+1e-10).
    package static func pointF1(
        predicted: [(x: Double, y: Double)], groundTruth: [GroundTruthPoint], threshold: Double
    ) -> PointMatchScore {
        if groundTruth.isEmpty {
            let value: Double = predicted.isEmpty ? 1 : 0
            return PointMatchScore(
                precision: value, recall: value, f1: value, correct: 0, predictions: predicted.count, groundTruth: 0)
        }
        if predicted.isEmpty {
            return PointMatchScore(
                precision: 0, recall: 0, f1: 0, correct: 0, predictions: 0, groundTruth: groundTruth.count)
        }
        let cost = predicted.map { p in groundTruth.map { g in ((p.x - g.x) * (p.x - g.x) + (p.y - g.y) * (p.y - g.y)).squareRoot() } }
        var correct = 0
        for pair in Hungarian.assign(cost) {
            let p = predicted[pair.row]
            let g = groundTruth[pair.column]
            if let mask = g.mask {
                if mask.contains(pointX: p.x, y: p.y) { correct += 1 }
            } else if cost[pair.row][pair.column] <= threshold {
                correct += 1
            }
        }
        let precision = Double(correct) / Double(predicted.count)
        let recall = Double(correct) / Double(groundTruth.count)
        let f1 = precision == 0 || recall == 0 ? 0 : 2 * precision * recall / (precision + recall + 1e-10)
        return PointMatchScore(
            precision: precision, recall: recall, f1: f1, correct: correct, predictions: predicted.count,
            groundTruth: groundTruth.count)
    }

    // MARK: - Counting (§10.3)

    /// Exact and "close" (|pred − gt| ≤ 1 + ⌊0.05·gt⌋) agreement of counts.
    package static func countAgreement(groundTruth: Int, predicted: Int) -> (exact: Bool, close: Bool) {
        let difference = abs(predicted - groundTruth)
        return (difference == 0, difference <= 1 + Int((0.05 * Double(groundTruth)).rounded(.down)))
    }

    // MARK: - TAP-Vid (annotation.md §4.5)

    /// TAP-Vid query mode as the benchmark samples queries (tapnet `evaluation_datasets.py`): `first` puts one query
    /// on each track's first visible frame and evaluates the frames after it; `strided` puts a query on every
    /// `tapVidQueryStride`-th frame (0, 5, 10, …) where the track is visible and evaluates every frame but that one.
    package enum QueryMode: String, Sendable {
        case first
        case strided
    }

    /// `sample_queries_strided`'s default `query_stride`.
    package static let tapVidQueryStride = 5

    /// The query frames of one ground-truth track (visibility per frame) under a query mode.
    package static func tapVidQueryFrames(visible: [Bool], mode: QueryMode, stride: Int = tapVidQueryStride) -> [Int] {
        switch mode {
        case .first: return visible.firstIndex(of: true).map { [$0] } ?? []
        case .strided:
            return Swift.stride(from: 0, to: visible.count, by: max(1, stride)).filter { visible[$0] }
        }
    }

    /// TAP-Vid scores of one video.
    package struct TAPVidScores: Equatable, Sendable {
        package var occlusionAccuracy: Double
        /// Fraction of ground-truth-visible points within 1, 2, 4, 8, 16 px (squared distance strictly below).
        package var withinThreshold: [Double]
        package var jaccard: [Double]
        package var averageWithin: Double
        package var averageJaccard: Double
        package var evaluatedPoints: Int
    }

    package static let tapVidThresholds: [Double] = [1, 2, 4, 8, 16]

    /// `compute_tapvid_metrics` for one video: arrays are [point][frame]; positions in the evaluation raster
    /// (256×256 in the benchmark); a NaN prediction is never within a threshold. Nil when nothing is evaluated.
    package static func tapVid(
        groundTruthPoints: [[SIMD2<Double>]], groundTruthOccluded: [[Bool]], predictedPoints: [[SIMD2<Double>]],
        predictedOccluded: [[Bool]], queryFrames: [Int], mode: QueryMode = .first, emptyScore: Double = .nan
    ) -> TAPVidScores? {
        var evaluated = 0
        var occlusionAgree = 0
        var visibleEvaluated = 0
        var within = [Int](repeating: 0, count: tapVidThresholds.count)
        var truePositives = [Int](repeating: 0, count: tapVidThresholds.count)
        var falsePositives = [Int](repeating: 0, count: tapVidThresholds.count)
        for n in groundTruthPoints.indices {
            let frames = groundTruthPoints[n].count
            guard n < queryFrames.count, n < predictedPoints.count, predictedPoints[n].count == frames,
                groundTruthOccluded[n].count == frames, predictedOccluded[n].count == frames
            else { continue }
            let query = queryFrames[n]
            for t in 0..<frames {
                let isEvaluated = mode == .first ? t > query : t != query
                guard isEvaluated else { continue }
                evaluated += 1
                let gtVisible = !groundTruthOccluded[n][t]
                let predVisible = !predictedOccluded[n][t]
                if gtVisible == predVisible { occlusionAgree += 1 }
                if gtVisible { visibleEvaluated += 1 }
                let d = predictedPoints[n][t] - groundTruthPoints[n][t]
                let squared = d.x * d.x + d.y * d.y
                for (k, threshold) in tapVidThresholds.enumerated() {
                    let isWithin = squared < threshold * threshold
                    if isWithin && gtVisible {
                        within[k] += 1
                        if predVisible { truePositives[k] += 1 }
                    }
                    if predVisible && (!gtVisible || !isWithin) { falsePositives[k] += 1 }
                }
            }
        }
        guard evaluated > 0 else { return nil }
        // An empty denominator is NaN in tapnet (0/0); `emptyScore` chooses (NaN by default, or 0).
        let withinFractions = within.map { visibleEvaluated > 0 ? Double($0) / Double(visibleEvaluated) : emptyScore }
        let jaccard = tapVidThresholds.indices.map { k -> Double in
            let denominator = visibleEvaluated + falsePositives[k]
            return denominator > 0 ? Double(truePositives[k]) / Double(denominator) : emptyScore
        }
        return TAPVidScores(
            occlusionAccuracy: Double(occlusionAgree) / Double(evaluated), withinThreshold: withinFractions,
            jaccard: jaccard, averageWithin: withinFractions.reduce(0, +) / Double(withinFractions.count),
            averageJaccard: jaccard.reduce(0, +) / Double(jaccard.count), evaluatedPoints: evaluated)
    }

    // MARK: - Correction statistics (annotation.md §5)

    /// Human-in-the-loop numbers read from a project's edit log.
    package struct CorrectionStatistics: Equatable, Sendable {
        /// Applied human edits (undone and discarded ones excluded).
        package var humanEdits: Int
        /// Applied human edits touching each track (every track that exists or was created in the log).
        package var editsPerTrack: [TrackID: Int]
        package var meanEditsPerTrack: Double
        /// Tracks created by the model or the tracker.
        package var machineTracks: Int
        /// For each machine track, frames from its first frame to the first frame a human changed (nil: never
        /// corrected).
        package var framesUntilFirstCorrection: [TrackID: Int?]
        /// Machine tracks never corrected by a human.
        package var uncorrectedMachineTracks: Int
        package var medianFramesUntilFirstCorrection: Double?
        /// Machine points (model or tracker provenance) ever committed, and how many are still there unchanged.
        package var machinePointsCreated: Int
        package var machinePointsKept: Int
        package var shareOfMachinePointsKept: Double?
        package var undos: Int
        package var redos: Int
    }

    package static func correctionStatistics(
        history: [ProjectStore.EditRecord], current: [Track], undos: Int = 0, redos: Int = 0
    ) -> CorrectionStatistics {
        let applied = history.filter { $0.state == .applied }
        let currentByID = Dictionary(uniqueKeysWithValues: current.map { ($0.id, $0) })
        var allTracks = Set(current.map(\.id))
        for record in applied { allTracks.formUnion(record.createdTracks) }
        var editsPerTrack = Dictionary(uniqueKeysWithValues: allTracks.map { ($0, 0) })
        var machineStart: [TrackID: Int] = [:]
        var firstCorrection: [TrackID: Int] = [:]
        var machinePoints: [TrackID: [Int: PointEntry]] = [:]
        var humanEdits = 0
        for track in current where track.info.createdBy == .model || track.info.createdBy == .tracker {
            if let first = track.entries.first { machineStart[track.id] = first.frame }
        }
        for record in applied {
            let machineActor = record.actor != .human
            if machineActor {
                if (record.actor == .model || record.actor == .tracker) && !record.createdTracks.isEmpty {
                    let firstStored = firstFrames(of: record.pointChanges, storedOnly: true)
                    for id in record.createdTracks { if let first = firstStored[id] { machineStart[id] = first } }
                }
                for change in record.pointChanges {
                    if let after = change.after, after.provenance == .model || after.provenance == .tracker {
                        machinePoints[change.track, default: [:]][change.frame] = after
                    }
                }
                continue
            }
            humanEdits += 1
            var touched = Set(record.pointChanges.map(\.track))
            touched.formUnion(record.createdTracks)
            touched.formUnion(record.removedTracks)
            touched.formUnion(record.relabelledTracks)
            for id in touched { editsPerTrack[id, default: 0] += 1 }
            let corrected = touched.filter { machineStart[$0] != nil && firstCorrection[$0] == nil }
            if !corrected.isEmpty {
                let firstChanged = firstFrames(of: record.pointChanges, storedOnly: false)
                for id in corrected { firstCorrection[id] = firstChanged[id] ?? machineStart[id] }
            }
        }
        var untilCorrection: [TrackID: Int?] = [:]
        for (id, start) in machineStart {
            untilCorrection.updateValue(firstCorrection[id].map { max(0, $0 - start) }, forKey: id)
        }
        let corrected = untilCorrection.values.compactMap { $0 }.sorted()
        var median: Double?
        if !corrected.isEmpty {
            let mid = corrected.count / 2
            median = corrected.count % 2 == 1 ? Double(corrected[mid]) : Double(corrected[mid - 1] + corrected[mid]) / 2
        }
        var created = 0
        var kept = 0
        for (id, points) in machinePoints {
            created += points.count
            guard let track = currentByID[id] else { continue }
            for (frame, entry) in points where track.entry(at: frame) == entry { kept += 1 }
        }
        let trackCount = max(1, editsPerTrack.count)
        return CorrectionStatistics(
            humanEdits: humanEdits, editsPerTrack: editsPerTrack,
            meanEditsPerTrack: editsPerTrack.isEmpty ? 0 : Double(editsPerTrack.values.reduce(0, +)) / Double(trackCount),
            machineTracks: machineStart.count, framesUntilFirstCorrection: untilCorrection,
            uncorrectedMachineTracks: untilCorrection.values.filter { $0 == nil }.count,
            medianFramesUntilFirstCorrection: median, machinePointsCreated: created, machinePointsKept: kept,
            shareOfMachinePointsKept: created > 0 ? Double(kept) / Double(created) : nil, undos: undos, redos: redos)
    }

    /// The lowest frame of each track's point changes in one pass (with `storedOnly`, of changes that leave a point).
    private static func firstFrames(of changes: [ProjectStore.PointChange], storedOnly: Bool) -> [TrackID: Int] {
        var first: [TrackID: Int] = [:]
        for change in changes where !storedOnly || change.after != nil {
            first[change.track] = min(first[change.track] ?? change.frame, change.frame)
        }
        return first
    }
}

// MARK: - Comparing two projects

/// Options of a project comparison.
package struct ComparisonOptions: Sendable {
    /// Which frames the point F1 looks at.
    package enum Frames: String, Sendable {
        /// The frames the model is shown (Molmo2 sampling; every image of an image set).
        case sampled
        /// Frames where either project has a stored entry.
        case annotated
        /// Every frame.
        case all
    }

    /// How tracks of the two projects are paired for TAP-Vid.
    package enum TrackMatching: String, Sendable {
        /// Same track id and label (a corrected project keeps the model's ids).
        case id
        /// Hungarian assignment on mean distance over frames both have.
        case position
    }

    package var thresholdPixels: Double
    package var frames: Frames
    package var matching: TrackMatching
    package var queryMode: AnnotationMetrics.QueryMode
    /// The TAP-Vid score of an empty denominator (no visible ground truth evaluated): NaN as tapnet, or 0.
    package var emptyScore: Double = .nan

    package init(
        thresholdPixels: Double = 10, frames: Frames = .sampled, matching: TrackMatching = .id,
        queryMode: AnnotationMetrics.QueryMode = .first, emptyScore: Double = .nan
    ) {
        self.emptyScore = emptyScore
        self.thresholdPixels = thresholdPixels
        self.frames = frames
        self.matching = matching
        self.queryMode = queryMode
    }
}

/// Reference-vs-candidate numbers: point F1 per frame, counting per label, TAP-Vid on paired tracks.
package struct ProjectComparison: Equatable, Sendable {
    /// Object counts of one label in both projects.
    package struct LabelCount: Equatable, Sendable {
        package var label: String
        package var reference: Int
        package var candidate: Int
        package var exact: Bool
        package var close: Bool
        /// A side's count came from a bare-number answer (`11`) of its latest query, which has no points.
        package var fromBareAnswer = false
    }

    /// Mean over evaluated frames (frames where either side has a visible point).
    package var meanPrecision: Double
    package var meanRecall: Double
    package var meanF1: Double
    package var evaluatedFrames: Int
    package var counts: [LabelCount]
    package var countExactAccuracy: Double?
    package var countCloseAccuracy: Double?
    /// Nil for image sets or when no reference track has a visible point.
    package var tapVid: AnnotationMetrics.TAPVidScores?
    package var pairedTracks: Int
    package var unpairedReferenceTracks: Int
    package var unpairedCandidateTracks: Int

    /// Compares `candidate` against `reference` (the ground truth). Both must describe frames of the same media.
    package static func compare(
        reference: ProjectSnapshot, candidate: ProjectSnapshot, options: ComparisonOptions = ComparisonOptions()
    ) -> ProjectComparison {
        let media = reference.media
        let interpolate = media.kind == .video
        let frames: [Int]
        switch options.frames {
        case .all: frames = Array(0..<max(0, media.frameCount))
        case .annotated:
            frames = Set((reference.tracks + candidate.tracks).flatMap { $0.entries.map(\.frame) }).sorted()
        case .sampled:
            frames = Array(Set(media.effectiveSampling.frames)).sorted()
        }
        var precisionSum = 0.0
        var recallSum = 0.0
        var f1Sum = 0.0
        var evaluated = 0
        for frame in frames {
            var truth: [GroundTruthPoint] = []
            for track in reference.tracks {
                guard let resolved = track.resolved(at: frame, interpolate: interpolate),
                    resolved.entry.visibility == .visible
                else { continue }
                truth.append(GroundTruthPoint(x: resolved.entry.x, y: resolved.entry.y, mask: track.masks[frame]))
            }
            var predicted: [(x: Double, y: Double)] = []
            for track in candidate.tracks {
                guard let resolved = track.resolved(at: frame, interpolate: interpolate),
                    resolved.entry.visibility == .visible
                else { continue }
                predicted.append((resolved.entry.x, resolved.entry.y))
            }
            guard !truth.isEmpty || !predicted.isEmpty else { continue }
            let score = AnnotationMetrics.pointF1(
                predicted: predicted, groundTruth: truth, threshold: options.thresholdPixels)
            precisionSum += score.precision
            recallSum += score.recall
            f1Sum += score.f1
            evaluated += 1
        }
        // Counting: objects with at least one visible point, per label; a label without such tracks whose latest
        // query answered with a bare number (`video_count`'s form) counts that number, flagged.
        func counts(_ snapshot: ProjectSnapshot) -> (counts: [String: Int], fromAnswer: Set<String>) {
            var out: [String: Int] = [:]
            for track in snapshot.tracks where track.entries.contains(where: { $0.visibility == .visible }) {
                out[track.label, default: 0] += 1
            }
            var fromAnswer: Set<String> = []
            for query in snapshot.queries.reversed() where out[query.label] == nil && !fromAnswer.contains(query.label) {
                if case .count(let n) = Molmo2Answer.parse(query.answer).form {
                    out[query.label] = n
                    fromAnswer.insert(query.label)
                }
            }
            return (out, fromAnswer)
        }
        let referenceCounts = counts(reference)
        let candidateCounts = counts(candidate)
        let labels = Set(referenceCounts.counts.keys).union(candidateCounts.counts.keys).sorted()
        let labelCounts = labels.map { label -> LabelCount in
            let r = referenceCounts.counts[label] ?? 0
            let c = candidateCounts.counts[label] ?? 0
            let agreement = AnnotationMetrics.countAgreement(groundTruth: r, predicted: c)
            return LabelCount(
                label: label, reference: r, candidate: c, exact: agreement.exact, close: agreement.close,
                fromBareAnswer: referenceCounts.fromAnswer.contains(label) || candidateCounts.fromAnswer.contains(label))
        }
        let exact = labelCounts.isEmpty ? nil : Double(labelCounts.filter(\.exact).count) / Double(labelCounts.count)
        let close = labelCounts.isEmpty ? nil : Double(labelCounts.filter(\.close).count) / Double(labelCounts.count)
        let tap = media.kind == .video ? tapVid(reference: reference, candidate: candidate, options: options) : nil
        return ProjectComparison(
            meanPrecision: evaluated > 0 ? precisionSum / Double(evaluated) : 0,
            meanRecall: evaluated > 0 ? recallSum / Double(evaluated) : 0,
            meanF1: evaluated > 0 ? f1Sum / Double(evaluated) : 0, evaluatedFrames: evaluated, counts: labelCounts,
            countExactAccuracy: exact, countCloseAccuracy: close, tapVid: tap?.scores, pairedTracks: tap?.paired ?? 0,
            unpairedReferenceTracks: tap?.unpairedReference ?? 0, unpairedCandidateTracks: tap?.unpairedCandidate ?? 0)
    }

    private static func tapVid(
        reference: ProjectSnapshot, candidate: ProjectSnapshot, options: ComparisonOptions
    ) -> (scores: AnnotationMetrics.TAPVidScores?, paired: Int, unpairedReference: Int, unpairedCandidate: Int) {
        let media = reference.media
        let frameCount = max(0, media.frameCount)
        let scaleX = media.width > 0 ? 256 / Double(media.width) : 1
        let scaleY = media.height > 0 ? 256 / Double(media.height) : 1
        typealias Dense = (points: [SIMD2<Double>], occluded: [Bool])
        func dense(_ track: Track) -> Dense {
            var points: [SIMD2<Double>] = []
            var occluded: [Bool] = []
            points.reserveCapacity(frameCount)
            occluded.reserveCapacity(frameCount)
            for frame in 0..<frameCount {
                let resolved = track.resolved(at: frame)
                let position = resolved.map { ($0.entry.x, $0.entry.y) } ?? track.heldPosition(at: frame) ?? (.nan, .nan)
                points.append(SIMD2(position.0 * scaleX, position.1 * scaleY))
                occluded.append(resolved?.entry.visibility != .visible)
            }
            return (points, occluded)
        }
        let references = reference.tracks.filter { $0.entries.contains { $0.visibility == .visible } }
        let candidates = candidate.tracks
        let denseReferences = references.map(dense)
        // Each track is made dense once: every candidate when matching by position, else only the paired ones.
        var denseCandidates = [Dense?](repeating: nil, count: candidates.count)
        var pairs: [(reference: Int, candidate: Int?)] = []
        switch options.matching {
        case .id:
            let byID = Dictionary(uniqueKeysWithValues: candidates.indices.map { (candidates[$0].id, $0) })
            pairs = references.indices.map { r in
                (r, byID[references[r].id].flatMap { candidates[$0].label == references[r].label ? $0 : nil })
            }
        case .position:
            let denseCands = candidates.map(dense)
            denseCandidates = denseCands
            let cost = denseReferences.map { r in
                denseCands.map { c -> Double in
                    var sum = 0.0
                    var count = 0
                    for t in 0..<frameCount where !r.occluded[t] && !c.occluded[t] {
                        let d = r.points[t] - c.points[t]
                        sum += (d.x * d.x + d.y * d.y).squareRoot()
                        count += 1
                    }
                    return count > 0 ? sum / Double(count) : 1e9
                }
            }
            var matched: [Int: Int] = [:]
            for pair in Hungarian.assign(cost) where cost[pair.row][pair.column] < 1e9 { matched[pair.row] = pair.column }
            pairs = references.indices.map { ($0, matched[$0]) }
        }
        var gtPoints: [[SIMD2<Double>]] = []
        var gtOccluded: [[Bool]] = []
        var predPoints: [[SIMD2<Double>]] = []
        var predOccluded: [[Bool]] = []
        var queries: [Int] = []
        for (r, c) in pairs {
            let gt = denseReferences[r]
            let pred: Dense
            if let c {
                pred = denseCandidates[c] ?? dense(candidates[c])
            } else {
                pred = (
                    [SIMD2<Double>](repeating: SIMD2(.nan, .nan), count: frameCount),
                    [Bool](repeating: true, count: frameCount)
                )
            }
            // One evaluated point per query, as the benchmark's sampling makes them (the candidate's track does not
            // depend on the query here: it is the same annotation for every query of a track).
            for query in AnnotationMetrics.tapVidQueryFrames(visible: gt.occluded.map { !$0 }, mode: options.queryMode) {
                gtPoints.append(gt.points)
                gtOccluded.append(gt.occluded)
                queries.append(query)
                predPoints.append(pred.points)
                predOccluded.append(pred.occluded)
            }
        }
        let paired = pairs.filter { $0.candidate != nil }.count
        let usedCandidates = Set(pairs.compactMap { $0.candidate.map { candidates[$0].id } })
        let scores = AnnotationMetrics.tapVid(
            groundTruthPoints: gtPoints, groundTruthOccluded: gtOccluded, predictedPoints: predPoints,
            predictedOccluded: predOccluded, queryFrames: queries, mode: options.queryMode,
            emptyScore: options.emptyScore)
        return (scores, paired, references.count - paired, candidates.filter { !usedCandidates.contains($0.id) }.count)
    }
}
