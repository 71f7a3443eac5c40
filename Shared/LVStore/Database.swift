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

/// A service's database (SQLite, or PostgreSQL through LVStorePostgres): one writer thread that groups concurrent writes into one
/// transaction (group commit) and acknowledges each only after COMMIT returns, plus a few
/// reader threads. No database call ever runs on an event loop or the Swift cooperative pool.
public final class Database: Sendable {
    /// The SQLite file, or for another backend its display name (hosts and database, no password).
    public let path: String
    public let backend: any DatabaseBackend
    public let options: DatabaseOptions
    private let writer: GroupCommitWriter
    private let readers: ReaderPool

    /// Opens (creating) the SQLite database at `path` with WAL, `synchronous`, foreign keys and a
    /// busy timeout, then applies `migrations` on the writer connection before returning.
    public convenience init(path: String, migrations: [Migration], options: DatabaseOptions = DatabaseOptions(),
                            logger: Logger = Logger(label: "lv.store")) throws {
        try self.init(backend: SQLiteBackend(path: path), migrations: migrations, options: options, logger: logger)
    }

    /// Opens the database `backend` names (SQLite, or PostgreSQL from LVStorePostgres) and applies
    /// `migrations` on the writer connection before returning.
    public init(backend: any DatabaseBackend, migrations: [Migration], options: DatabaseOptions = DatabaseOptions(),
                logger: Logger = Logger(label: "lv.store")) throws {
        self.path = backend.displayName
        self.backend = backend
        self.options = options
        let writeConnection = try backend.openConnection(options: options)
        _ = try backend.migrate(writeConnection, migrations)
        var readConnections: [any StoreConnection] = []
        for _ in 0..<options.readers { readConnections.append(try backend.openConnection(options: options)) }
        let number = Self.opened.withLockedValue { $0 += 1; return $0 }
        writer = GroupCommitWriter(connection: writeConnection, begin: backend.beginStatement, maxBatch: options.maxBatch,
                                   logger: logger, threadName: "lv-db\(number)-w")
        readers = ReaderPool(connections: readConnections, threadNamePrefix: "lv-db\(number)-r")
    }

    /// Databases opened by this process, numbering their threads' names.
    private static let opened = NIOLockedValueBox(0)

    /// The names of the threads this database runs (the writer's, then the readers'), as
    /// /proc/<pid>/task/*/comm shows them while they exist.
    public var threadNames: [String] { [writer.thread.name] + readers.threads.map(\.name) }

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
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreConnection) throws -> T) async throws -> T {
        try await writer.submit(body)
    }

    /// Runs `body` on a read connection (a consistent snapshot for its duration).
    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreConnection) throws -> T) async throws -> T {
        try await readers.run(body)
    }

    /// Commits made so far and the writes they carried (for metrics and tests).
    public var writerStatistics: (commits: Int, writes: Int) { writer.statistics }

    /// Writes waiting for the writer thread (for tests).
    public var queuedWrites: Int { writer.jobs.count }

    /// Shuts the database down: writes and reads already queued run (and are acknowledged), later
    /// ones fail; then every thread is joined and every connection closed. Blocks until that is
    /// done, so call it from a thread of your own (`shutdown()` does).
    public func close() {
        writer.jobs.stop()
        readers.jobs.stop()
        writer.thread.join()
        for thread in readers.threads { thread.join() }
        Self.closeConnection(writer.connection)
        for connection in readers.connections { Self.closeConnection(connection) }
    }

    /// `close()` off the Swift cooperative pool: returns when every thread has ended and every
    /// connection is closed. A swift-service-lifecycle `Service` calls it on graceful shutdown.
    public func shutdown() async {
        try? await NIOThreadPool.singleton.runIfActive { self.close() }
    }

    private static func closeConnection(_ connection: any StoreConnection) {
        (connection as? any ClosableConnection)?.close()
    }

    static let closedError = SQLiteError(code: SQLITE_MISUSE, message: "database is closed", sql: nil)
}

