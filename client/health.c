/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client: the signer's health for monitoring, written as a JSON status file and a Prometheus textfile. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "client/client.h"

#define HEALTH_TEXT_MAX (64 * 1024)     /* the largest file written */
#define HEALTH_PATH_MAX 4096

/* ---- reading the signer's answer ------------------------------------------ */

static void
copy_str(const msgpack_object *map, const char *key, char *dst, size_t cap)
{
	const char *s;
	size_t n;

	dst[0] = '\0';
	if (msg_get_str(map, key, false, cap - 1, &s, &n, NULL, 0) == 1 &&
	    msg_utf8_valid(s, n)) {
		memcpy(dst, s, n);
		dst[n] = '\0';
	}
}

static int
parse_issuer(const msgpack_object *o, struct client_health_issuer *is,
    char *why, size_t whylen)
{
	const char *id;
	size_t n;

	memset(is, 0, sizeof(*is));
	if (msg_get_str(o, "id", true, CLIENT_ISSUER_ID_MAX, &id, &n, why,
	    whylen) != 1 || !client_issuer_id_valid(id, n) ||
	    msg_get_int(o, "not_after", true, &is->ca_not_after, why,
	    whylen) != 1) {
		err_why(why, whylen, "health: an issuer without a valid id or "
		    "not_after");
		return ERR_BAD_REQUEST;
	}
	memcpy(is->id, id, n);
	is->id[n] = '\0';
	(void)msg_get_int(o, "days_left", false, &is->ca_days_left, NULL, 0);
	(void)msg_get_uint(o, "crl_number", false, 1, UINT64_MAX,
	    &is->crl_number, NULL, 0);
	(void)msg_get_int(o, "crl_next_update", false, &is->crl_next_update,
	    NULL, 0);
	return 0;
}

static void
parse_counters(const msgpack_object *result, struct client_health *h)
{
	const msgpack_object *c = msg_map_get(result, "counters");

	if (c == NULL || c->type != MSGPACK_OBJECT_MAP)
		return;
	(void)msg_get_uint(c, "bad_frame", false, 0, UINT64_MAX,
	    &h->signer_bad_frames, NULL, 0);
	(void)msg_get_uint(c, "requests", false, 0, UINT64_MAX,
	    &h->signer_requests, NULL, 0);
}

static void
parse_peer(const msgpack_object *result, struct client_health_peer *p)
{
	const msgpack_object *m = msg_map_get(result, "peer");

	if (m == NULL || m->type != MSGPACK_OBJECT_MAP ||
	    msg_get_uint(m, "node", true, 1, UINT32_MAX, &p->node, NULL,
	    0) != 1)
		return;
	p->known = true;
	(void)msg_get_bool(m, "out_up", false, &p->out_up, NULL, 0);
	(void)msg_get_bool(m, "in_up", false, &p->in_up, NULL, 0);
	(void)msg_get_int(m, "last_contact", false, &p->last_contact, NULL, 0);
	(void)msg_get_uint(m, "peer_behind", false, 0, UINT64_MAX,
	    &p->peer_behind, NULL, 0);
	(void)msg_get_uint(m, "we_behind", false, 0, UINT64_MAX,
	    &p->we_behind, NULL, 0);
	(void)msg_get_uint(m, "refused", false, 0, UINT64_MAX, &p->refused,
	    NULL, 0);
	(void)msg_get_uint(m, "tls_failures", false, 0, UINT64_MAX,
	    &p->tls_failures, NULL, 0);
}

int
client_health_parse(const struct msg *resp, int64_t now,
    struct client_health *h, char *why, size_t whylen)
{
	const msgpack_object_array *a = NULL;
	uint32_t i;
	int rc;

	client_health_unreachable(h, now);
	copy_str(resp->result, "status", h->status, sizeof(h->status));
	if (strcmp(h->status, "ok") != 0 && strcmp(h->status, "degraded") != 0 &&
	    strcmp(h->status, "failed") != 0) {
		err_why(why, whylen, "health: status '%s' is not ok, degraded "
		    "or failed", h->status);
		client_health_unreachable(h, now);
		return ERR_BAD_REQUEST;
	}
	h->up = true;
	(void)msg_get_uint(resp->result, "node", false, 1, UINT32_MAX, &h->node,
	    NULL, 0);
	parse_counters(resp->result, h);
	parse_peer(resp->result, &h->peer);
	if (msg_get_array(resp->result, "issuers", false,
	    CLIENT_HEALTH_ISSUERS_MAX, &a, why, whylen) < 0)
		return ERR_BAD_REQUEST;
	for (i = 0; a != NULL && i < a->size; i++) {
		if ((rc = parse_issuer(&a->ptr[i], &h->issuers[i], why,
		    whylen)) != 0)
			return rc;
		h->n_issuers++;
	}
	return 0;
}

