import CProtobufC
import Foundation
import LVJSON
import LVMessages
import LVProtoC
import LVRPC
import Testing

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Tests/Fixtures/json-mapping.json: google.protobuf.json_format's output for every message type
/// (scripts/make-json-fixtures.py).
struct Fixtures {
    struct Sample { let type: String; let bytes: [UInt8]; let json: String }
    struct Input { let type: String; let input: String; let bytes: [UInt8] }
    let samples: [Sample]
    let accepts: [Input]
    let rejects: [Input]

    static let shared: Fixtures = {
        let text = try! String(contentsOf: root.appendingPathComponent("Tests/Fixtures/json-mapping.json"), encoding: .utf8)
        let doc = try! JSONValue.parse(text)
        func str(_ v: JSONValue?) -> String { if case .string(let s)? = v { return s }; return "" }
        func list(_ key: String) -> [JSONValue] { if case .array(let a)? = doc[key] { return a }; return [] }
        return Fixtures(
            samples: list("samples").map { Sample(type: str($0["type"]), bytes: hex(str($0["hex"])), json: str($0["json"])) },
            accepts: list("accepts").map { Input(type: str($0["type"]), input: str($0["input"]), bytes: hex(str($0["hex"]))) },
            rejects: list("rejects").map { Input(type: str($0["type"]), input: str($0["input"]), bytes: []) })
    }()
}

func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = s.makeIterator()
    while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
    return out
}

/// Equal as JSON: members in any order; numbers by value (integers exactly, others as doubles).
func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.number(let x), .number(let y)):
        if x == y { return true }
        if let i = Int64(x), let j = Int64(y) { return i == j }
        if let i = UInt64(x), let j = UInt64(y) { return i == j }
        guard let dx = Double(x), let dy = Double(y) else { return false }
        return dx == dy && dx.sign == dy.sign
    case (.array(let x), .array(let y)):
        return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
    case (.object(let x), .object(let y)):
        guard x.count == y.count else { return false }
        return x.allSatisfy { m in y.contains { $0.key == m.key && same($0.value, m.value) } }
    default:
        return a == b
    }
}

let protosetSchema = try! ProtoSchema(fileDescriptorSet: Array(try! Data(contentsOf: root.appendingPathComponent("proto/lv.protoset"))))

/// The schema from protoc-c's descriptors (compiled in) and the one read from the descriptor set
/// (what lvctl gets by reflection) must both agree with json_format.
let schemas: [(String, ProtoSchema)] = [("protobuf-c", .compiled), ("descriptor set", protosetSchema)]

func protobufCDescriptor(_ name: String) -> UnsafePointer<ProtobufCMessageDescriptor>? {
    (0..<lv_message_descriptors_count).lazy.map { lv_message_descriptors[$0]! }.first { String(cString: $0.pointee.name) == name }
}

@Suite("proto3 JSON mapping against google.protobuf.json_format")
struct ProtoJSONTests {
    @Test("the fixtures cover every message type, and both schemas know exactly those types")
    func coverage() {
        let sampled = Set(Fixtures.shared.samples.map(\.type))
        for (label, schema) in schemas {
            let known = Set(schema.messages.values.filter { !$0.isMapEntry }.map(\.name))
            #expect(known == sampled, "\(label): \(known.symmetricDifference(sampled).sorted())")
        }
        #expect(sampled.count > 100)
    }

    @Test("bytes → JSON equals json_format's JSON for every sample of every message type")
    func encodeMatchesPython() throws {
        for (label, schema) in schemas {
            let mapping = ProtoJSON(schema: schema)
            var failures: [String] = []
            for s in Fixtures.shared.samples {
                let ours = try mapping.json(type: s.type, bytes: s.bytes)
                let theirs = try JSONValue.parse(s.json)
                if !same(ours, theirs) { failures.append("\(s.type): ours \(ours.rendered(pretty: false))\n theirs \(s.json)") }
            }
            let differing = failures.count
            #expect(differing == 0, "\(label): \(differing) differ, first: \(failures.first ?? "")")
        }
    }

    @Test("json_format's JSON → bytes: the same message (and protobuf-c unpacks it) for every sample")
    func decodeMatchesPython() throws {
        for (label, schema) in schemas {
            let mapping = ProtoJSON(schema: schema)
            var failures: [String] = []
            var identicalBytes = 0
            for s in Fixtures.shared.samples {
                let bytes = try mapping.bytes(type: s.type, jsonText: s.json)
                if bytes == s.bytes { identicalBytes += 1 }
                let again = try mapping.json(type: s.type, bytes: bytes)
                if !same(again, try mapping.json(type: s.type, bytes: s.bytes)) { failures.append(s.type) }
                let descriptor = try #require(protobufCDescriptor(s.type), "\(s.type) has no protoc-c descriptor")
                let unpacked = bytes.withUnsafeBufferPointer { protobuf_c_message_unpack(descriptor, nil, $0.count, $0.baseAddress) }
                if let unpacked { protobuf_c_message_free_unpacked(unpacked, nil) } else { failures.append("\(s.type): protobuf-c cannot unpack") }
            }
            let differing = failures.count
            #expect(differing == 0, "\(label): \(failures.prefix(3))")
            // Fields in number order, proto3 lists packed, defaults left out: the same bytes as the
            // official library except where map order differs.
            #expect(identicalBytes > Fixtures.shared.samples.count * 9 / 10, "\(label): only \(identicalBytes) identical")
        }
    }

