/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of request validation and certificate building, checked by independent verifiers (OpenSSL, GnuTLS). */

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
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/signer.h"

#define WHY_LEN 256
#define DER_MAX 8192
#define DAY INT64_C(86400)
#define PAIRS_MAX 8
#define O_UTF8 "Ærø Ünïcödé 証明書"

static struct conf_profile server, client, smime, any;
static struct conf_issuer conf_ca = { .id = (char *)"test-ca" };
static struct conf_issuer conf_short = { .id = (char *)"short-ca" };
static struct cert_issuer issuers[2];
static EVP_PKEY *ca_key, *ec_key, *rsa_key;
static X509 *ca_cert;
static int64_t now;
static char tmpdir[256];
static const struct serial serial = { .b = { 0x01, 0x9a, 0x3c, 0x55, 0x10,
    0xe2, 0x7f, 0x00, 0x81, 0x42, 0x11, 0xaa, 0x09, 0x33, 0xc4, 0x5d },
    .len = 16 };

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
profile_base(struct conf_profile *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	p->name = (char *)name;
	sl(&p->issuers, "test-ca", "short-ca", NULL);
	p->default_days = 90;
	p->max_days = 397;
	p->backdate_seconds = 3600;
	p->digest = (char *)"sha256";
	p->rsa_min_bits = 2048;
	sl(&p->curves, "P-256", "P-384", NULL);
	p->san_max = 4;
	p->path_len = -1;
}

static void
profiles_make(void)
{
	profile_base(&server, "server");
	sl(&server.subject_allowed, "CN", "O", "C", "L", "ST", NULL);
	sl(&server.subject_required, "CN", NULL);
	sl(&server.san_types, "dns", "ip", NULL);
	server.cn_in_san = true;
	sl(&server.key_usage, "digitalSignature", "keyEncipherment", NULL);
	sl(&server.ext_key_usage, "serverAuth", NULL);
	sl(&server.crl_dp, "http://crl.example.org/{issuer}.crl", NULL);
	sl(&server.aia_ocsp, "http://ocsp.example.org/", NULL);
	sl(&server.aia_ca_issuers, "http://ca.example.org/{issuer}.der", NULL);
	sl(&server.policies, "2.23.140.1.2.2", NULL);

	profile_base(&client, "client");
	sl(&client.subject_allowed, "CN", "O", "emailAddress", NULL);
	sl(&client.subject_required, "CN", NULL);
	client.subject_from_csr = true;
	sl(&client.san_types, "email", NULL);
	sl(&client.key_usage, "digitalSignature", "keyAgreement", NULL);
	sl(&client.ext_key_usage, "clientAuth", NULL);

	profile_base(&smime, "smime");
	sl(&smime.subject_allowed, "CN", "GN", "SN", "emailAddress", NULL);
	sl(&smime.san_types, "email", NULL);
	sl(&smime.key_usage, "digitalSignature", "nonRepudiation",
	    "keyEncipherment", NULL);
	sl(&smime.ext_key_usage, "emailProtection", NULL);

	profile_base(&any, "any");
	sl(&any.subject_allowed, "CN", "O", "OU", "C", "L", "ST", "street",
	    "postalCode", "title", "GN", "SN", "serialNumber", "DC",
	    "emailAddress", NULL);
	sl(&any.san_types, "dns", "email", "ip", "uri", NULL);
	any.san_max = 100;
}

