import ArgumentParser
import Testing

@testable import spotter

/// `--help` discussions are paragraphs that ArgumentParser wraps to the terminal: a line break inside a paragraph
/// would print as a ragged short line, so the only breaks are blank lines between paragraphs.
struct HelpTextTests {
    static func commands(_ root: ParsableCommand.Type) -> [ParsableCommand.Type] {
        [root] + root.configuration.subcommands.flatMap { commands($0) }
    }

    @Test func discussionsBreakOnlyBetweenParagraphs() {
        let all = Self.commands(Spotter.self)
        #expect(all.count >= 12)
        for command in all {
            let text = command.configuration.discussion
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            for (index, line) in lines.enumerated().dropLast() where !line.isEmpty && !lines[index + 1].isEmpty {
                Issue.record("\(command.configuration.commandName ?? "?"): line break inside a paragraph after \"\(line.suffix(40))\"")
            }
        }
    }
}
