/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Logging for the programs: stderr in the foreground, syslog as a daemon. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "config/config.h"

static int log_to_stderr = 1;
static int log_level = LOG_LEVEL_INFO;
static const char *log_name = "signer";

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void
log_init(const char *name, int foreground, int level)
{
	log_name = name;
	log_to_stderr = foreground;
	log_level = level;
	if (!foreground)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int
log_level_parse(const char *s)
{
	size_t i;

	if (s == NULL)
		return LOG_LEVEL_INFO;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

static void log_vwrite(int, const char *, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
log_vwrite(int level, const char *errstr, const char *fmt, va_list ap)
{
	static const int prio[] = {
		[LOG_LEVEL_ERROR] = LOG_ERR,
		[LOG_LEVEL_WARNING] = LOG_WARNING,
		[LOG_LEVEL_INFO] = LOG_INFO,
		[LOG_LEVEL_DEBUG] = LOG_DEBUG,
	};
	char msg[2048];

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_to_stderr) {
		char when[32];
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (errstr != NULL)
			fprintf(stderr, "%s %s: %s: %s\n", when, log_name, msg, errstr);
		else
			fprintf(stderr, "%s %s: %s\n", when, log_name, msg);
		fflush(stderr);
	} else if (errstr != NULL) {
		syslog(prio[level], "%s: %s", msg, errstr);
	} else {
		syslog(prio[level], "%s", msg);
	}
}

#define LOG_BODY(level, errstr) do {		\
	va_list ap;				\
	va_start(ap, fmt);			\
	log_vwrite(level, errstr, fmt, ap);	\
	va_end(ap);				\
} while (0)

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(LOG_LEVEL_WARNING, e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARNING, NULL);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(LOG_LEVEL_ERROR, e);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL);
	exit(1);
}
