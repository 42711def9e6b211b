/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sync: our connection to the peer: dial with backoff, hello, stream the events it lacks in batches, ping when idle. */

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "sync/sync_local.h"

/* ---- connecting ---------------------------------------------------------- */

/* The next dial after the current delay, which then doubles up to its maximum. */
static void
out_retry_later(struct sync_out *o, int64_t now)
{
	o->dial_at_ms = now + o->backoff_ms;
	o->backoff_ms = o->backoff_ms >= SYNC_BACKOFF_MAX_MS / 2 ?
	    SYNC_BACKOFF_MAX_MS : o->backoff_ms * 2;
}

void
out_close(struct sync *s, int64_t now, const char *reason)
{
	struct sync_out *o = &s->out;

	if (o->c == NULL)
		return;
	if (o->hello_done)
		log_warnx("sync: connection to node %u closed: %s",
		    s->conf->peer_node, reason);
	else
		log_debug("sync: connection to %s:%u failed: %s",
		    s->peer_host, s->peer_port, reason);
	conn_free(o->c);
	o->c = NULL;
	o->hello_done = false;
	o->in_flight = 0;
	out_retry_later(o, now);
	pthread_mutex_lock(&s->lock);
	if (s->st.out_up)
		s->st.out_changed = (int64_t)time(NULL);
	s->st.out_up = false;
	pthread_mutex_unlock(&s->lock);
}

void
out_start(struct sync *s, int64_t now)
{
	s->out.backoff_ms = SYNC_BACKOFF_MIN_MS;
	s->out.dial_at_ms = now;
}

/* A non-blocking socket connecting to the first address of the peer that takes it. */
static int
out_socket(struct sync *s, int *fd, char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	int e, rc = ERR_LINK;

	*fd = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", s->peer_port);
	if ((e = getaddrinfo(s->peer_host, port, &hints, &res)) != 0) {
		err_why(why, whylen, "%s: %s", s->peer_host, gai_strerror(e));
		return ERR_LINK;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		*fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (*fd < 0)
			continue;
		if (connect(*fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS) {
			rc = 0;
			break;
		}
		err_why(why, whylen, "connect: %s", strerror(errno));
		close(*fd);
		*fd = -1;
	}
	freeaddrinfo(res);
	return rc;
}

int
out_dial(struct sync *s, int64_t now)
{
	char why[SYNC_WHY_MAX], peer[SYNC_HOST_MAX + 8];
	int fd, rc;

	if (s->out.c != NULL || now < s->out.dial_at_ms)
		return 0;
	snprintf(peer, sizeof(peer), "%s:%u", s->peer_host, s->peer_port);
	if ((rc = out_socket(s, &fd, why, sizeof(why))) != 0 ||
	    (rc = conn_new(s->client_ctx, fd, false, true, peer,
	    &s->out.c)) != 0) {
		out_retry_later(&s->out, now);
		return rc;
	}
	s->out.hello_done = false;
	s->out.hello_sent = false;
	return 0;
}

/* ---- sending ------------------------------------------------------------- */

static int
out_send_hello(struct sync *s)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_request(&pk, s->out.c->next_id++, "sync_hello", 3);
	msg_pack_cstr(&pk, "node");
	msgpack_pack_uint8(&pk, s->store.node);
	msg_pack_cstr(&pk, "proto");
	msgpack_pack_uint32(&pk, SYNC_PROTO_VERSION);
	msg_pack_cstr(&pk, "vv");
	wire_pack_vv(&pk, s->vv);
	rc = conn_send(s->out.c, &sb);
	msgpack_sbuffer_destroy(&sb);
	s->out.hello_sent = true;
	s->out.last_tx_ms = sync_now_ms();
	return rc;
}

static int
out_send_ping(struct sync *s, int64_t now)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_request(&pk, s->out.c->next_id++, "sync_ping", 1);
	msg_pack_cstr(&pk, "vv");
	wire_pack_vv(&pk, s->vv);
	rc = conn_send(s->out.c, &sb);
	msgpack_sbuffer_destroy(&sb);
	s->out.in_flight++;
	s->out.last_tx_ms = now;
	return rc;
}

