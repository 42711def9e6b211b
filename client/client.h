/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: the web host's side of the signer protocol: the serial link, request arguments and verified output files. */
#ifndef CLIENT_CLIENT_H
#define CLIENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <openssl/x509.h>

#include "config/config.h"
#include "proto/proto.h"

#define CLIENT_WHY_MAX 512          /* longest error message of this module */
#define CLIENT_REF_BYTES 16         /* random bytes in a generated ref */
#define CLIENT_REF_MAX 128          /* longest ref, in bytes */
#define CLIENT_DN_MAX 4096          /* longest --subject string */
#define CLIENT_RDN_MAX 32           /* most attributes in a subject */
#define CLIENT_SAN_MAX 1000         /* most --san options */
#define CLIENT_SERIAL_HEX_MAX 40    /* hex digits of a 20-byte serial number */
#define CLIENT_ISSUER_ID_MAX 64     /* longest issuer id */
#define CLIENT_CSR_MAX (64 * 1024)  /* largest CSR file accepted */
#define CLIENT_CRL_MAX (256u * 1024 * 1024) /* largest CRL accepted */
#define LINK_PROVEN_RESENDS_MAX 64  /* resends of one request proven lost on the line */
#define CLIENT_CRL_BASE_RENEW 2     /* crl --delta renews its base after 1/this of its lifetime */
#define CLIENT_CRL_CHUNK_SLACK 1024 /* room for the envelope around a CRL chunk */
#define CLIENT_ISSUERS_MAX 1024     /* most issuers in a "ca" result */
#define CLIENT_PUBLISH_ISSUERS_MAX 64 /* most issuers publish handles */
#define CLIENT_NAME "signer-client" /* the client name sent in hello */

/*
 * A list of (type, value) pairs: subject attributes ("CN", "www.example.org")
 * or subject alternative names ("dns", "www.example.org"). Each string is
 * malloc'd and NUL-terminated; free with client_pairs_free().
 */
struct client_pair {
	char *type;
	char *value;
};

struct client_pairs {
	struct client_pair *v;
	size_t n;
};

/* Release what p owns and clear it; NULL is a no-op. */
void client_pairs_free(struct client_pairs *p);

/*
 * Parse an RFC 4514-like distinguished name, "CN=www.example.org,O=Example",
 * into pairs in the order written. A backslash makes the next character
 * literal (so "\," and "\=" are a comma and an equals sign in a value);
 * spaces around attribute names are dropped, values are kept as written.
 * Returns 0 (*out is the caller's) or ERR_INVAL with a reason in why.
 */
int client_subject_parse(const char *s, struct client_pairs *out,
    char *why, size_t whylen);

/*
 * Append one "--san TYPE:VALUE" argument to p: TYPE is one of dns, email,
 * ip, uri (case-insensitive, stored lowercase), VALUE is non-empty.
 * Returns 0, ERR_INVAL (reason in why) or ERR_NOMEM.
 */
int client_san_add(struct client_pairs *p, const char *arg, char *why,
    size_t whylen);

/*
 * A fresh request reference: CLIENT_REF_BYTES random bytes in lowercase hex,
 * NUL-terminated, into out (cap >= 2 * CLIENT_REF_BYTES + 1).
 * Returns 0, ERR_NOSPACE or ERR_SYSTEM (no random bytes).
 */
int client_ref_new(char *out, size_t cap);

/* True when ref is 1..CLIENT_REF_MAX printable ASCII characters. */
bool client_ref_valid(const char *ref);

/*
 * Normalise a serial number given by a user: hex digits (either case),
 * optionally with a "0x" prefix, into the protocol's form (lowercase, no
 * leading zeros) in out (cap >= CLIENT_SERIAL_HEX_MAX + 1).
 * Returns 0 or ERR_INVAL.
 */
int client_serial_norm(const char *s, char *out, size_t cap);

/*
 * True when id is an issuer id: 1..CLIENT_ISSUER_ID_MAX characters of
 * [A-Za-z0-9._-] starting with a letter or digit. Ids from the signer name
 * files, so they are checked before use.
 */
bool client_issuer_id_valid(const char *id, size_t len);