/// The single writer thread.
final class GroupCommitWriter: Sendable {
    struct Job {
        /// Runs the write in the open transaction; returns its acknowledgement, sent after COMMIT.
        let run: (any StoreConnection) -> () -> Void
        /// Fails the write when its transaction could not begin or commit.
        let fail: (any Error) -> Void
    }

    let jobs = JobQueue<Job>()
    let thread: OwnedThread
    private let counts = NIOLockedValueBox((commits: 0, writes: 0))
    /// Used by the writer thread only, and closed by `Database.close` after joining it.
    nonisolated(unsafe) let connection: any StoreConnection
    private let maxBatch: Int
    private let logger: Logger

    init(connection: any StoreConnection, begin: String, maxBatch: Int, logger: Logger, threadName: String) {
        self.connection = connection
        self.maxBatch = maxBatch
        self.logger = logger
        let jobs = self.jobs
        let counts = self.counts
        thread = OwnedThread(name: threadName) {
            while let batch = jobs.take(maximum: maxBatch) {
                Self.commit(batch, on: connection, begin: begin, logger: logger, counts: counts)
            }
        }
    }

    var statistics: (commits: Int, writes: Int) { counts.withLockedValue { $0 } }

    func submit<T: Sendable>(_ body: @escaping @Sendable (any StoreConnection) throws -> T) async throws -> T {
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
                if !jobs.append(job) { continuation.resume(throwing: Database.closedError) }
            }
        } onCancel: {
            cancelled.withLockedValue { $0 = true }
        }
    }

    /// One transaction for the whole batch; nobody is answered until COMMIT has returned.
    /// A backend whose connection is lost (PostgreSQL) reconnects before BEGIN, never inside the
    /// transaction; a connection lost during the batch or its COMMIT fails every write of the
    /// batch with `DatabaseUnavailableError` (retryable: none was acknowledged).
    private static func commit(_ batch: [Job], on connection: any StoreConnection, begin: String, logger: Logger,
                               counts: NIOLockedValueBox<(commits: Int, writes: Int)>) {
        do {
            do {
                try connection.ensureUsable()
                try connection.execute(begin)
            } catch is DatabaseUnavailableError {
                // A connection that died while idle is found out only by using it; nothing of the
                // batch has run yet, so reconnecting once here is safe.
                try connection.ensureUsable()
                try connection.execute(begin)
            }
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
        counts.withLockedValue { $0.commits += 1; $0.writes += batch.count }
        for acknowledge in acknowledgements { acknowledge() }
    }
}

/// Reader threads, each with its own connection, taking reads from one queue.
final class ReaderPool: Sendable {
    typealias Job = (any StoreConnection) -> Void

    let jobs = JobQueue<Job>()
    let threads: [OwnedThread]
    /// Each used by its own thread only, and closed by `Database.close` after joining them.
    nonisolated(unsafe) let connections: [any StoreConnection]

    init(connections: [any StoreConnection], threadNamePrefix: String) {
        self.connections = connections
        let jobs = self.jobs
        threads = connections.enumerated().map { index, connection in
            OwnedThread(name: "\(threadNamePrefix)\(index)") {
                while let job = jobs.take(maximum: 1)?.first { job(connection) }
            }
        }
    }

    func run<T: Sendable>(_ body: @escaping @Sendable (any StoreConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let queued = jobs.append { connection in
                continuation.resume(with: Result<T, any Error> {
                    do {
                        try connection.ensureUsable()
                        return try body(connection)
                    } catch is DatabaseUnavailableError {
                        // A read changes nothing: once more on a fresh connection (a failover, an idle drop).
                        try connection.ensureUsable()
                        return try body(connection)
                    }
                })
            }
            if !queued { continuation.resume(throwing: Database.closedError) }
        }
    }
}
