import Foundation
import LVStore
import Testing

private func temporaryPath() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvstore-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("test.sqlite").path
}

private let schema = [
    Migration(1, "items", "CREATE TABLE item (id TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"),
    Migration(2, "item notes", "ALTER TABLE item ADD COLUMN note TEXT;"),
]

@Suite("SQLite storage")
struct DatabaseTests {
    @Test("opening sets WAL, synchronous, foreign keys and the busy timeout")
    func pragmas() async throws {
        let db = try Database(path: temporaryPath(), migrations: schema, options: DatabaseOptions(synchronous: .full, busyTimeoutMs: 1234))
        let (mode, sync, fk, busy) = try await db.read { c in
            (try c.scalarText("PRAGMA journal_mode"), try c.scalarInt("PRAGMA synchronous"),
             try c.scalarInt("PRAGMA foreign_keys"), try c.scalarInt("PRAGMA busy_timeout"))
        }
        #expect(mode == "wal")
        #expect(sync == 2) // FULL
        #expect(fk == 1)
        #expect(busy == 1234)
        let writerSync = try await db.write { c in try c.scalarInt("PRAGMA synchronous") }
        #expect(writerSync == 2)
        db.close()
    }

    @Test("migrations run once, in order, and record their version")
    func migrations() throws {
        let path = temporaryPath()
        let c = try SQLiteConnection(path: path)
        #expect(try Migrator.migrate(c, Array(schema.prefix(1))) == [1])
        #expect(try Migrator.migrate(c, schema) == [2])
        #expect(try Migrator.migrate(c, schema) == [])
        #expect(try c.scalarInt("PRAGMA user_version") == 2)
        try c.execute("INSERT INTO item (id, value, note) VALUES ('a', 1, 'n')")
    }

