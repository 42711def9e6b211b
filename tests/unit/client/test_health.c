/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the health files: the signer's answer read, the JSON status file and the Prometheus textfile written. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/client.h"

#define NOW INT64_C(1800000000)

static char dir[256];
static char json[300], prom[300];

/* A health result as signerd sends it, with issuers[] and counters. */
static void
pack_health(msgpack_packer *pk, const char *status, bool with_crl)
{
	msg_pack_result(pk, 7, 4);
	msg_pack_cstr(pk, "status");
	msg_pack_cstr(pk, status);
	msg_pack_cstr(pk, "node");
	msgpack_pack_uint8(pk, 2);
	msg_pack_cstr(pk, "issuers");
	msgpack_pack_array(pk, 2);
	msgpack_pack_map(pk, with_crl ? 6 : 3);
	msg_pack_cstr(pk, "id");
	msg_pack_cstr(pk, "server-ca");
	msg_pack_cstr(pk, "not_after");
	msgpack_pack_int64(pk, NOW + 400 * 86400);
	msg_pack_cstr(pk, "days_left");
	msgpack_pack_int64(pk, 400);
	if (with_crl) {
		msg_pack_cstr(pk, "crl_number");
		msgpack_pack_uint64(pk, UINT64_C(460800000001));
		msg_pack_cstr(pk, "crl_this_update");
		msgpack_pack_int64(pk, NOW - 60);
		msg_pack_cstr(pk, "crl_next_update");
		msgpack_pack_int64(pk, NOW + 7 * 86400 - 60);
	}
	msgpack_pack_map(pk, 3);
	msg_pack_cstr(pk, "id");
	msg_pack_cstr(pk, "client-ca");
	msg_pack_cstr(pk, "not_after");
	msgpack_pack_int64(pk, NOW + 20 * 86400);
	msg_pack_cstr(pk, "days_left");
	msgpack_pack_int64(pk, 20);
	msg_pack_cstr(pk, "counters");
	msgpack_pack_map(pk, 2);
	msg_pack_cstr(pk, "requests");
	msgpack_pack_uint64(pk, 99);
	msg_pack_cstr(pk, "bad_frame");
	msgpack_pack_uint64(pk, 3);
}

static void
decode(struct msg *m, void (*fn)(msgpack_packer *, const char *, bool),
    const char *status, bool with_crl)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char why[256];

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	fn(&pk, status, with_crl);
	msg_init(m);
	assert_int_equal(msg_decode_response((const uint8_t *)sb.data, sb.size,
	    m, why, sizeof(why)), 0);
	msgpack_sbuffer_destroy(&sb);
}

static char *
slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static int
run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The JSON file is JSON (checked by an outside parser) and says what it should. */
static void
assert_json(const char *want_status, const char *want_up)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "python3 -c 'import json,sys; "
	    "d = json.load(open(\"%s\")); "
	    "sys.exit(0 if d[\"status\"] == \"%s\" and d[\"up\"] == %s else 1)'",
	    json, want_status, want_up);
	assert_int_equal(run(cmd), 0);
}

static void
test_up_with_issuers(void **state)
{
	struct client_health h;
	struct msg m;
	char why[256];
	const char *p;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.queue = (struct client_health_queue){ true, 5, 120, 1000, 7 };
	h.link_errors = 4;
	decode(&m, pack_health, "degraded", true);
	assert_int_equal(client_health_parse(&m, NOW, &h, why, sizeof(why)), 0);
	msg_free(&m);
	assert_true(h.up);
	assert_int_equal(h.n_issuers, 2);
	assert_int_equal(h.link_errors, 4);
	assert_int_equal(client_health_write(&h, json, prom, why, sizeof(why)),
	    0);
	p = slurp(prom);
	assert_true(has_line(p, "signer_up 1"));
	assert_true(has_line(p, "signer_status{status=\"degraded\"} 1"));
	assert_true(has_line(p, "signer_status{status=\"ok\"} 0"));
	assert_true(has_line(p, "signer_bad_frames_total 3"));
	assert_true(has_line(p, "signer_link_errors_total 4"));
	assert_true(has_line(p, "signer_queue_depth 5"));
	assert_true(has_line(p, "signer_queue_oldest_seconds 120"));
	assert_true(has_line(p, "signer_requests_done_total 1000"));
	assert_true(has_line(p, "signer_requests_failed_total 7"));
	assert_true(has_line(p, "signer_ca_days_left{issuer=\"server-ca\"} 400"));
	assert_true(has_line(p, "signer_ca_days_left{issuer=\"client-ca\"} 20"));
	assert_true(has_line(p, "signer_crl_next_update_timestamp_seconds"
	    "{issuer=\"server-ca\"} 1800604740"));
	/* The client CA's answer had no CRL: no sample for it. */
	assert_null(strstr(p, "signer_crl_next_update_timestamp_seconds"
	    "{issuer=\"client-ca\"}"));
	assert_true(has_line(p, "# TYPE signer_requests_done_total counter"));
	assert_json("degraded", "True");
}

