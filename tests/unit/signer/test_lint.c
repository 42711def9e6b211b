/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the pre-issuance checks: DNS name rules, and certificates broken one rule at a time. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/signer.h"

#define WHY_LEN 256
#define DER_MAX 8192
#define DAY INT64_C(86400)
#define A63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static struct conf_profile server, names_profile;
static struct conf_issuer conf_ca = { .id = (char *)"test-ca" };
static struct cert_issuer issuer;
static EVP_PKEY *ca_key, *ec_key, *rsa_key;
static int64_t now;
static const struct serial serial = { .b = { 0x01, 0x9a, 0x3c, 0x55, 0x10,
    0xe2, 0x7f, 0x00, 0x81, 0x42, 0x11, 0xaa, 0x09, 0x33, 0xc4, 0x5d },
    .len = 16 };

/* name, then the reason after "dns name 'name': " ("" when good). */
static const char *const dns_cases[][2] = {
	{ "a..example.org", "empty label" },
	{ ".example.org", "empty label" },
	{ "example.org.", "trailing dot is not allowed" },
	{ "", "empty name" },
	{ "-a.example.org", "label starts with a hyphen" },
	{ "a-.example.org", "label ends with a hyphen" },
	{ "WWW.example.org", "upper-case letter (use lower case)" },
	{ "a_b.example.org", "invalid character '_'" },
	{ "ex ample.org", "invalid character \\x20" },
	{ "exa\x01mple.org", "invalid character \\x01" },
	{ "*.com", "wildcard directly under a top-level domain" },
	{ "*", "not a fully qualified domain name (single label)" },
	{ "w*.example.org", "wildcard must be the entire leftmost label" },
	{ "a.*.example.org", "wildcard must be the entire leftmost label" },
	{ "*.*.example.org", "wildcard must be the entire leftmost label" },
	{ "localhost", "not a fully qualified domain name (single label)" },
	{ "192.0.2.1", "top-level label is numeric" },
	{ "b\xc3\xbc" "cher.example", "non-ASCII character (IDNs must be xn-- "
	    "A-labels)" },
	{ "ab--cd.example.org", "'--' in positions 3-4 is reserved for xn-- "
	    "A-labels" },
	{ "xn--.example.org", "label ends with a hyphen" },
	{ "xn--9999999999a.example", "invalid xn-- A-label (punycode)" },
	{ "xn--5.example", "invalid xn-- A-label (punycode)" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "example.org", "label longer than 63 characters" },
	{ "example.org", "" },
	{ "www.example.org", "" },
	{ "*.example.org", "" },
	{ "*.example.co.uk", "" },
	{ "a-b.c-d.example.org", "" },
	{ "123.example.org", "" },
	{ "xn--bcher-kva.example", "" },
	{ "xn--e1afmkfd.xn--p1ai", "" },
	{ "a.b.c.d.e.f.g.example.museum", "" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "example.org", "" },
};

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
profiles_make(void)
{
	memset(&server, 0, sizeof(server));
	server.name = (char *)"server";
	sl(&server.issuers, "test-ca", NULL);
	server.default_days = 90;
	server.max_days = 397;
	server.backdate_seconds = 3600;
	server.rsa_min_bits = 2048;
	sl(&server.curves, "P-256", "P-384", NULL);
	sl(&server.subject_allowed, "CN", "O", "C", NULL);
	sl(&server.subject_required, "CN", NULL);
	sl(&server.san_types, "dns", "ip", NULL);
	server.san_max = 10;
	server.cn_in_san = true;
	sl(&server.key_usage, "digitalSignature", "keyEncipherment", NULL);
	sl(&server.ext_key_usage, "serverAuth", "clientAuth", NULL);
	server.path_len = -1;
	sl(&server.crl_dp, "http://crl.example.org/{issuer}.crl", NULL);
	sl(&server.aia_ocsp, "http://ocsp.example.org/", NULL);
	sl(&server.aia_ca_issuers, "http://ca.example.org/{issuer}.der", NULL);
	sl(&server.policies, "2.23.140.1.2.2", NULL);
	names_profile = server;
	names_profile.name = (char *)"names";
	names_profile.cn_in_san = false;
	sl(&names_profile.subject_required, NULL);
}

