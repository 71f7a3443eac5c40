import LVAPI
import LVMessages
import LVRPC

public typealias AbsentSection = Lv_Gateway_V1_AbsentSection
public typealias SectionStatus = Lv_Gateway_V1_SectionStatus

/// A backend the view reads from.
public enum Source: String, CaseIterable, Sendable, Comparable {
    case registration, engagement, assessment
    public static func < (a: Source, b: Source) -> Bool { a.rawValue < b.rawValue }
}

/// One kind of data the view is computed from, and the backend it comes from.
public enum SourceData: String, CaseIterable, Sendable, Hashable {
    /// The activity (title, target Moore level).
    case activity
    /// Enrollments: who is a participant and who is in the comparison cohort.
    case cohorts
    case attendance
    case credit
    /// The activity's sessions (scheduled minutes, the presence part of the engagement index).
    case sessions
    /// Engagement summaries per physician.
    case summaries
    /// Assessment outcomes per physician.
    case outcomes
    /// The participants' learner records (profession, specialty; planning breakdown only).
    case learners

    public var source: Source {
        switch self {
        case .activity, .cohorts, .attendance, .credit, .sessions, .learners: .registration
        case .summaries: .engagement
        case .outcomes: .assessment
        }
    }

    public static func of(_ source: Source) -> Set<SourceData> { Set(allCases.filter { $0.source == source }) }
}

/// Which data each part of the view needs, and what happens to a view when some of it could not
/// be read: every section that needs missing data is removed and named absent with the reason,
/// every Moore level that needs it is marked not evaluated, and the view is marked partial.
/// Nothing is recomputed from the data that remains: without registration there are no cohorts,
/// so no participant statistic exists (rather than one computed over every assessed physician).
/// Plain computation, no I/O.
public enum Completeness {
    /// A section of `ActivityValidation`, named as its field.
    public enum Section: String, CaseIterable, Sendable {
        case activity // title and target_moore_level
        case funnel
        /// The funnel's steps below "credited" (pre+post assessed, reliable gain, retained).
        case funnelAssessed = "funnel.assessed"
        case changeFunnel = "change_funnel"
        case knowledge, confidence, objectives, items, attribution, retention, competence, commitments, practice
        case engagementVsLearning = "engagement_vs_learning"
        case meanEngagementIndex = "mean_engagement_index"
        case gap
        /// The planning comparison, and within it the breakdown by profession and specialty.
        case planning
        case planningBreakdown = "planning.by_profession, planning.by_specialty"

        /// Named absent only when the activity has a planning record (most have none) or could not be read.
        var onlyWhenPlanned: Bool { self == .planning || self == .planningBreakdown }

        public var needs: Set<SourceData> {
            let assessed: Set<SourceData> = [.cohorts, .outcomes]
            switch self {
            case .activity: return [.activity]
            case .funnel: return [.cohorts, .attendance, .credit]
            case .funnelAssessed: return [.cohorts, .attendance, .credit, .outcomes]
            case .changeFunnel, .knowledge, .confidence, .objectives, .items, .attribution, .retention, .competence, .commitments, .practice:
                return assessed
            // The index's presence part needs the scheduled minutes.
            case .engagementVsLearning: return [.cohorts, .summaries, .sessions, .outcomes]
            case .meanEngagementIndex: return [.cohorts, .summaries, .sessions]
            case .gap: return [.cohorts, .credit, .outcomes]
            case .planning: return [.activity, .cohorts, .outcomes]
            case .planningBreakdown: return [.activity, .cohorts, .outcomes, .learners]
            }
        }

        func clear(_ v: inout ActivityValidation) {
            switch self {
            case .activity: v.title = ""; v.targetMooreLevel = 0
            case .funnel: v.funnel = nil
            case .funnelAssessed: if v.funnel != nil { v.funnel!.assessed = nil }
            case .changeFunnel: v.changeFunnel = nil
            case .knowledge: v.knowledge = nil
            case .confidence: v.confidence = nil
            case .objectives: v.objectives = []
            case .items: v.items = []
            case .attribution: v.attribution = nil
            case .retention: v.retention = []
            case .competence: v.competence = nil
            case .commitments: v.commitments = nil
            case .practice: v.practice = []
            case .engagementVsLearning: v.engagementVsLearning = nil
            case .meanEngagementIndex: v.meanEngagementIndex = nil
            case .gap: v.gap = nil
            case .planning: v.planning = nil
            case .planningBreakdown:
                if v.planning != nil { (v.planning!.byProfession, v.planning!.bySpecialty) = ([], []) }
            }
        }
    }

    /// What each Moore level is judged from. Level 2 uses evaluations (assessment) or, without
    /// enough of them, session ratings (engagement), so it needs both to be judged at all.
    public static func levelNeeds(_ level: MooreLevels.Level) -> Set<SourceData> {
        switch level {
        case .participation: [.cohorts, .attendance]
        case .satisfaction: [.cohorts, .outcomes, .summaries]
        case .communityHealth: []
        case .declarativeKnowledge, .proceduralKnowledge, .competence, .performance, .patientHealth: [.cohorts, .outcomes]
        }
    }

