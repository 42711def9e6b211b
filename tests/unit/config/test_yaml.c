/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the configuration reader: every class of YAML error, with its exact message and position. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "proto/proto.h"

/* A valid client.yaml of three lines; cases append from line 4. */
#define CL_BASE \
	"signers: [{device: /dev/ttyS0}]\n" \
	"ca_dir: /etc/ca\n" \
	"database: {path: /var/q.db}\n"

/* A valid signerd.yaml of eleven lines; profile keys append at line 12. */
#define SD_BASE \
	"node: 1\n" \
	"serial: {device: /dev/ttyS0}\n" \
	"repository: {path: /var/lib/signer}\n" \
	"hsm: {module: /usr/lib/p11.so, token: t, pin_file: /etc/pin}\n" \
	"issuers:\n" \
	"  - {id: a, cert: /a.pem, key_id: \"01\"}\n" \
	"profiles:\n" \
	"  - name: p\n" \
	"    issuers: [a]\n" \
	"    validity: {default_days: 1, max_days: 2}\n" \
	"    key_usage: [digitalSignature]\n"

struct err_case {
	const char *name;
	bool signerd;           /* else client */
	const char *yaml;
	size_t len;             /* 0: strlen(yaml) */
	const char *err;        /* exact message */
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

/* Parse with name "t.yaml"; returns rc, leaves the message in err. */
static int
parse(bool signerd, const char *yaml, size_t len, char *err)
{
	struct conf_signerd sd;
	struct conf_client cl;
	int rc;

	if (len == 0)
		len = strlen(yaml);
	if (signerd) {
		rc = conf_parse_signerd("t.yaml", (const uint8_t *)yaml, len, &sd,
		    err);
		if (rc != 0)
			assert_true(all_zero(&sd, sizeof(sd)));
		conf_signerd_free(&sd);
	} else {
		rc = conf_parse_client("t.yaml", (const uint8_t *)yaml, len, &cl,
		    err);
		if (rc != 0)
			assert_true(all_zero(&cl, sizeof(cl)));
		conf_client_free(&cl);
	}
	return rc;
}

static void
run_cases(const struct err_case *t, size_t n)
{
	char err[CONF_ERR_MAX];
	size_t i, failed = 0;
	int rc;

	for (i = 0; i < n; i++) {
		memset(err, 'x', sizeof(err));
		rc = parse(t[i].signerd, t[i].yaml, t[i].len, err);
		if (rc != ERR_CONFIG || strcmp(err, t[i].err) != 0) {
			print_error("case '%s': rc %d\n  got:  %s\n  want: %s\n",
			    t[i].name, rc, rc ? err : "(none)", t[i].err);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

#define RUN(cases) run_cases((cases), sizeof(cases) / sizeof((cases)[0]))

static void
test_unknown_keys(void **state)
{
	static const struct err_case cases[] = {
		{ "suggest by distance", true,
		  "node: 1\nserial:\n  device: /dev/ttyS0\n  baudrate: 9600\n", 0,
		  "t.yaml:4:3: unknown key 'baudrate' (did you mean 'baud'?)" },
		{ "suggest by transposition", false, CL_BASE "retires: 1\n", 0,
		  "t.yaml:4:1: unknown key 'retires' (did you mean 'retries'?)" },
		{ "suggest by case", false, CL_BASE "Retries: 1\n", 0,
		  "t.yaml:4:1: unknown key 'Retries' (did you mean 'retries'?)" },
		{ "suggest by prefix", false, CL_BASE "timeout: 5\n", 0,
		  "t.yaml:4:1: unknown key 'timeout' (did you mean 'timeout_ms'?)" },
		{ "no suggestion", false, CL_BASE "zzz: 1\n", 0,
		  "t.yaml:4:1: unknown key 'zzz'" },
		{ "only keys of this level", false,
		  CL_BASE "log: {retries: 1}\n", 0,
		  "t.yaml:4:7: unknown key 'retries'" },
		{ "nested in a list entry", true, SD_BASE "    subject: {alowed: [CN]}\n", 0,
		  "t.yaml:12:15: unknown key 'alowed' (did you mean 'allowed'?)" },
		{ "non-scalar key", false, CL_BASE "? [a]\n: 1\n", 0,
		  "t.yaml:4:3: keys must be strings, got a list" },
		{ "long key is cut", false,
		  CL_BASE "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: 1\n", 0,
		  "t.yaml:4:1: unknown key 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'" },
	};

	(void)state;
	RUN(cases);
}

static void
test_wrong_types(void **state)
{
	static const struct err_case cases[] = {
		{ "word for uint", false, CL_BASE "retries: fast\n", 0,
		  "t.yaml:4:10: 'retries' must be an unsigned integer, got 'fast'" },
		{ "list for uint", false, CL_BASE "retries: [1]\n", 0,
		  "t.yaml:4:10: 'retries' must be an unsigned integer, got a list" },
		{ "quoted uint", false, CL_BASE "retries: \"5\"\n", 0,
		  "t.yaml:4:10: 'retries' must be an unsigned integer, got \"5\"" },
		{ "!!str uint", false, CL_BASE "retries: !!str 3\n", 0,
		  "t.yaml:4:10: 'retries' must be an unsigned integer, got \"3\"" },
		{ "map for string", false,
		  "signers: [{device: /dev/ttyS0}]\nca_dir: {a: b}\n", 0,
		  "t.yaml:2:9: 'ca_dir' must be a string, got a map" },
		{ "scalar for map", false, CL_BASE "log: debug\n", 0,
		  "t.yaml:4:6: 'log' must be a map, got 'debug'" },
		{ "map for list of maps", false,
		  "signers: {device: /dev/ttyS0}\n", 0,
		  "t.yaml:1:10: 'signers' must be a list of maps, got a map" },
		{ "scalar entry for list of maps", false, "signers: [/dev/ttyS0]\n", 0,
		  "t.yaml:1:11: 'signers' entries must be maps, got '/dev/ttyS0'" },
		{ "scalar for list", true, SD_BASE "    certificate_policies: 1.2.3\n", 0,
		  "t.yaml:12:27: 'certificate_policies' must be a list, got '1.2.3'" },
		{ "list entry in list", true, SD_BASE "    ext_key_usage: [[serverAuth]]\n", 0,
		  "t.yaml:12:21: 'ext_key_usage' entries must be strings, got a list" },
		{ "word for enum", false, CL_BASE "log: {level: loud}\n", 0,
		  "t.yaml:4:14: 'level' must be one of debug, info, warning, error, got 'loud'" },
		{ "enum suggestion", false, CL_BASE "log: {level: warn}\n", 0,
		  "t.yaml:4:14: 'level' must be one of debug, info, warning, error, got 'warn' (did you mean 'warning'?)" },
		{ "flag", false, "signers: [{device: /dev/ttyS0, flow_control: hw}]\n", 0,
		  "t.yaml:1:46: 'flow_control' must be one of none, rtscts, got 'hw'" },
		{ "relative path", false, "signers: [{device: ttyS0}]\n", 0,
		  "t.yaml:1:20: 'device' must be an absolute path, got 'ttyS0'" },
	};

	(void)state;
	RUN(cases);
}

static void
test_numbers(void **state)
{
	static const struct err_case cases[] = {
		{ "range", false, CL_BASE "retries: 101\n", 0,
		  "t.yaml:4:10: 'retries' must be 0..100, got 101" },
		{ "below range", false, CL_BASE "timeout_ms: 99\n", 0,
		  "t.yaml:4:13: 'timeout_ms' must be 100..600000, got 99" },
		{ "past 32 bits", false, CL_BASE "retries: 4294967296\n", 0,
		  "t.yaml:4:10: 'retries' must be 0..100, got 4294967296" },
		{ "past 64 bits", false, CL_BASE "retries: 999999999999999999999999\n", 0,
		  "t.yaml:4:10: 'retries' must be 0..100, got 999999999999999999999999" },
		{ "hex", false, CL_BASE "retries: 0x10\n", 0,
		  "t.yaml:4:10: 'retries' must be an unsigned integer, got '0x10'" },
		{ "octal 1.2", false, CL_BASE "retries: 0o17\n", 0,
		  "t.yaml:4:10: 'retries' must be an unsigned integer, got '0o17'" },
		{ "leading zero", false, CL_BASE "retries: 010\n", 0,
		  "t.yaml:4:10: 'retries' must not have leading zeros, got '010'" },
		{ "plus", false, CL_BASE "retries: +5\n", 0,
		  "t.yaml:4:10: 'retries' must be an unsigned integer, got '+5'" },
		{ "minus", false, CL_BASE "retries: -5\n", 0,
		  "t.yaml:4:10: 'retries' must be an unsigned integer, got '-5'" },
		{ "exponent", false, CL_BASE "retries: 1e1\n", 0,
		  "t.yaml:4:10: 'retries' must be an unsigned integer, got '1e1'" },
		{ "underscore", false, CL_BASE "timeout_ms: 1_000\n", 0,
		  "t.yaml:4:13: 'timeout_ms' must be an unsigned integer, got '1_000'" },
		{ "float", false, CL_BASE "retries: 5.0\n", 0,
		  "t.yaml:4:10: 'retries' must be an unsigned integer, got '5.0'" },
		{ "inf", false, CL_BASE "retries: .inf\n", 0,
		  "t.yaml:4:10: 'retries' must be an unsigned integer, got '.inf'" },
		{ "inner space", false, CL_BASE "retries: 1 0\n", 0,
		  "t.yaml:4:10: 'retries' must be an unsigned integer, got '1 0'" },
		{ "baud not a rate", false,
		  "signers: [{device: /dev/ttyS0, baud: 1234}]\n", 0,
		  "t.yaml:1:38: 'baud' must be a termios rate (9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000), got 1234" },
		{ "baud past 32 bits", false,
		  "signers: [{device: /dev/ttyS0, baud: 99999999999}]\n", 0,
		  "t.yaml:1:38: 'baud' must be a termios rate (9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000), got 99999999999" },
	};
	struct conf_client c;
	char err[CONF_ERR_MAX];
	const char *ok = CL_BASE "retries: 0\ntimeout_ms: !!int 600000\n";

	(void)state;
	RUN(cases);
	assert_int_equal(conf_parse_client("t.yaml", (const uint8_t *)ok,
	    strlen(ok), &c, err), 0);
	assert_int_equal(c.retries, 0);
	assert_int_equal(c.timeout_ms, 600000);
	conf_client_free(&c);
}

static void
test_booleans(void **state)
{
	static const struct err_case cases[] = {
		{ "yes", true, SD_BASE "    subject: {from_csr: yes}\n", 0,
		  "t.yaml:12:25: 'from_csr' must be true or false, got 'yes'" },
		{ "no", true, SD_BASE "    subject: {from_csr: no}\n", 0,
		  "t.yaml:12:25: 'from_csr' must be true or false, got 'no'" },
		{ "True", true, SD_BASE "    subject: {from_csr: True}\n", 0,
		  "t.yaml:12:25: 'from_csr' must be true or false, got 'True'" },
		{ "on", true, SD_BASE "    subject: {from_csr: on}\n", 0,
		  "t.yaml:12:25: 'from_csr' must be true or false, got 'on'" },
		{ "1", true, SD_BASE "    subject: {from_csr: 1}\n", 0,
		  "t.yaml:12:25: 'from_csr' must be true or false, got '1'" },
		{ "quoted", true, SD_BASE "    subject: {from_csr: \"true\"}\n", 0,
		  "t.yaml:12:25: 'from_csr' must be true or false, got \"true\"" },
	};
	struct conf_signerd c;
	char err[CONF_ERR_MAX];
	const char *ok = SD_BASE "    subject: {from_csr: true}\n"
	    "    san: {cn_must_match: !!bool false}\n";

	(void)state;
	RUN(cases);
	assert_int_equal(conf_parse_signerd("t.yaml", (const uint8_t *)ok,
	    strlen(ok), &c, err), 0);
	assert_true(c.profiles[0].subject_from_csr);
	assert_false(c.profiles[0].cn_in_san);
	conf_signerd_free(&c);
}

static void
test_missing_and_duplicate(void **state)
{
	static const struct err_case cases[] = {
		{ "top level", false, "signers: [{device: /dev/ttyS0}]\n"
		  "database: {path: /var/q.db}\n", 0,
		  "t.yaml:1:1: missing required key 'ca_dir'" },
		{ "in a flow map", true,
		  "node: 1\nserial: {baud: 9600}\n", 0,
		  "t.yaml:2:9: missing required key 'device' in 'serial'" },
		{ "in a block map", true,
		  "node: 1\nserial:\n  baud: 9600\n", 0,
		  "t.yaml:3:3: missing required key 'device' in 'serial'" },
		{ "in a list entry", false,
		  "signers:\n  - device: /dev/a\n  - baud: 9600\nca_dir: /x\n", 0,
		  "t.yaml:3:5: missing required key 'device' in 'signers[1]'" },
		{ "nested in a list entry", true,
		  "node: 1\nserial: {device: /dev/ttyS0}\n"
		  "repository: {path: /var/lib/signer}\n"
		  "hsm: {module: /usr/lib/p11.so, token: t, pin_file: /etc/pin}\n"
		  "issuers: [{id: a, cert: /a.pem, key_id: \"01\"}]\n"
		  "profiles:\n  - name: p\n    issuers: [a]\n"
		  "    validity: {max_days: 2}\n", 0,
		  "t.yaml:9:15: missing required key 'default_days' in 'profiles[0].validity'" },
		{ "duplicate key", false, CL_BASE "retries: 1\nretries: 2\n", 0,
		  "t.yaml:5:1: duplicate key 'retries' (first at 4:1)" },
		{ "duplicate quoted key", false, CL_BASE "retries: 1\n'retries': 1\n", 0,
		  "t.yaml:5:1: duplicate key 'retries' (first at 4:1)" },
		{ "duplicate in a flow map", false,
		  CL_BASE "log: {level: info, level: debug}\n", 0,
		  "t.yaml:4:20: duplicate key 'level' (first at 4:7)" },
		{ "duplicate map", false, CL_BASE "log:\n  level: info\nlog:\n  level: info\n", 0,
		  "t.yaml:6:1: duplicate key 'log' (first at 4:1)" },
	};

	(void)state;
	RUN(cases);
}

static void
test_null_and_strings(void **state)
{
	static const struct err_case cases[] = {
		{ "no value", false, CL_BASE "retries:\n", 0,
		  "t.yaml:4:9: 'retries' has no value" },
		{ "tilde", false, CL_BASE "retries: ~\n", 0,
		  "t.yaml:4:10: 'retries' has no value" },
		{ "null map", false, CL_BASE "log: null\n", 0,
		  "t.yaml:4:6: 'log' has no value" },
		{ "empty string", false, "signers: [{device: \"\"}]\n", 0,
		  "t.yaml:1:20: 'device' must not be empty" },
		{ "empty list entry", true, SD_BASE "    ext_key_usage: [serverAuth, ~]\n", 0,
		  "t.yaml:12:33: 'ext_key_usage' has an empty entry" },
		{ "NUL escape", false, "signers: [{device: \"/dev/a\\0b\"}]\n", 0,
		  "t.yaml:1:20: 'device' contains a control character" },
		{ "newline escape", false, "signers: [{device: \"/dev/a\\nb\"}]\n", 0,
		  "t.yaml:1:20: 'device' contains a control character" },
		{ "control in list entry", true,
		  SD_BASE "    crl_distribution_points: [\"http://a/\\x01\"]\n", 0,
		  "t.yaml:12:31: 'crl_distribution_points' entries contains a control character" },
	};

	(void)state;
	RUN(cases);
}

static void
test_syntax(void **state)
{
	static const struct err_case cases[] = {
		{ "unclosed flow map", false, CL_BASE "log: {level: info\n", 0,
		  "t.yaml:5:1: did not find expected ',' or '}' (while parsing a flow mapping at 4:6)" },
		{ "tab indentation", false, CL_BASE "\tretries: 1\n", 0,
		  "t.yaml:4:1: found character that cannot start any token (while scanning for the next token at 4:1)" },
		{ "bad indentation", false, "signers:\n  - device: /dev/a\n baud: 1\n", 0,
		  "t.yaml:3:2: did not find expected key (while parsing a block mapping at 1:1)" },
		{ "unclosed quote", false, CL_BASE "crl: {dir: \"/x\n", 0,
		  "t.yaml:5:1: found unexpected end of stream (while scanning a quoted scalar at 4:12)" },
		{ "bad escape", false, CL_BASE "crl: {dir: \"\\q\"}\n", 0,
		  "t.yaml:4:13: found unknown escape character (while parsing a quoted scalar at 4:12)" },
		{ "simple key past 1024 characters", false, CL_BASE
		  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		  ": 1\n", 0,
		  "t.yaml:4:1042: could not find expected ':' (while scanning a simple key at 4:1)" },
	};

	(void)state;
	RUN(cases);
}

static void
test_anchors_tags(void **state)
{
	static const struct err_case cases[] = {
		{ "anchor", false, CL_BASE "retries: &a 1\n", 0,
		  "t.yaml:4:10: anchor '&a' is not allowed" },
		{ "anchor on a list", false, "signers: &s [{device: /dev/ttyS0}]\n", 0,
		  "t.yaml:1:10: anchor '&s' is not allowed" },
		{ "alias", false, CL_BASE "retries: *x\n", 0,
		  "t.yaml:4:10: alias '*x' is not allowed" },
		{ "merge key", false, CL_BASE "log:\n  <<: *base\n", 0,
		  "t.yaml:5:3: unknown key '<<'" },
		{ "billion laughs", false,
		  "signers: &a [{device: /dev/a}]\n"
		  "ca_dir: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		  "log: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n", 0,
		  "t.yaml:1:10: anchor '&a' is not allowed" },
		{ "float tag", false, CL_BASE "retries: !!float 1\n", 0,
		  "t.yaml:4:10: tag 'tag:yaml.org,2002:float' is not allowed" },
		{ "local tag", false, CL_BASE "crl: {dir: !path /x}\n", 0,
		  "t.yaml:4:12: tag '!path' is not allowed" },
		{ "python tag", false, CL_BASE "retries: !!python/object:os.system 1\n", 0,
		  "t.yaml:4:10: tag 'tag:yaml.org,2002:python/object:os.system' is not allowed" },
		{ "TAG directive", false,
		  "%TAG !e! tag:example.com,2000:\n---\nretries: !e!n 1\n", 0,
		  "t.yaml:3:10: tag 'tag:example.com,2000:n' is not allowed" },
		{ "seq tag on a map", false, CL_BASE "log: !!seq {level: info}\n", 0,
		  "t.yaml:4:6: tag 'tag:yaml.org,2002:seq' is not allowed" },
	};
	struct conf_client c;
	char err[CONF_ERR_MAX];
	const char *ok = "signers: !!seq [!!map {device: !!str /dev/ttyS0}]\n"
	    "ca_dir: ! /etc/ca\nretries: !!int 2\ndatabase: {path: /q.db}\n";

	(void)state;
	RUN(cases);
	assert_int_equal(conf_parse_client("t.yaml", (const uint8_t *)ok,
	    strlen(ok), &c, err), 0);
	assert_string_equal(c.ca_dir, "/etc/ca");
	assert_int_equal(c.retries, 2);
	conf_client_free(&c);
}

static void
test_encoding(void **state)
{
	static const struct err_case cases[] = {
		{ "invalid byte", false, CL_BASE "ca_dir: /x\xff\n", 0,
		  "t.yaml:4:11: invalid UTF-8 (byte 0xff)" },
		{ "columns count characters", false,
		  "# \xc3\xa9\xc3\xa9 \xe2\x82\xac\nretries: 1\xfe\n", 0,
		  "t.yaml:2:11: invalid UTF-8 (byte 0xfe)" },
		{ "overlong", false, CL_BASE "ca_dir: /\xc0\xaf\n", 0,
		  "t.yaml:4:10: invalid UTF-8 (byte 0xc0)" },
		{ "surrogate", false, CL_BASE "ca_dir: /\xed\xa0\x80\n", 0,
		  "t.yaml:4:10: invalid UTF-8 (byte 0xed)" },
		{ "past U+10FFFF", false, CL_BASE "ca_dir: /\xf4\x90\x80\x80\n", 0,
		  "t.yaml:4:10: invalid UTF-8 (byte 0xf4)" },
		{ "truncated at the end", false, CL_BASE "ca_dir: /\xe2\x82", 0,
		  "t.yaml:4:10: invalid UTF-8 (byte 0xe2)" },
		{ "UTF-16 BOM", false, "\xff\xfes\0i\0", 6,
		  "t.yaml:1:1: invalid UTF-8 (byte 0xff)" },
		{ "NUL byte", false, "signers: [{device: /dev/a\0}]\n", 29,
		  "t.yaml:1:26: control character 0x00 is not allowed" },
		{ "control byte", false, CL_BASE "retries: 1\x01\n", 0,
		  "t.yaml:4:11: control character 0x01 is not allowed" },
		{ "DEL", false, CL_BASE "retries: 1\x7f\n", 0,
		  "t.yaml:4:11: control character 0x7f is not allowed" },
		{ "C1 control", false, CL_BASE "ca_dir: /x\xc2\x80\n", 0,
		  "t.yaml:4:11: control characters are not allowed" },
		{ "CRLF lines", false, "signers: [{device: /dev/a}]\r\nca_dir: /x\r\nzz: 1\r\n", 0,
		  "t.yaml:3:1: unknown key 'zz'" },
	};
	struct conf_client c;
	char err[CONF_ERR_MAX];
	const char *ok = "\xef\xbb\xbfsigners: [{device: /dev/\xc3\xa9}]\n"
	    "ca_dir: /etc/\xe2\x82\xac\ndatabase: {path: /q.db}\n";

	(void)state;
	RUN(cases);
	/* a UTF-8 BOM and non-ASCII values are fine */
	assert_int_equal(conf_parse_client("t.yaml", (const uint8_t *)ok,
	    strlen(ok), &c, err), 0);
	assert_string_equal(c.signers[0].device, "/dev/\xc3\xa9");
	conf_client_free(&c);
}

static void
test_documents(void **state)
{
	static const struct err_case cases[] = {
		{ "empty file", false, "", 0, "t.yaml:1:1: empty document" },
		{ "comments only", false, "# nothing\n# here\n", 0,
		  "t.yaml:3:1: empty document" },
		{ "document marker only", false, "---\n", 0,
		  "t.yaml:2:1: empty document" },
		{ "explicit null", false, "--- ~\n", 0,
		  "t.yaml:1:5: empty document" },
		{ "top-level list", false, "- a\n", 0,
		  "t.yaml:1:1: the top level must be a map of keys" },
		{ "top-level scalar", false, "hello\n", 0,
		  "t.yaml:1:1: the top level must be a map of keys" },
		{ "two documents", false, CL_BASE "---\n" CL_BASE, 0,
		  "t.yaml:4:1: multiple documents are not allowed" },
		{ "two documents with end markers", false,
		  "---\n" CL_BASE "...\n---\nretries: 1\n", 0,
		  "t.yaml:6:1: multiple documents are not allowed" },
	};
	struct conf_client c;
	char err[CONF_ERR_MAX];
	const char *ok = "%YAML 1.1\n---\n" CL_BASE "...\n";

	(void)state;
	RUN(cases);
	assert_int_equal(conf_parse_client("t.yaml", (const uint8_t *)ok,
	    strlen(ok), &c, err), 0);
	conf_client_free(&c);
}

/* CL_BASE padded with comment lines to exactly len bytes. */
static char *
padded(size_t len)
{
	char *b = malloc(len);
	size_t i, base = strlen(CL_BASE);

	assert_non_null(b);
	memcpy(b, CL_BASE, base);
	for (i = base; i < len; i++)
		b[i] = ((i - base) % 64 == 63) ? '\n' : '#';
	b[len - 1] = '\n';
	return b;
}

static void
test_limits_size(void **state)
{
	struct conf_client c;
	char err[CONF_ERR_MAX];
	char *b = padded(CONF_FILE_MAX + 1);

	(void)state;
	assert_int_equal(conf_parse_client("t.yaml", (const uint8_t *)b,
	    CONF_FILE_MAX + 1, &c, err), ERR_CONFIG);
	assert_string_equal(err, "t.yaml: file is larger than 1048576 bytes");
	assert_true(all_zero(&c, sizeof(c)));
	free(b);
	b = padded(CONF_FILE_MAX);
	assert_int_equal(conf_parse_client("t.yaml", (const uint8_t *)b,
	    CONF_FILE_MAX, &c, err), 0);
	conf_client_free(&c);
	free(b);
}

/* "signers: [{device: /<n bytes>}]\nca_dir: /x\n" */
static char *
long_device(size_t n)
{
	char *b = malloc(n + 64);
	size_t len;

	assert_non_null(b);
	len = (size_t)sprintf(b, "signers: [{device: /");
	memset(b + len, 'd', n - 1);
	len += n - 1;
	sprintf(b + len, "}]\nca_dir: /x\ndatabase: {path: /q.db}\n");
	return b;
}

static void
test_limits_scalar(void **state)
{
	struct conf_client c;
	char err[CONF_ERR_MAX];
	char *b = long_device(CONF_STR_MAX + 1);

	(void)state;
	assert_int_equal(conf_parse_client("t.yaml", (const uint8_t *)b,
	    strlen(b), &c, err), ERR_CONFIG);
	assert_string_equal(err, "t.yaml:1:20: 'device' is longer than 4096 bytes");
	free(b);
	b = long_device(CONF_STR_MAX);
	assert_int_equal(conf_parse_client("t.yaml", (const uint8_t *)b,
	    strlen(b), &c, err), 0);
	assert_int_equal(strlen(c.signers[0].device), CONF_STR_MAX);
	conf_client_free(&c);
	free(b);
}

/* A signerd.yaml whose profile has n certificate policies 1.2.0 .. 1.2.<n-1>. */
static char *
many_policies(size_t n)
{
	char *b = malloc(strlen(SD_BASE) + 64 + n * 16);
	size_t i, len;

	assert_non_null(b);
	len = (size_t)sprintf(b, "%s    certificate_policies: [", SD_BASE);
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(b + len, "%s1.2.%zu", i ? ", " : "", i);
	sprintf(b + len, "]\n");
	return b;
}

/* A signerd.yaml with n issuers i0 .. i<n-1>, one per line from line 6. */
static char *
many_issuers(size_t n)
{
	char *b = malloc(1024 + n * 64);
	size_t i, len;

	assert_non_null(b);
	len = (size_t)sprintf(b, "node: 1\nserial: {device: /dev/ttyS0}\n"
	    "repository: {path: /r}\nhsm: {module: /m.so, token: t, pin_env: P}\n"
	    "issuers:\n");
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(b + len,
		    "  - {id: i%zu, cert: /c%zu.pem, key_id: \"01\"}\n", i, i);
	sprintf(b + len, "profiles: [{name: p, issuers: [i0], key_usage: "
	    "[digitalSignature], validity: {default_days: 1, max_days: 1}}]\n");
	return b;
}

static void
test_limits_lists(void **state)
{
	struct conf_signerd c;
	char err[CONF_ERR_MAX];
	char *b;
	static const struct err_case cases[] = {
		{ "third signer", false,
		  "signers: [{device: /dev/a}, {device: /dev/b}, {device: /dev/c}]\n", 0,
		  "t.yaml:1:47: 'signers' has more than 2 entries" },
		{ "empty list of maps", false, "signers: []\n", 0,
		  "t.yaml:1:10: 'signers' must have at least 1 entry" },
		{ "empty list of strings", true,
		  "node: 1\nserial: {device: /dev/ttyS0}\nrepository: {path: /r}\n"
		  "hsm: {module: /m.so, token: t, pin_env: P}\n"
		  "issuers: [{id: a, cert: /a.pem, key_id: \"01\"}]\n"
		  "profiles: [{name: p, issuers: []}]\n", 0,
		  "t.yaml:6:31: 'issuers' must have at least 1 entry" },
	};

	(void)state;
	RUN(cases);
	b = many_policies(CONF_LIST_MAX + 1);
	assert_int_equal(conf_parse_signerd("t.yaml", (const uint8_t *)b,
	    strlen(b), &c, err), ERR_CONFIG);
	assert_string_equal(err,
	    "t.yaml:12:274: 'certificate_policies' has more than 32 entries");
	free(b);
	b = many_policies(CONF_LIST_MAX);
	assert_int_equal(conf_parse_signerd("t.yaml", (const uint8_t *)b,
	    strlen(b), &c, err), 0);
	assert_int_equal(c.profiles[0].policies.n, CONF_LIST_MAX);
	conf_signerd_free(&c);
	free(b);
	b = many_issuers(CONF_ISSUERS_MAX + 1);
	assert_int_equal(conf_parse_signerd("t.yaml", (const uint8_t *)b,
	    strlen(b), &c, err), ERR_CONFIG);
	assert_string_equal(err, "t.yaml:70:5: 'issuers' has more than 64 entries");
	free(b);
	b = many_issuers(CONF_ISSUERS_MAX);
	assert_int_equal(conf_parse_signerd("t.yaml", (const uint8_t *)b,
	    strlen(b), &c, err), 0);
	assert_int_equal(c.n_issuers, CONF_ISSUERS_MAX);
	assert_string_equal(c.issuers[63].id, "i63");
	conf_signerd_free(&c);
	free(b);
}

/* Deep nesting, huge counts and odd constructs must fail fast and cleanly. */
static void
test_hostile(void **state)
{
	static const struct { const char *name, *head, *unit, *tail; size_t reps; const char *err; } gen[] = {
		{ "deep flow lists", CL_BASE "log: ", "[", "", 100000,
		  "t.yaml:4:6: 'log' must be a map, got a list" },
		{ "deep flow maps", CL_BASE "retries: ", "{a: ", "", 100000,
		  "t.yaml:4:10: 'retries' must be an unsigned integer, got a map" },
		{ "deep block lists", "signers:\n", "- ", "x\n", 100000,
		  "t.yaml:2:3: 'signers' entries must be maps, got a list" },
		{ "many keys", CL_BASE "log:\n", "  level: info\n", "", 10000,
		  "t.yaml:6:3: duplicate key 'level' (first at 5:3)" },
		{ "top-level keys", "", "zz: 1\n", "", 50000,
		  "t.yaml:1:1: unknown key 'zz'" },
		{ "long plain scalar", CL_BASE "log: {level: ", "x", "}\n", 100000,
		  "t.yaml:4:14: 'level' is longer than 4096 bytes" },
		{ "long key", CL_BASE, "k", ": 1\n", 1000,
		  "t.yaml:4:1: unknown key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...'" },
		{ "key too long for YAML", CL_BASE, "k", ": 1\n", 100000,
		  "t.yaml:4:100001: could not find expected ':' (while scanning a simple key at 4:1)" },
		{ "anchors everywhere", "signers: ", "&a ", "x\n", 1000,
		  "t.yaml:1:10: anchor '&a' is not allowed" },
	};
	char err[CONF_ERR_MAX], *b;
	size_t i, j, len, ul;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(gen) / sizeof(gen[0]); i++) {
		ul = strlen(gen[i].unit);
		b = malloc(strlen(gen[i].head) + ul * gen[i].reps + strlen(gen[i].tail) + 1);
		assert_non_null(b);
		len = (size_t)sprintf(b, "%s", gen[i].head);
		for (j = 0; j < gen[i].reps; j++, len += ul)
			memcpy(b + len, gen[i].unit, ul);
		strcpy(b + len, gen[i].tail);
		rc = parse(false, b, 0, err);
		free(b);
		if (rc != ERR_CONFIG || strcmp(err, gen[i].err) != 0)
			fail_msg("case '%s': rc %d\n  got:  %s\n  want: %s",
			    gen[i].name, rc, err, gen[i].err);
	}
}

static void
test_load(void **state)
{
	struct conf_client c;
	struct conf_signerd s;
	char err[CONF_ERR_MAX], path[] = "/tmp/conf-test-XXXXXX", *b;
	int fd;

	(void)state;
	assert_int_equal(conf_load_client("tests/no-such-file.yaml", &c, err),
	    ERR_SYSTEM);
	assert_string_equal(err,
	    "tests/no-such-file.yaml: cannot open: No such file or directory");
	assert_true(all_zero(&c, sizeof(c)));
	assert_int_equal(conf_load_signerd("config", &s, err), ERR_CONFIG);
	assert_string_equal(err, "config: not a regular file");
	assert_true(all_zero(&s, sizeof(s)));

	fd = mkstemp(path);
	assert_true(fd >= 0);
	b = padded(CONF_FILE_MAX + 1);
	assert_int_equal(write(fd, b, CONF_FILE_MAX + 1), CONF_FILE_MAX + 1);
	close(fd);
	free(b);
	assert_int_equal(conf_load_client(path, &c, err), ERR_CONFIG);
	assert_true(strstr(err, ": file is larger than 1048576 bytes") != NULL);
	assert_memory_equal(err, path, strlen(path));
	assert_true(all_zero(&c, sizeof(c)));

	/* the name in messages is the path exactly as given */
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(conf_load_client(path, &c, err), ERR_CONFIG);
	assert_true(strncmp(err, path, strlen(path)) == 0);
	assert_string_equal(err + strlen(path), ":1:1: empty document");
	unlink(path);
}

static void
test_free_and_null_err(void **state)
{
	struct conf_client c;
	const char *bad = "zz: 1\n";

	(void)state;
	conf_signerd_free(NULL);
	conf_client_free(NULL);
	/* err may be NULL */
	assert_int_equal(conf_parse_client("t.yaml", (const uint8_t *)bad,
	    strlen(bad), &c, NULL), ERR_CONFIG);
	assert_true(all_zero(&c, sizeof(c)));
	assert_int_equal(conf_parse_client("t.yaml", NULL, 0, &c, NULL),
	    ERR_CONFIG);
	/* freeing twice is harmless: free clears */
	conf_client_free(&c);
	conf_client_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_missing_and_duplicate),
		cmocka_unit_test(test_null_and_strings),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_anchors_tags),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_documents),
		cmocka_unit_test(test_limits_size),
		cmocka_unit_test(test_limits_scalar),
		cmocka_unit_test(test_limits_lists),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_free_and_null_err),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
