#if canImport(Glibc)
import Glibc
#endif
import LVAPI
import LVMessages
import LVRPC
import Logging
import NIOCore
import ServiceLifecycle

/// Asks lv-gateway's health every `interval` (no credential: health is for probes) and keeps
/// lv-web's own health, and so its `/readyz`, following it: lv-web can show nothing without it.
struct GatewayMonitor: Service {
    let client: RPCClient
    let health: HealthStatus
    let interval: Duration

    func run() async throws {
        await withGracefulShutdownHandler {
          await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let r = try await Lv.Health.V1.Health.Client(client).check(Lv_Health_V1_HealthCheckRequest(),
                                                                              options: CallOptions(timeout: .seconds(2)))
                    health.setDependency("lv-gateway", r.status == .serving ? .serving : .notServing,
                                         detail: r.status == .serving ? "" : "gateway reports \(r.status.protoName)")
                } catch {
                    health.setDependency("lv-gateway", .notServing, detail: "\(error)")
                }
                try? await Task.sleep(for: interval)
            }
          }
        } onGracefulShutdown: {
            health.setAll(.notServing) // draining: not ready for new traffic
        }
        await client.close()
    }
}

/// `lv-web --probe`: GET /healthz on lv-web's own HTTP port (for a container HEALTHCHECK, where
/// there is no curl); true on a 200 within `timeoutSeconds`.
public func probeHTTP(host: String, port: Int, path: String = "/healthz", timeoutSeconds: Int = 2) -> Bool {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var result: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else { return false }
    defer { freeaddrinfo(result) }
    let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else { return false }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: \(host)\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return false }
    var buffer = [UInt8](repeating: 0, count: 64)
    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    guard n > 12 else { return false }
    let status = String(decoding: buffer[0..<n], as: UTF8.self)
    return status.hasPrefix("HTTP/1.1 200") || status.hasPrefix("HTTP/1.0 200")
}
