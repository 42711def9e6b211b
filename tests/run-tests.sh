#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Run test programs and record their pass/fail counts; or print the total.
#
#   run-tests.sh RESULTS SUITE PROGRAM...   run cmocka binaries or TAP scripts
#   run-tests.sh RESULTS --total            print "N passed, N failed"; fail if any failed
#
# A cmocka binary is counted from its "[  PASSED  ]"/"[  FAILED  ]" summary,
# a shell script from its "ok"/"not ok" lines. A program that exits non-zero
# without reporting a failure counts as one failed test.
set -u
results=$1
suite=$2
shift 2

if [ "$suite" = "--total" ]; then
	[ -f "$results" ] || { echo "no test results in $results"; exit 1; }
	awk '{ p += $2; f += $3 } END {
		printf "\n%d passed, %d failed\n", p, f; exit (f > 0 || p == 0) }' "$results"
	exit $?
fi

mkdir -p "$(dirname "$results")"
failed_any=0
for prog in "$@"; do
	log=$(mktemp)
	case "$prog" in
	*.sh) sh "$prog" >"$log" 2>&1 ;;
	*) "$prog" >"$log" 2>&1 ;;
	esac
	rc=$?
	cat "$log"
	pass=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p; s/^ok .*/1/p' "$log" |
	    awk '{ s += $1 } END { print s + 0 }')
	fail=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p; s/^not ok .*/1/p' "$log" |
	    awk '{ s += $1 } END { print s + 0 }')
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		echo "$prog: exited with status $rc"
		fail=1
	fi
	[ "$fail" -eq 0 ] || failed_any=1
	echo "$suite:$prog $pass $fail" >>"$results"
	rm -f "$log"
done
exit $failed_any
