/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Repository records: keys, and the bounded binary layout of certificate and revocation records. */

/*
 * Every record starts with a format byte (1); integers are big-endian,
 * i64 in two's complement; "n, x[n]" is a length followed by its bytes.
 *
 * certificate (format 1)
 *   u8 format, u8 status (1 pending, 2 issued, 3 revoked),
 *   u8 n, issuer[n] (1..64)   u8 n, serial[n] (1..20, no leading 0x00)
 *   u8 n, profile[n] (1..64)  u8 n, ref[n] (1..128)   req_hash[32]
 *   i64 not_before, i64 not_after, i64 created, i64 revoked_at,
 *   u8 reason + 1 (0: none), u16 n, subject[n] (0..1024),
 *   u32 n, der[n] (0 while pending, else 1..REPO_DER_MAX)
 *   revoked_at is 0 and reason none unless the status is revoked.
 *
 * revocation (format 1)
 *   u8 format, u8 n, issuer[n], u8 n, serial[n], i64 revoked_at,
 *   u8 reason + 1, u8 origin (1..127), u8 n, ref[n] (1..128)
 *
 * CRL (format 1)
 *   u8 format, u8 n, issuer[n], u64 number (>= 1), u64 delta_base (0: a
 *   complete CRL; else below number), i64 this_update, i64 next_update
 *   (after this_update), u64 rev_mark, u64 entries,
 *   u32 n, der[n] (0: pruned; else 1..REPO_CRL_MAX)
 *
 * Strings are UTF-8 without NUL. There is one encoding of each record: the
 * decoders refuse anything else, trailing bytes included.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/repo_local.h"

#define REPO_FORMAT 1
#define REPO_REASON_UNUSED 7    /* CRLReason value 7 is not used */

/* A bounded reader; the first fault sticks. */
struct repo_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	const char *fault;      /* NULL while all is well */
	const char *field;      /* where the fault was found */
};

/* A writer into a buffer sized beforehand. */
struct repo_wr {
	uint8_t *p;
	size_t cap;
	size_t off;
	bool overflow;
};


bool
repo_id_valid(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strnlen(s, REPO_ID_MAX + 1);
	return n >= 1 && n <= REPO_ID_MAX && msg_utf8_valid(s, n);
}

bool
repo_serial_valid(const struct serial *s)
{
	return s != NULL && s->len >= 1 && s->len <= SERIAL_MAX &&
	    s->b[0] != 0;
}

bool
repo_reason_valid(int reason)
{
	return reason == CRL_REASON_NONE || (reason >= 0 &&
	    reason <= REPO_REASON_MAX && reason != REPO_REASON_UNUSED);
}

bool
repo_ref_valid(const uint8_t *ref, size_t len)
{
	return ref != NULL && len >= 1 && len <= REPO_REF_MAX;
}

void
repo_ref_text(const uint8_t *ref, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n, o = 0;
	bool text = len <= REPO_REF_TEXT_MAX - 3;

	for (i = 0; i < len && text; i++)
		text = ref[i] >= 0x20 && ref[i] < 0x7f && ref[i] != '\'';
	if (outlen < REPO_REF_TEXT_MAX) {
		if (outlen > 0)
			out[0] = '\0';
		return;
	}
	if (text) {
		snprintf(out, outlen, "'%.*s'", (int)len, (const char *)ref);
		return;
	}
	n = len < (REPO_REF_TEXT_MAX - 6) / 2 ? len : (REPO_REF_TEXT_MAX - 6) / 2;
	out[o++] = '0';
	out[o++] = 'x';
	for (i = 0; i < n; i++) {
		out[o++] = hex[ref[i] >> 4];
		out[o++] = hex[ref[i] & 0x0f];
	}
	if (n < len)
		o += (size_t)snprintf(out + o, outlen - o, "...");
	out[o] = '\0';
}

/* ---- keys ---------------------------------------------------------------- */

void
repo_put_be64(uint8_t *b, uint64_t v)
{
	size_t i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * (7 - i)));
}

uint64_t
repo_get_be64(const uint8_t *b)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

int
repo_key_issuer(const char *issuer, struct repo_key *k)
{
	size_t n;

	k->len = 0;
	if (!repo_id_valid(issuer))
		return ERR_INVAL;
	n = strlen(issuer);
	k->b[0] = (uint8_t)n;
	memcpy(k->b + 1, issuer, n);
	k->len = 1 + n;
	return 0;
}

