import GatewayDomain
import LVAPI
import LVDomain
import LVMessages
import LVRPC
import Logging
import NIOCore

/// `lv.gateway.v1.Gateway`: reads registration, engagement and assessment concurrently, every
/// call with the caller's remaining deadline (less a margin), and builds the view with
/// `ValidationView`. Data that cannot be read in time takes every section that needs it out of
/// the answer (`Completeness`): the answer is marked partial, names the missing backends and the
/// absent sections with the cause, and is counted and logged as partial.
public struct GatewayService: Lv.Gateway.V1.Gateway.ServiceProtocol {
    public let registration: Lv.Registration.V1.Registration.Client
    public let engagement: Lv.Engagement.V1.Engagement.Client
    public let assessment: Lv.Assessment.V1.Assessment.Client
    public let clock: @Sendable () -> Int64
    public let metrics: GatewayMetrics
    /// Used when the caller sent no deadline.
    public static let defaultTimeout = TimeAmount.seconds(10)
    /// Kept back from the caller's deadline so the answer leaves before it.
    public static let margin = TimeAmount.milliseconds(100)

    public init(registration: RPCClient, engagement: RPCClient, assessment: RPCClient, metrics: GatewayMetrics = GatewayMetrics(),
                clock: @escaping @Sendable () -> Int64 = { wallClockMilliseconds() }) {
        self.metrics = metrics
        self.registration = Lv.Registration.V1.Registration.Client(registration)
        self.engagement = Lv.Engagement.V1.Engagement.Client(engagement)
        self.assessment = Lv.Assessment.V1.Assessment.Client(assessment)
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

    /// One backend call, counted and timed by backend, method and the status it ended with.
    func call<T: Sendable>(_ backend: Source, _ method: String, _ body: () async throws -> T) async throws -> T {
        let start = NIODeadline.now()
        do {
            let result = try await body()
            metrics.backendCall(backend, method, .ok, since: start)
            return result
        } catch {
            metrics.backendCall(backend, method, RPCError.from(error).code, since: start)
            throw error
        }
    }

    /// Every page of a paged list (each page's call counted and timed like any other backend call).
    func pages<Page: Sendable>(_ method: String, from backend: Source = .registration,
                               _ fetch: (String) async throws -> (Page, String)) async throws -> [Page] {
        var out: [Page] = []
        var token = ""
        repeat {
            let (page, next) = try await call(backend, method) { try await fetch(token) }
            out.append(page)
            token = next
        } while !token.isEmpty
        return out
    }

    func readActivity(_ id: String, _ d: Downstream) async throws -> Lv_Registration_V1_Activity {
        var g = Lv_Registration_V1_GetActivityRequest()
        g.activityId = id
        return try await call(.registration, "GetActivity") { try await registration.getActivity(g, options: d.options).activity ?? .init() }
    }

    func readEnrollments(_ id: String, _ d: Downstream) async throws -> [Lv_Registration_V1_Enrollment] {
        try await pages("ListEnrollments") { token in
            var r = Lv_Registration_V1_ListEnrollmentsRequest()
            (r.activityId, r.pageSize, r.pageToken) = (id, 1000, token)
            let page = try await registration.listEnrollments(r, options: d.options)
            return (page.enrollments, page.nextPageToken)
        }.flatMap { $0 }
    }

    func readAttendance(_ id: String, _ d: Downstream) async throws -> [String: Int] {
        var attendance: [String: Int] = [:]
        for list in try await pages("GetAttendance", { token in
            var r = Lv_Registration_V1_GetAttendanceRequest()
            (r.activityId, r.pageSize, r.pageToken) = (id, 1000, token)
            let page = try await registration.getAttendance(r, options: d.options)
            return (page.physicians, page.nextPageToken)
        }) {
            for p in list { attendance[p.npi] = Int(p.minutesPresent) }
        }
        return attendance
    }

    func readCredits(_ id: String, _ d: Downstream) async throws -> [Lv_Registration_V1_CreditClaim] {
        try await pages("ListCredits") { token in
            var r = Lv_Registration_V1_ListCreditsRequest()
            (r.activityId, r.pageSize, r.pageToken) = (id, 1000, token)
            let page = try await registration.listCredits(r, options: d.options)
            return (page.claims, page.nextPageToken)
        }.flatMap { $0 }
    }

    func scheduledMinutes(_ id: String, _ d: Downstream) async throws -> Int {
        var r = Lv_Registration_V1_ListSessionsRequest()
        r.activityId = id
        return try await call(.registration, "ListSessions") {
            try await registration.listSessions(r, options: d.options).sessions.reduce(0) { $0 + Int(($1.endMs - $1.startMs) / 60_000) }
        }
    }

    /// Summaries with the index computed without the presence part (scheduled minutes 0): the
    /// caller recomputes it once registration's sessions are in, so neither waits for the other.
    func readEngagement(_ id: String, npi: String = "", _ d: Downstream) async throws -> [Lv_Engagement_V1_PhysicianEngagement] {
        try await pages("GetEngagementSummary", from: .engagement) { token in
            var r = Lv_Engagement_V1_GetEngagementSummaryRequest()
            (r.activityId, r.npi, r.scheduledMinutes, r.pageSize, r.pageToken) = (id, npi, 0, 1000, token)
            let page = try await engagement.getEngagementSummary(r, options: d.options)
            return (page.physicians, page.nextPageToken)
        }.flatMap { $0 }
    }

    func readOutcomes(_ id: String, npi: String = "", _ d: Downstream) async throws -> [Outcomes] {
        try await pages("GetOutcomes", from: .assessment) { token in
            var r = Lv_Assessment_V1_GetOutcomesRequest()
            (r.activityId, r.npi, r.pageSize, r.pageToken, r.omitItemScores) = (id, npi, 1000, token, true)
            let page = try await assessment.getOutcomes(r, options: d.options)
            return (page.physicians, page.nextPageToken)
        }.flatMap { $0 }
    }

    /// The learners' records by NPI: ListPhysicians with `npis`, 1,000 NPIs a call, every page.
    func readLearners(_ npis: [String], _ d: Downstream) async throws -> [String: Lv_Registration_V1_Physician] {
        var out: [String: Lv_Registration_V1_Physician] = [:]
        for start in stride(from: 0, to: npis.count, by: 1000) {
            let chunk = Array(npis[start..<min(npis.count, start + 1000)])
            for page in try await pages("ListPhysicians", { token in
                var r = Lv_Registration_V1_ListPhysiciansRequest()
                (r.npis, r.pageSize, r.pageToken) = (chunk, 1000, token)
                let page = try await registration.listPhysicians(r, options: d.options)
                return (page.physicians, page.nextPageToken)
            }) {
                for p in page { out[p.npi] = p }
            }
        }
        return out
    }

    /// What `gather` read, and each piece of data it could not read with the failed call's status.
    struct Gathered: Sendable {
        var input: ActivityInputs
        var missing: [SourceData: SectionStatus] = [:]
    }

    /// Everything the view needs for one activity, every read started at once, each call with the
    /// caller's remaining time. A failed read leaves its data nil and is recorded in `missing`
    /// (and, per backend, in `degraded`).
    func gather(_ id: String, _ d: Downstream) async -> Gathered {
        async let activity = await Result { try await readActivity(id, d) }
        async let enrollments = await Result { try await readEnrollments(id, d) }
        async let attendance = await Result { try await readAttendance(id, d) }
        async let credits = await Result { try await readCredits(id, d) }
        async let scheduled = await Result { try await scheduledMinutes(id, d) }
        async let summaries = await Result { try await readEngagement(id, d) }
        async let outcomes = await Result { try await readOutcomes(id, d) }

        var g = Gathered(input: ActivityInputs(activityID: id))
        func take<T>(_ result: Result<T, any Error>, _ data: SourceData) -> T? {
            switch result {
            case .success(let value): return value
            case .failure(let error):
                g.missing[data] = Self.status(data.source.rawValue, error)
                return nil
            }
        }
        g.input.activity = take(await activity, .activity)
        g.input.enrollments = take(await enrollments, .cohorts)
        // The planning breakdown needs each participant's profession and specialty: read only for
        // an activity with a planning record, while the other reads are still in flight.
        if g.input.activity?.planning != nil, let list = g.input.enrollments {
            let participants = Set(list.filter { $0.cohort == .participant && $0.withdrawnMs == 0 }.map(\.npi)).sorted()
            g.input.learners = take(await Result { try await readLearners(participants, d) }, .learners)
        }
        g.input.attendance = take(await attendance, .attendance)
        g.input.credits = take(await credits, .credit)
        let minutes = take(await scheduled, .sessions)
        g.input.engagement = take(await summaries, .summaries).map { list in
            list.map { s in
                var s = s
                s.engagementIndex = EngagementIndex.score(s, scheduledMinutes: minutes ?? 0)
                return s
            }
        }
        g.input.outcomes = take(await outcomes, .outcomes)
        g.input.degraded = Completeness.missingSources(g.missing).map { s in
            var s = s
            s.section = Self.sectionsOf[s.section] ?? s.section
            return s
        }
        return g
    }

    static let sectionsOf = [
        "registration": "registration: activity, participation, credit, cohorts, funnel, validation gap",
        "engagement": "engagement: engagement index, engagement vs learning",
        "assessment": "assessment: knowledge, items, attribution, retention, competence, commitments, practice",
    ]

    /// The view of one gathered activity, with every section that needs missing data removed.
    func view(_ g: Gathered, thresholds: Thresholds, context: ServerContext) -> ActivityValidation {
        var v = ValidationView.build(g.input, thresholds: thresholds, now: clock())
        Completeness.apply(&v, missing: g.missing)
        if !g.missing.isEmpty {
            metrics.partialView(context.method.method, missing: Set(g.missing.keys.map(\.source)))
            context.logger.warning("partial view", metadata: [
                "missing": "\(v.completeness?.missingSources.map { "\($0.section)=\($0.code.protoName)" }.joined(separator: ",") ?? "")",
                "absent-sections": "\(v.completeness?.absent.count ?? 0)",
            ])
        }
        return v
    }

    // MARK: the API

    public func getActivityValidation(_ request: Lv_Gateway_V1_GetActivityValidationRequest, context: ServerContext) async throws -> Lv_Gateway_V1_ActivityValidation {
        guard !request.activityId.isEmpty else {
            throw RPCError.invalidArgument(field: "activity_id", rule: "required", "the activity to validate")
        }
        let thresholds = try Self.thresholds(request.thresholds)
        let g = await gather(request.activityId, Downstream(context))
        if Set(g.missing.keys.map(\.source)).count == Source.allCases.count {
            throw RPCError(.unavailable, "no backend could be read: " + g.input.degraded.map(\.message).joined(separator: "; "), retryable: true)
        }
        if let notFound = g.missing.values.first(where: { $0.code == .notFound }) {
            throw RPCError(.notFound, notFound.message)
        }
        return view(g, thresholds: thresholds, context: context)
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
        let page = try await call(.registration, "ListActivities") { try await registration.listActivities(r, options: d.options) }
        let views = await withTaskGroup(of: (Int, ActivityValidation).self) { group in
            for (i, a) in page.activities.enumerated() {
                group.addTask { (i, view(await gather(a.activityId, d), thresholds: thresholds, context: context)) }
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
            s.completeness = v.completeness
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
        let physician = try await call(.registration, "GetPhysician") { try await registration.getPhysician(g, options: d.options).physician ?? .init() }
        transcript.name = "\(physician.givenName) \(physician.familyName)"
        let activities = try await pages("ListActivities") { token in
            var r = Lv_Registration_V1_ListActivitiesRequest()
            (r.pageSize, r.pageToken) = (1000, token)
            let page = try await registration.listActivities(r, options: d.options)
            return (page.activities, page.nextPageToken)
        }.flatMap { $0 }
        var credits: [String: Double] = [:]
        for c in try await pages("ListCredits", { token in
            var r = Lv_Registration_V1_ListCreditsRequest()
            (r.npi, r.pageSize, r.pageToken) = (request.npi, 1000, token)
            let page = try await registration.listCredits(r, options: d.options)
            return (page.claims, page.nextPageToken)
        }).flatMap({ $0 }) { credits[c.activityId] = c.credits }
        let npi = request.npi
        let claimed = credits
        let entries = await withTaskGroup(of: (Int, Lv_Gateway_V1_TranscriptEntry?, [SourceData: SectionStatus]).self) { group in
            for (i, a) in activities.enumerated() {
                group.addTask {
                    let (entry, degraded) = await transcriptEntry(a, npi: npi, credits: claimed[a.activityId] ?? 0, d)
                    return (i, entry, degraded)
                }
            }
            var out: [(Int, Lv_Gateway_V1_TranscriptEntry?, [SourceData: SectionStatus])] = []
            for await e in group { out.append(e) }
            return out.sorted { $0.0 < $1.0 }
        }
        var missing: [SourceData: SectionStatus] = [:]
        for (_, entry, degraded) in entries {
            for (data, status) in degraded { missing[data] = missing[data] ?? status }
            transcript.degraded += degraded.sorted { $0.key.rawValue < $1.key.rawValue }.map { data, status in
                var s = status
                s.section = "\(data.source.rawValue) for \(status.section)"
                return s
            }
            guard let entry else { continue }
            transcript.activities.append(entry)
            transcript.credits += entry.credits
            // A credit counts as evidenced only when its verdict is known and a reliable improvement.
            if entry.verdict == .reliableImprovement { transcript.creditsWithEvidence += entry.credits }
        }
        var c = Lv_Gateway_V1_Completeness()
        c.status = missing.isEmpty ? .complete : .partial
        c.missingSources = Completeness.missingSources(missing)
        if !missing.isEmpty {
            c.absent.append(Completeness.absent("credits_with_evidence", "a lower bound: " + c.missingSources.map {
                Completeness.reason(Source(rawValue: $0.section)!, $0) }.joined(separator: "; ")))
            metrics.partialView(context.method.method, missing: Set(missing.keys.map(\.source)))
            context.logger.warning("partial transcript", metadata: [
                "missing": "\(c.missingSources.map { "\($0.section)=\($0.code.protoName)" }.joined(separator: ","))"])
        }
        transcript.completeness = c
        return transcript
    }

    /// One activity's line of a transcript, and the data that could not be read for it (each
    /// status's section names the activity). A field whose source is missing is named in `absent`.
    /// The verdict is calibrated on the whole activity's assessed physicians, exactly as in the
    /// activity's view, and the engagement index is given the activity's scheduled minutes, as in
    /// the view: one physician reads the same in both.
    func transcriptEntry(_ a: Lv_Registration_V1_Activity, npi: String, credits: Double, _ d: Downstream)
        async -> (Lv_Gateway_V1_TranscriptEntry?, [SourceData: SectionStatus]) {
        var missing: [SourceData: SectionStatus] = [:]
        async let minutesPart = await Result {
            var r = Lv_Registration_V1_GetAttendanceRequest()
            (r.activityId, r.npi) = (a.activityId, npi)
            return try await call(.registration, "GetAttendance") {
                Int(try await registration.getAttendance(r, options: d.options).physicians.first?.minutesPresent ?? 0)
            }
        }
        async let scheduledPart = await Result { try await scheduledMinutes(a.activityId, d) }
        async let engagementPart = await Result { try await readEngagement(a.activityId, npi: npi, d) }
        async let outcomesPart = await Result { try await readOutcomes(a.activityId, d) }
        var e = Lv_Gateway_V1_TranscriptEntry()
        e.activityId = a.activityId
        e.title = a.title
        e.credits = credits
        func failed(_ data: SourceData, _ field: String, _ error: any Error) {
            let status = Self.status(a.activityId, error)
            missing[data] = status
            e.absent.append(Completeness.absent(field, Completeness.reason(data.source, status)))
        }
        switch await minutesPart {
        case .success(let m): e.minutesAttended = UInt32(m)
        case .failure(let error): failed(.attendance, "minutes_attended", error)
        }
        switch (await engagementPart, await scheduledPart) {
        case (.success(let list), .success(let scheduled)):
            if let s = list.first { e.engagementIndex = estimate(EngagementIndex.score(s, scheduledMinutes: scheduled), n: 1) }
        case (.failure(let error), _): failed(.summaries, "engagement_index", error)
        case (_, .failure(let error)): failed(.sessions, "engagement_index", error)
        }
        var all: [Outcomes]?
        switch await outcomesPart {
        case .success(let list): all = list
        case .failure(let error): failed(.outcomes, "assessment", error)
        }
        let outcome = all?.first { $0.npi == npi }
        guard e.minutesAttended > 0 || credits > 0 || outcome != nil else { return (nil, missing) }
        if let all {
            ValidationView.fillTranscript(&e, npi: npi, outcomes: all, thresholds: Thresholds().resolved)
        }
        // Without outcomes the verdict and every level above 2 are unknown; without attendance, level 1 is.
        if let status = missing[.outcomes] ?? (e.highestLevel.isEmpty ? missing[.attendance] : nil) {
            let source: Source = missing[.outcomes] != nil ? .assessment : .registration
            e.absent.append(Completeness.absent("highest_level", Completeness.reason(source, status)))
            e.highestLevel = ""
        }
        return (e, missing)
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
