#if canImport(Glibc)
import Glibc
#endif
import CLibPQ
import LVStore

/// A failed PostgreSQL statement: SQLSTATE, the server's message and the statement.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public let sqlState: String
    public let message: String
    public let sql: String?

    public var description: String {
        "PostgreSQL error \(sqlState): \(message)" + (sql.map { " in «\($0)»" } ?? "")
    }

    /// A UNIQUE or PRIMARY KEY constraint failed (the duplicate of a retried write).
    public var isConstraintViolation: Bool { sqlState == "23505" }
}

/// One libpq connection, used synchronously by the thread that owns it (the writer thread or a
/// reader thread, never an event loop or the Swift pool), like `SQLiteConnection`.
///
/// Every statement is sent asynchronously and awaited with `poll` for at most `queryTimeoutMs`:
/// a primary that stopped answering (SIGSTOP, a cut network) would otherwise hold the writer in
/// COMMIT forever, since the kernel keeps acknowledging on loopback. A lost connection or a
/// timeout drops the connection and throws `DatabaseUnavailableError`; the connection is
/// re-established only in `ensureUsable()` (before the next batch or read), so never in the
/// middle of a transaction. With a multi-host URL and `target_session_attrs=read-write`, libpq
/// finds the new primary after a failover.
public final class PostgresConnection: ClosableConnection {
    private var conn: OpaquePointer?
    private let conninfo: String
    private let queryTimeoutMs: Int32
    public private(set) var changes: Int = 0
    /// Translated SQL by the store's SQL text.
    private var translations: [String: String] = [:]

    public init(conninfo: String, queryTimeoutMs: Int32) throws {
        self.conninfo = conninfo
        self.queryTimeoutMs = queryTimeoutMs
        try connect()
    }

    deinit { close() }

    public func close() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    /// True while the connection is up (for tests).
    public var isConnected: Bool { conn.map { PQstatus($0) == CONNECTION_OK } ?? false }

