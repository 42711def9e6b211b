/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Issuance end to end through a real SoftHSM2 token and LMDB repository, checked by independent verifiers. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/signer.h"
#include "tests/unit/signer/demo_fixture.h"

static int64_t NOW;                     /* the demo CAs start now */

static struct demo_fixture fx;

/* ---- helpers ------------------------------------------------------------- */

static EVP_PKEY *
leaf_key(const char *type)
{
	if (strncmp(type, "rsa", 3) == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atoi(type + 3));
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", type);
}

/* A DER CSR for key with subject CN=cn (cn NULL: empty subject). */
static uint8_t *
make_csr(EVP_PKEY *key, const char *cn, size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	int n;

	assert_non_null(req);
	if (cn != NULL)
		assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN",
		    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_REQ_set_subject_name(req, name), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	n = i2d_X509_REQ(req, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	X509_NAME_free(name);
	X509_REQ_free(req);
	return der;
}

struct req_buf {
	uint8_t *csr;
	size_t csr_len;
	struct cert_pair subject[2];
	struct cert_pair san[2];
	char ref[64];
	char host[64];
};

/* A server request for dns name host, key type, under ref. */
static void
server_job(struct sign_job *j, struct req_buf *rb, EVP_PKEY *key,
    const char *host, const char *ref)
{
	memset(j, 0, sizeof(*j));
	snprintf(rb->host, sizeof(rb->host), "%s", host);
	host = rb->host;
	rb->csr = make_csr(key, "requester", &rb->csr_len);
	rb->subject[0] = (struct cert_pair){ "CN", 2, host, strlen(host) };
	rb->san[0] = (struct cert_pair){ "dns", 3, host, strlen(host) };
	snprintf(rb->ref, sizeof(rb->ref), "%s", ref);
	j->req.profile = "server";
	j->req.profile_len = 6;
	j->req.csr = rb->csr;
	j->req.csr_len = rb->csr_len;
	j->req.subject = rb->subject;
	j->req.n_subject = 1;
	j->req.san = rb->san;
	j->req.n_san = 1;
	j->ref = (const uint8_t *)rb->ref;
	j->ref_len = strlen(rb->ref);
}

/* Run cmd; on failure show the file its output went to. */
static void
run_ok(const char *cmd, const char *out)
{
	char buf[2048] = "";
	FILE *f;

	if (demo_run(cmd) == 0)
		return;
	if ((f = fopen(out, "r")) != NULL) {
		buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
		fclose(f);
	}
	fail_msg("%s\n%s", cmd, buf);
}

/* Write DER as PEM to path. */
static void
write_pem(const char *path, const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	FILE *f = fopen(path, "w");

	assert_non_null(x);
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	X509_free(x);
}

/* openssl verify and certtool --verify of a leaf against the demo chain of ca. */
static void
verify_independently(const uint8_t *der, size_t len, const char *ca,
    const char *purpose)
{
	char leaf[400], cmd[4096], out[400];

	snprintf(leaf, sizeof(leaf), "%s/leaf.pem", fx.dir);
	snprintf(out, sizeof(out), "%s/verify.out", fx.dir);
	write_pem(leaf, der, len);
	snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict -purpose %s "
	    "-CAfile %s/ca/root.pem -untrusted %s/ca/%s.pem %s "
	    ">%s/verify.out 2>&1", purpose, fx.dir, fx.dir, ca, leaf, fx.dir);
	run_ok(cmd, out);
	snprintf(cmd, sizeof(cmd), "cat %s %s/ca/%s.pem > %s/chain.pem && "
	    "certtool --verify --load-ca-certificate %s/ca/root.pem "
	    "--infile %s/chain.pem >%s/verify.out 2>&1 && "
	    "grep -q 'Chain verification output: Verified' %s/verify.out",
	    leaf, fx.dir, ca, fx.dir, fx.dir, fx.dir, fx.dir, fx.dir);
	run_ok(cmd, out);
}

