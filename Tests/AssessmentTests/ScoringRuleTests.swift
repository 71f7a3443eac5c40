import Assessment
import AssessmentDomain
import LVMessages
import LVRPC
import Testing

/// docs/ASSESSMENT.md "Scoring": Likert and satisfaction, the confidence range and the
/// confidence boundary, with every expected value worked out by hand.
@Suite("scoring rules: Likert, satisfaction, confidence")
struct ScoringRuleTests {
    func likertItem(_ id: String, points: UInt32) -> Item {
        var i = Item()
        (i.itemId, i.type, i.stem, i.likertPoints) = (id, .likert, "How useful was \(id)?", points)
        return i
    }

    func likert(_ item: String, _ p: UInt32) -> Answer {
        var a = Answer()
        (a.itemId, a.value) = (item, .likert(p))
        return a
    }

    func expectRefused(_ instrument: Instrument, _ answers: [Answer], field: String, rule: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let s = try Scoring.score(instrument, answers: answers)
            Issue.record("accepted, scored \(s.items.map(\.score))", sourceLocation: sourceLocation)
        } catch {
            let e = RPCError.from(error)
            #expect(e.code == .invalidArgument, sourceLocation: sourceLocation)
            #expect(e.violations.first?.field == field, "\(e)", sourceLocation: sourceLocation)
            #expect(e.violations.first?.rule == rule, "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("Likert: (answer − 1) / (points − 1) on 5 and 7 points; the mean is satisfaction, never knowledge")
    func likertScores() throws {
        let evaluation = instrument("eval", .evaluation,
                                    items: [likertItem("l5", points: 5), likertItem("l7", points: 7), likertItem("l5b", points: 5)])
        // 4 of 5 → 3/4; 2 of 7 → 1/6; 1 of 5 → 0. Satisfaction (3/4 + 1/6 + 0) / 3 = 11/36.
        let s = try Scoring.score(evaluation, answers: [likert("l5", 4), likert("l7", 2), likert("l5b", 1)])
        #expect(s.items.count == 3)
        #expect(abs(s.items[0].score - 0.75) < 1e-12)
        #expect(abs(s.items[1].score - 1.0 / 6.0) < 1e-12)
        #expect(s.items[2].score == 0)
        #expect(abs(s.satisfaction - 11.0 / 36.0) < 1e-12)
        #expect(s.total == 0, "a Likert answer counted as knowledge")
        #expect(s.objectives.isEmpty)
        #expect(!s.hasControl)
        #expect(s.items.allSatisfy { $0.quadrant == .unspecified })
    }

    @Test("Likert ends: the top of the scale is 1, the bottom 0")
    func likertEnds() throws {
        let evaluation = instrument("eval", .evaluation, items: [likertItem("a", points: 5), likertItem("b", points: 7)])
        let top = try Scoring.score(evaluation, answers: [likert("a", 5), likert("b", 7)])
        #expect(top.items.map(\.score) == [1, 1])
        #expect(top.satisfaction == 1)
        let bottom = try Scoring.score(evaluation, answers: [likert("a", 1), likert("b", 1)])
        #expect(bottom.satisfaction == 0)
    }

    @Test("a Likert answer outside 1…points is INVALID_ARGUMENT answer-type naming the answer", arguments: [
        (UInt32(5), UInt32(0)), (5, 6), (7, 8), (7, 0),
    ])
    func likertOutOfRange(points: UInt32, answer: UInt32) {
        let evaluation = instrument("eval", .evaluation, items: [likertItem("ok", points: 5), likertItem("x", points: points)])
        expectRefused(evaluation, [likert("ok", 3), likert("x", answer)], field: "answers[1]", rule: "answer-type")
    }

    @Test("confidence above 5 is INVALID_ARGUMENT, rule range, field answers[i].confidence; 5 and 0 (not given) are accepted")
    func confidenceRange() throws {
        let test = instrument("t", .postTest, items: [mc("q1"), mc("q2")])
        expectRefused(test, [choice("q1", 1, confidence: 5), choice("q2", 1, confidence: 6)], field: "answers[1].confidence", rule: "range")
        expectRefused(test, [choice("q1", 1, confidence: 200)], field: "answers[0].confidence", rule: "range")
        let ok = try Scoring.score(test, answers: [choice("q1", 1, confidence: 5), choice("q2", 0, confidence: 0)])
        #expect(ok.items.map(\.quadrant) == [.mastery, .unspecified])
    }

    @Test("the confident boundary is 4: a right answer at 3 is doubt, at 4 mastery; a wrong one at 3 uninformed, at 4 misinformation")
    func confidenceBoundary() throws {
        let test = instrument("t", .postTest, items: [mc("a"), mc("b"), mc("c"), mc("d")])
        let s = try Scoring.score(test, answers: [choice("a", 1, confidence: 3), choice("b", 1, confidence: 4),
                                                  choice("c", 0, confidence: 3), choice("d", 0, confidence: 4)])
        #expect(s.items.map(\.quadrant) == [.doubt, .mastery, .uninformed, .misinformation])
        // Quadrants do not change the score: 2 right of 4.
        #expect(s.total == 0.5)
    }

    @Test("a true/false answer gets a quadrant too; an unanswered item none, and it scores 0")
    func trueFalseQuadrant() throws {
        var tf = Item()
        (tf.itemId, tf.type, tf.objectiveId, tf.trueKey) = ("tf", .trueFalse, "obj-1", false)
        let test = instrument("t", .postTest, items: [tf, mc("skipped")])
        var a = Answer()
        (a.itemId, a.value, a.confidence) = ("tf", .truth(true), 5)
        let s = try Scoring.score(test, answers: [a])
        #expect(s.items.map(\.quadrant) == [.misinformation, .unspecified])
        #expect(s.items.map(\.score) == [0, 0])
        #expect(s.total == 0)
    }

    @Test("multiple choice: the last option (index options − 1) is an answer, index = options is answer-type")
    func choiceBounds() throws {
        let test = instrument("t", .postTest, items: [mc("q1", key: 3)]) // options A–D, indices 0–3
        #expect(try Scoring.score(test, answers: [choice("q1", 3)]).total == 1)
        expectRefused(test, [choice("q1", 4)], field: "answers[0]", rule: "answer-type")
    }

    @Test("vignette criteria: the share met; a criterion past the list or listed twice is answer-type")
    func vignette() throws {
        var vig = Item()
        (vig.itemId, vig.type, vig.objectiveId, vig.criteria) = ("v", .vignetteCriteria, "obj-1", ["a", "b", "c", "d", "e"])
        let test = instrument("t", .caseVignette, items: [vig], phase: .post)
        func met(_ m: [UInt32]) -> Answer {
            var a = Answer()
            var c = Lv_Assessment_V1_CriteriaMet()
            c.met = m
            (a.itemId, a.value) = ("v", .criteria(c))
            return a
        }
        #expect(try Scoring.score(test, answers: [met([0, 4])]).total == 0.4) // 2 of 5
        #expect(try Scoring.score(test, answers: [met([])]).total == 0)
        expectRefused(test, [met([5])], field: "answers[0]", rule: "answer-type")
        expectRefused(test, [met([1, 1])], field: "answers[0]", rule: "answer-type")
    }
}
