/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sync: one non-blocking TLS connection carrying the serial line's frames: connect, handshake, frames in, frames out. */

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "sync/sync_local.h"

int
conn_new(SSL_CTX *ctx, int fd, bool server, bool connecting,
    const char *peer, struct sync_conn **out)
{
	struct sync_conn *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return ERR_NOMEM;
	}
	c->fd = fd;
	c->state = connecting ? CONN_CONNECTING : CONN_HANDSHAKE;
	c->opened_ms = c->last_rx_ms = sync_now_ms();
	c->next_id = 1;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	if ((c->dec = frame_decoder_new(SYNC_FRAME_MAX)) == NULL ||
	    (c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, fd) != 1) {
		conn_free(c);
		return ERR_NOMEM;
	}
	if (server)
		SSL_set_accept_state(c->ssl);
	else
		SSL_set_connect_state(c->ssl);
	*out = c;
	return 0;
}

void
conn_free(struct sync_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		/* A courtesy to the peer: no waiting for its answer. */
		if (c->state == CONN_OPEN)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	ERR_clear_error();
	if (c->fd >= 0)
		close(c->fd);
	frame_decoder_free(c->dec);
	free(c->out);
	free(c);
}

short
conn_poll_events(const struct sync_conn *c)
{
	if (c->state == CONN_CONNECTING)
		return POLLOUT;
	if (c->want_write || conn_pending(c) > 0)
		return POLLIN | POLLOUT;
	return POLLIN;
}

size_t
conn_pending(const struct sync_conn *c)
{
	return c->out_len - c->out_off;
}

/*
 * What a failed TLS call means: 1 when it only waits for the socket, else
 * an error with why.
 */
static int
conn_ssl_fail(struct sync_conn *c, int ret, const char *what, char *why,
    size_t whylen)
{
	int e = SSL_get_error(c->ssl, ret);
	char prefix[SYNC_HOST_MAX + 64];

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		c->want_write = e == SSL_ERROR_WANT_WRITE;
		return 1;
	}
	snprintf(prefix, sizeof(prefix), "%s: %s", c->peer, what);
	if (e == SSL_ERROR_ZERO_RETURN) {
		err_why(why, whylen, "%s: closed by the peer", prefix);
		return ERR_LINK;
	}
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		err_why(why, whylen, "%s: %s", prefix,
		    errno != 0 ? strerror(errno) : "connection closed");
		return ERR_LINK;
	}
	if (c->state == CONN_HANDSHAKE &&
	    SSL_get_verify_result(c->ssl) == X509_V_ERR_APPLICATION_VERIFICATION) {
		ERR_clear_error();
		err_why(why, whylen, "%s: the peer's certificate is not the "
		    "one pinned by peer_fingerprint", prefix);
		return ERR_BAD_REQUEST;
	}
	sync_tls_error(prefix, why, whylen);
	return c->state == CONN_HANDSHAKE ? ERR_BAD_REQUEST : ERR_LINK;
}

static int
conn_connected(struct sync_conn *c, char *why, size_t whylen)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == EINPROGRESS)
		return 1;
	if (err != 0) {
		err_why(why, whylen, "%s: connect: %s", c->peer, strerror(err));
		return ERR_LINK;
	}
	c->state = CONN_HANDSHAKE;
	return 0;
}

static int
conn_handshake(struct sync_conn *c, char *why, size_t whylen)
{
	int ret;

	ERR_clear_error();
	errno = 0;
	if ((ret = SSL_do_handshake(c->ssl)) == 1) {
		c->want_write = false;
		if (SSL_version(c->ssl) != TLS1_3_VERSION) {
			err_why(why, whylen, "%s: not TLS 1.3", c->peer);
			return ERR_BAD_REQUEST;
		}
		c->state = CONN_OPEN;
		return 0;
	}
	return conn_ssl_fail(c, ret, "TLS handshake", why, whylen);
}