    private func connect() throws {
        close()
        guard let c = PQconnectdb(conninfo) else { throw DatabaseUnavailableError("libpq could not allocate a connection") }
        guard PQstatus(c) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(c)).trimmingTrailingNewlines()
            PQfinish(c)
            throw DatabaseUnavailableError("cannot connect to PostgreSQL: \(message)")
        }
        conn = c
        // Notices (e.g. "relation already exists, skipping") are not errors; keep them off stderr.
        PQsetNoticeProcessor(c, { _, _ in }, nil)
    }

    public func ensureUsable() throws {
        if isConnected { return }
        try connect()
    }

    public func execute(_ sql: String) throws {
        let result = try run(sql, parameters: [])
        PQclear(result)
    }

    public func prepare(_ sql: String) throws -> any StoreStatement {
        let translated: String
        if let cached = translations[sql] {
            translated = cached
        } else {
            translated = PostgresDialect.statement(sql)
            translations[sql] = translated
        }
        return PostgresStatement(connection: self, sql: translated)
    }

    /// Sends `sql` (with `parameters`, or as a simple query of possibly several statements when
    /// there are none) and waits for its last result. The caller clears the result.
    func run(_ sql: String, parameters: [SQLiteValue?]) throws -> OpaquePointer {
        guard let c = conn, PQstatus(c) == CONNECTION_OK else {
            throw DatabaseUnavailableError("the connection to PostgreSQL was lost")
        }
        let sent: Int32
        if parameters.isEmpty {
            sent = PQsendQuery(c, sql)
        } else {
            var types: [Oid] = []
            var values: [UnsafePointer<CChar>?] = []
            var lengths: [Int32] = []
            var formats: [Int32] = []
            var owned: [UnsafeMutableRawPointer] = []
            defer { for p in owned { free(p) } }
            for p in parameters {
                switch p {
                case .none, .some(.null):
                    types.append(0); values.append(nil); lengths.append(0); formats.append(0)
                case .some(.integer(let v)):
                    let s = strdup(String(v))!
                    owned.append(UnsafeMutableRawPointer(s))
                    types.append(20); values.append(UnsafePointer(s)); lengths.append(0); formats.append(0)
                case .some(.real(let v)):
                    let s = strdup("\(v)")!
                    owned.append(UnsafeMutableRawPointer(s))
                    types.append(701); values.append(UnsafePointer(s)); lengths.append(0); formats.append(0)
                case .some(.text(let v)):
                    let s = strdup(v)!
                    owned.append(UnsafeMutableRawPointer(s))
                    types.append(25); values.append(UnsafePointer(s)); lengths.append(0); formats.append(0)
                case .some(.blob(let v)):
                    let m = malloc(max(1, v.count))!
                    v.withUnsafeBytes { if let base = $0.baseAddress { m.copyMemory(from: base, byteCount: v.count) } }
                    owned.append(m)
                    types.append(17); values.append(UnsafePointer(m.assumingMemoryBound(to: CChar.self)))
                    lengths.append(Int32(v.count)); formats.append(1)
                }
            }
            sent = PQsendQueryParams(c, sql, Int32(parameters.count), types, values, lengths, formats, 0)
        }
        guard sent == 1 else { throw lost("send failed: \(String(cString: PQerrorMessage(c)).trimmingTrailingNewlines())") }

        var last: OpaquePointer? = nil
        var failure: OpaquePointer? = nil
        let deadline = Self.nowMs() + Int64(queryTimeoutMs)
        while true {
            while PQisBusy(c) == 1 {
                let remaining = deadline - Self.nowMs()
                guard remaining > 0 else {
                    if let last { PQclear(last) }
                    if let failure { PQclear(failure) }
                    throw lost("no answer from PostgreSQL within \(queryTimeoutMs) ms")
                }
                var fd = pollfd(fd: PQsocket(c), events: Int16(POLLIN), revents: 0)
                let ready = poll(&fd, 1, Int32(min(remaining, Int64(Int32.max))))
                if ready < 0 && errno == EINTR { continue }
                if ready > 0 && PQconsumeInput(c) == 0 {
                    if let last { PQclear(last) }
                    if let failure { PQclear(failure) }
                    throw lost(String(cString: PQerrorMessage(c)).trimmingTrailingNewlines())
                }
            }
            guard let r = PQgetResult(c) else { break }
            let status = PQresultStatus(r)
            if status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE {
                if failure == nil { failure = r } else { PQclear(r) }
            } else {
                if let last { PQclear(last) }
                last = r
            }
        }
        if let failure {
            if let last { PQclear(last) }
            defer { PQclear(failure) }
            throw classify(failure, sql: sql)
        }
        guard let last else { throw lost("no result from PostgreSQL") }
        if sql == "COMMIT", let tag = PQcmdStatus(last), String(cString: tag) != "COMMIT" {
            // A COMMIT of a transaction that failed is answered ROLLBACK: nothing was written.
            PQclear(last)
            throw PostgresError(sqlState: "40000", message: "the transaction was rolled back", sql: sql)
        }
        changes = Int(String(cString: PQcmdTuples(last))) ?? 0
        return last
    }

    private func lost(_ message: String) -> DatabaseUnavailableError {
        close()
        return DatabaseUnavailableError(message)
    }

    /// Connection-class errors, a server shutting down and a server that is no longer the primary
    /// (read-only transaction) drop the connection: the next batch reconnects and finds the primary.
    private func classify(_ result: OpaquePointer, sql: String) -> any Error {
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
        // The primary message only: DETAIL would quote key values (an NPI) into logs and errors.
        let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) } ?? "error"
        let connectionGone = conn.map { PQstatus($0) != CONNECTION_OK } ?? true
        if connectionGone || state.hasPrefix("08") || ["57P01", "57P02", "57P03", "25006", "53300"].contains(state) {
            return lost("\(state.isEmpty ? "" : state + ": ")\(message)")
        }
        return PostgresError(sqlState: state, message: message, sql: sql)
    }

    static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// A statement on a `PostgresConnection`: parameters are kept until it runs (PQexecParams with
/// the parameters' types: int8, float8, text, bytea), rows are read from the text-format result.
public final class PostgresStatement: StoreStatement {
    private unowned let connection: PostgresConnection
    public let sql: String
    private var parameters: [SQLiteValue?] = []
    private var result: OpaquePointer?
    private var row: Int32 = -1
    private var rows: Int32 = 0

    init(connection: PostgresConnection, sql: String) {
        self.connection = connection
        self.sql = sql
    }

