import RegistrationDomain
import LVDomain
import LVMessages
import LVStore
import LVStoreMessages

/// Enrollment of learners in activities, by cohort (table `enrollment`): rows and the store's calls on them.
enum EnrollmentRecords {
    static func row(_ c: any StoreConnection, activityID: String, npi: String) throws -> Enrollment? {
        var e: Enrollment?
        try c.prepare("SELECT cohort, enrolled_ms, withdrawn_ms FROM enrollment WHERE activity_id = ? AND npi = ?")
            .query([.text(activityID), .text(npi)]) { row in
                var x = Enrollment()
                x.activityId = activityID
                x.npi = npi
                x.cohort = Cohort(rawValue: Int32(row.int(0)))
                x.enrolledMs = row.int(1)
                x.withdrawnMs = row.int(2)
                e = x
            }
        return e
    }

    /// The physician must be enrolled in the activity as a participant, and not withdrawn.
    static func requireParticipant(_ c: any StoreConnection, activityID: String, npi: String) throws {
        guard let e = try row(c, activityID: activityID, npi: npi), e.withdrawnMs == 0 else {
            throw DomainError(.failedPrecondition, "npi: physician \(npi) is not enrolled in activity \(activityID)",
                           violations: [violation("npi", "not-enrolled", "enroll the physician as a participant first")])
        }
        guard e.cohort == .participant else {
            throw DomainError(.failedPrecondition, "npi: physician \(npi) is in the comparison cohort of \(activityID); comparison physicians do not attend or claim credit",
                           violations: [violation("npi", "comparison-cohort", "only participants attend and claim credit")])
        }
    }
}

extension RegistrationStore {
    public func enroll(_ request: Lv_Registration_V1_EnrollRequest, now: Int64) async throws -> Lv_Registration_V1_EnrollResponse {
        try await database.write { c in
            let (response, replayed) = try RequestLog.once(c, requestID: request.requestId, method: "Enroll", request: request, now: now) {
                _ = try ActivityRecords.require(c, id: request.activityId)
                _ = try LearnerRecords.require(c, npi: request.npi)
                var response = Lv_Registration_V1_EnrollResponse()
                if var existing = try EnrollmentRecords.row(c, activityID: request.activityId, npi: request.npi) {
                    guard existing.cohort == request.cohort else {
                        throw DomainError(.failedPrecondition, "cohort: physician \(request.npi) is already enrolled in the \(existing.cohort.protoName) cohort",
                                       violations: [violation("cohort", "cohort-change", "a physician stays in one cohort of an activity")])
                    }
                    if existing.withdrawnMs != 0 {
                        try c.prepare("UPDATE enrollment SET withdrawn_ms = 0, enrolled_ms = ? WHERE activity_id = ? AND npi = ?")
                            .run([.integer(now), .text(request.activityId), .text(request.npi)])
                        existing.withdrawnMs = 0
                        existing.enrolledMs = now
                        response.created = true
                    }
                    response.enrollment = existing
                    return response
                }
                try c.prepare("INSERT INTO enrollment (activity_id, npi, cohort, enrolled_ms) VALUES (?, ?, ?, ?)")
                    .run([.text(request.activityId), .text(request.npi), .integer(Int64(request.cohort.rawValue)), .integer(now)])
                var e = Enrollment()
                e.activityId = request.activityId
                e.npi = request.npi
                e.cohort = request.cohort
                e.enrolledMs = now
                response.enrollment = e
                response.created = true
                return response
            }
            var r = response
            if replayed { r.created = false }
            return r
        }
    }

    public func withdraw(activityID: String, npi: String, now: Int64) async throws -> Enrollment {
        try await database.write { c in
            guard var e = try EnrollmentRecords.row(c, activityID: activityID, npi: npi) else {
                throw DomainError(.notFound, "npi: physician \(npi) is not enrolled in activity \(activityID)")
            }
            if e.withdrawnMs == 0 {
                try c.prepare("UPDATE enrollment SET withdrawn_ms = ? WHERE activity_id = ? AND npi = ?")
                    .run([.integer(now), .text(activityID), .text(npi)])
                e.withdrawnMs = now
            }
            return e
        }
    }

    public func listEnrollments(activityID: String, cohort: Cohort, includeWithdrawn: Bool, pageSize: Int, after: String) async throws -> ([Enrollment], next: String) {
        try await database.read { c in
            _ = try ActivityRecords.require(c, id: activityID)
            var rows: [Enrollment] = []
            try c.prepare("""
                SELECT npi, cohort, enrolled_ms, withdrawn_ms FROM enrollment
                WHERE activity_id = ?1 AND npi > ?2 AND (?3 = 0 OR cohort = ?3) AND (?4 = 1 OR withdrawn_ms = 0)
                ORDER BY npi LIMIT ?5
                """).query([.text(activityID), .text(after), .integer(Int64(cohort.rawValue)), .integer(includeWithdrawn ? 1 : 0),
                            .integer(Int64(pageSize + 1))]) { row in
                var e = Enrollment()
                e.activityId = activityID
                e.npi = row.text(0)
                e.cohort = Cohort(rawValue: Int32(row.int(1)))
                e.enrolledMs = row.int(2)
                e.withdrawnMs = row.int(3)
                rows.append(e)
            }
            let page = Array(rows.prefix(pageSize))
            return (page, rows.count > pageSize ? page.last!.npi : "")
        }
    }
}
