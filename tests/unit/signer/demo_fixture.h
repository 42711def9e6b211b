/* SPDX-License-Identifier: GPL-3.0-or-later */
/* signer tests: a demo environment (SoftHSM2 token, CAs, configuration) in a temp dir, with the engine open on it. */
#ifndef TESTS_UNIT_SIGNER_DEMO_FIXTURE_H
#define TESTS_UNIT_SIGNER_DEMO_FIXTURE_H

/* Header-only (static functions): every tests/unit/<module>/test_*.c is built on its own. */

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "signer/signer.h"

#define DEMO_DIR_MAX 256

struct demo_fixture {
	char dir[DEMO_DIR_MAX];
	char conf_file[DEMO_DIR_MAX + 16];
	struct conf_signerd conf;
	struct signer *eng;
};

/* Run a shell command; its exit status, -1 when it did not exit. */
static int
demo_run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* A new demo environment named after tag, its configuration loaded and the engine open; 0 or -1. */
static int
demo_fixture_open(struct demo_fixture *f, const char *tag)
{
	char why[512];

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/signer-%s.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp", tag);
	if (mkdtemp(f->dir) == NULL || rmdir(f->dir) != 0)
		return -1;
	if (signer_demo_create(f->dir, why, sizeof(why)) != 0) {
		fprintf(stderr, "demo: %s\n", why);
		return -1;
	}
	snprintf(f->conf_file, sizeof(f->conf_file), "%s/signerd.yaml", f->dir);
	if (conf_load_signerd(f->conf_file, &f->conf, why) != 0 ||
	    signer_open(&f->conf, SIGNER_OPEN_CREATE, &f->eng, why,
	    sizeof(why)) != 0) {
		fprintf(stderr, "open: %s\n", why);
		return -1;
	}
	return 0;
}

/* Close the engine and remove the directory, unless KEEP_TMP is set; 0 or -1. */
static int
demo_fixture_close(struct demo_fixture *f)
{
	char cmd[DEMO_DIR_MAX + 16];

	signer_close(f->eng);
	f->eng = NULL;
	conf_signerd_free(&f->conf);
	if (getenv("KEEP_TMP") != NULL)
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	return demo_run(cmd) == 0 ? 0 : -1;
}

#endif /* TESTS_UNIT_SIGNER_DEMO_FIXTURE_H */
