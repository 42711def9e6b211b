/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of peer replication: real repositories, TLS 1.3 over loopback, catch-up, restart, wrong and hostile peers. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tests/unit/sync/sync_fixture.h"

#define CATCHUP_EVENTS 10000    /* node 1's log before node 2 starts */
#define RESTART_EVENTS 10000    /* streamed when node 2 stops */
#define RESTART_MORE 1000       /* added while node 2 is down */
#define HOSTILE_EVENTS 3        /* node 2's log that the hostile client replays */
#define HOSTILE_TIMEOUT_S 5     /* the hostile client's read timeout */
#define HOSTILE_BUF 65536

static struct sync_status
status(const struct fx_node *n)
{
	struct sync_status st;

	sync_status_get(n->s, &st);
	return st;
}

/* ---- two nodes -------------------------------------------------------------- */

static bool
links_settled(const struct fx_node *a, const struct fx_node *b,
    const uint64_t vv[SYNC_ORIGIN_MAX + 1])
{
	struct sync_status sa = status(a), sb = status(b);

	return sa.out_up && sa.in_up && sb.out_up && sb.in_up &&
	    sa.sent == vv[a->id] && sb.sent == vv[b->id] &&
	    sa.applied == vv[b->id] && sb.applied == vv[a->id];
}

static void
test_two_nodes(void **state)
{
	struct fx *f = *state;
	struct fx_node *a = &f->n[1], *b = &f->n[2];
	uint64_t vv[SYNC_ORIGIN_MAX + 1];
	struct sync_status sa, sb;
	int64_t start;

	fx_start(f, a, b);
	fx_start(f, b, a);
	fx_issue(f, a, 7);
	fx_issue(f, b, 5);
	fx_wait_converged(f, a, b);
	fx_vv(f, a, vv);
	assert_int_equal(vv[1], 7);
	assert_int_equal(vv[2], 5);
	/* More while both are connected: pushed as they commit. */
	fx_issue(f, a, 3);
	fx_issue(f, b, 4);
	fx_wait_converged(f, a, b);
	fx_assert_same(f, a, b);
	fx_vv(f, a, vv);
	assert_int_equal(vv[1], 10);
	assert_int_equal(vv[2], 9);
	/* The acknowledgements of the last batches may still be on their way. */
	start = fx_ms();
	while (!links_settled(a, b, vv) && fx_wait_more(start))
		;
	sa = status(a);
	sb = status(b);
	assert_true(sa.out_up && sa.in_up && sb.out_up && sb.in_up);
	assert_int_equal(sa.peer_node, 2);
	assert_int_equal(sb.peer_node, 1);
	assert_int_equal(sa.sent, 10);
	assert_int_equal(sb.applied, 10);
	assert_int_equal(sb.sent, 9);
	assert_int_equal(sa.applied, 9);
	assert_int_equal(sa.refused + sa.bad_input + sa.tls_failures, 0);
	assert_int_equal(sb.refused + sb.bad_input + sb.tls_failures, 0);
	assert_true(sa.connects >= 2 && sb.connects >= 2);
	assert_true(sa.last_contact > 0);
}

static void
test_catch_up(void **state)
{
	struct fx *f = *state;
	struct fx_node *a = &f->n[1], *b = &f->n[2];
	uint64_t vv[SYNC_ORIGIN_MAX + 1];

	fx_issue(f, a, CATCHUP_EVENTS);
	fx_vv(f, b, vv);
	assert_int_equal(vv[1], 0);
	fx_start(f, a, b);
	fx_start(f, b, a);
	fx_wait_converged(f, a, b);
	fx_vv(f, b, vv);
	assert_int_equal(vv[1], CATCHUP_EVENTS);
	fx_assert_same(f, a, b);
	assert_int_equal(repo_verify(b->r, NULL, NULL, f->why,
	    sizeof(f->why)), 0);
}

