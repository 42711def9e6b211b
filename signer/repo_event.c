/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Repository event log: msgpack event values, appending with the version vector, iteration by origin. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/repo_local.h"

#define REPO_EVENT_TYPE_MAX 16  /* longest event type name read */

static const char repo_vv_prefix[2] = { 'v', 'v' };

/* ---- encoding -------------------------------------------------------------- */

static void
pack_key(msgpack_packer *pk, const char *key)
{
	msg_pack_cstr(pk, key);
}

static void
pack_bin(msgpack_packer *pk, const char *key, const void *p, size_t len)
{
	pack_key(pk, key);
	msgpack_pack_bin(pk, len);
	if (len > 0)
		msgpack_pack_bin_body(pk, p, len);
}

static void
pack_int(msgpack_packer *pk, const char *key, int64_t v)
{
	pack_key(pk, key);
	msgpack_pack_int64(pk, v);
}

static void
pack_str(msgpack_packer *pk, const char *key, const char *s)
{
	pack_key(pk, key);
	msg_pack_cstr(pk, s);
}

static bool
event_valid(const struct repo_event *ev)
{
	const struct repo_cert *c = &ev->cert;
	const struct repo_revocation *rev = &ev->rev;
	size_t sublen;

	if (ev->origin < 1 || ev->origin > REPO_NODE_MAX || ev->seq < 1)
		return false;
	if (ev->type == REPO_EVENT_CRL)
		return repo_id_valid(ev->crl.issuer) && ev->crl.number >= 1 &&
		    ev->crl.delta_base < ev->crl.number &&
		    ev->crl.next_update > ev->crl.this_update;
	if (ev->type == REPO_EVENT_REVOKE)
		return repo_id_valid(rev->issuer) &&
		    repo_serial_valid(&rev->serial) &&
		    repo_reason_valid(rev->reason) &&
		    repo_ref_valid(rev->ref, rev->ref_len);
	if (ev->type != REPO_EVENT_ISSUE)
		return false;
	sublen = strnlen(c->subject, REPO_SUBJECT_MAX + 1);
	return repo_id_valid(c->issuer) && repo_serial_valid(&c->serial) &&
	    repo_id_valid(c->profile) && repo_ref_valid(c->ref, c->ref_len) &&
	    sublen <= REPO_SUBJECT_MAX && msg_utf8_valid(c->subject, sublen) &&
	    c->der != NULL && c->der_len >= 1 && c->der_len <= REPO_DER_MAX;
}

static void
pack_issue(msgpack_packer *pk, const struct repo_cert *c)
{
	pack_str(pk, "issuer", c->issuer);
	pack_bin(pk, "serial", c->serial.b, c->serial.len);
	pack_str(pk, "profile", c->profile);
	pack_bin(pk, "ref", c->ref, c->ref_len);
	pack_bin(pk, "req_hash", c->req_hash, sizeof(c->req_hash));
	pack_int(pk, "not_before", c->not_before);
	pack_int(pk, "not_after", c->not_after);
	pack_int(pk, "created", c->created);
	pack_str(pk, "subject", c->subject);
	pack_bin(pk, "der", c->der, c->der_len);
}

static void
pack_crl(msgpack_packer *pk, const struct repo_crl *c)
{
	pack_str(pk, "issuer", c->issuer);
	pack_key(pk, "number");
	msgpack_pack_uint64(pk, c->number);
	pack_key(pk, "delta_base");
	msgpack_pack_uint64(pk, c->delta_base);
	pack_int(pk, "this_update", c->this_update);
	pack_int(pk, "next_update", c->next_update);
}

static void
pack_revoke(msgpack_packer *pk, const struct repo_revocation *rev)
{
	pack_str(pk, "issuer", rev->issuer);
	pack_bin(pk, "serial", rev->serial.b, rev->serial.len);
	pack_int(pk, "revoked_at", rev->revoked_at);
	pack_int(pk, "reason", rev->reason);
	pack_bin(pk, "ref", rev->ref, rev->ref_len);
}

