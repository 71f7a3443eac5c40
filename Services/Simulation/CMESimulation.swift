import LVAPI
import LVDomain
import LVMessages
import LVRPC
import RegistrationDomain

/// Drives a realistic simulated CME activity through the real protocol: registration,
/// attendance and credit; engagement events; pre-, post- and follow-up tests, vignettes,
/// an evaluation, commitments with follow-up, and practice measures — for a participant and a
/// comparison cohort. Seeded and reproducible; sizes set by `Configuration`.
public struct CMESimulation: Sendable {
    public struct Configuration: Sendable {
        public var activityID = "sim-hf-2026"
        /// Empty: the course's title.
        public var title = ""
        public var participants = 120
        public var comparison = 40
        public var seed: UInt64 = 2026
        /// Mean logit gain the activity gives participants on taught items (1.1 ≈ a good course; 0.1 ≈ little learning).
        public var learningEffect = 1.1
        /// What the activity teaches, its format, dates and credit (SimulationParameters.swift).
        public var course: Course = .heartFailure
        /// How learners behave: attrition, claims, response rates (SimulationParameters.swift).
        public var realism: Realism = .typical
        public init() {}
    }

    /// What one learner does, drawn before any call (from its own stream, so the answers' stream
    /// is the same whatever the realism).
    struct Plan: Sendable {
        var profession: Profession = .physician
        /// Indices of the sessions attended; for enduring material [0] when completed.
        var sessions: [Int] = []
        var claim = false
        /// Quarter credits claimed below what attendance supports.
        var shortfallQuarters = 0
        var preTest = true
        var postTest = true
        var practiceData = true
    }

    /// The learner's profession, a function of the index alone so that every simulation registers
    /// learner n with the same data (physicians 0-9 of each 20, nurses 10-16, pharmacists 17-19 at the sepsis shares).
    public static func profession(_ index: Int, _ course: Course) -> Profession {
        let bucket = Double(index % 20) / 20
        let s = course.professionShares
        if bucket < s.physician { return .physician }
        if bucket < s.physician + s.nurse { return .nurse }
        return .pharmacist
    }

    /// The learner's NPI: physicians 800000000+n, nurses and pharmacists from their own ranges (NPIs
    /// are issued to every profession), so one index is one person across simulations.
    public static func npi(_ index: Int, _ profession: Profession) -> String {
        switch profession {
        case .nurse: npi(200_000 + index)
        case .pharmacist: npi(300_000 + index)
        default: npi(index)
        }
    }

    public let configuration: Configuration
    let registration: Lv.Registration.V1.Registration.Client
    let engagement: Lv.Engagement.V1.Engagement.Client
    let assessment: Lv.Assessment.V1.Assessment.Client
    let progress: @Sendable (String) -> Void

    public init(configuration: Configuration, registration: RPCClient, engagement: RPCClient, assessment: RPCClient,
                progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.registration = Lv.Registration.V1.Registration.Client(registration)
        self.engagement = Lv.Engagement.V1.Engagement.Client(engagement)
        self.assessment = Lv.Assessment.V1.Assessment.Client(assessment)
        self.progress = progress
    }


    /// Physician n of every simulation has the same NPI, so simulated activities share physicians
    /// and their transcripts show several activities.
    public static func npi(_ n: Int) -> String {
        let nine = String(800_000_000 + n).utf8.map { Int($0) - 48 }
        return nine.map(String.init).joined() + String(NPI.checkDigit(firstNine: nine))
    }

    public var npis: [String] {
        (0..<(configuration.participants + configuration.comparison)).map { Self.npi($0, Self.profession($0, configuration.course)) }
    }

    var course: Course { configuration.course }
    var sessionStarts: [Int64] { course.sessions.map { course.startMs + $0.offsetMs } }
    func sessionID(_ i: Int) -> String { "\(configuration.activityID)-s\(i + 1)" }

