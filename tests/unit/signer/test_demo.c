/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The demo environment: its files and modes, configurations that load, CA chains that outside verifiers accept, token keys that match the certificates, and refusals. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "hsm/hsm.h"
#include "proto/proto.h"
#include "signer/signer.h"

#define DAY 86400L
#define FILE_MAX 8192           /* largest file a test reads whole */
#define WHY_LEN 512

extern char **environ;

static char tmp[256];           /* mkdtemp dir, removed at the end */
static char dir[PATH_MAX];      /* tmp/demo, made by the demo, resolved */
static char tool_log[300];      /* output of the verifiers */
static time_t created_at;

/* ---- helpers ------------------------------------------------------------- */

/* dir/name (static buffer: one use at a time per slot). */
static const char *
at(const char *name)
{
	static char buf[4][PATH_MAX + 64];
	static int slot;

	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", dir, name);
	return buf[slot];
}

/* Run argv (found in PATH), output appended to tool_log; its exit status. */
static int
run(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, tool_log,
	    O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The whole file into buf (NUL-terminated); its length. */
static size_t
slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

static X509 *
load_cert(const char *name)
{
	FILE *f = fopen(at(name), "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

/* The names in directory path, sorted, joined by spaces. */
static void
listing(const char *path, char *out, size_t cap)
{
	struct dirent **ents;
	int n, i;

	out[0] = '\0';
	n = scandir(path, &ents, NULL, alphasort);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.' || (strcmp(ents[i]->d_name, ".") != 0 &&
		    strcmp(ents[i]->d_name, "..") != 0)) {
			strncat(out, ents[i]->d_name, cap - strlen(out) - 1);
			strncat(out, " ", cap - strlen(out) - 1);
		}
		free(ents[i]);
	}
	free(ents);
}

static void
assert_mode(const char *path, mode_t type, mode_t perm)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		fail_msg("%s: %s", path, strerror(errno));
	if ((st.st_mode & S_IFMT) != type || (st.st_mode & 07777) != perm)
		fail_msg("%s: mode %06o, want %06o", path, (unsigned)st.st_mode,
		    (unsigned)(type | perm));
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* ---- setup --------------------------------------------------------------- */

