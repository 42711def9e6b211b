/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of response decoding: results, errors and malformed response envelopes. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

struct pk {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void
pk_init(struct pk *p)
{
	msgpack_sbuffer_init(&p->sb);
	msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
}

static void
pk_free(struct pk *p)
{
	msgpack_sbuffer_destroy(&p->sb);
}

typedef void (*packfn)(msgpack_packer *);

static void v_1(msgpack_packer *pk) { msgpack_pack_uint64(pk, 1); }
static void v_true(msgpack_packer *pk) { msgpack_pack_true(pk); }

static int
decode_req(const struct pk *p, struct msg *m, char *why)
{
	msg_init(m);
	return msg_decode_request((const uint8_t *)p->sb.data, p->sb.size, m,
	    why, MSG_ERRMSG_MAX);
}

/* A response envelope without its result or error; skip leaves out v or id. */
static void
pack_response_fields(struct pk *p, const char *skip, packfn ok)
{
	pk_init(p);
	msgpack_pack_map(&p->pk, 3 + (ok != NULL) - (skip != NULL));
	if (skip == NULL || strcmp(skip, "v") != 0) {
		msg_pack_cstr(&p->pk, "v");
		msgpack_pack_uint32(&p->pk, 1);
	}
	if (skip == NULL || strcmp(skip, "id") != 0) {
		msg_pack_cstr(&p->pk, "id");
		msgpack_pack_uint32(&p->pk, 12);
	}
	msg_pack_cstr(&p->pk, "pad");
	msgpack_pack_nil(&p->pk);
	if (ok != NULL) {
		msg_pack_cstr(&p->pk, "ok");
		ok(&p->pk);
	}
}

static int
decode_resp(struct pk *p, struct msg *m, char *why)
{
	msg_init(m);
	return msg_decode_response((const uint8_t *)p->sb.data, p->sb.size, m,
	    why, MSG_ERRMSG_MAX);
}

static void
expect_resp(struct pk *p, int want, const char *why_part)
{
	char why[MSG_ERRMSG_MAX];
	struct msg m;
	int rc = decode_resp(p, &m, why);

	if (rc != want || strstr(why, why_part) == NULL)
		fail_msg("rc %d why '%s' (wanted %d '%s')", rc, why, want,
		    why_part);
	msg_free(&m);
	pk_free(p);
}

static void
test_responses(void **state)
{
	char why[MSG_ERRMSG_MAX];
	struct msg m;
	struct pk p;

	(void)state;
	pk_init(&p);
	msg_pack_result(&p.pk, 9, 1);
	msg_pack_cstr(&p.pk, "node");
	msgpack_pack_uint32(&p.pk, 1);
	assert_int_equal(decode_resp(&p, &m, why), 0);
	assert_true(m.is_response);
	assert_true(m.ok);
	assert_int_equal(m.id, 9);
	assert_int_equal(m.result->via.map.size, 1);
	msg_free(&m);
	/* A response is not a request. */
	assert_int_equal(decode_req(&p, &m, why), ERR_BAD_REQUEST);
	msg_free(&m);
	pk_free(&p);

	pk_init(&p);
	msg_pack_error(&p.pk, 0, "busy", "queue full");
	assert_int_equal(decode_resp(&p, &m, why), 0);
	assert_false(m.ok);
	assert_int_equal(m.id, 0);
	assert_null(m.result);
	assert_int_equal(m.err_code_len, 4);
	assert_memory_equal(m.err_code, "busy", 4);
	assert_int_equal(m.err_message_len, 10);
	assert_memory_equal(m.err_message, "queue full", 10);
	assert_int_equal(err_from_wire_code(m.err_code, m.err_code_len),
	    ERR_BUSY);
	msg_free(&m);
	pk_free(&p);

	pack_response_fields(&p, NULL, NULL);
	expect_resp(&p, ERR_BAD_REQUEST, "missing field 'ok'");
	pack_response_fields(&p, NULL, v_1);
	expect_resp(&p, ERR_BAD_REQUEST, "field 'ok' must be a boolean");
	pack_response_fields(&p, NULL, v_true);
	expect_resp(&p, ERR_BAD_REQUEST, "missing field 'result'");
	pack_response_fields(&p, "id", v_true);
	expect_resp(&p, ERR_BAD_REQUEST, "missing field 'id'");
	pack_response_fields(&p, "v", v_true);
	expect_resp(&p, ERR_BAD_REQUEST, "missing field 'v'");
}

/* Error bodies: a response with ok false and the given error map. */
static void
expect_error_body(const char *code, const char *message, size_t mlen,
    int want, const char *why_part)
{
	struct pk p;

	pk_init(&p);
	msgpack_pack_map(&p.pk, 4);
	msg_pack_cstr(&p.pk, "v");
	msgpack_pack_uint32(&p.pk, 1);
	msg_pack_cstr(&p.pk, "id");
	msgpack_pack_uint32(&p.pk, 3);
	msg_pack_cstr(&p.pk, "ok");
	msgpack_pack_false(&p.pk);
	msg_pack_cstr(&p.pk, "error");
	msgpack_pack_map(&p.pk, (code != NULL) + (message != NULL));
	if (code != NULL) {
		msg_pack_cstr(&p.pk, "code");
		msg_pack_cstr(&p.pk, code);
	}
	if (message != NULL) {
		msg_pack_cstr(&p.pk, "message");
		msgpack_pack_str(&p.pk, mlen);
		msgpack_pack_str_body(&p.pk, message, mlen);
	}
	expect_resp(&p, want, why_part);
}

static void
test_response_errors(void **state)
{
	char big[MSG_ERRMSG_MAX + 1];
	struct pk p;

	(void)state;
	memset(big, 'x', sizeof(big));
	expect_error_body("policy", "no", 2, 0, "");
	expect_error_body("some_future_code", "no", 2, 0, "");
	expect_error_body(NULL, "no", 2, ERR_BAD_REQUEST, "missing field 'code'");
	expect_error_body("Bad-Code", "no", 2, ERR_BAD_REQUEST, "field 'code'");
	expect_error_body("", "no", 2, ERR_BAD_REQUEST, "field 'code'");
	expect_error_body("policy", NULL, 0, ERR_BAD_REQUEST,
	    "missing field 'message'");
	expect_error_body("policy", big, MSG_ERRMSG_MAX, 0, "");
	expect_error_body("policy", big, MSG_ERRMSG_MAX + 1, ERR_BAD_REQUEST,
	    "field 'message' must be at most 256 bytes");
	expect_error_body("policy", "\xff", 1, ERR_BAD_REQUEST,
	    "field 'message' must be valid UTF-8");

	pk_init(&p);
	msgpack_pack_map(&p.pk, 4);
	msg_pack_cstr(&p.pk, "v");
	msgpack_pack_uint32(&p.pk, 2);
	msg_pack_cstr(&p.pk, "id");
	msgpack_pack_uint32(&p.pk, 3);
	msg_pack_cstr(&p.pk, "ok");
	msgpack_pack_true(&p.pk);
	msg_pack_cstr(&p.pk, "result");
	msgpack_pack_map(&p.pk, 0);
	expect_resp(&p, ERR_UNSUPPORTED_VERSION, "version 2");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_response_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
