/* SPDX-License-Identifier: GPL-3.0-or-later */
/* CRLs of an issuer: complete and delta CRLs made from the repository, signed on the token, recorded, and served by the refresh rules. */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "hsm/hsm.h"
#include "proto/proto.h"
#include "signer/crl_local.h"
#include "signer/signer.h"

#define CRL_HEAD_MAX 4096       /* version, AlgorithmIdentifier, issuer name and times */
#define CRL_EXT_MAX 512         /* the crlExtensions we write */
#define CRL_SIG_TAIL_MAX (HSM_SIG_MAX + 64) /* AlgorithmIdentifier and BIT STRING after the TBS */
#define CRL_TAG_INTEGER 0x02
#define CRL_TAG_SEQUENCE 0x30
#define CRL_TAG_BITSTRING 0x03
#define CRL_TAG_EXPLICIT_0 0xa0
#define CRL_REFRESH_RETRY 60    /* crl_refresh: seconds before a failed issuer is tried again */

void
crl_clear(struct crl *c)
{
	if (c == NULL)
		return;
	free(c->der);
	memset(c, 0, sizeof(*c));
}

uint64_t
crl_number_next(uint64_t max, int64_t this_update, uint8_t node)
{
	uint64_t n = 0;

	if (this_update > 0)
		n = (uint64_t)this_update * CRL_NUMBER_NODE_FACTOR + node;
	return n > max ? n : max + 1;
}

/* What one CRL is being made from. */
struct crl_job {
	const struct cert_issuer *iss;
	struct hsm_key *key;
	uint8_t node;
	struct crl c;           /* number, times, marks; der at the end */
	int64_t expired_before; /* certificates that ended before this are left out */
	struct crl_der body;
};

/* ---- encoding ------------------------------------------------------------ */

