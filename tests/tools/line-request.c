/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Test tool: sends requests (good and hostile) to signerd over a serial line and prints each response as one line of text. */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"

#define LR_TIMEOUT_MS 20000             /* wait for one response */
#define LR_FILE_MAX (1024 * 1024)       /* largest CSR file read */
#define LR_WHY_MAX 512

static int fd = -1;
static struct frame_decoder *dec;
static uint32_t next_id = 1;
static uint8_t *last_bin;               /* the "cert" or "data" bin of the last response */
static size_t last_bin_len;

static void
usage(void)
{
	fprintf(stderr, "usage: line-request DEVICE OP...\n"
	    "  hello | health | ca | unknown | badversion\n"
	    "  sign:PROFILE:CSRFILE:REF:CN:OUTFILE   signs:PROFILE:CSRFILE:N (pipelined)\n"
	    "  revoke:ISSUER:SERIAL:REF[:REASON]     cert:ISSUER:SERIAL\n"
	    "  crl:ISSUER:OUTFILE                    (fetched in chunks)\n"
	    "  garbage | badcrc | bomb | oversize\n");
	exit(2);
}

static void
send_bytes(const uint8_t *b, size_t n)
{
	ssize_t w;
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	while (n > 0) {
		w = write(fd, b, n);
		if (w < 0 && errno == EAGAIN) {
			(void)poll(&p, 1, 1000);
			continue;
		}
		if (w < 0) {
			perror("line-request: write");
			exit(1);
		}
		b += w;
		n -= (size_t)w;
	}
}

static void
send_sb(msgpack_sbuffer *sb)
{
	uint8_t *f;
	size_t flen;

	if (msg_frame(sb, &f, &flen) != 0) {
		fprintf(stderr, "line-request: cannot frame\n");
		exit(1);
	}
	send_bytes(f, flen);
	free(f);
	msgpack_sbuffer_clear(sb);
}

static void
print_obj(const msgpack_object *o)
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
	case MSGPACK_OBJECT_STR:
		printf("\"%.*s\"", (int)o->via.str.size, o->via.str.ptr);
		break;
	case MSGPACK_OBJECT_BIN:
		printf("<bin %u>", (unsigned)o->via.bin.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		printf("[");
		for (i = 0; i < o->via.array.size; i++) {
			printf("%s", i > 0 ? ", " : "");
			print_obj(&o->via.array.ptr[i]);
		}
		printf("]");
		break;
	case MSGPACK_OBJECT_MAP:
		printf("{");
		for (i = 0; i < o->via.map.size; i++) {
			printf("%s", i > 0 ? ", " : "");
			print_obj(&o->via.map.ptr[i].key);
			printf(": ");
			print_obj(&o->via.map.ptr[i].val);
		}
		printf("}");
		break;
	default:
		printf("<other>");
	}
}

static void
keep_bin(const struct msg *m, const char *key)
{
	const uint8_t *b;
	size_t n;

	if (msg_get_bin(m->result, key, false, FRAME_MAX_LIMIT, &b, &n, NULL,
	    0) == 1) {
		free(last_bin);
		if ((last_bin = malloc(n + 1)) == NULL) {
			fprintf(stderr, "line-request: out of memory\n");
			exit(1);
		}
		memcpy(last_bin, b, n);
		last_bin_len = n;
	}
}

/* Read and print one response; returns 1 if ok, 0 if an error response. */
static int
recv_one(struct msg *m)
{
	static uint8_t buf[4096];
	static size_t off, len;
	const uint8_t *p;
	size_t used, plen;
	char why[LR_WHY_MAX];
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	ssize_t r;
	int rc;

	for (;;) {
		while (off < len) {
			rc = frame_decoder_push(dec, buf + off, len - off, &used,
			    &p, &plen);
			off += used;
			if (rc < 0)
				printf("bad frame from server: %s\n", err_str(rc));
			if (rc != 1)
				continue;
			msg_free(m);
			msg_init(m);
			if ((rc = msg_decode_response(p, plen, m, why,
			    sizeof(why))) != 0) {
				printf("bad response: %s\n", why);
				return 0;
			}
			printf("id %u %s ", (unsigned)m->id, m->ok ? "ok" : "error");
			if (m->ok) {
				print_obj(m->result);
				keep_bin(m, "cert");
				keep_bin(m, "data");
			} else {
				printf("%.*s: %.*s", (int)m->err_code_len,
				    m->err_code, (int)m->err_message_len,
				    m->err_message);
			}
			printf("\n");
			fflush(stdout);
			return m->ok ? 1 : 0;
		}
		off = len = 0;
		if (poll(&pf, 1, LR_TIMEOUT_MS) <= 0) {
			printf("timeout\n");
			exit(1);
		}
		r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EAGAIN)
			continue;
		if (r <= 0) {
			printf("line closed\n");
			exit(1);
		}
		len = (size_t)r;
	}
}

