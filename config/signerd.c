/* SPDX-License-Identifier: GPL-3.0-or-later */
/* config: the schema of signerd.yaml and the checks that span several of its keys. */

#include <stdlib.h>
#include <string.h>

#include "config/schema.h"
#include "proto/proto.h"

static const struct conf_name digests[] = {
	{ "sha256", NULL }, { "sha384", NULL }, { "sha512", NULL },
	{ NULL, NULL },
};

static const struct conf_name curves[] = {
	{ "P-256", NULL }, { "P-384", NULL }, { NULL, NULL },
};

static const struct conf_name san_types[] = {
	{ "dns", NULL }, { "email", NULL }, { "ip", NULL }, { "uri", NULL },
	{ NULL, NULL },
};

static const struct conf_name subject_attrs[] = {
	{ "CN", NULL }, { "C", NULL }, { "ST", NULL }, { "L", NULL },
	{ "O", NULL }, { "OU", NULL }, { "emailAddress", NULL },
	{ "serialNumber", NULL }, { "GN", NULL }, { "SN", NULL },
	{ "title", NULL }, { "DC", NULL }, { "street", NULL },
	{ "postalCode", NULL }, { NULL, NULL },
};

/* RFC 5280 names; contentCommitment is the newer name of nonRepudiation. */
static const struct conf_name key_usages[] = {
	{ "digitalSignature", NULL }, { "nonRepudiation", NULL },
	{ "contentCommitment", "nonRepudiation" }, { "keyEncipherment", NULL },
	{ "dataEncipherment", NULL }, { "keyAgreement", NULL },
	{ "keyCertSign", NULL }, { "cRLSign", NULL }, { NULL, NULL },
};

static const struct conf_name ext_key_usages[] = {
	{ "serverAuth", NULL }, { "clientAuth", NULL }, { "codeSigning", NULL },
	{ "emailProtection", NULL }, { "timeStamping", NULL },
	{ "OCSPSigning", NULL }, { NULL, NULL },
};

static const char *const def_curves[] = { "P-256", "P-384", NULL };
static const char *const def_subject[] = { "CN", NULL };

#define SD(f) offsetof(struct conf_signerd, f)
#define IS(f) offsetof(struct conf_issuer, f)
#define PR(f) offsetof(struct conf_profile, f)

/* serial, repository, hsm, log and health keys live in struct conf_signerd itself. */
static const struct conf_key serial_keys[] = {
	{ .name = "device", .type = CONF_T_PATH, .off = SD(serial.device),
	  .required = true },
	{ .name = "baud", .type = CONF_T_UINT, .off = SD(serial.baud),
	  .min = 0, .max = UINT32_MAX, .def = 115200, .ucheck = conf_check_baud },
	{ .name = "flow_control", .type = CONF_T_FLAG, .off = SD(serial.rtscts),
	  .names = conf_flow_controls, .def = 0 },
	{ .name = "max_frame", .type = CONF_T_UINT, .off = SD(max_frame),
	  .min = FRAME_MAX_MIN, .max = FRAME_MAX_LIMIT, .def = FRAME_MAX_DEFAULT },
	{ .name = "queue", .type = CONF_T_UINT, .off = SD(queue),
	  .min = 1, .max = CONF_QUEUE_MAX, .def = 256 },
};

static const struct conf_key repository_keys[] = {
	{ .name = "path", .type = CONF_T_PATH, .off = SD(repo_path),
	  .required = true },
	{ .name = "map_size_mb", .type = CONF_T_UINT, .off = SD(repo_map_mb),
	  .min = CONF_MAP_MB_MIN, .max = CONF_MAP_MB_MAX, .def = 4096 },
};

static const struct conf_key hsm_keys[] = {
	{ .name = "module", .type = CONF_T_PATH, .off = SD(hsm_module),
	  .required = true },
	{ .name = "token", .type = CONF_T_STR, .off = SD(hsm_token),
	  .required = true, .scheck = conf_check_token_label },
	{ .name = "pin_file", .type = CONF_T_PATH, .off = SD(hsm_pin_file) },
	{ .name = "pin_env", .type = CONF_T_STR, .off = SD(hsm_pin_env),
	  .scheck = conf_check_env_name },
};

static const struct conf_key log_keys[] = {
	{ .name = "level", .type = CONF_T_ENUM, .off = SD(log_level),
	  .names = conf_log_levels, .def_str = "info" },
};

