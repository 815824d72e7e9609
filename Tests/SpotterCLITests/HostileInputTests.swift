import Foundation
import GRDB
import Testing

/// A copy of a checkpoint fixture (files symlinked) whose text_config is changed by `edit`.
private func craftedCheckpoint(_ edit: (inout [String: Any]) -> Void) throws -> URL {
    let source = packageRoot.appendingPathComponent("Tests/MolmoRuntimeTests/Fixtures/qwen3-vision-tiny")
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("spotter-cli-crafted-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name != "config.json" {
        try FileManager.default.createSymbolicLink(
            at: url.appendingPathComponent(name), withDestinationURL: source.appendingPathComponent(name))
    }
    var root = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as! [String: Any]
    var text = root["text_config"] as! [String: Any]
    edit(&text)
    root["text_config"] = text
    try JSONSerialization.data(withJSONObject: root).write(to: url.appendingPathComponent("config.json"))
    return url
}

/// One line on stderr, `spotter: …`, and the given status: never a trap (132/133) with a backtrace.
private func expectOneLineFailure(_ result: ProcessResult, status: Int32 = 1, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == status, "status \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
    // `ask` shows a "loading …" progress line first; the failure itself is one line.
    let lines = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("loading ") }
    #expect(lines.count == 1 && lines[0].hasPrefix("spotter: "), "\(result.stderr)", sourceLocation: sourceLocation)
    #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Crash"), sourceLocation: sourceLocation)
    #expect(!result.stderr.contains("\u{1B}"), sourceLocation: sourceLocation)
}

@Suite(.serialized) struct HostileCLIInputTests {
    @Test(arguments: ["1152921504606846976", "4611686018427387904", "9223372036854775807", "0", "-3"])
    func doctorRefusesContextsOutOfRange(context: String) throws {
        let result = try runSpotter([
            "doctor", "--model", packageRoot.appendingPathComponent("Tests/MolmoRuntimeTests/Fixtures/qwen3-vision-tiny").path,
            "--context", context,
        ])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("--context"))
    }

    @Test func doctorAndAskRefuseHostileConfigNumbersWithOneLine() throws {
        let edits: [(String, (inout [String: Any]) -> Void)] = [
            ("additional_vocab_size", { $0["additional_vocab_size"] = Int.max }),
            ("rope_theta", { $0["rope_parameters"] = ["rope_theta": 1e308, "rope_type": "default"] }),
            ("num_hidden_layers", { $0["num_hidden_layers"] = 1_000_000 }),
        ]
        for (field, edit) in edits {
            let checkpoint = try craftedCheckpoint(edit)
            defer { try? FileManager.default.removeItem(at: checkpoint) }
            let doctor = try runSpotter(["doctor", "--model", checkpoint.path])
            expectOneLineFailure(doctor)
            #expect(doctor.stderr.contains(field), "\(doctor.stderr)")
            let ask = try runSpotter(["ask", samplePath("stills/shapes_frame000.png"), "Point to the disc.", "--model", checkpoint.path])
            expectOneLineFailure(ask)
            #expect(ask.stderr.contains(field), "\(ask.stderr)")
        }
    }

    @Test func aShardThatIsAFIFODoesNotBlockDoctorOrAsk() throws {
        let checkpoint = try craftedCheckpoint { _ in }
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        let shard = checkpoint.appendingPathComponent("model-00001-of-00004.safetensors")
        try FileManager.default.removeItem(at: shard)
        #expect(mkfifo(shard.path, 0o600) == 0)
        for arguments in [["doctor", "--model", checkpoint.path],
                          ["ask", samplePath("stills/shapes_frame000.png"), "Point.", "--model", checkpoint.path]] {
            let result = try runSpotter(arguments)
            expectOneLineFailure(result)
            #expect(result.stderr.contains("not a regular file"), "\(result.stderr)")
        }
    }

    @Test func exportAndImportRefuseProjectsWithIdsAtTheLimit() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spotter-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let golden = packageRoot.appendingPathComponent("Tests/AnnotationsTests/Fixtures/golden-small.jsonl").path
        for sql in [
            "PRAGMA foreign_keys = OFF; UPDATE entry SET track_id = 9223372036854775807 WHERE track_id = 1; "
                + "UPDATE track SET id = 9223372036854775807 WHERE id = 1",
            "UPDATE project_meta SET value = '9223372036854775807' WHERE key = 'next_track_id'",
        ] {
            let project = directory.appendingPathComponent("p-\(UUID().uuidString).spotter").path
            let made = try runSpotter(["import", golden, "--media", samplePath("shapes.mp4"), "--project", project, "--force"])
            #expect(made.status == 0, "\(made.stderr)")
            let queue = try DatabaseQueue(path: project)
            try queue.write { try $0.execute(sql: sql) }
            try queue.close()
            let export = try runSpotter(["export", project, "--format", "tapvid", "-o", directory.appendingPathComponent("out.json").path])
            expectOneLineFailure(export)
            #expect(export.stderr.contains("out of range"), "\(export.stderr)")
            let again = try runSpotter(["import", golden, "--media", samplePath("shapes.mp4"), "--project", project, "--force"])
            expectOneLineFailure(again)
            #expect(again.stderr.contains("out of range"), "\(again.stderr)")
        }
    }

    @Test func errorsNeverSendTerminalCodesOrBreakLines() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spotter-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let hostile = directory.appendingPathComponent("evil\u{1B}[31mred\nsecond line.jsonl")
        try Data("{\"not\": \"a record\"\n".utf8).write(to: hostile)
        let result = try runSpotter([
            "import", hostile.path, "--media", samplePath("shapes.mp4"), "--format", "molmo2",
            "--project", directory.appendingPathComponent("p.spotter").path,
        ])
        expectOneLineFailure(result)
        #expect(result.stderr.contains("evil\\e[31mred\\nsecond line.jsonl"), "\(result.stderr)")
    }
}

