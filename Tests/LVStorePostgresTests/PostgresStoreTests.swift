import Foundation
import LVStore
import LVStorePostgres
import LVStoreTestSupport
import Testing

@Suite("PostgreSQL dialect")
struct PostgresDialectTests {
    @Test("? and ?N become $N as SQLite numbers them; quoted text is left alone")
    func placeholders() {
        #expect(PostgresDialect.statement("SELECT a FROM t WHERE a = ? AND b = ?") == "SELECT a FROM t WHERE a = $1 AND b = $2")
        #expect(PostgresDialect.statement("SELECT 1 WHERE ?1 = '' OR (x = ?1 AND y > ?2) LIMIT ?3")
                == "SELECT 1 WHERE $1 = '' OR (x = $1 AND y > $2) LIMIT $3")
        // SQLite gives a bare ? the number after the highest seen so far.
        #expect(PostgresDialect.statement("SELECT ?2, ?") == "SELECT $2, $3")
        #expect(PostgresDialect.statement("SELECT '?' || \"a?b\" || ?") == "SELECT '?' || \"a?b\" || $1")
    }

    @Test("INSERT OR IGNORE becomes ON CONFLICT DO NOTHING; other statements are unchanged")
    func insertOrIgnore() {
        #expect(PostgresDialect.statement("\n  INSERT OR IGNORE INTO poll (a, b) VALUES (?, ?)\n")
                == "INSERT INTO poll (a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        #expect(PostgresDialect.statement("INSERT INTO poll (a) VALUES (?)") == "INSERT INTO poll (a) VALUES ($1)")
    }

    @Test("DDL: INTEGER is 64-bit, REAL double, BLOB bytea, TEXT in byte order, WITHOUT ROWID dropped; identifiers untouched")
    func schema() {
        let sql = "CREATE TABLE t (integer_count INTEGER NOT NULL, x REAL, body BLOB, realm TEXT, text TEXT NOT NULL, PRIMARY KEY (integer_count)) WITHOUT ROWID;"
        #expect(PostgresDialect.schema(sql)
                == "CREATE TABLE t (integer_count BIGINT NOT NULL, x DOUBLE PRECISION, body BYTEA, realm TEXT COLLATE \"C\", text TEXT COLLATE \"C\" NOT NULL, PRIMARY KEY (integer_count)) ;")
    }

    @Test("the URL's password never reaches the display name; lv_query_timeout_ms is ours, not libpq's")
    func url() {
        let b = PostgresBackend(url: "postgres://lv:secret@h1:5432,h2:5433/lv?target_session_attrs=read-write&lv_query_timeout_ms=1500")
        #expect(!b.displayName.contains("secret"))
        #expect(b.queryTimeoutMs == 1500)
        #expect(b.conninfo == "postgres://lv:secret@h1:5432,h2:5433/lv?target_session_attrs=read-write")
        #expect(PostgresBackend(url: "postgres://h/db").queryTimeoutMs == 10_000)
    }
}

private let schema = [
    Migration(1, "items", "CREATE TABLE item (id TEXT PRIMARY KEY, value INTEGER NOT NULL, ratio REAL, body BLOB) WITHOUT ROWID;"),
    Migration(2, "item notes", "ALTER TABLE item ADD COLUMN note TEXT;"),
]

private struct Refused: Error {}

/// Against the server `LV_TEST_DATABASE` names (make test-postgres); skipped without one.
@Suite("PostgreSQL storage", .enabled(if: TestDatabase.isPostgres, "needs LV_TEST_DATABASE=postgres://… (make test-postgres)"))
struct PostgresStoreTests {
    func freshURL(_ extra: String = "") throws -> String {
        try TestDatabase.createDatabase(admin: TestDatabase.postgresURL!) + extra
    }

    @Test("migrations run once, in order, and a database newer than the build is refused")
    func migrations() throws {
        let backend = PostgresBackend(url: try freshURL())
        let c = try backend.openConnection(options: DatabaseOptions())
        #expect(try backend.migrate(c, Array(schema.prefix(1))) == [1])
        #expect(try backend.migrate(c, schema) == [2])
        #expect(try backend.migrate(c, schema) == [])
        #expect(throws: MigrationError.databaseIsNewer(database: 2, known: 1)) { try backend.migrate(c, Array(schema.prefix(1))) }
    }

    @Test("values round-trip: 64-bit integers, doubles, text with quotes and ?, bytes with NUL, NULL")
    func values() async throws {
        let db = try Database(backend: PostgresBackend(url: try freshURL()), migrations: schema)
        defer { db.close() }
        let body: [UInt8] = [0, 1, 0x5c, 0x78, 255, 0]
        try await db.write { c in
            try c.prepare("INSERT INTO item (id, value, ratio, body, note) VALUES (?, ?, ?, ?, ?)")
                .run([.text("it's ? 'x' é"), .integer(Int64.max), .real(0.1), .blob(body), .null])
        }
        let row = try await db.read { c in
            var out: (String, Int64, Double, [UInt8], Bool)?
            try c.prepare("SELECT id, value, ratio, body, note FROM item WHERE value = ?1 AND (?2 = '' OR id = ?2)")
                .query([.integer(Int64.max), .text("")]) { out = ($0.text(0), $0.int(1), $0.double(2), $0.blob(3), $0.isNull(4)) }
            return out.map { [$0.0, "\($0.1)", "\($0.2)", "\($0.3)", "\($0.4)"] }
        }
        #expect(row == ["it's ? 'x' é", "\(Int64.max)", "0.1", "\(body)", "true"])
    }

