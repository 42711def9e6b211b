/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Benchmark: making and signing a complete CRL of 100k and 1M revocations through SoftHSM2, next to openssl ca -gencrl over the same list. */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/signer.h"

#define BENCH_PATH_MAX 1024
#define BENCH_WHY_MAX 512
#define BENCH_BATCH 10000               /* revocations per repository transaction */
#define BENCH_ISSUER "server-ca"        /* the demo's RSA-3072 issuing CA */
#define BENCH_CA_BITS "3072"            /* openssl's CA key: the same kind */
#define BENCH_SPREAD (30 * 86400)       /* revocation dates over the last 30 days */
#define BENCH_REASONS 4                 /* every 4th entry has no reason code */

static const size_t sizes[] = { 100000, 1000000 };
#define BENCH_SIZES (sizeof(sizes) / sizeof(sizes[0]))

/* dir/name into out; -1 when it does not fit. */
static int
path_in(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, BENCH_PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= BENCH_PATH_MAX ? -1 : 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- filling a repository --------------------------------------------------- */

struct fill {
	size_t from, n;
	int64_t now;
};

/* Serial i: the node prefix 01 and 15 bytes from the CSPRNG, as the signer makes them. */
static int
fill_txn(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	static const int reasons[BENCH_REASONS] = { CRL_REASON_NONE,
	    CRL_REASON_KEY_COMPROMISE, CRL_REASON_SUPERSEDED,
	    CRL_REASON_CESSATION_OF_OPERATION };
	struct fill *f = ctx;
	struct repo_revocation r;
	size_t i;
	int rc;

	for (i = f->from; i < f->from + f->n; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(r.issuer, sizeof(r.issuer), BENCH_ISSUER);
		r.serial.len = SERIAL_LEN;
		r.serial.b[0] = 0x01;
		if (RAND_bytes(r.serial.b + 1, SERIAL_RANDOM_LEN) != 1)
			return ERR_INTERNAL;
		r.revoked_at = f->now - (int64_t)(i % BENCH_SPREAD);
		r.reason = reasons[i % BENCH_REASONS];
		r.ref_len = (size_t)snprintf((char *)r.ref, sizeof(r.ref),
		    "bench-%zu", i);
		if ((rc = repo_revoke(t, &r, NULL, why, whylen)) != 0)
			return rc;
	}
	return 0;
}

static int
fill(struct signer *s, size_t n, int64_t now)
{
	char why[BENCH_WHY_MAX];
	struct fill f = { 0, 0, now };
	int rc;

	for (f.from = 0; f.from < n; f.from += f.n) {
		f.n = n - f.from < BENCH_BATCH ? n - f.from : BENCH_BATCH;
		if ((rc = repo_update(signer_repo(s), fill_txn, &f, why,
		    sizeof(why))) != 0) {
			fprintf(stderr, "bench_crl: filling: %s\n", why);
			return rc;
		}
	}
	return 0;
}

/* ---- openssl ca -gencrl over the same revocations ---------------------------- */

struct index_ctx {
	FILE *f;
};

static void
asn1_time(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	char full[32];

	gmtime_r(&tt, &tm);
	strftime(full, sizeof(full), "%Y%m%d%H%M%SZ", &tm);
	snprintf(out, cap, "%s", full + 2);     /* UTCTime: two-digit year */
}

static int
index_line(const struct repo_crl_entry *e, void *arg)
{
	static const char *const names[] = {
		[CRL_REASON_KEY_COMPROMISE] = "keyCompromise",
		[CRL_REASON_SUPERSEDED] = "superseded",
		[CRL_REASON_CESSATION_OF_OPERATION] = "cessationOfOperation",
	};
	struct index_ctx *x = arg;
	char hex[SERIAL_HEX_MAX], rt[32];

	serial_to_hex(&e->serial, hex);
	asn1_time(e->revoked_at, rt, sizeof(rt));
	/* openssl wants an even number of upper-case digits */
	fprintf(x->f, "R\t491231235959Z\t%s%s%s\t%s%s\tunknown\t/CN=x\n", rt,
	    e->reason != CRL_REASON_NONE ? "," : "",
	    e->reason != CRL_REASON_NONE ? names[e->reason] : "",
	    strlen(hex) % 2 ? "0" : "", hex);
	return 0;
}

static int
write_index(struct signer *s, const char *dir)
{
	char path[BENCH_PATH_MAX], why[BENCH_WHY_MAX];
	struct index_ctx x;
	struct repo_txn *t;
	int rc;

	if (path_in(path, dir, "ossl/index.txt") != 0 ||
	    (x.f = fopen(path, "w")) == NULL)
		return -1;
	if ((rc = repo_begin(signer_repo(s), false, &t, why, sizeof(why))) == 0) {
		rc = repo_crl_entries(t, BENCH_ISSUER, 0, index_line, &x, why,
		    sizeof(why));
		repo_abort(t);
	}
	if (fclose(x.f) != 0 || rc != 0)
		return -1;
	return 0;
}

/* Run argv; its wall time and peak resident memory (KiB). */
static int
run_measured(char *const argv[], double *secs, long *maxrss_kb)
{
	struct rusage ru;
	double t0 = now_s();
	int status;
	pid_t pid;

	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		/* openssl ca chats on stderr */
		if (strcmp(argv[0], "openssl") == 0 &&
		    freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) != pid)
		return -1;
	*secs = now_s() - t0;
	*maxrss_kb = ru.ru_maxrss;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int
run_quiet(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) && WEXITSTATUS(rc) == 0 ? 0 : -1;
}

