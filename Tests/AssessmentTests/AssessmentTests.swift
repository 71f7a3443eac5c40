import LVStoreTestSupport
import Assessment
import AssessmentDomain
import Foundation
import Logging
import LVDomain
import LVMessages
import LVRPC
import LVStore
import LVTestSupport
import Testing

func npi(_ n: Int) -> String {
    let nine = String(format: "%09d", 600_000_000 + n).utf8.map { Int($0) - 48 }
    return nine.map(String.init).joined() + String(NPI.checkDigit(firstNine: nine))
}

func mc(_ id: String, objective: String = "obj-1", control: Bool = false, key: UInt32 = 1) -> Item {
    var i = Item()
    i.itemId = id
    i.type = .multipleChoice
    i.stem = "Question \(id)"
    i.objectiveId = control ? "" : objective
    i.control = control
    i.options = ["A", "B", "C", "D"]
    i.key = key
    return i
}

func instrument(_ id: String, _ kind: InstrumentKind, items: [Item], phase: Phase = .unspecified, days: UInt32 = 0) -> Instrument {
    var i = Instrument()
    i.instrumentId = id
    i.activityId = "act-1"
    i.kind = kind
    i.phase = phase
    i.followUpDays = days
    i.title = id
    i.items = items
    i.collectConfidence = true
    return i
}

func choice(_ item: String, _ c: UInt32, confidence: UInt32 = 0) -> Answer {
    var a = Answer()
    a.itemId = item
    a.value = .choice(c)
    a.confidence = confidence
    return a
}

@Suite("scoring")
struct ScoringTests {
    @Test("multiple choice, true/false and vignette criteria scores; control items apart (Likert: ScoringRuleTests)")
    func scores() throws {
        var tf = Item()
        (tf.itemId, tf.type, tf.objectiveId, tf.trueKey) = ("tf", .trueFalse, "obj-2", true)
        var vig = Item()
        (vig.itemId, vig.type, vig.objectiveId, vig.criteria) = ("vig", .vignetteCriteria, "obj-2", ["a", "b", "c", "d"])
        let test = instrument("t", .postTest, items: [mc("q1"), mc("q2"), tf, vig, mc("ctl", control: true)])
        var t = Answer()
        (t.itemId, t.value) = ("tf", .truth(true))
        var v = Answer()
        var met = Lv_Assessment_V1_CriteriaMet()
        met.met = [0, 2, 3]
        (v.itemId, v.value) = ("vig", .criteria(met))
        let s = try Scoring.score(test, answers: [choice("q1", 1), choice("q2", 0), t, v, choice("ctl", 1)])
        #expect(s.items.map(\.score) == [1, 0, 1, 0.75, 1])
        #expect(s.objectives.map(\.objectiveId) == ["obj-1", "obj-2"])
        #expect(s.objectives.map(\.score) == [0.5, 0.875])
        #expect(s.total == (1 + 0 + 1 + 0.75) / 4)
        #expect(s.hasControl && s.control == 1)
        #expect(s.phase == .post)
    }

    @Test("unanswered items count as wrong")
    func unanswered() throws {
        let s = try Scoring.score(instrument("t", .preTest, items: [mc("q1"), mc("q2")]), answers: [choice("q1", 1)])
        #expect(s.total == 0.5)
        #expect(s.items.map(\.answered) == [true, false])
    }

    @Test("confidence puts each answer in a quadrant")
    func quadrants() throws {
        let test = instrument("t", .postTest, items: [mc("a"), mc("b"), mc("c"), mc("d"), mc("e")])
        let s = try Scoring.score(test, answers: [choice("a", 1, confidence: 5), choice("b", 1, confidence: 2), choice("c", 0, confidence: 1),
                                                  choice("d", 0, confidence: 4), choice("e", 1)])
        #expect(s.items.map(\.quadrant) == [.mastery, .doubt, .uninformed, .misinformation, .unspecified])
    }

    @Test("an unknown item, a wrong answer type or a duplicate item is INVALID_ARGUMENT naming the answer", arguments: [
        ("unknown-item", "answers[0].item_id"), ("answer-type", "answers[0]"), ("duplicate-item", "answers[1].item_id"), ("range", "answers[0].confidence"),
    ])
    func badAnswers(rule: String, field: String) async {
        let test = instrument("t", .postTest, items: [mc("q1")])
        var answers: [Answer]
        switch rule {
        case "unknown-item": answers = [choice("nope", 1)]
        case "answer-type":
            var a = Answer()
            (a.itemId, a.value) = ("q1", .truth(true))
            answers = [a]
        case "duplicate-item": answers = [choice("q1", 1), choice("q1", 2)]
        default: answers = [choice("q1", 1, confidence: 6)]
        }
        do {
            guard let e = await wireError({ _ = try Scoring.score(test, answers: answers) }) else { Issue.record("accepted"); return }
            #expect(e.code == .invalidArgument)
            #expect(e.violations.first?.field.hasPrefix(field) == true, "\(e)")
            #expect(e.violations.first?.rule == rule)
        }
    }

