/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Repository environment: opening and checking, transactions, map growth and hot backups. */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signer/repo_local.h"

#define REPO_MIB ((size_t)1024 * 1024)

static const char *const repo_db_names[REPO_DB_COUNT] = {
	[REPO_DB_META] = "meta",
	[REPO_DB_CERTS] = "certs",
	[REPO_DB_REFS] = "refs",
	[REPO_DB_REVOKED] = "revoked",
	[REPO_DB_REVREFS] = "revrefs",
	[REPO_DB_EVENTS] = "events",
	[REPO_DB_STATS] = "stats",
	[REPO_DB_REVLOG] = "revlog",
	[REPO_DB_CRLS] = "crls",
};

static const char repo_key_schema[] = "schema";
static const char repo_key_node[] = "node";

/* ---- errors and single values ---------------------------------------------- */

int
repo_txn_break(struct repo_txn *t, int rc)
{
	if (t != NULL && rc != 0)
		t->broken = true;
	return rc;
}

int
repo_mdb_fail(struct repo_txn *t, int mrc, const char *what, char *why,
    size_t whylen)
{
	if (mrc == MDB_MAP_FULL && t != NULL) {
		t->map_full = true;
		pthread_mutex_lock(&t->repo->lock);
		t->repo->grow = true;
		pthread_mutex_unlock(&t->repo->lock);
		err_why(why, whylen, "%s: the repository map is full; it grows "
		    "before the next transaction", what);
	} else
		err_why(why, whylen, "%s: %s", what, mdb_strerror(mrc));
	return repo_txn_break(t, ERR_REPO);
}

int
repo_get(struct repo_txn *t, enum repo_db db, const void *key, size_t klen,
    MDB_val *val, char *why, size_t whylen)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)(uintptr_t)key };
	int mrc;

	val->mv_size = 0;
	val->mv_data = NULL;
	mrc = mdb_get(t->txn, t->repo->dbi[db], &k, val);
	if (mrc == MDB_NOTFOUND)
		return ERR_NOT_FOUND;
	if (mrc != 0)
		return repo_mdb_fail(t, mrc, repo_db_names[db], why, whylen);
	return 0;
}

int
repo_put(struct repo_txn *t, enum repo_db db, const void *key, size_t klen,
    const void *val, size_t vlen, unsigned int flags, char *why, size_t whylen)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)(uintptr_t)key };
	MDB_val v = { .mv_size = vlen, .mv_data = (void *)(uintptr_t)val };
	int mrc;

	if ((mrc = mdb_put(t->txn, t->repo->dbi[db], &k, &v, flags)) != 0)
		return repo_mdb_fail(t, mrc, repo_db_names[db], why, whylen);
	return 0;
}

int
repo_txn_writable(struct repo_txn *t, char *why, size_t whylen)
{
	if (t == NULL || !t->write) {
		err_why(why, whylen, "a write transaction is needed");
		return ERR_INVAL;
	}
	if (t->broken) {
		err_why(why, whylen, "the transaction failed earlier");
		return ERR_REPO;
	}
	return 0;
}

/* ---- opening ------------------------------------------------------------------ */

/* Does path hold a repository, or may one be created there? */
static int
repo_prepare_path(const char *path, int flags, char *why, size_t whylen)
{
	char data[REPO_PATH_MAX + 16];
	struct stat st;

	if (stat(path, &st) != 0) {
		if (errno != ENOENT) {
			err_why(why, whylen, "%s: %s", path, strerror(errno));
			return ERR_REPO;
		}
		if (!(flags & REPO_CREATE)) {
			err_why(why, whylen, "%s: no repository there", path);
			return ERR_NOT_FOUND;
		}
		if (flags & REPO_FILE)
			return 0;
		if (mkdir(path, 0700) != 0) {
			err_why(why, whylen, "%s: cannot create: %s", path,
			    strerror(errno));
			return ERR_REPO;
		}
		return 0;
	}
	if ((flags & REPO_FILE) && !S_ISREG(st.st_mode)) {
		err_why(why, whylen, "%s: not a regular file", path);
		return ERR_REPO;
	}
	if (flags & REPO_FILE)
		return 0;
	if (!S_ISDIR(st.st_mode)) {
		err_why(why, whylen, "%s: not a directory", path);
		return ERR_REPO;
	}
	snprintf(data, sizeof(data), "%s/data.mdb", path);
	if (!(flags & REPO_CREATE) && stat(data, &st) != 0) {
		err_why(why, whylen, "%s: no repository there (no data.mdb)",
		    path);
		return ERR_NOT_FOUND;
	}
	return 0;
}