    /// Each learner's plan, drawn from a stream of its own (seed-derived).
    func plans(_ physicians: [SimulatedPhysician]) -> [Plan] {
        let r = configuration.realism
        var life = SeededRandom(seed: configuration.seed ^ 0x6c69_6665_7374_7265)
        return physicians.map { p in
            var plan = Plan()
            plan.profession = Self.profession(p.index, course)
            plan.practiceData = r.practiceData >= 1 || life.chance(r.practiceData)
            guard p.participant else {
                plan.preTest = !life.chance(r.missingPreTest)
                plan.postTest = !life.chance(r.missingPostTest)
                return plan
            }
            if life.chance(r.noShow) {
                (plan.preTest, plan.postTest) = (life.chance(r.noShowPreTest), false)
                return plan
            }
            plan.sessions = Array(0..<max(1, course.sessions.count))
            if course.sessions.count > 1, life.chance(r.partialAttendance) {
                plan.sessions.remove(at: 1 + Int(life.uniform() * Double(course.sessions.count - 1)))
            }
            plan.claim = !life.chance(r.noClaim)
            if life.chance(r.claimShortfall) { plan.shortfallQuarters = 1 + Int(life.uniform() * 3) }
            plan.preTest = !life.chance(r.missingPreTest)
            plan.postTest = !life.chance(r.missingPostTest)
            return plan
        }
    }

