import Annotations
import Assist
import Foundation
import Media
import Testing
import TerminalGraphics
import Tracking

@testable import SpotterUI

/// A stand-in backend for the viewer's side of the loop: it answers from the request it is given (the frames
/// and times it was shown), streams its answer in pieces, and can hold until cancelled. The model's own numerics
/// are tested in MolmoRuntimeTests and AssistTests; here the viewer's handling of answers is.
private struct ScriptedModel: GroundingModel {
    var displayName = "scripted model"
    var respond: @Sendable (GroundingRequest) -> String
    var holdUntilCancelled = false
    /// Stream this many characters of the answer, then hold until cancelled.
    var holdAfter: Int?

    func answer(
        _ request: GroundingRequest, progress: @escaping @Sendable (GroundingProgress) -> Void,
        onToken: @escaping @Sendable (String) -> Void
    ) async throws -> GroundingAnswer {
        progress(GroundingProgress(stage: .generating, detail: "1 tokens"))
        if holdUntilCancelled {
            while !Task.isCancelled { try? await Task.sleep(nanoseconds: 2_000_000) }
            throw AssistError.cancelled(endpoint: displayName)
        }
        let text = respond(request)
        if let holdAfter {
            onToken(String(text.prefix(holdAfter)))
            while !Task.isCancelled { try? await Task.sleep(nanoseconds: 2_000_000) }
            throw AssistError.cancelled(endpoint: displayName)
        }
        var rest = Substring(text)
        while !rest.isEmpty {
            onToken(String(rest.prefix(7)))
            rest = rest.dropFirst(7)
        }
        return GroundingAnswer(text: text, model: displayName, finishReason: "stop")
    }
}

private let frameCount = 60
private let times = (0..<frameCount).map { Double($0) / 30 }

/// A viewer on a 2 s, 160x120, 30 fps video with an in-memory project and `model` as its backend.
private struct Rig {
    var state: AppState
    let store: ProjectStore
    let session: AnnotationSession
    let jobs: JobCenter

    init(model: (any GroundingModel)?) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let media = try MediaDescriptor.video(
            path: root.appendingPathComponent("Samples/shapes.mp4").path, duration: 2.0, frameCount: frameCount, width: 160, height: 120, fps: 30,
            frameTimestamps: times)
        store = try ProjectStore.inMemory(media: media)
        session = AnnotationSession(store: store)
        let source = FrameSource(
            name: "scripted.mp4", frameTimestamps: times, duration: 2.0, frameSize: { _ in (160, 120) },
            decode: { index, width, height in
                Frame(index: index, timestamp: times[index], width: width, height: height,
                      pixels: [UInt8](repeating: UInt8(index % 256), count: width * height * 3))
            })
        jobs = JobCenter(
            frames: { _ in GrayImage(width: 160, height: 120, pixels: [Float](repeating: 0, count: 160 * 120)) },
            assistant: model.map { m in Assistant(model: m, frames: { source }) })
        state = AppState(
            media: MediaFacts(name: "scripted.mp4", width: 160, height: 120, timestamps: times, fps: 30), columns: 100,
            rows: 30, graphics: ViewerGraphics(renderer: .halfBlock(.truecolor)))
        state.assist.backend = model?.displayName
        Dispatcher.load(state: &state, annotations: session)
    }

    mutating func key(_ key: Key) {
        Dispatcher.dispatch(.input(.key(key)), state: &state, annotations: session, jobs: jobs)
    }

    mutating func type(_ text: String) {
        for c in text { key(.character(c)) }
    }

    /// Reduces the job's reports as they arrive until it ends, suspended without holding a thread of the
    /// cooperative pool (the job's own task needs one).
    mutating func waitForJob() async {
        await Dispatcher.settle(state: &state, annotations: session, jobs: jobs)
    }

    /// `/`, the text, Enter, and the answer.
    mutating func ask(_ text: String) async {
        key(.character("/"))
        type(text)
        key(.enter)
        await waitForJob()
    }
}

/// Two points per shown time: (250, 500) and (750, 250) on the 0–1000 scale, as a `<points>` answer.
private func twoPointsPerTime(_ request: GroundingRequest) -> String {
    guard let sampling = request.sampling else { return "There are none." }
    var id = 0
    let groups = sampling.times.map { t -> String in
        id += 2
        return String(format: "%.1f", t) + " \(id - 1) 250 500 \(id) 750 250"
    }
    return "<points coords=\"\(groups.joined(separator: ";"))\">disc</points>"
}

