/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of frame encoding and the streaming frame decoder: chunking, corruption, resynchronisation, size limit. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

#define EV_MAX 256

/* What the decoder reported: a payload (copied) or an error. */
struct ev {
	int rc;
	uint8_t *data;
	size_t len;
};

struct evlist {
	struct ev ev[EV_MAX];
	size_t n;
};

static uint32_t rng_state = 0x9e3779b9;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static struct evlist *
evlist_new(void)
{
	struct evlist *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	return l;
}

static void
evlist_clear(struct evlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->ev[i].data);
	memset(l, 0, sizeof(*l));
}

static void
evlist_free(struct evlist *l)
{
	evlist_clear(l);
	free(l);
}

/* Chunk sizes: 0 means "all at once", else random 1..chunk. */
static void
feed(struct frame_decoder *d, const uint8_t *buf, size_t len, size_t chunk,
    struct evlist *out)
{
	const uint8_t *p;
	size_t pos = 0, c, off, used, plen;
	int rc;

	while (pos < len) {
		c = chunk == 0 ? len - pos : 1 + rng() % chunk;
		if (c > len - pos)
			c = len - pos;
		for (off = 0; off < c; off += used) {
			rc = frame_decoder_push(d, buf + pos + off, c - off,
			    &used, &p, &plen);
			assert_true(used <= c - off);
			if (rc == 0) {
				assert_int_equal(used, c - off);
				continue;
			}
			/* Every report consumes at least one byte. */
			assert_true(used > 0);
			assert_true(out->n < EV_MAX);
			out->ev[out->n].rc = rc;
			if (rc == 1) {
				out->ev[out->n].data = malloc(plen + 1);
				assert_non_null(out->ev[out->n].data);
				if (plen > 0)
					memcpy(out->ev[out->n].data, p, plen);
				out->ev[out->n].len = plen;
			} else {
				assert_true(rc == ERR_FRAME_COBS ||
				    rc == ERR_FRAME_CRC ||
				    rc == ERR_FRAME_OVERSIZE);
			}
			out->n++;
		}
		pos += c;
	}
}

/* Append the frame of payload to a growing stream. */
static void
append_frame(uint8_t **stream, size_t *len, const uint8_t *payload,
    size_t plen)
{
	size_t cap = FRAME_ENCODED_MAX(plen), n;

	*stream = realloc(*stream, *len + cap);
	assert_non_null(*stream);
	assert_int_equal(frame_encode(payload, plen, *stream + *len, cap, &n), 0);
	*len += n;
}

static void
append_bytes(uint8_t **stream, size_t *len, const void *b, size_t n)
{
	*stream = realloc(*stream, *len + n);
	assert_non_null(*stream);
	memcpy(*stream + *len, b, n);
	*len += n;
}

static void
assert_payload(const struct ev *e, const uint8_t *want, size_t wlen)
{
	assert_int_equal(e->rc, 1);
	assert_int_equal(e->len, wlen);
	if (wlen > 0)
		assert_memory_equal(e->data, want, wlen);
}

static void
fill_random(uint8_t *p, size_t n, unsigned zero_one_in)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = zero_one_in > 0 && rng() % zero_one_in == 0 ? 0 :
		    (uint8_t)(rng() % 255 + 1);
}

static const uint8_t hello_payload[] = {
	0x84, 0xa1, 0x76, 0x01, 0xa2, 0x69, 0x64, 0x01, 0xa3, 0x63, 0x6d, 0x64,
	0xa5, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0xa4, 0x61, 0x72, 0x67, 0x73, 0x82,
	0xa6, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0xad, 0x73, 0x69, 0x67, 0x6e,
	0x65, 0x72, 0x2d, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0xa8, 0x76, 0x65,
	0x72, 0x73, 0x69, 0x6f, 0x6e, 0x73, 0x91, 0x01,
};

static const uint8_t hello_frame[] = {
	0x3d, 0x84, 0xa1, 0x76, 0x01, 0xa2, 0x69, 0x64, 0x01, 0xa3, 0x63, 0x6d,
	0x64, 0xa5, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0xa4, 0x61, 0x72, 0x67, 0x73,
	0x82, 0xa6, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0xad, 0x73, 0x69, 0x67,
	0x6e, 0x65, 0x72, 0x2d, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0xa8, 0x76,
	0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x73, 0x91, 0x01, 0x64, 0x0d, 0x9a,
	0xe8, 0x00,
};

