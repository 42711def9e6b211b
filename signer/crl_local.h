/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internals of CRL making shared by signer/crl.c and signer/crl_der.c. */
#ifndef SIGNER_CRL_LOCAL_H
#define SIGNER_CRL_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm.h"
#include "signer/signer.h"

#define CRL_DER_MAX (HSM_TBS_MAX + 65536) /* largest CRL made, envelope included */
#define CRL_DER_HDR_MAX 6       /* tag, 0x84 and four length bytes */
#define CRL_DER_TIME_MAX 17     /* GeneralizedTime: tag, length, 15 characters */
#define CRL_DER_ENTRY_MAX 64    /* longest revokedCertificates entry (56 bytes) */
#define CRL_TIME_MAX CERT_TIME_MAX

/*
 * DER under construction: the content is buf[head .. head + len); headers
 * go in front (crl_der_prepend, crl_der_wrap) into the room kept there.
 */
struct crl_der {
	uint8_t *buf;
	size_t cap;
	size_t head;
	size_t len;
};

/* An empty buffer with room bytes in front and hint bytes behind; 0, ERR_INVAL or ERR_NOMEM. */
int crl_der_init(struct crl_der *d, size_t room, size_t hint);
void crl_der_free(struct crl_der *d);
/* Append n bytes; 0, ERR_NOSPACE (past CRL_DER_MAX) or ERR_NOMEM. */
int crl_der_put(struct crl_der *d, const void *p, size_t n);
/* Put n bytes in front of the content; ERR_NOSPACE when the room is used up. */
int crl_der_prepend(struct crl_der *d, const void *p, size_t n);
/* Make the whole content the value of one TLV with tag. */
int crl_der_wrap(struct crl_der *d, uint8_t tag);
/* A Time (UTCTime 1950..2049, else GeneralizedTime) into out; its size, 0 if t is out of range. */
size_t crl_der_time(int64_t t, uint8_t out[CRL_DER_TIME_MAX]);
/* Append one revokedCertificates entry; 0, ERR_INVAL, ERR_NOSPACE or ERR_NOMEM. */
int crl_der_entry(struct crl_der *d, const struct repo_crl_entry *e);

/* A reader of DER that crl_der made: strict definite lengths, bounds checked. */
struct crl_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
};

/* One TLV read: the whole of it and its value. */
struct crl_tlv {
	uint8_t tag;
	const uint8_t *tlv;
	size_t tlv_len;
	const uint8_t *val;
	size_t len;
};

void crl_rd_init(struct crl_rd *r, const uint8_t *p, size_t len);
/* The next TLV into *t; 0 or ERR_DECODE (truncated, indefinite or non-minimal length). */
int crl_der_next(struct crl_rd *r, struct crl_tlv *t);
/* Is everything read? */
bool crl_rd_end(const struct crl_rd *r);

#endif /* SIGNER_CRL_LOCAL_H */
