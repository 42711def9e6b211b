/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Repository CRLs: the revocation log that delta CRLs read, CRL entries in serial order, CRL records and their numbers. */

#include <stdlib.h>
#include <string.h>

#include "signer/repo_local.h"

#define REPO_DELTA_MAX (16u * 1024 * 1024) /* most entries of one delta CRL */
#define REPO_CRL_PRUNE_MAX 4096            /* most CRL records pruned in one put */

/* ---- the revocation log ------------------------------------------------------ */

/* issuer prefix || u64 BE v: the keys of revlog, and of crls after the kind byte. */
static int
mark_key(const char *issuer, int kind, uint64_t v, struct repo_key *k)
{
	if (repo_key_issuer(issuer, k) != 0)
		return ERR_INVAL;
	if (kind >= 0)
		k->b[k->len++] = (uint8_t)kind;
	repo_put_be64(k->b + k->len, v);
	k->len += REPO_MARK_LEN;
	return 0;
}

/* The mark of the last revlog entry, the first one met scanning back. */
static int
mark_last(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen)
{
	(void)v;
	(void)why;
	(void)whylen;
	if (k->mv_size < REPO_MARK_LEN)
		return ERR_REPO;
	*(uint64_t *)arg = repo_get_be64((const uint8_t *)k->mv_data +
	    k->mv_size - REPO_MARK_LEN);
	return 1;
}

/*
 * The mark is the highest in the issuer's log, not the number of entries:
 * a replaced revocation moves to a new mark and leaves a gap behind.
 */
int
repo_revlog_mark(struct repo_txn *t, const char *issuer, uint64_t *mark,
    char *why, size_t whylen)
{
	struct repo_key last, prefix;
	int rc;

	*mark = 0;
	if (mark_key(issuer, -1, UINT64_MAX, &last) != 0) {
		err_why(why, whylen, "invalid issuer id");
		return ERR_BAD_REQUEST;
	}
	prefix = last;
	prefix.len -= REPO_MARK_LEN;
	rc = repo_scan_back(t, REPO_DB_REVLOG, prefix.b, prefix.len, last.b,
	    last.len, mark_last, mark, why, whylen);
	if (rc == ERR_REPO)
		err_why(why, whylen, "revocation log of '%s': a short key",
		    issuer);
	return rc < 0 ? rc : 0;
}

int
repo_revlog_append(struct repo_txn *t, const char *issuer,
    const struct repo_key *k, uint64_t mark, char *why, size_t whylen)
{
	struct repo_key lk;

	if (mark_key(issuer, -1, mark, &lk) != 0)
		return ERR_INTERNAL;
	return repo_put(t, REPO_DB_REVLOG, lk.b, lk.len, k->b, k->len,
	    MDB_NOOVERWRITE, why, whylen);
}

/* Finds the revlog key whose value is the cert key wanted. */
struct revlog_find {
	const struct repo_key *want;
	struct repo_key found;
};

static int
revlog_find(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen)
{
	struct revlog_find *a = arg;

	(void)why;
	(void)whylen;
	if (v->mv_size != a->want->len ||
	    memcmp(v->mv_data, a->want->b, v->mv_size) != 0 ||
	    k->mv_size > sizeof(a->found.b))
		return 0;
	memcpy(a->found.b, k->mv_data, k->mv_size);
	a->found.len = k->mv_size;
	return 1;
}

int
repo_revlog_move(struct repo_txn *t, const char *issuer,
    const struct repo_key *k, char *why, size_t whylen)
{
	struct revlog_find a = { k, { { 0 }, 0 } };
	struct repo_key last, prefix;
	uint64_t mark;
	MDB_val key;
	int mrc, rc;

	if (mark_key(issuer, -1, UINT64_MAX, &last) != 0)
		return ERR_INTERNAL;
	prefix = last;
	prefix.len -= REPO_MARK_LEN;
	/* Replaced revocations are recent ones: look from the end. */
	if ((rc = repo_revlog_mark(t, issuer, &mark, why, whylen)) != 0 ||
	    (rc = repo_scan_back(t, REPO_DB_REVLOG, prefix.b, prefix.len,
	    last.b, last.len, revlog_find, &a, why, whylen)) < 0)
		return rc;
	if (rc == 0) {
		err_why(why, whylen, "revocation log of '%s' misses a "
		    "revocation being replaced", issuer);
		return repo_txn_break(t, ERR_REPO);
	}
	key.mv_data = a.found.b;
	key.mv_size = a.found.len;
	if ((mrc = mdb_del(t->txn, t->repo->dbi[REPO_DB_REVLOG], &key,
	    NULL)) != 0)
		return repo_mdb_fail(t, mrc, "revlog", why, whylen);
	return repo_revlog_append(t, issuer, k, mark + 1, why, whylen);
}