/* Store the schema version and the owner of a new repository. */
static int
repo_meta_create(struct repo_txn *t, char *why, size_t whylen)
{
	uint8_t v[4] = { 0, 0, 0, REPO_SCHEMA_VERSION };
	int rc;

	if ((rc = repo_put(t, REPO_DB_META, repo_key_schema,
	    strlen(repo_key_schema), v, sizeof(v), 0, why, whylen)) != 0)
		return rc;
	return repo_put(t, REPO_DB_META, repo_key_node, strlen(repo_key_node),
	    &t->repo->node, 1, 0, why, whylen);
}

static int
repo_meta_check(struct repo_txn *t, char *why, size_t whylen)
{
	struct repo *r = t->repo;
	const uint8_t *p;
	uint32_t version;
	MDB_val v;
	int rc;

	rc = repo_get(t, REPO_DB_META, repo_key_schema, strlen(repo_key_schema),
	    &v, why, whylen);
	if (rc != 0 || v.mv_size != 4) {
		if (rc != ERR_REPO)
			err_why(why, whylen, "%s: not a signer repository (no "
			    "schema version)", r->path);
		return ERR_REPO;
	}
	p = v.mv_data;
	version = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	if (version != REPO_SCHEMA_VERSION) {
		err_why(why, whylen, "%s: repository schema version %u, this "
		    "signerd supports %d", r->path, version, REPO_SCHEMA_VERSION);
		return ERR_REPO;
	}
	rc = repo_get(t, REPO_DB_META, repo_key_node, strlen(repo_key_node), &v,
	    why, whylen);
	if (rc != 0 || v.mv_size != 1 || ((const uint8_t *)v.mv_data)[0] < 1 ||
	    ((const uint8_t *)v.mv_data)[0] > REPO_NODE_MAX) {
		if (rc != ERR_REPO)
			err_why(why, whylen, "%s: no valid node id", r->path);
		return ERR_REPO;
	}
	p = v.mv_data;
	if (r->node == 0)
		r->node = p[0];
	if (p[0] != r->node) {
		err_why(why, whylen, "%s: repository belongs to node %u, but "
		    "this signer is configured as node %u", r->path, p[0],
		    r->node);
		return ERR_REPO;
	}
	return 0;
}

/* Open the databases, creating them in a new repository; then check meta. */
static int
repo_init(struct repo *r, int flags, char *why, size_t whylen)
{
	struct repo_txn t = { .repo = r, .write = !r->rdonly };
	unsigned int dflags = 0;
	int i, mrc, rc = 0;

	if ((mrc = mdb_txn_begin(r->env, NULL, r->rdonly ? MDB_RDONLY : 0,
	    &t.txn)) != 0)
		return repo_mdb_fail(NULL, mrc, r->path, why, whylen);
	mrc = mdb_dbi_open(t.txn, repo_db_names[0], 0, &r->dbi[0]);
	if (mrc == MDB_NOTFOUND && (flags & REPO_CREATE))
		dflags = MDB_CREATE;
	for (i = 0; i < REPO_DB_COUNT && rc == 0; i++) {
		mrc = mdb_dbi_open(t.txn, repo_db_names[i], dflags, &r->dbi[i]);
		if (mrc == MDB_NOTFOUND) {
			err_why(why, whylen, "%s: not a signer repository (no "
			    "'%s' database)", r->path, repo_db_names[i]);
			rc = ERR_REPO;
		} else if (mrc != 0)
			rc = repo_mdb_fail(&t, mrc, r->path, why, whylen);
	}
	if (rc == 0)
		rc = dflags != 0 ? repo_meta_create(&t, why, whylen) :
		    repo_meta_check(&t, why, whylen);
	if (rc != 0) {
		mdb_txn_abort(t.txn);
		return rc;
	}
	/* Database handles outlive the opening transaction only if it commits. */
	if ((mrc = mdb_txn_commit(t.txn)) != 0)
		return repo_mdb_fail(NULL, mrc, r->path, why, whylen);
	return 0;
}

static int
repo_open_check(const char *path, uint8_t node, size_t map_size_mb, int flags,
    char *why, size_t whylen)
{
	if (path == NULL || strlen(path) >= REPO_PATH_MAX || path[0] == '\0' ||
	    (flags & ~(REPO_CREATE | REPO_RDONLY | REPO_FILE)) != 0 ||
	    ((flags & REPO_CREATE) && (flags & REPO_RDONLY)) ||
	    map_size_mb < 1 || map_size_mb > REPO_MAP_MAX_MB) {
		err_why(why, whylen, "repo_open: invalid arguments");
		return ERR_INVAL;
	}
	if (node > REPO_NODE_MAX || (node == 0 && !(flags & REPO_RDONLY))) {
		err_why(why, whylen, "node id %u is not 1..%d", node,
		    REPO_NODE_MAX);
		return ERR_INVAL;
	}
	return 0;
}