/*
 * The serial link to signerd (client/link.c). Requests are pipelined: up
 * to a window of them are in flight, each framed, preceded by a 0x00 and
 * matched to its response by id. A request is sent again, identical (same
 * id, same bytes), when the signer reports a damaged frame (a "frame" error
 * with id 0, taken as being about the oldest request in flight), when a
 * response to a later request shows that its own was lost (the signer
 * answers in order), or when nothing was answered for timeout_ms (then
 * every request in flight is sent again). Responses with other ids are
 * dropped.
 */
#define LINK_WINDOW_DEFAULT 8   /* requests in flight unless told otherwise */
#define LINK_WINDOW_MAX 64      /* most requests in flight */

struct link;

struct link_params {
	uint32_t max_frame;     /* largest payload sent or received */
	uint32_t timeout_ms;    /* per attempt */
	uint32_t retries;       /* attempts after the first */
};

/*
 * Open the first signer of c that opens. With two signers the link fails
 * over: when every attempt of a request times out, or the line hangs up
 * and the device does not open again, every request in flight moves to
 * the other signer with fresh attempts (at most once per signer and
 * batch). Returns 0 (*out is the caller's, link_free) or the error of the
 * last device tried (ERR_SYSTEM, ERR_CONFIG, ...; reason in why).
 */
int link_open(const struct conf_client *c, struct link **out, char *why,
    size_t whylen);

/*
 * The same, on signer i (0-based) of c only; it fails over as link_open's
 * does unless told otherwise (link_set_failover). Returns 0 (*out is the
 * caller's), ERR_INVAL (no such signer) or the error of opening it.
 */
int link_open_signer(const struct conf_client *c, size_t i, struct link **out,
    char *why, size_t whylen);

/* The index in the configuration of the signer l is on (0 for link_from_fd). */
size_t link_signer(const struct link *l);

/* Allow (the default with two signers) or forbid failing over. */
void link_set_failover(struct link *l, bool on);

/* Set the per-attempt timeout (> 0) and the retries of later requests. */
void link_set_timeout(struct link *l, uint32_t timeout_ms, uint32_t retries);

/*
 * Told when the link fails over from signer from to signer to, why saying
 * what was wrong with from; arg is link_on_switch's. It runs inside
 * link_pipeline and must not use the link.
 */
typedef void (*link_switch_fn)(void *arg, size_t from, size_t to,
    const char *why);

/* Call fn(arg, ...) on every failover of l; fn NULL: no call. */
void link_on_switch(struct link *l, link_switch_fn fn, void *arg);

/*
 * A link over an open descriptor (a pty in tests); the link owns fd and
 * never reopens it. Returns 0, ERR_INVAL or ERR_NOMEM.
 */
int link_from_fd(int fd, const struct link_params *p, struct link **out);

/* Close the line and free l; NULL is a no-op. */
void link_free(struct link *l);

/* The number of requests sent on l, resends included (for tests and logs). */
size_t link_sent(const struct link *l);

/*
 * The signer's own max_frame, as its hello announced (at least
 * FRAME_MAX_MIN; smaller values are ignored). Requests larger than the
 * smaller of it and the configured max_frame are refused before sending.
 */
void link_set_peer_max(struct link *l, uint32_t max);

/* The largest request payload l sends. */
uint32_t link_send_max(const struct link *l);

/* Writes the nargs entries of a request's args map. */
typedef void (*link_args_fn)(msgpack_packer *pk, void *arg);

/*
 * Send cmd with nargs arguments written by fn (NULL when nargs is 0) and
 * wait for its response, decoded into resp (after msg_init; the caller
 * frees it). Returns 0 on a success response; the error the signer sent
 * (ERR_POLICY, ...; why = "code: message") on an error response;
 * ERR_TIMEOUT when every attempt timed out; ERR_LINK on a hang-up;
 * ERR_INVAL when the request exceeds max_frame. It is link_pipeline()
 * with one request.
 */
int link_call(struct link *l, const char *cmd, uint32_t nargs,
    link_args_fn fn, void *arg, struct msg *resp, char *why, size_t whylen);

/* One request: cmd and its nargs arguments, written by fn(pk, arg). */
struct link_req {
	const char *cmd;
	uint32_t nargs;
	link_args_fn fn;        /* NULL when nargs is 0 */
	void *arg;
};

