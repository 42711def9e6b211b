# SPDX-License-Identifier: GPL-3.0-or-later
# Shared helpers of the peer sync tests, sourced after lib.sh: paired signerd nodes on loopback, each behind a TCP proxy.
#
# sync_pair_make builds, from ONE `signerctl demo` environment in $d, node 1
# (the demo as it is, plus a sync section) and node 2 (a copy of the demo's
# token, its own softhsm2.conf, repository, pty and link certificate). Node N
# lives in $P/nN: signerd.yaml, link.pem, link-key.pem, softhsm2.conf,
# tty-signer (signerd's end of its pty pair), tty-client (signer-client's
# end), signerd.log (appended to across restarts). Node N's sync listener is
# on 127.0.0.1:$(node_var listen N); a socat proxy on $(node_var proxy N)
# forwards to it, and the peer dials the proxy: killing the proxies is a
# partition, starting them again heals it. node_add 3 adds a third node with
# an empty repository; node_conf N PEER pairs node N with another peer.

P=$T_TMP/pair
d=$P/demo
SYNC_WAIT=${SYNC_WAIT:-30}      # seconds to wait for two nodes to converge
SYNC_NODES=""                   # nodes made so far

# node_var NAME N: the value of the per-node variable NAME_N.
node_var() {
	eval "printf '%s\n' \"\${$1_$2:-}\""
}
node_set() {
	eval "$1_$2=\$3"
}

# free_ports N: N distinct loopback TCP ports below the ephemeral range, free now.
free_ports() {
	python3 -c '
import random, socket, sys
want, got, socks = int(sys.argv[1]), [], []
while len(got) < want:
    p = random.randint(20000, 32000)
    if p in got:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        s.close()
        continue
    socks.append(s)
    got.append(p)
print(" ".join(map(str, got)))' "$1"
}

# link_cert DIR NAME: a self-signed P-256 link certificate DIR/NAME.pem and its key DIR/NAME-key.pem (0600).
link_cert() {
	timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$1/$2-key.pem" -out "$1/$2.pem" -subj "/CN=$2.link.invalid" -days 30 \
	    2>/dev/null && chmod 600 "$1/$2-key.pem"
}

# fingerprint PEM: the SHA-256 fingerprint of a certificate, "AB:CD:...".
fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2
}

# node_add N: node N's directory, token copy (not node 1), link certificate, ports and pty pair.
node_add() {
	sl_n=$1
	sl_nd=$P/n$sl_n
	mkdir -p "$sl_nd"
	if [ "$sl_n" = 1 ]; then
		cp "$d/softhsm2.conf" "$sl_nd/softhsm2.conf"
		node_set repo "$sl_n" "$d/repo"
	else
		cp -a "$d/tokens" "$sl_nd/tokens"
		sed "s|^directories.tokendir = .*|directories.tokendir = $sl_nd/tokens|" \
		    "$d/softhsm2.conf" >"$sl_nd/softhsm2.conf"
		node_set repo "$sl_n" "$sl_nd/repo"
	fi
	link_cert "$sl_nd" link || return 1
	set -- $(free_ports 2)
	node_set listen "$sl_n" "$1"
	node_set proxy "$sl_n" "$2"
	pty_pair "$sl_nd/tty-signer" "$sl_nd/tty-client" || return 1
	node_set pty_pid "$sl_n" "$pty_pid"
	SYNC_NODES="$SYNC_NODES $sl_n"
}

# node_conf N PEER: node N's signerd.yaml, paired with node PEER (through PEER's proxy).
node_conf() {
	sl_nd=$P/n$1
	sed -e "s/^node: 1\$/node: $1/" \
	    -e "s|^  device: .*|  device: $sl_nd/tty-signer|" \
	    -e "s|^  path: .*/repo\$|  path: $(node_var repo "$1")|" \
	    "$d/signerd.yaml" >"$sl_nd/signerd.yaml"
	cat >>"$sl_nd/signerd.yaml" <<-EOF

	sync:
	  listen: "127.0.0.1:$(node_var listen "$1")"
	  peer: "127.0.0.1:$(node_var proxy "$2")"
	  peer_node: $2
	  cert: $sl_nd/link.pem
	  key: $sl_nd/link-key.pem
	  peer_fingerprint: "$(fingerprint "$P/n$2/link.pem")"
	  degraded_after_seconds: 2
	  batch_events: 64
	EOF
	grep -q "^node: $1\$" "$sl_nd/signerd.yaml" &&
	    grep -q "^  path: $(node_var repo "$1")\$" "$sl_nd/signerd.yaml"
}

# sync_pair_make: the demo environment, nodes 1 and 2 paired, both repositories initialised.
sync_pair_make() {
	mkdir -p "$P"
	timeout 120 "$BUILD/signerctl" demo "$d" >/dev/null 2>&1 || return 1
	node_add 1 && node_add 2 && node_conf 1 2 && node_conf 2 1 &&
	    node_init 1 && node_init 2
}

