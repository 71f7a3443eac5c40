import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Gateway
import GatewayDomain
import LVAPI
import LVMessages
import LVRPC
import NIOCore
import Simulation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue #11: with a backend killed (SIGKILL) or hung (SIGSTOP), the gateway's answer is the
/// complete answer with exactly the sections that need that backend taken out and named, never
/// numbers recomputed from what remains; `lvctl report` exits 3 with a banner; the gateway's
/// health and `/readyz` say it cannot answer correctly; a restarted backend is used again.
@Suite("the gateway with a backend killed or hung", .serialized, .timeLimit(.minutes(6)))
struct PartialFailureTests {
    /// Sections (and levels) that each backend's absence takes out of the view.
    static let absentWithout: [Source: Set<String>] = [
        .registration: ["activity", "funnel", "funnel.assessed", "change_funnel", "knowledge", "confidence", "objectives", "items",
                        "attribution", "retention", "competence", "commitments", "practice", "engagement_vs_learning",
                        "mean_engagement_index", "gap", "planning", "planning.by_profession, planning.by_specialty",
                        "levels.1", "levels.2", "levels.3A", "levels.3B", "levels.4", "levels.5", "levels.6", "highest_level"],
        .engagement: ["engagement_vs_learning", "mean_engagement_index", "levels.2"],
        .assessment: ["funnel.assessed", "change_funnel", "knowledge", "confidence", "objectives", "items", "attribution", "retention",
                      "competence", "commitments", "practice", "engagement_vs_learning", "gap",
                      // The simulated heart-failure course has a planning record (SimulationParameters).
                      "planning", "planning.by_profession, planning.by_specialty", "levels.2", "levels.3A", "levels.3B",
                      "levels.4", "levels.5", "levels.6", "highest_level"],
    ]

    struct Fixture {
        var backends: [Source: RunningService]
        let gateway: RunningService
    }

    func view(_ port: Int, timeout: TimeAmount) async throws -> ActivityValidationResult {
        let client = RPCClient(host: "127.0.0.1", port: port)
        defer { Task { await client.close() } }
        var r = Lv_Gateway_V1_GetActivityValidationRequest()
        r.activityId = "pf-act"
        return ActivityValidationResult(try await Lv.Gateway.V1.Gateway.Client(client).getActivityValidation(r, options: CallOptions(timeout: timeout)))
    }

    func health(_ port: Int) async -> Lv_Health_V1_HealthCheckResponse? {
        let client = RPCClient(host: "127.0.0.1", port: port)
        defer { Task { await client.close() } }
        return try? await Lv.Health.V1.Health.Client(client).check(.init(), options: CallOptions(timeout: .seconds(5)))
    }