/*
 * A batch of n requests for link_pipeline(). req describes request i
 * (0 <= i < n, asked once each, in order, when the request is about to be
 * sent; it is packed at once, so what *r points to need only live through
 * the call). done reports the outcome of request i once: rc 0 and resp a
 * success; the signer's error (ERR_POLICY, ...) with resp and why = "code:
 * message"; or without resp (NULL) ERR_TIMEOUT, ERR_LINK, ERR_FRAME_CRC
 * (the signer kept rejecting its frame), ERR_INVAL (larger than max_frame)
 * or ERR_NOMEM, why saying what. resp and why belong to the link and live
 * through the call only. done returns 0 to go on, anything else to end the
 * batch at once (requests in flight are abandoned: their late answers are
 * dropped as strays).
 */
struct link_batch {
	size_t n;
	size_t window;          /* most in flight; 0: LINK_WINDOW_DEFAULT; at most LINK_WINDOW_MAX */
	void (*req)(void *arg, size_t i, struct link_req *r);
	int (*done)(void *arg, size_t i, int rc, struct msg *resp,
	    const char *why);
	void *arg;
};

/*
 * Run a batch: keep up to window requests in flight and report each
 * outcome through done, in the order the answers arrive (request order
 * when none is lost). Requests fail one by one (an error answer, a frame
 * rejected every time, one lost every time while others are answered);
 * the line fails as a whole when a request has used its 1 + retries
 * attempts with nothing answered for timeout_ms, or on a hang-up. With a
 * configuration (link_open) a hang-up re-opens the same signer, and a
 * timeout, or a device that does not open again, moves every request in
 * flight to the other signer (see link_open).
 * Returns 0 when every request was reported; done's non-zero value when it
 * ended the batch; ERR_TIMEOUT, ERR_LINK or the error of opening a signer
 * when the line failed for good (every request in flight was reported with
 * it, the later ones never started; why says what); ERR_INVAL on bad
 * arguments.
 */
int link_pipeline(struct link *l, const struct link_batch *b, char *why,
    size_t whylen);

/*
 * Sign and revoke requests as sent on the line (client/req.c), shared by the
 * one-shot commands and the relay. The strings and pairs are the caller's
 * and must live until the request is packed.
 */
struct client_sign_req {
	const char *profile;
	const uint8_t *csr;             /* DER */
	size_t csr_len;
	const char *ref;
	const struct client_pairs *subject; /* NULL or empty: the CSR's */
	const struct client_pairs *san; /* NULL or empty: none */
	uint32_t days;                  /* 0: the profile's */
};

struct client_revoke_req {
	const char *issuer;
	const char *serial;             /* normalised (client_serial_norm) */
	const char *ref;
	const char *reason;             /* NULL or "": no reason */
};

/* The number of arguments client_sign_pack writes for r. */
uint32_t client_sign_nargs(const struct client_sign_req *r);
/* A link_args_fn: the args of a sign request; arg is a struct client_sign_req. */
void client_sign_pack(msgpack_packer *pk, void *arg);
/* The number of arguments client_revoke_pack writes for r. */
uint32_t client_revoke_nargs(const struct client_revoke_req *r);
/* A link_args_fn: the args of a revoke request; arg is a struct client_revoke_req. */
void client_revoke_pack(msgpack_packer *pk, void *arg);

/*
 * Check that an issued certificate carries the serial the signer announced
 * (normalised hex) and, when key is not NULL, the CSR's public key.
 * Returns 0 or ERR_POLICY with why.
 */
int client_cert_matches(X509 *x, const char *serial, EVP_PKEY *key,
    char *why, size_t whylen);

/*
 * Output files (client/write.c). Everything written is first checked
 * against the issuer's certificate CA_DIR/<issuer>.pem.
 */

/* Load CA_DIR/<issuer>.pem into *out (the caller's). Returns 0, ERR_INVAL or ERR_NOT_FOUND. */
int client_ca_load(const char *ca_dir, const char *issuer, X509 **out,
    char *why, size_t whylen);

/*
 * Parse a DER certificate and check that its issuer name is ca's subject
 * and its signature verifies with ca's key. Returns 0 (*out, when not
 * NULL, is the caller's) or ERR_POLICY / ERR_DECODE with a reason.
 */
int client_cert_check(X509 *ca, const uint8_t *der, size_t len, X509 **out,
    char *why, size_t whylen);

