/* SPDX-License-Identifier: GPL-3.0-or-later */
/* config: walks a key table to fill defaults, parse maps and lists into structs, and free them. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema.h"
#include "proto/proto.h"

#define CONF_GOT_MAX (CONF_SHOW_MAX * 2 + 8)    /* "got ..." text */
#define CONF_NAMELIST_MAX 400                   /* "one of a, b, c" text */

static void *
field_at(void *base, size_t off)
{
	return (char *)base + off;
}

/* The array behind a MAPLIST key (NULL until the first entry). */
static void *
maplist_array(const struct conf_key *k, void *base)
{
	void *arr;

	if (k->inline_array)
		return field_at(base, k->off);
	memcpy(&arr, field_at(base, k->off), sizeof(arr));
	return arr;
}

static void
strlist_clear(struct conf_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i]);
		l->v[i] = NULL;
	}
	l->n = 0;
}

bool
conf_strlist_has(const struct conf_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

static int
default_key(const struct conf_key *k, void *base)
{
	void *f = field_at(base, k->off);
	struct conf_strlist *l = f;
	size_t i;

	switch (k->type) {
	case CONF_T_STR:
	case CONF_T_PATH:
	case CONF_T_ENUM:
		if (k->def_str != NULL &&
		    (*(char **)f = strdup(k->def_str)) == NULL)
			return ERR_NOMEM;
		return 0;
	case CONF_T_UINT:
		*(uint32_t *)f = k->def;
		return 0;
	case CONF_T_OPTUINT:
		*(int32_t *)f = -1;
		return 0;
	case CONF_T_BOOL:
	case CONF_T_FLAG:
		*(bool *)f = k->def != 0;
		return 0;
	case CONF_T_STRLIST:
		for (i = 0; k->def_list != NULL && k->def_list[i] != NULL &&
		    i < CONF_LIST_MAX; i++) {
			if ((l->v[i] = strdup(k->def_list[i])) == NULL)
				return ERR_NOMEM;
			l->n = i + 1;
		}
		return 0;
	case CONF_T_MAP:
		return conf_defaults(k->map, f);
	case CONF_T_MAPLIST:
		return 0;
	}
	return 0;
}

int
conf_defaults(const struct conf_map *m, void *base)
{
	size_t i;
	int rc;

	for (i = 0; i < m->n; i++)
		if ((rc = default_key(&m->keys[i], base)) != 0)
			return rc;
	return 0;
}

void
conf_free_map(const struct conf_map *m, void *base)
{
	const struct conf_key *k;
	void *f, *arr;
	size_t i, j, n;

	for (i = 0; i < m->n; i++) {
		k = &m->keys[i];
		f = field_at(base, k->off);
		switch (k->type) {
		case CONF_T_STR:
		case CONF_T_PATH:
		case CONF_T_ENUM:
			free(*(char **)f);
			*(char **)f = NULL;
			break;
		case CONF_T_STRLIST:
			strlist_clear(f);
			break;
		case CONF_T_MAP:
			conf_free_map(k->map, f);
			break;
		case CONF_T_MAPLIST:
			arr = maplist_array(k, base);
			memcpy(&n, field_at(base, k->count_off), sizeof(n));
			for (j = 0; arr != NULL && j < n; j++)
				conf_free_map(k->map, (char *)arr + j * k->elem_size);
			if (!k->inline_array) {
				free(arr);
				memset(f, 0, sizeof(arr));
			}
			memset(field_at(base, k->count_off), 0, sizeof(n));
			break;
		default:
			break;
		}
	}
}

void
conf_shrink_map(const struct conf_map *m, void *base)
{
	const struct conf_key *k;
	void *arr, *p;
	size_t i, j, n;

	for (i = 0; i < m->n; i++) {
		k = &m->keys[i];
		if (k->type == CONF_T_MAP)
			conf_shrink_map(k->map, field_at(base, k->off));
		if (k->type != CONF_T_MAPLIST)
			continue;
		arr = maplist_array(k, base);
		memcpy(&n, field_at(base, k->count_off), sizeof(n));
		for (j = 0; arr != NULL && j < n; j++)
			conf_shrink_map(k->map, (char *)arr + j * k->elem_size);
		if (k->inline_array || arr == NULL || n == 0)
			continue;
		/* entries were allocated at the maximum so that recorded positions stayed valid */
		if ((p = realloc(arr, n * k->elem_size)) != NULL)
			memcpy(field_at(base, k->off), &p, sizeof(p));
	}
}

static void
names_join(const struct conf_name *names, char *dst, size_t dstlen)
{
	size_t i, n = 0;
	int w;

	dst[0] = '\0';
	for (i = 0; names[i].name != NULL && n < dstlen; i++) {
		w = snprintf(dst + n, dstlen - n, "%s%s", i ? ", " : "",
		    names[i].name);
		if (w < 0)
			return;
		n += (size_t)w;
	}
}

static const char *
names_suggest(const struct conf_name *names, const char *s, size_t len)
{
	const char *cands[CONF_NAMES_MAX];
	size_t n;

	for (n = 0; names[n].name != NULL && n < CONF_NAMES_MAX; n++)
		cands[n] = names[n].name;
	return conf_suggest(s, len, cands, n);
}

/* The stored form of s when it is one of names, else NULL. */
static const char *
names_find(const struct conf_name *names, const char *s)
{
	size_t i;

	for (i = 0; names[i].name != NULL; i++)
		if (strcmp(names[i].name, s) == 0)
			return names[i].canon ? names[i].canon : names[i].name;
	return NULL;
}

/* "'key' must be one of a, b, got 'x' (did you mean 'y'?)" */
static int
names_error(struct conf_ctx *x, const char *what, const struct conf_name *names,
    const char *s, size_t len)
{
	char list[CONF_NAMELIST_MAX], got[CONF_GOT_MAX];
	const char *hint = names_suggest(names, s, len);

	names_join(names, list, sizeof(list));
	conf_describe(&x->ev, got, sizeof(got));
	if (hint != NULL)
		return conf_errm(x, &x->ev.start_mark,
		    "%s must be one of %s, got %s (did you mean '%s'?)", what,
		    list, got, hint);
	return conf_errm(x, &x->ev.start_mark, "%s must be one of %s, got %s",
	    what, list, got);
}

static int
type_error(struct conf_ctx *x, const char *what, const char *expect)
{
	char got[CONF_GOT_MAX];

	conf_describe(&x->ev, got, sizeof(got));
	return conf_errm(x, &x->ev.start_mark, "%s %s, got %s", what, expect,
	    got);
}

/*
 * The text of the current event as a string value of key: a non-empty
 * scalar of at most CONF_STR_MAX bytes without control characters (which
 * escapes such as "\0" or "\n" could bring in).
 */
static int
scalar_text(struct conf_ctx *x, const char *what, const char **out)
{
	const yaml_event_t *ev = &x->ev;
	size_t i, len;
	const unsigned char *v;

	*out = NULL;
	if (ev->type != YAML_SCALAR_EVENT)
		return type_error(x, what, "must be a string");
	v = ev->data.scalar.value;
	len = ev->data.scalar.length;
	if (len == 0)
		return conf_errm(x, &ev->start_mark, "%s must not be empty",
		    what);
	if (len > CONF_STR_MAX)
		return conf_errm(x, &ev->start_mark,
		    "%s is longer than %d bytes", what, CONF_STR_MAX);
	for (i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] == 0x7f)
			return conf_errm(x, &ev->start_mark,
			    "%s contains a control character", what);
	*out = (const char *)v;
	return 0;
}

