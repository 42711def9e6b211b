#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# signer-client run with two signerd (nodes 1 and 2, one token, two repositories), each on its own pty: failover on a stopped signer and on a hang-up, and the way back.
. tests/integration/lib.sh
. tests/integration/relay_lib.sh

d=$T_TMP/demo
db=$d/queue.db
cc=$T_TMP/client.yaml
log=$T_TMP/relay.log
sd1_pid=
sd2_pid=
socat1_pid=
socat2_pid=
relay_pid=
stop_all() {
	[ -z "$relay_pid" ] || kill -9 "$relay_pid" 2>/dev/null
	for p in $sd1_pid $sd2_pid; do
		kill -CONT "$p" 2>/dev/null
		kill "$p" 2>/dev/null
	done
	for p in $socat1_pid $socat2_pid; do kill "$p" 2>/dev/null; done
	cleanup_tmp
}
trap stop_all EXIT

timeout 120 "$BUILD/signerctl" demo "$d" >/dev/null 2>&1
. "$d/env"
# Signer 2: the same token and CAs, its own repository, line and node id.
sed -e 's/^node: 1$/node: 2/' -e "s|$d/tty-signer\$|$d/tty-signer2|" \
    -e "s|path: $d/repo\$|path: $d/repo2|" "$d/signerd.yaml" >"$d/signerd2.yaml"
check "a second repository for node 2" sh -c \
	"'$BUILD/signerctl' -c '$d/signerd2.yaml' init >/dev/null 2>&1"
sqlite3 "$db" <client/schema/sqlite.sql
cat >"$cc" <<EOF2
signers:
  - device: $d/tty-client
  - device: $d/tty-client2
timeout_ms: 1000
retries: 1
ca_dir: $d/ca
database:
  backend: sqlite
  path: $db
health:
  json: $d/health.json
  prometheus: $d/signer.prom
  interval_seconds: 1
log:
  level: info
EOF2

line1_up() {
	pty_pair "$d/tty-signer" "$d/tty-client"
	socat1_pid=$pty_pid
}
line2_up() {
	pty_pair "$d/tty-signer2" "$d/tty-client2"
	socat2_pid=$pty_pid
}
# sd_start N: signerd N, until its log says the line is open.
sd_start() {
	conf=$d/signerd.yaml
	[ "$1" = 1 ] || conf=$d/signerd$1.yaml
	"$BUILD/signerd" -d -c "$conf" 2>>"$T_TMP/signerd$1.log" &
	eval "sd$1_pid=$!"
	n=$(($(grep -c 'line open' "$T_TMP/signerd$1.log" 2>/dev/null) + 1))
	timeout 30 sh -c "until [ \$(grep -c 'line open' '$T_TMP/signerd$1.log') -ge $n ]; do sleep 0.1; done"
}
line1_up
line2_up
: >"$T_TMP/signerd1.log"
: >"$T_TMP/signerd2.log"
sd_start 1
sd_start 2

q() {
	sqlite3 -cmd ".timeout 5000" "$db" "$1"
}
# repo_list N: the certificates in signer N's repository.
repo_list() {
	conf=$d/signerd.yaml
	[ "$1" = 1 ] || conf=$d/signerd$1.yaml
	"$BUILD/signerctl" -c "$conf" list
}
# one_per_ref N: no subject (one per row, so per ref) twice in repository N.
one_per_ref() {
	test "$(repo_list "$1" | awk '{ $1 = $2 = $3 = $4 = $5 = $6 = ""; print }' | sort | uniq -d | wc -l)" -eq 0
}
# node_rows N: done rows whose serial's first byte (of 16) is node N.
node_rows() {
	q "SELECT count(*) FROM requests WHERE status = 'done' AND length(result_serial) = 31
	    AND substr(result_serial, 1, 1) = '$1'"
}
health_is() {
	python3 -c "import json, sys
h = json.load(open('$d/health.json'))
sys.exit(0 if h['up'] and h['signer'] == $1 and h['node'] == $1 and
    h['signer_device'] == '$2' and h['switches'] >= $3 else 1)" 2>/dev/null
}
# wait_health SIGNER DEVICE SWITCHES: until health.json says so.
wait_health() {
	n=0
	until health_is "$@"; do
		n=$((n + 1))
		[ "$n" -le 100 ] || return 1
		sleep 0.2
	done
}

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T_TMP/e.key" -subj /CN=e -outform DER -out "$T_TMP/e.csr" 2>/dev/null
# rows FIRST LAST: server certificates, one subject per row.
rows() {
	q "WITH RECURSIVE c(x) AS (SELECT $1 UNION ALL SELECT x + 1 FROM c WHERE x < $2)
	INSERT INTO requests (kind, profile, csr, subject, san)
	SELECT 'sign', 'server', readfile('$T_TMP/e.csr'), 'CN=h' || x || '.demo.invalid',
	  'dns:h' || x || '.demo.invalid' FROM c"
}
# after_first_batch: until a batch more than before was written back.
after_first_batch() {
	prev=$(q "SELECT count(*) FROM requests WHERE status <> 'queued'")
	wait_sql "SELECT count(*) > $prev FROM requests WHERE status <> 'queued'" 1 20
}

