/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the client's argument parsing: subject strings, SANs, refs, serials and issuer ids. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "client/client.h"

static void
assert_pair(const struct client_pairs *p, size_t i, const char *type,
    const char *value)
{
	assert_true(i < p->n);
	assert_string_equal(p->v[i].type, type);
	assert_string_equal(p->v[i].value, value);
}

static void
test_subject_simple(void **state)
{
	struct client_pairs p;
	char why[CLIENT_WHY_MAX];

	(void)state;
	assert_int_equal(client_subject_parse("CN=www.example.org,O=Example",
	    &p, why, sizeof(why)), 0);
	assert_int_equal(p.n, 2);
	assert_pair(&p, 0, "CN", "www.example.org");
	assert_pair(&p, 1, "O", "Example");
	client_pairs_free(&p);
	assert_null(p.v);
	assert_int_equal(p.n, 0);
}

static void
test_subject_escapes(void **state)
{
	struct client_pairs p;
	char why[CLIENT_WHY_MAX];

	(void)state;
	assert_int_equal(client_subject_parse(
	    "CN=a\\,b\\=c\\\\d, O = Example Inc. ,2.5.4.11=x y", &p, why,
	    sizeof(why)), 0);
	assert_int_equal(p.n, 3);
	assert_pair(&p, 0, "CN", "a,b=c\\d");
	/* Names are trimmed, values are taken as written. */
	assert_pair(&p, 1, "O", " Example Inc. ");
	assert_pair(&p, 2, "2.5.4.11", "x y");
	client_pairs_free(&p);
}

static void
test_subject_errors(void **state)
{
	static const struct {
		const char *in;
		const char *why;
	} cases[] = {
		{ "", "subject: expected ATTRIBUTE=value at ''" },
		{ "CN", "subject: expected ATTRIBUTE=value at 'CN'" },
		{ "CN=", "subject: empty value for CN" },
		{ "CN=a,", "subject: expected ATTRIBUTE=value at ''" },
		{ "CN=a,,O=b", "subject: expected ATTRIBUTE=value at ',O=b'" },
		{ "=a", "subject: expected ATTRIBUTE=value at '=a'" },
		{ "C N=a", "subject: expected ATTRIBUTE=value at 'C N=a'" },
		{ "CN=a=b", "subject: unescaped '=' in a value (write \\=)" },
		{ "CN=a\\", "subject: backslash at the end" },
		{ "CN\\=x=a", "subject: expected ATTRIBUTE=value at 'CN\\=x=a'" },
	};
	struct client_pairs p;
	char why[CLIENT_WHY_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		assert_int_equal(client_subject_parse(cases[i].in, &p, why,
		    sizeof(why)), ERR_INVAL);
		if (strcmp(why, cases[i].why) != 0)
			print_error("'%s': got '%s'\n", cases[i].in, why);
		assert_string_equal(why, cases[i].why);
		assert_null(p.v);
		assert_int_equal(p.n, 0);
	}
}

static void
test_subject_limits(void **state)
{
	struct client_pairs p;
	char why[CLIENT_WHY_MAX], *s;
	size_t i, n = 0;

	(void)state;
	s = malloc(CLIENT_DN_MAX + 2);
	assert_non_null(s);
	for (i = 0; i <= CLIENT_RDN_MAX; i++)
		n += (size_t)sprintf(s + n, "%sO=%zu", i ? "," : "", i);
	assert_int_equal(client_subject_parse(s, &p, why, sizeof(why)),
	    ERR_INVAL);
	assert_non_null(strstr(why, "more than"));
	memset(s, 'a', CLIENT_DN_MAX + 1);
	memcpy(s, "CN=", 3);
	s[CLIENT_DN_MAX + 1] = '\0';
	assert_int_equal(client_subject_parse(s, &p, why, sizeof(why)),
	    ERR_INVAL);
	assert_non_null(strstr(why, "longer than"));
	free(s);
}

static void
test_san(void **state)
{
	struct client_pairs p = { 0 };
	char why[CLIENT_WHY_MAX];

	(void)state;
	assert_int_equal(client_san_add(&p, "dns:www.example.org", why,
	    sizeof(why)), 0);
	assert_int_equal(client_san_add(&p, "IP:2001:db8::1", why,
	    sizeof(why)), 0);
	assert_int_equal(client_san_add(&p, "uri:https://example.org/a", why,
	    sizeof(why)), 0);
	assert_int_equal(client_san_add(&p, "email:a@example.org", why,
	    sizeof(why)), 0);
	assert_int_equal(p.n, 4);
	assert_pair(&p, 0, "dns", "www.example.org");
	assert_pair(&p, 1, "ip", "2001:db8::1");
	assert_pair(&p, 2, "uri", "https://example.org/a");
	assert_pair(&p, 3, "email", "a@example.org");

	assert_int_equal(client_san_add(&p, "www.example.org", why,
	    sizeof(why)), ERR_INVAL);
	assert_string_equal(why, "san 'www.example.org': expected TYPE:VALUE");
	assert_int_equal(client_san_add(&p, "dns:", why, sizeof(why)),
	    ERR_INVAL);
	assert_int_equal(client_san_add(&p, "dnsx:a", why, sizeof(why)),
	    ERR_INVAL);
	assert_string_equal(why, "san 'dnsx:a': type must be dns, email, ip "
	    "or uri");
	assert_int_equal(client_san_add(&p, ":a", why, sizeof(why)), ERR_INVAL);
	assert_int_equal(p.n, 4);
	client_pairs_free(&p);
}