static int
group_setup(void **state)
{
	const char *t = getenv("TMPDIR");
	char path[300], why[WHY_LEN];
	struct timespec a, b;

	(void)state;
	snprintf(tmp, sizeof(tmp), "%s/signer-demo.XXXXXX",
	    t != NULL && strlen(t) < 200 ? t : "/tmp");
	if (mkdtemp(tmp) == NULL)
		return -1;
	snprintf(tool_log, sizeof(tool_log), "%s/tools.log", tmp);
	snprintf(path, sizeof(path), "%s/demo", tmp);
	created_at = time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (signer_demo_create(path, why, sizeof(why)) != 0) {
		fprintf(stderr, "demo: %s\n", why);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("demo environment made in %.2f s\n", (double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	return realpath(path, dir) != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- tests --------------------------------------------------------------- */

/* Exactly the promised files, with their modes; no repository yet. */
static void
test_files(void **state)
{
	char names[1024], text[FILE_MAX], want[PATH_MAX + 64];
	size_t i, n;

	(void)state;
	listing(dir, names, sizeof(names));
	assert_string_equal(names, "ca client.yaml env pin signerd.yaml "
	    "softhsm2.conf tokens ");
	listing(at("ca"), names, sizeof(names));
	assert_string_equal(names, "chain-client.pem chain-server.pem "
	    "client-ca.pem root.pem server-ca.pem ");
	assert_mode(dir, S_IFDIR, 0700);
	assert_mode(at("tokens"), S_IFDIR, 0700);
	assert_mode(at("pin"), S_IFREG, 0600);
	assert_mode(at("softhsm2.conf"), S_IFREG, 0644);
	assert_mode(at("ca/root.pem"), S_IFREG, 0644);
	assert_mode(at("signerd.yaml"), S_IFREG, 0644);

	/* a random PIN of 16 hex digits and a newline */
	n = slurp(at("pin"), text, sizeof(text));
	assert_int_equal(n, 17);
	for (i = 0; i < 16; i++)
		assert_non_null(strchr("0123456789abcdef", text[i]));
	assert_int_equal(text[16], '\n');

	snprintf(want, sizeof(want), "\nexport SOFTHSM2_CONF=%s/softhsm2.conf\n",
	    dir);
	slurp(at("env"), text, sizeof(text));
	assert_non_null(strstr(text, want));
	assert_string_equal(getenv("SOFTHSM2_CONF"), at("softhsm2.conf"));
	snprintf(want, sizeof(want), "directories.tokendir = %s/tokens\n", dir);
	slurp(at("softhsm2.conf"), text, sizeof(text));
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "objectstore.backend = file\n"));
	assert_non_null(strstr(text, "log.level = ERROR\n"));
}

/* signerd.yaml loads and says what the demo made; its issuers load too. */
static void
test_signerd_yaml(void **state)
{
	struct conf_signerd c;
	struct cert_issuer iss;
	char err[CONF_ERR_MAX], why[WHY_LEN];
	const struct conf_profile *p;
	size_t i;

	(void)state;
	if (conf_load_signerd(at("signerd.yaml"), &c, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.node, 1);
	assert_string_equal(c.serial.device, at("tty-signer"));
	assert_int_equal(c.serial.baud, 115200);
	assert_string_equal(c.repo_path, at("repo"));
	assert_string_equal(c.hsm_module, HSM_MODULE_DEFAULT);
	assert_string_equal(c.hsm_token, SIGNER_DEMO_TOKEN);
	assert_string_equal(c.hsm_pin_file, at("pin"));
	assert_int_equal(c.n_issuers, 2);
	assert_string_equal(c.issuers[0].id, "server-ca");
	assert_string_equal(c.issuers[0].cert, at("ca/server-ca.pem"));
	assert_string_equal(c.issuers[0].key_id, "02");
	assert_string_equal(c.issuers[1].id, "client-ca");
	assert_string_equal(c.issuers[1].key_id, "03");
	for (i = 0; i < c.n_issuers; i++) {
		if (issuer_load(&c.issuers[i], &iss, why, sizeof(why)) != 0)
			fail_msg("%s", why);
		assert_int_equal(iss.path_len, 0);
		issuer_clear(&iss);
	}
	assert_non_null(p = conf_profile_find(&c, "server"));
	assert_string_equal(p->issuers.v[0], "server-ca");
	assert_int_equal(p->max_days, 397);
	assert_true(p->cn_in_san);
	assert_non_null(p = conf_profile_find(&c, "client"));
	assert_string_equal(p->issuers.v[0], "client-ca");
	assert_int_equal(p->max_days, 730);
	assert_int_equal(p->ext_key_usage.n, 2);
	conf_signerd_free(&c);
}

static void
test_client_yaml(void **state)
{
	struct conf_client c;
	char err[CONF_ERR_MAX];

	(void)state;
	if (conf_load_client(at("client.yaml"), &c, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.n_signers, 1);
	assert_string_equal(c.signers[0].device, at("tty-client"));
	assert_string_equal(c.ca_dir, at("ca"));
	assert_string_equal(c.db_backend, "sqlite");
	assert_string_equal(c.db_path, at("queue.db"));
	assert_string_equal(c.crl_dir, at("crl"));
	assert_string_equal(c.health_json, at("health.json"));
	assert_string_equal(c.health_prom, at("signer.prom"));
	conf_client_free(&c);
}

/* Days between the certificate's notBefore and notAfter. */
static int
validity_days(const X509 *x)
{
	int days, secs;

	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)), 1);
	return days;
}

/* One CA certificate: name, serial, extensions, validity, signature. */
static void
check_ca(X509 *x, X509 *root, const char *subject, long path_len,
    int min_days)
{
	char name[256];
	uint8_t ski[CERT_SKI_LEN], root_ski[CERT_SKI_LEN];
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	const ASN1_OCTET_STRING *id;
	time_t nb;

	X509_NAME_oneline(X509_get_subject_name(x), name, sizeof(name));
	assert_string_equal(name, subject);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(root)), 0);
	assert_int_equal(ASN1_STRING_type(sn), V_ASN1_INTEGER);
	assert_int_equal(ASN1_STRING_length(sn), 16);
	assert_in_range(ASN1_STRING_get0_data(sn)[0], 0x01, 0x7f);
	/* basicConstraints and keyUsage, both critical */
	assert_int_equal(X509_check_ca(x), 1);
	assert_int_equal(X509_get_pathlen(x), path_len);
	assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_int_equal(X509_get_extension_flags(x) & EXFLAG_CRITICAL, 0);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(x,
	    X509_get_ext_by_NID(x, NID_basic_constraints, -1))), 1);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(x,
	    X509_get_ext_by_NID(x, NID_key_usage, -1))), 1);
	/* SKI by RFC 7093 method 1; AKI is the root's SKI */
	assert_int_equal(cert_ski(X509_get_X509_PUBKEY(x), ski), 0);
	assert_int_equal(cert_ski(X509_get_X509_PUBKEY(root), root_ski), 0);
	assert_non_null(id = X509_get0_subject_key_id(x));
	assert_int_equal(ASN1_STRING_length(id), CERT_SKI_LEN);
	assert_memory_equal(ASN1_STRING_get0_data(id), ski, CERT_SKI_LEN);
	assert_non_null(id = X509_get0_authority_key_id(x));
	assert_int_equal(ASN1_STRING_length(id), CERT_SKI_LEN);
	assert_memory_equal(ASN1_STRING_get0_data(id), root_ski, CERT_SKI_LEN);
	/* started early enough for leaves backdated by an hour; 5 or 10 years */
	nb = created_at - 3600;
	assert_true(X509_cmp_time(X509_get0_notBefore(x), &nb) < 0);
	assert_in_range(validity_days(x), min_days, min_days + 3);
	assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(root)), 1);
}

