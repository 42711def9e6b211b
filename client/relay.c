/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: one batch of the relay: claimed rows sent pipelined to the signer, answers checked, outcomes written back in one transaction. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/relay_local.h"

/* What the answer to one row left behind, until db_finish. */
struct relay_row {
	struct client_sign_req sign;
	struct client_revoke_req revoke;
	bool reported;
	uint8_t *cert;
	char issuer[CLIENT_ISSUER_ID_MAX + 1];
	char serial[CLIENT_SERIAL_HEX_MAX + 1];
	char why[CLIENT_WHY_MAX];
};

/* The state of one batch. */
struct relay_batch {
	struct relay *rl;
	struct db_batch b;
	struct db_result *res;
	struct relay_row *rows;
	size_t asked;                   /* requests handed to the link */
};

int64_t
relay_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The issuer's CA certificate, loaded once per relay. */
static X509 *
relay_ca(struct relay *rl, const char *issuer, char *why, size_t whylen)
{
	size_t i;

	for (i = 0; i < rl->n_cas; i++)
		if (strcmp(rl->cas[i].id, issuer) == 0)
			return rl->cas[i].ca;
	if (rl->n_cas == RELAY_CAS_MAX) {
		err_why(why, whylen, "more than %d issuers", RELAY_CAS_MAX);
		return NULL;
	}
	if (client_ca_load(rl->ctx->conf->ca_dir, issuer, &rl->cas[i].ca, why,
	    whylen) != 0)
		return NULL;
	snprintf(rl->cas[i].id, sizeof(rl->cas[i].id), "%s", issuer);
	rl->n_cas++;
	return rl->cas[i].ca;
}

void
relay_cas_free(struct relay *rl)
{
	size_t i;

	for (i = 0; i < rl->n_cas; i++)
		X509_free(rl->cas[i].ca);
	rl->n_cas = 0;
}

/* A required string of the result into out. */
static int
result_str(const struct msg *m, const char *key, char *out, size_t cap,
    char *why, size_t whylen)
{
	const char *s;
	size_t len;

	if (msg_get_str(m->result, key, true, cap - 1, &s, &len, why,
	    whylen) != 1)
		return ERR_BAD_REQUEST;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* The CSR's public key (the caller's), or NULL. */
static EVP_PKEY *
csr_key(const struct db_req *q)
{
	const unsigned char *p = q->csr;
	X509_REQ *req;
	EVP_PKEY *k = NULL;

	if ((req = d2i_X509_REQ(NULL, &p, (long)q->csr_len)) != NULL)
		k = X509_REQ_get_pubkey(req);
	X509_REQ_free(req);
	return k;
}

/*
 * A signed certificate is kept only when it verifies against its issuer's
 * CA certificate, carries the serial announced and the CSR's key; anything
 * else is an error the row is retried for (never a stored certificate).
 */
static int
sign_take(struct relay *rl, const struct db_req *q, const struct msg *m,
    struct relay_row *row, struct db_result *r)
{
	char why[CLIENT_WHY_MAX];
	const uint8_t *der;
	EVP_PKEY *key = NULL;
	X509 *ca, *x = NULL;
	size_t len;
	int rc = ERR_INTERNAL;

