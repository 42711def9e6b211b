#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# signer-client run on a real PostgreSQL queue (a private server in a temp dir) and a real signerd over a pty pair; two relays on one queue.
. tests/integration/lib.sh
. tests/integration/relay_lib.sh

PG_BIN=/usr/lib/postgresql/15/bin
d=$T_TMP/demo
cc=$T_TMP/client.yaml
log=$T_TMP/relay.log
pg=
sd_pid=
socat_pid=
relay_pid=
mux_pids=
stop_all() {
	[ -z "$relay_pid" ] || kill -9 $relay_pid 2>/dev/null
	[ -z "$sd_pid" ] || kill "$sd_pid" 2>/dev/null
	[ -z "$socat_pid" ] || kill "$socat_pid" 2>/dev/null
	[ -z "$mux_pids" ] || kill $mux_pids 2>/dev/null
	if [ -n "$pg" ]; then
		as_pg "$PG_BIN/pg_ctl" -D "$pg/data" -m immediate stop >/dev/null 2>&1
		rm -rf "$pg"
	fi
	cleanup_tmp
}
trap stop_all EXIT

# PostgreSQL refuses to run as root: as root, its programs run as nobody.
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

if [ ! -x "$PG_BIN/initdb" ]; then
	echo "skipped: no PostgreSQL in $PG_BIN"
	done_testing
	exit
fi
# A short path: the server's socket lives in it.
pg=$(mktemp -d /tmp/pgr.XXXXXX)
[ "$(id -u)" != 0 ] || chown nobody "$pg"
as_pg "$PG_BIN/initdb" -D "$pg/data" -U postgres -A trust -N -E UTF8 --locale=C >"$T_TMP/initdb.log" 2>&1
pg_start() {
	as_pg "$PG_BIN/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w -t 30 \
	    -o "-c listen_addresses= -k $pg -c fsync=off -c full_page_writes=off" start >/dev/null
}
check "a private PostgreSQL server starts" pg_start
psql -q -h "$pg" -U postgres -d postgres -c "CREATE DATABASE queue" >/dev/null
conninfo="host=$pg user=postgres dbname=queue"
PGOPTIONS='-c client_min_messages=warning' psql -q -h "$pg" -U postgres -d queue \
	-f client/schema/postgresql.sql >/dev/null
q() {
	psql -qtAX -h "$pg" -U postgres -d queue -c "$1"
}

timeout 120 "$BUILD/signerctl" demo "$d" >/dev/null 2>&1
. "$d/env"
cat >"$cc" <<EOF
signers:
  - device: $d/tty-client
    baud: 115200
timeout_ms: 1000
retries: 1
ca_dir: $d/ca
database:
  backend: postgresql
  conninfo: "$conninfo"
health:
  prometheus: $d/signer.prom
  interval_seconds: 1
EOF
pty_pair "$d/tty-signer" "$d/tty-client"
socat_pid=$pty_pid
"$BUILD/signerd" -d -c "$d/signerd.yaml" 2>"$T_TMP/signerd.log" &
sd_pid=$!
timeout 30 sh -c "until grep -q 'line open' '$T_TMP/signerd.log'; do sleep 0.1; done"

done_sign() {
	q "SELECT count(*) FROM requests WHERE status = 'done' AND kind = 'sign'"
}

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T_TMP/e.key" -subj /CN=e -outform DER -out "$T_TMP/e.csr" 2>/dev/null
csr=$(od -An -v -tx1 "$T_TMP/e.csr" | tr -d ' \n')
# rows FIRST LAST: server certificates, and every tenth row a profile that does not exist.
rows() {
	q "INSERT INTO requests (kind, profile, csr, subject, san)
	SELECT 'sign', CASE WHEN x % 10 = 9 THEN 'no-such-profile' ELSE 'server' END,
	  decode('$csr', 'hex'), 'CN=h' || x || '.demo.invalid', 'dns:h' || x || '.demo.invalid'
	FROM generate_series($1, $2) AS x" >/dev/null
}

rows 1 400
relay_start
# A kill while the backlog is worked off; the next relay sends the rest.
wait_sql "SELECT count(*) > 0 FROM requests WHERE status <> 'queued'" t 30
sleep 0.1
kill -9 "$relay_pid"
wait "$relay_pid" 2>/dev/null
relay_start
check "every row completes" wait_sql "SELECT count(*) FROM requests WHERE status = 'queued'" 0 60
check "360 done, 40 failed with the signer's message" test \
	"$(done_sign) $(q "SELECT count(*) FROM requests WHERE status = 'failed' AND error_code = 'not_found'
	    AND error_message LIKE '%no-such-profile%'")" = "360 40"
check "one certificate per done sign row" test "$(repo_count)" -eq "$(done_sign)"
q "SELECT encode(cert, 'base64') FROM requests WHERE id = 1" | base64 -d >"$T_TMP/c1.der"
check "a certificate from the rows verifies (openssl)" openssl verify -CAfile "$d/ca/root.pem" \
	-untrusted "$d/ca/server-ca.pem" "$T_TMP/c1.der"
