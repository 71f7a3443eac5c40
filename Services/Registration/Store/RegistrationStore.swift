import RegistrationDomain
import LVAPI
import LVDomain
import LVMessages
import LVRPC
import LVStore
import LVStoreMessages

public typealias Enrollment = Lv_Registration_V1_Enrollment
public typealias AttendanceInterval = Lv_Registration_V1_AttendanceInterval
public typealias CreditClaim = Lv_Registration_V1_CreditClaim
public typealias PhysicianAttendance = Lv_Registration_V1_PhysicianAttendance

/// The registration service's SQLite store. Writes run on the database's writer thread inside
/// the group-commit transaction (a thrown `RPCError` undoes just that write); reads on reader
/// threads. Rules that need no data are checked before, in `RegistrationRules`.
public final class RegistrationStore: Sendable {
    public let database: Database

    public convenience init(path: String, options: DatabaseOptions = DatabaseOptions()) throws {
        try self.init(backend: SQLiteBackend(path: path), options: options)
    }

    /// On any backend: SQLite, or PostgreSQL (`PostgresBackend`, LVStorePostgres).
    public init(backend: any DatabaseBackend, options: DatabaseOptions = DatabaseOptions()) throws {
        database = try Database(backend: backend, migrations: RegistrationSchema.migrations, options: options)
    }

    public func close() { database.close() }

    // MARK: physicians

