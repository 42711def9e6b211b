/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Building the unsigned certificate from a checked CSR, validated names and a profile. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/cert_local.h"
#include "signer/signer.h"

#define URI_ISSUER "{issuer}"   /* stands for the issuer id in profile URIs */

static const struct {
	const char *name;
	int bit;
} ku_names[] = {
	{ "digitalSignature", 0 },
	{ "nonRepudiation", 1 },
	{ "contentCommitment", 1 },
	{ "keyEncipherment", 2 },
	{ "dataEncipherment", 3 },
	{ "keyAgreement", 4 },
	{ "keyCertSign", 5 },
	{ "cRLSign", 6 },
	{ "encipherOnly", 7 },
	{ "decipherOnly", 8 },
};
#define N_KU (sizeof(ku_names) / sizeof(ku_names[0]))

static const struct {
	const char *name;
	int nid;
} eku_names[] = {
	{ "serverAuth", NID_server_auth },
	{ "clientAuth", NID_client_auth },
	{ "codeSigning", NID_code_sign },
	{ "emailProtection", NID_email_protect },
	{ "timeStamping", NID_time_stamp },
	{ "OCSPSigning", NID_OCSP_sign },
};
#define N_EKU (sizeof(eku_names) / sizeof(eku_names[0]))

const char *
cert_ku_name(int bit)
{
	size_t i;

	for (i = 0; i < N_KU; i++)
		if (ku_names[i].bit == bit)
			return ku_names[i].name;
	return "unknown";
}

int
cert_ku_bits(const struct conf_profile *p, int key_type, unsigned *bits,
    char *why, size_t whylen)
{
	size_t i, j;

	*bits = 0;
	for (i = 0; i < p->key_usage.n; i++) {
		for (j = 0; j < N_KU; j++)
			if (strcmp(p->key_usage.v[i], ku_names[j].name) == 0)
				break;
		if (j == N_KU) {
			err_why(why, whylen, "profile '%s': unknown key usage '%s'",
			    p->name, p->key_usage.v[i]);
			return ERR_CONFIG;
		}
		*bits |= CERT_KU(ku_names[j].bit);
	}
	/* a profile may serve RSA and EC keys: keep what fits this key */
	if (key_type == EVP_PKEY_RSA)
		*bits &= ~CERT_KU_EC_ONLY;
	else
		*bits &= ~CERT_KU_RSA_ONLY;
	if (p->key_usage.n > 0 && *bits == 0) {
		err_why(why, whylen, "profile '%s' has no key usage for an %s key",
		    p->name, key_type == EVP_PKEY_RSA ? "RSA" : "EC");
		return ERR_POLICY;
	}
	return 0;
}

int
cert_eku_obj(const char *name, ASN1_OBJECT **out)
{
	size_t i;

	*out = NULL;
	for (i = 0; i < N_EKU; i++)
		if (strcmp(name, eku_names[i].name) == 0) {
			*out = OBJ_nid2obj(eku_names[i].nid);
			return *out != NULL ? 0 : ERR_INTERNAL;
		}
	if (name[0] < '0' || name[0] > '9' || (*out = OBJ_txt2obj(name, 1)) == NULL) {
		ERR_clear_error();
		return ERR_CONFIG;
	}
	return 0;
}

int
cert_uri_expand(const char *tmpl, const struct cert_issuer *iss, char *out,
    size_t outlen)
{
	const char *id = iss->conf->id, *s = tmpl, *m;
	size_t o = 0, n;

	while ((m = strstr(s, URI_ISSUER)) != NULL || *s != '\0') {
		n = m != NULL ? (size_t)(m - s) : strlen(s);
		if (n + (m != NULL ? strlen(id) : 0) >= outlen - o)
			return ERR_CONFIG;
		memcpy(out + o, s, n);
		o += n;
		if (m == NULL)
			break;
		memcpy(out + o, id, strlen(id));
		o += strlen(id);
		s = m + strlen(URI_ISSUER);
	}
	out[o] = '\0';
	return 0;
}

