import Basics
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the terminal can do for the viewer: sixel or not, colour depth, cell geometry, and whether a
/// multiplexer sits in between. Built from query replies, the environment and the window size.
package struct TerminalCapabilities: Sendable, Equatable {
    package var sixel: Bool
    package var truecolor: Bool
    /// Sixel colour registers available (0 when sixel is off).
    package var colorRegisters: Int
    /// Cell size in pixels, when known.
    package var cellWidth: Int?
    package var cellHeight: Int?
    package var columns: Int
    package var rows: Int
    /// Running inside tmux or GNU screen.
    package var inMultiplexer: Bool
    /// DECSET 2026 (synchronized output) confirmed by DECRQM, outside multiplexers only.
    package var synchronizedOutput: Bool
    /// DECSET 1016 (SGR-Pixels mouse) confirmed by DECRQM, outside multiplexers only.
    package var sgrPixelMouse: Bool
    /// XTVERSION text (e.g. "XTerm(379)", "tmux 3.3a"), else `TERM_PROGRAM`.
    package var terminalName: String?
    /// The largest sixel image the terminal draws (XTSMGRAPHICS geometry), when it says.
    package var graphicsLimit: PixelSize?

    package init(
        sixel: Bool = false, truecolor: Bool = false, colorRegisters: Int = 0, cellWidth: Int? = nil,
        cellHeight: Int? = nil, columns: Int = 80, rows: Int = 24, inMultiplexer: Bool = false,
        synchronizedOutput: Bool = false, sgrPixelMouse: Bool = false, terminalName: String? = nil,
        graphicsLimit: PixelSize? = nil
    ) {
        self.graphicsLimit = graphicsLimit
        self.sixel = sixel
        self.truecolor = truecolor
        self.colorRegisters = colorRegisters
        self.cellWidth = cellWidth
        self.cellHeight = cellHeight
        self.columns = columns
        self.rows = rows
        self.inMultiplexer = inMultiplexer
        self.synchronizedOutput = synchronizedOutput
        self.sgrPixelMouse = sgrPixelMouse
        self.terminalName = terminalName
    }

    /// Colour registers assumed when a sixel terminal does not answer XTSMGRAPHICS (a VT340 has 16).
    package static let defaultColorRegisters = 16

    /// The queries `probe` sends, DA1 last: every terminal answers DA1, so its reply ends the batch.
    package static let queries: [UInt8] = Array(
        ("\u{1B}[>0q"  // XTVERSION
            + "\u{1B}[?1;1;0S"  // XTSMGRAPHICS: number of colour registers
            + "\u{1B}[?2;1;0S"  // XTSMGRAPHICS: current graphics geometry
            + "\u{1B}[16t"  // cell size in pixels
            + "\u{1B}[14t"  // text area size in pixels
            + "\u{1B}[?2026$p"  // DECRQM synchronized output
            + "\u{1B}[?1016$p"  // DECRQM SGR-Pixels mouse
            + "\u{1B}[c").utf8)  // DA1

    // MARK: - Environment

    /// What the environment variables alone say.
    package struct EnvironmentHints: Sendable, Equatable {
        /// COLORTERM is truecolor/24bit or TERM is a `*-direct` entry.
        package var truecolor: Bool
        /// TMUX/STY set, or TERM names tmux/screen.
        package var inMultiplexer: Bool
        /// True for tmux (as opposed to GNU screen) when `inMultiplexer`.
        package var isTmux: Bool
        /// `TERM_PROGRAM_VERSION` when `TERM_PROGRAM` is tmux.
        package var tmuxVersion: String?
        package var termProgram: String?
    }

    /// Reads COLORTERM, TERM, TMUX, STY, TERM_PROGRAM(_VERSION).
    package static func environmentHints(_ environment: [String: String]) -> EnvironmentHints {
        let colorTerm = (environment["COLORTERM"] ?? "").lowercased()
        let term = environment["TERM"] ?? ""
        let truecolor = colorTerm == "truecolor" || colorTerm == "24bit" || term.hasSuffix("-direct")
        let tmux = !(environment["TMUX"] ?? "").isEmpty || term.hasPrefix("tmux")
        let screen = !(environment["STY"] ?? "").isEmpty || term.hasPrefix("screen")
        let program = environment["TERM_PROGRAM"]
        let tmuxVersion = program == "tmux" ? environment["TERM_PROGRAM_VERSION"] : nil
        return EnvironmentHints(
            truecolor: truecolor, inMultiplexer: tmux || screen, isTmux: tmux, tmuxVersion: tmuxVersion,
            termProgram: program)
    }

    // MARK: - Combination

    /// Combines parsed replies, the environment and the window size (pure; `probe` gathers the inputs).
    ///
    /// Sixel needs DA1 attribute 4; inside tmux also tmux >= 3.4 (older tmux swallows sixel), and never
    /// inside GNU screen. Cell size: `CSI 16 t`, else the text area (`CSI 14 t`) or the window size's pixel
    /// fields divided by the cell counts, else XTSMGRAPHICS geometry (which is also kept as `graphicsLimit`). Synchronized output and SGR-Pixels are only trusted
    /// outside multiplexers (tmux 3.3 does not implement 1016, and newer tmux may claim 2026 for itself).
    package static func combine(
        replies: TerminalReplies, environment: [String: String], windowSize: WindowSize?
    ) -> TerminalCapabilities {
        let hints = environmentHints(environment)
        let versionText = replies.version
        let versionSaysTmux = versionText?.lowercased().hasPrefix("tmux") ?? false
        let inMultiplexer = hints.inMultiplexer || versionSaysTmux
        let isTmux = hints.isTmux || versionSaysTmux
        let isScreen = inMultiplexer && !isTmux

        var sixel = replies.deviceAttributesListSixel
        if isScreen {
            sixel = false
        } else if isTmux {
            let version = versionSaysTmux ? versionText.map { String($0.dropFirst(4)) } : hints.tmuxVersion
            sixel = sixel && (version.map { tmuxSupportsSixel(version: $0) } ?? false)
        }

        var columns = 80
        var rows = 24
        if let size = windowSize, size.columns > 0, size.rows > 0 {
            columns = size.columns
            rows = size.rows
        } else if let envColumns = environment["COLUMNS"].flatMap({ Int($0) }),
            let envRows = environment["LINES"].flatMap({ Int($0) }), envColumns > 0, envRows > 0
        {
            columns = envColumns
            rows = envRows
        }

        // The window decides the cell size; XTSMGRAPHICS geometry is the largest graphic the terminal draws
        // (xterm caps it at 1000x1000 whatever the window), so it is only a last resort and otherwise a cap.
        var cell: PixelSize?
        if let size = replies.cellPixelSize, size.width > 0, size.height > 0 {
            cell = size
        } else if let area = replies.textAreaPixelSize, area.width >= columns, area.height >= rows {
            cell = PixelSize(width: area.width / columns, height: area.height / rows)
        } else if let size = windowSize, size.pixelWidth >= columns, size.pixelHeight >= rows,
            size.columns > 0, size.rows > 0
        {
            cell = PixelSize(width: size.pixelWidth / size.columns, height: size.pixelHeight / size.rows)
        } else if let area = replies.graphicsGeometry, area.width >= columns, area.height >= rows {
            cell = PixelSize(width: area.width / columns, height: area.height / rows)
        }

        let truecolor = hints.truecolor || isTmux || knownTruecolorTerminal(versionText)
        return TerminalCapabilities(
            sixel: sixel, truecolor: truecolor,
            colorRegisters: sixel ? (replies.colorRegisters ?? defaultColorRegisters) : 0,
            cellWidth: cell?.width, cellHeight: cell?.height, columns: columns, rows: rows,
            inMultiplexer: inMultiplexer,
            synchronizedOutput: replies.supportsMode(2026) && !inMultiplexer,
            sgrPixelMouse: replies.supportsMode(1016) && !inMultiplexer,
            terminalName: versionText ?? hints.termProgram,
            graphicsLimit: sixel ? replies.graphicsGeometry.flatMap { $0.width > 0 && $0.height > 0 ? $0 : nil } : nil)
    }

    /// True for tmux 3.4 and later ("3.3a" -> false, "3.4" -> true, "next-3.5" -> true).
    package static func tmuxSupportsSixel(version: String) -> Bool {
        let digits = version.drop { !$0.isNumber }
        let parts = digits.split(separator: ".", maxSplits: 1)
        guard let major = parts.first.flatMap({ Int($0) }) else { return false }
        let minor = parts.count > 1 ? Int(parts[1].prefix { $0.isNumber }) ?? 0 : 0
        return major > 3 || (major == 3 && minor >= 4)
    }

    /// Terminals known to take 24-bit SGR whose XTVERSION we recognise (xterm since patch 331).
    static func knownTruecolorTerminal(_ version: String?) -> Bool {
        guard let version else { return false }
        if version.hasPrefix("XTerm(") {
            let number = Int(version.dropFirst(6).prefix { $0.isNumber }) ?? 0
            return number >= 331
        }
        let names = ["kitty", "WezTerm", "foot", "iTerm2", "contour", "ghostty", "Konsole", "mlterm"]
        return names.contains { version.lowercased().hasPrefix($0.lowercased()) }
    }

    // MARK: - Probing a real terminal

    /// Queries the terminal on `inputFD`/`outputFD` and combines the answers with `environment` and the
    /// window size. The input tty is put in non-canonical, no-echo mode for the duration and restored on
    /// every path; replies are read until the DA1 answer arrives or `timeout` seconds pass. Keys typed
    /// during the probe are consumed. Not a tty: environment and window size only.
    package static func probe(
        inputFD: Int32, outputFD: Int32, environment: [String: String], timeout: Double
    ) -> TerminalCapabilities {
        let size = windowSize(fd: outputFD) ?? windowSize(fd: inputFD)
        guard isatty(inputFD) == 1, isatty(outputFD) == 1 else {
            return combine(replies: TerminalReplies(), environment: environment, windowSize: size)
        }
        let bytes = queryReplies(inputFD: inputFD, outputFD: outputFD, timeout: timeout)
        return combine(replies: TerminalReplyParser.parse(bytes), environment: environment, windowSize: size)
    }

    /// TIOCGWINSZ of `fd`, or nil when it is not a terminal.
    package static func windowSize(fd: Int32) -> WindowSize? {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0 else { return nil }
        return WindowSize(
            columns: Int(size.ws_col), rows: Int(size.ws_row), pixelWidth: Int(size.ws_xpixel),
            pixelHeight: Int(size.ws_ypixel))
    }

    /// Sends `queries` and collects the raw replies (empty when the tty cannot be configured).
    static func queryReplies(inputFD: Int32, outputFD: Int32, timeout: Double) -> [UInt8] {
        var original = termios()
        guard tcgetattr(inputFD, &original) == 0 else { return [] }
        var raw = original
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(inputFD, TCSANOW, &raw) == 0 else { return [] }
        defer { _ = tcsetattr(inputFD, TCSANOW, &original) }

        guard writeAll(outputFD, queries) else { return [] }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = monotonicSeconds() + max(0, timeout)
        while true {
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 { break }
            var descriptor = pollfd(fd: inputFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(min(remaining * 1000, 60_000).rounded(.up)))
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if ready == 0 { continue }
            let count = buffer.withUnsafeMutableBytes { read(inputFD, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                break
            }
            if count == 0 { break }
            received.append(contentsOf: buffer[0..<count])
            if TerminalReplyParser.containsDeviceAttributes(received) { break }
        }
        return received
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return write(fd, base + offset, raw.count - offset)
            }
            if written < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return false
            }
            offset += written
        }
        return true
    }
}

