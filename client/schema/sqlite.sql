-- SPDX-License-Identifier: GPL-3.0-or-later
-- The request queue of signer-client run, for SQLite 3.37 or later (STRICT tables).
--
-- The web application INSERTs a row per request (the columns marked "web")
-- and reads the outcome; signer-client run (the relay) sends queued rows to
-- the signer and writes every column marked "relay". The row id is the
-- request's ref on the serial line: sending a row again after a crash
-- returns the same certificate. Times are Unix seconds (UTC).
--
-- Load with: sqlite3 queue.db < client/schema/sqlite.sql

CREATE TABLE IF NOT EXISTS requests (
	-- web (assigned by the database): the row, and the request's ref.
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	-- web: 'sign' (profile, csr; subject, san, days optional) or
	-- 'revoke' (issuer, serial; reason optional).
	kind TEXT NOT NULL,
	-- web, sign: the signer's profile name, 1..64 bytes.
	profile TEXT,
	-- web, sign: the PKCS#10 request, DER, 1..16384 bytes.
	csr BLOB,
	-- web, sign, optional: the subject the signer puts in the certificate,
	-- as signer-client sign --subject takes it: "CN=www.example.org,O=Example"
	-- (a backslash makes the next character literal). NULL: the CSR's.
	subject TEXT,
	-- web, sign, optional: subject alternative names, one "type:value" per
	-- line (types dns, email, ip, uri), as --san takes them.
	san TEXT,
	-- web, sign, optional: validity in days, 1..36500; NULL: the profile's.
	days INTEGER,
	-- web, revoke: the issuer id (1..64 of [A-Za-z0-9._-]).
	issuer TEXT,
	-- web, revoke: the certificate's serial number in hex (an optional 0x).
	serial TEXT,
	-- web, revoke, optional: an RFC 5280 reason name (keyCompromise, ...).
	reason TEXT,
	-- web (default now): when the request was queued.
	created_at INTEGER NOT NULL DEFAULT (unixepoch()),

	-- relay: queued until the signer answered, then done or failed.
	status TEXT NOT NULL DEFAULT 'queued',
	-- relay: attempts that ended in a transient error (busy, hsm, timeout, link down).
	attempts INTEGER NOT NULL DEFAULT 0,
	-- relay: not sent before this time (backoff after a transient error).
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	-- relay: when the last attempt ended.
	last_attempt_at INTEGER,
	-- relay: when the row became done or failed.
	finished_at INTEGER,
	-- relay: the error of a failed row, or the last transient error of a
	-- queued one: the signer's wire code (policy, bad_request, conflict,
	-- not_found, busy, hsm, ...), "timeout", "link" or "invalid" (a row the
	-- relay refused before sending: error_message says which field).
	error_code TEXT,
	error_message TEXT,
	-- relay, done sign: the certificate (DER), verified against the issuer's
	-- CA certificate, its issuer id, serial number (lowercase hex) and validity.
	cert BLOB,
	result_issuer TEXT,
	result_serial TEXT,
	not_before INTEGER,
	not_after INTEGER,
	-- relay, done revoke: the revocation in force (the first one).
	revoked_at INTEGER,

	CONSTRAINT requests_kind CHECK (kind IN ('sign', 'revoke')),
	CONSTRAINT requests_status CHECK (status IN ('queued', 'done', 'failed')),
	CONSTRAINT requests_sign CHECK (kind <> 'sign' OR
	    (profile IS NOT NULL AND csr IS NOT NULL)),
	CONSTRAINT requests_revoke CHECK (kind <> 'revoke' OR
	    (issuer IS NOT NULL AND serial IS NOT NULL)),
	CONSTRAINT requests_profile CHECK (length(profile) BETWEEN 1 AND 64),
	CONSTRAINT requests_csr CHECK (length(csr) BETWEEN 1 AND 16384),
	CONSTRAINT requests_subject CHECK (length(subject) BETWEEN 1 AND 4096),
	CONSTRAINT requests_san CHECK (length(san) BETWEEN 1 AND 65536),
	CONSTRAINT requests_days CHECK (days BETWEEN 1 AND 36500),
	CONSTRAINT requests_issuer CHECK (length(issuer) BETWEEN 1 AND 64),
	CONSTRAINT requests_serial CHECK (length(serial) BETWEEN 1 AND 42),
	CONSTRAINT requests_reason CHECK (length(reason) BETWEEN 1 AND 32),
	CONSTRAINT requests_attempts CHECK (attempts >= 0)
) STRICT;

-- The relay's poll: queued rows in id order.
CREATE INDEX IF NOT EXISTS requests_queued ON requests (id)
    WHERE status = 'queued';
-- Health: counts of done and failed rows.
CREATE INDEX IF NOT EXISTS requests_status_idx ON requests (status);
