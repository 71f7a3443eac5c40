import LVAPI
import LVMessages
import LVDomain
import LVRPC

public typealias Physician = Lv_Registration_V1_Physician
public typealias Activity = Lv_Registration_V1_Activity
public typealias Session = Lv_Registration_V1_Session
public typealias ActivityType = Lv_Registration_V1_ActivityType
public typealias Cohort = Lv_Registration_V1_Cohort

/// The validation rules of the registration API (plain functions, no I/O).
public enum RegistrationRules {
    /// Two-letter USPS codes of the states, DC and territories that license physicians.
    public static let licenceStates: Set<String> = [
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
        "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR",
        "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR", "GU", "VI", "AS", "MP",
    ]

    public static func requestID(_ id: String, _ v: inout Violations) {
        v.require(!id.isEmpty, "request_id", "required", "every create needs a client request id so a retry is safe")
        v.require(id.utf8.count <= 128, "request_id", "length", "at most 128 bytes")
    }

    public static func validate(_ p: Physician, prefix: String = "physician", _ v: inout Violations) {
        if let problem = NPI.problem(p.npi) { v.add("\(prefix).npi", problem.rule, problem.message) }
        v.require(!p.givenName.trimmed.isEmpty, "\(prefix).given_name", "required", "a given name is required")
        v.require(!p.familyName.trimmed.isEmpty, "\(prefix).family_name", "required", "a family name is required")
        validateBirth(p, prefix: prefix, &v)
        for (i, l) in p.licences.enumerated() {
            v.require(licenceStates.contains(l.state), "\(prefix).licences[\(i)].state", "usps-state",
                      "'\(l.state)' is not a two-letter USPS state or territory code")
            v.require(!l.number.trimmed.isEmpty, "\(prefix).licences[\(i)].number", "required", "a licence number is required")
        }
        for (i, b) in p.boardIds.enumerated() {
            v.require(!b.board.trimmed.isEmpty, "\(prefix).board_ids[\(i)].board", "required", "the certifying board is required")
            v.require(!b.id.trimmed.isEmpty, "\(prefix).board_ids[\(i)].id", "required", "the board id is required")
        }
    }

    static func validateBirth(_ p: Physician, prefix: String, _ v: inout Violations) {
        v.require(p.birthMonth <= 12, "\(prefix).birth_month", "range", "1-12, or 0 when unknown")
        if (1...12).contains(p.birthMonth) {
            v.require(p.birthDay <= CalendarDay.daysInMonth[Int(p.birthMonth) - 1], "\(prefix).birth_day", "range",
                      "1-\(CalendarDay.daysInMonth[Int(p.birthMonth) - 1]) in month \(p.birthMonth), or 0 when unknown")
        } else {
            v.require(p.birthDay == 0, "\(prefix).birth_day", "range", "a birth day needs a birth month")
        }
    }

    public static let updatableFields: Set<String> = [
        "given_name", "family_name", "specialty", "licences", "board_ids", "birth_month", "birth_day", "email",
    ]

    /// Applies `update` to `current` for the fields in `mask`; the result is validated by the caller.
    public static func apply(_ update: Physician, to current: Physician, mask: [String], _ v: inout Violations) -> Physician {
        v.require(!mask.isEmpty, "update_mask", "required", "name the fields to replace")
        var next = current
        for (i, field) in mask.enumerated() {
            switch field {
            case "given_name": next.givenName = update.givenName
            case "family_name": next.familyName = update.familyName
            case "specialty": next.specialty = update.specialty
            case "licences": next.licences = update.licences
            case "board_ids": next.boardIds = update.boardIds
            case "birth_month": next.birthMonth = update.birthMonth
            case "birth_day": next.birthDay = update.birthDay
            case "email": next.email = update.email
            default:
                v.add("update_mask[\(i)]", "unknown-field",
                      "'\(field)' cannot be updated; one of \(updatableFields.sorted().joined(separator: ", "))")
            }
        }
        return next
    }

