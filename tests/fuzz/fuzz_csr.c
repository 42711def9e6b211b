/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: CSR parsing and checks, building and linting from a CSR's subject, and the name validators. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/signer.h"

#define WHY_LEN 256
#define DAY INT64_C(86400)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct conf_profile profile;
static struct conf_issuer conf = { .id = (char *)"fuzz-ca" };
static struct cert_issuer issuer;
static int64_t now;
static const struct serial serial = { .b = { 0x01, 0x9a, 0x3c, 0x55, 0x10,
    0xe2, 0x7f, 0x00, 0x81, 0x42, 0x11, 0xaa, 0x09, 0x33, 0xc4, 0x5d },
    .len = 16 };

static void
sl(struct conf_strlist *l, const char *const *v)
{
	memset(l, 0, sizeof(*l));
	while (*v != NULL)
		l->v[l->n++] = (char *)*v++;
}

static void
profile_init(void)
{
	static const char *const issuers[] = { "fuzz-ca", NULL };
	static const char *const curves[] = { "P-256", "P-384", NULL };
	static const char *const attrs[] = { "CN", "O", "OU", "C", "L", "ST",
	    "street", "postalCode", "title", "GN", "SN", "serialNumber", "DC",
	    "emailAddress", NULL };
	static const char *const sans[] = { "dns", "email", "ip", "uri", NULL };
	static const char *const ku[] = { "digitalSignature",
	    "keyEncipherment", "keyAgreement", NULL };
	static const char *const eku[] = { "serverAuth", "clientAuth", NULL };

	profile.name = (char *)"fuzz";
	sl(&profile.issuers, issuers);
	profile.default_days = 90;
	profile.max_days = 397;
	profile.backdate_seconds = 3600;
	profile.rsa_min_bits = 2048;
	sl(&profile.curves, curves);
	sl(&profile.subject_allowed, attrs);
	profile.subject_from_csr = true;
	sl(&profile.san_types, sans);
	profile.san_max = 100;
	sl(&profile.key_usage, ku);
	sl(&profile.ext_key_usage, eku);
	profile.path_len = -1;
}

/* A throw-away P-256 CA for building certificates. */
static void
issuer_init_once(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	char why[WHY_LEN];

	if (key == NULL || x == NULL)
		abort();
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
	    (const unsigned char *)"Fuzz CA", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(now - DAY));
	ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(now + 1000 * DAY));
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_nconf(NULL, &ctx, "basicConstraints",
	    "critical,CA:TRUE")) == NULL || !X509_add_ext(x, e, -1))
		abort();
	X509_EXTENSION_free(e);
	if ((e = X509V3_EXT_nconf(NULL, &ctx, "subjectKeyIdentifier",
	    "hash")) == NULL || !X509_add_ext(x, e, -1))
		abort();
	X509_EXTENSION_free(e);
	if (X509_sign(x, key, EVP_sha256()) <= 0 ||
	    issuer_init(&conf, x, &issuer, why, sizeof(why)) != 0)
		abort();
	X509_free(x);
	EVP_PKEY_free(key);
}

/* A CSR that passes every check must give a certificate that passes lint. */
static void
fuzz_csr(const uint8_t *data, size_t size)
{
	struct cert_request req = { .csr = data, .csr_len = size };
	struct cert_names *names = NULL;
	char why[WHY_LEN];
	X509_REQ *csr = NULL;
	X509 *tbs = NULL;

	if (csr_parse(data, size, &csr, why, sizeof(why)) != 0)
		return;
	if (csr_check(csr, &profile, why, sizeof(why)) == 0 &&
	    cert_names_parse(&profile, &req, csr, &names, why, sizeof(why)) == 0 &&
	    cert_build(&profile, &issuer, csr, names, &serial, now - 3600,
	    now + 30 * DAY, &tbs, why, sizeof(why)) == 0 &&
	    cert_lint(tbs, &profile, &issuer, why, sizeof(why)) != 0)
		abort();
	X509_free(tbs);
	cert_names_free(names);
	X509_REQ_free(csr);
}

/* The same bytes as one subject attribute or one subjectAltName value. */
static void
fuzz_names(const uint8_t *data, size_t size)
{
	static const char *const subject[] = { "CN", "C", "DC", "emailAddress",
	    "serialNumber" };
	static const char *const san[] = { "dns", "email", "ip", "uri" };
	struct cert_pair pair = { .value = (const char *)data, .value_len = size };
	struct cert_request req = { 0 };
	struct cert_names *names;
	char why[WHY_LEN];
	size_t i;

	req.subject = &pair;
	req.n_subject = 1;
	for (i = 0; i < sizeof(subject) / sizeof(subject[0]); i++) {
		pair.name = subject[i];
		pair.name_len = strlen(subject[i]);
		if (cert_names_parse(&profile, &req, NULL, &names, why,
		    sizeof(why)) == 0)
			cert_names_free(names);
	}
	req.n_subject = 0;
	req.san = &pair;
	req.n_san = 1;
	for (i = 0; i < sizeof(san) / sizeof(san[0]); i++) {
		pair.name = san[i];
		pair.name_len = strlen(san[i]);
		if (cert_names_parse(&profile, &req, NULL, &names, why,
		    sizeof(why)) == 0)
			cert_names_free(names);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		now = (int64_t)time(NULL);
		profile_init();
		issuer_init_once();
		ready = 1;
	}
	fuzz_csr(data, size);
	fuzz_names(data, size);
	return 0;
}
