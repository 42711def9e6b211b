/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: the request queue's common part: opening a backend, checking claimed rows, writing outcomes back. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/db_local.h"

int
db_open(const struct conf_client *c, struct db **out, char *why,
    size_t whylen)
{
	struct db *db = NULL;
	const char *be = c->db_backend != NULL ? c->db_backend : "sqlite";
	int rc;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return ERR_NOMEM;
	db->lock_fd = -1;
	if (strcmp(be, "sqlite") == 0 && c->db_path != NULL) {
		db->backend = DB_SQLITE;
		rc = dbl_open(db, c->db_path, why, whylen);
	} else if (strcmp(be, "postgresql") == 0 && c->db_conninfo != NULL) {
		db->backend = DB_PG;
		rc = dbp_open(db, c->db_conninfo, why, whylen);
	} else {
		err_why(why, whylen, "database: backend '%s' without its %s", be,
		    strcmp(be, "postgresql") == 0 ? "conninfo" : "path");
		rc = ERR_CONFIG;
	}
	if (rc != 0) {
		db_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->backend == DB_PG)
		dbp_close(db);
	else
		dbl_close(db);
	free(db);
}

int
db_fd(const struct db *db)
{
	if (db->backend == DB_PG && db->pg != NULL)
		return PQsocket(db->pg);
	return -1;
}

int
db_wait(struct db *db, uint32_t timeout_ms, char *why, size_t whylen)
{
	if (db->backend == DB_PG)
		return dbp_wait(db, timeout_ms, why, whylen);
	return dbl_wait(db, timeout_ms, why, whylen);
}

void
db_batch_free(struct db_batch *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++) {
		free(b->v[i].csr);
		client_pairs_free(&b->v[i].subject);
		client_pairs_free(&b->v[i].san);
	}
	free(b->v);
	free(b->bad);
	memset(b, 0, sizeof(*b));
}

/* ---- checking a row ----------------------------------------------------- */

/*
 * Copy text column t into dst (cap bytes) as a C string: 1..max bytes
 * without NUL; absent is fine unless required (dst is then "").
 */
static int
text_get(const struct db_text *t, const char *col, size_t max, bool required,
    char *dst, size_t cap, char *why, size_t whylen)
{
	dst[0] = '\0';
	if (t->p == NULL) {
		if (!required)
			return 0;
		err_why(why, whylen, "%s: missing", col);
		return ERR_INVAL;
	}
	if (t->len == 0 || t->len > max || t->len >= cap) {
		err_why(why, whylen, "%s: %zu bytes, not 1..%zu", col, t->len,
		    max < cap - 1 ? max : cap - 1);
		return ERR_INVAL;
	}
	if (memchr(t->p, '\0', t->len) != NULL) {
		err_why(why, whylen, "%s: holds a NUL byte", col);
		return ERR_INVAL;
	}
	memcpy(dst, t->p, t->len);
	dst[t->len] = '\0';
	return 0;
}

/* The same into a malloc'd string (*out NULL when absent). */
static int
text_dup(const struct db_text *t, const char *col, size_t max, char **out,
    char *why, size_t whylen)
{
	*out = NULL;
	if (t->p == NULL)
		return 0;
	if (t->len == 0 || t->len > max) {
		err_why(why, whylen, "%s: %zu bytes, not 1..%zu", col, t->len, max);
		return ERR_INVAL;
	}
	if (memchr(t->p, '\0', t->len) != NULL) {
		err_why(why, whylen, "%s: holds a NUL byte", col);
		return ERR_INVAL;
	}
	if ((*out = malloc(t->len + 1)) == NULL)
		return ERR_NOMEM;
	memcpy(*out, t->p, t->len);
	(*out)[t->len] = '\0';
	return 0;
}

/* The san column: "type:value" lines, an optional final newline. */
static int
san_parse(char *s, struct client_pairs *p, char *why, size_t whylen)
{
	char msg[CLIENT_WHY_MAX], *line, *nl;
	size_t n = 0;
	int rc;

	for (line = s; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (++n > CLIENT_SAN_MAX) {
			err_why(why, whylen, "san: more than %d names",
			    CLIENT_SAN_MAX);
			return ERR_INVAL;
		}
		if ((rc = client_san_add(p, line, msg, sizeof(msg))) != 0) {
			err_why(why, whylen, "san: line %zu: %s", n, msg);
			return rc;
		}
		if (nl == NULL)
			break;
	}
	return 0;
}

