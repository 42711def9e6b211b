/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm: CA keys that stay on a PKCS#11 token (through pkcs11-helper): open, find keys, sign digests, certificates and CRLs. */
#ifndef HSM_HSM_H
#define HSM_HSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * One struct hsm per process. pkcs11-helper keeps its state in globals, so
 * a second hsm_open() fails until hsm_close(). Calls must not run
 * concurrently. PKCS#11 does not survive fork(): call hsm_open() in the
 * process that signs, after any fork(); a handle used in a child process
 * refuses with ERR_INVAL.
 *
 * Library code: functions return 0 or a negative ERR_* (proto/proto.h) and
 * write a reason into why (may be NULL; HSM_WHY_MAX bytes always suffice).
 * Nothing is logged, and the PIN never appears in a message.
 */

#define HSM_MODULE_DEFAULT "/usr/lib/softhsm/libsofthsm2.so"
#define HSM_LABEL_MAX 32        /* longest token label (CK_TOKEN_INFO.label) */
#define HSM_KEY_ID_MAX 64       /* longest CKA_ID, bytes */
#define HSM_PIN_MAX 256         /* longest PIN, bytes */
#define HSM_SIG_MAX 1024        /* largest raw signature the token may return */
#define HSM_TBS_MAX (64u * 1024 * 1024) /* largest to-be-signed part */
#define HSM_WHY_MAX 256         /* messages written to why fit in this */

struct hsm;
struct hsm_key;

/* Where the token is and how to log in. Strings are copied by hsm_open(). */
struct hsm_params {
	const char *module;     /* module path; NULL: HSM_MODULE_DEFAULT */
	const char *token;      /* token label, 1..HSM_LABEL_MAX bytes */
	/*
	 * Exactly one PIN source. The PIN is read again at every login (also
	 * when the signer recovers), so the source must stay in place; it is
	 * wiped from memory right after each login. A PIN file must be a
	 * regular file owned by the process's effective user with mode 0600 or
	 * stricter; one trailing newline is ignored. A variable stays visible
	 * in the process environment: prefer a file.
	 */
	const char *pin_file;
	const char *pin_env;    /* name of an environment variable */
};

/*
 * Load the module, find the token by label (exactly one token may carry
 * it) and log in as the user, calling C_Login exactly once. *out is set on
 * success and is the caller's (hsm_close). Returns 0, ERR_INVAL (bad
 * params, or an hsm already open), ERR_CONFIG (PIN source missing, too open,
 * wrong owner, empty; module file missing), ERR_NOT_FOUND (no token with
 * that label), ERR_PIN (PIN refused: never retried), ERR_HSM, ERR_NOMEM.
 */
int hsm_open(const struct hsm_params *p, struct hsm **out, char *why,
    size_t whylen);

/*
 * Log out, finalise the module and free h. Keys not yet freed are detached:
 * their only valid use is hsm_key_free(). NULL is a no-op.
 */
void hsm_close(struct hsm *h);

/*
 * Bind the private key with CKA_ID id on the token to its public key pub
 * (normally the CA certificate's: pkcs11-helper cannot read public keys).
 * Supported: RSA 2048/3072/4096 and EC P-256/P-384. A test signature is made
 * and checked with pub, so a key id that names another key is caught here.
 * The test signature covers the hash of a fixed ASCII string, which cannot
 * be taken for a certificate or a CRL. Takes its own reference to pub.
 * *out is the caller's (hsm_key_free). Returns 0, ERR_INVAL, ERR_CONFIG
 * (unsupported key; private key does not match pub), ERR_NOT_FOUND (no
 * private key with that id: pkcs11-helper logs in once more to look again,
 * and reports a search that fails on both tries the same way), ERR_PIN,
 * ERR_HSM, ERR_NOMEM.
 */
int hsm_key_find(struct hsm *h, const uint8_t *id, size_t id_len,
    EVP_PKEY *pub, struct hsm_key **out, char *why, size_t whylen);

/* Release k; NULL is a no-op. Free keys before or after hsm_close(). */
void hsm_key_free(struct hsm_key *k);

/* The key's public key (owned by k). */
EVP_PKEY *hsm_key_pub(const struct hsm_key *k);

/* The digest to use by default: SHA-256, or SHA-384 for P-384 keys. */
const EVP_MD *hsm_key_default_md(const struct hsm_key *k);

/*
 * The signature AlgorithmIdentifier for k with md (SHA-256/384/512; NULL:
 * the key's default): sha*WithRSAEncryption with NULL parameters, or
 * ecdsa-with-SHA* without parameters. *out is the caller's
 * (X509_ALGOR_free). ERR_INVAL for another digest, ERR_NOMEM.
 */
