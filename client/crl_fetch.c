/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: a CRL fetched in chunks: the first names the CRL, the others follow pipelined and pinned to its number. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"

#define PROG "signer-client"

/* The args of one "crl" request. */
struct crl_args {
	const char *issuer;
	bool delta;
	uint64_t base;
	bool pin;               /* send number */
	uint64_t number;
	uint64_t offset;
	uint64_t length;
};

/* What one chunk announces. */
struct chunk {
	uint64_t number;
	uint64_t size;
	uint64_t offset;
	bool delta;
	uint64_t base;
	const uint8_t *data;
	size_t len;
};

/* A fetch in progress. */
struct fetch {
	struct client_crl_blob *b;
	struct crl_args a;      /* the first request's; later ones pin it */
	uint64_t first;         /* bytes of the first chunk */
	uint64_t chunk;         /* bytes asked per later chunk */
	uint64_t got;           /* bytes received */
	int rc;                 /* the first failure of a later chunk */
};

static void
crl_pack(msgpack_packer *pk, void *arg)
{
	const struct crl_args *a = arg;

	msg_pack_cstr(pk, "issuer");
	msg_pack_cstr(pk, a->issuer);
	if (a->delta) {
		msg_pack_cstr(pk, "delta_base");
		msgpack_pack_uint64(pk, a->base);
	}
	if (a->pin) {
		msg_pack_cstr(pk, "number");
		msgpack_pack_uint64(pk, a->number);
	}
	msg_pack_cstr(pk, "offset");
	msgpack_pack_uint64(pk, a->offset);
	msg_pack_cstr(pk, "length");
	msgpack_pack_uint64(pk, a->length);
}

static uint32_t
crl_nargs(const struct crl_args *a)
{
	return 3 + (a->delta ? 1 : 0) + (a->pin ? 1 : 0);
}

/* Chunks fill a frame but for the envelope around them. */
static uint64_t
chunk_len(const struct client_ctx *ctx)
{
	uint32_t max = ctx->link != NULL ? link_send_max(ctx->link) :
	    ctx->conf->max_frame;

	return max > CLIENT_CRL_CHUNK_SLACK * 2 ?
	    max - CLIENT_CRL_CHUNK_SLACK : max / 2;
}

static int
chunk_parse(const struct msg *m, struct chunk *c, char *why, size_t whylen)
{
	int r;

	memset(c, 0, sizeof(*c));
	if (msg_get_uint(m->result, "number", true, 0, UINT64_MAX, &c->number,
	    why, whylen) != 1 || msg_get_uint(m->result, "size", true, 1,
	    CLIENT_CRL_MAX, &c->size, why, whylen) != 1 ||
	    msg_get_uint(m->result, "offset", true, 0, CLIENT_CRL_MAX,
	    &c->offset, why, whylen) != 1 || (r = msg_get_uint(m->result,
	    "delta_base", false, 0, UINT64_MAX, &c->base, why, whylen)) < 0 ||
	    msg_get_bin(m->result, "data", true, CLIENT_CRL_MAX, &c->data,
	    &c->len, why, whylen) != 1)
		return ERR_BAD_REQUEST;
	c->delta = r == 1;
	return 0;
}

/* The chunk is of the CRL kind asked for. */
static int
chunk_kind(const struct crl_args *a, const struct chunk *c, char *why,
    size_t whylen)
{
	if (a->delta && !c->delta) {
		err_why(why, whylen, "the signer answered a request for the "
		    "delta CRL against %llu with a complete CRL",
		    (unsigned long long)a->base);
		return ERR_BAD_REQUEST;
	}
	if (a->delta && c->base != a->base) {
		err_why(why, whylen, "the signer answered a request for the "
		    "delta CRL against %llu with one against %llu",
		    (unsigned long long)a->base, (unsigned long long)c->base);
		return ERR_BAD_REQUEST;
	}
	if (!a->delta && c->delta) {
		err_why(why, whylen, "the signer answered a request for the "
		    "complete CRL with a delta CRL");
		return ERR_BAD_REQUEST;
	}
	return 0;
}

/* Take the first chunk: it tells the CRL's number and size. */
static int
first_take(struct fetch *f, const struct msg *m, char *why, size_t whylen)
{
	struct client_crl_blob *b = f->b;
	struct chunk c;
	uint64_t e;
	int rc;

	if ((rc = chunk_parse(m, &c, why, whylen)) != 0 ||
	    (rc = chunk_kind(&f->a, &c, why, whylen)) != 0)
		return rc;
	if (c.offset != 0 || c.len == 0 || c.len > c.size ||
	    c.len > f->a.length) {
		err_why(why, whylen, "the first chunk (offset %llu, %zu bytes) "
		    "does not start a CRL of %llu bytes",
		    (unsigned long long)c.offset, c.len,
		    (unsigned long long)c.size);
		return ERR_BAD_REQUEST;
	}
	if ((b->der = malloc(c.size)) == NULL) {
		err_why(why, whylen, "out of memory for a CRL of %llu bytes",
		    (unsigned long long)c.size);
		return ERR_NOMEM;
	}
	memcpy(b->der, c.data, c.len);
	b->size = c.size;
	b->number = c.number;
	b->delta = c.delta;
	b->base = c.base;
	(void)msg_get_int(m->result, "this_update", false, &b->this_update,
	    NULL, 0);
	(void)msg_get_int(m->result, "next_update", false, &b->next_update,
	    NULL, 0);
	if (msg_get_uint(m->result, "entries", false, 0, UINT64_MAX, &e, NULL,
	    0) == 1) {
		b->has_entries = true;
		b->entries = e;
	}
	f->first = f->got = c.len;
	/* A signer that sends less than asked short of the end caps chunks there. */
	f->chunk = c.len < c.size && c.len < f->a.length ? c.len : f->a.length;
	return 0;
}

