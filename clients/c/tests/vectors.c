/* Runs one protocol vector (docs/protocol-vectors.json) through lvclient; Tests/python/test_c_client.py
 * feeds it every vector and compares what it prints with the vector.
 *   lv-c-vectors frame HEX
 *       decodes the frame; prints "type=T stream=S flags=F meta=M payload=P same=1" (same: re-encoded
 *       to the same bytes) and, for a meta that is a FrameMeta, "method=… timeout_ms=… code=…".
 *   lv-c-vectors behave HOST PORT HEX SEND_HELLO ZERO_BYTES [ANSWER_FIRST]
 *       sends HELLO (when SEND_HELLO is 1), then HEX and ZERO_BYTES zero bytes on a raw connection;
 *       prints "reply=T stream=S code=C last=L closed=0|1 first=IDS" for the first RESPONSE, GOAWAY
 *       or PONG (L: a GOAWAY's last_stream_id, else 0). ANSWER_FIRST (the vector's
 *       may_answer_first, comma-separated) lists streams whose one RESPONSE may come before that
 *       reply: such answers are skipped and listed in IDS ("-" for none). */
#define _POSIX_C_SOURCE 200809L
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lvclient.h"
#include "LVProtoC.h"

static uint8_t *unhex(const char *s, size_t *n) {
    size_t len = strlen(s) / 2;
    uint8_t *out = malloc(len + 1);
    for (size_t i = 0; i < len; i++) sscanf(s + 2 * i, "%2hhx", &out[i]);
    *n = len;
    return out;
}

static int frame(const char *hex) {
    size_t n;
    uint8_t *b = unhex(hex, &n);
    lv_header h;
    if (n < LV_HEADER_SIZE || lv_decode_header(b, &h)) { printf("invalid header\n"); return 1; }
    if ((size_t)LV_HEADER_SIZE + h.meta_length + h.payload_length != n) { printf("length mismatch\n"); return 1; }
    uint8_t *again = malloc(n + 1);
    lv_encode_frame(again, h.type, h.flags, h.stream_id, b + LV_HEADER_SIZE, h.meta_length, b + LV_HEADER_SIZE + h.meta_length, h.payload_length);
    printf("type=%d stream=%u flags=%d meta=%u payload=%u same=%d\n", h.type, h.stream_id, h.flags, h.meta_length,
           h.payload_length, memcmp(again, b, n) == 0);
    if ((h.type == LV_REQUEST || h.type == LV_RESPONSE) && h.meta_length &&
        lv_wire_check(b + LV_HEADER_SIZE, h.meta_length, &lv__rpc__v1__frame_meta__descriptor, NULL, 0) == 0) {
        Lv__Rpc__V1__FrameMeta *m = lv__rpc__v1__frame_meta__unpack(NULL, h.meta_length, b + LV_HEADER_SIZE);
        if (m) {
            printf("method=%s timeout_ms=%u code=%d\n", m->method, m->timeout_ms, m->status ? (int)m->status->code : 0);
            lv__rpc__v1__frame_meta__free_unpacked(m, NULL);
        }
    }
    free(again);
    free(b);
    return 0;
}

static int read_n(int fd, uint8_t *p, size_t n, int ms) {
    while (n) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, ms) <= 0) return -2;
        ssize_t r = recv(fd, p, n, 0);
        if (r <= 0) return -1;
        p += r; n -= (size_t)r;
    }
    return 0;
}

/* Whether `id` is in the comma-separated list `ids`, and not yet in `seen` (then added to it). */
static int answer_first(const char *ids, uint32_t id, uint32_t *seen, int *nseen) {
    for (int i = 0; i < *nseen; i++) if (seen[i] == id) return 0;
    for (const char *p = ids; p && *p;) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p) break;
        if (v == id && *nseen < 16) { seen[(*nseen)++] = id; return 1; }
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

