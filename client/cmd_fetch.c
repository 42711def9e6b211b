/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: the commands that fetch files from the signer: a CRL in chunks, and the issuers' CA certificates. */

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "client/client.h"

#define PROG "signer-client"
#define EXIT_USAGE 2
#define CRL_NUMBER_MAX 64       /* longest CRL number as text */

struct crl_req {
	const char *issuer;
	uint64_t offset;
	uint64_t length;
};

struct crl_fetch {
	uint8_t *data;
	uint64_t size;
	uint64_t got;
	char number[CRL_NUMBER_MAX];
	int64_t this_update;
	int64_t next_update;
};

static void
crl_pack(msgpack_packer *pk, void *arg)
{
	struct crl_req *r = arg;

	msg_pack_cstr(pk, "issuer");
	msg_pack_cstr(pk, r->issuer);
	msg_pack_cstr(pk, "offset");
	msgpack_pack_uint64(pk, r->offset);
	msg_pack_cstr(pk, "length");
	msgpack_pack_uint64(pk, r->length);
}

/* The CRL number, an integer or a string, as text. */
static void
crl_number(const msgpack_object *result, char *out, size_t cap)
{
	const msgpack_object *o = msg_map_get(result, "number");

	if (o != NULL && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		snprintf(out, cap, "%llu", (unsigned long long)o->via.u64);
	else if (o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    msg_utf8_valid(o->via.str.ptr, o->via.str.size))
		snprintf(out, cap, "%.*s", (int)o->via.str.size, o->via.str.ptr);
	else
		snprintf(out, cap, "?");
}

/* Take one chunk answering a request for offset; the CRL must not change between chunks. */
static int
crl_chunk(struct crl_fetch *f, const struct msg *m, uint64_t offset,
    char *why, size_t whylen)
{
	char number[CRL_NUMBER_MAX];
	const uint8_t *data;
	uint64_t size, off;
	size_t len;

	if (msg_get_uint(m->result, "size", true, 1, CLIENT_CRL_MAX, &size, why,
	    whylen) != 1 || msg_get_uint(m->result, "offset", true, 0,
	    CLIENT_CRL_MAX, &off, why, whylen) != 1 ||
	    msg_get_bin(m->result, "data", true, CLIENT_CRL_MAX, &data, &len,
	    why, whylen) != 1)
		return ERR_BAD_REQUEST;
	crl_number(m->result, number, sizeof(number));
	if (f->data == NULL) {
		if ((f->data = malloc(size)) == NULL)
			return ERR_NOMEM;
		f->size = size;
		memcpy(f->number, number, sizeof(number));
		(void)msg_get_int(m->result, "this_update", false,
		    &f->this_update, NULL, 0);
		(void)msg_get_int(m->result, "next_update", false,
		    &f->next_update, NULL, 0);
	} else if (size != f->size || strcmp(number, f->number) != 0) {
		err_why(why, whylen, "the CRL changed during the fetch");
		return ERR_CONFLICT;
	}
	if (off != offset || len == 0 || len > f->size - off) {
		err_why(why, whylen, "chunk at offset %llu of %zu bytes does not "
		    "fit a CRL of %llu bytes", (unsigned long long)off, len,
		    (unsigned long long)f->size);
		return ERR_BAD_REQUEST;
	}
	memcpy(f->data + off, data, len);
	f->got = off + len;
	return 0;
}

static int
crl_fetch(struct client_ctx *ctx, const char *issuer, struct crl_fetch *f)
{
	char why[CLIENT_WHY_MAX];
	struct crl_req r = { .issuer = issuer };
	struct msg m;
	uint32_t max;
	int rc;

	do {
		/* Chunks fill a frame but for the envelope around them. */
		max = ctx->link != NULL ? link_send_max(ctx->link) :
		    ctx->conf->max_frame;
		r.length = max > CLIENT_CRL_CHUNK_SLACK * 2 ?
		    max - CLIENT_CRL_CHUNK_SLACK : max / 2;
		r.offset = f->got;
		if ((rc = client_call(ctx, "crl", 3, crl_pack, &r, &m)) != 0) {
			msg_free(&m);
			return rc;
		}
		rc = crl_chunk(f, &m, r.offset, why, sizeof(why));
		msg_free(&m);
		if (rc != 0) {
			fprintf(stderr, PROG ": crl: %s\n", why);
			return rc;
		}
	} while (f->got < f->size);
	return 0;
}

int
client_cmd_crl(struct client_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "issuer", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct crl_fetch f = { 0 };
	const char *issuer = NULL, *out = NULL;
	char why[CLIENT_WHY_MAX], tu[32], nu[32];
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'i')
			issuer = optarg;
		else if (ch == 'o')
			out = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind != argc || issuer == NULL || out == NULL) {
		fprintf(stderr, "usage: " PROG " crl --issuer ID --out FILE\n");
		return EXIT_USAGE;
	}
	if (!client_issuer_id_valid(issuer, strlen(issuer))) {
		fprintf(stderr, PROG ": '%s' is not an issuer id\n", issuer);
		return EXIT_USAGE;
	}
	if (crl_fetch(ctx, issuer, &f) != 0)
		goto out;
	if (client_save_crl(ctx->conf->ca_dir, issuer, f.data, f.size, out,
	    why, sizeof(why)) != 0) {
		fprintf(stderr, PROG ": CRL of %s refused: %s\n", issuer, why);
		goto out;
	}
	client_date_str(f.this_update, tu, sizeof(tu));
	client_date_str(f.next_update, nu, sizeof(nu));
	if (ctx->json)
		printf("{\"issuer\": \"%s\", \"number\": \"%s\", "
		    "\"this_update\": %lld, \"next_update\": %lld, "
		    "\"size\": %llu}\n", issuer, f.number,
		    (long long)f.this_update, (long long)f.next_update,
		    (unsigned long long)f.size);
	else
		printf("%s CRL %s (%llu bytes, %s .. %s) written to %s\n",
		    issuer, f.number, (unsigned long long)f.size, tu, nu, out);
	rc = 0;