/* The same for a DER CRL. */
int client_crl_check(X509 *ca, const uint8_t *der, size_t len,
    X509_CRL **out, char *why, size_t whylen);

/*
 * Write len bytes to path atomically: a temporary file in the same
 * directory, fsync, rename, fsync of the directory. Returns 0 or
 * ERR_SYSTEM (why says which step, with strerror).
 */
int client_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, char *why, size_t whylen);

/* Write a certificate as PEM to path (or stdout when path is NULL). */
int client_write_cert(X509 *x, const char *path, char *why, size_t whylen);

/* Write a CRL as DER to path. */
int client_write_crl(const uint8_t *der, size_t len, const char *path,
    char *why, size_t whylen);

/*
 * Load the issuer's CA certificate from ca_dir, check the DER certificate
 * against it and only then write it as PEM to path (stdout when NULL).
 * Nothing is written when a check fails (ERR_POLICY, ERR_DECODE,
 * ERR_NOT_FOUND). *out (may be NULL) receives the certificate.
 */
int client_save_cert(const char *ca_dir, const char *issuer, const uint8_t *der,
    size_t len, const char *path, X509 **out, char *why, size_t whylen);

/* The same for a DER CRL, written as DER. */
int client_save_crl(const char *ca_dir, const char *issuer, const uint8_t *der,
    size_t len, const char *path, char *why, size_t whylen);

/*
 * CRLs (client/crl.c): what a CRL must be before it replaces the one held.
 * A CRL number never goes backwards (docs/protocol.md 5.5.2).
 */

/* What a verified CRL holds. */
struct client_crl_info {
	uint64_t number;        /* cRLNumber */
	bool delta;             /* it has a deltaCRLIndicator */
	uint64_t base;          /* with delta: the number of its base */
	int64_t this_update;    /* Unix seconds */
	int64_t next_update;
	size_t entries;         /* revoked entries listed */
	size_t size;            /* bytes of DER */
};

/*
 * Parse a DER CRL of at most CLIENT_CRL_MAX bytes (no trailing bytes) and
 * check it against ca: the issuer is ca's subject, the signature verifies
 * with ca's key, it is version 2 with a cRLNumber of at most 64 bits and a
 * nextUpdate after its thisUpdate; a complete CRL (delta false) has no
 * deltaCRLIndicator, a delta CRL has a critical one. Fills *info (may be
 * NULL); *out (may be NULL) is the caller's. Returns 0, ERR_DECODE (not
 * DER, too large) or ERR_POLICY, why saying what.
 */
int client_crl_verify(X509 *ca, const uint8_t *der, size_t len, bool delta,
    X509_CRL **out, struct client_crl_info *info, char *why, size_t whylen);

/*
 * Read path and verify it as client_crl_verify does. *der (may be NULL)
 * receives the file's bytes and *out (may be NULL) the CRL, both the
 * caller's (free, X509_CRL_free). Returns 0, ERR_NOT_FOUND (no such file),
 * ERR_SYSTEM (unreadable), ERR_NOMEM, or client_crl_verify's errors (also
 * ERR_DECODE for a file that is not a regular file of at most
 * CLIENT_CRL_MAX bytes).
 */
int client_crl_load(X509 *ca, const char *path, bool delta, uint8_t **der,
    size_t *len, X509_CRL **out, struct client_crl_info *info, char *why,
    size_t whylen);

/* What a fetched CRL must be besides valid: the fetch's announcements. */
struct client_crl_want {
	uint64_t number;        /* the number the signer announced */
	bool delta;             /* a delta CRL is expected ... */
	uint64_t base;          /* ... against this base, and numbered above it */
	bool has_entries;       /* the signer announced ... */
	uint64_t entries;       /* ... this many revoked entries */
};

enum client_crl_status {
	CLIENT_CRL_INSTALLED = 0,       /* written to the file */
	CLIENT_CRL_UP_TO_DATE = 1,      /* the file holds these very bytes */
};

struct client_crl_outcome {
	int status;                     /* enum client_crl_status */
	struct client_crl_info info;    /* the new CRL */
	bool had_old;                   /* the file held a valid CRL of the kind */
	uint64_t old_number;            /* its number */
	bool replaced_invalid;          /* the file held something else ... */
	char old_why[CLIENT_WHY_MAX];   /* ... and this is what was wrong with it */
};

