import Logging
import LVMessages
import Metrics
import NIOConcurrencyHelpers
import NIOCore

/// Logs each call's outcome (method, code, duration, request id — never the request's content):
/// info when it succeeds, notice when it fails with a client error, error when the server
/// failed. Only a server error's message is logged: a client error's may quote the request.
public struct LoggingInterceptor: ServerInterceptor {
    public init() {}

    public func intercept<Input: ProtoMessage, Output: ProtoMessage>(
        request: ServerRequest<Input>, context: ServerContext,
        next: @Sendable (ServerRequest<Input>, ServerContext) async throws -> ServerResponse<Output>
    ) async throws -> ServerResponse<Output> {
        let start = NIODeadline.now()
        do {
            let response = try await next(request, context)
            if context.logs(at: .info) { context.logger.info("call", metadata: ["code": "OK", "ms": "\(Self.millis(since: start))"]) }
            return response
        } catch {
            let status = RPCError.from(error)
            let level: Logger.Level = [.internal, .unknown, .dataLoss].contains(status.code) ? .error : .notice
            guard context.logs(at: level) else { throw error }
            // The message may quote what the caller sent (an NPI, a name): log the code, the fields and
            // rules broken, and the message only for the server's own failures, escaped.
            var metadata: Logger.Metadata = ["code": "\(status.code.protoName)", "ms": "\(Self.millis(since: start))"]
            if !status.violations.isEmpty {
                metadata["fields"] = "\(status.violations.prefix(5).map { "\(LogSafe.clip($0.field, 64))[\(LogSafe.clip($0.rule, 32))]" }.joined(separator: ","))"
            }
            if level == .error { metadata["error"] = "\(LogSafe.clip(status.message, 256))" }
            context.logger.log(level: level, "call", metadata: metadata)
            throw error
        }
    }

    static func millis(since start: NIODeadline) -> String {
        let ns = (NIODeadline.now() - start).nanoseconds
        return String(format3: Double(ns) / 1e6)
    }
}

/// Sees the status each call ended with, exactly as it went on the wire: OK, the handler's
/// error, DEADLINE_EXCEEDED when the deadline fired first, RESOURCE_EXHAUSTED for an oversized
/// request or response, UNIMPLEMENTED, UNAVAILABLE refusals (draining, concurrency limit), and
/// CANCELLED for a call the client cancelled or whose connection closed (nothing is sent then).
public protocol CallObserver: Sendable {
    /// `method` is the full method name, or "unknown" when the call was refused before its
    /// method was read or names a method this server does not serve (the label stays bounded).
    func callEnded(method: String, code: StatusCode, duration: TimeAmount)
}

/// Per-method Prometheus-style metrics through swift-metrics, recorded by the connection when
/// it answers (so they count the status on the wire, not what the handler threw):
/// `lv_rpc_requests_total{method,code}` and `lv_rpc_request_duration_seconds{method}`.
/// Metric objects are made once per method and code: the factory lookup is not per call.
public final class RPCMetrics: CallObserver {
    private let counters = NIOLockedValueBox<[String: [Int32: Counter]]>([:])
    private let timers = NIOLockedValueBox<[String: Timer]>([:])

    public init() {}

    private func counter(_ method: String, _ code: StatusCode) -> Counter {
        counters.withLockedValue { all in
            if let c = all[method]?[code.rawValue] { return c }
            let c = Counter(label: "lv_rpc_requests_total", dimensions: [("method", method), ("code", code.protoName)])
            all[method, default: [:]][code.rawValue] = c
            return c
        }
    }

    private func timer(_ method: String) -> Timer {
        timers.withLockedValue { all in
            if let t = all[method] { return t }
            let t = Timer(label: "lv_rpc_request_duration_seconds", dimensions: [("method", method)])
            all[method] = t
            return t
        }
    }

    public func callEnded(method: String, code: StatusCode, duration: TimeAmount) {
        counter(method, code).increment()
        timer(method).recordNanoseconds(duration.nanoseconds)
    }
}

extension String {
    /// A number with three decimals, without Foundation.
    init(format3 value: Double) {
        let scaled = Int64((value * 1000).rounded())
        let whole = scaled / 1000
        let frac = abs(scaled % 1000)
        let fracText = String(frac)
        self = "\(scaled < 0 && whole == 0 ? "-" : "")\(whole).\(String(repeating: "0", count: 3 - fracText.count))\(fracText)"
    }
}
