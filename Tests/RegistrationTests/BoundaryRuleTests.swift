import LVDomain
import LVMessages
import Registration
import RegistrationDomain
import Testing

/// The edges of the registration rules, found by scripts/mutate.py (each mutant of `<=`/`<` or
/// `&&`/`||` here survived the suite before): one value on each side of every bound.
@Suite("registration rule boundaries")
struct BoundaryRuleTests {
    func rules(_ check: (inout Violations) -> Void) -> Set<String> {
        var v = Violations()
        check(&v)
        return Set(v.list.map { "\($0.field)/\($0.rule)" })
    }

    @Test("request_id: 128 bytes accepted, 129 refused (length)")
    func requestIDLength() {
        #expect(rules { RegistrationRules.requestID(String(repeating: "r", count: 128), &$0) }.isEmpty)
        #expect(rules { RegistrationRules.requestID(String(repeating: "r", count: 129), &$0) } == ["request_id/length"])
    }

    @Test("birth: the last day of the month is accepted, the day after refused; a day without a month refused; nothing given is fine",
          arguments: [
              (UInt32(4), UInt32(30), true), (4, 31, false), (1, 31, true), (2, 29, true), (2, 30, false), (12, 31, true),
              (0, 0, true), (0, 5, false), (13, 1, false),
          ])
    func birth(month: UInt32, day: UInt32, ok: Bool) {
        var p = physician(1)
        (p.birthMonth, p.birthDay) = (month, day)
        let found = rules { RegistrationRules.validate(p, &$0) }
        #expect(found.isEmpty == ok, "\(month)-\(day): \(found)")
        if !ok { #expect(found.contains("physician.birth_day/range") || found.contains("physician.birth_month/range")) }
    }

    func activity(moore: UInt32 = 5, credits: Double = 1) -> Activity {
        var a = Activity()
        (a.title, a.type, a.startDate, a.endDate, a.targetMooreLevel, a.maxCredits) = ("T", .course, "2026-11-26", "2026-11-26", moore, credits)
        var o = Lv_Registration_V1_LearningObjective()
        (o.id, o.text) = ("obj-1", "Objective")
        a.objectives = [o]
        return a
    }

    @Test("target Moore level: 1 and 7 accepted, 0 and 8 refused (range)", arguments: [(UInt32(1), true), (7, true), (0, false), (8, false)])
    func mooreLevel(level: UInt32, ok: Bool) {
        let found = rules { RegistrationRules.validate(activity(moore: level), &$0) }
        #expect(found.isEmpty == ok, "\(level): \(found)")
    }

    @Test("session start: 0 is missing (required), 1 ms after the epoch is a time (outside the activity's dates, not missing)")
    func sessionStart() {
        var s = Session()
        (s.startMs, s.endMs, s.objectiveIds) = (0, 3_600_000, ["obj-1"])
        #expect(rules { RegistrationRules.validate(s, activity: activity(), &$0) }.contains("session.start_ms/required"))
        s.startMs = 1
        let found = rules { RegistrationRules.validate(s, activity: activity(), &$0) }
        #expect(!found.contains("session.start_ms/required"), "\(found)")
        #expect(found.contains("session.start_ms/activity-dates"), "\(found)")
    }

    @Test("activity max credits: 0.25 and 1000 accepted; 0, 1000.25 and 5000 refused (range)",
          arguments: [(0.25, true), (1000.0, true), (0.0, false), (1000.25, false), (5000.0, false)])
    func maxCredits(credits: Double, ok: Bool) {
        var a = Activity()
        (a.title, a.type, a.startDate, a.endDate, a.targetMooreLevel) = ("T", .course, "2026-11-26", "2026-11-26", 5)
        var o = Lv_Registration_V1_LearningObjective()
        (o.id, o.text) = ("obj-1", "Objective")
        a.objectives = [o]
        a.maxCredits = credits
        let found = rules { RegistrationRules.validate(a, &$0) }
        #expect(found.contains("activity.max_credits/range") == !ok, "\(credits): \(found)")
    }
}

@Suite("ACCME activity type codes")
struct ACCMECodeTests {
    @Test("codes as ACCME publishes them, both ways, case-insensitive in")
    func codes() {
        #expect(ACCMECode.code(.course) == "C")
        #expect(ACCMECode.code(.regularlyScheduledSeries) == "RSS")
        #expect(ACCMECode.code(.journalCme) == "JN")
        #expect(ACCMECode.code(.learningFromTeaching) == "LFT")
        #expect(ACCMECode.type("rss") == .regularlyScheduledSeries)
        #expect(ACCMECode.type("IEM") == .internetEnduringMaterial)
        #expect(ACCMECode.type("XYZ") == nil)
    }
}