static uint64_t
cert_count(void)
{
	struct repo_stats st;
	struct repo_txn *t;

	assert_int_equal(repo_begin(signer_repo(fx.eng), false, &t, NULL, 0), 0);
	assert_int_equal(repo_stats(t, NULL, &st, NULL, 0), 0);
	repo_abort(t);
	return st.certs;
}

static uint64_t
event_count(void)
{
	uint64_t seq;
	struct repo_txn *t;

	assert_int_equal(repo_begin(signer_repo(fx.eng), false, &t, NULL, 0), 0);
	assert_int_equal(repo_vv_get(t, 1, &seq, NULL, 0), 0);
	repo_abort(t);
	return seq;
}

/* ---- setup --------------------------------------------------------------- */

static int
group_setup(void **state)
{
	(void)state;
	NOW = (int64_t)time(NULL);
	return demo_fixture_open(&fx, "engine");
}

static int
group_teardown(void **state)
{
	(void)state;
	return demo_fixture_close(&fx);
}

/* ---- tests --------------------------------------------------------------- */

/* Every supported leaf key type gets a server certificate that both verifiers accept. */
static void
test_issue_key_types(void **state)
{
	static const char *types[] = { "rsa2048", "rsa3072", "rsa4096",
	    "P-256", "P-384" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct sign_job j;
		struct req_buf rb;
		EVP_PKEY *key = leaf_key(types[i]);
		char ref[64];

		assert_non_null(key);
		snprintf(ref, sizeof(ref), "key-type-%s", types[i]);
		server_job(&j, &rb, key, "www.example.org", ref);
		assert_int_equal(signer_sign(fx.eng, &j, 1, NOW), 0);
		if (j.err != 0)
			fail_msg("%s: %s", types[i], j.why);
		assert_int_equal(j.cert.status, CERT_ISSUED);
		assert_string_equal(j.cert.issuer, "server-ca");
		assert_int_equal(j.cert.serial.len, SERIAL_LEN);
		assert_int_equal(j.cert.serial.b[0], fx.conf.node);
		verify_independently(j.cert.der, j.cert.der_len, "server-ca",
		    "sslserver");
		repo_cert_clear(&j.cert);
		OPENSSL_free(rb.csr);
		EVP_PKEY_free(key);
	}
}

/* The client profile is served by the ECDSA issuer; email SANs only. */
static void
test_issue_client(void **state)
{
	EVP_PKEY *key = leaf_key("P-256");
	struct cert_pair subject = { "CN", 2, "Ærø Ünïcödé", strlen("Ærø Ünïcödé") };
	struct cert_pair san = { "email", 5, "alice@example.org", 17 };
	struct sign_job j = { 0 };
	size_t len;
	uint8_t *csr = make_csr(key, NULL, &len);

	(void)state;
	j.req = (struct cert_request){ .profile = "client", .profile_len = 6,
	    .csr = csr, .csr_len = len, .subject = &subject, .n_subject = 1,
	    .san = &san, .n_san = 1 };
	j.ref = (const uint8_t *)"client-1";
	j.ref_len = 8;
	assert_int_equal(signer_sign(fx.eng, &j, 1, NOW), 0);
	if (j.err != 0)
		fail_msg("%s", j.why);
	assert_string_equal(j.cert.issuer, "client-ca");
	assert_non_null(strstr(j.cert.subject, "Ærø Ünïcödé"));
	verify_independently(j.cert.der, j.cert.der_len, "client-ca", "sslclient");
	verify_independently(j.cert.der, j.cert.der_len, "client-ca", "smimesign");
	repo_cert_clear(&j.cert);
	OPENSSL_free(csr);
	EVP_PKEY_free(key);
}

