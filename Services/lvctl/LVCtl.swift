import ArgumentParser
import Foundation
import LVAPI
import LVMessages
import LVRPC
import NIOCore

/// `lvctl`: the operator and integrator command line.
@main
struct LVCtl: AsyncParsableCommand {
    /// Runs the command with the exit codes of docs/INTEGRATING.md: a usage error (bad flag,
    /// unreadable or invalid input file) is 2, not ArgumentParser's 64, and with --json it is
    /// printed as {"error": {"kind": "usage", "message"}} on stderr.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                if CommandLine.arguments.contains("--json") {
                    ErrorJSON.print(ErrorJSON.input(fullMessage(for: error), kind: "usage"))
                } else {
                    printError("lvctl: " + fullMessage(for: error))
                }
                Foundation.exit(Exit.usage)
            }
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "lvctl",
        abstract: "Operate and query Learning Validation services over their binary protocol.",
        version: BuildInfo.versionLine("lvctl"),
        subcommands: [Health.self, List.self, RegistrationCommands.self, EngagementCommands.self, AssessmentCommands.self,
                      Report.self, Simulate.self, AdminCommands.self, Call.self, Describe.self, Ports.self])
}

/// Flags shared by every command that talks to one server.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("addr"), help: "Server address HOST:PORT (env LV_ADDR; default \(DefaultPorts.loopback(DefaultPorts.gateway)), the gateway).")
    var address: String?

    @Option(help: "Seconds to wait for an answer.")
    var timeout: Int = 5

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @OptionGroup(title: "Credentials and TLS") var security: ClientSecurityOptions

    init() {}

    var target: ServerTarget {
        ServerTarget(address: address ?? ProcessEnvironment.value("LV_ADDR") ?? DefaultPorts.loopback(DefaultPorts.gateway), timeout: timeout)
    }
}

/// Where a command sends its calls and how long it waits for each.
struct ServerTarget {
    let address: String
    let timeout: Int

    func client() throws -> RPCClient {
        var configuration = try RPCClient.Configuration(address: address)
        configuration.clientName = "lvctl"
        configuration.connectTimeout = .seconds(Int64(timeout))
        try ClientSecurityOptions.apply(to: &configuration)
        return RPCClient(configuration: configuration)
    }

    var callOptions: CallOptions { CallOptions(timeout: .seconds(Int64(timeout))) }

    /// Runs `body` with a client and closes it afterwards, whatever happens.
    func withClient<R>(_ body: (RPCClient) async throws -> R) async throws -> R {
        let client = try client()
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a server's serving status (and, for the gateway, each backend it needs); exit 0 only when it is SERVING.",
        discussion: "Exit codes: 0 SERVING, 1 NOT_SERVING/UNKNOWN/SERVICE_UNKNOWN or an error status, 4 the server could not be reached.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "A service's full name (e.g. lv.health.v1.Health); empty asks about the server as a whole.")
    var service: String = ""

    func run() async throws {
        var request = Lv_Health_V1_HealthCheckRequest()
        request.service = service
        let response = try await connection.target.withClient { client in
            do {
                return try await Lv.Health.V1.Health.Client(client).check(request, options: connection.target.callOptions)
            } catch {
                throw ErrorJSON.fail(error, command: "health", json: connection.json)
            }
        }
        let status = response.status
        let target = try connection.target.client().target
        if connection.json {
            printJSON(HealthOutput(address: target, service: service, status: status.protoName,
                                   dependencies: response.dependencies.map { .init(name: $0.name, status: $0.status.protoName, detail: $0.detail) }))
        } else {
            print("\(target)\t\(service.isEmpty ? "(server)" : service)\t\(status.protoName)")
            for d in response.dependencies {
                print("  dependency \(d.name)\t\(d.status.protoName)\(d.detail.isEmpty ? "" : "\t\(d.detail)")")
            }
        }
        if status != .serving { throw ExitCode(1) }
    }
}

/// `lvctl ports`: the default ports (LVRPC's `DefaultPorts`, the one table), for scripts such as
/// deploy/local/lv-local.sh that start the executables.
struct Ports: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print each executable's default port and metrics port: 'EXECUTABLE PORT METRICS-PORT' a line.")

    func run() {
        for (executable, port) in DefaultPorts.all {
            print("\(executable) \(port) \(port + DefaultPorts.metricsOffset)")
        }
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the services and methods a server answers (reflection).")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let response = try await connection.target.withClient { client in
            do {
                return try await Lv.Reflection.V1.Reflection.Client(client)
                    .listServices(Lv_Reflection_V1_ListServicesRequest(), options: connection.target.callOptions)
            } catch {
                throw ErrorJSON.fail(error, command: "list", json: connection.json)
            }
        }
        if connection.json {
            printJSON(response.services.map { s in
                ServiceOutput(name: s.name, methods: s.methods.map {
                    .init(name: $0.name, request: $0.requestType, response: $0.responseType)
                })
            })
            return
        }
        for s in response.services {
            print(s.name)
            for m in s.methods {
                print("  \(m.name)(\(m.requestType)) returns (\(m.responseType))")
            }
        }
    }
}

struct HealthOutput: Encodable {
    struct Dependency: Encodable {
        let name: String
        let status: String
        let detail: String
    }
    let address: String
    let service: String
    let status: String
    let dependencies: [Dependency]
}

struct ServiceOutput: Encodable {
    struct Method: Encodable {
        let name: String
        let request: String
        let response: String
    }
    let name: String
    let methods: [Method]
}

func printJSON(_ value: some Encodable) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    print(String(decoding: try! encoder.encode(value), as: UTF8.self))
}

enum ProcessEnvironment {
    static func value(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        let s = String(cString: p)
        return s.isEmpty ? nil : s
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
