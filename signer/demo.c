/* SPDX-License-Identifier: GPL-3.0-or-later */
/* demo: create a throwaway environment (SoftHSM2 token, CAs, configuration) in an empty directory, or leave it as found. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "proto/proto.h"
#include "signer/demo_local.h"

#define DEMO_FTW_FDS 16         /* file descriptors nftw() may hold open */

const struct demo_key demo_keys[DEMO_KEYS] = {
	[DEMO_KEY_ROOT] = { "root", "01", 0x01, "rsa:3072", NULL },
	[DEMO_KEY_SERVER] = { "server-ca", "02", 0x02, "rsa:3072",
	    "chain-server.pem" },
	[DEMO_KEY_CLIENT] = { "client-ca", "03", 0x03, "EC:prime256v1",
	    "chain-client.pem" },
};


int
demo_path(const struct demo *d, const char *name, char *out, char *why,
    size_t whylen)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", d->dir, name);

	if (n < 0 || n >= PATH_MAX) {
		err_why(why, whylen, "path %s/%s is too long", d->dir, name);
		return ERR_INVAL;
	}
	return 0;
}

int
demo_write_file(const char *path, const void *buf, size_t len, mode_t mode,
    char *why, size_t whylen)
{
	const char *p = buf;
	ssize_t n;
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1) {
		err_why(why, whylen, "cannot create %s: %s", path,
		    strerror(errno));
		return ERR_SYSTEM;
	}
	/* the exact mode whatever the umask: the PIN file must be 0600 */
	if (fchmod(fd, mode) == -1)
		goto fail;
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	unlink(path);
	err_why(why, whylen, "cannot write %s: %s", path, strerror(e));
	return ERR_SYSTEM;
}

int
demo_random_hex(char *out, size_t bytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[DEMO_PIN_BYTES];
	size_t i;

	if (bytes > sizeof(b) || RAND_bytes(b, (int)bytes) != 1) {
		ERR_clear_error();
		return ERR_INTERNAL;
	}
	for (i = 0; i < bytes; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 0x0f];
	}
	out[2 * bytes] = '\0';
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}

/* Refuse a directory that holds anything: the demo never overwrites. */
static int
demo_dir_empty(const char *dir, char *why, size_t whylen)
{
	struct dirent *e;
	DIR *dp;
	int rc = 0;

	if ((dp = opendir(dir)) == NULL) {
		err_why(why, whylen, "cannot open demo directory %s: %s", dir,
		    strerror(errno));
		return ERR_SYSTEM;
	}
	while ((e = readdir(dp)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		err_why(why, whylen, "demo directory %s is not empty (it holds "
		    "'%.64s'): give a new or an empty directory", dir, e->d_name);
		rc = ERR_CONFLICT;
		break;
	}
	closedir(dp);
	return rc;
}

/*
 * Control characters would break the configuration files and messages;
 * SoftHSM2 reads '#' in its configuration as the start of a comment.
 */
static int
demo_dir_name_ok(const char *dir, char *why, size_t whylen)
{
	const unsigned char *p;

	for (p = (const unsigned char *)dir; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f) {
			err_why(why, whylen, "demo directory name contains a "
			    "control character (0x%02x)", *p);
			return ERR_INVAL;
		} else if (*p == '#') {
			err_why(why, whylen, "demo directory name %.64s contains "
			    "'#', which SoftHSM2's configuration cannot hold", dir);
			return ERR_INVAL;
		}
	if (strlen(dir) + 1 + DEMO_NAME_MAX >= PATH_MAX) {
		err_why(why, whylen, "demo directory name %.64s... is too long",
		    dir);
		return ERR_INVAL;
	}
	return 0;
}

/*
 * Create dir, or check that it is an empty directory; resolve it into
 * d->dir. *created says whether this call made it.
 */
static int
demo_dir_prepare(const char *dir, struct demo *d, bool *created, char *why,
    size_t whylen)
{
	struct stat st;
	int rc;

	*created = false;
	if ((rc = demo_dir_name_ok(dir, why, whylen)) != 0)
		return rc;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			err_why(why, whylen, "%s exists and is not a directory",
			    dir);
			return ERR_CONFLICT;
		}
		if ((rc = demo_dir_empty(dir, why, whylen)) != 0)
			return rc;
	} else if (errno != ENOENT) {
		err_why(why, whylen, "cannot examine demo directory %s: %s", dir,
		    strerror(errno));
		return ERR_SYSTEM;
	} else if (mkdir(dir, 0700) == -1) {
		err_why(why, whylen, "cannot create demo directory %s: %s", dir,
		    strerror(errno));
		return ERR_SYSTEM;
	} else
		*created = true;
	if (realpath(dir, d->dir) == NULL) {
		err_why(why, whylen, "cannot resolve demo directory %s: %s", dir,
		    strerror(errno));
		rc = ERR_SYSTEM;
	} else
		rc = demo_dir_name_ok(d->dir, why, whylen);
	if (rc != 0 && *created)
		rmdir(dir);
	return rc;
}

