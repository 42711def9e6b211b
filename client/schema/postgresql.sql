-- SPDX-License-Identifier: GPL-3.0-or-later
-- The request queue of signer-client run, for PostgreSQL 11 or later.
--
-- The web application INSERTs a row per request (the columns marked "web")
-- and reads the outcome; signer-client run (the relay) sends queued rows to
-- the signer and writes every column marked "relay". The row id is the
-- request's ref on the serial line: sending a row again after a crash
-- returns the same certificate. Times are Unix seconds (UTC).
--
-- Load with: psql "$CONNINFO" -f client/schema/postgresql.sql

CREATE TABLE IF NOT EXISTS requests (
	-- web (assigned by the database): the row, and the request's ref.
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- web: 'sign' (profile, csr; subject, san, days optional) or
	-- 'revoke' (issuer, serial; reason optional).
	kind text NOT NULL,
	-- web, sign: the signer's profile name, 1..64 bytes.
	profile text,
	-- web, sign: the PKCS#10 request, DER, 1..16384 bytes.
	csr bytea,
	-- web, sign, optional: the subject the signer puts in the certificate,
	-- as signer-client sign --subject takes it: "CN=www.example.org,O=Example"
	-- (a backslash makes the next character literal). NULL: the CSR's.
	subject text,
	-- web, sign, optional: subject alternative names, one "type:value" per
	-- line (types dns, email, ip, uri), as --san takes them.
	san text,
	-- web, sign, optional: validity in days, 1..36500; NULL: the profile's.
	days bigint,
	-- web, revoke: the issuer id (1..64 of [A-Za-z0-9._-]).
	issuer text,
	-- web, revoke: the certificate's serial number in hex (an optional 0x).
	serial text,
	-- web, revoke, optional: an RFC 5280 reason name (keyCompromise, ...).
	reason text,
	-- web (default now): when the request was queued.
	created_at bigint NOT NULL DEFAULT extract(epoch FROM now())::bigint,

	-- relay: queued until the signer answered, then done or failed.
	status text NOT NULL DEFAULT 'queued',
	-- relay: attempts that ended in a transient error (busy, hsm, timeout, link down).
	attempts bigint NOT NULL DEFAULT 0,
	-- relay: not sent before this time (backoff after a transient error).
	next_attempt_at bigint NOT NULL DEFAULT 0,
	-- relay: when the last attempt ended.
	last_attempt_at bigint,
	-- relay: when the row became done or failed.
	finished_at bigint,
	-- relay: the error of a failed row, or the last transient error of a
	-- queued one: the signer's wire code (policy, bad_request, conflict,
	-- not_found, busy, hsm, ...), "timeout", "link" or "invalid" (a row the
	-- relay refused before sending: error_message says which field).
	error_code text,
	error_message text,
	-- relay, done sign: the certificate (DER), verified against the issuer's
	-- CA certificate, its issuer id, serial number (lowercase hex) and validity.
	cert bytea,
	result_issuer text,
	result_serial text,
	not_before bigint,
	not_after bigint,
	-- relay, done revoke: the revocation in force (the first one).
	revoked_at bigint,

	CONSTRAINT requests_kind CHECK (kind IN ('sign', 'revoke')),
	CONSTRAINT requests_status CHECK (status IN ('queued', 'done', 'failed')),
	CONSTRAINT requests_sign CHECK (kind <> 'sign' OR
	    (profile IS NOT NULL AND csr IS NOT NULL)),
	CONSTRAINT requests_revoke CHECK (kind <> 'revoke' OR
	    (issuer IS NOT NULL AND serial IS NOT NULL)),
	CONSTRAINT requests_profile CHECK (octet_length(profile) BETWEEN 1 AND 64),
	CONSTRAINT requests_csr CHECK (octet_length(csr) BETWEEN 1 AND 16384),
	CONSTRAINT requests_subject CHECK (octet_length(subject) BETWEEN 1 AND 4096),
	CONSTRAINT requests_san CHECK (octet_length(san) BETWEEN 1 AND 65536),
	CONSTRAINT requests_days CHECK (days BETWEEN 1 AND 36500),
	CONSTRAINT requests_issuer CHECK (octet_length(issuer) BETWEEN 1 AND 64),
	CONSTRAINT requests_serial CHECK (octet_length(serial) BETWEEN 1 AND 42),
	CONSTRAINT requests_reason CHECK (octet_length(reason) BETWEEN 1 AND 32),
	CONSTRAINT requests_attempts CHECK (attempts >= 0)
);

-- The relay's poll: queued rows in id order.
CREATE INDEX IF NOT EXISTS requests_queued ON requests (id)
    WHERE status = 'queued';
-- Health: counts of done and failed rows.
CREATE INDEX IF NOT EXISTS requests_status_idx ON requests (status);

-- Wake the relay at once: it LISTENs on signer_requests (polling is the fallback).
CREATE OR REPLACE FUNCTION requests_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
	NOTIFY signer_requests;
	RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS requests_notify ON requests;
CREATE TRIGGER requests_notify AFTER INSERT ON requests
    FOR EACH STATEMENT EXECUTE FUNCTION requests_notify();
