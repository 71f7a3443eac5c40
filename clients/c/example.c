/* One CME activity end to end through lv-registration with lvclient: create the activity and a
 * session, register a physician, enroll, record attendance, claim credit, then read the activity
 * and its credit with two calls in flight.
 *   lv-c-example HOST PORT
 * Each create carries a request_id, so running the example twice is a safe retry (same answers).
 * Exits 0 when every call succeeded. */
#include <stdio.h>
#include <stdlib.h>

#include "lvclient.h"
#include "LVProtoC.h"

#define TIMEOUT_MS 5000
/* 2026-11-26 14:00 and 15:00 UTC. */
#define SESSION_START 1795701600000LL
#define SESSION_END 1795705200000LL

static int failed(const char *what, int code, const lv_status *st) {
    if (code == 0) return 0;
    fprintf(stderr, "%s: %s: %s\n", what, lv_status_name(code), st->message);
    for (int i = 0; i < st->n_violations; i++)
        fprintf(stderr, "  %s [%s]: %s\n", st->violations[i].field, st->violations[i].rule, st->violations[i].description);
    return 1;
}

#define CALL(method, req, resp_desc, out) \
    do { lv_status st; int code = lv_call(c, "lv.registration.v1.Registration/" method, &(req).base, &(resp_desc), TIMEOUT_MS, \
                                          (ProtobufCMessage **)&(out), &st); \
         if (failed(method, code, &st)) { lv_close(c); return 1; } } while (0)

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: lv-c-example HOST PORT\n"); return 2; }
    lv_status st;
    lv_client *c = lv_connect(argv[1], atoi(argv[2]), NULL, TIMEOUT_MS, &st);
    if (!c) { fprintf(stderr, "connect: %s: %s\n", lv_status_name(st.code), st.message); return 1; }
    printf("connected to %s\n", lv_server_name(c));

    Lv__Registration__V1__LearningObjective objective = LV__REGISTRATION__V1__LEARNING_OBJECTIVE__INIT, *objectives[] = {&objective};
    objective.id = "obj-1";
    objective.text = "Start guideline-directed therapy in HFrEF";
    Lv__Registration__V1__Activity activity = LV__REGISTRATION__V1__ACTIVITY__INIT;
    activity.activity_id = "c-example-2026";
    activity.title = "Heart failure update (C example)";
    activity.type = LV__REGISTRATION__V1__ACTIVITY_TYPE__ACTIVITY_TYPE_COURSE;
    activity.start_date = "2026-11-26";
    activity.end_date = "2026-11-26";
    activity.max_credits = 1.0;
    activity.target_moore_level = 3;
    activity.n_objectives = 1;
    activity.objectives = objectives;
    Lv__Registration__V1__CreateActivityRequest create = LV__REGISTRATION__V1__CREATE_ACTIVITY_REQUEST__INIT;
    create.request_id = "c-example-activity";
    create.activity = &activity;
    Lv__Registration__V1__CreateActivityResponse *created;
    CALL("CreateActivity", create, lv__registration__v1__create_activity_response__descriptor, created);
    printf("activity %s\n", created->activity->activity_id);
    protobuf_c_message_free_unpacked(&created->base, NULL);

    char *session_objectives[] = {"obj-1"};
    Lv__Registration__V1__Session session = LV__REGISTRATION__V1__SESSION__INIT;
    session.session_id = "c-example-s1";
    session.activity_id = "c-example-2026";
    session.title = "GDMT in practice";
    session.start_ms = SESSION_START;
    session.end_ms = SESSION_END;
    session.n_objective_ids = 1;
    session.objective_ids = session_objectives;
    Lv__Registration__V1__AddSessionRequest add = LV__REGISTRATION__V1__ADD_SESSION_REQUEST__INIT;
    add.request_id = "c-example-session";
    add.session = &session;
    Lv__Registration__V1__AddSessionResponse *added;
    CALL("AddSession", add, lv__registration__v1__add_session_response__descriptor, added);
    protobuf_c_message_free_unpacked(&added->base, NULL);

    Lv__Registration__V1__Physician physician = LV__REGISTRATION__V1__PHYSICIAN__INIT;
    physician.npi = "1234567893";
    physician.given_name = "Example";
    physician.family_name = "Physician";
    physician.specialty = "Internal Medicine";
    Lv__Registration__V1__RegisterPhysicianRequest reg = LV__REGISTRATION__V1__REGISTER_PHYSICIAN_REQUEST__INIT;
    reg.request_id = "c-example-physician";
    reg.physician = &physician;
    Lv__Registration__V1__RegisterPhysicianResponse *registered;
    CALL("RegisterPhysician", reg, lv__registration__v1__register_physician_response__descriptor, registered);
    protobuf_c_message_free_unpacked(&registered->base, NULL);

    Lv__Registration__V1__EnrollRequest enroll = LV__REGISTRATION__V1__ENROLL_REQUEST__INIT;
    enroll.request_id = "c-example-enroll";
    enroll.activity_id = "c-example-2026";
    enroll.npi = "1234567893";
    enroll.cohort = LV__REGISTRATION__V1__COHORT__COHORT_PARTICIPANT;
    Lv__Registration__V1__EnrollResponse *enrolled;
    CALL("Enroll", enroll, lv__registration__v1__enroll_response__descriptor, enrolled);
    protobuf_c_message_free_unpacked(&enrolled->base, NULL);

    /* Attendance as one closed interval: RecordAttendance carries a request_id, so unlike
     * CheckIn/CheckOut it is safe to send again. */
    Lv__Registration__V1__AttendanceInterval interval = LV__REGISTRATION__V1__ATTENDANCE_INTERVAL__INIT, *intervals[] = {&interval};
    interval.npi = "1234567893";
    interval.session_id = "c-example-s1";
    interval.check_in_ms = SESSION_START;
    interval.check_out_ms = SESSION_END;
    Lv__Registration__V1__RecordAttendanceRequest attendance = LV__REGISTRATION__V1__RECORD_ATTENDANCE_REQUEST__INIT;
    attendance.request_id = "c-example-attendance";
    attendance.n_intervals = 1;
    attendance.intervals = intervals;
    Lv__Registration__V1__RecordAttendanceResponse *recorded;
    CALL("RecordAttendance", attendance, lv__registration__v1__record_attendance_response__descriptor, recorded);
    printf("attendance: %u accepted, %u duplicates\n", recorded->accepted, recorded->duplicates);
    protobuf_c_message_free_unpacked(&recorded->base, NULL);

    Lv__Registration__V1__ClaimCreditRequest claim = LV__REGISTRATION__V1__CLAIM_CREDIT_REQUEST__INIT;
    claim.request_id = "c-example-claim";
    claim.activity_id = "c-example-2026";
    claim.npi = "1234567893";
    claim.credits = 1.0;
    Lv__Registration__V1__ClaimCreditResponse *claimed;
    CALL("ClaimCredit", claim, lv__registration__v1__claim_credit_response__descriptor, claimed);
    protobuf_c_message_free_unpacked(&claimed->base, NULL);

    /* Two reads in flight at once on the one connection, collected in either order. */
    Lv__Registration__V1__ListCreditsRequest list = LV__REGISTRATION__V1__LIST_CREDITS_REQUEST__INIT;
    list.activity_id = "c-example-2026";
    Lv__Registration__V1__GetActivityRequest get = LV__REGISTRATION__V1__GET_ACTIVITY_REQUEST__INIT;
    get.activity_id = "c-example-2026";
    uint32_t credits_call = lv_start(c, "lv.registration.v1.Registration/ListCredits", &list.base, TIMEOUT_MS, &st);
    uint32_t activity_call = lv_start(c, "lv.registration.v1.Registration/GetActivity", &get.base, TIMEOUT_MS, &st);
    ProtobufCMessage *a = NULL, *l = NULL;
    int code = activity_call ? lv_wait(c, activity_call, &lv__registration__v1__get_activity_response__descriptor, &a, &st) : st.code;
    if (failed("GetActivity", code, &st)) { lv_close(c); return 1; }
    code = credits_call ? lv_wait(c, credits_call, &lv__registration__v1__list_credits_response__descriptor, &l, &st) : st.code;
    if (failed("ListCredits", code, &st)) { lv_close(c); return 1; }
    Lv__Registration__V1__ListCreditsResponse *credits = (Lv__Registration__V1__ListCreditsResponse *)l;
    printf("%s:\n", ((Lv__Registration__V1__GetActivityResponse *)a)->activity->title);
    for (size_t i = 0; i < credits->n_claims; i++)
        printf("credit %s %.2f (%u minutes attended)\n", credits->claims[i]->npi, credits->claims[i]->credits,
               credits->claims[i]->minutes_attended);
    protobuf_c_message_free_unpacked(a, NULL);
    protobuf_c_message_free_unpacked(l, NULL);
    lv_close(c);
    return 0;
}