int
cert_ski(const X509_PUBKEY *key, uint8_t out[CERT_SKI_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	const unsigned char *pk;
	unsigned int mdlen;
	int pklen;

	if (!X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, key) ||
	    !EVP_Digest(pk, (size_t)pklen, md, &mdlen, EVP_sha256(), NULL)) {
		ERR_clear_error();
		return ERR_INTERNAL;
	}
	memcpy(out, md, CERT_SKI_LEN);
	return 0;
}

/* A GENERAL_NAME of type (GEN_DNS, GEN_EMAIL, GEN_URI: IA5; GEN_IPADD: octets). */
static GENERAL_NAME *
gn_new(int type, const void *v, size_t len)
{
	GENERAL_NAME *gn;
	ASN1_STRING *s;

	s = type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
	if (s == NULL || (gn = GENERAL_NAME_new()) == NULL) {
		ASN1_STRING_free(s);
		return NULL;
	}
	if (!ASN1_STRING_set(s, v, (int)len)) {
		ASN1_STRING_free(s);
		GENERAL_NAME_free(gn);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, type, s);
	return gn;
}

/* Add a URI GENERAL_NAME for each template of l, expanded for iss. */
static int
uris_push(GENERAL_NAMES *gns, const struct conf_strlist *l, size_t i,
    const struct cert_issuer *iss)
{
	char uri[CERT_URI_MAX];
	GENERAL_NAME *gn;

	if (cert_uri_expand(l->v[i], iss, uri, sizeof(uri)) != 0)
		return ERR_CONFIG;
	if ((gn = gn_new(GEN_URI, uri, strlen(uri))) == NULL)
		return ERR_NOMEM;
	if (!sk_GENERAL_NAME_push(gns, gn)) {
		GENERAL_NAME_free(gn);
		return ERR_NOMEM;
	}
	return 0;
}

static int
add_ext(X509 *x, int nid, void *value, int crit)
{
	return X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_DEFAULT) == 1 ?
	    0 : ERR_INTERNAL;
}

