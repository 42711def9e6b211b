/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Repository check: records parse, indexes and counters agree, the event log is contiguous per origin, CRL records are sound. */

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/repo_local.h"

#define VERIFY_ORIGINS 256      /* every value of the origin byte */

/* Counters recounted for one issuer. */
struct verify_issuer {
	struct repo_key prefix;
	struct repo_stats st;
	bool stored;            /* a counters entry exists */
	uint64_t revlog;        /* revocation log entries seen */
	uint64_t last_mark;     /* the mark of the last one */
};

struct verify {
	struct repo_txn *t;
	void (*cb)(const char *problem, void *ctx);
	void *ctx;
	int problems;
	struct verify_issuer *iss;      /* sorted by key prefix */
	size_t n_iss, cap_iss;
	uint64_t with_der, revocations, issue_events, revoke_events;
	uint64_t derived;               /* revocations of superseded certificates */
	uint64_t last[VERIFY_ORIGINS];  /* last event sequence per origin */
};

static void problem(struct verify *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct verify *v, const char *fmt, ...)
{
	char msg[REPO_WHY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (v->problems < INT_MAX)
		v->problems++;
	if (v->cb != NULL)
		v->cb(msg, v->ctx);
}

static int
prefix_cmp(const struct repo_key *a, const uint8_t *b, size_t blen)
{
	size_t n = a->len < blen ? a->len : blen;
	int c = memcmp(a->b, b, n);

	if (c != 0)
		return c;
	return a->len < blen ? -1 : a->len > blen;
}

/* The counters of the issuer whose cert key is k; NULL if k is unreadable. */
static struct verify_issuer *
verify_issuer(struct verify *v, const MDB_val *k, int *err)
{
	const uint8_t *b = k->mv_data;
	size_t lo = 0, hi = v->n_iss, mid, plen;
	struct verify_issuer *p;
	int c;

	if (k->mv_size < 2 || (plen = 1 + (size_t)b[0]) >= k->mv_size)
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = prefix_cmp(&v->iss[mid].prefix, b, plen)) == 0)
			return &v->iss[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (v->n_iss == v->cap_iss) {
		p = reallocarray(v->iss, v->cap_iss * 2 + 16, sizeof(*p));
		if (p == NULL) {
			*err = ERR_NOMEM;
			return NULL;
		}
		v->iss = p;
		v->cap_iss = v->cap_iss * 2 + 16;
	}
	memmove(&v->iss[lo + 1], &v->iss[lo],
	    (v->n_iss - lo) * sizeof(v->iss[0]));
	v->n_iss++;
	memset(&v->iss[lo], 0, sizeof(v->iss[lo]));
	memcpy(v->iss[lo].prefix.b, b, plen);
	v->iss[lo].prefix.len = plen;
	return &v->iss[lo];
}

/*
 * A ref shared between two nodes leads to one entry only: a superseded
 * certificate's ref leads to the one that kept it, and a revoke ref used
 * on both nodes for two serials to the first indexed.
 */
static bool
verify_shared(struct verify *v, enum repo_db db, const MDB_val *want,
    const MDB_val *got)
{
	uint8_t key[sizeof(REPO_SUPERSEDED_KEY) + REPO_KEY_MAX];
	size_t plen = sizeof(REPO_SUPERSEDED_KEY) - 1;
	char issuer[REPO_ID_MAX + 1];
	struct repo_revocation rev;
	struct serial s;
	MDB_val m;

	if (db == REPO_DB_REFS) {
		if (want->mv_size > REPO_KEY_MAX)
			return false;
		memcpy(key, REPO_SUPERSEDED_KEY, plen);
		memcpy(key + plen, want->mv_data, want->mv_size);
		return repo_get(v->t, REPO_DB_META, key, plen + want->mv_size,
		    &m, NULL, 0) == 0;
	}
	/* verify_revref checks that the entry it leads to has this ref. */
	return repo_key_parse(got->mv_data, got->mv_size, issuer, &s) == 0 &&
	    repo_revocation_load(v->t, issuer, &s, &rev, NULL, 0) == 0;
}

