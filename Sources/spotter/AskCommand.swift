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

/// `spotter ask MEDIA… "question" --model M`: runs Molmo2 in process on a video, one or more images, or a folder of
/// frames, streams the answer, and prints the points/tracks it names in source pixels and frame indices. With
/// `--task point|count|track` the last argument is a label asked about with Molmo2's own prompt, and `--constrain`
/// holds the answer to one coordinate element.
struct AskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Ask Molmo2 a question about a video, images or a folder of frames.",
        discussion: """
            MEDIA is a video file, one or more image files (numbered Image 1, Image 2, … in the prompt), or a \
            folder of image frames taken as a video at --frame-rate (frames sorted by name; every frame is used \
            when the folder fits the --fps/--max-frames budget, otherwise it is sampled like a video). Videos are \
            sampled as Molmo2's processor does: frames at most --fps apart up to the duration, the last one at the \
            duration, or --max-frames frames spread uniformly over a longer video.

            The answer streams to stdout; then the points and tracks it contains are listed with their frame \
            indices and source-pixel coordinates (--json prints one JSON object instead). Progress (frames \
            decoded, ViT crops, prefill, decode speed) goes to stderr. Ctrl-C stops cleanly after the current \
            step; a second Ctrl-C exits at once. --trace FILE writes the prompt ids, the generated ids and the \
            top-20 logits of every step as JSON, for comparison with other implementations.

            --task point|count|track makes the last argument a label (the disc, red cars) and asks about it with \
            Molmo2's training prompt (Point to …, How many "…" are there in the video?, Track … in N FPS.; \
            track needs a video and a whole-number --fps). --constrain (needs --task) then holds decoding to exactly one \
            <points>/<tracks> element with that label, keyed only by the times (or image numbers) shown, ending the \
            answer after it; the element is closed in time when --max-tokens runs low.

            --model is a checkpoint directory or a Hugging Face id (allenai/Molmo2-4B) found in \
            ~/.cache/huggingface/hub. Weights are converted to --format on load (float32 is exact; bfloat16 halves \
            the memory).

            --endpoint URL asks a vLLM server instead (http://host:8000 or …/v1; --model-name is its served \
            model name, by default the only one it serves). The frames are built as the viewer builds them and \
            sent with their sample times; the answer budget is sized to the server's context. The server must \
            run with --trust-request-mm-kwargs for videos (see docs/remote-models.md). --trace then writes the \
            generated tokens with their top-20 log probabilities.
            """)

    @Argument(help: "Media (a video, image files, or a folder of frames), then the question (with --task: the label).")
    var inputs: [String]

    @Option(help: "Ask Molmo2's prompt for a task about the label given last: point, count or track.")
    var task: AskTask?

    @Flag(help: "With --task: hold the answer to one <points>/<tracks> element with the label (constrained decoding).")
    var constrain = false

    @Option(help: "Checkpoint directory or Hugging Face model id (in process).")
    var model: String?

    @Option(help: "A vLLM server's URL (http://host:8000 or …/v1) to ask instead of a model in process.")
    var endpoint: String?

    @OptionGroup var server: ServerOptions
    var modelName: String? { server.modelName }
    var apiKey: String? { server.apiKey }

    @Option(help: "With --endpoint: longest side of a frame as sent (larger frames are scaled down; 0 keeps them).")
    var maxSide: Int = 768

    @OptionGroup var sampling: FrameSamplingOptions
    var maxFrames: Int { sampling.maxFrames }
    var fps: Double { sampling.fps }
    var frameRate: Double { sampling.frameRate }

    @Option(help: "Most tiles per image besides the global view (default: the checkpoint's max_crops, 8).")
    var maxCrops: Int?


    @Option(help: "Most tokens to generate (default: 512, or with --task the task's budget of the Molmo2 evaluation).")
    var maxTokens: Int?

    @Option(help: "Weight format (int8: decoder weights int8, lossy; see docs/runtime.md).")
    var format: WeightFormat = .float32

    @Flag(help: "With bfloat16: AVX512_BF16 dot products for the ViT and the prefill (faster, bf16 rounding).")
    var bf16Dot = false

    @Option(help: "Kernel threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Print one JSON object (answer, objects, timings) instead of text.")
    var json = false

    @Option(help: "Write input ids, generated ids and the top-20 logits of every step to this JSON file.")
    var trace: String?

    func validate() throws {
        guard inputs.count >= 2 else {
            throw ValidationError("Give the media (video, images or a folder of frames) and then the question.")
        }
        guard maxFrames >= 1 else { throw ValidationError("--max-frames must be at least 1.") }
        guard fps.isFinite, fps > 0 else { throw ValidationError("--fps must be positive.") }
        guard frameRate.isFinite, frameRate > 0 else { throw ValidationError("--frame-rate must be positive.") }
        if let k = maxCrops, !(1...Molmo2ImagePreprocessor.maximumCrops).contains(k) {
            throw ValidationError("--max-crops must be between 1 and \(Molmo2ImagePreprocessor.maximumCrops).")
        }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1.") }
        switch (model, endpoint) {
        case (nil, nil): throw ValidationError("Give --model DIR (in process) or --endpoint URL (a vLLM server).")
        case (.some, .some): throw ValidationError("Give --model or --endpoint, not both.")
        default: break
        }
        if endpoint == nil && (modelName != nil || apiKey != nil) {
            throw ValidationError("--model-name and --api-key go with --endpoint.")
        }
        guard maxSide >= 0 else { throw ValidationError("--max-side must be 0 or more.") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1.") }
        if constrain && task == nil {
            throw ValidationError(
                "--constrain needs --task point, count or track (the last argument is then the label, "
                    + "e.g. --task point \"the disc\").")
        }
        if task == .track && (fps.rounded() != fps || fps < 1) {
            throw ValidationError("--task track needs a whole-number --fps (the prompt says \"Track … in N FPS.\").")
        }
    }

    /// The prompt and, with --constrain, the answer's shape, for the media as it is sampled.
    func prompt(for media: AskMedia) throws -> (question: String, constraint: AnswerConstraint?) {
        let text = inputs[inputs.count - 1]
        guard let task else { return (text, nil) }
        let groundingTask: GroundingTask
        switch task {
        case .point: groundingTask = .point(label: text)
        case .count: groundingTask = .count(label: text)
        case .track: groundingTask = .track(label: text, fps: Int(fps))
        }
        let context: GroundingPrompt.Context
        if let sampling = media.sampling, media.isVideo {
            context = .video(sampling: sampling, width: media.descriptor.width, height: media.descriptor.height)
        } else {
            context = .images(count: max(1, media.descriptor.images.count))
        }
        let question = try GroundingPrompt.text(for: groundingTask, context: context)
        guard constrain else { return (question, nil) }
        return (question, ConstrainedOutput.fitting(groundingTask, context: context))
    }

    func run() throws {
        if let endpoint { return try runRemote(endpoint: endpoint) }
        guard let model else { throw ValidationError("Give --model DIR or --endpoint URL.") }
        if let t = threads { KernelThreads.set(t) }
        let paths = Array(inputs.dropLast())
        let status = StatusLine()
        let cancel = CancellationFlag()
        let interrupts = InterruptHandler(flag: cancel, status: status)
        defer { interrupts.stop() }

        let media: AskMedia
        do {
            media = try AskMedia.open(paths: paths, frameRate: frameRate, maxFPS: fps, maxFrames: maxFrames)
        } catch {
            status.fail("\(error)")
            throw ExitCode(1)
        }
        if let note = media.note { status.note(note) }
        let question: String
        let constraint: AnswerConstraint?
        do {
            (question, constraint) = try prompt(for: media)
        } catch {
            status.fail("\(error)")
            throw ExitCode(1)
        }
        if task != nil { status.note("question: \(question)" + (constraint != nil ? " (answer constrained)" : "")) }

        let loadStarted = Date()
        status.show("loading \(model)…")
        let molmo: MolmoModel
        do {
            molmo = try MolmoModel.load(model, format: format)
        } catch {
            status.fail("\(error)")
            throw ExitCode(1)
        }
        molmo.useBF16DotProducts = bf16Dot
        if bf16Dot, let reason = molmo.bf16DotProductsIneffective { status.note("--bf16-dot has no effect: \(reason)") }
        let loadSeconds = Date().timeIntervalSince(loadStarted)
        status.note(String(
            format: "loaded %@ in %.1f s (%@, %.2f GiB of weights)", molmo.directory.path, loadSeconds, format.rawValue,
            Double(molmo.language.weightBytes + molmo.vision.weightBytes) / Double(1 << 30)))

        var options = AnswerOptions(
            maxNewTokens: maxTokens ?? 512, maxCrops: maxCrops, cancellation: cancel, topLogits: trace == nil ? 0 : 20,
            constraint: constraint)
        let frameWord = media.isVideo ? "frames decoded" : "images decoded"
        options.onProgress = { progress in
            switch progress {
            case let .framesPrepared(done, total): status.show("\(frameWord) \(done)/\(total)")
            case let .visionCrops(done, total): status.show("ViT crops \(done)/\(total)")
            case let .prefill(tokens): status.show("prefill \(tokens) tokens…")
            case let .decoding(tokens, rate):
                status.show(rate > 0 ? String(format: "decoding: %d tokens, %.2f tok/s", tokens, rate)
                            : "decoding: \(tokens) tokens")
            }
        }
        let started = Date()
        let answer: MolmoAnswer
        do {
            answer = try molmo.answer(media: media.molmoMedia, question: question, options: options) { piece in
                if !json { status.printAnswer(piece) }
                return true
            }
        } catch MolmoModelError.cancelled {
            status.fail("cancelled")
            throw ExitCode(130)
        } catch {
            status.fail("\(error)")
            throw ExitCode(1)
        }
        let total = Date().timeIntervalSince(started)
        let t = answer.timings
        status.clear()
        if !json { status.printAnswer("\n") }
        status.note(String(
            format: "%d crops in %.2f s (%.2f s/crop), prefill %d tokens in %.2f s (%.1f tok/s), "
                + "%d tokens decoded at %.2f tok/s, total %.2f s, peak RSS %.2f GiB",
            t.crops, t.vision, t.crops > 0 ? t.vision / Double(t.crops) : 0, t.promptTokens, t.prefill,
            t.prefillTokensPerSecond, t.generatedTokens, t.decodeTokensPerSecond, total,
            Double(peakResidentBytes()) / Double(1 << 30)))

        if let trace {
            do {
                try writeTrace(answer, to: trace)
            } catch {
                status.fail("\(trace): cannot write the trace: \(error)")
                throw ExitCode(1)
            }
        }
        let parsed = Molmo2Answer.parse(answer.text)
        let (objects, unplaced) = parsed.objects(media: media.descriptor, sampling: media.sampling)
        if json {
            printJSON(answer: answer, question: question, objects: objects, unplaced: unplaced, media: media,
                      loadSeconds: loadSeconds, totalSeconds: total)
        } else {
            printObjects(objects, unplaced: unplaced, media: media)
        }
        if answer.stopReason == .cancelled {
            status.note("cancelled after \(answer.generatedIds.count) tokens")
            throw ExitCode(130)
        }
    }

    private func printObjects(_ objects: [PredictedObject], unplaced: Int, media: AskMedia) {
        for object in objects {
            let points = object.points.map { p -> String in
                let place = media.isVideo
                    ? String(format: "frame %d (%.2f s)", p.frame, media.time(ofFrame: p.frame))
                    : "image \(p.frame + 1)"
                return "\(place) x=\(String(format: "%.1f", p.x)) y=\(String(format: "%.1f", p.y))"
            }
            print("\(object.label) #\(object.answerID): " + points.joined(separator: "; "))
        }
        if unplaced > 0 { print("(\(unplaced) points could not be placed on a frame)") }
    }

    private func printJSON(answer: MolmoAnswer, question: String, objects: [PredictedObject], unplaced: Int,
                           media: AskMedia, loadSeconds: Double, totalSeconds: Double) {
        let t = answer.timings
        let root: [String: Any] = [
            "question": question,
            "constrained": constrain,
            "answer": answer.text,
            "stop_reason": Self.describe(answer.stopReason),
            "media": media.summary,
            "objects": objects.map { o in
                [
                    "label": o.label, "id": o.answerID,
                    "points": o.points.map { p -> [String: Any] in
                        var point: [String: Any] = ["frame": p.frame, "x": p.x, "y": p.y]
                        if media.isVideo { point["time"] = media.time(ofFrame: p.frame) }
                        return point
                    },
                ] as [String: Any]
            },
            "unplaced_points": unplaced,
            "prompt_tokens": t.promptTokens,
            "generated_tokens": t.generatedTokens,
            "timings": [
                "load_s": loadSeconds, "preprocess_s": t.preprocessing, "vision_s": t.vision, "crops": t.crops,
                "prefill_s": t.prefill, "prefill_tokens_per_s": t.prefillTokensPerSecond, "decode_s": t.decode,
                "decode_tokens_per_s": t.decodeTokensPerSecond, "total_s": totalSeconds,
            ],
            "peak_rss_bytes": peakResidentBytes(),
        ]
        if let data = try? JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
    }

    private func writeTrace(_ answer: MolmoAnswer, to path: String) throws {
        let root: [String: Any] = [
            "input_ids": answer.inputIds,
            "generated_ids": answer.generatedIds,
            "steps": answer.topLogits.map { ["ids": $0.ids, "logits": $0.values.map(Double.init)] },
        ]
        let data = try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys])
        try AtomicFileWriter.write([UInt8](data), to: path)
    }

    static func describe(_ reason: StopReason) -> String {
        switch reason {
        case .endOfSequence: return "end_of_sequence"
        case .maxTokens: return "max_tokens"
        case .cancelled: return "cancelled"
        case .stoppedByCaller: return "stopped"
        case .noAllowedToken: return "no_allowed_token"
        }
    }
}

