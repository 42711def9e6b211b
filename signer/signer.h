/* SPDX-License-Identifier: GPL-3.0-or-later */
/* signer: the signing engine of signerd and signerctl: repository, certificate building, checks, issuance. */
#ifndef SIGNER_SIGNER_H
#define SIGNER_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct conf_signerd;
struct conf_profile;
struct conf_issuer;
struct hsm;
struct hsm_key;

/* ===================================================================== */
/* Serial numbers                                                         */
/* ===================================================================== */

#define SERIAL_LEN 16           /* bytes we generate: node prefix + random */
#define SERIAL_RANDOM_LEN 15    /* bytes from the CSPRNG (120 bits) */
#define SERIAL_MAX 20           /* RFC 5280: at most 20 octets */
#define SERIAL_HEX_MAX (2 * SERIAL_MAX + 1)

/* A certificate serial number: unsigned big-endian, no leading zero bytes. */
struct serial {
	uint8_t b[SERIAL_MAX];
	size_t len;
};

/* Lowercase hex without leading zeros into hex (SERIAL_HEX_MAX bytes). */
void serial_to_hex(const struct serial *s, char *hex);
/* Parse lowercase/uppercase hex (1..40 digits, leading zeros dropped); ERR_BAD_REQUEST if invalid. */
int serial_from_hex(const char *hex, size_t len, struct serial *s);
/* New serial: node (1..127) followed by SERIAL_RANDOM_LEN bytes from RAND_bytes. */
int serial_generate(uint8_t node, struct serial *s);
int serial_cmp(const struct serial *a, const struct serial *b);

/* ===================================================================== */
/* Repository (LMDB): signer/repo*.c                                      */
/* ===================================================================== */

#define REPO_SCHEMA_VERSION 2
#define REPO_REF_MAX 128        /* request refs are 1..REPO_REF_MAX bytes */
#define REPO_ID_MAX 64          /* issuer ids and profile names */
#define REPO_SUBJECT_MAX 1024   /* subject summary kept with a certificate */
#define REPO_DER_MAX (64 * 1024) /* largest certificate we record */
#define REPO_NODE_MAX 127       /* node ids are 1..REPO_NODE_MAX */

enum cert_status {
	CERT_PENDING = 1,       /* serial reserved, HSM not yet signed */
	CERT_ISSUED = 2,
	CERT_REVOKED = 3,
};

/* Revocation reasons are OpenSSL's CRL_REASON_* (RFC 5280 CRLReason); CRL_REASON_NONE: no reason code. */

/* A certificate record. Strings are NUL-terminated copies owned by the record. */
struct repo_cert {
	char issuer[REPO_ID_MAX + 1];
	struct serial serial;
	enum cert_status status;
	char profile[REPO_ID_MAX + 1];
	uint8_t ref[REPO_REF_MAX];
	size_t ref_len;
	uint8_t req_hash[32];   /* SHA-256 of the canonical request: detects a ref reused for another request */
	int64_t not_before;
	int64_t not_after;
	int64_t created;
	char subject[REPO_SUBJECT_MAX + 1];
	uint8_t *der;           /* NULL while pending; malloc'd, freed by repo_cert_clear() */
	size_t der_len;
	int64_t revoked_at;     /* when status == CERT_REVOKED */
	int reason;             /* CRL_REASON_NONE or an RFC 5280 reason */
};

/* A revocation, also for serials the repository does not know. */
struct repo_revocation {
	char issuer[REPO_ID_MAX + 1];
	struct serial serial;
	int64_t revoked_at;
	int reason;
	uint8_t ref[REPO_REF_MAX];
	size_t ref_len;
	uint8_t origin;         /* node that recorded it */
};

struct repo;
struct repo_txn;

/* --- repository functions (repo section: signer/repo*.c) --- */

/*
 * Layout (schema version 1). A repository is a directory holding LMDB's
 * data.mdb and lock.mdb; a backup is one file (repo_backup). Databases:
 *
 *   meta     "schema" -> u32 BE schema version
 *            "node"   -> u8 node id (1..127) that owns the repository
 *            "vv" || origin (u8) -> u64 BE highest contiguous event seq
 *   certs    cert key -> certificate record (repo_cert_decode)
 *   refs     sign ref (1..REPO_REF_MAX bytes) -> cert key
 *   revoked  cert key -> revocation record (repo_revocation_decode)
 *   revrefs  revoke ref (1..REPO_REF_MAX bytes) -> cert key
 *   events   origin (u8) || seq (u64 BE, 1, 2, ...) -> event (repo_event_decode)
 *   stats    issuer id -> certificates, pending, revoked (3 x u64 BE)
 *   revlog   issuer prefix || u64 BE mark -> cert key: the revocations of
 *            an issuer in the order recorded or last replaced here; the
 *            issuer's mark is the highest (a replaced revocation moves to
 *            a new mark and leaves a gap), one entry per revocation
 *   crls     issuer prefix || u8 kind (0 complete, 1 delta) || u64 BE CRL
 *            number -> CRL record (repo_crl_decode)
 *   meta     "crlmax" || issuer id -> u64 BE highest CRL number made or seen
 *            "superseded" || cert key -> cert key: a certificate whose ref
 *            was issued on another node too, and the one that kept the ref
 *
 * cert key = u8 length || issuer id || u8 length || serial: the keys of one
 * issuer are contiguous and in numeric serial order. Records are a bounded
 * binary layout (signer/repo_codec.c) whose first byte is its format.
 *
 * Every change is written with its event in the same transaction. An event
 * is one msgpack map with string keys:
 *   all      "type": "issue" | "revoke", "origin": uint 1..127, "seq": uint >= 1
 *   issue    "issuer": str, "serial": bin, "profile": str, "ref": bin,
 *            "req_hash": bin (32), "not_before", "not_after", "created": int,
 *            "subject": str, "der": bin
 *   revoke   "issuer": str, "serial": bin, "revoked_at": int,
 *            "reason": int (CRL_REASON_NONE or 0..10), "ref": bin
 *   crl      "issuer": str, "number": uint, "delta_base": uint (0: a
 *            complete CRL), "this_update", "next_update": int
 * Reservations are local and have no event: a reserved serial that was never
 * issued was never given to anyone. Receivers ignore keys they do not know.
 *
 * Replication (signer/repo_apply.c): a node applies the events of another
 * origin in sequence order and logs them under their own origin and seq,
 * as received. Serials carry their issuing node in their first byte, so
 * certificates of two nodes never collide. The revocation of a serial that
 * wins is the earliest, then the one of the lower origin (then lower
 * reason, then lower ref bytes): a winning revocation replaces the one
 * recorded. When one ref was issued on two nodes both certificates are
 * kept, the ref index keeps the lower serial and the higher one is revoked
 * as superseded by a revocation derived from it alone (at its creation
 * time, origin its issuing node, ref the 12 bytes "\0superseded:" then its
 * cert key), recorded on each node without an event.
 */