/* Does index db map key (ref) to the cert key want? */
static void
verify_index(struct verify *v, enum repo_db db, const uint8_t *ref,
    size_t ref_len, const MDB_val *want, const char *what, const char *name)
{
	char why[REPO_WHY_MAX];
	MDB_val got;
	int rc;

	rc = repo_get(v->t, db, ref, ref_len, &got, why, sizeof(why));
	if (rc == ERR_NOT_FOUND)
		problem(v, "%s: its ref is missing from the %s index", name,
		    what);
	else if (rc != 0)
		problem(v, "%s: %s", name, why);
	else if ((got.mv_size != want->mv_size ||
	    memcmp(got.mv_data, want->mv_data, got.mv_size) != 0) &&
	    !verify_shared(v, db, want, &got))
		problem(v, "%s: its ref leads to another entry in the %s index",
		    name, what);
}

/* ---- certificates ---------------------------------------------------------------- */

static void
verify_cert_revocation(struct verify *v, const struct repo_cert *c,
    const char *name)
{
	struct repo_revocation rev;
	char why[REPO_WHY_MAX];
	int rc;

	rc = repo_revocation_load(v->t, c->issuer, &c->serial, &rev, why,
	    sizeof(why));
	if (rc != 0 && rc != ERR_NOT_FOUND)
		problem(v, "%s", why);
	else if (c->status == CERT_REVOKED && rc == ERR_NOT_FOUND)
		problem(v, "%s: revoked but missing from the revocation index",
		    name);
	else if (c->status != CERT_REVOKED && rc == 0)
		problem(v, "%s: in the revocation index but not revoked", name);
	else if (rc == 0 && (rev.revoked_at != c->revoked_at ||
	    rev.reason != c->reason))
		problem(v, "%s: revocation time or reason differs from the "
		    "revocation index", name);
}

static int
verify_cert(const MDB_val *k, const MDB_val *val, void *arg, char *why,
    size_t whylen)
{
	struct verify *v = arg;
	struct verify_issuer *vi;
	char msg[REPO_WHY_MAX], name[REPO_WHY_MAX];
	struct repo_key key;
	struct repo_cert c;
	int err = 0;

	(void)why;
	(void)whylen;
	repo_key_text(k->mv_data, k->mv_size, name, sizeof(name));
	if ((vi = verify_issuer(v, k, &err)) != NULL)
		vi->st.certs++;
	if (err != 0)
		return err;
	if (repo_cert_decode(val->mv_data, val->mv_size, &c, msg,
	    sizeof(msg)) != 0) {
		problem(v, "%s: %s", name, msg);
		return 0;
	}
	if (repo_key_make(c.issuer, &c.serial, &key) != 0 ||
	    key.len != k->mv_size || memcmp(key.b, k->mv_data, key.len) != 0)
		problem(v, "%s: the record names another certificate", name);
	if (vi != NULL && c.status == CERT_PENDING)
		vi->st.pending++;
	if (c.der_len > 0)
		v->with_der++;
	verify_index(v, REPO_DB_REFS, c.ref, c.ref_len, k, "ref", name);
	verify_cert_revocation(v, &c, name);
	repo_cert_clear(&c);
	return 0;
}

static int
verify_ref(const MDB_val *k, const MDB_val *val, void *arg, char *why,
    size_t whylen)
{
	struct verify *v = arg;
	char issuer[REPO_ID_MAX + 1], text[REPO_REF_TEXT_MAX], msg[REPO_WHY_MAX];
	struct repo_cert c;
	struct serial s;
	int rc;

	(void)why;
	(void)whylen;
	repo_ref_text(k->mv_data, k->mv_size, text, sizeof(text));
	if (!repo_ref_valid(k->mv_data, k->mv_size) ||
	    repo_key_parse(val->mv_data, val->mv_size, issuer, &s) != 0) {
		problem(v, "ref index: entry %s is unreadable", text);
		return 0;
	}
	rc = repo_cert_load(v->t, issuer, &s, &c, msg, sizeof(msg));
	if (rc == ERR_NOT_FOUND)
		problem(v, "ref %s: %s", text, msg);
	else if (rc == 0 && (c.ref_len != k->mv_size ||
	    memcmp(c.ref, k->mv_data, c.ref_len) != 0))
		problem(v, "ref %s: leads to a certificate of another ref", text);
	repo_cert_clear(&c);
	return rc == ERR_NOMEM ? rc : 0;
}

/* ---- revocations ------------------------------------------------------------------ */

