/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Pre-issuance checks of an unsigned certificate against its profile, its issuer and RFC 5280 / Baseline Requirements rules. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/cert_local.h"
#include "signer/signer.h"

#define UTCTIME_LEN 13          /* YYMMDDHHMMSSZ */
#define GENTIME_LEN 15          /* YYYYMMDDHHMMSSZ */
#define UTCTIME_END INT64_C(2524608000) /* 2050-01-01: GeneralizedTime from here */

/* What every rule looks at. */
struct lint {
	const X509 *x;
	const struct conf_profile *p;
	const struct cert_issuer *iss;
	EVP_PKEY *pkey;         /* the certificate's key; NULL: it does not decode */
	int key_type;
};

static int
lint_version(const struct lint *l, char *why, size_t whylen)
{
	if (X509_get_version(l->x) != X509_VERSION_3) {
		err_why(why, whylen, "certificate is not version 3");
		return ERR_POLICY;
	}
	return 0;
}

/* RFC 5280 4.1.2.2 and BR 7.1: positive, <= 20 octets, >= 64 random bits. */
static int
lint_serial(const struct lint *l, char *why, size_t whylen)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(l->x);
	const unsigned char *d = ASN1_STRING_get0_data(sn);
	int len = ASN1_STRING_length(sn);

	if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER)
		err_why(why, whylen, "serial number is negative");
	else if (len <= 0 || (len == 1 && d[0] == 0))
		err_why(why, whylen, "serial number is zero");
	else if (d[0] == 0)
		err_why(why, whylen, "serial number has a leading zero octet");
	else if (len > SERIAL_MAX)
		err_why(why, whylen, "serial number of %d octets is longer than %d",
		    len, SERIAL_MAX);
	else if (len < CERT_SERIAL_MIN)
		err_why(why, whylen, "serial number of %d octets is shorter than "
		    "%d (64 bits of entropy)", len, CERT_SERIAL_MIN);
	else if (d[0] >= 0x80)
		err_why(why, whylen, "serial number starts with 0x%02x (must be "
		    "below 0x80)", d[0]);
	else
		return 0;
	return ERR_POLICY;
}

/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, in Z. */
static int
time_check(const ASN1_TIME *t, const char *what, int64_t *v, char *why,
    size_t whylen)
{
	int len = ASN1_STRING_length(t), type = ASN1_STRING_type(t);
	const unsigned char *d = ASN1_STRING_get0_data(t);

	if (cert_time_get(t, v) != 0) {
		err_why(why, whylen, "%s is malformed", what);
		return ERR_POLICY;
	}
	if ((type == V_ASN1_UTCTIME && len == UTCTIME_LEN && *v < UTCTIME_END) ||
	    (type == V_ASN1_GENERALIZEDTIME && len == GENTIME_LEN &&
	    *v >= UTCTIME_END)) {
		if (d[len - 1] == 'Z')
			return 0;
	}
	err_why(why, whylen, "%s is not encoded as RFC 5280 requires", what);
	return ERR_POLICY;
}

static int
lint_validity(const struct lint *l, char *why, size_t whylen)
{
	char d1[CERT_DATE_MAX], d2[CERT_DATE_MAX];
	const struct cert_issuer *iss = l->iss;
	int64_t nb, na, max = (int64_t)l->p->max_days * CERT_DAY_SECONDS;
	int rc;

	if ((rc = time_check(X509_get0_notBefore(l->x), "notBefore", &nb, why,
	    whylen)) != 0 || (rc = time_check(X509_get0_notAfter(l->x),
	    "notAfter", &na, why, whylen)) != 0)
		return rc;
	if (na <= nb) {
		err_why(why, whylen, "notAfter is not after notBefore");
		return ERR_POLICY;
	}
	/* BR 6.3.2: the period includes both ends */
	if (na - nb + 1 > max) {
		err_why(why, whylen, "validity of %lld seconds exceeds %u days "
		    "(profile '%s')", (long long)(na - nb + 1), l->p->max_days,
		    l->p->name);
		return ERR_POLICY;
	}
	if (nb < iss->not_before || na > iss->not_after) {
		cert_date(nb < iss->not_before ? nb : na, d1, sizeof(d1));
		cert_date(nb < iss->not_before ? iss->not_before : iss->not_after,
		    d2, sizeof(d2));
		err_why(why, whylen, "%s %s is %s issuer '%s' (%s)",
		    nb < iss->not_before ? "notBefore" : "notAfter", d1,
		    nb < iss->not_before ? "before the start of" : "after the end of",
		    iss->conf->id, d2);
		return ERR_POLICY;
	}
	return 0;
}

