/* lvclient: see lvclient.h. */
#define _POSIX_C_SOURCE 200809L
#include "lvclient.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lv/rpc/v1/rpc.pb-c.h"

#define MAX_PENDING 256
#define MAX_FRAME (4u * 1024u * 1024u)

typedef struct {
    uint32_t id;
    int done;
    lv_status status;
    uint8_t *payload;
    size_t payload_length;
    int64_t deadline_ms;
} pending_call;

struct lv_client {
    int fd;
    uint32_t next_stream;
    long goaway_last;
    lv_status goaway_status;
    uint32_t max_streams;
    char server_name[128];
    pending_call pending[MAX_PENDING];
    int n_pending;
};

static const char *names[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                              "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                              "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                              "UNAUTHENTICATED"};

const char *lv_status_name(int code) { return code >= 0 && code <= 16 ? names[code] : "UNKNOWN"; }

static int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void set_status(lv_status *s, int code, int retryable, const char *fmt, const char *detail) {
    if (!s) return;
    memset(s, 0, sizeof *s);
    s->code = code;
    s->retryable = retryable;
    snprintf(s->message, sizeof s->message, fmt, detail ? detail : "");
}

static void copy_status(lv_status *out, const Lv__Rpc__V1__Status *in) {
    memset(out, 0, sizeof *out);
    if (!in) return;
    out->code = (int)in->code;
    snprintf(out->message, sizeof out->message, "%s", in->message ? in->message : "");
    out->retryable = in->retryable;
    out->retry_after_ms = in->retry_after_ms;
    for (size_t i = 0; i < in->n_violations && i < LV_MAX_VIOLATIONS; i++) {
        Lv__Rpc__V1__FieldViolation *v = in->violations[i];
        snprintf(out->violations[i].field, sizeof out->violations[i].field, "%s", v->field);
        snprintf(out->violations[i].rule, sizeof out->violations[i].rule, "%s", v->rule);
        snprintf(out->violations[i].description, sizeof out->violations[i].description, "%s", v->description);
        out->n_violations++;
    }
}

/* ---- frames ---- */

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xFF; }
static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = (v >> 16) & 0xFF; p[2] = (v >> 8) & 0xFF; p[3] = v & 0xFF; }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

size_t lv_encode_frame(uint8_t *out, uint8_t type, uint8_t flags, uint32_t stream_id, const uint8_t *meta,
                       uint16_t meta_length, const uint8_t *payload, uint32_t payload_length) {
    out[0] = 'L'; out[1] = 'V'; out[2] = 1; out[3] = type; out[4] = flags; out[5] = 0;
    put16(out + 6, meta_length);
    put32(out + 8, stream_id);
    put32(out + 12, payload_length);
    if (meta_length) memcpy(out + LV_HEADER_SIZE, meta, meta_length);
    if (payload_length) memcpy(out + LV_HEADER_SIZE + meta_length, payload, payload_length);
    return LV_HEADER_SIZE + meta_length + payload_length;
}

int lv_decode_header(const uint8_t *b, lv_header *h) {
    if (b[0] != 'L' || b[1] != 'V' || b[2] != 1) return -1;
    h->version = b[2];
    h->type = b[3];
    h->flags = b[4];
    h->meta_length = (uint16_t)(b[6] << 8 | b[7]);
    h->stream_id = get32(b + 8);
    h->payload_length = get32(b + 12);
    return 0;
}

/* ---- wire check ---- */

int lv_valid_string(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0) return 0;
        if (c < 0x80) { i++; continue; }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (i + len > n) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

static int varint(const uint8_t *p, size_t n, size_t *i, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*i >= n) return -1;
        uint8_t b = p[(*i)++];
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) { *out = v; return 0; }
    }
    return -1;
}

static int check(const uint8_t *p, size_t n, const ProtobufCMessageDescriptor *d, int depth, char *why, size_t wn) {
    if (depth > 64) { snprintf(why, wn, "%s: nested more than 64 deep", d->name); return -1; }
    size_t i = 0;
    while (i < n) {
        uint64_t tag, len;
        if (varint(p, n, &i, &tag)) { snprintf(why, wn, "%s: malformed tag", d->name); return -1; }
        uint32_t number = (uint32_t)(tag >> 3);
        int wt = tag & 7;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, number);
        switch (wt) {
        case 0: if (varint(p, n, &i, &len)) { snprintf(why, wn, "%s: malformed varint", d->name); return -1; } break;
        case 1: if (n - i < 8) { snprintf(why, wn, "%s: truncated", d->name); return -1; } i += 8; break;
        case 5: if (n - i < 4) { snprintf(why, wn, "%s: truncated", d->name); return -1; } i += 4; break;
        case 2:
            if (varint(p, n, &i, &len) || len > n - i) { snprintf(why, wn, "%s: length past the end", d->name); return -1; }
            if (f && f->type == PROTOBUF_C_TYPE_STRING && !lv_valid_string(p + i, (size_t)len)) {
                snprintf(why, wn, "%s.%s: string is not UTF-8 or contains NUL", d->name, f->name);
                return -1;
            }
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                check(p + i, (size_t)len, f->descriptor, depth + 1, why, wn)) return -1;
            i += (size_t)len;
            break;
        default: snprintf(why, wn, "%s: wire type %d not supported", d->name, wt); return -1;
        }
    }
    return 0;
}

