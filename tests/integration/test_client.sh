#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# signer-client against a real signerd over a pty pair: every one-shot command, retries by ref, an unreachable signer.
. tests/integration/lib.sh

d=$T_TMP/demo
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
"$BUILD/signerd" -d -c "$d/signerd.yaml" 2>"$T_TMP/signerd.log" &
sd_pid=$!
timeout 30 sh -c "until grep -q 'line open' '$T_TMP/signerd.log'; do sleep 0.1; done"

sc() {
	timeout 120 "$BUILD/signer-client" -c "$d/client.yaml" "$@"
}

check "health exits 0 when the signer is ok" sc health
check "health --write writes the monitoring files" sc health --write
check "the Prometheus textfile says the signer is up, with each CA's days left" sh -c \
	"grep -qx 'signer_up 1' '$d/signer.prom' && grep -q '^signer_ca_days_left{issuer=\"server-ca\"} [0-9]' '$d/signer.prom' &&
	grep -q '^signer_crl_next_update_timestamp_seconds{issuer=\"client-ca\"} [0-9]' '$d/signer.prom'"
check "the JSON status file parses and says ok" python3 -c \
	"import json,sys; d = json.load(open('$d/health.json')); sys.exit(0 if d['status'] == 'ok' and d['up'] else 1)"
check "health --json says ok" sh -c "timeout 60 '$BUILD/signer-client' -c '$d/client.yaml' --json health | grep -q '\"status\": \"ok\"'"

openssl req -new -newkey rsa:2048 -nodes -keyout "$T_TMP/k.pem" -subj /CN=a.demo.invalid \
    -out "$T_TMP/a.csr" 2>/dev/null
sc sign --profile server --csr "$T_TMP/a.csr" --subject CN=a.demo.invalid \
    --san dns:a.demo.invalid --out "$T_TMP/a.pem" 2>"$T_TMP/sign.err"
check "sign without --ref prints the generated ref" grep -q '^ref: ' "$T_TMP/sign.err"
check "the certificate verifies (openssl)" \
	openssl verify -x509_strict -purpose sslserver -CAfile "$d/ca/root.pem" \
	    -untrusted "$d/ca/server-ca.pem" "$T_TMP/a.pem"
cat "$T_TMP/a.pem" "$d/ca/server-ca.pem" >"$T_TMP/chain.pem"
check "the certificate verifies (certtool)" sh -c "certtool --verify --load-ca-certificate \
	'$d/ca/root.pem' --infile '$T_TMP/chain.pem' | grep -q 'Chain verification output: Verified'"

ref=$(sed -n 's/^ref: //p' "$T_TMP/sign.err")
sc sign --profile server --csr "$T_TMP/a.csr" --subject CN=a.demo.invalid \
    --san dns:a.demo.invalid --ref "$ref" --out "$T_TMP/a2.pem" 2>/dev/null
check "a retry with the same ref returns the same certificate" cmp -s "$T_TMP/a.pem" "$T_TMP/a2.pem"
check "the same ref for another request is a conflict" sh -c "! timeout 60 '$BUILD/signer-client' \
	-c '$d/client.yaml' sign --profile server --csr '$T_TMP/a.csr' --subject CN=b.demo.invalid \
	--san dns:b.demo.invalid --ref '$ref' 2>'$T_TMP/c.err' && grep -q 'conflict' '$T_TMP/c.err'"
check "a policy refusal names the rule" sh -c "! timeout 60 '$BUILD/signer-client' \
	-c '$d/client.yaml' sign --profile server --csr '$T_TMP/a.csr' --subject CN=x..demo.invalid \
	--san dns:x..demo.invalid 2>'$T_TMP/p.err' && grep -q 'policy: .*empty label' '$T_TMP/p.err'"
check "the repository holds exactly one certificate" \
	test "$("$BUILD/signerctl" -c "$d/signerd.yaml" list | wc -l)" -eq 1

serial=$(openssl x509 -in "$T_TMP/a.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//')
check "cert reports good" sh -c "timeout 60 '$BUILD/signer-client' -c '$d/client.yaml' cert \
	--issuer server-ca --serial $serial | grep -q good"
check "revoke" sc revoke --issuer server-ca --serial "$serial" --reason keyCompromise --ref r-1
check "cert reports revoked" sh -c "timeout 60 '$BUILD/signer-client' -c '$d/client.yaml' cert \
	--issuer server-ca --serial $serial | grep -q revoked"
check "crl is fetched and written" sc crl --issuer server-ca --out "$T_TMP/s.crl"
mkdir -p "$d/crl" && cp "$T_TMP/s.crl" "$d/crl/server-ca.crl"
sc health --write >/dev/null
check "a published CRL shows in the textfile with its age" \
	grep -q '^signer_crl_published_age_seconds{issuer="server-ca"} [0-9]' "$d/signer.prom"
check "the CRL verifies (openssl)" \
	openssl crl -inform DER -in "$T_TMP/s.crl" -CAfile "$d/ca/server-ca.pem" -noout
check "the CRL lists the serial" sh -c "openssl crl -inform DER -in '$T_TMP/s.crl' -noout -text | grep -qi '$serial'"
openssl crl -inform DER -in "$T_TMP/s.crl" -out "$T_TMP/s.crl.pem"
cat "$d/ca/root.pem" "$d/ca/server-ca.pem" >"$T_TMP/cas.pem"
check_fails "the revoked certificate fails a CRL check" \
	sh -c "openssl verify -crl_check -CAfile '$T_TMP/cas.pem' -CRLfile '$T_TMP/s.crl.pem' '$T_TMP/a.pem' >/dev/null 2>&1"
check "ca --out writes every issuer certificate" \
	sh -c "mkdir '$T_TMP/cadir' && timeout 60 '$BUILD/signer-client' -c '$d/client.yaml' ca --out '$T_TMP/cadir' >/dev/null && \
	cmp -s '$T_TMP/cadir/server-ca.pem' '$d/ca/server-ca.pem' && test -s '$T_TMP/cadir/client-ca.pem'"
check "signerctl verify passes after all this" "$BUILD/signerctl" -c "$d/signerd.yaml" verify

# The signer goes away: health reports unreachable (3) within its timeouts.
kill "$sd_pid"
wait "$sd_pid" 2>/dev/null
sd_pid=
sed -e 's/^timeout_ms:.*/timeout_ms: 300/' -e 's/^retries:.*/retries: 1/' "$d/client.yaml" >"$T_TMP/fast.yaml"
grep -q '^timeout_ms: 300' "$T_TMP/fast.yaml" || printf 'timeout_ms: 300\nretries: 1\n' >>"$T_TMP/fast.yaml"
timeout 60 "$BUILD/signer-client" -c "$T_TMP/fast.yaml" health >/dev/null 2>&1
check "health exits 3 when the signer is unreachable" test $? -eq 3
timeout 60 "$BUILD/signer-client" -c "$T_TMP/fast.yaml" health --write >/dev/null 2>&1
check "health --write exits 3 too, and the textfile says the signer is down" sh -c \
	"[ $? -eq 3 ] && grep -qx 'signer_up 0' '$d/signer.prom' && grep -qx 'signer_status{status=\"unreachable\"} 1' '$d/signer.prom'"

done_testing