static int
verify_revoked(const MDB_val *k, const MDB_val *val, void *arg, char *why,
    size_t whylen)
{
	struct verify *v = arg;
	struct verify_issuer *vi;
	char msg[REPO_WHY_MAX], name[REPO_WHY_MAX];
	struct repo_revocation rev;
	struct repo_key key;
	int err = 0;

	(void)why;
	(void)whylen;
	repo_key_text(k->mv_data, k->mv_size, name, sizeof(name));
	if ((vi = verify_issuer(v, k, &err)) != NULL)
		vi->st.revoked++;
	if (err != 0)
		return err;
	v->revocations++;
	if (repo_revocation_decode(val->mv_data, val->mv_size, &rev, msg,
	    sizeof(msg)) != 0) {
		problem(v, "revocation of %s: %s", name, msg);
		return 0;
	}
	if (repo_key_make(rev.issuer, &rev.serial, &key) != 0 ||
	    key.len != k->mv_size || memcmp(key.b, k->mv_data, key.len) != 0)
		problem(v, "revocation of %s: the record names another serial",
		    name);
	if (repo_superseded_ref(rev.ref, rev.ref_len))
		v->derived++;
	/* The certificate's side was checked with the certificates. */
	verify_index(v, REPO_DB_REVREFS, rev.ref, rev.ref_len, k,
	    "revoke ref", name);
	return 0;
}

static int
verify_revref(const MDB_val *k, const MDB_val *val, void *arg, char *why,
    size_t whylen)
{
	struct verify *v = arg;
	char issuer[REPO_ID_MAX + 1], text[REPO_REF_TEXT_MAX], msg[REPO_WHY_MAX];
	struct repo_revocation rev;
	struct serial s;
	int rc;

	(void)why;
	(void)whylen;
	repo_ref_text(k->mv_data, k->mv_size, text, sizeof(text));
	if (!repo_ref_valid(k->mv_data, k->mv_size) ||
	    repo_key_parse(val->mv_data, val->mv_size, issuer, &s) != 0) {
		problem(v, "revoke ref index: entry %s is unreadable", text);
		return 0;
	}
	rc = repo_revocation_load(v->t, issuer, &s, &rev, msg, sizeof(msg));
	if (rc == ERR_NOT_FOUND)
		problem(v, "revoke ref %s: %s", text, msg);
	else if (rc == 0 && (rev.ref_len != k->mv_size ||
	    memcmp(rev.ref, k->mv_data, rev.ref_len) != 0))
		problem(v, "revoke ref %s: leads to a revocation of another ref",
		    text);
	return 0;
}

/* ---- counters and meta ------------------------------------------------------------ */

static int
verify_stats(const MDB_val *k, const MDB_val *val, void *arg, char *why,
    size_t whylen)
{
	struct verify *v = arg;
	struct verify_issuer *vi = NULL;
	struct repo_key prefix;
	struct repo_stats st;
	char issuer[REPO_ID_MAX + 1];
	size_t i;

	(void)why;
	(void)whylen;
	if (k->mv_size < 1 || k->mv_size > REPO_ID_MAX ||
	    repo_stats_decode(val->mv_data, val->mv_size, &st) != 0) {
		problem(v, "counters: unreadable entry");
		return 0;
	}
	memcpy(issuer, k->mv_data, k->mv_size);
	issuer[k->mv_size] = '\0';
	if (repo_key_issuer(issuer, &prefix) != 0) {
		problem(v, "counters: invalid issuer id");
		return 0;
	}
	for (i = 0; i < v->n_iss && vi == NULL; i++)
		if (prefix_cmp(&v->iss[i].prefix, prefix.b, prefix.len) == 0)
			vi = &v->iss[i];
	if (vi != NULL)
		vi->stored = true;
	if (vi == NULL ? st.certs != 0 || st.pending != 0 || st.revoked != 0 :
	    memcmp(&st, &vi->st, sizeof(st)) != 0)
		problem(v, "counters of issuer '%s' say %llu certificates, %llu "
		    "pending, %llu revoked; the records say otherwise", issuer,
		    (unsigned long long)st.certs, (unsigned long long)st.pending,
		    (unsigned long long)st.revoked);
	return 0;
}

