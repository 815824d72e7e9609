import Basics
import Annotations
import ArgumentParser
import Foundation
import Media
import Tracking

/// `spotter bench track`: point propagation measured against ground truth with TAP-Vid metrics, next to OpenCV's
/// `calcOpticalFlowPyrLK` run on the same frames in the same run.
struct BenchTrackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "track",
        abstract: "Propagate ground-truth points with Spotter's Lucas-Kanade and OpenCV's: TAP-Vid AJ, δavg, OA, speed.",
        discussion: """
            Every ground-truth point starts at its first visible frame and is propagated forward frame by frame \
            (21x21 window, 3 pyramid levels, forward-backward check ≤ 1 px) until its first failure; from there \
            it counts as occluded. Positions are scored with the TAP-Vid metrics (query mode "first", 256x256 \
            raster) against the ground truth. The gray frames Spotter tracked on are written to a temporary raw \
            file, and Scripts/track_reference.py runs OpenCV's calcOpticalFlowPyrLK on exactly those frames with \
            the same parameters and the same acceptance rule; its tracks are scored with the same code. The \
            script installs opencv-python-headless into .venv-track/ on first use. Timings cover the tracking \
            loop only (best of --repeat runs, one thread on both sides). Build with -c release before measuring.
            """)

    @Argument(help: "Video with ground-truth points.")
    var video: String = "Samples/shapes.mp4"

    @Option(help: "Ground-truth points (schema in Scripts/make_samples.py); default: <video stem>.points.json.")
    var points: String?

    @Option(help: "Timed runs per tracker; the fastest counts.")
    var `repeat` = 3

    @Option(help: "Python interpreter for the OpenCV reference.")
    var python = "python3"

    @Option(help: "The OpenCV reference script (default: Scripts/track_reference.py of this checkout).")
    var script: String?

    @Flag(help: "Skip the OpenCV comparison.")
    var noReference = false

    @Flag(help: "Print the results as JSON.")
    var json = false

    func validate() throws {
        guard `repeat` >= 1 else { throw ValidationError("--repeat must be at least 1.") }
    }

    func run() throws {
        let tracker = LucasKanadeTracker()
        let pointsPath = points ?? Self.defaultPointsPath(for: video)
        let truth: GroundTruth
        do { truth = try GroundTruth.load(path: pointsPath) } catch { fail("\(error)") }
        let source: VideoSource
        do { source = try VideoSource(path: video) } catch { fail("\(error)") }
        guard source.info.width == truth.width, source.info.height == truth.height else {
            fail("\(pointsPath): points are for \(truth.width)x\(truth.height), \(video) is \(source.info.width)x\(source.info.height)")
        }
        let frameCount = min(truth.frameCount, source.frameCount)
        guard frameCount >= 2 else { fail("\(video): need at least 2 frames, have \(frameCount)") }

        // Decode once; both trackers get these exact 8-bit gray frames.
        let frameBytes = truth.width * truth.height
        var luma = [UInt8]()
        luma.reserveCapacity(frameBytes * frameCount)
        for index in 0..<frameCount {
            do {
                luma += GrayImage(try source.frame(at: index)).quantized()
            } catch {
                fail("\(error)")
            }
        }
        let seeds = truth.points.compactMap { point -> (id: Int, seed: PropagationSeed)? in
            guard let start = point.visible.prefix(frameCount).firstIndex(of: true) else { return nil }
            // Ground truth uses pixel corners at integers; the tracker uses pixel centres.
            let p = point.positions[start]
            return (point.id, PropagationSeed(frame: start, point: FlowPoint(x: Float(p.x - 0.5), y: Float(p.y - 0.5))))
        }
        guard !seeds.isEmpty else { fail("\(pointsPath): no point is ever visible") }

        // Spotter.
        let width = truth.width, height = truth.height
        // Frame `index` of the decoded luma, as the tracker's input.
        func grayFrame(_ all: UnsafeBufferPointer<UInt8>, _ index: Int) -> GrayImage {
            let slice = UnsafeBufferPointer(rebasing: all[(index * frameBytes)..<((index + 1) * frameBytes)])
            return GrayImage(width: width, height: height, pixels: slice.map { Float($0) })
        }
        var best = Double.infinity
        var paths: [PropagationPath] = []
        for _ in 0..<`repeat` {
            let started = monotonicSeconds()
            paths = luma.withUnsafeBufferPointer { all in
                Propagator(tracker: tracker).propagate(
                    seeds.map(\.seed), direction: .forward, limit: frameCount - 1,
                    frames: { grayFrame(all, $0) })
            }
            best = min(best, monotonicSeconds() - started)
        }
        let spotterTracks = zip(seeds, paths).map { seed, path in
            TrackedPoint(
                id: seed.id, start: path.startFrame, positions: path.points.map { (Double($0.x), Double($0.y)) },
                stopFrame: path.stop.stopFrame, stopReason: path.stop == .reachedLimit ? "reached the last frame" : "\(path.stop)")
        }
        // For context: converting one frame and building its pyramid.
        var pyramidBest = Double.infinity
        for _ in 0..<`repeat` {
            let started = monotonicSeconds()
            luma.withUnsafeBufferPointer { all in
                for index in 0..<frameCount {
                    _ = tracker.pyramid(grayFrame(all, index))
                }
            }
            pyramidBest = min(pyramidBest, monotonicSeconds() - started)
        }
        let spotter = TrackerResult(
            name: "Spotter LK", seconds: best, tracks: spotterTracks, scores: truth.scores(spotterTracks, frameCount: frameCount),
            pyramidSecondsPerFrame: pyramidBest / Double(frameCount))

        // OpenCV on the same frames.
        var reference: TrackerResult?
        var referenceNote: String?
        if !noReference {
            do {
                reference = try runReference(luma: luma, frameCount: frameCount, seeds: seeds, truth: truth, tracker: tracker)
            } catch {
                referenceNote = "\(error)"
            }
        }
        report(
            spotter: spotter, reference: reference, referenceNote: referenceNote, truth: truth, frameCount: frameCount,
            pointsPath: pointsPath, tracker: tracker)
    }

    static func defaultPointsPath(for video: String) -> String {
        let url = URL(fileURLWithPath: video)
        return url.deletingPathExtension().appendingPathExtension("points.json").path
    }

    func scriptPath() -> String {
        if let script { return script }
        let local = "Scripts/track_reference.py"
        if FileManager.default.fileExists(atPath: local) { return local }
        // This source file is Sources/spotter/BenchTrackCommand.swift in the checkout.
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(local).path
    }

    func runReference(
        luma: [UInt8], frameCount: Int, seeds: [(id: Int, seed: PropagationSeed)], truth: GroundTruth,
        tracker: LucasKanadeTracker
    ) throws -> TrackerResult {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spotter-track-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let framesURL = directory.appendingPathComponent("frames.gray")
        let seedsURL = directory.appendingPathComponent("seeds.json")
        try Data(luma).write(to: framesURL)
        let seedObjects: [[String: Any]] = seeds.map {
            ["id": $0.id, "frame": $0.seed.frame, "x": Double($0.seed.point.x), "y": Double($0.seed.point.y)]
        }
        try JSONSerialization.data(withJSONObject: seedObjects).write(to: seedsURL)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            python, scriptPath(), "--frames", framesURL.path, "--width", "\(truth.width)", "--height", "\(truth.height)",
            "--count", "\(frameCount)", "--seeds", seedsURL.path, "--window", "\(tracker.windowSize)", "--levels",
            "\(tracker.levels)", "--iterations", "\(tracker.maxIterations)", "--epsilon", "\(tracker.epsilon)",
            "--min-eig", "\(tracker.minEigenvalue)", "--max-fb", "\(tracker.maxForwardBackwardError)", "--threads", "1",
            "--repeat", "\(`repeat`)",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailure("\(scriptPath()) exited with status \(process.terminationStatus)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let seconds = (object["seconds"] as? NSNumber)?.doubleValue, let tracks = object["tracks"] as? [[String: Any]]
        else {
            throw CommandFailure("\(scriptPath()): output is not the expected JSON")
        }
        var parsed: [TrackedPoint] = []
        for (seed, track) in zip(seeds, tracks) {
            guard (track["id"] as? NSNumber)?.intValue == seed.id, let positions = track["positions"] as? [[NSNumber]] else {
                throw CommandFailure("\(scriptPath()): track for point \(seed.id) missing or out of order")
            }
            parsed.append(
                TrackedPoint(
                    id: seed.id, start: seed.seed.frame,
                    positions: positions.compactMap { $0.count == 2 ? ($0[0].doubleValue, $0[1].doubleValue) : nil },
                    stopFrame: (track["stop_frame"] as? NSNumber)?.intValue,
                    stopReason: track["stop_reason"] as? String ?? ""))
        }
        let version = object["opencv"] as? String ?? "?"
        return TrackerResult(
            name: "OpenCV \(version) LK", seconds: seconds, tracks: parsed, scores: truth.scores(parsed, frameCount: frameCount),
            pyramidSecondsPerFrame: (object["pyramid_seconds_per_frame"] as? NSNumber)?.doubleValue)
    }

    func report(
        spotter: TrackerResult, reference: TrackerResult?, referenceNote: String?, truth: GroundTruth, frameCount: Int,
        pointsPath: String, tracker: LucasKanadeTracker
    ) {
        let agreement = reference.map { spotter.agreement(with: $0) }
        if json {
            var out: [String: Any] = [
                "video": video, "points": pointsPath, "frames": frameCount, "width": truth.width, "height": truth.height,
                "window": tracker.windowSize, "levels": tracker.levels, "max_fb_px": Double(tracker.maxForwardBackwardError),
                "spotter": spotter.json,
            ]
            if let reference {
                out["opencv"] = reference.json
                out["speed_ratio"] = reference.seconds / max(1e-9, spotter.seconds)
            }
            if let agreement {
                out["agreement"] = ["frames_both": agreement.frames, "mean_px": agreement.mean, "max_px": agreement.max]
            }
            if let referenceNote { out["opencv_error"] = referenceNote }
            if let data = try? JSONSerialization.data(withJSONObject: out, options: [.sortedKeys]) {
                print(String(decoding: data, as: UTF8.self))
            }
            return
        }
        print(
            "spotter bench track: \(video), \(truth.width)x\(truth.height), \(frameCount) frames, \(spotter.tracks.count) points; "
                + "window \(tracker.windowSize), \(tracker.levels) levels, FB ≤ \(tracker.maxForwardBackwardError) px; \(CPUInfo.summary)")
        print("TAP-Vid (query first, 256x256 raster), tracking loop time (best of \(`repeat`)):")
        func row(_ r: TrackerResult) {
            let metrics =
                r.scores.map { "AJ \(f3($0.averageJaccard))  δavg \(f3($0.averageWithin))  OA \(f3($0.occlusionAccuracy))" }
                ?? "no frames evaluated"
            print(
                "  \(r.name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(metrics)  "
                    + "steps \(r.steps)  \(f1(r.seconds * 1000)) ms  (\(f1(r.seconds * 1e6 / Double(max(1, r.steps)))) µs/step)")
        }
        row(spotter)
        if let reference {
            row(reference)
            print("  speed ratio (OpenCV time / Spotter time): \(f2(reference.seconds / max(1e-9, spotter.seconds)))x")
            if let a = spotter.pyramidSecondsPerFrame, let b = reference.pyramidSecondsPerFrame {
                print(
                    "  one frame's pyramid: Spotter \(f3(a * 1000)) ms, OpenCV \(f3(b * 1000)) ms; Spotter builds 1 per frame step, "
                        + "OpenCV 4 (its Python calcOpticalFlowPyrLK takes no prebuilt pyramids: 2 per call, forward and back)")
            }
            if let agreement {
                print(
                    "  Spotter vs OpenCV where both tracked (\(agreement.frames) point-frames): "
                        + "mean \(f3(agreement.mean)) px, max \(f3(agreement.max)) px")
            }
            print("  per point: frames tracked by Spotter / OpenCV (first failure)")
            for (a, b) in zip(spotter.tracks, reference.tracks) {
                let label = truth.points.first { $0.id == a.id }?.label ?? "\(a.id)"
                func summary(_ t: TrackedPoint) -> String {
                    "\(t.positions.count - 1) (\(t.stopFrame.map(String.init) ?? "-"): \(t.stopReason))"
                }
                print("    \(label.padding(toLength: 16, withPad: " ", startingAt: 0)) from \(a.start): \(summary(a)) / \(summary(b))")
            }
        } else if let referenceNote {
            print("  OpenCV reference not run: \(referenceNote)")
        }
    }
}

