import LVMessages
import LVDomain
import LVRPC
import Registration
import RegistrationDomain
import Testing

@Suite("registration rules")
struct RulesTests {
    @Test("NPI check digit: the CMS example 123456789 has check digit 3")
    func npiPublishedExample() {
        #expect(NPI.checkDigit(firstNine: [1, 2, 3, 4, 5, 6, 7, 8, 9]) == 3)
        #expect(NPI.isValid("1234567893"))
        #expect(NPI.problem("1234567890")?.rule == "luhn")
    }

    @Test("NPI format: exactly ten ASCII digits", arguments: ["123456789", "12345678931", "12345a7893", "", "１２３４５６７８９３"])
    func npiFormat(text: String) {
        #expect(NPI.problem(text)?.rule == "format")
    }

    @Test("NPI check digit agrees with an independent Luhn over the 15-digit card number")
    func npiAgainstPlainLuhn() {
        // Plain Luhn validity of "80840" + all ten digits (sum mod 10 == 0) is the definition.
        func luhnValid(_ digits: [Int]) -> Bool {
            let sum = digits.reversed().enumerated().reduce(0) { acc, pair in
                let (i, d) = pair
                if i % 2 == 1 { let x = d * 2; return acc + (x > 9 ? x - 9 : x) }
                return acc + d
            }
            return sum % 10 == 0
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let nine = (0..<9).map { _ in Int.random(in: 0...9, using: &generator) }
            let check = NPI.checkDigit(firstNine: nine)
            #expect(luhnValid([8, 0, 8, 4, 0] + nine + [check]))
            #expect(!luhnValid([8, 0, 8, 4, 0] + nine + [(check + 1) % 10]))
        }
    }

    @Test("presence merges overlaps and repeats and clips to the session window")
    func presence() {
        let m = 60_000 as Int64
        let window = (start: 0 * m, end: 60 * m)
        #expect(Presence.minutes([(0, 30 * m)], window: window) == 30)
        #expect(Presence.minutes([(0, 30 * m), (20 * m, 40 * m)], window: window) == 40)      // overlap
        #expect(Presence.minutes([(0, 30 * m), (0, 30 * m)], window: window) == 30)           // duplicate upload
        #expect(Presence.minutes([(-30 * m, 10 * m), (50 * m, 90 * m)], window: window) == 20) // clipped both ends
        #expect(Presence.minutes([(10 * m, 20 * m), (20 * m, 30 * m)], window: window) == 20)  // touching
        #expect(Presence.minutes([(70 * m, 80 * m)], window: window) == 0)                    // outside
        #expect(Presence.minutes([], window: window) == 0)
    }

    @Test("credit is one per 60 minutes rounded down to a quarter", arguments: [
        (0, 0.0), (14, 0.0), (15, 0.25), (59, 0.75), (60, 1.0), (74, 1.0), (75, 1.25), (390, 6.5),
    ])
    func earned(minutes: Int, credits: Double) {
        #expect(CreditRules.earned(minutes: minutes) == credits)
    }

    @Test("a claim is bounded by the activity maximum and by time attended")
    func claimBounds() {
        #expect(CreditRules.problem(credits: 1.0, minutesAttended: 60, activityMaximum: 2, hasSessions: true) == nil)
        #expect(CreditRules.problem(credits: 1.25, minutesAttended: 60, activityMaximum: 2, hasSessions: true)?.rule == "time-attended")
        #expect(CreditRules.problem(credits: 2.25, minutesAttended: 600, activityMaximum: 2, hasSessions: true)?.rule == "activity-maximum")
        #expect(CreditRules.problem(credits: 0.3, minutesAttended: 600, activityMaximum: 2, hasSessions: true)?.rule == "quarter-step")
        #expect(CreditRules.problem(credits: 0, minutesAttended: 600, activityMaximum: 2, hasSessions: true)?.rule == "range")
        // Without sessions (enduring material) only the maximum applies.
        #expect(CreditRules.problem(credits: 2.0, minutesAttended: 0, activityMaximum: 2, hasSessions: false) == nil)
    }

    @Test("activity validation names every broken field")
    func activityValidation() {
        var a = Activity()
        a.title = " "
        a.startDate = "2026-02-30"
        a.endDate = "2026-01-01"
        a.maxCredits = 1.1
        a.targetMooreLevel = 9
        var o = Lv_Registration_V1_LearningObjective()
        o.id = "obj 1"
        a.objectives = [o, o]
        var v = Violations()
        RegistrationRules.validate(a, &v)
        let fields = Set(v.list.map { "\($0.field)/\($0.rule)" })
        for expected in ["activity.title/required", "activity.type/required", "activity.start_date/date",
                         "activity.max_credits/quarter-step", "activity.target_moore_level/range",
                         "activity.objectives[0].id/identifier", "activity.objectives[1].id/unique",
                         "activity.objectives[0].text/required"] {
            #expect(fields.contains(expected), "missing \(expected) in \(fields)")
        }
        #expect(throws: DomainError.self) { try v.throwIfAny() }
    }

    @Test("dates: leap years and month lengths")
    func days() {
        #expect(CalendarDay("2024-02-29") != nil)
        #expect(CalendarDay("2026-02-29") == nil)
        #expect(CalendarDay("2000-02-29") != nil)
        #expect(CalendarDay("1900-02-29") == nil)
        #expect(CalendarDay("2026-04-31") == nil)
        #expect(CalendarDay("2026-4-01") == nil)
        #expect(CalendarDay("2026-01-02")! < CalendarDay("2026-01-10")!)
    }
}
