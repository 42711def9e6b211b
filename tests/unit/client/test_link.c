/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the client's link against a fake signer on a real pty pair: garbage, resends, timeouts, stray ids, fallback. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
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

/* What the fake signer does with the first request it sees; later ones are answered. */
enum peer_mode {
	PEER_GARBAGE,   /* garbage, a bad frame, then the answer */
	PEER_FRAME_ERR, /* a "frame" error with id 0 */
	PEER_SILENT,    /* no answer */
	PEER_STRAY,     /* answers with other ids first */
	PEER_POLICY,    /* a "policy" error with the request's id */
	PEER_MUTE,      /* never answers */
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_after_garbage),
		cmocka_unit_test(test_frame_error_resends),
		cmocka_unit_test(test_timeout_resends),
		cmocka_unit_test(test_stray_ids_ignored),
		cmocka_unit_test(test_error_response),
		cmocka_unit_test(test_retries_exhausted),
		cmocka_unit_test(test_fallback_second_signer),
		cmocka_unit_test(test_fallback_on_open_failure),
		cmocka_unit_test(test_request_too_large),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, 0, NULL);
}
