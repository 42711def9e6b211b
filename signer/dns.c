/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Syntax checks of untrusted names: DNS names (LDH, wildcards, xn-- A-labels), email addresses and URIs. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "signer/cert_local.h"

/* RFC 3492 parameters. */
#define PUNY_BASE 36
#define PUNY_TMIN 1
#define PUNY_TMAX 26
#define PUNY_SKEW 38
#define PUNY_DAMP 700
#define PUNY_BIAS 72
#define PUNY_N 128
#define PUNY_MAXINT 0x7fffffffu
#define UNICODE_MAX 0x10ffffu

static bool
is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool
is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
fail(char *reason, size_t rlen, const char *msg)
{
	snprintf(reason, rlen, "%s", msg);
	return false;
}

/* A reason naming one offending byte, printable or as \xNN. */
static bool
fail_char(char *reason, size_t rlen, const char *where, unsigned char c)
{
	if (c > 0x20 && c < 0x7f && c != '\'' && c != '\\')
		snprintf(reason, rlen, "invalid character '%c'%s", c, where);
	else
		snprintf(reason, rlen, "invalid character \\x%02x%s", c, where);
	return false;
}

static uint32_t
puny_adapt(uint32_t delta, uint32_t points, bool first)
{
	uint32_t k = 0;

	delta = first ? delta / PUNY_DAMP : delta / 2;
	delta += delta / points;
	while (delta > ((PUNY_BASE - PUNY_TMIN) * PUNY_TMAX) / 2) {
		delta /= PUNY_BASE - PUNY_TMIN;
		k += PUNY_BASE;
	}
	return k + (PUNY_BASE - PUNY_TMIN + 1) * delta / (delta + PUNY_SKEW);
}

static int
puny_digit(char c)
{
	if (is_lower(c))
		return c - 'a';
	if (is_upper(c))
		return c - 'A';
	if (is_digit(c))
		return c - '0' + 26;
	return PUNY_BASE;
}

/*
 * Decode the part of an A-label after "xn--" (RFC 3492 section 6.2) without
 * keeping the output: it must decode, yield valid code points and at least
 * one non-ASCII one, and fit in a label.
 */
static bool
puny_valid(const char *s, size_t len)
{
	uint32_t n = PUNY_N, i = 0, bias = PUNY_BIAS, out = 0;
	size_t in = 0, b;

	for (b = len; b > 0 && s[b - 1] != '-'; b--)
		;
	if (b > 0) {
		out = (uint32_t)(b - 1);
		in = b;
	}
	if (in >= len)
		return false;
	while (in < len) {
		uint32_t oldi = i, w = 1, k, t;

		for (k = PUNY_BASE;; k += PUNY_BASE) {
			int digit;

			if (in >= len)
				return false;
			digit = puny_digit(s[in++]);
			if (digit >= PUNY_BASE ||
			    (uint32_t)digit > (PUNY_MAXINT - i) / w)
				return false;
			i += (uint32_t)digit * w;
			t = k <= bias ? PUNY_TMIN :
			    k >= bias + PUNY_TMAX ? PUNY_TMAX : k - bias;
			if ((uint32_t)digit < t)
				break;
			if (w > PUNY_MAXINT / (PUNY_BASE - t))
				return false;
			w *= PUNY_BASE - t;
		}
		out++;
		bias = puny_adapt(i - oldi, out, oldi == 0);
		if (i / out > UNICODE_MAX - n)
			return false;
		n += i / out;
		i %= out;
		if (n > UNICODE_MAX || (n >= 0xd800 && n <= 0xdfff))
			return false;
		if (out > CERT_LABEL_MAX)
			return false;
		i++;
	}
	return true;
}

bool
dns_label_check(const char *s, size_t len, bool upper_ok, char *reason,
    size_t rlen)
{
	size_t i;

	if (len == 0)
		return fail(reason, rlen, "empty label");
	if (len > CERT_LABEL_MAX)
		return fail(reason, rlen, "label longer than 63 characters");
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (is_lower(c) || is_digit(c) || c == '-')
			continue;
		if (is_upper(c)) {
			if (upper_ok)
				continue;
			return fail(reason, rlen,
			    "upper-case letter (use lower case)");
		}
		if ((unsigned char)c >= 0x80)
			return fail(reason, rlen,
			    "non-ASCII character (IDNs must be xn-- A-labels)");
		if (c == '*')
			return fail(reason, rlen,
			    "wildcard must be the entire leftmost label");
		return fail_char(reason, rlen, "", (unsigned char)c);
	}
	if (s[0] == '-')
		return fail(reason, rlen, "label starts with a hyphen");
	if (s[len - 1] == '-')
		return fail(reason, rlen, "label ends with a hyphen");
	if (len >= 4 && s[2] == '-' && s[3] == '-') {
		if ((s[0] | 0x20) != 'x' || (s[1] | 0x20) != 'n')
			return fail(reason, rlen,
			    "'--' in positions 3-4 is reserved for xn-- A-labels");
		if (!puny_valid(s + 4, len - 4))
			return fail(reason, rlen, "invalid xn-- A-label (punycode)");
	}
	return true;
}