/*
 * Verify a fetched CRL (client_crl_verify with want->delta, and want's
 * number, base and entries) and install it as path unless that would go backwards.
 * When path holds a valid CRL of the same kind and issuer: a lower number
 * is refused, the same number is "up to date" with the same bytes (the file
 * is not rewritten) and refused with other bytes. A file that is not a
 * valid CRL of the kind is replaced (res->replaced_invalid). The file is
 * written atomically, mode 0644. Fills *res; *out (may be NULL) receives
 * the new CRL (the caller's). Returns 0; ERR_DECODE or ERR_POLICY (the CRL
 * is refused); ERR_CONFLICT (it would go backwards); ERR_SYSTEM (path could
 * not be read or written); ERR_NOMEM. path is untouched unless 0 is
 * returned with CLIENT_CRL_INSTALLED.
 */
int client_crl_install(X509 *ca, const uint8_t *der, size_t len,
    const struct client_crl_want *want, const char *path, X509_CRL **out,
    struct client_crl_outcome *res, char *why, size_t whylen);

/* The revocations that a base and its delta say together. */
struct client_crl_view {
	size_t revoked;         /* distinct serials listed by either, less removals */
	size_t added;           /* of which the delta lists and the base does not */
	size_t removed;         /* base serials the delta takes off (removeFromCRL) */
};

/*
 * Combine a complete CRL with a delta CRL against it (both verified by the
 * caller) into *v. Returns 0, ERR_INVAL or ERR_NOMEM. Neither CRL is
 * changed.
 */
int client_crl_combine(X509_CRL *base, X509_CRL *delta,
    struct client_crl_view *v);

/* An ASN1_TIME as Unix seconds into *out; 0, or -1 when it is missing or malformed. */
int client_asn1_time(const ASN1_TIME *t, int64_t *out);

/*
 * Health for monitoring (client/health.c): the signer's health answer, the
 * CRLs published on this host and, from the relay, the queue, written as a
 * JSON status file and a Prometheus textfile (docs/operations.md lists the
 * metrics). Files are replaced atomically.
 */
#define CLIENT_HEALTH_ISSUERS_MAX 64    /* issuers reported */
#define CLIENT_HEALTH_STATUS_MAX 16     /* "ok", "degraded", "failed", "unreachable" */
#define CLIENT_HEALTH_DEVICE_MAX 256    /* longest device path reported */

struct client_health_issuer {
	char id[CLIENT_ISSUER_ID_MAX + 1];
	int64_t ca_not_after;
	int64_t ca_days_left;
	uint64_t crl_number;            /* the signer's current complete CRL; 0: none */
	int64_t crl_next_update;
	bool published;                 /* a CRL is published here (crl.dir/<id>.crl) */
	int64_t published_this_update;
	int64_t published_next_update;
};

/* What the relay knows of the web database's queue. */
struct client_health_queue {
	bool known;                     /* false: not reported */
	uint64_t queued;
	int64_t oldest_age;             /* seconds; 0 when the queue is empty */
	uint64_t done;
	uint64_t failed;
};

/* The signer's link to its paired signer (health's peer map), when it has one. */
struct client_health_peer {
	bool known;                     /* false: the signer is not paired */
	uint64_t node;
	bool out_up, in_up;             /* its link to the peer, the peer's to it */
	int64_t last_contact;
	uint64_t peer_behind;           /* its events the peer lacks */
	uint64_t we_behind;             /* the peer's events it lacks */
	uint64_t refused;
	uint64_t tls_failures;
};

struct client_health {
	int64_t time;                   /* when it was taken */
	bool up;                        /* the signer answered */
	char status[CLIENT_HEALTH_STATUS_MAX];
	uint64_t node;
	uint64_t signer_bad_frames;     /* the signer's bad_frame counter */
	uint64_t signer_requests;
	uint64_t link_errors;           /* seen on this host (set by the caller) */
	uint32_t signer;                /* the signer in use, 1 or 2 as in client.yaml; 0: none (set by the caller) */
	char signer_device[CLIENT_HEALTH_DEVICE_MAX]; /* its device */
	uint64_t switches;              /* moves between the signers (set by the caller) */
	struct client_health_queue queue; /* set by the caller */
	struct client_health_peer peer;
	struct client_health_issuer issuers[CLIENT_HEALTH_ISSUERS_MAX];
	size_t n_issuers;
};

