import LVFuzzSupport
import LVMessages

// libFuzzer target (issue #12): the wire pre-check with the request budget, then protobuf-c's
// decode, of every message type; a decoded message is encoded and decoded again. The first
// input byte picks the type. Built by `make fuzz` with `-Xswiftc -DLV_FUZZ`; without it the same
// code replays files given as arguments (the committed corpus and every crash found), which
// `make fuzz-replay` does in every `make test`.

/// Every message type: the first generation sorted by full protobuf name, then the types added
/// since, appended in a fixed order (never sorted in, so every committed seed keeps its type).
/// scripts/make-fuzz-corpus.py numbers its seeds in the same order (its APPENDED list), and
/// Tests/python/test_fuzz_corpus.py checks the two agree and cover every message of proto/.
/// When proto/ gains a message, append it to `appended` and to the script's APPENDED.
let types: [any ProtoMessage.Type] = firstGeneration + appended

let firstGeneration: [any ProtoMessage.Type] = ([
    Lv_Assessment_V1_Answer.self,
    Lv_Assessment_V1_Commitment.self,
    Lv_Assessment_V1_CreateInstrumentRequest.self,
    Lv_Assessment_V1_CreateInstrumentResponse.self,
    Lv_Assessment_V1_CriteriaMet.self,
    Lv_Assessment_V1_FollowUp.self,
    Lv_Assessment_V1_GetInstrumentRequest.self,
    Lv_Assessment_V1_GetInstrumentResponse.self,
    Lv_Assessment_V1_GetOutcomesRequest.self,
    Lv_Assessment_V1_GetOutcomesResponse.self,
    Lv_Assessment_V1_Instrument.self,
    Lv_Assessment_V1_Item.self,
    Lv_Assessment_V1_ItemPair.self,
    Lv_Assessment_V1_ItemScore.self,
    Lv_Assessment_V1_ListInstrumentsRequest.self,
    Lv_Assessment_V1_ListInstrumentsResponse.self,
    Lv_Assessment_V1_MeasureRate.self,
    Lv_Assessment_V1_ObjectiveScore.self,
    Lv_Assessment_V1_PhysicianOutcomes.self,
    Lv_Assessment_V1_PracticeMeasure.self,
    Lv_Assessment_V1_QuadrantCounts.self,
    Lv_Assessment_V1_RecordCommitmentRequest.self,
    Lv_Assessment_V1_RecordCommitmentResponse.self,
    Lv_Assessment_V1_RecordFollowUpRequest.self,
    Lv_Assessment_V1_RecordFollowUpResponse.self,
    Lv_Assessment_V1_RecordPracticeMeasuresRequest.self,
    Lv_Assessment_V1_RecordPracticeMeasuresResponse.self,
    Lv_Assessment_V1_ScoredSubmission.self,
    Lv_Assessment_V1_SubmitResponsesRequest.self,
    Lv_Assessment_V1_SubmitResponsesResponse.self,
    Lv_Engagement_V1_DefinePollRequest.self,
    Lv_Engagement_V1_DefinePollResponse.self,
    Lv_Engagement_V1_Event.self,
    Lv_Engagement_V1_GetEngagementSummaryRequest.self,
    Lv_Engagement_V1_GetEngagementSummaryResponse.self,
    Lv_Engagement_V1_ListEventsRequest.self,
    Lv_Engagement_V1_ListEventsResponse.self,
    Lv_Engagement_V1_PhysicianEngagement.self,
    Lv_Engagement_V1_RecordEventsRequest.self,
    Lv_Engagement_V1_RecordEventsResponse.self,
    Lv_Engagement_V1_Result.self,
    Lv_Gateway_V1_ActivityValidation.self,
    Lv_Gateway_V1_ActivityValidationSummary.self,
    Lv_Gateway_V1_Attribution.self,
    Lv_Gateway_V1_BarrierCount.self,
    Lv_Gateway_V1_Commitments.self,
    Lv_Gateway_V1_Competence.self,
    Lv_Gateway_V1_EngagementVsLearning.self,
    Lv_Gateway_V1_Estimate.self,
    Lv_Gateway_V1_Funnel.self,
    Lv_Gateway_V1_GetActivityValidationRequest.self,
    Lv_Gateway_V1_GetPhysicianTranscriptRequest.self,
    Lv_Gateway_V1_Knowledge.self,
    Lv_Gateway_V1_ListActivityValidationsRequest.self,
    Lv_Gateway_V1_ListActivityValidationsResponse.self,
    Lv_Gateway_V1_McNemarTest.self,
    Lv_Gateway_V1_MooreLevel.self,
    Lv_Gateway_V1_PhysicianTranscript.self,
    Lv_Gateway_V1_PracticeChange.self,
    Lv_Gateway_V1_RetentionAtDelay.self,
    Lv_Gateway_V1_SectionStatus.self,
    Lv_Gateway_V1_Test.self,
    Lv_Gateway_V1_Thresholds.self,
    Lv_Gateway_V1_TranscriptEntry.self,
    Lv_Gateway_V1_ValidationGap.self,
    Lv_Health_V1_HealthCheckRequest.self,
    Lv_Health_V1_HealthCheckResponse.self,
    Lv_Reflection_V1_ListServicesRequest.self,
    Lv_Reflection_V1_ListServicesResponse.self,
    Lv_Reflection_V1_MethodDescriptor.self,
    Lv_Reflection_V1_ServiceDescriptor.self,
    Lv_Registration_V1_Activity.self,
    Lv_Registration_V1_AddSessionRequest.self,
    Lv_Registration_V1_AddSessionResponse.self,
    Lv_Registration_V1_AttendanceInterval.self,
    Lv_Registration_V1_BoardId.self,
    Lv_Registration_V1_CheckInRequest.self,
    Lv_Registration_V1_CheckInResponse.self,
    Lv_Registration_V1_CheckOutRequest.self,
    Lv_Registration_V1_CheckOutResponse.self,
    Lv_Registration_V1_ClaimCreditRequest.self,
    Lv_Registration_V1_ClaimCreditResponse.self,
    Lv_Registration_V1_CreateActivityRequest.self,
    Lv_Registration_V1_CreateActivityResponse.self,
    Lv_Registration_V1_CreditClaim.self,
    Lv_Registration_V1_DesignedToChange.self,
    Lv_Registration_V1_EnrollRequest.self,
    Lv_Registration_V1_EnrollResponse.self,
    Lv_Registration_V1_Enrollment.self,
    Lv_Registration_V1_GetActivityRequest.self,
    Lv_Registration_V1_GetActivityResponse.self,
    Lv_Registration_V1_GetAttendanceRequest.self,
    Lv_Registration_V1_GetAttendanceResponse.self,
    Lv_Registration_V1_GetPhysicianRequest.self,
    Lv_Registration_V1_GetPhysicianResponse.self,
    Lv_Registration_V1_LearningObjective.self,
    Lv_Registration_V1_Licence.self,
    Lv_Registration_V1_ListActivitiesRequest.self,
    Lv_Registration_V1_ListActivitiesResponse.self,
    Lv_Registration_V1_ListCreditsRequest.self,
    Lv_Registration_V1_ListCreditsResponse.self,
    Lv_Registration_V1_ListEnrollmentsRequest.self,
    Lv_Registration_V1_ListEnrollmentsResponse.self,
    Lv_Registration_V1_ListPhysiciansRequest.self,
    Lv_Registration_V1_ListPhysiciansResponse.self,
    Lv_Registration_V1_ListSessionsRequest.self,
    Lv_Registration_V1_ListSessionsResponse.self,
    Lv_Registration_V1_Physician.self,
    Lv_Registration_V1_PhysicianAttendance.self,
    Lv_Registration_V1_RecordAttendanceRequest.self,
    Lv_Registration_V1_RecordAttendanceResponse.self,
    Lv_Registration_V1_RegisterPhysicianRequest.self,
    Lv_Registration_V1_RegisterPhysicianResponse.self,
    Lv_Registration_V1_Session.self,
    Lv_Registration_V1_SessionAttendance.self,
    Lv_Registration_V1_UpdatePhysicianRequest.self,
    Lv_Registration_V1_UpdatePhysicianResponse.self,
    Lv_Registration_V1_WithdrawRequest.self,
    Lv_Registration_V1_WithdrawResponse.self,
    Lv_Rpc_V1_FieldViolation.self,
    Lv_Rpc_V1_FrameMeta.self,
    Lv_Rpc_V1_GoAway.self,
    Lv_Rpc_V1_Hello.self,
    Lv_Rpc_V1_HelloAck.self,
    Lv_Rpc_V1_Status.self,
    Lv_Testing_V1_EchoRequest.self,
    Lv_Testing_V1_EchoResponse.self,
    Lv_Testing_V1_Everything.self,
    Lv_Testing_V1_Everything.Nested.self,
    Lv_Testing_V1_Leaf.self,
    Lv_Testing_V1_Tree.self,
] as [any ProtoMessage.Type]).sorted { $0.protoName < $1.protoName }

