/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the repository's operations on real LMDB files: reservation, issuance, refs, events, batches. */

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
	if (tmpdir_make(f->dir, sizeof(f->dir), "test_repo") != 0)
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
reopen(struct fx *f)
{
	repo_close(f->r);
	f->r = NULL;
	assert_int_equal(repo_open(f->path, NODE, MAP_MB, 0, &f->r, f->why,
	    sizeof(f->why)), 0);
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

/* ---- tests ----------------------------------------------------------------- */

static void
test_open(void **state)
{
	struct fx *f = *state;
	struct repo *r;
	char path[PATH_MAX];

	assert_int_equal(repo_node(f->r), NODE);
	snprintf(path, sizeof(path), "%s/missing", f->dir);
	assert_int_equal(repo_open(path, NODE, MAP_MB, 0, &r, f->why,
	    sizeof(f->why)), ERR_NOT_FOUND);
	assert_null(r);
	assert_non_null(strstr(f->why, "no repository"));
	assert_int_equal(repo_open(path, 0, MAP_MB, REPO_CREATE, &r, f->why,
	    sizeof(f->why)), ERR_INVAL);
	assert_int_equal(repo_open(path, 128, MAP_MB, REPO_CREATE, &r, f->why,
	    sizeof(f->why)), ERR_INVAL);
	/* A read-only repository refuses write transactions. */
	repo_close(f->r);
	assert_int_equal(repo_open(f->path, 0, MAP_MB, REPO_RDONLY, &f->r,
	    f->why, sizeof(f->why)), 0);
	assert_int_equal(repo_node(f->r), NODE);
	assert_int_equal(repo_begin(f->r, true, &(struct repo_txn *){ NULL },
	    f->why, sizeof(f->why)), ERR_INVAL);
	reopen(f);
	assert_int_equal(verify_problems(f), 0);
}

static void
test_reserve_issue_get(void **state)
{
	struct fx *f = *state;
	struct repo_cert req, c, g;
	struct repo_stats st;
	struct repo_txn *t;

	make_req(&req, "ca-1", "req-1", 7);
	t = begin(f, true);
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(c.status, CERT_PENDING);
	assert_int_equal(c.serial.len, SERIAL_LEN);
	assert_int_equal(c.serial.b[0], NODE);
	assert_null(c.der);
	assert_string_equal(c.issuer, "ca-1");
	assert_int_equal(c.not_after, req.not_after);
	commit(f, t);
	assert_int_equal(vv(f, NODE), 0);       /* reservations have no event */

	t = begin(f, false);
	assert_int_equal(repo_cert_get(t, "ca-1", &c.serial, &g, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(g.status, CERT_PENDING);
	assert_string_equal(g.subject, "CN=req-1.example.org");
	repo_cert_clear(&g);
	assert_int_equal(repo_stats(t, "ca-1", &st, f->why, sizeof(f->why)), 0);
	assert_int_equal(st.certs, 1);
	assert_int_equal(st.pending, 1);
	repo_abort(t);

	t = begin(f, true);
	assert_int_equal(repo_cert_issue(t, "ca-1", &c.serial,
	    (const uint8_t *)"\x30\x03\x02\x01\x01", 5, &g, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(g.status, CERT_ISSUED);
	assert_int_equal(g.der_len, 5);
	repo_cert_clear(&g);
	commit(f, t);
	assert_int_equal(vv(f, NODE), 1);

	t = begin(f, false);
	assert_int_equal(repo_cert_get(t, "ca-1", &c.serial, &g, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(g.status, CERT_ISSUED);
	assert_memory_equal(g.der, "\x30\x03\x02\x01\x01", 5);
	assert_memory_equal(g.req_hash, req.req_hash, 32);
	repo_cert_clear(&g);
	assert_int_equal(repo_stats(t, NULL, &st, f->why, sizeof(f->why)), 0);
	assert_int_equal(st.certs, 1);
	assert_int_equal(st.pending, 0);
	assert_int_equal(repo_cert_get(t, "ca-2", &c.serial, &g, f->why,
	    sizeof(f->why)), ERR_NOT_FOUND);
	repo_abort(t);
	repo_cert_clear(&c);
	assert_int_equal(verify_problems(f), 0);
}

static void
test_ref_idempotent(void **state)
{
	struct fx *f = *state;
	struct repo_cert req, c, again;
	struct repo_stats st;
	struct repo_txn *t;

	make_req(&req, "ca-1", "same-ref", 1);
	t = begin(f, true);
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), 0);
	/* The same request again, even in the same transaction. */
	assert_int_equal(repo_cert_reserve(t, &req, &again, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(serial_cmp(&again.serial, &c.serial), 0);
	assert_int_equal(again.status, CERT_PENDING);
	repo_cert_clear(&again);
	commit(f, t);
	repo_cert_clear(&c);

	reserve_issue(f, "ca-1", "other-ref", &c);
	repo_cert_clear(&c);
	t = begin(f, true);
	assert_int_equal(repo_cert_issue(t, "ca-1", &(struct serial){ .len = 0 },
	    (const uint8_t *)"x", 1, NULL, f->why, sizeof(f->why)),
	    ERR_BAD_REQUEST);
	make_req(&req, "ca-1", "other-ref", 1);
	assert_int_equal(repo_cert_reserve(t, &req, &again, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(again.status, CERT_ISSUED);
	assert_memory_equal(again.der, "DER of other-ref", 16);
	repo_cert_clear(&again);

	/* Same ref, different request: refused, whatever the issuer. */
	make_req(&req, "ca-2", "other-ref", 2);
	assert_int_equal(repo_cert_reserve(t, &req, &again, f->why,
	    sizeof(f->why)), ERR_CONFLICT);
	assert_non_null(strstr(f->why, "'other-ref'"));
	assert_non_null(strstr(f->why, "another request"));
	assert_null(again.der);
	make_req(&req, "ca-1", "other-ref", 1);
	snprintf(req.profile, sizeof(req.profile), "client");
	assert_int_equal(repo_cert_reserve(t, &req, &again, f->why,
	    sizeof(f->why)), ERR_CONFLICT);
	assert_non_null(strstr(f->why, "profile 'server'"));
	/* A conflict leaves the transaction usable. */
	commit(f, t);
	t = begin(f, false);
	assert_int_equal(repo_stats(t, NULL, &st, f->why, sizeof(f->why)), 0);
	assert_int_equal(st.certs, 2);
	assert_int_equal(st.pending, 1);
	repo_abort(t);
	assert_int_equal(verify_problems(f), 0);
}

static void
test_pending_resume(void **state)
{
	struct fx *f = *state;
	struct repo_cert req, c, again;
	struct repo_txn *t;

	make_req(&req, "ca-1", "crash-ref", 9);
	req.not_before = 1234;
	req.not_after = 5678;
	t = begin(f, true);
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), 0);
	commit(f, t);
	/* signerd dies before the HSM answers; it comes back. */
	reopen(f);
	t = begin(f, false);
	assert_int_equal(repo_ref_find(t, (const uint8_t *)"crash-ref", 9,
	    &again, f->why, sizeof(f->why)), 0);
	assert_int_equal(again.status, CERT_PENDING);
	assert_int_equal(again.not_before, 1234);
	assert_int_equal(again.not_after, 5678);
	assert_int_equal(serial_cmp(&again.serial, &c.serial), 0);
	repo_cert_clear(&again);
	assert_int_equal(repo_ref_find(t, (const uint8_t *)"nope", 4, &again,
	    f->why, sizeof(f->why)), ERR_NOT_FOUND);
	repo_abort(t);
	/* The client retries: the same reservation, signed this time. */
	t = begin(f, true);
	assert_int_equal(repo_cert_reserve(t, &req, &again, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(again.status, CERT_PENDING);
	assert_int_equal(serial_cmp(&again.serial, &c.serial), 0);
	assert_int_equal(repo_cert_issue(t, "ca-1", &again.serial,
	    (const uint8_t *)"der", 3, NULL, f->why, sizeof(f->why)), 0);
	commit(f, t);
	repo_cert_clear(&again);
	repo_cert_clear(&c);
	assert_int_equal(verify_problems(f), 0);
}

static void
test_issue_twice(void **state)
{
	struct fx *f = *state;
	struct repo_cert c;
	struct repo_txn *t;
	struct serial s;

	reserve_issue(f, "ca-1", "twice", &c);
	assert_int_equal(vv(f, NODE), 1);
	t = begin(f, true);
	assert_int_equal(repo_cert_issue(t, "ca-1", &c.serial, c.der,
	    c.der_len, NULL, f->why, sizeof(f->why)), 0);
	assert_int_equal(repo_cert_issue(t, "ca-1", &c.serial,
	    (const uint8_t *)"other", 5, NULL, f->why, sizeof(f->why)),
	    ERR_CONFLICT);
	assert_non_null(strstr(f->why, "already issued"));
	assert_int_equal(serial_from_hex("1234", 4, &s), 0);
	assert_int_equal(repo_cert_issue(t, "ca-1", &s, (const uint8_t *)"x", 1,
	    NULL, f->why, sizeof(f->why)), ERR_NOT_FOUND);
	assert_int_equal(repo_cert_issue(t, "ca-1", &c.serial, c.der, 0, NULL,
	    f->why, sizeof(f->why)), ERR_BAD_REQUEST);
	assert_int_equal(repo_cert_issue(t, "ca-1", &c.serial, c.der,
	    REPO_DER_MAX + 1, NULL, f->why, sizeof(f->why)), ERR_BAD_REQUEST);
	commit(f, t);
	assert_int_equal(vv(f, NODE), 1);       /* no second issue event */
	repo_cert_clear(&c);
}

static void
test_bad_args(void **state)
{
	struct fx *f = *state;
	struct repo_revocation rev;
	struct repo_cert req, c;
	struct repo_txn *t;
	struct serial s;

	t = begin(f, false);
	make_req(&req, "ca-1", "r", 1);
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), ERR_INVAL);
	repo_abort(t);
	t = begin(f, true);
	req.ref_len = 0;
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	req.ref_len = REPO_REF_MAX + 1;
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	make_req(&req, "ca-1", "r", 1);
	snprintf(req.subject, sizeof(req.subject), "CN=\xff");
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	make_req(&req, "", "r", 1);
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	make_req(&req, "ca-1", "r", 1);
	req.not_after = req.not_before - 1;
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	/* The longest ref is fine. */
	make_req(&req, "ca-1", "r", 1);
	memset(req.ref, 0xfe, REPO_REF_MAX);
	req.ref_len = REPO_REF_MAX;
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), 0);
	repo_cert_clear(&c);
	assert_int_equal(serial_from_hex("1", 1, &s), 0);
	make_rev(&rev, "ca-1", &s, "x", 7);
	assert_int_equal(repo_revoke(t, &rev, NULL, f->why, sizeof(f->why)),
	    ERR_BAD_REQUEST);
	make_rev(&rev, "ca-1", &s, "x", 11);
	assert_int_equal(repo_revoke(t, &rev, NULL, f->why, sizeof(f->why)),
	    ERR_BAD_REQUEST);
	rev.reason = 10;
	rev.serial.b[0] = 0;
	assert_int_equal(repo_revoke(t, &rev, NULL, f->why, sizeof(f->why)),
	    ERR_BAD_REQUEST);
	commit(f, t);
	assert_int_equal(verify_problems(f), 0);
}

struct ev_seen {
	uint64_t next;
	int issues, revokes;
};

static int
check_event(uint8_t origin, uint64_t seq, const uint8_t *b, size_t len,
    void *ctx)
{
	struct ev_seen *s = ctx;
	struct repo_event ev;

	if (origin != NODE || seq != s->next)
		return -100;
	if (repo_event_decode(b, len, &ev, NULL, 0) != 0)
		return -101;
	if (ev.origin != origin || ev.seq != seq)
		return -102;
	if (ev.type == REPO_EVENT_ISSUE && ev.cert.der_len > 0)
		s->issues++;
	if (ev.type == REPO_EVENT_REVOKE && ev.rev.origin == NODE)
		s->revokes++;
	repo_event_clear(&ev);
	s->next++;
	return 0;
}

static void
test_events(void **state)
{
	struct fx *f = *state;
	struct repo_revocation rev;
	struct ev_seen seen;
	struct repo_cert c;
	struct repo_txn *t;
	char ref[32];
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(ref, sizeof(ref), "e%d", i);
		reserve_issue(f, "ca-1", ref, &c);
		make_rev(&rev, "ca-1", &c.serial, ref, 1);
		if (i % 2 == 0) {
			t = begin(f, true);
			assert_int_equal(repo_revoke(t, &rev, NULL, f->why,
			    sizeof(f->why)), 0);
			commit(f, t);
		}
		repo_cert_clear(&c);
	}
	assert_int_equal(vv(f, NODE), 8);
	assert_int_equal(vv(f, NODE + 1), 0);
	t = begin(f, false);
	seen = (struct ev_seen){ .next = 1 };
	assert_int_equal(repo_events_foreach(t, NODE, 0, check_event, &seen,
	    f->why, sizeof(f->why)), 0);
	assert_int_equal(seen.next, 9);
	assert_int_equal(seen.issues, 5);
	assert_int_equal(seen.revokes, 3);
	seen = (struct ev_seen){ .next = 3 };
	assert_int_equal(repo_events_foreach(t, NODE, 2, check_event, &seen,
	    f->why, sizeof(f->why)), 0);
	assert_int_equal(seen.next, 9);
	seen = (struct ev_seen){ .next = 1 };
	assert_int_equal(repo_events_foreach(t, NODE + 1, 0, check_event, &seen,
	    f->why, sizeof(f->why)), 0);
	assert_int_equal(seen.next, 1);
	assert_int_equal(repo_events_foreach(t, NODE, UINT64_MAX, check_event,
	    &seen, f->why, sizeof(f->why)), 0);
	repo_abort(t);
}

static void
test_durability(void **state)
{
	struct fx *f = *state;
	struct repo_cert req, c, g;
	struct repo_txn *t;

	reserve_issue(f, "ca-1", "kept", &c);
	make_req(&req, "ca-1", "dropped", 1);
	t = begin(f, true);
	assert_int_equal(repo_cert_reserve(t, &req, &g, f->why,
	    sizeof(f->why)), 0);
	repo_cert_clear(&g);
	repo_abort(t);
	reopen(f);
	t = begin(f, false);
	assert_int_equal(repo_ref_find(t, (const uint8_t *)"kept", 4, &g,
	    f->why, sizeof(f->why)), 0);
	assert_int_equal(g.status, CERT_ISSUED);
	assert_int_equal(g.der_len, c.der_len);
	assert_memory_equal(g.der, c.der, c.der_len);
	repo_cert_clear(&g);
	assert_int_equal(repo_ref_find(t, (const uint8_t *)"dropped", 7, &g,
	    f->why, sizeof(f->why)), ERR_NOT_FOUND);
	repo_abort(t);
	assert_int_equal(vv(f, NODE), 1);
	repo_cert_clear(&c);
	assert_int_equal(verify_problems(f), 0);
}

struct batch {
	int n;
	struct serial serials[50];
};

static int
batch_reserve(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	struct batch *b = ctx;
	struct repo_cert req, c;
	char ref[32];
	int i, rc;

	for (i = 0; i < b->n; i++) {
		snprintf(ref, sizeof(ref), "batch-%d", i);
		make_req(&req, "ca-1", ref, 1);
		if ((rc = repo_cert_reserve(t, &req, &c, why, whylen)) != 0)
			return rc;
		b->serials[i] = c.serial;
		repo_cert_clear(&c);
	}
	return 0;
}

static int
batch_issue(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	struct batch *b = ctx;
	int i, rc;

	for (i = 0; i < b->n; i++)
		if ((rc = repo_cert_issue(t, "ca-1", &b->serials[i],
		    (const uint8_t *)"fake", 4, NULL, why, whylen)) != 0)
			return rc;
	return 0;
}

static int
count_cert(const struct repo_cert *c, void *ctx)
{
	if (c->status != CERT_ISSUED)
		return -1;
	(*(int *)ctx)++;
	return 0;
}

static void
test_batch(void **state)
{
	struct fx *f = *state;
	struct batch b = { .n = 50 };
	struct repo_cert c;
	struct repo_txn *t;
	int n = 0;

	assert_int_equal(repo_update(f->r, batch_reserve, &b, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(repo_update(f->r, batch_issue, &b, f->why,
	    sizeof(f->why)), 0);
	reserve_issue(f, "ca-0", "elsewhere", &c);
	repo_cert_clear(&c);
	t = begin(f, false);
	assert_int_equal(repo_cert_foreach(t, "ca-1", count_cert, &n, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(n, 50);
	n = 0;
	assert_int_equal(repo_cert_foreach(t, NULL, count_cert, &n, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(n, 51);
	repo_abort(t);
	assert_int_equal(vv(f, NODE), 51);
	/* fn's error aborts the whole transaction. */
	assert_int_equal(repo_update(f->r, batch_issue, &(struct batch){ .n = 1 },
	    f->why, sizeof(f->why)), ERR_BAD_REQUEST);
	assert_int_equal(verify_problems(f), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_issue_get, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ref_idempotent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pending_resume, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_issue_twice, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durability, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
