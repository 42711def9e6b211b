/* SPDX-License-Identifier: GPL-3.0-or-later */
/* demo: build the root CA and issuing CA certificates of the demo, sign them on the token with the root key and write them as PEM. */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsm/hsm.h"
#include "proto/proto.h"
#include "signer/demo_local.h"

#define CA_CN_MAX 64            /* ub-common-name (RFC 5280) */
#define CA_KU_KEY_CERT_SIGN 5   /* keyUsage bits (RFC 5280 4.2.1.3) */
#define CA_KU_CRL_SIGN 6

/* What distinguishes the three CA certificates. */
struct ca_spec {
	const char *cn;         /* commonName, followed by the year when with_year */
	bool with_year;
	const char *org;        /* organizationName, or NULL */
	int years;              /* validity */
	int path_len;           /* pathLenConstraint; -1: none */
};

static const struct ca_spec ca_specs[DEMO_KEYS] = {
	[DEMO_KEY_ROOT] = { "Signer Demo Root CA", false, "Signer Demo",
	    DEMO_ROOT_YEARS, -1 },
	[DEMO_KEY_SERVER] = { "Signer Demo Server CA", true, NULL,
	    DEMO_CA_YEARS, 0 },
	[DEMO_KEY_CLIENT] = { "Signer Demo Client CA", true, NULL,
	    DEMO_CA_YEARS, 0 },
};

/* O (when given), then CN: "CN=..., O=..." in RFC 4514 order. */
static X509_NAME *
ca_name(const struct ca_spec *s, int64_t now)
{
	char cn[CA_CN_MAX + 1];
	time_t t = (time_t)now;
	struct tm tm;
	X509_NAME *n;

	if (s->with_year && gmtime_r(&t, &tm) != NULL)
		snprintf(cn, sizeof(cn), "%s %d", s->cn, tm.tm_year + 1900);
	else
		snprintf(cn, sizeof(cn), "%s", s->cn);
	if ((n = X509_NAME_new()) == NULL)
		return NULL;
	if ((s->org != NULL && !X509_NAME_add_entry_by_NID(n,
	    NID_organizationName, MBSTRING_UTF8, (const unsigned char *)s->org,
	    -1, -1, 0)) || !X509_NAME_add_entry_by_NID(n, NID_commonName,
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* DEMO_SERIAL_LEN random bytes, the first one 0x01..0x7f: positive, fixed length. */
static int
ca_serial(X509 *x)
{
	unsigned char b[DEMO_SERIAL_LEN];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return ERR_INTERNAL;
	b[0] &= 0x7f;
	if (b[0] == 0)
		b[0] = 0x01;
	ok = (bn = BN_bin2bn(b, sizeof(b), NULL)) != NULL &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : ERR_NOMEM;
}

/* [not_before, not_before + years) in calendar years. */
static int
ca_validity(X509 *x, int64_t not_before, int years)
{
	time_t start = (time_t)not_before, end;
	struct tm tm;

	if (gmtime_r(&start, &tm) == NULL)
		return ERR_INTERNAL;
	tm.tm_year += years;
	if ((end = timegm(&tm)) == (time_t)-1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), start) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), end) == NULL)
		return ERR_INTERNAL;
	return 0;
}

static int
ca_add_ext(X509 *x, int nid, void *value, int crit)
{
	return X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_DEFAULT) == 1 ?
	    0 : ERR_NOMEM;
}

