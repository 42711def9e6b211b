/* SPDX-License-Identifier: GPL-3.0-or-later */
/* signerd's poll loop: the serial line and its re-opening, frames in, the request queue, batches, responses out. */

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "signer/daemon_local.h"
#include "sync/sync.h"

#define DAEMON_OUT_HIGH (4u * 1024 * 1024) /* stop answering while this much is unwritten */
#define DAEMON_DRAIN_MS 5000            /* time given to write the last responses at exit */

static volatile sig_atomic_t daemon_quit;

/* Bytes read but not yet fed to the frame decoder. */
struct daemon_input {
	uint8_t buf[DAEMON_READ_CHUNK];
	size_t off, len;
};

static void
daemon_on_signal(int sig)
{
	(void)sig;
	daemon_quit = 1;
}

int64_t
daemon_now(void)
{
	return (int64_t)time(NULL);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
daemon_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = daemon_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
}

/* ---- the line ----------------------------------------------------------- */

/* The next delay: doubled after each failure, up to the maximum. */
static void
backoff_next(struct daemon *d)
{
	d->reopen_at_ms = now_ms() + d->backoff_ms;
	d->backoff_ms = d->backoff_ms * 2 > DAEMON_BACKOFF_MAX_MS ?
	    DAEMON_BACKOFF_MAX_MS : d->backoff_ms * 2;
}

static void
line_down(struct daemon *d, const char *reason)
{
	if (d->fd < 0)
		return;
	log_warnx("%s: %s; re-opening in %u ms", d->device, reason,
	    (unsigned)d->backoff_ms);
	close(d->fd);
	d->fd = -1;
	backoff_next(d);
	d->n.reopens++;
	frame_decoder_reset(d->dec);
}

/* Put bytes at the front of the output (the 0x00 that ends a cut frame). */
static int
out_prepend_delim(struct daemon *d)
{
	if (d->out_len == d->out_cap)
		return ERR_NOMEM;
	memmove(d->out + 1, d->out, d->out_len);
	d->out[0] = FRAME_DELIM;
	d->out_len++;
	return 0;
}

static int
out_append(struct daemon *d, const uint8_t *b, size_t len)
{
	uint8_t *p;
	size_t cap;

	if (len + 1 > d->out_cap - d->out_len) {
		cap = d->out_cap * 2 + len + 1;
		if ((p = realloc(d->out, cap)) == NULL)
			return ERR_NOMEM;
		d->out = p;
		d->out_cap = cap;
	}
	memcpy(d->out + d->out_len, b, len);
	d->out_len += len;
	return 0;
}

static void
line_up(struct daemon *d)
{
	char why[MSG_ERRMSG_MAX];

	if (d->fd >= 0 || now_ms() < d->reopen_at_ms)
		return;
	if (line_open(d->device, d->conf->serial.baud, d->conf->serial.rtscts,
	    &d->fd, why, sizeof(why)) != 0) {
		/* Say it once per outage; the retries go to the debug log. */
		if (!d->outage_logged)
			log_warnx("%s; retrying", why);
		else
			log_debug("%s", why);
		d->outage_logged = true;
		backoff_next(d);
		return;
	}
	log_info("%s: line open at %u baud%s", d->device,
	    (unsigned)d->conf->serial.baud,
	    d->conf->serial.rtscts ? ", RTS/CTS" : "");
	/*
	 * Responses kept across a hang-up are sent now; a leading 0x00 ends
	 * whatever part of a frame went out before, so the peer drops it.
	 */
	if (d->out_len > 0)
		(void)out_prepend_delim(d);
}

static void
line_write(struct daemon *d)
{
	ssize_t w;

	w = write(d->fd, d->out, d->out_len);
	if (w < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		line_down(d, strerror(errno));
		return;
	}
	memmove(d->out, d->out + w, d->out_len - (size_t)w);
	d->out_len -= (size_t)w;
}

/* ---- the queue ---------------------------------------------------------- */

static struct daemon_entry *
q_at(struct daemon *d, size_t i)
{
	return d->q[(d->head + i) % d->cap];
}

static void
q_pop(struct daemon *d)
{
	struct daemon_entry *e = d->q[d->head];

	if (e->err == 0)
		d->work--;
	msg_free(&e->m);
	free(e);
	d->q[d->head] = NULL;
	d->head = (d->head + 1) % d->cap;
	d->count--;
}

