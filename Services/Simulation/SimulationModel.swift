#if canImport(Glibc)
import Glibc
#endif

/// A seeded generator (SplitMix64) so a simulation is reproducible from its seed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// Standard normal (Box–Muller).
    public mutating func normal() -> Double {
        let u = max(uniform(), 1e-300)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * uniform())
    }
    public mutating func chance(_ p: Double) -> Bool { uniform() < p }
}

func logistic(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

/// One simulated physician: prior knowledge, how much the activity teaches them, how engaged
/// they look. Engagement is only weakly related to learning (ρ ≈ 0.2), as the seed text argues.
public struct SimulatedPhysician: Sendable {
    public let index: Int
    public let participant: Bool
    /// Prior knowledge on the logit scale.
    public let ability: Double
    /// Logit gain from the activity on taught items (0 for the comparison cohort).
    public let learning: Double
    /// 0–1 propensity to interact; correlated 0.2 with learning.
    public let engagement: Double
    /// Minutes late to the first session and early out of the last.
    public let lateMinutes: Int
    public let earlyLeaveMinutes: Int

    public init(index: Int, participant: Bool, learningEffect: Double = 1.1, random: inout SeededRandom) {
        self.index = index
        self.participant = participant
        ability = random.normal() * 0.9
        let unit = random.normal()
        // The spread scales with the effect (sd 0.6 at 1.1), so an effect of 0 teaches nobody anything.
        learning = participant ? max(0, learningEffect * (1 + 0.55 * unit)) : 0
        let z = 0.2 * unit + (1 - 0.04).squareRoot() * random.normal()
        engagement = logistic(0.4 + z)
        lateMinutes = random.chance(0.25) ? Int(random.uniform() * 25) : 0
        earlyLeaveMinutes = random.chance(0.15) ? Int(random.uniform() * 40) : 0
    }

    /// Probability of answering an item of `difficulty` right; `taught` items get the learning,
    /// decayed by `retained` (1 right after, about 0.5 a week later, 0.1 two months later);
    /// every item drifts up `drift` logits between tests (test-retest practice).
    public func pCorrect(difficulty: Double, taught: Bool, retained: Double, drift: Double) -> Double {
        logistic(ability - difficulty + (taught ? learning * retained : 0) + drift)
    }
}
