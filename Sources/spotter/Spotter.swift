import ArgumentParser

@main
struct Spotter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spotter",
        abstract: "Ground questions in video: scrub, point, track, correct, export.",
        subcommands: [])
}
