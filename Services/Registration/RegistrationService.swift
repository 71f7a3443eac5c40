import RegistrationDomain
import LVAPI
import LVDomain
import LVMessages
import LVRPC

/// `lv.registration.v1.Registration`: checks each request against `RegistrationRules`, then
/// hands it to the store. Time comes from `clock` so tests can fix it.
public struct RegistrationService: Lv.Registration.V1.Registration.ServiceProtocol {
    public let store: RegistrationStore
    public let clock: @Sendable () -> Int64

    public init(store: RegistrationStore, clock: @escaping @Sendable () -> Int64 = { wallClockMilliseconds() }) {
        self.store = store
        self.clock = clock
    }

    // MARK: physicians

    public func registerPhysician(_ request: Lv_Registration_V1_RegisterPhysicianRequest, context: ServerContext) async throws -> Lv_Registration_V1_RegisterPhysicianResponse {
        var v = Violations()
        RegistrationRules.requestID(request.requestId, &v)
        v.require(request.physician != nil, "physician", "required", "the physician to register")
        if let p = request.physician { RegistrationRules.validate(p, &v) }
        try v.throwIfAny()
        return try await store.registerPhysician(request, now: clock())
    }

    public func getPhysician(_ request: Lv_Registration_V1_GetPhysicianRequest, context: ServerContext) async throws -> Lv_Registration_V1_GetPhysicianResponse {
        try requireNPI(request.npi)
        guard let p = try await store.physician(npi: request.npi) else {
            throw DomainError(.notFound, "npi: no physician with NPI \(request.npi)")
        }
        var response = Lv_Registration_V1_GetPhysicianResponse()
        response.physician = p
        return response
    }

    public func updatePhysician(_ request: Lv_Registration_V1_UpdatePhysicianRequest, context: ServerContext) async throws -> Lv_Registration_V1_UpdatePhysicianResponse {
        try requireNPI(request.npi)
        var response = Lv_Registration_V1_UpdatePhysicianResponse()
        response.physician = try await store.updatePhysician(npi: request.npi, update: request.physician ?? Physician(),
                                                             mask: request.updateMask, now: clock())
        return response
    }

    public func listPhysicians(_ request: Lv_Registration_V1_ListPhysiciansRequest, context: ServerContext) async throws -> Lv_Registration_V1_ListPhysiciansResponse {
        let after = try PageToken.decode(request.pageToken)
        var response = Lv_Registration_V1_ListPhysiciansResponse()
        if !request.npis.isEmpty {
            var v = Violations()
            v.count(request.npis.count, "npis", max: RegistrationRules.maximumBatchNPIs)
            for (i, npi) in request.npis.prefix(RegistrationRules.maximumBatchNPIs).enumerated() {
                if let p = NPI.problem(npi) { v.add("npis[\(i)]", p.rule, p.message) }
            }
            try v.throwIfAny()
            let (physicians, next) = try await store.physicians(npis: request.npis, pageSize: PageToken.size(request.pageSize), after: after)
            response.physicians = physicians.filter { p in
                (request.specialty.isEmpty || p.specialty == request.specialty)
                    && (request.licenceState.isEmpty || p.licences.contains { $0.state == request.licenceState })
            }
            response.nextPageToken = PageToken.encode(next)
            return response
        }
        let (physicians, next) = try await store.listPhysicians(specialty: request.specialty, licenceState: request.licenceState,
                                                                pageSize: PageToken.size(request.pageSize), after: after)
        response.physicians = physicians
        response.nextPageToken = PageToken.encode(next)
        return response
    }

    // MARK: activities and sessions

    public func createActivity(_ request: Lv_Registration_V1_CreateActivityRequest, context: ServerContext) async throws -> Lv_Registration_V1_CreateActivityResponse {
        var v = Violations()
        RegistrationRules.requestID(request.requestId, &v)
        v.require(request.activity != nil, "activity", "required", "the activity to create")
        if let a = request.activity { RegistrationRules.validate(a, &v) }
        try v.throwIfAny()
        return try await store.createActivity(request, now: clock())
    }

