/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: sign and revoke requests as packed on the line, and the checks of an issued certificate, shared by the one-shot commands and the relay. */

#include <string.h>

#include <openssl/bn.h>

#include "client/client.h"

static void
pack_kv_str(msgpack_packer *pk, const char *key, const char *value)
{
	msg_pack_cstr(pk, key);
	msg_pack_cstr(pk, value);
}

static void
pack_pairs(msgpack_packer *pk, const char *key, const struct client_pairs *p)
{
	size_t i;

	msg_pack_cstr(pk, key);
	msgpack_pack_array(pk, p->n);
	for (i = 0; i < p->n; i++) {
		msgpack_pack_array(pk, 2);
		msg_pack_cstr(pk, p->v[i].type);
		msg_pack_cstr(pk, p->v[i].value);
	}
}

static bool
pairs_some(const struct client_pairs *p)
{
	return p != NULL && p->n > 0;
}

uint32_t
client_sign_nargs(const struct client_sign_req *r)
{
	return 3 + pairs_some(r->subject) + pairs_some(r->san) + (r->days > 0);
}

void
client_sign_pack(msgpack_packer *pk, void *arg)
{
	const struct client_sign_req *r = arg;

	pack_kv_str(pk, "profile", r->profile);
	msg_pack_cstr(pk, "csr");
	msgpack_pack_bin(pk, r->csr_len);
	msgpack_pack_bin_body(pk, r->csr, r->csr_len);
	pack_kv_str(pk, "ref", r->ref);
	if (pairs_some(r->subject))
		pack_pairs(pk, "subject", r->subject);
	if (pairs_some(r->san))
		pack_pairs(pk, "san", r->san);
	if (r->days > 0) {
		msg_pack_cstr(pk, "days");
		msgpack_pack_uint32(pk, r->days);
	}
}

uint32_t
client_revoke_nargs(const struct client_revoke_req *r)
{
	return 3 + (r->reason != NULL && r->reason[0] != '\0');
}

void
client_revoke_pack(msgpack_packer *pk, void *arg)
{
	const struct client_revoke_req *r = arg;

	pack_kv_str(pk, "issuer", r->issuer);
	pack_kv_str(pk, "serial", r->serial);
	pack_kv_str(pk, "ref", r->ref);
	if (r->reason != NULL && r->reason[0] != '\0')
		pack_kv_str(pk, "reason", r->reason);
}

int
client_cert_matches(X509 *x, const char *serial, EVP_PKEY *key, char *why,
    size_t whylen)
{
	BIGNUM *bn;
	char *hex = NULL, norm[CLIENT_SERIAL_HEX_MAX + 1];
	bool ok = false;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) != NULL &&
	    (hex = BN_bn2hex(bn)) != NULL &&
	    client_serial_norm(hex, norm, sizeof(norm)) == 0)
		ok = strcmp(norm, serial) == 0;
	OPENSSL_free(hex);
	BN_free(bn);
	if (!ok) {
		err_why(why, whylen, "the certificate does not carry serial %s",
		    serial);
		return ERR_POLICY;
	}
	if (key != NULL && EVP_PKEY_eq(X509_get0_pubkey(x), key) != 1) {
		err_why(why, whylen, "the certificate is not for the CSR's key");
		return ERR_POLICY;
	}
	return 0;
}
