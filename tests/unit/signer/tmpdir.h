/* SPDX-License-Identifier: GPL-3.0-or-later */
/* signer tests: a private temporary directory for repositories, and its removal. */
#ifndef TESTS_UNIT_SIGNER_TMPDIR_H
#define TESTS_UNIT_SIGNER_TMPDIR_H

/* Header-only (static functions): every tests/unit/<module>/test_*.c is built on its own. */

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#define TMPDIR_FDS 16           /* descriptors nftw may hold open */

/* A new directory $TMPDIR/<tag>.XXXXXX (or under /tmp) into dir; 0 or -1. */
static int
tmpdir_make(char *dir, size_t cap, const char *tag)
{
	const char *tmp = getenv("TMPDIR");

	if ((size_t)snprintf(dir, cap, "%s/%s.XXXXXX", tmp != NULL ? tmp :
	    "/tmp", tag) >= cap)
		return -1;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
tmpdir_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Remove dir and everything below it. */
static void
tmpdir_remove(const char *dir)
{
	nftw(dir, tmpdir_rm_one, TMPDIR_FDS, FTW_DEPTH | FTW_PHYS);
}

#endif /* TESTS_UNIT_SIGNER_TMPDIR_H */