static int
lint_issuer(const struct lint *l, char *why, size_t whylen)
{
	const struct cert_issuer *iss = l->iss;

	if (X509_NAME_cmp(X509_get_issuer_name(l->x),
	    X509_get_subject_name(iss->cert)) != 0) {
		err_why(why, whylen, "issuer name is not the subject of issuer '%s'",
		    iss->conf->id);
		return ERR_POLICY;
	}
	if (l->p->ca && iss->path_len >= 0 && (iss->path_len == 0 ||
	    l->p->path_len < 0 || l->p->path_len >= iss->path_len)) {
		err_why(why, whylen, "issuer '%s' has pathLenConstraint %d: the "
		    "new CA's must be lower", iss->conf->id, iss->path_len);
		return ERR_POLICY;
	}
	return 0;
}

static int
lint_key(const struct lint *l, char *why, size_t whylen)
{
	return cert_key_check(X509_get_X509_PUBKEY(l->x), l->pkey, l->p,
	    "certificate", why, whylen) != 0 ? ERR_POLICY : 0;
}

static bool
ext_expected(int nid)
{
	switch (nid) {
	case NID_basic_constraints: case NID_key_usage: case NID_ext_key_usage:
	case NID_subject_alt_name: case NID_subject_key_identifier:
	case NID_authority_key_identifier: case NID_crl_distribution_points:
	case NID_info_access: case NID_certificate_policies:
		return true;
	default:
		return false;
	}
}

/* RFC 5280 4.2: each extension at most once; here, only those we build. */
static int
lint_extensions(const struct lint *l, char *why, size_t whylen)
{
	int i, j, n = X509_get_ext_count(l->x);
	ASN1_OBJECT *obj;
	char oid[80];

	for (i = 0; i < n; i++) {
		obj = X509_EXTENSION_get_object(X509_get_ext(l->x, i));
		if (OBJ_obj2nid(obj) != NID_undef)
			snprintf(oid, sizeof(oid), "%s", OBJ_nid2sn(OBJ_obj2nid(obj)));
		else
			OBJ_obj2txt(oid, sizeof(oid), obj, 1);
		if (!ext_expected(OBJ_obj2nid(obj))) {
			err_why(why, whylen, "extension %s is not expected", oid);
			return ERR_POLICY;
		}
		for (j = 0; j < i; j++)
			if (OBJ_cmp(obj, X509_EXTENSION_get_object(
			    X509_get_ext(l->x, j))) == 0) {
				err_why(why, whylen, "extension %s appears more "
				    "than once", oid);
				return ERR_POLICY;
			}
	}
	return 0;
}

/* One subject entry: known, allowed, in its string type, valid, not repeated. */
static int
subject_entry(const struct lint *l, const X509_NAME *name, int i, char *why,
    size_t whylen)
{
	const X509_NAME_ENTRY *ne = X509_NAME_get_entry(name, i);
	const ASN1_STRING *v = X509_NAME_ENTRY_get_data(ne);
	int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne)), j;
	const struct names_attr *a = names_attr_by_nid(nid);

	if (X509_NAME_ENTRY_set(ne) != i) {
		err_why(why, whylen, "subject has a multi-valued RDN");
		return ERR_POLICY;
	}
	if (a == NULL || !names_list_has(&l->p->subject_allowed, a->name,
	    strlen(a->name))) {
		err_why(why, whylen, "subject attribute '%s' is not allowed by "
		    "profile '%s'", a != NULL ? a->name : OBJ_nid2sn(nid),
		    l->p->name);
		return ERR_POLICY;
	}
	if (ASN1_STRING_type(v) != a->type) {
		err_why(why, whylen, "subject attribute '%s' is a %s, not a %s",
		    a->name, ASN1_tag2str(ASN1_STRING_type(v)),
		    ASN1_tag2str(a->type));
		return ERR_POLICY;
	}
	if (names_check_value(a, "subject", (const char *)ASN1_STRING_get0_data(v),
	    (size_t)ASN1_STRING_length(v), why, whylen) != 0)
		return ERR_POLICY;
	for (j = 0; j < i && !(a->flags & ATTR_MULTI); j++)
		if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(
		    X509_NAME_get_entry(name, j))) == nid) {
			err_why(why, whylen, "subject attribute '%s' appears more "
			    "than once", a->name);
			return ERR_POLICY;
		}
	return 0;
}

