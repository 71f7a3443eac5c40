import ArgumentParser
import Foundation
import LVDomain
import LVAPI
import LVJSON
import LVMessages
import LVRPC
import RegistrationDomain

/// `lvctl registration …`: what an operator needs around the participation and credit record.
struct RegistrationCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registration",
        abstract: "Physicians, activities, enrollment, attendance and credit (lv-registration, default \(DefaultPorts.loopback(DefaultPorts.registration))).",
        subcommands: [CreateActivity.self, Register.self, Enroll.self, ListCommand.self])
}

/// Connection flags defaulting to the registration service's port.
struct RegistrationConnection: ParsableArguments {
    @Option(name: .customLong("addr"), help: "Registration address HOST:PORT (env LV_REGISTRATION_ADDR; default \(DefaultPorts.loopback(DefaultPorts.registration))).")
    var address: String?

    @Option(help: "Seconds to wait for each answer.")
    var timeout: Int = 10

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup(title: "Credentials and TLS") var security: ClientSecurityOptions

    func withClient<R>(_ body: (Lv.Registration.V1.Registration.Client) async throws -> R) async throws -> R {
        let target = ServerTarget(address: address ?? ProcessEnvironment.value("LV_REGISTRATION_ADDR") ?? DefaultPorts.loopback(DefaultPorts.registration),
                                  timeout: timeout)
        return try await target.withClient { client in
            do {
                return try await body(Lv.Registration.V1.Registration.Client(client))
            } catch let error as RPCError {
                throw ErrorJSON.fail(error, command: "registration", json: json)
            }
        }
    }
}

/// The activity file `create-activity` reads (see `docs/OPERATIONS.md`).
struct ActivityFile: Codable {
    struct Objective: Codable {
        var id: String
        var text: String
        /// Planning: "3A", "3B", "4", "5" or "6".
        var desired_level: String?
        /// Planning: practice or patient-outcome measure codes mapped to the objective.
        var measure_codes: [String]?
    }
    /// The planning record (docs/REGISTRATION.md "Planning").
    struct PlanningSpec: Codable {
        var practice_gap: String
        /// literature, quality_data, needs_survey, prior_outcomes, expert_opinion, other.
        var evidence_sources: [String]
        var evidence_detail: String?
        /// physician, nurse, pharmacist, pa, psychologist, other.
        var target_professions: [String]
        var specialties: [String]?
    }
    struct SessionSpec: Codable {
        var session_id: String?
        var title: String
        var start: String
        var end: String
        var objectives: [String]?
    }
    struct DesignedToChange: Codable {
        var competence: Bool?
        var performance: Bool?
        var patient_outcomes: Bool?
    }
    var activity_id: String?
    var title: String
    var type: String
    var start_date: String
    var end_date: String
    var max_credits: Double
    var target_moore_level: UInt32
    var objectives: [Objective]
    var designed_to_change: DesignedToChange?
    var sessions: [SessionSpec]?
    struct Credit: Codable {
        /// AMA_PRA_1, ANCC, ACPE, AAPA_1 or IPCE.
        var type: String
        var max: Double
        var acpe_uan: String?
    }
    struct MOC: Codable {
        var board: String
        var points: Double
        var passing_score: Double
    }
    var credits: [Credit]?
    var moc: [MOC]?
    var planning: PlanningSpec?
}

func parseInstant(_ text: String, field: String) throws -> Int64 {
    let formatter = ISO8601DateFormatter()
    guard let date = formatter.date(from: text) else {
        throw ValidationError("\(field): '\(text)' is not an ISO 8601 time like 2026-11-26T09:00:00Z")
    }
    return Int64((date.timeIntervalSince1970 * 1000).rounded())
}

/// A request id derived from the content, so running the same command twice is a safe retry.
func contentRequestID(_ prefix: String, _ parts: [String]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a
    for byte in parts.joined(separator: "\u{1f}").utf8 {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01b3
    }
    return "\(prefix)-\(String(hash, radix: 16))"
}

