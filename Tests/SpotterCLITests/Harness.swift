import Foundation

/// The package root, found from this file's path.
let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The `spotter` executable built next to the test bundle.
let spotterBinary: String = {
    if let explicit = ProcessInfo.processInfo.environment["SPOTTER_BIN"] { return explicit }
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("spotter")
    if FileManager.default.isExecutableFile(atPath: beside.path) { return beside.path }
    let bundleDir = Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("spotter")
    if FileManager.default.isExecutableFile(atPath: bundleDir.path) { return bundleDir.path }
    return packageRoot.appendingPathComponent(".build/debug/spotter").path
}()

func samplePath(_ name: String) -> String { packageRoot.appendingPathComponent("Samples").appendingPathComponent(name).path }

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var stdoutBytes: Data
}

/// Runs `spotter` with `arguments` and collects its output.
func runSpotter(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
    try runProcess(spotterBinary, arguments, environment: environment)
}

/// Runs a program to completion with posix_spawn and waitpid (Foundation's Process can miss the exit of a
/// child whose own child daemonises, as tmux's client does). Output goes through temporary files, so a
/// daemon holding the descriptors open cannot block the caller; `captureOutput: false` discards it.
func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], captureOutput: Bool = true
) throws -> ProcessResult {
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    let directory = FileManager.default.temporaryDirectory
    let token = UUID().uuidString
    let outPath = captureOutput ? directory.appendingPathComponent("spotter-test-\(token).out").path : "/dev/null"
    let errPath = captureOutput ? directory.appendingPathComponent("spotter-test-\(token).err").path : "/dev/null"
    defer {
        if captureOutput {
            unlink(outPath)
            unlink(errPath)
        }
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        argv.forEach { free($0) }
        envp.forEach { free($0) }
    }
    // The child starts with no signal blocked and default dispositions: test threads block most signals, and a
    // tmux server that inherited that mask never receives the SIGTERM its own kill-server sends it (it would
    // outlive the test with its pane's program still running).
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    var allSignals = sigset_t()
    sigfillset(&allSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    guard spawned == 0 else { throw TmuxError(message: "cannot start \(executable): error \(spawned)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    let outData = captureOutput ? (FileManager.default.contents(atPath: outPath) ?? Data()) : Data()
    let errData = captureOutput ? (FileManager.default.contents(atPath: errPath) ?? Data()) : Data()
    return ProcessResult(
        status: exitStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self), stdoutBytes: outData)
}

/// Names what this test run starts: `Scripts/test` sets it and afterwards fails the run if a tmux server or a
/// program carrying it is still alive.
let testRunTag: String = ProcessInfo.processInfo.environment["SPOTTER_TEST_RUN"] ?? "\(getpid())"

/// A private tmux server running one command in a detached pane of a fixed size. The server (and with it the
/// pane's program) is killed when the session is released, on every path out of a test.
final class TmuxSession {
    let socket: String
    let columns: Int
    let rows: Int

    init(command: [String], columns: Int, rows: Int, environment: [String: String] = [:]) throws {
        socket = "spotter-test-\(testRunTag)-\(UInt32.random(in: 0...UInt32.max))"
        self.columns = columns
        self.rows = rows
        // The shell ignores Ctrl-C so the pane outlives the program; the program installs its own handler.
        var environment = environment
        environment["SPOTTER_TEST_RUN"] = testRunTag
        let exports = environment.map { "\($0.key)=\(shellQuote($0.value))" }.joined(separator: " ")
        let line = (exports.isEmpty ? "" : "env \(exports) ") + command.map(shellQuote).joined(separator: " ")
        // `remain-on-exit` keeps the pane after the program ends so its exit status and last screen can be read.
        try tmux(captureOutput: false, ["-f", "/dev/null", "new-session", "-d", "-x", "\(columns)", "-y", "\(rows)", "-s", "t", "sh", "-c", "trap '' INT; " + line + "; echo \"[exit $?]\"; sleep 30"])
        do {
            try tmux(["set-option", "-t", "t", "status", "off"])
        } catch {
            _ = try? tmux(["kill-server"])
            throw error
        }
    }

    deinit { _ = try? tmux(["kill-server"]) }

    @discardableResult
    func tmux(captureOutput: Bool = true, _ arguments: [String]) throws -> String {
        let result = try runProcess(
            "/usr/bin/tmux", ["-L", socket] + arguments, environment: ["LANG": "C.UTF-8", "TERM": "xterm-256color"],
            captureOutput: captureOutput)
        if result.status != 0 { throw TmuxError(message: "tmux \(arguments.first ?? ""): \(result.stderr)") }
        return result.stdout
    }

    func send(_ keys: String...) throws { try tmux(["send-keys", "-t", "t"] + keys) }
    func sendLiteral(_ text: String) throws { try tmux(["send-keys", "-t", "t", "-l", text]) }

    /// The screen as text (`escapes` adds the SGR colour sequences of every cell).
    func capture(escapes: Bool = false) throws -> String {
        try tmux(["capture-pane", "-t", "t", "-p"] + (escapes ? ["-e"] : []))
    }

    /// Polls the screen until `predicate` holds or the program has ended (the shell's "[exit N]" line shows); returns
    /// the last screen seen. `seconds` only guards against a program that hangs: it is far longer than any
    /// expected wait, so a loaded machine does not turn slowness into a failure.
    @discardableResult
    func waitFor(seconds: Double = 300, escapes: Bool = false, _ predicate: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var screen = ""
        repeat {
            screen = try capture(escapes: escapes)
            if predicate(screen) || screen.contains("[exit ") { return screen }
            usleep(50_000)
        } while Date() < deadline
        return screen
    }
}

struct TmuxError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

func shellQuote(_ s: String) -> String {
    "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// Runs a program to completion on a pseudo-terminal of `columns` x `rows` (stdin, stdout and stderr all on it)
/// and returns what it wrote there: for programs that insist on a terminal but are expected to stop at once.
func runOnTerminal(_ executable: String, _ arguments: [String], columns: Int, rows: Int) throws -> ProcessResult {
    // Linux's pseudo-terminal multiplexer: unlock the new pair and ask its number (TIOCSPTLCK, TIOCGPTN).
    let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
    guard master >= 0 else { throw TmuxError(message: "cannot open a pseudo-terminal") }
    defer { close(master) }
    var unlock: Int32 = 0
    var number: UInt32 = 0
    guard ioctl(master, UInt(0x4004_5431), &unlock) == 0, ioctl(master, UInt(0x8004_5430), &number) == 0 else {
        throw TmuxError(message: "cannot set up a pseudo-terminal")
    }
    let slavePath = "/dev/pts/\(number)"
    var size = winsize(ws_row: UInt16(rows), ws_col: UInt16(columns), ws_xpixel: 0, ws_ypixel: 0)
    let slave = open(slavePath, O_RDWR | O_NOCTTY)
    guard slave >= 0, ioctl(slave, UInt(TIOCSWINSZ), &size) == 0 else { throw TmuxError(message: "cannot size \(slavePath)") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_adddup2(&actions, slave, fd) }
    posix_spawn_file_actions_addclose(&actions, master)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    var env = ProcessInfo.processInfo.environment
    env["TERM"] = "xterm-256color"
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        argv.forEach { free($0) }
        envp.forEach { free($0) }
    }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    close(slave)
    guard spawned == 0 else { throw TmuxError(message: "cannot start \(executable): error \(spawned)") }
    // Read until every holder of the terminal has closed it (EIO), then reap the child.
    var output = Data()
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(master, &buffer, buffer.count)
        if n > 0 {
            output.append(buffer, count: n)
        } else if n < 0 && errno == EINTR {
            continue
        } else {
            break
        }
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    let text = String(decoding: output, as: UTF8.self)
    return ProcessResult(status: exitStatus, stdout: text, stderr: "", stdoutBytes: output)
}
