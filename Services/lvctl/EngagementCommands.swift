import ArgumentParser
import EngagementDomain
import Foundation
import LVJSON
import LVAPI
import LVMessages
import LVRPC

/// `lvctl engagement …`.
struct EngagementCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engagement",
        abstract: "Engagement events (lv-engagement, default \(DefaultPorts.loopback(DefaultPorts.engagement))).",
        subcommands: [ImportXAPI.self])
}

struct ImportXAPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-xapi",
        abstract: "Send the xAPI statements of a JSON file (an array, or {\"statements\": [...]}) as engagement events.",
        discussion: "Mapping: docs/ENGAGEMENT.md. Statements that cannot be mapped are listed with the reason; importing the same file again stores nothing twice.")

    @Argument(help: "The statements file.") var file: String
    @Option(name: .customLong("addr"), help: "lv-engagement address (env LV_ENGAGEMENT_ADDR; default \(DefaultPorts.loopback(DefaultPorts.engagement))).") var address: String?
    @Option(help: "Put every event in this activity instead of the statement's parent activity.") var activity: String?
    @Option(help: "Events per RecordEvents call.") var batch = 500
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup(title: "Credentials and TLS") var security: ClientSecurityOptions

    func run() async throws {
        let data = try StrictInput.read(file)
        do { _ = try JSONValue.parse(bytes: Array(data)) } catch { throw ValidationError("\(file): \(error)") }
        let parsed = try JSONSerialization.jsonObject(with: data)
        guard let statements = (parsed as? [[String: Any]]) ?? ((parsed as? [String: Any])?["statements"] as? [[String: Any]]) else {
            throw ValidationError("\(file): expected a JSON array of statements or {\"statements\": [...]}")
        }
        let (events, unmapped) = XAPIMapping.map(statements, activityOverride: activity)
        let target = ServerTarget(address: address ?? ProcessEnvironment.value("LV_ENGAGEMENT_ADDR") ?? DefaultPorts.loopback(DefaultPorts.engagement), timeout: 30)
        var accepted = 0, duplicates = 0
        var rejected: [(Int, String)] = []
        let size = max(1, min(batch, 5_000))
        do { try await target.withClient { client in
            let engagement = Lv.Engagement.V1.Engagement.Client(client)
            for start in stride(from: 0, to: events.count, by: size) {
                var request = Lv_Engagement_V1_RecordEventsRequest()
                request.events = Array(events[start..<min(start + size, events.count)])
                let response = try await engagement.recordEvents(request)
                accepted += Int(response.accepted)
                duplicates += Int(response.duplicates)
                rejected += response.rejected.map { (start, "\($0.field) [\($0.rule)]: \($0.description)") }
            }
        } } catch {
            throw ErrorJSON.fail(error, command: "engagement import-xapi", json: json)
        }
        if json {
            printJSON(ImportReport(statements: statements.count, accepted: accepted, duplicates: duplicates,
                                   rejected: rejected.map(\.1), unmapped: unmapped.map { "statement \($0.index): \($0.reason)" }))
        } else {
            print("\(statements.count) statements: \(accepted) stored, \(duplicates) already stored, \(rejected.count) rejected, \(unmapped.count) not mapped")
            for u in unmapped { print("  not mapped: statement \(u.index): \(u.reason)") }
            for r in rejected { print("  rejected: \(r.1)") }
        }
    }
}

struct ImportReport: Encodable {
    let statements: Int
    let accepted: Int
    let duplicates: Int
    let rejected: [String]
    let unmapped: [String]
}
