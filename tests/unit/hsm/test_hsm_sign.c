/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm tests: every supported CA key signs certificates and CRLs on a SoftHSM2 token, and OpenSSL verifies them. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "hsm/hsm_local.h"
#include "tests/unit/hsm/softhsm_helper.h"

static const uint8_t key01[] = { 0x01 };

static int
setup(void **state)
{
	static struct th_token t;

	if (th_token_new(&t) != 0) {
		th_dump(&t);
		th_token_free(&t);
		return -1;
	}
	*state = &t;
	return 0;
}

static int
teardown(void **state)
{
	th_token_free(*state);
	return 0;
}

/* A token key of type keytype as t->k[0], its public key t->pub[0]. */
static struct hsm_key *
open_key(struct th_token *t, const char *keytype)
{
	char why[HSM_WHY_MAX];

	assert_int_equal(th_keygen(t, "01", keytype), 0);
	assert_non_null(t->pub[0] = th_pubkey(t, "01"));
	if (hsm_open(&t->direct, &t->h, why, sizeof(why)) != 0)
		fail_msg("hsm_open: %s", why);
	if (hsm_key_find(t->h, key01, sizeof(key01), t->pub[0], &t->k[0], why,
	    sizeof(why)) != 0)
		fail_msg("hsm_key_find: %s", why);
	return t->k[0];
}

/* The first element inside the DER SEQUENCE der: the to-be-signed part. */
static const uint8_t *
tbs_of(const uint8_t *der, size_t len, size_t *tbslen)
{
	size_t i = 1, n, hdr;

	assert_true(len > 4 && der[0] == 0x30);
	/* skip the outer length */
	i += (der[i] & 0x80) != 0 ? 1 + (der[i] & 0x7f) : 1;
	assert_true(i + 2 < len && der[i] == 0x30);
	if ((der[i + 1] & 0x80) == 0) {
		n = der[i + 1];
		hdr = 2;
	} else {
		size_t b = der[i + 1] & 0x7f, j;

		for (n = 0, j = 0; j < b; j++)
			n = (n << 8) | der[i + 2 + j];
		hdr = 2 + b;
	}
	assert_true(i + hdr + n <= len);
	*tbslen = hdr + n;
	return der + i;
}

