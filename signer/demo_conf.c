/* SPDX-License-Identifier: GPL-3.0-or-later */
/* demo: write the demo's SoftHSM2 configuration, env file, signerd.yaml and client.yaml, and check that both YAML files load. */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"
#include "hsm/hsm.h"
#include "proto/proto.h"
#include "signer/demo_local.h"

/* A file's text, built in memory and then written in one go. */
struct text {
	FILE *f;
	char *buf;
	size_t len;
};

static int
text_open(struct text *t, char *why, size_t whylen)
{
	memset(t, 0, sizeof(*t));
	if ((t->f = open_memstream(&t->buf, &t->len)) == NULL) {
		err_why(why, whylen, "out of memory");
		return ERR_NOMEM;
	}
	return 0;
}

/* Write the text to the new file dir/name (mode 0644) and free it. */
static int
text_write(struct text *t, const struct demo *d, const char *name, char *why,
    size_t whylen)
{
	char path[PATH_MAX];
	bool bad = ferror(t->f) != 0;
	int rc;

	if (fclose(t->f) != 0 || bad) {
		free(t->buf);
		err_why(why, whylen, "cannot compose %s: out of memory", name);
		return ERR_NOMEM;
	}
	if ((rc = demo_path(d, name, path, why, whylen)) == 0)
		rc = demo_write_file(path, t->buf, t->len, 0644, why, whylen);
	free(t->buf);
	return rc;
}

/* Characters that need no quoting in a YAML plain scalar or a shell word. */
static bool
plain_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("/._-+", *s) != NULL))
			return false;
	return true;
}

