/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Error codes: human descriptions and the mapping to and from the wire's error code strings. */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto/proto.h"

struct err_desc {
	int err;
	const char *wire;       /* wire code, or NULL: "internal" */
	const char *text;
};

static const struct err_desc err_table[] = {
	{ ERR_OK, NULL, "success" },
	{ ERR_NOMEM, NULL, "out of memory" },
	{ ERR_INVAL, NULL, "invalid argument" },
	{ ERR_NOSPACE, NULL, "output buffer too small" },
	{ ERR_SYSTEM, NULL, "system call failed" },
	{ ERR_FRAME_COBS, "frame", "frame is not valid COBS" },
	{ ERR_FRAME_CRC, "frame", "frame CRC mismatch" },
	{ ERR_FRAME_OVERSIZE, "frame", "frame exceeds the maximum size" },
	{ ERR_DECODE, "decode", "payload is not one well-formed msgpack object" },
	{ ERR_BAD_REQUEST, "bad_request", "message field missing, mistyped or out of range" },
	{ ERR_UNKNOWN_CMD, "unknown_cmd", "unknown command" },
	{ ERR_UNSUPPORTED_VERSION, "unsupported_version", "unsupported protocol version" },
	{ ERR_POLICY, "policy", "refused by policy" },
	{ ERR_NOT_FOUND, "not_found", "not found" },
	{ ERR_CONFLICT, "conflict", "conflicts with recorded state" },
	{ ERR_HSM, "hsm", "HSM failure" },
	{ ERR_REPO, "repo", "repository failure" },
	{ ERR_BUSY, "busy", "busy, try again later" },
	{ ERR_INTERNAL, "internal", "internal error" },
	{ ERR_CONFIG, NULL, "configuration error" },
	{ ERR_TIMEOUT, NULL, "timed out" },
	{ ERR_LINK, NULL, "link down or hung up" },
	{ ERR_PIN, NULL, "wrong or locked PIN" },
};

#define ERR_TABLE_LEN (sizeof(err_table) / sizeof(err_table[0]))

/* Wire codes that only one enum value maps back to ("frame" has three). */
static const struct {
	const char *wire;
	int err;
} wire_table[] = {
	{ "frame", ERR_FRAME_CRC },
	{ "decode", ERR_DECODE },
	{ "bad_request", ERR_BAD_REQUEST },
	{ "unknown_cmd", ERR_UNKNOWN_CMD },
	{ "unsupported_version", ERR_UNSUPPORTED_VERSION },
	{ "policy", ERR_POLICY },
	{ "not_found", ERR_NOT_FOUND },
	{ "conflict", ERR_CONFLICT },
	{ "hsm", ERR_HSM },
	{ "repo", ERR_REPO },
	{ "busy", ERR_BUSY },
	{ "internal", ERR_INTERNAL },
};

#define WIRE_TABLE_LEN (sizeof(wire_table) / sizeof(wire_table[0]))

static const struct err_desc *
err_find(int err)
{
	size_t i;

	for (i = 0; i < ERR_TABLE_LEN; i++)
		if (err_table[i].err == err)
			return &err_table[i];
	return NULL;
}

const char *
err_str(int err)
{
	const struct err_desc *e = err_find(err);

	return e != NULL ? e->text : "unknown error";
}

const char *
err_wire_code(int err)
{
	const struct err_desc *e = err_find(err);

	if (e == NULL || e->wire == NULL)
		return "internal";
	return e->wire;
}

int
err_from_wire_code(const char *code, size_t len)
{
	size_t i;

	if (code == NULL)
		return ERR_INTERNAL;
	for (i = 0; i < WIRE_TABLE_LEN; i++) {
		if (strlen(wire_table[i].wire) == len &&
		    memcmp(wire_table[i].wire, code, len) == 0)
			return wire_table[i].err;
	}
	return ERR_INTERNAL;
}

void
err_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}
