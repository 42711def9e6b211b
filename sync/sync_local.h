/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sync: internals shared by the thread (sync.c), TLS (tls.c), connections (conn.c), both directions and the messages. */
#ifndef SYNC_SYNC_LOCAL_H
#define SYNC_SYNC_LOCAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>
#include <openssl/ssl.h>

#include "proto/proto.h"
#include "sync/sync.h"

#define SYNC_OUT_HIGH (SYNC_FRAME_MAX * 2)  /* bytes queued on a connection before sending pauses */
#define SYNC_READ_CHUNK 65536               /* bytes read from TLS per call */
#define SYNC_HOST_MAX CONF_HOSTPORT_MAX
#define SYNC_BATCH_EVENTS_MAX CONF_SYNC_BATCH_MAX /* most events a received batch may carry */
#define SYNC_STAGE_REQS (SYNC_WINDOW * 2)   /* received batches applied in one transaction */
#define SYNC_STAGE_EVENTS 16384             /* events staged for one transaction */
#define SYNC_STAGE_BYTES (16u * 1024 * 1024) /* event bytes staged for one transaction */

/* ---- TLS (sync/tls.c) --------------------------------------------------- */

/*
 * The TLS 1.3 context of one side (server: accepts the peer; client: dials
 * it) with the link certificate and key of c and the peer pinned by its
 * fingerprint. *out is the caller's (SSL_CTX_free). 0 or ERR_CONFIG.
 */
int sync_tls_ctx(const struct conf_sync *c, bool server, SSL_CTX **out,
    char *why, size_t whylen);
/* The OpenSSL error queue (or "no detail") into why, after prefix; clears the queue. */
void sync_tls_error(const char *prefix, char *why, size_t whylen);

/* ---- connections (sync/conn.c) ------------------------------------------ */

enum conn_state {
	CONN_CONNECTING,        /* TCP connect in progress (dialled) */
	CONN_HANDSHAKE,         /* TLS handshake */
	CONN_OPEN,              /* TLS up: messages flow */
};

struct sync_conn {
	int fd;
	SSL *ssl;
	enum conn_state state;
	bool want_write;        /* the last TLS call wants the socket writable */
	struct frame_decoder *dec;
	uint8_t *out;           /* framed messages not yet written */
	size_t out_len, out_off, out_cap;
	int64_t opened_ms;
	int64_t last_rx_ms;
	uint32_t next_id;       /* requests we send */
	char peer[SYNC_HOST_MAX + 8]; /* address, for messages */
};

/* A message the connection received; m is valid during the callback. */
typedef int (*conn_msg_fn)(struct sync_conn *c, const uint8_t *payload,
    size_t len, void *arg, char *why, size_t whylen);

/* A connection over fd (a connected or connecting socket, now the conn's). */
int conn_new(SSL_CTX *ctx, int fd, bool server, bool connecting,
    const char *peer, struct sync_conn **out);
void conn_free(struct sync_conn *c);
/* The poll events the connection waits for. */
short conn_poll_events(const struct sync_conn *c);
/*
 * Move the connection on after poll said revents: connect, handshake, read
 * (each frame's payload to fn) and write. Returns 0, or an ERR_* with why
 * when the connection must be closed (ERR_LINK: closed or reset by the
 * peer; ERR_FRAME_*: bad framing; ERR_BAD_REQUEST: the TLS handshake or the
 * peer's certificate failed; fn's error).
 */
int conn_io(struct sync_conn *c, short revents, int64_t now_ms,
    conn_msg_fn fn, void *arg, char *why, size_t whylen);
/* Frame the packed message sb and queue it; 0, ERR_NOMEM or ERR_NOSPACE. */
int conn_send(struct sync_conn *c, const msgpack_sbuffer *sb);
/* Write what is queued as far as the socket takes it now, ignoring errors (before a close). */
void conn_flush(struct sync_conn *c);
/* Bytes queued and not yet written. */
size_t conn_pending(const struct sync_conn *c);

/* ---- messages (sync/wire.c) --------------------------------------------- */

/* Pack a version vector as an array of [origin, seq] pairs, origins with seq > 0. */
void wire_pack_vv(msgpack_packer *pk, const uint64_t vv[SYNC_ORIGIN_MAX + 1]);
/* Parse one; ERR_BAD_REQUEST with why when malformed (origin 0 or > max, repeated, too long). */
int wire_get_vv(const msgpack_object *map, const char *key,
    uint64_t vv[SYNC_ORIGIN_MAX + 1], char *why, size_t whylen);