    /// Runs the whole activity; returns the physicians simulated (participants first).
    @discardableResult
    public func run() async throws -> [SimulatedPhysician] {
        var random = SeededRandom(seed: configuration.seed)
        let c = configuration
        let physicians = (0..<(c.participants + c.comparison)).map {
            SimulatedPhysician(index: $0, participant: $0 < c.participants, learningEffect: c.learningEffect, random: &random)
        }
        let npis = self.npis
        let plans = self.plans(physicians)
        progress("registration: activity, \(physicians.count) learners, enrollment, attendance, credit")
        try await setUpActivity()
        try await forEachConcurrently(physicians, width: 16) { p in
            _ = try await self.registerAndAttend(p, npi: npis[p.index], plan: plans[p.index])
        }

        progress("engagement: events from the participants who attended")
        for (i, _) in course.sessions.enumerated() {
            for poll in ["poll-\(2 * i + 1)", "poll-\(2 * i + 2)"] {
                var r = Lv_Engagement_V1_DefinePollRequest()
                (r.activityId, r.sessionId, r.pollId, r.question) = (c.activityID, sessionID(i), poll, "Poll \(poll)")
                _ = try await engagement.definePoll(r)
            }
        }
        var events: [Lv_Engagement_V1_Event] = []
        for p in physicians where p.participant && !plans[p.index].sessions.isEmpty {
            events += engagementEvents(p, npi: npis[p.index], attended: plans[p.index].sessions, random: &random)
        }
        for start in stride(from: 0, to: events.count, by: 1000) {
            var r = Lv_Engagement_V1_RecordEventsRequest()
            r.events = Array(events[start..<min(start + 1000, events.count)])
            let response = try await engagement.recordEvents(r)
            guard response.rejected.isEmpty else { throw RPCError(.internal, "simulated events rejected: \(response.rejected.first!.description)") }
        }

        progress("assessment: instruments, tests, vignettes, evaluation, commitments, practice measures")
        try await createInstruments()
        var answers: [(SimulatedPhysician, String, [Lv_Assessment_V1_SubmitResponsesRequest], [Lv_Assessment_V1_Commitment], [(Lv_Assessment_V1_FollowUp?)], [Lv_Assessment_V1_PracticeMeasure])] = []
        for p in physicians {
            let npi = npis[p.index]
            let plan = plans[p.index]
            // Drawn whatever the plan (the answers' stream stays the same), kept as the plan says.
            let subs = submissions(p, npi: npi, random: &random).filter { s in
                s.instrumentId.hasSuffix("-pre") || s.instrumentId.hasSuffix("-vignette-pre") ? plan.preTest
                    : (s.instrumentId.hasSuffix("-post") || s.instrumentId.hasSuffix("-vignette-post") ? plan.postTest : !plan.sessions.isEmpty)
            }
            let practice = measures(p, npi: npi, random: &random)
            answers.append((p, npi, subs, [], [], plan.practiceData ? practice : []))
            if p.participant, random.chance(c.realism.commitment), !plan.sessions.isEmpty {
                var commitment = Lv_Assessment_V1_Commitment()
                (commitment.commitmentId, commitment.activityId, commitment.npi) = ("\(c.activityID)-cmt-\(p.index)", c.activityID, npi)
                let pick = course.commitments[min(random.chance(0.5) ? 0 : 1, course.commitments.count - 1)]
                (commitment.text, commitment.objectiveId) = (pick.text, pick.objective)
                commitment.category = "prescribing"
                answers[answers.count - 1].3 = [commitment]
                var followUp: Lv_Assessment_V1_FollowUp?
                if random.chance(c.realism.commitmentFollowUpResponse) {
                    var f = Lv_Assessment_V1_FollowUp()
                    let u = random.uniform()
                    f.implementation = u < 0.35 ? .fully : (u < 0.75 ? .partially : .not)
                    if f.implementation != .fully { f.barriers = [["prior authorization", "patient cost", "time", "formulary"][Int(random.uniform() * 4)]] }
                    // 45 days after the course, but never before the commitment, which the
                    // service records now: a series that ended months ago gets its answer now.
                    f.respondedMs = max(course.startMs + 45 * 86_400_000, wallClockMilliseconds() + 60_000)
                    followUp = f
                }
                answers[answers.count - 1].4 = [followUp]
            }
        }
        let work = answers
        try await forEachConcurrently(Array(work.indices), width: 16) { i in
            let (_, _, subs, commitments, followUps, measures) = work[i]
            for s in subs { _ = try await self.assessment.submitResponses(s) }
            for (commitment, followUp) in zip(commitments, followUps) {
                var r = Lv_Assessment_V1_RecordCommitmentRequest()
                (r.requestId, r.commitment) = ("sim-\(commitment.commitmentId)", commitment)
                _ = try await self.assessment.recordCommitment(r)
                if let followUp {
                    var fr = Lv_Assessment_V1_RecordFollowUpRequest()
                    (fr.commitmentId, fr.followUp) = (commitment.commitmentId, followUp)
                    _ = try await self.assessment.recordFollowUp(fr)
                }
            }
            guard !measures.isEmpty else { return }
            var mr = Lv_Assessment_V1_RecordPracticeMeasuresRequest()
            (mr.requestId, mr.measures) = ("sim-measures-\(c.activityID)-\(i)", measures)
            let m = try await self.assessment.recordPracticeMeasures(mr)
            guard m.rejected.isEmpty else { throw RPCError(.internal, "simulated measures rejected: \(m.rejected.first!.description)") }
        }
        let attended = plans.filter { !$0.sessions.isEmpty }.count
        let full = plans.filter { $0.sessions.count == max(1, course.sessions.count) }.count
        let pre = answers.filter { a in a.2.contains { $0.instrumentId.hasSuffix("-pre") } }.count
        let post = answers.filter { a in a.2.contains { $0.instrumentId.hasSuffix("-post") } }.count
        let follow = answers.filter { a in a.0.participant && a.2.contains { $0.instrumentId.contains("-follow-") } }.count
        let practice = answers.filter { !$0.5.isEmpty }.count
        progress("funnel: \(c.participants) participants enrolled, \(attended) attended (\(full) every session), \(plans.filter { $0.claim && !$0.sessions.isEmpty }.count) claimed credit; "
                 + "pre-test \(pre), post-test \(post) of \(physicians.count) learners; follow-up tests \(follow); practice data \(practice)")
        progress("done: \(physicians.count) learners, \(events.count) engagement events")
        return physicians
    }