/*
 * Fill h from the signer's health response taken at now; queue and
 * link_errors are kept. Returns 0, or ERR_BAD_REQUEST (reason in why) when
 * the response is not a health result: h is then "unreachable".
 */
int client_health_parse(const struct msg *resp, int64_t now,
    struct client_health *h, char *why, size_t whylen);
/* h as "unreachable" at now: no issuers, not up; queue and link_errors are kept. */
void client_health_unreachable(struct client_health *h, int64_t now);
/* Note the times of the CRLs published in crl_dir (NULL: none). */
void client_health_published(struct client_health *h, const char *crl_dir);
/*
 * Write the JSON status file and the Prometheus textfile (either path may be
 * NULL). Returns 0, ERR_NOSPACE, ERR_NOMEM or ERR_SYSTEM with why.
 */
int client_health_write(const struct client_health *h, const char *json_path,
    const char *prom_path, char *why, size_t whylen);

/*
 * JSON output (client/json.c): a received msgpack object printed as JSON,
 * with binary values as base64 strings and string keys only.
 */
void client_json_print(FILE *f, const msgpack_object *o);

/*
 * The one-shot commands (client/cmds.c). Each parses its own options from
 * argv (argv[0] is the command name), talks to the signer through ctx->link
 * (opened on first use) and returns the program's exit status.
 */
struct client_ctx {
	struct conf_client *conf;
	bool json;              /* --json: results as JSON on stdout */
	struct link *link;      /* NULL until the first request */
};

/*
 * Send cmd through ctx->link (opening it first, and greeting the signer
 * with hello to agree on version 1 and frame size) and wait for its result
 * into resp (the caller frees it, also on error). Prints any error as
 * "signer-client: CODE: message" and returns it; 0 on success.
 */
int client_call(struct client_ctx *ctx, const char *cmd, uint32_t nargs,
    link_args_fn fn, void *arg, struct msg *resp);

/*
 * Greet the signer on l with hello: check that it speaks version 1 and
 * learn its max_frame. Returns 0, ERR_UNSUPPORTED_VERSION or the link's
 * errors (why says what).
 */
int client_greet(struct link *l, char *why, size_t whylen);

/*
 * Open ctx->link and greet the signer unless it is open already; a link
 * whose greeting fails is closed again. Prints nothing. Returns 0 or the
 * error (why says what).
 */
int client_link_up(struct client_ctx *ctx, char *why, size_t whylen);

/*
 * Fetching a CRL (client/crl_fetch.c). A fetch asks for the first chunk
 * without a number, then for the others, pipelined, pinned to the number
 * the first one announced; when the signer made a new CRL meanwhile
 * (conflict) it starts again, at most CLIENT_CRL_RESTARTS_MAX times.
 */
#define CLIENT_CRL_RESTARTS_MAX 3

/* A fetched CRL, not yet verified, and what the signer announced. */
struct client_crl_blob {
	uint8_t *der;           /* size bytes, malloc'd */
	size_t size;
	uint64_t number;
	bool delta;             /* delta_base was announced ... */
	uint64_t base;          /* ... with this value */
	int64_t this_update;    /* 0 when not announced */
	int64_t next_update;
	bool has_entries;       /* entries was announced */
	uint64_t entries;
};

/*
 * Fetch the issuer's current complete CRL (base NULL) or its delta CRL
 * against *base through ctx (see client_call). Every chunk must name the
 * same CRL, of the kind asked, at the offset and of the length asked.
 * Prints what goes wrong on stderr, as client_call does. Returns 0 (*out
 * is the caller's: client_crl_blob_free), ERR_NOT_FOUND (no such issuer, or
 * the signer no longer holds the base), ERR_CONFLICT (the CRL kept
 * changing), ERR_BAD_REQUEST (chunks that do not fit together), ERR_NOMEM,
 * or the link's and the signer's errors.
 */
int client_crl_fetch(struct client_ctx *ctx, const char *issuer,
    const uint64_t *base, struct client_crl_blob *out);

/* Release what b owns and clear it; NULL is a no-op. */
void client_crl_blob_free(struct client_crl_blob *b);