static uint64_t
chunk_offset(const struct fetch *f, size_t i)
{
	return f->first + (uint64_t)i * f->chunk;
}

static void
chunk_req(void *arg, size_t i, struct link_req *r)
{
	struct fetch *f = arg;
	uint64_t off = chunk_offset(f, i);

	f->a.pin = true;
	f->a.number = f->b->number;
	f->a.offset = off;
	f->a.length = f->b->size - off < f->chunk ? f->b->size - off : f->chunk;
	r->cmd = "crl";
	r->nargs = crl_nargs(&f->a);
	r->fn = crl_pack;
	r->arg = &f->a;
}

/* A later chunk: of the same CRL, at its place, exactly as long as asked. */
static int
chunk_take(struct fetch *f, size_t i, const struct msg *m, char *why,
    size_t whylen)
{
	uint64_t off = chunk_offset(f, i), want;
	struct chunk c;
	int rc;

	want = f->b->size - off < f->chunk ? f->b->size - off : f->chunk;
	if ((rc = chunk_parse(m, &c, why, whylen)) != 0 ||
	    (rc = chunk_kind(&f->a, &c, why, whylen)) != 0)
		return rc;
	if (c.number != f->b->number || c.size != f->b->size) {
		err_why(why, whylen, "the CRL changed during the fetch "
		    "(number %llu, %llu bytes, then number %llu, %llu bytes)",
		    (unsigned long long)f->b->number,
		    (unsigned long long)f->b->size,
		    (unsigned long long)c.number, (unsigned long long)c.size);
		return ERR_CONFLICT;
	}
	if (c.offset != off || c.len != want) {
		err_why(why, whylen, "the chunk asked at offset %llu for %llu "
		    "bytes came at offset %llu with %zu bytes",
		    (unsigned long long)off, (unsigned long long)want,
		    (unsigned long long)c.offset, c.len);
		return ERR_BAD_REQUEST;
	}
	memcpy(f->b->der + off, c.data, c.len);
	f->got += c.len;
	return 0;
}

static int
chunk_done(void *arg, size_t i, int rc, struct msg *resp, const char *why)
{
	struct fetch *f = arg;
	char w[CLIENT_WHY_MAX];

	if (f->rc != 0)
		return f->rc;
	if (rc == 0) {
		rc = chunk_take(f, i, resp, w, sizeof(w));
		why = w;
	}
	if (rc == 0)
		return 0;
	f->rc = rc;
	if (rc != ERR_CONFLICT)
		fprintf(stderr, PROG ": crl: %s\n", why);
	return rc;
}

/* The chunks after the first, pipelined. */
static int
fetch_rest(struct client_ctx *ctx, struct fetch *f)
{
	struct link_batch lb = { 0, 0, chunk_req, chunk_done, f };
	char why[CLIENT_WHY_MAX];
	int rc;

	lb.n = (size_t)((f->b->size - f->first + f->chunk - 1) / f->chunk);
	rc = link_pipeline(ctx->link, &lb, why, sizeof(why));
	if (f->rc != 0)
		return f->rc;
	if (rc != 0) {
		fprintf(stderr, PROG ": crl: %s\n", why);
		return rc;
	}
	if (f->got != f->b->size) {
		fprintf(stderr, PROG ": crl: %llu of %zu bytes received\n",
		    (unsigned long long)f->got, f->b->size);
		return ERR_INTERNAL;
	}
	return 0;
}

static int
fetch_once(struct client_ctx *ctx, const char *issuer, const uint64_t *base,
    struct client_crl_blob *b)
{
	struct fetch f = { .b = b };
	char why[CLIENT_WHY_MAX];
	struct msg m;
	int rc;

	f.a.issuer = issuer;
	f.a.delta = base != NULL;
	f.a.base = base != NULL ? *base : 0;
	f.a.length = chunk_len(ctx);
	if ((rc = client_call(ctx, "crl", crl_nargs(&f.a), crl_pack, &f.a,
	    &m)) == 0 && (rc = first_take(&f, &m, why, sizeof(why))) != 0)
		fprintf(stderr, PROG ": crl: bad response: %s\n", why);
	msg_free(&m);
	if (rc == 0 && b->size > f.first)
		rc = fetch_rest(ctx, &f);
	return rc;
}

void
client_crl_blob_free(struct client_crl_blob *b)
{
	if (b == NULL)
		return;
	free(b->der);
	memset(b, 0, sizeof(*b));
}

int
client_crl_fetch(struct client_ctx *ctx, const char *issuer,
    const uint64_t *base, struct client_crl_blob *out)
{
	int rc, restarts;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (ctx == NULL || issuer == NULL || out == NULL)
		return ERR_INVAL;
	for (restarts = 0;; restarts++) {
		if ((rc = fetch_once(ctx, issuer, base, out)) != ERR_CONFLICT)
			break;
		client_crl_blob_free(out);
		if (restarts == CLIENT_CRL_RESTARTS_MAX) {
			fprintf(stderr, PROG ": crl: the CRL of %s changed %d "
			    "times during the fetch; try again later\n", issuer,
			    restarts + 1);
			break;
		}
		fprintf(stderr, PROG ": crl: the CRL of %s changed during the "
		    "fetch; starting again\n", issuer);
	}
	if (rc != 0)
		client_crl_blob_free(out);
	return rc;
}
