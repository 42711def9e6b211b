/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of repository revocations on real LMDB files: known and unknown serials, refs, first wins, CRL order. */

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

#include "proto/proto.h"
#include "signer/signer.h"
#include "tests/unit/signer/tmpdir.h"

#define NODE 3
#define MAP_MB 16
#define MANY 10000

struct fx {
	char dir[256];
	char path[PATH_MAX];
	struct repo *r;
	char why[256];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (tmpdir_make(f->dir, sizeof(f->dir), "test_repo_revoke") != 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/repo", f->dir);
	if (repo_open(f->path, NODE, MAP_MB, REPO_CREATE, &f->r, f->why,
	    sizeof(f->why)) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	repo_close(f->r);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static void
make_req(struct repo_cert *req, const char *issuer, const char *ref, int hash)
{
	memset(req, 0, sizeof(*req));
	snprintf(req->issuer, sizeof(req->issuer), "%s", issuer);
	snprintf(req->profile, sizeof(req->profile), "server");
	req->ref_len = strlen(ref);
	memcpy(req->ref, ref, req->ref_len);
	memset(req->req_hash, hash, sizeof(req->req_hash));
	req->not_before = 1700000000;
	req->not_after = 1700000000 + 90 * 86400;
	req->created = 1700000100;
	snprintf(req->subject, sizeof(req->subject), "CN=%s.example.org", ref);
}

static void
make_rev(struct repo_revocation *rev, const char *issuer,
    const struct serial *s, const char *ref, int reason)
{
	memset(rev, 0, sizeof(*rev));
	snprintf(rev->issuer, sizeof(rev->issuer), "%s", issuer);
	rev->serial = *s;
	rev->revoked_at = 1710000000;
	rev->reason = reason;
	rev->ref_len = strlen(ref);
	memcpy(rev->ref, ref, rev->ref_len);
}

static struct repo_txn *
begin(struct fx *f, bool write)
{
	struct repo_txn *t;

	assert_int_equal(repo_begin(f->r, write, &t, f->why, sizeof(f->why)),
	    0);
	return t;
}

static void
commit(struct fx *f, struct repo_txn *t)
{
	assert_int_equal(repo_commit(t, f->why, sizeof(f->why)), 0);
}

/* Reserve and issue in two transactions; *out gets the issued record. */
static void
reserve_issue(struct fx *f, const char *issuer, const char *ref,
    struct repo_cert *out)
{
	struct repo_cert req, c;
	struct repo_txn *t;
	char der[64];

	make_req(&req, issuer, ref, 1);
	t = begin(f, true);
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), 0);
	commit(f, t);
	snprintf(der, sizeof(der), "DER of %s", ref);
	t = begin(f, true);
	assert_int_equal(repo_cert_issue(t, issuer, &c.serial,
	    (const uint8_t *)der, strlen(der), out, f->why, sizeof(f->why)), 0);
	commit(f, t);
	repo_cert_clear(&c);
}

static uint64_t
vv(struct fx *f, uint8_t origin)
{
	struct repo_txn *t = begin(f, false);
	uint64_t seq;

	assert_int_equal(repo_vv_get(t, origin, &seq, f->why, sizeof(f->why)),
	    0);
	repo_abort(t);
	return seq;
}

static int
verify_problems(struct fx *f)
{
	return repo_verify(f->r, NULL, NULL, f->why, sizeof(f->why));
}

static void
test_revoke_known(void **state)
{
	struct fx *f = *state;
	struct repo_revocation rev, out;
	struct repo_cert c, g;
	struct repo_stats st;
	struct repo_txn *t;

	reserve_issue(f, "ca-1", "to-revoke", &c);
	make_rev(&rev, "ca-1", &c.serial, "rev-1", 1);
	t = begin(f, true);
	assert_int_equal(repo_revoke(t, &rev, &out, f->why, sizeof(f->why)), 0);
	assert_int_equal(out.reason, 1);
	assert_int_equal(out.origin, NODE);
	commit(f, t);
	assert_int_equal(vv(f, NODE), 2);
	t = begin(f, false);
	assert_int_equal(repo_cert_get(t, "ca-1", &c.serial, &g, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(g.status, CERT_REVOKED);
	assert_int_equal(g.revoked_at, 1710000000);
	assert_int_equal(g.reason, 1);
	assert_non_null(g.der);
	repo_cert_clear(&g);
	assert_int_equal(repo_revocation_get(t, "ca-1", &c.serial, &out, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(out.ref_len, 5);
	assert_memory_equal(out.ref, "rev-1", 5);
	assert_int_equal(repo_stats(t, "ca-1", &st, f->why, sizeof(f->why)), 0);
	assert_int_equal(st.revoked, 1);
	assert_int_equal(st.certs, 1);
	repo_abort(t);
	repo_cert_clear(&c);
	assert_int_equal(verify_problems(f), 0);
}

static int
collect_rev(const struct repo_revocation *rev, void *ctx)
{
	struct repo_revocation *out = ctx;

	*out = *rev;
	return 0;
}

static void
test_revoke_unknown(void **state)
{
	struct fx *f = *state;
	struct repo_revocation rev, out, seen;
	struct repo_cert g;
	struct repo_txn *t;
	struct serial s;

	assert_int_equal(serial_from_hex("deadbeef", 8, &s), 0);
	make_rev(&rev, "ca-1", &s, "rev-unknown", CRL_REASON_NONE);
	t = begin(f, true);
	assert_int_equal(repo_revoke(t, &rev, &out, f->why, sizeof(f->why)), 0);
	commit(f, t);
	assert_int_equal(vv(f, NODE), 1);
	t = begin(f, false);
	assert_int_equal(repo_cert_get(t, "ca-1", &s, &g, f->why,
	    sizeof(f->why)), ERR_NOT_FOUND);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(repo_revoked_foreach(t, "ca-1", collect_rev, &seen,
	    f->why, sizeof(f->why)), 0);
	assert_int_equal(serial_cmp(&seen.serial, &s), 0);
	assert_int_equal(seen.reason, CRL_REASON_NONE);
	repo_abort(t);
	assert_int_equal(verify_problems(f), 0);
}

static void
test_revoke_first_wins(void **state)
{
	struct fx *f = *state;
	struct repo_revocation rev, out;
	struct repo_cert c;
	struct repo_txn *t;

	reserve_issue(f, "ca-1", "c", &c);
	make_rev(&rev, "ca-1", &c.serial, "first", 1);
	t = begin(f, true);
	assert_int_equal(repo_revoke(t, &rev, &out, f->why, sizeof(f->why)), 0);
	commit(f, t);
	assert_int_equal(vv(f, NODE), 2);
	make_rev(&rev, "ca-1", &c.serial, "second", 4);
	rev.revoked_at = 1720000000;
	t = begin(f, true);
	assert_int_equal(repo_revoke(t, &rev, &out, f->why, sizeof(f->why)), 0);
	assert_int_equal(out.reason, 1);
	assert_int_equal(out.revoked_at, 1710000000);
	assert_memory_equal(out.ref, "first", 5);
	commit(f, t);
	assert_int_equal(vv(f, NODE), 2);       /* nothing recorded */
	repo_cert_clear(&c);
	assert_int_equal(verify_problems(f), 0);
}

static void
test_revoke_ref_idempotent(void **state)
{
	struct fx *f = *state;
	struct repo_revocation rev, out;
	struct repo_cert a, b, req;
	struct repo_txn *t;

	reserve_issue(f, "ca-1", "a", &a);
	reserve_issue(f, "ca-1", "b", &b);
	make_rev(&rev, "ca-1", &a.serial, "rref", 3);
	t = begin(f, true);
	assert_int_equal(repo_revoke(t, &rev, &out, f->why, sizeof(f->why)), 0);
	rev.revoked_at += 60;   /* a retry comes later */
	assert_int_equal(repo_revoke(t, &rev, &out, f->why, sizeof(f->why)), 0);
	assert_int_equal(out.revoked_at, 1710000000);
	make_rev(&rev, "ca-1", &b.serial, "rref", 3);
	assert_int_equal(repo_revoke(t, &rev, &out, f->why, sizeof(f->why)),
	    ERR_CONFLICT);
	assert_non_null(strstr(f->why, "'rref'"));
	make_rev(&rev, "ca-1", &a.serial, "rref", 4);
	assert_int_equal(repo_revoke(t, &rev, &out, f->why, sizeof(f->why)),
	    ERR_CONFLICT);
	/* Sign refs are another namespace. */
	repo_cert_clear(&b);
	make_req(&req, "ca-1", "rref", 1);
	assert_int_equal(repo_cert_reserve(t, &req, &b, f->why,
	    sizeof(f->why)), 0);
	repo_cert_clear(&b);
	commit(f, t);
	assert_int_equal(vv(f, NODE), 3);
	repo_cert_clear(&a);
	assert_int_equal(verify_problems(f), 0);
}

static void
test_revoke_pending(void **state)
{
	struct fx *f = *state;
	struct repo_revocation rev;
	struct repo_cert req, c, g;
	struct repo_stats st;
	struct repo_txn *t;

	make_req(&req, "ca-1", "p", 1);
	t = begin(f, true);
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), 0);
	make_rev(&rev, "ca-1", &c.serial, "rp", 0);
	assert_int_equal(repo_revoke(t, &rev, NULL, f->why, sizeof(f->why)), 0);
	assert_int_equal(repo_stats(t, "ca-1", &st, f->why, sizeof(f->why)), 0);
	assert_int_equal(st.pending, 0);
	/* The signature arrives after the revocation: kept, still revoked. */
	assert_int_equal(repo_cert_issue(t, "ca-1", &c.serial,
	    (const uint8_t *)"late", 4, &g, f->why, sizeof(f->why)), 0);
	assert_int_equal(g.status, CERT_REVOKED);
	assert_int_equal(g.reason, 0);
	repo_cert_clear(&g);
	commit(f, t);
	repo_cert_clear(&c);
	assert_int_equal(vv(f, NODE), 2);
	assert_int_equal(verify_problems(f), 0);
}

struct order {
	struct serial prev;
	int count;
	bool bad;
};

static int
check_order(const struct repo_revocation *rev, void *ctx)
{
	struct order *o = ctx;

	if (strcmp(rev->issuer, "ca-1") != 0 ||
	    (o->count > 0 && serial_cmp(&o->prev, &rev->serial) >= 0))
		o->bad = true;
	o->prev = rev->serial;
	o->count++;
	return 0;
}

/* A distinct serial of 3..16 bytes for each i, in no particular order. */
static void
many_serial(int i, struct serial *s)
{
	assert_int_equal(serial_generate(NODE, s), 0);
	s->len = 3 + (size_t)i % 14;
	s->b[0] = (uint8_t)(1 + (i * 7919) % 255);
	s->b[s->len - 2] = (uint8_t)(i >> 8);
	s->b[s->len - 1] = (uint8_t)i;
}

static void
test_revoked_order_many(void **state)
{
	struct fx *f = *state;
	struct repo_revocation rev;
	struct repo_stats st;
	struct repo_txn *t;
	struct order o;
	struct serial s;
	char ref[32];
	int i;

	t = begin(f, true);
	for (i = 0; i < MANY; i++) {
		many_serial(i, &s);
		snprintf(ref, sizeof(ref), "rev-%d", i);
		make_rev(&rev, i % 2 ? "ca-1" : "ca-2", &s, ref, i % 7);
		assert_int_equal(repo_revoke(t, &rev, NULL, f->why,
		    sizeof(f->why)), 0);
	}
	commit(f, t);
	t = begin(f, false);
	memset(&o, 0, sizeof(o));
	assert_int_equal(repo_revoked_foreach(t, "ca-1", check_order, &o,
	    f->why, sizeof(f->why)), 0);
	assert_false(o.bad);
	assert_int_equal(o.count, MANY / 2);
	assert_int_equal(repo_stats(t, "ca-1", &st, f->why, sizeof(f->why)), 0);
	assert_int_equal(st.revoked, MANY / 2);
	memset(&o, 0, sizeof(o));
	assert_int_equal(repo_revoked_foreach(t, "ca-3", check_order, &o,
	    f->why, sizeof(f->why)), 0);
	assert_int_equal(o.count, 0);
	repo_abort(t);
	assert_int_equal(vv(f, NODE), MANY);
	assert_int_equal(verify_problems(f), 0);
}

static int
count_rev(const struct repo_revocation *rev, void *ctx)
{
	(void)rev;
	(*(int *)ctx)++;
	return 0;
}

static void
test_revoked_count(void **state)
{
	struct fx *f = *state;
	struct repo_revocation rev;
	struct repo_stats st;
	struct repo_txn *t;
	struct serial s;
	char ref[32];
	int i, n = 0;

	t = begin(f, true);
	for (i = 0; i < 500; i++) {
		assert_int_equal(serial_generate(NODE, &s), 0);
		snprintf(ref, sizeof(ref), "r%d", i);
		make_rev(&rev, "ca-x", &s, ref, 1);
		assert_int_equal(repo_revoke(t, &rev, NULL, f->why,
		    sizeof(f->why)), 0);
	}
	commit(f, t);
	t = begin(f, false);
	assert_int_equal(repo_revoked_foreach(t, "ca-x", count_rev, &n, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(n, 500);
	assert_int_equal(repo_stats(t, "ca-x", &st, f->why, sizeof(f->why)), 0);
	assert_int_equal(st.revoked, 500);
	assert_int_equal(st.certs, 0);
	repo_abort(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_revoke_known, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_revoke_unknown, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_revoke_first_wins, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_revoke_ref_idempotent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_revoke_pending, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_revoked_order_many, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_revoked_count, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
