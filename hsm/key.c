/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm: bind a CA public key to the private key with its CKA_ID on the token, and probe it with a test signature. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/objects.h>

#include "hsm/hsm_local.h"

#define HSM_GROUP_NAME_MAX 64

/*
 * What key probes sign: the hash of this ASCII text. A certificate or CRL
 * is DER, so no to-be-signed structure has this hash.
 */
#define HSM_PROBE_TEXT "signer: HSM key probe; not a certificate, not a CRL\n"

int
hsm_md_check(const EVP_MD *md, int *nid)
{
	int t;

	if (md == NULL)
		return ERR_INVAL;
	t = EVP_MD_get_type(md);
	if (t != NID_sha256 && t != NID_sha384 && t != NID_sha512)
		return ERR_INVAL;
	if (nid != NULL)
		*nid = t;
	return 0;
}

static int
hsm_curve_nid(EVP_PKEY *pub)
{
	char group[HSM_GROUP_NAME_MAX];
	size_t len = 0;
	int nid;

	if (EVP_PKEY_get_group_name(pub, group, sizeof(group), &len) != 1)
		return NID_undef;
	if ((nid = OBJ_txt2nid(group)) == NID_undef)
		nid = EC_curve_nist2nid(group);
	return nid;
}

/* Classify k->pub: RSA 2048/3072/4096 or EC P-256/P-384. */
static int
hsm_key_kind(struct hsm_key *k, char *why, size_t whylen)
{
	int id = EVP_PKEY_get_base_id(k->pub), curve;

	k->bits = EVP_PKEY_get_bits(k->pub);
	if (id == EVP_PKEY_RSA) {
		if (k->bits != 2048 && k->bits != 3072 && k->bits != 4096) {
			err_why(why, whylen, "CA key: RSA-%d is not supported "
			    "(RSA 2048, 3072 or 4096)", k->bits);
			return ERR_CONFIG;
		}
		k->type = HSM_KEY_RSA;
		return 0;
	}
	if (id == EVP_PKEY_EC) {
		curve = hsm_curve_nid(k->pub);
		if (curve != NID_X9_62_prime256v1 && curve != NID_secp384r1) {
			err_why(why, whylen, "CA key: EC curve %s is not "
			    "supported (P-256 or P-384)", curve == NID_undef ?
			    "(unnamed)" : OBJ_nid2sn(curve));
			return ERR_CONFIG;
		}
		k->type = HSM_KEY_EC;
		k->field_len = ((size_t)k->bits + 7) / 8;
		return 0;
	}
	err_why(why, whylen, "CA key: %s keys are not supported (RSA or EC)",
	    id == NID_undef ? "unknown" : OBJ_nid2sn(id));
	return ERR_CONFIG;
}

static void
hsm_hex(const uint8_t *p, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

/*
 * Sign the probe text with k and check the result. binding: a signature
 * that does not verify means the id names another key (ERR_CONFIG).
 */
static int
hsm_probe(struct hsm_key *k, bool binding, char *why, size_t whylen)
{
	const EVP_MD *md = hsm_key_default_md(k);
	uint8_t dgst[HSM_DIGEST_MAX], *sig = NULL;
	unsigned int dlen = 0;
	size_t siglen = 0;
	int r;

	if (!EVP_Digest(HSM_PROBE_TEXT, sizeof(HSM_PROBE_TEXT) - 1, dgst,
	    &dlen, md, NULL)) {
		err_why(why, whylen, "digest failed");
		return ERR_INTERNAL;
	}
	r = hsm_sign_dgst(k, md, dgst, dlen, &sig, &siglen, why, whylen);
	free(sig);
	if (r == HSM_MISMATCH)
		r = binding ? ERR_CONFIG : ERR_HSM;
	return r;
}

int
hsm_key_probe(struct hsm_key *k, char *why, size_t whylen)
{
	if (k == NULL) {
		err_why(why, whylen, "no key");
		return ERR_INVAL;
	}
	return hsm_probe(k, false, why, whylen);
}

int
hsm_key_find(struct hsm *h, const uint8_t *id, size_t id_len, EVP_PKEY *pub,
    struct hsm_key **out, char *why, size_t whylen)
{
	struct hsm_key *k;
	int r;

	err_why(why, whylen, "%s", "");
	if (out == NULL)
		return ERR_INVAL;
	*out = NULL;
	if (h == NULL || id == NULL || pub == NULL || id_len == 0 ||
	    id_len > HSM_KEY_ID_MAX) {
		err_why(why, whylen, "a key needs an HSM, an id of 1..%d bytes "
		    "and a public key", HSM_KEY_ID_MAX);
		return ERR_INVAL;
	}
	if ((r = hsm_usable(h, why, whylen)) != 0)
		return r;
	if ((k = calloc(1, sizeof(*k))) == NULL || !EVP_PKEY_up_ref(pub)) {
		free(k);
		err_why(why, whylen, "out of memory");
		return ERR_NOMEM;
	}
	k->pub = pub;
	memcpy(k->id, id, id_len);
	k->id_len = id_len;
	hsm_hex(id, id_len, k->id_hex);
	if ((r = hsm_key_kind(k, why, whylen)) != 0)
		goto fail;
	k->h = h;
	k->next = h->keys;
	h->keys = k;
	/* While the token is down, the next signature binds every key. */
	if (h->up && (r = hsm_key_bind(k)) != 0) {
		err_why(why, whylen, "token '%s', key %s: cannot make a "
		    "pkcs11-helper handle", h->label, k->id_hex);
		goto fail;
	}
	if ((r = hsm_probe(k, true, why, whylen)) != 0)
		goto fail;
	k->found = true;
	*out = k;
	return 0;
 fail:
	hsm_key_free(k);
	return r;
}

void
hsm_key_free(struct hsm_key *k)
{
	struct hsm_key **pp;

	if (k == NULL)
		return;
	if (k->h != NULL) {
		for (pp = &k->h->keys; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == k) {
				*pp = k->next;
				break;
			}
		}
		hsm_key_unbind(k);
	}
	EVP_PKEY_free(k->pub);
	free(k);
}

EVP_PKEY *
hsm_key_pub(const struct hsm_key *k)
{
	return k != NULL ? k->pub : NULL;
}

const EVP_MD *
hsm_key_default_md(const struct hsm_key *k)
{
	if (k != NULL && k->type == HSM_KEY_EC && k->bits == 384)
		return EVP_sha384();
	return EVP_sha256();
}
