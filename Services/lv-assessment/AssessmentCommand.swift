import ArgumentParser
import LVRPC
import Assessment
import LVService
import LVStorePostgres

/// `lv-assessment`: instruments, responses, commitments and practice measures (Moore levels 3-6).
@main
struct AssessmentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lv-assessment",
        abstract: "Learning Validation Assessment service: instruments, responses, commitments and practice measures (Moore levels 3-6).",
        discussion: "Serves lv.health.v1.Health and lv.reflection.v1.Reflection on every port. Prints 'lv-assessment ready rpc=HOST:PORT metrics=HOST:PORT' on stdout once listening. SIGTERM or SIGINT drains calls in flight and exits 0.",
        version: BuildInfo.versionLine("lv-assessment"))

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let settings = try options.resolve(defaultPort: 7403)
        let backend = try settings.databaseBackend("assessment.sqlite", postgres: { PostgresBackend(url: $0) })
        let database = settings.database
        let store = try await ServiceRunner.openStore { try AssessmentStore(backend: backend, options: database) }
        var router = Router()
        AssessmentService(store: store).register(into: &router)
        AdminService(database: store.database).register(into: &router)
        try await ServiceRunner.run(name: "lv-assessment", settings: settings, router: router,
                                    resources: [.database(store.database)])
    }
}
