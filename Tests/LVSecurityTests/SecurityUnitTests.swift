import Foundation
import LVMessages
import LVRPC
@testable import LVSecurity
import NIOCore
import Testing

@Suite("SHA-256, keys, limits")
struct KeyTests {
    @Test("SHA-256 gives the FIPS 180-4 / NIST example digests")
    func nistVectors() {
        #expect(Hex.encode(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(SHA256.hash([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hex.encode(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Hex.encode(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("SHA-256 agrees with sha256sum on inputs of every length around the block boundaries")
    func againstSha256sum() throws {
        var rng = SystemRandomNumberGenerator()
        for length in [1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("lv-sha-\(UUID().uuidString)")
            try Data(bytes).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            p.arguments = [file.path]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(String(text.prefix(64)) == Hex.encode(SHA256.hash(bytes)), "length \(length)")
        }
    }

    @Test("a generated key checks against its own line only; wrong secret, unknown id, malformed and expired are told apart")
    func keyChecks() throws {
        let (key, entry) = APIKey.generate(name: "desk-1", roles: [.registrar])
        let (other, _) = APIKey.generate(name: "other", roles: [.admin])
        let parsed = try KeyFile.parse("# a comment\n\n" + entry.line + "\n")
        #expect(parsed == [entry])
        #expect(!entry.line.contains(String(key.split(separator: "_").last!)), "the secret is not in the line")
        let store = KeyStore(entries: parsed)
        #expect(store.check(key) == .valid(entry))
        var wrong = Array(key)
        wrong[wrong.count - 1] = wrong.last == "0" ? "1" : "0"
        #expect(store.check(String(wrong)) == .wrongSecret)
        #expect(store.check(other) == .unknown)
        #expect(store.check("Bearer something") == .malformed)
        var expired = entry
        expired.expires = 1000
        #expect(KeyStore(entries: [expired]).check(key, now: 1000) == .expired)
        #expect(KeyStore(entries: [expired]).check(key, now: 999) == .valid(expired))
    }

    @Test("key file errors name the line and the rule")
    func keyFileErrors() {
        let (_, entry) = APIKey.generate(name: "a", roles: [.analyst])
        #expect(throws: KeyFileError.self) { try KeyFile.parse(entry.line + "\n" + entry.line) }
        do {
            _ = try KeyFile.parse("\n" + entry.line.replacingOccurrences(of: "roles=analyst", with: "roles=superuser"), path: "k")
            Issue.record("an unknown role was accepted")
        } catch let e as KeyFileError {
            #expect(e.line == 2)
            #expect(e.description.contains("unknown role 'superuser'"))
        } catch { Issue.record("\(error)") }
        #expect(throws: KeyFileError.self) { try KeyFile.parse(entry.line.replacingOccurrences(of: "sha256=", with: "sha256=00")) }
    }

    @Test("reload swaps keys: a removed line stops working, an added one starts; a bad file keeps the old keys")
    func reload() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lv-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("keys").path
        let (k1, e1) = APIKey.generate(name: "one", roles: [.ingest])
        let (k2, e2) = APIKey.generate(name: "two", roles: [.ingest])
        try (e1.line + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        let store = try KeyStore(path: path)
        #expect(store.check(k1) == .valid(e1))
        #expect(store.check(k2) == .unknown)
        try (e2.line + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        #expect(try store.reload() == 1)
        #expect(store.check(k1) == .unknown)
        #expect(store.check(k2) == .valid(e2))
        try "garbage\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        #expect(throws: KeyFileError.self) { try store.reload() }
        #expect(store.check(k2) == .valid(e2))
        chmod(path, 0o666)
        #expect(throws: KeyFileError.self) { try KeyStore(path: path) }
    }

    @Test("token bucket: burst, then the wait until the next token; refills at the rate")
    func tokenBucket() {
        let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var b = TokenBucket(rate: 2, burst: 3, now: t0)
        #expect(b.take(now: t0) == nil)
        #expect(b.take(now: t0) == nil)
        #expect(b.take(now: t0) == nil)
        #expect(b.take(now: t0) == 500)
        #expect(b.take(now: t0 + .milliseconds(250)) == 250)
        #expect(b.take(now: t0 + .milliseconds(500)) == nil)
    }

    @Test("per-key limits: rate, then concurrency; finishing a call frees its slot")
    func keyLimiter() {
        var e = APIKey.generate(name: "k", roles: [.ingest]).entry
        e.rate = 1
        e.burst = 2
        e.concurrent = 1
        let limiter = KeyLimiter()
        let t0 = NIODeadline.uptimeNanoseconds(5_000_000_000)
        #expect(limiter.begin(e, now: t0) == .admitted)
        #expect(limiter.begin(e, now: t0) == .overConcurrency(limit: 1))
        limiter.finish(e)
        #expect(limiter.begin(e, now: t0) == .admitted)
        limiter.finish(e)
        #expect(limiter.begin(e, now: t0) == .overRate(retryAfterMs: 1000))
    }

    @Test("failed HELLOs per address: blocked after the burst, others unaffected, free again after the refill")
    func failureLimiter() {
        let f = FailureLimiter(burst: 3, perSecond: 1)
        let t0 = NIODeadline.uptimeNanoseconds(9_000_000_000)
        for _ in 0..<3 {
            #expect(f.blocked("10.0.0.1", now: t0) == nil)
            f.failed("10.0.0.1", now: t0)
        }
        #expect(f.blocked("10.0.0.1", now: t0) == 1000)
        #expect(f.blocked("10.0.0.2", now: t0) == nil)
        #expect(f.blocked("10.0.0.1", now: t0 + .seconds(1)) == nil)
    }
}

@Suite("method scope table")
struct ScopeTableTests {
    @Test("34 service methods, Backup, Health and Reflection; each once; only health and reflection without a scope")
    func table() {
        #expect(MethodPolicies.all.count == 37)
        #expect(Set(MethodPolicies.all.map(\.method)).count == 37)
        #expect(MethodPolicies.all.filter { $0.scope == nil }.map(\.method).sorted()
                == ["lv.health.v1.Health/Check", "lv.reflection.v1.Reflection/ListServices"])
        #expect(MethodPolicies.all.filter { $0.method.hasPrefix("lv.registration.") }.count == 18)
        #expect(MethodPolicies.all.filter { $0.method.hasPrefix("lv.engagement.") }.count == 4)
        #expect(MethodPolicies.all.filter { $0.method.hasPrefix("lv.assessment.") }.count == 8)
        #expect(MethodPolicies.all.filter { $0.method.hasPrefix("lv.gateway.") }.count == 4)
        // The PARS export carries names, NPIs and board ids: the registrar's read scope, and every
        // export audited.
        let pars = MethodPolicies.all.first { $0.method == "lv.gateway.v1.Gateway/ExportPARS" }
        #expect(pars?.scope == .registrarRead)
        #expect(pars?.audit == .read)
        // Every write is audited.
        for p in MethodPolicies.all where [.ingest, .registrar, .assessor, .admin].contains(p.scope) {
            #expect(p.audit == .write, "\(p.method)")
        }
    }

    @Test("the audit log reads NPIs and the activity out of requests at any depth")
    func subjects() throws {
        var enroll = Lv_Registration_V1_EnrollRequest()
        enroll.activityId = "act-1"
        enroll.npi = "1234567893"
        var buffer = ByteBuffer()
        _ = try buffer.writeMessage(enroll)
        let policy = try #require(MethodPolicies.policy(for: Lv.Registration.V1.Registration.Method.Enroll.descriptor.fullName))
        let s = AuditSubjects.extract(buffer, descriptor: policy.request)
        #expect(s.activity == "act-1")
        #expect(s.npis == ["1234567893"])

        var register = Lv_Registration_V1_RegisterPhysicianRequest()
        var physician = Lv_Registration_V1_Physician()
        physician.npi = "1234567893"
        physician.givenName = "Ada"
        register.physician = physician
        var b2 = ByteBuffer()
        _ = try b2.writeMessage(register)
        let p2 = try #require(MethodPolicies.policy(for: Lv.Registration.V1.Registration.Method.RegisterPhysician.descriptor.fullName))
        #expect(AuditSubjects.extract(b2, descriptor: p2.request).npis == ["1234567893"])
        // Garbage (a denied call is never decoded) gives nothing, and no crash.
        #expect(AuditSubjects.extract(ByteBuffer(bytes: [0x0a, 0xff, 0xff, 0x01]), descriptor: policy.request).npis == [])
    }
}

@Suite("scope table in the docs")
struct ScopeDocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("docs/PROTOCOL.md, OPERATIONS.md and SECURITY.md print the method → scope table exactly as the code has it", arguments: ["PROTOCOL.md", "OPERATIONS.md", "SECURITY.md"])
    func docsMatch(file: String) throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/\(file)"), encoding: .utf8)
        #expect(text.contains(MethodPolicies.markdownTable), "regenerate the table in docs/\(file): swift test --filter ScopeDocsTests prints it")
        if !text.contains(MethodPolicies.markdownTable) { print(MethodPolicies.markdownTable) }
    }
}
