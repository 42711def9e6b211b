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

# pty_pair A B: a socat pty pair linked at A and B that survives re-opens,
# in the background (its pid in $pty_pid); returns once both links exist.
pty_pair() {
	rm -f "$1" "$2"
	socat pty,rawer,echo=0,link="$1",ignoreeof pty,rawer,echo=0,link="$2",ignoreeof &
	pty_pid=$!
	timeout 10 sh -c "while [ ! -e '$1' ] || [ ! -e '$2' ]; do sleep 0.05; done"
}

done_testing() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}