int
repo_event_encode(const struct repo_event *ev, uint8_t **out, size_t *len)
{
	static const struct {
		const char *name;
		uint32_t keys;
	} types[] = {
		[REPO_EVENT_ISSUE] = { "issue", 13 },
		[REPO_EVENT_REVOKE] = { "revoke", 8 },
		[REPO_EVENT_CRL] = { "crl", 8 },
	};
	msgpack_sbuffer sb;
	msgpack_packer pk;

	*out = NULL;
	*len = 0;
	if (ev == NULL || !event_valid(ev))
		return ERR_INVAL;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, types[ev->type].keys);
	pack_str(&pk, "type", types[ev->type].name);
	pack_key(&pk, "origin");
	msgpack_pack_uint8(&pk, ev->origin);
	pack_key(&pk, "seq");
	msgpack_pack_uint64(&pk, ev->seq);
	if (ev->type == REPO_EVENT_ISSUE)
		pack_issue(&pk, &ev->cert);
	else if (ev->type == REPO_EVENT_REVOKE)
		pack_revoke(&pk, &ev->rev);
	else
		pack_crl(&pk, &ev->crl);
	/* msgpack-c's sbuffer reports no allocation failure but an empty buffer. */
	if (sb.data == NULL || sb.size == 0 || sb.size > REPO_EVENT_MAX) {
		msgpack_sbuffer_destroy(&sb);
		return sb.data == NULL ? ERR_NOMEM : ERR_INVAL;
	}
	*len = sb.size;
	*out = (uint8_t *)msgpack_sbuffer_release(&sb);
	return 0;
}

/* ---- decoding -------------------------------------------------------------- */

