import LVMessages

/// Maintenance of Certification: the post-test decides, per learner and board, pass or fail,
/// with the items missed and their objectives as feedback. Only passing learners are reported
/// for MOC (docs/REGISTRATION.md "MOC").
public enum MOCRules {
    public struct Item: Sendable, Hashable {
        public var itemID: String
        public var objectiveID: String
        public var correct: Bool
        public init(itemID: String, objectiveID: String, correct: Bool) {
            self.itemID = itemID
            self.objectiveID = objectiveID
            self.correct = correct
        }
    }

    /// A learner's post-test: its total (0-1) and the scored items (control items left out by the caller).
    public struct PostTest: Sendable {
        public var total: Double
        public var items: [Item]
        public var submittedMs: Int64
        public init(total: Double, items: [Item], submittedMs: Int64) {
            self.total = total
            self.items = items
            self.submittedMs = submittedMs
        }
    }

    public struct Result: Sendable, Hashable {
        public var board: String
        public var boardID: String
        public var assessed: Bool
        public var passed: Bool
        public var score: Double
        public var passingScore: Double
        public var points: Double
        /// Items answered wrong (or not answered), with the objective each tests.
        public var missed: [Item]
        public var completedMs: Int64
    }

    /// One result per MOC offer whose board the learner holds an id for (learners without an id
    /// for a board cannot be reported to it). No post-test: not assessed, not passed.
    public static func evaluate(offers: [MocOffer], boardIDs: [(board: String, id: String)], postTest: PostTest?) -> [Result] {
        offers.compactMap { offer in
            guard let id = boardIDs.first(where: { $0.board.uppercased() == offer.board.uppercased() })?.id else { return nil }
            let score = postTest?.total ?? 0
            // Scores are means of item scores: compare with a little slack for floating point.
            let passed = postTest != nil && score + 1e-9 >= offer.passingScore
            return Result(board: offer.board, boardID: id, assessed: postTest != nil, passed: passed, score: score,
                          passingScore: offer.passingScore, points: offer.points,
                          missed: postTest?.items.filter { !$0.correct } ?? [], completedMs: postTest?.submittedMs ?? 0)
        }
    }
}
