/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sync: the replication thread and its poll loop over the listener, our connection to the peer and the peer's to us. */

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "sync/sync_local.h"

#define SYNC_POLL_MS 100        /* longest sleep: timeouts are checked this often */
#define SYNC_LISTEN_BACKLOG 8

/* Slots of the poll set. */
enum { PFD_WAKE, PFD_LISTEN, PFD_OUT, PFD_IN, PFD_COUNT = PFD_IN + SYNC_INBOUND_MAX };

int64_t
sync_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sync_note_error(struct sync *s, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->lock);
	va_start(ap, fmt);
	vsnprintf(s->st.last_error, sizeof(s->st.last_error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&s->lock);
}

void
sync_count(struct sync *s, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&s->lock);
	*field += n;
	pthread_mutex_unlock(&s->lock);
}

void
sync_contact(struct sync *s)
{
	pthread_mutex_lock(&s->lock);
	s->st.last_contact = (int64_t)time(NULL);
	pthread_mutex_unlock(&s->lock);
}

void
sync_status_get(struct sync *s, struct sync_status *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->st;
	pthread_mutex_unlock(&s->lock);
}

void
sync_notify(struct sync *s)
{
	ssize_t n;

	if (s == NULL)
		return;
	/* A full pipe already says "wake up". */
	n = write(s->wake[1], "n", 1);
	(void)n;
}

/* ---- the loop ------------------------------------------------------------ */

/* A connection failed: log, count what the failure says about the peer, close. */
static void
sync_conn_failed(struct sync *s, struct sync_in *in, int rc, const char *why)
{
	const struct sync_conn *c = in != NULL ? in->c : s->out.c;
	int64_t now = sync_now_ms();

	/* in_close logs; out_close logs failed dials at debug level only. */
	if (rc == ERR_BAD_REQUEST && c->state == CONN_HANDSHAKE) {
		sync_count(s, &s->st.tls_failures, 1);
		if (in == NULL)
			log_warnx("sync: %s", why);
	} else if (rc == ERR_FRAME_COBS || rc == ERR_FRAME_CRC ||
	    rc == ERR_FRAME_OVERSIZE) {
		sync_count(s, &s->st.bad_input, 1);
	}
	if (rc != ERR_LINK)
		sync_note_error(s, "%s", why);
	if (in != NULL)
		in_close(in, why);
	else
		out_close(s, now, why);
}

static void
sync_io(struct sync *s, const struct pollfd *pfd, int64_t now)
{
	char why[SYNC_WHY_MAX];
	size_t i;
	int rc;

	if (s->out.c != NULL && pfd[PFD_OUT].fd >= 0 &&
	    (rc = conn_io(s->out.c, pfd[PFD_OUT].revents, now, out_on_msg, s,
	    why, sizeof(why))) != 0)
		sync_conn_failed(s, NULL, rc, why);
	for (i = 0; i < SYNC_INBOUND_MAX; i++) {
		if (s->in[i].c == NULL || pfd[PFD_IN + i].fd < 0)
			continue;
		if ((rc = conn_io(s->in[i].c, pfd[PFD_IN + i].revents, now,
		    in_on_msg, &s->in[i], why, sizeof(why))) != 0)
			sync_conn_failed(s, &s->in[i], rc, why);
		else
			in_flush(s);
	}
	if ((pfd[PFD_LISTEN].revents & POLLIN) != 0)
		in_accept(s);
}

/* Read our vector and push what the peer lacks. */
static void
sync_push(struct sync *s, int64_t now)
{
	char why[SYNC_WHY_MAX];
	int rc;

	if ((rc = s->store.vv(s->store.ctx, s->vv, why, sizeof(why))) != 0) {
		log_warnx("sync: reading the version vector: %s", why);
		sync_note_error(s, "%s", why);
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->st.peer_behind = wire_vv_ahead(s->vv, s->out.acked,
	    s->conf->peer_node);
	pthread_mutex_unlock(&s->lock);
	if ((rc = out_push(s, now, why, sizeof(why))) != 0) {
		log_warnx("sync: sending to node %u: %s", s->conf->peer_node,
		    why);
		sync_note_error(s, "%s", why);
		out_close(s, now, why);
	}
}

static void
sync_pollset(struct sync *s, struct pollfd *pfd)
{
	size_t i;

	memset(pfd, 0, sizeof(*pfd) * PFD_COUNT);
	pfd[PFD_WAKE].fd = s->wake[0];
	pfd[PFD_WAKE].events = POLLIN;
	pfd[PFD_LISTEN].fd = s->listen_fd;
	pfd[PFD_LISTEN].events = POLLIN;
	pfd[PFD_OUT].fd = s->out.c != NULL ? s->out.c->fd : -1;
	pfd[PFD_OUT].events = s->out.c != NULL ? conn_poll_events(s->out.c) : 0;
	for (i = 0; i < SYNC_INBOUND_MAX; i++) {
		pfd[PFD_IN + i].fd = s->in[i].c != NULL ? s->in[i].c->fd : -1;
		pfd[PFD_IN + i].events = s->in[i].c != NULL ?
		    conn_poll_events(s->in[i].c) : 0;
	}
}

static void
sync_drain_wake(struct sync *s)
{
	char buf[256];

	while (read(s->wake[0], buf, sizeof(buf)) > 0)
		;
}

static void *
sync_main(void *arg)
{
	struct sync *s = arg;
	struct pollfd pfd[PFD_COUNT];
	int64_t now = sync_now_ms();
	sigset_t pipe;

	/* SIGPIPE of a write is sent to the writing thread: blocked, it stays pending here. */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	out_start(s, now);
	while (!s->stop) {
		now = sync_now_ms();
		(void)out_dial(s, now);
		(void)out_timeout(s, now);
		in_timeouts(s, now);
		sync_push(s, now);
		sync_pollset(s, pfd);
		if (poll(pfd, PFD_COUNT, SYNC_POLL_MS) < 0) {
			if (errno != EINTR)
				log_warn("sync: poll");
			continue;
		}
		if (pfd[PFD_WAKE].revents & POLLIN)
			sync_drain_wake(s);
		sync_io(s, pfd, sync_now_ms());
	}
	return NULL;
}

/* ---- start and stop ------------------------------------------------------ */

static int
sync_listen(struct sync *s, char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL;
	char host[SYNC_HOST_MAX], port[8];
	uint16_t p;
	int e, on = 1, rc = ERR_SYSTEM;

	if (conf_hostport_split(s->conf->listen, host, sizeof(host), &p) != 0) {
		err_why(why, whylen, "sync listen '%s' is not host:port",
		    s->conf->listen);
		return ERR_CONFIG;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	snprintf(port, sizeof(port), "%u", p);
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		err_why(why, whylen, "sync listen %s: %s", s->conf->listen,
		    gai_strerror(e));
		return ERR_CONFIG;
	}
	s->listen_fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, res->ai_protocol);
	if (s->listen_fd < 0 ||
	    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof(on)) != 0 ||
	    bind(s->listen_fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(s->listen_fd, SYNC_LISTEN_BACKLOG) != 0)
		err_why(why, whylen, "sync listen %s: %s", s->conf->listen,
		    strerror(errno));
	else
		rc = 0;
	freeaddrinfo(res);
	return rc;
}

