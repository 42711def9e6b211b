/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of client.yaml: the example, defaults, value checks and the rules across keys. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "proto/proto.h"

/* Two lines; the database and more keys follow from line 3. */
#define CL_HEAD \
	"signers: [{device: /dev/ttyS0}]\n" \
	"ca_dir: /etc/ca\n"
#define CL_BASE CL_HEAD "database: {path: /var/q.db}\n"

struct err_case {
	const char *name;
	const char *yaml;
	const char *err;
};

static bool
all_zero(const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static int
parse(const char *yaml, struct conf_client *c, char *err)
{
	return conf_parse_client("t.yaml", (const uint8_t *)yaml, strlen(yaml),
	    c, err);
}

static void
run_cases(const struct err_case *t, size_t n)
{
	struct conf_client c;
	char err[CONF_ERR_MAX];
	size_t i, failed = 0;
	int rc;

	for (i = 0; i < n; i++) {
		rc = parse(t[i].yaml, &c, err);
		if (rc != ERR_CONFIG || strcmp(err, t[i].err) != 0) {
			print_error("case '%s': rc %d\n  got:  %s\n  want: %s\n",
			    t[i].name, rc, rc ? err : "(none)", t[i].err);
			failed++;
		}
		if (rc == 0)
			conf_client_free(&c);
		assert_true(all_zero(&c, sizeof(c)));
	}
	assert_int_equal(failed, 0);
}

#define RUN(cases) run_cases((cases), sizeof(cases) / sizeof((cases)[0]))

static void
test_example(void **state)
{
	struct conf_client c;
	char err[CONF_ERR_MAX];

	(void)state;
	if (conf_load_client("config/examples/client.yaml", &c, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.n_signers, 1);
	assert_string_equal(c.signers[0].device, "/dev/ttyUSB0");
	assert_int_equal(c.signers[0].baud, 115200);
	assert_false(c.signers[0].rtscts);
	assert_int_equal(c.max_frame, 65536);
	assert_int_equal(c.timeout_ms, 30000);
	assert_int_equal(c.retries, 5);
	assert_string_equal(c.ca_dir, "/etc/signer-client/ca");
	assert_string_equal(c.db_backend, "sqlite");
	assert_string_equal(c.db_path, "/var/lib/signer-client/queue.db");
	assert_null(c.db_conninfo);
	assert_string_equal(c.crl_dir, "/var/www/crl");
	assert_int_equal(c.crl_interval_s, 3600);
	assert_string_equal(c.health_json, "/var/lib/signer-client/health.json");
	assert_string_equal(c.health_prom, "/var/lib/node_exporter/signer.prom");
	assert_int_equal(c.health_interval_s, 60);
	assert_string_equal(c.log_level, "info");
	conf_client_free(&c);
	assert_true(all_zero(&c, sizeof(c)));
}

static void
test_defaults(void **state)
{
	struct conf_client c;
	char err[CONF_ERR_MAX];

	(void)state;
	assert_int_equal(parse(CL_BASE, &c, err), 0);
	assert_int_equal(c.n_signers, 1);
	assert_int_equal(c.signers[0].baud, 115200);
	assert_false(c.signers[0].rtscts);
	assert_null(c.signers[1].device);
	assert_int_equal(c.max_frame, FRAME_MAX_DEFAULT);
	assert_int_equal(c.timeout_ms, 30000);
	assert_int_equal(c.retries, 5);
	assert_string_equal(c.db_backend, "sqlite");
	assert_null(c.db_conninfo);
	assert_null(c.crl_dir);
	assert_int_equal(c.crl_interval_s, 3600);
	assert_null(c.health_json);
	assert_null(c.health_prom);
	assert_int_equal(c.health_interval_s, 60);
	assert_string_equal(c.log_level, "info");
	conf_client_free(&c);
}

static void
test_values(void **state)
{
	struct conf_client c;
	char err[CONF_ERR_MAX];
	const char *yaml =
	    "signers:\n"
	    "  - {device: /dev/ttyUSB0, baud: 9600, flow_control: rtscts}\n"
	    "  - {device: /dev/ttyUSB1, baud: 4000000}\n"
	    "max_frame: 16777216\ntimeout_ms: 100\nretries: 100\nca_dir: /ca\n"
	    "database: {backend: postgresql, conninfo: \"host=/run/postgresql dbname=signer\"}\n"
	    "crl: {dir: /srv/crl, interval_seconds: 60}\n"
	    "health: {json: /h.json, interval_seconds: 3600}\n"
	    "log: {level: error}\n";

	(void)state;
	if (parse(yaml, &c, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.n_signers, 2);
	assert_true(c.signers[0].rtscts);
	assert_int_equal(c.signers[0].baud, 9600);
	assert_string_equal(c.signers[1].device, "/dev/ttyUSB1");
	assert_false(c.signers[1].rtscts);
	assert_int_equal(c.signers[1].baud, 4000000);
	assert_int_equal(c.max_frame, FRAME_MAX_LIMIT);
	assert_int_equal(c.timeout_ms, 100);
	assert_int_equal(c.retries, 100);
	assert_string_equal(c.db_backend, "postgresql");
	assert_string_equal(c.db_conninfo, "host=/run/postgresql dbname=signer");
	assert_null(c.db_path);
	assert_string_equal(c.crl_dir, "/srv/crl");
	assert_int_equal(c.crl_interval_s, 60);
	assert_string_equal(c.health_json, "/h.json");
	assert_null(c.health_prom);
	assert_int_equal(c.health_interval_s, 3600);
	assert_string_equal(c.log_level, "error");
	conf_client_free(&c);
}

static void
test_errors(void **state)
{
	static const struct err_case cases[] = {
		{ "no signers", "ca_dir: /ca\n", "t.yaml:1:1: missing required key 'signers'" },
		{ "three signers",
		  "signers:\n  - device: /dev/a\n  - device: /dev/b\n  - device: /dev/c\n",
		  "t.yaml:4:5: 'signers' has more than 2 entries" },
		{ "same device",
		  "signers:\n  - device: /dev/a\n  - device: /dev/a\nca_dir: /ca\n"
		  "database: {path: /q.db}\n",
		  "t.yaml:3:13: signers 0 and 1 use the same device '/dev/a'" },
		{ "unknown signer key", "signers: [{device: /dev/a, speed: 9600}]\n",
		  "t.yaml:1:28: unknown key 'speed'" },
		{ "max_frame low", CL_BASE "max_frame: 255\n",
		  "t.yaml:4:12: 'max_frame' must be 256..16777216, got 255" },
		{ "max_frame high", CL_BASE "max_frame: 16777217\n",
		  "t.yaml:4:12: 'max_frame' must be 256..16777216, got 16777217" },
		{ "timeout high", CL_BASE "timeout_ms: 600001\n",
		  "t.yaml:4:13: 'timeout_ms' must be 100..600000, got 600001" },
		{ "relative ca_dir", "signers: [{device: /dev/a}]\nca_dir: ca\n",
		  "t.yaml:2:9: 'ca_dir' must be an absolute path, got 'ca'" },
		{ "backend", CL_HEAD "database: {backend: mysql}\n",
		  "t.yaml:3:21: 'backend' must be one of sqlite, postgresql, got 'mysql'" },
		{ "backend suggestion", CL_HEAD "database: {backend: postgres}\n",
		  "t.yaml:3:21: 'backend' must be one of sqlite, postgresql, got 'postgres' (did you mean 'postgresql'?)" },
		{ "sqlite without path", CL_HEAD "database: {backend: sqlite}\n",
		  "t.yaml:3:11: backend sqlite needs 'path' in 'database'" },
		{ "no database at all", CL_HEAD,
		  "t.yaml:1:1: backend sqlite needs 'path' in 'database'" },
		{ "sqlite with conninfo", CL_HEAD "database: {path: /q.db, conninfo: dbname=x}\n",
		  "t.yaml:3:35: 'conninfo' is only for backend postgresql" },
		{ "postgresql without conninfo", CL_HEAD "database:\n  backend: postgresql\n",
		  "t.yaml:4:3: backend postgresql needs 'conninfo' in 'database'" },
		{ "postgresql with path",
		  CL_HEAD "database: {backend: postgresql, conninfo: dbname=x, path: /q.db}\n",
		  "t.yaml:3:59: 'path' is only for backend sqlite" },
		{ "relative sqlite path", CL_HEAD "database: {path: q.db}\n",
		  "t.yaml:3:18: 'path' must be an absolute path, got 'q.db'" },
		{ "crl interval", CL_BASE "crl: {interval_seconds: 59}\n",
		  "t.yaml:4:25: 'interval_seconds' must be 60..86400, got 59" },
		{ "health interval", CL_BASE "health: {interval_seconds: 0}\n",
		  "t.yaml:4:28: 'interval_seconds' must be 1..3600, got 0" },
		{ "health same file", CL_BASE "health: {json: /h, prometheus: /h}\n",
		  "t.yaml:4:32: 'json' and 'prometheus' name the same file in 'health'" },
		{ "log level", CL_BASE "log: {level: trace}\n",
		  "t.yaml:4:14: 'level' must be one of debug, info, warning, error, got 'trace'" },
	};

	(void)state;
	RUN(cases);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
