/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Helpers shared by the demo files of signer/ (demo, demo_tool, demo_ca, demo_conf); not a public interface. */
#ifndef SIGNER_DEMO_LOCAL_H
#define SIGNER_DEMO_LOCAL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "signer/signer.h"

#define DEMO_PIN_BYTES 8                /* random bytes of a PIN ... */
#define DEMO_PIN_LEN (2 * DEMO_PIN_BYTES) /* ... written as this many hex digits */
#define DEMO_NAME_MAX 32                /* longest name the demo makes inside its directory */
#define DEMO_TOOL_TIMEOUT_MS 60000      /* a tool that runs longer is killed */
#define DEMO_TOOL_OUT_MAX 4096          /* tail of a tool's stdout and stderr kept */
#define DEMO_TOOL_LINE_MAX 160          /* longest line of tool output quoted in a message */
#define DEMO_CA_BACKDATE 86400          /* CAs start this long ago: covers any backdate_seconds */
#define DEMO_ROOT_YEARS 10              /* validity of the root CA */
#define DEMO_CA_YEARS 5                 /* validity of the issuing CAs */
#define DEMO_SERIAL_LEN 16              /* bytes of a CA serial number */
#define DEMO_NODE 1                     /* node id in signerd.yaml */
#define DEMO_BAUD 115200                /* serial line rate in both files */

/* The keys on the demo token; the index is that of demo_keys[]. */
enum demo_key_index {
	DEMO_KEY_ROOT = 0,
	DEMO_KEY_SERVER = 1,
	DEMO_KEY_CLIENT = 2,
	DEMO_KEYS = 3,
};

struct demo_key {
	const char *label;      /* CKA_LABEL, issuer id and certificate file <label>.pem */
	const char *id_hex;     /* CKA_ID in hex, as pkcs11-tool and key_id take it */
	uint8_t id;             /* the same, as a byte */
	const char *key_type;   /* pkcs11-tool --key-type */
	const char *chain;      /* chain file (issuing CA + root); NULL for the root */
};

extern const struct demo_key demo_keys[DEMO_KEYS];

/* One demo being made. */
struct demo {
	char dir[PATH_MAX];             /* absolute, as realpath() gives it */
	char pin_file[PATH_MAX];
	char pin[DEMO_PIN_LEN + 1];     /* the user PIN, wiped by demo_clear() */
	EVP_PKEY *pub[DEMO_KEYS];       /* public keys read back from the token */
	X509 *cert[DEMO_KEYS];          /* the signed CA certificates */
};

/* printf into why (may be NULL). */

/* dir/name into out (PATH_MAX bytes); ERR_INVAL if it does not fit. */
int demo_path(const struct demo *d, const char *name, char *out, char *why,
    size_t whylen);

/* Create the new file path (never an existing one) with mode, holding buf. */
int demo_write_file(const char *path, const void *buf, size_t len,
    mode_t mode, char *why, size_t whylen);

/* bytes random bytes as lowercase hex into out (2 * bytes + 1); 0 or ERR_INTERNAL. */
int demo_random_hex(char *out, size_t bytes);

/*
 * Run argv (argv[0] searched in PATH) with stdin from /dev/null, stdout and
 * stderr captured. what names it in messages. 0 when it exits with status
 * 0; else ERR_SYSTEM (could not run), ERR_TIMEOUT or ERR_HSM, with the exit
 * status and the last line of its stderr (or stdout) in why.
 */
int demo_run(const char *what, char *const argv[], char *why, size_t whylen);

/* Initialise the token, generate demo_keys[] on it and read back d->pub[]. */
int demo_token_create(struct demo *d, char *why, size_t whylen);

/*
 * Make d->cert[]: the root CA and the issuing CAs, signed on the token with
 * the root key; their validity starts at now - DEMO_CA_BACKDATE.
 */
int demo_ca_create(struct demo *d, int64_t now, char *why, size_t whylen);

/* Write d->cert[] as PEM into dir/ca/. */
int demo_ca_write(const struct demo *d, char *why, size_t whylen);

/* Write softhsm2.conf, env and tokens/, and point SOFTHSM2_CONF there. */
int demo_conf_softhsm(const struct demo *d, char *why, size_t whylen);

/* Write signerd.yaml and client.yaml and check that both load. */
int demo_conf_write(const struct demo *d, char *why, size_t whylen);

#endif /* SIGNER_DEMO_LOCAL_H */
