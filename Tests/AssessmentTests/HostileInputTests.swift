import LVStoreTestSupport
import Assessment
import AssessmentDomain
import Foundation
import Logging
import LVDomain
import LVMessages
import LVRPC
import LVTestSupport
import Testing

/// Issue #12: extremes and field rules of the assessment API, each INVALID_ARGUMENT naming the field.
@Suite("assessment under hostile input")
struct AssessmentHostileInputTests {
    let context = ServerContext.test

    func service() throws -> AssessmentService {
        return AssessmentService(store: try AssessmentStore(backend: TestDatabase.backend(path: temporaryStorePath("asm", file: "a.sqlite"))), clock: { 1_795_701_600_000 })
    }

    func expectInvalid(_ field: String, rule: String? = nil, _ body: () async throws -> Void) async {
        do {
            guard let e = await wireError({ try await body() }) else { Issue.record("expected INVALID_ARGUMENT on \(field)"); return }
            #expect(e.code == .invalidArgument, "\(e)")
            #expect(e.violations.contains { $0.field == field && (rule == nil || $0.rule == rule) }, "\(e)")
        }
    }

    @Test("submitted_ms of Int64 min and max, and 1970, are INVALID_ARGUMENT submitted_ms")
    func submittedExtremes() async throws {
        let s = try service()
        var c = Lv_Assessment_V1_CreateInstrumentRequest()
        (c.requestId, c.instrument) = ("i", instrument("pre", .preTest, items: [mc("q1")]))
        _ = try await s.createInstrument(c, context: context)
        for (n, t) in [Int64.min, -1, 1_000, Int64.max].enumerated() {
            var r = Lv_Assessment_V1_SubmitResponsesRequest()
            (r.submissionId, r.instrumentId, r.npi, r.answers, r.submittedMs) = ("sub-\(n)", "pre", npi(1), [choice("q1", 1)], t)
            await expectInvalid("submitted_ms", rule: "range") { _ = try await s.submitResponses(r, context: context) }
        }
        var r = Lv_Assessment_V1_SubmitResponsesRequest()
        (r.submissionId, r.instrumentId, r.npi, r.answers) = ("sub-big-choice", "pre", npi(1), [choice("q1", .max, confidence: .max)])
        await expectInvalid("answers[0].confidence", rule: "range") { _ = try await s.submitResponses(r, context: context) }
    }

    @Test("request ids of 1 MiB are refused like registration's (at most 128 bytes)")
    func longIDs() async throws {
        let s = try service()
        let huge = String(repeating: "r", count: 1 << 20)
        var c = Lv_Assessment_V1_CreateInstrumentRequest()
        (c.requestId, c.instrument) = (huge, instrument("pre", .preTest, items: [mc("q1")]))
        await expectInvalid("request_id", rule: "length") { _ = try await s.createInstrument(c, context: context) }
        var r = Lv_Assessment_V1_SubmitResponsesRequest()
        (r.submissionId, r.instrumentId, r.npi) = (huge, "pre", npi(1))
        await expectInvalid("submission_id", rule: "length") { _ = try await s.submitResponses(r, context: context) }
        var m = Lv_Assessment_V1_RecordPracticeMeasuresRequest()
        m.requestId = huge
        await expectInvalid("request_id", rule: "length") { _ = try await s.recordPracticeMeasures(m, context: context) }
    }

    @Test("instrument texts, options and items are bounded; control characters refused")
    func instrumentRules() {
        func problems(_ i: Instrument) -> [String] {
            var v = Violations()
            InstrumentRules.validate(i, objectives: nil, &v)
            return v.list.map { "\($0.field) \($0.rule)" }
        }
        var item = mc("q1")
        item.options = (0..<21).map { "o\($0)" }
        #expect(problems(instrument("i", .preTest, items: [item])) == ["instrument.items[0].options count"])
        item = mc("q1")
        item.stem = String(repeating: "s", count: 1 << 20)
        #expect(problems(instrument("i", .preTest, items: [item])) == ["instrument.items[0].stem length"])
        var i = instrument("i", .preTest, items: [mc("q1")])
        i.title = "Title\u{1B}[0m"
        #expect(problems(i) == ["instrument.title printable"])
        let many = (0..<501).map { mc("q\($0)") }
        #expect(problems(instrument("i", .preTest, items: many)).first == "instrument.items count")
    }

    @Test("a client-chosen commitment_id reused under a new request id is ALREADY_EXISTS, not INTERNAL")
    func commitmentReuse() async throws {
        let s = try service()
        var c = Commitment()
        (c.commitmentId, c.activityId, c.npi, c.text) = ("cmt-chosen", "act-1", npi(1), "Start SGLT2i")
        var r = Lv_Assessment_V1_RecordCommitmentRequest()
        (r.requestId, r.commitment) = ("first", c)
        _ = try await s.recordCommitment(r, context: context)
        r.requestId = "second"
        do {
            guard let e = await wireError({ _ = try await s.recordCommitment(r, context: context) }) else { Issue.record("accepted twice"); return }
            #expect(e.code == .alreadyExists, "\(e)")
            #expect(e.violations.first?.field == "commitment.commitment_id")
        }
        // The first request id still replays its answer.
        r.requestId = "first"
        #expect(try await s.recordCommitment(r, context: context).created == false)
    }

    @Test("practice measure counts at UInt32 max and dates outside 2000-2100 are handled by rule")
    func measureExtremes() {
        var m = PracticeMeasure()
        (m.npi, m.activityId, m.measureCode, m.periodStart, m.periodEnd, m.numerator, m.denominator, m.source, m.phase) =
            (npi(1), "act-1", "CMS-1", "2026-01-01", "2026-06-30", .max, .max, .chartAudit, .baseline)
        #expect(MeasureRules.problem(m) == nil)
        m.periodStart = "0000-01-01"
        #expect(MeasureRules.problem(m)?.field == "period_start")
        m.periodStart = "2026-01-01"
        m.periodEnd = "3000-01-01"
        #expect(MeasureRules.problem(m)?.rule == "range")
    }
}
