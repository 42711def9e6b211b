/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Test tool: sends requests (good, pipelined and hostile) to signerd over a serial line and prints each response as one line of text. */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "proto/proto.h"

#define LR_TIMEOUT_MS 20000             /* default wait for one response */
#define LR_TIMEOUT_MAX_MS 600000        /* longest wait accepted by -t */
#define LR_FILE_MAX (1024 * 1024)       /* largest CSR file read */
#define LR_WHY_MAX 512
#define LR_READ_CHUNK 4096              /* bytes read from the line at a time */
#define LR_PENDING_MAX 4096             /* requests awaiting their response */
#define LR_REF_MAX 64                   /* a ref or a name built by the tool */
#define LR_PREFIX_MAX 32                /* a ref or name prefix given on the command line */
#define LR_RANDOM_MAX (1024 * 1024)     /* most random bytes sent at once */
#define LR_OVERSIZE_LEN (128 * 1024)    /* bytes of the oversize frame, twice the default maximum */
#define LR_CRL_CHUNK 256                /* small CRL chunks: exercise the paging */

#define LR_EXIT_OK 0
#define LR_EXIT_FAIL 1
#define LR_EXIT_USAGE 2
#define LR_EXIT_ERRORS 3                /* an error response arrived */
#define LR_EXIT_CUT 4                   /* -c: the line closed or timed out */
#define LR_EXIT_MISMATCH 5              /* a response had an unexpected id or result */

/* A request sent and not yet answered. */
struct lr_pending {
	uint32_t id;            /* the id its response carries: 0 for an unreadable request */
	const char *key;        /* a key its result must have; NULL: an error is due */
	char ref[LR_REF_MAX];   /* a sign's ref, for the record file */
};

static int fd = -1;
static struct frame_decoder *dec;
static uint32_t first_id = 1, next_id = 1;
static int timeout_ms = LR_TIMEOUT_MS;
static int allow_cut;
static int pipeline;                    /* -p: read answers only at the end */
static FILE *record;                    /* -r: "REF SERIAL SHA256" per certificate */
static struct lr_pending pend[LR_PENDING_MAX];
static size_t pend_head, pend_count;
static struct msg resp;                 /* the last response */
static size_t n_answered, n_errors;
static int mismatch;
static uint8_t *last_bin;               /* the "cert" or "data" bin of the last response */
static size_t last_bin_len;
static uint64_t last_size;              /* the "size" of the last crl result */

static int recv_one(void);

static void
usage(void)
{
	fprintf(stderr, "usage: line-request [-cp] [-i FIRSTID] [-r FILE] [-t MS] DEVICE OP...\n"
	    "  -c cut line (closed, timeout) exits %d after printing the responses counted\n"
	    "  -i first request id; other ids answered are printed as stale and skipped\n"
	    "  -p send every OP before reading the answers (sign: and crl: still wait)\n"
	    "  -r append \"REF SERIAL SHA256\" of each certificate signed to FILE\n"
	    "  -t wait at most MS for each response\n"
	    "  hello | health | ca | unknown | badversion\n"
	    "  sign:PROFILE:CSRFILE:REF:CN:OUTFILE\n"
	    "  signs:PROFILE:CSRFILE:N[:REFPREFIX[:NAMEPREFIX]]   (pipelined)\n"
	    "  revoke:ISSUER:SERIAL:REF[:REASON]     cert:ISSUER:SERIAL\n"
	    "  crl:ISSUER:OUTFILE (fetched in chunks)   crlhead:ISSUER (its first chunk)\n"
	    "  crlpin:ISSUER:NUMBER:OFFSET[:err]      a chunk of CRL NUMBER (err: refused)\n"
	    "  garbage | badcrc | bomb | oversize | random:NBYTES:SEED | shape:KIND\n",
	    LR_EXIT_CUT);
	exit(LR_EXIT_USAGE);
}

/* The line closed or went silent: the end of the run. */
static void
cut(const char *what)
{
	printf("%s after %zu responses\n", what, n_answered);
	exit(allow_cut ? LR_EXIT_CUT : LR_EXIT_FAIL);
}

/*
 * Write all of b. While the line is full, answers are read as they come:
 * a relay such as socat stops carrying requests while its answers wait.
 */