static int
add_basic_constraints(X509 *x, const struct conf_profile *p)
{
	BASIC_CONSTRAINTS *bc;
	int rc = ERR_NOMEM;

	if ((bc = BASIC_CONSTRAINTS_new()) == NULL)
		return ERR_NOMEM;
	bc->ca = p->ca ? 0xff : 0;
	if (p->ca && p->path_len >= 0) {
		if ((bc->pathlen = ASN1_INTEGER_new()) == NULL ||
		    !ASN1_INTEGER_set(bc->pathlen, p->path_len))
			goto out;
	}
	rc = add_ext(x, NID_basic_constraints, bc, 1);
out:
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

static int
add_key_usage(X509 *x, const struct conf_profile *p, int key_type, char *why,
    size_t whylen)
{
	ASN1_BIT_STRING *ku;
	unsigned bits;
	int bit, rc;

	if ((rc = cert_ku_bits(p, key_type, &bits, why, whylen)) != 0)
		return rc;
	if (bits == 0)
		return 0;
	if ((ku = ASN1_BIT_STRING_new()) == NULL)
		return ERR_NOMEM;
	for (bit = 0; bit <= CERT_KU_BIT_MAX; bit++)
		if ((bits & CERT_KU(bit)) && !ASN1_BIT_STRING_set_bit(ku, bit, 1))
			rc = ERR_NOMEM;
	if (rc == 0)
		rc = add_ext(x, NID_key_usage, ku, 1);
	ASN1_BIT_STRING_free(ku);
	return rc;
}

static int
add_ext_key_usage(X509 *x, const struct conf_profile *p, char *why,
    size_t whylen)
{
	EXTENDED_KEY_USAGE *eku;
	ASN1_OBJECT *obj;
	size_t i;
	int rc = 0;

	if (p->ext_key_usage.n == 0)
		return 0;
	if ((eku = sk_ASN1_OBJECT_new_null()) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < p->ext_key_usage.n && rc == 0; i++) {
		if ((rc = cert_eku_obj(p->ext_key_usage.v[i], &obj)) != 0) {
			err_why(why, whylen, "profile '%s': unknown extended key "
			    "usage '%s'", p->name, p->ext_key_usage.v[i]);
		} else if (!sk_ASN1_OBJECT_push(eku, obj)) {
			ASN1_OBJECT_free(obj);
			rc = ERR_NOMEM;
		}
	}
	if (rc == 0)
		rc = add_ext(x, NID_ext_key_usage, eku, 0);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return rc;
}

static int
add_subject_alt_name(X509 *x, const struct cert_names *names)
{
	GENERAL_NAMES *gns;
	GENERAL_NAME *gn;
	size_t i;
	int rc = 0;

	if (names->n_san == 0)
		return 0;
	if ((gns = sk_GENERAL_NAME_new_null()) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < names->n_san && rc == 0; i++) {
		gn = gn_new(names->san[i].type, names->san[i].value,
		    names->san[i].len);
		if (gn == NULL || !sk_GENERAL_NAME_push(gns, gn)) {
			GENERAL_NAME_free(gn);
			rc = ERR_NOMEM;
		}
	}
	/* RFC 5280 4.2.1.6: critical when the subject is empty */
	if (rc == 0)
		rc = add_ext(x, NID_subject_alt_name, gns, names->n_subject == 0);
	GENERAL_NAMES_free(gns);
	return rc;
}

/* subjectKeyIdentifier (RFC 7093 method 1) and authorityKeyIdentifier (keyid). */
static int
add_key_ids(X509 *x, const struct cert_issuer *iss)
{
	uint8_t ski[CERT_SKI_LEN];
	ASN1_OCTET_STRING *os;
	AUTHORITY_KEYID *akid;
	int rc;

	if ((rc = cert_ski(X509_get_X509_PUBKEY(x), ski)) != 0)
		return rc;
	if ((os = ASN1_OCTET_STRING_new()) == NULL)
		return ERR_NOMEM;
	rc = ASN1_OCTET_STRING_set(os, ski, sizeof(ski)) ?
	    add_ext(x, NID_subject_key_identifier, os, 0) : ERR_NOMEM;
	ASN1_OCTET_STRING_free(os);
	if (rc != 0)
		return rc;
	if ((akid = AUTHORITY_KEYID_new()) == NULL)
		return ERR_NOMEM;
	if ((akid->keyid = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(akid->keyid, iss->ski, (int)iss->ski_len))
		rc = ERR_NOMEM;
	else
		rc = add_ext(x, NID_authority_key_identifier, akid, 0);
	AUTHORITY_KEYID_free(akid);
	return rc;
}

/* One distribution point whose fullName lists every profile URI. */
static int
add_crl_dp(X509 *x, const struct conf_profile *p, const struct cert_issuer *iss)
{
	CRL_DIST_POINTS *dps;
	DIST_POINT *dp = NULL;
	size_t i;
	int rc = ERR_NOMEM;

	if (p->crl_dp.n == 0)
		return 0;
	if ((dps = sk_DIST_POINT_new_null()) == NULL)
		return ERR_NOMEM;
	if ((dp = DIST_POINT_new()) == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null()) == NULL)
		goto out;
	dp->distpoint->type = 0;
	for (i = 0; i < p->crl_dp.n; i++)
		if ((rc = uris_push(dp->distpoint->name.fullname, &p->crl_dp, i,
		    iss)) != 0)
			goto out;
	if (!sk_DIST_POINT_push(dps, dp)) {
		rc = ERR_NOMEM;
		goto out;
	}
	dp = NULL;      /* transferred */
	rc = add_ext(x, NID_crl_distribution_points, dps, 0);
out:
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(dps);
	return rc;
}

static int
aia_push(AUTHORITY_INFO_ACCESS *aia, int method, const struct conf_strlist *l,
    const struct cert_issuer *iss)
{
	GENERAL_NAMES *tmp;
	ACCESS_DESCRIPTION *ad;
	size_t i;
	int rc = 0;

	if ((tmp = sk_GENERAL_NAME_new_null()) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < l->n && rc == 0; i++) {
		if ((rc = uris_push(tmp, l, i, iss)) != 0)
			break;
		if ((ad = ACCESS_DESCRIPTION_new()) == NULL) {
			rc = ERR_NOMEM;
			break;
		}
		ad->method = OBJ_nid2obj(method);
		GENERAL_NAME_free(ad->location);
		ad->location = sk_GENERAL_NAME_pop(tmp);
		if (!sk_ACCESS_DESCRIPTION_push(aia, ad)) {
			ACCESS_DESCRIPTION_free(ad);
			rc = ERR_NOMEM;
		}
	}
	GENERAL_NAMES_free(tmp);
	return rc;
}

static int
add_aia(X509 *x, const struct conf_profile *p, const struct cert_issuer *iss)
{
	AUTHORITY_INFO_ACCESS *aia;
	int rc;

	if (p->aia_ocsp.n == 0 && p->aia_ca_issuers.n == 0)
		return 0;
	if ((aia = sk_ACCESS_DESCRIPTION_new_null()) == NULL)
		return ERR_NOMEM;
	if ((rc = aia_push(aia, NID_ad_OCSP, &p->aia_ocsp, iss)) == 0 &&
	    (rc = aia_push(aia, NID_ad_ca_issuers, &p->aia_ca_issuers, iss)) == 0)
		rc = add_ext(x, NID_info_access, aia, 0);
	AUTHORITY_INFO_ACCESS_free(aia);
	return rc;
}

static int
add_policies(X509 *x, const struct conf_profile *p, char *why, size_t whylen)
{
	CERTIFICATEPOLICIES *cp;
	POLICYINFO *pi;
	ASN1_OBJECT *oid;
	size_t i;
	int rc = 0;

	if (p->policies.n == 0)
		return 0;
	if ((cp = sk_POLICYINFO_new_null()) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < p->policies.n && rc == 0; i++) {
		if ((oid = OBJ_txt2obj(p->policies.v[i], 1)) == NULL) {
			err_why(why, whylen, "profile '%s': policy '%s' is not a "
			    "dotted OID", p->name, p->policies.v[i]);
			rc = ERR_CONFIG;
		} else if ((pi = POLICYINFO_new()) == NULL) {
			ASN1_OBJECT_free(oid);
			rc = ERR_NOMEM;
		} else {
			ASN1_OBJECT_free(pi->policyid);
			pi->policyid = oid;
			if (!sk_POLICYINFO_push(cp, pi)) {
				POLICYINFO_free(pi);
				rc = ERR_NOMEM;
			}
		}
	}
	if (rc == 0)
		rc = add_ext(x, NID_certificate_policies, cp, 0);
	CERTIFICATEPOLICIES_free(cp);
	return rc;
}

int
cert_set_serial(X509 *x, const struct serial *s)
{
	BIGNUM *bn;
	int rc = 0;

	if (s->len == 0 || s->len > SERIAL_MAX || s->b[0] == 0)
		return ERR_INVAL;
	if ((bn = BN_bin2bn(s->b, (int)s->len, NULL)) == NULL)
		return ERR_NOMEM;
	if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		rc = ERR_NOMEM;
	BN_free(bn);
	return rc;
}

static int
set_subject(X509 *x, const struct cert_names *names)
{
	X509_NAME *name;
	size_t i;
	int rc = 0;

	if ((name = X509_NAME_new()) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < names->n_subject && rc == 0; i++) {
		const struct cert_rdn *r = &names->subject[i];

		/* a plain V_ASN1_* type stores the bytes as they are, in that type */
		if (!X509_NAME_add_entry_by_NID(name, r->attr->nid, r->attr->type,
		    (const unsigned char *)r->value, (int)r->len, -1, 0))
			rc = ERR_NOMEM;
	}
	if (rc == 0 && !X509_set_subject_name(x, name))
		rc = ERR_NOMEM;
	X509_NAME_free(name);
	return rc;
}

static int
set_validity(X509 *x, int64_t not_before, int64_t not_after)
{
	if (not_before < 0 || not_after <= not_before || not_after > CERT_TIME_MAX)
		return ERR_INVAL;
	if (ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after) == NULL)
		return ERR_NOMEM;
	return 0;
}

