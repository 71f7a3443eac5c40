import ArgumentParser
import Assessment
import LVRPC
import LVService
import LVStorePostgres

/// `lv-assessment`: instruments, responses, commitments and practice measures (Moore levels 3-6).
@main
struct AssessmentCommand: AsyncParsableCommand {
    static let configuration = ServiceRunner.commandConfiguration(
        "lv-assessment", abstract: "Learning Validation Assessment service: instruments, responses, commitments and practice measures (Moore levels 3-6).")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceRunner.runWithStore(
            "lv-assessment", options: options, defaultPort: DefaultPorts.assessment, databaseFile: "assessment.sqlite",
            postgres: { PostgresBackend(url: $0) },
            open: { try AssessmentStore(backend: $0, options: $1) }, database: \.database
        ) { store, router in
            AssessmentService(store: store).register(into: &router)
        }
    }
}
