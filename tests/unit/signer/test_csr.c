/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of CSR parsing, proof of possession and key policy, with good and hostile requests. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/signer.h"

#define WHY_LEN 256
#define DER_MAX 8192

static struct conf_profile profile;
static EVP_PKEY *rsa2048;
static char tmpdir[256];

static void
sl(struct conf_strlist *l, ...)
{
	va_list ap;
	const char *s;

	memset(l, 0, sizeof(*l));
	va_start(ap, l);
	while ((s = va_arg(ap, const char *)) != NULL)
		l->v[l->n++] = (char *)s;
	va_end(ap);
}

static EVP_PKEY *
rsa_key(unsigned bits, unsigned long e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k = NULL;
	BIGNUM *bn = BN_new();

	assert_non_null(ctx);
	assert_non_null(bn);
	assert_int_equal(BN_set_word(bn, e), 1);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn), 1);
	assert_int_equal(EVP_PKEY_generate(ctx, &k), 1);
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

/* A DER CSR for key with subject CN=cn (attrs adds two attributes). */
static size_t
csr_make(EVP_PKEY *key, const char *cn, bool attrs, uint8_t *der)
{
	X509_REQ *req = X509_REQ_new();
	unsigned char *p = der;
	int n;

	assert_non_null(req);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req),
	    "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0), 1);
	if (attrs) {
		assert_int_equal(X509_REQ_add1_attr_by_NID(req,
		    NID_pkcs9_unstructuredName, MBSTRING_ASC,
		    (const unsigned char *)"zzz", -1), 1);
		assert_int_equal(X509_REQ_add1_attr_by_NID(req,
		    NID_pkcs9_challengePassword, MBSTRING_ASC,
		    (const unsigned char *)"aaa", -1), 1);
	}
	assert_true(X509_REQ_sign(req, key, EVP_PKEY_get_base_id(key) ==
	    EVP_PKEY_ED25519 ? NULL : EVP_sha256()) > 0);
	assert_true((n = i2d_X509_REQ(req, NULL)) > 0 && n <= DER_MAX);
	assert_int_equal(i2d_X509_REQ(req, &p), n);
	X509_REQ_free(req);
	return (size_t)n;
}

/* Header and total length of the DER TLV at p (definite lengths). */
static size_t
tlv_hdr(const uint8_t *p)
{
	return p[1] < 0x80 ? 2 : 2 + (size_t)(p[1] & 0x7f);
}

static size_t
tlv_len(const uint8_t *p)
{
	size_t i, n = 0;

	if (p[1] < 0x80)
		return 2 + p[1];
	for (i = 0; i < (size_t)(p[1] & 0x7f); i++)
		n = (n << 8) | p[2 + i];
	return tlv_hdr(p) + n;
}

static int
parse_check(const uint8_t *der, size_t len, const struct conf_profile *p,
    char *why)
{
	X509_REQ *req = NULL;
	int rc;

	why[0] = '\0';
	if ((rc = csr_parse(der, len, &req, why, WHY_LEN)) != 0) {
		assert_null(req);
		return rc;
	}
	rc = csr_check(req, p, why, WHY_LEN);
	X509_REQ_free(req);
	return rc;
}

static void
expect_key(EVP_PKEY *key, int want, const char *msg)
{
	uint8_t der[DER_MAX];
	char why[WHY_LEN];
	size_t len = csr_make(key, "x.example.org", false, der);

	assert_int_equal(parse_check(der, len, &profile, why), want);
	assert_string_equal(why, msg);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_csr.XXXXXX",
	    t != NULL ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	memset(&profile, 0, sizeof(profile));
	profile.name = (char *)"server";
	profile.rsa_min_bits = 2048;
	sl(&profile.curves, "P-256", "P-384", NULL);
	rsa2048 = rsa_key(2048, RSA_F4);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa2048);
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* A CSR made by the openssl command; returns its length. */
static size_t
openssl_req(const char *name, const char *newkey, uint8_t *der)
{
	char cmd[1024], path[512];
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.der", tmpdir, name);
	snprintf(cmd, sizeof(cmd), "openssl req -new -newkey %s -nodes "
	    "-keyout %s/%s.key -subj '/CN=www.example.org/O=Example' "
	    "-outform DER -out %s >/dev/null 2>&1", newkey, tmpdir, name, path);
	assert_int_equal(system(cmd), 0);
	assert_non_null(f = fopen(path, "rb"));
	len = fread(der, 1, DER_MAX, f);
	fclose(f);
	assert_true(len > 0 && len < DER_MAX);
	return len;
}

