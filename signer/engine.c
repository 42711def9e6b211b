/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The signing engine: issuers, repository and HSM together; check, reserve, sign, record. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config/config.h"
#include "hsm/hsm.h"
#include "proto/proto.h"
#include "signer/signer.h"

struct signer {
	const struct conf_signerd *conf;
	struct repo *repo;
	struct hsm *hsm;
	struct cert_issuer *issuers;
	struct hsm_key **keys;          /* keys[i] signs for issuers[i] */
	size_t n_issuers;
};



static int
hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the configured key id (even-length hex, checked by the loader). */
static int
engine_key_id(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex), i;

	if (n == 0 || n % 2 != 0 || n / 2 > cap)
		return ERR_CONFIG;
	for (i = 0; i < n / 2; i++) {
		int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return ERR_CONFIG;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

static int
engine_open_hsm(struct signer *s, char *why, size_t whylen)
{
	const struct conf_signerd *c = s->conf;
	struct hsm_params hp = {
		.module = c->hsm_module, .token = c->hsm_token,
		.pin_file = c->hsm_pin_file, .pin_env = c->hsm_pin_env,
	};
	uint8_t id[HSM_KEY_ID_MAX];
	size_t i, idlen;
	int rc;

	if ((rc = hsm_open(&hp, &s->hsm, why, whylen)) != 0)
		return rc;
	for (i = 0; i < s->n_issuers; i++) {
		const struct conf_issuer *ci = &c->issuers[i];
		char sub[HSM_WHY_MAX];

		if (engine_key_id(ci->key_id, id, sizeof(id), &idlen) != 0) {
			err_why(why, whylen, "issuer '%s': bad key_id '%s'",
			    ci->id, ci->key_id);
			return ERR_CONFIG;
		}
		rc = hsm_key_find(s->hsm, id, idlen,
		    X509_get0_pubkey(s->issuers[i].cert), &s->keys[i], sub,
		    sizeof(sub));
		if (rc != 0) {
			err_why(why, whylen, "issuer '%s': %s", ci->id, sub);
			return rc;
		}
	}
	return 0;
}

int
signer_open(const struct conf_signerd *conf, int flags, struct signer **out,
    char *why, size_t whylen)
{
	struct signer *s;
	int rflags = 0, rc;
	size_t i;

	*out = NULL;
	if (conf == NULL || conf->n_issuers == 0)
		return ERR_INVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->issuers = calloc(conf->n_issuers, sizeof(*s->issuers))) == NULL ||
	    (s->keys = calloc(conf->n_issuers, sizeof(*s->keys))) == NULL) {
		signer_close(s);
		return ERR_NOMEM;
	}
	s->conf = conf;
	s->n_issuers = conf->n_issuers;
	for (i = 0; i < conf->n_issuers; i++)
		if ((rc = issuer_load(&conf->issuers[i], &s->issuers[i], why,
		    whylen)) != 0)
			goto fail;
	if (flags & SIGNER_OPEN_CREATE)
		rflags |= REPO_CREATE;
	if (flags & SIGNER_OPEN_RDONLY) {
		rflags |= REPO_RDONLY;
		flags |= SIGNER_OPEN_NO_HSM;
	}
	if ((rc = repo_open(conf->repo_path, (uint8_t)conf->node,
	    conf->repo_map_mb, rflags, &s->repo, why, whylen)) != 0)
		goto fail;
	if (!(flags & SIGNER_OPEN_NO_HSM) &&
	    (rc = engine_open_hsm(s, why, whylen)) != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	signer_close(s);
	return rc;
}

void
signer_close(struct signer *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; s->keys != NULL && i < s->n_issuers; i++)
		hsm_key_free(s->keys[i]);
	hsm_close(s->hsm);
	repo_close(s->repo);
	for (i = 0; s->issuers != NULL && i < s->n_issuers; i++)
		issuer_clear(&s->issuers[i]);
	free(s->keys);
	free(s->issuers);
	free(s);
}

struct repo *
signer_repo(struct signer *s)
{
	return s->repo;
}

struct hsm *
signer_hsm(struct signer *s)
{
	return s->hsm;
}

const struct cert_issuer *
signer_issuers(const struct signer *s, size_t *n)
{
	*n = s->n_issuers;
	return s->issuers;
}

