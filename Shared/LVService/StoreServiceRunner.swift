import ArgumentParser
import LVRPC
import LVStore

extension ServiceRunner {
    /// The command configuration of a service executable `name` ("lv-engagement"): its abstract,
    /// the discussion every service shares (health, reflection, the ready line, SIGTERM) and the version line.
    public static func commandConfiguration(_ name: String, abstract: String) -> CommandConfiguration {
        CommandConfiguration(
            commandName: name, abstract: abstract,
            discussion: "Serves lv.health.v1.Health and lv.reflection.v1.Reflection on every port. Prints '\(name) ready rpc=HOST:PORT metrics=HOST:PORT' on stdout once listening. SIGTERM or SIGINT drains calls in flight and exits 0.",
            version: BuildInfo.versionLine(name))
    }

    /// The whole run of a service over one SQLite store (lv-registration, lv-engagement,
    /// lv-assessment): its settings with `defaultPort`, the store opened off the cooperative pool on
    /// `--database` (`postgres` makes the PostgreSQL backend; LVStorePostgres is linked by the
    /// executables only) or SQLite at `<data-dir>/<databaseFile>`, the handlers `register` adds plus `AdminService` (backup), and
    /// the database among the owned resources, so it closes after the server has drained.
    public static func runWithStore<Store: Sendable>(
        _ name: String, options: ServiceOptions, defaultPort: Int, databaseFile: String,
        postgres: (String) -> any DatabaseBackend,
        open: @escaping @Sendable (_ backend: any DatabaseBackend, _ options: DatabaseOptions) throws -> Store,
        database: (Store) -> Database,
        register: (Store, inout Router) -> Void
    ) async throws {
        let settings = try options.resolve(defaultPort: defaultPort)
        let backend = try settings.databaseBackend(databaseFile, postgres: postgres)
        let databaseOptions = settings.database
        let store = try await openStore { try open(backend, databaseOptions) }
        var router = Router()
        register(store, &router)
        AdminService(database: database(store)).register(into: &router)
        try await run(name: name, settings: settings, router: router, resources: [.database(database(store))])
    }
}