/* Append the DER of an OpenSSL value. */
static int
put_item(struct crl_der *d, const void *val, const ASN1_ITEM *it)
{
	unsigned char *der = NULL;
	int n, rc;

	if ((n = ASN1_item_i2d((const ASN1_VALUE *)val, &der, it)) <= 0)
		return ERR_NOMEM;
	rc = crl_der_put(d, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

static int
put_time(struct crl_der *d, int64_t t)
{
	uint8_t b[CRL_DER_TIME_MAX];
	size_t n = crl_der_time(t, b);

	return n == 0 ? ERR_INVAL : crl_der_put(d, b, n);
}

/* version, signature, issuer, thisUpdate, nextUpdate (RFC 5280 5.1). */
static int
crl_head(const struct crl_job *j, const X509_ALGOR *alg, struct crl_der *h)
{
	static const uint8_t v2[] = { 0x02, 0x01, 0x01 };
	int rc;

	if ((rc = crl_der_init(h, 0, CRL_HEAD_MAX)) != 0)
		return rc;
	if ((rc = crl_der_put(h, v2, sizeof(v2))) != 0 ||
	    (rc = put_item(h, alg, ASN1_ITEM_rptr(X509_ALGOR))) != 0 ||
	    (rc = put_item(h, X509_get_subject_name(j->iss->cert),
	    ASN1_ITEM_rptr(X509_NAME))) != 0 ||
	    (rc = put_time(h, j->c.this_update)) != 0 ||
	    (rc = put_time(h, j->c.next_update)) != 0)
		crl_der_free(h);
	return rc;
}

static int
put_ext(struct crl_der *d, int nid, int crit, void *value)
{
	X509_EXTENSION *ext;
	int rc;

	if ((ext = X509V3_EXT_i2d(nid, crit, value)) == NULL)
		return ERR_NOMEM;
	rc = put_item(d, ext, ASN1_ITEM_rptr(X509_EXTENSION));
	X509_EXTENSION_free(ext);
	return rc;
}

static int
put_ext_number(struct crl_der *d, int nid, int crit, uint64_t v)
{
	ASN1_INTEGER *n;
	int rc = ERR_NOMEM;

	if ((n = ASN1_INTEGER_new()) != NULL && ASN1_INTEGER_set_uint64(n, v))
		rc = put_ext(d, nid, crit, n);
	ASN1_INTEGER_free(n);
	return rc;
}

/* crlExtensions [0]: authorityKeyIdentifier, cRLNumber, deltaCRLIndicator. */
static int
crl_exts(const struct crl_job *j, struct crl_der *x)
{
	AUTHORITY_KEYID *akid;
	int rc = ERR_NOMEM;

	if ((rc = crl_der_init(x, 2 * CRL_DER_HDR_MAX, CRL_EXT_MAX)) != 0)
		return rc;
	rc = ERR_NOMEM;
	if ((akid = AUTHORITY_KEYID_new()) != NULL &&
	    (akid->keyid = ASN1_OCTET_STRING_new()) != NULL &&
	    ASN1_OCTET_STRING_set(akid->keyid, j->iss->ski,
	    (int)j->iss->ski_len))
		rc = put_ext(x, NID_authority_key_identifier, 0, akid);
	AUTHORITY_KEYID_free(akid);
	if (rc == 0)
		rc = put_ext_number(x, NID_crl_number, 0, j->c.number);
	if (rc == 0 && j->c.delta_base > 0)
		rc = put_ext_number(x, NID_delta_crl, 1, j->c.delta_base);
	if (rc == 0 && (rc = crl_der_wrap(x, CRL_TAG_SEQUENCE)) == 0)
		rc = crl_der_wrap(x, CRL_TAG_EXPLICIT_0);
	if (rc != 0)
		crl_der_free(x);
	return rc;
}

/* ---- entries --------------------------------------------------------------- */

static int
crl_add_entry(const struct repo_crl_entry *e, void *arg)
{
	struct crl_job *j = arg;

	if (e->not_after != 0 && e->not_after < j->expired_before)
		return 0;       /* expired for longer than the grace period */
	j->c.entries++;
	return crl_der_entry(&j->body, e);
}

/* The room to ask for: entries times their largest size, within bounds. */
static size_t
crl_hint(uint64_t entries)
{
	uint64_t max = (CRL_DER_MAX - CRL_HEAD_MAX) / 2;

	return entries > max / CRL_DER_ENTRY_MAX ? (size_t)max :
	    (size_t)entries * CRL_DER_ENTRY_MAX;
}

/* The entries, with the marks and numbers read in the same transaction. */
static int
crl_read(struct signer *s, struct crl_job *j, char *why, size_t whylen)
{
	const char *id = j->iss->conf->id;
	struct repo_crl base;
	struct repo_txn *t = NULL;
	uint64_t max, after = 0;
	int rc;

	if ((rc = repo_begin(signer_repo(s), false, &t, why, whylen)) != 0)
		return rc;
	if ((rc = repo_crl_number_max(t, id, &max, why, whylen)) != 0 ||
	    (rc = repo_revlog_mark(t, id, &j->c.rev_mark, why, whylen)) != 0)
		goto out;
	/* A delta lists what was recorded after its base was made. */
	if (j->c.delta_base > 0) {
		if ((rc = repo_crl_base(t, id, j->c.delta_base, &base, why,
		    whylen)) != 0)
			goto out;
		after = base.rev_mark;
	}
	j->c.number = crl_number_next(max, j->c.this_update, j->node);
	if ((rc = crl_der_init(&j->body, CRL_HEAD_MAX + 4 * CRL_DER_HDR_MAX,
	    crl_hint(j->c.rev_mark - after))) != 0)
		goto out;
	if (after < j->c.rev_mark)
		rc = repo_crl_entries(t, id, after, crl_add_entry, j, why,
		    whylen);
	if (rc == ERR_NOSPACE || rc == ERR_NOMEM)
		err_why(why, whylen, "the CRL of '%s' does not fit in %u bytes "
		    "(or memory ran out)", id, (unsigned)CRL_DER_MAX);
out:
	repo_abort(t);
	return rc;
}

/* ---- signing ---------------------------------------------------------------- */

/* TBSCertList around the entries, signed; then the CertificateList around it. */
static int
crl_sign(struct crl_job *j, char *why, size_t whylen)
{
	const EVP_MD *md = hsm_key_default_md(j->key);
	struct crl_der h = { 0 }, x = { 0 };
	X509_ALGOR *alg = NULL;
	uint8_t *sig = NULL, bs[CRL_DER_HDR_MAX + 1];
	size_t siglen = 0, n;
	int rc;

	if ((rc = hsm_sig_alg(j->key, md, &alg)) != 0 ||
	    (rc = crl_head(j, alg, &h)) != 0 || (rc = crl_exts(j, &x)) != 0)
		goto out;
	if ((j->body.len > 0 &&
	    (rc = crl_der_wrap(&j->body, CRL_TAG_SEQUENCE)) != 0) ||
	    (rc = crl_der_prepend(&j->body, h.buf + h.head, h.len)) != 0 ||
	    (rc = crl_der_put(&j->body, x.buf + x.head, x.len)) != 0 ||
	    (rc = crl_der_wrap(&j->body, CRL_TAG_SEQUENCE)) != 0)
		goto out;
	rc = hsm_sign(j->key, md, j->body.buf + j->body.head, j->body.len,
	    &sig, &siglen, why, whylen);
	if (rc != 0)
		goto out;
	bs[0] = CRL_TAG_BITSTRING;
	n = 1;
	if (siglen + 1 < 0x80)
		bs[n++] = (uint8_t)(siglen + 1);
	else if (siglen + 1 <= 0xff) {
		bs[n++] = 0x81;
		bs[n++] = (uint8_t)(siglen + 1);
	} else {
		bs[n++] = 0x82;
		bs[n++] = (uint8_t)((siglen + 1) >> 8);
		bs[n++] = (uint8_t)(siglen + 1);
	}
	bs[n++] = 0x00;         /* no unused bits */
	if ((rc = put_item(&j->body, alg, ASN1_ITEM_rptr(X509_ALGOR))) != 0 ||
	    (rc = crl_der_put(&j->body, bs, n)) != 0 ||
	    (rc = crl_der_put(&j->body, sig, siglen)) != 0 ||
	    (rc = crl_der_wrap(&j->body, CRL_TAG_SEQUENCE)) != 0)
		goto out;
out:
	if (rc != 0 && rc != ERR_HSM && rc != ERR_PIN && rc != ERR_NOT_FOUND)
		err_why(why, whylen, "cannot encode the CRL of '%s'",
		    j->iss->conf->id);
	free(sig);
	X509_ALGOR_free(alg);
	crl_der_free(&h);
	crl_der_free(&x);
	return rc;
}

/* The entries of revokedCertificates: each a SEQUENCE opening with a positive INTEGER. */
static int
crl_count_entries(const struct crl_tlv *list, uint64_t *n)
{
	struct crl_rd r, er;
	struct crl_tlv e, sn;

	*n = 0;
	crl_rd_init(&r, list->val, list->len);
	while (!crl_rd_end(&r)) {
		if (crl_der_next(&r, &e) != 0 || e.tag != CRL_TAG_SEQUENCE)
			return ERR_DECODE;
		crl_rd_init(&er, e.val, e.len);
		if (crl_der_next(&er, &sn) != 0 || sn.tag != CRL_TAG_INTEGER ||
		    sn.len < 1 || (sn.val[0] & 0x80) != 0)
			return ERR_DECODE;
		(*n)++;
	}
	return 0;
}

/* TBSCertList: v2, the same AlgorithmIdentifier as outside, the entries counted. */
static int
crl_walk_tbs(const struct crl_tlv *tbs, const struct crl_tlv *alg,
    uint64_t *entries)
{
	static const uint8_t v2[] = { 0x02, 0x01, 0x01 };
	struct crl_tlv f[5], x = { 0 };
	struct crl_rd r;
	size_t i;

	*entries = 0;
	crl_rd_init(&r, tbs->val, tbs->len);
	for (i = 0; i < 5; i++)
		if (crl_der_next(&r, &f[i]) != 0)
			return ERR_DECODE;
	if (f[0].tlv_len != sizeof(v2) || memcmp(f[0].tlv, v2, sizeof(v2)) != 0 ||
	    f[1].tlv_len != alg->tlv_len ||
	    memcmp(f[1].tlv, alg->tlv, alg->tlv_len) != 0 ||
	    f[2].tag != CRL_TAG_SEQUENCE)
		return ERR_DECODE;
	if (!crl_rd_end(&r) && crl_der_next(&r, &x) != 0)
		return ERR_DECODE;
	if (x.tag == CRL_TAG_SEQUENCE) {
		if (crl_count_entries(&x, entries) != 0 || *entries == 0 ||
		    crl_der_next(&r, &x) != 0)
			return ERR_DECODE;
	}
	return x.tag == CRL_TAG_EXPLICIT_0 && crl_rd_end(&r) ? 0 : ERR_DECODE;
}

/*
 * Read the signed CRL back and check it is what was meant: the structure
 * is sound, every entry is there, and the signature over the very bytes
 * that relying parties will hash verifies with the CA key. (OpenSSL's
 * d2i_X509_CRL would take seconds and a gigabyte for 10^6 entries; the
 * tests check our CRLs with OpenSSL, GnuTLS and NSS.)
 */
static int
crl_check(const struct crl_job *j, const uint8_t *der, size_t len, char *why,
    size_t whylen)
{
	struct crl_tlv top, tbs, alg, sig;
	struct crl_rd r;
	EVP_MD_CTX *ctx = NULL;
	uint64_t entries;
	int rc = ERR_INTERNAL;

	crl_rd_init(&r, der, len);
	if (crl_der_next(&r, &top) != 0 || top.tag != CRL_TAG_SEQUENCE ||
	    !crl_rd_end(&r)) {
		err_why(why, whylen, "the CRL of '%s' is not one DER SEQUENCE",
		    j->iss->conf->id);
		return ERR_INTERNAL;
	}
	crl_rd_init(&r, top.val, top.len);
	if (crl_der_next(&r, &tbs) != 0 || crl_der_next(&r, &alg) != 0 ||
	    crl_der_next(&r, &sig) != 0 || !crl_rd_end(&r) ||
	    tbs.tag != CRL_TAG_SEQUENCE || sig.tag != CRL_TAG_BITSTRING ||
	    sig.len < 2 || sig.val[0] != 0 ||
	    crl_walk_tbs(&tbs, &alg, &entries) != 0 || entries != j->c.entries) {
		err_why(why, whylen, "the CRL of '%s' does not read back as "
		    "it was written", j->iss->conf->id);
		return ERR_INTERNAL;
	}
	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, hsm_key_default_md(j->key), NULL,
	    hsm_key_pub(j->key)) == 1 &&
	    EVP_DigestVerify(ctx, sig.val + 1, sig.len - 1, tbs.tlv,
	    tbs.tlv_len) == 1)
		rc = 0;
	else
		err_why(why, whylen, "the CRL of '%s' does not verify with the "
		    "CA key", j->iss->conf->id);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* ---- recording ---------------------------------------------------------------- */

static int
crl_record_txn(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	const struct crl_job *j = ctx;
	struct repo_crl rc;

	memset(&rc, 0, sizeof(rc));
	snprintf(rc.issuer, sizeof(rc.issuer), "%s", j->iss->conf->id);
	rc.number = j->c.number;
	rc.delta_base = j->c.delta_base;
	rc.this_update = j->c.this_update;
	rc.next_update = j->c.next_update;
	rc.rev_mark = j->c.rev_mark;
	rc.entries = j->c.entries;
	rc.der = j->c.der;
	rc.der_len = j->c.len;
	return repo_crl_put(t, &rc, why, whylen);
}

/* Take the DER out of the job's buffer as a block of its own. */
static void
crl_take_der(struct crl_job *j)
{
	memmove(j->body.buf, j->body.buf + j->body.head, j->body.len);
	j->c.der = j->body.buf;
	j->c.len = j->body.len;
	memset(&j->body, 0, sizeof(j->body));   /* transferred */
}

static int
crl_job_init(struct signer *s, size_t i, uint64_t delta_base, int64_t now,
    struct crl_job *j, char *why, size_t whylen)
{
	const struct cert_issuer *issuers;
	const struct conf_crl *cc;
	size_t n;

	memset(j, 0, sizeof(*j));
	issuers = signer_issuers(s, &n);
	if (i >= n || (j->key = signer_issuer_key(s, i)) == NULL) {
		err_why(why, whylen, "no issuer key for CRL signing");
		return ERR_INVAL;
	}
	if (now < 0 || now > CRL_TIME_MAX - (int64_t)CONF_CRL_DAYS_MAX *
	    CERT_DAY_SECONDS) {
		err_why(why, whylen, "the clock is out of range for a CRL");
		return ERR_INVAL;
	}
	j->iss = &issuers[i];
	j->node = repo_node(signer_repo(s));
	cc = &j->iss->conf->crl;
	j->c.delta_base = delta_base;
	j->c.this_update = now;
	j->c.next_update = now + (int64_t)cc->lifetime_days * CERT_DAY_SECONDS;
	j->expired_before = now - (int64_t)cc->grace_days * CERT_DAY_SECONDS;
	return 0;
}

int
crl_make(struct signer *s, size_t i, uint64_t delta_base, int64_t now,
    struct crl *out, char *why, size_t whylen)
{
	struct crl_job j;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = crl_job_init(s, i, delta_base, now, &j, why, whylen)) != 0)
		return rc;
	if ((rc = crl_read(s, &j, why, whylen)) != 0 ||
	    (rc = crl_sign(&j, why, whylen)) != 0)
		goto out;
	crl_take_der(&j);
	if ((rc = crl_check(&j, j.c.der, j.c.len, why, whylen)) != 0 ||
	    (rc = repo_update(signer_repo(s), crl_record_txn, &j, why,
	    whylen)) != 0)
		goto out;
	*out = j.c;
	memset(&j.c, 0, sizeof(j.c));   /* transferred */
