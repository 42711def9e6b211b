/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of message decoding: the request/response envelope, msg_check and msgpack bombs. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/proto.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define BOMB_RLIMIT_AS (64u << 20)

struct pk {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void
pk_init(struct pk *p)
{
	msgpack_sbuffer_init(&p->sb);
	msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
}

static void
pk_free(struct pk *p)
{
	msgpack_sbuffer_destroy(&p->sb);
}

typedef void (*packfn)(msgpack_packer *);

static void v_nil(msgpack_packer *pk) { msgpack_pack_nil(pk); }
static void v_0(msgpack_packer *pk) { msgpack_pack_uint64(pk, 0); }
static void v_1(msgpack_packer *pk) { msgpack_pack_uint64(pk, 1); }
static void v_2(msgpack_packer *pk) { msgpack_pack_uint64(pk, 2); }
static void v_neg1(msgpack_packer *pk) { msgpack_pack_int64(pk, -1); }
static void v_2p32(msgpack_packer *pk) { msgpack_pack_uint64(pk, 1ull << 32); }
static void v_max32(msgpack_packer *pk) { msgpack_pack_uint64(pk, UINT32_MAX); }
static void v_float(msgpack_packer *pk) { msgpack_pack_double(pk, 1.0); }
static void v_true(msgpack_packer *pk) { msgpack_pack_true(pk); }
static void v_str1(msgpack_packer *pk) { msg_pack_cstr(pk, "1"); }
static void v_empty(msgpack_packer *pk) { msg_pack_cstr(pk, ""); }
static void v_upper(msgpack_packer *pk) { msg_pack_cstr(pk, "Hello"); }
static void v_dash(msgpack_packer *pk) { msg_pack_cstr(pk, "a-b"); }
static void v_space(msgpack_packer *pk) { msg_pack_cstr(pk, "a b"); }
static void v_utf8(msgpack_packer *pk) { msg_pack_cstr(pk, "h\xc3\xa9llo"); }
static void v_nul(msgpack_packer *pk) { msgpack_pack_str(pk, 3); msgpack_pack_str_body(pk, "a\0b", 3); }
static void v_32(msgpack_packer *pk) { msg_pack_cstr(pk, "abcdefghijklmnopqrstuvwxyz_01234"); }
static void v_33(msgpack_packer *pk) { msg_pack_cstr(pk, "abcdefghijklmnopqrstuvwxyz_012345"); }
static void v_bin(msgpack_packer *pk) { msgpack_pack_bin(pk, 4); msgpack_pack_bin_body(pk, "ping", 4); }
static void v_arr(msgpack_packer *pk) { msgpack_pack_array(pk, 0); }
static void v_map(msgpack_packer *pk) { msgpack_pack_map(pk, 0); }

/*
 * Pack {"v": 1, "id": 7, "cmd": "ping", "args": {}} with field replaced by
 * fn's value, or left out when fn is NULL. field may be NULL.
 */
static void
pack_req(struct pk *p, const char *field, packfn fn)
{
	static const char *names[] = { "v", "id", "cmd", "args" };
	static const packfn normal[] = { v_1, NULL, NULL, v_map };
	bool omit = field != NULL && fn == NULL;
	size_t i;

	pk_init(p);
	msgpack_pack_map(&p->pk, omit ? 3 : 4);
	for (i = 0; i < 4; i++) {
		if (field != NULL && strcmp(field, names[i]) == 0) {
			if (fn == NULL)
				continue;
			msg_pack_cstr(&p->pk, names[i]);
			fn(&p->pk);
			continue;
		}
		msg_pack_cstr(&p->pk, names[i]);
		if (i == 1)
			msgpack_pack_uint32(&p->pk, 7);
		else if (i == 2)
			msg_pack_cstr(&p->pk, "ping");
		else
			normal[i](&p->pk);
	}
}

static int
decode_req(const struct pk *p, struct msg *m, char *why)
{
	msg_init(m);
	return msg_decode_request((const uint8_t *)p->sb.data, p->sb.size, m,
	    why, MSG_ERRMSG_MAX);
}

struct req_case {
	const char *field;
	packfn fn;
	int rc;
	uint32_t id;            /* expected m.id */
	const char *why;        /* expected part of the message */
};

static const struct req_case req_cases[] = {
	{ NULL, NULL, 0, 7, "" },
	{ "v", NULL, ERR_BAD_REQUEST, 7, "missing field 'v'" },
	{ "id", NULL, ERR_BAD_REQUEST, 0, "missing field 'id'" },
	{ "cmd", NULL, ERR_BAD_REQUEST, 7, "missing field 'cmd'" },
	{ "args", NULL, ERR_BAD_REQUEST, 7, "missing field 'args'" },
	{ "v", v_str1, ERR_BAD_REQUEST, 7, "field 'v'" },
	{ "v", v_nil, ERR_BAD_REQUEST, 7, "field 'v'" },
	{ "v", v_float, ERR_BAD_REQUEST, 7, "field 'v'" },
	{ "v", v_2, ERR_UNSUPPORTED_VERSION, 7, "version 2" },
	{ "v", v_0, ERR_UNSUPPORTED_VERSION, 7, "version 0" },
	{ "v", v_neg1, ERR_UNSUPPORTED_VERSION, 7, "version -1" },
	{ "id", v_str1, ERR_BAD_REQUEST, 0,
	    "field 'id' must be an unsigned integer 1..4294967295" },
	{ "id", v_neg1, ERR_BAD_REQUEST, 0, "field 'id'" },
	{ "id", v_0, ERR_BAD_REQUEST, 0, "field 'id'" },
	{ "id", v_2p32, ERR_BAD_REQUEST, 0, "field 'id'" },
	{ "id", v_float, ERR_BAD_REQUEST, 0, "field 'id'" },
	{ "id", v_nil, ERR_BAD_REQUEST, 0, "field 'id'" },
	{ "id", v_max32, 0, UINT32_MAX, "" },
	{ "id", v_1, 0, 1, "" },
	{ "cmd", v_1, ERR_BAD_REQUEST, 7, "field 'cmd' must be a string" },
	{ "cmd", v_bin, ERR_BAD_REQUEST, 7, "field 'cmd'" },
	{ "cmd", v_empty, ERR_BAD_REQUEST, 7, "field 'cmd' must be 1..32" },
	{ "cmd", v_upper, ERR_BAD_REQUEST, 7, "field 'cmd'" },
	{ "cmd", v_dash, ERR_BAD_REQUEST, 7, "field 'cmd'" },
	{ "cmd", v_space, ERR_BAD_REQUEST, 7, "field 'cmd'" },
	{ "cmd", v_utf8, ERR_BAD_REQUEST, 7, "field 'cmd'" },
	{ "cmd", v_nul, ERR_BAD_REQUEST, 7, "field 'cmd'" },
	{ "cmd", v_33, ERR_BAD_REQUEST, 7, "field 'cmd'" },
	{ "cmd", v_32, 0, 7, "" },
	{ "args", v_arr, ERR_BAD_REQUEST, 7, "field 'args' must be a map" },
	{ "args", v_nil, ERR_BAD_REQUEST, 7, "field 'args'" },
	{ "args", v_true, ERR_BAD_REQUEST, 7, "field 'args'" },
};

/* Each field missing, mistyped or out of range, one at a time. */
static void
test_request_fields(void **state)
{
	const struct req_case *cases = req_cases;
	char why[MSG_ERRMSG_MAX];
	struct msg m;
	struct pk p;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		pack_req(&p, cases[i].field, cases[i].fn);
		rc = decode_req(&p, &m, why);
		if (rc != cases[i].rc || m.id != cases[i].id ||
		    strstr(why, cases[i].why) == NULL)
			fail_msg("case %zu (%s): rc %d id %u why '%s'", i,
			    cases[i].field ? cases[i].field : "-", rc,
			    (unsigned)m.id, why);
		if (rc == 0) {
			assert_false(m.is_response);
			assert_non_null(m.args);
			assert_int_equal(m.args->type, MSGPACK_OBJECT_MAP);
			assert_true(m.cmd_len >= 1 && m.cmd_len <= MSG_CMD_MAX);
		} else {
			assert_null(m.cmd);
			assert_null(m.args);
		}
		msg_free(&m);
		pk_free(&p);
	}
}

