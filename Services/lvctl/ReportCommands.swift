import ArgumentParser
import Foundation
import GatewayDomain
import LVAPI
import LVJSON
import LVMessages
import LVRPC
import RegistrationDomain
import Simulation
import WebPages

/// `lvctl report activity ID` / `lvctl report physician NPI`: the validation views from a running gateway.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the learning-validation view of an activity or a physician's learning transcript (from lv-gateway).",
        discussion: "Exit codes: 0 a complete answer; 3 a partial answer (a backend could not be read: the answer is printed with a banner, and --json carries completeness.status = partial); 1 the gateway refused the request; 2 the gateway could not be reached or no backend could be read.",
        subcommands: [ActivityReport.self, PhysicianReport.self, ActivitiesReport.self, PARSReport.self])
}

/// Exit code of `lvctl report` when the answer is partial (docs/GATEWAY.md).
let partialExitCode: Int32 = 3

/// Warns on stderr and exits 3 when `completeness` is partial.
func exitIfPartial(_ partial: Bool, _ what: String) throws {
    guard partial else { return }
    printError("lvctl report: partial \(what): not every backend could be read (exit \(partialExitCode))")
    throw ExitCode(partialExitCode)
}

struct GatewayConnection: ParsableArguments {
    @Option(name: .customLong("addr"), help: "lv-gateway address (env LV_GATEWAY_ADDR; default \(DefaultPorts.loopback(DefaultPorts.gateway))).")
    var address: String?
    @Option(help: "Seconds the gateway may take.")
    var timeout: Int = 20
    @Flag(help: "Print the view as JSON (protobuf JSON mapping field names).")
    var json = false
    @OptionGroup(title: "Credentials and TLS") var security: ClientSecurityOptions

    var target: ServerTarget {
        ServerTarget(address: address ?? ProcessEnvironment.value("LV_GATEWAY_ADDR") ?? DefaultPorts.loopback(DefaultPorts.gateway), timeout: timeout)
    }

    func withGateway<R>(_ body: (Lv.Gateway.V1.Gateway.Client) async throws -> R) async throws -> R {
        try await target.withClient { client in
            do {
                return try await body(Lv.Gateway.V1.Gateway.Client(client))
            } catch let error as RPCError {
                throw ErrorJSON.fail(error, command: "report", json: json)
            }
        }
    }
}

struct ActivityReport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "activity", abstract: "The validation view of one activity.")
    @OptionGroup var connection: GatewayConnection
    @Argument var activity: String
    @Option(help: "Significance level.") var alpha = 0.05
    @Option(name: .customLong("minimum-n"), help: "Fewest physicians for a level to count.") var minimumN: UInt32 = 10
    @Option(help: "Also write the printable outcomes report (lv-web's page) to this PDF file, with headless Chromium (env LV_CHROMIUM names the browser).")
    var pdf: String?

    func run() async throws {
        let view = try await connection.withGateway { g in
            var r = Lv_Gateway_V1_GetActivityValidationRequest()
            r.activityId = activity
            var t = Lv_Gateway_V1_Thresholds()
            (t.alpha, t.minimumN) = (alpha, minimumN)
            r.thresholds = t
            return try await g.getActivityValidation(r, options: connection.target.callOptions)
        }
        if let pdf {
            try OutcomesPDF.write(Pages.outcomesReport(view, viewer: nil, standalone: true).text, to: pdf)
            printError("lvctl report: outcomes report written to \(pdf)")
        } else if connection.json { print(try MessageJSON.text(view)) } else { print(ValidationReport.activity(view), terminator: "") }
        try exitIfPartial(Completeness.isPartial(view.completeness), "view")
    }
}

