import Basics
import Annotations
import ArgumentParser
import Assist
import Foundation
import Media
import MolmoRuntime

#if canImport(Glibc)
    import Glibc
#endif

/// `spotter annotate MEDIA_OR_FOLDER… --task T --label L --endpoint URL…`: asks one question about every video
/// (and folder of frames) and stores each answer as pending predictions in that media's project, for a person to
/// accept or reject in the viewer.
struct AnnotateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annotate",
        abstract: "Pre-annotate many videos: ask Molmo2 about each one and store its answer as pending predictions.",
        discussion: """
            Each argument is a video, a folder of videos, or a folder of image frames (taken as a video at \
            --frame-rate). Every item is asked Molmo2's prompt for --task about --label, with the frames sampled \
            as `spotter ask` samples them, and the answer is stored in the item's project (NAME.spotter beside \
            it) as pending predictions, which the viewer offers to accept or reject. With --output FILE.jsonl \
            the predictions go to that file instead (one JSON object a line).

            --endpoint may be given several times: each server gets --concurrency requests at a time and takes \
            the next item when it is free (a faster server takes more). A failed item is retried on a server \
            (connection failures and HTTP 429/5xx, with backoff) and then on another, up to --item-attempts \
            times. --model DIR runs the model in process instead, one item at a time.

            Safe to interrupt and re-run: an item is done when its project (or the JSONL file) holds a \
            prediction with the same job key, a digest of the task, label, model, prompt and sampling settings; \
            each answer is written in one transaction (one appended line), so a killed run loses only the items \
            in flight. Changing a setting makes a new job key and asks again; --redo asks again regardless. \
            Ctrl-C stops taking new items and waits for those in flight; a second Ctrl-C quits at once.
            """)

    @Argument(help: "Videos, folders of videos, or folders of image frames.")
    var inputs: [String]

    @Option(help: "What to ask about the label: point, count or track.")
    var task: AskTask

    @Option(help: "The label asked about (the disc, red cars).")
    var label: String

    @Option(help: "A vLLM server's URL; give it several times to share the work.")
    var endpoint: [String] = []

    @OptionGroup var server: ServerOptions
    var modelName: String? { server.modelName }
    var apiKey: String? { server.apiKey }

    @Option(help: "Requests in flight per endpoint.")
    var concurrency: Int = 1

    @Option(help: "Checkpoint directory or Hugging Face model id, to run the model in process instead.")
    var model: String?

    @Option(help: "Weight format in process.")
    var format: WeightFormat = .bfloat16

    @Flag(help: "Hold each answer to one <points>/<tracks> element with the label (constrained decoding).")
    var constrain = false

    @OptionGroup var sampling: FrameSamplingOptions
    var maxFrames: Int { sampling.maxFrames }
    var fps: Double { sampling.fps }
    var frameRate: Double { sampling.frameRate }


    @Option(help: "Longest side of a frame as sent to a server (0 keeps the size).")
    var maxSide: Int = 768

    @Option(help: "Most tokens to generate (default: the task's budget, sized down to the server's context).")
    var maxTokens: Int?

    @Option(help: "Tries per item across endpoints before it counts as failed.")
    var itemAttempts: Int = 3

    @Option(help: "Write the predictions to this JSONL file instead of the media's projects.")
    var output: String?

    @Flag(help: "Ask again about items that are already done.")
    var redo = false

    func validate() throws {
        if endpoint.isEmpty == (model == nil) {
            throw ValidationError("Give one or more --endpoint URL, or --model DIR (in process).")
        }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1.") }
        guard maxFrames >= 1 else { throw ValidationError("--max-frames must be at least 1.") }
        guard fps.isFinite, fps > 0 else { throw ValidationError("--fps must be positive.") }
        guard frameRate.isFinite, frameRate > 0 else { throw ValidationError("--frame-rate must be positive.") }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1.") }
        guard itemAttempts >= 1 else { throw ValidationError("--item-attempts must be at least 1.") }
        guard maxSide >= 0 else { throw ValidationError("--max-side must be 0 or more.") }
        if task == .track && (fps.rounded() != fps || fps < 1) {
            throw ValidationError("--task track needs a whole-number --fps (the prompt says \"Track … in N FPS.\").")
        }
        if label.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--label is empty.") }
    }

    static let videoExtensions: Set<String> = ["mp4", "mov", "mkv", "webm", "avi", "m4v", "mpg", "mpeg", "ts", "gif"]

    /// The items: each video, and each folder of frames, once, in the order given (folders sorted by name).
    func items() throws -> [String] {
        var out: [String] = []
        var seen = Set<String>()
        func add(_ path: String) {
            let key = URL(fileURLWithPath: path).standardizedFileURL.path
            if seen.insert(key).inserted { out.append(path) }
        }
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw AnnotateError.missing(path: input)
            }
            guard isDirectory.boolValue else {
                add(input)
                continue
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: input)
                .sorted { $0.compare($1, options: [.numeric]) == .orderedAscending }
            let videos = names.filter { Self.videoExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
            let subfolders = names.filter { name in
                var sub: ObjCBool = false
                let path = (input as NSString).appendingPathComponent(name)
                return FileManager.default.fileExists(atPath: path, isDirectory: &sub) && sub.boolValue
                    && !((try? QuestionMedia.imageFiles(inFolder: path)) ?? []).isEmpty
            }
            if videos.isEmpty && subfolders.isEmpty {
                guard !(try QuestionMedia.imageFiles(inFolder: input)).isEmpty else { throw AnnotateError.nothingToAsk(path: input) }
                add(input)
            } else {
                for name in videos + subfolders { add((input as NSString).appendingPathComponent(name)) }
            }
        }
        return out
    }

    func run() throws {
        let started = Date()
        let paths: [String]
        do {
            paths = try items()
        } catch {
            fail("\(error)")
        }
        let settings = AnnotationSettings(
            task: task, label: label, constrain: constrain, maxFrames: maxFrames, fps: fps, frameRate: frameRate,
            maxSide: maxSide, maxTokens: maxTokens)

        // The workers: `concurrency` per endpoint, or one in process.
        var workers: [AnnotationWorker] = []
        var modelNames: Set<String> = []
        if let model {
            FileHandle.standardError.write(Data("spotter: loading \(model)…\n".utf8))
            do {
                let loaded = try InProcessGroundingModel.load(model, format: format)
                workers.append(AnnotationWorker(model: loaded, modelName: loaded.displayName, endpoint: "in process"))
                modelNames.insert(loaded.displayName)
            } catch {
                fail("\(error)")
            }
        } else {
            for url in endpoint {
                do {
                    let remote = try remoteModel(
                        endpoint: url, modelName: modelName,
                        apiKey: apiKey ?? ProcessInfo.processInfo.environment["SPOTTER_API_KEY"])
                    modelNames.insert(remote.configuration.modelName)
                    for _ in 0..<concurrency {
                        workers.append(
                            AnnotationWorker(
                                model: remote, modelName: remote.configuration.modelName,
                                endpoint: remote.configuration.chatCompletionsURL.absoluteString))
                    }
                } catch {
                    fail("\(error)")
                }
            }
        }
        guard modelNames.count == 1, let servedModel = modelNames.first else {
            fail("the endpoints serve different models (\(modelNames.sorted().joined(separator: ", "))); give --model-name")
        }

        let sink: PredictionSink
        do {
            sink = try output.map { try PredictionSink.jsonl(JSONLPredictionFile(path: $0)) } ?? .projects
        } catch {
            fail("\(error)")
        }
        let jobKey = settings.jobKey(model: servedModel)

        // Resume: what is done already is skipped before any work starts.
        var todo: [String] = []
        var skipped = 0
        for path in paths {
            if !redo, (try? sink.isDone(mediaPath: path, jobKey: jobKey, settings: settings)) == true {
                skipped += 1
            } else {
                todo.append(path)
            }
        }
        let progress = AnnotationProgress(total: paths.count, alreadyDone: skipped)
        FileHandle.standardError.write(
            Data(
                ("spotter: \(paths.count) item\(paths.count == 1 ? "" : "s"), \(skipped) already done (job \(jobKey.prefix(12))), "
                    + "\(todo.count) to ask with \(workers.count) worker\(workers.count == 1 ? "" : "s")\n").utf8))

        let queue = AnnotationQueue(todo, attempts: itemAttempts, endpoints: Set(workers.map(\.endpoint)))
        let stop = CancellationFlag()
        let status = StatusLine()
        let interrupts = InterruptHandler(flag: stop, status: status)
        defer { interrupts.stop() }
        progress.start()
        let group = DispatchGroup()
        for worker in workers {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                worker.run(
                    queue: queue, settings: settings, jobKey: jobKey, sink: sink, progress: progress, stop: stop)
            }
        }
        group.wait()
        progress.finish()

        let failures = queue.failures
        let report = progress.summary(wall: Date().timeIntervalSince(started), workers: workers)
        FileHandle.standardError.write(Data(report.utf8))
        for (path, reason) in failures {
            FileHandle.standardError.write(Data("spotter: \(path): \(reason)\n".utf8))
        }
        if stop.isCancelled {
            FileHandle.standardError.write(Data("spotter: interrupted; run the same command again to continue\n".utf8))
            throw ExitCode(130)
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }
}