int
repo_open(const char *path, uint8_t node, size_t map_size_mb, int flags,
    struct repo **out, char *why, size_t whylen)
{
	unsigned int eflags = MDB_NOTLS;
	struct repo *r = NULL;
	int dead, mrc, rc;

	*out = NULL;
	if ((rc = repo_open_check(path, node, map_size_mb, flags, why,
	    whylen)) != 0 ||
	    (rc = repo_prepare_path(path, flags, why, whylen)) != 0)
		return rc;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return ERR_NOMEM;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return ERR_SYSTEM;
	}
	r->node = node;
	r->rdonly = (flags & REPO_RDONLY) != 0;
	snprintf(r->path, sizeof(r->path), "%s", path);
	eflags |= (flags & REPO_FILE) ? MDB_NOSUBDIR : 0;
	eflags |= r->rdonly ? MDB_RDONLY : 0;
	if ((mrc = mdb_env_create(&r->env)) != 0 ||
	    (mrc = mdb_env_set_maxdbs(r->env, REPO_DB_COUNT)) != 0 ||
	    (mrc = mdb_env_set_mapsize(r->env, map_size_mb * REPO_MIB)) != 0 ||
	    (mrc = mdb_env_open(r->env, path, eflags, 0600)) != 0 ||
	    (mrc = mdb_reader_check(r->env, &dead)) != 0) {
		rc = repo_mdb_fail(NULL, mrc, path, why, whylen);
		goto out;
	}
	if ((rc = repo_init(r, flags, why, whylen)) != 0)
		goto out;
	*out = r;
	r = NULL;       /* transferred */
out:
	repo_close(r);
	return rc;
}

void
repo_close(struct repo *r)
{
	if (r == NULL)
		return;
	if (r->env != NULL)
		mdb_env_close(r->env);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void
repo_on_commit(struct repo *r, void (*fn)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&r->lock);
	r->on_commit = fn;
	r->on_commit_ctx = ctx;
	pthread_mutex_unlock(&r->lock);
}

uint8_t
repo_node(const struct repo *r)
{
	return r->node;
}

/* ---- transactions --------------------------------------------------------------- */

/* Double the map after MDB_MAP_FULL; LMDB allows it only with no transaction open. */
static int
repo_grow(struct repo *r, char *why, size_t whylen)
{
	size_t max = (size_t)REPO_MAP_MAX_MB * REPO_MIB, size;
	MDB_envinfo info;
	int mrc;

	if (!r->grow || r->ntxn > 0)
		return 0;
	r->grow = false;
	if ((mrc = mdb_env_info(r->env, &info)) != 0)
		return repo_mdb_fail(NULL, mrc, r->path, why, whylen);
	if (info.me_mapsize >= max) {
		err_why(why, whylen, "%s: the repository map is at its "
		    "maximum of %d MiB", r->path, REPO_MAP_MAX_MB);
		return ERR_REPO;
	}
	size = info.me_mapsize > max / 2 ? max : info.me_mapsize * 2;
	if ((mrc = mdb_env_set_mapsize(r->env, size)) != 0)
		return repo_mdb_fail(NULL, mrc, r->path, why, whylen);
	return 0;
}

