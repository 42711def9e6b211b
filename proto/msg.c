/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Messages: decoding and packing of the request/response envelope, and typed field getters. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"



/* ---- field getters ---------------------------------------------------- */

/* Find key in map: 0 absent, 1 found (*val set), -1 present more than once. */
static int
msg_find(const msgpack_object *map, const char *key, const msgpack_object **val)
{
	const msgpack_object_kv *kv;
	size_t klen;
	uint32_t i;
	int found = 0;

	*val = NULL;
	if (map == NULL || map->type != MSGPACK_OBJECT_MAP || key == NULL)
		return 0;
	klen = strlen(key);
	for (i = 0; i < map->via.map.size; i++) {
		kv = &map->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR ||
		    kv->key.via.str.size != klen ||
		    (klen > 0 && memcmp(kv->key.via.str.ptr, key, klen) != 0))
			continue;
		if (found)
			return -1;
		*val = &kv->val;
		found = 1;
	}
	return found;
}

const msgpack_object *
msg_map_get(const msgpack_object *map, const char *key)
{
	const msgpack_object *val;

	return msg_find(map, key, &val) == 1 ? val : NULL;
}

/* Common start of every getter: 1 found, 0 absent and optional, or an error. */
static int
msg_lookup(const msgpack_object *map, const char *key, bool required,
    const msgpack_object **val, char *why, size_t whylen)
{
	int n = msg_find(map, key, val);

	if (n < 0) {
		err_why(why, whylen, "duplicate field '%s'", key);
		return ERR_BAD_REQUEST;
	}
	if (n == 0 && required) {
		err_why(why, whylen, "missing field '%s'", key);
		return ERR_BAD_REQUEST;
	}
	return n;
}

int
msg_get_uint(const msgpack_object *map, const char *key, bool required,
    uint64_t min, uint64_t max, uint64_t *out, char *why, size_t whylen)
{
	const msgpack_object *o;
	int rc;

	if ((rc = msg_lookup(map, key, required, &o, why, whylen)) != 1)
		return rc;
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    o->via.u64 < min || o->via.u64 > max) {
		err_why(why, whylen, "field '%s' must be an unsigned integer "
		    "%llu..%llu", key, (unsigned long long)min,
		    (unsigned long long)max);
		return ERR_BAD_REQUEST;
	}
	*out = o->via.u64;
	return 1;
}

int
msg_get_int(const msgpack_object *map, const char *key, bool required,
    int64_t *out, char *why, size_t whylen)
{
	const msgpack_object *o;
	int rc;

	if ((rc = msg_lookup(map, key, required, &o, why, whylen)) != 1)
		return rc;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*out = o->via.i64;
		return 1;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= (uint64_t)INT64_MAX) {
		*out = (int64_t)o->via.u64;
		return 1;
	}
	err_why(why, whylen, "field '%s' must be a signed 64-bit integer", key);
	return ERR_BAD_REQUEST;
}

int
msg_get_bool(const msgpack_object *map, const char *key, bool required,
    bool *out, char *why, size_t whylen)
{
	const msgpack_object *o;
	int rc;

	if ((rc = msg_lookup(map, key, required, &o, why, whylen)) != 1)
		return rc;
	if (o->type != MSGPACK_OBJECT_BOOLEAN) {
		err_why(why, whylen, "field '%s' must be a boolean", key);
		return ERR_BAD_REQUEST;
	}
	*out = o->via.boolean;
	return 1;
}

int
msg_get_str(const msgpack_object *map, const char *key, bool required,
    size_t max, const char **out, size_t *outlen, char *why, size_t whylen)
{
	const msgpack_object *o;
	int rc;

	if ((rc = msg_lookup(map, key, required, &o, why, whylen)) != 1)
		return rc;
	if (o->type != MSGPACK_OBJECT_STR) {
		err_why(why, whylen, "field '%s' must be a string", key);
		return ERR_BAD_REQUEST;
	}
	if (o->via.str.size > max) {
		err_why(why, whylen, "field '%s' must be at most %zu bytes",
		    key, max);
		return ERR_BAD_REQUEST;
	}
	if (o->via.str.size > 0 &&
	    memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL) {
		err_why(why, whylen, "field '%s' must not contain NUL bytes", key);
		return ERR_BAD_REQUEST;
	}
	if (!msg_utf8_valid(o->via.str.ptr, o->via.str.size)) {
		err_why(why, whylen, "field '%s' must be valid UTF-8", key);
		return ERR_BAD_REQUEST;
	}
	/* msgpack-c leaves the pointer of an empty string NULL. */
	*out = o->via.str.size > 0 ? o->via.str.ptr : "";
	*outlen = o->via.str.size;
	return 1;
}

