/* SPDX-License-Identifier: GPL-3.0-or-later */
/* repo: declarations shared by the repository's source files only. */
#ifndef SIGNER_REPO_LOCAL_H
#define SIGNER_REPO_LOCAL_H

#include <lmdb.h>
#include <pthread.h>

#include "proto/proto.h"
#include "signer/signer.h"

#define REPO_KEY_MAX (2 + REPO_ID_MAX + SERIAL_MAX) /* longest cert key */
#define REPO_EVENT_KEY_LEN 9    /* origin, then the sequence number big-endian */
#define REPO_VV_KEY_LEN 3       /* "vv" and the origin */
#define REPO_STATS_LEN 24       /* three u64 counters */
#define REPO_PATH_MAX 4096      /* longest repository path kept for messages */
#define REPO_WHY_MAX 256        /* messages built from other messages fit here */
#define REPO_REF_TEXT_MAX 72    /* a ref as shown in a message */
#define REPO_GROW_TRIES 12      /* repo_update: most map growths for one update */
#define REPO_MARK_LEN 8         /* a revlog mark or a CRL number in a key, big-endian */
#define REPO_CRL_KEY_MAX (1 + REPO_ID_MAX + 1 + REPO_MARK_LEN) /* longest crls key */
#define REPO_CRLMAX_KEY "crlmax" /* meta: highest CRL number of an issuer */
#define REPO_SUPERSEDED_KEY "superseded" /* meta: a certificate superseded by another of its ref */
#define REPO_SUPERSEDED_REF "\0superseded:" /* prefix of the ref of a derived revocation */

enum repo_crl_kind {
	REPO_CRL_COMPLETE = 0,
	REPO_CRL_DELTA = 1,
};

enum repo_db {
	REPO_DB_META,
	REPO_DB_CERTS,
	REPO_DB_REFS,
	REPO_DB_REVOKED,
	REPO_DB_REVREFS,
	REPO_DB_EVENTS,
	REPO_DB_STATS,
	REPO_DB_REVLOG,
	REPO_DB_CRLS,
	REPO_DB_COUNT
};

struct repo {
	MDB_env *env;
	MDB_dbi dbi[REPO_DB_COUNT];
	uint8_t node;
	bool rdonly;
	pthread_mutex_t lock;   /* guards ntxn and grow: two threads (signerd and sync) share the repository */
	unsigned int ntxn;      /* transactions open or being opened */
	bool grow;              /* the map filled up: grow it when ntxn is 0 */
	void (*on_commit)(void *ctx);   /* repo_on_commit */
	void *on_commit_ctx;
	char path[REPO_PATH_MAX];
};

struct repo_txn {
	struct repo *repo;
	MDB_txn *txn;
	bool write;
	bool broken;            /* a write failed midway: never commit */
	bool map_full;          /* it failed because the map is full */
};

/* A cert key: u8 length, issuer id, u8 length, serial. */
struct repo_key {
	uint8_t b[REPO_KEY_MAX];
	size_t len;
};

/*
 * Turn an LMDB failure of what into ERR_REPO with a message; MDB_MAP_FULL
 * asks the repository to grow its map before the next transaction.
 */
int repo_mdb_fail(struct repo_txn *t, int mrc, const char *what, char *why,
    size_t whylen);
/* Mark t so that it cannot be committed; returns rc. */
int repo_txn_break(struct repo_txn *t, int rc);

/* Checks shared by encoders, decoders and operations. */
bool repo_id_valid(const char *s);
bool repo_serial_valid(const struct serial *s);
bool repo_reason_valid(int reason);
bool repo_ref_valid(const uint8_t *ref, size_t len);
/* ref as text for a message: printable ASCII in quotes, else hex. */
void repo_ref_text(const uint8_t *ref, size_t len, char *out, size_t outlen);

/* Cert keys. repo_key_parse returns 0 or ERR_REPO. */
int repo_key_make(const char *issuer, const struct serial *s, struct repo_key *k);
int repo_key_parse(const uint8_t *b, size_t len, char *issuer,
    struct serial *s);
/* "serial 1a2b of issuer 'x'" for a cert key, for messages. */
void repo_key_text(const void *key, size_t len, char *out, size_t outlen);
/* The prefix of the keys of issuer. */
int repo_key_issuer(const char *issuer, struct repo_key *k);

