import Annotations
import Foundation
import Testing

@testable import SpotterUI

/// Editing through the same path the TUI takes (reducer → effects → store → refreshed state), against a
/// real project store.
private final class Editor {
    var state: AppState
    let session: AnnotationSession
    let store: ProjectStore

    init(frames: Int = 60, columns: Int = 100, rows: Int = 30) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let media = try MediaDescriptor.video(
            path: root.appendingPathComponent("Samples/shapes.mp4").path, duration: Double(frames) / 30,
            frameCount: frames, width: 640, height: 360, fps: 30, frameTimestamps: (0..<frames).map { Double($0) / 30 })
        store = try ProjectStore.inMemory(media: media)
        session = AnnotationSession(store: store)
        state = AppState(
            media: MediaFacts(name: "shapes.mp4", width: 640, height: 360, timestamps: (0..<frames).map { Double($0) / 30 }, fps: 30),
            columns: columns, rows: rows, graphics: ViewerGraphics(renderer: .halfBlock(.truecolor)))
        Dispatcher.load(state: &state, annotations: session)
    }

    func press(_ keys: Key...) {
        for key in keys { Dispatcher.dispatch(.input(.key(key)), state: &state, annotations: session) }
    }

    func type(_ text: String) {
        for c in text { press(.character(c)) }
    }

    func click(column: Int, row: Int) {
        Dispatcher.dispatch(.input(.mouse(MouseEvent(kind: .press, column: column, row: row))), state: &state, annotations: session)
    }

    var mapping: ViewportMappingBox { ViewportMappingBox(state: state) }

    /// The cell showing source pixel (x, y).
    func cell(x: Double, y: Double) -> (column: Int, row: Int) {
        let m = state.graphics.mapping(for: state.media, in: state.layout.viewer)
        let c = m.cell(sourceX: x, sourceY: y)!
        return (c.column, c.row)
    }
}

struct ViewportMappingBox {
    let state: AppState
}

@Test func clickStartsATrackThenPlacesItsPoints() throws {
    let e = try Editor()
    let here = e.cell(x: 320, y: 180)
    e.click(column: here.column, row: here.row)
    #expect(e.store.tracks.count == 1)
    let id = try #require(e.state.annotations.selected)
    let first = try #require(e.store.point(track: id, frame: 0))
    // A cell covers several source pixels: the point lands on the centre of the clicked cell, within half a cell.
    let m = e.state.graphics.mapping(for: e.state.media, in: e.state.layout.viewer)
    let halfCellX = 640.0 / Double(m.displayWidth) / 2 + 1e-9
    let halfCellY = 360.0 / Double(m.displayHeight) + 1e-9
    #expect(abs(first.entry.x - 320) <= halfCellX && abs(first.entry.y - 180) <= halfCellY)
    #expect(first.entry.provenance == .human && first.entry.isKeyframe)

    // Step ten frames and click elsewhere: the selected track gets a point there; frames between are ghosts.
    e.press(.shiftRight)
    let there = e.cell(x: 100, y: 60)
    e.click(column: there.column, row: there.row)
    #expect(e.store.tracks.count == 1)
    #expect(e.store.track(id)?.entries.count == 2)
    e.press(.left, .left, .left, .left, .left)
    let ghost = try #require(e.state.annotations.framePoints.first)
    #expect(ghost.isInterpolated)
    #expect(ghost.entry.x < first.entry.x && ghost.entry.x > 100 - halfCellX)
}

@Test func clickOnAnotherPointSelectsItInsteadOfMoving() throws {
    let e = try Editor()
    let a = e.cell(x: 100, y: 100)
    let b = e.cell(x: 500, y: 300)
    e.click(column: a.column, row: a.row)
    e.press(.escape)
    e.click(column: b.column, row: b.row)
    #expect(e.store.tracks.count == 2)
    let second = e.state.annotations.selected
    e.click(column: a.column, row: a.row)
    #expect(e.state.annotations.selected != second)
    #expect(e.store.tracks.count == 2)
    #expect(e.store.tracks.allSatisfy { $0.entries.count == 1 })
}

