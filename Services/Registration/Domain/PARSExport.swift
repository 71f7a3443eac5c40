import LVMessages

/// ACCME PARS files: the learner upload (tab-delimited, no header row, one row per learner per
/// credit type and per MOC board) and the activity record. The column lists, and where they come
/// from, are in docs/REGISTRATION.md "PARS"; `learnerColumns` and `activityColumns` name them in order.
public enum PARSExport {
    /// One learner's completion: the learner, their claims (credit type, amount, date) and MOC results.
    public struct Learner: Sendable {
        public var physician: Physician
        public var claims: [(type: CreditType, amount: Double, claimedMs: Int64)]
        public var moc: [MOCRules.Result]

        public init(physician: Physician, claims: [(type: CreditType, amount: Double, claimedMs: Int64)], moc: [MOCRules.Result]) {
            self.physician = physician
            self.claims = claims
            self.moc = moc
        }
    }

    public static let learnerColumns = [
        "provider_activity_id", "first_name", "last_name", "npi", "birth_month", "birth_day", "profession",
        "credit_type", "amount", "board", "board_id", "licence_state", "licence_number", "nabp_eprofile_id",
        "acpe_uan", "completion_date",
    ]

    public static let activityColumns = [
        "provider_activity_id", "title", "activity_type", "start_date", "end_date", "credits_offered",
        "designed_competence", "designed_performance", "designed_patient_outcomes",
        "evaluated_competence", "evaluated_performance", "evaluated_patient_outcomes",
        "physician_learners", "other_learners", "moc_boards",
    ]

    public static func code(_ t: CreditType) -> String {
        switch LearnerRules.effective(t) {
        case .ancc: "ANCC"
        case .acpe: "ACPE"
        case .aapaCategory1: "AAPA_1"
        case .ipce: "IPCE"
        default: "AMA_PRA_1"
        }
    }

    public static func code(_ p: Profession) -> String {
        switch LearnerRules.effective(p) {
        case .nurse: "NURSE"
        case .pharmacist: "PHARMACIST"
        case .physicianAssistant: "PA"
        case .psychologist: "PSYCHOLOGIST"
        case .other: "OTHER"
        default: "PHYSICIAN"
        }
    }

    public struct LearnerFile: Sendable {
        public var text: String
        public var rows: Int
        /// Learners with claims left out for want of consent.
        public var withoutConsent: Int
    }

    /// The learner upload. Learners without PARS consent get no row; MOC rows only for passing
    /// learners; the ACPE row carries the NABP e-Profile ID and the activity's UAN.
    public static func learnerFile(activity: Activity, learners: [Learner]) -> LearnerFile {
        var lines: [String] = []
        var withoutConsent = 0
        let uan = LearnerRules.offers(activity).first { $0.type == .acpe }?.acpeUan ?? ""
        for l in learners.sorted(by: { $0.physician.npi < $1.physician.npi }) {
            let p = l.physician
            guard p.parsConsent else {
                if !l.claims.isEmpty { withoutConsent += 1 }
                continue
            }
            let licence = p.licences.first
            func row(_ type: String, _ amount: Double, board: String, boardID: String, acpe: Bool, _ ms: Int64) -> String {
                [activity.activityId, p.givenName, p.familyName, p.npi,
                 p.birthMonth == 0 ? "" : twoDigits(Int(p.birthMonth)), p.birthDay == 0 ? "" : twoDigits(Int(p.birthDay)),
                 code(p.profession), type, CreditRules.format(amount), board, boardID, licence?.state ?? "", licence?.number ?? "",
                 acpe ? p.nabpEprofileId : "", acpe ? uan : "", date(ms)].map(clean).joined(separator: "\t")
            }
            for c in l.claims.sorted(by: { $0.type.rawValue < $1.type.rawValue }) {
                let t = LearnerRules.effective(c.type)
                lines.append(row(code(t), c.amount, board: "", boardID: "", acpe: t == .acpe, c.claimedMs))
            }
            // MOC is reported only for learners who completed the activity (a claim) and passed.
            guard !l.claims.isEmpty else { continue }
            for m in l.moc where m.passed {
                lines.append(row("MOC", m.points, board: m.board, boardID: m.boardID, acpe: false, m.completedMs))
            }
        }
        return LearnerFile(text: lines.map { $0 + "\n" }.joined(), rows: lines.count, withoutConsent: withoutConsent)
    }

    /// Which outcomes the activity's data evidences: Moore 4 competence, 5 performance, 6 patient health.
    public struct Evaluated: Sendable {
        public var competence: Bool
        public var performance: Bool
        public var patientOutcomes: Bool
        public init(competence: Bool, performance: Bool, patientOutcomes: Bool) {
            self.competence = competence
            self.performance = performance
            self.patientOutcomes = patientOutcomes
        }

        /// From the gateway's levels ("4", "5", "6" evidenced).
        public init(evidencedLevels: Set<String>) {
            self.init(competence: evidencedLevels.contains("4"), performance: evidencedLevels.contains("5"),
                      patientOutcomes: evidencedLevels.contains("6"))
        }
    }

    /// The activity record: one row. Learner counts are of distinct learners with a claim.
    public static func activityRecord(activity: Activity, evaluated: Evaluated, learners: [Learner]) -> String {
        let credited = learners.filter { !$0.claims.isEmpty }
        let physicians = credited.filter { LearnerRules.effective($0.physician.profession) == .physician }.count
        let d = activity.designedToChange ?? Lv_Registration_V1_DesignedToChange()
        func yn(_ b: Bool) -> String { b ? "Y" : "N" }
        let row = [
            activity.activityId, activity.title, ACCMECode.code(activity.type) ?? "",
            usDate(activity.startDate), usDate(activity.endDate),
            LearnerRules.offers(activity).map { "\(code($0.type)):\(CreditRules.format($0.maxAmount))" }.joined(separator: ";"),
            yn(d.competence), yn(d.performance), yn(d.patientOutcomes),
            yn(evaluated.competence), yn(evaluated.performance), yn(evaluated.patientOutcomes),
            "\(physicians)", "\(credited.count - physicians)",
            activity.moc.map { "\($0.board):\(CreditRules.format($0.points))" }.joined(separator: ";"),
        ]
        return row.map(clean).joined(separator: "\t") + "\n"
    }

    static func clean(_ s: String) -> String {
        String(s.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 })
    }

    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// "YYYY-MM-DD" → "MM/DD/YYYY".
    static func usDate(_ s: String) -> String {
        let p = s.split(separator: "-")
        return p.count == 3 ? "\(p[1])/\(p[2])/\(p[0])" : s
    }

    /// MM/DD/YYYY in UTC (civil-from-days, Howard Hinnant's algorithm); empty for 0.
    static func date(_ ms: Int64) -> String {
        if ms == 0 { return "" }
        let days = Int(ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return "\(twoDigits(m))/\(twoDigits(d))/\(y)"
    }
}