struct hsm_key *
signer_issuer_key(const struct signer *s, size_t i)
{
	return i < s->n_issuers ? s->keys[i] : NULL;
}

/* The index of the issuer with id, or -1. */
static int
engine_issuer_index(const struct signer *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->n_issuers; i++)
		if (strcmp(s->issuers[i].conf->id, id) == 0)
			return (int)i;
	return -1;
}

static void
job_fail(struct sign_job *j, int err, const char *why)
{
	j->err = err;
	if (why != NULL && why != j->why)
		snprintf(j->why, sizeof(j->why), "%s", why);
}

/* Per-job state of a batch between its phases. */
struct job_state {
	const struct conf_profile *profile;
	uint8_t hash[CERT_HASH_LEN];
	bool todo;              /* needs reserving */
	bool sign;              /* needs signing */
	int follows;            /* index of an earlier job with the same ref, or -1 */
	struct repo_cert want;  /* the reservation asked for */
	X509 *tbs;              /* checked in phase 1, with a provisional serial */
	const struct cert_issuer *chosen; /* the issuer of tbs */
	uint8_t *der;           /* signed certificate */
	size_t der_len;
};

struct batch {
	struct signer *s;
	struct sign_job *jobs;
	struct job_state *st;
	size_t n;
	int64_t now;
};


/* A one-line summary of the certificate's subject (RFC 2253, UTF-8 kept). */
static void
subject_summary(const X509 *x, char *out, size_t cap)
{
	BIO *bio = BIO_new(BIO_s_mem());
	unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
	char *p;
	long n;

	out[0] = '\0';
	if (bio == NULL)
		return;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, flags) >= 0 &&
	    (n = BIO_get_mem_data(bio, &p)) > 0) {
		size_t k = (size_t)n < cap - 1 ? (size_t)n : cap - 1;

		memcpy(out, p, k);
		out[k] = '\0';
	}
	BIO_free(bio);
}

/* What the reservation of a checked new request records. */
static void
batch_want(struct job_state *st, const struct sign_job *j, const char *profile,
    const struct cert_issuer *chosen, const X509 *tbs, int64_t now)
{
	struct repo_cert *w = &st->want;

	memset(w, 0, sizeof(*w));
	snprintf(w->issuer, sizeof(w->issuer), "%s", chosen->conf->id);
	snprintf(w->profile, sizeof(w->profile), "%s", profile);
	memcpy(w->ref, j->ref, j->ref_len);
	w->ref_len = j->ref_len;
	memcpy(w->req_hash, st->hash, CERT_HASH_LEN);
	(void)cert_time_get(X509_get0_notBefore(tbs), &w->not_before);
	(void)cert_time_get(X509_get0_notAfter(tbs), &w->not_after);
	w->created = now;
	subject_summary(tbs, w->subject, sizeof(w->subject));
}

/* Check the request, look its ref up, and plan a new reservation. */
static void
batch_plan_one(struct batch *b, size_t i, struct repo_txn *t)
{
	struct sign_job *j = &b->jobs[i];
	struct job_state *st = &b->st[i];
	char name[REPO_ID_MAX + 1];
	struct repo_cert rec = { 0 };
	const struct cert_issuer *chosen;
	struct serial provisional;
	X509 *tbs = NULL;
	int rc;

	if (j->ref == NULL || j->ref_len == 0 || j->ref_len > REPO_REF_MAX) {
		job_fail(j, ERR_BAD_REQUEST, "field 'ref' must be 1..128 bytes");
		return;
	}
	if (j->req.profile == NULL || j->req.profile_len == 0 ||
	    j->req.profile_len > REPO_ID_MAX) {
		job_fail(j, ERR_NOT_FOUND, "unknown profile");
		return;
	}
	memcpy(name, j->req.profile, j->req.profile_len);
	name[j->req.profile_len] = '\0';
	if ((st->profile = conf_profile_find(b->s->conf, name)) == NULL) {
		j->err = ERR_NOT_FOUND;
		snprintf(j->why, sizeof(j->why), "unknown profile '%.64s'", name);
		return;
	}
	if (cert_request_hash(&j->req, st->hash) != 0) {
		job_fail(j, ERR_INTERNAL, "cannot hash the request");
		return;
	}
	rc = repo_ref_find(t, j->ref, j->ref_len, &rec, j->why, sizeof(j->why));
	if (rc == 0) {
		if (CRYPTO_memcmp(rec.req_hash, st->hash, CERT_HASH_LEN) != 0 ||
		    strcmp(rec.profile, name) != 0) {
			repo_cert_clear(&rec);
			job_fail(j, ERR_CONFLICT, "ref was already used "
			    "for a different request");
			return;
		}
		j->cert = rec;
		st->sign = rec.status == CERT_PENDING;
		return;
	}
	if (rc != ERR_NOT_FOUND) {
		job_fail(j, rc, NULL);
		return;
	}
	/* Check everything before anything is recorded: a refused request leaves no trace. */
	if ((rc = serial_generate((uint8_t)b->s->conf->node, &provisional)) != 0) {
		job_fail(j, rc, "cannot generate a serial number");
		return;
	}
	rc = cert_prepare(st->profile, b->s->issuers, b->s->n_issuers, &j->req,
	    &provisional, b->now, &tbs, &chosen, j->why, sizeof(j->why));
	if (rc != 0) {
		job_fail(j, rc, NULL);
		return;
	}
	batch_want(st, j, name, chosen, tbs, b->now);
	/* Kept for phase 3: only its serial changes, and it is checked again. */
	st->tbs = tbs;
	st->chosen = chosen;
	st->todo = st->sign = true;
}

