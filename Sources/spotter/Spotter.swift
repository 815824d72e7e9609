import ArgumentParser
import Foundation

@main
struct Spotter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spotter",
        abstract: "Ground questions in video: scrub, point, track, correct, export.",
        version: "spotter \(Spotter.version) (commit \(BuildInfo.commit))",
        subcommands: [
            OpenCommand.self, AskCommand.self, AnnotateCommand.self, ProbeCommand.self, RenderCommand.self, ExportCommand.self, ImportCommand.self,
            CompareCommand.self, DoctorCommand.self, BenchCommand.self,
        ],
        defaultSubcommand: OpenCommand.self)

    /// The release this source tree is; the commit comes from the build (`Plugins/BuildInfo`).
    static let version = "0.9.0"

    /// Argument mistakes get ArgumentParser's message and usage; failures while running (bad files, a project
    /// made for other media, …) get one line, `spotter: FILE: reason`, and exit status 1.
    static func main() {
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch let error as ValidationError {
            exit(withError: error)
        } catch let error as ExitCode {
            exit(withError: error)
        } catch let error as CleanExit {
            exit(withError: error)
        } catch {
            // `--help` and other parser outcomes surface from run() as ArgumentParser's own (internal) error types.
            if String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") { exit(withError: error) }
            fail("\(error)")
        }
    }
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Spotter's speed on real work, next to reference tools timed in the same run.",
        subcommands: [
            BenchRenderCommand.self, BenchAnnotationsCommand.self, BenchKernelsCommand.self, BenchTrackCommand.self,
        ])
}
