/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Issuers: loading a CA certificate and choosing the issuer whose validity covers a new certificate. */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/cert_local.h"
#include "signer/signer.h"

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
cert_time_get(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	*out = 0;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return ERR_INVAL;
	}
	*out = days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday) * CERT_DAY_SECONDS + tm.tm_hour * 3600 +
	    tm.tm_min * 60 + tm.tm_sec;
	return 0;
}

void
cert_date(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
}

void
issuer_clear(struct cert_issuer *iss)
{
	if (iss == NULL)
		return;
	X509_free(iss->cert);
	memset(iss, 0, sizeof(*iss));
	iss->path_len = -1;
}

/* basicConstraints cA and keyUsage keyCertSign. */
static int
issuer_is_ca(const char *id, X509 *cert, int *path_len, char *why,
    size_t whylen)
{
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;
	int crit, ok;
	long pl;

	*path_len = -1;
	bc = X509_get_ext_d2i(cert, NID_basic_constraints, &crit, NULL);
	if (bc == NULL || !bc->ca) {
		BASIC_CONSTRAINTS_free(bc);
		err_why(why, whylen, "certificate of issuer '%s' is not a CA "
		    "(basicConstraints cA is not set)", id);
		return ERR_CONFIG;
	}
	if (bc->pathlen != NULL) {
		pl = ASN1_INTEGER_get(bc->pathlen);
		*path_len = pl < 0 || pl > INT_MAX ? INT_MAX : (int)pl;
	}
	BASIC_CONSTRAINTS_free(bc);
	ku = X509_get_ext_d2i(cert, NID_key_usage, &crit, NULL);
	if (ku == NULL && crit != -1) {
		err_why(why, whylen, "certificate of issuer '%s' has a malformed "
		    "keyUsage", id);
		return ERR_CONFIG;
	}
	ok = ku == NULL || ASN1_BIT_STRING_get_bit(ku, CERT_KU_KEY_CERT_SIGN);
	ASN1_BIT_STRING_free(ku);
	if (!ok) {
		err_why(why, whylen, "certificate of issuer '%s' may not sign "
		    "certificates (keyUsage lacks keyCertSign)", id);
		return ERR_CONFIG;
	}
	return 0;
}

static int
issuer_ski(const char *id, X509 *cert, struct cert_issuer *iss, char *why,
    size_t whylen)
{
	ASN1_OCTET_STRING *ski;
	int crit, len;

	ski = X509_get_ext_d2i(cert, NID_subject_key_identifier, &crit, NULL);
	if (ski == NULL) {
		err_why(why, whylen, "certificate of issuer '%s' has no "
		    "subjectKeyIdentifier", id);
		return ERR_CONFIG;
	}
	len = ASN1_STRING_length(ski);
	if (len <= 0 || len > CERT_KEYID_MAX) {
		ASN1_OCTET_STRING_free(ski);
		err_why(why, whylen, "certificate of issuer '%s' has a "
		    "subjectKeyIdentifier of %d bytes (1..%d)", id, len,
		    CERT_KEYID_MAX);
		return ERR_CONFIG;
	}
	memcpy(iss->ski, ASN1_STRING_get0_data(ski), (size_t)len);
	iss->ski_len = (size_t)len;
	ASN1_OCTET_STRING_free(ski);
	return 0;
}

int
issuer_init(const struct conf_issuer *conf, X509 *cert,
    struct cert_issuer *iss, char *why, size_t whylen)
{
	int rc;

	memset(iss, 0, sizeof(*iss));
	iss->path_len = -1;
	if (conf == NULL || conf->id == NULL || cert == NULL) {
		err_why(why, whylen, "issuer without id or certificate");
		return ERR_INVAL;
	}
	if ((rc = issuer_is_ca(conf->id, cert, &iss->path_len, why, whylen)) != 0 ||
	    (rc = issuer_ski(conf->id, cert, iss, why, whylen)) != 0)
		goto out;
	if (cert_time_get(X509_get0_notBefore(cert), &iss->not_before) != 0 ||
	    cert_time_get(X509_get0_notAfter(cert), &iss->not_after) != 0 ||
	    iss->not_after <= iss->not_before) {
		err_why(why, whylen, "certificate of issuer '%s' has a malformed "
		    "validity", conf->id);
		rc = ERR_CONFIG;
		goto out;
	}
	if (X509_get0_pubkey(cert) == NULL) {
		err_why(why, whylen, "certificate of issuer '%s' has a public key "
		    "that cannot be decoded", conf->id);
		rc = ERR_CONFIG;
		goto out;
	}
	if (!X509_up_ref(cert)) {
		rc = ERR_NOMEM;
		goto out;
	}
	iss->cert = cert;
	iss->conf = conf;
out:
	ERR_clear_error();
	if (rc != 0) {
		memset(iss, 0, sizeof(*iss));
		iss->path_len = -1;
	}
	return rc;
}

