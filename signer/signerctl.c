/* SPDX-License-Identifier: GPL-3.0-or-later */
/* signerctl: the operator's local tool on the signer box (init, list, show, verify, digest, backup, demo). */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/signer.h"

#define SIGNERCTL_CONF_DEFAULT "/etc/signer/signerd.yaml"
#define WHY_MAX 512

static const char *conf_path = SIGNERCTL_CONF_DEFAULT;

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

static void
date_str(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, cap, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "%lld", (long long)t);
}

static const char *
status_str(enum cert_status s)
{
	switch (s) {
	case CERT_PENDING:
		return "pending";
	case CERT_ISSUED:
		return "issued";
	case CERT_REVOKED:
		return "revoked";
	}
	return "?";
}

/* Load the configuration and open the engine; prints the error and returns NULL on failure. */
static struct signer *
open_engine(struct conf_signerd *conf, int flags)
{
	char why[WHY_MAX];
	struct signer *s;
	int rc;

	if (conf_load_signerd(conf_path, conf, why) != 0) {
		fprintf(stderr, "signerctl: %s\n", why);
		return NULL;
	}
	if ((rc = signer_open(conf, flags, &s, why, sizeof(why))) != 0) {
		fprintf(stderr, "signerctl: %s (%s)\n", why, err_str(rc));
		conf_signerd_free(conf);
		return NULL;
	}
	return s;
}

static int
cmd_init(int argc, char **argv)
{
	struct conf_signerd conf;
	struct signer *s;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: signerctl init\n");
		return 2;
	}
	if ((s = open_engine(&conf, SIGNER_OPEN_CREATE)) == NULL)
		return 1;
	printf("repository %s ready for node %u; %zu issuer key(s) found on "
	    "token '%s'\n", conf.repo_path, conf.node, conf.n_issuers,
	    conf.hsm_token);
	signer_close(s);
	conf_signerd_free(&conf);
	return 0;
}

static int
print_cert(const struct repo_cert *c, void *ctx)
{
	char hex[SERIAL_HEX_MAX], na[32];

	(void)ctx;
	serial_to_hex(&c->serial, hex);
	date_str(c->not_after, na, sizeof(na));
	printf("%-16s %-34s %-8s %s  %-10s %s\n", c->issuer, hex,
	    status_str(c->status), na, c->profile, c->subject);
	return 0;
}

static int
print_revocation(const struct repo_revocation *r, void *ctx)
{
	char hex[SERIAL_HEX_MAX], at[32];

	(void)ctx;
	serial_to_hex(&r->serial, hex);
	date_str(r->revoked_at, at, sizeof(at));
	printf("%-16s %-34s revoked  %s  reason %d\n", r->issuer, hex, at,
	    r->reason);
	return 0;
}

static int
list_run(struct signer *s, const struct conf_signerd *conf, const char *issuer,
    int revoked)
{
	char why[WHY_MAX];
	struct repo_txn *t;
	size_t i;
	int rc;

	if ((rc = repo_begin(signer_repo(s), false, &t, why, sizeof(why))) != 0) {
		fprintf(stderr, "signerctl: %s\n", why);
		return 1;
	}
	if (!revoked) {
		rc = repo_cert_foreach(t, issuer, print_cert, NULL, why,
		    sizeof(why));
	} else {
		for (i = 0; rc == 0 && i < conf->n_issuers; i++)
			if (issuer == NULL || strcmp(issuer, conf->issuers[i].id) == 0)
				rc = repo_revoked_foreach(t, conf->issuers[i].id,
				    print_revocation, NULL, why, sizeof(why));
	}
	repo_abort(t);
	if (rc != 0) {
		fprintf(stderr, "signerctl: %s\n", why);
		return 1;
	}
	return 0;
}

static int
cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "issuer", required_argument, NULL, 'i' },
		{ "revoked", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct conf_signerd conf;
	const char *issuer = NULL;
	struct signer *s;
	int ch, revoked = 0, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "i:r", opts, NULL)) != -1) {
		if (ch == 'i')
			issuer = optarg;
		else if (ch == 'r')
			revoked = 1;
		else
			return 2;
	}
	if (optind != argc) {
		fprintf(stderr, "usage: signerctl list [--issuer ID] [--revoked]\n");
		return 2;
	}
	if ((s = open_engine(&conf, SIGNER_OPEN_RDONLY)) == NULL)
		return 1;
	if (issuer != NULL && conf_issuer_find(&conf, issuer) == NULL) {
		fprintf(stderr, "signerctl: unknown issuer '%s'\n", issuer);
		rc = 1;
	} else {
		rc = list_run(s, &conf, issuer, revoked);
	}
	signer_close(s);
	conf_signerd_free(&conf);
	return rc;
}

