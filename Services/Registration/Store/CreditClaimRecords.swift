import RegistrationDomain
import LVDomain
import LVMessages
import LVStore
import LVStoreMessages

/// Credit claims, one per learner, activity and credit type (table `credit`): rows and the store's calls on them.
enum CreditClaimRecords {
    static func row(_ c: any StoreConnection, activityID: String, npi: String, type: CreditType) throws -> CreditClaim? {
        var claim: CreditClaim?
        try c.prepare("SELECT credits, claimed_ms, minutes_attended FROM credit WHERE activity_id = ? AND npi = ? AND credit_type = ?")
            .query([.text(activityID), .text(npi), .integer(Int64(type.rawValue))]) { row in
                var x = CreditClaim()
                x.activityId = activityID
                x.npi = npi
                x.credits = row.double(0)
                x.claimedMs = row.int(1)
                x.minutesAttended = UInt32(row.int(2))
                x.creditType = type
                claim = x
            }
        return claim
    }

    /// The credit type must be offered by the activity and open to the learner's profession.
    static func offer(_ activity: Activity, _ learner: Physician, _ type: CreditType) throws -> CreditOffer {
        guard let offer = LearnerRules.offers(activity).first(where: { $0.type == type }) else {
            let offered = LearnerRules.offers(activity).map { PARSExport.code($0.type) }.joined(separator: ", ")
            throw DomainError(.failedPrecondition, "credit_type: activity \(activity.activityId) does not offer \(PARSExport.code(type)) (it offers \(offered))",
                              violations: [violation("credit_type", "not-offered", "claim a credit type the activity offers")])
        }
        guard LearnerRules.claimable(learner.profession).contains(type) else {
            throw DomainError(.failedPrecondition, "credit_type: a learner of profession \(PARSExport.code(learner.profession)) cannot claim \(PARSExport.code(type))",
                              violations: [violation("credit_type", "profession", "the credit type is not open to the learner's profession")])
        }
        return offer
    }
}

extension RegistrationStore {
    public func claimCredit(_ request: Lv_Registration_V1_ClaimCreditRequest, now: Int64) async throws -> Lv_Registration_V1_ClaimCreditResponse {
        try await database.write { c in
            let (response, replayed) = try RequestLog.once(c, requestID: request.requestId, method: "ClaimCredit", request: request, now: now) {
                let activity = try ActivityRecords.require(c, id: request.activityId)
                let learner = try LearnerRecords.require(c, npi: request.npi)
                try EnrollmentRecords.requireParticipant(c, activityID: request.activityId, npi: request.npi)
                let type = LearnerRules.effective(request.creditType)
                let offer = try CreditClaimRecords.offer(activity, learner, type)
                var response = Lv_Registration_V1_ClaimCreditResponse()
                if let existing = try CreditClaimRecords.row(c, activityID: request.activityId, npi: request.npi, type: type) {
                    guard abs(existing.credits - request.credits) < 1e-9 else {
                        throw DomainError(.alreadyExists, "credits: physician \(request.npi) already claimed \(CreditRules.format(existing.credits)) \(PARSExport.code(type)) for \(request.activityId); one claim per learner, activity and credit type",
                                       violations: [violation("credits", "one-claim", "a learner claims each credit type once per activity")])
                    }
                    response.claim = existing
                    return response
                }
                let sessions = try SessionRecords.rows(c, activityID: request.activityId)
                let attended = Int(try AttendanceRecords.minutes(c, npi: request.npi, sessions: sessions, now: now).minutesPresent)
                if let problem = CreditRules.problem(credits: request.credits, minutesAttended: attended,
                                                     activityMaximum: offer.maxAmount, hasSessions: !sessions.isEmpty) {
                    let kind: DomainError.Kind = problem.rule == "time-attended" ? .failedPrecondition : .invalidArgument
                    throw DomainError(kind, "credits: \(problem.message)", violations: [violation("credits", problem.rule, problem.message)])
                }
                let claimed = request.claimedMs == 0 ? now : request.claimedMs
                try c.prepare("INSERT INTO credit (activity_id, npi, credit_type, credits, claimed_ms, minutes_attended) VALUES (?, ?, ?, ?, ?, ?)")
                    .run([.text(request.activityId), .text(request.npi), .integer(Int64(type.rawValue)), .real(request.credits),
                          .integer(claimed), .integer(Int64(attended))])
                var claim = CreditClaim()
                claim.activityId = request.activityId
                claim.npi = request.npi
                claim.credits = request.credits
                claim.claimedMs = claimed
                claim.minutesAttended = UInt32(attended)
                claim.creditType = type
                response.claim = claim
                response.created = true
                return response
            }
            var r = response
            if replayed { r.created = false }
            return r
        }
    }

    /// Claims by activity and/or learner, ordered by (activity, NPI, credit type); `after` is
    /// "activity\tnpi\ttype" (a two-part token from before credit types reads as type 0).
    public func listCredits(activityID: String, npi: String, pageSize: Int, after: String) async throws -> ([CreditClaim], next: String) {
        let parts = after.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        let (givenActivity, afterNPI) = parts.count >= 2 ? (parts[0], parts[1]) : ("", "")
        // An activity's first page starts at its own claims, not at the first claim of the table.
        let afterActivity = givenActivity.isEmpty ? activityID : givenActivity
        let afterType = parts.count == 3 ? Int64(parts[2]) ?? 0 : 0
        return try await database.read { c in
            var claims: [CreditClaim] = []
            try c.prepare("""
                SELECT activity_id, npi, credits, claimed_ms, minutes_attended, credit_type FROM credit
                WHERE (?1 = '' OR activity_id = ?1) AND (?2 = '' OR npi = ?2) AND (activity_id, npi, credit_type) > (?3, ?4, ?5)
                ORDER BY activity_id, npi, credit_type LIMIT ?6
                """).query([.text(activityID), .text(npi), .text(afterActivity), .text(afterNPI), .integer(afterType),
                            .integer(Int64(pageSize + 1))]) { row in
                var x = CreditClaim()
                x.activityId = row.text(0)
                x.npi = row.text(1)
                x.credits = row.double(2)
                x.claimedMs = row.int(3)
                x.minutesAttended = UInt32(row.int(4))
                x.creditType = CreditType(rawValue: Int32(clamping: row.int(5)))
                claims.append(x)
            }
            let page = Array(claims.prefix(pageSize))
            let next = claims.count > pageSize ? "\(page.last!.activityId)\t\(page.last!.npi)\t\(page.last!.creditType.rawValue)" : ""
            return (page, next)
        }
    }
}
