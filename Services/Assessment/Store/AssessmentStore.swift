import AssessmentDomain
import LVAPI
import LVDomain
import LVMessages
import LVStore
import LVStoreMessages

public typealias Commitment = Lv_Assessment_V1_Commitment
public typealias PhysicianOutcomes = Lv_Assessment_V1_PhysicianOutcomes

/// The assessment database. Instruments and scored submissions are stored as their protobuf
/// encodings beside the columns queries need; a scored submission is never rescored, and an
/// instrument changed after responses exist becomes a new version.
public final class AssessmentStore: Sendable {
    public let database: Database

    static let migrations = [
        Migration(1, "instruments, submissions, commitments, practice measures, request log", """
        CREATE TABLE instrument (
            instrument_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            activity_id TEXT NOT NULL,
            body BLOB NOT NULL,
            created_ms INTEGER NOT NULL,
            PRIMARY KEY (instrument_id, version)
        ) WITHOUT ROWID;
        CREATE INDEX instrument_activity ON instrument (activity_id, instrument_id);
        CREATE TABLE submission (
            submission_id TEXT PRIMARY KEY,
            instrument_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            activity_id TEXT NOT NULL,
            npi TEXT NOT NULL,
            request BLOB NOT NULL,
            body BLOB NOT NULL,
            submitted_ms INTEGER NOT NULL,
            UNIQUE (instrument_id, npi)
        ) WITHOUT ROWID;
        CREATE INDEX submission_activity ON submission (activity_id, npi, submitted_ms);
        CREATE TABLE commitment (
            commitment_id TEXT PRIMARY KEY,
            activity_id TEXT NOT NULL,
            npi TEXT NOT NULL,
            body BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX commitment_activity ON commitment (activity_id, npi);
        CREATE TABLE measure (
            activity_id TEXT NOT NULL,
            npi TEXT NOT NULL,
            measure_code TEXT NOT NULL,
            phase INTEGER NOT NULL,
            period_start TEXT NOT NULL,
            period_end TEXT NOT NULL,
            numerator INTEGER NOT NULL,
            denominator INTEGER NOT NULL,
            source INTEGER NOT NULL,
            patient_outcome INTEGER NOT NULL,
            PRIMARY KEY (activity_id, npi, measure_code, phase, period_start)
        ) WITHOUT ROWID;
        """ + RequestLog.schema),
    ]

    public convenience init(path: String, options: DatabaseOptions = DatabaseOptions()) throws {
        try self.init(backend: SQLiteBackend(path: path), options: options)
    }

    /// On any backend: SQLite, or PostgreSQL (`PostgresBackend`, LVStorePostgres).
    public init(backend: any DatabaseBackend, options: DatabaseOptions = DatabaseOptions()) throws {
        database = try Database(backend: backend, migrations: Self.migrations, options: options)
    }

    public func close() { database.close() }

    // MARK: instruments

    static func instrument(_ c: any StoreConnection, id: String, version: UInt32) throws -> Instrument? {
        var body: [UInt8]?
        let sql = version == 0
            ? "SELECT body FROM instrument WHERE instrument_id = ?1 ORDER BY version DESC LIMIT 1"
            : "SELECT body FROM instrument WHERE instrument_id = ?1 AND version = ?2"
        try c.prepare(sql).query(version == 0 ? [.text(id)] : [.text(id), .integer(Int64(version))]) { body = $0.blob(0) }
        return try body.map { try Instrument(serializedBytes: $0) }
    }

