import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Seconds on an injected clock (any standard-library `Clock` counting `Duration`), for timeouts that tests drive
/// by hand instead of waiting on the wall clock.
package struct TimeoutClock: Sendable {
    /// Seconds since the clock was wrapped.
    package let now: @Sendable () -> Double
    /// Suspends until `seconds` have passed on the clock (throws when the task is cancelled).
    package let sleep: @Sendable (_ seconds: Double) async throws -> Void

    package init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let origin = clock.now
        now = {
            let elapsed = origin.duration(to: clock.now).components
            return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        }
        sleep = { seconds in try await clock.sleep(for: .nanoseconds(Int64(max(0, min(seconds, 1e9)) * 1e9))) }
    }

    /// The system's monotonic clock.
    package static let continuous = TimeoutClock(ContinuousClock())
}

/// One HTTP request whose response arrives as a stream of events (status, body bytes as they come), with an idle
/// timeout (no bytes for too long), a total timeout, and cancellation that aborts the transfer. Both timeouts run
/// on the given clock.
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
    private var watchdog: Task<Void, Never>?
    private var lastActivity: Double
    private let startTime: Double
    private let idleTimeout: Double
    private let totalTimeout: Double
    private let clock: TimeoutClock
    private var receivedResponse = false

    private init(idleTimeout: Double, totalTimeout: Double, clock: TimeoutClock) {
        self.idleTimeout = idleTimeout
        self.totalTimeout = totalTimeout
        self.clock = clock
        startTime = clock.now()
        lastActivity = startTime
    }

    /// Starts `request`; the stream ends when the response is complete, or throws a `Failure`. Ending the iteration
    /// early (or cancelling the iterating task) aborts the transfer.
    static func start(
        _ request: URLRequest, idleTimeout: Double, totalTimeout: Double, clock: TimeoutClock = .continuous
    ) -> AsyncThrowingStream<Event, Error> {
        let exchange = HTTPExchange(idleTimeout: idleTimeout, totalTimeout: totalTimeout, clock: clock)
        return AsyncThrowingStream(bufferingPolicy: .unbounded) { continuation in
            exchange.begin(request, continuation: continuation)
        }
    }

    private func begin(_ request: URLRequest, continuation: AsyncThrowingStream<Event, Error>.Continuation) {
        let configuration = URLSessionConfiguration.ephemeral
        // The watchdog enforces both timeouts on the injected clock; URLSession's own wall-clock timeouts are off
        // (a week), so a busy machine cannot fail an exchange the clock says is on time.
        configuration.timeoutIntervalForRequest = 7 * 86400
        configuration.timeoutIntervalForResource = 7 * 86400
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
        let task = session.dataTask(with: request)
        lock.lock()
        self.continuation = continuation
        self.session = session
        self.task = task
        lock.unlock()
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.abort() }
        }
        let watchdog = Task<Void, Never> { [weak self] in
            guard let self else { return }
            await self.watch()
        }
        lock.lock()
        if self.continuation != nil { self.watchdog = watchdog } else { watchdog.cancel() }
        lock.unlock()
        task.resume()
    }

    /// Sleeps on the clock until the earlier of the two deadlines, then fails the exchange if it has passed (new
    /// activity moves the idle deadline, so the watchdog sleeps again).
    private func watch() async {
        while !Task.isCancelled {
            let now = clock.now()
            let (idleDeadline, finished) = lock.withLock { (lastActivity + idleTimeout, continuation == nil) }
            if finished { return }
            let totalDeadline = startTime + totalTimeout
            if now >= totalDeadline {
                finish(throwing: Failure.totalTimeout(totalTimeout))
                return
            }
            if now >= idleDeadline {
                finish(throwing: Failure.idleTimeout(idleTimeout))
                return
            }
            do {
                try await clock.sleep(min(idleDeadline, totalDeadline) - now)
            } catch {
                return
            }
        }
    }

    private func touch() {
        let now = clock.now()
        lock.lock()
        lastActivity = max(lastActivity, now)
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
        watchdog: Task<Void, Never>?
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
