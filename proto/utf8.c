/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Strict UTF-8 validation: no overlong forms, no surrogates, nothing past U+10FFFF, no NUL. */

#include "proto/proto.h"

/*
 * Bytes that follow lead byte c: the count, and the allowed range of the
 * first one (the range excludes overlongs, surrogates and > U+10FFFF).
 * Returns false for a byte that cannot start a sequence.
 */
static bool
utf8_lead(uint8_t c, size_t *more, uint8_t *lo, uint8_t *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		*more = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		*more = 2;
		if (c == 0xe0)
			*lo = 0xa0;
		else if (c == 0xed)
			*hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		*more = 3;
		if (c == 0xf0)
			*lo = 0x90;
		else if (c == 0xf4)
			*hi = 0x8f;
	} else {
		return false;
	}
	return true;
}

bool
msg_utf8_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, more, k;
	uint8_t lo, hi;

	if (s == NULL)
		return len == 0;
	while (i < len) {
		if (p[i] < 0x80) {
			if (p[i] == 0)
				return false;
			i++;
			continue;
		}
		if (!utf8_lead(p[i], &more, &lo, &hi) || more > len - i - 1)
			return false;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (k = 2; k <= more; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return false;
		i += more + 1;
	}
	return true;
}
