/* lvclient: a small C client for the Learning Validation wire protocol (docs/PROTOCOL.md),
 * on the protoc-c message types (Shared/LVProtoC) and libprotobuf-c.
 *
 * One connection, HELLO on connect, calls with deadlines, several in flight (lv_start then
 * lv_wait in any order), CANCEL when a deadline passes, GOAWAY handling (calls above
 * last_stream_id fail UNAVAILABLE + retryable), and a wire check of every string: protobuf-c
 * accepts invalid UTF-8 silently and truncates strings at a NUL byte, so both are refused
 * before unpacking. Not thread-safe: use one lv_client per thread. */
#ifndef LVCLIENT_H
#define LVCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#define LV_HEADER_SIZE 16
#define LV_MAX_VIOLATIONS 8

enum lv_frame_type { LV_HELLO = 1, LV_HELLO_ACK = 2, LV_REQUEST = 3, LV_RESPONSE = 4, LV_CANCEL = 5,
                     LV_PING = 6, LV_PONG = 7, LV_GOAWAY = 8 };

/* A call's outcome: code 0 is OK; the others are lv.rpc.v1.StatusCode (gRPC numbering). */
typedef struct {
    int code;
    char message[512];
    int retryable;
    uint32_t retry_after_ms;
    int n_violations;
    struct { char field[128]; char rule[64]; char description[256]; } violations[LV_MAX_VIOLATIONS];
} lv_status;

typedef struct {
    uint8_t type, flags, version;
    uint16_t meta_length;
    uint32_t stream_id, payload_length;
} lv_header;

typedef struct lv_client lv_client;

/* Connects and exchanges HELLO; NULL on failure with `status` saying why (UNAVAILABLE, or the
 * GOAWAY status the server sent). `credential` may be NULL. */
lv_client *lv_connect(const char *host, int port, const char *credential, int timeout_ms, lv_status *status);
/* The same over a connected stream socket `fd` (which the client then owns): for tests, or a
 * transport set up by the caller. */
lv_client *lv_attach(int fd, const char *credential, int timeout_ms, lv_status *status);
void lv_close(lv_client *client);
/* The server's HELLO_ACK fields. */
uint32_t lv_server_max_concurrent_streams(const lv_client *client);
const char *lv_server_name(const lv_client *client);

/* Sends a call; returns its stream id, or 0 with `status` set (refused locally or by GOAWAY). */
uint32_t lv_start(lv_client *client, const char *method, const ProtobufCMessage *request, int timeout_ms,
                  lv_status *status);
/* Waits for the call on `stream_id` (answers to other calls are kept for their own lv_wait).
 * Returns the status code (0: *response is the unpacked message; free it with
 * protobuf_c_message_free_unpacked). At the deadline it sends CANCEL and returns
 * DEADLINE_EXCEEDED. */
int lv_wait(lv_client *client, uint32_t stream_id, const ProtobufCMessageDescriptor *response_type,
            ProtobufCMessage **response, lv_status *status);
/* lv_start + lv_wait. */
int lv_call(lv_client *client, const char *method, const ProtobufCMessage *request,
            const ProtobufCMessageDescriptor *response_type, int timeout_ms, ProtobufCMessage **response,
            lv_status *status);
/* Sends CANCEL for a call in flight and forgets it (the server sends nothing for it). */
int lv_cancel(lv_client *client, uint32_t stream_id);
/* The GOAWAY's last_stream_id once one arrived, else -1. */
long lv_goaway_last_stream_id(const lv_client *client);

/* Checks `data` against `descriptor` before protobuf-c sees it: well-formed fields, every string
 * valid UTF-8 without NUL, nesting at most 64. 0 when good; else -1 with the field in `why`. */
int lv_wire_check(const uint8_t *data, size_t length, const ProtobufCMessageDescriptor *descriptor, char *why,
                  size_t why_size);
/* 1 when the bytes are UTF-8 (no overlong forms, surrogates or values past U+10FFFF) without NUL. */
int lv_valid_string(const uint8_t *data, size_t length);

/* Frames: a 16-byte big-endian header, then meta, then payload. */
size_t lv_encode_frame(uint8_t *out, uint8_t type, uint8_t flags, uint32_t stream_id, const uint8_t *meta,
                       uint16_t meta_length, const uint8_t *payload, uint32_t payload_length);
/* 0 when the 16 bytes are a header of this version with the LV magic; -1 otherwise. */
int lv_decode_header(const uint8_t *bytes, lv_header *header);

const char *lv_status_name(int code);

#endif