    func setUpActivity() async throws {
        let c = configuration
        var a = Lv_Registration_V1_Activity()
        (a.activityId, a.title, a.type, a.startDate, a.endDate, a.maxCredits, a.targetMooreLevel) =
            (c.activityID, c.title.isEmpty ? course.title : c.title, course.type, course.startDate, course.endDate,
             course.credits.first?.max ?? 1, course.targetMooreLevel)
        a.objectives = course.objectives.map { id, text in
            var o = Lv_Registration_V1_LearningObjective()
            (o.id, o.text) = (id, text)
            if let desired = course.desired[id] { (o.desiredLevel, o.measureCodes) = (desired.level, desired.measures) }
            return o
        }
        a.planning = course.planning
        var d = Lv_Registration_V1_DesignedToChange()
        (d.competence, d.performance, d.patientOutcomes) = (course.designed.competence, course.designed.performance, course.designed.patientOutcomes)
        a.designedToChange = d
        a.creditOffers = course.credits.map { t, max, uan in
            var o = Lv_Registration_V1_CreditOffer()
            (o.type, o.maxAmount, o.acpeUan) = (t, max, uan)
            return o
        }
        a.moc = course.moc.map { board, points, passing in
            var m = Lv_Registration_V1_MocOffer()
            (m.board, m.points, m.passingScore) = (board, points, passing)
            return m
        }
        var r = Lv_Registration_V1_CreateActivityRequest()
        (r.requestId, r.activity) = ("sim-activity-\(c.activityID)", a)
        _ = try await registration.createActivity(r)
        for (i, plan) in course.sessions.enumerated() {
            var s = Lv_Registration_V1_Session()
            (s.sessionId, s.activityId, s.title) = (sessionID(i), c.activityID, plan.title)
            let start = sessionStarts[i]
            (s.startMs, s.endMs, s.objectiveIds) = (start, start + Int64(plan.minutes) * 60_000, plan.objectives)
            var sr = Lv_Registration_V1_AddSessionRequest()
            (sr.requestId, sr.session) = ("sim-session-\(s.sessionId)", s)
            _ = try await registration.addSession(sr)
        }
    }

    /// The learner's registration: a function of index and profession only (the same in every simulation).
    static func learner(_ index: Int, npi: String, _ profession: Profession) -> Lv_Registration_V1_Physician {
        var ph = Lv_Registration_V1_Physician()
        ph.npi = npi
        ph.profession = profession
        ph.givenName = ["Ada", "Grace", "Lin", "Omar", "Priya", "Tomás", "Yuki", "Zoë", "Kwame", "Ines"][index % 10]
        ph.familyName = "Sim\(index)"
        ph.birthMonth = UInt32(index % 12 + 1)
        ph.birthDay = UInt32(index % 28 + 1)
        // Nine in ten agree to be reported to PARS and their boards.
        ph.parsConsent = index % 10 != 7
        var l = Lv_Registration_V1_Licence()
        switch profession {
        case .nurse:
            ph.specialty = index % 2 == 0 ? "Emergency Nursing" : "Critical Care Nursing"
            (l.state, l.number) = ("NY", "RN\(500_000 + index)")
        case .pharmacist:
            ph.specialty = "Hospital Pharmacy"
            ph.nabpEprofileId = "\(1_000_000 + index)"
            (l.state, l.number) = ("PA", "RP\(400_000 + index)")
        default:
            ph.specialty = index % 3 == 0 ? "Cardiology" : "Internal Medicine"
            var b = Lv_Registration_V1_BoardId()
            (b.board, b.id) = ("ABIM", "\(100_000 + index)")
            ph.boardIds = [b]
            (l.state, l.number) = ("MA", "MD\(200_000 + index)")
        }
        ph.licences = [l]
        return ph
    }

    /// The credit type a learner of `profession` claims from the course's offers.
    static func creditType(_ profession: Profession, _ course: Course) -> (CreditType, Double)? {
        let preferred: CreditType = switch profession {
        case .nurse: .ancc
        case .pharmacist: .acpe
        default: .amaPraCategory1
        }
        let offered = course.credits
        if let o = offered.first(where: { $0.type == preferred }) { return (o.type, o.max) }
        if let o = offered.first(where: { $0.type == .ipce }) { return (o.type, o.max) }
        return nil
    }