static int
sign_check(struct db_req *q, const struct db_row *r, char *why, size_t whylen)
{
	char msg[CLIENT_WHY_MAX], *s = NULL;
	int rc;

	if ((rc = text_get(&r->profile, "profile", DB_PROFILE_MAX, true,
	    q->profile, sizeof(q->profile), why, whylen)) != 0)
		goto out;
	rc = ERR_INVAL;
	if (r->csr == NULL || r->csr_len == 0 || r->csr_len > DB_CSR_MAX) {
		err_why(why, whylen, "csr: %zu bytes, not 1..%d", r->csr_len,
		    DB_CSR_MAX);
		goto out;
	}
	if (r->has_days && (r->days < 1 || r->days > DB_DAYS_MAX)) {
		err_why(why, whylen, "days: %lld, not 1..%d",
		    (long long)r->days, DB_DAYS_MAX);
		goto out;
	}
	q->days = r->has_days ? (uint32_t)r->days : 0;
	if ((rc = text_dup(&r->subject, "subject", CLIENT_DN_MAX, &s, why,
	    whylen)) != 0)
		goto out;
	if (s != NULL && (rc = client_subject_parse(s, &q->subject, msg,
	    sizeof(msg))) != 0) {
		err_why(why, whylen, "subject: %s", msg);
		goto out;
	}
	free(s);
	if ((rc = text_dup(&r->san, "san", DB_SAN_TEXT_MAX, &s, why,
	    whylen)) != 0)
		goto out;
	if (s != NULL && (rc = san_parse(s, &q->san, why, whylen)) != 0)
		goto out;
	rc = ERR_NOMEM;
	if ((q->csr = malloc(r->csr_len)) == NULL)
		goto out;
	memcpy(q->csr, r->csr, r->csr_len);
	q->csr_len = r->csr_len;
	rc = 0;
 out:
	free(s);
	return rc;
}

static int
revoke_check(struct db_req *q, const struct db_row *r, char *why,
    size_t whylen)
{
	char serial[CLIENT_SERIAL_HEX_MAX + 3];
	int rc;

	if ((rc = text_get(&r->issuer, "issuer", CLIENT_ISSUER_ID_MAX, true,
	    q->issuer, sizeof(q->issuer), why, whylen)) != 0)
		return rc;
	if (!client_issuer_id_valid(q->issuer, strlen(q->issuer))) {
		err_why(why, whylen, "issuer: '%s' is not an issuer id",
		    q->issuer);
		return ERR_INVAL;
	}
	if ((rc = text_get(&r->serial, "serial", sizeof(serial) - 1, true,
	    serial, sizeof(serial), why, whylen)) != 0)
		return rc;
	if (client_serial_norm(serial, q->serial, sizeof(q->serial)) != 0) {
		err_why(why, whylen, "serial: '%s' is not a hex serial number "
		    "of at most 20 bytes", serial);
		return ERR_INVAL;
	}
	if ((rc = text_get(&r->reason, "reason", DB_REASON_MAX, false,
	    q->reason, sizeof(q->reason), why, whylen)) != 0)
		return rc;
	if (q->reason[0] == '\0')
		return 0;
	if (msg_reason_code(q->reason, strlen(q->reason)) >= 0)
		return 0;
	err_why(why, whylen, "reason: '%s' is not an RFC 5280 reason name",
	    q->reason);
	return ERR_INVAL;
}

static int
row_check(struct db_req *q, const struct db_row *r, char *why, size_t whylen)
{
	q->id = r->id;
	snprintf(q->ref, sizeof(q->ref), "%lld", (long long)r->id);
	q->attempts = r->attempts < 0 ? 0 : r->attempts > UINT32_MAX ?
	    UINT32_MAX : (uint32_t)r->attempts;
	if (r->bad != NULL) {
		err_why(why, whylen, "%s", r->bad);
		return ERR_INVAL;
	}
	if (r->kind.p != NULL && r->kind.len == 4 &&
	    memcmp(r->kind.p, "sign", 4) == 0) {
		q->kind = DB_KIND_SIGN;
		return sign_check(q, r, why, whylen);
	}
	if (r->kind.p != NULL && r->kind.len == 6 &&
	    memcmp(r->kind.p, "revoke", 6) == 0) {
		q->kind = DB_KIND_REVOKE;
		return revoke_check(q, r, why, whylen);
	}
	err_why(why, whylen, "kind: not 'sign' or 'revoke'");
	return ERR_INVAL;
}

int
db_row_take(struct db_batch *b, const struct db_row *r)
{
	struct db_req q;
	struct db_bad *d;
	char why[CLIENT_WHY_MAX];
	int rc;

	memset(&q, 0, sizeof(q));
	rc = row_check(&q, r, why, sizeof(why));
	if (rc == ERR_NOMEM)
		goto fail;
	if (rc != 0) {
		free(q.csr);
		client_pairs_free(&q.subject);
		client_pairs_free(&q.san);
		d = &b->bad[b->n_bad++];
		d->id = r->id;
		snprintf(d->why, sizeof(d->why), "%s", why);
		return 0;
	}
	b->v[b->n++] = q;
	return 0;
 fail:
	free(q.csr);
	client_pairs_free(&q.subject);
	client_pairs_free(&q.san);
	return ERR_NOMEM;
}