static void
test_openssl_req(void **state)
{
	uint8_t der[DER_MAX];
	char why[WHY_LEN];
	size_t len;

	(void)state;
	len = openssl_req("ec", "ec -pkeyopt ec_paramgen_curve:P-256", der);
	assert_int_equal(parse_check(der, len, &profile, why), 0);
	len = openssl_req("p384", "ec -pkeyopt ec_paramgen_curve:P-384", der);
	assert_int_equal(parse_check(der, len, &profile, why), 0);
	len = openssl_req("rsa", "rsa:2048", der);
	assert_int_equal(parse_check(der, len, &profile, why), 0);
	len = openssl_req("explicit", "ec -pkeyopt ec_paramgen_curve:P-256 "
	    "-pkeyopt ec_param_enc:explicit", der);
	assert_int_equal(parse_check(der, len, &profile, why), ERR_POLICY);
	assert_string_equal(why, "CSR EC key without a named curve (explicit "
	    "curve parameters are not allowed)");
}

static void
test_memory_ok(void **state)
{
	uint8_t der[DER_MAX];
	char why[WHY_LEN];
	X509_REQ *req;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	size_t len;

	(void)state;
	len = csr_make(k, "ok.example.org", true, der);
	assert_int_equal(csr_parse(der, len, &req, why, sizeof(why)), 0);
	assert_int_equal(csr_check(req, &profile, why, sizeof(why)), 0);
	X509_REQ_free(req);
	len = csr_make(rsa2048, "rsa.example.org", false, der);
	assert_int_equal(parse_check(der, len, &profile, why), 0);
	EVP_PKEY_free(k);
}

static void
test_broken_signature(void **state)
{
	uint8_t der[DER_MAX];
	char why[WHY_LEN];
	EVP_PKEY *k = EVP_EC_gen("P-256");
	size_t len;

	(void)state;
	len = csr_make(k, "x.example.org", false, der);
	der[len - 3] ^= 0x01;   /* inside the ECDSA s value */
	assert_int_equal(parse_check(der, len, &profile, why), ERR_POLICY);
	assert_string_equal(why, "CSR signature does not verify");
	len = csr_make(rsa2048, "x.example.org", false, der);
	der[len - 1] ^= 0x80;
	assert_int_equal(parse_check(der, len, &profile, why), ERR_POLICY);
	assert_string_equal(why, "CSR signature does not verify");
	EVP_PKEY_free(k);
}

static void
test_rsa_refused(void **state)
{
	EVP_PKEY *k;

	(void)state;
	k = rsa_key(1024, RSA_F4);
	expect_key(k, ERR_POLICY, "CSR RSA key of 1024 bits is shorter than the "
	    "minimum 2048 of profile 'server'");
	EVP_PKEY_free(k);
	k = rsa_key(2048, 3);
	expect_key(k, ERR_POLICY, "CSR RSA public exponent is 3, must be 65537");
	EVP_PKEY_free(k);
	k = rsa_key(2052, RSA_F4);
	expect_key(k, ERR_POLICY, "CSR RSA modulus of 2052 bits is not a "
	    "multiple of 8");
	EVP_PKEY_free(k);
	profile.rsa_min_bits = 3072;
	expect_key(rsa2048, ERR_POLICY, "CSR RSA key of 2048 bits is shorter "
	    "than the minimum 3072 of profile 'server'");
	profile.rsa_min_bits = 1024;    /* the floor stays 2048 */
	k = rsa_key(1024, RSA_F4);
	expect_key(k, ERR_POLICY, "CSR RSA key of 1024 bits is shorter than the "
	    "minimum 2048 of profile 'server'");
	profile.rsa_min_bits = 2048;
	EVP_PKEY_free(k);
}

