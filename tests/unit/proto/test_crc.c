/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the frame CRC: the CRC-32/ISO-HDLC check value and its big-endian place in a frame. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "proto/proto.h"

static void
test_check_value(void **state)
{
	(void)state;
	assert_int_equal(frame_crc32((const uint8_t *)"123456789", 9),
	    0xCBF43926u);
	assert_int_equal(frame_crc32(NULL, 0), 0);
	assert_int_equal(frame_crc32((const uint8_t *)"", 0), 0);
	/* One byte values from the CRC-32/ISO-HDLC table. */
	assert_int_equal(frame_crc32((const uint8_t *)"a", 1), 0xE8B7BE43u);
	assert_int_equal(frame_crc32((const uint8_t *)"\0", 1), 0xD202EF8Du);
}

/* The two payloads of the protocol document's worked examples. */
static void
test_doc_examples(void **state)
{
	static const uint8_t hello[] = {
		0x84, 0xa1, 0x76, 0x01, 0xa2, 0x69, 0x64, 0x01, 0xa3, 0x63,
		0x6d, 0x64, 0xa5, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0xa4, 0x61,
		0x72, 0x67, 0x73, 0x82, 0xa6, 0x63, 0x6c, 0x69, 0x65, 0x6e,
		0x74, 0xad, 0x73, 0x69, 0x67, 0x6e, 0x65, 0x72, 0x2d, 0x63,
		0x6c, 0x69, 0x65, 0x6e, 0x74, 0xa8, 0x76, 0x65, 0x72, 0x73,
		0x69, 0x6f, 0x6e, 0x73, 0x91, 0x01,
	};
	static const uint8_t result[] = {
		0x84, 0xa1, 0x76, 0x01, 0xa2, 0x69, 0x64, 0x01, 0xa2, 0x6f,
		0x6b, 0xc3, 0xa6, 0x72, 0x65, 0x73, 0x75, 0x6c, 0x74, 0x83,
		0xa6, 0x73, 0x65, 0x72, 0x76, 0x65, 0x72, 0xa7, 0x73, 0x69,
		0x67, 0x6e, 0x65, 0x72, 0x64, 0xa4, 0x6e, 0x6f, 0x64, 0x65,
		0x01, 0xa9, 0x6d, 0x61, 0x78, 0x5f, 0x66, 0x72, 0x61, 0x6d,
		0x65, 0xce, 0x00, 0x01, 0x00, 0x00,
	};

	(void)state;
	assert_int_equal(sizeof(hello), 56);
	assert_int_equal(frame_crc32(hello, sizeof(hello)), 0x640d9ae8u);
	assert_int_equal(sizeof(result), 56);
	assert_int_equal(frame_crc32(result, sizeof(result)), 0xa4b69f87u);
}

/* The CRC follows the payload most significant byte first. */
static void
test_big_endian_in_frame(void **state)
{
	uint8_t frame[FRAME_ENCODED_MAX(9)], dec[32];
	size_t n, m;

	(void)state;
	assert_int_equal(frame_encode((const uint8_t *)"123456789", 9, frame,
	    sizeof(frame), &n), 0);
	assert_int_equal(frame[n - 1], 0x00);
	assert_int_equal(cobs_decode(frame, n - 1, dec, sizeof(dec), &m), 0);
	assert_int_equal(m, 13);
	assert_memory_equal(dec, "123456789", 9);
	assert_memory_equal(dec + 9, "\xcb\xf4\x39\x26", 4);
}

/* Large buffers (zlib takes 32-bit lengths in its classic API). */
static void
test_large(void **state)
{
	static uint8_t big[1 << 20];
	uint32_t a, b;

	(void)state;
	memset(big, 0xa5, sizeof(big));
	a = frame_crc32(big, sizeof(big));
	big[sizeof(big) / 2] ^= 1;
	b = frame_crc32(big, sizeof(big));
	assert_true(a != b);
	big[sizeof(big) / 2] ^= 1;
	assert_int_equal(frame_crc32(big, sizeof(big)), a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_doc_examples),
		cmocka_unit_test(test_big_endian_in_frame),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