static void
ext_add(X509 *x, X509V3_CTX *ctx, const char *name, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_nconf(NULL, ctx, name, value);

	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

static X509 *
ca_make(const char *cn, int64_t nb, int64_t na)
{
	X509 *x = X509_new();
	X509_NAME *n;
	X509V3_CTX ctx;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	n = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Test CA", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na));
	assert_int_equal(X509_set_pubkey(x, ca_key), 1);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext_add(x, &ctx, "basicConstraints", "critical,CA:TRUE");
	ext_add(x, &ctx, "keyUsage", "critical,keyCertSign,cRLSign");
	ext_add(x, &ctx, "subjectKeyIdentifier", "hash");
	assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
	return x;
}

/* A DER CSR for key; subject entries as "CN", value pairs, NULL-terminated. */
static size_t
csr_make(EVP_PKEY *key, uint8_t *der, ...)
{
	X509_REQ *req = X509_REQ_new();
	unsigned char *p = der;
	const char *f, *v;
	va_list ap;
	int n;

	assert_non_null(req);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	va_start(ap, der);
	while ((f = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		assert_int_equal(X509_NAME_add_entry_by_txt(
		    X509_REQ_get_subject_name(req), f, MBSTRING_UTF8,
		    (const unsigned char *)v, -1, -1, 0), 1);
	}
	va_end(ap);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	assert_true((n = i2d_X509_REQ(req, NULL)) > 0 && n <= DER_MAX);
	assert_int_equal(i2d_X509_REQ(req, &p), n);
	X509_REQ_free(req);
	return (size_t)n;
}

/* A request under construction: pairs point at string literals. */
struct rq {
	struct cert_request req;
	struct cert_pair subject[PAIRS_MAX];
	struct cert_pair san[PAIRS_MAX];
	uint8_t csr[DER_MAX];
};

static void
pair_add(struct cert_pair *v, size_t *n, const char *name, const char *value,
    size_t len)
{
	assert_true(*n < PAIRS_MAX);
	v[*n].name = name;
	v[*n].name_len = strlen(name);
	v[*n].value = value;
	v[*n].value_len = len != 0 ? len : strlen(value);
	(*n)++;
}

#define SUBJ(r, n, v) pair_add((r)->subject, &(r)->req.n_subject, n, v, 0)
#define SAN(r, t, v) pair_add((r)->san, &(r)->req.n_san, t, v, 0)

static void
rq_init(struct rq *r, EVP_PKEY *key)
{
	memset(r, 0, sizeof(*r));
	r->req.subject = r->subject;
	r->req.san = r->san;
	r->req.csr = r->csr;
	r->req.csr_len = csr_make(key, r->csr, "CN", "ignored.example.org",
	    NULL);
}

/* A server request that passes: CN and one dns name. */
static void
rq_server(struct rq *r)
{
	rq_init(r, ec_key);
	SUBJ(r, "CN", "www.example.org");
	SAN(r, "dns", "www.example.org");
}

static int
prepare(const struct conf_profile *p, struct rq *r, X509 **tbs, char *why)
{
	const struct cert_issuer *chosen = NULL;
	int rc;

	*tbs = NULL;
	why[0] = '\0';
	rc = cert_prepare(p, issuers, 2, &r->req, &serial, now, tbs, &chosen,
	    why, WHY_LEN);
	if (rc == 0) {
		assert_non_null(*tbs);
		assert_non_null(chosen);
	} else {
		assert_null(*tbs);
		assert_null(chosen);
	}
	return rc;
}

static void
expect(const struct conf_profile *p, struct rq *r, int want, const char *msg)
{
	char why[WHY_LEN];
	X509 *tbs;

	assert_int_equal(prepare(p, r, &tbs, why), want);
	assert_string_equal(why, msg);
}

static void
write_pem(const char *name, X509 *x, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(PEM_write_X509(f, x), 1);
	assert_int_equal(fclose(f), 0);
}

/* Run cmd; its output goes to out (may be NULL); returns the exit status. */
static int
run(const char *cmd, char *out, size_t outlen)
{
	char line[512];
	size_t o = 0;
	FILE *f;

	assert_non_null(f = popen(cmd, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (out != NULL && o + strlen(line) < outlen) {
			memcpy(out + o, line, strlen(line) + 1);
			o += strlen(line);
		}
	return pclose(f);
}

/* Sign tbs with the test CA key, then verify with OpenSSL and GnuTLS. */
static void
sign_and_verify(X509 *tbs, const char *purpose, char *info, size_t infolen)
{
	char ca[512], leaf[512], cmd[2048], out[8192];

	assert_true(X509_sign(tbs, ca_key, EVP_sha256()) > 0);
	write_pem("ca.pem", ca_cert, ca, sizeof(ca));
	write_pem("leaf.pem", tbs, leaf, sizeof(leaf));
	snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict -purpose %s "
	    "-CAfile %s %s 2>&1", purpose, ca, leaf);
	if (run(cmd, out, sizeof(out)) != 0)
		fail_msg("openssl verify: %s", out);
	snprintf(cmd, sizeof(cmd), "certtool --verify --load-ca-certificate %s "
	    "--infile %s 2>&1", ca, leaf);
	if (run(cmd, out, sizeof(out)) != 0)
		fail_msg("certtool --verify: %s", out);
	snprintf(cmd, sizeof(cmd), "certtool -i --infile %s 2>&1", leaf);
	assert_int_equal(run(cmd, info, infolen), 0);
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
	char why[WHY_LEN];
	X509 *x;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_build.XXXXXX",
	    t != NULL ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	now = (int64_t)time(NULL);
	profiles_make();
	ca_key = EVP_EC_gen("P-256");
	ec_key = EVP_EC_gen("P-256");
	rsa_key = EVP_RSA_gen(2048);
	ca_cert = ca_make("Test CA", now - 10 * DAY, now + 3 * 365 * DAY);
	if (issuer_init(&conf_ca, ca_cert, &issuers[0], why, sizeof(why)) != 0)
		return -1;
	x = ca_make("Short CA", now - 20 * DAY, now + 100 * DAY);
	if (issuer_init(&conf_short, x, &issuers[1], why, sizeof(why)) != 0)
		return -1;
	X509_free(x);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	issuer_clear(&issuers[0]);
	issuer_clear(&issuers[1]);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(rsa_key);
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static const ASN1_STRING *
subject_value(const X509 *x, int nid)
{
	const X509_NAME *n = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(n, nid, -1);

	assert_true(i >= 0);
	return X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
}

static void
test_server_ec(void **state)
{
	const ASN1_STRING *o, *c;
	ASN1_BIT_STRING *ku;
	char why[WHY_LEN], info[8192];
	struct rq r;
	X509 *tbs;

	(void)state;
	rq_server(&r);
	SUBJ(&r, "C", "DE");
	SUBJ(&r, "O", O_UTF8);
	SAN(&r, "dns", "example.org");
	SAN(&r, "ip", "192.0.2.1");
	SAN(&r, "ip", "2001:db8::1");
	assert_int_equal(prepare(&server, &r, &tbs, why), 0);
	o = subject_value(tbs, NID_organizationName);
	assert_int_equal(ASN1_STRING_type(o), V_ASN1_UTF8STRING);
	assert_int_equal(ASN1_STRING_length(o), strlen(O_UTF8));
	assert_memory_equal(ASN1_STRING_get0_data(o), O_UTF8, strlen(O_UTF8));
	c = subject_value(tbs, NID_countryName);
	assert_int_equal(ASN1_STRING_type(c), V_ASN1_PRINTABLESTRING);
	/* encoded in canonical order C, O, CN whatever the request order */
	assert_int_equal(X509_NAME_get_index_by_NID(X509_get_subject_name(tbs),
	    NID_countryName, -1), 0);
	assert_int_equal(X509_NAME_get_index_by_NID(X509_get_subject_name(tbs),
	    NID_commonName, -1), 2);
	/* an EC key keeps digitalSignature only */
	assert_non_null(ku = X509_get_ext_d2i(tbs, NID_key_usage, NULL, NULL));
	assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 0), 1);
	assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 2), 0);
	ASN1_BIT_STRING_free(ku);
	sign_and_verify(tbs, "sslserver", info, sizeof(info));
	assert_non_null(strstr(info, "O=" O_UTF8));
	assert_non_null(strstr(info, "http://crl.example.org/test-ca.crl"));
	X509_free(tbs);
}

