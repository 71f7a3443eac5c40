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

    // MARK: the rules of every field (docs/REGISTRATION.md "Field rules" lists the same)

    /// Most licences and board ids one physician may hold.
    public static let maximumLicences = 20
    public static let maximumBoardIds = 20
    /// Most learning objectives of one activity, and objectives one session covers.
    public static let maximumObjectives = 100
    /// Most NPIs one batch read (ListPhysicians `npis`) may name.
    public static let maximumBatchNPIs = 1000
    /// Most fields one update may name.
    public static let maximumUpdateMask = 16
    /// Licence numbers and board ids: at most this many bytes.
    public static let credentialBytes = 64
    /// Sessions lie within the activity's dates, widened by a day before and two after for time zones.
    public static let sessionSlackBeforeMs: Int64 = 24 * 3_600_000
    public static let sessionSlackAfterMs: Int64 = 48 * 3_600_000
    /// Longest session.
    public static let maximumSessionMs: Int64 = 24 * 3_600_000

    public static func requestID(_ id: String, _ v: inout Violations) {
        v.requestID(id)
    }

    /// A lookup key given by the caller (activity, session id): at most 128 printable ASCII bytes.
    public static func key(_ id: String, _ field: String, _ v: inout Violations) {
        v.require(id.utf8.count <= FieldLimits.requestIDBytes && LogSafe.isPrintableASCII(id), field, "identifier",
                  "at most \(FieldLimits.requestIDBytes) bytes of printable ASCII")
    }

    public static func validate(_ p: Physician, prefix: String = "physician", _ v: inout Violations) {
        if let problem = NPI.problem(p.npi) { v.add("\(prefix).npi", problem.rule, problem.message) }
        v.text(p.givenName, "\(prefix).given_name", max: FieldLimits.nameBytes, required: true)
        v.text(p.familyName, "\(prefix).family_name", max: FieldLimits.nameBytes, required: true)
        v.text(p.specialty, "\(prefix).specialty", max: FieldLimits.nameBytes)
        v.email(p.email, "\(prefix).email")
        validateBirth(p, prefix: prefix, &v)
        LearnerRules.validate(p, prefix: prefix, &v)
        v.count(p.licences.count, "\(prefix).licences", max: maximumLicences)
        for (i, l) in p.licences.prefix(maximumLicences).enumerated() {
            v.require(licenceStates.contains(l.state), "\(prefix).licences[\(i)].state", "usps-state",
                      "'\(LogSafe.clip(l.state, 8))' is not a two-letter USPS state or territory code")
            v.text(l.number, "\(prefix).licences[\(i)].number", max: credentialBytes, required: true)
        }
        v.count(p.boardIds.count, "\(prefix).board_ids", max: maximumBoardIds)
        for (i, b) in p.boardIds.prefix(maximumBoardIds).enumerated() {
            v.text(b.board, "\(prefix).board_ids[\(i)].board", max: credentialBytes, required: true)
            v.text(b.id, "\(prefix).board_ids[\(i)].id", max: credentialBytes, required: true)
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
        "profession", "nabp_eprofile_id", "pars_consent",
    ]

    /// Applies `update` to `current` for the fields in `mask`; the result is validated by the caller.
    public static func apply(_ update: Physician, to current: Physician, mask: [String], _ v: inout Violations) -> Physician {
        v.require(!mask.isEmpty, "update_mask", "required", "name the fields to replace")
        v.count(mask.count, "update_mask", max: maximumUpdateMask)
        var next = current
        for (i, field) in mask.prefix(maximumUpdateMask).enumerated() {
            switch field {
            case "given_name": next.givenName = update.givenName
            case "family_name": next.familyName = update.familyName
            case "specialty": next.specialty = update.specialty
            case "licences": next.licences = update.licences
            case "board_ids": next.boardIds = update.boardIds
            case "birth_month": next.birthMonth = update.birthMonth
            case "birth_day": next.birthDay = update.birthDay
            case "email": next.email = update.email
            case "profession": next.profession = LearnerRules.effective(update.profession)
            case "nabp_eprofile_id": next.nabpEprofileId = update.nabpEprofileId
            case "pars_consent": next.parsConsent = update.parsConsent
            default:
                v.add("update_mask[\(i)]", "unknown-field",
                      "'\(LogSafe.clip(field, 32))' cannot be updated; one of \(updatableFields.sorted().joined(separator: ", "))")
            }
        }
        return next
    }

    public static func validate(_ a: Activity, _ v: inout Violations) {
        v.text(a.title, "activity.title", max: FieldLimits.titleBytes, required: true)
        if case .unrecognized = a.type {
            v.add("activity.type", "enum", "unknown activity type \(a.type.rawValue)")
        }
        v.require(a.type != .unspecified, "activity.type", "required", "an ACCME activity type is required")
        let start = v.day(a.startDate, "activity.start_date")
        let end = v.day(a.endDate, "activity.end_date")
        if let start, let end { v.require(start <= end, "activity.end_date", "order", "the end date is before the start date") }
        v.require(a.maxCredits >= 0.25 && a.maxCredits <= 1000, "activity.max_credits", "range", "0.25 to 1000 credits")
        v.require(CreditRules.isQuarterStep(a.maxCredits), "activity.max_credits", "quarter-step", "credits come in steps of 0.25")
        v.require((1...7).contains(a.targetMooreLevel), "activity.target_moore_level", "range", "a Moore level from 1 to 7")
        v.require(!a.objectives.isEmpty, "activity.objectives", "required", "at least one learning objective")
        v.count(a.objectives.count, "activity.objectives", max: maximumObjectives)
        var seen: Set<String> = []
        for (i, o) in a.objectives.prefix(maximumObjectives).enumerated() {
            v.require(Identifier.isValid(o.id), "activity.objectives[\(i)].id", "identifier", "1-64 of letters, digits, '-', '_' or '.'")
            v.require(seen.insert(o.id).inserted, "activity.objectives[\(i)].id", "unique", "'\(LogSafe.clip(o.id, 64))' is used twice")
            v.text(o.text, "activity.objectives[\(i)].text", max: FieldLimits.textBytes, required: true, chars: .multiLine)
        }
        LearnerRules.validate(a, &v)
        PlanningRules.validate(a, &v)
        if !a.activityId.isEmpty {
            v.require(Identifier.isValid(a.activityId), "activity.activity_id", "identifier", "1-64 of letters, digits, '-', '_' or '.'")
        }
    }

    /// The times a session of `activity` may have: its dates, widened for time zones.
    public static func sessionWindow(_ activity: Activity) -> ClosedRange<Int64>? {
        guard let start = CalendarDay(activity.startDate), let end = CalendarDay(activity.endDate), start <= end else { return nil }
        return (start.epochMilliseconds - sessionSlackBeforeMs)...(end.epochMilliseconds + sessionSlackAfterMs)
    }

    public static func validate(_ s: Session, activity: Activity, _ v: inout Violations) {
        v.text(s.title, "session.title", max: FieldLimits.titleBytes)
        v.require(s.startMs > 0, "session.start_ms", "required", "a start time is required")
        v.require(s.endMs > s.startMs, "session.end_ms", "order", "the session must end after it starts")
        // end - start can overflow Int64 for peer-chosen values: compute it checked.
        if s.endMs > s.startMs {
            let length = Checked.difference(s.endMs, s.startMs)
            v.require(length.map { $0 <= maximumSessionMs } ?? false, "session.end_ms", "range", "a session lasts at most 24 hours")
        }
        if let window = sessionWindow(activity) {
            v.require(window.contains(s.startMs), "session.start_ms", "activity-dates",
                      "the session must start within the activity's dates \(activity.startDate) to \(activity.endDate) (a day's slack either side)")
            v.require(window.contains(s.endMs), "session.end_ms", "activity-dates",
                      "the session must end within the activity's dates \(activity.startDate) to \(activity.endDate) (a day's slack either side)")
        }
        v.count(s.objectiveIds.count, "session.objective_ids", max: maximumObjectives)
        let objectives = Set(activity.objectives.map(\.id))
        for (i, id) in s.objectiveIds.prefix(maximumObjectives).enumerated() {
            v.require(objectives.contains(id), "session.objective_ids[\(i)]", "unknown-objective",
                      "'\(LogSafe.clip(id, 64))' is not an objective of activity \(activity.activityId)")
        }
        if !s.sessionId.isEmpty {
            v.require(Identifier.isValid(s.sessionId), "session.session_id", "identifier", "1-64 of letters, digits, '-', '_' or '.'")
        }
    }

    /// How far outside a session's scheduled window a check-in or check-out may be.
    public static let attendanceTolerance: Int64 = 60 * 60_000

    /// Nil when `at` may be recorded for a session scheduled `start...end`.
    public static func attendanceTimeProblem(_ at: Int64, start: Int64, end: Int64) -> String? {
        // Saturating: `start` and `end` are stored values, but `at` and old rows may sit near Int64's ends.
        if at < Checked.sum(start, -attendanceTolerance) || at > Checked.sum(end, attendanceTolerance) {
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
