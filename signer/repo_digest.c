/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Repository digest: SHA-256 over issued certificates and revocations in key order, equal on nodes in sync. */

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "signer/repo_local.h"

/*
 * What is hashed, per item in key order (certificates, then revocations):
 *   certificate  'C', then as (u32 BE n, bytes[n]) or i64 BE: issuer,
 *                serial, u8 status, revoked_at, u8 reason + 1, profile, ref,
 *                req_hash, not_before, not_after, created, subject, der
 *   revocation   'R', issuer, serial, revoked_at, u8 reason + 1, u8 origin, ref
 */
#define DIGEST_TAG_CERT 'C'
#define DIGEST_TAG_REV 'R'

struct digest_ctx {
	struct repo_txn *t;
	EVP_MD_CTX *md;
	struct repo_digest *out;
	bool fail;
};

static void
dg_bytes(struct digest_ctx *d, const void *p, size_t len)
{
	uint8_t n[4];

	n[0] = (uint8_t)(len >> 24);
	n[1] = (uint8_t)(len >> 16);
	n[2] = (uint8_t)(len >> 8);
	n[3] = (uint8_t)len;
	if (EVP_DigestUpdate(d->md, n, sizeof(n)) != 1 ||
	    (len > 0 && EVP_DigestUpdate(d->md, p, len) != 1))
		d->fail = true;
}

static void
dg_int(struct digest_ctx *d, int64_t v)
{
	uint8_t b[8];

	repo_put_be64(b, (uint64_t)v);
	if (EVP_DigestUpdate(d->md, b, sizeof(b)) != 1)
		d->fail = true;
}

static void
dg_u8(struct digest_ctx *d, unsigned int v)
{
	uint8_t b = (uint8_t)v;

	if (EVP_DigestUpdate(d->md, &b, 1) != 1)
		d->fail = true;
}

static int
dg_cert(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen)
{
	struct digest_ctx *d = arg;
	char name[REPO_WHY_MAX], msg[REPO_WHY_MAX];
	struct repo_cert c;

	if (repo_cert_decode(v->mv_data, v->mv_size, &c, msg,
	    sizeof(msg)) != 0) {
		repo_key_text(k->mv_data, k->mv_size, name, sizeof(name));
		err_why(why, whylen, "%s: %s", name, msg);
		return ERR_REPO;
	}
	if (c.der_len > 0) {
		d->out->certs++;
		dg_u8(d, DIGEST_TAG_CERT);
		dg_bytes(d, c.issuer, strlen(c.issuer));
		dg_bytes(d, c.serial.b, c.serial.len);
		dg_u8(d, (unsigned int)c.status);
		dg_int(d, c.revoked_at);
		dg_u8(d, (unsigned int)(c.reason + 1));
		dg_bytes(d, c.profile, strlen(c.profile));
		dg_bytes(d, c.ref, c.ref_len);
		dg_bytes(d, c.req_hash, sizeof(c.req_hash));
		dg_int(d, c.not_before);
		dg_int(d, c.not_after);
		dg_int(d, c.created);
		dg_bytes(d, c.subject, strlen(c.subject));
		dg_bytes(d, c.der, c.der_len);
	}
	repo_cert_clear(&c);
	return d->fail ? ERR_INTERNAL : 0;
}

/*
 * A reservation superseded here is revoked here only until it is issued:
 * the peer derives that revocation from the issue event.
 */
static int
dg_local_only(struct digest_ctx *d, const MDB_val *k,
    const struct repo_revocation *rev, bool *local, char *why, size_t whylen)
{
	MDB_val cv;
	struct repo_cert c;
	char msg[REPO_WHY_MAX];
	int rc;

	*local = false;
	if (!repo_superseded_ref(rev->ref, rev->ref_len))
		return 0;
	rc = repo_get(d->t, REPO_DB_CERTS, k->mv_data, k->mv_size, &cv, why,
	    whylen);
	if (rc == ERR_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (repo_cert_decode(cv.mv_data, cv.mv_size, &c, msg,
	    sizeof(msg)) != 0) {
		err_why(why, whylen, "certificate of a revocation: %s", msg);
		return ERR_REPO;
	}
	*local = c.der_len == 0;
	repo_cert_clear(&c);
	return 0;
}

static int
dg_rev(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen)
{
	struct digest_ctx *d = arg;
	struct repo_revocation rev;
	bool local;
	int rc;

	if ((rc = repo_revocation_read(k, v, &rev, why, whylen)) != 0)
		return rc;
	if ((rc = dg_local_only(d, k, &rev, &local, why, whylen)) != 0 ||
	    local)
		return rc;
	d->out->revocations++;
	dg_u8(d, DIGEST_TAG_REV);
	dg_bytes(d, rev.issuer, strlen(rev.issuer));
	dg_bytes(d, rev.serial.b, rev.serial.len);
	dg_int(d, rev.revoked_at);
	dg_u8(d, (unsigned int)(rev.reason + 1));
	dg_u8(d, rev.origin);
	dg_bytes(d, rev.ref, rev.ref_len);
	return d->fail ? ERR_INTERNAL : 0;
}

int
repo_digest(struct repo *r, struct repo_digest *out, char *why, size_t whylen)
{
	struct digest_ctx d;
	unsigned int n = 0;
	int rc;

	if (r == NULL || out == NULL)
		return ERR_INVAL;
	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	d.out = out;
	if ((d.md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(d.md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(d.md);
		err_why(why, whylen, "cannot start SHA-256");
		return ERR_NOMEM;
	}
	if ((rc = repo_begin(r, false, &d.t, why, whylen)) == 0 &&
	    (rc = repo_scan(d.t, REPO_DB_CERTS, NULL, 0, dg_cert, &d, why,
	    whylen)) == 0 &&
	    (rc = repo_scan(d.t, REPO_DB_REVOKED, NULL, 0, dg_rev, &d, why,
	    whylen)) == 0 &&
	    (EVP_DigestFinal_ex(d.md, out->hash, &n) != 1 ||
	    n != REPO_DIGEST_LEN))
		rc = ERR_INTERNAL;
	if (rc == ERR_INTERNAL)
		err_why(why, whylen, "SHA-256 failed");
	repo_abort(d.t);
	EVP_MD_CTX_free(d.md);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}