out:
	crl_clear(&j.c);
	crl_der_free(&j.body);
	return rc;
}

/* ---- serving ------------------------------------------------------------------- */

static void
crl_from_record(const struct repo_crl *r, struct crl *c)
{
	memset(c, 0, sizeof(*c));
	c->number = r->number;
	c->delta_base = r->delta_base;
	c->this_update = r->this_update;
	c->next_update = r->next_update;
	c->rev_mark = r->rev_mark;
	c->entries = r->entries;
}

/* When a CRL made at this_update is due to be made again. */
static int64_t
crl_refresh_at(const struct conf_crl *cc, int64_t this_update)
{
	return this_update + (int64_t)cc->lifetime_days * CERT_DAY_SECONDS *
	    cc->refresh_percent / 100;
}

/* Is the stored CRL r still the one to serve at now? */
static bool
crl_fresh(const struct conf_crl *cc, const struct repo_crl *r, uint64_t mark,
    int64_t now)
{
	return r->der != NULL && r->rev_mark == mark &&
	    now < crl_refresh_at(cc, r->this_update);
}

/*
 * The stored CRL to serve into *out, its DER copied unless its number is
 * have; or *make when a new one is due and regen allows it.
 */
static int
crl_stored(struct signer *s, size_t i, uint64_t delta_base, int64_t now,
    bool regen, uint64_t have, struct crl *out, bool *make, char *why,
    size_t whylen)
{
	const struct cert_issuer *iss;
	struct repo_crl r;
	struct repo_txn *t = NULL;
	const char *id;
	uint64_t mark;
	size_t n;
	int rc;

	iss = &signer_issuers(s, &n)[i];
	id = iss->conf->id;
	*make = false;
	if ((rc = repo_begin(signer_repo(s), false, &t, why, whylen)) != 0)
		return rc;
	if ((delta_base > 0 &&
	    (rc = repo_crl_base(t, id, delta_base, &r, why, whylen)) != 0) ||
	    (rc = repo_revlog_mark(t, id, &mark, why, whylen)) != 0)
		goto out;
	rc = repo_crl_latest(t, id, delta_base, &r, why, whylen);
	if (rc == ERR_NOT_FOUND && regen)
		*make = true;
	if (rc != 0 || (regen && !crl_fresh(&iss->conf->crl, &r, mark, now))) {
		*make = rc == 0 || *make;
		rc = *make ? 0 : rc;
		goto out;
	}
	crl_from_record(&r, out);
	out->len = r.der_len;
	if (r.der != NULL && r.number != have && have != CRL_META_ONLY) {
		if ((out->der = malloc(r.der_len)) == NULL) {
			rc = ERR_NOMEM;
			goto out;
		}
		memcpy(out->der, r.der, r.der_len);
	}
out:
	repo_abort(t);
	return rc;
}

