/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of issuer loading and of choosing the issuer that covers a certificate's validity. */

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
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/signer.h"

#define WHY_LEN 256
#define DAY INT64_C(86400)
#define T_2024_01_01 INT64_C(1704067200)
#define T_2026_01_01 INT64_C(1767225600)
#define T_2026_11_23 INT64_C(1795392000)
#define T_2027_06_30 INT64_C(1814313600)
#define T_2027_12_25 INT64_C(1829692800)
#define T_2030_01_01 INT64_C(1893456000)
#define T_2035_01_01 INT64_C(2051222400)
#define T_2055_06_01 INT64_C(2695420800)

static EVP_PKEY *ca_key;
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

static void
ext_add(X509 *x, X509V3_CTX *ctx, const char *name, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_nconf(NULL, ctx, name, value);

	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A self-signed test CA; ski false leaves out the key identifiers. */
static X509 *
ca_make(const char *cn, int64_t nb, int64_t na, bool ca, bool ski)
{
	X509 *x = X509_new();
	X509_NAME *n;
	X509V3_CTX ctx;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	n = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na));
	assert_int_equal(X509_set_pubkey(x, ca_key), 1);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext_add(x, &ctx, "basicConstraints", ca ? "critical,CA:TRUE,pathlen:0" :
	    "critical,CA:FALSE");
	ext_add(x, &ctx, "keyUsage", ca ? "critical,keyCertSign,cRLSign" :
	    "critical,digitalSignature");
	if (ski)
		ext_add(x, &ctx, "subjectKeyIdentifier", "hash");
	assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
	return x;
}

