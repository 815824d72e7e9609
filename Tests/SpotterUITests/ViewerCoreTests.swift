import Basics
import Annotations
import Assist
import Foundation
import Media
import Testing
import TerminalGraphics
import Tracking

@testable import SpotterUI

/// The viewer without a terminal: the sample video decoded for real, an in-memory project, a manual clock, and
/// the rendered `Screen` value inspected directly.
private final class Viewer {
    let core: ViewerCore
    let clock = ManualClock()
    let server: FrameServer
    let store: ProjectStore
    static let columns = 100
    static let rows = 30

    init(model: (any GroundingModel)? = nil, columns: Int = Viewer.columns, rows: Int = Viewer.rows) throws {
        let path = samplePath("shapes.mp4")
        server = try FrameServer(path: path, cacheCapacity: 16)
        let info = server.info
        store = try ProjectStore.inMemory(
            media: MediaDescriptor.video(
                path: path, duration: server.frameTimestamps.last! + 1 / info.fps.doubleValue, frameCount: server.frameTimestamps.count,
                width: info.width, height: info.height, fps: info.fps.doubleValue, frameTimestamps: server.frameTimestamps))
        var state = AppState(
            media: MediaFacts(
                name: "shapes.mp4", width: info.width, height: info.height, timestamps: server.frameTimestamps,
                fps: info.fps.doubleValue),
            columns: columns, rows: rows, graphics: ViewerGraphics(renderer: .halfBlock(.truecolor)))
        state.assist.backend = model?.displayName
        let server = self.server
        let source = FrameSource(
            name: "shapes.mp4", frameTimestamps: server.frameTimestamps, duration: 1, frameSize: { _ in (info.width, info.height) },
            decode: { index, width, height in try server.frame(at: index, width: width, height: height) })
        core = ViewerCore(
            state: state, composer: PictureComposer(server: server), annotations: AnnotationSession(store: store),
            jobs: JobCenter(frames: { try server.grayFrame(at: $0) }, assistant: model.map { m in Assistant(model: m, frames: { source }) }),
            clock: clock)
    }

    deinit { server.stop() }

    func press(_ keys: Key...) { core.handle(keys.map { .key($0) }) }
    func type(_ text: String) { core.handle(text.map { .key(.character($0)) }) }
    func click(column: Int, row: Int) { core.handle([.mouse(MouseEvent(kind: .press, column: column, row: row))]) }

    /// The screen after one turn of the loop.
    var screen: Screen { core.turn().screen }

    /// Turns until `predicate` holds, waiting for the jobs' reports in between (no sleeping, no time limit).
    func turn(until predicate: (Screen) -> Bool) async -> Screen {
        var screen = core.turn().screen
        while !predicate(screen) {
            await core.jobs.channel.actionsAvailable()
            screen = core.turn().screen
        }
        return screen
    }
}

private func samplePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Samples").appendingPathComponent(name).path
}

extension Screen {
    var text: String { grid.lines.joined(separator: "\n") }
    var statusLine: String { grid.text(row: grid.rows - 1) }
    var labelLine: String { grid.text(row: grid.rows - 2) }
}

/// The frame as decoded independently of the viewer, at the size the viewer shows it.
private func decoded(_ frame: Int, layout: Layout) throws -> RGBImage {
    let source = try VideoSource(path: samplePath("shapes.mp4"))
    let mapping = ViewerGraphics(renderer: .halfBlock(.truecolor)).mapping(
        for: MediaFacts(
            name: "", width: source.info.width, height: source.info.height, timestamps: source.frameTimestamps,
            fps: source.info.fps.doubleValue),
        in: layout.viewer)
    let image = try source.frame(at: frame, width: mapping.displayWidth, height: mapping.displayHeight)
    return RGBImage(width: image.width, height: image.height, pixels: image.pixels)
}

