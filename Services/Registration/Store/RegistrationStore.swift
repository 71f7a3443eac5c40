import RegistrationDomain
import LVDomain
import LVMessages
import LVStore
import LVStoreMessages

public typealias Enrollment = Lv_Registration_V1_Enrollment
public typealias AttendanceInterval = Lv_Registration_V1_AttendanceInterval
public typealias CreditClaim = Lv_Registration_V1_CreditClaim
public typealias PhysicianAttendance = Lv_Registration_V1_PhysicianAttendance

/// The registration service's SQLite store. Writes run on the database's writer thread inside
/// the group-commit transaction (a thrown error — `DomainError` — undoes just that write); reads on reader
/// threads. Rules that need no data are checked before, in `RegistrationRules`.
public final class RegistrationStore: Sendable {
    public let database: Database

    public convenience init(path: String, options: DatabaseOptions = DatabaseOptions()) throws {
        try self.init(backend: SQLiteBackend(path: path), options: options)
    }

    /// On any backend: SQLite, or PostgreSQL (`PostgresBackend`, LVStorePostgres).
    public init(backend: any DatabaseBackend, options: DatabaseOptions = DatabaseOptions()) throws {
        database = try Database(backend: backend, migrations: RegistrationSchema.migrations, options: options)
    }

    public func close() { database.close() }
}
