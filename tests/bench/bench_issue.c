/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Benchmark of certificate issuance through SoftHSM2 with durable commits, next to the raw token signing rate of the same keys. */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "hsm/hsm.h"
#include "proto/proto.h"
#include "signer/signer.h"
#include "tests/bench/bench_util.h"

#define BENCH_PATH_MAX 1024             /* paths inside the temporary directory */
#define BENCH_WHY_MAX 512               /* error messages */
#define BENCH_RAW_SECONDS 2.5           /* target length of raw signing, all slices */
#define BENCH_B32_SECONDS 2.5           /* target length of batch-32 issuance, all slices */
#define BENCH_SLICES 5                  /* raw signing and batch-32 issuance alternate */
#define BENCH_B1_SECONDS 1.5            /* target length of the batch-1 issuance run */
#define BENCH_PARTS_SECONDS 0.6         /* target length of each cost breakdown run */
#define BENCH_RAW_MAX 100000            /* most raw signatures per run */
#define BENCH_CSR_MAX 20000             /* most CSRs per issuance run */
#define BENCH_CALIBRATE 32              /* operations timed to size a run */
#define BENCH_BATCH 32                  /* requests per signer_sign in the main run */
#define BENCH_HOST_MAX 64               /* leaf DNS names */
#define BENCH_REF_MAX 48                /* request refs */
#define BENCH_CA_YEARS 5                /* validity of the added RSA-2048 issuing CA */
#define BENCH_CA_BACKDATE 86400         /* it starts one day ago */
#define BENCH_CA_SERIAL_LEN 16          /* bytes of its serial number */
#define BENCH_KU_KEY_CERT_SIGN 5        /* keyUsage bit numbers (RFC 5280 4.2.1.3) */
#define BENCH_KU_CRL_SIGN 6
#define BENCH_RSA_KEY_ID "04"           /* CKA_ID of the added key; the demo uses 01..03 */
#define BENCH_ROOT_KEY_ID 0x01          /* the demo root CA's key */
#define BENCH_RSA_ISSUER "rsa2048-ca"
#define BENCH_EC_ISSUER "client-ca"     /* the demo's P-256 issuing CA */

/* One issuer under test and what was measured for it. */
struct bench_case {
	const char *key_name;   /* shown in the table */
	const char *issuer;     /* issuer id */
	const char *profile;    /* profile whose only issuer it is */
	size_t index;           /* into signer_issuers() */
	double raw;             /* signatures/s of hsm_sign_digest */
	size_t raw_n;
	double b1;              /* certificates/s, one request per signer_sign */
	size_t b1_n;
	double b32;             /* certificates/s, BENCH_BATCH requests per call */
	size_t b32_n;
	/* CPU time, microseconds: of the calling thread, and of the process */
	double cpu_raw;         /* per raw signature (the calling thread) */
	double cpu_b32_self;    /* per certificate at batch 32, calling thread */
	double cpu_b32_all;     /* per certificate at batch 32, all threads */
	/* cost breakdown, microseconds per certificate */
	double us_csr;          /* csr_parse + csr_check (key and self-signature) */
	double us_prepare;      /* cert_prepare: checks, names, build, lint */
	double us_lint;         /* cert_lint alone */
	double us_sign;         /* hsm_sign_x509_der, as signer_sign signs */
	double us_verify;       /* X509_verify of the result alone */
};

/* A pre-made leaf request: DER CSR and the names the request carries. */
struct leaf {
	uint8_t *csr;
	size_t csr_len;
	char host[BENCH_HOST_MAX];
	struct cert_pair subject;
	struct cert_pair san;
};

static char bench_dir[BENCH_PATH_MAX];
static unsigned long bench_ref_seq;     /* keeps every ref of the run distinct */

/* Wall-clock and CPU seconds of a measured stretch. */
struct span {
	double wall;
	double self;            /* CPU of the calling thread */
	double all;             /* CPU of the whole process */
};