/* basicConstraints (critical) cA and keyUsage (critical) keyCertSign, cRLSign. */
static int
ca_ext_usage(X509 *x, int path_len)
{
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku = NULL;
	int rc = ERR_NOMEM;

	if ((bc = BASIC_CONSTRAINTS_new()) == NULL)
		return ERR_NOMEM;
	bc->ca = 0xff;          /* DER TRUE */
	if (path_len >= 0 && ((bc->pathlen = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set(bc->pathlen, path_len)))
		goto out;
	if ((rc = ca_add_ext(x, NID_basic_constraints, bc, 1)) != 0)
		goto out;
	rc = ERR_NOMEM;
	if ((ku = ASN1_BIT_STRING_new()) == NULL ||
	    !ASN1_BIT_STRING_set_bit(ku, CA_KU_KEY_CERT_SIGN, 1) ||
	    !ASN1_BIT_STRING_set_bit(ku, CA_KU_CRL_SIGN, 1))
		goto out;
	rc = ca_add_ext(x, NID_key_usage, ku, 1);
out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	return rc;
}

/*
 * subjectKeyIdentifier by RFC 7093 method 1 (cert_ski), and
 * authorityKeyIdentifier keyid aki, or the SKI itself when aki is NULL.
 */
static int
ca_ext_keyids(X509 *x, const uint8_t *aki)
{
	uint8_t ski[CERT_SKI_LEN];
	ASN1_OCTET_STRING *os;
	AUTHORITY_KEYID *akid = NULL;
	int rc;

	if ((rc = cert_ski(X509_get_X509_PUBKEY(x), ski)) != 0)
		return rc;
	if ((os = ASN1_OCTET_STRING_new()) == NULL)
		return ERR_NOMEM;
	rc = ERR_NOMEM;
	if (!ASN1_OCTET_STRING_set(os, ski, sizeof(ski)) ||
	    (rc = ca_add_ext(x, NID_subject_key_identifier, os, 0)) != 0)
		goto out;
	rc = ERR_NOMEM;
	if ((akid = AUTHORITY_KEYID_new()) == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(akid->keyid, aki != NULL ? aki : ski,
	    CERT_SKI_LEN))
		goto out;
	rc = ca_add_ext(x, NID_authority_key_identifier, akid, 0);
out:
	ASN1_OCTET_STRING_free(os);
	AUTHORITY_KEYID_free(akid);
	return rc;
}

/* The unsigned certificate of CA i, issued by issuer (NULL: self-signed). */
static int
ca_tbs(const struct demo *d, size_t i, X509 *issuer, int64_t now, X509 **out,
    char *why, size_t whylen)
{
	const struct ca_spec *s = &ca_specs[i];
	uint8_t aki[CERT_SKI_LEN];
	X509_NAME *name = NULL;
	X509 *x = NULL;
	int rc = ERR_NOMEM;

	*out = NULL;
	if ((x = X509_new()) == NULL || (name = ca_name(s, now)) == NULL ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name) ||
	    !X509_set_pubkey(x, d->pub[i]))
		goto out;
	if ((rc = ca_serial(x)) != 0 ||
	    (rc = ca_validity(x, now - DEMO_CA_BACKDATE, s->years)) != 0 ||
	    (rc = ca_ext_usage(x, s->path_len)) != 0)
		goto out;
	if (issuer != NULL &&
	    (rc = cert_ski(X509_get_X509_PUBKEY(issuer), aki)) != 0)
		goto out;
	if ((rc = ca_ext_keyids(x, issuer != NULL ? aki : NULL)) != 0)
		goto out;
	*out = x;
	x = NULL;       /* transferred */
out:
	if (rc != 0)
		err_why(why, whylen, "cannot build the certificate of CA %s",
		    demo_keys[i].label);
	ERR_clear_error();
	X509_NAME_free(name);
	X509_free(x);
	return rc;
}

/* Bind every demo key to the public key read back: a test signature proves each pair. */
static int
ca_keys_find(struct hsm *h, const struct demo *d, struct hsm_key **k,
    char *why, size_t whylen)
{
	char hwhy[HSM_WHY_MAX];
	size_t i;
	int rc;

	for (i = 0; i < DEMO_KEYS; i++)
		if ((rc = hsm_key_find(h, &demo_keys[i].id, 1, d->pub[i], &k[i],
		    hwhy, sizeof(hwhy))) != 0) {
			err_why(why, whylen, "key %s (id %s) on token %s: %s",
			    demo_keys[i].label, demo_keys[i].id_hex,
			    SIGNER_DEMO_TOKEN, hwhy);
			return rc;
		}
	return 0;
}

