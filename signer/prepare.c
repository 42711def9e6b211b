/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One sign request from bytes to a checked, unsigned certificate: validity, issuer, build, lint; and its canonical hash. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/cert_local.h"
#include "signer/signer.h"

/* Domain separation of cert_request_hash; change it with the encoding. */
#define REQUEST_HASH_TAG "signer cert request v1"

/* What cert_plan found; owns csr and names. */
struct plan {
	X509_REQ *csr;
	struct cert_names *names;
	const struct cert_issuer *issuer;
	int64_t not_before;
	int64_t not_after;
};

int
cert_validity(const struct conf_profile *p, const struct cert_request *req,
    int64_t now, int64_t *not_before, int64_t *not_after, char *why,
    size_t whylen)
{
	int64_t max = (int64_t)p->max_days * CERT_DAY_SECONDS, nb, na;
	uint32_t days = req->days != 0 ? req->days : p->default_days;

	*not_before = *not_after = 0;
	if (req->days > p->max_days) {
		err_why(why, whylen, "days %u exceeds the maximum %u of profile "
		    "'%s'", req->days, p->max_days, p->name);
		return ERR_POLICY;
	}
	if (days == 0) {
		err_why(why, whylen, "profile '%s' has no default validity", p->name);
		return ERR_CONFIG;
	}
	if (req->not_before != 0 || req->not_after != 0) {
		nb = req->not_before;
		na = req->not_after;
		if (nb < 0 || na <= nb || na > CERT_TIME_MAX) {
			err_why(why, whylen, "reserved validity is malformed");
			return ERR_INVAL;
		}
		if (na - nb + 1 > max) {
			err_why(why, whylen, "validity of %lld seconds exceeds %u "
			    "days (profile '%s')", (long long)(na - nb + 1),
			    p->max_days, p->name);
			return ERR_POLICY;
		}
	} else {
		/* the period counts both ends, so it lasts exactly days */
		nb = now - (int64_t)p->backdate_seconds;
		na = nb + (int64_t)days * CERT_DAY_SECONDS - 1;
		if (now < 0 || nb < 0 || na > CERT_TIME_MAX) {
			err_why(why, whylen, "time %lld is out of range",
			    (long long)now);
			return ERR_INVAL;
		}
	}
	*not_before = nb;
	*not_after = na;
	return 0;
}

static void
plan_free(struct plan *pl)
{
	X509_REQ_free(pl->csr);
	cert_names_free(pl->names);
	memset(pl, 0, sizeof(*pl));
}

static int
plan_run(const struct conf_profile *p, const struct cert_issuer *issuers,
    size_t n, const struct cert_request *req, int64_t now, struct plan *pl,
    char *why, size_t whylen)
{
	int rc;

	memset(pl, 0, sizeof(*pl));
	if (p == NULL || req == NULL || (n > 0 && issuers == NULL)) {
		err_why(why, whylen, "cert_plan: missing argument");
		return ERR_INVAL;
	}
	if (req->profile != NULL && (strlen(p->name) != req->profile_len ||
	    memcmp(p->name, req->profile, req->profile_len) != 0)) {
		err_why(why, whylen, "request is for another profile than '%s'",
		    p->name);
		return ERR_INVAL;
	}
	if ((rc = csr_parse(req->csr, req->csr_len, &pl->csr, why, whylen)) != 0 ||
	    (rc = csr_check(pl->csr, p, why, whylen)) != 0 ||
	    (rc = cert_names_parse(p, req, pl->csr, &pl->names, why, whylen)) != 0 ||
	    (rc = cert_validity(p, req, now, &pl->not_before, &pl->not_after, why,
	    whylen)) != 0 ||
	    (rc = issuer_select(p, issuers, n, req->issuer, pl->not_before,
	    pl->not_after, &pl->issuer, why, whylen)) != 0) {
		plan_free(pl);
		return rc;
	}
	return 0;
}

int
cert_plan(const struct conf_profile *p, const struct cert_issuer *issuers,
    size_t n, const struct cert_request *req, int64_t now,
    const struct cert_issuer **chosen, int64_t *not_before, int64_t *not_after,
    char *why, size_t whylen)
{
	struct plan pl;
	int rc;

	*chosen = NULL;
	*not_before = *not_after = 0;
	if ((rc = plan_run(p, issuers, n, req, now, &pl, why, whylen)) != 0)
		return rc;
	*chosen = pl.issuer;
	*not_before = pl.not_before;
	*not_after = pl.not_after;
	plan_free(&pl);
	return 0;
}

int
cert_prepare(const struct conf_profile *p, const struct cert_issuer *issuers,
    size_t n, const struct cert_request *req, const struct serial *serial,
    int64_t now, X509 **tbs_out, const struct cert_issuer **chosen, char *why,
    size_t whylen)
{
	struct plan pl;
	X509 *tbs = NULL;
	int rc;

	*tbs_out = NULL;
	if (chosen != NULL)
		*chosen = NULL;
	if ((rc = plan_run(p, issuers, n, req, now, &pl, why, whylen)) != 0)
		return rc;
	if ((rc = cert_build(p, pl.issuer, pl.csr, pl.names, serial,
	    pl.not_before, pl.not_after, &tbs, why, whylen)) == 0 &&
	    (rc = cert_lint(tbs, p, pl.issuer, why, whylen)) == 0) {
		*tbs_out = tbs;
		tbs = NULL;     /* transferred */
		if (chosen != NULL)
			*chosen = pl.issuer;
	}
	X509_free(tbs);
	plan_free(&pl);
	return rc;
}

static bool
hash_u64(EVP_MD_CTX *ctx, uint64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)(v & 0xff);
	return EVP_DigestUpdate(ctx, b, sizeof(b)) == 1;
}

/* A length-prefixed field: the empty field and an absent one hash alike. */
static bool
hash_field(EVP_MD_CTX *ctx, const void *p, size_t len)
{
	return hash_u64(ctx, len) &&
	    (len == 0 || EVP_DigestUpdate(ctx, p, len) == 1);
}

static bool
hash_pairs(EVP_MD_CTX *ctx, const struct cert_pair *v, size_t n)
{
	size_t i;

	if (!hash_u64(ctx, n))
		return false;
	for (i = 0; i < n; i++)
		if (!hash_field(ctx, v[i].name, v[i].name_len) ||
		    !hash_field(ctx, v[i].value, v[i].value_len))
			return false;
	return true;
}

int
cert_request_hash(const struct cert_request *req, uint8_t out[CERT_HASH_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int len = 0;
	bool ok;

	memset(out, 0, CERT_HASH_LEN);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return ERR_NOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    hash_field(ctx, REQUEST_HASH_TAG, strlen(REQUEST_HASH_TAG)) &&
	    hash_field(ctx, req->profile, req->profile != NULL ?
	    req->profile_len : 0) &&
	    hash_field(ctx, req->csr, req->csr != NULL ? req->csr_len : 0) &&
	    hash_pairs(ctx, req->subject, req->n_subject) &&
	    hash_pairs(ctx, req->san, req->n_san) &&
	    hash_u64(ctx, req->days) &&
	    EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == CERT_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		memset(out, 0, CERT_HASH_LEN);
		return ERR_INTERNAL;
	}
	return 0;
}
