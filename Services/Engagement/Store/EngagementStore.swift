import EngagementDomain
import LVAPI
import LVMessages
import LVStore
import Synchronization

/// The engagement database. Events are keyed by (timestamp_ms, event_id): a retry resends the
/// same event with the same timestamp, so it is found as a duplicate, and because the key
/// starts with the time, inserts land at the end of the B-tree whatever the id's shape — a
/// random UUIDv4 id does not scatter writes across the file (DESIGN §8).
///
/// The only other index is (activity_id, timestamp_ms), which grows at its end too. An index
/// by physician would put each of a live event's thousands of physicians on its own leaf page,
/// so every commit would rewrite hundreds of pages into the WAL (measured: 29k events/s with
/// it); summaries instead read an activity's events in time order once, keeping a small running
/// summary per physician (`EngagementAccumulator`), never the events.
public final class EngagementStore: Sendable {
    public let database: Database
    /// Whole-activity summaries kept between the pages of one read of them.
    let cache = SummaryCache()

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

    public convenience init(path: String, options: DatabaseOptions = DatabaseOptions()) throws {
        try self.init(backend: SQLiteBackend(path: path), options: options)
    }

    /// On any backend: SQLite, or PostgreSQL (`PostgresBackend`, LVStorePostgres).
    public init(backend: any DatabaseBackend, options: DatabaseOptions = DatabaseOptions()) throws {
        database = try Database(backend: backend, migrations: Self.migrations, options: options)
    }

    public func close() { database.close() }

