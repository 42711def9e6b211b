/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Certificate requests: strict DER parsing, proof of possession and the key policy of a profile. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/cert_local.h"
#include "signer/signer.h"

#define DER_LEN_BYTES_MAX 4     /* long-form length octets accepted (< 4 GiB) */

/* Universal tags whose DER encoding is always primitive. */
static bool
der_primitive_only(uint8_t tag)
{
	switch (tag & 0x1f) {
	case V_ASN1_BOOLEAN: case V_ASN1_INTEGER: case V_ASN1_BIT_STRING:
	case V_ASN1_OCTET_STRING: case V_ASN1_NULL: case V_ASN1_OBJECT:
	case V_ASN1_ENUMERATED: case V_ASN1_UTF8STRING:
	case V_ASN1_PRINTABLESTRING: case V_ASN1_T61STRING:
	case V_ASN1_IA5STRING: case V_ASN1_UTCTIME: case V_ASN1_GENERALIZEDTIME:
	case V_ASN1_UNIVERSALSTRING: case V_ASN1_BMPSTRING:
		return true;
	default:
		return false;
	}
}

/* Read one DER header at p (len bytes): *hdr header bytes, *clen content bytes. */
static const char *
der_header(const uint8_t *p, size_t len, size_t *hdr, size_t *clen)
{
	size_t n, i, v = 0;

	if (len < 2)
		return "truncated";
	if ((p[0] & 0x1f) == 0x1f)
		return "high tag number";
	if (p[0] == 0)
		return "end-of-contents";
	if (p[1] == 0x80)
		return "indefinite length";
	if (p[1] < 0x80) {
		*hdr = 2;
		*clen = p[1];
	} else {
		n = p[1] & 0x7f;
		if (n > DER_LEN_BYTES_MAX)
			return "length too large";
		if (len - 2 < n)
			return "truncated";
		if (p[2] == 0)
			return "non-minimal length";
		for (i = 0; i < n; i++)
			v = (v << 8) | p[2 + i];
		if (v < 0x80)
			return "non-minimal length";
		*hdr = 2 + n;
		*clen = v;
	}
	if (*clen > len - *hdr)
		return "truncated";
	return NULL;
}

/* Walk a sequence of TLVs; on error *at is the offset from base. */
static const char *
der_walk(const uint8_t *base, const uint8_t *p, size_t len, int depth,
    size_t *at)
{
	size_t hdr, clen;
	const char *err;

	while (len > 0) {
		*at = (size_t)(p - base);
		if ((err = der_header(p, len, &hdr, &clen)) != NULL)
			return err;
		if ((p[0] & 0xc0) == 0 && (p[0] & 0x20) && der_primitive_only(p[0]))
			return "constructed encoding of a primitive type";
		if ((p[0] == V_ASN1_SEQUENCE || p[0] == V_ASN1_SET))
			return "primitive SEQUENCE or SET";
		if (p[0] & 0x20) {
			if (depth >= CERT_DER_DEPTH_MAX)
				return "nesting too deep";
			if ((err = der_walk(base, p + hdr, clen, depth + 1, at)) != NULL)
				return err;
		}
		p += hdr + clen;
		len -= hdr + clen;
	}
	return NULL;
}

/* The whole input is one well-formed DER TLV. */
static int
der_check(const uint8_t *der, size_t len, char *why, size_t whylen)
{
	size_t hdr, clen, at = 0;
	const char *err;

	if ((err = der_header(der, len, &hdr, &clen)) != NULL) {
		err_why(why, whylen, "CSR is not DER: %s at byte 0", err);
		return ERR_BAD_REQUEST;
	}
	if (hdr + clen != len) {
		err_why(why, whylen, "CSR is followed by %zu more byte(s)",
		    len - hdr - clen);
		return ERR_BAD_REQUEST;
	}
	if (der[0] != (V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED)) {
		err_why(why, whylen, "CSR is not a DER SEQUENCE");
		return ERR_BAD_REQUEST;
	}
	if ((err = der_walk(der, der, len, 0, &at)) != NULL) {
		err_why(why, whylen, "CSR is not DER: %s at byte %zu", err, at);
		return ERR_BAD_REQUEST;
	}
	return 0;
}

/* Re-encoding the parsed request must give the same bytes. */
static int
der_canonical(X509_REQ *req, const uint8_t *der, size_t len, char *why,
    size_t whylen)
{
	unsigned char *buf = NULL;
	int n;

	if (i2d_re_X509_REQ_tbs(req, NULL) <= 0 ||
	    (n = i2d_X509_REQ(req, &buf)) <= 0) {
		err_why(why, whylen, "CSR cannot be re-encoded");
		return ERR_BAD_REQUEST;
	}
	if ((size_t)n != len || memcmp(buf, der, len) != 0) {
		OPENSSL_free(buf);
		err_why(why, whylen, "CSR is not in canonical DER");
		return ERR_BAD_REQUEST;
	}
	OPENSSL_free(buf);
	return 0;
}

