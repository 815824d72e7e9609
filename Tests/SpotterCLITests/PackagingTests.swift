import Foundation
import Testing

/// What a person gets from the binary itself, wherever it is installed.
struct PackagingTests {
    @Test func versionNamesTheReleaseAndTheCommit() throws {
        let result = try runSpotter(["--version"])
        #expect(result.status == 0, "\(result.stderr)")
        let line = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line.hasPrefix("spotter "), "\(line)")
        // `git describe --always` gives at least 12 hex digits of the commit; a tree without git says unknown.
        let commit = line.split(separator: " ").last.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ")")) } ?? ""
        let hex = commit.replacingOccurrences(of: "-dirty", with: "")
        #expect(commit == "unknown" || (hex.count >= 12 && hex.allSatisfy(\.isHexDigit)), "\(line)")
    }

    /// `Scripts/install PREFIX` puts a working `spotter` in PREFIX/bin; themes travel inside it.
    @Test func installPutsAWorkingBinaryOnThePath() throws {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("spotter-prefix-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: prefix) }
        let built = spotterBinary
        let install = try runProcess(
            packageRoot.appendingPathComponent("Scripts/install").path, [prefix.path],
            environment: ["SPOTTER_BINARY": built])
        #expect(install.status == 0, "\(install.stderr)")
        let installed = prefix.appendingPathComponent("bin/spotter").path
        #expect(FileManager.default.isExecutableFile(atPath: installed))
        let version = try runProcess(installed, ["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("spotter "), "\(version.stderr)")
    }
}
