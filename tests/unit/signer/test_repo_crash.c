/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Crash safety of the repository: a writer killed with SIGKILL at random moments leaves a sound repository. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"
#include "signer/signer.h"
#include "tests/unit/signer/tmpdir.h"

#define NODE 9
#define MAP_MB 1                /* small, so that the map also grows under the kills */
#define ROUNDS 20
#define PER_TXN 3               /* requests per transaction */
#define CHILD_LOOPS 400         /* the child stops by itself after this many */
#define PENDING_MAX 64
#define LOG_MAX (4 * 1024 * 1024) /* what the children report, read after each death */
#define DELAY_MAX_US 40000

struct batch {
	int round, loop;
	struct serial serials[PER_TXN];
	char refs[PER_TXN][32];
	int n;
};

/* ---- the child ------------------------------------------------------------------ */

static void
report(int fd, char type, const uint8_t *ref, size_t ref_len,
    const struct serial *s)
{
	char hex[SERIAL_HEX_MAX], line[256];
	int n;

	serial_to_hex(s, hex);
	n = snprintf(line, sizeof(line), "%c %.*s %s\n", type, (int)ref_len,
	    (const char *)ref, hex);
	if (write(fd, line, (size_t)n) != n)
		_exit(3);
}

static void
fake_der(const struct serial *s, uint8_t *der, size_t *len)
{
	char hex[SERIAL_HEX_MAX];

	serial_to_hex(s, hex);
	*len = (size_t)snprintf((char *)der, 64, "fake:%s", hex);
}

static int
reserve_fn(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	struct batch *b = ctx;
	struct repo_cert req, c;
	int i, rc;

	for (i = 0; i < b->n; i++) {
		memset(&req, 0, sizeof(req));
		snprintf(req.issuer, sizeof(req.issuer), "ca-1");
		snprintf(req.profile, sizeof(req.profile), "server");
		snprintf(b->refs[i], sizeof(b->refs[i]), "r%d-%d-%d", b->round,
		    b->loop, i);
		req.ref_len = strlen(b->refs[i]);
		memcpy(req.ref, b->refs[i], req.ref_len);
		req.not_after = 100;
		memset(req.subject, 's', 300);
		if ((rc = repo_cert_reserve(t, &req, &c, why, whylen)) != 0)
			return rc;
		b->serials[i] = c.serial;
		repo_cert_clear(&c);
	}
	return 0;
}

static int
issue_fn(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	struct batch *b = ctx;
	uint8_t der[64];
	size_t len;
	int i, rc;

	for (i = 0; i < b->n; i++) {
		fake_der(&b->serials[i], der, &len);
		if ((rc = repo_cert_issue(t, "ca-1", &b->serials[i], der, len,
		    NULL, why, whylen)) != 0)
			return rc;
	}
	return 0;
}

static int
revoke_fn(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	struct batch *b = ctx;
	struct repo_revocation rev;

	memset(&rev, 0, sizeof(rev));
	snprintf(rev.issuer, sizeof(rev.issuer), "ca-1");
	rev.serial = b->serials[0];
	rev.reason = 4;
	rev.ref_len = strlen(b->refs[0]);
	memcpy(rev.ref, b->refs[0], rev.ref_len);
	return repo_revoke(t, &rev, NULL, why, whylen);
}

struct pending {
	int n;
	struct serial serials[PENDING_MAX];
	uint8_t refs[PENDING_MAX][REPO_REF_MAX];
	size_t ref_lens[PENDING_MAX];
};

static int
find_pending(const struct repo_cert *c, void *ctx)
{
	struct pending *p = ctx;

	if (c->status != CERT_PENDING || p->n == PENDING_MAX)
		return 0;
	p->serials[p->n] = c->serial;
	memcpy(p->refs[p->n], c->ref, c->ref_len);
	p->ref_lens[p->n++] = c->ref_len;
	return 0;
}

/* What a restarted signerd does first: sign what was reserved. */
static void
child_resume(struct repo *r, int fd)
{
	static struct pending p;
	struct batch b = { .n = 0 };
	struct repo_txn *t;
	char why[256];
	int i, rc;

	if (repo_begin(r, false, &t, why, sizeof(why)) != 0)
		_exit(4);
	rc = repo_cert_foreach(t, "ca-1", find_pending, &p, why, sizeof(why));
	repo_abort(t);
	if (rc != 0)
		_exit(5);
	for (i = 0; i < p.n; i++) {
		b.serials[0] = p.serials[i];
		b.n = 1;
		if (repo_update(r, issue_fn, &b, why, sizeof(why)) != 0)
			_exit(6);
		report(fd, 'I', p.refs[i], p.ref_lens[i], &p.serials[i]);
	}
}

static void
child(const char *path, int round, int fd)
{
	struct batch b = { .round = round, .n = PER_TXN };
	struct repo *r;
	char why[256];
	int i;

	if (repo_open(path, NODE, MAP_MB, REPO_CREATE, &r, why,
	    sizeof(why)) != 0)
		_exit(2);
	child_resume(r, fd);
	for (b.loop = 0; b.loop < CHILD_LOOPS; b.loop++) {
		if (repo_update(r, reserve_fn, &b, why, sizeof(why)) != 0)
			_exit(7);
		for (i = 0; i < b.n; i++)
			report(fd, 'R', (uint8_t *)b.refs[i], strlen(b.refs[i]),
			    &b.serials[i]);
		if (repo_update(r, issue_fn, &b, why, sizeof(why)) != 0)
			_exit(8);
		for (i = 0; i < b.n; i++)
			report(fd, 'I', (uint8_t *)b.refs[i], strlen(b.refs[i]),
			    &b.serials[i]);
		if (b.loop % 5 == 0) {
			if (repo_update(r, revoke_fn, &b, why, sizeof(why)) != 0)
				_exit(9);
			report(fd, 'V', (uint8_t *)b.refs[0], strlen(b.refs[0]),
			    &b.serials[0]);
		}
	}
	repo_close(r);
	_exit(0);
}

