import Dispatch
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One HTTP request whose response arrives as a stream of events (status, body bytes as they come), with an idle
/// timeout (no bytes for too long), a total timeout, and cancellation that aborts the transfer.
final class HTTPExchange: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    enum Event: Sendable {
        /// Bytes of the request body sent so far, and in total.
        case sent(Int64, Int64)
        case response(status: Int, contentType: String)
        case data(Data)
    }

    /// Why the exchange ended without a complete response.
    enum Failure: Error, Equatable {
        /// No connection could be made: refused, unknown host, no network, connect timeout.
        case cannotConnect(String)
        /// The connection broke after it was made.
        case connectionLost(String)
        case idleTimeout(Double)
        case totalTimeout(Double)
        case other(String)
    }

    private let lock = NSLock()
    private var continuation: AsyncThrowingStream<Event, Error>.Continuation?
    private var session: URLSession?
    private var task: URLSessionDataTask?
    private var watchdog: DispatchSourceTimer?
    private var lastActivity: Double
    private let startTime: Double
    private let idleTimeout: Double
    private let totalTimeout: Double
    private var receivedResponse = false

    private init(idleTimeout: Double, totalTimeout: Double) {
        self.idleTimeout = idleTimeout
        self.totalTimeout = totalTimeout
        startTime = Self.now()
        lastActivity = startTime
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Starts `request`; the stream ends when the response is complete, or throws a `Failure`. Ending the iteration
    /// early (or cancelling the iterating task) aborts the transfer.
    static func start(_ request: URLRequest, idleTimeout: Double, totalTimeout: Double) -> AsyncThrowingStream<Event, Error> {
        let exchange = HTTPExchange(idleTimeout: idleTimeout, totalTimeout: totalTimeout)
        return AsyncThrowingStream(bufferingPolicy: .unbounded) { continuation in
            exchange.begin(request, continuation: continuation)
        }
    }

    private func begin(_ request: URLRequest, continuation: AsyncThrowingStream<Event, Error>.Continuation) {
        let configuration = URLSessionConfiguration.ephemeral
        // The watchdog enforces both timeouts; these are only a backstop.
        configuration.timeoutIntervalForRequest = idleTimeout + 5
        configuration.timeoutIntervalForResource = totalTimeout + 5
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
        let task = session.dataTask(with: request)
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global())
        let period = max(0.02, min(0.25, min(idleTimeout, totalTimeout) / 10))
        timer.schedule(deadline: .now() + period, repeating: period)
        timer.setEventHandler { [weak self] in self?.checkTimeouts() }
        lock.lock()
        self.continuation = continuation
        self.session = session
        self.task = task
        self.watchdog = timer
        lock.unlock()
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.abort() }
        }
        timer.resume()
        task.resume()
    }

    private func checkTimeouts() {
        let now = Self.now()
        lock.lock()
        let idle = now - lastActivity
        let total = now - startTime
        lock.unlock()
        if total > totalTimeout {
            finish(throwing: Failure.totalTimeout(totalTimeout))
        } else if idle > idleTimeout {
            finish(throwing: Failure.idleTimeout(idleTimeout))
        }
    }

    private func touch() {
        lock.lock()
        lastActivity = Self.now()
        lock.unlock()
    }

    private func yield(_ event: Event) {
        lock.lock()
        let continuation = self.continuation
        lock.unlock()
        continuation?.yield(event)
    }

    /// Takes everything the exchange holds, leaving it empty, so exactly one caller tears it down.
    private func detach() -> (
        continuation: AsyncThrowingStream<Event, Error>.Continuation?, task: URLSessionDataTask?, session: URLSession?,
        watchdog: DispatchSourceTimer?
    ) {
        lock.lock()
        defer { lock.unlock() }
        let held = (continuation, task, session, watchdog)
        continuation = nil
        task = nil
        session = nil
        watchdog = nil
        return held
    }

    /// Ends the stream once (with an error, or normally when `error` is nil) and releases the session.
    private func finish(throwing error: Error?) {
        let held = detach()
        guard let continuation = held.continuation else { return }
        held.watchdog?.cancel()
        if error != nil { held.task?.cancel() }
        held.session?.finishTasksAndInvalidate()
        if let error {
            continuation.finish(throwing: error)
        } else {
            continuation.finish()
        }
    }

    /// The consumer went away: stop the transfer and release the session.
    private func abort() {
        let held = detach()
        held.watchdog?.cancel()
        held.task?.cancel()
        held.session?.finishTasksAndInvalidate()
    }

    // MARK: URLSessionDataDelegate

    func urlSession(
        _ session: URLSession, task: URLSessionTask, didSendBodyData bytesSent: Int64, totalBytesSent: Int64,
        totalBytesExpectedToSend: Int64
    ) {
        touch()
        yield(.sent(totalBytesSent, totalBytesExpectedToSend))
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        touch()
        lock.lock()
        receivedResponse = true
        lock.unlock()
        let http = response as? HTTPURLResponse
        let contentType = http?.value(forHTTPHeaderField: "Content-Type") ?? ""
        yield(.response(status: http?.statusCode ?? 0, contentType: contentType))
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        touch()
        yield(.data(data))
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard let error else {
            finish(throwing: nil)
            return
        }
        lock.lock()
        let connected = receivedResponse
        lock.unlock()
        finish(throwing: Self.classify(error, connected: connected))
    }

    static func classify(_ error: Error, connected: Bool) -> Failure {
        guard let urlError = error as? URLError else { return .other("\(error)") }
        switch urlError.code {
        case .cannotConnectToHost: return connected ? .connectionLost("connection closed") : .cannotConnect("connection refused")
        case .cannotFindHost, .dnsLookupFailed: return .cannotConnect("unknown host")
        case .notConnectedToInternet: return .cannotConnect("no network")
        case .timedOut: return connected ? .idleTimeout(0) : .cannotConnect("connection timed out")
        case .networkConnectionLost:
            return connected ? .connectionLost("connection lost") : .cannotConnect("connection closed before a response")
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot, .clientCertificateRejected:
            return .cannotConnect("TLS handshake failed")
        case .badServerResponse: return .connectionLost("malformed HTTP response")
        default: return connected ? .connectionLost(urlError.localizedDescription) : .cannotConnect(urlError.localizedDescription)
        }
    }
}
