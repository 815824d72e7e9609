import Foundation
import TerminalGraphics
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Replies recorded on the project machine (terminal.md section 2.3).
private enum Recorded {
    static let xtermDefaultDA1 = "\u{1B}[?64;1;2;6;9;15;16;17;18;21;22;28c"
    static let xtermVT340DA1 = "\u{1B}[?63;1;2;4;6;9;15;16;22;28c"
    static let tmuxDA1 = "\u{1B}[?1;2c"
    static let xtermVersion = "\u{1B}P>|XTerm(379)\u{1B}\\"
    static let tmuxVersion = "\u{1B}P>|tmux 3.3a\u{1B}\\"
    static let xtermColorsError = "\u{1B}[?1;3S"
    static let vt340Colors = "\u{1B}[?1;0;256S"
    static let vt340MaxGeometry = "\u{1B}[?2;0;4096;4096S"
    static let vt340Geometry = "\u{1B}[?2;0;960;624S"
    static let xtermGeometryError = "\u{1B}[?2;3S"
    static let cellSize = "\u{1B}[6;13;6t"
    static let textArea = "\u{1B}[4;624;960t"
    static let tmuxCharacters = "\u{1B}[8;160;48t"
    static let syncUnknown = "\u{1B}[?2026;0$y"
    static let pixelMouseReset = "\u{1B}[?1016;2$y"

    /// What xterm -ti vt340 (256 registers) answers to `TerminalCapabilities.queries`, in order.
    static let vt340Batch =
        xtermVersion + vt340Colors + vt340Geometry + syncUnknown + pixelMouseReset + xtermVT340DA1
}

@Suite("Terminal capabilities")
struct TerminalCapabilitiesTests {
    @Test("DA1: attribute 4 means sixel")
    func deviceAttributes() {
        #expect(TerminalReplyParser.deviceAttributes(Recorded.xtermVT340DA1) == [63, 1, 2, 4, 6, 9, 15, 16, 22, 28])
        #expect(TerminalReplies(deviceAttributes: [63, 1, 2, 4, 6]).deviceAttributesListSixel)
        #expect(TerminalReplyParser.parse(Array(Recorded.xtermVT340DA1.utf8)).deviceAttributesListSixel)
        #expect(!TerminalReplyParser.parse(Array(Recorded.xtermDefaultDA1.utf8)).deviceAttributesListSixel)
        #expect(!TerminalReplyParser.parse(Array(Recorded.tmuxDA1.utf8)).deviceAttributesListSixel)
        #expect(TerminalReplyParser.deviceAttributes("\u{1B}[>0;276;0c") == nil)  // DA2 is not DA1
    }

