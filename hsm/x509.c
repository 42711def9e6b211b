/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm: certificates and CRLs signed on the token: stamp the algorithm, sign the to-be-signed DER, assemble, parse back, verify. */

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>

#include "hsm/hsm_local.h"

#define HSM_TAG_BIT_STRING 0x03
#define HSM_TAG_SEQUENCE 0x30
#define HSM_TAG_EXPLICIT_0 0xa0

int
hsm_sig_alg(const struct hsm_key *k, const EVP_MD *md, X509_ALGOR **out)
{
	X509_ALGOR *alg;
	int md_nid, pkey_nid, sig_nid;

	if (out == NULL)
		return ERR_INVAL;
	*out = NULL;
	if (k == NULL)
		return ERR_INVAL;
	if (md == NULL)
		md = hsm_key_default_md(k);
	if (hsm_md_check(md, &md_nid) != 0)
		return ERR_INVAL;
	pkey_nid = k->type == HSM_KEY_RSA ? NID_rsaEncryption :
	    NID_X9_62_id_ecPublicKey;
	if (!OBJ_find_sigid_by_algs(&sig_nid, md_nid, pkey_nid))
		return ERR_INTERNAL;
	if ((alg = X509_ALGOR_new()) == NULL)
		return ERR_NOMEM;
	/* RFC 4055: NULL parameters with RSA; RFC 5758: none with ECDSA. */
	if (!X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid), k->type ==
	    HSM_KEY_RSA ? V_ASN1_NULL : V_ASN1_UNDEF, NULL)) {
		X509_ALGOR_free(alg);
		return ERR_NOMEM;
	}
	*out = alg;
	return 0;
}

/* SEQUENCE { tbs, alg, BIT STRING { no unused bits, sig } } into d. */
static int
hsm_envelope(const uint8_t *tbs, size_t tbslen, const X509_ALGOR *alg,
    const uint8_t *sig, size_t siglen, struct hsm_der *d)
{
	const uint8_t unused_bits = 0;
	size_t bits;
	int r;

	if ((r = hsm_der_put(d, tbs, tbslen)) != 0 ||
	    (r = hsm_der_put_item(d, alg, ASN1_ITEM_rptr(X509_ALGOR))) != 0)
		return r;
	bits = d->len;
	if ((r = hsm_der_put(d, &unused_bits, 1)) != 0 ||
	    (r = hsm_der_put(d, sig, siglen)) != 0 ||
	    (r = hsm_der_wrap(d, bits, HSM_TAG_BIT_STRING)) != 0)
		return r;
	return hsm_der_wrap(d, 0, HSM_TAG_SEQUENCE);
}

/* Sign the to-be-signed DER on the token and put the envelope into d. */
static int
hsm_sign_tbs(struct hsm_key *k, const EVP_MD *md, const X509_ALGOR *alg,
    const uint8_t *tbs, size_t tbslen, struct hsm_der *d, char *why,
    size_t whylen)
{
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int r;

	if (tbslen > HSM_TBS_MAX) {
		err_why(why, whylen, "to-be-signed part of %zu bytes exceeds "
		    "%u bytes", tbslen, HSM_TBS_MAX);
		return ERR_INVAL;
	}
	if ((r = hsm_sign(k, md, tbs, tbslen, &sig, &siglen, why,
	    whylen)) != 0)
		return r;
	if ((r = hsm_envelope(tbs, tbslen, alg, sig, siglen, d)) != 0)
		err_why(why, whylen, "cannot assemble the signed structure");
	free(sig);
	return r;
}

