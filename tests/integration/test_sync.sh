#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Peer sync end to end: two signerd on loopback converge through partitions, SIGKILLs, downtime and a fresh node; hostile peers are refused.
. tests/integration/lib.sh
. tests/integration/sync_lib.sh
trap sync_stop_all EXIT

certs=0         # certificates issued so far, on any node

# serial_node PEM: the first byte of a certificate's serial (its issuing node), in decimal.
serial_node() {
	printf '%d\n' "0x$(openssl x509 -in "$1" -noout -serial | cut -d= -f2 | cut -c1-2)"
}
# same_state SERIAL: both nodes 1 and 2 report the same status, reason and time; prints it.
same_state() {
	a=$(cert_state 1 "$1")
	b=$(cert_state 2 "$1")
	echo "$a"
	[ "$a" = "$b" ]
}
# state_is N SERIAL STATUS [REASON]: node N reports that status (and reason).
state_is() {
	set -- "$(cert_state "$1" "$2")" "$3" "${4:-}"
	case "$1" in
	"$2 $3"*) return 0 ;;
	"$2 "*) [ -z "$3" ] ;;
	*) return 1 ;;
	esac
}
# wait_field_above N FIELD VALUE SECONDS: until node N's health peer.FIELD exceeds VALUE.
wait_field_above() {
	i=0
	while :; do
		health "$1" "$P/hf.json"
		v=$(peer_field "$P/hf.json" "$2")
		[ -z "$v" ] || [ "$v" -le "$3" ] || return 0
		i=$((i + 1))
		[ "$i" -le $(($4 * 4)) ] || return 1
		sleep 0.25
	done
}

# kill_loop N TIMES: SIGKILL node N and start it again, TIMES times.
kill_loop() {
	k=0
	while [ $k -lt "$2" ]; do
		node_kill "$1"
		node_start "$1" || return 1
		sleep 0.2
		k=$((k + 1))
	done
}
# kill_during LOAD VICTIM COUNT PREFIX: COUNT pipelined signs on node LOAD
# while node VICTIM is SIGKILLed and restarted three times; all must be signed.
kill_during() {
	signs "$1" "$3" "$4" &
	load=$!
	sleep 0.2
	kill_loop "$2" 3 || return 1
	wait "$load"
}

# log_since N LINES PATTERN: a line of node N's log after its first LINES matches the extended regular expression.
log_since() {
	tail -n +"$(($2 + 1))" "$P/n$1/signerd.log" | grep -Eq "$3"
}
log_lines() {
	wc -l <"$P/n$1/signerd.log"
}

# ---- the pair, each node on its own ---------------------------------------

check "a pair from one demo environment" sync_pair_make
check "node 1 starts" node_start 1
check "node 2 starts" node_start 2
s1=$(sign 1 one a1) && certs=$((certs + 1))
check "node 1 signs while partitioned" test -n "$s1"
b1=$(sign 2 two b1) && certs=$((certs + 1))
check "node 2 signs while partitioned" test -n "$b1"
check "node 1's serial carries node id 1" test "$(serial_node "$P/certs/one.pem")" -eq 1
check "node 2's serial carries node id 2" test "$(serial_node "$P/certs/two.pem")" -eq 2
check_fails "the digests differ before sync" converged 1 2 1
check "node 2 does not hold node 1's certificate yet" state_is 2 "$s1" unknown

# ---- both up: what one signs appears on the other -------------------------

check "heal" heal 1 2
check "the digests converge" converged 1 2
check "node 2 lists node 1's certificate" listed_on 2 "$s1"
check "node 1 lists node 2's certificate" listed_on 1 "$b1"
check "node 2 reports it good" state_is 2 "$s1" good
sc 2 cert --issuer server-ca --serial "$s1" 2>/dev/null | sed -n '/^-----BEGIN/,/^-----END/p' >"$P/s1-from-2.pem"
check "with the very certificate node 1 issued" cmp -s "$P/s1-from-2.pem" "$P/certs/one.pem"
check "both digests count 2 certificates" test "$(digest_count 2 certificates)" -eq 2
check "health: node 1's peer check is ok" wait_peer_check 1 ok 10
check "health: node 2's peer check is ok" wait_peer_check 2 ok 10
check "health: node 1 sees node 2, connected both ways" peer_is "$P/h1.json" node 2 out_up True in_up True
check "health: neither node is behind the other" peer_is "$P/h1.json" peer_behind 0 we_behind 0
check "health: nothing refused, no bad input, no TLS failure" \
	peer_is "$P/h1.json" refused 0 bad_input 0 tls_failures 0

