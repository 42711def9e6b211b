/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Repository changes: serial reservation, issuance and revocation, each with its indexes, counters and event. */

#include <stdlib.h>
#include <string.h>

#include "signer/repo_local.h"

#define REPO_SERIAL_TRIES 16    /* 120 random bits: a second collision means a broken CSPRNG */

/* A failure after a write may have left half a change: t must not commit. */
static int
write_done(struct repo_txn *t, int rc)
{
	if (rc == ERR_REPO || rc == ERR_NOMEM || rc == ERR_INTERNAL)
		return repo_txn_break(t, rc);
	return rc;
}

/* ---- counters -------------------------------------------------------------------- */

static int
stats_apply(uint64_t *v, int64_t d)
{
	if (d < 0 && (uint64_t)(-(d + 1)) + 1 > *v)
		return ERR_REPO;
	if (d > 0 && (uint64_t)d > UINT64_MAX - *v)
		return ERR_REPO;
	*v = d < 0 ? *v - ((uint64_t)(-(d + 1)) + 1) : *v + (uint64_t)d;
	return 0;
}

int
repo_stats_add(struct repo_txn *t, const char *issuer, int64_t certs,
    int64_t pending, int64_t revoked, char *why, size_t whylen)
{
	uint8_t b[REPO_STATS_LEN];
	struct repo_stats st;
	MDB_val v;
	int rc;

	memset(&st, 0, sizeof(st));
	rc = repo_get(t, REPO_DB_STATS, issuer, strlen(issuer), &v, why, whylen);
	if (rc == 0 && repo_stats_decode(v.mv_data, v.mv_size, &st) != 0)
		rc = ERR_REPO;
	if (rc == 0 && (stats_apply(&st.certs, certs) != 0 ||
	    stats_apply(&st.pending, pending) != 0 ||
	    stats_apply(&st.revoked, revoked) != 0))
		rc = ERR_REPO;
	if (rc != 0 && rc != ERR_NOT_FOUND) {
		err_why(why, whylen, "counters of issuer '%s' are corrupt",
		    issuer);
		return repo_txn_break(t, ERR_REPO);
	}
	if (rc == ERR_NOT_FOUND && (certs < 0 || pending < 0 || revoked < 0)) {
		err_why(why, whylen, "counters of issuer '%s' are missing",
		    issuer);
		return repo_txn_break(t, ERR_REPO);
	}
	if (rc == ERR_NOT_FOUND)
		st = (struct repo_stats){ (uint64_t)certs, (uint64_t)pending,
		    (uint64_t)revoked };
	repo_put_be64(b, st.certs);
	repo_put_be64(b + 8, st.pending);
	repo_put_be64(b + 16, st.revoked);
	return repo_put(t, REPO_DB_STATS, issuer, strlen(issuer), b, sizeof(b),
	    0, why, whylen);
}

/* ---- certificates ---------------------------------------------------------------- */

int
repo_cert_store(struct repo_txn *t, const struct repo_cert *c, unsigned int flags,
    char *why, size_t whylen)
{
	struct repo_key k;
	uint8_t *val;
	size_t len;
	int rc;

	if (repo_key_make(c->issuer, &c->serial, &k) != 0 ||
	    (rc = repo_cert_encode(c, &val, &len)) == ERR_INVAL) {
		err_why(why, whylen, "cannot encode a certificate record");
		return ERR_INTERNAL;
	}
	if (rc != 0)
		return rc;
	rc = repo_put(t, REPO_DB_CERTS, k.b, k.len, val, len, flags, why,
	    whylen);
	free(val);
	return rc;
}

static int
reserve_check(const struct repo_cert *req, char *why, size_t whylen)
{
	size_t sublen = strnlen(req->subject, REPO_SUBJECT_MAX + 1);

	if (!repo_id_valid(req->issuer))
		err_why(why, whylen, "issuer id must be 1..%d bytes of UTF-8",
		    REPO_ID_MAX);
	else if (!repo_id_valid(req->profile))
		err_why(why, whylen, "profile name must be 1..%d bytes of "
		    "UTF-8", REPO_ID_MAX);
	else if (!repo_ref_valid(req->ref, req->ref_len))
		err_why(why, whylen, "ref must be 1..%d bytes", REPO_REF_MAX);
	else if (sublen > REPO_SUBJECT_MAX ||
	    !msg_utf8_valid(req->subject, sublen))
		err_why(why, whylen, "subject summary must be at most %d bytes "
		    "of UTF-8", REPO_SUBJECT_MAX);
	else if (req->not_after < req->not_before)
		err_why(why, whylen, "not_after is before not_before");
	else
		return 0;
	return ERR_BAD_REQUEST;
}

