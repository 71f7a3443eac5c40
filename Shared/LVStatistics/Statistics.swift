/// The learning-validation statistics (DESIGN §6), as plain functions of numbers. Every result
/// carries its n; a statistic whose inputs are missing or degenerate is nil, never zero.
public enum Stats {
    public static func mean(_ xs: [Double]) -> Double? {
        xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count)
    }

    /// Sample variance (n − 1 in the denominator).
    public static func variance(_ xs: [Double]) -> Double? {
        guard xs.count >= 2, let m = mean(xs) else { return nil }
        return xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)
    }

    public static func sd(_ xs: [Double]) -> Double? { variance(xs).map { $0.squareRoot() } }

    /// True when every number is finite.
    static func allFinite(_ xs: [Double]) -> Bool { xs.allSatisfy { $0.isFinite } }

    /// A standard deviation that is zero up to rounding: sd ≤ 1e-9 · max(1, |mean|). Identical values
    /// computed in floating point (100·0.55 − 100·0.5 next to 5) differ in the last bits and give an sd
    /// of ~1e-15, and with it a t of ~1e16; such a spread is treated as none.
    static func isNegligible(sd: Double, mean: Double) -> Bool {
        sd <= 1e-9 * max(1, abs(mean))
    }
}

/// Paired t-test on pre/post scores of the same physicians, with effect sizes.
public struct PairedTTest: Sendable, Equatable {
    public let n: Int
    public let meanPre: Double
    public let meanPost: Double
    /// d̄ = mean(post − pre).
    public let meanDifference: Double
    public let sdDifference: Double
    public let t: Double
    public let df: Int
    /// Two-sided.
    public let p: Double
    /// Cohen's d_z = d̄ / s_d.
    public let dz: Double
    /// d_av = d̄ / √((s₁² + s₂²) / 2); nil when both SDs are 0.
    public let dav: Double?

    /// Nil with fewer than 2 pairs, a non-finite score, or when every difference is the same up to
    /// rounding (s_d ≤ 1e-9 · max(1, |d̄|): t undefined, not ~1e16).
    public init?(pre: [Double], post: [Double]) {
        precondition(pre.count == post.count, "paired samples differ in length")
        let d = zip(post, pre).map { $0 - $1 }
        guard d.count >= 2, Stats.allFinite(pre), Stats.allFinite(post), let md = Stats.mean(d), let sdd = Stats.sd(d),
              !Stats.isNegligible(sd: sdd, mean: md) else { return nil }
        n = d.count
        meanPre = Stats.mean(pre)!
        meanPost = Stats.mean(post)!
        meanDifference = md
        sdDifference = sdd
        t = md / (sdd / Double(n).squareRoot())
        df = n - 1
        p = Distributions.studentTTwoSided(t: t, df: Double(df))
        dz = md / sdd
        let averageVariance = (Stats.variance(pre)! + Stats.variance(post)!) / 2
        dav = averageVariance > 0 ? md / averageVariance.squareRoot() : nil
    }
}

/// McNemar's test on discordant pairs: b = right→wrong, c = wrong→right.
public struct McNemar: Sendable, Equatable {
    public let b: Int
    public let c: Int
    /// (|b − c| − 1)² / (b + c).
    public let chiSquare: Double
    public let pChiSquare: Double
    /// Two-sided exact binomial p.
    public let pExact: Double
    /// The exact p when b + c < 25, else the continuity-corrected chi-square p.
    public var p: Double { b + c < 25 ? pExact : pChiSquare }
    public var usesExact: Bool { b + c < 25 }

    /// Nil when there are no discordant pairs.
    public init?(b: Int, c: Int) {
        guard b + c > 0 else { return nil }
        self.b = b
        self.c = c
        // The formula as published (and as statsmodels computes it): when b = c it gives 1/(b+c), not 0.
        let diff = Double(abs(b - c)) - 1
        chiSquare = diff * diff / Double(b + c)
        pChiSquare = Distributions.chiSquare1Upper(chiSquare)
        pExact = Distributions.binomialTwoSidedHalf(k: b, n: b + c)
    }
}

public enum MultipleComparisons {
    /// Holm's step-down adjustment; the result is in the order of `p`.
    public static func holm(_ p: [Double]) -> [Double] {
        let m = p.count
        let order = p.indices.sorted { p[$0] < p[$1] }
        var adjusted = [Double](repeating: 1, count: m)
        var running = 0.0
        for (rank, i) in order.enumerated() {
            running = max(running, min(1, Double(m - rank) * p[i]))
            adjusted[i] = running
        }
        return adjusted
    }
}

