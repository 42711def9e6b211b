#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# signerctl on a demo environment: demo, init, list, show, verify, digest, backup, errors.
. tests/integration/lib.sh

ctl=$BUILD/signerctl
d=$T_TMP/demo

check "demo creates an environment" sh -c "'$ctl' demo '$d' >'$T_TMP/demo.out' 2>&1"
check "demo names the token and the issuing CAs" grep -q "server-ca" "$T_TMP/demo.out"
check "demo refuses an existing directory" sh -c "! '$ctl' demo '$d' >/dev/null 2>&1"
check "pin file is mode 0600" test "$(stat -c %a "$d/pin")" = 600
. "$d/env"
check "issuing CAs chain to the root (openssl)" \
	openssl verify -x509_strict -CAfile "$d/ca/root.pem" "$d/ca/server-ca.pem" "$d/ca/client-ca.pem"

cf="$d/signerd.yaml"
check "init on an existing repository finds every key" \
	sh -c "'$ctl' -c '$cf' init | grep -q '2 issuer key(s) found'"
check "list of an empty repository is empty" test -z "$("$ctl" -c "$cf" list)"
check "verify of an empty repository passes" \
	sh -c "'$ctl' -c '$cf' verify | grep -q '0 certificate(s) checked, 0 problem(s)'"
# Nothing replicated yet: the digest is SHA-256 of nothing.
check "digest of an empty repository" sh -c "'$ctl' -c '$cf' digest | grep -qx \
	'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  0 certificates, 0 revocations, 0 superseded'"
check "digest takes no argument" sh -c "'$ctl' -c '$cf' digest x 2>/dev/null; test \$? -eq 2"
check "show of an unknown serial fails" sh -c "! '$ctl' -c '$cf' show server-ca 7f01 2>/dev/null"
check "show refuses a bad serial" sh -c "! '$ctl' -c '$cf' show server-ca xyz 2>/dev/null"
check "list refuses an unknown issuer" \
	sh -c "'$ctl' -c '$cf' list --issuer nosuch 2>&1 | grep -q \"unknown issuer 'nosuch'\""

check "backup writes a file" "$ctl" -c "$cf" backup "$T_TMP/backup.mdb"
check "backup is mode 0600" test "$(stat -c %a "$T_TMP/backup.mdb")" = 600
check "backup never overwrites" sh -c "! '$ctl' -c '$cf' backup '$T_TMP/backup.mdb' 2>/dev/null"
check "the backup is a readable LMDB file" mdb_stat -n "$T_TMP/backup.mdb"

# Configuration errors name the file, line and key.
sed 's/^node: 1/nodes: 1/' "$cf" >"$T_TMP/bad.yaml"
"$ctl" -c "$T_TMP/bad.yaml" list >"$T_TMP/bad.out" 2>&1
check "a config error names file, line and key" \
	grep -q "bad.yaml:[0-9]*:[0-9]*: unknown key 'nodes'" "$T_TMP/bad.out"
# A repository opened as another node is refused.
sed 's/^node: 1/node: 2/' "$cf" >"$T_TMP/node2.yaml"
check "the repository refuses another node id" \
	sh -c "! '$ctl' -c '$T_TMP/node2.yaml' list >/dev/null 2>&1"
check "unknown command is a usage error" sh -c "'$ctl' frobnicate 2>/dev/null; test \$? -eq 2"

done_testing
