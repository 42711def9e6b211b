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

void
in_accept(struct sync *s, int64_t now)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char peer[SYNC_HOST_MAX + 8];
	size_t i;
	int fd;

	(void)now;
	if ((fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("sync: accept");
		return;
	}
	in_peer_text(&ss, peer, sizeof(peer));
	for (i = 0; i < SYNC_INBOUND_MAX && s->in[i].c != NULL; i++)
		;
	if (i == SYNC_INBOUND_MAX) {
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
	if ((rc = s->store.apply(s->store.ctx, (uint8_t)origin, evs, n, why,
	    whylen)) != 0)
		return rc;
	if ((rc = s->store.vv(s->store.ctx, s->vv, why, whylen)) != 0)
		return rc;
	sync_count(s, &s->st.applied, n);
	pthread_mutex_lock(&s->lock);
	s->st.we_behind = wire_vv_ahead(s->peer_vv, s->vv, s->store.node);
	pthread_mutex_unlock(&s->lock);
	return 0;
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
	if ((rc = msg_decode_request(p, len, &m, msg, sizeof(msg))) == 0)
		rc = in_request(in, &m, msg, sizeof(msg));
	if (rc == 0)
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
