/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the request queue, the same cases on a real SQLite file and on a real PostgreSQL server. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "client/client.h"
#include "tests/unit/client/pg_helper.h"

#define T_SQLITE_SCHEMA "client/schema/sqlite.sql"
#define T_PG_SCHEMA "client/schema/postgresql.sql"
#define T_NOW 1700000000LL
#define T_SQL_MAX (3 * DB_CSR_MAX + 1024)
#define T_TEXT_MAX 1024
#define T_WAIT_MS 5000          /* db_wait's timeout when it must wake early */

enum { T_SQLITE = 1, T_PG = 2 };

static int g_backend;
static char g_dir[PG_DIR_MAX];  /* SQLite files */
static int g_seq;
static struct pg_server g_pg;

struct fx {
	char path[PATH_MAX];
	struct conf_client conf;
	sqlite3 *lite;          /* the web application's connection */
	PGconn *pg;
	struct db *db;          /* the relay's */
	struct db *db2;         /* a second relay */
	struct db_batch b;
	char why[CLIENT_WHY_MAX];
};

/* ---- the web application's side ----------------------------------------- */

static int
web_try(struct fx *f, const char *sql)
{
	PGresult *r;
	int ok;

	if (g_backend == T_SQLITE)
		return sqlite3_exec(f->lite, sql, NULL, NULL, NULL) == SQLITE_OK ?
		    0 : -1;
	r = PQexec(f->pg, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	return ok ? 0 : -1;
}

static void
web_exec(struct fx *f, const char *sql)
{
	if (web_try(f, sql) != 0) {
		fprintf(stderr, "web_exec: %s: %s\n", sql, g_backend == T_SQLITE ?
		    sqlite3_errmsg(f->lite) : PQerrorMessage(f->pg));
		fail();
	}
}

static void
web_execf(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
web_execf(struct fx *f, const char *fmt, ...)
{
	char *sql = malloc(T_SQL_MAX);
	va_list ap;

	assert_non_null(sql);
	va_start(ap, fmt);
	assert_true(vsnprintf(sql, T_SQL_MAX, fmt, ap) < T_SQL_MAX);
	va_end(ap);
	web_exec(f, sql);
	free(sql);
}

/* The first column of the first row as text; "NULL" for SQL NULL. */
static const char *
web_text(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *
web_text(struct fx *f, const char *fmt, ...)
{
	static char out[T_TEXT_MAX];
	char sql[T_TEXT_MAX];
	sqlite3_stmt *st;
	PGresult *r;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	snprintf(out, sizeof(out), "NULL");
	if (g_backend == T_SQLITE) {
		assert_int_equal(sqlite3_prepare_v2(f->lite, sql, -1, &st, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			snprintf(out, sizeof(out), "%s",
			    (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		return out;
	}
	r = PQexec(f->pg, sql);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 1);
	if (!PQgetisnull(r, 0, 0))
		snprintf(out, sizeof(out), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return out;
}

static long long
web_int(struct fx *f, const char *sql)
{
	return strtoll(web_text(f, "%s", sql), NULL, 10);
}

/* A blob literal of len bytes, byte i being (i + seed) & 0xff. */
static char *
blob_lit(size_t len, int seed)
{
	char *s = malloc(2 * len + 16), *p;
	size_t i;

	assert_non_null(s);
	p = s + sprintf(s, g_backend == T_SQLITE ? "X'" : "'\\x");
	for (i = 0; i < len; i++)
		p += sprintf(p, "%02x", (unsigned)((i + (size_t)seed) & 0xff));
	sprintf(p, g_backend == T_SQLITE ? "'" : "'::bytea");
	return s;
}

/* Insert a sign request as the web application does. NULL: column left out (NULL). */
static void
web_sign(struct fx *f, const char *profile, size_t csr_len,
    const char *subject, const char *san, const char *days)
{
	char *csr = blob_lit(csr_len, (int)csr_len);
	char sub[T_TEXT_MAX], sn[T_TEXT_MAX];

	snprintf(sub, sizeof(sub), subject != NULL ? "'%s'" : "NULL",
	    subject != NULL ? subject : "");
	snprintf(sn, sizeof(sn), san != NULL ? "'%s'" : "NULL",
	    san != NULL ? san : "");
	web_execf(f, "INSERT INTO requests (kind, profile, csr, subject, san, "
	    "days) VALUES ('sign', '%s', %s, %s, %s, %s)", profile, csr, sub,
	    sn, days != NULL ? days : "NULL");
	free(csr);
}

static void
web_revoke(struct fx *f, const char *issuer, const char *serial,
    const char *reason)
{
	char r[T_TEXT_MAX];

	snprintf(r, sizeof(r), reason != NULL ? "'%s'" : "NULL",
	    reason != NULL ? reason : "");
	web_execf(f, "INSERT INTO requests (kind, issuer, serial, reason) "
	    "VALUES ('revoke', '%s', '%s', %s)", issuer, serial, r);
}

static const char *
col(struct fx *f, long long id, const char *name)
{
	return web_text(f, "SELECT %s FROM requests WHERE id = %lld", name, id);
}

/* ---- fixtures ----------------------------------------------------------- */

static int
load_sqlite(struct fx *f)
{
	static char sql[PG_SCHEMA_MAX];
	FILE *fp = fopen(T_SQLITE_SCHEMA, "r");
	size_t n;

	if (fp == NULL)
		return -1;
	n = fread(sql, 1, sizeof(sql) - 1, fp);
	fclose(fp);
	sql[n] = '\0';
	return sqlite3_exec(f->lite, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	if (g_backend == T_SQLITE) {
		snprintf(f->path, sizeof(f->path), "%s/q%d.db", g_dir, ++g_seq);
		assert_int_equal(sqlite3_open(f->path, &f->lite), SQLITE_OK);
		assert_int_equal(load_sqlite(f), 0);
		f->conf.db_backend = "sqlite";
		f->conf.db_path = f->path;
	} else {
		assert_int_equal(pg_exec1(g_pg.conninfo,
		    "DROP TABLE IF EXISTS requests CASCADE"), 0);
		assert_int_equal(pg_load(g_pg.conninfo, T_PG_SCHEMA), 0);
		f->pg = PQconnectdb(g_pg.conninfo);
		assert_int_equal(PQstatus(f->pg), CONNECTION_OK);
		f->conf.db_backend = "postgresql";
		f->conf.db_conninfo = g_pg.conninfo;
	}
	if (db_open(&f->conf, &f->db, f->why, sizeof(f->why)) != 0) {
		fprintf(stderr, "db_open: %s\n", f->why);
		fail();
	}
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	db_batch_free(&f->b);
	db_close(f->db);
	db_close(f->db2);
	if (f->lite != NULL)
		sqlite3_close(f->lite);
	PQfinish(f->pg);
	free(f);
	return 0;
}

static int
group_sqlite(void **state)
{
	(void)state;
	g_backend = T_SQLITE;
	snprintf(g_dir, sizeof(g_dir), "/tmp/dbq.XXXXXX");
	return mkdtemp(g_dir) != NULL ? 0 : -1;
}

static int
group_sqlite_end(void **state)
{
	struct pg_server s = { 0 };

	(void)state;
	snprintf(s.dir, sizeof(s.dir), "%s", g_dir);
	pg_rmdir(&s);
	return 0;
}

static int
group_pg(void **state)
{
	(void)state;
	g_backend = T_PG;
	return pg_server_start(&g_pg);
}

static int
group_pg_end(void **state)
{
	(void)state;
	pg_server_stop(&g_pg);
	return 0;
}

/* ---- helpers for the cases ---------------------------------------------- */

static void
claim(struct fx *f, size_t max, int64_t now)
{
	db_batch_free(&f->b);
	if (db_claim(f->db, max, now, &f->b, f->why, sizeof(f->why)) != 0) {
		fprintf(stderr, "db_claim: %s\n", f->why);
		fail();
	}
}

static void
finish(struct fx *f, const struct db_result *res, int64_t now)
{
	if (db_finish(f->db, &f->b, res, now, f->why, sizeof(f->why)) != 0) {
		fprintf(stderr, "db_finish: %s\n", f->why);
		fail();
	}
}

static int64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the cases ---------------------------------------------------------- */

/* Rows come out in id order with every field as the web application wrote it. */
static void
t_claim_fields(void **state)
{
	struct fx *f = *state;
	const struct db_req *q;

	web_sign(f, "tls-server", 300, "CN=www.example.org,O=Ex\\,ample",
	    "dns:www.example.org\nip:192.0.2.1\n", "90");
	web_revoke(f, "tls-ca", "0x00AB12", "keyCompromise");
	web_sign(f, "tls-client", 1, NULL, NULL, NULL);
	web_revoke(f, "tls-ca", "ff", NULL);
	claim(f, DB_BATCH_MAX, T_NOW);
	assert_int_equal(f->b.n, 4);
	assert_int_equal(f->b.n_bad, 0);

	q = &f->b.v[0];
	assert_int_equal(q->id, 1);
	assert_string_equal(q->ref, "1");
	assert_int_equal(q->kind, DB_KIND_SIGN);
	assert_string_equal(q->profile, "tls-server");
	assert_int_equal(q->csr_len, 300);
	assert_int_equal(q->csr[0], 300 & 0xff);
	assert_int_equal(q->csr[299], (299 + 300) & 0xff);
	assert_int_equal(q->subject.n, 2);
	assert_string_equal(q->subject.v[0].type, "CN");
	assert_string_equal(q->subject.v[0].value, "www.example.org");
	assert_string_equal(q->subject.v[1].value, "Ex,ample");
	assert_int_equal(q->san.n, 2);
	assert_string_equal(q->san.v[0].type, "dns");
	assert_string_equal(q->san.v[1].type, "ip");
	assert_string_equal(q->san.v[1].value, "192.0.2.1");
	assert_int_equal(q->days, 90);
	assert_int_equal(q->attempts, 0);

	q = &f->b.v[1];
	assert_int_equal(q->id, 2);
	assert_int_equal(q->kind, DB_KIND_REVOKE);
	assert_string_equal(q->issuer, "tls-ca");
	assert_string_equal(q->serial, "ab12");
	assert_string_equal(q->reason, "keyCompromise");

	q = &f->b.v[2];
	assert_int_equal(q->id, 3);
	assert_int_equal(q->subject.n, 0);
	assert_int_equal(q->san.n, 0);
	assert_int_equal(q->days, 0);
	assert_int_equal(f->b.v[3].id, 4);
	assert_string_equal(f->b.v[3].reason, "");

	/* A smaller batch takes the first rows. */
	assert_int_equal(db_finish(f->db, &f->b, (struct db_result[4]){
	    { .rc = ERR_BUSY }, { .rc = ERR_BUSY }, { .rc = ERR_BUSY },
	    { .rc = ERR_BUSY } }, T_NOW, f->why, sizeof(f->why)), 0);
	claim(f, 2, T_NOW + DB_BACKOFF_BASE_S);
	assert_int_equal(f->b.n, 2);
	assert_int_equal(f->b.v[0].id, 1);
	assert_int_equal(f->b.v[1].id, 2);
	assert_int_equal(f->b.v[0].attempts, 1);
}

/* done, failed and retry write what they must; a retry waits for its time. */
static void
t_finish(void **state)
{
	struct fx *f = *state;
	static const uint8_t cert[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };
	struct db_result res[4] = {
		{ .rc = 0, .cert = cert, .cert_len = sizeof(cert),
		    .issuer = "tls-ca", .serial = "1f2e", .not_before = T_NOW - 60,
		    .not_after = T_NOW + 86400 },
		{ .rc = ERR_POLICY, .why = "policy: RSA key of 1024 bits" },
		{ .rc = ERR_BUSY, .why = "busy: queue full" },
		{ .rc = 0, .issuer = "tls-ca", .serial = "ab", .revoked_at = T_NOW - 5 },
	};

	web_sign(f, "p", 10, NULL, NULL, NULL);
	web_sign(f, "p", 10, NULL, NULL, NULL);
	web_sign(f, "p", 10, NULL, NULL, NULL);
	web_revoke(f, "tls-ca", "AB", "superseded");
	claim(f, 10, T_NOW);
	assert_int_equal(f->b.n, 4);
	finish(f, res, T_NOW);

	assert_string_equal(col(f, 1, "status"), "done");
	assert_int_equal(web_int(f, "SELECT length(cert) FROM requests WHERE id = 1"),
	    (long long)sizeof(cert));
	assert_string_equal(col(f, 1, "result_issuer"), "tls-ca");
	assert_string_equal(col(f, 1, "result_serial"), "1f2e");
	assert_int_equal(atoll(col(f, 1, "not_before")), T_NOW - 60);
	assert_int_equal(atoll(col(f, 1, "not_after")), T_NOW + 86400);
	assert_int_equal(atoll(col(f, 1, "finished_at")), T_NOW);
	assert_string_equal(col(f, 1, "error_code"), "NULL");
	assert_int_equal(atoll(col(f, 1, "attempts")), 0);

	assert_string_equal(col(f, 2, "status"), "failed");
	assert_string_equal(col(f, 2, "error_code"), "policy");
	assert_string_equal(col(f, 2, "error_message"),
	    "policy: RSA key of 1024 bits");
	assert_int_equal(atoll(col(f, 2, "finished_at")), T_NOW);
	assert_string_equal(col(f, 2, "cert"), "NULL");

	assert_string_equal(col(f, 3, "status"), "queued");
	assert_int_equal(atoll(col(f, 3, "attempts")), 1);
	assert_string_equal(col(f, 3, "error_code"), "busy");
	assert_int_equal(atoll(col(f, 3, "next_attempt_at")),
	    T_NOW + DB_BACKOFF_BASE_S);
	assert_string_equal(col(f, 3, "finished_at"), "NULL");

	assert_string_equal(col(f, 4, "status"), "done");
	assert_int_equal(atoll(col(f, 4, "revoked_at")), T_NOW - 5);
	assert_string_equal(col(f, 4, "cert"), "NULL");

	/* Not before its time; then again, and the backoff doubles. */
	claim(f, 10, T_NOW + DB_BACKOFF_BASE_S - 1);
	assert_int_equal(f->b.n, 0);
	finish(f, NULL, T_NOW);
	claim(f, 10, T_NOW + DB_BACKOFF_BASE_S);
	assert_int_equal(f->b.n, 1);
	assert_int_equal(f->b.v[0].id, 3);
	assert_int_equal(f->b.v[0].attempts, 1);
	finish(f, (struct db_result[1]){ { .rc = ERR_TIMEOUT } }, T_NOW + 100);
	assert_int_equal(atoll(col(f, 3, "attempts")), 2);
	assert_string_equal(col(f, 3, "error_code"), "timeout");
	assert_string_equal(col(f, 3, "error_message"), err_str(ERR_TIMEOUT));
	assert_int_equal(atoll(col(f, 3, "next_attempt_at")),
	    T_NOW + 100 + 2 * DB_BACKOFF_BASE_S);
	/* A permanent error after retries fails the row; nothing is left due. */
	claim(f, 10, T_NOW + 1000);
	assert_int_equal(f->b.n, 1);
	finish(f, (struct db_result[1]){ { .rc = ERR_CONFLICT, .why = "conflict: ref" } },
	    T_NOW + 1000);
	assert_string_equal(col(f, 3, "status"), "failed");
	assert_string_equal(col(f, 3, "error_code"), "conflict");
	claim(f, 10, T_NOW + 100000);
	assert_int_equal(f->b.n + f->b.n_bad, 0);
	finish(f, NULL, T_NOW);
}

/* The backoff is capped. */
static void
t_backoff_cap(void **state)
{
	struct fx *f = *state;
	int64_t now = T_NOW;
	int i;

	web_revoke(f, "ca", "01", NULL);
	for (i = 0; i < 12; i++) {
		claim(f, 1, now);
		assert_int_equal(f->b.n, 1);
		finish(f, (struct db_result[1]){ { .rc = ERR_HSM } }, now);
		now = atoll(col(f, 1, "next_attempt_at"));
	}
	assert_int_equal(atoll(col(f, 1, "attempts")), 12);
	assert_int_equal(now - atoll(col(f, 1, "last_attempt_at")),
	    DB_BACKOFF_MAX_S);
	assert_string_equal(col(f, 1, "error_code"), "hsm");
}

/* Rows with bad fields are failed with a message naming the field; the rest goes on. */
static void
t_bad_rows(void **state)
{
	struct fx *f = *state;
	char *big;
	struct db_result ok[2] = {
		{ .rc = 0, .issuer = "ca", .serial = "01", .revoked_at = T_NOW },
		{ .rc = 0, .issuer = "ca", .serial = "02", .revoked_at = T_NOW },
	};
	static const struct {
		long long id;
		const char *why;
	} want[] = {
		{ 2, "subject: " },
		{ 3, "san: line 2: " },
		{ 4, "serial: 'xyz' is not a hex serial number" },
		{ 5, "reason: 'because' is not an RFC 5280 reason name" },
		{ 6, "issuer: '-ca' is not an issuer id" },
		{ 7, "days: 0, not 1..36500" },
		{ 8, "kind: not 'sign' or 'revoke'" },
		{ 9, "csr: 16385 bytes, not 1..16384" },
		{ 10, "csr: 0 bytes, not 1..16384" },
	};
	size_t i;

	web_revoke(f, "ca", "01", NULL);
	web_sign(f, "p", 10, "CN", NULL, NULL);
	web_sign(f, "p", 10, NULL, "dns:a.example\nfoo:bar", NULL);
	web_revoke(f, "ca", "xyz", NULL);
	web_revoke(f, "ca", "01", "because");
	web_revoke(f, "-ca", "01", NULL);
	/* What the schema refuses, written past its checks. */
	if (g_backend == T_SQLITE)
		web_exec(f, "PRAGMA ignore_check_constraints = ON");
	else
		web_exec(f, "ALTER TABLE requests DROP CONSTRAINT requests_days, "
		    "DROP CONSTRAINT requests_kind, DROP CONSTRAINT requests_csr");
	web_sign(f, "p", 10, NULL, NULL, "0");
	web_exec(f, "INSERT INTO requests (kind, issuer, serial) VALUES "
	    "('renew', 'ca', '01')");
	web_sign(f, "p", DB_CSR_MAX + 1, NULL, NULL, NULL);
	big = blob_lit(0, 0);
	web_execf(f, "INSERT INTO requests (kind, profile, csr) VALUES "
	    "('sign', 'p', %s)", big);
	free(big);
	web_revoke(f, "ca", "02", NULL);

	claim(f, DB_BATCH_MAX, T_NOW);
	assert_int_equal(f->b.n, 2);
	assert_int_equal(f->b.v[0].id, 1);
	assert_int_equal(f->b.v[1].id, 11);
	assert_int_equal(f->b.n_bad, sizeof(want) / sizeof(want[0]));
	finish(f, ok, T_NOW);
	assert_string_equal(col(f, 1, "status"), "done");
	assert_string_equal(col(f, 11, "status"), "done");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_string_equal(col(f, want[i].id, "status"), "failed");
		assert_string_equal(col(f, want[i].id, "error_code"), "invalid");
		if (strncmp(col(f, want[i].id, "error_message"), want[i].why,
		    strlen(want[i].why)) != 0) {
			fprintf(stderr, "row %lld: '%s', not '%s...'\n",
			    want[i].id, col(f, want[i].id, "error_message"),
			    want[i].why);
			fail();
		}
	}
}

/* The schema itself refuses malformed rows. */
static void
t_schema_checks(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"INSERT INTO requests (kind, issuer, serial) VALUES ('renew', 'ca', '01')",
		"INSERT INTO requests (kind, profile) VALUES ('sign', 'p')",
		"INSERT INTO requests (kind, issuer) VALUES ('revoke', 'ca')",
		"INSERT INTO requests (kind, issuer, serial, status) VALUES "
		    "('revoke', 'ca', '01', 'lost')",
		"INSERT INTO requests (kind, issuer, serial, reason) VALUES "
		    "('revoke', 'ca', '01', '')",
		"INSERT INTO requests (kind, issuer, serial) VALUES "
		    "('revoke', 'ca', '0123456789012345678901234567890123456789012')",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(web_try(f, bad[i]), -1);
	web_sign(f, "p", DB_CSR_MAX, NULL, NULL, "36500");
	assert_int_equal(web_try(f, "UPDATE requests SET days = 36501"), -1);
	assert_int_equal(web_int(f, "SELECT count(*) FROM requests"), 1);
}

/*
 * Two relays: on PostgreSQL concurrent claims never share a row; on SQLite
 * the second relay is refused while the first runs.
 */
static void
t_two_relays(void **state)
{
	struct fx *f = *state;
	struct db_batch b2 = { 0 };
	struct db_result res[5] = { { .rc = 0 } };
	size_t i, j;
	int rc;

	for (i = 0; i < 5; i++)
		web_revoke(f, "ca", "0a", NULL);
	rc = db_open(&f->conf, &f->db2, f->why, sizeof(f->why));
	if (g_backend == T_SQLITE) {
		assert_int_equal(rc, ERR_BUSY);
		assert_null(f->db2);
		assert_non_null(strstr(f->why, "another relay"));
		db_close(f->db);
		f->db = NULL;
		assert_int_equal(db_open(&f->conf, &f->db, f->why,
		    sizeof(f->why)), 0);
		return;
	}
	assert_int_equal(rc, 0);
	claim(f, 2, T_NOW);
	assert_int_equal(db_claim(f->db2, DB_BATCH_MAX, T_NOW, &b2, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(f->b.n, 2);
	assert_int_equal(b2.n, 3);
	for (i = 0; i < f->b.n; i++)
		for (j = 0; j < b2.n; j++)
			assert_int_not_equal(f->b.v[i].id, b2.v[j].id);
	assert_int_equal(f->b.v[0].id, 1);
	assert_int_equal(b2.v[0].id, 3);
	finish(f, res, T_NOW);
	assert_int_equal(db_finish(f->db2, &b2, res, T_NOW, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(web_int(f, "SELECT count(*) FROM requests WHERE "
	    "status = 'done'"), 5);
	db_batch_free(&b2);
}

/* A batch claimed and never finished (a crash) is claimed again, whole. */
static void
t_crash(void **state)
{
	struct fx *f = *state;

	web_revoke(f, "ca", "01", NULL);
	web_sign(f, "p", 5, NULL, NULL, NULL);
	claim(f, 10, T_NOW);
	assert_int_equal(f->b.n, 2);
	db_batch_free(&f->b);
	db_close(f->db);
	f->db = NULL;
	assert_int_equal(db_open(&f->conf, &f->db, f->why, sizeof(f->why)), 0);
	claim(f, 10, T_NOW);
	assert_int_equal(f->b.n, 2);
	assert_int_equal(f->b.v[0].id, 1);
	assert_string_equal(f->b.v[1].ref, "2");
	assert_int_equal(f->b.v[1].attempts, 0);
}

/* Misuse and out-of-bounds results are refused and change nothing. */
static void
t_refused(void **state)
{
	struct fx *f = *state;
	struct db_batch b2 = { 0 };
	struct db_result res[1] = { { .rc = 0, .cert = NULL } };

	assert_int_equal(db_finish(f->db, &f->b, NULL, T_NOW, f->why,
	    sizeof(f->why)), ERR_INVAL);
	assert_int_equal(db_claim(f->db, 0, T_NOW, &f->b, f->why,
	    sizeof(f->why)), ERR_INVAL);
	assert_int_equal(db_claim(f->db, DB_BATCH_MAX + 1, T_NOW, &f->b,
	    f->why, sizeof(f->why)), ERR_INVAL);
	web_sign(f, "p", 5, NULL, NULL, NULL);
	claim(f, 10, T_NOW);
	assert_int_equal(db_claim(f->db, 10, T_NOW, &b2, f->why,
	    sizeof(f->why)), ERR_INVAL);
	assert_non_null(strstr(f->why, "still open"));
	/* A sign result without a certificate. */
	assert_int_equal(db_finish(f->db, &f->b, res, T_NOW, f->why,
	    sizeof(f->why)), ERR_INVAL);
	assert_non_null(strstr(f->why, "certificate of 0 bytes"));
	assert_string_equal(col(f, 1, "status"), "queued");
	assert_int_equal(atoll(col(f, 1, "attempts")), 0);
	claim(f, 10, T_NOW);
	assert_int_equal(f->b.n, 1);
	res[0].cert = (const uint8_t *)"x";
	res[0].cert_len = DB_CERT_MAX + 1;
	assert_int_equal(db_finish(f->db, &f->b, res, T_NOW, f->why,
	    sizeof(f->why)), ERR_INVAL);
	assert_string_equal(col(f, 1, "status"), "queued");
}

/* db_wait wakes early when the web application inserts, and times out otherwise. */
static void
t_wait(void **state)
{
	struct fx *f = *state;
	int64_t t0;

	(void)db_wait(f->db, 0, f->why, sizeof(f->why));  /* drain */
	t0 = ms_now();
	assert_int_equal(db_wait(f->db, 300, f->why, sizeof(f->why)), 0);
	assert_true(ms_now() - t0 >= 300);
	web_revoke(f, "ca", "01", NULL);
	t0 = ms_now();
	assert_int_equal(db_wait(f->db, T_WAIT_MS, f->why, sizeof(f->why)), 1);
	assert_true(ms_now() - t0 < T_WAIT_MS);
	if (g_backend == T_PG)
		assert_true(db_fd(f->db) >= 0);
	else
		assert_int_equal(db_fd(f->db), -1);
	/* The relay's own writes do not wake it. */
	claim(f, 10, T_NOW);
	finish(f, (struct db_result[1]){ { .rc = ERR_BUSY } }, T_NOW);
	assert_int_equal(db_wait(f->db, 300, f->why, sizeof(f->why)), 0);
}

/* PostgreSQL: a lost connection fails one call, then the handle is reset. */
static void
t_reconnect(void **state)
{
	struct fx *f = *state;

	if (g_backend != T_PG)
		return;
	web_sign(f, "server", 10, NULL, NULL, NULL);
	assert_string_equal(web_text(f, "SELECT count(pg_terminate_backend(pid)) "
	    "FROM pg_stat_activity WHERE datname = '%s' AND pid <> "
	    "pg_backend_pid()", PG_DB_NAME), "1");
	db_batch_free(&f->b);
	assert_int_equal(db_claim(f->db, 10, T_NOW, &f->b, f->why,
	    sizeof(f->why)), ERR_REPO);
	claim(f, 10, T_NOW);
	assert_int_equal(f->b.n, 1);
	finish(f, (struct db_result[1]){ { .rc = ERR_POLICY } }, T_NOW);
	/* LISTEN again: a new row wakes the relay. */
	(void)db_wait(f->db, 0, f->why, sizeof(f->why));
	web_revoke(f, "ca", "01", NULL);
	assert_int_equal(db_wait(f->db, T_WAIT_MS, f->why, sizeof(f->why)), 1);
}

static void
t_stats(void **state)
{
	struct fx *f = *state;
	struct db_stats st;
	int i;

	assert_int_equal(db_stats(f->db, T_NOW, &st, f->why, sizeof(f->why)), 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.oldest_age, 0);
	for (i = 0; i < 5; i++)
		web_execf(f, "INSERT INTO requests (kind, issuer, serial, "
		    "created_at) VALUES ('revoke', 'ca', '01', %lld)",
		    T_NOW - 100 + i);
	claim(f, 3, T_NOW);
	finish(f, (struct db_result[3]){ { .rc = 0 },
	    { .rc = ERR_POLICY }, { .rc = ERR_LINK } }, T_NOW);
	assert_int_equal(db_stats(f->db, T_NOW, &st, f->why, sizeof(f->why)), 0);
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.oldest_age, 100 - 2);
	assert_int_equal(st.issued, 0);
	assert_int_equal(st.revoked, 1);
	assert_int_equal(st.failed, 1);
	web_sign(f, "p", 5, NULL, NULL, NULL);
	claim(f, 10, T_NOW);
	assert_int_equal(f->b.n, 3);    /* 4, 5, 6: the retry is not due yet */
	assert_int_equal(f->b.v[0].id, 4);
	finish(f, (struct db_result[3]){ { .rc = 0 }, { .rc = ERR_BUSY },
	    { .rc = 0, .cert = (const uint8_t *)"c", .cert_len = 1 } }, T_NOW);
	assert_int_equal(db_stats(f->db, T_NOW + 10, &st, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.oldest_age, 100 - 2 + 10);
	assert_int_equal(st.issued, 1);
	assert_int_equal(st.revoked, 2);
	assert_int_equal(st.failed, 1);
}

/* Opening: a bad configuration, a file without the table. */
static void
t_open_errors(void **state)
{
	struct fx *f = *state;
	struct conf_client c = { 0 };
	struct db *db = NULL;
	char path[PATH_MAX];
	FILE *fp;

	c.db_backend = "postgresql";
	assert_int_equal(db_open(&c, &db, f->why, sizeof(f->why)), ERR_CONFIG);
	assert_non_null(strstr(f->why, "conninfo"));
	c.db_backend = "mysql";
	c.db_path = "/nonexistent";
	assert_int_equal(db_open(&c, &db, f->why, sizeof(f->why)), ERR_CONFIG);
	if (g_backend == T_SQLITE) {
		snprintf(path, sizeof(path), "%s/empty%d.db", g_dir, ++g_seq);
		assert_non_null(fp = fopen(path, "w"));
		fclose(fp);
		c.db_backend = "sqlite";
		c.db_path = path;
		assert_int_equal(db_open(&c, &db, f->why, sizeof(f->why)),
		    ERR_REPO);
		assert_non_null(strstr(f->why, "no requests table"));
	} else {
		c.db_backend = "postgresql";
		c.db_path = NULL;
		c.db_conninfo = g_pg.admin;
		assert_int_equal(db_open(&c, &db, f->why, sizeof(f->why)),
		    ERR_REPO);
		assert_non_null(strstr(f->why, "no requests table"));
		c.db_conninfo = "host=/nonexistent dbname=x";
		assert_int_equal(db_open(&c, &db, f->why, sizeof(f->why)),
		    ERR_REPO);
	}
	assert_null(db);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(t_claim_fields),
		T(t_finish),
		T(t_backoff_cap),
		T(t_bad_rows),
		T(t_schema_checks),
		T(t_two_relays),
		T(t_crash),
		T(t_refused),
		T(t_wait),
		T(t_reconnect),
		T(t_stats),
		T(t_open_errors),
	};
	int rc;

	rc = cmocka_run_group_tests_name("sqlite", tests, group_sqlite,
	    group_sqlite_end);
	rc |= cmocka_run_group_tests_name("postgresql", tests, group_pg,
	    group_pg_end);
	return rc;
}
