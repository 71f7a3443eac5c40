import Foundation
import LVStatistics
import Testing

private func near(_ a: Double?, _ b: Double, relative: Double = 1e-9, absolute: Double = 1e-12) -> Bool {
    guard let a else { return false }
    return abs(a - b) <= max(absolute, relative * abs(b))
}

/// The inferential-statistics cases of Tests/Fixtures/statistics.json (scripts/make-statistics-fixtures.py).
struct InferenceFixtures: Decodable {
    struct OneSample: Decodable {
        let xs: [Double]; let mu: Double; let confidence: Double; let t: Double; let df: Int
        let p_one: Double; let p_two: Double; let ci_lower: Double; let ci_upper: Double
        let dz: Double; let dz_lower: Double; let dz_upper: Double
    }
    struct Welch: Decodable {
        let a: [Double]; let b: [Double]; let confidence: Double; let t: Double; let df: Double
        let p_one: Double; let p_two: Double; let ci_lower: Double; let ci_upper: Double
        let g: Double; let g_lower: Double; let g_upper: Double
    }
    struct TQuantile: Decodable { let p: Double; let df: Double; let x: Double }
    struct TUpper: Decodable { let t: Double; let df: Double; let upper: Double }
    struct NormalQuantile: Decodable { let p: Double; let x: Double }
    struct NoncentralT: Decodable { let t: Double; let df: Double; let delta: Double; let cdf: Double }
    struct Items: Decodable { let responses: [[Double]]; let alpha: Double; let kr20: Double? }
    struct RCI: Decodable {
        let sd_pre: Double; let reliability: Double; let pre: Double; let post: Double
        let se_diff: Double; let index: Double; let `class`: String
    }
    struct MorrisVariance: Decodable { let d: Double; let nT: Int; let nC: Int; let rho: Double; let variance: Double }
    let one_sample_t: [OneSample]
    let welch_t: [Welch]
    let t_quantiles: [TQuantile]
    let t_upper: [TUpper]
    let normal_quantiles: [NormalQuantile]
    let noncentral_t: [NoncentralT]
    let reliability: [Items]
    let reliable_change: [RCI]
    let morris_variance: [MorrisVariance]

    static let loaded: InferenceFixtures = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/statistics.json")
        return try! JSONDecoder().decode(InferenceFixtures.self, from: Data(contentsOf: url))
    }()
}

@Suite("inference against scipy/numpy (Tests/Fixtures/statistics.json)")
struct InferenceFixtureTests {
    @Test("Student t upper tail matches scipy.stats.t.sf, fractional df included")
    func tUpper() {
        for f in InferenceFixtures.loaded.t_upper {
            let u = Distributions.studentTUpper(t: f.t, df: f.df)
            #expect(near(u, f.upper, absolute: 1e-300), "sf(\(f.t), \(f.df)) \(u) vs \(f.upper)")
        }
    }

    @Test("Student t quantile matches scipy.stats.t.ppf, fractional df included")
    func tQuantile() {
        for f in InferenceFixtures.loaded.t_quantiles {
            let x = Distributions.studentTQuantile(p: f.p, df: f.df)
            #expect(near(x, f.x), "ppf(\(f.p), \(f.df)) \(x) vs \(f.x)")
        }
    }

    @Test("normal quantile matches scipy.stats.norm.ppf")
    func normalQuantile() {
        for f in InferenceFixtures.loaded.normal_quantiles {
            let x = Distributions.normalQuantile(f.p)
            #expect(near(x, f.x, relative: 1e-12), "ppf(\(f.p)) \(x) vs \(f.x)")
        }
    }

    @Test("noncentral t CDF matches scipy.stats.nct.cdf")
    func noncentralT() {
        for f in InferenceFixtures.loaded.noncentral_t {
            let c = Distributions.noncentralTCDF(t: f.t, df: f.df, noncentrality: f.delta)
            #expect(near(c, f.cdf, absolute: 1e-13), "nct.cdf(\(f.t), \(f.df), \(f.delta)) \(c) vs \(f.cdf)")
        }
    }