/* ---- the parent -------------------------------------------------------------------- */

struct fx {
	char dir[256];
	char path[512];
	char why[256];
	char *log;
	struct serial *seen;    /* serials of issue events */
	size_t n_seen, cap_seen;
};

/* Run one child and kill it after delay_us; its report is appended to f->log. */
static void
run_child(struct fx *f, int round, long delay_us)
{
	size_t len = strlen(f->log);
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		child(f->path, round, fds[1]);
	}
	close(fds[1]);
	usleep((useconds_t)delay_us);
	kill(pid, SIGKILL);
	while ((n = read(fds[0], f->log + len, LOG_MAX - 1 - len)) > 0)
		len += (size_t)n;
	f->log[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* Killed, or finished on its own: anything else is a failure in the child. */
	if (WIFEXITED(status))
		assert_int_equal(WEXITSTATUS(status), 0);
	else
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void
print_problem(const char *problem, void *ctx)
{
	(void)ctx;
	print_error("verify: %s\n", problem);
}

/* Every line the child wrote after a commit must be in the repository. */
static void
check_line(struct fx *f, struct repo_txn *t, const char *line)
{
	char type, ref[64], hex[SERIAL_HEX_MAX];
	struct repo_revocation rev;
	struct repo_cert c;
	struct serial s;

	assert_int_equal(sscanf(line, "%c %63s %40s", &type, ref, hex), 3);
	assert_int_equal(serial_from_hex(hex, strlen(hex), &s), 0);
	assert_int_equal(repo_ref_find(t, (const uint8_t *)ref, strlen(ref), &c,
	    f->why, sizeof(f->why)), 0);
	assert_int_equal(serial_cmp(&c.serial, &s), 0);
	if (type == 'I')
		assert_true(c.der_len > 0 && c.status != CERT_PENDING);
	if (type == 'V') {
		assert_int_equal(c.status, CERT_REVOKED);
		assert_int_equal(repo_revocation_get(t, "ca-1", &s, &rev, f->why,
		    sizeof(f->why)), 0);
	}
	repo_cert_clear(&c);
}

static int
collect_issue(uint8_t origin, uint64_t seq, const uint8_t *b, size_t len,
    void *ctx)
{
	struct fx *f = ctx;
	struct repo_event ev;
	struct serial *p;

	(void)origin;
	(void)seq;
	if (repo_event_decode(b, len, &ev, NULL, 0) != 0)
		return -1;
	if (ev.type == REPO_EVENT_ISSUE) {
		if (f->n_seen == f->cap_seen) {
			p = reallocarray(f->seen, f->cap_seen * 2 + 64,
			    sizeof(*p));
			if (p == NULL)
				return -2;
			f->seen = p;
			f->cap_seen = f->cap_seen * 2 + 64;
		}
		f->seen[f->n_seen++] = ev.cert.serial;
	}
	repo_event_clear(&ev);
	return 0;
}

static int
serial_sort(const void *a, const void *b)
{
	return serial_cmp(a, b);
}

static void
check_repo(struct fx *f)
{
	struct repo_txn *t;
	struct repo *r;
	char *line, *save = NULL, *copy;
	size_t i;

	assert_int_equal(repo_open(f->path, NODE, MAP_MB, 0, &r, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(repo_verify(r, print_problem, NULL, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(repo_begin(r, false, &t, f->why, sizeof(f->why)), 0);
	assert_non_null(copy = strdup(f->log));
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		check_line(f, t, line);
	free(copy);
	/* No serial was issued twice. */
	f->n_seen = 0;
	assert_int_equal(repo_events_foreach(t, NODE, 0, collect_issue, f,
	    f->why, sizeof(f->why)), 0);
	/* The writer may have been killed before it issued anything. */
	if (f->n_seen > 1)
		qsort(f->seen, f->n_seen, sizeof(f->seen[0]), serial_sort);
	for (i = 1; i < f->n_seen; i++)
		assert_int_not_equal(serial_cmp(&f->seen[i - 1], &f->seen[i]),
		    0);
	repo_abort(t);
	repo_close(r);
}

static void
test_kill_writer(void **state)
{
	struct fx f;
	struct repo *r;
	unsigned int seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	char *line;
	int round;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(tmpdir_make(f.dir, sizeof(f.dir), "test_repo_crash"), 0);
	snprintf(f.path, sizeof(f.path), "%s/repo", f.dir);
	assert_non_null(f.log = calloc(1, LOG_MAX));
	assert_int_equal(repo_open(f.path, NODE, MAP_MB, REPO_CREATE, &r, f.why,
	    sizeof(f.why)), 0);
	repo_close(r);
	print_message("kill delays from seed %u\n", seed);
	for (round = 0; round < ROUNDS; round++) {
		run_child(&f, round, rand_r(&seed) % DELAY_MAX_US);
		check_repo(&f);
	}
	for (round = 0, line = f.log; (line = strchr(line, '\n')) != NULL;
	    line++)
		round++;
	print_message("%d lines reported, %zu issue events\n", round,
	    f.n_seen);
	assert_true(round > 0);
	free(f.log);
	free(f.seen);
	tmpdir_remove(f.dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