/* ---- claiming and finishing --------------------------------------------- */

int
db_claim(struct db *db, size_t max, int64_t now, struct db_batch *out,
    char *why, size_t whylen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (max == 0 || max > DB_BATCH_MAX || db->claimed) {
		err_why(why, whylen, "claim: %s", db->claimed ?
		    "a batch is still open" : "bad batch size");
		return ERR_INVAL;
	}
	if ((out->v = calloc(max, sizeof(*out->v))) == NULL ||
	    (out->bad = calloc(max, sizeof(*out->bad))) == NULL) {
		db_batch_free(out);
		return ERR_NOMEM;
	}
	if (db->backend == DB_PG)
		rc = dbp_claim(db, max, now, out, why, whylen);
	else
		rc = dbl_claim(db, max, now, out, why, whylen);
	if (rc != 0) {
		db_batch_free(out);
		return rc;
	}
	db->claimed = true;
	return 0;
}

bool
db_err_permanent(int rc)
{
	switch (rc) {
	case ERR_POLICY:
	case ERR_BAD_REQUEST:
	case ERR_CONFLICT:
	case ERR_NOT_FOUND:
	case ERR_UNKNOWN_CMD:
	case ERR_UNSUPPORTED_VERSION:
	case ERR_INVAL:
		return true;
	default:
		return false;
	}
}

const char *
db_err_code(int rc)
{
	if (rc == ERR_TIMEOUT)
		return "timeout";
	if (rc == ERR_LINK)
		return "link";
	if (rc == ERR_INVAL)
		return "invalid";
	return err_wire_code(rc);
}

/* Seconds until the next attempt after attempts earlier failures. */
static int64_t
db_backoff(uint32_t attempts)
{
	int64_t d = DB_BACKOFF_BASE_S;

	while (attempts-- > 0 && d < DB_BACKOFF_MAX_S)
		d *= 2;
	return d < DB_BACKOFF_MAX_S ? d : DB_BACKOFF_MAX_S;
}

static int
db_run(struct db *db, const char *sql, const struct db_param *p, size_t n,
    char *why, size_t whylen)
{
	if (db->backend == DB_PG)
		return dbp_exec(db, sql, p, n, why, whylen);
	return dbl_exec(db, sql, p, n, why, whylen);
}

static struct db_param
p_int(int64_t v)
{
	struct db_param p = { .type = DB_P_INT, .i = v };

	return p;
}

static struct db_param
p_text(const char *s)
{
	struct db_param p = { .type = s != NULL ? DB_P_TEXT : DB_P_NULL, .p = s };

	return p;
}

static struct db_param
p_blob(const void *b, size_t len)
{
	struct db_param p = { .type = b != NULL ? DB_P_BLOB : DB_P_NULL,
	    .p = b, .len = len };

	return p;
}

static const char db_sql_done[] = "UPDATE requests SET status = 'done', "
    "finished_at = $2, last_attempt_at = $2, error_code = NULL, "
    "error_message = NULL, cert = $3, result_issuer = $4, "
    "result_serial = $5, not_before = $6, not_after = $7, revoked_at = $8 "
    "WHERE id = $1 AND status = 'queued'";
static const char db_sql_failed[] = "UPDATE requests SET status = 'failed', "
    "finished_at = $2, last_attempt_at = $2, error_code = $3, "
    "error_message = $4 WHERE id = $1 AND status = 'queued'";
static const char db_sql_retry[] = "UPDATE requests SET "
    "attempts = attempts + 1, last_attempt_at = $2, error_code = $3, "
    "error_message = $4, next_attempt_at = $5 "
    "WHERE id = $1 AND status = 'queued'";

static int
finish_one(struct db *db, const struct db_req *q, const struct db_result *r,
    int64_t now, char *why, size_t whylen)
{
	struct db_param p[DB_PARAMS_MAX];
	bool sign = q->kind == DB_KIND_SIGN;
	const char *msg;

	p[0] = p_int(q->id);
	p[1] = p_int(now);
	if (r->rc == 0) {
		p[2] = sign ? p_blob(r->cert, r->cert_len) : p_blob(NULL, 0);
		p[3] = p_text(r->issuer);
		p[4] = p_text(r->serial);
		p[5] = sign ? p_int(r->not_before) : p_text(NULL);
		p[6] = sign ? p_int(r->not_after) : p_text(NULL);
		p[7] = sign ? p_text(NULL) : p_int(r->revoked_at);
		return db_run(db, db_sql_done, p, 8, why, whylen);
	}
	msg = r->why != NULL ? r->why : err_str(r->rc);
	p[2] = p_text(db_err_code(r->rc));
	p[3] = p_text(msg);
	if (db_err_permanent(r->rc))
		return db_run(db, db_sql_failed, p, 4, why, whylen);
	p[4] = p_int(now + db_backoff(q->attempts));
	return db_run(db, db_sql_retry, p, 5, why, whylen);
}