    /// Inserts events already validated; returns how many were new (the rest were duplicates).
    public func insert(_ events: [Event]) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        let inserted = try await database.write { c in
            if let batch = c as? any MultiRowInserting {
                // PostgreSQL: the batch in one statement (a round trip per event was ≈6× slower
                // than SQLite); the count inserted is the same as the loop below gives.
                var values: [SQLiteValue] = []
                values.reserveCapacity(events.count * Self.columnList.count)
                for e in events {
                    let r = e.result ?? Lv_Engagement_V1_Result()
                    values += [.integer(e.timestampMs), .text(e.eventId), .text(e.npi), .integer(Int64(e.verb.rawValue)),
                               .text(e.activityId), .text(e.sessionId), .text(e.objectId), .text(r.response),
                               .integer(Int64(r.rating)), .integer(Int64(r.durationMs)), .integer(Int64(r.correct))]
                }
                return try batch.insertIgnoringConflicts(into: "event", columns: Self.columnList, values: values)
            }
            let s = try c.prepare("""
                INSERT INTO event (timestamp_ms, event_id, npi, verb, activity_id, session_id, object_id,
                  response, rating, duration_ms, correct) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
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
        if inserted > 0 {
            var activities: Set<String> = []
            var last: String?
            for e in events where e.activityId != last {
                last = e.activityId
                activities.insert(e.activityId)
            }
            cache.invalidate(activities)
        }
        return inserted
    }

    public func definePoll(_ r: Lv_Engagement_V1_DefinePollRequest) async throws -> Bool {
        let created = try await database.write { c in
            try c.prepare("INSERT OR IGNORE INTO poll (activity_id, poll_id, session_id, question) VALUES (?, ?, ?, ?)")
                .run([.text(r.activityId), .text(r.pollId), .text(r.sessionId), .text(r.question)])
            return c.changes == 1
        }
        if created { cache.invalidate([r.activityId]) }
        return created
    }

    static func readEvent(_ row: any StoreStatement) -> Event {
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

    static let columnList = ["timestamp_ms", "event_id", "npi", "verb", "activity_id", "session_id", "object_id", "response",
                             "rating", "duration_ms", "correct"]
    static let columns = columnList.joined(separator: ", ")

    /// Per-physician summaries for an activity, paged by NPI (`after` is the last NPI of the
    /// previous page).
    ///
    /// One pass over the activity's events in (timestamp, id) order, keeping a small
    /// `EngagementAccumulator` per physician rather than the events (memory grows with the
    /// physicians, not the events). A whole-activity first page computes every physician's summary
    /// and keeps them (`SummaryCache`) so the following pages are slices of that list, not
    /// another pass each: paging through N physicians costs one pass, not N / page size passes.
    /// Any insert or poll definition for the activity invalidates the list, after its COMMIT and
    /// before it is acknowledged, so a read that starts after an acknowledged write never gets a
    /// list without it; a first page is served from the kept list too while it is current (a
    /// view read again with no new events costs no pass at all).
    public func summaries(activityID: String, npi: String, scheduledMinutes: Int, pageSize: Int, after: String)
        async throws -> (physicians: [PhysicianEngagement], next: String, pollsDefined: Int) {
        let key = SummaryCache.Key(activityID: activityID, scheduledMinutes: scheduledMinutes)
        if npi.isEmpty, let cached = cache.entry(key) {
            return Self.page(cached.summaries, after: after, pageSize: pageSize, pollsDefined: cached.pollsDefined)
        }
        let generation = cache.generation(activityID)
        let (summaries, polls) = try await database.read { c in
            try Self.computeSummaries(c, activityID: activityID, npi: npi, scheduledMinutes: scheduledMinutes)
        }
        if npi.isEmpty { cache.store(key, generation: generation, summaries: summaries, pollsDefined: polls) }
        return Self.page(summaries, after: after, pageSize: pageSize, pollsDefined: polls)
    }

    /// Every summary of an activity (or of one physician in it), sorted by NPI, and the polls defined.
    static func computeSummaries(_ c: any StoreConnection, activityID: String, npi: String, scheduledMinutes: Int) throws
        -> ([PhysicianEngagement], Int) {
        var polls: Set<String> = []
        try c.prepare("SELECT poll_id FROM poll WHERE activity_id = ?").query([.text(activityID)]) { polls.insert($0.text(0)) }
        var byPhysician: [String: EngagementAccumulator] = [:]
        try c.prepare("""
            SELECT npi, timestamp_ms, verb, object_id, duration_ms, rating FROM event
            WHERE activity_id = ?1 AND (?2 = '' OR npi = ?2)
            ORDER BY timestamp_ms, event_id
            """).query([.text(activityID), .text(npi)]) { row in
            let verb = Verb(rawValue: Int32(truncatingIfNeeded: row.int(2)))
            // The object id matters only to media and poll answers; other rows skip the copy.
            let object = (verb == .answered || verb == .played || verb == .paused) ? row.text(3) : ""
            byPhysician[row.text(0), default: EngagementAccumulator()].add(
                timestampMs: row.int(1), verb: verb, objectID: object,
                durationMs: UInt32(truncatingIfNeeded: row.int(4)), rating: UInt32(truncatingIfNeeded: row.int(5)))
        }
        let summaries = byPhysician.keys.sorted().map { physician in
            byPhysician[physician]!.summary(npi: physician, definedPolls: polls, scheduledMinutes: scheduledMinutes)
        }
        return (summaries, polls.count)
    }

    /// The page of `all` (sorted by NPI) after `after`.
    static func page(_ all: [PhysicianEngagement], after: String, pageSize: Int, pollsDefined: Int)
        -> (physicians: [PhysicianEngagement], next: String, pollsDefined: Int) {
        var low = 0, high = all.count
        while low < high {
            let mid = (low + high) / 2
            if all[mid].npi <= after { low = mid + 1 } else { high = mid }
        }
        let page = Array(all[low..<min(all.count, low + pageSize)])
        return (page, low + pageSize < all.count ? page.last!.npi : "", pollsDefined)
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

/// The last few whole-activity summary lists, each valid while its activity's generation is
/// unchanged. A writer bumps the generation after its COMMIT; a reader takes the generation before
/// its read begins, so a list computed while a write committed is stored already stale and is
/// recomputed on the next first page — never served as current.
final class SummaryCache: Sendable {
    struct Key: Hashable {
        let activityID: String
        let scheduledMinutes: Int
    }
    struct Entry {
        let generation: UInt64
        let summaries: [PhysicianEngagement]
        let pollsDefined: Int
    }
    /// Activities whose lists are kept (the most recently computed).
    static let capacity = 4

    private let state = Mutex<(generations: [String: UInt64], entries: [Key: Entry], order: [Key])>(([:], [:], []))

    func generation(_ activityID: String) -> UInt64 {
        state.withLock { $0.generations[activityID] ?? 0 }
    }

    func invalidate(_ activityIDs: Set<String>) {
        state.withLock { s in
            for id in activityIDs { s.generations[id, default: 0] += 1 }
        }
    }

    func store(_ key: Key, generation: UInt64, summaries: [PhysicianEngagement], pollsDefined: Int) {
        state.withLock { s in
            guard (s.generations[key.activityID] ?? 0) == generation else { return }
            s.entries[key] = Entry(generation: generation, summaries: summaries, pollsDefined: pollsDefined)
            s.order.removeAll { $0 == key }
            s.order.append(key)
            while s.order.count > Self.capacity { s.entries[s.order.removeFirst()] = nil }
        }
    }

    /// The kept list, if it is still current.
    func entry(_ key: Key) -> Entry? {
        state.withLock { s in
            guard let e = s.entries[key], e.generation == (s.generations[key.activityID] ?? 0) else { return nil }
            return e
        }
    }
}
