import Foundation
import Testing

@testable import Annotations

#if canImport(Glibc)
    import Glibc
#endif

/// Kills a writing process with SIGKILL at arbitrary moments and checks that every edit it reported as committed
/// (what a screen would have shown) is in the reopened project. The writer is this test binary re-executed with
/// an environment variable that turns the same test into the writer.
@Suite struct CrashDurabilityTests {
    static let writerVariable = "SPOTTER_ANNOTATIONS_CRASH_WRITER"
    static let testName = "killDashNineKeepsEveryReportedEdit"

    @Test func killDashNineKeepsEveryReportedEdit() throws {
        if let path = ProcessInfo.processInfo.environment[Self.writerVariable] {
            Self.writeUntilKilled(path: path)
        }
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var rng = SeededGenerator(seed: 9)
        for (round, killAfter) in [5, 120, 300].enumerated() {
            let url = dir.file("crash-\(round).spotter")
            let setup = try ProjectStore.create(at: url, media: testVideo(frameCount: 1_000_000))
            let track = try #require(try setup.apply(.createTrack(NewTrack(label: "written"))).createdTracks.first)
            try setup.close()

            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["--testing-library", "swift-testing", "--filter", Self.testName]
            var environment = ProcessInfo.processInfo.environment
            environment[Self.writerVariable] = url.path
            process.environment = environment
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()

            var reported: [(edit: Int64, frame: Int)] = []
            var pending = ""
            func consume(_ data: Data) {
                pending += String(decoding: data, as: UTF8.self)
                while let newline = pending.firstIndex(of: "\n") {
                    let line = pending[..<newline]
                    pending = String(pending[pending.index(after: newline)...])
                    let parts = line.split(separator: " ")
                    if parts.count == 3, parts[0] == "COMMITTED", let edit = Int64(parts[1]), let frame = Int(parts[2]) {
                        reported.append((edit, frame))
                    }
                }
            }
            let reader = pipe.fileHandleForReading
            while reported.count < killAfter {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                consume(chunk)
            }
            // Kill at an arbitrary point of the writer's loop (often inside a commit).
            usleep(UInt32.random(in: 0...3_000, using: &rng))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            consume(reader.readDataToEndOfFile())
            #expect(process.terminationReason == .uncaughtSignal)
            #expect(reported.count >= killAfter, "round \(round): the writer reported only \(reported.count) edits")

            let reopened = try ProjectStore.open(at: url)
            #expect(try reopened.pragma("integrity_check") == "ok")
            let applied = Set(try reopened.editHistory().filter { $0.state == .applied }.map(\.id))
            let stored = try #require(reopened.track(track))
            var missing = 0
            for report in reported {
                if !applied.contains(report.edit) || stored.entry(at: report.frame)?.x != Double(report.frame) {
                    missing += 1
                }
            }
            #expect(missing == 0, "round \(round): \(missing) of \(reported.count) reported edits are missing")
            try reopened.close()
        }
    }

    /// The writer: commits edits as fast as it can and reports each after `apply` returns; never returns.
    static func writeUntilKilled(path: String) -> Never {
        do {
            let store = try ProjectStore.open(at: URL(fileURLWithPath: path))
            guard let track = store.trackIDs.first else { exit(2) }
            let output = FileHandle.standardOutput
            for i in 0..<200_000 {
                if i % 50 == 49 {
                    // A larger transaction now and then.
                    let entries = (0..<500).map { PointEntry(frame: $0, x: Double(i), y: 0, provenance: .tracker) }
                    try store.apply(.createTrack(NewTrack(label: "bulk", entries: entries)), actor: .tracker)
                    continue
                }
                let result = try store.apply(.setPoint(track, frame: i, x: Double(i), y: 1))
                output.write(Data("COMMITTED \(result.editID ?? -1) \(i)\n".utf8))
            }
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("writer failed: \(error)\n".utf8))
            exit(3)
        }
    }
}
