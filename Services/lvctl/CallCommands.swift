import ArgumentParser
import Foundation
import LVAPI
import LVJSON
import LVMessages
import LVRPC
import NIOCore

/// lvctl's exit codes (docs/INTEGRATING.md has the table).
enum Exit {
    /// The call succeeded.
    static let ok: Int32 = 0
    /// The server answered with an error status (stderr has it; as JSON with --json or for call/describe).
    static let callFailed: Int32 = 1
    /// Bad command line or input file: nothing was sent.
    static let usage: Int32 = 2
    /// A partial result: the gateway answered without some sources (report).
    static let partial: Int32 = 3
    /// The server could not be reached or did not answer in time (UNAVAILABLE, DEADLINE_EXCEEDED).
    static let unreachable: Int32 = 4
}

/// Errors as one JSON object on stderr: {"error": {"code", "name", "message", "violations", …}}.
enum ErrorJSON {
    static func status(_ e: RPCError) -> JSONValue {
        var members: [JSONValue.Member] = [
            .init("code", .number(String(e.code.rawValue))),
            .init("name", .string(e.code.protoName)),
            .init("message", .string(e.message)),
            .init("violations", .array(e.violations.map { v in
                .object([.init("field", .string(v.field)), .init("rule", .string(v.rule)), .init("description", .string(v.description))])
            })),
            .init("retryable", .bool(e.retryable)),
        ]
        if e.retryAfterMs > 0 { members.append(.init("retryAfterMs", .number(String(e.retryAfterMs)))) }
        return .object([.init("error", .object(members))])
    }

    /// A problem with the input, found before anything was sent.
    static func input(_ message: String, kind: String, path: String = "", line: Int = 0) -> JSONValue {
        var members: [JSONValue.Member] = [.init("kind", .string(kind)), .init("message", .string(message))]
        if !path.isEmpty { members.append(.init("field", .string(path))) }
        if line > 0 { members.append(.init("line", .number(String(line)))) }
        return .object([.init("error", .object(members))])
    }

    static func print(_ value: JSONValue) { printError(value.rendered(pretty: false)) }

    /// Prints `error` (as JSON when `json`) and exits with its code from the table.
    static func fail(_ error: any Error, command: String, json: Bool) -> ExitCode {
        let rpc = RPCError.from(error)
        let code: Int32 = rpc.code == .unavailable || rpc.code == .deadlineExceeded ? Exit.unreachable : Exit.callFailed
        if json { print(status(rpc)) } else { printError("lvctl \(command): \(error)") }
        return ExitCode(code)
    }
}

/// What a server says about itself: its services (ListServices) and the descriptors of every type
/// (GetFileDescriptorSet), so calls need no .proto files and work against other versions.
struct Reflected {
    let schema: ProtoSchema
    let services: [Lv_Reflection_V1_ServiceDescriptor]

    static func load(_ client: RPCClient, options: CallOptions) async throws -> Reflected {
        let reflection = Lv.Reflection.V1.Reflection.Client(client)
        let services = try await reflection.listServices(Lv_Reflection_V1_ListServicesRequest(), options: options).services
        let schema: ProtoSchema
        do {
            let set = try await reflection.getFileDescriptorSet(Lv_Reflection_V1_GetFileDescriptorSetRequest(), options: options)
            schema = try ProtoSchema(fileDescriptorSet: set.fileDescriptorSet)
        } catch let e as RPCError where e.code == .unimplemented {
            // A server built before descriptors were served: this build's own types are the best guess.
            printError("lvctl: \(client.target) does not serve descriptors; using this lvctl's own types")
            schema = try ProtoSchema(fileDescriptorSet: embeddedFileDescriptorSet)
        }
        return Reflected(schema: schema, services: services)
    }