/* A ref already issued returns the very same certificate; reused for another request, conflict. */
static void
test_idempotent_ref(void **state)
{
	EVP_PKEY *key = leaf_key("P-256"), *other = leaf_key("P-256");
	struct sign_job a, b, c;
	struct req_buf ra, rb, rc;
	uint64_t before;

	(void)state;
	server_job(&a, &ra, key, "idem.example.org", "idem-1");
	assert_int_equal(signer_sign(fx.eng, &a, 1, NOW), 0);
	assert_int_equal(a.err, 0);
	before = cert_count();
	/* The same request later, re-encoded: same bytes, same certificate. */
	server_job(&b, &rb, key, "idem.example.org", "idem-1");
	b.req.csr = ra.csr;
	b.req.csr_len = ra.csr_len;
	assert_int_equal(signer_sign(fx.eng, &b, 1, NOW + 600), 0);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.cert.der_len, a.cert.der_len);
	assert_memory_equal(b.cert.der, a.cert.der, a.cert.der_len);
	assert_int_equal(cert_count(), before);
	/* The same ref for another key: refused, nothing recorded. */
	server_job(&c, &rc, other, "idem.example.org", "idem-1");
	assert_int_equal(signer_sign(fx.eng, &c, 1, NOW), 0);
	assert_int_equal(c.err, ERR_CONFLICT);
	assert_non_null(strstr(c.why, "ref was already used"));
	assert_int_equal(cert_count(), before);
	repo_cert_clear(&a.cert);
	repo_cert_clear(&b.cert);
	OPENSSL_free(ra.csr);
	OPENSSL_free(rb.csr);
	OPENSSL_free(rc.csr);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

/* A batch with distinct refs and a repeated ref: one certificate per ref, distinct serials. */
static void
test_batch(void **state)
{
	struct sign_job jobs[20];
	struct req_buf rbs[20];
	EVP_PKEY *key = leaf_key("P-256");
	char host[64], ref[64];
	uint64_t before = cert_count();
	size_t i, k;

	(void)state;
	for (i = 0; i < 20; i++) {
		snprintf(host, sizeof(host), "h%zu.example.org", i % 18);
		snprintf(ref, sizeof(ref), "batch-%zu", i % 18);
		server_job(&jobs[i], &rbs[i], key, host, ref);
	}
	/* Jobs 18 and 19 repeat refs 0 and 1 with the same request bytes. */
	for (i = 18; i < 20; i++) {
		jobs[i].req.csr = rbs[i - 18].csr;
		jobs[i].req.csr_len = rbs[i - 18].csr_len;
	}
	assert_int_equal(signer_sign(fx.eng, jobs, 20, NOW), 0);
	for (i = 0; i < 20; i++) {
		if (jobs[i].err != 0)
			fail_msg("job %zu: %s", i, jobs[i].why);
		for (k = 0; k < i && k < 18; k++)
			if (i < 18)
				assert_int_not_equal(serial_cmp(&jobs[i].cert.serial,
				    &jobs[k].cert.serial), 0);
	}
	assert_int_equal(serial_cmp(&jobs[18].cert.serial, &jobs[0].cert.serial), 0);
	assert_memory_equal(jobs[19].cert.der, jobs[1].cert.der, jobs[1].cert.der_len);
	assert_int_equal(cert_count(), before + 18);
	for (i = 0; i < 20; i++) {
		repo_cert_clear(&jobs[i].cert);
		if (i < 18)
			OPENSSL_free(rbs[i].csr);
		else
			OPENSSL_free(rbs[i].csr);
	}
	EVP_PKEY_free(key);
}

struct hostile {
	const char *name;
	const char *key;        /* leaf key type */
	const char *host;       /* CN and dns SAN */
	const char *profile;
	uint32_t days;
	int err;
	const char *why;        /* expected substring of the message */
};

