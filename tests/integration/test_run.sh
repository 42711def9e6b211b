#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# signer-client run against a real signerd over a pty pair and a real SQLite queue: a mixed backlog, kills, an outage, SIGTERM, health and CRLs.
. tests/integration/lib.sh
. tests/integration/relay_lib.sh

d=$T_TMP/demo
db=$d/queue.db
cc=$T_TMP/client.yaml
log=$T_TMP/relay.log
sd_pid=
socat_pid=
relay_pid=
stop_all() {
	[ -z "$relay_pid" ] || kill -9 "$relay_pid" 2>/dev/null
	[ -z "$sd_pid" ] || kill "$sd_pid" 2>/dev/null
	[ -z "$socat_pid" ] || kill "$socat_pid" 2>/dev/null
	cleanup_tmp
}
trap stop_all EXIT

timeout 120 "$BUILD/signerctl" demo "$d" >/dev/null 2>&1
. "$d/env"
sqlite3 "$db" <client/schema/sqlite.sql
# crl.dir does not exist yet: the relay creates it.
# Short timeouts so that an unreachable signer shows within seconds.
cat >"$cc" <<EOF
signers:
  - device: $d/tty-client
    baud: 115200
timeout_ms: 1000
retries: 1
ca_dir: $d/ca
database:
  backend: sqlite
  path: $db
crl:
  dir: $d/crl
health:
  json: $d/health.json
  prometheus: $d/signer.prom
  interval_seconds: 1
log:
  level: info
EOF

pty_pair "$d/tty-signer" "$d/tty-client"
socat_pid=$pty_pid
sd_start() {
	"$BUILD/signerd" -d -c "$d/signerd.yaml" 2>>"$T_TMP/signerd.log" &
	sd_pid=$!
	timeout 30 sh -c "until grep -c 'line open' '$T_TMP/signerd.log' | grep -qx '$1'; do sleep 0.1; done"
}
sd_start 1

q() {
	sqlite3 -cmd ".timeout 5000" "$db" "$1"
}

# Two keys serve every request: the row's subject and SANs differ.
openssl req -new -newkey rsa:2048 -nodes -keyout "$T_TMP/r.key" -subj /CN=r \
    -outform DER -out "$T_TMP/r.csr" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T_TMP/e.key" -subj /CN=e -outform DER -out "$T_TMP/e.csr" 2>/dev/null
printf 'not a certificate request' >"$T_TMP/bad.csr"

# rows FIRST LAST: a mixed queue, as the web application inserts it. Per ten
# rows: six server and two client certificates, a revocation and an invalid
# request (an unknown profile, a SAN the profile refuses, a malformed CSR, a
# subject that does not parse, a serial that is not hex).
rows() {
	q "WITH RECURSIVE c(x) AS (SELECT $1 UNION ALL SELECT x + 1 FROM c WHERE x < $2)
	INSERT INTO requests (kind, profile, csr, subject, san, issuer, serial, reason)
	SELECT CASE WHEN x % 10 = 8 OR (x % 10 = 9 AND x / 10 % 5 = 4)
	    THEN 'revoke' ELSE 'sign' END,
	  CASE WHEN x % 10 < 6 THEN 'server' WHEN x % 10 < 8 THEN 'client'
	    WHEN x % 10 = 8 THEN NULL WHEN x / 10 % 5 = 0 THEN 'no-such-profile'
	    WHEN x / 10 % 5 = 4 THEN NULL ELSE 'server' END,
	  CASE WHEN x % 10 IN (6, 7) THEN readfile('$T_TMP/e.csr')
	    WHEN x % 10 = 9 AND x / 10 % 5 = 2 THEN readfile('$T_TMP/bad.csr')
	    WHEN x % 10 = 8 OR (x % 10 = 9 AND x / 10 % 5 = 4) THEN NULL
	    ELSE readfile('$T_TMP/r.csr') END,
	  CASE WHEN x % 10 < 6 THEN 'CN=h' || x || '.demo.invalid,O=Demo'
	    WHEN x % 10 < 8 THEN 'CN=User ' || x
	    WHEN x % 10 = 9 AND x / 10 % 5 = 3 THEN 'CN'
	    WHEN x % 10 = 9 AND x / 10 % 5 < 3 THEN 'CN=h' || x || '.demo.invalid'
	    END,
	  CASE WHEN x % 10 < 6 THEN 'dns:h' || x || '.demo.invalid'
	    WHEN x % 10 < 8 THEN 'email:u' || x || '@demo.invalid'
	    WHEN x % 10 = 9 AND x / 10 % 5 = 1 THEN 'email:h' || x || '@demo.invalid'
	    WHEN x % 10 = 9 AND x / 10 % 5 < 3 THEN 'dns:h' || x || '.demo.invalid'
	    END,
	  CASE WHEN x % 10 = 8 OR (x % 10 = 9 AND x / 10 % 5 = 4) THEN 'server-ca' END,
	  CASE WHEN x % 10 = 8 THEN printf('%x', 1000000 + x)
	    WHEN x % 10 = 9 AND x / 10 % 5 = 4 THEN 'xyz' END,
	  CASE WHEN x % 20 = 8 THEN 'keyCompromise' END
	FROM c"
}