@Test func askShowsPredictionsOnTheShownFramesAndStreamsTheAnswer() async throws {
    var rig = try Rig(model: ScriptedModel(respond: { twoPointsPerTime($0) }))
    rig.key(.character("/"))
    guard case .prompt(.ask, "") = rig.state.mode else {
        Issue.record("/ did not open the query pane: \(rig.state.mode)")
        return
    }
    rig.type("disc")
    rig.key(.enter)
    #expect(rig.state.jobRunning)
    #expect(rig.state.assist.running?.task == .point(label: "disc"))
    await rig.waitForJob()
    #expect(!rig.state.jobRunning)
    let set = try #require(rig.state.assist.predictions)
    // Whole video at 2 fps: frames 0, 15, 30, 45 and the last one; two points on each.
    #expect(set.shownFrames == [0, 15, 30, 45, 59])
    #expect(set.objects.count == 10)
    #expect(set.objects[0].points == [PredictedPoint(frame: 0, x: 40, y: 60)])
    #expect(set.objects[1].points == [PredictedPoint(frame: 0, x: 120, y: 30)])
    #expect(set.pendingCount == 10)
    #expect(rig.state.assist.answerText == twoPointsPerTime(GroundingRequest(
        question: "", media: .video(frames: [], sampling: set.sampling!, sourceWidth: 160, sourceHeight: 120),
        scope: .defaultWholeVideo, maxNewTokens: 1, mediaName: "")))
    #expect(rig.state.message?.contains("10 predicted objects") == true)
    #expect(rig.state.assist.history == ["disc"])
    // Predictions are not annotations until accepted.
    #expect(rig.store.tracks.isEmpty)
    // Between samples, a frame shows the predictions of the nearest shown frame.
    #expect(set.pendingPoints(near: 7).map(\.key.frame) == [0, 0])
    #expect(set.pendingPoints(near: 8).map(\.key.frame) == [15, 15])
    #expect(set.pendingPoints(near: 8).allSatisfy { !$0.exact })
}

@Test func acceptAllIsOneUndoableEditWithModelProvenanceAndAQueryRecord() async throws {
    var rig = try Rig(model: ScriptedModel(respond: { twoPointsPerTime($0) }))
    await rig.ask("disc")
    rig.key(.character("A"))
    let tracks = rig.store.tracks
    #expect(tracks.count == 10)
    #expect(tracks.allSatisfy { $0.label == "disc" && $0.entries.count == 1 && $0.entries[0].provenance == .model })
    let query = try #require(rig.store.queries.first)
    #expect(rig.store.queries.count == 1)
    #expect(query.label == "disc" && query.task == "video_point" && query.prompt == "Point to disc")
    #expect(query.sampling?.frames == [0, 15, 30, 45, 59])
    #expect(tracks.allSatisfy { $0.info.queryID == query.id })
    #expect(rig.state.assist.predictions?.pendingCount == 0)
    // Undo takes the whole accept back and the predictions are pending again; redo re-applies it.
    rig.key(.character("u"))
    #expect(rig.store.tracks.isEmpty)
    #expect(rig.state.assist.predictions?.pendingCount == 10)
    // No question is left without its answer (an export would read it as "there are none").
    #expect(rig.store.queries.isEmpty)
    rig.key(.control("r"))
    #expect(rig.store.tracks.count == 10)
    #expect(rig.state.assist.predictions?.pendingCount == 0)
    #expect(rig.store.queries == [query])
    #expect(rig.store.tracks.allSatisfy { $0.info.queryID == query.id })
    // Undo, then a new accept: recorded again under the same id.
    rig.key(.character("u"))
    rig.key(.character("a"))
    #expect(rig.store.queries.map(\.id) == [query.id])
    #expect(rig.store.tracks.count == 1 && rig.store.tracks[0].info.queryID == query.id)
}