static void
send_bytes(const uint8_t *b, size_t n)
{
	ssize_t w;
	struct pollfd p = { .fd = fd };

	while (n > 0) {
		w = write(fd, b, n);
		if (w < 0 && errno == EAGAIN) {
			p.events = POLLOUT | (pend_count > 0 ? POLLIN : 0);
			if (poll(&p, 1, timeout_ms) <= 0)
				cut("write timeout");
			if (p.revents & (POLLIN | POLLHUP))
				(void)recv_one();
			continue;
		}
		if (w < 0)
			cut("write failed");
		b += w;
		n -= (size_t)w;
	}
}

/* The response to the request about to be sent carries id and, when ok, key. */
static void
expect(uint32_t id, const char *key, const char *ref)
{
	struct lr_pending *p;

	if (pend_count == LR_PENDING_MAX) {
		fprintf(stderr, "line-request: more than %d requests pending\n",
		    LR_PENDING_MAX);
		exit(LR_EXIT_USAGE);
	}
	p = &pend[(pend_head + pend_count++) % LR_PENDING_MAX];
	p->id = id;
	p->key = key;
	snprintf(p->ref, sizeof(p->ref), "%s", ref != NULL ? ref : "");
}

static void
send_sb(msgpack_sbuffer *sb)
{
	uint8_t *f;
	size_t flen;

	if (msg_frame(sb, &f, &flen) != 0) {
		fprintf(stderr, "line-request: cannot frame\n");
		exit(LR_EXIT_FAIL);
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
		if ((last_bin = malloc(n + 1)) == NULL)
			exit(LR_EXIT_FAIL);
		memcpy(last_bin, b, n);
		last_bin_len = n;
	}
}

/* -r: one line per certificate signed, so that two runs can be compared. */
static void
record_cert(const struct msg *m, const struct lr_pending *p)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	const uint8_t *der;
	const char *serial;
	size_t derlen, slen, i;

	if (record == NULL || p->ref[0] == '\0' ||
	    msg_get_bin(m->result, "cert", true, FRAME_MAX_LIMIT, &der,
	    &derlen, NULL, 0) != 1 ||
	    msg_get_str(m->result, "serial", true, LR_REF_MAX, &serial,
	    &slen, NULL, 0) != 1)
		return;
	SHA256(der, derlen, md);
	fprintf(record, "%s %.*s ", p->ref, (int)slen, serial);
	for (i = 0; i < sizeof(md); i++)
		fprintf(record, "%02x", md[i]);
	fprintf(record, "\n");
}

/* Print a response and check it against the oldest pending request. */
static int
answered(const struct msg *m)
{
	struct lr_pending *p = &pend[pend_head];

	printf("id %u %s ", (unsigned)m->id, m->ok ? "ok" : "error");
	if (m->ok)
		print_obj(m->result);
	else
		printf("%.*s: %.*s", (int)m->err_code_len, m->err_code,
		    (int)m->err_message_len, m->err_message);
	printf("\n");
	n_answered++;
	if (pend_count == 0) {
		printf("mismatch: a response to no request\n");
		mismatch = 1;
		return 0;
	}
	pend_head = (pend_head + 1) % LR_PENDING_MAX;
	pend_count--;
	if (m->id != p->id || (m->ok && (p->key == NULL ||
	    msg_map_get(m->result, p->key) == NULL))) {
		printf("mismatch: expected id %u %s\n", (unsigned)p->id,
		    p->key != NULL ? p->key : "error");
		mismatch = 1;
	}
	if (!m->ok) {
		n_errors++;
		return 0;
	}
	keep_bin(m, "cert");
	keep_bin(m, "data");
	(void)msg_get_uint(m->result, "size", false, 0, UINT32_MAX, &last_size,
	    NULL, 0);
	record_cert(m, p);
	return 1;
}

/* The next frame from the line; cut() when it does not come. */
static void
recv_frame(const uint8_t **payload, size_t *plen)
{
	static uint8_t buf[LR_READ_CHUNK];
	static size_t off, len;
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	size_t used;
	ssize_t r;
	int rc;

	for (;;) {
		while (off < len) {
			rc = frame_decoder_push(dec, buf + off, len - off, &used,
			    payload, plen);
			off += used;
			if (rc < 0)
				printf("bad frame from server: %s\n", err_str(rc));
			if (rc == 1)
				return;
		}
		off = len = 0;
		fflush(stdout);
		if (poll(&pf, 1, timeout_ms) <= 0)
			cut("timeout");
		r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EAGAIN)
			continue;
		if (r <= 0)
			cut("line closed");
		len = (size_t)r;
	}
}

