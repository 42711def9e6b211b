/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: what the queue's common part (db.c) and its backends (db_sqlite.c, db_pg.c) share; private to the module. */
#ifndef CLIENT_DB_LOCAL_H
#define CLIENT_DB_LOCAL_H

#include <sqlite3.h>
#include <libpq-fe.h>

#include "client/client.h"

enum db_backend {
	DB_SQLITE = 1,
	DB_PG = 2,
};

struct db {
	int backend;            /* enum db_backend */
	bool claimed;           /* a batch is open */
	sqlite3 *lite;
	int lock_fd;            /* SQLite: the relay guard */
	int64_t data_version;   /* SQLite: last seen PRAGMA data_version */
	PGconn *pg;
};

/* The columns of a claim, in this order. */
#define DB_COLUMNS "id, kind, profile, csr, subject, san, days, issuer, " \
	"serial, reason, attempts"
#define DB_NCOLUMNS 11

/* One row as the database holds it, not yet checked; text is not NUL-terminated. */
struct db_text {
	const char *p;          /* NULL: SQL NULL */
	size_t len;
};

struct db_row {
	int64_t id;
	struct db_text kind, profile, subject, san, issuer, serial, reason;
	const uint8_t *csr;     /* NULL: SQL NULL */
	size_t csr_len;
	bool has_days;
	int64_t days;
	int64_t attempts;
	const char *bad;        /* set by the backend: a column of the wrong type */
};

/* A statement parameter. */
enum db_ptype {
	DB_P_NULL = 0,
	DB_P_INT,
	DB_P_TEXT,
	DB_P_BLOB,
};

struct db_param {
	int type;               /* enum db_ptype */
	int64_t i;
	const void *p;          /* TEXT: NUL-terminated; BLOB: len bytes */
	size_t len;
};

#define DB_PARAMS_MAX 8

/*
 * Check r and append it to b as a request or as a bad row. Returns 0 or
 * ERR_NOMEM.
 */
int db_row_take(struct db_batch *b, const struct db_row *r);


/*
 * Backends. SQL is written with $1, $2, ... parameters. Each returns 0 or
 * ERR_REPO (why says what) unless stated otherwise.
 */
int dbl_open(struct db *db, const char *path, char *why, size_t whylen);
void dbl_close(struct db *db);
/* Select up to max due rows and take them into b (no transaction kept). */
int dbl_claim(struct db *db, size_t max, int64_t now, struct db_batch *b,
    char *why, size_t whylen);
int dbl_exec(struct db *db, const char *sql, const struct db_param *p,
    size_t n, char *why, size_t whylen);
/* Run a query of one row of n integers; a NULL is -1. */
int dbl_ints(struct db *db, const char *sql, int64_t *v, size_t n,
    char *why, size_t whylen);
int dbl_wait(struct db *db, uint32_t timeout_ms, char *why, size_t whylen);

int dbp_open(struct db *db, const char *conninfo, char *why, size_t whylen);
void dbp_close(struct db *db);
/* BEGIN, then select and lock up to max due rows into b; the transaction stays open. */
int dbp_claim(struct db *db, size_t max, int64_t now, struct db_batch *b,
    char *why, size_t whylen);
int dbp_exec(struct db *db, const char *sql, const struct db_param *p,
    size_t n, char *why, size_t whylen);
int dbp_ints(struct db *db, const char *sql, int64_t *v, size_t n,
    char *why, size_t whylen);
int dbp_wait(struct db *db, uint32_t timeout_ms, char *why, size_t whylen);

#endif /* CLIENT_DB_LOCAL_H */