    deinit { if let result { PQclear(result) } }

    public func reset() {
        clearResult()
        parameters.removeAll(keepingCapacity: true)
    }

    private func clearResult() {
        if let result { PQclear(result) }
        result = nil
        row = -1
        rows = 0
    }

    public func bind(_ value: SQLiteValue, at index: Int32) throws {
        let i = Int(index) - 1
        guard i >= 0 else { throw PostgresError(sqlState: "42P02", message: "parameter index \(index)", sql: sql) }
        if parameters.count <= i { parameters += Array(repeating: nil, count: i + 1 - parameters.count) }
        parameters[i] = value
    }

    public func bind(int value: Int64, at index: Int32) throws { try bind(.integer(value), at: index) }
    public func bind(text value: String, at index: Int32) throws { try bind(.text(value), at: index) }

    @discardableResult
    public func executeBound() throws -> Int {
        clearResult()
        let r = try connection.run(sql, parameters: parameters)
        PQclear(r)
        return connection.changes
    }

    @discardableResult
    public func step() throws -> Bool {
        if result == nil {
            result = try connection.run(sql, parameters: parameters)
            rows = PQntuples(result)
            row = 0
        } else {
            row += 1
        }
        return row < rows
    }

    private func value(_ column: Int32) -> String {
        guard let result, row >= 0, row < rows, let p = PQgetvalue(result, row, column) else { return "" }
        return String(cString: p)
    }

    public func isNull(_ column: Int32) -> Bool {
        guard let result, row >= 0, row < rows else { return true }
        return PQgetisnull(result, row, column) == 1
    }

    public func int(_ column: Int32) -> Int64 {
        let s = value(column)
        if let v = Int64(s) { return v }
        if s == "t" { return 1 }
        if s == "f" { return 0 }
        return Double(s).map { Int64($0) } ?? 0
    }

    public func double(_ column: Int32) -> Double { Double(value(column)) ?? 0 }
    public func text(_ column: Int32) -> String { value(column) }

    /// bytea in text format is `\x` and two hex digits a byte.
    public func blob(_ column: Int32) -> [UInt8] {
        guard let result, row >= 0, row < rows, let p = PQgetvalue(result, row, column) else { return [] }
        let n = Int(PQgetlength(result, row, column))
        let bytes = UnsafeRawBufferPointer(start: p, count: n)
        guard n >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x") else { return Array(bytes) }
        func hex(_ b: UInt8) -> UInt8 { b <= 57 ? b - 48 : (b | 0x20) - 87 }
        var out = [UInt8]()
        out.reserveCapacity((n - 2) / 2)
        var i = 2
        while i + 1 < n {
            out.append(hex(bytes[i]) << 4 | hex(bytes[i + 1]))
            i += 2
        }
        return out
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var s = self
        while s.last == "\n" || s.last == " " { s.removeLast() }
        return s
    }
}

extension PostgresConnection: MultiRowInserting {
    /// Parameters in one statement: PostgreSQL's protocol allows 65,535; a few thousand keep each
    /// statement's text and the server's parse of it small while a 500-event batch is still one
    /// round trip.
    static let parametersPerStatement = 6_000

    public func insertIgnoringConflicts(into table: String, columns: [String], values: [SQLiteValue]) throws -> Int {
        let width = columns.count
        precondition(width > 0 && values.count % width == 0, "values must hold whole rows")
        let rowsPerStatement = max(1, Self.parametersPerStatement / width)
        let head = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
        var inserted = 0
        var first = 0
        let rows = values.count / width
        while first < rows {
            let count = min(rowsPerStatement, rows - first)
            var sql = head
            sql.reserveCapacity(head.utf8.count + count * width * 7 + 32)
            var n = 0
            for r in 0..<count {
                sql += r == 0 ? "(" : ", ("
                for k in 0..<width {
                    n += 1
                    sql += k == 0 ? "$\(n)" : ", $\(n)"
                }
                sql += ")"
            }
            sql += " ON CONFLICT DO NOTHING"
            let slice = values[(first * width)..<((first + count) * width)].map { Optional($0) }
            let result = try run(sql, parameters: slice)
            PQclear(result)
            inserted += changes
            first += count
        }
        return inserted
    }
}
