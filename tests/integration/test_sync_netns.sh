#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Peer sync across two network namespaces joined by a veth pair: a partition is the link going down, healing is it coming up.
. tests/integration/lib.sh
. tests/integration/sync_lib.sh

ns1=sgns1-$$
ns2=sgns2-$$
v1=sgv1-$$
v2=sgv2-$$
net=10.213.77

netns_down() {
	ip netns del "$ns1" 2>/dev/null
	ip netns del "$ns2" 2>/dev/null
}
stop_all() {
	sync_stop_all
	netns_down
}

# Namespaces need root and iproute2; elsewhere the loopback test covers sync.
if [ "$(id -u)" != 0 ] || ! ip netns add "$ns1" 2>/dev/null; then
	echo "# skip: network namespaces need root and ip netns"
	done_testing
	exit
fi
trap stop_all EXIT
ip netns add "$ns2"
ip link add "$v1" type veth peer name "$v2"
ip link set "$v1" netns "$ns1"
ip link set "$v2" netns "$ns2"
ip -n "$ns1" addr add "$net.1/24" dev "$v1"
ip -n "$ns2" addr add "$net.2/24" dev "$v2"
for ns in "$ns1" "$ns2"; do
	ip -n "$ns" link set lo up
done
ip -n "$ns1" link set "$v1" up
ip -n "$ns2" link set "$v2" up
# ns_has NS DEV ADDR: the namespace's end of the pair is up with its address.
ns_has() {
	ip -n "$1" -br addr show "$2" | grep -q "UP.*$3/24"
}
check "node 1's namespace has its end of the veth pair" ns_has "$ns1" "$v1" "$net.1"
check "node 2's namespace has its end of the veth pair" ns_has "$ns2" "$v2" "$net.2"

# ns_conf N PEER: node N listens on its veth address and dials the peer's, no proxy.
ns_conf() {
	sed -i -e "s|^  listen: .*|  listen: \"$net.$1:$(node_var listen "$1")\"|" \
	    -e "s|^  peer: .*|  peer: \"$net.$2:$(node_var listen "$2")\"|" "$P/n$1/signerd.yaml"
}
# ns_start N: node N's signerd inside its namespace; returns once its line is open.
ns_start() {
	nd=$P/n$1
	touch "$nd/signerd.log"
	before=$(grep -c 'line open' "$nd/signerd.log")
	ip netns exec "sgns$1-$$" env SOFTHSM2_CONF="$nd/softhsm2.conf" \
	    "$BUILD/signerd" -d -c "$nd/signerd.yaml" 2>>"$nd/signerd.log" &
	node_set sd_pid "$1" $!
	timeout 30 sh -c "until [ \$(grep -c 'line open' '$nd/signerd.log') -gt $before ]; do sleep 0.05; done"
}
# link_is STATE: take node 1's end of the veth pair down or up.
link_is() {
	ip -n "$ns1" link set "$v1" "$1"
}
# logged N TEXT SECONDS: node N's log has a line with TEXT within SECONDS.
logged() {
	timeout "$3" sh -c "until grep -q '$2' '$P/n$1/signerd.log'; do sleep 0.1; done"
}

check "a pair made from one demo environment" sync_pair_make
ns_conf 1 2
ns_conf 2 1
check "node 1 listens on its veth address" grep -q "listen: \"$net.1:" "$P/n1/signerd.yaml"
check "node 1 starts in its namespace" ns_start 1
check "node 2 starts in its namespace" ns_start 2
check "node 1 connects to node 2 across the veth pair" logged 1 'sync: connected to node 2' 30
check "node 2 connects to node 1 across the veth pair" logged 2 'sync: connected to node 1' 30

s1=$(sign 1 netns-1 one)
check "a certificate signed on node 1" [ -n "$s1" ]
check "it reaches node 2" converged 1 2

check "partition: node 1's end of the link goes down" link_is down
s2=$(sign 1 netns-2 two)
s3=$(sign 2 netns-3 three)
check "node 1 signs during the partition" [ -n "$s2" ]
check "node 2 signs during the partition" [ -n "$s3" ]
check "node 2 revokes node 1's first certificate during the partition" \
    revoke 2 server-ca "$s1" keyCompromise netns-revoke-1
check "node 1's peer check degrades while the link is down" wait_peer_check 1 degraded 20
check "node 2's peer check degrades while the link is down" wait_peer_check 2 degraded 20
check "the digests differ during the partition" [ "$(digest 1)" != "$(digest 2)" ]

check "heal: the link comes up again" link_is up
check "both converge after the heal" converged 1 2 40
check "node 1 holds node 2's certificate" listed_on 1 "$s3"
check "node 2 holds node 1's second certificate" listed_on 2 "$s2"
check "node 1's peer check is ok again" wait_peer_check 1 ok 20
crl 1 "$P/netns-1.crl"
check "node 1's CRL verifies" crl_verifies "$P/netns-1.crl"
check "node 1's CRL lists the revocation made on node 2" crl_lists "$P/netns-1.crl" "$s1" "Key Compromise"
check "both nodes still serve" [ -n "$(sign 2 netns-4 four)" ]
done_testing
