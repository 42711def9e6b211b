/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: checking certificates and CRLs against their issuer, and writing files atomically. */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "client/client.h"

int
client_ca_load(const char *ca_dir, const char *issuer, X509 **out,
    char *why, size_t whylen)
{
	char path[PATH_MAX];
	FILE *f;
	X509 *x;

	if (out != NULL)
		*out = NULL;
	if (ca_dir == NULL || issuer == NULL || out == NULL)
		return ERR_INVAL;
	if (!client_issuer_id_valid(issuer, strlen(issuer))) {
		err_why(why, whylen, "'%.64s' is not an issuer id", issuer);
		return ERR_INVAL;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.pem", ca_dir, issuer) >=
	    sizeof(path)) {
		err_why(why, whylen, "%s: path too long", ca_dir);
		return ERR_INVAL;
	}
	if ((f = fopen(path, "r")) == NULL) {
		err_why(why, whylen, "%s: %s", path, strerror(errno));
		return ERR_NOT_FOUND;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		err_why(why, whylen, "%s: not a PEM certificate", path);
		return ERR_INVAL;
	}
	*out = x;       /* transferred */
	return 0;
}

int
client_cert_check(X509 *ca, const uint8_t *der, size_t len, X509 **out,
    char *why, size_t whylen)
{
	const unsigned char *p = der;
	EVP_PKEY *key;
	X509 *x;

	if (out != NULL)
		*out = NULL;
	if (ca == NULL || der == NULL || len > LONG_MAX)
		return ERR_INVAL;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len) {
		X509_free(x);
		err_why(why, whylen, "the certificate does not parse as DER");
		return ERR_DECODE;
	}
	if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca))
	    != 0) {
		X509_free(x);
		err_why(why, whylen, "the certificate's issuer is not the "
		    "CA certificate's subject");
		return ERR_POLICY;
	}
	if ((key = X509_get0_pubkey(ca)) == NULL || X509_verify(x, key) != 1) {
		X509_free(x);
		err_why(why, whylen, "the certificate's signature does not "
		    "verify with the CA's key");
		return ERR_POLICY;
	}
	if (out != NULL)
		*out = x;       /* transferred */
	else
		X509_free(x);
	return 0;
}

int
client_crl_check(X509 *ca, const uint8_t *der, size_t len, X509_CRL **out,
    char *why, size_t whylen)
{
	const unsigned char *p = der;
	EVP_PKEY *key;
	X509_CRL *c;

	if (out != NULL)
		*out = NULL;
	if (ca == NULL || der == NULL || len > LONG_MAX)
		return ERR_INVAL;
	if ((c = d2i_X509_CRL(NULL, &p, (long)len)) == NULL || p != der + len) {
		X509_CRL_free(c);
		err_why(why, whylen, "the CRL does not parse as DER");
		return ERR_DECODE;
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_subject_name(ca))
	    != 0) {
		X509_CRL_free(c);
		err_why(why, whylen, "the CRL's issuer is not the CA "
		    "certificate's subject");
		return ERR_POLICY;
	}
	if ((key = X509_get0_pubkey(ca)) == NULL ||
	    X509_CRL_verify(c, key) != 1) {
		X509_CRL_free(c);
		err_why(why, whylen, "the CRL's signature does not verify with "
		    "the CA's key");
		return ERR_POLICY;
	}
	if (out != NULL)
		*out = c;       /* transferred */
	else
		X509_CRL_free(c);
	return 0;
}

/* fsync the directory holding path, so that the rename survives a crash. */
static int
sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc;

	if (strlen(path) >= sizeof(copy))
		return -1;
	strcpy(copy, path);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
