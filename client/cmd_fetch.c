/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: the commands that fetch files from the signer: an issuer's CRL (and its delta), verified before it is installed, and the issuers' CA certificates. */

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "client/client.h"

#define PROG "signer-client"
#define EXIT_USAGE 2
#define DATE_MAX 32             /* "YYYY-MM-DD HH:MM:SSZ" and more */

struct crl_opts {
	const char *issuer;
	const char *out;        /* the complete CRL */
	const char *delta;      /* the delta CRL; NULL: none */
};

static int
crl_opts_parse(int argc, char **argv, struct crl_opts *o)
{
	static const struct option opts[] = {
		{ "issuer", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "delta", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'i')
			o->issuer = optarg;
		else if (ch == 'o')
			o->out = optarg;
		else if (ch == 'd')
			o->delta = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind != argc || o->issuer == NULL || o->out == NULL) {
		fprintf(stderr, "usage: " PROG " crl --issuer ID --out FILE "
		    "[--delta FILE]\n");
		return EXIT_USAGE;
	}
	if (!client_issuer_id_valid(o->issuer, strlen(o->issuer))) {
		fprintf(stderr, PROG ": '%s' is not an issuer id\n", o->issuer);
		return EXIT_USAGE;
	}
	if (o->delta != NULL && strcmp(o->delta, o->out) == 0) {
		fprintf(stderr, PROG ": --delta must name another file than "
		    "--out\n");
		return EXIT_USAGE;
	}
	return 0;
}

static const char *
status_name(int status)
{
	return status == CLIENT_CRL_UP_TO_DATE ? "up_to_date" : "installed";
}

/* One CRL's fields as JSON object members. */
static void
crl_json(const struct client_crl_info *i, const char *status)
{
	printf("\"number\": \"%llu\", ", (unsigned long long)i->number);
	if (i->delta)
		printf("\"delta_base\": \"%llu\", ",
		    (unsigned long long)i->base);
	printf("\"this_update\": %lld, \"next_update\": %lld, \"size\": %zu, "
	    "\"entries\": %zu, \"status\": \"%s\"", (long long)i->this_update,
	    (long long)i->next_update, i->size, i->entries, status);
}

/* One CRL as a line of text. */
static void
crl_text(const char *issuer, const char *path,
    const struct client_crl_outcome *r)
{
	const struct client_crl_info *i = &r->info;
	char tu[DATE_MAX], nu[DATE_MAX], base[DATE_MAX] = "";

	client_date_str(i->this_update, tu, sizeof(tu));
	client_date_str(i->next_update, nu, sizeof(nu));
	if (i->delta)
		snprintf(base, sizeof(base), " against %llu",
		    (unsigned long long)i->base);
	printf("%s %sCRL %llu%s (%zu bytes, %zu entries, %s .. %s) %s %s\n",
	    issuer, i->delta ? "delta " : "", (unsigned long long)i->number,
	    base, i->size, i->entries, tu, nu, r->status ==
	    CLIENT_CRL_UP_TO_DATE ? "is up to date in" : "written to", path);
}

/*
 * Fetch the complete CRL (base NULL) or the delta against *base, verify it
 * and install it as path. Prints what goes wrong; returns 0 or the error.
 * *out (may be NULL) receives the CRL.
 */
static int
crl_get(struct client_ctx *ctx, X509 *ca, const char *issuer,
    const uint64_t *base, const char *path, X509_CRL **out,
    struct client_crl_outcome *res)
{
	struct client_crl_blob b;
	struct client_crl_want w = { 0 };
	char why[CLIENT_WHY_MAX];
	int rc;

	if ((rc = client_crl_fetch(ctx, issuer, base, &b)) != 0)
		return rc;
	w.number = b.number;
	w.delta = base != NULL;
	w.base = base != NULL ? *base : 0;
	w.has_entries = b.has_entries;
	w.entries = b.entries;
	rc = client_crl_install(ca, b.der, b.size, &w, path, out, res, why,
	    sizeof(why));
	client_crl_blob_free(&b);
	if (rc == ERR_CONFLICT)
		fprintf(stderr, PROG ": crl: refused, %s left as it is: %s\n",
		    path, why);
	else if (rc == ERR_SYSTEM || rc == ERR_NOMEM)
		fprintf(stderr, PROG ": crl: %s\n", why);
	else if (rc != 0)
		fprintf(stderr, PROG ": crl: %s %sCRL of %s refused: %s\n", path,
		    base != NULL ? "delta " : "", issuer, why);
	else if (res->replaced_invalid)
		fprintf(stderr, PROG ": crl: %s held no valid %sCRL of %s (%s); "
		    "replaced\n", path, base != NULL ? "delta " : "", issuer,
		    res->old_why);
	return rc;
}

