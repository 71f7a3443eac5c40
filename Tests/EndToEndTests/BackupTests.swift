import Foundation
import LVAPI
import LVDomain
import LVMessages
import LVRPC
import NIOConcurrencyHelpers
import Testing

@Suite("backup and restore", .serialized, .timeLimit(.minutes(3)))
struct BackupTests {
    @Test("a backup taken during ingest (admin RPC and lvctl admin backup), restored into a fresh data directory, holds every event acknowledged before it began")
    func backupDuringIngest() async throws {
        let service = try RunningService("lv-engagement")
        defer { _ = service.stop() }
        let client = RPCClient(configuration: .init(host: "127.0.0.1", port: service.port, connections: 2))
        let engagement = Lv.Engagement.V1.Engagement.Client(client)
        let acked = NIOLockedValueBox<Set<String>>([])
        let stop = NIOLockedValueBox(false)
        let npis = (0..<20).map { testNPI(3000 + $0) }
        let writers = Task {
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<4 {
                    group.addTask {
                        var n = 0
                        while !stop.withLockedValue({ $0 }) {
                            var request = Lv_Engagement_V1_RecordEventsRequest()
                            let now = Int64(Date().timeIntervalSince1970 * 1000) - 1000
                            request.events = (0..<100).map { i in
                                var e = Lv_Engagement_V1_Event()
                                e.eventId = "b-w\(w)-\(n)-\(i)"
                                e.npi = npis[(n + i) % npis.count]
                                e.verb = .heartbeat
                                e.activityId = "backup"
                                e.timestampMs = now
                                return e
                            }
                            n += 1
                            guard let response = try? await engagement.recordEvents(request, options: CallOptions(timeout: .seconds(10))),
                                  response.rejected.isEmpty else { continue }
                            acked.withLockedValue { set in for e in request.events { set.insert(e.eventId) } }
                        }
                    }
                }
            }
        }
        // Ingest is running and acknowledging before the first backup begins.
        for _ in 0..<3000 where acked.withLockedValue({ $0.count }) < 1000 {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        let beforeRPC = acked.withLockedValue { $0 }
        var request = Lv_Admin_V1_BackupRequest()
        request.name = "during-ingest.sqlite"
        let backup = try await Lv.Admin.V1.Admin.Client(client).backup(request, options: CallOptions(timeout: .seconds(60)))
        #expect(backup.path.hasSuffix("/backups/during-ingest.sqlite"))
        #expect(backup.sizeBytes > 0 && backup.schemaVersion > 0)

        // The same through lvctl, still during ingest.
        let beforeCLI = acked.withLockedValue { $0 }
        let cli = try run("lvctl", ["admin", "backup", "--addr", "127.0.0.1:\(service.port)", "--name", "from-lvctl.sqlite", "--json"])
        #expect(cli.status == 0, "lvctl admin backup: \(cli.errors)")
        let cliPath = try #require((try JSONSerialization.jsonObject(with: Data(cli.output.utf8)) as? [String: Any])?["path"] as? String)
        // Writes continued while the backups were taken.
        let countAtEnd = acked.withLockedValue { $0.count }
        for _ in 0..<3000 where acked.withLockedValue({ $0.count }) < countAtEnd + 500 {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        stop.withLockedValue { $0 = true }
        await writers.value
        let all = acked.withLockedValue { $0 }

        // A name that is a path, and a name already used, are refused.
        request.name = "../escape.sqlite"
        await #expect(throws: RPCError.self) { try await Lv.Admin.V1.Admin.Client(client).backup(request) }
        request.name = "during-ingest.sqlite"
        await #expect(throws: RPCError.self) { try await Lv.Admin.V1.Admin.Client(client).backup(request) }
        await client.close()

        for (path, before) in [(backup.path, beforeRPC), (cliPath, beforeCLI)] {
            // Restore: a fresh data directory whose database file is the backup.
            let fresh = FileManager.default.temporaryDirectory.appendingPathComponent("lv-restore-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: fresh, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: path, toPath: fresh.appendingPathComponent("engagement.sqlite").path)
            let restored = try RunningService("lv-engagement", dataDirectory: fresh)
            let stored = Set(try await DurabilityTests().allEventIDs(port: restored.port, activity: "backup"))
            #expect(restored.stop() == 0)
            let missing = before.subtracting(stored)
            #expect(missing.isEmpty, "\(missing.count) events acknowledged before the backup began are not in it, e.g. \(Array(missing.prefix(3)))")
            #expect(stored.isSubset(of: all), "the backup holds an event never acknowledged")
            #expect(stored.count < all.count, "writes kept flowing after the backup, so it cannot hold them all")
        }
    }
}
