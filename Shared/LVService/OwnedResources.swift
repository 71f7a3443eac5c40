import LVRPC
import LVStore
import ServiceLifecycle

/// A service's database as a swift-service-lifecycle `Service`: it stays open until graceful
/// shutdown (or the group's cancellation), then runs what is queued, joins its writer and reader
/// threads and closes its files. Put it before the RPC server in the `ServiceGroup` (`ServiceRunner`
/// does): services stop in reverse order, so it closes only after the server has drained.
public struct DatabaseService: Service {
    public let database: Database

    public init(_ database: Database) { self.database = database }

    public func run() async throws {
        try? await gracefulShutdown()
        await database.shutdown()
    }
}

/// An `RPCClient` to another service as a `Service`: its connections close on graceful shutdown,
/// after the server whose handlers use it has drained (it comes before the server in the group).
public struct RPCClientService: Service {
    public let client: RPCClient

    public init(_ client: RPCClient) { self.client = client }

    public func run() async throws {
        try? await gracefulShutdown()
        await client.close()
    }
}