/* The complete CRL in path, when it can serve as a delta base now. */
static X509_CRL *
crl_base_held(X509 *ca, const struct crl_opts *o, struct client_crl_info *bi)
{
	char why[CLIENT_WHY_MAX];
	X509_CRL *c = NULL;
	int rc;

	rc = client_crl_load(ca, o->out, false, NULL, NULL, &c, bi, why,
	    sizeof(why));
	/*
	 * Past half its lifetime (when the signer makes its next complete CRL
	 * by default) the base is renewed, so that relying parties that read
	 * only the complete CRL do not fall behind by a whole lifetime.
	 */
	if (rc == 0 && bi->this_update + (bi->next_update - bi->this_update) /
	    CLIENT_CRL_BASE_RENEW <= (int64_t)time(NULL)) {
		fprintf(stderr, PROG ": crl: the CRL %llu in %s is past "
		    "half its lifetime; fetching the complete CRL\n",
		    (unsigned long long)bi->number, o->out);
		X509_CRL_free(c);
		return NULL;
	}
	if (rc != 0 && rc != ERR_NOT_FOUND)
		fprintf(stderr, PROG ": crl: %s holds no usable base (%s); "
		    "fetching the complete CRL\n", o->out, why);
	return c;
}

static void
crl_report_delta(const struct client_ctx *ctx, const struct crl_opts *o,
    const struct client_crl_outcome *br, bool fetched,
    const struct client_crl_outcome *dr, const struct client_crl_view *v)
{
	if (ctx->json) {
		printf("{\"issuer\": \"%s\", \"base\": {", o->issuer);
		crl_json(&br->info, fetched ? status_name(br->status) : "held");
		printf("}, \"delta\": {");
		crl_json(&dr->info, status_name(dr->status));
		printf("}, \"revoked\": %zu, \"added\": %zu, \"removed\": "
		    "%zu}\n", v->revoked, v->added, v->removed);
		return;
	}
	if (fetched)
		crl_text(o->issuer, o->out, br);
	crl_text(o->issuer, o->delta, dr);
	printf("%s: %zu serial(s) revoked by CRL %llu and delta CRL %llu, %zu "
	    "added by the delta", o->issuer, v->revoked,
	    (unsigned long long)br->info.number,
	    (unsigned long long)dr->info.number, v->added);
	if (v->removed > 0)
		printf(", %zu taken off", v->removed);
	printf("\n");
}

/*
 * The delta against the base held in --out while it is usable; else, or
 * when the signer no longer holds that base, the complete CRL into --out
 * first and the delta against it.
 */
static int
crl_with_delta(struct client_ctx *ctx, X509 *ca, const struct crl_opts *o)
{
	struct client_crl_outcome br = { 0 }, dr = { 0 };
	struct client_crl_view v;
	X509_CRL *base, *delta = NULL;
	bool fetched = false;
	int rc = ERR_NOT_FOUND;

	if ((base = crl_base_held(ca, o, &br.info)) != NULL &&
	    (rc = crl_get(ctx, ca, o->issuer, &br.info.number, o->delta,
	    &delta, &dr)) == ERR_NOT_FOUND) {
		fprintf(stderr, PROG ": crl: the signer no longer holds the "
		    "base %llu; fetching the complete CRL\n",
		    (unsigned long long)br.info.number);
		X509_CRL_free(base);
		base = NULL;
	}
	if (base == NULL) {
		fetched = true;
		if ((rc = crl_get(ctx, ca, o->issuer, NULL, o->out, &base,
		    &br)) == 0)
			rc = crl_get(ctx, ca, o->issuer, &br.info.number,
			    o->delta, &delta, &dr);
	}
	if (rc == 0 && (rc = client_crl_combine(base, delta, &v)) != 0)
		fprintf(stderr, PROG ": crl: out of memory\n");
	if (rc == 0)
		crl_report_delta(ctx, o, &br, fetched, &dr, &v);
	X509_CRL_free(base);
	X509_CRL_free(delta);
	return rc;
}

/* The complete CRL alone. */
static int
crl_complete(struct client_ctx *ctx, X509 *ca, const struct crl_opts *o)
{
	struct client_crl_outcome r;
	int rc;

	if ((rc = crl_get(ctx, ca, o->issuer, NULL, o->out, NULL, &r)) != 0)
		return rc;
	if (ctx->json) {
		printf("{\"issuer\": \"%s\", ", o->issuer);
		crl_json(&r.info, status_name(r.status));
		printf("}\n");
	} else
		crl_text(o->issuer, o->out, &r);
	return 0;
}