/// A terminal's size in cells and (when the terminal fills them in) pixels, as TIOCGWINSZ reports it.
package struct WindowSize: Sendable, Equatable {
    package var columns: Int
    package var rows: Int
    package var pixelWidth: Int
    package var pixelHeight: Int

    package init(columns: Int, rows: Int, pixelWidth: Int = 0, pixelHeight: Int = 0) {
        self.columns = columns
        self.rows = rows
        self.pixelWidth = pixelWidth
        self.pixelHeight = pixelHeight
    }
}

/// The renderer the user asked for (`--graphics`); `auto` follows detection.
package enum GraphicsMode: String, Sendable, CaseIterable {
    case auto
    case halfblock
    case halfblock256
    case sixel

    /// The renderer to use: an explicit choice always wins; `auto` picks sixel when the terminal has it
    /// with at least `SixelEncoder.registerCount` colour registers and a known cell size, else half-blocks
    /// in truecolor when detected, else in 256 colours.
    package func resolve(_ capabilities: TerminalCapabilities) -> GraphicsRenderer {
        switch self {
        case .halfblock: return .halfBlock(.truecolor)
        case .halfblock256: return .halfBlock(.palette256)
        case .sixel: return .sixel
        case .auto:
            if capabilities.sixel && capabilities.colorRegisters >= SixelEncoder.registerCount
                && capabilities.cellWidth != nil && capabilities.cellHeight != nil
            {
                return .sixel
            }
            return .halfBlock(capabilities.truecolor ? .truecolor : .palette256)
        }
    }
}

/// A concrete renderer for the video region.
package enum GraphicsRenderer: Sendable, Equatable {
    case halfBlock(HalfBlockEncoder.ColorMode)
    case sixel
}

/// Small control sequences the viewer wraps around encoder output.
package enum TerminalControl {
    /// `frame` between `CSI ? 2026 h` and `CSI ? 2026 l`, so a terminal with synchronized output
    /// (`TerminalCapabilities.synchronizedOutput`) presents it at once; others ignore the two sequences.
    package static func synchronized(_ frame: [UInt8]) -> [UInt8] {
        guard !frame.isEmpty else { return frame }
        return Array("\u{1B}[?2026h".utf8) + frame + Array("\u{1B}[?2026l".utf8)
    }
}
