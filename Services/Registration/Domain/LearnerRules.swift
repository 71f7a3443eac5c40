import LVDomain
import LVMessages

public typealias Profession = Lv_Registration_V1_Profession
public typealias CreditType = Lv_Registration_V1_CreditType
public typealias CreditOffer = Lv_Registration_V1_CreditOffer
public typealias MocOffer = Lv_Registration_V1_MocOffer

/// Professions, their identifiers and the credit each may claim (docs/REGISTRATION.md "Learners").
public enum LearnerRules {
    /// NABP e-Profile ID (CPE Monitor): digits only, 1 to this many.
    public static let nabpMaximumDigits = 7
    /// Most credit offers and MOC boards one activity may declare.
    public static let maximumOffers = 16

    /// A stored or requested profession: UNSPECIFIED means physician (records from before professions).
    public static func effective(_ p: Profession) -> Profession { p == .unspecified ? .physician : p }

    /// A claim's credit type: UNSPECIFIED means AMA PRA Category 1 (claims from before credit types).
    public static func effective(_ t: CreditType) -> CreditType { t == .unspecified ? .amaPraCategory1 : t }

    /// The credit types a profession may claim. IPCE credit is open to every profession; physicians
    /// also AMA PRA Category 1, nurses ANCC, pharmacists ACPE, PAs AAPA Category 1 (and AMA PRA
    /// Category 1, which the AAPA accepts).
    public static func claimable(_ p: Profession) -> Set<CreditType> {
        switch effective(p) {
        case .physician: [.amaPraCategory1, .ipce]
        case .nurse: [.ancc, .ipce]
        case .pharmacist: [.acpe, .ipce]
        case .physicianAssistant: [.aapaCategory1, .amaPraCategory1, .ipce]
        default: [.ipce]
        }
    }

    /// The activity's offers; without any, AMA PRA Category 1 up to `max_credits`.
    public static func offers(_ a: Lv_Registration_V1_Activity) -> [CreditOffer] {
        if !a.creditOffers.isEmpty { return a.creditOffers }
        var o = CreditOffer()
        o.type = .amaPraCategory1
        o.maxAmount = a.maxCredits
        return [o]
    }

    /// Nil when `id` has the NABP e-Profile ID's shape.
    public static func nabpProblem(_ id: String) -> String? {
        guard !id.isEmpty, id.utf8.count <= nabpMaximumDigits, id.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            return "an NABP e-Profile ID is 1-\(nabpMaximumDigits) digits"
        }
        return nil
    }

    /// Nil when `uan` has the ACPE Universal Activity Number's shape:
    /// provider (4 digits, or "JA" + 7 digits) - joint provider (4 digits) - year (2) - number (3)
    /// - format and topic (L, H or B + 2 digits) - audience (P or T), e.g. "JA0000000-0000-26-001-L01-P".
    public static func uanProblem(_ uan: String) -> String? {
        let parts = uan.split(separator: "-", omittingEmptySubsequences: false).map { Array($0.utf8) }
        func digits(_ p: [UInt8]) -> Bool { p.allSatisfy { $0 >= 48 && $0 <= 57 } }
        let shape = "a UAN is PPPP (or JA + 7 digits)-JJJJ-YY-NNN-[LHB]TT-[PT], e.g. JA0000000-0000-26-001-L01-P"
        guard parts.count == 6 else { return shape }
        let provider = parts[0]
        let providerOK = (provider.count == 4 && digits(provider))
            || (provider.count == 9 && provider.starts(with: Array("JA".utf8)) && digits(Array(provider.dropFirst(2))))
        guard providerOK, parts[1].count == 4, digits(parts[1]), parts[2].count == 2, digits(parts[2]),
              parts[3].count == 3, digits(parts[3]), parts[4].count == 3, [UInt8(ascii: "L"), UInt8(ascii: "H"), UInt8(ascii: "B")].contains(parts[4][0]),
              digits(Array(parts[4].dropFirst())), parts[5] == Array("P".utf8) || parts[5] == Array("T".utf8) else { return shape }
        return nil
    }

    /// The learner fields added with professions (called from `RegistrationRules.validate`).
    public static func validate(_ p: Lv_Registration_V1_Physician, prefix: String, _ v: inout Violations) {
        if case .unrecognized(let n) = p.profession { v.add("\(prefix).profession", "enum", "unknown profession \(n)") }
        if !p.nabpEprofileId.isEmpty, let problem = nabpProblem(p.nabpEprofileId) {
            v.add("\(prefix).nabp_eprofile_id", "nabp-eprofile-id", problem)
        }
        if effective(p.profession) == .pharmacist {
            // CPE Monitor matches a pharmacist on the e-Profile ID and birth month and day.
            v.require(!p.nabpEprofileId.isEmpty, "\(prefix).nabp_eprofile_id", "required-for-pharmacist",
                      "pharmacists need their NABP e-Profile ID (ACPE credit is reported to CPE Monitor with it)")
            v.require(p.birthMonth != 0 && p.birthDay != 0, "\(prefix).birth_month", "required-for-pharmacist",
                      "pharmacists need birth month and day (CPE Monitor matches on them)")
        }
    }

    /// The activity fields added with credit types and MOC (called from `RegistrationRules.validate`).
    public static func validate(_ a: Lv_Registration_V1_Activity, _ v: inout Violations) {
        v.count(a.creditOffers.count, "activity.credit_offers", max: maximumOffers)
        var types: Set<Int32> = []
        for (i, o) in a.creditOffers.prefix(maximumOffers).enumerated() {
            let f = "activity.credit_offers[\(i)]"
            if case .unrecognized(let n) = o.type { v.add("\(f).type", "enum", "unknown credit type \(n)") }
            v.require(o.type != .unspecified, "\(f).type", "required", "a credit type is required")
            v.require(types.insert(o.type.rawValue).inserted, "\(f).type", "unique", "each credit type is offered once")
            v.require(o.maxAmount >= 0.25 && o.maxAmount <= 1000, "\(f).max_amount", "range", "0.25 to 1000")
            v.require(CreditRules.isQuarterStep(o.maxAmount), "\(f).max_amount", "quarter-step", "amounts come in steps of 0.25")
            if o.type == .acpe {
                if let problem = uanProblem(o.acpeUan) { v.add("\(f).acpe_uan", "acpe-uan", problem) }
            } else {
                v.require(o.acpeUan.isEmpty, "\(f).acpe_uan", "acpe-only", "a UAN belongs to an ACPE offer only")
            }
        }
        v.count(a.moc.count, "activity.moc", max: maximumOffers)
        var boards: Set<String> = []
        for (i, m) in a.moc.prefix(maximumOffers).enumerated() {
            let f = "activity.moc[\(i)]"
            v.text(m.board, "\(f).board", max: RegistrationRules.credentialBytes, required: true)
            v.require(boards.insert(m.board).inserted, "\(f).board", "unique", "each board is declared once")
            v.require(m.points >= 0.25 && m.points <= 1000, "\(f).points", "range", "0.25 to 1000 MOC points")
            v.require(CreditRules.isQuarterStep(m.points), "\(f).points", "quarter-step", "points come in steps of 0.25")
            v.require(m.passingScore > 0 && m.passingScore <= 1, "\(f).passing_score", "range", "a post-test score in (0, 1]")
        }
    }
}
