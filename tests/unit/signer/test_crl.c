/* SPDX-License-Identifier: GPL-3.0-or-later */
/* CRLs through a real SoftHSM2 token and LMDB repository: rules, numbers, deltas, expiry, checked by OpenSSL, GnuTLS and NSS. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "proto/proto.h"
#include "signer/signer.h"
#include "tests/unit/signer/demo_fixture.h"

#define DAY CERT_DAY_SECONDS

static int64_t NOW;
static struct demo_fixture fx;
static size_t SERVER;                   /* index of server-ca */
static unsigned serial_seq = 0x100;

/* ---- helpers ------------------------------------------------------------- */

static void
write_file(const char *path, const uint8_t *b, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* A serial the repository does not know: 7f followed by a counter. */
static struct serial
unknown_serial(void)
{
	struct serial s = { .len = 3 };

	s.b[0] = 0x7f;
	s.b[1] = (uint8_t)(serial_seq >> 8);
	s.b[2] = (uint8_t)serial_seq;
	serial_seq++;
	return s;
}

static void
revoke_one(struct serial s, int reason, int64_t at)
{
	struct revoke_job j;
	char ref[64];

	snprintf(ref, sizeof(ref), "r-%u-%02x%02x", serial_seq, s.b[1], s.b[2]);
	memset(&j, 0, sizeof(j));
	j.issuer = "server-ca";
	j.serial = s;
	j.reason = reason;
	j.time = at;
	j.ref = (const uint8_t *)ref;
	j.ref_len = strlen(ref);
	assert_int_equal(signer_revoke(fx.eng, &j, 1, at), 0);
	assert_int_equal(j.err, 0);
}

static X509_CRL *
parse(const struct crl *c)
{
	const unsigned char *p = c->der;
	X509_CRL *x = d2i_X509_CRL(NULL, &p, (long)c->len);

	assert_non_null(x);
	assert_ptr_equal(p, c->der + c->len);
	return x;
}

static uint64_t
ext_uint(X509_CRL *x, int nid, int *crit)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(x, nid, crit, NULL);
	uint64_t v = 0;

	if (n == NULL)
		return 0;
	assert_int_equal(ASN1_INTEGER_get_uint64(&v, n), 1);
	ASN1_INTEGER_free(n);
	return v;
}

/* Is serial s listed in x? */
static bool
listed(X509_CRL *x, const struct serial *s)
{
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(x);
	const ASN1_INTEGER *sn;
	BIGNUM *a, *b;
	int i, n = rev != NULL ? sk_X509_REVOKED_num(rev) : 0;
	bool found = false;

	b = BN_bin2bn(s->b, (int)s->len, NULL);
	for (i = 0; i < n && !found; i++) {
		sn = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev, i));
		a = ASN1_INTEGER_to_BN(sn, NULL);
		found = BN_cmp(a, b) == 0;
		BN_free(a);
	}
	BN_free(b);
	return found;
}

static int
count(X509_CRL *x)
{
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(x);

	return rev != NULL ? sk_X509_REVOKED_num(rev) : 0;
}

static void
get(uint64_t delta_base, int64_t now, struct crl *c)
{
	char why[512] = "";
	int rc = crl_get(fx.eng, SERVER, delta_base, now, true, 0, c, why,
	    sizeof(why));

	if (rc != 0)
		fail_msg("crl_get: %s", why);
}

/* ---- setup --------------------------------------------------------------- */

static int
group_setup(void **state)
{
	const struct cert_issuer *iss;
	size_t n, i;

	(void)state;
	NOW = (int64_t)time(NULL);
	if (demo_fixture_open(&fx, "crl") != 0)
		return -1;
	iss = signer_issuers(fx.eng, &n);
	for (i = 0; i < n; i++)
		if (strcmp(iss[i].conf->id, "server-ca") == 0)
			SERVER = i;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return demo_fixture_close(&fx);
}

/* ---- tests --------------------------------------------------------------- */

