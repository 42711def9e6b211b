/* SPDX-License-Identifier: GPL-3.0-or-later */
/* signerd commands that change state: sign (in batches) and revoke. */

#include <stdlib.h>
#include <string.h>

#include "signer/daemon_local.h"

/* The parsed arguments of one sign request; pointers into the request. */
struct sign_args {
	struct cert_pair subject[CERT_SUBJECT_MAX];
	struct cert_pair *san;          /* malloc'd, n_san entries */
};

/* Read an array of [name, value] string pairs, at most max, into out. */
static int
get_pairs(const struct msg *m, const char *key, size_t max,
    struct cert_pair *out, size_t *n, char *why, size_t whylen)
{
	const msgpack_object_array *a;
	const msgpack_object *p;
	size_t i;
	int rc;

	*n = 0;
	if ((rc = msg_get_array(m->args, key, false, max, &a, why, whylen)) <= 0)
		return rc;
	for (i = 0; i < a->size; i++) {
		p = &a->ptr[i];
		if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != 2 ||
		    p->via.array.ptr[0].type != MSGPACK_OBJECT_STR ||
		    p->via.array.ptr[1].type != MSGPACK_OBJECT_STR) {
			err_why(why, whylen, "field '%s' entry %zu must be "
			    "[name, value] strings", key, i);
			return ERR_BAD_REQUEST;
		}
		out[i].name = p->via.array.ptr[0].via.str.ptr;
		out[i].name_len = p->via.array.ptr[0].via.str.size;
		out[i].value = p->via.array.ptr[1].via.str.ptr;
		out[i].value_len = p->via.array.ptr[1].via.str.size;
	}
	*n = a->size;
	return 0;
}

static int
parse_sign(const struct msg *m, struct sign_job *job, struct sign_args *a,
    struct cmd_log *lg, char *why, size_t whylen)
{
	const msgpack_object_array *sa;
	uint64_t days = 0;
	int rc;

	rc = msg_get_str(m->args, "profile", true, REPO_ID_MAX,
	    &job->req.profile, &job->req.profile_len, why, whylen);
	if (rc < 0)
		return rc;
	rc = msg_get_bin(m->args, "csr", true, CERT_CSR_MAX, &job->req.csr,
	    &job->req.csr_len, why, whylen);
	if (rc < 0)
		return rc;
	rc = msg_get_bin(m->args, "ref", true, REPO_REF_MAX, &job->ref,
	    &job->ref_len, why, whylen);
	if (rc == ERR_BAD_REQUEST) {
		/* A ref may also come as a string. */
		rc = msg_get_str(m->args, "ref", true, REPO_REF_MAX,
		    (const char **)&job->ref, &job->ref_len, why, whylen);
	}
	if (rc < 0)
		return rc;
	cmd_log_text(lg->ref, sizeof(lg->ref), job->ref, job->ref_len);
	if (job->ref_len == 0) {
		err_why(why, whylen, "field 'ref' must be 1..%d bytes",
		    REPO_REF_MAX);
		return ERR_BAD_REQUEST;
	}
	rc = msg_get_uint(m->args, "days", false, 1, CONF_VALIDITY_DAYS_MAX,
	    &days, why, whylen);
	if (rc < 0)
		return rc;
	job->req.days = (uint32_t)days;
	rc = get_pairs(m, "subject", CERT_SUBJECT_MAX, a->subject,
	    &job->req.n_subject, why, whylen);
	if (rc < 0)
		return rc;
	job->req.subject = a->subject;
	/* Bound the SAN count before allocating for it. */
	rc = msg_get_array(m->args, "san", false, CERT_SAN_LIMIT, &sa, why,
	    whylen);
	if (rc < 0)
		return rc;
	if (rc == 1 && sa->size > 0) {
		if ((a->san = calloc(sa->size, sizeof(*a->san))) == NULL) {
			err_why(why, whylen, "out of memory");
			return ERR_NOMEM;
		}
		rc = get_pairs(m, "san", CERT_SAN_LIMIT, a->san,
		    &job->req.n_san, why, whylen);
		if (rc < 0)
			return rc;
		job->req.san = a->san;
	}
	return 0;
}

static void
pack_sign_result(msgpack_packer *pk, uint32_t id, const struct repo_cert *c)
{
	msg_pack_result(pk, id, 5);
	msg_pack_cstr(pk, "serial");
	cmd_pack_serial(pk, &c->serial);
	msg_pack_cstr(pk, "issuer");
	msg_pack_cstr(pk, c->issuer);
	msg_pack_cstr(pk, "cert");
	msgpack_pack_bin(pk, c->der_len);
	msgpack_pack_bin_body(pk, c->der, c->der_len);
	msg_pack_cstr(pk, "not_before");
	msgpack_pack_int64(pk, c->not_before);
	msg_pack_cstr(pk, "not_after");
	msgpack_pack_int64(pk, c->not_after);
}

