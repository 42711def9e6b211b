#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Benchmark: time for signer-client run to drain a backlog of 3,000 sign requests over a line paced to 115200 baud, next to the line-rate bound.
#
# The queue is a SQLite file filled before the relay starts (RSA-2048 CSR,
# profile server, RSA-3072 issuer on SoftHSM2, a fresh repository: every
# request is a first issuance). line-relay paces both directions to the
# baud rate and counts the bytes; the line-rate bound is
# max(bytes client->signer, bytes signer->client) / (baud / 10) seconds:
# what a full-duplex line could carry at best. Prints the numbers; fails
# only when the setup breaks, never because the goal is missed.

BUILD=${BUILD:-build}
BAUD=115200
N=${BENCH_RELAY_N:-3000}        # the size of CAcert's 2021 backlog
GOAL_S=600                      # drain it in under 10 minutes
DRAIN_MAX_S=1800                # give up after this long
LEGACY_S_PER_REQ=13.8           # the legacy signer: 3,000 requests in about 11.5 hours

relay=$BUILD/tests/tools/line-relay
tmp=$(mktemp -d "${TMPDIR:-/tmp}/signer-bench.XXXXXX")
d=$tmp/demo
db=$tmp/queue.db
pids=

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	# They may still be writing into $tmp.
	for p in $pids; do wait "$p" 2>/dev/null; done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "bench_relay: $*" >&2
	for f in $(ls -t "$tmp"/*.log 2>/dev/null | head -n 3); do
		tail -n 5 "$f" | sed "s|^|bench_relay: $(basename "$f"): |" >&2
	done
	exit 1
}

q() {
	sqlite3 -cmd ".timeout 5000" "$db" "$1"
}

# count FILE DIR: bytes the relay read in direction DIR.
count() {
	sed -n "s/^$2 in=\\([0-9]*\\) .*/\\1/p" "$1"
}

for t in "$BUILD/signerctl" "$BUILD/signerd" "$BUILD/signer-client" "$relay"; do
	[ -x "$t" ] || fail "$t is missing: run make first"
done
command -v sqlite3 >/dev/null || fail "the sqlite3 program is missing"
timeout 120 "$BUILD/signerctl" demo "$d" >"$tmp/demo.log" 2>&1 || fail "signerctl demo failed"
. "$d/env"
openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -subj /CN=bench.demo.invalid \
    -outform DER -out "$tmp/csr.der" 2>/dev/null || fail "openssl req failed"

# The signer's line: signerd on sig, line-relay between ra and rb, the relay on cli.
socat pty,rawer,echo=0,link="$d/sig",ignoreeof pty,rawer,echo=0,link="$d/ra",ignoreeof &
pids="$pids $!"
socat pty,rawer,echo=0,link="$d/rb",ignoreeof pty,rawer,echo=0,link="$d/cli",ignoreeof &
pids="$pids $!"
timeout 10 sh -c "until [ -e '$d/sig' ] && [ -e '$d/ra' ] && [ -e '$d/rb' ] && [ -e '$d/cli' ]; do sleep 0.05; done" ||
    fail "socat pty pairs did not appear"
"$relay" --baud "$BAUD" --stats "$tmp/stats" "$d/ra" "$d/rb" 2>"$tmp/line-relay.log" &
rp=$!
pids="$pids $rp"
timeout 10 sh -c "until [ -s '$tmp/stats' ]; do sleep 0.05; done" || fail "line-relay did not start"
"$BUILD/signerd" -d -c "$d/signerd.yaml" -t "$d/sig" 2>"$tmp/signerd.log" &
sp=$!
pids="$pids $sp"
timeout 30 sh -c "until grep -qs 'line open' '$tmp/signerd.log'; do sleep 0.05; done" ||
    fail "signerd did not start"

sqlite3 "$db" <client/schema/sqlite.sql || fail "cannot create the queue"
q "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $N)
INSERT INTO requests (kind, profile, csr, subject, san)
SELECT 'sign', 'server', readfile('$tmp/csr.der'), 'CN=h' || x || '.bench.invalid',
  'dns:h' || x || '.bench.invalid' FROM c" || fail "cannot fill the queue"
cat >"$tmp/client.yaml" <<EOF2
signers:
  - device: $d/cli
    baud: $BAUD
timeout_ms: 10000
retries: 3
ca_dir: $d/ca
database:
  backend: sqlite
  path: $db
log:
  level: info
EOF2

t0=$(date +%s.%N)
"$BUILD/signer-client" -c "$tmp/client.yaml" run 2>"$tmp/relay.log" &
cp=$!
pids="$pids $cp"
left=$N
while [ "$left" -gt 0 ]; do
	sleep 0.5
	left=$(q "SELECT count(*) FROM requests WHERE status = 'queued'")
	kill -0 "$cp" 2>/dev/null || fail "signer-client run died"
	kill -0 "$sp" 2>/dev/null || fail "signerd died"
	[ "$(echo "$t0 $(date +%s.%N)" | awk '{ print int($2 - $1) }')" -lt "$DRAIN_MAX_S" ] ||
	    fail "$left of $N rows still queued after $DRAIN_MAX_S s"
done
t1=$(date +%s.%N)
kill -TERM "$cp"
wait "$cp" 2>/dev/null
done_n=$(q "SELECT count(*) FROM requests WHERE status = 'done'")
[ "$done_n" -eq "$N" ] || fail "$done_n of $N rows done"
# The counters are rewritten every 100 ms.
sleep 0.3
c2s=$(count "$tmp/stats" b_to_a)
s2c=$(count "$tmp/stats" a_to_b)
[ -n "$c2s" ] && [ -n "$s2c" ] || fail "no line-relay counters"
retried=$(q "SELECT count(*) FROM requests WHERE attempts > 0")

echo "signer-client run: backlog of $N sign requests, RSA-2048 CSRs, profile server (RSA-3072 issuer, SoftHSM2), SQLite queue, $BAUD baud"
echo "$t0 $t1 $N $c2s $s2c $BAUD $GOAL_S $LEGACY_S_PER_REQ $retried" | awk '{
	secs = $2 - $1
	rate = $6 / 10
	wire = $4 > $5 ? $4 : $5
	bound = wire / rate
	printf "%8s %7s %8s %8s %9s %9s %9s %7s\n", "N", "drain_s", "bound_s",
	    "ratio", "req/s", "c2s_B/req", "s2c_B/req", "retried"
	printf "%8d %7.1f %8.1f %7.1f%% %9.2f %9.0f %9.0f %7d\n", $3, secs,
	    bound, 100 * bound / secs, $3 / secs, $4 / $3, $5 / $3, $9
	printf "bound: max(bytes each way) / line rate, line rate = baud/10 bytes/s (8N1); ratio = bound / drain time\n"
	printf "goal: drained in under %d s: %s (%.1f min)\n", $7,
	    (secs < $7 ? "met" : "NOT met"), secs / 60
	printf "legacy CAcert signer: about %.1f hours for that backlog; %.0fx faster here\n",
	    $3 * $8 / 3600, $3 * $8 / secs
}' || fail "cannot compute the numbers"