static const struct conf_key health_keys[] = {
	{ .name = "ca_warn_days", .type = CONF_T_UINT, .off = SD(ca_warn_days),
	  .min = 0, .max = CONF_WARN_DAYS_MAX, .def = 30 },
};

static const struct conf_key sync_keys[] = {
	{ .name = "listen", .type = CONF_T_STR, .off = SD(sync.listen),
	  .required = true, .scheck = conf_check_hostport },
	{ .name = "peer", .type = CONF_T_STR, .off = SD(sync.peer),
	  .required = true, .scheck = conf_check_hostport },
	{ .name = "peer_node", .type = CONF_T_UINT, .off = SD(sync.peer_node),
	  .required = true, .min = 1, .max = CONF_NODE_MAX },
	{ .name = "cert", .type = CONF_T_PATH, .off = SD(sync.cert),
	  .required = true },
	{ .name = "key", .type = CONF_T_PATH, .off = SD(sync.key),
	  .required = true },
	{ .name = "peer_fingerprint", .type = CONF_T_STR,
	  .off = SD(sync.peer_fingerprint), .required = true,
	  .scheck = conf_check_fingerprint },
	{ .name = "degraded_after_seconds", .type = CONF_T_UINT,
	  .off = SD(sync.degraded_after_s), .min = CONF_SYNC_DEGRADED_MIN,
	  .max = CONF_SYNC_DEGRADED_MAX, .def = 300 },
	{ .name = "batch_events", .type = CONF_T_UINT,
	  .off = SD(sync.batch_events), .min = 1, .max = CONF_SYNC_BATCH_MAX,
	  .def = 1024 },
};

static const struct conf_key crl_keys[] = {
	{ .name = "lifetime_days", .type = CONF_T_UINT,
	  .off = offsetof(struct conf_crl, lifetime_days),
	  .min = 1, .max = CONF_CRL_DAYS_MAX, .def = 7 },
	{ .name = "refresh_percent", .type = CONF_T_UINT,
	  .off = offsetof(struct conf_crl, refresh_percent),
	  .min = 1, .max = CONF_CRL_REFRESH_MAX, .def = 50 },
	{ .name = "grace_days", .type = CONF_T_UINT,
	  .off = offsetof(struct conf_crl, grace_days),
	  .min = 0, .max = CONF_CRL_GRACE_MAX, .def = 7 },
};
static const struct conf_map crl_map = CONF_MAP_OF(crl_keys);

static const struct conf_key issuer_keys[] = {
	{ .name = "id", .type = CONF_T_STR, .off = IS(id), .required = true,
	  .scheck = conf_check_id },
	{ .name = "cert", .type = CONF_T_PATH, .off = IS(cert), .required = true },
	{ .name = "key_id", .type = CONF_T_STR, .off = IS(key_id),
	  .required = true, .scheck = conf_check_hex_id },
	{ .name = "crl", .type = CONF_T_MAP, .off = IS(crl), .map = &crl_map },
};
static const struct conf_map issuer_map = CONF_MAP_OF(issuer_keys);

/* Profile sub-maps are flattened into struct conf_profile (offset 0). */
static const struct conf_key validity_keys[] = {
	{ .name = "default_days", .type = CONF_T_UINT, .off = PR(default_days),
	  .required = true, .min = 1, .max = CONF_VALIDITY_DAYS_MAX },
	{ .name = "max_days", .type = CONF_T_UINT, .off = PR(max_days),
	  .required = true, .min = 1, .max = CONF_VALIDITY_DAYS_MAX },
	{ .name = "backdate_seconds", .type = CONF_T_UINT,
	  .off = PR(backdate_seconds), .min = 0, .max = CONF_BACKDATE_MAX,
	  .def = 3600 },
};
static const struct conf_map validity_map = CONF_MAP_OF(validity_keys);

static const struct conf_key key_keys[] = {
	{ .name = "rsa_min_bits", .type = CONF_T_UINT, .off = PR(rsa_min_bits),
	  .min = CONF_RSA_BITS_MIN, .max = CONF_RSA_BITS_MAX, .def = 2048 },
	{ .name = "curves", .type = CONF_T_STRLIST, .off = PR(curves),
	  .names = curves, .def_list = def_curves },
};
static const struct conf_map key_map = CONF_MAP_OF(key_keys);

static const struct conf_key subject_keys[] = {
	{ .name = "allowed", .type = CONF_T_STRLIST, .off = PR(subject_allowed),
	  .names = subject_attrs, .def_list = def_subject },
	{ .name = "required", .type = CONF_T_STRLIST,
	  .off = PR(subject_required), .names = subject_attrs },
	{ .name = "from_csr", .type = CONF_T_BOOL, .off = PR(subject_from_csr) },
};
static const struct conf_map subject_map = CONF_MAP_OF(subject_keys);