static void
show_cert(const struct repo_cert *c)
{
	char hex[SERIAL_HEX_MAX], nb[32], na[32], cr[32], at[32];
	const unsigned char *p = c->der;
	X509 *x;

	serial_to_hex(&c->serial, hex);
	date_str(c->not_before, nb, sizeof(nb));
	date_str(c->not_after, na, sizeof(na));
	date_str(c->created, cr, sizeof(cr));
	printf("issuer:     %s\nserial:     %s\nstatus:     %s\nprofile:    %s\n"
	    "subject:    %s\nnot before: %s\nnot after:  %s\nrequested:  %s\n"
	    "ref:        %.*s\n", c->issuer, hex, status_str(c->status),
	    c->profile, c->subject, nb, na, cr, (int)c->ref_len,
	    (const char *)c->ref);
	if (c->status == CERT_REVOKED) {
		date_str(c->revoked_at, at, sizeof(at));
		printf("revoked:    %s (reason %d)\n", at, c->reason);
	}
	if (c->der != NULL && (x = d2i_X509(NULL, &p, (long)c->der_len)) != NULL) {
		PEM_write_X509(stdout, x);
		X509_free(x);
	}
}

static int
cmd_show(int argc, char **argv)
{
	struct conf_signerd conf;
	struct repo_cert c = { 0 };
	struct serial serial;
	char why[WHY_MAX];
	struct repo_txn *t;
	struct signer *s;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: signerctl show ISSUER SERIAL\n");
		return 2;
	}
	if (serial_from_hex(argv[2], strlen(argv[2]), &serial) != 0) {
		fprintf(stderr, "signerctl: '%s' is not a hex serial number\n",
		    argv[2]);
		return 2;
	}
	if ((s = open_engine(&conf, SIGNER_OPEN_RDONLY)) == NULL)
		return 1;
	if ((rc = repo_begin(signer_repo(s), false, &t, why, sizeof(why))) == 0) {
		rc = repo_cert_get(t, argv[1], &serial, &c, why, sizeof(why));
		repo_abort(t);
	}
	if (rc == 0)
		show_cert(&c);
	else if (rc == ERR_NOT_FOUND)
		fprintf(stderr, "signerctl: no certificate %s of issuer '%s'\n",
		    argv[2], argv[1]);
	else
		fprintf(stderr, "signerctl: %s\n", why);
	repo_cert_clear(&c);
	signer_close(s);
	conf_signerd_free(&conf);
	return rc == 0 ? 0 : 1;
}


static void
print_problem(const char *problem, void *ctx)
{
	(*(size_t *)ctx)++;
	printf("problem: %s\n", problem);
}

struct verify_ctx {
	struct signer *s;
	size_t checked;
	size_t bad;
};

/* Each recorded certificate parses, carries its serial and verifies with its issuer. */
static int
verify_cert(const struct repo_cert *c, void *arg)
{
	struct verify_ctx *v = arg;
	const struct cert_issuer *iss;
	const unsigned char *p = c->der;
	char hex[SERIAL_HEX_MAX];
	struct serial got;
	const ASN1_INTEGER *ai;
	size_t n, i;
	X509 *x;

	if (c->der == NULL)
		return 0;
	v->checked++;
	serial_to_hex(&c->serial, hex);
	iss = signer_issuers(v->s, &n);
	for (i = 0; i < n && strcmp(iss[i].conf->id, c->issuer) != 0; i++)
		;
	if ((x = d2i_X509(NULL, &p, (long)c->der_len)) == NULL ||
	    p != c->der + c->der_len) {
		printf("problem: certificate %s/%s does not parse\n", c->issuer, hex);
		v->bad++;
		X509_free(x);
		return 0;
	}
	ai = X509_get0_serialNumber(x);
	got.len = (size_t)ASN1_STRING_length(ai);
	if (got.len > SERIAL_MAX || ASN1_STRING_type(ai) != V_ASN1_INTEGER ||
	    (memcpy(got.b, ASN1_STRING_get0_data(ai), got.len),
	    serial_cmp(&got, &c->serial) != 0)) {
		printf("problem: certificate %s/%s carries another serial\n",
		    c->issuer, hex);
		v->bad++;
	} else if (i == n) {
		printf("problem: certificate %s/%s: issuer not configured\n",
		    c->issuer, hex);
		v->bad++;
	} else if (X509_verify(x, X509_get0_pubkey(iss[i].cert)) != 1) {
		printf("problem: certificate %s/%s: signature does not verify "
		    "with the issuer's key\n", c->issuer, hex);
		v->bad++;
	}
	X509_free(x);
	return 0;
}

