import EngagementDomain
import LVAPI
import LVDomain
import LVMessages
import LVRPC

/// `lv.engagement.v1.Engagement`: validates events one by one (a bad event is reported, the
/// rest are stored), and answers only after the batch's transaction has committed.
public struct EngagementService: Lv.Engagement.V1.Engagement.ServiceProtocol {
    public let store: EngagementStore
    public let clock: @Sendable () -> Int64

    public init(store: EngagementStore, clock: @escaping @Sendable () -> Int64 = { wallClockMilliseconds() }) {
        self.store = store
        self.clock = clock
    }

    public func recordEvents(_ request: Lv_Engagement_V1_RecordEventsRequest, context: ServerContext) async throws -> Lv_Engagement_V1_RecordEventsResponse {
        guard request.events.count <= EventRules.maximumBatch else {
            throw RPCError.invalidArgument(field: "events", rule: "batch-size",
                                           "\(request.events.count) events; at most \(EventRules.maximumBatch) per call")
        }
        let now = clock()
        var response = Lv_Engagement_V1_RecordEventsResponse()
        var valid: [Event] = []
        valid.reserveCapacity(request.events.count)
        for (i, event) in request.events.enumerated() {
            if let p = EventRules.problem(event, now: now) {
                response.rejected.append(FieldViolation(field: "events[\(i)].\(p.field)", rule: p.rule, description: p.message))
            } else {
                valid.append(event)
            }
        }
        let inserted = try await store.insert(valid)
        response.accepted = UInt32(inserted)
        response.duplicates = UInt32(valid.count - inserted)
        return response
    }

    public func definePoll(_ request: Lv_Engagement_V1_DefinePollRequest, context: ServerContext) async throws -> Lv_Engagement_V1_DefinePollResponse {
        var v = Violations()
        v.require(!request.activityId.isEmpty, "activity_id", "required", "the activity offering the poll")
        v.require(!request.pollId.isEmpty, "poll_id", "required", "the poll's id, as answered events name it")
        for (value, field) in [(request.activityId, "activity_id"), (request.pollId, "poll_id"), (request.sessionId, "session_id")] {
            v.require(EventRules.key(value, required: false) == nil, field, "identifier", "at most 128 bytes of printable ASCII")
        }
        v.text(request.question, "question", max: FieldLimits.textBytes, chars: .multiLine)
        try v.throwIfAny()
        var response = Lv_Engagement_V1_DefinePollResponse()
        response.created = try await store.definePoll(request)
        return response
    }

    public func getEngagementSummary(_ request: Lv_Engagement_V1_GetEngagementSummaryRequest, context: ServerContext) async throws -> Lv_Engagement_V1_GetEngagementSummaryResponse {
        guard !request.activityId.isEmpty else {
            throw RPCError.invalidArgument(field: "activity_id", rule: "required", "the activity to summarize")
        }
        let (physicians, next, polls) = try await store.summaries(
            activityID: request.activityId, npi: request.npi, scheduledMinutes: Int(request.scheduledMinutes),
            pageSize: PageToken.size(request.pageSize), after: try PageToken.decode(request.pageToken))
        var response = Lv_Engagement_V1_GetEngagementSummaryResponse()
        response.physicians = physicians
        response.nextPageToken = PageToken.encode(next)
        response.pollsDefined = UInt32(polls)
        return response
    }

    public func listEvents(_ request: Lv_Engagement_V1_ListEventsRequest, context: ServerContext) async throws -> Lv_Engagement_V1_ListEventsResponse {
        let (events, next) = try await store.events(request, pageSize: PageToken.size(request.pageSize),
                                                    after: try PageToken.decode(request.pageToken))
        var response = Lv_Engagement_V1_ListEventsResponse()
        response.events = events
        response.nextPageToken = PageToken.encode(next)
        return response
    }
}
