/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internals of signerd shared by the loop (daemon.c) and the commands (cmd*.c). */
#ifndef SIGNER_DAEMON_LOCAL_H
#define SIGNER_DAEMON_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/signer.h"

#define DAEMON_READ_CHUNK 65536         /* bytes read from the line per poll round */
#define DAEMON_BACKOFF_MIN_MS 100       /* first delay before re-opening the line */
#define DAEMON_BACKOFF_MAX_MS 5000      /* longest delay between re-opens */
#define DAEMON_FRAME_HEADROOM 1024      /* room left in a frame around a CRL chunk */
#define DAEMON_LOG_TEXT_MAX 80          /* bytes of a ref or issuer shown in a log line */

/* Counters of bad input and outcomes, reported by health. */
struct daemon_counters {
	uint64_t requests;
	uint64_t bad_frame;
	uint64_t bad_decode;
	uint64_t bad_request;
	uint64_t unknown_cmd;
	uint64_t busy;
	uint64_t errors;        /* requests answered with any other error */
	uint64_t reopens;
};

/* The CRLs of one issuer held for serving chunks: the complete one and the last delta asked for. */
struct daemon_crl {
	struct crl full;
	struct crl delta;
};

/* One queued request, or an answer already decided (error or busy). */
struct daemon_entry {
	struct msg m;
	uint32_t id;
	int err;                /* set: answer with this error and why */
	char why[MSG_ERRMSG_MAX];
};

struct sync;

struct daemon {
	const struct conf_signerd *conf;
	struct signer *s;
	const char *device;
	int fd;
	struct frame_decoder *dec;
	struct daemon_entry **q;        /* circular queue of cap entries */
	size_t cap, head, count, work;  /* work: entries that are real requests */
	uint8_t *out;                   /* framed responses not yet written */
	size_t out_len, out_cap;
	int64_t started;
	uint32_t backoff_ms;
	int64_t reopen_at_ms;           /* when the line is closed: next attempt */
	bool outage_logged;             /* a failed re-open was logged since the line last worked */
	struct daemon_counters n;
	struct daemon_crl *crls;        /* one per issuer */
	int64_t crl_due;                /* when the next CRL falls due (crl_refresh) */
	struct sync *sync;              /* replication to the peer; NULL without a sync: section */
};

/* What a command fills for the request log line. */
struct cmd_log {
	char ref[DAEMON_LOG_TEXT_MAX + 1];
	char issuer[DAEMON_LOG_TEXT_MAX + 1];
	char serial[SERIAL_HEX_MAX];
};

/*
 * A command: parse m->args, act, and on success pack the whole response
 * (msg_pack_result and the result map) into pk. On failure nothing is
 * packed and an ERR_* is returned with why.
 */
typedef int (*cmd_fn)(struct daemon *d, const struct msg *m, msgpack_packer *pk,
    struct cmd_log *lg, char *why, size_t whylen);

/* The command named name (len bytes), or NULL. */
cmd_fn cmd_find(const char *name, size_t len);
/* True when m is a sign request (batched by the loop). */
bool cmd_is_sign(const struct msg *m);
/* The names of every command, NULL-terminated. */
extern const char *const cmd_names[];

/*
 * Sign a batch of sign requests ms[0..n) (n <= SIGNER_BATCH_MAX); packs one
 * response per request into sb[i] (initialised by the caller) and fills lg[i],
 * rcs[i] (0 or the error answered) and whys[i] (the error's reason).
 */
void cmd_sign_batch(struct daemon *d, struct daemon_entry **es, size_t n,
    msgpack_sbuffer *sb, struct cmd_log *lg, int *rcs,
    char (*whys)[MSG_ERRMSG_MAX]);

int cmd_hello(struct daemon *d, const struct msg *m, msgpack_packer *pk,
    struct cmd_log *lg, char *why, size_t whylen);
int cmd_health(struct daemon *d, const struct msg *m, msgpack_packer *pk,
    struct cmd_log *lg, char *why, size_t whylen);
int cmd_revoke(struct daemon *d, const struct msg *m, msgpack_packer *pk,
    struct cmd_log *lg, char *why, size_t whylen);
int cmd_crl(struct daemon *d, const struct msg *m, msgpack_packer *pk,
    struct cmd_log *lg, char *why, size_t whylen);
int cmd_ca(struct daemon *d, const struct msg *m, msgpack_packer *pk,
    struct cmd_log *lg, char *why, size_t whylen);
int cmd_cert(struct daemon *d, const struct msg *m, msgpack_packer *pk,
    struct cmd_log *lg, char *why, size_t whylen);

/* Helpers shared by the commands (cmd.c). */
/* The index of the configured issuer named by args' "issuer", with lg->issuer set. */
int cmd_get_issuer(struct daemon *d, const struct msg *m, struct cmd_log *lg,
    size_t *index, char *why, size_t whylen);
/* args' "serial" parsed from hex, with lg->serial set. */
int cmd_get_serial(const struct msg *m, struct cmd_log *lg, struct serial *out,
    char *why, size_t whylen);
/* Pack a serial as the wire's hex string. */
void cmd_pack_serial(msgpack_packer *pk, const struct serial *s);
/* Copy a wire string into a log field, printable ASCII only. */
void cmd_log_text(char *dst, size_t cap, const void *src, size_t len);
/* The current time, Unix seconds. */
int64_t daemon_now(void);

#endif /* SIGNER_DAEMON_LOCAL_H */