/* The events of one batch, packed as bins as they are read. */
struct out_batch {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint32_t n, max;
	uint64_t first, last;
	bool bad;
};

static int
out_batch_add(const struct sync_event *ev, void *arg)
{
	struct out_batch *b = arg;

	if (ev->len > SYNC_EVENT_MAX || ev->seq != b->last + 1) {
		b->bad = true;
		return 1;
	}
	msgpack_pack_bin(&b->pk, ev->len);
	msgpack_pack_bin_body(&b->pk, ev->data, ev->len);
	b->last = ev->seq;
	b->n++;
	return b->n >= b->max || b->sb.size >= SYNC_BATCH_BYTES;
}

/* Pack the request around the batch's events. */
static int
out_send_batch(struct sync *s, uint8_t origin, const struct out_batch *b,
    int64_t now)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_request(&pk, s->out.c->next_id++, "sync_events", 4);
	msg_pack_cstr(&pk, "origin");
	msgpack_pack_uint8(&pk, origin);
	msg_pack_cstr(&pk, "first");
	msgpack_pack_uint64(&pk, b->first);
	msg_pack_cstr(&pk, "vv");
	wire_pack_vv(&pk, s->vv);
	msg_pack_cstr(&pk, "events");
	msgpack_pack_array(&pk, b->n);
	rc = msgpack_sbuffer_write(&sb, b->sb.data, b->sb.size) == 0 ?
	    conn_send(s->out.c, &sb) : ERR_NOMEM;
	msgpack_sbuffer_destroy(&sb);
	s->out.in_flight++;
	s->out.last_tx_ms = now;
	return rc;
}

/* Send the next batch of origin; 1 when one was sent, 0 when none was due. */
static int
out_batch(struct sync *s, uint8_t origin, int64_t now, char *why,
    size_t whylen)
{
	struct out_batch b;
	int rc;

	memset(&b, 0, sizeof(b));
	b.first = s->out.sent[origin] + 1;
	b.last = s->out.sent[origin];
	b.max = s->conf->batch_events;
	msgpack_sbuffer_init(&b.sb);
	msgpack_packer_init(&b.pk, &b.sb, msgpack_sbuffer_write);
	rc = s->store.read(s->store.ctx, origin, b.last, out_batch_add, &b,
	    why, whylen);
	if (rc == 0 && b.bad) {
		err_why(why, whylen, "event %u/%llu of the log is out of "
		    "order or too large", origin,
		    (unsigned long long)(b.last + 1));
		rc = ERR_INTERNAL;
	}
	if (rc == 0 && b.n > 0 && (rc = out_send_batch(s, origin, &b,
	    now)) == 0) {
		s->out.sent[origin] = b.last;
		rc = 1;
	}
	msgpack_sbuffer_destroy(&b.sb);
	return rc;
}

int
out_push(struct sync *s, int64_t now, char *why, size_t whylen)
{
	struct sync_out *o = &s->out;
	bool sent = true;
	size_t origin;
	int rc;

	if (o->c == NULL || o->c->state != CONN_OPEN)
		return 0;
	if (!o->hello_sent)
		return out_send_hello(s);
	if (!o->hello_done)
		return 0;
	while (sent && o->in_flight < SYNC_WINDOW &&
	    conn_pending(o->c) < SYNC_OUT_HIGH) {
		sent = false;
		for (origin = 1; origin <= SYNC_ORIGIN_MAX &&
		    o->in_flight < SYNC_WINDOW; origin++) {
			if (origin == s->conf->peer_node ||
			    s->vv[origin] <= o->sent[origin])
				continue;
			if ((rc = out_batch(s, (uint8_t)origin, now, why,
			    whylen)) < 0)
				return rc;
			sent = sent || rc == 1;
		}
	}
	if (o->in_flight == 0 && now - o->last_tx_ms >= SYNC_PING_MS)
		return out_send_ping(s, now);
	return 0;
}

/* ---- answers ------------------------------------------------------------- */

