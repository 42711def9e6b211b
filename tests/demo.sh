#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# make demo: a signer on one end of a pty pair, signer-client on the other: health, sign, verify, revoke, CRL; a paired second signer.
set -eu
b=${BUILD:-build}
d=$(mktemp -d "${TMPDIR:-/tmp}/signer-demo.XXXXXX")
rmdir "$d"
sd_pid=
socat_pid=
sd2_pid=
socat2_pid=

stop() {
	for p in $sd_pid $socat_pid $sd2_pid $socat2_pid; do
		kill "$p" 2>/dev/null || true
	done
}
trap stop EXIT
step() {
	printf '\n== %s\n' "$*"
}

step "signerctl demo: a SoftHSM2 token with a root CA and two issuing CAs, configurations, a repository"
"$b/signerctl" demo "$d"
. "$d/env"

step "a second signer, node 2, paired over TLS: a copy of the token (the same CA keys), its own repository and line"
d2=$d/node2
mkdir -p "$d2"
cp -a "$d/tokens" "$d2/tokens"
sed "s|^directories.tokendir = .*|directories.tokendir = $d2/tokens|" "$d/softhsm2.conf" >"$d2/softhsm2.conf"
set -- $(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')
port1=$1 port2=$2
for n in 1 2; do
	dir=$d; [ "$n" = 1 ] || dir=$d2
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	    -keyout "$dir/link-key.pem" -out "$dir/link.pem" -subj "/CN=signer-node-$n.link" 2>/dev/null
	chmod 600 "$dir/link-key.pem"
done
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
sed -e 's/^node: 1$/node: 2/' -e "s|^  device: .*|  device: $d2/tty-signer|" \
    -e "s|^  path: .*/repo$|  path: $d2/repo|" "$d/signerd.yaml" >"$d2/signerd.yaml"
sync_section() { # listen peer peer_node dir peer_dir
	printf '\nsync:\n  listen: "127.0.0.1:%s"\n  peer: "127.0.0.1:%s"\n  peer_node: %s\n' "$1" "$2" "$3"
	printf '  cert: %s/link.pem\n  key: %s/link-key.pem\n  peer_fingerprint: "%s"\n' "$4" "$4" "$(fp "$5/link.pem")"
}
sync_section "$port1" "$port2" 2 "$d" "$d2" >>"$d/signerd.yaml"
sync_section "$port2" "$port1" 1 "$d2" "$d" >>"$d2/signerd.yaml"
SOFTHSM2_CONF=$d2/softhsm2.conf "$b/signerctl" -c "$d2/signerd.yaml" init
socat pty,rawer,echo=0,link="$d2/tty-signer",ignoreeof \
    pty,rawer,echo=0,link="$d2/tty-client",ignoreeof &
socat2_pid=$!
timeout 10 sh -c "while [ ! -e '$d2/tty-signer' ] || [ ! -e '$d2/tty-client' ]; do sleep 0.1; done"

step "a null-modem cable: a pty pair, signerd on one end"
socat pty,rawer,echo=0,link="$d/tty-signer",ignoreeof \
    pty,rawer,echo=0,link="$d/tty-client",ignoreeof &
socat_pid=$!
timeout 10 sh -c "while [ ! -e '$d/tty-signer' ] || [ ! -e '$d/tty-client' ]; do sleep 0.1; done"
"$b/signerd" -d -c "$d/signerd.yaml" 2>"$d/signerd.log" &
sd_pid=$!
timeout 30 sh -c "until grep -q 'line open' '$d/signerd.log'; do sleep 0.1; done"
echo "signerd is listening on $d/tty-signer (log: $d/signerd.log)"
SOFTHSM2_CONF=$d2/softhsm2.conf "$b/signerd" -d -c "$d2/signerd.yaml" 2>"$d2/signerd.log" &
sd2_pid=$!
timeout 30 sh -c "until grep -q 'sync: connected to node 1' '$d2/signerd.log' &&
    grep -q 'sync: connected to node 2' '$d/signerd.log'; do sleep 0.1; done"
echo "node 2 is listening on $d2/tty-signer and replicates with node 1 (log: $d2/signerd.log)"

client() {
	timeout 120 "$b/signer-client" -c "$d/client.yaml" "$@"
}
client2() {
	timeout 120 "$b/signer-client" -c "$d/client.yaml" -t "$d2/tty-client" "$@"
}
# until_equal: wait until both signers' repositories hold the same events.
until_equal() {
	i=0
	while [ "$(SOFTHSM2_CONF=$d/softhsm2.conf "$b/signerctl" -c "$d/signerd.yaml" digest)" != \
	    "$(SOFTHSM2_CONF=$d2/softhsm2.conf "$b/signerctl" -c "$d2/signerd.yaml" digest)" ]; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || { echo "the signers did not converge" >&2; exit 1; }
		sleep 0.1
	done
	printf "same digest on both signers: %s\n" "$("$b/signerctl" -c "$d/signerd.yaml" digest)"
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
step "node 2 holds the certificate node 1 issued (replicated in milliseconds)"
until_equal
client2 cert --issuer server-ca --serial "$serial" | head -3

step "revoke serial $serial (keyCompromise) on node 2"
client2 revoke --issuer server-ca --serial "$serial" --reason keyCompromise --ref demo-revoke-1
until_equal

step "fetch the CRL of server-ca from node 1: verified against the CA before it is written"
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

step "health of node 2: its peer check"
client2 health | grep -i peer || true

step "stopping both signers"
stop
sd_pid= socat_pid= sd2_pid= socat2_pid=
echo "The demo's files are in $d (signerd.yaml, client.yaml, ca/, repo/, signerd.log, www.pem, server-ca.crl; node2/)."
echo "Look around with: . $d/env; $b/signerctl -c $d/signerd.yaml list"