/* Hostile requests are refused precisely, and the repository does not change. */
static void
test_hostile(void **state)
{
	static const struct hostile cases[] = {
		{ "rsa1024", "rsa1024", "a.example.org", "server", 0, ERR_POLICY, "1024" },
		{ "curve", "secp256k1", "a.example.org", "server", 0, ERR_POLICY, "curve" },
		{ "dns", "P-256", "a..example.org", "server", 0, ERR_POLICY, "empty label" },
		{ "days", "P-256", "a.example.org", "server", 398, ERR_POLICY, "398" },
		{ "utf8", "P-256", "bad\xff.example.org", "server", 0, ERR_BAD_REQUEST, "UTF-8" },
		{ "label", "P-256", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.org",
		  "server", 0, ERR_POLICY, "" },
		{ "wildcard", "P-256", "www.*.example.org", "server", 0, ERR_POLICY, "wildcard" },
		{ "profile", "P-256", "a.example.org", "nosuch", 0, ERR_NOT_FOUND, "unknown profile 'nosuch'" },
	};
	uint64_t certs = cert_count(), events = event_count();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct hostile *h = &cases[i];
		EVP_PKEY *key = leaf_key(h->key);
		struct sign_job j;
		struct req_buf rb;
		char ref[64];

		assert_non_null(key);
		snprintf(ref, sizeof(ref), "hostile-%s", h->name);
		server_job(&j, &rb, key, h->host, ref);
		j.req.profile = h->profile;
		j.req.profile_len = strlen(h->profile);
		j.req.days = h->days;
		assert_int_equal(signer_sign(fx.eng, &j, 1, NOW), 0);
		if (j.err != h->err || strstr(j.why, h->why) == NULL)
			fail_msg("%s: got %d '%s'", h->name, j.err, j.why);
		OPENSSL_free(rb.csr);
		EVP_PKEY_free(key);
	}
	assert_int_equal(cert_count(), certs);
	assert_int_equal(event_count(), events);
}

/* A validity that no issuer covers is refused, not clamped. */
static void
test_no_issuer_covers(void **state)
{
	const struct cert_issuer *iss;
	EVP_PKEY *key = leaf_key("P-256");
	struct sign_job j;
	struct req_buf rb;
	uint64_t certs = cert_count();
	size_t n;

	(void)state;
	iss = signer_issuers(fx.eng, &n);
	assert_true(n >= 1);
	server_job(&j, &rb, key, "late.example.org", "late-1");
	assert_int_equal(signer_sign(fx.eng, &j, 1, iss[0].not_after - 100 * 86400), 0);
	assert_int_equal(j.err, ERR_POLICY);
	assert_non_null(strstr(j.why, "no issuer of profile 'server' covers"));
	assert_int_equal(cert_count(), certs);
	OPENSSL_free(rb.csr);
	EVP_PKEY_free(key);
}

/* A broken CSR signature is refused before anything is recorded. */
static void
test_broken_csr_signature(void **state)
{
	EVP_PKEY *key = leaf_key("rsa2048");
	struct sign_job j;
	struct req_buf rb;
	uint64_t certs = cert_count();

	(void)state;
	server_job(&j, &rb, key, "broken.example.org", "broken-sig");
	rb.csr[rb.csr_len - 10] ^= 0x01;        /* inside the signature bits */
	assert_int_equal(signer_sign(fx.eng, &j, 1, NOW), 0);
	assert_int_equal(j.err, ERR_POLICY);
	assert_non_null(strstr(j.why, "signature"));
	assert_int_equal(cert_count(), certs);
	OPENSSL_free(rb.csr);
	EVP_PKEY_free(key);
}

/* The issuing CA certificate id of the demo (ca/<id>.pem). */
static X509 *
demo_ca(const char *id)
{
	char path[400];
	X509 *x;
	FILE *f;

	snprintf(path, sizeof(path), "%s/ca/%s.pem", fx.dir, id);
	assert_non_null(f = fopen(path, "r"));
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

/* The DER of a job parses and its signature verifies with ca's key. */
static void
assert_signed_by(const struct sign_job *j, X509 *ca)
{
	const unsigned char *p = j->cert.der;
	X509 *x;

	assert_non_null(p);
	assert_non_null(x = d2i_X509(NULL, &p, (long)j->cert.der_len));
	assert_ptr_equal(p, j->cert.der + j->cert.der_len);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(ca)), 1);
	X509_free(x);
}

#define MIX_JOBS 14

/*
 * A batch mixing good and bad requests, large enough to be shared with the
 * helper thread: each bad request fails with the message it gets alone,
 * each good one is issued, and only the good ones are recorded.
 */