/* ---- CRL entries ----------------------------------------------------------- */

struct entries_ctx {
	struct repo_txn *t;
	int (*cb)(const struct repo_crl_entry *e, void *ctx);
	void *ctx;
};

/* The entry of the revocation stored under cert key k. */
static int
entry_make(struct repo_txn *t, const MDB_val *k, const MDB_val *v,
    struct repo_crl_entry *e, char *why, size_t whylen)
{
	struct repo_revocation rev;
	char name[REPO_WHY_MAX];
	MDB_val cv;
	int rc;

	if ((rc = repo_revocation_read(k, v, &rev, why, whylen)) != 0)
		return rc;
	e->serial = rev.serial;
	e->revoked_at = rev.revoked_at;
	e->reason = rev.reason;
	e->not_after = 0;
	rc = repo_get(t, REPO_DB_CERTS, k->mv_data, k->mv_size, &cv, why,
	    whylen);
	if (rc == ERR_NOT_FOUND)
		return 0;
	if (rc == 0 && repo_cert_peek_not_after(cv.mv_data, cv.mv_size,
	    &e->not_after) != 0) {
		repo_key_text(k->mv_data, k->mv_size, name, sizeof(name));
		err_why(why, whylen, "certificate of %s: unreadable record",
		    name);
		rc = ERR_REPO;
	}
	return rc;
}

static int
entries_all(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen)
{
	struct entries_ctx *a = arg;
	struct repo_crl_entry e;
	int rc;

	if ((rc = entry_make(a->t, k, v, &e, why, whylen)) != 0)
		return rc;
	return a->cb(&e, a->ctx);
}

/* The keys of a delta, gathered from the revocation log. */
struct delta_keys {
	struct repo_key *k;
	size_t n, cap;
};

static int
delta_gather(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen)
{
	struct delta_keys *d = arg;
	struct repo_key *p;
	size_t cap;

	(void)k;
	if (v->mv_size < 1 || v->mv_size > REPO_KEY_MAX) {
		err_why(why, whylen, "revocation log: entry of %zu bytes",
		    v->mv_size);
		return ERR_REPO;
	}
	if (d->n == d->cap) {
		if (d->cap >= REPO_DELTA_MAX) {
			err_why(why, whylen, "a delta CRL of more than %u "
			    "entries", REPO_DELTA_MAX);
			return ERR_REPO;
		}
		cap = d->cap == 0 ? 64 : d->cap * 2;
		if ((p = realloc(d->k, cap * sizeof(*p))) == NULL)
			return ERR_NOMEM;
		d->k = p;
		d->cap = cap;
	}
	memcpy(d->k[d->n].b, v->mv_data, v->mv_size);
	d->k[d->n++].len = v->mv_size;
	return 0;
}

