/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the typed field getters, UTF-8 validation and error packing. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

struct fixture {
	msgpack_sbuffer sb;
	msgpack_unpacked up;
	const msgpack_object *map;
	char why[MSG_ERRMSG_MAX];
};

static void
kv_str(msgpack_packer *pk, const char *k, const char *v, size_t vlen)
{
	msg_pack_cstr(pk, k);
	msgpack_pack_str(pk, vlen);
	msgpack_pack_str_body(pk, v, vlen);
}

/* A map with one value of every kind, a duplicate and a non-string key. */
static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	msgpack_packer pk;
	size_t off = 0;

	if (f == NULL)
		return -1;
	msgpack_sbuffer_init(&f->sb);
	msgpack_packer_init(&pk, &f->sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 15);
	msg_pack_cstr(&pk, "u");
	msgpack_pack_uint32(&pk, 30);
	msg_pack_cstr(&pk, "big");
	msgpack_pack_uint64(&pk, UINT64_MAX);
	msg_pack_cstr(&pk, "neg");
	msgpack_pack_int64(&pk, -5);
	msg_pack_cstr(&pk, "min");
	msgpack_pack_int64(&pk, INT64_MIN);
	kv_str(&pk, "s", "abc", 3);
	kv_str(&pk, "e", "", 0);
	kv_str(&pk, "nul", "a\0b", 3);
	msg_pack_cstr(&pk, "b");
	msgpack_pack_bin(&pk, 2);
	msgpack_pack_bin_body(&pk, "\x00\x01", 2);
	msg_pack_cstr(&pk, "t");
	msgpack_pack_true(&pk);
	msg_pack_cstr(&pk, "a");
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_uint32(&pk, 2);
	msgpack_pack_uint32(&pk, 3);
	msg_pack_cstr(&pk, "m");
	msgpack_pack_map(&pk, 0);
	msg_pack_cstr(&pk, "f");
	msgpack_pack_double(&pk, 1.5);
	msg_pack_cstr(&pk, "dup");
	msgpack_pack_uint32(&pk, 1);
	msg_pack_cstr(&pk, "dup");
	msgpack_pack_uint32(&pk, 2);
	msgpack_pack_uint32(&pk, 5);
	msg_pack_cstr(&pk, "five");
	if (msg_check((const uint8_t *)f->sb.data, f->sb.size, NULL, 0) != 0)
		return -1;
	msgpack_unpacked_init(&f->up);
	if (msgpack_unpack_next(&f->up, f->sb.data, f->sb.size, &off) !=
	    MSGPACK_UNPACK_SUCCESS)
		return -1;
	f->map = &f->up.data;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	msgpack_unpacked_destroy(&f->up);
	msgpack_sbuffer_destroy(&f->sb);
	free(f);
	return 0;
}

#define WHY_HAS(f, s) do { \
	if (strstr((f)->why, (s)) == NULL) \
		fail_msg("why '%s' lacks '%s'", (f)->why, (s)); \
	(f)->why[0] = '\0'; \
} while (0)

