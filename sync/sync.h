/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sync: the paired signers' replication, event logs streamed both ways over TLS 1.3 on the crossover link. */
#ifndef SYNC_SYNC_H
#define SYNC_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/*
 * Each signer dials its peer's listener to push the events it holds that
 * the peer lacks (its own and any other origin's but the peer's), and
 * accepts the peer's connection to receive the peer's. Both connections are
 * TLS 1.3 with mutual authentication; the peer's link certificate is pinned
 * by its SHA-256 fingerprint. Frames are those of the serial line (proto/),
 * each carrying one msgpack envelope (docs/protocol.md, "Peer sync").
 */

#define SYNC_ORIGIN_MAX CONF_NODE_MAX   /* origins are node ids 1..this */
#define SYNC_PROTO_VERSION 1            /* "proto" of sync_hello */
#define SYNC_FRAME_MAX (4u * 1024 * 1024) /* largest frame payload on the link */
#define SYNC_EVENT_MAX (128u * 1024)    /* largest event accepted from the store or the peer */
#define SYNC_BATCH_BYTES (2u * 1024 * 1024) /* event bytes in one batch (at least one event) */
#define SYNC_WINDOW 8                   /* batches sent and not yet acknowledged */
#define SYNC_PING_MS 1000               /* idle: a ping this often */
#define SYNC_DEAD_MS 5000               /* no frame for this long: the connection is dead */
#define SYNC_HANDSHAKE_MS 5000          /* TLS handshake and hello must be done in this time */
#define SYNC_BACKOFF_MIN_MS 100         /* first delay before dialling again */
#define SYNC_BACKOFF_MAX_MS 10000       /* longest delay between dials */
#define SYNC_INBOUND_MAX 4              /* connections accepted at once (one peer, reconnecting) */
#define SYNC_WHY_MAX 256                /* longest message kept in the status */

/* One event handed to the store: the origin's sequence and the stored bytes. */
struct sync_event {
	uint64_t seq;
	const uint8_t *data;
	size_t len;
};

/*
 * The repository as replication sees it: callbacks the daemon supplies, so
 * that sync knows nothing of the repository's layout. Every callback runs on
 * the sync thread and returns 0 or an ERR_* with a message in why.
 */
struct sync_store {
	void *ctx;
	uint8_t node;                   /* this signer's node id */
	/* The version vector: vv[o] = highest contiguous seq held of origin o, vv[0] = 0. */
	int (*vv)(void *ctx, uint64_t vv[SYNC_ORIGIN_MAX + 1], char *why,
	    size_t whylen);
	/*
	 * Call cb for the events of origin after seq, in order, until cb
	 * returns non-zero (stop, not an error) or the log of origin ends.
	 */
	int (*read)(void *ctx, uint8_t origin, uint64_t after,
	    int (*cb)(const struct sync_event *ev, void *arg), void *arg,
	    char *why, size_t whylen);
	/*
	 * Apply evs[0..n) of origin, consecutive from the next of origin, in
	 * one durable transaction: all or none. Events applied before are
	 * skipped. ERR_BAD_REQUEST / ERR_CONFLICT refuse the batch (why names
	 * the event); other errors are the store's own.
	 */
	int (*apply)(void *ctx, uint8_t origin, const struct sync_event *evs,
	    size_t n, char *why, size_t whylen);
};

/* What health reports of the link; counters since start. */
struct sync_status {
	bool out_up;            /* our connection to the peer is past its hello */
	bool in_up;             /* the peer's connection to us is past its hello */
	uint8_t peer_node;
	int64_t started;        /* Unix seconds */
	int64_t out_changed;    /* when out_up last changed (started: never) */
	int64_t in_changed;     /* when in_up last changed */
	int64_t last_contact;   /* Unix seconds of the last frame from the peer; 0: never */
	uint64_t peer_behind;   /* events we hold that the peer has not acknowledged */
	uint64_t we_behind;     /* events the peer holds that we lack (as of its last word) */
	uint64_t sent;          /* events sent and acknowledged */
	uint64_t applied;       /* events received and applied */
	uint64_t refused;       /* batches refused, ours by the peer or the peer's by us */
	uint64_t bad_input;     /* bad frames, undecodable or unexpected messages from the peer */
	uint64_t tls_failures;  /* handshakes failed (wrong certificate, not TLS 1.3, ...) */
	uint64_t connects;      /* connections that reached their hello, both ways */
	char last_error[SYNC_WHY_MAX]; /* the last failure, "" if none */
};

struct sync;

/*
 * Start replication with c (which must outlive it) on the store: load the
 * link certificate and key (the key file must not be readable by group or
 * others), listen on c->listen and start the sync thread, which dials
 * c->peer and serves the peer until sync_stop. *out is the caller's.
 * The sync thread blocks SIGPIPE for itself: a write to a peer that has
 * gone away fails with EPIPE instead of ending the process.
 * Returns 0, ERR_CONFIG (certificate, key, address), ERR_SYSTEM (listen),
 * ERR_NOMEM or ERR_INTERNAL, with why.
 */
int sync_start(const struct conf_sync *c, const struct sync_store *store,
    struct sync **out, char *why, size_t whylen);
/*
 * Check c as sync_start would, without listening or dialling: the
 * addresses, the link certificate and key (and the key file's mode), the
 * fingerprint. 0 or ERR_CONFIG with why (signerd -n).
 */
int sync_check(const struct conf_sync *c, char *why, size_t whylen);
/* Stop the thread, close the connections and free s; NULL is a no-op. */
void sync_stop(struct sync *s);
/* New events were committed: push them now. Safe from any thread, cheap. */
void sync_notify(struct sync *s);
/* A copy of the status (thread-safe). */
void sync_status_get(struct sync *s, struct sync_status *out);

/*
 * The SHA-256 fingerprint of the first certificate of a PEM file, as
 * "AB:CD:..." (CONF_FINGERPRINT_LEN * 3 bytes with the NUL) into out;
 * 0, ERR_CONFIG (unreadable, not a certificate) or ERR_INVAL.
 */
#define SYNC_FINGERPRINT_TEXT (CONF_FINGERPRINT_LEN * 3)
int sync_fingerprint_file(const char *pem, char out[SYNC_FINGERPRINT_TEXT],
    char *why, size_t whylen);

#endif /* SYNC_SYNC_H */