/* Check the labels of s; sets *labels to their count. */
static bool
dns_labels(const char *s, size_t len, bool wildcard, size_t *labels,
    char *reason, size_t rlen)
{
	size_t start = 0, end;

	*labels = 0;
	while (start <= len) {
		const char *dot = memchr(s + start, '.', len - start);

		end = dot != NULL ? (size_t)(dot - s) : len;
		if (*labels == 0 && end - start == 1 && s[start] == '*') {
			if (!wildcard)
				return fail(reason, rlen,
				    "wildcard is not allowed");
		} else if (!dns_label_check(s + start, end - start, false,
		    reason, rlen))
			return false;
		(*labels)++;
		start = end + 1;
	}
	return true;
}

bool
dns_name_check(const char *s, size_t len, bool wildcard, char *reason,
    size_t rlen)
{
	size_t labels, i;
	const char *last;

	if (len == 0)
		return fail(reason, rlen, "empty name");
	if (len > CERT_DNS_MAX)
		return fail(reason, rlen, "longer than 253 characters");
	if (s[len - 1] == '.')
		return fail(reason, rlen, "trailing dot is not allowed");
	if (!dns_labels(s, len, wildcard, &labels, reason, rlen))
		return false;
	if (labels < 2)
		return fail(reason, rlen,
		    "not a fully qualified domain name (single label)");
	if (s[0] == '*' && labels < 3)
		return fail(reason, rlen,
		    "wildcard directly under a top-level domain");
	last = (const char *)memrchr(s, '.', len) + 1;
	for (i = 0; last + i < s + len && is_digit(last[i]); i++)
		;
	if (last + i == s + len)
		return fail(reason, rlen, "top-level label is numeric");
	return true;
}

/* RFC 5322 atext. */
static bool
is_atext(char c)
{
	return is_lower(c) || is_upper(c) || is_digit(c) ||
	    (c != 0 && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

bool
email_check(const char *s, size_t len, char *reason, size_t rlen)
{
	const char *at = memchr(s, '@', len);
	size_t local, i;
	char sub[CERT_WHY_MAX];

	if (at == NULL)
		return fail(reason, rlen, "missing '@'");
	if (len > CERT_EMAIL_MAX)
		return fail(reason, rlen, "longer than 254 characters");
	local = (size_t)(at - s);
	if (local == 0)
		return fail(reason, rlen, "empty local part");
	if (local > CERT_EMAIL_LOCAL_MAX)
		return fail(reason, rlen, "local part longer than 64 characters");
	for (i = 0; i < local; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return fail(reason, rlen,
			    "non-ASCII local part is not supported");
		if (s[i] == '.') {
			if (i == 0 || i == local - 1 || s[i - 1] == '.')
				return fail(reason, rlen,
				    "misplaced dot in local part");
		} else if (!is_atext(s[i]))
			return fail_char(reason, rlen, " in local part",
			    (unsigned char)s[i]);
	}
	if (!dns_name_check(at + 1, len - local - 1, false, sub, sizeof(sub))) {
		snprintf(reason, rlen, "domain: %s", sub);
		return false;
	}
	return true;
}

static bool
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 3986: unreserved, reserved and '%' HEXDIG HEXDIG. */
bool
uri_check(const char *s, size_t len, char *reason, size_t rlen)
{
	size_t i, scheme;

	for (scheme = 0; scheme < len && s[scheme] != ':'; scheme++) {
		char c = s[scheme];

		if (is_lower(c) || is_upper(c) ||
		    (scheme > 0 && (is_digit(c) || c == '+' || c == '-' ||
		    c == '.')))
			continue;
		return fail(reason, rlen, "missing scheme");
	}
	if (scheme == 0 || scheme == len)
		return fail(reason, rlen, "missing scheme");
	if (scheme + 1 == len)
		return fail(reason, rlen, "nothing after the scheme");
	for (i = scheme + 1; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			if (len - i < 3 || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
				return fail(reason, rlen,
				    "'%' not followed by two hex digits");
			i += 2;
			continue;
		}
		if (is_lower(c) || is_upper(c) || is_digit(c) ||
		    (c != 0 && strchr("-._~:/?#[]@!$&'()*+,;=", c) != NULL))
			continue;
		return fail_char(reason, rlen, "", (unsigned char)c);
	}
	return true;
}