#define REPO_CREATE 0x1         /* repo_open: create the repository if it does not exist */
#define REPO_RDONLY 0x2         /* repo_open: read only (signerctl verify, a backup) */
#define REPO_FILE 0x4           /* repo_open: path is a single file (a backup), not a directory */
#define REPO_MAP_MAX_MB 1048576 /* the map never grows past 1 TiB */
#define REPO_EVENT_MAX (REPO_DER_MAX + 4096) /* largest event value accepted */
#define REPO_REASON_MAX 10      /* aACompromise, the last RFC 5280 CRLReason */

#define REPO_CRL_MAX (64u * 1024 * 1024 + 65536) /* largest CRL recorded, DER bytes */

enum repo_event_type {
	REPO_EVENT_ISSUE = 1,
	REPO_EVENT_REVOKE = 2,
	REPO_EVENT_CRL = 3,
};

/* A CRL as recorded. */
struct repo_crl {
	char issuer[REPO_ID_MAX + 1];
	uint64_t number;        /* cRLNumber, >= 1 */
	uint64_t delta_base;    /* 0: a complete CRL; else the base of this delta */
	int64_t this_update;
	int64_t next_update;
	uint64_t rev_mark;      /* the issuer's revocations it covers (repo_revlog_mark) */
	uint64_t entries;       /* revoked entries listed */
	const uint8_t *der;     /* NULL when pruned; points into the repository (see repo_crl_latest) */
	size_t der_len;
};

/* One entry of a CRL being built, with what decides whether it is listed. */
struct repo_crl_entry {
	struct serial serial;
	int64_t revoked_at;
	int reason;             /* CRL_REASON_NONE or an RFC 5280 reason */
	int64_t not_after;      /* the certificate's notAfter; 0 when it is not known here */
};

/* A decoded event; the member matching type is filled. */
struct repo_event {
	enum repo_event_type type;
	uint8_t origin;
	uint64_t seq;
	struct repo_cert cert;          /* ISSUE: status CERT_ISSUED, der owned */
	struct repo_revocation rev;     /* REVOKE */
	struct repo_crl crl;            /* CRL: no DER, rev_mark and entries 0 */
};

/* Counters of one issuer (or of all). */
struct repo_stats {
	uint64_t certs;         /* certificate records, pending ones included */
	uint64_t pending;       /* reserved, not yet issued */
	uint64_t revoked;       /* revocations, of unknown serials too */
};

/*
 * Open the repository at path for node (1..127) with a map of map_size_mb
 * MiB (grown on demand up to REPO_MAP_MAX_MB). flags: REPO_CREATE creates
 * the directory (mode 0700) and an empty repository owned by node when there
 * is none; REPO_RDONLY opens read only, where node 0 accepts any owner;
 * REPO_FILE opens a single file (a backup). Checks the schema version and
 * that the repository belongs to node, and clears stale reader slots.
 * *out is the caller's (repo_close). Returns 0, ERR_NOT_FOUND (no
 * repository and no REPO_CREATE), ERR_REPO (schema version, wrong node,
 * LMDB failure), ERR_INVAL or ERR_NOMEM, with a message naming path.
 */
int repo_open(const char *path, uint8_t node, size_t map_size_mb, int flags,
    struct repo **out, char *why, size_t whylen);
/* Close r; every transaction must have ended. NULL is a no-op. */
void repo_close(struct repo *r);
/* The node id the repository belongs to. */
uint8_t repo_node(const struct repo *r);

/*
 * Begin a transaction; a write transaction is exclusive and durable when
 * repo_commit returns. Transactions of one repo are used by one thread at a
 * time. *out ends with repo_commit or repo_abort. Returns 0, ERR_INVAL
 * (write on a read-only repository) or ERR_REPO.
 */
int repo_begin(struct repo *r, bool write, struct repo_txn **out, char *why,
    size_t whylen);
/*
 * Commit and free t. Refused (ERR_REPO, t aborted) when a write operation
 * of t, or LMDB itself, failed with ERR_REPO, ERR_NOMEM or ERR_INTERNAL: it
 * may have written half of its change. ERR_CONFLICT, ERR_NOT_FOUND,
 * ERR_BAD_REQUEST and ERR_INVAL leave t intact. When the map was full, it grows once no transaction is
 * open, and the caller retries the whole transaction.
 */
int repo_commit(struct repo_txn *t, char *why, size_t whylen);
/* Abort and free t; NULL is a no-op. */
void repo_abort(struct repo_txn *t);

/*
 * Run fn in a write transaction and commit it; when the map fills up, grow
 * it and run fn again in a new transaction (so fn must keep nothing from an
 * earlier run but what it writes to the repository). fn returns 0 to commit,
 * anything else to abort: that value is returned. Returns 0 or an ERR_*.
 */