/* The first request makes a CRL; the next one serves the very same CRL. */
static void
test_first_then_stored(void **state)
{
	struct crl a, b;
	X509_CRL *x;

	(void)state;
	get(0, NOW, &a);
	x = parse(&a);
	assert_int_equal(X509_CRL_get_version(x), X509_CRL_VERSION_2);
	assert_true(ext_uint(x, NID_crl_number, NULL) == a.number);
	assert_true(a.number >= (uint64_t)NOW * CRL_NUMBER_NODE_FACTOR + 1);
	assert_int_equal(X509_CRL_verify(x, X509_get0_pubkey(
	    signer_issuers(fx.eng, &(size_t){ 0 })[SERVER].cert)), 1);
	X509_CRL_free(x);
	get(0, NOW + 60, &b);
	assert_true(b.number == a.number);
	assert_int_equal(b.len, a.len);
	assert_memory_equal(b.der, a.der, a.len);
	crl_clear(&a);
	crl_clear(&b);
}

/* A revocation makes the next request regenerate, and the entry is listed in serial order. */
static void
test_revocation_regenerates(void **state)
{
	struct serial s1 = unknown_serial(), s2 = unknown_serial();
	const ASN1_INTEGER *prev = NULL, *sn;
	STACK_OF(X509_REVOKED) *rev;
	struct crl a, b;
	X509_CRL *x;
	int i;

	(void)state;
	get(0, NOW, &a);
	revoke_one(s2, CRL_REASON_KEY_COMPROMISE, NOW);
	revoke_one(s1, CRL_REASON_NONE, NOW);
	get(0, NOW + 1, &b);
	assert_true(b.number > a.number);
	x = parse(&b);
	assert_true(listed(x, &s1) && listed(x, &s2));
	assert_int_equal((uint64_t)count(x), b.entries);
	rev = X509_CRL_get_REVOKED(x);
	for (i = 0; i < sk_X509_REVOKED_num(rev); i++) {
		sn = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev, i));
		if (prev != NULL)
			assert_true(ASN1_INTEGER_cmp(prev, sn) < 0);
		prev = sn;
	}
	X509_CRL_free(x);
	crl_clear(&a);
	crl_clear(&b);
}

/* Past the refresh point (half the lifetime by default) a new CRL is made. */
static void
test_refresh_point(void **state)
{
	const struct conf_crl *cc = &fx.conf.issuers[SERVER].crl;
	int64_t half = (int64_t)cc->lifetime_days * DAY * cc->refresh_percent / 100;
	struct crl a, b, c;

	(void)state;
	get(0, NOW + 2, &a);
	get(0, a.this_update + half - 1, &b);
	assert_true(b.number == a.number);
	get(0, a.this_update + half, &c);
	assert_true(c.number > a.number);
	assert_true(c.this_update == a.this_update + half);
	assert_true(c.next_update == c.this_update +
	    (int64_t)cc->lifetime_days * DAY);
	crl_clear(&a);
	crl_clear(&b);
	crl_clear(&c);
}

/* The clock steps back a day, and the engine restarts: numbers still grow. */
static void
test_numbers_grow(void **state)
{
	struct crl a, b, c;
	char why[512];

	(void)state;
	get(0, NOW + 30 * DAY, &a);     /* the clock ran ahead */
	revoke_one(unknown_serial(), CRL_REASON_NONE, NOW);
	get(0, NOW + 3, &b);             /* and was set back */
	assert_true(b.number > a.number);
	signer_close(fx.eng);
	assert_int_equal(signer_open(&fx.conf, 0, &fx.eng, why, sizeof(why)), 0);
	revoke_one(unknown_serial(), CRL_REASON_NONE, NOW);
	get(0, NOW + 3, &c);
	assert_true(c.number > b.number);
	crl_clear(&a);
	assert_int_equal(crl_make(fx.eng, SERVER, 0, NOW + 3, &a, why,
	    sizeof(why)), 0);
	assert_true(a.number == c.number + 1);
	crl_clear(&a);
	crl_clear(&b);
	crl_clear(&c);
}

