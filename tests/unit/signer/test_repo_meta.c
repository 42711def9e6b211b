/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the repository as a whole: schema and node checks, corruption, map growth, verify, backup, codecs. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "proto/proto.h"
#include "signer/signer.h"
#include "tests/unit/signer/tmpdir.h"

#define NODE 3
#define MAP_MB 16
#define NOTES_MAX 8192

struct fx {
	char dir[256];
	char path[512];
	struct repo *r;
	char why[256];
	char notes[NOTES_MAX];  /* problems reported by repo_verify */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (tmpdir_make(f->dir, sizeof(f->dir), "test_repo_meta") != 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/repo", f->dir);
	if (repo_open(f->path, NODE, MAP_MB, REPO_CREATE, &f->r, f->why,
	    sizeof(f->why)) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	repo_close(f->r);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static void
reopen(struct fx *f)
{
	repo_close(f->r);
	f->r = NULL;
	assert_int_equal(repo_open(f->path, NODE, MAP_MB, 0, &f->r, f->why,
	    sizeof(f->why)), 0);
}

/* Put (or, with val NULL, delete) one entry behind the repository's back. */
static void
raw_put(const char *path, const char *db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)(uintptr_t)key };
	MDB_val v = { .mv_size = vlen, .mv_data = (void *)(uintptr_t)val };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	if (val != NULL)
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	else
		assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* The raw value of one entry into buf; returns its length. */
static size_t
raw_get(const char *path, const char *db, const void *key, size_t klen,
    uint8_t *buf, size_t cap)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)(uintptr_t)key };
	MDB_val v;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_true(v.mv_size <= cap);
	memcpy(buf, v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return v.mv_size;
}

static size_t
cert_key(const char *issuer, const struct serial *s, uint8_t *k)
{
	size_t n = strlen(issuer);

	k[0] = (uint8_t)n;
	memcpy(k + 1, issuer, n);
	k[1 + n] = (uint8_t)s->len;
	memcpy(k + 2 + n, s->b, s->len);
	return 2 + n + s->len;
}

static void
make_req(struct repo_cert *req, const char *ref, size_t subject_len)
{
	memset(req, 0, sizeof(*req));
	snprintf(req->issuer, sizeof(req->issuer), "ca-1");
	snprintf(req->profile, sizeof(req->profile), "server");
	req->ref_len = strlen(ref);
	memcpy(req->ref, ref, req->ref_len);
	memset(req->req_hash, 0x11, sizeof(req->req_hash));
	req->not_before = 1700000000;
	req->not_after = 1800000000;
	req->created = 1700000001;
	memset(req->subject, 'a', subject_len);
}