int repo_update(struct repo *r,
    int (*fn)(struct repo_txn *t, void *ctx, char *why, size_t whylen),
    void *ctx, char *why, size_t whylen);

/*
 * Reserve a serial for a sign request before the HSM signs. req gives
 * issuer, profile, ref, req_hash, not_before, not_after, created and
 * subject (other fields are ignored). When req->ref is new, a fresh unique
 * serial is recorded with status CERT_PENDING; when it is known with the
 * same req_hash and profile, the recorded certificate (pending, issued or
 * revoked) is returned unchanged. *out (cleared on entry; repo_cert_clear)
 * receives the record. Returns 0, ERR_CONFLICT (ref reused for another
 * request), ERR_BAD_REQUEST (a field out of range), ERR_INVAL or ERR_REPO.
 */
int repo_cert_reserve(struct repo_txn *t, const struct repo_cert *req,
    struct repo_cert *out, char *why, size_t whylen);

/*
 * Record the signed certificate (1..REPO_DER_MAX bytes of DER) of a
 * reservation: status CERT_ISSUED (a revoked reservation stays revoked) and
 * an issue event. Recording the same DER again changes nothing. *out (may
 * be NULL; repo_cert_clear) receives the record. Returns 0, ERR_NOT_FOUND
 * (no such reservation), ERR_CONFLICT (already issued with other DER),
 * ERR_BAD_REQUEST, ERR_INVAL or ERR_REPO.
 */
int repo_cert_issue(struct repo_txn *t, const char *issuer,
    const struct serial *serial, const uint8_t *der, size_t der_len,
    struct repo_cert *out, char *why, size_t whylen);

/* The certificate of a sign ref into *out (repo_cert_clear); 0, ERR_NOT_FOUND or ERR_REPO. */
int repo_ref_find(struct repo_txn *t, const uint8_t *ref, size_t ref_len,
    struct repo_cert *out, char *why, size_t whylen);
/* The certificate (issuer, serial) into *out (repo_cert_clear); 0, ERR_NOT_FOUND or ERR_REPO. */
int repo_cert_get(struct repo_txn *t, const char *issuer,
    const struct serial *serial, struct repo_cert *out, char *why,
    size_t whylen);
/* Free what c owns and clear it; NULL is a no-op. */
void repo_cert_clear(struct repo_cert *c);

/*
 * Revoke req->serial of req->issuer at req->revoked_at for req->reason
 * (CRL_REASON_NONE or 0..10 but 7) under req->ref (refs starting with
 * "\0superseded:" are reserved, see Replication); req->origin is ignored.
 * A known revoke ref returns its revocation when it names the same serial
 * and reason (ERR_CONFLICT otherwise). An already revoked serial returns the
 * first revocation, records nothing and writes no event. Otherwise the
 * revocation is recorded, also for a serial the repository does not know,
 * the certificate's status becomes CERT_REVOKED and a revoke event is
 * written. *out (may be NULL) receives the revocation in force. Returns 0,
 * ERR_CONFLICT, ERR_BAD_REQUEST, ERR_INVAL or ERR_REPO.
 */
int repo_revoke(struct repo_txn *t, const struct repo_revocation *req,
    struct repo_revocation *out, char *why, size_t whylen);
/* The revocation of (issuer, serial) into *out; 0, ERR_NOT_FOUND or ERR_REPO. */
int repo_revocation_get(struct repo_txn *t, const char *issuer,
    const struct serial *serial, struct repo_revocation *out, char *why,
    size_t whylen);

/*
 * Call cb for each revocation of issuer in serial order (for CRLs). The
 * record is valid during the call only. A non-zero return of cb stops the
 * iteration and is returned. Returns 0, cb's value or ERR_REPO.
 */
int repo_revoked_foreach(struct repo_txn *t, const char *issuer,
    int (*cb)(const struct repo_revocation *rev, void *ctx), void *ctx,
    char *why, size_t whylen);
/* The same for certificates, of issuer or of all issuers (NULL): by issuer, then serial. */
int repo_cert_foreach(struct repo_txn *t, const char *issuer,
    int (*cb)(const struct repo_cert *cert, void *ctx), void *ctx,
    char *why, size_t whylen);

/*
 * Call cb for each event of origin with a sequence number above after_seq,
 * in order, with the stored msgpack bytes (valid during the call; see
 * repo_event_decode). A non-zero return of cb stops and is returned.
 */
int repo_events_foreach(struct repo_txn *t, uint8_t origin, uint64_t after_seq,
    int (*cb)(uint8_t origin, uint64_t seq, const uint8_t *event, size_t len,
    void *ctx), void *ctx, char *why, size_t whylen);
/* The highest contiguous event sequence of origin (0: none) into *seq; 0 or ERR_REPO. */
int repo_vv_get(struct repo_txn *t, uint8_t origin, uint64_t *seq, char *why,
    size_t whylen);

/* The whole version vector: vv[origin] for origins 1..REPO_NODE_MAX, vv[0] = 0; 0 or ERR_REPO. */
int repo_vv_all(struct repo_txn *t, uint64_t vv[REPO_NODE_MAX + 1], char *why,
    size_t whylen);

/*
 * Call fn(ctx) after every write transaction that commits, in the thread
 * that committed (replication wakes on it); fn NULL removes the hook. fn
 * must be quick and safe to call from any thread.
 */
void repo_on_commit(struct repo *r, void (*fn)(void *ctx), void *ctx);

#define REPO_APPLY_KNOWN 1       /* repo_event_apply: the event was applied before */
#define REPO_DIGEST_LEN 32       /* SHA-256 */

