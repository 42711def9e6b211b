/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The DER of CRLs with up to millions of entries: a buffer that grows at its end and takes headers in front, and the entry encoder. */

/*
 * OpenSSL's X509_CRL keeps every entry as a tree of objects and sorts and
 * re-encodes them all; for a CAcert-sized CRL (10^6 entries) that costs
 * tens of seconds and gigabytes. Here the revokedCertificates are written
 * straight into one buffer in serial order (the repository's key order), and
 * OpenSSL encodes the few structured parts (issuer name, AlgorithmIdentifier,
 * extensions). Headers are written backwards into room kept in front, so the
 * body is never moved.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/proto.h"
#include "signer/crl_local.h"

#define DER_TAG_INTEGER 0x02
#define DER_TAG_OCTET_STRING 0x04
#define DER_TAG_OID 0x06
#define DER_TAG_ENUMERATED 0x0a
#define DER_TAG_UTCTIME 0x17
#define DER_TAG_GENTIME 0x18
#define DER_UTC_MIN_YEAR 1950   /* RFC 5280 4.1.2.5: UTCTime for 1950..2049 */
#define DER_UTC_MAX_YEAR 2049
#define DER_CAP_MIN 4096

int
crl_der_init(struct crl_der *d, size_t room, size_t hint)
{
	memset(d, 0, sizeof(*d));
	if (room > CRL_DER_MAX || hint > CRL_DER_MAX - room)
		return ERR_INVAL;
	d->cap = room + (hint > DER_CAP_MIN ? hint : DER_CAP_MIN);
	if ((d->buf = malloc(d->cap)) == NULL)
		return ERR_NOMEM;
	d->head = room;
	return 0;
}

void
crl_der_free(struct crl_der *d)
{
	free(d->buf);
	memset(d, 0, sizeof(*d));
}

/* Room for n more bytes at the end, within CRL_DER_MAX. */
static int
der_reserve(struct crl_der *d, size_t n)
{
	size_t used = d->head + d->len, cap;
	uint8_t *p;

	if (n <= d->cap - used)
		return 0;
	if (n > CRL_DER_MAX || used > CRL_DER_MAX - n)
		return ERR_NOSPACE;
	cap = d->cap;
	while (cap - used < n)
		cap = cap > CRL_DER_MAX / 2 ? CRL_DER_MAX : cap * 2;
	if ((p = realloc(d->buf, cap)) == NULL)
		return ERR_NOMEM;
	d->buf = p;
	d->cap = cap;
	return 0;
}

int
crl_der_put(struct crl_der *d, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	if ((rc = der_reserve(d, n)) != 0)
		return rc;
	memcpy(d->buf + d->head + d->len, p, n);
	d->len += n;
	return 0;
}

int
crl_der_prepend(struct crl_der *d, const void *p, size_t n)
{
	if (n > d->head)
		return ERR_NOSPACE;
	d->head -= n;
	d->len += n;
	memcpy(d->buf + d->head, p, n);
	return 0;
}

/* Tag and definite length (X.690 8.1.3) into out; returns its size. */
static size_t
der_header(uint8_t tag, size_t len, uint8_t out[CRL_DER_HDR_MAX])
{
	size_t n = 0, bytes = 0, t;

	out[n++] = tag;
	if (len < 0x80) {
		out[n++] = (uint8_t)len;
		return n;
	}
	for (t = len; t > 0; t >>= 8)
		bytes++;
	out[n++] = (uint8_t)(0x80 | bytes);
	while (bytes > 0)
		out[n++] = (uint8_t)(len >> (8 * --bytes));
	return n;
}

int
crl_der_wrap(struct crl_der *d, uint8_t tag)
{
	uint8_t hdr[CRL_DER_HDR_MAX];

	if (d->len > CRL_DER_MAX)
		return ERR_NOSPACE;
	return crl_der_prepend(d, hdr, der_header(tag, d->len, hdr));
}

/* Two decimal digits. */
static void
put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