struct CreateActivity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-activity",
        abstract: "Create an activity and its sessions from a JSON file.",
        discussion: """
        The file: {"title", "type" (ACCME code: C, RSS, IL, EM, IEM, JN, MR, TIW, CML, PI, ISL, LFT), "start_date", "end_date"
        (YYYY-MM-DD), "max_credits", "target_moore_level" (1-7), "objectives": [{"id", "text"}], optional "activity_id",
        "designed_to_change": {"competence", "performance", "patient_outcomes"}, "sessions": [{"title", "start", "end"
        (ISO 8601), "objectives": [ids]}], "planning": {"practice_gap", "evidence_sources": [literature, quality_data,
        needs_survey, prior_outcomes, expert_opinion, other], "evidence_detail", "target_professions": [physician, nurse, …],
        "specialties"}; objectives may add "desired_level" (3A, 3B, 4, 5, 6) and "measure_codes"}. Running it again with
        the same file is a safe retry.
        """)

    @OptionGroup var connection: RegistrationConnection

    @Option(help: "The activity JSON file.")
    var file: String

    func run() async throws {
        let data = try StrictInput.read(file)
        let spec = try StrictInput.decode(ActivityFile.self, from: data, file: file)
        guard let type = ACCMECode.type(spec.type) else {
            throw ValidationError("\(file): type '\(spec.type)' is not an ACCME code (\(ACCMECode.allCodes.joined(separator: ", ")))")
        }
        var activity = Activity()
        activity.activityId = spec.activity_id ?? ""
        activity.title = spec.title
        activity.type = type
        activity.startDate = spec.start_date
        activity.endDate = spec.end_date
        activity.maxCredits = spec.max_credits
        activity.targetMooreLevel = spec.target_moore_level
        activity.objectives = spec.objectives.map { o in
            var x = Lv_Registration_V1_LearningObjective()
            x.id = o.id
            x.text = o.text
            x.desiredLevel = o.desired_level ?? ""
            x.measureCodes = o.measure_codes ?? []
            return x
        }
        if let p = spec.planning {
            var plan = Planning()
            plan.practiceGap = p.practice_gap
            plan.evidenceDetail = p.evidence_detail ?? ""
            plan.specialties = p.specialties ?? []
            plan.evidenceSources = try p.evidence_sources.map { name in
                guard let s = GapEvidenceSource.allCases.first(where: { $0 != .unspecified && $0.protoName == "GAP_EVIDENCE_SOURCE_" + name.uppercased() }) else {
                    throw ValidationError("\(file): planning.evidence_sources: '\(name)' is not one of literature, quality_data, needs_survey, prior_outcomes, expert_opinion, other")
                }
                return s
            }
            plan.targetProfessions = try p.target_professions.map { name in
                guard let prof = Register.professions[name.lowercased()] else {
                    throw ValidationError("\(file): planning.target_professions: '\(name)' is not one of \(Register.professions.keys.sorted().joined(separator: ", "))")
                }
                return prof
            }
            activity.planning = plan
        }
        var d = Lv_Registration_V1_DesignedToChange()
        d.competence = spec.designed_to_change?.competence ?? false
        d.performance = spec.designed_to_change?.performance ?? false
        d.patientOutcomes = spec.designed_to_change?.patient_outcomes ?? false
        activity.designedToChange = d
        activity.creditOffers = try (spec.credits ?? []).map { c in
            guard let t = CreditType.allCases.first(where: { $0 != .unspecified && PARSExport.code($0) == c.type.uppercased() }) else {
                throw ValidationError("\(file): credit type '\(c.type)' is not one of AMA_PRA_1, ANCC, ACPE, AAPA_1, IPCE")
            }
            var o = CreditOffer()
            (o.type, o.maxAmount, o.acpeUan) = (t, c.max, c.acpe_uan ?? "")
            return o
        }
        activity.moc = (spec.moc ?? []).map { m in
            var o = MocOffer()
            (o.board, o.points, o.passingScore) = (m.board, m.points, m.passing_score)
            return o
        }
        let sessions = try (spec.sessions ?? []).enumerated().map { i, s in
            var x = Session()
            x.sessionId = s.session_id ?? ""
            x.title = s.title
            x.startMs = try parseInstant(s.start, field: "sessions[\(i)].start")
            x.endMs = try parseInstant(s.end, field: "sessions[\(i)].end")
            x.objectiveIds = s.objectives ?? []
            return x
        }
        let fileID = contentRequestID("lvctl-activity", [String(decoding: data, as: UTF8.self)])
        try await connection.withClient { client in
            var request = Lv_Registration_V1_CreateActivityRequest()
            request.requestId = fileID
            request.activity = activity
            let created = try await client.createActivity(request).activity!
            var sessionIDs: [String] = []
            for (i, var s) in sessions.enumerated() {
                s.activityId = created.activityId
                var r = Lv_Registration_V1_AddSessionRequest()
                r.requestId = "\(fileID)-session-\(i)"
                r.session = s
                sessionIDs.append(try await client.addSession(r).session!.sessionId)
            }
            if connection.json {
                print(JSONValue.object([.init("activity_id", .string(created.activityId)),
                                        .init("sessions", .array(sessionIDs.map { .string($0) }))]).rendered())
            } else {
                print("activity \(created.activityId): \(created.title)")
                for id in sessionIDs { print("  session \(id)") }
            }
        }
    }
}

struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Register a physician (the same data again is a no-op).")

    @OptionGroup var connection: RegistrationConnection
    @Option var npi: String
    @Option(name: .customLong("given-name")) var givenName: String
    @Option(name: .customLong("family-name")) var familyName: String
    @Option var specialty = ""
    @Option(help: "STATE:NUMBER, repeatable.") var licence: [String] = []
    @Option(help: "BOARD:ID, repeatable.") var board: [String] = []
    @Option(help: "Birth month and day, MM-DD.") var birth: String?
    @Option var email = ""
    @Option(help: "physician, nurse, pharmacist, pa, psychologist or other.") var profession = "physician"
    @Option(help: "NABP e-Profile ID (pharmacists).") var nabp = ""
    @Flag(name: .customLong("pars-consent"), help: "The learner agreed to be reported to ACCME PARS and their boards.") var parsConsent = false

    static let professions: [String: Profession] = ["physician": .physician, "nurse": .nurse, "pharmacist": .pharmacist,
                                                    "pa": .physicianAssistant, "psychologist": .psychologist, "other": .other]

    func run() async throws {
        var p = Physician()
        guard let prof = Self.professions[profession.lowercased()] else {
            throw ValidationError("--profession: '\(profession)' is not one of \(Self.professions.keys.sorted().joined(separator: ", "))")
        }
        p.profession = prof
        p.nabpEprofileId = nabp
        p.parsConsent = parsConsent
        p.npi = npi
        p.givenName = givenName
        p.familyName = familyName
        p.specialty = specialty
        p.email = email
        p.licences = try licence.map { text in
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--licence: '\(text)' is not STATE:NUMBER") }
            var l = Lv_Registration_V1_Licence()
            l.state = parts[0].uppercased()
            l.number = parts[1]
            return l
        }
        p.boardIds = try board.map { text in
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--board: '\(text)' is not BOARD:ID") }
            var b = Lv_Registration_V1_BoardId()
            b.board = parts[0]
            b.id = parts[1]
            return b
        }
        if let birth {
            let parts = birth.split(separator: "-").compactMap { UInt32($0) }
            guard parts.count == 2 else { throw ValidationError("--birth: '\(birth)' is not MM-DD") }
            (p.birthMonth, p.birthDay) = (parts[0], parts[1])
        }
        let physician = p
        try await connection.withClient { client in
            var r = Lv_Registration_V1_RegisterPhysicianRequest()
            r.requestId = contentRequestID("lvctl-register", [try physician.serializedBytes().map(String.init).joined()])
            r.physician = physician
            let response = try await client.registerPhysician(r)
            if connection.json { print(try MessageJSON.text(response)); return }
            print("\(response.created ? "registered" : "already registered") \(physician.npi) \(physician.givenName) \(physician.familyName)")
        }
    }
}

