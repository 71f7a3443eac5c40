import ArgumentParser
import LVRPC
import LVService
import LVStorePostgres
import Registration

/// `lv-registration`: physicians, activities, sessions, enrollment, attendance and credit (Moore level 1).
@main
struct RegistrationCommand: AsyncParsableCommand {
    static let configuration = ServiceRunner.commandConfiguration(
        "lv-registration", abstract: "Learning Validation Registration service: physicians, activities, sessions, enrollment, attendance and credit (Moore level 1).")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceRunner.runWithStore(
            "lv-registration", options: options, defaultPort: DefaultPorts.registration, databaseFile: "registration.sqlite",
            postgres: { PostgresBackend(url: $0) },
            open: { try RegistrationStore(backend: $0, options: $1) }, database: \.database
        ) { store, router in
            RegistrationService(store: store).register(into: &router)
        }
    }
}