/* A superseded certificate is held and revoked, and the one that kept its ref is held. */
static void
verify_superseded(struct verify *v, const MDB_val *k, const MDB_val *val)
{
	size_t plen = sizeof(REPO_SUPERSEDED_KEY) - 1;
	char issuer[REPO_ID_MAX + 1], name[REPO_WHY_MAX];
	struct repo_cert c;
	struct serial s;

	repo_key_text((const uint8_t *)k->mv_data + plen, k->mv_size - plen,
	    name, sizeof(name));
	if (repo_key_parse((const uint8_t *)k->mv_data + plen,
	    k->mv_size - plen, issuer, &s) != 0 ||
	    repo_key_parse(val->mv_data, val->mv_size, issuer, &s) != 0) {
		problem(v, "meta: an unreadable superseded entry");
		return;
	}
	if (repo_cert_load(v->t, issuer, &s, &c, NULL, 0) != 0)
		problem(v, "superseded %s: the certificate that kept its ref "
		    "is not held", name);
	repo_cert_clear(&c);
	(void)repo_key_parse((const uint8_t *)k->mv_data + plen,
	    k->mv_size - plen, issuer, &s);
	if (repo_cert_load(v->t, issuer, &s, &c, NULL, 0) != 0)
		problem(v, "superseded %s: not held", name);
	else if (c.status != CERT_REVOKED)
		problem(v, "superseded %s: not revoked", name);
	repo_cert_clear(&c);
}

static int
verify_meta(const MDB_val *k, const MDB_val *val, void *arg, char *why,
    size_t whylen)
{
	struct verify *v = arg;
	const uint8_t *b = k->mv_data;
	uint64_t seq = 0;
	size_t i;

	(void)why;
	(void)whylen;
	if ((k->mv_size == 6 && memcmp(b, "schema", 6) == 0) ||
	    (k->mv_size == 4 && memcmp(b, "node", 4) == 0))
		return 0;
	if (k->mv_size > sizeof(REPO_CRLMAX_KEY) - 1 &&
	    memcmp(b, REPO_CRLMAX_KEY, sizeof(REPO_CRLMAX_KEY) - 1) == 0) {
		if (val->mv_size != REPO_MARK_LEN)
			problem(v, "meta: highest CRL number entry of %zu bytes",
			    val->mv_size);
		return 0;
	}
	if (k->mv_size > sizeof(REPO_SUPERSEDED_KEY) - 1 &&
	    memcmp(b, REPO_SUPERSEDED_KEY, sizeof(REPO_SUPERSEDED_KEY) - 1) ==
	    0) {
		verify_superseded(v, k, val);
		return 0;
	}
	if (k->mv_size != REPO_VV_KEY_LEN || b[0] != 'v' || b[1] != 'v' ||
	    val->mv_size != 8) {
		problem(v, "meta: unknown entry of %zu bytes", k->mv_size);
		return 0;
	}
	for (i = 0; i < 8; i++)
		seq = seq << 8 | ((const uint8_t *)val->mv_data)[i];
	if (seq != v->last[b[2]])
		problem(v, "version vector says node %u is at event %llu, the "
		    "log ends at %llu", b[2], (unsigned long long)seq,
		    (unsigned long long)v->last[b[2]]);
	v->last[b[2]] = 0;      /* seen */
	return 0;
}

/* ---- CRLs ------------------------------------------------------------------------------ */

/* A CRL number must not exceed the highest one the issuer's meta entry records. */
static void
verify_crl_number(struct verify *v, const char *issuer, uint64_t number,
    const char *name)
{
	char msg[REPO_WHY_MAX];
	uint64_t max;

	if (repo_crl_number_max(v->t, issuer, &max, msg, sizeof(msg)) != 0)
		problem(v, "%s: %s", name, msg);
	else if (number > max)
		problem(v, "%s: CRL number %llu is above the highest recorded "
		    "for '%s' (%llu)", name, (unsigned long long)number, issuer,
		    (unsigned long long)max);
}

static int
verify_crl(const MDB_val *k, const MDB_val *val, void *arg, char *why,
    size_t whylen)
{
	struct verify *v = arg;
	char msg[REPO_WHY_MAX], name[64];
	struct repo_crl c;
	const uint8_t *b = k->mv_data;
	uint64_t mark;

	(void)why;
	(void)whylen;
	if (repo_crl_decode(val->mv_data, val->mv_size, &c, msg,
	    sizeof(msg)) != 0) {
		problem(v, "crls: %s", msg);
		return 0;
	}
	snprintf(name, sizeof(name), "CRL %llu", (unsigned long long)c.number);
	if (k->mv_size != 2 + strlen(c.issuer) + REPO_MARK_LEN ||
	    b[0] != strlen(c.issuer) || memcmp(b + 1, c.issuer, b[0]) != 0 ||
	    b[1 + b[0]] != (c.delta_base > 0 ? REPO_CRL_DELTA :
	    REPO_CRL_COMPLETE) || repo_get_be64(b + 2 + b[0]) != c.number)
		problem(v, "%s of '%s': stored under another key", name,
		    c.issuer);
	verify_crl_number(v, c.issuer, c.number, name);
	/* Marks only grow, also when a replaced revocation moves. */
	if (repo_revlog_mark(v->t, c.issuer, &mark, msg, sizeof(msg)) != 0)
		problem(v, "%s of '%s': %s", name, c.issuer, msg);
	else if (c.rev_mark > mark)
		problem(v, "%s of '%s' covers revocations up to mark %llu, the "
		    "log ends at %llu", name, c.issuer,
		    (unsigned long long)c.rev_mark, (unsigned long long)mark);
	return 0;
}