/* LMDB's default key order: bytes, then the shorter first. */
static int
key_cmp(const void *a, const void *b)
{
	const struct repo_key *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->b, y->b, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int
entries_delta(struct entries_ctx *a, const char *issuer, uint64_t after,
    char *why, size_t whylen)
{
	struct delta_keys d = { NULL, 0, 0 };
	struct repo_crl_entry e;
	struct repo_key start, prefix;
	MDB_val k, v;
	size_t i;
	int rc;

	if (mark_key(issuer, -1, after + 1, &start) != 0 ||
	    repo_key_issuer(issuer, &prefix) != 0)
		return ERR_BAD_REQUEST;
	rc = repo_scan_from(a->t, REPO_DB_REVLOG, prefix.b, prefix.len,
	    start.b, start.len, delta_gather, &d, why, whylen);
	if (rc == 0 && d.n > 1)
		qsort(d.k, d.n, sizeof(*d.k), key_cmp);
	for (i = 0; rc == 0 && i < d.n; i++) {
		k.mv_data = d.k[i].b;
		k.mv_size = d.k[i].len;
		rc = repo_get(a->t, REPO_DB_REVOKED, k.mv_data, k.mv_size, &v,
		    why, whylen);
		if (rc == ERR_NOT_FOUND) {
			err_why(why, whylen, "revocation log names a "
			    "revocation that is not recorded");
			rc = ERR_REPO;
		}
		if (rc == 0 && (rc = entry_make(a->t, &k, &v, &e, why,
		    whylen)) == 0)
			rc = a->cb(&e, a->ctx);
	}
	free(d.k);
	return rc;
}

int
repo_crl_entries(struct repo_txn *t, const char *issuer, uint64_t after_mark,
    int (*cb)(const struct repo_crl_entry *e, void *ctx), void *ctx,
    char *why, size_t whylen)
{
	struct entries_ctx a = { t, cb, ctx };
	struct repo_key prefix;

	if (t == NULL || cb == NULL)
		return ERR_INVAL;
	if (repo_key_issuer(issuer, &prefix) != 0) {
		err_why(why, whylen, "invalid issuer id");
		return ERR_BAD_REQUEST;
	}
	if (after_mark > 0)
		return entries_delta(&a, issuer, after_mark, why, whylen);
	return repo_scan(t, REPO_DB_REVOKED, prefix.b, prefix.len,
	    entries_all, &a, why, whylen);
}

/* ---- CRL numbers -------------------------------------------------------------- */

static int
crlmax_key(const char *issuer, uint8_t *key, size_t *klen)
{
	size_t p = sizeof(REPO_CRLMAX_KEY) - 1, n;

	if (!repo_id_valid(issuer))
		return ERR_BAD_REQUEST;
	n = strlen(issuer);
	memcpy(key, REPO_CRLMAX_KEY, p);
	memcpy(key + p, issuer, n);
	*klen = p + n;
	return 0;
}

int
repo_crl_number_max(struct repo_txn *t, const char *issuer, uint64_t *number,
    char *why, size_t whylen)
{
	uint8_t key[sizeof(REPO_CRLMAX_KEY) + REPO_ID_MAX];
	size_t klen;
	MDB_val v;
	int rc;

	*number = 0;
	if (t == NULL || crlmax_key(issuer, key, &klen) != 0)
		return ERR_INVAL;
	rc = repo_get(t, REPO_DB_META, key, klen, &v, why, whylen);
	if (rc == ERR_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size != REPO_MARK_LEN) {
		err_why(why, whylen, "highest CRL number of '%s' is %zu bytes",
		    issuer, v.mv_size);
		return ERR_REPO;
	}
	*number = repo_get_be64(v.mv_data);
	return 0;
}

int
repo_crl_seen(struct repo_txn *t, const char *issuer, uint64_t number,
    char *why, size_t whylen)
{
	uint8_t key[sizeof(REPO_CRLMAX_KEY) + REPO_ID_MAX], val[REPO_MARK_LEN];
	uint64_t max;
	size_t klen = 0;
	int rc;

	if ((rc = repo_crl_number_max(t, issuer, &max, why, whylen)) != 0)
		return rc;
	if (number <= max)
		return 0;
	if (crlmax_key(issuer, key, &klen) != 0)
		return ERR_INVAL;
	repo_put_be64(val, number);
	return repo_put(t, REPO_DB_META, key, klen, val, sizeof(val), 0, why,
	    whylen);
}

/* ---- CRL records ---------------------------------------------------------------- */

/* The CRL record under key k, checked against it. */
static int
crl_load(const MDB_val *k, const MDB_val *v, struct repo_crl *out, char *why,
    size_t whylen)
{
	struct repo_key want;
	char msg[REPO_WHY_MAX];

	if (repo_crl_decode(v->mv_data, v->mv_size, out, msg,
	    sizeof(msg)) != 0) {
		err_why(why, whylen, "%s", msg);
		return ERR_REPO;
	}
	if (mark_key(out->issuer, out->delta_base > 0 ? REPO_CRL_DELTA :
	    REPO_CRL_COMPLETE, out->number, &want) != 0 ||
	    want.len != k->mv_size || memcmp(want.b, k->mv_data, want.len) != 0) {
		err_why(why, whylen, "CRL %llu of '%s' is stored under "
		    "another key", (unsigned long long)out->number, out->issuer);
		memset(out, 0, sizeof(*out));
		return ERR_REPO;
	}
	return 0;
}

/* Visit the CRL records of one kind of issuer, newest first. */
static int
crl_scan_back(struct repo_txn *t, const char *issuer, int kind,
    int (*fn)(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen), void *arg, char *why, size_t whylen)
{
	struct repo_key last, prefix;

	if (mark_key(issuer, kind, UINT64_MAX, &last) != 0)
		return ERR_BAD_REQUEST;
	prefix = last;
	prefix.len -= REPO_MARK_LEN;
	return repo_scan_back(t, REPO_DB_CRLS, prefix.b, prefix.len, last.b,
	    last.len, fn, arg, why, whylen);
}

struct latest_ctx {
	uint64_t delta_base;    /* the delta wanted; 0: the first record */
	struct repo_crl *out;
	bool found;
};

static int
latest_pick(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen)
{
	struct latest_ctx *a = arg;
	int rc;

	if ((rc = crl_load(k, v, a->out, why, whylen)) != 0)
		return rc;
	if (a->out->delta_base != a->delta_base)
		return 0;
	a->found = true;
	return 1;
}

int
repo_crl_latest(struct repo_txn *t, const char *issuer, uint64_t delta_base,
    struct repo_crl *out, char *why, size_t whylen)
{
	struct latest_ctx a = { delta_base, out, false };
	int rc;

	memset(out, 0, sizeof(*out));
	if (t == NULL)
		return ERR_INVAL;
	rc = crl_scan_back(t, issuer, delta_base > 0 ? REPO_CRL_DELTA :
	    REPO_CRL_COMPLETE, latest_pick, &a, why, whylen);
	if (rc < 0)
		return rc;
	if (!a.found) {
		memset(out, 0, sizeof(*out));
		err_why(why, whylen, "no %s CRL of '%s'", delta_base > 0 ?
		    "delta" : "complete", issuer);
		return ERR_NOT_FOUND;
	}
	return 0;
}

int
repo_crl_base(struct repo_txn *t, const char *issuer, uint64_t number,
    struct repo_crl *out, char *why, size_t whylen)
{
	struct repo_key k;
	MDB_val key, v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t == NULL)
		return ERR_INVAL;
	if (mark_key(issuer, REPO_CRL_COMPLETE, number, &k) != 0)
		return ERR_BAD_REQUEST;
	rc = repo_get(t, REPO_DB_CRLS, k.b, k.len, &v, why, whylen);
	if (rc == ERR_NOT_FOUND)
		err_why(why, whylen, "CRL %llu of '%s' is not held as a delta "
		    "base", (unsigned long long)number, issuer);
	if (rc != 0)
		return rc;
	key.mv_data = k.b;
	key.mv_size = k.len;
	return crl_load(&key, &v, out, why, whylen);
}

