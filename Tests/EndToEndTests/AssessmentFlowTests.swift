import Foundation
import LVAPI
import LVMessages
import LVRPC
import Testing

@Suite("outcome assessment through lv-assessment", .serialized, .timeLimit(.minutes(3)))
struct AssessmentFlowTests {
    @Test("instruments from JSON checked against registration, responses scored, commitments and measures, results shown")
    func flow() async throws {
        let registration = try RunningService("lv-registration")
        let assessment = try RunningService("lv-assessment")
        defer { _ = registration.stop(); _ = assessment.stop() }
        let reg = "127.0.0.1:\(registration.port)"
        let asm = "127.0.0.1:\(assessment.port)"
        let examples = root.appendingPathComponent("deploy/local/examples")
        #expect(try run("lvctl", ["registration", "create-activity", "--addr", reg, "--file", examples.appendingPathComponent("activity.json").path]).status == 0)
        // The example's planning record and desired levels are stored as written.
        let planned = try run("lvctl", ["call", reg, "GetActivity", "-d", "{\"activity_id\": \"hf-2026\"}"])
        #expect(planned.status == 0 && planned.output.contains("GWTG-HF registry report 2025") && planned.output.contains("GAP_EVIDENCE_SOURCE_QUALITY_DATA")
                && planned.output.contains("HF-SGLT2-RX"), "\(planned.output)")
        for name in ["pre-test.json", "post-test.json"] {
            let r = try run("lvctl", ["assessment", "create-instrument", "--addr", asm, "--registration-addr", reg,
                                      "--file", examples.appendingPathComponent(name).path])
            #expect(r.status == 0, "\(r.errors)")
            #expect(r.output.contains("v1"))
        }
        // An objective the activity does not have is caught before sending.
        let bad = assessment.dataDirectory.appendingPathComponent("bad.json")
        try String(contentsOf: examples.appendingPathComponent("pre-test.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"hf-pre\"", with: "\"hf-bad\"").replacingOccurrences(of: "obj-sglt2", with: "obj-none")
            .write(to: bad, atomically: true, encoding: .utf8)
        let refused = try run("lvctl", ["assessment", "create-instrument", "--addr", asm, "--registration-addr", reg, "--file", bad.path])
        #expect(refused.status == 1)
        #expect(refused.errors.contains("unknown-objective"))

        let client = RPCClient(host: "127.0.0.1", port: assessment.port)
        let api = Lv.Assessment.V1.Assessment.Client(client)
        let npi = testNPI(77)
        func answers(_ choices: [String: UInt32], tf: Bool) -> [Lv_Assessment_V1_Answer] {
            var out = choices.sorted { $0.key < $1.key }.map { id, c -> Lv_Assessment_V1_Answer in
                var a = Lv_Assessment_V1_Answer()
                (a.itemId, a.value, a.confidence) = (id, .choice(c), 4)
                return a
            }
            var t = Lv_Assessment_V1_Answer()
            (t.itemId, t.value, t.confidence) = ("q-gdmt-2", .truth(tf), 2)
            out.append(t)
            return out
        }
        var pre = Lv_Assessment_V1_SubmitResponsesRequest()
        (pre.submissionId, pre.instrumentId, pre.npi) = ("e2e-pre", "hf-pre", npi)
        pre.answers = answers(["q-gdmt-1": 0, "q-sglt2-1": 1, "q-control-1": 0], tf: false)
        #expect(try await api.submitResponses(pre).submission?.total == 1.0 / 3.0)
        var post = pre
        (post.submissionId, post.instrumentId) = ("e2e-post", "hf-post")
        post.answers = answers(["q-gdmt-1": 1, "q-sglt2-1": 1, "q-control-1": 0], tf: true)
        #expect(try await api.submitResponses(post).submission?.total == 1)

        var c = Lv_Assessment_V1_Commitment()
        (c.activityId, c.npi, c.text, c.objectiveId, c.category) = ("hf-2026", npi, "Add an SGLT2 inhibitor for eligible HFpEF patients", "obj-sglt2", "prescribing")
        var rc = Lv_Assessment_V1_RecordCommitmentRequest()
        (rc.requestId, rc.commitment) = ("e2e-c1", c)
        let commitment = try await api.recordCommitment(rc).commitment!
        var fu = Lv_Assessment_V1_RecordFollowUpRequest()
        var f = Lv_Assessment_V1_FollowUp()
        f.implementation = .partially
        f.barriers = ["prior authorization"]
        (fu.commitmentId, fu.followUp) = (commitment.commitmentId, f)
        _ = try await api.recordFollowUp(fu)
        var m = Lv_Assessment_V1_PracticeMeasure()
        (m.npi, m.activityId, m.measureCode, m.periodStart, m.periodEnd, m.numerator, m.denominator, m.source, m.phase) =
            (npi, "hf-2026", "HF-SGLT2", "2026-06-01", "2026-08-31", 3, 18, .registry, .baseline)
        var rm = Lv_Assessment_V1_RecordPracticeMeasuresRequest()
        (rm.requestId, rm.measures) = ("e2e-m1", [m])
        #expect(try await api.recordPracticeMeasures(rm).accepted == 1)
        await client.close()

        let results = try run("lvctl", ["assessment", "results", "--addr", asm, "--activity", "hf-2026", "--npi", npi])
        #expect(results.status == 0, "\(results.errors)")
        #expect(results.output.contains("PHASE_PRE  hf-pre v1  total 33%"))
        #expect(results.output.contains("PHASE_POST  hf-post v1  total 100%"))
        #expect(results.output.contains("items: 4 paired, 2 wrong→right, 0 right→wrong"))
        #expect(results.output.contains("commitment: Add an SGLT2 inhibitor for eligible HFpEF patients → IMPLEMENTATION_PARTIALLY"))
        #expect(results.output.contains("HF-SGLT2: baseline 3/18, follow-up 0/0"))
        let listed = try run("lvctl", ["assessment", "list-instruments", "--addr", asm, "--activity", "hf-2026", "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]]
        #expect(rows?.map { $0["instrument_id"] as? String ?? "" } == ["hf-post", "hf-pre"])
        #expect(rows?.allSatisfy { $0["version"] as? Int == 1 && $0["items"] is NSNumber } == true, "\(listed.output)")
    }
}