/* A revoked certificate stays listed until it has been expired for the grace period. */
static void
test_expiry_grace(void **state)
{
	const struct conf_crl *cc = &fx.conf.issuers[SERVER].crl;
	struct revoke_job j;
	struct repo_txn *t;
	struct repo_cert req, cert;
	struct crl a, b;
	X509_CRL *x;
	char why[512];
	int64_t end;

	(void)state;
	/* A certificate record as the engine keeps it, issued and then revoked. */
	memset(&req, 0, sizeof(req));
	snprintf(req.issuer, sizeof(req.issuer), "server-ca");
	snprintf(req.profile, sizeof(req.profile), "server");
	memcpy(req.ref, "expiring", 8);
	req.ref_len = 8;
	req.not_before = NOW - 10 * DAY;
	req.not_after = end = NOW - DAY;
	req.created = req.not_before;
	assert_int_equal(repo_begin(signer_repo(fx.eng), true, &t, why,
	    sizeof(why)), 0);
	assert_int_equal(repo_cert_reserve(t, &req, &cert, why, sizeof(why)), 0);
	assert_int_equal(repo_commit(t, why, sizeof(why)), 0);
	memset(&j, 0, sizeof(j));
	j.issuer = "server-ca";
	j.serial = cert.serial;
	j.ref = (const uint8_t *)"expiring-r";
	j.ref_len = 10;
	j.time = NOW - 5 * DAY;
	assert_int_equal(signer_revoke(fx.eng, &j, 1, NOW), 0);
	assert_int_equal(j.err, 0);
	get(0, end + (int64_t)cc->grace_days * DAY - 60, &a);
	x = parse(&a);
	assert_true(listed(x, &cert.serial));
	X509_CRL_free(x);
	assert_int_equal(crl_make(fx.eng, SERVER, 0, end +
	    (int64_t)cc->grace_days * DAY + 60, &b, why, sizeof(why)), 0);
	x = parse(&b);
	assert_false(listed(x, &cert.serial));
	assert_int_equal((uint64_t)count(x), b.entries);
	assert_true(b.entries + 1 == a.entries);
	X509_CRL_free(x);
	repo_cert_clear(&cert);
	crl_clear(&a);
	crl_clear(&b);
}

/* A delta lists exactly what was revoked after its base, and says which base. */
static void
test_delta(void **state)
{
	struct serial s[3] = { unknown_serial(), unknown_serial(),
	    unknown_serial() };
	struct crl base, d0, d1, d2, none;
	X509_CRL *x;
	char why[512];
	int crit = 0, i;

	(void)state;
	get(0, NOW + 5, &base);
	get(base.number, NOW + 5, &d0);
	assert_true(d0.delta_base == base.number && d0.number > base.number);
	assert_true(d0.entries == 0);
	for (i = 0; i < 3; i++)
		revoke_one(s[i], CRL_REASON_SUPERSEDED, NOW);
	get(base.number, NOW + 6, &d1);
	assert_true(d1.number > d0.number && d1.entries == 3);
	x = parse(&d1);
	assert_true(ext_uint(x, NID_delta_crl, &crit) == base.number);
	assert_int_equal(crit, 1);
	assert_int_equal(count(x), 3);
	for (i = 0; i < 3; i++)
		assert_true(listed(x, &s[i]));
	X509_CRL_free(x);
	get(base.number, NOW + 7, &d2);
	assert_true(d2.number == d1.number);
	assert_int_equal(crl_get(fx.eng, SERVER, 12345, NOW, true, 0, &none, why,
	    sizeof(why)), ERR_NOT_FOUND);
	crl_clear(&base);
	crl_clear(&d0);
	crl_clear(&d1);
	crl_clear(&d2);
}

