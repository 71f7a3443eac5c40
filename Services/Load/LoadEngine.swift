import Histogram
import NIOConcurrencyHelpers
import NIOCore

/// How load is offered.
public enum LoadShape: Sendable {
    /// `concurrency` callers, each sending its next call when the last one answers.
    case closed(concurrency: Int)
    /// Calls started on a schedule, whatever the answers do (wrk2's constant throughput):
    /// `rate(t)` calls per second at `t` seconds into the run (fixed, steps or a ramp).
    case open(rate: @Sendable (Double) -> Double)

    /// A fixed rate.
    public static func fixed(_ perSecond: Double) -> LoadShape { .open { _ in perSecond } }

    /// `rates[i]` for `stepSeconds` each, the last one held to the end.
    public static func steps(_ rates: [Double], stepSeconds: Double) -> LoadShape {
        .open { t in rates[min(rates.count - 1, Int(t / stepSeconds))] }
    }

    /// From `from` to `to` calls per second, linearly over `seconds`.
    public static func ramp(from: Double, to: Double, seconds: Double) -> LoadShape {
        .open { t in from + (to - from) * min(1, t / max(seconds, 1e-9)) }
    }
}

public struct LoadPlan: Sendable {
    public var shape: LoadShape
    /// Seconds measured (after the warm-up).
    public var duration: Double
    /// Stop after this many measured calls instead, when set.
    public var requests: Int?
    /// Seconds run before measuring starts.
    public var warmup: Double

    public init(shape: LoadShape, duration: Double, requests: Int? = nil, warmup: Double = 0) {
        self.shape = shape
        self.duration = duration
        self.requests = requests
        self.warmup = warmup
    }
}

/// Latencies in microseconds. In open-loop runs `corrected` measures each call from the moment
/// the schedule meant to send it, so a stall counts against every call that waited behind it
/// (coordinated omission corrected, as wrk2 does); `uncorrected` from the moment it was sent.
public struct LoadResult: Sendable {
    public var uncorrected: Histogram<UInt64>
    public var corrected: Histogram<UInt64>?
    public var calls: Int
    public var errors: [String: Int]
    public var seconds: Double

    public var throughput: Double { Double(calls) / max(seconds, 1e-9) }

    public init(uncorrected: Histogram<UInt64>, corrected: Histogram<UInt64>?, calls: Int, errors: [String: Int], seconds: Double) {
        (self.uncorrected, self.corrected, self.calls, self.errors, self.seconds) = (uncorrected, corrected, calls, errors, seconds)
    }

    /// An empty histogram of microseconds, as every result uses.
    public static func histogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    }
}

/// Drives `call` according to `plan` and measures it. `call` returns normally on success and
/// throws on failure; `classify` names an error (e.g. its status code) for the error counts.
public func runLoad(_ plan: LoadPlan, classify: @escaping @Sendable (any Error) -> String = { "\(type(of: $0))" },
                    progress: (@Sendable (Int) -> Void)? = nil,
                    call: @escaping @Sendable () async throws -> Void) async -> LoadResult {
    let start = NIODeadline.now()
    let measureFrom = start + .nanoseconds(Int64(plan.warmup * 1e9))
    let end = measureFrom + .nanoseconds(Int64(plan.duration * 1e9))
    let state = NIOLockedValueBox(LoadResult(uncorrected: LoadResult.histogram(), corrected: nil, calls: 0, errors: [:], seconds: plan.duration))
    let limit = plan.requests

    func record(intended: NIODeadline, sent: NIODeadline, result: Result<Void, any Error>, open: Bool) -> Bool {
        guard intended >= measureFrom else { return true }
        let done = NIODeadline.now()
        return state.withLockedValue { s in
            if let limit, s.calls >= limit { return false }
            switch result {
            case .success:
                s.calls += 1
                _ = s.uncorrected.record(UInt64(max(0, (done - sent).nanoseconds) / 1000))
                if open {
                    if s.corrected == nil { s.corrected = LoadResult.histogram() }
                    _ = s.corrected!.record(UInt64(max(0, (done - intended).nanoseconds) / 1000))
                }
            case .failure(let error):
                s.errors[classify(error), default: 0] += 1
            }
            return limit.map { s.calls < $0 } ?? true
        }
    }

    switch plan.shape {
    case .closed(let concurrency):
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, concurrency) {
                group.addTask {
                    while true {
                        let sent = NIODeadline.now()
                        if sent >= end { return }
                        let result: Result<Void, any Error>
                        do { try await call(); result = .success(()) } catch { result = .failure(error) }
                        if !record(intended: sent, sent: sent, result: result, open: false) { return }
                        progress?(1)
                    }
                }
            }
        }
    case .open(let rate):
        await withTaskGroup(of: Void.self) { group in
            var intended = start
            var stop = false
            while !stop, intended < end {
                let now = NIODeadline.now()
                if intended > now { try? await Task.sleep(nanoseconds: UInt64((intended - now).nanoseconds)) }
                let scheduled = intended
                group.addTask {
                    let sent = NIODeadline.now()
                    let result: Result<Void, any Error>
                    do { try await call(); result = .success(()) } catch { result = .failure(error) }
                    _ = record(intended: scheduled, sent: sent, result: result, open: true)
                    progress?(1)
                }
                let elapsed = Double((scheduled - start).nanoseconds) / 1e9
                let perSecond = max(rate(max(0, elapsed - plan.warmup)), 0.001)
                intended = scheduled + .nanoseconds(Int64(1e9 / perSecond))
                if let limit { stop = state.withLockedValue { $0.calls >= limit } }
            }
        }
    }
    var result = state.withLockedValue { $0 }
    if limit != nil { result.seconds = Double((NIODeadline.now() - measureFrom).nanoseconds) / 1e9 }
    return result
}

/// Percentiles in milliseconds for reports: p50, p90, p99, p99.9 and max.
public func percentiles(_ h: Histogram<UInt64>) -> [(String, Double)] {
    [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9)].map { ($0.0, Double(h.valueAtPercentile($0.1)) / 1000) }
        + [("max", Double(h.max) / 1000)]
}
