/* SPDX-License-Identifier: GPL-3.0-or-later */
/* proto: the project's error codes and the wire format shared by signer, client and peer sync. */
#ifndef PROTO_PROTO_H
#define PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/*
 * Errors. One enum for the whole project: 0 is success, every error is
 * negative. Library functions return int (0 or ERR_*); they never log.
 */
enum err {
	ERR_OK = 0,
	ERR_NOMEM = -1,          /* allocation failed */
	ERR_INVAL = -2,          /* invalid argument from the caller (a bug) */
	ERR_NOSPACE = -3,        /* output buffer too small */
	ERR_SYSTEM = -4,         /* system call failed; errno tells more */
	ERR_FRAME_COBS = -10,    /* frame is not valid COBS */
	ERR_FRAME_CRC = -11,     /* frame CRC mismatch, or frame shorter than its CRC */
	ERR_FRAME_OVERSIZE = -12,/* frame grew past the maximum payload */
	ERR_DECODE = -13,        /* payload is not one well-formed msgpack object */
	ERR_BAD_REQUEST = -14,   /* message fields missing, mistyped or out of range */
	ERR_UNKNOWN_CMD = -15,   /* command name not known */
	ERR_UNSUPPORTED_VERSION = -16, /* "v" is not a version we speak */
	ERR_POLICY = -17,        /* request refused by policy */
	ERR_NOT_FOUND = -18,     /* no such issuer, profile, certificate, ... */
	ERR_CONFLICT = -19,      /* request contradicts recorded state */
	ERR_HSM = -20,           /* HSM / PKCS#11 failure */
	ERR_REPO = -21,          /* repository (LMDB) failure */
	ERR_BUSY = -22,          /* queue full, try again */
	ERR_INTERNAL = -23,      /* unexpected internal failure */
	ERR_CONFIG = -24,        /* configuration file error */
	ERR_TIMEOUT = -25,       /* no answer in time */
	ERR_LINK = -26,          /* link down or hung up */
	ERR_PIN = -27,           /* wrong or locked PIN: never retried */
};

/* Human-readable description of an error code; never NULL. */
const char *err_str(int err);

/*
 * The wire error code (docs/protocol.md) for an error: "frame", "decode",
 * "bad_request", ... Errors without a wire meaning map to "internal".
 */
const char *err_wire_code(int err);

/*
 * Revocation reasons on the wire are RFC 5280 CRLReason names
 * ("keyCompromise", ...), for the codes 0..6 and 9..10.
 */
#define MSG_REASON_MAX 10       /* aACompromise, the last CRLReason code */
/* The name of a CRLReason code, or NULL for a code without one. */
const char *msg_reason_name(int code);
/* The code of a reason name (len bytes), or -1 when it names none. */
int msg_reason_code(const char *name, size_t len);

/*
 * The error for a wire code string, or ERR_INTERNAL if unknown. "frame"
 * maps to ERR_FRAME_CRC (the wire does not say which frame check failed).
 */
int err_from_wire_code(const char *code, size_t len);

/*
 * Write a printf-formatted reason into why (whylen bytes, truncated); a NULL
 * why or a zero whylen is allowed and writes nothing. Every library function
 * that explains its errors does so through this.
 */
void err_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * COBS (Consistent Overhead Byte Stuffing). The encoding of len bytes never
 * contains 0x00 and is at most COBS_ENCODED_MAX(len) bytes long.
 */
#define COBS_ENCODED_MAX(len) ((len) + (len) / 254 + 1)

/* Encode src into dst (cap bytes). Sets *outlen. ERR_NOSPACE if cap is too small. */
int cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap,
    size_t *outlen);

/*
 * Encode the concatenation a || b exactly as cobs_encode would, without
 * copying it first (frame_encode uses it for payload || CRC).
 */
int cobs_encode2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
    uint8_t *dst, size_t cap, size_t *outlen);

/*
 * Decode src (no 0x00 delimiter) into dst (cap bytes). Sets *outlen.
 * ERR_FRAME_COBS on a 0x00 byte or a code that runs past the end;
 * ERR_NOSPACE if cap is too small. An empty src decodes to nothing.
 */
int cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap,
    size_t *outlen);

/*
 * Frames: COBS(payload || CRC32(payload)) followed by one 0x00.
 * CRC32 is zlib's crc32(), appended big-endian.
 */
