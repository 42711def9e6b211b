/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: CRLs checked against their issuer and against the CRL already held before they replace it, and a base combined with its delta. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "client/client.h"

#define CRL_V2 1                /* X509_CRL_get_version() of a version 2 CRL */
#define CRL_FILE_MODE 0644

int
client_asn1_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* An integer extension of the CRL (cRLNumber, deltaCRLIndicator): 1 present, 0 absent, -1 bad. */
static int
ext_uint(X509_CRL *c, int nid, uint64_t *v, int *crit)
{
	ASN1_INTEGER *ai;
	int ok;

	if ((ai = X509_CRL_get_ext_d2i(c, nid, crit, NULL)) == NULL)
		return *crit == -1 ? 0 : -1;
	ok = ASN1_INTEGER_get_uint64(v, ai) == 1;
	ASN1_INTEGER_free(ai);
	return ok ? 1 : -1;
}

/* The CRL number and delta indicator, as the kind asked for requires. */
static int
crl_numbers(X509_CRL *c, bool delta, struct client_crl_info *info,
    char *why, size_t whylen)
{
	int crit, r;

	if ((r = ext_uint(c, NID_crl_number, &info->number, &crit)) != 1) {
		err_why(why, whylen, "the CRL has %s", r == 0 ? "no cRLNumber" :
		    "a cRLNumber that is not one integer of at most 64 bits");
		return ERR_POLICY;
	}
	if ((r = ext_uint(c, NID_delta_crl, &info->base, &crit)) < 0) {
		err_why(why, whylen, "the CRL's deltaCRLIndicator is not one "
		    "integer of at most 64 bits");
		return ERR_POLICY;
	}
	info->delta = r == 1;
	if (info->delta != delta) {
		err_why(why, whylen, delta ? "the CRL is a complete CRL, not a "
		    "delta CRL" : "the CRL is a delta CRL (against %llu), not "
		    "a complete CRL", (unsigned long long)info->base);
		return ERR_POLICY;
	}
	if (delta && crit != 1) {
		err_why(why, whylen, "the delta CRL's deltaCRLIndicator is not "
		    "marked critical");
		return ERR_POLICY;
	}
	return 0;
}

/* Version, times and numbers of a CRL whose signature verified. */
static int
crl_fields(X509_CRL *c, bool delta, struct client_crl_info *info, char *why,
    size_t whylen)
{
	const STACK_OF(X509_REVOKED) *rev;

	if (X509_CRL_get_version(c) != CRL_V2) {
		err_why(why, whylen, "the CRL is not a version 2 CRL");
		return ERR_POLICY;
	}
	if (client_asn1_time(X509_CRL_get0_lastUpdate(c), &info->this_update) != 0 ||
	    client_asn1_time(X509_CRL_get0_nextUpdate(c), &info->next_update) != 0) {
		err_why(why, whylen, "the CRL has no valid %s",
		    X509_CRL_get0_nextUpdate(c) == NULL ? "nextUpdate" :
		    "thisUpdate or nextUpdate");
		return ERR_POLICY;
	}
	if (info->next_update <= info->this_update) {
		err_why(why, whylen, "the CRL's nextUpdate is not after its "
		    "thisUpdate");
		return ERR_POLICY;
	}
	rev = X509_CRL_get_REVOKED(c);
	info->entries = rev == NULL ? 0 : (size_t)sk_X509_REVOKED_num(rev);
	return crl_numbers(c, delta, info, why, whylen);
}

int
client_crl_verify(X509 *ca, const uint8_t *der, size_t len, bool delta,
    X509_CRL **out, struct client_crl_info *info, char *why, size_t whylen)
{
	struct client_crl_info i = { 0 };
	X509_CRL *c = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (info != NULL)
		memset(info, 0, sizeof(*info));
	if (len > CLIENT_CRL_MAX) {
		err_why(why, whylen, "the CRL is larger than %u bytes",
		    CLIENT_CRL_MAX);
		return ERR_DECODE;
	}
	if ((rc = client_crl_check(ca, der, len, &c, why, whylen)) != 0)
		return rc;
	i.size = len;
	if ((rc = crl_fields(c, delta, &i, why, whylen)) != 0) {
		X509_CRL_free(c);
		return rc;
	}
	if (info != NULL)
		*info = i;
	if (out != NULL)
		*out = c;       /* transferred */
	else
		X509_CRL_free(c);
	return 0;
}

