import LVMessages

/// The engagement index, 0–100: a weighted mean of the components that have data, in the
/// spirit of ON24's Engagement Score (presence and interactions) and GoTo's attendee interest
/// rating (attention). Components and weights:
///
/// | component | value in [0, 1] | weight | absent when |
/// |---|---|---|---|
/// | presence | min(1, active minutes / scheduled minutes) | 0.35 | scheduled minutes unknown (0) |
/// | attention | attention ratio | 0.20 | no presence |
/// | polls | polls answered / polls offered | 0.25 | no poll defined |
/// | participation | min(1, (questions + comments + downloads) / 3) | 0.10 | never |
/// | satisfaction | (mean rating − 1) / 4 | 0.10 | no rating |
///
/// EI = 100 · Σ wᵢcᵢ / Σ wᵢ over the components present.
///
/// Shared: lv-engagement computes it for its summaries, and the gateway recomputes it with the
/// scheduled minutes from registration, so it can ask engagement and registration at the same time.
public enum EngagementIndex {
    public static func score(_ s: Lv_Engagement_V1_PhysicianEngagement, scheduledMinutes: Int) -> Double {
        var parts: [(value: Double, weight: Double)] = []
        if scheduledMinutes > 0 { parts.append((min(1, s.activeMinutes / Double(scheduledMinutes)), 0.35)) }
        if s.activeMinutes > 0 { parts.append((s.attentionRatio, 0.20)) }
        if s.pollsOffered > 0 { parts.append((min(1, Double(s.pollsAnswered) / Double(s.pollsOffered)), 0.25)) }
        parts.append((min(1, Double(s.questionsAsked + s.comments + s.downloads) / 3), 0.10))
        if s.ratingCount > 0 { parts.append(((s.meanRating - 1) / 4, 0.10)) }
        let weight = parts.reduce(0) { $0 + $1.weight }
        return 100 * parts.reduce(0) { $0 + $1.value * $1.weight } / weight
    }
}