    public func getActivity(_ request: Lv_Registration_V1_GetActivityRequest, context: ServerContext) async throws -> Lv_Registration_V1_GetActivityResponse {
        var v = Violations()
        RegistrationRules.key(request.activityId, "activity_id", &v)
        try v.throwIfAny()
        guard let a = try await store.activity(id: request.activityId) else {
            throw DomainError(.notFound, "activity_id: no activity '\(request.activityId)'")
        }
        var response = Lv_Registration_V1_GetActivityResponse()
        response.activity = a
        return response
    }

    public func listActivities(_ request: Lv_Registration_V1_ListActivitiesRequest, context: ServerContext) async throws -> Lv_Registration_V1_ListActivitiesResponse {
        let (activities, next) = try await store.listActivities(pageSize: PageToken.size(request.pageSize),
                                                                after: try PageToken.decode(request.pageToken))
        var response = Lv_Registration_V1_ListActivitiesResponse()
        response.activities = activities
        response.nextPageToken = PageToken.encode(next)
        return response
    }

    public func addSession(_ request: Lv_Registration_V1_AddSessionRequest, context: ServerContext) async throws -> Lv_Registration_V1_AddSessionResponse {
        var v = Violations()
        RegistrationRules.requestID(request.requestId, &v)
        v.require(request.session != nil, "session", "required", "the session to add")
        RegistrationRules.key(request.session?.activityId ?? "", "session.activity_id", &v)
        try v.throwIfAny()
        return try await store.addSession(request, now: clock())
    }

    public func listSessions(_ request: Lv_Registration_V1_ListSessionsRequest, context: ServerContext) async throws -> Lv_Registration_V1_ListSessionsResponse {
        var response = Lv_Registration_V1_ListSessionsResponse()
        response.sessions = try await store.sessions(activityID: request.activityId)
        return response
    }

    // MARK: enrollment

    public func enroll(_ request: Lv_Registration_V1_EnrollRequest, context: ServerContext) async throws -> Lv_Registration_V1_EnrollResponse {
        var v = Violations()
        RegistrationRules.requestID(request.requestId, &v)
        RegistrationRules.key(request.activityId, "activity_id", &v)
        if let problem = NPI.problem(request.npi) { v.add("npi", problem.rule, problem.message) }
        v.require(request.cohort == .participant || request.cohort == .comparison, "cohort", "required",
                  "COHORT_PARTICIPANT or COHORT_COMPARISON")
        try v.throwIfAny()
        return try await store.enroll(request, now: clock())
    }

    public func withdraw(_ request: Lv_Registration_V1_WithdrawRequest, context: ServerContext) async throws -> Lv_Registration_V1_WithdrawResponse {
        try requireNPI(request.npi)
        var response = Lv_Registration_V1_WithdrawResponse()
        response.enrollment = try await store.withdraw(activityID: request.activityId, npi: request.npi, now: clock())
        return response
    }

    public func listEnrollments(_ request: Lv_Registration_V1_ListEnrollmentsRequest, context: ServerContext) async throws -> Lv_Registration_V1_ListEnrollmentsResponse {
        let (enrollments, next) = try await store.listEnrollments(
            activityID: request.activityId, cohort: request.cohort, includeWithdrawn: request.includeWithdrawn,
            pageSize: PageToken.size(request.pageSize), after: try PageToken.decode(request.pageToken))
        var response = Lv_Registration_V1_ListEnrollmentsResponse()
        response.enrollments = enrollments
        response.nextPageToken = PageToken.encode(next)
        return response
    }

    // MARK: attendance

    public func checkIn(_ request: Lv_Registration_V1_CheckInRequest, context: ServerContext) async throws -> Lv_Registration_V1_CheckInResponse {
        try requireNPI(request.npi)
        try requireAttendance(request.sessionId, atMs: request.atMs)
        let (interval, opened) = try await store.checkIn(npi: request.npi, sessionID: request.sessionId, at: request.atMs == 0 ? clock() : request.atMs)
        var response = Lv_Registration_V1_CheckInResponse()
        response.interval = interval
        response.opened = opened
        return response
    }