/*
 * Apply one event (msgpack bytes, as repo_events_foreach gives them) that
 * node origin (not this node) logged, in t; a batch is several calls in
 * one transaction. The event must be the next of origin (version vector +
 * 1). Returns 0 when applied and logged under its origin and seq,
 * REPO_APPLY_KNOWN when this very event was applied before (nothing
 * changes), ERR_BAD_REQUEST (undecodable, another origin, this node's own
 * origin, a serial without its origin's prefix, a reserved ref),
 * ERR_CONFLICT (a gap, a different event under an applied seq, a serial
 * held with other DER), ERR_INVAL or ERR_REPO, with a message naming the
 * event. A refusal changes nothing; ERR_REPO breaks t.
 */
int repo_event_apply(struct repo_txn *t, uint8_t origin, const uint8_t *event,
    size_t len, char *why, size_t whylen);
/* The same for an event that must carry sequence seq (ERR_BAD_REQUEST otherwise); seq 0: any. */
int repo_event_apply_at(struct repo_txn *t, uint8_t origin, uint64_t seq,
    const uint8_t *event, size_t len, char *why, size_t whylen);

struct sync_store;
/*
 * The repository as the sync module's store (signer/repo_sync.c): its
 * version vector, its event log read in order, and batches of a peer's
 * events applied in one transaction each. r must outlive the store.
 */
void repo_sync_store(struct repo *r, struct sync_store *out);

/*
 * Call cb for each certificate superseded by another of its ref (issuer,
 * its serial, the serial that kept the ref), by issuer then serial. A
 * non-zero return of cb stops and is returned; 0, cb's value or ERR_REPO.
 */
int repo_superseded_foreach(struct repo_txn *t,
    int (*cb)(const char *issuer, const struct serial *superseded,
    const struct serial *kept, void *ctx), void *ctx, char *why,
    size_t whylen);
/* The number of superseded certificates into *n; 0 or ERR_REPO. */
int repo_superseded_count(struct repo_txn *t, uint64_t *n, char *why,
    size_t whylen);

/* A digest of the replicated content and what it covers. */
struct repo_digest {
	uint8_t hash[REPO_DIGEST_LEN];
	uint64_t certs;         /* issued certificates (revoked ones included) */
	uint64_t revocations;   /* revocations, of unknown serials too */
};

/*
 * SHA-256 over the replicated content of r, read in one transaction: the
 * issued certificate records and the revocations, in key order. Two nodes
 * holding the same certificates and revocations get the same digest;
 * reservations, CRL records, the event log, indexes, counters and the node
 * id do not count. Returns 0, ERR_NOMEM or ERR_REPO.
 */
int repo_digest(struct repo *r, struct repo_digest *out, char *why,
    size_t whylen);

/*
 * CRLs (signer/repo_crl.c). The mark of an issuer grows with each
 * revocation recorded or replaced; a CRL made at mark m covers the
 * revocations at marks up to m, so a delta against it lists those
 * recorded or replaced after m.
 */
/* The issuer's current revocation mark into *mark; 0 or ERR_REPO. */
int repo_revlog_mark(struct repo_txn *t, const char *issuer, uint64_t *mark,
    char *why, size_t whylen);

/*
 * Call cb for the revocations of issuer with a mark above after_mark (0: all
 * of them), in serial order, each with the notAfter of its certificate when
 * the repository knows it. The entry is valid during the call only. A
 * non-zero return of cb stops the iteration and is returned. Returns 0, cb's
 * value, ERR_NOMEM or ERR_REPO.
 */
int repo_crl_entries(struct repo_txn *t, const char *issuer, uint64_t after_mark,
    int (*cb)(const struct repo_crl_entry *e, void *ctx), void *ctx,
    char *why, size_t whylen);

/*
 * Record a CRL just made (c->der may be NULL for one known from an event) and
 * write its crl event. Its number must be above every number recorded or seen
 * for the issuer (ERR_CONFLICT otherwise); a delta's base must be a complete
 * CRL still held (ERR_NOT_FOUND). Older records are pruned: a complete CRL
 * keeps its DER only while it is the latest, and stays as a delta base until
 * its nextUpdate has passed; for each base only the latest delta is kept.
 * Returns 0, ERR_CONFLICT, ERR_NOT_FOUND, ERR_BAD_REQUEST, ERR_NOMEM or ERR_REPO.
 */
int repo_crl_put(struct repo_txn *t, const struct repo_crl *c, char *why,
    size_t whylen);

/*
 * The latest complete CRL of issuer (delta_base 0), or the latest delta CRL
 * against delta_base, into *out; its der points into the repository and is
 * valid until t ends. Returns 0, ERR_NOT_FOUND or ERR_REPO.
 */
int repo_crl_latest(struct repo_txn *t, const char *issuer, uint64_t delta_base,
    struct repo_crl *out, char *why, size_t whylen);

/* The complete CRL numbered number, while it is held as a delta base; as repo_crl_latest. */
int repo_crl_base(struct repo_txn *t, const char *issuer, uint64_t number,
    struct repo_crl *out, char *why, size_t whylen);

/* The highest CRL number made or seen for issuer (0: none) into *number; 0 or ERR_REPO. */
int repo_crl_number_max(struct repo_txn *t, const char *issuer,
    uint64_t *number, char *why, size_t whylen);

/* Counters of issuer, or summed over every issuer (NULL), into *out; 0 or ERR_REPO. */
int repo_stats(struct repo_txn *t, const char *issuer, struct repo_stats *out,
    char *why, size_t whylen);
/* Call cb with the counters of each issuer, by issuer id; as repo_revoked_foreach. */
int repo_stats_foreach(struct repo_txn *t,
    int (*cb)(const char *issuer, const struct repo_stats *st, void *ctx),
    void *ctx, char *why, size_t whylen);

