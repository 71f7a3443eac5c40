import LVMessages
import LVProtoC
import NIOConcurrencyHelpers
import NIOCore

public typealias ServingStatus = Lv_Health_V1_HealthCheckResponse.ServingStatus

/// The serving status of each service on a server (lv.health.v1.Health, after grpc.health.v1).
/// The empty name stands for the server as a whole.
///
/// A server that needs other servers to answer correctly (the gateway) registers them as
/// dependencies: while one is not SERVING, the server as a whole and each of its own services
/// answer NOT_SERVING, and the check for the server lists every dependency with its detail.
/// A dependency not checked yet counts as not serving.
public final class HealthStatus: Sendable {
    private let statuses = NIOLockedValueBox<[String: ServingStatus]>([:])
    private let dependencies = NIOLockedValueBox<[String: (status: ServingStatus, detail: String)]>([:])

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

    /// Declares a dependency (not serving until `setDependency` says otherwise).
    public func addDependency(_ name: String) {
        dependencies.withLockedValue { $0[name] = $0[name] ?? (.notServing, "not checked yet") }
    }

    /// Records what the last check of a dependency found.
    public func setDependency(_ name: String, _ status: ServingStatus, detail: String = "") {
        dependencies.withLockedValue { $0[name] = (status, detail) }
    }

    /// Every dependency as last checked, by name.
    public var dependencyStatuses: [Lv_Health_V1_DependencyHealth] {
        dependencies.withLockedValue { $0 }.sorted { $0.key < $1.key }.map { name, value in
            var d = Lv_Health_V1_DependencyHealth()
            (d.name, d.status, d.detail) = (name, value.status, value.detail)
            return d
        }
    }

    public func status(of service: String) -> ServingStatus {
        let own = statuses.withLockedValue { $0[service] } ?? .serviceUnknown
        guard own == .serving, service.isEmpty || !Self.builtin(service) else { return own }
        let ready = dependencies.withLockedValue { $0.values.allSatisfy { $0.status == .serving } }
        return ready ? .serving : .notServing
    }

    /// Able to answer correctly: the server is serving and so is every dependency (`/readyz`).
    public var isReady: Bool { status(of: "") == .serving }

    /// Health and reflection answer whatever the dependencies do.
    static func builtin(_ service: String) -> Bool { service.hasPrefix("lv.health.") || service.hasPrefix("lv.reflection.") }
}

/// proto/lv.protoset as compiled into this binary (LVProtoC's lv_registry.c): every .proto file
/// of this build, imports and comments included.
public let embeddedFileDescriptorSet: [UInt8] = Array(UnsafeBufferPointer(start: lv_file_descriptor_set, count: lv_file_descriptor_set_size))

enum BuiltinServices {
    /// Adds Health and Reflection to `router`. Reflection lists every route, itself included.
    static func register(into router: inout Router, health: HealthStatus) {
        router.register(Lv_Health_V1_HealthService.check) { (request: Lv_Health_V1_HealthCheckRequest, _) in
            var response = Lv_Health_V1_HealthCheckResponse()
            response.status = health.status(of: request.service)
            if request.service.isEmpty { response.dependencies = health.dependencyStatuses }
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
        router.register(Lv_Reflection_V1_ReflectionService.getFileDescriptorSet) { (_: Lv_Reflection_V1_GetFileDescriptorSetRequest, _) in
            var response = Lv_Reflection_V1_GetFileDescriptorSetResponse()
            response.fileDescriptorSet = embeddedFileDescriptorSet
            return response
        }
    }
}
