import Foundation
import Gateway
import GatewayDomain
import LVAPI
import LVMessages
import Testing

/// How often each Moore-level rule claims a level when nothing was learned (false-claim rate),
/// and how often it finds a moderate true effect (power), measured on simulated activities run
/// through the real scoring and the real view. `LV_OC_REPLICATES` sets the replicates per
/// scenario (default 200; `make validate` runs 2,000). The measured table is printed, for
/// docs/GATEWAY.md.
@Suite("operating characteristics of the Moore-level rules", .serialized)
struct OperatingCharacteristicsTests {
    static let replicates = Int(ProcessInfo.processInfo.environment["LV_OC_REPLICATES"] ?? "") ?? 200
    static let alpha = 0.05
    static let learningLevels = ["2", "3A", "3B", "4", "5", "6"]

    /// Claims per level over `replicates` runs of a scenario, computed on two threads of their
    /// own (never the cooperative pool: minutes of CPU there would starve every other suite's
    /// async tests running beside it).
    static func claimRates(_ s: SimulatedActivity.Scenario, seed: UInt64) async throws -> [String: Double] {
        let n = replicates
        let counts: [String: Int] = try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                let tally = Tally()
                DispatchQueue.concurrentPerform(iterations: 2) { w in
                    var counts: [String: Int] = [:]
                    do {
                        for r in stride(from: w, to: n, by: 2) {
                            var input = try SimulatedActivity.inputs(s, seed: seed &* 1_000_003 &+ UInt64(r))
                            (input.activity, input.learners) = (PlanningOC.planned, [:])
                            let v = ValidationView.build(input, thresholds: Thresholds(), now: 0)
                            for l in v.levels where l.evidenced { counts[l.level, default: 0] += 1 }
                            PlanningOC.count(v, into: &counts)
                        }
                        tally.add(counts)
                    } catch {
                        tally.fail(error)
                    }
                }
                continuation.resume(with: tally.result)
            }
        }
        return Dictionary(uniqueKeysWithValues: (learningLevels + ["plan-any", "plan-obj-a", "plan-obj-b", "plan-family"]).map { ($0, Double(counts[$0] ?? 0) / Double(n)) })
    }

    /// α plus three Monte Carlo standard errors.
    static var bound: Double { alpha + 3 * (alpha * (1 - alpha) / Double(replicates)).squareRoot() }

    static func row(_ name: String, _ rates: [String: Double]) -> String {
        "| \(name) | " + learningLevels.map { fixed(rates[$0]!, 3) }.joined(separator: " | ") + " |"
    }

    static let nullScenarios: [SimulatedActivity.Scenario] = {
        typealias S = SimulatedActivity.Scenario
        var shared = S(name: "no learning, retest drift +0.4 logit in both cohorts (120 + 40)")
        shared.practiceTrend = 0.05
        var secular = S(name: "secular practice trend in both cohorts (+8 and +4 rate points), no drift (120 + 40)")
        (secular.drift, secular.practiceTrend, secular.patientTrend) = (0, 0.08, 0.04)
        var ceiling = S(name: "ceiling: prior ability +2 logits, drift +0.4 (120 + 40)")
        ceiling.ability = 2
        var small = S(name: "small n: 12 participants + 4 comparison, drift +0.4")
        (small.participants, small.comparison) = (12, 4)
        var none = S(name: "no comparison cohort (120 + 0), drift +0.4, practice trend +5")
        (none.comparison, none.practiceTrend) = (0, 0.05)
        var one = S(name: "one comparison physician (120 + 1), drift +0.4")
        one.comparison = 1
        var five = S(name: "five comparison physicians (120 + 5), drift +0.4, practice trend +5")
        (five.comparison, five.practiceTrend) = (5, 0.05)
        return [shared, secular, ceiling, small, none, one, five]
    }()

    @Test("no rule claims a level more often than alpha when nothing was learned", arguments: nullScenarios.indices)
    func falseClaimRate(_ index: Int) async throws {
        let s = Self.nullScenarios[index]
        let rates = try await Self.claimRates(s, seed: UInt64(100 + index))
        print("false-claim rates (\(Self.replicates) replicates): " + Self.row(s.name, rates))
        for level in Self.learningLevels {
            #expect(rates[level]! <= Self.bound, "level \(level) claimed in \(fixed(100 * rates[level]!, 1))% of null replicates of '\(s.name)' (bound \(fixed(100 * Self.bound, 1))%)")
        }
        // The planning table: any of its six tests claimed (family-wise), Holm across objectives and levels.
        print("planning, any objective claimed at any level (\(Self.replicates) replicates): \(s.name): \(fixed(rates["plan-any"]!, 3))")
        #expect(rates["plan-any"]! <= Self.bound, "the planning table claimed something in \(fixed(100 * rates["plan-any"]!, 1))% of null replicates of '\(s.name)'")
        #expect(rates["plan-family"] == 0)
    }

    @Test("a moderate true effect (d ≈ 0.5, 120 participants, 40 comparison) is found at 3A with power ≥ 0.8")
    func power() async throws {
        var s = SimulatedActivity.Scenario(name: "moderate true effect")
        (s.learning, s.satisfaction, s.practiceEffect, s.patientEffect) = (0.55, 0.7, 0.06, 0.03)
        // The standardized effect the scenario really has: Hedges' g of the 3A test, averaged.
        var gs: [Double] = []
        for r in 0..<20 {
            let v = ValidationView.build(try SimulatedActivity.inputs(s, seed: 9_000 + UInt64(r)), thresholds: Thresholds(), now: 0)
            let e = try #require(v.levels.first { $0.level == "3A" }?.evidence.first)
            #expect(e.design == .comparisonCohort)
            gs.append(e.standardized!.value)
        }
        let g = gs.reduce(0, +) / Double(gs.count)
        #expect(g > 0.4 && g < 0.6, "the power scenario's effect is d ≈ \(fixed(g, 2)), not ≈ 0.5")
        let rates = try await Self.claimRates(s, seed: 77)
        print("power (\(Self.replicates) replicates, mean g \(fixed(g, 2))): " + Self.row(s.name, rates))
        #expect(rates["3A"]! >= 0.8)
        // Per objective, with 6 items instead of the ladder's 12 and Holm over six tests, power is lower: reported, and
        // asserted only to lie far above the null's rate (a verdict that never fires, or ignores Holm's family, fails here or above).
        print("planning, power (\(Self.replicates) replicates): obj-b desired 3A met \(fixed(rates["plan-obj-b"]!, 3)), obj-a desired 4 met \(fixed(rates["plan-obj-a"]!, 3)), any claim \(fixed(rates["plan-any"]!, 3))")
        #expect(rates["plan-obj-b"]! >= 0.3 && rates["plan-obj-a"]! >= 0.3)
        #expect(rates["plan-family"] == 0)
    }
}

