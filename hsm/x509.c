/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm: certificates and CRLs signed on the token: stamp the algorithm, sign the to-be-signed DER, assemble, parse back, verify. */

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/provider.h>

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

/*
 * Sign the to-be-signed DER on the token and put the envelope into d. The
 * signature is not verified here: the caller parses d back and verifies the
 * result as a whole (hsm_signed_ok), which checks the same signature over
 * the very bytes that are returned.
 */
static int
hsm_sign_tbs(struct hsm_key *k, const EVP_MD *md, const X509_ALGOR *alg,
    const uint8_t *tbs, size_t tbslen, struct hsm_der *d, char *why,
    size_t whylen)
{
	uint8_t dgst[HSM_DIGEST_MAX], *sig = NULL;
	unsigned int dlen = 0;
	size_t siglen = 0;
	int r;

	if (tbslen > HSM_TBS_MAX) {
		err_why(why, whylen, "to-be-signed part of %zu bytes exceeds "
		    "%u bytes", tbslen, HSM_TBS_MAX);
		return ERR_INVAL;
	}
	if (!EVP_Digest(tbs, tbslen, dgst, &dlen, md, NULL)) {
		err_why(why, whylen, "digest failed");
		return ERR_INTERNAL;
	}
	if ((r = hsm_sign_unverified(k, md, dgst, dlen, &sig, &siglen, why,
	    whylen)) != 0)
		return r == HSM_MISMATCH ? ERR_HSM : r;
	if ((r = hsm_envelope(tbs, tbslen, alg, sig, siglen, d)) != 0)
		err_why(why, whylen, "cannot assemble the signed structure");
	free(sig);
	return r;
}

/* Count the outcome of the final check of a signed certificate or CRL. */
static int
hsm_signed_ok(struct hsm_key *k, int verified, const char *what, char *why,
    size_t whylen)
{
	if (verified != 1) {
		k->h->stats.failures++;
		err_why(why, whylen, "%s: the signed result does not verify "
		    "with the CA public key", what);
		return ERR_HSM;
	}
	k->h->stats.signatures++;
	return 0;
}

/*
 * A library context without providers. A certificate parsed in it keeps
 * its subject public key undecoded: OpenSSL 3.0 decodes keys through its
 * slow decoder framework, and the subject key is the caller's to check, not
 * ours. The issuer's signature is still verified, by the provider of the
 * issuer's key.
 */
static OSSL_LIB_CTX *hsm_parse_libctx;
static CRYPTO_ONCE hsm_parse_once = CRYPTO_ONCE_STATIC_INIT;

static void
hsm_parse_init(void)
{
	OSSL_LIB_CTX *c;

	if ((c = OSSL_LIB_CTX_new()) != NULL &&
	    OSSL_PROVIDER_load(c, "null") == NULL) {
		OSSL_LIB_CTX_free(c);
		c = NULL;
	}
	/* Without it, certificates are parsed (more slowly) as usual. */
	hsm_parse_libctx = c;
	ERR_clear_error();
}

/* Parse DER back as a certificate, all of it, without decoding its key. */
static X509 *
hsm_parse_x509(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (!CRYPTO_THREAD_run_once(&hsm_parse_once, hsm_parse_init))
		return NULL;
	x = (X509 *)ASN1_item_d2i_ex(NULL, &p, (long)len,
	    ASN1_ITEM_rptr(X509), hsm_parse_libctx, NULL);
	if (x != NULL && p != der + len) {
		X509_free(x);
		x = NULL;
	}
	return x;
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
hsm_sign_x509_der(struct hsm_key *k, X509 *tbs, const EVP_MD *md,
    uint8_t **out, size_t *outlen, char *why, size_t whylen)
{
	struct hsm_der d = { 0 };
	X509_ALGOR *alg = NULL;
	unsigned char *der = NULL;
	X509 *x = NULL;
	int len, r;

	if (out == NULL || outlen == NULL)
		return ERR_INVAL;
	*out = NULL;
	*outlen = 0;
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
	if ((x = hsm_parse_x509(d.buf, d.len)) == NULL) {
		err_why(why, whylen, "certificate: the signed result does not "
		    "parse");
		r = ERR_INTERNAL;
		goto out;
	}
	if ((r = hsm_signed_ok(k, X509_verify(x, k->pub), "certificate", why,
	    whylen)) != 0)
		goto out;
	*out = d.buf;
	*outlen = d.len;
	d.buf = NULL;   /* transferred */
 out:
	if (r != 0)
		ERR_clear_error();
	X509_free(x);
	X509_ALGOR_free(alg);
	OPENSSL_free(der);
	hsm_der_free(&d);
	return r;
}

int
hsm_sign_x509(struct hsm_key *k, X509 *tbs, const EVP_MD *md, X509 **out,
    char *why, size_t whylen)
{
	const unsigned char *p;
	uint8_t *der = NULL;
	size_t len = 0;
	int r;

	if (out == NULL)
		return ERR_INVAL;
	*out = NULL;
	if ((r = hsm_sign_x509_der(k, tbs, md, &der, &len, why, whylen)) != 0)
		return r;
	/* Parsed as usual this time: the caller gets a certificate with its key. */
	p = der;
	if ((*out = d2i_X509(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		err_why(why, whylen, "certificate: the signed result does not "
		    "parse");
		r = ERR_INTERNAL;
	}
	free(der);
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
	if ((r = hsm_signed_ok(k, X509_CRL_verify(crl, k->pub), "CRL", why,
	    whylen)) != 0)
		goto out;
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