int
msg_get_bin(const msgpack_object *map, const char *key, bool required,
    size_t max, const uint8_t **out, size_t *outlen, char *why, size_t whylen)
{
	const msgpack_object *o;
	int rc;

	if ((rc = msg_lookup(map, key, required, &o, why, whylen)) != 1)
		return rc;
	if (o->type != MSGPACK_OBJECT_BIN) {
		err_why(why, whylen, "field '%s' must be binary (msgpack bin)",
		    key);
		return ERR_BAD_REQUEST;
	}
	if (o->via.bin.size > max) {
		err_why(why, whylen, "field '%s' must be at most %zu bytes",
		    key, max);
		return ERR_BAD_REQUEST;
	}
	*out = o->via.bin.size > 0 ? (const uint8_t *)o->via.bin.ptr :
	    (const uint8_t *)"";
	*outlen = o->via.bin.size;
	return 1;
}

int
msg_get_array(const msgpack_object *map, const char *key, bool required,
    size_t max, const msgpack_object_array **out, char *why, size_t whylen)
{
	const msgpack_object *o;
	int rc;

	if ((rc = msg_lookup(map, key, required, &o, why, whylen)) != 1)
		return rc;
	if (o->type != MSGPACK_OBJECT_ARRAY) {
		err_why(why, whylen, "field '%s' must be an array", key);
		return ERR_BAD_REQUEST;
	}
	if (o->via.array.size > max) {
		err_why(why, whylen, "field '%s' must have at most %zu elements",
		    key, max);
		return ERR_BAD_REQUEST;
	}
	*out = &o->via.array;
	return 1;
}

int
msg_get_map(const msgpack_object *map, const char *key, bool required,
    const msgpack_object **out, char *why, size_t whylen)
{
	const msgpack_object *o;
	int rc;

	if ((rc = msg_lookup(map, key, required, &o, why, whylen)) != 1)
		return rc;
	if (o->type != MSGPACK_OBJECT_MAP) {
		err_why(why, whylen, "field '%s' must be a map", key);
		return ERR_BAD_REQUEST;
	}
	*out = o;
	return 1;
}

/* ---- decoding --------------------------------------------------------- */

void
msg_init(struct msg *m)
{
	if (m == NULL)
		return;
	memset(m, 0, sizeof(*m));
	msgpack_unpacked_init(&m->up);
}

void
msg_free(struct msg *m)
{
	if (m == NULL)
		return;
	if (m->unpacked)
		msgpack_unpacked_destroy(&m->up);
	free(m->raw);
	msg_init(m);
}

/*
 * Check buf, then unpack a private copy of it: msgpack-c's strings and
 * binaries point into the bytes they were unpacked from, and the caller's
 * buffer (a frame decoder's) is reused by the next frame.
 */
static int
msg_unpack(const uint8_t *buf, size_t len, struct msg *m, char *why,
    size_t whylen)
{
	msgpack_unpack_return r;
	size_t off = 0;
	int rc;

	if ((rc = msg_check(buf, len, why, whylen)) != 0)
		return rc;
	if ((m->raw = malloc(len)) == NULL) {
		err_why(why, whylen, "out of memory");
		return ERR_NOMEM;
	}
	memcpy(m->raw, buf, len);
	m->raw_len = len;
	m->unpacked = true;
	r = msgpack_unpack_next(&m->up, (const char *)m->raw, len, &off);
	if (r == MSGPACK_UNPACK_NOMEM_ERROR) {
		err_why(why, whylen, "out of memory");
		return ERR_NOMEM;
	}
	if (r != MSGPACK_UNPACK_SUCCESS || off != len) {
		/* msg_check should have caught this: treat it as malformed. */
		err_why(why, whylen, "msgpack payload rejected by the unpacker");
		return ERR_DECODE;
	}
	return 0;
}

/* A name made of 1..max characters of [a-z0-9_] (commands, error codes). */
static bool
msg_name_valid(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len == 0 || len > max)
		return false;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	}
	return true;
}

/* Name a duplicated key if it is a plain name; never echo arbitrary bytes. */
static void
msg_why_dup(const msgpack_object *key, char *why, size_t whylen)
{
	if (msg_name_valid(key->via.str.ptr, key->via.str.size, MSG_CMD_MAX))
		err_why(why, whylen, "duplicate field '%.*s'",
		    (int)key->via.str.size, key->via.str.ptr);
	else
		err_why(why, whylen, "duplicate key in message");
}