/*
 * A library context without providers. A request parsed in it keeps its
 * public key undecoded: OpenSSL 3.0 would decode it through its decoder
 * framework, which costs more than all our checks of the request together.
 */
static OSSL_LIB_CTX *csr_parse_libctx;
static CRYPTO_ONCE csr_parse_once = CRYPTO_ONCE_STATIC_INIT;

static void
csr_parse_init(void)
{
	OSSL_LIB_CTX *c;

	if ((c = OSSL_LIB_CTX_new()) != NULL &&
	    OSSL_PROVIDER_load(c, "null") == NULL) {
		OSSL_LIB_CTX_free(c);
		c = NULL;
	}
	/* Without it, requests are parsed (more slowly) as usual. */
	csr_parse_libctx = c;
	ERR_clear_error();
}

int
csr_parse(const uint8_t *der, size_t len, X509_REQ **out, char *why,
    size_t whylen)
{
	const unsigned char *p = der;
	X509_REQ *req = NULL;
	long version;
	int rc;

	*out = NULL;
	if (der == NULL || len == 0) {
		err_why(why, whylen, "CSR is empty");
		return ERR_BAD_REQUEST;
	}
	if (len > CERT_CSR_MAX) {
		err_why(why, whylen, "CSR is larger than %d bytes", CERT_CSR_MAX);
		return ERR_BAD_REQUEST;
	}
	if ((rc = der_check(der, len, why, whylen)) != 0)
		return rc;
	/* The key is decoded when it is checked (cert_key_decode), not here. */
	if (!CRYPTO_THREAD_run_once(&csr_parse_once, csr_parse_init) ||
	    (req = (X509_REQ *)ASN1_item_d2i_ex(NULL, &p, (long)len,
	    ASN1_ITEM_rptr(X509_REQ), csr_parse_libctx, NULL)) == NULL ||
	    p != der + len) {
		err_why(why, whylen, "CSR is not a PKCS#10 certification request");
		rc = ERR_BAD_REQUEST;
		goto out;
	}
	if ((version = X509_REQ_get_version(req)) != X509_REQ_VERSION_1) {
		err_why(why, whylen, "CSR version %ld is not 0 (v1)", version);
		rc = ERR_BAD_REQUEST;
		goto out;
	}
	if ((rc = der_canonical(req, der, len, why, whylen)) != 0)
		goto out;
	*out = req;
	req = NULL;     /* transferred */
out:
	ERR_clear_error();
	X509_REQ_free(req);
	return rc;
}

/* The curves we support: the name a profile uses, and whether h = 1. */
static const struct {
	int nid;
	const char *name;
	bool prime_order;       /* cofactor 1: every point but O has order n */
} curves[] = {
	{ NID_X9_62_prime256v1, "P-256", true },
	{ NID_secp384r1, "P-384", true },
};
#define N_CURVES (sizeof(curves) / sizeof(curves[0]))

/*
 * The domain parameters of each curve, made once: a key copies them, which
 * costs a third of making the group again from its name for every key.
 */
static EVP_PKEY *curve_params[N_CURVES];
static CRYPTO_ONCE curve_once = CRYPTO_ONCE_STATIC_INIT;

static void
curve_params_init(void)
{
	OSSL_PARAM params[2];
	EVP_PKEY_CTX *ctx;
	size_t i;

	for (i = 0; i < N_CURVES; i++) {
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_PKEY_PARAM_GROUP_NAME, (char *)OBJ_nid2sn(curves[i].nid),
		    0);
		params[1] = OSSL_PARAM_construct_end();
		if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL)
			continue;
		/* Left NULL on failure: keys are then made from the name. */
		if (EVP_PKEY_fromdata_init(ctx) != 1 ||
		    EVP_PKEY_fromdata(ctx, &curve_params[i],
		    EVP_PKEY_KEY_PARAMETERS, params) != 1)
			curve_params[i] = NULL;
		EVP_PKEY_CTX_free(ctx);
	}
	ERR_clear_error();
}

/* The index of a curve we support in curves[], or -1. */
static int
curve_index(int nid)
{
	size_t i;

	for (i = 0; i < N_CURVES; i++)
		if (curves[i].nid == nid)
			return (int)i;
	return -1;
}

