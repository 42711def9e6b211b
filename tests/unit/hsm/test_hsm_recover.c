/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm tests: the token or its session fails (faults injected through p11fault.so) and the signer recovers once, no more. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/hsm/softhsm_helper.h"

static const uint8_t key01[] = { 0x01 }, key02[] = { 0x02 };

/* The errors after which the signer re-opens the session and retries. */
static const char *const recoverable[] = {
	"CKR_SESSION_HANDLE_INVALID",
	"CKR_SESSION_CLOSED",
	"CKR_USER_NOT_LOGGED_IN",
	"CKR_DEVICE_REMOVED",
	"CKR_TOKEN_NOT_PRESENT",
	"CKR_DEVICE_ERROR",
};
#define N_RECOVERABLE (sizeof(recoverable) / sizeof(recoverable[0]))

/* Calls seen by the fault module, and the HSM's counters. */
struct snap {
	int login, open, init, sign;
	struct hsm_stats st;
};

static void
snap(struct th_token *t, struct snap *s)
{
	s->login = th_count(t, "C_Login");
	s->open = th_count(t, "C_OpenSession");
	s->init = th_count(t, "C_Initialize");
	s->sign = th_count(t, "C_Sign");
	hsm_get_stats(t->h, &s->st);
}

/* Token with P-256 keys 01 and 02; the HSM open with key 01 bound. */
static int
setup(void **state)
{
	static struct th_token t;
	char why[HSM_WHY_MAX];

	if (th_token_new(&t) != 0 || th_keygen(&t, "01", "EC:prime256v1") ||
	    th_keygen(&t, "02", "EC:prime256v1") ||
	    (t.pub[0] = th_pubkey(&t, "01")) == NULL ||
	    (t.pub[1] = th_pubkey(&t, "02")) == NULL ||
	    hsm_open(&t.params, &t.h, why, sizeof(why)) != 0 ||
	    hsm_key_find(t.h, key01, 1, t.pub[0], &t.k[0], why,
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
sign(struct th_token *t, char *why, size_t whylen)
{
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int r;

	r = hsm_sign(t->k[0], NULL, (const uint8_t *)"tbs", 3, &sig, &siglen,
	    why, whylen);
	assert_true(r == 0 ? sig != NULL && siglen > 0 : sig == NULL);
	free(sig);
	return r;
}

static void
sign_ok(struct th_token *t)
{
	char why[HSM_WHY_MAX];

	if (sign(t, why, sizeof(why)) != 0)
		fail_msg("sign: %s", why);
}

/* Each error once on C_Sign: one new session, one login, and it signs. */
static void
test_c_sign_once(void **state)
{
	struct th_token *t = *state;
	struct snap a, b;
	char plan[128];
	size_t i;

	for (i = 0; i < N_RECOVERABLE; i++) {
		snprintf(plan, sizeof(plan), "C_Sign %s 1\n", recoverable[i]);
		assert_int_equal(th_plan(t, plan), 0);
		snap(t, &a);
		sign_ok(t);
		snap(t, &b);
		print_message("  %s: C_Sign %d, C_OpenSession %d, C_Login %d\n",
		    recoverable[i], b.sign - a.sign, b.open - a.open,
		    b.login - a.login);
		assert_int_equal(b.sign - a.sign, 2);
		assert_int_equal(b.login - a.login, 1);
		assert_int_equal(b.open - a.open, 1);
		assert_int_equal(b.st.logins - a.st.logins, 1);
		assert_int_equal(b.st.recoveries - a.st.recoveries, 1);
		/* Recovered for good: the next signature needs nothing. */
		snap(t, &a);
		sign_ok(t);
		snap(t, &b);
		assert_int_equal(b.login - a.login, 0);
		assert_int_equal(b.sign - a.sign, 1);
	}
}

/* Each error twice on C_Sign: one recovery, ERR_HSM; the next call works. */
static void
test_c_sign_twice(void **state)
{
	struct th_token *t = *state;
	char plan[128], why[HSM_WHY_MAX];
	struct snap a, b;
	size_t i;

	for (i = 0; i < N_RECOVERABLE; i++) {
		snprintf(plan, sizeof(plan), "C_Sign %s 2\n", recoverable[i]);
		assert_int_equal(th_plan(t, plan), 0);
		snap(t, &a);
		assert_int_equal(sign(t, why, sizeof(why)), ERR_HSM);
		snap(t, &b);
		print_message("  %s: %s\n", recoverable[i], why);
		assert_int_equal(b.login - a.login, 1);
		assert_int_equal(b.sign - a.sign, 2);
		assert_int_equal(b.st.recoveries - a.st.recoveries, 1);
		assert_int_equal(b.st.failures - a.st.failures, 1);
		assert_non_null(strstr(why, "token 'signer-test'"));
		sign_ok(t);
	}
}

/* A token that keeps failing: the call ends after one login, not in a loop. */
static void
test_c_sign_always(void **state)
{
	struct th_token *t = *state;
	char why[HSM_WHY_MAX];
	struct snap a, b;

	assert_int_equal(th_plan(t, "C_Sign CKR_DEVICE_REMOVED -1\n"), 0);
	snap(t, &a);
	assert_int_equal(sign(t, why, sizeof(why)), ERR_HSM);
	assert_int_equal(sign(t, why, sizeof(why)), ERR_HSM);
	snap(t, &b);
	assert_int_equal(b.login - a.login, 2);
	assert_true(b.sign - a.sign <= 4);
	assert_int_equal(th_plan(t, ""), 0);
	sign_ok(t);
}

/* Not a session error: pkcs11-helper's own retry, then the error named. */
static void
test_c_sign_other_error(void **state)
{
	struct th_token *t = *state;
	char why[HSM_WHY_MAX];
	struct snap a, b;

	assert_int_equal(th_plan(t, "C_Sign CKR_FUNCTION_FAILED 2\n"), 0);
	snap(t, &a);
	assert_int_equal(sign(t, why, sizeof(why)), ERR_HSM);
	snap(t, &b);
	assert_non_null(strstr(why, "CKR_FUNCTION_FAILED"));
	assert_true(b.login - a.login <= 1);
	sign_ok(t);
}

/* C_FindObjects fails while a key is bound: one login fixes it. */
static void
test_find_objects(void **state)
{
	struct th_token *t = *state;
	char plan[128], why[HSM_WHY_MAX];
	struct snap a, b;
	int r;

	snprintf(plan, sizeof(plan), "C_FindObjects CKR_DEVICE_ERROR 1\n");
	assert_int_equal(th_plan(t, plan), 0);
	snap(t, &a);
	if (hsm_key_find(t->h, key02, 1, t->pub[1], &t->k[1], why,
	    sizeof(why)) != 0)
		fail_msg("hsm_key_find: %s", why);
	snap(t, &b);
	assert_int_equal(b.login - a.login, 1);
	assert_int_equal(b.st.recoveries - a.st.recoveries, 1);
	hsm_key_free(t->k[1]);
	t->k[1] = NULL;

	snprintf(plan, sizeof(plan), "C_FindObjects CKR_SESSION_CLOSED 2\n");
	assert_int_equal(th_plan(t, plan), 0);
	snap(t, &a);
	/*
	 * pkcs11-helper 1.29 reports a search that fails again after its
	 * re-login as CKR_FUNCTION_REJECTED, the same as a missing key.
	 */
	r = hsm_key_find(t->h, key02, 1, t->pub[1], &t->k[1], why, sizeof(why));
	assert_int_equal(r, ERR_NOT_FOUND);
	assert_null(t->k[1]);
	snap(t, &b);
	assert_int_equal(b.login - a.login, 1);
	sign_ok(t);
}

/*
 * The session cannot even be re-opened (C_OpenSession fails): the module
 * is initialised again and the signature retried; a second C_OpenSession
 * failure ends the call, and the next call starts over.
 */
static void
test_open_session(void **state)
{
	struct th_token *t = *state;
	char why[HSM_WHY_MAX];
	struct snap a, b;

	assert_int_equal(th_plan(t, "C_Sign CKR_SESSION_CLOSED 1\n"
	    "C_OpenSession CKR_DEVICE_ERROR 1\n"), 0);
	snap(t, &a);
	sign_ok(t);
	snap(t, &b);
	assert_int_equal(b.init - a.init, 1);
	assert_int_equal(b.login - a.login, 1);
	assert_int_equal(b.st.reinits - a.st.reinits, 1);
	assert_int_equal(b.st.recoveries - a.st.recoveries, 1);

	assert_int_equal(th_plan(t, "C_Sign CKR_SESSION_CLOSED 1\n"
	    "C_OpenSession CKR_DEVICE_ERROR 2\n"), 0);
	snap(t, &a);
	assert_int_equal(sign(t, why, sizeof(why)), ERR_HSM);
	snap(t, &b);
	assert_int_equal(b.login - a.login, 0);
	assert_non_null(strstr(why, "CKR_DEVICE_ERROR"));
	snap(t, &a);
	sign_ok(t);
	snap(t, &b);
	assert_int_equal(b.init - a.init, 1);
	assert_int_equal(b.login - a.login, 1);
}

/* The token leaves its slot for a while, then comes back. */
static void
test_token_away(void **state)
{
	struct th_token *t = *state;
	char why[HSM_WHY_MAX];
	struct snap a, b;

	assert_int_equal(th_plan(t, "C_Sign CKR_DEVICE_REMOVED -1\n"
	    "C_GetTokenInfo CKR_DEVICE_REMOVED -1\n"), 0);
	snap(t, &a);
	assert_int_equal(sign(t, why, sizeof(why)), ERR_HSM);
	assert_non_null(strstr(why, "no token labelled 'signer-test'"));
	assert_int_equal(sign(t, why, sizeof(why)), ERR_HSM);
	snap(t, &b);
	assert_int_equal(b.login - a.login, 0);
	assert_int_equal(th_plan(t, ""), 0);
	snap(t, &a);
	sign_ok(t);
	snap(t, &b);
	assert_int_equal(b.login - a.login, 1);
	sign_ok(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_c_sign_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_c_sign_twice, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_c_sign_always, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_c_sign_other_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_find_objects, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_session, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_away, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
