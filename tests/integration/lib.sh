# SPDX-License-Identifier: GPL-3.0-or-later
# Shared helpers for the integration tests: TAP output, temp dirs, checks.
#
# A test script sources this file, calls ok/not_ok (or check) per assertion,
# and ends with `done_testing`, which prints "N passed, N failed" and sets the
# exit status. Scripts run with the repository root as working directory.

BUILD=${BUILD:-build}
T_PASS=0
T_FAIL=0

ok() {
	T_PASS=$((T_PASS + 1))
	echo "ok - $*"
}

not_ok() {
	T_FAIL=$((T_FAIL + 1))
	echo "not ok - $*"
}

# check NAME COMMAND...: run COMMAND; ok when it exits 0.
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# check_fails NAME COMMAND...: ok when COMMAND exits non-zero.
check_fails() {
	name=$1
	shift
	if "$@"; then not_ok "$name"; else ok "$name"; fi
}

# A private temp dir, removed at exit unless KEEP_TMP is set.
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/signer-test.XXXXXX")
cleanup_tmp() {
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T_TMP"
}
trap cleanup_tmp EXIT

done_testing() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}
