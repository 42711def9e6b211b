/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm tests: where the PIN comes from, what a PIN file must look like, and that a refused PIN is never tried again. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/hsm/softhsm_helper.h"

#define PIN_VAR "SIGNER_TEST_PIN"

static const uint8_t key01[] = { 0x01 };

static int
setup(void **state)
{
	static struct th_token t;

	if (th_token_new(&t) != 0 || th_keygen(&t, "01", "EC:prime256v1") ||
	    (t.pub[0] = th_pubkey(&t, "01")) == NULL) {
		th_dump(&t);
		th_token_free(&t);
		return -1;
	}
	unsetenv(PIN_VAR);
	*state = &t;
	return 0;
}

static int
teardown(void **state)
{
	unsetenv(PIN_VAR);
	th_token_free(*state);
	return 0;
}

static int
open_with(struct th_token *t, char *why, size_t whylen)
{
	int r;

	r = hsm_open(&t->params, &t->h, why, whylen);
	assert_true(r == 0 ? t->h != NULL : t->h == NULL);
	return r;
}

static void
bind_key(struct th_token *t)
{
	char why[HSM_WHY_MAX];

	if (hsm_key_find(t->h, key01, 1, t->pub[0], &t->k[0], why,
	    sizeof(why)) != 0)
		fail_msg("hsm_key_find: %s", why);
}

static int
sign(struct th_token *t, char *why, size_t whylen)
{
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int r;

	r = hsm_sign(t->k[0], NULL, (const uint8_t *)"x", 1, &sig, &siglen,
	    why, whylen);
	free(sig);
	return r;
}

/* A wrong PIN: ERR_PIN after exactly one C_Login, and no handle. */
static void
test_wrong_pin(void **state)
{
	struct th_token *t = *state;
	char why[HSM_WHY_MAX];

	assert_int_equal(th_write_file(t->pin_file, "000000\n", 0600), 0);
	assert_int_equal(open_with(t, why, sizeof(why)), ERR_PIN);
	assert_int_equal(th_count(t, "C_Login"), 1);
	assert_non_null(strstr(why, "CKR_PIN_INCORRECT"));
	assert_null(strstr(why, "000000"));
}

/* A locked PIN is refused the same way, and not tried again either. */
static void
test_pin_locked(void **state)
{
	struct th_token *t = *state;
	char why[HSM_WHY_MAX];

	assert_int_equal(th_plan(t, "C_Login CKR_PIN_LOCKED -1\n"), 0);
	assert_int_equal(open_with(t, why, sizeof(why)), ERR_PIN);
	assert_int_equal(th_count(t, "C_Login"), 1);
	assert_non_null(strstr(why, "CKR_PIN_LOCKED"));
}

/* A PIN file others may read is refused before the token is touched. */
static void
test_pin_file_mode(void **state)
{
	struct th_token *t = *state;
	char why[HSM_WHY_MAX];

	assert_int_equal(chmod(t->pin_file, 0644), 0);
	assert_int_equal(open_with(t, why, sizeof(why)), ERR_CONFIG);
	assert_non_null(strstr(why, t->pin_file));
	assert_non_null(strstr(why, "mode 0644"));
	assert_non_null(strstr(why, "0600 or stricter"));
	assert_int_equal(th_count(t, "C_Initialize"), 0);

	assert_int_equal(chmod(t->pin_file, 0640), 0);
	assert_int_equal(open_with(t, why, sizeof(why)), ERR_CONFIG);
	assert_int_equal(chmod(t->pin_file, 0604), 0);
	assert_int_equal(open_with(t, why, sizeof(why)), ERR_CONFIG);
	assert_int_equal(th_count(t, "C_Initialize"), 0);

	/* Stricter than 0600 is fine. */
	assert_int_equal(chmod(t->pin_file, 0400), 0);
	assert_int_equal(open_with(t, why, sizeof(why)), 0);
}

/* The file must belong to the process's user (checked when we can chown). */
static void
test_pin_file_owner(void **state)
{
	struct th_token *t = *state;
	char why[HSM_WHY_MAX];

	if (geteuid() != 0 || chown(t->pin_file, 65534, 65534) != 0) {
		skip();
		return;
	}
	assert_int_equal(open_with(t, why, sizeof(why)), ERR_CONFIG);
	assert_non_null(strstr(why, "owned by uid 65534"));
	assert_int_equal(th_count(t, "C_Initialize"), 0);
}

/* What a PIN file may hold. */
static void
test_pin_file_content(void **state)
{
	struct th_token *t = *state;
	char why[HSM_WHY_MAX], longpin[HSM_PIN_MAX + 8];

	assert_int_equal(th_write_file(t->pin_file, TH_PIN, 0600), 0);
	assert_int_equal(open_with(t, why, sizeof(why)), 0);
	hsm_close(t->h);
	t->h = NULL;
	assert_int_equal(th_write_file(t->pin_file, TH_PIN "\r\n", 0600), 0);
	assert_int_equal(open_with(t, why, sizeof(why)), 0);
	hsm_close(t->h);
	t->h = NULL;

	assert_int_equal(th_write_file(t->pin_file, "\n", 0600), 0);
	assert_int_equal(open_with(t, why, sizeof(why)), ERR_CONFIG);
	assert_non_null(strstr(why, "empty PIN"));
	assert_int_equal(th_write_file(t->pin_file, TH_PIN "\n\n", 0600), 0);
	assert_int_equal(open_with(t, why, sizeof(why)), ERR_PIN);
	memset(longpin, '7', sizeof(longpin) - 1);
	longpin[sizeof(longpin) - 1] = '\0';
	assert_int_equal(th_write_file(t->pin_file, longpin, 0600), 0);
	assert_int_equal(open_with(t, why, sizeof(why)), ERR_CONFIG);
	assert_non_null(strstr(why, "longer than"));
	assert_int_equal(unlink(t->pin_file), 0);
	assert_int_equal(open_with(t, why, sizeof(why)), ERR_CONFIG);
	assert_non_null(strstr(why, "No such file"));
	/* The two good PINs and the one with a newline left in it. */
	assert_int_equal(th_count(t, "C_Login"), 3);
}

