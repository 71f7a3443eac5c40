import ArgumentParser
import Foundation
import LVRPC
import LVSecurity
import LVTLS
import Synchronization

/// `--credential-file`, `--ca`, `--cert`, `--key`, `--tls` on every command that connects.
/// Environment: LV_CREDENTIAL (the key itself), LV_CREDENTIAL_FILE, LV_CA, LV_CERT, LV_CERT_KEY, LV_TLS=1.
struct ClientSecurityOptions: ParsableArguments {
    @Option(name: .customLong("credential-file"), help: "A file holding the API key to present (env LV_CREDENTIAL_FILE, or the key itself in LV_CREDENTIAL).")
    var credentialFile: String?
    @Flag(name: .customLong("tls"), help: "Connect with TLS, trusting the system's CAs (implied by --ca) (env LV_TLS=1).")
    var tls = false
    @Option(name: .customLong("ca"), help: "Connect with TLS, trusting this CA certificate, PEM (env LV_CA).")
    var ca: String?
    @Option(name: .customLong("cert"), help: "Client certificate for servers that require one (mTLS), PEM (env LV_CERT).")
    var cert: String?
    @Option(name: .customLong("key"), help: "The private key of --cert, PEM (env LV_CERT_KEY).")
    var key: String?

    init() {}

    mutating func validate() throws {
        let env = ProcessEnvironment.value
        var credential = env("LV_CREDENTIAL") ?? ""
        if let path = credentialFile ?? env("LV_CREDENTIAL_FILE") {
            do { credential = try ClientSecurity.readCredential(path: path) } catch { throw ValidationError("\(error)") }
        }
        let security = ClientSecurity(credential: credential, tls: tls || env("LV_TLS") == "1", ca: ca ?? env("LV_CA"),
                                      certificate: cert ?? env("LV_CERT"), key: key ?? env("LV_CERT_KEY"))
        ClientSecurityOptions.current.withLock { $0 = security }
    }

    /// What every client lvctl makes presents (set by whichever command's options were parsed).
    static let current = Mutex(ClientSecurity(credential: ProcessEnvironment.value("LV_CREDENTIAL") ?? ""))

    /// Applies the current credential and TLS settings to a client configuration.
    static func apply(to configuration: inout RPCClient.Configuration) throws {
        let security = current.withLock { $0 }
        do { try security.apply(to: &configuration) } catch { throw ValidationError("\(error)") }
    }
}

extension AdminCommands {
    struct CreateKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-key",
            abstract: "Make a new API key: prints the key once (give it to its holder) and the line to add to the services' key file.",
            discussion: """
                Only the line goes into the key file (--key-file): a random salt and the SHA-256 of salt and secret. \
                The key itself is printed once and stored nowhere. Add the line, then `kill -HUP` the services (or \
                restart them). Rotation: add the new key's line, reload, move the holder over, delete the old line, \
                reload. Roles: \(Role.allCases.map(\.rawValue).joined(separator: ", ")) (docs/SECURITY.md).
                """)

        @Option(help: "Role(s), comma-separated: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
        var role: String
        @Option(help: "Who holds the key (letters, digits, .-_@): shown in logs and the audit log.")
        var name: String
        @Option(name: .customLong("expires-days"), help: "Days until the key stops working (default: never).")
        var expiresDays: Int?
        @Option(help: "Calls per second allowed (0 = unlimited; default \(Int(KeyEntry.defaultRate))).")
        var rate: Double?
        @Option(help: "Calls in flight at once (0 = unlimited; default \(KeyEntry.defaultConcurrent)).")
        var concurrent: Int?
        @Option(name: .customLong("credential-out"), help: "Also write the key to this file (mode 600), e.g. for a service's --backend-credential-file.")
        var credentialOut: String?

        func run() throws {
            var roles: [Role] = []
            for r in role.split(separator: ",") {
                guard let parsed = Role(rawValue: String(r)) else {
                    throw ValidationError("--role: '\(r)' is not one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                roles.append(parsed)
            }
            guard !roles.isEmpty else { throw ValidationError("--role: give at least one role") }
            guard APIKey.isValidName(name) else { throw ValidationError("--name: letters, digits and .-_@, 1-64 characters") }
            let expires = expiresDays.map { KeyStore.unixNow() + Int64($0) * 86_400 }
            var (key, entry) = APIKey.generate(name: name, roles: roles, expires: expires)
            if let rate { entry.rate = rate }
            if let concurrent { entry.concurrent = concurrent }
            if let path = credentialOut {
                let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
                guard fd >= 0 else { throw ValidationError("--credential-out \(path): \(String(cString: strerror(errno)))") }
                let bytes = Array((key + "\n").utf8)
                _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
            print("key: \(key)")
            print("key-file line: \(entry.line)")
        }
    }

    struct VerifyAudit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-audit",
            abstract: "Check an audit log's hash chain; name the first line altered or following a removed one.",
            discussion: "Exit 0 when the chain is whole (prints the record count and the last hash: keep it elsewhere to detect the end being cut off), 1 naming the first bad line.")

        @Argument(help: "The audit log (JSON lines).") var file: String
        @Option(help: "The last hash you recorded earlier; the file must still contain it.") var head: String?

        func run() throws {
            do {
                let report = try AuditChain.verify(path: file)
                if let head, !report.head.isEmpty, report.head != head {
                    let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
                    if !text.contains("\"hash\":\"\(head)\"") {
                        printError("\(file): the recorded head \(head) is not in the file: records at its end were removed")
                        throw ExitCode(1)
                    }
                }
                print("ok: \(report.records) records, head \(report.head)")
            } catch let error as AuditError {
                printError("\(error)")
                throw ExitCode(1)
            }
        }
    }
}