static void
test_curves_refused(void **state)
{
	EVP_PKEY *k;

	(void)state;
	k = EVP_EC_gen("secp521r1");
	expect_key(k, ERR_POLICY, "CSR EC curve secp521r1 is not allowed by "
	    "profile 'server'");
	EVP_PKEY_free(k);
	k = EVP_EC_gen("secp256k1");
	expect_key(k, ERR_POLICY, "CSR EC curve secp256k1 is not allowed by "
	    "profile 'server'");
	EVP_PKEY_free(k);
	k = EVP_EC_gen("P-384");
	sl(&profile.curves, "P-256", NULL);
	expect_key(k, ERR_POLICY, "CSR EC curve P-384 is not allowed by "
	    "profile 'server'");
	sl(&profile.curves, "P-256", "P-384", NULL);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	expect_key(k, ERR_POLICY, "CSR key type ED25519 is not allowed (RSA or "
	    "EC only)");
	EVP_PKEY_free(k);
}

/* An EC P-256 subjectPublicKeyInfo holding the point bytes pt as they are. */
static X509_PUBKEY *
spki_p256(const uint8_t *pt, size_t len)
{
	X509_PUBKEY *k = X509_PUBKEY_new();
	unsigned char *b = OPENSSL_memdup(pt, len);

	assert_non_null(k);
	assert_non_null(b);
	assert_int_equal(X509_PUBKEY_set0_param(k,
	    OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
	    OBJ_nid2obj(NID_X9_62_prime256v1), b, (int)len), 1);
	return k;
}

static void
expect_spki(const uint8_t *pt, size_t len, int want, const char *msg)
{
	X509_PUBKEY *k = spki_p256(pt, len);
	char why[WHY_LEN] = "";

	assert_int_equal(cert_check_key(k, &profile, "test", why, sizeof(why)),
	    want);
	assert_string_equal(why, msg);
	X509_PUBKEY_free(k);
}

/* Keys are decoded from their bytes: every point form, and no point off the curve. */
static void
test_ec_points(void **state)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	uint8_t pt[133], der[DER_MAX];
	char why[WHY_LEN];
	size_t len;

	(void)state;
	assert_int_equal(EVP_PKEY_get_octet_string_param(k,
	    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len), 1);
	assert_int_equal(len, 65);
	assert_int_equal(pt[0], 0x04);
	expect_spki(pt, len, 0, "");
	expect_spki(pt, len - 1, ERR_BAD_REQUEST,
	    "test EC public key cannot be decoded");
	pt[len - 1] ^= 0x01;    /* y + 1 or y - 1: off the curve */
	expect_spki(pt, len, ERR_BAD_REQUEST,
	    "test EC public key cannot be decoded");
	pt[len - 1] ^= 0x01;
	pt[0] = 0x00;           /* the point at infinity decodes, and is refused */
	expect_spki(pt, 1, ERR_POLICY, "test EC public key is not a valid point");
	/* A request with a compressed point is checked like any other. */
	assert_int_equal(EVP_PKEY_set_utf8_string_param(k,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"), 1);
	len = csr_make(k, "c.example.org", false, der);
	assert_int_equal(parse_check(der, len, &profile, why), 0);
	EVP_PKEY_free(k);
}

/* The RSAPublicKey in the bit string must be all there is. */
static void
test_rsa_encoding(void **state)
{
	const unsigned char *pk;
	unsigned char *b;
	X509_PUBKEY *k = NULL;
	char why[WHY_LEN];
	int pklen;

	(void)state;
	assert_int_equal(X509_PUBKEY_set(&k, rsa2048), 1);
	assert_int_equal(cert_check_key(k, &profile, "test", why, sizeof(why)),
	    0);
	assert_int_equal(X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, k), 1);
	assert_non_null(b = OPENSSL_malloc((size_t)pklen + 1));
	memcpy(b, pk, (size_t)pklen);
	b[pklen] = 0;
	assert_int_equal(X509_PUBKEY_set0_param(k,
	    OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL, NULL, b, pklen + 1), 1);
	assert_int_equal(cert_check_key(k, &profile, "test", why, sizeof(why)),
	    ERR_BAD_REQUEST);
	assert_string_equal(why, "test RSA public key cannot be decoded");
	X509_PUBKEY_free(k);
}

static void
expect_der(const uint8_t *der, size_t len, const char *msg)
{
	X509_REQ *req = (X509_REQ *)1;
	char why[WHY_LEN] = "";

	assert_int_equal(csr_parse(der, len, &req, why, sizeof(why)),
	    ERR_BAD_REQUEST);
	assert_null(req);
	assert_string_equal(why, msg);
}