static int
lint_subject(const struct lint *l, char *why, size_t whylen)
{
	const X509_NAME *name = X509_get_subject_name(l->x);
	const struct names_attr *a;
	int i, n = X509_NAME_entry_count(name), rc;
	size_t r;

	for (i = 0; i < n; i++)
		if ((rc = subject_entry(l, name, i, why, whylen)) != 0)
			return rc;
	for (r = 0; r < l->p->subject_required.n; r++) {
		const char *req = l->p->subject_required.v[r];

		a = names_attr_by_name(req, strlen(req));
		if (a == NULL || X509_NAME_get_index_by_NID(name, a->nid, -1) < 0) {
			err_why(why, whylen, "subject attribute '%s' is required by "
			    "profile '%s'", req, l->p->name);
			return ERR_POLICY;
		}
	}
	return 0;
}

/* Decode an extension; ERR_POLICY if present but malformed, *crit -1 if absent. */
static int
ext_get(const X509 *x, int nid, const char *name, void **out, int *crit,
    char *why, size_t whylen)
{
	*out = X509_get_ext_d2i(x, nid, crit, NULL);
	if (*out == NULL && *crit != -1) {
		ERR_clear_error();
		err_why(why, whylen, "%s is malformed", name);
		return ERR_POLICY;
	}
	return 0;
}

static int
san_entry(const struct lint *l, const GENERAL_NAMES *gns, int i, char *why,
    size_t whylen)
{
	const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gns, i);
	const ASN1_STRING *v;
	const char *tname;
	int type, j;

	v = GENERAL_NAME_get0_value(gn, &type);
	tname = names_san_type_name(type);
	if (!names_list_has(&l->p->san_types, tname, strlen(tname))) {
		err_why(why, whylen, "subjectAltName type '%s' is not allowed by "
		    "profile '%s'", tname, l->p->name);
		return ERR_POLICY;
	}
	if (names_check_san(type, (const char *)ASN1_STRING_get0_data(v),
	    (size_t)ASN1_STRING_length(v), why, whylen) != 0)
		return ERR_POLICY;
	for (j = 0; j < i; j++)
		if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(gns, j),
		    (GENERAL_NAME *)gn) == 0) {
			err_why(why, whylen, "subjectAltName %s entry %d repeats "
			    "entry %d", tname, i + 1, j + 1);
			return ERR_POLICY;
		}
	return 0;
}

/* BR 7.1.4.3: a CN holds one of the SAN values. */
static int
cn_check(const struct lint *l, const GENERAL_NAMES *gns, char *why,
    size_t whylen)
{
	const X509_NAME *name = X509_get_subject_name(l->x);
	char q[NAMES_QUOTE_MAX];
	const ASN1_STRING *cn, *v;
	int i, idx, type;

	if (!l->p->cn_in_san ||
	    (idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0)
		return 0;
	cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	for (i = 0; i < sk_GENERAL_NAME_num(gns); i++) {
		v = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gns, i), &type);
		if (names_cn_matches((const char *)ASN1_STRING_get0_data(cn),
		    (size_t)ASN1_STRING_length(cn), type, ASN1_STRING_get0_data(v),
		    (size_t)ASN1_STRING_length(v)))
			return 0;
	}
	err_why(why, whylen, "subject CN '%s' is not among the subjectAltName "
	    "entries (profile '%s')", names_quote((const char *)
	    ASN1_STRING_get0_data(cn), (size_t)ASN1_STRING_length(cn), q,
	    sizeof(q)), l->p->name);
	return ERR_POLICY;
}

