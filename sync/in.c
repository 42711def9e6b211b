/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sync: the peer's connections to us: accept, check its hello, apply its batches in order, acknowledge with our vector. */

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "sync/sync_local.h"

#define IN_DEFERRED 1   /* in_request: answered later, with the stage */

static int in_refuse(struct sync_in *in, uint32_t id, int rc, const char *msg,
    char *why, size_t whylen);

void
in_close(struct sync_in *in, const char *reason)
{
	struct sync *s = in->s;
	size_t i;
	bool up = false;

	if (in->c == NULL)
		return;
	if (in->hello_done)
		log_warnx("sync: connection from node %u closed: %s",
		    s->conf->peer_node, reason);
	else
		log_info("sync: connection from %s refused: %s", in->c->peer,
		    reason);
	/* Unanswered batches are not applied: the peer sends them again. */
	if (s->stage.owner == in) {
		s->stage.owner = NULL;
		s->stage.n = s->stage.n_reqs = s->stage.len = 0;
	}
	conn_free(in->c);
	in->c = NULL;
	in->hello_done = false;
	for (i = 0; i < SYNC_INBOUND_MAX; i++)
		up = up || (s->in[i].c != NULL && s->in[i].hello_done);
	pthread_mutex_lock(&s->lock);
	if (s->st.in_up != up)
		s->st.in_changed = (int64_t)time(NULL);
	s->st.in_up = up;
	pthread_mutex_unlock(&s->lock);
}

/* The address of a socket's peer, for messages. */
static void
in_peer_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
	}
	snprintf(out, cap, "%s:%u", host, port);
}

/*
 * A free slot; when none is, the oldest connection still before its hello
 * makes room, so that connections that never complete cannot keep the peer
 * out. SYNC_INBOUND_MAX when every slot is past its hello.
 */
static size_t
in_slot(struct sync *s)
{
	size_t i, old = SYNC_INBOUND_MAX;

	for (i = 0; i < SYNC_INBOUND_MAX; i++) {
		if (s->in[i].c == NULL)
			return i;
		if (!s->in[i].hello_done && (old == SYNC_INBOUND_MAX ||
		    s->in[i].c->opened_ms < s->in[old].c->opened_ms))
			old = i;
	}
	if (old != SYNC_INBOUND_MAX) {
		sync_count(s, &s->st.bad_input, 1);
		in_close(&s->in[old], "evicted by a newer connection");
	}
	return old;
}