int
issuer_load(const struct conf_issuer *conf, struct cert_issuer *iss,
    char *why, size_t whylen)
{
	X509 *cert = NULL, *extra = NULL;
	BIO *bio = NULL;
	int rc;

	memset(iss, 0, sizeof(*iss));
	iss->path_len = -1;
	if (conf == NULL || conf->id == NULL || conf->cert == NULL) {
		err_why(why, whylen, "issuer without id or certificate file");
		return ERR_INVAL;
	}
	if ((bio = BIO_new_file(conf->cert, "r")) == NULL) {
		err_why(why, whylen, "issuer '%s': cannot open %s", conf->id,
		    conf->cert);
		rc = ERR_CONFIG;
		goto out;
	}
	if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		err_why(why, whylen, "issuer '%s': %s holds no PEM certificate",
		    conf->id, conf->cert);
		rc = ERR_CONFIG;
		goto out;
	}
	if ((extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		err_why(why, whylen, "issuer '%s': %s holds more than one "
		    "certificate", conf->id, conf->cert);
		rc = ERR_CONFIG;
		goto out;
	}
	rc = issuer_init(conf, cert, iss, why, whylen);
out:
	ERR_clear_error();
	X509_free(extra);
	X509_free(cert);
	BIO_free(bio);
	return rc;
}

/* "(a ends 2027-06-30, b starts 2028-01-01)" for the issuers that do not cover. */
static void
select_explain(const struct conf_profile *p, const struct cert_issuer *issuers,
    size_t n, const char *want, int64_t nb, int64_t na, char *why,
    size_t whylen)
{
	char from[CERT_DATE_MAX], to[CERT_DATE_MAX], d[CERT_DATE_MAX];
	char list[CERT_WHY_MAX] = "";
	size_t i, o = 0;
	int w;

	for (i = 0; i < n && o < sizeof(list); i++) {
		const struct cert_issuer *iss = &issuers[i];
		const char *id = iss->conf != NULL ? iss->conf->id : NULL;
		bool early;

		if (id == NULL || iss->cert == NULL ||
		    !names_list_has(&p->issuers, id, strlen(id)) ||
		    (want != NULL && strcmp(want, id) != 0))
			continue;
		early = nb < iss->not_before;
		cert_date(early ? iss->not_before : iss->not_after, d, sizeof(d));
		w = snprintf(list + o, sizeof(list) - o, "%s%s %s %s",
		    o > 0 ? ", " : "", id, early ? "starts" : "ends", d);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	cert_date(nb, from, sizeof(from));
	cert_date(na, to, sizeof(to));
	err_why(why, whylen, "no issuer of profile '%s' covers %s..%s (%s)",
	    p->name, from, to, list);
}

int
issuer_select(const struct conf_profile *p, const struct cert_issuer *issuers,
    size_t n, const char *want, int64_t not_before, int64_t not_after,
    const struct cert_issuer **out, char *why, size_t whylen)
{
	const struct cert_issuer *best = NULL;
	size_t i, candidates = 0;

	*out = NULL;
	for (i = 0; i < n; i++) {
		const struct cert_issuer *iss = &issuers[i];
		const char *id = iss->conf != NULL ? iss->conf->id : NULL;

		if (id == NULL || iss->cert == NULL ||
		    !names_list_has(&p->issuers, id, strlen(id)) ||
		    (want != NULL && strcmp(want, id) != 0))
			continue;
		candidates++;
		if (not_before < iss->not_before || not_after > iss->not_after)
			continue;
		if (best == NULL || iss->not_before > best->not_before ||
		    (iss->not_before == best->not_before &&
		    iss->not_after > best->not_after))
			best = iss;
	}
	if (best != NULL) {
		*out = best;
		return 0;
	}
	if (candidates > 0) {
		select_explain(p, issuers, n, want, not_before, not_after, why,
		    whylen);
		return ERR_POLICY;
	}
	if (want == NULL) {
		err_why(why, whylen, "profile '%s' has no loaded issuer", p->name);
		return ERR_NOT_FOUND;
	}
	if (!names_list_has(&p->issuers, want, strlen(want))) {
		err_why(why, whylen, "issuer '%s' does not serve profile '%s'",
		    want, p->name);
		return ERR_POLICY;
	}
	err_why(why, whylen, "issuer '%s' is not loaded", want);
	return ERR_NOT_FOUND;
}
