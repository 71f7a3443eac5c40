import Foundation

/// A vector of docs/protocol-vectors.json (made by the official Python protobuf, read by every
/// implementation): a frame's bytes and either its header fields (`frame`) or the reaction the
/// protocol specifies to it (`expect`). LVRPCTests runs them in process, LVSecurityTests inside TLS.
public struct ProtocolVector: Decodable, Sendable, CustomStringConvertible {
    public struct Section: Decodable, Sendable {
        public let type: String?
        public let raw_hex: String?
    }
    public struct FrameSpec: Decodable, Sendable {
        public let type: String
        public let stream_id: UInt32
        public let meta: Section?
        public let payload: Section?
    }
    public struct Reply: Decodable, Sendable {
        public let type: String
        public let stream_id: UInt32?
        public let code: Int32?
        /// For GOAWAY: the `GoAway.last_stream_id` expected (the highest stream id accepted).
        public let last_stream_id: UInt32?
    }
    public struct Expect: Decodable, Sendable {
        public let send_after_hello: Bool
        public let reply: Reply
        public let then: Reply?
        public let closes: Bool
        /// Streams of calls the server may have finished, and answered, before it met the error the
        /// vector is about: each may get one RESPONSE before `reply` (docs/PROTOCOL.md §9).
        public let may_answer_first: [UInt32]?

        /// Whether a frame of `type` on `streamID`, read while waiting for `reply`, is an allowed
        /// earlier answer (not yet in `answered`, which it is then added to).
        public func answeredFirst(type: UInt8, streamID: UInt32, answered: inout [UInt32]) -> Bool {
            guard type == 4, let allowed = may_answer_first, allowed.contains(streamID), !answered.contains(streamID),
                  !(reply.type == "RESPONSE" && reply.stream_id == streamID) else { return false }
            answered.append(streamID)
            return true
        }
    }
    public let name: String
    public let hex: String
    public let frame: FrameSpec?
    public let expect: Expect?
    public let then_zero_bytes: Int?

    /// The vector's name (how a parameterized test shows its argument).
    public var description: String { name }
    public var bytes: [UInt8] { Self.bytes(hex) }

    public static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    public static let all: [ProtocolVector] = {
        struct File: Decodable { let vectors: [ProtocolVector] }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/protocol-vectors.json")
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).vectors
    }()
    /// The vectors of valid frames (header fields to check).
    public static var frames: [ProtocolVector] { all.filter { $0.frame != nil } }
    /// The vectors of behaviours (a reaction to check).
    public static var behaviours: [ProtocolVector] { all.filter { $0.expect != nil } }
}
