/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: a peer's sync message decoded and checked as the receiving side does (hello, events, ping, answers). */

#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "sync/sync_local.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Room for one batch: as in.c, too big for the stack. */
static struct sync_event evs[SYNC_BATCH_EVENTS_MAX];

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* A refusal says why, in a terminated message; success may leave why alone. */
static void
check_why(const char *why, int rc)
{
	if (rc == 0)
		return;
	check(memchr(why, '\0', MSG_ERRMSG_MAX) != NULL);
	check(why[0] != '\0');
}

/* A vector that parsed packs and parses back to itself. */
static void
check_vv(const uint64_t vv[SYNC_ORIGIN_MAX + 1])
{
	uint64_t back[SYNC_ORIGIN_MAX + 1];
	char why[MSG_ERRMSG_MAX];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked up;
	size_t off = 0;

	check(vv[0] == 0);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msg_pack_cstr(&pk, "vv");
	wire_pack_vv(&pk, vv);
	msgpack_unpacked_init(&up);
	check(msgpack_unpack_next(&up, sb.data, sb.size, &off) ==
	    MSGPACK_UNPACK_SUCCESS);
	check(wire_get_vv(&up.data, "vv", back, why, sizeof(why)) == 0);
	check(memcmp(back, vv, sizeof(back)) == 0);
	msgpack_unpacked_destroy(&up);
	msgpack_sbuffer_destroy(&sb);
}

static void
get_vv(const msgpack_object *map)
{
	uint64_t vv[SYNC_ORIGIN_MAX + 1];
	char why[MSG_ERRMSG_MAX];
	int rc;

	memset(why, 0x55, sizeof(why));
	rc = wire_get_vv(map, "vv", vv, why, sizeof(why));
	check(rc == 0 || rc == ERR_BAD_REQUEST);
	check_why(why, rc);
	if (rc == 0)
		check_vv(vv);
}

/* The events of a batch point into the message and are numbered from first. */
static void
get_events(const struct msg *m)
{
	char why[MSG_ERRMSG_MAX];
	uint64_t origin, first;
	size_t n = 1, i;
	int rc;

	memset(why, 0x55, sizeof(why));
	rc = wire_get_events(m, &origin, &first, evs, &n, why, sizeof(why));
	check(rc == 0 || rc == ERR_BAD_REQUEST);
	check_why(why, rc);
	if (rc != 0) {
		check(n == 0);
		return;
	}
	check(origin >= 1 && origin <= SYNC_ORIGIN_MAX && first >= 1);
	check(n >= 1 && n <= SYNC_BATCH_EVENTS_MAX);
	for (i = 0; i < n; i++) {
		check(evs[i].seq == first + i);
		check(evs[i].len >= 1 && evs[i].len <= SYNC_EVENT_MAX);
		check(evs[i].data >= m->raw && evs[i].len <= m->raw_len &&
		    (size_t)(evs[i].data - m->raw) <= m->raw_len - evs[i].len);
	}
}

static void
get_hello(const struct msg *m)
{
	char why[MSG_ERRMSG_MAX];
	uint64_t u;
	int rc;

	rc = msg_get_uint(m->args, "proto", true, 1, UINT32_MAX, &u, why,
	    sizeof(why));
	check(rc == 1 || rc == ERR_BAD_REQUEST);
	check(rc != 1 || (u >= 1 && u <= UINT32_MAX));
	rc = msg_get_uint(m->args, "node", true, 1, SYNC_ORIGIN_MAX, &u, why,
	    sizeof(why));
	check(rc == 1 || rc == ERR_BAD_REQUEST);
	check(rc != 1 || (u >= 1 && u <= SYNC_ORIGIN_MAX));
}

/* What in.c reads of a request, whatever its command says. */
static void
request(const uint8_t *data, size_t size)
{
	char why[MSG_ERRMSG_MAX];
	struct msg m;
	int rc;

	msg_init(&m);
	rc = msg_decode_request(data, size, &m, why, sizeof(why));
	check(rc == 0 || rc == ERR_DECODE || rc == ERR_BAD_REQUEST ||
	    rc == ERR_UNSUPPORTED_VERSION);
	if (rc == 0) {
		check(m.args != NULL && m.args->type == MSGPACK_OBJECT_MAP);
		get_hello(&m);
		get_events(&m);
		get_vv(m.args);
	}
	msg_free(&m);
}

/* What out.c reads of an answer: the peer's node and vector. */
static void
response(const uint8_t *data, size_t size)
{
	char why[MSG_ERRMSG_MAX];
	struct msg m;
	uint64_t u;
	int rc;

	msg_init(&m);
	rc = msg_decode_response(data, size, &m, why, sizeof(why));
	check(rc == 0 || rc == ERR_DECODE || rc == ERR_BAD_REQUEST ||
	    rc == ERR_UNSUPPORTED_VERSION);
	if (rc == 0 && m.ok) {
		rc = msg_get_uint(m.result, "node", true, 1, SYNC_ORIGIN_MAX,
		    &u, why, sizeof(why));
		check(rc == 1 || rc == ERR_BAD_REQUEST);
		check(rc != 1 || (u >= 1 && u <= SYNC_ORIGIN_MAX));
		get_vv(m.result);
	}
	msg_free(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	request(data, size);
	response(data, size);
	return 0;
}