int
crl_get(struct signer *s, size_t i, uint64_t delta_base, int64_t now,
    bool regen, uint64_t have, struct crl *out, char *why, size_t whylen)
{
	size_t n;
	bool make;
	int rc;

	memset(out, 0, sizeof(*out));
	(void)signer_issuers(s, &n);
	if (i >= n)
		return ERR_INVAL;
	rc = crl_stored(s, i, delta_base, now, regen, have, out, &make, why,
	    whylen);
	if (rc != 0 || !make)
		return rc;
	return crl_make(s, i, delta_base, now, out, why, whylen);
}

/* ---- the timer ------------------------------------------------------------------ */

int
crl_refresh(struct signer *s, int64_t now, int64_t *next, char *why,
    size_t whylen)
{
	const struct cert_issuer *issuers;
	const struct conf_crl *cc;
	struct crl c;
	int64_t due;
	size_t i, n;
	int rc, first = 0;

	issuers = signer_issuers(s, &n);
	*next = INT64_MAX;
	for (i = 0; i < n; i++) {
		cc = &issuers[i].conf->crl;
		rc = crl_get(s, i, 0, now, false, CRL_META_ONLY, &c, NULL, 0);
		due = rc == 0 ? crl_refresh_at(cc, c.this_update) : now;
		crl_clear(&c);
		if (due <= now) {
			rc = crl_make(s, i, 0, now, &c, first == 0 ? why : NULL,
			    first == 0 ? whylen : 0);
			due = rc == 0 ? crl_refresh_at(cc, c.this_update) :
			    now + CRL_REFRESH_RETRY;
			crl_clear(&c);
			if (rc != 0 && first == 0)
				first = rc;
		}
		if (due < *next)
			*next = due;
	}
	return first;
}