/* Revocation log entries: contiguous marks per issuer, each naming a revocation. */
static int
verify_revlog(const MDB_val *k, const MDB_val *val, void *arg, char *why,
    size_t whylen)
{
	struct verify *v = arg;
	struct verify_issuer *vi;
	const uint8_t *b = k->mv_data;
	char msg[REPO_WHY_MAX];
	MDB_val rv;
	int err = 0;

	(void)why;
	(void)whylen;
	if (k->mv_size < 2 || k->mv_size != 1 + (size_t)b[0] + REPO_MARK_LEN ||
	    val->mv_size <= k->mv_size - REPO_MARK_LEN ||
	    memcmp(val->mv_data, b, k->mv_size - REPO_MARK_LEN) != 0 ||
	    (vi = verify_issuer(v, val, &err)) == NULL) {
		if (err != 0)
			return err;
		problem(v, "revocation log: an entry of another shape");
		return 0;
	}
	/* Replaced revocations leave gaps: marks only grow. */
	vi->revlog++;
	if (repo_get_be64(b + 1 + b[0]) <= vi->last_mark)
		problem(v, "revocation log of '%.*s': mark %llu after %llu",
		    (int)b[0], b + 1, (unsigned long long)
		    repo_get_be64(b + 1 + b[0]),
		    (unsigned long long)vi->last_mark);
	vi->last_mark = repo_get_be64(b + 1 + b[0]);
	if (repo_get(v->t, REPO_DB_REVOKED, val->mv_data, val->mv_size, &rv,
	    msg, sizeof(msg)) != 0)
		problem(v, "revocation log of '%.*s': mark %llu names no "
		    "revocation", (int)b[0], b + 1,
		    (unsigned long long)vi->last_mark);
	return 0;
}

/* ---- events ------------------------------------------------------------------------- */

static void
verify_event_target(struct verify *v, const struct repo_event *ev,
    const char *name)
{
	struct repo_revocation rev;
	struct repo_cert c;
	char msg[REPO_WHY_MAX];
	int rc;

	if (ev->type == REPO_EVENT_ISSUE) {
		v->issue_events++;
		rc = repo_cert_load(v->t, ev->cert.issuer, &ev->cert.serial, &c,
		    msg, sizeof(msg));
		if (rc == ERR_NOT_FOUND || (rc == 0 && c.der_len == 0))
			problem(v, "%s: issues a certificate the repository "
			    "does not hold", name);
		repo_cert_clear(&c);
		return;
	}
	if (ev->type == REPO_EVENT_CRL) {
		verify_crl_number(v, ev->crl.issuer, ev->crl.number, name);
		return;
	}
	v->revoke_events++;
	rc = repo_revocation_load(v->t, ev->rev.issuer, &ev->rev.serial, &rev,
	    msg, sizeof(msg));
	if (rc == ERR_NOT_FOUND)
		problem(v, "%s: revokes a serial the revocation index does "
		    "not hold", name);
}