/* The envelope: a map of at most MSG_ENVELOPE_KEYS_MAX unique string keys. */
static int
msg_envelope_keys(const msgpack_object *root, char *why, size_t whylen)
{
	const msgpack_object_kv *kv = root->via.map.ptr;
	uint32_t i, j, n = root->via.map.size;

	if (n > MSG_ENVELOPE_KEYS_MAX) {
		err_why(why, whylen, "message has %u keys, at most %d allowed",
		    (unsigned)n, MSG_ENVELOPE_KEYS_MAX);
		return ERR_BAD_REQUEST;
	}
	for (i = 0; i < n; i++) {
		if (kv[i].key.type != MSGPACK_OBJECT_STR) {
			err_why(why, whylen, "message keys must be strings");
			return ERR_BAD_REQUEST;
		}
		for (j = 0; j < i; j++) {
			if (kv[j].key.via.str.size == kv[i].key.via.str.size &&
			    (kv[i].key.via.str.size == 0 ||
			    memcmp(kv[j].key.via.str.ptr, kv[i].key.via.str.ptr,
			    kv[i].key.via.str.size) == 0)) {
				msg_why_dup(&kv[i].key, why, whylen);
				return ERR_BAD_REQUEST;
			}
		}
	}
	return 0;
}

/* "v" is required; an integer other than MSG_VERSION is a version not spoken. */
static int
msg_version(const msgpack_object *root, char *why, size_t whylen)
{
	const msgpack_object *v;
	int rc;

	if ((rc = msg_lookup(root, "v", true, &v, why, whylen)) != 1)
		return rc;
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (v->via.u64 == MSG_VERSION)
			return 0;
		err_why(why, whylen, "protocol version %llu is not supported "
		    "(this end speaks %d)", (unsigned long long)v->via.u64,
		    MSG_VERSION);
		return ERR_UNSUPPORTED_VERSION;
	}
	if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		err_why(why, whylen, "protocol version %lld is not supported "
		    "(this end speaks %d)", (long long)v->via.i64, MSG_VERSION);
		return ERR_UNSUPPORTED_VERSION;
	}
	err_why(why, whylen, "field 'v' must be a positive integer");
	return ERR_BAD_REQUEST;
}

/*
 * Unpack and check what requests and responses share: a map with string
 * keys, an id in min_id..UINT32_MAX (read first so that errors carry it),
 * then the version.
 */
static int
msg_decode_common(const uint8_t *buf, size_t len, struct msg *m,
    uint64_t min_id, char *why, size_t whylen)
{
	const msgpack_object *root;
	uint64_t id;
	int rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (m == NULL || (buf == NULL && len > 0))
		return ERR_INVAL;
	msg_free(m);
	if ((rc = msg_unpack(buf, len, m, why, whylen)) != 0)
		return rc;
	root = &m->up.data;
	if (root->type != MSGPACK_OBJECT_MAP) {
		err_why(why, whylen, "message must be a msgpack map");
		return ERR_BAD_REQUEST;
	}
	if (msg_get_uint(root, "id", false, min_id, UINT32_MAX, &id,
	    NULL, 0) == 1)
		m->id = (uint32_t)id;
	if ((rc = msg_envelope_keys(root, why, whylen)) != 0)
		return rc;
	if ((rc = msg_get_uint(root, "id", true, min_id, UINT32_MAX, &id,
	    why, whylen)) < 0)
		return rc;
	return msg_version(root, why, whylen);
}

int
msg_decode_request(const uint8_t *buf, size_t len, struct msg *m,
    char *why, size_t whylen)
{
	const msgpack_object *root, *args = NULL;
	const char *cmd = NULL;
	size_t cmd_len = 0;
	int rc;

	if ((rc = msg_decode_common(buf, len, m, 1, why, whylen)) != 0)
		return rc;
	root = &m->up.data;
	if ((rc = msg_get_str(root, "cmd", true, MSG_CMD_MAX, &cmd, &cmd_len,
	    why, whylen)) < 0)
		return rc;
	if (!msg_name_valid(cmd, cmd_len, MSG_CMD_MAX)) {
		err_why(why, whylen, "field 'cmd' must be 1..%d characters of "
		    "a-z, 0-9 and _", MSG_CMD_MAX);
		return ERR_BAD_REQUEST;
	}
	if ((rc = msg_get_map(root, "args", true, &args, why, whylen)) < 0)
		return rc;
	m->cmd = cmd;
	m->cmd_len = cmd_len;
	m->args = args;
	return 0;
}

