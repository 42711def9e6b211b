/* SPDX-License-Identifier: GPL-3.0-or-later */
/* signerd's health command: the checks, the issuers' remaining validity and the counters. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsm/hsm.h"
#include "signer/daemon_local.h"
#include "sync/sync.h"

#define HEALTH_CHECKS 5                 /* repository, hsm, ca_validity, clock, peer (with sync) */
#define HEALTH_MSG_MAX 256

enum health_status { H_OK = 0, H_DEGRADED = 1, H_FAILED = 2 };

static const char *const health_names[] = { "ok", "degraded", "failed" };

struct health_check {
	const char *name;
	enum health_status status;
	char message[HEALTH_MSG_MAX];
};

static void
check_repo(struct daemon *d, struct health_check *c)
{
	struct repo_txn *t = NULL;
	struct repo_stats st;
	char why[HEALTH_MSG_MAX];
	uint64_t superseded = 0;
	int rc;

	c->name = "repository";
	rc = repo_begin(signer_repo(d->s), false, &t, why, sizeof(why));
	if (rc == 0)
		rc = repo_stats(t, NULL, &st, why, sizeof(why));
	if (rc == 0)
		rc = repo_superseded_count(t, &superseded, why, sizeof(why));
	repo_abort(t);
	if (rc != 0) {
		c->status = H_FAILED;
		err_why(c->message, sizeof(c->message), "%s", why);
		return;
	}
	c->status = H_OK;
	/* A ref issued on both signers of a pair: the later certificate was superseded. */
	err_why(c->message, sizeof(c->message), "%llu certificates, %llu "
	    "pending, %llu revoked, %llu superseded by the pair rule",
	    (unsigned long long)st.certs, (unsigned long long)st.pending,
	    (unsigned long long)st.revoked, (unsigned long long)superseded);
}

static void
check_hsm(struct daemon *d, struct health_check *c)
{
	struct hsm_key *keys[CONF_ISSUERS_MAX];
	int key_err[CONF_ISSUERS_MAX];
	struct hsm_health h;
	char why[HSM_WHY_MAX];
	size_t n, i;
	int rc;

	c->name = "hsm";
	if (signer_hsm(d->s) == NULL) {
		c->status = H_FAILED;
		err_why(c->message, sizeof(c->message), "no token open");
		return;
	}
	(void)signer_issuers(d->s, &n);
	for (i = 0; i < n && i < CONF_ISSUERS_MAX; i++)
		keys[i] = signer_issuer_key(d->s, i);
	memset(&h, 0, sizeof(h));
	rc = hsm_health(signer_hsm(d->s), keys, i, key_err, &h, why,
	    sizeof(why));
	if (rc != 0 || !h.token_present || !h.logged_in || h.keys_ok != i) {
		c->status = H_FAILED;
		err_why(c->message, sizeof(c->message), "%s (token %s, %s, "
		    "%zu of %zu keys)", rc != 0 ? why : "token not ready",
		    h.token_present ? "present" : "absent",
		    h.logged_in ? "logged in" : "not logged in", h.keys_ok, i);
		return;
	}
	c->status = H_OK;
	err_why(c->message, sizeof(c->message), "token present, logged in, "
	    "%zu issuer keys found; %llu signatures, %llu recoveries", i,
	    (unsigned long long)h.stats.signatures,
	    (unsigned long long)h.stats.recoveries);
}

static void
check_ca(struct daemon *d, int64_t now, struct health_check *c)
{
	const struct cert_issuer *iss;
	size_t n, i;
	int64_t left;

	c->name = "ca_validity";
	c->status = H_OK;
	err_why(c->message, sizeof(c->message), "every CA certificate valid "
	    "for more than %u days", (unsigned)d->conf->ca_warn_days);
	iss = signer_issuers(d->s, &n);
	for (i = 0; i < n; i++) {
		left = (iss[i].not_after - now) / CERT_DAY_SECONDS;
		if (now > iss[i].not_after || now < iss[i].not_before) {
			c->status = H_FAILED;
			err_why(c->message, sizeof(c->message), "CA '%s' is "
			    "not valid now", iss[i].conf->id);
			return;
		}
		if (left < (int64_t)d->conf->ca_warn_days) {
			c->status = H_DEGRADED;
			err_why(c->message, sizeof(c->message), "CA '%s' "
			    "expires in %lld days", iss[i].conf->id,
			    (long long)left);
		}
	}
}

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The start of the day this file was compiled ("Mmm dd yyyy"), or 0. */
static int64_t
build_time(void)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *date = __DATE__;
	int m, day = 0, year = 0, i;

	for (m = 0; m < 12; m++)
		if (memcmp(date, months + 3 * m, 3) == 0)
			break;
	if (m == 12 || strlen(date) != 11)
		return 0;
	for (i = 4; i < 6; i++)
		if (date[i] >= '0' && date[i] <= '9')
			day = day * 10 + (date[i] - '0');
	for (i = 7; i < 11; i++)
		year = year * 10 + (date[i] - '0');
	return days_from_civil(year, m + 1, day) * CERT_DAY_SECONDS;
}

