import Basics
import Annotations
import ArgumentParser
import MolmoRuntime

// The command line's closed sets: ArgumentParser lists the allowed values in --help and refuses others with
// one message naming them, so no command validates these strings by hand.

extension AnnotationFormat: ExpressibleByArgument {}
extension WeightFormat: ExpressibleByArgument {}

/// The Molmo2 task every exported record is written as (`spotter export --task`).
enum Molmo2ExportTask: String, CaseIterable, ExpressibleByArgument {
    case videoPoint = "video_point"
    case videoCount = "video_count"
    case videoTrack = "video_track"
    case imagePoint = "image_point"
    case multiImagePoint = "multi_image_point"
}

/// How a video or a folder of frames is sampled for the model (`ask`, `annotate`): one declaration of the options.
struct FrameSamplingOptions: ParsableArguments {
    @Option(help: "Most video frames shown to the model.")
    var maxFrames: Int = MolmoFrameSampler.defaultMaxFrames

    @Option(help: "Most video frames per second shown to the model.")
    var fps: Double = MolmoFrameSampler.defaultMaxFPS

    @Option(help: "Frame rate of a folder of frames (frame k is at k / R seconds).")
    var frameRate: Double = 2
}

/// Who answers over HTTP (`ask`, `annotate` with --endpoint): the served model and the credentials.
struct ServerOptions: ParsableArguments {
    @Option(help: "With --endpoint: the served model name (default: the server's only model).")
    var modelName: String?

    @Option(help: "With --endpoint: sent as a bearer token (default: $SPOTTER_API_KEY).")
    var apiKey: String?
}
