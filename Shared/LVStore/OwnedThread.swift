#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSQLiteConfig
import NIOConcurrencyHelpers

/// A named OS thread that runs one closure and is joined (`pthread_join`): once `join()` has
/// returned the thread no longer exists. Foundation's `Thread` cannot be joined, so a store that
/// started one could never say its threads were gone.
final class OwnedThread: @unchecked Sendable { // `handle` is written once, in init
    private final class Start {
        let name: String
        let body: () -> Void
        init(name: String, body: @escaping () -> Void) { self.name = name; self.body = body }
    }

    let name: String
    private var handle = pthread_t()
    private let joined = NIOLockedValueBox(false)

    /// `name` is what `top -H` and /proc/<pid>/task/*/comm show (Linux keeps 15 bytes of it).
    init(name: String, body: @escaping () -> Void) {
        self.name = name
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        let rc = pthread_create(&handle, nil, { argument in
            let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
            lv_name_current_thread(start.name)
            start.body()
            return nil
        }, start)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    /// Waits for the thread's closure to return and the thread to end; later calls return at once.
    func join() {
        let first = joined.withLockedValue { done in
            defer { done = true }
            return !done
        }
        if first { pthread_join(handle, nil) }
    }
}

/// Jobs handed from callers to dedicated threads. After `stop()` nothing more is accepted; the
/// threads take what is still queued, then `take` returns nil and they end.
final class JobQueue<Job>: @unchecked Sendable { // mutable state is guarded by `condition`
    /// 1 when a thread has something to do (a job, or the stop), else 0.
    private let condition = ConditionLock(value: 0)
    private var jobs: [Job] = []
    private var stopped = false

    /// Queues `job`; false when the queue is stopped (the job was not queued).
    func append(_ job: Job) -> Bool {
        condition.lock()
        guard !stopped else {
            condition.unlock()
            return false
        }
        jobs.append(job)
        condition.unlock(withValue: 1)
        return true
    }

    /// Waits for jobs and takes up to `maximum` of them, oldest first; nil once stopped and empty.
    func take(maximum: Int) -> [Job]? {
        condition.lock(whenValue: 1)
        let batch = Array(jobs.prefix(maximum))
        jobs.removeFirst(batch.count)
        condition.unlock(withValue: jobs.isEmpty && !stopped ? 0 : 1)
        return batch.isEmpty ? nil : batch
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.unlock(withValue: 1)
    }

    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count
    }
}
