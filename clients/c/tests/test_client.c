/* lvclient's own tests: the string checks, and calls against a scripted server on a socketpair
 * (several in flight answered out of order, error status with violations, deadline → CANCEL,
 * GOAWAY, responses with invalid UTF-8 or NUL refused). Ends with "N passed, M failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lvclient.h"
#include "LVProtoC.h"

static int passed, failed;
#define CHECK(cond, what) do { if (cond) passed++; else { failed++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what); } } while (0)

static void server_send(int fd, uint8_t type, uint32_t stream, const ProtobufCMessage *meta, const ProtobufCMessage *payload) {
    uint8_t m[4096], p[4096], out[9000];
    size_t ml = meta ? protobuf_c_message_pack(meta, m) : 0;
    size_t pl = payload ? protobuf_c_message_pack(payload, p) : 0;
    size_t n = lv_encode_frame(out, type, 0, stream, m, (uint16_t)ml, p, (uint32_t)pl);
    if (write(fd, out, n) != (ssize_t)n) abort();
}

static void server_send_raw(int fd, uint8_t type, uint32_t stream, const ProtobufCMessage *meta, const uint8_t *p, size_t pl) {
    uint8_t m[4096], out[9000];
    size_t ml = meta ? protobuf_c_message_pack(meta, m) : 0;
    size_t n = lv_encode_frame(out, type, 0, stream, m, (uint16_t)ml, p, (uint32_t)pl);
    if (write(fd, out, n) != (ssize_t)n) abort();
}

/* Reads one frame the client sent; returns its type (0 on EOF) and stream id. */
static int server_read(int fd, uint32_t *stream) {
    uint8_t h[LV_HEADER_SIZE];
    size_t got = 0;
    while (got < LV_HEADER_SIZE) { ssize_t r = read(fd, h + got, LV_HEADER_SIZE - got); if (r <= 0) return 0; got += (size_t)r; }
    lv_header hd;
    if (lv_decode_header(h, &hd)) return -1;
    size_t body = (size_t)hd.meta_length + hd.payload_length;
    uint8_t *b = malloc(body + 1);
    got = 0;
    while (got < body) { ssize_t r = read(fd, b + got, body - got); if (r <= 0) { free(b); return 0; } got += (size_t)r; }
    free(b);
    if (stream) *stream = hd.stream_id;
    return hd.type;
}

static lv_client *scripted(int *server) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) abort();
    Lv__Rpc__V1__HelloAck ack = LV__RPC__V1__HELLO_ACK__INIT;
    ack.protocol_version = 1;
    ack.max_concurrent_streams = 100;
    ack.server_name = "scripted";
    server_send(sv[1], LV_HELLO_ACK, 0, NULL, &ack.base);
    lv_status st;
    lv_client *c = lv_attach(sv[0], NULL, 1000, &st);
    *server = sv[1];
    CHECK(server_read(sv[1], NULL) == LV_HELLO, "the client sends HELLO first");
    return c;
}

static Lv__Rpc__V1__FrameMeta ok_meta(void) {
    Lv__Rpc__V1__FrameMeta m = LV__RPC__V1__FRAME_META__INIT;
    return m;
}

