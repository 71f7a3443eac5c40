/// AMA PRA Category 1 Credit™ rules used for claims.
///
/// Credit is earned at one credit per 60 minutes of participation and is claimed in quarter
/// credits, rounded **down**: 59 minutes → 0.75, 60 → 1.0, 74 → 1.0, 75 → 1.25. For activities
/// with sessions (live formats) a claim is bounded by the time attended and by the activity's
/// maximum; activities without sessions (enduring material, journal CME, …) have no attendance
/// to measure, and are bounded by the maximum alone.
public enum CreditRules {
    public static let step = 0.25

    /// Credits that `minutes` of attendance support, in quarter steps.
    public static func earned(minutes: Int) -> Double {
        Double(max(0, minutes) / 15) * step
    }

    /// True when `credits` is a whole number of quarter credits.
    public static func isQuarterStep(_ credits: Double) -> Bool {
        let quarters = credits / step
        return abs(quarters - quarters.rounded()) < 1e-9
    }

    /// The most a physician may claim.
    public static func claimable(minutesAttended: Int, activityMaximum: Double, hasSessions: Bool) -> Double {
        hasSessions ? min(activityMaximum, earned(minutes: minutesAttended)) : activityMaximum
    }

    /// Nil when the claim is allowed, else the broken rule and a sentence.
    public static func problem(credits: Double, minutesAttended: Int, activityMaximum: Double, hasSessions: Bool)
        -> (rule: String, message: String)? {
        guard credits.isFinite, credits > 0 else { return ("range", "credits must be more than 0") }
        guard isQuarterStep(credits) else { return ("quarter-step", "credits are claimed in steps of 0.25") }
        if credits > activityMaximum + 1e-9 {
            return ("activity-maximum", "\(format(credits)) exceeds the activity's maximum of \(format(activityMaximum))")
        }
        let allowed = claimable(minutesAttended: minutesAttended, activityMaximum: activityMaximum, hasSessions: hasSessions)
        if credits > allowed + 1e-9 {
            return ("time-attended", "\(format(credits)) exceeds the \(format(allowed)) that \(minutesAttended) minutes attended support (1 per 60 minutes, rounded down to 0.25)")
        }
        return nil
    }

    public static func format(_ credits: Double) -> String {
        let quarters = Int((credits / step).rounded())
        let whole = quarters / 4
        switch quarters % 4 {
        case 0: return "\(whole).00"
        case 1: return "\(whole).25"
        case 2: return "\(whole).50"
        default: return "\(whole).75"
        }
    }
}