static void
test_server_rsa(void **state)
{
	ASN1_BIT_STRING *ku;
	char why[WHY_LEN], info[8192];
	struct rq r;
	X509 *tbs;

	(void)state;
	rq_init(&r, rsa_key);
	SUBJ(&r, "CN", "192.0.2.7");    /* a CN may be an IP address SAN */
	SAN(&r, "ip", "192.0.2.7");
	SAN(&r, "dns", "rsa.example.org");
	assert_int_equal(prepare(&server, &r, &tbs, why), 0);
	assert_non_null(ku = X509_get_ext_d2i(tbs, NID_key_usage, NULL, NULL));
	assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 0), 1);
	assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 2), 1);
	ASN1_BIT_STRING_free(ku);
	sign_and_verify(tbs, "sslserver", info, sizeof(info));
	X509_free(tbs);
}

static void
test_client_subject_from_csr(void **state)
{
	const ASN1_STRING *cn;
	char why[WHY_LEN], info[8192];
	struct rq r;
	X509 *tbs;

	(void)state;
	rq_init(&r, ec_key);
	r.req.csr_len = csr_make(ec_key, r.csr, "CN", "Ål Ice", "emailAddress",
	    "alice@example.org", NULL);
	SAN(&r, "email", "alice@example.org");
	assert_int_equal(prepare(&client, &r, &tbs, why), 0);
	cn = subject_value(tbs, NID_commonName);
	assert_int_equal(ASN1_STRING_type(cn), V_ASN1_UTF8STRING);
	assert_int_equal(ASN1_STRING_type(subject_value(tbs,
	    NID_pkcs9_emailAddress)), V_ASN1_IA5STRING);
	sign_and_verify(tbs, "sslclient", info, sizeof(info));
	X509_free(tbs);

	r.req.csr_len = csr_make(ec_key, r.csr, "CN", "Bob", "OU", "Dev", NULL);
	expect(&client, &r, ERR_POLICY, "CSR subject attribute 'OU' is not "
	    "allowed by profile 'client'");
	r.req.csr_len = csr_make(ec_key, r.csr, "CN", "Bob", "UID", "b", NULL);
	expect(&client, &r, ERR_POLICY, "CSR subject attribute 'userId' is not "
	    "supported");
	r.req.csr_len = csr_make(ec_key, r.csr, "O", "Org", NULL);
	expect(&client, &r, ERR_POLICY, "CSR subject attribute 'CN' is required "
	    "by profile 'client'");
	/* the server profile never takes the CSR's subject */
	rq_init(&r, ec_key);
	SAN(&r, "dns", "www.example.org");
	expect(&server, &r, ERR_POLICY, "subject attribute 'CN' is required by "
	    "profile 'server'");
}

