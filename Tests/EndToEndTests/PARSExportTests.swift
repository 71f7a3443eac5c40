import Foundation
import LVAPI
import LVMessages
import LVRPC
import RegistrationDomain
import Simulation
import Testing

/// The jointly accredited sepsis course through the real services and the gateway's ExportPARS:
/// physicians, nurses and pharmacists each reported with their own credit type and identifiers.
@Suite("PARS export of a jointly accredited activity", .serialized, .timeLimit(.minutes(3)))
struct PARSExportTests {
    @Test("each profession's rows hold its credit type and identifiers; MOC only for passing physicians; consent honoured")
    func jointlyAccredited() async throws {
        let registration = try RunningService("lv-registration")
        let engagement = try RunningService("lv-engagement")
        let assessment = try RunningService("lv-assessment")
        let gateway = try RunningService("lv-gateway", extraArguments: [
            "--registration-addr", "127.0.0.1:\(registration.port)", "--engagement-addr", "127.0.0.1:\(engagement.port)",
            "--assessment-addr", "127.0.0.1:\(assessment.port)"])
        defer { for s in [gateway, registration, engagement, assessment] { _ = s.stop() } }

        let clients = [registration, engagement, assessment].map { RPCClient(host: "127.0.0.1", port: $0.port) }
        var config = CMESimulation.Configuration()
        (config.activityID, config.participants, config.comparison, config.seed, config.course) = ("pars-sepsis", 40, 0, 5, .sepsis)
        try await CMESimulation(configuration: config, registration: clients[0], engagement: clients[1], assessment: clients[2]).run()
        for c in clients { await c.close() }

        let client = RPCClient(host: "127.0.0.1", port: gateway.port)
        var r = Lv_Gateway_V1_ExportPARSRequest()
        r.activityId = "pars-sepsis"
        let export = try await Lv.Gateway.V1.Gateway.Client(client).exportPars(r, options: CallOptions(timeout: .seconds(30)))
        await client.close()

        let rows = export.learnerFile.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(!rows.isEmpty && rows.count == Int(export.learnerRows))
        #expect(rows.allSatisfy { $0.count == PARSExport.learnerColumns.count })
        let column = Dictionary(uniqueKeysWithValues: PARSExport.learnerColumns.enumerated().map { ($1, $0) })
        func cell(_ row: [String], _ name: String) -> String { row[column[name]!] }
        let professions = Set(rows.map { cell($0, "profession") })
        #expect(professions == ["PHYSICIAN", "NURSE", "PHARMACIST"], "\(professions)")
        for row in rows {
            #expect(cell(row, "provider_activity_id") == "pars-sepsis")
            #expect(cell(row, "npi").count == 10 && cell(row, "birth_month").count == 2 && cell(row, "completion_date").count == 10)
            switch (cell(row, "profession"), cell(row, "credit_type")) {
            case ("PHYSICIAN", "AMA_PRA_1"), ("NURSE", "ANCC"):
                #expect(cell(row, "nabp_eprofile_id").isEmpty && cell(row, "acpe_uan").isEmpty && cell(row, "board").isEmpty)
            case ("PHARMACIST", "ACPE"):
                #expect(cell(row, "nabp_eprofile_id").count == 7 && cell(row, "acpe_uan") == "JA4008162-0000-26-012-L01-P", "\(row)")
            case ("PHYSICIAN", "MOC"):
                #expect(cell(row, "board") == "ABIM" && !cell(row, "board_id").isEmpty && cell(row, "amount") == "3.00")
                let npi = cell(row, "npi")
                #expect(export.moc.contains { $0.npi == npi && $0.passed }, "MOC row for a learner who did not pass: \(npi)")
            default:
                Issue.record("unexpected profession and credit type: \(row)")
            }
        }
        // Learner 7 of every ten gave no consent (the simulator's rule): never in the file.
        #expect(!rows.contains { cell($0, "npi") == CMESimulation.npi(7, .physician) })
        // Failed MOC results carry feedback: the items missed, each with its objective's text.
        for m in export.moc where m.assessed && !m.passed {
            #expect(!m.missed.isEmpty && m.missed.allSatisfy { !$0.objectiveText.isEmpty }, "\(m)")
        }
        let activity = export.activityFile.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        #expect(activity.count == PARSExport.activityColumns.count)
        #expect(activity[5] == "AMA_PRA_1:3.00;ANCC:3.00;ACPE:3.00;IPCE:3.00" && activity[14].hasPrefix("ABIM:3.00"))
    }
}