    @Test("group commit: concurrent writes all acknowledged and present; a failing write undoes only itself")
    func groupCommit() async throws {
        let db = try Database(backend: PostgresBackend(url: try freshURL()), migrations: schema)
        defer { db.close() }
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<200 {
                group.addTask {
                    do {
                        try await db.write { c in
                            try c.prepare("INSERT INTO item (id, value) VALUES (?, ?)").run([.text("i\(i)"), .integer(Int64(i))])
                            if i % 10 == 0 { throw Refused() }
                        }
                        return true
                    } catch is Refused { return false }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 180)
        let count = try await db.read { c in try c.scalarInt("SELECT count(*) FROM item") }
        #expect(count == 180)
        let refused = try await db.read { c in try c.scalarInt("SELECT count(*) FROM item WHERE value % 10 = 0") }
        #expect(refused == 0)
        // A duplicate key is the store's business (INSERT OR IGNORE → ON CONFLICT DO NOTHING): nothing changes.
        let changed = try await db.write { c in
            try c.prepare("INSERT OR IGNORE INTO item (id, value) VALUES (?, ?)").run([.text("i1"), .integer(99)])
            return c.changes
        }
        #expect(changed == 0)
        // Every write went through the writer (the refused ones too), grouped into fewer transactions.
        #expect(db.writerStatistics.writes == 201)
        #expect(db.writerStatistics.commits < 201)
    }

    @Test("a connection dropped while idle is replaced before the next batch: the write succeeds")
    func idleDrop() async throws {
        let url = try freshURL()
        let db = try Database(backend: PostgresBackend(url: url), migrations: schema, options: DatabaseOptions(readers: 1))
        defer { db.close() }
        let first = try await db.write { c in try c.scalarInt("SELECT pg_backend_pid()")! }
        let admin = try PostgresConnection(conninfo: url, queryTimeoutMs: 10_000)
        defer { admin.close() }
        #expect(try admin.scalarInt("SELECT count(*) FROM (SELECT pg_terminate_backend(CAST(? AS INTEGER))) t", [.integer(first)]) == 1)
        let second = try await db.write { c in
            try c.prepare("INSERT INTO item (id, value) VALUES (?, ?)").run([.text("after"), .integer(1)])
            return try c.scalarInt("SELECT pg_backend_pid()")!
        }
        #expect(second != first)
        #expect(try await db.read { c in try c.scalarInt("SELECT count(*) FROM item") } == 1)
    }

    @Test("a connection lost inside the batch fails the write as unavailable, commits nothing, and the next write reconnects")
    func lostMidBatch() async throws {
        let db = try Database(backend: PostgresBackend(url: try freshURL()), migrations: schema)
        defer { db.close() }
        await #expect(throws: DatabaseUnavailableError.self) {
            try await db.write { c in
                try c.prepare("INSERT INTO item (id, value) VALUES (?, ?)").run([.text("lost"), .integer(1)])
                try c.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            }
        }
        try await db.write { c in try c.prepare("INSERT INTO item (id, value) VALUES (?, ?)").run([.text("next"), .integer(2)]) }
        let ids = try await db.read { c in
            var ids: [String] = []
            try c.prepare("SELECT id FROM item ORDER BY id").query { ids.append($0.text(0)) }
            return ids
        }
        #expect(ids == ["next"])
    }

    @Test("a server that stops answering fails the write as unavailable after lv_query_timeout_ms, then the next write works")
    func timeout() async throws {
        let db = try Database(backend: PostgresBackend(url: try freshURL("?lv_query_timeout_ms=300")), migrations: schema)
        defer { db.close() }
        await #expect(throws: DatabaseUnavailableError.self) {
            try await db.write { c in
                try c.prepare("INSERT INTO item (id, value) VALUES (?, ?)").run([.text("slow"), .integer(1)])
                try c.execute("SELECT pg_sleep(5)")
            }
        }
        try await db.write { c in try c.prepare("INSERT INTO item (id, value) VALUES (?, ?)").run([.text("next"), .integer(2)]) }
        #expect(try await db.read { c in try c.scalarInt("SELECT count(*) FROM item WHERE id = 'slow'") } == 0)
    }

    @Test("a database that cannot be reached is DatabaseUnavailableError, not a crash")
    func unreachable() throws {
        #expect(throws: DatabaseUnavailableError.self) {
            _ = try Database(backend: PostgresBackend(url: "postgres://postgres@127.0.0.1:1/none?connect_timeout=2"), migrations: schema)
        }
    }
}