/* A serial that issuer has used neither for a certificate nor a revocation. */
static int
serial_pick(struct repo_txn *t, const char *issuer, struct serial *s,
    char *why, size_t whylen)
{
	struct repo_key k;
	MDB_val v;
	int i, rc;

	for (i = 0; i < REPO_SERIAL_TRIES; i++) {
		if ((rc = serial_generate(t->repo->node, s)) != 0 ||
		    (rc = repo_key_make(issuer, s, &k)) != 0) {
			err_why(why, whylen, "cannot generate a serial number");
			return ERR_INTERNAL;
		}
		rc = repo_get(t, REPO_DB_CERTS, k.b, k.len, &v, why, whylen);
		if (rc == ERR_NOT_FOUND)
			rc = repo_get(t, REPO_DB_REVOKED, k.b, k.len, &v, why,
			    whylen);
		if (rc == ERR_NOT_FOUND)
			return 0;
		if (rc != 0)
			return rc;
	}
	err_why(why, whylen, "no unused serial number after %d tries",
	    REPO_SERIAL_TRIES);
	return ERR_INTERNAL;
}

/* A ref seen before must name the same request. */
static int
reserve_existing(const struct repo_cert *req, struct repo_cert *found,
    char *why, size_t whylen)
{
	char text[REPO_REF_TEXT_MAX], hex[SERIAL_HEX_MAX];

	if (strcmp(found->profile, req->profile) == 0 &&
	    memcmp(found->req_hash, req->req_hash, sizeof(req->req_hash)) == 0)
		return 0;
	repo_ref_text(req->ref, req->ref_len, text, sizeof(text));
	serial_to_hex(&found->serial, hex);
	if (strcmp(found->profile, req->profile) != 0)
		err_why(why, whylen, "ref %s was used with profile '%s' "
		    "(serial %s), not '%s'", text, found->profile, hex,
		    req->profile);
	else
		err_why(why, whylen, "ref %s was used for another request "
		    "(serial %s of issuer '%s')", text, hex, found->issuer);
	repo_cert_clear(found);
	return ERR_CONFLICT;
}

static int
reserve_new(struct repo_txn *t, struct repo_cert *c, char *why,
    size_t whylen)
{
	struct repo_key k;
	int rc;

	if ((rc = serial_pick(t, c->issuer, &c->serial, why, whylen)) != 0)
		return rc;
	if ((rc = repo_key_make(c->issuer, &c->serial, &k)) != 0)
		return ERR_INTERNAL;
	if ((rc = repo_cert_store(t, c, MDB_NOOVERWRITE, why, whylen)) != 0 ||
	    (rc = repo_put(t, REPO_DB_REFS, c->ref, c->ref_len, k.b, k.len,
	    MDB_NOOVERWRITE, why, whylen)) != 0)
		return rc;
	return repo_stats_add(t, c->issuer, 1, 1, 0, why, whylen);
}

int
repo_cert_reserve(struct repo_txn *t, const struct repo_cert *req,
    struct repo_cert *out, char *why, size_t whylen)
{
	struct repo_cert c;
	int rc;

	if (req == NULL || out == NULL)
		return ERR_INVAL;
	memset(&c, 0, sizeof(c));
	memcpy(c.issuer, req->issuer, sizeof(c.issuer));
	memcpy(c.profile, req->profile, sizeof(c.profile));
	memcpy(c.ref, req->ref, sizeof(c.ref));
	c.ref_len = req->ref_len;
	memcpy(c.req_hash, req->req_hash, sizeof(c.req_hash));
	c.not_before = req->not_before;
	c.not_after = req->not_after;
	c.created = req->created;
	memcpy(c.subject, req->subject, sizeof(c.subject));
	c.status = CERT_PENDING;
	c.reason = CRL_REASON_NONE;
	memset(out, 0, sizeof(*out));
	if ((rc = repo_txn_writable(t, why, whylen)) != 0 ||
	    (rc = reserve_check(&c, why, whylen)) != 0)
		return rc;
	rc = repo_ref_find(t, c.ref, c.ref_len, out, why, whylen);
	if (rc == 0)
		return reserve_existing(&c, out, why, whylen);
	if (rc == ERR_NOT_FOUND && (rc = reserve_new(t, &c, why, whylen)) == 0)
		*out = c;
	return write_done(t, rc);
}