/* Print resp's result map as one line of JSON on stdout. */
void client_print_result(const struct msg *resp);

/* A Unix time as "YYYY-MM-DD HH:MM:SSZ" (or the number when out of range). */
void client_date_str(int64_t t, char *out, size_t cap);

int client_cmd_health(struct client_ctx *ctx, int argc, char **argv);
int client_cmd_sign(struct client_ctx *ctx, int argc, char **argv);
int client_cmd_revoke(struct client_ctx *ctx, int argc, char **argv);
int client_cmd_crl(struct client_ctx *ctx, int argc, char **argv);
int client_cmd_ca(struct client_ctx *ctx, int argc, char **argv);
int client_cmd_cert(struct client_ctx *ctx, int argc, char **argv);
/* publish: every issuer's CA certificate, CRL and delta CRL into crl.dir. */
int client_cmd_publish(struct client_ctx *ctx, int argc, char **argv);
/* run: the relay (client/run.c, client/relay.c); returns 0 after SIGTERM. */
int client_cmd_run(struct client_ctx *ctx, int argc, char **argv);

/*
 * The request queue (client/db.c, client/db_sqlite.c, client/db_pg.c): the
 * web application INSERTs rows into the requests table of
 * client/schema/{sqlite,postgresql}.sql; a relay claims the due queued rows
 * in batches, sends them to the signer with the row id as the ref, and
 * writes every outcome back in one transaction per batch. A batch is
 * locked for its relay until db_finish(): on PostgreSQL by the claim's
 * transaction (FOR UPDATE SKIP LOCKED), on SQLite by a single-relay guard
 * (an flock on "<path>.relay-lock" held from db_open to db_close). A batch
 * that is never finished (a crash) is claimed again: the same ref makes the
 * signer return the same result. Rows are untrusted: a row with bad fields
 * is not handed out but failed with error_code "invalid" and a message
 * that names the field.
 */
#define DB_BATCH_MAX 128        /* most rows in one claim */
#define DB_CSR_MAX 16384        /* largest CSR in a row (docs/protocol.md 5.3) */
#define DB_PROFILE_MAX 64       /* longest profile name */
#define DB_REASON_MAX 32        /* longest revocation reason name */
#define DB_SAN_TEXT_MAX 65536   /* longest san column */
#define DB_DAYS_MAX 36500       /* largest days value */
#define DB_CERT_MAX 65536       /* largest certificate written back */
#define DB_REF_MAX 24           /* a row id in decimal, NUL included */
#define DB_BACKOFF_BASE_S 5     /* wait after the first transient error ... */
#define DB_BACKOFF_MAX_S 900    /* ... doubled per attempt up to this */
#define DB_SQLITE_BUSY_MS 5000  /* SQLite: wait this long for the web app's writes */
#define DB_SQLITE_POLL_MS 250   /* SQLite: db_wait looks for new rows this often */
#define DB_CHANNEL "signer_requests" /* PostgreSQL: the NOTIFY channel */

struct db;

enum db_kind {
	DB_KIND_SIGN = 1,
	DB_KIND_REVOKE = 2,
};

/* A valid queued request, as claimed. */
struct db_req {
	int64_t id;
	char ref[DB_REF_MAX];           /* id in decimal: the ref on the line */
	int kind;                       /* enum db_kind */
	uint32_t attempts;              /* transient failures so far */
	/* DB_KIND_SIGN */
	char profile[DB_PROFILE_MAX + 1];
	uint8_t *csr;                   /* DER, 1..DB_CSR_MAX bytes */
	size_t csr_len;
	struct client_pairs subject;    /* n == 0: the CSR's */
	struct client_pairs san;        /* n == 0: none */
	uint32_t days;                  /* 0: the profile's */
	/* DB_KIND_REVOKE */
	char issuer[CLIENT_ISSUER_ID_MAX + 1];
	char serial[CLIENT_SERIAL_HEX_MAX + 1]; /* normalised (client_serial_norm) */
	char reason[DB_REASON_MAX + 1]; /* "": no reason */
};

/* A row refused by validation; db_finish() marks it failed. */
struct db_bad {
	int64_t id;
	char why[CLIENT_WHY_MAX];
};

/* The rows of one claim, in id order. Free with db_batch_free(). */
struct db_batch {
	struct db_req *v;               /* to send */
	size_t n;
	struct db_bad *bad;             /* to fail */
	size_t n_bad;
};