static void
out_acked(struct sync *s, const uint64_t vv[SYNC_ORIGIN_MAX + 1])
{
	struct sync_out *o = &s->out;
	uint64_t gained = 0;
	size_t i;

	for (i = 1; i <= SYNC_ORIGIN_MAX; i++) {
		if (i == s->conf->peer_node)
			continue;
		if (vv[i] > o->acked[i])
			gained += vv[i] - o->acked[i];
		o->acked[i] = vv[i];
		/* The peer may hold more than we sent (from another node). */
		if (o->sent[i] < vv[i] || !o->hello_done)
			o->sent[i] = vv[i];
	}
	pthread_mutex_lock(&s->lock);
	s->st.sent += o->hello_done ? gained : 0;
	s->st.peer_behind = wire_vv_ahead(s->vv, o->acked, s->conf->peer_node);
	pthread_mutex_unlock(&s->lock);
}

static int
out_hello_done(struct sync *s, const struct msg *m, char *why, size_t whylen)
{
	uint64_t node, vv[SYNC_ORIGIN_MAX + 1];
	int rc;

	if ((rc = msg_get_uint(m->result, "node", true, 1, SYNC_ORIGIN_MAX,
	    &node, why, whylen)) < 0 ||
	    (rc = wire_get_vv(m->result, "vv", vv, why, whylen)) < 0)
		return rc;
	if (node != s->conf->peer_node) {
		err_why(why, whylen, "the peer says it is node %llu, not %u",
		    (unsigned long long)node, s->conf->peer_node);
		return ERR_BAD_REQUEST;
	}
	out_acked(s, vv);
	s->out.hello_done = true;
	s->out.backoff_ms = SYNC_BACKOFF_MIN_MS;
	pthread_mutex_lock(&s->lock);
	s->st.out_changed = (int64_t)time(NULL);
	s->st.out_up = true;
	s->st.connects++;
	pthread_mutex_unlock(&s->lock);
	log_info("sync: connected to node %u at %s:%u; it lacks %llu "
	    "event(s)", s->conf->peer_node, s->peer_host, s->peer_port,
	    (unsigned long long)wire_vv_ahead(s->vv, vv, s->conf->peer_node));
	return 0;
}

int
out_on_msg(struct sync_conn *c, const uint8_t *p, size_t len, void *arg,
    char *why, size_t whylen)
{
	struct sync *s = arg;
	uint64_t vv[SYNC_ORIGIN_MAX + 1];
	struct msg m;
	int rc;

	(void)c;
	msg_init(&m);
	sync_contact(s);
	if ((rc = msg_decode_response(p, len, &m, why, whylen)) != 0) {
		sync_count(s, &s->st.bad_input, 1);
	} else if (!m.ok) {
		err_why(why, whylen, "node %u refused: %.*s: %.*s",
		    s->conf->peer_node, (int)m.err_code_len, m.err_code,
		    (int)m.err_message_len, m.err_message);
		sync_count(s, &s->st.refused, 1);
		/* It will refuse again: no haste to try. */
		s->out.backoff_ms = SYNC_BACKOFF_MAX_MS;
		rc = ERR_CONFLICT;
	} else if (!s->out.hello_done) {
		if ((rc = out_hello_done(s, &m, why, whylen)) != 0)
			sync_count(s, &s->st.bad_input, 1);
	} else if ((rc = wire_get_vv(m.result, "vv", vv, why, whylen)) < 0) {
		sync_count(s, &s->st.bad_input, 1);
	} else {
		rc = 0;
		if (s->out.in_flight > 0)
			s->out.in_flight--;
		out_acked(s, vv);
	}
	msg_free(&m);
	return rc;
}

int
out_timeout(struct sync *s, int64_t now)
{
	struct sync_conn *c = s->out.c;

	if (c == NULL)
		return 0;
	if (!s->out.hello_done && now - c->opened_ms > SYNC_HANDSHAKE_MS) {
		out_close(s, now, "no TLS handshake and hello in time");
		return 1;
	}
	if (s->out.in_flight > 0 && now - c->last_rx_ms > SYNC_DEAD_MS) {
		out_close(s, now, "no answer in time");
		return 1;
	}
	return 0;
}
