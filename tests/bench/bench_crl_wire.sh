#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Benchmark: bytes on the line for a complete CRL fetch next to the CRL's size, and for a delta fetch after 10 revocations.
#
# A repository of ENTRIES revocations (bench_crl --fill), signerd on one
# end of two pty pairs joined by line-relay (unpaced: only its byte counters
# matter), and signer-client crl on the other end. The relay's counters give
# the bytes each way; the goal for the complete CRL is signer->client bytes
# <= 1.01 x the CRL's size. Prints a table; fails only when the setup breaks.

BUILD=${BUILD:-build}
ENTRIES=100000                  # revocations in the repository
DELTA_REVOCATIONS=10            # revoked before the delta fetch
GOAL_RATIO=1.01

relay=$BUILD/tests/tools/line-relay
tmp=$(mktemp -d "${TMPDIR:-/tmp}/signer-bench-wire.XXXXXX")
d=$tmp/demo
pids=

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "bench_crl_wire: $*" >&2
	exit 1
}

# count DIR: bytes the relay has read in direction DIR so far.
count() {
	sed -n "s/^$1 in=\\([0-9]*\\) .*/\\1/p" "$tmp/stats"
}

# settle: wait until the relay's counters stop moving (its stats file is rewritten every 100 ms).
settle() {
	prev=
	while :; do
		sleep 0.3
		now=$(cat "$tmp/stats")
		[ "$now" = "$prev" ] && break
		prev=$now
	done
}

for t in "$BUILD/signerctl" "$BUILD/signerd" "$BUILD/signer-client" "$relay" \
    "$BUILD/tests/bench/bench_crl"; do
	[ -x "$t" ] || fail "$t is missing: run make first"
done
timeout 120 "$BUILD/signerctl" demo "$d" >"$tmp/demo.log" 2>&1 || fail "signerctl demo failed"
. "$d/env"
timeout 300 "$BUILD/tests/bench/bench_crl" --fill "$d/signerd.yaml" "$ENTRIES" ||
    fail "cannot fill the repository"

socat pty,rawer,echo=0,link="$d/sig",ignoreeof pty,rawer,echo=0,link="$d/ra",ignoreeof &
pids="$pids $!"
socat pty,rawer,echo=0,link="$d/rb",ignoreeof pty,rawer,echo=0,link="$d/cli",ignoreeof &
pids="$pids $!"
timeout 10 sh -c "until [ -e '$d/sig' ] && [ -e '$d/ra' ] && [ -e '$d/rb' ] && [ -e '$d/cli' ]; do sleep 0.05; done" ||
    fail "socat pty pairs did not appear"
"$relay" --stats "$tmp/stats" "$d/ra" "$d/rb" 2>"$tmp/relay.log" &
pids="$pids $!"
"$BUILD/signerd" -d -c "$d/signerd.yaml" -t "$d/sig" 2>"$tmp/signerd.log" &
pids="$pids $!"
timeout 60 sh -c "until grep -qs 'line open' '$tmp/signerd.log' && [ -s '$tmp/stats' ]; do sleep 0.05; done" ||
    fail "signerd or the relay did not start"

sc() {
	timeout 600 "$BUILD/signer-client" -c "$d/client.yaml" -t "$d/cli" "$@"
}
settle
c0=$(count b_to_a); s0=$(count a_to_b)
sc crl --issuer server-ca --out "$tmp/full.crl" >"$tmp/full.out" 2>&1 || fail "crl fetch failed: $(cat "$tmp/full.out")"
settle
c1=$(count b_to_a); s1=$(count a_to_b)
size=$(stat -c %s "$tmp/full.crl")

i=1
while [ $i -le $DELTA_REVOCATIONS ]; do
	sc revoke --issuer server-ca --serial "7f0d$i" --ref "wire-$i" >/dev/null 2>&1 || fail "revoke failed"
	i=$((i + 1))
done
settle
c2=$(count b_to_a); s2=$(count a_to_b)
sc crl --issuer server-ca --out "$tmp/full.crl" --delta "$tmp/delta.crl" >"$tmp/delta.out" 2>&1 ||
    fail "delta fetch failed: $(cat "$tmp/delta.out")"
settle
c3=$(count b_to_a); s3=$(count a_to_b)
dsize=$(stat -c %s "$tmp/delta.crl")
grep -q 'delta CRL' "$tmp/delta.out" || fail "no delta CRL was fetched: $(cat "$tmp/delta.out")"

echo "CRL transfer through signer-client (frames of 65536 bytes), $ENTRIES revocations"
awk -v size="$size" -v c="$((c1 - c0))" -v s="$((s1 - s0))" -v dsize="$dsize" \
    -v dc="$((c3 - c2))" -v ds="$((s3 - s2))" -v n="$DELTA_REVOCATIONS" -v goal="$GOAL_RATIO" '
BEGIN {
	printf "%-28s %12s %14s %14s %8s\n", "fetch", "CRL bytes", "signer->client", "client->signer", "ratio"
	printf "%-28s %12d %14d %14d %8.4f\n", "complete CRL", size, s, c, s / size
	printf "%-28s %12d %14d %14d %8s\n", "delta after " n " revocations", dsize, ds, dc, "-"
	printf "ratio: signer->client bytes / CRL size; goal <= %.2f: %s\n", goal,
	    (s / size <= goal ? "met" : "NOT met")
	printf "(both fetches include the hello that opens each signer-client session)\n"
}'