static void
span_start(struct span *t)
{
	t->wall -= now_s();
	t->self -= clock_s(CLOCK_THREAD_CPUTIME_ID);
	t->all -= clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static void
span_stop(struct span *t)
{
	t->wall += now_s();
	t->self += clock_s(CLOCK_THREAD_CPUTIME_ID);
	t->all += clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* dir/name into out; -1 if it does not fit. */
static int
path_in(char *out, const char *name)
{
	int n = snprintf(out, BENCH_PATH_MAX, "%s/%s", bench_dir, name);

	return n < 0 || n >= BENCH_PATH_MAX ? -1 : 0;
}

/* ---- the temporary directory -------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0)
		fprintf(stderr, "bench_issue: cannot remove %s: %s\n", path,
		    strerror(errno));
	return 0;
}

static void
dir_remove(void)
{
	if (bench_dir[0] != '\0')
		(void)nftw(bench_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Run argv (searched in PATH), its output appended to dir/tools.log; 0 when it exits with 0. */
static int
run_tool(char *const argv[])
{
	char log[BENCH_PATH_MAX];
	pid_t pid;
	int status, fd;

	if (path_in(log, "tools.log") != 0)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) == -1 ||
		    dup2(fd, STDOUT_FILENO) == -1 ||
		    dup2(fd, STDERR_FILENO) == -1)
			_exit(127);
		if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(fd, STDIN_FILENO) == -1)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_issue: %s %s failed (see %s)\n", argv[0],
		    argv[5], log);
		return -1;
	}
	return 0;
}

/* The demo token's user PIN from dir/pin, without its newline. */
static int
read_pin(char *pin, size_t cap)
{
	char path[BENCH_PATH_MAX];
	FILE *f;
	size_t n;

	if (path_in(path, "pin") != 0 || (f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(pin, 1, cap - 1, f);
	fclose(f);
	while (n > 0 && (pin[n - 1] == '\n' || pin[n - 1] == '\r'))
		n--;
	pin[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* ---- the added RSA-2048 issuer -------------------------------------------- */

/* Generate the RSA-2048 key on the token and read its public key back. */
static EVP_PKEY *
rsa_key_make(void)
{
	char pin[HSM_PIN_MAX + 1], out[BENCH_PATH_MAX];
	char *gen[] = { "pkcs11-tool", "--module", HSM_MODULE_DEFAULT,
	    "--token-label", SIGNER_DEMO_TOKEN, "--keypairgen", "--login",
	    "--pin", pin, "--key-type", "rsa:2048", "--id", BENCH_RSA_KEY_ID,
	    "--label", BENCH_RSA_ISSUER, NULL };
	char *rd[] = { "pkcs11-tool", "--module", HSM_MODULE_DEFAULT,
	    "--token-label", SIGNER_DEMO_TOKEN, "--read-object", "--type",
	    "pubkey", "--id", BENCH_RSA_KEY_ID, "-o", out, NULL };
	EVP_PKEY *pub = NULL;
	BIO *bio;
	int rc;

	if (read_pin(pin, sizeof(pin)) != 0) {
		fprintf(stderr, "bench_issue: cannot read the demo PIN\n");
		return NULL;
	}
	rc = run_tool(gen);
	OPENSSL_cleanse(pin, sizeof(pin));
	if (rc != 0 || path_in(out, "rsa2048.pub.der") != 0 ||
	    run_tool(rd) != 0)
		return NULL;
	if ((bio = BIO_new_file(out, "rb")) != NULL)
		pub = d2i_PUBKEY_bio(bio, NULL);
	BIO_free(bio);
	if (pub == NULL)
		fprintf(stderr, "bench_issue: %s is not a public key\n", out);
	return pub;
}

static X509 *
pem_cert_read(const char *name)
{
	char path[BENCH_PATH_MAX];
	X509 *x = NULL;
	FILE *f;

	if (path_in(path, name) != 0 || (f = fopen(path, "r")) == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

/* A random positive serial of BENCH_CA_SERIAL_LEN bytes, and the validity. */
static int
ca_serial_validity(X509 *x)
{
	unsigned char b[BENCH_CA_SERIAL_LEN];
	time_t start = time(NULL) - BENCH_CA_BACKDATE, end;
	struct tm tm;
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x01);
	ok = (bn = BN_bin2bn(b, sizeof(b), NULL)) != NULL &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	if (!ok || gmtime_r(&start, &tm) == NULL)
		return -1;
	tm.tm_year += BENCH_CA_YEARS;
	if ((end = timegm(&tm)) == (time_t)-1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), start) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), end) == NULL)
		return -1;
	return 0;
}

/* basicConstraints cA (pathLen 0) and keyUsage keyCertSign, cRLSign, both critical. */
static int
ca_ext_usage(X509 *x)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	int ok;

	ok = bc != NULL && ku != NULL &&
	    (bc->pathlen = ASN1_INTEGER_new()) != NULL &&
	    ASN1_INTEGER_set(bc->pathlen, 0) == 1;
	if (ok)
		bc->ca = 0xff;
	ok = ok && X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1,
	    X509V3_ADD_DEFAULT) == 1 &&
	    ASN1_BIT_STRING_set_bit(ku, BENCH_KU_KEY_CERT_SIGN, 1) == 1 &&
	    ASN1_BIT_STRING_set_bit(ku, BENCH_KU_CRL_SIGN, 1) == 1 &&
	    X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) == 1;
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	return ok ? 0 : -1;
}