write_fd(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A path that names a device, FIFO or socket (/dev/null, /dev/stdout) is
 * written to, never replaced: renaming over it would put a file in its place.
 */
static int
write_special(const char *path, const void *buf, size_t len, char *why,
    size_t whylen)
{
	int fd, rc;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
		err_why(why, whylen, "%s: %s", path, strerror(errno));
		return ERR_SYSTEM;
	}
	rc = write_fd(fd, buf, len);
	if (close(fd) != 0)
		rc = -1;
	if (rc != 0) {
		err_why(why, whylen, "%s: write failed: %s", path,
		    strerror(errno));
		return ERR_SYSTEM;
	}
	return 0;
}

int
client_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, char *why, size_t whylen)
{
	char tmp[PATH_MAX];
	struct stat st;
	const char *step;
	int fd;

	if (path == NULL || (buf == NULL && len > 0))
		return ERR_INVAL;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISDIR(st.st_mode))
		return write_special(path, buf, len, why, whylen);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp)) {
		err_why(why, whylen, "%s: path too long", path);
		return ERR_INVAL;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		err_why(why, whylen, "%s: cannot create a temporary file: %s",
		    path, strerror(errno));
		return ERR_SYSTEM;
	}
	step = "write";
	if (fchmod(fd, mode) != 0)
		step = "chmod";
	else if (write_fd(fd, buf, len) == 0 && (step = "fsync",
	    fsync(fd) == 0) && (step = "close", close(fd) == 0)) {
		fd = -1;
		step = "rename";
		if (rename(tmp, path) == 0) {
			(void)sync_dir(path);
			return 0;
		}
	}
	err_why(why, whylen, "%s: %s failed: %s", tmp, step, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return ERR_SYSTEM;
}

/* The bytes a BIO memory sink collected, written to path or stdout. */
static int
write_bio(BIO *b, const char *path, char *why, size_t whylen)
{
	char *data;
	long n;

	if ((n = BIO_get_mem_data(b, &data)) < 0)
		return ERR_INTERNAL;
	if (path != NULL)
		return client_write_atomic(path, data, (size_t)n, 0644, why,
		    whylen);
	if (fwrite(data, 1, (size_t)n, stdout) != (size_t)n ||
	    fflush(stdout) != 0) {
		err_why(why, whylen, "standard output: %s", strerror(errno));
		return ERR_SYSTEM;
	}
	return 0;
}

int
client_write_cert(X509 *x, const char *path, char *why, size_t whylen)
{
	BIO *b;
	int rc;

	if (x == NULL)
		return ERR_INVAL;
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return ERR_NOMEM;
	if (PEM_write_bio_X509(b, x) != 1)
		rc = ERR_INTERNAL;
	else
		rc = write_bio(b, path, why, whylen);
	BIO_free(b);
	return rc;
}

int
client_write_crl(const uint8_t *der, size_t len, const char *path,
    char *why, size_t whylen)
{
	if (der == NULL || path == NULL)
		return ERR_INVAL;
	return client_write_atomic(path, der, len, 0644, why, whylen);
}

int
client_save_cert(const char *ca_dir, const char *issuer, const uint8_t *der,
    size_t len, const char *path, X509 **out, char *why, size_t whylen)
{
	X509 *ca = NULL, *x = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if ((rc = client_ca_load(ca_dir, issuer, &ca, why, whylen)) != 0)
		return rc;
	if ((rc = client_cert_check(ca, der, len, &x, why, whylen)) == 0 &&
	    (rc = client_write_cert(x, path, why, whylen)) == 0 && out != NULL) {
		*out = x;       /* transferred */
		x = NULL;
	}
	X509_free(x);
	X509_free(ca);
	return rc;
}

int
client_save_crl(const char *ca_dir, const char *issuer, const uint8_t *der,
    size_t len, const char *path, char *why, size_t whylen)
{
	X509 *ca = NULL;
	int rc;

	if ((rc = client_ca_load(ca_dir, issuer, &ca, why, whylen)) != 0)
		return rc;
	if ((rc = client_crl_check(ca, der, len, NULL, why, whylen)) == 0)
		rc = client_write_crl(der, len, path, why, whylen);
	X509_free(ca);
	return rc;
}