/* Read all of a regular file of at most max bytes into *out (the caller's). */
static int
read_file(const char *path, size_t max, uint8_t **out, size_t *len,
    char *why, size_t whylen)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, rc = ERR_SYSTEM;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		err_why(why, whylen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_SYSTEM;
	}
	if (fstat(fd, &st) != 0) {
		err_why(why, whylen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size > max) {
		err_why(why, whylen, "%s: not a regular file of at most %zu "
		    "bytes", path, max);
		rc = ERR_DECODE;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		err_why(why, whylen, "%s: out of memory", path);
		rc = ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size && (n = read(fd, buf + got,
	    (size_t)st.st_size - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_why(why, whylen, "%s: %s", path, strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	*out = buf;     /* transferred */
	buf = NULL;
	*len = got;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

int
client_crl_load(X509 *ca, const char *path, bool delta, uint8_t **der,
    size_t *len, X509_CRL **out, struct client_crl_info *info, char *why,
    size_t whylen)
{
	uint8_t *buf;
	size_t n = 0;
	int rc;

	if (der != NULL)
		*der = NULL;
	if (out != NULL)
		*out = NULL;
	if (ca == NULL || path == NULL)
		return ERR_INVAL;
	if ((rc = read_file(path, CLIENT_CRL_MAX, &buf, &n, why, whylen)) != 0)
		return rc;
	rc = client_crl_verify(ca, buf, n, delta, out, info, why, whylen);
	if (rc == 0 && der != NULL) {
		*der = buf;     /* transferred */
		*len = n;
		buf = NULL;
	}
	free(buf);
	return rc;
}

/* The CRL is what the fetch announced: its number and entries, and a delta's base. */
static int
crl_expect(const struct client_crl_info *i, const struct client_crl_want *w,
    char *why, size_t whylen)
{
	if (i->number != w->number) {
		err_why(why, whylen, "the CRL's number %llu is not the number "
		    "%llu the signer announced", (unsigned long long)i->number,
		    (unsigned long long)w->number);
		return ERR_POLICY;
	}
	if (w->has_entries && i->entries != w->entries) {
		err_why(why, whylen, "the CRL lists %zu entries, not the %llu "
		    "the signer announced", i->entries,
		    (unsigned long long)w->entries);
		return ERR_POLICY;
	}
	if (!w->delta)
		return 0;
	if (i->base != w->base) {
		err_why(why, whylen, "the delta CRL is against CRL %llu, not "
		    "the base %llu", (unsigned long long)i->base,
		    (unsigned long long)w->base);
		return ERR_POLICY;
	}
	if (i->number <= w->base) {
		err_why(why, whylen, "the delta CRL's number %llu is not above "
		    "its base's %llu", (unsigned long long)i->number,
		    (unsigned long long)w->base);
		return ERR_POLICY;
	}
	return 0;
}

/*
 * Never backwards: against the CRL of the same kind that path holds.
 * Returns 0 (res->status says whether to write) or ERR_CONFLICT.
 */
static int
crl_against_old(X509 *ca, const uint8_t *der, size_t len, bool delta,
    const char *path, struct client_crl_outcome *res, char *why,
    size_t whylen)
{
	struct client_crl_info old;
	uint8_t *oder = NULL;
	size_t olen = 0;
	uint64_t n = res->info.number;
	int rc;

	rc = client_crl_load(ca, path, delta, &oder, &olen, NULL, &old,
	    res->old_why, sizeof(res->old_why));
	if (rc == ERR_NOT_FOUND || rc == ERR_NOMEM || rc == ERR_SYSTEM) {
		if (rc != ERR_NOT_FOUND)
			err_why(why, whylen, "%s", res->old_why);
		res->old_why[0] = '\0';
		return rc == ERR_NOT_FOUND ? 0 : rc;
	}
	if (rc != 0) {
		res->replaced_invalid = true;
		return 0;
	}
	res->had_old = true;
	res->old_number = old.number;
	rc = 0;
	if (n < old.number) {
		err_why(why, whylen, "CRL number %llu is lower than the number "
		    "%llu of the CRL in %s", (unsigned long long)n,
		    (unsigned long long)old.number, path);
		rc = ERR_CONFLICT;
	} else if (n == old.number && (olen != len ||
	    memcmp(oder, der, len) != 0)) {
		err_why(why, whylen, "CRL number %llu differs from the CRL "
		    "with the same number in %s", (unsigned long long)n, path);
		rc = ERR_CONFLICT;
	} else if (n == old.number)
		res->status = CLIENT_CRL_UP_TO_DATE;
	free(oder);
	return rc;
}

int
client_crl_install(X509 *ca, const uint8_t *der, size_t len,
    const struct client_crl_want *want, const char *path, X509_CRL **out,
    struct client_crl_outcome *res, char *why, size_t whylen)
{
	X509_CRL *c = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (ca == NULL || der == NULL || want == NULL || path == NULL ||
	    res == NULL)
		return ERR_INVAL;
	memset(res, 0, sizeof(*res));
	res->status = CLIENT_CRL_INSTALLED;
	if ((rc = client_crl_verify(ca, der, len, want->delta, &c, &res->info,
	    why, whylen)) != 0)
		return rc;
	if ((rc = crl_expect(&res->info, want, why, whylen)) != 0 ||
	    (rc = crl_against_old(ca, der, len, want->delta, path, res, why,
	    whylen)) != 0)
		goto out;
	if (res->status == CLIENT_CRL_INSTALLED &&
	    (rc = client_write_atomic(path, der, len, CRL_FILE_MODE, why,
	    whylen)) != 0)
		goto out;
	if (out != NULL) {
		*out = c;       /* transferred */
		c = NULL;
	}
out:
	X509_CRL_free(c);
	return rc;
}

/* ---- base + delta ------------------------------------------------------- */

static int
revoked_cmp(const X509_REVOKED *const *a, const X509_REVOKED *const *b)
{
	return ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(*a),
	    X509_REVOKED_get0_serialNumber(*b));
}

/* The entries of c sorted by serial, in a new stack that does not own them. */
static STACK_OF(X509_REVOKED) *
revoked_sorted(X509_CRL *c)
{
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(c), *s;

	s = rev == NULL ? sk_X509_REVOKED_new_null() : sk_X509_REVOKED_dup(rev);
	if (s == NULL)
		return NULL;
	(void)sk_X509_REVOKED_set_cmp_func(s, revoked_cmp);
	sk_X509_REVOKED_sort(s);
	return s;
}

/* The serial of entry i, or NULL past the end. */
static const ASN1_INTEGER *
serial_at(STACK_OF(X509_REVOKED) *s, int i)
{
	return i < sk_X509_REVOKED_num(s) ?
	    X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(s, i)) : NULL;
}

/* The index after the run of entries with the serial of entry i. */
static int
next_serial(STACK_OF(X509_REVOKED) *s, int i)
{
	const ASN1_INTEGER *v = serial_at(s, i);

	while (++i < sk_X509_REVOKED_num(s) &&
	    ASN1_INTEGER_cmp(serial_at(s, i), v) == 0)
		;
	return i;
}

/* A delta entry that takes a serial off the CRL (a certificateHold released). */
static bool
is_removal(X509_REVOKED *r)
{
	ASN1_ENUMERATED *e;
	bool rm;

	if ((e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL,
	    NULL)) == NULL)
		return false;
	rm = ASN1_ENUMERATED_get(e) == CRL_REASON_REMOVE_FROM_CRL;
	ASN1_ENUMERATED_free(e);
	return rm;
}

/* Walk both sorted lists once: every distinct serial is counted once. */
static void
merge_count(STACK_OF(X509_REVOKED) *b, STACK_OF(X509_REVOKED) *d,
    struct client_crl_view *v)
{
	const ASN1_INTEGER *sb, *sd;
	int i = 0, j = 0, c;
	bool rm;

	while ((sb = serial_at(b, i)) != NULL || serial_at(d, j) != NULL) {
		sd = serial_at(d, j);
		c = sb == NULL ? 1 : sd == NULL ? -1 : ASN1_INTEGER_cmp(sb, sd);
		rm = c >= 0 && is_removal(sk_X509_REVOKED_value(d, j));
		if (c <= 0 && rm)
			v->removed++;
		else if (c <= 0 || !rm)
			v->revoked++;
		if (c > 0 && !rm)
			v->added++;
		if (c <= 0)
			i = next_serial(b, i);
		if (c >= 0)
			j = next_serial(d, j);
	}
}

int
client_crl_combine(X509_CRL *base, X509_CRL *delta,
    struct client_crl_view *v)
{
	STACK_OF(X509_REVOKED) *b = NULL, *d = NULL;
	int rc = ERR_NOMEM;

	if (v != NULL)
		memset(v, 0, sizeof(*v));
	if (base == NULL || delta == NULL || v == NULL)
		return ERR_INVAL;
	if ((b = revoked_sorted(base)) != NULL &&
	    (d = revoked_sorted(delta)) != NULL) {
		merge_count(b, d, v);
		rc = 0;
	}
	sk_X509_REVOKED_free(b);
	sk_X509_REVOKED_free(d);
	return rc;
}
