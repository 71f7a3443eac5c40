import LVAPI
import LVDomain
import LVMessages

/// Scores one physician's answers to an instrument (plain computation, no I/O).
///
/// - multiple choice / true-false: 1 when right, 0 when wrong or unanswered;
/// - vignette criteria: the share of the item's criteria met;
/// - Likert: (points − 1) / (scale − 1), reported as satisfaction, not knowledge;
/// - total: mean over items mapped to an objective; control items are scored apart;
/// - confidence (1–5, 4–5 confident) puts each right/wrong answer in a quadrant: mastery,
///   doubt, uninformed, or confidently held misinformation.
public enum Scoring {
    public static let confidentFrom: UInt32 = 4

    /// The scored submission, or INVALID_ARGUMENT naming the answer (`answers[i]`) that breaks a rule.
    public static func score(_ instrument: Instrument, answers: [Answer]) throws -> ScoredSubmission {
        var byItem: [String: Answer] = [:]
        let items = Dictionary(uniqueKeysWithValues: instrument.items.map { ($0.itemId, $0) })
        for (i, a) in answers.enumerated() {
            guard let item = items[a.itemId] else {
                throw DomainError.invalidArgument(field: "answers[\(i)].item_id", rule: "unknown-item",
                                                  "'\(a.itemId)' is not an item of \(instrument.instrumentId) v\(instrument.version)")
            }
            guard byItem.updateValue(a, forKey: a.itemId) == nil else {
                throw DomainError.invalidArgument(field: "answers[\(i)].item_id", rule: "duplicate-item", "'\(a.itemId)' is answered twice")
            }
            if let problem = typeProblem(item, a) {
                throw DomainError.invalidArgument(field: "answers[\(i)]", rule: "answer-type", "item '\(a.itemId)': \(problem)")
            }
            guard a.confidence <= 5 else {
                throw DomainError.invalidArgument(field: "answers[\(i)].confidence", rule: "range", "confidence is 1-5, or 0 when not given")
            }
        }
        var s = ScoredSubmission()
        s.instrumentId = instrument.instrumentId
        s.version = instrument.version
        s.kind = instrument.kind
        s.phase = InstrumentRules.phase(of: instrument)
        s.followUpDays = instrument.followUpDays
        var objectiveScores: [String: [Double]] = [:]
        var objectiveOrder: [String] = []
        var control: [Double] = []
        var likert: [Double] = []
        for item in instrument.items {
            let answer = byItem[item.itemId]
            var r = ItemScore()
            r.itemId = item.itemId
            r.objectiveId = item.objectiveId
            r.control = item.control
            r.type = item.type
            r.procedural = item.procedural
            r.answered = answer != nil
            r.confidence = answer?.confidence ?? 0
            switch (item.type, answer?.value) {
            case (.multipleChoice, .choice(let c)?): r.correct = c == item.key
            case (.trueFalse, .truth(let t)?): r.correct = t == item.trueKey
            case (.vignetteCriteria, .criteria(let met)?):
                r.score = Double(Set(met.met).count) / Double(item.criteria.count)
            case (.likert, .likert(let p)?):
                r.score = Double(p - 1) / Double(item.likertPoints - 1)
            default: break
            }
            if item.type == .multipleChoice || item.type == .trueFalse {
                r.score = r.correct ? 1 : 0
                if r.answered && r.confidence > 0 {
                    let confident = r.confidence >= confidentFrom
                    r.quadrant = r.correct ? (confident ? .mastery : .doubt) : (confident ? .misinformation : .uninformed)
                }
            }
            if item.type == .likert {
                if r.answered { likert.append(r.score) }
            } else if item.control {
                control.append(r.score)
            } else if !item.objectiveId.isEmpty {
                if objectiveScores[item.objectiveId] == nil { objectiveOrder.append(item.objectiveId) }
                objectiveScores[item.objectiveId, default: []].append(r.score)
            }
            s.items.append(r)
        }
        let knowledge = objectiveOrder.flatMap { objectiveScores[$0]! }
        s.total = mean(knowledge)
        s.objectives = objectiveOrder.map { id in
            var o = Lv_Assessment_V1_ObjectiveScore()
            o.objectiveId = id
            o.score = mean(objectiveScores[id]!)
            o.items = UInt32(objectiveScores[id]!.count)
            return o
        }
        s.hasControl = !control.isEmpty
        s.control = mean(control)
        s.satisfaction = mean(likert)
        return s
    }