    @Test("one-sample t, p (one- and two-sided), CI match scipy.stats.ttest_1samp; d_z CI matches nct inversion")
    func oneSample() throws {
        for f in InferenceFixtures.loaded.one_sample_t {
            let r = try #require(OneSampleTTest(f.xs, mu: f.mu, confidence: f.confidence))
            #expect(r.n == f.xs.count && r.df == f.df)
            #expect(near(r.t, f.t), "t \(r.t) vs \(f.t)")
            #expect(near(r.pOneSided, f.p_one, relative: 1e-8, absolute: 1e-300), "p1 \(r.pOneSided) vs \(f.p_one)")
            #expect(near(r.pTwoSided, f.p_two, relative: 1e-8, absolute: 1e-300), "p2 \(r.pTwoSided) vs \(f.p_two)")
            #expect(near(r.ci.lower, f.ci_lower) && near(r.ci.upper, f.ci_upper), "ci \(r.ci) vs \(f.ci_lower)…\(f.ci_upper)")
            #expect(r.ci.level == f.confidence && r.dzCI.level == f.confidence)
            #expect(near(r.dz, f.dz))
            // Root of scipy's nct.cdf (Boost) against ours: both ~1e-15 in the CDF, ~1e-13 in λ.
            #expect(near(r.dzCI.lower, f.dz_lower, relative: 1e-8, absolute: 1e-10), "dz lower \(r.dzCI.lower) vs \(f.dz_lower)")
            #expect(near(r.dzCI.upper, f.dz_upper, relative: 1e-8, absolute: 1e-10), "dz upper \(r.dzCI.upper) vs \(f.dz_upper)")
        }
    }

    @Test("Welch t, df, p, CI match scipy.stats.ttest_ind(equal_var=False); Hedges' g and its CI match numpy")
    func welch() throws {
        for f in InferenceFixtures.loaded.welch_t {
            let r = try #require(WelchTTest(f.a, f.b, confidence: f.confidence))
            #expect(r.nA == f.a.count && r.nB == f.b.count)
            #expect(near(r.t, f.t), "t \(r.t) vs \(f.t)")
            #expect(near(r.df, f.df), "df \(r.df) vs \(f.df)")
            #expect(near(r.pOneSided, f.p_one, relative: 1e-8), "p1 \(r.pOneSided) vs \(f.p_one)")
            #expect(near(r.pTwoSided, f.p_two, relative: 1e-8), "p2 \(r.pTwoSided) vs \(f.p_two)")
            #expect(near(r.ci.lower, f.ci_lower) && near(r.ci.upper, f.ci_upper), "ci \(r.ci) vs \(f.ci_lower)…\(f.ci_upper)")
            #expect(near(r.difference, r.meanA - r.meanB))
            #expect(near(r.g, f.g), "g \(r.g) vs \(f.g)")
            #expect(near(r.gCI.lower, f.g_lower) && near(r.gCI.upper, f.g_upper), "g ci \(r.gCI) vs \(f.g_lower)…\(f.g_upper)")
        }
    }

    @Test("KR-20 and Cronbach's alpha match the textbook formulas in numpy")
    func reliability() {
        for f in InferenceFixtures.loaded.reliability {
            #expect(near(Reliability.cronbachAlpha(f.responses), f.alpha), "alpha vs \(f.alpha)")
            if let kr20 = f.kr20 {
                #expect(near(Reliability.kr20(f.responses), kr20), "kr20 vs \(kr20)")
            } else {
                #expect(Reliability.kr20(f.responses) == nil) // Likert items are not 0/1
            }
        }
    }

    @Test("reliable change index and class match numpy")
    func reliableChange() throws {
        for f in InferenceFixtures.loaded.reliable_change {
            let r = try #require(ReliableChange(sdPre: f.sd_pre, reliability: f.reliability))
            #expect(near(r.standardErrorOfDifference, f.se_diff))
            #expect(near(r.index(pre: f.pre, post: f.post), f.index))
            let expected: ReliableChange.Class = switch f.class {
            case "reliableImprovement": .reliableImprovement
            case "reliableDecline": .reliableDecline
            default: .noReliableChange
            }
            #expect(r.classify(pre: f.pre, post: f.post) == expected)
        }
    }

    @Test("Morris d_ppc2 variance matches eq. 25 computed in Python (itself checked against the exact nct variance and a Monte Carlo)")
    func morrisVariance() {
        for f in InferenceFixtures.loaded.morris_variance {
            let v = Morris.dppc2Variance(d: f.d, nT: f.nT, nC: f.nC, rho: f.rho)
            #expect(near(v, f.variance), "\(String(describing: v)) vs \(f.variance)")
        }
    }
}

@Suite("inference: degenerate inputs are nil, never a number")
struct InferenceDegenerateTests {
    @Test("one-sample t: too few, constant up to rounding, non-finite, bad confidence")
    func oneSample() {
        #expect(OneSampleTTest([5]) == nil)
        #expect(OneSampleTTest([]) == nil)
        #expect(OneSampleTTest([5, 5, 5]) == nil)
        #expect(OneSampleTTest([100 * 0.55 - 100 * 0.5, 5, 5]) == nil)
        #expect(OneSampleTTest([1, 2, .infinity]) == nil)
        #expect(OneSampleTTest([1, 2, .nan]) == nil)
        #expect(OneSampleTTest([1, 2, 3], mu: .nan) == nil)
        #expect(OneSampleTTest([1, 2, 3], confidence: 1) == nil)
        #expect(OneSampleTTest([1, 2, 3], confidence: 0) == nil)
    }