/* ---- recording and pruning ----------------------------------------------------- */

/* Records to drop or to strip of their DER, found while scanning. */
struct prune_ctx {
	struct repo_txn *t;
	const struct repo_crl *now;     /* the CRL being recorded */
	struct repo_key del[REPO_CRL_PRUNE_MAX];
	size_t n_del;
	struct repo_key strip[REPO_CRL_PRUNE_MAX];
	size_t n_strip;
};

static void
prune_note(struct repo_key *list, size_t *n, const MDB_val *k)
{
	if (*n >= REPO_CRL_PRUNE_MAX || k->mv_size > REPO_KEY_MAX)
		return;         /* the rest goes with a later CRL */
	memcpy(list[*n].b, k->mv_data, k->mv_size);
	list[(*n)++].len = k->mv_size;
}

/* Complete CRLs: past their nextUpdate they go; older ones lose their DER. */
static int
prune_complete(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen)
{
	struct prune_ctx *a = arg;
	struct repo_crl c;
	int rc;

	if ((rc = crl_load(k, v, &c, why, whylen)) != 0)
		return rc;
	if (c.next_update <= a->now->this_update)
		prune_note(a->del, &a->n_del, k);
	else if (c.der != NULL)
		prune_note(a->strip, &a->n_strip, k);
	return 0;
}

/*
 * Deltas: a new delta supersedes the older ones of its base; a new complete
 * CRL ends the deltas whose base is no longer held.
 */
static int
prune_delta(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen)
{
	struct prune_ctx *a = arg;
	struct repo_crl c, base;
	int rc;

	if ((rc = crl_load(k, v, &c, why, whylen)) != 0)
		return rc;
	if (a->now->delta_base > 0) {
		if (c.delta_base == a->now->delta_base)
			prune_note(a->del, &a->n_del, k);
		return 0;
	}
	rc = repo_crl_base(a->t, c.issuer, c.delta_base, &base, NULL, 0);
	if (rc == ERR_NOT_FOUND ||
	    (rc == 0 && base.next_update <= a->now->this_update))
		prune_note(a->del, &a->n_del, k);
	else if (rc != 0) {
		err_why(why, whylen, "the base of delta CRL %llu of '%s' is "
		    "unreadable", (unsigned long long)c.number, c.issuer);
		return rc;
	}
	return 0;
}

