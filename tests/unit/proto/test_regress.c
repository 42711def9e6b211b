/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Regression samples: every .hex file in tests/regress/frames gives the result its name announces. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

#define REGRESS_DIR "tests/regress/frames"
#define REGRESS_FILE_MAX (1024 * 1024)  /* largest sample, in bytes of hex */

/* Read a .hex file: pairs of hex digits, blanks, and # comments to end of line. */
static uint8_t *
read_hex(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	uint8_t *out;
	size_t n = 0;
	int c, hi = -1, v = 0;

	assert_non_null(f);
	out = malloc(REGRESS_FILE_MAX / 2);
	assert_non_null(out);
	while ((c = fgetc(f)) != EOF) {
		if (c == '#') {
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			fail_msg("%s: unexpected character '%c'", path, c);
		if (hi < 0) {
			hi = v;
			continue;
		}
		assert_true(n < REGRESS_FILE_MAX / 2);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	fclose(f);
	if (hi >= 0)
		fail_msg("%s: odd number of hex digits", path);
	*len = n;
	return out;
}

/*
 * The expectation in a name: "ok-..." is 0; "err-CODE-..." or "err-CODE.hex"
 * is the frame error for cobs, crc and oversize, else the error of that
 * wire code.
 */
static int
expected(const char *name)
{
	const char *code, *end;
	size_t len;

	if (strncmp(name, "ok-", 3) == 0)
		return 0;
	if (strncmp(name, "err-", 4) != 0)
		fail_msg("%s: name must start with ok- or err-", name);
	code = name + 4;
	if ((end = strchr(code, '-')) == NULL)
		end = strrchr(code, '.');
	len = (size_t)(end - code);
	if (len == 4 && memcmp(code, "cobs", 4) == 0)
		return ERR_FRAME_COBS;
	if (len == 3 && memcmp(code, "crc", 3) == 0)
		return ERR_FRAME_CRC;
	if (len == 8 && memcmp(code, "oversize", 8) == 0)
		return ERR_FRAME_OVERSIZE;
	if (strcmp(err_wire_code(err_from_wire_code(code, len)), "internal") ==
	    0)
		fail_msg("%s: unknown error code", name);
	return err_from_wire_code(code, len);
}

/*
 * The first thing the decoder reports for the whole input, fed in one
 * piece or a byte at a time; then msg_decode_request on a payload.
 */
static int
outcome(const uint8_t *buf, size_t len, size_t chunk)
{
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_DEFAULT);
	const uint8_t *p;
	size_t pos = 0, used, plen, c;
	struct msg m;
	int rc = 0;

	assert_non_null(d);
	while (pos < len) {
		c = chunk == 0 || chunk > len - pos ? len - pos : chunk;
		rc = frame_decoder_push(d, buf + pos, c, &used, &p, &plen);
		pos += used;
		if (rc != 0)
			break;
	}
	if (rc == 1) {
		msg_init(&m);
		rc = msg_decode_request(p, plen, &m, NULL, 0);
		msg_free(&m);
	} else if (rc == 0) {
		fail_msg("no frame in the input");
	}
	frame_decoder_free(d);
	return rc;
}

static void
test_regress_frames(void **state)
{
	DIR *dir = opendir(REGRESS_DIR);
	struct dirent *de;
	char path[512];
	uint8_t *buf;
	size_t len, nfiles = 0, nok = 0, nlen;
	int want, got, got1;

	(void)state;
	if (dir == NULL)
		fail_msg("cannot open %s (run from the repository root)",
		    REGRESS_DIR);
	while ((de = readdir(dir)) != NULL) {
		nlen = strlen(de->d_name);
		if (nlen < 5 || strcmp(de->d_name + nlen - 4, ".hex") != 0)
			continue;
		want = expected(de->d_name);
		snprintf(path, sizeof(path), "%s/%s", REGRESS_DIR, de->d_name);
		buf = read_hex(path, &len);
		got = outcome(buf, len, 0);
		got1 = outcome(buf, len, 1);
		if (got != want || got1 != want)
			fail_msg("%s: got %d / %d (%s), want %d (%s)", de->d_name,
			    got, got1, err_str(got), want, err_str(want));
		free(buf);
		nfiles++;
		nok += want == 0;
	}
	closedir(dir);
	/* An empty or missing directory must not pass quietly. */
	assert_true(nfiles >= 10);
	assert_true(nok >= 1 && nok < nfiles);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regress_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