static int
set_str(struct conf_ctx *x, const struct conf_key *k, char *what, void *f)
{
	const char *s, *why = NULL;
	char got[CONF_GOT_MAX], *v;
	int rc;

	if ((rc = scalar_text(x, what, &s)) != 0)
		return rc;
	if (k->type == CONF_T_PATH)
		why = conf_check_abspath(s);
	if (why == NULL && k->scheck != NULL)
		why = k->scheck(s);
	if (why != NULL) {
		conf_describe(&x->ev, got, sizeof(got));
		return conf_errm(x, &x->ev.start_mark, "%s %s, got %s", what,
		    why, got);
	}
	if ((v = strdup(s)) == NULL)
		return conf_nomem(x);
	free(*(char **)f);
	*(char **)f = v;
	return conf_record(x, f, NULL, CONF_MK_VALUE, &x->ev.start_mark);
}

/* Decimal digits only; saturates past UINT32_MAX so that the range check speaks. */
static int
parse_decimal(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v <= UINT32_MAX)
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
set_uint(struct conf_ctx *x, const struct conf_key *k, char *what, void *f)
{
	const yaml_event_t *ev = &x->ev;
	const char *s = (const char *)ev->data.scalar.value, *why;
	const char *tag = (const char *)ev->data.scalar.tag;
	char shown[CONF_SHOW_MAX * 2];
	uint64_t v;

	if (ev->type != YAML_SCALAR_EVENT || conf_is_string(ev) ||
	    (tag != NULL && strcmp(tag, YAML_INT_TAG) != 0) ||
	    parse_decimal(s, ev->data.scalar.length, &v) != 0)
		return type_error(x, what, "must be an unsigned integer");
	conf_show(shown, sizeof(shown), s, ev->data.scalar.length);
	if (s[0] == '0' && ev->data.scalar.length > 1)
		return conf_errm(x, &ev->start_mark,
		    "%s must not have leading zeros, got '%s'", what, shown);
	if (k->ucheck != NULL &&
	    (why = k->ucheck(v > UINT32_MAX ? UINT32_MAX : (uint32_t)v)) != NULL)
		return conf_errm(x, &ev->start_mark, "%s %s, got %s", what, why,
		    shown);
	if (v < k->min || v > k->max)
		return conf_errm(x, &ev->start_mark, "%s must be %u..%u, got %s",
		    what, k->min, k->max, shown);
	if (k->type == CONF_T_OPTUINT)
		*(int32_t *)f = (int32_t)v;
	else
		*(uint32_t *)f = (uint32_t)v;
	return conf_record(x, f, NULL, CONF_MK_VALUE, &ev->start_mark);
}

