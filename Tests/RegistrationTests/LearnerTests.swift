import Foundation
import LVDomain
import LVMessages
import LVRPC
import LVStore
@testable import Registration
import RegistrationDomain
import Testing

/// 2026-11-26T12:00:00Z (date -d 2026-11-26T12:00:00Z +%s).
private let noon: Int64 = 1_795_694_400_000

private func learner(_ npi: String, _ given: String, _ family: String, _ profession: Profession, birth: (UInt32, UInt32),
                     board: (String, String)? = nil, licence: (String, String)? = nil, nabp: String = "", consent: Bool = true) -> Physician {
    var p = Physician()
    (p.npi, p.givenName, p.familyName, p.profession) = (npi, given, family, profession)
    (p.birthMonth, p.birthDay) = birth
    if let board { var b = Lv_Registration_V1_BoardId(); (b.board, b.id) = board; p.boardIds = [b] }
    if let licence { var l = Lv_Registration_V1_Licence(); (l.state, l.number) = licence; p.licences = [l] }
    p.nabpEprofileId = nabp
    p.parsConsent = consent
    return p
}

private func offer(_ t: CreditType, _ amount: Double, uan: String = "") -> CreditOffer {
    var o = CreditOffer()
    (o.type, o.maxAmount, o.acpeUan) = (t, amount, uan)
    return o
}

private func moc(_ board: String, points: Double, passing: Double) -> MocOffer {
    var m = MocOffer()
    (m.board, m.points, m.passingScore) = (board, points, passing)
    return m
}

/// The jointly accredited sepsis activity of the fixture in Tests/Fixtures/pars.
private func sepsisActivity() -> Activity {
    var a = Activity()
    a.activityId = "jt-sepsis-2026"
    a.title = "Sepsis: Recognition and the First Hour"
    a.type = .course
    (a.startDate, a.endDate) = ("2026-11-26", "2026-11-26")
    a.maxCredits = 3
    a.targetMooreLevel = 5
    var d = Lv_Registration_V1_DesignedToChange()
    (d.competence, d.performance) = (true, true)
    a.designedToChange = d
    var o = Lv_Registration_V1_LearningObjective()
    (o.id, o.text) = ("obj-sep-1", "Recognise sepsis with qSOFA and lactate")
    a.objectives = [o]
    a.creditOffers = [offer(.amaPraCategory1, 3), offer(.ancc, 3), offer(.acpe, 3, uan: "JA4008162-0000-26-012-L01-P"), offer(.ipce, 3)]
    a.moc = [moc("ABIM", points: 3, passing: 0.7)]
    return a
}

private func fixture(_ name: String) throws -> String {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pars/\(name)")
    return try String(contentsOf: url, encoding: .utf8)
}

@Suite("learners of several professions, credit types, MOC and PARS")
struct LearnerTests {
    @Test("PARS learner and activity files match the fixture written from the documented layout")
    func parsFixture() throws {
        let a = sepsisActivity()
        let post = { (total: Double, wrong: [String]) in
            MOCRules.PostTest(total: total, items: ["q1", "q2", "q3"].map { .init(itemID: $0, objectiveID: "obj-sep-1", correct: !wrong.contains($0)) },
                              submittedMs: noon + 3_600_000)
        }
        func boards(_ p: Physician) -> [(board: String, id: String)] { p.boardIds.map { ($0.board, $0.id) } }
        let ada = learner("1234567893", "Ada", "Lovelace", .physician, birth: (3, 7), board: ("ABIM", "123456"), licence: ("MA", "12345"))
        let grace = learner("2345678900", "Grace", "Hopper", .nurse, birth: (12, 9), licence: ("NY", "RN-7788"))
        let mary = learner("3456789015", "Mary", "Seacole", .pharmacist, birth: (11, 23), licence: ("PA", "RPH-5521"), nabp: "1234567")
        let ines = learner("4567890122", "Ines", "Ferreira", .physician, birth: (1, 2), board: ("ABIM", "777"), consent: false)
        let jonas = learner("5678901237", "Jonas", "Salk", .physician, birth: (10, 28), board: ("ABIM", "654321"))
        // Passed MOC but claimed nothing: not reported.
        let kim = learner("6789012345", "Kim", "Noclaim", .physician, birth: (5, 5), board: ("ABIM", "999"))
        let learners: [PARSExport.Learner] = [
            .init(physician: jonas, claims: [(.amaPraCategory1, 1, noon)],
                  moc: MOCRules.evaluate(offers: a.moc, boardIDs: boards(jonas), postTest: post(0.5, ["q1", "q2"]))),
            .init(physician: ada, claims: [(.amaPraCategory1, 2.75, noon)],
                  moc: MOCRules.evaluate(offers: a.moc, boardIDs: boards(ada), postTest: post(0.8, ["q3"]))),
            .init(physician: grace, claims: [(.ancc, 3, noon)], moc: []),
            .init(physician: mary, claims: [(.ipce, 3, noon), (.acpe, 3, noon)], moc: []),
            .init(physician: ines, claims: [(.amaPraCategory1, 3, noon)],
                  moc: MOCRules.evaluate(offers: a.moc, boardIDs: boards(ines), postTest: post(1, []))),
            .init(physician: kim, claims: [], moc: MOCRules.evaluate(offers: a.moc, boardIDs: boards(kim), postTest: post(1, []))),
        ]
        let file = PARSExport.learnerFile(activity: a, learners: learners)
        let expected = try fixture("learners.txt")
        for line in file.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            #expect(line.split(separator: "\t", omittingEmptySubsequences: false).count == PARSExport.learnerColumns.count)
        }
        #expect(file.text == expected)
        #expect(file.rows == 6)
        #expect(file.withoutConsent == 1)