void
in_accept(struct sync *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char peer[SYNC_HOST_MAX + 8];
	size_t i;
	int fd;

	if ((fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("sync: accept");
		return;
	}
	in_peer_text(&ss, peer, sizeof(peer));
	if ((i = in_slot(s)) == SYNC_INBOUND_MAX) {
		log_warnx("sync: connection from %s refused: %d connections "
		    "open already", peer, SYNC_INBOUND_MAX);
		sync_count(s, &s->st.bad_input, 1);
		close(fd);
		return;
	}
	if (conn_new(s->server_ctx, fd, true, false, peer, &s->in[i].c) != 0)
		log_warnx("sync: connection from %s: out of memory", peer);
	s->in[i].hello_done = false;
}

/* ---- answers ------------------------------------------------------------- */

static int
in_reply(struct sync_in *in, uint32_t id, int err, const char *message)
{
	struct sync *s = in->s;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (err != 0) {
		msg_pack_error(&pk, id, err_wire_code(err), message);
	} else {
		msg_pack_result(&pk, id, 2);
		msg_pack_cstr(&pk, "node");
		msgpack_pack_uint8(&pk, s->store.node);
		msg_pack_cstr(&pk, "vv");
		wire_pack_vv(&pk, s->vv);
	}
	rc = conn_send(in->c, &sb);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

/* The peer's vector as it last told us: how far behind we are. */
static int
in_peer_vv(struct sync_in *in, const struct msg *m, char *why, size_t whylen)
{
	struct sync *s = in->s;
	int rc;

	if ((rc = wire_get_vv(m->args, "vv", s->peer_vv, why, whylen)) < 0)
		return rc;
	pthread_mutex_lock(&s->lock);
	s->st.we_behind = wire_vv_ahead(s->peer_vv, s->vv, s->store.node);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int
in_hello(struct sync_in *in, const struct msg *m, char *why, size_t whylen)
{
	struct sync *s = in->s;
	uint64_t node, proto;
	size_t i;
	int rc;

	if ((rc = msg_get_uint(m->args, "proto", true, 1, UINT32_MAX, &proto,
	    why, whylen)) < 0 ||
	    (rc = msg_get_uint(m->args, "node", true, 1, SYNC_ORIGIN_MAX,
	    &node, why, whylen)) < 0 || (rc = in_peer_vv(in, m, why,
	    whylen)) < 0)
		return rc;
	if (proto != SYNC_PROTO_VERSION) {
		err_why(why, whylen, "sync protocol %llu; this signer speaks "
		    "%d", (unsigned long long)proto, SYNC_PROTO_VERSION);
		return ERR_UNSUPPORTED_VERSION;
	}
	if (node != s->conf->peer_node) {
		err_why(why, whylen, "node %llu is not the configured peer "
		    "(node %u)", (unsigned long long)node, s->conf->peer_node);
		return ERR_BAD_REQUEST;
	}
	/* The peer dialled again: its older connections are dead. */
	for (i = 0; i < SYNC_INBOUND_MAX; i++)
		if (&s->in[i] != in && s->in[i].c != NULL &&
		    s->in[i].hello_done)
			in_close(&s->in[i], "replaced by a new connection");
	in->hello_done = true;
	pthread_mutex_lock(&s->lock);
	if (!s->st.in_up)
		s->st.in_changed = (int64_t)time(NULL);
	s->st.in_up = true;
	s->st.connects++;
	pthread_mutex_unlock(&s->lock);
	log_info("sync: node %u connected from %s; we lack %llu event(s)",
	    s->conf->peer_node, in->c->peer, (unsigned long long)
	    wire_vv_ahead(s->peer_vv, s->vv, s->store.node));
	return 0;
}

/* True when a batch continues what is staged and fits with it. */
static bool
stage_fits(const struct sync_stage *st, const struct sync_in *in,
    uint8_t origin, uint64_t first, const struct sync_event *evs, size_t n)
{
	size_t bytes = 0, i;

	if (st->owner == NULL)
		return true;
	if (st->owner != in || st->origin != origin || st->next != first ||
	    st->n_reqs == SYNC_STAGE_REQS || n > SYNC_STAGE_EVENTS - st->n)
		return false;
	for (i = 0; i < n; i++)
		bytes += evs[i].len;
	return bytes <= SYNC_STAGE_BYTES - st->len;
}

/* Copy a batch into the stage (it fits: stage_fits, or the stage is empty). */
static void
stage_add(struct sync_stage *st, struct sync_in *in, uint32_t id,
    uint8_t origin, const struct sync_event *evs, size_t n)
{
	size_t i;

	if (st->owner == NULL) {
		st->owner = in;
		st->origin = origin;
	}
	for (i = 0; i < n; i++) {
		memcpy(st->buf + st->len, evs[i].data, evs[i].len);
		st->evs[st->n].seq = evs[i].seq;
		st->evs[st->n].data = st->buf + st->len;
		st->evs[st->n].len = evs[i].len;
		st->len += evs[i].len;
		st->n++;
	}
	st->next = evs[n - 1].seq + 1;
	st->ids[st->n_reqs] = id;
	st->ends[st->n_reqs++] = st->n;
}

/* After the stage was applied, or part of it: our vector and the counters. */
static void
stage_applied(struct sync *s, size_t n)
{
	char why[SYNC_WHY_MAX];

	if (s->store.vv(s->store.ctx, s->vv, why, sizeof(why)) != 0)
		log_warnx("sync: reading the version vector: %s", why);
	sync_count(s, &s->st.applied, n);
	pthread_mutex_lock(&s->lock);
	s->st.we_behind = wire_vv_ahead(s->peer_vv, s->vv, s->store.node);
	pthread_mutex_unlock(&s->lock);
}

/*
 * The stage as one transaction failed: apply its batches one by one, so
 * that those before a bad one are kept, and refuse from the bad one on.
 */
static void
stage_one_by_one(struct sync *s, struct sync_in *in)
{
	struct sync_stage *st = &s->stage;
	char msg[MSG_ERRMSG_MAX], why[SYNC_WHY_MAX];
	size_t r, start = 0, cnt, done = 0;
	int rc = 0;

	for (r = 0; r < st->n_reqs; start = st->ends[r++]) {
		cnt = st->ends[r] - start;
		if (rc != 0) {
			(void)in_reply(in, st->ids[r], rc, msg);
			continue;
		}
		if ((rc = s->store.apply(s->store.ctx, st->origin,
		    st->evs + start, cnt, msg, sizeof(msg))) == 0) {
			done += cnt;
			(void)in_reply(in, st->ids[r], 0, NULL);
			continue;
		}
		(void)in_refuse(in, st->ids[r], rc, msg, why, sizeof(why));
		snprintf(msg, sizeof(msg), "not applied: an earlier batch of "
		    "origin %u was refused", st->origin);
	}
	stage_applied(s, done);
}

void
in_flush(struct sync *s)
{
	struct sync_stage *st = &s->stage;
	struct sync_in *in = st->owner;
	char why[SYNC_WHY_MAX];
	size_t r;

	if (in == NULL)
		return;
	if (s->store.apply(s->store.ctx, st->origin, st->evs, st->n, why,
	    sizeof(why)) == 0) {
		stage_applied(s, st->n);
		for (r = 0; r < st->n_reqs; r++)
			(void)in_reply(in, st->ids[r], 0, NULL);
	} else {
		stage_one_by_one(s, in);
	}
	st->owner = NULL;
	st->n = st->n_reqs = st->len = 0;
}

/* A batch: checked, then staged; answered when the stage is applied (IN_DEFERRED). */
static int
in_events(struct sync_in *in, const struct msg *m, char *why, size_t whylen)
{
	struct sync *s = in->s;
	struct sync_event *evs = s->evs;
	uint64_t origin, first;
	size_t n = 0;
	int rc;

	if ((rc = wire_get_events(m, &origin, &first, evs, &n, why,
	    whylen)) < 0 || (rc = in_peer_vv(in, m, why, whylen)) < 0)
		return rc;
	if (origin == s->store.node) {
		err_why(why, whylen, "events of origin %llu are this signer's "
		    "own", (unsigned long long)origin);
		return ERR_BAD_REQUEST;
	}
	if (!stage_fits(&s->stage, in, (uint8_t)origin, first, evs, n))
		in_flush(s);
	stage_add(&s->stage, in, m->id, (uint8_t)origin, evs, n);
	return IN_DEFERRED;
}

/* Dispatch one request of the peer; the error to answer, with why. */
static int
in_request(struct sync_in *in, const struct msg *m, char *why, size_t whylen)
{
	if (m->cmd_len == 10 && memcmp(m->cmd, "sync_hello", 10) == 0) {
		if (in->hello_done) {
			err_why(why, whylen, "a second sync_hello");
			return ERR_BAD_REQUEST;
		}
		return in_hello(in, m, why, whylen);
	}
	if (!in->hello_done) {
		err_why(why, whylen, "'%.*s' before sync_hello",
		    (int)(m->cmd_len > MSG_CMD_MAX ? MSG_CMD_MAX : m->cmd_len),
		    m->cmd);
		return ERR_BAD_REQUEST;
	}
	if (m->cmd_len == 11 && memcmp(m->cmd, "sync_events", 11) == 0)
		return in_events(in, m, why, whylen);
	if (m->cmd_len == 9 && memcmp(m->cmd, "sync_ping", 9) == 0)
		return in_peer_vv(in, m, why, whylen);
	err_why(why, whylen, "unknown sync command '%.*s'",
	    (int)(m->cmd_len > MSG_CMD_MAX ? MSG_CMD_MAX : m->cmd_len), m->cmd);
	return ERR_UNKNOWN_CMD;
}

/*
 * A refusal is logged and counted as bad input (undecodable, unknown, before
 * the hello) or as a refused request; the connection stays after the hello.
 */
static int
in_refuse(struct sync_in *in, uint32_t id, int rc, const char *msg,
    char *why, size_t whylen)
{
	struct sync *s = in->s;
	bool bad = !in->hello_done || rc == ERR_DECODE ||
	    rc == ERR_UNKNOWN_CMD || rc == ERR_UNSUPPORTED_VERSION;

	log_warnx("sync: refused from %s: %s", in->c->peer, msg);
	sync_note_error(s, "refused from %s: %s", in->c->peer, msg);
	sync_count(s, bad ? &s->st.bad_input : &s->st.refused, 1);
	if (in_reply(in, id, rc, msg) != 0 || !in->hello_done) {
		/* Closing now: let the answer go first if the socket takes it. */
		conn_flush(in->c);
		err_why(why, whylen, "%s", msg);
		return rc;
	}
	return 0;
}

int
in_on_msg(struct sync_conn *c, const uint8_t *p, size_t len, void *arg,
    char *why, size_t whylen)
{
	struct sync_in *in = arg;
	char msg[MSG_ERRMSG_MAX];
	struct msg m;
	int rc;

	(void)c;
	msg_init(&m);
	sync_contact(in->s);
	rc = msg_decode_request(p, len, &m, msg, sizeof(msg));
	/* Answers go in order: what is staged is answered first. */
	if (rc != 0 || m.cmd_len != 11 || memcmp(m.cmd, "sync_events", 11) != 0)
		in_flush(in->s);
	if (rc == 0)
		rc = in_request(in, &m, msg, sizeof(msg));
	if (rc == IN_DEFERRED)
		rc = 0;
	else if (rc == 0)
		rc = in_reply(in, m.id, 0, NULL);
	else
		rc = in_refuse(in, m.id, rc, msg, why, whylen);
	msg_free(&m);
	return rc;
}

void
in_timeouts(struct sync *s, int64_t now)
{
	struct sync_in *in;
	size_t i;

	for (i = 0; i < SYNC_INBOUND_MAX; i++) {
		in = &s->in[i];
		if (in->c == NULL)
			continue;
		if (!in->hello_done && now - in->c->opened_ms >
		    SYNC_HANDSHAKE_MS)
			in_close(in, "no TLS handshake and hello in time");
		else if (in->hello_done && now - in->c->last_rx_ms >
		    SYNC_DEAD_MS)
			in_close(in, "silent for too long");
	}
}