static void
test_batch_mixed(void **state)
{
	static const struct hostile bad[] = {
		{ "dns", "P-256", "a..example.org", "server", 0, ERR_POLICY,
		  "dns name 'a..example.org': empty label" },
		{ "rsa1024", "rsa1024", "b.example.org", "server", 0, ERR_POLICY,
		  "CSR RSA key of 1024 bits is shorter than the minimum 2048 of "
		  "profile 'server'" },
		{ "days", "P-256", "c.example.org", "server", 398, ERR_POLICY,
		  "days 398 exceeds the maximum 397 of profile 'server'" },
		{ "profile", "P-256", "d.example.org", "nosuch", 0, ERR_NOT_FOUND,
		  "unknown profile 'nosuch'" },
	};
	struct sign_job jobs[MIX_JOBS], alone;
	struct req_buf rbs[MIX_JOBS], rb;
	EVP_PKEY *key = leaf_key("P-256"), *bad_keys[4];
	X509 *ca = demo_ca("server-ca");
	uint64_t certs = cert_count();
	char host[64], ref[64];
	size_t i, k, nbad = sizeof(bad) / sizeof(bad[0]), good = 0;

	(void)state;
	/* Each bad request alone first: the message to expect. */
	for (k = 0; k < nbad; k++) {
		assert_non_null(bad_keys[k] = leaf_key(bad[k].key));
		snprintf(ref, sizeof(ref), "mix-alone-%s", bad[k].name);
		server_job(&alone, &rb, bad_keys[k], bad[k].host, ref);
		alone.req.profile = bad[k].profile;
		alone.req.profile_len = strlen(bad[k].profile);
		alone.req.days = bad[k].days;
		assert_int_equal(signer_sign(fx.eng, &alone, 1, NOW), 0);
		assert_int_equal(alone.err, bad[k].err);
		assert_string_equal(alone.why, bad[k].why);
		OPENSSL_free(rb.csr);
	}
	for (i = 0; i < MIX_JOBS; i++) {
		k = i / 3;
		snprintf(ref, sizeof(ref), "mix-%zu", i);
		if (i % 3 == 1 && k < nbad) {
			server_job(&jobs[i], &rbs[i], bad_keys[k], bad[k].host, ref);
			jobs[i].req.profile = bad[k].profile;
			jobs[i].req.profile_len = strlen(bad[k].profile);
			jobs[i].req.days = bad[k].days;
			continue;
		}
		snprintf(host, sizeof(host), "mix%zu.example.org", i);
		server_job(&jobs[i], &rbs[i], key, host, ref);
		good++;
	}
	/* A broken CSR signature among them. */
	rbs[MIX_JOBS - 1].csr[rbs[MIX_JOBS - 1].csr_len - 10] ^= 0x01;
	good--;
	assert_int_equal(signer_sign(fx.eng, jobs, MIX_JOBS, NOW), 0);
	for (i = 0; i < MIX_JOBS; i++) {
		k = i / 3;
		if (i % 3 == 1 && k < nbad) {
			assert_int_equal(jobs[i].err, bad[k].err);
			assert_string_equal(jobs[i].why, bad[k].why);
			assert_null(jobs[i].cert.der);
		} else if (i == MIX_JOBS - 1) {
			assert_int_equal(jobs[i].err, ERR_POLICY);
			assert_string_equal(jobs[i].why,
			    "CSR signature does not verify");
		} else {
			if (jobs[i].err != 0)
				fail_msg("job %zu: %s", i, jobs[i].why);
			assert_int_equal(jobs[i].cert.status, CERT_ISSUED);
			assert_signed_by(&jobs[i], ca);
			if (i == 0)
				verify_independently(jobs[i].cert.der,
				    jobs[i].cert.der_len, "server-ca", "sslserver");
		}
		repo_cert_clear(&jobs[i].cert);
		OPENSSL_free(rbs[i].csr);
	}
	assert_int_equal(cert_count(), certs + good);
	for (k = 0; k < nbad; k++)
		EVP_PKEY_free(bad_keys[k]);
	X509_free(ca);
	EVP_PKEY_free(key);
}