@Test func perObjectAndPerPointDecisionsJoinOneTrackPerObject() async throws {
    // One track through all shown times, as a `<tracks>` answer.
    var rig = try Rig(model: ScriptedModel(respond: { request in
        let groups = request.sampling!.times.enumerated().map { k, t in String(format: "%.1f", t) + " 1 \(100 + 100 * k) 500" }
        return "<tracks coords=\"\(groups.joined(separator: ";"))\">car</tracks>"
    }))
    rig.key(.character("/"))
    rig.key(.tab)
    rig.key(.tab)  // point → count → track
    #expect(rig.state.assist.template == .track)
    rig.type("car")
    rig.key(.enter)
    await rig.waitForJob()
    let set = try #require(rig.state.assist.predictions)
    #expect(set.objects.count == 1 && set.objects[0].points.count == 5)
    #expect(set.task == "video_track")
    // y accepts only the point of this frame (frame 0) into a new track.
    rig.key(.character("y"))
    #expect(rig.store.tracks.count == 1)
    #expect(rig.store.tracks[0].entries.map(\.frame) == [0])
    // On frame 16 the nearest shown frame is 15: y accepts that point into the same track.
    rig.key(.character(":"))
    rig.type("16")
    rig.key(.enter)
    rig.key(.character("y"))
    #expect(rig.store.tracks.count == 1)
    #expect(rig.store.tracks[0].entries.map(\.frame) == [0, 15])
    // Backspace rejects the point of frame 30 (nearest to 29); a accepts the rest of the object.
    rig.key(.character(":"))
    rig.type("29")
    rig.key(.enter)
    rig.key(.backspace)
    #expect(rig.state.assist.predictions?.rejected == [PredictionKey(object: 0, frame: 30)])
    rig.key(.character("a"))
    #expect(rig.store.tracks[0].entries.map(\.frame) == [0, 15, 45, 59])
    #expect(rig.store.tracks[0].entries.allSatisfy { $0.provenance == .model })
    #expect(rig.state.assist.predictions?.pendingCount == 0)
}

@Test func rejectionsUndoInOrderWithStoreEdits() async throws {
    var rig = try Rig(model: ScriptedModel(respond: { twoPointsPerTime($0) }))
    await rig.ask("disc")
    rig.key(.character("a"))  // accept object 1 (a store edit)
    #expect(rig.store.tracks.count == 1)
    #expect(rig.state.assist.predictions?.highlighted == 1)
    rig.key(.character("z"))  // reject object 2 (no store edit)
    #expect(rig.state.assist.predictions?.pendingCount == 8)
    #expect(rig.store.tracks.count == 1)
    rig.key(.character("Z"))  // reject everything left
    #expect(rig.state.assist.predictions?.pendingCount == 0)
    rig.key(.character("u"))
    #expect(rig.state.assist.predictions?.pendingCount == 8)
    rig.key(.character("u"))
    #expect(rig.state.assist.predictions?.pendingCount == 9)
    #expect(rig.store.tracks.count == 1)
    rig.key(.character("u"))  // now the accept
    #expect(rig.store.tracks.isEmpty)
    #expect(rig.state.assist.predictions?.pendingCount == 10)
    rig.key(.control("r"))
    #expect(rig.store.tracks.count == 1)
    rig.key(.control("r"))
    #expect(rig.state.assist.predictions?.pendingCount == 8)
}

@Test func continuingACorrectedPointMergesTheAnswerAfterItAndKeepsHumanPoints() async throws {
    let prompts = PromptLog()
    var rig = try Rig(model: ScriptedModel(respond: { request in
        prompts.append(request.question)
        // Continue at (300, 400) on every shown time after the first.
        let groups = request.sampling!.times.dropFirst().map { String(format: "%.1f", $0) + " 1 300 400" }
        return "<tracks coords=\"\(groups.joined(separator: ";"))\">dog</tracks>"
    }))
    _ = try rig.store.apply(.createTrack(NewTrack(label: "dog", entries: [
        PointEntry(frame: 10, x: 80, y: 60), PointEntry(frame: 40, x: 90, y: 70),
        PointEntry(frame: 25, x: 1, y: 1, provenance: .tracker),
    ])))
    Dispatcher.load(state: &rig.state, annotations: rig.session)
    rig.key(.tab)
    rig.key(.character(":"))
    rig.type("10")
    rig.key(.enter)
    rig.key(.character("c"))
    #expect(rig.state.jobRunning)
    await rig.waitForJob()
    // The clip starts on frame 10 (time 0.0 there): the prompt carries the point there on the 0–1000 scale.
    #expect(prompts.all == [
        "Track the following point <points coords=\"0.0 1 500 500\">dog</points> given as <points coords=\"t id x y\">label</points>. Provide coordinates at 2 frames per second"
    ])
    let track = try #require(rig.store.tracks.first)
    // Frames 25 (tracker, replaced), 40 (human, kept) and 55 (new) come from the clip's samples 10, 25, 40, 55, 59.
    #expect(track.entry(at: 25)?.provenance == .model)
    #expect(track.entry(at: 25)?.x == 48 && track.entry(at: 25)?.y == 48)
    #expect(track.entry(at: 40)?.provenance == .human && track.entry(at: 40)?.x == 90)
    #expect(track.entry(at: 55)?.provenance == .model)
    #expect(track.entry(at: 10)?.provenance == .human && track.entry(at: 10)?.x == 80)
    #expect(rig.state.assist.predictions == nil)
    #expect(rig.state.message?.contains("continued #1") == true)
    #expect(rig.state.message?.contains("kept as placed by you") == true)
    rig.key(.character("u"))
    #expect(rig.store.tracks.first?.entry(at: 25)?.provenance == .tracker)
    #expect(rig.store.tracks.first?.entry(at: 55) == nil)
}

