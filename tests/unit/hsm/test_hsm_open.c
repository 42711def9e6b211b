/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm tests: opening the token and binding keys, with the precise error for each thing that can be wrong. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/hsm/softhsm_helper.h"

static const uint8_t key01[] = { 0x01 }, key02[] = { 0x02 };

/* Token with P-256 key 01 and P-384 key 02. */
static int
setup(void **state)
{
	static struct th_token t;

	if (th_token_new(&t) != 0 || th_keygen(&t, "01", "EC:prime256v1") ||
	    th_keygen(&t, "02", "EC:secp384r1") ||
	    (t.pub[0] = th_pubkey(&t, "01")) == NULL ||
	    (t.pub[1] = th_pubkey(&t, "02")) == NULL) {
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

static void
open_ok(struct th_token *t)
{
	char why[HSM_WHY_MAX];

	if (hsm_open(&t->params, &t->h, why, sizeof(why)) != 0)
		fail_msg("hsm_open: %s", why);
}

static int
sign_with(struct hsm_key *k, char *why, size_t whylen)
{
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int r;

	r = hsm_sign(k, NULL, (const uint8_t *)"x", 1, &sig, &siglen, why,
	    whylen);
	free(sig);
	return r;
}

static void
test_no_such_token(void **state)
{
	struct th_token *t = *state;
	struct hsm_params p = t->params;
	char why[HSM_WHY_MAX];

	p.token = "no-such-token";
	assert_int_equal(hsm_open(&p, &t->h, why, sizeof(why)), ERR_NOT_FOUND);
	assert_null(t->h);
	assert_non_null(strstr(why, "no token labelled 'no-such-token'"));
	assert_non_null(strstr(why, "'" TH_LABEL "'"));
	/* Nobody logged in anywhere. */
	assert_int_equal(th_count(t, "C_Login"), 0);
}

static void
test_label_twice(void **state)
{
	struct th_token *t = *state;
	char why[HSM_WHY_MAX];
	char *init[] = { "softhsm2-util", "--init-token", "--free", "--label",
	    TH_LABEL, "--pin", TH_PIN, "--so-pin", TH_SO_PIN, NULL };

	assert_int_equal(th_run(t->cmdlog, init), 0);
	assert_int_equal(hsm_open(&t->params, &t->h, why, sizeof(why)),
	    ERR_HSM);
	assert_non_null(strstr(why, "2 tokens are labelled"));
	assert_int_equal(th_count(t, "C_Login"), 0);
}

static void
test_bad_module(void **state)
{
	struct th_token *t = *state;
	struct hsm_params p = t->params;
	char why[HSM_WHY_MAX];

	p.module = "/nonexistent/pkcs11.so";
	assert_int_equal(hsm_open(&p, &t->h, why, sizeof(why)), ERR_CONFIG);
	assert_non_null(strstr(why, "/nonexistent/pkcs11.so"));
	assert_non_null(strstr(why, "No such file"));
	/* A file that is not a PKCS#11 module. */
	p.module = t->conf;
	assert_int_equal(hsm_open(&p, &t->h, why, sizeof(why)), ERR_HSM);
	assert_non_null(strstr(why, "cannot load"));
	/* The failures left nothing behind: a good open works. */
	open_ok(t);
}

static void
test_params(void **state)
{
	struct th_token *t = *state;
	struct hsm_params p = t->params;
	char why[HSM_WHY_MAX];

	assert_int_equal(hsm_open(NULL, &t->h, why, sizeof(why)), ERR_INVAL);
	assert_int_equal(hsm_open(&p, NULL, why, sizeof(why)), ERR_INVAL);
	p.token = "";
	assert_int_equal(hsm_open(&p, &t->h, why, sizeof(why)), ERR_INVAL);
	p.token = "0123456789abcdef0123456789abcdefX";
	assert_int_equal(hsm_open(&p, &t->h, why, sizeof(why)), ERR_INVAL);
	assert_non_null(strstr(why, "1..32 bytes"));
	assert_null(t->h);
	/* why may be NULL. */
	assert_int_equal(hsm_open(&p, &t->h, NULL, 0), ERR_INVAL);
}

/* pkcs11-helper's state is process-wide: one HSM at a time. */
static void
test_open_twice(void **state)
{
	struct th_token *t = *state;
	struct hsm *h2 = NULL;
	char why[HSM_WHY_MAX];

	open_ok(t);
	assert_int_equal(hsm_open(&t->params, &h2, why, sizeof(why)),
	    ERR_INVAL);
	assert_null(h2);
	assert_non_null(strstr(why, "already open"));
	hsm_close(t->h);
	t->h = NULL;
	open_ok(t);
}

static void
test_unknown_key(void **state)
{
	struct th_token *t = *state;
	const uint8_t key0a[] = { 0x0a }, big[HSM_KEY_ID_MAX + 1] = { 0 };
	char why[HSM_WHY_MAX];

	open_ok(t);
	assert_int_equal(hsm_key_find(t->h, key0a, 1, t->pub[0], &t->k[0],
	    why, sizeof(why)), ERR_NOT_FOUND);
	assert_null(t->k[0]);
	assert_non_null(strstr(why, "no private key with CKA_ID 0a"));
	assert_int_equal(hsm_key_find(t->h, key0a, 0, t->pub[0], &t->k[0],
	    why, sizeof(why)), ERR_INVAL);
	assert_int_equal(hsm_key_find(t->h, big, sizeof(big), t->pub[0],
	    &t->k[0], why, sizeof(why)), ERR_INVAL);
	assert_int_equal(hsm_key_find(t->h, key01, 1, NULL, &t->k[0], why,
	    sizeof(why)), ERR_INVAL);
	/* The session is still good for a key that exists. */
	assert_int_equal(hsm_key_find(t->h, key01, 1, t->pub[0], &t->k[0],
	    why, sizeof(why)), 0);
}

/* An id that names another key than the CA certificate's. */
static void
test_wrong_key(void **state)
{
	struct th_token *t = *state;
	EVP_PKEY *other = EVP_EC_gen("P-256");
	char why[HSM_WHY_MAX];

	open_ok(t);
	assert_non_null(other);
	assert_int_equal(hsm_key_find(t->h, key01, 1, other, &t->k[0], why,
	    sizeof(why)), ERR_CONFIG);
	assert_non_null(strstr(why, "does not verify"));
	/* A P-384 public key for the P-256 private key: refused too. */
	assert_int_equal(hsm_key_find(t->h, key01, 1, t->pub[1], &t->k[0],
	    why, sizeof(why)), ERR_CONFIG);
	assert_non_null(strstr(why, "not 96"));
	assert_null(t->k[0]);
	EVP_PKEY_free(other);
}

/* Keys we do not sign with are refused before the token is asked. */
static void
test_unsupported_key(void **state)
{
	struct th_token *t = *state;
	EVP_PKEY *rsa1024 = EVP_RSA_gen(1024), *p521 = EVP_EC_gen("P-521");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char why[HSM_WHY_MAX];
	int signs;

	assert_non_null(rsa1024);
	assert_non_null(p521);
	assert_non_null(ed);
	open_ok(t);
	signs = th_count(t, "C_Sign");
	assert_int_equal(hsm_key_find(t->h, key01, 1, rsa1024, &t->k[0], why,
	    sizeof(why)), ERR_CONFIG);
	assert_non_null(strstr(why, "RSA-1024"));
	assert_int_equal(hsm_key_find(t->h, key01, 1, p521, &t->k[0], why,
	    sizeof(why)), ERR_CONFIG);
	assert_non_null(strstr(why, "secp521r1"));
	assert_int_equal(hsm_key_find(t->h, key01, 1, ed, &t->k[0], why,
	    sizeof(why)), ERR_CONFIG);
	assert_non_null(strstr(why, "ED25519"));
	assert_int_equal(th_count(t, "C_Sign"), signs);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(ed);
}

/* Keys outlive hsm_close() only to be freed. */
static void
test_close_with_keys(void **state)
{
	struct th_token *t = *state;
	char why[HSM_WHY_MAX];

	open_ok(t);
	assert_int_equal(hsm_key_find(t->h, key01, 1, t->pub[0], &t->k[0],
	    why, sizeof(why)), 0);
	assert_int_equal(hsm_key_find(t->h, key02, 1, t->pub[1], &t->k[1],
	    why, sizeof(why)), 0);
	assert_ptr_equal(hsm_key_default_md(t->k[1]), EVP_sha384());
	assert_int_equal(sign_with(t->k[1], why, sizeof(why)), 0);
	hsm_close(t->h);
	t->h = NULL;
	assert_int_equal(sign_with(t->k[0], why, sizeof(why)), ERR_INVAL);
	assert_non_null(strstr(why, "closed"));
	hsm_key_free(t->k[0]);
	t->k[0] = NULL;
	hsm_key_free(NULL);
	hsm_close(NULL);
}

/* A child after fork() must open its own: the parent's handle refuses. */
static void
test_fork(void **state)
{
	struct th_token *t = *state;
	struct hsm_health hl;
	char why[HSM_WHY_MAX];
	pid_t pid;
	int st;

	open_ok(t);
	assert_int_equal(hsm_key_find(t->h, key01, 1, t->pub[0], &t->k[0],
	    why, sizeof(why)), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		int ok = sign_with(t->k[0], why, sizeof(why)) == ERR_INVAL &&
		    strstr(why, "fork()") != NULL &&
		    hsm_health(t->h, NULL, 0, NULL, &hl, why, sizeof(why)) ==
		    ERR_INVAL;

		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(sign_with(t->k[0], why, sizeof(why)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_such_token, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_label_twice, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_module, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_twice, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unsupported_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_with_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fork, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