static const uint8_t result_payload[] = {
	0x84, 0xa1, 0x76, 0x01, 0xa2, 0x69, 0x64, 0x01, 0xa2, 0x6f, 0x6b, 0xc3,
	0xa6, 0x72, 0x65, 0x73, 0x75, 0x6c, 0x74, 0x83, 0xa6, 0x73, 0x65, 0x72,
	0x76, 0x65, 0x72, 0xa7, 0x73, 0x69, 0x67, 0x6e, 0x65, 0x72, 0x64, 0xa4,
	0x6e, 0x6f, 0x64, 0x65, 0x01, 0xa9, 0x6d, 0x61, 0x78, 0x5f, 0x66, 0x72,
	0x61, 0x6d, 0x65, 0xce, 0x00, 0x01, 0x00, 0x00,
};

static const uint8_t result_frame[] = {
	0x35, 0x84, 0xa1, 0x76, 0x01, 0xa2, 0x69, 0x64, 0x01, 0xa2, 0x6f, 0x6b,
	0xc3, 0xa6, 0x72, 0x65, 0x73, 0x75, 0x6c, 0x74, 0x83, 0xa6, 0x73, 0x65,
	0x72, 0x76, 0x65, 0x72, 0xa7, 0x73, 0x69, 0x67, 0x6e, 0x65, 0x72, 0x64,
	0xa4, 0x6e, 0x6f, 0x64, 0x65, 0x01, 0xa9, 0x6d, 0x61, 0x78, 0x5f, 0x66,
	0x72, 0x61, 0x6d, 0x65, 0xce, 0x02, 0x01, 0x01, 0x05, 0xa4, 0xb6, 0x9f,
	0x87, 0x00,
};

static void
check_doc_frame(const uint8_t *payload, size_t plen, const uint8_t *frame,
    size_t flen)
{
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_DEFAULT);
	struct evlist *l = evlist_new();
	uint8_t out[FRAME_ENCODED_MAX(64)];
	size_t n;

	assert_int_equal(frame_encode(payload, plen, out, sizeof(out), &n), 0);
	assert_int_equal(n, flen);
	assert_memory_equal(out, frame, flen);
	feed(d, frame, flen, 0, l);
	assert_int_equal(l->n, 1);
	assert_payload(&l->ev[0], payload, plen);
	evlist_free(l);
	frame_decoder_free(d);
}

/* The worked examples of the protocol document, byte for byte. */
static void
test_doc_examples(void **state)
{
	(void)state;
	check_doc_frame(hello_payload, sizeof(hello_payload), hello_frame,
	    sizeof(hello_frame));
	check_doc_frame(result_payload, sizeof(result_payload), result_frame,
	    sizeof(result_frame));
}

static void
roundtrip_one(struct frame_decoder *d, const uint8_t *payload, size_t plen)
{
	size_t cap = FRAME_ENCODED_MAX(plen), n, used, got;
	uint8_t *frame = malloc(cap);
	const uint8_t *p;

	assert_non_null(frame);
	assert_int_equal(frame_encode(payload, plen, frame, cap, &n), 0);
	assert_true(n <= cap);
	assert_null(memchr(frame, 0, n - 1));
	assert_int_equal(frame[n - 1], 0);
	assert_int_equal(frame_decoder_push(d, frame, n, &used, &p, &got), 1);
	assert_int_equal(used, n);
	assert_int_equal(got, plen);
	if (plen > 0)
		assert_memory_equal(p, payload, plen);
	free(frame);
}

static void
test_roundtrip_sizes(void **state)
{
	static const size_t sizes[] = {
		0, 1, 2, 3, 4, 5, 249, 250, 251, 252, 253, 254, 255, 256, 257,
		258, 259, 260, 506, 507, 508, 509, 1000, 4096, 65535, 65536,
	};
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_DEFAULT);
	uint8_t *buf = malloc(FRAME_MAX_DEFAULT);
	size_t i;

	(void)state;
	assert_non_null(d);
	assert_non_null(buf);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fill_random(buf, sizes[i], 0);
		roundtrip_one(d, buf, sizes[i]);
		fill_random(buf, sizes[i], 3);
		roundtrip_one(d, buf, sizes[i]);
		memset(buf, 0, sizes[i]);
		roundtrip_one(d, buf, sizes[i]);
	}
	free(buf);
	frame_decoder_free(d);
}