static X509 *
ca_make(int64_t nb, int64_t na)
{
	X509 *x = X509_new();
	X509_NAME *n;
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	static const char *const exts[][2] = {
		{ "basicConstraints", "critical,CA:TRUE" },
		{ "keyUsage", "critical,keyCertSign,cRLSign" },
		{ "subjectKeyIdentifier", "hash" },
	};
	size_t i;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	n = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"Lint CA", -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na));
	assert_int_equal(X509_set_pubkey(x, ca_key), 1);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		assert_non_null(e = X509V3_EXT_nconf(NULL, &ctx, exts[i][0],
		    exts[i][1]));
		assert_int_equal(X509_add_ext(x, e, -1), 1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
	return x;
}

static size_t
csr_make(EVP_PKEY *key, uint8_t *der)
{
	X509_REQ *req = X509_REQ_new();
	unsigned char *p = der;
	int n;

	assert_non_null(req);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	assert_true((n = i2d_X509_REQ(req, NULL)) > 0 && n <= DER_MAX);
	assert_int_equal(i2d_X509_REQ(req, &p), n);
	X509_REQ_free(req);
	return (size_t)n;
}

static int
setup(void **state)
{
	char why[WHY_LEN];
	X509 *ca;
	int rc;

	(void)state;
	now = (int64_t)time(NULL);
	profiles_make();
	ca_key = EVP_EC_gen("P-256");
	ec_key = EVP_EC_gen("P-256");
	rsa_key = EVP_RSA_gen(2048);
	ca = ca_make(now - 10 * DAY, now + 1000 * DAY);
	rc = issuer_init(&conf_ca, ca, &issuer, why, sizeof(why));
	X509_free(ca);
	return rc;
}

static int
teardown(void **state)
{
	(void)state;
	issuer_clear(&issuer);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(rsa_key);
	return 0;
}