static void
q_push_error(struct daemon *d, struct daemon_entry *e, int err)
{
	e->err = err;
	switch (err) {
	case ERR_FRAME_COBS:
	case ERR_FRAME_CRC:
	case ERR_FRAME_OVERSIZE:
		d->n.bad_frame++;
		break;
	case ERR_DECODE:
		d->n.bad_decode++;
		break;
	case ERR_UNKNOWN_CMD:
		d->n.unknown_cmd++;
		break;
	case ERR_BUSY:
		d->n.busy++;
		break;
	default:
		d->n.bad_request++;
		break;
	}
	log_warnx("bad input (id %u): %s: %s", (unsigned)e->id,
	    err_wire_code(err), e->why);
	msg_free(&e->m);
	d->q[(d->head + d->count) % d->cap] = e;
	d->count++;
}

/* Queue a received payload as a request, or as the error that answers it. */
static void
q_push_payload(struct daemon *d, const uint8_t *p, size_t len, int frame_err)
{
	struct daemon_entry *e;
	int rc;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		log_warnx("out of memory: request dropped");
		return;
	}
	msg_init(&e->m);
	if (frame_err != 0) {
		err_why(e->why, sizeof(e->why), "bad frame: %s",
		    err_str(frame_err));
		q_push_error(d, e, frame_err);
		return;
	}
	rc = msg_decode_request(p, len, &e->m, e->why, sizeof(e->why));
	e->id = e->m.id;
	if (rc == 0 && !cmd_is_sign(&e->m) &&
	    cmd_find(e->m.cmd, e->m.cmd_len) == NULL) {
		char name[MSG_CMD_MAX + 1];

		cmd_log_text(name, sizeof(name), e->m.cmd, e->m.cmd_len);
		err_why(e->why, sizeof(e->why), "unknown command '%s'", name);
		rc = ERR_UNKNOWN_CMD;
	}
	if (rc == 0 && d->work >= d->conf->queue) {
		err_why(e->why, sizeof(e->why), "request queue full (%u)",
		    (unsigned)d->conf->queue);
		rc = ERR_BUSY;
	}
	if (rc != 0) {
		q_push_error(d, e, rc);
		return;
	}
	d->n.requests++;
	d->work++;
	d->q[(d->head + d->count) % d->cap] = e;
	d->count++;
}

/* Feed read bytes to the decoder while the queue has room. */
static void
feed(struct daemon *d, struct daemon_input *in)
{
	const uint8_t *payload;
	size_t used, plen;
	int rc;

	while (in->off < in->len && d->count < d->cap) {
		rc = frame_decoder_push(d->dec, in->buf + in->off,
		    in->len - in->off, &used, &payload, &plen);
		in->off += used;
		if (rc == 1)
			q_push_payload(d, payload, plen, 0);
		else if (rc < 0)
			q_push_payload(d, NULL, 0, rc);
	}
	if (in->off == in->len)
		in->off = in->len = 0;
}

static void
line_read(struct daemon *d, struct daemon_input *in)
{
	ssize_t r;

	r = read(d->fd, in->buf, sizeof(in->buf));
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		/* EIO on a pty whose peer left, ENXIO/ENODEV for a vanished adapter. */
		line_down(d, r == 0 ? "end of file" : strerror(errno));
		return;
	}
	in->off = 0;
	in->len = (size_t)r;
	/* The line works: the next outage starts with the shortest delay. */
	d->backoff_ms = DAEMON_BACKOFF_MIN_MS;
	d->outage_logged = false;
}

/* ---- answering ---------------------------------------------------------- */

static void
respond(struct daemon *d, const msgpack_sbuffer *sb)
{
	uint8_t *frame = NULL;
	size_t flen;

	if (msg_frame(sb, &frame, &flen) != 0 ||
	    out_append(d, frame, flen) != 0)
		log_warnx("cannot queue a response: out of memory or too large");
	free(frame);
}

static void
log_outcome(const struct daemon_entry *e, const struct cmd_log *lg, int rc,
    const char *why)
{
	char cmd[MSG_CMD_MAX + 1];

	cmd_log_text(cmd, sizeof(cmd), e->m.cmd, e->m.cmd_len);
	if (rc == 0)
		log_info("request id %u cmd %s ref '%s' issuer '%s' serial %s: ok",
		    (unsigned)e->id, cmd, lg->ref, lg->issuer,
		    lg->serial[0] != '\0' ? lg->serial : "-");
	else
		log_info("request id %u cmd %s ref '%s' issuer '%s' serial %s: "
		    "%s: %s", (unsigned)e->id, cmd, lg->ref, lg->issuer,
		    lg->serial[0] != '\0' ? lg->serial : "-",
		    err_wire_code(rc), why);
}

