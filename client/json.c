/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: printing results received from the signer as JSON. */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "client/client.h"

static void
json_str(FILE *f, const char *s, size_t len)
{
	bool utf8 = msg_utf8_valid(s, len);
	unsigned char c;
	size_t i;

	fputc('"', f);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
			/* Bytes that are not UTF-8 are shown as code points 0x80..0xff. */
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
json_bin(FILE *f, const char *p, size_t len)
{
	unsigned char *b64;

	/* 4 output bytes per 3 input bytes, plus a NUL. */
	if (len > (size_t)INT_MAX / 4 * 3 ||
	    (b64 = malloc(len / 3 * 4 + 5)) == NULL) {
		fputs("null", f);
		return;
	}
	EVP_EncodeBlock(b64, (const unsigned char *)p, (int)len);
	fprintf(f, "\"%s\"", b64);
	free(b64);
}

void
client_json_print(FILE *f, const msgpack_object *o)
{
	uint32_t i;
	bool first = true;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		fputs("null", f);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(o->via.boolean ? "true" : "false", f);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fprintf(f, "%llu", (unsigned long long)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		fprintf(f, "%lld", (long long)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		fprintf(f, "%.17g", o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		json_str(f, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		json_bin(f, o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		fputc('[', f);
		for (i = 0; i < o->via.array.size; i++) {
			if (i > 0)
				fputs(", ", f);
			client_json_print(f, &o->via.array.ptr[i]);
		}
		fputc(']', f);
		break;
	case MSGPACK_OBJECT_MAP:
		fputc('{', f);
		for (i = 0; i < o->via.map.size; i++) {
			if (o->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
				continue;
			if (!first)
				fputs(", ", f);
			first = false;
			json_str(f, o->via.map.ptr[i].key.via.str.ptr,
			    o->via.map.ptr[i].key.via.str.size);
			fputs(": ", f);
			client_json_print(f, &o->via.map.ptr[i].val);
		}
		fputc('}', f);
		break;
	default:
		fputs("null", f);
		break;
	}
}