int
client_cmd_crl(struct client_ctx *ctx, int argc, char **argv)
{
	struct crl_opts o = { 0 };
	char why[CLIENT_WHY_MAX];
	X509 *ca = NULL;
	int rc;

	if ((rc = crl_opts_parse(argc, argv, &o)) != 0)
		return rc;
	if (client_ca_load(ctx->conf->ca_dir, o.issuer, &ca, why,
	    sizeof(why)) != 0) {
		fprintf(stderr, PROG ": crl: %s\n", why);
		return 1;
	}
	rc = o.delta == NULL ? crl_complete(ctx, ca, &o) :
	    crl_with_delta(ctx, ca, &o);
	X509_free(ca);
	return rc == 0 ? 0 : 1;
}

/* The id of one issuer of a "ca" result (checked by ca_write_one) into id. */
static void
copy_id(const msgpack_object *iss, char *id)
{
	const char *s;
	size_t len;

	id[0] = '\0';
	if (msg_get_str(iss, "id", true, CLIENT_ISSUER_ID_MAX, &s, &len, NULL,
	    0) == 1) {
		memcpy(id, s, len);
		id[len] = '\0';
	}
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

/*
 * Ask the signer for its CA certificates, check them all, then write each as
 * DIR/<id>.pem; the ids go to ids (up to max) unless ids is NULL. With json,
 * the result is printed. Returns 0 or 1.
 */
static int
ca_export(struct client_ctx *ctx, const char *dir, bool quiet,
    char (*ids)[CLIENT_ISSUER_ID_MAX + 1], size_t max, size_t *n)
{
	const msgpack_object_array *a;
	char why[MSG_ERRMSG_MAX];
	struct msg m;
	uint32_t i;
	int rc = 1;

	if (n != NULL)
		*n = 0;
	if (client_call(ctx, "ca", 0, NULL, NULL, &m) != 0)
		goto out;
	if (msg_get_array(m.result, "issuers", true, CLIENT_ISSUERS_MAX, &a,
	    why, sizeof(why)) != 1) {
		fprintf(stderr, PROG ": bad response: %s\n", why);
		goto out;
	}
	/* Every certificate is checked before the first is written. */
	for (rc = 0, i = 0; i < a->size && rc == 0; i++)
		rc = ca_write_one(&a->ptr[i], dir, false, quiet);
	for (i = 0; i < a->size && rc == 0; i++)
		rc = ca_write_one(&a->ptr[i], dir, true, quiet);
	for (i = 0; rc == 0 && ids != NULL && i < a->size && *n < max; i++)
		copy_id(&a->ptr[i], ids[(*n)++]);
	if (rc == 0 && ctx->json && ids == NULL)
		client_print_result(&m);
out:
	msg_free(&m);
	return rc;
}

int
client_cmd_ca(struct client_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	int ch;

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
	return ca_export(ctx, dir, ctx->json, NULL, 0, NULL);
}

/* DIR/<id><suffix> into out; false when it does not fit. */
static bool
publish_path(char *out, size_t cap, const char *dir, const char *id,
    const char *suffix)
{
	return (size_t)snprintf(out, cap, "%s/%s%s", dir, id, suffix) < cap;
}

int
client_cmd_publish(struct client_ctx *ctx, int argc, char **argv)
{
	char ids[CLIENT_PUBLISH_ISSUERS_MAX][CLIENT_ISSUER_ID_MAX + 1];
	char out[PATH_MAX], delta[PATH_MAX], why[CLIENT_WHY_MAX];
	const char *dir = ctx->conf->crl_dir;
	struct crl_opts o;
	size_t n, i, failed = 0;
	X509 *ca;

	(void)argv;
	if (argc != 1 || dir == NULL) {
		fprintf(stderr, "usage: " PROG " publish (with crl.dir set in "
		    "the configuration)\n");
		return EXIT_USAGE;
	}
	if (ca_export(ctx, dir, true, ids, CLIENT_PUBLISH_ISSUERS_MAX, &n) != 0)
		return 1;
	for (i = 0; i < n; i++) {
		o = (struct crl_opts){ ids[i], out, delta };
		ca = NULL;
		if (!publish_path(out, sizeof(out), dir, ids[i], ".crl") ||
		    !publish_path(delta, sizeof(delta), dir, ids[i],
		    "-delta.crl") ||
		    client_ca_load(ctx->conf->ca_dir, ids[i], &ca, why,
		    sizeof(why)) != 0) {
			fprintf(stderr, PROG ": publish: %s: %s\n", ids[i],
			    ca == NULL ? why : "path too long");
			failed++;
		} else if (crl_with_delta(ctx, ca, &o) != 0)
			failed++;
		X509_free(ca);
	}
	if (failed > 0)
		fprintf(stderr, PROG ": publish: %zu of %zu issuer(s) failed\n",
		    failed, n);
	return failed == 0 ? 0 : 1;
}