/* Unreachable: the files still say so, with the queue the relay knows. */
static void
test_unreachable(void **state)
{
	struct client_health h;
	char why[256];
	const char *p;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.queue = (struct client_health_queue){ true, 9, 600, 0, 0 };
	client_health_unreachable(&h, NOW);
	assert_int_equal(client_health_write(&h, json, prom, why, sizeof(why)),
	    0);
	p = slurp(prom);
	assert_true(has_line(p, "signer_up 0"));
	assert_true(has_line(p, "signer_status{status=\"unreachable\"} 1"));
	assert_true(has_line(p, "signer_queue_depth 9"));
	assert_null(strstr(p, "signer_ca_days_left{"));
	assert_json("unreachable", "False");
}

/* The signer in use: a device name with quotes and backslashes is escaped in both files. */
static void
test_signer_in_use(void **state)
{
	static const char dev[] = "/dev/tty\"odd\\name";
	struct client_health h;
	struct msg m;
	char why[256], cmd[1024];
	const char *p;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.signer = 2;
	snprintf(h.signer_device, sizeof(h.signer_device), "%s", dev);
	h.switches = 3;
	decode(&m, pack_health, "ok", true);
	assert_int_equal(client_health_parse(&m, NOW, &h, why, sizeof(why)), 0);
	msg_free(&m);
	assert_int_equal(h.signer, 2);
	assert_int_equal(h.switches, 3);
	assert_int_equal(client_health_write(&h, json, prom, why, sizeof(why)),
	    0);
	p = slurp(prom);
	assert_true(has_line(p, "signer_active 2"));
	assert_true(has_line(p, "signer_active_info{signer=\"2\",device="
	    "\"/dev/tty\\\"odd\\\\name\"} 1"));
	assert_true(has_line(p, "signer_switches_total 3"));
	snprintf(cmd, sizeof(cmd), "python3 -c 'import json,sys; "
	    "d = json.load(open(\"%s\")); "
	    "sys.exit(0 if d[\"signer\"] == 2 and d[\"switches\"] == 3 and "
	    "d[\"signer_device\"] == \"/dev/tty\" + chr(34) + \"odd\" + "
	    "chr(92) + \"name\" "
	    "else 1)'", json);
	assert_int_equal(run(cmd), 0);
	/* Unreachable keeps them; no signer in use: 0 and null. */
	client_health_unreachable(&h, NOW);
	assert_int_equal(h.switches, 3);
	h.signer = 0;
	assert_int_equal(client_health_write(&h, json, prom, why, sizeof(why)),
	    0);
	p = slurp(prom);
	assert_true(has_line(p, "signer_active 0"));
	assert_null(strstr(p, "signer_active_info{"));
	snprintf(cmd, sizeof(cmd), "python3 -c 'import json,sys; "
	    "d = json.load(open(\"%s\")); "
	    "sys.exit(0 if d[\"signer\"] == 0 and d[\"signer_device\"] is None "
	    "else 1)'", json);
	assert_int_equal(run(cmd), 0);
}

/* An answer that is not a health result leaves h unreachable, with the reason. */
static void
test_bad_answer(void **state)
{
	struct client_health h;
	struct msg m;
	char why[256] = "";

	(void)state;
	memset(&h, 0, sizeof(h));
	decode(&m, pack_health, "splendid", true);
	assert_int_equal(client_health_parse(&m, NOW, &h, why, sizeof(why)),
	    ERR_BAD_REQUEST);
	msg_free(&m);
	assert_false(h.up);
	assert_string_equal(h.status, "unreachable");
	assert_non_null(strstr(why, "splendid"));
}

