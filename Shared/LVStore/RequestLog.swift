/// Client request ids for creates: the request and its response are stored with the id in the
/// same transaction as the write, so a retry gets the same response and a reused id with a
/// different request is refused. Services add `RequestLog.schema` to a migration.
public enum RequestLog {
    public static let schema = """
        CREATE TABLE request_log (
            request_id TEXT PRIMARY KEY,
            method TEXT NOT NULL,
            request BLOB NOT NULL,
            response BLOB NOT NULL,
            created_ms INTEGER NOT NULL
        ) WITHOUT ROWID;
        """

    public struct Reused: Error, Sendable {
        public let requestID: String
        public let method: String
    }

    /// Runs `perform` once per request id. Returns the response bytes and whether they were replayed.
    public static func once(_ c: any StoreConnection, requestID: String, method: String, request: [UInt8], now: Int64,
                            perform: () throws -> [UInt8]) throws -> (response: [UInt8], replayed: Bool) {
        var stored: (String, [UInt8], [UInt8])?
        try c.prepare("SELECT method, request, response FROM request_log WHERE request_id = ?")
            .query([.text(requestID)]) { row in stored = (row.text(0), row.blob(1), row.blob(2)) }
        if let (storedMethod, storedRequest, response) = stored {
            guard storedMethod == method, storedRequest == request else { throw Reused(requestID: requestID, method: storedMethod) }
            return (response, true)
        }
        let response = try perform()
        try c.prepare("INSERT INTO request_log (request_id, method, request, response, created_ms) VALUES (?, ?, ?, ?, ?)")
            .run([.text(requestID), .text(method), .blob(request), .blob(response), .integer(now)])
        return (response, false)
    }
}
