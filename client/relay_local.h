/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: the relay's internal interface between its loop (client/run.c) and its batches (client/relay.c). */
#ifndef CLIENT_RELAY_LOCAL_H
#define CLIENT_RELAY_LOCAL_H

#include <signal.h>

#include "client/client.h"

#define RELAY_CAS_MAX CLIENT_PUBLISH_ISSUERS_MAX /* CA certificates held */
#define RELAY_SIGNALS_ABORT 2   /* the signal that ends a batch at once */
#define RELAY_PROBE_MIN_MS 5000 /* on the second signer: probe the first this often ... */
#define RELAY_PROBE_MAX_MS 60000 /* ... doubled while it does not answer, up to this */
#define RELAY_PROBE_TIMEOUT_MS 1000 /* wait for hello this long (at most timeout_ms) when probing or the line is down */

/* SIGTERM and SIGINT seen, counted up to RELAY_SIGNALS_ABORT. */
extern volatile sig_atomic_t relay_signals;

struct relay_ca {
	char id[CLIENT_ISSUER_ID_MAX + 1];
	X509 *ca;
};

struct relay {
	struct client_ctx *ctx;
	struct db *db;
	struct relay_ca cas[RELAY_CAS_MAX];
	size_t n_cas;
	uint64_t link_errors;           /* resends and requests lost to the line */
	/* The signers: the one in use, and the way back to the first. */
	size_t signer;                  /* index in conf of the one in use */
	bool signer_known;              /* a link was opened at least once */
	bool link_down;                 /* the last attempt to reach a signer failed */
	uint64_t switches;              /* moves from one signer to the other */
	int64_t probe_ms;               /* next probe of the first signer */
	int64_t probe_wait_ms;          /* the wait before the one after */
	/* A backlog: rows taken since the queue was last found empty. */
	bool tty;                       /* stderr is a terminal: progress lines */
	bool in_backlog;
	bool progress_shown;
	uint64_t bl_done;
	uint64_t bl_total;
	int64_t bl_start_ms;
	int64_t progress_ms;            /* when the progress line was last drawn */
};

/*
 * Claim a batch, send it, write its outcomes back and log a summary.
 * Returns the number of rows handled (0: none due), or a negative ERR_*
 * (logged) when the database failed.
 */
int relay_batch(struct relay *rl);

/* Note the start of a backlog (no-op inside one). */
void relay_backlog(struct relay *rl);
/* n more rows of the backlog answered: redraw the progress line now and then. */
void relay_progress(struct relay *rl, uint64_t n);
/* Clear the progress line before a log line. */
void relay_progress_clear(struct relay *rl);

/*
 * Open the link to a signer and greet it unless it is open already
 * (client_link_up, with a short hello timeout while the line is known to
 * be down); log and count a change of signer. Returns 0 or the error.
 */
int relay_link_up(struct relay *rl, char *why, size_t whylen);
/*
 * After a failed exchange: does the signer still answer hello (short
 * timeout)? Returns 0, or the link's error (the link is then left to the
 * caller to drop).
 */
int relay_link_check(struct relay *rl);
/* The link failed: close it; the next relay_link_up opens it afresh. */
void relay_link_drop(struct relay *rl);
/*
 * Between batches, on the second signer: when due, probe the first with
 * hello and switch back to it when it answers.
 */
void relay_failback(struct relay *rl);

void relay_cas_free(struct relay *rl);
int64_t relay_now_ms(void);

#endif /* CLIENT_RELAY_LOCAL_H */
