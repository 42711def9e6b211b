/* SPDX-License-Identifier: GPL-3.0-or-later */
/* config: value checks shared by both schemas (rates, paths, names, hex ids, URIs, OIDs). */

#include <string.h>

#include "config/schema.h"
#include "proto/proto.h"

#define CONF_OID_ARC_DIGITS 39  /* longest OID arc: 2^128 (UUID arcs under 2.25) */

const struct conf_name conf_log_levels[] = {
	{ "debug", NULL }, { "info", NULL }, { "warning", NULL },
	{ "error", NULL }, { NULL, NULL },
};

/* Order matters: a FLAG stores index 1 as true. */
const struct conf_name conf_flow_controls[] = {
	{ "none", NULL }, { "rtscts", NULL }, { NULL, NULL },
};

/* The rates that Linux termios names with a B* constant from 9600 up. */
static const uint32_t conf_bauds[] = {
	9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000,
	921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000,
	4000000,
};

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

const char *
conf_check_baud(uint32_t v)
{
	size_t i;

	for (i = 0; i < sizeof(conf_bauds) / sizeof(conf_bauds[0]); i++)
		if (conf_bauds[i] == v)
			return NULL;
	return "must be a termios rate (9600, 19200, 38400, 57600, 115200, "
	    "230400, 460800, 500000, 576000, 921600, 1000000, 1152000, "
	    "1500000, 2000000, 2500000, 3000000, 3500000, 4000000)";
}

const char *
conf_check_abspath(const char *s)
{
	return s[0] == '/' ? NULL : "must be an absolute path";
}

const char *
conf_check_id(const char *s)
{
	size_t i, len = strlen(s);

	/* ids become file names (<id>.pem, <id>.crl): no '/', no leading '.' or '-' */
	if (len > CONF_ID_MAX || !is_alnum(s[0]))
		goto bad;
	for (i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			goto bad;
	return NULL;
bad:
	return "must be 1..64 characters of A-Z a-z 0-9 . _ - starting with "
	    "a letter or digit";
}

const char *
conf_check_hex_id(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len % 2 != 0 || len > 2 * CONF_KEY_ID_MAX)
		goto bad;
	for (i = 0; i < len; i++)
		if (!is_hex(s[i]))
			goto bad;
	return NULL;
bad:
	return "must be an even number of hex digits (1..64 bytes)";
}

const char *
conf_check_token_label(const char *s)
{
	return strlen(s) <= CONF_TOKEN_LABEL_MAX ? NULL :
	    "must be at most 32 bytes (a PKCS#11 token label)";
}

const char *
conf_check_env_name(const char *s)
{
	size_t i;

	if (is_digit(s[0]))
		goto bad;
	for (i = 0; s[i] != '\0'; i++)
		if (!is_alnum(s[i]) && s[i] != '_')
			goto bad;
	return NULL;
bad:
	return "must be an environment variable name (A-Z a-z 0-9 _, not "
	    "starting with a digit)";
}

/* After the scheme: a host, then printable ASCII without spaces (an IA5String in the certificate). */
static bool
uri_rest_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '/')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

const char *
conf_check_uri(const char *s)
{
	if ((strncmp(s, "http://", 7) == 0 && uri_rest_ok(s + 7)) ||
	    (strncmp(s, "ldap://", 7) == 0 && uri_rest_ok(s + 7)))
		return NULL;
	return "must be an http:// or ldap:// URI with a host and no spaces";
}

const char *
conf_check_http_uri(const char *s)
{
	if (strncmp(s, "http://", 7) == 0 && uri_rest_ok(s + 7))
		return NULL;
	return "must be an http:// URI with a host and no spaces";
}

/* One arc at s: digits without a leading zero; sets *len and whether it is small. */
static bool
oid_arc(const char *s, size_t *len, unsigned *value)
{
	size_t n = 0;
	unsigned v = 0;

	while (is_digit(s[n])) {
		if (n < 3)
			v = v * 10 + (unsigned)(s[n] - '0');
		n++;
	}
	if (n == 0 || n > CONF_OID_ARC_DIGITS || (s[0] == '0' && n > 1))
		return false;
	*len = n;
	*value = n <= 3 ? v : 1000;
	return true;
}

const char *
conf_check_oid(const char *s)
{
	size_t len, arcs = 0;
	unsigned v, first = 0;

	for (;;) {
		if (!oid_arc(s, &len, &v))
			goto bad;
		/* X.660: the first arc is 0..2; under 0 and 1 the second is 0..39 */
		if ((arcs == 0 && v > 2) || (arcs == 1 && first < 2 && v > 39))
			goto bad;
		if (arcs++ == 0)
			first = v;
		s += len;
		if (*s == '\0')
			break;
		if (*s++ != '.')
			goto bad;
	}
	if (arcs >= 2)
		return NULL;
bad:
	return "must be a dotted OID such as 2.23.140.1.2.1";
}

int
conf_hostport_split(const char *s, char *host, size_t hostcap, uint16_t *port)
{
	const char *colon, *h = s, *p;
	size_t hlen;
	unsigned long v = 0;

	if (s == NULL || host == NULL || hostcap == 0 || port == NULL)
		return ERR_INVAL;
	if (s[0] == '[') {
		/* an IPv6 literal: "[addr]:port" */
		if ((colon = strchr(s, ']')) == NULL || colon[1] != ':')
			return ERR_BAD_REQUEST;
		h = s + 1;
		hlen = (size_t)(colon - h);
		p = colon + 2;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return ERR_BAD_REQUEST;
		hlen = (size_t)(colon - s);
		p = colon + 1;
	}
	if (hlen == 0 || hlen >= hostcap || *p == '\0' || strlen(p) > 5)
		return ERR_BAD_REQUEST;
	for (; *p != '\0'; p++) {
		if (!is_digit(*p))
			return ERR_BAD_REQUEST;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return ERR_BAD_REQUEST;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)v;
	return 0;
}

const char *
conf_check_hostport(const char *s)
{
	char host[CONF_HOSTPORT_MAX];
	uint16_t port;

	if (strlen(s) >= CONF_HOSTPORT_MAX ||
	    conf_hostport_split(s, host, sizeof(host), &port) != 0)
		return "must be host:port (an address or name, or [IPv6]:port) "
		    "with a port 1..65535";
	return NULL;
}

static int
hex_val(char c)
{
	if (is_digit(c))
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

int
conf_fingerprint_parse(const char *s, uint8_t out[CONF_FINGERPRINT_LEN])
{
	size_t n = 0;

	if (s == NULL || out == NULL)
		return ERR_INVAL;
	if (strncmp(s, "sha256:", 7) == 0 || strncmp(s, "SHA256:", 7) == 0)
		s += 7;
	while (*s != '\0') {
		if (*s == ':' && n > 0 && s[-1] != ':' && s[1] != '\0') {
			s++;
			continue;
		}
		if (n == CONF_FINGERPRINT_LEN || !is_hex(s[0]) || !is_hex(s[1]))
			return ERR_BAD_REQUEST;
		out[n++] = (uint8_t)(hex_val(s[0]) << 4 | hex_val(s[1]));
		s += 2;
	}
	return n == CONF_FINGERPRINT_LEN ? 0 : ERR_BAD_REQUEST;
}

const char *
conf_check_fingerprint(const char *s)
{
	uint8_t fp[CONF_FINGERPRINT_LEN];

	if (conf_fingerprint_parse(s, fp) != 0)
		return "must be the SHA-256 fingerprint of the peer's link "
		    "certificate: 64 hex digits, ':' between bytes allowed";
	return NULL;
}
