/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Benchmark of peer sync on loopback over TLS 1.3: replication lag under a steady signing load, and a new peer's catch-up rate. */

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/signer.h"
#include "sync/sync.h"
#include "tests/unit/signer/demo_fixture.h"
#include "tests/unit/sync/link_helper.h"
#include "tests/bench/bench_util.h"

#define BENCH_PATH_MAX 1024             /* paths inside the temporary directory */
#define BENCH_WHY_MAX 512               /* error messages */
#define BENCH_ADDR_MAX 64               /* "127.0.0.1:port" */
#define BENCH_HOST "127.0.0.1"
#define BENCH_LAG_SECONDS 20.0          /* length of the signing load */
#define BENCH_BATCH_MIN 1               /* certificates per signer_sign call */
#define BENCH_BATCH_MAX 8
#define BENCH_GAP_MIN_MS 20             /* pause between two calls */
#define BENCH_GAP_MAX_MS 50
#define BENCH_LAG_CAP 65536             /* most events of the load stamped */
#define BENCH_CONNECT_S 10.0            /* the pair must connect this soon */
#define BENCH_SETTLE_S 10.0             /* node 2 must hold the load this soon after it ends */
#define BENCH_CATCHUP_EVENTS 100000     /* events node 2 catches up on */
#define BENCH_FILL_TXN 1000             /* events per transaction when filling node 1 */
#define BENCH_CATCHUP_TIMEOUT_S 600.0   /* longest wait for the catch-up */
#define BENCH_MAP_MB 1024               /* initial map of the bench's repositories */
#define BENCH_BACKDATE_S 3600          /* certificates start this long ago */
#define BENCH_DEGRADED_S 300            /* sync.degraded_after_seconds, its default */
#define BENCH_SYNC_BATCH 1024           /* sync.batch_events, its default */
#define BENCH_REF_MAX 48                /* request refs */
#define BENCH_NAME_MAX 64               /* leaf names */
#define BENCH_CERT_DAYS 365             /* validity recorded with the filler events */
#define BENCH_PROFILE "client"          /* the demo's P-256 issuing CA serves it */
#define BENCH_ISSUER "client-ca"
#define BENCH_GOAL_P99_MS 50.0
#define BENCH_GOAL_RATE 20000.0

/* When each seq of one origin was first seen committed in one repository. */
struct stamps {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct repo *repo;
	struct sync *sync;      /* notified after each commit; NULL: none */
	uint8_t origin;
	double *at;             /* at[seq], CLOCK_MONOTONIC seconds; seqs 1..cap-1 */
	size_t cap;
	uint64_t seen;          /* highest seq covered so far */
	uint64_t commits;       /* write transactions seen */
	int err;                /* a failure to read the version vector */
};

/* A link certificate, its key and its fingerprint. */
struct link {
	char cert[BENCH_PATH_MAX];
	char key[BENCH_PATH_MAX];
	char fp[SYNC_FINGERPRINT_TEXT];
};

/* One signer of the pair: repository, replication and what it stamps. */
struct node {
	uint8_t id;
	struct repo *repo;
	bool own_repo;          /* opened here, closed with the node */
	struct link *link;
	char listen[BENCH_ADDR_MAX];
	struct conf_sync conf;
	struct sync *sync;
	struct stamps st;
};

static uint64_t bench_rng = 0x9e3779b97f4a7c15ull;
static unsigned long bench_ref_seq;
static uint8_t *sample_der;             /* one certificate issued under load */
static size_t sample_len;

/* A number in lo..hi from a fixed sequence (xorshift64), so runs compare. */
static unsigned
rng_range(unsigned lo, unsigned hi)
{
	bench_rng ^= bench_rng << 13;
	bench_rng ^= bench_rng >> 7;
	bench_rng ^= bench_rng << 17;
	return lo + (unsigned)(bench_rng % (hi - lo + 1));
}

static int
path_in(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, BENCH_PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= BENCH_PATH_MAX ? -1 : 0;
}

