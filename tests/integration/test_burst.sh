#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# signerd under pipelined bursts over a pty pair: 200 signs, idempotent retries, a mixed burst, kill -9 and line loss mid-burst, hostile input.
. tests/integration/lib.sh

ctl=$BUILD/signerctl
sd=$BUILD/signerd
lr=$BUILD/tests/tools/line-request
d=$T_TMP/demo
a=$T_TMP/a
b=$T_TMP/b
o=$T_TMP/out
N=200
K=50            # answers seen before a burst is cut
socat_pid=
sd_pid=
opens=0

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

# wait_open: until signerd has opened the line once more than before.
wait_open() {
	opens=$((opens + 1))
	timeout 20 sh -c "until [ \$(grep -c 'line open' '$T_TMP/signerd.log') -ge $opens ]; do sleep 0.05; done"
}

start_sd() {
	"$sd" -d -c "$cf" -t "$a" 2>>"$T_TMP/signerd.log" &
	sd_pid=$!
	wait_open
}

# req "OPTIONS" OPS...: line-request; output in $o, exit status in $rc.
req() {
	opts=$1
	shift
	# shellcheck disable=SC2086
	timeout 60 "$lr" $opts "$b" "$@" >"$o" 2>&1
	rc=$?
}

# in_order FILE FIRST COUNT: exactly COUNT responses, with ids FIRST, FIRST+1, ...
in_order() {
	awk -v f="$2" -v n="$3" '/^id /{ if ($2 != f + k) bad = 1; k++ }
	    END { exit !(k == n && !bad) }' "$1"
}

oks() {
	grep -c '^id [0-9]* ok ' "$1"
}

# repo_count: certificates recorded as issued (a reservation left pending is not one).
repo_count() {
	"$ctl" -c "$cf" list | awk '$3 == "issued"' | wc -l
}

# field NAME FILE: the first integer value of "NAME" in FILE.
field() {
	sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p" "$2" | head -1
}

# recorded REC: each "REF SERIAL SHA256" of REC is in the repository as issued, with its ref and DER.
recorded() {
	[ -s "$1" ] || return 1
	while read -r ref serial hash; do
		"$ctl" -c "$cf" show server-ca "$serial" >"$T_TMP/show" 2>&1 || return 1
		grep -q '^status: *issued$' "$T_TMP/show" && grep -q "^ref: *$ref\$" "$T_TMP/show" || return 1
		[ "$(sed -n '/BEGIN CERT/,/END CERT/p' "$T_TMP/show" | grep -v -- ----- |
		    base64 -d | sha256sum | cut -c1-64)" = "$hash" ] || return 1
	done <"$1"
}

now_ms() {
	date +%s%N | cut -c1-13
}

# cut_burst FIRSTID PREFIX KILLCMD: a burst of N signs, cut by KILLCMD once K answers arrived.
cut_burst() {
	"$lr" -c -t 1500 -i "$1" -r "$T_TMP/rec.$2.1" "$b" \
	    signs:server:"$T_TMP/csr.der":$N:"$2":"$2" >"$T_TMP/cut.$2" 2>&1 &
	lr_pid=$!
	timeout 20 sh -c "until [ \$(grep -c '^id ' '$T_TMP/cut.$2') -ge $K ]; do sleep 0.02; done"
	$3
	wait "$lr_pid"
	cut_rc=$?
	# "timeout", "write timeout", "write failed" or "line closed", as the cut fell
	cut_how=$(sed -n 's/^\([a-z ]*\) after [0-9]* responses$/\1/p' "$T_TMP/cut.$2")
	cut_n=$(sed -n 's/^[a-z ]* after \([0-9]*\) responses$/\1/p' "$T_TMP/cut.$2")
	echo "# $3: $cut_how after ${cut_n:-?} of $N responses"
}

# ---- set-up ---------------------------------------------------------------