@Test func withoutAModelThePaneSaysHowToConfigureOne() async throws {
    var rig = try Rig(model: nil)
    rig.key(.character("/"))
    #expect(rig.state.message == AssistState.noModelHint)
    rig.type("disc")
    rig.key(.enter)
    #expect(rig.state.message == AssistState.noModelHint)
    #expect(!rig.state.jobRunning)
    _ = try rig.store.apply(.createTrack(NewTrack(label: "dog", entries: [PointEntry(frame: 0, x: 80, y: 60)])))
    Dispatcher.load(state: &rig.state, annotations: rig.session)
    rig.key(.escape)
    rig.key(.tab)
    rig.key(.character("c"))
    #expect(rig.state.message == AssistState.noModelHint)
    // Manual work is untouched by the missing model.
    rig.key(.character("p"))
    #expect(rig.state.jobRunning)
    await rig.waitForJob()
    #expect(rig.state.message?.contains("propagat") == true)
}

@Test func escapeCancelsAQuestion() async throws {
    var rig = try Rig(model: ScriptedModel(respond: { _ in "" }, holdUntilCancelled: true))
    rig.key(.character("/"))
    rig.type("disc")
    rig.key(.enter)
    #expect(rig.state.jobRunning)
    rig.key(.escape)
    await rig.waitForJob()
    #expect(!rig.state.jobRunning)
    #expect(rig.state.message == "question cancelled")
    #expect(rig.state.assist.predictions == nil)
}

@Test func queryPaneTemplatesScopesAndHistory() async throws {
    var rig = try Rig(model: ScriptedModel(respond: { _ in "There are none." }))
    await rig.ask("penguin")
    #expect(rig.state.message?.contains("found nothing") == true)
    await rig.ask("seal")
    rig.key(.character("/"))
    rig.key(.up)
    #expect(rig.state.mode == .prompt(.ask, "seal"))
    rig.key(.up)
    #expect(rig.state.mode == .prompt(.ask, "penguin"))
    rig.key(.down)
    rig.key(.down)
    #expect(rig.state.mode == .prompt(.ask, ""))
    // Scope: whole video → this frame → range (needs marks).
    rig.key(.control("o"))
    #expect(rig.state.assist.scope == .frame)
    rig.key(.control("o"))
    rig.type("x")
    rig.key(.enter)
    #expect(rig.state.message?.contains("set the range first") == true)
    // The pane stays open to fix the question; Esc closes it.
    #expect(rig.state.mode == .prompt(.ask, "x"))
    rig.key(.escape)
    rig.key(.character("/"))
    rig.key(.control("o"))  // → whole video
    rig.key(.control("o"))  // → this frame
    rig.key(.tab)
    rig.key(.tab)
    rig.type("car")
    rig.key(.enter)
    #expect(rig.state.message?.contains("tracking needs several frames") == true)
    rig.key(.escape)
    // A range from the marks, sampled at the chosen rate and budget.
    rig.key(.character(":"))
    rig.type("20")
    rig.key(.enter)
    rig.key(.character("["))
    rig.key(.character(":"))
    rig.type("40")
    rig.key(.enter)
    rig.key(.character("]"))
    rig.key(.character("/"))
    rig.key(.control("o"))  // this frame → range
    rig.key(.control("f"))  // 2 → 4 fps
    rig.key(.control("n"))  // 16 → 32 frames
    rig.key(.backTab)
    rig.type("car")
    #expect(rig.state.assist.settingsLine.contains("frames 20…40 4 fps ≤32"))
    rig.key(.enter)
    #expect(rig.state.assist.running?.scope == .frames(20...40, maxFPS: 4, maxFrames: 32))
    await rig.waitForJob()
}

/// Prompts a scripted model received (it runs off the test's thread).
private final class PromptLog: @unchecked Sendable {
    private let lock = NSLock()
    private var prompts: [String] = []
    func append(_ p: String) {
        lock.lock()
        prompts.append(p)
        lock.unlock()
    }
    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return prompts
    }
}