/* A required string of min..max bytes into dst (max + 1 bytes). */
static int
get_text(const msgpack_object *map, const char *key, size_t min, size_t max,
    char *dst, char *why, size_t whylen)
{
	const char *s;
	size_t n;
	int rc;

	if ((rc = msg_get_str(map, key, true, max, &s, &n, why, whylen)) < 0)
		return rc;
	if (n < min) {
		err_why(why, whylen, "field '%s' is empty", key);
		return ERR_BAD_REQUEST;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* A required bin of min..max bytes into dst; sets *len. */
static int
get_bytes(const msgpack_object *map, const char *key, size_t min, size_t max,
    uint8_t *dst, size_t *len, char *why, size_t whylen)
{
	const uint8_t *b;
	size_t n;
	int rc;

	if ((rc = msg_get_bin(map, key, true, max, &b, &n, why, whylen)) < 0)
		return rc;
	if (n < min) {
		err_why(why, whylen, "field '%s' must be at least %zu bytes",
		    key, min);
		return ERR_BAD_REQUEST;
	}
	memcpy(dst, b, n);
	*len = n;
	return 0;
}

static int
get_serial(const msgpack_object *map, struct serial *s, char *why,
    size_t whylen)
{
	int rc;

	if ((rc = get_bytes(map, "serial", 1, SERIAL_MAX, s->b, &s->len, why,
	    whylen)) < 0)
		return rc;
	if (!repo_serial_valid(s)) {
		err_why(why, whylen, "field 'serial' has a leading zero byte");
		return ERR_BAD_REQUEST;
	}
	return 0;
}

static int
get_der(const msgpack_object *map, struct repo_cert *c, char *why,
    size_t whylen)
{
	const uint8_t *b;
	size_t n;
	int rc;

	if ((rc = msg_get_bin(map, "der", true, REPO_DER_MAX, &b, &n, why,
	    whylen)) < 0)
		return rc;
	if (n == 0) {
		err_why(why, whylen, "field 'der' is empty");
		return ERR_BAD_REQUEST;
	}
	if ((c->der = malloc(n)) == NULL) {
		err_why(why, whylen, "out of memory");
		return ERR_NOMEM;
	}
	memcpy(c->der, b, n);
	c->der_len = n;
	return 0;
}

static int
decode_issue(const msgpack_object *map, struct repo_cert *c, char *why,
    size_t whylen)
{
	size_t hlen;
	int rc;

	c->status = CERT_ISSUED;
	c->reason = CRL_REASON_NONE;
	if ((rc = get_text(map, "issuer", 1, REPO_ID_MAX, c->issuer, why,
	    whylen)) < 0 ||
	    (rc = get_serial(map, &c->serial, why, whylen)) < 0 ||
	    (rc = get_text(map, "profile", 1, REPO_ID_MAX, c->profile, why,
	    whylen)) < 0 ||
	    (rc = get_bytes(map, "ref", 1, REPO_REF_MAX, c->ref, &c->ref_len,
	    why, whylen)) < 0 ||
	    (rc = get_bytes(map, "req_hash", sizeof(c->req_hash),
	    sizeof(c->req_hash), c->req_hash, &hlen, why, whylen)) < 0 ||
	    (rc = msg_get_int(map, "not_before", true, &c->not_before, why,
	    whylen)) < 0 ||
	    (rc = msg_get_int(map, "not_after", true, &c->not_after, why,
	    whylen)) < 0 ||
	    (rc = msg_get_int(map, "created", true, &c->created, why,
	    whylen)) < 0 ||
	    (rc = get_text(map, "subject", 0, REPO_SUBJECT_MAX, c->subject,
	    why, whylen)) < 0)
		return rc;
	return get_der(map, c, why, whylen);
}

static int
decode_revoke(const msgpack_object *map, struct repo_revocation *rev,
    char *why, size_t whylen)
{
	int64_t reason;
	int rc;

	if ((rc = get_text(map, "issuer", 1, REPO_ID_MAX, rev->issuer, why,
	    whylen)) < 0 ||
	    (rc = get_serial(map, &rev->serial, why, whylen)) < 0 ||
	    (rc = msg_get_int(map, "revoked_at", true, &rev->revoked_at, why,
	    whylen)) < 0 ||
	    (rc = msg_get_int(map, "reason", true, &reason, why, whylen)) < 0 ||
	    (rc = get_bytes(map, "ref", 1, REPO_REF_MAX, rev->ref,
	    &rev->ref_len, why, whylen)) < 0)
		return rc;
	if (reason < CRL_REASON_NONE || reason > REPO_REASON_MAX ||
	    !repo_reason_valid((int)reason)) {
		err_why(why, whylen, "field 'reason' is not a CRLReason");
		return ERR_BAD_REQUEST;
	}
	rev->reason = (int)reason;
	return 0;
}

static int
decode_crl(const msgpack_object *map, struct repo_crl *c, char *why,
    size_t whylen)
{
	int rc;

	if ((rc = get_text(map, "issuer", 1, REPO_ID_MAX, c->issuer, why,
	    whylen)) < 0 ||
	    (rc = msg_get_uint(map, "number", true, 1, UINT64_MAX, &c->number,
	    why, whylen)) < 0 ||
	    (rc = msg_get_uint(map, "delta_base", true, 0, c->number - 1,
	    &c->delta_base, why, whylen)) < 0 ||
	    (rc = msg_get_int(map, "this_update", true, &c->this_update, why,
	    whylen)) < 0 ||
	    (rc = msg_get_int(map, "next_update", true, &c->next_update, why,
	    whylen)) < 0)
		return rc;
	if (c->next_update <= c->this_update) {
		err_why(why, whylen, "field 'next_update' is not after "
		    "'this_update'");
		return ERR_BAD_REQUEST;
	}
	return 0;
}

static int
decode_map(const msgpack_object *map, struct repo_event *ev, char *why,
    size_t whylen)
{
	uint64_t origin, seq;
	const char *type;
	size_t tlen;
	int rc;

	if (map->type != MSGPACK_OBJECT_MAP) {
		err_why(why, whylen, "not a map");
		return ERR_BAD_REQUEST;
	}
	if ((rc = msg_get_str(map, "type", true, REPO_EVENT_TYPE_MAX, &type,
	    &tlen, why, whylen)) < 0 ||
	    (rc = msg_get_uint(map, "origin", true, 1, REPO_NODE_MAX, &origin,
	    why, whylen)) < 0 ||
	    (rc = msg_get_uint(map, "seq", true, 1, UINT64_MAX, &seq, why,
	    whylen)) < 0)
		return rc;
	ev->origin = (uint8_t)origin;
	ev->seq = seq;
	if (tlen == 5 && memcmp(type, "issue", 5) == 0) {
		ev->type = REPO_EVENT_ISSUE;
		return decode_issue(map, &ev->cert, why, whylen);
	}
	if (tlen == 6 && memcmp(type, "revoke", 6) == 0) {
		ev->type = REPO_EVENT_REVOKE;
		rc = decode_revoke(map, &ev->rev, why, whylen);
		ev->rev.origin = ev->origin;
		return rc;
	}
	if (tlen == 3 && memcmp(type, "crl", 3) == 0) {
		ev->type = REPO_EVENT_CRL;
		return decode_crl(map, &ev->crl, why, whylen);
	}
	err_why(why, whylen, "unknown type '%.*s'", (int)tlen, type);
	return ERR_BAD_REQUEST;
}

int
repo_event_decode(const uint8_t *buf, size_t len, struct repo_event *out,
    char *why, size_t whylen)
{
	char msg[REPO_WHY_MAX] = "";
	msgpack_unpacked up;
	size_t off = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || len == 0 || len > REPO_EVENT_MAX) {
		err_why(why, whylen, "event: size %zu out of range 1..%d", len,
		    REPO_EVENT_MAX);
		return ERR_REPO;
	}
	/* msgpack-c allocates from declared counts: check them first. */
	if (msg_check(buf, len, msg, sizeof(msg)) != 0) {
		err_why(why, whylen, "event: %s", msg);
		return ERR_REPO;
	}
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, (const char *)buf, len, &off) !=
	    MSGPACK_UNPACK_SUCCESS || off != len) {
		snprintf(msg, sizeof(msg), "not one msgpack object");
		rc = ERR_DECODE;
	} else
		rc = decode_map(&up.data, out, msg, sizeof(msg));
	msgpack_unpacked_destroy(&up);
	if (rc == ERR_NOMEM) {
		err_why(why, whylen, "event: out of memory");
	} else if (rc != 0) {
		err_why(why, whylen, "event: %s", msg);
		rc = ERR_REPO;
	}
	if (rc != 0)
		repo_event_clear(out);
	return rc;
}