static void
test_request_ok(void **state)
{
	char why[MSG_ERRMSG_MAX];
	uint8_t *copy;
	struct msg m;
	struct pk p;
	uint64_t days;

	(void)state;
	pk_init(&p);
	msg_pack_request(&p.pk, 4000000000u, "sign_csr", 1);
	msg_pack_cstr(&p.pk, "days");
	msgpack_pack_uint32(&p.pk, 30);
	/* Decode from a copy, then wipe it: m must not point into it. */
	copy = malloc(p.sb.size);
	assert_non_null(copy);
	memcpy(copy, p.sb.data, p.sb.size);
	msg_init(&m);
	assert_int_equal(msg_decode_request(copy, p.sb.size, &m, why,
	    sizeof(why)), 0);
	memset(copy, 0xee, p.sb.size);
	free(copy);
	assert_int_equal(m.id, 4000000000u);
	assert_int_equal(m.cmd_len, 8);
	assert_memory_equal(m.cmd, "sign_csr", 8);
	assert_int_equal(msg_get_uint(m.args, "days", true, 1, 3650, &days,
	    why, sizeof(why)), 1);
	assert_int_equal(days, 30);
	/* Decoding again into the same struct releases the first message. */
	assert_int_equal(msg_decode_request((const uint8_t *)p.sb.data,
	    p.sb.size, &m, NULL, 0), 0);
	msg_free(&m);
	msg_free(&m);
	msg_free(NULL);
	pk_free(&p);
}

