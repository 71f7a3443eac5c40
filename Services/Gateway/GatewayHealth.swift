import GatewayDomain
import LVAPI
import LVMessages
import LVRPC
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// The gateway's own metrics, through swift-metrics (no physician data in any label):
/// - `lv_gateway_backend_calls_total{backend,method,code}` and
///   `lv_gateway_backend_call_duration_seconds{backend,method,code}`: every call to a backend,
///   by the status it ended with (the client's view: DEADLINE_EXCEEDED when the gateway gave up);
/// - `lv_gateway_partial_views_total{method,missing}`: answers sent partial, by the gateway
///   method and each backend that was missing.
public final class GatewayMetrics: Sendable {
    private let counters = NIOLockedValueBox<[String: Counter]>([:])
    private let timers = NIOLockedValueBox<[String: Timer]>([:])

    public init() {}

    func backendCall(_ backend: Source, _ method: String, _ code: StatusCode, since start: NIODeadline) {
        let dimensions = [("backend", backend.rawValue), ("method", method), ("code", code.protoName)]
        let key = "\(backend.rawValue)/\(method)/\(code.rawValue)"
        counters.withLockedValue { all in
            if let c = all[key] { return c }
            let c = Counter(label: "lv_gateway_backend_calls_total", dimensions: dimensions)
            all[key] = c
            return c
        }.increment()
        timers.withLockedValue { all in
            if let t = all[key] { return t }
            let t = Timer(label: "lv_gateway_backend_call_duration_seconds", dimensions: dimensions)
            all[key] = t
            return t
        }.recordNanoseconds((NIODeadline.now() - start).nanoseconds)
    }

    func partialView(_ method: String, missing: Set<Source>) {
        for source in missing.sorted() {
            let key = "partial/\(method)/\(source.rawValue)"
            counters.withLockedValue { all in
                if let c = all[key] { return c }
                let c = Counter(label: "lv_gateway_partial_views_total", dimensions: [("method", method), ("missing", source.rawValue)])
                all[key] = c
                return c
            }.increment()
        }
    }
}

/// Checks each backend's health (`lv.health.v1.Health/Check`, server as a whole) every
/// `interval`, each check bounded by `timeout`, and records the result as a dependency of the
/// gateway's own health: while a backend is unreachable, hung or not serving, the gateway answers
/// NOT_SERVING with the detail, and `/readyz` answers 503.
public struct DependencyMonitor: Service {
    public let health: HealthStatus
    public let backends: [(Source, RPCClient)]
    public let interval: TimeAmount
    public let timeout: TimeAmount
    let metrics: GatewayMetrics

    public init(health: HealthStatus, registration: RPCClient, engagement: RPCClient, assessment: RPCClient,
                metrics: GatewayMetrics, interval: TimeAmount = .seconds(1), timeout: TimeAmount = .seconds(1)) {
        self.health = health
        self.backends = [(.registration, registration), (.engagement, engagement), (.assessment, assessment)]
        self.interval = interval
        self.timeout = timeout
        self.metrics = metrics
        for (source, _) in backends { health.addDependency(source.rawValue) }
    }

    /// One check of one backend: its status and, when not serving, why.
    func check(_ source: Source, _ client: RPCClient) async -> (ServingStatus, String) {
        let start = NIODeadline.now()
        do {
            let status = try await Lv.Health.V1.Health.Client(client).check(.init(), options: CallOptions(timeout: timeout)).status
            metrics.backendCall(source, "Health/Check", .ok, since: start)
            return (status, status == .serving ? "" : "reports \(status.protoName)")
        } catch {
            let e = RPCError.from(error)
            metrics.backendCall(source, "Health/Check", e.code, since: start)
            return (.notServing, "\(e.code.protoName.lowercased().split(separator: "_").joined(separator: " ")): \(e.message)")
        }
    }

    /// Checks every backend once, concurrently.
    public func checkAll() async {
        await withTaskGroup(of: Void.self) { group in
            for (source, client) in backends {
                group.addTask {
                    let (status, detail) = await check(source, client)
                    health.setDependency(source.rawValue, status, detail: detail)
                }
            }
        }
    }

    public func run() async throws {
        // Returns only at shutdown: a service that returns early would stop the whole group.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await checkAll()
                try? await Task.sleep(nanoseconds: UInt64(max(1_000_000, interval.nanoseconds)))
            }
        }
    }
}