static void
test_smime_empty_subject(void **state)
{
	char why[WHY_LEN], info[8192];
	int crit = -1;
	GENERAL_NAMES *gns;
	struct rq r;
	X509 *tbs;

	(void)state;
	rq_init(&r, rsa_key);
	SAN(&r, "email", "carol@example.org");
	assert_int_equal(prepare(&smime, &r, &tbs, why), 0);
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(tbs)), 0);
	gns = X509_get_ext_d2i(tbs, NID_subject_alt_name, &crit, NULL);
	assert_non_null(gns);
	assert_int_equal(crit, 1);
	GENERAL_NAMES_free(gns);
	sign_and_verify(tbs, "smimesign", info, sizeof(info));
	X509_free(tbs);

	rq_init(&r, rsa_key);
	expect(&smime, &r, ERR_POLICY, "the certificate would have neither a "
	    "subject nor a subjectAltName");
}

struct subject_case {
	const char *name;
	const char *value;
	size_t len;
	int want;
	const char *msg;
};

static void
test_subject_refused(void **state)
{
	static char long_o[66], long_l[130], huge[1030], cjk[64 * 3 + 1];
	const struct subject_case cases[] = {
		{ "O", "\xff\xfe", 0, ERR_BAD_REQUEST,
		    "subject attribute 'O': invalid UTF-8 at byte 0" },
		{ "O", "ab\xc3", 0, ERR_BAD_REQUEST,
		    "subject attribute 'O': invalid UTF-8 at byte 2" },
		{ "O", "\xc0\xaf", 0, ERR_BAD_REQUEST,
		    "subject attribute 'O': invalid UTF-8 at byte 0" },
		{ "O", "x\xed\xa0\x80", 0, ERR_BAD_REQUEST,
		    "subject attribute 'O': invalid UTF-8 at byte 1" },
		{ "O", "Exa\0mple", 8, ERR_BAD_REQUEST,
		    "subject attribute 'O': embedded NUL at byte 3" },
		{ "O", huge, 0, ERR_BAD_REQUEST,
		    "subject attribute 'O' is longer than 1024 bytes" },
		{ "UID", "x", 0, ERR_BAD_REQUEST,
		    "unknown subject attribute 'UID'" },
		{ "O", long_o, 0, ERR_POLICY,
		    "subject attribute 'O' is longer than 64 characters" },
		{ "L", long_l, 0, ERR_POLICY,
		    "subject attribute 'L' is longer than 128 characters" },
		{ "O", "", 0, ERR_POLICY, "subject attribute 'O' is empty" },
		{ "O", "Tab\there", 0, ERR_POLICY,
		    "subject attribute 'O' contains a control character" },
		{ "O", "Next\xc2\x85line", 0, ERR_POLICY,
		    "subject attribute 'O' contains a control character" },
		{ "O", " Example", 0, ERR_POLICY,
		    "subject attribute 'O' has leading or trailing white space" },
		{ "OU", "Web", 0, ERR_POLICY,
		    "subject attribute 'OU' is not allowed by profile 'server'" },
		{ "C", "de", 0, ERR_POLICY,
		    "subject attribute 'C' must be two upper-case letters (ISO 3166)" },
		{ "C", "DEU", 0, ERR_POLICY,
		    "subject attribute 'C' must be two upper-case letters (ISO 3166)" },
		{ "CN", "www.example.org", 0, ERR_POLICY,
		    "subject attribute 'CN' appears more than once" },
		{ "O", cjk, 0, 0, "" },
	};
	char why[WHY_LEN];
	struct rq r;
	X509 *tbs;
	size_t i;

	(void)state;
	memset(long_o, 'o', sizeof(long_o) - 1);
	memset(long_l, 'l', sizeof(long_l) - 1);
	memset(huge, 'h', sizeof(huge) - 1);
	for (i = 0; i < 64; i++)
		memcpy(cjk + 3 * i, "\xe8\xa8\xbc", 3);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rq_server(&r);
		pair_add(r.subject, &r.req.n_subject, cases[i].name,
		    cases[i].value, cases[i].len);
		assert_int_equal(prepare(&server, &r, &tbs, why), cases[i].want);
		assert_string_equal(why, cases[i].msg);
		X509_free(tbs);
	}
}