@Test func nudgeVisibilityKeyframeDeleteAndUndoRedo() throws {
    let e = try Editor()
    let p = e.cell(x: 200, y: 150)
    e.click(column: p.column, row: p.row)
    let id = try #require(e.state.annotations.selected)
    let start = try #require(e.store.point(track: id, frame: 0)).entry

    e.press(.character("m"))
    #expect(e.state.mode == .move)
    e.press(.right, .right, .shiftDown, .character("h"))
    e.press(.enter)
    #expect(e.state.mode == .normal)
    let moved = try #require(e.store.point(track: id, frame: 0)).entry
    #expect(moved.x == start.x + 1 && moved.y == start.y + 10)

    e.press(.character("v"))
    #expect(e.store.point(track: id, frame: 0)?.entry.visibility == .occluded)
    #expect(!e.state.shouldQuit)
    e.press(.character("v"))
    #expect(e.store.point(track: id, frame: 0)?.entry.visibility == .visible)
    e.press(.character("o"))
    #expect(e.store.point(track: id, frame: 0)?.entry.visibility == .outside)
    e.press(.character("o"))

    e.press(.character("k"))
    #expect(e.store.point(track: id, frame: 0)?.entry.isKeyframe == false)
    e.press(.character("k"))
    #expect(e.store.point(track: id, frame: 0)?.entry.isKeyframe == true)

    // Undo walks back through every committed edit; redo comes forward again.
    e.press(.character("x"))
    #expect(e.store.point(track: id, frame: 0) == nil)
    e.press(.character("u"))
    #expect(e.store.point(track: id, frame: 0)?.entry.x == moved.x)
    e.press(.control("r"))
    #expect(e.store.point(track: id, frame: 0) == nil)
    for _ in 0..<20 { e.press(.character("u")) }
    #expect(e.store.tracks.isEmpty)
    #expect(e.state.annotations.tracks.isEmpty)
    #expect(e.state.annotations.selected == nil)
}

@Test func labelMergeSplitAndKeyframeJumps() throws {
    let e = try Editor()
    let a = e.cell(x: 100, y: 100)
    e.click(column: a.column, row: a.row)
    let first = try #require(e.state.annotations.selected)
    e.press(.character("l"))
    e.press(.control("u"))  // clear the pre-filled label
    e.type("penguin")
    e.press(.enter)
    #expect(e.store.track(first)?.label == "penguin")

    e.press(.shiftRight, .shiftRight)
    let b = e.cell(x: 300, y: 200)
    e.click(column: b.column, row: b.row)
    #expect(e.store.track(first)?.entries.map(\.frame) == [0, 20])

    // Keyframe jumps follow the selected track.
    e.press(.character("g"), .character("r"))
    #expect(e.state.frame == 20)
    e.press(.character("e"))
    #expect(e.state.frame == 0)

    // Split at frame 20: the part from 20 on becomes a new, selected track.
    e.press(.character("G"), .character("e"))
    #expect(e.state.frame == 20)
    e.press(.character("s"))
    #expect(e.store.tracks.count == 2)
    let second = try #require(e.state.annotations.selected)
    #expect(second != first)
    // The first part keeps its interpolated position on the frame before the split as a stored point.
    #expect(e.store.track(first)?.entries.map(\.frame) == [0, 19])
    #expect(e.store.track(second)?.entries.map(\.frame) == [20])

    // Merge it back into the first.
    e.press(.character("M"))
    e.type("\(first.rawValue)")
    e.press(.enter)
    #expect(e.store.tracks.count == 1)
    #expect(e.state.annotations.selected == first)
    #expect(e.store.track(first)?.entries.map(\.frame) == [0, 19, 20])

    e.press(.character("M"))
    e.type("999")
    e.press(.enter)
    #expect(e.state.message?.contains("no track") == true)
}

