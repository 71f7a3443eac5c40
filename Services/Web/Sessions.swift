import Foundation
import LVAPI
import LVRPC
import Logging
import NIOCore
import WebPages

/// A signed-in browser: the API key it signed in with (presented to the gateway as the HELLO
/// credential on every call of this session, so the gateway decides what it may read), and,
/// for a physician, the one NPI it may see.
struct Session: Sendable {
    let id: String
    let csrf: String
    let physicianNPI: String?
    let client: RPCClient
    var expires: Date
    var viewer: Pages.Viewer {
        Pages.Viewer(label: physicianNPI.map { "physician \($0)" } ?? "analyst", csrfToken: csrf, physicianNPI: physicianNPI)
    }
}

/// Sessions in memory (a restart signs everyone out); each holds its own gateway client.
actor SessionStore {
    private var sessions: [String: Session] = [:]
    let lifetime: TimeInterval

    init(lifetime: TimeInterval) { self.lifetime = lifetime }

    func add(csrf: String, physicianNPI: String?, client: RPCClient) -> Session {
        let s = Session(id: Access.token(), csrf: csrf, physicianNPI: physicianNPI, client: client, expires: Date().addingTimeInterval(lifetime))
        sessions[s.id] = s
        return s
    }

    /// The session with this id, when it has not expired (expired ones are closed and forgotten).
    func get(_ id: String?) async -> Session? {
        await sweep()
        guard let id, var s = sessions[id] else { return nil }
        s.expires = Date().addingTimeInterval(lifetime)
        sessions[id] = s
        return s
    }

    func remove(_ id: String) async {
        if let s = sessions.removeValue(forKey: id) { await s.client.close() }
    }

    func closeAll() async {
        let all = sessions.values
        sessions = [:]
        for s in all { await s.client.close() }
    }

    var count: Int { sessions.count }

    private func sweep() async {
        let now = Date()
        let expired = sessions.values.filter { $0.expires < now }
        for s in expired { sessions[s.id] = nil; await s.client.close() }
    }
}