/// The TUI under signals, in a real terminal (tmux): every mode is put back and the exit status is 128 + N.
@Suite(.serialized) struct TerminalSignalTests {
    static let cases: [(String, Int32)] = [
        ("INT", SIGINT), ("TERM", SIGTERM), ("HUP", SIGHUP), ("QUIT", SIGQUIT), ("USR1", SIGUSR1), ("PIPE", SIGPIPE),
        ("ALRM", SIGALRM), ("SEGV", SIGSEGV), ("ILL", SIGILL), ("ABRT", SIGABRT),
    ]

    @Test(arguments: cases) func everySignalRestoresTheTerminalAndExitsWith128PlusN(name: String, signal: Int32) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spotter-signal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tmux = try TmuxSession(
            command: [spotterBinary, "open", samplePath("shapes.mp4"), "--graphics", "halfblock",
                      "--project", directory.appendingPathComponent("p.spotter").path],
            columns: 100, rows: 32, environment: ["TERM": "xterm-256color"])
        let started = try tmux.waitFor { $0.contains("frame 0/") }
        #expect(started.contains("frame 0/"), "the viewer did not start:\n\(started)")
        let modesWhileRunning = try tmux.tmux(["display", "-p", "-t", "t", "#{alternate_on} #{keypad_cursor_flag} #{mouse_any_flag}"])
        #expect(modesWhileRunning.hasPrefix("1 1 1"), "the viewer did not turn its modes on: \(modesWhileRunning)")

        let shell = try #require(Int32(tmux.tmux(["display", "-p", "-t", "t", "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)))
        let children = try String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)
        let viewer = try #require(children.split(separator: " ").first.flatMap { Int32($0) })
        // On a terminal Spotter runs with the backtracer's interactive prompt off.
        let environment = try String(decoding: Data(contentsOf: URL(fileURLWithPath: "/proc/\(viewer)/environ")), as: UTF8.self)
        #expect(environment.split(separator: "\0").contains("SWIFT_BACKTRACE=interactive=no"))
        #expect(kill(viewer, signal) == 0)
        let screen = try tmux.waitFor { $0.contains("[exit ") }
        #expect(screen.contains("[exit \(128 + signal)]"), "SIG\(name):\n\(screen)")
        #expect(!screen.contains("Crash") && !screen.contains("Backtrace"), "the backtracer took over:\n\(screen)")
        let modes = try tmux.tmux([
            "display", "-p", "-t", "t",
            "#{alternate_on} #{keypad_cursor_flag} #{keypad_flag} #{mouse_any_flag} #{mouse_button_flag} #{mouse_sgr_flag} #{cursor_flag}",
        ])
        #expect(modes.trimmingCharacters(in: .whitespacesAndNewlines) == "0 0 0 0 0 0 1", "SIG\(name) left modes on: \(modes)")
    }
}