    /// Registers and enrolls the learner; participants attend and claim as planned. True when credit was claimed.
    func registerAndAttend(_ p: SimulatedPhysician, npi: String, plan: Plan) async throws -> Bool {
        let c = configuration
        var r = Lv_Registration_V1_RegisterPhysicianRequest()
        (r.requestId, r.physician) = ("sim-reg-\(npi)", Self.learner(p.index, npi: npi, plan.profession))
        _ = try await registration.registerPhysician(r)
        var e = Lv_Registration_V1_EnrollRequest()
        (e.requestId, e.activityId, e.npi, e.cohort) = ("sim-enr-\(c.activityID)-\(npi)", c.activityID, npi, p.participant ? .participant : .comparison)
        _ = try await registration.enroll(e)
        guard p.participant, !plan.sessions.isEmpty else { return false }
        var minutes = 0
        for (k, i) in plan.sessions.enumerated() where i < course.sessions.count {
            let start = sessionStarts[i], length = course.sessions[i].minutes
            let checkIn = start + Int64(k == 0 ? min(p.lateMinutes, length - 10) : 0) * 60_000
            let checkOut = max(checkIn + 5 * 60_000, start + Int64(length - (k == plan.sessions.count - 1 ? min(p.earlyLeaveMinutes, length - 10) : 0)) * 60_000)
            var ci = Lv_Registration_V1_CheckInRequest()
            (ci.npi, ci.sessionId, ci.atMs) = (npi, sessionID(i), checkIn)
            _ = try await registration.checkIn(ci)
            var co = Lv_Registration_V1_CheckOutRequest()
            (co.npi, co.sessionId, co.atMs) = (npi, sessionID(i), checkOut)
            minutes += Int(try await registration.checkOut(co).sessionMinutes)
        }
        guard plan.claim, let offer = Self.creditType(plan.profession, course) else { return false }
        let (type, maximum) = offer
        let supported = course.sessions.isEmpty ? maximum : min(maximum, CreditRules.earned(minutes: minutes))
        let credits = supported - Double(plan.shortfallQuarters) * CreditRules.step
        guard credits > 0 else { return false }
        let end = course.sessions.isEmpty ? course.startMs : sessionStarts[plan.sessions.last!] + Int64(course.sessions[plan.sessions.last!].minutes) * 60_000
        var claim = Lv_Registration_V1_ClaimCreditRequest()
        (claim.requestId, claim.activityId, claim.npi, claim.credits, claim.claimedMs, claim.creditType) =
            ("sim-credit-\(c.activityID)-\(npi)", c.activityID, npi, credits, end + 3_600_000, type)
        _ = try await registration.claimCredit(claim)
        return true
    }

    func engagementEvents(_ p: SimulatedPhysician, npi: String, attended: [Int], random: inout SeededRandom) -> [Lv_Engagement_V1_Event] {
        let c = configuration
        var events: [Lv_Engagement_V1_Event] = []
        var n = 0
        func add(_ verb: Lv_Engagement_V1_Verb, _ at: Int64, session: Int, object: String = "", build: (inout Lv_Engagement_V1_Result) -> Void = { _ in }) {
            var e = Lv_Engagement_V1_Event()
            n += 1
            e.eventId = "\(c.activityID)-\(p.index)-\(n)"
            (e.npi, e.verb, e.activityId, e.sessionId, e.objectId, e.timestampMs) =
                (npi, verb, c.activityID, session < 0 ? "" : sessionID(session), object, at)
            var r = Lv_Engagement_V1_Result()
            build(&r)
            if r != Lv_Engagement_V1_Result() { e.result = r }
            events.append(e)
        }
        guard !course.sessions.isEmpty else {
            // Enduring material: played, paused part-way by the less engaged, rated.
            add(.played, course.startMs, session: -1, object: "\(c.activityID)-video")
            if random.chance(1 - p.engagement) { add(.paused, course.startMs + 20 * 60_000, session: -1, object: "\(c.activityID)-video") }
            if random.chance(0.4 + 0.4 * p.engagement) {
                let rating = UInt32(max(1, min(5, (3.6 + 1.2 * p.engagement + 0.6 * random.normal()).rounded())))
                add(.rated, course.startMs + 60 * 60_000, session: -1) { $0.rating = rating }
            }
            return events
        }
        for (k, i) in attended.enumerated() {
            let start = sessionStarts[i], length = course.sessions[i].minutes
            let from = start + Int64(k == 0 ? min(p.lateMinutes, length - 10) : 0) * 60_000
            let to = max(from + 5 * 60_000, start + Int64(length - (k == attended.count - 1 ? min(p.earlyLeaveMinutes, length - 10) : 0)) * 60_000)
            var t = from + 60_000
            while t <= to { add(.heartbeat, t, session: i); t += 60_000 }
            if random.chance(0.5 * (1 - p.engagement)) {
                let away = from + Int64(random.uniform() * Double(to - from) * 0.7)
                add(.unfocused, away, session: i)
                add(.focused, away + Int64(2 + random.uniform() * 10) * 60_000, session: i)
            }
            for poll in ["poll-\(2 * i + 1)", "poll-\(2 * i + 2)"] where random.chance(0.3 + 0.65 * p.engagement) {
                add(.answered, from + Int64(10 + random.uniform() * 40) * 60_000, session: i, object: poll) { $0.response = "B" }
            }
            if random.chance(0.35 * p.engagement) {
                let question = course.questions.isEmpty ? "" : course.questions[i % course.questions.count]
                if !question.isEmpty { add(.asked, from + 45 * 60_000, session: i) { $0.response = question } }
            }
        }
        if random.chance(0.4 + 0.4 * p.engagement) {
            let rating = UInt32(max(1, min(5, (3.6 + 1.2 * p.engagement + 0.6 * random.normal()).rounded())))
            let last = attended.last!
            add(.rated, sessionStarts[last] + Int64(course.sessions[last].minutes - 1) * 60_000, session: last) { $0.rating = rating }
        }
        return events
    }