/* Many frames in one stream, fed in every chunking down to single bytes. */
static void
test_random_chunking(void **state)
{
	static const size_t chunks[] = { 0, 1, 2, 7, 64, 300, 5000 };
	uint8_t *stream = NULL, *payloads[60];
	size_t slen = 0, plens[60], i, k;
	struct frame_decoder *d;
	struct evlist *l;

	(void)state;
	append_bytes(&stream, &slen, "\0", 1);
	for (i = 0; i < 60; i++) {
		plens[i] = i % 10 == 0 ? i : rng() % 3000;
		payloads[i] = malloc(plens[i] + 1);
		assert_non_null(payloads[i]);
		fill_random(payloads[i], plens[i], i % 3 == 0 ? 0 : 1 + i % 50);
		append_frame(&stream, &slen, payloads[i], plens[i]);
	}
	for (k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		d = frame_decoder_new(FRAME_MAX_MIN * 16);
		l = evlist_new();
		feed(d, stream, slen, chunks[k], l);
		assert_int_equal(l->n, 60);
		for (i = 0; i < 60; i++)
			assert_payload(&l->ev[i], payloads[i], plens[i]);
		evlist_free(l);
		frame_decoder_free(d);
	}
	for (i = 0; i < 60; i++)
		free(payloads[i]);
	free(stream);
}

/*
 * Change each byte of a small frame to every other value; the bad frame
 * must be reported as an error, never yield a payload, and the good frame
 * that follows (after a flush byte) must come through. One exception with
 * allow_empty: a byte turned into 0x00 splits the frame, and in a frame of
 * zeros the part cut off can be 01 01 01 01 01, the valid frame of the
 * empty payload (whose CRC is 0); no message is empty, so msg rejects it.
 */
static void
corrupt_each(const uint8_t *payload, size_t plen, size_t chunk,
    bool allow_empty)
{
	uint8_t frame[FRAME_ENCODED_MAX(128)], stream[2 * sizeof(frame) + 1];
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_MIN);
	size_t n, pos, e;
	unsigned x;
	struct evlist *l = evlist_new();

	assert_int_equal(frame_encode(payload, plen, frame, sizeof(frame), &n), 0);
	memcpy(stream, frame, n);
	stream[n] = 0;
	memcpy(stream + n + 1, frame, n);
	for (pos = 0; pos < n; pos++) {
		for (x = 1; x < 256; x++) {
			stream[pos] = frame[pos] ^ (uint8_t)x;
			evlist_clear(l);
			frame_decoder_reset(d);
			feed(d, stream, 2 * n + 1, chunk, l);
			assert_true(l->n >= 2);
			for (e = 0; e + 1 < l->n; e++) {
				if (allow_empty && l->ev[e].rc == 1 &&
				    l->ev[e].len == 0 && stream[pos] == 0)
					continue;
				assert_true(l->ev[e].rc < 0);
			}
			assert_payload(&l->ev[l->n - 1], payload, plen);
		}
		stream[pos] = frame[pos];
	}
	evlist_free(l);
	frame_decoder_free(d);
}

static void
test_corrupt_each_byte(void **state)
{
	uint8_t zeros[40];

	(void)state;
	corrupt_each(hello_payload, sizeof(hello_payload), 0, false);
	corrupt_each(result_payload, sizeof(result_payload), 0, false);
	corrupt_each(result_payload, sizeof(result_payload), 3, false);
	memset(zeros, 0, sizeof(zeros));
	corrupt_each(zeros, sizeof(zeros), 0, true);
	corrupt_each(zeros, 0, 1, false);
}