# ---- a mixed backlog ------------------------------------------------------

rows 1 300
relay_start
check "a mixed queue of 300 rows is worked off" wait_sql \
	"SELECT count(*) FROM requests WHERE status = 'queued'" 0 60
check "240 sign and 30 revoke rows are done" test \
	"$(q "SELECT count(*) FROM requests WHERE status = 'done' GROUP BY kind ORDER BY kind")" = \
	"$(printf '30\n240')"
check "each done sign row is one certificate in the repository" test \
	"$(repo_count)" -eq "$(q "SELECT count(*) FROM requests WHERE status = 'done' AND kind = 'sign'")"
check "30 invalid rows failed, none retried" test \
	"$(q "SELECT count(*) FROM requests WHERE status = 'failed' AND attempts = 0")" -eq 30
check "an unknown profile fails with the signer's message" test \
	"$(q "SELECT count(*) FROM requests WHERE status = 'failed' AND error_code = 'not_found'
	    AND error_message LIKE '%no-such-profile%'")" -eq 6
check "a SAN the profile refuses fails as policy" test \
	"$(q "SELECT count(*) FROM requests WHERE status = 'failed' AND error_code = 'policy'
	    AND error_message LIKE '%email%'")" -eq 6
check "a malformed CSR fails with the signer's message" test \
	"$(q "SELECT count(*) FROM requests WHERE status = 'failed' AND
	    error_code IN ('bad_request', 'policy') AND length(error_message) > 0
	    AND id % 10 = 9 AND id / 10 % 5 = 2")" -eq 6
check "a bad subject and a bad serial fail as invalid, naming the field" test \
	"$(q "SELECT count(*) FROM requests WHERE status = 'failed' AND error_code = 'invalid'
	    AND (error_message LIKE 'subject%' OR error_message LIKE 'serial%')")" -eq 12
check "revocations carry their time" test \
	"$(q "SELECT count(*) FROM requests WHERE kind = 'revoke' AND status = 'done' AND revoked_at > 0")" -eq 30
mkdir "$T_TMP/certs"
q "SELECT writefile('$T_TMP/certs/' || id || '-' || result_issuer || '.der', cert)
    FROM requests WHERE status = 'done' AND kind = 'sign'" >/dev/null
check "every server certificate verifies (openssl)" sh -c "openssl verify \
	-CAfile '$d/ca/root.pem' -untrusted '$d/ca/server-ca.pem' '$T_TMP'/certs/*-server-ca.der |
	grep -c ': OK\$' | grep -qx 180"
