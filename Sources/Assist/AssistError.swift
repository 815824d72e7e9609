import Basics
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
    /// The prompt (frames and question) leaves no room for an answer in the server's context.
    case promptTooLong(endpoint: String, promptTokens: Int, contextTokens: Int)

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
            if let fix = Self.fix(forServerMessage: message) {
                return "\(endpoint): model server error HTTP \(status)\(tries): \(fix)"
            }
            return "\(endpoint): model server error HTTP \(status)\(tries): \(Self.oneLine(message))"
        case .promptTooLong(let endpoint, let promptTokens, let contextTokens):
            return "\(endpoint): the prompt is \(promptTokens) tokens but the server's context is \(contextTokens): "
                + "show fewer frames (--max-frames) or start the server with a larger --max-model-len"
        case .invalidResponse(let endpoint, let reason): return "\(endpoint): unexpected reply: \(Self.oneLine(reason))"
        case .cancelled(let endpoint): return "\(endpoint): request cancelled"
        }
    }

    static func seconds(_ value: Double) -> String {
        value >= 10 ? "\(Int(value.rounded())) s" : "\((value * 10).rounded() / 10) s"
    }

    /// A server refusal whose cure is known, said as the cure. vLLM refuses the per-request `media_io_kwargs`
    /// (which carry the frame indices and fps of a video) unless it was started with `--trust-request-mm-kwargs`.
    static func fix(forServerMessage message: String) -> String? {
        let lowered = message.lowercased()
        if lowered.contains("media_io_kwargs") || lowered.contains("trust-request-mm-kwargs")
            || lowered.contains("trust_request_mm_kwargs")
        {
            return "the server refuses per-request media_io_kwargs (the frame times of a video); "
                + "restart it with --trust-request-mm-kwargs"
        }
        return nil
    }

    /// Server messages can hold newlines, control characters and be long; errors stay on one line. A long message
    /// keeps its beginning and its end (where servers put the fix), never cutting either.
    static func oneLine(_ text: String, limit: Int = 600) -> String {
        let flat = DisplaySafe.visible(text, keepNewlines: true).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
        guard flat.count > limit else { return flat }
        let half = limit / 2
        return String(flat.prefix(half)) + " … " + String(flat.suffix(half))
    }
}