private func f1(_ v: Double) -> String { String(format: "%.1f", v) }
private func f2(_ v: Double) -> String { String(format: "%.2f", v) }
private func f3(_ v: Double) -> String { String(format: "%.3f", v) }

extension PropagationStop {
    /// The frame the path could not enter, if it stopped early.
    fileprivate var stopFrame: Int? {
        switch self {
        case .reachedLimit: return nil
        case .trackingFailed(let frame, _), .frameUnavailable(let frame, _), .cancelled(let frame): return frame
        }
    }
}

/// One point as a tracker followed it: positions (pixel centres at integers) on consecutive frames from `start`.
struct TrackedPoint {
    var id: Int
    var start: Int
    var positions: [(x: Double, y: Double)]
    var stopFrame: Int?
    var stopReason: String
}

struct TrackerResult {
    var name: String
    var seconds: Double
    var tracks: [TrackedPoint]
    /// Nil when no (point, frame) pair is evaluated.
    var scores: AnnotationMetrics.TAPVidScores?
    /// Building one frame's pyramid, measured separately.
    var pyramidSecondsPerFrame: Double?

    var steps: Int { tracks.reduce(0) { $0 + max(0, $1.positions.count - 1) } }

    var json: [String: Any] {
        var out: [String: Any] = [
            "name": name, "seconds": seconds, "steps": steps, "frames_tracked": tracks.map { $0.positions.count - 1 },
        ]
        if let pyramidSecondsPerFrame { out["pyramid_seconds_per_frame"] = pyramidSecondsPerFrame }
        if let scores {
            out["average_jaccard"] = scores.averageJaccard
            out["average_within"] = scores.averageWithin
            out["occlusion_accuracy"] = scores.occlusionAccuracy
            out["jaccard"] = scores.jaccard
            out["within"] = scores.withinThreshold
        }
        return out
    }

