import LVAPI
import LVDomain
import LVMessages
import LVRPC
import NIOCore

/// `lv.gateway.v1.Gateway`: reads registration, engagement and assessment concurrently within
/// the caller's deadline (less a margin), and builds the view with `ValidationView`. A backend
/// that fails or is too slow leaves its sections out, named in `degraded` with the cause.
public struct GatewayService: Lv_Gateway_V1_GatewayHandler {
    public let registration: Lv_Registration_V1_RegistrationClient
    public let engagement: Lv_Engagement_V1_EngagementClient
    public let assessment: Lv_Assessment_V1_AssessmentClient
    public let clock: @Sendable () -> Int64
    /// Used when the caller sent no deadline.
    public static let defaultTimeout = TimeAmount.seconds(10)
    /// Kept back from the caller's deadline so the answer leaves before it.
    public static let margin = TimeAmount.milliseconds(100)

    public init(registration: RPCClient, engagement: RPCClient, assessment: RPCClient,
                clock: @escaping @Sendable () -> Int64 = { wallClockMilliseconds() }) {
        self.registration = Lv_Registration_V1_RegistrationClient(registration)
        self.engagement = Lv_Engagement_V1_EngagementClient(engagement)
        self.assessment = Lv_Assessment_V1_AssessmentClient(assessment)
        self.clock = clock
    }

    /// Downstream call options: the time left before (deadline − margin), the request id and trace.
    struct Downstream: Sendable {
        let deadline: NIODeadline
        let metadata: [String: String]
        let traceparent: String

        init(_ context: ServerContext) {
            deadline = (context.deadline ?? .now() + GatewayService.defaultTimeout) - GatewayService.margin
            metadata = ["x-request-id": context.requestID]
            traceparent = context.traceparent
        }

        var options: CallOptions {
            CallOptions(timeout: max(.milliseconds(1), deadline - .now()), metadata: metadata, traceparent: traceparent)
        }
    }

    static func status(_ section: String, _ error: any Error) -> Lv_Gateway_V1_SectionStatus {
        let e = RPCError.from(error)
        var s = Lv_Gateway_V1_SectionStatus()
        (s.section, s.code, s.message) = (section, e.code, e.message)
        return s
    }

    // MARK: reading the backends

    struct RegistrationPart: Sendable {
        var activity: Lv_Registration_V1_Activity
        var enrollments: [Lv_Registration_V1_Enrollment] = []
        var attendance: [String: Int] = [:]
        var credits: [Lv_Registration_V1_CreditClaim] = []
    }

    func readRegistration(_ id: String, _ d: Downstream) async throws -> RegistrationPart {
        var g = Lv_Registration_V1_GetActivityRequest()
        g.activityId = id
        var part = RegistrationPart(activity: try await registration.getActivity(g, options: d.options).activity ?? .init())
        var token = ""
        repeat {
            var r = Lv_Registration_V1_ListEnrollmentsRequest()
            (r.activityId, r.pageSize, r.pageToken) = (id, 1000, token)
            let page = try await registration.listEnrollments(r, options: d.options)
            part.enrollments += page.enrollments
            token = page.nextPageToken
        } while !token.isEmpty
        repeat {
            var r = Lv_Registration_V1_GetAttendanceRequest()
            (r.activityId, r.pageSize, r.pageToken) = (id, 1000, token)
            let page = try await registration.getAttendance(r, options: d.options)
            for p in page.physicians { part.attendance[p.npi] = Int(p.minutesPresent) }
            token = page.nextPageToken
        } while !token.isEmpty
        repeat {
            var r = Lv_Registration_V1_ListCreditsRequest()
            (r.activityId, r.pageSize, r.pageToken) = (id, 1000, token)
            let page = try await registration.listCredits(r, options: d.options)
            part.credits += page.claims
            token = page.nextPageToken
        } while !token.isEmpty
        return part
    }

    func scheduledMinutes(_ id: String, _ d: Downstream) async throws -> Int {
        var r = Lv_Registration_V1_ListSessionsRequest()
        r.activityId = id
        return try await registration.listSessions(r, options: d.options).sessions.reduce(0) { $0 + Int(($1.endMs - $1.startMs) / 60_000) }
    }

    func readEngagement(_ id: String, npi: String = "", scheduled: Int, _ d: Downstream) async throws -> [Lv_Engagement_V1_PhysicianEngagement] {
        var out: [Lv_Engagement_V1_PhysicianEngagement] = []
        var token = ""
        repeat {
            var r = Lv_Engagement_V1_GetEngagementSummaryRequest()
            (r.activityId, r.npi, r.scheduledMinutes, r.pageSize, r.pageToken) = (id, npi, UInt32(scheduled), 1000, token)
            let page = try await engagement.getEngagementSummary(r, options: d.options)
            out += page.physicians
            token = page.nextPageToken
        } while !token.isEmpty
        return out
    }