/* OpenSSL, GnuTLS and NSS accept the complete and the delta CRL; a flipped byte is refused. */
static void
test_verifiers(void **state)
{
	char cmd[4096], crl[280], delta[280], bad[280], ca[280], db[280];
	struct crl c, d;

	(void)state;
	revoke_one(unknown_serial(), CRL_REASON_CA_COMPROMISE, NOW);
	get(0, NOW, &c);       /* verifiers refuse CRLs from the future */
	revoke_one(unknown_serial(), CRL_REASON_NONE, NOW);
	get(c.number, NOW, &d);
	snprintf(crl, sizeof(crl), "%s/t.crl", fx.dir);
	snprintf(delta, sizeof(delta), "%s/t-delta.crl", fx.dir);
	snprintf(bad, sizeof(bad), "%s/bad.crl", fx.dir);
	snprintf(ca, sizeof(ca), "%s/ca/server-ca.pem", fx.dir);
	snprintf(db, sizeof(db), "%s/nssdb", fx.dir);
	write_file(crl, c.der, c.len);
	write_file(delta, d.der, d.len);
	c.der[c.len - 8] ^= 0x01;       /* inside the signature */
	write_file(bad, c.der, c.len);
	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in %s -CAfile %s "
	    "-noout -verify 2>&1 | grep -qx 'verify OK' && openssl crl -inform DER "
	    "-in %s -CAfile %s -noout -verify 2>&1 | grep -qx 'verify OK'", crl, ca,
	    delta, ca);
	assert_int_equal(demo_run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in %s -CAfile %s "
	    "-noout -verify 2>&1 | grep -q 'verify failure'", bad, ca);
	assert_int_equal(demo_run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in %s -out %s.pem && "
	    "certtool --verify-crl --load-ca-certificate %s --infile %s.pem "
	    "2>&1 | grep -q 'Verification output: Verified'", crl, crl, ca, crl);
	assert_int_equal(demo_run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in %s -out %s.pem && "
	    "certtool --verify-crl --load-ca-certificate %s --infile %s.pem "
	    "2>&1 | grep -q 'Verification output: Verified'", bad, bad, ca, bad);
	assert_int_not_equal(demo_run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && certutil -N -d sql:%s "
	    "--empty-password && certutil -A -d sql:%s -n ca -t C,C,C -a -i %s "
	    "&& crlutil -I -d sql:%s -i %s -t 1 >/dev/null 2>&1", db, db, db, ca,
	    db, crl);
	assert_int_equal(demo_run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s && certutil -N -d "
	    "sql:%s --empty-password && certutil -A -d sql:%s -n ca -t C,C,C -a "
	    "-i %s && crlutil -I -d sql:%s -i %s -t 1 >/dev/null 2>&1", db, db,
	    db, db, ca, db, bad);
	assert_int_not_equal(demo_run(cmd), 0);
	crl_clear(&c);
	crl_clear(&d);
}

/* Only the latest complete CRL keeps its DER; bases go once past their nextUpdate, with their deltas. */
static void
test_pruning(void **state)
{
	const struct conf_crl *cc = &fx.conf.issuers[SERVER].crl;
	struct crl old, delta, now, later;
	struct repo_crl r;
	struct repo_txn *t;
	char why[512];
	int64_t life = (int64_t)cc->lifetime_days * DAY;

	(void)state;
	revoke_one(unknown_serial(), CRL_REASON_NONE, NOW);
	get(0, NOW + 100 * DAY, &old);
	get(old.number, NOW + 100 * DAY, &delta);
	revoke_one(unknown_serial(), CRL_REASON_NONE, NOW);
	get(0, NOW + 100 * DAY + 1, &now);
	assert_int_equal(repo_begin(signer_repo(fx.eng), false, &t, why,
	    sizeof(why)), 0);
	assert_int_equal(repo_crl_base(t, "server-ca", old.number, &r, why,
	    sizeof(why)), 0);
	assert_null(r.der);             /* still a base, no longer served */
	assert_int_equal(repo_crl_latest(t, "server-ca", old.number, &r, why,
	    sizeof(why)), 0);
	assert_true(r.number == delta.number);
	repo_abort(t);
	/* A complete CRL made once the old one has expired ends it and its delta. */
	get(0, NOW + 100 * DAY + life, &later);
	assert_int_equal(repo_begin(signer_repo(fx.eng), false, &t, why,
	    sizeof(why)), 0);
	assert_int_equal(repo_crl_base(t, "server-ca", old.number, &r, why,
	    sizeof(why)), ERR_NOT_FOUND);
	assert_int_equal(repo_crl_latest(t, "server-ca", old.number, &r, why,
	    sizeof(why)), ERR_NOT_FOUND);
	assert_int_equal(repo_crl_base(t, "server-ca", now.number, &r, why,
	    sizeof(why)), 0);
	repo_abort(t);
	crl_clear(&delta);
	assert_int_equal(crl_get(fx.eng, SERVER, old.number, NOW + 100 * DAY +
	    life, true, 0, &delta, why, sizeof(why)) == ERR_NOT_FOUND, 1);
	crl_clear(&old);
	crl_clear(&delta);
	crl_clear(&now);
	crl_clear(&later);
}