    /// Creates, replaces (no responses yet) or versions (responses exist) an instrument.
    public func createInstrument(_ request: Lv_Assessment_V1_CreateInstrumentRequest, now: Int64) async throws -> Lv_Assessment_V1_CreateInstrumentResponse {
        try await database.write { c in
            var (response, replayed) = try RequestLog.once(c, requestID: request.requestId, method: "CreateInstrument", request: request, now: now) {
                var next = request.instrument ?? Instrument()
                next.phase = InstrumentRules.phase(of: next)
                var response = Lv_Assessment_V1_CreateInstrumentResponse()
                if let current = try Self.instrument(c, id: next.instrumentId, version: 0) {
                    guard current.activityId == next.activityId, current.kind == next.kind else {
                        throw DomainError(.failedPrecondition, "instrument.instrument_id: '\(next.instrumentId)' belongs to \(current.activityId) as a \(current.kind.protoName); use another id",
                                       violations: [violation("instrument.instrument_id", "immutable-kind", "an instrument keeps its activity and kind")])
                    }
                    var comparable = next
                    (comparable.version, comparable.createdMs) = (current.version, current.createdMs)
                    if comparable == current {
                        response.instrument = current
                        return response
                    }
                    let answered = try c.scalarInt("SELECT count(*) FROM submission WHERE instrument_id = ? AND version = ?",
                                                   [.text(current.instrumentId), .integer(Int64(current.version))]) ?? 0
                    next.version = answered > 0 ? current.version + 1 : current.version
                    response.newVersion = answered > 0
                } else {
                    next.version = 1
                }
                next.createdMs = now
                try c.prepare("""
                    INSERT INTO instrument (instrument_id, version, activity_id, body, created_ms) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (instrument_id, version) DO UPDATE SET activity_id = excluded.activity_id, body = excluded.body,
                      created_ms = excluded.created_ms
                    """)
                    .run([.text(next.instrumentId), .integer(Int64(next.version)), .text(next.activityId),
                          .blob(try next.serializedBytes()), .integer(now)])
                response.instrument = next
                response.created = true
                return response
            }
            if replayed { response.created = false }
            return response
        }
    }

    public func instrument(id: String, version: UInt32) async throws -> Instrument? {
        try await database.read { c in try Self.instrument(c, id: id, version: version) }
    }

    public func instruments(activityID: String) async throws -> [Instrument] {
        try await database.read { c in
            var out: [Instrument] = []
            try c.prepare("""
                SELECT body FROM instrument i WHERE activity_id = ?
                  AND version = (SELECT max(version) FROM instrument j WHERE j.instrument_id = i.instrument_id)
                ORDER BY instrument_id
                """).query([.text(activityID)]) { out.append(try Instrument(serializedBytes: $0.blob(0))) }
            return out
        }
    }

    // MARK: submissions

    /// Scores and stores a submission; the first submission of a physician to an instrument counts.
    public func submit(_ request: Lv_Assessment_V1_SubmitResponsesRequest, now: Int64) async throws -> Lv_Assessment_V1_SubmitResponsesResponse {
        try await database.write { c in
            let requestBytes = try request.serializedBytes()
            var response = Lv_Assessment_V1_SubmitResponsesResponse()
            var existing: ([UInt8], [UInt8])?
            try c.prepare("SELECT request, body FROM submission WHERE submission_id = ?").query([.text(request.submissionId)]) {
                existing = ($0.blob(0), $0.blob(1))
            }
            if let (storedRequest, body) = existing {
                guard storedRequest == requestBytes else {
                    throw DomainError.invalidArgument(field: "submission_id", rule: "idempotency",
                        "submission id '\(request.submissionId)' was already used for different answers")
                }
                response.submission = try ScoredSubmission(serializedBytes: body)
                return response
            }
            guard let instrument = try Self.instrument(c, id: request.instrumentId, version: request.version) else {
                throw DomainError(.notFound, "instrument_id: no instrument '\(request.instrumentId)'\(request.version == 0 ? "" : " version \(request.version)")")
            }
            var first: String?
            try c.prepare("SELECT submission_id FROM submission WHERE instrument_id = ? AND npi = ?")
                .query([.text(request.instrumentId), .text(request.npi)]) { first = $0.text(0) }
            if let first {
                throw DomainError(.alreadyExists, "npi: physician \(request.npi) already answered \(request.instrumentId) (submission \(first)); the first submission counts",
                               violations: [violation("npi", "first-submission-counts", "one submission per physician per instrument")])
            }
            var scored = try Scoring.score(instrument, answers: request.answers)
            scored.submissionId = request.submissionId
            scored.npi = request.npi
            scored.submittedMs = request.submittedMs == 0 ? now : request.submittedMs
            try c.prepare("""
                INSERT INTO submission (submission_id, instrument_id, version, activity_id, npi, request, body, submitted_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """).run([.text(request.submissionId), .text(instrument.instrumentId), .integer(Int64(instrument.version)),
                          .text(instrument.activityId), .text(request.npi), .blob(requestBytes), .blob(try scored.serializedBytes()),
                          .integer(scored.submittedMs)])
            response.submission = scored
            response.created = true
            return response
        }
    }