static int
issue_record(struct repo_txn *t, struct repo_cert *c, const uint8_t *der,
    size_t der_len, char *why, size_t whylen)
{
	struct repo_event ev;
	bool pending = c->status == CERT_PENDING;
	int rc;

	if ((c->der = malloc(der_len)) == NULL)
		return ERR_NOMEM;
	memcpy(c->der, der, der_len);
	c->der_len = der_len;
	if (pending)
		c->status = CERT_ISSUED;
	if ((rc = repo_cert_store(t, c, 0, why, whylen)) != 0 ||
	    (rc = repo_stats_add(t, c->issuer, 0, pending ? -1 : 0, 0, why,
	    whylen)) != 0)
		return rc;
	memset(&ev, 0, sizeof(ev));
	ev.type = REPO_EVENT_ISSUE;
	ev.cert = *c;   /* shares the DER: not cleared */
	ev.cert.status = CERT_ISSUED;
	ev.cert.revoked_at = 0;
	ev.cert.reason = CRL_REASON_NONE;
	return repo_event_append(t, &ev, why, whylen);
}

int
repo_cert_issue(struct repo_txn *t, const char *issuer,
    const struct serial *serial, const uint8_t *der, size_t der_len,
    struct repo_cert *out, char *why, size_t whylen)
{
	char hex[SERIAL_HEX_MAX];
	struct repo_cert c;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if ((rc = repo_txn_writable(t, why, whylen)) != 0)
		return rc;
	if (der == NULL || der_len < 1 || der_len > REPO_DER_MAX) {
		err_why(why, whylen, "certificate DER must be 1..%d bytes",
		    REPO_DER_MAX);
		return ERR_BAD_REQUEST;
	}
	if ((rc = repo_cert_load(t, issuer, serial, &c, why, whylen)) != 0)
		return write_done(t, rc);
	if (c.der_len == 0)
		rc = issue_record(t, &c, der, der_len, why, whylen);
	else if (c.der_len != der_len || memcmp(c.der, der, der_len) != 0) {
		serial_to_hex(serial, hex);
		err_why(why, whylen, "serial %s of issuer '%s' is already "
		    "issued with other DER", hex, issuer);
		rc = ERR_CONFLICT;
	}
	if (rc == 0 && out != NULL) {
		*out = c;
		memset(&c, 0, sizeof(c));      /* transferred */
	}
	repo_cert_clear(&c);
	return write_done(t, rc);
}

/* ---- revocations ------------------------------------------------------------------ */

static int
revoke_check(const struct repo_revocation *r, char *why, size_t whylen)
{
	if (!repo_id_valid(r->issuer))
		err_why(why, whylen, "issuer id must be 1..%d bytes of UTF-8",
		    REPO_ID_MAX);
	else if (!repo_serial_valid(&r->serial))
		err_why(why, whylen, "serial must be 1..%d bytes, positive, "
		    "without leading zero", SERIAL_MAX);
	else if (!repo_reason_valid(r->reason))
		err_why(why, whylen, "reason %d is not a CRLReason", r->reason);
	else if (!repo_ref_valid(r->ref, r->ref_len))
		err_why(why, whylen, "ref must be 1..%d bytes", REPO_REF_MAX);
	else if (repo_superseded_ref(r->ref, r->ref_len))
		err_why(why, whylen, "ref is reserved for superseded "
		    "certificates");
	else
		return 0;
	return ERR_BAD_REQUEST;
}

/* The revocation recorded under req's ref: 1 (*found), 0 none, or an error. */
static int
revoke_by_ref(struct repo_txn *t, const struct repo_revocation *req,
    struct repo_revocation *found, char *why, size_t whylen)
{
	char issuer[REPO_ID_MAX + 1], text[REPO_REF_TEXT_MAX];
	char hex[SERIAL_HEX_MAX];
	struct serial s;
	MDB_val v;
	int rc;

