import Foundation
import LVAPI
import LVMessages
import LVRPC
import LVSecurity
import LVTLS
import LVTestSupport
import NIOCore
import Simulation
import Testing

/// Keys (made with the same code as `lvctl admin create-key`) and test certificates made with
/// openssl in a temporary directory: nothing secret is committed.
final class SecurityFixture: @unchecked Sendable {
    let dir: URL
    var keys: [String: String] = [:]
    var entries: [String: KeyEntry] = [:]
    var keyFile: String { dir.appendingPathComponent("keys").path }

    /// Every role with a key of its own; "revoked" and "expired" carry every role (so any success with them is a failure).
    init(extra: [(String, [Role], (inout KeyEntry) -> Void)] = []) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("lv-sec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var specs: [(String, [Role], (inout KeyEntry) -> Void)] = Role.allCases.map { ($0.rawValue, [$0], { _ in }) }
        specs.append(("revoked", Role.allCases, { _ in }))
        specs.append(("expired", Role.allCases, { $0.expires = KeyStore.unixNow() - 60 }))
        specs.append(("lv-gateway", [.analyst], { _ in }))
        specs += extra
        for (label, roles, adjust) in specs {
            var (key, entry) = APIKey.generate(name: label, roles: roles)
            adjust(&entry)
            keys[label] = key
            entries[label] = entry
        }
        try writeKeyFile()
        try (keys["lv-gateway"]! + "\n").write(to: dir.appendingPathComponent("gateway.credential"), atomically: true, encoding: .utf8)
    }

    var gatewayCredentialFile: String { dir.appendingPathComponent("gateway.credential").path }

