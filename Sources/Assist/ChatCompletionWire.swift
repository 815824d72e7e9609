import Foundation
import Media

/// The OpenAI-compatible chat-completion request a vLLM server serving Molmo2 expects, and the pieces of its replies.
///
/// Video goes as one `video_url` part whose data URL is `data:video/jpeg;base64,<frame 1>,<frame 2>,…` — vLLM's
/// pre-sampled frame list (each frame is decoded by PIL, which reads PNG as well as JPEG) — together with the
/// request field `media_io_kwargs.video`: `num_frames` (all of them; vLLM keeps only its default 32 otherwise),
/// `fps`, `frames_indices`, `total_num_frames`, `duration` and `do_sample_frames: false`. vLLM's Molmo2 processor
/// prints each frame's time as `frames_indices[i] / fps` with one decimal (`"{t:.1f}"`), so the indices are the
/// sample times on a millisecond clock (fps 1000), chosen so every printed time equals the time Molmo2's own sampler
/// printed. Images go as `image_url` parts with PNG data URLs. Decoding is greedy (temperature 0). A request with a
/// `constrainedOutput` also carries it as a regular expression in `structured_outputs.regex`.
enum ChatCompletionWire {
    /// The clock `frames_indices` count on.
    static let timestampClock: Double = 1000

    struct Body: Encodable {
        var model: String
        var messages: [Message]
        var maxTokens: Int?
        var temperature: Double?
        var stream: Bool?
        var streamOptions: StreamOptions?
        var mediaIOKwargs: MediaIOKwargs?
        var structuredOutputs: StructuredOutputs?
        var logprobs: Bool?
        var topLogprobs: Int?
        /// For `/tokenize`: count the prompt as the chat template renders it for generation.
        var addGenerationPrompt: Bool?

        enum CodingKeys: String, CodingKey {
            case model, messages, temperature, stream, logprobs
            case maxTokens = "max_tokens"
            case streamOptions = "stream_options"
            case mediaIOKwargs = "media_io_kwargs"
            case structuredOutputs = "structured_outputs"
            case topLogprobs = "top_logprobs"
            case addGenerationPrompt = "add_generation_prompt"
        }
    }

    /// vLLM's structured-output request field, `"structured_outputs": {"regex": …}`: the answer must match the whole
    /// expression. This is the field's name since vLLM 0.10.2; the older top-level `guided_regex` was removed in
    /// 0.12.0, before vLLM gained Molmo2 (`Molmo2ForConditionalGeneration`, vllm-project/vllm#30997), so every
    /// server that can serve Molmo2 reads this field and none reads the old one.
    struct StructuredOutputs: Encodable, Equatable {
        var regex: String
    }

    struct Message: Encodable {
        var role: String
        var content: [Part]
    }

    struct Part: Encodable {
        var type: String
        var text: String?
        var imageURL: URLValue?
        var videoURL: URLValue?

        enum CodingKeys: String, CodingKey {
            case type, text
            case imageURL = "image_url"
            case videoURL = "video_url"
        }
    }

    struct URLValue: Encodable {
        var url: String
    }

    struct StreamOptions: Encodable {
        var includeUsage: Bool
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    struct MediaIOKwargs: Encodable {
        var video: VideoKwargs
    }

    struct VideoKwargs: Encodable {
        var numFrames: Int
        var fps: Double
        var framesIndices: [Int]
        var totalNumFrames: Int
        var duration: Double
        var doSampleFrames: Bool

        enum CodingKeys: String, CodingKey {
            case fps, duration
            case numFrames = "num_frames"
            case framesIndices = "frames_indices"
            case totalNumFrames = "total_num_frames"
            case doSampleFrames = "do_sample_frames"
        }
    }

    /// Indices on the millisecond clock whose one-decimal rendering equals that of each sample time (the nearest
    /// millisecond, nudged by one when it would print differently).
    static func timestampIndices(for times: [Double]) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(times.count)
        for t in times {
            let wanted = printed(t)
            let nearest = Int((max(0, t) * timestampClock).rounded())
            var chosen = nearest
            for candidate in [nearest, nearest - 1, nearest + 1] where candidate >= 0 {
                if printed(Double(candidate) / timestampClock) == wanted {
                    chosen = candidate
                    break
                }
            }
            out.append(chosen)
        }
        return out
    }

    /// A time as Molmo2 prints it (`"%.1f"`).
    static func printed(_ t: Double) -> String { String(format: "%.1f", t) }

    /// Base64 PNG of a frame.
    static func pngBase64(_ frame: Frame) throws -> String {
        Data(try PNGWriter.encode(width: frame.width, height: frame.height, rgb: frame.pixels)).base64EncodedString()
    }