int lv_wire_check(const uint8_t *data, size_t length, const ProtobufCMessageDescriptor *d, char *why, size_t wn) {
    char scratch[8];
    if (!why) { why = scratch; wn = sizeof scratch; }
    return check(data, length, d, 0, why, wn);
}

/* ---- I/O ---- */

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w; n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly n bytes before deadline_ms: 0 ok, -1 closed or failed, -2 timed out. */
static int read_all(int fd, uint8_t *p, size_t n, int64_t deadline_ms) {
    while (n) {
        int64_t left = deadline_ms - now_ms();
        if (left <= 0) return -2;
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0) { if (errno == EINTR) continue; return -1; }
        if (r == 0) return -2;
        ssize_t got = recv(fd, p, n, 0);
        if (got == 0) return -1;
        if (got < 0) { if (errno == EINTR || errno == EAGAIN) continue; return -1; }
        p += got; n -= (size_t)got;
    }
    return 0;
}

static int send_frame(lv_client *c, uint8_t type, uint32_t stream, const ProtobufCMessage *meta, const ProtobufCMessage *payload) {
    size_t ml = meta ? protobuf_c_message_get_packed_size(meta) : 0;
    size_t pl = payload ? protobuf_c_message_get_packed_size(payload) : 0;
    if (ml > 0xFFFF || pl > MAX_FRAME) return -1;
    uint8_t *buf = malloc(LV_HEADER_SIZE + ml + pl + 1);
    if (!buf) return -1;
    uint8_t *m = buf + LV_HEADER_SIZE, *q = buf + LV_HEADER_SIZE + ml;
    if (meta) protobuf_c_message_pack(meta, m);
    if (payload) protobuf_c_message_pack(payload, q);
    lv_encode_frame(buf, type, 0, stream, NULL, 0, NULL, 0);
    put16(buf + 6, (uint16_t)ml);
    put32(buf + 12, (uint32_t)pl);
    int r = write_all(c->fd, buf, LV_HEADER_SIZE + ml + pl);
    free(buf);
    return r;
}

static pending_call *find(lv_client *c, uint32_t id) {
    for (int i = 0; i < c->n_pending; i++) if (c->pending[i].id == id) return &c->pending[i];
    return NULL;
}

static void forget(lv_client *c, pending_call *p) {
    free(p->payload);
    *p = c->pending[--c->n_pending];
}

static void fail_all(lv_client *c, int code, int retryable, const char *why, uint32_t above) {
    for (int i = 0; i < c->n_pending; i++) {
        pending_call *p = &c->pending[i];
        if (!p->done && p->id > above) {
            set_status(&p->status, code, retryable, "%s", why);
            p->done = 1;
        }
    }
}

