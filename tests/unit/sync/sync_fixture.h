/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sync tests: nodes with real LMDB repositories, link certificates made here, loopback ports, and bounded waits. */
#ifndef TESTS_UNIT_SYNC_SYNC_FIXTURE_H
#define TESTS_UNIT_SYNC_SYNC_FIXTURE_H

/* Header-only (static functions), included by test_sync.c alone. */

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "proto/proto.h"
#include "signer/signer.h"
#include "sync/sync.h"
#include "tests/unit/signer/tmpdir.h"
#include "tests/unit/sync/link_helper.h"

#define FX_NODES 3              /* node ids 1..3 */
#define FX_MALLORY 0            /* slot of a link certificate nobody pins */
#define FX_MAP_MB 64
#define FX_BATCH 256            /* sync batch_events */
#define FX_TXN_EVENTS 500       /* certificates issued per test transaction */
#define FX_WAIT_MS 20000        /* longest wait for convergence */
#define FX_POLL_MS 10
#define FX_HOST "127.0.0.1"
#define FX_ISSUER "ca-1"

struct fx_node {
	uint8_t id;
	char path[PATH_MAX];
	struct repo *r;
	char cert[PATH_MAX], key[PATH_MAX];
	char fp[SYNC_FINGERPRINT_TEXT];
	char listen[32];         /* FX_HOST:port */
	uint16_t port;
	struct conf_sync conf;
	struct sync *s;
	unsigned int issued;    /* certificates issued here, for their refs */
};

struct fx {
	char dir[256];
	struct fx_node n[FX_NODES + 1]; /* by node id; n[0] holds only a certificate */
	char why[256];
};

/* ---- link certificates ---------------------------------------------------- */

/* A self-signed EC P-256 link certificate and its key (mode 0600) for node n. */
static int
fx_link_cert(struct fx *f, struct fx_node *n)
{
	char cn[32];

	snprintf(n->cert, sizeof(n->cert), "%s/link%u.pem", f->dir, n->id);
	snprintf(n->key, sizeof(n->key), "%s/link%u.key", f->dir, n->id);
	snprintf(cn, sizeof(cn), "signer link %u", n->id);
	return link_cert_make(n->cert, n->key, cn, n->fp);
}

/* A loopback port nobody listens on now, for n's listener. */
static int
fx_free_port(struct fx_node *n)
{
	if (link_port_free(&n->port) != 0)
		return -1;
	snprintf(n->listen, sizeof(n->listen), "%s:%u", FX_HOST, n->port);
	return 0;
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t i;

	if (f == NULL || tmpdir_make(f->dir, sizeof(f->dir), "test_sync") != 0)
		return -1;
	for (i = 0; i <= FX_NODES; i++) {
		f->n[i].id = i;
		if (fx_link_cert(f, &f->n[i]) != 0)
			return -1;
		if (i == FX_MALLORY)
			continue;
		snprintf(f->n[i].path, sizeof(f->n[i].path), "%s/repo%u",
		    f->dir, i);
		if (repo_open(f->n[i].path, i, FX_MAP_MB, REPO_CREATE,
		    &f->n[i].r, f->why, sizeof(f->why)) != 0 ||
		    fx_free_port(&f->n[i]) != 0)
			return -1;
	}
	*state = f;
	return 0;
}

