#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The distribution functions the tests need: Student t (tails, quantile, noncentral CDF), the
/// standard normal quantile, chi-square with one degree of freedom, and the exact binomial tail.
/// Plain math, no I/O.
public enum Distributions {
    /// Two-sided p for Student's t with `df` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2).
    public static func studentTTwoSided(t: Double, df: Double) -> Double {
        guard t.isFinite else { return 0 }
        let t2 = t * t
        return regularizedIncompleteBeta(x: df / (df + t2), y: t2 / (df + t2), a: df / 2, b: 0.5)
    }

    /// Upper tail of chi-square with 1 degree of freedom: erfc(√(x/2)).
    public static func chiSquare1Upper(_ x: Double) -> Double {
        erfc((max(0, x) / 2).squareRoot())
    }

    /// Two-sided exact binomial p for k successes of n with p = 1/2 (McNemar's exact test):
    /// 2 · P(X ≤ min(k, n−k)), capped at 1.
    public static func binomialTwoSidedHalf(k: Int, n: Int) -> Double {
        guard n > 0 else { return 1 }
        let low = min(k, n - k)
        var tail = 0.0
        for i in 0...low { tail += exp(logChoose(n, i) - Double(n) * log(2.0)) }
        return min(1, 2 * tail)
    }

    static func logChoose(_ n: Int, _ k: Int) -> Double {
        lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1))
    }

    /// I_x(a, b) by the continued fraction of Numerical Recipes (Lentz's method).
    public static func regularizedIncompleteBeta(x: Double, a: Double, b: Double) -> Double {
        regularizedIncompleteBeta(x: x, y: 1 - x, a: a, b: b)
    }

    /// I_x(a, b) with y = 1 − x passed in, so callers that know 1 − x more exactly than
    /// `1 - x` (t²/(df + t²) next to df/(df + t²)) keep the digits.
    static func regularizedIncompleteBeta(x: Double, y: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if y <= 0 { return 1 }
        // ln x from y when x is near 1 (and the other way round): a·ln x with a large a needs it.
        let logX = x > 0.5 ? log1p(-y) : log(x)
        let logY = y > 0.5 ? log1p(-x) : log(y)
        let lnFront = -logBeta(a, b) + a * logX + b * logY
        if x < (a + 1) / (a + b + 2) {
            return exp(lnFront) * continuedFraction(x: x, a: a, b: b) / a
        }
        return 1 - exp(lnFront) * continuedFraction(x: y, a: b, b: a) / b
    }

    /// ln B(a, b) = lnΓ(a) + lnΓ(b) − lnΓ(a + b). When one argument is large (a t with df = 10⁶ has
    /// a = 5·10⁵, lnΓ(a) ≈ 6·10⁶) the plain difference of lgammas loses ~10 digits to cancellation;
    /// there lnΓ(big + small) − lnΓ(big) comes from Stirling's series instead, which has none.
    static func logBeta(_ a: Double, _ b: Double) -> Double {
        let big = max(a, b), small = min(a, b)
        guard big >= 50 else { return lgamma(a) + lgamma(b) - lgamma(a + b) }
        return lgamma(small) - logGammaRatio(big, small)
    }

    /// lnΓ(z + h) − lnΓ(z) for z ≥ 50 (any h ≥ 0): Stirling's series, whose remainder after the
    /// z⁻⁹ term is below 1e-20 there.
    static func logGammaRatio(_ z: Double, _ h: Double) -> Double {
        func series(_ z: Double) -> Double {
            let r = 1 / z, r2 = r * r
            return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 / 1188))))
        }
        // (z + h − ½) ln(z + h) − (z − ½) ln z − h = (z + h − ½) ln(1 + h/z) + h ln z − h
        return (z + h - 0.5) * log1p(h / z) + h * log(z) - h + (series(z + h) - series(z))
    }

    static func continuedFraction(x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m)
            let m2 = 2 * m
            var aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return h
    }
}

extension Distributions {
    /// Upper tail P(T > t) of Student's t with df degrees of freedom (df may be fractional, e.g. Welch).
    /// ½ I_{df/(df+t²)}(df/2, ½) for t ≥ 0, one minus that for t < 0. NaN when df ≤ 0 or an input is NaN.
    public static func studentTUpper(t: Double, df: Double) -> Double {
        guard !t.isNaN, !df.isNaN, df > 0 else { return .nan }
        if t == .infinity { return 0 }
        if t == -.infinity { return 1 }
        if df == .infinity { return normalUpper(t) }
        let t2 = t * t
        let half = t2.isFinite
            ? 0.5 * regularizedIncompleteBeta(x: df / (df + t2), y: t2 / (df + t2), a: df / 2, b: 0.5)
            : 0
        return t >= 0 ? half : 1 - half
    }