/* The earlier job of the batch with the same ref, or -1. */
static int
batch_follows(const struct batch *b, size_t i)
{
	size_t k;

	for (k = 0; k < i; k++)
		if (b->jobs[k].ref_len == b->jobs[i].ref_len &&
		    memcmp(b->jobs[k].ref, b->jobs[i].ref, b->jobs[i].ref_len) == 0)
			return (int)k;
	return -1;
}

/* Phase 1, one read transaction: check every job and find known refs. */
static int
batch_plan(struct batch *b)
{
	struct repo_txn *t;
	char why[CERT_WHY_MAX];
	size_t i;
	int rc;

	if ((rc = repo_begin(b->s->repo, false, &t, why, sizeof(why))) != 0)
		return rc;
	for (i = 0; i < b->n; i++) {
		b->st[i].follows = batch_follows(b, i);
		if (b->st[i].follows < 0)
			batch_plan_one(b, i, t);
	}
	repo_abort(t);
	return 0;
}

/* Phase 2, one durable write transaction: reserve serials for new requests. */
static int
batch_reserve_txn(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	struct batch *b = ctx;
	size_t i;
	int rc;

	(void)why;
	(void)whylen;
	for (i = 0; i < b->n; i++) {
		struct sign_job *j = &b->jobs[i];

		if (!b->st[i].todo || j->err != 0)
			continue;
		repo_cert_clear(&j->cert);
		rc = repo_cert_reserve(t, &b->st[i].want, &j->cert, j->why,
		    sizeof(j->why));
		if (rc == ERR_CONFLICT || rc == ERR_BAD_REQUEST) {
			j->err = rc;
			b->st[i].sign = false;
		} else if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

/* The reservation is the one phase 1 planned for tbs. */
static bool
batch_as_planned(const struct job_state *st, const struct repo_cert *c)
{
	return st->tbs != NULL && c->status == CERT_PENDING &&
	    strcmp(c->issuer, st->want.issuer) == 0 &&
	    c->not_before == st->want.not_before &&
	    c->not_after == st->want.not_after;
}

/*
 * The unsigned certificate of job i's reservation: phase 1's with the
 * reserved serial, or, for a reservation of an earlier run, built again with
 * its recorded serial, validity and issuer. Either way every check has run
 * on exactly the certificate returned. *tbs is the caller's.
 */
static int
batch_tbs(struct batch *b, size_t i, X509 **tbs,
    const struct cert_issuer **chosen)
{
	struct sign_job *j = &b->jobs[i];
	struct job_state *st = &b->st[i];
	struct cert_request req = j->req;
	int rc;

	*tbs = NULL;
	if (batch_as_planned(st, &j->cert)) {
		if ((rc = cert_set_serial(st->tbs, &j->cert.serial)) != 0) {
			snprintf(j->why, sizeof(j->why), "%s", rc == ERR_NOMEM ?
			    "out of memory" : "reserved serial is malformed");
			return rc;
		}
		if ((rc = cert_lint(st->tbs, st->profile, st->chosen, j->why,
		    sizeof(j->why))) != 0)
			return rc;
		*tbs = st->tbs;
		st->tbs = NULL;         /* transferred */
		*chosen = st->chosen;
		return 0;
	}
	req.not_before = j->cert.not_before;
	req.not_after = j->cert.not_after;
	req.issuer = j->cert.issuer;
	return cert_prepare(st->profile, b->s->issuers, b->s->n_issuers, &req,
	    &j->cert.serial, b->now, tbs, chosen, j->why, sizeof(j->why));
}

/* Phase 3: sign the reserved certificate. */
static void
batch_sign_one(struct batch *b, size_t i)
{
	struct sign_job *j = &b->jobs[i];
	struct job_state *st = &b->st[i];
	const struct cert_issuer *chosen;
	X509 *tbs = NULL, *cert = NULL;
	unsigned char *p;
	int rc, len, idx;

	if ((rc = batch_tbs(b, i, &tbs, &chosen)) != 0) {
		X509_free(tbs);
		job_fail(j, rc, NULL);
		return;
	}
	idx = engine_issuer_index(b->s, chosen->conf->id);
	rc = hsm_sign_x509(b->s->keys[idx], tbs,
	    EVP_get_digestbyname(st->profile->digest), &cert, j->why,
	    sizeof(j->why));
	X509_free(tbs);
	if (rc != 0) {
		job_fail(j, rc, NULL);
		return;
	}
	if ((len = i2d_X509(cert, NULL)) <= 0 || len > REPO_DER_MAX ||
	    (st->der = malloc((size_t)len)) == NULL) {
		X509_free(cert);
		job_fail(j, ERR_INTERNAL, "cannot encode the certificate");
		return;
	}
	p = st->der;
	st->der_len = (size_t)i2d_X509(cert, &p);
	X509_free(cert);
}

/* Phase 4, one durable write transaction: record the signed certificates. */
static int
batch_record_txn(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	struct batch *b = ctx;
	size_t i;
	int rc;

	(void)why;
	(void)whylen;
	for (i = 0; i < b->n; i++) {
		struct sign_job *j = &b->jobs[i];
		struct repo_cert rec = { 0 };

		if (b->st[i].der == NULL || j->err != 0)
			continue;
		rc = repo_cert_issue(t, j->cert.issuer, &j->cert.serial,
		    b->st[i].der, b->st[i].der_len, &rec, j->why, sizeof(j->why));
		if (rc == ERR_CONFLICT || rc == ERR_NOT_FOUND) {
			j->err = rc;
			continue;
		}
		if (rc != 0)
			return rc;
		repo_cert_clear(&j->cert);
		j->cert = rec;
	}
	return 0;
}

/* Copy a certificate record with its own DER. */
static int
cert_copy(const struct repo_cert *from, struct repo_cert *to)
{
	*to = *from;
	to->der = NULL;
	if (from->der == NULL)
		return 0;
	if ((to->der = malloc(from->der_len)) == NULL)
		return ERR_NOMEM;
	memcpy(to->der, from->der, from->der_len);
	return 0;
}

/* Jobs that repeat an earlier ref of the batch get its outcome. */
static void
batch_copy_followers(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		struct sign_job *j = &b->jobs[i], *lead;
		uint8_t hash[CERT_HASH_LEN];

		if (b->st[i].follows < 0)
			continue;
		lead = &b->jobs[b->st[i].follows];
		if (cert_request_hash(&j->req, hash) != 0 ||
		    CRYPTO_memcmp(hash, b->st[b->st[i].follows].hash,
		    CERT_HASH_LEN) != 0) {
			job_fail(j, ERR_CONFLICT, "ref was already used for a "
			    "different request");
			continue;
		}
		j->err = lead->err;
		memcpy(j->why, lead->why, sizeof(j->why));
		if (lead->err == 0 && (j->err = cert_copy(&lead->cert,
		    &j->cert)) != 0)
			snprintf(j->why, sizeof(j->why), "out of memory");
	}
}

static void
batch_fail_all(struct batch *b, int rc, const char *why)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (b->jobs[i].err != 0)
			continue;
		repo_cert_clear(&b->jobs[i].cert);
		job_fail(&b->jobs[i], rc, why);
	}
}

