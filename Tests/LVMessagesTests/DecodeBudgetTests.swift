import LVMessages
import Testing

/// The decode budget of docs/PROTOCOL.md §5.1: counted on the wire before protobuf-c allocates.
@Suite("decode budget")
struct DecodeBudgetTests {
    /// Length-delimited field `number` holding `body`.
    static func field(_ number: Int, _ body: [UInt8]) -> [UInt8] {
        [UInt8(number << 3 | 2)] + varint(body.count) + body
    }

    static func varint(_ n: Int) -> [UInt8] {
        var n = UInt64(n)
        var out: [UInt8] = []
        while n >= 0x80 { out.append(UInt8(n & 0x7f) | 0x80); n >>= 7 }
        out.append(UInt8(n))
        return out
    }

    /// CreateActivityRequest { activity { objectives: `count` empty messages } }.
    static func activity(objectives count: Int) -> [UInt8] {
        field(2, Array(String(repeating: ":\0", count: count).utf8)) // 3A 00, an empty entry
    }

    func decode<M: ProtoMessage>(_ type: M.Type, _ bytes: [UInt8]) throws -> M {
        try bytes.withUnsafeBytes { try M(serializedBytes: $0, budget: .requests) }
    }

    @Test("the audit's amplification payload (1.9M empty objectives in 3.8 MB) is refused naming the field")
    func amplification() throws {
        let bytes = Self.activity(objectives: 1_900_000)
        #expect(bytes.count < 4 * 1024 * 1024)
        do {
            _ = try decode(Lv_Registration_V1_CreateActivityRequest.self, bytes)
            Issue.record("decoded")
        } catch let e as ProtoError {
            #expect(e == .overBudget(field: "activity.objectives", rule: "count", reason: "more than 100 entries"))
            #expect(e.rule == "count")
        }
    }

    @Test("a list exactly at its limit decodes; one more is refused")
    func atTheLimit() throws {
        let ok = try decode(Lv_Registration_V1_CreateActivityRequest.self, Self.activity(objectives: 100))
        #expect(ok.activity?.objectives.count == 100)
        #expect(throws: ProtoError.self) { try decode(Lv_Registration_V1_CreateActivityRequest.self, Self.activity(objectives: 101)) }
        // Without a budget (a client reading a response) the same bytes decode.
        let unbounded = try Self.activity(objectives: 101).withUnsafeBytes { try Lv_Registration_V1_CreateActivityRequest(serializedBytes: $0) }
        #expect(unbounded.activity?.objectives.count == 101)
    }

    @Test("per-field limits hold per occurrence: licences, items, options, events, repeated strings")
    func perField() throws {
        // RegisterPhysicianRequest { physician (2) { licences (5) × 21 } }
        let licences = Self.field(2, [UInt8]((0..<21).flatMap { _ in [0x2A, 0x00] as [UInt8] }))
        #expect(throws: ProtoError.overBudget(field: "physician.licences", rule: "count", reason: "more than 20 entries")) {
            try decode(Lv_Registration_V1_RegisterPhysicianRequest.self, licences)
        }
        // CreateInstrumentRequest { instrument (2) { items (7) { options (6) × 21 empty strings } } }
        let item = Self.field(7, [UInt8]((0..<21).flatMap { _ in [0x32, 0x00] as [UInt8] }))
        #expect(throws: ProtoError.overBudget(field: "instrument.items.options", rule: "count", reason: "more than 20 entries")) {
            try decode(Lv_Assessment_V1_CreateInstrumentRequest.self, Self.field(2, item))
        }
        // RecordEventsRequest { events (1) × 5001 }
        let events = [UInt8]((0..<5001).flatMap { _ in [0x0A, 0x00] as [UInt8] })
        #expect(throws: ProtoError.overBudget(field: "events", rule: "count", reason: "more than 5000 entries")) {
            try decode(Lv_Engagement_V1_RecordEventsRequest.self, events)
        }
        #expect(try decode(Lv_Engagement_V1_RecordEventsRequest.self, Array(events.dropLast(2))).events.count == 5000)
    }

    @Test("the total bounds lists without their own limit, unknown fields and packed scalars")
    func total() throws {
        // 50,001 unknown fields (number 99, varint 0) in a HealthCheckRequest.
        let unknown = [UInt8]((0..<50_001).flatMap { _ in [0x98, 0x06, 0x00] as [UInt8] })
        let error = catchError { try decode(Lv_Health_V1_HealthCheckRequest.self, unknown) }
        #expect(error?.rule == "decode-budget", "\(String(describing: error))")
        // SubmitResponsesRequest { answers (5) { criteria (4) { met (1, packed) × 51 } } }
        let packed = Self.field(1, [UInt8](repeating: 1, count: 51))
        let answer = Self.field(5, Self.field(4, packed))
        #expect(throws: ProtoError.overBudget(field: "answers.criteria.met", rule: "count", reason: "more than 50 entries")) {
            try decode(Lv_Assessment_V1_SubmitResponsesRequest.self, answer)
        }
    }

    @Test("no string over 64 KiB, whatever the field")
    func longString() throws {
        let id = Self.field(1, [UInt8](repeating: 0x61, count: 64 * 1024 + 1))
        #expect(throws: ProtoError.overBudget(field: "activity_id", rule: "length", reason: "65537 bytes; no string may exceed 65536")) {
            try decode(Lv_Registration_V1_GetActivityRequest.self, id)
        }
    }

    func catchError(_ body: () throws -> Any) -> ProtoError? {
        do { _ = try body(); return nil } catch { return error as? ProtoError }
    }
}
