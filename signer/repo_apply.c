/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Repository replication: applying a peer's events in order, with first-revocation-wins and one certificate per ref. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/repo_local.h"

#define APPLY_SUP_REF_LEN (sizeof(REPO_SUPERSEDED_REF) - 1)
#define APPLY_SUP_KEY_LEN (sizeof(REPO_SUPERSEDED_KEY) - 1)
#define APPLY_SUP_KEY_MAX (APPLY_SUP_KEY_LEN + REPO_KEY_MAX)

/* A failure after a write may have left half a change: t must not commit. */
static int
apply_done(struct repo_txn *t, int rc)
{
	if (rc == ERR_REPO || rc == ERR_NOMEM || rc == ERR_INTERNAL)
		return repo_txn_break(t, rc);
	return rc;
}

bool
repo_superseded_ref(const uint8_t *ref, size_t len)
{
	return len > APPLY_SUP_REF_LEN &&
	    memcmp(ref, REPO_SUPERSEDED_REF, APPLY_SUP_REF_LEN) == 0;
}

/* LMDB's key order: within an issuer, the numeric order of serials. */
static int
key_cmp(const struct repo_key *a, const struct repo_key *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->b, b->b, n);

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/*
 * The order that decides which revocation of a serial wins on every node:
 * the earlier, then the one of the lower node, then reason and ref so
 * that two different revocations never tie. Negative when a wins.
 */
static int
rev_order(const struct repo_revocation *a, const struct repo_revocation *b)
{
	size_t n;
	int c;

	if (a->revoked_at != b->revoked_at)
		return a->revoked_at < b->revoked_at ? -1 : 1;
	if (a->origin != b->origin)
		return a->origin < b->origin ? -1 : 1;
	if (a->reason != b->reason)
		return a->reason < b->reason ? -1 : 1;
	n = a->ref_len < b->ref_len ? a->ref_len : b->ref_len;
	if ((c = memcmp(a->ref, b->ref, n)) != 0)
		return c;
	return a->ref_len < b->ref_len ? -1 : a->ref_len > b->ref_len;
}

/* ---- revocations -------------------------------------------------------------- */

static int
rev_store(struct repo_txn *t, const struct repo_revocation *rev,
    const struct repo_key *k, unsigned int flags, char *why, size_t whylen)
{
	uint8_t *val;
	size_t len;
	int rc;

	if ((rc = repo_revocation_encode(rev, &val, &len)) != 0) {
		err_why(why, whylen, "cannot encode a revocation record");
		return rc == ERR_INVAL ? ERR_INTERNAL : rc;
	}
	rc = repo_put(t, REPO_DB_REVOKED, k->b, k->len, val, len, flags, why,
	    whylen);
	free(val);
	return rc;
}

/* Index the revoke ref unless another revocation already holds it. */
static int
rev_ref_index(struct repo_txn *t, const struct repo_revocation *rev,
    const struct repo_key *k, char *why, size_t whylen)
{
	MDB_val v;
	int rc;

	rc = repo_get(t, REPO_DB_REVREFS, rev->ref, rev->ref_len, &v, why,
	    whylen);
	if (rc != ERR_NOT_FOUND)
		return rc;
	return repo_put(t, REPO_DB_REVREFS, rev->ref, rev->ref_len, k->b,
	    k->len, MDB_NOOVERWRITE, why, whylen);
}

/* Drop the revoke ref of a replaced revocation if it leads to k. */
static int
rev_ref_drop(struct repo_txn *t, const struct repo_revocation *old,
    const struct repo_key *k, char *why, size_t whylen)
{
	MDB_val key, v;
	int mrc, rc;

	rc = repo_get(t, REPO_DB_REVREFS, old->ref, old->ref_len, &v, why,
	    whylen);
	if (rc == ERR_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size != k->len || memcmp(v.mv_data, k->b, k->len) != 0)
		return 0;
	key.mv_data = (void *)old->ref;
	key.mv_size = old->ref_len;
	if ((mrc = mdb_del(t->txn, t->repo->dbi[REPO_DB_REVREFS], &key,
	    NULL)) != 0)
		return repo_mdb_fail(t, mrc, "revrefs", why, whylen);
	return 0;
}

