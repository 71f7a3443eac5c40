import LVStoreTestSupport
import Foundation
import LVDomain
import Logging
import LVMessages
import LVRPC
import LVStore
import LVTestSupport
import NIOConcurrencyHelpers
import Registration
import RegistrationDomain
import Testing

/// NPIs with a valid check digit, made from a counter.
func npi(_ n: Int) -> String {
    let nine = String(format: "%09d", 100_000_000 + n).utf8.map { Int($0) - 48 }
    return nine.map(String.init).joined() + String(NPI.checkDigit(firstNine: nine))
}

func physician(_ n: Int, specialty: String = "Cardiology", state: String = "MA") -> Physician {
    var p = Physician()
    p.npi = npi(n)
    p.givenName = "Given\(n)"
    p.familyName = "Family\(n)"
    p.specialty = specialty
    var l = Lv_Registration_V1_Licence()
    l.state = state
    l.number = "L\(n)"
    p.licences = [l]
    p.birthMonth = UInt32(n % 12 + 1)
    p.birthDay = UInt32(n % 28 + 1)
    return p
}

let hour: Int64 = 3_600_000
let t0: Int64 = 1_795_694_400_000 // 2026-11-26T12:00:00Z

/// A service on a fresh SQLite file with a clock the test moves.
struct Fixture {
    let service: RegistrationService
    let now: NIOLockedValueBox<Int64>
    let context = ServerContext.test

    init() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let now = NIOLockedValueBox(t0)
        self.now = now
        service = RegistrationService(store: try RegistrationStore(backend: TestDatabase.backend(path: dir.appendingPathComponent("r.sqlite").path)),
                                      clock: { now.withLockedValue { $0 } })
    }

    func register(_ p: Physician, id: String? = nil) async throws -> Lv_Registration_V1_RegisterPhysicianResponse {
        var r = Lv_Registration_V1_RegisterPhysicianRequest()
        r.requestId = id ?? "reg-\(p.npi)"
        r.physician = p
        return try await service.registerPhysician(r, context: context)
    }

    func activity(maxCredits: Double = 3, id: String = "") async throws -> Activity {
        var a = Activity()
        a.activityId = id
        a.title = "Heart failure update"
        a.type = .course
        a.startDate = "2026-11-26"
        a.endDate = "2026-11-26"
        a.maxCredits = maxCredits
        a.targetMooreLevel = 5
        var o = Lv_Registration_V1_LearningObjective()
        o.id = "obj-1"
        o.text = "Start guideline-directed therapy"
        a.objectives = [o]
        var r = Lv_Registration_V1_CreateActivityRequest()
        r.requestId = "act-\(id)-\(maxCredits)"
        r.activity = a
        return try await service.createActivity(r, context: context).activity!
    }

    func session(_ activity: Activity, start: Int64, hours: Int64) async throws -> Session {
        var s = Session()
        s.activityId = activity.activityId
        s.title = "Session"
        s.startMs = start
        s.endMs = start + hours * hour
        s.objectiveIds = ["obj-1"]
        var r = Lv_Registration_V1_AddSessionRequest()
        r.requestId = "ses-\(activity.activityId)-\(start)"
        r.session = s
        return try await service.addSession(r, context: context).session!
    }

    func enroll(_ activity: Activity, _ npi: String, _ cohort: Cohort = .participant) async throws {
        var r = Lv_Registration_V1_EnrollRequest()
        r.requestId = "enr-\(activity.activityId)-\(npi)"
        r.activityId = activity.activityId
        r.npi = npi
        r.cohort = cohort
        _ = try await service.enroll(r, context: context)
    }

    func checkIn(_ npi: String, _ s: Session, at: Int64) async throws -> Lv_Registration_V1_CheckInResponse {
        var r = Lv_Registration_V1_CheckInRequest()
        r.npi = npi
        r.sessionId = s.sessionId
        r.atMs = at
        return try await service.checkIn(r, context: context)
    }

    func checkOut(_ npi: String, _ s: Session, at: Int64) async throws -> Lv_Registration_V1_CheckOutResponse {
        var r = Lv_Registration_V1_CheckOutRequest()
        r.npi = npi
        r.sessionId = s.sessionId
        r.atMs = at
        return try await service.checkOut(r, context: context)
    }

    func claim(_ activity: Activity, _ npi: String, _ credits: Double, id: String? = nil) async throws -> Lv_Registration_V1_ClaimCreditResponse {
        var r = Lv_Registration_V1_ClaimCreditRequest()
        r.requestId = id ?? "cr-\(activity.activityId)-\(npi)-\(credits)"
        r.activityId = activity.activityId
        r.npi = npi
        r.credits = credits
        return try await service.claimCredit(r, context: context)
    }
}

