import NIOConcurrencyHelpers
import NIOCore

/// What the decoder hands to the connection handler.
public enum InboundFrame: Sendable, Hashable {
    case frame(Frame)
    /// A frame whose type byte this version does not know; its body was skipped.
    case unknownType(UInt8, streamID: UInt32)
    /// A frame larger than the frame limit but under the hard cap; its body is being skipped.
    case oversized(type: UInt8, streamID: UInt32, bodyLength: Int)
    /// A frame within the limits, but the server's budget for buffered bodies is spent; its body is being skipped.
    case overBudget(type: UInt8, streamID: UInt32, bodyLength: Int)
    /// The byte stream cannot be trusted any more; the connection must close.
    case violation(ProtocolViolation)
}

/// Connection-fatal framing errors (docs/PROTOCOL.md §6).
public enum ProtocolViolation: Error, Sendable, Hashable, CustomStringConvertible {
    case badMagic(UInt16)
    case unsupportedVersion(UInt8)
    case frameTooLarge(bodyLength: Int, hardCap: Int)

    public var description: String {
        switch self {
        case .badMagic(let m): return "bad magic 0x\(String(m, radix: 16)); expected 0x4c56 (\"LV\")"
        case .unsupportedVersion(let v): return "protocol version \(v) is not supported; this server speaks 1"
        case .frameTooLarge(let n, let cap): return "frame body of \(n) bytes exceeds the hard cap of \(cap) bytes"
        }
    }

    public var status: StatusCode {
        switch self {
        case .badMagic: return .invalidArgument
        case .unsupportedVersion: return .unimplemented
        case .frameTooLarge: return .resourceExhausted
        }
    }
}

