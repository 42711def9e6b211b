/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: the request queue on SQLite: one relay per file (an flock guard), polling for new rows. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "client/db_local.h"

#define DBL_SQL_MAX 1024        /* longest statement after rewriting */
#define DBL_LOCK_SUFFIX ".relay-lock"

static int
dbl_fail(struct db *db, const char *what, char *why, size_t whylen)
{
	err_why(why, whylen, "sqlite: %s: %s", what, db->lite != NULL ?
	    sqlite3_errmsg(db->lite) : "no database");
	return ERR_REPO;
}

/* Prepare sql, its $N parameters rewritten as SQLite's ?N. */
static int
dbl_prepare(struct db *db, const char *sql, sqlite3_stmt **st, char *why,
    size_t whylen)
{
	char buf[DBL_SQL_MAX];
	size_t i, len = strlen(sql);

	*st = NULL;
	if (len >= sizeof(buf)) {
		err_why(why, whylen, "sqlite: statement too long");
		return ERR_INVAL;
	}
	for (i = 0; i <= len; i++)
		buf[i] = sql[i] == '$' ? '?' : sql[i];
	if (sqlite3_prepare_v2(db->lite, buf, -1, st, NULL) != SQLITE_OK)
		return dbl_fail(db, "prepare", why, whylen);
	return 0;
}

static int
dbl_bind(struct db *db, sqlite3_stmt *st, const struct db_param *p, size_t n,
    char *why, size_t whylen)
{
	size_t i;
	int rc, k;

	for (i = 0; i < n; i++) {
		k = (int)i + 1;
		switch (p[i].type) {
		case DB_P_INT:
			rc = sqlite3_bind_int64(st, k, p[i].i);
			break;
		case DB_P_TEXT:
			rc = sqlite3_bind_text(st, k, p[i].p, -1, SQLITE_STATIC);
			break;
		case DB_P_BLOB:
			rc = sqlite3_bind_blob64(st, k, p[i].p, p[i].len,
			    SQLITE_STATIC);
			break;
		default:
			rc = sqlite3_bind_null(st, k);
			break;
		}
		if (rc != SQLITE_OK)
			return dbl_fail(db, "bind", why, whylen);
	}
	return 0;
}

static int
dbl_data_version(struct db *db, int64_t *v, char *why, size_t whylen)
{
	return dbl_ints(db, "PRAGMA data_version", v, 1, why, whylen);
}

/* Take the relay guard: an exclusive flock on <path>.relay-lock. */
static int
dbl_guard(struct db *db, const char *path, char *why, size_t whylen)
{
	char lock[PATH_MAX];
	int n;

	n = snprintf(lock, sizeof(lock), "%s%s", path, DBL_LOCK_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof(lock)) {
		err_why(why, whylen, "sqlite: %s: path too long", path);
		return ERR_CONFIG;
	}
	if ((db->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		err_why(why, whylen, "sqlite: %s: %s", lock, strerror(errno));
		return ERR_SYSTEM;
	}
	if (flock(db->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			err_why(why, whylen, "sqlite: %s: another relay runs "
			    "on this database", lock);
			return ERR_BUSY;
		}
		err_why(why, whylen, "sqlite: %s: %s", lock, strerror(errno));
		return ERR_SYSTEM;
	}
	return 0;
}

int
dbl_open(struct db *db, const char *path, char *why, size_t whylen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = dbl_guard(db, path, why, whylen)) != 0)
		return rc;
	if (sqlite3_open_v2(path, &db->lite, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		err_why(why, whylen, "sqlite: %s: %s", path, db->lite != NULL ?
		    sqlite3_errmsg(db->lite) : "cannot open");
		return ERR_REPO;
	}
	sqlite3_busy_timeout(db->lite, DB_SQLITE_BUSY_MS);
	if (sqlite3_prepare_v2(db->lite, "SELECT " DB_COLUMNS
	    " FROM requests LIMIT 0", -1, &st, NULL) != SQLITE_OK) {
		err_why(why, whylen, "sqlite: %s: no requests table (load "
		    "client/schema/sqlite.sql): %s", path,
		    sqlite3_errmsg(db->lite));
		return ERR_REPO;
	}
	sqlite3_finalize(st);
	return dbl_data_version(db, &db->data_version, why, whylen);
}

void
dbl_close(struct db *db)
{
	sqlite3_close(db->lite);
	db->lite = NULL;
	if (db->lock_fd != -1)
		close(db->lock_fd);
	db->lock_fd = -1;
}

static void
dbl_text(sqlite3_stmt *st, int col, const char *name, struct db_text *t,
    struct db_row *r)
{
	int type = sqlite3_column_type(st, col);