	if (result_str(m, "issuer", row->issuer, sizeof(row->issuer), why,
	    sizeof(why)) != 0 || result_str(m, "serial", row->serial,
	    sizeof(row->serial), why, sizeof(why)) != 0 ||
	    msg_get_bin(m->result, "cert", true, DB_CERT_MAX, &der, &len, why,
	    sizeof(why)) != 1 || msg_get_int(m->result, "not_before", true,
	    &r->not_before, why, sizeof(why)) != 1 || msg_get_int(m->result,
	    "not_after", true, &r->not_after, why, sizeof(why)) != 1) {
		err_why(row->why, sizeof(row->why), "bad answer: %s", why);
		return rc;
	}
	if (!client_issuer_id_valid(row->issuer, strlen(row->issuer)))
		err_why(why, sizeof(why), "'%s' is not an issuer id", row->issuer);
	else if ((ca = relay_ca(rl, row->issuer, why, sizeof(why))) != NULL &&
	    client_cert_check(ca, der, len, &x, why, sizeof(why)) == 0 &&
	    client_cert_matches(x, row->serial, key = csr_key(q), why,
	    sizeof(why)) == 0) {
		if ((row->cert = malloc(len)) == NULL)
			err_why(why, sizeof(why), "out of memory");
		else
			rc = 0;
	}
	if (rc == 0) {
		memcpy(row->cert, der, len);
		r->cert = row->cert;
		r->cert_len = len;
		r->issuer = row->issuer;
		r->serial = row->serial;
	} else
		err_why(row->why, sizeof(row->why), "certificate %s of %s "
		    "refused: %s", row->serial, row->issuer, why);
	EVP_PKEY_free(key);
	X509_free(x);
	return rc;
}

static int
revoke_take(const struct msg *m, struct relay_row *row, struct db_result *r)
{
	char why[CLIENT_WHY_MAX];

	if (result_str(m, "issuer", row->issuer, sizeof(row->issuer), why,
	    sizeof(why)) != 0 || result_str(m, "serial", row->serial,
	    sizeof(row->serial), why, sizeof(why)) != 0 ||
	    msg_get_int(m->result, "revoked_at", true, &r->revoked_at, why,
	    sizeof(why)) != 1) {
		err_why(row->why, sizeof(row->why), "bad answer: %s", why);
		return ERR_INTERNAL;
	}
	r->issuer = row->issuer;
	r->serial = row->serial;
	return 0;
}

static void
batch_req(void *arg, size_t i, struct link_req *r)
{
	struct relay_batch *rb = arg;
	const struct db_req *q = &rb->b.v[i];
	struct relay_row *row = &rb->rows[i];

	rb->asked++;
	if (q->kind == DB_KIND_SIGN) {
		row->sign = (struct client_sign_req){ q->profile, q->csr,
		    q->csr_len, q->ref, &q->subject, &q->san, q->days };
		*r = (struct link_req){ "sign", client_sign_nargs(&row->sign),
		    client_sign_pack, &row->sign };
	} else {
		row->revoke = (struct client_revoke_req){ q->issuer, q->serial,
		    q->ref, q->reason };
		*r = (struct link_req){ "revoke",
		    client_revoke_nargs(&row->revoke), client_revoke_pack,
		    &row->revoke };
	}
}

static int
batch_done(void *arg, size_t i, int rc, struct msg *resp, const char *why)
{
	struct relay_batch *rb = arg;
	const struct db_req *q = &rb->b.v[i];
	struct relay_row *row = &rb->rows[i];
	struct db_result *r = &rb->res[i];

	row->reported = true;
	row->why[0] = '\0';
	if (rc == 0 && resp != NULL)
		rc = q->kind == DB_KIND_SIGN ? sign_take(rb->rl, q, resp, row,
		    r) : revoke_take(resp, row, r);
	else if (rc != 0)
		err_why(row->why, sizeof(row->why), "%s", why != NULL ? why :
		    err_str(rc));
	r->rc = rc;
	r->why = rc != 0 ? row->why : NULL;
	if (rc == ERR_TIMEOUT || rc == ERR_LINK || rc == ERR_FRAME_CRC)
		rb->rl->link_errors++;
	relay_progress(rb->rl, 1);
	/* A second signal ends the batch at once; the rest is retried. */
	return relay_signals >= RELAY_SIGNALS_ABORT ? 1 : 0;
}

