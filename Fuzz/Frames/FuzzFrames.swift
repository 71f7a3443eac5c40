import LVFuzzSupport
import LVRPC
import NIOCore
import NIOEmbedded

// libFuzzer target (issue #12): the frame decoder (Shared/LVRPC/FrameDecoder.swift) in an
// EmbeddedChannel, fed arbitrary bytes split into reads at fuzzer-chosen points, then closed.
// It must never trap, and every byte it reserves of the body budget must come back: a frame
// that reaches the handler carries its reservation (released here, as the connection handler
// does), everything else the decoder releases itself.
//
// Input: byte 0 picks the limits (bits 0-1: frame size limit, bit 2: hard cap, bits 3-4: budget
// threshold and capacity), byte 1 seeds the read sizes, the rest is the byte stream.
// Built by `make fuzz` with `-Xswiftc -DLV_FUZZ`; without it it replays files given as arguments.

func fuzzOne(_ data: UnsafeRawBufferPointer) {
    guard data.count >= 2 else { return }
    let config = data[0]
    let maxFrameSize = [16, 64, 4096, FrameLimits.defaultMaxFrameSize][Int(config & 3)]
    let hardCap = config & 4 == 0 ? maxFrameSize * 4 : FrameLimits.defaultHardCap
    let (threshold, capacity) = [(1, 64), (8, 1024), (64, 100), (64 * 1024, 1024 * 1024)][Int((config >> 3) & 3)]
    let budget = BodyBudget(capacity: capacity, threshold: threshold)
    let limits = FrameLimitsBox(FrameLimits(maxFrameSize: maxFrameSize, hardCap: hardCap))
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(limits: limits, budget: budget)))

    var held = 0
    func drain() {
        while let out = try? channel.readInbound(as: InboundFrame.self) {
            if case .frame(let frame) = out {
                held += frame.reservedBytes
                // The connection handler releases a frame's reservation when the call is done.
                budget.release(frame.reservedBytes)
            }
        }
    }

    var rng = UInt64(data[1]) &* 0x9E37_79B9_7F4A_7C15 | 1
    let stream = UnsafeRawBufferPointer(rebasing: data.dropFirst(2))
    var offset = 0
    while offset < stream.count {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
        let n = min(stream.count - offset, Int(rng % 40) + 1)
        var buffer = channel.allocator.buffer(capacity: n)
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: stream[offset..<(offset + n)]))
        offset += n
        try? channel.writeInbound(buffer)
        drain()
    }
    _ = try? channel.finish(acceptAlreadyClosed: true)
    drain()
    if budget.inUse != 0 {
        fatalError("frame decoder kept \(budget.inUse) bytes of the body budget (frames held \(held))")
    }
}

#if LV_FUZZ
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEntry(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    fuzzOne(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}
#else
@main
struct Replay {
    static func main() throws { try FuzzReplay.run("lv-fuzz-frames", fuzzOne) }
}
#endif
