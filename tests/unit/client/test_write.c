/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the client's output files: certificates and CRLs are written only when they verify against the CA. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "client/client.h"
#include "tests/unit/client/dir_helper.h"

struct fx {
	char dir[64];           /* holds the CA file and the outputs */
	char out[128];
	EVP_PKEY *ca_key;
	EVP_PKEY *other_key;    /* signs forgeries */
	EVP_PKEY *leaf_key;
	X509 *ca;
};

static EVP_PKEY *
ec_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

static X509_NAME *
name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	assert_non_null(n);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	return n;
}

/* A certificate for key, named subject, issued by issuer and signed with signer. */
static X509 *
make_cert(EVP_PKEY *key, const char *subject, const char *issuer,
    EVP_PKEY *signer, long serial)
{
	X509 *x = X509_new();
	X509_NAME *s = name(subject), *i = name(issuer);

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
	assert_int_equal(X509_set_subject_name(x, s), 1);
	assert_int_equal(X509_set_issuer_name(x, i), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
	X509_NAME_free(s);
	X509_NAME_free(i);
	return x;
}

static uint8_t *
cert_der(X509 *x, size_t *len)
{
	uint8_t *der = NULL;
	int n = i2d_X509(x, &der);

	assert_true(n > 0);
	*len = (size_t)n;
	return der;
}

static uint8_t *
make_crl(const char *issuer, EVP_PKEY *signer, size_t *len)
{
	X509_CRL *c = X509_CRL_new();
	X509_NAME *i = name(issuer);
	ASN1_TIME *t = ASN1_TIME_new();
	uint8_t *der = NULL;
	int n;

	assert_non_null(c);
	assert_non_null(X509_gmtime_adj(t, 0));
	assert_int_equal(X509_CRL_set_version(c, 1), 1);
	assert_int_equal(X509_CRL_set_issuer_name(c, i), 1);
	assert_int_equal(X509_CRL_set1_lastUpdate(c, t), 1);
	assert_true(X509_CRL_sign(c, signer, EVP_sha256()) > 0);
	assert_true((n = i2d_X509_CRL(c, &der)) > 0);
	*len = (size_t)n;
	X509_CRL_free(c);
	X509_NAME_free(i);
	ASN1_TIME_free(t);
	return der;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[128];
	FILE *fp;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_write.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->out, sizeof(f->out), "%s/out.pem", f->dir);
	f->ca_key = ec_key();
	f->other_key = ec_key();
	f->leaf_key = ec_key();
	f->ca = make_cert(f->ca_key, "Test CA", "Test CA", f->ca_key, 1);
	snprintf(path, sizeof(path), "%s/test-ca.pem", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(PEM_write_X509(fp, f->ca), 1);
	fclose(fp);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	EVP_PKEY_free(f->ca_key);
	EVP_PKEY_free(f->other_key);
	EVP_PKEY_free(f->leaf_key);
	X509_free(f->ca);
	free(f);
	return 0;
}

static void
test_good_cert_written(void **state)
{
	struct fx *f = *state;
	char why[CLIENT_WHY_MAX];
	X509 *x = make_cert(f->leaf_key, "www.example.org", "Test CA",
	    f->ca_key, 4711), *got = NULL, *back;
	struct stat st;
	uint8_t *der;
	size_t len;
	FILE *fp;

	der = cert_der(x, &len);
	assert_int_equal(client_save_cert(f->dir, "test-ca", der, len, f->out,
	    &got, why, sizeof(why)), 0);
	assert_non_null(got);
	assert_int_equal(X509_cmp(got, x), 0);
	assert_non_null(fp = fopen(f->out, "r"));
	assert_non_null(back = PEM_read_X509(fp, NULL, NULL, NULL));
	fclose(fp);
	assert_int_equal(X509_cmp(back, x), 0);
	assert_int_equal(stat(f->out, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(test_dir_files(f->dir), 2);
	X509_free(back);
	X509_free(got);
	X509_free(x);
	OPENSSL_free(der);
}

/* A refused certificate leaves the previous file and no temporary file. */
static void
expect_refused(struct fx *f, const uint8_t *der, size_t len, int want,
    const char *why_part)
{
	char why[CLIENT_WHY_MAX] = "", buf[16] = "";
	X509 *got = (X509 *)1;
	FILE *fp;

	assert_non_null(fp = fopen(f->out, "w"));
	fputs("previous\n", fp);
	fclose(fp);
	assert_int_equal(client_save_cert(f->dir, "test-ca", der, len, f->out,
	    &got, why, sizeof(why)), want);
	assert_null(got);
	assert_non_null(strstr(why, why_part));
	assert_non_null(fp = fopen(f->out, "r"));
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_string_equal(buf, "previous\n");
	assert_int_equal(test_dir_files(f->dir), 2);
}

static void
test_forged_cert_refused(void **state)
{
	struct fx *f = *state;
	X509 *x = make_cert(f->leaf_key, "www.example.org", "Test CA",
	    f->other_key, 4711);
	uint8_t *der;
	size_t len;

	der = cert_der(x, &len);
	expect_refused(f, der, len, ERR_POLICY, "does not verify");
	X509_free(x);
	OPENSSL_free(der);
}

static void
test_other_issuer_refused(void **state)
{
	struct fx *f = *state;
	X509 *x = make_cert(f->leaf_key, "www.example.org", "Other CA",
	    f->ca_key, 4711);
	uint8_t *der;
	size_t len;

	der = cert_der(x, &len);
	expect_refused(f, der, len, ERR_POLICY, "issuer is not");
	X509_free(x);
	OPENSSL_free(der);
}

static void
test_bad_der_refused(void **state)
{
	struct fx *f = *state;
	X509 *x = make_cert(f->leaf_key, "www.example.org", "Test CA",
	    f->ca_key, 4711);
	uint8_t *der, *longer;
	size_t len;

	der = cert_der(x, &len);
	expect_refused(f, der, len - 1, ERR_DECODE, "does not parse");
	assert_non_null(longer = malloc(len + 1));
	memcpy(longer, der, len);
	longer[len] = 0;
	expect_refused(f, longer, len + 1, ERR_DECODE, "does not parse");
	free(longer);
	X509_free(x);
	OPENSSL_free(der);
}

static void
test_ca_missing_or_bad_id(void **state)
{
	struct fx *f = *state;
	char why[CLIENT_WHY_MAX];
	X509 *x = make_cert(f->leaf_key, "a", "Test CA", f->ca_key, 2);
	uint8_t *der;
	size_t len;

	der = cert_der(x, &len);
	assert_int_equal(client_save_cert(f->dir, "no-such-ca", der, len,
	    f->out, NULL, why, sizeof(why)), ERR_NOT_FOUND);
	assert_int_equal(client_save_cert(f->dir, "../test-ca", der, len,
	    f->out, NULL, why, sizeof(why)), ERR_INVAL);
	assert_int_equal(test_dir_files(f->dir), 1);
	X509_free(x);
	OPENSSL_free(der);
}

static void
test_crl(void **state)
{
	struct fx *f = *state;
	char why[CLIENT_WHY_MAX], crl_path[160];
	uint8_t *good, *forged, *other;
	size_t glen, flen, olen;
	struct stat st;

	snprintf(crl_path, sizeof(crl_path), "%s/test-ca.crl", f->dir);
	good = make_crl("Test CA", f->ca_key, &glen);
	forged = make_crl("Test CA", f->other_key, &flen);
	other = make_crl("Other CA", f->ca_key, &olen);
	assert_int_equal(client_save_crl(f->dir, "test-ca", forged, flen,
	    crl_path, why, sizeof(why)), ERR_POLICY);
	assert_int_equal(client_save_crl(f->dir, "test-ca", other, olen,
	    crl_path, why, sizeof(why)), ERR_POLICY);
	assert_int_equal(client_save_crl(f->dir, "test-ca", good, glen - 3,
	    crl_path, why, sizeof(why)), ERR_DECODE);
	assert_int_equal(stat(crl_path, &st), -1);
	assert_int_equal(client_save_crl(f->dir, "test-ca", good, glen,
	    crl_path, why, sizeof(why)), 0);
	assert_int_equal(stat(crl_path, &st), 0);
	assert_int_equal((size_t)st.st_size, glen);
	assert_int_equal(test_dir_files(f->dir), 2);
	OPENSSL_free(good);
	OPENSSL_free(forged);
	OPENSSL_free(other);
}

static void
test_atomic_write_errors(void **state)
{
	struct fx *f = *state;
	char why[CLIENT_WHY_MAX], path[160];

	(void)f;
	snprintf(path, sizeof(path), "%s/no-such-dir/file", f->dir);
	assert_int_equal(client_write_atomic(path, "x", 1, 0644, why,
	    sizeof(why)), ERR_SYSTEM);
	assert_non_null(strstr(why, "temporary file"));
	/* A directory in the way: rename fails and the temporary file goes away. */
	snprintf(path, sizeof(path), "%s/sub", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(client_write_atomic(path, "x", 1, 0644, why,
	    sizeof(why)), ERR_SYSTEM);
	assert_non_null(strstr(why, "rename"));
	assert_int_equal(test_dir_files(f->dir), 2);
}

/* A FIFO (as /dev/stdout or /dev/null would be) is written to, not replaced by a file. */
static void
test_atomic_write_special(void **state)
{
	struct fx *f = *state;
	char why[CLIENT_WHY_MAX], path[160], buf[16];
	struct stat st;
	int rfd;

	snprintf(path, sizeof(path), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_true((rfd = open(path, O_RDONLY | O_NONBLOCK)) >= 0);
	assert_int_equal(client_write_atomic(path, "hello", 5, 0644, why,
	    sizeof(why)), 0);
	assert_int_equal(read(rfd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	close(rfd);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(unlink(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_cert_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_cert_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_issuer_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_der_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_missing_or_bad_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_write_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_write_special, setup, teardown),
	};

	return cmocka_run_group_tests(tests, 0, NULL);
}
