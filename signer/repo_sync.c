/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The repository seen by the sync module: version vector, event log reads, and batches of a peer's events applied. */

#include <string.h>

#include "signer/signer.h"
#include "sync/sync.h"

_Static_assert(REPO_EVENT_MAX <= SYNC_EVENT_MAX,
    "sync must carry every event the repository holds");
_Static_assert(REPO_NODE_MAX == SYNC_ORIGIN_MAX,
    "sync and the repository agree on node ids");

static int
store_vv(void *ctx, uint64_t vv[SYNC_ORIGIN_MAX + 1], char *why,
    size_t whylen)
{
	struct repo_txn *t;
	int rc;

	if ((rc = repo_begin(ctx, false, &t, why, whylen)) != 0)
		return rc;
	rc = repo_vv_all(t, vv, why, whylen);
	repo_abort(t);
	return rc;
}

struct store_read {
	int (*cb)(const struct sync_event *ev, void *arg);
	void *arg;
};

static int
store_read_one(uint8_t origin, uint64_t seq, const uint8_t *event,
    size_t len, void *ctx)
{
	struct store_read *r = ctx;
	struct sync_event ev = { .seq = seq, .data = event, .len = len };

	(void)origin;
	return r->cb(&ev, r->arg) != 0 ? 1 : 0;
}

static int
store_read(void *ctx, uint8_t origin, uint64_t after,
    int (*cb)(const struct sync_event *ev, void *arg), void *arg,
    char *why, size_t whylen)
{
	struct store_read r = { .cb = cb, .arg = arg };
	struct repo_txn *t;
	int rc;

	if ((rc = repo_begin(ctx, false, &t, why, whylen)) != 0)
		return rc;
	rc = repo_events_foreach(t, origin, after, store_read_one, &r, why,
	    whylen);
	repo_abort(t);
	return rc == 1 ? 0 : rc;
}

struct store_batch {
	uint8_t origin;
	const struct sync_event *evs;
	size_t n;
};

static int
store_apply_txn(struct repo_txn *t, void *ctx, char *why, size_t whylen)
{
	const struct store_batch *b = ctx;
	size_t i;
	int rc;

	for (i = 0; i < b->n; i++) {
		rc = repo_event_apply_at(t, b->origin, b->evs[i].seq,
		    b->evs[i].data, b->evs[i].len, why, whylen);
		if (rc != 0 && rc != REPO_APPLY_KNOWN)
			return rc;
	}
	return 0;
}

static int
store_apply(void *ctx, uint8_t origin, const struct sync_event *evs,
    size_t n, char *why, size_t whylen)
{
	struct store_batch b = { .origin = origin, .evs = evs, .n = n };

	return repo_update(ctx, store_apply_txn, &b, why, whylen);
}

void
repo_sync_store(struct repo *r, struct sync_store *out)
{
	memset(out, 0, sizeof(*out));
	out->ctx = r;
	out->node = repo_node(r);
	out->vv = store_vv;
	out->read = store_read;
	out->apply = store_apply;
}