/* Read, print and check one response into resp; returns 1 if ok, 0 if not. */
static int
recv_one(void)
{
	struct msg *m = &resp;
	const uint8_t *p;
	size_t plen;
	char why[LR_WHY_MAX];
	int rc;

	for (;;) {
		recv_frame(&p, &plen);
		msg_free(m);
		msg_init(m);
		if (msg_decode_response(p, plen, m, why, sizeof(why)) != 0) {
			printf("bad response: %s\n", why);
			mismatch = 1;
			continue;
		}
		/*
		 * An answer to an earlier run on this line, before a cut: an id
		 * not ours, or id 0 (a frame cut at the crash) while ours are due.
		 */
		if (m->id != 0 ? m->id < first_id || m->id >= next_id :
		    pend_count > 0 && pend[pend_head].id != 0) {
			printf("stale id %u %s\n", (unsigned)m->id,
			    m->ok ? "ok" : "error");
			continue;
		}
		rc = answered(m);
		fflush(stdout);
		return rc;
	}
}

/* Receive the answers to every pending request; 1 when all are ok. */
static int
recv_all(void)
{
	size_t errors = n_errors;

	while (pend_count > 0)
		(void)recv_one();
	return n_errors == errors;
}

static uint8_t *
read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = malloc(LR_FILE_MAX);

	if (f == NULL || b == NULL) {
		perror(path);
		exit(LR_EXIT_FAIL);
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
		exit(LR_EXIT_FAIL);
	}
}

/* A decimal count in 1..max, or usage(). */
static size_t
parse_count(const char *s, size_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max)
		usage();
	return (size_t)v;
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
	uint32_t id = next_id++;

	msg_pack_request(pk, id, "sign", 5);
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
	expect(id, "cert", ref);
}

static void
pack_revoke(msgpack_packer *pk, const char *issuer, const char *serial,
    const char *ref, const char *reason)
{
	uint32_t id = next_id++;

	msg_pack_request(pk, id, "revoke", reason != NULL ? 4 : 3);
	pack_kv(pk, "issuer", issuer);
	pack_kv(pk, "serial", serial);
	pack_kv(pk, "ref", ref);
	if (reason != NULL)
		pack_kv(pk, "reason", reason);
	expect(id, "revoked_at", NULL);
}

static void
pack_cert(msgpack_packer *pk, const char *issuer, const char *serial)
{
	uint32_t id = next_id++;

	msg_pack_request(pk, id, "cert", 2);
	pack_kv(pk, "issuer", issuer);
	pack_kv(pk, "serial", serial);
	expect(id, "status", NULL);
}

/* A crl chunk request; number 0: not pinned; fails: an error is due. */
static void
pack_crl_pinned(msgpack_packer *pk, const char *issuer, uint64_t off,
    uint64_t number, bool fails)
{
	uint32_t id = next_id++;

	msg_pack_request(pk, id, "crl", number > 0 ? 4 : 3);
	pack_kv(pk, "issuer", issuer);
	msg_pack_cstr(pk, "offset");
	msgpack_pack_uint64(pk, off);
	msg_pack_cstr(pk, "length");
	msgpack_pack_uint32(pk, LR_CRL_CHUNK);
	if (number > 0) {
		msg_pack_cstr(pk, "number");
		msgpack_pack_uint64(pk, number);
	}
	expect(id, fails ? NULL : "number", NULL);
}

static void
pack_crl(msgpack_packer *pk, const char *issuer, uint64_t off)
{
	pack_crl_pinned(pk, issuer, off, 0, false);
}