    static func typeProblem(_ item: Item, _ a: Answer) -> String? {
        switch (item.type, a.value) {
        case (_, nil): return "no answer value"
        case (.multipleChoice, .choice(let c)?):
            return Int(c) < item.options.count ? nil : "choice \(c) is not one of the \(item.options.count) options"
        case (.trueFalse, .truth?): return nil
        case (.vignetteCriteria, .criteria(let met)?):
            if met.met.contains(where: { Int($0) >= item.criteria.count }) { return "a criterion index is past the \(item.criteria.count) criteria" }
            return Set(met.met).count == met.met.count ? nil : "a criterion is listed twice"
        case (.likert, .likert(let p)?):
            return (1...item.likertPoints).contains(p) ? nil : "Likert answer \(p) is outside 1-\(item.likertPoints)"
        default: return "a \(item.type.protoName) item needs a \(expected(item.type)) answer"
        }
    }

    static func expected(_ type: Lv_Assessment_V1_ItemType) -> String {
        switch type {
        case .multipleChoice: return "choice"
        case .trueFalse: return "truth"
        case .vignetteCriteria: return "criteria"
        case .likert: return "likert"
        default: return "valid"
        }
    }

    static func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
}

/// Item pairs across phases and confidence quadrants per phase, from one physician's submissions.
public enum OutcomeAssembly {
    /// Items answered by the physician both before and after: pre→post and post→each follow-up.
    public static func pairs(_ submissions: [ScoredSubmission]) -> [Lv_Assessment_V1_ItemPair] {
        func knowledgeItems(_ s: ScoredSubmission) -> [String: ItemScore] {
            Dictionary(s.items.filter { $0.type == .multipleChoice || $0.type == .trueFalse }.map { ($0.itemId, $0) },
                       uniquingKeysWith: { a, _ in a })
        }
        let pre = submissions.filter { $0.phase == .pre && $0.kind != .caseVignette }
        let post = submissions.filter { $0.phase == .post && $0.kind != .caseVignette }
        let follow = submissions.filter { $0.phase == .followUp && $0.kind != .caseVignette }
        var out: [Lv_Assessment_V1_ItemPair] = []
        func add(_ from: [ScoredSubmission], _ to: [ScoredSubmission]) {
            let before = from.reduce(into: [String: ItemScore]()) { $0.merge(knowledgeItems($1)) { a, _ in a } }
            for t in to {
                for (id, after) in knowledgeItems(t).sorted(by: { $0.key < $1.key }) {
                    guard let b = before[id] else { continue }
                    var p = Lv_Assessment_V1_ItemPair()
                    p.itemId = id
                    p.objectiveId = after.objectiveId
                    p.control = after.control
                    p.procedural = after.procedural
                    p.fromPhase = from.first!.phase
                    p.toPhase = t.phase
                    p.followUpDays = t.followUpDays
                    p.beforeCorrect = b.correct
                    p.afterCorrect = after.correct
                    out.append(p)
                }
            }
        }
        if !pre.isEmpty { add(pre, post) }
        if !post.isEmpty { add(post, follow) }
        return out
    }

    public static func quadrants(_ submissions: [ScoredSubmission]) -> [Lv_Assessment_V1_QuadrantCounts] {
        var out: [Lv_Assessment_V1_QuadrantCounts] = []
        for s in submissions {
            let marked = s.items.filter { $0.quadrant != .unspecified }
            guard !marked.isEmpty else { continue }
            var q = Lv_Assessment_V1_QuadrantCounts()
            q.phase = s.phase
            q.followUpDays = s.followUpDays
            for i in marked {
                switch i.quadrant {
                case .mastery: q.mastery += 1
                case .doubt: q.doubt += 1
                case .uninformed: q.uninformed += 1
                case .misinformation: q.misinformation += 1
                default: break
                }
            }
            out.append(q)
        }
        return out
    }
}