/* Results the database is about to hold, checked first. */
static int
results_check(const struct db_batch *b, const struct db_result *res,
    char *why, size_t whylen)
{
	const struct db_result *r;
	size_t i;

	for (i = 0; i < b->n; i++) {
		r = &res[i];
		if (r->rc != 0 && r->why != NULL &&
		    strlen(r->why) >= CLIENT_WHY_MAX) {
			err_why(why, whylen, "row %lld: message too long",
			    (long long)b->v[i].id);
			return ERR_INVAL;
		}
		if (r->rc != 0 || b->v[i].kind != DB_KIND_SIGN)
			continue;
		if (r->cert == NULL || r->cert_len == 0 ||
		    r->cert_len > DB_CERT_MAX) {
			err_why(why, whylen, "row %lld: certificate of %zu "
			    "bytes, not 1..%d", (long long)b->v[i].id,
			    r->cert_len, DB_CERT_MAX);
			return ERR_INVAL;
		}
	}
	return 0;
}

static int
finish_all(struct db *db, const struct db_batch *b,
    const struct db_result *res, int64_t now, char *why, size_t whylen)
{
	struct db_param p[DB_PARAMS_MAX];
	size_t i;
	int rc;

	if (db->backend == DB_SQLITE &&
	    (rc = dbl_exec(db, "BEGIN IMMEDIATE", NULL, 0, why, whylen)) != 0)
		return rc;
	for (i = 0; i < b->n; i++)
		if ((rc = finish_one(db, &b->v[i], &res[i], now, why,
		    whylen)) != 0)
			return rc;
	for (i = 0; i < b->n_bad; i++) {
		p[0] = p_int(b->bad[i].id);
		p[1] = p_int(now);
		p[2] = p_text("invalid");
		p[3] = p_text(b->bad[i].why);
		if ((rc = db_run(db, db_sql_failed, p, 4, why, whylen)) != 0)
			return rc;
	}
	return db_run(db, "COMMIT", NULL, 0, why, whylen);
}

int
db_finish(struct db *db, const struct db_batch *b,
    const struct db_result *res, int64_t now, char *why, size_t whylen)
{
	char ignore[CLIENT_WHY_MAX];
	int rc;

	if (!db->claimed) {
		err_why(why, whylen, "finish: no batch claimed");
		return ERR_INVAL;
	}
	db->claimed = false;
	if ((b->n > 0 && res == NULL) ||
	    (rc = results_check(b, res, why, whylen)) != 0) {
		if (db->backend == DB_PG)
			(void)dbp_exec(db, "ROLLBACK", NULL, 0, ignore,
			    sizeof(ignore));
		return ERR_INVAL;
	}
	if ((rc = finish_all(db, b, res, now, why, whylen)) != 0)
		(void)db_run(db, "ROLLBACK", NULL, 0, ignore, sizeof(ignore));
	return rc;
}

int
db_stats(struct db *db, int64_t now, struct db_stats *st, char *why,
    size_t whylen)
{
	static const char sql[] = "SELECT "
	    "(SELECT count(*) FROM requests WHERE status = 'queued'), "
	    "(SELECT min(created_at) FROM requests WHERE status = 'queued'), "
	    "(SELECT count(*) FROM requests WHERE status = 'done' AND "
	    "kind = 'sign'), "
	    "(SELECT count(*) FROM requests WHERE status = 'done' AND "
	    "kind = 'revoke'), "
	    "(SELECT count(*) FROM requests WHERE status = 'failed')";
	int64_t v[5];
	int rc;

	memset(st, 0, sizeof(*st));
	if (db->backend == DB_PG)
		rc = dbp_ints(db, sql, v, 5, why, whylen);
	else
		rc = dbl_ints(db, sql, v, 5, why, whylen);
	if (rc != 0)
		return rc;
	st->queued = v[0] > 0 ? (uint64_t)v[0] : 0;
	st->oldest_age = v[1] >= 0 && v[1] < now ? now - v[1] : 0;
	st->issued = v[2] > 0 ? (uint64_t)v[2] : 0;
	st->revoked = v[3] > 0 ? (uint64_t)v[3] : 0;
	st->failed = v[4] > 0 ? (uint64_t)v[4] : 0;
	return 0;
}