/* subjectKeyIdentifier (cert_ski) and authorityKeyIdentifier = the root's SKI. */
static int
ca_ext_keyids(X509 *x, X509 *root)
{
	const ASN1_OCTET_STRING *root_ski = X509_get0_subject_key_id(root);
	uint8_t ski[CERT_SKI_LEN];
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	int ok;

	ok = root_ski != NULL && os != NULL && akid != NULL &&
	    cert_ski(X509_get_X509_PUBKEY(x), ski) == 0 &&
	    ASN1_OCTET_STRING_set(os, ski, sizeof(ski)) == 1 &&
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0,
	    X509V3_ADD_DEFAULT) == 1 &&
	    (akid->keyid = ASN1_OCTET_STRING_dup(root_ski)) != NULL &&
	    X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0,
	    X509V3_ADD_DEFAULT) == 1;
	ASN1_OCTET_STRING_free(os);
	AUTHORITY_KEYID_free(akid);
	return ok ? 0 : -1;
}

/* The unsigned certificate of the RSA-2048 issuing CA, issued by root. */
static X509 *
ca_tbs(EVP_PKEY *pub, X509 *root)
{
	X509_NAME *name = X509_NAME_new();
	X509 *x = X509_new();
	int ok;

	ok = x != NULL && name != NULL &&
	    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)"Signer Bench RSA-2048 CA", -1, -1, 0) == 1 &&
	    X509_set_version(x, X509_VERSION_3) == 1 &&
	    X509_set_subject_name(x, name) == 1 &&
	    X509_set_issuer_name(x, X509_get_subject_name(root)) == 1 &&
	    X509_set_pubkey(x, pub) == 1 && ca_serial_validity(x) == 0 &&
	    ca_ext_usage(x) == 0 && ca_ext_keyids(x, root) == 0;
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Sign tbs on the token with the root key and write it to dir/ca/rsa2048-ca.pem. */
static int
ca_sign_write(X509 *tbs, X509 *root)
{
	char pin_file[BENCH_PATH_MAX], path[BENCH_PATH_MAX], why[HSM_WHY_MAX];
	struct hsm_params hp = { .module = HSM_MODULE_DEFAULT,
	    .token = SIGNER_DEMO_TOKEN, .pin_file = pin_file };
	const uint8_t root_id = BENCH_ROOT_KEY_ID;
	struct hsm *h = NULL;
	struct hsm_key *k = NULL;
	X509 *cert = NULL;
	FILE *f = NULL;
	int rc;

	if (path_in(pin_file, "pin") != 0 ||
	    path_in(path, "ca/" BENCH_RSA_ISSUER ".pem") != 0)
		return -1;
	if ((rc = hsm_open(&hp, &h, why, sizeof(why))) == 0 &&
	    (rc = hsm_key_find(h, &root_id, 1, X509_get0_pubkey(root), &k, why,
	    sizeof(why))) == 0)
		rc = hsm_sign_x509(k, tbs, EVP_sha256(), &cert, why, sizeof(why));
	hsm_key_free(k);
	hsm_close(h);
	if (rc != 0) {
		fprintf(stderr, "bench_issue: root CA on the token: %s: %s\n",
		    err_str(rc), why);
		return -1;
	}
	rc = (f = fopen(path, "w")) != NULL && PEM_write_X509(f, cert) == 1 ?
	    0 : -1;
	if (f != NULL && fclose(f) != 0)
		rc = -1;
	if (rc != 0)
		fprintf(stderr, "bench_issue: cannot write %s\n", path);
	X509_free(cert);
	return rc;
}

