import Basics
import Annotations
import ArgumentParser
import Assist
import Foundation
import Media
import MolmoRuntime

extension AskCommand {
    /// `ask --endpoint`: the request built as the viewer builds it, sent to a vLLM server, streamed back; the same
    /// output as in process (text, or --json; --trace with the server's log probabilities).
    func runRemote(endpoint: String) throws {
        let status = StatusLine()
        let cancel = CancellationFlag()
        let interrupts = InterruptHandler(flag: cancel, status: status)
        defer { interrupts.stop() }

        let paths = Array(inputs.dropLast())
        let text = inputs[inputs.count - 1]
        let media: QuestionMedia
        var request: GroundingRequest
        do {
            media = try QuestionMedia.open(paths: paths, frameRate: frameRate, maxFPS: fps, maxFrames: maxFrames)
            let side = maxSide > 0 ? maxSide : nil
            let frameWord = media.isVideo ? "frames decoded" : "images decoded"
            let progress: (Int, Int) -> Void = { done, total in status.show("\(frameWord) \(done)/\(total)") }
            if let task {
                request = try GroundingRequest.make(
                    task: groundingTask(task, label: text, fps: fps), scope: media.scope, source: media.source,
                    maxNewTokens: maxTokens, maxTransmittedSide: side, constrainOutput: constrain, progress: progress,
                    isCancelled: { cancel.isCancelled })
            } else {
                request = try GroundingRequest.make(
                    question: text, scope: media.scope, source: media.source, maxNewTokens: maxTokens ?? 512,
                    maxTransmittedSide: side, progress: progress, isCancelled: { cancel.isCancelled })
            }
        } catch {
            status.fail("\(error)")
            throw ExitCode(1)
        }
        if task != nil {
            status.note("question: \(request.question)" + (request.constrainedOutput != nil ? " (answer constrained)" : ""))
        }
        if let sampling = request.sampling {
            status.note(
                "\(media.path): \(sampling.frames.count) frames at "
                    + sampling.times.map { String(format: "%.1f", $0) }.joined(separator: " ") + " s")
        }

        var configuredModel: RemoteGroundingModel
        do {
            configuredModel = try remoteModel(
                endpoint: endpoint, modelName: modelName,
                apiKey: apiKey ?? ProcessInfo.processInfo.environment["SPOTTER_API_KEY"])
        } catch {
            status.fail("\(error)")
            throw ExitCode(1)
        }
        if trace != nil { configuredModel.configuration.topLogprobs = 20 }
        let model = configuredModel
        status.show("asking \(model.displayName)…")
        let asked = request
        let showAnswer = !json
        let started = Date()
        let outcome: Result<GroundingAnswer, Error> = try runBlocking {
            let work = Task {
                try await model.answer(
                    asked, progress: { status.show(progressText($0)) },
                    onToken: { piece in if showAnswer { status.printAnswer(DisplaySafe.visible(piece, keepNewlines: true)) } })
            }
            // Ctrl-C cancels the request (the server stops generating when the connection closes).
            let watcher = Task {
                while !Task.isCancelled && !cancel.isCancelled { try? await Task.sleep(nanoseconds: 50_000_000) }
                if cancel.isCancelled { work.cancel() }
            }
            defer { watcher.cancel() }
            do { return .success(try await work.value) } catch { return .failure(error) }
        }
        let answer: GroundingAnswer
        switch outcome {
        case .success(let value): answer = value
        case .failure(AssistError.cancelled):
            status.fail("cancelled")
            throw ExitCode(130)
        case .failure(let error):
            status.fail("\(error)")
            throw ExitCode(1)
        }
        let total = Date().timeIntervalSince(started)
        status.clear()
        if !json { status.printAnswer("\n") }
        let generated = answer.completionTokens ?? 0
        let rate = (answer.timings.generateSeconds ?? 0) > 0 ? Double(max(0, generated - 1)) / answer.timings.generateSeconds! : 0
        status.note(
            String(
                format: "%@: prompt %@ tokens, %d generated (budget %@%@), first token after %.2f s, %.2f tok/s, total %.2f s",
                answer.model, answer.promptTokens.map(String.init) ?? "?", generated,
                answer.maxTokens.map(String.init) ?? "?", answer.contextTokens.map { " of a \($0)-token context" } ?? "",
                answer.timings.firstTokenSeconds ?? 0, rate, total))
        if answer.hitTokenLimit { status.note("the answer stopped at the token budget (it may be cut off)") }

        if let trace {
            do {
                try writeRemoteTrace(answer, request: request, to: trace)
            } catch {
                status.fail("\(trace): cannot write the trace: \(error)")
                throw ExitCode(1)
            }
        }
        let predictions = Predictions(answer: answer, request: request)
        if json {
            printRemoteJSON(answer: answer, request: request, predictions: predictions, media: media, totalSeconds: total)
        } else {
            printRemoteObjects(predictions, media: media)
            for line in predictions.diagnostics { status.note("note: \(line)") }
        }
    }