struct Enroll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Enroll a physician in an activity's participant or comparison cohort.")

    @OptionGroup var connection: RegistrationConnection
    @Option var activity: String
    @Option var npi: String
    @Option(help: "participant or comparison.") var cohort = "participant"

    func run() async throws {
        let c: Cohort
        switch cohort {
        case "participant": c = .participant
        case "comparison": c = .comparison
        default: throw ValidationError("--cohort: '\(cohort)' is not participant or comparison")
        }
        try await connection.withClient { client in
            var r = Lv_Registration_V1_EnrollRequest()
            r.requestId = contentRequestID("lvctl-enroll", [activity, npi, cohort])
            r.activityId = activity
            r.npi = npi
            r.cohort = c
            let response = try await client.enroll(r)
            if connection.json { print(try MessageJSON.text(response)); return }
            let e = response.enrollment!
            print("enrolled \(e.npi) in \(e.activityId) (\(cohort))")
        }
    }
}

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List physicians, activities, sessions, enrollments, attendance or credits (every page).")

    enum What: String, ExpressibleByArgument, CaseIterable {
        case physicians, activities, sessions, enrollments, attendance, credits
    }

    @OptionGroup var connection: RegistrationConnection
    @Argument(help: "physicians, activities, sessions, enrollments, attendance or credits") var what: What
    @Option var activity = ""
    @Option var npi = ""
    @Option var specialty = ""
    @Option var state = ""

    func run() async throws {
        try await connection.withClient { client in
            var rows: [[String]] = []
            var header: [String] = []
            var kinds: [Column] = []
            var token = ""
            repeat {
                switch what {
                case .physicians:
                    header = ["npi", "given_name", "family_name", "specialty", "licences"]
                    kinds = [.text, .text, .text, .text, .list]
                    var r = Lv_Registration_V1_ListPhysiciansRequest()
                    (r.specialty, r.licenceState, r.pageToken) = (specialty, state, token)
                    let page = try await client.listPhysicians(r)
                    rows += page.physicians.map { [$0.npi, $0.givenName, $0.familyName, $0.specialty,
                                                   $0.licences.map { "\($0.state):\($0.number)" }.joined(separator: ",")] }
                    token = page.nextPageToken
                case .activities:
                    header = ["activity_id", "type", "title", "start_date", "max_credits", "objectives"]
                    kinds = [.text, .text, .text, .text, .number, .number]
                    var r = Lv_Registration_V1_ListActivitiesRequest()
                    r.pageToken = token
                    let page = try await client.listActivities(r)
                    rows += page.activities.map { [$0.activityId, ACCMECode.code($0.type) ?? "?", $0.title, $0.startDate,
                                                   CreditRules.format($0.maxCredits), "\($0.objectives.count)"] }
                    token = page.nextPageToken
                case .sessions:
                    header = ["session_id", "title", "start_ms", "end_ms", "objectives"]
                    kinds = [.text, .text, .number, .number, .list]
                    var r = Lv_Registration_V1_ListSessionsRequest()
                    r.activityId = activity
                    rows += try await client.listSessions(r).sessions.map {
                        [$0.sessionId, $0.title, "\($0.startMs)", "\($0.endMs)", $0.objectiveIds.joined(separator: ",")]
                    }
                case .enrollments:
                    header = ["npi", "cohort", "enrolled_ms", "withdrawn_ms"]
                    kinds = [.text, .text, .number, .number]
                    var r = Lv_Registration_V1_ListEnrollmentsRequest()
                    (r.activityId, r.pageToken, r.includeWithdrawn) = (activity, token, true)
                    let page = try await client.listEnrollments(r)
                    rows += page.enrollments.map { [$0.npi, $0.cohort.protoName, "\($0.enrolledMs)", "\($0.withdrawnMs)"] }
                    token = page.nextPageToken
                case .attendance:
                    header = ["npi", "minutes_present", "sessions_attended"]
                    kinds = [.text, .number, .number]
                    var r = Lv_Registration_V1_GetAttendanceRequest()
                    (r.activityId, r.npi, r.pageToken) = (activity, npi, token)
                    let page = try await client.getAttendance(r)
                    rows += page.physicians.map { [$0.npi, "\($0.minutesPresent)", "\($0.sessionsAttended)"] }
                    token = page.nextPageToken
                case .credits:
                    header = ["activity_id", "npi", "credits", "minutes_attended", "claimed_ms"]
                    kinds = [.text, .text, .number, .number, .number]
                    var r = Lv_Registration_V1_ListCreditsRequest()
                    (r.activityId, r.npi, r.pageToken) = (activity, npi, token)
                    let page = try await client.listCredits(r)
                    rows += page.claims.map { [$0.activityId, $0.npi, CreditRules.format($0.credits), "\($0.minutesAttended)", "\($0.claimedMs)"] }
                    token = page.nextPageToken
                }
            } while !token.isEmpty
            if connection.json {
                printTypedRows(header, rows, kinds)
            } else {
                printTable(header, rows)
            }
        }
    }
}


/// Columns padded to their widest cell.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
    func line(_ cells: [String]) -> String {
        zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    print(line(header))
    for r in rows { print(line(r)) }
    printError("\(rows.count) rows")
}
