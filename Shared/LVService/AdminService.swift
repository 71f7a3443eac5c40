#if canImport(Glibc)
import Glibc
#endif
import LVAPI
import LVMessages
import LVRPC
import LVStore
import Logging

/// `lv.admin.v1.Admin`: operator methods of a service with a database. Backups go to
/// `<data-dir>/backups/`; the caller names only the file, never a path, so the RPC cannot
/// write anywhere else on the host.
public struct AdminService: Lv.Admin.V1.Admin.ServiceProtocol {
    let database: Database
    let backupDirectory: String
    /// "registration" for registration.sqlite: the default backup name's prefix.
    let databaseName: String

    public init(database: Database) {
        self.database = database
        let path = database.path
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let file = slash.map { String(path[path.index(after: $0)...]) } ?? path
        self.backupDirectory = directory + "/backups"
        self.databaseName = file.hasSuffix(".sqlite") ? String(file.dropLast(7)) : file
    }

    public func backup(_ request: Lv_Admin_V1_BackupRequest, context: ServerContext) async throws -> Lv_Admin_V1_BackupResponse {
        guard database.backend is SQLiteBackend else {
            throw RPCError(.failedPrecondition, "online backup copies a SQLite file; this service's database is PostgreSQL: "
                           + "back it up with pg_basebackup and WAL archiving (docs/OPERATIONS.md)")
        }
        let snapshot = Self.nowMillis()
        let name = request.name.isEmpty ? "\(databaseName)-\(Self.stamp(snapshot)).sqlite" : request.name
        let allowed = name.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: ".") || c == UInt8(ascii: "-")
                || c == UInt8(ascii: "_")
        }
        guard allowed, !name.hasPrefix("."), name.utf8.count <= 100 else {
            throw RPCError.invalidArgument(field: "name", rule: "format",
                                           "letters, digits, '.', '-' and '_' only, not starting with '.', at most 100 characters")
        }
        if mkdir(backupDirectory, 0o750) != 0 && errno != EEXIST {
            throw RPCError(.internal, "cannot create \(backupDirectory): \(String(cString: strerror(errno)))")
        }
        let destination = "\(backupDirectory)/\(name)"
        if access(destination, F_OK) == 0 {
            throw RPCError(.alreadyExists, "a backup named \(name) already exists in \(backupDirectory)")
        }
        let result: Database.BackupResult
        do {
            result = try await database.backup(to: destination)
        } catch {
            unlink(destination)
            throw RPCError(.internal, "backup failed: \(error)")
        }
        context.logger.info("backup written", metadata: ["path": "\(result.path)", "bytes": "\(result.sizeBytes)"])
        var response = Lv_Admin_V1_BackupResponse()
        response.path = result.path.hasPrefix("/") ? result.path : Self.absolute(result.path)
        response.sizeBytes = result.sizeBytes
        response.schemaVersion = UInt32(result.schemaVersion)
        response.snapshotUnixMs = snapshot
        return response
    }

    static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec / 1_000_000)
    }

    /// 20261127T103113Z
    static func stamp(_ ms: Int64) -> String {
        var seconds = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(pad(parts.tm_year + 1900, 4))\(pad(parts.tm_mon + 1, 2))\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2))\(pad(parts.tm_min, 2))\(pad(parts.tm_sec, 2))Z"
    }

    static func absolute(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return cwd + "/" + (path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
    }
}