/* The PIN from an environment variable; one source only. */
static void
test_pin_env(void **state)
{
	struct th_token *t = *state;
	struct hsm_params p = t->params;
	char why[HSM_WHY_MAX];

	p.pin_file = NULL;
	p.pin_env = PIN_VAR;
	assert_int_equal(hsm_open(&p, &t->h, why, sizeof(why)), ERR_CONFIG);
	assert_non_null(strstr(why, PIN_VAR " is not set"));
	setenv(PIN_VAR, "", 1);
	assert_int_equal(hsm_open(&p, &t->h, why, sizeof(why)), ERR_CONFIG);
	assert_int_equal(th_count(t, "C_Initialize"), 0);
	setenv(PIN_VAR, TH_PIN, 1);
	if (hsm_open(&p, &t->h, why, sizeof(why)) != 0)
		fail_msg("hsm_open: %s", why);
	bind_key(t);
	assert_int_equal(sign(t, why, sizeof(why)), 0);
	hsm_key_free(t->k[0]);
	t->k[0] = NULL;
	hsm_close(t->h);
	t->h = NULL;

	p.pin_file = t->pin_file;
	assert_int_equal(hsm_open(&p, &t->h, why, sizeof(why)), ERR_INVAL);
	p.pin_file = p.pin_env = NULL;
	assert_int_equal(hsm_open(&p, &t->h, why, sizeof(why)), ERR_INVAL);
	assert_null(t->h);
}

/*
 * The PIN changes under a running signer: the re-login after a session
 * failure is refused once, and from then on no login is tried, even when
 * the PIN file is right again, until the HSM is opened anew.
 */
static void
test_pin_refused_latches(void **state)
{
	struct th_token *t = *state;
	struct hsm_health hl;
	char why[HSM_WHY_MAX];
	int login, signs, err;

	assert_int_equal(open_with(t, why, sizeof(why)), 0);
	bind_key(t);
	assert_int_equal(th_write_file(t->pin_file, "999999\n", 0600), 0);
	assert_int_equal(th_plan(t, "C_Sign CKR_SESSION_CLOSED 1\n"), 0);
	login = th_count(t, "C_Login");
	assert_int_equal(sign(t, why, sizeof(why)), ERR_PIN);
	assert_int_equal(th_count(t, "C_Login"), login + 1);
	assert_non_null(strstr(why, "CKR_PIN_INCORRECT"));

	assert_int_equal(th_write_file(t->pin_file, TH_PIN "\n", 0600), 0);
	signs = th_count(t, "C_Sign");
	assert_int_equal(sign(t, why, sizeof(why)), ERR_PIN);
	assert_int_equal(sign(t, why, sizeof(why)), ERR_PIN);
	assert_int_equal(hsm_health(t->h, &t->k[0], 1, &err, &hl, why,
	    sizeof(why)), ERR_PIN);
	assert_true(hl.pin_refused);
	assert_false(hl.logged_in);
	assert_int_equal(err, ERR_PIN);
	assert_int_equal(th_count(t, "C_Login"), login + 1);
	assert_int_equal(th_count(t, "C_Sign"), signs);

	hsm_key_free(t->k[0]);
	t->k[0] = NULL;
	hsm_close(t->h);
	t->h = NULL;
	assert_int_equal(open_with(t, why, sizeof(why)), 0);
	bind_key(t);
	assert_int_equal(sign(t, why, sizeof(why)), 0);
}

/*
 * pkcs11-helper's own re-login reads the PIN file again: a file gone too
 * open is refused without a login, and the next call works once it is fixed.
 */
static void
test_pin_file_checked_at_relogin(void **state)
{
	struct th_token *t = *state;
	char why[HSM_WHY_MAX];
	int login;

	assert_int_equal(open_with(t, why, sizeof(why)), 0);
	bind_key(t);
	assert_int_equal(chmod(t->pin_file, 0644), 0);
	assert_int_equal(th_plan(t, "C_Sign CKR_SESSION_CLOSED 1\n"), 0);
	login = th_count(t, "C_Login");
	assert_int_equal(sign(t, why, sizeof(why)), ERR_CONFIG);
	assert_non_null(strstr(why, "mode 0644"));
	assert_int_equal(th_count(t, "C_Login"), login);
	assert_int_equal(chmod(t->pin_file, 0600), 0);
	assert_int_equal(sign(t, why, sizeof(why)), 0);
	assert_int_equal(th_count(t, "C_Login"), login + 1);
}

/* The PIN hook hands out the PIN once per login and never loops. */
static void
test_pin_hook_once(void **state)
{
	struct th_token *t = *state;
	char why[HSM_WHY_MAX];
	int login;

	assert_int_equal(open_with(t, why, sizeof(why)), 0);
	bind_key(t);
	assert_int_equal(th_plan(t, "C_Sign CKR_USER_NOT_LOGGED_IN 1\n"
	    "C_Login CKR_PIN_INCORRECT -1\n"), 0);
	login = th_count(t, "C_Login");
	assert_int_equal(sign(t, why, sizeof(why)), ERR_PIN);
	assert_int_equal(th_count(t, "C_Login"), login + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wrong_pin, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_locked, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_file_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_file_owner, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_file_content, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_refused_latches, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_file_checked_at_relogin,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_hook_once, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
