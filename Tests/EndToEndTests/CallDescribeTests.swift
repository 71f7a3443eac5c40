import Foundation
import Testing

/// `lvctl call` and `lvctl describe` against every method of every service, from reflection alone.
@Suite("lvctl call and describe on every method", .serialized, .timeLimit(.minutes(5)))
struct CallDescribeTests {
    static func object(_ text: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    }

    @Test("every method listed by reflection: describe prints it, call with {} gets a status (never a crash), an unknown key is refused before sending")
    func everyMethod() throws {
        let registration = try RunningService("lv-registration")
        let engagement = try RunningService("lv-engagement")
        let assessment = try RunningService("lv-assessment")
        let gateway = try RunningService("lv-gateway", extraArguments: [
            "--registration-addr", "127.0.0.1:\(registration.port)", "--engagement-addr", "127.0.0.1:\(engagement.port)",
            "--assessment-addr", "127.0.0.1:\(assessment.port)"])
        defer { for s in [gateway, registration, engagement, assessment] { _ = s.stop() } }

        var called = 0
        var statuses: [String: Int] = [:]
        for service in [registration, engagement, assessment, gateway] {
            let addr = "127.0.0.1:\(service.port)"
            let list = try run("lvctl", ["list", "--addr", addr, "--json"])
            let services = try #require(try JSONSerialization.jsonObject(with: Data(list.output.utf8)) as? [[String: Any]])
            for s in services {
                let name = try #require(s["name"] as? String)
                for m in try #require(s["methods"] as? [[String: Any]]) {
                    let method = "\(name)/\(try #require(m["name"] as? String))"

                    let described = try run("lvctl", ["describe", addr, method])
                    #expect(described.status == 0, "\(service.name) describe \(method): \(described.errors)")
                    #expect(described.output.contains("rpc \(m["name"]!)(\(m["request"]!)) returns (\(m["response"]!));"), "\(method)")
                    #expect(described.output.contains("message \(m["request"]!) {"), "\(method)")
                    if called % 8 == 0 {  // the JSON form on a sample of methods (each run costs a process and a reflection)
                        let describedJSON = try run("lvctl", ["describe", addr, method, "--json"])
                        #expect((Self.object(describedJSON.output)?["messages"] as? [Any])?.isEmpty == false, "\(method)")
                    }

                    let call = try run("lvctl", ["call", addr, method, "-d", "{}", "--timeout", "10"])
                    // 0 with a JSON object on stdout, or 1 with the status as JSON on stderr; a crash is a signal (> 128) or no JSON.
                    #expect(call.status == 0 || call.status == 1, "\(service.name) \(method) exited \(call.status): \(call.errors)")
                    if call.status == 0 {
                        #expect(Self.object(call.output) != nil, "\(method) printed no JSON object: \(call.output)")
                        statuses["OK", default: 0] += 1
                    } else {
                        let error = Self.object(call.errors)?["error"] as? [String: Any]
                        let status = error?["name"] as? String ?? "none"
                        #expect(error?["code"] as? Int != nil && !["INTERNAL", "UNKNOWN", "UNIMPLEMENTED", "none"].contains(status),
                                "\(method): \(call.errors)")
                        statuses[status, default: 0] += 1
                    }

                    let unknown = try run("lvctl", ["call", addr, method, "-d", "{\n  \"noSuchField\": 1\n}"])
                    #expect(unknown.status == 2, "\(method): \(unknown.errors)")
                    let refused = Self.object(unknown.errors)?["error"] as? [String: Any]
                    #expect(refused?["kind"] as? String == "unknown-field" && refused?["line"] as? Int == 2 && refused?["field"] as? String == "noSuchField",
                            "\(method): \(unknown.errors)")
                    called += 1
                }
            }
        }
        // Four servers, each with health, reflection (2) and admin or its own service; every method of every proto service seen.
        #expect(called >= 40, "\(called) methods")
        #expect(statuses["OK", default: 0] > 0 && statuses["INVALID_ARGUMENT", default: 0] > 0, "\(statuses)")
    }

    @Test("a typed request and response: 64-bit integers as strings, enums by name; a bad value names the field; unreachable exits 4")
    func typedCall() throws {
        let registration = try RunningService("lv-registration")
        defer { _ = registration.stop() }
        let addr = "127.0.0.1:\(registration.port)"
        let health = try run("lvctl", ["call", addr, "Check", "-d", "{}", "-H", "x-request-id=call-test-1"])
        #expect(health.status == 0)
        #expect(Self.object(health.output)?["status"] as? String == "SERVING")

        let bad = try run("lvctl", ["call", addr, "Registration/GetPhysician", "-d", "{\"npi\": 12}"])
        #expect(bad.status == 2)
        let error = Self.object(bad.errors)?["error"] as? [String: Any]
        #expect(error?["field"] as? String == "npi" && error?["kind"] as? String == "invalid-value", "\(bad.errors)")

        let missing = try run("lvctl", ["call", addr, "Registration/GetPhysician", "-d", "{\"npi\": \"1234567893\"}"])
        #expect(missing.status == 1)
        #expect((Self.object(missing.errors)?["error"] as? [String: Any])?["name"] as? String == "NOT_FOUND", "\(missing.errors)")

        let syntax = try run("lvctl", ["call", addr, "Check", "-d", "{\n\"service\": }"])
        #expect(syntax.status == 2)
        #expect((Self.object(syntax.errors)?["error"] as? [String: Any])?["line"] as? Int == 2, "\(syntax.errors)")

        // -d - reads the request from stdin: a real request (found NOT_FOUND, so the npi reached the server),
        // a bad value named with its stdin line, and an unknown key refused before sending.
        let piped = try run("lvctl", ["call", addr, "Registration/GetPhysician", "-d", "-"], input: "{\"npi\": \"1234567893\"}")
        #expect(piped.status == 1)
        #expect((Self.object(piped.errors)?["error"] as? [String: Any])?["name"] as? String == "NOT_FOUND", "\(piped.errors)")
        let pipedHealth = try run("lvctl", ["call", addr, "Check", "-d", "-", "--compact"], input: "{\"service\": \"\"}\n")
        #expect(pipedHealth.status == 0 && Self.object(pipedHealth.output)?["status"] as? String == "SERVING", "\(pipedHealth.errors)")
        let pipedBad = try run("lvctl", ["call", addr, "Registration/GetPhysician", "-d", "-"], input: "{\n\n  \"npi\": 12\n}")
        #expect(pipedBad.status == 2)
        let pipedError = Self.object(pipedBad.errors)?["error"] as? [String: Any]
        #expect(pipedError?["field"] as? String == "npi" && pipedError?["line"] as? Int == 3
                && (pipedError?["message"] as? String)?.hasPrefix("stdin") == true, "\(pipedBad.errors)")
        let pipedSyntax = try run("lvctl", ["call", addr, "Check", "-d", "-"], input: "{\"service\": ")
        #expect(pipedSyntax.status == 2 && (Self.object(pipedSyntax.errors)?["error"] as? [String: Any])?["kind"] as? String == "syntax",
                "\(pipedSyntax.errors)")

        // describe prints nested types inside their parent, as in health.proto.
        let described = try run("lvctl", ["describe", addr, "Health/Check"])
        #expect(described.status == 0)
        #expect(described.output.contains("message lv.health.v1.HealthCheckResponse {\n") && described.output.contains("\n  enum ServingStatus {\n"),
                "\(described.output)")
        #expect(!described.output.contains("enum lv.health.v1.HealthCheckResponse.ServingStatus"), "\(described.output)")

        let badHeader = try run("lvctl", ["call", addr, "Check", "-H", "no-equals-sign"])
        #expect(badHeader.status == 2)

        let nowhere = try run("lvctl", ["call", "127.0.0.1:1", "Check", "--timeout", "2"])
        #expect(nowhere.status == 4)
        #expect((Self.object(nowhere.errors)?["error"] as? [String: Any])?["name"] as? String == "UNAVAILABLE", "\(nowhere.errors)")
    }
}