# ctl N ARGS...: signerctl on node N's configuration and token.
ctl() {
	sl_n=$1
	shift
	SOFTHSM2_CONF=$P/n$sl_n/softhsm2.conf timeout 60 "$BUILD/signerctl" -c "$P/n$sl_n/signerd.yaml" "$@"
}

# node_init N: signerctl init (node 1's repository exists already; init is idempotent).
node_init() {
	ctl "$1" init >>"$P/n$1/init.log" 2>&1
}

# node_start N: signerd of node N in the background; returns once its line is open.
node_start() {
	sl_nd=$P/n$1
	sl_log=$sl_nd/signerd.log
	touch "$sl_log"
	sl_before=$(grep -c 'line open' "$sl_log")
	SOFTHSM2_CONF=$sl_nd/softhsm2.conf "$BUILD/signerd" -d -c "$sl_nd/signerd.yaml" 2>>"$sl_log" &
	node_set sd_pid "$1" $!
	timeout 30 sh -c "until [ \$(grep -c 'line open' '$sl_log') -gt $sl_before ]; do sleep 0.05; done"
}

# node_stop N [SIGNAL]: stop node N's signerd (SIGTERM by default) and reap it.
node_stop() {
	sl_pid=$(node_var sd_pid "$1")
	[ -n "$sl_pid" ] || return 0
	kill -"${2:-TERM}" "$sl_pid" 2>/dev/null
	wait "$sl_pid" 2>/dev/null
	node_set sd_pid "$1" ""
}
node_kill() {
	node_stop "$1" KILL
}
node_up() {
	sl_pid=$(node_var sd_pid "$1")
	[ -n "$sl_pid" ] && kill -0 "$sl_pid" 2>/dev/null
}

# proxy_start N: the TCP proxy in front of node N's listener, in its own
# process group so that stopping it also cuts the connections it carries.
proxy_start() {
	sl_pid=$(node_var proxy_pid "$1")
	[ -z "$sl_pid" ] || ! kill -0 "$sl_pid" 2>/dev/null || return 0
	setsid socat TCP-LISTEN:"$(node_var proxy "$1")",bind=127.0.0.1,reuseaddr,fork \
	    TCP:127.0.0.1:"$(node_var listen "$1")" 2>/dev/null &
	node_set proxy_pid "$1" $!
	timeout 10 sh -c "until grep -q ' 0100007F:$(printf %04X "$(node_var proxy "$1")") 00000000:0000 0A ' \
	    /proc/net/tcp; do sleep 0.05; done"
}
proxy_stop() {
	sl_pid=$(node_var proxy_pid "$1")
	[ -n "$sl_pid" ] || return 0
	kill -- -"$sl_pid" 2>/dev/null || kill "$sl_pid" 2>/dev/null
	wait "$sl_pid" 2>/dev/null
	node_set proxy_pid "$1" ""
}
# partition A B / heal A B: cut or restore the link between two nodes.
partition() {
	proxy_stop "$1"
	proxy_stop "$2"
}
heal() {
	proxy_start "$1" && proxy_start "$2"
}

# sync_stop_all: every process the helpers started, then the temp dir (the EXIT trap).
sync_stop_all() {
	for sl_n in $SYNC_NODES; do
		node_stop "$sl_n" KILL
		proxy_stop "$sl_n"
		sl_pid=$(node_var pty_pid "$sl_n")
		[ -z "$sl_pid" ] || kill "$sl_pid" 2>/dev/null
	done
	cleanup_tmp
}

# sc N ARGS...: signer-client one-shot command against node N's pty.
sc() {
	sl_n=$1
	shift
	timeout 120 "$BUILD/signer-client" -c "$d/client.yaml" -t "$P/n$sl_n/tty-client" "$@"
}

# test_csr: the P-256 CSR every test certificate is made from, $P/csr.pem and $P/csr.der (made once).
test_csr() {
	mkdir -p "$P/certs"
	[ -f "$P/csr.der" ] && return 0
	timeout 30 openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$P/csr-key.pem" -subj /CN=sync.demo.invalid -out "$P/csr.pem" 2>/dev/null &&
	    openssl req -in "$P/csr.pem" -outform DER -out "$P/csr.der"
}

# sign N REF NAME: a server certificate for NAME.demo.invalid on node N;
# the certificate in $P/certs/REF.pem, its serial (lowercase hex) printed.
sign() {
	test_csr || return 1
	sc "$1" sign --profile server --csr "$P/csr.pem" --subject "CN=$3.demo.invalid" \
	    --san "dns:$3.demo.invalid" --ref "$2" --out "$P/certs/$2.pem" \
	    >/dev/null 2>>"$P/client.log" || return 1
	cert_serial "$P/certs/$2.pem"
}

# cert_serial PEM: a certificate's serial in lowercase hex without leading zeros.
cert_serial() {
	openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr A-F a-f | sed 's/^0*//'
}

# revoke N ISSUER SERIAL REASON REF: revoke through node N.
revoke() {
	sc "$1" revoke --issuer "$2" --serial "$3" --reason "$4" --ref "$5" \
	    >/dev/null 2>>"$P/client.log"
}

