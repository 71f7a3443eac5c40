import AssessmentDomain
import LVAPI
import LVDomain
import LVMessages
import LVRPC

/// `lv.assessment.v1.Assessment`: validates with `InstrumentRules`, `Scoring` and
/// `MeasureRules`, then stores through `AssessmentStore`.
public struct AssessmentService: Lv.Assessment.V1.Assessment.ServiceProtocol {
    public let store: AssessmentStore
    public let clock: @Sendable () -> Int64

    public init(store: AssessmentStore, clock: @escaping @Sendable () -> Int64 = { wallClockMilliseconds() }) {
        self.store = store
        self.clock = clock
    }

    public func createInstrument(_ request: Lv_Assessment_V1_CreateInstrumentRequest, context: ServerContext) async throws -> Lv_Assessment_V1_CreateInstrumentResponse {
        var v = Violations()
        InstrumentRules.requestID(request.requestId, "request_id", &v)
        v.require(request.instrument != nil, "instrument", "required", "the instrument to create")
        // The activity's objectives live in registration and services share no data: here each
        // item's mapping is checked for shape (objective or control); `lvctl assessment
        // create-instrument` checks the objective ids against the activity before sending.
        if let i = request.instrument { InstrumentRules.validate(i, objectives: nil, &v) }
        try v.throwIfAny()
        return try await store.createInstrument(request, now: clock())
    }

    public func getInstrument(_ request: Lv_Assessment_V1_GetInstrumentRequest, context: ServerContext) async throws -> Lv_Assessment_V1_GetInstrumentResponse {
        var v = Violations()
        InstrumentRules.key(request.instrumentId, "instrument_id", &v)
        try v.throwIfAny()
        guard let i = try await store.instrument(id: request.instrumentId, version: request.version) else {
            throw RPCError(.notFound, "instrument_id: no instrument '\(request.instrumentId)'\(request.version == 0 ? "" : " version \(request.version)")")
        }
        var response = Lv_Assessment_V1_GetInstrumentResponse()
        response.instrument = i
        return response
    }

    public func listInstruments(_ request: Lv_Assessment_V1_ListInstrumentsRequest, context: ServerContext) async throws -> Lv_Assessment_V1_ListInstrumentsResponse {
        var response = Lv_Assessment_V1_ListInstrumentsResponse()
        response.instruments = try await store.instruments(activityID: request.activityId)
        return response
    }

    public func submitResponses(_ request: Lv_Assessment_V1_SubmitResponsesRequest, context: ServerContext) async throws -> Lv_Assessment_V1_SubmitResponsesResponse {
        var v = Violations()
        InstrumentRules.requestID(request.submissionId, "submission_id", &v)
        InstrumentRules.key(request.instrumentId, "instrument_id", required: true, &v)
        if let p = NPI.problem(request.npi) { v.add("npi", p.rule, p.message) }
        InstrumentRules.time(request.submittedMs, "submitted_ms", now: clock(), &v)
        v.count(request.answers.count, "answers", max: InstrumentRules.maximumAnswers)
        for (i, a) in request.answers.prefix(InstrumentRules.maximumAnswers).enumerated() {
            InstrumentRules.key(a.itemId, "answers[\(i)].item_id", &v)
            v.require(a.confidence <= 5, "answers[\(i)].confidence", "range", "1 (a guess) to 5 (certain), or 0 when not given")
            if case .criteria(let met)? = a.value {
                v.count(met.met.count, "answers[\(i)].criteria.met", max: InstrumentRules.maximumCriteria)
            }
        }
        try v.throwIfAny()
        return try await store.submit(request, now: clock())
    }