    private func printRemoteObjects(_ predictions: Predictions, media: QuestionMedia) {
        for object in predictions.objects {
            let points = object.points.map { p -> String in
                let place = media.isVideo
                    ? String(format: "frame %d (%.2f s)", p.frame, media.time(ofFrame: p.frame)) : "image \(p.frame + 1)"
                return "\(place) x=\(String(format: "%.1f", p.x)) y=\(String(format: "%.1f", p.y))"
            }
            print("\(DisplaySafe.visible(object.label)) #\(object.answerID): " + points.joined(separator: "; "))
        }
        if predictions.unplaced > 0 { print("(\(predictions.unplaced) points could not be placed on a frame)") }
    }

    private func printRemoteJSON(
        answer: GroundingAnswer, request: GroundingRequest, predictions: Predictions, media: QuestionMedia,
        totalSeconds: Double
    ) {
        var mediaSummary: [String: Any] = ["kind": media.kind, "path": media.path]
        if let sampling = request.sampling {
            mediaSummary["sampled_frames"] = sampling.frames
            mediaSummary["sampled_times"] = sampling.times
        }
        var root: [String: Any] = [
            "question": request.question,
            "constrained": request.constrainedOutput != nil,
            "answer": answer.text,
            "stop_reason": answer.finishReason ?? "unknown",
            "model": answer.model,
            "endpoint": endpoint ?? "",
            "media": mediaSummary,
            "objects": predictions.objects.map { o in
                [
                    "label": o.label, "id": o.answerID,
                    "points": o.points.map { p -> [String: Any] in
                        var point: [String: Any] = ["frame": p.frame, "x": p.x, "y": p.y]
                        if media.isVideo { point["time"] = media.time(ofFrame: p.frame) }
                        return point
                    },
                ] as [String: Any]
            },
            "unplaced_points": predictions.unplaced,
            "diagnostics": predictions.diagnostics,
            "timings": answer.timings.dictionary.merging(["wall_s": totalSeconds]) { a, _ in a },
        ]
        if let value = answer.promptTokens { root["prompt_tokens"] = value }
        if let value = answer.completionTokens { root["generated_tokens"] = value }
        if let value = answer.maxTokens { root["max_tokens"] = value }
        if let value = answer.contextTokens { root["context_tokens"] = value }
        if let data = try? JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// The server's view of the answer: each generated token with its log probability and the top alternatives.
    private func writeRemoteTrace(_ answer: GroundingAnswer, request: GroundingRequest, to path: String) throws {
        let root: [String: Any] = [
            "model": answer.model,
            "question": request.question,
            "answer": answer.text,
            "prompt_tokens": answer.promptTokens ?? NSNull(),
            "steps": answer.logprobs.map { step in
                [
                    "token": step.token, "logprob": step.logprob,
                    "top": step.alternatives.map { ["token": $0.token, "logprob": $0.logprob] as [String: Any] },
                ] as [String: Any]
            },
        ]
        let data = try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
