/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of COBS encoding and decoding: published vectors, every length to 1000, errors. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

#define LEN_MAX 1000

/* A small deterministic generator, so that failures reproduce. */
static uint32_t rng_state = 0x12345678;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* Parse hex text ("01 ff") into out; returns the byte count. */
static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (*s != '\0') {
		if (*s == ' ') {
			s++;
			continue;
		}
		assert_true(sscanf(s, "%2x", &v) == 1);
		assert_true(n < cap);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static void
check_pair(const uint8_t *in, size_t inlen, const uint8_t *enc, size_t enclen)
{
	uint8_t out[600];
	size_t n;

	assert_int_equal(cobs_encode(in, inlen, out, sizeof(out), &n), 0);
	assert_int_equal(n, enclen);
	assert_memory_equal(out, enc, enclen);
	assert_int_equal(cobs_decode(enc, enclen, out, sizeof(out), &n), 0);
	assert_int_equal(n, inlen);
	if (inlen > 0)
		assert_memory_equal(out, in, inlen);
}

static void
test_published_short(void **state)
{
	static const char *vec[][2] = {
		{ "", "01" },
		{ "00", "01 01" },
		{ "00 00", "01 01 01" },
		{ "11 22 00 33", "03 11 22 02 33" },
		{ "11 22 33 44", "05 11 22 33 44" },
		{ "11 00 00 00", "02 11 01 01 01" },
		{ "11 22 00", "03 11 22 01" },
	};
	uint8_t in[16], enc[16];
	size_t i, inlen, enclen;

	(void)state;
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		inlen = unhex(vec[i][0], in, sizeof(in));
		enclen = unhex(vec[i][1], enc, sizeof(enc));
		check_pair(in, inlen, enc, enclen);
	}
}

/* The long vectors: input bytes first..first+n-1 (mod 256), then extra. */
static void
check_long(unsigned first, size_t n, const uint8_t *extra, size_t nextra,
    const uint8_t *enc_head, size_t nhead, const uint8_t *enc_tail,
    size_t ntail)
{
	uint8_t in[300], enc[300];
	size_t i, len = 0;

	for (i = 0; i < n; i++)
		in[len++] = (uint8_t)(first + i);
	if (nextra > 0)
		memcpy(in + len, extra, nextra);
	len += nextra;
	if (nhead > 0)
		memcpy(enc, enc_head, nhead);
	/* The 254 (or fewer) copied data bytes follow the code byte. */
	for (i = 0; i < n && i < 254; i++)
		enc[nhead + i] = (uint8_t)(first + i);
	if (ntail > 0)
		memcpy(enc + nhead + i, enc_tail, ntail);
	check_pair(in, len, enc, nhead + i + ntail);
}

static void
test_published_long(void **state)
{
	(void)state;
	/* 01..FE (254 bytes) -> FF 01..FE, no trailing code byte */
	check_long(1, 254, NULL, 0, (const uint8_t *)"\xff", 1, NULL, 0);
	/* 00..FE (255 bytes) -> 01 FF 01..FE */
	{
		uint8_t in[255], enc[256];
		size_t i;

		for (i = 0; i < 255; i++)
			in[i] = (uint8_t)i;
		enc[0] = 0x01;
		enc[1] = 0xff;
		for (i = 1; i < 255; i++)
			enc[i + 1] = (uint8_t)i;
		check_pair(in, 255, enc, 256);
	}
	/* 01..FF (255 bytes) -> FF 01..FE 02 FF */
	check_long(1, 254, (const uint8_t *)"\xff", 1, (const uint8_t *)"\xff",
	    1, (const uint8_t *)"\x02\xff", 2);
	/* 02..FF 00 (255 bytes) -> FF 02..FF 01 01 */
	check_long(2, 254, (const uint8_t *)"\x00", 1, (const uint8_t *)"\xff",
	    1, (const uint8_t *)"\x01\x01", 2);
	/* 03..FF 00 01 (255 bytes) -> FE 03..FF 02 01 */
	check_long(3, 253, (const uint8_t *)"\x00\x01", 2,
	    (const uint8_t *)"\xfe", 1, (const uint8_t *)"\x02\x01", 2);
}

/* An independent byte-at-a-time encoder to compare against. */
static size_t
ref_encode(const uint8_t *src, size_t len, uint8_t *dst)
{
	size_t out = 1, code_at = 0, i;
	uint8_t code = 1;

	for (i = 0; i < len; i++) {
		if (src[i] == 0) {
			dst[code_at] = code;
			code_at = out++;
			code = 1;
			continue;
		}
		dst[out++] = src[i];
		if (++code == 0xff) {
			dst[code_at] = code;
			code = 1;
			if (i + 1 < len)
				code_at = out++;
			else
				return out;
		}
	}
	dst[code_at] = code;
	return out;
}

static void
roundtrip(const uint8_t *in, size_t len)
{
	uint8_t enc[COBS_ENCODED_MAX(LEN_MAX)], ref[COBS_ENCODED_MAX(LEN_MAX)];
	uint8_t dec[LEN_MAX + 1];
	size_t n, refn, m;

	assert_int_equal(cobs_encode(in, len, enc, sizeof(enc), &n), 0);
	assert_true(n <= COBS_ENCODED_MAX(len));
	assert_null(memchr(enc, 0, n));
	refn = ref_encode(in, len, ref);
	assert_int_equal(n, refn);
	assert_memory_equal(enc, ref, n);
	assert_int_equal(cobs_decode(enc, n, dec, len, &m), 0);
	assert_int_equal(m, len);
	if (len > 0)
		assert_memory_equal(dec, in, len);
	/* The encoder must fail cleanly when one byte short. */
	assert_int_equal(cobs_encode(in, len, enc, n - 1, &m), ERR_NOSPACE);
	assert_int_equal(m, 0);
	if (len > 0)
		assert_int_equal(cobs_decode(enc, n, dec, len - 1, &m),
		    ERR_NOSPACE);
}

