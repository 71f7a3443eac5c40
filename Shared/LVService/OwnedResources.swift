import LVRPC
import LVStore
import ServiceLifecycle

/// Something the handlers use, as a swift-service-lifecycle `Service`: it stays open until graceful
/// shutdown (or the group's cancellation), then closes. `ServiceRunner` puts these before the RPC
/// server in its `ServiceGroup`; services stop in reverse order, so they close only after the
/// server has drained.
public struct OwnedResource: Service {
    private let close: @Sendable () async -> Void

    public init(close: @escaping @Sendable () async -> Void) { self.close = close }

    /// A service's database: on shutdown it runs what is queued, joins its writer and reader
    /// threads and closes its files.
    public static func database(_ database: Database) -> OwnedResource {
        OwnedResource { await database.shutdown() }
    }

    /// An `RPCClient` to another service: its connections close on shutdown.
    public static func client(_ client: RPCClient) -> OwnedResource {
        OwnedResource { await client.close() }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}
