/* SPDX-License-Identifier: GPL-3.0-or-later */
/* config: the schema of client.yaml and the checks that span several of its keys. */

#include <string.h>

#include "config/schema.h"
#include "proto/proto.h"

static const struct conf_name db_backends[] = {
	{ "sqlite", NULL }, { "postgresql", NULL }, { NULL, NULL },
};

#define CL(f) offsetof(struct conf_client, f)
#define SE(f) offsetof(struct conf_serial, f)

static const struct conf_key signer_keys[] = {
	{ .name = "device", .type = CONF_T_PATH, .off = SE(device),
	  .required = true },
	{ .name = "baud", .type = CONF_T_UINT, .off = SE(baud),
	  .min = 0, .max = UINT32_MAX, .def = 115200, .ucheck = conf_check_baud },
	{ .name = "flow_control", .type = CONF_T_FLAG, .off = SE(rtscts),
	  .names = conf_flow_controls, .def = 0 },
};
static const struct conf_map signer_map = CONF_MAP_OF(signer_keys);

/* database, crl, health and log keys live in struct conf_client itself. */
static const struct conf_key database_keys[] = {
	{ .name = "backend", .type = CONF_T_ENUM, .off = CL(db_backend),
	  .names = db_backends, .def_str = "sqlite" },
	{ .name = "path", .type = CONF_T_PATH, .off = CL(db_path) },
	{ .name = "conninfo", .type = CONF_T_STR, .off = CL(db_conninfo) },
};
static const struct conf_map database_map = CONF_MAP_OF(database_keys);

static const struct conf_key crl_keys[] = {
	{ .name = "dir", .type = CONF_T_PATH, .off = CL(crl_dir) },
	{ .name = "interval_seconds", .type = CONF_T_UINT,
	  .off = CL(crl_interval_s), .min = CONF_CRL_INTERVAL_MIN,
	  .max = CONF_CRL_INTERVAL_MAX, .def = 3600 },
};
static const struct conf_map crl_map = CONF_MAP_OF(crl_keys);

static const struct conf_key health_keys[] = {
	{ .name = "json", .type = CONF_T_PATH, .off = CL(health_json) },
	{ .name = "prometheus", .type = CONF_T_PATH, .off = CL(health_prom) },
	{ .name = "interval_seconds", .type = CONF_T_UINT,
	  .off = CL(health_interval_s), .min = CONF_HEALTH_INTERVAL_MIN,
	  .max = CONF_HEALTH_INTERVAL_MAX, .def = 60 },
};
static const struct conf_map health_map = CONF_MAP_OF(health_keys);

static const struct conf_key log_keys[] = {
	{ .name = "level", .type = CONF_T_ENUM, .off = CL(log_level),
	  .names = conf_log_levels, .def_str = "info" },
};
static const struct conf_map log_map = CONF_MAP_OF(log_keys);

static const struct conf_key client_keys[] = {
	{ .name = "signers", .type = CONF_T_MAPLIST, .off = CL(signers),
	  .required = true, .min = 1, .max = CONF_SIGNERS_MAX, .map = &signer_map,
	  .count_off = CL(n_signers), .elem_size = sizeof(struct conf_serial),
	  .inline_array = true },
	{ .name = "max_frame", .type = CONF_T_UINT, .off = CL(max_frame),
	  .min = FRAME_MAX_MIN, .max = FRAME_MAX_LIMIT, .def = FRAME_MAX_DEFAULT },
	{ .name = "timeout_ms", .type = CONF_T_UINT, .off = CL(timeout_ms),
	  .min = CONF_TIMEOUT_MS_MIN, .max = CONF_TIMEOUT_MS_MAX, .def = 30000 },
	{ .name = "retries", .type = CONF_T_UINT, .off = CL(retries),
	  .min = 0, .max = CONF_RETRIES_MAX, .def = 5 },
	{ .name = "ca_dir", .type = CONF_T_PATH, .off = CL(ca_dir),
	  .required = true },
	{ .name = "database", .type = CONF_T_MAP, .off = 0, .map = &database_map },
	{ .name = "crl", .type = CONF_T_MAP, .off = 0, .map = &crl_map },
	{ .name = "health", .type = CONF_T_MAP, .off = 0, .map = &health_map },
	{ .name = "log", .type = CONF_T_MAP, .off = 0, .map = &log_map },
};
static const struct conf_map client_map = CONF_MAP_OF(client_keys);

static int
check_database(struct conf_ctx *x, const struct conf_client *c)
{
	const struct conf_pos *at = conf_pos_map(x, c, "database");
	bool sqlite = strcmp(c->db_backend, "sqlite") == 0;

	if (sqlite && c->db_path == NULL)
		return conf_errf(x, at, "backend sqlite needs 'path' in "
		    "'database'");
	if (sqlite && c->db_conninfo != NULL)
		return conf_errf(x, conf_pos_value(x, &c->db_conninfo),
		    "'conninfo' is only for backend postgresql");
	if (!sqlite && c->db_conninfo == NULL)
		return conf_errf(x, at, "backend postgresql needs 'conninfo' in "
		    "'database'");
	if (!sqlite && c->db_path != NULL)
		return conf_errf(x, conf_pos_value(x, &c->db_path),
		    "'path' is only for backend sqlite");
	return 0;
}

static int
client_validate(struct conf_ctx *x, void *base)
{
	struct conf_client *c = base;
	size_t i, j;
	int rc;

	for (i = 1; i < c->n_signers; i++)
		for (j = 0; j < i; j++)
			if (strcmp(c->signers[i].device, c->signers[j].device) == 0)
				return conf_errf(x,
				    conf_pos_value(x, &c->signers[i].device),
				    "signers %zu and %zu use the same device '%s'",
				    j, i, c->signers[i].device);
	if ((rc = check_database(x, c)) != 0)
		return rc;
	if (c->health_json != NULL && c->health_prom != NULL &&
	    strcmp(c->health_json, c->health_prom) == 0)
		return conf_errf(x, conf_pos_value(x, &c->health_prom),
		    "'json' and 'prometheus' name the same file in 'health'");
	return 0;
}

static const struct conf_schema client_schema = {
	&client_map, sizeof(struct conf_client), client_validate,
};

int
conf_parse_client(const char *name, const uint8_t *buf, size_t len,
    struct conf_client *c, char *err)
{
	return conf_parse(&client_schema, name, buf, len, c, err);
}

int
conf_load_client(const char *path, struct conf_client *c, char *err)
{
	return conf_load(&client_schema, path, c, err);
}

void
conf_client_free(struct conf_client *c)
{
	if (c == NULL)
		return;
	conf_free_map(&client_map, c);
	memset(c, 0, sizeof(*c));
}
