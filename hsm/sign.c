/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm: signatures made on the token in X.509 form (PKCS#1 v1.5 over a DigestInfo, or a DER ECDSA-Sig-Value), verified before use. */

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "hsm/hsm_local.h"

/* DER DigestInfo { { md, NULL }, OCTET STRING digest } (RFC 8017 9.2). */
static int
hsm_digest_info(int md_nid, const uint8_t *dgst, size_t dlen, uint8_t *out,
    size_t cap, size_t *outlen)
{
	X509_SIG *di;
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *os;
	ASN1_OBJECT *obj;
	unsigned char *p = out;
	int len, r = ERR_NOMEM;

	*outlen = 0;
	if ((di = X509_SIG_new()) == NULL)
		return ERR_NOMEM;
	X509_SIG_getm(di, &alg, &os);
	if ((obj = OBJ_nid2obj(md_nid)) == NULL ||
	    !X509_ALGOR_set0(alg, obj, V_ASN1_NULL, NULL) ||
	    !ASN1_OCTET_STRING_set(os, dgst, (int)dlen))
		goto out;
	len = i2d_X509_SIG(di, NULL);
	if (len <= 0 || (size_t)len > cap || i2d_X509_SIG(di, &p) != len) {
		r = ERR_INTERNAL;
		goto out;
	}
	*outlen = (size_t)len;
	r = 0;
 out:
	X509_SIG_free(di);
	return r;
}

/* The token's r || s (half bytes each) as a DER ECDSA-Sig-Value. */
static int
hsm_ecdsa_der(const uint8_t *raw, size_t half, uint8_t **der,
    size_t *derlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *br, *bs;
	unsigned char *p;
	int len, r = ERR_NOMEM;

	br = BN_bin2bn(raw, (int)half, NULL);
	bs = BN_bin2bn(raw + half, (int)half, NULL);
	if (br == NULL || bs == NULL || (es = ECDSA_SIG_new()) == NULL ||
	    !ECDSA_SIG_set0(es, br, bs))
		goto out;
	br = bs = NULL; /* transferred */
	if ((len = i2d_ECDSA_SIG(es, NULL)) <= 0) {
		r = ERR_INTERNAL;
		goto out;
	}
	if ((*der = malloc((size_t)len)) == NULL)
		goto out;
	p = *der;
	if (i2d_ECDSA_SIG(es, &p) != len) {
		free(*der);
		*der = NULL;
		r = ERR_INTERNAL;
		goto out;
	}
	*derlen = (size_t)len;
	r = 0;
 out:
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return r;
}

/* The token's raw signature in X.509 form; its length is checked first. */
static int
hsm_sig_encode(const struct hsm_key *k, const uint8_t *raw, size_t rawlen,
    uint8_t **out, size_t *outlen, char *why, size_t whylen)
{
	size_t want;

	want = k->type == HSM_KEY_RSA ? ((size_t)k->bits + 7) / 8 :
	    2 * k->field_len;
	/* Another size of key than the public key's: the wrong key. */
	if (rawlen != want) {
		err_why(why, whylen, "token '%s', key %s: the token returned a "
		    "signature of %zu bytes, not %zu as the CA public key "
		    "needs", k->h->label, k->id_hex, rawlen, want);
		return HSM_MISMATCH;
	}
	if (k->type == HSM_KEY_EC)
		return hsm_ecdsa_der(raw, k->field_len, out, outlen);
	if ((*out = malloc(rawlen)) == NULL)
		return ERR_NOMEM;
	memcpy(*out, raw, rawlen);
	*outlen = rawlen;
	return 0;
}

/* 1 when sig is k's signature over dgst made with md. */
static int
hsm_verify_digest(const struct hsm_key *k, const EVP_MD *md,
    const uint8_t *dgst, size_t dlen, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX *ctx;
	int ok = 0;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pub, NULL)) == NULL)
		return 0;
	if (EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
	    (k->type != HSM_KEY_RSA ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1))
		ok = EVP_PKEY_verify(ctx, sig, siglen, dgst, dlen) == 1;
	EVP_PKEY_CTX_free(ctx);
	/* A failed check leaves OpenSSL errors behind: ours to drop. */
	if (!ok)
		ERR_clear_error();
	return ok;
}