/* The checks run in order: id first, then v, then cmd and args. */
static void
test_check_order(void **state)
{
	char why[MSG_ERRMSG_MAX];
	struct msg m;
	struct pk p;

	(void)state;
	pk_init(&p);
	msgpack_pack_map(&p.pk, 2);
	msg_pack_cstr(&p.pk, "v");
	msgpack_pack_uint32(&p.pk, 9);
	msg_pack_cstr(&p.pk, "id");
	msgpack_pack_uint32(&p.pk, 55);
	assert_int_equal(decode_req(&p, &m, why), ERR_UNSUPPORTED_VERSION);
	assert_int_equal(m.id, 55);
	msg_free(&m);
	pk_free(&p);

	pk_init(&p);
	msgpack_pack_map(&p.pk, 1);
	msg_pack_cstr(&p.pk, "v");
	msgpack_pack_uint32(&p.pk, 9);
	assert_int_equal(decode_req(&p, &m, why), ERR_BAD_REQUEST);
	assert_non_null(strstr(why, "missing field 'id'"));
	msg_free(&m);
	pk_free(&p);
}

static void
expect_bad(struct pk *p, int want, const char *why_part, uint32_t id)
{
	char why[MSG_ERRMSG_MAX];
	struct msg m;
	int rc;

	rc = decode_req(p, &m, why);
	if (rc != want || strstr(why, why_part) == NULL || m.id != id)
		fail_msg("rc %d id %u why '%s' (wanted %d '%s')", rc,
		    (unsigned)m.id, why, want, why_part);
	msg_free(&m);
	pk_free(p);
}

