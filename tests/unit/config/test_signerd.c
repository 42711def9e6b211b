/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of signerd.yaml: the example, defaults, value checks and every rule across keys. */

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

/* Lines 2-4. */
#define SD_TOP_REST \
	"serial: {device: /dev/ttyS0}\n" \
	"repository: {path: /var/lib/signer}\n" \
	"hsm: {module: /usr/lib/p11.so, token: t, pin_file: /etc/pin}\n"
/* Lines 1-4. */
#define SD_TOP "node: 1\n" SD_TOP_REST
/* Lines 5-6. */
#define SD_ISSUERS \
	"issuers:\n" \
	"  - {id: a, cert: /a.pem, key_id: \"01\"}\n"
/* Five lines; more profile keys may follow. */
#define SD_PROFILE \
	"profiles:\n" \
	"  - name: p\n" \
	"    issuers: [a]\n" \
	"    validity: {default_days: 1, max_days: 2}\n" \
	"    key_usage: [digitalSignature]\n"
/* Eleven lines; profile keys append at line 12, column 5. */
#define SD_BASE SD_TOP SD_ISSUERS SD_PROFILE

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
parse(const char *yaml, struct conf_signerd *c, char *err)
{
	return conf_parse_signerd("t.yaml", (const uint8_t *)yaml, strlen(yaml),
	    c, err);
}

static void
run_cases(const struct err_case *t, size_t n)
{
	struct conf_signerd c;
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
			conf_signerd_free(&c);
		assert_true(all_zero(&c, sizeof(c)));
	}
	assert_int_equal(failed, 0);
}

/* Each of these must load. */
static void
run_ok(const char *const *t, size_t n)
{
	struct conf_signerd c;
	char err[CONF_ERR_MAX];
	size_t i;

	for (i = 0; i < n; i++) {
		if (parse(t[i], &c, err) != 0)
			fail_msg("case %zu: %s", i, err);
		conf_signerd_free(&c);
	}
}

#define RUN(cases) run_cases((cases), sizeof(cases) / sizeof((cases)[0]))
#define RUN_OK(cases) run_ok((cases), sizeof(cases) / sizeof((cases)[0]))

