/* SPDX-License-Identifier: GPL-3.0-or-later */
/* benchmarks: clocks, and a fresh P-256 key's certificate request as a web host would send it. */
#ifndef TESTS_BENCH_BENCH_UTIL_H
#define TESTS_BENCH_BENCH_UTIL_H

/* Header-only (static functions): each benchmark is built on its own. */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Seconds on clock id. */
static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds on the monotonic clock. */
static double
now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* A DER CSR with subject CN=cn for a new P-256 key (OPENSSL_free), or NULL. */
static uint8_t *
bench_csr_p256(const char *cn, size_t *len)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	int n = -1;

	if (key != NULL && req != NULL && name != NULL &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) == 1 &&
	    X509_REQ_set_subject_name(req, name) == 1 &&
	    X509_REQ_set_pubkey(req, key) == 1 &&
	    X509_REQ_sign(req, key, EVP_sha256()) > 0)
		n = i2d_X509_REQ(req, &der);
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	if (n <= 0) {
		OPENSSL_free(der);
		return NULL;
	}
	*len = (size_t)n;
	return der;
}

#endif /* TESTS_BENCH_BENCH_UTIL_H */
