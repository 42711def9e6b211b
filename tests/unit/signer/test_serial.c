/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of serial numbers: generation, node prefix, hexadecimal form and comparison. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "proto/proto.h"
#include "signer/signer.h"

static void
test_generate_format(void **state)
{
	struct serial a, b;
	char hex[SERIAL_HEX_MAX];
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		assert_int_equal(serial_generate(5, &a), 0);
		assert_int_equal(a.len, SERIAL_LEN);
		assert_int_equal(a.b[0], 5);
		/* The top bit is clear: the DER INTEGER is positive as is. */
		assert_true((a.b[0] & 0x80) == 0);
		serial_to_hex(&a, hex);
		assert_int_equal(strlen(hex), 2 * SERIAL_LEN - 1);
		assert_true(hex[0] == '5');
	}
	assert_int_equal(serial_generate(127, &a), 0);
	assert_int_equal(a.b[0], 127);
	assert_int_equal(serial_generate(127, &b), 0);
	assert_int_not_equal(serial_cmp(&a, &b), 0);
	assert_int_equal(serial_generate(0, &a), ERR_INVAL);
	assert_int_equal(serial_generate(128, &a), ERR_INVAL);
	assert_int_equal(serial_generate(255, &a), ERR_INVAL);
}

static void
test_hex(void **state)
{
	struct serial s = { .b = { 0x01, 0xa2, 0x0b }, .len = 3 };
	char hex[SERIAL_HEX_MAX];

	(void)state;
	serial_to_hex(&s, hex);
	assert_string_equal(hex, "1a20b");
	s = (struct serial){ .b = { 0xff }, .len = 1 };
	serial_to_hex(&s, hex);
	assert_string_equal(hex, "ff");
	s = (struct serial){ .b = { 0x10, 0x00 }, .len = 2 };
	serial_to_hex(&s, hex);
	assert_string_equal(hex, "1000");
	memset(s.b, 0xab, SERIAL_MAX);
	s.len = SERIAL_MAX;
	serial_to_hex(&s, hex);
	assert_int_equal(strlen(hex), 2 * SERIAL_MAX);
}

static void
test_from_hex(void **state)
{
	struct serial s;
	char hex[SERIAL_HEX_MAX];

	(void)state;
	assert_int_equal(serial_from_hex("1a20b", 5, &s), 0);
	assert_int_equal(s.len, 3);
	assert_memory_equal(s.b, "\x01\xa2\x0b", 3);
	assert_int_equal(serial_from_hex("001A20B", 7, &s), 0);
	assert_int_equal(s.len, 3);
	serial_to_hex(&s, hex);
	assert_string_equal(hex, "1a20b");
	assert_int_equal(serial_from_hex("0", 1, &s), ERR_BAD_REQUEST);
	assert_int_equal(serial_from_hex("000", 3, &s), ERR_BAD_REQUEST);
	assert_int_equal(serial_from_hex("", 0, &s), ERR_BAD_REQUEST);
	assert_int_equal(serial_from_hex("0x12", 4, &s), ERR_BAD_REQUEST);
	assert_int_equal(serial_from_hex("12 ", 3, &s), ERR_BAD_REQUEST);
	assert_int_equal(serial_from_hex("-1", 2, &s), ERR_BAD_REQUEST);
	assert_int_equal(serial_from_hex(NULL, 1, &s), ERR_BAD_REQUEST);
	/* 40 digits fit in 20 bytes, 41 do not. */
	assert_int_equal(serial_from_hex(
	    "ffffffffffffffffffffffffffffffffffffffff", 40, &s), 0);
	assert_int_equal(s.len, SERIAL_MAX);
	assert_int_equal(serial_from_hex(
	    "0ffffffffffffffffffffffffffffffffffffffff", 41, &s),
	    ERR_BAD_REQUEST);
	/* Only len bytes are read. */
	assert_int_equal(serial_from_hex("abZZ", 2, &s), 0);
	assert_int_equal(s.len, 1);
	assert_int_equal(s.b[0], 0xab);
}

static void
test_round_trip(void **state)
{
	char hex[SERIAL_HEX_MAX];
	struct serial a, b;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		assert_int_equal(serial_generate((uint8_t)(1 + i % 127), &a), 0);
		serial_to_hex(&a, hex);
		assert_int_equal(serial_from_hex(hex, strlen(hex), &b), 0);
		assert_int_equal(b.len, a.len);
		assert_memory_equal(b.b, a.b, a.len);
		assert_int_equal(serial_cmp(&a, &b), 0);
	}
}

static void
test_cmp(void **state)
{
	struct serial a, b;

	(void)state;
	assert_int_equal(serial_from_hex("ff", 2, &a), 0);
	assert_int_equal(serial_from_hex("100", 3, &b), 0);
	assert_true(serial_cmp(&a, &b) < 0);
	assert_true(serial_cmp(&b, &a) > 0);
	assert_int_equal(serial_from_hex("1ff", 3, &a), 0);
	assert_true(serial_cmp(&a, &b) > 0);
	/* Leading zero bytes do not change the value. */
	a = (struct serial){ .b = { 0x00, 0x01, 0x00 }, .len = 3 };
	assert_int_equal(serial_cmp(&a, &b), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_format),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_from_hex),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_cmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