    @Test("instrument rules: objective or control, follow-up delay, vignette phase, Likert only on evaluations")
    func instrumentRules() {
        var both = mc("x")
        both.control = true
        var likert = Item()
        (likert.itemId, likert.type, likert.likertPoints) = ("l", .likert, 5)
        var v = Violations()
        InstrumentRules.validate(instrument("t", .followUp, items: [both, likert]), objectives: ["obj-1"], &v)
        InstrumentRules.validate(instrument("v", .caseVignette, items: [mc("y", objective: "obj-9")]), objectives: ["obj-1"], &v)
        let got = Set(v.list.map { "\($0.field)/\($0.rule)" })
        for expected in ["instrument.follow_up_days/required", "instrument.items[0].objective_id/objective-or-control",
                         "instrument.items[1].type/kind", "instrument.phase/required", "instrument.items[0].objective_id/unknown-objective"] {
            #expect(got.contains(expected), "missing \(expected) in \(got)")
        }
    }

    @Test("item pairs join pre with post and post with follow-up by item id")
    func pairs() throws {
        let pre = try Scoring.score(instrument("pre", .preTest, items: [mc("q1"), mc("q2"), mc("c", control: true)]),
                                    answers: [choice("q1", 0), choice("q2", 1), choice("c", 0)])
        let post = try Scoring.score(instrument("post", .postTest, items: [mc("q1"), mc("q2"), mc("c", control: true)]),
                                     answers: [choice("q1", 1), choice("q2", 1), choice("c", 1)])
        let follow = try Scoring.score(instrument("f30", .followUp, items: [mc("q1")], days: 30), answers: [choice("q1", 0)])
        let p = OutcomeAssembly.pairs([pre, post, follow])
        #expect(p.map { "\($0.itemId):\($0.fromPhase.protoName)>\($0.toPhase.protoName):\($0.beforeCorrect)>\($0.afterCorrect)" } == [
            "c:PHASE_PRE>PHASE_POST:false>true", "q1:PHASE_PRE>PHASE_POST:false>true", "q2:PHASE_PRE>PHASE_POST:true>true",
            "q1:PHASE_POST>PHASE_FOLLOW_UP:true>false",
        ])
        #expect(p.first { $0.itemId == "c" }?.control == true)
        #expect(p.last?.followUpDays == 30)
    }
}

@Suite("assessment service on a real SQLite file")
struct AssessmentServiceTests {
    let context = ServerContext.test

    func service() throws -> AssessmentService {
        return AssessmentService(store: try AssessmentStore(backend: TestDatabase.backend(path: temporaryStorePath("asm", file: "a.sqlite"))), clock: { 1_795_701_600_000 })
    }

    func create(_ s: AssessmentService, _ i: Instrument, id: String) async throws -> Lv_Assessment_V1_CreateInstrumentResponse {
        var r = Lv_Assessment_V1_CreateInstrumentRequest()
        r.requestId = id
        r.instrument = i
        return try await s.createInstrument(r, context: context)
    }

    func submit(_ s: AssessmentService, _ id: String, _ instrumentID: String, npi: String, _ answers: [Answer]) async throws -> Lv_Assessment_V1_SubmitResponsesResponse {
        var r = Lv_Assessment_V1_SubmitResponsesRequest()
        (r.submissionId, r.instrumentId, r.npi, r.answers) = (id, instrumentID, npi, answers)
        return try await s.submitResponses(r, context: context)
    }

    @Test("changing an instrument: in place before responses, a new version after; stored scores keep theirs")
    func versioning() async throws {
        let s = try service()
        #expect(try await create(s, instrument("post", .postTest, items: [mc("q1")]), id: "c1").instrument?.version == 1)
        // No responses yet: replaced in place.
        let replaced = try await create(s, instrument("post", .postTest, items: [mc("q1", key: 2)]), id: "c2")
        #expect(replaced.instrument?.version == 1 && !replaced.newVersion)
        let first = try await submit(s, "s1", "post", npi: npi(1), [choice("q1", 2)])
        #expect(first.submission?.total == 1 && first.submission?.version == 1)
        // Responses exist: the change becomes version 2.
        let versioned = try await create(s, instrument("post", .postTest, items: [mc("q1", key: 3)]), id: "c3")
        #expect(versioned.instrument?.version == 2 && versioned.newVersion)
        // The stored score did not change; new submissions use version 2.
        let again = try await submit(s, "s1", "post", npi: npi(1), [choice("q1", 2)])
        #expect(again.submission?.total == 1 && again.submission?.version == 1 && !again.created)
        #expect(try await submit(s, "s2", "post", npi: npi(2), [choice("q1", 2)]).submission?.total == 0)
        var get = Lv_Assessment_V1_GetInstrumentRequest()
        (get.instrumentId, get.version) = ("post", 1)
        #expect(try await s.getInstrument(get, context: context).instrument?.items.first?.key == 2)
    }