check "demo environment" timeout 120 sh -c "'$ctl' demo '$d' >/dev/null 2>&1"
. "$d/env"
# A queue with room for a burst and for what a crash leaves on the line.
cf=$T_TMP/signerd.yaml
sed 's/^  baud: \(.*\)/  baud: \1\n  queue: 1024/' "$d/signerd.yaml" >"$cf"
check "the configuration sets a queue of 1024" grep -q '^  queue: 1024$' "$cf"
timeout 30 openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T_TMP/key.pem" -subj /CN=burst.demo.invalid -outform DER -out "$T_TMP/csr.der" 2>/dev/null
start_socat
start_sd
check "signerd opens the line" kill -0 "$sd_pid"

# ---- 200 pipelined signs, then the same 200 again ---------------------------

t0=$(now_ms)
req "-i 1 -r $T_TMP/rec.a" signs:server:"$T_TMP/csr.der":$N:a
t1=$(now_ms)
echo "# $N pipelined signs: $((t1 - t0)) ms"
check "burst: line-request exits 0 (every response ok, in order)" test "$rc" -eq 0
check "burst: $N responses, ids 1..$N in order" in_order "$o" 1 $N
check "burst: every response is a certificate" test "$(oks "$o")" -eq $N
check "burst: $N distinct serials" test "$(cut -d' ' -f2 "$T_TMP/rec.a" | sort -u | wc -l)" -eq $N
check "burst: $N distinct refs recorded" test "$(cut -d' ' -f1 "$T_TMP/rec.a" | sort -u | wc -l)" -eq $N
check "burst: the repository holds $N certificates" test "$(repo_count)" -eq $N

t0=$(now_ms)
req "-i 1001 -r $T_TMP/rec.b" signs:server:"$T_TMP/csr.der":$N:a
t1=$(now_ms)
echo "# $N pipelined retries: $((t1 - t0)) ms"
check "retry: line-request exits 0, $N certificates" \
	sh -c "[ $rc -eq 0 ] && [ \$(grep -c '^id [0-9]* ok ' '$o') -eq $N ]"
check "retry: ids in order" in_order "$o" 1001 $N
sort "$T_TMP/rec.a" >"$T_TMP/rec.a.s"
sort "$T_TMP/rec.b" >"$T_TMP/rec.b.s"
check "retry: byte-identical certificates and serials for the same refs" \
	cmp -s "$T_TMP/rec.a.s" "$T_TMP/rec.b.s"
check "retry: the repository still holds $N" test "$(repo_count)" -eq $N
# The record holds the certificate's hash: a single sign that writes the DER agrees.
req "-i 1501 -r $T_TMP/rec.one" sign:server:"$T_TMP/csr.der":a-7:p7.demo.invalid:"$T_TMP/a7.der"
check "retry: the recorded hash is the SHA-256 of the DER returned" sh -c \
	"grep -qx \"a-7 [0-9a-f]* \$(sha256sum '$T_TMP/a7.der' | cut -c1-64)\" '$T_TMP/rec.a'"

# One new ref ten times in a row: signed in one batch, one certificate for all.
req "-p -i 1601 -r $T_TMP/rec.z" $(for i in 1 2 3 4 5 6 7 8 9 10; do printf 'signs:server:%s:1:z ' "$T_TMP/csr.der"; done)
check "repeated ref: ten answers, in order" sh -c "[ $rc -eq 0 ] && [ \$(grep -c '^id [0-9]* ok ' '$o') -eq 10 ]"
check "repeated ref: the same certificate ten times" \
	sh -c "[ \$(wc -l <'$T_TMP/rec.z') -eq 10 ] && [ \$(sort -u '$T_TMP/rec.z' | wc -l) -eq 1 ]"
check "repeated ref: one certificate recorded" test "$(repo_count)" -eq $((N + 1))

# ---- a mixed burst ------------------------------------------------------------