/* Reads and handles one frame: 0 handled, -1 connection gone, -2 nothing before deadline. */
static int read_frame(lv_client *c, int64_t deadline_ms) {
    uint8_t h[LV_HEADER_SIZE];
    int r = read_all(c->fd, h, 1, deadline_ms);
    if (r) return r;
    /* A frame has started: the rest comes promptly or the connection is broken. */
    if (read_all(c->fd, h + 1, LV_HEADER_SIZE - 1, now_ms() + 30000)) return -1;
    lv_header hd;
    if (lv_decode_header(h, &hd) || (uint64_t)hd.meta_length + hd.payload_length > MAX_FRAME) return -1;
    size_t body = (size_t)hd.meta_length + hd.payload_length;
    uint8_t *b = malloc(body + 1);
    if (!b || read_all(c->fd, b, body, now_ms() + 30000)) { free(b); return -1; }
    const uint8_t *meta = b, *payload = b + hd.meta_length;
    char why[256];
    if (hd.type == LV_RESPONSE) {
        pending_call *p = find(c, hd.stream_id);
        if (p && !p->done) {
            p->done = 1;
            Lv__Rpc__V1__FrameMeta *m = NULL;
            if (lv_wire_check(meta, hd.meta_length, &lv__rpc__v1__frame_meta__descriptor, why, sizeof why) == 0)
                m = lv__rpc__v1__frame_meta__unpack(NULL, hd.meta_length, meta);
            if (!m) {
                set_status(&p->status, 13, 0, "response meta rejected: %s", why);
            } else {
                copy_status(&p->status, m->status);
                lv__rpc__v1__frame_meta__free_unpacked(m, NULL);
                if (p->status.code == 0) {
                    p->payload = malloc(hd.payload_length + 1);
                    memcpy(p->payload, payload, hd.payload_length);
                    p->payload_length = hd.payload_length;
                }
            }
        }
    } else if (hd.type == LV_GOAWAY) {
        Lv__Rpc__V1__GoAway *g = NULL;
        if (lv_wire_check(payload, hd.payload_length, &lv__rpc__v1__go_away__descriptor, why, sizeof why) == 0)
            g = lv__rpc__v1__go_away__unpack(NULL, hd.payload_length, payload);
        c->goaway_last = g ? (long)g->last_stream_id : 0;
        if (g) { copy_status(&c->goaway_status, g->status); lv__rpc__v1__go_away__free_unpacked(g, NULL); }
        /* Calls above last_stream_id were not processed: safe to send again on a new connection. */
        fail_all(c, 14, 1, "not processed before GOAWAY", (uint32_t)c->goaway_last);
    } else if (hd.type == LV_PING) {
        uint8_t out[LV_HEADER_SIZE + 64];
        size_t n = hd.payload_length <= 64 ? hd.payload_length : 0;
        write_all(c->fd, out, lv_encode_frame(out, LV_PONG, 0, 0, NULL, 0, payload, (uint32_t)n));
    }
    /* HELLO_ACK is read in lv_connect; PONG and unknown frame types are skipped (PROTOCOL.md §2). */
    free(b);
    return 0;
}

/* ---- calls ---- */

lv_client *lv_connect(const char *host, int port, const char *credential, int timeout_ms, lv_status *status) {
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, service, &hints, &res) || !res) { set_status(status, 14, 1, "cannot resolve %s", host); return NULL; }
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen)) {
        freeaddrinfo(res);
        if (fd >= 0) close(fd);
        set_status(status, 14, 1, "cannot connect: %s", strerror(errno));
        return NULL;
    }
    freeaddrinfo(res);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return lv_attach(fd, credential, timeout_ms, status);
}

lv_client *lv_attach(int fd, const char *credential, int timeout_ms, lv_status *status) {
    lv_client *c = calloc(1, sizeof *c);
    c->fd = fd;
    c->next_stream = 1;
    c->goaway_last = -1;
    Lv__Rpc__V1__Hello hello = LV__RPC__V1__HELLO__INIT;
    hello.protocol_version = 1;
    hello.credential = (char *)(credential ? credential : "");
    hello.client_name = "lvclient-c";
    hello.client_version = "0.1";
    if (send_frame(c, LV_HELLO, 0, NULL, &hello.base)) { set_status(status, 14, 1, "cannot send HELLO%s", ""); lv_close(c); return NULL; }
    int64_t deadline = now_ms() + timeout_ms;
    uint8_t h[LV_HEADER_SIZE];
    lv_header hd;
    if (read_all(fd, h, LV_HEADER_SIZE, deadline) || lv_decode_header(h, &hd) || hd.meta_length + (uint64_t)hd.payload_length > MAX_FRAME) {
        set_status(status, 14, 1, "no HELLO_ACK%s", "");
        lv_close(c);
        return NULL;
    }
    uint8_t *b = malloc((size_t)hd.meta_length + hd.payload_length + 1);
    if (read_all(fd, b, (size_t)hd.meta_length + hd.payload_length, deadline)) { free(b); set_status(status, 14, 1, "no HELLO_ACK%s", ""); lv_close(c); return NULL; }
    const uint8_t *payload = b + hd.meta_length;
    if (hd.type == LV_GOAWAY) {
        Lv__Rpc__V1__GoAway *g = lv__rpc__v1__go_away__unpack(NULL, hd.payload_length, payload);
        if (status) { if (g) copy_status(status, g->status); else set_status(status, 14, 1, "GOAWAY%s", ""); }
        if (g) lv__rpc__v1__go_away__free_unpacked(g, NULL);
        free(b);
        lv_close(c);
        return NULL;
    }
    Lv__Rpc__V1__HelloAck *ack = NULL;
    if (hd.type == LV_HELLO_ACK && lv_wire_check(payload, hd.payload_length, &lv__rpc__v1__hello_ack__descriptor, NULL, 0) == 0)
        ack = lv__rpc__v1__hello_ack__unpack(NULL, hd.payload_length, payload);
    free(b);
    if (!ack) { set_status(status, 13, 0, "bad HELLO_ACK%s", ""); lv_close(c); return NULL; }
    c->max_streams = ack->max_concurrent_streams;
    snprintf(c->server_name, sizeof c->server_name, "%s", ack->server_name);
    lv__rpc__v1__hello_ack__free_unpacked(ack, NULL);
    if (status) memset(status, 0, sizeof *status);
    return c;
}