/* Line noise before and between frames costs errors, never payloads. */
static void
test_garbage(void **state)
{
	uint8_t *stream = NULL, junk[3000], a[500], b[700];
	size_t slen = 0, i, e, npay;
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_MIN);
	struct evlist *l = evlist_new();

	(void)state;
	fill_random(a, sizeof(a), 5);
	fill_random(b, sizeof(b), 0);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rng();
	append_bytes(&stream, &slen, junk, sizeof(junk));
	append_bytes(&stream, &slen, "\0", 1);
	append_frame(&stream, &slen, a, sizeof(a));
	append_bytes(&stream, &slen, junk, 200);
	append_bytes(&stream, &slen, "\0", 1);
	append_frame(&stream, &slen, b, sizeof(b));
	/* A max of 256 rejects a and b; use one large enough. */
	frame_decoder_free(d);
	d = frame_decoder_new(1024);
	feed(d, stream, slen, 13, l);
	npay = 0;
	for (e = 0; e < l->n; e++) {
		if (l->ev[e].rc != 1)
			continue;
		assert_payload(&l->ev[e], npay == 0 ? a : b,
		    npay == 0 ? sizeof(a) : sizeof(b));
		npay++;
	}
	assert_int_equal(npay, 2);
	assert_true(l->n > 2);
	assert_int_equal(l->ev[l->n - 1].rc, 1);
	evlist_free(l);
	frame_decoder_free(d);
	free(stream);
}

/* Leading (and repeated) 0x00 bytes are empty frames: silently skipped. */
static void
test_flush_zeros(void **state)
{
	uint8_t zeros[1000], *stream = NULL;
	size_t slen = 0, used, plen;
	const uint8_t *p;
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_DEFAULT);
	struct evlist *l = evlist_new();

	(void)state;
	memset(zeros, 0, sizeof(zeros));
	assert_int_equal(frame_decoder_push(d, zeros, sizeof(zeros), &used, &p,
	    &plen), 0);
	assert_int_equal(used, sizeof(zeros));
	assert_int_equal(frame_decoder_push(d, zeros, 0, &used, &p, &plen), 0);
	assert_int_equal(used, 0);
	append_bytes(&stream, &slen, zeros, 3);
	append_frame(&stream, &slen, hello_payload, sizeof(hello_payload));
	append_bytes(&stream, &slen, zeros, 2);
	append_frame(&stream, &slen, hello_payload, sizeof(hello_payload));
	feed(d, stream, slen, 1, l);
	assert_int_equal(l->n, 2);
	assert_payload(&l->ev[0], hello_payload, sizeof(hello_payload));
	assert_payload(&l->ev[1], hello_payload, sizeof(hello_payload));
	evlist_free(l);
	frame_decoder_free(d);
	free(stream);
}

static void
oversize_case(const uint8_t *big, size_t blen, size_t chunk)
{
	uint8_t *stream = NULL, good[FRAME_MAX_MIN];
	size_t slen = 0;
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_MIN);
	struct evlist *l = evlist_new();

	fill_random(good, sizeof(good), 4);
	append_frame(&stream, &slen, big, blen);
	append_frame(&stream, &slen, good, sizeof(good));
	feed(d, stream, slen, chunk, l);
	assert_int_equal(l->n, 2);
	assert_int_equal(l->ev[0].rc, ERR_FRAME_OVERSIZE);
	assert_payload(&l->ev[1], good, sizeof(good));
	evlist_free(l);
	frame_decoder_free(d);
	free(stream);
}

