import LVStoreTestSupport
import Assessment
import AssessmentDomain
import Foundation
import Logging
import LVMessages
import LVRPC
import LVTestSupport
import Testing

/// docs/ASSESSMENT.md rules that had no test: an instrument keeps its activity and kind; practice
/// measures' period order, numerator and denominator bounds, and the 10,000 cap per call.
@Suite("assessment: documented rules, one test each")
struct AssessmentDocumentedRuleTests {
    let context = ServerContext.test

    func service() throws -> AssessmentService {
        return AssessmentService(store: try AssessmentStore(backend: TestDatabase.backend(path: temporaryStorePath("asm", file: "a.sqlite"))), clock: { 1_795_701_600_000 })
    }

    func create(_ s: AssessmentService, _ i: Instrument, id: String) async throws -> Lv_Assessment_V1_CreateInstrumentResponse {
        var r = Lv_Assessment_V1_CreateInstrumentRequest()
        (r.requestId, r.instrument) = (id, i)
        return try await s.createInstrument(r, context: context)
    }

    @Test("an instrument keeps its kind and its activity: the same id with another kind or activity is FAILED_PRECONDITION immutable-kind, with or without responses")
    func kindImmutable() async throws {
        let s = try service()
        _ = try await create(s, instrument("t1", .preTest, items: [mc("q1")]), id: "c1")
        for (n, changed) in [instrument("t1", .postTest, items: [mc("q1")]), { var i = instrument("t1", .preTest, items: [mc("q1")]); i.activityId = "act-2"; return i }()].enumerated() {
            do {
                guard let e = await wireError({ _ = try await create(s, changed, id: "c-change-\(n)") }) else { Issue.record("change \(n) accepted"); return }
                #expect(e.code == .failedPrecondition)
                #expect(e.violations.first?.rule == "immutable-kind")
            }
        }
        var get = Lv_Assessment_V1_GetInstrumentRequest()
        get.instrumentId = "t1"
        let stored = try await s.getInstrument(get, context: context).instrument
        #expect(stored?.kind == .preTest && stored?.activityId == "act-1")
    }

    func measure(start: String = "2026-01-01", end: String = "2026-03-31", num: UInt32 = 1, den: UInt32 = 2, code: String = "HF-1") -> PracticeMeasure {
        var m = PracticeMeasure()
        (m.npi, m.activityId, m.measureCode, m.periodStart, m.periodEnd) = (npi(1), "act-1", code, start, end)
        (m.numerator, m.denominator, m.source, m.phase) = (num, den, .chartAudit, .baseline)
        return m
    }

    @Test("practice measures: period start ≤ end (one day is fine), numerator ≤ denominator, denominator ≥ 1, each refusal naming measures[i]")
    func measureRules() async throws {
        let s = try service()
        var r = Lv_Assessment_V1_RecordPracticeMeasuresRequest()
        r.requestId = "m-1"
        r.measures = [
            measure(start: "2026-03-31", end: "2026-03-31", code: "ok-one-day"),
            measure(start: "2026-04-01", end: "2026-03-31", code: "backwards"),
            measure(num: 3, den: 3, code: "ok-all"),
            measure(num: 4, den: 3, code: "over"),
            measure(num: 0, den: 0, code: "nobody"),
            measure(start: "2026-02-30", code: "no-such-day"),
        ]
        let response = try await s.recordPracticeMeasures(r, context: context)
        #expect(response.accepted == 2)
        #expect(response.rejected.map(\.field) == ["measures[1].period_end", "measures[3].numerator", "measures[4].denominator", "measures[5].period_start"])
        #expect(response.rejected.map(\.rule) == ["order", "at-most-denominator", "range", "date"])
    }

    @Test("a measure code is 1–64 bytes: 64 accepted, 65 and empty refused (required)")
    func measureCodeLength() async throws {
        let s = try service()
        var r = Lv_Assessment_V1_RecordPracticeMeasuresRequest()
        r.requestId = "codes"
        r.measures = [measure(code: String(repeating: "m", count: 64)), measure(code: String(repeating: "m", count: 65)), measure(code: "")]
        let response = try await s.recordPracticeMeasures(r, context: context)
        #expect(response.accepted == 1)
        #expect(response.rejected.map(\.field) == ["measures[1].measure_code", "measures[2].measure_code"])
        #expect(response.rejected.map(\.rule) == ["required", "required"])
    }

    @Test("at most 10,000 practice measures per call: 10,000 are accepted, 10,001 are refused whole with INVALID_ARGUMENT batch-size")
    func measureCap() async throws {
        let s = try service()
        var r = Lv_Assessment_V1_RecordPracticeMeasuresRequest()
        r.requestId = "cap-over"
        r.measures = (0..<10_001).map { measure(code: "M\($0)") }
        do {
            guard let e = await wireError({ _ = try await s.recordPracticeMeasures(r, context: context) }) else { Issue.record("10,001 measures accepted"); return }
            #expect(e.code == .invalidArgument)
            #expect(e.violations.first?.rule == "batch-size")
        }
        r.requestId = "cap-exact"
        r.measures.removeLast()
        #expect(try await s.recordPracticeMeasures(r, context: context).accepted == 10_000)
    }
}
