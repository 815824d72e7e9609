import Foundation
import Media
import SpotterUI
import TerminalGraphics
import Testing

/// Smoke tests of the real TUI inside tmux, as a person would use it: keys in, screen and colours out. They cover
/// what only a terminal shows (the ncurses backend's output, mouse reports, signals and the restored terminal, a
/// process killed mid-session); the viewer's behaviour is tested in process on the rendered screen
/// (SpotterUITests/ViewerCoreTests, AnnotationLoopTests, ModelLoopTests).
@Suite(.serialized) struct ViewerTests {
    static let columns = 100
    static let rows = 30

    /// A project file of its own per test, so tests never write beside the sample.
    func openSample(
        columns: Int = columns, rows: Int = rows, term: String = "xterm-256color",
        project: String = FileManager.default.temporaryDirectory.appendingPathComponent("viewer-\(UUID().uuidString).spotter").path
    ) throws -> TmuxSession {
        return try TmuxSession(
            command: [spotterBinary, "open", samplePath("shapes.mp4"), "--graphics", "halfblock", "--project", project],
            columns: columns, rows: rows, environment: ["COLORTERM": "truecolor", "TERM": term])
    }

    @Test func stepsFramesAndShowsThemInTimelineAndPicture() throws {
        let tmux = try openSample()
        let first = try tmux.waitFor { $0.contains("frame 0/") }
        #expect(first.contains("frame 0/"), "the viewer did not start:\n\(first)")
        try tmux.send("Right", "Right", "Right")
        let screen = try tmux.waitFor { $0.contains("frame 3/") }
        #expect(screen.contains("frame 3/"), "three Right presses did not reach frame 3:\n\(screen)")
        #expect(screen.contains("0:00.100"), "timestamp of frame 3 at 30 fps is missing:\n\(screen)")

        // The picture: every cell of the viewer must carry the colours of frame 3 as Spotter scales it.
        let colored = try tmux.capture(escapes: true)
        let grid = ScreenGrid(capture: colored, columns: Self.columns)
        let viewer = Layout(columns: Self.columns, rows: Self.rows).viewer
        let expected = try expectedHalfBlockCells(frame: 3, viewerColumns: viewer.width, viewerRows: viewer.height)
        var mismatches = 0
        var checked = 0
        for (row, line) in expected.enumerated() {
            for (column, cell) in line.enumerated() where cell != nil {
                checked += 1
                if grid.cell(column: column, row: row) != cell! { mismatches += 1 }
            }
        }
        #expect(checked > 1000)
        #expect(mismatches == 0, "\(mismatches) of \(checked) viewer cells differ from frame 3")

        try tmux.send("G")
        let last = try tmux.waitFor { $0.contains("frame 2") && !$0.contains("frame 3/") }
        #expect(last.contains("frame \(try lastFrameIndex())/\(try lastFrameIndex())"))
        try tmux.send(":")
        try tmux.sendLiteral("2.5s")
        try tmux.send("Enter")
        let jumped = try tmux.waitFor { $0.contains("frame 75/") }
        #expect(jumped.contains("0:02.500"))
        try tmux.send("q")
        let exited = try tmux.waitFor { $0.contains("[exit 0]") }
        #expect(exited.contains("[exit 0]"))
    }

