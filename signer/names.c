/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Subject and subjectAltName values: UTF-8 and RFC 5280 rules, and their parsing from a request or a CSR. */

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/cert_local.h"
#include "signer/signer.h"

/* RFC 5280 appendix A upper bounds (characters). */
#define UB_NAME 32768
#define UB_COMMON_NAME 64
#define UB_LOCALITY_NAME 128
#define UB_STATE_NAME 128
#define UB_ORGANIZATION_NAME 64
#define UB_ORGANIZATIONAL_UNIT_NAME 64
#define UB_TITLE 64
#define UB_SERIAL_NUMBER 64
#define UB_EMAILADDRESS_LENGTH 255
#define UB_COUNTRY 2
#define UB_STREET_ADDRESS 128   /* X.520 */
#define UB_POSTAL_CODE 40       /* X.520 */

/* In the order the subject is encoded, most significant first. */
static const struct names_attr attrs[] = {
	{ "DC", NID_domainComponent, V_ASN1_IA5STRING, CERT_LABEL_MAX,
	    ATTR_MULTI | ATTR_IA5 | ATTR_LABEL },
	{ "C", NID_countryName, V_ASN1_PRINTABLESTRING, UB_COUNTRY, ATTR_COUNTRY },
	{ "ST", NID_stateOrProvinceName, V_ASN1_UTF8STRING, UB_STATE_NAME, 0 },
	{ "L", NID_localityName, V_ASN1_UTF8STRING, UB_LOCALITY_NAME, 0 },
	{ "street", NID_streetAddress, V_ASN1_UTF8STRING, UB_STREET_ADDRESS,
	    ATTR_MULTI },
	{ "postalCode", NID_postalCode, V_ASN1_UTF8STRING, UB_POSTAL_CODE, 0 },
	{ "O", NID_organizationName, V_ASN1_UTF8STRING, UB_ORGANIZATION_NAME, 0 },
	{ "OU", NID_organizationalUnitName, V_ASN1_UTF8STRING,
	    UB_ORGANIZATIONAL_UNIT_NAME, ATTR_MULTI },
	{ "title", NID_title, V_ASN1_UTF8STRING, UB_TITLE, 0 },
	{ "SN", NID_surname, V_ASN1_UTF8STRING, UB_NAME, 0 },
	{ "GN", NID_givenName, V_ASN1_UTF8STRING, UB_NAME, 0 },
	{ "serialNumber", NID_serialNumber, V_ASN1_PRINTABLESTRING,
	    UB_SERIAL_NUMBER, ATTR_PRINTABLE },
	{ "CN", NID_commonName, V_ASN1_UTF8STRING, UB_COMMON_NAME, 0 },
	{ "emailAddress", NID_pkcs9_emailAddress, V_ASN1_IA5STRING,
	    UB_EMAILADDRESS_LENGTH, ATTR_IA5 | ATTR_EMAIL },
};
#define N_ATTRS (sizeof(attrs) / sizeof(attrs[0]))

static const struct {
	const char *name;
	int type;
} san_types[] = {
	{ "dns", GEN_DNS },
	{ "email", GEN_EMAIL },
	{ "ip", GEN_IPADD },
	{ "uri", GEN_URI },
};
#define N_SAN_TYPES (sizeof(san_types) / sizeof(san_types[0]))


/* Length of the valid UTF-8 sequence at s (1..4), 0 if invalid; sets *cp. */
static size_t
utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t v, min;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, v = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, v = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, v = s[0] & 0x07, min = 0x10000;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

static bool
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

/*
 * Quote untrusted text for a message: valid UTF-8 is kept, controls, quotes,
 * backslashes and invalid bytes become \xNN; long values end in "...".
 */
const char *
names_quote(const char *s, size_t len, char *buf, size_t buflen)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0, shown = 0, n;
	uint32_t cp;

	if (buflen < 8) {
		if (buflen > 0)
			buf[0] = '\0';
		return buf;
	}
	while (i < len) {
		if (shown == NAMES_QUOTE_CHARS || o + 8 >= buflen) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		n = utf8_seq(u + i, len - i, &cp);
		if (n == 0 || is_control(cp) || cp == '\'' || cp == '\\') {
			snprintf(buf + o, buflen - o, "\\x%02x", u[i]);
			o += 4;
			n = 1;
		} else {
			memcpy(buf + o, u + i, n);
			o += n;
		}
		i += n;
		shown++;
	}
	buf[o] = '\0';
	return buf;
}

const struct names_attr *
names_attr_by_name(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < N_ATTRS; i++)
		if (strlen(attrs[i].name) == len && memcmp(attrs[i].name, s, len) == 0)
			return &attrs[i];
	return NULL;
}