static void
pack_std_rest(struct pk *p)
{
	msg_pack_cstr(&p->pk, "v");
	msgpack_pack_uint32(&p->pk, 1);
	msg_pack_cstr(&p->pk, "id");
	msgpack_pack_uint32(&p->pk, 7);
	msg_pack_cstr(&p->pk, "cmd");
	msg_pack_cstr(&p->pk, "ping");
	msg_pack_cstr(&p->pk, "args");
	msgpack_pack_map(&p->pk, 0);
}

static void
test_envelope_shape(void **state)
{
	struct pk p;

	(void)state;
	pk_init(&p);
	msgpack_pack_array(&p.pk, 1);
	msgpack_pack_uint32(&p.pk, 1);
	expect_bad(&p, ERR_BAD_REQUEST, "must be a msgpack map", 0);
	pk_init(&p);
	msgpack_pack_uint32(&p.pk, 1);
	expect_bad(&p, ERR_BAD_REQUEST, "must be a msgpack map", 0);
	pk_init(&p);
	msg_pack_cstr(&p.pk, "hello");
	expect_bad(&p, ERR_BAD_REQUEST, "must be a msgpack map", 0);

	/* A key that is not a string; the id still comes back. */
	pk_init(&p);
	msgpack_pack_map(&p.pk, 5);
	pack_std_rest(&p);
	msgpack_pack_uint32(&p.pk, 1);
	msgpack_pack_uint32(&p.pk, 2);
	expect_bad(&p, ERR_BAD_REQUEST, "keys must be strings", 7);
}

/* Duplicates: a known key, an unknown key, the id itself. */
static void
test_envelope_duplicates(void **state)
{
	struct pk p;

	(void)state;
	pk_init(&p);
	msgpack_pack_map(&p.pk, 5);
	pack_std_rest(&p);
	msg_pack_cstr(&p.pk, "v");
	msgpack_pack_uint32(&p.pk, 1);
	expect_bad(&p, ERR_BAD_REQUEST, "duplicate field 'v'", 7);
	pk_init(&p);
	msgpack_pack_map(&p.pk, 6);
	pack_std_rest(&p);
	msg_pack_cstr(&p.pk, "x");
	msgpack_pack_nil(&p.pk);
	msg_pack_cstr(&p.pk, "x");
	msgpack_pack_nil(&p.pk);
	expect_bad(&p, ERR_BAD_REQUEST, "duplicate field 'x'", 7);
	pk_init(&p);
	msgpack_pack_map(&p.pk, 6);
	pack_std_rest(&p);
	msg_pack_cstr(&p.pk, "\xff!");
	msgpack_pack_nil(&p.pk);
	msg_pack_cstr(&p.pk, "\xff!");
	msgpack_pack_nil(&p.pk);
	expect_bad(&p, ERR_BAD_REQUEST, "duplicate key in message", 7);
	pk_init(&p);
	msgpack_pack_map(&p.pk, 6);
	pack_std_rest(&p);
	msg_pack_cstr(&p.pk, "");
	msgpack_pack_nil(&p.pk);
	msg_pack_cstr(&p.pk, "");
	msgpack_pack_nil(&p.pk);
	expect_bad(&p, ERR_BAD_REQUEST, "duplicate key in message", 7);
	pk_init(&p);
	msgpack_pack_map(&p.pk, 5);
	pack_std_rest(&p);
	msg_pack_cstr(&p.pk, "id");
	msgpack_pack_uint32(&p.pk, 8);
	expect_bad(&p, ERR_BAD_REQUEST, "duplicate field 'id'", 0);
}

