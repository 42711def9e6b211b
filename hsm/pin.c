/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm: read the token PIN from a private file or an environment variable, checking the file's owner and mode. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hsm/hsm_local.h"

/* A file holds the PIN and at most a "\r\n"; more is an error. */
#define HSM_PIN_FILE_MAX (HSM_PIN_MAX + 2)

/* Refuse a PIN file that another user could read or replace. */
static int
hsm_pin_file_check(const char *file, const struct stat *st, char *why,
    size_t whylen)
{
	if (!S_ISREG(st->st_mode)) {
		err_why(why, whylen, "PIN file %s: not a regular file", file);
		return ERR_CONFIG;
	}
	if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		err_why(why, whylen, "PIN file %s: mode %04o gives group or "
		    "others access; it must be 0600 or stricter", file,
		    (unsigned)(st->st_mode & 07777));
		return ERR_CONFIG;
	}
	if (st->st_uid != geteuid()) {
		err_why(why, whylen, "PIN file %s: owned by uid %lu, not by "
		    "this process's user (uid %lu)", file,
		    (unsigned long)st->st_uid, (unsigned long)geteuid());
		return ERR_CONFIG;
	}
	return 0;
}

/* Read at most cap bytes of fd into buf; *len is set. */
static int
hsm_pin_file_load(int fd, char *buf, size_t cap, size_t *len)
{
	ssize_t n;

	*len = 0;
	while (*len < cap) {
		n = read(fd, buf + *len, cap - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

/*
 * Drop one trailing "\n" or "\r\n" from buf (len bytes, room for one
 * more), check that what is left is a PIN of at most max bytes and
 * NUL-terminate it. kind and name say where it came from.
 */
static int
hsm_pin_text(const char *kind, const char *name, char *buf, size_t len,
    size_t max, char *why, size_t whylen)
{
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	if (len == 0) {
		err_why(why, whylen, "%s %s: empty PIN", kind, name);
		return ERR_CONFIG;
	}
	if (len > max) {
		err_why(why, whylen, "%s %s: PIN longer than %zu bytes", kind,
		    name, max);
		return ERR_CONFIG;
	}
	if (memchr(buf, '\0', len) != NULL) {
		err_why(why, whylen, "%s %s: PIN contains a NUL byte", kind,
		    name);
		return ERR_CONFIG;
	}
	buf[len] = '\0';
	return 0;
}

static int
hsm_pin_from_file(const char *file, char *pin, size_t cap, char *why,
    size_t whylen)
{
	char buf[HSM_PIN_FILE_MAX + 2];
	struct stat st;
	size_t len;
	int fd, r;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		err_why(why, whylen, "PIN file %s: %s", file, strerror(errno));
		return ERR_CONFIG;
	}
	/* Check the file actually opened, whatever a symlink pointed at. */
	if (fstat(fd, &st) == -1) {
		err_why(why, whylen, "PIN file %s: %s", file, strerror(errno));
		close(fd);
		return ERR_CONFIG;
	}
	if ((r = hsm_pin_file_check(file, &st, why, whylen)) != 0) {
		close(fd);
		return r;
	}
	r = hsm_pin_file_load(fd, buf, HSM_PIN_FILE_MAX + 1, &len);
	close(fd);
	if (r == -1) {
		err_why(why, whylen, "PIN file %s: %s", file, strerror(errno));
		r = ERR_CONFIG;
	} else if (len > HSM_PIN_FILE_MAX) {
		err_why(why, whylen, "PIN file %s: longer than a PIN of %d "
		    "bytes and a newline", file, HSM_PIN_MAX);
		r = ERR_CONFIG;
	} else if ((r = hsm_pin_text("PIN file", file, buf, len, cap - 1,
	    why, whylen)) == 0)
		memcpy(pin, buf, strlen(buf) + 1);
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

static int
hsm_pin_from_env(const char *name, char *pin, size_t cap, char *why,
    size_t whylen)
{
	char buf[HSM_PIN_FILE_MAX + 2];
	const char *v = getenv(name);
	size_t len;
	int r;

	if (v == NULL) {
		err_why(why, whylen, "PIN variable %s is not set", name);
		return ERR_CONFIG;
	}
	len = strlen(v);
	if (len > HSM_PIN_FILE_MAX) {
		err_why(why, whylen, "PIN variable %s: PIN longer than %zu "
		    "bytes", name, cap - 1);
		return ERR_CONFIG;
	}
	memcpy(buf, v, len);
	if ((r = hsm_pin_text("PIN variable", name, buf, len, cap - 1, why,
	    whylen)) == 0)
		memcpy(pin, buf, strlen(buf) + 1);
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

/*
 * Read the PIN into pin (cap bytes, NUL-terminated; at most HSM_PIN_MAX
 * bytes of PIN) from file or, if file is NULL, the variable env. The
 * caller wipes pin. Returns 0 or ERR_CONFIG with the reason.
 */
int
hsm_pin_read(const char *file, const char *env, char *pin, size_t cap,
    char *why, size_t whylen)
{
	if (cap < 2) {
		err_why(why, whylen, "no room for a PIN");
		return ERR_INVAL;
	}
	pin[0] = '\0';
	if (cap > HSM_PIN_MAX + 1)
		cap = HSM_PIN_MAX + 1;
	if (file != NULL)
		return hsm_pin_from_file(file, pin, cap, why, whylen);
	if (env != NULL)
		return hsm_pin_from_env(env, pin, cap, why, whylen);
	err_why(why, whylen, "no PIN source");
	return ERR_INVAL;
}
