import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 (a free port chosen by the system) standing in for a vLLM server in tests:
/// every request is recorded and answered by a handler, which can reply at once, stream server-sent events
/// (chunked, optionally stalling), never answer, or drop the connection. One thread per connection; `stop()` ends
/// them all.
final class LoopbackChatServer: @unchecked Sendable {
    struct Request {
        var method: String
        var path: String
        var headers: [String: String]
        var body: Data

        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
    }

    enum Reply {
        /// A complete response.
        case json(status: Int, body: String)
        /// `text/event-stream`: each string is one event's `data`; after `stallAfter` events the server stops
        /// writing and holds the connection open until the client leaves or the server stops.
        case events([String], stallAfter: Int? = nil)
        /// Read the request, never answer.
        case hang
        /// Close the connection without answering.
        case close
    }

    let port: UInt16
    private let listener: Int32
    private let handler: @Sendable (Request, Int) -> Reply
    private let lock = NSLock()
    private var stopped = false
    private var recorded: [Request] = []
    private let finished = DispatchGroup()

    var url: String { "http://127.0.0.1:\(port)" }

    var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    /// The chat-completion requests only (not `/v1/models` or `/tokenize`).
    var chatRequests: [Request] { requests.filter { $0.path.hasSuffix("/chat/completions") } }

    var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    /// `handler` gets each request and its 1-based number.
    init(handler: @escaping @Sendable (Request, Int) -> Reply) throws {
        self.handler = handler
        let (fd, port) = try Self.openListener()
        listener = fd
        self.port = port
        let accepting = Thread { [self] in acceptLoop() }
        finished.enter()
        accepting.start()
    }

    deinit { stop() }

    /// A port nothing listens on (bound, then released).
    static func closedPort() throws -> UInt16 {
        let (fd, port) = try openListener()
        close(fd)
        return port
    }

    func stop() {
        lock.lock()
        let wasStopped = stopped
        stopped = true
        lock.unlock()
        guard !wasStopped else { return }
        finished.wait()
        close(listener)
    }

    private static func openListener() throws -> (Int32, UInt16) {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw ServerError("socket() failed") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw ServerError("bind/listen on 127.0.0.1 failed")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            close(fd)
            throw ServerError("getsockname failed")
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    private func acceptLoop() {
        defer { finished.leave() }
        var number = 0
        while !isStopped {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 20) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            number += 1
            let index = number
            finished.enter()
            let worker = Thread { [self] in
                defer { finished.leave() }
                serve(client, number: index)
                close(client)
            }
            worker.start()
        }
    }

    // MARK: One connection

    private func serve(_ fd: Int32, number: Int) {
        guard let request = readRequest(fd) else { return }
        lock.lock()
        recorded.append(request)
        lock.unlock()
        switch handler(request, number) {
        case .close:
            return
        case .hang:
            waitWhileConnected(fd)
        case .json(let status, let body):
            let bytes = Data(body.utf8)
            let head =
                "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Error")\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
            write(fd, Data(head.utf8) + bytes)
        case .events(let events, let stallAfter):
            let head =
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\n"
                + "Connection: close\r\n\r\n"
            guard write(fd, Data(head.utf8)) else { return }
            for (k, event) in events.enumerated() {
                if let stallAfter, k == stallAfter {
                    waitWhileConnected(fd)
                    return
                }
                let payload = Data("data: \(event)\n\n".utf8)
                guard write(fd, Data(String(payload.count, radix: 16).utf8) + Data("\r\n".utf8) + payload + Data("\r\n".utf8))
                else { return }
                usleep(2000)
            }
            write(fd, Data("0\r\n\r\n".utf8))
        }
    }

    /// Holds the connection until the client closes it or the server stops.
    private func waitWhileConnected(_ fd: Int32) {
        var scratch = [UInt8](repeating: 0, count: 4096)
        while !isStopped {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 20) > 0 else { continue }
            if poller.revents & Int16(POLLHUP | POLLERR) != 0 { return }
            let n = recv(fd, &scratch, scratch.count, 0)
            if n <= 0 { return }
        }
    }

    @discardableResult
    private func write(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return true }
            var offset = 0
            while offset < raw.count {
                #if canImport(Glibc)
                    let n = send(fd, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                #else
                    let n = send(fd, base + offset, raw.count - offset, 0)
                #endif
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    private func readRequest(_ fd: Int32) -> Request? {
        var buffer = Data()
        var scratch = [UInt8](repeating: 0, count: 65536)
        func receive() -> Bool {
            while !isStopped {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 20) > 0 else { continue }
                let n = recv(fd, &scratch, scratch.count, 0)
                if n <= 0 { return false }
                buffer.append(contentsOf: scratch[0..<n])
                return true
            }
            return false
        }
        let separator = Data("\r\n\r\n".utf8)
        var headerEnd: Range<Data.Index>?
        while headerEnd == nil {
            guard receive() else { return nil }
            headerEnd = buffer.range(of: separator)
        }
        guard let end = headerEnd else { return nil }
        let lines = String(decoding: buffer[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines.first?.split(separator: " ") ?? []
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Data(buffer[end.upperBound...])
        if headers["expect"]?.lowercased() == "100-continue" {
            write(fd, Data("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            // Chunked upload: read until the terminating zero-length chunk, then decode.
            buffer = body
            while !Self.chunkedComplete(buffer) {
                guard receive() else { return nil }
            }
            body = Self.dechunk(buffer)
        } else {
            let length = Int(headers["content-length"] ?? "0") ?? 0
            buffer = body
            while buffer.count < length {
                guard receive() else { return nil }
            }
            body = buffer.prefix(length)
        }
        return Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body)
    }

    private static func chunkedComplete(_ data: Data) -> Bool {
        data.range(of: Data("0\r\n\r\n".utf8)) != nil
    }

    private static func dechunk(_ data: Data) -> Data {
        var out = Data()
        var index = data.startIndex
        while let lineEnd = data[index...].range(of: Data("\r\n".utf8)) {
            let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            let stop = data.index(start, offsetBy: size, limitedBy: data.endIndex) ?? data.endIndex
            out.append(data[start..<stop])
            index = data.index(stop, offsetBy: 2, limitedBy: data.endIndex) ?? data.endIndex
        }
        return out
    }
}

struct ServerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