/// Hake's normalized gain on percentage scores (0–100).
public enum HakeGain {
    /// ⟨g⟩ = (⟨post⟩ − ⟨pre⟩) / (100 − ⟨pre⟩) on class means; nil when ⟨pre⟩ = 100.
    public static func classGain(meanPre: Double, meanPost: Double) -> Double? {
        meanPre < 100 ? (meanPost - meanPre) / (100 - meanPre) : nil
    }

    /// The mean of individual gains, leaving out physicians who scored 100 on the pre-test; with its n.
    public static func meanIndividualGain(pre: [Double], post: [Double]) -> (gain: Double, n: Int)? {
        let gains = zip(pre, post).compactMap { a, b in a < 100 ? (b - a) / (100 - a) : nil }
        return Stats.mean(gains).map { ($0, gains.count) }
    }
}

/// Morris (2008) d_ppc2: the pretest-posttest-control effect size with the pooled pretest SD.
public enum Morris {
    /// c_p · [(M_post,T − M_pre,T) − (M_post,C − M_pre,C)] / SD_pre,pooled, c_p = 1 − 3 / (4(n_T + n_C − 2) − 1).
    public static func dppc2(nT: Int, nC: Int, preT: Double, postT: Double, preC: Double, postC: Double,
                             sdPreT: Double, sdPreC: Double) -> Double? {
        guard nT >= 2, nC >= 2 else { return nil }
        let df = Double(nT + nC - 2)
        let pooled = ((Double(nT - 1) * sdPreT * sdPreT + Double(nC - 1) * sdPreC * sdPreC) / df).squareRoot()
        guard pooled > 0 else { return nil }
        let c = 1 - 3 / (4 * df - 1)
        return c * ((postT - preT) - (postC - preC)) / pooled
    }
}

/// Spearman's rank correlation (ties get average ranks) with the two-sided p from the t
/// approximation t = ρ √((n − 2) / (1 − ρ²)), df = n − 2 (as scipy.stats.spearmanr).
public struct Spearman: Sendable, Equatable {
    public let n: Int
    public let rho: Double
    public let p: Double

    /// Nil with fewer than 3 pairs, a non-finite value, or when either variable is constant, up to
    /// rounding too (sd ≤ 1e-9 · max(1, |mean|) of the values: 0.1 + 0.2 next to 0.3 is no spread to rank).
    public init?(_ x: [Double], _ y: [Double]) {
        precondition(x.count == y.count)
        guard x.count >= 3, Stats.allFinite(x), Stats.allFinite(y),
              !Stats.isNegligible(sd: Stats.sd(x)!, mean: Stats.mean(x)!),
              !Stats.isNegligible(sd: Stats.sd(y)!, mean: Stats.mean(y)!) else { return nil }
        let rx = Self.ranks(x)
        let ry = Self.ranks(y)
        let mx = Stats.mean(rx)!, my = Stats.mean(ry)!
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in rx.indices {
            sxy += (rx[i] - mx) * (ry[i] - my)
            sxx += (rx[i] - mx) * (rx[i] - mx)
            syy += (ry[i] - my) * (ry[i] - my)
        }
        guard sxx > 0, syy > 0 else { return nil }
        n = x.count
        rho = sxy / (sxx * syy).squareRoot()
        if abs(rho) >= 1 {
            p = 0
        } else {
            let t = rho * (Double(n - 2) / (1 - rho * rho)).squareRoot()
            p = Distributions.studentTTwoSided(t: t, df: Double(n - 2))
        }
    }

    static func ranks(_ xs: [Double]) -> [Double] {
        let order = xs.indices.sorted { xs[$0] < xs[$1] }
        var ranks = [Double](repeating: 0, count: xs.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && xs[order[j + 1]] == xs[order[i]] { j += 1 }
            let average = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = average }
            i = j + 1
        }
        return ranks
    }
}

/// Share of the immediate gain still present at follow-up: (follow-up − pre) / (post − pre).
///
/// Only meaningful when the immediate gain is real: the caller must use it only when post − pre is
/// significantly positive (e.g. the one-sided paired/one-sample test of the gain rejects), and the
/// caller enforces that. On a gain that is noise, or negative, the ratio is an arbitrary number (a
/// tiny denominator makes it huge; a negative one flips its meaning). It returns nil only for post = pre.
public enum Retention {
    public static func ratio(pre: Double, post: Double, followUp: Double) -> Double? {
        post != pre ? (followUp - pre) / (post - pre) : nil
    }
}
