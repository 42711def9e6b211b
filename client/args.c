/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: parsing of command-line arguments into request fields (subject, SAN, ref, serial). */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "client/client.h"

static const char *const san_types[] = { "dns", "email", "ip", "uri" };

void
client_pairs_free(struct client_pairs *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		free(p->v[i].type);
		free(p->v[i].value);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

/* Append a pair; type and value are handed over even on failure. */
static int
pairs_push(struct client_pairs *p, char *type, char *value, size_t max)
{
	struct client_pair *v;

	if (type == NULL || value == NULL)
		goto fail;
	if (p->n >= max)
		goto fail;
	if ((v = reallocarray(p->v, p->n + 1, sizeof(*v))) == NULL)
		goto fail;
	p->v = v;
	p->v[p->n].type = type;
	p->v[p->n].value = value;
	p->n++;
	return 0;
fail:
	free(type);
	free(value);
	return p->n >= max ? ERR_INVAL : ERR_NOMEM;
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char
to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* An attribute name: a keyword (letters, digits, '-') or a dotted OID. */
static bool
attr_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || !(is_alpha(s[0]) || is_digit(s[0])))
		return false;
	for (i = 0; i < len; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-' &&
		    s[i] != '.')
			return false;
	return true;
}

/*
 * Copy the unescaped text of s[0..] up to an unescaped stop character (or
 * the end) into a new string; *end is where scanning stopped.
 */
static int
dn_token(const char *s, char stop, char **out, const char **end,
    char *why, size_t whylen)
{
	size_t n = 0, i = 0;
	char *t;

	*out = NULL;
	if ((t = malloc(strlen(s) + 1)) == NULL)
		return ERR_NOMEM;
	while (s[i] != '\0' && s[i] != stop && s[i] != ',') {
		if (s[i] == '\\') {
			if (s[i + 1] == '\0') {
				free(t);
				err_why(why, whylen, "subject: backslash at the end");
				return ERR_INVAL;
			}
			i++;
		} else if (stop == ',' && s[i] == '=') {
			free(t);
			err_why(why, whylen, "subject: unescaped '=' in a value "
			    "(write \\=)");
			return ERR_INVAL;
		}
		t[n++] = s[i++];
	}
	t[n] = '\0';
	*out = t;
	*end = s + i;
	return 0;
}

/* Attribute name, trimmed of spaces. */
static int
dn_attr(const char *s, char **out, const char **end, char *why, size_t whylen)
{
	size_t b = 0, e;
	char *t;
	int rc;

	if ((rc = dn_token(s, '=', &t, end, why, whylen)) != 0)
		return rc;
	e = strlen(t);
	while (t[b] == ' ')
		b++;
	while (e > b && t[e - 1] == ' ')
		e--;
	memmove(t, t + b, e - b);
	t[e - b] = '\0';
	if (**end != '=' || !attr_valid(t, e - b)) {
		err_why(why, whylen, "subject: expected ATTRIBUTE=value at "
		    "'%.32s'", s);
		free(t);
		return ERR_INVAL;
	}
	*out = t;
	return 0;
}

int
client_subject_parse(const char *s, struct client_pairs *out, char *why,
    size_t whylen)
{
	struct client_pairs p = { 0 };
	const char *cur = s, *end;
	char *attr = NULL, *value = NULL;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL)
		return ERR_INVAL;
	if (strlen(s) > CLIENT_DN_MAX) {
		err_why(why, whylen, "subject: longer than %d bytes",
		    CLIENT_DN_MAX);
		return ERR_INVAL;
	}
	for (;;) {
		if ((rc = dn_attr(cur, &attr, &end, why, whylen)) != 0)
			goto out;
		if ((rc = dn_token(end + 1, ',', &value, &end, why,
		    whylen)) != 0) {
			free(attr);
			goto out;
		}
		if (value[0] == '\0') {
			err_why(why, whylen, "subject: empty value for %s", attr);
			free(attr);
			free(value);
			rc = ERR_INVAL;
			goto out;
		}
		if ((rc = pairs_push(&p, attr, value, CLIENT_RDN_MAX)) != 0) {
			err_why(why, whylen, "subject: more than %d attributes",
			    CLIENT_RDN_MAX);
			goto out;
		}
		if (*end == '\0')
			break;
		cur = end + 1;
	}
	*out = p;       /* transferred */
	memset(&p, 0, sizeof(p));
