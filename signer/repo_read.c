/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Repository reads: records by key or ref, iteration in key order, and the per-issuer counters. */

#include <stdio.h>
#include <string.h>

#include "signer/repo_local.h"

struct repo_scan_cb {
	int (*cert)(const struct repo_cert *cert, void *ctx);
	int (*rev)(const struct repo_revocation *rev, void *ctx);
	int (*stats)(const char *issuer, const struct repo_stats *st, void *ctx);
	void *ctx;
	struct repo_stats sum;
};

void
repo_key_text(const void *key, size_t len, char *out, size_t outlen)
{
	char issuer[REPO_ID_MAX + 1], hex[SERIAL_HEX_MAX];
	struct serial s;

	if (repo_key_parse(key, len, issuer, &s) != 0) {
		snprintf(out, outlen, "an unreadable key of %zu bytes", len);
		return;
	}
	serial_to_hex(&s, hex);
	snprintf(out, outlen, "serial %s of issuer '%s'", hex, issuer);
}

/* Does the record naming (issuer, s) belong under key k? */
static bool
repo_key_matches(const MDB_val *k, const char *issuer, const struct serial *s)
{
	struct repo_key want;

	return repo_key_make(issuer, s, &want) == 0 && want.len == k->mv_size &&
	    memcmp(want.b, k->mv_data, want.len) == 0;
}

int
repo_cert_load(struct repo_txn *t, const char *issuer,
    const struct serial *serial, struct repo_cert *out, char *why,
    size_t whylen)
{
	char msg[REPO_WHY_MAX], name[REPO_WHY_MAX];
	struct repo_key k;
	MDB_val v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t == NULL || repo_key_make(issuer, serial, &k) != 0) {
		err_why(why, whylen, "invalid issuer id or serial");
		return ERR_BAD_REQUEST;
	}
	repo_key_text(k.b, k.len, name, sizeof(name));
	if ((rc = repo_get(t, REPO_DB_CERTS, k.b, k.len, &v, why,
	    whylen)) != 0) {
		if (rc == ERR_NOT_FOUND)
			err_why(why, whylen, "no certificate with %s", name);
		return rc;
	}
	if ((rc = repo_cert_decode(v.mv_data, v.mv_size, out, msg,
	    sizeof(msg))) != 0) {
		err_why(why, whylen, "%s: %s", name, msg);
		return rc;
	}
	if (!repo_key_matches(&(MDB_val){ .mv_size = k.len, .mv_data = k.b },
	    out->issuer, &out->serial)) {
		repo_cert_clear(out);
		err_why(why, whylen, "%s: the record names another "
		    "certificate", name);
		return ERR_REPO;
	}
	return 0;
}

int
repo_revocation_load(struct repo_txn *t, const char *issuer,
    const struct serial *serial, struct repo_revocation *out, char *why,
    size_t whylen)
{
	char msg[REPO_WHY_MAX], name[REPO_WHY_MAX];
	struct repo_key k;
	MDB_val v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t == NULL || repo_key_make(issuer, serial, &k) != 0) {
		err_why(why, whylen, "invalid issuer id or serial");
		return ERR_BAD_REQUEST;
	}
	repo_key_text(k.b, k.len, name, sizeof(name));
	if ((rc = repo_get(t, REPO_DB_REVOKED, k.b, k.len, &v, why,
	    whylen)) != 0) {
		if (rc == ERR_NOT_FOUND)
			err_why(why, whylen, "no revocation of %s", name);
		return rc;
	}
	if ((rc = repo_revocation_decode(v.mv_data, v.mv_size, out, msg,
	    sizeof(msg))) != 0) {
		err_why(why, whylen, "revocation of %s: %s", name, msg);
		return rc;
	}
	if (!repo_key_matches(&(MDB_val){ .mv_size = k.len, .mv_data = k.b },
	    out->issuer, &out->serial)) {
		memset(out, 0, sizeof(*out));
		err_why(why, whylen, "revocation of %s: the record names "
		    "another serial", name);
		return ERR_REPO;
	}
	return 0;
}

int
repo_cert_get(struct repo_txn *t, const char *issuer,
    const struct serial *serial, struct repo_cert *out, char *why,
    size_t whylen)
{
	return repo_cert_load(t, issuer, serial, out, why, whylen);
}

int
repo_revocation_get(struct repo_txn *t, const char *issuer,
    const struct serial *serial, struct repo_revocation *out, char *why,
    size_t whylen)
{
	return repo_revocation_load(t, issuer, serial, out, why, whylen);
}