static void
answer_error(struct daemon *d, const struct daemon_entry *e)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_error(&pk, e->id, err_wire_code(e->err), e->why);
	respond(d, &sb);
	msgpack_sbuffer_destroy(&sb);
}

static void
answer_one(struct daemon *d, struct daemon_entry *e)
{
	char why[MSG_ERRMSG_MAX] = "";
	struct cmd_log lg;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	memset(&lg, 0, sizeof(lg));
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rc = cmd_find(e->m.cmd, e->m.cmd_len)(d, &e->m, &pk, &lg, why,
	    sizeof(why));
	if (rc != 0) {
		d->n.errors++;
		msgpack_sbuffer_clear(&sb);
		msg_pack_error(&pk, e->id, err_wire_code(rc),
		    why[0] != '\0' ? why : err_str(rc));
	}
	log_outcome(e, &lg, rc, why);
	respond(d, &sb);
	msgpack_sbuffer_destroy(&sb);
}

/* Sign up to SIGNER_BATCH_MAX queued sign requests at the head in one engine call. */
static size_t
answer_signs(struct daemon *d)
{
	struct daemon_entry *es[SIGNER_BATCH_MAX];
	msgpack_sbuffer sb[SIGNER_BATCH_MAX];
	struct cmd_log lg[SIGNER_BATCH_MAX];
	int rcs[SIGNER_BATCH_MAX];
	char whys[SIGNER_BATCH_MAX][MSG_ERRMSG_MAX];
	size_t n = 0, i;

	while (n < SIGNER_BATCH_MAX && n < d->count &&
	    q_at(d, n)->err == 0 && cmd_is_sign(&q_at(d, n)->m)) {
		es[n] = q_at(d, n);
		msgpack_sbuffer_init(&sb[n]);
		n++;
	}
	memset(lg, 0, sizeof(lg));
	cmd_sign_batch(d, es, n, sb, lg, rcs, whys);
	for (i = 0; i < n; i++) {
		if (rcs[i] != 0)
			d->n.errors++;
		log_outcome(es[i], &lg[i], rcs[i], whys[i]);
		respond(d, &sb[i]);
		msgpack_sbuffer_destroy(&sb[i]);
	}
	if (n > 1)
		log_debug("signed a batch of %zu requests", n);
	return n;
}

/* Answer the head of the queue: one request, or a batch of sign requests. */
static void
answer_head(struct daemon *d)
{
	struct daemon_entry *e = q_at(d, 0);
	size_t n;

	if (e->err != 0) {
		answer_error(d, e);
		q_pop(d);
	} else if (cmd_is_sign(&e->m)) {
		for (n = answer_signs(d); n > 0; n--)
			q_pop(d);
	} else {
		answer_one(d, e);
		q_pop(d);
	}
}

/* ---- the loop ----------------------------------------------------------- */

static void
daemon_sync_notify(void *ctx)
{
	sync_notify(ctx);
}

/* Start replication when signerd.yaml pairs this signer. */
static int
daemon_sync_start(struct daemon *d)
{
	struct sync_store store;
	char why[SYNC_WHY_MAX];
	int rc;

	if (!d->conf->sync_enabled)
		return 0;
	repo_sync_store(signer_repo(d->s), &store);
	if ((rc = sync_start(&d->conf->sync, &store, &d->sync, why,
	    sizeof(why))) != 0) {
		log_warnx("sync: %s", why);
		return rc;
	}
	repo_on_commit(signer_repo(d->s), daemon_sync_notify, d->sync);
	log_info("sync: listening on %s for node %u, dialling %s",
	    d->conf->sync.listen, d->conf->sync.peer_node, d->conf->sync.peer);
	return 0;
}

static int
daemon_init(struct daemon *d, const struct conf_signerd *conf,
    struct signer *s, const char *device)
{
	size_t n;

	memset(d, 0, sizeof(*d));
	d->conf = conf;
	d->s = s;
	d->device = device != NULL ? device : conf->serial.device;
	d->fd = -1;
	d->backoff_ms = DAEMON_BACKOFF_MIN_MS;
	d->started = daemon_now();
	/* Room for the work queue and as many decided answers again. */
	d->cap = (size_t)conf->queue * 2 + SIGNER_BATCH_MAX;
	(void)signer_issuers(s, &n);
	if ((d->dec = frame_decoder_new(conf->max_frame)) == NULL ||
	    (d->q = calloc(d->cap, sizeof(*d->q))) == NULL ||
	    (d->crls = calloc(n > 0 ? n : 1, sizeof(*d->crls))) == NULL)
		return ERR_NOMEM;
	return daemon_sync_start(d);
}

