/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: the repository's record, CRL record and event decoders, with re-encoding of whatever decodes. */

#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "signer/signer.h"

#define FUZZ_WHY_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* A failed decode says why, within bounds; a good one says nothing. */
static void
check_why(const char *why, int rc)
{
	check(memchr(why, '\0', FUZZ_WHY_MAX) != NULL);
	check(rc == 0 || rc == ERR_REPO || rc == ERR_NOMEM);
	check(rc == 0 || why[0] != '\0');
}

/* Records have one encoding: what decodes encodes to the same bytes. */
static void
fuzz_cert(const uint8_t *data, size_t size)
{
	char why[FUZZ_WHY_MAX];
	struct repo_cert c;
	uint8_t *buf;
	size_t len;
	int rc;

	memset(why, 0, sizeof(why));
	rc = repo_cert_decode(data, size, &c, why, sizeof(why));
	check_why(why, rc);
	if (rc != 0) {
		check(c.der == NULL);
		return;
	}
	check(c.der_len <= REPO_DER_MAX && c.ref_len <= REPO_REF_MAX);
	check(c.status != CERT_PENDING || c.der == NULL);
	check(repo_cert_encode(&c, &buf, &len) == 0);
	check(len == size && memcmp(buf, data, size) == 0);
	free(buf);
	repo_cert_clear(&c);
}

static void
fuzz_revocation(const uint8_t *data, size_t size)
{
	char why[FUZZ_WHY_MAX];
	struct repo_revocation r;
	uint8_t *buf;
	size_t len;
	int rc;

	memset(why, 0, sizeof(why));
	rc = repo_revocation_decode(data, size, &r, why, sizeof(why));
	check_why(why, rc);
	if (rc != 0)
		return;
	check(r.origin >= 1 && r.origin <= 127);
	check(repo_revocation_encode(&r, &buf, &len) == 0);
	check(len == size && memcmp(buf, data, size) == 0);
	free(buf);
}

/* msgpack has several encodings of a value: compare after a second decode. */
static void
fuzz_event(const uint8_t *data, size_t size)
{
	char why[FUZZ_WHY_MAX];
	struct repo_event ev, ev2;
	uint8_t *buf;
	size_t len;
	int rc;

	memset(why, 0, sizeof(why));
	rc = repo_event_decode(data, size, &ev, why, sizeof(why));
	check_why(why, rc);
	if (rc != 0) {
		check(ev.cert.der == NULL);
		return;
	}
	check(repo_event_encode(&ev, &buf, &len) == 0);
	check(repo_event_decode(buf, len, &ev2, why, sizeof(why)) == 0);
	check(ev2.type == ev.type && ev2.origin == ev.origin &&
	    ev2.seq == ev.seq);
	if (ev.type == REPO_EVENT_ISSUE)
		check(ev2.cert.der_len == ev.cert.der_len &&
		    memcmp(ev2.cert.der, ev.cert.der, ev.cert.der_len) == 0 &&
		    strcmp(ev2.cert.subject, ev.cert.subject) == 0 &&
		    serial_cmp(&ev2.cert.serial, &ev.cert.serial) == 0 &&
		    ev2.cert.not_after == ev.cert.not_after);
	else if (ev.type == REPO_EVENT_CRL)
		check(strcmp(ev2.crl.issuer, ev.crl.issuer) == 0 &&
		    ev2.crl.number == ev.crl.number &&
		    ev2.crl.delta_base == ev.crl.delta_base &&
		    ev2.crl.this_update == ev.crl.this_update &&
		    ev2.crl.next_update == ev.crl.next_update &&
		    ev.crl.delta_base < ev.crl.number);
	else
		check(strcmp(ev2.rev.issuer, ev.rev.issuer) == 0 &&
		    serial_cmp(&ev2.rev.serial, &ev.rev.serial) == 0 &&
		    ev2.rev.revoked_at == ev.rev.revoked_at &&
		    ev2.rev.reason == ev.rev.reason &&
		    ev2.rev.origin == ev.rev.origin &&
		    ev2.rev.ref_len == ev.rev.ref_len &&
		    memcmp(ev2.rev.ref, ev.rev.ref, ev.rev.ref_len) == 0);
	free(buf);
	repo_event_clear(&ev2);
	repo_event_clear(&ev);
}

static void
fuzz_crl(const uint8_t *data, size_t size)
{
	char why[FUZZ_WHY_MAX];
	struct repo_crl c;
	uint8_t *buf;
	size_t len;
	int rc;

	memset(why, 0, sizeof(why));
	rc = repo_crl_decode(data, size, &c, why, sizeof(why));
	check_why(why, rc);
	if (rc != 0)
		return;
	check(c.der_len <= REPO_CRL_MAX && c.number >= 1 &&
	    c.delta_base < c.number && c.next_update > c.this_update);
	check(c.der == NULL || (c.der >= data && c.der + c.der_len <= data + size));
	check(repo_crl_encode(&c, &buf, &len) == 0);
	check(len == size && memcmp(buf, data, size) == 0);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cert(data, size);
	fuzz_crl(data, size);
	fuzz_revocation(data, size);
	fuzz_event(data, size);
	return 0;
}
