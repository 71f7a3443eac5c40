import ArgumentParser
import LVRPC
import Engagement
import LVService
import LVStorePostgres

/// `lv-engagement`: the engagement event stream (Moore levels 1-2).
@main
struct EngagementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lv-engagement",
        abstract: "Learning Validation Engagement service: the engagement event stream (Moore levels 1-2).",
        discussion: "Serves lv.health.v1.Health and lv.reflection.v1.Reflection on every port. Prints 'lv-engagement ready rpc=HOST:PORT metrics=HOST:PORT' on stdout once listening. SIGTERM or SIGINT drains calls in flight and exits 0.",
        version: BuildInfo.versionLine("lv-engagement"))

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let settings = try options.resolve(defaultPort: 7402)
        let backend = try settings.databaseBackend("engagement.sqlite", postgres: { PostgresBackend(url: $0) })
        let database = settings.database
        let store = try await ServiceRunner.openStore { try EngagementStore(backend: backend, options: database) }
        var router = Router()
        EngagementService(store: store).register(into: &router)
        AdminService(database: store.database).register(into: &router)
        try await ServiceRunner.run(name: "lv-engagement", settings: settings, router: router,
                                    resources: [.database(store.database)])
    }
}