static int
demo_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level == 0)    /* the directory itself: the caller decides */
		return 0;
	return remove(path) == 0 ? 0 : -1;
}

/* After a failure: empty d->dir again, and remove it if this call made it. */
static void
demo_dir_undo(const struct demo *d, bool created)
{
	if (d->dir[0] == '\0')
		return;
	(void)nftw(d->dir, demo_rm_entry, DEMO_FTW_FDS, FTW_DEPTH | FTW_PHYS);
	if (created)
		(void)rmdir(d->dir);
}

/* A fresh user PIN into d->pin and the new file dir/pin (0600). */
static int
demo_pin_write(struct demo *d, char *why, size_t whylen)
{
	char line[DEMO_PIN_LEN + 2];
	int rc;

	if ((rc = demo_path(d, "pin", d->pin_file, why, whylen)) != 0)
		return rc;
	if (demo_random_hex(d->pin, DEMO_PIN_BYTES) != 0) {
		err_why(why, whylen, "no random bytes for the PIN");
		return ERR_INTERNAL;
	}
	snprintf(line, sizeof(line), "%s\n", d->pin);
	rc = demo_write_file(d->pin_file, line, strlen(line), 0600, why, whylen);
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}

static int
demo_build(struct demo *d, char *why, size_t whylen)
{
	int rc;

	if ((rc = demo_conf_softhsm(d, why, whylen)) != 0 ||
	    (rc = demo_pin_write(d, why, whylen)) != 0 ||
	    (rc = demo_token_create(d, why, whylen)) != 0 ||
	    (rc = demo_ca_create(d, (int64_t)time(NULL), why, whylen)) != 0 ||
	    (rc = demo_ca_write(d, why, whylen)) != 0)
		return rc;
	return demo_conf_write(d, why, whylen);
}

static void
demo_clear(struct demo *d)
{
	size_t i;

	for (i = 0; i < DEMO_KEYS; i++) {
		EVP_PKEY_free(d->pub[i]);
		X509_free(d->cert[i]);
	}
	OPENSSL_cleanse(d, sizeof(*d));
}

int
signer_demo_create(const char *dir, char *why, size_t whylen)
{
	struct demo *d;
	const char *env;
	char *old_conf = NULL;
	bool created;
	int rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (dir == NULL || dir[0] == '\0') {
		err_why(why, whylen, "no demo directory given");
		return ERR_INVAL;
	}
	/* struct demo holds paths of PATH_MAX bytes: keep it off the stack */
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    ((env = getenv("SOFTHSM2_CONF")) != NULL &&
	    (old_conf = strdup(env)) == NULL)) {
		free(d);
		err_why(why, whylen, "out of memory");
		return ERR_NOMEM;
	}
	if ((rc = demo_dir_prepare(dir, d, &created, why, whylen)) == 0 &&
	    (rc = demo_build(d, why, whylen)) != 0) {
		demo_dir_undo(d, created);
		if (old_conf != NULL)
			setenv("SOFTHSM2_CONF", old_conf, 1);
		else
			unsetenv("SOFTHSM2_CONF");
	}
	free(old_conf);
	demo_clear(d);
	free(d);
	return rc;
}