static int
prune_apply(struct repo_txn *t, struct prune_ctx *a, char *why, size_t whylen)
{
	struct repo_crl c;
	uint8_t *val;
	size_t i, len;
	MDB_val k, v;
	int mrc, rc;

	for (i = 0; i < a->n_del; i++) {
		k.mv_data = a->del[i].b;
		k.mv_size = a->del[i].len;
		mrc = mdb_del(t->txn, t->repo->dbi[REPO_DB_CRLS], &k, NULL);
		if (mrc != 0 && mrc != MDB_NOTFOUND)
			return repo_mdb_fail(t, mrc, "crls", why, whylen);
	}
	for (i = 0; i < a->n_strip; i++) {
		rc = repo_get(t, REPO_DB_CRLS, a->strip[i].b, a->strip[i].len,
		    &v, why, whylen);
		k.mv_data = a->strip[i].b;
		k.mv_size = a->strip[i].len;
		if (rc != 0 || (rc = crl_load(&k, &v, &c, why, whylen)) != 0)
			return rc;
		c.der = NULL;
		c.der_len = 0;
		if ((rc = repo_crl_encode(&c, &val, &len)) != 0)
			return rc == ERR_INVAL ? ERR_INTERNAL : rc;
		rc = repo_put(t, REPO_DB_CRLS, k.mv_data, k.mv_size, val, len,
		    0, why, whylen);
		free(val);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
crl_prune(struct repo_txn *t, const struct repo_crl *c, char *why,
    size_t whylen)
{
	struct prune_ctx *a;
	int rc = 0;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return ERR_NOMEM;
	a->t = t;
	a->now = c;
	if (c->delta_base == 0)
		rc = crl_scan_back(t, c->issuer, REPO_CRL_COMPLETE,
		    prune_complete, a, why, whylen);
	if (rc == 0)
		rc = crl_scan_back(t, c->issuer, REPO_CRL_DELTA, prune_delta,
		    a, why, whylen);
	if (rc == 0)
		rc = prune_apply(t, a, why, whylen);
	free(a);
	return rc;
}

static int
crl_check_new(struct repo_txn *t, const struct repo_crl *c, char *why,
    size_t whylen)
{
	struct repo_crl base;
	uint64_t max;
	int rc;

	if ((rc = repo_crl_number_max(t, c->issuer, &max, why, whylen)) != 0)
		return rc;
	if (c->number <= max) {
		err_why(why, whylen, "CRL number %llu of '%s' is not above "
		    "%llu, the highest made or seen", (unsigned long long)
		    c->number, c->issuer, (unsigned long long)max);
		return ERR_CONFLICT;
	}
	if (c->delta_base == 0)
		return 0;
	return repo_crl_base(t, c->issuer, c->delta_base, &base, why, whylen);
}

int
repo_crl_put(struct repo_txn *t, const struct repo_crl *c, char *why,
    size_t whylen)
{
	struct repo_event ev;
	struct repo_key k;
	uint8_t *val;
	size_t len;
	int rc;

	if (c == NULL)
		return ERR_INVAL;
	if ((rc = repo_txn_writable(t, why, whylen)) != 0)
		return rc;
	if ((rc = repo_crl_encode(c, &val, &len)) != 0) {
		err_why(why, whylen, "CRL record: a field is out of range");
		return rc == ERR_INVAL ? ERR_BAD_REQUEST : rc;
	}
	(void)mark_key(c->issuer, c->delta_base > 0 ? REPO_CRL_DELTA :
	    REPO_CRL_COMPLETE, c->number, &k);
	if ((rc = crl_check_new(t, c, why, whylen)) != 0 ||
	    (rc = crl_prune(t, c, why, whylen)) != 0 ||
	    (rc = repo_put(t, REPO_DB_CRLS, k.b, k.len, val, len,
	    MDB_NOOVERWRITE, why, whylen)) != 0 ||
	    (rc = repo_crl_seen(t, c->issuer, c->number, why, whylen)) != 0) {
		free(val);
		return rc == ERR_REPO || rc == ERR_NOMEM || rc == ERR_INTERNAL ?
		    repo_txn_break(t, rc) : rc;
	}
	free(val);
	memset(&ev, 0, sizeof(ev));
	ev.type = REPO_EVENT_CRL;
	ev.crl = *c;
	ev.crl.der = NULL;
	ev.crl.der_len = 0;
	ev.crl.rev_mark = 0;
	ev.crl.entries = 0;
	return repo_event_append(t, &ev, why, whylen);
}