static int
set_bool(struct conf_ctx *x, char *what, void *f)
{
	const yaml_event_t *ev = &x->ev;
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *s = (const char *)ev->data.scalar.value;

	if (ev->type != YAML_SCALAR_EVENT || conf_is_string(ev) ||
	    (tag != NULL && strcmp(tag, YAML_BOOL_TAG) != 0))
		return type_error(x, what, "must be true or false");
	if (strcmp(s, "true") == 0 && ev->data.scalar.length == 4)
		*(bool *)f = true;
	else if (strcmp(s, "false") == 0 && ev->data.scalar.length == 5)
		*(bool *)f = false;
	else
		return type_error(x, what, "must be true or false");
	return conf_record(x, f, NULL, CONF_MK_VALUE, &ev->start_mark);
}

static int
set_enum(struct conf_ctx *x, const struct conf_key *k, char *what, void *f)
{
	const char *s, *canon;
	char *v;
	int rc;

	if ((rc = scalar_text(x, what, &s)) != 0)
		return rc;
	if ((canon = names_find(k->names, s)) == NULL)
		return names_error(x, what, k->names, s, strlen(s));
	if (k->type == CONF_T_FLAG)
		*(bool *)f = canon == k->names[1].name;
	else {
		if ((v = strdup(canon)) == NULL)
			return conf_nomem(x);
		free(*(char **)f);
		*(char **)f = v;
	}
	return conf_record(x, f, NULL, CONF_MK_VALUE, &x->ev.start_mark);
}

/* Append "name" or "[i]" to the key path; returns the length to restore. */
static size_t
path_push(struct conf_ctx *x, const char *name, size_t idx)
{
	size_t old = strlen(x->path);

	if (name != NULL)
		snprintf(x->path + old, sizeof(x->path) - old, "%s%s",
		    old ? "." : "", name);
	else
		snprintf(x->path + old, sizeof(x->path) - old, "[%zu]", idx);
	return old;
}

static int
parse_submap(struct conf_ctx *x, const struct conf_key *k, char *what, void *f)
{
	size_t old;
	int rc;

	if (x->ev.type != YAML_MAPPING_START_EVENT)
		return type_error(x, what, "must be a map");
	if ((rc = conf_record(x, f, k->name, CONF_MK_MAP,
	    &x->ev.start_mark)) != 0)
		return rc;
	old = path_push(x, k->name, 0);
	rc = conf_parse_map(x, k->map, f);
	x->path[old] = '\0';
	return rc;
}

static int
strlist_entry(struct conf_ctx *x, const struct conf_key *k, char *what,
    struct conf_strlist *l)
{
	const char *s, *why = NULL;
	char shown[CONF_SHOW_MAX * 2], got[CONF_GOT_MAX];
	char entries[CONF_PATH_MAX + 16];
	int rc;