    // MARK: commitments

    public func recordCommitment(_ request: Lv_Assessment_V1_RecordCommitmentRequest, now: Int64) async throws -> Lv_Assessment_V1_RecordCommitmentResponse {
        try await database.write { c in
            var (response, replayed) = try RequestLog.once(c, requestID: request.requestId, method: "RecordCommitment", request: request, now: now) {
                var commitment = request.commitment ?? Commitment()
                if commitment.commitmentId.isEmpty { commitment.commitmentId = TimeOrderedID.make(prefix: "cmt", now: now) }
                if commitment.recordedMs == 0 { commitment.recordedMs = now }
                commitment.followUp = nil
                // A client-chosen id already taken (by another request id) is the caller's conflict, not ours.
                var taken = false
                try c.prepare("SELECT 1 FROM commitment WHERE commitment_id = ?").query([.text(commitment.commitmentId)]) { _ in taken = true }
                if taken {
                    throw DomainError(.alreadyExists, "commitment.commitment_id: that commitment id is already recorded",
                                   violations: [violation("commitment.commitment_id", "unique", "choose another id, or leave it empty for one from the server")])
                }
                try c.prepare("INSERT INTO commitment (commitment_id, activity_id, npi, body) VALUES (?, ?, ?, ?)")
                    .run([.text(commitment.commitmentId), .text(commitment.activityId), .text(commitment.npi),
                          .blob(try commitment.serializedBytes())])
                var response = Lv_Assessment_V1_RecordCommitmentResponse()
                response.commitment = commitment
                response.created = true
                return response
            }
            if replayed { response.created = false }
            return response
        }
    }

    public func recordFollowUp(commitmentID: String, followUp: Lv_Assessment_V1_FollowUp, now: Int64) async throws -> Commitment {
        try await database.write { c in
            var body: [UInt8]?
            try c.prepare("SELECT body FROM commitment WHERE commitment_id = ?").query([.text(commitmentID)]) { body = $0.blob(0) }
            guard let body else { throw DomainError(.notFound, "commitment_id: no commitment '\(commitmentID)'") }
            var commitment = try Commitment(serializedBytes: body)
            var f = followUp
            if f.respondedMs == 0 { f.respondedMs = now }
            if let existing = commitment.followUp {
                var same = f
                same.respondedMs = existing.respondedMs
                guard same == existing else {
                    throw DomainError(.alreadyExists, "commitment_id: the follow-up of \(commitmentID) was already recorded",
                                   violations: [violation("commitment_id", "one-follow-up", "a commitment has one follow-up")])
                }
                return commitment
            }
            guard f.respondedMs >= commitment.recordedMs else {
                throw DomainError.invalidArgument(field: "follow_up.responded_ms", rule: "order", "the follow-up precedes the commitment")
            }
            commitment.followUp = f
            try c.prepare("UPDATE commitment SET body = ? WHERE commitment_id = ?").run([.blob(try commitment.serializedBytes()), .text(commitmentID)])
            return commitment
        }
    }

    // MARK: practice measures

    public func recordMeasures(_ request: Lv_Assessment_V1_RecordPracticeMeasuresRequest, valid: [(Int, PracticeMeasure)],
                               rejected: [Lv_Rpc_V1_FieldViolation], now: Int64) async throws -> Lv_Assessment_V1_RecordPracticeMeasuresResponse {
        try await database.write { c in
            try RequestLog.once(c, requestID: request.requestId, method: "RecordPracticeMeasures", request: request, now: now) {
                var response = Lv_Assessment_V1_RecordPracticeMeasuresResponse()
                response.rejected = rejected
                for (i, m) in valid {
                    var stored: (String, Int64, Int64, Int64)?
                    try c.prepare("""
                        SELECT period_end, numerator, denominator, source FROM measure
                        WHERE activity_id = ? AND npi = ? AND measure_code = ? AND phase = ? AND period_start = ?
                        """).query([.text(m.activityId), .text(m.npi), .text(m.measureCode), .integer(Int64(m.phase.rawValue)), .text(m.periodStart)]) {
                        stored = ($0.text(0), $0.int(1), $0.int(2), $0.int(3))
                    }
                    if let stored {
                        if stored == (m.periodEnd, Int64(m.numerator), Int64(m.denominator), Int64(m.source.rawValue)) {
                            response.duplicates += 1
                        } else {
                            response.rejected.append(violation("measures[\(i)]", "conflict",
                                "\(m.measureCode) \(m.phase.protoName) from \(m.periodStart) is stored with other values; it is not replaced silently"))
                        }
                        continue
                    }
                    try c.prepare("""
                        INSERT INTO measure (activity_id, npi, measure_code, phase, period_start, period_end, numerator, denominator,
                          source, patient_outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """).run([.text(m.activityId), .text(m.npi), .text(m.measureCode), .integer(Int64(m.phase.rawValue)),
                                  .text(m.periodStart), .text(m.periodEnd), .integer(Int64(m.numerator)), .integer(Int64(m.denominator)),
                                  .integer(Int64(m.source.rawValue)), .integer(m.patientOutcome ? 1 : 0)])
                    response.accepted += 1
                }
                return response
            }.response
        }
    }