/*
 * The CSR's subjectPublicKeyInfo as it is, byte for byte. Going through a
 * decoded key would re-encode it with OpenSSL 3.0's encoder and decode it
 * again, the slowest part of building a certificate; cert_lint() decodes
 * and checks the key the certificate carries.
 */
static int
set_pubkey(X509 *x, const X509_PUBKEY *from)
{
	X509_PUBKEY *to = X509_get_X509_PUBKEY(x);
	ASN1_OBJECT *obj = NULL, *dup;
	X509_ALGOR *from_alg = NULL, *to_alg = NULL;
	const unsigned char *pk = NULL;
	unsigned char *bits;
	int pklen = 0;

	if (from == NULL || to == NULL ||
	    !X509_PUBKEY_get0_param(&obj, &pk, &pklen, &from_alg, from) ||
	    !X509_PUBKEY_get0_param(NULL, NULL, NULL, &to_alg, to) ||
	    pk == NULL || pklen <= 0)
		return ERR_INVAL;
	if ((bits = OPENSSL_memdup(pk, (size_t)pklen)) == NULL)
		return ERR_NOMEM;
	if ((dup = OBJ_dup(obj)) == NULL ||
	    !X509_PUBKEY_set0_param(to, dup, V_ASN1_UNDEF, NULL, bits, pklen)) {
		ASN1_OBJECT_free(dup);
		OPENSSL_free(bits);
		return ERR_NOMEM;
	}
	/* then the algorithm with its parameters, whatever they are */
	return X509_ALGOR_copy(to_alg, from_alg) ? 0 : ERR_NOMEM;
}

