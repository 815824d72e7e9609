import ArgumentParser

@main
struct Spotter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spotter",
        abstract: "Ground questions in video: scrub, point, track, correct, export.",
        subcommands: [
            OpenCommand.self, ProbeCommand.self, RenderCommand.self, ExportCommand.self, ImportCommand.self,
            CompareCommand.self, DoctorCommand.self, BenchCommand.self,
        ],
        defaultSubcommand: OpenCommand.self)
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Spotter's speed on real work, next to reference tools timed in the same run.",
        subcommands: [BenchRenderCommand.self, BenchAnnotationsCommand.self, BenchKernelsCommand.self])
}