static int
lint_san(const struct lint *l, char *why, size_t whylen)
{
	bool empty = X509_NAME_entry_count(X509_get_subject_name(l->x)) == 0;
	size_t limit = l->p->san_max < CERT_SAN_LIMIT ? l->p->san_max :
	    CERT_SAN_LIMIT;
	GENERAL_NAMES *gns;
	int crit, i, n, rc;

	if ((rc = ext_get(l->x, NID_subject_alt_name, "subjectAltName",
	    (void **)&gns, &crit, why, whylen)) != 0)
		return rc;
	n = gns != NULL ? sk_GENERAL_NAME_num(gns) : 0;
	if (gns != NULL && n == 0)
		err_why(why, whylen, "subjectAltName is empty");
	else if (gns == NULL && empty)
		err_why(why, whylen, "subject is empty and there is no "
		    "subjectAltName");
	else if (gns != NULL && empty != (crit == 1))
		err_why(why, whylen, "subjectAltName must %sbe critical when the "
		    "subject is %sempty", empty ? "" : "not ", empty ? "" : "not ");
	else if ((size_t)n > limit)
		err_why(why, whylen, "too many subjectAltName entries: %d "
		    "(profile '%s' allows %zu)", n, l->p->name, limit);
	else
		rc = -1;
	for (i = 0; rc == -1 && i < n; i++)
		if (san_entry(l, gns, i, why, whylen) != 0)
			rc = ERR_POLICY;
	if (rc == -1)
		rc = cn_check(l, gns, why, whylen);
	else if (rc == 0)
		rc = ERR_POLICY;
	GENERAL_NAMES_free(gns);
	return rc;
}

static int
lint_basic_constraints(const struct lint *l, char *why, size_t whylen)
{
	BASIC_CONSTRAINTS *bc;
	int crit, rc;
	long want = l->p->ca ? l->p->path_len : -1;

	if ((rc = ext_get(l->x, NID_basic_constraints, "basicConstraints",
	    (void **)&bc, &crit, why, whylen)) != 0)
		return rc;
	if (bc == NULL)
		err_why(why, whylen, "basicConstraints is missing");
	else if (crit != 1)
		err_why(why, whylen, "basicConstraints must be critical");
	else if ((bc->ca != 0) != l->p->ca)
		err_why(why, whylen, "basicConstraints cA does not match profile "
		    "'%s'", l->p->name);
	else if ((bc->pathlen == NULL ? -1 : ASN1_INTEGER_get(bc->pathlen)) !=
	    (want < 0 ? -1 : want))
		err_why(why, whylen, "basicConstraints pathLenConstraint does not "
		    "match profile '%s'", l->p->name);
	else
		rc = -1;
	BASIC_CONSTRAINTS_free(bc);
	return rc == -1 ? 0 : ERR_POLICY;
}

/* The bits set in ku; false if one lies past decipherOnly. */
static bool
ku_bits(const ASN1_BIT_STRING *ku, unsigned *bits)
{
	int bit, n = ASN1_STRING_length(ku) * 8;

	*bits = 0;
	for (bit = 0; bit < n; bit++)
		if (ASN1_BIT_STRING_get_bit(ku, bit)) {
			if (bit > CERT_KU_BIT_MAX)
				return false;
			*bits |= CERT_KU(bit);
		}
	return true;
}