static int
openssl_setup(const char *dir)
{
	char cmd[4 * BENCH_PATH_MAX];

	snprintf(cmd, sizeof(cmd), "cd '%s' && mkdir -p ossl && cd ossl && "
	    "echo 01 >crlnumber && printf '[ca]\\ndefault_ca=d\\n[d]\\n"
	    "database=index.txt\\ncrlnumber=crlnumber\\ndefault_md=sha256\\n"
	    "default_crl_days=7\\n' >ca.cnf && openssl req -x509 -newkey rsa:"
	    BENCH_CA_BITS " -nodes -keyout key.pem -out ca.pem -days 30 "
	    "-subj '/CN=bench openssl CA' >/dev/null 2>&1", dir);
	return run_quiet(cmd);
}

/* ---- one size ---------------------------------------------------------------------- */

struct result {
	size_t n;
	double fill_s, ours_s, ossl_s;
	long ours_kb, ossl_kb;
	long long ours_size, entries;
	int verified;
};

static int
measure_ours(const char *self, const char *dir, const char *conf,
    struct result *r)
{
	char out[BENCH_PATH_MAX], line[256];
	char *argv[] = { (char *)self, "--make", (char *)conf, out, NULL };
	double secs;
	FILE *f;

	if (path_in(out, dir, "bench.result") != 0 ||
	    run_measured(argv, &secs, &r->ours_kb) != 0 ||
	    (f = fopen(out, "r")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) == NULL ||
	    sscanf(line, "%lf %lld %lld", &r->ours_s, &r->ours_size,
	    &r->entries) != 3) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int
measure_openssl(const char *dir, struct result *r)
{
	char cnf[BENCH_PATH_MAX], key[BENCH_PATH_MAX], ca[BENCH_PATH_MAX];
	char out[BENCH_PATH_MAX];
	char *argv[] = { "openssl", "ca", "-batch", "-config", cnf, "-gencrl",
	    "-keyfile", key, "-cert", ca, "-out", out, NULL };

	if (path_in(cnf, dir, "ossl/ca.cnf") != 0 ||
	    path_in(key, dir, "ossl/key.pem") != 0 ||
	    path_in(ca, dir, "ossl/ca.pem") != 0 ||
	    path_in(out, dir, "ossl/crl.pem") != 0)
		return -1;
	/* openssl ca reads its database relative to the current directory */
	if (chdir(dir) != 0 || chdir("ossl") != 0)
		return -1;
	return run_measured(argv, &r->ossl_s, &r->ossl_kb);
}

/* Our CRL checked by openssl on its own, outside the timing. */
static int
verify_ours(const char *dir)
{
	char cmd[4 * BENCH_PATH_MAX];

	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in '%s/bench.crl' "
	    "-CAfile '%s/ca/" BENCH_ISSUER ".pem' -noout -verify 2>&1 | "
	    "grep -qx 'verify OK'", dir, dir);
	return run_quiet(cmd);
}

static int
bench_one(const char *self, const char *base, size_t n, struct result *r)
{
	char dir[BENCH_PATH_MAX], conf[BENCH_PATH_MAX], why[BENCH_WHY_MAX];
	struct conf_signerd c;
	struct signer *s = NULL;
	double t0;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	memset(r, 0, sizeof(*r));
	r->n = n;
	snprintf(conf, sizeof(conf), "n%zu", n);
	if (path_in(dir, base, conf) != 0 ||
	    path_in(conf, dir, "signerd.yaml") != 0)
		goto out;
	if (signer_demo_create(dir, why, sizeof(why)) != 0 ||
	    conf_load_signerd(conf, &c, why) != 0 ||
	    signer_open(&c, SIGNER_OPEN_CREATE, &s, why, sizeof(why)) != 0) {
		fprintf(stderr, "bench_crl: setup: %s\n", why);
		goto out;
	}
	t0 = now_s();
	if (fill(s, n, (int64_t)time(NULL)) != 0)
		goto out;
	r->fill_s = now_s() - t0;
	if (openssl_setup(dir) != 0 || write_index(s, dir) != 0) {
		fprintf(stderr, "bench_crl: openssl setup failed\n");
		goto out;
	}
	signer_close(s);
	s = NULL;
	if (measure_ours(self, dir, conf, r) != 0 || measure_openssl(dir, r) != 0) {
		fprintf(stderr, "bench_crl: a run failed\n");
		goto out;
	}
	r->verified = verify_ours(dir) == 0;
	rc = 0;
out:
	signer_close(s);
	conf_signerd_free(&c);
	return rc;
}