/* A full batch: one certificate and one serial per ref, each signed by its issuer. */
static void
test_batch_full(void **state)
{
	struct sign_job jobs[SIGNER_BATCH_MAX];
	struct req_buf rbs[SIGNER_BATCH_MAX];
	EVP_PKEY *key = leaf_key("P-256");
	X509 *ca = demo_ca("server-ca");
	uint64_t certs = cert_count();
	char host[64], ref[64];
	size_t i, k;

	(void)state;
	for (i = 0; i < SIGNER_BATCH_MAX; i++) {
		snprintf(host, sizeof(host), "full%zu.example.org", i);
		snprintf(ref, sizeof(ref), "full-%zu", i);
		server_job(&jobs[i], &rbs[i], key, host, ref);
	}
	assert_int_equal(signer_sign(fx.eng, jobs, SIGNER_BATCH_MAX, NOW), 0);
	for (i = 0; i < SIGNER_BATCH_MAX; i++) {
		if (jobs[i].err != 0)
			fail_msg("job %zu: %s", i, jobs[i].why);
		assert_signed_by(&jobs[i], ca);
		for (k = 0; k < i; k++)
			assert_int_not_equal(serial_cmp(&jobs[i].cert.serial,
			    &jobs[k].cert.serial), 0);
	}
	assert_int_equal(cert_count(), certs + SIGNER_BATCH_MAX);
	verify_independently(jobs[SIGNER_BATCH_MAX - 1].cert.der,
	    jobs[SIGNER_BATCH_MAX - 1].cert.der_len, "server-ca", "sslserver");
	for (i = 0; i < SIGNER_BATCH_MAX; i++) {
		repo_cert_clear(&jobs[i].cert);
		OPENSSL_free(rbs[i].csr);
	}
	X509_free(ca);
	EVP_PKEY_free(key);
}

struct pending {
	const struct repo_cert *want;
	struct repo_cert got;
};

static int
pending_txn(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	struct pending *p = ctx;

	repo_cert_clear(&p->got);
	return repo_cert_reserve(t, p->want, &p->got, why, whylen);
}

/*
 * A reservation left pending by an earlier run, in a batch with new
 * requests: it is signed with its recorded serial and validity.
 */
static void
test_batch_pending(void **state)
{
	struct sign_job jobs[6];
	struct req_buf rbs[6];
	EVP_PKEY *key = leaf_key("P-256");
	X509 *ca = demo_ca("server-ca");
	struct repo_cert want = { 0 };
	struct pending pend = { .want = &want };
	const unsigned char *p;
	char host[64], ref[64], why[256];
	int64_t nb, na;
	X509 *x;
	size_t i;

	(void)state;
	for (i = 0; i < 6; i++) {
		snprintf(host, sizeof(host), "pend%zu.example.org", i);
		snprintf(ref, sizeof(ref), "pend-%zu", i);
		server_job(&jobs[i], &rbs[i], key, host, ref);
	}
	/* Job 2's reservation, as a run that died before signing left it. */
	snprintf(want.issuer, sizeof(want.issuer), "server-ca");
	snprintf(want.profile, sizeof(want.profile), "server");
	memcpy(want.ref, jobs[2].ref, jobs[2].ref_len);
	want.ref_len = jobs[2].ref_len;
	assert_int_equal(cert_request_hash(&jobs[2].req, want.req_hash), 0);
	want.not_before = NOW - 7200;
	want.not_after = NOW + 30 * 86400;
	want.created = NOW - 7200;
	snprintf(want.subject, sizeof(want.subject), "CN=pend2.example.org");
	if (repo_update(signer_repo(fx.eng), pending_txn, &pend, why,
	    sizeof(why)) != 0)
		fail_msg("reserve: %s", why);
	assert_int_equal(pend.got.status, CERT_PENDING);
	assert_int_equal(signer_sign(fx.eng, jobs, 6, NOW), 0);
	for (i = 0; i < 6; i++) {
		if (jobs[i].err != 0)
			fail_msg("job %zu: %s", i, jobs[i].why);
		assert_int_equal(jobs[i].cert.status, CERT_ISSUED);
		assert_signed_by(&jobs[i], ca);
	}
	assert_int_equal(serial_cmp(&jobs[2].cert.serial, &pend.got.serial), 0);
	p = jobs[2].cert.der;
	assert_non_null(x = d2i_X509(NULL, &p, (long)jobs[2].cert.der_len));
	assert_int_equal(cert_time_get(X509_get0_notBefore(x), &nb), 0);
	assert_int_equal(cert_time_get(X509_get0_notAfter(x), &na), 0);
	assert_int_equal(nb, want.not_before);
	assert_int_equal(na, want.not_after);
	X509_free(x);
	for (i = 0; i < 6; i++) {
		repo_cert_clear(&jobs[i].cert);
		OPENSSL_free(rbs[i].csr);
	}
	repo_cert_clear(&pend.got);
	X509_free(ca);
	EVP_PKEY_free(key);
}