    /// The JSON body for `request`. `encodedFrames` are the base64 PNGs of the request's frames or images, in order.
    /// `maxTokens` overrides the request's budget (sized to the server's context); `topLogprobs` > 0 asks for that
    /// many alternatives per generated token.
    static func body(
        for request: GroundingRequest, model: String, stream: Bool, temperature: Double, encodedFrames: [String],
        maxTokens: Int? = nil, topLogprobs: Int = 0
    ) throws -> Data {
        var body = messageBody(for: request, model: model, encodedFrames: encodedFrames)
        body.maxTokens = maxTokens ?? request.maxNewTokens
        body.temperature = temperature
        body.stream = stream
        body.streamOptions = stream ? StreamOptions(includeUsage: true) : nil
        body.structuredOutputs = request.constrainedOutput.map { StructuredOutputs(regex: $0.regularExpression) }
        if topLogprobs > 0 {
            body.logprobs = true
            body.topLogprobs = topLogprobs
        }
        return try encode(body)
    }

    /// The `/tokenize` body for `request`: the same messages and media arguments as the chat request, rendered with
    /// the generation prompt, so the count is the prompt the chat request will have.
    static func tokenizeBody(for request: GroundingRequest, model: String, encodedFrames: [String]) throws -> Data {
        var body = messageBody(for: request, model: model, encodedFrames: encodedFrames)
        body.addGenerationPrompt = true
        return try encode(body)
    }

    private static func encode(_ body: Body) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try encoder.encode(body)
    }

    /// The messages (frames or images, then the question) and the video's media arguments.
    private static func messageBody(for request: GroundingRequest, model: String, encodedFrames: [String]) -> Body {
        var parts: [Part] = []
        var mediaIO: MediaIOKwargs?
        switch request.media {
        case .video(let frames, let sampling, _, _):
            let indices = timestampIndices(for: frames.map(\.time))
            let end = max(sampling.times.last ?? 0, 0)
            parts.append(
                Part(
                    type: "video_url", videoURL: URLValue(url: "data:video/jpeg;base64," + encodedFrames.joined(separator: ","))))
            mediaIO = MediaIOKwargs(
                video: VideoKwargs(
                    numFrames: frames.count, fps: timestampClock, framesIndices: indices,
                    totalNumFrames: max((indices.last ?? 0) + 1, frames.count), duration: end, doSampleFrames: false))
        case .images:
            for encoded in encodedFrames {
                parts.append(Part(type: "image_url", imageURL: URLValue(url: "data:image/png;base64," + encoded)))
            }
        }
        parts.append(Part(type: "text", text: request.question))
        return Body(model: model, messages: [Message(role: "user", content: parts)], mediaIOKwargs: mediaIO)
    }

    // MARK: - Replies

    /// What one streamed chunk or a whole completion carries.
    struct Delta: Equatable {
        var content: String = ""
        var finishReason: String?
        var promptTokens: Int?
        var completionTokens: Int?
        var model: String?
        /// An error object sent instead of a completion (vLLM reports some failures inside the stream).
        var error: String?
        /// Log probabilities of the tokens in this piece (when the request asked for them).
        var logprobs: [TokenLogprob] = []
    }

    /// One generated token with its log probability and the most likely alternatives.
    struct TokenLogprob: Codable, Equatable {
        var token: String
        var logprob: Double
        var topLogprobs: [Alternative]?

        struct Alternative: Codable, Equatable {
            var token: String
            var logprob: Double
        }

        enum CodingKeys: String, CodingKey {
            case token, logprob
            case topLogprobs = "top_logprobs"
        }
    }

    /// A chat completion or one streamed chunk of it, as OpenAI-compatible servers send them (only the fields read).
    struct Reply: Decodable {
        var model: String?
        var choices: [Choice]?
        var usage: Usage?
        var error: ErrorValue?
        var object: String?
        var message: String?
        var detail: Detail?

        struct Choice: Decodable {
            var delta: Content?
            var message: Content?
            var finishReason: String?
            var logprobs: Logprobs?
            enum CodingKeys: String, CodingKey {
                case delta, message, logprobs
                case finishReason = "finish_reason"
            }
        }

        struct Content: Decodable {
            var content: String?
        }

        struct Logprobs: Decodable {
            var content: [TokenLogprob]?
        }

        struct Usage: Decodable {
            var promptTokens: Int?
            var completionTokens: Int?
            enum CodingKeys: String, CodingKey {
                case promptTokens = "prompt_tokens"
                case completionTokens = "completion_tokens"
            }
        }

        /// `"error": {"message": …}` (OpenAI, recent vLLM) or `"error": "…"`.
        enum ErrorValue: Decodable {
            case object(message: String?)
            case text(String)

            struct Object: Decodable { var message: String? }

            init(from decoder: Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let text = try? container.decode(String.self) {
                    self = .text(text)
                } else {
                    self = .object(message: try container.decode(Object.self).message)
                }
            }

            var message: String {
                switch self {
                case .object(let message): return message ?? "error"
                case .text(let text): return text
                }
            }
        }

        /// FastAPI's `"detail"`: a string, or validation errors (`[{"msg": …, "loc": […]}]`).
        enum Detail: Decodable {
            case text(String)
            case items([Item])
            case other

            struct Item: Decodable {
                var msg: String?
                var loc: [Location]?
            }

            enum Location: Decodable {
                case name(String)
                case index(Int)
                init(from decoder: Decoder) throws {
                    let container = try decoder.singleValueContainer()
                    if let index = try? container.decode(Int.self) { self = .index(index) } else {
                        self = .name(try container.decode(String.self))
                    }
                }
                var text: String {
                    switch self {
                    case .name(let name): return name
                    case .index(let index): return String(index)
                    }
                }
            }

            init(from decoder: Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let text = try? container.decode(String.self) {
                    self = .text(text)
                } else if let items = try? container.decode([Item].self) {
                    self = .items(items)
                } else {
                    self = .other
                }
            }

            var message: String {
                switch self {
                case .text(let text): return text
                case .items(let items):
                    return items.map { item in
                        let place = (item.loc ?? []).map(\.text).joined(separator: ".")
                        return (place.isEmpty ? "" : place + ": ") + (item.msg ?? "invalid")
                    }.joined(separator: "; ")
                case .other: return "invalid request"
                }
            }
        }

        /// The error this reply carries instead of a completion, if any.
        var errorMessage: String? {
            if let error { return error.message }
            if object == "error" { return message ?? "error" }
            return detail?.message
        }
    }

    /// Reads a streamed chunk (`choices[0].delta`) or a complete response (`choices[0].message`); nil when the data
    /// is not one.
    static func decode(_ data: Data) -> Delta? {
        guard let reply = try? JSONDecoder().decode(Reply.self, from: data) else { return nil }
        var delta = Delta()
        if let message = reply.errorMessage {
            delta.error = message
            return delta
        }
        delta.model = reply.model
        delta.promptTokens = reply.usage?.promptTokens
        delta.completionTokens = reply.usage?.completionTokens
        guard let choices = reply.choices else {
            return delta.promptTokens != nil ? delta : nil
        }
        if let first = choices.first {
            delta.content = (first.delta ?? first.message)?.content ?? ""
            delta.finishReason = first.finishReason
            delta.logprobs = first.logprobs?.content ?? []
        }
        return delta
    }

    /// The best message for an HTTP error body: the JSON error's message, else the text itself.
    static func errorMessage(body: Data, status: Int) -> String {
        if let reply = try? JSONDecoder().decode(Reply.self, from: body), let message = reply.errorMessage {
            return message
        }
        let text = String(decoding: body.prefix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "HTTP \(status) with an empty body" : text
    }

    // MARK: - Server facts

    /// `GET /v1/models`: the served models and their context length (vLLM adds `max_model_len`).
    struct ModelList: Decodable {
        var data: [Entry]

        struct Entry: Decodable {
            var id: String
            var root: String?
            var maxModelLen: Int?
            enum CodingKeys: String, CodingKey {
                case id, root
                case maxModelLen = "max_model_len"
            }
        }
    }

    /// vLLM's `POST /tokenize` reply: the prompt's length after the chat template and the media placeholders.
    struct TokenizeReply: Decodable {
        var count: Int
        var maxModelLen: Int?
        enum CodingKeys: String, CodingKey {
            case count
            case maxModelLen = "max_model_len"
        }
    }
}

