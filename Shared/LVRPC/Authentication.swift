import NIOCore

/// Who a connection authenticated as (docs/SECURITY.md): the key's id and name, its roles and the
/// scopes they grant. LVRPC only carries it; the key file, the scope table and the checks are in
/// LVSecurity, plugged in through `RPCServer.Configuration.authenticator` and an interceptor.
public struct Principal: Sendable, Hashable {
    /// The key's public id (the part of the key before the secret); never the secret.
    public let keyID: String
    /// The operator's name for the key (`lvctl admin create-key --name`).
    public let name: String
    public let roles: [String]
    public let scopes: Set<String>

    public init(keyID: String, name: String, roles: [String], scopes: Set<String>) {
        self.keyID = keyID
        self.name = name
        self.roles = roles
        self.scopes = scopes
    }
}

/// Checks the HELLO `credential` of a new connection. `peerHost` is the peer's IP address (failed
/// credentials are rate limited per address). Returns the principal, nil for a connection without a
/// credential (it may still call methods that need no scope), or the error to close the connection
/// with (UNAUTHENTICATED, or RESOURCE_EXHAUSTED with retry_after_ms).
public typealias Authenticator = @Sendable (_ credential: String, _ peerHost: String) -> Result<Principal?, RPCError>

/// Adds handlers at the front of a new connection's pipeline (closest to the socket), before the
/// protocol's own: how LVTLS puts TLS under the unchanged frame protocol. Runs on the channel's
/// event loop; use `channel.pipeline.syncOperations`.
public typealias ServerChannelSetup = @Sendable (_ channel: any Channel) throws -> Void

/// The client's counterpart: `host` is the address being connected to (for SNI and hostname checks).
public typealias ClientChannelSetup = @Sendable (_ channel: any Channel, _ host: String) throws -> Void
