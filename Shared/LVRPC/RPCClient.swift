import Logging
import LVMessages
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A client for one server address: a small pool of connections used round-robin, each
/// (re)connected on demand with exponential backoff after a failure or a drop.
public final class RPCClient: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Connections in the pool; each carries many concurrent calls.
        public var connections: Int
        /// Sent in HELLO; checked by servers configured to require one.
        public var credential: String
        public var clientName: String
        public var limits: FrameLimits
        public var connectTimeout: TimeAmount
        /// Backoff after a failed connect: starts here, doubles (with jitter) up to `maximumBackoff`.
        public var initialBackoff: TimeAmount
        public var maximumBackoff: TimeAmount
        /// When set, each new connection is logged at info with the server's name and version (HELLO_ACK).
        public var logger: Logger?
        /// Puts handlers (TLS) under the protocol on every new connection.
        public var channelSetup: ClientChannelSetup?

        public init(host: String, port: Int, connections: Int = 1, credential: String = "", clientName: String = "lv-swift",
                    limits: FrameLimits = FrameLimits(), connectTimeout: TimeAmount = .seconds(5),
                    initialBackoff: TimeAmount = .milliseconds(50), maximumBackoff: TimeAmount = .seconds(5)) {
            self.host = host
            self.port = port
            self.connections = max(1, connections)
            self.credential = credential
            self.clientName = clientName
            self.limits = limits
            self.connectTimeout = connectTimeout
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
        }

        /// Parses "host:port" (IPv6 as "[::1]:7400").
        public init(address: String) throws {
            let (host, port) = try parseHostPort(address)
            self.init(host: host, port: port)
        }
    }

    private enum Slot {
        case idle
        case connecting(Signal<ClientConnection>)
        case connected(ClientConnection)
        case failed(until: NIODeadline, attempts: Int, error: any Error)
    }

    public let configuration: Configuration
    private let group: any EventLoopGroup
    private let state: NIOLockedValueBox<(slots: [Slot], next: Int, closed: Bool)>
    private let callsPerConnection: NIOLockedValueBox<[Int]>

    public init(configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
        self.state = NIOLockedValueBox((Array(repeating: .idle, count: configuration.connections), 0, false))
        self.callsPerConnection = NIOLockedValueBox(Array(repeating: 0, count: configuration.connections))
    }

    public convenience init(host: String, port: Int) {
        self.init(configuration: Configuration(host: host, port: port))
    }

    public var target: String { "\(configuration.host):\(configuration.port)" }

    /// Calls sent so far on each connection of the pool (index = pool slot), for load reports.
    public var callsByConnection: [Int] { callsPerConnection.withLockedValue { $0 } }

    /// Calls `method` with `request` and decodes the answer as `Response`.
    /// Failures arrive as `RPCError` with the server's status (or a local one: UNAVAILABLE when
    /// the server cannot be reached, DEADLINE_EXCEEDED, CANCELLED).
    public func call<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor, _ request: Request, as: Response.Type, options: CallOptions = CallOptions()
    ) async throws -> Response {
        let payload = try await callRaw(method.fullName, request, options: options)
        do {
            return try payload.readMessage(Response.self)
        } catch {
            throw RPCError(.internal, "\(method.fullName): response could not be decoded: \(error)")
        }
    }

    /// Attempts for a call refused with `retryable` (it certainly had no effect: refused by the
    /// concurrency limit, or sent to a connection that was going away) before the error is returned.
    public static let transparentRetries = 3

    /// Calls a method by name and returns the undecoded response payload (for generic tools).
    public func callRaw(_ method: String, _ request: any ProtoMessage, options: CallOptions = CallOptions()) async throws -> ByteBuffer {
        try await callRaw(method, payload: .message(request), options: options)
    }

    /// Calls a method by name with a request already encoded (e.g. by another language's protobuf).
    public func callRaw(_ method: String, encodedRequest: ByteBuffer, options: CallOptions = CallOptions()) async throws -> ByteBuffer {
        try await callRaw(method, payload: .encoded(encodedRequest), options: options)
    }

    func callRaw(_ method: String, payload: OutgoingPayload, options: CallOptions) async throws -> ByteBuffer {
        let deadline = options.timeout.map { NIODeadline.now() + $0 }
        var attempt = 1
        while true {
            do {
                let connection = try await connection(deadline: deadline, waitForReady: options.waitForReady)
                if let deadline, deadline <= .now() {
                    throw RPCError(.deadlineExceeded, "\(method): the deadline passed while connecting to \(target)")
                }
                return try await connection.call(method: method, payload: payload, options: options, deadline: deadline)
            } catch let error as RPCError where error.retryable && attempt < Self.transparentRetries {
                // Safe to send again: the server guarantees the call did not run.
                attempt += 1
                let pause = TimeAmount.milliseconds(Int64(max(error.retryAfterMs, 1)))
                if let deadline, NIODeadline.now() + pause >= deadline { throw error }
                try await Task.sleep(nanoseconds: UInt64(pause.nanoseconds))
            }
        }
    }

    /// Closes every connection; calls in flight fail with UNAVAILABLE.
    public func close() async {
        let slots = state.withLockedValue { state -> [Slot] in
            state.closed = true
            defer { state.slots = state.slots.map { _ in .idle } }
            return state.slots
        }
        for case .connected(let c) in slots { await c.close() }
    }

    // MARK: connections

    private func connection(deadline: NIODeadline?, waitForReady: Bool) async throws -> ClientConnection {
        while true {
            do {
                return try await connectionOnce(deadline: deadline)
            } catch let error as RPCError where waitForReady && error.code == .unavailable {
                let wait = backoffRemaining() ?? .milliseconds(10)
                if let deadline, NIODeadline.now() + wait >= deadline {
                    throw RPCError(.deadlineExceeded, "no connection to \(target) before the deadline: \(error.message)")
                }
                try await Task.sleep(nanoseconds: UInt64(max(wait.nanoseconds, 1_000_000)))
            }
        }
    }

    private func backoffRemaining() -> TimeAmount? {
        state.withLockedValue { state in
            state.slots.compactMap { slot -> TimeAmount? in
                if case .failed(let until, _, _) = slot { return until - .now() }
                return nil
            }.min()
        }
    }

    private enum Next {
        case use(ClientConnection)
        case wait(Signal<ClientConnection>)
        case connect(Signal<ClientConnection>, index: Int, attempts: Int)
        case fail(any Error)
    }

    private func connectionOnce(deadline: NIODeadline?) async throws -> ClientConnection {
        let next: Next = state.withLockedValue { state in
            guard !state.closed else { return .fail(RPCError(.unavailable, "client is closed")) }
            let index = state.next % state.slots.count
            state.next &+= 1
            callsPerConnection.withLockedValue { $0[index] += 1 }
            switch state.slots[index] {
            case .connected(let c) where c.isUsable:
                return .use(c)
            case .connecting(let signal):
                return .wait(signal)
            case .failed(let until, _, let error) where until > .now():
                let ms = (until - .now()).nanoseconds / 1_000_000
                return .fail(RPCError(.unavailable, "cannot reach \(target) (\(error)); next attempt in \(ms) ms", retryable: true))
            case .failed(_, let attempts, _):
                let signal = Signal<ClientConnection>()
                state.slots[index] = .connecting(signal)
                return .connect(signal, index: index, attempts: attempts)
            case .idle, .connected:
                let signal = Signal<ClientConnection>()
                state.slots[index] = .connecting(signal)
                return .connect(signal, index: index, attempts: 0)
            }
        }
        switch next {
        case .use(let c): return c
        case .fail(let error): throw error
        case .wait(let signal): return try await signal.wait()
        case .connect(let signal, let index, let attempts):
            var hello = Lv_Rpc_V1_Hello()
            hello.protocolVersion = 1
            hello.maxFrameSize = UInt32(configuration.limits.maxFrameSize)
            hello.credential = configuration.credential
            hello.clientName = configuration.clientName
            hello.clientVersion = BuildInfo.versionString
            // Connecting (TCP and HELLO) is bounded by the connect timeout and by the call's deadline.
            var timeout = configuration.connectTimeout
            if let deadline { timeout = max(.milliseconds(1), min(timeout, deadline - .now())) }
            do {
                let c = try await ClientConnection.connect(
                    host: configuration.host, port: configuration.port, hello: hello, limits: configuration.limits,
                    connectTimeout: timeout, group: group, setup: configuration.channelSetup)
                state.withLockedValue { $0.slots[index] = $0.closed ? .idle : .connected(c) }
                configuration.logger?.info("connected", metadata: [
                    "peer": "\(target)", "server": "\(c.helloAck.serverName)",
                    "server_version": "\(c.helloAck.serverVersion.isEmpty ? "unknown" : c.helloAck.serverVersion)",
                ])
                signal.fire(c)
                return c
            } catch {
                let failure = (error as? RPCError) ?? RPCError(.unavailable, "cannot reach \(target): \(error)", retryable: true)
                let backoff = backoff(attempt: attempts)
                state.withLockedValue { $0.slots[index] = .failed(until: .now() + backoff, attempts: attempts + 1, error: failure) }
                signal.fail(failure)
                throw failure
            }
        }
    }

    private func backoff(attempt: Int) -> TimeAmount {
        let base = configuration.initialBackoff.nanoseconds << min(attempt, 20)
        let capped = min(base, configuration.maximumBackoff.nanoseconds)
        // ±20% jitter so many clients do not reconnect in lockstep.
        let jitter = Int64.random(in: -(capped / 5)...(capped / 5))
        return .nanoseconds(max(capped + jitter, 1_000_000))
    }
}

/// "host:port" or "[v6]:port".
public func parseHostPort(_ text: String) throws -> (String, Int) {
    let host: Substring
    let portText: Substring
    if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
        host = text[text.index(after: text.startIndex)..<close]
        let rest = text[text.index(after: close)...]
        guard rest.hasPrefix(":") else { throw RPCError(.invalidArgument, "address '\(text)': expected [host]:port") }
        portText = rest.dropFirst()
    } else {
        guard let colon = text.lastIndex(of: ":") else { throw RPCError(.invalidArgument, "address '\(text)': expected host:port") }
        host = text[..<colon]
        portText = text[text.index(after: colon)...]
    }
    guard let port = Int(portText), (0...65535).contains(port), !host.isEmpty else {
        throw RPCError(.invalidArgument, "address '\(text)': port must be 0-65535 and host non-empty")
    }
    return (String(host), port)
}