/// Splits a `text/event-stream` body into the `data` of each event (server-sent events, as OpenAI-compatible servers
/// stream completions). Bytes may arrive in any pieces.
struct ServerSentEventParser {
    private var pending: [UInt8] = []
    private var dataLines: [String] = []

    /// Feeds bytes; returns the data of every event completed by them.
    mutating func feed(_ bytes: Data) -> [String] {
        pending.append(contentsOf: bytes)
        var events: [String] = []
        var lineStart = 0
        var i = 0
        while i < pending.count {
            let byte = pending[i]
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                // A lone CR at the end of the buffer may be the first half of CRLF: wait for more bytes.
                if byte == UInt8(ascii: "\r"), i + 1 == pending.count { break }
                let line = String(decoding: pending[lineStart..<i], as: UTF8.self)
                if byte == UInt8(ascii: "\r"), pending[i + 1] == UInt8(ascii: "\n") { i += 1 }
                if let event = handle(line) { events.append(event) }
                lineStart = i + 1
            }
            i += 1
        }
        pending.removeFirst(lineStart)
        return events
    }

    /// Ends the stream: an event without its closing blank line still counts.
    mutating func finish() -> [String] {
        var events: [String] = []
        if !pending.isEmpty {
            let line = String(decoding: pending, as: UTF8.self)
            pending.removeAll()
            if let event = handle(line) { events.append(event) }
        }
        if let event = handle("") { events.append(event) }
        return events
    }

    private mutating func handle(_ line: String) -> String? {
        if line.isEmpty {
            guard !dataLines.isEmpty else { return nil }
            defer { dataLines.removeAll() }
            return dataLines.joined(separator: "\n")
        }
        if line.hasPrefix(":") { return nil }
        if line == "data" {
            dataLines.append("")
        } else if line.hasPrefix("data:") {
            var value = line.dropFirst(5)
            if value.hasPrefix(" ") { value = value.dropFirst() }
            dataLines.append(String(value))
        }
        return nil
    }
}
