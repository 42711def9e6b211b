/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm tests: a private SoftHSM2 token in a temp dir, keys made on it, the fault module, certificates to sign and an outside verifier. */
#ifndef TESTS_UNIT_HSM_SOFTHSM_HELPER_H
#define TESTS_UNIT_HSM_SOFTHSM_HELPER_H

/*
 * Header-only (static inline), because every tests/unit/<module>/test_*.c
 * is built on its own. The tests run with the repository root as current
 * directory; $BUILD (default "build") locates the fault module.
 */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsm/hsm.h"
#include "proto/proto.h"

#define TH_SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define TH_LABEL "signer-test"
#define TH_PIN "314159"
#define TH_SO_PIN "27182818"
#define TH_DAY 86400L
#define TH_DIR_MAX 256                  /* the temp dir's path */
#define TH_KEYS 4                       /* keys a test may leave to teardown */

extern char **environ;

struct th_token {
	char dir[TH_DIR_MAX];
	char conf[PATH_MAX];
	char pin_file[PATH_MAX];
	char plan[PATH_MAX];            /* P11FAULT_FILE */
	char log[PATH_MAX];             /* P11FAULT_LOG */
	char cmdlog[PATH_MAX];          /* output of the tools run */
	char fault_module[PATH_MAX];
	struct hsm_params params;       /* through the fault module */
	struct hsm_params direct;       /* straight to SoftHSM */
	/* Left here by a test, released by th_token_free(), also on failure. */
	struct hsm *h;
	struct hsm_key *k[TH_KEYS];
	EVP_PKEY *pub[TH_KEYS];
};

/* Run argv (searched in PATH); output goes to log. Returns the exit status. */
static inline int
th_run(const char *log, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log,
	    O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -1;
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Write text to path through a new file, so the fault module sees a change. */
static inline int
th_write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[PATH_MAX + 8];
	FILE *fp;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1)
		return -1;
	if (fchmod(fd, mode) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	fputs(text, fp);
	if (fclose(fp) != 0)
		return -1;
	return rename(tmp, path);
}

static inline int
th_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/*
 * A new token labelled TH_LABEL in a new temp dir, with a PIN file (0600);
 * SOFTHSM2_CONF, P11FAULT_FILE and P11FAULT_LOG point into the dir.
 */
static inline int
th_token_new(struct th_token *t)
{
	const char *build = getenv("BUILD"), *tmp = getenv("TMPDIR");
	char conf[PATH_MAX + 64], so[PATH_MAX];
	char *init[] = { "softhsm2-util", "--init-token", "--free", "--label",
	    TH_LABEL, "--pin", TH_PIN, "--so-pin", TH_SO_PIN, NULL };

	memset(t, 0, sizeof(*t));
	if (tmp == NULL || strlen(tmp) > TH_DIR_MAX - 32)
		tmp = "/tmp";
	snprintf(t->dir, sizeof(t->dir), "%s/hsm-test.XXXXXX", tmp);
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->conf, sizeof(t->conf), "%s/softhsm2.conf", t->dir);
	snprintf(t->pin_file, sizeof(t->pin_file), "%s/pin", t->dir);
	snprintf(t->plan, sizeof(t->plan), "%s/faults", t->dir);
	snprintf(t->log, sizeof(t->log), "%s/calls", t->dir);
	snprintf(t->cmdlog, sizeof(t->cmdlog), "%s/tools.log", t->dir);
	snprintf(conf, sizeof(conf), "directories.tokendir = %s/tokens\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", t->dir);
	snprintf(so, sizeof(so), "%s/tokens", t->dir);
	if (mkdir(so, 0700) == -1 || th_write_file(t->conf, conf, 0600) ||
	    th_write_file(t->pin_file, TH_PIN "\n", 0600))
		return -1;
	setenv("SOFTHSM2_CONF", t->conf, 1);
	setenv("P11FAULT_FILE", t->plan, 1);
	setenv("P11FAULT_LOG", t->log, 1);
	setenv("GNUTLS_PIN", TH_PIN, 1);
	unsetenv("P11FAULT_MODULE");
	snprintf(so, sizeof(so), "%s/tests/lib/p11fault.so",
	    build != NULL ? build : "build");
	if (realpath(so, t->fault_module) == NULL)
		return -1;
	t->params.module = t->fault_module;
	t->params.token = TH_LABEL;
	t->params.pin_file = t->pin_file;
	t->direct = t->params;
	t->direct.module = TH_SOFTHSM;
	return th_run(t->cmdlog, init) == 0 ? 0 : -1;
}

