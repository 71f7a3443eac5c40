#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The evidence engine's inferential statistics: one-sample and Welch t-tests with confidence
/// intervals and standardized effects, Morris's d_ppc2 variance, KR-20 / Cronbach's α, and the
/// Jacobson–Truax reliable change index. Degenerate inputs (too few observations, zero variance up
/// to rounding, non-finite numbers) give nil, never a number.

/// A two-sided confidence interval.
public struct ConfidenceInterval: Sendable, Equatable {
    public let lower: Double
    public let upper: Double
    /// The confidence level, e.g. 0.95.
    public let level: Double

    public init(lower: Double, upper: Double, level: Double) {
        self.lower = lower
        self.upper = upper
        self.level = level
    }
}

/// One-sample t-test of H0: mean ≤ mu against H1: mean > mu (one-sided toward improvement), with the two-sided p too.
public struct OneSampleTTest: Sendable, Equatable {
    public let n: Int
    public let mean: Double
    /// Sample SD (n − 1).
    public let sd: Double
    /// sd / √n.
    public let standardError: Double
    /// (mean − mu) / standardError.
    public let t: Double
    public let df: Int
    /// P(T ≥ t) under H0 (greater), as scipy.stats.ttest_1samp(alternative="greater").
    public let pOneSided: Double
    public let pTwoSided: Double
    /// Two-sided CI of the mean (not of mean − mu) at `confidence`: mean ± t_{(1+c)/2, n−1} · SE.
    public let ci: ConfidenceInterval
    /// Cohen's d_z = (mean − mu) / sd.
    public let dz: Double
    /// Exact CI of d_z by inverting the noncentral t: the λ with F_nct(t; n − 1, λ) = (1 + c)/2 and
    /// (1 − c)/2, divided by √n (as scipy.stats.nct). Only when |t| > 1000 (far beyond any realistic
    /// learning data, where the exact sum gets slow) is it the normal approximation
    /// d_z ± z_{(1+c)/2} · √(1/n + d_z²/(2n)).
    public let dzCI: ConfidenceInterval

    /// Nil with fewer than 2 observations, a non-finite observation or mu, a confidence outside
    /// (0, 1), or an SD that is zero up to rounding (sd ≤ 1e-9 · max(1, |mean|)).
    public init?(_ xs: [Double], mu: Double = 0, confidence: Double = 0.95) {
        guard xs.count >= 2, Stats.allFinite(xs), mu.isFinite, confidence > 0, confidence < 1,
              let m = Stats.mean(xs), let s = Stats.sd(xs), !Stats.isNegligible(sd: s, mean: m) else { return nil }
        n = xs.count
        mean = m
        sd = s
        standardError = s / Double(n).squareRoot()
        t = (m - mu) / standardError
        df = n - 1
        pOneSided = Distributions.studentTUpper(t: t, df: Double(df))
        pTwoSided = Distributions.studentTTwoSided(t: t, df: Double(df))
        let critical = Distributions.studentTQuantile(p: (1 + confidence) / 2, df: Double(df))
        ci = ConfidenceInterval(lower: m - critical * standardError, upper: m + critical * standardError, level: confidence)
        dz = (m - mu) / s
        dzCI = Self.dzInterval(t: t, n: n, dz: dz, confidence: confidence)
    }

    static func dzInterval(t: Double, n: Int, dz: Double, confidence: Double) -> ConfidenceInterval {
        let rootN = Double(n).squareRoot()
        let df = Double(n - 1)
        if abs(t) <= 1000,
           let lower = noncentrality(t: t, df: df, cdf: (1 + confidence) / 2),
           let upper = noncentrality(t: t, df: df, cdf: (1 - confidence) / 2) {
            return ConfidenceInterval(lower: lower / rootN, upper: upper / rootN, level: confidence)
        }
        let se = (1 / Double(n) + dz * dz / (2 * Double(n))).squareRoot()
        let z = Distributions.normalQuantile((1 + confidence) / 2)
        return ConfidenceInterval(lower: dz - z * se, upper: dz + z * se, level: confidence)
    }

    /// The λ with F_nct(t; df, λ) = target. F falls as λ grows; bracket around t, then the Illinois
    /// variant of false position (bisection's guarantee, superlinear speed).
    static func noncentrality(t: Double, df: Double, cdf target: Double) -> Double? {
        func f(_ lambda: Double) -> Double { Distributions.noncentralTCDF(t: t, df: df, noncentrality: lambda) - target }
        var step = 1 + abs(t) * 0.5
        var lo = t - step, hi = t + step
        var fLo = f(lo), fHi = f(hi)
        var tries = 0
        while fLo < 0 || fHi > 0 {
            tries += 1
            if tries > 60 || !fLo.isFinite || !fHi.isFinite { return nil }
            step *= 2
            if fLo < 0 { lo = t - step; fLo = f(lo) }
            if fHi > 0 { hi = t + step; fHi = f(hi) }
        }
        if fLo == 0 { return lo }
        if fHi == 0 { return hi }
        var side = 0
        for _ in 0..<300 {
            let mid = (lo * fHi - hi * fLo) / (fHi - fLo)
            let x = (mid > lo && mid < hi) ? mid : (lo + hi) / 2
            let fx = f(x)
            if fx == 0 { return x }
            if fx > 0 {
                lo = x; fLo = fx
                if side == 1 { fHi /= 2 }
                side = 1
            } else {
                hi = x; fHi = fx
                if side == -1 { fLo /= 2 }
                side = -1
            }
            if hi - lo <= 1e-14 * max(1, abs(x)) { break }
        }
        return (lo + hi) / 2
    }
}