    // MARK: outcomes

    /// Everything measured for the physicians of an activity, paged by NPI. The page's NPIs come
    /// from a merge of the three tables' (activity_id, npi) indexes, each read from `after` on and
    /// stopped at the page's end, so a page costs its own rows whatever the page's position
    /// (the union was once built over the whole activity and filtered by `after` per page: paging
    /// through N physicians read N²/page-size index entries).
    public func outcomes(activityID: String, npi: String, pageSize: Int, after: String, omitItemScores: Bool) async throws -> ([PhysicianOutcomes], next: String) {
        try await database.read { c in
            var npis: [String] = []
            try c.prepare("""
                SELECT npi FROM submission WHERE activity_id = ?1 AND npi > ?2 AND (?3 = '' OR npi = ?3)
                UNION SELECT npi FROM commitment WHERE activity_id = ?1 AND npi > ?2 AND (?3 = '' OR npi = ?3)
                UNION SELECT npi FROM measure WHERE activity_id = ?1 AND npi > ?2 AND (?3 = '' OR npi = ?3)
                ORDER BY npi LIMIT ?4
                """).query([.text(activityID), .text(after), .text(npi), .integer(Int64(pageSize + 1))]) { npis.append($0.text(0)) }
            let page = Array(npis.prefix(pageSize))
            let submissions = try c.prepare("SELECT body FROM submission WHERE activity_id = ? AND npi = ? ORDER BY submitted_ms")
            let commitments = try c.prepare("SELECT body FROM commitment WHERE activity_id = ? AND npi = ? ORDER BY commitment_id")
            let measures = try c.prepare("""
                SELECT measure_code, patient_outcome, phase, sum(numerator), sum(denominator) FROM measure
                WHERE activity_id = ? AND npi = ? GROUP BY measure_code, patient_outcome, phase ORDER BY measure_code
                """)
            let result = try page.map { physician -> PhysicianOutcomes in
                var o = PhysicianOutcomes()
                o.npi = physician
                try submissions.query([.text(activityID), .text(physician)]) { o.submissions.append(try ScoredSubmission(serializedBytes: $0.blob(0))) }
                o.itemPairs = OutcomeAssembly.pairs(o.submissions)
                o.quadrants = OutcomeAssembly.quadrants(o.submissions)
                if omitItemScores { for i in o.submissions.indices { o.submissions[i].items = [] } }
                try commitments.query([.text(activityID), .text(physician)]) { o.commitments.append(try Commitment(serializedBytes: $0.blob(0))) }
                var rates: [String: Lv_Assessment_V1_MeasureRate] = [:]
                try measures.query([.text(activityID), .text(physician)]) { row in
                    let code = row.text(0)
                    var r = rates[code] ?? Lv_Assessment_V1_MeasureRate()
                    r.measureCode = code
                    r.patientOutcome = row.int(1) != 0
                    if row.int(2) == Int64(Lv_Assessment_V1_MeasurePhase.baseline.rawValue) {
                        (r.baselineNumerator, r.baselineDenominator) = (UInt32(row.int(3)), UInt32(row.int(4)))
                    } else {
                        (r.followUpNumerator, r.followUpDenominator) = (UInt32(row.int(3)), UInt32(row.int(4)))
                    }
                    rates[code] = r
                }
                o.measures = rates.keys.sorted().map { rates[$0]! }
                return o
            }
            return (result, npis.count > pageSize ? page.last! : "")
        }
    }
}
