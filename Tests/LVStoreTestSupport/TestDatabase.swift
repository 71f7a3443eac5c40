import Foundation
import LVStore
import LVStorePostgres
import NIOConcurrencyHelpers

/// The backend the store and service suites run on: SQLite at the path they give (the default),
/// or, when `LV_TEST_DATABASE` holds a postgres:// URL (`make test-postgres` starts a throwaway
/// server, scripts/pg-throwaway.py), a fresh PostgreSQL database on that server for each store.
public enum TestDatabase {
    /// The admin URL of the test server, when the suites run on PostgreSQL.
    public static var postgresURL: String? {
        guard let url = ProcessInfo.processInfo.environment["LV_TEST_DATABASE"],
              url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else { return nil }
        return url
    }

    public static var isPostgres: Bool { postgresURL != nil }

    private static let counter = NIOLockedValueBox(0)

    /// SQLite at `path`, or a new, empty PostgreSQL database; `icuLocale` (e.g. "en-US") creates
    /// that database with an ICU collation instead of the server's default (the throwaway server's
    /// is C), to show that the stores page in byte order whatever the database's collation.
    public static func backend(path: String, icuLocale: String? = nil) throws -> any DatabaseBackend {
        guard let admin = postgresURL else { return SQLiteBackend(path: path) }
        return PostgresBackend(url: try createDatabase(admin: admin, icuLocale: icuLocale))
    }

    /// Creates `lv_t<pid>_<n>` on the server at `admin` and returns its URL.
    public static func createDatabase(admin: String, icuLocale: String? = nil) throws -> String {
        let n = counter.withLockedValue { $0 += 1; return $0 }
        let name = "lv_t\(getpid())_\(n)"
        let connection = try PostgresConnection(conninfo: admin, queryTimeoutMs: 30_000)
        defer { connection.close() }
        try connection.execute("DROP DATABASE IF EXISTS \(name)")
        if let icuLocale {
            try connection.execute("CREATE DATABASE \(name) TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '\(icuLocale)'")
        } else {
            try connection.execute("CREATE DATABASE \(name)")
        }
        return replacingDatabase(in: admin, with: name)
    }

    /// `postgres://user@host:port/db?x` with `db` replaced.
    static func replacingDatabase(in url: String, with name: String) -> String {
        let scheme = url.range(of: "://")!
        let afterScheme = url[scheme.upperBound...]
        let query = afterScheme.firstIndex(of: "?")
        let authority = afterScheme[..<(query ?? afterScheme.endIndex)]
        let host = authority.split(separator: "/", maxSplits: 1).first ?? authority
        return String(url[..<scheme.upperBound]) + host + "/" + name + (query.map { String(afterScheme[$0...]) } ?? "")
    }
}
