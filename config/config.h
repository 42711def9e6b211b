/* SPDX-License-Identifier: GPL-3.0-or-later */
/* config: YAML configuration of signerd, signerctl and signer-client, loaded into typed structs; logging for the programs. */
#ifndef CONFIG_CONFIG_H
#define CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_ERR_MAX 512        /* longest error message */
#define CONF_FILE_MAX (1024 * 1024) /* largest configuration file accepted */
#define CONF_STR_MAX 4096       /* longest scalar value */
#define CONF_LIST_MAX 32        /* most entries in a list of strings */
#define CONF_ISSUERS_MAX 64     /* most issuers in signerd.yaml */
#define CONF_PROFILES_MAX 64    /* most profiles in signerd.yaml */
#define CONF_SIGNERS_MAX 2      /* most serial links in client.yaml */
#define CONF_NODE_MAX 127       /* node ids are 1..CONF_NODE_MAX */
#define CONF_ID_MAX 64          /* longest issuer id / profile name */
#define CONF_KEY_ID_MAX 64      /* longest key_id in bytes (2 hex digits each) */
#define CONF_TOKEN_LABEL_MAX 32 /* longest PKCS#11 token label (CK_TOKEN_INFO) */

/* Ranges of numeric keys (inclusive); docs/configuration.md lists them all. */
#define CONF_QUEUE_MAX 65536            /* serial.queue: 1.. */
#define CONF_MAP_MB_MIN 16              /* repository.map_size_mb */
#define CONF_MAP_MB_MAX (1024 * 1024)
#define CONF_WARN_DAYS_MAX 3650         /* health.ca_warn_days: 0.. */
#define CONF_CRL_DAYS_MAX 10            /* crl.lifetime_days: 1.. */
#define CONF_CRL_REFRESH_MAX 99         /* crl.refresh_percent: 1.. */
#define CONF_CRL_GRACE_MAX 365          /* crl.grace_days: 0.. */
#define CONF_VALIDITY_DAYS_MAX 36500    /* validity.default_days, max_days: 1.. */
#define CONF_BACKDATE_MAX 86400         /* validity.backdate_seconds: 0.. */
#define CONF_RSA_BITS_MIN 2048          /* key.rsa_min_bits */
#define CONF_RSA_BITS_MAX 16384
#define CONF_SAN_MAX 1000               /* san.max: 0.. */
#define CONF_PATH_LEN_MAX 16            /* basic_constraints.path_len: 0.. */
#define CONF_TIMEOUT_MS_MIN 100         /* client timeout_ms */
#define CONF_TIMEOUT_MS_MAX 600000
#define CONF_RETRIES_MAX 100            /* client retries: 0.. */
#define CONF_CRL_INTERVAL_MIN 60        /* client crl.interval_seconds */
#define CONF_CRL_INTERVAL_MAX 86400
#define CONF_HEALTH_INTERVAL_MIN 1      /* client health.interval_seconds */
#define CONF_HEALTH_INTERVAL_MAX 3600
#define CONF_SYNC_DEGRADED_MIN 1        /* sync.degraded_after_seconds */
#define CONF_SYNC_DEGRADED_MAX 86400
#define CONF_SYNC_BATCH_MAX 4096        /* sync.batch_events: 1.. */
#define CONF_FINGERPRINT_LEN 32        /* sync.peer_fingerprint: SHA-256 */
#define CONF_HOSTPORT_MAX 262           /* "host:port", "[v6]:port": 253 + brackets, colon, 5 digits */

/* A list of strings, each malloc'd and NUL-terminated. */
struct conf_strlist {
	char *v[CONF_LIST_MAX];
	size_t n;
};

/* A serial line. */
struct conf_serial {
	char *device;           /* required, absolute path */
	uint32_t baud;          /* default 115200; one of the termios rates 9600..4000000 */
	bool rtscts;            /* flow_control: rtscts | none (default none) */
};

struct conf_crl {
	uint32_t lifetime_days;     /* default 7, 1..CONF_CRL_DAYS_MAX */
	uint32_t refresh_percent;   /* regenerate after this share of the lifetime; default 50, 1..99 */
	uint32_t grace_days;        /* keep expired entries this long, 0..365; default = lifetime_days */
	bool grace_set;             /* grace_days was given in the file */
};

