import LVDomain
import LVMessages
import LVRPC
import Registration
import RegistrationDomain
import Testing

/// Issue #12: values at the ends of their types must answer INVALID_ARGUMENT, never trap.
@Suite("registration under hostile input")
struct RegistrationHostileInputTests {
    static let extremes: [Int64] = [.min, .min + 1, -1, 0, 1, .max - 1, .max]

    @Test("AddSession with the audit's crash payload (start -1, end 2^63-1) and its siblings is INVALID_ARGUMENT")
    func sessionExtremes() async throws {
        let f = try Fixture()
        let a = try await f.activity()
        var n = 0
        for start in Self.extremes {
            for end in Self.extremes {
                n += 1
                var s = Session()
                s.activityId = a.activityId
                (s.startMs, s.endMs) = (start, end)
                var r = Lv_Registration_V1_AddSessionRequest()
                r.requestId = "hostile-\(n)"
                r.session = s
                await expectCode(.invalidArgument) { _ = try await f.service.addSession(r, context: f.context) }
            }
        }
    }

    @Test("the session rule itself on Int64 extremes: no trap, a named field")
    func sessionRule() {
        var a = Activity()
        (a.startDate, a.endDate) = ("2026-11-26", "2026-11-26")
        for start in Self.extremes {
            for end in Self.extremes {
                var s = Session()
                (s.startMs, s.endMs) = (start, end)
                var v = Violations()
                RegistrationRules.validate(s, activity: a, &v)
                #expect(!v.list.isEmpty)
                #expect(v.list.allSatisfy { $0.field.hasPrefix("session.") })
            }
        }
        #expect(RegistrationRules.attendanceTimeProblem(.min, start: .min, end: .max) == nil)
        #expect(RegistrationRules.attendanceTimeProblem(.max, start: .max - 1, end: .max) == nil)
        #expect(RegistrationRules.attendanceTimeProblem(.min, start: 0, end: 1) != nil)
    }

    @Test("sessions outside the activity's dates (1970, a week before) are refused by rule activity-dates")
    func sessionWindow() async throws {
        let f = try Fixture()
        let a = try await f.activity() // 2026-11-26
        for start in [Int64(1_000), t0 - 7 * 24 * hour, t0 + 7 * 24 * hour] {
            var s = Session()
            (s.activityId, s.startMs, s.endMs) = (a.activityId, start, start + hour)
            var r = Lv_Registration_V1_AddSessionRequest()
            (r.requestId, r.session) = ("window-\(start)", s)
            await expectCode(.invalidArgument, rule: "activity-dates") { _ = try await f.service.addSession(r, context: f.context) }
        }
        _ = try await f.session(a, start: t0, hours: 2) // inside: accepted
    }

    @Test("check-in and check-out times at Int64 extremes are INVALID_ARGUMENT at_ms")
    func attendanceExtremes() async throws {
        let f = try Fixture()
        let a = try await f.activity()
        let s = try await f.session(a, start: t0, hours: 2)
        let p = physician(1)
        _ = try await f.register(p)
        try await f.enroll(a, p.npi)
        for at in [Int64.min, -1, Int64.max] {
            await expectCode(.invalidArgument, rule: "range") { _ = try await f.checkIn(p.npi, s, at: at) }
            await expectCode(.invalidArgument, rule: "range") { _ = try await f.checkOut(p.npi, s, at: at) }
        }
        var bulk = Lv_Registration_V1_RecordAttendanceRequest()
        bulk.requestId = "bulk-extremes"
        for (i, (from, to)) in [(Int64.min, Int64.max), (-1, Int64.max), (Int64.max - 1, Int64.max)].enumerated() {
            var interval = Lv_Registration_V1_AttendanceInterval()
            (interval.npi, interval.sessionId, interval.checkInMs, interval.checkOutMs) = (p.npi, s.sessionId, from, to)
            bulk.intervals.append(interval)
            _ = i
        }
        let response = try await f.service.recordAttendance(bulk, context: f.context)
        #expect(response.accepted == 0)
        #expect(response.rejected.count == 3)
    }

    @Test("field rules: lengths, control characters, email shape, dates, list sizes — each names its field")
    func fieldRules() async throws {
        let f = try Fixture()
        let huge = String(repeating: "x", count: 1 << 20)
        func physicianProblem(_ change: (inout Physician) -> Void) -> [String] {
            var p = physician(7)
            change(&p)
            var v = Violations()
            RegistrationRules.validate(p, &v)
            return v.list.map { "\($0.field) \($0.rule)" }
        }
        #expect(physicianProblem { $0.givenName = huge } == ["physician.given_name length"])
        #expect(physicianProblem { $0.familyName = "Smith\u{1B}[31m" } == ["physician.family_name printable"])
        #expect(physicianProblem { $0.email = "not-an-email" } == ["physician.email email"])
        #expect(physicianProblem { $0.email = "a@example.org" } == [])
        #expect(physicianProblem { $0.licences = Array(repeating: $0.licences[0], count: 21) } == ["physician.licences count"])
        #expect(physicianProblem { $0.specialty = huge } == ["physician.specialty length"])

        func activityProblem(_ change: (inout Activity) -> Void) -> [String] {
            var a = Activity()
            (a.title, a.type, a.startDate, a.endDate, a.maxCredits, a.targetMooreLevel) = ("T", .course, "2026-11-26", "2026-11-26", 1, 3)
            var o = Lv_Registration_V1_LearningObjective()
            (o.id, o.text) = ("o1", "text")
            a.objectives = [o]
            change(&a)
            var v = Violations()
            RegistrationRules.validate(a, &v)
            return v.list.map { "\($0.field) \($0.rule)" }
        }
        #expect(activityProblem { $0.title = huge } == ["activity.title length"])
        #expect(activityProblem { $0.startDate = "0000-01-01" } == ["activity.start_date range"])
        #expect(activityProblem { $0.endDate = "3000-01-01" } == ["activity.end_date range"])
        #expect(activityProblem { $0.objectives[0].text = huge } == ["activity.objectives[0].text length"])
        #expect(activityProblem { a in
            a.objectives = (0..<101).map { var o = Lv_Registration_V1_LearningObjective(); (o.id, o.text) = ("o\($0)", "t"); return o }
        } == ["activity.objectives count"])

        var r = Lv_Registration_V1_EnrollRequest()
        (r.requestId, r.activityId, r.npi, r.cohort) = (String(repeating: "r", count: 129), "a", npi(1), .participant)
        await expectCode(.invalidArgument, rule: "length") { _ = try await f.service.enroll(r, context: f.context) }
        r.requestId = "line\nbreak"
        await expectCode(.invalidArgument, rule: "printable-ascii") { _ = try await f.service.enroll(r, context: f.context) }
        var get = Lv_Registration_V1_GetActivityRequest()
        get.activityId = huge
        await expectCode(.invalidArgument, rule: "identifier") { _ = try await f.service.getActivity(get, context: f.context) }
    }

    @Test("a request breaking a rule a million times gets the first 50 violations, and the count")
    func manyViolations() async throws {
        var v = Violations()
        for i in 0..<1_000_000 { v.add("f[\(i)]", "r", "m") }
        #expect(v.list.count == Violations.maximumReported)
        #expect(v.omitted == 1_000_000 - Violations.maximumReported)
        #expect(throws: DomainError.self) { try v.throwIfAny() }
    }
}
