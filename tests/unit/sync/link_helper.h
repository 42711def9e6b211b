/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sync tests and benchmarks: link certificates made on the spot, and a free loopback port. */
#ifndef TESTS_UNIT_SYNC_LINK_HELPER_H
#define TESTS_UNIT_SYNC_LINK_HELPER_H

/* Header-only (static functions), without cmocka: the sync bench uses it too. */

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "sync/sync.h"

#define LINK_HELPER_DAYS 30     /* validity of a link certificate */

/* The key as PEM in a new file of mode 0600. */
static int
link_key_write(const char *path, EVP_PKEY *key)
{
	FILE *f;
	int fd, rc;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
		return -1;
	if (fchmod(fd, 0600) != 0 || (f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	rc = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1 ?
	    0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* A self-signed certificate for key with subject CN=cn, valid from an hour ago. */
static X509 *
link_x509(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	uint64_t serial;
	int ok;

	ok = x != NULL && name != NULL &&
	    RAND_bytes((unsigned char *)&serial, sizeof(serial)) == 1 &&
	    X509_set_version(x, X509_VERSION_3) == 1 &&
	    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x),
	    (serial >> 1) | 1) == 1 &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) == 1 &&
	    X509_set_subject_name(x, name) == 1 &&
	    X509_set_issuer_name(x, name) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)LINK_HELPER_DAYS * 86400) != NULL &&
	    X509_set_pubkey(x, key) == 1 &&
	    X509_sign(x, key, EVP_sha256()) > 0;
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/*
 * A link certificate (EC P-256, self-signed, CN=cn) in cert, its key in key
 * (mode 0600, must not exist), and the certificate's fingerprint in fp.
 * 0 or -1.
 */
static int
link_cert_make(const char *cert, const char *key, const char *cn,
    char fp[SYNC_FINGERPRINT_TEXT])
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char why[256];
	X509 *x = NULL;
	FILE *f;
	int rc = -1;

	if (k == NULL || (x = link_x509(k, cn)) == NULL ||
	    link_key_write(key, k) != 0 || (f = fopen(cert, "w")) == NULL)
		goto out;
	rc = PEM_write_X509(f, x) == 1 ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && sync_fingerprint_file(cert, fp, why, sizeof(why)) != 0) {
		fprintf(stderr, "link certificate %s: %s\n", cert, why);
		rc = -1;
	}
out:
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

/* A loopback TCP port nobody listens on right now (bound to port 0, then closed). */
static int
link_port_free(uint16_t *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd, rc = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
		*port = ntohs(a.sin_port);
		rc = 0;
	}
	close(fd);
	return rc;
}

#endif /* TESTS_UNIT_SYNC_LINK_HELPER_H */
