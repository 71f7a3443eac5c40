import CProtobufC
import LVMessages

/// What a key may do: each role grants scopes, each method needs one scope (docs/SECURITY.md).
public enum Scope: String, Sendable, CaseIterable {
    /// Engagement writes: events, polls.
    case ingest
    /// Registration writes: physicians, activities, sessions, enrollment, attendance, credit.
    case registrar
    /// Registration reads (physicians' records, enrollments, attendance, credits).
    case registrarRead = "registrar.read"
    /// Assessment writes: instruments, submissions, commitments, follow-ups, practice measures.
    case assessor
    /// Assessment reads (instruments, outcomes).
    case assessorRead = "assessor.read"
    /// Views, transcripts, engagement summaries and events (the gateway's methods).
    case analyst
    /// Operator methods: backups.
    case admin
}

public enum Role: String, Sendable, CaseIterable {
    case ingest, registrar, assessor, analyst, admin

    public var scopes: Set<Scope> {
        switch self {
        case .ingest: [.ingest]
        case .registrar: [.registrar, .registrarRead]
        case .assessor: [.assessor, .assessorRead]
        // Analysts (and the gateway's own key toward the backends) read everything a view needs, write nothing.
        case .analyst: [.analyst, .registrarRead, .assessorRead]
        case .admin: [.admin]
        }
    }
}

/// Which calls go to the audit log.
public enum AuditClass: String, Sendable {
    /// Not audited: health, reflection, and reads without physician-identifiable data.
    case none
    /// A read of physician-identifiable data (a record, a transcript, a view, outcomes, events).
    case read
    /// Any write.
    case write
}

/// One row of the method → scope table.
public struct MethodPolicy: Sendable {
    public let method: String
    /// nil: no key needed (health and reflection only).
    public let scope: Scope?
    public let audit: AuditClass
    /// The request's protoc-c descriptor: the audit log reads its `npi` and `activity_id` fields.
    let request: UnsafePointer<ProtobufCMessageDescriptor>?

    init<Request: ProtoMessage>(_ method: MethodDescriptor, _ scope: Scope?, _ audit: AuditClass, _ request: Request.Type) {
        self.method = method.fullName
        self.scope = scope
        self.audit = audit
        self.request = Request.cDescriptor
    }
}

extension UnsafePointer: @retroactive @unchecked Sendable where Pointee == ProtobufCMessageDescriptor {}

