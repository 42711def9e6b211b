/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client tests: a private PostgreSQL server in a temp dir, on a Unix socket only, with the queue schema loaded. */
#ifndef TESTS_UNIT_CLIENT_PG_HELPER_H
#define TESTS_UNIT_CLIENT_PG_HELPER_H

/*
 * Header-only (static functions), as every test is built on its own. The
 * server runs from PG_BIN_DIR; as root (PostgreSQL refuses to run as root)
 * every server program runs as PG_RUN_USER, which owns the temp dir.
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#define PG_BIN_DIR "/usr/lib/postgresql/15/bin"
#define PG_RUN_USER "nobody"
#define PG_DB_NAME "queue"
#define PG_DIR_MAX 64           /* the temp dir: short, for the socket path */
#define PG_CONNINFO_MAX 256
#define PG_SCHEMA_MAX (1024 * 1024)
#define PG_QUIET "options='-c client_min_messages=warning'" /* no NOTICEs */
#define PG_WATCHDOG_ROUNDS 3
#define PG_START_WAIT_S "30"    /* pg_ctl -t */

struct pg_server {
	char dir[PG_DIR_MAX];           /* holds data/, the socket and logs */
	char conninfo[PG_CONNINFO_MAX]; /* to PG_DB_NAME as postgres */
	char admin[PG_CONNINFO_MAX];    /* to the postgres database */
	bool up;
	int guard;                      /* write end of the watchdog's pipe, or -1 */
	pid_t watchdog;                 /* stops the server if the test dies */
	uid_t uid;                      /* who runs the server programs */
	gid_t gid;
};

/*
 * Run PG_BIN_DIR/prog with args (NULL-terminated) as s->uid, output
 * appended to s->dir/cmd.log. Returns the exit status, or -1.
 */
