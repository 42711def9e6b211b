/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: the link's lines: opening a signer's device, the failover settings, and the link's accessors. */

#include <stdlib.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "client/link_local.h"

/* A random first id, so that a late answer to an earlier run cannot match. */
static uint32_t
first_id(void)
{
	uint32_t r = 0;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)getpid();
	r &= 0x7fffffffu;
	return r == 0 ? 1 : r;
}

static struct link *
link_new(const struct link_params *p)
{
	struct link *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->fd = -1;
	l->p = *p;
	l->peer_max = p->max_frame;
	l->next_id = first_id();
	if ((l->dec = frame_decoder_new(p->max_frame)) == NULL) {
		free(l);
		return NULL;
	}
	return l;
}

void
link_close(struct link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->rlen = l->roff = 0;
	l->olen = l->ooff = 0;
	l->written = l->queued;
	frame_decoder_reset(l->dec);
}

int
link_open_at(struct link *l, size_t i, char *why, size_t whylen)
{
	const struct conf_serial *s = &l->conf->signers[i];
	int rc;

	link_close(l);
	if ((rc = line_open(s->device, s->baud, s->rtscts, &l->fd, why,
	    whylen)) != 0) {
		l->fd = -1;
		return rc;
	}
	l->cur = i;
	return 0;
}

/* A link on c's signers, nothing opened yet. */
static int
link_conf_new(const struct conf_client *c, struct link **out)
{
	struct link_params p;

	*out = NULL;
	if (c == NULL || c->n_signers == 0 || c->n_signers > CONF_SIGNERS_MAX)
		return ERR_INVAL;
	p.max_frame = c->max_frame;
	p.timeout_ms = c->timeout_ms;
	p.retries = c->retries;
	if ((*out = link_new(&p)) == NULL)
		return ERR_NOMEM;
	(*out)->conf = c;
	(*out)->failover = c->n_signers > 1;
	return 0;
}

int
link_open(const struct conf_client *c, struct link **out, char *why,
    size_t whylen)
{
	struct link *l;
	size_t i;
	int rc = ERR_CONFIG;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || (rc = link_conf_new(c, &l)) != 0)
		return out == NULL ? ERR_INVAL : rc;
	for (i = 0; i < c->n_signers; i++)
		if ((rc = link_open_at(l, i, why, whylen)) == 0)
			break;
	if (rc != 0) {
		link_free(l);
		return rc;
	}
	*out = l;       /* transferred */
	return 0;
}

int
link_open_signer(const struct conf_client *c, size_t i, struct link **out,
    char *why, size_t whylen)
{
	struct link *l;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || c == NULL || i >= c->n_signers)
		return ERR_INVAL;
	if ((rc = link_conf_new(c, &l)) != 0)
		return rc;
	if ((rc = link_open_at(l, i, why, whylen)) != 0) {
		link_free(l);
		return rc;
	}
	*out = l;       /* transferred */
	return 0;
}

size_t
link_signer(const struct link *l)
{
	return l == NULL ? 0 : l->cur;
}

void
link_set_failover(struct link *l, bool on)
{
	if (l != NULL)
		l->failover = on && l->conf != NULL && l->conf->n_signers > 1;
}

void
link_set_timeout(struct link *l, uint32_t timeout_ms, uint32_t retries)
{
	if (l == NULL || timeout_ms == 0)
		return;
	l->p.timeout_ms = timeout_ms;
	l->p.retries = retries;
}

void
link_on_switch(struct link *l, link_switch_fn fn, void *arg)
{
	if (l == NULL)
		return;
	l->on_switch = fn;
	l->on_switch_arg = arg;
}

int
link_from_fd(int fd, const struct link_params *p, struct link **out)
{
	struct link *l;

	if (out != NULL)
		*out = NULL;
	if (fd < 0 || p == NULL || out == NULL || p->max_frame < FRAME_MAX_MIN ||
	    p->max_frame > FRAME_MAX_LIMIT)
		return ERR_INVAL;
	if ((l = link_new(p)) == NULL)
		return ERR_NOMEM;
	l->fd = fd;
	*out = l;       /* transferred */
	return 0;
}

void
link_free(struct link *l)
{
	if (l == NULL)
		return;
	link_close(l);
	frame_decoder_free(l->dec);
	free(l->out);
	free(l);
}

size_t
link_sent(const struct link *l)
{
	return l == NULL ? 0 : l->sent;
}

void
link_set_peer_max(struct link *l, uint32_t max)
{
	if (l != NULL && max >= FRAME_MAX_MIN)
		l->peer_max = max;
}

uint32_t
link_send_max(const struct link *l)
{
	if (l == NULL)
		return 0;
	return l->peer_max < l->p.max_frame ? l->peer_max : l->p.max_frame;
}
