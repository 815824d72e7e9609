import Foundation
import PackagePlugin

/// Writes `BuildInfo.swift` (the package version and the git commit the binary is built from) before every build,
/// so `spotter --version` names the commit wherever the binary is later installed.
@main
struct BuildInfo: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildInfo.swift")
        let package = context.package.directoryURL.path
        // `git describe --always --dirty` where git and a checkout exist; "unknown" otherwise (a source tarball).
        let script = """
            commit=$(git -C '\(package)' describe --always --dirty --abbrev=12 --exclude='*' 2>/dev/null || echo unknown)
            text="package enum BuildInfo { package static let commit = \\"$commit\\" }"
            [ "$(cat '\(output.path)' 2>/dev/null)" = "$text" ] || printf '%s\\n' "$text" > '\(output.path)'
            """
        return [
            .prebuildCommand(
                displayName: "Recording the commit being built", executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script], outputFilesDirectory: context.pluginWorkDirectoryURL)
        ]
    }
}
