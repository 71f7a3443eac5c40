import CSQLite
import CSQLiteConfig
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix

/// How a service's database is opened (DESIGN §8).
public struct DatabaseOptions: Sendable {
    public enum Synchronous: String, Sendable {
        /// Every COMMIT is fsynced: an acknowledged write survives power loss.
        case full = "FULL"
        /// WAL is fsynced at checkpoints only: survives a process crash, not power loss.
        case normal = "NORMAL"
    }

    public var synchronous: Synchronous
    public var busyTimeoutMs: Int
    /// Read connections; each read runs on its own thread from `readers` threads.
    public var readers: Int
    /// Most writes grouped into one transaction.
    public var maxBatch: Int
    /// SQLite's page cache per connection, in KiB (SQLite's default is 2,000 KiB).
    public var cacheKiB: Int

    public init(synchronous: Synchronous = .full, busyTimeoutMs: Int = 5_000, readers: Int = 2, maxBatch: Int = 1_000,
                cacheKiB: Int = 32_768) {
        self.synchronous = synchronous
        self.busyTimeoutMs = busyTimeoutMs
        self.readers = max(1, readers)
        self.maxBatch = max(1, maxBatch)
        self.cacheKiB = max(1_024, cacheKiB)
    }
}

/// A service's SQLite database: one writer thread that groups concurrent writes into one
/// transaction (group commit) and acknowledges each only after COMMIT returns, plus a few
/// reader threads. No SQLite call ever runs on an event loop or the Swift cooperative pool.
public final class Database: Sendable {
    public let path: String
    public let options: DatabaseOptions
    private let writer: GroupCommitWriter
    private let readers: ReaderPool

    /// Opens (creating) the database at `path` with WAL, `synchronous`, foreign keys and a busy
    /// timeout, then applies `migrations` on the writer connection before returning.
    public init(path: String, migrations: [Migration], options: DatabaseOptions = DatabaseOptions(),
                logger: Logger = Logger(label: "lv.store")) throws {
        self.path = path
        self.options = options
        let writeConnection = try Database.open(path: path, options: options)
        try Migrator.migrate(writeConnection, migrations)
        writer = GroupCommitWriter(connection: writeConnection, maxBatch: options.maxBatch, logger: logger)
        var readConnections: [SQLiteConnection] = []
        for _ in 0..<options.readers { readConnections.append(try Database.open(path: path, options: options)) }
        readers = ReaderPool(connections: readConnections)
    }

    /// SQLite's memory statistics cost a global mutex per allocation; nothing here reads them.
    /// Configured once, before the first connection of the process.
    private static let processConfiguration: Void = { _ = lv_sqlite_disable_memstatus() }()

    static func open(path: String, options: DatabaseOptions) throws -> SQLiteConnection {
        Self.processConfiguration
        let c = try SQLiteConnection(path: path)
        try c.execute("PRAGMA busy_timeout = \(options.busyTimeoutMs)")
        let mode = try c.scalarText("PRAGMA journal_mode = WAL")
        guard mode?.lowercased() == "wal" else {
            throw SQLiteError(code: SQLITE_ERROR, message: "could not switch \(path) to WAL (journal_mode is \(mode ?? "?"))", sql: nil)
        }
        try c.execute("PRAGMA synchronous = \(options.synchronous.rawValue)")
        try c.execute("PRAGMA foreign_keys = ON")
        try c.execute("PRAGMA cache_size = -\(options.cacheKiB)")
        return c
    }

    /// Runs `body` inside the writer's current transaction (under its own SAVEPOINT, so a
    /// failing write does not undo the others grouped with it). Returns after COMMIT.
    ///
    /// A write whose task is cancelled before the writer starts it (the server cancels a call's
    /// task when its deadline passes or the client sends CANCEL) is not run and throws
    /// `CancellationError`; once started it is committed with its batch, whoever still waits.
    public func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await writer.submit(body)
    }

    /// Runs `body` on a read connection (a consistent snapshot for its duration).
    public func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await readers.run(body)
    }

    /// Commits made so far and the writes they carried (for metrics and tests).
    public var writerStatistics: (commits: Int, writes: Int) { writer.statistics }

    /// Writes waiting for the writer thread (for tests).
    public var queuedWrites: Int { writer.queued }

    /// Stops the writer after the writes already queued; later writes fail.
    public func close() { writer.stop() }
}

