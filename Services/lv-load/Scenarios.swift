import ArgumentParser
import Foundation
import Load
import LVAPI
import LVDomain
import LVMessages
import LVRPC
import NIOConcurrencyHelpers
import Simulation

/// `lv-load checkin`: the burst at an event's start — every participant checks in at once.
struct CheckInBurst: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkin",
        abstract: "Registration check-ins at event start: sets up an activity and enrolled physicians, then measures CheckIn.")
    @OptionGroup var load: LoadOptions
    @Option(help: "Physicians enrolled (set up before measuring).") var physicians = 1000

    func run() async throws {
        let client = try load.client(default: DefaultPorts.loopback(DefaultPorts.registration))
        let registration = Lv.Registration.V1.Registration.Client(client)
        let activityID = "load-checkin-\(Int(Date().timeIntervalSince1970))"
        let start = Int64(Date().timeIntervalSince1970 * 1000)
        var a = Lv_Registration_V1_Activity()
        var o = Lv_Registration_V1_LearningObjective()
        (o.id, o.text) = ("obj", "Objective")
        (a.activityId, a.title, a.type, a.startDate, a.endDate, a.maxCredits, a.targetMooreLevel, a.objectives) =
            (activityID, "Load test", .internetLiveCourse, "2026-01-01", "2030-12-31", 1, 1, [o])
        var ca = Lv_Registration_V1_CreateActivityRequest()
        (ca.requestId, ca.activity) = (activityID, a)
        _ = try await registration.createActivity(ca)
        var s = Lv_Registration_V1_Session()
        (s.sessionId, s.activityId, s.title, s.startMs, s.endMs) = ("\(activityID)-s", activityID, "Session", start, start + 4 * 3_600_000)
        var ss = Lv_Registration_V1_AddSessionRequest()
        (ss.requestId, ss.session) = ("\(activityID)-s", s)
        _ = try await registration.addSession(ss)
        FileHandle.standardError.write(Data("setting up \(physicians) enrolled physicians…\n".utf8))
        let npis = (0..<physicians).map(CMESimulation.npi)
        for npi in npis {
            var p = Lv_Registration_V1_Physician()
            (p.npi, p.givenName, p.familyName) = (npi, "Load", npi)
            var r = Lv_Registration_V1_RegisterPhysicianRequest()
            (r.requestId, r.physician) = ("load-reg-\(npi)", p)
            _ = try? await registration.registerPhysician(r)
            var e = Lv_Registration_V1_EnrollRequest()
            (e.requestId, e.activityId, e.npi, e.cohort) = ("\(activityID)-\(npi)", activityID, npi, .participant)
            _ = try await registration.enroll(e)
        }
        let next = NIOLockedValueBox(0)
        let options = load.callOptions
        let sessionID = s.sessionId
        try await load.run("lv.registration.v1.Registration/CheckIn", clients: [client]) {
            let i = next.withLockedValue { $0 += 1; return $0 }
            var r = Lv_Registration_V1_CheckInRequest()
            (r.npi, r.sessionId, r.atMs) = (npis[i % npis.count], sessionID, start + Int64(i % 600) * 1000)
            _ = try await registration.checkIn(r, options: options)
        }
        await client.close()
    }
}

