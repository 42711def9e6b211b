/* SPDX-License-Identifier: GPL-3.0-or-later */
/* config: the libyaml event reader, document structure, positions and error messages. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/schema.h"
#include "proto/proto.h"

#define CONF_RECS_INITIAL 64    /* first allocation of the position table */
#define CONF_SUGGEST_LEN 64     /* longest word compared by edit distance */

static void __attribute__((format(printf, 3, 0)))
conf_verr(struct conf_ctx *x, const struct conf_pos *pos, const char *fmt,
    va_list ap)
{
	int n;

	if (x->err[0] != '\0')
		return; /* the first error is the one that explains */
	if (pos != NULL)
		n = snprintf(x->err, CONF_ERR_MAX, "%s:%zu:%zu: ", x->name,
		    pos->line + 1, pos->col + 1);
	else
		n = snprintf(x->err, CONF_ERR_MAX, "%s: ", x->name);
	if (n < 0 || n >= CONF_ERR_MAX)
		return;
	vsnprintf(x->err + n, CONF_ERR_MAX - (size_t)n, fmt, ap);
}

int
conf_errf(struct conf_ctx *x, const struct conf_pos *pos, const char *fmt, ...)
{
	va_list ap;

	if (pos == NULL)
		pos = &x->root;
	va_start(ap, fmt);
	conf_verr(x, pos, fmt, ap);
	va_end(ap);
	return ERR_CONFIG;
}

int
conf_errm(struct conf_ctx *x, const yaml_mark_t *m, const char *fmt, ...)
{
	struct conf_pos pos = { m->line, m->column };
	va_list ap;

	va_start(ap, fmt);
	conf_verr(x, &pos, fmt, ap);
	va_end(ap);
	return ERR_CONFIG;
}

