/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: the one-shot commands of signer-client (health, sign, revoke, crl, ca, cert). */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "client/client.h"

#define PROG "signer-client"
#define DAYS_MAX 36500
#define EXIT_USAGE 2
#define HEALTH_UNREACHABLE 3

void
client_date_str(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, cap, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "%lld", (long long)t);
}

static void
hello_pack(msgpack_packer *pk, void *arg)
{
	(void)arg;
	msg_pack_cstr(pk, "client");
	msg_pack_cstr(pk, CLIENT_NAME);
	msg_pack_cstr(pk, "versions");
	msgpack_pack_array(pk, 1);
	msgpack_pack_uint32(pk, MSG_VERSION);
}

int
client_greet(struct link *l, char *why, size_t whylen)
{
	struct msg m;
	uint64_t v, max;
	int rc;

	msg_init(&m);
	if ((rc = link_call(l, "hello", 2, hello_pack, NULL, &m, why,
	    whylen)) == 0) {
		if (msg_get_uint(m.result, "version", true, 0, UINT32_MAX, &v,
		    why, whylen) != 1 || v != MSG_VERSION) {
			err_why(why, whylen, "unsupported_version: the signer "
			    "does not speak protocol version %d", MSG_VERSION);
			rc = ERR_UNSUPPORTED_VERSION;
		} else if (msg_get_uint(m.result, "max_frame", false,
		    FRAME_MAX_MIN, FRAME_MAX_LIMIT, &max, NULL, 0) == 1)
			link_set_peer_max(l, (uint32_t)max);
	}
	msg_free(&m);
	return rc;
}

/* Greet the signer on a freshly opened link; a link that fails is dropped. */
static int
greet_or_drop(struct client_ctx *ctx, char *why, size_t whylen)
{
	int rc;

	if ((rc = client_greet(ctx->link, why, whylen)) != 0) {
		link_free(ctx->link);
		ctx->link = NULL;
	}
	return rc;
}

int
client_link_up(struct client_ctx *ctx, char *why, size_t whylen)
{
	int rc;

	if (ctx->link != NULL)
		return 0;
	if ((rc = link_open(ctx->conf, &ctx->link, why, whylen)) != 0)
		return rc;
	return greet_or_drop(ctx, why, whylen);
}

int
client_call(struct client_ctx *ctx, const char *cmd, uint32_t nargs, link_args_fn fn,
    void *arg, struct msg *resp)
{
	char why[CLIENT_WHY_MAX];
	int rc = 0;

	msg_init(resp);
	if (ctx->link == NULL) {
		if ((rc = link_open(ctx->conf, &ctx->link, why,
		    sizeof(why))) != 0) {
			fprintf(stderr, PROG ": link: %s\n", why);
			return rc;
		}
		rc = greet_or_drop(ctx, why, sizeof(why));
	}
	if (rc == 0)
		rc = link_call(ctx->link, cmd, nargs, fn, arg, resp, why,
		    sizeof(why));
	if (rc == ERR_TIMEOUT)
		fprintf(stderr, PROG ": timeout: %s\n", why);
	else if (rc == ERR_LINK)
		fprintf(stderr, PROG ": link: %s\n", why);
	else if (rc != 0)
		fprintf(stderr, PROG ": %s\n", why);
	return rc;
}

