/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A non-allocating check that bytes hold exactly one bounded msgpack object, run before msgpack-c allocates. */

#include <stdarg.h>
#include <stdio.h>

#include "proto/proto.h"

/* What the first bytes of an object declare. */
struct msg_head {
	size_t hdr;             /* type byte and length fields */
	uint64_t body;          /* bytes that follow the header */
	uint64_t items;         /* child objects (map: keys and values) */
	bool container;
	const char *what;
};



static uint64_t
msg_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Body size of the numeric formats (ca..d3); 0 for any other byte. */
static size_t
msg_fixed_body(uint8_t b)
{
	switch (b) {
	case 0xcc: case 0xd0:
		return 1;
	case 0xcd: case 0xd1:
		return 2;
	case 0xca: case 0xce: case 0xd2:
		return 4;
	case 0xcb: case 0xcf: case 0xd3:
		return 8;
	}
	return 0;
}

/* Length-prefixed formats: str, bin, ext, array, map. */
static int
msg_head_sized(uint8_t b, const uint8_t *p, size_t avail, struct msg_head *h)
{
	size_t lenbytes;

	switch (b) {
	case 0xc4: case 0xc5: case 0xc6:
		lenbytes = (size_t)1 << (b - 0xc4);
		h->what = "bin";
		break;
	case 0xc7: case 0xc8: case 0xc9:
		lenbytes = (size_t)1 << (b - 0xc7);
		h->what = "ext";
		break;
	case 0xd9: case 0xda: case 0xdb:
		lenbytes = (size_t)1 << (b - 0xd9);
		h->what = "str";
		break;
	case 0xdc: case 0xdd:
		lenbytes = b == 0xdc ? 2 : 4;
		h->what = "array";
		h->container = true;
		break;
	case 0xde: case 0xdf:
		lenbytes = b == 0xde ? 2 : 4;
		h->what = "map";
		h->container = true;
		break;
	default:
		return -1;
	}
	/* ext carries a type byte after its length. */
	h->hdr = 1 + lenbytes + (h->what[0] == 'e');
	if (avail < h->hdr)
		return -2;
	if (h->container)
		h->items = msg_be(p + 1, lenbytes) * (h->what[0] == 'm' ? 2 : 1);
	else
		h->body = msg_be(p + 1, lenbytes);
	return 0;
}

/*
 * Read the head of the object at p (avail > 0 bytes). Returns 0, -1 for the
 * reserved byte 0xc1, or -2 when the header itself is cut short.
 */
static int
msg_head(const uint8_t *p, size_t avail, struct msg_head *h)
{
	uint8_t b = p[0];

	*h = (struct msg_head){ .hdr = 1, .what = "value" };
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return 0;
	if (b <= 0x9f) {
		h->container = true;
		h->items = b <= 0x8f ? 2u * (b & 0x0f) : (b & 0x0f);
		h->what = b <= 0x8f ? "map" : "array";
		return 0;
	}
	if (b <= 0xbf) {
		h->body = b & 0x1f;
		h->what = "str";
		return 0;
	}
	if (b == 0xc1)
		return -1;
	if (b >= 0xd4 && b <= 0xd8) {
		h->hdr = 2;     /* type byte */
		h->body = (uint64_t)1 << (b - 0xd4);
		h->what = "ext";
		return avail < h->hdr ? -2 : 0;
	}
	if (msg_fixed_body(b) > 0) {
		h->body = msg_fixed_body(b);
		return 0;
	}
	return msg_head_sized(b, p, avail, h);
}

/* Read the object at *pos and step over its header and body. */
static int
msg_check_step(const uint8_t *buf, size_t len, size_t *pos,
    struct msg_head *h, char *why, size_t whylen)
{
	size_t at = *pos;
	int rc;

	if (at == len) {
		err_why(why, whylen, "msgpack data ends early "
		    "(offset %zu)", at);
		return ERR_DECODE;
	}
	if ((rc = msg_head(buf + at, len - at, h)) != 0) {
		err_why(why, whylen, rc == -1 ?
		    "invalid msgpack byte 0xc1 at offset %zu" :
		    "msgpack header cut short at offset %zu", at);
		return ERR_DECODE;
	}
	if (h->body > len - at - h->hdr) {
		err_why(why, whylen, "msgpack %s of %llu bytes at offset "
		    "%zu exceeds the %zu bytes left", h->what,
		    (unsigned long long)h->body, at, len - at - h->hdr);
		return ERR_DECODE;
	}
	*pos = at + h->hdr + (size_t)h->body;
	return 0;
}

/*
 * Walk the objects in order, keeping per level the number of children still
 * due. Every declared child needs at least one byte, so the sum of children
 * due (pending) never exceeds the bytes left: msgpack-c then never reserves
 * more objects than the payload could fill.
 */
int
msg_check(const uint8_t *buf, size_t len, char *why, size_t whylen)
{
	uint64_t due[MSG_DEPTH_MAX + 1], pending = 1;
	size_t depth = 0, pos = 0;
	struct msg_head h;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (buf == NULL || len == 0) {
		err_why(why, whylen, "empty payload");
		return ERR_DECODE;
	}
	due[0] = 1;
	while (depth > 0 || due[0] > 0) {
		if (due[depth] == 0) {
			depth--;
			continue;
		}
		if (msg_check_step(buf, len, &pos, &h, why, whylen) != 0)
			return ERR_DECODE;
		due[depth]--;
		pending--;
		if (!h.container)
			continue;
		if (depth == MSG_DEPTH_MAX) {
			err_why(why, whylen, "msgpack nesting deeper than "
			    "%d at offset %zu", MSG_DEPTH_MAX, pos - h.hdr);
			return ERR_DECODE;
		}
		if (pending + h.items > len - pos) {
			err_why(why, whylen, "msgpack %s of %llu items at "
			    "offset %zu exceeds the %zu bytes left (%llu more "
			    "items due)", h.what, (unsigned long long)h.items,
			    pos - h.hdr, len - pos, (unsigned long long)pending);
			return ERR_DECODE;
		}
		pending += h.items;
		due[++depth] = h.items;
	}
	if (pos != len) {
		err_why(why, whylen, "%zu trailing bytes after the msgpack "
		    "object (offset %zu)", len - pos, pos);
		return ERR_DECODE;
	}
	return 0;
}