    /// Distance between two trackers' positions on the frames both reached.
    func agreement(with other: TrackerResult) -> (frames: Int, mean: Double, max: Double) {
        var total = 0.0, largest = 0.0, count = 0
        for (a, b) in zip(tracks, other.tracks) where a.start == b.start {
            for k in 0..<min(a.positions.count, b.positions.count) {
                let d = ((a.positions[k].x - b.positions[k].x) * (a.positions[k].x - b.positions[k].x)
                    + (a.positions[k].y - b.positions[k].y) * (a.positions[k].y - b.positions[k].y)).squareRoot()
                total += d
                largest = max(largest, d)
                count += 1
            }
        }
        return (count, count > 0 ? total / Double(count) : 0, largest)
    }
}

/// The ground-truth file of `Scripts/make_samples.py`: per point, a position (pixel corners at integers) and a
/// visibility flag on every frame.
struct GroundTruth {
    struct Point {
        var id: Int
        var label: String
        var positions: [(x: Double, y: Double)]
        var visible: [Bool]
    }

    var width: Int
    var height: Int
    var frameCount: Int
    var points: [Point]

    static func load(path: String) throws -> GroundTruth {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CommandFailure("\(path): cannot read the points file")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CommandFailure("\(path): not a JSON object")
        }
        guard let width = (object["width"] as? NSNumber)?.intValue, let height = (object["height"] as? NSNumber)?.intValue,
            let frameCount = (object["frame_count"] as? NSNumber)?.intValue, width > 0, height > 0, frameCount > 0,
            let points = object["points"] as? [[String: Any]]
        else {
            throw CommandFailure("\(path): needs width, height, frame_count and points")
        }
        var out: [Point] = []
        for (n, point) in points.enumerated() {
            guard let positions = point["positions"] as? [[NSNumber]], let visible = point["visible"] as? [Bool],
                positions.count == frameCount, visible.count == frameCount
            else {
                throw CommandFailure("\(path): point \(n) needs \(frameCount) positions and visible flags")
            }
            var xy: [(x: Double, y: Double)] = []
            xy.reserveCapacity(frameCount)
            for p in positions {
                guard p.count == 2, p[0].doubleValue.isFinite, p[1].doubleValue.isFinite else {
                    throw CommandFailure("\(path): point \(n) has a position that is not two numbers")
                }
                xy.append((p[0].doubleValue, p[1].doubleValue))
            }
            out.append(
                Point(
                    id: (point["id"] as? NSNumber)?.intValue ?? n, label: point["label"] as? String ?? "point \(n)",
                    positions: xy, visible: visible))
        }
        return GroundTruth(width: width, height: height, frameCount: frameCount, points: out)
    }

    /// TAP-Vid scores (query mode first, 256x256 raster) of tracks that stop at their first failure: after the stop
    /// (and before the start) a point is predicted occluded at its last (first) position.
    func scores(_ tracks: [TrackedPoint], frameCount: Int) -> AnnotationMetrics.TAPVidScores? {
        let sx = 256 / Double(width), sy = 256 / Double(height)
        var gtPoints: [[SIMD2<Double>]] = []
        var gtOccluded: [[Bool]] = []
        var predicted: [[SIMD2<Double>]] = []
        var predictedOccluded: [[Bool]] = []
        var queries: [Int] = []
        for track in tracks {
            guard let point = points.first(where: { $0.id == track.id }), let first = track.positions.first else { continue }
            gtPoints.append((0..<frameCount).map { SIMD2(point.positions[$0].x * sx, point.positions[$0].y * sy) })
            gtOccluded.append((0..<frameCount).map { !point.visible[$0] })
            var row: [SIMD2<Double>] = []
            var hidden: [Bool] = []
            for t in 0..<frameCount {
                let k = min(max(t - track.start, 0), track.positions.count - 1)
                let p = t < track.start ? first : track.positions[k]
                row.append(SIMD2((p.x + 0.5) * sx, (p.y + 0.5) * sy))
                hidden.append(t < track.start || t - track.start >= track.positions.count)
            }
            predicted.append(row)
            predictedOccluded.append(hidden)
            queries.append(track.start)
        }
        return AnnotationMetrics.tapVid(
            groundTruthPoints: gtPoints, groundTruthOccluded: gtOccluded, predictedPoints: predicted,
            predictedOccluded: predictedOccluded, queryFrames: queries, mode: .first)
    }
}
