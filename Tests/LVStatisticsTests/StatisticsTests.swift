import Foundation
import LVStatistics
import Testing

private func close(_ a: Double?, _ b: Double, relative: Double = 1e-9, absolute: Double = 1e-12) -> Bool {
    guard let a else { return false }
    return abs(a - b) <= max(absolute, relative * abs(b))
}

struct Fixtures: Decodable {
    struct Paired: Decodable { let pre: [Double]; let post: [Double]; let t: Double; let p: Double; let df: Int }
    struct Rank: Decodable { let x: [Double]; let y: [Double]; let rho: Double; let p: Double }
    struct Discordant: Decodable { let b: Int; let c: Int; let chi2: Double?; let p_chi2: Double; let p_exact: Double }
    let paired_t: [Paired]
    let spearman: [Rank]
    let mcnemar: [Discordant]

    static let loaded: Fixtures = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/statistics.json")
        return try! JSONDecoder().decode(Fixtures.self, from: Data(contentsOf: url))
    }()
}

@Suite("statistics against published values")
struct PublishedValueTests {
    @Test("McNemar b=12, c=2: corrected chi-square 5.7857, p 0.0162, exact p 0.0129")
    func mcnemarPublished() throws {
        let m = try #require(McNemar(b: 12, c: 2))
        #expect(abs(m.chiSquare - 5.7857) < 5e-5)
        #expect(abs(m.pChiSquare - 0.0162) < 5e-5)
        #expect(abs(m.pExact - 0.0129) < 5e-5)
        #expect(m.usesExact && m.p == m.pExact)
    }

    @Test("Hake gain for 50% → 76% is 0.52")
    func hake() {
        #expect(close(HakeGain.classGain(meanPre: 50, meanPost: 76), 0.52))
        #expect(HakeGain.classGain(meanPre: 100, meanPost: 100) == nil)
        let individual = HakeGain.meanIndividualGain(pre: [50, 100, 80], post: [75, 100, 90])
        #expect(individual?.n == 2 && close(individual?.gain, (0.5 + 0.5) / 2))
    }

    @Test("Morris (2008) d_ppc2 for the five Carlson & Schmidt (1999) studies ≈ 0.768, 0.801, 1.205, 1.048, 0.439")
    func morris() {
        // Treatment and control pre/post means, pretest SDs and sizes as tabulated by Morris (2008).
        let studies: [(nT: Int, nC: Int, preT: Double, postT: Double, preC: Double, postC: Double, sdT: Double, sdC: Double)] = [
            (20, 20, 30.6, 38.5, 23.1, 19.7, 15.0, 13.8),
            (50, 42, 23.5, 26.8, 24.9, 25.3, 3.1, 4.1),
            (9, 9, 0.5, 0.7, 0.6, 0.6, 0.1, 0.2),
            (10, 11, 53.4, 75.9, 55.7, 60.7, 14.5, 17.3),
            (14, 14, 35.6, 36.0, 34.8, 33.4, 4.7, 3.1),
        ]
        let published = [0.768, 0.801, 1.205, 1.048, 0.439]
        for (s, expected) in zip(studies, published) {
            let d = Morris.dppc2(nT: s.nT, nC: s.nC, preT: s.preT, postT: s.postT, preC: s.preC, postC: s.postC, sdPreT: s.sdT, sdPreC: s.sdC)
            #expect(abs((d ?? .nan) - expected) < 0.0006, "study with nT=\(s.nT): \(String(describing: d)) vs \(expected)")
        }
    }