sleep 1.5
check "the textfile has the queue's metrics" grep -qx 'signer_requests_done_total 360' "$d/signer.prom"

# A row inserted while the relay waits (NOTIFY, or its poll) is picked up.
q "INSERT INTO requests (kind, issuer, serial) VALUES ('revoke', 'server-ca', 'abcdef')" >/dev/null
check "a row inserted later is done" wait_sql \
	"SELECT count(*) FROM requests WHERE kind = 'revoke' AND status = 'done'" 1 10

rows 401 700
sleep 0.3
kill -TERM "$relay_pid"
timeout 10 sh -c "while kill -0 $relay_pid 2>/dev/null; do sleep 0.05; done"
wait "$relay_pid"
rc=$?
relay_pid=
check "SIGTERM: the relay exits 0" test "$rc" -eq 0
check "SIGTERM: what was signed was written back" test "$(repo_count)" -eq "$(done_sign)"
check "SIGTERM: no row is left locked or retried" test \
	"$(q "SELECT count(*) FROM requests WHERE status = 'queued' AND attempts > 0")" -eq 0
relay_start
check "restarted, the rest completes" wait_sql "SELECT count(*) FROM requests WHERE status = 'queued'" 0 60
check "in the end one certificate per done sign row" test "$(repo_count)" -eq "$(done_sign)"
check "signerctl verify passes" sh -c "'$BUILD/signerctl' -c '$d/signerd.yaml' verify >/dev/null 2>&1"
kill -9 "$relay_pid"
wait "$relay_pid" 2>/dev/null
relay_pid=

# ---- two relays on one queue ---------------------------------------------------

# Two relays, each on its own line, share the signer's line through a frame
# multiplexer (as a serial port server would): whole frames from either go to
# the signer, its answers go to both (each drops the other's ids as strays).
# exec: $! is python's pid, for stop_all.
mux() {
	exec python3 - "$@" <<'PY'
import os, select, sys, time, tty
def dev(p):
    fd = os.open(p, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)
    return fd
sig, cl = dev(sys.argv[1]), [dev(p) for p in sys.argv[2:]]
held = {fd: b"" for fd in cl}
out = {fd: b"" for fd in cl + [sig]}
while True:
    r, w, _ = select.select([sig] + cl, [fd for fd in out if out[fd]], [], 1)
    for fd in r:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            continue
        except OSError:
            time.sleep(0.05)
            continue
        if fd == sig:
            for c in cl:
                out[c] += data
            continue
        buf = held[fd] + data
        cut = buf.rfind(b"\0") + 1
        out[sig] += buf[:cut]
        held[fd] = buf[cut:]
    for fd in w:
        try:
            out[fd] = out[fd][os.write(fd, out[fd]):]
        except BlockingIOError:
            pass
PY
}
pty_pair "$d/tty-mux-a" "$d/tty-client-a"
mux_pids="$pty_pid"
pty_pair "$d/tty-mux-b" "$d/tty-client-b"
mux_pids="$mux_pids $pty_pid"
mux "$d/tty-client" "$d/tty-mux-a" "$d/tty-mux-b" 2>"$T_TMP/mux.log" &
mux_pids="$mux_pids $!"
for r in a b; do
	sed "s|device: $d/tty-client\$|device: $d/tty-client-$r|" "$cc" >"$T_TMP/client-$r.yaml"
done
first=$(($(q "SELECT max(id) FROM requests") + 1))
rows 701 1500
log=$T_TMP/relay-a.log
cc=$T_TMP/client-a.yaml
relay_start
relay_a=$relay_pid
log=$T_TMP/relay-b.log
cc=$T_TMP/client-b.yaml
relay_start
relay_b=$relay_pid
relay_pid="$relay_a $relay_b"
check "two relays: every row completes" wait_sql \
	"SELECT count(*) FROM requests WHERE status = 'queued'" 0 90
kill -TERM $relay_a $relay_b
wait $relay_a $relay_b
relay_pid=
check "two relays: both worked off batches" sh -c "grep -q 'batch: [1-9]' '$T_TMP/relay-a.log' &&
	grep -q 'batch: [1-9]' '$T_TMP/relay-b.log'"
check "two relays: 720 done, 80 failed, none retried" test \
	"$(q "SELECT status, count(*) FROM requests WHERE id >= $first AND attempts = 0
	    GROUP BY status ORDER BY status")" = "$(printf 'done|720\nfailed|80')"
# The signer logs every request it answers: each ref once means no row was sent twice.
check "two relays: the signer saw each row once" sh -c "grep -o \"cmd sign ref '[0-9]*'\" '$T_TMP/signerd.log' |
	tr -dc '0-9\n' | awk '\$1 >= $first' | sort | uniq -c | awk '\$1 != 1 { bad++ } END { exit bad > 0 || NR != 800 }'"
check "two relays: one certificate per done sign row" test "$(repo_count)" -eq "$(done_sign)"

done_testing
