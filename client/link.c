/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: one request at a time over the serial line, with timeouts, identical resends and matching by id. */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "client/client.h"

#define LINK_READ_CHUNK 4096
#define LINK_RESEND 1   /* internal: a "frame" error asks for the request again */

/* What a received response means to the request waiting for it. */
enum verdict {
	VERDICT_IGNORE = 0,     /* stray or late: another request's */
	VERDICT_OURS = 1,       /* the success we wait for */
	VERDICT_RESEND = 2,     /* the signer could not read a frame */
};

struct link {
	const struct conf_client *conf; /* NULL for link_from_fd */
	size_t cur;                     /* index of the open signer in conf */
	int fd;
	struct link_params p;
	uint32_t peer_max;              /* the signer's max_frame, from hello */
	struct frame_decoder *dec;
	uint32_t next_id;
	size_t sent;
	uint8_t rbuf[LINK_READ_CHUNK];  /* bytes read but not yet decoded */
	size_t rlen, roff;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A random first id, so that a late answer to an earlier run cannot match. */
static uint32_t
first_id(void)
{
	uint32_t r = 0;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)getpid();
	r &= 0x7fffffffu;
	return r == 0 ? 1 : r;
}

static struct link *
link_new(const struct link_params *p)
{
	struct link *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->fd = -1;
	l->p = *p;
	l->peer_max = p->max_frame;
	l->next_id = first_id();
	if ((l->dec = frame_decoder_new(p->max_frame)) == NULL) {
		free(l);
		return NULL;
	}
	return l;
}

static void
link_close(struct link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->rlen = l->roff = 0;
	frame_decoder_reset(l->dec);
}

/* Open signer i of the configuration. */
static int
link_open_at(struct link *l, size_t i, char *why, size_t whylen)
{
	const struct conf_serial *s = &l->conf->signers[i];
	int rc;

	link_close(l);
	if ((rc = line_open(s->device, s->baud, s->rtscts, &l->fd, why,
	    whylen)) != 0) {
		l->fd = -1;
		return rc;
	}
	l->cur = i;
	return 0;
}

int
link_open(const struct conf_client *c, struct link **out, char *why,
    size_t whylen)
{
	struct link_params p;
	struct link *l;
	size_t i;
	int rc = ERR_CONFIG;

	if (out != NULL)
		*out = NULL;
	if (c == NULL || out == NULL || c->n_signers == 0)
		return ERR_INVAL;
	p.max_frame = c->max_frame;
	p.timeout_ms = c->timeout_ms;
	p.retries = c->retries;
	if ((l = link_new(&p)) == NULL)
		return ERR_NOMEM;
	l->conf = c;
	for (i = 0; i < c->n_signers && i < CONF_SIGNERS_MAX; i++)
		if ((rc = link_open_at(l, i, why, whylen)) == 0)
			break;
	if (rc != 0) {
		link_free(l);
		return rc;
	}
	*out = l;       /* transferred */
	return 0;
}

int
link_from_fd(int fd, const struct link_params *p, struct link **out)
{
	struct link *l;

	if (out != NULL)
		*out = NULL;
	if (fd < 0 || p == NULL || out == NULL || p->max_frame < FRAME_MAX_MIN ||
	    p->max_frame > FRAME_MAX_LIMIT)
		return ERR_INVAL;
	if ((l = link_new(p)) == NULL)
		return ERR_NOMEM;
	l->fd = fd;
	*out = l;       /* transferred */
	return 0;
}

void
link_free(struct link *l)
{
	if (l == NULL)
		return;
	link_close(l);
	frame_decoder_free(l->dec);
	free(l);
}

size_t
link_sent(const struct link *l)
{
	return l == NULL ? 0 : l->sent;
}

void
link_set_peer_max(struct link *l, uint32_t max)
{
	if (l != NULL && max >= FRAME_MAX_MIN)
		l->peer_max = max;
}

uint32_t
link_send_max(const struct link *l)
{
	if (l == NULL)
		return 0;
	return l->peer_max < l->p.max_frame ? l->peer_max : l->p.max_frame;
}

