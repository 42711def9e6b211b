/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of "signer-client crl" against a scripted signer on a real pty pair: pipelined chunks, restarts on conflict, lost chunks, delta CRLs. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "client/client.h"
#include "tests/unit/client/crl_helper.h"

#define CLIENT_FRAME 512        /* small frames: a CRL takes many chunks */
#define CLIENT_TIMEOUT_MS 1000
#define ENTRIES_A 60            /* serials on the first complete CRL */
#define NUMBER_A 1000
#define NUMBER_B 1010           /* the next complete CRL */
#define NUMBER_D 1020           /* the delta against B */
#define DROP_AT 3               /* PEER_DROP loses its answer to this crl request */

/* What the scripted signer does. */
enum peer_mode {
	PEER_SERVE,     /* serves the current CRL */
	PEER_REGEN,     /* makes B current on the first pinned request */
	PEER_CHURN,     /* every pinned request is a conflict */
	PEER_DROP,      /* loses one answer */
};

struct der {
	uint8_t *p;
	size_t len;
	uint64_t number;
	bool delta;
	uint64_t base;
	uint64_t entries;
};

static struct {
	struct test_ca ca;
	struct der a, b, d, forged;
	struct der a_fresh, a_aged, da;  /* base A made now and 60% of a lifetime ago; a delta against A */
	char out[128], delta[128];
	/* The peer's script, set before it starts. */
	enum peer_mode mode;
	const struct der *cur;  /* the complete CRL served */
	const struct der *dl;   /* the delta served (against dl->base); NULL: none */
} g;

struct peer {
	pid_t pid;
	int slave;
	char path[128];
};

/* ---- the scripted signer --------------------------------------------------- */

static void
peer_send(int fd, msgpack_sbuffer *sb)
{
	uint8_t *frame, *p;
	size_t len;
	ssize_t n;

	if (msg_frame(sb, &frame, &len) != 0)
		_exit(4);
	p = frame;
	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			_exit(3);
		}
		p += n;
		len -= (size_t)n;
	}
	free(frame);
}

static void
peer_error(int fd, uint32_t id, const char *code)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_error(&pk, id, code, "refused by the scripted signer");
	peer_send(fd, &sb);
	msgpack_sbuffer_destroy(&sb);
}

static void
peer_hello(int fd, uint32_t id)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_result(&pk, id, 2);
	msg_pack_cstr(&pk, "version");
	msgpack_pack_uint32(&pk, MSG_VERSION);
	msg_pack_cstr(&pk, "max_frame");
	msgpack_pack_uint32(&pk, FRAME_MAX_DEFAULT);
	peer_send(fd, &sb);
	msgpack_sbuffer_destroy(&sb);
}

static void
peer_chunk(int fd, uint32_t id, const struct der *c, uint64_t off,
    uint64_t len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	if (len > c->len - off)
		len = c->len - off;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_result(&pk, id, 6 + (c->delta ? 1 : 0));
	msg_pack_cstr(&pk, "issuer");
	msg_pack_cstr(&pk, TEST_CA_ID);
	msg_pack_cstr(&pk, "number");
	msgpack_pack_uint64(&pk, c->number);
	if (c->delta) {
		msg_pack_cstr(&pk, "delta_base");
		msgpack_pack_uint64(&pk, c->base);
	}
	msg_pack_cstr(&pk, "entries");
	msgpack_pack_uint64(&pk, c->entries);
	msg_pack_cstr(&pk, "size");
	msgpack_pack_uint64(&pk, c->len);
	msg_pack_cstr(&pk, "offset");
	msgpack_pack_uint64(&pk, off);
	msg_pack_cstr(&pk, "data");
	msgpack_pack_bin(&pk, (size_t)len);
	msgpack_pack_bin_body(&pk, c->p + off, (size_t)len);
	peer_send(fd, &sb);
	msgpack_sbuffer_destroy(&sb);
}

/* One "crl" request, as docs/protocol.md 5.5 says, bent by the mode. */
static void
peer_crl(int fd, const struct msg *m, uint64_t count)
{
	const struct der *c = g.cur;
	uint64_t base, number, off = 0, len = UINT32_MAX;
	bool pinned;

	pinned = msg_get_uint(m->args, "number", false, 0, UINT64_MAX, &number,
	    NULL, 0) == 1;
	(void)msg_get_uint(m->args, "offset", false, 0, UINT64_MAX, &off, NULL,
	    0);
	(void)msg_get_uint(m->args, "length", false, 1, UINT64_MAX, &len, NULL,
	    0);
	if (msg_get_uint(m->args, "delta_base", false, 0, UINT64_MAX, &base,
	    NULL, 0) == 1) {
		if (g.dl == NULL || g.dl->base != base) {
			peer_error(fd, m->id, "not_found");
			return;
		}
		c = g.dl;
	}
	if (g.mode == PEER_DROP && count == DROP_AT)
		return;
	if (pinned && g.mode == PEER_REGEN && g.cur != &g.b)
		g.cur = c = &g.b;
	if (pinned && (g.mode == PEER_CHURN || number != c->number)) {
		peer_error(fd, m->id, "conflict");
		return;
	}
	if (off > c->len) {
		peer_error(fd, m->id, "bad_request");
		return;
	}
	peer_chunk(fd, m->id, c, off, len);
}

