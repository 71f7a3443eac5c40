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
        public var title = "Heart failure 2026: guideline-directed therapy in practice"
        public var participants = 120
        public var comparison = 40
        public var seed: UInt64 = 2026
        /// Mean logit gain the activity gives participants on taught items (1.1 ≈ a good course; 0.1 ≈ little learning).
        public var learningEffect = 1.1
        /// Activity start (first session), Unix ms. Default 2026-11-26T14:00Z.
        public var startMs: Int64 = 1_795_701_600_000
        public init() {}
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

    static let objectives = [("obj-gdmt", "Start all four pillars of GDMT in HFrEF"), ("obj-sglt2", "Prescribe SGLT2 inhibitors in HFpEF")]
    /// Items: (id, objective or "" for control, difficulty, procedural).
    static let items: [(String, String, Double, Bool)] = [
        ("q1", "obj-gdmt", 0.2, false), ("q2", "obj-gdmt", 0.8, false), ("q3", "obj-gdmt", 0.5, true), ("q4", "obj-gdmt", 1.2, true),
        ("q5", "obj-sglt2", 0.4, false), ("q6", "obj-sglt2", 1.0, false), ("q7", "obj-sglt2", 0.6, true), ("q8", "obj-sglt2", 1.4, false),
        ("c1", "", 0.3, false), ("c2", "", 0.9, false),
    ]

    /// Physician n of every simulation has the same NPI, so simulated activities share physicians
    /// and their transcripts show several activities.
    public static func npi(_ n: Int) -> String {
        let nine = String(800_000_000 + n).utf8.map { Int($0) - 48 }
        return nine.map(String.init).joined() + String(NPI.checkDigit(firstNine: nine))
    }

    public var npis: [String] { (0..<(configuration.participants + configuration.comparison)).map(Self.npi) }

    /// Runs the whole activity; returns the physicians simulated (participants first).
    @discardableResult
    public func run() async throws -> [SimulatedPhysician] {
        var random = SeededRandom(seed: configuration.seed)
        let c = configuration
        let physicians = (0..<(c.participants + c.comparison)).map {
            SimulatedPhysician(index: $0, participant: $0 < c.participants, learningEffect: c.learningEffect, random: &random)
        }
        let npis = self.npis
        let s1 = c.startMs, s2 = c.startMs + 3_600_000
        progress("registration: activity, \(physicians.count) physicians, enrollment, attendance, credit")
        try await setUpActivity()
        try await forEachConcurrently(physicians, width: 16) { p in try await self.registerAndAttend(p, npi: npis[p.index], sessions: [s1, s2]) }

        progress("engagement: events from \(c.participants) participants")
        for poll in ["poll-1", "poll-2", "poll-3", "poll-4"] {
            var r = Lv_Engagement_V1_DefinePollRequest()
            (r.activityId, r.sessionId, r.pollId, r.question) = (c.activityID, poll <= "poll-2" ? "s1" : "s2", poll, "Poll \(poll)")
            _ = try await engagement.definePoll(r)
        }
        var events: [Lv_Engagement_V1_Event] = []
        for p in physicians where p.participant { events += engagementEvents(p, npi: npis[p.index], sessions: [s1, s2], random: &random) }
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
            answers.append((p, npi, submissions(p, npi: npi, random: &random), [], [], measures(p, npi: npi, random: &random)))
            if p.participant, random.chance(0.6) {
                var commitment = Lv_Assessment_V1_Commitment()
                (commitment.commitmentId, commitment.activityId, commitment.npi) = ("\(c.activityID)-cmt-\(p.index)", c.activityID, npi)
                commitment.text = random.chance(0.5) ? "Start an SGLT2 inhibitor in eligible HFpEF patients" : "Titrate GDMT at every visit"
                commitment.objectiveId = commitment.text.contains("SGLT2") ? "obj-sglt2" : "obj-gdmt"
                commitment.category = "prescribing"
                answers[answers.count - 1].3 = [commitment]
                var followUp: Lv_Assessment_V1_FollowUp?
                if random.chance(0.7) {
                    var f = Lv_Assessment_V1_FollowUp()
                    let u = random.uniform()
                    f.implementation = u < 0.35 ? .fully : (u < 0.75 ? .partially : .not)
                    if f.implementation != .fully { f.barriers = [["prior authorization", "patient cost", "time", "formulary"][Int(random.uniform() * 4)]] }
                    f.respondedMs = c.startMs + 45 * 86_400_000
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
            var mr = Lv_Assessment_V1_RecordPracticeMeasuresRequest()
            (mr.requestId, mr.measures) = ("sim-measures-\(c.activityID)-\(i)", measures)
            let m = try await self.assessment.recordPracticeMeasures(mr)
            guard m.rejected.isEmpty else { throw RPCError(.internal, "simulated measures rejected: \(m.rejected.first!.description)") }
        }
        progress("done: \(physicians.count) physicians, \(events.count) engagement events")
        return physicians
    }

    func setUpActivity() async throws {
        let c = configuration
        var a = Lv_Registration_V1_Activity()
        (a.activityId, a.title, a.type, a.startDate, a.endDate, a.maxCredits, a.targetMooreLevel) =
            (c.activityID, c.title, .internetLiveCourse, "2026-11-26", "2026-11-26", 2.0, 5)
        a.objectives = Self.objectives.map { id, text in
            var o = Lv_Registration_V1_LearningObjective()
            (o.id, o.text) = (id, text)
            return o
        }
        var d = Lv_Registration_V1_DesignedToChange()
        (d.competence, d.performance) = (true, true)
        a.designedToChange = d
        var r = Lv_Registration_V1_CreateActivityRequest()
        (r.requestId, r.activity) = ("sim-activity-\(c.activityID)", a)
        _ = try await registration.createActivity(r)
        for (i, objective) in ["obj-gdmt", "obj-sglt2"].enumerated() {
            var s = Lv_Registration_V1_Session()
            (s.sessionId, s.activityId, s.title) = ("s\(i + 1)", c.activityID, i == 0 ? "GDMT in practice" : "HFpEF after the trials")
            s.sessionId = "\(c.activityID)-s\(i + 1)"
            (s.startMs, s.endMs, s.objectiveIds) = (c.startMs + Int64(i) * 3_600_000, c.startMs + Int64(i + 1) * 3_600_000, [objective])
            var sr = Lv_Registration_V1_AddSessionRequest()
            (sr.requestId, sr.session) = ("sim-session-\(s.sessionId)", s)
            _ = try await registration.addSession(sr)
        }
    }

    func registerAndAttend(_ p: SimulatedPhysician, npi: String, sessions: [Int64]) async throws {
        let c = configuration
        var ph = Lv_Registration_V1_Physician()
        ph.npi = npi
        ph.givenName = ["Ada", "Grace", "Lin", "Omar", "Priya", "Tomás", "Yuki", "Zoë", "Kwame", "Ines"][p.index % 10]
        ph.familyName = "Sim\(p.index)"
        ph.specialty = p.index % 3 == 0 ? "Cardiology" : "Internal Medicine"
        ph.birthMonth = UInt32(p.index % 12 + 1)
        ph.birthDay = UInt32(p.index % 28 + 1)
        var b = Lv_Registration_V1_BoardId()
        (b.board, b.id) = ("ABIM", "\(100_000 + p.index)")
        ph.boardIds = [b]
        var r = Lv_Registration_V1_RegisterPhysicianRequest()
        (r.requestId, r.physician) = ("sim-reg-\(npi)", ph)
        _ = try await registration.registerPhysician(r)
        var e = Lv_Registration_V1_EnrollRequest()
        (e.requestId, e.activityId, e.npi, e.cohort) = ("sim-enr-\(c.activityID)-\(npi)", c.activityID, npi, p.participant ? .participant : .comparison)
        _ = try await registration.enroll(e)
        guard p.participant else { return }
        var minutes = 0
        for (i, start) in sessions.enumerated() {
            let sessionID = "\(c.activityID)-s\(i + 1)"
            let checkIn = start + Int64(i == 0 ? p.lateMinutes : 0) * 60_000
            let checkOut = start + Int64(60 - (i == sessions.count - 1 ? p.earlyLeaveMinutes : 0)) * 60_000
            var ci = Lv_Registration_V1_CheckInRequest()
            (ci.npi, ci.sessionId, ci.atMs) = (npi, sessionID, checkIn)
            _ = try await registration.checkIn(ci)
            var co = Lv_Registration_V1_CheckOutRequest()
            (co.npi, co.sessionId, co.atMs) = (npi, sessionID, checkOut)
            minutes += Int(try await registration.checkOut(co).sessionMinutes)
        }
        let credits = min(2.0, CreditRules.earned(minutes: minutes))
        guard credits > 0 else { return }
        var claim = Lv_Registration_V1_ClaimCreditRequest()
        (claim.requestId, claim.activityId, claim.npi, claim.credits, claim.claimedMs) = ("sim-credit-\(c.activityID)-\(npi)", c.activityID, npi, credits, sessions.last! + 3_600_000)
        _ = try await registration.claimCredit(claim)
    }

    func engagementEvents(_ p: SimulatedPhysician, npi: String, sessions: [Int64], random: inout SeededRandom) -> [Lv_Engagement_V1_Event] {
        let c = configuration
        var events: [Lv_Engagement_V1_Event] = []
        var n = 0
        func add(_ verb: Lv_Engagement_V1_Verb, _ at: Int64, session: Int, object: String = "", build: (inout Lv_Engagement_V1_Result) -> Void = { _ in }) {
            var e = Lv_Engagement_V1_Event()
            n += 1
            e.eventId = "\(c.activityID)-\(p.index)-\(n)"
            (e.npi, e.verb, e.activityId, e.sessionId, e.objectId, e.timestampMs) = (npi, verb, c.activityID, "\(c.activityID)-s\(session + 1)", object, at)
            var r = Lv_Engagement_V1_Result()
            build(&r)
            if r != Lv_Engagement_V1_Result() { e.result = r }
            events.append(e)
        }
        for (i, start) in sessions.enumerated() {
            let from = start + Int64(i == 0 ? p.lateMinutes : 0) * 60_000
            let to = start + Int64(60 - (i == sessions.count - 1 ? p.earlyLeaveMinutes : 0)) * 60_000
            var t = from + 60_000
            while t <= to { add(.heartbeat, t, session: i); t += 60_000 }
            if random.chance(0.5 * (1 - p.engagement)) {
                let away = from + Int64(random.uniform() * Double(to - from) * 0.7)
                add(.unfocused, away, session: i)
                add(.focused, away + Int64(2 + random.uniform() * 10) * 60_000, session: i)
            }
            for poll in i == 0 ? ["poll-1", "poll-2"] : ["poll-3", "poll-4"] where random.chance(0.3 + 0.65 * p.engagement) {
                add(.answered, from + Int64(10 + random.uniform() * 40) * 60_000, session: i, object: poll) { $0.response = "B" }
            }
            if random.chance(0.35 * p.engagement) {
                add(.asked, from + 45 * 60_000, session: i) { $0.response = "How do I start GDMT at low blood pressure?" }
            }
        }
        if random.chance(0.4 + 0.4 * p.engagement) {
            let rating = UInt32(max(1, min(5, (3.6 + 1.2 * p.engagement + 0.6 * random.normal()).rounded())))
            add(.rated, sessions.last! + 59 * 60_000, session: 1) { $0.rating = rating }
        }
        return events
    }

    func createInstruments() async throws {
        let c = configuration
        func item(_ spec: (String, String, Double, Bool)) -> Lv_Assessment_V1_Item {
            var i = Lv_Assessment_V1_Item()
            (i.itemId, i.type, i.stem, i.procedural) = (spec.0, .multipleChoice, "Item \(spec.0)", spec.3)
            if spec.1.isEmpty { i.control = true } else { i.objectiveId = spec.1 }
            (i.options, i.key) = (["A", "B", "C", "D"], 1)
            return i
        }
        var vignette = Lv_Assessment_V1_Item()
        (vignette.itemId, vignette.type, vignette.objectiveId) = ("case-1", .vignetteCriteria, "obj-gdmt")
        vignette.stem = "68-year-old with HFrEF (EF 30%), BP 112/70, eGFR 48: what do you do at this visit?"
        vignette.criteria = ["start ARNI", "start SGLT2i", "continue beta-blocker", "add MRA with potassium check", "plan titration in 2 weeks"]
        var likert = Lv_Assessment_V1_Item()
        (likert.itemId, likert.type, likert.likertPoints) = ("eval-1", .likert, 5)
        let specs: [(String, Lv_Assessment_V1_InstrumentKind, Lv_Assessment_V1_Phase, UInt32, [Lv_Assessment_V1_Item])] = [
            ("pre", .preTest, .pre, 0, Self.items.map(item)),
            ("post", .postTest, .post, 0, Self.items.map(item)),
            ("follow-7", .followUp, .followUp, 7, Self.items.map(item)),
            ("follow-60", .followUp, .followUp, 60, Self.items.map(item)),
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
            r.answers = Self.items.map { id, objective, difficulty, _ in
                let right = random.chance(p.pCorrect(difficulty: difficulty, taught: !objective.isEmpty, retained: retained, drift: drift))
                var a = Lv_Assessment_V1_Answer()
                a.itemId = id
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
            met.met = (0..<5).filter { k in random.chance(logistic(p.ability - 0.3 * Double(k) + gain)) }.map(UInt32.init)
            var a = Lv_Assessment_V1_Answer()
            (a.itemId, a.value) = ("case-1", .criteria(met))
            r.answers = [a]
            return r
        }
        var out = [test("pre", retained: 0, drift: 0, confidence: true), test("post", retained: 1, drift: 0.1, confidence: true),
                   vignette("vignette-pre", gain: 0), vignette("vignette-post", gain: 0.8 * p.learning)]
        guard p.participant else { return out }
        if random.chance(0.75) { out.append(test("follow-7", retained: 0.5, drift: 0.1, confidence: false)) }
        if random.chance(0.55) { out.append(test("follow-60", retained: 0.1, drift: 0.1, confidence: false)) }
        if random.chance(0.8) {
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
        for (code, baseRate, effect, outcome) in [("HF-SGLT2-RX", 0.30, 0.12, false), ("HF-READMIT-30D-FREE", 0.78, 0.0, true)] {
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
