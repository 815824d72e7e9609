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

/// Runs a program to completion. With `captureOutput: false` its output goes to /dev/null — needed for
/// programs that leave a daemon holding the pipes open (tmux starting its server).
func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], captureOutput: Bool = true
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    process.environment = env
    process.standardInput = FileHandle.nullDevice
    guard captureOutput else {
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return ProcessResult(status: process.terminationStatus, stdout: "", stderr: "", stdoutBytes: Data())
    }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes concurrently so a chatty child never blocks on a full pipe.
    final class Box: @unchecked Sendable { var data = Data() }
    let outBox = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        outBox.data = out.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    let outData = outBox.data
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self), stdoutBytes: outData)
}

/// A private tmux server running one command in a detached pane of a fixed size.
final class TmuxSession {
    let socket: String
    let columns: Int
    let rows: Int

    init(command: [String], columns: Int, rows: Int, environment: [String: String] = [:]) throws {
        socket = "spotter-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        self.columns = columns
        self.rows = rows
        let exports = environment.map { "\($0.key)=\(shellQuote($0.value))" }.joined(separator: " ")
        let line = (exports.isEmpty ? "" : "env \(exports) ") + command.map(shellQuote).joined(separator: " ")
        // `remain-on-exit` keeps the pane after the program ends so its exit status and last screen can be read.
        try tmux(captureOutput: false, ["-f", "/dev/null", "new-session", "-d", "-x", "\(columns)", "-y", "\(rows)", "-s", "t", "sh", "-c", line + "; echo \"[exit $?]\"; sleep 30"])
        try tmux(["set-option", "-t", "t", "status", "off"])
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

    /// Polls the screen until `predicate` holds or `seconds` pass; returns the last screen seen.
    @discardableResult
    func waitFor(seconds: Double = 20, escapes: Bool = false, _ predicate: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var screen = ""
        repeat {
            screen = try capture(escapes: escapes)
            if predicate(screen) { return screen }
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
