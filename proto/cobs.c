/* SPDX-License-Identifier: GPL-3.0-or-later */
/* COBS (Consistent Overhead Byte Stuffing) encoding and one-shot decoding. */

#include <string.h>

#include "proto/proto.h"

#define COBS_RUN_MAX 254        /* data bytes in one block */

/*
 * Encoder state, so that input may come in pieces (a payload and its CRC).
 * A block is "open" when its code byte has been reserved at dst[code_at];
 * after a full 254-byte block none is open until more input arrives, which
 * is how a final full block gets no extra code byte.
 */
struct cobs_enc {
	uint8_t *dst;
	size_t cap;
	size_t out;
	size_t code_at;
	size_t run;             /* data bytes in the open block */
	bool open;
};

static int
cobs_open(struct cobs_enc *e)
{
	if (e->out == e->cap)
		return ERR_NOSPACE;
	e->code_at = e->out++;
	e->run = 0;
	e->open = true;
	return 0;
}

static void
cobs_close(struct cobs_enc *e)
{
	e->dst[e->code_at] = (uint8_t)(e->run + 1);
	e->open = false;
}

static int
cobs_feed(struct cobs_enc *e, const uint8_t *src, size_t len)
{
	const uint8_t *zero;
	size_t pos = 0, want, n;
	int rc;

	while (pos < len) {
		if (!e->open && (rc = cobs_open(e)) != 0)
			return rc;
		want = COBS_RUN_MAX - e->run;
		if (want > len - pos)
			want = len - pos;
		zero = memchr(src + pos, 0, want);
		n = zero != NULL ? (size_t)(zero - (src + pos)) : want;
		if (n > e->cap - e->out)
			return ERR_NOSPACE;
		memcpy(e->dst + e->out, src + pos, n);
		e->out += n;
		e->run += n;
		pos += n;
		if (zero != NULL) {
			/* The zero ends the block; the code byte stands for it. */
			cobs_close(e);
			pos++;
			if ((rc = cobs_open(e)) != 0)
				return rc;
		} else if (e->run == COBS_RUN_MAX) {
			cobs_close(e);
		}
	}
	return 0;
}

static void
cobs_start(struct cobs_enc *e, uint8_t *dst, size_t cap)
{
	memset(e, 0, sizeof(*e));
	e->dst = dst;
	e->cap = cap;
}

static int
cobs_finish(struct cobs_enc *e, size_t *outlen)
{
	if (e->open)
		cobs_close(e);
	*outlen = e->out;
	return 0;
}

int
cobs_encode2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
    uint8_t *dst, size_t cap, size_t *outlen)
{
	struct cobs_enc e;
	int rc;

	if (outlen != NULL)
		*outlen = 0;
	if (outlen == NULL || (dst == NULL && cap > 0) ||
	    (a == NULL && alen > 0) || (b == NULL && blen > 0))
		return ERR_INVAL;
	cobs_start(&e, dst, cap);
	/* The first block is open from the start: empty input encodes as 01. */
	if ((rc = cobs_open(&e)) != 0)
		return rc;
	if ((rc = cobs_feed(&e, a, alen)) != 0 ||
	    (rc = cobs_feed(&e, b, blen)) != 0)
		return rc;
	return cobs_finish(&e, outlen);
}

int
cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap,
    size_t *outlen)
{
	return cobs_encode2(src, len, NULL, 0, dst, cap, outlen);
}

int
cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap,
    size_t *outlen)
{
	size_t pos = 0, out = 0, n;
	uint8_t code;

	if (outlen != NULL)
		*outlen = 0;
	if (outlen == NULL || (src == NULL && len > 0) ||
	    (dst == NULL && cap > 0))
		return ERR_INVAL;
	while (pos < len) {
		code = src[pos++];
		if (code == 0)
			return ERR_FRAME_COBS;
		n = (size_t)code - 1;
		if (n > len - pos || memchr(src + pos, 0, n) != NULL)
			return ERR_FRAME_COBS;
		if (n > cap - out)
			return ERR_NOSPACE;
		if (n > 0)
			memcpy(dst + out, src + pos, n);
		out += n;
		pos += n;
		/* A short block stands for a zero, unless it is the last. */
		if (code != 0xff && pos < len) {
			if (out == cap)
				return ERR_NOSPACE;
			dst[out++] = 0;
		}
	}
	*outlen = out;
	return 0;
}