static void
test_all_lengths(void **state)
{
	uint8_t in[LEN_MAX] = { 0 };
	size_t len, i;

	(void)state;
	for (len = 0; len <= LEN_MAX; len++) {
		for (i = 0; i < len; i++)
			in[i] = (uint8_t)rng();
		roundtrip(in, len);
		memset(in, 0, len);
		roundtrip(in, len);
		for (i = 0; i < len; i++)
			in[i] = (uint8_t)(rng() % 255 + 1);
		roundtrip(in, len);
		/* Sparse zeros: runs near the 254-byte boundary. */
		for (i = 0; i < len; i++)
			in[i] = (rng() % 300 == 0) ? 0 : 0x5a;
		roundtrip(in, len);
	}
}

/* Zeros placed right around every 254-byte block boundary. */
static void
test_block_boundaries(void **state)
{
	uint8_t in[LEN_MAX] = { 0 };
	size_t len, z, i;

	(void)state;
	for (len = 250; len <= 770; len += 1) {
		for (z = 0; z < 4; z++) {
			for (i = 0; i < len; i++)
				in[i] = (uint8_t)(i % 255 + 1);
			if (z == 1)
				in[253] = 0;
			else if (z == 2 && len > 254)
				in[254] = 0;
			else if (z == 3 && len > 508)
				in[508] = 0;
			in[len - 1] = (uint8_t)(len % 2 == 0 ? 0 : in[len - 1]);
			roundtrip(in, len);
		}
	}
}

static void
test_encode2_splits(void **state)
{
	uint8_t in[600], whole[COBS_ENCODED_MAX(600)], part[COBS_ENCODED_MAX(600)];
	size_t len, cut, n, m, i;

	(void)state;
	for (len = 0; len <= 600; len += 37) {
		for (i = 0; i < len; i++)
			in[i] = (uint8_t)(rng() % 4 == 0 ? 0 : rng());
		assert_int_equal(cobs_encode(in, len, whole, sizeof(whole), &n), 0);
		for (cut = 0; cut <= len; cut++) {
			assert_int_equal(cobs_encode2(in, cut, in + cut, len - cut,
			    part, sizeof(part), &m), 0);
			assert_int_equal(m, n);
			assert_memory_equal(part, whole, n);
		}
	}
	/* 254 non-zero bytes split across the two parts. */
	memset(in, 0x77, 254);
	assert_int_equal(cobs_encode2(in, 100, in + 100, 154, part,
	    sizeof(part), &m), 0);
	assert_int_equal(m, 255);
	assert_int_equal(part[0], 0xff);
}

static void
test_decode_errors(void **state)
{
	uint8_t out[64], enc[16];
	size_t n, len;

	(void)state;
	/* A code byte that runs past the end. */
	len = unhex("05 11 22", enc, sizeof(enc));
	assert_int_equal(cobs_decode(enc, len, out, sizeof(out), &n),
	    ERR_FRAME_COBS);
	len = unhex("03 11 22 04 33", enc, sizeof(enc));
	assert_int_equal(cobs_decode(enc, len, out, sizeof(out), &n),
	    ERR_FRAME_COBS);
	len = unhex("ff", enc, sizeof(enc));
	assert_int_equal(cobs_decode(enc, len, out, sizeof(out), &n),
	    ERR_FRAME_COBS);
	/* A zero byte inside the data or as a code. */
	len = unhex("03 11 00 02 33", enc, sizeof(enc));
	assert_int_equal(cobs_decode(enc, len, out, sizeof(out), &n),
	    ERR_FRAME_COBS);
	len = unhex("00", enc, sizeof(enc));
	assert_int_equal(cobs_decode(enc, len, out, sizeof(out), &n),
	    ERR_FRAME_COBS);
	assert_int_equal(n, 0);
	/* Output space: exact fits, one less fails. */
	len = unhex("03 11 22 02 33", enc, sizeof(enc));
	assert_int_equal(cobs_decode(enc, len, out, 4, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(cobs_decode(enc, len, out, 3, &n), ERR_NOSPACE);
	assert_int_equal(cobs_decode(enc, len, out, 2, &n), ERR_NOSPACE);
	/* Empty input decodes to nothing; a lone 01 too. */
	assert_int_equal(cobs_decode(enc, 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	len = unhex("01", enc, sizeof(enc));
	assert_int_equal(cobs_decode(enc, len, NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cobs_decode(enc, len, out, sizeof(out), NULL),
	    ERR_INVAL);
	assert_int_equal(cobs_encode(NULL, 3, out, sizeof(out), &n), ERR_INVAL);
	assert_int_equal(cobs_encode(enc, 1, out, 0, &n), ERR_NOSPACE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published_short),
		cmocka_unit_test(test_published_long),
		cmocka_unit_test(test_all_lengths),
		cmocka_unit_test(test_block_boundaries),
		cmocka_unit_test(test_encode2_splits),
		cmocka_unit_test(test_decode_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
