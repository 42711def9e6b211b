/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Full CRLs of an issuer, built from the repository's revocations and signed on the token. */

#include <string.h>

#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "hsm/hsm.h"
#include "proto/proto.h"
#include "signer/signer.h"

struct crl_ctx {
	X509_CRL *crl;
	int err;
};

static ASN1_INTEGER *
crl_serial(const struct serial *s)
{
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn;

	if ((bn = BN_bin2bn(s->b, (int)s->len, NULL)) == NULL)
		return NULL;
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return ai;
}

/* Add one revoked entry: serial, revocation date and, unless none, the reason code. */
static int
crl_add_entry(const struct repo_revocation *rev, void *arg)
{
	struct crl_ctx *ctx = arg;
	X509_REVOKED *r = NULL;
	ASN1_INTEGER *sn = NULL;
	ASN1_TIME *at = NULL;
	ASN1_ENUMERATED *reason = NULL;
	int rc = ERR_NOMEM;

	if ((r = X509_REVOKED_new()) == NULL ||
	    (sn = crl_serial(&rev->serial)) == NULL ||
	    (at = ASN1_TIME_set(NULL, (time_t)rev->revoked_at)) == NULL)
		goto out;
	if (!X509_REVOKED_set_serialNumber(r, sn) ||
	    !X509_REVOKED_set_revocationDate(r, at))
		goto out;
	if (rev->reason != CRL_REASON_NONE) {
		if ((reason = ASN1_ENUMERATED_new()) == NULL ||
		    !ASN1_ENUMERATED_set(reason, rev->reason) ||
		    !X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0))
			goto out;
	}
	if (!X509_CRL_add0_revoked(ctx->crl, r))
		goto out;
	r = NULL; /* transferred */
	rc = 0;
out:
	X509_REVOKED_free(r);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(at);
	ASN1_ENUMERATED_free(reason);
	ctx->err = rc;
	return rc;
}

/* Version 2, issuer, times, AKI and CRL number. */
static int
crl_header(X509_CRL *crl, const struct cert_issuer *iss, int64_t now,
    int64_t next, uint64_t number)
{
	AUTHORITY_KEYID *akid = NULL;
	ASN1_INTEGER *num = NULL;
	ASN1_TIME *t1 = NULL, *t2 = NULL;
	int ok = 0;

	if ((akid = AUTHORITY_KEYID_new()) == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(akid->keyid, iss->ski, (int)iss->ski_len) ||
	    (num = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_uint64(num, number) ||
	    (t1 = ASN1_TIME_set(NULL, (time_t)now)) == NULL ||
	    (t2 = ASN1_TIME_set(NULL, (time_t)next)) == NULL)
		goto out;
	ok = X509_CRL_set_version(crl, 1) &&
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(iss->cert)) &&
	    X509_CRL_set1_lastUpdate(crl, t1) &&
	    X509_CRL_set1_nextUpdate(crl, t2) &&
	    X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0) &&
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
out:
	AUTHORITY_KEYID_free(akid);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	return ok ? 0 : ERR_NOMEM;
}

/* The unsigned CRL of issuer i at now. */
static int
crl_tbs(struct signer *s, const struct cert_issuer *iss, int64_t now,
    uint64_t number, X509_CRL **out, char *why, size_t whylen)
{
	struct crl_ctx ctx = { NULL, 0 };
	struct repo_txn *t = NULL;
	int64_t next;
	int rc;

	next = now + (int64_t)iss->conf->crl.lifetime_days * CERT_DAY_SECONDS;
	if ((ctx.crl = X509_CRL_new()) == NULL ||
	    crl_header(ctx.crl, iss, now, next, number) != 0) {
		err_why(why, whylen, "out of memory building the CRL of '%s'",
		    iss->conf->id);
		rc = ERR_NOMEM;
		goto out;
	}
	if ((rc = repo_begin(signer_repo(s), false, &t, why, whylen)) != 0)
		goto out;
	rc = repo_revoked_foreach(t, iss->conf->id, crl_add_entry, &ctx, why,
	    whylen);
	if (rc != 0) {
		if (ctx.err != 0)
			err_why(why, whylen, "out of memory building the CRL "
			    "of '%s'", iss->conf->id);
		goto out;
	}
	X509_CRL_sort(ctx.crl);
	*out = ctx.crl;
	ctx.crl = NULL; /* transferred */
out:
	repo_abort(t);
	X509_CRL_free(ctx.crl);
	return rc;
}

int
crl_build(struct signer *s, size_t issuer_index, int64_t now, uint64_t number,
    uint8_t **der, size_t *len, char *why, size_t whylen)
{
	const struct cert_issuer *issuers;
	struct hsm_key *key;
	X509_CRL *tbs = NULL, *crl = NULL;
	unsigned char *p = NULL;
	size_t n;
	int rc, l;

	*der = NULL;
	*len = 0;
	issuers = signer_issuers(s, &n);
	if (issuer_index >= n ||
	    (key = signer_issuer_key(s, issuer_index)) == NULL) {
		err_why(why, whylen, "no issuer key for CRL signing");
		return ERR_INVAL;
	}
	rc = crl_tbs(s, &issuers[issuer_index], now, number, &tbs, why, whylen);
	if (rc != 0)
		goto out;
	if ((rc = hsm_sign_crl(key, tbs, NULL, &crl, why, whylen)) != 0)
		goto out;
	if ((l = i2d_X509_CRL(crl, &p)) <= 0) {
		err_why(why, whylen, "cannot encode the CRL of '%s'",
		    issuers[issuer_index].conf->id);
		rc = ERR_INTERNAL;
		goto out;
	}
	*der = p;
	*len = (size_t)l;
	p = NULL; /* transferred */
out:
	OPENSSL_free(p);
	X509_CRL_free(tbs);
	X509_CRL_free(crl);
	return rc;
}