/* Write all of buf before the deadline. */
static int
write_all(struct link *l, const uint8_t *buf, size_t len, int64_t deadline)
{
	struct pollfd pfd = { .fd = l->fd, .events = POLLOUT };
	int64_t left;
	ssize_t n;

	while (len > 0) {
		if ((n = write(l->fd, buf, len)) > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return ERR_LINK;
		if ((left = deadline - now_ms()) <= 0)
			return ERR_TIMEOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return ERR_LINK;
	}
	return 0;
}

/* A leading 0x00 ends whatever garbage the receiver holds, then the frame. */
static int
send_frame(struct link *l, const uint8_t *frame, size_t len, int64_t deadline)
{
	static const uint8_t delim = FRAME_DELIM;
	int rc;

	l->sent++;
	if ((rc = write_all(l, &delim, 1, deadline)) != 0)
		return rc;
	return write_all(l, frame, len, deadline);
}

/* Read more bytes into rbuf before the deadline. */
static int
fill(struct link *l, int64_t deadline)
{
	struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
	int64_t left;
	ssize_t n;

	for (;;) {
		if ((n = read(l->fd, l->rbuf, sizeof(l->rbuf))) > 0) {
			l->rlen = (size_t)n;
			l->roff = 0;
			return 0;
		}
		/* A pty whose other side closed reads EIO, a pipe 0. */
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return ERR_LINK;
		if ((left = deadline - now_ms()) <= 0)
			return ERR_TIMEOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return ERR_LINK;
	}
}

/*
 * A decoded response for request id: an enum verdict, or the error the
 * signer answered (with id, or with id 0 for a request it could not read).
 */
static int
response_verdict(const struct msg *m, uint32_t id, char *why, size_t whylen)
{
	if (m->id != id && m->id != 0)
		return VERDICT_IGNORE;
	if (m->ok)
		return m->id == id ? VERDICT_OURS : VERDICT_IGNORE;
	if (m->id == 0 && m->err_code_len == 5 &&
	    memcmp(m->err_code, "frame", 5) == 0)
		return VERDICT_RESEND;
	err_why(why, whylen, "%.*s: %.*s", (int)m->err_code_len, m->err_code,
	    (int)m->err_message_len, m->err_message);
	return err_from_wire_code(m->err_code, m->err_code_len);
}

/*
 * Wait for the response to id. Returns 0 (resp holds a success), LINK_RESEND,
 * ERR_TIMEOUT, ERR_LINK or the error the signer answered.
 */
static int
await(struct link *l, uint32_t id, int64_t deadline, struct msg *resp,
    char *why, size_t whylen)
{
	const uint8_t *payload;
	size_t used, plen;
	int rc, v;

	for (;;) {
		if (l->roff == l->rlen && (rc = fill(l, deadline)) != 0)
			return rc;
		rc = frame_decoder_push(l->dec, l->rbuf + l->roff,
		    l->rlen - l->roff, &used, &payload, &plen);
		l->roff += used;
		/* Bad frames and undecodable responses are dropped: the timeout covers them. */
		if (rc != 1 || msg_decode_response(payload, plen, resp, NULL,
		    0) != 0)
			continue;
		if ((v = response_verdict(resp, id, why, whylen)) == VERDICT_OURS)
			return 0;
		if (v == VERDICT_RESEND)
			return LINK_RESEND;
		if (v < 0)
			return v;
	}
}

/* Pack and frame the request; ERR_INVAL when it is larger than max_frame. */
static int
build(struct link *l, uint32_t id, const char *cmd, uint32_t nargs,
    link_args_fn fn, void *arg, uint8_t **frame, size_t *flen, char *why,
    size_t whylen)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_request(&pk, id, cmd, nargs);
	if (fn != NULL)
		fn(&pk, arg);
	if (sb.size > link_send_max(l)) {
		err_why(why, whylen, "request '%s' is %zu bytes, more than "
		    "max_frame %u", cmd, sb.size, link_send_max(l));
		rc = ERR_INVAL;
	} else
		rc = msg_frame(&sb, frame, flen);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

/* After a timeout or hang-up: the next signer, or the same one again. */
static int
link_recover(struct link *l, int rc, size_t *tries, char *why, size_t whylen)
{
	size_t next;

	if (l->conf == NULL)
		return rc == ERR_LINK ? rc : 0;
	next = l->cur;
	if (rc == ERR_TIMEOUT && *tries > l->p.retries &&
	    l->cur + 1 < l->conf->n_signers) {
		next = l->cur + 1;
		*tries = 0;
	} else if (rc != ERR_LINK)
		return 0;
	return link_open_at(l, next, why, whylen);
}

int
link_call(struct link *l, const char *cmd, uint32_t nargs, link_args_fn fn,
    void *arg, struct msg *resp, char *why, size_t whylen)
{
	uint8_t *frame = NULL;
	size_t flen, tries = 0;
	uint32_t id;
	int rc;

	if (l == NULL || cmd == NULL || resp == NULL)
		return ERR_INVAL;
	id = l->next_id;
	l->next_id = l->next_id == UINT32_MAX ? 1 : l->next_id + 1;
	if ((rc = build(l, id, cmd, nargs, fn, arg, &frame, &flen, why,
	    whylen)) != 0)
		goto out;
	for (;;) {
		int64_t deadline = now_ms() + l->p.timeout_ms;

		tries++;
		rc = l->fd < 0 ? ERR_LINK : send_frame(l, frame, flen, deadline);
		if (rc == 0)
			rc = await(l, id, deadline, resp, why, whylen);
		if (rc != LINK_RESEND && rc != ERR_TIMEOUT && rc != ERR_LINK)
			break;
		if (tries > l->p.retries && (l->conf == NULL ||
		    l->cur + 1 >= l->conf->n_signers || rc != ERR_TIMEOUT))
			break;
		if (rc != LINK_RESEND &&
		    (rc = link_recover(l, rc, &tries, why, whylen)) != 0)
			break;
	}
	if (rc == LINK_RESEND) {
		err_why(why, whylen, "frame: the signer kept rejecting the "
		    "request's frame");
		rc = ERR_FRAME_CRC;
	} else if (rc == ERR_TIMEOUT)
		err_why(why, whylen, "no answer to '%s' after %zu attempt(s) of "
		    "%u ms", cmd, tries, l->p.timeout_ms);
	else if (rc == ERR_LINK)
		err_why(why, whylen, "the line hung up during '%s'", cmd);
out:
	free(frame);
	return rc;
}
