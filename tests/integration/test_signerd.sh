#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# signerd on a demo environment over a pty pair: every command, hostile input, batching, line re-open, SIGTERM.
. tests/integration/lib.sh

ctl=$BUILD/signerctl
sd=$BUILD/signerd
lr=$BUILD/tests/tools/line-request
d=$T_TMP/demo
a=$T_TMP/a
b=$T_TMP/b
socat_pid=
sd_pid=

stop_all() {
	[ -z "$sd_pid" ] || kill "$sd_pid" 2>/dev/null
	[ -z "$socat_pid" ] || kill "$socat_pid" 2>/dev/null
	cleanup_tmp
}
trap stop_all EXIT

start_socat() {
	pty_pair "$a" "$b"
	socat_pid=$pty_pid
}

# req NAME OPS...: run line-request with OPS; its output is in $T_TMP/out.
req() {
	timeout 60 "$lr" "$b" "$@" >"$T_TMP/out" 2>&1
}

# has PATTERN: the last output matches the extended regular expression.
has() {
	grep -Eq "$1" "$T_TMP/out"
}

check "demo environment" timeout 120 sh -c "'$ctl' demo '$d' >/dev/null 2>&1"
. "$d/env"
cf=$d/signerd.yaml
check "-n prints configuration OK" sh -c "timeout 30 '$sd' -n -c '$cf' | grep -qx 'configuration OK'"
check_fails "-n fails on a broken configuration" \
	sh -c "sed 's/^node: 1/nodes: 1/' '$cf' >'$T_TMP/bad.yaml'; timeout 30 '$sd' -n -c '$T_TMP/bad.yaml' 2>/dev/null"

start_socat
"$sd" -d -c "$cf" -t "$a" 2>"$T_TMP/signerd.log" &
sd_pid=$!
timeout 10 sh -c "until grep -q 'line open' '$T_TMP/signerd.log'; do sleep 0.1; done"
check "signerd opens the line" grep -q 'line open' "$T_TMP/signerd.log"

req hello
check "hello names the server and its commands" has '^id 1 ok .*"server": "signerd".*"commands": \[.*"sign".*"crl"'
req health
check "health is ok with four checks" has '"status": "ok".*"name": "repository".*"name": "hsm".*"name": "ca_validity".*"name": "clock"'
check "health lists the issuers" has '"issuers": \[\{"id": "server-ca".*"days_left"'
req ca
check "ca lists both issuers with profiles" has '"id": "server-ca", "cert": <bin [0-9]+>.*"profiles": \["server"\], "active": true.*"id": "client-ca"'

timeout 30 openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T_TMP/key.pem" -subj /CN=www.demo.invalid -outform DER -out "$T_TMP/csr.der" 2>/dev/null
req sign:server:"$T_TMP/csr.der":ref-1:www.demo.invalid:"$T_TMP/c.der"
check "sign returns a certificate" has '^id 1 ok \{"serial": "[0-9a-f]+", "issuer": "server-ca", "cert": <bin'
serial=$(sed -n 's/.*"serial": "\([0-9a-f]*\)".*/\1/p' "$T_TMP/out")
openssl x509 -inform DER -in "$T_TMP/c.der" -out "$T_TMP/c.pem" 2>/dev/null
check "the certificate verifies against the CA chain (openssl)" timeout 30 sh -c \
	"openssl verify -CAfile '$d/ca/root.pem' -untrusted '$d/ca/server-ca.pem' '$T_TMP/c.pem' >/dev/null 2>&1"
check "the serial in the response is the certificate's" sh -c \
	"openssl x509 -in '$T_TMP/c.pem' -noout -serial | tr A-F a-f | grep -q '=0*$serial\$'"
req sign:server:"$T_TMP/csr.der":ref-1:www.demo.invalid:"$T_TMP/c2.der"
check "the same ref returns the same certificate" cmp -s "$T_TMP/c.der" "$T_TMP/c2.der"
req sign:server:"$T_TMP/csr.der":ref-1:other.demo.invalid:"$T_TMP/c3.der"
check "a ref reused for another request is a conflict" has '^id 1 error conflict: '
req sign:nosuch:"$T_TMP/csr.der":ref-2:www.demo.invalid:"$T_TMP/c3.der"
check "an unknown profile is refused" has '^id 1 error (not_found|policy): '

req cert:server-ca:"$serial"
check "cert of an issued certificate is good" has '"cert": <bin [0-9]+>, "status": "good"'
req revoke:server-ca:"$serial":rev-1:keyCompromise
check "revoke records the revocation" has "^id 1 ok \\{\"issuer\": \"server-ca\", \"serial\": \"$serial\", \"revoked_at\": [0-9]+"
req revoke:server-ca:7f0102:rev-2
check "revoke of an unknown serial is recorded" has '"serial": "7f0102", "revoked_at"'
req revoke:server-ca:7f0102:rev-3:notAReason
check "an unknown reason is a bad request" has '^id 1 error bad_request: '
req revoke:nosuch:7f0102:rev-4
check "an unknown issuer is not_found" has '^id 1 error not_found: '
req cert:server-ca:"$serial"
check "cert shows the revocation and its reason" has '"status": "revoked", "revoked_at": [0-9]+, "reason": "keyCompromise"'
req cert:server-ca:ffff
check "cert of an unknown serial is unknown" has '"status": "unknown"'

