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
        keepBacktracerOffTheTerminal()
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

/// Swift's runtime backtracer, on a terminal, draws a backtrace and waits up to 30 s for a key. Its settings are read
/// from `SWIFT_BACKTRACE` when the process starts, so when a terminal is attached and the user has not chosen
/// settings, Spotter runs itself again once with `interactive=no`: a crash then prints its backtrace to stderr and
/// ends. (While the TUI runs, its own signal handlers replace the backtracer; see docs/robustness.md.)
private func keepBacktracerOffTheTerminal() {
    guard getenv("SWIFT_BACKTRACE") == nil, isatty(STDIN_FILENO) == 1 || isatty(STDERR_FILENO) == 1 else { return }
    setenv("SWIFT_BACKTRACE", "interactive=no", 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    // execv returned: run on with the runtime's defaults.
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Spotter's speed on real work, next to reference tools timed in the same run.",
        subcommands: [
            BenchRenderCommand.self, BenchAnnotationsCommand.self, BenchKernelsCommand.self, BenchTrackCommand.self,
        ])
}
