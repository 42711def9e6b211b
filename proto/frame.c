/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Frames: CRC32 and COBS around a payload, and a streaming decoder with a fixed-size buffer. */

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "proto/proto.h"

struct frame_decoder {
	uint8_t *buf;           /* decoded bytes of the current frame */
	size_t cap;             /* max + FRAME_CRC_LEN; never grows */
	size_t len;             /* decoded bytes so far */
	size_t left;            /* data bytes still due in the current block */
	bool zero_pending;      /* the block just ended stands for a zero */
	bool started;           /* a byte of the current frame has been seen */
	bool discard;           /* skipping to the next delimiter after an error */
};

uint32_t
frame_crc32(const uint8_t *buf, size_t len)
{
	if (buf == NULL || len == 0)
		return 0;
	return (uint32_t)crc32_z(0, buf, len);
}

static void
frame_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
frame_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int
frame_encode(const uint8_t *payload, size_t len, uint8_t *dst, size_t cap,
    size_t *outlen)
{
	uint8_t crc[FRAME_CRC_LEN];
	size_t n;
	int rc;

	if (outlen != NULL)
		*outlen = 0;
	if (outlen == NULL || (payload == NULL && len > 0) || dst == NULL)
		return ERR_INVAL;
	if (len > FRAME_MAX_LIMIT)
		return ERR_INVAL;
	if (cap == 0)
		return ERR_NOSPACE;
	frame_put_be32(crc, frame_crc32(payload, len));
	rc = cobs_encode2(payload, len, crc, sizeof(crc), dst, cap - 1, &n);
	if (rc != 0)
		return rc;
	dst[n++] = FRAME_DELIM;
	*outlen = n;
	return 0;
}

struct frame_decoder *
frame_decoder_new(size_t max)
{
	struct frame_decoder *d;

	if (max < FRAME_MAX_MIN || max > FRAME_MAX_LIMIT)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->cap = max + FRAME_CRC_LEN;
	if ((d->buf = malloc(d->cap)) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

void
frame_decoder_free(struct frame_decoder *d)
{
	if (d == NULL)
		return;
	free(d->buf);
	free(d);
}

static void
frame_restart(struct frame_decoder *d)
{
	d->len = 0;
	d->left = 0;
	d->zero_pending = false;
	d->started = false;
}

void
frame_decoder_reset(struct frame_decoder *d)
{
	if (d == NULL)
		return;
	frame_restart(d);
	d->discard = false;
}

/*
 * Decode a run of bytes that holds no delimiter into d->buf, a block at a
 * time. Returns 0, or ERR_FRAME_OVERSIZE with *used set to the bytes taken.
 */
static int
frame_take_run(struct frame_decoder *d, const uint8_t *p, size_t n,
    size_t *used)
{
	size_t i = 0, k;

	if (n > 0)
		d->started = true;
	while (i < n) {
		if (d->left == 0) {
			if (d->zero_pending) {
				if (d->len == d->cap)
					goto oversize;
				d->buf[d->len++] = 0;
			}
			d->left = (size_t)p[i] - 1;
			d->zero_pending = p[i] != 0xff;
			i++;
			continue;
		}
		k = n - i < d->left ? n - i : d->left;
		if (k > d->cap - d->len)
			goto oversize;
		memcpy(d->buf + d->len, p + i, k);
		d->len += k;
		d->left -= k;
		i += k;
	}
	*used = n;
	return 0;
oversize:
	*used = i + 1;
	return ERR_FRAME_OVERSIZE;
}

/* The delimiter ended a frame: check it. Returns 1, 0 (empty) or an error. */
static int
frame_finish(struct frame_decoder *d, const uint8_t **payload, size_t *plen)
{
	size_t n;

	if (!d->started)
		return 0;
	if (d->left > 0)
		return ERR_FRAME_COBS;
	if (d->len < FRAME_CRC_LEN)
		return ERR_FRAME_CRC;
	n = d->len - FRAME_CRC_LEN;
	if (frame_crc32(d->buf, n) != frame_get_be32(d->buf + n))
		return ERR_FRAME_CRC;
	*payload = d->buf;
	*plen = n;
	return 1;
}

int
frame_decoder_push(struct frame_decoder *d, const uint8_t *buf, size_t len,
    size_t *used, const uint8_t **payload, size_t *plen)
{
	const uint8_t *delim;
	size_t pos = 0, run, took;
	int rc;

	if (used != NULL)
		*used = 0;
	if (payload != NULL)
		*payload = NULL;
	if (plen != NULL)
		*plen = 0;
	if (d == NULL || used == NULL || payload == NULL || plen == NULL ||
	    (buf == NULL && len > 0))
		return ERR_INVAL;
	while (pos < len) {
		delim = memchr(buf + pos, FRAME_DELIM, len - pos);
		run = delim != NULL ? (size_t)(delim - (buf + pos)) : len - pos;
		if (d->discard) {
			pos += run;
		} else if ((rc = frame_take_run(d, buf + pos, run, &took)) != 0) {
			/* Report at once; drop the rest of this frame. */
			frame_restart(d);
			d->discard = true;
			*used = pos + took;
			return rc;
		} else {
			pos += run;
		}
		if (delim == NULL)
			break;
		pos++;  /* the delimiter */
		d->discard = false;
		rc = frame_finish(d, payload, plen);
		frame_restart(d);
		if (rc != 0) {
			*used = pos;
			return rc;
		}
	}
	*used = pos;
	return 0;
}
