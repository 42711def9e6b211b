/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Issuing a batch: check, reserve, sign, record; a helper thread shares the checks and readies certificates while the token signs. */

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config/config.h"
#include "hsm/hsm.h"
#include "proto/proto.h"
#include "signer/engine_local.h"
#include "signer/signer.h"

/*
 * Batches of fewer requests are done in the calling thread alone (a build
 * may set it higher to measure the batch without the helper).
 */
#ifndef ENGINE_THREAD_MIN
#define ENGINE_THREAD_MIN 4
#endif

/* The work the helper thread shares: phase 2, then phase 4's checks. */
enum batch_phase {
	PHASE_CHECK = 1,        /* check new requests and build their certificates */
	PHASE_RESERVE,          /* nothing to share: the calling thread reserves */
	PHASE_FINAL,            /* give reserved certificates their serial, check again */
	PHASE_END,              /* the helper leaves */
};

/* Per-job state of a batch between its phases. */
struct job_state {
	const struct conf_profile *profile;
	uint8_t hash[CERT_HASH_LEN];
	bool check;             /* a new request, for phase 2 */
	bool todo;              /* needs reserving */
	bool sign;              /* needs signing */
	int follows;            /* index of an earlier job with the same ref, or -1 */
	struct repo_cert want;  /* the reservation asked for */
	X509 *tbs;              /* checked with a provisional serial, then with its own */
	const struct cert_issuer *chosen; /* the issuer of tbs */
	bool final;             /* tbs is ready to sign */
	uint8_t *der;           /* signed certificate */
	size_t der_len;
	bool claimed;           /* a thread took the job in the current phase */
	bool done;              /* and finished it */
};

/*
 * A batch. In phases 2 and 4 the calling thread and the helper take jobs
 * (claimed, under mu) and each works on the jobs it took only; a job is
 * used again once it is done, which is also published under mu. Only the
 * calling thread uses the repository and the HSM.
 */
struct batch {
	struct signer *s;
	struct sign_job *jobs;
	struct job_state *st;
	size_t n;
	int64_t now;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum batch_phase phase;
	size_t busy;            /* jobs claimed and not done */
};

static void
job_fail(struct sign_job *j, int err, const char *why)
{
	j->err = err;
	if (why != NULL && why != j->why)
		snprintf(j->why, sizeof(j->why), "%s", why);
}

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
batch_want(struct job_state *st, const struct sign_job *j,
    const struct cert_issuer *chosen, const X509 *tbs, int64_t now)
{
	struct repo_cert *w = &st->want;

	memset(w, 0, sizeof(*w));
	snprintf(w->issuer, sizeof(w->issuer), "%s", chosen->conf->id);
	snprintf(w->profile, sizeof(w->profile), "%s", st->profile->name);
	memcpy(w->ref, j->ref, j->ref_len);
	w->ref_len = j->ref_len;
	memcpy(w->req_hash, st->hash, CERT_HASH_LEN);
	(void)cert_time_get(X509_get0_notBefore(tbs), &w->not_before);
	(void)cert_time_get(X509_get0_notAfter(tbs), &w->not_after);
	w->created = now;
	subject_summary(tbs, w->subject, sizeof(w->subject));
}

/* Phase 1 for one job: its fields, profile and hash; is its ref known? */
static void
batch_lookup_one(struct batch *b, size_t i, struct repo_txn *t)
{
	struct sign_job *j = &b->jobs[i];
	struct job_state *st = &b->st[i];
	char name[REPO_ID_MAX + 1];
	struct repo_cert rec = { 0 };
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
	st->check = true;
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

/* Phase 1, one read transaction: find the new requests and the known refs. */
static int
batch_lookup(struct batch *b)
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
			batch_lookup_one(b, i, t);
	}
	repo_abort(t);
	return 0;
}

/*
 * Phase 2 for one new request: check everything and build the certificate
 * before anything is recorded, so that a refused request leaves no trace.
 */
static void
batch_check_one(struct batch *b, size_t i)
{
	struct sign_job *j = &b->jobs[i];
	struct job_state *st = &b->st[i];
	const struct cert_issuer *chosen;
	struct serial provisional;
	X509 *tbs = NULL;
	int rc;

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
	batch_want(st, j, chosen, tbs, b->now);
	/* Kept for phase 4: only its serial changes, and it is checked again. */
	st->tbs = tbs;
	st->chosen = chosen;
	st->todo = st->sign = true;
}

/* Phase 3, one durable write transaction: reserve serials for new requests. */
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

/* Some job needs a reservation. */
static bool
batch_reserving(const struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->st[i].todo && b->jobs[i].err == 0)
			return true;
	return false;
}