static inline void
th_token_free(struct th_token *t)
{
	size_t i;

	for (i = 0; i < TH_KEYS; i++) {
		hsm_key_free(t->k[i]);
		EVP_PKEY_free(t->pub[i]);
		t->k[i] = NULL;
		t->pub[i] = NULL;
	}
	hsm_close(t->h);
	t->h = NULL;
	/* TH_KEEP=1 keeps the temp dir (token, call log, tool output). */
	if (t->dir[0] != '\0' && getenv("TH_KEEP") != NULL)
		fprintf(stderr, "kept %s\n", t->dir);
	else if (t->dir[0] != '\0')
		nftw(t->dir, th_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	t->dir[0] = '\0';
}

/* A key pair with CKA_ID id (hex) on the token; type for pkcs11-tool. */
static inline int
th_keygen(struct th_token *t, const char *id, const char *type)
{
	char label[64];
	char *argv[] = { "pkcs11-tool", "--module", TH_SOFTHSM,
	    "--token-label", TH_LABEL, "--login", "--pin", TH_PIN,
	    "--keypairgen", "--key-type", (char *)type, "--id", (char *)id,
	    "--label", label, NULL };

	snprintf(label, sizeof(label), "key-%s", id);
	return th_run(t->cmdlog, argv) == 0 ? 0 : -1;
}

/* The public key with CKA_ID id, read from the token by p11tool. */
static inline EVP_PKEY *
th_pubkey(struct th_token *t, const char *id)
{
	char out[PATH_MAX + 32], url[128];
	char *argv[] = { "p11tool", "--provider", TH_SOFTHSM, "--login",
	    "--export-pubkey", "--outfile", out, url, NULL };
	EVP_PKEY *pk = NULL;
	FILE *fp;

	snprintf(out, sizeof(out), "%s/pub-%s.pem", t->dir, id);
	snprintf(url, sizeof(url), "pkcs11:token=%s;id=%%%s;type=public",
	    TH_LABEL, id);
	if (th_run(t->cmdlog, argv) != 0 || (fp = fopen(out, "r")) == NULL)
		return NULL;
	pk = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
	fclose(fp);
	return pk;
}

/* Replace the fault plan ("" for none). */
static inline int
th_plan(struct th_token *t, const char *plan)
{
	return th_write_file(t->plan, plan, 0600);
}

/* Calls of fn the fault module saw so far (P11FAULT_LOG lines). */
static inline int
th_count(struct th_token *t, const char *fn)
{
	char line[256];
	size_t len = strlen(fn);
	FILE *fp;
	int n = 0;

	if ((fp = fopen(t->log, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, fn, len) == 0 && line[len] == ' ')
			n++;
	fclose(fp);
	return n;
}

static inline int
th_ext(X509 *x, X509 *issuer, X509_CRL *crl, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, crl, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = crl != NULL ? X509_CRL_add_ext(crl, ext, -1) :
	    X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static inline X509_NAME *
th_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (n != NULL && !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* An unsigned v3 certificate for pub, valid for a year from an hour ago. */
static inline X509 *
th_cert(EVP_PKEY *pub, const char *cn, const X509_NAME *issuer, long serial)
{
	X509 *x = X509_new();
	X509_NAME *subject = th_name(cn);
	bool ok;

	ok = x != NULL && subject != NULL &&
	    X509_set_version(x, X509_VERSION_3) &&
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial) &&
	    X509_set_subject_name(x, subject) &&
	    X509_set_issuer_name(x, issuer != NULL ? issuer : subject) &&
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 365 * TH_DAY) != NULL &&
	    X509_set_pubkey(x, pub);
	X509_NAME_free(subject);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* The to-be-signed part of a self-signed CA certificate for pub. */
static inline X509 *
th_ca_tbs(EVP_PKEY *pub)
{
	X509 *x = th_cert(pub, "signer test CA", NULL, 1);

	if (x == NULL ||
	    th_ext(x, x, NULL, NID_basic_constraints, "critical,CA:TRUE") ||
	    th_ext(x, x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    th_ext(x, x, NULL, NID_subject_key_identifier, "hash")) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* The to-be-signed part of a server certificate issued by ca. */
static inline X509 *
th_leaf_tbs(X509 *ca, long serial)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = NULL;

	if (pk != NULL)
		x = th_cert(pk, "www.example.org", X509_get_subject_name(ca),
		    serial);
	EVP_PKEY_free(pk);
	if (x == NULL ||
	    th_ext(x, ca, NULL, NID_basic_constraints, "critical,CA:FALSE") ||
	    th_ext(x, ca, NULL, NID_key_usage, "critical,digitalSignature") ||
	    th_ext(x, ca, NULL, NID_ext_key_usage, "serverAuth") ||
	    th_ext(x, ca, NULL, NID_subject_alt_name, "DNS:www.example.org") ||
	    th_ext(x, ca, NULL, NID_subject_key_identifier, "hash") ||
	    th_ext(x, ca, NULL, NID_authority_key_identifier, "keyid:always")) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* An unsigned v2 CRL of ca revoking serial (none when 0), number 7. */
static inline X509_CRL *
th_crl_tbs(X509 *ca, long serial)
{
	X509_CRL *crl = X509_CRL_new();
	X509_REVOKED *rev = NULL;
	ASN1_TIME *now = X509_gmtime_adj(NULL, 0);
	ASN1_TIME *next = X509_gmtime_adj(NULL, 7 * TH_DAY);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	bool ok;

	ok = crl != NULL && now != NULL && next != NULL && num != NULL &&
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) &&
	    X509_CRL_set1_lastUpdate(crl, now) &&
	    X509_CRL_set1_nextUpdate(crl, next) && ASN1_INTEGER_set(num, 7) &&
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) == 1 &&
	    th_ext(NULL, ca, crl, NID_authority_key_identifier,
	    "keyid:always") == 0;
	if (ok && serial != 0) {
		ok = (rev = X509_REVOKED_new()) != NULL &&
		    ASN1_INTEGER_set(num, serial) &&
		    X509_REVOKED_set_serialNumber(rev, num) &&
		    X509_REVOKED_set_revocationDate(rev, now) &&
		    X509_CRL_add0_revoked(crl, rev);
		if (!ok)
			X509_REVOKED_free(rev);
		else
			X509_CRL_sort(crl);
	}
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	ASN1_INTEGER_free(num);
	if (!ok) {
		X509_CRL_free(crl);
		return NULL;
	}
	return crl;
}

static inline int
th_write_cert(const char *path, X509 *x)
{
	FILE *fp = fopen(path, "w");
	int ok;

	if (fp == NULL)
		return -1;
	ok = PEM_write_X509(fp, x);
	return fclose(fp) == 0 && ok ? 0 : -1;
}

static inline int
th_write_crl(const char *path, X509_CRL *crl)
{
	FILE *fp = fopen(path, "w");
	int ok;

	if (fp == NULL)
		return -1;
	ok = PEM_write_X509_CRL(fp, crl);
	return fclose(fp) == 0 && ok ? 0 : -1;
}

/*
 * "openssl verify" as the outside judge: 0 when leaf verifies under ca
 * (with crl checked when given).
 */
static inline int
th_openssl_verify(struct th_token *t, const char *ca, const char *leaf,
    const char *crl)
{
	char *plain[] = { "openssl", "verify", "-x509_strict", "-CAfile",
	    (char *)ca, (char *)leaf, NULL };
	char *checked[] = { "openssl", "verify", "-x509_strict", "-crl_check",
	    "-CRLfile", (char *)crl, "-CAfile", (char *)ca, (char *)leaf,
	    NULL };

	return th_run(t->cmdlog, crl != NULL ? checked : plain);
}

/* "openssl crl -CAfile": 0 when the CRL's signature verifies under ca. */
static inline int
th_openssl_crl(struct th_token *t, const char *ca, const char *crl)
{
	char *argv[] = { "openssl", "crl", "-noout", "-in", (char *)crl,
	    "-CAfile", (char *)ca, NULL };

	return th_run(t->cmdlog, argv);
}

/* Show what the tools said, when a test is about to fail. */
static inline void
th_dump(struct th_token *t)
{
	char line[512];
	FILE *fp;

	if ((fp = fopen(t->cmdlog, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL)
		fprintf(stderr, "  | %s", line);
	fclose(fp);
}

#endif /* TESTS_UNIT_HSM_SOFTHSM_HELPER_H */
