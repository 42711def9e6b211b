/* SPDX-License-Identifier: GPL-3.0-or-later */
/* demo: make the demo token and its keys with softhsm2-util and pkcs11-tool, run as child processes whose failures are reported precisely. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "hsm/hsm.h"
#include "proto/proto.h"
#include "signer/demo_local.h"

#define TOOL_READ_CHUNK 512

/* The last DEMO_TOOL_OUT_MAX bytes of one output stream. */
struct tool_out {
	char buf[DEMO_TOOL_OUT_MAX];
	size_t len;
};

/* A running tool. */
struct tool {
	pid_t pid;
	int fd[2];              /* read ends of its stdout and stderr; -1: closed */
	int exec_fd;            /* receives errno when exec fails; EOF on success */
	struct tool_out out[2]; /* stdout, stderr */
};

static void
tool_keep(struct tool_out *o, const char *p, size_t n)
{
	size_t drop;

	if (n > sizeof(o->buf)) {
		p += n - sizeof(o->buf);
		n = sizeof(o->buf);
	}
	if (n > sizeof(o->buf) - o->len) {
		drop = n - (sizeof(o->buf) - o->len);
		memmove(o->buf, o->buf + drop, o->len - drop);
		o->len -= drop;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* In the child: wire up stdin, stdout, stderr and exec; report errno if that fails. */
static void __attribute__((noreturn))
tool_child(char *const argv[], int out, int err, int exec_fd)
{
	int e, null;

	if ((null = open("/dev/null", O_RDONLY)) == -1 || dup2(null, 0) == -1 ||
	    dup2(out, 1) == -1 || dup2(err, 2) == -1)
		e = errno;
	else {
		execvp(argv[0], argv);
		e = errno;
	}
	/* if even this write fails, the parent sees exit status 127 */
	while (write(exec_fd, &e, sizeof(e)) == -1 && errno == EINTR)
		;
	_exit(127);
}

static void
close_pair(int p[2])
{
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
}

static int
tool_start(struct tool *t, char *const argv[])
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, ex[2] = { -1, -1 };
	int e;

	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1 ||
	    pipe2(ex, O_CLOEXEC) == -1 || (t->pid = fork()) == -1) {
		e = errno;
		close_pair(out);
		close_pair(err);
		close_pair(ex);
		errno = e;
		return -1;
	}
	if (t->pid == 0)
		tool_child(argv, out[1], err[1], ex[1]);
	close(out[1]);
	close(err[1]);
	close(ex[1]);
	t->fd[0] = out[0];
	t->fd[1] = err[0];
	t->exec_fd = ex[0];
	return 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read from both streams until they end; false when the deadline passed. */
static bool
tool_collect(struct tool *t)
{
	int64_t deadline = now_ms() + DEMO_TOOL_TIMEOUT_MS, left;
	struct pollfd pfd[2];
	char chunk[TOOL_READ_CHUNK];
	ssize_t n;
	int i;

	while (t->fd[0] != -1 || t->fd[1] != -1) {
		if ((left = deadline - now_ms()) <= 0)
			return false;
		for (i = 0; i < 2; i++) {
			pfd[i].fd = t->fd[i];   /* poll() skips a negative fd */
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, 2, (int)left) == -1 && errno != EINTR)
			return false;
		for (i = 0; i < 2; i++) {
			if (t->fd[i] == -1 || pfd[i].revents == 0)
				continue;
			n = read(t->fd[i], chunk, sizeof(chunk));
			if (n > 0)
				tool_keep(&t->out[i], chunk, (size_t)n);
			else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(t->fd[i]);
				t->fd[i] = -1;
			}
		}
	}
	return true;
}

