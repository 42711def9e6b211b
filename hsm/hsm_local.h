/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm: state and helpers shared by the .c files of hsm/; not for other modules. */
#ifndef HSM_HSM_LOCAL_H
#define HSM_HSM_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <pkcs11-helper-1.0/pkcs11h-certificate.h>
#include <pkcs11-helper-1.0/pkcs11h-core.h>
#include <pkcs11-helper-1.0/pkcs11h-token.h>

#include "hsm/hsm.h"
#include "proto/proto.h"

#define HSM_DIGEST_MAX 64               /* SHA-512 */
#define HSM_DIGESTINFO_MAX 128          /* DigestInfo for SHA-512: 83 bytes */
#define HSM_MISMATCH 1                  /* signed, but does not verify */

enum hsm_key_type {
	HSM_KEY_RSA = 1,
	HSM_KEY_EC = 2,
};

struct hsm_key {
	struct hsm *h;                  /* NULL once hsm_close() ran */
	struct hsm_key *next;           /* h's list of keys */
	pkcs11h_certificate_t cert;     /* NULL while the token is down */
	EVP_PKEY *pub;
	enum hsm_key_type type;
	int bits;
	size_t field_len;               /* EC: bytes of r and of s */
	bool found;                     /* seen once: gone later is ERR_HSM */
	uint8_t id[HSM_KEY_ID_MAX];
	size_t id_len;
	char id_hex[2 * HSM_KEY_ID_MAX + 1];
};

struct hsm {
	char *module;
	char label[HSM_LABEL_MAX + 1];
	char *pin_file;
	char *pin_env;
	pid_t pid;                      /* the process that opened it */
	bool opened;                    /* open: a lost token is ERR_HSM */
	bool inited;                    /* pkcs11-helper up, module loaded */
	bool up;                        /* token found, logged in, keys bound */
	bool logged_in;
	bool pin_refused;               /* latched: no more logins */
	unsigned logins_left;           /* PINs the current call may hand out */
	int hook_err;                   /* the PIN hook could not read it */
	char hook_why[HSM_WHY_MAX];
	pkcs11h_token_id_t token;
	struct hsm_key *keys;
	struct hsm_stats stats;
};

/* session.c */
int hsm_key_bind(struct hsm_key *k);
void hsm_key_unbind(struct hsm_key *k);
int hsm_token_sign(struct hsm_key *k, CK_MECHANISM_TYPE mech,
    const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen,
    char *why, size_t whylen);
int hsm_usable(const struct hsm *h, char *why, size_t whylen);
bool hsm_token_present(struct hsm *h);
int hsm_bring_up(struct hsm *h, char *why, size_t whylen);

/* pin.c */
int hsm_pin_read(const char *file, const char *env, char *pin, size_t cap,
    char *why, size_t whylen);

/* sign.c */
/*
 * The token's signature over dgst in X.509 form, not yet verified: the
 * caller verifies it (hsm_sign_dgst, or the signed certificate or CRL as a
 * whole) and counts it in stats.signatures. A signature of another size
 * than the public key's is HSM_MISMATCH (counted as a failure).
 */
int hsm_sign_unverified(struct hsm_key *k, const EVP_MD *md,
    const uint8_t *dgst, size_t dlen, uint8_t **sig, size_t *siglen,
    char *why, size_t whylen);
int hsm_sign_dgst(struct hsm_key *k, const EVP_MD *md, const uint8_t *dgst,
    size_t dlen, uint8_t **sig, size_t *siglen, char *why, size_t whylen);

/* key.c */
int hsm_md_check(const EVP_MD *md, int *nid);
int hsm_key_probe(struct hsm_key *k, char *why, size_t whylen);

/* der.c: a growing DER buffer, bounded by HSM_TBS_MAX */
struct hsm_der {
	uint8_t *buf;
	size_t len;
	size_t cap;
};

void hsm_der_free(struct hsm_der *d);
int hsm_der_put(struct hsm_der *d, const uint8_t *p, size_t n);
int hsm_der_put_item(struct hsm_der *d, const void *val, const ASN1_ITEM *it);
int hsm_der_wrap(struct hsm_der *d, size_t from, uint8_t tag);

#endif /* HSM_HSM_LOCAL_H */
