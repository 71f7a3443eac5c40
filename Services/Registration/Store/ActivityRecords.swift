import RegistrationDomain
import LVDomain
import LVMessages
import LVStore
import LVStoreMessages

/// Activities (tables `activity`, `objective`, `credit_offer`, `moc_offer`): rows and the store's calls on them.
enum ActivityRecords {
    static func row(_ c: any StoreConnection, id: String) throws -> Activity? {
        var a: Activity?
        try c.prepare("""
            SELECT title, type, start_date, end_date, max_credits, target_moore_level, dtc_competence, dtc_performance,
                   dtc_patient_outcomes, created_ms FROM activity WHERE activity_id = ?
            """).query([.text(id)]) { row in
            var x = Activity()
            x.activityId = id
            x.title = row.text(0)
            x.type = ActivityType(rawValue: Int32(row.int(1)))
            x.startDate = row.text(2)
            x.endDate = row.text(3)
            x.maxCredits = row.double(4)
            x.targetMooreLevel = UInt32(row.int(5))
            var d = Lv_Registration_V1_DesignedToChange()
            d.competence = row.int(6) != 0
            d.performance = row.int(7) != 0
            d.patientOutcomes = row.int(8) != 0
            x.designedToChange = d
            x.createdMs = row.int(9)
            a = x
        }
        guard var activity = a else { return nil }
        try c.prepare("SELECT objective_id, text, desired_level FROM objective WHERE activity_id = ? ORDER BY position").query([.text(id)]) { row in
            var o = Lv_Registration_V1_LearningObjective()
            o.id = row.text(0)
            o.text = row.text(1)
            o.desiredLevel = row.text(2)
            activity.objectives.append(o)
        }
        try c.prepare("SELECT objective_position, measure_code FROM objective_measure WHERE activity_id = ? ORDER BY objective_position, position")
            .query([.text(id)]) { row in
                let i = Int(row.int(0))
                if activity.objectives.indices.contains(i) { activity.objectives[i].measureCodes.append(row.text(1)) }
            }
        try c.prepare("SELECT practice_gap, evidence_detail FROM activity_planning WHERE activity_id = ?").query([.text(id)]) { row in
            var p = Lv_Registration_V1_Planning()
            p.practiceGap = row.text(0)
            p.evidenceDetail = row.text(1)
            activity.planning = p
        }
        if activity.planning != nil {
            try c.prepare("SELECT list, value FROM planning_list WHERE activity_id = ? ORDER BY list, position").query([.text(id)]) { row in
                let value = row.text(1)
                switch row.text(0) {
                case "source": activity.planning!.evidenceSources.append(.init(rawValue: Int32(value) ?? 0))
                case "profession": activity.planning!.targetProfessions.append(.init(rawValue: Int32(value) ?? 0))
                case "specialty": activity.planning!.specialties.append(value)
                default: break
                }
            }
        }
        try c.prepare("SELECT credit_type, max_amount, acpe_uan FROM credit_offer WHERE activity_id = ? ORDER BY position").query([.text(id)]) { row in
            var o = CreditOffer()
            o.type = CreditType(rawValue: Int32(clamping: row.int(0)))
            o.maxAmount = row.double(1)
            o.acpeUan = row.text(2)
            activity.creditOffers.append(o)
        }
        try c.prepare("SELECT board, points, passing_score FROM moc_offer WHERE activity_id = ? ORDER BY position").query([.text(id)]) { row in
            var m = MocOffer()
            m.board = row.text(0)
            m.points = row.double(1)
            m.passingScore = row.double(2)
            activity.moc.append(m)
        }
        return activity
    }

    static func require(_ c: any StoreConnection, id: String, field: String = "activity_id") throws -> Activity {
        guard let a = try row(c, id: id) else { throw DomainError(.notFound, "\(field): no activity '\(id)'") }
        return a
    }
}

