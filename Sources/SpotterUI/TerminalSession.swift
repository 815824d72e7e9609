import CNcurses
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Why the terminal cannot be used.
package enum TerminalError: Error, CustomStringConvertible, Equatable {
    case notATerminal
    case cannotInitialise(String)
    case tooSmall(columns: Int, rows: Int)

    package var description: String {
        switch self {
        case .notATerminal:
            return "standard input and output must be a terminal (use `spotter render` to print a frame)"
        case .cannotInitialise(let term):
            return "cannot initialise the terminal (TERM=\(term)); try TERM=xterm-256color"
        case .tooSmall(let c, let r):
            return "terminal is \(c)x\(r), Spotter needs at least \(Layout.minimumColumns)x\(Layout.minimumRows)"
        }
    }
}

/// Owns ncurses for the lifetime of the TUI and puts the terminal back on every exit path:
/// normal quit, Ctrl-C, SIGTERM/SIGHUP, and crashes (`TerminalRestore` holds the signal handlers).
package final class TerminalSession {
    /// Undoes every mode the session turns on.
    static var restoreSequence: String { TerminalRestore.sequence }

    private var screen: OpaquePointer?
    private var ended = false

    /// Size of the terminal on `fd` without initialising curses.
    package static func size(of fd: Int32 = STDOUT_FILENO) -> (columns: Int, rows: Int)? {
        var ws = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0, ws.ws_row > 0 else { return nil }
        return (Int(ws.ws_col), Int(ws.ws_row))
    }

    package init() throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else { throw TerminalError.notATerminal }
        TerminalSession.ensureUTF8Locale()
        var savedTermios = termios()
        let haveSavedTermios = tcgetattr(STDIN_FILENO, &savedTermios) == 0
        guard let scr = newterm(nil, stdout, stdin) else {
            throw TerminalError.cannotInitialise(ProcessInfo.processInfo.environment["TERM"] ?? "")
        }
        screen = scr
        _ = set_term(scr)
        TerminalRestore.install(savedTermios: haveSavedTermios ? savedTermios : nil)
        cbreak()
        noecho()
        nonl()
        _ = keypad(spotter_stdscr(), true)
        _ = curs_set(0)
        _ = set_escdelay(25)
        _ = mouseinterval(0)
        _ = mousemask(spotter_all_mouse_events() | spotter_report_mouse_position(), nil)
        if has_colors() {
            _ = start_color()
            _ = use_default_colors()
        }
    }

    deinit { end() }

    /// Leaves curses and restores the terminal; safe to call more than once.
    package func end() {
        guard !ended else { return }
        ended = true
        endwin()
        if let scr = screen { delscreen(scr) }
        screen = nil
        TerminalRestore.restoreNow()
        TerminalRestore.uninstall()
    }

    /// True once SIGINT, SIGTERM or SIGHUP arrived.
    package var interrupted: Bool { TerminalRestore.pendingSignal != nil }

    /// The signal that ended the session (SIGINT, SIGTERM or SIGHUP), if one did: the command exits 128 + N.
    package var interruptingSignal: Int32? { TerminalRestore.pendingSignal }

    package var columns: Int { Int(spotter_cols()) }
    package var rows: Int { Int(spotter_lines()) }

    /// Waits up to `milliseconds` for one input event; nil on timeout.
    package func nextEvent(timeoutMilliseconds: Int) -> InputEvent? {
        wtimeout(spotter_stdscr(), Int32(max(0, timeoutMilliseconds)))
        var ch: wint_t = 0
        let status = get_wch(&ch)
        if status == ERR { return nil }
        if status == KEY_CODE_YES {
            return decodeKeyCode(Int32(ch))
        }
        return decodeCharacter(UInt32(ch))
    }

    /// Waits up to `milliseconds` for one input event, returning early (nil) when `wakeDescriptor` becomes
    /// readable (an effect result arrived).
    package func nextEvent(timeoutMilliseconds: Int, wakeDescriptor: Int32) -> InputEvent? {
        if let event = nextEvent(timeoutMilliseconds: 0) { return event }
        var fds = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)]
        let ready = poll(&fds, nfds_t(fds.count), Int32(max(0, timeoutMilliseconds)))
        guard ready > 0, fds[0].revents != 0 else { return nil }
        // Input is waiting: ncurses reads it, waiting at most its escape delay for the rest of a sequence.
        return nextEvent(timeoutMilliseconds: 30)
    }

    private func decodeKeyCode(_ code: Int32) -> InputEvent? {
        switch code {
        case KEY_RESIZE: return .resize(columns: columns, rows: rows)
        case KEY_MOUSE:
            var event = MEVENT()
            guard getmouse(&event) == OK else { return nil }
            return decodeMouse(event)
        case KEY_LEFT: return .key(.left)
        case KEY_RIGHT: return .key(.right)
        case KEY_UP: return .key(.up)
        case KEY_DOWN: return .key(.down)
        case KEY_SLEFT: return .key(.shiftLeft)
        case KEY_SRIGHT: return .key(.shiftRight)
        case KEY_SR: return .key(.shiftUp)
        case KEY_SF: return .key(.shiftDown)
        case KEY_PPAGE: return .key(.pageUp)
        case KEY_NPAGE: return .key(.pageDown)
        case KEY_HOME: return .key(.home)
        case KEY_END: return .key(.end)
        case KEY_ENTER: return .key(.enter)
        case KEY_BACKSPACE: return .key(.backspace)
        case KEY_DC: return .key(.delete)
        case KEY_BTAB: return .key(.backTab)
        default: return nil
        }
    }

    private func decodeCharacter(_ scalar: UInt32) -> InputEvent? {
        switch scalar {
        case 13, 10: return .key(.enter)
        case 27: return .key(.escape)
        case 9: return .key(.tab)
        case 127, 8: return .key(.backspace)
        case 1...26: return .key(.control(Character(Unicode.Scalar(scalar + 96)!)))
        default:
            guard let u = Unicode.Scalar(scalar) else { return nil }
            return .key(.character(Character(u)))
        }
    }

    private func decodeMouse(_ event: MEVENT) -> InputEvent? {
        let state = event.bstate
        let kind: MouseEvent.Kind
        // A press and release read together come back as one "clicked" event, even with mouseinterval(0).
        if state & (spotter_button1_pressed() | spotter_button1_clicked()) != 0 {
            kind = .press
        } else if state & spotter_button1_released() != 0 {
            kind = .release
        } else if state & spotter_button3_pressed() != 0 {
            kind = .rightPress
        } else if state & spotter_button4_pressed() != 0 {
            kind = .scrollUp
        } else if state & spotter_button5_pressed() != 0 {
            kind = .scrollDown
        } else if state & spotter_report_mouse_position() != 0 {
            kind = .drag
        } else {
            return nil
        }
        return .mouse(MouseEvent(kind: kind, column: Int(event.x), row: Int(event.y)))
    }

    /// Blanks the screen model and forces the next refresh to repaint every cell (after overlays close, resize, Ctrl-L);
    /// the panes are drawn again and the picture region is sent again by the presenter.
    package func invalidateScreen() {
        _ = werase(spotter_stdscr())
        _ = clearok(spotter_stdscr(), true)
    }

    /// Sends ncurses' pending changes to the terminal.
    package func flush() {
        _ = wnoutrefresh(spotter_stdscr())
        _ = doupdate()
        fflush(stdout)
    }

    /// Writes bytes straight to the terminal in one call, after ncurses' own output.
    package func writeRaw(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        fflush(stdout)
        bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return
                }
                offset += n
            }
        }
    }

    /// Block and box glyphs need a UTF-8 locale; fall back to C.UTF-8 when the environment has none.
    static func ensureUTF8Locale() {
        setlocale(LC_ALL, "")
        if let codeset = nl_langinfo(nl_item(CODESET)), String(cString: codeset).uppercased().replacingOccurrences(of: "-", with: "") == "UTF8" {
            return
        }
        setlocale(LC_CTYPE, "C.UTF-8")
    }
}
