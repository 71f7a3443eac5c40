import LVAPI
import LVMessages
import LVStatistics

public typealias PlanningComparison = Lv_Gateway_V1_PlanningComparison

/// The planning comparison (docs/ASSESSMENT.md "Planning: desired against evidenced"): for each
/// objective, the Moore level it was designed to reach against the level its own evidence
/// supports, and participants' knowledge change by profession and by specialty.
///
/// An objective's level is judged by the ladder's rules (`MooreLevels`, `EvidenceEngine`)
/// restricted to what maps to the objective: 3A and 3B the declarative and procedural items whose
/// `objective_id` is the objective (drift from the control items, as for the activity); 4 the
/// objective's score on the case vignettes (drift from the control items of the knowledge tests);
/// 5 and 6 the practice and patient-outcome measures the plan maps to the objective (comparison
/// cohort only). Every test run for every objective and level is one family: Holm across all of
/// them, so the chance of any false claim in the table stays at alpha.
///
/// The breakdown is descriptive: per group, n and the mean knowledge change with its 95 % t
/// interval, shown only when n reaches `minimum_n`; no level is claimed for a group.
public enum PlanningView {
    /// The levels an objective can be judged at, in ladder order.
    public static let levels: [MooreLevels.Level] = [.declarativeKnowledge, .proceduralKnowledge, .competence, .performance, .patientHealth]

    static func build(_ activity: Lv_Registration_V1_Activity, cohorts: Cohorts, learners: [String: Lv_Registration_V1_Physician]?,
                      thresholds th: Thresholds) -> PlanningComparison? {
        guard let plan = activity.planning else { return nil }
        var out = PlanningComparison()
        out.practiceGap = plan.practiceGap
        out.evidenceSources = plan.evidenceSources.map(\.protoName)
        out.evidenceDetail = plan.evidenceDetail
        out.targetProfessions = plan.targetProfessions.map(\.protoName)
        out.specialties = plan.specialties
        out.subgroupMinimumN = th.minimumN

        // Every (objective, level) cell: the tests run, or why none ran.
        var cells: [[Cell]] = activity.objectives.map { o in levels.map { level in cell(o, level, cohorts: cohorts, thresholds: th) } }
        // Holm across every test of the table.
        var family = cells.flatMap { $0.flatMap(\.evidence) }
        EvidenceEngine.holm(&family, alpha: th.alpha)
        out.familySize = UInt32(family.count)
        var k = 0
        for i in cells.indices { for j in cells[i].indices { for e in cells[i][j].evidence.indices { cells[i][j].evidence[e] = family[k]; k += 1 } } }

        out.objectives = activity.objectives.enumerated().map { i, o in
            var row = Lv_Gateway_V1_ObjectivePlan()
            (row.objectiveId, row.objectiveText, row.desiredLevel) = (o.id, o.text, o.desiredLevel)
            row.levels = levels.enumerated().map { j, level in
                var l = Lv_Gateway_V1_ObjectiveLevel()
                l.level = level.rawValue
                l.evidence = cells[i][j].evidence
                if let best = l.evidence.filter(\.significant).max(by: { ($0.effect?.value ?? 0) < ($1.effect?.value ?? 0) }) {
                    l.evidenced = true
                    l.reason = "\(best.measure): \(MooreLevels.describe(best, unit: level >= .performance ? "rate points" : "points"))"
                } else if let first = l.evidence.min(by: { ($0.adjusted?.p ?? 1) < ($1.adjusted?.p ?? 1) }) {
                    l.reason = "\(first.measure): \(MooreLevels.describe(first, unit: level >= .performance ? "rate points" : "points")) — not beyond chance"
                } else {
                    l.reason = cells[i][j].notes.joined(separator: "; ")
                }
                return l
            }
            let evidenced = row.levels.filter(\.evidenced).compactMap { MooreLevels.Level(rawValue: $0.level) }.max()
            row.evidencedLevel = evidenced?.rawValue ?? ""
            let desired = MooreLevels.Level(rawValue: o.desiredLevel)
            let highest = evidenced.map { "evidenced up to \($0.rawValue)" } ?? "no level evidenced"
            if let desired, let atDesired = row.levels.first(where: { $0.level == desired.rawValue }) {
                row.desiredMet = evidenced.map { $0 >= desired } ?? false
                if row.desiredMet {
                    let shown = row.levels.first { $0.level == evidenced!.rawValue }!
                    row.reason = "met: desired \(desired.rawValue), evidenced \(evidenced!.rawValue) — \(shown.reason)"
                } else {
                    row.reason = "not met: desired \(desired.rawValue), \(highest) — at \(desired.rawValue): \(atDesired.reason)"
                }
            } else {
                row.reason = "no desired level stated; \(highest)"
            }
            return row
        }

        if let learners {
            let assessed = cohorts.participants.compactMap { npi in cohorts.records[npi]?.total.map { (npi, 100 * $0.change) } }
            func name(_ p: Lv_Registration_V1_Profession) -> String {
                let effective = p == .unspecified ? Lv_Registration_V1_Profession.physician : p
                return effective.protoName.dropFirst("PROFESSION_".count).lowercased().split(separator: "_").joined(separator: " ")
            }
            var byProfession: [String: [Double]] = [:], bySpecialty: [String: [Double]] = [:]
            for (npi, change) in assessed {
                guard let l = learners[npi] else { continue }
                byProfession[name(l.profession), default: []].append(change)
                bySpecialty[l.specialty.isEmpty ? "(none)" : l.specialty, default: []].append(change)
            }
            for p in plan.targetProfessions where byProfession[name(p)] == nil { byProfession[name(p)] = [] }
            for s in plan.specialties where bySpecialty[s] == nil { bySpecialty[s] = [] }
            let professionOrder = Lv_Registration_V1_Profession.allCases.map(name)
            out.byProfession = byProfession.keys.sorted { (professionOrder.firstIndex(of: $0) ?? .max, $0) < (professionOrder.firstIndex(of: $1) ?? .max, $1) }
                .map { group($0, byProfession[$0]!, minimumN: Int(th.minimumN)) }
            out.bySpecialty = bySpecialty.keys.sorted().map { group($0, bySpecialty[$0]!, minimumN: Int(th.minimumN)) }
        } else {
            out.breakdownNote = "the learners' records could not be read"
        }
        return out
    }