/* Everything but the extensions. */
static int
build_base(X509 *x, const struct cert_issuer *iss, X509_REQ *csr,
    const struct cert_names *names, const struct serial *serial,
    int64_t not_before, int64_t not_after, char *msg, size_t msglen)
{
	int rc;

	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(iss->cert)))
		return ERR_NOMEM;
	if ((rc = cert_set_serial(x, serial)) != 0) {
		err_why(msg, msglen, "serial number is malformed");
		return rc;
	}
	if ((rc = set_validity(x, not_before, not_after)) != 0) {
		err_why(msg, msglen, "validity %lld..%lld is malformed",
		    (long long)not_before, (long long)not_after);
		return rc;
	}
	if ((rc = set_subject(x, names)) != 0)
		return rc;
	return set_pubkey(x, X509_REQ_get_X509_PUBKEY(csr));
}

static int
build_exts(X509 *x, const struct conf_profile *p, const struct cert_issuer *iss,
    const struct cert_names *names, char *msg, size_t msglen)
{
	int key_type = cert_key_type(X509_get_X509_PUBKEY(x)), rc;

	if ((rc = add_basic_constraints(x, p)) != 0 ||
	    (rc = add_key_usage(x, p, key_type, msg, msglen)) != 0 ||
	    (rc = add_ext_key_usage(x, p, msg, msglen)) != 0 ||
	    (rc = add_subject_alt_name(x, names)) != 0 ||
	    (rc = add_key_ids(x, iss)) != 0)
		return rc;
	if ((rc = add_crl_dp(x, p, iss)) != 0 || (rc = add_aia(x, p, iss)) != 0) {
		if (rc == ERR_CONFIG)
			err_why(msg, msglen, "profile '%s': a URI is longer than "
			    "%d bytes", p->name, CERT_URI_MAX - 1);
		return rc;
	}
	return add_policies(x, p, msg, msglen);
}

int
cert_build(const struct conf_profile *p, const struct cert_issuer *iss,
    X509_REQ *csr, const struct cert_names *names, const struct serial *serial,
    int64_t not_before, int64_t not_after, X509 **out, char *why, size_t whylen)
{
	char msg[CERT_WHY_MAX] = "";
	X509 *x;
	int rc;

	*out = NULL;
	if (iss == NULL || iss->cert == NULL || iss->conf == NULL ||
	    iss->ski_len == 0 || csr == NULL || names == NULL || serial == NULL) {
		err_why(why, whylen, "cert_build: missing argument");
		return ERR_INVAL;
	}
	if ((x = X509_new()) == NULL) {
		err_why(why, whylen, "out of memory");
		return ERR_NOMEM;
	}
	if ((rc = build_base(x, iss, csr, names, serial, not_before, not_after,
	    msg, sizeof(msg))) == 0)
		rc = build_exts(x, p, iss, names, msg, sizeof(msg));
	ERR_clear_error();
	if (rc != 0) {
		X509_free(x);
		if (msg[0] == '\0')
			snprintf(msg, sizeof(msg), "cannot build the certificate: "
			    "%s", rc == ERR_NOMEM ? "out of memory" :
			    "OpenSSL failed");
		err_why(why, whylen, "%s", msg);
		return rc;
	}
	*out = x;
	return 0;
}
