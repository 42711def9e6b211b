#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# CRLs end to end: the refresh timer, signer-client's verified fetch, pinned chunks, delta CRLs, never going backwards.
. tests/integration/lib.sh

d=$T_TMP/demo
lr=$BUILD/tests/tools/line-request
sd_pid=
socat_pid=
stop_all() {
	[ -z "$sd_pid" ] || kill "$sd_pid" 2>/dev/null
	[ -z "$socat_pid" ] || kill "$socat_pid" 2>/dev/null
	cleanup_tmp
}
trap stop_all EXIT

timeout 120 "$BUILD/signerctl" demo "$d" >/dev/null 2>&1
. "$d/env"
pty_pair "$d/tty-signer" "$d/tty-client"
socat_pid=$pty_pid

# start_signerd CONF LOG: signerd on the pty, up when the line is open.
start_signerd() {
	"$BUILD/signerd" -d -c "$1" 2>"$2" &
	sd_pid=$!
	timeout 30 sh -c "until grep -q 'line open' '$2'; do sleep 0.1; done"
}
stop_signerd() {
	kill "$sd_pid"
	wait "$sd_pid" 2>/dev/null
	sd_pid=
}
sc() {
	timeout 120 "$BUILD/signer-client" -c "$d/client.yaml" "$@"
}
# crl_number FILE: the cRLNumber of a DER CRL, in decimal.
crl_number() {
	printf '%d\n' "$(openssl crl -inform DER -in "$1" -noout -crlnumber | cut -d= -f2)"
}
# listed FILE SERIAL: the DER CRL lists the serial (lowercase hex).
listed() {
	openssl crl -inform DER -in "$1" -noout -text | tr A-F a-f | grep -qi "serial number: 0*$2\$"
}

start_signerd "$d/signerd.yaml" "$T_TMP/signerd.log"
check "at start-up every issuer has a CRL ready (health)" sh -c \
	"sc() { timeout 60 '$BUILD/signer-client' -c '$d/client.yaml' \"\$@\"; }; sc --json health >'$T_TMP/h.json' &&
	[ \$(grep -o '\"crl_number\"' '$T_TMP/h.json' | wc -l) -eq 2 ]"

out=$T_TMP/pub/server-ca.crl
delta=$T_TMP/pub/server-ca-delta.crl
mkdir -p "$T_TMP/pub"
check "crl fetches and installs the CRL" sc crl --issuer server-ca --out "$out"
check "the CRL verifies (openssl)" sh -c \
	"openssl crl -inform DER -in '$out' -CAfile '$d/ca/server-ca.pem' -noout -verify 2>&1 | grep -qx 'verify OK'"
n1=$(crl_number "$out")
check "the number is thisUpdate * 256 + node 1" sh -c \
	"[ \$(( $n1 % 256 )) -eq 1 ] && [ \$(( $n1 / 256 )) -le \$(date +%s) ]"
sc crl --issuer server-ca --out "$out" >"$T_TMP/again.out" 2>&1
check "the same CRL again is up to date" grep -q 'up to date' "$T_TMP/again.out"
check "and its number is unchanged" test "$(crl_number "$out")" = "$n1"

# A revocation makes the next fetch get a new CRL that lists it.
check "revoke" sc revoke --issuer server-ca --serial 7f0a01 --reason keyCompromise --ref crl-r1
check "crl after a revocation" sc crl --issuer server-ca --out "$out"
n2=$(crl_number "$out")
check "the new CRL has a higher number" test "$n2" -gt "$n1"
check "and lists the revoked serial" listed "$out" 7f0a01

# Pinned chunks: a regeneration in the middle of a fetch is a conflict, not a mix of two CRLs.
timeout 60 "$lr" "$d/tty-client" "crlpin:server-ca:$n2:256" >"$T_TMP/pin.out" 2>&1
check "a chunk of the current CRL is served by its number" grep -q '^id [0-9]* ok {.*"offset": 256' "$T_TMP/pin.out"
sc revoke --issuer server-ca --serial 7f0a02 --ref crl-r2 >/dev/null
timeout 60 "$lr" "$d/tty-client" crlhead:server-ca "crlpin:server-ca:$n2:256:err" >"$T_TMP/pin2.out" 2>&1
check "a chunk of the previous CRL after a regeneration is a conflict" \
	grep -q '^id [0-9]* error conflict: CRL '"$n2"' of .server-ca. is no longer current' "$T_TMP/pin2.out"

