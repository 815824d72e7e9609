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
