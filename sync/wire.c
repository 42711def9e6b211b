/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sync: the version vectors and event batches carried by the sync messages, packed and checked. */

#include <string.h>

#include "sync/sync_local.h"

void
wire_pack_vv(msgpack_packer *pk, const uint64_t vv[SYNC_ORIGIN_MAX + 1])
{
	uint32_t n = 0;
	size_t o;

	for (o = 1; o <= SYNC_ORIGIN_MAX; o++)
		n += vv[o] > 0;
	msgpack_pack_array(pk, n);
	for (o = 1; o <= SYNC_ORIGIN_MAX; o++) {
		if (vv[o] == 0)
			continue;
		msgpack_pack_array(pk, 2);
		msgpack_pack_uint64(pk, o);
		msgpack_pack_uint64(pk, vv[o]);
	}
}

/* One [origin, seq] pair. */
static int
vv_pair(const msgpack_object *e, const char *key, uint64_t *origin,
    uint64_t *seq, char *why, size_t whylen)
{
	const msgpack_object *a;

	if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2)
		goto bad;
	a = e->via.array.ptr;
	if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    a[0].via.u64 == 0 || a[0].via.u64 > SYNC_ORIGIN_MAX ||
	    a[1].via.u64 == 0)
		goto bad;
	*origin = a[0].via.u64;
	*seq = a[1].via.u64;
	return 0;
bad:
	err_why(why, whylen, "field '%s': each entry must be [origin 1..%d, "
	    "seq >= 1]", key, SYNC_ORIGIN_MAX);
	return ERR_BAD_REQUEST;
}

int
wire_get_vv(const msgpack_object *map, const char *key,
    uint64_t vv[SYNC_ORIGIN_MAX + 1], char *why, size_t whylen)
{
	const msgpack_object_array *a;
	uint64_t origin, seq;
	uint32_t i;
	int rc;

	memset(vv, 0, sizeof(uint64_t) * (SYNC_ORIGIN_MAX + 1));
	if ((rc = msg_get_array(map, key, true, SYNC_ORIGIN_MAX, &a, why,
	    whylen)) < 0)
		return rc;
	for (i = 0; i < a->size; i++) {
		if ((rc = vv_pair(&a->ptr[i], key, &origin, &seq, why,
		    whylen)) != 0)
			return rc;
		if (vv[origin] != 0) {
			err_why(why, whylen, "field '%s': origin %llu twice",
			    key, (unsigned long long)origin);
			return ERR_BAD_REQUEST;
		}
		vv[origin] = seq;
	}
	return 0;
}

uint64_t
wire_vv_ahead(const uint64_t have[SYNC_ORIGIN_MAX + 1],
    const uint64_t vv[SYNC_ORIGIN_MAX + 1], uint8_t skip)
{
	uint64_t n = 0;
	size_t o;

	for (o = 1; o <= SYNC_ORIGIN_MAX; o++) {
		if (o == skip || have[o] <= vv[o])
			continue;
		/* A peer's vector can be anything: saturate, never wrap. */
		if (have[o] - vv[o] > UINT64_MAX - n)
			return UINT64_MAX;
		n += have[o] - vv[o];
	}
	return n;
}

int
wire_get_events(const struct msg *m, uint64_t *origin, uint64_t *first,
    struct sync_event *evs, size_t *n, char *why, size_t whylen)
{
	const msgpack_object_array *a;
	const msgpack_object *e;
	uint32_t i;
	int rc;

	*n = 0;
	if ((rc = msg_get_uint(m->args, "origin", true, 1, SYNC_ORIGIN_MAX,
	    origin, why, whylen)) < 0 ||
	    (rc = msg_get_uint(m->args, "first", true, 1, UINT64_MAX -
	    SYNC_BATCH_EVENTS_MAX, first, why, whylen)) < 0 ||
	    (rc = msg_get_array(m->args, "events", true,
	    SYNC_BATCH_EVENTS_MAX, &a, why, whylen)) < 0)
		return rc;
	if (a->size == 0) {
		err_why(why, whylen, "field 'events' is empty");
		return ERR_BAD_REQUEST;
	}
	for (i = 0; i < a->size; i++) {
		e = &a->ptr[i];
		if (e->type != MSGPACK_OBJECT_BIN || e->via.bin.size == 0 ||
		    e->via.bin.size > SYNC_EVENT_MAX) {
			err_why(why, whylen, "event %u of the batch is not a "
			    "bin of 1..%u bytes", i, SYNC_EVENT_MAX);
			return ERR_BAD_REQUEST;
		}
		evs[i].seq = *first + i;
		evs[i].data = (const uint8_t *)e->via.bin.ptr;
		evs[i].len = e->via.bin.size;
	}
	*n = a->size;
	return 0;
}
