import Foundation
import LVAPI
import LVMessages
import LVRPC
import Testing

@Suite("xAPI import through lv-engagement", .serialized, .timeLimit(.minutes(3)))
struct EngagementImportTests {
    @Test("lvctl engagement import-xapi stores the mappable statements once and reports the rest; the summary reflects them")
    func importAndSummarize() async throws {
        let service = try RunningService("lv-engagement")
        defer { _ = service.stop() }
        let file = root.appendingPathComponent("Tests/Fixtures/xapi-statements.json").path
        let first = try run("lvctl", ["engagement", "import-xapi", file, "--addr", "127.0.0.1:\(service.port)", "--json"])
        #expect(first.status == 0, "\(first.errors)")
        let report = try JSONSerialization.jsonObject(with: Data(first.output.utf8)) as? [String: Any]
        #expect(report?["accepted"] as? Int == 7)
        #expect((report?["unmapped"] as? [String])?.count == 3)
        let again = try run("lvctl", ["engagement", "import-xapi", file, "--addr", "127.0.0.1:\(service.port)", "--json"])
        let second = try JSONSerialization.jsonObject(with: Data(again.output.utf8)) as? [String: Any]
        #expect(second?["accepted"] as? Int == 0 && second?["duplicates"] as? Int == 7)

        let client = RPCClient(host: "127.0.0.1", port: service.port)
        var request = Lv_Engagement_V1_GetEngagementSummaryRequest()
        request.activityId = "hf-2026"
        request.scheduledMinutes = 120
        let summary = try await Lv.Engagement.V1.Engagement.Client(client).getEngagementSummary(request)
        await client.close()
        let p = try #require(summary.physicians.first)
        #expect(summary.physicians.count == 1)
        #expect(p.activeMinutes == 55.5)
        #expect(p.mediaMinutes == 12)
        #expect(p.questionsAsked == 1 && p.downloads == 1 && p.ratingCount == 1 && p.meanRating == 4)
        #expect(p.pollsAnswered == 1 && p.pollsOffered == 0)
        #expect(p.events == 7)
    }
}