    @Test("inputs json_format accepts in other spellings give the message it makes")
    func accepts() throws {
        for (label, schema) in schemas {
            let mapping = ProtoJSON(schema: schema)
            for a in Fixtures.shared.accepts {
                let bytes = try mapping.bytes(type: a.type, jsonText: a.input)
                #expect(same(try mapping.json(type: a.type, bytes: bytes), try mapping.json(type: a.type, bytes: a.bytes)), "\(label): \(a.input)")
            }
        }
    }

    @Test("inputs json_format rejects are rejected")
    func rejects() {
        #expect(Fixtures.shared.rejects.count >= 10)
        for (label, schema) in schemas {
            let mapping = ProtoJSON(schema: schema)
            for r in Fixtures.shared.rejects {
                #expect(throws: ProtoJSON.Error.self, "\(label): \(r.input)") { try mapping.bytes(type: r.type, jsonText: r.input) }
            }
        }
    }

    @Test("an unknown key is an error naming the key, its path and its line; ignoringUnknownFields skips it")
    func unknownKeyHasLine() throws {
        let text = """
        {
          "requestId": "r1",
          "activity": {
            "title": "Sepsis update",
            "sesions": []
          }
        }
        """
        let mapping = ProtoJSON()
        do {
            _ = try mapping.bytes(type: "lv.registration.v1.CreateActivityRequest", jsonText: text)
            Issue.record("an unknown key was accepted")
        } catch let e as ProtoJSON.Error {
            #expect(e.kind == .unknownField)
            #expect(e.line == 5)
            #expect(e.path == "activity.sesions")
            #expect(e.description.contains("\"sesions\""))
        }
        let lenient = ProtoJSON(ignoringUnknownFields: true)
        let bytes = try lenient.bytes(type: "lv.registration.v1.CreateActivityRequest", jsonText: text)
        let request = try Lv_Registration_V1_CreateActivityRequest(serializedBytes: bytes)
        #expect(request.requestId == "r1")
        #expect(request.activity?.title == "Sepsis update")
    }

    @Test("a JSON syntax error says the line and column")
    func syntaxErrorLine() {
        #expect(throws: JSONSyntaxError(line: 3, column: 11, reason: "expected a value, found '}'")) {
            try JSONValue.parse("{\n  \"a\": 1,\n  \"b\": [1,}\n}")
        }
    }

    @Test("typed values: uint64 max and int64 min as strings, enums by name, maps as objects, never a crash")
    func typedValues() throws {
        var e = Lv_Testing_V1_Everything()
        e.fUint64 = .max
        e.fInt64 = .min
        e.fColour = .red
        e.mInt = [7: -1]
        e.rInt32 = [0, 5]
        let json = try ProtoJSON().json(e)
        #expect(json["fUint64"] == .string("18446744073709551615"))
        #expect(json["fInt64"] == .string("-9223372036854775808"))
        #expect(json["fColour"] == .string("COLOUR_RED"))
        #expect(json["mInt"] == .object([.init("7", .string("-1"))]))
        #expect(json["rInt32"] == .array([.number("0"), .number("5")]))
        #expect(try ProtoJSON().message(Lv_Testing_V1_Everything.self, from: json) == e)
    }

    @Test("the reflection service's descriptor set is proto/lv.protoset, byte for byte")
    func embeddedDescriptorSet() throws {
        let file = Array(try Data(contentsOf: root.appendingPathComponent("proto/lv.protoset")))
        #expect(embeddedFileDescriptorSet == file)
        let services = protosetSchema.services.keys.sorted()
        #expect(services.contains("lv.reflection.v1.Reflection"))
        #expect(protosetSchema.services["lv.reflection.v1.Reflection"]?.methods.map(\.name) == ["ListServices", "GetFileDescriptorSet"])
    }

    @Test("describe's .proto text nests types as the source does: Nested and its Kind inside Everything, short names, no map entries")
    func nestedProtoText() throws {
        for (label, schema) in schemas {
            let text = try #require(schema.protoText(message: "lv.testing.v1.Everything"), "\(label)")
            #expect(text.hasPrefix("message lv.testing.v1.Everything {\n"), "\(label): \(text)")
            #expect(text.contains("\n  message Nested {\n    enum Kind {\n      KIND_UNSPECIFIED = 0;\n      KIND_A = 1;\n    }\n"), "\(label): \(text)")
            #expect(text.contains("\n    lv.testing.v1.Everything.Nested.Kind kind = 1;\n    repeated lv.testing.v1.Leaf leaves = 2;\n  }\n"), "\(label): \(text)")
            #expect(!text.contains("message lv.testing.v1.Everything.Nested") && !text.contains("Entry {"), "\(label): \(text)")
            #expect(text.contains("\n  map<string, string> m_string = 30;\n"), "\(label): \(text)")
            #expect(schema.topLevel("lv.testing.v1.Everything.Nested.Kind") == "lv.testing.v1.Everything")
            #expect(schema.topLevel("lv.testing.v1.Leaf") == "lv.testing.v1.Leaf")
            let health = try #require(schema.protoText(message: "lv.health.v1.HealthCheckResponse"), "\(label)")
            #expect(health.contains("\n  enum ServingStatus {\n"), "\(label): \(health)")
        }
    }
}