/* Get one value; 0, ERR_NOT_FOUND or ERR_REPO. */
int repo_get(struct repo_txn *t, enum repo_db db, const void *key,
    size_t klen, MDB_val *val, char *why, size_t whylen);
/* Put one value (flags as mdb_put); 0 or ERR_REPO, t broken on failure. */
int repo_put(struct repo_txn *t, enum repo_db db, const void *key,
    size_t klen, const void *val, size_t vlen, unsigned int flags,
    char *why, size_t whylen);
/* Check t is usable for writing: 0 or ERR_INVAL. */
int repo_txn_writable(struct repo_txn *t, char *why, size_t whylen);

/* Load the certificate or revocation of (issuer, serial), checking it matches its key. */
int repo_cert_load(struct repo_txn *t, const char *issuer,
    const struct serial *serial, struct repo_cert *out, char *why,
    size_t whylen);
int repo_revocation_load(struct repo_txn *t, const char *issuer,
    const struct serial *serial, struct repo_revocation *out, char *why,
    size_t whylen);
/*
 * Call fn for each entry of db whose key starts with prefix (plen may be 0),
 * in key order, until fn returns non-zero (returned). 0, fn's value or ERR_REPO.
 */
int repo_scan(struct repo_txn *t, enum repo_db db, const uint8_t *prefix,
    size_t plen, int (*fn)(const MDB_val *k, const MDB_val *v, void *arg,
    char *why, size_t whylen), void *arg, char *why, size_t whylen);
/* The same from the first key >= start (which should carry the prefix). */
int repo_scan_from(struct repo_txn *t, enum repo_db db, const uint8_t *prefix,
    size_t plen, const uint8_t *start, size_t slen,
    int (*fn)(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen), void *arg, char *why, size_t whylen);
/* Backwards: from the greatest key <= last, while keys carry the prefix. */
int repo_scan_back(struct repo_txn *t, enum repo_db db, const uint8_t *prefix,
    size_t plen, const uint8_t *last, size_t llen,
    int (*fn)(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen), void *arg, char *why, size_t whylen);

/* Store c under its cert key (flags as mdb_put). */
int repo_cert_store(struct repo_txn *t, const struct repo_cert *c,
    unsigned int flags, char *why, size_t whylen);
/*
 * Append the event bytes of origin's event seq, which must be the next of
 * origin, as received (signer/repo_apply.c), and advance the version vector.
 */
int repo_event_put_raw(struct repo_txn *t, uint8_t origin, uint64_t seq,
    const uint8_t *event, size_t len, char *why, size_t whylen);
/* Is ref the ref of a revocation derived from a superseded certificate? */
bool repo_superseded_ref(const uint8_t *ref, size_t len);
/* Append ev as the next event of this node (sets its origin and seq) and advance the version vector. */
int repo_event_append(struct repo_txn *t, struct repo_event *ev,
    char *why, size_t whylen);
/* Add to the counters of issuer. */
int repo_stats_add(struct repo_txn *t, const char *issuer, int64_t certs,
    int64_t pending, int64_t revoked, char *why, size_t whylen);
/* The revocation stored under cert key k, decoded and checked against k; 0 or ERR_REPO. */
int repo_revocation_read(const MDB_val *k, const MDB_val *v,
    struct repo_revocation *rev, char *why, size_t whylen);
/* Append cert key k to the revocation log of issuer under the issuer's new mark. */
int repo_revlog_append(struct repo_txn *t, const char *issuer,
    const struct repo_key *k, uint64_t mark, char *why, size_t whylen);
/* Move the revlog entry of cert key k to the issuer's next mark: its revocation was replaced. */
int repo_revlog_move(struct repo_txn *t, const char *issuer,
    const struct repo_key *k, char *why, size_t whylen);
/* The notAfter of a certificate record, without decoding all of it; 0 or ERR_REPO. */
int repo_cert_peek_not_after(const uint8_t *buf, size_t len, int64_t *not_after);
/* Big-endian u64 helpers for keys. */
void repo_put_be64(uint8_t *b, uint64_t v);
uint64_t repo_get_be64(const uint8_t *b);
/* Raise the highest CRL number seen for issuer to number (never lowers it). */
int repo_crl_seen(struct repo_txn *t, const char *issuer, uint64_t number,
    char *why, size_t whylen);

/* Decode a stats value. */
int repo_stats_decode(const uint8_t *b, size_t len, struct repo_stats *st);

#endif /* SIGNER_REPO_LOCAL_H */