# ---- a partition: revocations and issuance on both sides ------------------

sh_=$(sign 1 shared shared) && certs=$((certs + 1))
tie=$(sign 2 tie tie) && certs=$((certs + 1))
check "two certificates both nodes revoke, issued before the partition" converged 1 2
check "partition" partition 1 2
c1=$(sign 1 p1 p1) && certs=$((certs + 1))
c2=$(sign 2 p2 p2) && certs=$((certs + 1))
check "node 1 signs during the partition" test -n "$c1"
check "node 2 signs during the partition" test -n "$c2"
check "node 2 revokes a certificate node 1 issued" revoke 2 server-ca "$s1" keyCompromise rv-s1
check "node 1 revokes its own" revoke 1 server-ca "$c1" affiliationChanged rv-c1
check "node 2 revokes its own" revoke 2 server-ca "$c2" cessationOfOperation rv-c2
check "node 1 revokes one node 2 issued before the partition" revoke 1 server-ca "$b1" superseded rv-b1
# The same serial on both: node 2 first, node 1 a second later; the earliest wins though node 1 has the lower id.
check "node 2 revokes the shared certificate first" revoke 2 server-ca "$sh_" keyCompromise rv-sh-2
sleep 1.1
check "node 1 revokes it a second later, another reason" revoke 1 server-ca "$sh_" cessationOfOperation rv-sh-1
first=$(cert_state 2 "$sh_")
# Both at once, most likely in the same second: then the lower node id wins.
revoke 1 server-ca "$tie" affiliationChanged rv-tie-1 &
rv1=$!
revoke 2 server-ca "$tie" keyCompromise rv-tie-2
wait "$rv1"
t1=$(cert_state 1 "$tie")
t2=$(cert_state 2 "$tie")
tie_win=$t1
[ "${t2##* }" -ge "${t1##* }" ] 2>/dev/null || tie_win=$t2
check "both nodes revoke another at once, with other reasons" sh -c "[ '${t1% *}' = 'revoked affiliationChanged' ] &&
	[ '${t2% *}' = 'revoked keyCompromise' ]"
check_fails "the digests differ during the partition" converged 1 2 1
check "health: the peer check degrades on a long partition" wait_peer_check 1 degraded 10
crl 1 "$P/part-1.crl"
np=$(crl_number "$P/part-1.crl")
check "heal" heal 1 2
check "the digests converge after the heal" converged 1 2
check "health: the peer check is ok again" wait_peer_check 1 ok 10
for x in "$s1" "$b1" "$sh_" "$tie" "$c1" "$c2"; do
	check "both nodes list $x" listed_on 1 "$x" 2
	check "both nodes report $x the same" same_state "$x"
done
check "node 1 has node 2's revocation of its certificate" state_is 1 "$s1" revoked keyCompromise
check "node 2 has node 1's revocation of its certificate" state_is 2 "$b1" revoked superseded
check "node 1's revocation of its own reached node 2" state_is 2 "$c1" revoked affiliationChanged
check "node 2's revocation of its own reached node 1" state_is 1 "$c2" revoked cessationOfOperation
check "the earliest revocation of the shared serial wins on node 1" state_is 1 "$sh_" revoked keyCompromise
check "with node 2's time and reason" test "$(cert_state 1 "$sh_")" = "$first"
check "and node 2 keeps its own" test "$(cert_state 2 "$sh_")" = "$first"
check "a revocation made on both at once: the earlier, or node 1's in the same second, on node 1" \
	test "$(cert_state 1 "$tie")" = "$tie_win"
check "and on node 2" test "$(cert_state 2 "$tie")" = "$tie_win"
check "node 1 counts 6 revocations" test "$(digest_count 1 revocations)" -eq 6
check "node 2 counts 6 revocations" test "$(digest_count 2 revocations)" -eq 6
for n in 1 2; do
	check "node $n: a CRL is fetched" crl "$n" "$P/heal-$n.crl"
	check "node $n: the CRL verifies (openssl)" crl_verifies "$P/heal-$n.crl"
	for x in "$s1" "$b1" "$tie" "$c1" "$c2"; do
		check "node $n: the CRL lists $x" crl_lists "$P/heal-$n.crl" "$x"
	done
	check "node $n: the CRL lists the shared serial as key compromise" \
		crl_lists "$P/heal-$n.crl" "$sh_" "key compromise"
