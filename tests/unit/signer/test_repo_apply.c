/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of applying a peer's events on real LMDB files: convergence after a partition, conflicts, refusals, catch-up. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/proto.h"
#include "signer/signer.h"
#include "tests/unit/signer/tmpdir.h"

#define NODES 3                 /* A = 1, B = 2, C = 3 */
#define MAP_MB 64
#define BATCH 64                /* events per transaction */
#define MANY 10000              /* events of the rate test */
#define CREATED 1700000100
#define ISSUER "ca-1"

struct node {
	char path[PATH_MAX];
	struct repo *r;
};

struct fx {
	char dir[256];
	struct node n[NODES + 1];       /* by node id */
	char why[256];
};

/* Events copied out of a log, to apply elsewhere. */
struct evlist {
	uint8_t **b;
	size_t *len;
	uint8_t origin;
	size_t n, cap;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t i;

	if (f == NULL)
		return -1;
	if (tmpdir_make(f->dir, sizeof(f->dir), "test_repo_apply") != 0)
		return -1;
	for (i = 1; i <= NODES; i++) {
		snprintf(f->n[i].path, sizeof(f->n[i].path), "%s/repo%u",
		    f->dir, i);
		if (repo_open(f->n[i].path, i, MAP_MB, REPO_CREATE, &f->n[i].r,
		    f->why, sizeof(f->why)) != 0)
			return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int i;

	for (i = 1; i <= NODES; i++)
		repo_close(f->n[i].r);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static struct repo *
R(struct fx *f, uint8_t node)
{
	return f->n[node].r;
}

static struct repo_txn *
begin(struct fx *f, uint8_t node, bool write)
{
	struct repo_txn *t;

	assert_int_equal(repo_begin(R(f, node), write, &t, f->why,
	    sizeof(f->why)), 0);
	return t;
}

static void
commit(struct fx *f, struct repo_txn *t)
{
	assert_int_equal(repo_commit(t, f->why, sizeof(f->why)), 0);
}

/* Reserve and issue ref on node in one transaction; *serial gets its serial. */
static void
issue_in(struct fx *f, struct repo_txn *t, const char *ref, int64_t created,
    struct serial *serial)
{
	struct repo_cert req, c;
	char der[96];

	memset(&req, 0, sizeof(req));
	snprintf(req.issuer, sizeof(req.issuer), "%s", ISSUER);
	snprintf(req.profile, sizeof(req.profile), "server");
	req.ref_len = strlen(ref);
	memcpy(req.ref, ref, req.ref_len);
	memset(req.req_hash, 7, sizeof(req.req_hash));
	req.not_before = 1700000000;
	req.not_after = 1700000000 + 90 * 86400;
	req.created = created;
	snprintf(req.subject, sizeof(req.subject), "CN=%s.example.org", ref);
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), 0);
	snprintf(der, sizeof(der), "DER of %s on node %u", ref, c.serial.b[0]);
	assert_int_equal(repo_cert_issue(t, ISSUER, &c.serial,
	    (const uint8_t *)der, strlen(der), NULL, f->why, sizeof(f->why)),
	    0);
	if (serial != NULL)
		*serial = c.serial;
	repo_cert_clear(&c);
}

static void
issue(struct fx *f, uint8_t node, const char *ref, int64_t created,
    struct serial *serial)
{
	struct repo_txn *t = begin(f, node, true);

	issue_in(f, t, ref, created, serial);
	commit(f, t);
}

static void
revoke(struct fx *f, uint8_t node, const struct serial *s, const char *ref,
    int64_t at, int reason)
{
	struct repo_revocation rev;
	struct repo_txn *t;

	memset(&rev, 0, sizeof(rev));
	snprintf(rev.issuer, sizeof(rev.issuer), "%s", ISSUER);
	rev.serial = *s;
	rev.revoked_at = at;
	rev.reason = reason;
	rev.ref_len = strlen(ref);
	memcpy(rev.ref, ref, rev.ref_len);
	t = begin(f, node, true);
	assert_int_equal(repo_revoke(t, &rev, NULL, f->why, sizeof(f->why)), 0);
	commit(f, t);
}