    func createInstruments() async throws {
        let c = configuration
        func item(_ spec: Course.Item) -> Lv_Assessment_V1_Item {
            var i = Lv_Assessment_V1_Item()
            (i.itemId, i.type, i.stem, i.procedural) = (spec.id, .multipleChoice, spec.stem, spec.procedural)
            if spec.objective.isEmpty { i.control = true } else { i.objectiveId = spec.objective }
            (i.options, i.key) = (["A", "B", "C", "D"], 1)
            return i
        }
        var vignette = Lv_Assessment_V1_Item()
        (vignette.itemId, vignette.type, vignette.objectiveId) = ("case-1", .vignetteCriteria, course.vignette.objective)
        (vignette.stem, vignette.criteria) = (course.vignette.stem, course.vignette.criteria)
        var likert = Lv_Assessment_V1_Item()
        (likert.itemId, likert.type, likert.likertPoints) = ("eval-1", .likert, 5)
        let specs: [(String, Lv_Assessment_V1_InstrumentKind, Lv_Assessment_V1_Phase, UInt32, [Lv_Assessment_V1_Item])] = [
            ("pre", .preTest, .pre, 0, course.items.map(item)),
            ("post", .postTest, .post, 0, course.items.map(item)),
            ("follow-7", .followUp, .followUp, 7, course.items.map(item)),
            ("follow-60", .followUp, .followUp, 60, course.items.map(item)),
            ("vignette-pre", .caseVignette, .pre, 0, [vignette]),
            ("vignette-post", .caseVignette, .post, 0, [vignette]),
            ("evaluation", .evaluation, .post, 0, [likert]),
        ]
        for (suffix, kind, phase, days, items) in specs {
            var i = Lv_Assessment_V1_Instrument()
            (i.instrumentId, i.activityId, i.kind, i.phase, i.followUpDays, i.title, i.items, i.collectConfidence) =
                ("\(c.activityID)-\(suffix)", c.activityID, kind, phase, days, suffix, items, kind == .preTest || kind == .postTest)
            var r = Lv_Assessment_V1_CreateInstrumentRequest()
            (r.requestId, r.instrument) = ("sim-instrument-\(i.instrumentId)", i)
            _ = try await assessment.createInstrument(r)
        }
    }

