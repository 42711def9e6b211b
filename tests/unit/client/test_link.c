/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the client's link against a fake signer on a real pty pair: garbage, resends, timeouts, stray ids, fallback, pipelining. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"

#define TIMEOUT_MS 300
#define LONG_TIMEOUT_MS 5000    /* far longer than a prompt resend takes */
#define REF "0123456789abcdef0123456789abcdef"
#define HOLD_QUIET_MS 100       /* a holding peer answers after this long without input */
#define PIPE_N 10               /* requests in a pipelined batch */
#define PEER_SEEN_MAX 64        /* requests a pipelining peer remembers */
#define PEER_NOISY_N 6          /* PEER_NOISY: attempts refused before the answer */

/* What the fake signer does with the first request it sees; later ones are answered. */
enum peer_mode {
	PEER_GARBAGE,   /* garbage, a bad frame, then the answer */
	PEER_FRAME_ERR, /* a "frame" error with id 0 */
	PEER_NOISY,     /* id 0 errors ("frame", "decode") for the first PEER_NOISY_N */
	PEER_SILENT,    /* no answer */
	PEER_STRAY,     /* answers with other ids first */
	PEER_POLICY,    /* a "policy" error with the request's id */
	PEER_MUTE,      /* never answers */
	/* Pipelining: every answer also says held, seen and same (below). */
	PEER_ANSWER,    /* answers each request at once */
	PEER_HOLD,      /* answers what it holds once the line is quiet */
	PEER_DROP,      /* loses the first answer to request number peer_at */
	PEER_FRAME_AT,  /* a "frame" error instead, the first time */
};

/* For PEER_DROP and PEER_FRAME_AT: which request (1 = the first seen). */
static uint64_t peer_at;

/* What a pipelining peer saw of each id: the first payload, and how often. */
struct peer_seen {
	uint32_t id;
	uint8_t *raw;
	size_t len;
	uint64_t times;
};

struct peer {
	pid_t pid;
	int master;
	int slave;
	char path[128];
	bool long_timeout;      /* the link waits LONG_TIMEOUT_MS per attempt */
};

static void
peer_write(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			_exit(3);
		}
		p += n;
		len -= (size_t)n;
	}
}

static void
peer_send(int fd, msgpack_sbuffer *sb)
{
	uint8_t *frame;
	size_t len;

	if (msg_frame(sb, &frame, &len) != 0)
		_exit(4);
	peer_write(fd, frame, len);
	free(frame);
	msgpack_sbuffer_clear(sb);
}

/* Success: {ref: the request's ref, count: requests seen, cmd: the command}. */
static void
peer_answer(int fd, uint32_t id, const struct msg *req, uint64_t count)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	const char *ref = "";
	size_t rlen = 0;

	(void)msg_get_str(req->args, "ref", false, 256, &ref, &rlen, NULL, 0);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_result(&pk, id, 3);
	msg_pack_cstr(&pk, "ref");
	msgpack_pack_str(&pk, rlen);
	msgpack_pack_str_body(&pk, ref, rlen);
	msg_pack_cstr(&pk, "count");
	msgpack_pack_uint64(&pk, count);
	msg_pack_cstr(&pk, "cmd");
	msgpack_pack_str(&pk, req->cmd_len);
	msgpack_pack_str_body(&pk, req->cmd, req->cmd_len);
	peer_send(fd, &sb);
	msgpack_sbuffer_destroy(&sb);
}

static void
peer_error(int fd, uint32_t id, const char *code)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_error(&pk, id, code, "refused by the fake signer");
	peer_send(fd, &sb);
	msgpack_sbuffer_destroy(&sb);
}

