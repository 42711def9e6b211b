# SPDX-License-Identifier: GPL-3.0-or-later
# Shared helpers of the relay tests (test_run.sh, test_run_pg.sh), sourced after lib.sh.
#
# The test defines q SQL (one query on its queue database, printing the
# result) and sets cc (client.yaml), log (the relay's log) and d (the demo).

# wait_sql SQL EXPECTED SECONDS: until the query prints EXPECTED.
wait_sql() {
	n=0
	while [ "$(q "$1")" != "$2" ]; do
		n=$((n + 1))
		[ "$n" -le $(($3 * 10)) ] || return 1
		sleep 0.1
	done
}
relay_start() {
	"$BUILD/signer-client" -c "$cc" run >>"$log" 2>&1 &
	relay_pid=$!
}
relay_kill() {
	kill -9 "$relay_pid" 2>/dev/null
	wait "$relay_pid" 2>/dev/null
	relay_pid=
}
# repo_count: the certificates in the signer's repository.
repo_count() {
	"$BUILD/signerctl" -c "$d/signerd.yaml" list | wc -l
}
