/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm tests: the health probe reports token presence, login and each key, and brings the token back when it can. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/hsm/softhsm_helper.h"

static const uint8_t key01[] = { 0x01 }, key02[] = { 0x02 };

/* Token with keys 01 (P-256) and 02 (P-384), both bound. */
static int
setup(void **state)
{
	static struct th_token t;
	char why[HSM_WHY_MAX];

	if (th_token_new(&t) != 0 || th_keygen(&t, "01", "EC:prime256v1") ||
	    th_keygen(&t, "02", "EC:secp384r1") ||
	    (t.pub[0] = th_pubkey(&t, "01")) == NULL ||
	    (t.pub[1] = th_pubkey(&t, "02")) == NULL ||
	    hsm_open(&t.params, &t.h, why, sizeof(why)) != 0 ||
	    hsm_key_find(t.h, key01, 1, t.pub[0], &t.k[0], why,
	    sizeof(why)) != 0 ||
	    hsm_key_find(t.h, key02, 1, t.pub[1], &t.k[1], why,
	    sizeof(why)) != 0) {
		th_dump(&t);
		th_token_free(&t);
		return -1;
	}
	*state = &t;
	return 0;
}

static int
teardown(void **state)
{
	th_token_free(*state);
	return 0;
}

static int
probe(struct th_token *t, int err[2], struct hsm_health *hl, char *why,
    size_t whylen)
{
	err[0] = err[1] = 1;
	return hsm_health(t->h, t->k, 2, err, hl, why, whylen);
}

static void
assert_healthy(struct th_token *t)
{
	struct hsm_health hl;
	char why[HSM_WHY_MAX];
	int err[2];

	if (probe(t, err, &hl, why, sizeof(why)) != 0)
		fail_msg("hsm_health: %s", why);
	assert_true(hl.token_present);
	assert_true(hl.logged_in);
	assert_false(hl.pin_refused);
	assert_int_equal(hl.keys_ok, 2);
	assert_int_equal(err[0], 0);
	assert_int_equal(err[1], 0);
	assert_string_equal(why, "");
}

static void
test_healthy(void **state)
{
	struct th_token *t = *state;
	struct hsm_health hl;
	struct hsm_stats st;
	char why[HSM_WHY_MAX];
	int signs;

	hsm_get_stats(t->h, &st);
	signs = th_count(t, "C_Sign");
	assert_healthy(t);
	/* One real test signature per key, verified. */
	assert_int_equal(th_count(t, "C_Sign"), signs + 2);
	assert_int_equal(hsm_health(t->h, NULL, 0, NULL, &hl, why,
	    sizeof(why)), 0);
	assert_true(hl.token_present);
	assert_true(hl.logged_in);
	assert_int_equal(hl.keys_ok, 0);
	assert_int_equal(hl.stats.signatures, st.signatures + 2);
	assert_int_equal(hl.stats.logins, 1);
}

/* The token leaves its slot: reported, then recovered when it is back. */
static void
test_token_away(void **state)
{
	struct th_token *t = *state;
	struct hsm_health hl;
	char why[HSM_WHY_MAX];
	int err[2], inits;

	assert_int_equal(th_plan(t, "C_GetTokenInfo CKR_DEVICE_REMOVED -1\n"
	    "C_Sign CKR_DEVICE_REMOVED -1\n"), 0);
	assert_int_equal(probe(t, err, &hl, why, sizeof(why)), ERR_HSM);
	assert_false(hl.token_present);
	assert_false(hl.logged_in);
	assert_int_equal(hl.keys_ok, 0);
	assert_int_equal(err[0], ERR_HSM);
	assert_int_equal(err[1], ERR_HSM);
	assert_non_null(strstr(why, "no token labelled"));

	/* Still away: one attempt to start over per probe, not one per key. */
	inits = th_count(t, "C_Initialize");
	assert_int_equal(probe(t, err, &hl, why, sizeof(why)), ERR_HSM);
	assert_false(hl.token_present);
	assert_int_equal(err[1], ERR_HSM);
	assert_int_equal(th_count(t, "C_Initialize"), inits + 1);
	assert_int_equal(th_count(t, "C_Login"), 1);

	assert_int_equal(th_plan(t, ""), 0);
	assert_healthy(t);
	hsm_get_stats(t->h, &hl.stats);
	assert_true(hl.stats.reinits >= 1);
}

/* A key deleted from the token: that key fails, the other one is fine. */
static void
test_key_gone(void **state)
{
	struct th_token *t = *state;
	struct hsm_health hl;
	char why[HSM_WHY_MAX];
	char *del[] = { "pkcs11-tool", "--module", TH_SOFTHSM, "--token-label",
	    TH_LABEL, "--login", "--pin", TH_PIN, "--delete-object", "--type",
	    "privkey", "--id", "02", NULL };
	int err[2];

	assert_int_equal(th_run(t->cmdlog, del), 0);
	assert_int_equal(probe(t, err, &hl, why, sizeof(why)), ERR_HSM);
	assert_true(hl.token_present);
	assert_true(hl.logged_in);
	assert_int_equal(hl.keys_ok, 1);
	assert_int_equal(err[0], 0);
	assert_int_equal(err[1], ERR_HSM);
	assert_non_null(strstr(why, "CKA_ID 02"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_healthy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_away, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_key_gone, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
