import Testing

@testable import SpotterUI

private func media(frames: Int = 240, fps: Double = 30) -> MediaFacts {
    MediaFacts(name: "clip.mp4", width: 640, height: 360, timestamps: (0..<frames).map { Double($0) / fps }, fps: fps)
}

private func state(frames: Int = 240, columns: Int = 100, rows: Int = 30) -> AppState {
    AppState(media: media(frames: frames), columns: columns, rows: rows, graphics: ViewerGraphics(renderer: .halfBlock(.truecolor)))
}

private func press(_ state: inout AppState, _ keys: Key...) {
    for key in keys { _ = Reducer.reduce(&state, .input(.key(key))) }
}

@Test func stepsClampAtBothEnds() {
    var s = state(frames: 5)
    press(&s, .left)
    #expect(s.frame == 0)
    press(&s, .right, .right, .character("f"))
    #expect(s.frame == 3)
    press(&s, .right, .right, .right)
    #expect(s.frame == 4)
    press(&s, .character("d"))
    #expect(s.frame == 3)
}

@Test func jumpsAndEnds() {
    var s = state()
    press(&s, .shiftRight)
    #expect(s.frame == Reducer.shortJump)
    press(&s, .pageDown)
    #expect(s.frame == Reducer.shortJump + 150)
    press(&s, .character("G"))
    #expect(s.frame == 239)
    press(&s, .pageDown)
    #expect(s.frame == 239)
    press(&s, .character("g"))
    #expect(s.frame == 0)
    press(&s, .pageUp, .shiftLeft)
    #expect(s.frame == 0)
}

@Test func goToFrameAndTime() {
    var s = state()
    press(&s, .character(":"), .character("1"), .character("2"), .character("0"), .enter)
    #expect(s.mode == .normal)
    #expect(s.frame == 120)
    press(&s, .character(":"))
    for c in "2.5s" { press(&s, .character(c)) }
    press(&s, .enter)
    #expect(s.frame == 75)
    press(&s, .character(":"))
    for c in "0:01.02" { press(&s, .character(c)) }
    press(&s, .enter)
    #expect(s.frame == 31)  // 1.02 s is nearest to frame 31 (1.0333 s) rather than 30 (1.0 s)
}

@Test func goToRejectsOutOfRangeAndGarbage() {
    var s = state()
    press(&s, .right)
    press(&s, .character(":"), .character("9"), .character("9"), .character("9"), .enter)
    #expect(s.frame == 1)
    #expect(s.message?.contains("outside") == true)
    press(&s, .character(":"), .character("x"), .enter)
    #expect(s.frame == 1)
    #expect(s.message?.contains("not a frame or time") == true)
    // Backspace past the start keeps the prompt open; only Esc closes it.
    press(&s, .character(":"), .character("5"), .backspace, .backspace)
    #expect(s.mode == .prompt(.goTo, ""))
    press(&s, .escape, .character(":"), .character("5"), .escape)
    #expect(s.mode == .normal)
    #expect(s.frame == 1)
}

@Test func playbackFollowsTheClockAndDropsFrames() {
    var s = state()
    press(&s, .character(" "))
    #expect(s.isPlaying)
    _ = Reducer.reduce(&s, .tick(now: 100.0))  // playback clock starts
    #expect(s.frame == 0)
    _ = Reducer.reduce(&s, .tick(now: 100.5))
    #expect(s.frame == 15)
    // A slow iteration: the next tick comes 1 s later; playback jumps to the frame due, never lags.
    _ = Reducer.reduce(&s, .tick(now: 101.5))
    #expect(s.frame == 45)
    _ = Reducer.reduce(&s, .tick(now: 200))
    #expect(s.frame == 239)
    #expect(!s.isPlaying)
    // Play from the end restarts at the beginning.
    press(&s, .character(" "))
    #expect(s.frame == 0 && s.isPlaying)
    press(&s, .right)
    #expect(!s.isPlaying && s.frame == 1)
}

@Test func playbackUsesRealTimestampsForVariableFrameRate() {
    var s = AppState(
        media: MediaFacts(name: "vfr", width: 10, height: 10, timestamps: [0, 0.1, 0.5, 0.6, 2.0], fps: 10),
        columns: 80, rows: 24, graphics: ViewerGraphics(renderer: .halfBlock(.truecolor)))
    press(&s, .character(" "))
    _ = Reducer.reduce(&s, .tick(now: 0))
    _ = Reducer.reduce(&s, .tick(now: 0.45))
    #expect(s.frame == 1)
    _ = Reducer.reduce(&s, .tick(now: 1.9))
    #expect(s.frame == 3)
}