        let record = PARSExport.activityRecord(activity: a, evaluated: .init(evidencedLevels: ["1", "2", "3A", "4"]), learners: learners)
        #expect(record.dropLast().split(separator: "\t", omittingEmptySubsequences: false).count == PARSExport.activityColumns.count)
        #expect(record == (try fixture("activity.txt")))
    }

    @Test("MOC: pass at the standard, feedback lists the missed items with their objectives, no board id means no result")
    func mocRules() {
        let items = [MOCRules.Item(itemID: "q1", objectiveID: "obj-a", correct: true), .init(itemID: "q2", objectiveID: "obj-b", correct: false)]
        let offers = [moc("ABIM", points: 2, passing: 0.5), moc("ABP", points: 1, passing: 0.75)]
        let results = MOCRules.evaluate(offers: offers, boardIDs: [("abim", "1")], postTest: .init(total: 0.5, items: items, submittedMs: 1))
        #expect(results.count == 1)
        #expect(results[0].passed && results[0].assessed && results[0].boardID == "1")
        #expect(results[0].missed.map(\.objectiveID) == ["obj-b"])
        let failed = MOCRules.evaluate(offers: [offers[1]], boardIDs: [("ABP", "2")], postTest: .init(total: 0.5, items: items, submittedMs: 1))
        #expect(!failed[0].passed && failed[0].assessed)
        let untested = MOCRules.evaluate(offers: offers, boardIDs: [("ABIM", "1")], postTest: nil)
        #expect(!untested[0].passed && !untested[0].assessed)
    }

    @Test("identifier shapes: NABP e-Profile ID and ACPE UAN")
    func shapes() {
        #expect(LearnerRules.nabpProblem("1234567") == nil)
        #expect(LearnerRules.nabpProblem("12") == nil)
        #expect(LearnerRules.nabpProblem("12345678") != nil)
        #expect(LearnerRules.nabpProblem("12a4") != nil)
        #expect(LearnerRules.nabpProblem("") != nil)
        #expect(LearnerRules.uanProblem("JA4008162-0000-26-012-L01-P") == nil)
        #expect(LearnerRules.uanProblem("0197-0000-23-001-H05-T") == nil)
        #expect(LearnerRules.uanProblem("0197-0000-23-001-X05-T") != nil)
        #expect(LearnerRules.uanProblem("JA400816-0000-26-012-L01-P") != nil)
        #expect(LearnerRules.uanProblem("0197-0000-23-001-L01") != nil)
    }

    @Test("a pharmacist needs an NABP e-Profile ID and birth month and day; bad shapes name the field")
    func pharmacistRules() async throws {
        let f = try Fixture()
        var p = physician(1)
        p.profession = .pharmacist
        p.birthMonth = 0
        p.birthDay = 0
        await expectCode(.invalidArgument, rule: "required-for-pharmacist") { _ = try await f.register(p) }
        p.birthMonth = 4
        p.birthDay = 30
        p.nabpEprofileId = "12-45"
        await expectCode(.invalidArgument, rule: "nabp-eprofile-id") { _ = try await f.register(p) }
        p.nabpEprofileId = "1234567"
        let r = try await f.register(p)
        #expect(r.physician?.profession == .pharmacist && r.physician?.nabpEprofileId == "1234567")
        // A learner registered without a profession is a physician, and registering the same data again matches.
        let plain = physician(2)
        #expect(try await f.register(plain).physician?.profession == .physician)
        #expect(try await f.register(plain, id: "again").created == false)
    }

    @Test("claims by credit type: offered types only, open to the learner's profession, one claim per type")
    func claimsByType() async throws {
        let f = try Fixture()
        var a = Activity()
        (a.title, a.type, a.startDate, a.endDate, a.maxCredits, a.targetMooreLevel) = ("Joint", .enduringMaterial, "2026-11-26", "2026-11-30", 2, 3)
        var o = Lv_Registration_V1_LearningObjective()
        (o.id, o.text) = ("obj-1", "x")
        a.objectives = [o]
        a.creditOffers = [offer(.amaPraCategory1, 2), offer(.ancc, 1.5), offer(.ipce, 2)]
        a.moc = [moc("ABIM", points: 2, passing: 0.7)]
        var req = Lv_Registration_V1_CreateActivityRequest()
        (req.requestId, req.activity) = ("joint", a)
        let created = try await f.service.createActivity(req, context: f.context).activity!
        let stored = try await f.service.store.activity(id: created.activityId)!
        #expect(stored.creditOffers == a.creditOffers && stored.moc == a.moc)

        var nurse = physician(3)
        nurse.profession = .nurse
        _ = try await f.register(nurse)
        try await f.enroll(created, nurse.npi)
        func claim(_ t: CreditType, _ credits: Double) async throws -> Lv_Registration_V1_ClaimCreditResponse {
            var r = Lv_Registration_V1_ClaimCreditRequest()
            (r.requestId, r.activityId, r.npi, r.credits, r.creditType) = ("c-\(t.rawValue)-\(credits)", created.activityId, nurse.npi, credits, t)
            return try await f.service.claimCredit(r, context: f.context)
        }
        await expectCode(.failedPrecondition, rule: "profession") { _ = try await claim(.amaPraCategory1, 1) }
        await expectCode(.failedPrecondition, rule: "not-offered") { _ = try await claim(.acpe, 1) }
        await expectCode(.invalidArgument, rule: "activity-maximum") { _ = try await claim(.ancc, 1.75) }
        #expect(try await claim(.ancc, 1.5).claim?.creditType == .ancc)
        #expect(try await claim(.ipce, 2).claim?.creditType == .ipce)
        let (claims, _) = try await f.service.store.listCredits(activityID: created.activityId, npi: "", pageSize: 1, after: "")
        #expect(claims.count == 1 && claims[0].creditType == .ancc)
        let (page2, _) = try await f.service.store.listCredits(activityID: created.activityId, npi: "", pageSize: 10, after: "\(created.activityId)\t\(nurse.npi)\t2")
        #expect(page2.map(\.creditType) == [.ipce])
    }

    @Test("activity offers are validated: UAN shape on ACPE only, unique types and boards, passing score in (0, 1]")
    func offerRules() {
        var a = sepsisActivity()
        a.creditOffers = [offer(.acpe, 3, uan: "nope"), offer(.ancc, 3, uan: "JA4008162-0000-26-012-L01-P"), offer(.ancc, 0.3)]
        a.moc = [moc("ABIM", points: 1, passing: 0), moc("ABIM", points: 1, passing: 1)]
        var v = Violations()
        RegistrationRules.validate(a, &v)
        let rules = Set(v.list.map { "\($0.field) \($0.rule)" })
        #expect(rules.contains("activity.credit_offers[0].acpe_uan acpe-uan"))
        #expect(rules.contains("activity.credit_offers[1].acpe_uan acpe-only"))
        #expect(rules.contains("activity.credit_offers[2].type unique"))
        #expect(rules.contains("activity.credit_offers[2].max_amount quarter-step"))
        #expect(rules.contains("activity.moc[0].passing_score range"))
        #expect(rules.contains("activity.moc[1].board unique"))
    }

    @Test("a database made by schema 1 opens with its data: learners become physicians, claims AMA PRA Category 1")
    func migrationKeepsData() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reg-mig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("r.sqlite").path
        let old = try Database(path: path, migrations: Array(RegistrationSchema.migrations.prefix(1)))
        try await old.write { c in
            try c.execute("""
                INSERT INTO physician VALUES ('1234567893', 'Ada', 'Lovelace', 'Cardiology', 3, 7, '', 1, 1);
                INSERT INTO board_id VALUES ('1234567893', 0, 'ABIM', '123456');
                INSERT INTO activity VALUES ('hf', 'HF', 1, '2026-11-26', '2026-11-26', 2, 5, 1, 1, 0, 1);
                INSERT INTO objective VALUES ('hf', 0, 'obj-1', 'x');
                INSERT INTO enrollment VALUES ('hf', '1234567893', 1, 1, 0);
                INSERT INTO credit VALUES ('hf', '1234567893', 1.5, 5, 90);
                """)
        }
        old.close()
        let store = try RegistrationStore(path: path)
        defer { store.close() }
        let p = try await store.physician(npi: "1234567893")
        #expect(p?.givenName == "Ada" && p?.profession == .physician && p?.parsConsent == false && p?.boardIds.first?.id == "123456")
        let (claims, _) = try await store.listCredits(activityID: "hf", npi: "", pageSize: 10, after: "")
        #expect(claims.count == 1 && claims[0].creditType == .amaPraCategory1 && claims[0].credits == 1.5 && claims[0].minutesAttended == 90)
        let a = try await store.activity(id: "hf")
        #expect(a?.creditOffers.isEmpty == true && LearnerRules.offers(a!).map(\.type) == [.amaPraCategory1])
    }
}
