import Foundation
import Logging
import LVMessages
import LVRPC

extension ServerContext {
    /// The context of a handler method a test calls directly (no connection, no deadline).
    public static var test: ServerContext {
        ServerContext(method: MethodDescriptor(service: "t", method: "t", requestType: "", responseType: ""),
                      requestID: "test", logger: Logger(label: "test"))
    }
}

/// The path of `file` in a new, empty temporary directory (a store of its own for one test).
public func temporaryStorePath(_ prefix: String, file: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(file).path
}