/* The first request gets the mode's treatment; each later one an answer. */
static void
peer_handle(int fd, enum peer_mode mode, const struct msg *req, uint64_t count)
{
	static const uint8_t garbage[] = { 0x13, 0x37, 0xff, 0x42, 0x00, 0x05,
	    0x01, 0x02, 0x03, 0x04, 0x00 };

	if (mode == PEER_MUTE || (count == 1 && mode == PEER_SILENT))
		return;
	if (count == 1 && mode == PEER_FRAME_ERR) {
		peer_error(fd, 0, "frame");
		return;
	}
	if (count <= PEER_NOISY_N && mode == PEER_NOISY) {
		peer_error(fd, 0, count % 2 ? "frame" : "decode");
		return;
	}
	if (mode == PEER_POLICY) {
		peer_error(fd, req->id, "policy");
		return;
	}
	if (mode == PEER_GARBAGE)
		peer_write(fd, garbage, sizeof(garbage));
	if (mode == PEER_STRAY) {
		peer_answer(fd, req->id + 1, req, 999);
		peer_error(fd, req->id + 2, "internal");
		peer_answer(fd, 0, req, 998);
	}
	peer_answer(fd, req->id, req, count);
}

/* Note a request of a pipelining peer: how often its id came, with the same bytes each time. */
static struct peer_seen *
peer_note(struct peer_seen *tab, size_t *n, const struct msg *req,
    bool *same)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (tab[i].id != req->id)
			continue;
		tab[i].times++;
		if (tab[i].len != req->raw_len ||
		    memcmp(tab[i].raw, req->raw, req->raw_len) != 0)
			*same = false;
		return &tab[i];
	}
	if (*n == PEER_SEEN_MAX || (tab[*n].raw = malloc(req->raw_len)) == NULL)
		_exit(5);
	memcpy(tab[*n].raw, req->raw, req->raw_len);
	tab[*n].len = req->raw_len;
	tab[*n].id = req->id;
	tab[*n].times = 1;
	return &tab[(*n)++];
}

/* {ref, count, held: requests held unanswered, seen: times this id came, same: no id came back with other bytes}. */
static void
peer_answer_pipe(int fd, const struct msg *req, uint64_t count, uint64_t held,
    uint64_t seen, bool same)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	const char *ref = "";
	size_t rlen = 0;

	(void)msg_get_str(req->args, "ref", false, 256, &ref, &rlen, NULL, 0);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_result(&pk, req->id, 5);
	msg_pack_cstr(&pk, "ref");
	msgpack_pack_str(&pk, rlen);
	msgpack_pack_str_body(&pk, ref, rlen);
	msg_pack_cstr(&pk, "count");
	msgpack_pack_uint64(&pk, count);
	msg_pack_cstr(&pk, "held");
	msgpack_pack_uint64(&pk, held);
	msg_pack_cstr(&pk, "seen");
	msgpack_pack_uint64(&pk, seen);
	msg_pack_cstr(&pk, "same");
	if (same)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	peer_send(fd, &sb);
	msgpack_sbuffer_destroy(&sb);
}

/* A pipelining peer: requests as they come, or held until the line is quiet. */
static void
peer_run_pipe(int fd, enum peer_mode mode)
{
	static struct peer_seen seen[PEER_SEEN_MAX];
	static struct msg held[PEER_SEEN_MAX];
	static uint64_t times[PEER_SEEN_MAX];
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_DEFAULT);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	const uint8_t *payload;
	uint8_t buf[4096];
	size_t used, plen, off, nseen = 0, nheld = 0, i;
	uint64_t count = 0;
	bool same = true;
	ssize_t n;
	int rc;

	for (;;) {
		rc = poll(&pfd, 1, nheld > 0 ? HOLD_QUIET_MS : -1);
		if (rc == 0) {
			for (i = 0; i < nheld; i++) {
				peer_answer_pipe(fd, &held[i], count, nheld,
				    times[i], same);
				msg_free(&held[i]);
			}
			nheld = 0;
			continue;
		}
		if (rc < 0 || (n = read(fd, buf, sizeof(buf))) <= 0)
			break;
		for (off = 0; off < (size_t)n; off += used) {
			rc = frame_decoder_push(d, buf + off, (size_t)n - off,
			    &used, &payload, &plen);
			if (rc != 1 || nheld == PEER_SEEN_MAX)
				continue;
			msg_init(&held[nheld]);
			if (msg_decode_request(payload, plen, &held[nheld],
			    NULL, 0) != 0)
				continue;
			times[nheld] = peer_note(seen, &nseen, &held[nheld],
			    &same)->times;
			count++;
			if (mode == PEER_HOLD) {
				nheld++;
				continue;
			}
			if (mode == PEER_FRAME_AT && count == peer_at)
				peer_error(fd, 0, "frame");
			else if (mode != PEER_DROP || count != peer_at)
				peer_answer_pipe(fd, &held[nheld], count, 1,
				    times[nheld], same);
			msg_free(&held[nheld]);
		}
	}
	_exit(0);
}