/* The events a peer holds that vv lacks, summed over origins but skip. */
uint64_t wire_vv_ahead(const uint64_t have[SYNC_ORIGIN_MAX + 1],
    const uint64_t vv[SYNC_ORIGIN_MAX + 1], uint8_t skip);
/*
 * The fields of a sync_events request m, checked for shape before the store
 * sees them: origin 1..SYNC_ORIGIN_MAX, first >= 1, events a non-empty array
 * of at most SYNC_BATCH_EVENTS_MAX bins of 1..SYNC_EVENT_MAX bytes. evs
 * (room for SYNC_BATCH_EVENTS_MAX) gets seq first + i and pointers into m;
 * *n their count. 0 or ERR_BAD_REQUEST with why. "vv" is not read here.
 */
int wire_get_events(const struct msg *m, uint64_t *origin, uint64_t *first,
    struct sync_event *evs, size_t *n, char *why, size_t whylen);

/* ---- the two directions ------------------------------------------------- */

struct sync;

/* Our connection to the peer (sync/out.c): we push, the peer acknowledges. */
struct sync_out {
	struct sync_conn *c;
	bool hello_sent;
	bool hello_done;
	uint64_t acked[SYNC_ORIGIN_MAX + 1];    /* the peer's vector, as acknowledged */
	uint64_t sent[SYNC_ORIGIN_MAX + 1];     /* sent so far (acknowledged or in flight) */
	unsigned int in_flight;                 /* batches and pings not yet answered */
	int64_t last_tx_ms;
	int64_t dial_at_ms;                     /* when not connected: next dial */
	uint32_t backoff_ms;
};

/* A connection the peer made to us (sync/in.c): we apply and acknowledge. */
struct sync_in {
	struct sync *s;
	struct sync_conn *c;
	bool hello_done;
};

/*
 * Consecutive batches of one origin that arrived together, copied, to be
 * applied in one transaction: a durable commit per burst, not per batch.
 */
struct sync_stage {
	struct sync_in *owner;                  /* the connection to answer; NULL: empty */
	uint8_t origin;
	uint64_t next;                          /* the seq after the last staged */
	size_t n_reqs;
	uint32_t ids[SYNC_STAGE_REQS];          /* the requests, to answer in order */
	size_t ends[SYNC_STAGE_REQS];           /* index after each request's last event */
	struct sync_event *evs;                 /* SYNC_STAGE_EVENTS, data in buf */
	size_t n;
	uint8_t *buf;                           /* SYNC_STAGE_BYTES */
	size_t len;
};

struct sync {
	const struct conf_sync *conf;
	struct sync_store store;
	SSL_CTX *server_ctx, *client_ctx;
	int listen_fd;
	int wake[2];                            /* sync_notify and sync_stop write here */
	atomic_bool stop;
	pthread_t thread;
	bool running;
	char peer_host[SYNC_HOST_MAX];
	uint16_t peer_port;
	struct sync_out out;
	struct sync_in in[SYNC_INBOUND_MAX];
	struct sync_event *evs;                 /* SYNC_BATCH_EVENTS_MAX: a received batch */
	struct sync_stage stage;
	uint64_t vv[SYNC_ORIGIN_MAX + 1];       /* ours, read at each push */
	uint64_t peer_vv[SYNC_ORIGIN_MAX + 1];  /* the peer's own, as it last told us */
	pthread_mutex_t lock;                   /* guards st */
	struct sync_status st;
};

/* Status updates under s->lock. */
void sync_note_error(struct sync *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sync_count(struct sync *s, uint64_t *field, uint64_t n);
void sync_contact(struct sync *s);
/* Milliseconds of a monotonic clock. */
int64_t sync_now_ms(void);

/* sync/out.c */
void out_start(struct sync *s, int64_t now);
int out_dial(struct sync *s, int64_t now);
int out_on_msg(struct sync_conn *c, const uint8_t *p, size_t len, void *arg,
    char *why, size_t whylen);
int out_push(struct sync *s, int64_t now, char *why, size_t whylen);
void out_close(struct sync *s, int64_t now, const char *reason);
int out_timeout(struct sync *s, int64_t now);

/* sync/in.c */
void in_accept(struct sync *s);
int in_on_msg(struct sync_conn *c, const uint8_t *p, size_t len, void *arg,
    char *why, size_t whylen);
void in_close(struct sync_in *in, const char *reason);
/* Apply what is staged and answer its requests (after each read burst). */
void in_flush(struct sync *s);
void in_timeouts(struct sync *s, int64_t now);

#endif /* SYNC_SYNC_LOCAL_H */