/* Frames from the bytes read; each whole frame's payload goes to fn. */
static int
conn_frames(struct sync_conn *c, const uint8_t *buf, size_t len,
    conn_msg_fn fn, void *arg, char *why, size_t whylen)
{
	const uint8_t *payload;
	size_t used, plen;
	int rc;

	while (len > 0) {
		used = 0;
		rc = frame_decoder_push(c->dec, buf, len, &used, &payload,
		    &plen);
		buf += used;
		len -= used;
		if (rc == 0)
			continue;
		if (rc < 0) {
			err_why(why, whylen, "%s: bad frame: %s", c->peer,
			    err_str(rc));
			return rc;
		}
		if ((rc = fn(c, payload, plen, arg, why, whylen)) != 0)
			return rc;
		if (c->state != CONN_OPEN)
			return ERR_LINK;
	}
	return 0;
}

static int
conn_read(struct sync_conn *c, int64_t now_ms, conn_msg_fn fn, void *arg,
    char *why, size_t whylen)
{
	uint8_t buf[SYNC_READ_CHUNK];
	int ret, rc;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((ret = SSL_read(c->ssl, buf, sizeof(buf))) <= 0) {
			rc = conn_ssl_fail(c, ret, "read", why, whylen);
			return rc == 1 ? 0 : rc;
		}
		c->want_write = false;
		c->last_rx_ms = now_ms;
		if ((rc = conn_frames(c, buf, (size_t)ret, fn, arg, why,
		    whylen)) != 0)
			return rc;
	}
}

static int
conn_write(struct sync_conn *c, char *why, size_t whylen)
{
	size_t n;
	int ret, rc;

	while (conn_pending(c) > 0) {
		n = conn_pending(c);
		if (n > INT32_MAX)
			n = INT32_MAX;
		ERR_clear_error();
		errno = 0;
		if ((ret = SSL_write(c->ssl, c->out + c->out_off, (int)n)) <= 0) {
			rc = conn_ssl_fail(c, ret, "write", why, whylen);
			return rc == 1 ? 0 : rc;
		}
		c->want_write = false;
		c->out_off += (size_t)ret;
	}
	c->out_len = c->out_off = 0;
	return 0;
}

void
conn_flush(struct sync_conn *c)
{
	char why[SYNC_WHY_MAX];

	if (c->state == CONN_OPEN)
		(void)conn_write(c, why, sizeof(why));
}

int
conn_io(struct sync_conn *c, short revents, int64_t now_ms, conn_msg_fn fn,
    void *arg, char *why, size_t whylen)
{
	int rc;

	if (c->state == CONN_CONNECTING) {
		if (revents == 0)
			return 0;
		if ((rc = conn_connected(c, why, whylen)) != 0)
			return rc == 1 ? 0 : rc;
	}
	if (c->state == CONN_HANDSHAKE) {
		if ((rc = conn_handshake(c, why, whylen)) != 0)
			return rc == 1 ? 0 : rc;
	}
	/* TLS keeps bytes of its own: read even when poll saw nothing new. */
	if ((rc = conn_read(c, now_ms, fn, arg, why, whylen)) != 0)
		return rc;
	if (c->state == CONN_OPEN && (rc = conn_write(c, why, whylen)) != 0)
		return rc;
	return 0;
}

int
conn_send(struct sync_conn *c, const msgpack_sbuffer *sb)
{
	size_t need = FRAME_ENCODED_MAX(sb->size), cap, n;
	uint8_t *p;
	int rc;

	if (sb->size > SYNC_FRAME_MAX)
		return ERR_NOSPACE;
	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_len = c->out_off = 0;
	if (need > c->out_cap - c->out_len) {
		if (c->out_off > 0) {
			memmove(c->out, c->out + c->out_off, conn_pending(c));
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		for (cap = c->out_cap > 0 ? c->out_cap : 65536;
		    need > cap - c->out_len; cap *= 2)
			;
		if (cap != c->out_cap) {
			if ((p = realloc(c->out, cap)) == NULL)
				return ERR_NOMEM;
			c->out = p;
			c->out_cap = cap;
		}
	}
	if ((rc = frame_encode((const uint8_t *)sb->data, sb->size,
	    c->out + c->out_len, c->out_cap - c->out_len, &n)) != 0)
		return rc;
	c->out_len += n;
	return 0;
}
