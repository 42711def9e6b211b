/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: the streaming frame decoder against a one-shot decode of each frame, in input-chosen chunks. */

#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

#define FUZZ_EVENTS_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct event {
	int rc;
	const uint8_t *p;       /* into the stream copy of the payload */
	size_t len;
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* Encode the payload again and decode it with a fresh decoder. */
static void
check_reencode(const uint8_t *p, size_t len, size_t max)
{
	size_t cap = FRAME_ENCODED_MAX(len), n, used, plen;
	struct frame_decoder *d = frame_decoder_new(max);
	uint8_t *frame = malloc(cap);
	const uint8_t *out;

	check(d != NULL && frame != NULL);
	check(frame_encode(p, len, frame, cap, &n) == 0);
	check(frame_decoder_push(d, frame, n, &used, &out, &plen) == 1);
	check(used == n && plen == len);
	check(len == 0 || memcmp(out, p, len) == 0);
	free(frame);
	frame_decoder_free(d);
}

/*
 * What a decoder must report for one segment (the bytes before a 0x00):
 * returns the expected rc and sets *alt to a second acceptable rc.
 */
static int
expect_segment(const uint8_t *seg, size_t n, uint8_t *buf, size_t cap,
    size_t *outlen, int *alt)
{
	int rc = cobs_decode(seg, n, buf, cap, outlen);

	*alt = 0;
	if (rc == ERR_NOSPACE)
		return ERR_FRAME_OVERSIZE;
	if (rc == ERR_FRAME_COBS) {
		/* The stream decoder may overflow before it sees the end. */
		*alt = ERR_FRAME_OVERSIZE;
		return ERR_FRAME_COBS;
	}
	check(rc == 0);
	if (*outlen < FRAME_CRC_LEN)
		return ERR_FRAME_CRC;
	*outlen -= FRAME_CRC_LEN;
	if (frame_crc32(buf, *outlen) != ((uint32_t)buf[*outlen] << 24 |
	    (uint32_t)buf[*outlen + 1] << 16 | (uint32_t)buf[*outlen + 2] << 8 |
	    buf[*outlen + 3]))
		return ERR_FRAME_CRC;
	return 1;
}

/* Feed the stream in chunks whose sizes come from the input itself. */
static size_t
run_stream(struct frame_decoder *d, const uint8_t *s, size_t n,
    const uint8_t *sizes, size_t nsizes, struct event *ev, uint8_t *copy,
    size_t max)
{
	size_t pos = 0, k = 0, c, used, plen, nev = 0, ncopy = 0;
	const uint8_t *p;
	int rc;

	while (pos < n) {
		c = 1 + (nsizes > 0 ? sizes[k++ % nsizes] % 97 : n);
		if (c > n - pos)
			c = n - pos;
		rc = frame_decoder_push(d, s + pos, c, &used, &p, &plen);
		check(used <= c);
		check(rc != 0 || used == c);
		pos += used;
		if (rc == 0)
			continue;
		check(used > 0 && nev < FUZZ_EVENTS_MAX);
		ev[nev].rc = rc;
		if (rc == 1) {
			check(plen <= max);
			memcpy(copy + ncopy, p, plen);
			ev[nev].p = copy + ncopy;
			ev[nev].len = plen;
			ncopy += plen;
			check_reencode(p, plen, max);
		}
		nev++;
	}
	return nev;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = { FRAME_MAX_MIN, 1024, FRAME_MAX_DEFAULT };
	static struct event ev[FUZZ_EVENTS_MAX];
	struct frame_decoder *d;
	const uint8_t *s, *z;
	uint8_t *buf, *copy;
	size_t max, n, nev, e = 0, seg, outlen, pos = 0;
	int want, alt;

	if (size < 1)
		return 0;
	max = maxes[data[0] % 3];
	s = data + 1;
	n = size - 1;
	d = frame_decoder_new(max);
	buf = malloc(max + FRAME_CRC_LEN);
	copy = malloc(n + 1);
	check(d != NULL && buf != NULL && copy != NULL);
	nev = run_stream(d, s, n, data, size, ev, copy, max);

	/* Each segment before a delimiter: one report, or none if empty. */
	while (pos < n && (z = memchr(s + pos, 0, n - pos)) != NULL) {
		seg = (size_t)(z - (s + pos));
		if (seg > 0) {
			want = expect_segment(s + pos, seg, buf,
			    max + FRAME_CRC_LEN, &outlen, &alt);
			check(e < nev);
			check(ev[e].rc == want || (alt != 0 && ev[e].rc == alt));
			if (want == 1)
				check(ev[e].len == outlen && (outlen == 0 ||
				    memcmp(ev[e].p, buf, outlen) == 0));
			e++;
		}
		pos += seg + 1;
	}
	/*
	 * An unfinished frame is reported as oversize when its complete
	 * blocks already overflow, never when all of it would fit.
	 */
	check(nev - e <= 1);
	if (nev > e)
		check(ev[e].rc == ERR_FRAME_OVERSIZE);
	if (pos < n) {
		want = expect_segment(s + pos, n - pos, buf, max + FRAME_CRC_LEN,
		    &outlen, &alt);
		if (want == ERR_FRAME_OVERSIZE)
			check(nev == e + 1);
		else if (want != ERR_FRAME_COBS)
			check(nev == e);
	}
	free(copy);
	free(buf);
	frame_decoder_free(d);
	return 0;
}