static uint64_t
vv(struct fx *f, uint8_t node, uint8_t origin)
{
	struct repo_txn *t = begin(f, node, false);
	uint64_t seq;

	assert_int_equal(repo_vv_get(t, origin, &seq, f->why, sizeof(f->why)),
	    0);
	repo_abort(t);
	return seq;
}

/* ---- shipping events ---------------------------------------------------------- */

static int
ev_collect(uint8_t origin, uint64_t seq, const uint8_t *event, size_t len,
    void *ctx)
{
	struct evlist *l = ctx;

	(void)origin;
	(void)seq;
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 64 : l->cap * 2;
		l->b = realloc(l->b, l->cap * sizeof(*l->b));
		l->len = realloc(l->len, l->cap * sizeof(*l->len));
		assert_non_null(l->b);
		assert_non_null(l->len);
	}
	l->b[l->n] = malloc(len);
	assert_non_null(l->b[l->n]);
	memcpy(l->b[l->n], event, len);
	l->len[l->n++] = len;
	return 0;
}

static void
ev_free(struct evlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->b[i]);
	free(l->b);
	free(l->len);
	memset(l, 0, sizeof(*l));
}

/* The events of origin that node holds after seq. */
static void
ev_read(struct fx *f, uint8_t node, uint8_t origin, uint64_t after,
    struct evlist *l)
{
	struct repo_txn *t = begin(f, node, false);

	memset(l, 0, sizeof(*l));
	l->origin = origin;
	assert_int_equal(repo_events_foreach(t, origin, after, ev_collect, l,
	    f->why, sizeof(f->why)), 0);
	repo_abort(t);
}

struct batch {
	const struct evlist *l;
	size_t from, to;
	size_t applied, known;
};

static int
batch_apply(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	struct batch *b = ctx;
	size_t i;
	int rc;

	b->applied = b->known = 0;
	for (i = b->from; i < b->to; i++) {
		rc = repo_event_apply(t, b->l->origin, b->l->b[i], b->l->len[i],
		    why, whylen);
		if (rc < 0)
			return rc;
		if (rc == REPO_APPLY_KNOWN)
			b->known++;
		else
			b->applied++;
	}
	return 0;
}

/* Apply l to node in batches of batch events; the number applied (not known before). */
static size_t
ev_apply(struct fx *f, uint8_t node, const struct evlist *l, size_t batch)
{
	struct batch b = { l, 0, 0, 0, 0 };
	size_t applied = 0;

	for (b.from = 0; b.from < l->n; b.from = b.to) {
		b.to = b.from + batch < l->n ? b.from + batch : l->n;
		assert_int_equal(repo_update(R(f, node), batch_apply, &b,
		    f->why, sizeof(f->why)), 0);
		applied += b.applied;
	}
	return applied;
}

/* Ship what from holds and to lacks, every origin but to's own. */
static void
ship(struct fx *f, uint8_t from, uint8_t to)
{
	struct evlist l;
	uint8_t o;

	for (o = 1; o <= NODES; o++) {
		if (o == to)
			continue;
		ev_read(f, from, o, vv(f, to, o), &l);
		ev_apply(f, to, &l, BATCH);
		ev_free(&l);
	}
}

static void
digest(struct fx *f, uint8_t node, struct repo_digest *d)
{
	assert_int_equal(repo_digest(R(f, node), d, f->why, sizeof(f->why)), 0);
}