int
repo_key_make(const char *issuer, const struct serial *s, struct repo_key *k)
{
	if (repo_key_issuer(issuer, k) != 0 || !repo_serial_valid(s))
		return ERR_INVAL;
	k->b[k->len++] = (uint8_t)s->len;
	memcpy(k->b + k->len, s->b, s->len);
	k->len += s->len;
	return 0;
}

int
repo_key_parse(const uint8_t *b, size_t len, char *issuer, struct serial *s)
{
	size_t ilen, slen;

	memset(s, 0, sizeof(*s));
	issuer[0] = '\0';
	if (len < 1 || (ilen = b[0]) < 1 || ilen > REPO_ID_MAX ||
	    ilen > len - 1 - 1)
		return ERR_REPO;
	slen = b[1 + ilen];
	if (slen != len - 2 - ilen || slen < 1 || slen > SERIAL_MAX)
		return ERR_REPO;
	memcpy(issuer, b + 1, ilen);
	issuer[ilen] = '\0';
	memcpy(s->b, b + 2 + ilen, slen);
	s->len = slen;
	if (!repo_id_valid(issuer) || !repo_serial_valid(s))
		return ERR_REPO;
	return 0;
}

/* ---- reading ------------------------------------------------------------- */

static const uint8_t *
rd_take(struct repo_rd *r, size_t n, const char *field)
{
	const uint8_t *p;

	if (r->fault != NULL)
		return NULL;
	if (n > r->len - r->off) {
		r->fault = "truncated";
		r->field = field;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint64_t
rd_uint(struct repo_rd *r, size_t n, const char *field)
{
	const uint8_t *p = rd_take(r, n, field);
	uint64_t v = 0;
	size_t i;

	for (i = 0; p != NULL && i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int64_t
rd_i64(struct repo_rd *r, const char *field)
{
	uint64_t u = rd_uint(r, 8, field);

	if (u <= (uint64_t)INT64_MAX)
		return (int64_t)u;
	return -(int64_t)(~u) - 1;
}

static void
rd_bad(struct repo_rd *r, const char *fault, const char *field)
{
	if (r->fault != NULL)
		return;
	r->fault = fault;
	r->field = field;
}

/* A length-prefixed string into dst (max bytes + NUL). */
static void
rd_str(struct repo_rd *r, size_t lenbytes, size_t min, size_t max, char *dst,
    const char *field)
{
	size_t n = (size_t)rd_uint(r, lenbytes, field);
	const uint8_t *p;

	dst[0] = '\0';
	if (r->fault != NULL)
		return;
	if (n < min || n > max) {
		rd_bad(r, "length out of range", field);
		return;
	}
	if ((p = rd_take(r, n, field)) == NULL)
		return;
	if (!msg_utf8_valid((const char *)p, n)) {
		rd_bad(r, "not UTF-8 or has a NUL byte", field);
		return;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
}

/* A u8-length-prefixed byte string into dst (max bytes); returns its length. */
static size_t
rd_bytes(struct repo_rd *r, size_t min, size_t max, uint8_t *dst,
    const char *field)
{
	size_t n = (size_t)rd_uint(r, 1, field);
	const uint8_t *p;

	if (r->fault != NULL)
		return 0;
	if (n < min || n > max) {
		rd_bad(r, "length out of range", field);
		return 0;
	}
	if ((p = rd_take(r, n, field)) == NULL)
		return 0;
	memcpy(dst, p, n);
	return n;
}

static void
rd_serial(struct repo_rd *r, struct serial *s)
{
	s->len = rd_bytes(r, 1, SERIAL_MAX, s->b, "serial");
	if (r->fault == NULL && s->b[0] == 0)
		rd_bad(r, "leading zero byte", "serial");
}

static int
rd_reason(struct repo_rd *r)
{
	int reason = (int)rd_uint(r, 1, "reason") - 1;

	if (r->fault == NULL && !repo_reason_valid(reason))
		rd_bad(r, "not a CRLReason", "reason");
	return reason;
}

static int
rd_end(struct repo_rd *r, const char *what, char *why, size_t whylen)
{
	if (r->fault == NULL && r->off != r->len)
		rd_bad(r, "trailing bytes", "end");
	if (r->fault == NULL)
		return 0;
	err_why(why, whylen, "%s record: %s: %s at byte %zu", what,
	    r->field, r->fault, r->off);
	return ERR_REPO;
}

/* ---- writing ------------------------------------------------------------- */

static void
wr_uint(struct repo_wr *w, uint64_t v, size_t n)
{
	size_t i;

	if (n > w->cap - w->off) {
		w->overflow = true;
		return;
	}
	for (i = 0; i < n; i++)
		w->p[w->off + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	w->off += n;
}

static void
wr_bytes(struct repo_wr *w, const void *p, size_t n, size_t lenbytes)
{
	if (lenbytes > 0)
		wr_uint(w, n, lenbytes);
	if (n > w->cap - w->off) {
		w->overflow = true;
		return;
	}
	if (n > 0)
		memcpy(w->p + w->off, p, n);
	w->off += n;
}

static int
wr_alloc(struct repo_wr *w, size_t cap)
{
	memset(w, 0, sizeof(*w));
	if ((w->p = malloc(cap)) == NULL)
		return ERR_NOMEM;
	w->cap = cap;
	return 0;
}

static int
wr_finish(struct repo_wr *w, uint8_t **out, size_t *len)
{
	if (w->overflow || w->off != w->cap) {
		free(w->p);
		return ERR_INTERNAL;
	}
	*out = w->p;
	*len = w->off;
	return 0;
}

/* ---- certificate records --------------------------------------------------- */

static bool
cert_valid(const struct repo_cert *c)
{
	size_t sublen = strnlen(c->subject, REPO_SUBJECT_MAX + 1);

	if (!repo_id_valid(c->issuer) || !repo_serial_valid(&c->serial) ||
	    !repo_id_valid(c->profile) || !repo_ref_valid(c->ref, c->ref_len) ||
	    sublen > REPO_SUBJECT_MAX || !msg_utf8_valid(c->subject, sublen) ||
	    !repo_reason_valid(c->reason) || c->der_len > REPO_DER_MAX ||
	    (c->der_len > 0 && c->der == NULL))
		return false;
	switch (c->status) {
	case CERT_PENDING:
		return c->der_len == 0 && c->revoked_at == 0 &&
		    c->reason == CRL_REASON_NONE;
	case CERT_ISSUED:
		return c->der_len > 0 && c->revoked_at == 0 &&
		    c->reason == CRL_REASON_NONE;
	case CERT_REVOKED:
		return true;
	}
	return false;
}

int
repo_cert_encode(const struct repo_cert *c, uint8_t **out, size_t *len)
{
	size_t ilen, plen, sublen, cap;
	struct repo_wr w;
	int rc;

	*out = NULL;
	*len = 0;
	if (c == NULL || !cert_valid(c))
		return ERR_INVAL;
	ilen = strlen(c->issuer);
	plen = strlen(c->profile);
	sublen = strlen(c->subject);
	cap = 2 + 1 + ilen + 1 + c->serial.len + 1 + plen + 1 + c->ref_len +
	    sizeof(c->req_hash) + 4 * 8 + 1 + 2 + sublen + 4 + c->der_len;
	if ((rc = wr_alloc(&w, cap)) != 0)
		return rc;
	wr_uint(&w, REPO_FORMAT, 1);
	wr_uint(&w, (uint64_t)c->status, 1);
	wr_bytes(&w, c->issuer, ilen, 1);
	wr_bytes(&w, c->serial.b, c->serial.len, 1);
	wr_bytes(&w, c->profile, plen, 1);
	wr_bytes(&w, c->ref, c->ref_len, 1);
	wr_bytes(&w, c->req_hash, sizeof(c->req_hash), 0);
	wr_uint(&w, (uint64_t)c->not_before, 8);
	wr_uint(&w, (uint64_t)c->not_after, 8);
	wr_uint(&w, (uint64_t)c->created, 8);
	wr_uint(&w, (uint64_t)c->revoked_at, 8);
	wr_uint(&w, (uint64_t)(c->reason + 1), 1);
	wr_bytes(&w, c->subject, sublen, 2);
	wr_bytes(&w, c->der, c->der_len, 4);
	return wr_finish(&w, out, len);
}

/* The fields after the fixed head; the DER is left to the caller. */
static void
cert_read_body(struct repo_rd *r, struct repo_cert *c)
{
	const uint8_t *p;

	rd_str(r, 1, 1, REPO_ID_MAX, c->profile, "profile");
	c->ref_len = rd_bytes(r, 1, REPO_REF_MAX, c->ref, "ref");
	if ((p = rd_take(r, sizeof(c->req_hash), "req_hash")) != NULL)
		memcpy(c->req_hash, p, sizeof(c->req_hash));
	c->not_before = rd_i64(r, "not_before");
	c->not_after = rd_i64(r, "not_after");
	c->created = rd_i64(r, "created");
	c->revoked_at = rd_i64(r, "revoked_at");
	c->reason = rd_reason(r);
	rd_str(r, 2, 0, REPO_SUBJECT_MAX, c->subject, "subject");
}

int
repo_cert_decode(const uint8_t *buf, size_t len, struct repo_cert *out,
    char *why, size_t whylen)
{
	struct repo_rd r = { .p = buf, .len = buf == NULL ? 0 : len };
	const uint8_t *p;
	size_t dlen;

	memset(out, 0, sizeof(*out));
	if (rd_uint(&r, 1, "format") != REPO_FORMAT)
		rd_bad(&r, "unknown format", "format");
	out->status = (enum cert_status)rd_uint(&r, 1, "status");
	rd_str(&r, 1, 1, REPO_ID_MAX, out->issuer, "issuer");
	rd_serial(&r, &out->serial);
	cert_read_body(&r, out);
	dlen = (size_t)rd_uint(&r, 4, "der");
	if (dlen > REPO_DER_MAX)
		rd_bad(&r, "length out of range", "der");
	if ((p = rd_take(&r, dlen, "der")) != NULL && dlen > 0) {
		if ((out->der = malloc(dlen)) == NULL) {
			err_why(why, whylen, "out of memory");
			return ERR_NOMEM;
		}
		memcpy(out->der, p, dlen);
		out->der_len = dlen;
	}
	if (r.fault == NULL && !cert_valid(out))
		rd_bad(&r, "inconsistent with the status", "status");
	if (rd_end(&r, "certificate", why, whylen) != 0) {
		repo_cert_clear(out);
		return ERR_REPO;
	}
	return 0;
}

void
repo_cert_clear(struct repo_cert *c)
{
	if (c == NULL)
		return;
	free(c->der);
	memset(c, 0, sizeof(*c));
}

/* ---- revocation records ---------------------------------------------------- */

static bool
revocation_valid(const struct repo_revocation *rev)
{
	return repo_id_valid(rev->issuer) && repo_serial_valid(&rev->serial) &&
	    repo_reason_valid(rev->reason) && rev->origin >= 1 &&
	    rev->origin <= REPO_NODE_MAX && repo_ref_valid(rev->ref, rev->ref_len);
}

int
repo_revocation_encode(const struct repo_revocation *rev, uint8_t **out,
    size_t *len)
{
	struct repo_wr w;
	size_t ilen;
	int rc;

	*out = NULL;
	*len = 0;
	if (rev == NULL || !revocation_valid(rev))
		return ERR_INVAL;
	ilen = strlen(rev->issuer);
	if ((rc = wr_alloc(&w, 1 + 1 + ilen + 1 + rev->serial.len + 8 + 1 +
	    1 + 1 + rev->ref_len)) != 0)
		return rc;
	wr_uint(&w, REPO_FORMAT, 1);
	wr_bytes(&w, rev->issuer, ilen, 1);
	wr_bytes(&w, rev->serial.b, rev->serial.len, 1);
	wr_uint(&w, (uint64_t)rev->revoked_at, 8);
	wr_uint(&w, (uint64_t)(rev->reason + 1), 1);
	wr_uint(&w, rev->origin, 1);
	wr_bytes(&w, rev->ref, rev->ref_len, 1);
	return wr_finish(&w, out, len);
}

int
repo_revocation_decode(const uint8_t *buf, size_t len,
    struct repo_revocation *out, char *why, size_t whylen)
{
	struct repo_rd r = { .p = buf, .len = buf == NULL ? 0 : len };

	memset(out, 0, sizeof(*out));
	if (rd_uint(&r, 1, "format") != REPO_FORMAT)
		rd_bad(&r, "unknown format", "format");
	rd_str(&r, 1, 1, REPO_ID_MAX, out->issuer, "issuer");
	rd_serial(&r, &out->serial);
	out->revoked_at = rd_i64(&r, "revoked_at");
	out->reason = rd_reason(&r);
	out->origin = (uint8_t)rd_uint(&r, 1, "origin");
	if (r.fault == NULL && (out->origin < 1 || out->origin > REPO_NODE_MAX))
		rd_bad(&r, "not a node id", "origin");
	out->ref_len = rd_bytes(&r, 1, REPO_REF_MAX, out->ref, "ref");
	if (rd_end(&r, "revocation", why, whylen) != 0) {
		memset(out, 0, sizeof(*out));
		return ERR_REPO;
	}
	return 0;
}

/* ---- certificate validity without a full decode ------------------------------ */

/* Skip a u8-length-prefixed field. */
static void
rd_skip8(struct repo_rd *r, const char *field)
{
	size_t n = (size_t)rd_uint(r, 1, field);

	(void)rd_take(r, n, field);
}

int
repo_cert_peek_not_after(const uint8_t *buf, size_t len, int64_t *not_after)
{
	struct repo_rd r = { .p = buf, .len = buf == NULL ? 0 : len };

	*not_after = 0;
	if (rd_uint(&r, 1, "format") != REPO_FORMAT)
		return ERR_REPO;
	(void)rd_uint(&r, 1, "status");
	rd_skip8(&r, "issuer");
	rd_skip8(&r, "serial");
	rd_skip8(&r, "profile");
	rd_skip8(&r, "ref");
	(void)rd_take(&r, CERT_HASH_LEN, "req_hash");
	(void)rd_i64(&r, "not_before");
	*not_after = rd_i64(&r, "not_after");
	if (r.fault != NULL) {
		*not_after = 0;
		return ERR_REPO;
	}
	return 0;
}

/* ---- CRL records ------------------------------------------------------------- */

static bool
crl_valid(const struct repo_crl *c)
{
	return repo_id_valid(c->issuer) && c->number >= 1 &&
	    c->delta_base < c->number && c->next_update > c->this_update &&
	    c->der_len <= REPO_CRL_MAX && (c->der_len == 0 || c->der != NULL);
}

int
repo_crl_encode(const struct repo_crl *c, uint8_t **out, size_t *len)
{
	struct repo_wr w;
	size_t ilen;
	int rc;

	*out = NULL;
	*len = 0;
	if (c == NULL || !crl_valid(c))
		return ERR_INVAL;
	ilen = strlen(c->issuer);
	if ((rc = wr_alloc(&w, 1 + 1 + ilen + 6 * 8 + 4 + c->der_len)) != 0)
		return rc;
	wr_uint(&w, REPO_FORMAT, 1);
	wr_bytes(&w, c->issuer, ilen, 1);
	wr_uint(&w, c->number, 8);
	wr_uint(&w, c->delta_base, 8);
	wr_uint(&w, (uint64_t)c->this_update, 8);
	wr_uint(&w, (uint64_t)c->next_update, 8);
	wr_uint(&w, c->rev_mark, 8);
	wr_uint(&w, c->entries, 8);
	wr_bytes(&w, c->der, c->der_len, 4);
	return wr_finish(&w, out, len);
}

int
repo_crl_decode(const uint8_t *buf, size_t len, struct repo_crl *out,
    char *why, size_t whylen)
{
	struct repo_rd r = { .p = buf, .len = buf == NULL ? 0 : len };
	size_t dlen;

	memset(out, 0, sizeof(*out));
	if (rd_uint(&r, 1, "format") != REPO_FORMAT)
		rd_bad(&r, "unknown format", "format");
	rd_str(&r, 1, 1, REPO_ID_MAX, out->issuer, "issuer");
	out->number = rd_uint(&r, 8, "number");
	out->delta_base = rd_uint(&r, 8, "delta_base");
	out->this_update = rd_i64(&r, "this_update");
	out->next_update = rd_i64(&r, "next_update");
	out->rev_mark = rd_uint(&r, 8, "rev_mark");
	out->entries = rd_uint(&r, 8, "entries");
	dlen = (size_t)rd_uint(&r, 4, "der");
	if (dlen > REPO_CRL_MAX)
		rd_bad(&r, "length out of range", "der");
	out->der = rd_take(&r, dlen, "der");
	out->der_len = out->der != NULL ? dlen : 0;
	if (dlen == 0)
		out->der = NULL;
	if (r.fault == NULL && !crl_valid(out))
		rd_bad(&r, "inconsistent numbers or times", "number");
	if (rd_end(&r, "CRL", why, whylen) != 0) {
		memset(out, 0, sizeof(*out));
		return ERR_REPO;
	}
	return 0;
}
