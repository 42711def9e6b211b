/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client tests: counting the files in a directory, so that a temporary file left behind shows. */
#ifndef TESTS_UNIT_CLIENT_DIR_HELPER_H
#define TESTS_UNIT_CLIENT_DIR_HELPER_H

#include <dirent.h>
#include <stddef.h>

/* The entries of dir but . and .. and hidden ones; cmocka's assert on opendir. */
static inline size_t
test_dir_files(const char *dir)
{
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	assert_non_null(d = opendir(dir));
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

#endif /* TESTS_UNIT_CLIENT_DIR_HELPER_H */