void lv_close(lv_client *c) {
    if (!c) return;
    for (int i = 0; i < c->n_pending; i++) free(c->pending[i].payload);
    close(c->fd);
    free(c);
}

uint32_t lv_server_max_concurrent_streams(const lv_client *c) { return c->max_streams; }
const char *lv_server_name(const lv_client *c) { return c->server_name; }
long lv_goaway_last_stream_id(const lv_client *c) { return c->goaway_last; }

uint32_t lv_start(lv_client *c, const char *method, const ProtobufCMessage *request, int timeout_ms, lv_status *status) {
    if (c->goaway_last >= 0) { set_status(status, 14, 1, "the server sent GOAWAY%s", ""); return 0; }
    if (c->n_pending >= MAX_PENDING) { set_status(status, 8, 1, "too many calls in flight%s", ""); return 0; }
    /* Check what we send as the server will: a char * from the caller may hold bytes that are not UTF-8. */
    size_t n = protobuf_c_message_get_packed_size(request);
    uint8_t *packed = malloc(n + 1);
    protobuf_c_message_pack(request, packed);
    char why[256];
    int bad = lv_wire_check(packed, n, request->descriptor, why, sizeof why);
    free(packed);
    if (bad) { set_status(status, 3, 0, "request refused locally: %s", why); return 0; }
    Lv__Rpc__V1__FrameMeta meta = LV__RPC__V1__FRAME_META__INIT;
    meta.method = (char *)method;
    meta.timeout_ms = timeout_ms > 0 ? (uint32_t)timeout_ms : 0;
    uint32_t id = c->next_stream++;
    if (send_frame(c, LV_REQUEST, id, &meta.base, request)) { set_status(status, 14, 1, "connection lost%s", ""); return 0; }
    pending_call *p = &c->pending[c->n_pending++];
    memset(p, 0, sizeof *p);
    p->id = id;
    p->deadline_ms = now_ms() + (timeout_ms > 0 ? timeout_ms : 3600000);
    return id;
}

int lv_cancel(lv_client *c, uint32_t id) {
    pending_call *p = find(c, id);
    if (!p) return -1;
    forget(c, p);
    uint8_t out[LV_HEADER_SIZE];
    return write_all(c->fd, out, lv_encode_frame(out, LV_CANCEL, 0, id, NULL, 0, NULL, 0));
}

int lv_wait(lv_client *c, uint32_t id, const ProtobufCMessageDescriptor *type, ProtobufCMessage **response, lv_status *status) {
    if (response) *response = NULL;
    pending_call *p = find(c, id);
    if (!p) { set_status(status, 3, 0, "no call on that stream%s", ""); return 3; }
    while (!p->done) {
        int r = read_frame(c, p->deadline_ms);
        if (r == -2) {
            lv_cancel(c, id);
            set_status(status, 4, 0, "no answer before the deadline%s", "");
            return 4;
        }
        if (r == -1) fail_all(c, 14, 0, "connection closed", 0);
        p = find(c, id); /* the table may have moved */
        if (!p) { set_status(status, 14, 0, "connection closed%s", ""); return 14; }
    }
    lv_status st = p->status;
    if (st.code == 0) {
        char why[256];
        if (lv_wire_check(p->payload, p->payload_length, type, why, sizeof why)) {
            set_status(&st, 15, 0, "response refused: %s", why);
        } else if (response) {
            *response = protobuf_c_message_unpack(type, NULL, p->payload_length, p->payload);
            if (!*response) set_status(&st, 15, 0, "response does not unpack as %s", type->name);
        }
    }
    forget(c, p);
    if (status) *status = st;
    return st.code;
}

int lv_call(lv_client *c, const char *method, const ProtobufCMessage *request, const ProtobufCMessageDescriptor *type,
            int timeout_ms, ProtobufCMessage **response, lv_status *status) {
    uint32_t id = lv_start(c, method, request, timeout_ms, status);
    if (!id) return status ? status->code : 14;
    return lv_wait(c, id, type, response, status);
}