enum AnnotateError: Error, CustomStringConvertible {
    case missing(path: String)
    case nothingToAsk(path: String)

    var description: String {
        switch self {
        case .missing(let path): return "\(path): no such file or folder"
        case .nothingToAsk(let path): return "\(path): no videos or image frames in this folder"
        }
    }
}

/// The question and its settings, the same for every item of a run.
struct AnnotationSettings: Sendable {
    var task: AskTask
    var label: String
    var constrain: Bool
    var maxFrames: Int
    var fps: Double
    var frameRate: Double
    var maxSide: Int
    var maxTokens: Int?

    /// A digest of everything that shapes the answer: a stored prediction with this key means the item is done.
    func jobKey(model: String) -> String {
        let parts = [
            "spotter-annotate-1", task.rawValue, label, model, "constrain=\(constrain)", "max_frames=\(maxFrames)",
            "fps=\(fps)", "frame_rate=\(frameRate)", "max_side=\(maxSide)", "max_tokens=\(maxTokens.map(String.init) ?? "task")",
        ]
        return SHA256.hexDigest(of: Array(parts.joined(separator: "\u{1F}").utf8))
    }
}

/// Items waiting to be asked, with the endpoints each has failed on; shared by the workers. An item that failed on
/// an endpoint goes to another one while there is an endpoint it has not failed on.
final class AnnotationQueue: @unchecked Sendable {
    private struct Item {
        var path: String
        var failures: Int
        var failedOn: Set<String>
    }

