/// The decode budget of a request (docs/PROTOCOL.md §5.1): what `WireCheck` allows before
/// protobuf-c allocates. Responses a client decodes are not budgeted (it asked for them).
public struct WireBudget: Sendable {
    /// Sub-messages, repeated entries (packed scalars included) and unknown fields in one message, in total.
    public var maximumElements: Int
    /// Bytes of any one string field.
    public var maximumStringBytes: Int

    public init(maximumElements: Int = WireLimits.maximumElements, maximumStringBytes: Int = WireLimits.maximumStringBytes) {
        self.maximumElements = maximumElements
        self.maximumStringBytes = maximumStringBytes
    }

    /// The budget every server applies to requests.
    public static let requests = WireBudget()
}

/// The documented limits of the wire pre-check. The per-field entries match the rules in each
/// service's `Domain/` and its docs; the check here refuses before anything is allocated, the
/// domain rule words the same limit for values built in memory.
public enum WireLimits {
    /// Elements in one request, in total (50,000 × a few hundred decoded bytes ≈ tens of MB at most).
    public static let maximumElements = 50_000
    /// Any string field: 64 KiB (the services' own limits are lower; this bounds the rest).
    public static let maximumStringBytes = 64 * 1024

    /// Entries of a repeated field, per occurrence of its message: "package.Message.field" -> most entries.
    public static let repeated: [String: Int] = [
        "lv.rpc.v1.FrameMeta.metadata": 64,
        "lv.registration.v1.Physician.licences": 20,
        "lv.registration.v1.Physician.board_ids": 20,
        "lv.registration.v1.Activity.objectives": 100,
        "lv.registration.v1.Session.objective_ids": 100,
        "lv.registration.v1.UpdatePhysicianRequest.update_mask": 16,
        "lv.registration.v1.RecordAttendanceRequest.intervals": 10_000,
        "lv.engagement.v1.RecordEventsRequest.events": 5_000,
        "lv.assessment.v1.Instrument.items": 500,
        "lv.assessment.v1.Item.options": 20,
        "lv.assessment.v1.Item.criteria": 50,
        "lv.assessment.v1.CriteriaMet.met": 50,
        "lv.assessment.v1.SubmitResponsesRequest.answers": 500,
        "lv.assessment.v1.FollowUp.barriers": 20,
        "lv.assessment.v1.RecordPracticeMeasuresRequest.measures": 10_000,
    ]
}
