/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the client's CRL checks: real CRLs signed by a software CA are verified, never installed backwards, and combined with their deltas. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client.h"
#include "tests/unit/client/dir_helper.h"
#include "tests/unit/client/crl_helper.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct fx {
	struct test_ca ca;
	char out[128];          /* the complete CRL */
	char delta[128];        /* the delta CRL */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	test_ca_make(&f->ca);
	snprintf(f->out, sizeof(f->out), "%s/%s.crl", f->ca.dir, TEST_CA_ID);
	snprintf(f->delta, sizeof(f->delta), "%s/%s-delta.crl", f->ca.dir,
	    TEST_CA_ID);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	test_ca_free(&f->ca);
	free(f);
	return 0;
}

static void
assert_file(const char *path, const uint8_t *der, size_t len)
{
	uint8_t buf[8192];
	size_t n;
	FILE *fp;

	assert_non_null(fp = fopen(path, "rb"));
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	assert_int_equal(n, len);
	assert_memory_equal(buf, der, len);
}

static void
write_file(const char *path, const void *buf, size_t len)
{
	FILE *fp;

	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	fclose(fp);
}

/* Install a complete CRL announced with its own number. */
static int
install(struct fx *f, const uint8_t *der, size_t len, uint64_t number,
    struct client_crl_outcome *res, char *why)
{
	struct client_crl_want w = { .number = number };

	return client_crl_install(f->ca.cert, der, len, &w, f->out, NULL, res,
	    why, CLIENT_WHY_MAX);
}

static int
install_delta(struct fx *f, const uint8_t *der, size_t len, uint64_t number,
    uint64_t base, X509_CRL **out, struct client_crl_outcome *res,
    char *why)
{
	struct client_crl_want w = { .number = number, .delta = true,
	    .base = base };

	return client_crl_install(f->ca.cert, der, len, &w, f->delta, out, res,
	    why, CLIENT_WHY_MAX);
}