# signs N COUNT REFPREFIX: COUNT pipelined signs on node N (line-request); fails unless all are signed.
signs() {
	test_csr || return 1
	timeout 120 "$BUILD/tests/tools/line-request" -t 60000 "$P/n$1/tty-client" \
	    "signs:server:$P/csr.der:$2:$3:$3-" >"$P/signs-$3.out" 2>&1 &&
	    [ "$(grep -c '^id [0-9]* ok {"serial"' "$P/signs-$3.out")" -eq "$2" ]
}

# digest N: node N's `signerctl digest` line (read-only; works while signerd runs).
digest() {
	ctl "$1" digest 2>>"$P/n$1/ctl.log"
}
# digest_count N WHAT: the count of "certificates", "revocations" or "superseded" in node N's digest.
digest_count() {
	digest "$1" | sed -n "s/.* \([0-9][0-9]*\) $2.*/\1/p"
}

# converged A B [SECONDS]: wait until both nodes print the same digest; fails after SECONDS (SYNC_WAIT).
converged() {
	sl_i=0
	while :; do
		sl_a=$(digest "$1")
		sl_b=$(digest "$2")
		[ -z "$sl_a" ] || [ "$sl_a" != "$sl_b" ] || return 0
		sl_i=$((sl_i + 1))
		[ "$sl_i" -le $((${3:-$SYNC_WAIT} * 5)) ] || break
		sleep 0.2
	done
	echo "# not converged: node $1: $sl_a" >&2
	echo "# not converged: node $2: $sl_b" >&2
	return 1
}

# health N FILE: node N's health as JSON into FILE (exit status as signer-client's).
health() {
	sc "$1" --json health >"$2" 2>/dev/null
}
# peer_field FILE NAME: a number of the health's peer map.
peer_field() {
	python3 -c '
import json, sys
print(json.load(open(sys.argv[1]))["peer"][sys.argv[2]])' "$1" "$2" 2>/dev/null
}

# cert_state N SERIAL: "STATUS REASON REVOKED_AT" of a server-ca serial as node N reports it ("-" for absent fields).
cert_state() {
	sc "$1" --json cert --issuer server-ca --serial "$2" 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r.get("status", "-"), r.get("reason", "-"), r.get("revoked_at", "-"))'
}

# crl N FILE: node N's current server-ca CRL (DER) into FILE.
crl() {
	rm -f "$2"
	sc "$1" crl --issuer server-ca --out "$2" >/dev/null 2>>"$P/client.log"
}
# crl_number FILE: the cRLNumber of a DER CRL, in decimal.
crl_number() {
	printf '%d\n' "$(openssl crl -inform DER -in "$1" -noout -crlnumber | cut -d= -f2)"
}
# crl_verifies FILE: the DER CRL verifies against the server CA (openssl).
crl_verifies() {
	openssl crl -inform DER -in "$1" -CAfile "$d/ca/server-ca.pem" -noout 2>&1 |
	    grep -qx 'verify OK'
}
# crl_lists FILE SERIAL [REASON]: the DER CRL lists the serial (with that reason text, e.g. "Key Compromise").
crl_lists() {
	openssl crl -inform DER -in "$1" -noout -text | awk -v s="$2" '
	    { $0 = tolower($0) }
	    /serial number:/ { sub(/^ *serial number: 0*/, ""); on = ($0 == s); if (on) print "listed"; next }
	    /^[^ ]/ || /signature algorithm/ { on = 0 }
	    on' >"$1.entry" || return 1
	[ "$(sed -n 1p "$1.entry")" = listed ] || return 1
	[ -z "${3:-}" ] || grep -qi "$3" "$1.entry"
}

# listed_on N SERIAL [M]: signerctl list on node N (and on node M) shows the serial.
listed_on() {
	ctl "$1" list | awk '{ print $2 }' | grep -qx "$2" || return 1
	[ -z "${3:-}" ] || listed_on "$3" "$2"
}
# peer_is FILE NAME VALUE...: the health's peer map has each NAME at VALUE.
peer_is() {
	f=$1
	shift
	while [ $# -ge 2 ]; do
		[ "$(peer_field "$f" "$1")" = "$2" ] || return 1
		shift 2
	done
}
# peer_check N STATUS: node N's health has a peer check with that status.
peer_check() {
	health "$1" "$P/h$1.json"
	python3 -c '
import json, sys
h = json.load(open(sys.argv[1]))
c = [x for x in h["checks"] if x["name"] == "peer"]
sys.exit(0 if c and c[0]["status"] == sys.argv[2] else 1)' "$P/h$1.json" "$2"
}
# wait_peer_check N STATUS SECONDS: until node N's peer check has that status.
wait_peer_check() {
	i=0
	until peer_check "$1" "$2"; do
		i=$((i + 1))
		[ "$i" -le $(($3 * 4)) ] || return 1
		sleep 0.25
	done
}