    @Test("a database newer than the binary is refused, not downgraded")
    func newerDatabase() throws {
        let c = try SQLiteConnection(path: temporaryPath())
        try Migrator.migrate(c, schema)
        #expect(throws: MigrationError.databaseIsNewer(database: 2, known: 1)) {
            try Migrator.migrate(c, Array(schema.prefix(1)))
        }
    }

    @Test("a failing migration leaves the previous version intact")
    func failingMigration() throws {
        let c = try SQLiteConnection(path: temporaryPath())
        let broken = schema + [Migration(3, "broken", "CREATE TABLE x (a); THIS IS NOT SQL;")]
        #expect(throws: SQLiteError.self) { try Migrator.migrate(c, broken) }
        #expect(try c.scalarInt("PRAGMA user_version") == 2)
        #expect(try c.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'x'") == 0)
    }

    @Test("concurrent writes share transactions (group commit) and each is visible once acknowledged")
    func groupCommit() async throws {
        let path = temporaryPath()
        let db = try Database(path: path, migrations: schema)
        let n = 400
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<n {
                group.addTask {
                    try await db.write { c in try c.prepare("INSERT INTO item (id, value) VALUES (?, ?)").run([.text("k\(i)"), .integer(Int64(i))]) }
                    // Acknowledged means committed: an independent connection sees it now.
                    let other = try SQLiteConnection(path: path, readOnly: true)
                    #expect(try other.scalarInt("SELECT value FROM item WHERE id = ?", [.text("k\(i)")]) == Int64(i))
                }
            }
            try await group.waitForAll()
        }
        let stats = db.writerStatistics
        #expect(stats.writes == n)
        #expect(stats.commits < n, "expected writes to share commits, got \(stats.commits) commits for \(n) writes")
        #expect(try await db.read { try $0.scalarInt("SELECT count(*) FROM item") } == Int64(n))
        db.close()
    }

    @Test("a failing write in a shared transaction is undone alone; the others commit")
    func failingWriteIsIsolated() async throws {
        let db = try Database(path: temporaryPath(), migrations: schema)
        try await db.write { c in try c.prepare("INSERT INTO item (id, value) VALUES ('dup', 1)").run() }
        let results = await withTaskGroup(of: Bool.self, returning: [Bool].self) { group in
            for i in 0..<50 {
                group.addTask {
                    do {
                        try await db.write { c in
                            try c.prepare("INSERT INTO item (id, value) VALUES (?, 2)").run([.text("ok\(i)")])
                            if i % 10 == 0 {
                                // Second statement of the same write fails: the first must be undone too.
                                try c.prepare("INSERT INTO item (id, value) VALUES ('dup', 3)").run()
                            }
                        }
                        return true
                    } catch let e as SQLiteError {
                        #expect(e.isConstraintViolation)
                        return false
                    } catch { return false }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { !$0 }.count == 5)
        #expect(try await db.read { try $0.scalarInt("SELECT count(*) FROM item WHERE id LIKE 'ok%'") } == 45)
        #expect(try await db.read { try $0.scalarInt("SELECT value FROM item WHERE id = 'dup'") } == 1)
        db.close()
    }

    @Test("writes after close fail instead of hanging")
    func closed() async throws {
        let db = try Database(path: temporaryPath(), migrations: schema)
        db.close()
        await #expect(throws: SQLiteError.self) { try await db.write { _ in 1 } }
    }

    @Test("a write cancelled (deadline passed, or CANCEL) before the writer starts it is not committed; one already started is")
    func cancelledBeforeItStarts() async throws {
        let db = try Database(path: temporaryPath(), migrations: schema)
        // Hold the writer inside a first write until the second is queued and cancelled.
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let first = Task {
            try await db.write { c in
                holding.signal()
                release.wait()
                try c.execute("INSERT INTO item (id, value) VALUES ('first', 1)")
            }
        }
        await withCheckedContinuation { (k: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { holding.wait(); k.resume() }
        }
        let second = Task {
            try await db.write { c in try c.execute("INSERT INTO item (id, value) VALUES ('second', 2)") }
        }
        // Cancel it once it is queued: a write is queued as soon as its task runs.
        for _ in 0..<10_000 where db.queuedWrites == 0 { try await Task.sleep(nanoseconds: 1_000_000) }
        #expect(db.queuedWrites == 1)
        second.cancel()
        release.signal()
        try await first.value
        await #expect(throws: CancellationError.self) { try await second.value }
        let ids = try await db.read { c in try c.scalarText("SELECT group_concat(id) FROM item") }
        #expect(ids == "first")
        db.close()
    }

    @Test("shutdown runs what was queued, then joins every thread the database started and closes every file it opened")
    func shutdownLeavesNothingBehind() async throws {
        let path = temporaryPath()
        let directory = (path as NSString).deletingLastPathComponent
        let db = try Database(path: path, migrations: schema, options: DatabaseOptions(readers: 3))
        try await db.write { c in try c.execute("INSERT INTO item (id, value) VALUES ('a', 1)") }
        #expect(try await db.read { c in try c.scalarInt("SELECT count(*) FROM item") } == 1)
        let names = db.threadNames
        #expect(names.count == 4)
        // The check can see them: while open, each named thread exists and the files are open.
        #expect(Set(threadsOfThisProcess().filter { names.contains($0) }) == Set(names))
        #expect(openFiles(under: directory).count >= 4)

        await db.shutdown()
        #expect(threadsOfThisProcess().filter { names.contains($0) } == [])
        #expect(openFiles(under: directory) == [])
        await #expect(throws: SQLiteError.self) { try await db.write { _ in 1 } }
        await #expect(throws: SQLiteError.self) { try await db.read { _ in 1 } }
        // What was committed before shutdown is on disk.
        let reopened = try Database(path: path, migrations: schema)
        #expect(try await reopened.read { c in try c.scalarInt("SELECT count(*) FROM item") } == 1)
        await reopened.shutdown()
    }
}

/// The names (comm) of this process's threads that exist now.
private func threadsOfThisProcess() -> [String] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { tid in
        (try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The files under `directory` this process holds open (the database, its WAL and shared memory).
private func openFiles(under directory: String) -> [String] {
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return fds.compactMap { fd in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)") else { return nil }
        return target.hasPrefix(directory + "/") ? target : nil
    }
}
