import NIOCore

/// The frame types of docs/PROTOCOL.md §2.
public enum FrameType: UInt8, Sendable, CaseIterable {
    case hello = 1
    case helloAck = 2
    case request = 3
    case response = 4
    case cancel = 5
    case ping = 6
    case pong = 7
    case goAway = 8
}

/// The fixed 16-byte big-endian header that starts every frame (docs/PROTOCOL.md §1).
///
///     0      2       3      4       5         6            8           12             16
///     | "LV" | ver=1 | type | flags | reserved | meta length | stream id | payload length |
public struct FrameHeader: Sendable, Hashable {
    public static let size = 16
    public static let magic: UInt16 = 0x4C56 // "LV"
    public static let version: UInt8 = 1

    /// The raw type byte: a value outside `FrameType` is an unknown type, which is skipped.
    public var type: UInt8
    public var flags: UInt8
    public var metaLength: UInt16
    public var streamID: UInt32
    public var payloadLength: UInt32

    public init(type: UInt8, flags: UInt8 = 0, metaLength: UInt16, streamID: UInt32, payloadLength: UInt32) {
        self.type = type
        self.flags = flags
        self.metaLength = metaLength
        self.streamID = streamID
        self.payloadLength = payloadLength
    }

    /// Bytes after the header: meta plus payload.
    public var bodyLength: Int { Int(metaLength) + Int(payloadLength) }
}

/// One decoded frame; `meta` and `payload` are slices of the received bytes.
public struct Frame: Sendable, Hashable {
    public var type: FrameType
    public var flags: UInt8
    public var streamID: UInt32
    public var meta: ByteBuffer
    public var payload: ByteBuffer
    /// Bytes of the server's `BodyBudget` this frame holds; whoever keeps the frame releases them.
    public var reservedBytes = 0

    public init(type: FrameType, flags: UInt8 = 0, streamID: UInt32, meta: ByteBuffer, payload: ByteBuffer) {
        self.type = type
        self.flags = flags
        self.streamID = streamID
        self.meta = meta
        self.payload = payload
    }
}

/// Size limits applied to the header before any body byte is buffered (docs/PROTOCOL.md §5).
public struct FrameLimits: Sendable, Hashable {
    /// Default largest meta+payload of one frame: 4 MiB.
    public static let defaultMaxFrameSize = 4 * 1024 * 1024
    /// Default hard cap: a frame declaring more than this closes the connection.
    public static let defaultHardCap = 64 * 1024 * 1024

    /// Frames with a larger body are skipped and, if they are REQUESTs, refused with RESOURCE_EXHAUSTED.
    public var maxFrameSize: Int
    /// Frames with a larger body close the connection: skipping them would tie it up too long.
    public var hardCap: Int

    public init(maxFrameSize: Int = FrameLimits.defaultMaxFrameSize, hardCap: Int = FrameLimits.defaultHardCap) {
        self.maxFrameSize = maxFrameSize
        self.hardCap = max(hardCap, maxFrameSize)
    }
}