out:
	client_pairs_free(&p);
	return rc;
}

int
client_san_add(struct client_pairs *p, const char *arg, char *why,
    size_t whylen)
{
	const char *colon;
	char *type;
	size_t i, tlen;

	if (p == NULL || arg == NULL)
		return ERR_INVAL;
	if ((colon = strchr(arg, ':')) == NULL || colon[1] == '\0') {
		err_why(why, whylen, "san '%s': expected TYPE:VALUE", arg);
		return ERR_INVAL;
	}
	tlen = (size_t)(colon - arg);
	for (i = 0; i < sizeof(san_types) / sizeof(san_types[0]); i++)
		if (strlen(san_types[i]) == tlen &&
		    strncasecmp(san_types[i], arg, tlen) == 0)
			break;
	if (i == sizeof(san_types) / sizeof(san_types[0])) {
		err_why(why, whylen, "san '%s': type must be dns, email, ip "
		    "or uri", arg);
		return ERR_INVAL;
	}
	if (p->n >= CLIENT_SAN_MAX) {
		err_why(why, whylen, "more than %d --san options", CLIENT_SAN_MAX);
		return ERR_INVAL;
	}
	if ((type = strdup(san_types[i])) == NULL)
		return ERR_NOMEM;
	return pairs_push(p, type, strdup(colon + 1), CLIENT_SAN_MAX);
}

int
client_ref_new(char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[CLIENT_REF_BYTES];
	size_t i;

	if (out == NULL || cap < 2 * CLIENT_REF_BYTES + 1)
		return ERR_NOSPACE;
	if (RAND_bytes(b, sizeof(b)) != 1)
		return ERR_SYSTEM;
	for (i = 0; i < sizeof(b); i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 0x0f];
	}
	out[2 * sizeof(b)] = '\0';
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}

bool
client_ref_valid(const char *ref)
{
	size_t i;

	if (ref == NULL || ref[0] == '\0')
		return false;
	for (i = 0; ref[i] != '\0'; i++)
		if (i >= CLIENT_REF_MAX || ref[i] < 0x21 || ref[i] > 0x7e)
			return false;
	return true;
}

int
client_serial_norm(const char *s, char *out, size_t cap)
{
	size_t i, n = 0;
	char c;

	if (s == NULL || out == NULL || cap < CLIENT_SERIAL_HEX_MAX + 1)
		return ERR_INVAL;
	out[0] = '\0';
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (s[0] == '\0')
		return ERR_INVAL;
	for (i = 0; s[i] != '\0'; i++) {
		c = to_lower(s[i]);
		if (!is_digit(c) && !(c >= 'a' && c <= 'f'))
			return ERR_INVAL;
		if (n == 0 && c == '0')
			continue;
		if (n >= CLIENT_SERIAL_HEX_MAX)
			return ERR_INVAL;
		out[n++] = c;
	}
	if (n == 0)
		out[n++] = '0';
	out[n] = '\0';
	return 0;
}

bool
client_issuer_id_valid(const char *id, size_t len)
{
	size_t i;

	if (id == NULL || len == 0 || len > CLIENT_ISSUER_ID_MAX)
		return false;
	if (!is_alpha(id[0]) && !is_digit(id[0]))
		return false;
	for (i = 0; i < len; i++)
		if (!is_alpha(id[i]) && !is_digit(id[i]) && id[i] != '.' &&
		    id[i] != '_' && id[i] != '-')
			return false;
	return true;
}