    enum Next {
        case item(path: String, failures: Int)
        /// Nothing for this endpoint now; items may come back from other workers.
        case wait
        case finished
    }

    private let lock = NSLock()
    private var waiting: [Item]
    private var inFlight = 0
    private let attempts: Int
    private let endpoints: Set<String>
    private var failed: [(String, String)] = []

    init(_ paths: [String], attempts: Int, endpoints: Set<String>) {
        waiting = paths.map { Item(path: $0, failures: 0, failedOn: []) }
        self.attempts = attempts
        self.endpoints = endpoints
    }

    func next(for endpoint: String) -> Next {
        lock.withLock {
            let eligible = waiting.firstIndex { !$0.failedOn.contains(endpoint) || $0.failedOn.isSuperset(of: endpoints) }
            guard let eligible else { return waiting.isEmpty && inFlight == 0 ? .finished : .wait }
            let item = waiting.remove(at: eligible)
            inFlight += 1
            return .item(path: item.path, failures: item.failures)
        }
    }

    func succeeded() { lock.withLock { inFlight -= 1 } }

    /// An item given up because the run is stopping (it stays not done).
    func abandoned() { lock.withLock { inFlight -= 1 } }

    /// Puts a failed item back (for another endpoint) or records it as failed when it has no tries left.
    /// Returns true when it will be tried again.
    func failed(_ path: String, failures: Int, endpoint: String, reason: String) -> Bool {
        lock.withLock {
            inFlight -= 1
            if failures + 1 < attempts {
                let earlier = failedEndpoints[path] ?? []
                failedEndpoints[path] = earlier.union([endpoint])
                waiting.append(Item(path: path, failures: failures + 1, failedOn: earlier.union([endpoint])))
                return true
            }
            failed.append((path, reason))
            return false
        }
    }

    private var failedEndpoints: [String: Set<String>] = [:]

    var failures: [(String, String)] { lock.withLock { failed } }
}