static void
test_any_values(void **state)
{
	const struct subject_case cases[] = {
		{ "serialNumber", "AB-12/3", 0, 0, "" },
		{ "serialNumber", "AB_12", 0, ERR_POLICY, "subject attribute "
		    "'serialNumber' has a character not allowed in PrintableString" },
		{ "emailAddress", "a@example.org", 0, 0, "" },
		{ "emailAddress", "a@@example.org", 0, ERR_POLICY, "subject "
		    "attribute 'emailAddress' 'a@@example.org': domain: invalid "
		    "character '@'" },
		{ "emailAddress", "\xc3\xa4@example.org", 0, ERR_POLICY,
		    "subject attribute 'emailAddress' must be ASCII" },
		{ "DC", "Example", 0, 0, "" },
		{ "DC", "ex ample", 0, ERR_POLICY, "subject attribute 'DC' "
		    "'ex ample': invalid character \\x20" },
		{ "postalCode", "12345678901234567890123456789012345678901",
		    0, ERR_POLICY,
		    "subject attribute 'postalCode' is longer than 40 characters" },
	};
	char why[WHY_LEN];
	struct rq r;
	X509 *tbs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rq_init(&r, ec_key);
		SUBJ(&r, cases[i].name, cases[i].value);
		assert_int_equal(prepare(&any, &r, &tbs, why), cases[i].want);
		assert_string_equal(why, cases[i].msg);
		X509_free(tbs);
	}
}

static void
test_san_refused(void **state)
{
	const struct subject_case cases[] = {
		{ "uri", "https://x.example.org/", 0, ERR_POLICY, "subjectAltName "
		    "type 'uri' is not allowed by profile 'server'" },
		{ "foo", "x", 0, ERR_BAD_REQUEST, "unknown subjectAltName type "
		    "'foo' (dns, email, ip, uri)" },
		{ "dns", "www.example.org", 0, ERR_POLICY,
		    "dns name 'www.example.org' appears more than once" },
		{ "dns", "a\0b.example.org", 15, ERR_BAD_REQUEST,
		    "dns name #2: embedded NUL at byte 1" },
		{ "dns", "\xe0\x80\x80.example.org", 0, ERR_BAD_REQUEST,
		    "dns name #2: invalid UTF-8 at byte 0" },
		{ "ip", "1.2.3", 0, ERR_POLICY,
		    "ip address '1.2.3' is not a valid IPv4 or IPv6 address" },
		{ "ip", "192.0.2.1", 0, 0, "" },
		{ "ip", "::ffff:192.0.2.1", 0, 0, "" },
	};
	char why[WHY_LEN];
	struct rq r;
	X509 *tbs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rq_server(&r);
		pair_add(r.san, &r.req.n_san, cases[i].name, cases[i].value,
		    cases[i].len);
		assert_int_equal(prepare(&server, &r, &tbs, why), cases[i].want);
		assert_string_equal(why, cases[i].msg);
		X509_free(tbs);
	}
	rq_server(&r);
	SAN(&r, "dns", "a.example.org");
	SAN(&r, "dns", "b.example.org");
	SAN(&r, "dns", "c.example.org");
	SAN(&r, "dns", "d.example.org");
	expect(&server, &r, ERR_POLICY, "too many subjectAltName entries: 5 "
	    "(profile 'server' allows 4)");
	rq_init(&r, ec_key);
	SUBJ(&r, "CN", "www.example.org");
	SAN(&r, "dns", "other.example.org");
	expect(&server, &r, ERR_POLICY, "subject CN 'www.example.org' is not "
	    "among the subjectAltName entries (profile 'server')");
}