static void
test_ca_certificates(void **state)
{
	X509 *root = load_cert("ca/root.pem"), *srv = load_cert("ca/server-ca.pem");
	X509 *cli = load_cert("ca/client-ca.pem");
	char subject[64];
	struct tm tm;
	EVP_PKEY *pk;
	char group[32];
	size_t glen;

	(void)state;
	gmtime_r(&created_at, &tm);
	check_ca(root, root, "/O=Signer Demo/CN=Signer Demo Root CA", -1, 3652);
	snprintf(subject, sizeof(subject), "/CN=Signer Demo Server CA %d",
	    tm.tm_year + 1900);
	check_ca(srv, root, subject, 0, 1826);
	snprintf(subject, sizeof(subject), "/CN=Signer Demo Client CA %d",
	    tm.tm_year + 1900);
	check_ca(cli, root, subject, 0, 1826);
	/* the issuing CAs end before the root */
	assert_true(ASN1_TIME_compare(X509_get0_notAfter(srv),
	    X509_get0_notAfter(root)) < 0);

	assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(root)), EVP_PKEY_RSA);
	assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(root)), 3072);
	assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(srv)), EVP_PKEY_RSA);
	assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(srv)), 3072);
	pk = X509_get0_pubkey(cli);
	assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC);
	assert_int_equal(EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen), 1);
	assert_string_equal(group, "prime256v1");
	X509_free(root);
	X509_free(srv);
	X509_free(cli);
}

/* chain-<kind>.pem is the issuing CA, then the root. */
static void
test_chain_files(void **state)
{
	static const char *chains[][2] = {
		{ "ca/chain-server.pem", "ca/server-ca.pem" },
		{ "ca/chain-client.pem", "ca/client-ca.pem" },
	};
	X509 *root = load_cert("ca/root.pem"), *ca, *x;
	size_t i;
	BIO *b;

	(void)state;
	for (i = 0; i < 2; i++) {
		ca = load_cert(chains[i][1]);
		assert_non_null(b = BIO_new_file(at(chains[i][0]), "r"));
		assert_non_null(x = PEM_read_bio_X509(b, NULL, NULL, NULL));
		assert_int_equal(X509_cmp(x, ca), 0);
		X509_free(x);
		assert_non_null(x = PEM_read_bio_X509(b, NULL, NULL, NULL));
		assert_int_equal(X509_cmp(x, root), 0);
		X509_free(x);
		assert_null(PEM_read_bio_X509(b, NULL, NULL, NULL));
		BIO_free(b);
		X509_free(ca);
	}
	X509_free(root);
}