/* A required string of a result, NUL-terminated into out; prints what is wrong. */
static int
result_str(const struct msg *m, const char *key, char *out, size_t cap)
{
	char why[MSG_ERRMSG_MAX];
	const char *s;
	size_t len;

	if (msg_get_str(m->result, key, true, cap - 1, &s, &len, why,
	    sizeof(why)) != 1) {
		fprintf(stderr, PROG ": bad response: %s\n", why);
		return ERR_BAD_REQUEST;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

void
client_print_result(const struct msg *m)
{
	client_json_print(stdout, m->result);
	fputc('\n', stdout);
}

/* A ref given by the user, or a new one announced on stderr so that a retry can reuse it. */
static int
ref_get(const char *given, char *out, size_t cap)
{
	if (given != NULL) {
		if (!client_ref_valid(given) || strlen(given) >= cap) {
			fprintf(stderr, PROG ": --ref must be 1..%d printable "
			    "characters without spaces\n", CLIENT_REF_MAX);
			return EXIT_USAGE;
		}
		strcpy(out, given);
		return 0;
	}
	if (client_ref_new(out, cap) != 0) {
		fprintf(stderr, PROG ": no random bytes for a ref\n");
		return 1;
	}
	fprintf(stderr, "ref: %s\n", out);
	return 0;
}

/* Parse a decimal number in 1..max with an end check. */
static int
parse_num(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < 1 ||
	    v > max)
		return -1;
	*out = v;
	return 0;
}

/* ---- health ------------------------------------------------------------ */

static void
health_checks(const msgpack_object_array *a)
{
	const char *n, *s, *t;
	size_t nl, sl, tl;
	uint32_t i;

	printf("\n%-20s %-9s %s\n", "CHECK", "STATUS", "MESSAGE");
	for (i = 0; i < a->size; i++) {
		if (msg_get_str(&a->ptr[i], "name", true, 64, &n, &nl, NULL,
		    0) != 1 || msg_get_str(&a->ptr[i], "status", true, 64, &s,
		    &sl, NULL, 0) != 1)
			continue;
		if (msg_get_str(&a->ptr[i], "message", false, 1024, &t, &tl,
		    NULL, 0) != 1)
			tl = 0;
		printf("%-20.*s %-9.*s %.*s\n", (int)nl, n, (int)sl, s, (int)tl,
		    tl ? t : "");
	}
}

static void
health_issuers(const msgpack_object_array *a)
{
	int64_t t, days;
	const char *n;
	char d[32];
	size_t nl;
	uint32_t i;

	printf("\n%-20s %-21s %s\n", "ISSUER", "NOT AFTER", "DAYS LEFT");
	for (i = 0; i < a->size; i++) {
		if (msg_get_str(&a->ptr[i], "id", true, 64, &n, &nl, NULL,
		    0) != 1 || msg_get_int(&a->ptr[i], "not_after", true, &t,
		    NULL, 0) != 1)
			continue;
		if (msg_get_int(&a->ptr[i], "days_left", false, &days, NULL,
		    0) != 1)
			days = (t - (int64_t)time(NULL)) / 86400;
		client_date_str(t, d, sizeof(d));
		printf("%-20.*s %-21s %lld\n", (int)nl, n, d, (long long)days);
	}
}

static void
health_table(const struct msg *m)
{
	const msgpack_object_array *a = NULL;
	const char *s;
	size_t sl;
	uint64_t u = 0;
	int64_t t = 0;
	char d[32];

	if (msg_get_str(m->result, "status", true, 64, &s, &sl, NULL, 0) == 1)
		printf("status:   %.*s\n", (int)sl, s);
	if (msg_get_uint(m->result, "node", false, 0, UINT32_MAX, &u, NULL,
	    0) == 1)
		printf("node:     %llu\n", (unsigned long long)u);
	if (msg_get_uint(m->result, "version", false, 0, UINT32_MAX, &u, NULL,
	    0) == 1)
		printf("version:  %llu\n", (unsigned long long)u);
	else if (msg_get_str(m->result, "version", false, 64, &s, &sl, NULL,
	    0) == 1)
		printf("version:  %.*s\n", (int)sl, s);
	if (msg_get_int(m->result, "time", false, &t, NULL, 0) == 1) {
		client_date_str(t, d, sizeof(d));
		printf("time:     %s\n", d);
	}
	if (msg_get_int(m->result, "uptime", false, &t, NULL, 0) == 1)
		printf("uptime:   %lld s\n", (long long)t);
	if (msg_get_array(m->result, "checks", false, 1024, &a, NULL, 0) == 1 &&
	    a->size > 0)
		health_checks(a);
	if (msg_get_array(m->result, "issuers", false, 1024, &a, NULL, 0) == 1 &&
	    a->size > 0)
		health_issuers(a);
}

/* The reason health could not be read, for --json. */
static const char *
health_error(int rc)
{
	if (rc == ERR_TIMEOUT)
		return "timeout";
	if (rc == ERR_LINK || rc == ERR_SYSTEM || rc == ERR_CONFIG ||
	    rc == ERR_INVAL)
		return "link";
	return err_wire_code(rc);
}

/* --write: the configured health files, also when the signer did not answer. */
static int
health_files(const struct client_ctx *ctx, const struct msg *m, int rc)
{
	const struct conf_client *c = ctx->conf;
	struct client_health *h;
	char why[CLIENT_WHY_MAX];
	int64_t now = (int64_t)time(NULL);

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return ERR_NOMEM;
	if (rc != 0 || client_health_parse(m, now, h, why, sizeof(why)) != 0)
		client_health_unreachable(h, now);
	else if (ctx->link != NULL && link_signer(ctx->link) < c->n_signers) {
		/* The signer that answered. */
		h->signer = (uint32_t)link_signer(ctx->link) + 1;
		snprintf(h->signer_device, sizeof(h->signer_device), "%s",
		    c->signers[link_signer(ctx->link)].device);
	}
	client_health_published(h, c->crl_dir);
	rc = client_health_write(h, c->health_json, c->health_prom, why,
	    sizeof(why));
	if (rc != 0)
		fprintf(stderr, PROG ": health: %s\n", why);
	free(h);
	return rc;
}

int
client_cmd_health(struct client_ctx *ctx, int argc, char **argv)
{
	struct msg m;
	const char *s;
	size_t sl;
	bool write = false;
	int rc, status = HEALTH_UNREACHABLE;

	if (argc == 2 && strcmp(argv[1], "--write") == 0)
		write = true;
	else if (argc != 1) {
		fprintf(stderr, "usage: " PROG " health [--write]\n");
		return EXIT_USAGE;
	}
	if (write && ctx->conf->health_json == NULL &&
	    ctx->conf->health_prom == NULL) {
		fprintf(stderr, PROG ": health --write: client.yaml names no "
		    "health.json nor health.prometheus file\n");
		return EXIT_USAGE;
	}
	rc = client_call(ctx, "health", 0, NULL, NULL, &m);
	if (write && health_files(ctx, &m, rc) != 0) {
		msg_free(&m);
		return HEALTH_UNREACHABLE;
	}
	if (rc != 0) {
		if (ctx->json)
			printf("{\"status\": \"unreachable\", \"error\": "
			    "\"%s\"}\n", health_error(rc));
		goto out;
	}
	if (msg_get_str(m.result, "status", true, 16, &s, &sl, NULL, 0) != 1) {
		fprintf(stderr, PROG ": bad response: no health status\n");
		goto out;
	}
	if (sl == 2 && memcmp(s, "ok", 2) == 0)
		status = 0;
	else if (sl == 8 && memcmp(s, "degraded", 8) == 0)
		status = 1;
	else if (sl == 6 && memcmp(s, "failed", 6) == 0)
		status = 2;
	if (ctx->json)
		client_print_result(&m);
	else
		health_table(&m);
out:
	msg_free(&m);
	return status;
}

/* ---- sign -------------------------------------------------------------- */

struct sign_args {
	const char *profile;
	uint8_t *csr;           /* DER */
	size_t csr_len;
	char ref[CLIENT_REF_MAX + 1];
	struct client_pairs subject;
	struct client_pairs san;
	long days;              /* 0: the profile's default */
	const char *out;
	EVP_PKEY *key;          /* the CSR's public key */
};

/* Read a CSR in PEM or DER; keep its DER and public key. */
static int
csr_read(const char *path, struct sign_args *a)
{
	unsigned char buf[CLIENT_CSR_MAX], *der = NULL;
	const unsigned char *p = buf;
	X509_REQ *req = NULL;
	size_t n;
	BIO *b;
	FILE *f;
	int len;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return 1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	if (!feof(f) || ferror(f)) {
		fclose(f);
		fprintf(stderr, PROG ": %s: unreadable or larger than %d bytes\n",
		    path, CLIENT_CSR_MAX);
		return 1;
	}
	fclose(f);
	if ((b = BIO_new_mem_buf(buf, (int)n)) != NULL) {
		req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	if (req == NULL && ((req = d2i_X509_REQ(NULL, &p, (long)n)) == NULL ||
	    p != buf + n)) {
		X509_REQ_free(req);
		fprintf(stderr, PROG ": %s: not a PEM or DER certificate "
		    "request\n", path);
		return 1;
	}
	if ((len = i2d_X509_REQ(req, &der)) <= 0 ||
	    (a->key = X509_REQ_get_pubkey(req)) == NULL) {
		X509_REQ_free(req);
		OPENSSL_free(der);
		fprintf(stderr, PROG ": %s: cannot re-encode the request\n", path);
		return 1;
	}
	X509_REQ_free(req);
	a->csr = der;
	a->csr_len = (size_t)len;
	return 0;
}

static int
sign_opts(int argc, char **argv, struct sign_args *a, const char **csr,
    const char **ref)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "csr", required_argument, NULL, 'r' },
		{ "subject", required_argument, NULL, 's' },
		{ "san", required_argument, NULL, 'n' },
		{ "days", required_argument, NULL, 'd' },
		{ "ref", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	char why[CLIENT_WHY_MAX];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		why[0] = '\0';
		if (ch == 'p')
			a->profile = optarg;
		else if (ch == 'r')
			*csr = optarg;
		else if (ch == 'f')
			*ref = optarg;
		else if (ch == 'o')
			a->out = optarg;
		else if (ch == 'd' && parse_num(optarg, DAYS_MAX, &a->days) != 0)
			snprintf(why, sizeof(why), "--days must be 1..%d",
			    DAYS_MAX);
		else if (ch == 's' && (a->subject.n > 0 ||
		    client_subject_parse(optarg, &a->subject, why,
		    sizeof(why)) != 0) && why[0] == '\0')
			snprintf(why, sizeof(why), "--subject given twice");
		else if (ch == 'n' && client_san_add(&a->san, optarg, why,
		    sizeof(why)) != 0 && why[0] == '\0')
			snprintf(why, sizeof(why), "out of memory");
		else if (ch == '?')
			return EXIT_USAGE;
		if (why[0] != '\0') {
			fprintf(stderr, PROG ": %s\n", why);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || a->profile == NULL || *csr == NULL) {
		fprintf(stderr, "usage: " PROG " sign --profile P --csr FILE "
		    "[--subject DN] [--san type:value]... [--days N] [--ref REF] "
		    "[--out FILE]\n");
		return EXIT_USAGE;
	}
	return 0;
}

/* The issued certificate must carry the serial announced and the CSR's key. */
static int
sign_check(const struct sign_args *a, X509 *x, const char *serial)
{
	char why[CLIENT_WHY_MAX];

	if (client_cert_matches(x, serial, a->key, why, sizeof(why)) != 0) {
		fprintf(stderr, PROG ": %s\n", why);
		return 1;
	}
	return 0;
}

static int
sign_result(struct client_ctx *ctx, const struct sign_args *a,
    const struct msg *m)
{
	char issuer[CLIENT_ISSUER_ID_MAX + 1], serial[CLIENT_SERIAL_HEX_MAX + 1];
	char why[CLIENT_WHY_MAX];
	const uint8_t *der;
	X509 *ca = NULL, *x = NULL;
	size_t len;
	int rc = 1;

	if (result_str(m, "issuer", issuer, sizeof(issuer)) != 0 ||
	    result_str(m, "serial", serial, sizeof(serial)) != 0)
		return 1;
	if (msg_get_bin(m->result, "cert", true, FRAME_MAX_LIMIT, &der, &len,
	    why, sizeof(why)) != 1) {
		fprintf(stderr, PROG ": bad response: %s\n", why);
		return 1;
	}
	if (client_ca_load(ctx->conf->ca_dir, issuer, &ca, why,
	    sizeof(why)) != 0 || client_cert_check(ca, der, len, &x, why,
	    sizeof(why)) != 0) {
		fprintf(stderr, PROG ": certificate %s of %s refused: %s\n",
		    serial, issuer, why);
		goto out;
	}
	if (sign_check(a, x, serial) != 0)
		goto out;
	if ((a->out != NULL || !ctx->json) &&
	    client_write_cert(x, a->out, why, sizeof(why)) != 0) {
		fprintf(stderr, PROG ": %s\n", why);
		goto out;
	}
	if (ctx->json)
		client_print_result(m);
	else if (a->out != NULL)
		printf("%s %s\n", issuer, serial);
	rc = 0;
out:
	X509_free(x);
	X509_free(ca);
	return rc;
}

int
client_cmd_sign(struct client_ctx *ctx, int argc, char **argv)
{
	struct sign_args a = { 0 };
	const char *csr = NULL, *ref = NULL;
	struct client_sign_req r;
	struct msg m;
	int rc;

	msg_init(&m);
	if ((rc = sign_opts(argc, argv, &a, &csr, &ref)) != 0 ||
	    (rc = csr_read(csr, &a)) != 0 ||
	    (rc = ref_get(ref, a.ref, sizeof(a.ref))) != 0)
		goto out;
	r = (struct client_sign_req){ a.profile, a.csr, a.csr_len, a.ref,
	    &a.subject, &a.san, (uint32_t)a.days };
	if (client_call(ctx, "sign", client_sign_nargs(&r), client_sign_pack,
	    &r, &m) != 0)
		rc = 1;
	else
		rc = sign_result(ctx, &a, &m);
out:
	msg_free(&m);
	client_pairs_free(&a.subject);
	client_pairs_free(&a.san);
	OPENSSL_free(a.csr);
	EVP_PKEY_free(a.key);
	return rc;
}

/* ---- revoke ------------------------------------------------------------ */

struct revoke_args {
	const char *issuer;
	char serial[CLIENT_SERIAL_HEX_MAX + 1];
	char ref[CLIENT_REF_MAX + 1];
	const char *reason;
};

/* --issuer and --serial, checked; for revoke and cert. */
static int
issuer_serial_ok(const char *issuer, const char *serial, char *norm,
    size_t cap)
{
	if (issuer == NULL || serial == NULL)
		return EXIT_USAGE;
	if (!client_issuer_id_valid(issuer, strlen(issuer))) {
		fprintf(stderr, PROG ": '%s' is not an issuer id\n", issuer);
		return EXIT_USAGE;
	}
	if (client_serial_norm(serial, norm, cap) != 0) {
		fprintf(stderr, PROG ": '%s' is not a hex serial number of at "
		    "most 20 bytes\n", serial);
		return EXIT_USAGE;
	}
	return 0;
}

int
client_cmd_revoke(struct client_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "issuer", required_argument, NULL, 'i' },
		{ "serial", required_argument, NULL, 's' },
		{ "reason", required_argument, NULL, 'r' },
		{ "ref", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct revoke_args a = { 0 };
	struct client_revoke_req r;
	const char *serial = NULL, *ref = NULL;
	char at[32];
	int64_t t = 0;
	struct msg m;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'i')
			a.issuer = optarg;
		else if (ch == 's')
			serial = optarg;
		else if (ch == 'r')
			a.reason = optarg;
		else if (ch == 'f')
			ref = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind != argc || a.issuer == NULL || serial == NULL) {
		fprintf(stderr, "usage: " PROG " revoke --issuer ID --serial HEX "
		    "[--reason R] [--ref REF]\n");
		return EXIT_USAGE;
	}
	if ((rc = issuer_serial_ok(a.issuer, serial, a.serial,
	    sizeof(a.serial))) != 0 || (rc = ref_get(ref, a.ref,
	    sizeof(a.ref))) != 0)
		return rc;
	r = (struct client_revoke_req){ a.issuer, a.serial, a.ref, a.reason };
	if (client_call(ctx, "revoke", client_revoke_nargs(&r),
	    client_revoke_pack, &r, &m) != 0) {
		msg_free(&m);
		return 1;
	}
	if (ctx->json)
		client_print_result(&m);
	else {
		(void)msg_get_int(m.result, "revoked_at", false, &t, NULL, 0);
		client_date_str(t, at, sizeof(at));
		printf("%s %s revoked at %s\n", a.issuer, a.serial, at);
	}
	msg_free(&m);
	return 0;
}

