/// The connection a store's `Database.write` / `read` closure receives: SQLite (`SQLiteConnection`)
/// or PostgreSQL (`PostgresConnection` in LVStorePostgres). Stores write SQL in SQLite's dialect
/// restricted to what both accept; the PostgreSQL backend translates the few differences in one
/// place (`PostgresDialect`: `?`/`?N` → `$N`, `INSERT OR IGNORE`, DDL types). Not thread-safe: a
/// connection belongs to the writer thread or one reader thread.
public protocol StoreConnection: AnyObject {
    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws
    /// A prepared statement (cached by its SQL text where the backend can).
    func prepare(_ sql: String) throws -> any StoreStatement
    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { get }
    /// Called by the writer before each batch's BEGIN and by a reader before each read: a backend
    /// whose connection was lost reconnects here, and only here, so a reconnect never happens in
    /// the middle of a transaction. Throws `DatabaseUnavailableError` when it cannot.
    func ensureUsable() throws
}

extension StoreConnection {
    /// The first column of the first row of a query, as an integer.
    public func scalarInt(_ sql: String, _ bindings: [SQLiteValue] = []) throws -> Int64? {
        let s = try prepare(sql)
        defer { s.reset() }
        try s.bind(bindings)
        guard try s.step() else { return nil }
        return s.isNull(0) ? nil : s.int(0)
    }

    /// The first column of the first row, as text.
    public func scalarText(_ sql: String) throws -> String? {
        let s = try prepare(sql)
        defer { s.reset() }
        guard try s.step() else { return nil }
        return s.isNull(0) ? nil : s.text(0)
    }
}

/// A prepared statement. Parameters are 1-based like SQLite's; columns 0-based.
public protocol StoreStatement: AnyObject {
    /// Ends any row iteration and clears bindings.
    func reset()
    func bind(_ value: SQLiteValue, at index: Int32) throws
    /// Binds without building a value array (for hot insert loops).
    func bind(int value: Int64, at index: Int32) throws
    func bind(text value: String, at index: Int32) throws
    /// Runs the statement with what is bound, then resets it (bindings stay); returns rows changed.
    @discardableResult func executeBound() throws -> Int
    /// Advances to the next row; false when there are no more.
    @discardableResult func step() throws -> Bool
    func isNull(_ column: Int32) -> Bool
    func int(_ column: Int32) -> Int64
    func double(_ column: Int32) -> Double
    func text(_ column: Int32) -> String
    func blob(_ column: Int32) -> [UInt8]
}

extension StoreStatement {
    public func bind(_ values: [SQLiteValue]) throws {
        for (i, v) in values.enumerated() { try bind(v, at: Int32(i + 1)) }
    }

    /// Runs a statement that returns no rows with `values` bound.
    public func run(_ values: [SQLiteValue] = []) throws {
        reset()
        defer { reset() }
        try bind(values)
        try step()
    }

    /// Binds `values` and calls `row` for each result row, then resets the statement.
    public func query(_ values: [SQLiteValue] = [], row: (any StoreStatement) throws -> Void) throws {
        reset()
        defer { reset() }
        try bind(values)
        while try step() { try row(self) }
    }
}

/// The database could not be reached, or the connection was lost before the outcome of a
/// statement was known (a COMMIT whose answer never came may or may not have committed). Nothing
/// in the batch was acknowledged; the caller retries, and idempotency keys and the event key
/// `(timestamp_ms, event_id)` make the retry safe. Becomes UNAVAILABLE on the wire (LVService).
public struct DatabaseUnavailableError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "database unavailable: \(message)" }
}

/// Where a service's data lives and how to open connections to it: `SQLiteBackend` here,
/// `PostgresBackend` in LVStorePostgres (so that LVStore, LVRPC and the sanitizer builds never
/// need libpq).
public protocol DatabaseBackend: Sendable {
    /// For logs and errors: the SQLite path, or the PostgreSQL hosts and database (never a password).
    var displayName: String { get }
    /// The statement that opens a batch's transaction.
    var beginStatement: String { get }
    func openConnection(options: DatabaseOptions) throws -> any StoreConnection
    /// Applies `migrations` on `connection` (the writer's), each in its own transaction.
    func migrate(_ connection: any StoreConnection, _ migrations: [Migration]) throws -> [Int]
}

/// SQLite: one file, WAL, `synchronous`, foreign keys (DESIGN §8).
public struct SQLiteBackend: DatabaseBackend {
    public let path: String
    public init(path: String) { self.path = path }
    public var displayName: String { path }
    public var beginStatement: String { "BEGIN IMMEDIATE" }
    public func openConnection(options: DatabaseOptions) throws -> any StoreConnection {
        try Database.open(path: path, options: options)
    }
    public func migrate(_ connection: any StoreConnection, _ migrations: [Migration]) throws -> [Int] {
        guard let c = connection as? SQLiteConnection else { throw DatabaseUnavailableError("not a SQLite connection") }
        return try Migrator.migrate(c, migrations)
    }
}

/// A connection that holds resources `Database.close` releases after joining its thread.
public protocol ClosableConnection: StoreConnection {
    func close()
}

/// A backend that inserts many rows in one statement: PostgreSQL, where each statement is a round
/// trip to the server, so a batch of events sent one INSERT at a time spends its time waiting on
/// the network. SQLite does not conform: a prepared statement stepped once per row is its fastest
/// path (no round trips, no statement text to build). Stores check with `as? MultiRowInserting`.
public protocol MultiRowInserting: StoreConnection {
    /// `INSERT INTO table (columns) VALUES (…), (…), … ON CONFLICT DO NOTHING` for the rows in
    /// `values` (row after row, `columns.count` values each; any count of rows, sent in as few
    /// statements as the backend's parameter limit allows), inside the caller's transaction. Returns how many
    /// rows were inserted; the others conflicted with a row already there, or with an earlier row
    /// of the same call, as one INSERT OR IGNORE per row would count them.
    func insertIgnoringConflicts(into table: String, columns: [String], values: [SQLiteValue]) throws -> Int
}