/// The planning comparison's per-objective verdicts, measured on the same replicates as the
/// ladder (no extra simulation): obj-a (6 declarative and 6 procedural items, the vignette,
/// PROC-1 and OUT-1 mapped) wants level 4, obj-b (6 declarative items) 3A — up to six tests in
/// one Holm family.
enum PlanningOC {
    static let planned: Lv_Registration_V1_Activity = {
        var a = Lv_Registration_V1_Activity()
        a.activityId = "sim"
        a.objectives = [("obj-a", "4", ["PROC-1", "OUT-1"]), ("obj-b", "3A", [])].map { id, level, measures in
            var o = Lv_Registration_V1_LearningObjective()
            (o.id, o.text, o.desiredLevel, o.measureCodes) = (id, id, level, measures)
            return o
        }
        var p = Lv_Registration_V1_Planning()
        (p.practiceGap, p.evidenceSources, p.targetProfessions) = ("gap", [.literature], [.physician])
        a.planning = p
        return a
    }()

    /// "plan-any": any objective claimed at any level; "plan-obj-a", "plan-obj-b": the objective's desired level met;
    /// "plan-family": the Holm family was not every test run.
    static func count(_ v: ActivityValidation, into counts: inout [String: Int]) {
        guard let plan = v.planning else { counts["plan-family", default: 0] += 1; return }
        if plan.objectives.contains(where: { $0.levels.contains(where: \.evidenced) }) { counts["plan-any", default: 0] += 1 }
        for o in plan.objectives where o.desiredMet { counts["plan-\(o.objectiveId)", default: 0] += 1 }
        // Every test run is in the family, and there are at most six (fewer where a level cannot be tested).
        let run = plan.objectives.reduce(0) { $0 + $1.levels.reduce(0) { $0 + $1.evidence.count } }
        if plan.familySize != run || run > 6 || plan.objectives.flatMap({ $0.levels.flatMap(\.evidence) }).contains(where: { $0.adjusted?.familySize != plan.familySize }) {
            counts["plan-family", default: 0] += 1
        }
    }
}

/// Counts from the worker threads, under a lock.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    private var failure: (any Error)?
    func add(_ c: [String: Int]) { lock.withLock { counts.merge(c, uniquingKeysWith: +) } }
    func fail(_ e: any Error) { lock.withLock { failure = e } }
    var result: Result<[String: Int], any Error> { lock.withLock { failure.map { .failure($0) } ?? .success(counts) } }
}
