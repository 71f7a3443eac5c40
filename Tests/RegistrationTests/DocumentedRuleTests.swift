import Foundation
import LVMessages
import LVRPC
import Registration
import RegistrationDomain
import Testing

/// docs/REGISTRATION.md rules that had no test: session length and objectives, the edges of the
/// 60-minute attendance window, page-size bounds, and the request id of every create.
@Suite("registration: documented rules, one test each")
struct DocumentedRuleTests {
    func addSession(_ f: Fixture, _ a: Activity, id: String, start: Int64, end: Int64, objectives: [String] = ["obj-1"]) async throws
        -> Lv_Registration_V1_AddSessionResponse {
        var s = Session()
        (s.activityId, s.sessionId, s.title, s.startMs, s.endMs, s.objectiveIds) = (a.activityId, id, "S", start, end, objectives)
        var r = Lv_Registration_V1_AddSessionRequest()
        r.requestId = "ses-\(id)"
        r.session = s
        return try await f.service.addSession(r, context: f.context)
    }

    @Test("a session lasts at most 24 h (24 h exactly is accepted), ends after it starts, and covers only objectives of its activity")
    func sessionRules() async throws {
        let f = try Fixture()
        let a = try await f.activity(id: "act-s")
        #expect(try await addSession(f, a, id: "day", start: t0, end: t0 + 24 * hour).created)
        await expectCode(.invalidArgument, rule: "range") { _ = try await addSession(f, a, id: "long", start: t0, end: t0 + 24 * hour + 1) }
        await expectCode(.invalidArgument, rule: "order") { _ = try await addSession(f, a, id: "empty", start: t0, end: t0) }
        await expectCode(.invalidArgument, rule: "order") { _ = try await addSession(f, a, id: "back", start: t0, end: t0 - 1) }
        await expectCode(.invalidArgument, rule: "unknown-objective") {
            _ = try await addSession(f, a, id: "other", start: t0, end: t0 + hour, objectives: ["obj-1", "obj-9"])
        }
    }

    @Test("check-in and check-out: exactly 60 minutes outside the scheduled window is accepted, one millisecond more is session-window")
    func windowEdges() async throws {
        let f = try Fixture()
        let a = try await f.activity(id: "act-w")
        let s = try await f.session(a, start: t0, hours: 1)
        _ = try await f.register(physician(1))
        try await f.enroll(a, npi(1))
        let minute: Int64 = 60_000
        await expectCode(.failedPrecondition, rule: "session-window") { _ = try await f.checkIn(npi(1), s, at: t0 - 60 * minute - 1) }
        #expect(try await f.checkIn(npi(1), s, at: t0 - 60 * minute).opened)
        await expectCode(.failedPrecondition, rule: "session-window") { _ = try await f.checkOut(npi(1), s, at: t0 + hour + 60 * minute + 1) }
        // Present from an hour early to an hour late: clipped to the one-hour window, 60 minutes.
        #expect(try await f.checkOut(npi(1), s, at: t0 + hour + 60 * minute).sessionMinutes == 60)
    }