done
check "the CRL made after the heal has a higher number than the one before" \
	test "$(crl_number "$P/heal-1.crl")" -gt "$np"
# Node 2 makes a CRL after it has seen node 1's: a node-1 event after the CRL reaches it first.
crl 1 "$P/seq-1.crl"
e1=$(sign 1 after-crl-1 after1) && certs=$((certs + 1))
converged 1 2 >/dev/null
check "node 2 holds the certificate signed after node 1's CRL" listed_on 2 "$e1"
revoke 2 server-ca "$e1" superseded rv-after-1 >/dev/null
check "node 2: a CRL after a revocation" crl 2 "$P/seq-2.crl"
check "its number is higher than every number node 1 made" \
	test "$(crl_number "$P/seq-2.crl")" -gt "$(crl_number "$P/seq-1.crl")"
e2=$(sign 2 after-crl-2 after2) && certs=$((certs + 1))
converged 1 2 >/dev/null
revoke 1 server-ca "$e2" superseded rv-after-2 >/dev/null
check "node 1: a CRL after node 2's" crl 1 "$P/seq-3.crl"
check "its number is higher again" test "$(crl_number "$P/seq-3.crl")" -gt "$(crl_number "$P/seq-2.crl")"

# ---- one ref signed on both nodes (the relay failed over mid-request) -----

check "partition again" partition 1 2
d1=$(sign 1 failover dup) && certs=$((certs + 1))
d2=$(sign 2 failover dup) && certs=$((certs + 1))
check "the same ref is signed on node 1" test -n "$d1"
check "and on node 2, with another serial" sh -c "[ -n '$d2' ] && [ '$d1' != '$d2' ]"
check "heal" heal 1 2
check "the digests converge" converged 1 2
check "both certificates are kept on node 1" listed_on 1 "$d1"
check "and on node 2" listed_on 2 "$d2" 1
check "the lower serial stays good on node 1" state_is 1 "$d1" good
check "and on node 2" state_is 2 "$d1" good
check "the higher serial is revoked superseded on node 1" state_is 1 "$d2" revoked superseded
check "and on node 2" state_is 2 "$d2" revoked superseded
check "digest: one superseded on node 1" test "$(digest_count 1 superseded)" -eq 1
check "digest: one superseded on node 2" test "$(digest_count 2 superseded)" -eq 1
health 1 "$P/h1.json"
health 2 "$P/h2.json"
check "node 1's health reports it" grep -q '"repository".*[^0-9]1 superseded by the pair rule' "$P/h1.json"
check "node 2's health reports it" grep -q '"repository".*[^0-9]1 superseded by the pair rule' "$P/h2.json"
crl 2 "$P/dup-2.crl"
check "node 2's CRL lists it as superseded" crl_lists "$P/dup-2.crl" "$d2" superseded

# ---- SIGKILL either node, again and again, while a backlog replicates -----

check "partition" partition 1 2
check "a backlog of 200 on node 1" signs 1 200 k1 && certs=$((certs + 200))
check "and of 200 on node 2" signs 2 200 k2 && certs=$((certs + 200))
check "heal" heal 1 2
check "SIGKILL node 1 three times while the backlogs cross" kill_loop 1 3
# Events pushed as they commit: kill the receiver while the other signs.
check "SIGKILL node 2 three times while node 1 signs 400" kill_during 1 2 400 l1 && certs=$((certs + 400))
check "SIGKILL node 1 three times while node 2 signs 400" kill_during 2 1 400 l2 && certs=$((certs + 400))
check "the digests converge after the kills" converged 1 2
check "nothing lost, nothing duplicated: node 1 holds every certificate once" \
	test "$(ctl 1 list | wc -l)" -eq "$certs"
check "node 2 too" test "$(ctl 2 list | wc -l)" -eq "$certs"
check "the digest counts them" test "$(digest_count 2 certificates)" -eq "$certs"
check "signerctl verify passes on node 1" ctl 1 verify
check "signerctl verify passes on node 2" ctl 2 verify

# ---- a node down during many events catches up ----------------------------

node_stop 2
check "300 signs on node 1 while node 2 is down" signs 1 300 down && certs=$((certs + 300))
check "node 2 restarts" node_start 2
check "node 2 catches up" converged 1 2
check "and holds every certificate" test "$(digest_count 2 certificates)" -eq "$certs"
health 2 "$P/h2.json"
check "health: node 2 counts what it applied" test "$(peer_field "$P/h2.json" applied)" -ge 300