static int
cmd_verify(int argc, char **argv)
{
	struct conf_signerd conf;
	struct verify_ctx v = { 0 };
	struct repo_txn *t;
	char why[WHY_MAX];
	size_t problems = 0;
	int rc;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: signerctl verify\n");
		return 2;
	}
	if ((v.s = open_engine(&conf, SIGNER_OPEN_RDONLY)) == NULL)
		return 1;
	rc = repo_verify(signer_repo(v.s), print_problem, &problems, why,
	    sizeof(why));
	if (rc >= 0 && (rc = repo_begin(signer_repo(v.s), false, &t, why,
	    sizeof(why))) == 0) {
		rc = repo_cert_foreach(t, NULL, verify_cert, &v, why, sizeof(why));
		repo_abort(t);
	}
	signer_close(v.s);
	conf_signerd_free(&conf);
	if (rc < 0) {
		fprintf(stderr, "signerctl: %s\n", why);
		return 1;
	}
	problems += v.bad;
	printf("%zu certificate(s) checked, %zu problem(s)\n", v.checked, problems);
	return problems == 0 ? 0 : 1;
}

static int
cmd_backup(int argc, char **argv)
{
	struct conf_signerd conf;
	char why[WHY_MAX];
	struct signer *s;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: signerctl backup FILE\n");
		return 2;
	}
	if ((s = open_engine(&conf, SIGNER_OPEN_NO_HSM)) == NULL)
		return 1;
	rc = repo_backup(signer_repo(s), argv[1], why, sizeof(why));
	signer_close(s);
	conf_signerd_free(&conf);
	if (rc != 0) {
		fprintf(stderr, "signerctl: %s\n", why);
		return 1;
	}
	printf("backup written to %s\n", argv[1]);
	return 0;
}

/* The replicated content's digest and what it covers; equal on two nodes in sync. */
static int
cmd_digest(int argc, char **argv)
{
	struct conf_signerd conf;
	struct repo_digest d;
	struct repo_txn *t;
	struct signer *s;
	char why[WHY_MAX];
	uint64_t sup = 0;
	size_t i;
	int rc;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: signerctl digest\n");
		return 2;
	}
	if ((s = open_engine(&conf, SIGNER_OPEN_RDONLY)) == NULL)
		return 1;
	rc = repo_digest(signer_repo(s), &d, why, sizeof(why));
	if (rc == 0 && (rc = repo_begin(signer_repo(s), false, &t, why,
	    sizeof(why))) == 0) {
		rc = repo_superseded_count(t, &sup, why, sizeof(why));
		repo_abort(t);
	}
	if (rc == 0) {
		for (i = 0; i < sizeof(d.hash); i++)
			printf("%02x", d.hash[i]);
		printf("  %llu certificates, %llu revocations, %llu "
		    "superseded\n", (unsigned long long)d.certs,
		    (unsigned long long)d.revocations, (unsigned long long)sup);
	} else
		fprintf(stderr, "signerctl: %s\n", why);
	signer_close(s);
	conf_signerd_free(&conf);
	return rc == 0 ? 0 : 1;
}

static int
cmd_demo(int argc, char **argv)
{
	char why[WHY_MAX], path[4096];
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: signerctl demo DIR\n");
		return 2;
	}
	if ((rc = signer_demo_create(argv[1], why, sizeof(why))) != 0) {
		fprintf(stderr, "signerctl: %s\n", why);
		return 1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/signerd.yaml", argv[1]) >=
	    sizeof(path)) {
		fprintf(stderr, "signerctl: path too long\n");
		return 1;
	}
	conf_path = path;
	printf("demo environment in %s: SoftHSM2 token 'signer-demo', root CA "
	    "and issuing CAs server-ca (RSA-3072) and client-ca (P-256)\n",
	    argv[1]);
	if ((rc = cmd_init(1, argv)) != 0)
		return rc;
	printf("before using it: . %s/env\n", argv[1]);
	return 0;
}

static const struct command commands[] = {
	{ "init", cmd_init, "init", "create the repository and check the issuer keys on the token" },
	{ "list", cmd_list, "list [--issuer ID] [--revoked]", "list certificates or revocations" },
	{ "show", cmd_show, "show ISSUER SERIAL", "show one certificate record and its PEM" },
	{ "verify", cmd_verify, "verify", "check every record, index, event and signature" },
	{ "digest", cmd_digest, "digest", "print a digest of the replicated content, equal on nodes in sync" },
	{ "backup", cmd_backup, "backup FILE", "write a compact consistent copy of the repository (mode 0600)" },
	{ "demo", cmd_demo, "demo DIR", "create a throwaway environment with a SoftHSM2 token in DIR" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: signerctl [-c FILE] COMMAND [ARGS]\n"
	    "  -c FILE  signerd configuration (default %s)\ncommands:\n",
	    SIGNERCTL_CONF_DEFAULT);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-32s %s\n", commands[i].usage, commands[i].help);
}

int
main(int argc, char **argv)
{
	size_t i;
	int ch;

	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			return commands[i].fn(argc, argv);
	fprintf(stderr, "signerctl: unknown command '%s'\n", argv[0]);
	usage(stderr);
	return 2;
}