int hsm_sig_alg(const struct hsm_key *k, const EVP_MD *md, X509_ALGOR **out);

/*
 * Sign a digest made with md (NULL: the key's default) and return the
 * signature in X.509 form: RSA PKCS#1 v1.5 bytes, or a DER ECDSA-Sig-Value.
 * Before it is returned the signature is verified with the key's public
 * key. *sig is malloc'd, the caller's (free). Recovery: when the token or
 * its session went away (CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED,
 * CKR_USER_NOT_LOGGED_IN, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
 * CKR_DEVICE_ERROR, ...) the session is re-opened, the user logged in again
 * and the signature retried, once per call: at most one C_Login per call.
 * A refused PIN is never tried again: ERR_PIN now and for every later call
 * until hsm_open(). Returns 0, ERR_INVAL, ERR_PIN, ERR_NOT_FOUND (key gone),
 * ERR_HSM, ERR_NOMEM.
 */
int hsm_sign_digest(struct hsm_key *k, const EVP_MD *md, const uint8_t *dgst,
    size_t dlen, uint8_t **sig, size_t *siglen, char *why, size_t whylen);

/* As hsm_sign_digest(), over the digest of msg (len bytes). */
int hsm_sign(struct hsm_key *k, const EVP_MD *md, const uint8_t *msg,
    size_t len, uint8_t **sig, size_t *siglen, char *why, size_t whylen);

/*
 * Sign certificate tbs: stamp its signature AlgorithmIdentifier (tbs is
 * changed there), sign the to-be-signed DER on the token, assemble
 * SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING }, parse it back and
 * verify it with the key's public key. *out is a new certificate, the
 * caller's (X509_free). Errors as hsm_sign_digest(), and ERR_INVAL when tbs
 * cannot be encoded (a field missing).
 */
int hsm_sign_x509(struct hsm_key *k, X509 *tbs, const EVP_MD *md, X509 **out,
    char *why, size_t whylen);

/*
 * As hsm_sign_x509(), with the signed certificate as DER: *out (malloc'd,
 * the caller's: free) and *outlen. The result is parsed back and verified
 * with the key's public key as there, but its subject public key is left
 * undecoded (the caller built it), which saves OpenSSL 3.0's slow key
 * decoding.
 */
int hsm_sign_x509_der(struct hsm_key *k, X509 *tbs, const EVP_MD *md,
    uint8_t **out, size_t *outlen, char *why, size_t whylen);

/*
 * The same for a CRL. tbs is not changed: OpenSSL 3.0 cannot set a CRL's
 * inner AlgorithmIdentifier, so the TBSCertList is encoded here from tbs's
 * version, issuer, thisUpdate, nextUpdate, revoked entries (in their stack
 * order; call X509_CRL_sort() first) and extensions. An empty revoked list
 * is omitted (RFC 5280 5.1.2.6). *out is the caller's (X509_CRL_free).
 */
int hsm_sign_crl(struct hsm_key *k, X509_CRL *tbs, const EVP_MD *md,
    X509_CRL **out, char *why, size_t whylen);

/* Counters since hsm_open(). */
struct hsm_stats {
	uint64_t logins;        /* PINs handed to the token (C_Login calls) */
	uint64_t recoveries;    /* calls that needed a new session and login */
	uint64_t reinits;       /* C_Finalize + C_Initialize of the module */
	uint64_t signatures;    /* signatures made and verified */
	uint64_t failures;      /* calls that failed on the token */
};

/* Copy h's counters into *out. */
void hsm_get_stats(const struct hsm *h, struct hsm_stats *out);

/* The result of hsm_health(). */
struct hsm_health {
	bool token_present;     /* a token with the label is in a slot now */
	bool logged_in;         /* the last token operation ran logged in */
	bool pin_refused;       /* PIN refused: no login until hsm_open() */
	size_t keys_ok;         /* keys whose probe signature verified */
	struct hsm_stats stats;
};

/*
 * Health probe. Re-opens the token first if an earlier recovery failed
 * (never after a refused PIN). token_present comes from the module's slot
 * list. Each of keys[0..n) is probed with a real test signature (as in
 * hsm_key_find(), with the recovery of hsm_sign_digest()), which shows
 * that the token is there, the session logged in, the key found and still
 * matching its public key; key_err[i] (n entries; may be NULL when n is 0)
 * receives 0 or its error. With no keys, logged_in is the state left by the
 * last operation. Returns 0 when all is well, else the first error, with
 * its reason in why.
 */
int hsm_health(struct hsm *h, struct hsm_key *const *keys, size_t n,
    int *key_err, struct hsm_health *out, char *why, size_t whylen);

#endif /* HSM_HSM_H */
