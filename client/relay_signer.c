/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: the relay's signers: the link opened on demand, failovers logged and counted, and the way back to the first signer once it answers again. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/relay_local.h"

/* "signer N (DEVICE)", numbered from 1 as in client.yaml. */
static const char *
signer_name(const struct relay *rl, size_t i, char *buf, size_t cap)
{
	const struct conf_client *c = rl->ctx->conf;

	snprintf(buf, cap, "signer %zu (%s)", i + 1, i < c->n_signers ?
	    c->signers[i].device : "?");
	return buf;
}

static void
probe_reset(struct relay *rl)
{
	rl->probe_wait_ms = RELAY_PROBE_MIN_MS;
	rl->probe_ms = relay_now_ms() + rl->probe_wait_ms;
}

/* A link_switch_fn: the link failed over inside a batch. */
static void
relay_switched(void *arg, size_t from, size_t to, const char *why)
{
	struct relay *rl = arg;
	char a[CLIENT_WHY_MAX], b[CLIENT_WHY_MAX];

	relay_progress_clear(rl);
	log_warnx("link: %s %s: switching to %s", signer_name(rl, from, a,
	    sizeof(a)), why, signer_name(rl, to, b, sizeof(b)));
	rl->switches++;
	rl->signer = to;
	rl->signer_known = true;
	if (to != 0)
		probe_reset(rl);
}

/* A link was opened: note the signer it is on. */
static void
relay_note_signer(struct relay *rl)
{
	size_t cur = link_signer(rl->ctx->link);
	char a[CLIENT_WHY_MAX], b[CLIENT_WHY_MAX];

	if (rl->signer_known && cur == rl->signer)
		return;
	relay_progress_clear(rl);
	if (rl->signer_known) {
		log_warnx("link: switching from %s to %s", signer_name(rl,
		    rl->signer, a, sizeof(a)), signer_name(rl, cur, b,
		    sizeof(b)));
		rl->switches++;
	} else
		log_info("link: using %s", signer_name(rl, cur, a, sizeof(a)));
	rl->signer = cur;
	rl->signer_known = true;
	if (cur != 0)
		probe_reset(rl);
}

/* The hello timeout for a signer that may well not answer. */
static uint32_t
probe_timeout(const struct conf_client *c)
{
	return c->timeout_ms < RELAY_PROBE_TIMEOUT_MS ? c->timeout_ms :
	    RELAY_PROBE_TIMEOUT_MS;
}

int
relay_link_up(struct relay *rl, char *why, size_t whylen)
{
	struct client_ctx *ctx = rl->ctx;
	const struct conf_client *c = ctx->conf;
	struct link *l;
	int rc;

	if (ctx->link != NULL)
		return 0;
	if ((rc = link_open(c, &l, why, whylen)) == 0) {
		link_on_switch(l, relay_switched, rl);
		if (rl->link_down)
			link_set_timeout(l, probe_timeout(c), 0);
		rc = client_greet(l, why, whylen);
		link_set_timeout(l, c->timeout_ms, c->retries);
		if (rc != 0)
			link_free(l);
	}
	rl->link_down = rc != 0;
	if (rc != 0)
		return rc;
	ctx->link = l;  /* transferred */
	relay_note_signer(rl);
	return 0;
}

int
relay_link_check(struct relay *rl)
{
	const struct conf_client *c = rl->ctx->conf;
	char why[CLIENT_WHY_MAX];
	int rc;

	if (rl->ctx->link == NULL)
		return ERR_LINK;
	link_set_timeout(rl->ctx->link, probe_timeout(c), 0);
	rc = client_greet(rl->ctx->link, why, sizeof(why));
	link_set_timeout(rl->ctx->link, c->timeout_ms, c->retries);
	return rc;
}

void
relay_link_drop(struct relay *rl)
{
	link_free(rl->ctx->link);
	rl->ctx->link = NULL;
	rl->link_down = true;
}

/* Open signer 0 alone and greet it; 0 and *out the caller's when it answers. */
static int
probe_first(struct relay *rl, struct link **out, char *why, size_t whylen)
{
	const struct conf_client *c = rl->ctx->conf;
	struct link *l;
	int rc;

	if ((rc = link_open_signer(c, 0, &l, why, whylen)) != 0)
		return rc;
	link_set_failover(l, false);
	link_set_timeout(l, probe_timeout(c), 0);
	if ((rc = client_greet(l, why, whylen)) != 0) {
		link_free(l);
		return rc;
	}
	link_set_timeout(l, c->timeout_ms, c->retries);
	link_set_failover(l, true);
	link_on_switch(l, relay_switched, rl);
	*out = l;       /* transferred */
	return 0;
}

void
relay_failback(struct relay *rl)
{
	struct client_ctx *ctx = rl->ctx;
	char why[CLIENT_WHY_MAX], a[CLIENT_WHY_MAX], b[CLIENT_WHY_MAX];
	struct link *l = NULL;

	if (ctx->link == NULL || link_signer(ctx->link) == 0 ||
	    relay_now_ms() < rl->probe_ms)
		return;
	if (probe_first(rl, &l, why, sizeof(why)) != 0) {
		log_debug("link: %s still does not answer: %s", signer_name(rl,
		    0, a, sizeof(a)), why);
		if ((rl->probe_wait_ms *= 2) > RELAY_PROBE_MAX_MS)
			rl->probe_wait_ms = RELAY_PROBE_MAX_MS;
		rl->probe_ms = relay_now_ms() + rl->probe_wait_ms;
		return;
	}
	relay_progress_clear(rl);
	log_info("link: %s answers again: switching back from %s",
	    signer_name(rl, 0, a, sizeof(a)), signer_name(rl,
	    link_signer(ctx->link), b, sizeof(b)));
	link_free(ctx->link);
	ctx->link = l;  /* transferred */
	rl->signer = 0;
	rl->switches++;
}