/* Send the batch; rows the link never reported get the line's error. */
static void
batch_send(struct relay_batch *rb)
{
	struct client_ctx *ctx = rb->rl->ctx;
	struct link_batch lb = { rb->b.n, 0, batch_req, batch_done, rb };
	char why[CLIENT_WHY_MAX] = "";
	size_t i, sent = 0;
	int rc;

	if ((rc = relay_link_up(rb->rl, why, sizeof(why))) == 0) {
		sent = link_sent(ctx->link);
		rc = link_pipeline(ctx->link, &lb, why, sizeof(why));
		/* Resends are frames damaged or lost on the line. */
		if (ctx->link != NULL && link_sent(ctx->link) - sent > rb->asked)
			rb->rl->link_errors += link_sent(ctx->link) - sent -
			    rb->asked;
	} else
		rb->rl->link_errors++;
	/* Opened afresh next time, from the first signer. */
	if (rc != 0 && rc != 1)
		relay_link_drop(rb->rl);
	for (i = 0; i < rb->b.n; i++) {
		if (rb->rows[i].reported)
			continue;
		err_why(rb->rows[i].why, sizeof(rb->rows[i].why), "not sent: %s",
		    rc == 1 ? "stopped by a signal" : why[0] != '\0' ? why :
		    err_str(rc));
		rb->res[i].rc = rc == 0 || rc == 1 || db_err_permanent(rc) ?
		    ERR_LINK : rc;
		rb->res[i].why = rb->rows[i].why;
		relay_progress(rb->rl, 1);
	}
}

/* Write the outcomes back and log the batch's summary. */
static int
batch_finish(struct relay_batch *rb, int64_t start_ms)
{
	char why[CLIENT_WHY_MAX];
	size_t i, done = 0, failed = rb->b.n_bad, retried = 0;
	int rc;

	for (i = 0; i < rb->b.n; i++) {
		if (rb->res[i].rc == 0)
			done++;
		else if (db_err_permanent(rb->res[i].rc))
			failed++;
		else
			retried++;
		if (rb->res[i].rc != 0)
			log_debug("request %s: %s", rb->b.v[i].ref,
			    rb->res[i].why);
	}
	if ((rc = db_finish(rb->rl->db, &rb->b, rb->res, (int64_t)time(NULL),
	    why, sizeof(why))) != 0) {
		log_warnx("database: writing back %zu request(s): %s",
		    rb->b.n + rb->b.n_bad, why);
		return rc;
	}
	relay_progress_clear(rb->rl);
	log_info("batch: %zu done, %zu failed, %zu retried in %.2f s", done,
	    failed, retried, (double)(relay_now_ms() - start_ms) / 1000.0);
	rb->rl->bl_done += rb->b.n_bad;
	return 0;
}

static void
batch_free(struct relay_batch *rb)
{
	size_t i;

	for (i = 0; rb->rows != NULL && i < rb->b.n; i++)
		free(rb->rows[i].cert);
	free(rb->rows);
	free(rb->res);
	db_batch_free(&rb->b);
}

int
relay_batch(struct relay *rl)
{
	struct relay_batch rb = { .rl = rl };
	char why[CLIENT_WHY_MAX];
	int64_t start = relay_now_ms();
	size_t i, n = 0;
	int rc;

	if ((rc = db_claim(rl->db, DB_BATCH_MAX, (int64_t)time(NULL), &rb.b,
	    why, sizeof(why))) != 0) {
		log_warnx("database: claiming requests: %s", why);
		return rc;
	}
	if ((n = rb.b.n + rb.b.n_bad) == 0) {
		rc = db_finish(rl->db, &rb.b, NULL, (int64_t)time(NULL), why,
		    sizeof(why));
		db_batch_free(&rb.b);
		return rc;
	}
	relay_backlog(rl);
	rb.res = calloc(rb.b.n + 1, sizeof(*rb.res));
	rb.rows = calloc(rb.b.n + 1, sizeof(*rb.rows));
	if (rb.res == NULL || rb.rows == NULL) {
		(void)db_finish(rl->db, &rb.b, NULL, 0, why, sizeof(why));
		log_warnx("out of memory for a batch of %zu", n);
		batch_free(&rb);
		return ERR_NOMEM;
	}
	for (i = 0; i < rb.b.n; i++)
		rb.res[i].rc = ERR_LINK;
	if (rb.b.n > 0)
		batch_send(&rb);
	rc = batch_finish(&rb, start);
	batch_free(&rb);
	return rc != 0 ? rc : (int)n;
}