/* No queue known (the one-shot command): no queue metrics at all. */
static void
test_no_queue(void **state)
{
	struct client_health h;
	struct msg m;
	char why[256];

	(void)state;
	memset(&h, 0, sizeof(h));
	decode(&m, pack_health, "ok", false);
	assert_int_equal(client_health_parse(&m, NOW, &h, why, sizeof(why)), 0);
	msg_free(&m);
	assert_int_equal(client_health_write(&h, NULL, prom, why, sizeof(why)),
	    0);
	assert_null(strstr(slurp(prom), "signer_queue"));
}

/* A paired signer's health: its peer map, and one that is not paired. */
static void
pack_paired(msgpack_packer *pk, const char *status, bool with_crl)
{
	(void)with_crl;
	msg_pack_result(pk, 9, 3);
	msg_pack_cstr(pk, "status");
	msg_pack_cstr(pk, status);
	msg_pack_cstr(pk, "node");
	msgpack_pack_uint8(pk, 1);
	msg_pack_cstr(pk, "peer");
	msgpack_pack_map(pk, 8);
	msg_pack_cstr(pk, "node");
	msgpack_pack_uint8(pk, 2);
	msg_pack_cstr(pk, "out_up");
	msgpack_pack_true(pk);
	msg_pack_cstr(pk, "in_up");
	msgpack_pack_false(pk);
	msg_pack_cstr(pk, "last_contact");
	msgpack_pack_int64(pk, NOW - 5);
	msg_pack_cstr(pk, "peer_behind");
	msgpack_pack_uint64(pk, 17);
	msg_pack_cstr(pk, "we_behind");
	msgpack_pack_uint64(pk, 4);
	msg_pack_cstr(pk, "refused");
	msgpack_pack_uint64(pk, 2);
	msg_pack_cstr(pk, "tls_failures");
	msgpack_pack_uint64(pk, 1);
}

static void
test_peer(void **state)
{
	struct client_health h;
	struct msg m;
	char why[256], cmd[600], line[128];
	const char *text;

	(void)state;
	memset(&h, 0, sizeof(h));
	decode(&m, pack_paired, "degraded", false);
	assert_int_equal(client_health_parse(&m, NOW, &h, why, sizeof(why)), 0);
	msg_free(&m);
	assert_true(h.peer.known);
	assert_int_equal(client_health_write(&h, json, prom, why, sizeof(why)),
	    0);
	text = slurp(prom);
	assert_true(has_line(text, "signer_peer_up{direction=\"to_peer\"} 1"));
	assert_true(has_line(text, "signer_peer_up{direction=\"from_peer\"} 0"));
	assert_true(has_line(text,
	    "signer_peer_behind_events{direction=\"to_peer\"} 17"));
	assert_true(has_line(text,
	    "signer_peer_behind_events{direction=\"from_peer\"} 4"));
	snprintf(line, sizeof(line),
	    "signer_peer_last_contact_timestamp_seconds %lld", (long long)(NOW - 5));
	assert_true(has_line(text, line));
	assert_true(has_line(text, "signer_peer_refused_total 2"));
	assert_true(has_line(text, "signer_peer_tls_failures_total 1"));
	snprintf(cmd, sizeof(cmd), "python3 -c 'import json,sys; "
	    "p = json.load(open(\"%s\"))[\"peer\"]; sys.exit(0 if p[\"node\"] "
	    "== 2 and p[\"out_up\"] and not p[\"in_up\"] and "
	    "p[\"peer_behind\"] == 17 and p[\"we_behind\"] == 4 else 1)'", json);
	assert_int_equal(run(cmd), 0);
	/* Not paired: no peer metrics, no peer key. */
	memset(&h, 0, sizeof(h));
	decode(&m, pack_health, "ok", false);
	assert_int_equal(client_health_parse(&m, NOW, &h, why, sizeof(why)), 0);
	msg_free(&m);
	assert_false(h.peer.known);
	assert_int_equal(client_health_write(&h, json, prom, why, sizeof(why)),
	    0);
	assert_null(strstr(slurp(prom), "signer_peer"));
	assert_null(strstr(slurp(json), "\"peer\""));
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/signer-health.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(json, sizeof(json), "%s/health.json", dir);
	snprintf(prom, sizeof(prom), "%s/signer.prom", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return run(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_up_with_issuers),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_signer_in_use),
		cmocka_unit_test(test_bad_answer),
		cmocka_unit_test(test_no_queue),
		cmocka_unit_test(test_peer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