/* Emails, IP addresses and URIs through a profile that allows every type. */
static void
test_san_syntax(void **state)
{
	static const char *const cases[][3] = {
		{ "email", "carol.x+tag@mail.example.org", "" },
		{ "email", "noat.example.org", "email 'noat.example.org': missing '@'" },
		{ "email", "@example.org", "email '@example.org': empty local part" },
		{ "email", "a..b@example.org",
		    "email 'a..b@example.org': misplaced dot in local part" },
		{ "email", ".a@example.org",
		    "email '.a@example.org': misplaced dot in local part" },
		{ "email", "a b@example.org", "email 'a b@example.org': invalid "
		    "character \\x20 in local part" },
		{ "email", "a@b@example.org",
		    "email 'a@b@example.org': domain: invalid character '@'" },
		{ "email", "a@example", "email 'a@example': domain: not a fully "
		    "qualified domain name (single label)" },
		{ "email", "a@*.example.org",
		    "email 'a@*.example.org': domain: wildcard is not allowed" },
		{ "email", "\xc3\xbc@example.org", "email '\xc3\xbc@example.org': "
		    "non-ASCII local part is not supported" },
		{ "email", "x@Example.org", "email 'x@Example.org': domain: "
		    "upper-case letter (use lower case)" },
		{ "ip", "2001:db8::1", "" },
		{ "ip", "256.1.1.1", "ip address '256.1.1.1' is not a valid IPv4 or "
		    "IPv6 address" },
		{ "ip", "01.2.3.4", "ip address '01.2.3.4' is not a valid IPv4 or "
		    "IPv6 address" },
		{ "ip", "fe80::1%eth0", "ip address 'fe80::1%eth0' is not a valid "
		    "IPv4 or IPv6 address" },
		{ "ip", "1.2.3.4.5", "ip address '1.2.3.4.5' is not a valid IPv4 or "
		    "IPv6 address" },
		{ "ip", "::g", "ip address '::g' is not a valid IPv4 or IPv6 "
		    "address" },
		{ "uri", "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "" },
		{ "uri", "example.org/x", "uri 'example.org/x': missing scheme" },
		{ "uri", "1http://x", "uri '1http://x': missing scheme" },
		{ "uri", "http:", "uri 'http:': nothing after the scheme" },
		{ "uri", "http://a b", "uri 'http://a b': invalid character \\x20" },
		{ "uri", "http://a/%zz",
		    "uri 'http://a/%zz': '%' not followed by two hex digits" },
	};
	char why[WHY_LEN];
	struct rq r;
	X509 *tbs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rq_init(&r, ec_key);
		SAN(&r, cases[i][0], cases[i][1]);
		assert_int_equal(prepare(&any, &r, &tbs, why),
		    cases[i][2][0] == '\0' ? 0 : ERR_POLICY);
		assert_string_equal(why, cases[i][2]);
		X509_free(tbs);
	}
}