/* A certificate that passes: CN=www.example.org, O=Example, two SANs. */
static X509 *
good(EVP_PKEY *key)
{
	static const struct cert_pair subject[] = {
		{ "CN", 2, "www.example.org", 15 },
		{ "O", 1, "Example", 7 },
	};
	static const struct cert_pair san[] = {
		{ "dns", 3, "www.example.org", 15 },
		{ "ip", 2, "192.0.2.1", 9 },
	};
	struct cert_request req = { .subject = subject, .n_subject = 2,
	    .san = san, .n_san = 2 };
	uint8_t der[DER_MAX];
	char why[WHY_LEN] = "";
	X509 *tbs = NULL;

	req.csr = der;
	req.csr_len = csr_make(key, der);
	assert_int_equal(cert_prepare(&server, &issuer, 1, &req, &serial, now,
	    &tbs, NULL, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	return tbs;
}

static void
lint_expect(X509 *x, const struct conf_profile *p, const char *msg)
{
	char why[WHY_LEN] = "";

	assert_int_equal(cert_lint(x, p, &issuer, why, sizeof(why)),
	    msg[0] == '\0' ? 0 : ERR_POLICY);
	assert_string_equal(why, msg);
	X509_free(x);
}

static void
ext_set(X509 *x, int nid, void *value, int crit)
{
	assert_int_equal(X509_add1_ext_i2d(x, nid, value, crit,
	    X509V3_ADD_REPLACE), 1);
}

static void
ext_del(X509 *x, int nid)
{
	X509_EXTENSION *e;
	int i = X509_get_ext_by_NID(x, nid, -1);

	assert_true(i >= 0);
	assert_non_null(e = X509_delete_ext(x, i));
	X509_EXTENSION_free(e);
}

/* Set the SAN extension to dns names (and an IP of iplen bytes if > 0). */
static void
san_set(X509 *x, int crit, size_t iplen, ...)
{
	static const uint8_t ip[16] = { 192, 0, 2, 1 };
	GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
	ASN1_STRING *s;
	GENERAL_NAME *gn;
	const char *v;
	va_list ap;

	va_start(ap, iplen);
	while ((v = va_arg(ap, const char *)) != NULL) {
		assert_non_null(s = ASN1_IA5STRING_new());
		assert_int_equal(ASN1_STRING_set(s, v, (int)strlen(v)), 1);
		assert_non_null(gn = GENERAL_NAME_new());
		GENERAL_NAME_set0_value(gn, GEN_DNS, s);
		assert_true(sk_GENERAL_NAME_push(gns, gn) > 0);
	}
	va_end(ap);
	if (iplen > 0) {
		assert_non_null(s = ASN1_OCTET_STRING_new());
		assert_int_equal(ASN1_STRING_set(s, ip, (int)iplen), 1);
		assert_non_null(gn = GENERAL_NAME_new());
		GENERAL_NAME_set0_value(gn, GEN_IPADD, s);
		assert_true(sk_GENERAL_NAME_push(gns, gn) > 0);
	}
	ext_set(x, NID_subject_alt_name, gns, crit);
	GENERAL_NAMES_free(gns);
}

/* Control bytes as the messages show them. */
static const char *
escape(const char *v, char *buf, size_t len)
{
	size_t o = 0, shown = 0;

	for (; *v != '\0' && o + 5 < len; v++, shown++) {
		if (shown == 64) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if ((unsigned char)*v < 0x20)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", *v);
		else
			buf[o++] = *v;
	}
	buf[o] = '\0';
	return buf;
}

static void
test_good(void **state)
{
	(void)state;
	lint_expect(good(ec_key), &server, "");
	lint_expect(good(rsa_key), &server, "");
}

/* Each name through request validation and through the lint of a built certificate. */
static void
test_dns_names(void **state)
{
	char why[WHY_LEN], want[2 * WHY_LEN], shown[WHY_LEN];
	struct cert_names *names;
	X509 *x;
	struct cert_pair pair = { "dns", 3, NULL, 0 };
	struct cert_request req = { .san = &pair, .n_san = 1 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dns_cases) / sizeof(dns_cases[0]); i++) {
		const char *v = dns_cases[i][0], *reason = dns_cases[i][1];

		if (reason[0] != '\0')
			snprintf(want, sizeof(want), "dns name '%s': %s",
			    escape(v, shown, sizeof(shown)), reason);
		else
			want[0] = '\0';
		pair.value = v;
		pair.value_len = strlen(v);
		why[0] = '\0';
		assert_int_equal(cert_names_parse(&names_profile, &req, NULL,
		    &names, why, sizeof(why)), want[0] != '\0' ? ERR_POLICY : 0);
		assert_string_equal(why, want);
		cert_names_free(names);

		x = good(ec_key);
		san_set(x, 0, 0, "www.example.org", v, NULL);
		if (strcmp(v, "www.example.org") == 0)
			snprintf(want, sizeof(want), "subjectAltName dns entry 2 "
			    "repeats entry 1");
		lint_expect(x, &server, want);
	}
}

/* RFC 1035: 253 characters without the trailing dot. */
static void
test_dns_length(void **state)
{
	char name[300], why[WHY_LEN];
	struct cert_pair pair = { "dns", 3, name, 0 };
	struct cert_request req = { .san = &pair, .n_san = 1 };
	struct cert_names *names;
	size_t i;

	(void)state;
	memset(name, 'a', sizeof(name));
	for (i = 63; i < 253; i += 64)
		name[i] = '.';
	pair.value_len = 253;
	assert_int_equal(cert_names_parse(&names_profile, &req, NULL, &names,
	    why, sizeof(why)), 0);
	cert_names_free(names);
	pair.value_len = 254;
	assert_int_equal(cert_names_parse(&names_profile, &req, NULL, &names,
	    why, sizeof(why)), ERR_POLICY);
	/* messages show at most 64 characters of a value */
	assert_string_equal(why, "dns name '" A63 "....': longer than 253 "
	    "characters");
	assert_null(names);
}

static void
serial_set(X509 *x, const uint8_t *b, size_t len, bool negative)
{
	ASN1_INTEGER *sn = X509_get_serialNumber(x);

	assert_int_equal(ASN1_STRING_set(sn, b, (int)len), 1);
	sn->type = negative ? V_ASN1_NEG_INTEGER : V_ASN1_INTEGER;
}

static void
test_serial(void **state)
{
	static const uint8_t b[21] = { 0x01, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
	    12, 13, 14, 15, 16, 17, 18, 19, 20, 21 };
	static const uint8_t high[16] = { 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	static const uint8_t lead[16] = { 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	static const uint8_t zero[1] = { 0 };
	X509 *x;

	(void)state;
	serial_set(x = good(ec_key), b, 9, false);
	lint_expect(x, &server, "");
	serial_set(x = good(ec_key), b, 20, false);
	lint_expect(x, &server, "");
	serial_set(x = good(ec_key), b, 8, false);
	lint_expect(x, &server, "serial number of 8 octets is shorter than 9 "
	    "(64 bits of entropy)");
	serial_set(x = good(ec_key), b, 21, false);
	lint_expect(x, &server, "serial number of 21 octets is longer than 20");
	serial_set(x = good(ec_key), high, sizeof(high), false);
	lint_expect(x, &server, "serial number starts with 0x80 (must be below "
	    "0x80)");
	serial_set(x = good(ec_key), b, 16, true);
	lint_expect(x, &server, "serial number is negative");
	serial_set(x = good(ec_key), zero, 1, false);
	lint_expect(x, &server, "serial number is zero");
	serial_set(x = good(ec_key), lead, sizeof(lead), false);
	lint_expect(x, &server, "serial number has a leading zero octet");
}

static void
date(int64_t t, char *buf)
{
	time_t tt = (time_t)t;

	strftime(buf, 16, "%Y-%m-%d", gmtime(&tt));
}

static void
test_validity(void **state)
{
	char want[WHY_LEN], d1[16], d2[16];
	int64_t nb = now - 3600;
	X509 *x;

	(void)state;
	x = good(ec_key);
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(nb +
	    397 * DAY)));
	lint_expect(x, &server, "validity of 34300801 seconds exceeds 397 days "
	    "(profile 'server')");
	x = good(ec_key);
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)nb));
	lint_expect(x, &server, "notAfter is not after notBefore");
	x = good(ec_key);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x),
	    (time_t)(issuer.not_before - 1)));
	date(issuer.not_before - 1, d1);
	date(issuer.not_before, d2);
	snprintf(want, sizeof(want), "notBefore %s is before the start of issuer "
	    "'test-ca' (%s)", d1, d2);
	lint_expect(x, &server, want);
	x = good(ec_key);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x),
	    (time_t)(issuer.not_after - 10 * DAY)));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x),
	    (time_t)(issuer.not_after + 1)));
	date(issuer.not_after + 1, d1);
	date(issuer.not_after, d2);
	snprintf(want, sizeof(want), "notAfter %s is after the end of issuer "
	    "'test-ca' (%s)", d1, d2);
	lint_expect(x, &server, want);
	x = good(ec_key);
	assert_non_null(ASN1_GENERALIZEDTIME_set(X509_getm_notAfter(x),
	    (time_t)(nb + 10 * DAY)));
	lint_expect(x, &server, "notAfter is not encoded as RFC 5280 requires");
}

