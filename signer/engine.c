/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The signing engine: issuers, repository and HSM together; opening it, and revocation. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "config/config.h"
#include "hsm/hsm.h"
#include "proto/proto.h"
#include "signer/engine_local.h"
#include "signer/signer.h"

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

int
engine_issuer_index(const struct signer *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->n_issuers; i++)
		if (strcmp(s->issuers[i].conf->id, id) == 0)
			return (int)i;
	return -1;
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