/// Where predictions go: each media's project, or one JSONL file.
enum PredictionSink: Sendable {
    case projects
    case jsonl(JSONLPredictionFile)

    func isDone(mediaPath: String, jobKey: String, settings: AnnotationSettings) throws -> Bool {
        switch self {
        case .projects:
            let url = ProjectStore.defaultProjectURL(forMedia: mediaPath)
            guard FileManager.default.fileExists(atPath: url.path) else { return false }
            let store = try ProjectStore.open(at: url, readOnly: true)
            defer { try? store.close() }
            return try store.hasPendingPrediction(jobKey: jobKey)
        case .jsonl(let file):
            return file.isDone(mediaPath: mediaPath, jobKey: jobKey)
        }
    }

    func store(_ prediction: PendingPrediction, mediaPath: String, media: QuestionMedia) throws {
        switch self {
        case .projects:
            let descriptor = try AnnotationWorker.descriptor(for: media, path: mediaPath)
            let url = ProjectStore.defaultProjectURL(forMedia: mediaPath)
            let project = try ProjectStore.openOrCreate(at: url, media: descriptor)
            defer { try? project.close() }
            try project.addPendingPrediction(prediction)
        case .jsonl(let file):
            try file.append(prediction, mediaPath: mediaPath)
        }
    }
}

/// Predictions as JSON lines, appended one item at a time (written and flushed to the disk before the item counts
/// as done); a line cut short by a kill is ignored when the file is read back.
final class JSONLPredictionFile: @unchecked Sendable {
    let path: String
    private let lock = NSLock()
    private var done: Set<String> = []

    init(path: String) throws {
        self.path = path
        if FileManager.default.fileExists(atPath: path) {
            let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
            for line in text.split(separator: "\n") {
                guard let data = line.data(using: .utf8),
                    let record = try? JSONDecoder().decode(DoneKey.self, from: data)
                else { continue }
                done.insert(Self.key(record.media, record.jobKey))
            }
        }
    }

    private struct DoneKey: Decodable {
        var media: String
        var jobKey: String
        enum CodingKeys: String, CodingKey {
            case media
            case jobKey = "job_key"
        }
    }

    private static func key(_ media: String, _ job: String) -> String { media + "\u{1F}" + job }

    func isDone(mediaPath: String, jobKey: String) -> Bool { lock.withLock { done.contains(Self.key(mediaPath, jobKey)) } }

    func append(_ prediction: PendingPrediction, mediaPath: String) throws {
        let record: [String: Any] = [
            "media": mediaPath, "job_key": prediction.jobKey, "question": prediction.question, "label": prediction.label,
            "task": prediction.task, "model": prediction.model, "answer": prediction.answer,
            "created_at": prediction.createdAt.timeIntervalSince1970, "shown_frames": prediction.shownFrames,
            "sampled_times": prediction.sampling?.times ?? [],
            "objects": prediction.objects.map { object in
                [
                    "id": object.answerID, "label": object.label,
                    "points": object.points.map { ["frame": $0.frame, "x": $0.x, "y": $0.y] },
                ] as [String: Any]
            },
            "timings": prediction.timings, "diagnostics": prediction.diagnostics, "provenance": prediction.provenance,
        ]
        var line = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes])
        line.append(UInt8(ascii: "\n"))
        try lock.withLock {
            let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw AnnotationError.store(path: path, reason: String(cString: strerror(errno))) }
            defer { close(fd) }
            let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == line.count, fsync(fd) == 0 else {
                throw AnnotationError.store(path: path, reason: "cannot append: \(String(cString: strerror(errno)))")
            }
            done.insert(Self.key(mediaPath, prediction.jobKey))
        }
    }
}

/// One worker: takes items from the queue, asks its model, stores the answer; pauses with backoff after a failure.
final class AnnotationWorker: @unchecked Sendable {
    let model: any GroundingModel
    let modelName: String
    let endpoint: String
    private let lock = NSLock()
    private(set) var itemsDone = 0
    private(set) var tokens = 0
    private(set) var generateSeconds = 0.0

    init(model: any GroundingModel, modelName: String, endpoint: String) {
        self.model = model
        self.modelName = modelName
        self.endpoint = endpoint
    }

