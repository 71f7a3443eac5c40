import Gateway
import GatewayDomain
import Logging
import LVAPI
import LVMessages
import LVRPC
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// What each backend call carried when it reached the (fake) backend.
struct SeenCall: Sendable {
    var method: String
    var requestID: String
    var traceparent: String
    var remaining: TimeAmount?
}

/// One in-process server answering the seven reads of a view with empty pages, recording what
/// every call carried: the gateway must pass the caller's request id, traceparent and remaining
/// deadline (less its margin) to every backend call.
@Suite("the gateway passes request id, trace and deadline downstream")
struct PropagationTests {
    @Test("every backend call carries the caller's x-request-id and traceparent, and at most the caller's remaining time less the margin")
    func propagation() async throws {
        let seen = NIOLockedValueBox<[SeenCall]>([])
        var router = Router()
        @Sendable func record(_ context: ServerContext) {
            seen.withLockedValue { $0.append(SeenCall(method: context.method.fullName, requestID: context.requestID,
                                                      traceparent: context.traceparent, remaining: context.remainingTimeout)) }
        }
        router.register(Lv.Registration.V1.Registration.Method.GetActivity.descriptor) { (r: Lv_Registration_V1_GetActivityRequest, c) in
            record(c)
            var a = Lv_Registration_V1_Activity()
            (a.activityId, a.title) = (r.activityId, "T")
            var response = Lv_Registration_V1_GetActivityResponse()
            response.activity = a
            return response
        }
        router.register(Lv.Registration.V1.Registration.Method.ListEnrollments.descriptor) { (_: Lv_Registration_V1_ListEnrollmentsRequest, c) in
            record(c); return Lv_Registration_V1_ListEnrollmentsResponse()
        }
        router.register(Lv.Registration.V1.Registration.Method.GetAttendance.descriptor) { (_: Lv_Registration_V1_GetAttendanceRequest, c) in
            record(c); return Lv_Registration_V1_GetAttendanceResponse()
        }
        router.register(Lv.Registration.V1.Registration.Method.ListCredits.descriptor) { (_: Lv_Registration_V1_ListCreditsRequest, c) in
            record(c); return Lv_Registration_V1_ListCreditsResponse()
        }
        router.register(Lv.Registration.V1.Registration.Method.ListSessions.descriptor) { (_: Lv_Registration_V1_ListSessionsRequest, c) in
            record(c); return Lv_Registration_V1_ListSessionsResponse()
        }
        router.register(Lv.Engagement.V1.Engagement.Method.GetEngagementSummary.descriptor) { (_: Lv_Engagement_V1_GetEngagementSummaryRequest, c) in
            record(c); return Lv_Engagement_V1_GetEngagementSummaryResponse()
        }
        router.register(Lv.Assessment.V1.Assessment.Method.GetOutcomes.descriptor) { (_: Lv_Assessment_V1_GetOutcomesRequest, c) in
            record(c); return Lv_Assessment_V1_GetOutcomesResponse()
        }
        var logger = Logger(label: "fake-backend")
        logger.logLevel = .critical
        let server = RPCServer(configuration: .init(host: "127.0.0.1", port: 0, serverName: "fake-backend"), router: router, logger: logger)
        let running = Task { try await server.run() }
        let port = try await server.localAddress.port!
        let clients = (0..<3).map { _ in RPCClient(host: "127.0.0.1", port: port) }
        let gateway = GatewayService(registration: clients[0], engagement: clients[1], assessment: clients[2])

        let callerTimeout = TimeAmount.seconds(30)
        let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let context = ServerContext(method: Lv.Gateway.V1.Gateway.Method.GetActivityValidation.descriptor, traceparent: trace,
                                    deadline: .now() + callerTimeout, requestID: "caller-request-7", logger: logger)
        var request = Lv_Gateway_V1_GetActivityValidationRequest()
        request.activityId = "act-1"
        let view = try await gateway.getActivityValidation(request, context: context)
        #expect(view.activityId == "act-1")

        let calls = seen.withLockedValue { $0 }
        #expect(Set(calls.map(\.method)).count == 7, "\(calls.map(\.method))")
        for call in calls {
            #expect(call.requestID == "caller-request-7", "\(call.method)")
            #expect(call.traceparent == trace, "\(call.method)")
            let remaining = try #require(call.remaining, "\(call.method) arrived with no deadline")
            #expect(remaining <= callerTimeout - GatewayService.margin, "\(call.method): \(remaining)")
            #expect(remaining > .zero)
        }
        for c in clients { await c.close() }
        server.shutdown()
        try await running.value
    }
}