    struct Cell {
        var evidence: [Evidence] = []
        var notes: [String] = []
    }

    static func cell(_ o: Lv_Registration_V1_LearningObjective, _ level: MooreLevels.Level, cohorts: Cohorts, thresholds th: Thresholds) -> Cell {
        var c = Cell()
        for outcome in tests(o, level, cohorts: cohorts, thresholds: th) {
            switch outcome {
            case .tested(let e): c.evidence.append(e)
            case .notTested(let why): c.notes.append(why)
            }
        }
        if c.evidence.isEmpty && c.notes.isEmpty { c.notes.append(nothingMapped(o, level)) }
        return c
    }

    /// One group's knowledge change (points), or "n too small".
    static func group(_ name: String, _ changes: [Double], minimumN: Int) -> Lv_Gateway_V1_GroupKnowledge {
        var g = Lv_Gateway_V1_GroupKnowledge()
        (g.group, g.n) = (name, UInt32(changes.count))
        guard changes.count >= minimumN else {
            g.note = "n too small (n = \(changes.count), minimum \(minimumN))"
            return g
        }
        if let t = OneSampleTTest(changes) {
            g.knowledgeChange = estimate(t.mean, n: t.n, ci: t.ci)
        } else {
            g.knowledgeChange = estimate(Stats.mean(changes), n: changes.count)
            g.note = "every change is the same: no interval"
        }
        return g
    }

    static func nothingMapped(_ o: Lv_Registration_V1_LearningObjective, _ level: MooreLevels.Level) -> String {
        switch level {
        case .declarativeKnowledge: "no declarative item maps to \(o.id)"
        case .proceduralKnowledge: "no procedural item maps to \(o.id)"
        case .competence: "no case-vignette item maps to \(o.id)"
        case .performance: o.measureCodes.isEmpty ? "the plan maps no practice measure to \(o.id)"
            : "none of the measures mapped to \(o.id) (\(o.measureCodes.joined(separator: ", "))) was recorded as a practice measure"
        case .patientHealth: o.measureCodes.isEmpty ? "the plan maps no patient-outcome measure to \(o.id)"
            : "none of the measures mapped to \(o.id) (\(o.measureCodes.joined(separator: ", "))) was recorded as a patient-outcome measure"
        default: "not an objective's level"
        }
    }

    /// The tests of one objective at one level: none when nothing maps to it.
    static func tests(_ o: Lv_Registration_V1_LearningObjective, _ level: MooreLevels.Level, cohorts: Cohorts, thresholds th: Thresholds)
        -> [EvidenceEngine.Outcome] {
        let everyone = cohorts.participantRecords() + cohorts.comparisonRecords()
        switch level {
        case .declarativeKnowledge, .proceduralKnowledge:
            let subscale: Subscale = level == .declarativeKnowledge ? .declarative : .procedural
            guard everyone.contains(where: { $0.objectiveSubscale(o.id, subscale) != nil }) else { return [] }
            let c = cohorts.changes({ $0.objectiveSubscale(o.id, subscale) }, drift: { $0.subscale(.control)?.change })
            let measure = "\(o.id): \(subscale.rawValue) items"
            return [EvidenceEngine.test(measure, participants: c.participants, comparison: c.comparison, thresholds: th, scale: 100)]
        case .competence:
            guard everyone.contains(where: { $0.vignetteObjective(o.id) != nil }) else { return [] }
            let c = cohorts.changes({ $0.vignetteObjective(o.id) }, drift: { $0.controlTotal?.change })
            let measure = "\(o.id): case vignettes"
            return [EvidenceEngine.test(measure, participants: c.participants, comparison: c.comparison, thresholds: th, scale: 100)]
        case .performance, .patientHealth:
            let outcome = level == .patientHealth
            let recorded = Set(everyone.flatMap { $0.outcomes.measures.filter { $0.patientOutcome == outcome }.map(\.measureCode) })
            return o.measureCodes.filter(recorded.contains).map { code in
                let c = cohorts.changes({ $0.measure(code) }, drift: { _ in nil })
                let measure = "\(o.id): \(code)"
                return EvidenceEngine.test(measure, participants: c.participants, comparison: c.comparison, thresholds: th,
                                           driftControl: false, scale: 100)
            }
        default:
            return []
        }
    }
}

extension PhysicianRecord {
    /// Share right on one objective's items of a subscale, answered before and after; nil without such items.
    public func objectiveSubscale(_ id: String, _ s: Subscale) -> PrePost? {
        let pairs = prePostPairs.filter { $0.objectiveId == id && s.contains($0) }
        guard !pairs.isEmpty else { return nil }
        let n = Double(pairs.count)
        return PrePost(pre: Double(pairs.filter(\.beforeCorrect).count) / n, post: Double(pairs.filter(\.afterCorrect).count) / n)
    }

    /// One objective's score on the case vignettes, before and after.
    public func vignetteObjective(_ id: String) -> PrePost? {
        guard let a = vignettePre?.objectives.first(where: { $0.objectiveId == id }),
              let b = vignettePost?.objectives.first(where: { $0.objectiveId == id }) else { return nil }
        return PrePost(pre: a.score, post: b.score)
    }
}
