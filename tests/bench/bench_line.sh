#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Benchmark: certificates/s of pipelined sign requests through a line paced to a baud rate, next to the line-rate bound.
#
# For each rate, signerd starts on a fresh repository, so every request is a
# first issuance (RSA-2048 CSR, profile server, RSA-3072 issuer on SoftHSM2),
# never a replay of a recorded certificate. line-request sends N requests
# back to back (reading the responses that arrive meanwhile) until all N are
# answered; the wall time is that whole run.
# The bytes each way come from the relay's counters. The line-rate bound is
# N / (max(bytes client->signer, bytes signer->client) / (baud / 10)): what a
# full-duplex line could carry at best. Prints a table; fails only when the
# setup breaks, never because a goal is missed.

BUILD=${BUILD:-build}
RATES="115200 230400 921600"
RUN_SECONDS=12                  # aimed duration of each rate's measurement
S2C_BYTES_GUESS=1250            # signer->client bytes per request, to size N
LEGACY_S_PER_REQ=14             # the legacy CAcert signer, for reference
GOAL_RATIO=0.90                 # at 115200 baud

lr=$BUILD/tests/tools/line-request
relay=$BUILD/tests/tools/line-relay
tmp=$(mktemp -d "${TMPDIR:-/tmp}/signer-bench.XXXXXX")
d=$tmp/demo
pids=

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "bench_line: $*" >&2
	# The logs of the last steps tell why.
	for f in $(ls -t "$tmp"/*.log 2>/dev/null | head -n 3); do
		tail -n 5 "$f" | sed "s|^|bench_line: $(basename "$f"): |" >&2
	done
	exit 1
}

# stop PID: SIGTERM and wait for it.
stop() {
	kill -TERM "$1" 2>/dev/null
	timeout 15 sh -c "while kill -0 $1 2>/dev/null; do sleep 0.05; done" ||
	    fail "process $1 does not stop"
	wait "$1" 2>/dev/null
}

# count FILE DIR: bytes the relay read in direction DIR.
count() {
	sed -n "s/^$2 in=\\([0-9]*\\) .*/\\1/p" "$1"
}

for t in "$BUILD/signerctl" "$BUILD/signerd" "$lr" "$relay"; do
	[ -x "$t" ] || fail "$t is missing: run make first"
done
timeout 120 "$BUILD/signerctl" demo "$d" >"$tmp/demo.log" 2>&1 || fail "signerctl demo failed"
. "$d/env"
openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -subj /CN=bench.demo.invalid \
    -outform DER -out "$tmp/csr.der" 2>/dev/null || fail "openssl req failed"

# pairs: fresh socat pty pairs sig<->ra and rb<->cli for one rate.
pairs() {
	rm -f "$d/sig" "$d/ra" "$d/rb" "$d/cli"
	socat pty,rawer,echo=0,link="$d/sig",ignoreeof pty,rawer,echo=0,link="$d/ra",ignoreeof &
	sa=$!
	socat pty,rawer,echo=0,link="$d/rb",ignoreeof pty,rawer,echo=0,link="$d/cli",ignoreeof &
	sb=$!
	pids="$pids $sa $sb"
	timeout 10 sh -c "until [ -e '$d/sig' ] && [ -e '$d/ra' ] && [ -e '$d/rb' ] && [ -e '$d/cli' ]; do sleep 0.05; done" ||
	    fail "socat pty pairs did not appear"
}

# batch B K N: signerd on a fresh repository (K names it) at B baud, N pipelined signs; the seconds in $bsecs.
batch() {
	conf=$tmp/signerd-$1-$2.yaml
	sed "s|^  path: .*/repo\$|  path: $d/repo-$1-$2|" "$d/signerd.yaml" >"$conf"
	grep -q "repo-$1-$2\$" "$conf" || fail "cannot point the configuration at a fresh repository"
	timeout 60 "$BUILD/signerctl" -c "$conf" init >/dev/null 2>"$tmp/init.log" ||
	    fail "signerctl init failed"
	"$BUILD/signerd" -d -c "$conf" -t "$d/sig" 2>"$tmp/signerd-$1-$2.log" &
	sp=$!
	pids="$pids $sp"
	timeout 30 sh -c "until grep -qs 'line open' '$tmp/signerd-$1-$2.log'; do sleep 0.05; done" ||
	    fail "signerd did not start"
	t0=$(date +%s.%N)
	timeout 120 "$lr" "$d/cli" "signs:server:$tmp/csr.der:$3" >"$tmp/out-$1-$2" 2>&1 ||
	    fail "line-request failed at $1 baud"
	t1=$(date +%s.%N)
	okn=$(grep -c '^id [0-9]* ok {"serial"' "$tmp/out-$1-$2")
	[ "$okn" -eq "$3" ] || fail "$okn of $3 sign requests succeeded at $1 baud"
	stop "$sp"
	bsecs=$(echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }')
}

# run B: one rate; appends "BAUD N SECONDS C2S S2C" to $tmp/results.
run() {
	n=$(($1 / 10 * RUN_SECONDS / S2C_BYTES_GUESS))
	pairs
	"$relay" --baud "$1" --stats "$tmp/stats-$1" "$d/ra" "$d/rb" 2>"$tmp/relay-$1.log" &
	rp=$!
	pids="$pids $rp"
	timeout 10 sh -c "until [ -s '$tmp/stats-$1' ]; do sleep 0.05; done" || fail "the relay did not start"
	batch "$1" 1 $n
	stop "$rp"
	kill "$sa" "$sb" 2>/dev/null
	c2s=$(count "$tmp/stats-$1" b_to_a)
	s2c=$(count "$tmp/stats-$1" a_to_b)
	[ -n "$c2s" ] && [ -n "$s2c" ] || fail "no relay counters at $1 baud"
	echo "$1 $n $bsecs $c2s $s2c" >>"$tmp/results"
}

for b in $RATES; do
	run "$b"
done

echo "pipelined sign, RSA-2048 CSRs, profile server (RSA-3072 issuer, SoftHSM2), fresh repository per rate"
awk -v legacy="$LEGACY_S_PER_REQ" -v goal="$GOAL_RATIO" '
BEGIN {
	printf "%8s %5s %7s %8s %8s %6s %9s %9s\n", "baud", "N", "wall_s",
	    "certs/s", "bound/s", "ratio", "c2s_B/req", "s2c_B/req"
}
{
	rate = $1 / 10
	wire = $4 > $5 ? $4 : $5
	cps = $2 / $3
	bound = $2 / (wire / rate)
	printf "%8d %5d %7.2f %8.2f %8.2f %5.1f%% %9.0f %9.0f\n", $1, $2, $3,
	    cps, bound, 100 * cps / bound, $4 / $2, $5 / $2
	if ($1 == 115200)
		at115 = cps / bound
	if (cps > best)
		best = cps
}
END {
	printf "bound: N / (max(bytes each way) / line rate), line rate = baud/10 bytes/s (8N1)\n"
	printf "goal: >= %.0f%% of the bound at 115200 baud: %s (%.1f%%)\n", 100 * goal,
	    (at115 >= goal ? "met" : "NOT met"), 100 * at115
	printf "legacy CAcert signer: about %d s per request (%.3f certificates/s); best here %.0fx that\n",
	    legacy, 1 / legacy, best * legacy
}' "$tmp/results" || fail "cannot compute the table"
