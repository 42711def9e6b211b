/* SPDX-License-Identifier: GPL-3.0-or-later */
/* signerd commands: the command table, shared argument helpers, and hello, ca and cert. */

#include <string.h>

#include <openssl/x509v3.h>

#include "signer/daemon_local.h"

struct cmd_entry {
	const char *name;
	cmd_fn fn;              /* NULL: sign, handled in batches */
};

static const struct cmd_entry cmd_table[] = {
	{ "hello", cmd_hello },
	{ "health", cmd_health },
	{ "sign", NULL },
	{ "revoke", cmd_revoke },
	{ "crl", cmd_crl },
	{ "ca", cmd_ca },
	{ "cert", cmd_cert },
};

const char *const cmd_names[] = {
	"hello", "health", "sign", "revoke", "crl", "ca", "cert", NULL
};


static bool
cmd_name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(name, want, len) == 0;
}

cmd_fn
cmd_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++)
		if (cmd_table[i].fn != NULL &&
		    cmd_name_is(name, len, cmd_table[i].name))
			return cmd_table[i].fn;
	return NULL;
}

bool
cmd_is_sign(const struct msg *m)
{
	return cmd_name_is(m->cmd, m->cmd_len, "sign");
}

void
cmd_log_text(char *dst, size_t cap, const void *src, size_t len)
{
	const unsigned char *p = src;
	size_t i;

	if (cap == 0)
		return;
	for (i = 0; i < len && i + 1 < cap; i++)
		dst[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	dst[i] = '\0';
}

int
cmd_get_issuer(struct daemon *d, const struct msg *m, struct cmd_log *lg,
    size_t *index, char *why, size_t whylen)
{
	char id[REPO_ID_MAX + 1];
	const char *s;
	size_t len, i;
	int rc;

	rc = msg_get_str(m->args, "issuer", true, REPO_ID_MAX, &s, &len, why,
	    whylen);
	if (rc < 0)
		return rc;
	memcpy(id, s, len);
	id[len] = '\0';
	cmd_log_text(lg->issuer, sizeof(lg->issuer), s, len);
	for (i = 0; i < d->conf->n_issuers; i++) {
		if (strcmp(d->conf->issuers[i].id, id) == 0) {
			*index = i;
			return 0;
		}
	}
	err_why(why, whylen, "unknown issuer '%s'", lg->issuer);
	return ERR_NOT_FOUND;
}

int
cmd_get_serial(const struct msg *m, struct cmd_log *lg, struct serial *out,
    char *why, size_t whylen)
{
	const char *s;
	size_t len;
	int rc;

	rc = msg_get_str(m->args, "serial", true, SERIAL_HEX_MAX - 1, &s, &len,
	    why, whylen);
	if (rc < 0)
		return rc;
	if (serial_from_hex(s, len, out) != 0) {
		err_why(why, whylen, "field 'serial' must be 1..%d hex digits",
		    SERIAL_HEX_MAX - 1);
		return ERR_BAD_REQUEST;
	}
	serial_to_hex(out, lg->serial);
	return 0;
}

void
cmd_pack_serial(msgpack_packer *pk, const struct serial *s)
{
	char hex[SERIAL_HEX_MAX];

	serial_to_hex(s, hex);
	msg_pack_cstr(pk, hex);
}

int
cmd_hello(struct daemon *d, const struct msg *m, msgpack_packer *pk,
    struct cmd_log *lg, char *why, size_t whylen)
{
	const msgpack_object_array *vs;
	const char *client;
	size_t len, i, n;
	bool v1 = false;
	int rc;

	(void)lg;
	rc = msg_get_str(m->args, "client", false, MSG_ERRMSG_MAX, &client,
	    &len, why, whylen);
	if (rc < 0)
		return rc;
	rc = msg_get_array(m->args, "versions", true, 16, &vs, why, whylen);
	if (rc < 0)
		return rc;
	for (i = 0; i < vs->size; i++)
		if (vs->ptr[i].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    vs->ptr[i].via.u64 == MSG_VERSION)
			v1 = true;
	if (!v1) {
		err_why(why, whylen, "no common protocol version: this server "
		    "speaks version %d", MSG_VERSION);
		return ERR_UNSUPPORTED_VERSION;
	}
	for (n = 0; cmd_names[n] != NULL; n++)
		;
	msg_pack_result(pk, m->id, 5);
	msg_pack_cstr(pk, "server");
	msg_pack_cstr(pk, "signerd");
	msg_pack_cstr(pk, "version");
	msgpack_pack_uint32(pk, MSG_VERSION);
	msg_pack_cstr(pk, "node");
	msgpack_pack_uint32(pk, d->conf->node);
	msg_pack_cstr(pk, "max_frame");
	msgpack_pack_uint32(pk, d->conf->max_frame);
	msg_pack_cstr(pk, "commands");
	msgpack_pack_array(pk, (uint32_t)n);
	for (i = 0; i < n; i++)
		msg_pack_cstr(pk, cmd_names[i]);
	return 0;
}

static void
pack_profiles_of(msgpack_packer *pk, const struct conf_signerd *c,
    const char *issuer)
{
	size_t i, j, n = 0;

	for (i = 0; i < c->n_profiles; i++)
		for (j = 0; j < c->profiles[i].issuers.n; j++)
			if (strcmp(c->profiles[i].issuers.v[j], issuer) == 0)
				n++;
	msgpack_pack_array(pk, (uint32_t)n);
	for (i = 0; i < c->n_profiles; i++)
		for (j = 0; j < c->profiles[i].issuers.n; j++)
			if (strcmp(c->profiles[i].issuers.v[j], issuer) == 0)
				msg_pack_cstr(pk, c->profiles[i].name);
}

int
cmd_ca(struct daemon *d, const struct msg *m, msgpack_packer *pk,
    struct cmd_log *lg, char *why, size_t whylen)
{
	const struct cert_issuer *iss;
	int64_t now = daemon_now();
	unsigned char *der[CONF_ISSUERS_MAX] = { NULL };
	int dlen[CONF_ISSUERS_MAX];
	size_t n, i;
	int rc = 0;

	(void)lg;
	iss = signer_issuers(d->s, &n);
	for (i = 0; i < n && i < CONF_ISSUERS_MAX; i++) {
		if ((dlen[i] = i2d_X509(iss[i].cert, &der[i])) <= 0) {
			err_why(why, whylen, "cannot encode the certificate of "
			    "issuer '%s'", iss[i].conf->id);
			rc = ERR_INTERNAL;
			goto out;
		}
	}
	msg_pack_result(pk, m->id, 1);
	msg_pack_cstr(pk, "issuers");
	msgpack_pack_array(pk, (uint32_t)i);
	for (i = 0; i < n && i < CONF_ISSUERS_MAX; i++) {
		msgpack_pack_map(pk, 6);
		msg_pack_cstr(pk, "id");
		msg_pack_cstr(pk, iss[i].conf->id);
		msg_pack_cstr(pk, "cert");
		msgpack_pack_bin(pk, (size_t)dlen[i]);
		msgpack_pack_bin_body(pk, der[i], (size_t)dlen[i]);
		msg_pack_cstr(pk, "not_before");
		msgpack_pack_int64(pk, iss[i].not_before);
		msg_pack_cstr(pk, "not_after");
		msgpack_pack_int64(pk, iss[i].not_after);
		msg_pack_cstr(pk, "profiles");
		pack_profiles_of(pk, d->conf, iss[i].conf->id);
		msg_pack_cstr(pk, "active");
		if (now >= iss[i].not_before && now <= iss[i].not_after)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
	}
out:
	for (i = 0; i < n && i < CONF_ISSUERS_MAX; i++)
		OPENSSL_free(der[i]);
	return rc;
}

/* Pack the cert result from what the repository knows of (issuer, serial). */
static void
pack_cert_status(msgpack_packer *pk, const struct msg *m,
    const struct repo_cert *c, const struct repo_revocation *rev)
{
	bool have_cert = c != NULL && c->der != NULL;
	const char *reason = rev != NULL ? msg_reason_name(rev->reason) : NULL;
	uint32_t n = 1 + (have_cert ? 1 : 0) + (rev != NULL ? 1 : 0) +
	    (reason != NULL ? 1 : 0);

	msg_pack_result(pk, m->id, n);
	if (have_cert) {
		msg_pack_cstr(pk, "cert");
		msgpack_pack_bin(pk, c->der_len);
		msgpack_pack_bin_body(pk, c->der, c->der_len);
	}
	msg_pack_cstr(pk, "status");
	msg_pack_cstr(pk, rev != NULL ? "revoked" :
	    have_cert ? "good" : "unknown");
	if (rev != NULL) {
		msg_pack_cstr(pk, "revoked_at");
		msgpack_pack_int64(pk, rev->revoked_at);
	}
	if (reason != NULL) {
		msg_pack_cstr(pk, "reason");
		msg_pack_cstr(pk, reason);
	}
}

int
cmd_cert(struct daemon *d, const struct msg *m, msgpack_packer *pk,
    struct cmd_log *lg, char *why, size_t whylen)
{
	struct repo_cert c;
	struct repo_revocation rev;
	struct repo_txn *t = NULL;
	struct serial serial;
	size_t idx;
	int rc, crc, rrc;

	memset(&c, 0, sizeof(c));
	if ((rc = cmd_get_issuer(d, m, lg, &idx, why, whylen)) != 0 ||
	    (rc = cmd_get_serial(m, lg, &serial, why, whylen)) != 0)
		return rc;
	if ((rc = repo_begin(signer_repo(d->s), false, &t, why, whylen)) != 0)
		return rc;
	crc = repo_cert_get(t, d->conf->issuers[idx].id, &serial, &c, why,
	    whylen);
	rrc = repo_revocation_get(t, d->conf->issuers[idx].id, &serial, &rev,
	    why, whylen);
	if ((crc != 0 && crc != ERR_NOT_FOUND) ||
	    (rrc != 0 && rrc != ERR_NOT_FOUND)) {
		rc = crc != 0 && crc != ERR_NOT_FOUND ? crc : rrc;
		goto out;
	}
	pack_cert_status(pk, m, crc == 0 ? &c : NULL, rrc == 0 ? &rev : NULL);
out:
	repo_abort(t);
	repo_cert_clear(&c);
	return rc;
}