# Delta CRLs: the base stays, the delta lists exactly what came after it.
check "crl --delta installs base and delta" sc crl --issuer server-ca --out "$out" --delta "$delta"
nb=$(crl_number "$out")
sc revoke --issuer server-ca --serial 7f0a03 --ref crl-r3 >/dev/null
sc revoke --issuer server-ca --serial 7f0a04 --reason superseded --ref crl-r4 >/dev/null
sc crl --issuer server-ca --out "$out" --delta "$delta" >"$T_TMP/delta.out" 2>&1
check "the next --delta run fetches only the delta" test "$(crl_number "$out")" = "$nb"
check "the delta verifies (openssl)" sh -c \
	"openssl crl -inform DER -in '$delta' -CAfile '$d/ca/server-ca.pem' -noout -verify 2>&1 | grep -qx 'verify OK'"
openssl crl -inform DER -in "$delta" -noout -text >"$T_TMP/delta.txt"
check "the delta names its base" sh -c \
	"grep -A1 'Delta CRL Indicator: critical' '$T_TMP/delta.txt' | tr -d ' ' | grep -qx \"$nb\""
openssl crl -inform DER -in "$out" -out "$T_TMP/base.pem"
check "the delta lists exactly the revocations its base lacks" sh -c "
	for s in 7f0a01 7f0a02 7f0a03 7f0a04; do
		a=0; b=0
		openssl crl -in '$T_TMP/base.pem' -noout -text | tr A-F a-f | grep -qi \"serial number: \$s\\\$\" && a=1
		tr A-F a-f <'$T_TMP/delta.txt' | grep -qi \"serial number: \$s\\\$\" && b=1
		[ \$((a + b)) -eq 1 ] || exit 1
	done
	tr A-F a-f <'$T_TMP/delta.txt' | grep -qi 'serial number: 7f0a04\$'"
check "the client reports the combined view" grep -q 'delta CRL' "$T_TMP/delta.out"
check "the delta is a few hundred bytes" test "$(stat -c %s "$delta")" -lt 1024

# publish: every issuer's CA certificate, CRL and delta CRL into crl.dir.
mkdir -p "$d/crl"
check "publish fills crl.dir" sc publish
check "with both CA certificates, CRLs and delta CRLs" sh -c "
	for i in server-ca client-ca; do
		cmp -s '$d/crl/'\$i.pem '$d/ca/'\$i.pem || exit 1
		for f in \$i.crl \$i-delta.crl; do
			openssl crl -inform DER -in '$d/crl/'\$f -CAfile '$d/ca/'\$i.pem -noout -verify 2>&1 |
			    grep -qx 'verify OK' || exit 1
		done
	done"
check "publish again is up to date" sh -c "sc() { timeout 60 '$BUILD/signer-client' -c '$d/client.yaml' \"\$@\"; }; sc publish 2>&1 | grep -q 'up to date'"

# Never backwards: the other signer of a pair made a newer CRL; this one, behind, offers a lower number.
check "a complete CRL without --delta" sc crl --issuer server-ca --out "$out"
stop_signerd
sleep 1.1       # the other node's first CRL falls in a later second
sed -e "s|^  path: .*repo.*|  path: $T_TMP/repo2|" -e 's/^node: 1$/node: 2/' \
    "$d/signerd.yaml" >"$T_TMP/other.yaml"
grep -q "$T_TMP/repo2" "$T_TMP/other.yaml" || echo "other.yaml: no repository path" >&2
"$BUILD/signerctl" -c "$T_TMP/other.yaml" init >/dev/null 2>&1
start_signerd "$T_TMP/other.yaml" "$T_TMP/signerd2.log"
check "another repository's CRL (a newer number) installs" sc crl --issuer server-ca --out "$out"
nh=$(crl_number "$out")
stop_signerd
start_signerd "$d/signerd.yaml" "$T_TMP/signerd3.log"
cp "$out" "$T_TMP/before.crl"
check_fails "a CRL with a lower number is refused" sc crl --issuer server-ca --out "$out"
check "and the installed CRL is left as it was" cmp -s "$out" "$T_TMP/before.crl"
sc crl --issuer server-ca --out "$out" 2>"$T_TMP/lower.err" >/dev/null
check "the refusal names both numbers" sh -c "grep -q '$nh' '$T_TMP/lower.err' && grep -qE '$n2|$nb|[0-9]{10}' '$T_TMP/lower.err'"

check "signerctl verify passes" "$BUILD/signerctl" -c "$d/signerd.yaml" verify
done_testing
