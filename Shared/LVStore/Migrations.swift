/// One schema step. Versions start at 1 and increase by one; a step is never edited once
/// released — a change is a new step.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(_ version: Int, _ name: String, _ sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

public enum MigrationError: Error, CustomStringConvertible, Equatable {
    case outOfOrder(expected: Int, found: Int)
    case databaseIsNewer(database: Int, known: Int)

    public var description: String {
        switch self {
        case .outOfOrder(let e, let f): return "migration versions must be 1, 2, 3…: expected \(e), found \(f)"
        case .databaseIsNewer(let d, let k):
            return "the database is at schema version \(d) but this build knows only up to \(k); refusing to run an older binary on it"
        }
    }
}

/// Applies migrations in order, each in its own transaction, recording the version in
/// `PRAGMA user_version` inside that transaction so a crash never leaves a half-applied step.
public enum Migrator {
    /// Returns the versions that were applied now.
    @discardableResult
    public static func migrate(_ db: SQLiteConnection, _ migrations: [Migration]) throws -> [Int] {
        for (i, m) in migrations.enumerated() where m.version != i + 1 {
            throw MigrationError.outOfOrder(expected: i + 1, found: m.version)
        }
        let current = Int(try db.scalarInt("PRAGMA user_version") ?? 0)
        guard current <= migrations.count else {
            throw MigrationError.databaseIsNewer(database: current, known: migrations.count)
        }
        var applied: [Int] = []
        for m in migrations where m.version > current {
            try db.execute("BEGIN IMMEDIATE")
            do {
                try db.execute(m.sql)
                try db.execute("PRAGMA user_version = \(m.version)")
                try db.execute("COMMIT")
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
            applied.append(m.version)
        }
        return applied
    }
}