@Test func clickingAPredictionHighlightsItInsteadOfPlacingAPoint() async throws {
    var rig = try Rig(model: ScriptedModel(respond: { twoPointsPerTime($0) }))
    await rig.ask("disc")
    #expect(rig.state.assist.predictions?.highlighted == 0)
    // Object 2 is at (120, 30) on frame 0: click its cell.
    let mapping = rig.state.graphics.mapping(for: rig.state.media, in: rig.state.layout.viewer)
    let cell = try #require(mapping.cell(sourceX: 120, sourceY: 30))
    Dispatcher.dispatch(
        .input(.mouse(MouseEvent(kind: .press, column: cell.column, row: cell.row))), state: &rig.state,
        annotations: rig.session, jobs: rig.jobs)
    #expect(rig.state.assist.predictions?.highlighted == 1)
    #expect(rig.store.tracks.isEmpty)
    #expect(rig.state.message?.hasPrefix("prediction 2/10") == true)
}

@Test func predictionsAreDrawnAsDiamondsOnTheNearestShownFrame() async throws {
    var rig = try Rig(model: ScriptedModel(respond: { twoPointsPerTime($0) }))
    await rig.ask("disc")
    let set = try #require(rig.state.assist.predictions)
    let mapping = ViewportMapping.halfBlock(
        sourceWidth: 160, sourceHeight: 120, originColumn: 0, originRow: 0, areaColumns: 160, areaRows: 60)
    let magenta = RGB(r: 255, g: 0, b: 255)
    func drawn(frame: Int) -> RGBImage {
        var image = RGBImage(width: 160, height: 120)
        PointOverlay.paintPredictions(set, frame: frame, into: &image, mapping: mapping, color: magenta, highlight: .white)
        return image
    }
    func colored(_ image: RGBImage, near x: Int, _ y: Int, radius: Int) -> Set<String> {
        var out = Set<String>()
        for j in (y - radius)...(y + radius) {
            for i in (x - radius)...(x + radius) {
                if let p = image.pixel(x: i, y: j), p != .black { out.insert("\(p.r),\(p.g),\(p.b)") }
            }
        }
        return out
    }
    // Frame 0: object 1 (highlighted) at (40, 60) in white with a magenta centre, object 2 at (120, 30) in magenta.
    let frame0 = drawn(frame: 0)
    #expect(colored(frame0, near: 40, 60, radius: 4) == ["255,255,255", "255,0,255"])
    #expect(colored(frame0, near: 120, 30, radius: 4) == ["255,0,255"])
    // Nothing far from them, and the centre of the unhighlighted diamond is hollow.
    #expect(colored(frame0, near: 80, 100, radius: 10).isEmpty)
    #expect(frame0.pixel(x: 120, y: 30) == .black)
    // Frame 7 shows frame 0's predictions; once accepted or rejected they are gone.
    #expect(!colored(drawn(frame: 7), near: 120, 30, radius: 4).isEmpty)
    rig.key(.character("Z"))
    let after = try #require(rig.state.assist.predictions)
    var image = RGBImage(width: 160, height: 120)
    PointOverlay.paintPredictions(after, frame: 0, into: &image, mapping: mapping, color: magenta, highlight: .white)
    #expect(colored(image, near: 120, 30, radius: 4).isEmpty)
}

@Test func predictionsAppearWhileTheAnswerStreams() async throws {
    // The answer stops after its second group (and part of the third) until the question is cancelled.
    let full = "<points coords=\"0.0 1 250 500;0.5 2 500 500;1.0 3 750 500\">disc</points>"
    let cut = full.distance(from: full.startIndex, to: full.range(of: ";1.0 3 7")!.upperBound)
    var rig = try Rig(model: ScriptedModel(respond: { _ in full }, holdAfter: cut))
    rig.key(.character("/"))
    rig.type("disc")
    rig.key(.enter)
    // Reduces the job's reports as they arrive, like the run loop, until the first predictions show.
    while rig.state.assist.predictions == nil && rig.state.jobRunning {
        await rig.jobs.channel.actionsAvailable()
        Dispatcher.drain(state: &rig.state, annotations: rig.session, jobs: rig.jobs)
    }
    #expect(rig.state.jobRunning)
    let partial = try #require(rig.state.assist.predictions)
    #expect(partial.objects.map(\.points) == [[PredictedPoint(frame: 0, x: 40, y: 60)], [PredictedPoint(frame: 15, x: 80, y: 60)]])
    #expect(partial.objects.allSatisfy { $0.label == "disc" })
    // No decisions on an answer still coming.
    rig.key(.character("A"))
    #expect(rig.store.tracks.isEmpty)
    #expect(rig.state.message?.contains("still coming") == true)
    rig.key(.escape)
    await rig.waitForJob()
    #expect(rig.state.message == "question cancelled; the 2 objects answered so far stay as predictions")
    rig.key(.character("A"))
    #expect(rig.store.tracks.count == 2)
}