check "every client certificate verifies (openssl)" sh -c "openssl verify \
	-CAfile '$d/ca/root.pem' -untrusted '$d/ca/client-ca.pem' '$T_TMP'/certs/*-client-ca.der |
	grep -c ': OK\$' | grep -qx 60"
check "the relay logs a summary per batch" grep -q 'batch: [0-9]* done, [0-9]* failed, [0-9]* retried in' "$log"

# ---- health and CRLs --------------------------------------------------------

# Health is rewritten every second: the next one sees the queue empty.
sleep 2
check "the textfile has the queue's metrics" sh -c "grep -qx 'signer_up 1' '$d/signer.prom' &&
	grep -qx 'signer_queue_depth 0' '$d/signer.prom' &&
	grep -qx 'signer_requests_done_total 270' '$d/signer.prom' &&
	grep -qx 'signer_requests_failed_total 30' '$d/signer.prom'"
check "the JSON status file has the queue" python3 -c "import json, sys
h = json.load(open('$d/health.json'))
sys.exit(0 if h['up'] and h['queue']['queued'] == 0 and h['queue']['done'] == 270 else 1)"
check "the relay created crl.dir, mode 0755" test "$(stat -c %a "$d/crl")" = 755
check "publish filled crl.dir" sh -c "for i in server-ca client-ca; do
	openssl crl -inform DER -in '$d/crl/'\$i.crl -CAfile '$d/crl/'\$i.pem -noout 2>/dev/null &&
	test -s '$d/crl/'\$i-delta.crl || exit 1; done"

# ---- kills during a backlog ---------------------------------------------------

rows 301 1100
# Each relay is killed a moment after it wrote its first batch back: most
# likely in the middle of the next one, after signing, before writing back.
gaps=0
for t in 0.05 0.15 0.1 0.2; do
	prev=$(q "SELECT count(*) FROM requests WHERE status <> 'queued'")
	wait_sql "SELECT count(*) > $prev FROM requests WHERE status <> 'queued'" 1 20
	sleep "$t"
	relay_kill
	[ "$(repo_count)" -le "$(q "SELECT count(*) FROM requests WHERE status = 'done' AND kind = 'sign'")" ] ||
		gaps=$((gaps + 1))
	relay_start
done
check "a kill fell between signing and writing back" test "$gaps" -ge 1
check "after 4 kills every row completes" wait_sql \
	"SELECT count(*) FROM requests WHERE status = 'queued'" 0 60
check "the repository holds one certificate per done sign row" test \
	"$(repo_count)" -eq "$(q "SELECT count(*) FROM requests WHERE status = 'done' AND kind = 'sign'")"
check "no serial was written twice" test \
	"$(q "SELECT count(DISTINCT result_serial) FROM requests WHERE kind = 'sign' AND status = 'done'")" \
	-eq "$(q "SELECT count(*) FROM requests WHERE kind = 'sign' AND status = 'done'")"
check "880 done sign rows, 110 failed" test \
	"$(q "SELECT count(*) FROM requests WHERE kind = 'sign' AND status = 'done'") $(q "SELECT count(*) FROM requests WHERE status = 'failed'")" = "880 110"
check "signerctl verify passes" sh -c "'$BUILD/signerctl' -c '$d/signerd.yaml' verify >/dev/null 2>&1"

# ---- the signer unreachable ---------------------------------------------------

kill "$sd_pid"
wait "$sd_pid" 2>/dev/null
q "INSERT INTO requests (kind, profile, csr, subject, san) VALUES
    ('sign', 'server', readfile('$T_TMP/r.csr'), 'CN=down1.demo.invalid', 'dns:down1.demo.invalid'),
    ('sign', 'server', readfile('$T_TMP/r.csr'), 'CN=down2.demo.invalid', 'dns:down2.demo.invalid')"