/* RFC 5280 4.2.1.3 and the key type (RFC 8813, RFC 4055). */
static int
ku_rules(const struct lint *l, unsigned bits, char *why, size_t whylen)
{
	bool rsa = l->key_type == EVP_PKEY_RSA;
	unsigned bad = bits & (rsa ? CERT_KU_EC_ONLY : CERT_KU_RSA_ONLY);
	int bit;

	for (bit = 0; bad != 0 && bit <= CERT_KU_BIT_MAX; bit++)
		if (bad & CERT_KU(bit)) {
			err_why(why, whylen, "key usage %s is not allowed for an "
			    "%s key", cert_ku_name(bit), rsa ? "RSA" : "EC");
			return ERR_POLICY;
		}
	if ((bits & (CERT_KU(CERT_KU_ENCIPHER_ONLY) | CERT_KU(CERT_KU_DECIPHER_ONLY))) &&
	    !(bits & CERT_KU(CERT_KU_KEY_AGREEMENT)))
		err_why(why, whylen, "key usage encipherOnly or decipherOnly "
		    "without keyAgreement");
	else if ((bits & CERT_KU(CERT_KU_KEY_CERT_SIGN)) && !l->p->ca)
		err_why(why, whylen, "key usage keyCertSign in a certificate that "
		    "is not a CA");
	else if (!(bits & CERT_KU(CERT_KU_KEY_CERT_SIGN)) && l->p->ca)
		err_why(why, whylen, "a CA certificate needs key usage "
		    "keyCertSign");
	else
		return 0;
	return ERR_POLICY;
}

static int
lint_key_usage(const struct lint *l, char *why, size_t whylen)
{
	ASN1_BIT_STRING *ku;
	unsigned want, bits = 0;
	int crit, rc;

	if ((rc = cert_ku_bits(l->p, l->key_type, &want, why, whylen)) != 0)
		return ERR_POLICY;
	if ((rc = ext_get(l->x, NID_key_usage, "keyUsage", (void **)&ku, &crit,
	    why, whylen)) != 0)
		return rc;
	rc = ERR_POLICY;
	if (ku == NULL && want == 0)
		rc = 0;
	else if (ku == NULL)
		err_why(why, whylen, "keyUsage is missing");
	else if (crit != 1)
		err_why(why, whylen, "keyUsage must be critical");
	else if (!ku_bits(ku, &bits))
		err_why(why, whylen, "keyUsage has an undefined bit");
	else if (bits == 0)
		err_why(why, whylen, "keyUsage has no bit set");
	else if ((rc = ku_rules(l, bits, why, whylen)) == 0 && bits != want) {
		err_why(why, whylen, "keyUsage does not match profile '%s'",
		    l->p->name);
		rc = ERR_POLICY;
	}
	ASN1_BIT_STRING_free(ku);
	return rc;
}

static int
lint_ext_key_usage(const struct lint *l, char *why, size_t whylen)
{
	const struct conf_strlist *want = &l->p->ext_key_usage;
	EXTENDED_KEY_USAGE *eku;
	ASN1_OBJECT *obj;
	int crit, i, rc;

	if ((rc = ext_get(l->x, NID_ext_key_usage, "extendedKeyUsage",
	    (void **)&eku, &crit, why, whylen)) != 0)
		return rc;
	rc = ERR_POLICY;
	if (eku == NULL && want->n == 0)
		rc = 0;
	else if (eku == NULL)
		err_why(why, whylen, "extendedKeyUsage is missing");
	else if (crit != 0)
		err_why(why, whylen, "extendedKeyUsage must not be critical");
	else if ((size_t)sk_ASN1_OBJECT_num(eku) != want->n)
		rc = 1;
	else {
		for (i = 0, rc = 0; rc == 0 && (size_t)i < want->n; i++) {
			if (cert_eku_obj(want->v[i], &obj) != 0 ||
			    OBJ_cmp(obj, sk_ASN1_OBJECT_value(eku, i)) != 0)
				rc = 1;
			ASN1_OBJECT_free(obj);
		}
	}
	if (rc == 1) {
		err_why(why, whylen, "extendedKeyUsage does not match profile "
		    "'%s'", l->p->name);
		rc = ERR_POLICY;
	}
	EXTENDED_KEY_USAGE_free(eku);
	return rc;
}

