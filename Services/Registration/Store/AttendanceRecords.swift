import RegistrationDomain
import LVDomain
import LVMessages
import LVStore
import LVStoreMessages

/// Attendance intervals (table `attendance`) and the minutes present they give: rows and the store's calls.
enum AttendanceRecords {
    /// The rule reported for a rejected bulk interval whose error names none.
    static func rule(_ kind: DomainError.Kind) -> String {
        switch kind {
        case .invalidArgument: "invalid_argument"
        case .notFound: "not_found"
        case .alreadyExists: "already_exists"
        case .failedPrecondition: "failed_precondition"
        }
    }

    /// Checks that an attendance record may be written; returns the session.
    static func check(_ c: any StoreConnection, npi: String, sessionID: String, times: [Int64]) throws -> Session {
        _ = try LearnerRecords.require(c, npi: npi)
        guard let session = try SessionRecords.row(c, id: sessionID) else { throw DomainError(.notFound, "session_id: no session '\(sessionID)'") }
        try EnrollmentRecords.requireParticipant(c, activityID: session.activityId, npi: npi)
        for t in times {
            if let problem = RegistrationRules.attendanceTimeProblem(t, start: session.startMs, end: session.endMs) {
                throw DomainError(.failedPrecondition, "at_ms: \(problem)", violations: [violation("at_ms", "session-window", problem)])
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

    static func minutes(_ c: any StoreConnection, npi: String, sessions: [Session], now: Int64) throws -> PhysicianAttendance {
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
}

extension RegistrationStore {
    public func checkIn(npi: String, sessionID: String, at: Int64) async throws -> (AttendanceInterval, opened: Bool) {
        try await database.write { c in
            _ = try AttendanceRecords.check(c, npi: npi, sessionID: sessionID, times: [at])
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
            let session = try AttendanceRecords.check(c, npi: npi, sessionID: sessionID, times: [at])
            var open: Int64?
            try c.prepare("SELECT check_in_ms FROM attendance WHERE npi = ? AND session_id = ? AND check_out_ms IS NULL")
                .query([.text(npi), .text(sessionID)]) { open = $0.int(0) }
            guard let checkIn = open else {
                throw DomainError(.failedPrecondition, "npi: physician \(npi) is not checked in to session \(sessionID)",
                               violations: [violation("npi", "check-out-without-check-in", "check in before checking out")])
            }
            guard at >= checkIn else {
                throw DomainError.invalidArgument(field: "at_ms", rule: "order", "check-out at \(at) is before the check-in at \(checkIn)")
            }
            try c.prepare("UPDATE attendance SET check_out_ms = ? WHERE npi = ? AND session_id = ? AND check_in_ms = ?")
                .run([.integer(at), .text(npi), .text(sessionID), .integer(checkIn)])
            var interval = AttendanceInterval()
            interval.npi = npi
            interval.sessionId = sessionID
            interval.checkInMs = checkIn
            interval.checkOutMs = at
            let minutes = Presence.minutes(try AttendanceRecords.intervals(c, npi: npi, sessionID: sessionID, now: at), window: (session.startMs, session.endMs))
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
                            throw DomainError.invalidArgument(field: "\(field).npi", rule: problem.rule, problem.message)
                        }
                        guard interval.checkOutMs > interval.checkInMs else {
                            throw DomainError.invalidArgument(field: "\(field).check_out_ms", rule: "order",
                                                           "check-out must be after check-in (bulk intervals are closed)")
                        }
                        _ = try AttendanceRecords.check(c, npi: interval.npi, sessionID: interval.sessionId,
                                                     times: [interval.checkInMs, interval.checkOutMs])
                        try c.prepare(insert).run([.text(interval.npi), .text(interval.sessionId), .integer(interval.checkInMs),
                                                   .integer(interval.checkOutMs)])
                        if c.changes == 1 { response.accepted += 1 } else { response.duplicates += 1 }
                    } catch let error as DomainError {
                        let rule = error.violations.first?.rule ?? AttendanceRecords.rule(error.kind)
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
            _ = try ActivityRecords.require(c, id: activityID)
            let sessions = try SessionRecords.rows(c, activityID: activityID)
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
                response.physicians.append(try AttendanceRecords.minutes(c, npi: physicianNPI, sessions: sessions, now: now))
            }
            response.nextPageToken = npis.count > pageSize ? npis[pageSize - 1] : ""
            return response
        }
    }
}