# ---- a fresh node 3, paired with node 1, catches up from nothing ---------

node_stop 2
check "node 3: directory, token copy, link certificate" node_add 3
check "node 3: configuration, paired with node 1" node_conf 3 1
check "node 1 now paired with node 3" node_conf 1 3
check "node 3: an empty repository" node_init 3
check "node 3 holds nothing" test "$(digest_count 3 certificates)" -eq 0
node_stop 1
check "node 1 restarts" node_start 1
check "node 3 starts" node_start 3
check "heal" heal 1 3
check "node 3 catches up to node 1's digest" converged 1 3 60
check "node 3 holds every certificate" test "$(digest_count 3 certificates)" -eq "$certs"
check "including node 2's, revoked as node 2 did" state_is 3 "$c2" revoked cessationOfOperation
check "and the superseded one" state_is 3 "$d2" revoked superseded
check "signerctl verify passes on node 3" ctl 3 verify
crl 3 "$P/n3.crl"
check "node 3's CRL verifies" crl_verifies "$P/n3.crl"
check "and lists the shared serial as key compromise" crl_lists "$P/n3.crl" "$sh_" "key compromise"
check "node 3 signs" test -n "$(sign 3 three c3)" && certs=$((certs + 1))
check "and node 1 receives it" converged 1 3

# ---- hostile peers: wrong certificate, garbage, bad frames -----------------

l1=127.0.0.1:$(node_var listen 1)
link_cert "$P" intruder
health 1 "$P/h1.json"
tf=$(peer_field "$P/h1.json" tls_failures)
bi=$(peer_field "$P/h1.json" bad_input)
ll=$(log_lines 1)
timeout 10 openssl s_client -connect "$l1" -tls1_3 -cert "$P/intruder.pem" -key "$P/intruder-key.pem" \
    </dev/null >"$P/intruder.out" 2>&1
check "a TLS client with the wrong certificate is refused (tls_failures grows)" \
	wait_field_above 1 tls_failures "$tf" 10
check "a sync: log line says why" log_since 1 "$ll" 'sync: connection from 127\.0\.0\.1:[0-9]+ refused: .*(pinned|fingerprint)'
check "node 1 signs after it" test -n "$(sign 1 after-intruder intr)" && certs=$((certs + 1))
tf=$(peer_field "$P/hf.json" tls_failures)
ll=$(log_lines 1)
timeout 10 openssl s_client -connect "$l1" -tls1_3 </dev/null >"$P/nocert.out" 2>&1
check "a TLS client without a certificate is refused" wait_field_above 1 tls_failures "$tf" 10
check "and the log says why" log_since 1 "$ll" 'sync: connection from .* refused: .*certificate'
tf=$(peer_field "$P/hf.json" tls_failures)
ll=$(log_lines 1)
head -c 4096 /dev/urandom | timeout 10 socat -u - TCP:"$l1" 2>/dev/null
check "garbage over plain TCP is refused" wait_field_above 1 tls_failures "$tf" 10
check "and the log says why" log_since 1 "$ll" 'sync: connection from .* refused: .*TLS'
check "node 1 signs after it" test -n "$(sign 1 after-garbage ag)" && certs=$((certs + 1))
# The pinned certificate (node 3's) but frames that are not frames.
ll=$(log_lines 1)
(printf 'not a frame\000\001\002\003\000'; head -c 2048 /dev/urandom; sleep 2) |
    timeout 10 openssl s_client -quiet -connect "$l1" -tls1_3 -cert "$P/n3/link.pem" \
    -key "$P/n3/link-key.pem" >"$P/badframes.out" 2>&1
check "bad frames from the pinned certificate are counted as bad input" \
	wait_field_above 1 bad_input "$bi" 10
check "and the log says why" log_since 1 "$ll" 'sync: connection from .* refused: .*frame'
check "node 1 is still running" node_up 1
check "node 1 still serves sign requests" test -n "$(sign 1 after-frames af)" && certs=$((certs + 1))
check "nothing hostile was applied: node 1 holds exactly what was signed" \
	test "$(digest_count 1 certificates)" -eq "$certs"
check "the nodes converge after the attacks" converged 1 3
check "signerctl verify passes on node 1" ctl 1 verify
check "the PIN never appears in a log" sh -c "! grep -qF \"\$(cat '$d/pin')\" '$P'/n*/signerd.log"

done_testing
