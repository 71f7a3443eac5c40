import ArgumentParser
import AssessmentDomain
import Foundation
import LVAPI
import LVJSON
import LVMessages
import LVRPC
import LVDomain
import RegistrationDomain

/// `lvctl assessment …`: what an outcomes team needs around instruments and results.
struct AssessmentCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assessment",
        abstract: "Instruments, responses and outcomes (lv-assessment, default \(DefaultPorts.loopback(DefaultPorts.assessment))).",
        subcommands: [CreateInstrument.self, ListInstruments.self, Results.self])
}

struct AssessmentConnection: ParsableArguments {
    @Option(name: .customLong("addr"), help: "lv-assessment address (env LV_ASSESSMENT_ADDR; default \(DefaultPorts.loopback(DefaultPorts.assessment))).")
    var address: String?
    @Option(help: "Seconds to wait for each answer.")
    var timeout: Int = 10
    @Flag(help: "Print JSON.")
    var json = false
    @OptionGroup(title: "Credentials and TLS") var security: ClientSecurityOptions

    var target: ServerTarget {
        ServerTarget(address: address ?? ProcessEnvironment.value("LV_ASSESSMENT_ADDR") ?? DefaultPorts.loopback(DefaultPorts.assessment), timeout: timeout)
    }

    func withClient<R>(_ body: (Lv.Assessment.V1.Assessment.Client) async throws -> R) async throws -> R {
        try await target.withClient { client in
            do {
                return try await body(Lv.Assessment.V1.Assessment.Client(client))
            } catch let error as RPCError {
                throw ErrorJSON.fail(error, command: "assessment", json: json)
            }
        }
    }
}

/// The instrument file `create-instrument` reads (docs/ASSESSMENT.md).
struct InstrumentFile: Codable {
    struct ItemSpec: Codable {
        var item_id: String
        var type: String
        var stem: String?
        var objective_id: String?
        var control: Bool?
        var options: [String]?
        var key: UInt32?
        var true_key: Bool?
        var criteria: [String]?
        var likert_points: UInt32?
        var procedural: Bool?
    }
    var instrument_id: String
    var activity_id: String
    var kind: String
    var phase: String?
    var follow_up_days: UInt32?
    var title: String?
    var collect_confidence: Bool?
    var items: [ItemSpec]

    static let kinds: [String: InstrumentKind] = [
        "pre-test": .preTest, "post-test": .postTest, "follow-up": .followUp, "case-vignette": .caseVignette,
        "evaluation": .evaluation, "commitment": .commitmentToChange,
    ]
    static let phases: [String: Phase] = ["pre": .pre, "post": .post, "follow-up": .followUp]
    static let types: [String: Lv_Assessment_V1_ItemType] = [
        "multiple-choice": .multipleChoice, "true-false": .trueFalse, "vignette": .vignetteCriteria, "likert": .likert,
    ]

    func instrument() throws -> Instrument {
        var i = Instrument()
        i.instrumentId = instrument_id
        i.activityId = activity_id
        guard let k = Self.kinds[kind] else { throw ValidationError("kind '\(kind)': one of \(Self.kinds.keys.sorted().joined(separator: ", "))") }
        i.kind = k
        if let phase {
            guard let p = Self.phases[phase] else { throw ValidationError("phase '\(phase)': pre, post or follow-up") }
            i.phase = p
        }
        i.followUpDays = follow_up_days ?? 0
        i.title = title ?? instrument_id
        i.collectConfidence = collect_confidence ?? false
        i.items = try items.enumerated().map { n, spec in
            var item = Item()
            item.itemId = spec.item_id
            guard let t = Self.types[spec.type] else {
                throw ValidationError("items[\(n)].type '\(spec.type)': one of \(Self.types.keys.sorted().joined(separator: ", "))")
            }
            item.type = t
            item.stem = spec.stem ?? ""
            item.objectiveId = spec.objective_id ?? ""
            item.control = spec.control ?? false
            item.options = spec.options ?? []
            item.key = spec.key ?? 0
            item.trueKey = spec.true_key ?? false
            item.criteria = spec.criteria ?? []
            item.likertPoints = spec.likert_points ?? 0
            item.procedural = spec.procedural ?? false
            return item
        }
        return i
    }
}