/* Unknown keys are ignored, up to MSG_ENVELOPE_KEYS_MAX keys. */
static void
test_envelope_unknown_keys(void **state)
{
	struct pk p;
	int i;

	(void)state;
	pk_init(&p);
	msgpack_pack_map(&p.pk, MSG_ENVELOPE_KEYS_MAX);
	pack_std_rest(&p);
	for (i = 4; i < MSG_ENVELOPE_KEYS_MAX; i++) {
		char k[16];

		snprintf(k, sizeof(k), "future%d", i);
		msg_pack_cstr(&p.pk, k);
		msgpack_pack_array(&p.pk, 1);
		msgpack_pack_true(&p.pk);
	}
	expect_bad(&p, 0, "", 7);
	pk_init(&p);
	msgpack_pack_map(&p.pk, MSG_ENVELOPE_KEYS_MAX + 1);
	pack_std_rest(&p);
	for (i = 4; i <= MSG_ENVELOPE_KEYS_MAX; i++) {
		char k[16];

		snprintf(k, sizeof(k), "future%d", i);
		msg_pack_cstr(&p.pk, k);
		msgpack_pack_nil(&p.pk);
	}
	expect_bad(&p, ERR_BAD_REQUEST, "at most 32", 7);
}

/* Raw payload bytes through both msg_check and msg_decode_request. */
static void
expect_decode_err(const void *bytes, size_t len, const char *why_part)
{
	char why[MSG_ERRMSG_MAX];
	struct msg m;
	int rc;

	rc = msg_check(bytes, len, why, sizeof(why));
	if (rc != ERR_DECODE || strstr(why, why_part) == NULL)
		fail_msg("msg_check: rc %d why '%s' (wanted '%s')", rc, why,
		    why_part);
	msg_init(&m);
	assert_int_equal(msg_decode_request(bytes, len, &m, why, sizeof(why)),
	    ERR_DECODE);
	assert_int_equal(m.id, 0);
	msg_free(&m);
}

static void
test_not_msgpack(void **state)
{
	struct pk p;
	uint8_t buf[256];

	(void)state;
	expect_decode_err("", 0, "empty");
	assert_int_equal(msg_check(NULL, 0, NULL, 0), ERR_DECODE);
	expect_decode_err("\xc1", 1, "0xc1");
	expect_decode_err("\x92\x01\xc1", 3, "0xc1 at offset 2");
	expect_decode_err("\x81\xa1v", 3, "ends early");
	expect_decode_err("\xcd\x01", 2, "exceeds");
	expect_decode_err("\xd9", 1, "cut short");
	expect_decode_err("\xc7\x01", 2, "cut short");
	expect_decode_err("\x01\x02", 2, "trailing");

	/* A good request with one byte after it. */
	pack_req(&p, NULL, NULL);
	assert_true(p.sb.size < sizeof(buf));
	memcpy(buf, p.sb.data, p.sb.size);
	buf[p.sb.size] = 0xc0;
	expect_decode_err(buf, p.sb.size + 1, "1 trailing bytes");
	/* Every proper prefix is cut short. */
	for (size_t n = 1; n < p.sb.size; n++)
		assert_int_equal(msg_check(buf, n, NULL, 0), ERR_DECODE);
	pk_free(&p);
}

/* n nested arrays around a 1; depth of the object is n. */
static size_t
nested(uint8_t *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = 0x91;
	buf[n] = 0x01;
	return n + 1;
}

static void
test_depth(void **state)
{
	uint8_t buf[64];
	char why[MSG_ERRMSG_MAX];
	struct msg m;
	struct pk p;
	size_t n, extra;

	(void)state;
	n = nested(buf, MSG_DEPTH_MAX);
	assert_int_equal(msg_check(buf, n, why, sizeof(why)), 0);
	n = nested(buf, MSG_DEPTH_MAX + 1);
	expect_decode_err(buf, n, "nesting deeper than 16");
	/* Empty containers count too. */
	memset(buf, 0x91, MSG_DEPTH_MAX);
	buf[MSG_DEPTH_MAX] = 0x80;
	assert_int_equal(msg_check(buf, MSG_DEPTH_MAX + 1, NULL, 0),
	    ERR_DECODE);
	buf[MSG_DEPTH_MAX - 1] = 0x80;
	assert_int_equal(msg_check(buf, MSG_DEPTH_MAX, NULL, 0), 0);

	/* In a request: envelope (1) + args (2) + arrays. */
	for (extra = MSG_DEPTH_MAX - 2; extra <= MSG_DEPTH_MAX - 1; extra++) {
		pk_init(&p);
		msg_pack_request(&p.pk, 3, "deep", 1);
		msg_pack_cstr(&p.pk, "x");
		n = nested(buf, extra);
		msgpack_sbuffer_write(&p.sb, (const char *)buf, n);
		msg_init(&m);
		assert_int_equal(msg_decode_request((const uint8_t *)p.sb.data,
		    p.sb.size, &m, why, sizeof(why)),
		    extra + 2 <= MSG_DEPTH_MAX ? 0 : ERR_DECODE);
		msg_free(&m);
		pk_free(&p);
	}
}