    func readOutcomes(_ id: String, npi: String = "", _ d: Downstream) async throws -> [Outcomes] {
        var out: [Outcomes] = []
        var token = ""
        repeat {
            var r = Lv_Assessment_V1_GetOutcomesRequest()
            (r.activityId, r.npi, r.pageSize, r.pageToken, r.omitItemScores) = (id, npi, 1000, token, true)
            let page = try await assessment.getOutcomes(r, options: d.options)
            out += page.physicians
            token = page.nextPageToken
        } while !token.isEmpty
        return out
    }

    /// Everything the view needs for one activity, read concurrently; failures become `degraded`.
    func gather(_ id: String, _ d: Downstream) async -> ActivityInputs {
        var input = ActivityInputs(activityID: id)
        // Engagement needs the scheduled minutes (for the presence part of its index); the rest runs alongside.
        let scheduled = Task { try await scheduledMinutes(id, d) }
        async let reg: Result<RegistrationPart, any Error> = await Result { try await readRegistration(id, d) }
        async let eng: Result<[Lv_Engagement_V1_PhysicianEngagement], any Error> = await Result {
            try await readEngagement(id, scheduled: (try? await scheduled.value) ?? 0, d)
        }
        async let asm: Result<[Outcomes], any Error> = await Result { try await readOutcomes(id, d) }
        switch await reg {
        case .success(let part):
            input.activity = part.activity
            input.enrollments = part.enrollments
            input.attendance = part.attendance
            input.credits = part.credits
        case .failure(let error):
            input.degraded.append(Self.status("registration: participation, credit, cohorts, funnel, validation gap", error))
        }
        switch await eng {
        case .success(let e): input.engagement = e
        case .failure(let error): input.degraded.append(Self.status("engagement: engagement index, engagement vs learning", error))
        }
        switch await asm {
        case .success(let o): input.outcomes = o
        case .failure(let error):
            input.degraded.append(Self.status("assessment: knowledge, items, attribution, retention, competence, commitments, practice", error))
        }
        return input
    }

    // MARK: the API

    public func getActivityValidation(_ request: Lv_Gateway_V1_GetActivityValidationRequest, context: ServerContext) async throws -> Lv_Gateway_V1_ActivityValidation {
        guard !request.activityId.isEmpty else {
            throw RPCError.invalidArgument(field: "activity_id", rule: "required", "the activity to validate")
        }
        let thresholds = try Self.thresholds(request.thresholds)
        let input = await gather(request.activityId, Downstream(context))
        if input.degraded.count == 3 {
            throw RPCError(.unavailable, "no backend could be read: " + input.degraded.map(\.message).joined(separator: "; "), retryable: true)
        }
        if let notFound = input.degraded.first(where: { $0.code == .notFound }) {
            throw RPCError(.notFound, notFound.message)
        }
        return ValidationView.build(input, thresholds: thresholds, now: clock())
    }

    /// The request's thresholds with defaults, or INVALID_ARGUMENT naming the field outside its range.
    static func thresholds(_ given: Thresholds?) throws -> Thresholds {
        switch (given ?? Thresholds()).validated() {
        case .success(let t): return t
        case .failure(let problem): throw RPCError.invalidArgument(field: problem.field, rule: problem.rule, problem.message)
        }
    }