struct conf_issuer {
	char *id;               /* required; [A-Za-z0-9._-], 1..64 chars, starts alphanumeric */
	char *cert;             /* CA certificate, PEM file; required */
	char *key_id;           /* CKA_ID of the CA key on the token, in hex; required */
	struct conf_crl crl;
};

struct conf_profile {
	char *name;                     /* required; same charset as issuer ids */
	struct conf_strlist issuers;    /* required, >= 1, ids of configured issuers */
	uint32_t default_days;          /* validity.default_days, required, 1..36500 */
	uint32_t max_days;              /* validity.max_days, required, >= default_days */
	uint32_t backdate_seconds;      /* validity.backdate_seconds, default 3600, <= 86400 */
	char *digest;                   /* sha256 (default) | sha384 | sha512 */
	uint32_t rsa_min_bits;          /* key.rsa_min_bits, default 2048, 2048..16384 */
	struct conf_strlist curves;     /* key.curves: P-256, P-384; default both; [] = RSA only */
	struct conf_strlist subject_allowed;  /* subject.allowed: CN, O, OU, C, L, ST, emailAddress, ...; default [CN] */
	struct conf_strlist subject_required; /* subject.required, each also allowed; default [] */
	bool subject_from_csr;          /* subject.from_csr, default false */
	struct conf_strlist san_types;  /* san.types: dns, email, ip, uri; default [] (no SAN) */
	uint32_t san_max;               /* san.max, default 100, 0..1000 */
	bool cn_in_san;                 /* san.cn_must_match: CN must be one of the SANs (TLS server) */
	struct conf_strlist key_usage;  /* required, >= 1: digitalSignature, keyEncipherment, ...;
					 * contentCommitment is stored as nonRepudiation */
	struct conf_strlist ext_key_usage; /* serverAuth, clientAuth, emailProtection, codeSigning, ...; default [] */
	bool ca;                        /* basic_constraints.ca, default false; true iff keyCertSign */
	int32_t path_len;               /* basic_constraints.path_len, 0..16, only with ca; -1 = absent */
	struct conf_strlist crl_dp;     /* crl_distribution_points: URIs */
	struct conf_strlist aia_ca_issuers; /* aia.ca_issuers: URIs */
	struct conf_strlist aia_ocsp;   /* aia.ocsp: URIs */
	struct conf_strlist policies;   /* certificate_policies: dotted OIDs */
};

/* sync: replication to the paired signer (signerd.yaml's optional sync: section). */
struct conf_sync {
	char *listen;                   /* "host:port" to accept the peer on; required in the section */
	char *peer;                     /* "host:port" of the peer's listener; required */
	uint32_t peer_node;             /* the peer's node id, required, 1..CONF_NODE_MAX, not node */
	char *cert;                     /* this signer's link certificate, PEM; required */
	char *key;                      /* its private key, PEM, mode 0600; required */
	char *peer_fingerprint;         /* SHA-256 of the peer's link certificate (DER), hex, ':' allowed; required */
	uint32_t degraded_after_s;      /* degraded_after_seconds: health degrades after this long without contact; default 300 */
	uint32_t batch_events;          /* events per batch, default 1024, 1..CONF_SYNC_BATCH_MAX */
};

/* signerd.yaml (also read by signerctl). */
struct conf_signerd {
	uint32_t node;                  /* required, 1..CONF_NODE_MAX */
	struct conf_serial serial;      /* serial: */
	uint32_t max_frame;             /* serial.max_frame, default FRAME_MAX_DEFAULT */
	uint32_t queue;                 /* serial.queue: pending requests before busy, default 256, 1..65536 */
	char *repo_path;                /* repository.path, required (a directory) */
	uint32_t repo_map_mb;           /* repository.map_size_mb, default 4096, 16..1048576 */
	char *hsm_module;               /* hsm.module, required, absolute path */
	char *hsm_token;                /* hsm.token (label, 1..32 bytes), required */
	char *hsm_pin_file;             /* hsm.pin_file: mode 0600; exactly one of pin_file/pin_env */
	char *hsm_pin_env;              /* hsm.pin_env: environment variable name */
	char *log_level;                /* log.level: debug | info | warning | error (default info) */
	uint32_t ca_warn_days;          /* health.ca_warn_days, default 30, 0..3650 */
	struct conf_sync sync;          /* sync:, optional */
	bool sync_enabled;              /* the file has a sync: section */
	struct conf_issuer *issuers;    /* n_issuers entries, 1..CONF_ISSUERS_MAX */
	size_t n_issuers;
	struct conf_profile *profiles;  /* n_profiles entries, 1..CONF_PROFILES_MAX */
	size_t n_profiles;
};