/// Welch's t-test of A − B (unequal variances, Welch–Satterthwaite df), one-sided H1: mean(A) > mean(B).
public struct WelchTTest: Sendable, Equatable {
    public let nA: Int
    public let nB: Int
    public let meanA: Double
    public let meanB: Double
    /// meanA − meanB.
    public let difference: Double
    /// √(s_A²/n_A + s_B²/n_B).
    public let standardError: Double
    public let t: Double
    /// Welch–Satterthwaite: (v_A + v_B)² / (v_A²/(n_A − 1) + v_B²/(n_B − 1)), v = s²/n.
    public let df: Double
    /// P(T ≥ t), as scipy.stats.ttest_ind(equal_var=False, alternative="greater").
    public let pOneSided: Double
    public let pTwoSided: Double
    /// CI of the difference at `confidence`, Welch df: difference ± t_{(1+c)/2, df} · SE.
    public let ci: ConfidenceInterval
    /// Standardized difference: difference / pooled SD of A and B (Hedges' g with small-sample correction J), and its CI
    /// Pooled SD = √(((n_A − 1)s_A² + (n_B − 1)s_B²) / m), m = n_A + n_B − 2; J is Hedges's exact
    /// Γ(m/2) / (√(m/2) Γ((m − 1)/2)) (not the 1 − 3/(4m − 1) approximation).
    public let g: Double
    /// Large-sample normal approximation (Hedges & Olkin): g ± z_{(1+c)/2} · √((n_A + n_B)/(n_A n_B) + g²/(2(n_A + n_B))).
    /// An approximation (it assumes equal variances and is too narrow for very small groups).
    public let gCI: ConfidenceInterval

    /// Nil when nA < 2 or nB < 2, an observation is not finite, the confidence is outside (0, 1), or
    /// both SDs are zero up to rounding (sd ≤ 1e-9 · max(1, |mean|) in each group).
    public init?(_ a: [Double], _ b: [Double], confidence: Double = 0.95) {
        guard a.count >= 2, b.count >= 2, Stats.allFinite(a), Stats.allFinite(b), confidence > 0, confidence < 1,
              let mA = Stats.mean(a), let mB = Stats.mean(b),
              let varA = Stats.variance(a), let varB = Stats.variance(b) else { return nil }
        guard !(Stats.isNegligible(sd: varA.squareRoot(), mean: mA) && Stats.isNegligible(sd: varB.squareRoot(), mean: mB))
        else { return nil }
        nA = a.count
        nB = b.count
        meanA = mA
        meanB = mB
        difference = mA - mB
        let vA = varA / Double(nA), vB = varB / Double(nB)
        standardError = (vA + vB).squareRoot()
        t = difference / standardError
        df = (vA + vB) * (vA + vB) / (vA * vA / Double(nA - 1) + vB * vB / Double(nB - 1))
        pOneSided = Distributions.studentTUpper(t: t, df: df)
        pTwoSided = Distributions.studentTTwoSided(t: t, df: df)
        let critical = Distributions.studentTQuantile(p: (1 + confidence) / 2, df: df)
        ci = ConfidenceInterval(lower: difference - critical * standardError,
                                upper: difference + critical * standardError, level: confidence)
        let m = Double(nA + nB - 2)
        let pooled = ((Double(nA - 1) * varA + Double(nB - 1) * varB) / m).squareRoot()
        let j = exp(lgamma(m / 2) - 0.5 * log(m / 2) - lgamma((m - 1) / 2))
        g = j * difference / pooled
        let n = Double(nA + nB)
        let se = (n / Double(nA * nB) + g * g / (2 * n)).squareRoot()
        let z = Distributions.normalQuantile((1 + confidence) / 2)
        gCI = ConfidenceInterval(lower: g - z * se, upper: g + z * se, level: confidence)
    }
}