static void
test_validity(void **state)
{
	const struct cert_issuer *chosen;
	int64_t nb, na, v;
	char why[WHY_LEN], d1[16], d2[16], d3[16], want[WHY_LEN];
	time_t t;
	struct rq r;
	X509 *tbs;

	(void)state;
	rq_server(&r);
	assert_int_equal(cert_plan(&server, issuers, 2, &r.req, now, &chosen,
	    &nb, &na, why, sizeof(why)), 0);
	assert_ptr_equal(chosen, &issuers[0]);
	assert_int_equal(nb, now - 3600);
	assert_int_equal(na - nb + 1, 90 * DAY);
	r.req.days = 397;
	assert_int_equal(prepare(&server, &r, &tbs, why), 0);
	assert_int_equal(cert_time_get(X509_get0_notBefore(tbs), &v), 0);
	assert_int_equal(v, now - 3600);
	assert_int_equal(cert_time_get(X509_get0_notAfter(tbs), &v), 0);
	assert_int_equal(v, now - 3600 + 397 * DAY - 1);
	X509_free(tbs);
	r.req.days = 400;
	expect(&server, &r, ERR_POLICY,
	    "days 400 exceeds the maximum 397 of profile 'server'");

	/* a profile whose only issuer ends too early: no silent clamping */
	sl(&server.issuers, "short-ca", NULL);
	r.req.days = 0;
	assert_int_equal(prepare(&server, &r, &tbs, why), 0);
	X509_free(tbs);
	r.req.days = 200;
	t = (time_t)(now - 3600);
	strftime(d1, sizeof(d1), "%Y-%m-%d", gmtime(&t));
	t = (time_t)(now - 3600 + 200 * DAY - 1);
	strftime(d2, sizeof(d2), "%Y-%m-%d", gmtime(&t));
	t = (time_t)issuers[1].not_after;
	strftime(d3, sizeof(d3), "%Y-%m-%d", gmtime(&t));
	snprintf(want, sizeof(want), "no issuer of profile 'server' covers "
	    "%s..%s (short-ca ends %s)", d1, d2, d3);
	expect(&server, &r, ERR_POLICY, want);
	sl(&server.issuers, "test-ca", "short-ca", NULL);
}

/* Re-signing a reservation: recorded validity and issuer win. */
static void
test_reservation(void **state)
{
	const struct cert_issuer *chosen;
	char why[WHY_LEN];
	struct rq r;
	X509 *tbs;
	int64_t v;

	(void)state;
	rq_server(&r);
	r.req.not_before = now - 5 * DAY;
	r.req.not_after = now + 50 * DAY;
	r.req.issuer = "short-ca";
	assert_int_equal(cert_prepare(&server, issuers, 2, &r.req, &serial, now,
	    &tbs, &chosen, why, sizeof(why)), 0);
	assert_ptr_equal(chosen, &issuers[1]);
	assert_int_equal(cert_time_get(X509_get0_notBefore(tbs), &v), 0);
	assert_int_equal(v, now - 5 * DAY);
	assert_int_equal(cert_time_get(X509_get0_notAfter(tbs), &v), 0);
	assert_int_equal(v, now + 50 * DAY);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(tbs),
	    X509_get_subject_name(issuers[1].cert)), 0);
	X509_free(tbs);
	r.req.not_after = now + 400 * DAY;
	r.req.issuer = NULL;
	assert_int_equal(cert_prepare(&server, issuers, 2, &r.req, &serial, now,
	    &tbs, &chosen, why, sizeof(why)), ERR_POLICY);
	assert_string_equal(why, "validity of 34992001 seconds exceeds 397 days "
	    "(profile 'server')");
}

/* The certificate carries the CSR's subjectPublicKeyInfo byte for byte. */
static void
spki_same(EVP_PKEY *key)
{
	unsigned char *a = NULL, *b = NULL;
	const unsigned char *p;
	char why[WHY_LEN], info[8192];
	X509_REQ *csr;
	struct rq r;
	X509 *tbs;
	int alen, blen;

	rq_init(&r, key);
	SUBJ(&r, "CN", "www.example.org");
	SAN(&r, "dns", "www.example.org");
	assert_int_equal(prepare(&server, &r, &tbs, why), 0);
	p = r.csr;
	assert_non_null(csr = d2i_X509_REQ(NULL, &p, (long)r.req.csr_len));
	alen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(tbs), &a);
	blen = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(csr), &b);
	assert_true(alen > 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, (size_t)alen);
	sign_and_verify(tbs, "sslserver", info, sizeof(info));
	OPENSSL_free(a);
	OPENSSL_free(b);
	X509_REQ_free(csr);
	X509_free(tbs);
}