/// The single writer thread.
final class GroupCommitWriter: @unchecked Sendable { // mutable state is guarded by `condition`
    private struct Job {
        /// Runs the write in the open transaction; returns its acknowledgement, sent after COMMIT.
        let run: (SQLiteConnection) -> () -> Void
        /// Fails the write when its transaction could not begin or commit.
        let fail: (any Error) -> Void
    }

    private let condition = ConditionLock(value: 0)
    private var queue: [Job] = []
    private var stopped = false
    private var commits = 0
    private var writes = 0
    private let connection: SQLiteConnection
    private let maxBatch: Int
    private let logger: Logger

    init(connection: SQLiteConnection, maxBatch: Int, logger: Logger) {
        self.connection = connection
        self.maxBatch = maxBatch
        self.logger = logger
        let thread = Thread { [self] in self.loop() }
        thread.name = "lv-sqlite-writer"
        thread.start()
    }

    var statistics: (commits: Int, writes: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (commits, writes)
    }

    var queued: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.unlock(withValue: 1)
    }

    func submit<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        // Set when the caller's task is cancelled; read by the writer thread before the write starts.
        let cancelled = NIOLockedValueBox(false)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let job = Job(run: { db in
                    // Still cancellable: nothing of this write has touched the database yet.
                    if cancelled.withLockedValue({ $0 }) { return { continuation.resume(throwing: CancellationError()) } }
                    let result: Result<T, any Error>
                    do {
                        try db.execute("SAVEPOINT write")
                        do {
                            result = .success(try body(db))
                            try db.execute("RELEASE write")
                        } catch {
                            try? db.execute("ROLLBACK TO write")
                            try? db.execute("RELEASE write")
                            throw error
                        }
                    } catch {
                        return { continuation.resume(throwing: error) }
                    }
                    return { continuation.resume(with: result) }
                }, fail: { error in continuation.resume(throwing: error) })
                condition.lock()
                guard !stopped else {
                    condition.unlock()
                    continuation.resume(throwing: SQLiteError(code: SQLITE_MISUSE, message: "database is closed", sql: nil))
                    return
                }
                queue.append(job)
                condition.unlock(withValue: 1)
            }
        } onCancel: {
            cancelled.withLockedValue { $0 = true }
        }
    }

    private func loop() {
        while true {
            condition.lock(whenValue: 1)
            let batch = Array(queue.prefix(maxBatch))
            queue.removeFirst(batch.count)
            let done = stopped && queue.isEmpty
            condition.unlock(withValue: queue.isEmpty && !stopped ? 0 : 1)
            if !batch.isEmpty { commit(batch) }
            if done { return }
        }
    }

    /// One transaction for the whole batch; nobody is answered until COMMIT has returned.
    private func commit(_ batch: [Job]) {
        do {
            try connection.execute("BEGIN IMMEDIATE")
        } catch {
            for job in batch { job.fail(error) }
            return
        }
        let acknowledgements = batch.map { $0.run(connection) }
        do {
            try connection.execute("COMMIT")
        } catch {
            logger.error("group commit failed; no write in the batch is acknowledged",
                         metadata: ["error": "\(error)", "writes": "\(batch.count)"])
            try? connection.execute("ROLLBACK")
            for job in batch { job.fail(error) }
            return
        }
        condition.lock()
        commits += 1
        writes += batch.count
        condition.unlock()
        for acknowledge in acknowledgements { acknowledge() }
    }
}

/// Reader threads, each with its own connection.
final class ReaderPool: Sendable {
    private let pool: NIOThreadPool
    private let idle: NIOLockedValueBox<[SQLiteConnectionBox]>

    init(connections: [SQLiteConnection]) {
        pool = NIOThreadPool(numberOfThreads: connections.count)
        pool.start()
        idle = NIOLockedValueBox(connections.map(SQLiteConnectionBox.init))
    }

    func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        let idle = self.idle
        return try await pool.runIfActive {
            // At most `numberOfThreads` bodies run at once, so a connection is always free.
            let box = idle.withLockedValue { $0.removeLast() }
            defer { idle.withLockedValue { $0.append(box) } }
            return try body(box.connection)
        }
    }
}

/// Moves a connection between reader threads; only one thread uses it at a time.
final class SQLiteConnectionBox: @unchecked Sendable {
    let connection: SQLiteConnection
    init(_ connection: SQLiteConnection) { self.connection = connection }
}