int
demo_ca_create(struct demo *d, int64_t now, char *why, size_t whylen)
{
	struct hsm_params p = { .module = HSM_MODULE_DEFAULT,
	    .token = SIGNER_DEMO_TOKEN, .pin_file = d->pin_file };
	struct hsm_key *k[DEMO_KEYS] = { NULL };
	struct hsm *h = NULL;
	char hwhy[HSM_WHY_MAX];
	X509 *tbs;
	size_t i;
	int rc;

	if ((rc = hsm_open(&p, &h, hwhy, sizeof(hwhy))) != 0) {
		err_why(why, whylen, "token %s: %s", SIGNER_DEMO_TOKEN, hwhy);
		return rc;
	}
	rc = ca_keys_find(h, d, k, why, whylen);
	/* the root first: it signs itself, then the issuing CAs */
	for (i = 0; i < DEMO_KEYS && rc == 0; i++) {
		if ((rc = ca_tbs(d, i, i == DEMO_KEY_ROOT ? NULL :
		    d->cert[DEMO_KEY_ROOT], now, &tbs, why, whylen)) != 0)
			break;
		if ((rc = hsm_sign_x509(k[DEMO_KEY_ROOT], tbs, NULL, &d->cert[i],
		    hwhy, sizeof(hwhy))) != 0)
			err_why(why, whylen, "signing the certificate of CA %s "
			    "on token %s: %s", demo_keys[i].label,
			    SIGNER_DEMO_TOKEN, hwhy);
		X509_free(tbs);
	}
	for (i = 0; i < DEMO_KEYS; i++)
		hsm_key_free(k[i]);
	hsm_close(h);
	return rc;
}

/* Write a (and b, when not NULL) as PEM to the new file path. */
static int
ca_write_pem(const char *path, X509 *a, X509 *b, char *why, size_t whylen)
{
	BIO *bio;
	char *p;
	long len;
	int rc;

	if ((bio = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(bio, a) ||
	    (b != NULL && !PEM_write_bio_X509(bio, b)) ||
	    (len = BIO_get_mem_data(bio, &p)) <= 0) {
		BIO_free(bio);
		ERR_clear_error();
		err_why(why, whylen, "cannot encode %s", path);
		return ERR_NOMEM;
	}
	rc = demo_write_file(path, p, (size_t)len, 0644, why, whylen);
	BIO_free(bio);
	return rc;
}

int
demo_ca_write(const struct demo *d, char *why, size_t whylen)
{
	char path[PATH_MAX], name[DEMO_NAME_MAX];
	size_t i;
	int rc;

	if ((rc = demo_path(d, "ca", path, why, whylen)) != 0)
		return rc;
	if (mkdir(path, 0755) == -1) {
		err_why(why, whylen, "cannot create %s: %s", path,
		    strerror(errno));
		return ERR_SYSTEM;
	}
	for (i = 0; i < DEMO_KEYS; i++) {
		snprintf(name, sizeof(name), "ca/%s.pem", demo_keys[i].label);
		if ((rc = demo_path(d, name, path, why, whylen)) != 0 ||
		    (rc = ca_write_pem(path, d->cert[i], NULL, why, whylen)) != 0)
			return rc;
		if (demo_keys[i].chain == NULL)
			continue;
		snprintf(name, sizeof(name), "ca/%s", demo_keys[i].chain);
		if ((rc = demo_path(d, name, path, why, whylen)) != 0 ||
		    (rc = ca_write_pem(path, d->cert[i], d->cert[DEMO_KEY_ROOT],
		    why, whylen)) != 0)
			return rc;
	}
	return 0;
}
