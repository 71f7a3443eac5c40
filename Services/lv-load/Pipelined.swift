import ArgumentParser
import Load
import LVRPC

extension PipelinedLoad {
    /// Runs `method` with `payload` pipelined as `load` describes and prints the report as lv-load does.
    static func run(_ load: LoadOptions, method: String, payload: [UInt8], defaultAddress: String) async throws {
        guard load.rate == nil, load.steps == nil, load.rampTo == nil, load.requests == nil else {
            throw ValidationError("--pipelined is a closed loop for --duration: no --rate, --steps, --ramp-to or --requests")
        }
        guard load.ca == nil, load.cert == nil else { throw ValidationError("--pipelined speaks plaintext only (no --ca/--cert)") }
        let address = load.address ?? defaultAddress
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw ValidationError("--addr: HOST:PORT")
        }
        let settings = Settings(host: String(address[..<colon]), port: port, method: method, payload: payload,
                                concurrency: max(1, load.concurrency), connections: max(1, load.connections),
                                warmup: load.warmup, duration: load.duration,
                                timeoutMs: UInt32(clamping: Int64(load.timeout * 1000)), credential: try load.security().credential)
        let result = try await run(settings)
        load.report(method + " (pipelined)", result, unit: "calls", perCall: 1, byConnection: [])
    }
}