    public func checkOut(_ request: Lv_Registration_V1_CheckOutRequest, context: ServerContext) async throws -> Lv_Registration_V1_CheckOutResponse {
        try requireNPI(request.npi)
        try requireAttendance(request.sessionId, atMs: request.atMs)
        let (interval, minutes) = try await store.checkOut(npi: request.npi, sessionID: request.sessionId, at: request.atMs == 0 ? clock() : request.atMs)
        var response = Lv_Registration_V1_CheckOutResponse()
        response.interval = interval
        response.sessionMinutes = UInt32(minutes)
        return response
    }

    public static let maximumAttendanceBatch = 10_000

    public func recordAttendance(_ request: Lv_Registration_V1_RecordAttendanceRequest, context: ServerContext) async throws -> Lv_Registration_V1_RecordAttendanceResponse {
        var v = Violations()
        RegistrationRules.requestID(request.requestId, &v)
        v.require(request.intervals.count <= Self.maximumAttendanceBatch, "intervals", "batch-size",
                  "at most \(Self.maximumAttendanceBatch) intervals per call")
        for (i, interval) in request.intervals.prefix(Self.maximumAttendanceBatch).enumerated() {
            RegistrationRules.key(interval.sessionId, "intervals[\(i)].session_id", &v)
        }
        try v.throwIfAny()
        return try await store.recordAttendance(request, now: clock())
    }

    public func getAttendance(_ request: Lv_Registration_V1_GetAttendanceRequest, context: ServerContext) async throws -> Lv_Registration_V1_GetAttendanceResponse {
        var response = try await store.attendance(activityID: request.activityId, npi: request.npi,
                                                  pageSize: PageToken.size(request.pageSize),
                                                  after: try PageToken.decode(request.pageToken), now: clock())
        response.nextPageToken = PageToken.encode(response.nextPageToken)
        return response
    }

    // MARK: credit

    public func claimCredit(_ request: Lv_Registration_V1_ClaimCreditRequest, context: ServerContext) async throws -> Lv_Registration_V1_ClaimCreditResponse {
        var v = Violations()
        RegistrationRules.requestID(request.requestId, &v)
        RegistrationRules.key(request.activityId, "activity_id", &v)
        if let problem = NPI.problem(request.npi) { v.add("npi", problem.rule, problem.message) }
        if case .unrecognized(let n) = request.creditType { v.add("credit_type", "enum", "unknown credit type \(n)") }
        try v.throwIfAny()
        return try await store.claimCredit(request, now: clock())
    }

    public func listCredits(_ request: Lv_Registration_V1_ListCreditsRequest, context: ServerContext) async throws -> Lv_Registration_V1_ListCreditsResponse {
        guard !request.activityId.isEmpty || !request.npi.isEmpty else {
            throw DomainError.invalidArgument(field: "activity_id", rule: "required", "give an activity_id, an npi, or both")
        }
        let (claims, next) = try await store.listCredits(activityID: request.activityId, npi: request.npi,
                                                         pageSize: PageToken.size(request.pageSize),
                                                         after: try PageToken.decode(request.pageToken))
        var response = Lv_Registration_V1_ListCreditsResponse()
        response.claims = claims
        response.nextPageToken = PageToken.encode(next)
        return response
    }

    /// A check-in or check-out time: 0 (now) or within the documented timestamp range; the session id a key.
    private func requireAttendance(_ sessionID: String, atMs: Int64) throws {
        var v = Violations()
        RegistrationRules.key(sessionID, "session_id", &v)
        if atMs != 0 {
            v.timestamp(atMs, "at_ms", in: FieldLimits.earliestMs...FieldLimits.latestMs, "0 for now, or a time from 2000 to 2100")
        }
        try v.throwIfAny()
    }

    private func requireNPI(_ npi: String) throws {
        if let problem = NPI.problem(npi) { throw DomainError.invalidArgument(field: "npi", rule: problem.rule, problem.message) }
    }
}