static void
daemon_fini(struct daemon *d)
{
	size_t i, n;

	if (d->sync != NULL) {
		repo_on_commit(signer_repo(d->s), NULL, NULL);
		sync_stop(d->sync);
		d->sync = NULL;
	}

	while (d->count > 0)
		q_pop(d);
	(void)signer_issuers(d->s, &n);
	for (i = 0; d->crls != NULL && i < n; i++) {
		crl_clear(&d->crls[i].full);
		crl_clear(&d->crls[i].delta);
	}
	free(d->crls);
	free(d->q);
	free(d->out);
	frame_decoder_free(d->dec);
	if (d->fd >= 0)
		close(d->fd);
}

/*
 * poll() timeout: none while work waits; else until the re-open of a line
 * that is down or the next CRL due, whichever comes first.
 */
static int
poll_timeout(const struct daemon *d)
{
	int64_t left = -1, now = now_ms(), crl;

	if (d->count > 0 && d->out_len < DAEMON_OUT_HIGH)
		return 0;
	if (d->fd < 0)
		left = d->reopen_at_ms > now ? d->reopen_at_ms - now : 0;
	if (d->crl_due < INT64_MAX / 1000) {
		crl = d->crl_due * 1000 > now ? d->crl_due * 1000 - now : 0;
		if (left < 0 || crl < left)
			left = crl;
	}
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* Make the CRLs that fall due, between requests, so that one is always ready. */
static void
crl_timer(struct daemon *d)
{
	char why[MSG_ERRMSG_MAX];
	int64_t now = daemon_now();

	if (now < d->crl_due || d->count > 0)
		return;
	if (crl_refresh(d->s, now, &d->crl_due, why, sizeof(why)) != 0)
		log_warnx("CRL refresh: %s", why);
}

static void
daemon_step(struct daemon *d, struct daemon_input *in)
{
	struct pollfd pfd;
	int nfds = 0;

	line_up(d);
	crl_timer(d);
	memset(&pfd, 0, sizeof(pfd));
	pfd.fd = d->fd;
	if (d->fd >= 0) {
		nfds = 1;
		if (in->len == 0 && d->count < d->cap)
			pfd.events |= POLLIN;
		if (d->out_len > 0)
			pfd.events |= POLLOUT;
	}
	if (poll(&pfd, (nfds_t)nfds, poll_timeout(d)) < 0) {
		if (errno != EINTR)
			log_warn("poll");
		return;
	}
	if (nfds == 1 && (pfd.revents & POLLIN))
		line_read(d, in);
	if (d->fd >= 0 && nfds == 1 && (pfd.revents & POLLOUT))
		line_write(d);
	if (d->fd >= 0 && nfds == 1 &&
	    (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) &&
	    !(pfd.revents & POLLIN))
		line_down(d, "hang-up");
	feed(d, in);
	if (d->count > 0 && d->out_len < DAEMON_OUT_HIGH)
		answer_head(d);
}

/* At exit: answer what is queued and give the line a moment to take it. */
static void
daemon_drain(struct daemon *d)
{
	struct pollfd pfd;
	int64_t end = now_ms() + DAEMON_DRAIN_MS;

	while (d->count > 0)
		answer_head(d);
	while (d->fd >= 0 && d->out_len > 0 && now_ms() < end) {
		pfd.fd = d->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, 100) > 0 && (pfd.revents & POLLOUT))
			line_write(d);
		else if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
			break;
	}
}

int
daemon_run(const struct conf_signerd *conf, struct signer *s,
    const char *device)
{
	struct daemon d;
	struct daemon_input *in;
	int rc;

	daemon_quit = 0;
	daemon_signals();
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return ERR_NOMEM;
	if ((rc = daemon_init(&d, conf, s, device)) != 0) {
		daemon_fini(&d);
		free(in);
		return rc;
	}
	log_info("serving on %s (node %u, max_frame %u, queue %u)", d.device,
	    (unsigned)conf->node, (unsigned)conf->max_frame,
	    (unsigned)conf->queue);
	while (!daemon_quit)
		daemon_step(&d, in);
	log_info("signal received: finishing %zu queued request(s)", d.count);
	daemon_drain(&d);
	daemon_fini(&d);
	free(in);
	return 0;
}
