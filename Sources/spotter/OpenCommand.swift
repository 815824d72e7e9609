import Basics
import Annotations
import Assist
import ArgumentParser
import Foundation
import Media
import MolmoRuntime
import SpotterUI
import TerminalGraphics

/// A failure that ends a command with a one-line message on stderr and exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Prints `spotter: message` and exits 1: the single way commands report bad input. Messages quote file contents,
/// so control characters are escaped: the message stays one line and sends no terminal codes.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("spotter: \(DisplaySafe.escape(message))\n".utf8))
    Foundation.exit(1)
}

extension GraphicsMode: ExpressibleByArgument {}

struct OpenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Open a video or image in the terminal viewer.",
        discussion: """
            Step through the video frame by frame, play it at its own rate, jump to frames or times, and \
            place, move and correct points and tracks. Every edit is saved in the project file (NAME.spotter \
            beside the media, or --project) before the screen shows it. Press ? in the viewer for the keys. The picture uses truecolor half-blocks, or sixel where the \
            terminal supports it; --graphics overrides the detection.
            """)

    @Argument(help: "The video or image to open.")
    var file: String

    @Option(help: "How to draw the picture: auto, halfblock, halfblock256 or sixel.")
    var graphics: GraphicsMode = .auto

    @Option(help: "The project file (default: NAME.spotter beside the media).")
    var project: String?

    @Flag(help: "Open the project even if it was made for a different media file.")
    var force = false

    @Flag(help: "View only: open no project and allow no edits.")
    var noProject = false

    @Option(help: "Colour theme: dark, light, 256, or a theme file (default: theme in ~/.config/spotter/config.toml, else dark).")
    var theme: String?

    @Option(help: "Molmo2 checkpoint directory or Hugging Face id, run in this process (/ in the viewer asks it).")
    var model: String?

    @Option(help: "Weight format of --model.")
    var format: WeightFormat = .bfloat16

    @Option(help: "OpenAI-compatible server serving Molmo2 (vLLM), e.g. http://localhost:8000/v1.")
    var endpoint: String?

    @Option(help: "The model name the --endpoint server serves (default: its only model).")
    var modelName: String?

    @Option(help: "Most frames a question shows the model (the query pane's ^N changes it).")
    var maxFrames: Int = 16

    @Option(help: "Frames per second a question samples: 1, 2 or 4 (the query pane's ^F changes it).")
    var fps: Int = 2

    @Flag(help: "Hold answers to the Molmo2 point/track grammar while they are generated (^G in the query pane).")
    var constrain = false

    func validate() throws {
        if model != nil && endpoint != nil { throw ValidationError("give --model or --endpoint, not both.") }
        if modelName != nil && endpoint == nil { throw ValidationError("--model-name goes with --endpoint.") }
        if !AssistState.fpsChoices.contains(fps) { throw ValidationError("--fps must be 1, 2 or 4.") }
        if maxFrames < 1 { throw ValidationError("--max-frames must be at least 1.") }
    }

    /// The configured model backend, loaded or connected before the viewer starts; nil without one.
    func loadModel() -> (any GroundingModel)? {
        if let model {
            FileHandle.standardError.write(Data("spotter: loading \(model)…\n".utf8))
            do {
                return try InProcessGroundingModel.load(model, format: format)
            } catch {
                fail("\(error)")
            }
        }
        if let endpoint {
            // Without --model-name the server is asked what it serves; one model is taken, several are named.
            do {
                return try remoteModel(endpoint: endpoint, modelName: modelName, apiKey: nil)
            } catch {
                fail("\(error)")
            }
        }
        return nil
    }

    /// The viewer opened on `file` without a terminal: the decoder, the project, the model and the application
    /// core laid out for `columns` x `rows`. The terminal backend presents it; tests drive it directly.
    struct OpenedViewer {
        var core: ViewerCore
        var server: FrameServer
        var store: ProjectStore?

        /// Stops the decoder's read-ahead and closes the project.
        func close() {
            core.jobs.cancel()
            server.stop()
            try? store?.close()
        }
    }

    /// `graphics` is asked for after the project and the model are open (it may probe the terminal).
    func openViewer(
        server: FrameServer, columns: Int, rows: Int, graphics: () -> ViewerGraphics, theme chosenTheme: Theme = .dark,
        clock: any Clock<Duration> = ContinuousClock()
    ) throws -> OpenedViewer {
        var store: ProjectStore?
        if !noProject {
            do {
                store = try MediaProject.openStore(
                    mediaPath: file, projectPath: project, info: server.info, frameTimestamps: server.frameTimestamps,
                    force: force)
            } catch {
                throw CommandFailure("\(error)")
            }
        }
        let grounding = loadModel()
        let chosen = graphics()
        let info = server.info
        let media = MediaFacts(
            name: URL(fileURLWithPath: file).lastPathComponent, width: info.width, height: info.height,
            pixelAspect: info.sampleAspectRatio.doubleValue, timestamps: server.frameTimestamps, fps: info.fps.doubleValue)
        var state = AppState(media: media, columns: columns, rows: rows, graphics: chosen)
        state.projectName = store?.url.lastPathComponent
        state.theme = chosenTheme
        state.assist.backend = grounding?.displayName
        state.assist.maxFrames = maxFrames
        state.assist.maxFPS = fps
        state.assist.constrain = constrain
        state.assist.history = store.map { MediaProject.questionHistory($0) } ?? []
        if let store { Self.showPendingPredictions(from: store, in: &state) }
        let file = self.file
        let assistant = grounding.map { model in
            Assistant(model: model, frames: { [server, info, file] in MediaProject.frameSource(server, info: info, path: file) })
        }
        let core = ViewerCore(
            state: state, composer: PictureComposer(server: server), annotations: store.map(AnnotationSession.init),
            jobs: JobCenter(frames: { [server] index in try server.grayFrame(at: index) }, assistant: assistant), clock: clock)
        return OpenedViewer(core: core, server: server, store: store)
    }

    func run() throws {
        let server: FrameServer
        do {
            server = try FrameServer(path: file, cacheCapacity: 96)
        } catch {
            fail("\(error)")
        }
        defer { server.stop() }
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            fail("\(file): \(TerminalError.notATerminal)")
        }
        if let size = TerminalSession.size(), size.columns < Layout.minimumColumns || size.rows < Layout.minimumRows {
            fail("\(file): \(TerminalError.tooSmall(columns: size.columns, rows: size.rows))")
        }
        let chosenTheme: Theme
        do {
            chosenTheme = try Theme.load(theme ?? Theme.configuredName() ?? "dark")
        } catch {
            fail("\(error)")
        }
        let size = TerminalSession.size() ?? (columns: Layout.minimumColumns, rows: Layout.minimumRows)
        let viewer: OpenedViewer
        do {
            viewer = try openViewer(
                server: server, columns: size.columns, rows: size.rows,
                graphics: {
                    ViewerGraphics.choose(
                        graphics,
                        capabilities: TerminalCapabilities.probe(
                            inputFD: STDIN_FILENO, outputFD: STDOUT_FILENO, environment: ProcessInfo.processInfo.environment,
                            timeout: 0.3))
                }, theme: chosenTheme)
        } catch {
            fail("\(error)")
        }
        defer { viewer.close() }
        let session: TerminalSession
        do {
            session = try TerminalSession()
        } catch {
            fail("\(file): \(error)")
        }
        ViewerApp(core: viewer.core, session: session).run()
        session.end()
        // Interrupted by a signal: the terminal is restored; close the project, then exit 128 + N.
        if let signal = session.interruptingSignal {
            viewer.close()
            Foundation.exit(TerminalRestore.exitStatus(for: signal))
        }
    }
}

extension OpenCommand {
    /// Pre-annotations written by `spotter annotate` open as pending predictions, oldest first: the first
    /// unreviewed answer is shown to accept or reject as a question asked in the viewer; the status line says how
    /// many more wait.
    static func showPendingPredictions(from store: ProjectStore, in state: inout AppState) {
        guard let pending = try? store.pendingPredictions(), let first = pending.first else { return }
        var set = PredictionSet(
            question: first.question, label: first.label, task: first.task, model: first.model, answer: first.answer,
            timings: first.timings, sampling: first.sampling, shownFrames: first.shownFrames, objects: first.objects)
        set.diagnostics = first.diagnostics
        state.assist.predictions = set
        let more = pending.count - 1
        state.message =
            "pre-annotated by \(first.model): \(set.summary)" + (more > 0 ? " (\(more) more answer\(more == 1 ? "" : "s") pending)" : "")
    }
}
