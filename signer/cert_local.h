/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Helpers shared by the certificate files of signer/ (csr, names, build, lint, issuer); not a public interface. */
#ifndef SIGNER_CERT_LOCAL_H
#define SIGNER_CERT_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/signer.h"

#define NAMES_QUOTE_MAX 96      /* buffer for a quoted value in a message */
#define NAMES_QUOTE_CHARS 64    /* characters of a value shown before "..." */
#define CERT_DATE_MAX 24        /* buffer for "YYYY-MM-DD" */

/* keyUsage bits (RFC 5280 4.2.1.3). */
#define CERT_KU(bit) (1u << (bit))
#define CERT_KU_KEY_ENCIPHERMENT 2
#define CERT_KU_DATA_ENCIPHERMENT 3
#define CERT_KU_KEY_AGREEMENT 4
#define CERT_KU_KEY_CERT_SIGN 5
#define CERT_KU_ENCIPHER_ONLY 7
#define CERT_KU_DECIPHER_ONLY 8
#define CERT_KU_BIT_MAX 8
#define CERT_KU_RSA_ONLY \
	(CERT_KU(CERT_KU_KEY_ENCIPHERMENT) | CERT_KU(CERT_KU_DATA_ENCIPHERMENT))
#define CERT_KU_EC_ONLY (CERT_KU(CERT_KU_KEY_AGREEMENT) | \
	CERT_KU(CERT_KU_ENCIPHER_ONLY) | CERT_KU(CERT_KU_DECIPHER_ONLY))

/* Flags of a subject attribute. */
#define ATTR_MULTI 0x01         /* may appear more than once */
#define ATTR_COUNTRY 0x02       /* two upper-case letters */
#define ATTR_PRINTABLE 0x04     /* PrintableString characters only */
#define ATTR_IA5 0x08           /* ASCII only */
#define ATTR_EMAIL 0x10         /* an email address */
#define ATTR_LABEL 0x20         /* one DNS label (domainComponent) */

/* A subject attribute we know: config name, NID, ASN.1 string type, bound. */
struct names_attr {
	const char *name;
	int nid;
	int type;               /* V_ASN1_UTF8STRING, V_ASN1_PRINTABLESTRING, V_ASN1_IA5STRING */
	size_t max;             /* upper bound in characters (RFC 5280 ub-*) */
	unsigned flags;
};

struct cert_rdn {
	const struct names_attr *attr;
	char *value;            /* UTF-8, malloc'd, NUL-terminated for convenience */
	size_t len;
};

struct cert_san {
	int type;               /* GEN_DNS, GEN_EMAIL, GEN_IPADD, GEN_URI */
	uint8_t *value;         /* text, or 4/16 address bytes for GEN_IPADD; malloc'd */
	size_t len;
};

struct cert_names {
	struct cert_rdn subject[CERT_SUBJECT_MAX];  /* in the order they are encoded */
	size_t n_subject;
	struct cert_san *san;
	size_t n_san;
};

/* names.c */
const char *names_quote(const char *s, size_t len, char *buf, size_t buflen);
const struct names_attr *names_attr_by_name(const char *s, size_t len);
const struct names_attr *names_attr_by_nid(int nid);
bool names_list_has(const struct conf_strlist *l, const char *s, size_t len);
int names_check_value(const struct names_attr *a, const char *what,
    const char *v, size_t len, char *why, size_t whylen);
int names_check_san(int type, const char *v, size_t len, char *why,
    size_t whylen);
const char *names_san_type_name(int type);
bool names_cn_matches(const char *cn, size_t cnlen, int type, const uint8_t *v,
    size_t len);

/* dns.c */
bool dns_name_check(const char *s, size_t len, bool wildcard, char *reason,
    size_t rlen);
bool dns_label_check(const char *s, size_t len, bool upper_ok, char *reason,
    size_t rlen);
bool email_check(const char *s, size_t len, char *reason, size_t rlen);
bool uri_check(const char *s, size_t len, char *reason, size_t rlen);

/* csr.c */
/*
 * key decoded from its encoding when it is RSA, or EC on a curve we
 * support (P-256, P-384); else NULL. Whatever key may be cached with it is
 * not used. The caller's (EVP_PKEY_free).
 */
EVP_PKEY *cert_key_decode(const X509_PUBKEY *key);
/* cert_check_key() of key, decoded as pkey by cert_key_decode() (NULL: it did not decode). */
int cert_key_check(const X509_PUBKEY *key, EVP_PKEY *pkey,
    const struct conf_profile *p, const char *what, char *why, size_t whylen);
/* The key type of key by its algorithm: EVP_PKEY_RSA, EVP_PKEY_EC or another NID. */
int cert_key_type(const X509_PUBKEY *key);

/* issuer.c */
void cert_date(int64_t t, char *buf, size_t len);

/* build.c: profile tables shared with lint.c */
int cert_ku_bits(const struct conf_profile *p, int key_type, unsigned *bits,
    char *why, size_t whylen);
const char *cert_ku_name(int bit);
int cert_eku_obj(const char *name, ASN1_OBJECT **out);
int cert_uri_expand(const char *tmpl, const struct cert_issuer *iss, char *out,
    size_t outlen);

#endif /* SIGNER_CERT_LOCAL_H */