func expectCode(_ code: StatusCode, rule: String? = nil, _ body: () async throws -> Void) async {
    do {
        guard let e = await wireError({ try await body() }) else { Issue.record("expected \(code.protoName), got success"); return }
        #expect(e.code == code, "\(e)")
        if let rule { #expect(e.violations.contains { $0.rule == rule }, "no rule \(rule) in \(e)") }
    }
}

@Suite("registration service on a real SQLite file")
struct ServiceTests {
    @Test("registering the same NPI: same data returns the record, different data is ALREADY_EXISTS")
    func registerIdempotent() async throws {
        let f = try Fixture()
        let first = try await f.register(physician(1))
        #expect(first.created)
        let again = try await f.register(physician(1), id: "another-request")
        #expect(!again.created)
        #expect(again.physician == first.physician)
        var changed = physician(1)
        changed.familyName = "Other"
        await expectCode(.alreadyExists) { _ = try await f.register(changed, id: "third") }
        // A retry with the first request id replays the first answer.
        let replay = try await f.register(physician(1))
        #expect(replay.physician == first.physician && !replay.created)
        // The same request id with a different request is refused.
        await expectCode(.invalidArgument, rule: "idempotency") { _ = try await f.register(physician(2), id: "reg-\(npi(1))") }
    }

    @Test("invalid physicians are refused naming each field")
    func invalidPhysician() async throws {
        let f = try Fixture()
        var p = physician(1)
        p.npi = "1234567890"
        p.givenName = ""
        p.licences[0].state = "XX"
        p.birthMonth = 2
        p.birthDay = 30
        do {
            guard let e = await wireError({ _ = try await f.register(p) }) else { Issue.record("accepted an invalid physician"); return }
            #expect(e.code == .invalidArgument)
            #expect(Set(e.violations.map(\.field)) == ["physician.npi", "physician.given_name", "physician.licences[0].state", "physician.birth_day"])
        }
    }

    @Test("update replaces only the masked fields; an unknown field is refused")
    func update() async throws {
        let f = try Fixture()
        _ = try await f.register(physician(1))
        f.now.withLockedValue { $0 += 1000 }
        var u = Lv_Registration_V1_UpdatePhysicianRequest()
        u.npi = npi(1)
        var p = Physician()
        p.specialty = "Nephrology"
        p.familyName = "Ignored"
        u.physician = p
        u.updateMask = ["specialty"]
        let updated = try await f.service.updatePhysician(u, context: f.context).physician!
        #expect(updated.specialty == "Nephrology")
        #expect(updated.familyName == "Family1")
        #expect(updated.updatedMs == t0 + 1000 && updated.createdMs == t0)
        u.updateMask = ["npi"]
        await expectCode(.invalidArgument, rule: "unknown-field") { _ = try await f.service.updatePhysician(u, context: f.context) }
    }

    @Test("pages stay correct while rows are inserted between them")
    func paginationUnderInserts() async throws {
        let f = try Fixture()
        for i in stride(from: 0, to: 60, by: 2) { _ = try await f.register(physician(i)) }
        var seen: [String] = []
        var request = Lv_Registration_V1_ListPhysiciansRequest()
        request.pageSize = 7
        var inserted = 1
        repeat {
            let page = try await f.service.listPhysicians(request, context: f.context)
            seen += page.physicians.map(\.npi)
            // Insert rows before and after the cursor between pages.
            _ = try await f.register(physician(inserted))
            _ = try await f.register(physician(1000 + inserted))
            inserted += 2
            request.pageToken = page.nextPageToken
        } while !request.pageToken.isEmpty
        #expect(seen == seen.sorted(), "pages are in key order")
        #expect(Set(seen).count == seen.count, "no row appears twice")
        let original = Set(stride(from: 0, to: 60, by: 2).map { npi($0) })
        #expect(original.isSubset(of: Set(seen)), "every row present at the start is listed")
    }

    @Test("physicians filter by specialty and licence state")
    func filters() async throws {
        let f = try Fixture()
        _ = try await f.register(physician(1, specialty: "Cardiology", state: "MA"))
        _ = try await f.register(physician(2, specialty: "Cardiology", state: "NY"))
        _ = try await f.register(physician(3, specialty: "Oncology", state: "MA"))
        var r = Lv_Registration_V1_ListPhysiciansRequest()
        r.specialty = "Cardiology"
        #expect(try await f.service.listPhysicians(r, context: f.context).physicians.map(\.npi) == [npi(1), npi(2)])
        r.licenceState = "MA"
        #expect(try await f.service.listPhysicians(r, context: f.context).physicians.map(\.npi) == [npi(1)])
        r.pageToken = "garbage"
        await expectCode(.invalidArgument, rule: "page-token") { _ = try await f.service.listPhysicians(r, context: f.context) }
    }

    @Test("attendance: check-out without check-in, outside the window, unknown session, not enrolled")
    func attendanceRules() async throws {
        let f = try Fixture()
        let a = try await f.activity()
        let s = try await f.session(a, start: t0, hours: 2)
        _ = try await f.register(physician(1))
        _ = try await f.register(physician(2))
        await expectCode(.failedPrecondition, rule: "not-enrolled") { _ = try await f.checkIn(npi(1), s, at: t0) }
        try await f.enroll(a, npi(1))
        try await f.enroll(a, npi(2), .comparison)
        await expectCode(.failedPrecondition, rule: "comparison-cohort") { _ = try await f.checkIn(npi(2), s, at: t0) }
        await expectCode(.failedPrecondition, rule: "check-out-without-check-in") { _ = try await f.checkOut(npi(1), s, at: t0 + hour) }
        await expectCode(.failedPrecondition, rule: "session-window") { _ = try await f.checkIn(npi(1), s, at: t0 - 3 * hour) }
        var unknown = s
        unknown.sessionId = "ses_nope"
        await expectCode(.notFound) { _ = try await f.checkIn(npi(1), unknown, at: t0) }
        await expectCode(.notFound) { _ = try await f.checkIn(npi(99), s, at: t0) }

        // Late arrival, a drop-out and a rejoin: minutes merged and clipped to the session.
        #expect(try await f.checkIn(npi(1), s, at: t0 - 10 * 60_000).opened)
        #expect(!(try await f.checkIn(npi(1), s, at: t0)).opened, "a second check-in while checked in is a no-op")
        #expect(try await f.checkOut(npi(1), s, at: t0 + 30 * 60_000).sessionMinutes == 30)
        _ = try await f.checkIn(npi(1), s, at: t0 + 60 * 60_000)
        await expectCode(.invalidArgument, rule: "order") { _ = try await f.checkOut(npi(1), s, at: t0 + 50 * 60_000) }
        #expect(try await f.checkOut(npi(1), s, at: t0 + 150 * 60_000).sessionMinutes == 90)
    }

    @Test("bulk attendance stores the valid intervals, reports each invalid one, and counts duplicates")
    func bulkAttendance() async throws {
        let f = try Fixture()
        let a = try await f.activity()
        let s = try await f.session(a, start: t0, hours: 1)
        for i in 1...3 { _ = try await f.register(physician(i)); try await f.enroll(a, npi(i)) }
        func interval(_ n: Int, _ from: Int64, _ to: Int64) -> AttendanceInterval {
            var x = AttendanceInterval()
            x.npi = npi(n)
            x.sessionId = s.sessionId
            x.checkInMs = t0 + from * 60_000
            x.checkOutMs = t0 + to * 60_000
            return x
        }
        var r = Lv_Registration_V1_RecordAttendanceRequest()
        r.requestId = "bulk-1"
        r.intervals = [interval(1, 0, 60), interval(2, 10, 5), interval(3, 0, 45), interval(1, 0, 60), interval(9, 0, 10)]
        let response = try await f.service.recordAttendance(r, context: f.context)
        #expect(response.accepted == 2)
        #expect(response.duplicates == 1)
        #expect(response.rejected.map(\.field) == ["intervals[1]", "intervals[4]"])
        #expect(response.rejected.map(\.rule) == ["order", "not_found"])
        // Retrying the upload changes nothing and answers the same.
        #expect(try await f.service.recordAttendance(r, context: f.context) == response)
        var g = Lv_Registration_V1_GetAttendanceRequest()
        g.activityId = a.activityId
        let attendance = try await f.service.getAttendance(g, context: f.context)
        #expect(attendance.scheduledMinutes == 60)
        #expect(attendance.physicians.map(\.minutesPresent) == [60, 0, 45])
    }

    @Test("credit: bounded by time attended and the maximum, one claim per physician, participants only")
    func credit() async throws {
        let f = try Fixture()
        let a = try await f.activity(maxCredits: 1.5)
        let s = try await f.session(a, start: t0, hours: 2)
        for i in 1...3 { _ = try await f.register(physician(i)) }
        try await f.enroll(a, npi(1))
        try await f.enroll(a, npi(3), .comparison)
        _ = try await f.checkIn(npi(1), s, at: t0)
        _ = try await f.checkOut(npi(1), s, at: t0 + 74 * 60_000) // 74 min → 1.0 credit
        await expectCode(.failedPrecondition, rule: "time-attended") { _ = try await f.claim(a, npi(1), 1.25) }
        await expectCode(.invalidArgument, rule: "activity-maximum") { _ = try await f.claim(a, npi(1), 1.75) }
        await expectCode(.invalidArgument, rule: "quarter-step") { _ = try await f.claim(a, npi(1), 0.3) }
        await expectCode(.failedPrecondition, rule: "not-enrolled") { _ = try await f.claim(a, npi(2), 0.25) }
        await expectCode(.failedPrecondition, rule: "comparison-cohort") { _ = try await f.claim(a, npi(3), 0.25) }
        let claim = try await f.claim(a, npi(1), 1.0)
        #expect(claim.created && claim.claim?.minutesAttended == 74)
        #expect(!(try await f.claim(a, npi(1), 1.0, id: "again")).created)
        await expectCode(.alreadyExists, rule: "one-claim") { _ = try await f.claim(a, npi(1), 0.5) }
        var list = Lv_Registration_V1_ListCreditsRequest()
        list.npi = npi(1)
        #expect(try await f.service.listCredits(list, context: f.context).claims.map(\.credits) == [1.0])
    }

    @Test("withdrawn physicians cannot attend; enrolling again restores them; the cohort cannot change")
    func withdraw() async throws {
        let f = try Fixture()
        let a = try await f.activity()
        let s = try await f.session(a, start: t0, hours: 1)
        _ = try await f.register(physician(1))
        try await f.enroll(a, npi(1))
        var w = Lv_Registration_V1_WithdrawRequest()
        w.activityId = a.activityId
        w.npi = npi(1)
        #expect(try await f.service.withdraw(w, context: f.context).enrollment?.withdrawnMs == t0)
        await expectCode(.failedPrecondition, rule: "not-enrolled") { _ = try await f.checkIn(npi(1), s, at: t0) }
        var e = Lv_Registration_V1_EnrollRequest()
        e.requestId = "re-enroll"
        e.activityId = a.activityId
        e.npi = npi(1)
        e.cohort = .participant
        #expect(try await f.service.enroll(e, context: f.context).created)
        _ = try await f.checkIn(npi(1), s, at: t0)
        e.requestId = "switch"
        e.cohort = .comparison
        await expectCode(.failedPrecondition, rule: "cohort-change") { _ = try await f.service.enroll(e, context: f.context) }
    }
}