/* Reserve, issue and optionally revoke ref in one transaction. */
static void
add_cert(struct fx *f, const char *ref, bool revoke, struct serial *out)
{
	struct repo_revocation rev;
	struct repo_cert req, c;
	struct repo_txn *t;

	make_req(&req, ref, 20);
	assert_int_equal(repo_begin(f->r, true, &t, f->why, sizeof(f->why)), 0);
	assert_int_equal(repo_cert_reserve(t, &req, &c, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(repo_cert_issue(t, "ca-1", &c.serial,
	    (const uint8_t *)ref, strlen(ref), NULL, f->why, sizeof(f->why)),
	    0);
	if (revoke) {
		memset(&rev, 0, sizeof(rev));
		snprintf(rev.issuer, sizeof(rev.issuer), "ca-1");
		rev.serial = c.serial;
		rev.reason = 1;
		rev.revoked_at = 1750000000;
		rev.ref_len = strlen(ref);
		memcpy(rev.ref, ref, rev.ref_len);
		assert_int_equal(repo_revoke(t, &rev, NULL, f->why,
		    sizeof(f->why)), 0);
	}
	assert_int_equal(repo_commit(t, f->why, sizeof(f->why)), 0);
	if (out != NULL)
		*out = c.serial;
	repo_cert_clear(&c);
}

static void
note(const char *problem, void *ctx)
{
	struct fx *f = ctx;
	size_t n = strlen(f->notes);

	snprintf(f->notes + n, sizeof(f->notes) - n, "%s\n", problem);
}

static int
verify(struct fx *f)
{
	f->notes[0] = '\0';
	return repo_verify(f->r, note, f, f->why, sizeof(f->why));
}

/* ---- opening ----------------------------------------------------------------- */

static void
test_schema_mismatch(void **state)
{
	struct fx *f = *state;
	static const uint8_t v7[4] = { 0, 0, 0, 7 };

	repo_close(f->r);
	f->r = NULL;
	raw_put(f->path, "meta", "schema", 6, v7, sizeof(v7));
	assert_int_equal(repo_open(f->path, NODE, MAP_MB, 0, &f->r, f->why,
	    sizeof(f->why)), ERR_REPO);
	assert_null(f->r);
	assert_non_null(strstr(f->why,
	    "repository schema version 7, this signerd supports 2"));
	raw_put(f->path, "meta", "schema", 6, "\x01", 1);
	assert_int_equal(repo_open(f->path, NODE, MAP_MB, 0, &f->r, f->why,
	    sizeof(f->why)), ERR_REPO);
	assert_non_null(strstr(f->why, "schema"));
}

static void
test_node_mismatch(void **state)
{
	struct fx *f = *state;

	repo_close(f->r);
	f->r = NULL;
	assert_int_equal(repo_open(f->path, NODE + 1, MAP_MB, REPO_CREATE,
	    &f->r, f->why, sizeof(f->why)), ERR_REPO);
	assert_non_null(strstr(f->why, "belongs to node 3"));
	assert_non_null(strstr(f->why, "node 4"));
	raw_put(f->path, "meta", "node", 4, "\x00", 1);
	assert_int_equal(repo_open(f->path, NODE, MAP_MB, 0, &f->r, f->why,
	    sizeof(f->why)), ERR_REPO);
	assert_non_null(strstr(f->why, "node id"));
	raw_put(f->path, "meta", "node", 4, "\x03", 1);
	reopen(f);
}

static void
test_not_a_repository(void **state)
{
	struct fx *f = *state;
	char path[512];
	MDB_env *env;
	struct repo *r;

	snprintf(path, sizeof(path), "%s/empty", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(repo_open(path, NODE, MAP_MB, 0, &r, f->why,
	    sizeof(f->why)), ERR_NOT_FOUND);
	/* Some other LMDB environment. */
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
	mdb_env_close(env);
	assert_int_equal(repo_open(path, NODE, MAP_MB, 0, &r, f->why,
	    sizeof(f->why)), ERR_REPO);
	assert_non_null(strstr(f->why, "not a signer repository"));
	snprintf(path, sizeof(path), "%s/repo/data.mdb", f->dir);
	assert_int_equal(repo_open(path, NODE, MAP_MB, 0, &r, f->why,
	    sizeof(f->why)), ERR_REPO);
	assert_non_null(strstr(f->why, "not a directory"));
}

/* ---- corruption ------------------------------------------------------------------ */

static int
count_cert(const struct repo_cert *c, void *ctx)
{
	(void)c;
	(*(int *)ctx)++;
	return 0;
}

static void
test_corrupt_record(void **state)
{
	struct fx *f = *state;
	uint8_t key[128], rec[512];
	struct serial a, b;
	struct repo_txn *t;
	struct repo_cert c;
	size_t klen, len;
	int n = 0;

	add_cert(f, "ref-a", false, &a);
	add_cert(f, "ref-b", false, &b);
	assert_int_equal(verify(f), 0);
	repo_close(f->r);
	f->r = NULL;
	klen = cert_key("ca-1", &a, key);
	len = raw_get(f->path, "certs", key, klen, rec, sizeof(rec));
	/* Truncated: one byte short. */
	raw_put(f->path, "certs", key, klen, rec, len - 1);
	reopen(f);
	assert_int_equal(repo_begin(f->r, false, &t, f->why, sizeof(f->why)),
	    0);
	assert_int_equal(repo_cert_get(t, "ca-1", &a, &c, f->why,
	    sizeof(f->why)), ERR_REPO);
	assert_non_null(strstr(f->why, "certificate record"));
	assert_int_equal(repo_ref_find(t, (const uint8_t *)"ref-a", 5, &c,
	    f->why, sizeof(f->why)), ERR_REPO);
	assert_int_equal(repo_cert_foreach(t, NULL, count_cert, &n, f->why,
	    sizeof(f->why)), ERR_REPO);
	repo_abort(t);
	assert_true(verify(f) >= 1);
	assert_non_null(strstr(f->notes, "truncated"));

	/* Garbage, then b's record filed under a's key. */
	repo_close(f->r);
	f->r = NULL;
	raw_put(f->path, "certs", key, klen, "\x01\xff\x00garbage", 10);
	reopen(f);
	assert_int_equal(repo_begin(f->r, false, &t, f->why, sizeof(f->why)),
	    0);
	assert_int_equal(repo_cert_get(t, "ca-1", &a, &c, f->why,
	    sizeof(f->why)), ERR_REPO);
	repo_abort(t);
	repo_close(f->r);
	f->r = NULL;
	len = raw_get(f->path, "certs", key, cert_key("ca-1", &b, key), rec,
	    sizeof(rec));
	raw_put(f->path, "certs", key, cert_key("ca-1", &a, key), rec, len);
	reopen(f);
	assert_int_equal(repo_begin(f->r, false, &t, f->why, sizeof(f->why)),
	    0);
	assert_int_equal(repo_cert_get(t, "ca-1", &a, &c, f->why,
	    sizeof(f->why)), ERR_REPO);
	assert_non_null(strstr(f->why, "names another"));
	repo_abort(t);
	assert_true(verify(f) >= 1);
}

static int
decode_all(uint8_t origin, uint64_t seq, const uint8_t *b, size_t len,
    void *ctx)
{
	struct repo_event ev;
	int rc;

	(void)origin;
	(void)seq;
	rc = repo_event_decode(b, len, &ev, ctx, 256);
	repo_event_clear(&ev);
	return rc;
}

static void
test_corrupt_event(void **state)
{
	struct fx *f = *state;
	static const uint8_t key[9] = { NODE, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct repo_txn *t;

	add_cert(f, "ev", false, NULL);
	repo_close(f->r);
	f->r = NULL;
	/* A map that declares 2^32 - 1 entries in five bytes. */
	raw_put(f->path, "events", key, sizeof(key), "\xdf\xff\xff\xff\xff", 5);
	reopen(f);
	assert_int_equal(repo_begin(f->r, false, &t, f->why, sizeof(f->why)),
	    0);
	assert_int_equal(repo_events_foreach(t, NODE, 0, decode_all, f->why,
	    f->why, sizeof(f->why)), ERR_REPO);
	assert_non_null(strstr(f->why, "event"));
	repo_abort(t);
	assert_true(verify(f) >= 2);    /* the event, and the missing issue */
	assert_non_null(strstr(f->notes, "event 3/1"));
}

/* ---- map growth -------------------------------------------------------------------- */

struct fill {
	int from, n;
};

static int
fill_fn(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	static uint8_t der[1000];
	struct fill *fl = ctx;
	struct repo_cert req, c;
	char ref[32];
	int i, rc;

	for (i = fl->from; i < fl->from + fl->n; i++) {
		snprintf(ref, sizeof(ref), "fill-%d", i);
		make_req(&req, ref, 200);
		if ((rc = repo_cert_reserve(t, &req, &c, why, whylen)) != 0)
			return rc;
		rc = repo_cert_issue(t, "ca-1", &c.serial, der, sizeof(der),
		    NULL, why, whylen);
		repo_cert_clear(&c);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void
test_map_growth(void **state)
{
	struct fx *f = *state;
	struct fill fl = { .n = 100 };
	struct repo_stats st;
	struct repo_txn *t;
	struct stat sb;
	char data[PATH_MAX];
	int i, rc = 0;

	repo_close(f->r);
	f->r = NULL;
	snprintf(f->path, sizeof(f->path), "%s/tiny", f->dir);
	assert_int_equal(repo_open(f->path, NODE, 1, REPO_CREATE, &f->r,
	    f->why, sizeof(f->why)), 0);
	/* By hand: the write fails, the next transaction has room. */
	assert_int_equal(repo_begin(f->r, true, &t, f->why, sizeof(f->why)), 0);
	for (i = 0; i < 20 && rc == 0; i++, fl.from += fl.n)
		rc = fill_fn(t, &fl, f->why, sizeof(f->why));
	assert_int_equal(rc, ERR_REPO);
	assert_non_null(strstr(f->why, "full"));
	assert_int_equal(repo_commit(t, f->why, sizeof(f->why)), ERR_REPO);
	/* Through repo_update: grown as often as needed. */
	for (fl.from = 0; fl.from < 3000; fl.from += fl.n)
		assert_int_equal(repo_update(f->r, fill_fn, &fl, f->why,
		    sizeof(f->why)), 0);
	assert_int_equal(repo_begin(f->r, false, &t, f->why, sizeof(f->why)),
	    0);
	assert_int_equal(repo_stats(t, "ca-1", &st, f->why, sizeof(f->why)), 0);
	assert_int_equal(st.certs, 3000);
	repo_abort(t);
	snprintf(data, sizeof(data), "%s/data.mdb", f->path);
	assert_int_equal(stat(data, &sb), 0);
	assert_true(sb.st_size > 3 * 1024 * 1024);
	/* A new process opens it with the small map it is configured with. */
	repo_close(f->r);
	f->r = NULL;
	assert_int_equal(repo_open(f->path, NODE, 1, 0, &f->r, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(verify(f), 0);
}

/* ---- verify ------------------------------------------------------------------------ */

static void
test_verify_finds(void **state)
{
	static const uint8_t ev2[9] = { NODE, 0, 0, 0, 0, 0, 0, 0, 2 };
	struct fx *f = *state;
	uint8_t key[128], buf[REPO_EVENT_MAX];
	struct serial a, b;
	size_t len;

	add_cert(f, "v-a", false, &a);
	add_cert(f, "v-b", true, &b);
	add_cert(f, "v-c", false, NULL);
	assert_int_equal(verify(f), 0);
	assert_string_equal(f->notes, "");
	repo_close(f->r);
	f->r = NULL;
	raw_put(f->path, "refs", "v-a", 3, NULL, 0);
	reopen(f);
	assert_int_equal(verify(f), 1);
	assert_non_null(strstr(f->notes, "missing from the ref index"));

	repo_close(f->r);
	f->r = NULL;
	raw_put(f->path, "refs", "v-a", 3, key, cert_key("ca-1", &b, key));
	raw_put(f->path, "revoked", key, cert_key("ca-1", &b, key), NULL, 0);
	reopen(f);
	assert_true(verify(f) >= 3);
	assert_non_null(strstr(f->notes, "missing from the revocation index"));
	assert_non_null(strstr(f->notes, "another entry in the ref index"));
	assert_non_null(strstr(f->notes, "counters of issuer 'ca-1'"));

	/* A hole in the event log. */
	repo_close(f->r);
	f->r = NULL;
	len = raw_get(f->path, "events", ev2, sizeof(ev2), buf, sizeof(buf));
	assert_true(len > 0);
	raw_put(f->path, "events", ev2, sizeof(ev2), NULL, 0);
	reopen(f);
	assert_true(verify(f) >= 4);
	assert_non_null(strstr(f->notes, "jumps from 1"));
	/* A version vector ahead of the log. */
	repo_close(f->r);
	f->r = NULL;
	raw_put(f->path, "events", ev2, sizeof(ev2), buf, len);
	raw_put(f->path, "meta", "vv\x03", 3, "\0\0\0\0\0\0\0\x09", 8);
	reopen(f);
	assert_true(verify(f) >= 1);
	assert_non_null(strstr(f->notes, "version vector says node 3 is at "
	    "event 9"));
}

/* ---- backup ------------------------------------------------------------------------ */

static void
copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in, out;

	assert_true((in = open(from, O_RDONLY)) >= 0);
	assert_true((out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

static void
check_copy(struct fx *f, struct repo *r, const struct serial *s)
{
	struct repo_txn *t;
	struct repo_cert c;

	assert_int_equal(repo_verify(r, note, f, f->why, sizeof(f->why)), 0);
	assert_int_equal(repo_begin(r, false, &t, f->why, sizeof(f->why)), 0);
	assert_int_equal(repo_cert_get(t, "ca-1", s, &c, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(c.status, CERT_REVOKED);
	repo_cert_clear(&c);
	repo_abort(t);
}

static void
test_backup(void **state)
{
	struct fx *f = *state;
	char file[PATH_MAX], dir[512], data[PATH_MAX];
	struct serial s;
	struct repo *r;
	struct stat sb;
	mode_t old;
	int i;

	for (i = 0; i < 20; i++)
		add_cert(f, i % 2 ? "odd" : "even", i == 3, i == 3 ? &s : NULL);
	snprintf(file, sizeof(file), "%s/backup.mdb", f->dir);
	old = umask(0);
	assert_int_equal(repo_backup(f->r, file, f->why, sizeof(f->why)), 0);
	umask(old);
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(repo_backup(f->r, file, f->why, sizeof(f->why)),
	    ERR_CONFLICT);
	assert_non_null(strstr(f->why, "never overwrites"));
	assert_int_equal(stat(file, &sb), 0);
	assert_true(sb.st_size > 0);

	/* Opened as it is... */
	assert_int_equal(repo_open(file, 0, MAP_MB, REPO_FILE | REPO_RDONLY,
	    &r, f->why, sizeof(f->why)), 0);
	assert_int_equal(repo_node(r), NODE);
	check_copy(f, r, &s);
	repo_close(r);
	/* ...and restored as a repository directory. */
	snprintf(dir, sizeof(dir), "%s/restored", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	copy_file(file, data);
	assert_int_equal(repo_open(dir, NODE, MAP_MB, 0, &r, f->why,
	    sizeof(f->why)), 0);
	check_copy(f, r, &s);
	repo_close(r);
	assert_int_equal(repo_backup(f->r, "", f->why, sizeof(f->why)),
	    ERR_INVAL);
}

/* ---- codecs ------------------------------------------------------------------------ */

static void
sample_cert(struct repo_cert *c, uint8_t *der, size_t der_len)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->issuer, sizeof(c->issuer), "ca-\xc3\xa9");
	assert_int_equal(serial_from_hex("3abcdef", 7, &c->serial), 0);
	c->status = CERT_REVOKED;
	snprintf(c->profile, sizeof(c->profile), "server");
	c->ref_len = 3;
	memcpy(c->ref, "\x00\xff\x10", 3);
	memset(c->req_hash, 0x5a, sizeof(c->req_hash));
	c->not_before = -5;
	c->not_after = INT64_MAX;
	c->created = INT64_MIN;
	snprintf(c->subject, sizeof(c->subject), "CN=x");
	c->der = der;
	c->der_len = der_len;
	c->revoked_at = 77;
	c->reason = 10;
}

static void
test_cert_codec(void **state)
{
	uint8_t der[3] = { 1, 2, 3 }, *buf, *buf2;
	struct repo_cert c, d;
	size_t len, len2, i;

	(void)state;
	sample_cert(&c, der, sizeof(der));
	assert_int_equal(repo_cert_encode(&c, &buf, &len), 0);
	assert_int_equal(repo_cert_decode(buf, len, &d, NULL, 0), 0);
	assert_string_equal(d.issuer, c.issuer);
	assert_int_equal(d.not_before, -5);
	assert_int_equal(d.not_after, INT64_MAX);
	assert_int_equal(d.created, INT64_MIN);
	assert_int_equal(d.reason, 10);
	assert_memory_equal(d.der, der, sizeof(der));
	assert_int_equal(repo_cert_encode(&d, &buf2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(buf2, buf, len);
	free(buf2);
	repo_cert_clear(&d);
	for (i = 0; i < len; i++)
		assert_int_equal(repo_cert_decode(buf, i, &d, NULL, 0), ERR_REPO);
	buf2 = malloc(len + 1);
	memcpy(buf2, buf, len);
	buf2[len] = 0;
	assert_int_equal(repo_cert_decode(buf2, len + 1, &d, NULL, 0), ERR_REPO);
	buf2[0] = 2;
	assert_int_equal(repo_cert_decode(buf2, len, &d, NULL, 0), ERR_REPO);
	free(buf2);
	free(buf);
	/* What the decoder would refuse is not encoded. */
	c.status = CERT_PENDING;
	assert_int_equal(repo_cert_encode(&c, &buf, &len), ERR_INVAL);
	c.der_len = 0;
	c.revoked_at = 0;
	c.reason = CRL_REASON_NONE;
	assert_int_equal(repo_cert_encode(&c, &buf, &len), 0);
	free(buf);
	c.reason = 7;
	assert_int_equal(repo_cert_encode(&c, &buf, &len), ERR_INVAL);
}

static void
test_revocation_codec(void **state)
{
	struct repo_revocation r, d;
	uint8_t *buf;
	size_t len, i;
	char why[256];

	(void)state;
	memset(&r, 0, sizeof(r));
	snprintf(r.issuer, sizeof(r.issuer), "ca-1");
	assert_int_equal(serial_from_hex("ff", 2, &r.serial), 0);
	r.revoked_at = 1;
	r.reason = CRL_REASON_NONE;
	r.origin = 127;
	r.ref_len = REPO_REF_MAX;
	memset(r.ref, 'r', REPO_REF_MAX);
	assert_int_equal(repo_revocation_encode(&r, &buf, &len), 0);
	assert_int_equal(repo_revocation_decode(buf, len, &d, why, sizeof(why)),
	    0);
	assert_memory_equal(&d.serial, &r.serial, sizeof(r.serial));
	assert_int_equal(d.reason, CRL_REASON_NONE);
	assert_int_equal(d.origin, 127);
	for (i = 0; i < len; i++)
		assert_int_equal(repo_revocation_decode(buf, i, &d, why,
		    sizeof(why)), ERR_REPO);
	assert_int_equal(repo_revocation_decode(NULL, 0, &d, why, sizeof(why)),
	    ERR_REPO);
	free(buf);
	r.origin = 0;
	assert_int_equal(repo_revocation_encode(&r, &buf, &len), ERR_INVAL);
}

static void
test_event_codec(void **state)
{
	uint8_t der[5] = { 9, 8, 7, 6, 5 }, *buf, *p;
	struct repo_event ev, d;
	size_t len, i;
	char why[256];

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.type = REPO_EVENT_ISSUE;
	ev.origin = 2;
	ev.seq = UINT64_MAX;
	sample_cert(&ev.cert, der, sizeof(der));
	assert_int_equal(repo_event_encode(&ev, &buf, &len), 0);
	assert_int_equal(repo_event_decode(buf, len, &d, why, sizeof(why)), 0);
	assert_int_equal(d.type, REPO_EVENT_ISSUE);
	assert_int_equal(d.seq, UINT64_MAX);
	assert_int_equal(d.cert.status, CERT_ISSUED);
	assert_int_equal(d.cert.created, INT64_MIN);
	assert_memory_equal(d.cert.der, der, sizeof(der));
	assert_memory_equal(d.cert.ref, "\x00\xff\x10", 3);
	repo_event_clear(&d);
	for (i = 0; i < len; i++)
		assert_int_equal(repo_event_decode(buf, i, &d, why, sizeof(why)),
		    ERR_REPO);
	free(buf);

	memset(&ev, 0, sizeof(ev));
	ev.type = REPO_EVENT_REVOKE;
	ev.origin = 1;
	ev.seq = 1;
	snprintf(ev.rev.issuer, sizeof(ev.rev.issuer), "ca");
	assert_int_equal(serial_from_hex("1", 1, &ev.rev.serial), 0);
	ev.rev.reason = CRL_REASON_NONE;
	ev.rev.ref_len = 1;
	assert_int_equal(repo_event_encode(&ev, &buf, &len), 0);
	assert_int_equal(repo_event_decode(buf, len, &d, why, sizeof(why)), 0);
	assert_int_equal(d.type, REPO_EVENT_REVOKE);
	assert_int_equal(d.rev.origin, 1);
	assert_int_equal(d.rev.reason, CRL_REASON_NONE);
	/* "revoke" becomes "revokx": an unknown type. */
	assert_non_null(p = memmem(buf, len, "revoke", 6));
	p[5] = 'x';
	assert_int_equal(repo_event_decode(buf, len, &d, why, sizeof(why)),
	    ERR_REPO);
	assert_non_null(strstr(why, "unknown type"));
	free(buf);
	assert_int_equal(repo_event_decode((const uint8_t *)"\xc1", 1, &d, why,
	    sizeof(why)), ERR_REPO);
	assert_int_equal(repo_event_decode((const uint8_t *)"\x80", 1, &d, why,
	    sizeof(why)), ERR_REPO);
	assert_non_null(strstr(why, "missing field 'type'"));
	ev.rev.reason = 7;
	assert_int_equal(repo_event_encode(&ev, &buf, &len), ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema_mismatch, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_node_mismatch, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_a_repository, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_record, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_event, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_map_growth, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_verify_finds, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
		cmocka_unit_test(test_cert_codec),
		cmocka_unit_test(test_revocation_codec),
		cmocka_unit_test(test_event_codec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