/// What `--task` asks about the label.
enum AskTask: String, ExpressibleByArgument, CaseIterable {
    case point
    case count
    case track
}

// MARK: - Media

/// What `spotter ask` shows the model, with the tables that map answers back to source frames and pixels.
struct AskMedia {
    var molmoMedia: MolmoMedia
    var descriptor: MediaDescriptor
    var sampling: FrameSampling?
    var isVideo: Bool
    /// A line for stderr (e.g. how a long video was sampled).
    var note: String?
    var summary: [String: Any]

    func time(ofFrame frame: Int) -> Double { descriptor.time(ofFrame: frame) }

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "webp", "tif", "tiff", "ppm", "pgm"]

    static func open(paths: [String], frameRate: Double, maxFPS: Double, maxFrames: Int) throws -> AskMedia {
        var isDir: ObjCBool = false
        if paths.count == 1, FileManager.default.fileExists(atPath: paths[0], isDirectory: &isDir), isDir.boolValue {
            return try folder(paths[0], frameRate: frameRate, maxFPS: maxFPS, maxFrames: maxFrames)
        }
        if paths.count == 1 {
            let source = try VideoSource(path: paths[0])
            if !source.info.isStillImage && source.frameCount > 1 {
                return try video(source, maxFPS: maxFPS, maxFrames: maxFrames)
            }
        }
        return try images(paths)
    }

    /// Still images, each decoded at its full size.
    static func images(_ paths: [String]) throws -> AskMedia {
        var frames: [RGBFrame] = []
        var descriptors: [ImageDescriptor] = []
        for path in paths {
            let source = try VideoSource(path: path)
            guard source.info.isStillImage || source.frameCount == 1 else {
                throw AskError.mixedMedia(path: path)
            }
            let frame = try source.frame(at: 0)
            frames.append(RGBFrame(pixels: frame.pixels, width: frame.width, height: frame.height))
            descriptors.append(
                ImageDescriptor(path: path, width: frame.width, height: frame.height, byteSize: 0, headSHA256: ""))
        }
        let descriptor = MediaDescriptor.imageSet(images: descriptors, path: paths.count == 1 ? paths[0] : ".")
        return AskMedia(
            molmoMedia: .images(frames), descriptor: descriptor, sampling: nil, isVideo: false, note: nil,
            summary: ["kind": "images", "images": descriptors.map { ["path": $0.path, "width": $0.width, "height": $0.height] }])
    }

    /// A video file, sampled per molmo2-spec §6.5; frames are decoded one at a time while the model prepares them.
    static func video(_ source: VideoSource, maxFPS: Double, maxFrames: Int) throws -> AskMedia {
        let info = source.info
        let duration = MolmoFrameSampler.videoEnd(
            reportedDuration: info.duration, frameTimestamps: source.frameTimestamps, fps: info.fps.doubleValue)
        let sampled = MolmoFrameSampler.sample(
            frameTimestamps: source.frameTimestamps, duration: duration, maxFPS: maxFPS, maxFrames: maxFrames)
        var note: String?
        if Double(maxFrames - 1) / maxFPS < duration {
            note = String(
                format: "%@: %.1f s is longer than %d frames at %g fps cover; showing %d frames spread uniformly "
                    + "(one every %.2f s)", source.path, duration, maxFrames, maxFPS, sampled.frameIndices.count,
                duration / Double(max(1, sampled.frameIndices.count - 1)))
        }
        let sampling = FrameSampling(
            mode: "uniform_last_frame", maxFrames: maxFrames, maxFPS: maxFPS, times: sampled.timestamps,
            frames: sampled.frameIndices)
        let descriptor = MediaDescriptor(
            kind: .video, path: source.path, byteSize: 0, headSHA256: "", duration: duration,
            frameCount: source.frameCount, width: info.width, height: info.height, fps: info.fps.doubleValue,
            frameTimestamps: source.frameTimestamps, sampling: sampling)
        let indices = sampled.frameIndices
        let times = sampled.timestamps
        var cached: (index: Int, frame: Frame)?
        let media = MolmoMedia.videoFrames(count: indices.count) { i in
            let frame: Frame
            if let c = cached, c.index == indices[i] {
                frame = c.frame
            } else {
                frame = try source.frame(at: indices[i])
                cached = (indices[i], frame)
            }
            return RGBFrame(pixels: frame.pixels, width: frame.width, height: frame.height, timestamp: times[i])
        }
        return AskMedia(
            molmoMedia: media, descriptor: descriptor, sampling: sampling, isVideo: true, note: note,
            summary: [
                "kind": "video", "path": source.path, "width": info.width, "height": info.height,
                "duration": info.duration, "frames": source.frameCount, "sampled_frames": indices,
                "sampled_times": times,
            ])
    }

    /// A folder of frames at `frameRate`: every frame when the folder fits the budget, else sampled like a video.
    static func folder(_ path: String, frameRate: Double, maxFPS: Double, maxFrames: Int) throws -> AskMedia {
        let names = try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted { $0.compare($1, options: [.numeric]) == .orderedAscending }
        guard !names.isEmpty else { throw AskError.emptyFolder(path: path) }
        let files = names.map { (path as NSString).appendingPathComponent($0) }
        let timestamps = (0..<files.count).map { Double($0) / frameRate }
        let duration = Double(files.count) / frameRate
        let sampled: SampledFrames
        var note: String?
        if files.count <= maxFrames && frameRate <= maxFPS {
            sampled = SampledFrames(frameIndices: Array(0..<files.count), timestamps: timestamps)
        } else {
            sampled = MolmoFrameSampler.sample(
                frameTimestamps: timestamps, duration: duration, maxFPS: maxFPS, maxFrames: maxFrames)
            note = String(
                format: "%@: %d frames at %g fps exceed the budget (%d frames, %g fps); showing %d of them",
                path, files.count, frameRate, maxFrames, maxFPS, sampled.frameIndices.count)
        }
        // The first frame's size stands for the folder (answers are mapped with it).
        let first = try VideoSource(path: files[sampled.frameIndices.first ?? 0]).frame(at: 0)
        let sampling = FrameSampling(
            mode: "frame_folder", maxFrames: maxFrames, maxFPS: maxFPS, times: sampled.timestamps,
            frames: sampled.frameIndices)
        let descriptor = MediaDescriptor(
            kind: .video, path: path, byteSize: 0, headSHA256: "", duration: duration, frameCount: files.count,
            width: first.width, height: first.height, fps: frameRate, frameTimestamps: timestamps, sampling: sampling)
        let indices = sampled.frameIndices
        let times = sampled.timestamps
        let media = MolmoMedia.videoFrames(count: indices.count) { i in
            let frame = try VideoSource(path: files[indices[i]]).frame(at: 0)
            return RGBFrame(pixels: frame.pixels, width: frame.width, height: frame.height, timestamp: times[i])
        }
        return AskMedia(
            molmoMedia: media, descriptor: descriptor, sampling: sampling, isVideo: true, note: note,
            summary: [
                "kind": "frames", "path": path, "frame_rate": frameRate, "frames": files.count,
                "sampled_frames": indices, "sampled_times": times, "width": first.width, "height": first.height,
            ])
    }
}