static void
assert_same(struct fx *f, uint8_t a, uint8_t b)
{
	struct repo_digest da, db;

	digest(f, a, &da);
	digest(f, b, &db);
	assert_int_equal(da.certs, db.certs);
	assert_int_equal(da.revocations, db.revocations);
	assert_memory_equal(da.hash, db.hash, sizeof(da.hash));
	assert_int_equal(repo_verify(R(f, a), NULL, NULL, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(repo_verify(R(f, b), NULL, NULL, f->why,
	    sizeof(f->why)), 0);
}

static void
get_rev(struct fx *f, uint8_t node, const struct serial *s,
    struct repo_revocation *rev)
{
	struct repo_txn *t = begin(f, node, false);

	assert_int_equal(repo_revocation_get(t, ISSUER, s, rev, f->why,
	    sizeof(f->why)), 0);
	repo_abort(t);
}

static void
get_cert(struct fx *f, uint8_t node, const struct serial *s,
    struct repo_cert *c)
{
	struct repo_txn *t = begin(f, node, false);

	assert_int_equal(repo_cert_get(t, ISSUER, s, c, f->why,
	    sizeof(f->why)), 0);
	repo_abort(t);
}

/* ---- tests -------------------------------------------------------------------- */

#define PART 20                 /* certificates per node in a partition */

static void
test_partition(void **state)
{
	struct fx *f = *state;
	struct serial sa[PART], sb[PART], unknown;
	struct repo_digest da, db;
	struct repo_crl crl;
	struct repo_cert c;
	struct repo_txn *t;
	char ref[32];
	uint64_t max;
	size_t i;

	for (i = 0; i < PART; i++) {
		snprintf(ref, sizeof(ref), "a-%zu", i);
		issue(f, 1, ref, CREATED + (int64_t)i, &sa[i]);
		snprintf(ref, sizeof(ref), "b-%zu", i);
		issue(f, 2, ref, CREATED + (int64_t)i, &sb[i]);
	}
	for (i = 0; i < PART; i += 4) {
		snprintf(ref, sizeof(ref), "rev-a-%zu", i);
		revoke(f, 1, &sa[i], ref, 1710000000, 1);
		snprintf(ref, sizeof(ref), "rev-b-%zu", i);
		revoke(f, 2, &sb[i], ref, 1710000000, 4);
	}
	/* A revocation of a serial nobody issued travels too. */
	memset(&unknown, 0, sizeof(unknown));
	unknown.b[0] = 0x42;
	unknown.len = 1;
	revoke(f, 2, &unknown, "rev-unknown", 1710000500, 0);
	memset(&crl, 0, sizeof(crl));
	snprintf(crl.issuer, sizeof(crl.issuer), "%s", ISSUER);
	crl.number = 77;
	crl.this_update = 1710000000;
	crl.next_update = 1710086400;
	t = begin(f, 1, true);
	assert_int_equal(repo_crl_put(t, &crl, f->why, sizeof(f->why)), 0);
	commit(f, t);

	digest(f, 1, &da);
	digest(f, 2, &db);
	assert_memory_not_equal(da.hash, db.hash, sizeof(da.hash));
	ship(f, 1, 2);
	ship(f, 2, 1);
	assert_same(f, 1, 2);
	digest(f, 1, &da);
	assert_int_equal(da.certs, 2 * PART);
	assert_int_equal(da.revocations, 2 * (PART / 4) + 1);
	for (i = 0; i < PART; i++) {
		get_cert(f, 2, &sa[i], &c);
		assert_int_equal(c.status, i % 4 == 0 ? CERT_REVOKED :
		    CERT_ISSUED);
		repo_cert_clear(&c);
		get_cert(f, 1, &sb[i], &c);
		assert_int_equal(c.status, i % 4 == 0 ? CERT_REVOKED :
		    CERT_ISSUED);
		repo_cert_clear(&c);
	}
	assert_int_equal(vv(f, 2, 1), vv(f, 1, 1));
	assert_int_equal(vv(f, 1, 2), vv(f, 2, 2));
	/* B never makes a CRL number at or below one A made. */
	t = begin(f, 2, false);
	assert_int_equal(repo_crl_number_max(t, ISSUER, &max, f->why,
	    sizeof(f->why)), 0);
	repo_abort(t);
	assert_int_equal(max, 77);
	crl.number = 77;
	t = begin(f, 2, true);
	assert_int_equal(repo_crl_put(t, &crl, f->why, sizeof(f->why)),
	    ERR_CONFLICT);
	repo_abort(t);
	/* Nothing left to ship: a second round applies nothing. */
	ship(f, 1, 2);
	ship(f, 2, 1);
	digest(f, 2, &db);
	assert_memory_equal(da.hash, db.hash, sizeof(da.hash));
}

static uint64_t
mark(struct fx *f, uint8_t node)
{
	struct repo_txn *t = begin(f, node, false);
	uint64_t m;

	assert_int_equal(repo_revlog_mark(t, ISSUER, &m, f->why,
	    sizeof(f->why)), 0);
	repo_abort(t);
	return m;
}

static int
count_entry(const struct repo_crl_entry *e, void *ctx)
{
	(void)e;
	(*(size_t *)ctx)++;
	return 0;
}

/* Entries a delta after mark m would list on node. */
static size_t
delta_after(struct fx *f, uint8_t node, uint64_t m)
{
	struct repo_txn *t = begin(f, node, false);
	size_t n = 0;

	assert_int_equal(repo_crl_entries(t, ISSUER, m, count_entry, &n,
	    f->why, sizeof(f->why)), 0);
	repo_abort(t);
	return n;
}

static void
test_revocations_converge(void **state)
{
	struct fx *f = *state;
	struct repo_revocation ra, rb;
	struct repo_crl crl;
	struct repo_txn *t;
	struct serial x, y;
	struct repo_cert c;
	uint64_t m;

	issue(f, 1, "x", CREATED, &x);
	issue(f, 1, "y", CREATED, &y);
	ship(f, 1, 2);
	/* Different times: the earlier wins, here B's. */
	revoke(f, 1, &x, "rev-x-a", 1710000200, 1);
	revoke(f, 2, &x, "rev-x-b", 1710000100, 3);
	/* The same time: the lower node wins, here A's. */
	revoke(f, 1, &y, "rev-y-a", 1710000300, 1);
	revoke(f, 2, &y, "rev-y-b", 1710000300, 5);
	m = mark(f, 1);
	assert_int_equal(m, 2);
	/* A's CRL made now covers both; after the exchange it is stale. */
	memset(&crl, 0, sizeof(crl));
	snprintf(crl.issuer, sizeof(crl.issuer), "%s", ISSUER);
	crl.number = 1;
	crl.this_update = 1710000400;
	crl.next_update = 1710086400;
	crl.rev_mark = m;
	t = begin(f, 1, true);
	assert_int_equal(repo_crl_put(t, &crl, f->why, sizeof(f->why)), 0);
	commit(f, t);
	ship(f, 1, 2);
	ship(f, 2, 1);
	assert_same(f, 1, 2);
	get_rev(f, 1, &x, &ra);
	get_rev(f, 2, &x, &rb);
	assert_int_equal(ra.revoked_at, 1710000100);
	assert_int_equal(ra.reason, 3);
	assert_int_equal(ra.origin, 2);
	assert_int_equal(rb.revoked_at, ra.revoked_at);
	assert_int_equal(rb.origin, ra.origin);
	get_cert(f, 1, &x, &c);
	assert_int_equal(c.revoked_at, 1710000100);
	assert_int_equal(c.reason, 3);
	repo_cert_clear(&c);
	get_rev(f, 1, &y, &ra);
	get_rev(f, 2, &y, &rb);
	assert_int_equal(ra.origin, 1);
	assert_int_equal(ra.reason, 1);
	assert_int_equal(rb.origin, 1);
	assert_int_equal(rb.reason, 1);
	/* A replaced x: its entry moved past the old mark, so a delta lists it. */
	assert_int_equal(mark(f, 1), m + 1);
	assert_int_equal(delta_after(f, 1, m), 1);
	/* B replaced y: the same there. */
	assert_int_equal(mark(f, 2), m + 1);
	assert_int_equal(delta_after(f, 2, m), 1);
	/* Revoke refs of the winners lead to them on both nodes. */
	revoke(f, 1, &x, "rev-x-b", 1710000100, 3);
}

static uint64_t
superseded(struct fx *f, uint8_t node)
{
	struct repo_txn *t = begin(f, node, false);
	uint64_t n;

	assert_int_equal(repo_superseded_count(t, &n, f->why, sizeof(f->why)),
	    0);
	repo_abort(t);
	return n;
}

static void
check_superseded(struct fx *f, uint8_t node, const struct serial *kept,
    const struct serial *lost)
{
	struct repo_txn *t = begin(f, node, false);
	struct repo_revocation rev;
	struct repo_cert c;

	assert_int_equal(repo_ref_find(t, (const uint8_t *)"dup", 3, &c,
	    f->why, sizeof(f->why)), 0);
	assert_int_equal(serial_cmp(&c.serial, kept), 0);
	assert_int_equal(c.status, CERT_ISSUED);
	repo_cert_clear(&c);
	assert_int_equal(repo_cert_get(t, ISSUER, lost, &c, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(c.status, CERT_REVOKED);
	assert_int_equal(c.reason, CRL_REASON_SUPERSEDED);
	assert_int_equal(c.revoked_at, CREATED + 50);
	repo_cert_clear(&c);
	assert_int_equal(repo_revocation_get(t, ISSUER, lost, &rev, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(rev.origin, lost->b[0]);
	repo_abort(t);
	assert_int_equal(superseded(f, node), 1);
}

static void
test_same_ref(void **state)
{
	struct fx *f = *state;
	struct serial a, b;

	issue(f, 1, "dup", CREATED, &a);
	issue(f, 2, "dup", CREATED + 50, &b);
	/* A applies the higher serial; B applies the lower over its own. */
	ship(f, 2, 1);
	check_superseded(f, 1, &a, &b);
	ship(f, 1, 2);
	check_superseded(f, 2, &a, &b);
	assert_same(f, 1, 2);
	/* A later explicit revocation of the superseded one loses on both. */
	revoke(f, 2, &b, "late", CREATED + 1000, 1);
	ship(f, 2, 1);
	check_superseded(f, 1, &a, &b);
	check_superseded(f, 2, &a, &b);
	assert_same(f, 1, 2);
	/* C learns it all from A and derives the same. */
	ship(f, 1, 3);
	assert_same(f, 1, 3);
	check_superseded(f, 3, &a, &b);
}

static void
test_same_ref_pending(void **state)
{
	struct fx *f = *state;
	struct repo_cert req, c;
	struct repo_digest da, db;
	struct repo_txn *t;
	struct serial a;

	/* B reserved the ref but has not signed yet when A's issue comes. */
	memset(&req, 0, sizeof(req));
	snprintf(req.issuer, sizeof(req.issuer), "%s", ISSUER);
	snprintf(req.profile, sizeof(req.profile), "server");
	req.ref_len = 3;
	memcpy(req.ref, "dup", 3);
	req.not_after = 1;
	req.created = CREATED + 50;
	t = begin(f, 2, true);
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), 0);
	commit(f, t);
	issue(f, 1, "dup", CREATED, &a);
	ship(f, 1, 2);
	/* Until B issues it, its superseded reservation is B's own business. */
	digest(f, 1, &da);
	digest(f, 2, &db);
	assert_memory_equal(da.hash, db.hash, sizeof(da.hash));
	assert_int_equal(repo_verify(R(f, 2), NULL, NULL, f->why,
	    sizeof(f->why)), 0);
	t = begin(f, 2, true);
	assert_int_equal(repo_cert_issue(t, ISSUER, &c.serial,
	    (const uint8_t *)"late DER", 8, NULL, f->why, sizeof(f->why)), 0);
	commit(f, t);
	ship(f, 2, 1);
	check_superseded(f, 1, &a, &c.serial);
	check_superseded(f, 2, &a, &c.serial);
	assert_same(f, 1, 2);
	repo_cert_clear(&c);
}

static void
test_twice(void **state)
{
	struct fx *f = *state;
	struct repo_digest d1, d2;
	struct serial s;
	struct evlist l;

	issue(f, 1, "one", CREATED, &s);
	issue(f, 1, "two", CREATED, NULL);
	revoke(f, 1, &s, "rev-one", 1710000000, 1);
	ev_read(f, 1, 1, 0, &l);
	assert_int_equal(l.n, 3);
	assert_int_equal(ev_apply(f, 2, &l, 2), 3);
	digest(f, 2, &d1);
	assert_int_equal(ev_apply(f, 2, &l, 2), 0);
	assert_int_equal(ev_apply(f, 2, &l, 1), 0);
	digest(f, 2, &d2);
	assert_memory_equal(d1.hash, d2.hash, sizeof(d1.hash));
	assert_int_equal(vv(f, 2, 1), 3);
	assert_same(f, 1, 2);
	ev_free(&l);
}

/* Apply one event to B in a transaction that is aborted; returns its result. */
static int
try_apply(struct fx *f, uint8_t origin, const uint8_t *b, size_t len)
{
	struct repo_txn *t = begin(f, 2, true);
	int rc;

	f->why[0] = '\0';
	rc = repo_event_apply(t, origin, b, len, f->why, sizeof(f->why));
	repo_abort(t);
	return rc;
}

static void
expect_refused(struct fx *f, uint8_t origin, const uint8_t *b, size_t len,
    int want, const char *words)
{
	assert_int_equal(try_apply(f, origin, b, len), want);
	if (strstr(f->why, words) == NULL)
		fail_msg("'%s' does not say '%s'", f->why, words);
}

/* An issue event of origin with serial prefix prefix. */
static void
forge_issue(uint8_t origin, uint64_t seq, uint8_t prefix, uint8_t **b,
    size_t *len)
{
	struct repo_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = REPO_EVENT_ISSUE;
	ev.origin = origin;
	ev.seq = seq;
	snprintf(ev.cert.issuer, sizeof(ev.cert.issuer), "%s", ISSUER);
	ev.cert.serial.b[0] = prefix;
	ev.cert.serial.b[1] = 0x33;
	ev.cert.serial.len = 2;
	snprintf(ev.cert.profile, sizeof(ev.cert.profile), "server");
	memcpy(ev.cert.ref, "forged", 6);
	ev.cert.ref_len = 6;
	ev.cert.der = (uint8_t *)"forged DER";
	ev.cert.der_len = 10;
	assert_int_equal(repo_event_encode(&ev, b, len), 0);
}

static void
test_refused(void **state)
{
	static const char sup_ref[] = "\0superseded:x";
	struct fx *f = *state;
	struct repo_revocation rev;
	struct repo_digest d1, d2;
	struct repo_txn *t;
	struct evlist l;
	uint8_t *b;
	size_t len;

	issue(f, 1, "one", CREATED, NULL);
	issue(f, 1, "two", CREATED, NULL);
	issue(f, 1, "three", CREATED, NULL);
	ev_read(f, 1, 1, 0, &l);
	assert_int_equal(ev_apply(f, 2, &(struct evlist){ l.b, l.len, 1, 1, 1 },
	    1), 1);
	digest(f, 2, &d1);
	expect_refused(f, 1, l.b[2], l.len[2], ERR_CONFLICT, "out of order");
	expect_refused(f, 3, l.b[1], l.len[1], ERR_BAD_REQUEST,
	    "came in the events of node 3");
	expect_refused(f, 2, l.b[1], l.len[1], ERR_BAD_REQUEST,
	    "this node's own");
	expect_refused(f, 1, (const uint8_t *)"\x81\xa4type", 6,
	    ERR_BAD_REQUEST, "from node 1");
	expect_refused(f, 1, l.b[1], l.len[1] - 1, ERR_BAD_REQUEST,
	    "from node 1");
	forge_issue(1, 2, 5, &b, &len);
	expect_refused(f, 1, b, len, ERR_BAD_REQUEST, "prefix of node 1");
	free(b);
	/* Another event under a sequence already applied: a forked log. */
	forge_issue(1, 1, 1, &b, &len);
	expect_refused(f, 1, b, len, ERR_CONFLICT, "forked");
	free(b);
	assert_int_equal(try_apply(f, 1, l.b[0], l.len[0]), REPO_APPLY_KNOWN);
	digest(f, 2, &d2);
	assert_memory_equal(d1.hash, d2.hash, sizeof(d1.hash));
	assert_int_equal(vv(f, 2, 1), 1);
	assert_int_equal(repo_verify(R(f, 2), NULL, NULL, f->why,
	    sizeof(f->why)), 0);
	/* Nobody may take the refs of derived revocations. */
	memset(&rev, 0, sizeof(rev));
	snprintf(rev.issuer, sizeof(rev.issuer), "%s", ISSUER);
	rev.serial.b[0] = 1;
	rev.serial.len = 1;
	rev.ref_len = sizeof(sup_ref) - 1;
	memcpy(rev.ref, sup_ref, rev.ref_len);
	t = begin(f, 2, true);
	assert_int_equal(repo_revoke(t, &rev, NULL, f->why, sizeof(f->why)),
	    ERR_BAD_REQUEST);
	repo_abort(t);
	/* What was refused out of order goes in once its turn comes. */
	assert_int_equal(try_apply(f, 1, l.b[1], l.len[1]), 0);
	ev_free(&l);
}

static void
test_catch_up(void **state)
{
	struct fx *f = *state;
	struct serial s;
	char ref[32];
	int i;

	for (i = 0; i < 30; i++) {
		snprintf(ref, sizeof(ref), "a-%d", i);
		issue(f, 1, ref, CREATED, &s);
		if (i % 3 == 0)
			revoke(f, 1, &s, ref, 1710000000 + i, 1);
		snprintf(ref, sizeof(ref), "b-%d", i);
		issue(f, 2, ref, CREATED, &s);
		if (i % 5 == 0)
			revoke(f, 2, &s, ref, 1710000000 + i, 4);
	}
	issue(f, 1, "dup", CREATED, NULL);
	issue(f, 2, "dup", CREATED + 50, NULL);
	ship(f, 1, 2);
	ship(f, 2, 1);
	assert_same(f, 1, 2);
	assert_int_equal(vv(f, 3, 1), 0);
	ship(f, 1, 3);
	assert_same(f, 1, 3);
	assert_int_equal(vv(f, 3, 2), vv(f, 2, 2));
	assert_int_equal(superseded(f, 3), 1);
}

static int
issue_many(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	struct fx *f = ctx;
	static int next;
	char ref[32];
	int i;

	(void)why;
	(void)whylen;
	for (i = 0; i < BATCH * 8 && next < MANY; i++, next++) {
		snprintf(ref, sizeof(ref), "many-%d", next);
		issue_in(f, t, ref, CREATED, NULL);
	}
	return 0;
}

static void
test_many(void **state)
{
	struct fx *f = *state;
	struct timespec a, b;
	struct evlist l;
	double secs;

	while (vv(f, 1, 1) < MANY)
		assert_int_equal(repo_update(R(f, 1), issue_many, f, f->why,
		    sizeof(f->why)), 0);
	ev_read(f, 1, 1, 0, &l);
	assert_int_equal(l.n, MANY);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(ev_apply(f, 2, &l, BATCH * 4), MANY);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	print_message("applied %d events in batches of %d in %.3f s (%.0f "
	    "events/s)\n", MANY, BATCH * 4, secs, secs > 0 ? MANY / secs : 0);
	assert_same(f, 1, 2);
	ev_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_partition, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocations_converge,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_ref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_ref_pending, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catch_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