/* Common checks; md defaults to the key's; *alg is the caller's. */
static int
hsm_sign_begin(struct hsm_key *k, const void *tbs, const EVP_MD **md,
    X509_ALGOR **alg, char *why, size_t whylen)
{
	err_why(why, whylen, "%s", "");
	if (k == NULL || tbs == NULL) {
		err_why(why, whylen, "no key or nothing to sign");
		return ERR_INVAL;
	}
	if (*md == NULL)
		*md = hsm_key_default_md(k);
	if (hsm_sig_alg(k, *md, alg) != 0) {
		err_why(why, whylen, "the digest must be SHA-256, SHA-384 or "
		    "SHA-512");
		return ERR_INVAL;
	}
	return 0;
}

int
hsm_sign_x509(struct hsm_key *k, X509 *tbs, const EVP_MD *md, X509 **out,
    char *why, size_t whylen)
{
	struct hsm_der d = { 0 };
	X509_ALGOR *alg = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	X509 *x = NULL;
	int len, r;

	if (out == NULL)
		return ERR_INVAL;
	*out = NULL;
	if ((r = hsm_sign_begin(k, tbs, &md, &alg, why, whylen)) != 0)
		return r;
	/*
	 * OpenSSL 3.0 has no setter for the inner AlgorithmIdentifier; its
	 * getter returns the field itself, and i2d_re_X509_tbs() re-encodes.
	 */
	if (!X509_ALGOR_copy((X509_ALGOR *)X509_get0_tbs_sigalg(tbs), alg)) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((len = i2d_re_X509_tbs(tbs, &der)) <= 0) {
		err_why(why, whylen, "certificate: cannot encode the "
		    "to-be-signed part (a field is missing?)");
		r = ERR_INVAL;
		goto out;
	}
	if ((r = hsm_sign_tbs(k, md, alg, der, (size_t)len, &d, why,
	    whylen)) != 0)
		goto out;
	p = d.buf;
	if ((x = d2i_X509(NULL, &p, (long)d.len)) == NULL ||
	    p != d.buf + d.len) {
		err_why(why, whylen, "certificate: the signed result does not "
		    "parse");
		r = ERR_INTERNAL;
		goto out;
	}
	if (X509_verify(x, k->pub) != 1) {
		err_why(why, whylen, "certificate: the signed result does not "
		    "verify with the CA public key");
		r = ERR_HSM;
		goto out;
	}
	*out = x;
	x = NULL; /* transferred */
 out:
	if (r != 0)
		ERR_clear_error();
	X509_free(x);
	X509_ALGOR_free(alg);
	OPENSSL_free(der);
	hsm_der_free(&d);
	return r;
}

/* revokedCertificates, in stack order; absent when empty (RFC 5280 5.1.2.6). */
static int
hsm_crl_revoked(X509_CRL *crl, struct hsm_der *d)
{
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
	size_t from = d->len;
	int i, n, r;

	n = rev != NULL ? sk_X509_REVOKED_num(rev) : 0;
	if (n <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		if ((r = hsm_der_put_item(d, sk_X509_REVOKED_value(rev, i),
		    ASN1_ITEM_rptr(X509_REVOKED))) != 0)
			return r;
	}
	return hsm_der_wrap(d, from, HSM_TAG_SEQUENCE);
}

/* crlExtensions [0] EXPLICIT Extensions, when there are any. */
static int
hsm_crl_extensions(const X509_CRL *crl, struct hsm_der *d)
{
	const STACK_OF(X509_EXTENSION) *exts = X509_CRL_get0_extensions(crl);
	size_t from = d->len;
	int i, n, r;

	n = exts != NULL ? sk_X509_EXTENSION_num(exts) : 0;
	if (n <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		if ((r = hsm_der_put_item(d, sk_X509_EXTENSION_value(exts, i),
		    ASN1_ITEM_rptr(X509_EXTENSION))) != 0)
			return r;
	}
	if ((r = hsm_der_wrap(d, from, HSM_TAG_SEQUENCE)) != 0)
		return r;
	return hsm_der_wrap(d, from, HSM_TAG_EXPLICIT_0);
}

/*
 * TBSCertList (RFC 5280 5.1) of crl with signature alg: OpenSSL 3.0 offers
 * no way to set a CRL's inner AlgorithmIdentifier, so it is encoded here.
 */