/// Added after the first corpus, in this order (the reflection descriptors, lv.admin.v1, the gateway's later sections).
let appended: [any ProtoMessage.Type] = [
    Lv_Admin_V1_BackupRequest.self,
    Lv_Admin_V1_BackupResponse.self,
    Lv_Gateway_V1_AbsentSection.self,
    Lv_Gateway_V1_Adjusted.self,
    Lv_Gateway_V1_AssessedSteps.self,
    Lv_Gateway_V1_ChangeFunnel.self,
    Lv_Gateway_V1_Completeness.self,
    Lv_Gateway_V1_Confidence.self,
    Lv_Gateway_V1_ConfidenceInterval.self,
    Lv_Gateway_V1_Evidence.self,
    Lv_Gateway_V1_McNemarResult.self,
    Lv_Gateway_V1_ReliabilityUsed.self,
    Lv_Gateway_V1_VerdictCount.self,
    Lv_Health_V1_DependencyHealth.self,
    Lv_Reflection_V1_GetFileDescriptorSetRequest.self,
    Lv_Reflection_V1_GetFileDescriptorSetResponse.self,
    Lv_Gateway_V1_EngagementPoint.self,
    Lv_Gateway_V1_ExportPARSRequest.self,
    Lv_Gateway_V1_ExportPARSResponse.self,
    Lv_Gateway_V1_MissedItem.self,
    Lv_Gateway_V1_MocResult.self,
    Lv_Registration_V1_CreditOffer.self,
    Lv_Registration_V1_MocOffer.self,
    Lv_Registration_V1_Planning.self,
    Lv_Gateway_V1_PlanningComparison.self,
    Lv_Gateway_V1_ObjectivePlan.self,
    Lv_Gateway_V1_ObjectiveLevel.self,
    Lv_Gateway_V1_GroupKnowledge.self,
]

func decodeAll<M: ProtoMessage>(_ type: M.Type, _ bytes: UnsafeRawBufferPointer) {
    for budget in [WireBudget.requests, nil] {
        guard let message = try? M(serializedBytes: bytes, budget: budget) else { continue }
        guard let again = try? message.serializedBytes() else { continue }
        _ = try? M(serializedBytes: again)
    }
}

func fuzzOne(_ data: UnsafeRawBufferPointer) {
    guard let first = data.first else { return }
    let type = types[Int(first) % types.count]
    decodeAll(type, UnsafeRawBufferPointer(rebasing: data.dropFirst()))
}

#if LV_FUZZ
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEntry(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    fuzzOne(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}
#else
@main
struct Replay {
    static func main() throws { try FuzzReplay.run("lv-fuzz-codec", fuzzOne) }
}
#endif