/* The reservation is the one phase 2 planned for tbs. */
static bool
batch_as_planned(const struct job_state *st, const struct repo_cert *c)
{
	return st->tbs != NULL && c->status == CERT_PENDING &&
	    strcmp(c->issuer, st->want.issuer) == 0 &&
	    c->not_before == st->want.not_before &&
	    c->not_after == st->want.not_after;
}

/*
 * The unsigned certificate of job i's reservation: phase 2's with the
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

/* Phase 4, first part: the certificate of job i, ready to sign. */
static void
batch_final_one(struct batch *b, size_t i)
{
	struct job_state *st = &b->st[i];
	const struct cert_issuer *chosen;
	X509 *tbs = NULL;
	int rc;

	if ((rc = batch_tbs(b, i, &tbs, &chosen)) != 0) {
		X509_free(tbs);
		job_fail(&b->jobs[i], rc, NULL);
		return;
	}
	X509_free(st->tbs);     /* a plan the reservation did not follow */
	st->tbs = tbs;
	st->chosen = chosen;
	st->final = true;
}

/* Phase 4, second part: sign it; in the calling thread. */
static void
batch_sign_one(struct batch *b, size_t i)
{
	struct sign_job *j = &b->jobs[i];
	struct job_state *st = &b->st[i];
	int rc, idx;

	idx = engine_issuer_index(b->s, st->chosen->conf->id);
	rc = hsm_sign_x509_der(b->s->keys[idx], st->tbs,
	    EVP_get_digestbyname(st->profile->digest), &st->der, &st->der_len,
	    j->why, sizeof(j->why));
	X509_free(st->tbs);
	st->tbs = NULL;
	if (rc == 0 && st->der_len > REPO_DER_MAX) {
		free(st->der);
		st->der = NULL;
		rc = ERR_INTERNAL;
		snprintf(j->why, sizeof(j->why), "certificate of %zu bytes is "
		    "larger than %d", st->der_len, REPO_DER_MAX);
	}
	if (rc != 0)
		job_fail(j, rc, NULL);
}

/* ---- sharing phases 2 and 4 with the helper thread ---------------------- */

/* Job i has work in phase; asked of jobs nobody has claimed. */
static bool
batch_needs(const struct batch *b, enum batch_phase phase, size_t i)
{
	const struct job_state *st = &b->st[i];

	if (b->jobs[i].err != 0)
		return false;
	return phase == PHASE_CHECK ? st->check :
	    phase == PHASE_FINAL && st->sign && !st->final;
}

/* The first job with work in phase nobody has claimed, now claimed; or -1. */
static int
batch_claim(struct batch *b, enum batch_phase phase)
{
	int found = -1;
	size_t i;

	pthread_mutex_lock(&b->mu);
	for (i = 0; b->phase == phase && found < 0 && i < b->n; i++)
		if (!b->st[i].claimed && batch_needs(b, phase, i)) {
			b->st[i].claimed = true;
			b->busy++;
			found = (int)i;
		}
	pthread_mutex_unlock(&b->mu);
	return found;
}

