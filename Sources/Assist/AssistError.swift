import Foundation

/// Every failure of the Assist module; each description is one line naming the media file or the model endpoint
/// and the problem.
package enum AssistError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The request cannot be built as asked (nothing to show, a frame outside the video, …).
    case invalidRequest(media: String, reason: String)
    /// A frame could not be decoded for the request.
    case frameUnavailable(media: String, frame: Int, reason: String)
    /// The endpoint URL cannot be used.
    case invalidEndpoint(endpoint: String, reason: String)
    /// No connection could be made (refused, unknown host, …) after every attempt.
    case unreachable(endpoint: String, reason: String, attempts: Int)
    /// Nothing arrived from the server for `seconds` (idle), or the whole exchange took longer than allowed.
    case timedOut(endpoint: String, seconds: Double, what: String)
    /// The server answered with an HTTP error; `message` is the server's own explanation.
    case server(endpoint: String, status: Int, message: String, attempts: Int)
    /// The server's reply is not an OpenAI-compatible chat completion.
    case invalidResponse(endpoint: String, reason: String)
    /// The caller cancelled the request.
    case cancelled(endpoint: String)

    package var description: String {
        switch self {
        case .invalidRequest(let media, let reason): return "\(media): cannot ask the model: \(reason)"
        case .frameUnavailable(let media, let frame, let reason): return "\(media): frame \(frame) unavailable: \(reason)"
        case .invalidEndpoint(let endpoint, let reason): return "\(endpoint): invalid model endpoint: \(reason)"
        case .unreachable(let endpoint, let reason, let attempts):
            return "\(endpoint): model server unreachable (\(reason)) after \(attempts) attempt\(attempts == 1 ? "" : "s")"
        case .timedOut(let endpoint, let seconds, let what):
            return "\(endpoint): model server timed out: \(what) after \(Self.seconds(seconds))"
        case .server(let endpoint, let status, let message, let attempts):
            let tries = attempts > 1 ? " after \(attempts) attempts" : ""
            return "\(endpoint): model server error HTTP \(status)\(tries): \(Self.oneLine(message))"
        case .invalidResponse(let endpoint, let reason): return "\(endpoint): unexpected reply: \(Self.oneLine(reason))"
        case .cancelled(let endpoint): return "\(endpoint): request cancelled"
        }
    }

    static func seconds(_ value: Double) -> String {
        value >= 10 ? "\(Int(value.rounded())) s" : "\((value * 10).rounded() / 10) s"
    }

    /// Server messages can hold newlines and be long; errors stay on one line.
    static func oneLine(_ text: String, limit: Int = 300) -> String {
        let flat = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
    }
}