static int
pg_run(const struct pg_server *s, const char *prog, char *const args[])
{
	char path[PATH_MAX], log[PATH_MAX];
	char *argv[16];
	pid_t pid;
	int st, fd, i;

	snprintf(path, sizeof(path), "%s/%s", PG_BIN_DIR, prog);
	snprintf(log, sizeof(log), "%s/cmd.log", s->dir);
	argv[0] = path;
	for (i = 0; args[i] != NULL && i < 14; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (geteuid() == 0 && (setgroups(0, NULL) == -1 ||
		    setgid(s->gid) == -1 || setuid(s->uid) == -1))
			_exit(126);
		execv(path, argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Remove s->dir and everything in it. */
static void
pg_rmdir(const struct pg_server *s)
{
	pid_t pid;
	int st;

	if (s->dir[0] == '\0' || (pid = fork()) == -1)
		return;
	if (pid == 0) {
		execl("/bin/rm", "rm", "-rf", s->dir, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
}

/* Run the SQL file path (several statements) on conninfo. Returns 0 or -1. */
static int
pg_load(const char *conninfo, const char *path)
{
	PGconn *c = NULL;
	PGresult *r = NULL;
	char *sql = NULL;
	size_t n;
	FILE *f;
	int rc = -1;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if ((sql = malloc(PG_SCHEMA_MAX + 1)) == NULL)
		goto out;
	n = fread(sql, 1, PG_SCHEMA_MAX, f);
	sql[n] = '\0';
	c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK)
		goto out;
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK)
		rc = 0;
	else
		fprintf(stderr, "pg_load: %s: %s", path, PQerrorMessage(c));
 out:
	PQclear(r);
	PQfinish(c);
	free(sql);
	fclose(f);
	return rc;
}

/* Run one statement on conninfo. Returns 0 or -1. */
static int
pg_exec1(const char *conninfo, const char *sql)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r = NULL;
	int rc = -1;

	if (PQstatus(c) == CONNECTION_OK) {
		r = PQexec(c, sql);
		if (PQresultStatus(r) == PGRES_COMMAND_OK)
			rc = 0;
		else
			fprintf(stderr, "pg_exec1: %s", PQerrorMessage(c));
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}

/* Copy s->dir/cmd.log to stderr (what the server programs said). */
static void
pg_show_log(const struct pg_server *s)
{
	char path[PATH_MAX], buf[BUFSIZ];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cmd.log", s->dir);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
}

/* Stop the server and remove its directory. */
static void
pg_server_down(struct pg_server *s)
{
	char data[PATH_MAX];

	snprintf(data, sizeof(data), "%s/data", s->dir);
	(void)pg_run(s, "pg_ctl", (char *[]){ "-D", data, "-m", "immediate",
	    "-w", "stop", NULL });
	pg_rmdir(s);
}

/*
 * A child that waits for the end of the test process and, unless told
 * that the server is already down (a byte on its pipe), stops the server
 * and removes its directory, so that a crashed or killed test leaves
 * nothing behind. It tries PG_WATCHDOG_ROUNDS times, a second apart, as
 * an initdb or pg_ctl of the dead test may still be running.
 */
static void
pg_watchdog(struct pg_server *s)
{
	int fd[2], i;
	ssize_t n;
	char c;

	s->guard = -1;
	if (pipe2(fd, O_CLOEXEC) == -1 || (s->watchdog = fork()) == -1)
		return;
	if (s->watchdog == 0) {
		close(fd[1]);
		while ((n = read(fd[0], &c, 1)) == -1 && errno == EINTR)
			;
		if (n == 1)
			_exit(0);
		for (i = 0; i < PG_WATCHDOG_ROUNDS; i++) {
			pg_server_down(s);
			sleep(1);
		}
		_exit(0);
	}
	close(fd[0]);
	s->guard = fd[1];
}

/* Stop the server and remove its directory; safe to call twice. */
static void
pg_server_stop(struct pg_server *s)
{
	if (s->up)
		pg_server_down(s);
	else
		pg_rmdir(s);
	s->up = false;
	if (s->guard != -1) {
		(void)write(s->guard, "q", 1);
		close(s->guard);
		s->guard = -1;
		while (waitpid(s->watchdog, NULL, 0) == -1 && errno == EINTR)
			;
	}
	s->dir[0] = '\0';
}

/* Initialise, start (listen_addresses '', socket in s->dir) and create PG_DB_NAME. */
static int
pg_server_start(struct pg_server *s)
{
	char data[PATH_MAX], log[PATH_MAX], opts[PATH_MAX];
	struct passwd *pw;

	memset(s, 0, sizeof(*s));
	s->guard = -1;
	snprintf(s->dir, sizeof(s->dir), "/tmp/pgq.XXXXXX");
	if (mkdtemp(s->dir) == NULL) {
		s->dir[0] = '\0';
		return -1;
	}
	s->uid = geteuid();
	s->gid = getegid();
	if (s->uid == 0) {
		if ((pw = getpwnam(PG_RUN_USER)) == NULL)
			goto fail;
		s->uid = pw->pw_uid;
		s->gid = pw->pw_gid;
		if (chown(s->dir, s->uid, s->gid) == -1)
			goto fail;
	}
	pg_watchdog(s);
	snprintf(data, sizeof(data), "%s/data", s->dir);
	snprintf(log, sizeof(log), "%s/server.log", s->dir);
	snprintf(opts, sizeof(opts), "-c listen_addresses= -k %s -c fsync=off "
	    "-c full_page_writes=off", s->dir);
	if (pg_run(s, "initdb", (char *[]){ "-D", data, "-U", "postgres",
	    "-A", "trust", "-N", "-E", "UTF8", "--locale=C", NULL }) != 0)
		goto fail;
	if (pg_run(s, "pg_ctl", (char *[]){ "-D", data, "-l", log, "-w", "-t",
	    PG_START_WAIT_S, "-o", opts, "start", NULL }) != 0)
		goto fail;
	s->up = true;
	snprintf(s->admin, sizeof(s->admin), "host=%s user=postgres "
	    "dbname=postgres " PG_QUIET, s->dir);
	snprintf(s->conninfo, sizeof(s->conninfo), "host=%s user=postgres "
	    "dbname=" PG_DB_NAME " " PG_QUIET, s->dir);
	if (pg_exec1(s->admin, "CREATE DATABASE " PG_DB_NAME) != 0)
		goto fail;
	return 0;
 fail:
	fprintf(stderr, "pg_server_start: failed in %s:\n", s->dir);
	pg_show_log(s);
	pg_server_stop(s);
	return -1;
}

#endif /* TESTS_UNIT_CLIENT_PG_HELPER_H */