    /// Finds a method by "pkg.Service/Method", "pkg.Service.Method", "Service/Method" or a unique "Method".
    func method(_ name: String) throws -> (service: String, method: Lv_Reflection_V1_MethodDescriptor) {
        var service = "", method = name
        if let slash = name.lastIndex(of: "/") {
            (service, method) = (String(name[..<slash]), String(name[name.index(after: slash)...]))
        } else if let dot = name.lastIndex(of: ".") {
            (service, method) = (String(name[..<dot]), String(name[name.index(after: dot)...]))
        }
        let matches = services.flatMap { s in
            s.methods.filter { $0.name == method }.map { (s.name, $0) }
        }.filter { service.isEmpty || $0.0 == service || $0.0.hasSuffix("." + service) }
        guard matches.count == 1 else {
            let all = services.flatMap { s in s.methods.map { "\(s.name)/\($0.name)" } }
            throw ValidationError(matches.isEmpty ? "no method \(name) on this server; it answers: \(all.joined(separator: ", "))"
                                                  : "\(name) is ambiguous: \(matches.map { "\($0.0)/\($0.1.name)" }.joined(separator: ", "))")
        }
        return matches[0]
    }
}

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call any method with a JSON request and print the JSON response (types from the server's reflection).",
        discussion: """
        METHOD is lv.registration.v1.Registration/GetPhysician, Registration/GetPhysician or GetPhysician when unique.
        The request is the proto3 JSON mapping: lowerCamelCase or .proto field names, enums by name, 64-bit integers as
        strings or numbers, bytes as base64. Unknown keys are an error (with the key and its line) unless
        --ignore-unknown-fields. The response is printed as JSON on stdout; a failed call prints
        {"error": {"code", "name", "message", "violations", "retryable"}} on stderr.
        Exit codes: 0 ok, 1 the server answered with an error, 2 bad arguments or input (nothing sent), 4 unreachable or no
        answer in time.
        Example: lvctl call \(DefaultPorts.loopback(DefaultPorts.registration)) GetPhysician -d '{"npi": "1234567893"}'
        """)

    @Argument(help: "Server address HOST:PORT.") var address: String
    @Argument(help: "The method.") var method: String
    @Option(name: [.customShort("d"), .customLong("data")], help: "The request: JSON text, @FILE, or - for stdin (default {}).")
    var data: String = "{}"
    @Option(help: "Seconds to wait for each answer.") var timeout: Int = 10
    @Flag(help: "Skip request keys and enum names the server's types do not have.") var ignoreUnknownFields = false
    @Flag(help: "Print the response on one line.") var compact = false
    @Option(name: [.customShort("H"), .customLong("metadata")], help: "Request metadata KEY=VALUE, repeatable (e.g. x-request-id=abc).")
    var metadata: [String] = []

    func run() async throws {
        let (text, source) = try readInput(data)
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch {
            ErrorJSON.print(ErrorJSON.input("\(source): \(error)", kind: "syntax", line: error.line))
            throw ExitCode(Exit.usage)
        }
        let target = ServerTarget(address: address, timeout: timeout)
        let client: RPCClient
        do { client = try target.client() } catch {
            ErrorJSON.print(ErrorJSON.input("\(error)", kind: "usage"))
            throw ExitCode(Exit.usage)
        }
        defer { Task { await client.close() } }
        let reflected: Reflected
        do { reflected = try await Reflected.load(client, options: target.callOptions) } catch {
            throw ErrorJSON.fail(error, command: "call", json: true)
        }
        let found: (service: String, method: Lv_Reflection_V1_MethodDescriptor)
        do { found = try reflected.method(method) } catch {
            ErrorJSON.print(ErrorJSON.input("\(error)", kind: "usage"))
            throw ExitCode(Exit.usage)
        }
        let mapping = ProtoJSON(schema: reflected.schema, ignoringUnknownFields: ignoreUnknownFields)
        let request: [UInt8]
        do { request = try mapping.bytes(type: found.method.requestType, json: json) } catch {
            ErrorJSON.print(ErrorJSON.input("\(source): \(error)", kind: error.kind.rawValue, path: error.path, line: error.line))
            throw ExitCode(Exit.usage)
        }
        var options = target.callOptions
        for item in metadata {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                ErrorJSON.print(ErrorJSON.input("--metadata \(item): expected KEY=VALUE", kind: "usage"))
                throw ExitCode(Exit.usage)
            }
            options.metadata[item[..<eq].lowercased()] = String(item[item.index(after: eq)...])
        }
        let response: ByteBuffer
        do {
            response = try await client.callRaw("\(found.service)/\(found.method.name)", encodedRequest: ByteBuffer(bytes: request),
                                                options: options)
        } catch {
            await client.close()
            throw ErrorJSON.fail(error, command: "call", json: true)
        }
        let output = try mapping.json(type: found.method.responseType, bytes: Array(response.readableBytesView))
        print(output.rendered(pretty: !compact))
        await client.close()
    }

    func readInput(_ data: String) throws -> (String, String) {
        if data == "-" {
            return (String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self), "stdin")
        }
        if data.hasPrefix("@") {
            let path = String(data.dropFirst())
            guard let contents = FileManager.default.contents(atPath: path) else {
                ErrorJSON.print(ErrorJSON.input("cannot read \(path)", kind: "usage"))
                throw ExitCode(Exit.usage)
            }
            return (String(decoding: contents, as: UTF8.self), path)
        }
        return (data, "-d")
    }
}