void
repo_event_clear(struct repo_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->cert.der);
	memset(ev, 0, sizeof(*ev));
}

/* ---- the log ----------------------------------------------------------------- */

static void
event_key(uint8_t origin, uint64_t seq, uint8_t key[REPO_EVENT_KEY_LEN])
{
	size_t i;

	key[0] = origin;
	for (i = 0; i < 8; i++)
		key[1 + i] = (uint8_t)(seq >> (8 * (7 - i)));
}

int
repo_vv_get(struct repo_txn *t, uint8_t origin, uint64_t *seq, char *why,
    size_t whylen)
{
	uint8_t key[REPO_VV_KEY_LEN];
	MDB_val v;
	int rc;

	*seq = 0;
	if (t == NULL)
		return ERR_INVAL;
	memcpy(key, repo_vv_prefix, sizeof(repo_vv_prefix));
	key[2] = origin;
	rc = repo_get(t, REPO_DB_META, key, sizeof(key), &v, why, whylen);
	if (rc == ERR_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size != 8) {
		err_why(why, whylen, "version vector entry of node %u is %zu "
		    "bytes, not 8", origin, v.mv_size);
		return ERR_REPO;
	}
	*seq = repo_get_be64(v.mv_data);
	return 0;
}

/* Write the event bytes under (origin, seq) and move the version vector there. */
static int
event_put(struct repo_txn *t, uint8_t origin, uint64_t seq,
    const uint8_t *val, size_t len, char *why, size_t whylen)
{
	uint8_t key[REPO_EVENT_KEY_LEN], vkey[REPO_VV_KEY_LEN], vval[8];
	int rc;

	event_key(origin, seq, key);
	if ((rc = repo_put(t, REPO_DB_EVENTS, key, sizeof(key), val, len,
	    MDB_NOOVERWRITE, why, whylen)) != 0)
		return rc;
	memcpy(vkey, repo_vv_prefix, sizeof(repo_vv_prefix));
	vkey[2] = origin;
	/* The sequence as a key is also its big-endian encoding. */
	memcpy(vval, key + 1, sizeof(vval));
	return repo_put(t, REPO_DB_META, vkey, sizeof(vkey), vval, sizeof(vval),
	    0, why, whylen);
}