/* Node 3 joins empty, paired with node 1, after nodes 1 and 2 exchanged events. */
static void
test_fresh_node(void **state)
{
	struct fx *f = *state;
	struct fx_node *a = &f->n[1], *b = &f->n[2], *c = &f->n[3];
	uint64_t vv[SYNC_ORIGIN_MAX + 1];
	int64_t start;

	fx_start(f, a, b);
	fx_start(f, b, a);
	fx_issue(f, a, 40);
	fx_issue(f, b, 30);
	fx_wait_converged(f, a, b);
	fx_stop(a);
	fx_stop(b);
	fx_vv(f, a, vv);
	fx_start(f, a, c);
	fx_start(f, c, a);
	start = fx_ms();
	while (!fx_holds(f, c, vv) && fx_wait_more(start))
		;
	assert_true(fx_holds(f, c, vv));
	fx_wait_converged(f, a, c);
	fx_vv(f, c, vv);
	assert_int_equal(vv[1], 40);
	assert_int_equal(vv[2], 30);
	assert_int_equal(vv[3], 0);
	fx_assert_same(f, a, c);
	fx_assert_same(f, b, c);
}

/* Node 2's replication stops while node 1 streams to it, and starts again. */
static void
test_restart(void **state)
{
	struct fx *f = *state;
	struct fx_node *a = &f->n[1], *b = &f->n[2];
	uint64_t at_stop[SYNC_ORIGIN_MAX + 1], vv[SYNC_ORIGIN_MAX + 1];
	struct repo_digest d;
	int64_t start;

	/* A long stream to node 2, stopped as soon as its first batch is in. */
	fx_issue(f, a, RESTART_EVENTS);
	fx_start(f, a, b);
	fx_start(f, b, a);
	start = fx_ms();
	do
		fx_vv(f, b, vv);
	while (vv[1] == 0 && fx_wait_more(start));
	assert_true(vv[1] > 0);
	fx_stop(b);
	fx_vv(f, b, at_stop);
	print_message("node 2 stopped holding %llu of %u events\n",
	    (unsigned long long)at_stop[1], RESTART_EVENTS);
	fx_issue(f, a, RESTART_MORE);
	fx_start(f, b, a);
	fx_wait_converged(f, a, b);
	fx_vv(f, b, vv);
	assert_int_equal(vv[1], RESTART_EVENTS + RESTART_MORE);
	fx_assert_same(f, a, b);
	fx_digest(f, b, &d);
	assert_int_equal(d.certs, RESTART_EVENTS + RESTART_MORE);
	/* Each event crossed once after the restart: none were sent again. */
	assert_int_equal(status(b).applied, vv[1] - at_stop[1]);
	assert_int_equal(status(b).refused, 0);
	assert_int_equal(repo_verify(b->r, NULL, NULL, f->why,
	    sizeof(f->why)), 0);
}

/* Node 1 pins a certificate that node 2 does not present. */
static void
test_wrong_certificate(void **state)
{
	struct fx *f = *state;
	struct fx_node *a = &f->n[1], *b = &f->n[2];
	uint64_t vv[SYNC_ORIGIN_MAX + 1];
	struct sync_status sa;
	int64_t start;

	fx_issue(f, a, 5);
	fx_issue(f, b, 5);
	fx_start_pinned(f, a, b, &f->n[FX_MALLORY]);
	fx_start(f, b, a);
	start = fx_ms();
	while (status(a).tls_failures < 2 && fx_wait_more(start))
		;
	sa = status(a);
	assert_true(sa.tls_failures >= 2);
	assert_false(sa.in_up);
	assert_false(sa.out_up);
	assert_int_equal(sa.connects, 0);
	assert_int_equal(sa.applied, 0);
	assert_int_equal(status(b).applied, 0);
	assert_int_equal(status(b).connects, 0);
	fx_vv(f, a, vv);
	assert_int_equal(vv[2], 0);
	fx_vv(f, b, vv);
	assert_int_equal(vv[1], 0);
}