/// THE table: every method any service serves, the scope it needs and whether it is audited.
/// A method missing here is denied to every caller (deny by default). docs/PROTOCOL.md §9 and
/// docs/OPERATIONS.md print it; a test checks every method each executable serves is here.
public enum MethodPolicies {
    public static let all: [MethodPolicy] = [
        // lv.registration.v1.Registration
        .init(Lv.Registration.V1.Registration.Method.RegisterPhysician.descriptor, .registrar, .write, Lv_Registration_V1_RegisterPhysicianRequest.self),
        .init(Lv.Registration.V1.Registration.Method.GetPhysician.descriptor, .registrarRead, .read, Lv_Registration_V1_GetPhysicianRequest.self),
        .init(Lv.Registration.V1.Registration.Method.UpdatePhysician.descriptor, .registrar, .write, Lv_Registration_V1_UpdatePhysicianRequest.self),
        .init(Lv.Registration.V1.Registration.Method.ListPhysicians.descriptor, .registrarRead, .read, Lv_Registration_V1_ListPhysiciansRequest.self),
        .init(Lv.Registration.V1.Registration.Method.CreateActivity.descriptor, .registrar, .write, Lv_Registration_V1_CreateActivityRequest.self),
        .init(Lv.Registration.V1.Registration.Method.GetActivity.descriptor, .registrarRead, .none, Lv_Registration_V1_GetActivityRequest.self),
        .init(Lv.Registration.V1.Registration.Method.ListActivities.descriptor, .registrarRead, .none, Lv_Registration_V1_ListActivitiesRequest.self),
        .init(Lv.Registration.V1.Registration.Method.AddSession.descriptor, .registrar, .write, Lv_Registration_V1_AddSessionRequest.self),
        .init(Lv.Registration.V1.Registration.Method.ListSessions.descriptor, .registrarRead, .none, Lv_Registration_V1_ListSessionsRequest.self),
        .init(Lv.Registration.V1.Registration.Method.Enroll.descriptor, .registrar, .write, Lv_Registration_V1_EnrollRequest.self),
        .init(Lv.Registration.V1.Registration.Method.Withdraw.descriptor, .registrar, .write, Lv_Registration_V1_WithdrawRequest.self),
        .init(Lv.Registration.V1.Registration.Method.ListEnrollments.descriptor, .registrarRead, .read, Lv_Registration_V1_ListEnrollmentsRequest.self),
        .init(Lv.Registration.V1.Registration.Method.CheckIn.descriptor, .registrar, .write, Lv_Registration_V1_CheckInRequest.self),
        .init(Lv.Registration.V1.Registration.Method.CheckOut.descriptor, .registrar, .write, Lv_Registration_V1_CheckOutRequest.self),
        .init(Lv.Registration.V1.Registration.Method.RecordAttendance.descriptor, .registrar, .write, Lv_Registration_V1_RecordAttendanceRequest.self),
        .init(Lv.Registration.V1.Registration.Method.GetAttendance.descriptor, .registrarRead, .read, Lv_Registration_V1_GetAttendanceRequest.self),
        .init(Lv.Registration.V1.Registration.Method.ClaimCredit.descriptor, .registrar, .write, Lv_Registration_V1_ClaimCreditRequest.self),
        .init(Lv.Registration.V1.Registration.Method.ListCredits.descriptor, .registrarRead, .read, Lv_Registration_V1_ListCreditsRequest.self),
        // lv.engagement.v1.Engagement
        .init(Lv.Engagement.V1.Engagement.Method.RecordEvents.descriptor, .ingest, .write, Lv_Engagement_V1_RecordEventsRequest.self),
        .init(Lv.Engagement.V1.Engagement.Method.DefinePoll.descriptor, .ingest, .write, Lv_Engagement_V1_DefinePollRequest.self),
        .init(Lv.Engagement.V1.Engagement.Method.GetEngagementSummary.descriptor, .analyst, .read, Lv_Engagement_V1_GetEngagementSummaryRequest.self),
        .init(Lv.Engagement.V1.Engagement.Method.ListEvents.descriptor, .analyst, .read, Lv_Engagement_V1_ListEventsRequest.self),
        // lv.assessment.v1.Assessment
        .init(Lv.Assessment.V1.Assessment.Method.CreateInstrument.descriptor, .assessor, .write, Lv_Assessment_V1_CreateInstrumentRequest.self),
        .init(Lv.Assessment.V1.Assessment.Method.GetInstrument.descriptor, .assessorRead, .none, Lv_Assessment_V1_GetInstrumentRequest.self),
        .init(Lv.Assessment.V1.Assessment.Method.ListInstruments.descriptor, .assessorRead, .none, Lv_Assessment_V1_ListInstrumentsRequest.self),
        .init(Lv.Assessment.V1.Assessment.Method.SubmitResponses.descriptor, .assessor, .write, Lv_Assessment_V1_SubmitResponsesRequest.self),
        .init(Lv.Assessment.V1.Assessment.Method.RecordCommitment.descriptor, .assessor, .write, Lv_Assessment_V1_RecordCommitmentRequest.self),
        .init(Lv.Assessment.V1.Assessment.Method.RecordFollowUp.descriptor, .assessor, .write, Lv_Assessment_V1_RecordFollowUpRequest.self),
        .init(Lv.Assessment.V1.Assessment.Method.RecordPracticeMeasures.descriptor, .assessor, .write, Lv_Assessment_V1_RecordPracticeMeasuresRequest.self),
        .init(Lv.Assessment.V1.Assessment.Method.GetOutcomes.descriptor, .assessorRead, .read, Lv_Assessment_V1_GetOutcomesRequest.self),
        // lv.gateway.v1.Gateway
        .init(Lv.Gateway.V1.Gateway.Method.GetActivityValidation.descriptor, .analyst, .read, Lv_Gateway_V1_GetActivityValidationRequest.self),
        .init(Lv.Gateway.V1.Gateway.Method.GetPhysicianTranscript.descriptor, .analyst, .read, Lv_Gateway_V1_GetPhysicianTranscriptRequest.self),
        .init(Lv.Gateway.V1.Gateway.Method.ListActivityValidations.descriptor, .analyst, .read, Lv_Gateway_V1_ListActivityValidationsRequest.self),
        // Names, NPIs and board ids: the registrar's read scope, audited like GetPhysician.
        .init(Lv.Gateway.V1.Gateway.Method.ExportPARS.descriptor, .registrarRead, .read, Lv_Gateway_V1_ExportPARSRequest.self),
        // lv.admin.v1.Admin (registration, engagement, assessment)
        .init(Lv.Admin.V1.Admin.Method.Backup.descriptor, .admin, .write, Lv_Admin_V1_BackupRequest.self),
        // No key: health and reflection.
        .init(Lv.Health.V1.Health.Method.Check.descriptor, nil, .none, Lv_Health_V1_HealthCheckRequest.self),
        .init(Lv.Reflection.V1.Reflection.Method.ListServices.descriptor, nil, .none, Lv_Reflection_V1_ListServicesRequest.self),
    ]

    public static let byMethod: [String: MethodPolicy] = Dictionary(uniqueKeysWithValues: all.map { ($0.method, $0) })

    public static func policy(for method: String) -> MethodPolicy? { byMethod[method] }
}

extension MethodPolicies {
    /// The table as docs/PROTOCOL.md, docs/OPERATIONS.md and docs/SECURITY.md print it (a test keeps them equal).
    public static var markdownTable: String {
        var out = "| Method | Scope | Roles that have it | Audited |\n|---|---|---|---|\n"
        for p in all {
            let roles = p.scope.map { s in Role.allCases.filter { $0.scopes.contains(s) }.map(\.rawValue).joined(separator: ", ") } ?? "anyone, no key"
            out += "| `\(p.method)` | \(p.scope.map { "`\($0.rawValue)`" } ?? "none") | \(roles) | \(p.audit == .none ? "no" : p.audit.rawValue) |\n"
        }
        return out
    }
}