/* The certificate of rev, if held, takes its time and reason; *pending if it was reserved only. */
static int
rev_cert_mark(struct repo_txn *t, const struct repo_revocation *rev,
    bool *pending, char *why, size_t whylen)
{
	struct repo_cert c;
	int rc;

	*pending = false;
	rc = repo_cert_load(t, rev->issuer, &rev->serial, &c, why, whylen);
	if (rc == ERR_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	*pending = c.status == CERT_PENDING;
	c.status = CERT_REVOKED;
	c.revoked_at = rev->revoked_at;
	c.reason = rev->reason;
	rc = repo_cert_store(t, &c, 0, why, whylen);
	repo_cert_clear(&c);
	return rc;
}

static int
rev_new(struct repo_txn *t, const struct repo_revocation *rev,
    const struct repo_key *k, char *why, size_t whylen)
{
	uint64_t mark;
	bool pending;
	int rc;

	if ((rc = rev_store(t, rev, k, MDB_NOOVERWRITE, why, whylen)) != 0 ||
	    (rc = rev_ref_index(t, rev, k, why, whylen)) != 0 ||
	    (rc = rev_cert_mark(t, rev, &pending, why, whylen)) != 0 ||
	    (rc = repo_revlog_mark(t, rev->issuer, &mark, why, whylen)) != 0 ||
	    (rc = repo_revlog_append(t, rev->issuer, k, mark + 1, why,
	    whylen)) != 0)
		return rc;
	return repo_stats_add(t, rev->issuer, 0, pending ? -1 : 0, 1, why,
	    whylen);
}

/* rev wins over old: it takes its place, and CRLs made before must list it anew. */
static int
rev_replace(struct repo_txn *t, const struct repo_revocation *old,
    const struct repo_revocation *rev, const struct repo_key *k, char *why,
    size_t whylen)
{
	bool pending;
	int rc;

	if ((rc = rev_store(t, rev, k, 0, why, whylen)) != 0 ||
	    (rc = rev_ref_drop(t, old, k, why, whylen)) != 0 ||
	    (rc = rev_ref_index(t, rev, k, why, whylen)) != 0 ||
	    (rc = rev_cert_mark(t, rev, &pending, why, whylen)) != 0)
		return rc;
	return repo_revlog_move(t, rev->issuer, k, why, whylen);
}

/* Record rev unless a revocation of its serial that wins over it is recorded. */
static int
rev_offer(struct repo_txn *t, const struct repo_revocation *rev, char *why,
    size_t whylen)
{
	struct repo_revocation old;
	struct repo_key k;
	int rc;

	if (repo_key_make(rev->issuer, &rev->serial, &k) != 0)
		return ERR_INTERNAL;
	rc = repo_revocation_load(t, rev->issuer, &rev->serial, &old, why,
	    whylen);
	if (rc == ERR_NOT_FOUND)
		return rev_new(t, rev, &k, why, whylen);
	if (rc != 0)
		return rc == ERR_BAD_REQUEST ? ERR_REPO : rc;
	if (rev_order(rev, &old) < 0)
		return rev_replace(t, &old, rev, &k, why, whylen);
	return 0;
}

/* ---- one certificate per ref --------------------------------------------------- */

/*
 * The revocation of a superseded certificate follows from the certificate
 * alone, so that each node derives the same one in any order: at its
 * creation time, by the node that issued it, under a ref of its own.
 */
static void
superseded_rev(const struct repo_cert *c, const struct repo_key *k,
    struct repo_revocation *rev)
{
	memset(rev, 0, sizeof(*rev));
	memcpy(rev->issuer, c->issuer, sizeof(rev->issuer));
	rev->serial = c->serial;
	rev->revoked_at = c->created;
	rev->reason = CRL_REASON_SUPERSEDED;
	rev->origin = c->serial.b[0];
	memcpy(rev->ref, REPO_SUPERSEDED_REF, APPLY_SUP_REF_LEN);
	memcpy(rev->ref + APPLY_SUP_REF_LEN, k->b, k->len);
	rev->ref_len = APPLY_SUP_REF_LEN + k->len;
}

/* Note that the certificate of key loser lost its ref to winner, and revoke it. */
static int
supersede(struct repo_txn *t, const struct repo_key *loser,
    const struct repo_key *winner, char *why, size_t whylen)
{
	uint8_t key[APPLY_SUP_KEY_MAX];
	struct repo_revocation rev;
	char issuer[REPO_ID_MAX + 1];
	struct repo_cert c;
	struct serial s;
	int rc;

	if (repo_key_parse(loser->b, loser->len, issuer, &s) != 0)
		return ERR_INTERNAL;
	if ((rc = repo_cert_load(t, issuer, &s, &c, why, whylen)) != 0)
		return rc == ERR_NOT_FOUND ? ERR_REPO : rc;
	superseded_rev(&c, loser, &rev);
	repo_cert_clear(&c);
	if (rev.origin < 1 || rev.origin > REPO_NODE_MAX) {
		err_why(why, whylen, "superseded serial of '%s' names no node",
		    issuer);
		return ERR_REPO;
	}
	memcpy(key, REPO_SUPERSEDED_KEY, APPLY_SUP_KEY_LEN);
	memcpy(key + APPLY_SUP_KEY_LEN, loser->b, loser->len);
	if ((rc = repo_put(t, REPO_DB_META, key, APPLY_SUP_KEY_LEN + loser->len,
	    winner->b, winner->len, 0, why, whylen)) != 0)
		return rc;
	return rev_offer(t, &rev, why, whylen);
}

/*
 * Index the ref of c (key k). When it already leads to another
 * certificate, the ref was issued on two nodes: the lower serial keeps it
 * and the higher one is superseded.
 */
static int
issue_ref(struct repo_txn *t, const struct repo_cert *c,
    const struct repo_key *k, char *why, size_t whylen)
{
	struct repo_key held;
	MDB_val v;
	int rc;

	rc = repo_get(t, REPO_DB_REFS, c->ref, c->ref_len, &v, why, whylen);
	if (rc == ERR_NOT_FOUND)
		return repo_put(t, REPO_DB_REFS, c->ref, c->ref_len, k->b,
		    k->len, MDB_NOOVERWRITE, why, whylen);
	if (rc != 0)
		return rc;
	if (v.mv_size < 1 || v.mv_size > REPO_KEY_MAX) {
		err_why(why, whylen, "ref index: an entry of %zu bytes",
		    v.mv_size);
		return ERR_REPO;
	}
	memcpy(held.b, v.mv_data, v.mv_size);
	held.len = v.mv_size;
	if ((rc = key_cmp(k, &held)) == 0)
		return 0;
	if (rc > 0)
		return supersede(t, k, &held, why, whylen);
	if ((rc = repo_put(t, REPO_DB_REFS, c->ref, c->ref_len, k->b, k->len,
	    0, why, whylen)) != 0)
		return rc;
	return supersede(t, &held, k, why, whylen);
}

/* ---- events ------------------------------------------------------------------- */

/* Refusals come before any write. 1: the certificate is held already with this DER. */
static int
issue_check(struct repo_txn *t, uint8_t origin, const struct repo_cert *c,
    char *why, size_t whylen)
{
	char hex[SERIAL_HEX_MAX];
	struct repo_cert held;
	int rc;

	serial_to_hex(&c->serial, hex);
	if (c->serial.b[0] != origin) {
		err_why(why, whylen, "serial %s of issuer '%s' does not carry "
		    "the prefix of node %u that issued it", hex, c->issuer,
		    origin);
		return ERR_BAD_REQUEST;
	}
	if (c->not_after < c->not_before) {
		err_why(why, whylen, "serial %s of issuer '%s': not_after is "
		    "before not_before", hex, c->issuer);
		return ERR_BAD_REQUEST;
	}
	rc = repo_cert_load(t, c->issuer, &c->serial, &held, why, whylen);
	if (rc == ERR_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (held.der_len == c->der_len && memcmp(held.der, c->der,
	    c->der_len) == 0)
		rc = 1;
	else {
		err_why(why, whylen, "serial %s of issuer '%s' is held with "
		    "other DER", hex, c->issuer);
		rc = ERR_CONFLICT;
	}
	repo_cert_clear(&held);
	return rc;
}

static int
apply_issue(struct repo_txn *t, uint8_t origin, struct repo_cert *c,
    char *why, size_t whylen)
{
	struct repo_revocation rev;
	struct repo_key k;
	int rc;

	if ((rc = issue_check(t, origin, c, why, whylen)) != 0)
		return rc == 1 ? 0 : rc;
	if (repo_key_make(c->issuer, &c->serial, &k) != 0)
		return ERR_INTERNAL;
	rc = repo_revocation_load(t, c->issuer, &c->serial, &rev, why, whylen);
	if (rc != 0 && rc != ERR_NOT_FOUND)
		return rc;
	c->status = rc == 0 ? CERT_REVOKED : CERT_ISSUED;
	c->revoked_at = rc == 0 ? rev.revoked_at : 0;
	c->reason = rc == 0 ? rev.reason : CRL_REASON_NONE;
	if ((rc = repo_cert_store(t, c, MDB_NOOVERWRITE, why, whylen)) != 0 ||
	    (rc = repo_stats_add(t, c->issuer, 1, 0, 0, why, whylen)) != 0)
		return rc;
	return issue_ref(t, c, &k, why, whylen);
}

static int
apply_revoke(struct repo_txn *t, const struct repo_revocation *rev,
    char *why, size_t whylen)
{
	if (repo_superseded_ref(rev->ref, rev->ref_len)) {
		err_why(why, whylen, "a revoke event uses the ref of a "
		    "superseded certificate");
		return ERR_BAD_REQUEST;
	}
	return rev_offer(t, rev, why, whylen);
}

/* 0: ev is the next of its origin; REPO_APPLY_KNOWN: applied before; else refused. */
static int
apply_order(struct repo_txn *t, const struct repo_event *ev,
    const uint8_t *event, size_t len, char *why, size_t whylen)
{
	uint8_t key[REPO_EVENT_KEY_LEN];
	uint64_t have;
	MDB_val v;
	int rc;

	if ((rc = repo_vv_get(t, ev->origin, &have, why, whylen)) != 0)
		return rc;
	if (ev->seq == have + 1)
		return 0;
	if (ev->seq > have) {
		err_why(why, whylen, "event %u/%llu is out of order: events of "
		    "node %u are applied up to %llu", ev->origin,
		    (unsigned long long)ev->seq, ev->origin,
		    (unsigned long long)have);
		return ERR_CONFLICT;
	}
	key[0] = ev->origin;
	repo_put_be64(key + 1, ev->seq);
	if ((rc = repo_get(t, REPO_DB_EVENTS, key, sizeof(key), &v, why,
	    whylen)) != 0)
		return rc == ERR_NOT_FOUND ? ERR_REPO : rc;
	if (v.mv_size == len && memcmp(v.mv_data, event, len) == 0)
		return REPO_APPLY_KNOWN;
	err_why(why, whylen, "event %u/%llu differs from the one applied "
	    "before: the log of node %u forked", ev->origin,
	    (unsigned long long)ev->seq, ev->origin);
	return ERR_CONFLICT;
}

static int
apply_event(struct repo_txn *t, struct repo_event *ev, char *why,
    size_t whylen)
{
	switch (ev->type) {
	case REPO_EVENT_ISSUE:
		return apply_issue(t, ev->origin, &ev->cert, why, whylen);
	case REPO_EVENT_REVOKE:
		return apply_revoke(t, &ev->rev, why, whylen);
	case REPO_EVENT_CRL:
		return repo_crl_seen(t, ev->crl.issuer, ev->crl.number, why,
		    whylen);
	}
	return ERR_INTERNAL;
}

int
repo_event_apply(struct repo_txn *t, uint8_t origin, const uint8_t *event,
    size_t len, char *why, size_t whylen)
{
	return repo_event_apply_at(t, origin, 0, event, len, why, whylen);
}

int
repo_event_apply_at(struct repo_txn *t, uint8_t origin, uint64_t seq,
    const uint8_t *event, size_t len, char *why, size_t whylen)
{
	char msg[REPO_WHY_MAX] = "";
	struct repo_event ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	if ((rc = repo_txn_writable(t, why, whylen)) != 0)
		return rc;
	if (origin < 1 || origin > REPO_NODE_MAX) {
		err_why(why, whylen, "node %u is not a node id", origin);
		return ERR_INVAL;
	}
	if (origin == t->repo->node) {
		err_why(why, whylen, "events of node %u are this node's own",
		    origin);
		return ERR_BAD_REQUEST;
	}
	if (repo_event_decode(event, len, &ev, msg, sizeof(msg)) != 0) {
		err_why(why, whylen, "from node %u: %s", origin, msg);
		return ERR_BAD_REQUEST;
	}
	if (ev.origin != origin) {
		err_why(why, whylen, "event %u/%llu came in the events of node "
		    "%u", ev.origin, (unsigned long long)ev.seq, origin);
		rc = ERR_BAD_REQUEST;
	} else if (seq != 0 && ev.seq != seq) {
		err_why(why, whylen, "event %u/%llu came in place of %u/%llu",
		    ev.origin, (unsigned long long)ev.seq, origin,
		    (unsigned long long)seq);
		rc = ERR_BAD_REQUEST;
	} else if ((rc = apply_order(t, &ev, event, len, why, whylen)) == 0 &&
	    (rc = apply_event(t, &ev, msg, sizeof(msg))) == 0)
		rc = repo_event_put_raw(t, origin, ev.seq, event, len, why,
		    whylen);
	else if (rc < 0 && msg[0] != '\0')
		err_why(why, whylen, "event %u/%llu: %s", ev.origin,
		    (unsigned long long)ev.seq, msg);
	repo_event_clear(&ev);
	return apply_done(t, rc);
}

/* ---- superseded certificates ---------------------------------------------------- */

struct sup_ctx {
	int (*cb)(const char *issuer, const struct serial *superseded,
	    const struct serial *kept, void *ctx);
	void *ctx;
};

static int
sup_visit(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen)
{
	struct sup_ctx *a = arg;
	char issuer[REPO_ID_MAX + 1], kissuer[REPO_ID_MAX + 1];
	struct serial lost, kept;

	if (repo_key_parse((const uint8_t *)k->mv_data + APPLY_SUP_KEY_LEN,
	    k->mv_size - APPLY_SUP_KEY_LEN, issuer, &lost) != 0 ||
	    repo_key_parse(v->mv_data, v->mv_size, kissuer, &kept) != 0) {
		err_why(why, whylen, "meta: an unreadable superseded entry");
		return ERR_REPO;
	}
	return a->cb != NULL ? a->cb(issuer, &lost, &kept, a->ctx) : 0;
}

int
repo_superseded_foreach(struct repo_txn *t,
    int (*cb)(const char *issuer, const struct serial *superseded,
    const struct serial *kept, void *ctx), void *ctx, char *why,
    size_t whylen)
{
	struct sup_ctx a = { cb, ctx };

	if (t == NULL)
		return ERR_INVAL;
	return repo_scan(t, REPO_DB_META, (const uint8_t *)REPO_SUPERSEDED_KEY,
	    APPLY_SUP_KEY_LEN, sup_visit, &a, why, whylen);
}

static int
sup_count(const char *issuer, const struct serial *superseded,
    const struct serial *kept, void *ctx)
{
	(void)issuer;
	(void)superseded;
	(void)kept;
	(*(uint64_t *)ctx)++;
	return 0;
}

int
repo_superseded_count(struct repo_txn *t, uint64_t *n, char *why,
    size_t whylen)
{
	*n = 0;
	return repo_superseded_foreach(t, sup_count, n, why, whylen);
}