/* The to-be-signed DER of x equals what OpenSSL itself encodes. */
static void
same_tbs_as_openssl(const uint8_t *ours, size_t ourlen, const uint8_t *theirs,
    size_t theirlen)
{
	const uint8_t *a, *b;
	size_t alen, blen;

	a = tbs_of(ours, ourlen, &alen);
	b = tbs_of(theirs, theirlen, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
}

static int
expected_sig_nid(const struct hsm_key *k, const EVP_MD *md)
{
	int nid = NID_undef, pkey = EVP_PKEY_get_base_id(hsm_key_pub(k));

	assert_true(OBJ_find_sigid_by_algs(&nid, EVP_MD_get_type(md),
	    pkey == EVP_PKEY_RSA ? NID_rsaEncryption :
	    NID_X9_62_id_ecPublicKey));
	return nid;
}

/* Signature algorithm as X.509 wants it: NULL parameters for RSA only. */
static void
check_alg(const struct hsm_key *k, const X509_ALGOR *outer,
    const X509_ALGOR *inner, const EVP_MD *md)
{
	const ASN1_OBJECT *obj;
	int ptype, rsa;

	rsa = EVP_PKEY_get_base_id(hsm_key_pub(k)) == EVP_PKEY_RSA;
	X509_ALGOR_get0(&obj, &ptype, NULL, outer);
	assert_int_equal(OBJ_obj2nid(obj), expected_sig_nid(k, md));
	assert_int_equal(ptype, rsa ? V_ASN1_NULL : V_ASN1_UNDEF);
	assert_int_equal(X509_ALGOR_cmp(outer, inner), 0);
}

/* Sign tbs (then freed) with k; the certificate verifies in-process. */
static X509 *
sign_cert(struct hsm_key *k, X509 *tbs, const EVP_MD *md)
{
	char why[HSM_WHY_MAX];
	X509 *x = NULL;
	int r;

	assert_non_null(tbs);
	r = hsm_sign_x509(k, tbs, md, &x, why, sizeof(why));
	X509_free(tbs);
	if (r != 0)
		fail_msg("hsm_sign_x509: %s", why);
	assert_int_equal(X509_verify(x, hsm_key_pub(k)), 1);
	return x;
}

static X509_CRL *
sign_crl(struct hsm_key *k, X509_CRL *tbs, const EVP_MD *md)
{
	char why[HSM_WHY_MAX];
	X509_CRL *crl = NULL;

	assert_non_null(tbs);
	if (hsm_sign_crl(k, tbs, md, &crl, why, sizeof(why)) != 0)
		fail_msg("hsm_sign_crl: %s", why);
	assert_int_equal(X509_CRL_verify(crl, hsm_key_pub(k)), 1);
	return crl;
}

static void
write_and_verify(struct th_token *t, X509 *ca, X509 *good, X509 *revoked,
    X509_CRL *crl, const char *tag)
{
	char ca_pem[PATH_MAX + 32], good_pem[PATH_MAX + 32],
	    revoked_pem[PATH_MAX + 32], crl_pem[PATH_MAX + 32];

	snprintf(ca_pem, sizeof(ca_pem), "%s/ca-%s.pem", t->dir, tag);
	snprintf(good_pem, sizeof(good_pem), "%s/good-%s.pem", t->dir, tag);
	snprintf(revoked_pem, sizeof(revoked_pem), "%s/revoked-%s.pem", t->dir,
	    tag);
	snprintf(crl_pem, sizeof(crl_pem), "%s/crl-%s.pem", t->dir, tag);
	assert_int_equal(th_write_cert(ca_pem, ca), 0);
	assert_int_equal(th_write_cert(good_pem, good), 0);
	assert_int_equal(th_write_cert(revoked_pem, revoked), 0);
	assert_int_equal(th_write_crl(crl_pem, crl), 0);
	if (th_openssl_verify(t, ca_pem, ca_pem, NULL) != 0 ||
	    th_openssl_verify(t, ca_pem, good_pem, NULL) != 0 ||
	    th_openssl_verify(t, ca_pem, good_pem, crl_pem) != 0 ||
	    th_openssl_crl(t, ca_pem, crl_pem) != 0) {
		th_dump(t);
		fail_msg("openssl does not accept the %s CA, leaf or CRL", tag);
	}
	/* The CRL is taken seriously: the revoked leaf is refused. */
	assert_int_not_equal(th_openssl_verify(t, ca_pem, revoked_pem,
	    crl_pem), 0);
}

/* CA certificate, two leaves and a CRL with md; all checked by OpenSSL. */
static void
sign_all(struct th_token *t, struct hsm_key *k, const EVP_MD *md)
{
	const X509_ALGOR *alg;
	const ASN1_BIT_STRING *sig;
	X509 *ca, *good, *revoked;
	X509_CRL *crl_tbs, *crl;
	char tag[32];

	ca = sign_cert(k, th_ca_tbs(hsm_key_pub(k)), md);
	X509_get0_signature(&sig, &alg, ca);
	check_alg(k, alg, X509_get0_tbs_sigalg(ca), md);
	good = sign_cert(k, th_leaf_tbs(ca, 1001), md);
	revoked = sign_cert(k, th_leaf_tbs(ca, 1002), md);
	crl_tbs = th_crl_tbs(ca, 1002);
	crl = sign_crl(k, crl_tbs, md);
	assert_int_equal(X509_CRL_get_signature_nid(crl), expected_sig_nid(k,
	    md));
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	snprintf(tag, sizeof(tag), "%s-%d", OBJ_nid2sn(EVP_PKEY_get_base_id(
	    hsm_key_pub(k))), EVP_MD_get_type(md));
	write_and_verify(t, ca, good, revoked, crl, tag);
	X509_free(ca);
	X509_free(good);
	X509_free(revoked);
	X509_CRL_free(crl_tbs);
	X509_CRL_free(crl);
}

static void
run_key(void **state, const char *keytype, const EVP_MD *const *mds,
    size_t n)
{
	struct th_token *t = *state;
	struct hsm_key *k = open_key(t, keytype);
	struct hsm_stats st;
	size_t i;

	for (i = 0; i < n; i++)
		sign_all(t, k, mds[i]);
	hsm_get_stats(t->h, &st);
	assert_int_equal(st.logins, 1);
	assert_int_equal(st.recoveries, 0);
	assert_int_equal(st.signatures, 1 + 4 * n);
}

static void
test_rsa2048(void **state)
{
	const EVP_MD *mds[] = { EVP_sha256(), EVP_sha384(), EVP_sha512() };

	run_key(state, "rsa:2048", mds, 3);
}

static void
test_rsa3072(void **state)
{
	const EVP_MD *mds[] = { EVP_sha256(), EVP_sha384(), EVP_sha512() };

	run_key(state, "rsa:3072", mds, 3);
}

static void
test_rsa4096(void **state)
{
	const EVP_MD *mds[] = { EVP_sha256(), EVP_sha384(), EVP_sha512() };

	run_key(state, "rsa:4096", mds, 3);
}

static void
test_p256(void **state)
{
	const EVP_MD *mds[] = { EVP_sha256(), EVP_sha384() };

	run_key(state, "EC:prime256v1", mds, 2);
}

static void
test_p384(void **state)
{
	const EVP_MD *mds[] = { EVP_sha384(), EVP_sha256(), EVP_sha512() };

	run_key(state, "EC:secp384r1", mds, 3);
}

/* Our encodings equal OpenSSL's own for the same content and algorithm. */
static void
test_same_der_as_openssl(void **state)
{
	struct th_token *t = *state;
	struct hsm_key *k = open_key(t, "EC:prime256v1");
	EVP_PKEY *pub = t->pub[0], *mem = EVP_EC_gen("P-256");
	unsigned char *a = NULL, *b = NULL;
	X509 *ca, *leaf_tbs, *leaf = NULL;
	X509_CRL *crl_tbs, *crl;
	char why[HSM_WHY_MAX];
	int alen, blen;

	assert_non_null(mem);
	ca = sign_cert(k, th_ca_tbs(pub), EVP_sha256());
	assert_non_null(leaf_tbs = th_leaf_tbs(ca, 4242));
	if (hsm_sign_x509(k, leaf_tbs, EVP_sha256(), &leaf, why,
	    sizeof(why)) != 0)
		fail_msg("hsm_sign_x509: %s", why);
	assert_true(X509_sign(leaf_tbs, mem, EVP_sha256()) > 0);
	alen = i2d_X509(leaf, &a);
	blen = i2d_X509(leaf_tbs, &b);
	same_tbs_as_openssl(a, (size_t)alen, b, (size_t)blen);
	OPENSSL_free(a);
	OPENSSL_free(b);
	a = b = NULL;

	crl_tbs = th_crl_tbs(ca, 77);
	crl = sign_crl(k, crl_tbs, EVP_sha256());
	assert_true(X509_CRL_sign(crl_tbs, mem, EVP_sha256()) > 0);
	alen = i2d_X509_CRL(crl, &a);
	blen = i2d_X509_CRL(crl_tbs, &b);
	same_tbs_as_openssl(a, (size_t)alen, b, (size_t)blen);
	OPENSSL_free(a);
	OPENSSL_free(b);

	X509_free(ca);
	X509_free(leaf_tbs);
	X509_free(leaf);
	X509_CRL_free(crl_tbs);
	X509_CRL_free(crl);
	EVP_PKEY_free(mem);
}

/* A v1 CRL without entries, nextUpdate or extensions; an empty v2 CRL. */
static void
test_crl_shapes(void **state)
{
	struct th_token *t = *state;
	struct hsm_key *k = open_key(t, "EC:secp384r1");
	EVP_PKEY *pub = t->pub[0];
	X509_CRL *v1 = X509_CRL_new(), *crl, *v2;
	ASN1_TIME *now = X509_gmtime_adj(NULL, 0);
	X509 *ca = sign_cert(k, th_ca_tbs(pub), NULL);
	char why[HSM_WHY_MAX], ca_pem[PATH_MAX + 16], crl_pem[PATH_MAX + 16];

	assert_true(X509_CRL_set_issuer_name(v1, X509_get_subject_name(ca)));
	assert_true(X509_CRL_set1_lastUpdate(v1, now));
	crl = sign_crl(k, v1, NULL);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_1);
	assert_null(X509_CRL_get0_nextUpdate(crl));
	assert_int_equal(X509_CRL_get_signature_nid(crl),
	    NID_ecdsa_with_SHA384);
	snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", t->dir);
	snprintf(crl_pem, sizeof(crl_pem), "%s/v1.pem", t->dir);
	assert_int_equal(th_write_cert(ca_pem, ca), 0);
	assert_int_equal(th_write_crl(crl_pem, crl), 0);
	assert_int_equal(th_openssl_crl(t, ca_pem, crl_pem), 0);
	X509_CRL_free(crl);

	/* Extensions need version 2. */
	assert_int_equal(X509_CRL_add1_ext_i2d(v1, NID_crl_number,
	    X509_get_serialNumber(ca), 0, 0), 1);
	assert_int_equal(hsm_sign_crl(k, v1, NULL, &crl, why, sizeof(why)),
	    ERR_INVAL);
	assert_null(crl);
	assert_non_null(strstr(why, "version 2"));

	/* An empty revoked list is left out, not encoded empty. */
	v2 = th_crl_tbs(ca, 0);
	crl = sign_crl(k, v2, NULL);
	assert_true(X509_CRL_get_REVOKED(crl) == NULL ||
	    sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) == 0);
	assert_int_equal(th_write_crl(crl_pem, crl), 0);
	assert_int_equal(th_openssl_crl(t, ca_pem, crl_pem), 0);

	X509_CRL_free(crl);
	X509_CRL_free(v1);
	X509_CRL_free(v2);
	ASN1_TIME_free(now);
	X509_free(ca);
}

