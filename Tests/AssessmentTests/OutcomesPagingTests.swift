import Foundation
import Logging
import LVMessages
import LVRPC
import Assessment
import AssessmentDomain
import Testing

@Suite("assessment outcomes paged by NPI")
struct OutcomesPagingTests {
    let context = ServerContext(method: MethodDescriptor(service: "t", method: "t", requestType: "", responseType: ""),
                                requestID: "test", logger: Logger(label: "test"))

    @Test("every physician with a submission, a commitment or a measure appears once, in NPI order, at every page size; another activity's do not")
    func pagesOverThreeTables() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("asm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let s = AssessmentService(store: try AssessmentStore(path: dir.appendingPathComponent("a.sqlite").path), clock: { 1_795_701_600_000 })
        var create = Lv_Assessment_V1_CreateInstrumentRequest()
        (create.requestId, create.instrument) = ("i1", instrument("pre", .preTest, items: [mc("q1")]))
        _ = try await s.createInstrument(create, context: context)
        var other = instrument("pre-2", .preTest, items: [mc("q1")])
        other.activityId = "act-2"
        (create.requestId, create.instrument) = ("i2", other)
        _ = try await s.createInstrument(create, context: context)

        // n % 4: 0 a submission, 1 a commitment, 2 a measure, 3 all three; n % 5 == 0 also in act-2.
        var expected: [String] = []
        var measures = Lv_Assessment_V1_RecordPracticeMeasuresRequest()
        measures.requestId = "m"
        for n in 0..<61 {
            let physician = npi(n)
            expected.append(physician)
            if n % 4 == 0 || n % 4 == 3 {
                var r = Lv_Assessment_V1_SubmitResponsesRequest()
                (r.submissionId, r.instrumentId, r.npi, r.answers) = ("s-\(n)", "pre", physician, [choice("q1", 1)])
                _ = try await s.submitResponses(r, context: context)
            }
            if n % 4 == 1 || n % 4 == 3 {
                var c = Commitment()
                (c.activityId, c.npi, c.text, c.objectiveId, c.category) = ("act-1", physician, "Start SGLT2i", "obj-1", "prescribing")
                var r = Lv_Assessment_V1_RecordCommitmentRequest()
                (r.requestId, r.commitment) = ("c-\(n)", c)
                _ = try await s.recordCommitment(r, context: context)
            }
            if n % 4 == 2 || n % 4 == 3 {
                var m = PracticeMeasure()
                (m.npi, m.activityId, m.measureCode, m.periodStart, m.periodEnd) = (physician, "act-1", "HF-SGLT2", "2026-01-01", "2026-03-31")
                (m.numerator, m.denominator, m.source, m.phase) = (3, 10, .registry, .baseline)
                measures.measures.append(m)
            }
            if n % 5 == 0 {
                var r = Lv_Assessment_V1_SubmitResponsesRequest()
                (r.submissionId, r.instrumentId, r.npi, r.answers) = ("o-\(n)", "pre-2", physician, [choice("q1", 1)])
                _ = try await s.submitResponses(r, context: context)
            }
        }
        // Physicians only in act-2 must not appear in act-1's pages.
        for n in 100..<105 {
            var r = Lv_Assessment_V1_SubmitResponsesRequest()
            (r.submissionId, r.instrumentId, r.npi, r.answers) = ("x-\(n)", "pre-2", npi(n), [choice("q1", 1)])
            _ = try await s.submitResponses(r, context: context)
        }
        #expect(try await s.recordPracticeMeasures(measures, context: context).rejected.isEmpty)
        expected.sort()

        for size: UInt32 in [1, 3, 4, 7, 60, 61, 1000] {
            var q = Lv_Assessment_V1_GetOutcomesRequest()
            (q.activityId, q.pageSize) = ("act-1", size)
            var seen: [PhysicianOutcomes] = []
            var pages = 0
            repeat {
                pages += 1
                // A cursor that does not advance would page forever: more pages than physicians is a failure.
                guard pages <= expected.count + 1 else { Issue.record("paging does not end (page size \(size))"); break }
                let page = try await s.getOutcomes(q, context: context)
                #expect(page.physicians.count <= Int(size))
                seen += page.physicians
                q.pageToken = page.nextPageToken
            } while !q.pageToken.isEmpty
            #expect(seen.map(\.npi) == expected, "page size \(size)")
            for o in seen {
                let n = expected.firstIndex(of: o.npi).map { _ in Int(o.npi.prefix(9))! - 600_000_000 } ?? -1
                #expect(o.submissions.count == (n % 4 == 0 || n % 4 == 3 ? 1 : 0), "\(n)")
                #expect(o.commitments.count == (n % 4 == 1 || n % 4 == 3 ? 1 : 0), "\(n)")
                #expect(o.measures.count == (n % 4 == 2 || n % 4 == 3 ? 1 : 0), "\(n)")
            }
        }
        var one = Lv_Assessment_V1_GetOutcomesRequest()
        (one.activityId, one.npi, one.pageSize) = ("act-1", npi(7), 2)
        #expect(try await s.getOutcomes(one, context: context).physicians.map(\.npi) == [npi(7)])
    }
}