    public func listActivityValidations(_ request: Lv_Gateway_V1_ListActivityValidationsRequest, context: ServerContext) async throws -> Lv_Gateway_V1_ListActivityValidationsResponse {
        let thresholds = try Self.thresholds(request.thresholds)
        let d = Downstream(context)
        var r = Lv_Registration_V1_ListActivitiesRequest()
        // Each row costs a full view, so pages are small: 20 by default, at most 100.
        (r.pageSize, r.pageToken) = (request.pageSize == 0 ? 20 : min(request.pageSize, 100), request.pageToken)
        let page = try await registration.listActivities(r, options: d.options)
        let views = await withTaskGroup(of: (Int, ActivityValidation).self) { group in
            for (i, a) in page.activities.enumerated() {
                group.addTask { (i, ValidationView.build(await gather(a.activityId, d), thresholds: thresholds, now: clock())) }
            }
            var out: [(Int, ActivityValidation)] = []
            for await v in group { out.append(v) }
            return out.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var response = Lv_Gateway_V1_ListActivityValidationsResponse()
        response.activities = views.map { v in
            var s = Lv_Gateway_V1_ActivityValidationSummary()
            s.activityId = v.activityId
            s.title = v.title
            s.participants = v.funnel?.registered ?? 0
            s.credited = v.funnel?.credited ?? 0
            s.highestLevel = v.highestLevel
            s.gap = v.gap?.byVerdict ?? []
            s.knowledgeDZ = v.knowledge?.dZ
            s.knowledge = v.levels.first { $0.level == "3A" }?.evidence.first
            s.degradedSections = UInt32(v.degraded.count)
            return s
        }
        response.nextPageToken = page.nextPageToken
        return response
    }

    public func getPhysicianTranscript(_ request: Lv_Gateway_V1_GetPhysicianTranscriptRequest, context: ServerContext) async throws -> Lv_Gateway_V1_PhysicianTranscript {
        if let p = NPI.problem(request.npi) { throw RPCError.invalidArgument(field: "npi", rule: p.rule, p.message) }
        let d = Downstream(context)
        var transcript = Lv_Gateway_V1_PhysicianTranscript()
        transcript.npi = request.npi
        var g = Lv_Registration_V1_GetPhysicianRequest()
        g.npi = request.npi
        let physician = try await registration.getPhysician(g, options: d.options).physician ?? .init()
        transcript.name = "\(physician.givenName) \(physician.familyName)"
        var activities: [Lv_Registration_V1_Activity] = []
        var token = ""
        repeat {
            var r = Lv_Registration_V1_ListActivitiesRequest()
            (r.pageSize, r.pageToken) = (1000, token)
            let page = try await registration.listActivities(r, options: d.options)
            activities += page.activities
            token = page.nextPageToken
        } while !token.isEmpty
        var credits: [String: Double] = [:]
        repeat {
            var r = Lv_Registration_V1_ListCreditsRequest()
            (r.npi, r.pageSize, r.pageToken) = (request.npi, 1000, token)
            let page = try await registration.listCredits(r, options: d.options)
            for c in page.claims { credits[c.activityId] = c.credits }
            token = page.nextPageToken
        } while !token.isEmpty
        let npi = request.npi
        let claimed = credits
        let entries = await withTaskGroup(of: (Int, Lv_Gateway_V1_TranscriptEntry?, [Lv_Gateway_V1_SectionStatus]).self) { group in
            for (i, a) in activities.enumerated() {
                group.addTask {
                    let (entry, degraded) = await transcriptEntry(a, npi: npi, credits: claimed[a.activityId] ?? 0, d)
                    return (i, entry, degraded)
                }
            }
            var out: [(Int, Lv_Gateway_V1_TranscriptEntry?, [Lv_Gateway_V1_SectionStatus])] = []
            for await e in group { out.append(e) }
            return out.sorted { $0.0 < $1.0 }
        }
        for (_, entry, degraded) in entries {
            transcript.degraded += degraded
            guard let entry else { continue }
            transcript.activities.append(entry)
            transcript.credits += entry.credits
            if entry.verdict == .reliableImprovement { transcript.creditsWithEvidence += entry.credits }
        }
        return transcript
    }

    /// One activity of a transcript. The verdict is calibrated on the whole activity's assessed
    /// physicians, exactly as in the activity's view, and the engagement index is given the
    /// activity's scheduled minutes, as in the view: one physician reads the same in both.
    func transcriptEntry(_ a: Lv_Registration_V1_Activity, npi: String, credits: Double, _ d: Downstream)
        async -> (Lv_Gateway_V1_TranscriptEntry?, [Lv_Gateway_V1_SectionStatus]) {
        var degraded: [Lv_Gateway_V1_SectionStatus] = []
        async let minutes: Result<Int, any Error> = await Result {
            var r = Lv_Registration_V1_GetAttendanceRequest()
            (r.activityId, r.npi) = (a.activityId, npi)
            return Int(try await registration.getAttendance(r, options: d.options).physicians.first?.minutesPresent ?? 0)
        }
        async let engagementPart = await Result {
            try await readEngagement(a.activityId, npi: npi, scheduled: try await scheduledMinutes(a.activityId, d), d)
        }
        async let outcomesPart = await Result { try await readOutcomes(a.activityId, d) }
        var e = Lv_Gateway_V1_TranscriptEntry()
        e.activityId = a.activityId
        e.title = a.title
        e.credits = credits
        switch await minutes {
        case .success(let m): e.minutesAttended = UInt32(m)
        case .failure(let error): degraded.append(Self.status("registration attendance for \(a.activityId)", error))
        }
        switch await engagementPart {
        case .success(let list): if let s = list.first { e.engagementIndex = estimate(s.engagementIndex, n: 1) }
        case .failure(let error): degraded.append(Self.status("engagement for \(a.activityId)", error))
        }
        var all: [Outcomes]?
        switch await outcomesPart {
        case .success(let list): all = list
        case .failure(let error): degraded.append(Self.status("assessment for \(a.activityId)", error))
        }
        let outcome = all?.first { $0.npi == npi }
        guard e.minutesAttended > 0 || credits > 0 || outcome != nil else { return (nil, degraded) }
        guard let all else { return (e, degraded) }
        ValidationView.fillTranscript(&e, npi: npi, outcomes: all, thresholds: Thresholds().resolved)
        return (e, degraded)
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