/* The last non-empty line of o, control characters replaced, cut to DEMO_TOOL_LINE_MAX. */
static void
tool_last_line(const struct tool_out *o, char *line, size_t linelen)
{
	size_t end = o->len, start, i, n = 0;
	unsigned char c;

	while (end > 0 && (o->buf[end - 1] == '\n' || o->buf[end - 1] == '\r' ||
	    o->buf[end - 1] == ' ' || o->buf[end - 1] == '\t'))
		end--;
	for (start = end; start > 0 && o->buf[start - 1] != '\n'; start--)
		;
	if (end - start > DEMO_TOOL_LINE_MAX)
		start = end - DEMO_TOOL_LINE_MAX;
	for (i = start; i < end && n + 1 < linelen; i++) {
		c = (unsigned char)o->buf[i];
		line[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	line[n] = '\0';
}

/* The outcome of a tool that ran (or did not) as 0 or an error with why. */
static int
tool_result(const char *what, const struct tool *t, int status, int exec_err,
    char *why, size_t whylen)
{
	char line[DEMO_TOOL_LINE_MAX + 1];

	if (exec_err != 0) {
		err_why(why, whylen, "%s: cannot run: %s%s", what,
		    strerror(exec_err), exec_err == ENOENT ?
		    " (not installed, or not in PATH)" : "");
		return ERR_SYSTEM;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	tool_last_line(&t->out[1], line, sizeof(line));
	if (line[0] == '\0')
		tool_last_line(&t->out[0], line, sizeof(line));
	if (WIFEXITED(status))
		err_why(why, whylen, "%s: exit status %d%s%s", what,
		    WEXITSTATUS(status), line[0] != '\0' ? ": " : "", line);
	else
		err_why(why, whylen, "%s: killed by signal %d%s%s", what,
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0,
		    line[0] != '\0' ? ": " : "", line);
	return ERR_HSM;
}

int
demo_run(const char *what, char *const argv[], char *why, size_t whylen)
{
	struct tool t;
	bool done;
	int status = 0, exec_err = 0, i;

	memset(&t, 0, sizeof(t));
	if (tool_start(&t, argv) == -1) {
		err_why(why, whylen, "%s: cannot start: %s", what,
		    strerror(errno));
		return ERR_SYSTEM;
	}
	if (!(done = tool_collect(&t)))
		kill(t.pid, SIGKILL);
	for (i = 0; i < 2; i++)
		if (t.fd[i] != -1)
			close(t.fd[i]);
	while (waitpid(t.pid, &status, 0) == -1)
		if (errno != EINTR) {
			err_why(why, whylen, "%s: cannot wait for it: %s", what,
			    strerror(errno));
			close(t.exec_fd);
			return ERR_SYSTEM;
		}
	if (read(t.exec_fd, &exec_err, sizeof(exec_err)) != sizeof(exec_err))
		exec_err = 0;
	close(t.exec_fd);
	if (!done && exec_err == 0) {
		err_why(why, whylen, "%s: no result after %d s, killed", what,
		    DEMO_TOOL_TIMEOUT_MS / 1000);
		return ERR_TIMEOUT;
	}
	return tool_result(what, &t, status, exec_err, why, whylen);
}

/*
 * The PINs go on the tools' command lines, where other local users could
 * see them in the process list for a moment. That is acceptable for a
 * throwaway demo token only; a real token is set up with its vendor's tools
 * and PIN entry.
 */
static int
token_init(struct demo *d, char *why, size_t whylen)
{
	char so_pin[DEMO_PIN_LEN + 1];
	char *argv[] = { "softhsm2-util", "--init-token", "--free", "--label",
	    SIGNER_DEMO_TOKEN, "--pin", d->pin, "--so-pin", so_pin, NULL };
	int rc;

	/* the SO PIN is never needed again: it is not kept */
	if (demo_random_hex(so_pin, DEMO_PIN_BYTES) != 0) {
		err_why(why, whylen, "no random bytes for the SO PIN");
		return ERR_INTERNAL;
	}
	rc = demo_run("softhsm2-util --init-token", argv, why, whylen);
	OPENSSL_cleanse(so_pin, sizeof(so_pin));
	return rc;
}

/* Generate key k on the token; the private key may only sign. */
static int
token_keygen(struct demo *d, const struct demo_key *k, char *why,
    size_t whylen)
{
	/* execvp() takes char *const[]: the strings are not changed */
	char *argv[] = { "pkcs11-tool", "--module", HSM_MODULE_DEFAULT,
	    "--token-label", SIGNER_DEMO_TOKEN, "--login", "--pin", d->pin,
	    "--keypairgen", "--key-type", (char *)k->key_type, "--id",
	    (char *)k->id_hex, "--label", (char *)k->label, "--usage-sign",
	    NULL };
	char what[64];

	snprintf(what, sizeof(what), "pkcs11-tool --keypairgen (key %s)",
	    k->label);
	return demo_run(what, argv, why, whylen);
}

/* Read the public key of k back from the token (DER SubjectPublicKeyInfo). */
static int
token_pubkey(const struct demo *d, const struct demo_key *k, EVP_PKEY **out,
    char *why, size_t whylen)
{
	char path[PATH_MAX], what[64];
	char *argv[] = { "pkcs11-tool", "--module", HSM_MODULE_DEFAULT,
	    "--token-label", SIGNER_DEMO_TOKEN, "--read-object", "--type",
	    "pubkey", "--id", (char *)k->id_hex, "-o", path, NULL };
	BIO *bio;
	int rc;

	*out = NULL;
	if ((rc = demo_path(d, ".pubkey.der", path, why, whylen)) != 0)
		return rc;
	snprintf(what, sizeof(what), "pkcs11-tool --read-object (key %s)",
	    k->label);
	if ((rc = demo_run(what, argv, why, whylen)) == 0) {
		if ((bio = BIO_new_file(path, "rb")) != NULL)
			*out = d2i_PUBKEY_bio(bio, NULL);
		BIO_free(bio);
		ERR_clear_error();
		if (*out == NULL) {
			err_why(why, whylen, "%s: %s is not a DER public key",
			    what, path);
			rc = ERR_HSM;
		}
	}
	unlink(path);
	return rc;
}

int
demo_token_create(struct demo *d, char *why, size_t whylen)
{
	size_t i;
	int rc;

	if ((rc = token_init(d, why, whylen)) != 0)
		return rc;
	for (i = 0; i < DEMO_KEYS; i++)
		if ((rc = token_keygen(d, &demo_keys[i], why, whylen)) != 0 ||
		    (rc = token_pubkey(d, &demo_keys[i], &d->pub[i], why,
		    whylen)) != 0)
			return rc;
	return 0;
}