/* ---- a hostile peer holding the right certificate ---------------------------- */

struct hostile {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	struct frame_decoder *dec;
	uint8_t buf[HOSTILE_BUF];
	size_t off, len;
	uint32_t id;
};

/* A TLS 1.3 connection to target's listener with the link certificate of as. */
static void
hostile_open(struct hostile *h, const struct fx_node *target,
    const struct fx_node *as)
{
	struct timeval tv = { HOSTILE_TIMEOUT_S, 0 };
	struct sockaddr_in sa;

	memset(h, 0, sizeof(*h));
	h->id = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(target->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((h->fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	assert_int_equal(connect(h->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_non_null(h->ctx = SSL_CTX_new(TLS_client_method()));
	assert_int_equal(SSL_CTX_set_min_proto_version(h->ctx, TLS1_3_VERSION),
	    1);
	assert_int_equal(SSL_CTX_use_certificate_chain_file(h->ctx, as->cert),
	    1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(h->ctx, as->key,
	    SSL_FILETYPE_PEM), 1);
	SSL_CTX_set_verify(h->ctx, SSL_VERIFY_NONE, NULL);
	assert_non_null(h->ssl = SSL_new(h->ctx));
	assert_int_equal(SSL_set_fd(h->ssl, h->fd), 1);
	assert_int_equal(SSL_connect(h->ssl), 1);
	assert_non_null(h->dec = frame_decoder_new(SYNC_FRAME_MAX));
}

static void
hostile_close(struct hostile *h)
{
	if (h->ssl != NULL)
		SSL_free(h->ssl);
	SSL_CTX_free(h->ctx);
	if (h->fd >= 0)
		close(h->fd);
	frame_decoder_free(h->dec);
	ERR_clear_error();
	memset(h, 0, sizeof(*h));
	h->fd = -1;
}

static void
hostile_raw(struct hostile *h, const uint8_t *p, size_t len)
{
	int n;

	while (len > 0) {
		n = SSL_write(h->ssl, p, (int)len);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* One frame around payload, its CRC broken when bad_crc. */
static void
hostile_frame(struct hostile *h, const uint8_t *payload, size_t len,
    bool bad_crc)
{
	uint8_t crc[FRAME_CRC_LEN], *out;
	size_t cap = FRAME_ENCODED_MAX(len), n;
	uint32_t c = frame_crc32(payload, len) ^ (bad_crc ? 1u : 0u);

	assert_non_null(out = malloc(cap));
	crc[0] = (uint8_t)(c >> 24);
	crc[1] = (uint8_t)(c >> 16);
	crc[2] = (uint8_t)(c >> 8);
	crc[3] = (uint8_t)c;
	if (!bad_crc) {
		assert_int_equal(frame_encode(payload, len, out, cap, &n), 0);
	} else {
		assert_int_equal(cobs_encode2(payload, len, crc, sizeof(crc),
		    out, cap - 1, &n), 0);
		out[n++] = FRAME_DELIM;
	}
	hostile_raw(h, out, n);
	free(out);
}

static void
hostile_send(struct hostile *h, msgpack_sbuffer *sb)
{
	hostile_frame(h, (const uint8_t *)sb->data, sb->size, false);
	msgpack_sbuffer_destroy(sb);
}

/* The next answer into m: 1, or 0 when the connection closed; fails on a timeout. */
static int
hostile_read(struct hostile *h, struct msg *m)
{
	const uint8_t *payload;
	size_t used, plen;
	int n, rc;

	for (;;) {
		while (h->off < h->len) {
			rc = frame_decoder_push(h->dec, h->buf + h->off,
			    h->len - h->off, &used, &payload, &plen);
			h->off += used;
			assert_true(rc >= 0);
			if (rc > 0) {
				assert_int_equal(msg_decode_response(payload,
				    plen, m, NULL, 0), 0);
				return 1;
			}
		}
		h->off = h->len = 0;
		errno = 0;
		if ((n = SSL_read(h->ssl, h->buf, sizeof(h->buf))) <= 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				fail_msg("no answer in %d s", HOSTILE_TIMEOUT_S);
			return 0;
		}
		h->len = (size_t)n;
	}
}

/* Refused: an error envelope when answered, else the connection closes unanswered. */
static void
hostile_refused(struct hostile *h, bool answered)
{
	struct msg m;
	int got;

	msg_init(&m);
	got = hostile_read(h, &m);
	assert_int_equal(got, answered ? 1 : 0);
	if (got == 1) {
		assert_false(m.ok);
		assert_true(m.err_code_len > 0 && m.err_message_len > 0);
	}
	msg_free(&m);
}

/* The peer closed the connection: nothing more comes. */
static void
hostile_closed(struct hostile *h)
{
	struct msg m;

	msg_init(&m);
	assert_int_equal(hostile_read(h, &m), 0);
	msg_free(&m);
}

static void
pack_hello(struct hostile *h, msgpack_sbuffer *sb, unsigned node)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msg_pack_request(&pk, h->id++, "sync_hello", 3);
	msg_pack_cstr(&pk, "node");
	msgpack_pack_unsigned_int(&pk, node);
	msg_pack_cstr(&pk, "proto");
	msgpack_pack_unsigned_int(&pk, SYNC_PROTO_VERSION);
	msg_pack_cstr(&pk, "vv");
	msgpack_pack_array(&pk, 0);
}

/* A sync_events request of origin from first with the given event bytes. */
static void
pack_events(struct hostile *h, msgpack_sbuffer *sb, uint64_t origin,
    uint64_t first, const uint8_t *ev, size_t len)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msg_pack_request(&pk, h->id++, "sync_events", 4);
	msg_pack_cstr(&pk, "origin");
	msgpack_pack_uint64(&pk, origin);
	msg_pack_cstr(&pk, "first");
	msgpack_pack_uint64(&pk, first);
	msg_pack_cstr(&pk, "vv");
	msgpack_pack_array(&pk, 0);
	msg_pack_cstr(&pk, "events");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_bin(&pk, len);
	msgpack_pack_bin_body(&pk, ev, len);
}

/* Genuine events of node 2's log, copied out. */
struct evs {
	uint8_t b[HOSTILE_EVENTS][1024];
	size_t len[HOSTILE_EVENTS];
	size_t n;
};

static int
evs_collect(uint8_t origin, uint64_t seq, const uint8_t *event, size_t len,
    void *ctx)
{
	struct evs *e = ctx;

	(void)origin;
	(void)seq;
	if (e->n == HOSTILE_EVENTS || len > sizeof(e->b[0]))
		return 1;
	memcpy(e->b[e->n], event, len);
	e->len[e->n++] = len;
	return 0;
}

static uint64_t
complaints(const struct fx_node *n)
{
	struct sync_status st = status(n);

	return st.refused + st.bad_input;
}

/* Each hostile case before the hello, on a connection of its own. */
static void
hostile_before_hello(struct fx_node *a, struct fx_node *b, const struct evs *e)
{
	static const uint8_t garbage[] = { 0xc1, 0xc1, 0xc1 };
	msgpack_sbuffer sb;
	struct hostile h;
	uint64_t before;
	int which;

	for (which = 0; which < 4; which++) {
		before = complaints(a);
		hostile_open(&h, a, b);
		if (which == 0) {
			pack_hello(&h, &sb, b->id);
			hostile_frame(&h, (const uint8_t *)sb.data, sb.size,
			    true);
			msgpack_sbuffer_destroy(&sb);
		} else if (which == 1) {
			hostile_frame(&h, garbage, sizeof(garbage), false);
		} else if (which == 2) {
			pack_events(&h, &sb, b->id, 1, e->b[0], e->len[0]);
			hostile_send(&h, &sb);
		} else {
			pack_hello(&h, &sb, 3);
			hostile_send(&h, &sb);
		}
		/* A bad frame has no id to answer; the others are answered. */
		hostile_refused(&h, which != 0);
		/* Refused before the hello: the connection does not stay. */
		hostile_closed(&h);
		hostile_close(&h);
		assert_true(complaints(a) > before);
		assert_false(status(a).in_up);
	}
}

/* After a good hello: batches out of order, misplaced, of bad origins. */
static void
hostile_after_hello(struct fx_node *a, struct fx_node *b, const struct evs *e)
{
	const struct { uint64_t origin, first; size_t ev; } cases[] = {
		{ 2, 2, 1 },            /* a gap: first = vv + 2 */
		{ 2, 1, 1 },            /* event 2 in the place of 1 */
		{ 0, 1, 0 },            /* no such origin */
		{ 200, 1, 0 },          /* beyond the node ids */
		{ 1, 1, 0 },            /* the receiver's own origin */
	};
	msgpack_sbuffer sb;
	struct hostile h;
	struct msg m;
	uint64_t before;
	size_t i;

	hostile_open(&h, a, b);
	pack_hello(&h, &sb, b->id);
	hostile_send(&h, &sb);
	msg_init(&m);
	assert_int_equal(hostile_read(&h, &m), 1);
	assert_true(m.ok);
	msg_free(&m);
	assert_true(status(a).in_up);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		before = complaints(a);
		pack_events(&h, &sb, cases[i].origin, cases[i].first,
		    e->b[cases[i].ev], e->len[cases[i].ev]);
		hostile_send(&h, &sb);
		hostile_refused(&h, true);
		assert_true(complaints(a) > before);
		assert_int_equal(status(a).applied, 0);
	}
	hostile_close(&h);
}

static void
test_hostile_peer(void **state)
{
	struct fx *f = *state;
	struct fx_node *a = &f->n[1], *b = &f->n[2];
	uint64_t va[SYNC_ORIGIN_MAX + 1], vb[SYNC_ORIGIN_MAX + 1];
	struct repo_digest d0, d1;
	struct repo_txn *t;
	struct evs e;

	fx_issue(f, a, 4);
	fx_issue(f, b, HOSTILE_EVENTS);
	memset(&e, 0, sizeof(e));
	assert_int_equal(repo_begin(b->r, false, &t, f->why, sizeof(f->why)),
	    0);
	assert_int_equal(repo_events_foreach(t, b->id, 0, evs_collect, &e,
	    f->why, sizeof(f->why)), 0);
	repo_abort(t);
	assert_int_equal(e.n, HOSTILE_EVENTS);
	fx_vv(f, a, va);
	fx_digest(f, a, &d0);
	fx_start(f, a, b);      /* node 2's own replication is not running */
	hostile_before_hello(a, b, &e);
	hostile_after_hello(a, b, &e);
	fx_vv(f, a, vb);
	assert_memory_equal(va, vb, sizeof(va));
	fx_digest(f, a, &d1);
	assert_memory_equal(d0.hash, d1.hash, sizeof(d0.hash));
	assert_int_equal(status(a).applied, 0);
	assert_true(status(a).bad_input >= 4);
	assert_true(status(a).refused >= 5);
	/* The real peer still syncs. */
	fx_start(f, b, a);
	fx_wait_converged(f, a, b);
	fx_assert_same(f, a, b);
	fx_vv(f, a, va);
	assert_int_equal(va[2], HOSTILE_EVENTS);
	assert_int_equal(va[1], 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_nodes, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_catch_up, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_fresh_node, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_restart, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_certificate,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_peer, fx_setup,
		    fx_teardown),
	};

	/* SIGPIPE is not ignored: the sync threads must not die of a peer that goes away. */
	log_init("test_sync", 1, LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