static int
lint_key_ids(const struct lint *l, char *why, size_t whylen)
{
	uint8_t want[CERT_SKI_LEN];
	ASN1_OCTET_STRING *ski = NULL;
	AUTHORITY_KEYID *akid = NULL;
	const struct cert_issuer *iss = l->iss;
	int crit, crit2, rc;

	if ((rc = ext_get(l->x, NID_subject_key_identifier,
	    "subjectKeyIdentifier", (void **)&ski, &crit, why, whylen)) != 0 ||
	    (rc = ext_get(l->x, NID_authority_key_identifier,
	    "authorityKeyIdentifier", (void **)&akid, &crit2, why, whylen)) != 0)
		goto out;
	rc = ERR_POLICY;
	if (ski == NULL)
		err_why(why, whylen, "subjectKeyIdentifier is missing");
	else if (cert_ski(X509_get_X509_PUBKEY(l->x), want) != 0 ||
	    ASN1_STRING_length(ski) != CERT_SKI_LEN ||
	    memcmp(ASN1_STRING_get0_data(ski), want, CERT_SKI_LEN) != 0)
		err_why(why, whylen, "subjectKeyIdentifier is not the RFC 7093 "
		    "method 1 identifier of the key");
	else if (akid == NULL)
		err_why(why, whylen, "authorityKeyIdentifier is missing");
	else if (crit != 0 || crit2 != 0)
		err_why(why, whylen, "key identifiers must not be critical");
	else if (akid->issuer != NULL || akid->serial != NULL)
		err_why(why, whylen, "authorityKeyIdentifier must hold the key "
		    "identifier only");
	else if (akid->keyid == NULL ||
	    (size_t)ASN1_STRING_length(akid->keyid) != iss->ski_len ||
	    memcmp(ASN1_STRING_get0_data(akid->keyid), iss->ski,
	    iss->ski_len) != 0)
		err_why(why, whylen, "authorityKeyIdentifier is not the "
		    "subjectKeyIdentifier of issuer '%s'", iss->conf->id);
	else
		rc = 0;
out:
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(akid);
	return rc;
}

/* A URI GENERAL_NAME equal to the expansion of tmpl, and well formed. */
static bool
uri_is(const struct lint *l, const GENERAL_NAME *gn, const char *tmpl)
{
	char uri[CERT_URI_MAX], reason[CERT_WHY_MAX];
	const ASN1_STRING *v;
	int type;

	v = GENERAL_NAME_get0_value(gn, &type);
	return type == GEN_URI &&
	    cert_uri_expand(tmpl, l->iss, uri, sizeof(uri)) == 0 &&
	    (size_t)ASN1_STRING_length(v) == strlen(uri) &&
	    memcmp(ASN1_STRING_get0_data(v), uri, strlen(uri)) == 0 &&
	    uri_check(uri, strlen(uri), reason, sizeof(reason));
}

static int
lint_crl_dp(const struct lint *l, char *why, size_t whylen)
{
	const struct conf_strlist *want = &l->p->crl_dp;
	CRL_DIST_POINTS *dps;
	const DIST_POINT *dp;
	GENERAL_NAMES *full = NULL;
	int crit, i, rc;

	if ((rc = ext_get(l->x, NID_crl_distribution_points,
	    "crlDistributionPoints", (void **)&dps, &crit, why, whylen)) != 0)
		return rc;
	if (dps == NULL && want->n == 0)
		return 0;
	rc = ERR_POLICY;
	if (dps != NULL && crit == 0 && sk_DIST_POINT_num(dps) == 1) {
		dp = sk_DIST_POINT_value(dps, 0);
		if (dp->distpoint != NULL && dp->distpoint->type == 0 &&
		    dp->reasons == NULL && dp->CRLissuer == NULL)
			full = dp->distpoint->name.fullname;
	}
	if (full != NULL && (size_t)sk_GENERAL_NAME_num(full) == want->n) {
		for (i = 0, rc = 0; rc == 0 && (size_t)i < want->n; i++)
			if (!uri_is(l, sk_GENERAL_NAME_value(full, i), want->v[i]))
				rc = ERR_POLICY;
	}
	if (rc != 0)
		err_why(why, whylen, "crlDistributionPoints does not match "
		    "profile '%s'", l->p->name);
	CRL_DIST_POINTS_free(dps);
	return rc;
}