static void
test_malformed(void **state)
{
	static const uint8_t indefinite[] = { 0x30, 0x80, 0x05, 0x00, 0, 0 };
	static const uint8_t nonminimal[] = { 0x30, 0x81, 0x02, 0x05, 0x00 };
	static const uint8_t octets[] = { 0x30, 0x04, 0x24, 0x02, 0x04, 0x00 };
	static const uint8_t primseq[] = { 0x30, 0x02, 0x10, 0x00 };
	static const uint8_t notseq[] = { 0x04, 0x00 };
	static const uint8_t notreq[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	static const uint8_t hightag[] = { 0x30, 0x03, 0x1f, 0x81, 0x00 };
	static uint8_t big[CERT_CSR_MAX + 1];
	uint8_t der[DER_MAX + 1];
	EVP_PKEY *k = EVP_EC_gen("P-256");
	size_t len = csr_make(k, "x.example.org", false, der);

	(void)state;
	expect_der(der, 0, "CSR is empty");
	expect_der(big, sizeof(big), "CSR is larger than 16384 bytes");
	expect_der(der, len - 1, "CSR is not DER: truncated at byte 0");
	der[len] = 0;
	expect_der(der, len + 1, "CSR is followed by 1 more byte(s)");
	expect_der(indefinite, sizeof(indefinite),
	    "CSR is not DER: indefinite length at byte 0");
	expect_der(nonminimal, sizeof(nonminimal),
	    "CSR is not DER: non-minimal length at byte 0");
	expect_der(octets, sizeof(octets), "CSR is not DER: constructed "
	    "encoding of a primitive type at byte 2");
	expect_der(primseq, sizeof(primseq),
	    "CSR is not DER: primitive SEQUENCE or SET at byte 2");
	expect_der(hightag, sizeof(hightag),
	    "CSR is not DER: high tag number at byte 2");
	expect_der(notseq, sizeof(notseq), "CSR is not a DER SEQUENCE");
	expect_der(notreq, sizeof(notreq),
	    "CSR is not a PKCS#10 certification request");
	EVP_PKEY_free(k);
}

static void
test_nesting(void **state)
{
	uint8_t der[80];
	size_t i;

	(void)state;
	for (i = 0; i < 40; i++) {
		der[2 * i] = 0x30;
		der[2 * i + 1] = (uint8_t)(78 - 2 * i);
	}
	expect_der(der, sizeof(der), "CSR is not DER: nesting too deep at byte 64");
}

static void
test_version(void **state)
{
	uint8_t der[DER_MAX];
	EVP_PKEY *k = EVP_EC_gen("P-256");
	size_t len = csr_make(k, "x.example.org", false, der), v;

	(void)state;
	v = tlv_hdr(der) + tlv_hdr(der + tlv_hdr(der));
	assert_memory_equal(der + v, "\x02\x01\x00", 3);
	der[v + 2] = 2;
	expect_der(der, len, "CSR version 2 is not 0 (v1)");
	EVP_PKEY_free(k);
}

/* Swapping the two attributes leaves valid BER but an unsorted SET OF. */
static void
test_not_canonical(void **state)
{
	uint8_t der[DER_MAX], tmp[DER_MAX];
	EVP_PKEY *k = EVP_EC_gen("P-256");
	size_t len = csr_make(k, "x.example.org", true, der), o, a, b;
	char why[WHY_LEN];

	(void)state;
	assert_int_equal(parse_check(der, len, &profile, why), 0);
	o = tlv_hdr(der);
	o += tlv_hdr(der + o);          /* into CertificationRequestInfo */
	o += tlv_len(der + o);          /* version */
	o += tlv_len(der + o);          /* subject */
	o += tlv_len(der + o);          /* subjectPKInfo */
	assert_int_equal(der[o], 0xa0);
	o += tlv_hdr(der + o);
	a = tlv_len(der + o);
	b = tlv_len(der + o + a);
	memcpy(tmp, der + o + a, b);
	memcpy(tmp + b, der + o, a);
	memcpy(der + o, tmp, a + b);
	expect_der(der, len, "CSR is not in canonical DER");
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openssl_req),
		cmocka_unit_test(test_memory_ok),
		cmocka_unit_test(test_broken_signature),
		cmocka_unit_test(test_rsa_refused),
		cmocka_unit_test(test_curves_refused),
		cmocka_unit_test(test_ec_points),
		cmocka_unit_test(test_rsa_encoding),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_not_canonical),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