/* The name a profile uses for a curve, or NULL if we support none. */
static const char *
curve_profile_name(int nid)
{
	int i = curve_index(nid);

	return i >= 0 ? curves[i].name : NULL;
}

static bool
curve_prime_order(int nid)
{
	int i = curve_index(nid);

	return i >= 0 && curves[i].prime_order;
}

/* The curve of an EC key's parameters (a named curve), or NID_undef. */
static int
key_curve(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	int ptype;

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	return ptype == V_ASN1_OBJECT ? OBJ_obj2nid(pval) : NID_undef;
}

static EVP_PKEY *
key_decode_rsa(const unsigned char *pk, int pklen)
{
	const unsigned char *p = pk;
	EVP_PKEY *k;

	if ((k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, pklen)) != NULL &&
	    p != pk + pklen) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

/* From the curve's name. */
static EVP_PKEY *
key_decode_ec_named(int curve, const unsigned char *pk, int pklen)
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *k = NULL;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)OBJ_nid2sn(curve), 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)pk, (size_t)pklen);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL)
		return NULL;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return k;
}

/* Either way, the point is checked to lie on the curve as it is decoded. */
static EVP_PKEY *
key_decode_ec(int curve, const unsigned char *pk, int pklen)
{
	EVP_PKEY *k, *params;

	if (!CRYPTO_THREAD_run_once(&curve_once, curve_params_init) ||
	    (params = curve_params[curve_index(curve)]) == NULL)
		return key_decode_ec_named(curve, pk, pklen);
	if ((k = EVP_PKEY_new()) == NULL)
		return NULL;
	if (EVP_PKEY_copy_parameters(k, params) != 1 ||
	    EVP_PKEY_set_octet_string_param(k,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pk, (size_t)pklen) != 1) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

EVP_PKEY *
cert_key_decode(const X509_PUBKEY *key)
{
	ASN1_OBJECT *obj = NULL;
	const unsigned char *pk = NULL;
	X509_ALGOR *alg = NULL;
	EVP_PKEY *k = NULL;
	int pklen = 0, nid, curve;

	if (key == NULL || !X509_PUBKEY_get0_param(&obj, &pk, &pklen, &alg,
	    key) || pk == NULL || pklen <= 0)
		return NULL;
	nid = OBJ_obj2nid(obj);
	if (nid == NID_rsaEncryption)
		k = key_decode_rsa(pk, pklen);
	else if (nid == NID_X9_62_id_ecPublicKey &&
	    curve_profile_name(curve = key_curve(alg)) != NULL)
		k = key_decode_ec(curve, pk, pklen);
	ERR_clear_error();
	return k;
}

static int
check_rsa(EVP_PKEY *pkey, const struct conf_profile *p, const char *what,
    char *why, size_t whylen)
{
	uint32_t min = p->rsa_min_bits > CERT_RSA_MIN_BITS ? p->rsa_min_bits :
	    CERT_RSA_MIN_BITS;
	BIGNUM *n = NULL, *e = NULL;
	int bits = EVP_PKEY_get_bits(pkey), rc = 0;

	if (bits < 0 || (uint32_t)bits < min) {
		err_why(why, whylen, "%s RSA key of %d bits is shorter than the "
		    "minimum %u of profile '%s'", what, bits, min, p->name);
		return ERR_POLICY;
	}
	if (bits > CERT_RSA_MAX_BITS) {
		err_why(why, whylen, "%s RSA key of %d bits is longer than the "
		    "maximum %d", what, bits, CERT_RSA_MAX_BITS);
		return ERR_POLICY;
	}
	/* BR 6.1.5 */
	if (bits % 8 != 0) {
		err_why(why, whylen, "%s RSA modulus of %d bits is not a multiple "
		    "of 8", what, bits);
		return ERR_POLICY;
	}
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
		err_why(why, whylen, "%s RSA key cannot be read", what);
		rc = ERR_BAD_REQUEST;
	} else if (!BN_is_word(e, CERT_RSA_EXPONENT)) {
		if (BN_num_bits(e) <= 32)
			err_why(why, whylen, "%s RSA public exponent is %lu, "
			    "must be %d", what, (unsigned long)BN_get_word(e),
			    CERT_RSA_EXPONENT);
		else
			err_why(why, whylen, "%s RSA public exponent of %d bits, "
			    "must be %d", what, BN_num_bits(e), CERT_RSA_EXPONENT);
		rc = ERR_POLICY;
	} else if (!BN_is_odd(n)) {
		err_why(why, whylen, "%s RSA modulus is even", what);
		rc = ERR_POLICY;
	}
	BN_free(n);
	BN_free(e);
	return rc;
}

