/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Benchmark of frame encoding and streaming decoding: throughput in MB/s and wire overhead. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/proto.h"

#define BENCH_BYTES (512u * 1000 * 1000)        /* payload bytes per measurement */
#define BENCH_STREAM_MAX (64u * 1024 * 1024)    /* wire bytes held in memory */
#define BENCH_READ_SIZE 65536                   /* bytes per decoder push, like a read() */

static uint32_t rng_state = 0x6a09e667;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct result {
	double enc_mbs;
	double dec_mbs;
	double overhead;
};

/* Encode the payload over and over into one buffer that wraps around. */
static int
bench_encode(const uint8_t *payload, size_t len, uint8_t *stream,
    size_t *slen, size_t *nframes, double *mbs)
{
	size_t cap = FRAME_ENCODED_MAX(len), pos = 0, n, done = 0;
	double t0;

	*nframes = 0;
	t0 = now();
	while (done < BENCH_BYTES) {
		if (BENCH_STREAM_MAX - pos < cap)
			pos = 0;
		if (frame_encode(payload, len, stream + pos, cap, &n) != 0)
			return -1;
		pos += n;
		done += len;
		if (*slen < pos) {
			*slen = pos;
			(*nframes)++;
		}
	}
	*mbs = (double)done / 1e6 / (now() - t0);
	return 0;
}

/* Decode the stream repeatedly in read-sized pieces. */
static int
bench_decode(const uint8_t *stream, size_t slen, size_t len, double *mbs)
{
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_DEFAULT);
	size_t pos, c, used, plen, done = 0;
	const uint8_t *p;
	double t0;
	int rc;

	if (d == NULL)
		return -1;
	t0 = now();
	while (done < BENCH_BYTES) {
		for (pos = 0; pos < slen; pos += used) {
			c = slen - pos < BENCH_READ_SIZE ? slen - pos :
			    BENCH_READ_SIZE;
			rc = frame_decoder_push(d, stream + pos, c, &used, &p,
			    &plen);
			if (rc < 0 || (rc == 1 && plen != len)) {
				frame_decoder_free(d);
				return -1;
			}
			done += rc == 1 ? plen : 0;
		}
	}
	*mbs = (double)done / 1e6 / (now() - t0);
	frame_decoder_free(d);
	return 0;
}

static int
bench_size(size_t len, struct result *r)
{
	uint8_t *payload = malloc(len), *stream = malloc(BENCH_STREAM_MAX);
	size_t i, slen = 0, nframes = 0, n;
	int rc = -1;

	if (payload == NULL || stream == NULL)
		goto out;
	for (i = 0; i < len; i++)
		payload[i] = (uint8_t)rng();
	if (bench_encode(payload, len, stream, &slen, &nframes,
	    &r->enc_mbs) != 0)
		goto out;
	/* Every frame in the stream has the same length. */
	n = slen / nframes;
	r->overhead = (double)n / (double)len;
	if (bench_decode(stream, slen, len, &r->dec_mbs) != 0)
		goto out;
	rc = 0;
out:
	free(payload);
	free(stream);
	return rc;
}

int
main(void)
{
	static const size_t sizes[] = { 1024, 65536 };
	struct result r;
	size_t i;

	printf("frame encode/decode, random payloads, %u MB each, "
	    "decoder fed %u-byte pieces\n\n", BENCH_BYTES / 1000000,
	    BENCH_READ_SIZE);
	printf("%10s  %12s  %12s  %10s\n", "payload", "encode MB/s",
	    "decode MB/s", "overhead");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (bench_size(sizes[i], &r) != 0) {
			fprintf(stderr, "bench_frame: %zu-byte payloads failed\n",
			    sizes[i]);
			return 1;
		}
		printf("%10zu  %12.0f  %12.0f  %10.4f\n", sizes[i], r.enc_mbs,
		    r.dec_mbs, r.overhead);
	}
	printf("\ngoal: decode >= 500 MB/s and overhead <= 1.01 at 65536 bytes\n");
	return 0;
}