/* An error about the whole file, without a position. */
static int __attribute__((format(printf, 3, 4)))
conf_file_err(struct conf_ctx *x, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_verr(x, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int
conf_nomem(struct conf_ctx *x)
{
	return conf_file_err(x, ERR_NOMEM, "out of memory");
}

void
conf_show(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t i, n = 0;
	bool cut = false;

	if (dstlen == 0)
		return;
	if (len > CONF_SHOW_MAX) {
		len = CONF_SHOW_MAX;
		/* back up to the start of a UTF-8 character */
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
		cut = true;
	}
	for (i = 0; i < len && n + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	dst[n] = '\0';
	if (cut && dstlen - n > 3)
		memcpy(dst + n, "...", 4);
}

bool
conf_is_null(const yaml_event_t *ev)
{
	const char *v;
	size_t len;

	if (ev->type != YAML_SCALAR_EVENT ||
	    ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    ev->data.scalar.tag != NULL)
		return false;
	v = (const char *)ev->data.scalar.value;
	len = ev->data.scalar.length;
	return len == 0 || (len == 1 && v[0] == '~') ||
	    (len == 4 && (memcmp(v, "null", 4) == 0 ||
	    memcmp(v, "Null", 4) == 0 || memcmp(v, "NULL", 4) == 0));
}

bool
conf_is_string(const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;

	if (ev->type != YAML_SCALAR_EVENT)
		return false;
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return true;
	return tag != NULL && (strcmp(tag, "!") == 0 ||
	    strcmp(tag, YAML_STR_TAG) == 0);
}

void
conf_describe(const yaml_event_t *ev, char *dst, size_t dstlen)
{
	char shown[CONF_SHOW_MAX * 2];

	switch (ev->type) {
	case YAML_MAPPING_START_EVENT:
		snprintf(dst, dstlen, "a map");
		return;
	case YAML_SEQUENCE_START_EVENT:
		snprintf(dst, dstlen, "a list");
		return;
	case YAML_SCALAR_EVENT:
		break;
	default:
		snprintf(dst, dstlen, "nothing");
		return;
	}
	if (conf_is_null(ev)) {
		snprintf(dst, dstlen, "an empty value");
		return;
	}
	conf_show(shown, sizeof(shown), (const char *)ev->data.scalar.value,
	    ev->data.scalar.length);
	/* double quotes tell the reader that YAML saw a string */
	if (conf_is_string(ev))
		snprintf(dst, dstlen, "\"%s\"", shown);
	else
		snprintf(dst, dstlen, "'%s'", shown);
}

/*
 * Length of the UTF-8 character at p (at most n bytes), or 0 when it is
 * not well-formed: overlong forms, surrogates and values past U+10FFFF.
 */
static size_t
utf8_len(const uint8_t *p, size_t n)
{
	size_t len, i;
	uint8_t lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* Whether the character at p (clen bytes) ends a line, as libyaml counts. */
static bool
is_break(const uint8_t *p, size_t clen, size_t left)
{
	if (clen == 1)
		return p[0] == '\n' || (p[0] == '\r' && (left < 2 || p[1] != '\n'));
	if (clen == 2)
		return p[0] == 0xc2 && p[1] == 0x85;    /* NEL */
	return clen == 3 && p[0] == 0xe2 && p[1] == 0x80 &&
	    (p[2] == 0xa8 || p[2] == 0xa9);         /* LS, PS */
}

/*
 * Walk the buffer up to stop, counting lines and characters as libyaml
 * does. Returns 0, or ERR_CONFIG at the first byte that is not UTF-8 or is
 * a control character other than tab and line breaks.
 */
static int
conf_scan(struct conf_ctx *x, size_t stop, struct conf_pos *pos)
{
	const uint8_t *b = x->buf;
	size_t i = 0, clen;

	pos->line = pos->col = 0;
	while (i < stop) {
		if ((clen = utf8_len(b + i, x->len - i)) == 0)
			return conf_errf(x, pos, "invalid UTF-8 (byte 0x%02x)",
			    b[i]);
		if (clen == 1 && ((b[i] < 0x20 && b[i] != '\t' &&
		    b[i] != '\n' && b[i] != '\r') || b[i] == 0x7f))
			return conf_errf(x, pos,
			    "control character 0x%02x is not allowed", b[i]);
		if (is_break(b + i, clen, x->len - i)) {
			pos->line++;
			pos->col = 0;
		} else if (b[i] != '\r')
			pos->col++;
		i += clen;
	}
	return 0;
}

static int
conf_parser_error(struct conf_ctx *x)
{
	yaml_parser_t *p = &x->parser;
	struct conf_pos pos;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return conf_nomem(x);
	case YAML_READER_ERROR:
		/* reader errors carry a byte offset, not a mark */
		if (conf_scan(x, p->problem_offset < x->len ?
		    p->problem_offset : x->len, &pos) != 0)
			return ERR_CONFIG;
		return conf_errf(x, &pos, "%s", p->problem ? p->problem :
		    "unreadable input");
	default:
		break;
	}
	if (p->context != NULL)
		return conf_errm(x, &p->problem_mark, "%s (%s at %zu:%zu)",
		    p->problem ? p->problem : "syntax error", p->context,
		    p->context_mark.line + 1, p->context_mark.column + 1);
	return conf_errm(x, &p->problem_mark, "%s",
	    p->problem ? p->problem : "syntax error");
}

static bool
tag_allowed(yaml_event_type_t type, const char *tag)
{
	if (tag == NULL || strcmp(tag, "!") == 0)
		return true;
	switch (type) {
	case YAML_SCALAR_EVENT:
		return strcmp(tag, YAML_STR_TAG) == 0 ||
		    strcmp(tag, YAML_INT_TAG) == 0 ||
		    strcmp(tag, YAML_BOOL_TAG) == 0;
	case YAML_SEQUENCE_START_EVENT:
		return strcmp(tag, YAML_SEQ_TAG) == 0;
	case YAML_MAPPING_START_EVENT:
		return strcmp(tag, YAML_MAP_TAG) == 0;
	default:
		return false;
	}
}

/* Refuse what would let a file grow or mean something beyond plain data. */
static int
conf_check_event(struct conf_ctx *x)
{
	const yaml_event_t *ev = &x->ev;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	char shown[CONF_SHOW_MAX * 2];

	if (ev->type == YAML_ALIAS_EVENT) {
		conf_show(shown, sizeof(shown), (const char *)ev->data.alias.anchor,
		    strlen((const char *)ev->data.alias.anchor));
		return conf_errm(x, &ev->start_mark,
		    "alias '*%s' is not allowed", shown);
	}
	if (ev->type == YAML_SCALAR_EVENT) {
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
	} else if (ev->type == YAML_SEQUENCE_START_EVENT) {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	} else if (ev->type == YAML_MAPPING_START_EVENT) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	}
	if (anchor != NULL) {
		conf_show(shown, sizeof(shown), (const char *)anchor,
		    strlen((const char *)anchor));
		return conf_errm(x, &ev->start_mark,
		    "anchor '&%s' is not allowed", shown);
	}
	if (!tag_allowed(ev->type, (const char *)tag)) {
		conf_show(shown, sizeof(shown), (const char *)tag,
		    strlen((const char *)tag));
		return conf_errm(x, &ev->start_mark, "tag '%s' is not allowed",
		    shown);
	}
	return 0;
}

int
conf_next(struct conf_ctx *x)
{
	if (x->have_ev) {
		yaml_event_delete(&x->ev);
		x->have_ev = false;
	}
	if (!yaml_parser_parse(&x->parser, &x->ev))
		return conf_parser_error(x);
	x->have_ev = true;
	return conf_check_event(x);
}

int
conf_record(struct conf_ctx *x, const void *addr, const char *name,
    enum conf_mark_kind kind, const yaml_mark_t *m)
{
	struct conf_rec *r;
	size_t cap;

	if (x->n_recs == x->cap_recs) {
		cap = x->cap_recs ? x->cap_recs * 2 : CONF_RECS_INITIAL;
		if ((r = reallocarray(x->recs, cap, sizeof(*r))) == NULL)
			return conf_nomem(x);
		x->recs = r;
		x->cap_recs = cap;
	}
	r = &x->recs[x->n_recs++];
	r->addr = addr;
	r->name = name;
	r->kind = kind;
	r->pos.line = m->line;
	r->pos.col = m->column;
	return 0;
}

static const struct conf_pos *
conf_pos_find(const struct conf_ctx *x, const void *addr, const char *name,
    enum conf_mark_kind kind)
{
	size_t i;

	for (i = x->n_recs; i-- > 0;) {
		const struct conf_rec *r = &x->recs[i];
		if (r->addr != addr || r->kind != kind)
			continue;
		if ((r->name == NULL) != (name == NULL))
			continue;
		if (name == NULL || strcmp(r->name, name) == 0)
			return &r->pos;
	}
	return NULL;
}

const struct conf_pos *
conf_pos_value(const struct conf_ctx *x, const void *field)
{
	return conf_pos_find(x, field, NULL, CONF_MK_VALUE);
}

const struct conf_pos *
conf_pos_elem(const struct conf_ctx *x, const void *entry)
{
	return conf_pos_find(x, entry, NULL, CONF_MK_ELEM);
}

const struct conf_pos *
conf_pos_map(const struct conf_ctx *x, const void *base, const char *name)
{
	return conf_pos_find(x, base, name, CONF_MK_MAP);
}

const struct conf_pos *
conf_pos_or(const struct conf_ctx *x, const struct conf_pos *a,
    const struct conf_pos *b)
{
	if (a != NULL)
		return a;
	return b != NULL ? b : &x->root;
}

static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Optimal string alignment distance (Damerau-Levenshtein, no substring edited twice), ignoring case. */
static size_t
conf_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t rows[3][CONF_SUGGEST_LEN + 1];
	size_t *pp, *p, *c, *t, i, j, cost, v;

	for (j = 0; j <= lb; j++)
		rows[1][j] = j;
	pp = rows[0];
	p = rows[1];
	c = rows[2];
	for (i = 1; i <= la; i++) {
		c[0] = i;
		for (j = 1; j <= lb; j++) {
			cost = lower((unsigned char)a[i - 1]) !=
			    lower((unsigned char)b[j - 1]);
			v = p[j - 1] + cost;
			if (p[j] + 1 < v)
				v = p[j] + 1;
			if (c[j - 1] + 1 < v)
				v = c[j - 1] + 1;
			if (i > 1 && j > 1 &&
			    lower((unsigned char)a[i - 1]) ==
			    lower((unsigned char)b[j - 2]) &&
			    lower((unsigned char)a[i - 2]) ==
			    lower((unsigned char)b[j - 1]) && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			c[j] = v;
		}
		t = pp;
		pp = p;
		p = c;
		c = t;
	}
	return p[lb];
}

const char *
conf_suggest(const char *word, size_t len, const char *const *cands, size_t n)
{
	const char *best = NULL, *prefix = NULL;
	size_t i, d, bestd = 3, cl, common;

	for (i = 0; i < n; i++) {
		cl = strlen(cands[i]);
		if (len <= CONF_SUGGEST_LEN && cl <= CONF_SUGGEST_LEN) {
			d = conf_distance(word, len, cands[i], cl);
			/* changing half of a word is no resemblance */
			if (d < bestd && d * 2 <= len && d < cl) {
				best = cands[i];
				bestd = d;
			}
		}
		common = len < cl ? len : cl;
		if (prefix == NULL && common >= 3 &&
		    memcmp(word, cands[i], common) == 0)
			prefix = cands[i];
	}
	return best != NULL ? best : prefix;
}

/* STREAM-START DOCUMENT-START <map> DOCUMENT-END STREAM-END, nothing more. */
static int
conf_document(struct conf_ctx *x, const struct conf_map *root, void *base)
{
	int rc;

	if ((rc = conf_next(x)) != 0 || (rc = conf_next(x)) != 0)
		return rc;
	if (x->ev.type == YAML_STREAM_END_EVENT)
		return conf_errm(x, &x->ev.start_mark, "empty document");
	if ((rc = conf_next(x)) != 0)
		return rc;
	if (conf_is_null(&x->ev))
		return conf_errm(x, &x->ev.start_mark, "empty document");
	if (x->ev.type != YAML_MAPPING_START_EVENT)
		return conf_errm(x, &x->ev.start_mark,
		    "the top level must be a map of keys");
	x->root.line = x->ev.start_mark.line;
	x->root.col = x->ev.start_mark.column;
	if ((rc = conf_record(x, base, NULL, CONF_MK_MAP,
	    &x->ev.start_mark)) != 0 ||
	    (rc = conf_parse_map(x, root, base)) != 0)
		return rc;
	if ((rc = conf_next(x)) != 0 || (rc = conf_next(x)) != 0)
		return rc;
	if (x->ev.type != YAML_STREAM_END_EVENT)
		return conf_errm(x, &x->ev.start_mark,
		    "multiple documents are not allowed");
	return 0;
}

int
conf_parse(const struct conf_schema *s, const char *name, const uint8_t *buf,
    size_t len, void *base, char *err)
{
	struct conf_ctx x;
	char scratch[CONF_ERR_MAX];
	struct conf_pos end;
	bool parser_ready = false;
	int rc;

	memset(&x, 0, sizeof(x));
	x.name = name != NULL ? name : "(configuration)";
	x.buf = buf != NULL ? buf : (const uint8_t *)"";
	x.len = buf != NULL ? len : 0;
	x.err = err != NULL ? err : scratch;
	x.err[0] = '\0';
	memset(base, 0, s->size);
	if ((rc = conf_defaults(s->root, base)) != 0) {
		rc = conf_nomem(&x);
		goto out;
	}
	if (x.len > CONF_FILE_MAX) {
		rc = conf_file_err(&x, ERR_CONFIG,
		    "file is larger than %d bytes", CONF_FILE_MAX);
		goto out;
	}
	/* libyaml counts a BOM as a column when told the encoding; editors do not */
	if (x.len >= 3 && memcmp(x.buf, "\xef\xbb\xbf", 3) == 0) {
		x.buf += 3;
		x.len -= 3;
	}
	if ((rc = conf_scan(&x, x.len, &end)) != 0)
		goto out;
	if (!yaml_parser_initialize(&x.parser)) {
		rc = conf_nomem(&x);
		goto out;
	}
	parser_ready = true;
	yaml_parser_set_encoding(&x.parser, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&x.parser, x.buf, x.len);
	if ((rc = conf_document(&x, s->root, base)) == 0 && s->validate != NULL)
		rc = s->validate(&x, base);
	if (rc == 0)
		conf_shrink_map(s->root, base);
out:
	if (x.have_ev)
		yaml_event_delete(&x.ev);
	if (parser_ready)
		yaml_parser_delete(&x.parser);
	free(x.recs);
	if (rc != 0) {
		conf_free_map(s->root, base);
		memset(base, 0, s->size);
	}
	return rc;
}

static int
conf_read_fd(int fd, const char *path, uint8_t **out, size_t *outlen, char *err)
{
	uint8_t *buf;
	size_t len = 0;
	ssize_t r;

	/* one byte more than accepted tells a file that grew past the limit */
	if ((buf = malloc(CONF_FILE_MAX + 1)) == NULL) {
		snprintf(err, CONF_ERR_MAX, "%s: out of memory", path);
		return ERR_NOMEM;
	}
	while (len < CONF_FILE_MAX + 1) {
		r = read(fd, buf + len, CONF_FILE_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, CONF_ERR_MAX, "%s: cannot read: %s", path,
			    strerror(errno));
			free(buf);
			return ERR_SYSTEM;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > CONF_FILE_MAX) {
		snprintf(err, CONF_ERR_MAX, "%s: file is larger than %d bytes",
		    path, CONF_FILE_MAX);
		free(buf);
		return ERR_CONFIG;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

static int
conf_read_file(const char *path, uint8_t **out, size_t *outlen, char *err)
{
	struct stat st;
	int fd, rc, saved;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, CONF_ERR_MAX, "%s: cannot open: %s", path,
		    strerror(errno));
		return ERR_SYSTEM;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, CONF_ERR_MAX, "%s: cannot stat: %s", path,
		    strerror(errno));
		rc = ERR_SYSTEM;
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(err, CONF_ERR_MAX, "%s: not a regular file", path);
		rc = ERR_CONFIG;
	} else if (st.st_size > CONF_FILE_MAX) {
		snprintf(err, CONF_ERR_MAX, "%s: file is larger than %d bytes",
		    path, CONF_FILE_MAX);
		rc = ERR_CONFIG;
	} else
		rc = conf_read_fd(fd, path, out, outlen, err);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
conf_load(const struct conf_schema *s, const char *path, void *base, char *err)
{
	char scratch[CONF_ERR_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (err == NULL)
		err = scratch;
	err[0] = '\0';
	memset(base, 0, s->size);
	if ((rc = conf_read_file(path, &buf, &len, err)) != 0)
		return rc;
	rc = conf_parse(s, path, buf, len, base, err);
	free(buf);
	return rc;
}
