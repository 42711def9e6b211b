/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Prints the wire bytes of the hello request as annotated hex, or decodes hex frames from stdin into readable messages. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

#define WIRE_INPUT_MAX (4u * 1024 * 1024)      /* bytes of hex read from stdin */
#define WIRE_BIN_SHOWN 32                       /* bytes of a bin value printed */

static void
usage(void)
{
	fprintf(stderr, "usage: wire-example          print the hello request frame\n"
	    "       wire-example decode   read hex frames on stdin, print the messages\n");
	exit(2);
}

/* Hex lines of 16 bytes, each prefixed. */
static void
print_hex(const char *prefix, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i % 16 == 0)
			printf("%s", prefix);
		printf("%02x%s", b[i], i % 16 == 15 || i + 1 == n ? "\n" : " ");
	}
}

static int
encode_hello(void)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint8_t *frame = NULL;
	size_t flen;
	uint32_t crc;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_request(&pk, 1, "hello", 2);
	msg_pack_cstr(&pk, "client");
	msg_pack_cstr(&pk, "signer-client");
	msg_pack_cstr(&pk, "versions");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint32(&pk, 1);
	if ((rc = msg_frame(&sb, &frame, &flen)) != 0) {
		fprintf(stderr, "wire-example: %s\n", err_str(rc));
		msgpack_sbuffer_destroy(&sb);
		return 1;
	}
	crc = frame_crc32((const uint8_t *)sb.data, sb.size);
	printf("# request {\"v\": 1, \"id\": 1, \"cmd\": \"hello\", \"args\": "
	    "{\"client\": \"signer-client\", \"versions\": [1]}}\n");
	printf("# msgpack payload, %zu bytes:\n", sb.size);
	print_hex("#   ", (const uint8_t *)sb.data, sb.size);
	printf("# CRC32 0x%08x, appended big-endian: %02x %02x %02x %02x\n",
	    crc, crc >> 24, (crc >> 16) & 0xff, (crc >> 8) & 0xff, crc & 0xff);
	printf("# frame on the wire: COBS(payload || CRC) and the 00 "
	    "delimiter, %zu bytes:\n", flen);
	print_hex("", frame, flen);
	free(frame);
	msgpack_sbuffer_destroy(&sb);
	return 0;
}

/* Read hex from stdin: digit pairs, blanks, and # comments. */
static uint8_t *
read_hex_stdin(size_t *len)
{
	uint8_t *out = malloc(WIRE_INPUT_MAX / 2);
	size_t n = 0, total = 0;
	int c, hi = -1, v;

	if (out == NULL)
		return NULL;
	while ((c = getchar()) != EOF && ++total <= WIRE_INPUT_MAX) {
		if (c == '#') {
			while ((c = getchar()) != EOF && c != '\n')
				;
			continue;
		}
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	*len = n;
	return out;
}

static void
print_str(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	bool utf8 = msg_utf8_valid(s, n);
	size_t i;

	putchar('"');
	for (i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			printf("\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			printf("\\u%04x", p[i]);
		else if (p[i] >= 0x80 && !utf8)
			printf("\\x%02x", p[i]);
		else
			putchar(p[i]);
	}
	putchar('"');
}

static void
print_object(const msgpack_object *o)
{
	uint32_t i;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		printf("null");
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		printf("%s", o->via.boolean ? "true" : "false");
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		printf("%llu", (unsigned long long)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		printf("%lld", (long long)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		printf("%g", o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		print_str(o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		printf("<bin %u bytes:", (unsigned)o->via.bin.size);
		for (i = 0; i < o->via.bin.size && i < WIRE_BIN_SHOWN; i++)
			printf(" %02x", (unsigned char)o->via.bin.ptr[i]);
		printf("%s>", o->via.bin.size > WIRE_BIN_SHOWN ? " ..." : "");
		break;
	case MSGPACK_OBJECT_EXT:
		printf("<ext type %d, %u bytes>", o->via.ext.type,
		    (unsigned)o->via.ext.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		putchar('[');
		for (i = 0; i < o->via.array.size; i++) {
			printf("%s", i > 0 ? ", " : "");
			print_object(&o->via.array.ptr[i]);
		}
		putchar(']');
		break;
	case MSGPACK_OBJECT_MAP:
		putchar('{');
		for (i = 0; i < o->via.map.size; i++) {
			printf("%s", i > 0 ? ", " : "");
			print_object(&o->via.map.ptr[i].key);
			printf(": ");
			print_object(&o->via.map.ptr[i].val);
		}
		putchar('}');
		break;
	}
}

/* One payload: show it, then say whether it is a valid request or response. */
static void
show_payload(const uint8_t *p, size_t len)
{
	char why[MSG_ERRMSG_MAX], why2[MSG_ERRMSG_MAX];
	struct msg m;
	int rc, rc2;

	msg_init(&m);
	rc = msg_decode_request(p, len, &m, why, sizeof(why));
	if (rc == 0 || rc == ERR_BAD_REQUEST || rc == ERR_UNSUPPORTED_VERSION) {
		print_object(&m.up.data);
		putchar('\n');
	}
	if (rc == 0) {
		printf("  valid request: id %u, cmd %.*s\n", (unsigned)m.id,
		    (int)m.cmd_len, m.cmd);
		msg_free(&m);
		return;
	}
	rc2 = msg_decode_response(p, len, &m, why2, sizeof(why2));
	if (rc2 == 0)
		printf("  valid response: id %u, %s\n", (unsigned)m.id,
		    m.ok ? "ok" : "error");
	else if (rc == ERR_DECODE)
		printf("  not a message (%s): %s\n", err_wire_code(rc), why);
	else
		printf("  invalid request (%s): %s\n", err_wire_code(rc), why);
	msg_free(&m);
}

static int
decode_stdin(void)
{
	struct frame_decoder *d = frame_decoder_new(FRAME_MAX_LIMIT);
	size_t len, pos = 0, used, plen, nframe = 0;
	const uint8_t *p;
	uint8_t *buf;
	int rc;

	buf = read_hex_stdin(&len);
	if (d == NULL || buf == NULL) {
		fprintf(stderr, "wire-example: out of memory\n");
		return 1;
	}
	while (pos < len) {
		rc = frame_decoder_push(d, buf + pos, len - pos, &used, &p, &plen);
		pos += used;
		if (rc == 0)
			break;
		nframe++;
		if (rc < 0) {
			printf("frame %zu: bad frame: %s\n", nframe, err_str(rc));
			continue;
		}
		printf("frame %zu: %zu-byte payload, CRC32 0x%08x ok\n", nframe,
		    plen, frame_crc32(p, plen));
		show_payload(p, plen);
	}
	if (nframe == 0)
		printf("no complete frame in the input\n");
	free(buf);
	frame_decoder_free(d);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 1)
		return encode_hello();
	if (argc == 2 && strcmp(argv[1], "decode") == 0)
		return decode_stdin();
	usage();
	return 2;
}
