/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: pipelined requests over the serial line, with timeouts, identical resends and matching by id. */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/link_local.h"

/* One request of a batch in flight. */
struct slot {
	bool used;
	size_t index;                   /* in the batch */
	uint32_t id;
	char cmd[MSG_CMD_MAX + 1];
	uint8_t *frame;
	size_t flen;
	uint64_t first_seq;             /* send order of its first attempt on this line */
	uint64_t last_seq;              /* and of its latest */
	uint64_t end;                   /* queue offset where its latest attempt ends */
	uint32_t tries;                 /* attempts on this signer: first, and after timeouts */
	uint32_t proven;                /* resends of attempts proven lost (see slot_send) */
};

/* The state of one link_pipeline() call. */
struct pipe {
	struct link *l;
	const struct link_batch *b;
	size_t window;
	size_t started;                 /* requests taken from the batch */
	size_t inflight;                /* slots in use */
	struct slot s[LINK_WINDOW_MAX];
	uint64_t seq;
	uint32_t tried;                 /* bit i: signer i was used in this batch */
	int64_t activity;               /* last answer, or last bytes written */
	bool stopped;
	int stop;                       /* link_pipeline's result once stopped */
	char *why;
	size_t whylen;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Pack and frame the request; ERR_INVAL when it is larger than max_frame. */
static int
build(struct link *l, uint32_t id, const struct link_req *r, uint8_t **frame,
    size_t *flen, char *why, size_t whylen)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msg_pack_request(&pk, id, r->cmd, r->nargs);
	if (r->fn != NULL)
		r->fn(&pk, r->arg);
	if (sb.size > link_send_max(l)) {
		err_why(why, whylen, "request '%s' is %zu bytes, more than "
		    "max_frame %u", r->cmd, sb.size, link_send_max(l));
		rc = ERR_INVAL;
	} else
		rc = msg_frame(&sb, frame, flen);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

/*
 * Queue a 0x00, which ends whatever garbage the receiver holds, and the
 * frame. Each slot has at most one attempt waiting (see slot_send), so the
 * queue never holds much more than two frames per slot.
 */
static int
queue_frame(struct link *l, const uint8_t *frame, size_t len)
{
	size_t need, cap;
	uint8_t *p;

	if (l->ooff > 0) {
		memmove(l->out, l->out + l->ooff, l->olen - l->ooff);
		l->olen -= l->ooff;
		l->ooff = 0;
	}
	if (len >= SIZE_MAX - l->olen)
		return ERR_NOMEM;
	need = l->olen + 1 + len;
	if (need > l->ocap) {
		cap = l->ocap * 2 > need ? l->ocap * 2 : need;
		if ((p = realloc(l->out, cap)) == NULL)
			return ERR_NOMEM;
		l->out = p;
		l->ocap = cap;
	}
	l->out[l->olen] = FRAME_DELIM;
	memcpy(l->out + l->olen + 1, frame, len);
	l->olen = need;
	l->queued += 1 + len;
	l->sent++;
	return 0;
}

/* ---- the slots of a batch ----------------------------------------------- */

/* True while the slot's latest attempt waits in the output queue. */
static bool
slot_waiting(const struct pipe *p, const struct slot *s)
{
	return s->end > p->l->written;
}

/* Report the outcome of the slot's request and free the slot. */
static void
slot_finish(struct pipe *p, struct slot *s, int rc, struct msg *resp,
    const char *why)
{
	int v;

	v = p->b->done(p->b->arg, s->index, rc, resp, why == NULL ? "" : why);
	free(s->frame);
	memset(s, 0, sizeof(*s));
	p->inflight--;
	if (v != 0 && !p->stopped) {
		p->stopped = true;
		p->stop = v;
	}
}

/*
 * One more attempt; ERR_TIMEOUT when the attempts are used up. Attempts
 * after a timeout count against the configured retries; resends of an
 * attempt proven lost (a frame error, or a later answer: proof that the line
 * works) have their own, larger budget, so that line noise does not eat the
 * retries meant for a signer that does not answer.
 */
static int
slot_send(struct pipe *p, struct slot *s, bool proven)
{
	int rc;

	/* The attempt that waits to be written has not been lost. */
	if (slot_waiting(p, s))
		return 0;
	if (proven ? s->proven >= LINK_PROVEN_RESENDS_MAX :
	    s->tries > p->l->p.retries)
		return ERR_TIMEOUT;
	if ((rc = queue_frame(p->l, s->frame, s->flen)) != 0)
		return rc;
	if (proven)
		s->proven++;
	else
		s->tries++;
	s->last_seq = ++p->seq;
	s->end = p->l->queued;
	return 0;
}

/* Send the slot again, or report it failed with rc when it cannot be. */
static void
slot_resend(struct pipe *p, struct slot *s, int rc, bool proven)
{
	char why[CLIENT_WHY_MAX];
	int src;

	if ((src = slot_send(p, s, proven)) == 0)
		return;
	if (src == ERR_NOMEM)
		err_why(why, sizeof(why), "out of memory sending '%s'", s->cmd);
	else if (proven)
		err_why(why, sizeof(why), "'%s' was lost on the line %u times "
		    "(frame errors or lost bytes): the line is too noisy",
		    s->cmd, s->proven + 1);
	else
		err_why(why, sizeof(why), "no answer to '%s' after %u "
		    "attempt(s) of %u ms", s->cmd, s->tries, p->l->p.timeout_ms);
	slot_finish(p, s, src == ERR_NOMEM ? src : rc, NULL, why);
}

static struct slot *
slot_by_id(struct pipe *p, uint32_t id)
{
	size_t i;

	for (i = 0; i < LINK_WINDOW_MAX; i++)
		if (p->s[i].used && p->s[i].id == id)
			return &p->s[i];
	return NULL;
}

/* The slot whose latest attempt went out first: what a id 0 answer is about. */
static struct slot *
slot_oldest(struct pipe *p)
{
	struct slot *best = NULL;
	size_t i;

	for (i = 0; i < LINK_WINDOW_MAX; i++)
		if (p->s[i].used && !slot_waiting(p, &p->s[i]) &&
		    (best == NULL || p->s[i].last_seq < best->last_seq))
			best = &p->s[i];
	return best;
}

/* Take the next request of the batch and queue it. */
static void
pipe_start(struct pipe *p)
{
	char why[CLIENT_WHY_MAX] = "";
	struct link_req r = { 0 };
	struct slot *s = NULL;
	size_t i;
	int rc;

	for (i = 0; i < LINK_WINDOW_MAX && s == NULL; i++)
		if (!p->s[i].used)
			s = &p->s[i];
	if (s == NULL)
		return;
	s->used = true;
	s->index = p->started++;
	s->id = p->l->next_id;
	p->l->next_id = p->l->next_id == UINT32_MAX ? 1 : p->l->next_id + 1;
	p->inflight++;
	p->b->req(p->b->arg, s->index, &r);
	if (r.cmd == NULL || strlen(r.cmd) > MSG_CMD_MAX) {
		slot_finish(p, s, ERR_INVAL, NULL, "request without a valid "
		    "command name");
		return;
	}
	strcpy(s->cmd, r.cmd);
	if ((rc = build(p->l, s->id, &r, &s->frame, &s->flen, why,
	    sizeof(why))) != 0) {
		slot_finish(p, s, rc, NULL, why);
		return;
	}
	s->first_seq = p->seq + 1;
	slot_resend(p, s, ERR_TIMEOUT, false);
}

/* Fill the window. */
static void
pipe_fill(struct pipe *p)
{
	while (!p->stopped && p->inflight < p->window &&
	    p->started < p->b->n)
		pipe_start(p);
}

/* ---- line failures ------------------------------------------------------ */

/* Every request in flight fails with rc; the batch ends. */
static void
pipe_fail_all(struct pipe *p, int rc, const char *reason)
{
	char why[CLIENT_WHY_MAX];
	size_t i;

	for (i = 0; i < LINK_WINDOW_MAX; i++) {
		struct slot *s = &p->s[i];

		if (!s->used)
			continue;
		if (reason != NULL)
			err_why(why, sizeof(why), "%s", reason);
		else if (rc == ERR_TIMEOUT)
			err_why(why, sizeof(why), "no answer to '%s' after %u "
			    "attempt(s) of %u ms", s->cmd, s->tries,
			    p->l->p.timeout_ms);
		else
			err_why(why, sizeof(why), "the line hung up during "
			    "'%s'", s->cmd);
		if (p->why != NULL && p->why[0] == '\0')
			err_why(p->why, p->whylen, "%s", why);
		slot_finish(p, s, rc, NULL, why);
	}
	if (p->why != NULL && p->why[0] == '\0')
		err_why(p->why, p->whylen, "%s", reason != NULL ? reason :
		    "the line is down");
	p->stopped = true;
	p->stop = rc;
}

static bool
pipe_exhausted(const struct pipe *p)
{
	size_t i;

	for (i = 0; i < LINK_WINDOW_MAX; i++)
		if (p->s[i].used && p->s[i].tries > p->l->p.retries)
			return true;
	return false;
}

/* Every request in flight sent afresh on the line just opened. */
static void
pipe_restart(struct pipe *p, bool fresh)
{
	size_t i;

	p->activity = now_ms();
	for (i = 0; i < LINK_WINDOW_MAX && !p->stopped; i++) {
		if (!p->s[i].used)
			continue;
		if (fresh) {
			p->s[i].tries = 0;
			p->s[i].proven = 0;
		}
		p->s[i].first_seq = p->seq + 1;
		slot_resend(p, &p->s[i], fresh ? ERR_TIMEOUT : ERR_LINK, false);
	}
}

/* The signer after the current one not yet used in this batch, or -1. */
static int
pipe_other_signer(const struct pipe *p)
{
	const struct link *l = p->l;
	size_t k, i;

	if (!l->failover)
		return -1;
	for (k = 1; k < l->conf->n_signers; k++) {
		i = (l->cur + k) % l->conf->n_signers;
		if ((p->tried & (1u << i)) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * Move every request in flight to the other signer, with fresh attempts
 * (a request the old one may have seen is safe to send again: refs make it
 * idempotent). Returns false when there is none left to try in this batch
 * or it does not open.
 */
static bool
pipe_failover(struct pipe *p, const char *reason, char *why, size_t whylen)
{
	struct link *l = p->l;
	size_t from = l->cur;
	int next;

	if ((next = pipe_other_signer(p)) < 0)
		return false;
	p->tried |= 1u << next;
	if (link_open_at(l, (size_t)next, why, whylen) != 0)
		return false;
	if (l->on_switch != NULL)
		l->on_switch(l->on_switch_arg, from, l->cur, reason);
	pipe_restart(p, true);
	return true;
}

/*
 * The line failed with rc. After a hang-up the same signer is opened again
 * (unless a request has used its attempts); after a timeout, or when it does
 * not open, the requests in flight move to the other signer. Without a
 * configuration, or with no signer left to try, the batch ends.
 */
static void
pipe_line_failed(struct pipe *p, int rc)
{
	struct link *l = p->l;
	char reason[CLIENT_WHY_MAX], why[CLIENT_WHY_MAX] = "";

	if (l->conf == NULL) {
		pipe_fail_all(p, rc, NULL);
		return;
	}
	if (rc == ERR_LINK && !pipe_exhausted(p)) {
		if (link_open_at(l, l->cur, why, sizeof(why)) == 0) {
			pipe_restart(p, false);
			return;
		}
		err_why(reason, sizeof(reason), "hung up and does not open "
		    "again: %s", why);
	} else if (rc == ERR_LINK)
		err_why(reason, sizeof(reason), "keeps hanging up");
	else
		err_why(reason, sizeof(reason), "no answer after %u attempt(s) "
		    "of %u ms", l->p.retries + 1, l->p.timeout_ms);
	if (pipe_failover(p, reason, why, sizeof(why)))
		return;
	pipe_fail_all(p, rc, why[0] != '\0' ? why : NULL);
}

/*
 * No answer for timeout_ms: every attempt on the line is sent again, or,
 * when one has used its attempts (or the line takes no bytes), the line
 * has failed.
 */
static void
pipe_timeout(struct pipe *p)
{
	bool any = false;
	size_t i;

	for (i = 0; i < LINK_WINDOW_MAX; i++)
		if (p->s[i].used && !slot_waiting(p, &p->s[i]))
			any = true;
	if (!any || pipe_exhausted(p)) {
		pipe_line_failed(p, ERR_TIMEOUT);
		return;
	}
	p->activity = now_ms();
	for (i = 0; i < LINK_WINDOW_MAX && !p->stopped; i++)
		if (p->s[i].used && !slot_waiting(p, &p->s[i]))
			slot_resend(p, &p->s[i], ERR_TIMEOUT, false);
}

/* ---- answers ------------------------------------------------------------ */

/*
 * The signer answers in the order it receives: an answer to s proves lost
 * every attempt that went out before s's first one and is still unanswered.
 */
static void
pipe_lost_before(struct pipe *p, const struct slot *s)
{
	size_t i;

	for (i = 0; i < LINK_WINDOW_MAX && !p->stopped; i++)
		if (p->s[i].used && &p->s[i] != s &&
		    !slot_waiting(p, &p->s[i]) &&
		    p->s[i].last_seq < s->first_seq)
			slot_resend(p, &p->s[i], ERR_TIMEOUT, true);
}

/*
 * An answer with id 0 ("frame", or "decode"/"bad_request" for a payload
 * whose id could not be read): the signer could not read something. Our
 * requests are well formed, so it was either our oldest attempt damaged on
 * the line or noise that happened to look like a frame; resending the
 * oldest attempt is right in both cases, and harmless (requests are
 * idempotent by ref).
 */
static void
pipe_answer0(struct pipe *p, struct msg *m)
{
	struct slot *s;

	if (m->ok || (s = slot_oldest(p)) == NULL)
		return;
	slot_resend(p, s, ERR_FRAME_CRC, true);
}

static void
pipe_payload(struct pipe *p, const uint8_t *payload, size_t plen)
{
	char why[CLIENT_WHY_MAX] = "";
	struct slot *s;
	struct msg m;
	int rc = 0;

	msg_init(&m);
	/* Undecodable answers are dropped: the timeout covers them. */
	if (msg_decode_response(payload, plen, &m, NULL, 0) != 0)
		goto out;
	if (m.id == 0) {
		pipe_answer0(p, &m);
		goto out;
	}
	/* Stray or late: another request's, or one answered already. */
	if ((s = slot_by_id(p, m.id)) == NULL)
		goto out;
	p->activity = now_ms();
	pipe_lost_before(p, s);
	if (p->stopped)
		goto out;
	if (!m.ok) {
		err_why(why, sizeof(why), "%.*s: %.*s", (int)m.err_code_len,
		    m.err_code, (int)m.err_message_len, m.err_message);
		rc = err_from_wire_code(m.err_code, m.err_code_len);
	}
	slot_finish(p, s, rc, &m, why);
out:
	msg_free(&m);
}

/* ---- the line ----------------------------------------------------------- */

static void
pipe_read(struct pipe *p)
{
	struct link *l = p->l;
	const uint8_t *payload;
	size_t used, plen;
	ssize_t n;

	if (l->roff == l->rlen) {
		if ((n = read(l->fd, l->rbuf, sizeof(l->rbuf))) > 0) {
			l->rlen = (size_t)n;
			l->roff = 0;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* A pty whose other side closed reads EIO, a pipe 0. */
			pipe_line_failed(p, ERR_LINK);
			return;
		}
	}
	while (l->roff < l->rlen && !p->stopped) {
		/* Bad frames are dropped: the timeout covers them. */
		if (frame_decoder_push(l->dec, l->rbuf + l->roff,
		    l->rlen - l->roff, &used, &payload, &plen) == 1) {
			l->roff += used;
			pipe_payload(p, payload, plen);
		} else
			l->roff += used;
	}
}

static void
pipe_write(struct pipe *p)
{
	struct link *l = p->l;
	ssize_t n;

	if ((n = write(l->fd, l->out + l->ooff, l->olen - l->ooff)) > 0) {
		l->ooff += (size_t)n;
		l->written += (uint64_t)n;
		if (l->ooff == l->olen)
			l->ooff = l->olen = 0;
		p->activity = now_ms();
	} else if (n < 0 && errno != EAGAIN && errno != EINTR)
		pipe_line_failed(p, ERR_LINK);
}

/* One poll() round: write what is queued, read what came, or time out. */
static void
pipe_step(struct pipe *p)
{
	struct pollfd pfd = { .fd = p->l->fd, .events = POLLIN };
	int64_t left;
	int n;

	if (p->l->fd < 0) {
		pipe_line_failed(p, ERR_LINK);
		return;
	}
	if (p->l->olen > p->l->ooff)
		pfd.events |= POLLOUT;
	if ((left = p->activity + p->l->p.timeout_ms - now_ms()) <= 0) {
		pipe_timeout(p);
		return;
	}
	if ((n = poll(&pfd, 1, (int)left)) <= 0) {
		if (n < 0 && errno != EINTR)
			pipe_line_failed(p, ERR_LINK);
		return;
	}
	if (pfd.revents & POLLNVAL) {
		pipe_line_failed(p, ERR_LINK);
		return;
	}
	if (pfd.revents & POLLOUT)
		pipe_write(p);
	if (!p->stopped && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
		pipe_read(p);
}

int
link_pipeline(struct link *l, const struct link_batch *b, char *why,
    size_t whylen)
{
	struct pipe p;
	size_t i;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (l == NULL || b == NULL || b->req == NULL || b->done == NULL)
		return ERR_INVAL;
	memset(&p, 0, sizeof(p));
	p.l = l;
	p.b = b;
	p.why = why;
	p.whylen = whylen;
	p.window = b->window == 0 ? LINK_WINDOW_DEFAULT : b->window;
	if (p.window > LINK_WINDOW_MAX)
		p.window = LINK_WINDOW_MAX;
	p.activity = now_ms();
	p.tried = 1u << l->cur;
	for (;;) {
		pipe_fill(&p);
		if (p.stopped || (p.inflight == 0 && p.started == b->n))
			break;
		pipe_step(&p);
	}
	/* Stopped by done: what is still in flight is abandoned. */
	for (i = 0; i < LINK_WINDOW_MAX; i++)
		free(p.s[i].frame);
	return p.stopped ? p.stop : 0;
}