	snprintf(entries, sizeof(entries), "%s entries", what);
	if (conf_is_null(&x->ev))
		return conf_errm(x, &x->ev.start_mark, "%s has an empty entry",
		    what);
	if (x->ev.type != YAML_SCALAR_EVENT)
		return type_error(x, entries, "must be strings");
	if ((rc = scalar_text(x, entries, &s)) != 0)
		return rc;
	if (k->names != NULL && (s = names_find(k->names, s)) == NULL)
		return names_error(x, entries, k->names,
		    (const char *)x->ev.data.scalar.value,
		    x->ev.data.scalar.length);
	if (k->scheck != NULL && (why = k->scheck(s)) != NULL) {
		conf_describe(&x->ev, got, sizeof(got));
		return conf_errm(x, &x->ev.start_mark, "%s %s, got %s", entries,
		    why, got);
	}
	if (conf_strlist_has(l, s)) {
		conf_show(shown, sizeof(shown), s, strlen(s));
		return conf_errm(x, &x->ev.start_mark,
		    "duplicate entry '%s' in %s", shown, what);
	}
	if ((l->v[l->n] = strdup(s)) == NULL)
		return conf_nomem(x);
	l->n++;
	return conf_record(x, &l->v[l->n - 1], NULL, CONF_MK_ELEM,
	    &x->ev.start_mark);
}

