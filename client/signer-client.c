/* SPDX-License-Identifier: GPL-3.0-or-later */
/* signer-client: one-shot requests from the web host to signerd over the serial line. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "config/config.h"
#include "proto/proto.h"

#define CLIENT_CONF_DEFAULT "/etc/signer/client.yaml"
#define EXIT_USAGE 2

struct command {
	const char *name;
	int (*fn)(struct client_ctx *ctx, int argc, char **argv);
	const char *usage;
	const char *help;
};

static const struct command commands[] = {
	{ "health", client_cmd_health, "health [--write]",
	  "the signer's health; exit 0 ok, 1 degraded, 2 failed, 3 unreachable" },
	{ "sign", client_cmd_sign, "sign --profile P --csr FILE [--subject DN] "
	  "[--san type:value]... [--days N] [--ref REF] [--out FILE]",
	  "issue a certificate for a CSR (PEM or DER)" },
	{ "revoke", client_cmd_revoke, "revoke --issuer ID --serial HEX "
	  "[--reason R] [--ref REF]", "revoke a certificate" },
	{ "crl", client_cmd_crl, "crl --issuer ID --out FILE [--delta FILE]",
	  "fetch an issuer's current CRL (DER), and its delta CRL" },
	{ "ca", client_cmd_ca, "ca --out DIR",
	  "fetch every issuer's certificate as DIR/<id>.pem" },
	{ "cert", client_cmd_cert, "cert --issuer ID --serial HEX",
	  "a certificate's status and PEM" },
	{ "publish", client_cmd_publish, "publish",
	  "every issuer's CA certificate, CRL and delta CRL into crl.dir" },
	{ "run", client_cmd_run, "run",
	  "relay the request queue to the signer; CRLs and health on a schedule" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: signer-client [-c FILE] [-t DEVICE] [--json] "
	    "COMMAND [ARGS]\n"
	    "  -c FILE    client configuration (default %s)\n"
	    "  -t DEVICE  use this serial device instead of the configured ones\n"
	    "  --json     print results as JSON\ncommands:\n",
	    CLIENT_CONF_DEFAULT);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n        %s\n", commands[i].usage,
		    commands[i].help);
}

/* -t: a single signer on device, with the first signer's line settings. */
static int
use_device(struct conf_client *c, const char *device)
{
	char *d;
	size_t i;

	if ((d = strdup(device)) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < c->n_signers; i++) {
		free(c->signers[i].device);
		c->signers[i].device = NULL;
	}
	c->signers[0].device = d;
	c->n_signers = 1;
	return 0;
}

static int
run(const char *conf_path, const char *device, bool json, int argc,
    char **argv)
{
	struct conf_client conf;
	struct client_ctx ctx = { .conf = &conf, .json = json };
	char err[CONF_ERR_MAX];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, "signer-client: unknown command '%s'\n", argv[0]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (conf_load_client(conf_path, &conf, err) != 0) {
		fprintf(stderr, "signer-client: %s\n", err);
		/* health reports an unusable client as unreachable. */
		return commands[i].fn == client_cmd_health ? 3 : 1;
	}
	if (device != NULL && use_device(&conf, device) != 0) {
		conf_client_free(&conf);
		fprintf(stderr, "signer-client: out of memory\n");
		return 1;
	}
	rc = commands[i].fn(&ctx, argc, argv);
	link_free(ctx.link);
	conf_client_free(&conf);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf_path = CLIENT_CONF_DEFAULT, *device = NULL;
	bool json = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "+c:t:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 't':
			device = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return run(conf_path, device, json, argc, argv);
}