int
repo_event_append(struct repo_txn *t, struct repo_event *ev, char *why,
    size_t whylen)
{
	uint8_t *val = NULL;
	uint64_t seq;
	size_t len;
	int rc;

	ev->origin = t->repo->node;
	if ((rc = repo_vv_get(t, ev->origin, &seq, why, whylen)) != 0)
		return repo_txn_break(t, rc);
	if (seq == UINT64_MAX) {
		err_why(why, whylen, "event sequence of node %u exhausted",
		    ev->origin);
		return repo_txn_break(t, ERR_REPO);
	}
	ev->seq = seq + 1;
	if ((rc = repo_event_encode(ev, &val, &len)) != 0) {
		err_why(why, whylen, "cannot encode event %u/%llu", ev->origin,
		    (unsigned long long)ev->seq);
		return repo_txn_break(t, rc == ERR_NOMEM ? rc : ERR_INTERNAL);
	}
	rc = event_put(t, ev->origin, ev->seq, val, len, why, whylen);
	free(val);
	return rc;
}

int
repo_event_put_raw(struct repo_txn *t, uint8_t origin, uint64_t seq,
    const uint8_t *event, size_t len, char *why, size_t whylen)
{
	uint64_t have;
	int rc;

	if ((rc = repo_vv_get(t, origin, &have, why, whylen)) != 0)
		return repo_txn_break(t, rc);
	if (have == UINT64_MAX || seq != have + 1) {
		err_why(why, whylen, "event %u/%llu is not the next of node %u "
		    "(at %llu)", origin, (unsigned long long)seq, origin,
		    (unsigned long long)have);
		return repo_txn_break(t, ERR_INTERNAL);
	}
	return event_put(t, origin, seq, event, len, why, whylen);
}

int
repo_events_foreach(struct repo_txn *t, uint8_t origin, uint64_t after_seq,
    int (*cb)(uint8_t origin, uint64_t seq, const uint8_t *event, size_t len,
    void *ctx), void *ctx, char *why, size_t whylen)
{
	uint8_t start[REPO_EVENT_KEY_LEN];
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	MDB_cursor_op op = MDB_SET_RANGE;
	int mrc, rc = 0;

	if (t == NULL || cb == NULL)
		return ERR_INVAL;
	if (after_seq == UINT64_MAX)
		return 0;
	event_key(origin, after_seq + 1, start);
	if ((mrc = mdb_cursor_open(t->txn, t->repo->dbi[REPO_DB_EVENTS],
	    &cur)) != 0)
		return repo_mdb_fail(t, mrc, "opening the event log", why,
		    whylen);
	k.mv_data = start;
	k.mv_size = sizeof(start);
	while ((mrc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size != REPO_EVENT_KEY_LEN) {
			err_why(why, whylen, "event log key of %zu bytes",
			    k.mv_size);
			rc = ERR_REPO;
			break;
		}
		if (((const uint8_t *)k.mv_data)[0] != origin)
			break;
		rc = cb(origin, repo_get_be64((const uint8_t *)k.mv_data + 1),
		    v.mv_data, v.mv_size, ctx);
		if (rc != 0)
			break;
	}
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		rc = repo_mdb_fail(t, mrc, "reading the event log", why, whylen);
	mdb_cursor_close(cur);
	return rc;
}

/* One version vector entry of the meta database into the vector. */
static int
vv_entry(const MDB_val *k, const MDB_val *v, void *arg, char *why,
    size_t whylen)
{
	uint64_t *vv = arg;
	uint8_t origin;

	if (k->mv_size != REPO_VV_KEY_LEN || v->mv_size != 8) {
		err_why(why, whylen, "version vector entry of %zu/%zu bytes",
		    k->mv_size, v->mv_size);
		return ERR_REPO;
	}
	origin = ((const uint8_t *)k->mv_data)[REPO_VV_KEY_LEN - 1];
	if (origin == 0 || origin > REPO_NODE_MAX) {
		err_why(why, whylen, "version vector entry of node %u", origin);
		return ERR_REPO;
	}
	vv[origin] = repo_get_be64(v->mv_data);
	return 0;
}

int
repo_vv_all(struct repo_txn *t, uint64_t vv[REPO_NODE_MAX + 1], char *why,
    size_t whylen)
{
	memset(vv, 0, sizeof(uint64_t) * (REPO_NODE_MAX + 1));
	if (t == NULL)
		return ERR_INVAL;
	return repo_scan(t, REPO_DB_META, (const uint8_t *)repo_vv_prefix,
	    sizeof(repo_vv_prefix), vv_entry, vv, why, whylen);
}
