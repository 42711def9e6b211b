/* SPDX-License-Identifier: GPL-3.0-or-later */
/* signerd's crl command: the complete or delta CRL of an issuer, in chunks pinned by its number. */

#include <stdlib.h>
#include <string.h>

#include "signer/daemon_local.h"

/* The arguments of a crl request. */
struct crl_args {
	size_t issuer;
	uint64_t delta_base;
	uint64_t number;        /* 0: not pinned */
	uint64_t offset;
	uint64_t length;
};

static int
crl_parse(struct daemon *d, const struct msg *m, struct cmd_log *lg,
    struct crl_args *a, char *why, size_t whylen)
{
	uint64_t chunk = d->conf->max_frame - DAEMON_FRAME_HEADROOM;
	int rc;

	memset(a, 0, sizeof(*a));
	a->length = chunk;
	if ((rc = cmd_get_issuer(d, m, lg, &a->issuer, why, whylen)) != 0)
		return rc;
	if ((rc = msg_get_uint(m->args, "delta_base", false, 1, UINT64_MAX - 1,
	    &a->delta_base, why, whylen)) < 0 ||
	    (rc = msg_get_uint(m->args, "number", false, 1, UINT64_MAX - 1,
	    &a->number, why, whylen)) < 0 ||
	    (rc = msg_get_uint(m->args, "offset", false, 0, UINT32_MAX,
	    &a->offset, why, whylen)) < 0 ||
	    (rc = msg_get_uint(m->args, "length", false, 1, UINT32_MAX,
	    &a->length, why, whylen)) < 0)
		return rc;
	if (a->length > chunk)
		a->length = chunk;
	return 0;
}

/*
 * Bring the held CRL up to date: without a pinned number a fetch from the
 * start may make a new CRL; with one, the held CRL must be that one.
 */
static int
crl_update(struct daemon *d, const struct crl_args *a, struct crl **held,
    char *why, size_t whylen)
{
	struct daemon_crl *dc = &d->crls[a->issuer];
	struct crl *slot = a->delta_base > 0 ? &dc->delta : &dc->full;
	struct crl c;
	bool regen = a->number == 0 && a->offset == 0;
	int rc;

	*held = slot;
	if (a->number != 0 && slot->der != NULL && slot->number == a->number &&
	    slot->delta_base == a->delta_base)
		return 0;
	rc = crl_get(d->s, a->issuer, a->delta_base, daemon_now(), regen,
	    slot->delta_base == a->delta_base ? slot->number : 0, &c, why,
	    whylen);
	if (rc != 0)
		return rc;
	if (c.der != NULL) {
		crl_clear(slot);
		*slot = c;      /* transferred */
	} else
		crl_clear(&c);
	if (a->number != 0 && slot->number != a->number) {
		err_why(why, whylen, "CRL %llu of '%s' is no longer current "
		    "(now %llu): start again", (unsigned long long)a->number,
		    d->conf->issuers[a->issuer].id,
		    (unsigned long long)slot->number);
		return ERR_CONFLICT;
	}
	return 0;
}

int
cmd_crl(struct daemon *d, const struct msg *m, msgpack_packer *pk,
    struct cmd_log *lg, char *why, size_t whylen)
{
	struct crl_args a;
	struct crl *c;
	uint64_t length;
	int rc;

	if ((rc = crl_parse(d, m, lg, &a, why, whylen)) != 0 ||
	    (rc = crl_update(d, &a, &c, why, whylen)) != 0)
		return rc;
	if (a.offset > c->len) {
		err_why(why, whylen, "offset %llu is past the end of the CRL "
		    "(%zu bytes)", (unsigned long long)a.offset, c->len);
		return ERR_BAD_REQUEST;
	}
	length = a.length < c->len - a.offset ? a.length : c->len - a.offset;
	msg_pack_result(pk, m->id, c->delta_base > 0 ? 9 : 8);
	msg_pack_cstr(pk, "issuer");
	msg_pack_cstr(pk, d->conf->issuers[a.issuer].id);
	msg_pack_cstr(pk, "number");
	msgpack_pack_uint64(pk, c->number);
	if (c->delta_base > 0) {
		msg_pack_cstr(pk, "delta_base");
		msgpack_pack_uint64(pk, c->delta_base);
	}
	msg_pack_cstr(pk, "this_update");
	msgpack_pack_int64(pk, c->this_update);
	msg_pack_cstr(pk, "next_update");
	msgpack_pack_int64(pk, c->next_update);
	msg_pack_cstr(pk, "entries");
	msgpack_pack_uint64(pk, c->entries);
	msg_pack_cstr(pk, "size");
	msgpack_pack_uint64(pk, c->len);
	msg_pack_cstr(pk, "offset");
	msgpack_pack_uint64(pk, a.offset);
	msg_pack_cstr(pk, "data");
	msgpack_pack_bin(pk, (size_t)length);
	msgpack_pack_bin_body(pk, c->der + a.offset, (size_t)length);
	return 0;
}