/* Revocation: known serials, unknown serials, first revocation wins, idempotent refs. */
static void
test_revoke(void **state)
{
	EVP_PKEY *key = leaf_key("P-256");
	struct sign_job j;
	struct req_buf rb;
	struct revoke_job r[3];
	struct repo_cert c = { 0 };
	struct repo_txn *t;

	(void)state;
	server_job(&j, &rb, key, "rev.example.org", "rev-sign");
	assert_int_equal(signer_sign(fx.eng, &j, 1, NOW), 0);
	assert_int_equal(j.err, 0);
	memset(r, 0, sizeof(r));
	r[0] = (struct revoke_job){ .issuer = "server-ca", .serial = j.cert.serial,
	    .reason = CRL_REASON_KEY_COMPROMISE, .ref = (const uint8_t *)"rev-1",
	    .ref_len = 5 };
	assert_int_equal(serial_from_hex("7f0102", 6, &r[1].serial), 0);
	r[1].issuer = "server-ca";
	r[1].reason = CRL_REASON_NONE;
	r[1].ref = (const uint8_t *)"rev-2";
	r[1].ref_len = 5;
	r[2] = r[0];
	r[2].reason = CRL_REASON_SUPERSEDED;    /* a later revocation of the same serial */
	r[2].ref = (const uint8_t *)"rev-3";
	assert_int_equal(signer_revoke(fx.eng, r, 3, NOW + 100), 0);
	assert_int_equal(r[0].err, 0);
	assert_int_equal(r[0].rev.revoked_at, NOW + 100);
	assert_int_equal(r[1].err, 0);
	assert_int_equal(r[2].err, 0);
	assert_int_equal(r[2].rev.reason, CRL_REASON_KEY_COMPROMISE);
	assert_int_equal(repo_begin(signer_repo(fx.eng), false, &t, NULL, 0), 0);
	assert_int_equal(repo_cert_get(t, "server-ca", &j.cert.serial, &c, NULL, 0), 0);
	assert_int_equal(c.status, CERT_REVOKED);
	repo_abort(t);
	/* Unknown issuer; a time in the future. */
	r[0].issuer = "nosuch";
	r[1].time = NOW + 86400;
	assert_int_equal(signer_revoke(fx.eng, r, 2, NOW), 0);
	assert_int_equal(r[0].err, ERR_NOT_FOUND);
	assert_int_equal(r[1].err, ERR_BAD_REQUEST);
	repo_cert_clear(&c);
	repo_cert_clear(&j.cert);
	OPENSSL_free(rb.csr);
	EVP_PKEY_free(key);
}

/*
 * Crash safety: a child process issues in a loop and is killed at random
 * moments; afterwards the repository verifies, every ref has one
 * certificate, and re-sending every ref completes it.
 */
#define CRASH_ROUNDS 12
#define CRASH_REFS 40

/* RSA signatures are deterministic: every process makes the same CSR bytes from this key. */
static EVP_PKEY *
crash_key(const char *cfile)
{
	char path[400];
	EVP_PKEY *key;
	FILE *f;

	snprintf(path, sizeof(path), "%.*s/crash-key.pem",
	    (int)(strrchr(cfile, '/') - cfile), cfile);
	if ((f = fopen(path, "r")) != NULL) {
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		return key;
	}
	key = leaf_key("rsa2048");
	if (key != NULL && (f = fopen(path, "w")) != NULL) {
		PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
		fclose(f);
	}
	return key;
}