const struct names_attr *
names_attr_by_nid(int nid)
{
	size_t i;

	for (i = 0; i < N_ATTRS; i++)
		if (attrs[i].nid == nid)
			return &attrs[i];
	return NULL;
}

bool
names_list_has(const struct conf_strlist *l, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i] != NULL && strlen(l->v[i]) == len &&
		    memcmp(l->v[i], s, len) == 0)
			return true;
	return false;
}

const char *
names_san_type_name(int type)
{
	size_t i;

	for (i = 0; i < N_SAN_TYPES; i++)
		if (san_types[i].type == type)
			return san_types[i].name;
	return "other";
}

/*
 * Check that v is UTF-8 without NUL (ERR_BAD_REQUEST) and count its
 * characters and controls. what names the value in the message.
 */
static int
text_check(const char *what, const char *v, size_t len, size_t *chars,
    bool *control, char *why, size_t whylen)
{
	const unsigned char *u = (const unsigned char *)v;
	size_t i = 0, n;
	uint32_t cp;

	*chars = 0;
	*control = false;
	if (len > CERT_VALUE_MAX) {
		err_why(why, whylen, "%s is longer than %d bytes", what,
		    CERT_VALUE_MAX);
		return ERR_BAD_REQUEST;
	}
	while (i < len) {
		if (u[i] == 0) {
			err_why(why, whylen, "%s: embedded NUL at byte %zu", what, i);
			return ERR_BAD_REQUEST;
		}
		if ((n = utf8_seq(u + i, len - i, &cp)) == 0) {
			err_why(why, whylen, "%s: invalid UTF-8 at byte %zu", what, i);
			return ERR_BAD_REQUEST;
		}
		if (is_control(cp))
			*control = true;
		i += n;
		(*chars)++;
	}
	return 0;
}

static bool
is_printable(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != 0 && strchr(" '()+,-./:=?", c) != NULL);
}

/* The rules of one attribute's syntax, after the generic text checks. */
static int
value_syntax(const struct names_attr *a, const char *what, const char *v,
    size_t len, char *why, size_t whylen)
{
	char reason[CERT_WHY_MAX], q[NAMES_QUOTE_MAX];
	size_t i;

	if ((a->flags & ATTR_COUNTRY) && (len != 2 || v[0] < 'A' || v[0] > 'Z' ||
	    v[1] < 'A' || v[1] > 'Z')) {
		err_why(why, whylen, "%s must be two upper-case letters "
		    "(ISO 3166)", what);
		return ERR_POLICY;
	}
	for (i = 0; i < len; i++) {
		if ((a->flags & ATTR_IA5) && (unsigned char)v[i] >= 0x80) {
			err_why(why, whylen, "%s must be ASCII", what);
			return ERR_POLICY;
		}
		if ((a->flags & ATTR_PRINTABLE) && !is_printable(v[i])) {
			err_why(why, whylen, "%s has a character not allowed "
			    "in PrintableString", what);
			return ERR_POLICY;
		}
	}
	if ((a->flags & ATTR_EMAIL) && !email_check(v, len, reason, sizeof(reason))) {
		err_why(why, whylen, "%s '%s': %s", what,
		    names_quote(v, len, q, sizeof(q)), reason);
		return ERR_POLICY;
	}
	if ((a->flags & ATTR_LABEL) &&
	    !dns_label_check(v, len, true, reason, sizeof(reason))) {
		err_why(why, whylen, "%s '%s': %s", what,
		    names_quote(v, len, q, sizeof(q)), reason);
		return ERR_POLICY;
	}
	return 0;
}

int
names_check_value(const struct names_attr *a, const char *prefix,
    const char *v, size_t len, char *why, size_t whylen)
{
	char what[64];
	size_t chars;
	bool control;
	int rc;

	snprintf(what, sizeof(what), "%s attribute '%s'", prefix, a->name);
	if ((rc = text_check(what, v, len, &chars, &control, why, whylen)) != 0)
		return rc;
	if (len == 0) {
		err_why(why, whylen, "%s is empty", what);
		return ERR_POLICY;
	}
	if (chars > a->max && !(a->flags & ATTR_COUNTRY)) {
		err_why(why, whylen, "%s is longer than %zu characters", what,
		    a->max);
		return ERR_POLICY;
	}
	if (control) {
		err_why(why, whylen, "%s contains a control character", what);
		return ERR_POLICY;
	}
	if (v[0] == ' ' || v[len - 1] == ' ') {
		err_why(why, whylen, "%s has leading or trailing white space",
		    what);
		return ERR_POLICY;
	}
	return value_syntax(a, what, v, len, why, whylen);
}