/* Serials with the top bit set get their 00 pad; from 2050 on times are GeneralizedTime (RFC 5280 5.1.2.4). */
static void
test_encoding_edges(void **state)
{
	struct serial hi = { .len = SERIAL_MAX };
	const int64_t y2051 = INT64_C(2556144000);     /* 2051-01-01T00:00:00Z */
	struct crl c;
	X509_CRL *x;
	char why[512];

	(void)state;
	memset(hi.b, 0xff, sizeof(hi.b));
	revoke_one(hi, CRL_REASON_AA_COMPROMISE, NOW);
	assert_int_equal(crl_make(fx.eng, SERVER, 0, y2051, &c, why,
	    sizeof(why)), 0);
	x = parse(&c);
	assert_true(listed(x, &hi));
	assert_int_equal(ASN1_STRING_type(X509_CRL_get0_lastUpdate(x)),
	    V_ASN1_GENERALIZEDTIME);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_CRL_get0_lastUpdate(x),
	    (time_t)y2051), 0);
	X509_CRL_free(x);
	crl_clear(&c);
}

/* The ECDSA P-256 issuer's CRL: an ECDSA-Sig-Value that OpenSSL and GnuTLS accept. */
static void
test_ec_issuer(void **state)
{
	const struct cert_issuer *iss;
	char why[512], cmd[2048], crl[280], ca[280];
	struct crl c;
	X509_CRL *x;
	size_t n, i;

	(void)state;
	iss = signer_issuers(fx.eng, &n);
	for (i = 0; i < n && strcmp(iss[i].conf->id, "client-ca") != 0; i++)
		;
	assert_true(i < n);
	assert_int_equal(crl_make(fx.eng, i, 0, NOW, &c, why, sizeof(why)), 0);
	x = parse(&c);
	assert_int_equal(X509_CRL_get_signature_nid(x), NID_ecdsa_with_SHA256);
	assert_int_equal(X509_CRL_verify(x, X509_get0_pubkey(iss[i].cert)), 1);
	X509_CRL_free(x);
	snprintf(crl, sizeof(crl), "%s/ec.crl", fx.dir);
	snprintf(ca, sizeof(ca), "%s/ca/client-ca.pem", fx.dir);
	write_file(crl, c.der, c.len);
	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in %s -CAfile %s "
	    "-noout -verify 2>&1 | grep -qx 'verify OK' && openssl crl -inform "
	    "DER -in %s -out %s.pem && certtool --verify-crl "
	    "--load-ca-certificate %s --infile %s.pem 2>&1 | grep -q "
	    "'Verification output: Verified'", crl, ca, crl, crl, ca, crl);
	assert_int_equal(demo_run(cmd), 0);
	crl_clear(&c);
}

/* The repository stays sound: old CRLs pruned, marks and numbers consistent. */
static void
test_repository_sound(void **state)
{
	char why[512];

	(void)state;
	assert_int_equal(repo_verify(signer_repo(fx.eng), NULL, NULL, why,
	    sizeof(why)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_then_stored),
		cmocka_unit_test(test_revocation_regenerates),
		cmocka_unit_test(test_refresh_point),
		cmocka_unit_test(test_numbers_grow),
		cmocka_unit_test(test_expiry_grace),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_verifiers),
		cmocka_unit_test(test_ec_issuer),
		cmocka_unit_test(test_pruning),
		cmocka_unit_test(test_encoding_edges),
		cmocka_unit_test(test_repository_sound),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