static void
pem_write(const char *name, X509 *const *certs, size_t n, char *path,
    size_t pathlen)
{
	FILE *f;
	size_t i;

	snprintf(path, pathlen, "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(path, "w"));
	for (i = 0; i < n; i++)
		assert_int_equal(PEM_write_X509(f, certs[i]), 1);
	assert_int_equal(fclose(f), 0);
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
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_issuer.XXXXXX",
	    t != NULL ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	ca_key = EVP_EC_gen("P-256");
	return ca_key == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ca_key);
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void
test_load_ok(void **state)
{
	struct conf_issuer conf = { .id = (char *)"root" };
	struct cert_issuer iss;
	char path[512], why[WHY_LEN] = "";
	X509 *ca = ca_make("Test Root", T_2026_01_01, T_2030_01_01, true, true);

	(void)state;
	pem_write("root.pem", &ca, 1, path, sizeof(path));
	conf.cert = path;
	assert_int_equal(issuer_load(&conf, &iss, why, sizeof(why)), 0);
	assert_ptr_equal(iss.conf, &conf);
	assert_int_equal(iss.ski_len, 20);
	assert_int_equal(iss.not_before, T_2026_01_01);
	assert_int_equal(iss.not_after, T_2030_01_01);
	assert_int_equal(iss.path_len, 0);
	assert_int_equal(X509_cmp(iss.cert, ca), 0);
	issuer_clear(&iss);
	assert_null(iss.cert);
	issuer_clear(NULL);
	X509_free(ca);
}

static void
load_expect(X509 *const *certs, size_t n, int want, const char *msg)
{
	struct conf_issuer conf = { .id = (char *)"bad" };
	struct cert_issuer iss;
	char path[512], why[WHY_LEN] = "";

	pem_write("bad.pem", certs, n, path, sizeof(path));
	conf.cert = path;
	assert_int_equal(issuer_load(&conf, &iss, why, sizeof(why)), want);
	assert_string_equal(why, msg);
	assert_null(iss.cert);
}

static void
test_load_refused(void **state)
{
	X509 *noski = ca_make("No SKI", T_2026_01_01, T_2030_01_01, true, false);
	X509 *leaf = ca_make("Leaf", T_2026_01_01, T_2030_01_01, false, true);

	(void)state;
	load_expect(&noski, 1, ERR_CONFIG,
	    "certificate of issuer 'bad' has no subjectKeyIdentifier");
	load_expect(&leaf, 1, ERR_CONFIG, "certificate of issuer 'bad' is not "
	    "a CA (basicConstraints cA is not set)");
	X509_free(noski);
	X509_free(leaf);
}

static void
test_load_files(void **state)
{
	struct conf_issuer conf = { .id = (char *)"f" };
	struct cert_issuer iss;
	char path[512], why[WHY_LEN], want[WHY_LEN + 512];
	X509 *ca = ca_make("Two", T_2026_01_01, T_2030_01_01, true, true);
	X509 *two[2] = { ca, ca };
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/missing.pem", tmpdir);
	conf.cert = path;
	assert_int_equal(issuer_load(&conf, &iss, why, sizeof(why)), ERR_CONFIG);
	snprintf(want, sizeof(want), "issuer 'f': cannot open %s", path);
	assert_string_equal(why, want);

	snprintf(path, sizeof(path), "%s/garbage.pem", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	fputs("not a certificate\n", f);
	fclose(f);
	assert_int_equal(issuer_load(&conf, &iss, why, sizeof(why)), ERR_CONFIG);
	snprintf(want, sizeof(want), "issuer 'f': %s holds no PEM certificate",
	    path);
	assert_string_equal(why, want);

	pem_write("two.pem", two, 2, path, sizeof(path));
	assert_int_equal(issuer_load(&conf, &iss, why, sizeof(why)), ERR_CONFIG);
	snprintf(want, sizeof(want), "issuer 'f': %s holds more than one "
	    "certificate", path);
	assert_string_equal(why, want);
	X509_free(ca);
}

/* Three issuers of profile 'server' and one of another profile. */
struct fleet {
	struct conf_issuer conf[4];
	struct cert_issuer iss[4];
	struct conf_profile p;
};

static void
fleet_make(struct fleet *f)
{
	static const char *const ids[] = { "server-2024", "server-2026",
	    "server-2027", "other" };
	const int64_t when[4][2] = {
		{ T_2024_01_01, T_2030_01_01 },
		{ T_2026_01_01, T_2027_06_30 },
		{ T_2027_06_30 - 180 * DAY, T_2035_01_01 },
		{ T_2026_01_01, T_2035_01_01 },
	};
	char why[WHY_LEN];
	size_t i;
	X509 *x;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < 4; i++) {
		f->conf[i].id = (char *)ids[i];
		x = ca_make(ids[i], when[i][0], when[i][1], true, true);
		assert_int_equal(issuer_init(&f->conf[i], x, &f->iss[i], why,
		    sizeof(why)), 0);
		X509_free(x);
	}
	f->p.name = (char *)"server";
	sl(&f->p.issuers, "server-2024", "server-2026", "server-2027", NULL);
}

static void
fleet_free(struct fleet *f)
{
	size_t i;

	for (i = 0; i < 4; i++)
		issuer_clear(&f->iss[i]);
}

static void
test_select_newest(void **state)
{
	const struct cert_issuer *out;
	char why[WHY_LEN];
	struct fleet f;

	(void)state;
	fleet_make(&f);
	/* 2024 and 2026 both cover it: the newer wins */
	assert_int_equal(issuer_select(&f.p, f.iss, 4, NULL, T_2026_01_01 + DAY,
	    T_2026_11_23, &out, why, sizeof(why)), 0);
	assert_ptr_equal(out, &f.iss[1]);
	/* past 2027-06-30 only the 2027 issuer and the old 2024 one cover */
	assert_int_equal(issuer_select(&f.p, f.iss, 4, NULL, T_2027_06_30 - DAY,
	    T_2027_12_25, &out, why, sizeof(why)), 0);
	assert_ptr_equal(out, &f.iss[2]);
	/* a forced issuer is used when it covers */
	assert_int_equal(issuer_select(&f.p, f.iss, 4, "server-2024",
	    T_2026_01_01 + DAY, T_2026_11_23, &out, why, sizeof(why)), 0);
	assert_ptr_equal(out, &f.iss[0]);
	fleet_free(&f);
}

static void
test_select_none(void **state)
{
	const struct cert_issuer *out = (const void *)1;
	char why[WHY_LEN];
	struct fleet f;

	(void)state;
	fleet_make(&f);
	f.p.issuers.n = 2;      /* server-2024 and server-2026 only */
	assert_int_equal(issuer_select(&f.p, f.iss, 4, "server-2026",
	    T_2026_11_23, T_2027_12_25, &out, why, sizeof(why)), ERR_POLICY);
	assert_null(out);
	assert_string_equal(why, "no issuer of profile 'server' covers "
	    "2026-11-23..2027-12-25 (server-2026 ends 2027-06-30)");
	assert_int_equal(issuer_select(&f.p, f.iss, 4, NULL, T_2026_11_23,
	    T_2030_01_01 + DAY, &out, why, sizeof(why)), ERR_POLICY);
	assert_string_equal(why, "no issuer of profile 'server' covers "
	    "2026-11-23..2030-01-02 (server-2024 ends 2030-01-01, "
	    "server-2026 ends 2027-06-30)");
	assert_int_equal(issuer_select(&f.p, f.iss, 4, NULL, T_2024_01_01 - DAY,
	    T_2026_11_23, &out, why, sizeof(why)), ERR_POLICY);
	assert_string_equal(why, "no issuer of profile 'server' covers "
	    "2023-12-31..2026-11-23 (server-2024 starts 2024-01-01, "
	    "server-2026 starts 2026-01-01)");
	fleet_free(&f);
}

static void
test_select_unknown(void **state)
{
	const struct cert_issuer *out;
	char why[WHY_LEN];
	struct fleet f;

	(void)state;
	fleet_make(&f);
	assert_int_equal(issuer_select(&f.p, f.iss, 4, "other", T_2026_11_23,
	    T_2027_12_25, &out, why, sizeof(why)), ERR_POLICY);
	assert_string_equal(why, "issuer 'other' does not serve profile 'server'");
	assert_int_equal(issuer_select(&f.p, f.iss, 2, "server-2027",
	    T_2026_11_23, T_2027_12_25, &out, why, sizeof(why)), ERR_NOT_FOUND);
	assert_string_equal(why, "issuer 'server-2027' is not loaded");
	assert_int_equal(issuer_select(&f.p, f.iss + 3, 1, NULL, T_2026_11_23,
	    T_2027_12_25, &out, why, sizeof(why)), ERR_NOT_FOUND);
	assert_string_equal(why, "profile 'server' has no loaded issuer");
	fleet_free(&f);
}

static void
test_time(void **state)
{
	ASN1_TIME *t;
	int64_t v;

	(void)state;
	assert_non_null(t = ASN1_TIME_set(NULL, (time_t)T_2027_12_25 + 3661));
	assert_int_equal(ASN1_STRING_type(t), V_ASN1_UTCTIME);
	assert_int_equal(cert_time_get(t, &v), 0);
	assert_int_equal(v, T_2027_12_25 + 3661);
	assert_non_null(ASN1_TIME_set(t, (time_t)T_2055_06_01));
	assert_int_equal(ASN1_STRING_type(t), V_ASN1_GENERALIZEDTIME);
	assert_int_equal(cert_time_get(t, &v), 0);
	assert_int_equal(v, T_2055_06_01);
	assert_int_equal(ASN1_STRING_set(t, "2027122", 7), 1);
	assert_int_equal(cert_time_get(t, &v), ERR_INVAL);
	assert_int_equal(cert_time_get(NULL, &v), ERR_INVAL);
	ASN1_TIME_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_ok),
		cmocka_unit_test(test_load_refused),
		cmocka_unit_test(test_load_files),
		cmocka_unit_test(test_select_newest),
		cmocka_unit_test(test_select_none),
		cmocka_unit_test(test_select_unknown),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
