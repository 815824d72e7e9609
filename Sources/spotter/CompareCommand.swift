import Basics
import Annotations
import ArgumentParser
import Foundation

/// `spotter compare`: scores a candidate annotation set against a reference one.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Score annotations B against reference A: point F1, counting, TAP-Vid and correction statistics.",
        discussion: """
            A and B are project files (.spotter) or exported files (molmo2, cvat, tapvid) that describe their media. \
            Point F1 follows Molmo2's rule per frame (Hungarian matching on pixel distance; a match is correct inside \
            the reference object's mask where one exists, else within --threshold pixels), averaged over frames \
            where either side has a visible point. Counting compares objects per label (exact, and within 1 + 5%). \
            TAP-Vid AJ, <δ^x_avg> and occlusion accuracy pair tracks by id (or by position) at 256×256. \
            Correction statistics come from each project's edit log.
            """)

    @Argument(help: "The reference (ground truth).")
    var reference: String

    @Argument(help: "The candidate (for example the model's predictions).")
    var candidate: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "Pixel distance for a correct point where no mask exists.")
    var threshold: Double = 10

    @Option(help: "Frames for point F1: sampled (the frames the model sees), annotated or all.")
    var frames: String = "sampled"

    @Option(help: "Track pairing for TAP-Vid: id or position.")
    var match: String = "id"

    @Option(help: "TAP-Vid query mode: first (one query per track, its first visible frame) or strided (a query every 5 frames where the track is visible, as tapnet's sample_queries_strided).")
    var queryMode: String = "first"

    @Option(help: "TAP-Vid score when nothing visible is evaluated: nan (as tapnet) or zero.")
    var emptyScore: String = "nan"

    /// JSON has no NaN: an undefined score is null.
    static func finiteOrNull(_ value: Double) -> Any { value.isFinite ? value : NSNull() }

    func validate() throws {
        guard ComparisonOptions.Frames(rawValue: frames) != nil else {
            throw ValidationError("--frames must be sampled, annotated or all.")
        }
        guard ComparisonOptions.TrackMatching(rawValue: match) != nil else {
            throw ValidationError("--match must be id or position.")
        }
        guard emptyScore == "nan" || emptyScore == "zero" else {
            throw ValidationError("--empty-score must be nan or zero.")
        }
        guard AnnotationMetrics.QueryMode(rawValue: queryMode) != nil else {
            throw ValidationError("--query-mode must be first or strided.")
        }
        guard threshold > 0, threshold.isFinite else { throw ValidationError("--threshold must be a positive number.") }
    }

    struct Loaded {
        var snapshot: ProjectSnapshot
        var statistics: AnnotationMetrics.CorrectionStatistics?
    }

    static func load(_ path: String, fallbackMedia: MediaDescriptor?) throws -> Loaded {
        if path.hasSuffix(".spotter") {
            let store = try ProjectStore.open(at: URL(fileURLWithPath: path), readOnly: true)
            defer { try? store.close() }
            let counts = try store.undoRedoCounts()
            let statistics = AnnotationMetrics.correctionStatistics(
                history: try store.editHistory(), current: store.tracks, undos: counts.undos, redos: counts.redos)
            return Loaded(snapshot: store.snapshot(), statistics: statistics)
        }
        var imported = try AnnotationExchange.read(path: path, targetMedia: fallbackMedia)
        guard let media = imported.media ?? fallbackMedia else {
            throw ValidationError("\(path) does not describe its media; compare it against a project file.")
        }
        imported.clamp(to: media)
        let store = try ProjectStore.inMemory(media: media)
        try store.importContent(imported, replaceExisting: false)
        return Loaded(snapshot: store.snapshot(), statistics: nil)
    }

    func run() throws {
        // A file that does not describe its media borrows the media of the project it is compared with.
        let a: Loaded
        var b: Loaded
        if !reference.hasSuffix(".spotter") && candidate.hasSuffix(".spotter") {
            b = try Self.load(candidate, fallbackMedia: nil)
            a = try Self.load(reference, fallbackMedia: b.snapshot.media)
        } else {
            a = try Self.load(reference, fallbackMedia: nil)
            b = try Self.load(candidate, fallbackMedia: a.snapshot.media)
        }
        let differences = a.snapshot.media.fingerprint.differences(from: b.snapshot.media.fingerprint)
        if !differences.isEmpty {
            FileHandle.standardError.write(
                Data("warning: A and B describe different media: \(differences.joined(separator: "; "))\n".utf8))
        }
        b.snapshot.media = a.snapshot.media
        let options = ComparisonOptions(
            thresholdPixels: threshold, frames: ComparisonOptions.Frames(rawValue: frames) ?? .sampled,
            matching: ComparisonOptions.TrackMatching(rawValue: match) ?? .id,
            queryMode: AnnotationMetrics.QueryMode(rawValue: queryMode) ?? .first,
            emptyScore: emptyScore == "zero" ? 0 : .nan)
        let result = ProjectComparison.compare(reference: a.snapshot, candidate: b.snapshot, options: options)
        if json {
            let object: [String: Any] = [
                "reference": reference, "candidate": candidate, "threshold_pixels": threshold, "frames": frames,
                "point_f1": [
                    "precision": result.meanPrecision, "recall": result.meanRecall, "f1": result.meanF1,
                    "evaluated_frames": result.evaluatedFrames,
                ],
                "counting": [
                    "exact_accuracy": orNull(result.countExactAccuracy), "close_accuracy": orNull(result.countCloseAccuracy),
                    "labels": result.counts.map {
                        [
                            "label": $0.label, "reference": $0.reference, "candidate": $0.candidate, "exact": $0.exact,
                            "close": $0.close, "from_bare_answer": $0.fromBareAnswer,
                        ]
                    },
                ],
                "tapvid": orNull(result.tapVid.map { scores -> [String: Any] in
                    [
                        "average_jaccard": Self.finiteOrNull(scores.averageJaccard),
                        "average_pts_within_thresh": Self.finiteOrNull(scores.averageWithin),
                        "occlusion_accuracy": Self.finiteOrNull(scores.occlusionAccuracy),
                        "jaccard": scores.jaccard.map(Self.finiteOrNull),
                        "pts_within": scores.withinThreshold.map(Self.finiteOrNull), "evaluated_points": scores.evaluatedPoints,
                        "paired_tracks": result.pairedTracks, "unpaired_reference_tracks": result.unpairedReferenceTracks,
                        "unpaired_candidate_tracks": result.unpairedCandidateTracks, "query_mode": queryMode,
                    ]
                }),
                "corrections": [
                    "reference": orNull(a.statistics.map(Self.statisticsJSON)),
                    "candidate": orNull(b.statistics.map(Self.statisticsJSON)),
                ],
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("reference: \(reference)")
        print("candidate: \(candidate)")
        print(
            "point F1 (\(frames) frames, \(result.evaluatedFrames) evaluated, \(format(threshold)) px): "
                + "P \(format(result.meanPrecision))  R \(format(result.meanRecall))  F1 \(format(result.meanF1))")
        if let exact = result.countExactAccuracy, let close = result.countCloseAccuracy {
            print("counting over \(result.counts.count) labels: exact \(format(exact))  close \(format(close))")
            for count in result.counts {
                let note = count.fromBareAnswer ? "  (from a bare-number answer, no points)" : ""
                print("  \(DisplaySafe.escape(count.label)): reference \(count.reference), candidate \(count.candidate)\(note)")
            }
        }
        if let tap = result.tapVid {
            print(
                "TAP-Vid (\(queryMode), \(result.pairedTracks) paired tracks): AJ \(format(tap.averageJaccard))  "
                    + "δavg \(format(tap.averageWithin))  OA \(format(tap.occlusionAccuracy))")
        }
        for (name, statistics) in [("reference", a.statistics), ("candidate", b.statistics)] {
            guard let statistics else { continue }
            var line = "corrections in \(name): \(statistics.humanEdits) human edits, "
            line += "\(format(statistics.meanEditsPerTrack)) per track, "
            line += "\(statistics.machineTracks) machine tracks (\(statistics.uncorrectedMachineTracks) never corrected)"
            if let median = statistics.medianFramesUntilFirstCorrection {
                line += ", median \(format(median)) frames until the first correction"
            }
            if let share = statistics.shareOfMachinePointsKept {
                line += ", \(format(share * 100))% of \(statistics.machinePointsCreated) machine points kept"
            }
            line += ", \(statistics.undos) undos"
            print(line)
        }
    }

    private func format(_ value: Double) -> String { String(format: "%.3f", value) }

    static func statisticsJSON(_ s: AnnotationMetrics.CorrectionStatistics) -> [String: Any] {
        [
            "human_edits": s.humanEdits, "mean_edits_per_track": s.meanEditsPerTrack,
            "edits_per_track": Dictionary(uniqueKeysWithValues: s.editsPerTrack.map { (String($0.key.rawValue), $0.value) }),
            "machine_tracks": s.machineTracks, "uncorrected_machine_tracks": s.uncorrectedMachineTracks,
            "frames_until_first_correction": Dictionary(
                uniqueKeysWithValues: s.framesUntilFirstCorrection.map { (String($0.key.rawValue), orNull($0.value)) }),
            "median_frames_until_first_correction": orNull(s.medianFramesUntilFirstCorrection),
            "machine_points_created": s.machinePointsCreated, "machine_points_kept": s.machinePointsKept,
            "share_of_machine_points_kept": orNull(s.shareOfMachinePointsKept), "undos": s.undos, "redos": s.redos,
        ]
    }
}

/// A JSON value for an optional: the value, or null.
private func orNull<T>(_ value: T?) -> Any { value.map { $0 as Any } ?? NSNull() }