/* Key on the token, CA certificate signed by the demo root, in dir/ca/. */
static int
rsa_issuer_make(void)
{
	EVP_PKEY *pub = NULL;
	X509 *root = NULL, *tbs = NULL;
	int rc = -1;

	if ((pub = rsa_key_make()) == NULL)
		goto out;
	if ((root = pem_cert_read("ca/root.pem")) == NULL) {
		fprintf(stderr, "bench_issue: cannot read ca/root.pem\n");
		goto out;
	}
	if ((tbs = ca_tbs(pub, root)) == NULL) {
		fprintf(stderr, "bench_issue: cannot build the RSA-2048 CA\n");
		goto out;
	}
	rc = ca_sign_write(tbs, root);
out:
	ERR_clear_error();
	X509_free(tbs);
	X509_free(root);
	EVP_PKEY_free(pub);
	return rc;
}

/* ---- configuration ------------------------------------------------------ */

/* s as a double-quoted YAML scalar. */
static void
yaml_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* A profile like the demo's server profile, served by issuer only. */
static void
yaml_profile(FILE *f, const char *name, const char *issuer)
{
	fprintf(f, "\n  - name: %s\n    issuers: [%s]\n", name, issuer);
	fputs("    validity: {default_days: 365, max_days: 397, "
	    "backdate_seconds: 3600}\n"
	    "    digest: sha256\n"
	    "    key: {rsa_min_bits: 2048, curves: [P-256, P-384]}\n"
	    "    subject: {allowed: [CN, O, OU, C, L, ST], required: [CN]}\n"
	    "    san: {types: [dns, ip], max: 100, cn_must_match: true}\n"
	    "    key_usage: [digitalSignature, keyEncipherment]\n"
	    "    ext_key_usage: [serverAuth]\n"
	    "    basic_constraints: {ca: false}\n"
	    "    crl_distribution_points:\n"
	    "      - http://crl.demo.invalid/{issuer}.crl\n"
	    "    aia:\n"
	    "      ca_issuers:\n"
	    "        - http://ca.demo.invalid/{issuer}.crt\n", f);
}