/// Problems with the media given to `spotter ask`.
enum AskError: Error, CustomStringConvertible {
    case mixedMedia(path: String)
    case emptyFolder(path: String)

    var description: String {
        switch self {
        case let .mixedMedia(p): return "\(p): a video cannot be combined with other media (give images only)"
        case let .emptyFolder(p): return "\(p): no image files (png, jpg, …) in this folder"
        }
    }
}

// MARK: - Terminal output

/// The stderr status line (rewritten in place on a terminal; one line per stage otherwise) and the streamed answer
/// on stdout. While the answer streams to the same terminal, the status line stays hidden.
final class StatusLine: @unchecked Sendable {
    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let answerOnTerminal = isatty(STDOUT_FILENO) == 1
    private var shown = false
    private var answerStarted = false
    private var lastStage = ""
    private var pendingStageLine: String?

    func show(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        if isTerminal {
            if answerStarted && answerOnTerminal { return }
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
            shown = true
        } else {
            // One line per stage, with its last count: the stage is the text before the first number.
            let stage = String(text.prefix { !$0.isNumber })
            if stage != lastStage { flushStageLocked() }
            lastStage = stage
            pendingStageLine = text
        }
    }

    private func flushStageLocked() {
        if let line = pendingStageLine { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        pendingStageLine = nil
    }

    func clear() {
        lock.lock()
        defer { lock.unlock() }
        clearLocked()
    }

    private func clearLocked() {
        flushStageLocked()
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        shown = false
    }

    func note(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        clearLocked()
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    func fail(_ text: String) { note("spotter: \(DisplaySafe.escape(text))") }

    func printAnswer(_ piece: String) {
        lock.lock()
        defer { lock.unlock() }
        if answerOnTerminal { clearLocked() }
        answerStarted = true
        FileHandle.standardOutput.write(Data(piece.utf8))
    }
}

/// Write end of the pipe through which the SIGINT handler reports (a handler may only make async-signal-safe calls).
nonisolated(unsafe) private var interruptPipeWriteEnd: Int32 = -1

/// Ctrl-C sets the cancellation flag (the answer stops after the current step); a second Ctrl-C exits at once.
/// The signal handler only writes a byte to a pipe; a thread reading the pipe does the rest.
final class InterruptHandler: @unchecked Sendable {
    private var pipeEnds: [Int32] = [-1, -1]

    init(flag: CancellationFlag, status: StatusLine) {
        guard pipe(&pipeEnds) == 0 else { return }
        interruptPipeWriteEnd = pipeEnds[1]
        let readEnd = pipeEnds[0]
        Thread.detachNewThread {
            var byte: UInt8 = 0
            var interrupts = 0
            while read(readEnd, &byte, 1) == 1 && byte == 1 {
                interrupts += 1
                if interrupts == 1 {
                    flag.cancel()
                    status.note("stopping after the current step (Ctrl-C again to quit now)")
                } else {
                    status.note("interrupted")
                    exit(130)
                }
            }
            close(readEnd)
        }
        signal(SIGINT) { _ in
            var byte: UInt8 = 1
            _ = write(interruptPipeWriteEnd, &byte, 1)
        }
    }

    func stop() {
        signal(SIGINT, SIG_DFL)
        guard pipeEnds[1] >= 0 else { return }
        var byte: UInt8 = 0
        _ = write(pipeEnds[1], &byte, 1)
    }
}