static int behave(const char *host, const char *port, const char *hex, int hello, long zeros, const char *first_ids) {
    uint32_t seen[16];
    int nseen = 0;
    struct addrinfo hints = {0}, *res;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res)) return 2;
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (connect(fd, res->ai_addr, res->ai_addrlen)) { perror("connect"); return 2; }
    if (hello) {
        Lv__Rpc__V1__Hello h = LV__RPC__V1__HELLO__INIT;
        h.protocol_version = 1;
        h.client_name = "lv-c-vectors";
        uint8_t p[256], out[300];
        size_t pl = protobuf_c_message_pack(&h.base, p);
        size_t n = lv_encode_frame(out, LV_HELLO, 0, 0, NULL, 0, p, (uint32_t)pl);
        send(fd, out, n, MSG_NOSIGNAL);
    }
    size_t n;
    uint8_t *b = unhex(hex, &n);
    send(fd, b, n, MSG_NOSIGNAL);
    free(b);
    static uint8_t zero[65536];
    while (zeros > 0) {
        size_t chunk = zeros > (long)sizeof zero ? sizeof zero : (size_t)zeros;
        if (send(fd, zero, chunk, MSG_NOSIGNAL) < 0) break;
        zeros -= (long)chunk;
    }
    for (;;) {
        uint8_t hd[LV_HEADER_SIZE];
        lv_header h;
        if (read_n(fd, hd, LV_HEADER_SIZE, 10000) || lv_decode_header(hd, &h)) { printf("reply=none\n"); return 1; }
        size_t body = (size_t)h.meta_length + h.payload_length;
        uint8_t *bb = malloc(body + 1);
        if (read_n(fd, bb, body, 10000)) { printf("reply=none\n"); return 1; }
        if (h.type == LV_HELLO_ACK) { free(bb); continue; }
        int code = -1;
        unsigned last = 0;
        if (h.type == LV_RESPONSE && answer_first(first_ids, h.stream_id, seen, &nseen)) { free(bb); continue; }
        if (h.type == LV_RESPONSE) {
            Lv__Rpc__V1__FrameMeta *m = lv__rpc__v1__frame_meta__unpack(NULL, h.meta_length, bb);
            code = m && m->status ? (int)m->status->code : 0;
            if (m) lv__rpc__v1__frame_meta__free_unpacked(m, NULL);
        } else if (h.type == LV_GOAWAY) {
            Lv__Rpc__V1__GoAway *g = lv__rpc__v1__go_away__unpack(NULL, h.payload_length, bb + h.meta_length);
            code = g && g->status ? (int)g->status->code : 0;
            last = g ? g->last_stream_id : 0;
            if (g) lv__rpc__v1__go_away__free_unpacked(g, NULL);
        } else if (h.type != LV_PONG) {
            free(bb);
            continue;
        }
        free(bb);
        /* Closed: EOF within 1.5 s (anything else that arrives is read past). */
        int closed = 0;
        uint8_t sink[4096];
        for (;;) {
            struct pollfd pfd = {fd, POLLIN, 0};
            if (poll(&pfd, 1, 1500) <= 0) break;
            ssize_t r = recv(fd, sink, sizeof sink, 0);
            if (r <= 0) { closed = 1; break; }
        }
        printf("reply=%d stream=%u code=%d last=%u closed=%d first=", h.type, h.stream_id, code, last, closed);
        for (int i = 0; i < nseen; i++) printf("%s%u", i ? "," : "", seen[i]);
        printf("%s\n", nseen ? "" : "-");
        close(fd);
        return 0;
    }
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "frame") == 0) return frame(argv[2]);
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "behave") == 0)
        return behave(argv[2], argv[3], argv[4], atoi(argv[5]), atol(argv[6]), argc == 8 ? argv[7] : "");
    fprintf(stderr, "usage: lv-c-vectors frame HEX | behave HOST PORT HEX SEND_HELLO ZERO_BYTES [ANSWER_FIRST]\n");
    return 2;
}