/* hsm_sign_x509_der: the DER parses as usual, verifies, and is deterministic for RSA. */
static void
test_x509_der(void **state)
{
	struct th_token *t = *state;
	struct hsm_key *k = open_key(t, "rsa:2048");
	X509 *ca, *tbs, *x, *y = NULL;
	uint8_t *der = NULL;
	unsigned char *yder = NULL;
	const unsigned char *p;
	char why[HSM_WHY_MAX];
	size_t len = 0;
	int ylen;

	ca = sign_cert(k, th_ca_tbs(hsm_key_pub(k)), EVP_sha256());
	assert_non_null(tbs = th_leaf_tbs(ca, 4343));
	if (hsm_sign_x509_der(k, tbs, EVP_sha256(), &der, &len, why,
	    sizeof(why)) != 0)
		fail_msg("hsm_sign_x509_der: %s", why);
	p = der;
	assert_non_null(x = d2i_X509(NULL, &p, (long)len));
	assert_ptr_equal(p, der + len);
	assert_non_null(X509_get0_pubkey(x));
	assert_int_equal(X509_verify(x, hsm_key_pub(k)), 1);
	/* PKCS#1 v1.5 signatures are deterministic: the same bytes again */
	assert_int_equal(hsm_sign_x509(k, tbs, EVP_sha256(), &y, why,
	    sizeof(why)), 0);
	ylen = i2d_X509(y, &yder);
	assert_int_equal((size_t)ylen, len);
	assert_memory_equal(yder, der, len);
	assert_int_equal(hsm_sign_x509_der(k, tbs, EVP_sha256(), NULL, &len,
	    why, sizeof(why)), ERR_INVAL);
	free(der);
	OPENSSL_free(yder);
	X509_free(x);
	X509_free(y);
	X509_free(tbs);
	X509_free(ca);
}

