/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the error enum: descriptions and the wire error codes in both directions. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "proto/proto.h"

static const int all_errs[] = {
	ERR_OK, ERR_NOMEM, ERR_INVAL, ERR_NOSPACE, ERR_SYSTEM, ERR_FRAME_COBS,
	ERR_FRAME_CRC, ERR_FRAME_OVERSIZE, ERR_DECODE, ERR_BAD_REQUEST,
	ERR_UNKNOWN_CMD, ERR_UNSUPPORTED_VERSION, ERR_POLICY, ERR_NOT_FOUND,
	ERR_CONFLICT, ERR_HSM, ERR_REPO, ERR_BUSY, ERR_INTERNAL, ERR_CONFIG,
	ERR_TIMEOUT, ERR_LINK, ERR_PIN,
};

#define NERRS (sizeof(all_errs) / sizeof(all_errs[0]))

static void
test_err_str(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < NERRS; i++) {
		assert_non_null(err_str(all_errs[i]));
		assert_string_not_equal(err_str(all_errs[i]), "unknown error");
		for (j = 0; j < i; j++)
			assert_string_not_equal(err_str(all_errs[i]),
			    err_str(all_errs[j]));
	}
	assert_string_equal(err_str(-9999), "unknown error");
	assert_string_equal(err_str(1), "unknown error");
}

static void
test_wire_codes(void **state)
{
	static const struct {
		int err;
		const char *code;
	} map[] = {
		{ ERR_FRAME_COBS, "frame" },
		{ ERR_FRAME_CRC, "frame" },
		{ ERR_FRAME_OVERSIZE, "frame" },
		{ ERR_DECODE, "decode" },
		{ ERR_BAD_REQUEST, "bad_request" },
		{ ERR_UNKNOWN_CMD, "unknown_cmd" },
		{ ERR_UNSUPPORTED_VERSION, "unsupported_version" },
		{ ERR_POLICY, "policy" },
		{ ERR_NOT_FOUND, "not_found" },
		{ ERR_CONFLICT, "conflict" },
		{ ERR_HSM, "hsm" },
		{ ERR_REPO, "repo" },
		{ ERR_BUSY, "busy" },
		{ ERR_INTERNAL, "internal" },
		{ ERR_NOMEM, "internal" },
		{ ERR_SYSTEM, "internal" },
		{ ERR_PIN, "internal" },
		{ -9999, "internal" },
	};
	size_t i;
	int back;

	(void)state;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		assert_string_equal(err_wire_code(map[i].err), map[i].code);
		back = err_from_wire_code(map[i].code, strlen(map[i].code));
		assert_string_equal(err_wire_code(back), map[i].code);
	}
	assert_int_equal(err_from_wire_code("policy", 6), ERR_POLICY);
	assert_int_equal(err_from_wire_code("frame", 5), ERR_FRAME_CRC);
	assert_int_equal(err_from_wire_code("busy", 4), ERR_BUSY);
	/* Not NUL-terminated: only len bytes count. */
	assert_int_equal(err_from_wire_code("busyness", 4), ERR_BUSY);
	assert_int_equal(err_from_wire_code("bus", 3), ERR_INTERNAL);
	assert_int_equal(err_from_wire_code("busy", 5), ERR_INTERNAL);
	assert_int_equal(err_from_wire_code("no_such_code", 12), ERR_INTERNAL);
	assert_int_equal(err_from_wire_code("", 0), ERR_INTERNAL);
	assert_int_equal(err_from_wire_code(NULL, 0), ERR_INTERNAL);
}

/* Reason names: RFC 5280 codes 0..6 and 9..10, each name back to its code. */
static void
test_reason_names(void **state)
{
	const char *n;
	int i, named = 0;

	(void)state;
	for (i = -1; i <= MSG_REASON_MAX + 1; i++) {
		if ((n = msg_reason_name(i)) == NULL)
			continue;
		named++;
		assert_int_equal(msg_reason_code(n, strlen(n)), i);
	}
	assert_int_equal(named, 9);
	assert_null(msg_reason_name(7));
	assert_null(msg_reason_name(8));
	assert_string_equal(msg_reason_name(1), "keyCompromise");
	assert_string_equal(msg_reason_name(10), "aACompromise");
	assert_int_equal(msg_reason_code("keycompromise", 13), -1);
	assert_int_equal(msg_reason_code("keyCompromis", 12), -1);
	assert_int_equal(msg_reason_code("removeFromCRL", 13), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_str),
		cmocka_unit_test(test_wire_codes),
		cmocka_unit_test(test_reason_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
