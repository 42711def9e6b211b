/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: signer-client run, the relay's loop: batches from the request queue, health and CRLs on a schedule, a clean stop on SIGTERM. */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/relay_local.h"

#define PROG "signer-client"
#define EXIT_USAGE 2
#define RELAY_POLL_MS 1000      /* look for due rows (retries) this often */
#define RELAY_DB_RETRY_MS 5000  /* wait after a database error */
#define RELAY_PROGRESS_MS 250   /* redraw the progress line at most this often */
#define MS_PER_S 1000
#define CRL_DIR_MODE 0755       /* crl.dir, created when missing */

volatile sig_atomic_t relay_signals;

static void
relay_on_signal(int sig)
{
	(void)sig;
	if (relay_signals < RELAY_SIGNALS_ABORT)
		relay_signals++;
}

static void
relay_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = relay_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* ---- progress ----------------------------------------------------------- */

void
relay_backlog(struct relay *rl)
{
	struct db_stats st;
	char why[CLIENT_WHY_MAX];

	if (db_stats(rl->db, (int64_t)time(NULL), &st, why, sizeof(why)) != 0)
		st.queued = 0;
	if (!rl->in_backlog) {
		rl->in_backlog = true;
		rl->bl_done = 0;
		rl->bl_start_ms = relay_now_ms();
	}
	/* The queue may grow while a backlog is worked off. */
	rl->bl_total = rl->bl_done + st.queued;
}

void
relay_progress_clear(struct relay *rl)
{
	if (rl->progress_shown)
		fputs("\r\033[K", stderr);
	rl->progress_shown = false;
}

static void
progress_draw(struct relay *rl, int64_t now)
{
	double s = (double)(now - rl->bl_start_ms) / MS_PER_S;
	double rate = s > 0 ? (double)rl->bl_done / s : 0;
	uint64_t left = rl->bl_total > rl->bl_done ?
	    rl->bl_total - rl->bl_done : 0;

	fprintf(stderr, "\r\033[K%llu/%llu done, %.1f/s, ETA ",
	    (unsigned long long)rl->bl_done, (unsigned long long)rl->bl_total,
	    rate);
	if (rate > 0)
		fprintf(stderr, "%.0f s", (double)left / rate);
	else
		fputs("?", stderr);
	fflush(stderr);
	rl->progress_shown = true;
	rl->progress_ms = now;
}

void
relay_progress(struct relay *rl, uint64_t n)
{
	int64_t now;

	rl->bl_done += n;
	if (rl->bl_done > rl->bl_total)
		rl->bl_total = rl->bl_done;
	if (!rl->tty)
		return;
	if ((now = relay_now_ms()) - rl->progress_ms >= RELAY_PROGRESS_MS)
		progress_draw(rl, now);
}

/* The queue was found empty: the backlog, if any, is over. */
static void
backlog_end(struct relay *rl)
{
	if (!rl->in_backlog)
		return;
	relay_progress_clear(rl);
	log_info("backlog: %llu request(s) in %.1f s",
	    (unsigned long long)rl->bl_done,
	    (double)(relay_now_ms() - rl->bl_start_ms) / MS_PER_S);
	rl->in_backlog = false;
}

/* ---- the schedule ------------------------------------------------------- */

/* The signer in use and the switches, for the health files. */
static void
relay_health_link(const struct relay *rl, struct client_health *h)
{
	const struct conf_client *c = rl->ctx->conf;

	h->switches = rl->switches;
	if (rl->ctx->link == NULL || rl->signer >= c->n_signers)
		return;
	h->signer = (uint32_t)rl->signer + 1;
	snprintf(h->signer_device, sizeof(h->signer_device), "%s",
	    c->signers[rl->signer].device);
}

/* Health: the signer's answer, the queue and the link into the health files. */
static void
relay_health(struct relay *rl)
{
	const struct conf_client *c = rl->ctx->conf;
	struct client_health *h;
	struct db_stats st;
	char why[CLIENT_WHY_MAX];
	int64_t now = (int64_t)time(NULL);
	struct msg m;
	int rc;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		log_warnx("health: out of memory");
		return;
	}
	if (db_stats(rl->db, now, &st, why, sizeof(why)) == 0)
		h->queue = (struct client_health_queue){ true, st.queued,
		    st.oldest_age, st.issued + st.revoked, st.failed };
	else
		log_warnx("health: database: %s", why);
	msg_init(&m);
	if ((rc = relay_link_up(rl, why, sizeof(why))) != 0)
		rl->link_errors++;
	else if ((rc = link_call(rl->ctx->link, "health", 0, NULL, NULL, &m,
	    why, sizeof(why))) == ERR_TIMEOUT || rc == ERR_LINK) {
		rl->link_errors++;
		relay_link_drop(rl);
	}
	if (rc != 0 || client_health_parse(&m, now, h, why, sizeof(why)) != 0) {
		log_warnx("health: the signer did not answer: %s", why);
		client_health_unreachable(h, now);
	}
	h->link_errors = rl->link_errors;
	relay_health_link(rl, h);
	client_health_published(h, c->crl_dir);
	if (client_health_write(h, c->health_json, c->health_prom, why,
	    sizeof(why)) != 0)
		log_warnx("health: %s", why);
	msg_free(&m);
	free(h);
}