/*
 * A signature the CA public key does not verify is caught on the signed
 * certificate and CRL as a whole, and counted as a failure.
 */
static void
test_result_verified(void **state)
{
	struct th_token *t = *state;
	struct hsm_key *k = open_key(t, "EC:prime256v1");
	EVP_PKEY *other = EVP_EC_gen("P-256"), *pub;
	struct hsm_stats before, after;
	X509 *ca, *tbs, *x = NULL;
	X509_CRL *crl_tbs, *crl = NULL;
	uint8_t *der = NULL;
	char why[HSM_WHY_MAX];
	size_t len = 0;

	assert_non_null(other);
	ca = sign_cert(k, th_ca_tbs(hsm_key_pub(k)), NULL);
	tbs = th_leaf_tbs(ca, 77);
	crl_tbs = th_crl_tbs(ca, 77);
	hsm_get_stats(t->h, &before);
	pub = k->pub;
	k->pub = other;         /* the token now signs for another key */
	assert_int_equal(hsm_sign_x509_der(k, tbs, NULL, &der, &len, why,
	    sizeof(why)), ERR_HSM);
	assert_null(der);
	assert_string_equal(why, "certificate: the signed result does not "
	    "verify with the CA public key");
	assert_int_equal(hsm_sign_x509(k, tbs, NULL, &x, why, sizeof(why)),
	    ERR_HSM);
	assert_null(x);
	assert_int_equal(hsm_sign_crl(k, crl_tbs, NULL, &crl, why,
	    sizeof(why)), ERR_HSM);
	assert_null(crl);
	assert_string_equal(why, "CRL: the signed result does not verify with "
	    "the CA public key");
	k->pub = pub;
	hsm_get_stats(t->h, &after);
	assert_int_equal(after.failures, before.failures + 3);
	assert_int_equal(after.signatures, before.signatures);
	x = sign_cert(k, tbs, NULL);
	hsm_get_stats(t->h, &after);
	assert_int_equal(after.signatures, before.signatures + 1);
	X509_free(x);
	X509_CRL_free(crl_tbs);
	X509_free(ca);
	EVP_PKEY_free(other);
}