static void
fx_stop(struct fx_node *n)
{
	if (n->s == NULL)
		return;
	repo_on_commit(n->r, NULL, NULL);
	sync_stop(n->s);
	n->s = NULL;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	uint8_t i;

	for (i = 1; i <= FX_NODES; i++) {
		fx_stop(&f->n[i]);
		repo_close(f->n[i].r);
	}
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

/* ---- nodes ------------------------------------------------------------------ */

static void
fx_notify(void *ctx)
{
	sync_notify(ctx);
}

/* Start n's replication with peer, pinning the certificate of pin (usually peer). */
static void
fx_start_pinned(struct fx *f, struct fx_node *n, const struct fx_node *peer,
    const struct fx_node *pin)
{
	struct sync_store st;

	memset(&n->conf, 0, sizeof(n->conf));
	n->conf.listen = n->listen;
	n->conf.peer = (char *)peer->listen;
	n->conf.peer_node = peer->id;
	n->conf.cert = n->cert;
	n->conf.key = n->key;
	n->conf.peer_fingerprint = (char *)pin->fp;
	n->conf.degraded_after_s = 300;
	n->conf.batch_events = FX_BATCH;
	repo_sync_store(n->r, &st);
	assert_int_equal(st.node, n->id);
	if (sync_start(&n->conf, &st, &n->s, f->why, sizeof(f->why)) != 0)
		fail_msg("sync_start of node %u: %s", n->id, f->why);
	repo_on_commit(n->r, fx_notify, n->s);
}

static void
fx_start(struct fx *f, struct fx_node *n, const struct fx_node *peer)
{
	fx_start_pinned(f, n, peer, peer);
}

/* Issue count certificates on n, FX_TXN_EVENTS to a transaction. */
static void
fx_issue(struct fx *f, struct fx_node *n, unsigned int count)
{
	struct repo_cert req, c;
	struct repo_txn *t = NULL;
	char ref[64], der[96];
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (t == NULL)
			assert_int_equal(repo_begin(n->r, true, &t, f->why,
			    sizeof(f->why)), 0);
		memset(&req, 0, sizeof(req));
		snprintf(req.issuer, sizeof(req.issuer), "%s", FX_ISSUER);
		snprintf(req.profile, sizeof(req.profile), "server");
		req.ref_len = (size_t)snprintf(ref, sizeof(ref), "n%u-%u",
		    n->id, n->issued);
		memcpy(req.ref, ref, req.ref_len);
		memset(req.req_hash, n->id, sizeof(req.req_hash));
		req.not_before = 1700000000;
		req.not_after = 1700000000 + 90 * 86400;
		req.created = 1700000100 + n->issued;
		snprintf(req.subject, sizeof(req.subject), "CN=%s.example.org",
		    ref);
		assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
		    sizeof(f->why)), 0);
		snprintf(der, sizeof(der), "DER of %s", ref);
		assert_int_equal(repo_cert_issue(t, FX_ISSUER, &c.serial,
		    (const uint8_t *)der, strlen(der), NULL, f->why,
		    sizeof(f->why)), 0);
		repo_cert_clear(&c);
		n->issued++;
		if ((i + 1) % FX_TXN_EVENTS == 0 || i + 1 == count) {
			assert_int_equal(repo_commit(t, f->why, sizeof(f->why)),
			    0);
			t = NULL;
		}
	}
}

static void
fx_vv(struct fx *f, const struct fx_node *n, uint64_t vv[SYNC_ORIGIN_MAX + 1])
{
	struct repo_txn *t;

	assert_int_equal(repo_begin(n->r, false, &t, f->why, sizeof(f->why)),
	    0);
	assert_int_equal(repo_vv_all(t, vv, f->why, sizeof(f->why)), 0);
	repo_abort(t);
}

static void
fx_digest(struct fx *f, const struct fx_node *n, struct repo_digest *d)
{
	assert_int_equal(repo_digest(n->r, d, f->why, sizeof(f->why)), 0);
}

static void
fx_assert_same(struct fx *f, const struct fx_node *a, const struct fx_node *b)
{
	struct repo_digest da, db;

	fx_digest(f, a, &da);
	fx_digest(f, b, &db);
	assert_int_equal(da.certs, db.certs);
	assert_int_equal(da.revocations, db.revocations);
	assert_memory_equal(da.hash, db.hash, sizeof(da.hash));
}

/* ---- bounded waits ---------------------------------------------------------- */

static int64_t
fx_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep a little; false once FX_WAIT_MS have passed since start. */
static bool
fx_wait_more(int64_t start)
{
	struct timespec ts = { 0, FX_POLL_MS * 1000000L };

	if (fx_ms() - start > FX_WAIT_MS)
		return false;
	nanosleep(&ts, NULL);
	return true;
}

/* n holds every event of want but those of its own origin. */
static bool
fx_holds(struct fx *f, const struct fx_node *n,
    const uint64_t want[SYNC_ORIGIN_MAX + 1])
{
	uint64_t vv[SYNC_ORIGIN_MAX + 1];
	size_t o;

	fx_vv(f, n, vv);
	for (o = 1; o <= SYNC_ORIGIN_MAX; o++)
		if (o != n->id && vv[o] < want[o])
			return false;
	return true;
}

/* Wait until a and b hold the same version vector. */
static void
fx_wait_converged(struct fx *f, const struct fx_node *a,
    const struct fx_node *b)
{
	uint64_t va[SYNC_ORIGIN_MAX + 1], vb[SYNC_ORIGIN_MAX + 1];
	int64_t start = fx_ms();

	do {
		fx_vv(f, a, va);
		fx_vv(f, b, vb);
		if (memcmp(va, vb, sizeof(va)) == 0)
			return;
	} while (fx_wait_more(start));
	fail_msg("nodes %u and %u did not converge in %d ms (%llu/%llu, "
	    "%llu/%llu)", a->id, b->id, FX_WAIT_MS,
	    (unsigned long long)va[a->id], (unsigned long long)vb[a->id],
	    (unsigned long long)va[b->id], (unsigned long long)vb[b->id]);
}

#endif /* TESTS_UNIT_SYNC_SYNC_FIXTURE_H */