    /// Density of Student's t.
    static func studentTDensity(_ t: Double, df: Double) -> Double {
        exp(lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * log(df * Double.pi) - (df + 1) / 2 * log1p(t * t / df))
    }

    /// Quantile (inverse CDF) of Student's t: the x with P(T ≤ x) = p, 0 < p < 1.
    /// Newton's method on the upper tail of min(p, 1 − p), kept inside a bracket (bisection when a
    /// step would leave it); the tail is the accurate one, so 1 − p is never formed from a small p.
    /// ∓∞ at p = 0 and 1, NaN outside [0, 1] or when df ≤ 0.
    public static func studentTQuantile(p: Double, df: Double) -> Double {
        guard !p.isNaN, !df.isNaN, df > 0, p >= 0, p <= 1 else { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        if p == 0.5 { return 0 }
        if df == .infinity { return normalQuantile(p) }
        let q = min(p, 1 - p) // exact: 1 − p has no rounding for p ≥ ½
        // Bracket [lo, hi] around the x ≥ 0 with upper(x) = q (upper falls from ½ at 0).
        var lo = 0.0
        var hi = max(1.0, -normalQuantile(q))
        while studentTUpper(t: hi, df: df) > q {
            lo = hi
            hi *= 2
            if !hi.isFinite { return p < 0.5 ? -.infinity : .infinity }
        }
        // Start from the normal quantile with the first Cornish–Fisher term, clamped into the bracket.
        let z = -normalQuantile(q)
        var x = z + (z * z * z + z) / (4 * df)
        if !(x > lo && x < hi) { x = (lo + hi) / 2 }
        for _ in 0..<200 {
            let f = studentTUpper(t: x, df: df) - q
            if f == 0 { break }
            if f > 0 { lo = x } else { hi = x }
            var next = x + f / studentTDensity(x, df: df)
            if !(next > lo && next < hi) { next = (lo + hi) / 2 }
            let done = abs(next - x) <= 1e-15 * max(abs(x), 1e-300)
            x = next
            if done || hi - lo <= 4 * Double.ulpOfOne * hi { break }
        }
        return p < 0.5 ? -x : x
    }

    /// Standard normal CDF Φ(x) = ½ erfc(−x/√2).
    static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// Standard normal upper tail 1 − Φ(x) = ½ erfc(x/√2).
    static func normalUpper(_ x: Double) -> Double { 0.5 * erfc(x / 2.0.squareRoot()) }

    /// Standard normal quantile Φ⁻¹(p). Acklam's rational approximation for the lower tail of
    /// min(p, 1 − p) (about 1e-9 relative), then Halley steps on erfc to full double precision.
    /// ∓∞ at p = 0 and 1, NaN outside [0, 1].
    public static func normalQuantile(_ p: Double) -> Double {
        guard !p.isNaN, p >= 0, p <= 1 else { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        if p == 0.5 { return 0 }
        let q = min(p, 1 - p)
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                 3.754408661907416e+00]
        var x: Double
        if q < 0.02425 {
            let r = (-2 * log(q)).squareRoot()
            x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5])
                / ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1)
        } else {
            let u = q - 0.5
            let r = u * u
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * u
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        }
        // x < 0 here (lower tail). Halley refinement: e = Φ(x) − q, u = e / φ(x). In the central
        // region e is formed as ½ erf(x/√2) − (q − ½): both terms exact to the last bit near 0
        // (q − ½ is exact), where Φ(x) − q would only be good to 1e-16 absolute.
        let central = q >= 0.02425
        for _ in 0..<3 {
            let e = central ? 0.5 * erf(x / 2.0.squareRoot()) - (q - 0.5) : normalCDF(x) - q
            let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
            let next = x - u / (1 + x * u / 2)
            if !next.isFinite { break }
            let done = abs(next - x) <= 1e-16 * abs(x)
            x = next
            if done { break }
        }
        return p < 0.5 ? x : -x
    }

    /// CDF P(T ≤ t) of the noncentral t with df degrees of freedom and noncentrality δ.
    /// For t ≥ 0 (Lenth 1989, AS 243; Benton & Krishnamoorthy 2003):
    ///   F = Φ(−δ) + ½ Σⱼ [pⱼ I_x(j + ½, df/2) + qⱼ I_x(j + 1, df/2)],  x = t²/(t² + df),
    ///   pⱼ = e^{−δ²/2} (δ²/2)ʲ / j!,  qⱼ = δ e^{−δ²/2} (δ²/2)ʲ / (√2 Γ(j + 3/2)),
    /// summed outward from the Poisson mode with the recurrences of I_x in its first argument, over
    /// ±(10√(δ²/2) + 30) terms (the Poisson mass left out is below 1e-20). F(t) = 1 − F(−t; −δ) for t < 0.
    /// Accurate to ~1e-13 absolute (so to that relative only for probabilities that are not tiny: in a far
    /// tail, e.g. 1e-134, the underflowing terms are lost). The work grows with |δ|, so callers keep
    /// |δ| moderate (OneSampleTTest: |t| ≤ 1000).
    public static func noncentralTCDF(t: Double, df: Double, noncentrality delta: Double) -> Double {
        guard !t.isNaN, !df.isNaN, !delta.isNaN, df > 0, delta.isFinite else { return .nan }
        if t < 0 { return 1 - noncentralTCDF(t: -t, df: df, noncentrality: -delta) }
        if t == .infinity { return 1 }
        if delta == 0 { return 1 - studentTUpper(t: t, df: df) }
        let base = normalCDF(-delta)
        if t == 0 { return base }
        let t2 = t * t
        let x = t2 / (t2 + df), y = df / (t2 + df)
        let b = df / 2
        let lambda = delta * delta / 2
        let k = Int(lambda.rounded(.down))
        let width = Int((10 * lambda.squareRoot() + 30).rounded(.up))
        let logLambda = log(lambda)
        let sign: Double = delta < 0 ? -1 : 1
        // Weights at the mode.
        let pk = exp(-lambda + Double(k) * logLambda - lgamma(Double(k) + 1))
        let qk = sign * exp(log(abs(delta)) - 0.5 * log(2.0) - lambda + Double(k) * logLambda - lgamma(Double(k) + 1.5))
        // I_x(a, b) at the mode, and g(a) = Γ(a+b)/(Γ(a+1)Γ(b)) xᵃ yᵇ with I_x(a+1, b) = I_x(a, b) − g(a).
        func g(_ a: Double) -> Double { exp(lgamma(a + b) - lgamma(a + 1) - lgamma(b) + a * log(x) + b * log(y)) }
        let aP = Double(k) + 0.5, aQ = Double(k) + 1
        let iPk = regularizedIncompleteBeta(x: x, y: y, a: aP, b: b)
        let iQk = regularizedIncompleteBeta(x: x, y: y, a: aQ, b: b)
        let gPk = g(aP), gQk = g(aQ)
        var sum = pk * iPk + qk * iQk
        // Forward from the mode.
        var p = pk, q = qk, iP = iPk, iQ = iQk, gP = gPk, gQ = gQk
        var j = k
        while j < k + width {
            let aPj = Double(j) + 0.5, aQj = Double(j) + 1
            iP -= gP
            iQ -= gQ
            gP *= x * (aPj + b) / (aPj + 1)
            gQ *= x * (aQj + b) / (aQj + 1)
            j += 1
            p *= lambda / Double(j)
            q *= lambda / (Double(j) + 0.5)
            sum += p * max(0, iP) + q * max(0, iQ)
        }
        // Backward from the mode.
        p = pk; q = qk; iP = iPk; iQ = iQk; gP = gPk; gQ = gQk
        j = k
        while j > 0 && j > k - width {
            let aPj = Double(j) + 0.5, aQj = Double(j) + 1 // a at j; step to j − 1
            gP *= aPj / (x * (aPj - 1 + b))
            gQ *= aQj / (x * (aQj - 1 + b))
            iP += gP
            iQ += gQ
            p *= Double(j) / lambda
            q *= (Double(j) + 0.5) / lambda
            j -= 1
            sum += p * min(1, iP) + q * min(1, iQ)
        }
        return min(1, max(0, base + 0.5 * sum))
    }
}