static void
peer_run(int fd, enum peer_mode mode)
{
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_DEFAULT);
	const uint8_t *payload;
	uint8_t buf[4096];
	size_t used, plen, off;
	uint64_t count = 0;
	struct msg req;
	ssize_t n;
	int rc;

	msg_init(&req);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < (size_t)n; off += used) {
			rc = frame_decoder_push(d, buf + off, (size_t)n - off,
			    &used, &payload, &plen);
			if (rc == 1 && msg_decode_request(payload, plen, &req,
			    NULL, 0) == 0)
				peer_handle(fd, mode, &req, ++count);
		}
	}
	msg_free(&req);
	frame_decoder_free(d);
	_exit(0);
}

static void
peer_start(struct peer *p, enum peer_mode mode)
{
	struct termios tio;

	p->long_timeout = false;
	assert_int_equal(openpty(&p->master, &p->slave, p->path, NULL, NULL), 0);
	assert_int_equal(tcgetattr(p->slave, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(p->slave, TCSANOW, &tio), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		close(p->slave);
		if (mode >= PEER_ANSWER)
			peer_run_pipe(p->master, mode);
		peer_run(p->master, mode);
	}
	close(p->master);
	p->master = -1;
}

static void
peer_stop(struct peer *p)
{
	int status;

	if (p->slave >= 0)
		close(p->slave);
	kill(p->pid, SIGTERM);
	waitpid(p->pid, &status, 0);
}

static void
pack_ref(msgpack_packer *pk, void *arg)
{
	msg_pack_cstr(pk, "ref");
	msg_pack_cstr(pk, arg);
}

/* One call with a ref on a link over the pty slave; returns link_call's result. */
static int
call_over(struct peer *p, uint32_t retries, struct msg *resp, size_t *sent,
    char *why)
{
	struct link_params lp = { FRAME_MAX_DEFAULT, TIMEOUT_MS, retries };

	if (p->long_timeout)
		lp.timeout_ms = LONG_TIMEOUT_MS;
	struct link *l;
	int fd, rc;

	assert_true((fd = open(p->path, O_RDWR | O_NOCTTY | O_NONBLOCK)) >= 0);
	assert_int_equal(link_from_fd(fd, &lp, &l), 0);
	msg_init(resp);
	rc = link_call(l, "sign", 1, pack_ref, (void *)REF, resp, why,
	    CLIENT_WHY_MAX);
	*sent = link_sent(l);
	link_free(l);
	return rc;
}

static void
assert_answer(const struct msg *m, uint64_t count)
{
	const char *s;
	size_t len;
	uint64_t n;

	assert_int_equal(msg_get_str(m->result, "ref", true, 256, &s, &len,
	    NULL, 0), 1);
	assert_int_equal(len, strlen(REF));
	assert_memory_equal(s, REF, len);
	assert_int_equal(msg_get_uint(m->result, "count", true, 0, UINT64_MAX,
	    &n, NULL, 0), 1);
	assert_int_equal(n, count);
}

static void
run_mode(enum peer_mode mode, uint32_t retries, int want_rc,
    uint64_t want_count, size_t want_sent)
{
	char why[CLIENT_WHY_MAX] = "";
	struct peer p;
	struct msg m;
	size_t sent;
	int rc;

	peer_start(&p, mode);
	rc = call_over(&p, retries, &m, &sent, why);
	if (rc != want_rc)
		print_error("rc %d (%s), want %d\n", rc, why, want_rc);
	assert_int_equal(rc, want_rc);
	if (rc == 0)
		assert_answer(&m, want_count);
	assert_int_equal(sent, want_sent);
	msg_free(&m);
	peer_stop(&p);
}

static void
test_after_garbage(void **state)
{
	(void)state;
	run_mode(PEER_GARBAGE, 0, 0, 1, 1);
}

/* A "frame" error is answered by an immediate resend of the same request, not by waiting. */
static void
test_frame_error_resends(void **state)
{
	char why[CLIENT_WHY_MAX] = "";
	struct timespec t0, t1;
	struct peer p;
	struct msg m;
	size_t sent;

	(void)state;
	peer_start(&p, PEER_FRAME_ERR);
	p.long_timeout = true;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(call_over(&p, 2, &m, &sent, why), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* The signer saw the same ref twice. */
	assert_answer(&m, 2);
	assert_int_equal(sent, 2);
	assert_true(t1.tv_sec - t0.tv_sec < LONG_TIMEOUT_MS / 1000 / 2);
	msg_free(&m);
	peer_stop(&p);
}

/*
 * A noisy line: more id-0 errors (also "decode") than retries allow. Each is
 * proof that the line carries bytes, so the request is sent again and
 * succeeds; the retries are kept for a signer that does not answer.
 */
static void
test_noise_not_counted_as_retries(void **state)
{
	(void)state;
	run_mode(PEER_NOISY, 1, 0, PEER_NOISY_N + 1, PEER_NOISY_N + 1);
}

static void
test_timeout_resends(void **state)
{
	(void)state;
	run_mode(PEER_SILENT, 2, 0, 2, 2);
}

static void
test_stray_ids_ignored(void **state)
{
	(void)state;
	run_mode(PEER_STRAY, 0, 0, 1, 1);
}

static void
test_error_response(void **state)
{
	char why[CLIENT_WHY_MAX] = "";
	struct peer p;
	struct msg m;
	size_t sent;

	(void)state;
	peer_start(&p, PEER_POLICY);
	assert_int_equal(call_over(&p, 3, &m, &sent, why), ERR_POLICY);
	assert_string_equal(why, "policy: refused by the fake signer");
	assert_int_equal(sent, 1);
	msg_free(&m);
	peer_stop(&p);
}

static void
test_retries_exhausted(void **state)
{
	char why[CLIENT_WHY_MAX] = "";
	struct peer p;
	struct msg m;
	size_t sent;

	(void)state;
	peer_start(&p, PEER_MUTE);
	assert_int_equal(call_over(&p, 1, &m, &sent, why), ERR_TIMEOUT);
	assert_int_equal(sent, 2);
	msg_free(&m);
	peer_stop(&p);
}

/* Two signers: the first never answers, the second does; the same ref goes to both. */
static void
test_fallback_second_signer(void **state)
{
	char why[CLIENT_WHY_MAX] = "";
	struct conf_client c;
	struct peer a, b;
	struct link *l;
	struct msg m;

	(void)state;
	peer_start(&a, PEER_MUTE);
	peer_start(&b, PEER_GARBAGE);
	memset(&c, 0, sizeof(c));
	c.signers[0].device = a.path;
	c.signers[0].baud = 115200;
	c.signers[1].device = b.path;
	c.signers[1].baud = 115200;
	c.n_signers = 2;
	c.max_frame = FRAME_MAX_DEFAULT;
	c.timeout_ms = TIMEOUT_MS;
	c.retries = 1;
	assert_int_equal(link_open(&c, &l, why, sizeof(why)), 0);
	msg_init(&m);
	assert_int_equal(link_call(l, "sign", 1, pack_ref, (void *)REF, &m, why,
	    sizeof(why)), 0);
	assert_answer(&m, 1);
	assert_int_equal(link_sent(l), 3);
	msg_free(&m);
	link_free(l);
	peer_stop(&a);
	peer_stop(&b);
}

/* The first signer's device does not exist: the second is used. */
static void
test_fallback_on_open_failure(void **state)
{
	char why[CLIENT_WHY_MAX] = "";
	struct conf_client c;
	struct peer b;
	struct link *l;
	struct msg m;

	(void)state;
	peer_start(&b, PEER_STRAY);
	memset(&c, 0, sizeof(c));
	c.signers[0].device = (char *)"/nonexistent/tty";
	c.signers[0].baud = 115200;
	c.signers[1].device = b.path;
	c.signers[1].baud = 115200;
	c.n_signers = 2;
	c.max_frame = FRAME_MAX_DEFAULT;
	c.timeout_ms = TIMEOUT_MS;
	c.retries = 0;
	assert_int_equal(link_open(&c, &l, why, sizeof(why)), 0);
	msg_init(&m);
	assert_int_equal(link_call(l, "health", 0, NULL, NULL, &m, why,
	    sizeof(why)), 0);
	msg_free(&m);
	link_free(l);
	peer_stop(&b);
}

/* What a link told of its failovers. */
struct switch_rec {
	size_t n;
	size_t from, to;
	char why[CLIENT_WHY_MAX];
};

static void
on_switch(void *arg, size_t from, size_t to, const char *why)
{
	struct switch_rec *r = arg;

	r->n++;
	r->from = from;
	r->to = to;
	snprintf(r->why, sizeof(r->why), "%s", why);
}

static void
two_signers(struct conf_client *c, const char *a, const char *b)
{
	memset(c, 0, sizeof(*c));
	c->signers[0].device = (char *)a;
	c->signers[0].baud = 115200;
	c->signers[1].device = (char *)b;
	c->signers[1].baud = 115200;
	c->n_signers = 2;
	c->max_frame = FRAME_MAX_DEFAULT;
	c->timeout_ms = TIMEOUT_MS;
	c->retries = 1;
}

/* On the second signer, which stops answering: the link goes back to the first. */
static void
test_failover_to_first(void **state)
{
	char why[CLIENT_WHY_MAX] = "";
	struct switch_rec r = { 0 };
	struct conf_client c;
	struct peer a, b;
	struct link *l;
	struct msg m;

	(void)state;
	peer_start(&a, PEER_GARBAGE);
	peer_start(&b, PEER_MUTE);
	two_signers(&c, a.path, b.path);
	assert_int_equal(link_open_signer(&c, 1, &l, why, sizeof(why)), 0);
	assert_int_equal(link_signer(l), 1);
	link_on_switch(l, on_switch, &r);
	msg_init(&m);
	assert_int_equal(link_call(l, "sign", 1, pack_ref, (void *)REF, &m, why,
	    sizeof(why)), 0);
	assert_answer(&m, 1);
	assert_int_equal(link_signer(l), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.from, 1);
	assert_int_equal(r.to, 0);
	assert_string_equal(r.why, "no answer after 2 attempt(s) of 300 ms");
	msg_free(&m);
	link_free(l);
	peer_stop(&a);
	peer_stop(&b);
}

/* Failover forbidden (a probe of one signer): the timeout is the answer. */
static void
test_failover_off(void **state)
{
	char why[CLIENT_WHY_MAX] = "";
	struct switch_rec r = { 0 };
	struct conf_client c;
	struct peer a, b;
	struct link *l;
	struct msg m;

	(void)state;
	peer_start(&a, PEER_MUTE);
	peer_start(&b, PEER_GARBAGE);
	two_signers(&c, a.path, b.path);
	assert_int_equal(link_open_signer(&c, 0, &l, why, sizeof(why)), 0);
	link_set_failover(l, false);
	link_set_timeout(l, TIMEOUT_MS, 0);
	link_on_switch(l, on_switch, &r);
	msg_init(&m);
	assert_int_equal(link_call(l, "health", 0, NULL, NULL, &m, why,
	    sizeof(why)), ERR_TIMEOUT);
	assert_int_equal(link_sent(l), 1);
	assert_int_equal(link_signer(l), 0);
	assert_int_equal(r.n, 0);
	msg_free(&m);
	link_free(l);
	peer_stop(&a);
	peer_stop(&b);
}

/* Neither answers: one failover, no ping-pong; the request times out. */
static void
test_failover_once_per_batch(void **state)
{
	char why[CLIENT_WHY_MAX] = "";
	struct switch_rec r = { 0 };
	struct conf_client c;
	struct peer a, b;
	struct link *l;
	struct msg m;

	(void)state;
	peer_start(&a, PEER_MUTE);
	peer_start(&b, PEER_MUTE);
	two_signers(&c, a.path, b.path);
	assert_int_equal(link_open(&c, &l, why, sizeof(why)), 0);
	link_on_switch(l, on_switch, &r);
	msg_init(&m);
	assert_int_equal(link_call(l, "health", 0, NULL, NULL, &m, why,
	    sizeof(why)), ERR_TIMEOUT);
	assert_int_equal(r.n, 1);
	assert_int_equal(link_sent(l), 4);
	assert_int_equal(link_signer(l), 1);
	msg_free(&m);
	link_free(l);
	peer_stop(&a);
	peer_stop(&b);
}

/* The first signer's line hangs up and its device is gone: the second takes over. */
static void
test_failover_on_hangup(void **state)
{
	char why[CLIENT_WHY_MAX] = "", gone[] = "/nonexistent/tty";
	struct switch_rec r = { 0 };
	struct conf_client c;
	struct peer a, b;
	struct link *l;
	struct msg m;

	(void)state;
	peer_start(&a, PEER_MUTE);
	peer_start(&b, PEER_GARBAGE);
	two_signers(&c, a.path, b.path);
	c.timeout_ms = LONG_TIMEOUT_MS;
	assert_int_equal(link_open(&c, &l, why, sizeof(why)), 0);
	link_on_switch(l, on_switch, &r);
	/* The peer's side closes: reads on our side fail with EIO. */
	c.signers[0].device = gone;
	close(a.slave);
	a.slave = -1;
	kill(a.pid, SIGKILL);
	msg_init(&m);
	assert_int_equal(link_call(l, "sign", 1, pack_ref, (void *)REF, &m, why,
	    sizeof(why)), 0);
	assert_answer(&m, 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.to, 1);
	assert_non_null(strstr(r.why, "hung up and does not open again"));
	msg_free(&m);
	link_free(l);
	peer_stop(&a);
	peer_stop(&b);
}

static void
test_request_too_large(void **state)
{
	struct link_params lp = { FRAME_MAX_MIN, TIMEOUT_MS, 0 };
	char why[CLIENT_WHY_MAX] = "", big[FRAME_MAX_MIN + 1];
	struct link *l;
	struct msg m;
	int fd[2];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(pipe(fd), 0);
	close(fd[0]);
	assert_int_equal(link_from_fd(fd[1], &lp, &l), 0);
	msg_init(&m);
	assert_int_equal(link_call(l, "sign", 1, pack_ref, big, &m, why,
	    sizeof(why)), ERR_INVAL);
	assert_non_null(strstr(why, "max_frame"));
	assert_int_equal(link_sent(l), 0);
	msg_free(&m);
	link_free(l);
}

/* ---- pipelining ---------------------------------------------------------- */

/* What a pipelined batch reported, per request. */
struct pipe_rec {
	char refs[PIPE_N][16];
	int rc[PIPE_N];
	size_t calls[PIPE_N];   /* done calls */
	bool match[PIPE_N];     /* the answer carried the request's ref */
	uint64_t held[PIPE_N];
	uint64_t seen[PIPE_N];
	bool same[PIPE_N];
	size_t order[PIPE_N];   /* indices in the order reported */
	size_t ndone;
	size_t stop_at;         /* done ends the batch here (PIPE_N: never) */
};

static void
pipe_req(void *arg, size_t i, struct link_req *r)
{
	struct pipe_rec *rec = arg;

	snprintf(rec->refs[i], sizeof(rec->refs[i]), "ref-%zu", i);
	r->cmd = "sign";
	r->nargs = 1;
	r->fn = pack_ref;
	r->arg = rec->refs[i];
}

static int
pipe_done(void *arg, size_t i, int rc, struct msg *resp, const char *why)
{
	struct pipe_rec *rec = arg;
	const char *ref;
	size_t len;

	if (rc != 0)
		print_error("request %zu: %s\n", i, why);
	rec->rc[i] = rc;
	rec->calls[i]++;
	if (rec->ndone < PIPE_N)
		rec->order[rec->ndone++] = i;
	if (rc == 0) {
		rec->match[i] = msg_get_str(resp->result, "ref", true, 64, &ref,
		    &len, NULL, 0) == 1 && len == strlen(rec->refs[i]) &&
		    memcmp(ref, rec->refs[i], len) == 0;
		(void)msg_get_uint(resp->result, "held", true, 0, UINT64_MAX,
		    &rec->held[i], NULL, 0);
		(void)msg_get_uint(resp->result, "seen", true, 0, UINT64_MAX,
		    &rec->seen[i], NULL, 0);
		(void)msg_get_bool(resp->result, "same", true, &rec->same[i],
		    NULL, 0);
	}
	return i == rec->stop_at ? 42 : 0;
}

static int64_t
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A batch of PIPE_N requests over a link to a peer in mode; returns link_pipeline's result. */
static int
run_pipe(enum peer_mode mode, uint64_t at, size_t window, uint32_t timeout_ms,
    struct pipe_rec *rec, size_t *sent, int64_t *ms)
{
	struct link_params lp = { FRAME_MAX_DEFAULT, timeout_ms, 2 };
	struct link_batch b = { PIPE_N, window, pipe_req, pipe_done, rec };
	char why[CLIENT_WHY_MAX] = "";
	struct timespec t0;
	struct peer p;
	struct link *l;
	int fd, rc;

	memset(rec, 0, sizeof(*rec));
	rec->stop_at = PIPE_N;
	peer_at = at;
	peer_start(&p, mode);
	assert_true((fd = open(p.path, O_RDWR | O_NOCTTY | O_NONBLOCK)) >= 0);
	assert_int_equal(link_from_fd(fd, &lp, &l), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = link_pipeline(l, &b, why, sizeof(why));
	*ms = ms_since(&t0);
	*sent = link_sent(l);
	link_free(l);
	peer_stop(&p);
	return rc;
}

/* Every request answered once, by its own answer; seen[i] times by the peer. */
static void
assert_all_answered(const struct pipe_rec *rec, size_t again)
{
	size_t i;

	assert_int_equal(rec->ndone, PIPE_N);
	for (i = 0; i < PIPE_N; i++) {
		assert_int_equal(rec->rc[i], 0);
		assert_int_equal(rec->calls[i], 1);
		assert_true(rec->match[i]);
		assert_true(rec->same[i]);
		assert_int_equal(rec->seen[i], i == again ? 2 : 1);
	}
}

static void
test_pipeline_in_order(void **state)
{
	struct pipe_rec rec;
	size_t sent, i;
	int64_t ms;

	(void)state;
	assert_int_equal(run_pipe(PEER_ANSWER, 0, 4, TIMEOUT_MS, &rec, &sent,
	    &ms), 0);
	assert_all_answered(&rec, PIPE_N);
	for (i = 0; i < PIPE_N; i++)
		assert_int_equal(rec.order[i], i);
	assert_int_equal(sent, PIPE_N);
}

/* A peer that answers only when the line is quiet sees exactly the window in flight. */
static void
test_pipeline_window(void **state)
{
	static const size_t windows[] = { 1, 3, LINK_WINDOW_DEFAULT };
	struct pipe_rec rec;
	size_t sent, i, w;
	uint64_t max;
	int64_t ms;

	(void)state;
	for (w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
		assert_int_equal(run_pipe(PEER_HOLD, 0, windows[w],
		    LONG_TIMEOUT_MS, &rec, &sent, &ms), 0);
		assert_all_answered(&rec, PIPE_N);
		for (max = 0, i = 0; i < PIPE_N; i++) {
			assert_true(rec.held[i] <= windows[w]);
			max = rec.held[i] > max ? rec.held[i] : max;
		}
		assert_int_equal(max, windows[w]);
		assert_int_equal(sent, PIPE_N);
	}
}

/* The third answer is lost: the fourth shows it, and it is sent again at once, identical. */
static void
test_pipeline_lost_answer(void **state)
{
	struct pipe_rec rec;
	size_t sent;
	int64_t ms;

	(void)state;
	assert_int_equal(run_pipe(PEER_DROP, 3, 8, LONG_TIMEOUT_MS, &rec,
	    &sent, &ms), 0);
	assert_all_answered(&rec, 2);
	assert_int_equal(sent, PIPE_N + 1);
	assert_true(ms < LONG_TIMEOUT_MS / 2);
}

/* The last answer is lost: nothing shows it but the timeout. */
static void
test_pipeline_lost_last(void **state)
{
	struct pipe_rec rec;
	size_t sent;
	int64_t ms;

	(void)state;
	assert_int_equal(run_pipe(PEER_DROP, PIPE_N, 4, TIMEOUT_MS, &rec,
	    &sent, &ms), 0);
	assert_all_answered(&rec, PIPE_N - 1);
	assert_int_equal(sent, PIPE_N + 1);
	assert_true(ms >= TIMEOUT_MS);
}

/* A "frame" error (id 0) in the middle: the oldest request in flight goes again. */
static void
test_pipeline_frame_error(void **state)
{
	struct pipe_rec rec;
	size_t sent;
	int64_t ms;

	(void)state;
	assert_int_equal(run_pipe(PEER_FRAME_AT, 4, 8, LONG_TIMEOUT_MS, &rec,
	    &sent, &ms), 0);
	assert_all_answered(&rec, 3);
	assert_int_equal(sent, PIPE_N + 1);
	assert_true(ms < LONG_TIMEOUT_MS / 2);
}

/* done ends the batch: its value is returned and nothing after is reported. */
static void
test_pipeline_stopped(void **state)
{
	struct link_params lp = { FRAME_MAX_DEFAULT, TIMEOUT_MS, 0 };
	struct link_batch b = { PIPE_N, 4, pipe_req, pipe_done, NULL };
	char why[CLIENT_WHY_MAX] = "";
	struct pipe_rec rec;
	struct peer p;
	struct link *l;
	const char *ref;
	struct msg m;
	size_t len;
	int fd;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.stop_at = 2;
	b.arg = &rec;
	peer_start(&p, PEER_ANSWER);
	assert_true((fd = open(p.path, O_RDWR | O_NOCTTY | O_NONBLOCK)) >= 0);
	assert_int_equal(link_from_fd(fd, &lp, &l), 0);
	assert_int_equal(link_pipeline(l, &b, why, sizeof(why)), 42);
	assert_int_equal(rec.ndone, 3);
	assert_int_equal(rec.order[2], 2);
	/* The abandoned requests' answers are strays to the next call. */
	msg_init(&m);
	assert_int_equal(link_call(l, "sign", 1, pack_ref, (void *)REF, &m, why,
	    sizeof(why)), 0);
	assert_int_equal(msg_get_str(m.result, "ref", true, 256, &ref, &len,
	    NULL, 0), 1);
	assert_int_equal(len, strlen(REF));
	assert_memory_equal(ref, REF, len);
	msg_free(&m);
	link_free(l);
	peer_stop(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_after_garbage),
		cmocka_unit_test(test_frame_error_resends),
		cmocka_unit_test(test_noise_not_counted_as_retries),
		cmocka_unit_test(test_timeout_resends),
		cmocka_unit_test(test_stray_ids_ignored),
		cmocka_unit_test(test_error_response),
		cmocka_unit_test(test_retries_exhausted),
		cmocka_unit_test(test_fallback_second_signer),
		cmocka_unit_test(test_fallback_on_open_failure),
		cmocka_unit_test(test_failover_to_first),
		cmocka_unit_test(test_failover_off),
		cmocka_unit_test(test_failover_once_per_batch),
		cmocka_unit_test(test_failover_on_hangup),
		cmocka_unit_test(test_request_too_large),
		cmocka_unit_test(test_pipeline_in_order),
		cmocka_unit_test(test_pipeline_window),
		cmocka_unit_test(test_pipeline_lost_answer),
		cmocka_unit_test(test_pipeline_lost_last),
		cmocka_unit_test(test_pipeline_frame_error),
		cmocka_unit_test(test_pipeline_stopped),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, 0, NULL);
}