    func readyz(_ metricsPort: Int) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/readyz")!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Waits (bounded: 60 s, far above the 0.5 s check interval) until the gateway's health is `status`.
    func waitForHealth(_ port: Int, _ status: ServingStatus) async throws -> Lv_Health_V1_HealthCheckResponse {
        for _ in 0..<600 {
            if let h = await health(port), h.status == status { return h }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        Issue.record("the gateway's health never became \(status.protoName)")
        throw RPCError(.deadlineExceeded, "health")
    }

    /// The complete view with what `missing` takes out, as `Completeness` defines it; the fields
    /// that differ between any two answers (time, the per-backend `degraded` list) are cleared.
    static func expected(_ complete: ActivityValidation, missing: [Lv_Gateway_V1_SectionStatus]) -> ActivityValidation {
        var map: [SourceData: SectionStatus] = [:]
        for s in missing { for data in SourceData.of(Source(rawValue: s.section)!) { map[data] = s } }
        var v = complete
        Completeness.apply(&v, missing: map)
        return normalized(v)
    }

    static func normalized(_ v: ActivityValidation) -> ActivityValidation {
        var v = v
        v.computedMs = 0
        v.degraded = []
        // Means summed in set order may differ in the last bit between two builds of the same data.
        func rounded(_ e: Estimate?) -> Estimate? {
            e.map { var e = $0; e.value = (e.value * 1e9).rounded() / 1e9; return e }
        }
        v.meanEngagementIndex = rounded(v.meanEngagementIndex)
        if v.competence != nil { v.competence!.comparisonPost = rounded(v.competence!.comparisonPost) }
        return v
    }

    @Test("each backend killed, then hung: absent sections with reasons, nothing else differs, lvctl exits 3, health and /readyz say not ready; restarted, it is used again")
    func eachBackendDown() async throws {
        var backends: [Source: RunningService] = [:]
        for source in Source.allCases { backends[source] = try RunningService("lv-\(source.rawValue)") }
        let gateway = try RunningService("lv-gateway", extraArguments: [
            "--registration-addr", "127.0.0.1:\(backends[.registration]!.port)",
            "--engagement-addr", "127.0.0.1:\(backends[.engagement]!.port)",
            "--assessment-addr", "127.0.0.1:\(backends[.assessment]!.port)",
            "--health-interval", "0.5",
        ])
        defer {
            _ = gateway.stop()
            for (_, b) in backends where b.process.isRunning {
                b.signal(SIGCONT)
                _ = b.stop()
            }
        }
        let clients = [Source.registration, .engagement, .assessment].map { RPCClient(host: "127.0.0.1", port: backends[$0]!.port) }
        var config = CMESimulation.Configuration()
        (config.activityID, config.participants, config.comparison, config.seed) = ("pf-act", 30, 10, 12)
        // These checks count exact n's (every participant attends and takes both tests): the first simulator's behaviour.
        config.realism = .idealised
        try await CMESimulation(configuration: config, registration: clients[0], engagement: clients[1], assessment: clients[2]).run()
        for c in clients { await c.close() }

        _ = try await waitForHealth(gateway.port, .serving)
        let complete = try await view(gateway.port, timeout: .seconds(30)).v
        #expect(complete.completeness?.status == .complete)
        #expect(complete.completeness?.absent.isEmpty == true)
        #expect(complete.funnel?.registered == 30)
        #expect(complete.knowledge?.pairedT?.n == 30)
        #expect(!complete.title.isEmpty)
        #expect(try await readyz(gateway.metricsPort).0 == 200)
        let report = try run("lvctl", ["report", "activity", "pf-act", "--addr", "127.0.0.1:\(gateway.port)"])
        #expect(report.status == 0)
        #expect(!report.output.contains("PARTIAL"))

        for source in Source.allCases {
            for hung in [false, true] {
                let backend = backends[source]!
                let how = hung ? "hung (SIGSTOP)" : "killed (SIGKILL)"
                if hung {
                    backend.signal(SIGSTOP)
                } else {
                    backend.signal(SIGKILL)
                    backend.process.waitUntilExit()
                }
                // A hung backend costs the caller's whole deadline (less the gateway's margin).
                let partial = try await view(gateway.port, timeout: .seconds(hung ? 4 : 30)).v
                let c = try #require(partial.completeness, "\(source) \(how): no completeness")
                #expect(c.status == .partial, "\(source) \(how)")
                #expect(c.missingSources.map(\.section) == [source.rawValue], "\(source) \(how)")
                let code: StatusCode = hung ? .deadlineExceeded : .unavailable
                #expect(c.missingSources.first?.code == code, "\(source) \(how): \(c.missingSources)")
                var absent = Self.absentWithout[source]!
                // Without engagement only level 2 is unjudged: the highest level is still known when it is above 2.
                if source == .engagement && ["", "1", "2"].contains(complete.highestLevel) { absent.insert("highest_level") }
                #expect(Set(c.absent.map(\.section)) == absent, "\(source) \(how): \(c.absent.map(\.section).sorted())")
                let prefix = "\(source.rawValue) \(hung ? "deadline exceeded" : "unavailable")"
                for a in c.absent where a.section != "highest_level" {
                    #expect(a.reason.hasPrefix(prefix), "\(source) \(how): \(a.section): \(a.reason)")
                }
                for l in partial.levels where Self.absentWithout[source]!.contains("levels.\(l.level)") {
                    #expect(l.notEvaluated && !l.evidenced && l.reason.hasPrefix("not evaluated: \(prefix)"), "\(source) \(how): \(l)")
                }
                // Nothing present differs from the complete view: the partial answer is the complete
                // one with exactly those sections taken out (no statistic recomputed on what remains).
                #expect(Self.normalized(partial) == Self.expected(complete, missing: c.missingSources), "\(source) \(how)")
                if source == .registration {
                    #expect(partial.funnel == nil && partial.knowledge == nil && partial.targetMooreLevel == 0 && partial.title.isEmpty)
                }

                let cli = try run("lvctl", ["report", "activity", "pf-act", "--addr", "127.0.0.1:\(gateway.port)", "--timeout", hung ? "4" : "30"])
                #expect(cli.status == 3, "\(source) \(how): lvctl report exited \(cli.status): \(cli.errors)")
                #expect(cli.output.contains("PARTIAL VIEW") && cli.output.contains("\(source.rawValue) could not be read"), "\(source) \(how)")
                if source == .registration { #expect(!cli.output.contains("target Moore level 0")) }
                let json = try run("lvctl", ["report", "activity", "pf-act", "--json", "--addr", "127.0.0.1:\(gateway.port)", "--timeout", hung ? "4" : "30"])
                #expect(json.status == 3)
                let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
                #expect((object?["completeness"] as? [String: Any])?["status"] as? String == "COMPLETENESS_STATUS_PARTIAL", "\(source) \(how)")

                let h = try await waitForHealth(gateway.port, .notServing)
                let dependency = h.dependencies.first { $0.name == source.rawValue }
                #expect(dependency?.status == .notServing && dependency?.detail.isEmpty == false, "\(source) \(how): \(h.dependencies)")
                #expect(h.dependencies.filter { $0.name != source.rawValue }.allSatisfy { $0.status == .serving }, "\(source) \(how): \(h.dependencies)")
                let (code503, body) = try await readyz(gateway.metricsPort)
                #expect(code503 == 503 && body.contains("dependency \(source.rawValue)"), "\(source) \(how): \(body)")

                // Back: continued, or restarted on the same port with the same data; the next call uses it.
                if hung {
                    backend.signal(SIGCONT)
                } else {
                    backends[source] = try RunningService("lv-\(source.rawValue)", dataDirectory: backend.dataDirectory,
                                                          listen: "127.0.0.1:\(backend.port)")
                }
                _ = try await waitForHealth(gateway.port, .serving)
                #expect(try await readyz(gateway.metricsPort).0 == 200)
                let again = try await view(gateway.port, timeout: .seconds(30)).v
                #expect(again.completeness?.status == .complete, "\(source) \(how): after it came back")
                #expect(Self.normalized(again) == Self.normalized(complete), "\(source) \(how): after it came back")
            }
        }
    }
}