struct bomb {
	const char *bytes;
	size_t len;
};

#define B(s) { s, sizeof(s) - 1 }

static const struct bomb bombs[] = {
	B("\xdd\x01\x00\x00\x00"),
	B("\xdd\xff\xff\xff\xff"),
	B("\xdf\x7f\xff\xff\xff"),
	B("\xdf\xff\xff\xff\xff"),
	B("\xdb\xff\xff\xff\xff"),
	B("\xc6\xff\xff\xff\xff"),
	B("\xc9\xff\xff\xff\xff\x01"),
	B("\xdc\xff\xff"),
	B("\xde\xff\xff\x01\x01\x01\x01"),
	B("\x9f\x01\x02\x03"),
	B("\x8f\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"),
	/* Each array fits the bytes left; together they do not. */
	B("\x92\x9f\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"),
	/* 40 bytes of nested array32 headers. */
	B("\xdd\x01\x00\x00\x00\xdd\x01\x00\x00\x00\xdd\x01\x00\x00\x00"
	  "\xdd\x01\x00\x00\x00\xdd\x01\x00\x00\x00\xdd\x01\x00\x00\x00"
	  "\xdd\x01\x00\x00\x00\xdd\x01\x00\x00\x00"),
	/* A bomb inside an otherwise good request. */
	B("\x84\xa1v\x01\xa2id\x01\xa3" "cmd\xa1x\xa4" "args\x81\xa1" "a"
	  "\xdd\x01\x00\x00\x00"),
	B("\x84\xa1v\x01\xa2id\x01\xa3" "cmd\xa1x\xa4" "args\x81\xa1" "a"
	  "\xdb\x10\x00\x00\x00zzzz"),
};

/* 0 when every bomb is refused as ERR_DECODE. */
static int
run_bombs(void)
{
	struct msg m;
	size_t i;
	int rc, bad = 0;

	for (i = 0; i < sizeof(bombs) / sizeof(bombs[0]); i++) {
		msg_init(&m);
		rc = msg_decode_request((const uint8_t *)bombs[i].bytes,
		    bombs[i].len, &m, NULL, 0);
		if (rc != ERR_DECODE)
			bad = 1;
		msg_free(&m);
	}
	return bad;
}

static void
test_bombs(void **state)
{
	size_t i;

	(void)state;
	assert_int_equal(bombs[12].len, 40);
	for (i = 0; i < sizeof(bombs) / sizeof(bombs[0]); i++)
		expect_decode_err(bombs[i].bytes, bombs[i].len, "exceeds");
}

/*
 * The bombs with little memory: a child with a small address space
 * limit. Under AddressSanitizer (which needs a large address space) the
 * run is in-process, where any allocation over 256 MiB aborts.
 */