static void test_strings(void) {
    CHECK(lv_valid_string((const uint8_t *)"plain \xc3\xa9 \xf0\x9f\x99\x82", 13), "UTF-8 accepted");
    CHECK(!lv_valid_string((const uint8_t *)"a\0b", 3), "NUL refused");
    CHECK(!lv_valid_string((const uint8_t *)"\xc3\x28", 2), "bad continuation refused");
    CHECK(!lv_valid_string((const uint8_t *)"\xc0\x80", 2), "overlong refused");
    CHECK(!lv_valid_string((const uint8_t *)"\xed\xa0\x80", 3), "surrogate refused");
    CHECK(!lv_valid_string((const uint8_t *)"\xf4\x90\x80\x80", 4), "past U+10FFFF refused");
    CHECK(!lv_valid_string((const uint8_t *)"\xe2\x82", 2), "truncated refused");
    /* A nested string: HealthCheckResponse.dependencies[0].name with a NUL. */
    const uint8_t nested[] = {0x12, 0x05, 0x0a, 0x03, 'a', 0x00, 'b'};
    char why[256] = "";
    CHECK(lv_wire_check(nested, sizeof nested, &lv__health__v1__health_check_response__descriptor, why, sizeof why) == -1,
          "NUL in a nested string refused");
    CHECK(strstr(why, "DependencyHealth.name") != NULL, why);
    const uint8_t good[] = {0x12, 0x03, 0x0a, 0x01, 'a'};
    CHECK(lv_wire_check(good, sizeof good, &lv__health__v1__health_check_response__descriptor, NULL, 0) == 0, "good bytes pass");
    const uint8_t truncated[] = {0x12, 0x09, 0x0a};
    CHECK(lv_wire_check(truncated, sizeof truncated, &lv__health__v1__health_check_response__descriptor, NULL, 0) == -1, "length past the end");
}