static void
peer_run(int fd)
{
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_DEFAULT);
	const uint8_t *payload;
	uint8_t buf[4096];
	size_t used, plen, off;
	uint64_t count = 0;
	struct msg m;
	ssize_t n;

	msg_init(&m);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < (size_t)n; off += used) {
			if (frame_decoder_push(d, buf + off, (size_t)n - off,
			    &used, &payload, &plen) != 1 ||
			    msg_decode_request(payload, plen, &m, NULL, 0) != 0)
				continue;
			if (m.cmd_len == 5 && memcmp(m.cmd, "hello", 5) == 0)
				peer_hello(fd, m.id);
			else
				peer_crl(fd, &m, ++count);
		}
	}
	_exit(0);
}

static void
peer_start(struct peer *p)
{
	struct termios tio;
	int master;

	assert_int_equal(openpty(&master, &p->slave, p->path, NULL, NULL), 0);
	assert_int_equal(tcgetattr(p->slave, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(p->slave, TCSANOW, &tio), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		close(p->slave);
		peer_run(master);
	}
	close(master);
}

static void
peer_stop(struct peer *p)
{
	int status;

	close(p->slave);
	kill(p->pid, SIGTERM);
	waitpid(p->pid, &status, 0);
}

/* ---- the client ------------------------------------------------------------ */

/* signer-client crl --issuer test-ca --out OUT [--delta DELTA] against the script. */
static int
run_crl(enum peer_mode mode, const struct der *cur, const struct der *dl,
    bool with_delta)
{
	char *argv[] = { "crl", "--issuer", TEST_CA_ID, "--out", g.out,
	    "--delta", g.delta, NULL };
	struct conf_client c;
	struct client_ctx ctx;
	struct peer p;
	int rc;

	g.mode = mode;
	g.cur = cur;
	g.dl = dl;
	peer_start(&p);
	memset(&c, 0, sizeof(c));
	c.signers[0].device = p.path;
	c.signers[0].baud = 115200;
	c.n_signers = 1;
	c.max_frame = CLIENT_FRAME;
	c.timeout_ms = CLIENT_TIMEOUT_MS;
	c.retries = 2;
	c.ca_dir = g.ca.dir;
	memset(&ctx, 0, sizeof(ctx));
	ctx.conf = &c;
	rc = client_cmd_crl(&ctx, with_delta ? 7 : 5, argv);
	fflush(stdout);
	link_free(ctx.link);
	peer_stop(&p);
	return rc;
}

static void
der_make(struct der *d, const struct test_crl *s)
{
	d->p = test_crl_make(&g.ca, s, &d->len);
	d->number = s->number;
	d->delta = s->delta;
	d->base = s->base;
	d->entries = s->n;
}

static int
setup(void **state)
{
	static uint64_t serials[ENTRIES_A + 1];
	static const uint64_t news[] = { 0x1000 + 10 * 7, 0x9998, 0x9999 };
	struct test_crl a = { .number = NUMBER_A, .serials = serials,
	    .n = ENTRIES_A };
	struct test_crl b = { .number = NUMBER_B, .serials = serials,
	    .n = ENTRIES_A + 1 };
	struct test_crl d = { .number = NUMBER_D, .delta = true,
	    .base = NUMBER_B, .serials = news, .n = 3 };
	size_t i;

	(void)state;
	for (i = 0; i < ENTRIES_A + 1; i++)
		serials[i] = 0x1000 + i * 7;
	test_ca_make(&g.ca);
	der_make(&g.a, &a);
	der_make(&g.b, &b);
	der_make(&g.d, &d);
	a.this_ago = 0;
	der_make(&g.a_fresh, &a);
	a.this_ago = TEST_CRL_LIFETIME * 6 / 10;
	a.next_after = TEST_CRL_LIFETIME;
	der_make(&g.a_aged, &a);
	a.this_ago = 0;
	a.next_after = 0;
	d.base = NUMBER_A;
	der_make(&g.da, &d);
	a.key = g.ca.other;
	der_make(&g.forged, &a);
	/* The point of the test is several pipelined chunks. */
	assert_true(g.a.len > 4 * CLIENT_FRAME);
	snprintf(g.out, sizeof(g.out), "%s/out.crl", g.ca.dir);
	snprintf(g.delta, sizeof(g.delta), "%s/delta.crl", g.ca.dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	test_ca_free(&g.ca);
	OPENSSL_free(g.a.p);
	OPENSSL_free(g.b.p);
	OPENSSL_free(g.d.p);
	OPENSSL_free(g.forged.p);
	OPENSSL_free(g.a_fresh.p);
	OPENSSL_free(g.a_aged.p);
	OPENSSL_free(g.da.p);
	return 0;
}

/* Each test starts without output files. */
static int
clean(void **state)
{
	(void)state;
	unlink(g.out);
	unlink(g.delta);
	return 0;
}

static void
assert_file(const char *path, const struct der *d)
{
	uint8_t buf[16384];
	size_t n;
	FILE *fp;

	assert_non_null(fp = fopen(path, "rb"));
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	assert_int_equal(n, d->len);
	assert_memory_equal(buf, d->p, d->len);
}

static void
put_file(const char *path, const struct der *d)
{
	FILE *fp;

	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(d->p, 1, d->len, fp), d->len);
	fclose(fp);
}

static ino_t
inode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static void
test_complete_in_chunks(void **state)
{
	ino_t ino;

	(void)state;
	assert_int_equal(run_crl(PEER_SERVE, &g.a, NULL, false), 0);
	assert_file(g.out, &g.a);
	ino = inode(g.out);
	/* Again: up to date, the file is left alone. */
	assert_int_equal(run_crl(PEER_SERVE, &g.a, NULL, false), 0);
	assert_int_equal(inode(g.out), ino);
}

/* The CRL changes after the first chunk: the fetch starts again and gets the new one. */
static void
test_restart_on_conflict(void **state)
{
	(void)state;
	assert_int_equal(run_crl(PEER_REGEN, &g.a, NULL, false), 0);
	assert_file(g.out, &g.b);
}

/* It keeps changing: the client gives up, and writes nothing. */
static void
test_gives_up(void **state)
{
	(void)state;
	assert_int_equal(run_crl(PEER_CHURN, &g.a, NULL, false), 1);
	assert_int_equal(access(g.out, F_OK), -1);
}

static void
test_lost_chunk(void **state)
{
	(void)state;
	assert_int_equal(run_crl(PEER_DROP, &g.a, NULL, false), 0);
	assert_file(g.out, &g.a);
}

static void
test_forged_refused(void **state)
{
	(void)state;
	put_file(g.out, &g.a);
	assert_int_equal(run_crl(PEER_SERVE, &g.forged, NULL, false), 1);
	assert_file(g.out, &g.a);
}

static void
test_lower_refused(void **state)
{
	(void)state;
	put_file(g.out, &g.b);
	assert_int_equal(run_crl(PEER_SERVE, &g.a, NULL, false), 1);
	assert_file(g.out, &g.b);
}

/* No base held: the complete CRL first, then the delta against it. */
static void
test_delta_without_base(void **state)
{
	(void)state;
	assert_int_equal(run_crl(PEER_SERVE, &g.b, &g.d, true), 0);
	assert_file(g.out, &g.b);
	assert_file(g.delta, &g.d);
}

/* The base held is current: only the delta is fetched. */
static void
test_delta_on_held_base(void **state)
{
	ino_t ino;

	(void)state;
	put_file(g.out, &g.b);
	ino = inode(g.out);
	/* A complete CRL the signer would serve that does not verify: it is never asked for. */
	assert_int_equal(run_crl(PEER_SERVE, &g.forged, &g.d, true), 0);
	assert_int_equal(inode(g.out), ino);
	assert_file(g.delta, &g.d);
}

/* The signer no longer holds the base: the complete CRL replaces it, then the delta. */
static void
test_delta_base_gone(void **state)
{
	(void)state;
	put_file(g.out, &g.a);
	assert_int_equal(run_crl(PEER_SERVE, &g.b, &g.d, true), 0);
	assert_file(g.out, &g.b);
	assert_file(g.delta, &g.d);
}

/* A base past half its lifetime is renewed even though a delta against it is to be had. */
static void
test_delta_base_renewed(void **state)
{
	(void)state;
	put_file(g.out, &g.a_fresh);
	assert_int_equal(run_crl(PEER_SERVE, &g.b, &g.da, true), 0);
	assert_file(g.out, &g.a_fresh);
	assert_file(g.delta, &g.da);
	unlink(g.delta);
	put_file(g.out, &g.a_aged);
	(void)run_crl(PEER_SERVE, &g.b, &g.da, true);
	assert_file(g.out, &g.b);
}

/* A signer without delta CRLs (it answers not_found throughout): nothing is written to --delta. */
static void
test_delta_unavailable(void **state)
{
	(void)state;
	assert_int_equal(run_crl(PEER_SERVE, &g.b, NULL, true), 1);
	assert_file(g.out, &g.b);
	assert_int_equal(access(g.delta, F_OK), -1);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup(fn, clean)
	const struct CMUnitTest tests[] = {
		T(test_complete_in_chunks),
		T(test_restart_on_conflict),
		T(test_gives_up),
		T(test_lost_chunk),
		T(test_forged_refused),
		T(test_lower_refused),
		T(test_delta_without_base),
		T(test_delta_on_held_base),
		T(test_delta_base_gone),
		T(test_delta_unavailable),
		T(test_delta_base_renewed),
	};
#undef T

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