static void
test_bombs_memory(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	if (UNDER_ASAN) {
		assert_int_equal(run_bombs(), 0);
		return;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { BOMB_RLIMIT_AS, BOMB_RLIMIT_AS };

		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(3);
		_exit(run_bombs());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Every msgpack format, then every prefix of it. */
static void
test_all_formats(void **state)
{
	static const char all[] =
	    "\xdc\x00\x25"              /* array16 of 37 */
	    "\xc0\xc2\xc3\x05\xe0\xff"  /* nil false true fixints */
	    "\xcc\xff\xcd\xff\xff\xce\xff\xff\xff\xff"
	    "\xcf\x01\x02\x03\x04\x05\x06\x07\x08"
	    "\xd0\x80\xd1\x80\x00\xd2\x80\x00\x00\x00"
	    "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"
	    "\xca\x3f\x80\x00\x00\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"
	    "\xa3" "abc\xd9\x01" "a\xda\x00\x01" "a\xdb\x00\x00\x00\x01" "a"
	    "\xc4\x01\x00\xc5\x00\x01\x00\xc6\x00\x00\x00\x01\x00"
	    "\xd4\x01\x00\xd5\x01\x00\x00\xd6\x01\x00\x00\x00\x00"
	    "\xd7\x01" "12345678\xd8\x01" "1234567812345678"
	    "\xc7\x01\x05" "a\xc8\x00\x01\x05" "a\xc9\x00\x00\x00\x01\x05" "a"
	    "\x90\x80\x81\xa1k\x01"
	    "\xdd\x00\x00\x00\x01\x01"
	    "\xde\x00\x01\xa1k\x01"
	    "\xdf\x00\x00\x00\x01\xa1k\x01";
	size_t len = sizeof(all) - 1, n, off = 0;
	msgpack_unpacked up;

	(void)state;
	assert_int_equal(msg_check((const uint8_t *)all, len, NULL, 0), 0);
	msgpack_unpacked_init(&up);
	assert_int_equal(msgpack_unpack_next(&up, all, len, &off),
	    MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, len);
	assert_int_equal(up.data.type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(up.data.via.array.size, 37);
	msgpack_unpacked_destroy(&up);
	for (n = 0; n < len; n++)
		assert_int_equal(msg_check((const uint8_t *)all, n, NULL, 0),
		    ERR_DECODE);
}

static uint32_t rng_state = 0x2545f491;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/*
 * Random short byte strings drawn mostly from header bytes: whatever
 * msg_check accepts, msgpack-c must unpack whole (and it is only called
 * then, so that it never sees a bomb).
 */
static void
test_check_agrees_with_unpacker(void **state)
{
	static const uint8_t alphabet[] = {
		0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x90, 0x91, 0x92, 0x9f,
		0xa0, 0xa1, 0xa2, 0xc0, 0xc2, 0xc3, 0xc4, 0xc7, 0xca, 0xcc,
		0xcd, 0xd0, 0xd4, 0xd8, 0xd9, 0xdc, 0xdd, 0xde, 0xdf, 0xe0,
		0xff, 0x03,
	};
	uint8_t buf[24];
	msgpack_unpacked up;
	size_t iter, len, i, off, accepted = 0;

	(void)state;
	msgpack_unpacked_init(&up);
	for (iter = 0; iter < 300000; iter++) {
		len = 1 + rng() % sizeof(buf);
		for (i = 0; i < len; i++)
			buf[i] = alphabet[rng() % sizeof(alphabet)];
		if (msg_check(buf, len, NULL, 0) != 0)
			continue;
		accepted++;
		off = 0;
		assert_int_equal(msgpack_unpack_next(&up, (const char *)buf,
		    len, &off), MSGPACK_UNPACK_SUCCESS);
		assert_int_equal(off, len);
	}
	msgpack_unpacked_destroy(&up);
	assert_true(accepted > 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_fields),
		cmocka_unit_test(test_request_ok),
		cmocka_unit_test(test_check_order),
		cmocka_unit_test(test_envelope_shape),
		cmocka_unit_test(test_envelope_duplicates),
		cmocka_unit_test(test_envelope_unknown_keys),
		cmocka_unit_test(test_not_msgpack),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_bombs),
		cmocka_unit_test(test_bombs_memory),
		cmocka_unit_test(test_all_formats),
		cmocka_unit_test(test_check_agrees_with_unpacker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