void
client_health_unreachable(struct client_health *h, int64_t now)
{
	struct client_health_queue q = h->queue;
	uint64_t link_errors = h->link_errors, switches = h->switches;
	uint32_t signer = h->signer;
	char dev[CLIENT_HEALTH_DEVICE_MAX];

	memcpy(dev, h->signer_device, sizeof(dev));
	memset(h, 0, sizeof(*h));
	h->time = now;
	h->queue = q;
	h->link_errors = link_errors;
	h->signer = signer;
	h->switches = switches;
	memcpy(h->signer_device, dev, sizeof(dev));
	h->signer_device[sizeof(dev) - 1] = '\0';
	snprintf(h->status, sizeof(h->status), "unreachable");
}

/* The times of the CRL published as DIR/<id>.crl, when there is one that parses. */
void
client_health_published(struct client_health *h, const char *crl_dir)
{
	char path[HEALTH_PATH_MAX];
	X509_CRL *crl;
	size_t i;
	FILE *f;

	for (i = 0; crl_dir != NULL && i < h->n_issuers; i++) {
		struct client_health_issuer *is = &h->issuers[i];

		if ((size_t)snprintf(path, sizeof(path), "%s/%s.crl", crl_dir,
		    is->id) >= sizeof(path) || (f = fopen(path, "rb")) == NULL)
			continue;
		if ((crl = d2i_X509_CRL_fp(f, NULL)) != NULL &&
		    X509_CRL_get0_nextUpdate(crl) != NULL &&
		    client_asn1_time(X509_CRL_get0_lastUpdate(crl),
		    &is->published_this_update) == 0 &&
		    client_asn1_time(X509_CRL_get0_nextUpdate(crl),
		    &is->published_next_update) == 0)
			is->published = true;
		X509_CRL_free(crl);
		fclose(f);
	}
}

/* ---- writing --------------------------------------------------------------- */

/* A bounded text buffer; an overflow is noticed at the end. */
struct health_buf {
	char b[HEALTH_TEXT_MAX];
	size_t len;
	bool full;
};

