/// Learner completion records for ACCME PARS batch upload, as tab-delimited text.
///
/// One header row, then one row per credit claim:
/// `activity_id, npi, first_name, last_name, dob_month, dob_day, board, board_id,
/// licence_state, licence_number, completion_date (MM/DD/YYYY), credits`.
/// PARS matches learners on name + birth month/day + a board id or licence, so the first
/// board id and the first licence are written; a tab or line break inside a value becomes a space.
public enum PARSExport {
    public struct Learner: Sendable {
        public var activityID: String
        public var physician: Physician
        public var credits: Double
        public var completedMs: Int64

        public init(activityID: String, physician: Physician, credits: Double, completedMs: Int64) {
            self.activityID = activityID
            self.physician = physician
            self.credits = credits
            self.completedMs = completedMs
        }
    }

    public static let header = ["activity_id", "npi", "first_name", "last_name", "dob_month", "dob_day", "board", "board_id",
                                "licence_state", "licence_number", "completion_date", "credits"]

    /// The columns holding numbers (the rest are text: identifiers keep their leading zeros).
    public static let numericColumns: Set<String> = ["dob_month", "dob_day", "credits"]

    public static func text(_ learners: [Learner]) -> String {
        var lines = [header.joined(separator: "\t")]
        for l in learners {
            let p = l.physician
            let board = p.boardIds.first
            let licence = p.licences.first
            let row = [
                l.activityID, p.npi, p.givenName, p.familyName,
                p.birthMonth == 0 ? "" : twoDigits(Int(p.birthMonth)), p.birthDay == 0 ? "" : twoDigits(Int(p.birthDay)),
                board?.board ?? "", board?.id ?? "", licence?.state ?? "", licence?.number ?? "",
                date(l.completedMs), CreditRules.format(l.credits),
            ]
            lines.append(row.map(clean).joined(separator: "\t"))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func clean(_ s: String) -> String {
        String(s.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 })
    }

    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// MM/DD/YYYY in UTC (civil-from-days, Howard Hinnant's algorithm).
    static func date(_ ms: Int64) -> String {
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