	rc = repo_get(t, REPO_DB_REVREFS, req->ref, req->ref_len, &v, why,
	    whylen);
	if (rc != 0)
		return rc == ERR_NOT_FOUND ? 0 : rc;
	repo_ref_text(req->ref, req->ref_len, text, sizeof(text));
	if (repo_key_parse(v.mv_data, v.mv_size, issuer, &s) != 0 ||
	    repo_revocation_load(t, issuer, &s, found, why, whylen) != 0 ||
	    found->ref_len != req->ref_len ||
	    memcmp(found->ref, req->ref, req->ref_len) != 0) {
		err_why(why, whylen, "revoke ref %s: the index entry does not "
		    "lead to its revocation", text);
		return ERR_REPO;
	}
	if (strcmp(issuer, req->issuer) == 0 &&
	    serial_cmp(&s, &req->serial) == 0 && found->reason == req->reason)
		return 1;
	serial_to_hex(&s, hex);
	err_why(why, whylen, "revoke ref %s was used for serial %s of issuer "
	    "'%s' with reason %d", text, hex, issuer, found->reason);
	return ERR_CONFLICT;
}

/* Record r: the revocation, its ref, the certificate's status, counters, event. */
static int
revoke_record(struct repo_txn *t, const struct repo_revocation *r, char *why,
    size_t whylen)
{
	struct repo_event ev;
	struct repo_cert c;
	struct repo_key k;
	uint64_t mark;
	uint8_t *val;
	size_t len;
	bool pending;
	int rc;

	if (repo_key_make(r->issuer, &r->serial, &k) != 0)
		return ERR_INTERNAL;
	if ((rc = repo_revocation_encode(r, &val, &len)) != 0)
		return rc == ERR_INVAL ? ERR_INTERNAL : rc;
	rc = repo_put(t, REPO_DB_REVOKED, k.b, k.len, val, len,
	    MDB_NOOVERWRITE, why, whylen);
	free(val);
	if (rc != 0 || (rc = repo_put(t, REPO_DB_REVREFS, r->ref, r->ref_len,
	    k.b, k.len, MDB_NOOVERWRITE, why, whylen)) != 0)
		return rc;
	rc = repo_cert_load(t, r->issuer, &r->serial, &c, why, whylen);
	if (rc != 0 && rc != ERR_NOT_FOUND)
		return rc;
	pending = rc == 0 && c.status == CERT_PENDING;
	if (rc == 0) {
		c.status = CERT_REVOKED;
		c.revoked_at = r->revoked_at;
		c.reason = r->reason;
		rc = repo_cert_store(t, &c, 0, why, whylen);
		repo_cert_clear(&c);
		if (rc != 0)
			return rc;
	}
	if ((rc = repo_revlog_mark(t, r->issuer, &mark, why, whylen)) != 0 ||
	    (rc = repo_revlog_append(t, r->issuer, &k, mark + 1, why,
	    whylen)) != 0 ||
	    (rc = repo_stats_add(t, r->issuer, 0, pending ? -1 : 0, 1, why,
	    whylen)) != 0)
		return rc;
	memset(&ev, 0, sizeof(ev));
	ev.type = REPO_EVENT_REVOKE;
	ev.rev = *r;
	return repo_event_append(t, &ev, why, whylen);
}

int
repo_revoke(struct repo_txn *t, const struct repo_revocation *req,
    struct repo_revocation *out, char *why, size_t whylen)
{
	struct repo_revocation r, found;
	int rc;

	if (req == NULL)
		return ERR_INVAL;
	r = *req;
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if ((rc = repo_txn_writable(t, why, whylen)) != 0 ||
	    (rc = revoke_check(&r, why, whylen)) != 0)
		return rc;
	r.origin = t->repo->node;
	if ((rc = revoke_by_ref(t, &r, &found, why, whylen)) == 0) {
		/* The first revocation of a serial wins. */
		rc = repo_revocation_load(t, r.issuer, &r.serial, &found, why,
		    whylen);
		if (rc == ERR_NOT_FOUND &&
		    (rc = revoke_record(t, &r, why, whylen)) == 0)
			found = r;
	} else if (rc == 1)
		rc = 0;
	if (rc == 0 && out != NULL)
		*out = found;
	return write_done(t, rc);
}
