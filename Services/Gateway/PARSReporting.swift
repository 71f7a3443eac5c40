import LVAPI
import LVDomain
import LVMessages
import LVRPC
import RegistrationDomain

/// `ExportPARS`: the activity's PARS learner upload and activity record, and its MOC results.
/// Reads the activity, its credit claims and learners from registration, the post-tests (with item
/// scores) from assessment, and the evidenced Moore levels from the gateway's own view; the files
/// are built by `PARSExport` and `MOCRules` (RegistrationDomain), docs/REGISTRATION.md "PARS".
extension GatewayService {
    public func exportPars(_ request: Lv_Gateway_V1_ExportPARSRequest, context: ServerContext) async throws -> Lv_Gateway_V1_ExportPARSResponse {
        var v = Violations()
        v.require(!request.activityId.isEmpty, "activity_id", "required", "the activity to export")
        RegistrationRules.key(request.activityId, "activity_id", &v)
        try v.throwIfAny()
        let d = Downstream(context)
        let activity = try await readActivity(request.activityId, d)
        let claims = try await readCredits(request.activityId, d)
        let posts = try await readPostTests(request.activityId, d)
        var view = Lv_Gateway_V1_GetActivityValidationRequest()
        view.activityId = request.activityId
        let levels = try await getActivityValidation(view, context: context).levels
        let evidenced = Set(levels.filter { $0.evidenced && !$0.notEvaluated }.map(\.level))

        var byLearner: [String: [Lv_Registration_V1_CreditClaim]] = [:]
        for c in claims { byLearner[c.npi, default: []].append(c) }
        let objectives = Dictionary(activity.objectives.map { ($0.id, $0.text) }, uniquingKeysWith: { a, _ in a })
        var learners: [PARSExport.Learner] = []
        var response = Lv_Gateway_V1_ExportPARSResponse()
        let npis = byLearner.keys.sorted()
        let physicians = try await readPhysicians(npis, d)
        for npi in npis {
            let physician = physicians[npi] ?? .init()
            let results = MOCRules.evaluate(offers: activity.moc, boardIDs: physician.boardIds.map { ($0.board, $0.id) },
                                            postTest: posts[npi])
            for r in results {
                var m = Lv_Gateway_V1_MocResult()
                (m.npi, m.board, m.passed, m.assessed, m.score, m.passingScore, m.points) =
                    (npi, r.board, r.passed, r.assessed, r.score, r.passingScore, r.points)
                m.missed = r.missed.map {
                    var x = Lv_Gateway_V1_MissedItem()
                    (x.itemId, x.objectiveId, x.objectiveText) = ($0.itemID, $0.objectiveID, objectives[$0.objectiveID] ?? "")
                    return x
                }
                response.moc.append(m)
            }
            learners.append(.init(physician: physician, claims: byLearner[npi]!.map { ($0.creditType, $0.credits, $0.claimedMs) },
                                  moc: results))
        }
        let file = PARSExport.learnerFile(activity: activity, learners: learners)
        response.learnerFile = file.text
        response.learnerRows = UInt32(file.rows)
        response.withoutConsent = UInt32(file.withoutConsent)
        response.activityFile = PARSExport.activityRecord(activity: activity, evaluated: .init(evidencedLevels: evidenced), learners: learners)
        return response
    }

    /// The learners' registrations, `width` GetPhysician calls in flight (registration has no
    /// batch read by NPI; one at a time was one round trip per learner in series).
    func readPhysicians(_ npis: [String], _ d: Downstream, width: Int = 16) async throws -> [String: Lv_Registration_V1_Physician] {
        @Sendable func read(_ npi: String) async throws -> (String, Lv_Registration_V1_Physician) {
            var g = Lv_Registration_V1_GetPhysicianRequest()
            g.npi = npi
            let physician = try await call(.registration, "GetPhysician") {
                try await registration.getPhysician(g, options: d.options).physician ?? .init()
            }
            return (npi, physician)
        }
        return try await withThrowingTaskGroup(of: (String, Lv_Registration_V1_Physician).self) { group in
            for npi in npis.prefix(width) { group.addTask { try await read(npi) } }
            var waiting = npis.dropFirst(width)
            var out: [String: Lv_Registration_V1_Physician] = [:]
            while let (npi, physician) = try await group.next() {
                out[npi] = physician
                if let next = waiting.popFirst() { group.addTask { try await read(next) } }
            }
            return out
        }
    }

    /// Each learner's latest post-test (knowledge items that map to an objective; control items left out).
    func readPostTests(_ id: String, _ d: Downstream) async throws -> [String: MOCRules.PostTest] {
        let outcomes = try await pages("GetOutcomes", from: .assessment) { token in
            var r = Lv_Assessment_V1_GetOutcomesRequest()
            (r.activityId, r.pageSize, r.pageToken, r.omitItemScores) = (id, 1000, token, false)
            let page = try await assessment.getOutcomes(r, options: d.options)
            return (page.physicians, page.nextPageToken)
        }.flatMap { $0 }
        var out: [String: MOCRules.PostTest] = [:]
        for o in outcomes {
            guard let s = o.submissions.filter({ $0.kind == .postTest }).max(by: { $0.submittedMs < $1.submittedMs }) else { continue }
            out[o.npi] = MOCRules.PostTest(total: s.total,
                                           items: s.items.filter { !$0.control }.map { .init(itemID: $0.itemId, objectiveID: $0.objectiveId, correct: $0.correct || $0.score >= 1) },
                                           submittedMs: s.submittedMs)
        }
        return out
    }
}
