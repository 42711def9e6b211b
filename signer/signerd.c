/* SPDX-License-Identifier: GPL-3.0-or-later */
/* signerd: the signer daemon; parses options, loads the configuration, opens the engine and serves the serial line. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/signer.h"
#include "sync/sync.h"

#define SIGNERD_CONF_DEFAULT "/etc/signer/signerd.yaml"
#define WHY_MAX 512

static void
usage(FILE *f)
{
	fprintf(f, "usage: signerd [-dn] [-c FILE] [-t DEVICE]\n"
	    "  -c FILE    configuration (default %s)\n"
	    "  -t DEVICE  serial device, overriding serial.device\n"
	    "  -d         stay in the foreground and log to stderr\n"
	    "  -n         check the configuration, token and repository, then exit\n",
	    SIGNERD_CONF_DEFAULT);
}

/* Open the engine, or explain why not (on stderr with -n, else in the log). */
static struct signer *
open_engine(const struct conf_signerd *conf, int check)
{
	struct signer *s = NULL;
	char why[WHY_MAX];
	int rc;

	if ((rc = signer_open(conf, 0, &s, why, sizeof(why))) != 0) {
		if (check)
			fprintf(stderr, "signerd: %s (%s)\n", why, err_str(rc));
		else
			log_error("%s (%s)", why, err_str(rc));
		return NULL;
	}
	return s;
}

int
main(int argc, char **argv)
{
	const char *conf_path = SIGNERD_CONF_DEFAULT, *device = NULL;
	struct conf_signerd conf;
	struct signer *s;
	char why[WHY_MAX];
	int ch, foreground = 0, check = 0, level, rc;

	while ((ch = getopt(argc, argv, "c:dnt:h")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'd':
			foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 't':
			device = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (conf_load_signerd(conf_path, &conf, why) != 0) {
		fprintf(stderr, "signerd: %s\n", why);
		return 1;
	}
	if ((level = log_level_parse(conf.log_level)) < 0)
		level = LOG_LEVEL_INFO;
	log_init("signerd", foreground || check, level);
	/* PKCS#11 does not survive fork(): detach before the token is opened. */
	if (!foreground && !check && daemon(0, 0) == -1)
		fatal("daemon");
	rc = 1;
	if (check && conf.sync_enabled &&
	    sync_check(&conf.sync, why, sizeof(why)) != 0) {
		fprintf(stderr, "signerd: sync: %s\n", why);
		conf_signerd_free(&conf);
		return 1;
	}
	if ((s = open_engine(&conf, check)) != NULL && check) {
		printf("configuration OK\n");
		rc = 0;
	} else if (s != NULL) {
		if ((rc = daemon_run(&conf, s, device)) != 0)
			log_error("%s", err_str(rc));
		else
			log_info("exiting");
		rc = rc != 0 ? 1 : 0;
	}
	signer_close(s);
	conf_signerd_free(&conf);
	return rc;
}