/* CRLs: what signer-client publish does, into crl.dir. */
static void
relay_publish(struct relay *rl)
{
	char *argv[] = { "publish", NULL };
	const char *dir = rl->ctx->conf->crl_dir;
	char why[CLIENT_WHY_MAX];

	relay_progress_clear(rl);
	/* chmod: the web server reads it, whatever the umask. */
	if (mkdir(dir, CRL_DIR_MODE) == 0 && chmod(dir, CRL_DIR_MODE) == 0)
		log_info("publish: created %s", dir);
	else if (errno != EEXIST)
		log_warn("publish: mkdir %s", dir);
	/* Not while no signer answers: a fetch would wait for its timeouts. */
	if (relay_link_up(rl, why, sizeof(why)) != 0) {
		rl->link_errors++;
		log_warnx("publish: skipped, the signer does not answer: %s", why);
		return;
	}
	if (client_cmd_publish(rl->ctx, 1, argv) != 0) {
		log_warnx("publish: CRLs not all published to %s", dir);
		/* It may have failed on the line: opened afresh next time. */
		if (relay_link_check(rl) != 0) {
			rl->link_errors++;
			relay_link_drop(rl);
		}
	} else
		log_info("publish: CRLs published to %s", dir);
}

struct relay_sched {
	int64_t health;                 /* next due, Unix seconds; 0: now */
	int64_t crl;
};

/* Run what is due; returns the milliseconds until the next one is. */
static int64_t
relay_scheduled(struct relay *rl, struct relay_sched *s)
{
	const struct conf_client *c = rl->ctx->conf;
	int64_t now = (int64_t)time(NULL), wait = RELAY_POLL_MS;
	bool health = c->health_json != NULL || c->health_prom != NULL;

	if (c->crl_dir != NULL && now >= s->crl) {
		relay_publish(rl);
		s->crl = (int64_t)time(NULL) + c->crl_interval_s;
	}
	if (health && now >= s->health) {
		relay_health(rl);
		s->health = (int64_t)time(NULL) + c->health_interval_s;
	}
	now = (int64_t)time(NULL);
	if (health && (s->health - now) * MS_PER_S < wait)
		wait = (s->health - now) * MS_PER_S;
	if (c->crl_dir != NULL && (s->crl - now) * MS_PER_S < wait)
		wait = (s->crl - now) * MS_PER_S;
	return wait > 0 ? wait : 0;
}

/* ---- the loop ----------------------------------------------------------- */

static void
relay_loop(struct relay *rl)
{
	struct relay_sched s = { 0, 0 };
	char why[CLIENT_WHY_MAX];
	int64_t wait;
	int n;

	while (relay_signals == 0) {
		wait = relay_scheduled(rl, &s);
		if (relay_signals != 0)
			break;
		relay_failback(rl);
		if ((n = relay_batch(rl)) < 0) {
			(void)poll(NULL, 0, RELAY_DB_RETRY_MS);
			continue;
		}
		if (n > 0)
			continue;
		backlog_end(rl);
		if (wait > 0 && db_wait(rl->db, (uint32_t)wait, why,
		    sizeof(why)) < 0) {
			log_warnx("database: %s", why);
			(void)poll(NULL, 0, RELAY_DB_RETRY_MS);
		}
	}
	relay_progress_clear(rl);
}

int
client_cmd_run(struct client_ctx *ctx, int argc, char **argv)
{
	struct relay rl;
	char why[CLIENT_WHY_MAX];
	int level;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: " PROG " run\n");
		return EXIT_USAGE;
	}
	if ((level = log_level_parse(ctx->conf->log_level)) < 0)
		level = LOG_LEVEL_INFO;
	log_init(PROG, 1, level);
	memset(&rl, 0, sizeof(rl));
	rl.ctx = ctx;
	rl.tty = isatty(STDERR_FILENO) == 1;
	if (db_open(ctx->conf, &rl.db, why, sizeof(why)) != 0) {
		log_warnx("database: %s", why);
		return 1;
	}
	relay_signals_init();
	log_info("relaying requests to the signer");
	relay_loop(&rl);
	db_close(rl.db);
	relay_cas_free(&rl);
	log_info("stopped");
	return 0;
}
