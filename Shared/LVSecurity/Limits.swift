import NIOConcurrencyHelpers
import NIOCore

/// A token bucket: `rate` tokens a second up to `burst`. `take` returns nil when a token was
/// taken, else the milliseconds until one will be there.
public struct TokenBucket: Sendable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var refilled: NIODeadline

    public init(rate: Double, burst: Double, now: NIODeadline = .now()) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.refilled = now
    }

    public mutating func take(now: NIODeadline = .now()) -> Int64? {
        let seconds = Double(max(0, (now - refilled).nanoseconds)) / 1e9
        refilled = now
        tokens = min(burst, tokens + seconds * rate)
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        guard rate > 0 else { return Int64.max / 2 }
        return max(1, Int64(((1 - tokens) / rate * 1000).rounded(.up)))
    }
}

/// Per key: a token bucket (calls per second) and a count of calls in flight.
public final class KeyLimiter: Sendable {
    private struct State {
        var bucket: TokenBucket
        var inFlight = 0
    }
    private let states = NIOLockedValueBox<[String: State]>([:])

    public init() {}

    public enum Decision: Equatable {
        case admitted
        /// Over the rate: retry after this many milliseconds.
        case overRate(retryAfterMs: Int64)
        /// Over the concurrent-call limit.
        case overConcurrency(limit: Int)
    }

    /// Admits a call for `key` or says why not; an admitted call must be `finish`ed.
    public func begin(_ key: KeyEntry, now: NIODeadline = .now()) -> Decision {
        states.withLockedValue { all in
            var s = all[key.id] ?? State(bucket: TokenBucket(rate: key.rate, burst: key.burst, now: now))
            if s.bucket.rate != key.rate || s.bucket.burst != key.burst { // limits changed by a reload
                s.bucket = TokenBucket(rate: key.rate, burst: key.burst, now: now)
            }
            defer { all[key.id] = s }
            if key.concurrent > 0, s.inFlight >= key.concurrent { return .overConcurrency(limit: key.concurrent) }
            if key.rate > 0, let wait = s.bucket.take(now: now) { return .overRate(retryAfterMs: wait) }
            s.inFlight += 1
            return .admitted
        }
    }

    public func finish(_ key: KeyEntry) {
        states.withLockedValue { all in
            if var s = all[key.id] {
                s.inFlight = max(0, s.inFlight - 1)
                all[key.id] = s
            }
        }
    }
}

/// Failed HELLO credentials per peer address: `burst` failures, refilled at `perSecond`; beyond,
/// every HELLO from the address is refused RESOURCE_EXHAUSTED until a token is back, whatever it
/// presents (so guessing keys costs time).
public final class FailureLimiter: Sendable {
    private let buckets = NIOLockedValueBox<[String: TokenBucket]>([:])
    public let burst: Double
    public let perSecond: Double

    public init(burst: Double = 10, perSecond: Double = 1.0 / 6) {
        self.burst = burst
        self.perSecond = perSecond
    }

    /// nil when `host` may try; else milliseconds until it may.
    public func blocked(_ host: String, now: NIODeadline = .now()) -> Int64? {
        buckets.withLockedValue { all in
            guard var b = all[host] else { return nil }
            // Peek: take a token and give it back.
            if let wait = b.take(now: now) { all[host] = b; return wait }
            return nil
        }
    }

    /// Records a failure from `host`.
    public func failed(_ host: String, now: NIODeadline = .now()) {
        buckets.withLockedValue { all in
            var b = all[host] ?? TokenBucket(rate: perSecond, burst: burst, now: now)
            _ = b.take(now: now)
            all[host] = b
            if all.count > 100_000 { all.removeAll() } // bounded memory under a spoofed-address flood
        }
    }
}
