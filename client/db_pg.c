/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: the request queue on PostgreSQL (libpq): batches locked with FOR UPDATE SKIP LOCKED, woken by NOTIFY. */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/db_local.h"

#define DBP_INT_LEN 24          /* a decimal int64 and its NUL */
#define DBP_BINARY 1            /* PQexecParams result and parameter format */
#define DBP_TEXT 0

static int
dbp_fail(struct db *db, const char *what, PGresult *res, char *why,
    size_t whylen)
{
	const char *m = res != NULL ? PQresultErrorMessage(res) : "";

	if (*m == '\0')
		m = PQerrorMessage(db->pg);
	err_why(why, whylen, "postgresql: %s: %.*s", what,
	    (int)strcspn(m, "\n"), m);
	PQclear(res);
	return ERR_REPO;
}

/*
 * After a failure: a lost connection (a server restart, a terminated
 * backend) is reset, and LISTENs again, for the next call; the failed one
 * stays failed (ERR_REPO: transient, the relay retries).
 */
static void
dbp_lost(struct db *db)
{
	if (PQstatus(db->pg) != CONNECTION_BAD)
		return;
	PQreset(db->pg);
	if (PQstatus(db->pg) == CONNECTION_OK)
		PQclear(PQexec(db->pg, "LISTEN " DB_CHANNEL));
}

/* Run sql with n parameters; results in binary. *out (may be NULL) is the caller's. */
static int
dbp_run(struct db *db, const char *sql, const struct db_param *p, size_t n,
    PGresult **out, char *why, size_t whylen)
{
	char num[DB_PARAMS_MAX][DBP_INT_LEN];
	const char *val[DB_PARAMS_MAX];
	int len[DB_PARAMS_MAX], fmt[DB_PARAMS_MAX];
	ExecStatusType s;
	PGresult *res;
	size_t i;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (n > DB_PARAMS_MAX)
		return ERR_INVAL;
	for (i = 0; i < n; i++) {
		val[i] = p[i].p;
		len[i] = 0;
		fmt[i] = DBP_TEXT;
		if (p[i].type == DB_P_INT) {
			snprintf(num[i], sizeof(num[i]), "%lld",
			    (long long)p[i].i);
			val[i] = num[i];
		} else if (p[i].type == DB_P_BLOB) {
			if (p[i].len > INT32_MAX)
				return ERR_INVAL;
			len[i] = (int)p[i].len;
			fmt[i] = DBP_BINARY;
		} else if (p[i].type == DB_P_NULL)
			val[i] = NULL;
	}
	res = PQexecParams(db->pg, sql, (int)n, NULL, val, len, fmt, DBP_BINARY);
	s = PQresultStatus(res);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		rc = dbp_fail(db, sql, res, why, whylen);
		dbp_lost(db);
		return rc;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return 0;
}

int
dbp_exec(struct db *db, const char *sql, const struct db_param *p, size_t n,
    char *why, size_t whylen)
{
	return dbp_run(db, sql, p, n, NULL, why, whylen);
}

/* A binary int8 (or int4) value; false when it is neither. */
static bool
dbp_int(PGresult *res, int row, int col, int64_t *v)
{
	const unsigned char *b;
	uint64_t u = 0;
	int i, len;

	len = PQgetlength(res, row, col);
	if (len != 8 && len != 4)
		return false;
	b = (const unsigned char *)PQgetvalue(res, row, col);
	for (i = 0; i < len; i++)
		u = u << 8 | b[i];
	if (len == 4)
		*v = (int32_t)(uint32_t)u;
	else
		*v = (int64_t)u;
	return true;
}

int
dbp_ints(struct db *db, const char *sql, int64_t *v, size_t n, char *why,
    size_t whylen)
{
	PGresult *res;
	size_t i;
	int rc;

	if ((rc = dbp_run(db, sql, NULL, 0, &res, why, whylen)) != 0)
		return rc;
	if (PQntuples(res) != 1 || (size_t)PQnfields(res) < n) {
		PQclear(res);
		err_why(why, whylen, "postgresql: %s: not one row", sql);
		return ERR_REPO;
	}
	for (i = 0; i < n; i++)
		if (PQgetisnull(res, 0, (int)i) ||
		    !dbp_int(res, 0, (int)i, &v[i]))
			v[i] = -1;
	PQclear(res);
	return 0;
}