static uint8_t *
read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = malloc(LR_FILE_MAX);

	if (f == NULL || b == NULL) {
		perror(path);
		exit(1);
	}
	*n = fread(b, 1, LR_FILE_MAX, f);
	fclose(f);
	return b;
}

static void
write_file(const char *path, const uint8_t *b, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
pack_kv(msgpack_packer *pk, const char *k, const char *v)
{
	msg_pack_cstr(pk, k);
	msg_pack_cstr(pk, v);
}

static void
pack_sign(msgpack_packer *pk, const char *profile, const uint8_t *csr,
    size_t n, const char *ref, const char *cn)
{
	msg_pack_request(pk, next_id++, "sign", 5);
	pack_kv(pk, "profile", profile);
	msg_pack_cstr(pk, "csr");
	msgpack_pack_bin(pk, n);
	msgpack_pack_bin_body(pk, csr, n);
	pack_kv(pk, "ref", ref);
	msg_pack_cstr(pk, "subject");
	msgpack_pack_array(pk, 1);
	msgpack_pack_array(pk, 2);
	pack_kv(pk, "CN", cn);
	msg_pack_cstr(pk, "san");
	msgpack_pack_array(pk, 1);
	msgpack_pack_array(pk, 2);
	pack_kv(pk, "dns", cn);
}

/* Split s at ':' into at most max fields (s is changed). */
static size_t
split(char *s, char **f, size_t max)
{
	size_t n = 0;

	while (n < max) {
		f[n++] = s;
		if ((s = strchr(s, ':')) == NULL)
			break;
		*s++ = '\0';
	}
	return n;
}

/* Send hostile bytes; the server answers each with an error. */
static int
op_hostile(const char *op, msgpack_packer *pk, msgpack_sbuffer *sb,
    struct msg *m)
{
	static const uint8_t garbage[] = { 0x13, 0x37, 0xff, 0xfe, 0x42, 0x00 };
	static const uint8_t bomb[] = { 0xdd, 0x01, 0x00, 0x00, 0x00 };
	uint8_t f[FRAME_ENCODED_MAX(sizeof(bomb))], *big;
	size_t flen, i;

	if (strcmp(op, "garbage") == 0) {
		send_bytes(garbage, sizeof(garbage));
	} else if (strcmp(op, "bomb") == 0) {
		(void)frame_encode(bomb, sizeof(bomb), f, sizeof(f), &flen);
		send_bytes(f, flen);
	} else if (strcmp(op, "badcrc") == 0) {
		uint8_t *fr;

		msg_pack_request(pk, next_id++, "hello", 0);
		(void)msg_frame(sb, &fr, &flen);
		msgpack_sbuffer_clear(sb);
		fr[flen - 3] ^= 0x01;   /* inside the CRC: the frame stays valid COBS */
		if (fr[flen - 3] == 0)
			fr[flen - 3] = 0x02;
		send_bytes(fr, flen);
		free(fr);
	} else if (strcmp(op, "oversize") == 0) {
		/* 128 KiB without a delimiter, then one. */
		big = malloc(128 * 1024 + 1);
		for (i = 0; i < 128 * 1024; i++)
			big[i] = 0x55;
		big[i] = 0x00;
		send_bytes(big, 128 * 1024 + 1);
		free(big);
	} else {
		return -1;
	}
	return recv_one(m);
}

static int
op_simple(const char *op, msgpack_packer *pk, msgpack_sbuffer *sb,
    struct msg *m)
{
	if (strcmp(op, "badversion") == 0) {
		/* a well-formed hello of protocol version 7 */
		msgpack_pack_map(pk, 4);
		msg_pack_cstr(pk, "v");
		msgpack_pack_uint32(pk, 7);
		msg_pack_cstr(pk, "id");
		msgpack_pack_uint32(pk, next_id++);
		pack_kv(pk, "cmd", "hello");
		msg_pack_cstr(pk, "args");
		msgpack_pack_map(pk, 0);
	} else if (strcmp(op, "hello") == 0) {
		msg_pack_request(pk, next_id++, "hello", 2);
		pack_kv(pk, "client", "line-request");
		msg_pack_cstr(pk, "versions");
		msgpack_pack_array(pk, 1);
		msgpack_pack_uint32(pk, 1);
	} else if (strcmp(op, "health") == 0 || strcmp(op, "ca") == 0 ||
	    strcmp(op, "unknown") == 0) {
		msg_pack_request(pk, next_id++, strcmp(op, "unknown") == 0 ?
		    "frobnicate" : op, 0);
	} else {
		return -1;
	}
	send_sb(sb);
	return recv_one(m);
}

static int
op_crl(char **f, msgpack_packer *pk, msgpack_sbuffer *sb, struct msg *m)
{
	uint8_t *all = NULL;
	uint64_t size = 0, off = 0;
	int ok;

	do {
		msg_pack_request(pk, next_id++, "crl", 3);
		pack_kv(pk, "issuer", f[1]);
		msg_pack_cstr(pk, "offset");
		msgpack_pack_uint64(pk, off);
		msg_pack_cstr(pk, "length");
		msgpack_pack_uint32(pk, 256);  /* small chunks: exercise the paging */
		send_sb(sb);
		if ((ok = recv_one(m)) != 1)
			break;
		(void)msg_get_uint(m->result, "size", true, 0, UINT32_MAX,
		    &size, NULL, 0);
		if (all == NULL)
			all = malloc(size + 1);
		memcpy(all + off, last_bin, last_bin_len);
		off += last_bin_len;
	} while (off < size && last_bin_len > 0);
	if (ok == 1)
		write_file(f[2], all, (size_t)size);
	free(all);
	return ok;
}

static int
op_args(char *op, msgpack_packer *pk, msgpack_sbuffer *sb, struct msg *m)
{
	char *f[6] = { NULL };
	uint8_t *csr;
	size_t n, csrlen, i;
	int ok = 1;

	n = split(op, f, 6);
	if (strcmp(f[0], "sign") == 0 && n == 6) {
		csr = read_file(f[2], &csrlen);
		pack_sign(pk, f[1], csr, csrlen, f[3], f[4]);
		free(csr);
		send_sb(sb);
		if ((ok = recv_one(m)) == 1)
			write_file(f[5], last_bin, last_bin_len);
	} else if (strcmp(f[0], "signs") == 0 && n == 4) {
		char ref[64], cn[64];
		size_t count = strtoul(f[3], NULL, 10);

		csr = read_file(f[2], &csrlen);
		for (i = 0; i < count; i++) {
			snprintf(ref, sizeof(ref), "pipe-%zu", i);
			snprintf(cn, sizeof(cn), "p%zu.demo.invalid", i);
			pack_sign(pk, f[1], csr, csrlen, ref, cn);
			send_sb(sb);
		}
		free(csr);
		for (i = 0; i < count; i++)
			ok &= recv_one(m);
	} else if (strcmp(f[0], "revoke") == 0 && (n == 4 || n == 5)) {
		msg_pack_request(pk, next_id++, "revoke", n == 5 ? 4 : 3);
		pack_kv(pk, "issuer", f[1]);
		pack_kv(pk, "serial", f[2]);
		pack_kv(pk, "ref", f[3]);
		if (n == 5)
			pack_kv(pk, "reason", f[4]);
		send_sb(sb);
		ok = recv_one(m);
	} else if (strcmp(f[0], "cert") == 0 && n == 3) {
		msg_pack_request(pk, next_id++, "cert", 2);
		pack_kv(pk, "issuer", f[1]);
		pack_kv(pk, "serial", f[2]);
		send_sb(sb);
		ok = recv_one(m);
	} else if (strcmp(f[0], "crl") == 0 && n == 3) {
		ok = op_crl(f, pk, sb, m);
	} else {
		usage();
	}
	return ok;
}

int
main(int argc, char **argv)
{
	char why[LR_WHY_MAX];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct msg m;
	uint8_t flush = FRAME_DELIM;
	int i, rc, ok = 1;

	if (argc < 3)
		usage();
	if (line_open(argv[1], 115200, false, &fd, why, sizeof(why)) != 0) {
		fprintf(stderr, "line-request: %s\n", why);
		return 1;
	}
	dec = frame_decoder_new(FRAME_MAX_DEFAULT * 4);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_init(&m);
	send_bytes(&flush, 1);
	for (i = 2; i < argc; i++) {
		if ((rc = op_hostile(argv[i], &pk, &sb, &m)) < 0 &&
		    (rc = op_simple(argv[i], &pk, &sb, &m)) < 0)
			rc = op_args(argv[i], &pk, &sb, &m);
		ok &= rc == 1;
	}
	msg_free(&m);
	msgpack_sbuffer_destroy(&sb);
	frame_decoder_free(dec);
	free(last_bin);
	close(fd);
	return ok ? 0 : 3;
}