static void
pack_error_into(msgpack_sbuffer *sb, uint32_t id, int err, const char *why)
{
	msgpack_packer pk;

	msgpack_sbuffer_clear(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msg_pack_error(&pk, id, err_wire_code(err),
	    why[0] != '\0' ? why : err_str(err));
}

void
cmd_sign_batch(struct daemon *d, struct daemon_entry **es, size_t n,
    msgpack_sbuffer *sb, struct cmd_log *lg, int *rcs,
    char (*whys)[MSG_ERRMSG_MAX])
{
	struct sign_job *jobs = NULL;
	struct sign_args *args = NULL;
	size_t map[SIGNER_BATCH_MAX];
	size_t i, nj = 0;
	msgpack_packer pk;

	jobs = calloc(n, sizeof(*jobs));
	args = calloc(n, sizeof(*args));
	for (i = 0; i < n; i++) {
		whys[i][0] = '\0';
		if (jobs == NULL || args == NULL) {
			rcs[i] = ERR_NOMEM;
			err_why(whys[i], MSG_ERRMSG_MAX, "out of memory");
			pack_error_into(&sb[i], es[i]->id, rcs[i], whys[i]);
			continue;
		}
		rcs[i] = parse_sign(&es[i]->m, &jobs[nj], &args[nj], &lg[i],
		    whys[i], MSG_ERRMSG_MAX);
		if (rcs[i] != 0) {
			pack_error_into(&sb[i], es[i]->id, rcs[i], whys[i]);
			free(args[nj].san);
			memset(&jobs[nj], 0, sizeof(jobs[nj]));
			memset(&args[nj], 0, sizeof(args[nj]));
			continue;
		}
		map[nj++] = i;
	}
	if (nj > 0)
		(void)signer_sign(d->s, jobs, nj, daemon_now());
	for (i = 0; i < nj; i++) {
		struct sign_job *j = &jobs[i];
		size_t e = map[i];

		rcs[e] = j->err;
		if (j->err != 0) {
			err_why(whys[e], MSG_ERRMSG_MAX, "%s", j->why);
			pack_error_into(&sb[e], es[e]->id, j->err, j->why);
		} else {
			msgpack_packer_init(&pk, &sb[e], msgpack_sbuffer_write);
			pack_sign_result(&pk, es[e]->id, &j->cert);
			serial_to_hex(&j->cert.serial, lg[e].serial);
			cmd_log_text(lg[e].issuer, sizeof(lg[e].issuer),
			    j->cert.issuer, strlen(j->cert.issuer));
		}
		repo_cert_clear(&j->cert);
		free(args[i].san);
	}
	free(jobs);
	free(args);
}

static int
parse_reason(const struct msg *m, int *reason, char *why, size_t whylen)
{
	const char *s;
	size_t len;
	int rc, r;

	*reason = CRL_REASON_NONE;
	rc = msg_get_str(m->args, "reason", false, 64, &s, &len, why, whylen);
	if (rc <= 0)
		return rc;
	if ((r = msg_reason_code(s, len)) >= 0) {
		*reason = r;
		return 0;
	}
	err_why(why, whylen, "field 'reason' is not an RFC 5280 reason name");
	return ERR_BAD_REQUEST;
}

static int
parse_revoke(struct daemon *d, const struct msg *m, struct revoke_job *j,
    struct cmd_log *lg, char *why, size_t whylen)
{
	size_t idx;
	int rc;

	if ((rc = cmd_get_issuer(d, m, lg, &idx, why, whylen)) != 0 ||
	    (rc = cmd_get_serial(m, lg, &j->serial, why, whylen)) != 0)
		return rc;
	j->issuer = d->conf->issuers[idx].id;
	rc = msg_get_bin(m->args, "ref", true, REPO_REF_MAX, &j->ref,
	    &j->ref_len, why, whylen);
	if (rc == ERR_BAD_REQUEST)
		rc = msg_get_str(m->args, "ref", true, REPO_REF_MAX,
		    (const char **)&j->ref, &j->ref_len, why, whylen);
	if (rc < 0)
		return rc;
	cmd_log_text(lg->ref, sizeof(lg->ref), j->ref, j->ref_len);
	if (j->ref_len == 0) {
		err_why(why, whylen, "field 'ref' must be 1..%d bytes",
		    REPO_REF_MAX);
		return ERR_BAD_REQUEST;
	}
	if ((rc = parse_reason(m, &j->reason, why, whylen)) != 0)
		return rc;
	rc = msg_get_int(m->args, "time", false, &j->time, why, whylen);
	if (rc < 0)
		return rc;
	if (rc == 1 && (j->time <= 0 || j->time > CERT_TIME_MAX)) {
		err_why(why, whylen, "field 'time' is out of range");
		return ERR_BAD_REQUEST;
	}
	return 0;
}

int
cmd_revoke(struct daemon *d, const struct msg *m, msgpack_packer *pk,
    struct cmd_log *lg, char *why, size_t whylen)
{
	struct revoke_job j;
	int rc;

	memset(&j, 0, sizeof(j));
	if ((rc = parse_revoke(d, m, &j, lg, why, whylen)) != 0)
		return rc;
	(void)signer_revoke(d->s, &j, 1, daemon_now());
	if (j.err != 0) {
		err_why(why, whylen, "%s", j.why);
		return j.err;
	}
	msg_pack_result(pk, m->id, 3);
	msg_pack_cstr(pk, "issuer");
	msg_pack_cstr(pk, j.rev.issuer);
	msg_pack_cstr(pk, "serial");
	cmd_pack_serial(pk, &j.rev.serial);
	msg_pack_cstr(pk, "revoked_at");
	msgpack_pack_int64(pk, j.rev.revoked_at);
	return 0;
}
