import Annotations
import Foundation
import Media
import MolmoRuntime
import Testing

@testable import Assist

/// The in-process backend on the tiny random Molmo2 fixture: it must give exactly what the runtime gives when
/// called directly with the same frames, stream the same text, and stop when the caller's task is cancelled.
struct InProcessModelTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let modelPath = root.appendingPathComponent("Tests/MolmoRuntimeTests/Fixtures/qwen3-vision-tiny").path

    func request(maxNewTokens: Int) throws -> GroundingRequest {
        let video = try VideoSource(path: Self.root.appendingPathComponent("Samples/shapes.mp4").path)
        return try GroundingRequest.make(
            question: "Track the disc.", scope: .wholeVideo(maxFPS: 2, maxFrames: 4), source: .video(video),
            maxNewTokens: maxNewTokens, maxTransmittedSide: nil)
    }

    final class Collected: @unchecked Sendable {
        let lock = NSLock()
        var text = ""
        var stages: [GroundingStage] = []
        var task: Task<GroundingAnswer, Error>?
    }

    @Test func answersLikeTheRuntimeAndStreams() async throws {
        let backend = try InProcessGroundingModel.load(Self.modelPath, format: .float32)
        let request = try request(maxNewTokens: 10)
        let collected = Collected()
        let answer = try await backend.answer(
            request,
            progress: { p in collected.lock.lock(); collected.stages.append(p.stage); collected.lock.unlock() },
            onToken: { piece in collected.lock.lock(); collected.text += piece; collected.lock.unlock() })

        guard case .video(let frames, _, _, _) = request.media else {
            Issue.record("a whole-video scope must give video media")
            return
        }
        #expect(frames.map(\.frameIndex) == [0, 70, 140, 209])
        let direct = try MolmoModel.load(Self.modelPath, format: .float32).answer(
            media: .video(frames.map { RGBFrame(pixels: $0.image.pixels, width: $0.image.width, height: $0.image.height, timestamp: $0.time) }),
            question: "Track the disc.", options: AnswerOptions(maxNewTokens: 10))
        #expect(answer.text == direct.text)
        #expect(answer.completionTokens == direct.generatedIds.count)
        #expect(answer.promptTokens == direct.inputIds.count)
        #expect(collected.text == answer.text)
        #expect(collected.stages.contains(.encodingFrames) && collected.stages.contains(.generating))
        #expect(answer.finishReason == (direct.stopReason == .maxTokens ? "length" : "stop"))
    }

    /// A constrained request on the tiny model (whose free answers are noise) still gives one complete element with
    /// at least one point on the video's sampled times, within the small budgets an interactive test can afford.
    @Test(arguments: [
        (GroundingTask.point(label: "disc"), 48), (.track(label: "disc", fps: 2), 64), (.count(label: "discs"), 40),
    ])
    func constrainedAnswerIsOneElementWithinASmallBudget(task: GroundingTask, budget: Int) async throws {
        let backend = try InProcessGroundingModel.load(Self.modelPath, format: .float32)
        let video = try VideoSource(path: Self.root.appendingPathComponent("Samples/shapes.mp4").path)
        let request = try GroundingRequest.make(
            task: task, scope: .wholeVideo(maxFPS: 2, maxFrames: 4), source: .video(video), maxNewTokens: budget,
            maxTransmittedSide: nil, constrainOutput: true)
        let constraint = try #require(request.constrainedOutput)
        let answer = try await backend.answer(request)
        #expect(answer.finishReason == "stop", "\(answer.text)")
        #expect((answer.completionTokens ?? .max) <= budget)
        let parsed = Molmo2Answer.parse(answer.text)
        #expect(parsed.form == .element, "\(answer.text)")
        #expect(parsed.elements.count == 1)
        let element = try #require(parsed.elements.first)
        #expect(element.isComplete && element.label == constraint.label)
        #expect(element.kind.rawValue == constraint.element.rawValue)
        #expect(element.pointCount >= 1)
        let allowed = Set(constraint.keys)
        for group in element.groups {
            guard case .time(let t) = group.key else {
                Issue.record("a video answer keyed by \(group.key)")
                continue
            }
            #expect(allowed.contains(String(format: "%.1f", t)), "key \(t) is not a sampled time")
        }
        #expect(Predictions(answer: answer, request: request).objects.allSatisfy { !$0.points.isEmpty })
        #expect(!Predictions(answer: answer, request: request).objects.isEmpty)
    }

    @Test func cancellingTheCallerStopsTheAnswer() async throws {
        let backend = try InProcessGroundingModel.load(Self.modelPath, format: .float32)
        let request = try request(maxNewTokens: 400)
        let collected = Collected()
        // The first token cancels the very task that is answering: deterministic, whatever the machine's load.
        let task = Task {
            try await backend.answer(request, progress: { _ in }, onToken: { _ in
                collected.lock.lock()
                let task = collected.task
                collected.lock.unlock()
                task?.cancel()
            })
        }
        collected.lock.withLock { collected.task = task }
        do {
            let answer = try await task.value
            // The tiny model may end before its first token reaches the callback only by emitting EOS at once.
            #expect(answer.completionTokens ?? 0 <= 1, "a cancelled answer ran on: \(answer.completionTokens ?? -1) tokens")
        } catch let error as AssistError {
            guard case .cancelled = error else {
                Issue.record("unexpected \(error)")
                return
            }
        }
    }
}