out:
	free(f.data);
	return rc;
}

/* Check one issuer of a "ca" result; when write, write it as DIR/<id>.pem. */
static int
ca_write_one(const msgpack_object *iss, const char *dir, bool write,
    bool quiet)
{
	char why[CLIENT_WHY_MAX], id[CLIENT_ISSUER_ID_MAX + 1], path[PATH_MAX];
	const unsigned char *p;
	const uint8_t *der;
	const char *s;
	size_t len, idlen;
	X509 *x = NULL;
	int rc = 0;

	if (msg_get_str(iss, "id", true, CLIENT_ISSUER_ID_MAX, &s, &idlen, why,
	    sizeof(why)) != 1 || msg_get_bin(iss, "cert", true,
	    FRAME_MAX_LIMIT, &der, &len, why, sizeof(why)) != 1) {
		fprintf(stderr, PROG ": bad response: %s\n", why);
		return 1;
	}
	memcpy(id, s, idlen);
	id[idlen] = '\0';
	if (!client_issuer_id_valid(id, idlen)) {
		fprintf(stderr, PROG ": bad response: '%s' is not an issuer id\n",
		    id);
		return 1;
	}
	p = der;
	if (len > LONG_MAX || (x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    p != der + len || X509_get0_pubkey(x) == NULL) {
		X509_free(x);
		fprintf(stderr, PROG ": the certificate of %s does not parse\n",
		    id);
		return 1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.pem", dir, id) >=
	    sizeof(path))
		rc = ERR_INVAL;
	else if (write)
		rc = client_write_cert(x, path, why, sizeof(why));
	X509_free(x);
	if (rc != 0) {
		fprintf(stderr, PROG ": %s\n", rc == ERR_INVAL ?
		    "path too long" : why);
		return 1;
	}
	if (write && !quiet)
		printf("%s\n", path);
	return 0;
}

int
client_cmd_ca(struct client_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const msgpack_object_array *a;
	char why[MSG_ERRMSG_MAX];
	const char *dir = NULL;
	struct msg m;
	uint32_t i;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'o')
			dir = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind != argc || dir == NULL) {
		fprintf(stderr, "usage: " PROG " ca --out DIR\n");
		return EXIT_USAGE;
	}
	if (client_call(ctx, "ca", 0, NULL, NULL, &m) != 0)
		goto out;
	if (msg_get_array(m.result, "issuers", true, CLIENT_ISSUERS_MAX, &a,
	    why, sizeof(why)) != 1) {
		fprintf(stderr, PROG ": bad response: %s\n", why);
		goto out;
	}
	/* Every certificate is checked before the first is written. */
	for (rc = 0, i = 0; i < a->size && rc == 0; i++)
		rc = ca_write_one(&a->ptr[i], dir, false, ctx->json);
	for (i = 0; i < a->size && rc == 0; i++)
		rc = ca_write_one(&a->ptr[i], dir, true, ctx->json);
	if (rc == 0 && ctx->json)
		client_print_result(&m);
out:
	msg_free(&m);
	return rc;
}
