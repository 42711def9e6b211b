/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: signerd.yaml and client.yaml loaders, checking their promises on every input. */

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static int
all_zero(const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/* A failed load leaves a cleared struct and a message that names the file. */
static void
check_failure(int rc, const void *c, size_t len, const char *err)
{
	check(rc == ERR_CONFIG || rc == ERR_NOMEM);
	check(all_zero(c, len));
	check(memchr(err, '\0', CONF_ERR_MAX) != NULL);
	check(strncmp(err, "f.yaml:", 7) == 0);
}

static void
check_signerd(const struct conf_signerd *c)
{
	size_t i, j;

	check(c->node >= 1 && c->node <= CONF_NODE_MAX);
	check(c->max_frame >= FRAME_MAX_MIN && c->max_frame <= FRAME_MAX_LIMIT);
	check(c->serial.device != NULL && c->serial.device[0] == '/');
	check((c->hsm_pin_file == NULL) != (c->hsm_pin_env == NULL));
	check(c->n_issuers >= 1 && c->n_issuers <= CONF_ISSUERS_MAX);
	check(c->n_profiles >= 1 && c->n_profiles <= CONF_PROFILES_MAX);
	for (i = 0; i < c->n_issuers; i++) {
		check(conf_issuer_find(c, c->issuers[i].id) == &c->issuers[i]);
		check(c->issuers[i].key_id != NULL);
	}
	for (i = 0; i < c->n_profiles; i++) {
		const struct conf_profile *p = &c->profiles[i];

		check(conf_profile_find(c, p->name) == p);
		check(p->max_days >= p->default_days);
		check(p->key_usage.n >= 1 && p->key_usage.n <= CONF_LIST_MAX);
		for (j = 0; j < p->issuers.n; j++)
			check(conf_issuer_find(c, p->issuers.v[j]) != NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_signerd sd;
	struct conf_client cl;
	char err[CONF_ERR_MAX];
	int rc;

	rc = conf_parse_signerd("f.yaml", data, size, &sd, err);
	if (rc == 0)
		check_signerd(&sd);
	else
		check_failure(rc, &sd, sizeof(sd), err);
	conf_signerd_free(&sd);
	check(all_zero(&sd, sizeof(sd)));

	rc = conf_parse_client("f.yaml", data, size, &cl, err);
	if (rc == 0) {
		check(cl.n_signers >= 1 && cl.n_signers <= CONF_SIGNERS_MAX);
		check(cl.ca_dir != NULL && cl.db_backend != NULL);
		check((cl.db_path == NULL) != (cl.db_conninfo == NULL));
	} else
		check_failure(rc, &cl, sizeof(cl), err);
	conf_client_free(&cl);
	return 0;
}