static int
hsm_crl_tbs(X509_CRL *crl, const X509_ALGOR *alg, struct hsm_der *d,
    char *why, size_t whylen)
{
	static const uint8_t v2[] = { 0x02, 0x01, 0x01 };
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	long version = X509_CRL_get_version(crl);
	int r;

	if (version != X509_CRL_VERSION_1 && version != X509_CRL_VERSION_2) {
		err_why(why, whylen, "CRL: version %ld is not 1 or 2",
		    version + 1);
		return ERR_INVAL;
	}
	if (X509_CRL_get0_lastUpdate(crl) == NULL) {
		err_why(why, whylen, "CRL: thisUpdate is missing");
		return ERR_INVAL;
	}
	if (version == X509_CRL_VERSION_1 &&
	    X509_CRL_get0_extensions(crl) != NULL &&
	    sk_X509_EXTENSION_num(X509_CRL_get0_extensions(crl)) > 0) {
		err_why(why, whylen, "CRL: extensions need version 2");
		return ERR_INVAL;
	}
	if ((version == X509_CRL_VERSION_2 &&
	    (r = hsm_der_put(d, v2, sizeof(v2))) != 0) ||
	    (r = hsm_der_put_item(d, alg, ASN1_ITEM_rptr(X509_ALGOR))) != 0 ||
	    (r = hsm_der_put_item(d, X509_CRL_get_issuer(crl),
	    ASN1_ITEM_rptr(X509_NAME))) != 0 ||
	    (r = hsm_der_put_item(d, X509_CRL_get0_lastUpdate(crl),
	    ASN1_ITEM_rptr(ASN1_TIME))) != 0 ||
	    (next != NULL && (r = hsm_der_put_item(d, next,
	    ASN1_ITEM_rptr(ASN1_TIME))) != 0) ||
	    (r = hsm_crl_revoked(crl, d)) != 0 ||
	    (r = hsm_crl_extensions(crl, d)) != 0 ||
	    (r = hsm_der_wrap(d, 0, HSM_TAG_SEQUENCE)) != 0) {
		err_why(why, whylen, "CRL: cannot encode the to-be-signed "
		    "part (a field is missing or too large?)");
		return r;
	}
	return 0;
}

int
hsm_sign_crl(struct hsm_key *k, X509_CRL *tbs, const EVP_MD *md,
    X509_CRL **out, char *why, size_t whylen)
{
	struct hsm_der t = { 0 }, d = { 0 };
	X509_ALGOR *alg = NULL;
	const unsigned char *p;
	X509_CRL *crl = NULL;
	int r;

	if (out == NULL)
		return ERR_INVAL;
	*out = NULL;
	if ((r = hsm_sign_begin(k, tbs, &md, &alg, why, whylen)) != 0)
		return r;
	if ((r = hsm_crl_tbs(tbs, alg, &t, why, whylen)) != 0 ||
	    (r = hsm_sign_tbs(k, md, alg, t.buf, t.len, &d, why,
	    whylen)) != 0)
		goto out;
	p = d.buf;
	if ((crl = d2i_X509_CRL(NULL, &p, (long)d.len)) == NULL ||
	    p != d.buf + d.len) {
		err_why(why, whylen, "CRL: the signed result does not parse");
		r = ERR_INTERNAL;
		goto out;
	}
	if (X509_CRL_verify(crl, k->pub) != 1) {
		err_why(why, whylen, "CRL: the signed result does not verify "
		    "with the CA public key");
		r = ERR_HSM;
		goto out;
	}
	*out = crl;
	crl = NULL; /* transferred */
 out:
	if (r != 0)
		ERR_clear_error();
	X509_CRL_free(crl);
	X509_ALGOR_free(alg);
	hsm_der_free(&t);
	hsm_der_free(&d);
	return r;
}
