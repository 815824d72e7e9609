import Foundation
import Media
import SpotterUI
import TerminalGraphics

@testable import spotter

/// `spotter open` without a terminal: the command's own setup (project beside the media, model, decoder), its
/// application core driven by events, and the rendered screen read as text. The project and the decoder are closed
/// when the viewer is released, on every path out of a test.
final class InProcessViewer {
    let opened: OpenCommand.OpenedViewer
    let columns: Int
    let rows: Int

    init(_ arguments: [String], columns: Int, rows: Int) throws {
        let command = try OpenCommand.parse(arguments)
        self.columns = columns
        self.rows = rows
        let server = try FrameServer(path: command.file, cacheCapacity: 96)
        do {
            opened = try command.openViewer(
                server: server, columns: columns, rows: rows, graphics: { ViewerGraphics(renderer: .halfBlock(.truecolor)) })
        } catch {
            server.stop()
            throw error
        }
    }

    private var closed = false

    deinit { close() }

    /// Closes the project and stops the decoder (quitting).
    func close() {
        guard !closed else { return }
        closed = true
        opened.close()
    }

    var core: ViewerCore { opened.core }

    /// The screen after one turn of the loop, as lines of text.
    var screen: String { core.turn().screen.grid.lines.joined(separator: "\n") }

    /// Turns until `predicate` holds for the screen, waiting for the jobs' reports in between (no polling, no time
    /// limit: a job that never reports would hang here rather than pass).
    func screen(until predicate: (String) -> Bool) async -> String {
        var text = screen
        while !predicate(text) {
            await core.jobs.channel.actionsAvailable()
            text = screen
        }
        return text
    }

    func press(_ keys: Key...) { core.handle(keys.map { .key($0) }) }
    func type(_ text: String) { core.handle(text.map { .key(.character($0)) }) }

    /// A left click (press and release) on a 0-based cell.
    func click(column: Int, row: Int) {
        core.handle([
            .mouse(MouseEvent(kind: .press, column: column, row: row)),
            .mouse(MouseEvent(kind: .release, column: column, row: row)),
        ])
    }
}