/// Splits the byte stream into frames. The header is checked before the body is buffered:
/// a body over `limits.maxFrameSize` is discarded as it arrives, one over `limits.hardCap`
/// (or a bad magic or version) stops decoding for good.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = InboundFrame

    private enum State {
        case header
        case skipping(remaining: Int)
        case failed
    }

    private var state = State.header
    private let limitsBox: FrameLimitsBox
    private let budget: BodyBudget?
    /// Bytes reserved from `budget` for the body being received (0 when none).
    private var reserved = 0

    /// `limits` is shared with the connection handler, which narrows it after HELLO. With a
    /// `budget`, a body of at least `budget.threshold` bytes is buffered only if the budget has room:
    /// the reservation passes with the frame (`Frame.reservedBytes`) to whoever holds it next.
    public init(limits: FrameLimitsBox, budget: BodyBudget? = nil) {
        self.limitsBox = limits
        self.budget = budget
    }

    public mutating func decoderRemoved(context: ChannelHandlerContext) {
        releaseReservation()
    }

    private mutating func releaseReservation() {
        if reserved > 0 { budget?.release(reserved) }
        reserved = 0
        limitsBox.partialSince = nil
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        switch state {
        case .failed:
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return .needMoreData
        case .skipping(let remaining):
            let n = min(remaining, buffer.readableBytes)
            buffer.moveReaderIndex(forwardBy: n)
            if n == remaining {
                state = .header
                limitsBox.partialSince = nil
                return .continue
            }
            // A skipped body is still a body arriving: the body timeout applies to it too.
            if limitsBox.partialSince == nil { limitsBox.partialSince = .now() }
            state = .skipping(remaining: remaining - n)
            return .needMoreData
        case .header:
            guard let header = Self.peekHeader(buffer) else {
                // Part of a header is a frame arriving too (the body timeout covers it).
                if buffer.readableBytes > 0 && limitsBox.partialSince == nil { limitsBox.partialSince = .now() }
                return .needMoreData
            }
            if let violation = Self.check(header, limits: limitsBox.limits) {
                state = .failed
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                context.fireChannelRead(wrapInboundOut(.violation(violation)))
                return .needMoreData
            }
            let body = header.frame.bodyLength
            if body > limitsBox.limits.maxFrameSize {
                buffer.moveReaderIndex(forwardBy: FrameHeader.size)
                state = .skipping(remaining: body)
                limitsBox.partialSince = .now()
                context.fireChannelRead(wrapInboundOut(.oversized(type: header.frame.type, streamID: header.frame.streamID, bodyLength: body)))
                return .continue
            }
            if buffer.readableBytes < FrameHeader.size + body {
                // The body is still arriving: reserve room for it (once), or skip it when there is none.
                if let budget, reserved == 0, body >= budget.threshold {
                    guard budget.reserve(body) else {
                        buffer.moveReaderIndex(forwardBy: FrameHeader.size)
                        state = .skipping(remaining: body)
                        limitsBox.partialSince = .now()
                        context.fireChannelRead(wrapInboundOut(.overBudget(type: header.frame.type, streamID: header.frame.streamID, bodyLength: body)))
                        return .continue
                    }
                    reserved = body
                }
                if limitsBox.partialSince == nil { limitsBox.partialSince = .now() }
                return .needMoreData
            }
            buffer.moveReaderIndex(forwardBy: FrameHeader.size)
            let meta = buffer.readSlice(length: Int(header.frame.metaLength))!
            let payload = buffer.readSlice(length: Int(header.frame.payloadLength))!
            limitsBox.partialSince = nil
            if let type = FrameType(rawValue: header.frame.type) {
                // A body that arrived whole in one read took no reservation; take it now if it is large,
                // so every large frame held by the server counts (over budget: still delivered, it is here).
                if let budget, reserved == 0, body >= budget.threshold {
                    budget.force(body)
                    reserved = body
                }
                var frame = Frame(type: type, flags: header.frame.flags, streamID: header.frame.streamID, meta: meta, payload: payload)
                frame.reservedBytes = reserved
                reserved = 0
                context.fireChannelRead(wrapInboundOut(.frame(frame)))
            } else {
                releaseReservation()
                context.fireChannelRead(wrapInboundOut(.unknownType(header.frame.type, streamID: header.frame.streamID)))
            }
            return .continue
        }
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial frame at EOF is dropped: the peer is gone, nothing can be answered.
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        releaseReservation()
        return .needMoreData
    }

    /// The header at the reader index, with its magic and version, if 16 bytes are there.
    static func peekHeader(_ buffer: ByteBuffer) -> (magic: UInt16, version: UInt8, frame: FrameHeader)? {
        guard buffer.readableBytes >= FrameHeader.size else {
            return nil
        }
        let i = buffer.readerIndex
        let magic = buffer.getInteger(at: i, as: UInt16.self)!
        let version = buffer.getInteger(at: i + 2, as: UInt8.self)!
        let frame = FrameHeader(
            type: buffer.getInteger(at: i + 3, as: UInt8.self)!,
            flags: buffer.getInteger(at: i + 4, as: UInt8.self)!,
            metaLength: buffer.getInteger(at: i + 6, as: UInt16.self)!,
            streamID: buffer.getInteger(at: i + 8, as: UInt32.self)!,
            payloadLength: buffer.getInteger(at: i + 12, as: UInt32.self)!)
        return (magic, version, frame)
    }

    static func check(_ h: (magic: UInt16, version: UInt8, frame: FrameHeader), limits: FrameLimits) -> ProtocolViolation? {
        if h.magic != FrameHeader.magic { return .badMagic(h.magic) }
        if h.version != FrameHeader.version { return .unsupportedVersion(h.version) }
        if h.frame.bodyLength > limits.hardCap { return .frameTooLarge(bodyLength: h.frame.bodyLength, hardCap: limits.hardCap) }
        return nil
    }
}

/// The frame limits of one connection, shared by its decoder and its handler on the same event loop.
public final class FrameLimitsBox: @unchecked Sendable {
    public let limits: FrameLimits
    /// When the decoder began waiting for the rest of a frame (nil when it is between frames), for the body timeout.
    public var partialSince: NIODeadline?
    public init(_ limits: FrameLimits) { self.limits = limits }
}

/// Bytes of large frame bodies a server holds at once, over all connections: bodies still
/// arriving and requests in flight (docs/PROTOCOL.md §5). Bodies under `threshold` are not counted.
public final class BodyBudget: Sendable {
    public let capacity: Int
    public let threshold: Int
    private let used = NIOLockedValueBox(0)

    public init(capacity: Int, threshold: Int = 64 * 1024) {
        self.capacity = capacity
        self.threshold = threshold
    }

    /// Takes `bytes` if they fit.
    public func reserve(_ bytes: Int) -> Bool {
        used.withLockedValue { used in
            guard used + bytes <= capacity else { return false }
            used += bytes
            return true
        }
    }

    /// Takes `bytes` even over capacity (for bodies already received in full).
    public func force(_ bytes: Int) {
        used.withLockedValue { $0 += bytes }
    }

    public func release(_ bytes: Int) {
        used.withLockedValue { $0 = max(0, $0 - bytes) }
    }

    public var inUse: Int { used.withLockedValue { $0 } }
}