extension RegistrationStore {
    public func createActivity(_ request: Lv_Registration_V1_CreateActivityRequest, now: Int64) async throws -> Lv_Registration_V1_CreateActivityResponse {
        try await database.write { c in
            let (response, replayed) = try RequestLog.once(c, requestID: request.requestId, method: "CreateActivity", request: request, now: now) {
                var a = request.activity ?? Activity()
                if a.activityId.isEmpty { a.activityId = TimeOrderedID.make(prefix: "act", now: now) }
                if try ActivityRecords.row(c, id: a.activityId) != nil {
                    throw DomainError(.alreadyExists, "activity.activity_id: activity '\(a.activityId)' exists")
                }
                a.createdMs = now
                let d = a.designedToChange ?? Lv_Registration_V1_DesignedToChange()
                a.designedToChange = d
                try c.prepare("""
                    INSERT INTO activity (activity_id, title, type, start_date, end_date, max_credits, target_moore_level,
                      dtc_competence, dtc_performance, dtc_patient_outcomes, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).run([.text(a.activityId), .text(a.title), .integer(Int64(a.type.rawValue)), .text(a.startDate),
                              .text(a.endDate), .real(a.maxCredits), .integer(Int64(a.targetMooreLevel)),
                              .integer(d.competence ? 1 : 0), .integer(d.performance ? 1 : 0), .integer(d.patientOutcomes ? 1 : 0),
                              .integer(now)])
                for (i, o) in a.objectives.enumerated() {
                    try c.prepare("INSERT INTO objective (activity_id, position, objective_id, text, desired_level) VALUES (?, ?, ?, ?, ?)")
                        .run([.text(a.activityId), .integer(Int64(i)), .text(o.id), .text(o.text), .text(o.desiredLevel)])
                    for (k, code) in o.measureCodes.enumerated() {
                        try c.prepare("INSERT INTO objective_measure (activity_id, objective_position, position, measure_code) VALUES (?, ?, ?, ?)")
                            .run([.text(a.activityId), .integer(Int64(i)), .integer(Int64(k)), .text(code)])
                    }
                }
                if let p = a.planning {
                    try c.prepare("INSERT INTO activity_planning (activity_id, practice_gap, evidence_detail) VALUES (?, ?, ?)")
                        .run([.text(a.activityId), .text(p.practiceGap), .text(p.evidenceDetail)])
                    let lists = p.evidenceSources.map { ("source", String($0.rawValue)) } + p.targetProfessions.map { ("profession", String($0.rawValue)) }
                        + p.specialties.map { ("specialty", $0) }
                    var positions: [String: Int64] = [:]
                    for (list, value) in lists {
                        let k = positions[list, default: 0]
                        positions[list] = k + 1
                        try c.prepare("INSERT INTO planning_list (activity_id, list, position, value) VALUES (?, ?, ?, ?)")
                            .run([.text(a.activityId), .text(list), .integer(k), .text(value)])
                    }
                }
                for (i, o) in a.creditOffers.enumerated() {
                    try c.prepare("INSERT INTO credit_offer (activity_id, position, credit_type, max_amount, acpe_uan) VALUES (?, ?, ?, ?, ?)")
                        .run([.text(a.activityId), .integer(Int64(i)), .integer(Int64(o.type.rawValue)), .real(o.maxAmount), .text(o.acpeUan)])
                }
                for (i, m) in a.moc.enumerated() {
                    try c.prepare("INSERT INTO moc_offer (activity_id, position, board, points, passing_score) VALUES (?, ?, ?, ?, ?)")
                        .run([.text(a.activityId), .integer(Int64(i)), .text(m.board), .real(m.points), .real(m.passingScore)])
                }
                var response = Lv_Registration_V1_CreateActivityResponse()
                response.activity = a
                response.created = true
                return response
            }
            var r = response
            if replayed { r.created = false }
            return r
        }
    }

    public func activity(id: String) async throws -> Activity? {
        try await database.read { c in try ActivityRecords.row(c, id: id) }
    }

    public func listActivities(pageSize: Int, after: String) async throws -> ([Activity], next: String) {
        try await database.read { c in
            var ids: [String] = []
            try c.prepare("SELECT activity_id FROM activity WHERE activity_id > ? ORDER BY activity_id LIMIT ?")
                .query([.text(after), .integer(Int64(pageSize + 1))]) { ids.append($0.text(0)) }
            let page = Array(ids.prefix(pageSize))
            return (try page.compactMap { try ActivityRecords.row(c, id: $0) }, ids.count > pageSize ? page.last! : "")
        }
    }
}