int
signer_sign(struct signer *s, struct sign_job *jobs, size_t n, int64_t now)
{
	struct job_state st[SIGNER_BATCH_MAX];
	struct batch b = { .s = s, .jobs = jobs, .st = st, .n = n, .now = now };
	char why[CERT_WHY_MAX] = "";
	size_t i;
	int rc;

	if (s == NULL || s->hsm == NULL || n > SIGNER_BATCH_MAX)
		return ERR_INVAL;
	memset(st, 0, sizeof(st));
	for (i = 0; i < n; i++) {
		jobs[i].err = 0;
		jobs[i].why[0] = '\0';
		memset(&jobs[i].cert, 0, sizeof(jobs[i].cert));
	}
	if ((rc = batch_plan(&b)) == 0 &&
	    (rc = repo_update(s->repo, batch_reserve_txn, &b, why,
	    sizeof(why))) == 0) {
		for (i = 0; i < n; i++)
			if (st[i].sign && jobs[i].err == 0)
				batch_sign_one(&b, i);
		rc = repo_update(s->repo, batch_record_txn, &b, why, sizeof(why));
	}
	if (rc != 0)
		batch_fail_all(&b, rc, why);
	for (i = 0; i < n; i++) {
		free(st[i].der);
		X509_free(st[i].tbs);
		if (jobs[i].err != 0)
			repo_cert_clear(&jobs[i].cert);
	}
	batch_copy_followers(&b);
	return rc;
}