static const struct conf_key san_keys[] = {
	{ .name = "types", .type = CONF_T_STRLIST, .off = PR(san_types),
	  .names = san_types },
	{ .name = "max", .type = CONF_T_UINT, .off = PR(san_max),
	  .min = 0, .max = CONF_SAN_MAX, .def = 100 },
	{ .name = "cn_must_match", .type = CONF_T_BOOL, .off = PR(cn_in_san) },
};
static const struct conf_map san_map = CONF_MAP_OF(san_keys);

static const struct conf_key bc_keys[] = {
	{ .name = "ca", .type = CONF_T_BOOL, .off = PR(ca) },
	{ .name = "path_len", .type = CONF_T_OPTUINT, .off = PR(path_len),
	  .min = 0, .max = CONF_PATH_LEN_MAX },
};
static const struct conf_map bc_map = CONF_MAP_OF(bc_keys);

static const struct conf_key aia_keys[] = {
	{ .name = "ca_issuers", .type = CONF_T_STRLIST, .off = PR(aia_ca_issuers),
	  .scheck = conf_check_uri },
	{ .name = "ocsp", .type = CONF_T_STRLIST, .off = PR(aia_ocsp),
	  .scheck = conf_check_http_uri },
};
static const struct conf_map aia_map = CONF_MAP_OF(aia_keys);

static const struct conf_key profile_keys[] = {
	{ .name = "name", .type = CONF_T_STR, .off = PR(name), .required = true,
	  .scheck = conf_check_id },
	{ .name = "issuers", .type = CONF_T_STRLIST, .off = PR(issuers),
	  .required = true, .min = 1, .scheck = conf_check_id },
	{ .name = "validity", .type = CONF_T_MAP, .off = 0, .required = true,
	  .map = &validity_map },
	{ .name = "digest", .type = CONF_T_ENUM, .off = PR(digest),
	  .names = digests, .def_str = "sha256" },
	{ .name = "key", .type = CONF_T_MAP, .off = 0, .map = &key_map },
	{ .name = "subject", .type = CONF_T_MAP, .off = 0, .map = &subject_map },
	{ .name = "san", .type = CONF_T_MAP, .off = 0, .map = &san_map },
	{ .name = "key_usage", .type = CONF_T_STRLIST, .off = PR(key_usage),
	  .required = true, .min = 1, .names = key_usages },
	{ .name = "ext_key_usage", .type = CONF_T_STRLIST,
	  .off = PR(ext_key_usage), .names = ext_key_usages },
	{ .name = "basic_constraints", .type = CONF_T_MAP, .off = 0,
	  .map = &bc_map },
	{ .name = "crl_distribution_points", .type = CONF_T_STRLIST,
	  .off = PR(crl_dp), .scheck = conf_check_uri },
	{ .name = "aia", .type = CONF_T_MAP, .off = 0, .map = &aia_map },
	{ .name = "certificate_policies", .type = CONF_T_STRLIST,
	  .off = PR(policies), .scheck = conf_check_oid },
};
static const struct conf_map profile_map = CONF_MAP_OF(profile_keys);

static const struct conf_map serial_map = CONF_MAP_OF(serial_keys);
static const struct conf_map repository_map = CONF_MAP_OF(repository_keys);
static const struct conf_map hsm_map = CONF_MAP_OF(hsm_keys);
static const struct conf_map log_map = CONF_MAP_OF(log_keys);
static const struct conf_map health_map = CONF_MAP_OF(health_keys);
static const struct conf_map sync_map = CONF_MAP_OF(sync_keys);