static int
sync_prepare(struct sync *s, char *why, size_t whylen)
{
	int rc;

	if (conf_hostport_split(s->conf->peer, s->peer_host,
	    sizeof(s->peer_host), &s->peer_port) != 0) {
		err_why(why, whylen, "sync peer '%s' is not host:port",
		    s->conf->peer);
		return ERR_CONFIG;
	}
	if ((rc = sync_tls_ctx(s->conf, true, &s->server_ctx, why,
	    whylen)) != 0 ||
	    (rc = sync_tls_ctx(s->conf, false, &s->client_ctx, why,
	    whylen)) != 0)
		return rc;
	if (pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		err_why(why, whylen, "pipe: %s", strerror(errno));
		return ERR_SYSTEM;
	}
	if ((rc = s->store.vv(s->store.ctx, s->vv, why, whylen)) != 0)
		return rc;
	return sync_listen(s, why, whylen);
}

int
sync_check(const struct conf_sync *c, char *why, size_t whylen)
{
	char host[SYNC_HOST_MAX];
	SSL_CTX *ctx = NULL;
	uint16_t port;
	int rc;

	if (c == NULL || c->listen == NULL)
		return ERR_INVAL;
	if (conf_hostport_split(c->listen, host, sizeof(host), &port) != 0 ||
	    conf_hostport_split(c->peer, host, sizeof(host), &port) != 0) {
		err_why(why, whylen, "sync: listen and peer must be host:port");
		return ERR_CONFIG;
	}
	if ((rc = sync_tls_ctx(c, true, &ctx, why, whylen)) != 0)
		return rc == ERR_CONFIG ? rc : ERR_CONFIG;
	SSL_CTX_free(ctx);
	return 0;
}

int
sync_start(const struct conf_sync *c, const struct sync_store *store,
    struct sync **out, char *why, size_t whylen)
{
	struct sync *s;
	size_t i;
	int rc;

	*out = NULL;
	if (c == NULL || store == NULL || store->vv == NULL ||
	    store->read == NULL || store->apply == NULL || c->listen == NULL)
		return ERR_INVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ERR_NOMEM;
	s->conf = c;
	s->store = *store;
	s->listen_fd = s->wake[0] = s->wake[1] = -1;
	for (i = 0; i < SYNC_INBOUND_MAX; i++)
		s->in[i].s = s;
	s->st.peer_node = (uint8_t)c->peer_node;
	s->st.started = s->st.out_changed = s->st.in_changed =
	    (int64_t)time(NULL);
	pthread_mutex_init(&s->lock, NULL);
	if ((s->evs = calloc(SYNC_BATCH_EVENTS_MAX, sizeof(*s->evs))) == NULL ||
	    (s->stage.evs = calloc(SYNC_STAGE_EVENTS,
	    sizeof(*s->stage.evs))) == NULL ||
	    (s->stage.buf = malloc(SYNC_STAGE_BYTES)) == NULL) {
		sync_stop(s);
		return ERR_NOMEM;
	}
	if ((rc = sync_prepare(s, why, whylen)) != 0) {
		sync_stop(s);
		return rc;
	}
	if (pthread_create(&s->thread, NULL, sync_main, s) != 0) {
		err_why(why, whylen, "cannot start the sync thread");
		sync_stop(s);
		return ERR_SYSTEM;
	}
	s->running = true;
	*out = s;
	return 0;
}

void
sync_stop(struct sync *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->running) {
		s->stop = true;
		sync_notify(s);
		pthread_join(s->thread, NULL);
	}
	out_close(s, 0, "stopping");
	for (i = 0; i < SYNC_INBOUND_MAX; i++)
		in_close(&s->in[i], "stopping");
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	SSL_CTX_free(s->server_ctx);
	SSL_CTX_free(s->client_ctx);
	pthread_mutex_destroy(&s->lock);
	free(s->evs);
	free(s->stage.evs);
	free(s->stage.buf);
	free(s);
}