static int
parse_strlist(struct conf_ctx *x, const struct conf_key *k, char *what, void *f)
{
	struct conf_strlist *l = f;
	uint32_t max = k->max && k->max < CONF_LIST_MAX ? k->max : CONF_LIST_MAX;
	yaml_mark_t start = x->ev.start_mark;
	int rc;

	if (x->ev.type != YAML_SEQUENCE_START_EVENT)
		return type_error(x, what, "must be a list");
	if ((rc = conf_record(x, f, NULL, CONF_MK_VALUE, &start)) != 0)
		return rc;
	strlist_clear(l);  /* the file replaces the default list */
	for (;;) {
		if ((rc = conf_next(x)) != 0)
			return rc;
		if (x->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (l->n >= max)
			return conf_errm(x, &x->ev.start_mark,
			    "%s has more than %u entries", what, max);
		if ((rc = strlist_entry(x, k, what, l)) != 0)
			return rc;
	}
	if (l->n < k->min)
		return conf_errm(x, &start, "%s must have at least %u %s",
		    what, k->min, k->min == 1 ? "entry" : "entries");
	return 0;
}

/* A new zeroed entry with its defaults, already counted so that it is freed on error. */
static int
maplist_add(struct conf_ctx *x, const struct conf_key *k, void *base,
    void **out)
{
	void *arr = maplist_array(k, base), *e;
	size_t n;

	*out = NULL;
	if (arr == NULL) {
		if ((arr = calloc(k->max, k->elem_size)) == NULL)
			return conf_nomem(x);
		memcpy(field_at(base, k->off), &arr, sizeof(arr));
	}
	memcpy(&n, field_at(base, k->count_off), sizeof(n));
	e = (char *)arr + n * k->elem_size;
	n++;
	memcpy(field_at(base, k->count_off), &n, sizeof(n));
	if (conf_defaults(k->map, e) != 0)
		return conf_nomem(x);
	*out = e;
	return 0;
}

static int
maplist_entry(struct conf_ctx *x, const struct conf_key *k, char *what,
    void *base, size_t idx)
{
	char entries[CONF_PATH_MAX + 16];
	void *e;
	size_t old;
	int rc;

	snprintf(entries, sizeof(entries), "%s entries", what);
	if (x->ev.type != YAML_MAPPING_START_EVENT)
		return type_error(x, entries, "must be maps");
	if ((rc = maplist_add(x, k, base, &e)) != 0 ||
	    (rc = conf_record(x, e, NULL, CONF_MK_MAP, &x->ev.start_mark)) != 0)
		return rc;
	old = path_push(x, k->name, 0);
	path_push(x, NULL, idx);
	rc = conf_parse_map(x, k->map, e);
	x->path[old] = '\0';
	return rc;
}

static int
parse_maplist(struct conf_ctx *x, const struct conf_key *k, char *what,
    void *base)
{
	yaml_mark_t start = x->ev.start_mark;
	size_t n = 0;
	int rc;

	if (x->ev.type != YAML_SEQUENCE_START_EVENT)
		return type_error(x, what, "must be a list of maps");
	if ((rc = conf_record(x, field_at(base, k->off), NULL, CONF_MK_VALUE,
	    &start)) != 0)
		return rc;
	for (;;) {
		if ((rc = conf_next(x)) != 0)
			return rc;
		if (x->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (n >= k->max)
			return conf_errm(x, &x->ev.start_mark,
			    "%s has more than %u entries", what, k->max);
		if ((rc = maplist_entry(x, k, what, base, n)) != 0)
			return rc;
		n++;
	}
	if (n < k->min)
		return conf_errm(x, &start, "%s must have at least %u %s",
		    what, k->min, k->min == 1 ? "entry" : "entries");
	return 0;
}

static int
parse_value(struct conf_ctx *x, const struct conf_key *k, void *base)
{
	char what[CONF_PATH_MAX];
	void *f = field_at(base, k->off);
	int rc;

	if ((rc = conf_next(x)) != 0)
		return rc;
	snprintf(what, sizeof(what), "'%s'", k->name);
	if (conf_is_null(&x->ev))
		return conf_errm(x, &x->ev.start_mark, "%s has no value", what);
	switch (k->type) {
	case CONF_T_STR:
	case CONF_T_PATH:
		return set_str(x, k, what, f);
	case CONF_T_UINT:
	case CONF_T_OPTUINT:
		return set_uint(x, k, what, f);
	case CONF_T_BOOL:
		return set_bool(x, what, f);
	case CONF_T_ENUM:
	case CONF_T_FLAG:
		return set_enum(x, k, what, f);
	case CONF_T_MAP:
		return parse_submap(x, k, what, f);
	case CONF_T_STRLIST:
		return parse_strlist(x, k, what, f);
	case CONF_T_MAPLIST:
		return parse_maplist(x, k, what, base);
	}
	return conf_errm(x, &x->ev.start_mark, "%s has an unknown type", what);
}

/* Index of the key that the current scalar event names. */
static int
map_key(struct conf_ctx *x, const struct conf_map *m, size_t *idx)
{
	const yaml_event_t *ev = &x->ev;
	const char *cands[CONF_MAP_KEYS_MAX], *s, *hint;
	char shown[CONF_SHOW_MAX * 2];
	size_t i, len;

	if (ev->type != YAML_SCALAR_EVENT)
		return type_error(x, "keys", "must be strings");
	s = (const char *)ev->data.scalar.value;
	len = ev->data.scalar.length;
	for (i = 0; i < m->n; i++) {
		cands[i] = m->keys[i].name;
		if (strlen(cands[i]) == len && memcmp(cands[i], s, len) == 0) {
			*idx = i;
			return 0;
		}
	}
	conf_show(shown, sizeof(shown), s, len);
	if ((hint = conf_suggest(s, len, cands, m->n)) != NULL)
		return conf_errm(x, &ev->start_mark,
		    "unknown key '%s' (did you mean '%s'?)", shown, hint);
	return conf_errm(x, &ev->start_mark, "unknown key '%s'", shown);
}

static int
check_required(struct conf_ctx *x, const struct conf_map *m, const bool *have,
    const yaml_mark_t *start)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (!m->keys[i].required || have[i])
			continue;
		if (x->path[0] == '\0')
			return conf_errm(x, start, "missing required key '%s'",
			    m->keys[i].name);
		return conf_errm(x, start, "missing required key '%s' in '%s'",
		    m->keys[i].name, x->path);
	}
	return 0;
}

int
conf_parse_map(struct conf_ctx *x, const struct conf_map *m, void *base)
{
	struct conf_pos first[CONF_MAP_KEYS_MAX];
	bool have[CONF_MAP_KEYS_MAX] = { false };
	yaml_mark_t start = x->ev.start_mark;
	size_t i = 0;
	int rc;

	if (m->n > CONF_MAP_KEYS_MAX)
		return conf_errm(x, &start, "internal: schema map too large");
	for (;;) {
		if ((rc = conf_next(x)) != 0)
			return rc;
		if (x->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if ((rc = map_key(x, m, &i)) != 0)
			return rc;
		if (have[i])
			return conf_errm(x, &x->ev.start_mark,
			    "duplicate key '%s' (first at %zu:%zu)",
			    m->keys[i].name, first[i].line + 1, first[i].col + 1);
		have[i] = true;
		first[i].line = x->ev.start_mark.line;
		first[i].col = x->ev.start_mark.column;
		if ((rc = parse_value(x, &m->keys[i], base)) != 0)
			return rc;
	}
	return check_required(x, m, have, &start);
}