static void
test_uint(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 99;

	assert_int_equal(msg_get_uint(f->map, "u", true, 1, 3650, &v, f->why,
	    sizeof(f->why)), 1);
	assert_int_equal(v, 30);
	assert_int_equal(msg_get_uint(f->map, "u", true, 30, 30, &v, NULL, 0), 1);
	assert_int_equal(msg_get_uint(f->map, "u", true, 31, 40, &v, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "field 'u' must be an unsigned integer 31..40");
	assert_int_equal(msg_get_uint(f->map, "u", true, 1, 29, &v, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	assert_int_equal(msg_get_uint(f->map, "big", true, 0, UINT64_MAX, &v,
	    NULL, 0), 1);
	assert_true(v == UINT64_MAX);
	assert_int_equal(msg_get_uint(f->map, "neg", true, 0, 10, &v, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "field 'neg'");
	assert_int_equal(msg_get_uint(f->map, "s", false, 0, 10, &v, NULL, 0),
	    ERR_BAD_REQUEST);
	assert_int_equal(msg_get_uint(f->map, "f", false, 0, 10, &v, NULL, 0),
	    ERR_BAD_REQUEST);
	/* Absent: 0 and untouched when optional; an error when required. */
	v = 77;
	assert_int_equal(msg_get_uint(f->map, "days", false, 1, 3650, &v,
	    f->why, sizeof(f->why)), 0);
	assert_int_equal(v, 77);
	assert_int_equal(msg_get_uint(f->map, "days", true, 1, 3650, &v,
	    f->why, sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "missing field 'days'");
	assert_int_equal(msg_get_uint(NULL, "days", false, 1, 3650, &v, NULL,
	    0), 0);
	assert_int_equal(msg_get_uint(NULL, "days", true, 1, 3650, &v, NULL,
	    0), ERR_BAD_REQUEST);
	assert_int_equal(v, 77);
	/* A duplicated key is never read. */
	assert_int_equal(msg_get_uint(f->map, "dup", false, 0, 10, &v, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "duplicate field 'dup'");
	assert_int_equal(v, 77);
	/* A short why buffer gets a cut, terminated message. */
	assert_int_equal(msg_get_uint(f->map, "days", true, 1, 3650, &v,
	    f->why, 8), ERR_BAD_REQUEST);
	assert_string_equal(f->why, "missing");
}

static void
test_int_bool(void **state)
{
	struct fixture *f = *state;
	int64_t i = 0;
	bool b = false;

	assert_int_equal(msg_get_int(f->map, "u", true, &i, NULL, 0), 1);
	assert_int_equal(i, 30);
	assert_int_equal(msg_get_int(f->map, "neg", true, &i, NULL, 0), 1);
	assert_int_equal(i, -5);
	assert_int_equal(msg_get_int(f->map, "min", true, &i, NULL, 0), 1);
	assert_true(i == INT64_MIN);
	assert_int_equal(msg_get_int(f->map, "big", true, &i, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "field 'big'");
	assert_int_equal(msg_get_int(f->map, "f", true, &i, NULL, 0),
	    ERR_BAD_REQUEST);
	assert_int_equal(msg_get_int(f->map, "nope", false, &i, NULL, 0), 0);
	assert_int_equal(msg_get_bool(f->map, "t", true, &b, NULL, 0), 1);
	assert_true(b);
	assert_int_equal(msg_get_bool(f->map, "u", true, &b, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "field 'u' must be a boolean");
	assert_int_equal(msg_get_bool(f->map, "nope", true, &b, NULL, 0),
	    ERR_BAD_REQUEST);
}

static void
test_str_bin(void **state)
{
	struct fixture *f = *state;
	const char *s = NULL;
	const uint8_t *p = NULL;
	size_t n = 0;

	assert_int_equal(msg_get_str(f->map, "s", true, 64, &s, &n, NULL, 0), 1);
	assert_int_equal(n, 3);
	assert_memory_equal(s, "abc", 3);
	assert_int_equal(msg_get_str(f->map, "s", true, 3, &s, &n, NULL, 0), 1);
	assert_int_equal(msg_get_str(f->map, "s", true, 2, &s, &n, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "field 's' must be at most 2 bytes");
	assert_int_equal(msg_get_str(f->map, "e", true, 64, &s, &n, NULL, 0), 1);
	assert_int_equal(n, 0);
	assert_non_null(s);
	assert_int_equal(msg_get_str(f->map, "nul", true, 64, &s, &n, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "field 'nul' must not contain NUL");
	assert_int_equal(msg_get_str(f->map, "b", true, 64, &s, &n, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "field 'b' must be a string");
	assert_int_equal(msg_get_str(f->map, "csr", true, 64, &s, &n, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "missing field 'csr'");

	assert_int_equal(msg_get_bin(f->map, "b", true, 64, &p, &n, NULL, 0), 1);
	assert_int_equal(n, 2);
	assert_memory_equal(p, "\x00\x01", 2);
	assert_int_equal(msg_get_bin(f->map, "b", true, 1, &p, &n, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "field 'b' must be at most 1 bytes");
	assert_int_equal(msg_get_bin(f->map, "s", true, 64, &p, &n, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "field 's' must be binary");
}

static void
test_array_map(void **state)
{
	struct fixture *f = *state;
	const msgpack_object_array *a = NULL;
	const msgpack_object *m = NULL;

	assert_int_equal(msg_get_array(f->map, "a", true, 3, &a, NULL, 0), 1);
	assert_int_equal(a->size, 3);
	assert_int_equal(msg_get_array(f->map, "a", true, 2, &a, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "field 'a' must have at most 2 elements");
	assert_int_equal(msg_get_array(f->map, "m", true, 3, &a, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "field 'm' must be an array");
	assert_int_equal(msg_get_map(f->map, "m", true, &m, NULL, 0), 1);
	assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(msg_get_map(f->map, "a", true, &m, f->why,
	    sizeof(f->why)), ERR_BAD_REQUEST);
	WHY_HAS(f, "field 'a' must be a map");
	/* Getters on something that is not a map see every key absent. */
	assert_int_equal(msg_get_map(&f->map->via.map.ptr[0].val, "x", false,
	    &m, NULL, 0), 0);

	assert_non_null(msg_map_get(f->map, "u"));
	assert_null(msg_map_get(f->map, "dup"));
	assert_null(msg_map_get(f->map, "five"));
	assert_null(msg_map_get(f->map, "5"));
	assert_null(msg_map_get(NULL, "u"));
}

/* msg_utf8_valid on explicit byte strings. */
static void
test_utf8(void **state)
{
	static const char *good[] = {
		"a", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80",
		"\xe2\x82\xac", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
		"\xf0\x90\x80\x80", "\xf3\xbf\xbf\xbf", "\xf4\x8f\xbf\xbf",
		"caf\xc3\xa9 \xf0\x9f\x94\x91",
	};
	static const char *bad[] = {
		"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc2\x41",
		"\xe0\x80\x80", "\xe0\x9f\xbf", "\xe2\x82", "\xe2\x28\xa1",
		"\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x80\x80\x80",
		"\xf0\x8f\xbf\xbf", "\xf0\x90\x80", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
		"ok\xc3", "\xe2\x82\xac\x80",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!msg_utf8_valid(good[i], strlen(good[i])))
			fail_msg("good[%zu] rejected", i);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (msg_utf8_valid(bad[i], strlen(bad[i])))
			fail_msg("bad[%zu] accepted", i);
	assert_true(msg_utf8_valid("", 0));
	assert_true(msg_utf8_valid(NULL, 0));
	assert_false(msg_utf8_valid("a\0b", 3));
	assert_false(msg_utf8_valid("\0", 1));
	/* The length bounds the check: a cut sequence is invalid. */
	assert_false(msg_utf8_valid("\xe2\x82\xac", 2));
	assert_true(msg_utf8_valid("\xe2\x82\xac", 3));
}

/* The getter says which field is not UTF-8. */
static void
test_str_utf8_message(void **state)
{
	char why[MSG_ERRMSG_MAX];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked up;
	const char *s;
	size_t n, off = 0;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	kv_str(&pk, "subject", "CN=\xed\xa0\x80", 6);
	kv_str(&pk, "cn", "\xf0\x9f\x94\x91", 4);
	msgpack_unpacked_init(&up);
	assert_int_equal(msgpack_unpack_next(&up, sb.data, sb.size, &off),
	    MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(msg_get_str(&up.data, "subject", true, 64, &s, &n,
	    why, sizeof(why)), ERR_BAD_REQUEST);
	assert_string_equal(why, "field 'subject' must be valid UTF-8");
	assert_int_equal(msg_get_str(&up.data, "cn", true, 64, &s, &n, why,
	    sizeof(why)), 1);
	assert_int_equal(n, 4);
	msgpack_unpacked_destroy(&up);
	msgpack_sbuffer_destroy(&sb);
}

/* Long error messages are cut to MSG_ERRMSG_MAX on a character boundary. */
static void
check_error_cut(const char *message, size_t want_len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct msg m;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_error(&pk, 5, "policy", message);
	msg_init(&m);
	assert_int_equal(msg_decode_response((const uint8_t *)sb.data, sb.size,
	    &m, NULL, 0), 0);
	assert_int_equal(m.err_message_len, want_len);
	assert_true(msg_utf8_valid(m.err_message, m.err_message_len));
	assert_memory_equal(m.err_message, message, want_len);
	msg_free(&m);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_pack_error_cut(void **state)
{
	char msg[700];
	size_t i;

	(void)state;
	for (i = 0; i + 2 < sizeof(msg); i += 2)
		memcpy(msg + i, "\xc3\xa9", 2);
	msg[i] = '\0';
	check_error_cut(msg, MSG_ERRMSG_MAX);
	memset(msg, 'a', 255);
	memcpy(msg + 255, "\xe2\x82\xac", 4);
	check_error_cut(msg, 255);
	memset(msg, 'a', 256);
	msg[256] = '\0';
	check_error_cut(msg, 256);
	check_error_cut("", 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_uint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_int_bool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_str_bin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_array_map, setup, teardown),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_str_utf8_message),
		cmocka_unit_test(test_pack_error_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
