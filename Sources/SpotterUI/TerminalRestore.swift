import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The one set of signal handlers of the TUI. Every way the process can end while curses owns the terminal puts back
/// every mode Spotter turned on (alternate screen, mouse reports, keypad transmit, hidden cursor, bracketed paste,
/// attributes, termios):
/// - SIGINT, SIGTERM, SIGHUP: the first one asks the event loop to end (edits are already durable), which restores
///   the terminal and exits 128 + N; a second one restores at once and ends with the signal's default action.
/// - SIGQUIT, SIGUSR1, SIGPIPE, SIGALRM: restore, then the default action (exit status 128 + N).
/// - SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT: restore (on an alternate stack, so a stack overflow can be
///   handled), then the default action. These handlers replace the Swift runtime's backtracer while the TUI runs,
///   so it never draws over the screen or waits for a key; outside the TUI, `SWIFT_BACKTRACE` decides (see
///   docs/robustness.md).
package enum TerminalRestore {
    /// Undoes every mode the session turns on: mouse reports, keypad transmit (`ESC[?1l ESC>`), bracketed paste,
    /// hidden cursor, attributes, alternate screen.
    package static let sequence =
        "\u{1B}[?1000l\u{1B}[?1002l\u{1B}[?1003l\u{1B}[?1006l\u{1B}[?1015l\u{1B}[?1016l\u{1B}[?2004l"
        + "\u{1B}[?1l\u{1B}>\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l\r\n"

    /// Signals that ask the event loop to end.
    package static let gracefulSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    /// Signals that end the process at once after restoring.
    package static let immediateSignals: [Int32] = [SIGQUIT, SIGUSR1, SIGPIPE, SIGALRM]
    /// Crash signals: restore, then the default action.
    package static let crashSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT]

    /// Installs the handlers; `termios` is the terminal state to put back.
    package static func install(savedTermios: termios?) {
        if let saved = savedTermios {
            restoreState.pointee.termios = saved
            restoreState.pointee.haveTermios = 1
        }
        pendingSignalNumber = 0
        installAlternateStack()
        for sig in gracefulSignals { setHandler(sig, gracefulHandler) }
        for sig in immediateSignals + crashSignals { setHandler(sig, fatalHandler) }
    }

    /// Puts back the dispositions in place before `install` (the runtime's own handlers, SIG_IGN, or the defaults).
    package static func uninstall() {
        for (sig, action) in previousActions {
            var action = action
            sigaction(sig, &action, nil)
        }
        previousActions = [:]
    }

    /// Writes the restore sequence and puts back the saved termios (async-signal-safe).
    package static func restoreNow() { restoreTerminal() }

    /// The graceful signal that asked the loop to end, if any.
    package static var pendingSignal: Int32? { pendingSignalNumber == 0 ? nil : pendingSignalNumber }

    /// The exit status for a process ended by `signal`: 128 + N, as a shell reports it.
    package static func exitStatus(for signal: Int32) -> Int32 { 128 + signal }

    private static func setHandler(_ sig: Int32, _ handler: @convention(c) (Int32) -> Void) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = handler
        sigemptyset(&action.sa_mask)
        action.sa_flags = Int32(SA_ONSTACK)
        var previous = sigaction()
        sigaction(sig, &action, &previous)
        if previousActions[sig] == nil { previousActions[sig] = previous }
    }

    /// What each signal did before `install`.
    private static var previousActions: [Int32: sigaction] = [:]

    private static func installAlternateStack() {
        guard alternateStack == nil else { return }
        let size = 1 << 16
        guard let memory = malloc(size) else { return }
        var stack = stack_t()
        stack.ss_sp = memory
        stack.ss_size = size
        stack.ss_flags = 0
        if sigaltstack(&stack, nil) == 0 { alternateStack = memory } else { free(memory) }
    }
}

/// What the handlers read: fixed bytes and the saved termios in memory allocated once, never touched by Swift's
/// runtime from inside a handler.
private struct RestoreState {
    var termios = Glibc.termios()
    var haveTermios: Int32 = 0
}

private let restoreState: UnsafeMutablePointer<RestoreState> = {
    let p = UnsafeMutablePointer<RestoreState>.allocate(capacity: 1)
    p.initialize(to: RestoreState())
    return p
}()

private let restoreBytes: (pointer: UnsafeMutablePointer<UInt8>, count: Int) = {
    let bytes = Array(TerminalRestore.sequence.utf8)
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count)
    p.initialize(from: bytes, count: bytes.count)
    return (p, bytes.count)
}()

private var pendingSignalNumber: sig_atomic_t = 0
private var alternateStack: UnsafeMutableRawPointer?

private func restoreTerminal() {
    var offset = 0
    while offset < restoreBytes.count {
        let n = write(STDOUT_FILENO, restoreBytes.pointer + offset, restoreBytes.count - offset)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        offset += n
    }
    if restoreState.pointee.haveTermios != 0 { _ = tcsetattr(STDIN_FILENO, TCSANOW, &restoreState.pointee.termios) }
}

/// Restores, then lets the signal take its default action (the process ends with 128 + N, or dumps core).
private func endWithDefaultAction(_ sig: Int32) {
    restoreTerminal()
    signal(sig, SIG_DFL)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, sig)
    sigprocmask(SIG_UNBLOCK, &set, nil)
    raise(sig)
}

private func gracefulHandler(_ sig: Int32) {
    if pendingSignalNumber != 0 { endWithDefaultAction(sig) }
    pendingSignalNumber = sig
}

private func fatalHandler(_ sig: Int32) {
    endWithDefaultAction(sig)
}
