import LVStore

/// PostgreSQL through libpq: a `postgres://` / `postgresql://` URL or a libpq conninfo string.
/// Several hosts (`postgres://h1:5432,h2:5432,h3:5432/lv?target_session_attrs=read-write`) let
/// libpq find the primary after a failover (docs/OPERATIONS.md). `lv_query_timeout_ms` (ours,
/// removed before libpq sees the URL; default 10,000) bounds every statement, COMMIT included.
public struct PostgresBackend: DatabaseBackend {
    /// What libpq is given.
    public let conninfo: String
    public let queryTimeoutMs: Int32
    public let displayName: String
    public var beginStatement: String { "BEGIN" }

    public init(url: String, queryTimeoutMs: Int32 = 10_000) {
        var timeout = queryTimeoutMs
        var info = url
        if let q = url.firstIndex(of: "?") {
            var kept: [Substring] = []
            for pair in url[url.index(after: q)...].split(separator: "&") {
                if pair.hasPrefix("lv_query_timeout_ms="), let v = Int32(pair.dropFirst("lv_query_timeout_ms=".count)) {
                    timeout = v
                } else {
                    kept.append(pair)
                }
            }
            info = String(url[..<q]) + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
        }
        conninfo = info
        self.queryTimeoutMs = max(100, timeout)
        displayName = Self.redacted(info)
    }

    /// The URL without a password (`postgres://user:secret@…` → `postgres://user@…`).
    static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else {
            return url.contains("password") ? "postgres (conninfo)" : url
        }
        let credentials = url[scheme.upperBound..<at]
        let user = credentials.split(separator: ":", maxSplits: 1).first ?? ""
        let rest = String(url[at...])
        return String(url[..<scheme.upperBound]) + user + (rest.contains("password=") ? "@…" : rest)
    }

    public func openConnection(options: DatabaseOptions) throws -> any StoreConnection {
        try PostgresConnection(conninfo: conninfo, queryTimeoutMs: queryTimeoutMs)
    }

    /// Versions are kept in `lv_schema_version`; each step runs in its own transaction under an
    /// advisory lock, so two processes starting together apply it once.
    public func migrate(_ connection: any StoreConnection, _ migrations: [Migration]) throws -> [Int] {
        for (i, m) in migrations.enumerated() where m.version != i + 1 {
            throw MigrationError.outOfOrder(expected: i + 1, found: m.version)
        }
        try connection.execute("CREATE TABLE IF NOT EXISTS lv_schema_version (version BIGINT NOT NULL, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        var applied: [Int] = []
        for m in migrations {
            try connection.execute("BEGIN")
            do {
                try connection.execute("SELECT pg_advisory_xact_lock(74021)")
                let current = Int(try connection.scalarInt("SELECT coalesce(max(version), 0) FROM lv_schema_version") ?? 0)
                guard current <= migrations.count else {
                    throw MigrationError.databaseIsNewer(database: current, known: migrations.count)
                }
                if m.version > current {
                    try connection.execute(PostgresDialect.schema(m.sql))
                    try connection.prepare("INSERT INTO lv_schema_version (version, name) VALUES (?, ?)")
                        .run([.integer(Int64(m.version)), .text(m.name)])
                    applied.append(m.version)
                }
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
        return applied
    }
}