/* Do claimed job i of phase, then say so. */
static void
batch_do(struct batch *b, enum batch_phase phase, size_t i)
{
	if (phase == PHASE_CHECK)
		batch_check_one(b, i);
	else
		batch_final_one(b, i);
	pthread_mutex_lock(&b->mu);
	b->st[i].done = true;
	b->busy--;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Take jobs of phase until there are none left. */
static void
batch_work(struct batch *b, enum batch_phase phase)
{
	int i;

	while ((i = batch_claim(b, phase)) >= 0)
		batch_do(b, phase, (size_t)i);
}

/* The helper thread: the work of each phase the calling thread opens. */
static void *
batch_helper(void *arg)
{
	struct batch *b = arg;
	enum batch_phase seen = 0, phase;

	for (;;) {
		pthread_mutex_lock(&b->mu);
		while (b->phase == seen)
			pthread_cond_wait(&b->cv, &b->mu);
		phase = seen = b->phase;
		pthread_mutex_unlock(&b->mu);
		if (phase == PHASE_END)
			break;
		batch_work(b, phase);
	}
	/* OpenSSL's error queue is per thread: leave nothing behind. */
	ERR_clear_error();
	return NULL;
}

/* Once every claimed job is done, open phase (no job claimed in it yet). */
static void
batch_phase(struct batch *b, enum batch_phase phase)
{
	size_t i;

	pthread_mutex_lock(&b->mu);
	while (b->busy > 0)
		pthread_cond_wait(&b->cv, &b->mu);
	for (i = 0; i < b->n; i++)
		b->st[i].claimed = b->st[i].done = false;
	b->phase = phase;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Phase 4 in the calling thread: job i ready (by either thread), then signed. */
static void
batch_take(struct batch *b, size_t i)
{
	bool mine = false;

	pthread_mutex_lock(&b->mu);
	if (b->st[i].claimed) {
		while (!b->st[i].done)
			pthread_cond_wait(&b->cv, &b->mu);
	} else if (batch_needs(b, PHASE_FINAL, i)) {
		b->st[i].claimed = mine = true;
		b->busy++;
	}
	pthread_mutex_unlock(&b->mu);
	if (mine)
		batch_do(b, PHASE_FINAL, i);
	if (b->st[i].final && b->jobs[i].err == 0)
		batch_sign_one(b, i);
}

/*
 * While the token signed, replication may have given the job's ref to the
 * certificate another node issued for it (the relay failed over): ours is
 * then recorded superseded, and the answer is the certificate that kept it.
 */
static int
batch_kept(struct repo_txn *t, struct sign_job *j, struct repo_cert *rec)
{
	struct repo_cert kept = { 0 };
	int rc;

	rc = repo_ref_find(t, j->ref, j->ref_len, &kept, j->why,
	    sizeof(j->why));
	if (rc == ERR_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (kept.der != NULL && (strcmp(kept.issuer, rec->issuer) != 0 ||
	    serial_cmp(&kept.serial, &rec->serial) != 0)) {
		repo_cert_clear(rec);
		*rec = kept;
		return 0;       /* transferred */
	}
	repo_cert_clear(&kept);
	return 0;
}

/* Phase 5, one durable write transaction: record the signed certificates. */
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
		if (rc != 0 || (rc = batch_kept(t, j, &rec)) != 0) {
			repo_cert_clear(&rec);
			return rc;
		}
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

/* Jobs [from, n) without an outcome of their own fail with rc. */
static void
batch_fail_from(struct batch *b, size_t from, int rc, const char *why)
{
	size_t i;

	for (i = from; i < b->n; i++) {
		if (b->jobs[i].err != 0)
			continue;
		repo_cert_clear(&b->jobs[i].cert);
		job_fail(&b->jobs[i], rc, why);
	}
}

/*
 * Phases 2 to 5. While the token signs one certificate, the helper thread
 * readies the next ones; the checks of phase 2 are shared between both
 * threads. Small batches, or a helper that cannot start, leave it all to
 * the calling thread.
 */
static int
batch_run(struct batch *b, char *why, size_t whylen)
{
	pthread_t helper;
	bool threaded;
	size_t i;
	int rc = 0;

	b->phase = PHASE_CHECK;
	threaded = b->n >= ENGINE_THREAD_MIN &&
	    pthread_create(&helper, NULL, batch_helper, b) == 0;
	batch_work(b, PHASE_CHECK);
	batch_phase(b, PHASE_RESERVE);
	if (batch_reserving(b))
		rc = repo_update(b->s->repo, batch_reserve_txn, b, why, whylen);
	/* The helper may start readying certificates once they are reserved. */
	if (rc == 0) {
		batch_phase(b, PHASE_FINAL);
		for (i = 0; i < b->n; i++)
			batch_take(b, i);
	}
	batch_phase(b, PHASE_END);
	if (threaded)
		pthread_join(helper, NULL);
	if (rc == 0)
		rc = repo_update(b->s->repo, batch_record_txn, b, why, whylen);
	if (rc != 0)
		batch_fail_from(b, 0, rc, why);
	return rc;
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
	if (pthread_mutex_init(&b.mu, NULL) != 0) {
		batch_fail_from(&b, 0, ERR_NOMEM, "out of memory");
		return ERR_NOMEM;
	}
	if (pthread_cond_init(&b.cv, NULL) != 0) {
		pthread_mutex_destroy(&b.mu);
		batch_fail_from(&b, 0, ERR_NOMEM, "out of memory");
		return ERR_NOMEM;
	}
	if ((rc = batch_lookup(&b)) == 0)
		rc = batch_run(&b, why, sizeof(why));
	else
		batch_fail_from(&b, 0, rc, why);
	for (i = 0; i < n; i++) {
		free(st[i].der);
		X509_free(st[i].tbs);
		if (jobs[i].err != 0)
			repo_cert_clear(&jobs[i].cert);
	}
	batch_copy_followers(&b);
	pthread_cond_destroy(&b.cv);
	pthread_mutex_destroy(&b.mu);
	return rc;
}