/// Prints an HTML page to PDF with headless Chromium (Debian's `chromium`).
enum OutcomesPDF {
    static func chromium() -> String? {
        let names = [ProcessEnvironment.value("LV_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"].compactMap { $0 }
        let path = (ProcessEnvironment.value("PATH") ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for n in names {
            if n.contains("/") { if FileManager.default.isExecutableFile(atPath: n) { return n } else { continue } }
            for dir in path where FileManager.default.isExecutableFile(atPath: "\(dir)/\(n)") { return "\(dir)/\(n)" }
        }
        return nil
    }

    static func write(_ html: String, to file: String) throws {
        guard let browser = chromium() else {
            printError("lvctl report: --pdf needs headless Chromium: apt-get install -y chromium (or set LV_CHROMIUM)")
            throw ExitCode(2)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvctl-pdf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let page = dir.appendingPathComponent("report.html")
        try Data(html.utf8).write(to: page)
        let output = URL(fileURLWithPath: file, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                       "--user-data-dir=\(dir.appendingPathComponent("profile").path)", "--no-pdf-header-footer",
                       "--print-to-pdf=\(output)", page.absoluteString]
        p.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        p.standardError = errors
        try p.run()
        let errorText = errors.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0, FileManager.default.fileExists(atPath: output) else {
            printError("lvctl report: chromium exited \(p.terminationStatus): \(String(decoding: errorText.suffix(2000), as: UTF8.self))")
            throw ExitCode(2)
        }
    }
}

struct PhysicianReport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "physician", abstract: "A physician's learning transcript beside the credit transcript.")
    @OptionGroup var connection: GatewayConnection
    @Argument var npi: String

    func run() async throws {
        let transcript = try await connection.withGateway { g in
            var r = Lv_Gateway_V1_GetPhysicianTranscriptRequest()
            r.npi = npi
            return try await g.getPhysicianTranscript(r, options: connection.target.callOptions)
        }
        if connection.json { print(try MessageJSON.text(transcript)) } else { print(ValidationReport.physician(transcript), terminator: "") }
        try exitIfPartial(Completeness.isPartial(transcript.completeness), "transcript")
    }
}

struct ActivitiesReport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "activities", abstract: "One summary row per activity.")
    @OptionGroup var connection: GatewayConnection

    func run() async throws {
        let list = try await connection.withGateway { g in
            try await g.listActivityValidations(Lv_Gateway_V1_ListActivityValidationsRequest(), options: connection.target.callOptions)
        }
        let partial = list.activities.contains { Completeness.isPartial($0.completeness) }
        if connection.json { print(try MessageJSON.text(list)); try exitIfPartial(partial, "list"); return }
        printTable(["activity_id", "participants", "credited", "highest_level", "reliable_gain", "no_reliable_change", "decline",
                    "at_ceiling", "not_assessed", "3A_effect", "3A_p", "complete"], list.activities.map { a in
            // A field whose section is absent is unknown: "?" rather than a number.
            let absent = Set((a.completeness?.absent ?? []).map(\.section))
            func known(_ section: String, _ text: String) -> String { absent.contains(section) ? "?" : text }
            func count(_ v: LearningVerdict) -> String { known("gap", a.gap.first { $0.verdict == v }.map { "\($0.physicians)" } ?? "—") }
            return [a.activityId, known("funnel", "\(a.participants)"), known("funnel", "\(a.credited)"),
                    known("highest_level", a.highestLevel.isEmpty ? "none" : a.highestLevel),
                    count(.reliableImprovement), count(.noReliableChange), count(.reliableDecline), count(.atCeiling), count(.notAssessed),
                    known("levels.3A", a.knowledge?.effect.map { signed($0.value, 1) } ?? "—"),
                    known("levels.3A", a.knowledge?.test.map { fixed($0.pOneSided, 3) } ?? "—"),
                    Completeness.isPartial(a.completeness) ? "partial: " + (a.completeness?.missingSources.map(\.section).joined(separator: ",") ?? "") : "yes"]
        })
        try exitIfPartial(partial, "list")
    }
}

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drive a realistic simulated CME activity through the running services (seeded, reproducible).")

    @Option(name: .customLong("registration-addr")) var registration = DefaultPorts.loopback(DefaultPorts.registration)
    @Option(name: .customLong("engagement-addr")) var engagement = DefaultPorts.loopback(DefaultPorts.engagement)
    @Option(name: .customLong("assessment-addr")) var assessment = DefaultPorts.loopback(DefaultPorts.assessment)
    @Option var activity = "sim-hf-2026"
    @Option var participants = 120
    @Option var comparison = 40
    @Option var seed: UInt64 = 2026
    @Option(help: "Mean logit gain on taught items: 1.1 ≈ an effective course, 0.1 ≈ credit with little learning.")
    var learning = 1.1
    @Option(help: "Activity title (default: the course's).") var title = ""
    @Option(help: "The course simulated: \(Course.all.map(\.key).joined(separator: ", ")) (content, format, dates, credit: Services/Simulation/SimulationParameters.swift).")
    var course = "hf"
    @Flag(help: "Everyone attends, claims and takes both tests (the first simulator); default: realistic attrition.")
    var idealised = false
    @OptionGroup(title: "Credentials and TLS (one key for all three services: roles registrar,ingest,assessor)") var security: ClientSecurityOptions
    @Flag(help: "Print the summary as JSON (errors as JSON on stderr).") var json = false

    func run() async throws {
        var c = CMESimulation.Configuration()
        (c.activityID, c.participants, c.comparison, c.seed, c.learningEffect, c.title) = (activity, participants, comparison, seed, learning, title)
        guard let chosen = Course.named(course) else {
            throw ValidationError("--course: '\(course)' is not one of \(Course.all.map(\.key).joined(separator: ", "))")
        }
        c.course = chosen
        c.realism = idealised ? .idealised : .typical
        func client(_ address: String) throws -> RPCClient {
            var configuration = try RPCClient.Configuration(address: address)
            configuration.connections = 2
            configuration.clientName = "lvctl-simulate"
            try ClientSecurityOptions.apply(to: &configuration)
            return RPCClient(configuration: configuration)
        }
        let clients = try [client(registration), client(engagement), client(assessment)]
        // Progress is for a person: with --json, stderr carries only a JSON error, so it stays quiet.
        let quiet = json, name = activity
        let simulation = CMESimulation(configuration: c, registration: clients[0], engagement: clients[1], assessment: clients[2]) {
            if !quiet { printError("simulate \(name): \($0)") }
        }
        do {
            try await simulation.run()
        } catch {
            for x in clients { await x.close() }
            throw ErrorJSON.fail(error, command: "simulate", json: json)
        }
        for x in clients { await x.close() }
        if json {
            print(JSONValue.object([.init("activity_id", .string(activity)), .init("participants", .number(String(participants))),
                                    .init("comparison", .number(String(comparison))), .init("seed", .string(String(seed)))]).rendered())
            return
        }
        print("simulated \(activity): \(participants) participants, \(comparison) comparison physicians (seed \(seed))")
    }
}