static void
test_ref(void **state)
{
	char a[2 * CLIENT_REF_BYTES + 1], b[sizeof(a)], small[8];
	size_t i;

	(void)state;
	assert_int_equal(client_ref_new(a, sizeof(a)), 0);
	assert_int_equal(client_ref_new(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), 2 * CLIENT_REF_BYTES);
	for (i = 0; a[i] != '\0'; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_not_equal(a, b);
	assert_true(client_ref_valid(a));
	assert_int_equal(client_ref_new(small, sizeof(small)), ERR_NOSPACE);

	assert_false(client_ref_valid(""));
	assert_false(client_ref_valid("a b"));
	assert_false(client_ref_valid("tab\there"));
	assert_true(client_ref_valid("order-4711/retry"));
	memset(b, 'x', sizeof(b) - 1);
	b[sizeof(b) - 1] = '\0';
	assert_true(client_ref_valid(b));
}

static void
test_ref_too_long(void **state)
{
	char s[CLIENT_REF_MAX + 2];

	(void)state;
	memset(s, 'r', sizeof(s) - 1);
	s[CLIENT_REF_MAX] = '\0';
	assert_true(client_ref_valid(s));
	s[CLIENT_REF_MAX] = 'r';
	s[CLIENT_REF_MAX + 1] = '\0';
	assert_false(client_ref_valid(s));
}

static void
test_serial(void **state)
{
	char out[CLIENT_SERIAL_HEX_MAX + 1];
	char long40[] = "1234567890123456789012345678901234567890";
	char long41[] = "f1234567890123456789012345678901234567890";

	(void)state;
	assert_int_equal(client_serial_norm("1A2b", out, sizeof(out)), 0);
	assert_string_equal(out, "1a2b");
	assert_int_equal(client_serial_norm("0x001a2b", out, sizeof(out)), 0);
	assert_string_equal(out, "1a2b");
	assert_int_equal(client_serial_norm("000", out, sizeof(out)), 0);
	assert_string_equal(out, "0");
	assert_int_equal(client_serial_norm(long40, out, sizeof(out)), 0);
	assert_string_equal(out, long40);
	assert_int_equal(client_serial_norm("0000000000000000000000000000000"
	    "00000000001", out, sizeof(out)), 0);
	assert_string_equal(out, "1");
	assert_int_equal(client_serial_norm(long41, out, sizeof(out)), ERR_INVAL);
	assert_int_equal(client_serial_norm("", out, sizeof(out)), ERR_INVAL);
	assert_int_equal(client_serial_norm("0x", out, sizeof(out)), ERR_INVAL);
	assert_int_equal(client_serial_norm("12g4", out, sizeof(out)), ERR_INVAL);
	assert_int_equal(client_serial_norm("-1", out, sizeof(out)), ERR_INVAL);
	assert_int_equal(client_serial_norm("1a", out, 4), ERR_INVAL);
}

static void
test_issuer_id(void **state)
{
	(void)state;
	assert_true(client_issuer_id_valid("server-ca", 9));
	assert_true(client_issuer_id_valid("ca_2.v1", 7));
	assert_false(client_issuer_id_valid("", 0));
	assert_false(client_issuer_id_valid("../etc", 6));
	assert_false(client_issuer_id_valid(".hidden", 7));
	assert_false(client_issuer_id_valid("a/b", 3));
	assert_false(client_issuer_id_valid("a b", 3));
	assert_false(client_issuer_id_valid(
	    "a234567890123456789012345678901234567890123456789012345678901234"
	    "5", 65));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subject_simple),
		cmocka_unit_test(test_subject_escapes),
		cmocka_unit_test(test_subject_errors),
		cmocka_unit_test(test_subject_limits),
		cmocka_unit_test(test_san),
		cmocka_unit_test(test_ref),
		cmocka_unit_test(test_ref_too_long),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_issuer_id),
	};

	return cmocka_run_group_tests(tests, 0, NULL);
}