/* OpenSSL's strict verifier accepts both issuing CAs, and refuses a wrong anchor. */
static void
test_openssl_verify(void **state)
{
	static const char *cas[] = { "ca/server-ca.pem", "ca/client-ca.pem",
	    "ca/root.pem" };
	char root[PATH_MAX + 64], cert[PATH_MAX + 64], chain[PATH_MAX + 64];
	char *argv[] = { "openssl", "verify", "-x509_strict", "-CAfile", root,
	    "-untrusted", chain, cert, NULL };
	size_t i;

	(void)state;
	snprintf(root, sizeof(root), "%s", at("ca/root.pem"));
	snprintf(chain, sizeof(chain), "%s", at("ca/chain-server.pem"));
	for (i = 0; i < 3; i++) {
		snprintf(cert, sizeof(cert), "%s", at(cas[i]));
		if (run(argv) != 0)
			fail_msg("openssl verify %s failed; see %s", cas[i], tool_log);
	}
	/* the client CA is no trust anchor for the server CA */
	snprintf(root, sizeof(root), "%s", at("ca/client-ca.pem"));
	snprintf(cert, sizeof(cert), "%s", at("ca/server-ca.pem"));
	assert_int_not_equal(run(argv), 0);
}

/* GnuTLS accepts both chains, on their own and anchored at root.pem. */
static void
test_certtool_verify(void **state)
{
	static const char *chains[] = { "ca/chain-server.pem",
	    "ca/chain-client.pem" };
	char root[PATH_MAX + 64], chain[PATH_MAX + 64];
	char *self[] = { "certtool", "--verify-chain", "--verify-profile=high",
	    "--infile", chain, NULL };
	char *anchored[] = { "certtool", "--verify", "--verify-profile=high",
	    "--load-ca-certificate", root, "--infile", chain, NULL };
	size_t i;

	(void)state;
	snprintf(root, sizeof(root), "%s", at("ca/root.pem"));
	for (i = 0; i < 2; i++) {
		snprintf(chain, sizeof(chain), "%s", at(chains[i]));
		if (run(self) != 0 || run(anchored) != 0)
			fail_msg("certtool refused %s; see %s", chains[i], tool_log);
	}
	/* the client CA is no trust anchor for the server chain */
	snprintf(root, sizeof(root), "%s", at("ca/client-ca.pem"));
	snprintf(chain, sizeof(chain), "%s", at("ca/server-ca.pem"));
	assert_int_not_equal(run(anchored), 0);
}

static struct hsm *h;            /* closed by token_keys_teardown() */

/* The keys on the token are those of the certificates (hsm_key_find makes a test signature). */
static void
test_token_keys(void **state)
{
	static const struct { const char *cert; uint8_t id; } keys[] = {
		{ "ca/root.pem", 0x01 },
		{ "ca/server-ca.pem", 0x02 },
		{ "ca/client-ca.pem", 0x03 },
	};
	struct hsm_params p = { .token = SIGNER_DEMO_TOKEN };
	struct hsm_key *k;
	char why[HSM_WHY_MAX];
	X509 *x;
	size_t i;
	int rc;

	(void)state;
	p.pin_file = at("pin");
	if (hsm_open(&p, &h, why, sizeof(why)) != 0)
		fail_msg("hsm_open: %s", why);
	for (i = 0; i < 3; i++) {
		x = load_cert(keys[i].cert);
		if (hsm_key_find(h, &keys[i].id, 1, X509_get0_pubkey(x), &k, why,
		    sizeof(why)) != 0)
			fail_msg("%s: %s", keys[i].cert, why);
		hsm_key_free(k);
		X509_free(x);
	}
	/* a key id bound to another certificate's key of the same type is refused */
	x = load_cert("ca/root.pem");
	rc = hsm_key_find(h, &keys[1].id, 1, X509_get0_pubkey(x), &k, why,
	    sizeof(why));
	X509_free(x);
	assert_int_equal(rc, ERR_CONFIG);
}

static int
token_keys_teardown(void **state)
{
	(void)state;
	hsm_close(h);
	h = NULL;
	return 0;
}

/* A second demo in the same directory is refused and changes nothing. */
static void
test_refuse_nonempty(void **state)
{
	char why[WHY_LEN], before[1024], after[1024], pin1[64], pin2[64];

	(void)state;
	listing(dir, before, sizeof(before));
	slurp(at("pin"), pin1, sizeof(pin1));
	assert_int_equal(signer_demo_create(dir, why, sizeof(why)), ERR_CONFLICT);
	assert_non_null(strstr(why, dir));
	assert_non_null(strstr(why, "is not empty"));
	listing(dir, after, sizeof(after));
	assert_string_equal(before, after);
	slurp(at("pin"), pin2, sizeof(pin2));
	assert_string_equal(pin1, pin2);
	assert_string_equal(getenv("SOFTHSM2_CONF"), at("softhsm2.conf"));

	assert_int_equal(signer_demo_create(at("env"), why, sizeof(why)),
	    ERR_CONFLICT);
	assert_non_null(strstr(why, "is not a directory"));
	assert_int_equal(signer_demo_create("", why, sizeof(why)), ERR_INVAL);
}