/* The clock must not be before the newest CA notBefore nor before this build. */
static void
check_clock(struct daemon *d, int64_t now, struct health_check *c)
{
	const struct cert_issuer *iss;
	int64_t newest = build_time();
	size_t n, i;

	c->name = "clock";
	iss = signer_issuers(d->s, &n);
	for (i = 0; i < n; i++)
		if (iss[i].not_before > newest)
			newest = iss[i].not_before;
	if (now < newest) {
		c->status = H_FAILED;
		err_why(c->message, sizeof(c->message), "clock %lld is before "
		    "the newest CA notBefore or the build date (%lld)",
		    (long long)now, (long long)newest);
		return;
	}
	c->status = H_OK;
	err_why(c->message, sizeof(c->message), "clock %lld", (long long)now);
}

/*
 * The peer: degraded once it has been out of contact, or either link has
 * been down, for longer than sync.degraded_after_seconds.
 */
static void
check_peer(struct daemon *d, int64_t now, const struct sync_status *st,
    struct health_check *c)
{
	int64_t limit = (int64_t)d->conf->sync.degraded_after_s;
	int64_t since = now - (st->last_contact > 0 ? st->last_contact :
	    st->started);
	int64_t out_down = st->out_up ? 0 : now - st->out_changed;
	int64_t in_down = st->in_up ? 0 : now - st->in_changed;

	char out_s[32] = "up", in_s[32] = "up";

	c->name = "peer";
	if (!st->out_up)
		snprintf(out_s, sizeof(out_s), "down for %lld s",
		    (long long)out_down);
	if (!st->in_up)
		snprintf(in_s, sizeof(in_s), "down for %lld s",
		    (long long)in_down);
	if (since > limit || out_down > limit || in_down > limit) {
		c->status = H_DEGRADED;
		err_why(c->message, sizeof(c->message), "node %u: last "
		    "contact %lld s ago, link to it %s, from it %s%s%s",
		    st->peer_node, (long long)since, out_s, in_s,
		    st->last_error[0] != '\0' ? "; last error: " : "",
		    st->last_error);
		return;
	}
	err_why(c->message, sizeof(c->message), "node %u: link to it %s, "
	    "from it %s, last contact %lld s ago; it lacks %llu event(s), "
	    "we lack %llu", st->peer_node, st->out_up ? "up" : "down",
	    st->in_up ? "up" : "down", (long long)since,
	    (unsigned long long)st->peer_behind,
	    (unsigned long long)st->we_behind);
}

static void
pack_peer(const struct sync_status *st, msgpack_packer *pk)
{
	msgpack_pack_map(pk, 15);
	msg_pack_cstr(pk, "node");
	msgpack_pack_uint32(pk, st->peer_node);
	msg_pack_cstr(pk, "out_up");
	st->out_up ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	msg_pack_cstr(pk, "in_up");
	st->in_up ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	msg_pack_cstr(pk, "out_changed");
	msgpack_pack_int64(pk, st->out_changed);
	msg_pack_cstr(pk, "in_changed");
	msgpack_pack_int64(pk, st->in_changed);
	msg_pack_cstr(pk, "last_contact");
	msgpack_pack_int64(pk, st->last_contact);
	msg_pack_cstr(pk, "peer_behind");
	msgpack_pack_uint64(pk, st->peer_behind);
	msg_pack_cstr(pk, "we_behind");
	msgpack_pack_uint64(pk, st->we_behind);
	msg_pack_cstr(pk, "sent");
	msgpack_pack_uint64(pk, st->sent);
	msg_pack_cstr(pk, "applied");
	msgpack_pack_uint64(pk, st->applied);
	msg_pack_cstr(pk, "refused");
	msgpack_pack_uint64(pk, st->refused);
	msg_pack_cstr(pk, "bad_input");
	msgpack_pack_uint64(pk, st->bad_input);
	msg_pack_cstr(pk, "tls_failures");
	msgpack_pack_uint64(pk, st->tls_failures);
	msg_pack_cstr(pk, "connects");
	msgpack_pack_uint64(pk, st->connects);
	msg_pack_cstr(pk, "last_error");
	msg_pack_cstr(pk, st->last_error);
}