@Test func stepsFramesAndShowsThemInTimelineAndPicture() throws {
    let viewer = try Viewer()
    let first = viewer.screen
    #expect(first.labelLine.contains(" frame 0/"))
    #expect(first.picture?.frame == 0)
    viewer.press(.right, .right, .right)
    let screen = viewer.screen
    #expect(screen.labelLine.contains(" frame 3/"))
    #expect(screen.labelLine.contains("0:00.100"))
    // The picture is frame 3 as the decoder gives it at the viewer's size (no points to draw over it).
    let picture = try #require(screen.picture)
    #expect(picture.frame == 3)
    #expect(picture.image == (try decoded(3, layout: viewer.core.state.layout)))
    #expect(picture.image != (try decoded(4, layout: viewer.core.state.layout)))
    #expect(screen.pictureRegion == viewer.core.state.layout.viewer)

    let last = viewer.core.state.media.lastFrame
    viewer.press(.character("G"))
    #expect(viewer.screen.labelLine.contains(" frame \(last)/\(last)"))
    viewer.press(.character(":"))
    viewer.type("2.5s")
    let prompt = viewer.screen
    #expect(prompt.statusLine.hasPrefix(":2.5s"))
    #expect(prompt.cursor?.row == Viewer.rows - 1 && prompt.cursor?.column == 5)
    viewer.press(.enter)
    let jumped = viewer.screen
    #expect(jumped.labelLine.contains(" frame 75/") && jumped.labelLine.contains("0:02.500"))
    #expect(jumped.picture?.frame == 75)
    #expect(jumped.cursor == nil)
    viewer.press(.character("q"))
    #expect(viewer.core.shouldQuit)
}

@Test func clickOnTimelineSeeks() throws {
    let viewer = try Viewer()
    let last = viewer.core.state.media.lastFrame
    let bar = viewer.core.state.layout.timelineBar
    viewer.press(.character("G"))
    viewer.click(column: bar.column, row: bar.row)
    let start = viewer.screen
    #expect(start.labelLine.contains(" frame 0/\(last)"))
    #expect(start.picture?.frame == 0)
    viewer.click(column: bar.column + bar.width - 1, row: bar.row)
    let end = viewer.screen
    #expect(end.labelLine.contains(" frame \(last)/\(last)"))
    #expect(end.picture?.frame == last)
    // The bar shows where the frame is: the marker sits in the last column.
    #expect(end.grid[bar.column + bar.width - 1, bar.row].character == "┃")
    #expect(end.grid[bar.column, bar.row].character == "━")
}

@Test func helpOverlayOpensAndCloses() throws {
    let viewer = try Viewer(rows: 24)
    _ = viewer.screen
    viewer.press(.character("?"))
    let help = viewer.core.turn()
    #expect(help.repaintAll)
    #expect(help.screen.text.contains("Spotter — keys (1/2)"))
    #expect(help.screen.text.contains("go to a frame"))
    // The help covers the picture: no picture region while it is open.
    #expect(help.screen.pictureRegion == nil && help.screen.picture == nil)
    viewer.press(.character("x"))
    let second = viewer.screen
    #expect(second.text.contains("(2/2)") && second.text.contains("any key closes this help"))
    for line in ["ask the model", "reject it / all", "quit"] {
        #expect(help.screen.text.contains(line) || second.text.contains(line), "\(line) is on no page")
    }
    viewer.press(.character("x"))
    let closed = viewer.core.turn()
    #expect(closed.repaintAll && closed.pictureChanged)
    #expect(!closed.screen.text.contains("Spotter — keys"))
    #expect(closed.screen.picture?.frame == 0)
}

@Test func resizeRelaysOut() throws {
    let viewer = try Viewer()
    _ = viewer.screen
    viewer.core.handle([.resize(columns: 120, rows: 40)])
    let bigger = viewer.core.turn()
    #expect(bigger.repaintAll)
    #expect(bigger.screen.grid.columns == 120 && bigger.screen.grid.rows == 40)
    #expect(bigger.screen.grid.text(row: 38).contains(" frame 0/"))
    #expect(bigger.screen.picture?.image.width == (try decoded(0, layout: Layout(columns: 120, rows: 40)).width))
    viewer.core.handle([.resize(columns: 30, rows: 8)])
    let tiny = viewer.screen
    #expect(tiny.text.contains("too small"))
    #expect(tiny.picture == nil && tiny.pictureRegion == nil)
    viewer.core.handle([.resize(columns: 100, rows: 30)])
    #expect(viewer.screen.labelLine.contains(" frame 0/"))
}

/// Clicking the picture places a point: the store has it, the objects pane lists it and the picture shows it,
/// all in the same turn.
@Test func clickedPointIsInTheStorePaneAndPicture() throws {
    let viewer = try Viewer()
    _ = viewer.screen
    let layout = viewer.core.state.layout
    let column = layout.viewer.width / 3
    let row = layout.viewer.height / 2
    viewer.click(column: column, row: row)
    let screen = viewer.screen
    #expect(viewer.store.tracks.count == 1)
    #expect(screen.text.contains("Objects (1)"))
    #expect(screen.text.contains("  1 1/0/0"))
    let track = try #require(viewer.store.tracks.first)
    let entry = try #require(track.entry(at: 0))
    let picture = try #require(screen.picture)
    let mapping = viewer.core.state.graphics.mapping(for: viewer.core.state.media, in: layout.viewer)
    let p = mapping.imagePoint(sourceX: entry.x, sourceY: entry.y)
    #expect(picture.image.pixel(x: Int(p.x), y: Int(p.y)) == track.rgb)
    #expect(picture.image != (try decoded(0, layout: layout)))
    // Undo takes it out of the store, the pane and the picture.
    viewer.press(.escape, .character("u"))
    let undone = viewer.screen
    #expect(viewer.store.tracks.isEmpty)
    #expect(undone.text.contains("Objects (0)"))
    #expect(undone.picture?.image == (try decoded(0, layout: layout)))
}

