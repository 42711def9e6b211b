#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# make demo: a signer on one end of a pty pair, signer-client on the other: health, sign, verify, revoke, CRL.
set -eu
b=${BUILD:-build}
d=$(mktemp -d "${TMPDIR:-/tmp}/signer-demo.XXXXXX")
rmdir "$d"
sd_pid=
socat_pid=

stop() {
	[ -z "$sd_pid" ] || kill "$sd_pid" 2>/dev/null || true
	[ -z "$socat_pid" ] || kill "$socat_pid" 2>/dev/null || true
}
trap stop EXIT
step() {
	printf '\n== %s\n' "$*"
}

step "signerctl demo: a SoftHSM2 token with a root CA and two issuing CAs, configurations, a repository"
"$b/signerctl" demo "$d"
. "$d/env"

step "a null-modem cable: a pty pair, signerd on one end"
socat pty,rawer,echo=0,link="$d/tty-signer",ignoreeof \
    pty,rawer,echo=0,link="$d/tty-client",ignoreeof &
socat_pid=$!
timeout 10 sh -c "while [ ! -e '$d/tty-signer' ] || [ ! -e '$d/tty-client' ]; do sleep 0.1; done"
"$b/signerd" -d -c "$d/signerd.yaml" 2>"$d/signerd.log" &
sd_pid=$!
timeout 30 sh -c "until grep -q 'line open' '$d/signerd.log'; do sleep 0.1; done"
echo "signerd is listening on $d/tty-signer (log: $d/signerd.log)"

client() {
	timeout 120 "$b/signer-client" -c "$d/client.yaml" "$@"
}

step "signer-client health"
client health

step "a fresh key and CSR for www.demo.invalid (openssl), signed over the line"
openssl req -new -newkey rsa:2048 -nodes -keyout "$d/www.key" \
    -subj /CN=www.demo.invalid -out "$d/www.csr" 2>/dev/null
client sign --profile server --csr "$d/www.csr" --subject CN=www.demo.invalid \
    --san dns:www.demo.invalid --san ip:192.0.2.10 --ref demo-www-1 --out "$d/www.pem"
openssl x509 -in "$d/www.pem" -noout -subject -issuer -serial -dates -ext subjectAltName

step "openssl verifies it against the demo chain"
openssl verify -x509_strict -purpose sslserver -CAfile "$d/ca/root.pem" \
    -untrusted "$d/ca/server-ca.pem" "$d/www.pem"

step "sending the same ref again returns the very same certificate"
client sign --profile server --csr "$d/www.csr" --subject CN=www.demo.invalid \
    --san dns:www.demo.invalid --san ip:192.0.2.10 --ref demo-www-1 --out "$d/www-again.pem"
cmp "$d/www.pem" "$d/www-again.pem" && echo "identical"

serial=$(openssl x509 -in "$d/www.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//')
step "revoke serial $serial (keyCompromise)"
client revoke --issuer server-ca --serial "$serial" --reason keyCompromise --ref demo-revoke-1

step "fetch the CRL of server-ca: verified against the CA before it is written"
client crl --issuer server-ca --out "$d/server-ca.crl"
openssl crl -inform DER -in "$d/server-ca.crl" -noout -text | sed -n '/Last Update/,/Signature Algorithm/p' | grep -v 'Signature Algorithm'
openssl crl -inform DER -in "$d/server-ca.crl" -noout -text | grep -iq "$serial" &&
    echo "serial $serial is on the CRL"

step "the certificate now fails a CRL check"
openssl crl -inform DER -in "$d/server-ca.crl" -out "$d/server-ca.crl.pem"
cat "$d/ca/root.pem" "$d/ca/server-ca.pem" >"$d/chain.pem"
if openssl verify -crl_check -CAfile "$d/chain.pem" -CRLfile "$d/server-ca.crl.pem" "$d/www.pem" 2>&1; then
	echo "unexpected: the revoked certificate verified" >&2
	exit 1
fi

step "stopping signerd"
stop
sd_pid=
socat_pid=
echo "The demo's files are in $d (signerd.yaml, client.yaml, ca/, repo/, signerd.log, www.pem, server-ca.crl)."
echo "Look around with: . $d/env; $b/signerctl -c $d/signerd.yaml list"