static int
verify_event(const MDB_val *k, const MDB_val *val, void *arg, char *why,
    size_t whylen)
{
	struct verify *v = arg;
	const uint8_t *b = k->mv_data;
	char msg[REPO_WHY_MAX], name[64];
	struct repo_event ev;
	uint64_t seq = 0;
	size_t i;

	(void)why;
	(void)whylen;
	if (k->mv_size != REPO_EVENT_KEY_LEN) {
		problem(v, "event log: key of %zu bytes", k->mv_size);
		return 0;
	}
	for (i = 1; i < REPO_EVENT_KEY_LEN; i++)
		seq = seq << 8 | b[i];
	snprintf(name, sizeof(name), "event %u/%llu", b[0],
	    (unsigned long long)seq);
	if (seq != v->last[b[0]] + 1)
		problem(v, "%s: the log of node %u jumps from %llu", name, b[0],
		    (unsigned long long)v->last[b[0]]);
	v->last[b[0]] = seq;
	if (repo_event_decode(val->mv_data, val->mv_size, &ev, msg,
	    sizeof(msg)) != 0) {
		problem(v, "%s: %s", name, msg);
		return 0;
	}
	if (ev.origin != b[0] || ev.seq != seq)
		problem(v, "%s: the event says it is %u/%llu", name, ev.origin,
		    (unsigned long long)ev.seq);
	verify_event_target(v, &ev, name);
	repo_event_clear(&ev);
	return 0;
}

/* ---- the whole check ---------------------------------------------------------------- */

static void
verify_totals(struct verify *v)
{
	size_t i;

	for (i = 0; i < VERIFY_ORIGINS; i++)
		if (v->last[i] != 0)
			problem(v, "node %u has %llu events but no version "
			    "vector entry", (unsigned)i,
			    (unsigned long long)v->last[i]);
	for (i = 0; i < v->n_iss; i++)
		if (v->iss[i].revlog != v->iss[i].st.revoked)
			problem(v, "issuer '%.*s' has %llu revocations but %llu "
			    "revocation log entries", (int)v->iss[i].prefix.b[0],
			    v->iss[i].prefix.b + 1,
			    (unsigned long long)v->iss[i].st.revoked,
			    (unsigned long long)v->iss[i].revlog);
	for (i = 0; i < v->n_iss; i++)
		if (!v->iss[i].stored)
			problem(v, "issuer '%.*s' has records but no counters",
			    (int)v->iss[i].prefix.b[0], v->iss[i].prefix.b + 1);
	if (v->issue_events < v->with_der)
		problem(v, "%llu issued certificates but %llu issue events",
		    (unsigned long long)v->with_der,
		    (unsigned long long)v->issue_events);
	if (v->revoke_events < v->revocations - v->derived)
		problem(v, "%llu revocations (%llu of superseded certificates) "
		    "but %llu revoke events",
		    (unsigned long long)v->revocations,
		    (unsigned long long)v->derived,
		    (unsigned long long)v->revoke_events);
}

int
repo_verify(struct repo *r, void (*cb)(const char *problem, void *ctx),
    void *ctx, char *why, size_t whylen)
{
	struct verify v;
	int rc;

	if (r == NULL)
		return ERR_INVAL;
	memset(&v, 0, sizeof(v));
	v.cb = cb;
	v.ctx = ctx;
	if ((rc = repo_begin(r, false, &v.t, why, whylen)) != 0)
		return rc;
	if ((rc = repo_scan(v.t, REPO_DB_CERTS, NULL, 0, verify_cert, &v, why,
	    whylen)) == 0 &&
	    (rc = repo_scan(v.t, REPO_DB_REFS, NULL, 0, verify_ref, &v, why,
	    whylen)) == 0 &&
	    (rc = repo_scan(v.t, REPO_DB_REVOKED, NULL, 0, verify_revoked, &v,
	    why, whylen)) == 0 &&
	    (rc = repo_scan(v.t, REPO_DB_REVREFS, NULL, 0, verify_revref, &v,
	    why, whylen)) == 0 &&
	    (rc = repo_scan(v.t, REPO_DB_STATS, NULL, 0, verify_stats, &v, why,
	    whylen)) == 0 &&
	    (rc = repo_scan(v.t, REPO_DB_EVENTS, NULL, 0, verify_event, &v, why,
	    whylen)) == 0 &&
	    (rc = repo_scan(v.t, REPO_DB_REVLOG, NULL, 0, verify_revlog, &v,
	    why, whylen)) == 0 &&
	    (rc = repo_scan(v.t, REPO_DB_CRLS, NULL, 0, verify_crl, &v, why,
	    whylen)) == 0 &&
	    (rc = repo_scan(v.t, REPO_DB_META, NULL, 0, verify_meta, &v, why,
	    whylen)) == 0)
		verify_totals(&v);
	repo_abort(v.t);
	free(v.iss);
	if (rc == ERR_NOMEM)
		err_why(why, whylen, "out of memory");
	return rc != 0 ? rc : v.problems;
}