    func run(
        queue: AnnotationQueue, settings: AnnotationSettings, jobKey: String, sink: PredictionSink,
        progress: AnnotationProgress, stop: CancellationFlag
    ) {
        var consecutiveFailures = 0
        while !stop.isCancelled {
            let path: String
            let failures: Int
            switch queue.next(for: endpoint) {
            case .finished: return
            case .wait:
                usleep(50_000)
                continue
            case .item(let itemPath, let itemFailures): (path, failures) = (itemPath, itemFailures)
            }
            do {
                let outcome = try ask(path: path, settings: settings, jobKey: jobKey, stop: stop)
                try sink.store(outcome.prediction, mediaPath: path, media: outcome.media)
                consecutiveFailures = 0
                queue.succeeded()
                lock.withLock {
                    itemsDone += 1
                    tokens += outcome.tokens
                    generateSeconds += outcome.generateSeconds
                }
                progress.itemDone(frames: outcome.frames, tokens: outcome.tokens, seconds: outcome.generateSeconds)
            } catch {
                if stop.isCancelled {
                    queue.abandoned()
                    return
                }
                let reason = "\(error)"
                let again = queue.failed(path, failures: failures, endpoint: endpoint, reason: reason)
                progress.itemFailed(finally: !again, note: "\(path): \(reason)\(again ? " (will try again)" : "")")
                consecutiveFailures += 1
                // A server that keeps failing rests before taking more work (0.5 s, 1 s, 2 s, … up to 30 s).
                let pause = min(30, 0.5 * pow(2, Double(consecutiveFailures - 1)))
                var waited = 0.0
                while waited < pause && !stop.isCancelled {
                    usleep(100_000)
                    waited += 0.1
                }
            }
        }
    }

    struct Outcome {
        var prediction: PendingPrediction
        var media: QuestionMedia
        var frames: Int
        var tokens: Int
        var generateSeconds: Double
    }

    private func ask(path: String, settings: AnnotationSettings, jobKey: String, stop: CancellationFlag) throws -> Outcome {
        let media = try QuestionMedia.open(
            paths: [path], frameRate: settings.frameRate, maxFPS: settings.fps, maxFrames: settings.maxFrames)
        let request = try GroundingRequest.make(
            task: groundingTask(settings.task, label: settings.label, fps: settings.fps), scope: media.scope,
            source: media.source, maxNewTokens: settings.maxTokens,
            maxTransmittedSide: settings.maxSide > 0 ? settings.maxSide : nil, constrainOutput: settings.constrain,
            isCancelled: { stop.isCancelled })
        let model = self.model
        let answer = try runBlocking {
            let work = Task { try await model.answer(request) }
            let watcher = Task {
                while !Task.isCancelled && !stop.isCancelled { try? await Task.sleep(nanoseconds: 100_000_000) }
                // A second Ctrl-C exits the process; the first lets answers in flight finish.
            }
            defer { watcher.cancel() }
            return try await work.value
        }
        let predictions = Predictions(answer: answer, request: request)
        let shown: [Int]
        switch request.media {
        case .video(let frames, _, _, _): shown = Array(Set(frames.map(\.frameIndex))).sorted()
        case .images(let images): shown = images.map(\.frameIndex)
        }
        var objects = predictions.objects
        for i in objects.indices where objects[i].label.isEmpty { objects[i].label = settings.label }
        var timings = answer.timings.dictionary
        if let value = answer.promptTokens { timings["prompt_tokens"] = Double(value) }
        if let value = answer.completionTokens { timings["completion_tokens"] = Double(value) }
        var provenance: [String: String] = [
            "endpoint": endpoint, "served_model": answer.model, "max_frames": String(settings.maxFrames),
            "max_fps": String(settings.fps), "max_side": String(settings.maxSide), "constrained": String(settings.constrain),
            "finish_reason": answer.finishReason ?? "unknown", "tool": "spotter annotate",
        ]
        if let value = answer.maxTokens { provenance["max_tokens"] = String(value) }
        if let value = answer.contextTokens { provenance["context_tokens"] = String(value) }
        let prediction = PendingPrediction(
            jobKey: jobKey, question: request.question, label: settings.label,
            task: recordTaskName(settings.task, isVideo: request.isVideo), model: modelName, answer: answer.text,
            shownFrames: shown, objects: objects, sampling: request.sampling, timings: timings,
            diagnostics: predictions.diagnostics, provenance: provenance)
        return Outcome(
            prediction: prediction, media: media, frames: request.visualCount, tokens: answer.completionTokens ?? 0,
            generateSeconds: (answer.timings.firstTokenSeconds ?? 0) + (answer.timings.generateSeconds ?? 0))
    }