    /// `levelNeeds` of a level as the view names it; a name that is no Moore level needs what 3A–6 need.
    public static func levelNeeds(_ level: String) -> Set<SourceData> {
        MooreLevels.Level(rawValue: level).map { levelNeeds($0) } ?? [.cohorts, .outcomes]
    }

    /// "registration unavailable: connection refused".
    public static func reason(_ source: Source, _ status: SectionStatus) -> String {
        let code = status.code.protoName.lowercased().split(separator: "_").joined(separator: " ")
        return status.message.isEmpty ? "\(source.rawValue) \(code)" : "\(source.rawValue) \(code): \(status.message)"
    }

    static func reason(for needs: Set<SourceData>, missing: [SourceData: SectionStatus]) -> String? {
        let sources = Set(needs.compactMap { missing[$0] != nil ? $0.source : nil }).sorted()
        guard !sources.isEmpty else { return nil }
        return sources.map { reason($0, status(of: $0, in: missing)!) }.joined(separator: "; ")
    }

    /// The status of the first failed read of `source`, if any.
    static func status(of source: Source, in missing: [SourceData: SectionStatus]) -> SectionStatus? {
        SourceData.allCases.lazy.filter { $0.source == source }.compactMap { missing[$0] }.first
    }

    /// The missing sources (one status per backend, section = the backend), for `missing_sources`.
    public static func missingSources(_ missing: [SourceData: SectionStatus]) -> [SectionStatus] {
        Source.allCases.compactMap { source in
            guard var s = status(of: source, in: missing) else { return nil }
            s.section = source.rawValue
            return s
        }
    }

    /// Removes from `v` every section and level that needs data in `missing`, names each absent
    /// with the reason, and sets `v.completeness`. `missing` maps each piece of data that could
    /// not be read to the failed call's status.
    public static func apply(_ v: inout ActivityValidation, missing: [SourceData: SectionStatus]) {
        var c = Lv_Gateway_V1_Completeness()
        c.status = missing.isEmpty ? .complete : .partial
        c.missingSources = missingSources(missing)
        // The planning sections are named when the activity has a plan, or when the activity itself
        // could not be read (whether it has one is then unknown).
        let planned = v.planning != nil || missing[.activity] != nil
        for section in Section.allCases where !section.onlyWhenPlanned || planned {
            guard let why = reason(for: section.needs, missing: missing) else { continue }
            section.clear(&v)
            c.absent.append(absent(section.rawValue, why))
        }
        for i in v.levels.indices {
            guard let why = reason(for: levelNeeds(v.levels[i].level), missing: missing) else { continue }
            v.levels[i].evidenced = false
            v.levels[i].notEvaluated = true
            v.levels[i].evidence = []
            v.levels[i].reason = "not evaluated: \(why)"
            c.absent.append(absent("levels.\(v.levels[i].level)", why))
        }
        // The highest level evidenced (on the ladder, `MooreLevels.Level`'s order) is known only when no
        // level above it went unjudged.
        let highest = v.levels.filter(\.evidenced).compactMap { MooreLevels.Level(rawValue: $0.level) }.max()
        let unjudgedAbove = v.levels.compactMap { l -> MooreLevels.Level? in
            guard l.notEvaluated, let level = MooreLevels.Level(rawValue: l.level) else { return nil }
            return highest.map { level > $0 } ?? true ? level : nil
        }.sorted()
        if unjudgedAbove.isEmpty {
            v.highestLevel = highest?.rawValue ?? ""
        } else {
            v.highestLevel = ""
            c.absent.append(absent("highest_level", "level\(unjudgedAbove.count == 1 ? "" : "s") "
                + unjudgedAbove.map(\.rawValue).joined(separator: ", ") + " not evaluated"))
        }
        v.completeness = c
    }

    public static func absent(_ section: String, _ reason: String) -> AbsentSection {
        var a = AbsentSection()
        (a.section, a.reason) = (section, reason)
        return a
    }

    /// True when the view says which sections it lacks (`completeness` partial).
    public static func isPartial(_ c: Lv_Gateway_V1_Completeness?) -> Bool { c?.status == .partial }

    /// The banner printed above a partial answer (empty for a complete one).
    public static func banner(_ c: Lv_Gateway_V1_Completeness?) -> [String] {
        guard let c, c.status == .partial else { return [] }
        var out = ["!! PARTIAL VIEW: not every source could be read; the sections below that need them are absent, not zero."]
        for s in c.missingSources { out.append("!!   \(s.section) could not be read — \(s.code.protoName): \(s.message)") }
        let sections = c.absent.filter { !$0.section.hasPrefix("levels.") }.map(\.section)
        if !sections.isEmpty { out.append("!!   absent: " + sections.joined(separator: ", ")) }
        let levels = c.absent.filter { $0.section.hasPrefix("levels.") }.map { String($0.section.dropFirst(7)) }
        if !levels.isEmpty {
            // In ladder order; a name that is no Moore level after the rest.
            let ordered = levels.sorted { (MooreLevels.Level(rawValue: $0)?.rank ?? .max, $0) < (MooreLevels.Level(rawValue: $1)?.rank ?? .max, $1) }
            out.append("!!   Moore levels not evaluated: " + ordered.joined(separator: ", "))
        }
        return out
    }
}