static int
lint_aia(const struct lint *l, char *why, size_t whylen)
{
	const struct conf_profile *p = l->p;
	AUTHORITY_INFO_ACCESS *aia;
	const ACCESS_DESCRIPTION *ad;
	size_t i, n = p->aia_ocsp.n + p->aia_ca_issuers.n;
	int crit, rc;

	if ((rc = ext_get(l->x, NID_info_access, "authorityInfoAccess",
	    (void **)&aia, &crit, why, whylen)) != 0)
		return rc;
	if (aia == NULL && n == 0)
		return 0;
	rc = aia != NULL && crit == 0 &&
	    (size_t)sk_ACCESS_DESCRIPTION_num(aia) == n ? 0 : ERR_POLICY;
	for (i = 0; rc == 0 && i < n; i++) {
		bool ocsp = i < p->aia_ocsp.n;

		ad = sk_ACCESS_DESCRIPTION_value(aia, (int)i);
		if (OBJ_obj2nid(ad->method) != (ocsp ? NID_ad_OCSP :
		    NID_ad_ca_issuers) || !uri_is(l, ad->location, ocsp ?
		    p->aia_ocsp.v[i] : p->aia_ca_issuers.v[i - p->aia_ocsp.n]))
			rc = ERR_POLICY;
	}
	if (rc != 0)
		err_why(why, whylen, "authorityInfoAccess does not match profile "
		    "'%s'", p->name);
	AUTHORITY_INFO_ACCESS_free(aia);
	return rc;
}

static int
lint_policies(const struct lint *l, char *why, size_t whylen)
{
	const struct conf_strlist *want = &l->p->policies;
	CERTIFICATEPOLICIES *cp;
	const POLICYINFO *pi;
	ASN1_OBJECT *oid;
	int crit, i, rc;

	if ((rc = ext_get(l->x, NID_certificate_policies, "certificatePolicies",
	    (void **)&cp, &crit, why, whylen)) != 0)
		return rc;
	if (cp == NULL && want->n == 0)
		return 0;
	rc = cp != NULL && crit == 0 &&
	    (size_t)sk_POLICYINFO_num(cp) == want->n ? 0 : ERR_POLICY;
	for (i = 0; rc == 0 && (size_t)i < want->n; i++) {
		pi = sk_POLICYINFO_value(cp, i);
		oid = OBJ_txt2obj(want->v[i], 1);
		if (oid == NULL || OBJ_cmp(oid, pi->policyid) != 0 ||
		    pi->qualifiers != NULL)
			rc = ERR_POLICY;
		ASN1_OBJECT_free(oid);
	}
	ERR_clear_error();
	if (rc != 0)
		err_why(why, whylen, "certificatePolicies does not match profile "
		    "'%s'", l->p->name);
	CERTIFICATEPOLICIES_free(cp);
	return rc;
}

typedef int (*lint_rule)(const struct lint *, char *, size_t);

/* In the order a reader would check a certificate. */
static const lint_rule rules[] = {
	lint_version,
	lint_serial,
	lint_validity,
	lint_issuer,
	lint_key,
	lint_extensions,
	lint_subject,
	lint_san,
	lint_basic_constraints,
	lint_key_usage,
	lint_ext_key_usage,
	lint_key_ids,
	lint_crl_dp,
	lint_aia,
	lint_policies,
};

int
cert_lint(const X509 *tbs, const struct conf_profile *p,
    const struct cert_issuer *iss, char *why, size_t whylen)
{
	struct lint l;
	size_t i;
	int rc = 0;

	if (tbs == NULL || p == NULL || iss == NULL || iss->cert == NULL ||
	    iss->conf == NULL) {
		err_why(why, whylen, "cert_lint: missing argument");
		return ERR_INVAL;
	}
	/* From the bytes to be signed; lint_key says if they do not decode. */
	l.x = tbs;
	l.p = p;
	l.iss = iss;
	l.pkey = cert_key_decode(X509_get_X509_PUBKEY(tbs));
	l.key_type = cert_key_type(X509_get_X509_PUBKEY(tbs));
	for (i = 0; rc == 0 && i < sizeof(rules) / sizeof(rules[0]); i++)
		rc = rules[i](&l, why, whylen);
	EVP_PKEY_free(l.pkey);
	ERR_clear_error();
	return rc;
}
