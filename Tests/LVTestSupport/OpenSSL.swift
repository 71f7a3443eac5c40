import Foundation

/// Runs /usr/bin/openssl with `args` in `dir` (test certificates are made per run, nothing committed).
public func openssl(_ args: [String], in dir: URL) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    p.arguments = args
    p.currentDirectoryURL = dir
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw OpenSSLFailure(arguments: args) }
}

public struct OpenSSLFailure: Error, CustomStringConvertible {
    public let arguments: [String]
    public var description: String { "openssl \(arguments.joined(separator: " ")) failed" }
}
