import Foundation
import Hummingbird
import HTTPTypes
import LVAPI
import LVMessages
import LVRPC
import Logging
import Metrics
import NIOCore
import WebPages

/// lv-web's routes: every page is read from the gateway with the signed-in session's key and
/// rendered by `WebPages`; nothing is stored but the sessions.
public struct WebConfiguration: Sendable {
    public var gatewayHost: String
    public var gatewayPort: Int
    /// Mark cookies Secure (lv-web served over TLS, or behind a TLS-terminating proxy).
    public var secureCookies: Bool
    public var sessionLifetime: TimeInterval
    /// How long one page may wait for the gateway.
    public var callTimeout: TimeAmount
    public init(gatewayHost: String, gatewayPort: Int, secureCookies: Bool = false, sessionLifetime: TimeInterval = 8 * 3600,
                callTimeout: TimeAmount = .seconds(20)) {
        (self.gatewayHost, self.gatewayPort, self.secureCookies, self.sessionLifetime, self.callTimeout) =
            (gatewayHost, gatewayPort, secureCookies, sessionLifetime, callTimeout)
    }
}

/// An HTTP answer that is not a page of data: a redirect, or an error with its status.
struct WebFailure: Error {
    var status: HTTPResponse.Status
    var message: String
}

public final class WebApp: Sendable {
    let configuration: WebConfiguration
    let sessions: SessionStore
    let logger: Logger
    let renderTimer = Metrics.Timer(label: "lv_web_render_seconds")

    public init(configuration: WebConfiguration, logger: Logger) {
        self.configuration = configuration
        self.sessions = SessionStore(lifetime: configuration.sessionLifetime)
        self.logger = logger
    }

    public func close() async { await sessions.closeAll() }