static int
check_ec(const X509_ALGOR *alg, EVP_PKEY *pkey,
    const struct conf_profile *p, const char *what, char *why, size_t whylen)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	const char *name;
	EVP_PKEY_CTX *ctx;
	int ptype, nid, ok;

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (ptype != V_ASN1_OBJECT) {
		err_why(why, whylen, "%s EC key without a named curve (explicit "
		    "curve parameters are not allowed)", what);
		return ERR_POLICY;
	}
	nid = OBJ_obj2nid(pval);
	if ((name = curve_profile_name(nid)) == NULL ||
	    !names_list_has(&p->curves, name, strlen(name))) {
		err_why(why, whylen, "%s EC curve %s is not allowed by profile "
		    "'%s'", what, name != NULL ? name : nid != NID_undef ?
		    OBJ_nid2sn(nid) : "(unknown)", p->name);
		return ERR_POLICY;
	}
	if (pkey == NULL) {
		err_why(why, whylen, "%s EC public key cannot be decoded", what);
		return ERR_BAD_REQUEST;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
		return ERR_NOMEM;
	/*
	 * Public key validation: Q is not the point at infinity, its
	 * coordinates are field elements and it lies on the curve (the quick
	 * check); full validation adds n * Q = O. On a curve of prime order
	 * (cofactor 1) that follows from the rest: the points form a group of
	 * prime order n, so every point but O has order n. The scalar
	 * multiplication it costs is left out there, and only there.
	 */
	ok = curve_prime_order(nid) ? EVP_PKEY_public_check_quick(ctx) :
	    EVP_PKEY_public_check(ctx);
	EVP_PKEY_CTX_free(ctx);
	if (ok != 1) {
		err_why(why, whylen, "%s EC public key is not a valid point", what);
		return ERR_POLICY;
	}
	return 0;
}

int
cert_key_check(const X509_PUBKEY *key, EVP_PKEY *pkey,
    const struct conf_profile *p, const char *what, char *why, size_t whylen)
{
	ASN1_OBJECT *obj = NULL;
	X509_ALGOR *alg = NULL;
	char oid[80];
	int nid, rc;

	if (key == NULL || !X509_PUBKEY_get0_param(&obj, NULL, NULL, &alg, key)) {
		err_why(why, whylen, "%s has no public key", what);
		return ERR_BAD_REQUEST;
	}
	nid = OBJ_obj2nid(obj);
	if (nid == NID_rsaEncryption) {
		if (pkey == NULL) {
			err_why(why, whylen, "%s RSA public key cannot be decoded",
			    what);
			rc = ERR_BAD_REQUEST;
		} else
			rc = check_rsa(pkey, p, what, why, whylen);
	} else if (nid == NID_X9_62_id_ecPublicKey)
		rc = check_ec(alg, pkey, p, what, why, whylen);
	else {
		if (nid != NID_undef)
			snprintf(oid, sizeof(oid), "%s", OBJ_nid2sn(nid));
		else
			OBJ_obj2txt(oid, sizeof(oid), obj, 1);
		err_why(why, whylen, "%s key type %s is not allowed (RSA or EC "
		    "only)", what, oid);
		rc = ERR_POLICY;
	}
	ERR_clear_error();
	return rc;
}

int
cert_key_type(const X509_PUBKEY *key)
{
	ASN1_OBJECT *obj = NULL;

	if (key == NULL || !X509_PUBKEY_get0_param(&obj, NULL, NULL, NULL, key))
		return NID_undef;
	return OBJ_obj2nid(obj);
}

int
cert_check_key(const X509_PUBKEY *key, const struct conf_profile *p,
    const char *what, char *why, size_t whylen)
{
	EVP_PKEY *pkey = cert_key_decode(key);
	int rc;

	rc = cert_key_check(key, pkey, p, what, why, whylen);
	EVP_PKEY_free(pkey);
	return rc;
}

int
csr_check(X509_REQ *req, const struct conf_profile *p, char *why,
    size_t whylen)
{
	const X509_PUBKEY *key = X509_REQ_get_X509_PUBKEY(req);
	EVP_PKEY *pkey = cert_key_decode(key);
	int rc;

	if ((rc = cert_key_check(key, pkey, p, "CSR", why, whylen)) != 0)
		goto out;
	/*
	 * Proof of possession, only once the key is known to be sane; in the
	 * default library context, whatever the request was parsed in.
	 */
	if (X509_REQ_verify_ex(req, pkey, NULL, NULL) != 1) {
		err_why(why, whylen, "CSR signature does not verify");
		rc = ERR_POLICY;
	}
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	return rc;
}