/* A request without arguments but hello's; key as for expect(). */
static void
pack_plain(msgpack_packer *pk, const char *cmd, const char *key)
{
	uint32_t id = next_id++;

	if (strcmp(cmd, "hello") == 0) {
		msg_pack_request(pk, id, "hello", 2);
		pack_kv(pk, "client", "line-request");
		msg_pack_cstr(pk, "versions");
		msgpack_pack_array(pk, 1);
		msgpack_pack_uint32(pk, MSG_VERSION);
	} else {
		msg_pack_request(pk, id, cmd, 0);
	}
	expect(id, key, NULL);
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

/* splitmix64: a small seeded generator, the same bytes on every machine. */
static uint64_t
lr_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* NBYTES seeded random bytes, 0x00 among them, then a 0x00: one frame error per piece. */
static void
op_random(char **f)
{
	uint8_t *b;
	uint64_t seed;
	size_t n = parse_count(f[1], LR_RANDOM_MAX), i, frames = 0;

	seed = (uint64_t)parse_count(f[2], SIZE_MAX);
	if ((b = malloc(n + 1)) == NULL)
		exit(LR_EXIT_FAIL);
	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(lr_random(&seed) >> 56);
	b[n] = FRAME_DELIM;
	/* Each 0x00 that ends a non-empty piece ends one bad frame. */
	for (i = 1; i <= n; i++)
		if (b[i] == FRAME_DELIM && b[i - 1] != FRAME_DELIM)
			frames++;
	printf("random: %zu bytes, %zu frames\n", n, frames);
	for (i = 0; i < frames; i++)
		expect(0, NULL, NULL);
	send_bytes(b, n + 1);
	free(b);
}

/* Send hostile bytes; the server answers each bad frame with an error. */
static int
op_hostile(const char *op, msgpack_packer *pk, msgpack_sbuffer *sb)
{
	static const uint8_t garbage[] = { 0x13, 0x37, 0xff, 0xfe, 0x42, 0x00 };
	static const uint8_t bomb[] = { 0xdd, 0x01, 0x00, 0x00, 0x00 };
	uint8_t f[FRAME_ENCODED_MAX(sizeof(bomb))], *big, *fr;
	size_t flen;

	if (strcmp(op, "garbage") == 0) {
		send_bytes(garbage, sizeof(garbage));
	} else if (strcmp(op, "bomb") == 0) {
		(void)frame_encode(bomb, sizeof(bomb), f, sizeof(f), &flen);
		send_bytes(f, flen);
	} else if (strcmp(op, "badcrc") == 0) {
		msg_pack_request(pk, next_id++, "hello", 0);
		(void)msg_frame(sb, &fr, &flen);
		msgpack_sbuffer_clear(sb);
		fr[flen - 3] ^= 0x01;   /* inside the CRC: the frame stays valid COBS */
		if (fr[flen - 3] == 0)
			fr[flen - 3] = 0x02;
		send_bytes(fr, flen);
		free(fr);
	} else if (strcmp(op, "oversize") == 0) {
		/* Twice the default maximum without a delimiter, then one. */
		if ((big = malloc(LR_OVERSIZE_LEN + 1)) == NULL)
			exit(LR_EXIT_FAIL);
		memset(big, 0x55, LR_OVERSIZE_LEN);
		big[LR_OVERSIZE_LEN] = FRAME_DELIM;
		send_bytes(big, LR_OVERSIZE_LEN + 1);
		free(big);
	} else {
		return -1;
	}
	expect(0, NULL, NULL);
	return 0;
}

/* The envelope {"v": v, "id": id, "cmd": cmd} of n + 3 keys; the caller adds n. */
static void
pack_envelope(msgpack_packer *pk, uint32_t n, uint32_t v, uint32_t id,
    const char *cmd)
{
	msgpack_pack_map(pk, n + 3);
	msg_pack_cstr(pk, "v");
	msgpack_pack_uint32(pk, v);
	msg_pack_cstr(pk, "id");
	msgpack_pack_uint32(pk, id);
	pack_kv(pk, "cmd", cmd);
}

/* Valid msgpack whose id cannot be read: answered with id 0. */
static int
pack_shape_anon(const char *kind, msgpack_packer *pk, uint32_t id)
{
	if (strcmp(kind, "array") == 0) {       /* an array, not a map */
		msgpack_pack_array(pk, 4);
		msgpack_pack_uint32(pk, MSG_VERSION);
		msgpack_pack_uint32(pk, id);
		msg_pack_cstr(pk, "hello");
		msgpack_pack_map(pk, 0);
	} else if (strcmp(kind, "intkey") == 0) {       /* {1: id} */
		msgpack_pack_map(pk, 1);
		msgpack_pack_uint32(pk, 1);
		msgpack_pack_uint32(pk, id);
	} else if (strcmp(kind, "strid") == 0 || strcmp(kind, "bigid") == 0 ||
	    strcmp(kind, "zeroid") == 0) {
		msgpack_pack_map(pk, 4);
		pack_kv(pk, "cmd", "hello");
		msg_pack_cstr(pk, "id");
		if (strcmp(kind, "strid") == 0)
			msg_pack_cstr(pk, "7");
		else
			msgpack_pack_uint64(pk, kind[0] == 'b' ?
			    (uint64_t)UINT32_MAX + 1 : 0);
		msg_pack_cstr(pk, "v");
		msgpack_pack_uint32(pk, MSG_VERSION);
		msg_pack_cstr(pk, "args");
		msgpack_pack_map(pk, 0);
	} else if (strcmp(kind, "trailing") == 0) {     /* a request, then a byte */
		pack_envelope(pk, 1, MSG_VERSION, id, "hello");
		msg_pack_cstr(pk, "args");
		msgpack_pack_map(pk, 0);
		msgpack_pack_nil(pk);
	} else {
		return -1;
	}
	expect(0, NULL, NULL);
	return 0;
}

/* Valid msgpack of the wrong shape whose id can be read: answered with it. */
static int
pack_shape_id(const char *kind, msgpack_packer *pk, uint32_t id)
{
	if (strcmp(kind, "args") == 0) {                /* args is an array */
		pack_envelope(pk, 1, MSG_VERSION, id, "hello");
		msg_pack_cstr(pk, "args");
		msgpack_pack_array(pk, 1);
		msgpack_pack_uint32(pk, 1);
	} else if (strcmp(kind, "response") == 0) {     /* a response, not a request */
		msg_pack_result(pk, id, 0);
	} else if (strcmp(kind, "dupcmd") == 0) {       /* "cmd" twice */
		pack_envelope(pk, 2, MSG_VERSION, id, "hello");
		pack_kv(pk, "cmd", "health");
		msg_pack_cstr(pk, "args");
		msgpack_pack_map(pk, 0);
	} else if (strcmp(kind, "csrstr") == 0) {       /* a sign whose csr is a str */
		msg_pack_request(pk, id, "sign", 3);
		pack_kv(pk, "profile", "server");
		pack_kv(pk, "csr", "MIIB");
		pack_kv(pk, "ref", "shape-csrstr");
	} else {
		return -1;
	}
	expect(id, NULL, NULL);
	return 0;
}

static void
op_shape(const char *kind, msgpack_packer *pk, msgpack_sbuffer *sb)
{
	uint32_t id = next_id++;

	if (pack_shape_anon(kind, pk, id) < 0 && pack_shape_id(kind, pk, id) < 0)
		usage();
	send_sb(sb);
}

static int
op_simple(const char *op, msgpack_packer *pk, msgpack_sbuffer *sb)
{
	uint32_t id;

	if (strcmp(op, "badversion") == 0) {
		/* a well-formed hello of another protocol version */
		id = next_id++;
		pack_envelope(pk, 1, MSG_VERSION + 6, id, "hello");
		msg_pack_cstr(pk, "args");
		msgpack_pack_map(pk, 0);
		expect(id, NULL, NULL);
	} else if (strcmp(op, "unknown") == 0) {
		pack_plain(pk, "frobnicate", NULL);
	} else if (strcmp(op, "hello") == 0) {
		pack_plain(pk, op, "server");
	} else if (strcmp(op, "health") == 0) {
		pack_plain(pk, op, "checks");
	} else if (strcmp(op, "ca") == 0) {
		pack_plain(pk, op, "issuers");
	} else {
		return -1;
	}
	send_sb(sb);
	return 0;
}

/* crl:ISSUER:OUTFILE, fetched chunk by chunk. */
static void
op_crl(char **f, msgpack_packer *pk, msgpack_sbuffer *sb)
{
	uint8_t *all = NULL;
	uint64_t size = 0, off = 0;
	int ok;

	do {
		pack_crl(pk, f[1], off);
		send_sb(sb);
		if ((ok = recv_all()) != 1)
			break;
		size = last_size;
		if (all == NULL && (all = malloc(size + 1)) == NULL)
			exit(LR_EXIT_FAIL);
		if (last_bin_len > size - off)
			break;
		memcpy(all + off, last_bin, last_bin_len);
		off += last_bin_len;
	} while (off < size && last_bin_len > 0);
	if (ok == 1)
		write_file(f[2], all, (size_t)size);
	free(all);
}

/* signs:PROFILE:CSRFILE:N[:REFPREFIX[:NAMEPREFIX]], every request sent before any answer is read. */
static void
op_signs(char **f, size_t n, msgpack_packer *pk, msgpack_sbuffer *sb)
{
	char ref[LR_REF_MAX], cn[LR_REF_MAX];
	const char *rp = n > 4 ? f[4] : "pipe", *np = n > 5 ? f[5] : "p";
	size_t count = parse_count(f[3], LR_PENDING_MAX), csrlen, i;
	uint8_t *csr;

	if (strlen(rp) > LR_PREFIX_MAX || strlen(np) > LR_PREFIX_MAX)
		usage();
	csr = read_file(f[2], &csrlen);
	for (i = 0; i < count; i++) {
		snprintf(ref, sizeof(ref), "%s-%zu", rp, i);
		snprintf(cn, sizeof(cn), "%s%zu.demo.invalid", np, i);
		pack_sign(pk, f[1], csr, csrlen, ref, cn);
		send_sb(sb);
	}
	free(csr);
}

/* The operations with arguments; their answers are read by the caller. */
static void
op_args(char *op, msgpack_packer *pk, msgpack_sbuffer *sb)
{
	char *f[6] = { NULL };
	uint8_t *csr;
	size_t n, csrlen;

	n = split(op, f, 6);
	if (strcmp(f[0], "sign") == 0 && n == 6) {
		csr = read_file(f[2], &csrlen);
		pack_sign(pk, f[1], csr, csrlen, f[3], f[4]);
		free(csr);
		send_sb(sb);
		if (recv_all() == 1)
			write_file(f[5], last_bin, last_bin_len);
	} else if (strcmp(f[0], "crl") == 0 && n == 3)
		op_crl(f, pk, sb);
	else if (strcmp(f[0], "signs") == 0 && n >= 4)
		op_signs(f, n, pk, sb);
	else if (strcmp(f[0], "crlhead") == 0 && n == 2) {
		pack_crl(pk, f[1], 0);
		send_sb(sb);
	} else if (strcmp(f[0], "crlpin") == 0 && (n == 4 || n == 5)) {
		pack_crl_pinned(pk, f[1], strtoull(f[3], NULL, 10),
		    strtoull(f[2], NULL, 10), n == 5);
		send_sb(sb);
	}
	else if (strcmp(f[0], "random") == 0 && n == 3)
		op_random(f);
	else if (strcmp(f[0], "shape") == 0 && n == 2)
		op_shape(f[1], pk, sb);
	else if (strcmp(f[0], "revoke") == 0 && (n == 4 || n == 5)) {
		pack_revoke(pk, f[1], f[2], f[3], n == 5 ? f[4] : NULL);
		send_sb(sb);
	} else if (strcmp(f[0], "cert") == 0 && n == 3) {
		pack_cert(pk, f[1], f[2]);
		send_sb(sb);
	} else
		usage();
}

static void
options(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "ci:pr:t:")) != -1) {
		switch (c) {
		case 'c':
			allow_cut = 1;
			break;
		case 'p':
			pipeline = 1;
			break;
		case 'i':
			first_id = next_id = (uint32_t)parse_count(optarg,
			    UINT32_MAX - LR_PENDING_MAX);
			break;
		case 'r':
			if ((record = fopen(optarg, "a")) == NULL) {
				perror(optarg);
				exit(LR_EXIT_FAIL);
			}
			break;
		case 't':
			timeout_ms = (int)parse_count(optarg, LR_TIMEOUT_MAX_MS);
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 2)
		usage();
}

int
main(int argc, char **argv)
{
	char why[LR_WHY_MAX];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint8_t flush = FRAME_DELIM;
	int i;

	options(argc, argv);
	if (line_open(argv[optind], 115200, false, &fd, why, sizeof(why)) != 0) {
		fprintf(stderr, "line-request: %s\n", why);
		return LR_EXIT_FAIL;
	}
	dec = frame_decoder_new(FRAME_MAX_DEFAULT * 4);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_init(&resp);
	send_bytes(&flush, 1);
	for (i = optind + 1; i < argc; i++) {
		if (op_hostile(argv[i], &pk, &sb) < 0 &&
		    op_simple(argv[i], &pk, &sb) < 0)
			op_args(argv[i], &pk, &sb);
		if (!pipeline)
			(void)recv_all();
	}
	(void)recv_all();
	msg_free(&resp);
	msgpack_sbuffer_destroy(&sb);
	frame_decoder_free(dec);
	free(last_bin);
	close(fd);
	if (record != NULL && fclose(record) != 0) {
		perror("line-request: record file");
		return LR_EXIT_FAIL;
	}
	if (mismatch)
		return LR_EXIT_MISMATCH;
	return n_errors == 0 ? LR_EXIT_OK : LR_EXIT_ERRORS;
}