/* ---- cert -------------------------------------------------------------- */

struct cert_args {
	const char *issuer;
	char serial[CLIENT_SERIAL_HEX_MAX + 1];
};

static void
cert_pack(msgpack_packer *pk, void *arg)
{
	struct cert_args *a = arg;

	msg_pack_cstr(pk, "issuer");
	msg_pack_cstr(pk, a->issuer);
	msg_pack_cstr(pk, "serial");
	msg_pack_cstr(pk, a->serial);
}

static int
cert_result(struct client_ctx *ctx, const struct cert_args *a,
    const struct msg *m)
{
	char why[CLIENT_WHY_MAX], status[16], at[32];
	const uint8_t *der = NULL;
	X509 *ca = NULL, *x = NULL;
	size_t len = 0;
	int64_t t;
	int rc;

	if (result_str(m, "status", status, sizeof(status)) != 0)
		return 1;
	if ((rc = msg_get_bin(m->result, "cert", false, FRAME_MAX_LIMIT, &der,
	    &len, why, sizeof(why))) < 0) {
		fprintf(stderr, PROG ": bad response: %s\n", why);
		return 1;
	}
	/* Nothing unverified is shown, not even as JSON. */
	if (rc == 1 && (client_ca_load(ctx->conf->ca_dir, a->issuer, &ca, why,
	    sizeof(why)) != 0 || client_cert_check(ca, der, len, &x, why,
	    sizeof(why)) != 0)) {
		fprintf(stderr, PROG ": certificate refused: %s\n", why);
		rc = -1;
		goto out;
	}
	if (ctx->json) {
		client_print_result(m);
		goto out;
	}
	printf("status: %s\n", status);
	if (msg_get_int(m->result, "revoked_at", false, &t, NULL, 0) == 1) {
		client_date_str(t, at, sizeof(at));
		printf("revoked at: %s\n", at);
	}
	fflush(stdout);
	if (x != NULL && client_write_cert(x, NULL, why, sizeof(why)) != 0) {
		fprintf(stderr, PROG ": %s\n", why);
		rc = -1;
	}
out:
	X509_free(x);
	X509_free(ca);
	return rc < 0 ? 1 : 0;
}

int
client_cmd_cert(struct client_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "issuer", required_argument, NULL, 'i' },
		{ "serial", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct cert_args a = { 0 };
	const char *serial = NULL;
	struct msg m;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'i')
			a.issuer = optarg;
		else if (ch == 's')
			serial = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind != argc || a.issuer == NULL || serial == NULL) {
		fprintf(stderr, "usage: " PROG " cert --issuer ID --serial HEX\n");
		return EXIT_USAGE;
	}
	if ((rc = issuer_serial_ok(a.issuer, serial, a.serial,
	    sizeof(a.serial))) != 0)
		return rc;
	if (client_call(ctx, "cert", 2, cert_pack, &a, &m) != 0)
		rc = 1;
	else
		rc = cert_result(ctx, &a, &m);
	msg_free(&m);
	return rc;
}