/// `lv-load submit`: post-test submissions at session end, each from a new physician.
struct Submissions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit", abstract: "Assessment SubmitResponses at session end (10-item post-test, a new physician per call).")
    @OptionGroup var load: LoadOptions

    func run() async throws {
        let client = try load.client(default: DefaultPorts.loopback(DefaultPorts.assessment))
        let assessment = Lv.Assessment.V1.Assessment.Client(client)
        let instrumentID = "load-post-\(Int(Date().timeIntervalSince1970))"
        var i = Lv_Assessment_V1_Instrument()
        (i.instrumentId, i.activityId, i.kind, i.title) = (instrumentID, "load-activity", .postTest, "Load post-test")
        i.items = (0..<10).map { n in
            var item = Lv_Assessment_V1_Item()
            (item.itemId, item.type, item.objectiveId, item.options, item.key) = ("q\(n)", .multipleChoice, "obj", ["A", "B", "C", "D"], 1)
            return item
        }
        var ci = Lv_Assessment_V1_CreateInstrumentRequest()
        (ci.requestId, ci.instrument) = (instrumentID, i)
        _ = try await assessment.createInstrument(ci)
        let next = NIOLockedValueBox(0)
        let options = load.callOptions
        try await load.run("lv.assessment.v1.Assessment/SubmitResponses", clients: [client]) {
            let n = next.withLockedValue { $0 += 1; return $0 }
            var r = Lv_Assessment_V1_SubmitResponsesRequest()
            (r.submissionId, r.instrumentId, r.npi) = ("\(instrumentID)-\(n)", instrumentID, CMESimulation.npi(n))
            r.answers = (0..<10).map { k in
                var a = Lv_Assessment_V1_Answer()
                (a.itemId, a.value, a.confidence) = ("q\(k)", .choice(UInt32((n + k) % 4)), 3)
                return a
            }
            _ = try await assessment.submitResponses(r, options: options)
        }
        await client.close()
    }
}

/// `lv-load view`: gateway reads of one activity's validation view.
struct ViewReads: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "view", abstract: "Gateway GetActivityValidation reads of one activity.")
    @OptionGroup var load: LoadOptions
    @Option var activity = "sim-hf-2026"

    func run() async throws {
        let client = try load.client(default: DefaultPorts.loopback(DefaultPorts.gateway))
        let gateway = Lv.Gateway.V1.Gateway.Client(client)
        var r = Lv_Gateway_V1_GetActivityValidationRequest()
        r.activityId = activity
        let request = r
        _ = try await gateway.getActivityValidation(request, options: load.callOptions)
        let options = load.callOptions
        try await load.run("lv.gateway.v1.Gateway/GetActivityValidation", clients: [client]) {
            let view = try await gateway.getActivityValidation(request, options: options)
            if let missing = view.degraded.first { throw RPCError(missing.code, "degraded view: \(missing.section)") }
        }
        await client.close()
    }
}

/// `lv-load event`: whole simulated events through all three services, each call one activity.
struct WholeEvent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event", abstract: "Whole simulated CME events (registration, engagement, assessment); each call simulates one activity.")
    @OptionGroup var load: LoadOptions
    @Option var participants = 50
    @Option var comparison = 10
    @Option(name: .customLong("registration-addr")) var registration = DefaultPorts.loopback(DefaultPorts.registration)
    @Option(name: .customLong("engagement-addr")) var engagement = DefaultPorts.loopback(DefaultPorts.engagement)
    @Option(name: .customLong("assessment-addr")) var assessment = DefaultPorts.loopback(DefaultPorts.assessment)

    func run() async throws {
        func client(_ address: String) throws -> RPCClient {
            var c = try RPCClient.Configuration(address: address)
            c.connections = max(1, load.connections)
            c.clientName = "lv-load"
            try load.security().apply(to: &c)
            return RPCClient(configuration: c)
        }
        let clients = try [client(registration), client(engagement), client(assessment)]
        let next = NIOLockedValueBox(0)
        let stamp = Int(Date().timeIntervalSince1970)
        let (participants, comparison) = (participants, comparison)
        try await load.run("simulated event (\(participants)+\(comparison) physicians)", unit: "physicians", perCall: participants + comparison) {
            let n = next.withLockedValue { $0 += 1; return $0 }
            var c = CMESimulation.Configuration()
            (c.activityID, c.participants, c.comparison, c.seed) = ("load-event-\(stamp)-\(n)", participants, comparison, UInt64(n))
            try await CMESimulation(configuration: c, registration: clients[0], engagement: clients[1], assessment: clients[2]).run()
        }
        for c in clients { await c.close() }
    }
}