    @Test("Holm: adjusted p by hand for four tests")
    func holm() {
        // sorted 0.01, 0.02, 0.03, 0.5 → ×4, ×3, ×2, ×1 with running max → 0.04, 0.06, 0.06, 0.5
        let adjusted = MultipleComparisons.holm([0.03, 0.01, 0.5, 0.02])
        for (a, b) in zip(adjusted, [0.06, 0.04, 0.5, 0.06]) { #expect(close(a, b)) }
        #expect(MultipleComparisons.holm([0.4, 0.5]) == [0.8, 0.8])
    }

    @Test("retention: Bell et al. 50% → 76%, half the gain left at 63%")
    func retention() {
        #expect(close(Retention.ratio(pre: 50, post: 76, followUp: 63), 0.5))
        #expect(Retention.ratio(pre: 50, post: 50, followUp: 60) == nil)
    }

    @Test("missing or degenerate inputs give nil, never zero")
    func absent() {
        #expect(PairedTTest(pre: [50], post: [60]) == nil)
        #expect(PairedTTest(pre: [50, 60], post: [60, 70]) == nil) // every difference equal: t undefined
        #expect(McNemar(b: 0, c: 0) == nil)
        #expect(Spearman([1, 2], [2, 1]) == nil)
        #expect(Spearman([1, 1, 1], [1, 2, 3]) == nil)
        #expect(Morris.dppc2(nT: 1, nC: 5, preT: 0, postT: 1, preC: 0, postC: 0, sdPreT: 1, sdPreC: 1) == nil)
        #expect(Stats.mean([]) == nil)
    }

    @Test("identical differences up to rounding: paired t is nil, not t ≈ 1e16")
    func pairedRounding() throws {
        let pre = [100 * 0.5, 60, 70]
        let post = [100 * 0.55, 65, 75] // 55.000000000000007 − 50 next to 5, 5
        let d = zip(post, pre).map { $0 - $1 }
        #expect(try #require(Stats.sd(d)) > 0) // the spread really is nonzero in floating point
        #expect(PairedTTest(pre: pre, post: post) == nil)
        #expect(PairedTTest(pre: [50, 60, .nan], post: [55, 66, 70]) == nil)
        #expect(PairedTTest(pre: [50, 60, 70], post: [55, 66, 74]) != nil)
    }

    @Test("Spearman: a constant variable (exactly or up to rounding) or a non-finite value is nil")
    func spearmanConstant() {
        #expect(Spearman([1, 2, 3], [4, 4, 4]) == nil)
        #expect(Spearman([0.3, 0.1 + 0.2, 0.3, 0.3], [1, 2, 3, 4]) == nil)
        #expect(Spearman([1, 2, .nan], [1, 2, 3]) == nil)
        #expect(Spearman([1, 2, 3], [1, 3, 2]) != nil)
    }
}

@Suite("statistics against scipy (Tests/Fixtures/statistics.json)")
struct ScipyFixtureTests {
    @Test("paired t and two-sided p match scipy.stats.ttest_rel")
    func pairedT() throws {
        for f in Fixtures.loaded.paired_t {
            let r = try #require(PairedTTest(pre: f.pre, post: f.post))
            #expect(r.df == f.df)
            #expect(close(r.t, f.t), "t \(r.t) vs \(f.t)")
            #expect(close(r.p, f.p, relative: 1e-8), "p \(r.p) vs \(f.p)")
            #expect(close(r.dz, r.meanDifference / r.sdDifference))
        }
    }

    @Test("Spearman rho and p match scipy.stats.spearmanr, ties included")
    func spearman() throws {
        for f in Fixtures.loaded.spearman {
            let r = try #require(Spearman(f.x, f.y))
            #expect(close(r.rho, f.rho), "rho \(r.rho) vs \(f.rho)")
            #expect(close(r.p, f.p, relative: 1e-8, absolute: 1e-15), "p \(r.p) vs \(f.p)")
        }
    }

    @Test("McNemar chi-square p and exact p match scipy")
    func mcnemar() throws {
        for f in Fixtures.loaded.mcnemar {
            let m = try #require(McNemar(b: f.b, c: f.c))
            #expect(close(m.chiSquare, f.chi2 ?? .nan))
            #expect(close(m.pChiSquare, f.p_chi2, relative: 1e-9))
            #expect(close(m.pExact, f.p_exact, relative: 1e-9))
        }
    }
}