/* What became of request i of a batch, for db_finish(). */
struct db_result {
	int rc;                 /* 0: done; else its error (db_err_permanent) */
	const char *why;        /* with rc != 0: the message; NULL: err_str(rc) */
	const uint8_t *cert;    /* sign: DER, 1..DB_CERT_MAX bytes */
	size_t cert_len;
	const char *issuer;     /* sign and revoke: as the signer answered; may be NULL */
	const char *serial;
	int64_t not_before;     /* sign */
	int64_t not_after;
	int64_t revoked_at;     /* revoke */
};

/* Queue figures for health reports. */
struct db_stats {
	uint64_t queued;        /* rows waiting, retries included */
	int64_t oldest_age;     /* seconds since the oldest queued row was created; 0: none */
	uint64_t issued;        /* done sign rows */
	uint64_t revoked;       /* done revoke rows */
	uint64_t failed;
};

/*
 * Open c's database (database.backend, .path or .conninfo) for a relay and
 * check that it holds the requests table. SQLite takes the relay guard;
 * PostgreSQL LISTENs on DB_CHANNEL; when its connection is lost, the
 * failing call returns ERR_REPO and the connection is reset (and LISTENs
 * again) for the next one. Returns 0 (*out is the caller's,
 * db_close), ERR_CONFIG (no or an unknown backend), ERR_BUSY (another relay
 * holds the SQLite guard), ERR_REPO (cannot connect, no table), ERR_SYSTEM
 * or ERR_NOMEM; why says what.
 */
int db_open(const struct conf_client *c, struct db **out, char *why,
    size_t whylen);

/* Close db; an unfinished batch is left queued. NULL is a no-op. */
void db_close(struct db *db);

/*
 * Claim up to max (1..DB_BATCH_MAX) queued rows due at now (next attempt
 * time <= now), in id order, into *out (cleared first; the caller's,
 * db_batch_free). Every successful claim, also an empty one, must be
 * followed by db_finish() before the next claim. Returns 0, ERR_INVAL (bad
 * max, a batch still open), ERR_REPO or ERR_NOMEM (why says what; nothing
 * stays claimed).
 */
int db_claim(struct db *db, size_t max, int64_t now, struct db_batch *out,
    char *why, size_t whylen);

/*
 * Write the outcome of the claimed batch b in one transaction: res[i]
 * (b->n entries; NULL when b->n is 0) for b->v[i], done with its results
 * when rc is 0, failed with the signer's code and message when rc is
 * permanent, otherwise left queued with attempts + 1 and the next attempt
 * at now + DB_BACKOFF_BASE_S doubled per earlier attempt (at most
 * DB_BACKOFF_MAX_S); b->bad rows are failed as "invalid". Ends the claim
 * also on error. Returns 0, ERR_INVAL (a result out of bounds: nothing is
 * written) or ERR_REPO (rolled back; the rows stay queued as they were).
 */
int db_finish(struct db *db, const struct db_batch *b,
    const struct db_result *res, int64_t now, char *why, size_t whylen);

/* True for errors that fail a request for good (policy, bad_request, conflict, not_found, ...). */
bool db_err_permanent(int rc);

/* The error_code text written for rc: the wire code, "timeout" or "link". */
const char *db_err_code(int rc);

/*
 * Wait up to timeout_ms for new rows: on PostgreSQL until a NOTIFY on
 * DB_CHANNEL, on SQLite until another connection commits (checked every
 * DB_SQLITE_POLL_MS). Call it with no batch open: PostgreSQL holds
 * notifications back during a transaction. Returns 1 (woken), 0 (timed
 * out) or ERR_REPO.
 */
int db_wait(struct db *db, uint32_t timeout_ms, char *why, size_t whylen);

/* The descriptor that becomes readable on a NOTIFY (PostgreSQL), or -1. */
int db_fd(const struct db *db);

/* Fill *st as of now. Returns 0 or ERR_REPO. */
int db_stats(struct db *db, int64_t now, struct db_stats *st, char *why,
    size_t whylen);

/* Release what b owns and clear it; NULL is a no-op. */
void db_batch_free(struct db_batch *b);

#endif /* CLIENT_CLIENT_H */