@Test func newTrackKeyAndTabSelection() throws {
    let e = try Editor()
    e.press(.character("n"))
    e.press(.character("n"))
    #expect(e.store.tracks.count == 2)
    let ids = e.store.trackIDs
    #expect(e.state.annotations.selected == ids[1])
    e.press(.tab)
    #expect(e.state.annotations.selected == ids[0])
    e.press(.backTab)
    #expect(e.state.annotations.selected == ids[1])
    e.press(.escape)
    #expect(e.state.annotations.selected == nil)
    // Without a selection, editing keys explain themselves and q quits.
    e.press(.character("k"))
    #expect(e.state.message?.contains("select a track") == true)
    e.press(.character("q"))
    #expect(e.state.shouldQuit)
}

@Test func lanesAppearPerTrackAndShowKeyframesAndSpans() throws {
    let e = try Editor(frames: 100)
    let before = e.state.layout.viewer.height
    let a = e.cell(x: 100, y: 100)
    e.click(column: a.column, row: a.row)
    #expect(e.state.layout.lanes.height == 1)
    #expect(e.state.layout.viewer.height == before - 1)
    let id = try #require(e.state.annotations.selected)
    e.press(.character(":"))
    e.type("50")
    e.press(.enter)
    let b = e.cell(x: 120, y: 110)
    e.click(column: b.column, row: b.row)
    let track = try #require(e.store.track(id))
    let glyphs = LaneGlyphs.glyphs(for: track, frameCount: 100, width: 100)
    #expect(glyphs[0] == LaneGlyphs.keyframe)
    #expect(glyphs[50] == LaneGlyphs.keyframe)
    #expect(glyphs[25] == LaneGlyphs.interpolated)
    #expect(glyphs[75] == LaneGlyphs.empty)
    // A click on the lane seeks and selects.
    e.press(.escape)
    let laneRow = e.state.layout.lanes.row
    let column = e.state.layout.timelineColumn(forFrame: 50, frameCount: 100)
    Dispatcher.dispatch(.input(.mouse(MouseEvent(kind: .press, column: column, row: laneRow))), state: &e.state, annotations: e.session)
    #expect(e.state.annotations.selected == id)
    #expect(e.state.frame == 50)
}

@Test func everyEditIsInTheStoreWhenTheStateShowsIt() throws {
    // After each dispatched edit, a second connection-free read of the store agrees with what the state shows.
    let e = try Editor()
    let p = e.cell(x: 320, y: 180)
    e.click(column: p.column, row: p.row)
    for key in [Key.character("m"), .right, .down, .enter, .character("v"), .character("k")] {
        e.press(key)
        #expect(e.state.annotations.tracks == e.store.tracks)
        #expect(e.state.annotations.framePoints == e.store.points(onFrame: e.state.frame))
    }
}

/// Typing a label never turns into commands: Backspace past the start of the text leaves the prompt open (only Esc
/// closes it), and the keys that follow are text, not split / propagate / play / outside / delete.
@Test func backspaceOnAnEmptyPromptKeepsItOpen() throws {
    let e = try Editor()
    let p = e.cell(x: 320, y: 180)
    e.click(column: p.column, row: p.row)
    let id = try #require(e.state.annotations.selected)
    let tracksBefore = e.store.tracks
    e.press(.character("l"))
    for _ in 0..<40 { e.press(.backspace) }
    #expect(e.state.mode == .prompt(.label, ""))
    for c in "striped box" { e.press(.character(c)) }
    #expect(e.state.mode == .prompt(.label, "striped box"))
    #expect(e.store.tracks == tracksBefore)
    #expect(!e.state.isPlaying)
    e.press(.enter)
    #expect(e.store.tracks.first { $0.id == id }?.label == "striped box")
    e.press(.character("l"))
    e.press(.escape)
    #expect(e.state.mode == .normal)
}

/// q quits whatever is selected; occluded is its own key (v), so no key changes meaning with the selection.
@Test func qQuitsWithATrackSelected() throws {
    let e = try Editor()
    let p = e.cell(x: 320, y: 180)
    e.click(column: p.column, row: p.row)
    let id = try #require(e.state.annotations.selected)
    e.press(.character("q"))
    #expect(e.state.shouldQuit)
    #expect(e.store.point(track: id, frame: 0)?.entry.visibility == .visible)
}