static void
test_oversize(void **state)
{
	uint8_t big[4000], *junk, frame[FRAME_ENCODED_MAX(FRAME_MAX_MIN + 1)];
	size_t n, used, plen, i;
	const uint8_t *p;
	struct frame_decoder *d;

	(void)state;
	fill_random(big, sizeof(big), 0);
	oversize_case(big, FRAME_MAX_MIN + 1, 0);
	oversize_case(big, FRAME_MAX_MIN + 1, 1);
	oversize_case(big, sizeof(big), 0);
	oversize_case(big, sizeof(big), 1);
	oversize_case(big, sizeof(big), 97);
	memset(big, 0, sizeof(big));
	oversize_case(big, FRAME_MAX_MIN + 1, 0);
	oversize_case(big, FRAME_MAX_MIN + 1, 1);
	oversize_case(big, sizeof(big), 5);

	/* Reported as soon as seen, before the frame's end. */
	d = frame_decoder_new(FRAME_MAX_MIN);
	fill_random(big, FRAME_MAX_MIN + 1, 0);
	assert_int_equal(frame_encode(big, FRAME_MAX_MIN + 1, frame,
	    sizeof(frame), &n), 0);
	assert_int_equal(frame_decoder_push(d, frame, n, &used, &p, &plen),
	    ERR_FRAME_OVERSIZE);
	assert_true(used < n);
	assert_int_equal(frame_decoder_push(d, frame + used, n - used, &used,
	    &p, &plen), 0);

	/* A megabyte without a delimiter: one report, then nothing. */
	junk = malloc(1 << 20);
	assert_non_null(junk);
	for (i = 0; i < 1 << 20; i++)
		junk[i] = (uint8_t)(rng() % 255 + 1);
	assert_int_equal(frame_decoder_push(d, junk, 1 << 20, &used, &p,
	    &plen), ERR_FRAME_OVERSIZE);
	assert_int_equal(frame_decoder_push(d, junk + used, (1 << 20) - used,
	    &used, &p, &plen), 0);
	assert_int_equal(frame_decoder_push(d, junk, 1 << 20, &used, &p,
	    &plen), 0);
	free(junk);
	frame_decoder_free(d);

	/* Exactly the maximum passes, all zeros included. */
	d = frame_decoder_new(FRAME_MAX_MIN);
	roundtrip_one(d, big, FRAME_MAX_MIN);
	memset(big, 0, FRAME_MAX_MIN);
	roundtrip_one(d, big, FRAME_MAX_MIN);
	frame_decoder_free(d);
}

/* A frame cut short, then a flush and a good frame. */
static void
test_truncated(void **state)
{
	uint8_t frame[FRAME_ENCODED_MAX(64)], stream[2 * sizeof(frame) + 1];
	size_t n, cut, slen;
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_DEFAULT);
	struct evlist *l;

	(void)state;
	assert_int_equal(frame_encode(result_payload, sizeof(result_payload),
	    frame, sizeof(frame), &n), 0);
	for (cut = 1; cut < n - 1; cut++) {
		memcpy(stream, frame, cut);
		stream[cut] = 0;
		memcpy(stream + cut + 1, frame, n);
		slen = cut + 1 + n;
		l = evlist_new();
		feed(d, stream, slen, cut % 4, l);
		assert_int_equal(l->n, 2);
		assert_true(l->ev[0].rc == ERR_FRAME_CRC ||
		    l->ev[0].rc == ERR_FRAME_COBS);
		assert_payload(&l->ev[1], result_payload,
		    sizeof(result_payload));
		evlist_free(l);
	}
	frame_decoder_free(d);
}

static int
push_hex(struct frame_decoder *d, const uint8_t *b, size_t n)
{
	size_t used, plen;
	const uint8_t *p;
	int rc;

	rc = frame_decoder_push(d, b, n, &used, &p, &plen);
	assert_int_equal(used, n);
	if (rc == 1)
		assert_int_equal(plen, 0);
	return rc;
}

static void
test_short_frames(void **state)
{
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_DEFAULT);
	uint8_t out[16];
	size_t n;

	(void)state;
	assert_int_equal(push_hex(d, (const uint8_t *)"\x01\x00", 2),
	    ERR_FRAME_CRC);
	assert_int_equal(push_hex(d, (const uint8_t *)"\x02\x11\x00", 3),
	    ERR_FRAME_CRC);
	assert_int_equal(push_hex(d, (const uint8_t *)"\x04\x11\x22\x33\x00",
	    5), ERR_FRAME_CRC);
	assert_int_equal(push_hex(d, (const uint8_t *)"\x05\x11\x22\x00", 4),
	    ERR_FRAME_COBS);
	assert_int_equal(push_hex(d, (const uint8_t *)"\x05\x11\x22\x33\x44\x00",
	    6), ERR_FRAME_CRC);
	/* The empty payload: its CRC is 00000000. */
	assert_int_equal(frame_encode(NULL, 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "\x01\x01\x01\x01\x01\x00", 6);
	assert_int_equal(push_hex(d, out, n), 1);
	frame_decoder_free(d);
}

