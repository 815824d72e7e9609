/// Everything that can go wrong while opening, decoding or writing media. The description is one
/// line, "PATH: reason", so it can be shown in a status bar or a CLI error as is.
package enum MediaError: Error, CustomStringConvertible, Equatable, Sendable {
    case fileNotFound(path: String)
    case notARegularFile(path: String)
    case unreadable(path: String, reason: String)
    case cannotOpen(path: String, reason: String)
    case noVideoStream(path: String)
    case unsupportedCodec(path: String, codec: String)
    case invalidDimensions(path: String, width: Int, height: Int)
    case noFrames(path: String)
    case noDecodableFrames(path: String)
    case frameIndexOutOfRange(path: String, index: Int, frameCount: Int)
    case invalidOutputSize(path: String, width: Int, height: Int)
    case frameNotDecodable(path: String, index: Int, reason: String)
    case decoderFailure(path: String, reason: String)
    case invalidImageBuffer(path: String, reason: String)
    case writeFailed(path: String, reason: String)

    /// The file the error is about.
    package var path: String {
        switch self {
        case .fileNotFound(let path), .notARegularFile(let path), .unreadable(let path, _),
            .cannotOpen(let path, _), .noVideoStream(let path), .unsupportedCodec(let path, _),
            .invalidDimensions(let path, _, _), .noFrames(let path), .noDecodableFrames(let path),
            .frameIndexOutOfRange(let path, _, _), .invalidOutputSize(let path, _, _),
            .frameNotDecodable(let path, _, _), .decoderFailure(let path, _),
            .invalidImageBuffer(let path, _), .writeFailed(let path, _):
            return path
        }
    }

    /// What went wrong, without the path.
    package var reason: String {
        switch self {
        case .fileNotFound:
            return "no such file"
        case .notARegularFile:
            return "not a regular file (a directory or a device)"
        case .unreadable(_, let reason):
            return "cannot read the file: \(reason)"
        case .cannotOpen(_, let reason):
            return "not a readable video or image: \(reason)"
        case .noVideoStream:
            return "the file has no video stream"
        case .unsupportedCodec(_, let codec):
            return "no decoder for codec \(codec)"
        case .invalidDimensions(_, let width, let height):
            return "unsupported frame size \(width)x\(height) (each side must be 1...\(VideoSource.maximumDimension))"
        case .noFrames:
            return "the video stream has no frames"
        case .noDecodableFrames:
            return "no frame of the video stream could be decoded"
        case .frameIndexOutOfRange(_, let index, let frameCount):
            return "frame \(index) is out of range (the video has \(frameCount) frames)"
        case .invalidOutputSize(_, let width, let height):
            return "cannot scale to \(width)x\(height) (each side must be 1...\(VideoSource.maximumDimension))"
        case .frameNotDecodable(_, let index, let reason):
            return "frame \(index) could not be decoded: \(reason)"
        case .decoderFailure(_, let reason):
            return "decoder failure: \(reason)"
        case .invalidImageBuffer(_, let reason):
            return "invalid image buffer: \(reason)"
        case .writeFailed(_, let reason):
            return "cannot write the file: \(reason)"
        }
    }

    package var description: String {
        let line = "\(path): \(reason)"
        return line.contains(where: { $0.isNewline })
            ? String(line.map { $0.isNewline ? " " : $0 }) : line
    }
}