    public static func validate(_ a: Activity, _ v: inout Violations) {
        v.require(!a.title.trimmed.isEmpty, "activity.title", "required", "a title is required")
        if case .unrecognized = a.type {
            v.add("activity.type", "enum", "unknown activity type \(a.type.rawValue)")
        }
        v.require(a.type != .unspecified, "activity.type", "required", "an ACCME activity type is required")
        let start = CalendarDay(a.startDate)
        let end = CalendarDay(a.endDate)
        v.require(start != nil, "activity.start_date", "date", "'\(a.startDate)' is not a YYYY-MM-DD date")
        v.require(end != nil, "activity.end_date", "date", "'\(a.endDate)' is not a YYYY-MM-DD date")
        if let start, let end { v.require(start <= end, "activity.end_date", "order", "the end date is before the start date") }
        v.require(a.maxCredits >= 0.25 && a.maxCredits <= 1000, "activity.max_credits", "range", "0.25 to 1000 credits")
        v.require(CreditRules.isQuarterStep(a.maxCredits), "activity.max_credits", "quarter-step", "credits come in steps of 0.25")
        v.require((1...7).contains(a.targetMooreLevel), "activity.target_moore_level", "range", "a Moore level from 1 to 7")
        v.require(!a.objectives.isEmpty, "activity.objectives", "required", "at least one learning objective")
        var seen: Set<String> = []
        for (i, o) in a.objectives.enumerated() {
            v.require(Identifier.isValid(o.id), "activity.objectives[\(i)].id", "identifier", "1-64 of letters, digits, '-', '_' or '.'")
            v.require(seen.insert(o.id).inserted, "activity.objectives[\(i)].id", "unique", "'\(o.id)' is used twice")
            v.require(!o.text.trimmed.isEmpty, "activity.objectives[\(i)].text", "required", "the objective's text is required")
        }
        if !a.activityId.isEmpty {
            v.require(Identifier.isValid(a.activityId), "activity.activity_id", "identifier", "1-64 of letters, digits, '-', '_' or '.'")
        }
    }

    public static func validate(_ s: Session, activity: Activity, _ v: inout Violations) {
        v.require(s.startMs > 0, "session.start_ms", "required", "a start time is required")
        v.require(s.endMs > s.startMs, "session.end_ms", "order", "the session must end after it starts")
        v.require(s.endMs - s.startMs <= 24 * 3_600_000, "session.end_ms", "range", "a session lasts at most 24 hours")
        let objectives = Set(activity.objectives.map(\.id))
        for (i, id) in s.objectiveIds.enumerated() {
            v.require(objectives.contains(id), "session.objective_ids[\(i)]", "unknown-objective",
                      "'\(id)' is not an objective of activity \(activity.activityId)")
        }
        if !s.sessionId.isEmpty {
            v.require(Identifier.isValid(s.sessionId), "session.session_id", "identifier", "1-64 of letters, digits, '-', '_' or '.'")
        }
    }

    /// How far outside a session's scheduled window a check-in or check-out may be.
    public static let attendanceTolerance: Int64 = 60 * 60_000

    /// Nil when `at` may be recorded for a session scheduled `start...end`.
    public static func attendanceTimeProblem(_ at: Int64, start: Int64, end: Int64) -> String? {
        if at < start - attendanceTolerance || at > end + attendanceTolerance {
            return "time \(at) is more than 60 minutes outside the session's scheduled window \(start)-\(end)"
        }
        return nil
    }
}

/// ACCME activity type codes as PARS and CME staff write them.
public enum ACCMECode {
    static let byType: [(ActivityType, String)] = [
        (.course, "C"), (.regularlyScheduledSeries, "RSS"), (.internetLiveCourse, "IL"), (.enduringMaterial, "EM"),
        (.internetEnduringMaterial, "IEM"), (.journalCme, "JN"), (.manuscriptReview, "MR"), (.testItemWriting, "TIW"),
        (.committeeLearning, "CML"), (.performanceImprovement, "PI"), (.internetSearchingAndLearning, "ISL"),
        (.learningFromTeaching, "LFT"),
    ]

    public static func code(_ type: ActivityType) -> String? { byType.first { $0.0 == type }?.1 }
    public static func type(_ code: String) -> ActivityType? { byType.first { $0.1 == code.uppercased() }?.0 }
    public static var allCodes: [String] { byType.map(\.1) }
}

extension String {
    var trimmed: Substring {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return s
    }
}
