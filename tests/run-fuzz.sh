#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Run each libFuzzer target for a set time on a copy of its seed corpus.
#
#   run-fuzz.sh RESULTS SECONDS BUILDDIR NAME...
#
# New inputs go to BUILDDIR/corpus/NAME, never into the committed seeds.
# A crash, leak or timeout fails the run; the reproducer is kept in BUILDDIR.
set -u
results=$1
seconds=$2
dir=$3
shift 3

failed_any=0
for name in "$@"; do
	work="$dir/corpus/$name"
	seeds="tests/fuzz/corpus/$name"
	mkdir -p "$work"
	echo "== fuzz_$name for ${seconds}s"
	if "$dir/fuzz_$name" -max_total_time="$seconds" -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix="$dir/crash-$name-" \
	    -print_final_stats=1 "$work" "$seeds" >"$dir/fuzz_$name.log" 2>&1; then
		grep -E '^stat::number_of_executed_units|^Done' "$dir/fuzz_$name.log" | tail -2
		echo "ok - fuzz_$name"
		echo "fuzz:$name 1 0" >>"$results"
	else
		tail -40 "$dir/fuzz_$name.log"
		echo "not ok - fuzz_$name (log: $dir/fuzz_$name.log)"
		echo "fuzz:$name 0 1" >>"$results"
		failed_any=1
	fi
done
exit $failed_any