/* The text forms: dns, email, uri. IP addresses are bytes here. */
int
names_check_san(int type, const char *v, size_t len, char *why, size_t whylen)
{
	char reason[CERT_WHY_MAX], q[NAMES_QUOTE_MAX];
	bool ok;

	switch (type) {
	case GEN_DNS:
		ok = dns_name_check(v, len, true, reason, sizeof(reason));
		break;
	case GEN_EMAIL:
		ok = email_check(v, len, reason, sizeof(reason));
		break;
	case GEN_URI:
		ok = uri_check(v, len, reason, sizeof(reason));
		break;
	case GEN_IPADD:
		if (len == 4 || len == 16)
			return 0;
		err_why(why, whylen, "ip address of %zu bytes (must be 4 or 16)",
		    len);
		return ERR_POLICY;
	default:
		err_why(why, whylen, "subjectAltName type %d is not supported",
		    type);
		return ERR_POLICY;
	}
	if (ok)
		return 0;
	err_why(why, whylen, "%s '%s': %s", type == GEN_DNS ? "dns name" :
	    type == GEN_EMAIL ? "email" : "uri", names_quote(v, len, q, sizeof(q)),
	    reason);
	return ERR_POLICY;
}

/* Parse an IP address given as text; false if it is not one. */
static bool
ip_parse(const char *v, size_t len, uint8_t *out, size_t *outlen)
{
	char buf[CERT_IP_TEXT_MAX + 1];

	if (len == 0 || len > CERT_IP_TEXT_MAX)
		return false;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (memchr(buf, ':', len) != NULL) {
		*outlen = 16;
		return inet_pton(AF_INET6, buf, out) == 1;
	}
	*outlen = 4;
	return inet_pton(AF_INET, buf, out) == 1;
}

/* A CN matches a dNSName byte for byte, or an iPAddress by value. */
bool
names_cn_matches(const char *cn, size_t cnlen, int type, const uint8_t *v,
    size_t len)
{
	uint8_t ip[16];
	size_t iplen;

	if (type == GEN_DNS)
		return cnlen == len && memcmp(cn, v, len) == 0;
	if (type == GEN_IPADD)
		return ip_parse(cn, cnlen, ip, &iplen) && iplen == len &&
		    memcmp(ip, v, len) == 0;
	return false;
}

void
cert_names_free(struct cert_names *names)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < names->n_subject; i++)
		free(names->subject[i].value);
	for (i = 0; i < names->n_san; i++)
		free(names->san[i].value);
	free(names->san);
	free(names);
}

static int
rdn_add(struct cert_names *names, const struct names_attr *a, const char *v,
    size_t len)
{
	struct cert_rdn *r = &names->subject[names->n_subject];

	if ((r->value = malloc(len + 1)) == NULL)
		return ERR_NOMEM;
	memcpy(r->value, v, len);
	r->value[len] = '\0';
	r->len = len;
	r->attr = a;
	names->n_subject++;
	return 0;
}

/* Subject entries of the request: known names, valid values. */
static int
subject_from_request(const struct cert_request *req, struct cert_names *names,
    char *why, size_t whylen)
{
	const struct names_attr *a;
	char q[NAMES_QUOTE_MAX];
	size_t i;
	int rc;

	if (req->n_subject > CERT_SUBJECT_MAX) {
		err_why(why, whylen, "too many subject attributes: %zu (at most %d)",
		    req->n_subject, CERT_SUBJECT_MAX);
		return ERR_BAD_REQUEST;
	}
	for (i = 0; i < req->n_subject; i++) {
		const struct cert_pair *pr = &req->subject[i];

		if ((a = names_attr_by_name(pr->name, pr->name_len)) == NULL) {
			err_why(why, whylen, "unknown subject attribute '%s'",
			    names_quote(pr->name, pr->name_len, q, sizeof(q)));
			return ERR_BAD_REQUEST;
		}
		if ((rc = names_check_value(a, "subject", pr->value,
		    pr->value_len, why, whylen)) != 0)
			return rc;
		if ((rc = rdn_add(names, a, pr->value, pr->value_len)) != 0)
			return rc;
	}
	return 0;
}