/* A name SoftHSM2's configuration cannot hold is refused before anything is made. */
static void
test_refuse_name(void **state)
{
	char target[300], why[WHY_LEN];

	(void)state;
	snprintf(target, sizeof(target), "%s/a#b", tmp);
	assert_int_equal(signer_demo_create(target, why, sizeof(why)), ERR_INVAL);
	assert_non_null(strstr(why, "contains '#'"));
	assert_int_equal(access(target, F_OK), -1);
}

/* A tool that fails is named with its exit status and last stderr line; the directory goes. */
static void
test_tool_fails(void **state)
{
	char bin[300], tool[320], target[300], why[WHY_LEN], *path;
	FILE *f;

	(void)state;
	snprintf(bin, sizeof(bin), "%s/bin", tmp);
	snprintf(tool, sizeof(tool), "%s/softhsm2-util", bin);
	snprintf(target, sizeof(target), "%s/failed", tmp);
	assert_int_equal(mkdir(bin, 0700), 0);
	assert_non_null(f = fopen(tool, "w"));
	fputs("#!/bin/sh\necho 'first line' >&2\n"
	    "echo 'ERROR: no free slot' >&2\necho\nexit 3\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(tool, 0700), 0);
	assert_non_null(getenv("PATH"));
	assert_non_null(path = strdup(getenv("PATH")));
	snprintf(tool, sizeof(tool), "%s:%s", bin, path);
	setenv("PATH", tool, 1);
	assert_int_equal(signer_demo_create(target, why, sizeof(why)), ERR_HSM);
	setenv("PATH", path, 1);
	free(path);
	assert_string_equal(why, "softhsm2-util --init-token: exit status 3: "
	    "ERROR: no free slot");
	assert_int_equal(access(target, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	/* the caller's token is still the one it uses */
	assert_string_equal(getenv("SOFTHSM2_CONF"), at("softhsm2.conf"));
}

/* A missing tool is named; an existing empty directory is left empty. */
static void
test_tool_missing(void **state)
{
	char target[300], why[WHY_LEN], names[256], *path;

	(void)state;
	snprintf(target, sizeof(target), "%s/empty", tmp);
	assert_int_equal(mkdir(target, 0755), 0);
	assert_non_null(getenv("PATH"));
	assert_non_null(path = strdup(getenv("PATH")));
	setenv("PATH", "/nonexistent", 1);
	assert_int_equal(signer_demo_create(target, why, sizeof(why)),
	    ERR_SYSTEM);
	setenv("PATH", path, 1);
	free(path);
	assert_non_null(strstr(why, "softhsm2-util"));
	assert_non_null(strstr(why, "cannot run: No such file or directory"));
	listing(target, names, sizeof(names));
	assert_string_equal(names, "");
	assert_int_equal(rmdir(target), 0);
}

/* An existing empty directory is used; the new token replaces the old in SOFTHSM2_CONF. */
static void
test_existing_empty_dir(void **state)
{
	char target[300], conf[PATH_MAX + 64], why[WHY_LEN], real[PATH_MAX];
	struct conf_signerd c;
	char err[CONF_ERR_MAX];

	(void)state;
	snprintf(target, sizeof(target), "%s/second", tmp);
	assert_int_equal(mkdir(target, 0700), 0);
	if (signer_demo_create(target, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_non_null(realpath(target, real));
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", real);
	assert_string_equal(getenv("SOFTHSM2_CONF"), conf);
	snprintf(conf, sizeof(conf), "%s/signerd.yaml", target);
	if (conf_load_signerd(conf, &c, err) != 0)
		fail_msg("%s", err);
	conf_signerd_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_signerd_yaml),
		cmocka_unit_test(test_client_yaml),
		cmocka_unit_test(test_ca_certificates),
		cmocka_unit_test(test_chain_files),
		cmocka_unit_test(test_openssl_verify),
		cmocka_unit_test(test_certtool_verify),
		cmocka_unit_test_teardown(test_token_keys, token_keys_teardown),
		cmocka_unit_test(test_refuse_nonempty),
		cmocka_unit_test(test_refuse_name),
		cmocka_unit_test(test_tool_fails),
		cmocka_unit_test(test_tool_missing),
		cmocka_unit_test(test_existing_empty_dir),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