int
repo_ref_find(struct repo_txn *t, const uint8_t *ref, size_t ref_len,
    struct repo_cert *out, char *why, size_t whylen)
{
	char issuer[REPO_ID_MAX + 1], text[REPO_REF_TEXT_MAX];
	struct serial s;
	MDB_val v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t == NULL || !repo_ref_valid(ref, ref_len)) {
		err_why(why, whylen, "a ref is 1..%d bytes", REPO_REF_MAX);
		return ERR_BAD_REQUEST;
	}
	repo_ref_text(ref, ref_len, text, sizeof(text));
	if ((rc = repo_get(t, REPO_DB_REFS, ref, ref_len, &v, why,
	    whylen)) != 0) {
		if (rc == ERR_NOT_FOUND)
			err_why(why, whylen, "no certificate for ref %s", text);
		return rc;
	}
	if (repo_key_parse(v.mv_data, v.mv_size, issuer, &s) != 0) {
		err_why(why, whylen, "ref %s: unreadable index entry", text);
		return ERR_REPO;
	}
	if ((rc = repo_cert_load(t, issuer, &s, out, why, whylen)) != 0)
		return rc == ERR_NOT_FOUND ? ERR_REPO : rc;
	if (out->ref_len != ref_len || memcmp(out->ref, ref, ref_len) != 0) {
		repo_cert_clear(out);
		err_why(why, whylen, "ref %s: the index points at a "
		    "certificate of another ref", text);
		return ERR_REPO;
	}
	return 0;
}

/* ---- iteration ------------------------------------------------------------------ */

static bool
key_has_prefix(const MDB_val *k, const uint8_t *prefix, size_t plen)
{
	return k->mv_size >= plen &&
	    (plen == 0 || memcmp(k->mv_data, prefix, plen) == 0);
}

/* Put cur on the first key >= at (forward) or the greatest key <= at (back). */
static int
cursor_start(MDB_cursor *cur, const uint8_t *at, size_t alen, bool back,
    MDB_val *k, MDB_val *v)
{
	int mrc;

	k->mv_data = (void *)(uintptr_t)at;
	k->mv_size = alen;
	if (alen == 0)
		return mdb_cursor_get(cur, k, v, back ? MDB_LAST : MDB_FIRST);
	mrc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	if (!back)
		return mrc;
	if (mrc == MDB_NOTFOUND)
		return mdb_cursor_get(cur, k, v, MDB_LAST);
	if (mrc != 0 || (k->mv_size == alen &&
	    memcmp(k->mv_data, at, alen) == 0))
		return mrc;
	return mdb_cursor_get(cur, k, v, MDB_PREV);
}

/* Visit the keys with prefix from at on, forward or back, until fn returns non-zero. */
static int
repo_scan_dir(struct repo_txn *t, enum repo_db db, const uint8_t *prefix,
    size_t plen, const uint8_t *at, size_t alen, bool back,
    int (*fn)(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen), void *arg, char *why, size_t whylen)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int mrc, rc = 0;

	if ((mrc = mdb_cursor_open(t->txn, t->repo->dbi[db], &cur)) != 0)
		return repo_mdb_fail(t, mrc, "opening a cursor", why, whylen);
	for (mrc = cursor_start(cur, at, alen, back, &k, &v); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, back ? MDB_PREV : MDB_NEXT)) {
		if (!key_has_prefix(&k, prefix, plen))
			break;
		if ((rc = fn(&k, &v, arg, why, whylen)) != 0)
			break;
	}
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		rc = repo_mdb_fail(t, mrc, "reading", why, whylen);
	mdb_cursor_close(cur);
	return rc;
}

int
repo_scan_from(struct repo_txn *t, enum repo_db db, const uint8_t *prefix,
    size_t plen, const uint8_t *start, size_t slen,
    int (*fn)(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen), void *arg, char *why, size_t whylen)
{
	return repo_scan_dir(t, db, prefix, plen, start, slen, false, fn, arg,
	    why, whylen);
}

int
repo_scan(struct repo_txn *t, enum repo_db db, const uint8_t *prefix,
    size_t plen, int (*fn)(const MDB_val *k, const MDB_val *v, void *arg,
    char *why, size_t whylen), void *arg, char *why, size_t whylen)
{
	return repo_scan_dir(t, db, prefix, plen, prefix, plen, false, fn, arg,
	    why, whylen);
}

int
repo_scan_back(struct repo_txn *t, enum repo_db db, const uint8_t *prefix,
    size_t plen, const uint8_t *last, size_t llen,
    int (*fn)(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen), void *arg, char *why, size_t whylen)
{
	return repo_scan_dir(t, db, prefix, plen, last, llen, true, fn, arg,
	    why, whylen);
}

int
repo_revocation_read(const MDB_val *k, const MDB_val *v,
    struct repo_revocation *rev, char *why, size_t whylen)
{
	char msg[REPO_WHY_MAX], name[REPO_WHY_MAX];

	if (repo_revocation_decode(v->mv_data, v->mv_size, rev, msg,
	    sizeof(msg)) != 0 ||
	    !repo_key_matches(k, rev->issuer, &rev->serial)) {
		repo_key_text(k->mv_data, k->mv_size, name, sizeof(name));
		err_why(why, whylen, "revocation of %s: %s", name,
		    rev->issuer[0] != '\0' ? "the record names another serial" :
		    msg);
		return ERR_REPO;
	}
	return 0;
}

static int
scan_revoked(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen)
{
	struct repo_scan_cb *a = arg;
	struct repo_revocation rev;
	int rc;

	if ((rc = repo_revocation_read(k, v, &rev, why, whylen)) != 0)
		return rc;
	return a->rev(&rev, a->ctx);
}