@Test func timelineClicksSeek() {
    var s = state(frames: 241, columns: 102, rows: 30)
    let bar = s.layout.timelineBar
    #expect(bar.width == 100)
    _ = Reducer.reduce(&s, .input(.mouse(MouseEvent(kind: .press, column: bar.column + bar.width - 1, row: bar.row))))
    #expect(s.frame == 240)
    _ = Reducer.reduce(&s, .input(.mouse(MouseEvent(kind: .press, column: bar.column, row: bar.row))))
    #expect(s.frame == 0)
    _ = Reducer.reduce(&s, .input(.mouse(MouseEvent(kind: .press, column: bar.column + 33, row: bar.row))))
    #expect(s.frame == 80)
    // The marker for a frame sits on a column that maps back to a frame within one column's span.
    for frame in stride(from: 0, through: 240, by: 7) {
        let column = s.layout.timelineColumn(forFrame: frame, frameCount: 241)
        let back = s.layout.frameForTimelineColumn(column, frameCount: 241)!
        #expect(abs(back - frame) <= 2)
    }
    // Clicks off the bar do nothing.
    _ = Reducer.reduce(&s, .input(.mouse(MouseEvent(kind: .press, column: 10, row: 0))))
    #expect(s.frame == 80)
}

@Test func resizeRelaysOutAndFlagsTooSmall() {
    var s = state()
    let effects = Reducer.reduce(&s, .input(.resize(columns: 39, rows: 30)))
    #expect(effects.count == 1 && effects[0].isRepaintAll)
    #expect(s.layout.isTooSmall)
    _ = Reducer.reduce(&s, .input(.resize(columns: 120, rows: 40)))
    #expect(!s.layout.isTooSmall)
    #expect(s.layout.viewer == CellRect(column: 0, row: 0, width: 120 - Layout.objectsPaneWidth, height: 37))
    #expect(s.layout.objects == CellRect(column: 120 - Layout.objectsPaneWidth, row: 0, width: Layout.objectsPaneWidth, height: 37))
    _ = Reducer.reduce(&s, .input(.resize(columns: 79, rows: 40)))
    #expect(s.layout.objects.isEmpty && s.layout.viewer.width == 79)
    #expect(s.layout.status.row == 39)
    #expect(s.layout.timeline.row == 37)
}

@Test func helpOverlayAndQuit() {
    var s = state()
    press(&s, .character("?"))
    #expect(s.mode == .help)
    // The help is longer than this 30-row screen: a key turns the page, then closes it.
    #expect(PaneView.helpPages(s.layout).count == 2)
    press(&s, .character("x"))
    #expect(s.mode == .help && s.helpPage == 1)
    press(&s, .character("x"))
    #expect(s.mode == .normal && !s.shouldQuit)
    press(&s, .character("?"))
    press(&s, .escape)
    #expect(s.mode == .normal)
    // On a tall screen it is one page.
    _ = Reducer.reduce(&s, .input(.resize(columns: 100, rows: 60)))
    #expect(PaneView.helpPages(s.layout) == [PaneView.helpLines])
    // Every line of the help is on some page.
    _ = Reducer.reduce(&s, .input(.resize(columns: 100, rows: 14)))
    let paged = PaneView.helpPages(s.layout).flatMap { $0 }
    #expect(PaneView.helpLines.dropFirst(2).dropLast().allSatisfy { line in line.isEmpty || paged.contains(line) })
    press(&s, .control("c"))
    #expect(s.shouldQuit)
    var t = state()
    press(&t, .character("q"))
    #expect(t.shouldQuit)
}

@Test func frameLookupByTime() {
    let m = MediaFacts(name: "m", width: 1, height: 1, timestamps: [0, 0.04, 0.08, 0.2], fps: 25)
    #expect(m.frameShown(at: -1) == 0)
    #expect(m.frameShown(at: 0.079) == 1)
    #expect(m.frameShown(at: 0.08) == 2)
    #expect(m.frameShown(at: 5) == 3)
    #expect(m.frameNearest(to: 0.15) == 3)
    #expect(m.frameNearest(to: 0.13) == 2)
}

/// Status messages expire on the injected clock, and a new message starts its own time.
@Test func statusMessagesExpire() {
    var s = state()
    _ = Reducer.reduce(&s, .tick(now: 100))
    press(&s, .character("k"))  // no selection: explains itself
    #expect(s.message?.contains("select a track") == true)
    _ = Reducer.reduce(&s, .tick(now: 100 + Reducer.messageLifetime - 0.1))
    #expect(s.message != nil)
    _ = Reducer.reduce(&s, .tick(now: 100 + Reducer.messageLifetime))
    #expect(s.message == nil)
    press(&s, .character("k"))
    _ = Reducer.reduce(&s, .tick(now: 100 + Reducer.messageLifetime + 1))
    #expect(s.message != nil)
}