struct Describe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the .proto definition of a server's services, a method (with its messages), a message or an enum.",
        discussion: """
        Without SYMBOL: every service. SYMBOL is a service (lv.health.v1.Health), a method (lv.health.v1.Health/Check,
        Health/Check or Check), a message or an enum (full name). Read from the server's reflection, so it shows that server's
        version. --json prints the same as JSON: {"services": [...], "messages": [...], "enums": [...]}.
        Exit codes: 0 ok, 2 no such symbol, 1/4 as for call.
        """)

    @Argument(help: "Server address HOST:PORT.") var address: String
    @Argument(help: "What to describe.") var symbol: String?
    @Option(help: "Seconds to wait for each answer.") var timeout: Int = 10
    @Flag(help: "Print JSON instead of .proto text.") var json = false

    func run() async throws {
        let target = ServerTarget(address: address, timeout: timeout)
        let reflected: Reflected
        do {
            reflected = try await target.withClient { try await Reflected.load($0, options: target.callOptions) }
        } catch {
            throw ErrorJSON.fail(error, command: "describe", json: json)
        }
        let schema = reflected.schema
        var services: [String] = [], methods: [(String, ProtoSchema.Method)] = [], types: [String] = []
        if let symbol {
            if schema.services[symbol] != nil {
                services = [symbol]
            } else if schema.message(symbol) != nil || schema.enums[symbol] != nil {
                types = schema.closure(ofMessage: symbol)
            } else if let found = try? reflected.method(symbol), let m = schema.services[found.service]?.methods.first(where: { $0.name == found.method.name }) {
                methods = [(found.service, m)]
                for t in schema.closure(ofMessage: m.inputType) + schema.closure(ofMessage: m.outputType) where !types.contains(t) { types.append(t) }
            } else {
                let message = "no service, method, message or enum named \(symbol) on \(address)"
                if json { ErrorJSON.print(ErrorJSON.input(message, kind: "usage")) } else { printError("lvctl describe: \(message)") }
                throw ExitCode(Exit.usage)
            }
        } else {
            services = reflected.services.map(\.name).filter { schema.services[$0] != nil }
        }
        if json {
            print(describeJSON(schema, services: services, methods: methods, types: types).rendered())
            return
        }
        var blocks: [String] = services.compactMap { schema.protoText(service: $0) }
        for (service, m) in methods {
            blocks.append("// \(service)\n" + schema.comment(m.comment, indent: "") + schema.rpcLine(m) + "\n")
        }
        // As in the .proto source: a nested type is printed inside the message that declares it.
        var topLevel: [String] = []
        for t in types.map(schema.topLevel) where !topLevel.contains(t) { topLevel.append(t) }
        blocks += topLevel.compactMap { schema.protoText(message: $0) ?? schema.protoText(enum: $0) }
        print(blocks.joined(separator: "\n"), terminator: "")
    }

    func describeJSON(_ schema: ProtoSchema, services: [String], methods: [(String, ProtoSchema.Method)], types: [String]) -> JSONValue {
        func method(_ service: String, _ m: ProtoSchema.Method) -> JSONValue {
            .object([.init("service", .string(service)), .init("name", .string(m.name)), .init("requestType", .string(m.inputType)),
                     .init("responseType", .string(m.outputType)), .init("comment", .string(m.comment))])
        }
        let serviceList: [JSONValue] = services.compactMap { name in
            schema.services[name].map { s in
                .object([.init("name", .string(s.name)), .init("comment", .string(s.comment)),
                         .init("methods", .array(s.methods.map { method(s.name, $0) }))])
            }
        }
        let messages: [JSONValue] = types.compactMap { schema.message($0) }.map { m in
            .object([.init("name", .string(m.name)), .init("comment", .string(m.comment)), .init("fields", .array(m.fields.map { f in
                .object([.init("name", .string(f.name)), .init("jsonName", .string(f.jsonName)), .init("number", .number(String(f.number))),
                         .init("type", .string(f.type.protoName)), .init("typeName", .string(f.typeName)), .init("repeated", .bool(f.repeated)),
                         .init("definition", .string(schema.fieldLine(f))), .init("comment", .string(f.comment))])
            }))])
        }
        let enums: [JSONValue] = types.compactMap { schema.enums[$0] }.map { e in
            .object([.init("name", .string(e.name)), .init("values", .array(e.values.map {
                .object([.init("name", .string($0.name)), .init("number", .number(String($0.number)))])
            }))])
        }
        return .object([.init("services", .array(serviceList)), .init("methods", .array(methods.map { method($0.0, $0.1) })),
                         .init("messages", .array(messages)), .init("enums", .array(enums))])
    }
}
