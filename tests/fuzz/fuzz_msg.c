/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: request and response decoding, getters, and a pack/decode round trip of what decodes. */

#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* The why message is always terminated and bounded. */
static void
check_why(const char *why, int rc)
{
	check(memchr(why, '\0', MSG_ERRMSG_MAX) != NULL);
	check(rc == 0 || why[0] != '\0');
}

/* Exercise the getters on a decoded map; their results must be consistent. */
static void
poke_getters(const msgpack_object *map)
{
	static const char *keys[] = { "days", "csr", "ref", "serial", "names",
	    "flag", "n", "" };
	char why[MSG_ERRMSG_MAX];
	const msgpack_object_array *a;
	const msgpack_object *o;
	const uint8_t *b;
	const char *s;
	uint64_t u;
	int64_t i;
	size_t k, len;
	bool t;
	int rc;

	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		rc = msg_get_uint(map, keys[k], false, 1, 3650, &u, why,
		    sizeof(why));
		check(rc == 0 || rc == ERR_BAD_REQUEST || (u >= 1 && u <= 3650));
		msg_get_int(map, keys[k], false, &i, why, sizeof(why));
		msg_get_bool(map, keys[k], false, &t, why, sizeof(why));
		if (msg_get_str(map, keys[k], true, 64, &s, &len, why,
		    sizeof(why)) == 1)
			check(len <= 64 && msg_utf8_valid(s, len));
		if (msg_get_bin(map, keys[k], false, 16, &b, &len, why,
		    sizeof(why)) == 1)
			check(len <= 16);
		if (msg_get_array(map, keys[k], false, 8, &a, why,
		    sizeof(why)) == 1)
			check(a->size <= 8);
		if (msg_get_map(map, keys[k], false, &o, why, sizeof(why)) == 1)
			check(o->type == MSGPACK_OBJECT_MAP);
		o = msg_map_get(map, keys[k]);
	}
}

static void
roundtrip_request(const struct msg *m)
{
	char cmd[MSG_CMD_MAX + 1];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct msg m2;
	uint32_t i;

	check(m->cmd_len >= 1 && m->cmd_len <= MSG_CMD_MAX);
	memcpy(cmd, m->cmd, m->cmd_len);
	cmd[m->cmd_len] = '\0';
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_request(&pk, m->id, cmd, m->args->via.map.size);
	for (i = 0; i < m->args->via.map.size; i++) {
		msgpack_pack_object(&pk, m->args->via.map.ptr[i].key);
		msgpack_pack_object(&pk, m->args->via.map.ptr[i].val);
	}
	msg_init(&m2);
	check(msg_decode_request((const uint8_t *)sb.data, sb.size, &m2, NULL,
	    0) == 0);
	check(m2.id == m->id && m2.cmd_len == m->cmd_len &&
	    memcmp(m2.cmd, m->cmd, m->cmd_len) == 0);
	check(m2.args->via.map.size == m->args->via.map.size);
	msg_free(&m2);
	msgpack_sbuffer_destroy(&sb);
}

static void
roundtrip_response(const struct msg *m)
{
	char code[MSG_CMD_MAX + 1], text[MSG_ERRMSG_MAX + 1];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct msg m2;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (m->ok) {
		msg_pack_result(&pk, m->id, 0);
	} else {
		memcpy(code, m->err_code, m->err_code_len);
		code[m->err_code_len] = '\0';
		memcpy(text, m->err_message, m->err_message_len);
		text[m->err_message_len] = '\0';
		msg_pack_error(&pk, m->id, code, text);
	}
	msg_init(&m2);
	check(msg_decode_response((const uint8_t *)sb.data, sb.size, &m2, NULL,
	    0) == 0);
	check(m2.id == m->id && m2.ok == m->ok);
	if (!m->ok)
		check(m2.err_code_len == m->err_code_len &&
		    m2.err_message_len == m->err_message_len &&
		    memcmp(m2.err_message, m->err_message,
		    m->err_message_len) == 0);
	msg_free(&m2);
	msgpack_sbuffer_destroy(&sb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[MSG_ERRMSG_MAX];
	struct msg m;
	int rc, checked;

	checked = msg_check(data, size, why, sizeof(why));
	check(checked == 0 || checked == ERR_DECODE);

	msg_init(&m);
	memset(why, 0x55, sizeof(why));
	rc = msg_decode_request(data, size, &m, why, sizeof(why));
	check(rc == 0 || rc == ERR_DECODE || rc == ERR_BAD_REQUEST ||
	    rc == ERR_UNSUPPORTED_VERSION);
	check((checked != 0) == (rc == ERR_DECODE));
	check_why(why, rc);
	if (rc == 0) {
		check(m.id != 0);
		poke_getters(m.args);
		roundtrip_request(&m);
	}
	msg_free(&m);

	msg_init(&m);
	memset(why, 0x55, sizeof(why));
	rc = msg_decode_response(data, size, &m, why, sizeof(why));
	check(rc == 0 || rc == ERR_DECODE || rc == ERR_BAD_REQUEST ||
	    rc == ERR_UNSUPPORTED_VERSION);
	check_why(why, rc);
	if (rc == 0) {
		poke_getters(m.ok ? m.result : NULL);
		roundtrip_response(&m);
	}
	msg_free(&m);
	return 0;
}
