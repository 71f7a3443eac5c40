import EngagementDomain
import LVAPI
import LVMessages
import LVStore

/// The engagement database. Events are keyed by (timestamp_ms, event_id): a retry resends the
/// same event with the same timestamp, so it is found as a duplicate, and because the key
/// starts with the time, inserts land at the end of the B-tree whatever the id's shape — a
/// random UUIDv4 id does not scatter writes across the file (DESIGN §8).
///
/// The only other index is (activity_id, timestamp_ms), which grows at its end too. An index
/// by physician would put each of a live event's thousands of physicians on its own leaf page,
/// so every commit would rewrite hundreds of pages into the WAL (measured: 29k events/s with
/// it); summaries instead read an activity's events in time order and group them in memory.
public final class EngagementStore: Sendable {
    public let database: Database

    static let migrations = [
        Migration(1, "events and polls", """
        CREATE TABLE event (
            timestamp_ms INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            npi TEXT NOT NULL,
            verb INTEGER NOT NULL,
            activity_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            object_id TEXT NOT NULL,
            response TEXT NOT NULL,
            rating INTEGER NOT NULL,
            duration_ms INTEGER NOT NULL,
            correct INTEGER NOT NULL,
            PRIMARY KEY (timestamp_ms, event_id)
        ) WITHOUT ROWID;
        CREATE INDEX event_activity_time ON event (activity_id, timestamp_ms);
        CREATE TABLE poll (
            activity_id TEXT NOT NULL,
            poll_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            question TEXT NOT NULL,
            PRIMARY KEY (activity_id, poll_id)
        ) WITHOUT ROWID;
        """),
    ]

    public init(path: String, options: DatabaseOptions = DatabaseOptions()) throws {
        database = try Database(path: path, migrations: Self.migrations, options: options)
    }

    public func close() { database.close() }

    /// Inserts events already validated; returns how many were new (the rest were duplicates).
    public func insert(_ events: [Event]) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        return try await database.write { c in
            let s = try c.prepare("""
                INSERT OR IGNORE INTO event (timestamp_ms, event_id, npi, verb, activity_id, session_id, object_id,
                  response, rating, duration_ms, correct) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            var inserted = 0
            for e in events {
                let r = e.result ?? Lv_Engagement_V1_Result()
                try s.bind(int: e.timestampMs, at: 1)
                try s.bind(text: e.eventId, at: 2)
                try s.bind(text: e.npi, at: 3)
                try s.bind(int: Int64(e.verb.rawValue), at: 4)
                try s.bind(text: e.activityId, at: 5)
                try s.bind(text: e.sessionId, at: 6)
                try s.bind(text: e.objectId, at: 7)
                try s.bind(text: r.response, at: 8)
                try s.bind(int: Int64(r.rating), at: 9)
                try s.bind(int: Int64(r.durationMs), at: 10)
                try s.bind(int: Int64(r.correct), at: 11)
                inserted += try s.executeBound()
            }
            return inserted
        }
    }

    public func definePoll(_ r: Lv_Engagement_V1_DefinePollRequest) async throws -> Bool {
        try await database.write { c in
            try c.prepare("INSERT OR IGNORE INTO poll (activity_id, poll_id, session_id, question) VALUES (?, ?, ?, ?)")
                .run([.text(r.activityId), .text(r.pollId), .text(r.sessionId), .text(r.question)])
            return c.changes == 1
        }
    }

    static func readEvent(_ row: SQLiteStatement) -> Event {
        var e = Event()
        e.timestampMs = row.int(0)
        e.eventId = row.text(1)
        e.npi = row.text(2)
        e.verb = Verb(rawValue: Int32(row.int(3)))
        e.activityId = row.text(4)
        e.sessionId = row.text(5)
        e.objectId = row.text(6)
        var r = Lv_Engagement_V1_Result()
        r.response = row.text(7)
        r.rating = UInt32(row.int(8))
        r.durationMs = UInt32(row.int(9))
        r.correct = Int32(row.int(10))
        if r != Lv_Engagement_V1_Result() { e.result = r }
        return e
    }

    static let columns = "timestamp_ms, event_id, npi, verb, activity_id, session_id, object_id, response, rating, duration_ms, correct"

    /// Per-physician summaries for an activity, paged by NPI (`after` is the last NPI of the
    /// previous page). One pass over the activity's events, grouped by physician.
    public func summaries(activityID: String, npi: String, scheduledMinutes: Int, pageSize: Int, after: String)
        async throws -> (physicians: [PhysicianEngagement], next: String, pollsDefined: Int) {
        try await database.read { c in
            var polls: Set<String> = []
            try c.prepare("SELECT poll_id FROM poll WHERE activity_id = ?").query([.text(activityID)]) { polls.insert($0.text(0)) }
            var byPhysician: [String: [Event]] = [:]
            try c.prepare("""
                SELECT \(Self.columns) FROM event WHERE activity_id = ?1 AND npi > ?2 AND (?3 = '' OR npi = ?3)
                ORDER BY timestamp_ms, event_id
                """).query([.text(activityID), .text(after), .text(npi)]) { row in
                let e = Self.readEvent(row)
                byPhysician[e.npi, default: []].append(e)
            }
            let npis = byPhysician.keys.sorted()
            let page = Array(npis.prefix(pageSize))
            let summaries = page.map { physician in
                EngagementSummary.summarize(npi: physician, events: byPhysician[physician]!, definedPolls: polls,
                                            scheduledMinutes: scheduledMinutes)
            }
            return (summaries, npis.count > pageSize ? page.last! : "", polls.count)
        }
    }

    /// Events in (timestamp_ms, event_id) order after the key `after` ("timestamp\tid").
    public func events(_ r: Lv_Engagement_V1_ListEventsRequest, pageSize: Int, after: String) async throws -> ([Event], next: String) {
        let parts = after.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
        let afterTime = parts.count == 2 ? Int64(parts[0]) ?? Int64.min : Int64.min
        let afterID = parts.count == 2 ? String(parts[1]) : ""
        return try await database.read { c in
            var list: [Event] = []
            try c.prepare("""
                SELECT \(Self.columns) FROM event
                WHERE (timestamp_ms, event_id) > (?1, ?2) AND (?3 = '' OR activity_id = ?3) AND (?4 = '' OR npi = ?4)
                  AND (?5 = 0 OR verb = ?5) AND (?6 = 0 OR timestamp_ms >= ?6) AND (?7 = 0 OR timestamp_ms < ?7)
                ORDER BY timestamp_ms, event_id LIMIT ?8
                """).query([.integer(afterTime), .text(afterID), .text(r.activityId), .text(r.npi), .integer(Int64(r.verb.rawValue)),
                            .integer(r.fromMs), .integer(r.toMs), .integer(Int64(pageSize + 1))]) { list.append(Self.readEvent($0)) }
            let page = Array(list.prefix(pageSize))
            return (page, list.count > pageSize ? "\(page.last!.timestampMs)\t\(page.last!.eventId)" : "")
        }
    }
}