/* Digests and algorithm identifiers: defaults, and what is refused. */
static void
test_digests(void **state)
{
	struct hsm_key *k = open_key(*state, "EC:secp384r1");
	uint8_t dgst[64] = { 0 }, *sig = (uint8_t *)"x";
	size_t siglen = 1;
	X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj;
	char why[HSM_WHY_MAX];

	assert_ptr_equal(hsm_key_default_md(k), EVP_sha384());
	assert_int_equal(hsm_sig_alg(k, NULL, &alg), 0);
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	assert_int_equal(OBJ_obj2nid(obj), NID_ecdsa_with_SHA384);
	X509_ALGOR_free(alg);
	assert_int_equal(hsm_sig_alg(k, EVP_sha1(), &alg), ERR_INVAL);
	assert_null(alg);

	assert_int_equal(hsm_sign_digest(k, EVP_sha1(), dgst, 20, &sig,
	    &siglen, why, sizeof(why)), ERR_INVAL);
	assert_null(sig);
	assert_int_equal(siglen, 0);
	assert_int_equal(hsm_sign_digest(k, EVP_sha256(), dgst, 31, &sig,
	    &siglen, why, sizeof(why)), ERR_INVAL);
	assert_int_equal(hsm_sign_digest(k, EVP_sha512(), dgst, 64, &sig,
	    &siglen, why, sizeof(why)), 0);
	assert_non_null(sig);
	free(sig);
	assert_int_equal(hsm_sign(k, NULL, (const uint8_t *)"abc", 3, &sig,
	    &siglen, why, sizeof(why)), 0);
	free(sig);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rsa2048, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rsa3072, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rsa4096, setup, teardown),
		cmocka_unit_test_setup_teardown(test_p256, setup, teardown),
		cmocka_unit_test_setup_teardown(test_p384, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_der_as_openssl, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crl_shapes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_digests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x509_der, setup, teardown),
		cmocka_unit_test_setup_teardown(test_result_verified, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