static void hb_printf(struct health_buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
hb_printf(struct health_buf *hb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (hb->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(hb->b + hb->len, sizeof(hb->b) - hb->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(hb->b) - hb->len)
		hb->full = true;
	else
		hb->len += (size_t)n;
}

/*
 * A string in quotes, escaped for JSON (esc_json) or for a Prometheus
 * label value (backslash, quote and newline only).
 */
static void
hb_quoted(struct health_buf *hb, const char *s, bool esc_json)
{
	const unsigned char *p;

	hb_printf(hb, "\"");
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			hb_printf(hb, "\\%c", *p);
		else if (*p == '\n')
			hb_printf(hb, "\\n");
		else if (esc_json && *p < 0x20)
			hb_printf(hb, "\\u%04x", *p);
		else
			hb_printf(hb, "%c", *p);
	}
	hb_printf(hb, "\"");
}

/* Prometheus: HELP, TYPE and one sample without labels. */
static void
prom_metric(struct health_buf *hb, const char *name, const char *type,
    const char *help, long long v)
{
	hb_printf(hb, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help,
	    name, type, name, v);
}

static void
prom_head(struct health_buf *hb, const char *name, const char *help)
{
	hb_printf(hb, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* Issuer ids are [A-Za-z0-9._-]: nothing in them needs escaping in a label. */
static void
prom_issuers(struct health_buf *hb, const struct client_health *h)
{
	size_t i;

	prom_head(hb, "signer_ca_days_left", "Days until the issuer's CA "
	    "certificate expires.");
	for (i = 0; i < h->n_issuers; i++)
		hb_printf(hb, "signer_ca_days_left{issuer=\"%s\"} %lld\n",
		    h->issuers[i].id, (long long)h->issuers[i].ca_days_left);
	prom_head(hb, "signer_crl_next_update_timestamp_seconds", "nextUpdate "
	    "of the signer's current complete CRL.");
	for (i = 0; i < h->n_issuers; i++)
		if (h->issuers[i].crl_number != 0)
			hb_printf(hb, "signer_crl_next_update_timestamp_seconds"
			    "{issuer=\"%s\"} %lld\n", h->issuers[i].id,
			    (long long)h->issuers[i].crl_next_update);
	prom_head(hb, "signer_crl_published_age_seconds", "Age (now - "
	    "thisUpdate) of the CRL published on this host.");
	for (i = 0; i < h->n_issuers; i++)
		if (h->issuers[i].published)
			hb_printf(hb, "signer_crl_published_age_seconds"
			    "{issuer=\"%s\"} %lld\n", h->issuers[i].id,
			    (long long)(h->time -
			    h->issuers[i].published_this_update));
	prom_head(hb, "signer_crl_published_next_update_timestamp_seconds",
	    "nextUpdate of the CRL published on this host.");
	for (i = 0; i < h->n_issuers; i++)
		if (h->issuers[i].published)
			hb_printf(hb, "signer_crl_published_next_update_"
			    "timestamp_seconds{issuer=\"%s\"} %lld\n",
			    h->issuers[i].id,
			    (long long)h->issuers[i].published_next_update);
}

static void
prom_peer(struct health_buf *hb, const struct client_health_peer *p)
{
	if (!p->known)
		return;
	prom_head(hb, "signer_peer_up", "1 when the signer's link with its "
	    "paired signer is up, each way.");
	hb_printf(hb, "signer_peer_up{direction=\"to_peer\"} %d\n"
	    "signer_peer_up{direction=\"from_peer\"} %d\n", p->out_up,
	    p->in_up);
	prom_head(hb, "signer_peer_behind_events", "Events one signer of the "
	    "pair holds that the other lacks.");
	hb_printf(hb, "signer_peer_behind_events{direction=\"to_peer\"} %llu\n"
	    "signer_peer_behind_events{direction=\"from_peer\"} %llu\n",
	    (unsigned long long)p->peer_behind,
	    (unsigned long long)p->we_behind);
	prom_metric(hb, "signer_peer_last_contact_timestamp_seconds", "gauge",
	    "When the signer last heard from its paired signer (0: never).",
	    (long long)p->last_contact);
	prom_metric(hb, "signer_peer_refused_total", "counter", "Event "
	    "batches refused between the pair.", (long long)p->refused);
	prom_metric(hb, "signer_peer_tls_failures_total", "counter", "TLS "
	    "handshakes with the paired signer that failed.",
	    (long long)p->tls_failures);
}

static void
prom_text(struct health_buf *hb, const struct client_health *h)
{
	static const char *const states[] = { "ok", "degraded", "failed",
	    "unreachable" };
	size_t i;

	prom_metric(hb, "signer_up", "gauge", "1 when the signer answered "
	    "the last health request.", h->up);
	prom_head(hb, "signer_status", "The signer's health status (1 for the "
	    "current one).");
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		hb_printf(hb, "signer_status{status=\"%s\"} %d\n", states[i],
		    strcmp(h->status, states[i]) == 0);
	prom_metric(hb, "signer_health_timestamp_seconds", "gauge", "When "
	    "this health was taken.", (long long)h->time);
	prom_metric(hb, "signer_bad_frames_total", "counter", "Frames the "
	    "signer could not read since it started.",
	    (long long)h->signer_bad_frames);
	prom_metric(hb, "signer_link_errors_total", "counter", "Damaged or "
	    "lost frames and timeouts seen on this host.",
	    (long long)h->link_errors);
	prom_metric(hb, "signer_active", "gauge", "The signer in use, 1 or 2 "
	    "as listed in client.yaml; 0 when none is.", (long long)h->signer);
	if (h->signer != 0) {
		prom_head(hb, "signer_active_info", "The device of the signer "
		    "in use.");
		hb_printf(hb, "signer_active_info{signer=\"%u\",device=",
		    (unsigned)h->signer);
		hb_quoted(hb, h->signer_device, false);
		hb_printf(hb, "} 1\n");
	}
	prom_metric(hb, "signer_switches_total", "counter", "Moves from one "
	    "signer to the other (failovers and returns).",
	    (long long)h->switches);
	if (h->queue.known) {
		prom_metric(hb, "signer_queue_depth", "gauge", "Requests "
		    "queued in the web database.", (long long)h->queue.queued);
		prom_metric(hb, "signer_queue_oldest_seconds", "gauge", "Age "
		    "of the oldest queued request.",
		    (long long)h->queue.oldest_age);
		prom_metric(hb, "signer_requests_done_total", "counter",
		    "Requests done.", (long long)h->queue.done);
		prom_metric(hb, "signer_requests_failed_total", "counter",
		    "Requests failed.", (long long)h->queue.failed);
	}
	prom_peer(hb, &h->peer);
	prom_issuers(hb, h);
}

static void
json_text(struct health_buf *hb, const struct client_health *h)
{
	const struct client_health_issuer *is;
	size_t i;

	/* Strings are issuer ids, our status names or the escaped device. */
	hb_printf(hb, "{\"time\": %lld, \"up\": %s, \"status\": \"%s\", "
	    "\"node\": %llu, \"bad_frames\": %llu, \"link_errors\": %llu",
	    (long long)h->time, h->up ? "true" : "false", h->status,
	    (unsigned long long)h->node,
	    (unsigned long long)h->signer_bad_frames,
	    (unsigned long long)h->link_errors);
	hb_printf(hb, ", \"signer\": %u, \"signer_device\": ",
	    (unsigned)h->signer);
	if (h->signer != 0)
		hb_quoted(hb, h->signer_device, true);
	else
		hb_printf(hb, "null");
	hb_printf(hb, ", \"switches\": %llu",
	    (unsigned long long)h->switches);
	if (h->queue.known)
		hb_printf(hb, ", \"queue\": {\"queued\": %llu, \"oldest_age\": "
		    "%lld, \"done\": %llu, \"failed\": %llu}",
		    (unsigned long long)h->queue.queued,
		    (long long)h->queue.oldest_age,
		    (unsigned long long)h->queue.done,
		    (unsigned long long)h->queue.failed);
	if (h->peer.known)
		hb_printf(hb, ", \"peer\": {\"node\": %llu, \"out_up\": %s, "
		    "\"in_up\": %s, \"last_contact\": %lld, \"peer_behind\": "
		    "%llu, \"we_behind\": %llu, \"refused\": %llu, "
		    "\"tls_failures\": %llu}",
		    (unsigned long long)h->peer.node,
		    h->peer.out_up ? "true" : "false",
		    h->peer.in_up ? "true" : "false",
		    (long long)h->peer.last_contact,
		    (unsigned long long)h->peer.peer_behind,
		    (unsigned long long)h->peer.we_behind,
		    (unsigned long long)h->peer.refused,
		    (unsigned long long)h->peer.tls_failures);
	hb_printf(hb, ", \"issuers\": [");
	for (i = 0; i < h->n_issuers; i++) {
		is = &h->issuers[i];
		hb_printf(hb, "%s{\"id\": \"%s\", \"ca_not_after\": %lld, "
		    "\"ca_days_left\": %lld", i > 0 ? ", " : "", is->id,
		    (long long)is->ca_not_after, (long long)is->ca_days_left);
		if (is->crl_number != 0)
			hb_printf(hb, ", \"crl_number\": \"%llu\", "
			    "\"crl_next_update\": %lld",
			    (unsigned long long)is->crl_number,
			    (long long)is->crl_next_update);
		if (is->published)
			hb_printf(hb, ", \"published_this_update\": %lld, "
			    "\"published_next_update\": %lld",
			    (long long)is->published_this_update,
			    (long long)is->published_next_update);
		hb_printf(hb, "}");
	}
	hb_printf(hb, "]}\n");
}

static int
health_put(struct health_buf *hb, const char *path, char *why, size_t whylen)
{
	if (hb->full) {
		err_why(why, whylen, "%s: the health report does not fit in "
		    "%u bytes", path, (unsigned)HEALTH_TEXT_MAX);
		return ERR_NOSPACE;
	}
	return client_write_atomic(path, hb->b, hb->len, 0644, why, whylen);
}

int
client_health_write(const struct client_health *h, const char *json_path,
    const char *prom_path, char *why, size_t whylen)
{
	struct health_buf *hb;
	int rc = 0;

	if ((hb = calloc(1, sizeof(*hb))) == NULL)
		return ERR_NOMEM;
	if (json_path != NULL) {
		json_text(hb, h);
		rc = health_put(hb, json_path, why, whylen);
	}
	if (rc == 0 && prom_path != NULL) {
		memset(hb, 0, sizeof(*hb));
		prom_text(hb, h);
		rc = health_put(hb, prom_path, why, whylen);
	}
	free(hb);
	return rc;
}