/* ---- stamps: the commit hook --------------------------------------------- */

static int
stamps_init(struct stamps *st, struct repo *r, uint8_t origin, size_t cap)
{
	pthread_condattr_t ca;

	memset(st, 0, sizeof(*st));
	if ((st->at = calloc(cap, sizeof(*st->at))) == NULL)
		return -1;
	st->repo = r;
	st->origin = origin;
	st->cap = cap;
	pthread_mutex_init(&st->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->cond, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

static void
stamps_fini(struct stamps *st)
{
	if (st->at == NULL)
		return;
	free(st->at);
	st->at = NULL;
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
}

/* After each commit: stamp every seq of origin the version vector newly covers. */
static void
stamps_hook(void *ctx)
{
	struct stamps *st = ctx;
	uint64_t vv[REPO_NODE_MAX + 1], seq;
	char why[BENCH_WHY_MAX];
	struct repo_txn *t;
	double now = now_s();
	int rc;

	if ((rc = repo_begin(st->repo, false, &t, why, sizeof(why))) == 0) {
		rc = repo_vv_all(t, vv, why, sizeof(why));
		repo_abort(t);
	}
	pthread_mutex_lock(&st->lock);
	st->commits++;
	if (rc != 0)
		st->err = rc;
	for (seq = st->seen + 1; rc == 0 && seq <= vv[st->origin]; seq++)
		if (seq < st->cap)
			st->at[seq] = now;
	if (rc == 0 && vv[st->origin] > st->seen)
		st->seen = vv[st->origin];
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	if (st->sync != NULL)
		sync_notify(st->sync);
}

static uint64_t
stamps_seen(struct stamps *st)
{
	uint64_t n;

	pthread_mutex_lock(&st->lock);
	n = st->seen;
	pthread_mutex_unlock(&st->lock);
	return n;
}

/* Wait until seq target is covered; 0, or -1 after timeout_s seconds. */
static int
stamps_wait(struct stamps *st, uint64_t target, double timeout_s)
{
	struct timespec dl;
	double end = now_s() + timeout_s;
	int rc = 0;

	dl.tv_sec = (time_t)end;
	dl.tv_nsec = (long)((end - (double)dl.tv_sec) * 1e9);
	pthread_mutex_lock(&st->lock);
	while (st->seen < target && st->err == 0 && rc == 0)
		rc = pthread_cond_timedwait(&st->cond, &st->lock, &dl);
	rc = st->seen >= target ? 0 : -1;
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* ---- link certificates and ports ------------------------------------------ */

/* dir/<name>.pem and dir/<name>.key, and the certificate's fingerprint. */
static int
link_make(struct link *l, const char *dir, const char *name)
{
	char file[BENCH_NAME_MAX];

	snprintf(file, sizeof(file), "%s.pem", name);
	if (path_in(l->cert, dir, file) != 0)
		return -1;
	snprintf(file, sizeof(file), "%s.key", name);
	if (path_in(l->key, dir, file) != 0 ||
	    link_cert_make(l->cert, l->key, name, l->fp) != 0) {
		fprintf(stderr, "bench_sync: cannot make the link certificate "
		    "%s\n", name);
		return -1;
	}
	return 0;
}

/* ---- the pair --------------------------------------------------------------- */

/* Addresses, certificates and pins of a and b, each the other's peer. */
static int
pair_conf(struct node *a, struct node *b)
{
	struct node *n[2] = { a, b };
	uint16_t port;
	int i;

	for (i = 0; i < 2; i++) {
		if (link_port_free(&port) != 0)
			return -1;
		snprintf(n[i]->listen, sizeof(n[i]->listen), BENCH_HOST ":%u",
		    (unsigned)port);
	}
	for (i = 0; i < 2; i++) {
		struct conf_sync *c = &n[i]->conf;

		memset(c, 0, sizeof(*c));
		c->listen = n[i]->listen;
		c->peer = n[1 - i]->listen;
		c->peer_node = n[1 - i]->id;
		c->cert = n[i]->link->cert;
		c->key = n[i]->link->key;
		c->peer_fingerprint = n[1 - i]->link->fp;
		c->degraded_after_s = BENCH_DEGRADED_S;
		c->batch_events = BENCH_SYNC_BATCH;
	}
	return 0;
}

/* Start n's replication, then stamp origin's seqs after each of its commits. */
static int
node_start(struct node *n, uint8_t origin, size_t cap)
{
	struct sync_store store;
	char why[SYNC_WHY_MAX];
	int rc;

	if (stamps_init(&n->st, n->repo, origin, cap) != 0)
		return -1;
	repo_sync_store(n->repo, &store);
	if ((rc = sync_start(&n->conf, &store, &n->sync, why,
	    sizeof(why))) != 0) {
		fprintf(stderr, "bench_sync: node %u: sync_start: %s: %s\n",
		    n->id, err_str(rc), why);
		return -1;
	}
	n->st.sync = n->sync;
	repo_on_commit(n->repo, stamps_hook, &n->st);
	return 0;
}

static void
node_stop(struct node *n)
{
	if (n->repo != NULL)
		repo_on_commit(n->repo, NULL, NULL);
	sync_stop(n->sync);
	n->sync = NULL;
	if (n->own_repo)
		repo_close(n->repo);
	n->repo = NULL;
	stamps_fini(&n->st);
}

/* A new empty repository of node id at dir/name. */
static int
node_repo_create(struct node *n, uint8_t id, const char *dir,
    const char *name)
{
	char path[BENCH_PATH_MAX], why[BENCH_WHY_MAX];
	int rc;

	n->id = id;
	if (path_in(path, dir, name) != 0)
		return -1;
	if ((rc = repo_open(path, id, BENCH_MAP_MB, REPO_CREATE, &n->repo, why,
	    sizeof(why))) != 0) {
		fprintf(stderr, "bench_sync: repo_open: %s: %s\n", err_str(rc),
		    why);
		return -1;
	}
	n->own_repo = true;
	return 0;
}

/* ---- the signing load -------------------------------------------------------- */

/* The requests of one batch: a new key, subject and e-mail address each. */
struct batch {
	struct sign_job jobs[BENCH_BATCH_MAX];
	char refs[BENCH_BATCH_MAX][BENCH_REF_MAX];
	char cn[BENCH_BATCH_MAX][BENCH_NAME_MAX];
	char mail[BENCH_BATCH_MAX][BENCH_NAME_MAX];
	struct cert_pair subject[BENCH_BATCH_MAX];
	struct cert_pair san[BENCH_BATCH_MAX];
	size_t n;
};

static void
batch_clear(struct batch *b)
{
	size_t k;

	for (k = 0; k < b->n; k++) {
		OPENSSL_free((void *)b->jobs[k].req.csr);
		repo_cert_clear(&b->jobs[k].cert);
	}
	b->n = 0;
}

static int
batch_make(struct batch *b, size_t n)
{
	struct cert_request *r;
	size_t k;

	memset(b, 0, sizeof(*b));
	for (k = 0; k < n; k++, b->n++) {
		bench_ref_seq++;
		snprintf(b->refs[k], BENCH_REF_MAX, "sync-bench-%lu",
		    bench_ref_seq);
		snprintf(b->cn[k], BENCH_NAME_MAX, "user %lu", bench_ref_seq);
		snprintf(b->mail[k], BENCH_NAME_MAX, "user-%lu@bench.example",
		    bench_ref_seq);
		b->subject[k] = (struct cert_pair){ "CN", 2, b->cn[k],
		    strlen(b->cn[k]) };
		b->san[k] = (struct cert_pair){ "email", 5, b->mail[k],
		    strlen(b->mail[k]) };
		r = &b->jobs[k].req;
		if ((r->csr = bench_csr_p256(b->cn[k], &r->csr_len)) == NULL)
			return -1;
		r->profile = BENCH_PROFILE;
		r->profile_len = strlen(BENCH_PROFILE);
		r->subject = &b->subject[k];
		r->n_subject = 1;
		r->san = &b->san[k];
		r->n_san = 1;
		b->jobs[k].ref = (const uint8_t *)b->refs[k];
		b->jobs[k].ref_len = strlen(b->refs[k]);
	}
	return 0;
}

/* Sign b; keep the first certificate issued as the catch-up's sample. */
static int
batch_sign(struct signer *s, struct batch *b)
{
	size_t k;
	int rc;

	if ((rc = signer_sign(s, b->jobs, b->n, (int64_t)time(NULL))) != 0) {
		fprintf(stderr, "bench_sync: signer_sign: %s: %s\n",
		    err_str(rc), b->jobs[0].why);
		return -1;
	}
	for (k = 0; k < b->n; k++)
		if (b->jobs[k].err != 0) {
			fprintf(stderr, "bench_sync: %s: %s\n",
			    err_str(b->jobs[k].err), b->jobs[k].why);
			return -1;
		}
	if (sample_der == NULL && b->jobs[0].cert.der_len > 0) {
		if ((sample_der = malloc(b->jobs[0].cert.der_len)) == NULL)
			return -1;
		memcpy(sample_der, b->jobs[0].cert.der, b->jobs[0].cert.der_len);
		sample_len = b->jobs[0].cert.der_len;
	}
	return 0;
}

static void
sleep_until(double t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
}

/* Batches of BENCH_BATCH_MIN..MAX certificates on a steady schedule for secs; *certs signed. */
static int
load_run(struct signer *s, double secs, size_t *certs, size_t *calls)
{
	struct batch *b = malloc(sizeof(*b));
	double start = now_s(), next = start;
	int rc = 0;

	*certs = *calls = 0;
	if (b == NULL)
		return -1;
	while (rc == 0 && next < start + secs) {
		if (batch_make(b, rng_range(BENCH_BATCH_MIN,
		    BENCH_BATCH_MAX)) != 0) {
			fprintf(stderr, "bench_sync: cannot make CSRs\n");
			rc = -1;
		}
		sleep_until(next);
		if (rc == 0 && (rc = batch_sign(s, b)) == 0) {
			*certs += b->n;
			(*calls)++;
		}
		batch_clear(b);
		next += rng_range(BENCH_GAP_MIN_MS, BENCH_GAP_MAX_MS) / 1000.0;
	}
	free(b);
	return rc;
}

/* ---- part 1: lag -------------------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The pct-th percentile of sorted v[0..n), n > 0 (nearest rank). */
static double
pctl(const double *v, size_t n, unsigned pct)
{
	size_t rank = (n * pct + 99) / 100;

	return v[rank > 0 ? rank - 1 : 0];
}

/* Lag of each seq committed on a and applied on b, in ms, sorted; their count. */
static size_t
lag_collect(const struct stamps *a, const struct stamps *b, double *lag)
{
	uint64_t seq, last = a->seen < a->cap ? a->seen : a->cap - 1;
	size_t n = 0;

	for (seq = 1; seq <= last; seq++)
		if (a->at[seq] > 0 && b->at[seq] > 0)
			lag[n++] = (b->at[seq] - a->at[seq]) * 1e3;
	qsort(lag, n, sizeof(*lag), cmp_double);
	return n;
}

static void
lag_report(struct node *n1, struct node *n2, size_t certs, size_t calls,
    double secs)
{
	double *lag = malloc(BENCH_LAG_CAP * sizeof(*lag)), sum = 0;
	struct sync_status st;
	size_t n, i;

	if (lag == NULL)
		return;
	n = lag_collect(&n1->st, &n2->st, lag);
	for (i = 0; i < n; i++)
		sum += lag[i];
	sync_status_get(n1->sync, &st);
	printf("\nreplication lag, commit on node %u to applied on node %u "
	    "(loopback, TLS 1.3)\n", n1->id, n2->id);
	printf("load: %zu certificates in %zu signer_sign calls over %.1f s "
	    "(%.0f/s; batches of %d-%d every %d-%d ms),\n      P-256 issuer "
	    "on SoftHSM2, durable commits\n", certs, calls, secs,
	    (double)certs / secs, BENCH_BATCH_MIN, BENCH_BATCH_MAX,
	    BENCH_GAP_MIN_MS, BENCH_GAP_MAX_MS);
	if (n == 0) {
		printf("no event was applied on node %u\n", n2->id);
		free(lag);
		return;
	}
	printf("%-8s %10s %10s %10s %10s\n", "events", "p50 ms", "p99 ms",
	    "max ms", "mean ms");
	printf("%-8zu %10.2f %10.2f %10.2f %10.2f\n", n, pctl(lag, n, 50),
	    pctl(lag, n, 99), lag[n - 1], sum / (double)n);
	printf("goal: p99 < %.0f ms: %s\n", BENCH_GOAL_P99_MS,
	    pctl(lag, n, 99) < BENCH_GOAL_P99_MS ? "met" : "MISSED");
	printf("(node 1: %llu write commits; node 2: %llu applied batches; "
	    "sync: %llu sent, %llu refused, %llu connects)\n",
	    (unsigned long long)n1->st.commits,
	    (unsigned long long)n2->st.commits,
	    (unsigned long long)st.sent, (unsigned long long)st.refused,
	    (unsigned long long)st.connects);
	free(lag);
}

/* Wait until a's sync is connected both ways. */
static int
pair_wait_up(struct node *a, struct node *b, double timeout_s)
{
	struct sync_status sa, sb;
	double end = now_s() + timeout_s;

	do {
		sync_status_get(a->sync, &sa);
		sync_status_get(b->sync, &sb);
		if (sa.out_up && sa.in_up && sb.out_up && sb.in_up)
			return 0;
		sleep_until(now_s() + 0.01);
	} while (now_s() < end);
	fprintf(stderr, "bench_sync: the pair did not connect: %s / %s\n",
	    sa.last_error, sb.last_error);
	return -1;
}

static int
bench_lag(struct demo_fixture *f, struct link links[2])
{
	struct node n1, n2;
	size_t certs = 0, calls = 0;
	double t0;
	int rc = -1;

	memset(&n1, 0, sizeof(n1));
	memset(&n2, 0, sizeof(n2));
	n1.repo = signer_repo(f->eng);
	n1.id = repo_node(n1.repo);
	n1.link = &links[0];
	n2.link = &links[1];
	if (node_repo_create(&n2, n1.id == 2 ? 1 : 2, f->dir, "lag-node2") != 0 ||
	    pair_conf(&n1, &n2) != 0 ||
	    node_start(&n2, n1.id, BENCH_LAG_CAP) != 0 ||
	    node_start(&n1, n1.id, BENCH_LAG_CAP) != 0 ||
	    pair_wait_up(&n1, &n2, BENCH_CONNECT_S) != 0)
		goto out;
	printf("signing for %.0f s ...\n", BENCH_LAG_SECONDS);
	fflush(stdout);
	t0 = now_s();
	if (load_run(f->eng, BENCH_LAG_SECONDS, &certs, &calls) != 0)
		goto out;
	t0 = now_s() - t0;
	if (stamps_wait(&n2.st, stamps_seen(&n1.st), BENCH_SETTLE_S) != 0) {
		fprintf(stderr, "bench_sync: node 2 holds %llu of %llu events "
		    "%.0f s after the load\n",
		    (unsigned long long)stamps_seen(&n2.st),
		    (unsigned long long)stamps_seen(&n1.st), BENCH_SETTLE_S);
		goto out;
	}
	lag_report(&n1, &n2, certs, calls, t0);
	rc = 0;
out:
	node_stop(&n1);
	node_stop(&n2);
	return rc;
}

/* ---- part 2: catch-up --------------------------------------------------------- */

struct fill {
	uint64_t first;         /* number of the first ref of the transaction */
	size_t n;
};

/* One transaction of issue events: reserve, then record the sample DER. */
static int
fill_txn(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	const struct fill *fl = ctx;
	int64_t now = (int64_t)time(NULL);
	struct repo_cert req, out;
	size_t i;
	int rc;

	for (i = 0; i < fl->n; i++) {
		memset(&req, 0, sizeof(req));
		snprintf(req.issuer, sizeof(req.issuer), "%s", BENCH_ISSUER);
		snprintf(req.profile, sizeof(req.profile), "%s", BENCH_PROFILE);
		req.ref_len = (size_t)snprintf((char *)req.ref, sizeof(req.ref),
		    "catch-up-%llu", (unsigned long long)(fl->first + i));
		memcpy(req.req_hash, req.ref, req.ref_len < sizeof(req.req_hash) ?
		    req.ref_len : sizeof(req.req_hash));
		snprintf(req.subject, sizeof(req.subject), "CN=user %llu",
		    (unsigned long long)(fl->first + i));
		req.not_before = now - BENCH_BACKDATE_S;
		req.not_after = now + (int64_t)BENCH_CERT_DAYS * 86400;
		req.created = now;
		if ((rc = repo_cert_reserve(t, &req, &out, why, whylen)) != 0)
			return rc;
		rc = repo_cert_issue(t, BENCH_ISSUER, &out.serial, sample_der,
		    sample_len, NULL, why, whylen);
		repo_cert_clear(&out);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* n issue events in r, BENCH_FILL_TXN per transaction. */
static int
fill_repo(struct repo *r, uint64_t n)
{
	char why[BENCH_WHY_MAX];
	struct fill fl;
	uint64_t done;
	int rc;

	for (done = 0; done < n; done += fl.n) {
		fl.first = done + 1;
		fl.n = n - done < BENCH_FILL_TXN ? (size_t)(n - done) :
		    BENCH_FILL_TXN;
		if ((rc = repo_update(r, fill_txn, &fl, why, sizeof(why))) != 0) {
			fprintf(stderr, "bench_sync: filling: %s: %s\n",
			    err_str(rc), why);
			return -1;
		}
	}
	return 0;
}

/* Size of dir/name/data.mdb in MiB: the file's length and its allocated blocks. */
static void
repo_size(const char *dir, const char *name, double *len, double *alloc)
{
	char path[BENCH_PATH_MAX], file[BENCH_NAME_MAX];
	struct stat st;

	*len = *alloc = 0;
	snprintf(file, sizeof(file), "%s/data.mdb", name);
	if (path_in(path, dir, file) == 0 && stat(path, &st) == 0) {
		*len = (double)st.st_size / (1024.0 * 1024.0);
		*alloc = (double)st.st_blocks * 512 / (1024.0 * 1024.0);
	}
}

static void
catchup_report(const char *dir, struct node *n2, double fill_s, double t0,
    double cpu)
{
	const double *at = n2->st.at;
	double total = at[BENCH_CATCHUP_EVENTS] - t0;
	double steady = at[BENCH_CATCHUP_EVENTS] - at[1];
	double l1, a1, l2, a2;

	repo_size(dir, "catch-node1", &l1, &a1);
	repo_size(dir, "catch-node2", &l2, &a2);
	printf("\ncatch-up of an empty node %u on %d events (loopback, TLS 1.3)\n",
	    n2->id, BENCH_CATCHUP_EVENTS);
	printf("filling node 1: %.2f s (%.0f events/s, %d per transaction); "
	    "event: issue, %zu bytes of DER\n", fill_s,
	    BENCH_CATCHUP_EVENTS / fill_s, BENCH_FILL_TXN, sample_len);
	printf("%-22s %10s %12s %12s\n", "", "seconds", "events/s",
	    "CPU us/event");
	printf("%-22s %10.2f %12.0f %12.1f\n", "sync start to last", total,
	    BENCH_CATCHUP_EVENTS / total, cpu * 1e6 / BENCH_CATCHUP_EVENTS);
	printf("%-22s %10.2f %12.0f\n", "first to last applied", steady,
	    steady > 0 ? (BENCH_CATCHUP_EVENTS - 1) / steady : 0.0);
	printf("(connect and first batch: %.0f ms; node %u applied %llu "
	    "batches, %d events each at most)\n", (at[1] - t0) * 1e3, n2->id,
	    (unsigned long long)n2->st.commits, BENCH_SYNC_BATCH);
	printf("goal: >= %.0f events/s: %s\n", BENCH_GOAL_RATE,
	    BENCH_CATCHUP_EVENTS / total >= BENCH_GOAL_RATE ? "met" : "MISSED");
	printf("repository data.mdb, MiB (length / allocated): node 1 %.1f / "
	    "%.1f, node 2 %.1f / %.1f\n", l1, a1, l2, a2);
}

static int
bench_catchup(struct demo_fixture *f, struct link links[2])
{
	struct node n1, n2;
	double fill_s, start, cpu;
	int rc = -1;

	memset(&n1, 0, sizeof(n1));
	memset(&n2, 0, sizeof(n2));
	n1.link = &links[0];
	n2.link = &links[1];
	printf("\nfilling node 1 with %d events ...\n", BENCH_CATCHUP_EVENTS);
	fflush(stdout);
	if (node_repo_create(&n1, 1, f->dir, "catch-node1") != 0 ||
	    node_repo_create(&n2, 2, f->dir, "catch-node2") != 0)
		goto out;
	fill_s = now_s();
	if (fill_repo(n1.repo, BENCH_CATCHUP_EVENTS) != 0)
		goto out;
	fill_s = now_s() - fill_s;
	/* Node 2 listens first, so that node 1's first dial finds it. */
	if (pair_conf(&n1, &n2) != 0 ||
	    node_start(&n2, n1.id, BENCH_CATCHUP_EVENTS + 1) != 0)
		goto out;
	start = now_s();
	cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	/* Node 1 commits nothing here: its stamps hold no seq. */
	if (node_start(&n1, n1.id, 1) != 0)
		goto out;
	if (stamps_wait(&n2.st, BENCH_CATCHUP_EVENTS,
	    BENCH_CATCHUP_TIMEOUT_S) != 0) {
		fprintf(stderr, "bench_sync: node 2 holds %llu of %d events "
		    "after %.0f s\n", (unsigned long long)stamps_seen(&n2.st),
		    BENCH_CATCHUP_EVENTS, BENCH_CATCHUP_TIMEOUT_S);
		goto out;
	}
	cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu;
	catchup_report(f->dir, &n2, fill_s, start, cpu);
	rc = 0;
out:
	node_stop(&n1);
	node_stop(&n2);
	return rc;
}

/* ---- main ------------------------------------------------------------------- */

int
main(void)
{
	struct demo_fixture f;
	struct link links[2];
	double t0 = now_s();
	int rc = 1;

	log_init("bench_sync", 1, LOG_LEVEL_WARNING);
	memset(links, 0, sizeof(links));
	if (demo_fixture_open(&f, "bench-sync") != 0) {
		fprintf(stderr, "bench_sync: cannot set up the demo "
		    "environment\n");
		return 1;
	}
	if (link_make(&links[0], f.dir, "link-node1") != 0 ||
	    link_make(&links[1], f.dir, "link-node2") != 0)
		goto out;
	printf("setup (demo token, repository, link certificates): %.1f s\n",
	    now_s() - t0);
	if (bench_lag(&f, links) != 0 || bench_catchup(&f, links) != 0)
		goto out;
	printf("\ntotal wall time %.1f s\n", now_s() - t0);
	rc = 0;
out:
	free(sample_der);
	if (demo_fixture_close(&f) != 0)
		rc = 1;
	return rc;
}