    @Test(arguments: ["q", "C-c", "TERM", "SEGV"])
    func terminalIsRestoredOnEveryExitPath(_ how: String) throws {
        let tmux = try openSample()
        try tmux.waitFor { $0.contains("frame 0/") }
        let before = try tmux.tmux(["display-message", "-p", "-t", "t", "#{alternate_on} #{cursor_flag} #{mouse_any_flag}"])
        #expect(before.trimmingCharacters(in: .whitespacesAndNewlines) == "1 0 1", "modes while running: \(before)")
        switch how {
        case "q", "C-c":
            try tmux.send(how)
        default:
            let shell = try tmux.tmux(["display-message", "-p", "-t", "t", "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try runProcess("/usr/bin/pkill", ["-\(how)", "-P", shell])
        }
        let after = try tmux.waitFor { $0.contains("[exit") }
        #expect(after.contains("[exit"), "spotter did not exit on \(how)")
        let modes = try tmux.tmux(["display-message", "-p", "-t", "t", "#{alternate_on} #{cursor_flag} #{mouse_any_flag}"])
        #expect(modes.trimmingCharacters(in: .whitespacesAndNewlines) == "0 1 0", "terminal not restored after \(how): \(modes)")
    }

    /// Points placed with the mouse are in the project file the moment the screen shows them, even when the
    /// program is then killed with SIGKILL (no chance to flush or close anything).
    @Test func editsShownOnScreenSurviveKillDashNine() throws {
        let project = FileManager.default.temporaryDirectory.appendingPathComponent("kill-\(UUID().uuidString).spotter").path
        let tmux = try openSample(project: project)
        try tmux.waitFor { $0.contains("frame 0/") }
        let viewer = Layout(columns: Self.columns, rows: Self.rows).viewer
        for step in 0..<3 {
            // Click inside the picture (1-based SGR report), then step 5 frames.
            let column = viewer.width / 3 + step * 6 + 1
            let row = viewer.height / 2 + 1
            try tmux.sendLiteral("\u{1B}[<0;\(column);\(row)M\u{1B}[<0;\(column);\(row)m")
            let shown = try tmux.waitFor { $0.contains("Objects (1)") && $0.contains("  \(step + 1) \(step + 1)/0/0") }
            #expect(shown.contains("  \(step + 1) \(step + 1)/0/0"), "point \(step + 1) not shown: \(shown.split(separator: "\n").prefix(4))")
            try tmux.send("Right", "Right", "Right", "Right", "Right")
            try tmux.waitFor { $0.contains("frame \(5 * (step + 1))/") }
        }
        let shell = try tmux.tmux(["display-message", "-p", "-t", "t", "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try runProcess("/usr/bin/pkill", ["-KILL", "-P", shell])
        try tmux.waitFor { $0.contains("[exit") }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("kill-\(UUID().uuidString).json").path
        defer { unlink(out) }
        let exported = try runSpotter(["export", project, "--format", "tapvid", "-o", out])
        #expect(exported.status == 0, "\(exported.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any]
        let ids = json?["track_ids"] as? [Any]
        #expect(ids?.count == 1)
        #expect(exported.stdout.contains("3 points"), "\(exported.stdout)")
    }

}

/// A terminal too small is refused before the viewer starts (a pseudo-terminal of that size, no tmux needed).
@Test func tinyTerminalIsRefusedWithOneLine() throws {
    let project = FileManager.default.temporaryDirectory.appendingPathComponent("viewer-\(UUID().uuidString).spotter").path
    defer { unlink(project) }
    let result = try runOnTerminal(
        spotterBinary, ["open", samplePath("shapes.mp4"), "--graphics", "halfblock", "--project", project], columns: 30, rows: 10)
    let screen = result.stdout
    #expect(result.status == 1)
    #expect(screen.contains("30x10"))
    #expect(screen.contains("shapes.mp4"))
    #expect(screen.components(separatedBy: "spotter:").count == 2, "one error line expected: \(screen)")
    #expect(screen.split(whereSeparator: \.isNewline).count == 1, "one error line expected: \(screen)")
}

func lastFrameIndex() throws -> Int {
    let source = try VideoSource(path: samplePath("shapes.mp4"))
    return source.info.frameCount - 1
}

/// The (foreground, background) colours a half-block renderer must put in each viewer cell for `frame`,
/// computed independently of the TUI from the decoder and the viewport mapping. nil where letterboxed.
func expectedHalfBlockCells(frame: Int, viewerColumns: Int, viewerRows: Int) throws -> [[ScreenGrid.Cell?]] {
    let source = try VideoSource(path: samplePath("shapes.mp4"))
    let info = source.info
    let mapping = ViewportMapping.halfBlock(
        sourceWidth: info.width, sourceHeight: info.height, sampleAspectRatio: info.sampleAspectRatio.doubleValue,
        areaColumns: viewerColumns, areaRows: viewerRows)
    let width = mapping.displayWidth
    let image = try source.frame(at: frame, width: width, height: mapping.displayHeight)
    var cells = Array(repeating: [ScreenGrid.Cell?](repeating: nil, count: viewerColumns), count: viewerRows)
    for row in 0..<viewerRows {
        for column in 0..<viewerColumns {
            let x = column - mapping.imageColumn
            let top = (row - mapping.imageRow) * 2
            guard x >= 0, x < width, top >= 0, top + 1 < mapping.displayHeight else { continue }
            func px(_ y: Int) -> RGB {
                let i = (y * width + x) * 3
                return RGB(r: image.pixels[i], g: image.pixels[i + 1], b: image.pixels[i + 2])
            }
            cells[row][column] = ScreenGrid.Cell(top: px(top), bottom: px(top + 1))
        }
    }
    return cells
}

/// A screen captured with `tmux capture-pane -p -e`, decoded into per-cell half-block colours.
struct ScreenGrid {
    struct Cell: Equatable, CustomStringConvertible {
        var top: RGB
        var bottom: RGB
        var description: String { "(\(top.r),\(top.g),\(top.b))/(\(bottom.r),\(bottom.g),\(bottom.b))" }
    }

    private var cells: [[Cell?]] = []

    init(capture: String, columns: Int) {
        for line in capture.split(separator: "\n", omittingEmptySubsequences: false) {
            var row = [Cell?]()
            var fg: RGB?
            var bg: RGB?
            var scalars = Array(line.unicodeScalars)[...]
            while let scalar = scalars.first {
                scalars = scalars.dropFirst()
                if scalar == "\u{1B}" {
                    // CSI parameters up to the final byte; only SGR ("m") matters here.
                    guard scalars.first == "[" else { continue }
                    scalars = scalars.dropFirst()
                    var params = ""
                    while let c = scalars.first, !(c.value >= 0x40 && c.value <= 0x7E) {
                        params.unicodeScalars.append(c)
                        scalars = scalars.dropFirst()
                    }
                    guard let final = scalars.first else { break }
                    scalars = scalars.dropFirst()
                    if final == "m" { ScreenGrid.applySGR(params, fg: &fg, bg: &bg) }
                    continue
                }
                switch scalar {
                case "▄":
                    row.append(fg.flatMap { f in bg.map { Cell(top: $0, bottom: f) } })
                case "▀":
                    row.append(fg.flatMap { f in bg.map { Cell(top: f, bottom: $0) } })
                case " ":
                    row.append(bg.map { Cell(top: $0, bottom: $0) })
                default:
                    row.append(nil)
                }
            }
            cells.append(row)
        }
    }

    func cell(column: Int, row: Int) -> Cell? {
        guard row < cells.count, column < cells[row].count else { return nil }
        return cells[row][column]
    }

    static func applySGR(_ params: String, fg: inout RGB?, bg: inout RGB?) {
        let parts = params.split(separator: ";", omittingEmptySubsequences: false).map { Int($0) ?? 0 }
        var i = 0
        if parts.isEmpty { fg = nil; bg = nil }
        while i < parts.count {
            switch parts[i] {
            case 0: fg = nil; bg = nil
            case 38 where i + 4 < parts.count && parts[i + 1] == 2:
                fg = RGB(r: UInt8(parts[i + 2]), g: UInt8(parts[i + 3]), b: UInt8(parts[i + 4])); i += 4
            case 48 where i + 4 < parts.count && parts[i + 1] == 2:
                bg = RGB(r: UInt8(parts[i + 2]), g: UInt8(parts[i + 3]), b: UInt8(parts[i + 4])); i += 4
            case 39: fg = nil
            case 49: bg = nil
            default: break
            }
            i += 1
        }
    }
}