    /// The project's description of an item (a video as measured, a folder of frames as a video at its rate).
    static func descriptor(for media: QuestionMedia, path: String) throws -> MediaDescriptor {
        if media.kind == "video" {
            let video = try VideoSource(path: path)
            return try MediaProject.descriptor(path: path, info: video.info, frameTimestamps: video.frameTimestamps)
        }
        let size = media.source.frameSize(0)
        let timestamps = media.source.frameTimestamps
        let sampled = MolmoFrameSampler.sample(frameTimestamps: timestamps, duration: media.source.duration)
        let sampling = FrameSampling(
            mode: "uniform_last_frame", maxFrames: MolmoFrameSampler.defaultMaxFrames, maxFPS: MolmoFrameSampler.defaultMaxFPS,
            times: sampled.timestamps, frames: sampled.frameIndices)
        return try MediaDescriptor.video(
            path: path, duration: media.source.duration, frameCount: timestamps.count, width: size.width,
            height: size.height, fps: timestamps.count > 1 ? 1 / (timestamps[1] - timestamps[0]) : 1,
            frameTimestamps: timestamps, sampling: sampling)
    }
}

/// The progress bar (items, frames, ETA, tokens/s) on stderr: redrawn in place on a terminal, one line per item
/// otherwise.
final class AnnotationProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let total: Int
    private let alreadyDone: Int
    private var done = 0
    private var failed = 0
    private var frames = 0
    private var tokens = 0
    private var startedAt = Date()
    private let isTerminal = isatty(STDERR_FILENO) == 1

    init(total: Int, alreadyDone: Int) {
        self.total = total
        self.alreadyDone = alreadyDone
    }

    func start() { lock.withLock { startedAt = Date() } }

    func itemDone(frames: Int, tokens: Int, seconds: Double) {
        lock.withLock {
            done += 1
            self.frames += frames
            self.tokens += tokens
            drawLocked()
        }
    }

    func itemFailed(finally: Bool, note: String) {
        lock.withLock {
            if finally { failed += 1 }
            if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            FileHandle.standardError.write(Data("spotter: \(note)\n".utf8))
            drawLocked()
        }
    }

    func finish() {
        lock.withLock { if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) } }
    }

    private func drawLocked() {
        let finished = alreadyDone + done + failed
        let elapsed = Date().timeIntervalSince(startedAt)
        let remaining = total - finished
        let eta = done > 0 ? elapsed / Double(done) * Double(remaining) : nil
        let width = 24
        let filled = total > 0 ? width * finished / total : width
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let rate = elapsed > 0 ? Double(tokens) / elapsed : 0
        var line = "[\(bar)] \(finished)/\(total) items, \(frames) frames, \(String(format: "%.1f", rate)) tok/s"
        if failed > 0 { line += ", \(failed) failed" }
        line += ", ETA " + (eta.map(Self.clock) ?? "?")
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    func summary(wall: Double, workers: [AnnotationWorker]) -> String {
        lock.withLock {
            var text = String(
                format: "spotter: %d asked, %d already done, %d failed, %d of %d items done; %d frames, %d tokens in %.1f s (%.2f items/s, %.1f tok/s)\n",
                done, alreadyDone, failed, alreadyDone + done, total, frames, tokens, wall,
                wall > 0 ? Double(done) / wall : 0, wall > 0 ? Double(tokens) / wall : 0)
            var byEndpoint: [String: (items: Int, tokens: Int)] = [:]
            for worker in workers {
                let current = byEndpoint[worker.endpoint] ?? (0, 0)
                byEndpoint[worker.endpoint] = (current.items + worker.itemsDone, current.tokens + worker.tokens)
            }
            for (endpoint, counts) in byEndpoint.sorted(by: { $0.key < $1.key }) {
                text += "  \(endpoint): \(counts.items) items, \(counts.tokens) tokens\n"
            }
            return text
        }
    }
}