    public func recordCommitment(_ request: Lv_Assessment_V1_RecordCommitmentRequest, context: ServerContext) async throws -> Lv_Assessment_V1_RecordCommitmentResponse {
        var v = Violations()
        InstrumentRules.requestID(request.requestId, "request_id", &v)
        let c = request.commitment ?? Commitment()
        if let p = NPI.problem(c.npi) { v.add("commitment.npi", p.rule, p.message) }
        InstrumentRules.key(c.activityId, "commitment.activity_id", required: true, &v)
        v.text(c.text, "commitment.text", max: FieldLimits.textBytes, required: true, chars: .multiLine)
        v.text(c.category, "commitment.category", max: FieldLimits.nameBytes)
        if !c.objectiveId.isEmpty {
            v.require(Identifier.isValid(c.objectiveId), "commitment.objective_id", "identifier", "1-64 of letters, digits, '-', '_' or '.'")
        }
        InstrumentRules.time(c.recordedMs, "commitment.recorded_ms", now: clock(), &v)
        if !c.commitmentId.isEmpty { v.require(Identifier.isValid(c.commitmentId), "commitment.commitment_id", "identifier", "1-64 of letters, digits, '-', '_' or '.'") }
        try v.throwIfAny()
        return try await store.recordCommitment(request, now: clock())
    }

    public func recordFollowUp(_ request: Lv_Assessment_V1_RecordFollowUpRequest, context: ServerContext) async throws -> Lv_Assessment_V1_RecordFollowUpResponse {
        let f = request.followUp ?? Lv_Assessment_V1_FollowUp()
        switch f.implementation {
        case .fully, .partially, .not: break
        default: throw RPCError.invalidArgument(field: "follow_up.implementation", rule: "required", "fully, partially or not")
        }
        var v = Violations()
        InstrumentRules.key(request.commitmentId, "commitment_id", required: true, &v)
        v.count(f.barriers.count, "follow_up.barriers", max: InstrumentRules.maximumBarriers)
        for (i, b) in f.barriers.prefix(InstrumentRules.maximumBarriers).enumerated() {
            v.text(b, "follow_up.barriers[\(i)]", max: FieldLimits.nameBytes)
        }
        InstrumentRules.time(f.respondedMs, "follow_up.responded_ms", now: clock(), latest: FieldLimits.latestMs, &v)
        try v.throwIfAny()
        var response = Lv_Assessment_V1_RecordFollowUpResponse()
        response.commitment = try await store.recordFollowUp(commitmentID: request.commitmentId, followUp: f, now: clock())
        return response
    }

    public func recordPracticeMeasures(_ request: Lv_Assessment_V1_RecordPracticeMeasuresRequest, context: ServerContext) async throws -> Lv_Assessment_V1_RecordPracticeMeasuresResponse {
        var v = Violations()
        InstrumentRules.requestID(request.requestId, "request_id", &v)
        v.require(request.measures.count <= MeasureRules.maximumBatch, "measures", "batch-size", "at most \(MeasureRules.maximumBatch) per call")
        try v.throwIfAny()
        var valid: [(Int, PracticeMeasure)] = []
        var rejected: [FieldViolation] = []
        for (i, m) in request.measures.enumerated() {
            if let p = MeasureRules.problem(m) {
                rejected.append(violation("measures[\(i)].\(p.field)", p.rule, p.message))
            } else {
                valid.append((i, m))
            }
        }
        return try await store.recordMeasures(request, valid: valid, rejected: rejected, now: clock())
    }

    public func getOutcomes(_ request: Lv_Assessment_V1_GetOutcomesRequest, context: ServerContext) async throws -> Lv_Assessment_V1_GetOutcomesResponse {
        guard !request.activityId.isEmpty else {
            throw RPCError.invalidArgument(field: "activity_id", rule: "required", "the activity whose outcomes to read")
        }
        var v = Violations()
        InstrumentRules.key(request.activityId, "activity_id", &v)
        try v.throwIfAny()
        let (physicians, next) = try await store.outcomes(activityID: request.activityId, npi: request.npi,
                                                          pageSize: PageToken.size(request.pageSize),
                                                          after: try PageToken.decode(request.pageToken),
                                                          omitItemScores: request.omitItemScores)
        var response = Lv_Assessment_V1_GetOutcomesResponse()
        response.physicians = physicians
        response.nextPageToken = PageToken.encode(next)
        return response
    }
}