static void
pack_counters(struct daemon *d, msgpack_packer *pk)
{
	const struct daemon_counters *n = &d->n;

	msgpack_pack_map(pk, 8);
	msg_pack_cstr(pk, "requests");
	msgpack_pack_uint64(pk, n->requests);
	msg_pack_cstr(pk, "bad_frame");
	msgpack_pack_uint64(pk, n->bad_frame);
	msg_pack_cstr(pk, "bad_decode");
	msgpack_pack_uint64(pk, n->bad_decode);
	msg_pack_cstr(pk, "bad_request");
	msgpack_pack_uint64(pk, n->bad_request);
	msg_pack_cstr(pk, "unknown_cmd");
	msgpack_pack_uint64(pk, n->unknown_cmd);
	msg_pack_cstr(pk, "busy");
	msgpack_pack_uint64(pk, n->busy);
	msg_pack_cstr(pk, "errors");
	msgpack_pack_uint64(pk, n->errors);
	msg_pack_cstr(pk, "reopens");
	msgpack_pack_uint64(pk, n->reopens);
}

static void
pack_issuers(struct daemon *d, int64_t now, msgpack_packer *pk)
{
	const struct cert_issuer *iss;
	size_t n, i;

	struct crl c;
	bool have;

	iss = signer_issuers(d->s, &n);
	msgpack_pack_array(pk, (uint32_t)n);
	for (i = 0; i < n; i++) {
		/* The CRL ready for serving, if any: what monitoring watches. */
		have = crl_get(d->s, i, 0, now, false, CRL_META_ONLY, &c, NULL,
		    0) == 0;
		msgpack_pack_map(pk, have ? 6 : 3);
		msg_pack_cstr(pk, "id");
		msg_pack_cstr(pk, iss[i].conf->id);
		msg_pack_cstr(pk, "not_after");
		msgpack_pack_int64(pk, iss[i].not_after);
		msg_pack_cstr(pk, "days_left");
		msgpack_pack_int64(pk, (iss[i].not_after - now) /
		    CERT_DAY_SECONDS);
		if (have) {
			msg_pack_cstr(pk, "crl_number");
			msgpack_pack_uint64(pk, c.number);
			msg_pack_cstr(pk, "crl_this_update");
			msgpack_pack_int64(pk, c.this_update);
			msg_pack_cstr(pk, "crl_next_update");
			msgpack_pack_int64(pk, c.next_update);
		}
		crl_clear(&c);
	}
}

int
cmd_health(struct daemon *d, const struct msg *m, msgpack_packer *pk,
    struct cmd_log *lg, char *why, size_t whylen)
{
	struct health_check c[HEALTH_CHECKS];
	enum health_status worst = H_OK;
	struct sync_status st;
	int64_t now = daemon_now();
	size_t i, n = HEALTH_CHECKS - 1;

	(void)lg, (void)why, (void)whylen;
	memset(c, 0, sizeof(c));
	check_repo(d, &c[0]);
	check_hsm(d, &c[1]);
	check_ca(d, now, &c[2]);
	check_clock(d, now, &c[3]);
	if (d->sync != NULL) {
		sync_status_get(d->sync, &st);
		check_peer(d, now, &st, &c[n++]);
	}
	for (i = 0; i < n; i++)
		if (c[i].status > worst)
			worst = c[i].status;
	msg_pack_result(pk, m->id, d->sync != NULL ? 9 : 8);
	msg_pack_cstr(pk, "status");
	msg_pack_cstr(pk, health_names[worst]);
	msg_pack_cstr(pk, "version");
	msgpack_pack_uint32(pk, MSG_VERSION);
	msg_pack_cstr(pk, "node");
	msgpack_pack_uint32(pk, d->conf->node);
	msg_pack_cstr(pk, "time");
	msgpack_pack_int64(pk, now);
	msg_pack_cstr(pk, "uptime");
	msgpack_pack_int64(pk, now - d->started);
	msg_pack_cstr(pk, "checks");
	msgpack_pack_array(pk, (uint32_t)n);
	for (i = 0; i < n; i++) {
		msgpack_pack_map(pk, 3);
		msg_pack_cstr(pk, "name");
		msg_pack_cstr(pk, c[i].name);
		msg_pack_cstr(pk, "status");
		msg_pack_cstr(pk, health_names[c[i].status]);
		msg_pack_cstr(pk, "message");
		msg_pack_cstr(pk, c[i].message);
	}
	msg_pack_cstr(pk, "issuers");
	pack_issuers(d, now, pk);
	msg_pack_cstr(pk, "counters");
	pack_counters(d, pk);
	if (d->sync != NULL) {
		msg_pack_cstr(pk, "peer");
		pack_peer(&st, pk);
	}
	return 0;
}