/* The whole of dir/name into a NUL-terminated malloc'd buffer. */
static char *
file_slurp(const char *name)
{
	char path[BENCH_PATH_MAX], *buf = NULL;
	size_t n = 0;
	FILE *f, *mem;
	int c;

	if (path_in(path, name) != 0 || (f = fopen(path, "r")) == NULL)
		return NULL;
	if ((mem = open_memstream(&buf, &n)) != NULL) {
		while ((c = fgetc(f)) != EOF)
			fputc(c, mem);
		if (fclose(mem) != 0) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/*
 * dir/bench.yaml: the demo's signerd.yaml with the issuer rsa2048-ca added at
 * the end of its issuers list and the profiles bench-rsa and bench-ec at the
 * end of the profiles list.
 */
static int
conf_write(char *out)
{
	char *src, *at, cert[BENCH_PATH_MAX];
	FILE *f;
	int rc;

	if ((src = file_slurp("signerd.yaml")) == NULL ||
	    (at = strstr(src, "\nprofiles:")) == NULL) {
		free(src);
		fprintf(stderr, "bench_issue: signerd.yaml has no profiles\n");
		return -1;
	}
	at++;
	if (path_in(out, "bench.yaml") != 0 ||
	    path_in(cert, "ca/" BENCH_RSA_ISSUER ".pem") != 0 ||
	    (f = fopen(out, "w")) == NULL) {
		free(src);
		return -1;
	}
	fwrite(src, 1, (size_t)(at - src), f);
	fputs("  - id: " BENCH_RSA_ISSUER "\n    cert: ", f);
	yaml_quoted(f, cert);
	fputs("\n    key_id: \"" BENCH_RSA_KEY_ID "\"\n\n", f);
	fputs(at, f);
	yaml_profile(f, "bench-rsa", BENCH_RSA_ISSUER);
	yaml_profile(f, "bench-ec", BENCH_EC_ISSUER);
	rc = ferror(f) ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	free(src);
	return rc;
}

/* ---- requests ------------------------------------------------------------ */

static void
leaves_free(struct leaf *l, size_t n)
{
	size_t i;

	for (i = 0; l != NULL && i < n; i++)
		OPENSSL_free(l[i].csr);
	free(l);
}

/* n requests for distinct hosts, each with its own P-256 key. */
static struct leaf *
leaves_make(size_t n)
{
	struct leaf *l = calloc(n, sizeof(*l));
	size_t i;

	if (l == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		snprintf(l[i].host, sizeof(l[i].host), "host-%zu.bench.example",
		    i);
		if ((l[i].csr = bench_csr_p256(l[i].host, &l[i].csr_len)) == NULL) {
			leaves_free(l, n);
			return NULL;
		}
		l[i].subject = (struct cert_pair){ "CN", 2, l[i].host,
		    strlen(l[i].host) };
		l[i].san = (struct cert_pair){ "dns", 3, l[i].host,
		    strlen(l[i].host) };
	}
	return l;
}

static void
request_fill(struct cert_request *r, const struct leaf *l, const char *profile)
{
	memset(r, 0, sizeof(*r));
	r->profile = profile;
	r->profile_len = strlen(profile);
	r->csr = l->csr;
	r->csr_len = l->csr_len;
	r->subject = &l->subject;
	r->n_subject = 1;
	r->san = &l->san;
	r->n_san = 1;
}

/* ---- measurements -------------------------------------------------------- */

/* n signatures of random SHA-256 digests with key; the time taken into *t. */
static int
raw_run(struct hsm_key *key, size_t n, struct span *t)
{
	uint8_t (*dg)[32] = malloc(n * sizeof(*dg)), *sig;
	char why[HSM_WHY_MAX];
	size_t i, siglen;
	int rc = 0;

	if (dg == NULL || RAND_bytes((unsigned char *)dg, (int)(n *
	    sizeof(*dg))) != 1) {
		free(dg);
		return -1;
	}
	memset(t, 0, sizeof(*t));
	span_start(t);
	for (i = 0; i < n && rc == 0; i++) {
		rc = hsm_sign_digest(key, EVP_sha256(), dg[i], sizeof(dg[i]),
		    &sig, &siglen, why, sizeof(why));
		free(sig);
	}
	span_stop(t);
	free(dg);
	if (rc != 0)
		fprintf(stderr, "bench_issue: hsm_sign_digest: %s: %s\n",
		    err_str(rc), why);
	return rc == 0 ? 0 : -1;
}

/* Number of operations at rate per second that last secs, within [lo, hi]. */
static size_t
run_size(double rate, double secs, size_t lo, size_t hi)
{
	double n = rate * secs;

	if (n < (double)lo)
		return lo;
	return n > (double)hi ? hi : (size_t)n;
}

static void
span_add(struct span *sum, const struct span *t)
{
	sum->wall += t->wall;
	sum->self += t->self;
	sum->all += t->all;
}

/* Issue leaves[0..n) in calls of batch requests, each under a new ref. */
static int
issue_run(struct signer *s, const struct bench_case *c,
    const struct leaf *leaves, size_t n, size_t batch, struct span *t)
{
	struct sign_job jobs[SIGNER_BATCH_MAX];
	char refs[SIGNER_BATCH_MAX][BENCH_REF_MAX];
	size_t done, k, m;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	for (done = 0; done < n && rc == 0; done += m) {
		m = n - done < batch ? n - done : batch;
		for (k = 0; k < m; k++) {
			memset(&jobs[k], 0, sizeof(jobs[k]));
			request_fill(&jobs[k].req, &leaves[done + k], c->profile);
			snprintf(refs[k], sizeof(refs[k]), "bench-%s-%lu",
			    c->issuer, ++bench_ref_seq);
			jobs[k].ref = (const uint8_t *)refs[k];
			jobs[k].ref_len = strlen(refs[k]);
		}
		span_start(t);
		rc = signer_sign(s, jobs, m, (int64_t)time(NULL));
		span_stop(t);
		if (rc != 0)
			fprintf(stderr, "bench_issue: signer_sign: %s: %s\n",
			    err_str(rc), jobs[0].why);
		for (k = 0; k < m; k++) {
			if (rc == 0 && jobs[k].err != 0) {
				fprintf(stderr, "bench_issue: %s: %s: %s\n",
				    c->issuer, err_str(jobs[k].err), jobs[k].why);
				rc = jobs[k].err;
			}
			repo_cert_clear(&jobs[k].cert);
		}
	}
	return rc == 0 ? 0 : -1;
}

/* Issuance rate at batch size batch over about target seconds, estimated at est/s (0: a short run). */
static int
issue_measure(struct signer *s, const struct bench_case *c, size_t batch,
    double est, double target, double *rate, size_t *count, struct span *t)
{
	struct leaf *leaves;
	size_t n = run_size(est, target, BENCH_CALIBRATE, BENCH_CSR_MAX);
	int rc;

	n = (n + batch - 1) / batch * batch;
	if ((leaves = leaves_make(n)) == NULL) {
		fprintf(stderr, "bench_issue: cannot make CSRs\n");
		return -1;
	}
	rc = issue_run(s, c, leaves, n, batch, t);
	leaves_free(leaves, n);
	if (rc == 0) {
		*rate = (double)n / t->wall;
		*count = n;
	}
	return rc;
}

/*
 * The raw signing rate and the batch-32 issuance rate, measured in
 * alternating slices so that both see the same load of the machine (other
 * work on its cores comes and goes); then the batch-1 rate.
 */
static int
bench_rates(struct signer *s, struct bench_case *c)
{
	struct hsm_key *key = signer_issuer_key(s, c->index);
	struct span t, raw = { 0 }, b32 = { 0 };
	double est, est1, rate;
	size_t n, raw_slice, i;

	/* short runs size the slices, and warm up */
	if (key == NULL ||
	    issue_measure(s, c, BENCH_BATCH, 0, 0, &est, &n, &t) != 0 ||
	    issue_measure(s, c, 1, 0, 0, &est1, &n, &t) != 0 ||
	    raw_run(key, BENCH_CALIBRATE, &t) != 0)
		return -1;
	raw_slice = run_size(BENCH_CALIBRATE / t.wall, BENCH_RAW_SECONDS /
	    BENCH_SLICES, BENCH_CALIBRATE, BENCH_RAW_MAX);
	for (i = 0; i < BENCH_SLICES; i++) {
		if (raw_run(key, raw_slice, &t) != 0)
			return -1;
		span_add(&raw, &t);
		c->raw_n += raw_slice;
		if (issue_measure(s, c, BENCH_BATCH, est, BENCH_B32_SECONDS /
		    BENCH_SLICES, &rate, &n, &t) != 0)
			return -1;
		span_add(&b32, &t);
		c->b32_n += n;
	}
	c->raw = (double)c->raw_n / raw.wall;
	c->cpu_raw = raw.self * 1e6 / (double)c->raw_n;
	c->b32 = (double)c->b32_n / b32.wall;
	c->cpu_b32_self = b32.self * 1e6 / (double)c->b32_n;
	c->cpu_b32_all = b32.all * 1e6 / (double)c->b32_n;
	return issue_measure(s, c, 1, est1, BENCH_B1_SECONDS, &c->b1, &c->b1_n,
	    &t);
}

/* ---- where the time goes ------------------------------------------------ */

/* csr_parse + csr_check of each leaf, in microseconds per leaf. */
static double
part_csr(const struct conf_profile *p, const struct leaf *l, size_t n)
{
	char why[CERT_WHY_MAX];
	double t0 = now_s();
	X509_REQ *req;
	size_t i;

	for (i = 0; i < n; i++) {
		if (csr_parse(l[i].csr, l[i].csr_len, &req, why,
		    sizeof(why)) != 0 || csr_check(req, p, why, sizeof(why)) != 0)
			fprintf(stderr, "bench_issue: CSR: %s\n", why);
		X509_REQ_free(req);
	}
	return (now_s() - t0) * 1e6 / (double)n;
}

/* Per-leaf cost of cert_prepare, cert_lint, hsm_sign_x509_der and X509_verify. */
static int
part_pipeline(struct signer *s, struct bench_case *c,
    const struct conf_profile *p, const struct leaf *l, size_t n)
{
	const struct cert_issuer *iss, *chosen;
	struct hsm_key *key = signer_issuer_key(s, c->index);
	char why[CERT_WHY_MAX];
	struct cert_request r;
	struct serial serial;
	double t0, tp = 0, tl = 0, ts = 0, tv = 0;
	const unsigned char *dp;
	X509 *tbs, *cert;
	uint8_t *der;
	size_t i, ni, len;
	int rc = 0;

	iss = signer_issuers(s, &ni);
	for (i = 0; i < n && rc == 0; i++) {
		request_fill(&r, &l[i], c->profile);
		if ((rc = serial_generate(1, &serial)) != 0)
			break;
		t0 = now_s();
		if ((rc = cert_prepare(p, iss, ni, &r, &serial,
		    (int64_t)time(NULL), &tbs, &chosen, why, sizeof(why))) != 0)
			break;
		tp += now_s() - t0;
		t0 = now_s();
		rc = cert_lint(tbs, p, chosen, why, sizeof(why));
		tl += now_s() - t0;
		t0 = now_s();
		if (rc == 0)
			rc = hsm_sign_x509_der(key, tbs, EVP_sha256(), &der, &len,
			    why, sizeof(why));
		ts += now_s() - t0;
		X509_free(tbs);
		if (rc != 0)
			break;
		dp = der;
		cert = d2i_X509(NULL, &dp, (long)len);
		free(der);
		t0 = now_s();
		if (cert == NULL || X509_verify(cert, hsm_key_pub(key)) != 1)
			rc = ERR_INTERNAL;
		tv += now_s() - t0;
		X509_free(cert);
	}
	if (rc != 0) {
		fprintf(stderr, "bench_issue: %s: %s: %s\n", c->issuer,
		    err_str(rc), why);
		return -1;
	}
	c->us_prepare = tp * 1e6 / (double)n;
	c->us_lint = tl * 1e6 / (double)n;
	c->us_sign = ts * 1e6 / (double)n;
	c->us_verify = tv * 1e6 / (double)n;
	return 0;
}

static int
bench_parts(struct signer *s, const struct conf_signerd *conf,
    struct bench_case *c)
{
	const struct conf_profile *p = conf_profile_find(conf, c->profile);
	size_t n = run_size(c->b32, BENCH_PARTS_SECONDS, BENCH_CALIBRATE,
	    BENCH_CSR_MAX);
	struct leaf *l;
	int rc;

	if (p == NULL || (l = leaves_make(n)) == NULL)
		return -1;
	c->us_csr = part_csr(p, l, n);
	rc = part_pipeline(s, c, p, l, n);
	leaves_free(l, n);
	return rc;
}

/* ---- report -------------------------------------------------------------- */

static void
report(const struct bench_case *cs, size_t n, double wall)
{
	size_t i;

	printf("\nissuance through SoftHSM2, durable commits, P-256 leaf keys "
	    "(server profile)\n");
	printf("%-10s %14s %16s %16s %9s %9s\n", "issuer key", "raw sig/s",
	    "issue/s batch 1", "issue/s batch 32", "b1/raw", "b32/raw");
	for (i = 0; i < n; i++)
		printf("%-10s %14.0f %16.0f %16.0f %8.1f%% %8.1f%%\n",
		    cs[i].key_name, cs[i].raw, cs[i].b1, cs[i].b32,
		    100 * cs[i].b1 / cs[i].raw, 100 * cs[i].b32 / cs[i].raw);
	printf("(runs: ");
	for (i = 0; i < n; i++)
		printf("%s%s %zu raw, %zu b1, %zu b32", i ? "; " : "",
		    cs[i].key_name, cs[i].raw_n, cs[i].b1_n, cs[i].b32_n);
	printf(")\nraw signing and batch-32 issuance alternate in %d slices "
	    "each\n", BENCH_SLICES);
	printf("goal: RSA-2048 issuance (batch 32) >= 70%% of raw signing\n");
	printf("\nwhere a certificate's time goes, us (signer_sign runs "
	    "cert_prepare once, then cert_lint again with the reserved "
	    "serial)\n");
	printf("%-10s %8s %9s %8s %8s %10s %12s %10s\n", "issuer key",
	    "raw sig", "csr chk", "prepare", "lint", "sign x509",
	    "x509 verify", "b32 total");
	for (i = 0; i < n; i++)
		printf("%-10s %8.0f %9.0f %8.0f %8.0f %10.0f %12.0f %10.0f\n",
		    cs[i].key_name, 1e6 / cs[i].raw, cs[i].us_csr,
		    cs[i].us_prepare, cs[i].us_lint, cs[i].us_sign,
		    cs[i].us_verify, 1e6 / cs[i].b32);
	printf("(csr chk and lint are part of prepare; sign x509 is "
	    "hsm_sign_x509_der: token signature, parse back, X509_verify;\n"
	    " raw sig is hsm_sign_digest: token signature and its check)\n");
	printf("\nCPU time, us (batch 32, per certificate: signer_sign's "
	    "thread, all threads; raw: per signature)\n");
	printf("%-10s %12s %12s %12s %14s\n", "issuer key", "raw sig",
	    "b32 caller", "b32 all", "raw/b32 caller");
	for (i = 0; i < n; i++)
		printf("%-10s %12.0f %12.0f %12.0f %13.1f%%\n", cs[i].key_name,
		    cs[i].cpu_raw, cs[i].cpu_b32_self, cs[i].cpu_b32_all,
		    100 * cs[i].cpu_raw / cs[i].cpu_b32_self);
	printf("(with a second core free, the batch-32 rate follows the "
	    "caller's CPU time;\n the machine's other load shows as wall time "
	    "above these)\n");
	printf("\ntotal wall time %.1f s\n", wall);
}

/* ---- main ---------------------------------------------------------------- */

/* The demo environment, the RSA-2048 issuer, the configuration; the engine open. */
static int
setup(struct conf_signerd *conf, struct signer **s)
{
	char why[BENCH_WHY_MAX], yaml[BENCH_PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	int rc;

	snprintf(bench_dir, sizeof(bench_dir), "%s/bench-issue.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(bench_dir) == NULL) {
		fprintf(stderr, "bench_issue: mkdtemp %s: %s\n", bench_dir,
		    strerror(errno));
		bench_dir[0] = '\0';
		return -1;
	}
	if ((rc = signer_demo_create(bench_dir, why, sizeof(why))) != 0) {
		fprintf(stderr, "bench_issue: demo: %s: %s\n", err_str(rc), why);
		return -1;
	}
	if (rsa_issuer_make() != 0 || conf_write(yaml) != 0)
		return -1;
	if (conf_load_signerd(yaml, conf, why) != 0) {
		fprintf(stderr, "bench_issue: %s\n", why);
		return -1;
	}
	if ((rc = signer_open(conf, SIGNER_OPEN_CREATE, s, why,
	    sizeof(why))) != 0) {
		fprintf(stderr, "bench_issue: signer_open: %s: %s\n",
		    err_str(rc), why);
		return -1;
	}
	return 0;
}

/* Find each case's issuer among the engine's. */
static int
cases_bind(struct signer *s, struct bench_case *cs, size_t n)
{
	const struct cert_issuer *iss;
	size_t i, k, ni;

	iss = signer_issuers(s, &ni);
	for (i = 0; i < n; i++) {
		for (k = 0; k < ni && strcmp(iss[k].conf->id, cs[i].issuer); k++)
			;
		if (k == ni) {
			fprintf(stderr, "bench_issue: no issuer %s\n",
			    cs[i].issuer);
			return -1;
		}
		cs[i].index = k;
	}
	return 0;
}

int
main(void)
{
	struct bench_case cs[] = {
		{ .key_name = "RSA-2048", .issuer = BENCH_RSA_ISSUER,
		    .profile = "bench-rsa" },
		{ .key_name = "P-256", .issuer = BENCH_EC_ISSUER,
		    .profile = "bench-ec" },
	};
	size_t n = sizeof(cs) / sizeof(cs[0]), i;
	struct conf_signerd conf;
	struct signer *s = NULL;
	double t0 = now_s();
	int rc = -1;

	memset(&conf, 0, sizeof(conf));
	if (setup(&conf, &s) != 0 || cases_bind(s, cs, n) != 0)
		goto out;
	printf("setup (demo token, RSA-2048 issuer, repository): %.1f s\n",
	    now_s() - t0);
	for (i = 0; i < n; i++) {
		printf("measuring %s ...\n", cs[i].key_name);
		fflush(stdout);
		if (bench_rates(s, &cs[i]) != 0 ||
		    bench_parts(s, &conf, &cs[i]) != 0)
			goto out;
	}
	report(cs, n, now_s() - t0);
	rc = 0;
out:
	signer_close(s);
	conf_signerd_free(&conf);
	dir_remove();
	return rc == 0 ? 0 : 1;
}
