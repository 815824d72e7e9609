import Foundation
import Testing

@testable import SpotterUI

/// The handler set covers every signal the TUI must survive, puts back what was there before, and the restore
/// sequence undoes every mode the session turns on.
@Test func terminalRestoreInstallsAndPutsBackDispositions() {
    func handler(_ sig: Int32) -> UnsafeMutableRawPointer? {
        var current = sigaction()
        sigaction(sig, nil, &current)
        return unsafeBitCast(current.__sigaction_handler.sa_handler, to: UnsafeMutableRawPointer?.self)
    }
    let ignore = unsafeBitCast(SIG_IGN, to: UnsafeMutableRawPointer?.self)
    let all = TerminalRestore.gracefulSignals + TerminalRestore.immediateSignals + TerminalRestore.crashSignals
    #expect(Set(all) == [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGPIPE, SIGALRM, SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT])
    let before = all.map(handler)
    signal(SIGALRM, SIG_IGN)
    let ignoredBefore = handler(SIGALRM)
    TerminalRestore.install(savedTermios: nil)
    for sig in all { #expect(handler(sig) != ignore && handler(sig) != nil, "signal \(sig) has no handler") }
    #expect(TerminalRestore.pendingSignal == nil)
    TerminalRestore.uninstall()
    #expect(handler(SIGALRM) == ignoredBefore)
    signal(SIGALRM, SIG_DFL)
    #expect(zip(all, before).allSatisfy { $0.0 == SIGALRM || handler($0.0) == $0.1 })

    for mode in ["\u{1B}[?1049l", "\u{1B}[?25h", "\u{1B}[?1l\u{1B}>", "\u{1B}[?2004l", "\u{1B}[?1000l", "\u{1B}[?1002l",
                 "\u{1B}[?1003l", "\u{1B}[?1006l", "\u{1B}[0m"] {
        #expect(TerminalRestore.sequence.contains(mode), "\(mode.debugDescription) is not undone")
    }
    #expect(TerminalRestore.exitStatus(for: SIGTERM) == 143 && TerminalRestore.exitStatus(for: SIGINT) == 130)
}
