import Gateway
import GatewayDomain
import LVAPI
import LVMessages

import Testing

func failed(_ code: Lv_Rpc_V1_StatusCode, _ message: String) -> SectionStatus {
    var s = SectionStatus()
    (s.code, s.message) = (code, message)
    return s
}

/// What the gateway does when `source` cannot be read: its data is nil in the inputs and
/// every piece of it is named missing.
func without(_ source: Source, _ input: ActivityInputs, _ status: SectionStatus) -> (ActivityInputs, [SourceData: SectionStatus]) {
    var input = input
    switch source {
    case .registration: (input.activity, input.enrollments, input.attendance, input.credits) = (nil, nil, nil, nil)
    case .engagement: input.engagement = nil
    case .assessment: input.outcomes = nil
    }
    return (input, Dictionary(uniqueKeysWithValues: SourceData.of(source).map { ($0, status) }))
}

@Suite("partial views")
struct CompletenessTests {
    func full() -> ActivityInputs {
        var docs = cohortA()
        for i in docs.indices where docs[i].cohort == .participant { docs[i].evaluation = [0.75, 1.0, 0.5][i % 3] }
        var input = inputs(docs)
        input.engagement = (0..<10).map { i in
            var e = Lv_Engagement_V1_PhysicianEngagement()
            (e.npi, e.engagementIndex, e.events) = ("p\(i)", Double(40 + 5 * i), 10)
            return e
        }
        var a = Lv_Registration_V1_Activity()
        (a.title, a.targetMooreLevel) = ("Heart failure", 4)
        input.activity = a
        return input
    }

    @Test("without registration there are no cohorts: every cohort section is absent with the reason, never computed over the comparison cohort")
    func noRegistration() throws {
        let (input, missing) = without(.registration, full(), failed(.unavailable, "connection refused"))
        // The view alone computes nothing cohort-based either (it once counted the comparison
        // physicians as participants); the completeness pass names what is absent and why.
        let unguarded = ValidationView.build(input, thresholds: Thresholds(), now: 0)
        #expect(unguarded.knowledge == nil && unguarded.funnel == nil)
        var v = unguarded
        Completeness.apply(&v, missing: missing)
        #expect(v.completeness?.status == .partial)
        #expect(v.completeness?.missingSources.map(\.section) == ["registration"])
        #expect(v.knowledge == nil && v.funnel == nil && v.attribution == nil && v.gap == nil && v.commitments == nil && v.competence == nil)
        #expect(v.items.isEmpty && v.objectives.isEmpty && v.practice.isEmpty && v.retention.isEmpty)
        #expect(v.title.isEmpty && v.targetMooreLevel == 0)
        let absent = Dictionary(uniqueKeysWithValues: (v.completeness?.absent ?? []).map { ($0.section, $0.reason) })
        for section in ["activity", "funnel", "knowledge", "attribution", "gap", "levels.1", "levels.3A"] {
            #expect(absent[section] == "registration unavailable: connection refused", "\(section)")
        }
        for l in v.levels where l.level != "7" {
            #expect(l.notEvaluated && !l.evidenced && l.reason == "not evaluated: registration unavailable: connection refused")
        }
        #expect(v.levels.first { $0.level == "7" }?.notEvaluated == false)
        #expect(v.highestLevel.isEmpty && absent["highest_level"] != nil)
    }

    @Test("with one source missing, the view is the complete view with exactly the sections that need it taken out")
    func nothingElseDiffers() throws {
        var complete = ValidationView.build(full(), thresholds: Thresholds(), now: 0)
        Completeness.apply(&complete, missing: [:])
        #expect(complete.completeness?.status == .complete && complete.completeness?.absent.isEmpty == true)
        #expect(complete.levels.contains { $0.level == "3A" && $0.evidenced })
        for source in Source.allCases {
            let (input, missing) = without(source, full(), failed(.deadlineExceeded, "the call's deadline passed"))
            var partial = ValidationView.build(input, thresholds: Thresholds(), now: 0)
            Completeness.apply(&partial, missing: missing)
            var expected = complete
            Completeness.apply(&expected, missing: missing)
            #expect(partial == expected, "\(source)")
            #expect(partial.completeness?.absent.allSatisfy { $0.reason.hasPrefix("\(source.rawValue) deadline exceeded") || $0.section == "highest_level" } == true)
        }
        // Assessment missing: level 2 upwards cannot be judged, so the highest level is unknown, not "1".
        let (input, missing) = without(.assessment, full(), failed(.unavailable, "down"))
        var v = ValidationView.build(input, thresholds: Thresholds(), now: 0)
        Completeness.apply(&v, missing: missing)
        #expect(v.highestLevel.isEmpty)
        #expect(v.completeness?.absent.contains { $0.section == "highest_level" } == true)
        #expect(v.levels.first { $0.level == "1" }?.evidenced == true)
        #expect(v.levels.first { $0.level == "2" }?.reason == "not evaluated: assessment unavailable: down")
        // Engagement missing: level 2 is unjudged but 3A is evidenced above it, so the highest level stands.
        let (e, em) = without(.engagement, full(), failed(.unavailable, "down"))
        var ev = ValidationView.build(e, thresholds: Thresholds(), now: 0)
        Completeness.apply(&ev, missing: em)
        #expect(ev.highestLevel == complete.highestLevel && !ev.highestLevel.isEmpty)
        #expect(ev.knowledge == complete.knowledge && ev.funnel == complete.funnel && ev.meanEngagementIndex == nil)
    }

    @Test("the report of a partial view has a banner and shows no absent number")
    func report() {
        let (input, missing) = without(.registration, full(), failed(.unavailable, "connection refused"))
        var v = ValidationView.build(input, thresholds: Thresholds(), now: 0)
        Completeness.apply(&v, missing: missing)
        let text = ValidationReport.activity(v)
        #expect(text.hasPrefix("!! PARTIAL VIEW"))
        #expect(text.contains("registration could not be read — UNAVAILABLE: connection refused"))
        #expect(!text.contains("target Moore level 0"))
        #expect(text.contains("highest level evidenced: unknown"))
        #expect(!text.contains("Knowledge"))
        var complete = ValidationView.build(full(), thresholds: Thresholds(), now: 0)
        Completeness.apply(&complete, missing: [:])
        #expect(!ValidationReport.activity(complete).contains("PARTIAL"))
    }
}