static int
child_issue_loop(const char *cfile)
{
	struct conf_signerd c;
	struct signer *s;
	EVP_PKEY *key = crash_key(cfile);
	char why[512];
	unsigned round;

	if (conf_load_signerd(cfile, &c, why) != 0 ||
	    signer_open(&c, 0, &s, why, sizeof(why)) != 0) {
		fprintf(stderr, "child: %s\n", why);
		return 1;
	}
	for (round = 0;; round++) {
		struct sign_job jobs[8];
		struct req_buf rbs[8];
		char ref[32];
		size_t i;

		for (i = 0; i < 8; i++) {
			snprintf(ref, sizeof(ref), "crash-%u",
			    (unsigned)((round * 8 + i) % CRASH_REFS));
			server_job(&jobs[i], &rbs[i], key, "crash.example.org", ref);
		}
		signer_sign(s, jobs, 8, NOW);
		for (i = 0; i < 8; i++) {
			repo_cert_clear(&jobs[i].cert);
			OPENSSL_free(rbs[i].csr);
		}
	}
}

static void
test_crash_safety(void **state)
{
	char cmd[600], self[512];
	ssize_t n;
	int round, status;

	(void)state;
	EVP_PKEY_free(crash_key(fx.conf_file));
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	for (round = 0; round < CRASH_ROUNDS; round++) {
		pid_t pid = fork();
		unsigned delay;

		assert_true(pid >= 0);
		if (pid == 0) {
			execl(self, self, "--issue-loop", fx.conf_file, (char *)NULL);
			_exit(127);
		}
		RAND_bytes((unsigned char *)&delay, sizeof(delay));
		usleep(150000 + delay % 600000);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
	}
	snprintf(cmd, sizeof(cmd), "%s/signerctl -c %s verify >%s/verify.out",
	    getenv("BUILD") != NULL ? getenv("BUILD") : "build", fx.conf_file, fx.dir);
	assert_int_equal(demo_run(cmd), 0);
	/* Every ref sent once more completes; each ref keeps its one serial. */
	{
		EVP_PKEY *key = crash_key(fx.conf_file);
		struct repo_cert before[CRASH_REFS];
		struct repo_txn *t;
		char ref[32];
		int i;

		assert_int_equal(repo_begin(signer_repo(fx.eng), false, &t, NULL, 0), 0);
		for (i = 0; i < CRASH_REFS; i++) {
			snprintf(ref, sizeof(ref), "crash-%d", i);
			memset(&before[i], 0, sizeof(before[i]));
			(void)repo_ref_find(t, (const uint8_t *)ref, strlen(ref),
			    &before[i], NULL, 0);
		}
		repo_abort(t);
		for (i = 0; i < CRASH_REFS; i++) {
			struct sign_job j;
			struct req_buf rb;

			snprintf(ref, sizeof(ref), "crash-%d", i);
			server_job(&j, &rb, key, "crash.example.org", ref);
			assert_int_equal(signer_sign(fx.eng, &j, 1, NOW), 0);
			if (j.err != 0)
				fail_msg("%s: %s", ref, j.why);
			assert_int_equal(j.cert.status, CERT_ISSUED);
			if (before[i].serial.len != 0)
				assert_int_equal(serial_cmp(&j.cert.serial,
				    &before[i].serial), 0);
			repo_cert_clear(&j.cert);
			repo_cert_clear(&before[i]);
			OPENSSL_free(rb.csr);
		}
		EVP_PKEY_free(key);
	}
	assert_int_equal(repo_verify(signer_repo(fx.eng), NULL, NULL, NULL, 0), 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_key_types),
		cmocka_unit_test(test_issue_client),
		cmocka_unit_test(test_idempotent_ref),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_batch_mixed),
		cmocka_unit_test(test_batch_full),
		cmocka_unit_test(test_batch_pending),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_no_issuer_covers),
		cmocka_unit_test(test_broken_csr_signature),
		cmocka_unit_test(test_revoke),
		cmocka_unit_test(test_crash_safety),
	};

	if (argc == 3 && strcmp(argv[1], "--issue-loop") == 0)
		return child_issue_loop(argv[2]);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
