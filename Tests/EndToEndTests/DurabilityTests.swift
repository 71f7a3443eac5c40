import Foundation
import LVAPI
import LVDomain
import LVMessages
import LVRPC
import NIOConcurrencyHelpers
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("durability", .serialized, .timeLimit(.minutes(3)))
struct DurabilityTests {
    @Test("SIGKILL while recording, three times: every acknowledged event is present exactly once after each restart")
    func sigkill() async throws {
        var service = try RunningService("lv-engagement")
        let dataDirectory = service.dataDirectory
        var acknowledged: Set<String> = []
        let npis = (0..<50).map { testNPI(1000 + $0) }
        for round in 0..<3 {
            let client = RPCClient(configuration: .init(host: "127.0.0.1", port: service.port, connections: 2))
            let engagement = Lv_Engagement_V1_EngagementClient(client)
            let acked = NIOLockedValueBox<Set<String>>([])
            let writers = Task {
                await withTaskGroup(of: Void.self) { group in
                    for w in 0..<8 {
                        group.addTask {
                            var n = 0
                            while true {
                                var request = Lv_Engagement_V1_RecordEventsRequest()
                                let now = Int64(Date().timeIntervalSince1970 * 1000) - 1000
                                request.events = (0..<200).map { i in
                                    var e = Lv_Engagement_V1_Event()
                                    e.eventId = "r\(round)-w\(w)-\(n)-\(i)"
                                    e.npi = npis[(n + i) % npis.count]
                                    e.verb = .heartbeat
                                    e.activityId = "durability"
                                    e.timestampMs = now
                                    return e
                                }
                                n += 1
                                guard let response = try? await engagement.recordEvents(request, options: CallOptions(timeout: .seconds(10))) else {
                                    return // the server is gone: this batch was never acknowledged
                                }
                                #expect(response.rejected.isEmpty)
                                acked.withLockedValue { set in for e in request.events { set.insert(e.eventId) } }
                            }
                        }
                    }
                }
            }
            // Wait until writes are being acknowledged (a loaded CI machine may take a while to get
            // there), let more pile up for a random moment, then kill without warning.
            for _ in 0..<3000 where acked.withLockedValue({ $0.count }) < 2 * 200 {
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            try await Task.sleep(nanoseconds: UInt64.random(in: 20...250) * 1_000_000)
            kill(service.process.processIdentifier, SIGKILL)
            service.process.waitUntilExit()
            await writers.value
            await client.close()
            let ackedThisRound = acked.withLockedValue { $0 }
            #expect(!ackedThisRound.isEmpty, "round \(round): nothing was acknowledged before the kill")
            acknowledged.formUnion(ackedThisRound)

            service = try RunningService("lv-engagement", dataDirectory: dataDirectory)
            let stored = try await allEventIDs(port: service.port)
            let storedSet = Set(stored)
            #expect(storedSet.count == stored.count, "an event is stored twice")
            let missing = acknowledged.subtracting(storedSet)
            #expect(missing.count == 0, "round \(round): acknowledged events lost, e.g. \(Array(missing.prefix(3)))")
        }
        #expect(service.stop() == 0)
    }

    func allEventIDs(port: Int, activity: String = "durability") async throws -> [String] {
        let client = RPCClient(host: "127.0.0.1", port: port)
        let engagement = Lv_Engagement_V1_EngagementClient(client)
        var ids: [String] = []
        var request = Lv_Engagement_V1_ListEventsRequest()
        request.activityId = activity
        request.pageSize = 1000
        repeat {
            let page = try await engagement.listEvents(request)
            ids += page.events.map(\.eventId)
            request.pageToken = page.nextPageToken
        } while !request.pageToken.isEmpty
        await client.close()
        return ids
    }
}