static void
test_extensions(void **state)
{
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	ASN1_IA5STRING *cmt = ASN1_IA5STRING_new();
	AUTHORITY_KEYID *akid;
	X509 *x;

	(void)state;
	assert_int_equal(ASN1_OCTET_STRING_set(os, (const unsigned char *)
	    "0123456789abcdefghij", 20), 1);
	assert_int_equal(ASN1_STRING_set(cmt, "hello", 5), 1);
	x = good(ec_key);
	assert_int_equal(X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0,
	    X509V3_ADD_APPEND), 1);
	lint_expect(x, &server, "extension subjectKeyIdentifier appears more "
	    "than once");
	x = good(ec_key);
	ext_set(x, NID_netscape_comment, cmt, 0);
	lint_expect(x, &server, "extension nsComment is not expected");
	x = good(ec_key);
	ext_del(x, NID_subject_key_identifier);
	lint_expect(x, &server, "subjectKeyIdentifier is missing");
	x = good(ec_key);
	ext_set(x, NID_subject_key_identifier, os, 0);
	lint_expect(x, &server, "subjectKeyIdentifier is not the RFC 7093 method "
	    "1 identifier of the key");
	x = good(ec_key);
	ext_del(x, NID_authority_key_identifier);
	lint_expect(x, &server, "authorityKeyIdentifier is missing");
	assert_non_null(akid = AUTHORITY_KEYID_new());
	akid->keyid = os;
	x = good(ec_key);
	ext_set(x, NID_authority_key_identifier, akid, 0);
	lint_expect(x, &server, "authorityKeyIdentifier is not the "
	    "subjectKeyIdentifier of issuer 'test-ca'");
	assert_non_null(akid->serial = ASN1_INTEGER_new());
	x = good(ec_key);
	ext_set(x, NID_authority_key_identifier, akid, 0);
	lint_expect(x, &server, "authorityKeyIdentifier must hold the key "
	    "identifier only");
	AUTHORITY_KEYID_free(akid);
	ASN1_IA5STRING_free(cmt);
}

static ASN1_BIT_STRING *
ku_make(int a, int b)
{
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();

	assert_non_null(ku);
	assert_int_equal(ASN1_BIT_STRING_set_bit(ku, a, 1), 1);
	if (b >= 0)
		assert_int_equal(ASN1_BIT_STRING_set_bit(ku, b, 1), 1);
	return ku;
}