    static func physician(_ c: any StoreConnection, npi: String) throws -> Physician? {
        var p: Physician?
        try c.prepare("SELECT given_name, family_name, specialty, birth_month, birth_day, email, created_ms, updated_ms FROM physician WHERE npi = ?")
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

    static func requirePhysician(_ c: any StoreConnection, npi: String, field: String = "npi") throws -> Physician {
        guard let p = try physician(c, npi: npi) else { throw RPCError(.notFound, "\(field): no physician with NPI \(npi)") }
        return p
    }

    static func writePhysician(_ c: any StoreConnection, _ p: Physician, replace: Bool) throws {
        try c.prepare("""
            INSERT INTO physician (npi, given_name, family_name, specialty, birth_month, birth_day, email, created_ms, updated_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (npi) DO UPDATE SET given_name = excluded.given_name, family_name = excluded.family_name,
              specialty = excluded.specialty, birth_month = excluded.birth_month, birth_day = excluded.birth_day,
              email = excluded.email, updated_ms = excluded.updated_ms
            """).run([.text(p.npi), .text(p.givenName), .text(p.familyName), .text(p.specialty), .integer(Int64(p.birthMonth)),
                      .integer(Int64(p.birthDay)), .text(p.email), .integer(p.createdMs), .integer(p.updatedMs)])
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
        return x
    }

    public func registerPhysician(_ request: Lv_Registration_V1_RegisterPhysicianRequest, now: Int64) async throws -> Lv_Registration_V1_RegisterPhysicianResponse {
        try await database.write { c in
            let (response, replayed) = try RequestLog.once(c, requestID: request.requestId, method: "RegisterPhysician", request: request, now: now) {
                var p = request.physician ?? Physician()
                var response = Lv_Registration_V1_RegisterPhysicianResponse()
                if let existing = try Self.physician(c, npi: p.npi) {
                    guard Self.content(existing) == Self.content(p) else {
                        throw RPCError(.alreadyExists, "physician.npi: NPI \(p.npi) is registered with different data; use UpdatePhysician (lvctl call ADDR UpdatePhysician -d JSON)")
                    }
                    response.physician = existing
                    return response
                }
                p.createdMs = now
                p.updatedMs = now
                try Self.writePhysician(c, p, replace: false)
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
        try await database.read { c in try Self.physician(c, npi: npi) }
    }

    public func updatePhysician(npi: String, update: Physician, mask: [String], now: Int64) async throws -> Physician {
        try await database.write { c in
            let current = try Self.requirePhysician(c, npi: npi)
            var v = Violations()
            var next = RegistrationRules.apply(update, to: current, mask: mask, &v)
            RegistrationRules.validate(next, &v)
            try v.throwIfAny()
            next.updatedMs = now
            try Self.writePhysician(c, next, replace: true)
            return next
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
            let physicians = try page.compactMap { try Self.physician(c, npi: $0) }
            return (physicians, npis.count > pageSize ? page.last! : "")
        }
    }

    // MARK: activities and sessions

    static func activity(_ c: any StoreConnection, id: String) throws -> Activity? {
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
        try c.prepare("SELECT objective_id, text FROM objective WHERE activity_id = ? ORDER BY position").query([.text(id)]) { row in
            var o = Lv_Registration_V1_LearningObjective()
            o.id = row.text(0)
            o.text = row.text(1)
            activity.objectives.append(o)
        }
        return activity
    }

    static func requireActivity(_ c: any StoreConnection, id: String, field: String = "activity_id") throws -> Activity {
        guard let a = try activity(c, id: id) else { throw RPCError(.notFound, "\(field): no activity '\(id)'") }
        return a
    }

    public func createActivity(_ request: Lv_Registration_V1_CreateActivityRequest, now: Int64) async throws -> Lv_Registration_V1_CreateActivityResponse {
        try await database.write { c in
            let (response, replayed) = try RequestLog.once(c, requestID: request.requestId, method: "CreateActivity", request: request, now: now) {
                var a = request.activity ?? Activity()
                if a.activityId.isEmpty { a.activityId = TimeOrderedID.make(prefix: "act", now: now) }
                if try Self.activity(c, id: a.activityId) != nil {
                    throw RPCError(.alreadyExists, "activity.activity_id: activity '\(a.activityId)' exists")
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
                    try c.prepare("INSERT INTO objective (activity_id, position, objective_id, text) VALUES (?, ?, ?, ?)")
                        .run([.text(a.activityId), .integer(Int64(i)), .text(o.id), .text(o.text)])
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
        try await database.read { c in try Self.activity(c, id: id) }
    }

    public func listActivities(pageSize: Int, after: String) async throws -> ([Activity], next: String) {
        try await database.read { c in
            var ids: [String] = []
            try c.prepare("SELECT activity_id FROM activity WHERE activity_id > ? ORDER BY activity_id LIMIT ?")
                .query([.text(after), .integer(Int64(pageSize + 1))]) { ids.append($0.text(0)) }
            let page = Array(ids.prefix(pageSize))
            return (try page.compactMap { try Self.activity(c, id: $0) }, ids.count > pageSize ? page.last! : "")
        }
    }

    static func sessions(_ c: any StoreConnection, activityID: String) throws -> [Session] {
        var sessions: [Session] = []
        try c.prepare("SELECT session_id, title, start_ms, end_ms FROM session WHERE activity_id = ? ORDER BY start_ms, session_id")
            .query([.text(activityID)]) { row in
                var s = Session()
                s.sessionId = row.text(0)
                s.activityId = activityID
                s.title = row.text(1)
                s.startMs = row.int(2)
                s.endMs = row.int(3)
                sessions.append(s)
            }
        for i in sessions.indices {
            try c.prepare("SELECT objective_id FROM session_objective WHERE session_id = ? ORDER BY position")
                .query([.text(sessions[i].sessionId)]) { sessions[i].objectiveIds.append($0.text(0)) }
        }
        return sessions
    }

    static func session(_ c: any StoreConnection, id: String) throws -> Session? {
        var s: Session?
        try c.prepare("SELECT activity_id, title, start_ms, end_ms FROM session WHERE session_id = ?").query([.text(id)]) { row in
            var x = Session()
            x.sessionId = id
            x.activityId = row.text(0)
            x.title = row.text(1)
            x.startMs = row.int(2)
            x.endMs = row.int(3)
            s = x
        }
        return s
    }

    public func addSession(_ request: Lv_Registration_V1_AddSessionRequest, now: Int64) async throws -> Lv_Registration_V1_AddSessionResponse {
        try await database.write { c in
            let (response, replayed) = try RequestLog.once(c, requestID: request.requestId, method: "AddSession", request: request, now: now) {
                var s = request.session ?? Session()
                let activity = try Self.requireActivity(c, id: s.activityId, field: "session.activity_id")
                var v = Violations()
                RegistrationRules.validate(s, activity: activity, &v)
                try v.throwIfAny()
                if s.sessionId.isEmpty { s.sessionId = TimeOrderedID.make(prefix: "ses", now: now) }
                if try Self.session(c, id: s.sessionId) != nil {
                    throw RPCError(.alreadyExists, "session.session_id: session '\(s.sessionId)' exists")
                }
                try c.prepare("INSERT INTO session (session_id, activity_id, title, start_ms, end_ms) VALUES (?, ?, ?, ?, ?)")
                    .run([.text(s.sessionId), .text(s.activityId), .text(s.title), .integer(s.startMs), .integer(s.endMs)])
                for (i, o) in s.objectiveIds.enumerated() {
                    try c.prepare("INSERT INTO session_objective (session_id, position, objective_id) VALUES (?, ?, ?)")
                        .run([.text(s.sessionId), .integer(Int64(i)), .text(o)])
                }
                var response = Lv_Registration_V1_AddSessionResponse()
                response.session = s
                response.created = true
                return response
            }
            var r = response
            if replayed { r.created = false }
            return r
        }
    }

    public func sessions(activityID: String) async throws -> [Session] {
        try await database.read { c in
            _ = try Self.requireActivity(c, id: activityID)
            return try Self.sessions(c, activityID: activityID)
        }
    }

    // MARK: enrollment

    static func enrollment(_ c: any StoreConnection, activityID: String, npi: String) throws -> Enrollment? {
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
        guard let e = try enrollment(c, activityID: activityID, npi: npi), e.withdrawnMs == 0 else {
            throw RPCError(.failedPrecondition, "npi: physician \(npi) is not enrolled in activity \(activityID)",
                           violations: [violation("npi", "not-enrolled", "enroll the physician as a participant first")])
        }
        guard e.cohort == .participant else {
            throw RPCError(.failedPrecondition, "npi: physician \(npi) is in the comparison cohort of \(activityID); comparison physicians do not attend or claim credit",
                           violations: [violation("npi", "comparison-cohort", "only participants attend and claim credit")])
        }
    }

    public func enroll(_ request: Lv_Registration_V1_EnrollRequest, now: Int64) async throws -> Lv_Registration_V1_EnrollResponse {
        try await database.write { c in
            let (response, replayed) = try RequestLog.once(c, requestID: request.requestId, method: "Enroll", request: request, now: now) {
                _ = try Self.requireActivity(c, id: request.activityId)
                _ = try Self.requirePhysician(c, npi: request.npi)
                var response = Lv_Registration_V1_EnrollResponse()
                if var existing = try Self.enrollment(c, activityID: request.activityId, npi: request.npi) {
                    guard existing.cohort == request.cohort else {
                        throw RPCError(.failedPrecondition, "cohort: physician \(request.npi) is already enrolled in the \(existing.cohort.protoName) cohort",
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
            guard var e = try Self.enrollment(c, activityID: activityID, npi: npi) else {
                throw RPCError(.notFound, "npi: physician \(npi) is not enrolled in activity \(activityID)")
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
            _ = try Self.requireActivity(c, id: activityID)
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

    // MARK: attendance

    /// Checks that an attendance record may be written; returns the session.
    static func checkAttendance(_ c: any StoreConnection, npi: String, sessionID: String, times: [Int64]) throws -> Session {
        _ = try requirePhysician(c, npi: npi)
        guard let session = try session(c, id: sessionID) else { throw RPCError(.notFound, "session_id: no session '\(sessionID)'") }
        try requireParticipant(c, activityID: session.activityId, npi: npi)
        for t in times {
            if let problem = RegistrationRules.attendanceTimeProblem(t, start: session.startMs, end: session.endMs) {
                throw RPCError(.failedPrecondition, "at_ms: \(problem)", violations: [violation("at_ms", "session-window", problem)])
            }
        }
        return session
    }

    static func intervals(_ c: any StoreConnection, npi: String, sessionID: String, now: Int64) throws -> [(start: Int64, end: Int64)] {
        var out: [(Int64, Int64)] = []
        try c.prepare("SELECT check_in_ms, coalesce(check_out_ms, ?) FROM attendance WHERE npi = ? AND session_id = ?")
            .query([.integer(now), .text(npi), .text(sessionID)]) { out.append(($0.int(0), $0.int(1))) }
        return out
    }

    public func checkIn(npi: String, sessionID: String, at: Int64) async throws -> (AttendanceInterval, opened: Bool) {
        try await database.write { c in
            _ = try Self.checkAttendance(c, npi: npi, sessionID: sessionID, times: [at])
            var interval = AttendanceInterval()
            interval.npi = npi
            interval.sessionId = sessionID
            var open: Int64?
            try c.prepare("SELECT check_in_ms FROM attendance WHERE npi = ? AND session_id = ? AND check_out_ms IS NULL")
                .query([.text(npi), .text(sessionID)]) { open = $0.int(0) }
            if let open {
                interval.checkInMs = open
                return (interval, false)
            }
            try c.prepare("INSERT OR IGNORE INTO attendance (npi, session_id, check_in_ms) VALUES (?, ?, ?)")
                .run([.text(npi), .text(sessionID), .integer(at)])
            interval.checkInMs = at
            return (interval, true)
        }
    }

    public func checkOut(npi: String, sessionID: String, at: Int64) async throws -> (AttendanceInterval, minutes: Int) {
        try await database.write { c in
            let session = try Self.checkAttendance(c, npi: npi, sessionID: sessionID, times: [at])
            var open: Int64?
            try c.prepare("SELECT check_in_ms FROM attendance WHERE npi = ? AND session_id = ? AND check_out_ms IS NULL")
                .query([.text(npi), .text(sessionID)]) { open = $0.int(0) }
            guard let checkIn = open else {
                throw RPCError(.failedPrecondition, "npi: physician \(npi) is not checked in to session \(sessionID)",
                               violations: [violation("npi", "check-out-without-check-in", "check in before checking out")])
            }
            guard at >= checkIn else {
                throw RPCError.invalidArgument(field: "at_ms", rule: "order", "check-out at \(at) is before the check-in at \(checkIn)")
            }
            try c.prepare("UPDATE attendance SET check_out_ms = ? WHERE npi = ? AND session_id = ? AND check_in_ms = ?")
                .run([.integer(at), .text(npi), .text(sessionID), .integer(checkIn)])
            var interval = AttendanceInterval()
            interval.npi = npi
            interval.sessionId = sessionID
            interval.checkInMs = checkIn
            interval.checkOutMs = at
            let minutes = Presence.minutes(try Self.intervals(c, npi: npi, sessionID: sessionID, now: at), window: (session.startMs, session.endMs))
            return (interval, minutes)
        }
    }

    public func recordAttendance(_ request: Lv_Registration_V1_RecordAttendanceRequest, now: Int64) async throws -> Lv_Registration_V1_RecordAttendanceResponse {
        try await database.write { c in
            try RequestLog.once(c, requestID: request.requestId, method: "RecordAttendance", request: request, now: now) {
                var response = Lv_Registration_V1_RecordAttendanceResponse()
                let insert = "INSERT OR IGNORE INTO attendance (npi, session_id, check_in_ms, check_out_ms) VALUES (?, ?, ?, ?)"
                for (i, interval) in request.intervals.enumerated() {
                    let field = "intervals[\(i)]"
                    do {
                        if let problem = NPI.problem(interval.npi) {
                            throw RPCError.invalidArgument(field: "\(field).npi", rule: problem.rule, problem.message)
                        }
                        guard interval.checkOutMs > interval.checkInMs else {
                            throw RPCError.invalidArgument(field: "\(field).check_out_ms", rule: "order",
                                                           "check-out must be after check-in (bulk intervals are closed)")
                        }
                        _ = try Self.checkAttendance(c, npi: interval.npi, sessionID: interval.sessionId,
                                                     times: [interval.checkInMs, interval.checkOutMs])
                        try c.prepare(insert).run([.text(interval.npi), .text(interval.sessionId), .integer(interval.checkInMs),
                                                   .integer(interval.checkOutMs)])
                        if c.changes == 1 { response.accepted += 1 } else { response.duplicates += 1 }
                    } catch let error as RPCError {
                        let rule = error.violations.first?.rule ?? error.code.protoName.lowercased()
                        response.rejected.append(violation(field, rule, error.message))
                    }
                }
                return response
            }.response
        }
    }

    /// Per-physician minutes for the participants of an activity, paged by NPI.
    public func attendance(activityID: String, npi: String, pageSize: Int, after: String, now: Int64) async throws -> Lv_Registration_V1_GetAttendanceResponse {
        try await database.read { c in
            _ = try Self.requireActivity(c, id: activityID)
            let sessions = try Self.sessions(c, activityID: activityID)
            var npis: [String] = []
            try c.prepare("""
                SELECT npi FROM enrollment WHERE activity_id = ?1 AND cohort = ?2 AND npi > ?3 AND (?4 = '' OR npi = ?4)
                ORDER BY npi LIMIT ?5
                """).query([.text(activityID), .integer(Int64(Cohort.participant.rawValue)), .text(after), .text(npi),
                            .integer(Int64(pageSize + 1))]) { npis.append($0.text(0)) }
            var response = Lv_Registration_V1_GetAttendanceResponse()
            response.scheduledMinutes = UInt32(clamping: sessions.reduce(Int64(0)) {
                Checked.sum($0, (Checked.difference($1.endMs, $1.startMs) ?? 0) / 60_000)
            })
            for physicianNPI in npis.prefix(pageSize) {
                response.physicians.append(try Self.physicianAttendance(c, npi: physicianNPI, sessions: sessions, now: now))
            }
            response.nextPageToken = npis.count > pageSize ? npis[pageSize - 1] : ""
            return response
        }
    }

    static func physicianAttendance(_ c: any StoreConnection, npi: String, sessions: [Session], now: Int64) throws -> PhysicianAttendance {
        var a = PhysicianAttendance()
        a.npi = npi
        for s in sessions {
            let minutes = Presence.minutes(try intervals(c, npi: npi, sessionID: s.sessionId, now: now), window: (s.startMs, s.endMs))
            guard minutes > 0 else { continue }
            var sa = Lv_Registration_V1_SessionAttendance()
            sa.sessionId = s.sessionId
            sa.minutes = UInt32(clamping: minutes)
            a.sessions.append(sa)
            a.minutesPresent = a.minutesPresent.addingReportingOverflow(UInt32(clamping: minutes)).overflow
                ? .max : a.minutesPresent + UInt32(clamping: minutes)
            a.sessionsAttended += 1
        }
        return a
    }

    // MARK: credit

    static func claim(_ c: any StoreConnection, activityID: String, npi: String) throws -> CreditClaim? {
        var claim: CreditClaim?
        try c.prepare("SELECT credits, claimed_ms, minutes_attended FROM credit WHERE activity_id = ? AND npi = ?")
            .query([.text(activityID), .text(npi)]) { row in
                var x = CreditClaim()
                x.activityId = activityID
                x.npi = npi
                x.credits = row.double(0)
                x.claimedMs = row.int(1)
                x.minutesAttended = UInt32(row.int(2))
                claim = x
            }
        return claim
    }

    public func claimCredit(_ request: Lv_Registration_V1_ClaimCreditRequest, now: Int64) async throws -> Lv_Registration_V1_ClaimCreditResponse {
        try await database.write { c in
            let (response, replayed) = try RequestLog.once(c, requestID: request.requestId, method: "ClaimCredit", request: request, now: now) {
                let activity = try Self.requireActivity(c, id: request.activityId)
                _ = try Self.requirePhysician(c, npi: request.npi)
                try Self.requireParticipant(c, activityID: request.activityId, npi: request.npi)
                var response = Lv_Registration_V1_ClaimCreditResponse()
                if let existing = try Self.claim(c, activityID: request.activityId, npi: request.npi) {
                    guard abs(existing.credits - request.credits) < 1e-9 else {
                        throw RPCError(.alreadyExists, "credits: physician \(request.npi) already claimed \(CreditRules.format(existing.credits)) for \(request.activityId); one claim per physician per activity",
                                       violations: [violation("credits", "one-claim", "a physician claims credit once per activity")])
                    }
                    response.claim = existing
                    return response
                }
                let sessions = try Self.sessions(c, activityID: request.activityId)
                let attended = Int(try Self.physicianAttendance(c, npi: request.npi, sessions: sessions, now: now).minutesPresent)
                if let problem = CreditRules.problem(credits: request.credits, minutesAttended: attended,
                                                     activityMaximum: activity.maxCredits, hasSessions: !sessions.isEmpty) {
                    let code: StatusCode = problem.rule == "time-attended" ? .failedPrecondition : .invalidArgument
                    throw RPCError(code, "credits: \(problem.message)", violations: [violation("credits", problem.rule, problem.message)])
                }
                let claimed = request.claimedMs == 0 ? now : request.claimedMs
                try c.prepare("INSERT INTO credit (activity_id, npi, credits, claimed_ms, minutes_attended) VALUES (?, ?, ?, ?, ?)")
                    .run([.text(request.activityId), .text(request.npi), .real(request.credits), .integer(claimed), .integer(Int64(attended))])
                var claim = CreditClaim()
                claim.activityId = request.activityId
                claim.npi = request.npi
                claim.credits = request.credits
                claim.claimedMs = claimed
                claim.minutesAttended = UInt32(attended)
                response.claim = claim
                response.created = true
                return response
            }
            var r = response
            if replayed { r.created = false }
            return r
        }
    }

    /// Claims by activity and/or physician, ordered by (activity, NPI); `after` is "activity\tnpi".
    public func listCredits(activityID: String, npi: String, pageSize: Int, after: String) async throws -> ([CreditClaim], next: String) {
        let parts = after.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        let (givenActivity, afterNPI) = parts.count == 2 ? (parts[0], parts[1]) : ("", "")
        // An activity's first page starts at its own claims, not at the first claim of the table.
        let afterActivity = givenActivity.isEmpty ? activityID : givenActivity
        return try await database.read { c in
            var claims: [CreditClaim] = []
            try c.prepare("""
                SELECT activity_id, npi, credits, claimed_ms, minutes_attended FROM credit
                WHERE (?1 = '' OR activity_id = ?1) AND (?2 = '' OR npi = ?2) AND (activity_id, npi) > (?3, ?4)
                ORDER BY activity_id, npi LIMIT ?5
                """).query([.text(activityID), .text(npi), .text(afterActivity), .text(afterNPI), .integer(Int64(pageSize + 1))]) { row in
                var x = CreditClaim()
                x.activityId = row.text(0)
                x.npi = row.text(1)
                x.credits = row.double(2)
                x.claimedMs = row.int(3)
                x.minutesAttended = UInt32(row.int(4))
                claims.append(x)
            }
            let page = Array(claims.prefix(pageSize))
            let next = claims.count > pageSize ? "\(page.last!.activityId)\t\(page.last!.npi)" : ""
            return (page, next)
        }
    }
}