static void
test_first_and_higher_install(void **state)
{
	static const uint64_t s1[] = { 1, 2 }, s2[] = { 1, 2, 3 };
	struct fx *f = *state;
	struct client_crl_outcome res;
	char why[CLIENT_WHY_MAX] = "";
	uint8_t *a, *b;
	size_t alen, blen;
	struct stat st;

	a = test_crl_simple(&f->ca, 100, s1, N(s1), &alen);
	b = test_crl_simple(&f->ca, 200, s2, N(s2), &blen);
	assert_int_equal(install(f, a, alen, 100, &res, why), 0);
	assert_int_equal(res.status, CLIENT_CRL_INSTALLED);
	assert_false(res.had_old);
	assert_false(res.replaced_invalid);
	assert_int_equal(res.info.number, 100);
	assert_int_equal(res.info.entries, 2);
	assert_int_equal(res.info.size, alen);
	assert_int_equal(res.info.next_update - res.info.this_update,
	    TEST_CRL_LIFETIME);
	assert_file(f->out, a, alen);
	assert_int_equal(install(f, b, blen, 200, &res, why), 0);
	assert_int_equal(res.status, CLIENT_CRL_INSTALLED);
	assert_true(res.had_old);
	assert_int_equal(res.old_number, 100);
	assert_file(f->out, b, blen);
	assert_int_equal(stat(f->out, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(test_dir_files(f->ca.dir), 2);
	OPENSSL_free(a);
	OPENSSL_free(b);
}

static void
test_lower_refused(void **state)
{
	struct fx *f = *state;
	struct client_crl_outcome res;
	char why[CLIENT_WHY_MAX] = "";
	uint8_t *a, *b;
	size_t alen, blen;

	a = test_crl_simple(&f->ca, 200, NULL, 0, &alen);
	b = test_crl_simple(&f->ca, 199, NULL, 0, &blen);
	assert_int_equal(install(f, a, alen, 200, &res, why), 0);
	assert_int_equal(install(f, b, blen, 199, &res, why), ERR_CONFLICT);
	assert_non_null(strstr(why, "199"));
	assert_non_null(strstr(why, "200"));
	assert_file(f->out, a, alen);
	assert_int_equal(test_dir_files(f->ca.dir), 2);
	OPENSSL_free(a);
	OPENSSL_free(b);
}

/* The same number: the same bytes are up to date (not rewritten), others refused. */
static void
test_same_number(void **state)
{
	static const uint64_t s[] = { 7 };
	struct fx *f = *state;
	struct client_crl_outcome res;
	char why[CLIENT_WHY_MAX] = "";
	struct stat st1, st2;
	uint8_t *a, *b;
	size_t alen, blen;

	a = test_crl_simple(&f->ca, 300, NULL, 0, &alen);
	b = test_crl_simple(&f->ca, 300, s, N(s), &blen);
	assert_int_equal(install(f, a, alen, 300, &res, why), 0);
	assert_int_equal(stat(f->out, &st1), 0);
	assert_int_equal(install(f, a, alen, 300, &res, why), 0);
	assert_int_equal(res.status, CLIENT_CRL_UP_TO_DATE);
	assert_int_equal(stat(f->out, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(install(f, b, blen, 300, &res, why), ERR_CONFLICT);
	assert_non_null(strstr(why, "same number"));
	assert_file(f->out, a, alen);
	OPENSSL_free(a);
	OPENSSL_free(b);
}

/* A refused CRL leaves the file held as it was, and no temporary file. */
static void
expect_refused(struct fx *f, const uint8_t *der, size_t len, uint64_t number,
    int want, const char *why_part)
{
	struct client_crl_outcome res;
	char why[CLIENT_WHY_MAX] = "";
	uint8_t *held;
	size_t hlen;
	int rc;

	held = test_crl_simple(&f->ca, 10, NULL, 0, &hlen);
	write_file(f->out, held, hlen);
	rc = install(f, der, len, number, &res, why);
	if (rc != want || strstr(why, why_part) == NULL)
		print_error("rc %d (%s), want %d (%s)\n", rc, why, want,
		    why_part);
	assert_int_equal(rc, want);
	assert_non_null(strstr(why, why_part));
	assert_file(f->out, held, hlen);
	assert_int_equal(test_dir_files(f->ca.dir), 2);
	OPENSSL_free(held);
}

static void
test_bad_signature_refused(void **state)
{
	static const uint64_t serial[] = { 0x42 };
	static const uint8_t entry[] = { 0x02, 0x01, 0x42 };  /* INTEGER 0x42 */
	struct fx *f = *state;
	struct test_crl s = { .number = 500, .key = f->ca.other,
	    .serials = serial, .n = 1 };
	struct client_crl_outcome res;
	char why[CLIENT_WHY_MAX] = "";
	uint8_t *der, *p;
	size_t len;

	der = test_crl_make(&f->ca, &s, &len);
	expect_refused(f, der, len, 500, ERR_POLICY, "does not verify");
	OPENSSL_free(der);
	/* One bit of the signature flipped, then one of the signed entries. */
	s.key = NULL;
	der = test_crl_make(&f->ca, &s, &len);
	der[len - 1] ^= 0x01;
	expect_refused(f, der, len, 500, ERR_POLICY, "does not verify");
	der[len - 1] ^= 0x01;
	assert_non_null(p = memmem(der, len, entry, sizeof(entry)));
	p[2] ^= 0x01;
	expect_refused(f, der, len, 500, ERR_POLICY, "does not verify");
	/* Restored, the very same bytes install: the flips were the fault. */
	p[2] ^= 0x01;
	assert_int_equal(install(f, der, len, 500, &res, why), 0);
	OPENSSL_free(der);
}

static void
test_wrong_issuer_refused(void **state)
{
	struct fx *f = *state;
	struct test_crl s = { .number = 500, .issuer_cn = "Other CA" };
	uint8_t *der;
	size_t len;

	der = test_crl_make(&f->ca, &s, &len);
	expect_refused(f, der, len, 500, ERR_POLICY, "issuer is not");
	OPENSSL_free(der);
}

static void
test_missing_number_refused(void **state)
{
	struct fx *f = *state;
	struct test_crl s = { .no_number = true };
	uint8_t *der;
	size_t len;

	der = test_crl_make(&f->ca, &s, &len);
	expect_refused(f, der, len, 0, ERR_POLICY, "no cRLNumber");
	OPENSSL_free(der);
}

static void
test_announced_number_checked(void **state)
{
	struct fx *f = *state;
	uint8_t *der;
	size_t len;

	der = test_crl_simple(&f->ca, 500, NULL, 0, &len);
	expect_refused(f, der, len, 501, ERR_POLICY, "announced");
	OPENSSL_free(der);
}

static void
test_times_checked(void **state)
{
	struct fx *f = *state;
	struct test_crl none = { .number = 500, .no_next = true };
	struct test_crl back = { .number = 500, .next_after = -60 };
	uint8_t *der;
	size_t len;

	der = test_crl_make(&f->ca, &none, &len);
	expect_refused(f, der, len, 500, ERR_POLICY, "nextUpdate");
	OPENSSL_free(der);
	der = test_crl_make(&f->ca, &back, &len);
	expect_refused(f, der, len, 500, ERR_POLICY, "not after");
	OPENSSL_free(der);
}

static void
test_bad_der_refused(void **state)
{
	struct fx *f = *state;
	uint8_t *der, *longer;
	size_t len;

	der = test_crl_simple(&f->ca, 500, NULL, 0, &len);
	expect_refused(f, der, len - 1, 500, ERR_DECODE, "does not parse");
	assert_non_null(longer = malloc(len + 1));
	memcpy(longer, der, len);
	longer[len] = 0;
	expect_refused(f, longer, len + 1, 500, ERR_DECODE, "does not parse");
	free(longer);
	OPENSSL_free(der);
}

/* A delta where a complete CRL is asked for, and the other way round. */
static void
test_kind_checked(void **state)
{
	struct fx *f = *state;
	struct client_crl_outcome res;
	char why[CLIENT_WHY_MAX] = "";
	uint8_t *d, *c;
	size_t dlen, clen;

	d = test_crl_delta(&f->ca, 600, 500, NULL, 0, &dlen);
	c = test_crl_simple(&f->ca, 600, NULL, 0, &clen);
	expect_refused(f, d, dlen, 600, ERR_POLICY, "not a complete CRL");
	assert_int_equal(install_delta(f, c, clen, 600, 500, NULL, &res, why),
	    ERR_POLICY);
	assert_non_null(strstr(why, "not a delta CRL"));
	assert_int_equal(access(f->delta, F_OK), -1);
	OPENSSL_free(d);
	OPENSSL_free(c);
}

static void
test_delta_base_checked(void **state)
{
	struct fx *f = *state;
	struct test_crl soft = { .number = 600, .delta = true, .base = 500,
	    .delta_noncritical = true };
	struct client_crl_outcome res;
	char why[CLIENT_WHY_MAX] = "";
	uint8_t *d, *low, *nc;
	size_t dlen, llen, nlen;

	d = test_crl_delta(&f->ca, 600, 499, NULL, 0, &dlen);
	low = test_crl_delta(&f->ca, 500, 500, NULL, 0, &llen);
	nc = test_crl_make(&f->ca, &soft, &nlen);
	assert_int_equal(install_delta(f, d, dlen, 600, 500, NULL, &res, why),
	    ERR_POLICY);
	assert_non_null(strstr(why, "against CRL 499, not the base 500"));
	assert_int_equal(install_delta(f, low, llen, 500, 500, NULL, &res,
	    why), ERR_POLICY);
	assert_non_null(strstr(why, "not above"));
	assert_int_equal(install_delta(f, nc, nlen, 600, 500, NULL, &res, why),
	    ERR_POLICY);
	assert_non_null(strstr(why, "critical"));
	assert_int_equal(access(f->delta, F_OK), -1);
	OPENSSL_free(d);
	OPENSSL_free(low);
	OPENSSL_free(nc);
}

/* The delta file is never moved backwards either. */
static void
test_delta_never_backwards(void **state)
{
	struct fx *f = *state;
	struct client_crl_outcome res;
	char why[CLIENT_WHY_MAX] = "";
	uint8_t *d1, *d2;
	size_t l1, l2;

	d1 = test_crl_delta(&f->ca, 700, 500, NULL, 0, &l1);
	d2 = test_crl_delta(&f->ca, 650, 500, NULL, 0, &l2);
	assert_int_equal(install_delta(f, d1, l1, 700, 500, NULL, &res, why),
	    0);
	assert_int_equal(install_delta(f, d2, l2, 650, 500, NULL, &res, why),
	    ERR_CONFLICT);
	assert_non_null(strstr(why, "650"));
	assert_non_null(strstr(why, "700"));
	assert_file(f->delta, d1, l1);
	OPENSSL_free(d1);
	OPENSSL_free(d2);
}

/* Garbage, or a CRL of another CA, in the file: replaced, and said so. */
static void
test_invalid_file_replaced(void **state)
{
	struct fx *f = *state;
	struct test_crl other = { .number = 900, .key = f->ca.other };
	struct client_crl_outcome res;
	char why[CLIENT_WHY_MAX] = "";
	uint8_t *a, *o;
	size_t alen, olen;

	a = test_crl_simple(&f->ca, 100, NULL, 0, &alen);
	o = test_crl_make(&f->ca, &other, &olen);
	write_file(f->out, "not a CRL\n", 10);
	assert_int_equal(install(f, a, alen, 100, &res, why), 0);
	assert_true(res.replaced_invalid);
	assert_false(res.had_old);
	assert_non_null(strstr(res.old_why, "does not parse"));
	assert_file(f->out, a, alen);
	/* A higher number signed by another key does not block a lower one. */
	write_file(f->out, o, olen);
	assert_int_equal(install(f, a, alen, 100, &res, why), 0);
	assert_true(res.replaced_invalid);
	assert_non_null(strstr(res.old_why, "does not verify"));
	assert_file(f->out, a, alen);
	assert_int_equal(test_dir_files(f->ca.dir), 2);
	OPENSSL_free(a);
	OPENSSL_free(o);
}

static void
test_announced_entries_checked(void **state)
{
	static const uint64_t s[] = { 1, 2, 3 };
	struct fx *f = *state;
	struct client_crl_want w = { .number = 100, .has_entries = true,
	    .entries = 2 };
	struct client_crl_outcome res;
	char why[CLIENT_WHY_MAX] = "";
	uint8_t *a;
	size_t alen;

	a = test_crl_simple(&f->ca, 100, s, N(s), &alen);
	assert_int_equal(client_crl_install(f->ca.cert, a, alen, &w, f->out,
	    NULL, &res, why, sizeof(why)), ERR_POLICY);
	assert_non_null(strstr(why, "3 entries"));
	w.entries = 3;
	assert_int_equal(client_crl_install(f->ca.cert, a, alen, &w, f->out,
	    NULL, &res, why, sizeof(why)), 0);
	OPENSSL_free(a);
}

static void
test_load(void **state)
{
	struct fx *f = *state;
	struct client_crl_info info;
	char why[CLIENT_WHY_MAX] = "";
	X509_CRL *c;
	uint8_t *a, *der;
	size_t alen, len;

	assert_int_equal(client_crl_load(f->ca.cert, f->out, false, NULL, NULL,
	    NULL, &info, why, sizeof(why)), ERR_NOT_FOUND);
	a = test_crl_delta(&f->ca, 120, 100, NULL, 0, &alen);
	write_file(f->out, a, alen);
	assert_int_equal(client_crl_load(f->ca.cert, f->out, false, NULL, NULL,
	    NULL, &info, why, sizeof(why)), ERR_POLICY);
	assert_int_equal(client_crl_load(f->ca.cert, f->out, true, &der, &len,
	    &c, &info, why, sizeof(why)), 0);
	assert_true(info.delta);
	assert_int_equal(info.base, 100);
	assert_int_equal(info.number, 120);
	assert_int_equal(len, alen);
	assert_memory_equal(der, a, alen);
	assert_non_null(c);
	X509_CRL_free(c);
	free(der);
	OPENSSL_free(a);
}

/* Base + delta: the union of the serials, less those the delta takes off. */
static void
test_combine(void **state)
{
	static const uint64_t bs[] = { 5, 1, 3, 2 }, ds[] = { 3, 6, 4 },
	    rm[] = { 5, 77 };
	struct fx *f = *state;
	struct test_crl ds_spec = { .number = 210, .delta = true, .base = 200,
	    .serials = ds, .n = N(ds), .removals = rm, .nremovals = N(rm) };
	struct client_crl_outcome res;
	struct client_crl_view v;
	char why[CLIENT_WHY_MAX] = "";
	X509_CRL *base, *delta;
	uint8_t *b, *d;
	size_t blen, dlen;

	b = test_crl_simple(&f->ca, 200, bs, N(bs), &blen);
	d = test_crl_make(&f->ca, &ds_spec, &dlen);
	assert_int_equal(client_crl_install(f->ca.cert, b, blen,
	    &(struct client_crl_want){ .number = 200 }, f->out, &base, &res,
	    why, sizeof(why)), 0);
	assert_int_equal(install_delta(f, d, dlen, 210, 200, &delta, &res,
	    why), 0);
	assert_int_equal(res.info.entries, 5);
	assert_file(f->delta, d, dlen);
	assert_int_equal(client_crl_combine(base, delta, &v), 0);
	/* {1, 2, 3, 5} + {3, 4, 6} - {5}: 1, 2, 3, 4, 6. */
	assert_int_equal(v.revoked, 5);
	assert_int_equal(v.added, 2);
	assert_int_equal(v.removed, 1);
	/* Neither CRL changed: both still verify. */
	assert_int_equal(X509_CRL_verify(base, f->ca.key), 1);
	assert_int_equal(X509_CRL_verify(delta, f->ca.key), 1);
	X509_CRL_free(base);
	X509_CRL_free(delta);
	OPENSSL_free(b);
	OPENSSL_free(d);
}

static void
test_combine_empty(void **state)
{
	static const uint64_t ds[] = { 9, 9, 8 };
	struct fx *f = *state;
	struct client_crl_view v;
	X509_CRL *base, *delta;
	const unsigned char *p;
	uint8_t *b, *d;
	size_t blen, dlen;

	b = test_crl_simple(&f->ca, 200, NULL, 0, &blen);
	d = test_crl_delta(&f->ca, 201, 200, ds, N(ds), &dlen);
	p = b;
	assert_non_null(base = d2i_X509_CRL(NULL, &p, (long)blen));
	p = d;
	assert_non_null(delta = d2i_X509_CRL(NULL, &p, (long)dlen));
	assert_int_equal(client_crl_combine(base, delta, &v), 0);
	/* A serial listed twice counts once. */
	assert_int_equal(v.revoked, 2);
	assert_int_equal(v.added, 2);
	assert_int_equal(v.removed, 0);
	assert_int_equal(client_crl_combine(delta, base, &v), 0);
	assert_int_equal(v.revoked, 2);
	assert_int_equal(v.added, 0);
	X509_CRL_free(base);
	X509_CRL_free(delta);
	OPENSSL_free(b);
	OPENSSL_free(d);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_first_and_higher_install),
		T(test_lower_refused),
		T(test_same_number),
		T(test_bad_signature_refused),
		T(test_wrong_issuer_refused),
		T(test_missing_number_refused),
		T(test_announced_number_checked),
		T(test_times_checked),
		T(test_bad_der_refused),
		T(test_kind_checked),
		T(test_delta_base_checked),
		T(test_delta_never_backwards),
		T(test_invalid_file_replaced),
		T(test_announced_entries_checked),
		T(test_load),
		T(test_combine),
		T(test_combine_empty),
	};
#undef T

	return cmocka_run_group_tests(tests, 0, NULL);
}
