import ArgumentParser
import LVRPC
import LVService

/// `lv-gateway`: the unified learning-validation view.
@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lv-gateway",
        abstract: "Learning Validation Gateway service: the unified learning-validation view.",
        discussion: "Serves lv.health.v1.Health and lv.reflection.v1.Reflection on every port. Prints 'lv-gateway ready rpc=HOST:PORT metrics=HOST:PORT' on stdout once listening. SIGTERM or SIGINT drains calls in flight and exits 0.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let settings = try options.resolve(defaultPort: 7400)
        let router = Router()
        try await ServiceRunner.run(name: "lv-gateway", settings: settings, router: router)
    }
}