static void
ku_expect(EVP_PKEY *key, int a, int b, int crit, const char *msg)
{
	ASN1_BIT_STRING *ku = ku_make(a, b);
	X509 *x = good(key);

	ext_set(x, NID_key_usage, ku, crit);
	ASN1_BIT_STRING_free(ku);
	lint_expect(x, &server, msg);
}

static void
test_key_usage(void **state)
{
	X509 *x;

	(void)state;
	ku_expect(ec_key, 0, 2, 1, "key usage keyEncipherment is not allowed for "
	    "an EC key");
	ku_expect(rsa_key, 0, 4, 1, "key usage keyAgreement is not allowed for "
	    "an RSA key");
	ku_expect(ec_key, 0, -1, 0, "keyUsage must be critical");
	ku_expect(ec_key, 0, 5, 1, "key usage keyCertSign in a certificate that "
	    "is not a CA");
	ku_expect(ec_key, 0, 9, 1, "keyUsage has an undefined bit");
	ku_expect(rsa_key, 0, -1, 1, "keyUsage does not match profile 'server'");
	ku_expect(ec_key, 4, 7, 1, "keyUsage does not match profile 'server'");
	ku_expect(rsa_key, 0, 2, 1, "");
	x = good(ec_key);
	ext_del(x, NID_key_usage);
	lint_expect(x, &server, "keyUsage is missing");
}

static void
test_constraints(void **state)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	struct conf_profile ca = server;
	struct cert_issuer root = issuer;
	char why[WHY_LEN];
	X509 *x;

	(void)state;
	x = good(ec_key);
	ext_del(x, NID_basic_constraints);
	lint_expect(x, &server, "basicConstraints is missing");
	x = good(ec_key);
	ext_set(x, NID_basic_constraints, bc, 0);
	lint_expect(x, &server, "basicConstraints must be critical");
	bc->ca = 0xff;
	x = good(ec_key);
	ext_set(x, NID_basic_constraints, bc, 1);
	lint_expect(x, &server, "basicConstraints cA does not match profile "
	    "'server'");
	BASIC_CONSTRAINTS_free(bc);
	assert_true(sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) > 0);
	x = good(ec_key);
	ext_set(x, NID_ext_key_usage, eku, 0);
	lint_expect(x, &server, "extendedKeyUsage does not match profile "
	    "'server'");
	x = good(ec_key);
	ext_set(x, NID_ext_key_usage, eku, 1);
	lint_expect(x, &server, "extendedKeyUsage must not be critical");
	sk_ASN1_OBJECT_free(eku);
	/* a CA profile under an issuer that may not have sub-CAs */
	ca.ca = true;
	root.path_len = 0;
	x = good(ec_key);
	assert_int_equal(cert_lint(x, &ca, &root, why, sizeof(why)), ERR_POLICY);
	assert_string_equal(why, "issuer 'test-ca' has pathLenConstraint 0: the "
	    "new CA's must be lower");
	X509_free(x);
}

static void
test_subject(void **state)
{
	struct conf_profile p = server;
	X509_NAME *n;
	X509 *x;

	(void)state;
	x = good(ec_key);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(x),
	    "OU", MBSTRING_UTF8, (const unsigned char *)"Web", -1, -1, 0), 1);
	lint_expect(x, &server, "subject attribute 'OU' is not allowed by "
	    "profile 'server'");
	x = good(ec_key);
	assert_int_equal(X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
	    NID_countryName, V_ASN1_UTF8STRING, (const unsigned char *)"DE", 2,
	    -1, 0), 1);
	lint_expect(x, &server, "subject attribute 'C' is a UTF8STRING, not a "
	    "PRINTABLESTRING");
	x = good(ec_key);
	assert_int_equal(X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
	    NID_countryName, V_ASN1_PRINTABLESTRING, (const unsigned char *)"D1",
	    2, -1, 0), 1);
	lint_expect(x, &server, "subject attribute 'C' must be two upper-case "
	    "letters (ISO 3166)");
	x = good(ec_key);
	n = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_NID(n, NID_commonName,
	    V_ASN1_UTF8STRING, (const unsigned char *)"www.example.org", 15, -1,
	    0), 1);
	lint_expect(x, &server, "subject attribute 'CN' appears more than once");
	x = good(ec_key);
	assert_int_equal(X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
	    NID_countryName, V_ASN1_PRINTABLESTRING, (const unsigned char *)"DE",
	    2, -1, -1), 1);
	lint_expect(x, &server, "subject has a multi-valued RDN");
	x = good(ec_key);
	assert_int_equal(X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
	    NID_organizationName, V_ASN1_UTF8STRING, (const unsigned char *)
	    "Bell\a", 5, -1, 0), 1);
	lint_expect(x, &server, "subject attribute 'O' contains a control "
	    "character");
	sl(&p.subject_required, "CN", "C", NULL);
	lint_expect(good(ec_key), &p, "subject attribute 'C' is required by "
	    "profile 'server'");
	x = good(ec_key);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(x)), 1);
	lint_expect(x, &server, "issuer name is not the subject of issuer "
	    "'test-ca'");
	x = good(ec_key);
	assert_int_equal(X509_set_version(x, X509_VERSION_1), 1);
	lint_expect(x, &server, "certificate is not version 3");
}