/* One entry of a CSR subject, converted to UTF-8 and checked. */
static int
csr_entry(const X509_NAME_ENTRY *ne, struct cert_names *names, char *why,
    size_t whylen)
{
	const struct names_attr *a;
	unsigned char *utf8 = NULL;
	char oid[80];
	int n, rc;

	a = names_attr_by_nid(OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne)));
	if (a == NULL) {
		OBJ_obj2txt(oid, sizeof(oid), X509_NAME_ENTRY_get_object(ne), 0);
		err_why(why, whylen, "CSR subject attribute '%s' is not supported",
		    oid);
		return ERR_POLICY;
	}
	if ((n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(ne))) < 0) {
		ERR_clear_error();
		err_why(why, whylen, "CSR subject attribute '%s' is not a valid "
		    "string", a->name);
		return ERR_BAD_REQUEST;
	}
	rc = names_check_value(a, "CSR subject", (const char *)utf8, (size_t)n,
	    why, whylen);
	if (rc == 0)
		rc = rdn_add(names, a, (const char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
	return rc;
}

static int
subject_from_csr(X509_REQ *csr, struct cert_names *names, char *why,
    size_t whylen)
{
	const X509_NAME *name = X509_REQ_get_subject_name(csr);
	int i, count = X509_NAME_entry_count(name), rc;

	if (count > CERT_SUBJECT_MAX) {
		err_why(why, whylen, "too many CSR subject attributes: %d "
		    "(at most %d)", count, CERT_SUBJECT_MAX);
		return ERR_BAD_REQUEST;
	}
	for (i = 0; i < count; i++) {
		const X509_NAME_ENTRY *ne = X509_NAME_get_entry(name, i);

		if (X509_NAME_ENTRY_set(ne) != i) {
			err_why(why, whylen, "CSR subject has a multi-valued RDN");
			return ERR_POLICY;
		}
		if ((rc = csr_entry(ne, names, why, whylen)) != 0)
			return rc;
	}
	return 0;
}

/* Allowed, required and repeated attributes; then sort into encoding order. */
static int
subject_policy(const struct conf_profile *p, struct cert_names *names,
    const char *prefix, char *why, size_t whylen)
{
	size_t i, j, name_len;
	struct cert_rdn t;

	for (i = 0; i < names->n_subject; i++) {
		const struct names_attr *a = names->subject[i].attr;

		if (!names_list_has(&p->subject_allowed, a->name, strlen(a->name))) {
			err_why(why, whylen, "%s attribute '%s' is not allowed by "
			    "profile '%s'", prefix, a->name, p->name);
			return ERR_POLICY;
		}
		for (j = 0; j < i && !(a->flags & ATTR_MULTI); j++)
			if (names->subject[j].attr == a) {
				err_why(why, whylen, "%s attribute '%s' appears "
				    "more than once", prefix, a->name);
				return ERR_POLICY;
			}
	}
	for (i = 0; i < p->subject_required.n; i++) {
		const char *r = p->subject_required.v[i];

		name_len = strlen(r);
		for (j = 0; j < names->n_subject; j++)
			if (names_attr_by_name(r, name_len) == names->subject[j].attr)
				break;
		if (j == names->n_subject) {
			err_why(why, whylen, "%s attribute '%s' is required by "
			    "profile '%s'", prefix, r, p->name);
			return ERR_POLICY;
		}
	}
	/* stable insertion sort by table position */
	for (i = 1; i < names->n_subject; i++) {
		t = names->subject[i];
		for (j = i; j > 0 && names->subject[j - 1].attr > t.attr; j--)
			names->subject[j] = names->subject[j - 1];
		names->subject[j] = t;
	}
	return 0;
}

static const char *
san_what(int type)
{
	switch (type) {
	case GEN_DNS:
		return "dns name";
	case GEN_EMAIL:
		return "email";
	case GEN_IPADD:
		return "ip address";
	default:
		return "uri";
	}
}

/* One subjectAltName value of the request into out. */
static int
san_value(int type, size_t idx, const struct cert_pair *pr,
    struct cert_san *out, char *why, size_t whylen)
{
	char what[48], q[NAMES_QUOTE_MAX];
	uint8_t ip[16];
	size_t chars, len = pr->value_len;
	const void *v = pr->value;
	bool control;
	int rc;

	snprintf(what, sizeof(what), "%s #%zu", san_what(type), idx + 1);
	if ((rc = text_check(what, pr->value, len, &chars, &control, why,
	    whylen)) != 0)
		return rc;
	if (type == GEN_IPADD) {
		if (!ip_parse(pr->value, len, ip, &len)) {
			err_why(why, whylen, "ip address '%s' is not a valid IPv4 "
			    "or IPv6 address", names_quote(pr->value, pr->value_len,
			    q, sizeof(q)));
			return ERR_POLICY;
		}
		v = ip;
	} else if ((rc = names_check_san(type, pr->value, len, why, whylen)) != 0)
		return rc;
	if ((out->value = malloc(len + 1)) == NULL)
		return ERR_NOMEM;
	memcpy(out->value, v, len);
	out->value[len] = '\0';
	out->len = len;
	out->type = type;
	return 0;
}

static int
san_type(const struct cert_pair *pr)
{
	size_t i;

	for (i = 0; i < N_SAN_TYPES; i++)
		if (strlen(san_types[i].name) == pr->name_len &&
		    memcmp(san_types[i].name, pr->name, pr->name_len) == 0)
			return san_types[i].type;
	return -1;
}

static int
san_from_request(const struct conf_profile *p, const struct cert_request *req,
    struct cert_names *names, char *why, size_t whylen)
{
	size_t i, j, limit = p->san_max < CERT_SAN_LIMIT ? p->san_max : CERT_SAN_LIMIT;
	char q[NAMES_QUOTE_MAX];
	int type, rc;

	if (req->n_san > limit) {
		err_why(why, whylen, "too many subjectAltName entries: %zu "
		    "(profile '%s' allows %zu)", req->n_san, p->name, limit);
		return ERR_POLICY;
	}
	if (req->n_san == 0)
		return 0;
	if ((names->san = calloc(req->n_san, sizeof(*names->san))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < req->n_san; i++) {
		const struct cert_pair *pr = &req->san[i];
		struct cert_san *s = &names->san[i];

		if ((type = san_type(pr)) < 0) {
			err_why(why, whylen, "unknown subjectAltName type '%s' "
			    "(dns, email, ip, uri)", names_quote(pr->name,
			    pr->name_len, q, sizeof(q)));
			return ERR_BAD_REQUEST;
		}
		if (!names_list_has(&p->san_types, pr->name, pr->name_len)) {
			err_why(why, whylen, "subjectAltName type '%s' is not "
			    "allowed by profile '%s'", names_san_type_name(type),
			    p->name);
			return ERR_POLICY;
		}
		if ((rc = san_value(type, i, pr, s, why, whylen)) != 0)
			return rc;
		names->n_san++;
		for (j = 0; j < i; j++)
			if (names->san[j].type == type && names->san[j].len == s->len &&
			    memcmp(names->san[j].value, s->value, s->len) == 0) {
				err_why(why, whylen, "%s '%s' appears more than once",
				    san_what(type), names_quote(pr->value,
				    pr->value_len, q, sizeof(q)));
				return ERR_POLICY;
			}
	}
	return 0;
}

/* Profiles for TLS servers: the CN, if any, must be one of the SANs. */
static int
cn_in_san(const struct conf_profile *p, const struct cert_names *names,
    char *why, size_t whylen)
{
	char q[NAMES_QUOTE_MAX];
	size_t i, j;

	for (i = 0; i < names->n_subject; i++) {
		const struct cert_rdn *r = &names->subject[i];

		if (r->attr->nid != NID_commonName)
			continue;
		for (j = 0; j < names->n_san; j++)
			if (names_cn_matches(r->value, r->len, names->san[j].type,
			    names->san[j].value, names->san[j].len))
				break;
		if (j == names->n_san) {
			err_why(why, whylen, "subject CN '%s' is not among the "
			    "subjectAltName entries (profile '%s')",
			    names_quote(r->value, r->len, q, sizeof(q)), p->name);
			return ERR_POLICY;
		}
	}
	return 0;
}

int
cert_names_parse(const struct conf_profile *p, const struct cert_request *req,
    X509_REQ *csr, struct cert_names **out, char *why, size_t whylen)
{
	struct cert_names *names;
	const char *prefix = "subject";
	int rc;

	*out = NULL;
	if ((names = calloc(1, sizeof(*names))) == NULL)
		return ERR_NOMEM;
	if (req->n_subject > 0)
		rc = subject_from_request(req, names, why, whylen);
	else if (p->subject_from_csr && csr != NULL) {
		prefix = "CSR subject";
		rc = subject_from_csr(csr, names, why, whylen);
	} else
		rc = 0;
	if (rc == 0)
		rc = subject_policy(p, names, prefix, why, whylen);
	if (rc == 0)
		rc = san_from_request(p, req, names, why, whylen);
	if (rc == 0 && names->n_subject == 0 && names->n_san == 0) {
		err_why(why, whylen, "the certificate would have neither a "
		    "subject nor a subjectAltName");
		rc = ERR_POLICY;
	}
	if (rc == 0 && p->cn_in_san)
		rc = cn_in_san(p, names, why, whylen);
	if (rc != 0) {
		if (rc == ERR_NOMEM)
			err_why(why, whylen, "out of memory");
		cert_names_free(names);
		return rc;
	}
	*out = names;
	return 0;
}
