import ArgumentParser
import Engagement
import LVRPC
import LVService
import LVStorePostgres

/// `lv-engagement`: the engagement event stream (Moore levels 1-2).
@main
struct EngagementCommand: AsyncParsableCommand {
    static let configuration = ServiceRunner.commandConfiguration(
        "lv-engagement", abstract: "Learning Validation Engagement service: the engagement event stream (Moore levels 1-2).")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceRunner.runWithStore(
            "lv-engagement", options: options, defaultPort: DefaultPorts.engagement, databaseFile: "engagement.sqlite",
            postgres: { PostgresBackend(url: $0) },
            open: { try EngagementStore(backend: $0, options: $1) }, database: \.database
        ) { store, router in
            EngagementService(store: store).register(into: &router)
        }
    }
}