    @Test("page size: 0 means 100, at most 1,000 per page (a larger size is clamped), the last page has no token; a foreign token is INVALID_ARGUMENT")
    func pagingBounds() async throws {
        let f = try Fixture()
        // 1,001 physicians, registered concurrently so the writer groups them into few commits.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for chunk in 0..<8 {
                group.addTask {
                    for n in stride(from: chunk, to: 1001, by: 8) { _ = try await f.register(physician(10_000 + n)) }
                }
            }
            try await group.waitForAll()
        }
        func page(_ size: UInt32, _ token: String = "") async throws -> Lv_Registration_V1_ListPhysiciansResponse {
            var r = Lv_Registration_V1_ListPhysiciansRequest()
            r.pageSize = size
            r.pageToken = token
            return try await f.service.listPhysicians(r, context: f.context)
        }
        let byDefault = try await page(0)
        #expect(byDefault.physicians.count == 100)
        #expect(!byDefault.nextPageToken.isEmpty)
        let one = try await page(1)
        #expect(one.physicians.count == 1)
        for size: UInt32 in [1000, 5000, UInt32.max] {
            let first = try await page(size)
            #expect(first.physicians.count == 1000, "page size \(size)")
            #expect(!first.nextPageToken.isEmpty)
            let last = try await page(size, first.nextPageToken)
            #expect(last.physicians.count == 1)
            #expect(last.nextPageToken.isEmpty)
            #expect(Set(first.physicians.map(\.npi) + last.physicians.map(\.npi)).count == 1001)
        }
        await expectCode(.invalidArgument, rule: "page-token") { _ = try await page(10, "not-a-token") }
    }

    /// Sends `make(id)` twice, then a different request under the same id: the retry returns the
    /// first answer (`created` false, nothing stored twice), the other request is `idempotency`.
    func expectIdempotent<R: Equatable>(_ name: String, first: () async throws -> R, retry: () async throws -> R,
                                        other: () async throws -> Void, same: (R, R) -> Bool) async throws {
        let a = try await first()
        let b = try await retry()
        #expect(same(a, b), "\(name): the retry answered \(b), the first call \(a)")
        await expectCode(.invalidArgument, rule: "idempotency") { try await other() }
    }

    @Test("every create takes a request id: a retry returns the first answer, the same id with another request is INVALID_ARGUMENT idempotency")
    func everyCreateIsIdempotent() async throws {
        let f = try Fixture()
        let ctx = f.context
        let svc = f.service

        var reg = Lv_Registration_V1_RegisterPhysicianRequest()
        (reg.requestId, reg.physician) = ("r-1", physician(1))
        var regOther = reg
        regOther.physician = physician(2)
        try await expectIdempotent("RegisterPhysician", first: { try await svc.registerPhysician(reg, context: ctx) },
                                   retry: { try await svc.registerPhysician(reg, context: ctx) },
                                   other: { _ = try await svc.registerPhysician(regOther, context: ctx) },
                                   same: { $0.physician == $1.physician && $0.created && !$1.created })
        _ = try await f.register(physician(2))

        var act = Lv_Registration_V1_CreateActivityRequest()
        act.requestId = "a-1"
        act.activity = try await f.activity(id: "template")
        act.activity!.activityId = "" // the service names it: a retry must return the same generated id
        act.activity!.createdMs = 0
        var actOther = act
        actOther.activity!.title = "Another title"
        var createdActivity = Activity()
        try await expectIdempotent("CreateActivity", first: { try await svc.createActivity(act, context: ctx) },
                                   retry: { try await svc.createActivity(act, context: ctx) },
                                   other: { _ = try await svc.createActivity(actOther, context: ctx) },
                                   same: { createdActivity = $0.activity!; return $0.activity == $1.activity && $0.created && !$1.created })

        var ses = Lv_Registration_V1_AddSessionRequest()
        ses.requestId = "s-1"
        var s = Session()
        (s.activityId, s.title, s.startMs, s.endMs, s.objectiveIds) = (createdActivity.activityId, "S", t0, t0 + hour, ["obj-1"])
        ses.session = s
        var sesOther = ses
        sesOther.session!.endMs = t0 + 2 * hour
        var session = Session()
        try await expectIdempotent("AddSession", first: { try await svc.addSession(ses, context: ctx) },
                                   retry: { try await svc.addSession(ses, context: ctx) },
                                   other: { _ = try await svc.addSession(sesOther, context: ctx) },
                                   same: { session = $0.session!; return $0.session == $1.session && $0.created && !$1.created })

        var enr = Lv_Registration_V1_EnrollRequest()
        (enr.requestId, enr.activityId, enr.npi, enr.cohort) = ("e-1", createdActivity.activityId, npi(1), .participant)
        var enrOther = enr
        enrOther.npi = npi(2)
        try await expectIdempotent("Enroll", first: { try await svc.enroll(enr, context: ctx) },
                                   retry: { try await svc.enroll(enr, context: ctx) },
                                   other: { _ = try await svc.enroll(enrOther, context: ctx) },
                                   same: { $0.enrollment == $1.enrollment })

        var att = Lv_Registration_V1_RecordAttendanceRequest()
        att.requestId = "t-1"
        var interval = AttendanceInterval()
        (interval.npi, interval.sessionId, interval.checkInMs, interval.checkOutMs) = (npi(1), session.sessionId, t0, t0 + hour)
        att.intervals = [interval]
        var attOther = att
        attOther.intervals[0].checkOutMs = t0 + 30 * 60_000
        try await expectIdempotent("RecordAttendance", first: { try await svc.recordAttendance(att, context: ctx) },
                                   retry: { try await svc.recordAttendance(att, context: ctx) },
                                   other: { _ = try await svc.recordAttendance(attOther, context: ctx) },
                                   same: { $0 == $1 && $0.accepted == 1 })

        var claim = Lv_Registration_V1_ClaimCreditRequest()
        (claim.requestId, claim.activityId, claim.npi, claim.credits) = ("c-1", createdActivity.activityId, npi(1), 1.0)
        var claimOther = claim
        claimOther.credits = 0.75
        try await expectIdempotent("ClaimCredit", first: { try await svc.claimCredit(claim, context: ctx) },
                                   retry: { try await svc.claimCredit(claim, context: ctx) },
                                   other: { _ = try await svc.claimCredit(claimOther, context: ctx) },
                                   same: { $0.claim == $1.claim })

        // Nothing was stored twice: one activity made from the request (plus the template), one session, one interval.
        var g = Lv_Registration_V1_GetAttendanceRequest()
        g.activityId = createdActivity.activityId
        let attendance = try await svc.getAttendance(g, context: ctx)
        #expect(attendance.physicians.map(\.minutesPresent) == [60])
        var ls = Lv_Registration_V1_ListSessionsRequest()
        ls.activityId = createdActivity.activityId
        #expect(try await svc.listSessions(ls, context: ctx).sessions.count == 1)
        #expect(try await svc.listActivities(.init(), context: ctx).activities.count == 2)
    }
}
