/* SPDX-License-Identifier: GPL-3.0-or-later */
/* config: the table-driven YAML schema engine behind both loaders (private to config/). */
#ifndef CONFIG_SCHEMA_H
#define CONFIG_SCHEMA_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "config/config.h"

#define CONF_MAP_KEYS_MAX 32    /* most keys in one schema map */
#define CONF_PATH_MAX 128       /* longest key path in messages ("profiles[63].validity") */
#define CONF_SHOW_MAX 64        /* most bytes of a value quoted in a message */
#define CONF_NAMES_MAX 32       /* most names in one name set */

enum conf_type {
	CONF_T_STR,             /* char *, malloc'd */
	CONF_T_PATH,            /* char *, an absolute path */
	CONF_T_UINT,            /* uint32_t, min..max, decimal */
	CONF_T_OPTUINT,         /* int32_t, min..max, -1 when absent */
	CONF_T_BOOL,            /* bool: true | false */
	CONF_T_ENUM,            /* char *, one of names (stored canonical) */
	CONF_T_FLAG,            /* bool: names[0] is false, names[1] is true */
	CONF_T_MAP,             /* a nested map described by map, at base + off */
	CONF_T_STRLIST,         /* struct conf_strlist; min..max entries, unique */
	CONF_T_MAPLIST,         /* a list of maps described by map */
};

/* One accepted value; canon (when set) is what gets stored, for aliases. */
struct conf_name {
	const char *name;
	const char *canon;
};

/*
 * Extra checks of a value. They return NULL when the value is acceptable,
 * else a phrase for the message "'key' <phrase>, got '...'", such as
 * "must be an absolute path".
 */
typedef const char *(*conf_str_check)(const char *s);
typedef const char *(*conf_uint_check)(uint32_t v);

struct conf_map;

/* One key of a map. Rows are written with designated initialisers. */
struct conf_key {
	const char *name;
	enum conf_type type;
	size_t off;                     /* from the base of the enclosing map */
	bool required;
	uint32_t min, max;              /* numbers: range; lists: entries */
	uint32_t def;                   /* UINT, BOOL, FLAG: default */
	const char *def_str;            /* STR, PATH, ENUM: default (NULL: none) */
	const char *const *def_list;    /* STRLIST: default, NULL-terminated */
	const struct conf_name *names;  /* ENUM, FLAG, STRLIST entries; {NULL} ends */
	conf_str_check scheck;          /* STR, STRLIST entries */
	conf_uint_check ucheck;         /* UINT: replaces the range message */
	const struct conf_map *map;     /* MAP, MAPLIST */
	size_t count_off;               /* MAPLIST: size_t entry count, from base */
	size_t elem_size;               /* MAPLIST: size of one entry */
	bool inline_array;              /* MAPLIST: array in the struct (else a pointer) */
};

struct conf_map {
	const struct conf_key *keys;
	size_t n;
};

#define CONF_MAP_OF(k) { (k), sizeof(k) / sizeof((k)[0]) }

/* A 0-based position, as libyaml marks count. */
struct conf_pos {
	size_t line, col;
};

/* Positions recorded while parsing, for the cross-field checks. */
enum conf_mark_kind { CONF_MK_VALUE, CONF_MK_ELEM, CONF_MK_MAP };

struct conf_rec {
	const void *addr;
	const char *name;
	enum conf_mark_kind kind;
	struct conf_pos pos;
};

/* The state of one parse. */
struct conf_ctx {
	yaml_parser_t parser;
	yaml_event_t ev;                /* the current event, when have_ev */
	bool have_ev;
	const char *name;               /* file name for messages */
	const uint8_t *buf;
	size_t len;
	char *err;                      /* CONF_ERR_MAX bytes; the first error wins */
	struct conf_rec *recs;
	size_t n_recs, cap_recs;
	struct conf_pos root;           /* start of the top-level map */
	char path[CONF_PATH_MAX];       /* key path of the current map, for messages */
};

/* A whole file: the root map, the struct size and the cross-field checks. */
struct conf_schema {
	const struct conf_map *root;
	size_t size;
	int (*validate)(struct conf_ctx *x, void *base);
};

/* yaml.c: the parse driver, events, positions and messages. */
int conf_parse(const struct conf_schema *s, const char *name,
    const uint8_t *buf, size_t len, void *base, char *err);
int conf_load(const struct conf_schema *s, const char *path, void *base,
    char *err);
/* Next event into x->ev; rejects aliases, anchors and unknown tags. */
int conf_next(struct conf_ctx *x);
/* Write "NAME:LINE:COL: message" (pos NULL: the root map); returns ERR_CONFIG. */
int conf_errf(struct conf_ctx *x, const struct conf_pos *pos,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same at a libyaml mark. */
int conf_errm(struct conf_ctx *x, const yaml_mark_t *m,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "NAME: out of memory"; returns ERR_NOMEM. */
int conf_nomem(struct conf_ctx *x);
/* A plain untagged scalar that YAML reads as null: "", "~", "null", "Null", "NULL". */
bool conf_is_null(const yaml_event_t *ev);
/* A scalar written as a string: quoted, block, or tagged !!str or "!". */
bool conf_is_string(const yaml_event_t *ev);
/* What an event is, for "got ..." in messages: "a map", "'fast'", "\"42\"". */
void conf_describe(const yaml_event_t *ev, char *dst, size_t dstlen);

int conf_record(struct conf_ctx *x, const void *addr, const char *name,
    enum conf_mark_kind kind, const yaml_mark_t *m);
/* Position of the value stored at field, or NULL when it came from a default. */
const struct conf_pos *conf_pos_value(const struct conf_ctx *x, const void *field);
/* Position of list entry *entry (&list->v[i]). */
const struct conf_pos *conf_pos_elem(const struct conf_ctx *x, const void *entry);
/* Start of the map named name whose fields live at base (name NULL: a list entry or the root). */
const struct conf_pos *conf_pos_map(const struct conf_ctx *x, const void *base,
    const char *name);
/* The first non-NULL of a and b, or the root map. */
const struct conf_pos *conf_pos_or(const struct conf_ctx *x,
    const struct conf_pos *a, const struct conf_pos *b);

/* A value made safe to quote in a message: at most CONF_SHOW_MAX bytes, controls as '?'. */
void conf_show(char *dst, size_t dstlen, const char *s, size_t len);
/* The candidate nearest to word (Damerau distance <= 2 or a prefix), or NULL. */
const char *conf_suggest(const char *word, size_t len,
    const char *const *cands, size_t n);

/* schema.c: defaults, maps, lists, release. */
int conf_defaults(const struct conf_map *m, void *base);
int conf_parse_map(struct conf_ctx *x, const struct conf_map *m, void *base);
void conf_free_map(const struct conf_map *m, void *base);
void conf_shrink_map(const struct conf_map *m, void *base);
bool conf_strlist_has(const struct conf_strlist *l, const char *s);

/* check.c: shared value checks and name sets. */
extern const struct conf_name conf_log_levels[];
extern const struct conf_name conf_flow_controls[];
const char *conf_check_baud(uint32_t v);
const char *conf_check_abspath(const char *s);
const char *conf_check_id(const char *s);
const char *conf_check_hex_id(const char *s);
const char *conf_check_token_label(const char *s);
const char *conf_check_env_name(const char *s);
const char *conf_check_uri(const char *s);
const char *conf_check_http_uri(const char *s);
const char *conf_check_oid(const char *s);
const char *conf_check_hostport(const char *s);
const char *conf_check_fingerprint(const char *s);

#endif /* CONFIG_SCHEMA_H */