size_t
crl_der_time(int64_t t, uint8_t out[CRL_DER_TIME_MAX])
{
	struct tm tm;
	time_t tt = (time_t)t;
	char *p = (char *)out + 2;
	int year;

	if (t < 0 || t > CRL_TIME_MAX || gmtime_r(&tt, &tm) == NULL)
		return 0;
	year = tm.tm_year + 1900;
	if (year >= DER_UTC_MIN_YEAR && year <= DER_UTC_MAX_YEAR) {
		out[0] = DER_TAG_UTCTIME;
		out[1] = 13;
	} else {
		out[0] = DER_TAG_GENTIME;
		out[1] = 15;
		put2(p, year / 100);
		p += 2;
	}
	put2(p, year % 100);
	put2(p + 2, tm.tm_mon + 1);
	put2(p + 4, tm.tm_mday);
	put2(p + 6, tm.tm_hour);
	put2(p + 8, tm.tm_min);
	put2(p + 10, tm.tm_sec);
	p[12] = 'Z';
	return (size_t)(p + 13 - (char *)out);
}

/*
 * SEQUENCE { serialNumber INTEGER, revocationDate Time,
 *   crlEntryExtensions SEQUENCE { reasonCode } unless no reason }
 */
int
crl_der_entry(struct crl_der *d, const struct repo_crl_entry *e)
{
	/* Extension { extnID id-ce-cRLReasons (2.5.29.21), extnValue OCTET STRING { ENUMERATED } } */
	static const uint8_t reason_ext[] = {
		0x30, 0x0c, 0x30, 0x0a, DER_TAG_OID, 0x03, 0x55, 0x1d, 0x15,
		DER_TAG_OCTET_STRING, 0x03, DER_TAG_ENUMERATED, 0x01,
	};
	uint8_t b[CRL_DER_ENTRY_MAX], tm[CRL_DER_TIME_MAX];
	size_t n = 2, tlen;
	bool pad;

	if (e->serial.len < 1 || e->serial.len > SERIAL_MAX ||
	    (tlen = crl_der_time(e->revoked_at, tm)) == 0)
		return ERR_INVAL;
	pad = (e->serial.b[0] & 0x80) != 0;
	b[n++] = DER_TAG_INTEGER;
	b[n++] = (uint8_t)(e->serial.len + pad);
	if (pad)
		b[n++] = 0x00;
	memcpy(b + n, e->serial.b, e->serial.len);
	n += e->serial.len;
	memcpy(b + n, tm, tlen);
	n += tlen;
	if (e->reason != CRL_REASON_NONE) {
		memcpy(b + n, reason_ext, sizeof(reason_ext));
		n += sizeof(reason_ext);
		b[n++] = (uint8_t)e->reason;
	}
	b[0] = 0x30;
	b[1] = (uint8_t)(n - 2);        /* < 0x80: CRL_DER_ENTRY_MAX */
	return crl_der_put(d, b, n);
}

/* ---- reading back ------------------------------------------------------------ */

int
crl_der_next(struct crl_rd *r, struct crl_tlv *t)
{
	size_t n, len = 0, i, left = r->len - r->off;
	const uint8_t *p = r->p + r->off;

	memset(t, 0, sizeof(*t));
	if (left < 2)
		return ERR_DECODE;
	t->tag = p[0];
	if (p[1] < 0x80) {
		len = p[1];
		n = 2;
	} else {
		n = p[1] & 0x7f;
		/* definite, minimal, and small enough for a CRL */
		if (n == 0 || n > 4 || left < 2 + n || p[2] == 0)
			return ERR_DECODE;
		for (i = 0; i < n; i++)
			len = len << 8 | p[2 + i];
		if (len < 0x80)
			return ERR_DECODE;
		n += 2;
	}
	if (len > left - n)
		return ERR_DECODE;
	t->tlv = p;
	t->tlv_len = n + len;
	t->val = p + n;
	t->len = len;
	r->off += n + len;
	return 0;
}

void
crl_rd_init(struct crl_rd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}

bool
crl_rd_end(const struct crl_rd *r)
{
	return r->off == r->len;
}