struct CreateInstrument: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-instrument",
        abstract: "Create or change an instrument from a JSON file; its objective ids are checked against the activity in registration.",
        discussion: "Changing an instrument that has responses makes a new version; running the same file again is a no-op.")

    @OptionGroup var connection: AssessmentConnection
    @Option(help: "The instrument JSON file.") var file: String
    @Option(name: .customLong("registration-addr"), help: "lv-registration, to check objective ids (env LV_REGISTRATION_ADDR; default \(DefaultPorts.loopback(DefaultPorts.registration))).")
    var registrationAddress: String?
    @Flag(name: .customLong("no-check-objectives"), help: "Do not ask registration for the activity's objectives.")
    var noCheck = false

    func run() async throws {
        let data = try StrictInput.read(file)
        let instrument: Instrument
        let spec = try StrictInput.decode(InstrumentFile.self, from: data, file: file)
        do { instrument = try spec.instrument() } catch {
            throw ValidationError("\(file): \(error)")
        }
        if !noCheck {
            let registration = ServerTarget(address: registrationAddress ?? ProcessEnvironment.value("LV_REGISTRATION_ADDR") ?? DefaultPorts.loopback(DefaultPorts.registration),
                                            timeout: connection.timeout)
            let objectives: Set<String> = try await registration.withClient { client in
                var g = Lv_Registration_V1_GetActivityRequest()
                g.activityId = instrument.activityId
                do {
                    return Set(try await Lv.Registration.V1.Registration.Client(client).getActivity(g).activity?.objectives.map(\.id) ?? [])
                } catch let error as RPCError {
                    printError("lvctl assessment: cannot read activity \(instrument.activityId) from registration at \(registration.address) (--no-check-objectives skips this)")
                    throw ErrorJSON.fail(error, command: "assessment", json: connection.json)
                }
            }
            var v = Violations()
            InstrumentRules.validate(instrument, objectives: objectives, &v)
            if !v.list.isEmpty {
                for x in v.list { printError("\(file): \(x.field) [\(x.rule)]: \(x.description)") }
                throw ExitCode(1)
            }
        }
        try await connection.withClient { client in
            var r = Lv_Assessment_V1_CreateInstrumentRequest()
            r.requestId = contentRequestID("lvctl-instrument", [String(decoding: data, as: UTF8.self)])
            r.instrument = instrument
            let response = try await client.createInstrument(r)
            if connection.json { print(try MessageJSON.text(response)); return }
            let i = response.instrument!
            let what = response.newVersion ? "new version" : (response.created ? "saved" : "unchanged")
            print("instrument \(i.instrumentId) v\(i.version) (\(i.kind.protoName), \(i.items.count) items): \(what)")
        }
    }
}

struct ListInstruments: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-instruments", abstract: "The latest version of each instrument of an activity.")

    @OptionGroup var connection: AssessmentConnection
    @Option var activity: String

    func run() async throws {
        try await connection.withClient { client in
            var r = Lv_Assessment_V1_ListInstrumentsRequest()
            r.activityId = activity
            let list = try await client.listInstruments(r).instruments
            let rows = list.map { [$0.instrumentId, "\($0.version)", $0.kind.protoName, $0.phase.protoName,
                                   $0.followUpDays == 0 ? "" : "\($0.followUpDays)", "\($0.items.count)", $0.title] }
            let header = ["instrument_id", "version", "kind", "phase", "follow_up_days", "items", "title"]
            if connection.json {
                printTypedRows(header, rows, [.text, .number, .text, .text, .number, .number, .text])
            } else {
                printTable(header, rows)
            }
        }
    }
}

struct Results: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A physician's scores, item changes, commitments and practice measures for an activity.")

    @OptionGroup var connection: AssessmentConnection
    @Option var activity: String
    @Option var npi: String

    func run() async throws {
        try await connection.withClient { client in
            var r = Lv_Assessment_V1_GetOutcomesRequest()
            (r.activityId, r.npi, r.omitItemScores) = (activity, npi, true)
            guard let o = try await client.getOutcomes(r).physicians.first else {
                printError("no results for \(npi) in \(activity)")
                throw ExitCode(1)
            }
            if connection.json {
                // The outcomes message itself in the canonical mapping (scores as fractions 0–1).
                print(try MessageJSON.text(o))
                return
            }
            print("physician \(o.npi) in \(activity)")
            for s in o.submissions {
                let days = s.followUpDays > 0 ? " +\(s.followUpDays)d" : ""
                let objectives = s.objectives.map { "\($0.objectiveId) \(percent($0.score))" }.joined(separator: ", ")
                let control = s.hasControl ? "  control \(percent(s.control))" : ""
                print("  \(s.phase.protoName)\(days)  \(s.instrumentId) v\(s.version)  total \(percent(s.total))  [\(objectives)]\(control)")
            }
            let changed = o.itemPairs.filter { $0.beforeCorrect != $0.afterCorrect }
            if !o.itemPairs.isEmpty {
                print("  items: \(o.itemPairs.count) paired, \(changed.filter(\.afterCorrect).count) wrong→right, \(changed.filter(\.beforeCorrect).count) right→wrong")
            }
            for q in o.quadrants {
                print("  confidence \(q.phase.protoName): mastery \(q.mastery), doubt \(q.doubt), uninformed \(q.uninformed), misinformation \(q.misinformation)")
            }
            for c in o.commitments {
                print("  commitment: \(c.text) → \(c.followUp?.implementation.protoName ?? "no follow-up yet")")
            }
            for m in o.measures {
                print("  \(m.measureCode): baseline \(m.baselineNumerator)/\(m.baselineDenominator), follow-up \(m.followUpNumerator)/\(m.followUpDenominator)")
            }
        }
    }

    func percent(_ x: Double) -> String { "\(Int((x * 100).rounded()))%" }
}
