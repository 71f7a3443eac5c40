import RegistrationDomain
import LVDomain
import LVMessages
import LVStore
import LVStoreMessages

/// Learners (table `physician`, with `licence` and `board_id`): rows and the store's calls on them.
enum LearnerRecords {
    static func row(_ c: any StoreConnection, npi: String) throws -> Physician? {
        var p: Physician?
        try c.prepare("""
            SELECT given_name, family_name, specialty, birth_month, birth_day, email, created_ms, updated_ms,
                   profession, nabp_eprofile_id, pars_consent FROM physician WHERE npi = ?
            """)
            .query([.text(npi)]) { row in
                var x = Physician()
                x.npi = npi
                x.givenName = row.text(0)
                x.familyName = row.text(1)
                x.specialty = row.text(2)
                x.birthMonth = UInt32(row.int(3))
                x.birthDay = UInt32(row.int(4))
                x.email = row.text(5)
                x.createdMs = row.int(6)
                x.updatedMs = row.int(7)
                x.profession = LearnerRules.effective(Profession(rawValue: Int32(clamping: row.int(8))))
                x.nabpEprofileId = row.text(9)
                x.parsConsent = row.int(10) != 0
                p = x
            }
        guard var physician = p else { return nil }
        try c.prepare("SELECT state, number FROM licence WHERE npi = ? ORDER BY position").query([.text(npi)]) { row in
            var l = Lv_Registration_V1_Licence()
            l.state = row.text(0)
            l.number = row.text(1)
            physician.licences.append(l)
        }
        try c.prepare("SELECT board, id FROM board_id WHERE npi = ? ORDER BY position").query([.text(npi)]) { row in
            var b = Lv_Registration_V1_BoardId()
            b.board = row.text(0)
            b.id = row.text(1)
            physician.boardIds.append(b)
        }
        return physician
    }

    static func require(_ c: any StoreConnection, npi: String, field: String = "npi") throws -> Physician {
        guard let p = try row(c, npi: npi) else { throw DomainError(.notFound, "\(field): no physician with NPI \(npi)") }
        return p
    }

    static func write(_ c: any StoreConnection, _ p: Physician, replace: Bool) throws {
        try c.prepare("""
            INSERT INTO physician (npi, given_name, family_name, specialty, birth_month, birth_day, email, created_ms, updated_ms,
              profession, nabp_eprofile_id, pars_consent)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (npi) DO UPDATE SET given_name = excluded.given_name, family_name = excluded.family_name,
              specialty = excluded.specialty, birth_month = excluded.birth_month, birth_day = excluded.birth_day,
              email = excluded.email, updated_ms = excluded.updated_ms, profession = excluded.profession,
              nabp_eprofile_id = excluded.nabp_eprofile_id, pars_consent = excluded.pars_consent
            """).run([.text(p.npi), .text(p.givenName), .text(p.familyName), .text(p.specialty), .integer(Int64(p.birthMonth)),
                      .integer(Int64(p.birthDay)), .text(p.email), .integer(p.createdMs), .integer(p.updatedMs),
                      .integer(Int64(LearnerRules.effective(p.profession).rawValue)), .text(p.nabpEprofileId),
                      .integer(p.parsConsent ? 1 : 0)])
        if replace {
            try c.prepare("DELETE FROM licence WHERE npi = ?").run([.text(p.npi)])
            try c.prepare("DELETE FROM board_id WHERE npi = ?").run([.text(p.npi)])
        }
        for (i, l) in p.licences.enumerated() {
            try c.prepare("INSERT INTO licence (npi, position, state, number) VALUES (?, ?, ?, ?)")
                .run([.text(p.npi), .integer(Int64(i)), .text(l.state), .text(l.number)])
        }
        for (i, b) in p.boardIds.enumerated() {
            try c.prepare("INSERT INTO board_id (npi, position, board, id) VALUES (?, ?, ?, ?)")
                .run([.text(p.npi), .integer(Int64(i)), .text(b.board), .text(b.id)])
        }
    }

    /// The physician's registration data without the server's timestamps, for "same data" checks.
    static func content(_ p: Physician) -> Physician {
        var x = p
        x.createdMs = 0
        x.updatedMs = 0
        x.profession = LearnerRules.effective(x.profession)
        return x
    }
}

extension RegistrationStore {
    public func registerPhysician(_ request: Lv_Registration_V1_RegisterPhysicianRequest, now: Int64) async throws -> Lv_Registration_V1_RegisterPhysicianResponse {
        try await database.write { c in
            let (response, replayed) = try RequestLog.once(c, requestID: request.requestId, method: "RegisterPhysician", request: request, now: now) {
                var p = request.physician ?? Physician()
                var response = Lv_Registration_V1_RegisterPhysicianResponse()
                if let existing = try LearnerRecords.row(c, npi: p.npi) {
                    guard LearnerRecords.content(existing) == LearnerRecords.content(p) else {
                        throw DomainError(.alreadyExists, "physician.npi: NPI \(p.npi) is registered with different data; use UpdatePhysician (lvctl call ADDR UpdatePhysician -d JSON)")
                    }
                    response.physician = existing
                    return response
                }
                p.createdMs = now
                p.updatedMs = now
                p.profession = LearnerRules.effective(p.profession)
                try LearnerRecords.write(c, p, replace: false)
                response.physician = p
                response.created = true
                return response
            }
            var r = response
            if replayed { r.created = false }
            return r
        }
    }

    public func physician(npi: String) async throws -> Physician? {
        try await database.read { c in try LearnerRecords.row(c, npi: npi) }
    }

    public func updatePhysician(npi: String, update: Physician, mask: [String], now: Int64) async throws -> Physician {
        try await database.write { c in
            let current = try LearnerRecords.require(c, npi: npi)
            var v = Violations()
            var next = RegistrationRules.apply(update, to: current, mask: mask, &v)
            RegistrationRules.validate(next, &v)
            try v.throwIfAny()
            next.updatedMs = now
            try LearnerRecords.write(c, next, replace: true)
            return next
        }
    }

    /// The records of `npis` (those that exist) above `after`, in NPI order, a page at a time.
    public func physicians(npis: [String], pageSize: Int, after: String) async throws -> ([Physician], next: String) {
        let wanted = Set(npis).filter { $0 > after }.sorted()
        return try await database.read { c in
            var out: [Physician] = []
            for (i, npi) in wanted.enumerated() {
                if out.count == pageSize { return (out, wanted[i - 1]) }
                if let p = try LearnerRecords.row(c, npi: npi) { out.append(p) }
            }
            return (out, "")
        }
    }

    public func listPhysicians(specialty: String, licenceState: String, pageSize: Int, after: String) async throws -> ([Physician], next: String) {
        try await database.read { c in
            var npis: [String] = []
            try c.prepare("""
                SELECT npi FROM physician
                WHERE npi > ?1 AND (?2 = '' OR specialty = ?2)
                  AND (?3 = '' OR EXISTS (SELECT 1 FROM licence l WHERE l.npi = physician.npi AND l.state = ?3))
                ORDER BY npi LIMIT ?4
                """).query([.text(after), .text(specialty), .text(licenceState), .integer(Int64(pageSize + 1))]) { npis.append($0.text(0)) }
            let page = Array(npis.prefix(pageSize))
            let physicians = try page.compactMap { try LearnerRecords.row(c, npi: $0) }
            return (physicians, npis.count > pageSize ? page.last! : "")
        }
    }
}