static const struct conf_key signerd_keys[] = {
	{ .name = "node", .type = CONF_T_UINT, .off = SD(node), .required = true,
	  .min = 1, .max = CONF_NODE_MAX },
	{ .name = "serial", .type = CONF_T_MAP, .off = 0, .required = true,
	  .map = &serial_map },
	{ .name = "repository", .type = CONF_T_MAP, .off = 0, .required = true,
	  .map = &repository_map },
	{ .name = "hsm", .type = CONF_T_MAP, .off = 0, .required = true,
	  .map = &hsm_map },
	{ .name = "log", .type = CONF_T_MAP, .off = 0, .map = &log_map },
	{ .name = "health", .type = CONF_T_MAP, .off = 0, .map = &health_map },
	{ .name = "sync", .type = CONF_T_MAP, .off = 0, .map = &sync_map },
	{ .name = "issuers", .type = CONF_T_MAPLIST, .off = SD(issuers),
	  .required = true, .min = 1, .max = CONF_ISSUERS_MAX, .map = &issuer_map,
	  .count_off = SD(n_issuers), .elem_size = sizeof(struct conf_issuer) },
	{ .name = "profiles", .type = CONF_T_MAPLIST, .off = SD(profiles),
	  .required = true, .min = 1, .max = CONF_PROFILES_MAX,
	  .map = &profile_map, .count_off = SD(n_profiles),
	  .elem_size = sizeof(struct conf_profile) },
};
static const struct conf_map signerd_map = CONF_MAP_OF(signerd_keys);

static int
check_hsm(struct conf_ctx *x, struct conf_signerd *c)
{
	const struct conf_pos *at = conf_pos_map(x, c, "hsm");

	if (c->hsm_pin_file != NULL && c->hsm_pin_env != NULL)
		return conf_errf(x, conf_pos_or(x,
		    conf_pos_value(x, &c->hsm_pin_env), at),
		    "'pin_file' and 'pin_env' exclude each other in 'hsm'");
	if (c->hsm_pin_file == NULL && c->hsm_pin_env == NULL)
		return conf_errf(x, at,
		    "one of 'pin_file' and 'pin_env' is required in 'hsm'");
	return 0;
}

static int
check_issuer(struct conf_ctx *x, struct conf_signerd *c, size_t i)
{
	struct conf_issuer *is = &c->issuers[i];
	size_t j;

	for (j = 0; j < i; j++) {
		const struct conf_pos *p = conf_pos_value(x, &c->issuers[j].id);
		if (strcmp(c->issuers[j].id, is->id) == 0)
			return conf_errf(x, conf_pos_value(x, &is->id),
			    "duplicate issuer id '%s' (first at %zu:%zu)", is->id,
			    p ? p->line + 1 : 0, p ? p->col + 1 : 0);
		if (strcmp(c->issuers[j].cert, is->cert) == 0)
			return conf_errf(x, conf_pos_value(x, &is->cert),
			    "issuers '%s' and '%s' have the same 'cert'",
			    c->issuers[j].id, is->id);
	}
	/* without its own value, the grace period follows the CRL lifetime */
	is->crl.grace_set = conf_pos_value(x, &is->crl.grace_days) != NULL;
	if (!is->crl.grace_set)
		is->crl.grace_days = is->crl.lifetime_days;
	return 0;
}

static int
check_profile_issuers(struct conf_ctx *x, const struct conf_signerd *c,
    const struct conf_profile *p)
{
	size_t i;

	for (i = 0; i < p->issuers.n; i++)
		if (conf_issuer_find(c, p->issuers.v[i]) == NULL)
			return conf_errf(x, conf_pos_elem(x, &p->issuers.v[i]),
			    "profile '%s' names issuer '%s', which is not "
			    "configured", p->name, p->issuers.v[i]);
	return 0;
}

static int
check_profile_subject(struct conf_ctx *x, const struct conf_profile *p)
{
	size_t i;

	for (i = 0; i < p->subject_required.n; i++)
		if (!conf_strlist_has(&p->subject_allowed,
		    p->subject_required.v[i]))
			return conf_errf(x,
			    conf_pos_elem(x, &p->subject_required.v[i]),
			    "subject attribute '%s' is required but not in "
			    "'allowed' of profile '%s'", p->subject_required.v[i],
			    p->name);
	if (p->cn_in_san && !conf_strlist_has(&p->subject_allowed, "CN"))
		return conf_errf(x, conf_pos_value(x, &p->cn_in_san),
		    "'cn_must_match' needs 'CN' in subject 'allowed' of profile "
		    "'%s'", p->name);
	if (p->cn_in_san && !conf_strlist_has(&p->san_types, "dns") &&
	    !conf_strlist_has(&p->san_types, "ip"))
		return conf_errf(x, conf_pos_value(x, &p->cn_in_san),
		    "'cn_must_match' needs 'dns' or 'ip' in san 'types' of "
		    "profile '%s'", p->name);
	if (p->san_types.n > 0 && p->san_max == 0)
		return conf_errf(x, conf_pos_value(x, &p->san_max),
		    "san 'max' is 0 but 'types' allows SANs in profile '%s'",
		    p->name);
	return 0;
}