/*
 * Check the whole repository in one read transaction: every record and
 * event parses, keys match records, the ref and revocation indexes agree
 * with the certificates, counters match, the event log of every origin is
 * contiguous from 1 and ends at its version vector entry. cb (may be NULL)
 * receives each problem as a sentence. Returns the number of problems
 * (0: sound), or ERR_REPO / ERR_NOMEM when the check could not run.
 */
int repo_verify(struct repo *r, void (*cb)(const char *problem, void *ctx),
    void *ctx, char *why, size_t whylen);

/*
 * Write a compacted, consistent copy of the repository to the new file path
 * (mode 0600; an existing path is refused with ERR_CONFLICT) while writers
 * go on. The file is a data.mdb: open it with REPO_FILE, or restore it as
 * DIR/data.mdb. Returns 0, ERR_CONFLICT, ERR_SYSTEM or ERR_REPO.
 */
int repo_backup(struct repo *r, const char *path, char *why, size_t whylen);

/*
 * Decoders of stored values, for untrusted bytes: each fills *out (cleared
 * on entry) or returns ERR_REPO with the first fault (why may be NULL).
 * repo_cert_decode and repo_event_decode allocate the DER: repo_cert_clear,
 * repo_event_clear.
 */
int repo_cert_decode(const uint8_t *buf, size_t len, struct repo_cert *out,
    char *why, size_t whylen);
int repo_revocation_decode(const uint8_t *buf, size_t len,
    struct repo_revocation *out, char *why, size_t whylen);
int repo_event_decode(const uint8_t *buf, size_t len, struct repo_event *out,
    char *why, size_t whylen);
/* A CRL record; out->der points into buf. */
int repo_crl_decode(const uint8_t *buf, size_t len, struct repo_crl *out,
    char *why, size_t whylen);
void repo_event_clear(struct repo_event *ev);

/*
 * Encoders matching the decoders; *out is malloc'd (caller frees). Return 0,
 * ERR_INVAL (a field the decoder would refuse) or ERR_NOMEM.
 */
int repo_cert_encode(const struct repo_cert *c, uint8_t **out, size_t *len);
int repo_revocation_encode(const struct repo_revocation *rev, uint8_t **out,
    size_t *len);
int repo_event_encode(const struct repo_event *ev, uint8_t **out, size_t *len);
int repo_crl_encode(const struct repo_crl *c, uint8_t **out, size_t *len);

/* --- end of repository section --- */

/* ===================================================================== */
/* Certificates: CSR checks, building, pre-issuance lint (signer/csr.c,   */
/* signer/build.c, signer/lint.c, signer/issuer.c)                        */
/* ===================================================================== */

/* --- certificate functions (certificates section) --- */

#define CERT_CSR_MAX 16384          /* largest CSR accepted, DER bytes */
#define CERT_DER_DEPTH_MAX 32       /* deepest ASN.1 nesting accepted in a CSR */
#define CERT_SUBJECT_MAX 32         /* most subject attributes in a request or CSR */
#define CERT_SAN_LIMIT 1000         /* most subjectAltName entries, whatever a profile says */
#define CERT_VALUE_MAX 1024         /* longest subject or subjectAltName value, bytes */
#define CERT_DNS_MAX 253            /* longest DNS name, no trailing dot */
#define CERT_LABEL_MAX 63           /* longest DNS label */
#define CERT_EMAIL_MAX 254          /* longest email address (RFC 5321 path) */
#define CERT_EMAIL_LOCAL_MAX 64     /* longest local part of an email address */
#define CERT_IP_TEXT_MAX 45         /* longest textual IPv6 address */
#define CERT_RSA_MIN_BITS 2048      /* floor under every profile's rsa_min_bits */
#define CERT_RSA_MAX_BITS 16384     /* largest RSA modulus accepted */
#define CERT_RSA_EXPONENT 65537     /* the only RSA public exponent accepted */
#define CERT_KEYID_MAX 64           /* longest issuer subjectKeyIdentifier accepted */
#define CERT_SKI_LEN 20             /* our SKIs: RFC 7093 method 1 (SHA-256, leftmost 160 bits) */
#define CERT_SERIAL_MIN 9           /* fewest serial octets a certificate may carry */
#define CERT_URI_MAX 1024           /* longest URI in a profile after expansion */
#define CERT_DAY_SECONDS 86400
#define CERT_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define CERT_HASH_LEN 32            /* cert_request_hash output: SHA-256 */
#define CERT_WHY_MAX 256            /* messages written to why fit in this (MSG_ERRMSG_MAX) */

/*
 * A loaded issuer: the CA certificate of a conf_issuer. Fill with
 * issuer_load() or issuer_init(), release with issuer_clear().
 */
struct cert_issuer {
	const struct conf_issuer *conf; /* not owned; must outlive the issuer */
	X509 *cert;                     /* owned */
	uint8_t ski[CERT_KEYID_MAX];    /* the CA's subjectKeyIdentifier */
	size_t ski_len;
	int64_t not_before;             /* the CA certificate's validity, Unix seconds */
	int64_t not_after;
	int path_len;                   /* the CA's pathLenConstraint, -1 if none */
};

/*
 * One subject attribute ("CN", "O", ...) or subjectAltName entry ("dns",
 * "email", "ip", "uri") as received: UTF-8, not NUL-terminated.
 */