	t->p = NULL;
	t->len = 0;
	if (type == SQLITE_NULL)
		return;
	if (type != SQLITE_TEXT) {
		r->bad = name;
		return;
	}
	t->p = (const char *)sqlite3_column_text(st, col);
	t->len = (size_t)sqlite3_column_bytes(st, col);
}

/* Fill r from the current row; r->bad names a mistyped column. */
static void
dbl_row(sqlite3_stmt *st, struct db_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	dbl_text(st, 1, "kind: not text", &r->kind, r);
	dbl_text(st, 2, "profile: not text", &r->profile, r);
	if (sqlite3_column_type(st, 3) == SQLITE_BLOB) {
		r->csr = sqlite3_column_blob(st, 3);
		r->csr_len = (size_t)sqlite3_column_bytes(st, 3);
	} else if (sqlite3_column_type(st, 3) != SQLITE_NULL)
		r->bad = "csr: not a blob";
	dbl_text(st, 4, "subject: not text", &r->subject, r);
	dbl_text(st, 5, "san: not text", &r->san, r);
	if (sqlite3_column_type(st, 6) == SQLITE_INTEGER) {
		r->has_days = true;
		r->days = sqlite3_column_int64(st, 6);
	} else if (sqlite3_column_type(st, 6) != SQLITE_NULL)
		r->bad = "days: not an integer";
	dbl_text(st, 7, "issuer: not text", &r->issuer, r);
	dbl_text(st, 8, "serial: not text", &r->serial, r);
	dbl_text(st, 9, "reason: not text", &r->reason, r);
	r->attempts = sqlite3_column_int64(st, 10);
}

int
dbl_claim(struct db *db, size_t max, int64_t now, struct db_batch *b,
    char *why, size_t whylen)
{
	static const char sql[] = "SELECT " DB_COLUMNS " FROM requests "
	    "WHERE status = 'queued' AND next_attempt_at <= $1 "
	    "ORDER BY id LIMIT $2";
	struct db_param p[2] = {
		{ .type = DB_P_INT, .i = now },
		{ .type = DB_P_INT, .i = (int64_t)max },
	};
	sqlite3_stmt *st = NULL;
	struct db_row r;
	int rc, s;

	if ((rc = dbl_prepare(db, sql, &st, why, whylen)) != 0 ||
	    (rc = dbl_bind(db, st, p, 2, why, whylen)) != 0)
		goto out;
	while ((s = sqlite3_step(st)) == SQLITE_ROW &&
	    b->n + b->n_bad < max) {
		dbl_row(st, &r);
		if ((rc = db_row_take(b, &r)) != 0)
			goto out;
	}
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		rc = dbl_fail(db, "claim", why, whylen);
 out:
	sqlite3_finalize(st);
	return rc;
}

int
dbl_exec(struct db *db, const char *sql, const struct db_param *p, size_t n,
    char *why, size_t whylen)
{
	sqlite3_stmt *st = NULL;
	int rc, s;

	if ((rc = dbl_prepare(db, sql, &st, why, whylen)) != 0 ||
	    (rc = dbl_bind(db, st, p, n, why, whylen)) != 0)
		goto out;
	while ((s = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (s != SQLITE_DONE)
		rc = dbl_fail(db, sql, why, whylen);
 out:
	sqlite3_finalize(st);
	return rc;
}

int
dbl_ints(struct db *db, const char *sql, int64_t *v, size_t n, char *why,
    size_t whylen)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	if ((rc = dbl_prepare(db, sql, &st, why, whylen)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW ||
	    (size_t)sqlite3_column_count(st) < n) {
		rc = dbl_fail(db, sql, why, whylen);
		goto out;
	}
	for (i = 0; i < n; i++)
		v[i] = sqlite3_column_type(st, (int)i) == SQLITE_INTEGER ?
		    sqlite3_column_int64(st, (int)i) : -1;
 out:
	sqlite3_finalize(st);
	return rc;
}

int
dbl_wait(struct db *db, uint32_t timeout_ms, char *why, size_t whylen)
{
	uint32_t left = timeout_ms, step;
	int64_t v;
	int rc;

	for (;;) {
		if ((rc = dbl_data_version(db, &v, why, whylen)) != 0)
			return rc;
		if (v != db->data_version) {
			db->data_version = v;
			return 1;
		}
		if (left == 0)
			return 0;
		step = left < DB_SQLITE_POLL_MS ? left : DB_SQLITE_POLL_MS;
		(void)poll(NULL, 0, (int)step);
		left -= step;
	}
}
