import ArgumentParser
import LVRPC
import LVService
import LVStorePostgres
import Registration

/// `lv-registration`: physicians, activities, sessions, enrollment, attendance and credit (Moore level 1).
@main
struct RegistrationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lv-registration",
        abstract: "Learning Validation Registration service: physicians, activities, sessions, enrollment, attendance and credit (Moore level 1).",
        discussion: "Serves lv.health.v1.Health and lv.reflection.v1.Reflection on every port. Prints 'lv-registration ready rpc=HOST:PORT metrics=HOST:PORT' on stdout once listening. SIGTERM or SIGINT drains calls in flight and exits 0.",
        version: BuildInfo.versionLine("lv-registration"))

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let settings = try options.resolve(defaultPort: 7401)
        let backend = try settings.databaseBackend("registration.sqlite", postgres: { PostgresBackend(url: $0) })
        let database = settings.database
        let store = try await ServiceRunner.openStore { try RegistrationStore(backend: backend, options: database) }
        var router = Router()
        RegistrationService(store: store).register(into: &router)
        AdminService(database: store.database).register(into: &router)
        try await ServiceRunner.run(name: "lv-registration", settings: settings, router: router,
                                    resources: [.database(store.database)])
    }
}