# ---- signer 1 stops answering mid-backlog ---------------------------------

rows 1 800
relay_start
after_first_batch
kill -STOP "$sd1_pid"
check "a stopped signer: the relay fails over to signer 2" timeout 20 sh -c \
	"until grep -q 'link: signer 1 ($d/tty-client) no answer after 2 attempt(s) of 1000 ms: switching to signer 2 ($d/tty-client2)' '$log'; do sleep 0.1; done"
check "every row completes" wait_sql "SELECT count(*) FROM requests WHERE status = 'queued'" 0 60
check "every row is done, none failed" test \
	"$(q "SELECT count(*) FROM requests WHERE status = 'done'")" -eq 800
check "rows issued on signer 2 carry node-2 serials" test "$(node_rows 2)" -gt 0
check "and the others node-1 serials" test $(($(node_rows 1) + $(node_rows 2))) -eq 800
check "each repository holds the certificates of its node's rows" test \
	"$(repo_list 2 | wc -l)" -eq "$(node_rows 2)"
check "health shows signer 2 in use" wait_health 2 "$d/tty-client2" 1
check "the textfile shows signer 2 and the switch" sh -c "grep -qx 'signer_active 2' '$d/signer.prom' &&
	grep -qx 'signer_active_info{signer=\"2\",device=\"$d/tty-client2\"} 1' '$d/signer.prom' &&
	grep -qx 'signer_switches_total 1' '$d/signer.prom'"

# ---- signer 1 answers again ----------------------------------------------

kill -CONT "$sd1_pid"
check "the relay returns to signer 1 once it answers" timeout 40 sh -c \
	"until grep -q 'link: signer 1 ($d/tty-client) answers again: switching back from signer 2 ($d/tty-client2)' '$log'; do sleep 0.2; done"
check "health shows signer 1 in use" wait_health 1 "$d/tty-client" 2
rows 801 900
check "new rows complete" wait_sql "SELECT count(*) FROM requests WHERE status = 'queued'" 0 30
check "on signer 1: node-1 serials" test \
	"$(q "SELECT count(*) FROM requests WHERE id > 800 AND substr(result_serial, 1, 1) = '1'")" -eq 100

# ---- signer 1's line hangs up mid-backlog ---------------------------------

rows 901 1700
after_first_batch
kill "$sd1_pid" "$socat1_pid"
wait "$sd1_pid" "$socat1_pid" 2>/dev/null
check "a hang-up: the relay fails over to signer 2" timeout 20 sh -c \
	"until grep -q 'link: signer 1 ($d/tty-client) hung up and does not open again: .*: switching to signer 2' '$log'; do sleep 0.1; done"
line1_up
sd_start 1
check "the rest completes" wait_sql "SELECT count(*) FROM requests WHERE status = 'queued'" 0 60
check "the relay returns to the restarted signer 1" timeout 40 sh -c \
	"until [ \$(grep -c 'answers again: switching back' '$log') -ge 2 ]; do sleep 0.2; done"

# ---- every row exactly once -------------------------------------------------

check "1700 rows done, none failed, none queued" test \
	"$(q "SELECT status, count(*) FROM requests GROUP BY status")" = "done|1700"
check "no serial written twice" test \
	"$(q "SELECT count(DISTINCT result_serial) FROM requests")" -eq 1700
check "all serials are node 1 or node 2" test $(($(node_rows 1) + $(node_rows 2))) -eq 1700
check "repository 1: no ref with two certificates" one_per_ref 1
check "repository 2: no ref with two certificates" one_per_ref 2
check "repository 2 holds what signer 2 issued" test \
	"$(repo_list 2 | wc -l)" -eq "$(node_rows 2)"
check "repository 1 holds what signer 1 issued (and at most a window more)" sh -c \
	"n=\$('$BUILD/signerctl' -c '$d/signerd.yaml' list | wc -l); [ \$n -ge $(node_rows 1) ] && [ \$n -le $(($(node_rows 1) + 64)) ]"
mkdir "$T_TMP/certs"
q "SELECT writefile('$T_TMP/certs/' || id || '.der', cert) FROM requests" >/dev/null
check "every certificate verifies (openssl)" sh -c "openssl verify \
	-CAfile '$d/ca/root.pem' -untrusted '$d/ca/server-ca.pem' '$T_TMP'/certs/*.der |
	grep -c ': OK\$' | grep -qx 1700"
check "signerctl verify passes on both repositories" sh -c \
	"'$BUILD/signerctl' -c '$d/signerd.yaml' verify >/dev/null 2>&1 &&
	'$BUILD/signerctl' -c '$d/signerd2.yaml' verify >/dev/null 2>&1"
relay_kill
# The one-shot health --write names the signer that answered: the second while the first is stopped.
kill -STOP "$sd1_pid"
timeout 30 "$BUILD/signer-client" -c "$cc" health --write >/dev/null 2>&1
check "health --write: the signer that answered" sh -c "grep -qx 'signer_active 2' '$d/signer.prom' &&
	grep -qx 'signer_up 1' '$d/signer.prom'"
kill -CONT "$sd1_pid"

done_testing
