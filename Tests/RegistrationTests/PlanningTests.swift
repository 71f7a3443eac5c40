import Foundation
import LVDomain
import LVMessages
import LVRPC
import LVStore
import LVTestSupport
@testable import Registration
import RegistrationDomain
import Testing

/// The planning record and the desired level per objective (docs/REGISTRATION.md "Planning").
@Suite("registration: planning record")
struct PlanningTests {
    static func objective(_ id: String, level: String = "", measures: [String] = []) -> Lv_Registration_V1_LearningObjective {
        var o = Lv_Registration_V1_LearningObjective()
        (o.id, o.text, o.desiredLevel, o.measureCodes) = (id, "Objective \(id)", level, measures)
        return o
    }

    static func planned() -> Activity {
        var a = Activity()
        (a.activityId, a.title, a.type, a.startDate, a.endDate, a.maxCredits, a.targetMooreLevel) =
            ("plan-1", "Heart failure", .course, "2026-11-26", "2026-11-26", 2, 5)
        a.objectives = [objective("obj-a", level: "3A"), objective("obj-b", level: "5", measures: ["HF-GDMT", "HF-SGLT2"]), objective("obj-c")]
        var p = Planning()
        p.practiceGap = "Only 40 % of eligible patients receive SGLT2 inhibitors.\nTarget: 70 %."
        p.evidenceSources = [.qualityData, .needsSurvey]
        p.evidenceDetail = "GWTG-HF registry 2025"
        p.targetProfessions = [.physician, .nurse, .pharmacist]
        p.specialties = ["Cardiology", "Internal Medicine"]
        a.planning = p
        return a
    }

    func violations(_ a: Activity) -> [String] {
        var v = Violations()
        RegistrationRules.validate(a, &v)
        return v.list.map { "\($0.field) \($0.rule)" }
    }

    @Test("a valid planning record has no violations; without one (and without desired levels) an activity is valid as before")
    func validRecord() {
        #expect(violations(Self.planned()) == [])
        var a = Self.planned()
        a.planning = nil
        a.objectives = [Self.objective("obj-a")]
        #expect(violations(a) == [])
    }

    @Test("desired level: 3A, 3B, 4, 5, 6 or empty; 1, 2, 7, lower case and anything else are objective-level naming the objective")
    func desiredLevel() {
        for ok in ["", "3A", "3B", "4", "5", "6"] {
            var a = Self.planned()
            a.objectives[0].desiredLevel = ok
            #expect(violations(a) == [], "\(ok)")
        }
        for bad in ["1", "2", "7", "3a", "3", "3C", " 4", "high"] {
            var a = Self.planned()
            a.objectives[2].desiredLevel = bad
            #expect(violations(a) == ["activity.objectives[2].desired_level objective-level"], "\(bad)")
        }
    }