extension Morris {
    /// Morris (2008) sampling variance of d_ppc2 (his eq. 25), with ρ the pooled pre–post correlation.
    /// σ² = 2 c_p² (1 − ρ) · (n_T + n_C)/(n_T n_C) · (n_T + n_C − 2)/(n_T + n_C − 4)
    ///      · [1 + d² / (2(1 − ρ)(n_T + n_C)/(n_T n_C))] − d²,  c_p = 1 − 3/(4(n_T + n_C − 2) − 1),
    /// with the estimate d in place of δ, as Morris does. Nil when n_T or n_C < 2, n_T + n_C ≤ 4
    /// (the variance is infinite), ρ outside (−1, 1), or d not finite.
    public static func dppc2Variance(d: Double, nT: Int, nC: Int, rho: Double) -> Double? {
        guard nT >= 2, nC >= 2, nT + nC > 4, d.isFinite, rho.isFinite, rho > -1, rho < 1 else { return nil }
        let n = Double(nT + nC)
        let c = 1 - 3 / (4 * (n - 2) - 1)
        let sizes = n / Double(nT * nC)
        let ratio = (n - 2) / (n - 4)
        return 2 * c * c * (1 - rho) * sizes * ratio * (1 + d * d / (2 * (1 - rho) * sizes)) - d * d
    }
}

/// Internal-consistency reliability from item scores: rows = respondents, columns = items.
/// Both statistics use the (n − 1) sample variance for items and for the total score. KR-20's
/// Σ p q over the population variance of the total is the same number (the n/(n − 1) factors cancel),
/// so on 0/1 items KR-20 and α agree exactly.
public enum Reliability {
    /// KR-20 for dichotomous (0/1) items: k/(k − 1) · (1 − Σ pᵢqᵢ·n/(n − 1) / s²_total).
    /// nil with < 2 items, < 2 respondents, or zero total variance (up to rounding); also nil when a
    /// score is not 0 or 1 or the rows differ in length.
    public static func kr20(_ responses: [[Double]]) -> Double? {
        guard responses.allSatisfy({ $0.allSatisfy { $0 == 0 || $0 == 1 } }),
              let (k, n, totalVariance) = shape(responses) else { return nil }
        var sumPQ = 0.0
        for item in 0..<k {
            let p = responses.reduce(0) { $0 + $1[item] } / Double(n)
            sumPQ += p * (1 - p)
        }
        let itemVariance = sumPQ * Double(n) / Double(n - 1)
        return Double(k) / Double(k - 1) * (1 - itemVariance / totalVariance)
    }

    /// Cronbach's α for any item scores: k/(k − 1) · (1 − Σ s²ᵢ / s²_total), all with (n − 1).
    /// Nil under the same conditions as kr20 (except that any finite score is allowed).
    public static func cronbachAlpha(_ responses: [[Double]]) -> Double? {
        guard let (k, _, totalVariance) = shape(responses) else { return nil }
        var sumItemVariance = 0.0
        for item in 0..<k { sumItemVariance += Stats.variance(responses.map { $0[item] })! }
        return Double(k) / Double(k - 1) * (1 - sumItemVariance / totalVariance)
    }

    /// (items, respondents, sample variance of the total) when the matrix is usable.
    static func shape(_ responses: [[Double]]) -> (Int, Int, Double)? {
        let n = responses.count
        guard n >= 2, let k = responses.first?.count, k >= 2,
              responses.allSatisfy({ $0.count == k && Stats.allFinite($0) }) else { return nil }
        let totals = responses.map { $0.reduce(0, +) }
        guard let mean = Stats.mean(totals), let variance = Stats.variance(totals),
              !Stats.isNegligible(sd: variance.squareRoot(), mean: mean) else { return nil }
        return (k, n, variance)
    }
}

/// Jacobson & Truax (1991) reliable change index. Higher scores are better: a positive change is improvement.
public struct ReliableChange: Sendable, Equatable {
    public let sdPre: Double
    public let reliability: Double
    /// SE of the difference = sdPre · √2 · √(1 − reliability).
    public let standardErrorOfDifference: Double

    /// Nil when sdPre ≤ 0 or reliability outside [0, 1) (or either is not finite).
    public init?(sdPre: Double, reliability: Double) {
        guard sdPre.isFinite, sdPre > 0, reliability.isFinite, reliability >= 0, reliability < 1 else { return nil }
        self.sdPre = sdPre
        self.reliability = reliability
        standardErrorOfDifference = sdPre * 2.0.squareRoot() * (1 - reliability).squareRoot()
    }

    /// (post − pre) / SE_diff.
    public func index(pre: Double, post: Double) -> Double {
        (post - pre) / standardErrorOfDifference
    }

    public enum Class: Sendable, Equatable { case reliableImprovement, noReliableChange, reliableDecline }

    /// |RCI| > z (default 1.96, i.e. two-sided 95 % as in Jacobson & Truax); exactly z is no reliable change.
    public func classify(pre: Double, post: Double, z: Double = 1.96) -> Class {
        let rci = index(pre: pre, post: post)
        if rci > z { return .reliableImprovement }
        if rci < -z { return .reliableDecline }
        return .noReliableChange
    }
}