/// Playback follows the injected clock: the frame shown is the one due at the clock's time, however long the
/// machine took to get there.
@Test func playbackFollowsTheInjectedClock() throws {
    let viewer = try Viewer()
    _ = viewer.screen
    viewer.press(.character(" "))
    let started = viewer.screen
    #expect(started.picture?.frame == 0)
    #expect(started.statusLine.contains("▶ playing"))
    // Frame 1 is due 1/30 s after the start.
    #expect(viewer.core.waitMilliseconds == 34)
    viewer.clock.advance(by: .milliseconds(500))
    let half = viewer.screen
    #expect(half.picture?.frame == 15)
    #expect(half.picture?.isMoving == true)
    #expect(half.labelLine.contains(" frame 15/"))
    // Nothing moves while the clock stands still.
    #expect(viewer.screen.picture?.frame == 15)
    viewer.clock.advance(by: .seconds(1000))
    let end = viewer.screen
    let last = viewer.core.state.media.lastFrame
    #expect(end.picture?.frame == last)
    #expect(end.statusLine.contains("❚❚ paused"))
    #expect(viewer.core.waitMilliseconds == 250)
}

/// A model that reports one stage, then waits on the test's clock; cancelled, it says so.
private struct WaitingModel: GroundingModel {
    let clock: ManualClock
    var displayName: String { "waiting model" }

    func answer(
        _ request: GroundingRequest, progress: @escaping @Sendable (GroundingProgress) -> Void,
        onToken: @escaping @Sendable (String) -> Void
    ) async throws -> GroundingAnswer {
        progress(GroundingProgress(stage: .generating, detail: "1 tokens"))
        try? await clock.sleep(for: .seconds(60))
        if Task.isCancelled { throw AssistError.cancelled(endpoint: displayName) }
        return GroundingAnswer(text: "There are none.", model: displayName, finishReason: "stop")
    }
}

/// The job's elapsed time on the status line comes from the injected clock.
@Test func jobProgressCountsSecondsOnTheInjectedClock() async throws {
    let clock = ManualClock()
    let viewer = try Viewer(model: WaitingModel(clock: clock))
    _ = viewer.screen
    viewer.clock.advance(by: .seconds(7))
    viewer.press(.character("/"))
    viewer.type("disc")
    viewer.press(.enter)
    let asking = await viewer.turn { $0.statusLine.contains("generating") }
    #expect(asking.statusLine.contains("asking: generating: 1 tokens (0 s; Esc cancels)"))
    viewer.clock.advance(by: .seconds(3))
    #expect(viewer.screen.statusLine.contains("(3 s; Esc cancels)"))
    viewer.press(.escape)
    clock.advance(by: .seconds(60))
    let cancelled = await viewer.turn { _ in !viewer.core.state.jobRunning }
    #expect(cancelled.statusLine.contains("question cancelled"))
}

/// Job reports reach the run loop on one channel: each send makes its descriptor readable (waking the input wait)
/// and a drain hands them over oldest first.
@Test func actionChannelWakesAndDrainsInOrder() throws {
    let channel = ActionChannel()
    func readable() -> Bool {
        var fd = pollfd(fd: channel.wakeDescriptor, events: Int16(POLLIN), revents: 0)
        return poll(&fd, 1, 0) == 1
    }
    #expect(!readable())
    channel.send(.notice("one"))
    channel.send(.propagationProgress(done: 2, total: 5))
    #expect(readable())
    let drained = channel.drain()
    #expect(drained.count == 2)
    if case .notice("one")? = drained.first {} else { Issue.record("first action: \(String(describing: drained.first))") }
    #expect(!readable())
    #expect(channel.drain().isEmpty)
    // A report from another thread wakes a blocked reader.
    Thread.detachNewThread { channel.send(.notice("later")) }
    channel.waitForActions()
    #expect(channel.drain().count == 1)
}