struct cert_pair {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* A sign request as received; nothing is owned. */
struct cert_request {
	const char *profile;            /* profile name, not NUL-terminated; NULL: not checked */
	size_t profile_len;
	const uint8_t *csr;             /* PKCS#10, DER */
	size_t csr_len;
	const struct cert_pair *subject; /* n_subject == 0: none given (see subject_from_csr) */
	size_t n_subject;
	const struct cert_pair *san;
	size_t n_san;
	uint32_t days;                  /* 0: the profile's default_days */
	/*
	 * Re-signing a pending reservation: the validity and issuer recorded
	 * with it. Both times 0 and issuer NULL for a new request.
	 */
	int64_t not_before;
	int64_t not_after;
	const char *issuer;             /* NUL-terminated issuer id, or NULL: choose */
};

/* Validated subject and subjectAltName entries, ready for cert_build(). */
struct cert_names;

/*
 * Load the CA certificate (PEM, exactly one) of conf into iss (cleared on
 * entry) and check it is usable: a CA (basicConstraints cA), allowed to sign
 * certificates (keyUsage keyCertSign if keyUsage is present), with a
 * subjectKeyIdentifier. Returns 0, ERR_CONFIG (unreadable file, not a CA,
 * no SKI, ...) or ERR_NOMEM with a message naming the issuer.
 */
int issuer_load(const struct conf_issuer *conf, struct cert_issuer *iss,
    char *why, size_t whylen);
/* The same from a parsed certificate; iss takes its own reference to cert. */
int issuer_init(const struct conf_issuer *conf, X509 *cert,
    struct cert_issuer *iss, char *why, size_t whylen);
/* Release what iss owns and clear it; NULL is a no-op. */
void issuer_clear(struct cert_issuer *iss);

/*
 * Choose the issuer for a certificate valid [not_before, not_after]: among
 * issuers[0..n) that profile p lists, the newest (latest notBefore) whose
 * validity covers the whole interval; want (or NULL) forces one issuer id.
 * *out points into issuers. ERR_POLICY when none covers it ("no issuer of
 * profile 'server' covers 2026-11-23..2027-12-25 (server-2026 ends
 * 2027-06-30)"), ERR_NOT_FOUND when p has no loaded issuer or want is unknown.
 */
int issuer_select(const struct conf_profile *p, const struct cert_issuer *issuers,
    size_t n, const char *want, int64_t not_before, int64_t not_after,
    const struct cert_issuer **out, char *why, size_t whylen);

/* An ASN1_TIME as Unix seconds; ERR_INVAL if it is malformed. */
int cert_time_get(const ASN1_TIME *t, int64_t *out);

/*
 * Parse a CSR strictly: 1..CERT_CSR_MAX bytes of DER (definite minimal
 * lengths, no trailing bytes, canonical re-encoding), PKCS#10 version 1.
 * *out is the caller's (X509_REQ_free). ERR_BAD_REQUEST with the reason.
 * The signature is not checked here: see csr_check(). Nor is the public key
 * decoded (X509_REQ_get0_pubkey() of the result is NULL): the checks decode
 * it from its bytes, and cert_build() copies them.
 */
int csr_parse(const uint8_t *der, size_t len, X509_REQ **out, char *why,
    size_t whylen);

/*
 * Check a parsed CSR against profile p: its public key (cert_check_key), then
 * its self-signature (proof of possession: "CSR signature does not verify").
 * Returns 0, ERR_POLICY or ERR_BAD_REQUEST.
 */
int csr_check(X509_REQ *req, const struct conf_profile *p, char *why,
    size_t whylen);

/*
 * Check a public key against p: RSA (CERT_RSA_MIN_BITS and p->rsa_min_bits
 * ..CERT_RSA_MAX_BITS, exponent 65537) or EC on a named curve p allows
 * (P-256, P-384); everything else is refused. The key is decoded from its
 * bytes (a key cached with them is not used); an EC point must lie on the
 * curve. what names the key in the message ("CSR"). Returns 0, ERR_POLICY
 * or ERR_BAD_REQUEST (undecodable).
 */
int cert_check_key(const X509_PUBKEY *key, const struct conf_profile *p,
    const char *what, char *why, size_t whylen);

/*
 * Validate the request's subject and subjectAltName entries against p into
 * *out (cert_names_free). The subject comes from the request, or from csr
 * when the request has none and p->subject_from_csr; csr may be NULL
 * otherwise. Encoding faults (invalid UTF-8, embedded NUL, unknown attribute
 * or type, oversized) are ERR_BAD_REQUEST; rule violations ERR_POLICY.
 */
int cert_names_parse(const struct conf_profile *p, const struct cert_request *req,
    X509_REQ *csr, struct cert_names **out, char *why, size_t whylen);
void cert_names_free(struct cert_names *names);

/*
 * Build the unsigned certificate: v3, serial, issuer name = CA subject,
 * validity, the CSR's public key, subject and extensions per profile
 * (basicConstraints and keyUsage critical, extendedKeyUsage,
 * subjectAltName, critical when the subject is empty, subjectKeyIdentifier
 * by RFC 7093 method 1, authorityKeyIdentifier = the issuer's SKI (keyid
 * only), crlDistributionPoints, authorityInfoAccess, certificatePolicies).
 * keyUsage bits that do not fit the key type are dropped (keyEncipherment
 * for EC, keyAgreement for RSA, ...). In profile URIs "{issuer}" stands for
 * the issuer id. The signature fields are left for the signer to stamp.
 * *out is the caller's (X509_free). Returns 0, ERR_CONFIG, ERR_INVAL,
 * ERR_POLICY, ERR_NOMEM or ERR_INTERNAL.
 */
int cert_build(const struct conf_profile *p, const struct cert_issuer *iss,
    X509_REQ *csr, const struct cert_names *names, const struct serial *serial,
    int64_t not_before, int64_t not_after, X509 **out, char *why, size_t whylen);

/*
 * Set the serial number of the unsigned certificate x (from cert_build or
 * cert_prepare) to s, which replaces the one it had. Its checks do not follow
 * by themselves: run cert_lint() on x again. Returns 0, ERR_INVAL (s is
 * empty, too long or has a leading zero byte) or ERR_NOMEM.
 */
int cert_set_serial(X509 *x, const struct serial *s);

/* The RFC 7093 method 1 key identifier of key into out; 0 or ERR_INTERNAL. */
int cert_ski(const X509_PUBKEY *key, uint8_t out[CERT_SKI_LEN]);

/*
 * Pre-issuance checks of an unsigned certificate against p, iss, RFC 5280
 * and the Baseline Requirements rules that apply. Returns 0 or ERR_POLICY
 * with the rule that failed, e.g. "dns name 'a..example.org': empty label".
 */
int cert_lint(const X509 *tbs, const struct conf_profile *p,
    const struct cert_issuer *iss, char *why, size_t whylen);

/*
 * The validity of a request made at now: [now - backdate, + days) or the
 * reservation's times. ERR_POLICY when days or the period exceed p->max_days.
 */
int cert_validity(const struct conf_profile *p, const struct cert_request *req,
    int64_t now, int64_t *not_before, int64_t *not_after, char *why,
    size_t whylen);

/*
 * Check a request without building anything: CSR, key, proof of possession,
 * names, validity; then choose the issuer among issuers[0..n). Sets *chosen
 * (into issuers), *not_before and *not_after, which a serial reservation
 * records. Returns 0 or the first error, as the functions above.
 */
int cert_plan(const struct conf_profile *p, const struct cert_issuer *issuers,
    size_t n, const struct cert_request *req, int64_t now,
    const struct cert_issuer **chosen, int64_t *not_before, int64_t *not_after,
    char *why, size_t whylen);

/*
 * cert_plan(), then cert_build() with serial and cert_lint(). On success
 * *tbs_out is the unsigned certificate (caller's, X509_free) and *chosen
 * (may be NULL) its issuer; on failure nothing is output.
 */
int cert_prepare(const struct conf_profile *p, const struct cert_issuer *issuers,
    size_t n, const struct cert_request *req, const struct serial *serial,
    int64_t now, X509 **tbs_out, const struct cert_issuer **chosen, char *why,
    size_t whylen);

/*
 * SHA-256 of a length-prefixed canonical encoding of the request's profile,
 * CSR, subject, subjectAltName (in order) and days: equal requests give equal
 * hashes. Returns 0 or ERR_INTERNAL.
 */
int cert_request_hash(const struct cert_request *req, uint8_t out[CERT_HASH_LEN]);

/* --- end of certificates section --- */

/* ===================================================================== */
/* Engine: issuance and revocation through the repository and the HSM    */
/* (signer/engine.c)                                                      */
/* ===================================================================== */

#define SIGNER_BATCH_MAX 64     /* most requests signed in one batch */

#define SIGNER_OPEN_CREATE 0x1  /* create the repository if there is none (signerctl init) */
#define SIGNER_OPEN_NO_HSM 0x2  /* repository and issuers only: no token (signerctl list, show, verify) */
#define SIGNER_OPEN_RDONLY 0x4  /* open the repository read only (implies SIGNER_OPEN_NO_HSM) */

struct signer;

/*
 * Open the engine for conf (which must outlive it): load every issuer's CA
 * certificate, open the repository and, unless SIGNER_OPEN_NO_HSM, the
 * token, and find every issuer's key on it (bound to the CA certificate's
 * public key). *out is the caller's (signer_close). Returns 0 or the first
 * error (ERR_CONFIG, ERR_NOT_FOUND, ERR_PIN, ERR_HSM, ERR_REPO, ...) with a
 * message naming the issuer, file or token.
 */
int signer_open(const struct conf_signerd *conf, int flags, struct signer **out,
    char *why, size_t whylen);
/* Close s; NULL is a no-op. */
void signer_close(struct signer *s);
/* The engine's repository, HSM (NULL with SIGNER_OPEN_NO_HSM) and issuers. */
struct repo *signer_repo(struct signer *s);
struct hsm *signer_hsm(struct signer *s);
const struct cert_issuer *signer_issuers(const struct signer *s, size_t *n);
/* The HSM key of issuer i (0..n-1 of signer_issuers), NULL without HSM. */
struct hsm_key *signer_issuer_key(const struct signer *s, size_t i);

/* One sign request of a batch, and its outcome. */
struct sign_job {
	struct cert_request req;        /* in: the request (profile, csr, names, days) */
	const uint8_t *ref;             /* in: the client's reference, 1..REPO_REF_MAX bytes */
	size_t ref_len;
	int err;                        /* out: 0 or ERR_* */
	char why[CERT_WHY_MAX];         /* out: the reason when err != 0 */
	struct repo_cert cert;          /* out: the recorded certificate when err == 0 (repo_cert_clear) */
};

/*
 * Issue the certificates of jobs[0..n) (n <= SIGNER_BATCH_MAX) at time now.
 * Each request is checked, its serial and request are durably reserved in
 * the repository before the HSM signs, and the certificate is durably
 * recorded before this returns: the order that lets a crash never leave a
 * certificate whose serial the repository does not know. A ref already
 * issued returns the very same certificate; a ref reused for a different
 * request fails with ERR_CONFLICT; a pending reservation is signed again with
 * its recorded validity and serial. Each job gets its own outcome; the
 * return value is 0, or an error that failed the whole batch (ERR_INVAL,
 * ERR_REPO), also set in every job not done.
 */
int signer_sign(struct signer *s, struct sign_job *jobs, size_t n, int64_t now);

/* One revocation request, and its outcome. */
struct revoke_job {
	const char *issuer;             /* in: NUL-terminated issuer id */
	struct serial serial;           /* in */
	int reason;                     /* in: CRL_REASON_NONE or an RFC 5280 CRLReason */
	int64_t time;                   /* in: revocation time; 0: now */
	const uint8_t *ref;             /* in: the client's reference */
	size_t ref_len;
	int err;                        /* out */
	char why[CERT_WHY_MAX];
	struct repo_revocation rev;     /* out: the revocation in force */
};

/*
 * Record the revocations of jobs[0..n) (n <= SIGNER_BATCH_MAX) in one durable
 * transaction. A serial the repository does not know is recorded too (the
 * CRL must list it); the first revocation of a serial stays in force. The
 * issuer must be configured (ERR_NOT_FOUND); a time in the future beyond
 * now is refused (ERR_BAD_REQUEST). Returns as signer_sign().
 */
int signer_revoke(struct signer *s, struct revoke_job *jobs, size_t n, int64_t now);

/* ===================================================================== */
/* Demo environment (signer/demo*.c)                                      */
/* ===================================================================== */

#define SIGNER_DEMO_TOKEN "signer-demo"  /* label of the demo's SoftHSM2 token */

/*
 * Create a throwaway environment in dir, which is created (mode 0700) when
 * absent and must otherwise be an empty directory: softhsm2.conf, tokens/
 * and env (". dir/env" exports SOFTHSM2_CONF); a SoftHSM2 token
 * SIGNER_DEMO_TOKEN whose random user PIN is in pin (mode 0600); on it the
 * keys root (CKA_ID 01, RSA-3072), server-ca (02, RSA-3072) and client-ca
 * (03, ECDSA P-256); a root CA and the issuing CAs server-ca and client-ca,
 * all signed on the token, in ca/ (<id>.pem, root.pem, chain-<kind>.pem);
 * signerd.yaml and client.yaml. The repository is not created. Runs
 * softhsm2-util and pkcs11-tool (found in PATH) and sets SOFTHSM2_CONF in
 * this process's environment so that the caller can use the token; no hsm
 * may be open. On failure dir is left as it was found and SOFTHSM2_CONF is
 * restored. Returns 0, ERR_CONFLICT (dir not empty or not a directory),
 * ERR_INVAL, ERR_SYSTEM, ERR_HSM (a tool or the token failed), ERR_TIMEOUT,
 * ERR_PIN, ERR_NOMEM or ERR_INTERNAL, with the reason in why.
 */
int signer_demo_create(const char *dir, char *why, size_t whylen);

/* --- end of demo section --- */

/* ===================================================================== */
/* CRL (signer/crl.c)                                                     */
/* ===================================================================== */

#define CRL_NUMBER_NODE_FACTOR 256 /* number = thisUpdate * this + node (docs/protocol.md 5.5.2) */
#define CRL_META_ONLY UINT64_MAX  /* crl_get: have: the DER is not wanted */

/* A CRL of one issuer: what the repository records with it, and its DER. */
struct crl {
	uint64_t number;
	uint64_t delta_base;    /* 0: a complete CRL */
	int64_t this_update;
	int64_t next_update;
	uint64_t rev_mark;      /* the issuer's revocations it covers */
	uint64_t entries;       /* revoked entries listed */
	uint8_t *der;           /* malloc'd (crl_clear); NULL: see crl_get */
	size_t len;
};

/* Free what c owns and clear it; NULL is a no-op. */
void crl_clear(struct crl *c);

/*
 * The number of a CRL made at this_update by node when max is the highest
 * number made or seen: this_update * CRL_NUMBER_NODE_FACTOR + node, or max + 1
 * when that is not above max.
 */
uint64_t crl_number_next(uint64_t max, int64_t this_update, uint8_t node);

/*
 * Make, sign on the token and record a new CRL of issuer i (0..n-1 of
 * signer_issuers) at now: the complete CRL when delta_base is 0, else the
 * delta CRL against the complete CRL numbered delta_base (RFC 5280 5.2.4).
 * v2, authorityKeyIdentifier, cRLNumber (crl_number_next), for a delta a
 * critical deltaCRLIndicator, thisUpdate now, nextUpdate now + the issuer's
 * crl.lifetime_days; one entry per revocation (of a delta: per revocation
 * recorded after its base) in serial order with its date and, unless
 * CRL_REASON_NONE, its reasonCode, except revocations whose certificate has
 * been expired for longer than crl.grace_days. The signature is checked with
 * the CA key before the CRL is recorded. *out (crl_clear) receives it.
 * Returns 0, ERR_INVAL (no such issuer, no HSM), ERR_NOT_FOUND (the base is
 * not held), ERR_REPO, ERR_HSM, ERR_PIN, ERR_NOMEM or ERR_INTERNAL.
 */
int crl_make(struct signer *s, size_t i, uint64_t delta_base, int64_t now,
    struct crl *out, char *why, size_t whylen);

/*
 * The current CRL of issuer i (complete, or the delta against delta_base).
 * When regen is true a new one is made first if there is none, if the
 * current one has passed its refresh point (crl.refresh_percent of its
 * lifetime) or if a revocation for the issuer was recorded since it was
 * made. *out gets the CRL; its DER is copied unless its number is have (the
 * caller holds it already) or have is CRL_META_ONLY: der stays NULL. ERR_NOT_FOUND when there is no
 * CRL and regen is false, or the base is not held; else as crl_make.
 */
int crl_get(struct signer *s, size_t i, uint64_t delta_base, int64_t now,
    bool regen, uint64_t have, struct crl *out, char *why, size_t whylen);

/*
 * Make the complete CRLs that are due (none yet, or past the refresh point)
 * so that one is always ready; *next receives the time the next one falls
 * due. Returns 0 or the first error (the other issuers are still served).
 */
int crl_refresh(struct signer *s, int64_t now, int64_t *next, char *why,
    size_t whylen);

/* ===================================================================== */
/* Daemon: signerd's request loop (signer/daemon.c, signer/cmd*.c)        */
/* ===================================================================== */

/*
 * Serve requests on the serial line device (conf's when NULL) with engine s
 * until SIGTERM or SIGINT: the current batch is finished and its responses
 * written first. Logs every request and its outcome. Returns 0 after a
 * signal, or ERR_SYSTEM / ERR_NOMEM when the loop cannot run.
 */
int daemon_run(const struct conf_signerd *conf, struct signer *s,
    const char *device);

#endif /* SIGNER_SIGNER_H */