/* client.yaml. */
struct conf_client {
	struct conf_serial signers[CONF_SIGNERS_MAX]; /* signers: list of serial lines, 1..2 */
	size_t n_signers;
	uint32_t max_frame;             /* default FRAME_MAX_DEFAULT */
	uint32_t timeout_ms;            /* per request, default 30000, 100..600000 */
	uint32_t retries;               /* default 5, 0..100 */
	char *ca_dir;                   /* directory with the issuers' CA certificates (<id>.pem), required */
	char *db_backend;               /* database.backend: sqlite (default) | postgresql */
	char *db_path;                  /* database.path: required with sqlite, refused otherwise */
	char *db_conninfo;              /* database.conninfo: required with postgresql, refused otherwise */
	char *crl_dir;                  /* crl.dir; NULL = CRLs are not published */
	uint32_t crl_interval_s;        /* crl.interval_seconds, default 3600, 60..86400 */
	char *health_json;              /* health.json: file path; NULL = none */
	char *health_prom;              /* health.prometheus: textfile path; NULL = none */
	uint32_t health_interval_s;     /* health.interval_seconds, default 60, 1..3600 */
	char *log_level;                /* log.level, as in signerd.yaml */
};

/*
 * Load a configuration file. On error returns ERR_CONFIG (or ERR_NOMEM,
 * ERR_SYSTEM) and writes "FILE:LINE:COL: message" into err (CONF_ERR_MAX
 * bytes), e.g. "signerd.yaml:14:3: unknown key 'baudrate' (did you mean
 * 'baud'?)"; FILE is path exactly as given, LINE and COL count from 1.
 * Errors about the whole file (cannot open, too large) are "FILE: message".
 * err may be NULL. The struct is filled with defaults first; on error it is
 * freed and cleared. Free with conf_signerd_free()/conf_client_free().
 */
int conf_load_signerd(const char *path, struct conf_signerd *c, char *err);
int conf_load_client(const char *path, struct conf_client *c, char *err);

/* The same, from a buffer; name is used in messages in place of the path. */
int conf_parse_signerd(const char *name, const uint8_t *buf, size_t len,
    struct conf_signerd *c, char *err);
int conf_parse_client(const char *name, const uint8_t *buf, size_t len,
    struct conf_client *c, char *err);

/* Release what c owns and clear it; NULL is a no-op. */
void conf_signerd_free(struct conf_signerd *c);
void conf_client_free(struct conf_client *c);

/* Lookups; NULL when absent. The result points into c. */
const struct conf_issuer *conf_issuer_find(const struct conf_signerd *c, const char *id);
const struct conf_profile *conf_profile_find(const struct conf_signerd *c, const char *name);

/*
 * Split "host:port" or "[v6]:port" into host (hostcap bytes, NUL-terminated)
 * and port 1..65535. Returns 0, ERR_BAD_REQUEST (malformed) or ERR_INVAL.
 */
int conf_hostport_split(const char *s, char *host, size_t hostcap, uint16_t *port);
/* Parse a SHA-256 fingerprint (64 hex digits, ':' between bytes allowed, "sha256:" prefix allowed); 0 or ERR_BAD_REQUEST. */
int conf_fingerprint_parse(const char *s, uint8_t out[CONF_FINGERPRINT_LEN]);

/*
 * Logging for the programs (config/log.c). Library code never logs; the
 * programs do, through these. Foreground: stderr with a UTC timestamp;
 * otherwise syslog (facility daemon). log_warn and fatal append strerror(errno).
 */
enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};
void log_init(const char *name, int foreground, int level);
/* The level for "error", "warning", "info", "debug" (NULL: info); -1 if unknown. */
int log_level_parse(const char *s);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif /* CONFIG_CONFIG_H */