    func submissions(_ p: SimulatedPhysician, npi: String, random: inout SeededRandom) -> [Lv_Assessment_V1_SubmitResponsesRequest] {
        let c = configuration
        func test(_ suffix: String, retained: Double, drift: Double, confidence: Bool) -> Lv_Assessment_V1_SubmitResponsesRequest {
            var r = Lv_Assessment_V1_SubmitResponsesRequest()
            (r.submissionId, r.instrumentId, r.npi) = ("\(c.activityID)-\(suffix)-\(npi)", "\(c.activityID)-\(suffix)", npi)
            r.answers = course.items.map { item in
                let right = random.chance(p.pCorrect(difficulty: item.difficulty, taught: !item.objective.isEmpty, retained: retained, drift: drift))
                var a = Lv_Assessment_V1_Answer()
                a.itemId = item.id
                a.value = .choice(right ? 1 : UInt32(random.uniform() < 0.5 ? 0 : 2))
                if confidence { a.confidence = UInt32(max(1, min(5, (3 + p.ability + (right ? 0.5 : 0) + random.normal()).rounded()))) }
                return a
            }
            return r
        }
        func vignette(_ suffix: String, gain: Double) -> Lv_Assessment_V1_SubmitResponsesRequest {
            var r = Lv_Assessment_V1_SubmitResponsesRequest()
            (r.submissionId, r.instrumentId, r.npi) = ("\(c.activityID)-\(suffix)-\(npi)", "\(c.activityID)-\(suffix)", npi)
            var met = Lv_Assessment_V1_CriteriaMet()
            let criteria: [Int] = Array(0..<course.vignette.criteria.count)
            let kept: [Int] = criteria.filter { (k: Int) -> Bool in random.chance(logistic(p.ability - 0.3 * Double(k) + gain)) }
            met.met = kept.map { UInt32($0) }
            var a = Lv_Assessment_V1_Answer()
            (a.itemId, a.value) = ("case-1", .criteria(met))
            r.answers = [a]
            return r
        }
        var out = [test("pre", retained: 0, drift: 0, confidence: true), test("post", retained: 1, drift: 0.1, confidence: true),
                   vignette("vignette-pre", gain: 0), vignette("vignette-post", gain: 0.8 * p.learning)]
        guard p.participant else { return out }
        if random.chance(configuration.realism.followUp7Response) { out.append(test("follow-7", retained: 0.5, drift: 0.1, confidence: false)) }
        if random.chance(configuration.realism.followUp60Response) { out.append(test("follow-60", retained: 0.1, drift: 0.1, confidence: false)) }
        if random.chance(configuration.realism.evaluation) {
            var r = Lv_Assessment_V1_SubmitResponsesRequest()
            (r.submissionId, r.instrumentId, r.npi) = ("\(c.activityID)-evaluation-\(npi)", "\(c.activityID)-evaluation", npi)
            var a = Lv_Assessment_V1_Answer()
            (a.itemId, a.value) = ("eval-1", .likert(UInt32(max(1, min(5, (4.1 + 0.7 * random.normal()).rounded())))))
            r.answers = [a]
            out.append(r)
        }
        return out
    }

    func measures(_ p: SimulatedPhysician, npi: String, random: inout SeededRandom) -> [Lv_Assessment_V1_PracticeMeasure] {
        let c = configuration
        var out: [Lv_Assessment_V1_PracticeMeasure] = []
        // A prescribing measure moves for physicians who learned; the readmission rate does not:
        // a two-hour course has no plausible effect on 30-day readmissions, so its true effect is
        // 0 and both cohorts share the same +1-point secular trend.
        for (code, baseRate, effect, outcome) in course.measures.map({ ($0.code, $0.baseRate, $0.effect, $0.patientOutcome) }) {
            let base = min(0.95, max(0.02, baseRate + 0.08 * random.normal()))
            // Practice follows the activity's teaching only for physicians who learned: the effect
            // scales with the course's learning effect and with the physician's own learning.
            let taught = min(1, p.learning) * min(1, configuration.learningEffect / 1.1)
            let follow = min(0.98, max(0.02, base + 0.01 + (p.participant ? effect * taught : 0) + 0.05 * random.normal()))
            for (phase, rate, start, end) in [(Lv_Assessment_V1_MeasurePhase.baseline, base, "2026-06-01", "2026-08-31"),
                                              (.followUp, follow, "2027-01-01", "2027-03-31")] {
                var m = Lv_Assessment_V1_PracticeMeasure()
                let den = UInt32(15 + Int(random.uniform() * 20))
                (m.npi, m.activityId, m.measureCode, m.periodStart, m.periodEnd) = (npi, c.activityID, code, start, end)
                (m.denominator, m.numerator) = (den, UInt32((Double(den) * rate).rounded()))
                (m.source, m.phase, m.patientOutcome) = (outcome ? .registry : .ehr, phase, outcome)
                out.append(m)
            }
        }
        return out
    }
}

/// Runs `body` for each element with at most `width` running at once.
func forEachConcurrently<T: Sendable>(_ items: [T], width: Int, _ body: @escaping @Sendable (T) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var iterator = items.makeIterator()
        for _ in 0..<width {
            guard let next = iterator.next() else { break }
            group.addTask { try await body(next) }
        }
        while try await group.next() != nil {
            if let next = iterator.next() { group.addTask { try await body(next) } }
        }
    }
}