static int
revoke_check(struct signer *s, struct revoke_job *j, int64_t now)
{
	if (j->issuer == NULL || engine_issuer_index(s, j->issuer) < 0) {
		snprintf(j->why, sizeof(j->why), "unknown issuer '%.64s'",
		    j->issuer != NULL ? j->issuer : "");
		return ERR_NOT_FOUND;
	}
	if (j->ref == NULL || j->ref_len == 0 || j->ref_len > REPO_REF_MAX) {
		snprintf(j->why, sizeof(j->why), "field 'ref' must be 1..128 bytes");
		return ERR_BAD_REQUEST;
	}
	if (j->time > now) {
		snprintf(j->why, sizeof(j->why), "revocation time is in the future");
		return ERR_BAD_REQUEST;
	}
	return 0;
}

struct revoke_batch {
	struct signer *s;
	struct revoke_job *jobs;
	size_t n;
	int64_t now;
};

static int
revoke_txn(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	struct revoke_batch *b = ctx;
	size_t i;
	int rc;

	(void)why;
	(void)whylen;
	for (i = 0; i < b->n; i++) {
		struct revoke_job *j = &b->jobs[i];
		struct repo_revocation req = { 0 };

		if ((j->err = revoke_check(b->s, j, b->now)) != 0)
			continue;
		snprintf(req.issuer, sizeof(req.issuer), "%s", j->issuer);
		req.serial = j->serial;
		req.revoked_at = j->time != 0 ? j->time : b->now;
		req.reason = j->reason;
		memcpy(req.ref, j->ref, j->ref_len);
		req.ref_len = j->ref_len;
		rc = repo_revoke(t, &req, &j->rev, j->why, sizeof(j->why));
		if (rc == ERR_CONFLICT || rc == ERR_BAD_REQUEST || rc == ERR_INVAL)
			j->err = rc;
		else if (rc != 0)
			return rc;
	}
	return 0;
}

int
signer_revoke(struct signer *s, struct revoke_job *jobs, size_t n, int64_t now)
{
	struct revoke_batch b = { .s = s, .jobs = jobs, .n = n, .now = now };
	char why[CERT_WHY_MAX] = "";
	size_t i;
	int rc;

	if (s == NULL || n > SIGNER_BATCH_MAX)
		return ERR_INVAL;
	for (i = 0; i < n; i++) {
		jobs[i].err = 0;
		jobs[i].why[0] = '\0';
	}
	rc = repo_update(s->repo, revoke_txn, &b, why, sizeof(why));
	for (i = 0; rc != 0 && i < n; i++) {
		jobs[i].err = rc;
		snprintf(jobs[i].why, sizeof(jobs[i].why), "%s", why);
	}
	return rc;
}