/* Count a transaction about to open, growing the map first when asked and none is open. */
static int
repo_enter(struct repo *r, char *why, size_t whylen)
{
	int rc;

	pthread_mutex_lock(&r->lock);
	if ((rc = repo_grow(r, why, whylen)) == 0)
		r->ntxn++;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* A transaction ended (or failed to open): the map may grow now. */
static void
repo_leave(struct repo *r)
{
	pthread_mutex_lock(&r->lock);
	r->ntxn--;
	/* A failure here is reported again by the next repo_begin. */
	(void)repo_grow(r, NULL, 0);
	pthread_mutex_unlock(&r->lock);
}

/* Another process grew the map: adopt its size when no other transaction is open. */
static int
repo_adopt_size(struct repo *r)
{
	int mrc = MDB_MAP_RESIZED;

	pthread_mutex_lock(&r->lock);
	if (r->ntxn == 1)
		mrc = mdb_env_set_mapsize(r->env, 0);
	pthread_mutex_unlock(&r->lock);
	return mrc;
}

int
repo_begin(struct repo *r, bool write, struct repo_txn **out, char *why,
    size_t whylen)
{
	struct repo_txn *t;
	unsigned int tflags = write ? 0 : MDB_RDONLY;
	int mrc, rc;

	*out = NULL;
	if (r == NULL || (write && r->rdonly)) {
		err_why(why, whylen, "the repository is open read only");
		return ERR_INVAL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return ERR_NOMEM;
	if ((rc = repo_enter(r, why, whylen)) != 0) {
		free(t);
		return rc;
	}
	t->repo = r;
	t->write = write;
	/* Not under the lock: a write begin waits for the writer before it. */
	mrc = mdb_txn_begin(r->env, NULL, tflags, &t->txn);
	if (mrc == MDB_MAP_RESIZED && (mrc = repo_adopt_size(r)) == 0)
		mrc = mdb_txn_begin(r->env, NULL, tflags, &t->txn);
	if (mrc != 0) {
		free(t);
		repo_leave(r);
		return repo_mdb_fail(NULL, mrc, r->path, why, whylen);
	}
	*out = t;
	return 0;
}

/* Tell the commit hook that a write transaction committed. */
static void
repo_notify(struct repo *r)
{
	void (*fn)(void *);
	void *ctx;

	pthread_mutex_lock(&r->lock);
	fn = r->on_commit;
	ctx = r->on_commit_ctx;
	pthread_mutex_unlock(&r->lock);
	if (fn != NULL)
		fn(ctx);
}

/* End t, committing if asked; sets *full when the map was full. */
static int
repo_end(struct repo_txn *t, bool commit, bool *full, char *why, size_t whylen)
{
	struct repo *r = t->repo;
	bool write;
	int mrc, rc = 0;

	if (commit && t->broken) {
		err_why(why, whylen, "%s: transaction not committed: an "
		    "operation in it failed", r->path);
		commit = false;
		rc = ERR_REPO;
	}
	if (!commit)
		mdb_txn_abort(t->txn);
	else if ((mrc = mdb_txn_commit(t->txn)) != 0)
		rc = repo_mdb_fail(t, mrc, r->path, why, whylen);
	*full = t->map_full;
	write = t->write;
	free(t);
	repo_leave(r);
	if (commit && write && rc == 0)
		repo_notify(r);
	return rc;
}

int
repo_commit(struct repo_txn *t, char *why, size_t whylen)
{
	bool full;

	if (t == NULL)
		return ERR_INVAL;
	return repo_end(t, true, &full, why, whylen);
}

void
repo_abort(struct repo_txn *t)
{
	bool full;

	if (t != NULL)
		repo_end(t, false, &full, NULL, 0);
}

int
repo_update(struct repo *r,
    int (*fn)(struct repo_txn *t, void *ctx, char *why, size_t whylen),
    void *ctx, char *why, size_t whylen)
{
	struct repo_txn *t;
	int rc, tries;
	bool full;

	if (r == NULL || fn == NULL)
		return ERR_INVAL;
	for (tries = 0;; tries++) {
		if ((rc = repo_begin(r, true, &t, why, whylen)) != 0)
			return rc;
		rc = fn(t, ctx, why, whylen);
		rc = repo_end(t, rc == 0, &full, rc == 0 ? why : NULL,
		    rc == 0 ? whylen : 0) == 0 ? rc : ERR_REPO;
		if (rc == 0 || !full || tries >= REPO_GROW_TRIES)
			return rc;
	}
}

/* ---- backup ---------------------------------------------------------------------- */

/* Make the new directory entry of path durable. */
static void
repo_sync_dir(const char *path)
{
	char dir[REPO_PATH_MAX];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

/*
 * The copy goes to a file opened here with O_EXCL and mode 0600 (then
 * fchmod, whatever the umask), so that an existing target is never touched.
 */
int
repo_backup(struct repo *r, const char *path, char *why, size_t whylen)
{
	int fd, mrc, rc = 0;

	if (r == NULL || path == NULL || path[0] == '\0' ||
	    strlen(path) >= REPO_PATH_MAX)
		return ERR_INVAL;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		err_why(why, whylen, "%s: %s%s", path, strerror(errno),
		    errno == EEXIST ? "; a backup never overwrites a file" : "");
		return errno == EEXIST ? ERR_CONFLICT : ERR_SYSTEM;
	}
	if (fchmod(fd, 0600) != 0) {
		err_why(why, whylen, "%s: %s", path, strerror(errno));
		rc = ERR_SYSTEM;
	} else if ((mrc = mdb_env_copyfd2(r->env, fd, MDB_CP_COMPACT)) != 0) {
		err_why(why, whylen, "%s: backup failed: %s", path,
		    mdb_strerror(mrc));
		rc = ERR_REPO;
	} else if (fsync(fd) != 0) {
		err_why(why, whylen, "%s: %s", path, strerror(errno));
		rc = ERR_SYSTEM;
	}
	if (close(fd) != 0 && rc == 0) {
		err_why(why, whylen, "%s: %s", path, strerror(errno));
		rc = ERR_SYSTEM;
	}
	if (rc != 0)
		unlink(path);
	else
		repo_sync_dir(path);
	return rc;
}
