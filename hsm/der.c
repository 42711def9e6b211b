/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm: a small DER writer for what OpenSSL 3.0 cannot build around an outside signature (TBSCertList, signed envelopes). */

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>

#include "hsm/hsm_local.h"

#define HSM_DER_HDR_MAX 6       /* tag, 0x84 and four length bytes */
/* The largest output: a to-be-signed part and its signed envelope. */
#define HSM_DER_MAX (HSM_TBS_MAX + 4 * HSM_SIG_MAX)
#define HSM_DER_CAP_MIN 256

void
hsm_der_free(struct hsm_der *d)
{
	free(d->buf);
	d->buf = NULL;
	d->len = 0;
	d->cap = 0;
}

/* Make room for n more bytes, within HSM_DER_MAX. */
static int
hsm_der_reserve(struct hsm_der *d, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (n > HSM_DER_MAX || d->len > HSM_DER_MAX - n)
		return ERR_INVAL;
	if (n <= d->cap - d->len)
		return 0;
	cap = d->cap > 0 ? d->cap : HSM_DER_CAP_MIN;
	while (cap - d->len < n)
		cap = cap > HSM_DER_MAX / 2 ? HSM_DER_MAX : 2 * cap;
	if ((p = realloc(d->buf, cap)) == NULL)
		return ERR_NOMEM;
	d->buf = p;
	d->cap = cap;
	return 0;
}

int
hsm_der_put(struct hsm_der *d, const uint8_t *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = hsm_der_reserve(d, n)) != 0)
		return r;
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	return 0;
}

/* Append the DER of val, an OpenSSL value of type it. */
int
hsm_der_put_item(struct hsm_der *d, const void *val, const ASN1_ITEM *it)
{
	unsigned char *der = NULL;
	int n, r;

	if ((n = ASN1_item_i2d((const ASN1_VALUE *)val, &der, it)) <= 0)
		return ERR_INVAL;
	r = hsm_der_put(d, der, (size_t)n);
	OPENSSL_free(der);
	return r;
}

/* Tag and definite length (X.690 8.1.3) into out; returns its size. */
static size_t
hsm_der_header(uint8_t tag, size_t len, uint8_t out[HSM_DER_HDR_MAX])
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
	while (bytes > 0) {
		bytes--;
		out[n++] = (uint8_t)(len >> (8 * bytes));
	}
	return n;
}

/* Turn the bytes from offset from to the end into one element tagged tag. */
int
hsm_der_wrap(struct hsm_der *d, size_t from, uint8_t tag)
{
	uint8_t hdr[HSM_DER_HDR_MAX];
	size_t clen, hlen;
	int r;

	if (from > d->len)
		return ERR_INVAL;
	clen = d->len - from;
	hlen = hsm_der_header(tag, clen, hdr);
	if ((r = hsm_der_reserve(d, hlen)) != 0)
		return r;
	if (clen > 0)
		memmove(d->buf + from + hlen, d->buf + from, clen);
	memcpy(d->buf + from, hdr, hlen);
	d->len += hlen;
	return 0;
}
