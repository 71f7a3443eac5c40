import LVMessages
import NIOConcurrencyHelpers
import NIOCore

public typealias ServingStatus = Lv_Health_V1_HealthCheckResponse.ServingStatus

/// The serving status of each service on a server (lv.health.v1.Health, after grpc.health.v1).
/// The empty name stands for the server as a whole.
public final class HealthStatus: Sendable {
    private let statuses = NIOLockedValueBox<[String: ServingStatus]>([:])

    public init() {}

    public func set(_ service: String, _ status: ServingStatus) {
        statuses.withLockedValue { $0[service] = status }
    }

    /// Marks the server and every known service at once (NOT_SERVING while draining).
    public func setAll(_ status: ServingStatus) {
        statuses.withLockedValue { all in
            for key in all.keys { all[key] = status }
            all[""] = status
        }
    }

    public func status(of service: String) -> ServingStatus {
        statuses.withLockedValue { $0[service] } ?? .serviceUnknown
    }
}

enum BuiltinServices {
    /// Adds Health and Reflection to `router`. Reflection lists every route, itself included.
    static func register(into router: inout Router, health: HealthStatus) {
        router.register(Lv_Health_V1_HealthService.check) { (request: Lv_Health_V1_HealthCheckRequest, _) in
            var response = Lv_Health_V1_HealthCheckResponse()
            response.status = health.status(of: request.service)
            return response
        }
        // Reflection reads the router it is registered in, so it is computed after every route exists.
        let box = NIOLockedValueBox<[String: [MethodDescriptor]]>([:])
        router.register(Lv_Reflection_V1_ReflectionService.listServices) { (_: Lv_Reflection_V1_ListServicesRequest, _) in
            var response = Lv_Reflection_V1_ListServicesResponse()
            response.services = box.withLockedValue { $0 }.sorted { $0.key < $1.key }.map { name, methods in
                var service = Lv_Reflection_V1_ServiceDescriptor()
                service.name = name
                service.methods = methods.map { m in
                    var d = Lv_Reflection_V1_MethodDescriptor()
                    d.name = m.method
                    d.requestType = m.requestType
                    d.responseType = m.responseType
                    return d
                }
                return service
            }
            return response
        }
        let services = router.services
        box.withLockedValue { $0 = services }
    }
}
