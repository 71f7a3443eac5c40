#if canImport(Glibc)
import Glibc
#endif
import CSQLite
import NIOPosix

extension Database {
    /// What `backup(to:)` wrote.
    public struct BackupResult: Sendable {
        public var path: String
        public var sizeBytes: UInt64
        /// `PRAGMA user_version` of the copy: the number of migrations it carries.
        public var schemaVersion: Int
    }

    /// An online, consistent copy of the database at `destination` (which must not exist):
    /// `VACUUM INTO` on a connection of its own, so the copy is one read snapshot taken when the
    /// statement starts — every write committed (and so acknowledged) before then is in it —
    /// while the writer keeps committing. Runs on NIO's blocking thread pool, never on an event
    /// loop or the cooperative pool, and does not hold one of the service's reader connections.
    /// The copy is checked with `PRAGMA quick_check` before returning.
    public func backup(to destination: String) async throws -> BackupResult {
        guard backend is SQLiteBackend else {
            throw DatabaseUnavailableError("online backup copies a SQLite file; back a PostgreSQL database up with pg_basebackup and WAL archiving (docs/OPERATIONS.md)")
        }
        let source = path
        let options = options
        return try await NIOThreadPool.singleton.runIfActive {
            if access(destination, F_OK) == 0 {
                throw SQLiteError(code: SQLITE_CANTOPEN, message: "\(destination) already exists", sql: nil)
            }
            do {
                let connection = try Database.open(path: source, options: options)
                let statement = try connection.prepare("VACUUM INTO ?")
                try statement.run([.text(destination)])
            }
            let copy = try SQLiteConnection(path: destination, readOnly: true, create: false)
            let check = try copy.scalarText("PRAGMA quick_check")
            guard check == "ok" else {
                throw SQLiteError(code: SQLITE_CORRUPT, message: "backup \(destination) fails quick_check: \(check ?? "?")", sql: nil)
            }
            let version = Int(try copy.scalarInt("PRAGMA user_version") ?? 0)
            var info = stat()
            guard stat(destination, &info) == 0 else {
                throw SQLiteError(code: SQLITE_IOERR, message: "cannot stat \(destination)", sql: nil)
            }
            return BackupResult(path: destination, sizeBytes: UInt64(info.st_size), schemaVersion: version)
        }
    }
}