#define FRAME_CRC_LEN 4
#define FRAME_DELIM 0x00
#define FRAME_MAX_DEFAULT 65536u        /* default maximum payload */
#define FRAME_MAX_MIN 256u              /* smallest configurable maximum */
#define FRAME_MAX_LIMIT (16u * 1024 * 1024) /* largest configurable maximum */
/* Worst-case wire size of a frame carrying len payload bytes. */
#define FRAME_ENCODED_MAX(len) (COBS_ENCODED_MAX((len) + FRAME_CRC_LEN) + 1)

/* CRC-32/ISO-HDLC of buf, as zlib computes it. */
uint32_t frame_crc32(const uint8_t *buf, size_t len);

/*
 * Encode payload as one frame into dst (cap bytes), delimiter included.
 * Sets *outlen. A cap of FRAME_ENCODED_MAX(len) always suffices; ERR_NOSPACE
 * if the frame does not fit in cap; ERR_INVAL if len > FRAME_MAX_LIMIT.
 */
int frame_encode(const uint8_t *payload, size_t len, uint8_t *dst, size_t cap,
    size_t *outlen);

/* A streaming frame decoder; its buffer is bounded by the maximum payload. */
struct frame_decoder;

/* New decoder for payloads of at most max bytes (FRAME_MAX_MIN..FRAME_MAX_LIMIT); NULL on error. */
struct frame_decoder *frame_decoder_new(size_t max);
void frame_decoder_free(struct frame_decoder *d);

/*
 * Feed bytes. Consumes bytes from buf up to the end of the first complete
 * frame or the first error, and sets *used to the count consumed; call again
 * with the rest. Returns:
 *   1   a payload is ready: *payload and *plen point into the decoder and stay
 *       valid until the next call;
 *   0   all bytes consumed, no frame complete yet;
 *   ERR_FRAME_COBS, ERR_FRAME_CRC   a bad frame ended here;
 *   ERR_FRAME_OVERSIZE   a frame grew past max; the decoder discards up to
 *       the next 0x00 and reports this once per frame.
 * After an error the decoder resynchronises at the next 0x00. Empty frames
 * (consecutive 0x00) are skipped silently.
 */
int frame_decoder_push(struct frame_decoder *d, const uint8_t *buf, size_t len,
    size_t *used, const uint8_t **payload, size_t *plen);

/* Forget any partial frame (e.g. after the line was re-opened). */
void frame_decoder_reset(struct frame_decoder *d);

/*
 * Messages: one msgpack map with string keys.
 *   request  {"v": 1, "id": uint 1..2^32-1, "cmd": str, "args": map}
 *   response {"v": 1, "id": id, "ok": true, "result": map}
 *            {"v": 1, "id": id, "ok": false, "error": {"code": str, "message": str}}
 */
#define MSG_VERSION 1
#define MSG_DEPTH_MAX 16       /* deepest nesting of arrays/maps accepted */
#define MSG_CMD_MAX 32         /* longest command name */
#define MSG_ERRMSG_MAX 256     /* longest error message we produce */
#define MSG_ENVELOPE_KEYS_MAX 32 /* most keys in the envelope map */

/*
 * Check, without allocating, that buf holds exactly one msgpack object whose
 * declared array/map/str/bin/ext lengths fit in the remaining bytes and whose
 * nesting is at most MSG_DEPTH_MAX. Returns 0 or ERR_DECODE with a reason in
 * why (may be NULL, else at least MSG_ERRMSG_MAX bytes).
 */
int msg_check(const uint8_t *buf, size_t len, char *why, size_t whylen);

/*
 * A decoded message. Pointers refer into the unpacked data owned by the
 * struct: msgpack-c's strings and binaries point into the bytes unpacked,
 * so the struct keeps its own copy of the payload (raw).
 */
struct msg {
	msgpack_unpacked up;
	bool unpacked;          /* up must be destroyed */
	uint8_t *raw;           /* copy of the payload; freed by msg_free() */
	size_t raw_len;
	uint32_t id;            /* 0 when unreadable */
	bool is_response;
	/* request */
	const char *cmd;        /* not NUL-terminated */
	size_t cmd_len;
	const msgpack_object *args;   /* a map */
	/* response */
	bool ok;
	const msgpack_object *result; /* a map when ok */
	const char *err_code;   /* when !ok; not NUL-terminated */
	size_t err_code_len;
	const char *err_message;
	size_t err_message_len;
};

/* Clear m so that msg_free() is safe. */
void msg_init(struct msg *m);
/* Release what m owns; msg_free(NULL) is a no-op. */
void msg_free(struct msg *m);

