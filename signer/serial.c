/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Certificate serial numbers: generation with a node prefix, comparison and hexadecimal form. */

#include <string.h>

#include <openssl/rand.h>

#include "proto/proto.h"
#include "signer/signer.h"

#define SERIAL_NODE_MAX 127     /* the prefix byte keeps the serial positive */

static const char serial_digits[] = "0123456789abcdef";

void
serial_to_hex(const struct serial *s, char *hex)
{
	size_t i, n = 0, len;
	bool lead = true;
	uint8_t nib;

	len = s->len <= SERIAL_MAX ? s->len : SERIAL_MAX;
	for (i = 0; i < 2 * len; i++) {
		nib = i % 2 == 0 ? s->b[i / 2] >> 4 : s->b[i / 2] & 0x0f;
		if (lead && nib == 0)
			continue;
		lead = false;
		hex[n++] = serial_digits[nib];
	}
	if (n == 0)
		hex[n++] = '0';
	hex[n] = '\0';
}

static int
serial_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
serial_from_hex(const char *hex, size_t len, struct serial *s)
{
	uint8_t tmp[SERIAL_MAX];
	size_t i, skip, digits, pos;
	int v;

	memset(s, 0, sizeof(*s));
	if (hex == NULL || len == 0 || len > 2 * SERIAL_MAX)
		return ERR_BAD_REQUEST;
	for (i = 0; i < len; i++)
		if (serial_nibble(hex[i]) < 0)
			return ERR_BAD_REQUEST;
	for (skip = 0; skip < len && hex[skip] == '0'; skip++)
		;
	digits = len - skip;
	if (digits == 0)
		return ERR_BAD_REQUEST;     /* zero is not a valid serial */
	memset(tmp, 0, sizeof(tmp));
	/* Fill from the right so that an odd digit count gets a high nibble of 0. */
	for (i = 0; i < digits; i++) {
		v = serial_nibble(hex[len - 1 - i]);
		pos = SERIAL_MAX - 1 - i / 2;
		tmp[pos] |= (uint8_t)(i % 2 == 0 ? v : v << 4);
	}
	s->len = (digits + 1) / 2;
	memcpy(s->b, tmp + SERIAL_MAX - s->len, s->len);
	return 0;
}

int
serial_generate(uint8_t node, struct serial *s)
{
	memset(s, 0, sizeof(*s));
	if (node < 1 || node > SERIAL_NODE_MAX)
		return ERR_INVAL;
	s->b[0] = node;
	if (RAND_bytes(s->b + 1, SERIAL_RANDOM_LEN) != 1)
		return ERR_INTERNAL;
	s->len = SERIAL_LEN;
	return 0;
}

/* Numeric comparison; leading zero bytes (never stored) are ignored. */
int
serial_cmp(const struct serial *a, const struct serial *b)
{
	size_t alen = a->len <= SERIAL_MAX ? a->len : SERIAL_MAX;
	size_t blen = b->len <= SERIAL_MAX ? b->len : SERIAL_MAX;
	const uint8_t *ap = a->b, *bp = b->b;
	int c;

	while (alen > 0 && *ap == 0) {
		ap++;
		alen--;
	}
	while (blen > 0 && *bp == 0) {
		bp++;
		blen--;
	}
	if (alen != blen)
		return alen < blen ? -1 : 1;
	if (alen == 0)
		return 0;
	c = memcmp(ap, bp, alen);
	return (c > 0) - (c < 0);
}