int
dbp_open(struct db *db, const char *conninfo, char *why, size_t whylen)
{
	int rc;

	db->pg = PQconnectdb(conninfo);
	if (db->pg == NULL) {
		err_why(why, whylen, "postgresql: out of memory");
		return ERR_NOMEM;
	}
	if (PQstatus(db->pg) != CONNECTION_OK)
		return dbp_fail(db, "connect", NULL, why, whylen);
	if ((rc = dbp_exec(db, "SELECT " DB_COLUMNS " FROM requests LIMIT 0",
	    NULL, 0, why, whylen)) != 0) {
		err_why(why, whylen, "postgresql: no requests table (load "
		    "client/schema/postgresql.sql)");
		return rc;
	}
	return dbp_exec(db, "LISTEN " DB_CHANNEL, NULL, 0, why, whylen);
}

void
dbp_close(struct db *db)
{
	PQfinish(db->pg);
	db->pg = NULL;
}

static void
dbp_text(PGresult *res, int row, int col, struct db_text *t)
{
	t->p = NULL;
	t->len = 0;
	if (PQgetisnull(res, row, col))
		return;
	t->p = PQgetvalue(res, row, col);
	t->len = (size_t)PQgetlength(res, row, col);
}

static void
dbp_row(PGresult *res, int i, struct db_row *r)
{
	memset(r, 0, sizeof(*r));
	if (PQgetisnull(res, i, 0) || !dbp_int(res, i, 0, &r->id))
		r->bad = "id: not an integer";
	dbp_text(res, i, 1, &r->kind);
	dbp_text(res, i, 2, &r->profile);
	if (!PQgetisnull(res, i, 3)) {
		r->csr = (const uint8_t *)PQgetvalue(res, i, 3);
		r->csr_len = (size_t)PQgetlength(res, i, 3);
	}
	dbp_text(res, i, 4, &r->subject);
	dbp_text(res, i, 5, &r->san);
	if (!PQgetisnull(res, i, 6)) {
		r->has_days = true;
		if (!dbp_int(res, i, 6, &r->days))
			r->bad = "days: not an integer";
	}
	dbp_text(res, i, 7, &r->issuer);
	dbp_text(res, i, 8, &r->serial);
	dbp_text(res, i, 9, &r->reason);
	if (PQgetisnull(res, i, 10) || !dbp_int(res, i, 10, &r->attempts))
		r->attempts = 0;
}

int
dbp_claim(struct db *db, size_t max, int64_t now, struct db_batch *b,
    char *why, size_t whylen)
{
	static const char sql[] = "SELECT " DB_COLUMNS " FROM requests "
	    "WHERE status = 'queued' AND next_attempt_at <= $1 "
	    "ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED";
	struct db_param p[2] = {
		{ .type = DB_P_INT, .i = now },
		{ .type = DB_P_INT, .i = (int64_t)max },
	};
	char ignore[CLIENT_WHY_MAX];
	PGresult *res = NULL;
	struct db_row r;
	int i, rc;

	if ((rc = dbp_exec(db, "BEGIN", NULL, 0, why, whylen)) != 0)
		return rc;
	if ((rc = dbp_run(db, sql, p, 2, &res, why, whylen)) != 0)
		goto out;
	if (PQnfields(res) != DB_NCOLUMNS) {
		rc = dbp_fail(db, "claim: unexpected columns", NULL, why,
		    whylen);
		goto out;
	}
	for (i = 0; i < PQntuples(res) && b->n + b->n_bad < max; i++) {
		dbp_row(res, i, &r);
		if (r.bad != NULL && r.id == 0)
			continue;       /* no id to fail it by */
		if ((rc = db_row_take(b, &r)) != 0)
			goto out;
	}
 out:
	PQclear(res);
	if (rc != 0)
		(void)dbp_exec(db, "ROLLBACK", NULL, 0, ignore, sizeof(ignore));
	return rc;
}

static int64_t
dbp_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read what the server sent; true when a notification came. */
static int
dbp_notified(struct db *db, char *why, size_t whylen)
{
	PGnotify *n;
	int got = 0;

	if (PQconsumeInput(db->pg) == 0) {
		got = dbp_fail(db, "wait", NULL, why, whylen);
		dbp_lost(db);
		return got;
	}
	while ((n = PQnotifies(db->pg)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return got;
}

int
dbp_wait(struct db *db, uint32_t timeout_ms, char *why, size_t whylen)
{
	struct pollfd pfd;
	int64_t end = dbp_ms() + timeout_ms, left;
	int rc;

	pfd.fd = PQsocket(db->pg);
	pfd.events = POLLIN;
	for (;;) {
		if ((rc = dbp_notified(db, why, whylen)) != 0)
			return rc;
		if ((left = end - dbp_ms()) <= 0)
			return 0;
		if (pfd.fd < 0) {
			err_why(why, whylen, "postgresql: connection lost");
			dbp_lost(db);
			return ERR_REPO;
		}
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR) {
			err_why(why, whylen, "postgresql: poll: %s",
			    strerror(errno));
			return ERR_REPO;
		}
	}
}