    @Test("XTSMGRAPHICS: registers and geometry on success, nothing on error")
    func graphicsAttributes() {
        let colors = TerminalReplyParser.graphicsAttributes(Recorded.vt340Colors)
        #expect(colors?.item == 1 && colors?.status == 0 && colors?.values == [256])
        let error = TerminalReplyParser.graphicsAttributes(Recorded.xtermColorsError)
        #expect(error?.item == 1 && error?.status == 3 && error?.values == [])
        #expect(TerminalReplyParser.parse(Array(Recorded.vt340Colors.utf8)).colorRegisters == 256)
        #expect(TerminalReplyParser.parse(Array(Recorded.xtermColorsError.utf8)).colorRegisters == nil)
        #expect(
            TerminalReplyParser.parse(Array(Recorded.vt340Geometry.utf8)).graphicsGeometry
                == PixelSize(width: 960, height: 624))
        #expect(TerminalReplyParser.parse(Array(Recorded.xtermGeometryError.utf8)).graphicsGeometry == nil)
        // Only the first geometry reply counts (probe asks for the current geometry only).
        let both = TerminalReplyParser.parse(Array((Recorded.vt340Geometry + Recorded.vt340MaxGeometry).utf8))
        #expect(both.graphicsGeometry == PixelSize(width: 960, height: 624))
    }

    @Test("Window reports: CSI 16 t cell size, CSI 14 t text area")
    func windowReports() {
        let cell = TerminalReplyParser.windowReport(Recorded.cellSize)
        #expect(cell?.kind == 6 && cell?.first == 13 && cell?.second == 6)
        let characters = TerminalReplyParser.windowReport(Recorded.tmuxCharacters)
        #expect(characters?.kind == 8 && characters?.first == 160 && characters?.second == 48)
        let replies = TerminalReplyParser.parse(Array((Recorded.cellSize + Recorded.textArea).utf8))
        #expect(replies.cellPixelSize == PixelSize(width: 6, height: 13))
        #expect(replies.textAreaPixelSize == PixelSize(width: 960, height: 624))
    }

    @Test("DECRQM: 0 is unknown, 2 is supported-but-reset")
    func modeReports() {
        let sync = TerminalReplyParser.modeReport(Recorded.syncUnknown)
        #expect(sync?.mode == 2026 && sync?.state == 0)
        let mouse = TerminalReplyParser.modeReport(Recorded.pixelMouseReset)
        #expect(mouse?.mode == 1016 && mouse?.state == 2)
        let replies = TerminalReplyParser.parse(Array((Recorded.syncUnknown + Recorded.pixelMouseReset).utf8))
        #expect(!replies.supportsMode(2026))
        #expect(replies.supportsMode(1016))
        #expect(!replies.supportsMode(1006))
    }

    @Test("XTVERSION text")
    func version() {
        #expect(TerminalReplyParser.version(Recorded.xtermVersion) == "XTerm(379)")
        #expect(TerminalReplyParser.version(Recorded.tmuxVersion) == "tmux 3.3a")
        #expect(TerminalReplyParser.version("\u{1B}P1$r0m\u{1B}\\") == nil)
    }

    @Test("Replies mixed with typed keys and split sequences")
    func streamSplitting() {
        let bytes = Array(("ab" + Recorded.xtermVersion + "\u{1B}x" + Recorded.tmuxDA1 + "\u{1B}[?63;4").utf8)
        let (sequences, other) = TerminalReplyParser.sequences(in: bytes)
        #expect(sequences.count == 2)
        #expect(other == Array("ab\u{1B}x".utf8))
        #expect(TerminalReplyParser.containsDeviceAttributes(bytes))
        #expect(!TerminalReplyParser.containsDeviceAttributes(Array("\u{1B}[?63;4".utf8)))
    }

    @Test("Environment: COLORTERM, TERM and TMUX")
    func environment() {
        #expect(TerminalCapabilities.environmentHints(["COLORTERM": "truecolor"]).truecolor)
        #expect(TerminalCapabilities.environmentHints(["COLORTERM": "24bit"]).truecolor)
        #expect(TerminalCapabilities.environmentHints(["TERM": "xterm-direct"]).truecolor)
        #expect(!TerminalCapabilities.environmentHints(["TERM": "xterm-256color"]).truecolor)
        let tmux = TerminalCapabilities.environmentHints([
            "TMUX": "/tmp/tmux-0/default,123,0", "TERM": "tmux-256color", "TERM_PROGRAM": "tmux",
            "TERM_PROGRAM_VERSION": "3.3a",
        ])
        #expect(tmux.inMultiplexer && tmux.isTmux && tmux.tmuxVersion == "3.3a")
        let screen = TerminalCapabilities.environmentHints(["STY": "1234.pts-0", "TERM": "screen"])
        #expect(screen.inMultiplexer && !screen.isTmux)
        #expect(!TerminalCapabilities.environmentHints(["TERM": "xterm"]).inMultiplexer)
    }

    @Test("xterm -ti vt340: sixel with 256 registers, cell size from the graphics geometry")
    func combineVT340() {
        let replies = TerminalReplyParser.parse(Array(Recorded.vt340Batch.utf8))
        let capabilities = TerminalCapabilities.combine(
            replies: replies, environment: ["TERM": "xterm"],
            windowSize: WindowSize(columns: 160, rows: 48, pixelWidth: 964, pixelHeight: 628))
        #expect(capabilities.sixel)
        #expect(capabilities.colorRegisters == 256)
        #expect(capabilities.cellWidth == 6 && capabilities.cellHeight == 13)
        #expect(capabilities.columns == 160 && capabilities.rows == 48)
        #expect(capabilities.sgrPixelMouse)
        #expect(!capabilities.synchronizedOutput)
        #expect(!capabilities.inMultiplexer)
        #expect(capabilities.truecolor)  // XTerm(379) takes 24-bit SGR
        #expect(capabilities.terminalName == "XTerm(379)")
        #expect(GraphicsMode.auto.resolve(capabilities) == .sixel)
    }

    /// xterm -ti vt340 in a 160x48 window 1284 px wide: xterm answers the graphics geometry capped at 1000 px and
    /// (with its default allowWindowOps) not 14t/16t; the window's pixels give the real 8 px cells.
    @Test("A large xterm window: cells from the window's pixels, the capped geometry only as the image limit")
    func largeXtermWindow() {
        let replies = TerminalReplyParser.parse(
            Array((Recorded.xtermVersion + Recorded.vt340Colors + "\u{1B}[?2;0;1000;1000S" + Recorded.xtermVT340DA1).utf8))
        let capabilities = TerminalCapabilities.combine(
            replies: replies, environment: ["TERM": "xterm"],
            windowSize: WindowSize(columns: 160, rows: 48, pixelWidth: 1284, pixelHeight: 868))
        #expect(capabilities.sixel)
        #expect(capabilities.cellWidth == 8 && capabilities.cellHeight == 18)
        #expect(capabilities.graphicsLimit == PixelSize(width: 1000, height: 1000))
        // Without window pixels (some terminals leave them 0) the geometry is the last resort.
        let blind = TerminalCapabilities.combine(
            replies: replies, environment: ["TERM": "xterm"], windowSize: WindowSize(columns: 160, rows: 48))
        #expect(blind.cellWidth == 6 && blind.cellHeight == 20)
    }

    @Test("A cell-size reply wins over geometry; without any, TIOCGWINSZ pixels are used")
    func cellSizeSources() {
        let withCell = TerminalReplyParser.parse(Array((Recorded.cellSize + Recorded.vt340Geometry).utf8))
        let a = TerminalCapabilities.combine(
            replies: withCell, environment: [:], windowSize: WindowSize(columns: 100, rows: 40))
        #expect(a.cellWidth == 6 && a.cellHeight == 13)
        let b = TerminalCapabilities.combine(
            replies: TerminalReplies(), environment: [:],
            windowSize: WindowSize(columns: 160, rows: 47, pixelWidth: 960, pixelHeight: 611))
        #expect(b.cellWidth == 6 && b.cellHeight == 13)
        let c = TerminalCapabilities.combine(
            replies: TerminalReplies(), environment: ["COLUMNS": "90", "LINES": "30"], windowSize: nil)
        #expect(c.cellWidth == nil && c.cellHeight == nil)
        #expect(c.columns == 90 && c.rows == 30)
    }

    @Test("xterm without vt340: no sixel; the register count is 0 and auto picks truecolor half-blocks")
    func combineXtermDefault() {
        let replies = TerminalReplyParser.parse(
            Array(
                (Recorded.xtermVersion + Recorded.xtermColorsError + Recorded.xtermGeometryError + Recorded.syncUnknown
                    + Recorded.pixelMouseReset + Recorded.xtermDefaultDA1).utf8))
        let capabilities = TerminalCapabilities.combine(
            replies: replies, environment: [:], windowSize: WindowSize(columns: 160, rows: 48))
        #expect(!capabilities.sixel && capabilities.colorRegisters == 0)
        #expect(GraphicsMode.auto.resolve(capabilities) == .halfBlock(.truecolor))
    }

    @Test("tmux 3.3a: no sixel even if DA1 claimed it; tmux >= 3.4 keeps it")
    func combineTmux() {
        let environment = ["TMUX": "/tmp/tmux-0/default,1,0", "TERM": "tmux-256color"]
        let plain = TerminalCapabilities.combine(
            replies: TerminalReplyParser.parse(Array((Recorded.tmuxVersion + Recorded.tmuxDA1).utf8)),
            environment: environment,
            windowSize: WindowSize(columns: 160, rows: 48, pixelWidth: 2560, pixelHeight: 1536))
        #expect(!plain.sixel && plain.inMultiplexer && plain.truecolor)
        #expect(plain.terminalName == "tmux 3.3a")
        #expect(GraphicsMode.auto.resolve(plain) == .halfBlock(.truecolor))

        let claimed = TerminalCapabilities.combine(
            replies: TerminalReplyParser.parse(Array((Recorded.tmuxVersion + Recorded.xtermVT340DA1).utf8)),
            environment: environment, windowSize: nil)
        #expect(!claimed.sixel)

        let newer = TerminalCapabilities.combine(
            replies: TerminalReplyParser.parse(
                Array(("\u{1B}P>|tmux 3.4\u{1B}\\" + Recorded.vt340Colors + Recorded.xtermVT340DA1).utf8)),
            environment: environment, windowSize: nil)
        #expect(newer.sixel && newer.colorRegisters == 256)

        // tmux version from the environment when XTVERSION did not answer; unknown version means no sixel.
        let fromEnvironment = TerminalCapabilities.combine(
            replies: TerminalReplyParser.parse(Array(Recorded.xtermVT340DA1.utf8)),
            environment: environment.merging(["TERM_PROGRAM": "tmux", "TERM_PROGRAM_VERSION": "3.5a"]) { $1 },
            windowSize: nil)
        #expect(fromEnvironment.sixel)
        let unknown = TerminalCapabilities.combine(
            replies: TerminalReplyParser.parse(Array(Recorded.xtermVT340DA1.utf8)), environment: environment,
            windowSize: nil)
        #expect(!unknown.sixel)
        // Multiplexers hide the outer terminal's mouse and sync modes.
        let modes = TerminalCapabilities.combine(
            replies: TerminalReplyParser.parse(Array((Recorded.pixelMouseReset + "\u{1B}[?2026;2$y").utf8)),
            environment: environment, windowSize: nil)
        #expect(!modes.sgrPixelMouse && !modes.synchronizedOutput)

        #expect(TerminalCapabilities.tmuxSupportsSixel(version: "3.4"))
        #expect(TerminalCapabilities.tmuxSupportsSixel(version: "next-3.6"))
        #expect(!TerminalCapabilities.tmuxSupportsSixel(version: "3.3a"))
        #expect(!TerminalCapabilities.tmuxSupportsSixel(version: "2.9"))
    }

    @Test("Sixel without an XTSMGRAPHICS answer assumes 16 registers, too few for auto")
    func defaultRegisters() {
        let capabilities = TerminalCapabilities.combine(
            replies: TerminalReplyParser.parse(Array((Recorded.cellSize + Recorded.xtermVT340DA1).utf8)),
            environment: [:], windowSize: WindowSize(columns: 80, rows: 24))
        #expect(capabilities.sixel && capabilities.colorRegisters == 16)
        #expect(GraphicsMode.auto.resolve(capabilities) == .halfBlock(.palette256))
    }

    @Test("Synchronized output wraps a frame, and nothing wraps an empty frame")
    func synchronizedWrap() {
        #expect(TerminalControl.synchronized([0x41]) == Array("\u{1B}[?2026hA\u{1B}[?2026l".utf8))
        #expect(TerminalControl.synchronized([]).isEmpty)
    }

    @Test("An explicit graphics mode wins over detection")
    func overrides() {
        let none = TerminalCapabilities()
        let full = TerminalCapabilities(
            sixel: true, truecolor: true, colorRegisters: 1024, cellWidth: 8, cellHeight: 16)
        #expect(GraphicsMode.sixel.resolve(none) == .sixel)
        #expect(GraphicsMode.halfblock.resolve(full) == .halfBlock(.truecolor))
        #expect(GraphicsMode.halfblock256.resolve(full) == .halfBlock(.palette256))
        #expect(GraphicsMode.auto.resolve(full) == .sixel)
        #expect(GraphicsMode.auto.resolve(none) == .halfBlock(.palette256))
        #expect(GraphicsMode(rawValue: "halfblock256") == .halfblock256)
        #expect(GraphicsMode(rawValue: "kitty") == nil)
    }

    #if canImport(Glibc)
        @Test("probe over a pseudo-terminal: sends the queries with DA1 last, parses the replies, restores termios")
        func probeOverPseudoTerminal() throws {
            let terminal = try PseudoTerminal(columns: 160, rows: 48, pixelWidth: 964, pixelHeight: 628)
            defer { terminal.close() }
            let before = terminal.localModes()
            let slave = terminal.slave
            let result = ResultBox()
            let thread = Thread {
                result.value = TerminalCapabilities.probe(
                    inputFD: slave, outputFD: slave, environment: ["TERM": "xterm"], timeout: 30)
            }
            thread.start()
            // Play the terminal: wait for the whole query batch (it ends with DA1), then answer like xterm vt340.
            let queries = terminal.readMaster(until: Array("\u{1B}[c".utf8))
            #expect(queries == TerminalCapabilities.queries)
            terminal.writeMaster(Array(Recorded.vt340Batch.utf8))
            let capabilities = result.wait()
            #expect(capabilities.sixel && capabilities.colorRegisters == 256)
            #expect(capabilities.columns == 160 && capabilities.rows == 48)
            #expect(capabilities.cellWidth == 6 && capabilities.cellHeight == 13)
            #expect(terminal.localModes() == before)
        }

        @Test("probe returns on its timeout when the terminal never answers, and restores termios")
        func probeTimeout() throws {
            let terminal = try PseudoTerminal(columns: 80, rows: 24, pixelWidth: 0, pixelHeight: 0)
            defer { terminal.close() }
            let before = terminal.localModes()
            let capabilities = TerminalCapabilities.probe(
                inputFD: terminal.slave, outputFD: terminal.slave, environment: ["COLORTERM": "truecolor"],
                timeout: 0.05)
            #expect(!capabilities.sixel && capabilities.truecolor)
            #expect(capabilities.columns == 80 && capabilities.rows == 24)
            #expect(capabilities.cellWidth == nil)
            #expect(terminal.localModes() == before)
        }
    #endif

    @Test("Not a terminal: environment only")
    func probeWithoutTerminal() throws {
        let pipe = Pipe()
        let fd = pipe.fileHandleForReading.fileDescriptor
        let capabilities = TerminalCapabilities.probe(
            inputFD: fd, outputFD: pipe.fileHandleForWriting.fileDescriptor,
            environment: ["COLORTERM": "24bit", "COLUMNS": "100", "LINES": "30"], timeout: 1)
        #expect(capabilities == TerminalCapabilities(truecolor: true, columns: 100, rows: 30))
    }
}