int
repo_revoked_foreach(struct repo_txn *t, const char *issuer,
    int (*cb)(const struct repo_revocation *rev, void *ctx), void *ctx,
    char *why, size_t whylen)
{
	struct repo_scan_cb a = { .rev = cb, .ctx = ctx };
	struct repo_key prefix;

	if (t == NULL || cb == NULL || repo_key_issuer(issuer, &prefix) != 0) {
		err_why(why, whylen, "invalid issuer id");
		return t == NULL || cb == NULL ? ERR_INVAL : ERR_BAD_REQUEST;
	}
	return repo_scan(t, REPO_DB_REVOKED, prefix.b, prefix.len,
	    scan_revoked, &a, why, whylen);
}

static int
scan_cert(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen)
{
	struct repo_scan_cb *a = arg;
	struct repo_cert c;
	char msg[REPO_WHY_MAX], name[REPO_WHY_MAX];
	int rc;

	if ((rc = repo_cert_decode(v->mv_data, v->mv_size, &c, msg,
	    sizeof(msg))) != 0 ||
	    !repo_key_matches(k, c.issuer, &c.serial)) {
		repo_key_text(k->mv_data, k->mv_size, name, sizeof(name));
		err_why(why, whylen, "%s: %s", name, rc != 0 ? msg :
		    "the record names another certificate");
		repo_cert_clear(&c);
		return rc == ERR_NOMEM ? rc : ERR_REPO;
	}
	rc = a->cert(&c, a->ctx);
	repo_cert_clear(&c);
	return rc;
}

int
repo_cert_foreach(struct repo_txn *t, const char *issuer,
    int (*cb)(const struct repo_cert *cert, void *ctx), void *ctx,
    char *why, size_t whylen)
{
	struct repo_scan_cb a = { .cert = cb, .ctx = ctx };
	struct repo_key prefix = { .len = 0 };

	if (t == NULL || cb == NULL)
		return ERR_INVAL;
	if (issuer != NULL && repo_key_issuer(issuer, &prefix) != 0) {
		err_why(why, whylen, "invalid issuer id");
		return ERR_BAD_REQUEST;
	}
	return repo_scan(t, REPO_DB_CERTS, prefix.b, prefix.len, scan_cert, &a,
	    why, whylen);
}

/* ---- counters ------------------------------------------------------------------- */

int
repo_stats_decode(const uint8_t *b, size_t len, struct repo_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (len != REPO_STATS_LEN)
		return ERR_REPO;
	st->certs = repo_get_be64(b);
	st->pending = repo_get_be64(b + 8);
	st->revoked = repo_get_be64(b + 16);
	return 0;
}

static int
scan_stats(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen)
{
	struct repo_scan_cb *a = arg;
	char issuer[REPO_ID_MAX + 1];
	struct repo_stats st;

	if (k->mv_size < 1 || k->mv_size > REPO_ID_MAX ||
	    repo_stats_decode(v->mv_data, v->mv_size, &st) != 0) {
		err_why(why, whylen, "counters: unreadable entry");
		return ERR_REPO;
	}
	memcpy(issuer, k->mv_data, k->mv_size);
	issuer[k->mv_size] = '\0';
	if (!repo_id_valid(issuer)) {
		err_why(why, whylen, "counters: invalid issuer id");
		return ERR_REPO;
	}
	a->sum.certs += st.certs;
	a->sum.pending += st.pending;
	a->sum.revoked += st.revoked;
	return a->stats != NULL ? a->stats(issuer, &st, a->ctx) : 0;
}

int
repo_stats(struct repo_txn *t, const char *issuer, struct repo_stats *out,
    char *why, size_t whylen)
{
	struct repo_scan_cb a = { .stats = NULL };
	MDB_val v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t == NULL)
		return ERR_INVAL;
	if (issuer == NULL) {
		rc = repo_scan(t, REPO_DB_STATS, NULL, 0, scan_stats, &a, why,
		    whylen);
		if (rc == 0)
			*out = a.sum;
		return rc;
	}
	if (!repo_id_valid(issuer)) {
		err_why(why, whylen, "invalid issuer id");
		return ERR_BAD_REQUEST;
	}
	rc = repo_get(t, REPO_DB_STATS, issuer, strlen(issuer), &v, why, whylen);
	if (rc == ERR_NOT_FOUND)
		return 0;
	if (rc == 0 && repo_stats_decode(v.mv_data, v.mv_size, out) != 0) {
		err_why(why, whylen, "counters of issuer '%s': %zu bytes, "
		    "not %d", issuer, v.mv_size, REPO_STATS_LEN);
		rc = ERR_REPO;
	}
	return rc;
}

int
repo_stats_foreach(struct repo_txn *t,
    int (*cb)(const char *issuer, const struct repo_stats *st, void *ctx),
    void *ctx, char *why, size_t whylen)
{
	struct repo_scan_cb a = { .stats = cb, .ctx = ctx };

	if (t == NULL || cb == NULL)
		return ERR_INVAL;
	return repo_scan(t, REPO_DB_STATS, NULL, 0, scan_stats, &a, why, whylen);
}