    func writeKeyFile(without: Set<String> = []) throws {
        let text = entries.filter { !without.contains($0.key) }.map(\.value.line).joined(separator: "\n") + "\n"
        try text.write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o600)
    }

    /// A wrong key: the shape of a real one, a secret nobody was given.
    var wrongKey: String {
        let real = keys["admin"]!
        return String(real.dropLast(4)) + (real.hasSuffix("0000") ? "1111" : "0000")
    }

    // MARK: certificates

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// ca.crt/ca.key, server.crt/key (IP 127.0.0.1, localhost), client.crt/key (signed by ca), other-ca.crt.
    func makeCertificates() throws {
        func openssl(_ args: [String]) throws { try LVTestSupport.openssl(args, in: dir) }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ["ca", "other-ca"] {
            try openssl(["req", "-x509"] + ec + ["-keyout", "\(ca).key", "-out", "\(ca).crt", "-days", "2", "-subj", "/CN=lv-test-\(ca)"])
        }
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n".write(toFile: path("server.ext"), atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\n".write(toFile: path("client.ext"), atomically: true, encoding: .utf8)
        for leaf in ["server", "client"] {
            try openssl(["req"] + ec + ["-keyout", "\(leaf).key", "-out", "\(leaf).csr", "-subj", "/CN=lv-test-\(leaf)"])
            try openssl(["x509", "-req", "-in", "\(leaf).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                         "-out", "\(leaf).crt", "-days", "2", "-extfile", "\(leaf).ext"])
        }
    }

    var serverTLSArguments: [String] {
        ["--tls-cert", path("server.crt"), "--tls-key", path("server.key"), "--tls-client-ca", path("ca.crt")]
    }

    var clientTLS: ClientSecurity { ClientSecurity(ca: path("ca.crt"), certificate: path("client.crt"), key: path("client.key")) }
}

/// One call on a new connection (so a refused HELLO never leaves a client in backoff); returns the status.
func probe(port: Int, method: String, credential: String, tls: ClientSecurity? = nil,
           payload: ByteBuffer = ByteBuffer()) async -> RPCError {
    do {
        var c = RPCClient.Configuration(host: "127.0.0.1", port: port, credential: credential)
        if let tls { try tls.apply(to: &c) }
        c.credential = credential
        c.connectTimeout = .seconds(10)
        let client = RPCClient(configuration: c)
        defer { Task { await client.close() } }
        _ = try await client.callRaw(method, encodedRequest: payload, options: CallOptions(timeout: .seconds(20)))
        return RPCError(.ok, "")
    } catch {
        return RPCError.from(error)
    }
}

@Suite("security end to end", .serialized, .timeLimit(.minutes(6)))
struct SecurityEndToEndTests {
    /// Who may call what, written out independently of MethodPolicies: method → roles allowed
    /// ("*" = anyone, no key needed).
    static let expected: [String: Set<String>] = {
        var e: [String: Set<String>] = [:]
        let r = "lv.registration.v1.Registration/"
        for m in ["RegisterPhysician", "UpdatePhysician", "CreateActivity", "AddSession", "Enroll", "Withdraw", "CheckIn", "CheckOut",
                  "RecordAttendance", "ClaimCredit"] { e[r + m] = ["registrar"] }
        for m in ["GetPhysician", "ListPhysicians", "GetActivity", "ListActivities", "ListSessions", "ListEnrollments", "GetAttendance",
                  "ListCredits"] { e[r + m] = ["registrar", "analyst"] }
        e["lv.engagement.v1.Engagement/RecordEvents"] = ["ingest"]
        e["lv.engagement.v1.Engagement/DefinePoll"] = ["ingest"]
        e["lv.engagement.v1.Engagement/GetEngagementSummary"] = ["analyst"]
        e["lv.engagement.v1.Engagement/ListEvents"] = ["analyst"]
        let a = "lv.assessment.v1.Assessment/"
        for m in ["CreateInstrument", "SubmitResponses", "RecordCommitment", "RecordFollowUp", "RecordPracticeMeasures"] { e[a + m] = ["assessor"] }
        for m in ["GetInstrument", "ListInstruments", "GetOutcomes"] { e[a + m] = ["assessor", "analyst"] }
        for m in ["GetActivityValidation", "GetPhysicianTranscript", "ListActivityValidations"] { e["lv.gateway.v1.Gateway/" + m] = ["analyst"] }
        // Names, NPIs and board ids: whoever may read registration's learners.
        e["lv.gateway.v1.Gateway/ExportPARS"] = ["registrar", "analyst"]
        e["lv.admin.v1.Admin/Backup"] = ["admin"]
        e["lv.health.v1.Health/Check"] = ["*"]
        e["lv.reflection.v1.Reflection/ListServices"] = ["*"]
        return e
    }()

    @Test("allow/deny matrix: every method of every service under every role, no key, a wrong, a revoked and an expired key (TLS with client certificates throughout)")
    func matrix() async throws {
        let fx = try SecurityFixture()
        try fx.makeCertificates()
        let common = ["--key-file", fx.keyFile, "--max-auth-failures", "1000000"] + fx.serverTLSArguments
        let registration = try RunningService("lv-registration", extraArguments: common)
        let engagement = try RunningService("lv-engagement", extraArguments: common)
        let assessment = try RunningService("lv-assessment", extraArguments: common)
        let gateway = try RunningService("lv-gateway", extraArguments: common + [
            "--registration-addr", "127.0.0.1:\(registration.port)", "--engagement-addr", "127.0.0.1:\(engagement.port)",
            "--assessment-addr", "127.0.0.1:\(assessment.port)", "--backend-credential-file", fx.gatewayCredentialFile,
            "--backend-ca", fx.path("ca.crt"), "--backend-cert", fx.path("client.crt"), "--backend-cert-key", fx.path("client.key"),
        ])
        let services = [registration, engagement, assessment, gateway]
        defer { for s in services { _ = s.stop() } }
        let tls = fx.clientTLS
        let health = "lv.health.v1.Health/Check"

        // A connection opened with the key before it is revoked is cut off at its next call.
        var early = RPCClient.Configuration(host: "127.0.0.1", port: registration.port, credential: fx.keys["revoked"]!)
        try tls.apply(to: &early)
        early.credential = fx.keys["revoked"]!
        let earlyClient = RPCClient(configuration: early)
        _ = try await Lv.Registration.V1.Registration.Client(earlyClient).listActivities(.init())

        // Revoke: the line leaves the key file, SIGHUP; wait until every service refuses the key.
        try fx.writeKeyFile(without: ["revoked"])
        for s in services { s.signal(SIGHUP) }
        for s in services {
            var refused = false
            for _ in 0..<200 where !refused {
                refused = await probe(port: s.port, method: health, credential: fx.keys["revoked"]!, tls: tls).code == .unauthenticated
                if !refused { try await Task.sleep(nanoseconds: 20_000_000) }
            }
            #expect(refused, "\(s.name) still accepts the revoked key after SIGHUP")
        }
        do {
            _ = try await Lv.Registration.V1.Registration.Client(earlyClient).listActivities(.init())
            Issue.record("a connection opened before the revocation kept working")
        } catch let e as RPCError {
            #expect(e.code == .unauthenticated)
            #expect(e.message.contains("revoked"))
        }
        await earlyClient.close()

        // The gateway, with its own key and client certificate, has every backend.
        var view = (status: Int32(-1), output: "", errors: "")
        for _ in 0..<100 where view.status != 0 {
            view = try run("lvctl", ["health", "--addr", "127.0.0.1:\(gateway.port)", "--ca", fx.path("ca.crt"),
                                     "--cert", fx.path("client.crt"), "--key", fx.path("client.key")])
            if view.status != 0 { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        #expect(view.status == 0, "gateway health through lvctl with TLS: \(view.output) \(view.errors)")

        let principals: [(String, String)] = Role.allCases.map { ($0.rawValue, fx.keys[$0.rawValue]!) }
            + [("none", ""), ("wrong", fx.wrongKey), ("revoked", fx.keys["revoked"]!), ("expired", fx.keys["expired"]!)]
        var cells = 0
        var allowed = 0
        var methodsSeen = Set<String>()
        for service in services {
            // What the executable really serves, by reflection (no key needed).
            let client = try { () throws -> RPCClient in
                var c = RPCClient.Configuration(host: "127.0.0.1", port: service.port)
                try tls.apply(to: &c)
                return RPCClient(configuration: c)
            }()
            let listed = try await Lv.Reflection.V1.Reflection.Client(client).listServices(.init())
            await client.close()
            let methods = listed.services.flatMap { s in s.methods.map { "\(s.name)/\($0.name)" } }
            for method in methods {
                methodsSeen.insert(method)
                #expect(MethodPolicies.policy(for: method) != nil, "\(service.name) serves \(method), which is not in the scope table")
                let roles = try #require(Self.expected[method], "no expectation for \(method)")
                for (label, credential) in principals {
                    let status = await probe(port: service.port, method: method, credential: credential, tls: tls)
                    cells += 1
                    let badKey = ["wrong", "revoked", "expired"].contains(label)
                    if badKey {
                        // Refused at HELLO, whatever the method.
                        #expect(status.code == .unauthenticated, "\(label) → \(method): \(status.code.protoName) \(status.message)")
                    } else if roles.contains("*") || roles.contains(label) {
                        allowed += 1
                        #expect(![.permissionDenied, .unauthenticated, .unimplemented, .resourceExhausted].contains(status.code),
                                "\(label) → \(method) should be allowed: \(status.code.protoName) \(status.message)")
                    } else if label == "none" {
                        #expect(status.code == .unauthenticated, "no key → \(method): \(status.code.protoName)")
                        #expect(status.message.contains("needs scope"))
                    } else {
                        #expect(status.code == .permissionDenied, "\(label) → \(method): \(status.code.protoName) \(status.message)")
                        let scope = MethodPolicies.policy(for: method)?.scope?.rawValue ?? "?"
                        #expect(status.message.contains("needs scope '\(scope)'"), "\(status.message)")
                    }
                }
            }
        }
        // 18 + 4 + 8 + 4 service methods, Backup on the three stores, Health and Reflection on all four.
        #expect(methodsSeen.count == 37)
        #expect(cells == 405)
        print("allow/deny matrix: \(cells) cells (\(allowed) allowed, \(cells - allowed) refused) over 4 services, 45 methods, 9 principals")
    }

    @Test("TLS: a plaintext client, a client trusting another CA and a client without a certificate under mTLS are refused; a valid mTLS client is served; lvctl with --ca/--cert/--key")
    func tls() async throws {
        let fx = try SecurityFixture()
        try fx.makeCertificates()
        let service = try RunningService("lv-registration", extraArguments: ["--key-file", fx.keyFile] + fx.serverTLSArguments)
        defer { _ = service.stop() }
        let method = "lv.registration.v1.Registration/ListActivities"
        let key = fx.keys["registrar"]!

        let plaintext = await probe(port: service.port, method: method, credential: key)
        #expect(plaintext.code == .unavailable, "plaintext: \(plaintext.code.protoName) \(plaintext.message)")

        let wrongCA = await probe(port: service.port, method: method, credential: key,
                                  tls: ClientSecurity(ca: fx.path("other-ca.crt"), certificate: fx.path("client.crt"), key: fx.path("client.key")))
        #expect(wrongCA.code == .unavailable)
        #expect(wrongCA.message.lowercased().contains("certificate"), "wrong CA: \(wrongCA.message)")

        let noClientCert = await probe(port: service.port, method: method, credential: key, tls: ClientSecurity(ca: fx.path("ca.crt")))
        #expect(noClientCert.code == .unavailable, "no client certificate: \(noClientCert.code.protoName) \(noClientCert.message)")

        let valid = await probe(port: service.port, method: method, credential: key, tls: fx.clientTLS)
        #expect(valid.code == .ok, "valid mTLS: \(valid.code.protoName) \(valid.message)")

        try (key + "\n").write(toFile: fx.path("registrar.credential"), atomically: true, encoding: .utf8)
        let list = try run("lvctl", ["registration", "list", "activities", "--addr", "127.0.0.1:\(service.port)",
                                     "--credential-file", fx.path("registrar.credential"), "--ca", fx.path("ca.crt"),
                                     "--cert", fx.path("client.crt"), "--key", fx.path("client.key")])
        #expect(list.status == 0, "lvctl over mTLS: \(list.errors)")
        let refused = try run("lvctl", ["health", "--addr", "127.0.0.1:\(service.port)", "--timeout", "3"])
        #expect(refused.status == 4, "plaintext lvctl against a TLS server: unreachable (docs/INTEGRATING.md)")
    }

    @Test("limits: a key over its rate gets RESOURCE_EXHAUSTED with retry_after_ms; failed credentials from one address are refused after --max-auth-failures")
    func limits() async throws {
        let fx = try SecurityFixture(extra: [("slow", [.registrar], { $0.rate = 0.001; $0.burst = 2 })])
        let service = try RunningService("lv-registration", extraArguments: ["--key-file", fx.keyFile, "--max-auth-failures", "3"])
        defer { _ = service.stop() }
        var c = RPCClient.Configuration(host: "127.0.0.1", port: service.port, credential: fx.keys["slow"]!)
        c.connectTimeout = .seconds(10)
        let client = RPCClient(configuration: c)
        let api = Lv.Registration.V1.Registration.Client(client)
        let options = CallOptions(timeout: .seconds(5))
        _ = try await api.listActivities(.init(), options: options)
        _ = try await api.listActivities(.init(), options: options)
        do {
            _ = try await api.listActivities(.init(), options: options)
            Issue.record("a third call within the burst of 2 at 0.001/s was served")
        } catch let e as RPCError {
            #expect(e.code == .resourceExhausted)
            #expect(e.retryAfterMs > 1000)
        }
        // Another key is not affected.
        #expect(await probe(port: service.port, method: "lv.registration.v1.Registration/ListActivities", credential: fx.keys["registrar"]!).code == .ok)
        await client.close()

        for _ in 0..<3 {
            #expect(await probe(port: service.port, method: "lv.health.v1.Health/Check", credential: fx.wrongKey).code == .unauthenticated)
        }
        let blocked = await probe(port: service.port, method: "lv.health.v1.Health/Check", credential: fx.wrongKey)
        #expect(blocked.code == .resourceExhausted)
        #expect(blocked.retryAfterMs > 0)
        // While blocked, even a right key from that address waits.
        #expect(await probe(port: service.port, method: "lv.health.v1.Health/Check", credential: fx.keys["registrar"]!).code == .resourceExhausted)
    }

    @Test("audit: a workload's records chain and survive SIGKILL once acknowledged; verify-audit names an altered and a removed line")
    func audit() async throws {
        let fx = try SecurityFixture()
        let service = try RunningService("lv-registration", extraArguments: ["--key-file", fx.keyFile])
        let auditPath = service.dataDirectory.appendingPathComponent("lv-registration.audit.jsonl").path
        // A failure before the SIGKILL below must not leave the service running (swift test would wait on its output).
        defer { if service.process.isRunning { service.signal(SIGKILL) } }
        func api(_ label: String) -> (RPCClient, Lv.Registration.V1.Registration.Client) {
            let c = RPCClient(configuration: .init(host: "127.0.0.1", port: service.port, credential: fx.keys[label]!))
            return (c, Lv.Registration.V1.Registration.Client(c))
        }
        let (rc, registrar) = api("registrar")
        let (ac, analyst) = api("analyst")
        let (ic, ingest) = api("ingest")
        let npis = (0..<5).map { CMESimulation.npi(900 + $0) }
        for npi in npis {
            var r = Lv_Registration_V1_RegisterPhysicianRequest()
            r.requestId = "audit-\(npi)"
            var p = Lv_Registration_V1_Physician()
            p.npi = npi
            p.givenName = "Audit"
            p.familyName = "Test"
            r.physician = p
            _ = try await registrar.registerPhysician(r)
        }
        var get = Lv_Registration_V1_GetPhysicianRequest()
        get.npi = npis[2]
        _ = try await analyst.getPhysician(get)
        var denied = Lv_Registration_V1_RegisterPhysicianRequest()
        var deniedPhysician = Lv_Registration_V1_Physician()
        deniedPhysician.npi = npis[3]
        denied.physician = deniedPhysician
        do { _ = try await ingest.registerPhysician(denied); Issue.record("ingest registered a physician") } catch {}
        _ = try await analyst.listActivities(.init()) // not audited: no physician data
        // Acknowledged → on disk: kill without warning right after the last answer.
        service.signal(SIGKILL)
        _ = service.process.waitUntilExit()
        for c in [rc, ac, ic] { await c.close() }

        let text = try String(contentsOfFile: auditPath, encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        let records = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(records.count == 7, "5 registrations, 1 read, 1 denial: \(lines.count) lines")
        #expect(records.filter { $0["method"] as? String == "lv.registration.v1.Registration/RegisterPhysician" && $0["outcome"] as? String == "OK" }.count == 5)
        let read = records.first { $0["method"] as? String == "lv.registration.v1.Registration/GetPhysician" }
        #expect(read?["key"] as? String == "analyst")
        #expect(read?["npis"] as? [String] == [npis[2]])
        #expect(read?["kind"] as? String == "read")
        let refusal = records.first { $0["outcome"] as? String == "PERMISSION_DENIED" }
        #expect(refusal?["key"] as? String == "ingest")
        #expect((refusal?["peer"] as? String)?.contains("127.0.0.1") == true)

        let ok = try run("lvctl", ["admin", "verify-audit", auditPath])
        #expect(ok.status == 0, "\(ok.errors)")
        #expect(ok.output.contains("ok: 7 records"))

        var altered = lines
        altered[3] = altered[3].replacingOccurrences(of: "\"outcome\":\"OK\"", with: "\"outcome\":\"DENIED\"")
        let alteredPath = fx.path("altered.jsonl")
        try (altered.joined(separator: "\n") + "\n").write(toFile: alteredPath, atomically: true, encoding: .utf8)
        let bad = try run("lvctl", ["admin", "verify-audit", alteredPath])
        #expect(bad.status == 1)
        #expect(bad.errors.contains("line 4: altered"), "\(bad.errors)")

        var removed = lines
        removed.remove(at: 2)
        let removedPath = fx.path("removed.jsonl")
        try (removed.joined(separator: "\n") + "\n").write(toFile: removedPath, atomically: true, encoding: .utf8)
        let gap = try run("lvctl", ["admin", "verify-audit", removedPath])
        #expect(gap.status == 1)
        #expect(gap.errors.contains("line 3: prev does not match line 2"), "\(gap.errors)")
    }

    @Test("services refuse a non-loopback address without keys and TLS unless --insecure")
    func safeDefaults() throws {
        let refused = try run("lv-registration", ["--listen", "0.0.0.0:0", "--metrics-listen", "off", "--data-dir",
                                                  FileManager.default.temporaryDirectory.appendingPathComponent("lv-sd-\(UUID().uuidString)").path])
        #expect(refused.status != 0)
        #expect(refused.errors.contains("refusing to listen on 0.0.0.0"), "\(refused.errors)")
        #expect(refused.errors.contains("--insecure"))
        let fx = try SecurityFixture()
        let keysOnly = try run("lv-registration", ["--listen", "0.0.0.0:0", "--metrics-listen", "off", "--key-file", fx.keyFile])
        #expect(keysOnly.status != 0, "keys without TLS on a public address")
        // Loopback needs nothing (make demo).
        let loopback = try RunningService("lv-registration")
        #expect(loopback.stop() == 0)
    }

    @Test("no simulated name or NPI in any service's logs at trace level during a simulated activity and reports")
    func noIdentifiableDataInLogs() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lv-pii-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let logs = ["registration", "engagement", "assessment", "gateway"].map { dir.appendingPathComponent("\($0).log") }
        let registration = try RunningService("lv-registration", logLevel: "trace", stderr: logs[0])
        let engagement = try RunningService("lv-engagement", logLevel: "trace", stderr: logs[1])
        let assessment = try RunningService("lv-assessment", logLevel: "trace", stderr: logs[2])
        let gateway = try RunningService("lv-gateway", extraArguments: [
            "--registration-addr", "127.0.0.1:\(registration.port)", "--engagement-addr", "127.0.0.1:\(engagement.port)",
            "--assessment-addr", "127.0.0.1:\(assessment.port)"], logLevel: "trace", stderr: logs[3])
        let all = [gateway, registration, engagement, assessment]
        defer { for s in all where s.process.isRunning { s.signal(SIGKILL) } }
        let participants = 16, comparison = 4
        let sim = try run("lvctl", ["simulate", "--registration-addr", "127.0.0.1:\(registration.port)",
                                    "--engagement-addr", "127.0.0.1:\(engagement.port)", "--assessment-addr", "127.0.0.1:\(assessment.port)",
                                    "--activity", "pii-check", "--participants", "\(participants)", "--comparison", "\(comparison)", "--seed", "7"])
        #expect(sim.status == 0, "\(sim.errors)")
        let npis = (0..<(participants + comparison)).map(CMESimulation.npi)
        let report = try run("lvctl", ["report", "activity", "pii-check", "--addr", "127.0.0.1:\(gateway.port)"])
        #expect(report.status == 0 || report.status == 3, "\(report.errors)")
        let transcript = try run("lvctl", ["report", "physician", npis[1], "--addr", "127.0.0.1:\(gateway.port)"])
        #expect(transcript.status == 0 || transcript.status == 3, "\(transcript.errors)")
        // A read of a physician that does not exist, and a bad NPI: their errors must not be logged with the NPI either.
        _ = try run("lvctl", ["report", "physician", CMESimulation.npi(999), "--addr", "127.0.0.1:\(gateway.port)"])
        for s in all { #expect(s.stop() == 0) }

        let given = ["Ada", "Grace", "Lin", "Omar", "Priya", "Tomás", "Yuki", "Zoë", "Kwame", "Ines"]
        let family = (0..<(participants + comparison)).map { "Sim\($0)" }
        var total = 0
        for log in logs {
            let text = try String(contentsOf: log, encoding: .utf8)
            total += text.split(separator: "\n").count
            for npi in npis + [CMESimulation.npi(999)] {
                #expect(!text.contains(npi), "\(log.lastPathComponent) contains NPI \(npi)")
            }
            for name in given + family {
                let pattern = try Regex("\\b\(name)\\b")
                #expect(text.firstMatch(of: pattern) == nil, "\(log.lastPathComponent) contains the name \(name)")
            }
        }
        #expect(total > 100, "trace logging produced \(total) lines; the check needs real logs")
        print("identifiable-data check: \(total) log lines at trace, \(npis.count + 1) NPIs and \(given.count + family.count) names, none found")
    }
}