q "INSERT INTO requests (kind, issuer, serial) VALUES ('revoke', 'client-ca', 'abc123')"
check "without a signer the rows stay queued, attempts counted" wait_sql \
	"SELECT count(*) FROM requests WHERE status = 'queued' AND attempts >= 1 AND error_code IN ('timeout', 'link')" 3 30
timeout 20 sh -c "until grep -qx 'signer_up 0' '$d/signer.prom'; do sleep 0.2; done"
check "signer_up 0 while the signer is down" grep -qx 'signer_up 0' "$d/signer.prom"
sd_start 2
check "once the signer is back they complete" wait_sql \
	"SELECT count(*) FROM requests WHERE status = 'done' AND attempts >= 1" 3 40
check "nothing is left queued" test "$(q "SELECT count(*) FROM requests WHERE status = 'queued'")" -eq 0

# ---- SIGTERM ---------------------------------------------------------------------

rows 1101 1400
sleep 0.5
kill -TERM "$relay_pid"
t0=$(date +%s)
timeout 10 sh -c "while kill -0 $relay_pid 2>/dev/null; do sleep 0.05; done"
wait "$relay_pid"
rc=$?
relay_pid=
check "SIGTERM: the relay exits 0" test "$rc" -eq 0
check "SIGTERM: within a few seconds" test $(($(date +%s) - t0)) -le 5
check "SIGTERM: what was signed was written back" test \
	"$(repo_count)" -eq "$(q "SELECT count(*) FROM requests WHERE status = 'done' AND kind = 'sign'")"
check "SIGTERM: no row was retried or left half done" test \
	"$(q "SELECT count(*) FROM requests WHERE status = 'queued' AND attempts > 0")" -eq 0
check "SIGTERM: the relay said it stopped" grep -q 'stopped' "$log"
relay_start
check "restarted, the rest completes" wait_sql \
	"SELECT count(*) FROM requests WHERE status = 'queued'" 0 60
check "in the end one certificate per done sign row" test \
	"$(repo_count)" -eq "$(q "SELECT count(*) FROM requests WHERE status = 'done' AND kind = 'sign'")"
check "in the end signerctl verify passes" sh -c "'$BUILD/signerctl' -c '$d/signerd.yaml' verify >/dev/null 2>&1"
relay_kill

# ---- a certificate that does not verify ----------------------------------------

# ca_dir holds the wrong certificate for server-ca: nothing unverified is stored.
mkdir "$T_TMP/badca"
cp "$d/ca/"*.pem "$T_TMP/badca/"
cp "$d/ca/client-ca.pem" "$T_TMP/badca/server-ca.pem"
sed "s|^ca_dir: .*|ca_dir: $T_TMP/badca|" "$cc" >"$T_TMP/bad.yaml"
q "INSERT INTO requests (kind, profile, csr, subject, san) VALUES
    ('sign', 'server', readfile('$T_TMP/r.csr'), 'CN=v1.demo.invalid', 'dns:v1.demo.invalid'),
    ('sign', 'server', readfile('$T_TMP/r.csr'), 'CN=v2.demo.invalid', 'dns:v2.demo.invalid')"
"$BUILD/signer-client" -c "$T_TMP/bad.yaml" run >>"$log" 2>&1 &
relay_pid=$!
check "a certificate that does not verify is retried, not stored" wait_sql \
	"SELECT count(*) FROM requests WHERE status = 'queued' AND attempts >= 1 AND cert IS NULL
	    AND error_message LIKE 'certificate % of server-ca refused: %'" 2 20
relay_kill
relay_start
check "with the right CA certificate the rows are done" wait_sql \
	"SELECT count(*) FROM requests WHERE status = 'done' AND subject LIKE 'CN=v%'" 2 20
check "and the retry got the same certificates" test \
	"$(repo_count)" -eq "$(q "SELECT count(*) FROM requests WHERE status = 'done' AND kind = 'sign'")"
relay_kill

done_testing