    @Test("Welch: n < 2 in a group, both groups constant, non-finite are nil; one constant group is fine")
    func welch() throws {
        #expect(WelchTTest([1], [1, 2, 3]) == nil)
        #expect(WelchTTest([1, 2, 3], [4]) == nil)
        #expect(WelchTTest([5, 5, 5], [7, 7]) == nil)
        #expect(WelchTTest([100 * 0.55 - 100 * 0.5, 5], [7, 7, 7]) == nil)
        #expect(WelchTTest([1, 2, .nan], [1, 2, 3]) == nil)
        // B constant: SE from A alone, and Welch–Satterthwaite reduces to n_A − 1.
        let r = try #require(WelchTTest([1, 2, 3, 6], [0, 0, 0]))
        #expect(near(r.df, 3))
        #expect(near(r.standardError, (Stats.variance([1, 2, 3, 6])! / 4).squareRoot()))
    }

    @Test("Morris variance: too few, n_T + n_C ≤ 4, ρ outside (−1, 1)")
    func morris() {
        #expect(Morris.dppc2Variance(d: 0.5, nT: 1, nC: 10, rho: 0.5) == nil)
        #expect(Morris.dppc2Variance(d: 0.5, nT: 2, nC: 2, rho: 0.5) == nil)
        #expect(Morris.dppc2Variance(d: 0.5, nT: 10, nC: 10, rho: 1) == nil)
        #expect(Morris.dppc2Variance(d: 0.5, nT: 10, nC: 10, rho: -1) == nil)
        #expect(Morris.dppc2Variance(d: .nan, nT: 10, nC: 10, rho: 0.5) == nil)
    }

    @Test("reliability: < 2 items, < 2 respondents, zero total variance, ragged rows, non-0/1 for KR-20")
    func reliability() {
        #expect(Reliability.kr20([[1], [0], [1]]) == nil)
        #expect(Reliability.cronbachAlpha([[1, 0, 1]]) == nil)
        #expect(Reliability.kr20([[1, 0], [0, 1], [1, 0]]) == nil) // every total is 1
        #expect(Reliability.cronbachAlpha([[1, 0], [0, 1, 1]]) == nil)
        #expect(Reliability.kr20([[1, 2], [0, 1], [1, 1]]) == nil)
        #expect(Reliability.cronbachAlpha([[1, 2], [0, 1], [1, 1]]) != nil)
    }

    @Test("KR-20 equals α on 0/1 items (same n − 1 convention)")
    func kr20IsAlpha() throws {
        let items: [[Double]] = [[1, 1, 0, 1], [0, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 1], [1, 0, 1, 1]]
        let kr20 = try #require(Reliability.kr20(items))
        #expect(near(Reliability.cronbachAlpha(items), kr20, relative: 1e-12))
    }

    @Test("reliable change: bad SD or reliability is nil; exactly z is no reliable change")
    func reliableChange() throws {
        #expect(ReliableChange(sdPre: 0, reliability: 0.8) == nil)
        #expect(ReliableChange(sdPre: 10, reliability: 1) == nil)
        #expect(ReliableChange(sdPre: 10, reliability: -0.1) == nil)
        #expect(ReliableChange(sdPre: .nan, reliability: 0.5) == nil)
        // reliability 0.5, sd 1: SE_diff = √2 · √0.5 = 1, so RCI = post − pre.
        let r = try #require(ReliableChange(sdPre: 1, reliability: 0.5))
        #expect(near(r.standardErrorOfDifference, 1))
        #expect(r.classify(pre: 0, post: 2, z: 2) == .noReliableChange)
        #expect(r.classify(pre: 0, post: 2.5, z: 2) == .reliableImprovement)
        #expect(r.classify(pre: 0, post: -2.5, z: 2) == .reliableDecline)
    }
}

@Suite("inference against published values")
struct InferencePublishedTests {
    @Test("t critical values from the table: t(0.975; 1) = 12.706, t(0.975; 10) = 2.228, t(0.95; 30) = 1.697; z(0.975) = 1.95996")
    func tables() {
        #expect(abs(Distributions.studentTQuantile(p: 0.975, df: 1) - 12.706) < 5e-4)
        #expect(abs(Distributions.studentTQuantile(p: 0.975, df: 10) - 2.228) < 5e-4)
        #expect(abs(Distributions.studentTQuantile(p: 0.95, df: 30) - 1.697) < 5e-4)
        #expect(abs(Distributions.normalQuantile(0.975) - 1.959964) < 5e-7)
        #expect(Distributions.studentTQuantile(p: 0.5, df: 3) == 0)
    }

    @Test("t with df = 1 is Cauchy: P(T > t) = ½ − atan(t)/π")
    func cauchy() {
        for t in [-3.0, -0.5, 0.2, 1, 7] {
            #expect(near(Distributions.studentTUpper(t: t, df: 1), 0.5 - atan(t) / Double.pi))
        }
    }
}