static void test_calls(void) {
    int s;
    lv_client *c = scripted(&s);
    CHECK(c != NULL && strcmp(lv_server_name(c), "scripted") == 0, "HELLO_ACK read");
    Lv__Health__V1__HealthCheckRequest req = LV__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    lv_status st;
    uint32_t a = lv_start(c, "lv.health.v1.Health/Check", &req.base, 1000, &st);
    uint32_t b = lv_start(c, "lv.health.v1.Health/Check", &req.base, 1000, &st);
    uint32_t d = lv_start(c, "lv.health.v1.Health/Check", &req.base, 1000, &st);
    CHECK(a == 1 && b == 2 && d == 3, "stream ids increase from 1");
    for (int i = 0; i < 3; i++) CHECK(server_read(s, NULL) == LV_REQUEST, "three REQUESTs in flight");
    /* Answered out of order: 3 (NOT_SERVING), 1 (SERVING), 2 (an error with a violation). */
    Lv__Rpc__V1__FrameMeta meta = ok_meta();
    Lv__Health__V1__HealthCheckResponse r3 = LV__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT, r1 = LV__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    r3.status = LV__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    r1.status = LV__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    server_send(s, LV_RESPONSE, 3, &meta.base, &r3.base);
    server_send(s, LV_RESPONSE, 1, &meta.base, &r1.base);
    Lv__Rpc__V1__FieldViolation v = LV__RPC__V1__FIELD_VIOLATION__INIT, *vs[] = {&v};
    v.field = "service"; v.rule = "length"; v.description = "too long";
    Lv__Rpc__V1__Status bad = LV__RPC__V1__STATUS__INIT;
    bad.code = LV__RPC__V1__STATUS_CODE__INVALID_ARGUMENT; bad.message = "service: too long"; bad.n_violations = 1; bad.violations = vs;
    Lv__Rpc__V1__FrameMeta err = ok_meta();
    err.status = &bad;
    server_send(s, LV_RESPONSE, 2, &err.base, NULL);

    ProtobufCMessage *resp = NULL;
    CHECK(lv_wait(c, 1, &lv__health__v1__health_check_response__descriptor, &resp, &st) == 0, "call 1 OK");
    CHECK(resp && ((Lv__Health__V1__HealthCheckResponse *)resp)->status == 1, "call 1 got its own answer");
    if (resp) protobuf_c_message_free_unpacked(resp, NULL);
    CHECK(lv_wait(c, 2, &lv__health__v1__health_check_response__descriptor, &resp, &st) == 3, "call 2 INVALID_ARGUMENT");
    CHECK(st.n_violations == 1 && strcmp(st.violations[0].field, "service") == 0 && strcmp(st.violations[0].rule, "length") == 0,
          "violation field and rule");
    CHECK(lv_wait(c, 3, &lv__health__v1__health_check_response__descriptor, &resp, &st) == 0 &&
          ((Lv__Health__V1__HealthCheckResponse *)resp)->status == 2, "call 3 got its own answer");
    if (resp) protobuf_c_message_free_unpacked(resp, NULL);

    /* Deadline: nothing comes back, the client gives up and sends CANCEL for that stream. */
    uint32_t late = lv_start(c, "lv.health.v1.Health/Check", &req.base, 50, &st);
    CHECK(server_read(s, NULL) == LV_REQUEST, "REQUEST sent");
    CHECK(lv_wait(c, late, &lv__health__v1__health_check_response__descriptor, &resp, &st) == 4, "DEADLINE_EXCEEDED");
    uint32_t cancelled = 0;
    CHECK(server_read(s, &cancelled) == LV_CANCEL && cancelled == late, "CANCEL for the late stream");

    /* A response string with invalid UTF-8, then one with a NUL: refused, naming the field. */
    const uint8_t bad_utf8[] = {0x12, 0x04, 0x0a, 0x02, 0xc3, 0x28};
    const uint8_t nul[] = {0x12, 0x04, 0x0a, 0x02, 'a', 0x00};
    for (int k = 0; k < 2; k++) {
        uint32_t id = lv_start(c, "lv.health.v1.Health/Check", &req.base, 1000, &st);
        server_read(s, NULL);
        server_send_raw(s, LV_RESPONSE, id, &meta.base, k ? nul : bad_utf8, 6);
        CHECK(lv_wait(c, id, &lv__health__v1__health_check_response__descriptor, &resp, &st) == 15 && resp == NULL,
              k ? "NUL in a response refused" : "invalid UTF-8 in a response refused");
        CHECK(strstr(st.message, "DependencyHealth.name") != NULL, st.message);
    }

    /* A request string that is not UTF-8 never leaves the client. */
    req.service = "\xff\xfe";
    CHECK(lv_start(c, "lv.health.v1.Health/Check", &req.base, 1000, &st) == 0 && st.code == 3, "bad request string refused locally");
    req.service = "";

    /* GOAWAY with last_stream_id = the first of two calls: the second fails UNAVAILABLE + retryable,
     * the first is still answered, and no new call starts. */
    uint32_t g1 = lv_start(c, "lv.health.v1.Health/Check", &req.base, 1000, &st);
    uint32_t g2 = lv_start(c, "lv.health.v1.Health/Check", &req.base, 1000, &st);
    server_read(s, NULL); server_read(s, NULL);
    Lv__Rpc__V1__Status drain = LV__RPC__V1__STATUS__INIT;
    drain.code = LV__RPC__V1__STATUS_CODE__UNAVAILABLE; drain.message = "draining";
    Lv__Rpc__V1__GoAway goaway = LV__RPC__V1__GO_AWAY__INIT;
    goaway.last_stream_id = g1; goaway.status = &drain;
    server_send(s, LV_GOAWAY, 0, NULL, &goaway.base);
    server_send(s, LV_RESPONSE, g1, &meta.base, &r1.base);
    CHECK(lv_wait(c, g2, &lv__health__v1__health_check_response__descriptor, &resp, &st) == 14 && st.retryable, "above last_stream_id: UNAVAILABLE, retryable");
    CHECK(lv_goaway_last_stream_id(c) == (long)g1, "last_stream_id kept");
    CHECK(lv_wait(c, g1, &lv__health__v1__health_check_response__descriptor, &resp, &st) == 0, "at last_stream_id: answered");
    if (resp) protobuf_c_message_free_unpacked(resp, NULL);
    CHECK(lv_start(c, "lv.health.v1.Health/Check", &req.base, 1000, &st) == 0 && st.code == 14, "no call after GOAWAY");

    /* The server closing the connection fails a call in flight. */
    lv_close(c);
    close(s);
    c = scripted(&s);
    uint32_t lost = lv_start(c, "lv.health.v1.Health/Check", &req.base, 1000, &st);
    server_read(s, NULL);
    close(s);
    CHECK(lv_wait(c, lost, &lv__health__v1__health_check_response__descriptor, &resp, &st) == 14, "connection closed: UNAVAILABLE");
    lv_close(c);
}

int main(void) {
    test_strings();
    test_calls();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
