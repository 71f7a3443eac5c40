import RegistrationDomain
import LVDomain
import LVMessages
import LVStore
import LVStoreMessages

/// Sessions of an activity (tables `session`, `session_objective`): rows and the store's calls on them.
enum SessionRecords {
    static func rows(_ c: any StoreConnection, activityID: String) throws -> [Session] {
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

    static func row(_ c: any StoreConnection, id: String) throws -> Session? {
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
}

extension RegistrationStore {
    public func addSession(_ request: Lv_Registration_V1_AddSessionRequest, now: Int64) async throws -> Lv_Registration_V1_AddSessionResponse {
        try await database.write { c in
            let (response, replayed) = try RequestLog.once(c, requestID: request.requestId, method: "AddSession", request: request, now: now) {
                var s = request.session ?? Session()
                let activity = try ActivityRecords.require(c, id: s.activityId, field: "session.activity_id")
                var v = Violations()
                RegistrationRules.validate(s, activity: activity, &v)
                try v.throwIfAny()
                if s.sessionId.isEmpty { s.sessionId = TimeOrderedID.make(prefix: "ses", now: now) }
                if try SessionRecords.row(c, id: s.sessionId) != nil {
                    throw DomainError(.alreadyExists, "session.session_id: session '\(s.sessionId)' exists")
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
            _ = try ActivityRecords.require(c, id: activityID)
            return try SessionRecords.rows(c, activityID: activityID)
        }
    }
}