    @Test("measure codes: at most 20 per objective, each 1-64 bytes of printable ASCII, each once")
    func measureCodes() {
        var a = Self.planned()
        a.objectives[1].measureCodes = ["", String(repeating: "M", count: 65), "HF\u{7}", "OK", "OK", String(repeating: "M", count: 64)]
        #expect(violations(a) == [
            "activity.objectives[1].measure_codes[0] measure-code", "activity.objectives[1].measure_codes[1] measure-code",
            "activity.objectives[1].measure_codes[2] measure-code", "activity.objectives[1].measure_codes[4] unique",
        ])
        a.objectives[1].measureCodes = (0..<21).map { "M\($0)" }
        #expect(violations(a) == ["activity.objectives[1].measure_codes count"])
        a.objectives[1].measureCodes = (0..<20).map { "M\($0)" }
        #expect(violations(a) == [])
    }

    @Test("practice gap required, ≤ 4,000 bytes, lines allowed; evidence detail optional ≤ 4,000")
    func gapText() {
        var a = Self.planned()
        a.planning!.practiceGap = "  "
        #expect(violations(a) == ["activity.planning.practice_gap required"])
        a.planning!.practiceGap = String(repeating: "g", count: 4001)
        #expect(violations(a) == ["activity.planning.practice_gap length"])
        a.planning!.practiceGap = String(repeating: "g", count: 4000)
        a.planning!.evidenceDetail = String(repeating: "d", count: 4001)
        #expect(violations(a) == ["activity.planning.evidence_detail length"])
        a.planning!.evidenceDetail = "bad\u{1}"
        #expect(violations(a) == ["activity.planning.evidence_detail printable"])
    }

    @Test("evidence sources and professions: at least one, known, not UNSPECIFIED, each once, at most 6")
    func enums() {
        var a = Self.planned()
        a.planning!.evidenceSources = []
        a.planning!.targetProfessions = []
        #expect(violations(a) == ["activity.planning.evidence_sources required", "activity.planning.target_professions required"])
        a.planning!.evidenceSources = [.literature, .unspecified, .literature, .init(rawValue: 42)]
        a.planning!.targetProfessions = [.nurse, .nurse, .unspecified, .init(rawValue: 9)]
        #expect(violations(a) == [
            "activity.planning.evidence_sources[1] required", "activity.planning.evidence_sources[2] unique",
            "activity.planning.evidence_sources[3] enum",
            "activity.planning.target_professions[1] unique", "activity.planning.target_professions[2] required",
            "activity.planning.target_professions[3] enum",
        ])
        a.planning!.evidenceSources = Array(GapEvidenceSource.allCases.dropFirst()) + [.literature]
        a.planning!.targetProfessions = [.nurse]
        #expect(violations(a) == ["activity.planning.evidence_sources count"])
    }

    @Test("specialties: at most 50, each required, ≤ 200 bytes, single line, each once")
    func specialties() {
        var a = Self.planned()
        a.planning!.specialties = ["Cardiology", "", String(repeating: "s", count: 201), "Cardiology", "a\nb"]
        #expect(violations(a) == [
            "activity.planning.specialties[1] required", "activity.planning.specialties[2] length",
            "activity.planning.specialties[3] unique", "activity.planning.specialties[4] printable",
        ])
        a.planning!.specialties = (0..<51).map { "S\($0)" }
        #expect(violations(a) == ["activity.planning.specialties count"])
    }

    @Test("CreateActivity with an unknown desired level is INVALID_ARGUMENT naming the field and rule; a valid record round-trips through the store")
    func throughTheService() async throws {
        let f = try Fixture()
        var bad = Self.planned()
        bad.objectives[0].desiredLevel = "7"
        var r = Lv_Registration_V1_CreateActivityRequest()
        (r.requestId, r.activity) = ("plan-bad", bad)
        let e = await wireError { _ = try await f.service.createActivity(r, context: f.context) }
        #expect(e?.code == .invalidArgument)
        #expect(e?.violations.map { "\($0.field) \($0.rule)" } == ["activity.objectives[0].desired_level objective-level"])

        (r.requestId, r.activity) = ("plan-ok", Self.planned())
        let created = try await f.service.createActivity(r, context: f.context)
        #expect(created.created)
        var g = Lv_Registration_V1_GetActivityRequest()
        g.activityId = "plan-1"
        var read = try await f.service.getActivity(g, context: f.context).activity!
        #expect(read.createdMs > 0)
        read.createdMs = 0
        var expected = Self.planned()
        expected.designedToChange = Lv_Registration_V1_DesignedToChange()
        #expect(read == expected)
    }

    @Test("ListPhysicians by npis: only those NPIs that exist, in NPI order, paged, with the other filters; a bad NPI names its index, over 1,000 is count")
    func batchRead() async throws {
        let f = try Fixture()
        for n in [1, 2, 3] { _ = try await f.register(physician(n, specialty: n == 2 ? "Oncology" : "Cardiology")) }
        func list(_ npis: [String], size: UInt32 = 0, token: String = "", specialty: String = "") async throws -> Lv_Registration_V1_ListPhysiciansResponse {
            var r = Lv_Registration_V1_ListPhysiciansRequest()
            (r.npis, r.pageSize, r.pageToken, r.specialty) = (npis, size, token, specialty)
            return try await f.service.listPhysicians(r, context: f.context)
        }
        let all = try await list([npi(3), npi(1), npi(99), npi(1)])
        #expect(all.physicians.map(\.npi) == [npi(1), npi(3)] && all.nextPageToken.isEmpty)
        let first = try await list([npi(3), npi(2), npi(1)], size: 2)
        #expect(first.physicians.map(\.npi) == [npi(1), npi(2)] && !first.nextPageToken.isEmpty)
        let second = try await list([npi(3), npi(2), npi(1)], size: 2, token: first.nextPageToken)
        #expect(second.physicians.map(\.npi) == [npi(3)] && second.nextPageToken.isEmpty)
        #expect(try await list([npi(1), npi(2)], specialty: "Oncology").physicians.map(\.npi) == [npi(2)])
        let bad = await wireError { _ = try await list([npi(1), "1234567890"]) }
        #expect(bad?.code == .invalidArgument && bad?.violations.map(\.field) == ["npis[1]"])
        let many = await wireError { _ = try await list((0..<1001).map { npi($0) }) }
        #expect(many?.code == .invalidArgument && many?.violations.map { "\($0.field) \($0.rule)" } == ["npis count"])
        #expect(try await list((0..<1000).map { npi($0) }).physicians.count == 3)
    }

    @Test("a database made by schema 2 opens with its data: objectives without desired levels, activities without planning")
    func migrationKeepsData() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reg-mig3-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("r.sqlite").path
        let old = try Database(path: path, migrations: Array(RegistrationSchema.migrations.prefix(2)))
        try await old.write { c in
            try c.execute("""
                INSERT INTO activity VALUES ('hf', 'HF', 1, '2026-11-26', '2026-11-26', 2, 5, 1, 1, 0, 1);
                INSERT INTO objective VALUES ('hf', 0, 'obj-1', 'first');
                INSERT INTO objective VALUES ('hf', 1, 'obj-2', 'second');
                INSERT INTO credit_offer VALUES ('hf', 0, 1, 2, '');
                """)
        }
        old.close()
        let store = try RegistrationStore(path: path)
        defer { store.close() }
        let a = try #require(try await store.activity(id: "hf"))
        #expect(a.objectives.map(\.id) == ["obj-1", "obj-2"] && a.objectives.map(\.text) == ["first", "second"])
        #expect(a.objectives.allSatisfy { $0.desiredLevel.isEmpty && $0.measureCodes.isEmpty })
        #expect(a.planning == nil && a.creditOffers.count == 1)
    }
}