    @Test("the first submission counts; a retry of it is idempotent; another id with other answers is refused")
    func firstSubmissionCounts() async throws {
        let s = try service()
        _ = try await create(s, instrument("pre", .preTest, items: [mc("q1")]), id: "c1")
        #expect(try await submit(s, "a", "pre", npi: npi(1), [choice("q1", 1)]).created)
        #expect(!(try await submit(s, "a", "pre", npi: npi(1), [choice("q1", 1)])).created)
        do {
            guard let e = await wireError({ _ = try await submit(s, "b", "pre", npi: npi(1), [choice("q1", 0)]) }) else { Issue.record("second submission accepted"); return }
            #expect(e.code == .alreadyExists && e.violations.first?.rule == "first-submission-counts")
        }
        do {
            guard let e = await wireError({ _ = try await submit(s, "a", "pre", npi: npi(1), [choice("q1", 0)]) }) else { Issue.record("reused submission id accepted"); return }
            #expect(e.code == .invalidArgument && e.violations.first?.rule == "idempotency")
        }
    }

    @Test("commitments with one follow-up; practice measures validated, deduplicated, conflicts refused; outcomes assembled")
    func commitmentsMeasuresOutcomes() async throws {
        let s = try service()
        var c = Commitment()
        (c.activityId, c.npi, c.text, c.objectiveId, c.category) = ("act-1", npi(1), "Start SGLT2i in eligible HFpEF", "obj-1", "prescribing")
        var rc = Lv_Assessment_V1_RecordCommitmentRequest()
        (rc.requestId, rc.commitment) = ("cm-1", c)
        let commitment = try await s.recordCommitment(rc, context: context).commitment!
        var fu = Lv_Assessment_V1_RecordFollowUpRequest()
        var f = Lv_Assessment_V1_FollowUp()
        (f.implementation, f.barriers, f.respondedMs) = (.partially, ["formulary"], 1_795_701_600_000 + 86_400_000)
        (fu.commitmentId, fu.followUp) = (commitment.commitmentId, f)
        #expect(try await s.recordFollowUp(fu, context: context).commitment?.followUp?.implementation == .partially)
        f.implementation = .fully
        fu.followUp = f
        // A second, different follow-up: the store's DomainError, converted as the router does.
        do {
            _ = try await s.recordFollowUp(fu, context: context)
            Issue.record("a second follow-up was accepted")
        } catch {
            #expect(error is DomainError)
            let status = RPCError.from(error)
            #expect(status.code == .alreadyExists)
            #expect(status.violations.map { "\($0.field)/\($0.rule)" } == ["commitment_id/one-follow-up"])
        }

        func measure(_ phase: Lv_Assessment_V1_MeasurePhase, _ num: UInt32, _ den: UInt32, start: String = "2026-01-01") -> PracticeMeasure {
            var m = PracticeMeasure()
            (m.npi, m.activityId, m.measureCode, m.periodStart, m.periodEnd) = (npi(1), "act-1", "HF-SGLT2", start, "2026-03-31")
            (m.numerator, m.denominator, m.source, m.phase) = (num, den, .registry, phase)
            return m
        }
        var rm = Lv_Assessment_V1_RecordPracticeMeasuresRequest()
        rm.requestId = "m-1"
        rm.measures = [measure(.baseline, 4, 20), measure(.followUp, 11, 20, start: "2026-02-01"), measure(.baseline, 30, 20),
                       measure(.baseline, 4, 20)]
        let recorded = try await s.recordPracticeMeasures(rm, context: context)
        #expect(recorded.accepted == 2 && recorded.duplicates == 1)
        #expect(recorded.rejected.map(\.field) == ["measures[2].numerator"])
        rm.requestId = "m-2"
        rm.measures = [measure(.baseline, 5, 20)]
        #expect(try await s.recordPracticeMeasures(rm, context: context).rejected.map(\.rule) == ["conflict"])

        _ = try await create(s, instrument("pre", .preTest, items: [mc("q1")]), id: "i1")
        _ = try await create(s, instrument("post", .postTest, items: [mc("q1")]), id: "i2")
        _ = try await submit(s, "p1", "pre", npi: npi(1), [choice("q1", 0, confidence: 5)])
        _ = try await submit(s, "p2", "post", npi: npi(1), [choice("q1", 1, confidence: 5)])
        var q = Lv_Assessment_V1_GetOutcomesRequest()
        q.activityId = "act-1"
        let outcomes = try await s.getOutcomes(q, context: context).physicians
        #expect(outcomes.count == 1)
        let o = outcomes[0]
        #expect(o.submissions.map(\.total) == [0, 1])
        #expect(o.itemPairs.count == 1 && !o.itemPairs[0].beforeCorrect && o.itemPairs[0].afterCorrect)
        #expect(o.quadrants.map(\.misinformation) == [1, 0] && o.quadrants.map(\.mastery) == [0, 1])
        #expect(o.commitments.first?.followUp?.barriers == ["formulary"])
        #expect(o.measures.first?.baselineNumerator == 4 && o.measures.first?.followUpNumerator == 11)
    }
}