static void
test_api_edges(void **state)
{
	struct frame_decoder *d;
	uint8_t out[64];
	size_t n, used, plen;
	const uint8_t *p;

	(void)state;
	assert_null(frame_decoder_new(0));
	assert_null(frame_decoder_new(FRAME_MAX_MIN - 1));
	assert_null(frame_decoder_new(FRAME_MAX_LIMIT + 1));
	d = frame_decoder_new(FRAME_MAX_LIMIT);
	assert_non_null(d);
	frame_decoder_free(d);
	frame_decoder_free(NULL);
	frame_decoder_reset(NULL);

	d = frame_decoder_new(FRAME_MAX_MIN);
	assert_non_null(d);
	assert_int_equal(frame_decoder_push(d, NULL, 1, &used, &p, &plen),
	    ERR_INVAL);
	assert_int_equal(frame_decoder_push(d, out, 1, NULL, &p, &plen),
	    ERR_INVAL);
	/* reset drops a partial frame */
	assert_int_equal(frame_decoder_push(d, hello_frame, 20, &used, &p,
	    &plen), 0);
	frame_decoder_reset(d);
	assert_int_equal(frame_decoder_push(d, hello_frame,
	    sizeof(hello_frame), &used, &p, &plen), 1);
	assert_int_equal(plen, sizeof(hello_payload));
	frame_decoder_free(d);

	assert_int_equal(frame_encode(hello_payload, sizeof(hello_payload),
	    out, 61, &n), ERR_NOSPACE);
	assert_int_equal(frame_encode(hello_payload, sizeof(hello_payload),
	    out, 62, &n), 0);
	assert_int_equal(frame_encode(NULL, 5, out, sizeof(out), &n), ERR_INVAL);
	assert_int_equal(frame_encode(hello_payload, FRAME_MAX_LIMIT + 1, out,
	    sizeof(out), &n), ERR_INVAL);
	assert_int_equal(frame_encode(hello_payload, 4, out, sizeof(out),
	    NULL), ERR_INVAL);
}

/* Several frames in one buffer come out one per call. */
static void
test_many_in_one_push(void **state)
{
	uint8_t *stream = NULL;
	size_t slen = 0, used, plen, pos = 0, count = 0;
	const uint8_t *p;
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_DEFAULT);
	int rc;

	(void)state;
	append_frame(&stream, &slen, hello_payload, sizeof(hello_payload));
	append_frame(&stream, &slen, result_payload, sizeof(result_payload));
	append_frame(&stream, &slen, hello_payload, sizeof(hello_payload));
	while (pos < slen) {
		rc = frame_decoder_push(d, stream + pos, slen - pos, &used, &p,
		    &plen);
		pos += used;
		if (rc == 0)
			break;
		assert_int_equal(rc, 1);
		assert_int_equal(plen, count == 1 ? sizeof(result_payload) :
		    sizeof(hello_payload));
		count++;
	}
	assert_int_equal(count, 3);
	assert_int_equal(pos, slen);
	frame_decoder_free(d);
	free(stream);
}

static void
test_msg_frame(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint8_t *out;
	size_t n;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_request(&pk, 1, "hello", 2);
	msg_pack_cstr(&pk, "client");
	msg_pack_cstr(&pk, "signer-client");
	msg_pack_cstr(&pk, "versions");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint32(&pk, 1);
	assert_int_equal(msg_frame(&sb, &out, &n), 0);
	assert_int_equal(n, sizeof(hello_frame));
	assert_memory_equal(out, hello_frame, n);
	free(out);
	assert_int_equal(msg_frame(NULL, &out, &n), ERR_INVAL);
	assert_null(out);
	assert_int_equal(n, 0);
	msgpack_sbuffer_destroy(&sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_examples),
		cmocka_unit_test(test_roundtrip_sizes),
		cmocka_unit_test(test_random_chunking),
		cmocka_unit_test(test_corrupt_each_byte),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_flush_zeros),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_short_frames),
		cmocka_unit_test(test_api_edges),
		cmocka_unit_test(test_many_in_one_push),
		cmocka_unit_test(test_msg_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