/*
 * Decode a request payload into m (after msg_init). Returns 0, or
 * ERR_DECODE (not msgpack, trailing bytes), ERR_BAD_REQUEST (a field missing
 * or mistyped), ERR_UNSUPPORTED_VERSION; m->id is set whenever it could be
 * read so that the error response can carry it. why receives a precise
 * message (e.g. "field 'id' must be an unsigned integer 1..4294967295").
 * buf is copied: it may be reused at once. m may be decoded into again;
 * the caller calls msg_free(m) in every case.
 */
int msg_decode_request(const uint8_t *buf, size_t len, struct msg *m,
    char *why, size_t whylen);

/*
 * Decode a response payload into m (after msg_init); as msg_decode_request,
 * except that id may be 0 and a malformed response is ERR_BAD_REQUEST too.
 */
int msg_decode_response(const uint8_t *buf, size_t len, struct msg *m,
    char *why, size_t whylen);

/*
 * Encoding. The caller owns a msgpack_sbuffer and packer; these write the
 * envelope, leaving a map header of n entries that the caller fills.
 * msg_pack_error cuts message to MSG_ERRMSG_MAX bytes on a UTF-8 boundary.
 */
void msg_pack_request(msgpack_packer *pk, uint32_t id, const char *cmd, uint32_t nargs);
void msg_pack_result(msgpack_packer *pk, uint32_t id, uint32_t nresult);
void msg_pack_error(msgpack_packer *pk, uint32_t id, const char *code, const char *message);

/* Pack a NUL-terminated string key or value. */
void msg_pack_cstr(msgpack_packer *pk, const char *s);

/*
 * Field access in a received map (map may be NULL: every key is then absent).
 * Each getter returns 1 when the key is present and valid (*out set), 0 when
 * it is absent and not required (*out untouched), ERR_BAD_REQUEST when it is
 * absent but required or has the wrong type or range. why (may be NULL)
 * receives a message naming the key, e.g. "field 'days' must be 1..3650".
 */
/* The value of key in map; NULL when absent or present more than once. */
const msgpack_object *msg_map_get(const msgpack_object *map, const char *key);
int msg_get_uint(const msgpack_object *map, const char *key, bool required,
    uint64_t min, uint64_t max, uint64_t *out, char *why, size_t whylen);
int msg_get_int(const msgpack_object *map, const char *key, bool required,
    int64_t *out, char *why, size_t whylen);
int msg_get_bool(const msgpack_object *map, const char *key, bool required,
    bool *out, char *why, size_t whylen);
/*
 * String values must be valid UTF-8 without NUL and at most max bytes.
 * On success *out is never NULL, even for an empty string or bin.
 */
int msg_get_str(const msgpack_object *map, const char *key, bool required,
    size_t max, const char **out, size_t *outlen, char *why, size_t whylen);
int msg_get_bin(const msgpack_object *map, const char *key, bool required,
    size_t max, const uint8_t **out, size_t *outlen, char *why, size_t whylen);
int msg_get_array(const msgpack_object *map, const char *key, bool required,
    size_t max, const msgpack_object_array **out, char *why, size_t whylen);
int msg_get_map(const msgpack_object *map, const char *key, bool required,
    const msgpack_object **out, char *why, size_t whylen);

/* True when s (len bytes) is valid UTF-8 with no NUL byte. */
bool msg_utf8_valid(const char *s, size_t len);

/*
 * Frame a packed message: frame_encode into a buffer allocated by this
 * function (*out, freed by the caller with free()). ERR_INVAL when the
 * message exceeds FRAME_MAX_LIMIT.
 */
int msg_frame(const msgpack_sbuffer *sb, uint8_t **out, size_t *outlen);

/*
 * The serial line (proto/line.c): a tty opened raw 8N1 (cfmakeraw, CS8 |
 * CLOCAL | CREAD, VMIN 1, VTIME 0), at baud (a standard termios rate), with
 * RTS/CTS flow control when rtscts, non-blocking, close-on-exec, and
 * exclusive (TIOCEXCL). *fd is the caller's (close). Returns 0, ERR_INVAL
 * (unsupported baud), ERR_SYSTEM (open or termios failed; why says which,
 * with strerror) or ERR_CONFIG (not a tty).
 */
int line_open(const char *device, uint32_t baud, bool rtscts, int *fd,
    char *why, size_t whylen);

#endif /* PROTO_PROTO_H */
