import Histogram
import Load
import Logging
import LVAPI
import LVMessages
import LVRPC
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// Echo handler that waits as long as each request asks: the test asks 200 ms of every tenth call, 2 ms of the others.
struct InjectedLatency: Lv.Testing.V1.Echo.ServiceProtocol {
    func echo(_ request: Lv_Testing_V1_EchoRequest, context: ServerContext) async throws -> Lv_Testing_V1_EchoResponse {
        try await Task.sleep(nanoseconds: UInt64(request.delayMs) * 1_000_000)
        var r = Lv_Testing_V1_EchoResponse()
        r.text = request.text
        return r
    }
}

@Suite("load engine", .serialized, .timeLimit(.minutes(2)))
struct LoadEngineTests {
    @Test("percentiles reflect a server's injected latency: 90% at 2 ms, 10% at 200 ms")
    func injectedDistribution() async throws {
        var router = Router()
        InjectedLatency().register(into: &router)
        var logger = Logger(label: "load-test")
        logger.logLevel = .critical
        let server = RPCServer(configuration: .init(host: "127.0.0.1", port: 0, serverName: "latency"), router: router, logger: logger)
        let running = Task { try await server.run() }
        let port = try await server.localAddress.port!
        let client = RPCClient(host: "127.0.0.1", port: port)
        let echo = Lv.Testing.V1.Echo.Client(client)
        let counter = NIOLockedValueBox(0)
        // One caller and a request limit, not a time window: exactly 200 calls whatever the
        // machine's load, and no call left in flight at the end to bias the mix (with many callers
        // the slow calls are the ones still running when the run stops). Calls 10, 20, …, 200 are
        // the slow ones: 20 of 200.
        let result = await runLoad(LoadPlan(shape: .closed(concurrency: 1), duration: 600, requests: 200)) {
            let n = counter.withLockedValue { $0 += 1; return $0 }
            var r = Lv_Testing_V1_EchoRequest()
            r.delayMs = n % 10 == 0 ? 200 : 2
            _ = try await echo.echo(r)
        }
        await client.close()
        server.shutdown()
        try await running.value

        // The checks are bounds that machine load cannot break: load only adds latency.
        let h = result.uncorrected
        #expect(result.errors.isEmpty)
        #expect(result.calls == 200)
        #expect(h.totalCount == 200)
        // No measured latency is below what the server injected.
        #expect(h.min >= 2_000)
        // Every tenth call waited 200 ms, so at least 20 calls sit at or above it, and p99 too.
        let slowCalls = h.count(within: 200_000...max(h.max, 200_000))
        #expect(slowCalls >= 20, "calls at or above 200 ms: \(slowCalls)")
        #expect(slowCalls < 100, "calls at or above 200 ms: \(slowCalls)")
        #expect(h.valueAtPercentile(99) >= 200_000)
        // The median is one of the fast calls.
        #expect(h.valueAtPercentile(50) < 200_000)
    }

    @Test("open loop keeps its schedule: the rate is what was asked, and corrected latency is never below uncorrected")
    func openLoop() async {
        let result = await runLoad(LoadPlan(shape: .fixed(200), duration: 1.5)) {
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        // The schedule, not the machine, sets the count: one call every 1/200 s from 0 to 1.5 s
        // (0, 5, …, 1495 ms) is 300 calls, each started even when the loop wakes late (it catches
        // up), and every one answered. A wall-clock rate with a tolerance would measure the machine.
        #expect(result.calls == 300, "calls \(result.calls)")
        #expect(result.errors.isEmpty)
        #expect(result.seconds == 1.5)
        let corrected = try! #require(result.corrected)
        for q in [50.0, 90.0, 99.0] {
            #expect(corrected.valueAtPercentile(q) >= result.uncorrected.valueAtPercentile(q))
        }
    }

    @Test("a request limit stops the run and errors are counted by class")
    func requestsAndErrors() async {
        struct Refused: Error {}
        let counter = NIOLockedValueBox(0)
        let result = await runLoad(LoadPlan(shape: .closed(concurrency: 4), duration: 30, requests: 100),
                                   classify: { _ in "REFUSED" }) {
            let n = counter.withLockedValue { $0 += 1; return $0 }
            if n % 5 == 0 { throw Refused() }
        }
        #expect(result.calls == 100)
        // One call in five fails; with 4 callers the exact count at the stop varies by a few.
        #expect((20...30).contains(result.errors["REFUSED"] ?? 0), "\(result.errors)")
    }

    @Test("steps and ramps give the rate asked for at each moment")
    func shapes() {
        guard case .open(let steps) = LoadShape.steps([100, 200, 400], stepSeconds: 5) else { Issue.record("not open"); return }
        #expect(steps(0) == 100 && steps(5.1) == 200 && steps(12) == 400 && steps(60) == 400)
        guard case .open(let ramp) = LoadShape.ramp(from: 100, to: 300, seconds: 10) else { Issue.record("not open"); return }
        #expect(ramp(0) == 100 && ramp(5) == 200 && ramp(10) == 300 && ramp(20) == 300)
    }
}