static int
msg_decode_error(struct msg *m, const msgpack_object *err, char *why,
    size_t whylen)
{
	const char *code = NULL, *text = NULL;
	size_t code_len = 0, text_len = 0;
	int rc;

	if ((rc = msg_get_str(err, "code", true, MSG_CMD_MAX, &code, &code_len,
	    why, whylen)) < 0)
		return rc;
	if (!msg_name_valid(code, code_len, MSG_CMD_MAX)) {
		err_why(why, whylen, "field 'code' must be 1..%d characters of "
		    "a-z, 0-9 and _", MSG_CMD_MAX);
		return ERR_BAD_REQUEST;
	}
	if ((rc = msg_get_str(err, "message", true, MSG_ERRMSG_MAX, &text,
	    &text_len, why, whylen)) < 0)
		return rc;
	m->err_code = code;
	m->err_code_len = code_len;
	m->err_message = text;
	m->err_message_len = text_len;
	return 0;
}

int
msg_decode_response(const uint8_t *buf, size_t len, struct msg *m,
    char *why, size_t whylen)
{
	const msgpack_object *root, *err = NULL, *result = NULL;
	bool ok = false;
	int rc;

	if ((rc = msg_decode_common(buf, len, m, 0, why, whylen)) != 0)
		return rc;
	m->is_response = true;
	root = &m->up.data;
	if ((rc = msg_get_bool(root, "ok", true, &ok, why, whylen)) < 0)
		return rc;
	if (ok) {
		if ((rc = msg_get_map(root, "result", true, &result, why,
		    whylen)) < 0)
			return rc;
		m->ok = true;
		m->result = result;
		return 0;
	}
	if ((rc = msg_get_map(root, "error", true, &err, why, whylen)) < 0)
		return rc;
	return msg_decode_error(m, err, why, whylen);
}

/* ---- packing ---------------------------------------------------------- */

static void
msg_pack_bytes(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

void
msg_pack_cstr(msgpack_packer *pk, const char *s)
{
	if (s == NULL)
		s = "";
	msg_pack_bytes(pk, s, strlen(s));
}

/* The map header and the "v" and "id" entries every message starts with. */
static void
msg_pack_head(msgpack_packer *pk, uint32_t id)
{
	msgpack_pack_map(pk, 4);
	msg_pack_cstr(pk, "v");
	msgpack_pack_uint32(pk, MSG_VERSION);
	msg_pack_cstr(pk, "id");
	msgpack_pack_uint32(pk, id);
}

void
msg_pack_request(msgpack_packer *pk, uint32_t id, const char *cmd,
    uint32_t nargs)
{
	msg_pack_head(pk, id);
	msg_pack_cstr(pk, "cmd");
	msg_pack_cstr(pk, cmd);
	msg_pack_cstr(pk, "args");
	msgpack_pack_map(pk, nargs);
}

void
msg_pack_result(msgpack_packer *pk, uint32_t id, uint32_t nresult)
{
	msg_pack_head(pk, id);
	msg_pack_cstr(pk, "ok");
	msgpack_pack_true(pk);
	msg_pack_cstr(pk, "result");
	msgpack_pack_map(pk, nresult);
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t
msg_utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

void
msg_pack_error(msgpack_packer *pk, uint32_t id, const char *code,
    const char *message)
{
	if (code == NULL)
		code = "internal";
	if (message == NULL)
		message = "";
	msg_pack_head(pk, id);
	msg_pack_cstr(pk, "ok");
	msgpack_pack_false(pk);
	msg_pack_cstr(pk, "error");
	msgpack_pack_map(pk, 2);
	msg_pack_cstr(pk, "code");
	msg_pack_cstr(pk, code);
	msg_pack_cstr(pk, "message");
	msg_pack_bytes(pk, message, msg_utf8_cut(message, MSG_ERRMSG_MAX));
}

int
msg_frame(const msgpack_sbuffer *sb, uint8_t **out, size_t *outlen)
{
	uint8_t *p;
	size_t cap, n;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (sb == NULL || out == NULL || outlen == NULL)
		return ERR_INVAL;
	if (sb->size > FRAME_MAX_LIMIT)
		return ERR_INVAL;
	cap = FRAME_ENCODED_MAX(sb->size);
	if ((p = malloc(cap)) == NULL)
		return ERR_NOMEM;
	if ((rc = frame_encode((const uint8_t *)sb->data, sb->size, p, cap,
	    &n)) != 0) {
		free(p);
		return rc;
	}
	*out = p;       /* transferred */
	*outlen = n;
	return 0;
}