/* Position of entry s of list l, else of the list itself. */
static const struct conf_pos *
entry_pos(const struct conf_ctx *x, const struct conf_strlist *l,
    const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return conf_pos_elem(x, &l->v[i]);
	return conf_pos_value(x, l);
}

static int
check_profile_ca(struct conf_ctx *x, const struct conf_profile *p)
{
	bool certsign = conf_strlist_has(&p->key_usage, "keyCertSign");
	const struct conf_pos *ca = conf_pos_or(x, conf_pos_value(x, &p->ca),
	    entry_pos(x, &p->key_usage, "keyCertSign"));

	if (p->max_days < p->default_days)
		return conf_errf(x, conf_pos_value(x, &p->max_days),
		    "'max_days' (%u) must be >= 'default_days' (%u) in profile "
		    "'%s'", p->max_days, p->default_days, p->name);
	if (p->ca && !certsign)
		return conf_errf(x, ca, "'ca: true' needs 'keyCertSign' in "
		    "'key_usage' of profile '%s'", p->name);
	if (!p->ca && certsign)
		return conf_errf(x, ca, "'keyCertSign' in 'key_usage' needs "
		    "'ca: true' in profile '%s'", p->name);
	if (!p->ca && p->path_len >= 0)
		return conf_errf(x, conf_pos_value(x, &p->path_len),
		    "'path_len' needs 'ca: true' in profile '%s'", p->name);
	return 0;
}

static int
check_profile(struct conf_ctx *x, const struct conf_signerd *c, size_t i)
{
	const struct conf_profile *p = &c->profiles[i];
	const struct conf_pos *first;
	size_t j;
	int rc;

	for (j = 0; j < i; j++) {
		if (strcmp(c->profiles[j].name, p->name) != 0)
			continue;
		first = conf_pos_value(x, &c->profiles[j].name);
		return conf_errf(x, conf_pos_value(x, &p->name),
		    "duplicate profile name '%s' (first at %zu:%zu)", p->name,
		    first ? first->line + 1 : 0, first ? first->col + 1 : 0);
	}
	if ((rc = check_profile_issuers(x, c, p)) != 0 ||
	    (rc = check_profile_ca(x, p)) != 0 ||
	    (rc = check_profile_subject(x, p)) != 0)
		return rc;
	return 0;
}

static int
check_sync(struct conf_ctx *x, struct conf_signerd *c)
{
	c->sync_enabled = c->sync.listen != NULL;
	if (c->sync_enabled && c->sync.peer_node == c->node)
		return conf_errf(x, conf_pos_value(x, &c->sync.peer_node),
		    "'peer_node' (%u) must differ from this signer's 'node'",
		    c->sync.peer_node);
	return 0;
}

static int
signerd_validate(struct conf_ctx *x, void *base)
{
	struct conf_signerd *c = base;
	size_t i;
	int rc;

	if ((rc = check_hsm(x, c)) != 0 || (rc = check_sync(x, c)) != 0)
		return rc;
	for (i = 0; i < c->n_issuers; i++)
		if ((rc = check_issuer(x, c, i)) != 0)
			return rc;
	for (i = 0; i < c->n_profiles; i++)
		if ((rc = check_profile(x, c, i)) != 0)
			return rc;
	return 0;
}

static const struct conf_schema signerd_schema = {
	&signerd_map, sizeof(struct conf_signerd), signerd_validate,
};

int
conf_parse_signerd(const char *name, const uint8_t *buf, size_t len,
    struct conf_signerd *c, char *err)
{
	return conf_parse(&signerd_schema, name, buf, len, c, err);
}

int
conf_load_signerd(const char *path, struct conf_signerd *c, char *err)
{
	return conf_load(&signerd_schema, path, c, err);
}

void
conf_signerd_free(struct conf_signerd *c)
{
	if (c == NULL)
		return;
	conf_free_map(&signerd_map, c);
	memset(c, 0, sizeof(*c));
}

const struct conf_issuer *
conf_issuer_find(const struct conf_signerd *c, const char *id)
{
	size_t i;

	for (i = 0; c != NULL && id != NULL && i < c->n_issuers; i++)
		if (strcmp(c->issuers[i].id, id) == 0)
			return &c->issuers[i];
	return NULL;
}

const struct conf_profile *
conf_profile_find(const struct conf_signerd *c, const char *name)
{
	size_t i;

	for (i = 0; c != NULL && name != NULL && i < c->n_profiles; i++)
		if (strcmp(c->profiles[i].name, name) == 0)
			return &c->profiles[i];
	return NULL;
}
