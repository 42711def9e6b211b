/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: the link's internal interface between its opening (client/link_open.c) and its batches (client/link.c). */
#ifndef CLIENT_LINK_LOCAL_H
#define CLIENT_LINK_LOCAL_H

#include "client/client.h"

#define LINK_READ_CHUNK 4096    /* bytes read from the line at once */

struct link {
	const struct conf_client *conf; /* NULL for link_from_fd */
	size_t cur;                     /* index of the open signer in conf */
	bool failover;                  /* may move to the other signer */
	link_switch_fn on_switch;       /* told of every move */
	void *on_switch_arg;
	int fd;
	struct link_params p;
	uint32_t peer_max;              /* the signer's max_frame, from hello */
	struct frame_decoder *dec;
	uint32_t next_id;
	size_t sent;
	uint8_t rbuf[LINK_READ_CHUNK];  /* bytes read but not yet decoded */
	size_t rlen, roff;
	/* Output queue: a 0x00 and a frame per attempt, in the order sent. */
	uint8_t *out;
	size_t olen, ooff, ocap;
	uint64_t queued;                /* bytes ever put in the queue */
	uint64_t written;               /* of which written (or dropped) */
};

/* Close the line; what it held for either direction is dropped. */
void link_close(struct link *l);

/* Open signer i of the configuration (closing the line first). Returns 0 or the error. */
int link_open_at(struct link *l, size_t i, char *why, size_t whylen);

#endif /* CLIENT_LINK_LOCAL_H */