    static let securityHeaders: [(HTTPField.Name, String)] = [
        (.contentSecurityPolicy, "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
        (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
    ]

    func respond(_ status: HTTPResponse.Status, contentType: String, body: String, request: Request? = nil,
                 cacheable: Bool = false, extra: [(HTTPField.Name, String)] = []) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        for (k, v) in Self.securityHeaders + extra { headers.append(HTTPField(name: k, value: v)) }
        if cacheable {
            // Private (behind sign-in), revalidated every time: the same view gives the same bytes and a 304.
            let tag = Access.etag(body)
            headers[.eTag] = tag
            headers[.cacheControl] = "private, no-cache"
            if Access.notModified(ifNoneMatch: request?.headers[.ifNoneMatch], etag: tag) {
                return Response(status: .notModified, headers: headers)
            }
        } else {
            headers[.cacheControl] = "no-store"
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    func html(_ page: HTML, request: Request, status: HTTPResponse.Status = .ok, cacheable: Bool = true, extra: [(HTTPField.Name, String)] = []) -> Response {
        respond(status, contentType: "text/html; charset=utf-8", body: page.text, request: request, cacheable: cacheable, extra: extra)
    }

    func csvResponse(_ text: String, filename: String, request: Request) -> Response {
        respond(.ok, contentType: "text/csv; charset=utf-8", body: text, request: request, cacheable: true,
                extra: [(.contentDisposition, "attachment; filename=\"\(filename.filter { $0.isLetter || $0.isNumber || "-_.".contains($0) })\"")])
    }

    func redirect(_ location: String, extra: [(HTTPField.Name, String)] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        for (k, v) in Self.securityHeaders + extra { headers.append(HTTPField(name: k, value: v)) }
        return Response(status: .seeOther, headers: headers)
    }

    func sessionCookie(_ value: String, maxAge: Int) -> (HTTPField.Name, String) {
        (.setCookie, Access.setCookie(name: Access.sessionCookie, value: value, maxAge: maxAge, secure: configuration.secureCookies))
    }

    /// The signed-in session, or the answer for a request without one: pages redirect to the
    /// sign-in form, downloads get 401.
    func session(_ request: Request) async -> Result<Session, WebFailure> {
        let id = Access.cookies(request.headers[.cookie])[Access.sessionCookie]
        if let s = await sessions.get(id) { return .success(s) }
        return .failure(WebFailure(status: .unauthorized, message: "sign in first"))
    }

    func unauthenticated(_ request: Request) -> Response {
        let path = request.uri.path
        if path.hasSuffix(".csv") {
            return respond(.unauthorized, contentType: "text/plain; charset=utf-8", body: "401: sign in first (POST /login with an API key)\n",
                           extra: [(.wwwAuthenticate, "Cookie realm=\"lv-web\"")])
        }
        let next = request.uri.query.map { path + "?" + $0 } ?? path
        return redirect("/login?next=\(percentEncode(next))")
    }

    /// Calls the gateway with the session's client; maps its refusals onto HTTP statuses.
    func gateway<R: Sendable>(_ session: Session, _ body: (Lv.Gateway.V1.Gateway.Client, CallOptions) async throws -> R) async throws -> R {
        do {
            return try await body(Lv.Gateway.V1.Gateway.Client(session.client), CallOptions(timeout: configuration.callTimeout))
        } catch let e as RPCError {
            switch e.code {
            case .notFound: throw WebFailure(status: .notFound, message: e.message)
            case .invalidArgument: throw WebFailure(status: .badRequest, message: e.message)
            case .unauthenticated:
                await sessions.remove(session.id)
                throw WebFailure(status: .unauthorized, message: "the gateway no longer accepts this key: \(e.message)")
            case .permissionDenied: throw WebFailure(status: .forbidden, message: "the gateway refused this key: \(e.message)")
            default: throw WebFailure(status: .serviceUnavailable, message: "the gateway could not answer (\(e.code.protoName)): \(e.message)")
            }
        }
    }

    func failure(_ f: WebFailure, request: Request, viewer: Pages.Viewer?) -> Response {
        if request.uri.path.hasSuffix(".csv") {
            return respond(f.status, contentType: "text/plain; charset=utf-8", body: "\(f.status.code): \(f.message)\n")
        }
        return html(Pages.error(status: Int(f.status.code), title: f.status.reasonPhrase, message: f.message, viewer: viewer),
                    request: request, status: f.status, cacheable: false)
    }

    /// Runs a page handler for a signed-in session; `analystOnly` pages refuse a physician session with 403.
    func page(_ request: Request, analystOnly: Bool, _ body: (Session) async throws -> Response) async -> Response {
        let s: Session
        switch await session(request) {
        case .success(let x): s = x
        case .failure: return unauthenticated(request)
        }
        if analystOnly, s.physicianNPI != nil {
            return failure(WebFailure(status: .forbidden, message: "a physician session shows only its own transcript"), request: request, viewer: s.viewer)
        }
        do {
            return try await body(s)
        } catch let f as WebFailure {
            if f.status == .unauthorized { return unauthenticated(request) }
            return failure(f, request: request, viewer: s.viewer)
        } catch {
            logger.error("page failed", metadata: ["route": "\(request.uri.path.split(separator: "/").first ?? "")", "error": "\(type(of: error))"])
            return failure(WebFailure(status: .internalServerError, message: "the page could not be rendered"), request: request, viewer: s.viewer)
        }
    }

    func allSummaries(_ s: Session) async throws -> [ActivitySummary] {
        var out: [ActivitySummary] = []
        var token = ""
        repeat {
            var r = Lv_Gateway_V1_ListActivityValidationsRequest()
            (r.pageSize, r.pageToken) = (100, token)
            let page = try await gateway(s) { try await $0.listActivityValidations(r, options: $1) }
            out += page.activities
            token = page.nextPageToken
        } while !token.isEmpty && out.count < 100_000
        return out
    }

    func activityView(_ s: Session, _ id: String) async throws -> ActivityView {
        var r = Lv_Gateway_V1_GetActivityValidationRequest()
        r.activityId = id
        return try await gateway(s) { try await $0.getActivityValidation(r, options: $1) }
    }

    func rendered(_ body: () -> HTML) -> HTML {
        let start = ContinuousClock.now
        let page = body()
        let d = ContinuousClock.now - start
        renderTimer.recordNanoseconds(d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000)
        return page
    }

    // MARK: Routes

    public func router() -> Hummingbird.Router<BasicRequestContext> {
        let router = Hummingbird.Router(context: BasicRequestContext.self)
        router.middlewares.add(MetricsMiddleware())
        router.get("/static/lv.css") { request, _ in
            self.respond(.ok, contentType: "text/css; charset=utf-8", body: Stylesheet.css, request: request, cacheable: true)
        }
        router.get("/healthz") { _, _ in Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("/") { request, _ in
            switch await self.session(request) {
            case .success(let s): return self.redirect(s.physicianNPI.map { "/physicians/\($0)" } ?? "/activities")
            case .failure: return self.redirect("/login")
            }
        }
        router.get("/login") { request, _ in
            let csrf = Access.token()
            let next = Access.safeNext(request.uri.queryParameters.get("next")) ?? ""
            return self.html(Pages.login(csrfToken: csrf, next: next), request: request, cacheable: false,
                             extra: [(.setCookie, Access.setCookie(name: Access.loginCSRFCookie, value: csrf, maxAge: 3600, secure: self.configuration.secureCookies))])
        }
        router.post("/login") { request, _ in await self.login(request) }
        router.post("/logout") { request, _ in await self.logout(request) }
        router.get("/activities") { request, _ in
            await self.page(request, analystOnly: true) { s in
                let all = try await self.allSummaries(s)
                let q = request.uri.queryParameters
                let sort = q.get("sort").flatMap { Presentation.SortKey(rawValue: String($0)) } ?? .activity
                let level = q.get("level").map { String($0) } ?? ""
                let page = self.rendered { Pages.activities(all, query: q.get("q").map { String($0) } ?? "",
                                                            minimumLevel: Presentation.levelOrder.contains(level) ? level : "",
                                                            sort: sort, descending: q.get("dir") == "desc", viewer: s.viewer) }
                return self.html(page, request: request)
            }
        }
        router.get("/activities.csv") { request, _ in
            await self.page(request, analystOnly: true) { s in
                self.csvResponse(Pages.activitiesCSV(try await self.allSummaries(s)), filename: "activities.csv", request: request)
            }
        }
        router.get("/activities/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.page(request, analystOnly: true) { s in
                let v = try await self.activityView(s, Access.percentDecode(id))
                return self.html(self.rendered { Pages.activity(v, viewer: s.viewer) }, request: request)
            }
        }
        router.get("/activities/:id/:part") { request, context in
            let id = Access.percentDecode(context.parameters.get("id") ?? "")
            let part = context.parameters.get("part") ?? ""
            return await self.page(request, analystOnly: true) { s in
                let csvs: [String: (ActivityView) -> String] = ["ladder.csv": Pages.ladderCSV, "objectives.csv": Pages.objectivesCSV,
                                                                "practice.csv": Pages.practiceCSV, "gap.csv": Pages.gapCSV]
                guard part == "report" || csvs[part] != nil else { throw WebFailure(status: .notFound, message: "no such page") }
                let v = try await self.activityView(s, id)
                if part == "report" { return self.html(self.rendered { Pages.outcomesReport(v, viewer: s.viewer) }, request: request) }
                return self.csvResponse(csvs[part]!(v), filename: "\(id)-\(part)", request: request)
            }
        }
        router.get("/physicians/:npi") { request, context in
            var npi = context.parameters.get("npi") ?? ""
            let wantsCSV = npi.hasSuffix(".csv")
            if wantsCSV { npi = String(npi.dropLast(4)) }
            return await self.page(request, analystOnly: false) { s in
                if let own = s.physicianNPI, own != npi {
                    throw WebFailure(status: .forbidden, message: "a physician session shows only its own transcript")
                }
                var r = Lv_Gateway_V1_GetPhysicianTranscriptRequest()
                r.npi = npi
                let tr = try await self.gateway(s) { try await $0.getPhysicianTranscript(r, options: $1) }
                if wantsCSV { return self.csvResponse(Pages.transcriptCSV(tr), filename: "transcript.csv", request: request) }
                return self.html(self.rendered { Pages.physician(tr, viewer: s.viewer) }, request: request)
            }
        }
        return router
    }

    func formBody(_ request: Request) async -> [String: String] {
        var r = request
        guard let buffer = try? await r.collectBody(upTo: 16 * 1024) else { return [:] }
        return Access.form(String(buffer: buffer))
    }

    /// POST /login: the CSRF double-submit check, then the key is tried on the gateway (the
    /// gateway decides: an analyst key must list activities, a physician key must read that
    /// physician's transcript). Only then is a session made.
    func login(_ request: Request) async -> Response {
        let form = await formBody(request)
        let cookie = Access.cookies(request.headers[.cookie])[Access.loginCSRFCookie] ?? ""
        guard Access.constantTimeEqual(form["csrf"] ?? "", cookie) else {
            return failure(WebFailure(status: .forbidden, message: "the sign-in form expired or did not come from this site; reload it"), request: request, viewer: nil)
        }
        let key = form["key"] ?? ""
        let npi = (form["npi"] ?? "").trimmingCharacters(in: .whitespaces)
        let next = Access.safeNext(form["next"])
        func again(_ status: HTTPResponse.Status, _ message: String) -> Response {
            let csrf = Access.token()
            return html(Pages.login(csrfToken: csrf, error: message, next: next ?? ""), request: request, status: status, cacheable: false,
                        extra: [(.setCookie, Access.setCookie(name: Access.loginCSRFCookie, value: csrf, maxAge: 3600, secure: configuration.secureCookies))])
        }
        guard !key.isEmpty, key.utf8.count <= 4096 else { return again(.badRequest, "key: required, at most 4096 bytes") }
        guard npi.isEmpty || Access.isNPIShaped(npi) else { return again(.badRequest, "npi: ten digits, or empty for an analyst key") }
        var c = RPCClient.Configuration(host: configuration.gatewayHost, port: configuration.gatewayPort, credential: key, clientName: "lv-web",
                                        connectTimeout: .seconds(5))
        c.logger = logger
        let client = RPCClient(configuration: c)
        let options = CallOptions(timeout: configuration.callTimeout)
        do {
            let g = Lv.Gateway.V1.Gateway.Client(client)
            if npi.isEmpty {
                var r = Lv_Gateway_V1_ListActivityValidationsRequest()
                r.pageSize = 1
                _ = try await g.listActivityValidations(r, options: options)
            } else {
                var r = Lv_Gateway_V1_GetPhysicianTranscriptRequest()
                r.npi = npi
                _ = try await g.getPhysicianTranscript(r, options: options)
            }
        } catch let e as RPCError {
            await client.close()
            switch e.code {
            case .unauthenticated, .permissionDenied: return again(.unauthorized, "the gateway refused this key (\(e.code.protoName))")
            case .invalidArgument, .notFound: return again(.badRequest, "the gateway refused the sign-in: \(e.message)")
            default: return again(.serviceUnavailable, "the gateway could not be reached (\(e.code.protoName)); try again")
            }
        } catch {
            await client.close()
            return again(.serviceUnavailable, "the gateway could not be reached; try again")
        }
        let session = await sessions.add(csrf: Access.token(), physicianNPI: npi.isEmpty ? nil : npi, client: client)
        logger.info("signed in", metadata: ["scope": "\(npi.isEmpty ? "analyst" : "physician")"])
        let target = npi.isEmpty ? (next ?? "/activities") : "/physicians/\(npi)"
        return redirect(target, extra: [sessionCookie(session.id, maxAge: Int(configuration.sessionLifetime)),
                                        (.setCookie, Access.setCookie(name: Access.loginCSRFCookie, value: "", maxAge: 0, secure: configuration.secureCookies))])
    }

    /// POST /logout: only with the session's CSRF token.
    func logout(_ request: Request) async -> Response {
        guard case .success(let s) = await session(request) else { return redirect("/login") }
        let form = await formBody(request)
        guard Access.constantTimeEqual(form["csrf"] ?? "", s.csrf) else {
            return failure(WebFailure(status: .forbidden, message: "missing or wrong CSRF token"), request: request, viewer: s.viewer)
        }
        await sessions.remove(s.id)
        return redirect("/login", extra: [sessionCookie("", maxAge: 0)])
    }
}
