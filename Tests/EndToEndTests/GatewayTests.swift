import Foundation
import LVAPI
import LVMessages
import LVRPC
import NIOCore
import NIOPosix
import Simulation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("the gateway over real backends", .serialized, .timeLimit(.minutes(3)))
struct GatewayTests {
    @Test("a simulated activity's view is complete; with a backend stopped or silent the view degrades, names the cause, and keeps its deadline")
    func degraded() async throws {
        let registration = try RunningService("lv-registration")
        let engagement = try RunningService("lv-engagement")
        let assessment = try RunningService("lv-assessment")
        // A peer that accepts connections and never answers, standing in for a hung backend.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let backends = ["--registration-addr", "127.0.0.1:\(registration.port)", "--engagement-addr", "127.0.0.1:\(engagement.port)"]
        let gateway = try RunningService("lv-gateway", extraArguments: backends + ["--assessment-addr", "127.0.0.1:\(assessment.port)"])
        let hungGateway = try RunningService("lv-gateway", extraArguments: backends + ["--assessment-addr", "127.0.0.1:\(silent.localAddress!.port!)"])
        defer {
            for s in [gateway, hungGateway, registration, assessment] { _ = s.stop() }
            if engagement.process.isRunning { _ = engagement.stop() }
            silent.close(promise: nil)
        }

        let clients = [registration, engagement, assessment].map { RPCClient(host: "127.0.0.1", port: $0.port) }
        var config = CMESimulation.Configuration()
        (config.activityID, config.participants, config.comparison, config.seed) = ("gw-act", 30, 10, 11)
        // These checks count exact n's (every participant attends and takes both tests): the first simulator's behaviour.
        config.realism = .idealised
        try await CMESimulation(configuration: config, registration: clients[0], engagement: clients[1], assessment: clients[2]).run()
        for c in clients { await c.close() }

        func view(_ port: Int, timeout: TimeAmount) async throws -> (ActivityValidationResult, TimeAmount) {
            let client = RPCClient(host: "127.0.0.1", port: port)
            defer { Task { await client.close() } }
            var r = Lv_Gateway_V1_GetActivityValidationRequest()
            r.activityId = "gw-act"
            let start = NIODeadline.now()
            let v = try await Lv.Gateway.V1.Gateway.Client(client).getActivityValidation(r, options: CallOptions(timeout: timeout))
            return (ActivityValidationResult(v), NIODeadline.now() - start)
        }

        // All backends up: every section is there.
        let (full, _) = try await view(gateway.port, timeout: .seconds(20))
        #expect(full.v.degraded.isEmpty)
        #expect(full.v.funnel?.registered == 30)
        #expect(full.v.knowledge?.pairedT?.n == 30)
        #expect(full.v.attribution?.dPpc2?.n == 40)
        #expect(full.v.engagementVsLearning?.rho?.n == 30)
        #expect(full.v.levels.count == 8)

        // Assessment hung: the view comes back before the caller's deadline without its sections.
        // The answer arriving at all is the proof: had the gateway waited past the deadline, the
        // client would have given up with DEADLINE_EXCEEDED (no wall-clock bound on a loaded machine).
        let (hung, _) = try await view(hungGateway.port, timeout: .seconds(4))
        #expect(hung.v.degraded.map(\.section).contains { $0.hasPrefix("assessment") })
        #expect(hung.v.knowledge == nil, "a section without its data is absent, not zero")
        // The funnel's steps from registration stay; the assessed steps go with assessment, as does level 3A.
        #expect(hung.v.funnel?.registered == 30 && hung.v.funnel?.assessed == nil)
        #expect(hung.v.levels.first { $0.level == "1" }?.evidenced == true)
        let level3A = hung.v.levels.first { $0.level == "3A" }
        #expect(level3A?.notEvaluated == true && level3A?.reason.hasPrefix("not evaluated: assessment") == true)
        #expect(hung.v.completeness?.status == .partial)

        // Engagement stopped mid-run: the next view names it and still has the rest.
        #expect(engagement.stop() == 0)
        let (partial, _) = try await view(gateway.port, timeout: .seconds(10))
        let missing = try #require(partial.v.degraded.first { $0.section.hasPrefix("engagement") })
        #expect(missing.code == .unavailable)
        #expect(partial.v.engagementVsLearning == nil)
        #expect(partial.v.knowledge?.pairedT?.n == 30)
    }
}

/// Wraps the view so the helper's tuple stays Sendable-friendly.
struct ActivityValidationResult: Sendable {
    let v: Lv_Gateway_V1_ActivityValidation
    init(_ v: Lv_Gateway_V1_ActivityValidation) { self.v = v }
}
