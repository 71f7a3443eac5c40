import Assessment
import AssessmentDomain
import Dispatch
import Engagement
import EngagementDomain
import Foundation
import Logging
import LVAPI
import LVFuzzSupport
import LVMessages
import LVRPC
import NIOCore
import Registration
import RegistrationDomain

// libFuzzer target (issue #12): every handler's validation path. Byte 0 picks a route of the
// registration, engagement or assessment router (all routes, sorted by full name), the rest is the
// request payload. Each router serves a temporary SQLite store made once per process (registration's
// with activity "a", which the corpus's requests name). Any status is fine except INTERNAL or UNKNOWN:
// a rule must catch what the store would choke on; those abort so libFuzzer keeps the input.
// Built by `make fuzz` with `-Xswiftc -DLV_FUZZ`; without it it replays files given as arguments.
// Seeds: scripts/make-fuzz-handlers-corpus.py (it numbers the routes in the same order).

struct Fixture: Sendable {
    let routes: [Router.Route]
    let directory: URL
}

/// Runs `body` on the cooperative pool and waits on the calling thread, which is libFuzzer's (or
/// main's), never a pool thread: the pool is free to run the handler and its store's work.
final class ResultBox<T>: @unchecked Sendable { var value: T? }

func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

let fixture: Fixture = blocking {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lv-fuzz-handlers-\(getpid())")
    try? FileManager.default.removeItem(at: dir)
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let clock: @Sendable () -> Int64 = { 1_795_701_600_000 }
    var router = Router()
    let registration = RegistrationService(store: try! RegistrationStore(path: dir.appendingPathComponent("registration.sqlite").path), clock: clock)
    registration.register(into: &router)
    EngagementService(store: try! EngagementStore(path: dir.appendingPathComponent("engagement.sqlite").path), clock: clock).register(into: &router)
    AssessmentService(store: try! AssessmentStore(path: dir.appendingPathComponent("assessment.sqlite").path), clock: clock).register(into: &router)
    var a = Activity()
    (a.activityId, a.title, a.type, a.startDate, a.endDate, a.maxCredits, a.targetMooreLevel) = ("a", "T", .course, "2026-11-26", "2026-11-26", 1, 1)
    var o = Lv_Registration_V1_LearningObjective()
    (o.id, o.text) = ("o1", "x")
    a.objectives = [o]
    var create = Lv_Registration_V1_CreateActivityRequest()
    (create.requestId, create.activity) = ("fuzz-activity", a)
    _ = try! await registration.createActivity(create, context: ServerContext(
        method: MethodDescriptor(service: "t", method: "t", requestType: "", responseType: ""), requestID: "fuzz", logger: Logger(label: "fuzz")))
    let routes = router.routes.sorted { $0.key < $1.key }.map(\.value)
    return Fixture(routes: routes, directory: dir)
}

let logger: Logger = {
    var l = Logger(label: "fuzz")
    l.logLevel = .critical
    return l
}()

func fuzzOne(_ data: UnsafeRawBufferPointer) {
    guard let first = data.first else { return }
    let route = fixture.routes[Int(first) % fixture.routes.count]
    let payload = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: data.dropFirst()))
    let failure: String? = blocking {
        let context = ServerContext(method: route.descriptor, requestID: "fuzz", logger: logger)
        do {
            _ = try await route.handler(payload, context)
            return nil
        } catch {
            let status = RPCError.from(error)
            return status.code == .internal || status.code == .unknown ? "\(route.descriptor.fullName): \(status)" : nil
        }
    }
    if let failure { fatalError("handler ended INTERNAL or UNKNOWN: \(failure)") }
}

#if LV_FUZZ
/// The stores (and their writer threads, which live as long as the process) are made before the
/// first input, so libFuzzer's leak check does not count them against it.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    _ = fixture.routes.count
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEntry(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    fuzzOne(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}
#else
@main
struct Replay {
    static func main() throws {
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        try FuzzReplay.run("lv-fuzz-handlers", fuzzOne)
    }
}
#endif