static void
test_spki_copied(void **state)
{
	EVP_PKEY *k = EVP_EC_gen("P-384");

	(void)state;
	spki_same(ec_key);
	spki_same(rsa_key);
	assert_int_equal(EVP_PKEY_set_utf8_string_param(k,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"), 1);
	spki_same(k);
	EVP_PKEY_free(k);
}

/* A new serial replaces the old one; the checks run again on the result. */
static void
test_set_serial(void **state)
{
	static const struct serial short_sn = { .b = { 0x05, 1, 2, 3, 4, 5, 6,
	    7 }, .len = 8 };
	static const struct serial lead = { .b = { 0x00, 0x05 }, .len = 2 };
	struct serial other = serial, got;
	const ASN1_INTEGER *sn;
	char why[WHY_LEN];
	struct rq r;
	X509 *tbs;

	(void)state;
	rq_server(&r);
	assert_int_equal(prepare(&server, &r, &tbs, why), 0);
	other.b[other.len - 1] ^= 0xff;
	assert_int_equal(cert_set_serial(tbs, &other), 0);
	sn = X509_get0_serialNumber(tbs);
	got.len = (size_t)ASN1_STRING_length(sn);
	assert_int_equal(got.len, other.len);
	assert_memory_equal(ASN1_STRING_get0_data(sn), other.b, other.len);
	assert_int_equal(cert_lint(tbs, &server, &issuers[0], why, sizeof(why)),
	    0);
	assert_int_equal(cert_set_serial(tbs, &lead), ERR_INVAL);
	assert_int_equal(cert_set_serial(tbs, &short_sn), 0);
	assert_int_equal(cert_lint(tbs, &server, &issuers[0], why, sizeof(why)),
	    ERR_POLICY);
	assert_string_equal(why, "serial number of 8 octets is shorter than 9 "
	    "(64 bits of entropy)");
	X509_free(tbs);
}

static void
test_request_hash(void **state)
{
	uint8_t h0[CERT_HASH_LEN], h[CERT_HASH_LEN];
	struct rq r, r2;

	(void)state;
	rq_server(&r);
	r.req.profile = "server";
	r.req.profile_len = 6;
	assert_int_equal(cert_request_hash(&r.req, h0), 0);
	r2 = r;
	r2.req.subject = r2.subject;
	r2.req.san = r2.san;
	r2.req.csr = r2.csr;
	assert_int_equal(cert_request_hash(&r2.req, h), 0);
	assert_memory_equal(h, h0, sizeof(h));
	r2.req.days = 30;
	assert_int_equal(cert_request_hash(&r2.req, h), 0);
	assert_memory_not_equal(h, h0, sizeof(h));
	r2.req.days = 0;
	r2.csr[r2.req.csr_len - 1] ^= 1;
	assert_int_equal(cert_request_hash(&r2.req, h), 0);
	assert_memory_not_equal(h, h0, sizeof(h));
	r2.csr[r2.req.csr_len - 1] ^= 1;
	r2.req.profile = "client";
	assert_int_equal(cert_request_hash(&r2.req, h), 0);
	assert_memory_not_equal(h, h0, sizeof(h));
	r2.req.profile = "server";
	/* moving bytes across a field boundary changes the hash */
	r2.subject[0].name = "CNw";
	r2.subject[0].name_len = 3;
	r2.subject[0].value = "ww.example.org";
	r2.subject[0].value_len = 14;
	assert_int_equal(cert_request_hash(&r2.req, h), 0);
	assert_memory_not_equal(h, h0, sizeof(h));
	/* a subject pair is not a SAN pair */
	r2 = r;
	r2.req.subject = r2.san;
	r2.req.san = r2.subject;
	assert_int_equal(cert_request_hash(&r2.req, h), 0);
	assert_memory_not_equal(h, h0, sizeof(h));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_ec),
		cmocka_unit_test(test_server_rsa),
		cmocka_unit_test(test_client_subject_from_csr),
		cmocka_unit_test(test_smime_empty_subject),
		cmocka_unit_test(test_subject_refused),
		cmocka_unit_test(test_any_values),
		cmocka_unit_test(test_san_refused),
		cmocka_unit_test(test_san_syntax),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_reservation),
		cmocka_unit_test(test_spki_copied),
		cmocka_unit_test(test_set_serial),
		cmocka_unit_test(test_request_hash),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