static void
test_example(void **state)
{
	struct conf_signerd c;
	const struct conf_profile *p;
	const struct conf_issuer *is;
	char err[CONF_ERR_MAX];

	(void)state;
	if (conf_load_signerd("config/examples/signerd.yaml", &c, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.node, 1);
	assert_string_equal(c.serial.device, "/dev/ttyS0");
	assert_int_equal(c.serial.baud, 115200);
	assert_false(c.serial.rtscts);
	assert_int_equal(c.max_frame, 65536);
	assert_int_equal(c.queue, 256);
	assert_string_equal(c.repo_path, "/var/lib/signer");
	assert_int_equal(c.repo_map_mb, 4096);
	assert_string_equal(c.hsm_module, "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(c.hsm_token, "signer");
	assert_string_equal(c.hsm_pin_file, "/etc/signer/pin");
	assert_null(c.hsm_pin_env);
	assert_string_equal(c.log_level, "info");
	assert_int_equal(c.ca_warn_days, 30);
	assert_int_equal(c.n_issuers, 2);
	assert_int_equal(c.n_profiles, 2);

	is = conf_issuer_find(&c, "server-2026");
	assert_ptr_equal(is, &c.issuers[0]);
	assert_string_equal(is->key_id, "01");
	assert_int_equal(is->crl.lifetime_days, 7);
	assert_int_equal(is->crl.refresh_percent, 50);
	assert_int_equal(is->crl.grace_days, 7);
	assert_true(is->crl.grace_set);
	is = conf_issuer_find(&c, "client-2026");
	assert_string_equal(is->key_id, "02");
	assert_false(is->crl.grace_set);
	assert_null(conf_issuer_find(&c, "server-2027"));
	assert_null(conf_issuer_find(&c, NULL));

	p = conf_profile_find(&c, "server");
	assert_ptr_equal(p, &c.profiles[0]);
	assert_int_equal(p->default_days, 365);
	assert_int_equal(p->max_days, 397);
	assert_int_equal(p->san_types.n, 2);
	assert_string_equal(p->san_types.v[1], "ip");
	assert_true(p->cn_in_san);
	assert_string_equal(p->crl_dp.v[0], "http://crl.example.org/server-2026.crl");
	assert_string_equal(p->aia_ca_issuers.v[0], "http://ca.example.org/server-2026.crt");
	assert_int_equal(p->aia_ocsp.n, 0);
	assert_string_equal(p->policies.v[0], "2.23.140.1.2.1");
	assert_int_equal(p->path_len, -1);
	p = conf_profile_find(&c, "client");
	assert_string_equal(p->ext_key_usage.v[0], "clientAuth");
	assert_null(conf_profile_find(&c, "nope"));
	conf_signerd_free(&c);
	assert_true(all_zero(&c, sizeof(c)));
	assert_null(conf_profile_find(&c, "server"));
}

static void
test_defaults(void **state)
{
	struct conf_signerd c;
	const struct conf_profile *p;
	char err[CONF_ERR_MAX];

	(void)state;
	assert_int_equal(parse(SD_BASE, &c, err), 0);
	assert_int_equal(c.serial.baud, 115200);
	assert_false(c.serial.rtscts);
	assert_int_equal(c.max_frame, FRAME_MAX_DEFAULT);
	assert_int_equal(c.queue, 256);
	assert_int_equal(c.repo_map_mb, 4096);
	assert_null(c.hsm_pin_env);
	assert_string_equal(c.log_level, "info");
	assert_int_equal(c.ca_warn_days, 30);
	assert_int_equal(c.issuers[0].crl.lifetime_days, 7);
	assert_int_equal(c.issuers[0].crl.refresh_percent, 50);
	assert_int_equal(c.issuers[0].crl.grace_days, 7);
	assert_false(c.issuers[0].crl.grace_set);
	p = &c.profiles[0];
	assert_int_equal(p->backdate_seconds, 3600);
	assert_string_equal(p->digest, "sha256");
	assert_int_equal(p->rsa_min_bits, 2048);
	assert_int_equal(p->curves.n, 2);
	assert_string_equal(p->curves.v[0], "P-256");
	assert_string_equal(p->curves.v[1], "P-384");
	assert_int_equal(p->subject_allowed.n, 1);
	assert_string_equal(p->subject_allowed.v[0], "CN");
	assert_int_equal(p->subject_required.n, 0);
	assert_false(p->subject_from_csr);
	assert_int_equal(p->san_types.n, 0);
	assert_int_equal(p->san_max, 100);
	assert_false(p->cn_in_san);
	assert_int_equal(p->ext_key_usage.n, 0);
	assert_false(p->ca);
	assert_int_equal(p->path_len, -1);
	assert_int_equal(p->crl_dp.n, 0);
	assert_int_equal(p->aia_ca_issuers.n, 0);
	assert_int_equal(p->aia_ocsp.n, 0);
	assert_int_equal(p->policies.n, 0);
	conf_signerd_free(&c);
}

static void
test_values(void **state)
{
	struct conf_signerd c;
	char err[CONF_ERR_MAX];
	const char *yaml = SD_TOP
	    "log: {level: debug}\nhealth: {ca_warn_days: 0}\n"
	    "issuers:\n"
	    "  - {id: a, cert: /a.pem, key_id: \"0a0b\", crl: {lifetime_days: 10, grace_days: 0}}\n"
	    SD_PROFILE
	    "    curves: []\n"
	    "    key: {rsa_min_bits: 3072, curves: [P-384]}\n";

	(void)state;
	/* "curves" is not a profile key: it lives under "key" */
	assert_int_equal(parse(yaml, &c, err), ERR_CONFIG);
	assert_string_equal(err, "t.yaml:14:5: unknown key 'curves'");
	yaml = SD_TOP
	    "log: {level: debug}\nhealth: {ca_warn_days: 0}\n"
	    "issuers:\n"
	    "  - {id: a, cert: /a.pem, key_id: \"0a0b\", crl: {lifetime_days: 10, grace_days: 0}}\n"
	    SD_PROFILE
	    "    key: {rsa_min_bits: 3072, curves: []}\n"
	    "    key_usage: [digitalSignature]\n";
	assert_int_equal(parse(yaml, &c, err), ERR_CONFIG);
	assert_string_equal(err, "t.yaml:15:5: duplicate key 'key_usage' (first at 13:5)");
	yaml = SD_TOP
	    "log: {level: debug}\nhealth: {ca_warn_days: 0}\n"
	    "issuers:\n"
	    "  - {id: a, cert: /a.pem, key_id: \"0a0b\", crl: {lifetime_days: 10, grace_days: 0}}\n"
	    "profiles:\n"
	    "  - name: p\n"
	    "    issuers: [a]\n"
	    "    validity: {default_days: 1, max_days: 2, backdate_seconds: 0}\n"
	    "    key_usage: [contentCommitment, keyCertSign, cRLSign]\n"
	    "    basic_constraints: {ca: true, path_len: 0}\n"
	    "    key: {rsa_min_bits: 3072, curves: []}\n"
	    "    digest: sha512\n";
	if (parse(yaml, &c, err) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.log_level, "debug");
	assert_int_equal(c.ca_warn_days, 0);
	assert_string_equal(c.issuers[0].key_id, "0a0b");
	assert_int_equal(c.issuers[0].crl.lifetime_days, 10);
	assert_int_equal(c.issuers[0].crl.grace_days, 0);
	assert_true(c.issuers[0].crl.grace_set);
	assert_int_equal(c.profiles[0].backdate_seconds, 0);
	/* contentCommitment is stored under its older name */
	assert_string_equal(c.profiles[0].key_usage.v[0], "nonRepudiation");
	assert_true(c.profiles[0].ca);
	assert_int_equal(c.profiles[0].path_len, 0);
	assert_int_equal(c.profiles[0].rsa_min_bits, 3072);
	assert_int_equal(c.profiles[0].curves.n, 0);
	assert_string_equal(c.profiles[0].digest, "sha512");
	conf_signerd_free(&c);
}

static void
test_top_level_values(void **state)
{
	static const struct err_case cases[] = {
		{ "node 0", "node: 0\n", "t.yaml:1:7: 'node' must be 1..127, got 0" },
		{ "node 128", "node: 128\n", "t.yaml:1:7: 'node' must be 1..127, got 128" },
		{ "node 200", "node: 200\n", "t.yaml:1:7: 'node' must be 1..127, got 200" },
		{ "max_frame low", "node: 1\nserial: {device: /dev/a, max_frame: 255}\n",
		  "t.yaml:2:37: 'max_frame' must be 256..16777216, got 255" },
		{ "max_frame high", "node: 1\nserial: {device: /dev/a, max_frame: 16777217}\n",
		  "t.yaml:2:37: 'max_frame' must be 256..16777216, got 16777217" },
		{ "queue 0", "node: 1\nserial: {device: /dev/a, queue: 0}\n",
		  "t.yaml:2:33: 'queue' must be 1..65536, got 0" },
		{ "baud 4000001", "node: 1\nserial: {device: /dev/a, baud: 4000001}\n",
		  "t.yaml:2:32: 'baud' must be a termios rate (9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000), got 4000001" },
		{ "baud 4800", "node: 1\nserial: {device: /dev/a, baud: 4800}\n",
		  "t.yaml:2:32: 'baud' must be a termios rate (9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000), got 4800" },
		{ "flow control", "node: 1\nserial: {device: /dev/a, flow_control: xonxoff}\n",
		  "t.yaml:2:40: 'flow_control' must be one of none, rtscts, got 'xonxoff'" },
		{ "map size", "node: 1\nserial: {device: /dev/a}\nrepository: {path: /r, map_size_mb: 15}\n",
		  "t.yaml:3:37: 'map_size_mb' must be 16..1048576, got 15" },
		{ "relative repository", "node: 1\nserial: {device: /dev/a}\nrepository: {path: var/lib}\n",
		  "t.yaml:3:20: 'path' must be an absolute path, got 'var/lib'" },
		{ "relative module", "node: 1\nserial: {device: /dev/a}\nrepository: {path: /r}\n"
		  "hsm: {module: libsofthsm2.so}\n",
		  "t.yaml:4:15: 'module' must be an absolute path, got 'libsofthsm2.so'" },
		{ "token label length", "node: 1\nserial: {device: /dev/a}\nrepository: {path: /r}\n"
		  "hsm: {module: /m.so, token: abcdefghijklmnopqrstuvwxyz0123456}\n",
		  "t.yaml:4:29: 'token' must be at most 32 bytes (a PKCS#11 token label), got 'abcdefghijklmnopqrstuvwxyz0123456'" },
		{ "pin env name", "node: 1\nserial: {device: /dev/a}\nrepository: {path: /r}\n"
		  "hsm: {module: /m.so, token: t, pin_env: 1PIN}\n",
		  "t.yaml:4:41: 'pin_env' must be an environment variable name (A-Z a-z 0-9 _, not starting with a digit), got '1PIN'" },
		{ "pin env dash", "node: 1\nserial: {device: /dev/a}\nrepository: {path: /r}\n"
		  "hsm: {module: /m.so, token: t, pin_env: MY-PIN}\n",
		  "t.yaml:4:41: 'pin_env' must be an environment variable name (A-Z a-z 0-9 _, not starting with a digit), got 'MY-PIN'" },
		{ "warn days", SD_TOP "health: {ca_warn_days: 3651}\n",
		  "t.yaml:5:24: 'ca_warn_days' must be 0..3650, got 3651" },
		{ "log level", SD_TOP "log: {level: verbose}\n",
		  "t.yaml:5:14: 'level' must be one of debug, info, warning, error, got 'verbose'" },
		{ "no issuers", SD_TOP "issuers: []\n",
		  "t.yaml:5:10: 'issuers' must have at least 1 entry" },
		{ "no profiles", SD_TOP SD_ISSUERS "profiles: []\n",
		  "t.yaml:7:11: 'profiles' must have at least 1 entry" },
		{ "missing profiles", SD_TOP SD_ISSUERS,
		  "t.yaml:1:1: missing required key 'profiles'" },
		{ "missing hsm", "node: 1\nserial: {device: /dev/a}\nrepository: {path: /r}\n",
		  "t.yaml:1:1: missing required key 'hsm'" },
		{ "missing token", "node: 1\nserial: {device: /dev/a}\nrepository: {path: /r}\n"
		  "hsm: {module: /m.so, pin_env: P}\n",
		  "t.yaml:4:6: missing required key 'token' in 'hsm'" },
	};
	static const char *const ok[] = {
		"node: 127\nserial: {device: /dev/a, baud: 9600, flow_control: rtscts, "
		"max_frame: 256, queue: 65536}\n" "repository: {path: /r, map_size_mb: 1048576}\n"
		"hsm: {module: /m.so, token: abcdefghijklmnopqrstuvwxyz012345, pin_env: _PIN_1}\n"
		SD_ISSUERS SD_PROFILE,
		"node: 2\nserial: {device: /dev/a, baud: 4000000, max_frame: 16777216}\n"
		"repository: {path: /r, map_size_mb: 16}\n"
		"hsm: {module: /m.so, token: t, pin_file: /p}\n"
		"health: {ca_warn_days: 3650}\n" SD_ISSUERS SD_PROFILE,
	};

	(void)state;
	RUN(cases);
	RUN_OK(ok);
}

static void
test_issuers(void **state)
{
	static const struct err_case cases[] = {
		{ "key_label is not a key",
		  SD_TOP "issuers:\n  - {id: a, cert: /a.pem, key_id: \"01\", key_label: k}\n" SD_PROFILE,
		  "t.yaml:6:41: unknown key 'key_label'" },
		{ "no key_id",
		  SD_TOP "issuers:\n  - {id: a, cert: /a.pem}\n" SD_PROFILE,
		  "t.yaml:6:5: missing required key 'key_id' in 'issuers[0]'" },
		{ "key_id odd", SD_TOP "issuers:\n  - {id: a, cert: /a.pem, key_id: \"012\"}\n",
		  "t.yaml:6:35: 'key_id' must be an even number of hex digits (1..64 bytes), got \"012\"" },
		{ "key_id not hex", SD_TOP "issuers:\n  - {id: a, cert: /a.pem, key_id: 0g}\n",
		  "t.yaml:6:35: 'key_id' must be an even number of hex digits (1..64 bytes), got '0g'" },
		{ "key_id 65 bytes", SD_TOP "issuers:\n  - {id: a, cert: /a.pem, key_id: "
		  "0102030405060708091011121314151617181920212223242526272829303132"
		  "0102030405060708091011121314151617181920212223242526272829303132"
		  "01}\n",
		  "t.yaml:6:35: 'key_id' must be an even number of hex digits (1..64 bytes), got "
		  "'0102030405060708091011121314151617181920212223242526272829303132...'" },
		{ "id charset", SD_TOP "issuers:\n  - {id: a/b, cert: /a.pem, key_id: \"01\"}\n",
		  "t.yaml:6:10: 'id' must be 1..64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit, got 'a/b'" },
		{ "id leading dot", SD_TOP "issuers:\n  - {id: .a, cert: /a.pem, key_id: \"01\"}\n",
		  "t.yaml:6:10: 'id' must be 1..64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit, got '.a'" },
		{ "id 65 characters", SD_TOP "issuers:\n  - {id: "
		  "a0123456789012345678901234567890123456789012345678901234567890123"
		  ", cert: /a.pem, key_id: \"01\"}\n",
		  "t.yaml:6:10: 'id' must be 1..64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit, got "
		  "'a012345678901234567890123456789012345678901234567890123456789012...'" },
		{ "duplicate id",
		  SD_TOP "issuers:\n  - {id: a, cert: /a.pem, key_id: \"01\"}\n"
		  "  - {id: a, cert: /b.pem, key_id: \"02\"}\n" SD_PROFILE,
		  "t.yaml:7:10: duplicate issuer id 'a' (first at 6:10)" },
		{ "same certificate",
		  SD_TOP "issuers:\n  - {id: a, cert: /a.pem, key_id: \"01\"}\n"
		  "  - {id: b, cert: /a.pem, key_id: \"02\"}\n" SD_PROFILE,
		  "t.yaml:7:19: issuers 'a' and 'b' have the same 'cert'" },
		{ "missing cert", SD_TOP "issuers:\n  - id: a\n    key_id: \"01\"\n",
		  "t.yaml:6:5: missing required key 'cert' in 'issuers[0]'" },
		{ "crl lifetime 0", SD_TOP "issuers:\n  - {id: a, cert: /a.pem, key_id: \"01\", crl: {lifetime_days: 0}}\n",
		  "t.yaml:6:62: 'lifetime_days' must be 1..10, got 0" },
		{ "crl lifetime 11", SD_TOP "issuers:\n  - {id: a, cert: /a.pem, key_id: \"01\", crl: {lifetime_days: 11}}\n",
		  "t.yaml:6:62: 'lifetime_days' must be 1..10, got 11" },
		{ "crl refresh 100", SD_TOP "issuers:\n  - {id: a, cert: /a.pem, key_id: \"01\", crl: {refresh_percent: 100}}\n",
		  "t.yaml:6:64: 'refresh_percent' must be 1..99, got 100" },
		{ "crl refresh 0", SD_TOP "issuers:\n  - {id: a, cert: /a.pem, key_id: \"01\", crl: {refresh_percent: 0}}\n",
		  "t.yaml:6:64: 'refresh_percent' must be 1..99, got 0" },
		{ "crl grace 366", SD_TOP "issuers:\n  - {id: a, cert: /a.pem, key_id: \"01\", crl: {grace_days: 366}}\n",
		  "t.yaml:6:59: 'grace_days' must be 0..365, got 366" },
	};
	struct conf_signerd c;
	char err[CONF_ERR_MAX];
	const char *ok = SD_TOP "issuers:\n"
	    "  - {id: A-1.b_2, cert: /a.pem, key_id: aBcD"
	    "0102030405060708091011121314151617181920212223242526272829303132"
	    "010203040506070809101112131415161718192021222324252627282930}\n"
	    "  - {id: a, cert: /b.pem, key_id: \"0b\", crl: {lifetime_days: 3}}\n"
	    SD_PROFILE;

	(void)state;
	RUN(cases);
	if (parse(ok, &c, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(strlen(c.issuers[0].key_id), 128);
	/* grace_days follows lifetime_days unless given */
	assert_int_equal(c.issuers[1].crl.grace_days, 3);
	assert_false(c.issuers[1].crl.grace_set);
	assert_ptr_equal(conf_issuer_find(&c, "a"), &c.issuers[1]);
	assert_ptr_equal(conf_issuer_find(&c, "A-1.b_2"), &c.issuers[0]);
	conf_signerd_free(&c);
}

static void
test_hsm_pin(void **state)
{
	static const struct err_case cases[] = {
		{ "both", "node: 1\nserial: {device: /dev/a}\nrepository: {path: /r}\n"
		  "hsm: {module: /m.so, token: t, pin_file: /p, pin_env: P}\n" SD_ISSUERS SD_PROFILE,
		  "t.yaml:4:55: 'pin_file' and 'pin_env' exclude each other in 'hsm'" },
		{ "neither", "node: 1\nserial: {device: /dev/a}\nrepository: {path: /r}\n"
		  "hsm:\n  module: /m.so\n  token: t\n" SD_ISSUERS SD_PROFILE,
		  "t.yaml:5:3: one of 'pin_file' and 'pin_env' is required in 'hsm'" },
		{ "relative pin file", "node: 1\nserial: {device: /dev/a}\nrepository: {path: /r}\n"
		  "hsm: {module: /m.so, token: t, pin_file: pin}\n",
		  "t.yaml:4:42: 'pin_file' must be an absolute path, got 'pin'" },
	};

	(void)state;
	RUN(cases);
}

static void
test_profile_values(void **state)
{
	static const struct err_case cases[] = {
		{ "digest", SD_BASE "    digest: md5\n",
		  "t.yaml:12:13: 'digest' must be one of sha256, sha384, sha512, got 'md5'" },
		{ "digest suggestion", SD_BASE "    digest: SHA-256\n",
		  "t.yaml:12:13: 'digest' must be one of sha256, sha384, sha512, got 'SHA-256' (did you mean 'sha256'?)" },
		{ "curve", SD_BASE "    key: {curves: [P-521]}\n",
		  "t.yaml:12:20: 'curves' entries must be one of P-256, P-384, got 'P-521' (did you mean 'P-256'?)" },
		{ "curve suggestion", SD_BASE "    key: {curves: [p-256]}\n",
		  "t.yaml:12:20: 'curves' entries must be one of P-256, P-384, got 'p-256' (did you mean 'P-256'?)" },
		{ "duplicate curve", SD_BASE "    key: {curves: [P-256, P-256]}\n",
		  "t.yaml:12:27: duplicate entry 'P-256' in 'curves'" },
		{ "rsa bits low", SD_BASE "    key: {rsa_min_bits: 1024}\n",
		  "t.yaml:12:25: 'rsa_min_bits' must be 2048..16384, got 1024" },
		{ "rsa bits high", SD_BASE "    key: {rsa_min_bits: 16385}\n",
		  "t.yaml:12:25: 'rsa_min_bits' must be 2048..16384, got 16385" },
		{ "san type", SD_BASE "    san: {types: [dns, rid]}\n",
		  "t.yaml:12:24: 'types' entries must be one of dns, email, ip, uri, got 'rid'" },
		{ "san max", SD_BASE "    san: {max: 1001}\n",
		  "t.yaml:12:16: 'max' must be 0..1000, got 1001" },
		{ "subject attribute", SD_BASE "    subject: {allowed: [CN, UID]}\n",
		  "t.yaml:12:29: 'allowed' entries must be one of CN, C, ST, L, O, OU, emailAddress, serialNumber, GN, SN, title, DC, street, postalCode, got 'UID'" },
		{ "subject attribute case", SD_BASE "    subject: {allowed: [cn]}\n",
		  "t.yaml:12:25: 'allowed' entries must be one of CN, C, ST, L, O, OU, emailAddress, serialNumber, GN, SN, title, DC, street, postalCode, got 'cn' (did you mean 'CN'?)" },
		{ "key usage", SD_BASE "    key_usage: [digitalSignature]\n",
		  "t.yaml:12:5: duplicate key 'key_usage' (first at 11:5)" },
		{ "key usage name",
		  SD_TOP SD_ISSUERS "profiles:\n  - name: p\n    issuers: [a]\n"
		  "    validity: {default_days: 1, max_days: 2}\n    key_usage: [digitalSignatur]\n",
		  "t.yaml:11:17: 'key_usage' entries must be one of digitalSignature, nonRepudiation, contentCommitment, keyEncipherment, dataEncipherment, keyAgreement, keyCertSign, cRLSign, got 'digitalSignatur' (did you mean 'digitalSignature'?)" },
		{ "key usage alias duplicate",
		  SD_TOP SD_ISSUERS "profiles:\n  - name: p\n    issuers: [a]\n"
		  "    validity: {default_days: 1, max_days: 2}\n    key_usage: [nonRepudiation, contentCommitment]\n",
		  "t.yaml:11:33: duplicate entry 'nonRepudiation' in 'key_usage'" },
		{ "empty key usage",
		  SD_TOP SD_ISSUERS "profiles:\n  - name: p\n    issuers: [a]\n"
		  "    validity: {default_days: 1, max_days: 2}\n    key_usage: []\n",
		  "t.yaml:11:16: 'key_usage' must have at least 1 entry" },
		{ "missing key usage",
		  SD_TOP SD_ISSUERS "profiles:\n  - name: p\n    issuers: [a]\n"
		  "    validity: {default_days: 1, max_days: 2}\n",
		  "t.yaml:8:5: missing required key 'key_usage' in 'profiles[0]'" },
		{ "ext key usage", SD_BASE "    ext_key_usage: [serverAuth, anyExtendedKeyUsage]\n",
		  "t.yaml:12:33: 'ext_key_usage' entries must be one of serverAuth, clientAuth, codeSigning, emailProtection, timeStamping, OCSPSigning, got 'anyExtendedKeyUsage'" },
		{ "validity 0", SD_TOP SD_ISSUERS "profiles:\n  - name: p\n    issuers: [a]\n"
		  "    validity: {default_days: 0, max_days: 2}\n",
		  "t.yaml:10:30: 'default_days' must be 1..36500, got 0" },
		{ "validity 36501", SD_TOP SD_ISSUERS "profiles:\n  - name: p\n    issuers: [a]\n"
		  "    validity: {default_days: 1, max_days: 36501}\n",
		  "t.yaml:10:43: 'max_days' must be 1..36500, got 36501" },
		{ "backdate", SD_TOP SD_ISSUERS "profiles:\n  - name: p\n    issuers: [a]\n"
		  "    validity: {default_days: 1, max_days: 2, backdate_seconds: 86401}\n",
		  "t.yaml:10:64: 'backdate_seconds' must be 0..86400, got 86401" },
		{ "path_len 17", SD_BASE "    basic_constraints: {ca: true, path_len: 17}\n",
		  "t.yaml:12:45: 'path_len' must be 0..16, got 17" },
		{ "profile name", SD_TOP SD_ISSUERS "profiles:\n  - name: web server\n",
		  "t.yaml:8:11: 'name' must be 1..64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit, got 'web server'" },
		{ "issuer reference charset", SD_TOP SD_ISSUERS "profiles:\n  - name: p\n    issuers: [\"a b\"]\n",
		  "t.yaml:9:15: 'issuers' entries must be 1..64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit, got \"a b\"" },
		{ "duplicate issuer reference", SD_TOP SD_ISSUERS "profiles:\n  - name: p\n    issuers: [a, a]\n",
		  "t.yaml:9:18: duplicate entry 'a' in 'issuers'" },
	};

	(void)state;
	RUN(cases);
}

static void
test_profile_uris_oids(void **state)
{
	static const struct err_case cases[] = {
		{ "https CDP", SD_BASE "    crl_distribution_points: [https://crl.example.org/a.crl]\n",
		  "t.yaml:12:31: 'crl_distribution_points' entries must be an http:// or ldap:// URI with a host and no spaces, got 'https://crl.example.org/a.crl'" },
		{ "CDP with a space", SD_BASE "    crl_distribution_points: [\"http://crl.example.org/a b.crl\"]\n",
		  "t.yaml:12:31: 'crl_distribution_points' entries must be an http:// or ldap:// URI with a host and no spaces, got \"http://crl.example.org/a b.crl\"" },
		{ "CDP without host", SD_BASE "    crl_distribution_points: [http:///a.crl]\n",
		  "t.yaml:12:31: 'crl_distribution_points' entries must be an http:// or ldap:// URI with a host and no spaces, got 'http:///a.crl'" },
		{ "CDP scheme only", SD_BASE "    crl_distribution_points: [\"http://\"]\n",
		  "t.yaml:12:31: 'crl_distribution_points' entries must be an http:// or ldap:// URI with a host and no spaces, got \"http://\"" },
		{ "CDP non-ASCII", SD_BASE "    crl_distribution_points: [http://cr\xc3\xa9.example/a.crl]\n",
		  "t.yaml:12:31: 'crl_distribution_points' entries must be an http:// or ldap:// URI with a host and no spaces, got 'http://cr\xc3\xa9.example/a.crl'" },
		{ "CA issuers file URI", SD_BASE "    aia: {ca_issuers: [file:///etc/ca.crt]}\n",
		  "t.yaml:12:24: 'ca_issuers' entries must be an http:// or ldap:// URI with a host and no spaces, got 'file:///etc/ca.crt'" },
		{ "OCSP over LDAP", SD_BASE "    aia: {ocsp: [ldap://ocsp.example.org]}\n",
		  "t.yaml:12:18: 'ocsp' entries must be an http:// URI with a host and no spaces, got 'ldap://ocsp.example.org'" },
		{ "OID one arc", SD_BASE "    certificate_policies: [\"1\"]\n",
		  "t.yaml:12:28: 'certificate_policies' entries must be a dotted OID such as 2.23.140.1.2.1, got \"1\"" },
		{ "OID first arc 3", SD_BASE "    certificate_policies: [3.1]\n",
		  "t.yaml:12:28: 'certificate_policies' entries must be a dotted OID such as 2.23.140.1.2.1, got '3.1'" },
		{ "OID second arc 40", SD_BASE "    certificate_policies: [1.40.1]\n",
		  "t.yaml:12:28: 'certificate_policies' entries must be a dotted OID such as 2.23.140.1.2.1, got '1.40.1'" },
		{ "OID leading zero", SD_BASE "    certificate_policies: [1.2.03]\n",
		  "t.yaml:12:28: 'certificate_policies' entries must be a dotted OID such as 2.23.140.1.2.1, got '1.2.03'" },
		{ "OID empty arc", SD_BASE "    certificate_policies: [1..2]\n",
		  "t.yaml:12:28: 'certificate_policies' entries must be a dotted OID such as 2.23.140.1.2.1, got '1..2'" },
		{ "OID trailing dot", SD_BASE "    certificate_policies: [1.2.]\n",
		  "t.yaml:12:28: 'certificate_policies' entries must be a dotted OID such as 2.23.140.1.2.1, got '1.2.'" },
		{ "OID name", SD_BASE "    certificate_policies: [anyPolicy]\n",
		  "t.yaml:12:28: 'certificate_policies' entries must be a dotted OID such as 2.23.140.1.2.1, got 'anyPolicy'" },
		{ "OID arc of 40 digits", SD_BASE "    certificate_policies: [2.25.1234567890123456789012345678901234567890]\n",
		  "t.yaml:12:28: 'certificate_policies' entries must be a dotted OID such as 2.23.140.1.2.1, got '2.25.1234567890123456789012345678901234567890'" },
	};
	static const char *const ok[] = {
		SD_BASE "    crl_distribution_points: [http://crl.example.org/a.crl, "
		"\"ldap://ldap.example.org/cn=CA,dc=example,dc=org?certificateRevocationList\"]\n"
		"    aia: {ca_issuers: [http://ca.example.org/a.crt], ocsp: [http://ocsp.example.org]}\n"
		"    certificate_policies: [2.5.29.32.0, 0.39, 1.3.6.1.4.1.99999.1, "
		"2.999.1, 2.25.329800735698586629295641978511506172918]\n",
	};

	(void)state;
	RUN(cases);
	RUN_OK(ok);
}

static void
test_profile_rules(void **state)
{
	static const struct err_case cases[] = {
		{ "unknown issuer",
		  SD_TOP SD_ISSUERS "profiles:\n  - name: p\n    issuers: [a, b]\n"
		  "    validity: {default_days: 1, max_days: 2}\n    key_usage: [digitalSignature]\n",
		  "t.yaml:9:18: profile 'p' names issuer 'b', which is not configured" },
		{ "duplicate profile name",
		  SD_BASE "  - name: p\n    issuers: [a]\n"
		  "    validity: {default_days: 1, max_days: 2}\n    key_usage: [digitalSignature]\n",
		  "t.yaml:12:11: duplicate profile name 'p' (first at 8:11)" },
		{ "max_days below default_days",
		  SD_TOP SD_ISSUERS "profiles:\n  - name: p\n    issuers: [a]\n"
		  "    validity: {default_days: 30, max_days: 29}\n    key_usage: [digitalSignature]\n",
		  "t.yaml:10:44: 'max_days' (29) must be >= 'default_days' (30) in profile 'p'" },
		{ "required not allowed",
		  SD_BASE "    subject: {allowed: [CN, O], required: [CN, OU]}\n",
		  "t.yaml:12:48: subject attribute 'OU' is required but not in 'allowed' of profile 'p'" },
		{ "required not in default allowed",
		  SD_BASE "    subject: {required: [O]}\n",
		  "t.yaml:12:26: subject attribute 'O' is required but not in 'allowed' of profile 'p'" },
		{ "cn_must_match without CN",
		  SD_BASE "    subject: {allowed: [O]}\n    san: {types: [dns], cn_must_match: true}\n",
		  "t.yaml:13:40: 'cn_must_match' needs 'CN' in subject 'allowed' of profile 'p'" },
		{ "cn_must_match without dns or ip",
		  SD_BASE "    san: {types: [email], cn_must_match: true}\n",
		  "t.yaml:12:42: 'cn_must_match' needs 'dns' or 'ip' in san 'types' of profile 'p'" },
		{ "san types with max 0",
		  SD_BASE "    san: {types: [dns], max: 0}\n",
		  "t.yaml:12:30: san 'max' is 0 but 'types' allows SANs in profile 'p'" },
		{ "ca without keyCertSign",
		  SD_BASE "    basic_constraints: {ca: true}\n",
		  "t.yaml:12:29: 'ca: true' needs 'keyCertSign' in 'key_usage' of profile 'p'" },
		{ "keyCertSign without ca",
		  SD_TOP SD_ISSUERS "profiles:\n  - name: p\n    issuers: [a]\n"
		  "    validity: {default_days: 1, max_days: 2}\n    key_usage: [digitalSignature, keyCertSign]\n",
		  "t.yaml:11:35: 'keyCertSign' in 'key_usage' needs 'ca: true' in profile 'p'" },
		{ "keyCertSign with ca false",
		  SD_TOP SD_ISSUERS "profiles:\n  - name: p\n    issuers: [a]\n"
		  "    validity: {default_days: 1, max_days: 2}\n    key_usage: [keyCertSign]\n"
		  "    basic_constraints: {ca: false}\n",
		  "t.yaml:12:29: 'keyCertSign' in 'key_usage' needs 'ca: true' in profile 'p'" },
		{ "path_len without ca",
		  SD_BASE "    basic_constraints: {path_len: 0}\n",
		  "t.yaml:12:35: 'path_len' needs 'ca: true' in profile 'p'" },
	};
	static const char *const ok[] = {
		SD_BASE "    subject: {allowed: [CN, O], required: [O, CN]}\n"
		"    san: {types: [ip], cn_must_match: true, max: 1}\n",
		SD_BASE "    san: {types: [], max: 0}\n",
		SD_TOP SD_ISSUERS "profiles:\n  - name: p\n    issuers: [a]\n"
		"    validity: {default_days: 5, max_days: 5}\n    key_usage: [keyCertSign, cRLSign]\n"
		"    basic_constraints: {ca: true, path_len: 16}\n",
	};

	(void)state;
	RUN(cases);
	RUN_OK(ok);
}

/* The sync section, lines 12-18 after SD_BASE; each key a macro so a case can leave one out. */
#define SYNC_HEAD "sync:\n"
#define SYNC_LISTEN "  listen: 127.0.0.1:7411\n"
#define SYNC_PEER "  peer: \"[fd00::2]:7412\"\n"
#define SYNC_PEER_NODE "  peer_node: 2\n"
#define SYNC_CERT "  cert: /etc/signer/link.pem\n"
#define SYNC_KEY "  key: /etc/signer/link-key.pem\n"
#define SYNC_FP_HEX \
	"00112233445566778899aabbccddeeff" \
	"0123456789ABCDEFfedcba9876543210"
#define SYNC_FP "  peer_fingerprint: " SYNC_FP_HEX "\n"
#define SYNC_ALL SYNC_HEAD SYNC_LISTEN SYNC_PEER SYNC_PEER_NODE SYNC_CERT \
	SYNC_KEY SYNC_FP
/* The sync section without its listen and peer lines (lines 12-16). */
#define SYNC_NO_ADDR SYNC_HEAD SYNC_PEER_NODE SYNC_CERT SYNC_KEY SYNC_FP

static const uint8_t sync_fp_bytes[CONF_FINGERPRINT_LEN] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
};

static void
test_sync_absent(void **state)
{
	struct conf_signerd c;
	char err[CONF_ERR_MAX];

	(void)state;
	if (parse(SD_BASE, &c, err) != 0)
		fail_msg("%s", err);
	assert_false(c.sync_enabled);
	assert_null(c.sync.listen);
	assert_null(c.sync.peer);
	assert_null(c.sync.cert);
	assert_null(c.sync.key);
	assert_null(c.sync.peer_fingerprint);
	conf_signerd_free(&c);
	/* the example file has no sync section either */
	if (conf_load_signerd("config/examples/signerd.yaml", &c, err) != 0)
		fail_msg("%s", err);
	assert_false(c.sync_enabled);
	conf_signerd_free(&c);
}

static void
test_sync_section(void **state)
{
	struct conf_signerd c;
	char err[CONF_ERR_MAX], host[CONF_HOSTPORT_MAX];
	uint8_t fp[CONF_FINGERPRINT_LEN];
	uint16_t port;

	(void)state;
	if (parse(SD_BASE SYNC_ALL, &c, err) != 0)
		fail_msg("%s", err);
	assert_true(c.sync_enabled);
	assert_string_equal(c.sync.listen, "127.0.0.1:7411");
	assert_string_equal(c.sync.peer, "[fd00::2]:7412");
	assert_int_equal(c.sync.peer_node, 2);
	assert_string_equal(c.sync.cert, "/etc/signer/link.pem");
	assert_string_equal(c.sync.key, "/etc/signer/link-key.pem");
	assert_string_equal(c.sync.peer_fingerprint, SYNC_FP_HEX);
	assert_int_equal(c.sync.degraded_after_s, 300);
	assert_int_equal(c.sync.batch_events, 1024);
	assert_int_equal(conf_fingerprint_parse(c.sync.peer_fingerprint, fp), 0);
	assert_memory_equal(fp, sync_fp_bytes, sizeof(fp));
	assert_int_equal(conf_hostport_split(c.sync.listen, host, sizeof(host),
	    &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 7411);
	assert_int_equal(conf_hostport_split(c.sync.peer, host, sizeof(host),
	    &port), 0);
	assert_string_equal(host, "fd00::2");
	assert_int_equal(port, 7412);
	conf_signerd_free(&c);
	assert_true(all_zero(&c, sizeof(c)));

	/* every key given, the fingerprint in openssl's form with a prefix */
	if (parse(SD_BASE "sync:\n  listen: \"[::1]:65535\"\n"
	    "  peer: peer.example.org:1\n  peer_node: 127\n"
	    "  cert: /c.pem\n  key: /k.pem\n"
	    "  peer_fingerprint: \"sha256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	    "01:23:45:67:89:AB:CD:EF:FE:DC:BA:98:76:54:32:10\"\n"
	    "  degraded_after_seconds: 86400\n  batch_events: 4096\n", &c, err) != 0)
		fail_msg("%s", err);
	assert_true(c.sync_enabled);
	assert_int_equal(c.sync.peer_node, 127);
	assert_int_equal(c.sync.degraded_after_s, 86400);
	assert_int_equal(c.sync.batch_events, 4096);
	assert_int_equal(conf_fingerprint_parse(c.sync.peer_fingerprint, fp), 0);
	assert_memory_equal(fp, sync_fp_bytes, sizeof(fp));
	conf_signerd_free(&c);

	/* the lowest values, in a flow map, on node 2 */
	if (parse("node: 2\n" SD_TOP_REST SD_ISSUERS SD_PROFILE
	    "sync: {listen: \"localhost:1\", peer: \"10.0.0.2:7411\", "
	    "peer_node: 1, cert: /c.pem, key: /k.pem, peer_fingerprint: \"" SYNC_FP_HEX "\", "
	    "degraded_after_seconds: 1, batch_events: 1}\n", &c, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.node, 2);
	assert_int_equal(c.sync.peer_node, 1);
	assert_int_equal(c.sync.degraded_after_s, 1);
	assert_int_equal(c.sync.batch_events, 1);
	conf_signerd_free(&c);
}

static void
test_sync_errors(void **state)
{
	static const struct err_case cases[] = {
		{ "missing listen", SD_BASE SYNC_HEAD SYNC_PEER SYNC_PEER_NODE SYNC_CERT SYNC_KEY SYNC_FP,
		  "t.yaml:13:3: missing required key 'listen' in 'sync'" },
		{ "missing peer", SD_BASE SYNC_HEAD SYNC_LISTEN SYNC_PEER_NODE SYNC_CERT SYNC_KEY SYNC_FP,
		  "t.yaml:13:3: missing required key 'peer' in 'sync'" },
		{ "missing peer_node", SD_BASE SYNC_HEAD SYNC_LISTEN SYNC_PEER SYNC_CERT SYNC_KEY SYNC_FP,
		  "t.yaml:13:3: missing required key 'peer_node' in 'sync'" },
		{ "missing fingerprint", SD_BASE SYNC_HEAD SYNC_LISTEN SYNC_PEER SYNC_PEER_NODE SYNC_CERT SYNC_KEY,
		  "t.yaml:13:3: missing required key 'peer_fingerprint' in 'sync'" },
		{ "missing key", SD_BASE SYNC_HEAD SYNC_LISTEN SYNC_PEER SYNC_PEER_NODE SYNC_CERT SYNC_FP,
		  "t.yaml:13:3: missing required key 'key' in 'sync'" },
		{ "no port", SD_BASE SYNC_NO_ADDR "  listen: 127.0.0.1\n" SYNC_PEER,
		  "t.yaml:17:11: 'listen' must be host:port (an address or name, or [IPv6]:port) with a port 1..65535, got '127.0.0.1'" },
		{ "empty port", SD_BASE SYNC_NO_ADDR "  listen: \"127.0.0.1:\"\n" SYNC_PEER,
		  "t.yaml:17:11: 'listen' must be host:port (an address or name, or [IPv6]:port) with a port 1..65535, got \"127.0.0.1:\"" },
		{ "port 0", SD_BASE SYNC_NO_ADDR "  listen: 127.0.0.1:0\n" SYNC_PEER,
		  "t.yaml:17:11: 'listen' must be host:port (an address or name, or [IPv6]:port) with a port 1..65535, got '127.0.0.1:0'" },
		{ "port 70000", SD_BASE SYNC_NO_ADDR SYNC_LISTEN "  peer: 127.0.0.1:70000\n",
		  "t.yaml:18:9: 'peer' must be host:port (an address or name, or [IPv6]:port) with a port 1..65535, got '127.0.0.1:70000'" },
		{ "port not a number", SD_BASE SYNC_NO_ADDR SYNC_LISTEN "  peer: peer:sync\n",
		  "t.yaml:18:9: 'peer' must be host:port (an address or name, or [IPv6]:port) with a port 1..65535, got 'peer:sync'" },
		{ "v6 without port", SD_BASE SYNC_NO_ADDR SYNC_LISTEN "  peer: \"[::1]\"\n",
		  "t.yaml:18:9: 'peer' must be host:port (an address or name, or [IPv6]:port) with a port 1..65535, got \"[::1]\"" },
		{ "v6 without brackets", SD_BASE SYNC_NO_ADDR SYNC_LISTEN "  peer: \"::1:7411\"\n",
		  "t.yaml:18:9: 'peer' must be host:port (an address or name, or [IPv6]:port) with a port 1..65535, got \"::1:7411\"" },
		{ "no host", SD_BASE SYNC_NO_ADDR SYNC_LISTEN "  peer: \":7411\"\n",
		  "t.yaml:18:9: 'peer' must be host:port (an address or name, or [IPv6]:port) with a port 1..65535, got \":7411\"" },
		{ "fingerprint of 63 digits", SD_BASE SYNC_HEAD SYNC_LISTEN SYNC_PEER SYNC_PEER_NODE SYNC_CERT SYNC_KEY
		  "  peer_fingerprint: 00112233445566778899aabbccddeeff0123456789abcdeffedcba987654321\n",
		  "t.yaml:18:21: 'peer_fingerprint' must be the SHA-256 fingerprint of the peer's link certificate: 64 hex digits, ':' between bytes allowed, "
		  "got '00112233445566778899aabbccddeeff0123456789abcdeffedcba987654321'" },
		{ "fingerprint of 66 digits", SD_BASE SYNC_HEAD SYNC_LISTEN SYNC_PEER SYNC_PEER_NODE SYNC_CERT SYNC_KEY
		  "  peer_fingerprint: " SYNC_FP_HEX "00\n",
		  "t.yaml:18:21: 'peer_fingerprint' must be the SHA-256 fingerprint of the peer's link certificate: 64 hex digits, ':' between bytes allowed, "
		  "got '" SYNC_FP_HEX "...'" },
		{ "fingerprint not hex", SD_BASE SYNC_HEAD SYNC_LISTEN SYNC_PEER SYNC_PEER_NODE SYNC_CERT SYNC_KEY
		  "  peer_fingerprint: 00112233445566778899aabbccddeeff0123456789abcdeffedcba987654321g\n",
		  "t.yaml:18:21: 'peer_fingerprint' must be the SHA-256 fingerprint of the peer's link certificate: 64 hex digits, ':' between bytes allowed, "
		  "got '00112233445566778899aabbccddeeff0123456789abcdeffedcba987654321g'" },
		{ "fingerprint colon at the end", SD_BASE SYNC_HEAD SYNC_LISTEN SYNC_PEER SYNC_PEER_NODE SYNC_CERT SYNC_KEY
		  "  peer_fingerprint: \"" SYNC_FP_HEX ":\"\n",
		  "t.yaml:18:21: 'peer_fingerprint' must be the SHA-256 fingerprint of the peer's link certificate: 64 hex digits, ':' between bytes allowed, "
		  "got \"" SYNC_FP_HEX "...\"" },
		{ "peer_node is node", SD_BASE SYNC_HEAD SYNC_LISTEN SYNC_PEER "  peer_node: 1\n" SYNC_CERT SYNC_KEY SYNC_FP,
		  "t.yaml:15:14: 'peer_node' (1) must differ from this signer's 'node'" },
		{ "peer_node 0", SD_BASE SYNC_HEAD SYNC_LISTEN SYNC_PEER "  peer_node: 0\n" SYNC_CERT SYNC_KEY SYNC_FP,
		  "t.yaml:15:14: 'peer_node' must be 1..127, got 0" },
		{ "peer_node 128", SD_BASE SYNC_HEAD SYNC_LISTEN SYNC_PEER "  peer_node: 128\n" SYNC_CERT SYNC_KEY SYNC_FP,
		  "t.yaml:15:14: 'peer_node' must be 1..127, got 128" },
		{ "degraded 0", SD_BASE SYNC_ALL "  degraded_after_seconds: 0\n",
		  "t.yaml:19:27: 'degraded_after_seconds' must be 1..86400, got 0" },
		{ "degraded 86401", SD_BASE SYNC_ALL "  degraded_after_seconds: 86401\n",
		  "t.yaml:19:27: 'degraded_after_seconds' must be 1..86400, got 86401" },
		{ "batch 0", SD_BASE SYNC_ALL "  batch_events: 0\n",
		  "t.yaml:19:17: 'batch_events' must be 1..4096, got 0" },
		{ "batch 4097", SD_BASE SYNC_ALL "  batch_events: 4097\n",
		  "t.yaml:19:17: 'batch_events' must be 1..4096, got 4097" },
		{ "relative key", SD_BASE SYNC_HEAD SYNC_LISTEN SYNC_PEER SYNC_PEER_NODE SYNC_CERT
		  "  key: link-key.pem\n" SYNC_FP,
		  "t.yaml:17:8: 'key' must be an absolute path, got 'link-key.pem'" },
		{ "unknown key", SD_BASE SYNC_ALL "  peer_fingerprints: " SYNC_FP_HEX "\n",
		  "t.yaml:19:3: unknown key 'peer_fingerprints' (did you mean 'peer_fingerprint'?)" },
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
		cmocka_unit_test(test_top_level_values),
		cmocka_unit_test(test_issuers),
		cmocka_unit_test(test_hsm_pin),
		cmocka_unit_test(test_profile_values),
		cmocka_unit_test(test_profile_uris_oids),
		cmocka_unit_test(test_profile_rules),
		cmocka_unit_test(test_sync_absent),
		cmocka_unit_test(test_sync_section),
		cmocka_unit_test(test_sync_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