int
hsm_sign_unverified(struct hsm_key *k, const EVP_MD *md, const uint8_t *dgst,
    size_t dlen, uint8_t **sig, size_t *siglen, char *why, size_t whylen)
{
	uint8_t in[HSM_DIGESTINFO_MAX], raw[HSM_SIG_MAX];
	size_t inlen, rawlen = sizeof(raw);
	CK_MECHANISM_TYPE mech = CKM_ECDSA;
	int nid, r;

	err_why(why, whylen, "%s", "");
	if (sig == NULL || siglen == NULL)
		return ERR_INVAL;
	*sig = NULL;
	*siglen = 0;
	if (k == NULL || dgst == NULL)
		return ERR_INVAL;
	if (md == NULL)
		md = hsm_key_default_md(k);
	if (hsm_md_check(md, &nid) != 0 ||
	    dlen != (size_t)EVP_MD_get_size(md)) {
		err_why(why, whylen, "the digest must be SHA-256, SHA-384 or "
		    "SHA-512, and of its length");
		return ERR_INVAL;
	}
	if (k->type == HSM_KEY_RSA) {
		if ((r = hsm_digest_info(nid, dgst, dlen, in, sizeof(in),
		    &inlen)) != 0)
			return r;
		mech = CKM_RSA_PKCS;
	} else {
		memcpy(in, dgst, dlen);
		inlen = dlen;
	}
	if ((r = hsm_token_sign(k, mech, in, inlen, raw, &rawlen, why,
	    whylen)) != 0)
		return r;
	if ((r = hsm_sig_encode(k, raw, rawlen, sig, siglen, why,
	    whylen)) == HSM_MISMATCH)
		k->h->stats.failures++;
	return r;
}

/*
 * hsm_sign_digest(), except that a signature the public key does not
 * verify is HSM_MISMATCH, so that key binding can call it a configuration
 * error.
 */
int
hsm_sign_dgst(struct hsm_key *k, const EVP_MD *md, const uint8_t *dgst,
    size_t dlen, uint8_t **sig, size_t *siglen, char *why, size_t whylen)
{
	int r;

	if ((r = hsm_sign_unverified(k, md, dgst, dlen, sig, siglen, why,
	    whylen)) != 0)
		return r;
	if (md == NULL)
		md = hsm_key_default_md(k);
	if (!hsm_verify_digest(k, md, dgst, dlen, *sig, *siglen)) {
		free(*sig);
		*sig = NULL;
		*siglen = 0;
		k->h->stats.failures++;
		err_why(why, whylen, "token '%s', key %s: the signature does "
		    "not verify with the CA public key", k->h->label,
		    k->id_hex);
		return HSM_MISMATCH;
	}
	k->h->stats.signatures++;
	return 0;
}

int
hsm_sign_digest(struct hsm_key *k, const EVP_MD *md, const uint8_t *dgst,
    size_t dlen, uint8_t **sig, size_t *siglen, char *why, size_t whylen)
{
	int r;

	r = hsm_sign_dgst(k, md, dgst, dlen, sig, siglen, why, whylen);
	return r == HSM_MISMATCH ? ERR_HSM : r;
}

int
hsm_sign(struct hsm_key *k, const EVP_MD *md, const uint8_t *msg, size_t len,
    uint8_t **sig, size_t *siglen, char *why, size_t whylen)
{
	uint8_t dgst[HSM_DIGEST_MAX];
	unsigned int dlen = 0;

	if (sig != NULL)
		*sig = NULL;
	if (siglen != NULL)
		*siglen = 0;
	if (k == NULL || (msg == NULL && len > 0)) {
		err_why(why, whylen, "no key or no message");
		return ERR_INVAL;
	}
	if (md == NULL)
		md = hsm_key_default_md(k);
	if (hsm_md_check(md, NULL) != 0) {
		err_why(why, whylen, "the digest must be SHA-256, SHA-384 or "
		    "SHA-512");
		return ERR_INVAL;
	}
	if (!EVP_Digest(msg, len, dgst, &dlen, md, NULL)) {
		err_why(why, whylen, "digest failed");
		return ERR_INTERNAL;
	}
	return hsm_sign_digest(k, md, dgst, dlen, sig, siglen, why, whylen);
}
