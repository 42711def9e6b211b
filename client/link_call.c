/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: one request and its answer, as a batch of one on the link. */

#include <string.h>

#include "client/client.h"

struct call_one {
	struct link_req req;
	struct msg *resp;
	int rc;
	char *why;
	size_t whylen;
};

static void
call_one_req(void *arg, size_t i, struct link_req *r)
{
	struct call_one *c = arg;

	(void)i;
	*r = c->req;
}

static int
call_one_done(void *arg, size_t i, int rc, struct msg *resp, const char *why)
{
	struct call_one *c = arg;

	(void)i;
	c->rc = rc;
	if (rc != 0)
		err_why(c->why, c->whylen, "%s", why);
	/* The caller gets its own copy, decoded from the same bytes. */
	if (resp != NULL && msg_decode_response(resp->raw, resp->raw_len,
	    c->resp, NULL, 0) != 0 && rc == 0) {
		err_why(c->why, c->whylen, "out of memory");
		c->rc = ERR_NOMEM;
	}
	return 0;
}

int
link_call(struct link *l, const char *cmd, uint32_t nargs, link_args_fn fn,
    void *arg, struct msg *resp, char *why, size_t whylen)
{
	struct call_one c = { { cmd, nargs, fn, arg }, resp, 0, why, whylen };
	struct link_batch b = { 1, 1, call_one_req, call_one_done, &c };
	int rc;

	if (l == NULL || cmd == NULL || resp == NULL)
		return ERR_INVAL;
	if ((rc = link_pipeline(l, &b, why, whylen)) != 0)
		return rc;
	return c.rc;
}
