/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Test helpers: a software CA written to a temporary CA_DIR, and CRLs it signs with chosen numbers, delta indicators and entries. */
#ifndef TESTS_UNIT_CLIENT_CRL_HELPER_H
#define TESTS_UNIT_CLIENT_CRL_HELPER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define TEST_CA_ID "test-ca"
#define TEST_CA_CN "Test CA"
#define TEST_CRL_LIFETIME 86400 /* nextUpdate - thisUpdate unless told otherwise */

struct test_ca {
	char dir[64];           /* CA_DIR: holds TEST_CA_ID.pem */
	EVP_PKEY *key;
	EVP_PKEY *other;        /* signs forgeries */
	X509 *cert;
};

/* What test_crl_make signs. Zero values give a valid complete CRL but for its number. */
struct test_crl {
	const char *issuer_cn;  /* NULL: TEST_CA_CN */
	EVP_PKEY *key;          /* NULL: the CA's key */
	bool no_number;         /* leave out the cRLNumber */
	uint64_t number;
	bool delta;             /* add a deltaCRLIndicator ... */
	uint64_t base;          /* ... with this base */
	bool delta_noncritical; /* ... not marked critical */
	const uint64_t *serials;
	size_t n;
	const uint64_t *removals; /* entries with reason removeFromCRL */
	size_t nremovals;
	bool no_next;           /* leave out nextUpdate */
	long next_after;        /* nextUpdate - thisUpdate; 0: TEST_CRL_LIFETIME */
	long this_ago;          /* thisUpdate is this many seconds ago */
};

static inline X509_NAME *
test_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	assert_non_null(n);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	return n;
}

static inline void
test_ca_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	assert_non_null(e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A self-signed P-256 CA certificate, written as dir/TEST_CA_ID.pem. */
static inline void
test_ca_make(struct test_ca *ca)
{
	X509_NAME *n = test_name(TEST_CA_CN);
	char path[128];
	FILE *f;

	memset(ca, 0, sizeof(*ca));
	strcpy(ca->dir, "/tmp/test_crl.XXXXXX");
	assert_non_null(mkdtemp(ca->dir));
	assert_non_null(ca->key = EVP_EC_gen("P-256"));
	assert_non_null(ca->other = EVP_EC_gen("P-256"));
	assert_non_null(ca->cert = X509_new());
	assert_int_equal(X509_set_version(ca->cert, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(ca->cert), 1), 1);
	assert_int_equal(X509_set_subject_name(ca->cert, n), 1);
	assert_int_equal(X509_set_issuer_name(ca->cert, n), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(ca->cert), -86400));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(ca->cert),
	    86400 * 365));
	assert_int_equal(X509_set_pubkey(ca->cert, ca->key), 1);
	test_ca_ext(ca->cert, NID_basic_constraints, "critical,CA:TRUE");
	test_ca_ext(ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
	test_ca_ext(ca->cert, NID_subject_key_identifier, "hash");
	assert_true(X509_sign(ca->cert, ca->key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	snprintf(path, sizeof(path), "%s/%s.pem", ca->dir, TEST_CA_ID);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(PEM_write_X509(f, ca->cert), 1);
	fclose(f);
}

static inline void
test_ca_free(struct test_ca *ca)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ca->dir);
	assert_int_equal(system(cmd), 0);
	EVP_PKEY_free(ca->key);
	EVP_PKEY_free(ca->other);
	X509_free(ca->cert);
}

static inline void
test_crl_entry(X509_CRL *c, uint64_t serial, time_t when, bool removal)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, when);
	ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

	assert_non_null(r);
	assert_non_null(sn);
	assert_non_null(t);
	assert_non_null(e);
	assert_int_equal(ASN1_INTEGER_set_uint64(sn, serial), 1);
	assert_int_equal(X509_REVOKED_set_serialNumber(r, sn), 1);
	assert_int_equal(X509_REVOKED_set_revocationDate(r, t), 1);
	assert_int_equal(ASN1_ENUMERATED_set(e, removal ?
	    CRL_REASON_REMOVE_FROM_CRL : CRL_REASON_KEY_COMPROMISE), 1);
	assert_int_equal(X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0,
	    0), 1);
	assert_int_equal(X509_CRL_add0_revoked(c, r), 1);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	ASN1_ENUMERATED_free(e);
}

static inline void
test_crl_int_ext(X509_CRL *c, int nid, uint64_t v, int crit)
{
	ASN1_INTEGER *ai = ASN1_INTEGER_new();

	assert_non_null(ai);
	assert_int_equal(ASN1_INTEGER_set_uint64(ai, v), 1);
	assert_int_equal(X509_CRL_add1_ext_i2d(c, nid, ai, crit, 0), 1);
	ASN1_INTEGER_free(ai);
}

/* A DER CRL as s says (the caller frees it with OPENSSL_free). */
static inline uint8_t *
test_crl_make(const struct test_ca *ca, const struct test_crl *s, size_t *len)
{
	X509_CRL *c = X509_CRL_new();
	X509_NAME *n = test_name(s->issuer_cn ? s->issuer_cn : TEST_CA_CN);
	time_t now = time(NULL) - s->this_ago;
	ASN1_TIME *t1 = ASN1_TIME_set(NULL, now), *t2;
	uint8_t *der = NULL;
	size_t i;
	int dl;

	t2 = ASN1_TIME_set(NULL, now + (s->next_after ? s->next_after :
	    TEST_CRL_LIFETIME));
	assert_non_null(c);
	assert_int_equal(X509_CRL_set_version(c, 1), 1);
	assert_int_equal(X509_CRL_set_issuer_name(c, n), 1);
	assert_int_equal(X509_CRL_set1_lastUpdate(c, t1), 1);
	if (!s->no_next)
		assert_int_equal(X509_CRL_set1_nextUpdate(c, t2), 1);
	if (!s->no_number)
		test_crl_int_ext(c, NID_crl_number, s->number, 0);
	if (s->delta)
		test_crl_int_ext(c, NID_delta_crl, s->base,
		    s->delta_noncritical ? 0 : 1);
	for (i = 0; i < s->n; i++)
		test_crl_entry(c, s->serials[i], now - 60, false);
	for (i = 0; i < s->nremovals; i++)
		test_crl_entry(c, s->removals[i], now - 60, true);
	assert_int_equal(X509_CRL_sort(c), 1);
	assert_true(X509_CRL_sign(c, s->key ? s->key : ca->key,
	    EVP_sha256()) > 0);
	assert_true((dl = i2d_X509_CRL(c, &der)) > 0);
	*len = (size_t)dl;
	X509_CRL_free(c);
	X509_NAME_free(n);
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	return der;
}

/* A complete CRL numbered number listing n serials. */
static inline uint8_t *
test_crl_simple(const struct test_ca *ca, uint64_t number,
    const uint64_t *serials, size_t n, size_t *len)
{
	struct test_crl s = { .number = number, .serials = serials, .n = n };

	return test_crl_make(ca, &s, len);
}

/* A delta CRL numbered number against base listing n serials. */
static inline uint8_t *
test_crl_delta(const struct test_ca *ca, uint64_t number, uint64_t base,
    const uint64_t *serials, size_t n, size_t *len)
{
	struct test_crl s = { .number = number, .delta = true, .base = base,
	    .serials = serials, .n = n };

	return test_crl_make(ca, &s, len);
}

#endif /* TESTS_UNIT_CLIENT_CRL_HELPER_H */