# mix_ops: M requests, sign, revoke, cert (of the serial just revoked), health, hello, crl in turn.
M=60
mix_ops() {
	i=0
	while [ $i -lt $M ]; do
		case $((i % 6)) in
		0) printf 'signs:server:%s:1:mx%d:mx%d ' "$T_TMP/csr.der" $i $i ;;
		1) printf 'revoke:server-ca:%x:mx-r%d:superseded ' $((0x7e0000 + i)) $i ;;
		2) printf 'cert:server-ca:%x ' $((0x7e0000 + i - 1)) ;;
		3) printf 'health ' ;;
		4) printf 'hello ' ;;
		*) printf 'crlhead:server-ca ' ;;
		esac
		i=$((i + 1))
	done
}
req "-p -i 2001" $(mix_ops)
check "mixed: line-request exits 0 (each result of its command, in order)" test "$rc" -eq 0
check "mixed: $M responses, ids 2001.. in order" in_order "$o" 2001 $M
check "mixed: sign, revoke, cert, health, hello, crl answered in turn" awk '
	/^id / { k++ }
	/^id / && k % 6 == 1 && !/ ok \{"serial": "[0-9a-f]+", "issuer": "server-ca", "cert": <bin/ { bad = 1 }
	/^id / && k % 6 == 2 && !/ ok \{"issuer": "server-ca", "serial": "7e[0-9a-f]+", "revoked_at"/ { bad = 1 }
	/^id / && k % 6 == 3 && !/ ok \{"status": "revoked", .*"reason": "superseded"/ { bad = 1 }
	/^id / && k % 6 == 4 && !/ ok \{"status": "ok", .*"checks": / { bad = 1 }
	/^id / && k % 6 == 5 && !/ ok \{"server": "signerd"/ { bad = 1 }
	/^id / && k % 6 == 0 && !/ ok \{"issuer": "server-ca", "number": / { bad = 1 }
	END { exit !(k == '$M' && !bad) }' "$o"
# Each CRL is built after the revocation just before it: one entry more each time.
check "mixed: each CRL includes the revocation sent before it" sh -c \
	"grep '\"number\":' '$o' | sed 's/.*\"size\": \([0-9]*\).*/\1/' | awk 'NR > 1 && \$1 <= p { bad = 1 } { p = \$1 } END { exit !(NR == $M / 6 && !bad) }'"
check "mixed: the repository holds $((N + 1 + M / 6))" test "$(repo_count)" -eq $((N + 1 + M / 6))

# ---- kill -9 mid-burst, restart, resend ------------------------------------

base=$((N + 1 + M / 6))
cut_burst 3001 k "kill -9 $sd_pid"
wait "$sd_pid" 2>/dev/null
sd_pid=
check "kill: line-request reports the cut (status 4)" test "$cut_rc" -eq 4
check "kill: it came mid-burst ($K..$((N - 1)) responses)" \
	sh -c "[ '${cut_n:-0}' -ge $K ] && [ '${cut_n:-0}' -lt $N ] && [ \$(wc -l <'$T_TMP/rec.k.1') -eq '${cut_n:-x}' ]"
died=$(($(repo_count) - base))
echo "# kill: $died of $N recorded when signerd died"
check "kill: signerd died with part of the burst not yet recorded" test "$died" -lt $N
check "kill: every certificate returned before the kill is recorded, issued, the same DER" \
	recorded "$T_TMP/rec.k.1"
start_sd
req "-i 4001 -r $T_TMP/rec.k.2" signs:server:"$T_TMP/csr.der":$N:k:k
check "restart: the resent burst is answered, $N certificates" \
	sh -c "[ $rc -eq 0 ] && [ \$(grep -c '^id [0-9]* ok ' '$o') -eq $N ]"
check "restart: ids 4001.. in order" in_order "$o" 4001 $N
echo "# restart: $(grep -c '^stale' "$o") stale answers to the first burst skipped"
sort "$T_TMP/rec.k.1" >"$T_TMP/k1.s"
sort "$T_TMP/rec.k.2" >"$T_TMP/k2.s"
check "restart: certificates from before the kill are byte-identical after it" \
	sh -c "[ -s '$T_TMP/k1.s' ] && [ -z \"\$(comm -23 '$T_TMP/k1.s' '$T_TMP/k2.s')\" ]"
check "restart: every ref has a certificate" test "$(cut -d' ' -f1 "$T_TMP/k2.s" | sort -u | wc -l)" -eq $N
check "restart: the repository holds $N more, not more" test "$(repo_count)" -eq $((base + N))
check "restart: one certificate per ref (subject)" sh -c \
	"[ \$('$ctl' -c '$cf' list | grep -c 'CN=k[0-9]*\.demo\.invalid\$') -eq $N ] && \
	 [ \$('$ctl' -c '$cf' list | awk '{ print \$NF }' | grep '^CN=k' | sort -u | wc -l) -eq $N ]"
check "restart: signerctl verify passes" sh -c "timeout 60 '$ctl' -c '$cf' verify >'$T_TMP/verify.out' 2>&1"

# ---- the pty vanishes mid-burst, comes back, resend -------------------------

base=$((base + N))
cut_burst 5001 l "kill $socat_pid"
wait "$socat_pid" 2>/dev/null
check "hang-up: line-request reports the cut (status 4)" test "$cut_rc" -eq 4
check "hang-up: it came mid-burst ($K..$((N - 1)) responses)" \
	sh -c "[ '${cut_n:-0}' -ge $K ] && [ '${cut_n:-0}' -lt $N ]"
check "hang-up: every certificate returned before it is recorded, issued, the same DER" \
	recorded "$T_TMP/rec.l.1"
start_socat
wait_open
check "hang-up: signerd re-opens the line" kill -0 "$sd_pid"
req "-i 6001 -r $T_TMP/rec.l.2" signs:server:"$T_TMP/csr.der":$N:l:l
check "hang-up: the resent burst is answered, $N certificates" \
	sh -c "[ $rc -eq 0 ] && [ \$(grep -c '^id [0-9]* ok ' '$o') -eq $N ]"
check "hang-up: ids in order" in_order "$o" 6001 $N
echo "# hang-up: $(grep -c '^stale' "$o") stale answers to the first burst skipped"
sort "$T_TMP/rec.l.1" >"$T_TMP/l1.s"
sort "$T_TMP/rec.l.2" >"$T_TMP/l2.s"
check "hang-up: certificates from before the hang-up are byte-identical after it" \
	sh -c "[ -s '$T_TMP/l1.s' ] && [ -z \"\$(comm -23 '$T_TMP/l1.s' '$T_TMP/l2.s')\" ]"
check "hang-up: the repository holds $N more, not more" test "$(repo_count)" -eq $((base + N))
check "hang-up: one certificate per ref (subject)" \
	test "$("$ctl" -c "$cf" list | awk '{ print $NF }' | grep '^CN=l' | sort -u | wc -l)" -eq $N
req "-i 6501" health
check "hang-up: health counts one re-open" test "$(field reopens "$o")" -eq 1

# ---- hostile input ------------------------------------------------------------

req "-i 7001" health
cp "$o" "$T_TMP/health.before"
req "-i 7101" random:8192:20261202 hello
frames=$(sed -n 's/^random: 8192 bytes, \([0-9]*\) frames$/\1/p' "$o")
echo "# random: ${frames:-?} bad frames in 8192 bytes"
check "random: many bad frames in the bytes" test "${frames:-0}" -ge 10
check "random: each answered with frame and id 0" \
	test "$(grep -c '^id 0 error frame: ' "$o")" -eq "${frames:-x}"
check "random: then the next request is served" sh -c \
	"grep -q '^id 7101 ok {\"server\": \"signerd\"' '$o' && [ \$(grep -c '^id ' '$o') -eq \$(($frames + 1)) ] && ! grep -q '^mismatch' '$o'"

req "-i 7201" shape:array shape:intkey shape:strid shape:bigid shape:zeroid shape:trailing \
	shape:args shape:response shape:dupcmd shape:csrstr hello
cat >"$T_TMP/shape.want" <<EOF
id 0 error bad_request:
id 0 error bad_request:
id 0 error bad_request:
id 0 error bad_request:
id 0 error bad_request:
id 0 error decode:
id 7207 error bad_request:
id 7208 error bad_request:
id 7209 error bad_request:
id 7210 error bad_request:
id 7211 ok {"server":
EOF
awk '/^id / { print $1, $2, $3, $4 }' "$o" >"$T_TMP/shape.got"
check "wrong shapes: each answered with its code and id, then served" \
	sh -c "cmp -s '$T_TMP/shape.want' '$T_TMP/shape.got' && ! grep -q '^mismatch' '$o'"
check "wrong shapes: the reasons name what is wrong" sh -c \
	"grep -q 'message must be a msgpack map' '$o' && grep -q 'message keys must be strings' '$o' && \
	 grep -q \"field 'args' must be a map\" '$o' && grep -q \"missing field 'cmd'\" '$o' && \
	 grep -q \"duplicate field 'cmd'\" '$o' && grep -q 'trailing bytes' '$o'"

# Hostile input inside a pipelined burst: every answer in its place.
req "-p -i 7401" signs:server:"$T_TMP/csr.der":20:h1:h1 random:4096:7 shape:array oversize \
	shape:args bomb garbage badversion unknown hello signs:server:"$T_TMP/csr.der":20:h2:h2 health
hf=$(sed -n 's/^random: 4096 bytes, \([0-9]*\) frames$/\1/p' "$o")
check "interleaved: every answer in order, none out of place" sh -c \
	"[ $rc -eq 3 ] && [ \$(grep -c '^id ' '$o') -eq $((20 + ${hf:-0} + 8 + 20 + 1)) ] && ! grep -q '^mismatch' '$o'"
check "interleaved: the 42 good requests are served" test "$(oks "$o")" -eq 42
check "interleaved: the hostile ones get their codes" sh -c \
	"[ \$(grep -c '^id 0 error frame: ' '$o') -eq $((${hf:-0} + 2)) ] && grep -q '^id 0 error bad_request: message must be a msgpack map' '$o' && \
	 grep -q '^id 7422 error bad_request: ' '$o' && \
	 grep -q '^id 0 error decode: ' '$o' && grep -q '^id 7423 error unsupported_version: ' '$o' && \
	 grep -q '^id 7424 error unknown_cmd: ' '$o' && grep -q '^id 7425 ok {\"server\"' '$o'"
base=$((base + N + 40))
check "interleaved: the repository holds the 40 new certificates" test "$(repo_count)" -eq $base

req "-i 7301" health
h=$T_TMP/health.before
check "health: bad_frame counts every bad frame" \
	test "$(field bad_frame "$o")" -eq $(($(field bad_frame "$h") + ${frames:-0} + ${hf:-0} + 2))
check "health: bad_decode counts the trailing byte and the bomb" \
	test "$(field bad_decode "$o")" -eq $(($(field bad_decode "$h") + 2))
# unsupported_version is counted with the malformed envelopes.
check "health: bad_request counts the 10 malformed envelopes and the wrong version" \
	test "$(field bad_request "$o")" -eq $(($(field bad_request "$h") + 11))
check "health: unknown_cmd counts the unknown command" \
	test "$(field unknown_cmd "$o")" -eq $(($(field unknown_cmd "$h") + 1))
check "health: errors counts the sign with a str csr" \
	test "$(field errors "$o")" -eq $(($(field errors "$h") + 1))

kill -TERM "$sd_pid"
timeout 10 sh -c "while kill -0 $sd_pid 2>/dev/null; do sleep 0.1; done"
wait "$sd_pid"
check "signerd exits 0 on SIGTERM after it all" test $? -eq 0
sd_pid=
check "signerctl verify passes at the end" sh -c "timeout 60 '$ctl' -c '$cf' verify >'$T_TMP/verify.out' 2>&1"
check "verify checked every certificate" grep -q "^$base certificate(s) checked, 0 problem(s)" "$T_TMP/verify.out"
check "no record is left other than issued" test "$("$ctl" -c "$cf" list | wc -l)" -eq $base

done_testing
