import Foundation
import Testing

/// Every lvctl command with --json: stdout parses as JSON with typed fields; failures are JSON on
/// stderr with the exit codes of docs/INTEGRATING.md; input files are decoded strictly.
@Suite("lvctl --json on every command", .serialized, .timeLimit(.minutes(5)))
struct JSONOutputTests {
    static func json(_ text: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8)) }

    @Test("each command's --json output is JSON with numbers as numbers and lists as arrays")
    func everyCommand() throws {
        let registration = try RunningService("lv-registration")
        let engagement = try RunningService("lv-engagement")
        let assessment = try RunningService("lv-assessment")
        let gateway = try RunningService("lv-gateway", extraArguments: [
            "--registration-addr", "127.0.0.1:\(registration.port)", "--engagement-addr", "127.0.0.1:\(engagement.port)",
            "--assessment-addr", "127.0.0.1:\(assessment.port)"])
        defer { for s in [gateway, registration, engagement, assessment] { _ = s.stop() } }
        let reg = "127.0.0.1:\(registration.port)", eng = "127.0.0.1:\(engagement.port)"
        let asm = "127.0.0.1:\(assessment.port)", gw = "127.0.0.1:\(gateway.port)"
        let examples = root.appendingPathComponent("deploy/local/examples")

        func ok(_ args: [String]) throws -> Any {
            let r = try run("lvctl", args)
            #expect(r.status == 0, "\(args): exit \(r.status): \(r.errors)")
            let parsed = try #require(Self.json(r.output), "\(args) printed no JSON: \(r.output)")
            return parsed
        }

        let health = try ok(["health", "--addr", reg, "--json"]) as? [String: Any]
        #expect(health?["status"] as? String == "SERVING")
        #expect((try ok(["list", "--addr", reg, "--json"]) as? [Any])?.isEmpty == false)

        let created = try ok(["registration", "create-activity", "--addr", reg, "--file", examples.appendingPathComponent("activity.json").path, "--json"]) as? [String: Any]
        #expect(created?["activity_id"] as? String == "hf-2026" && (created?["sessions"] as? [String])?.count == 2)
        let registered = try ok(["registration", "register", "--addr", reg, "--npi", "1234567893", "--given-name", "Test", "--family-name", "Physician", "--json"]) as? [String: Any]
        #expect((registered?["physician"] as? [String: Any])?["npi"] as? String == "1234567893")
        let enrolled = try ok(["registration", "enroll", "--addr", reg, "--activity", "hf-2026", "--npi", "1234567893", "--json"]) as? [String: Any]
        #expect((enrolled?["enrollment"] as? [String: Any])?["cohort"] as? String == "COHORT_PARTICIPANT")

        let activities = try ok(["registration", "list", "activities", "--addr", reg, "--json"]) as? [[String: Any]]
        #expect(activities?.first?["max_credits"] as? Double == 2.0 && activities?.first?["objectives"] as? Int == 2)
        let sessions = try ok(["registration", "list", "sessions", "--addr", reg, "--activity", "hf-2026", "--json"]) as? [[String: Any]]
        #expect(sessions?.count == 2 && sessions?.allSatisfy { $0["start_ms"] is NSNumber && $0["objectives"] is [String] } == true)
        let physicians = try ok(["registration", "list", "physicians", "--addr", reg, "--json"]) as? [[String: Any]]
        #expect(physicians?.first?["licences"] is [Any])
        for what in ["enrollments", "attendance", "credits"] {
            #expect(try ok(["registration", "list", what, "--addr", reg, "--activity", "hf-2026", "--json"]) is [Any], "\(what)")
        }
        // simulate --json: the summary on stdout, and nothing on stderr (no progress lines: stderr is for a JSON error).
        let simulation = try run("lvctl", ["simulate", "--registration-addr", reg, "--engagement-addr", eng, "--assessment-addr", asm,
                                           "--activity", "sim-json", "--participants", "4", "--comparison", "2", "--json"])
        #expect(simulation.status == 0, "\(simulation.errors)")
        #expect(simulation.errors.isEmpty, "simulate --json wrote to stderr: \(simulation.errors)")
        let simulated = Self.json(simulation.output) as? [String: Any]
        #expect(simulated?["participants"] as? Int == 4, "\(simulation.output)")
        // The PARS export on the simulated activity (its participants claimed credit), through the gateway: typed columns.
        let export = try ok(["report", "pars", "--addr", gw, "sim-json", "--json"]) as? [String: Any]
        let pars = export?["learners"] as? [[String: Any]]
        #expect(pars?.isEmpty == false, "\(String(describing: export))")
        for record in pars ?? [] {
            #expect(record["amount"] is NSNumber && (record["amount"] as? Double ?? 0) > 0, "\(record)")
            #expect((record["birth_month"] as? Int).map { (1...12).contains($0) } == true && (record["birth_day"] as? Int).map { (1...31).contains($0) } == true,
                    "\(record)")
            #expect(record["npi"] is String && record["board_id"] is String && record["completion_date"] is String, "\(record)")
        }
        #expect((export?["activity"] as? [String: Any])?["provider_activity_id"] as? String == "sim-json")

        let instrument = try ok(["assessment", "create-instrument", "--addr", asm, "--registration-addr", reg,
                                 "--file", examples.appendingPathComponent("pre-test.json").path, "--json"]) as? [String: Any]
        #expect((instrument?["instrument"] as? [String: Any])?["version"] as? Int == 1)
        let instruments = try ok(["assessment", "list-instruments", "--addr", asm, "--activity", "hf-2026", "--json"]) as? [[String: Any]]
        #expect(instruments?.first?["version"] as? Int == 1)

        let imported = try ok(["engagement", "import-xapi", root.appendingPathComponent("Tests/Fixtures/xapi-statements.json").path, "--addr", eng, "--json"]) as? [String: Any]
        #expect(imported?.isEmpty == false)

        let view = try ok(["report", "activity", "hf-2026", "--addr", gw, "--json", "--timeout", "30"]) as? [String: Any]
        #expect(view?["activityId"] as? String == "hf-2026")
        #expect(try ok(["report", "activities", "--addr", gw, "--json", "--timeout", "30"]) is [String: Any])
        #expect(try ok(["report", "physician", "1234567893", "--addr", gw, "--json", "--timeout", "30"]) is [String: Any])

        let backup = try ok(["admin", "backup", "--addr", reg, "--name", "json-test.sqlite", "--json"]) as? [String: Any]
        #expect(backup?.isEmpty == false)
        #expect(try ok(["describe", reg, "lv.health.v1.Health", "--json"]) is [String: Any])
        #expect(try ok(["call", reg, "Check"]) is [String: Any])
    }

    @Test("failures: unreachable exits 4, a bad flag or file exits 2, each as JSON on stderr with --json")
    func failures() throws {
        let down = try run("lvctl", ["registration", "list", "physicians", "--addr", "127.0.0.1:1", "--timeout", "2", "--json"])
        #expect(down.status == 4)
        let e = (Self.json(down.errors) as? [String: Any])?["error"] as? [String: Any]
        #expect(e?["name"] as? String == "UNAVAILABLE" && e?["code"] as? Int == 14, "\(down.errors)")

        let missing = try run("lvctl", ["registration", "create-activity", "--file", "/nonexistent/activity.json", "--json"])
        #expect(missing.status == 2)
        let usage = (Self.json(missing.errors) as? [String: Any])?["error"] as? [String: Any]
        #expect(usage?["kind"] as? String == "usage" && (usage?["message"] as? String)?.contains("no such file") == true, "\(missing.errors)")

        let badFlag = try run("lvctl", ["registration", "list", "physicians", "--no-such-flag"])
        #expect(badFlag.status == 2, "\(badFlag.errors)")
    }

    @Test("input files are strict: a misspelled key is refused with the key and its line; bad JSON with its line")
    func strictFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lv-strict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = try String(contentsOf: root.appendingPathComponent("deploy/local/examples/activity.json"), encoding: .utf8)
        let typo = dir.appendingPathComponent("typo.json")
        try original.replacingOccurrences(of: "\"sessions\"", with: "\"sesions\"").write(to: typo, atomically: true, encoding: .utf8)
        let line = original.components(separatedBy: "\n").firstIndex { $0.contains("\"sessions\"") }! + 1
        // Nothing listens on port 1: the file is refused before any connection is tried.
        let r = try run("lvctl", ["registration", "create-activity", "--addr", "127.0.0.1:1", "--file", typo.path])
        #expect(r.status == 2)
        #expect(r.errors.contains("line \(line): unknown key \"sesions\""), "\(r.errors)")

        // An optional key misspelled inside a list item: named with its path.
        let nested = dir.appendingPathComponent("nested.json")
        try original.replacingOccurrences(of: "\"objectives\": [\"obj-gdmt\"]", with: "\"objectivs\": [\"obj-gdmt\"]").write(to: nested, atomically: true, encoding: .utf8)
        let n = try run("lvctl", ["registration", "create-activity", "--addr", "127.0.0.1:1", "--file", nested.path])
        #expect(n.status == 2)
        #expect(n.errors.contains("unknown key \"objectivs\" in sessions[0]"), "\(n.errors)")
        // A required key misspelled: missing, and the keys that are there are listed with their lines.
        let required = dir.appendingPathComponent("required.json")
        try original.replacingOccurrences(of: "\"title\": \"GDMT in practice\"", with: "\"titel\": \"GDMT in practice\"").write(to: required, atomically: true, encoding: .utf8)
        let q = try run("lvctl", ["registration", "create-activity", "--addr", "127.0.0.1:1", "--file", required.path])
        #expect(q.status == 2)
        #expect(q.errors.contains("missing key \"title\" in sessions[0]") && q.errors.contains("\"titel\" line"), "\(q.errors)")

        let broken = dir.appendingPathComponent("broken.json")
        try "{\n  \"title\": \"x\",\n  \"type\": }\n".write(to: broken, atomically: true, encoding: .utf8)
        let b = try run("lvctl", ["registration", "create-activity", "--addr", "127.0.0.1:1", "--file", broken.path])
        #expect(b.status == 2)
        #expect(b.errors.contains("line 3"), "\(b.errors)")
    }
}