req crl:server-ca:"$T_TMP/crl.der"
check "crl is fetched in several chunks" has '^id 2 ok .*"offset": 256'
openssl crl -inform DER -in "$T_TMP/crl.der" -out "$T_TMP/crl.pem" 2>/dev/null
check "the CRL verifies against the CA chain (openssl)" timeout 30 sh -c \
	"openssl crl -in '$T_TMP/crl.pem' -noout -verify -CAfile '$d/ca/chain-server.pem' 2>&1 | grep -qx 'verify OK'"
check "the CRL lists both revoked serials" sh -c \
	"openssl crl -in '$T_TMP/crl.pem' -noout -text | tr A-F a-f >'$T_TMP/crl.txt' && grep -q '7f0102' '$T_TMP/crl.txt' && grep -q '$serial' '$T_TMP/crl.txt'"
check "the CRL carries the reason and its number" \
	sh -c "grep -qi 'key compromise' '$T_TMP/crl.txt' && grep -qi 'crl number' '$T_TMP/crl.txt'"
check "the revoked certificate fails openssl verify -crl_check" timeout 30 sh -c \
	"openssl verify -crl_check -CRLfile '$T_TMP/crl.pem' -CAfile '$d/ca/root.pem' -untrusted '$d/ca/server-ca.pem' '$T_TMP/c.pem' 2>&1 | grep -q 'certificate revoked'"

req signs:server:"$T_TMP/csr.der":20
check "20 pipelined sign requests are answered in order" \
	sh -c "grep -c '^id [0-9]* ok {\"serial\"' '$T_TMP/out' | grep -qx 20 && awk '{print \$2}' '$T_TMP/out' | tr '\n' ' ' | grep -q '^1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 \$'"

# Hostile input: each is answered with an error, and the next request still works.
for op in garbage badcrc oversize; do
	req "$op" hello
	check "$op: answered with frame, id 0, then served" has '^id 0 error frame: '
	check "$op: the next request is answered" has '^id [0-9]+ ok .*"server": "signerd"'
done
req bomb hello
check "msgpack bomb: decode error, then served" sh -c "grep -q '^id 0 error decode: ' '$T_TMP/out' && grep -q '^id 1 ok' '$T_TMP/out'"
req unknown hello
check "unknown command: unknown_cmd with its id" sh -c "grep -q '^id 1 error unknown_cmd: ' '$T_TMP/out' && grep -q '^id 2 ok' '$T_TMP/out'"
req badversion hello
check "wrong version: unsupported_version with its id" sh -c "grep -q '^id 1 error unsupported_version: ' '$T_TMP/out' && grep -q '^id 2 ok' '$T_TMP/out'"
req health
check "health counts the bad input" has '"bad_frame": [1-9][0-9]*, "bad_decode": [1-9][0-9]*, .*"unknown_cmd": [1-9]'
check "bad input is logged with its reason" grep -q 'bad input (id 0): frame: bad frame: frame CRC mismatch' "$T_TMP/signerd.log"
check "requests are logged with ref, issuer and serial" \
	grep -q "cmd revoke ref 'rev-1' issuer 'server-ca' serial $serial: ok" "$T_TMP/signerd.log"
check "the PIN never appears in the log" sh -c "! grep -qF \"\$(cat '$d/pin')\" '$T_TMP/signerd.log'"

# The line vanishes and comes back: signerd re-opens it.
kill "$socat_pid"
wait "$socat_pid" 2>/dev/null
sleep 0.5
start_socat
timeout 15 sh -c "until [ \$(grep -c 'line open' '$T_TMP/signerd.log') -ge 2 ]; do sleep 0.1; done"
check "signerd re-opens the line after a hang-up" sh -c "[ \$(grep -c 'line open' '$T_TMP/signerd.log') -ge 2 ]"
req hello
check "and serves again after the re-open" has '^id 1 ok'

kill -TERM "$sd_pid"
timeout 10 sh -c "while kill -0 $sd_pid 2>/dev/null; do sleep 0.1; done"
wait "$sd_pid"
check "SIGTERM: signerd exits 0" test $? -eq 0
sd_pid=

# A short queue: pipelined sign requests are batched, and the overflow is busy.
sed -e 's/^  baud: \(.*\)/  baud: \1\n  queue: 4/' -e 's/^  level: info/  level: debug/' "$cf" >"$T_TMP/q4.yaml"
"$sd" -d -c "$T_TMP/q4.yaml" -t "$a" 2>"$T_TMP/signerd2.log" &
sd_pid=$!
timeout 10 sh -c "until grep -q 'line open' '$T_TMP/signerd2.log'; do sleep 0.1; done"
req signs:server:"$T_TMP/csr.der":40
check "a full queue answers busy" has '^id [0-9]+ error busy: '
# line-request prints "mismatch:" for an answer out of order or of the wrong kind.
check "every pipelined request is answered, in order" \
	sh -c "[ \$(grep -c '^id ' '$T_TMP/out') -eq 40 ] && ! grep -q '^mismatch' '$T_TMP/out'"
check "queued sign requests are signed in batches" grep -q 'signed a batch of' "$T_TMP/signerd2.log"

done_testing