/// Hands the probe's result from its thread to the test.
private final class ResultBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var stored: TerminalCapabilities?

    var value: TerminalCapabilities? {
        get { condition.withLock { stored } }
        set {
            condition.withLock {
                stored = newValue
                condition.broadcast()
            }
        }
    }

    func wait() -> TerminalCapabilities {
        condition.withLock {
            while stored == nil { condition.wait() }
            return stored ?? TerminalCapabilities()
        }
    }
}

#if canImport(Glibc)
    /// A pseudo-terminal pair: the code under test uses the slave, the test plays the terminal on the master.
    private struct PseudoTerminal {
        let master: Int32
        let slave: Int32

        enum Failure: Error, CustomStringConvertible {
            case unavailable(String)

            var description: String {
                switch self {
                case .unavailable(let reason): return "TerminalCapabilitiesTests.swift: \(reason)"
                }
            }
        }

        init(columns: Int, rows: Int, pixelWidth: Int, pixelHeight: Int) throws {
            // posix_openpt and friends are hidden behind feature macros in the Glibc module; look them up.
            typealias OpenFunction = @convention(c) (Int32) -> Int32
            typealias NameFunction = @convention(c) (Int32) -> UnsafeMutablePointer<CChar>?
            let library = dlopen(nil, RTLD_NOW)
            guard let openSymbol = dlsym(library, "posix_openpt"), let grantSymbol = dlsym(library, "grantpt"),
                let unlockSymbol = dlsym(library, "unlockpt"), let nameSymbol = dlsym(library, "ptsname")
            else {
                throw Failure.unavailable("libc has no posix_openpt")
            }
            let openMaster = unsafeBitCast(openSymbol, to: OpenFunction.self)
            let grant = unsafeBitCast(grantSymbol, to: OpenFunction.self)
            let unlock = unsafeBitCast(unlockSymbol, to: OpenFunction.self)
            let slaveName = unsafeBitCast(nameSymbol, to: NameFunction.self)
            master = openMaster(O_RDWR | O_NOCTTY)
            guard master >= 0, grant(master) == 0, unlock(master) == 0, let name = slaveName(master) else {
                throw Failure.unavailable("cannot open a pseudo-terminal")
            }
            slave = open(name, O_RDWR | O_NOCTTY)
            guard slave >= 0 else {
                throw Failure.unavailable("cannot open the pseudo-terminal slave")
            }
            var size = winsize(
                ws_row: UInt16(rows), ws_col: UInt16(columns), ws_xpixel: UInt16(pixelWidth),
                ws_ypixel: UInt16(pixelHeight))
            _ = ioctl(slave, UInt(TIOCSWINSZ), &size)
        }

        func localModes() -> [UInt] {
            var settings = termios()
            _ = tcgetattr(slave, &settings)
            return [UInt(settings.c_lflag), UInt(settings.c_iflag), UInt(settings.c_oflag)]
        }

        /// Reads from the master until the bytes end with `terminator`.
        func readMaster(until terminator: [UInt8]) -> [UInt8] {
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1024)
            while !received.ends(with: terminator) {
                let count = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                received.append(contentsOf: buffer[0..<count])
            }
            return received
        }

        func writeMaster(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                _ = write(master, base, raw.count)
            }
        }

        func close() {
            _ = Glibc.close(slave)
            _ = Glibc.close(master)
        }
    }

    extension Array where Element == UInt8 {
        fileprivate func ends(with suffix: [UInt8]) -> Bool {
            count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
        }
    }
#endif