/* ---- the child that makes the CRL ------------------------------------------------ */

static int
child_make(const char *conf, const char *out)
{
	char why[BENCH_WHY_MAX], path[BENCH_PATH_MAX];
	const struct cert_issuer *iss;
	struct conf_signerd c;
	struct signer *s = NULL;
	struct crl crl;
	size_t n, i;
	double t0;
	FILE *f;
	int rc = 1;

	memset(&c, 0, sizeof(c));
	if (conf_load_signerd(conf, &c, why) != 0 ||
	    signer_open(&c, 0, &s, why, sizeof(why)) != 0) {
		fprintf(stderr, "bench_crl: %s\n", why);
		goto out;
	}
	iss = signer_issuers(s, &n);
	for (i = 0; i < n && strcmp(iss[i].conf->id, BENCH_ISSUER) != 0; i++)
		;
	t0 = now_s();
	if (i == n || crl_make(s, i, 0, (int64_t)time(NULL), &crl, why,
	    sizeof(why)) != 0) {
		fprintf(stderr, "bench_crl: crl_make: %s\n", why);
		goto out;
	}
	snprintf(path, sizeof(path), "%.*s/bench.crl",
	    (int)(strrchr(conf, '/') - conf), conf);
	if ((f = fopen(out, "w")) != NULL) {
		fprintf(f, "%.3f %zu %llu\n", now_s() - t0, crl.len,
		    (unsigned long long)crl.entries);
		fclose(f);
	}
	if ((f = fopen(path, "wb")) != NULL) {
		fwrite(crl.der, 1, crl.len, f);
		fclose(f);
	}
	crl_clear(&crl);
	rc = 0;
out:
	signer_close(s);
	conf_signerd_free(&c);
	return rc;
}

/* --fill CONF N: a repository with N revocations of BENCH_ISSUER, for bench_crl_wire.sh. */
static int
fill_only(const char *conf, size_t n)
{
	char why[BENCH_WHY_MAX];
	struct conf_signerd c;
	struct signer *s = NULL;
	int rc = 1;

	memset(&c, 0, sizeof(c));
	if (conf_load_signerd(conf, &c, why) != 0 ||
	    signer_open(&c, SIGNER_OPEN_CREATE, &s, why, sizeof(why)) != 0)
		fprintf(stderr, "bench_crl: %s\n", why);
	else if (fill(s, n, (int64_t)time(NULL)) == 0)
		rc = 0;
	signer_close(s);
	conf_signerd_free(&c);
	return rc;
}

static void
report(const struct result *r, size_t n)
{
	size_t i;

	printf("\ncomplete CRL of the demo's RSA-3072 issuer (SoftHSM2), "
	    "next to openssl ca -gencrl (RSA-3072 key in memory)\n");
	printf("%9s %9s %10s %10s %9s %10s %10s %8s %s\n", "entries",
	    "fill s", "ours s", "ours MiB", "CRL MiB", "openssl s",
	    "ossl MiB", "speedup", "verified");
	for (i = 0; i < n; i++)
		printf("%9zu %9.1f %10.2f %10.1f %9.1f %10.2f %10.1f %7.1fx %s\n",
		    r[i].n, r[i].fill_s, r[i].ours_s,
		    (double)r[i].ours_kb / 1024, (double)r[i].ours_size /
		    (1024 * 1024), r[i].ossl_s, (double)r[i].ossl_kb / 1024,
		    r[i].ours_s > 0 ? r[i].ossl_s / r[i].ours_s : 0,
		    r[i].verified ? "openssl crl -verify OK" : "NOT VERIFIED");
	printf("(ours s: crl_make alone, in a fresh process; MiB: peak "
	    "resident memory of that process, ours including the pages of "
	    "the repository file LMDB maps)\n");
	printf("goal: 1M entries in <= 3 s and >= 5x faster than openssl ca "
	    "-gencrl\n");
}

int
main(int argc, char **argv)
{
	struct result r[sizeof(sizes) / sizeof(sizes[0])];
	char base[BENCH_PATH_MAX], cmd[BENCH_PATH_MAX + 16], self[PATH_MAX];
	size_t i;
	int rc = 0;

	if (argc == 4 && strcmp(argv[1], "--make") == 0)
		return child_make(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "--fill") == 0)
		return fill_only(argv[2], strtoul(argv[3], NULL, 10));
	/* The child is run again after a chdir: by its absolute path. */
	if (realpath(argv[0], self) == NULL) {
		perror(argv[0]);
		return 1;
	}
	snprintf(base, sizeof(base), "%s/signer-bench-crl.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && rc == 0; i++) {
		printf("filling a repository with %zu revocations ...\n",
		    sizes[i]);
		fflush(stdout);
		rc = bench_one(self, base, sizes[i], &r[i]);
	}
	if (rc == 0)
		report(r, i);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (getenv("KEEP_TMP") == NULL)
		(void)run_quiet(cmd);
	else
		printf("kept %s\n", base);
	return rc == 0 ? 0 : 1;
}