static void
test_san(void **state)
{
	struct conf_profile p = server;
	X509_NAME *empty = X509_NAME_new();
	GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *uri = ASN1_IA5STRING_new();
	X509 *x;

	(void)state;
	san_set(x = good(ec_key), 0, 5, "www.example.org", NULL);
	lint_expect(x, &server, "ip address of 5 bytes (must be 4 or 16)");
	san_set(x = good(ec_key), 0, 16, "www.example.org", NULL);
	lint_expect(x, &server, "");
	san_set(x = good(ec_key), 0, 0, "other.example.org", NULL);
	lint_expect(x, &server, "subject CN 'www.example.org' is not among the "
	    "subjectAltName entries (profile 'server')");
	san_set(x = good(ec_key), 1, 4, "www.example.org", NULL);
	lint_expect(x, &server, "subjectAltName must not be critical when the "
	    "subject is not empty");
	san_set(x = good(ec_key), 0, 0, NULL);
	lint_expect(x, &server, "subjectAltName is empty");
	p.san_max = 1;
	lint_expect(good(ec_key), &p, "too many subjectAltName entries: 2 "
	    "(profile 'server' allows 1)");
	assert_int_equal(ASN1_STRING_set(uri, "https://example.org/", 20), 1);
	GENERAL_NAME_set0_value(gn, GEN_URI, uri);
	assert_true(sk_GENERAL_NAME_push(gns, gn) > 0);
	x = good(ec_key);
	ext_set(x, NID_subject_alt_name, gns, 0);
	lint_expect(x, &server, "subjectAltName type 'uri' is not allowed by "
	    "profile 'server'");
	GENERAL_NAMES_free(gns);

	p = names_profile;
	x = good(ec_key);
	assert_int_equal(X509_set_subject_name(x, empty), 1);
	lint_expect(x, &p, "subjectAltName must be critical when the subject is "
	    "empty");
	x = good(ec_key);
	assert_int_equal(X509_set_subject_name(x, empty), 1);
	ext_del(x, NID_subject_alt_name);
	lint_expect(x, &p, "subject is empty and there is no subjectAltName");
	X509_NAME_free(empty);
}

static void
test_profile_fields(void **state)
{
	struct conf_profile p = server;

	(void)state;
	sl(&p.crl_dp, "http://crl.example.org/other.crl", NULL);
	lint_expect(good(ec_key), &p, "crlDistributionPoints does not match "
	    "profile 'server'");
	p = server;
	sl(&p.crl_dp, NULL);
	lint_expect(good(ec_key), &p, "crlDistributionPoints does not match "
	    "profile 'server'");
	p = server;
	sl(&p.aia_ocsp, NULL);
	lint_expect(good(ec_key), &p, "authorityInfoAccess does not match "
	    "profile 'server'");
	p = server;
	sl(&p.policies, "2.23.140.1.2.1", NULL);
	lint_expect(good(ec_key), &p, "certificatePolicies does not match "
	    "profile 'server'");
	p = server;
	sl(&p.curves, "P-384", NULL);
	lint_expect(good(ec_key), &p, "certificate EC curve P-256 is not allowed "
	    "by profile 'server'");
	p = server;
	sl(&p.ext_key_usage, "serverAuth", NULL);
	lint_expect(good(ec_key), &p, "extendedKeyUsage does not match profile "
	    "'server'");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_dns_names),
		cmocka_unit_test(test_dns_length),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_key_usage),
		cmocka_unit_test(test_constraints),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_san),
		cmocka_unit_test(test_profile_fields),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