/* dir/name as a YAML scalar: plain when it can be, else double-quoted. */
static void
yaml_path(FILE *f, const struct demo *d, const char *name)
{
	const char *s;

	if (plain_ok(d->dir)) {
		fprintf(f, "%s/%s", d->dir, name);
		return;
	}
	fputc('"', f);
	for (s = d->dir; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fprintf(f, "/%s\"", name);
}

/* dir/name as one shell word: plain when it can be, else single-quoted. */
static void
shell_path(FILE *f, const struct demo *d, const char *name)
{
	const char *s;

	if (plain_ok(d->dir)) {
		fprintf(f, "%s/%s", d->dir, name);
		return;
	}
	fputc('\'', f);
	for (s = d->dir; *s != '\0'; s++) {
		if (*s == '\'')
			fputs("'\\'", f);
		fputc(*s, f);
	}
	fprintf(f, "/%s'", name);
}

int
demo_conf_softhsm(const struct demo *d, char *why, size_t whylen)
{
	char path[PATH_MAX];
	struct text t;
	int rc;

	if ((rc = demo_path(d, "tokens", path, why, whylen)) != 0)
		return rc;
	if (mkdir(path, 0700) == -1) {
		err_why(why, whylen, "cannot create %s: %s", path,
		    strerror(errno));
		return ERR_SYSTEM;
	}
	if ((rc = text_open(&t, why, whylen)) != 0)
		return rc;
	fprintf(t.f, "# SoftHSM2 configuration of the throwaway demo token "
	    "(SOFTHSM2_CONF).\ndirectories.tokendir = %s/tokens\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", d->dir);
	if ((rc = text_write(&t, d, "softhsm2.conf", why, whylen)) != 0 ||
	    (rc = text_open(&t, why, whylen)) != 0)
		return rc;
	fputs("# Source this file (\". env\") before running signerd, signerctl "
	    "or a token tool\n# on the demo token.\nexport SOFTHSM2_CONF=", t.f);
	shell_path(t.f, d, "softhsm2.conf");
	fputc('\n', t.f);
	if ((rc = text_write(&t, d, "env", why, whylen)) != 0 ||
	    (rc = demo_path(d, "softhsm2.conf", path, why, whylen)) != 0)
		return rc;
	/* the tools run next, and the caller goes on with the token */
	if (setenv("SOFTHSM2_CONF", path, 1) == -1) {
		err_why(why, whylen, "cannot set SOFTHSM2_CONF: %s",
		    strerror(errno));
		return ERR_SYSTEM;
	}
	return 0;
}

/* signerd.yaml: node, serial line, repository, token and log. */
static void
signerd_head(FILE *f, const struct demo *d)
{
	fputs("# signerd.yaml of a throwaway demo environment (signerctl demo).\n"
	    "# Not for production: the token is SoftHSM2 and its PIN sits in a "
	    "plain file\n# next to it. config/examples/signerd.yaml shows every "
	    "key.\n\n", f);
	fprintf(f, "# This signer's node id: the first byte of its serial "
	    "numbers.\nnode: %d\n\n", DEMO_NODE);
	fputs("# The line to signer-client: a pty link made when the demo runs.\n"
	    "serial:\n  device: ", f);
	yaml_path(f, d, "tty-signer");
	fprintf(f, "\n  baud: %d\n\n", DEMO_BAUD);
	fputs("# Issued certificates and revocations (signerctl init creates "
	    "it).\nrepository:\n  path: ", f);
	yaml_path(f, d, "repo");
	fputs("\n\n# The demo token; every program that opens it needs "
	    "SOFTHSM2_CONF (\". env\").\nhsm:\n  module: " HSM_MODULE_DEFAULT
	    "\n  token: " SIGNER_DEMO_TOKEN "\n  pin_file: ", f);
	yaml_path(f, d, "pin");
	fputs("\n\nlog:\n  level: info\n\n", f);
}

/* signerd.yaml: the issuing CAs, whose keys are on the token. */
static void
signerd_issuers(FILE *f, const struct demo *d)
{
	static const char *what[DEMO_KEYS] = {
		[DEMO_KEY_SERVER] = "TLS servers; an RSA-3072 key",
		[DEMO_KEY_CLIENT] = "TLS clients and email; an ECDSA P-256 key",
	};
	char name[DEMO_NAME_MAX];
	size_t i;

	fputs("# The issuing CAs, certified by the demo root CA (ca/root.pem).\n"
	    "issuers:\n", f);
	for (i = 0; i < DEMO_KEYS; i++) {
		if (i == DEMO_KEY_ROOT)         /* signs no end-entity */
			continue;
		snprintf(name, sizeof(name), "ca/%s.pem", demo_keys[i].label);
		fprintf(f, "  # %s\n  - id: %s\n    cert: ", what[i],
		    demo_keys[i].label);
		yaml_path(f, d, name);
		fprintf(f, "\n    key_id: \"%s\"        # CKA_ID of the key "
		    "labelled %s\n    crl:\n      lifetime_days: 7\n"
		    "      refresh_percent: 50\n      grace_days: 7\n",
		    demo_keys[i].id_hex, demo_keys[i].label);
	}
	fputc('\n', f);
}

/* signerd.yaml: one profile per issuing CA; "{issuer}" becomes its id. */
static const char signerd_profiles[] =
    "# Certificate profiles.\n"
    "profiles:\n"
    "  # TLS server certificates: the CN must also be a DNS or IP SAN.\n"
    "  - name: server\n"
    "    issuers: [server-ca]\n"
    "    validity: {default_days: 365, max_days: 397, backdate_seconds: 3600}\n"
    "    digest: sha256\n"
    "    key: {rsa_min_bits: 2048, curves: [P-256, P-384]}\n"
    "    subject: {allowed: [CN, O, OU, C, L, ST], required: [CN]}\n"
    "    san: {types: [dns, ip], max: 100, cn_must_match: true}\n"
    "    # keyEncipherment is dropped for EC keys (RSA key exchange only)\n"
    "    key_usage: [digitalSignature, keyEncipherment]\n"
    "    ext_key_usage: [serverAuth]\n"
    "    basic_constraints: {ca: false}\n"
    "    crl_distribution_points:\n"
    "      - http://crl.demo.invalid/{issuer}.crl\n"
    "    aia:\n"
    "      ca_issuers:\n"
    "        - http://ca.demo.invalid/{issuer}.crt\n"
    "\n"
    "  # TLS client and S/MIME certificates for people.\n"
    "  - name: client\n"
    "    issuers: [client-ca]\n"
    "    validity: {default_days: 365, max_days: 730, backdate_seconds: 3600}\n"
    "    digest: sha256\n"
    "    key: {rsa_min_bits: 2048, curves: [P-256, P-384]}\n"
    "    subject: {allowed: [CN, O, emailAddress], required: [CN]}\n"
    "    san: {types: [email], max: 10}\n"
    "    # keyUsage follows the subject's key: an EC key gets "
    "digitalSignature only\n"
    "    key_usage: [digitalSignature, keyEncipherment]\n"
    "    ext_key_usage: [clientAuth, emailProtection]\n"
    "    basic_constraints: {ca: false}\n"
    "    crl_distribution_points:\n"
    "      - http://crl.demo.invalid/{issuer}.crl\n"
    "    aia:\n"
    "      ca_issuers:\n"
    "        - http://ca.demo.invalid/{issuer}.crt\n";

static void
client_body(FILE *f, const struct demo *d)
{
	fputs("# client.yaml of a throwaway demo environment (signerctl demo).\n"
	    "# config/examples/client.yaml shows every key.\n\n"
	    "# The line to signerd: the other end of the demo's pty pair.\n"
	    "signers:\n  - device: ", f);
	yaml_path(f, d, "tty-client");
	fprintf(f, "\n    baud: %d\n\n", DEMO_BAUD);
	fputs("# The issuing CAs' certificates, <issuer id>.pem (and root.pem).\n"
	    "ca_dir: ", f);
	yaml_path(f, d, "ca");
	fputs("\n\n# The request queue.\ndatabase:\n  backend: sqlite\n  path: ", f);
	yaml_path(f, d, "queue.db");
	fputs("\n\n# CRLs fetched from the signer are published here as "
	    "<issuer id>.crl.\ncrl:\n  dir: ", f);
	yaml_path(f, d, "crl");
	fputs("\n\nhealth:\n  json: ", f);
	yaml_path(f, d, "health.json");
	fputs("\n  prometheus: ", f);
	yaml_path(f, d, "signer.prom");
	fputs("\n\nlog:\n  level: info\n", f);
}

/* Load both files back: what the demo writes must be what the programs accept. */
static int
conf_check(const struct demo *d, char *why, size_t whylen)
{
	struct conf_signerd s;
	struct conf_client c;
	char path[PATH_MAX], err[CONF_ERR_MAX];
	int rc;

	if ((rc = demo_path(d, "signerd.yaml", path, why, whylen)) != 0)
		return rc;
	if (conf_load_signerd(path, &s, err) != 0) {
		err_why(why, whylen, "the demo's configuration does not load: "
		    "%s", err);
		return ERR_INTERNAL;
	}
	conf_signerd_free(&s);
	if ((rc = demo_path(d, "client.yaml", path, why, whylen)) != 0)
		return rc;
	if (conf_load_client(path, &c, err) != 0) {
		err_why(why, whylen, "the demo's configuration does not load: "
		    "%s", err);
		return ERR_INTERNAL;
	}
	conf_client_free(&c);
	return 0;
}

int
demo_conf_write(const struct demo *d, char *why, size_t whylen)
{
	struct text t;
	int rc;

	if ((rc = text_open(&t, why, whylen)) != 0)
		return rc;
	signerd_head(t.f, d);
	signerd_issuers(t.f, d);
	fputs(signerd_profiles, t.f);
	if ((rc = text_write(&t, d, "signerd.yaml", why, whylen)) != 0 ||
	    (rc = text_open(&t, why, whylen)) != 0)
		return rc;
	client_body(t.f, d);
	if ((rc = text_write(&t, d, "client.yaml", why, whylen)) != 0)
		return rc;
	return conf_check(d, why, whylen);
}