/// A message as its canonical proto3 JSON (LVJSON): lowerCamelCase keys, enums by name, 64-bit
/// integers as strings, maps as objects. Replaces the Mirror-based encoder (untyped list fields,
/// `{}` for maps, Swift case names, a crash on a large UInt64).
enum MessageJSON {
    static func text<M: ProtoMessage>(_ message: M) throws -> String {
        try ProtoJSON().json(message).rendered()
    }
}

/// `lvctl report pars ACTIVITY`: the ACCME PARS learner upload and activity record, and the MOC
/// results with each learner's feedback, from the gateway's ExportPARS (docs/REGISTRATION.md "PARS").
struct PARSReport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pars",
        abstract: "Write the activity's PARS learner upload (tab-delimited, no header) and activity record; print MOC results.",
        discussion: "Learner columns: \(PARSExport.learnerColumns.joined(separator: ", ")). Activity columns: \(PARSExport.activityColumns.joined(separator: ", ")).")
    @OptionGroup var connection: GatewayConnection
    @Argument var activity: String
    @Option(help: "Learner upload file; standard output when omitted.") var output: String?
    @Option(name: .customLong("activity-output"), help: "Activity record file; standard error shows it when omitted.") var activityOutput: String?

    static let numeric: Set<String> = ["birth_month", "birth_day", "amount", "physician_learners", "other_learners"]

    func run() async throws {
        let r = try await connection.withGateway { g in
            var q = Lv_Gateway_V1_ExportPARSRequest()
            q.activityId = activity
            return try await g.exportPars(q, options: connection.target.callOptions)
        }
        if let output { try r.learnerFile.write(toFile: output, atomically: true, encoding: .utf8) }
        if let activityOutput { try r.activityFile.write(toFile: activityOutput, atomically: true, encoding: .utf8) }
        func rows(_ text: String) -> [[String]] {
            text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        }
        func typed(_ header: [String], _ row: [String]) -> JSONValue {
            .object(zip(header, row).map { name, cell in .init(name, Self.numeric.contains(name) ? jsonNumber(cell) : .string(cell)) })
        }
        if connection.json {
            let moc: [JSONValue] = r.moc.map { m in
                .object([.init("npi", .string(m.npi)), .init("board", .string(m.board)), .init("passed", .bool(m.passed)),
                         .init("assessed", .bool(m.assessed)), .init("score", jsonNumber(String(m.score))),
                         .init("passing_score", jsonNumber(String(m.passingScore))),
                         .init("missed", .array(m.missed.map { .object([.init("item_id", .string($0.itemId)), .init("objective_id", .string($0.objectiveId)),
                                                                       .init("objective", .string($0.objectiveText))]) }))])
            }
            print(JSONValue.object([
                .init("activity_id", .string(activity)),
                .init("learners", .array(rows(r.learnerFile).map { typed(PARSExport.learnerColumns, $0) })),
                .init("activity", rows(r.activityFile).first.map { typed(PARSExport.activityColumns, $0) } ?? .null),
                .init("moc", .array(moc)),
                .init("without_consent", .number(String(r.withoutConsent))),
            ]).rendered())
            return
        }
        if output == nil { print(r.learnerFile, terminator: "") }
        if activityOutput == nil { printError("activity record: \(r.activityFile.trimmingCharacters(in: .newlines))") }
        let passed = r.moc.filter(\.passed).count
        printError("lvctl report pars: \(r.learnerRows) learner rows; \(r.withoutConsent) learners without PARS consent left out; MOC \(passed) passed of \(r.moc.count)")
        for m in r.moc where !m.passed {
            // Feedback for the learner: the items missed, with the objective each tests (no names: NPI only).
            let missed = m.missed.map { "\($0.itemId) (\($0.objectiveId): \($0.objectiveText))" }.joined(separator: "; ")
            let result = m.assessed ? "score \(Int((m.score * 100).rounded()))% < \(Int((m.passingScore * 100).rounded()))%" : "no post-test"
            printError("  MOC \(m.board) \(m.npi): \(result)" + (missed.isEmpty ? "" : "; missed: \(missed)"))
        }
    }
}
