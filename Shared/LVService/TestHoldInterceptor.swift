import Foundation
import LVMessages
import LVRPC

/// A test hook, off unless the environment variable `LV_TEST_HOLD_CALLS_UNTIL` names a file:
/// every call then waits, before its handler runs, until that file exists. The end-to-end drain
/// test uses it to hold calls provably in flight across SIGTERM without timing guesses (it opens
/// the gate only after it has seen the GOAWAY). A waiting call stays cancellable: a CANCEL, its
/// deadline or a connection error ends the wait. Never set in production; the service logs a
/// warning at start when it is.
struct TestHoldInterceptor: ServerInterceptor {
    static let environmentKey = "LV_TEST_HOLD_CALLS_UNTIL"
    let gate: String

    /// The interceptor when the environment asks for it.
    static func fromEnvironment() -> TestHoldInterceptor? {
        guard let path = ProcessInfo.processInfo.environment[environmentKey], !path.isEmpty else { return nil }
        return TestHoldInterceptor(gate: path)
    }

    func intercept<Input: ProtoMessage, Output: ProtoMessage>(
        request: ServerRequest<Input>, context: ServerContext,
        next: @Sendable (ServerRequest<Input>, ServerContext) async throws -> ServerResponse<Output>
    ) async throws -> ServerResponse<Output> {
        while !FileManager.default.fileExists(atPath: gate) {
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        return try await next(request, context)
    }
}
