/* test_imds.c — the checks of what IMDS returns: identity values and the
 * session token (imds.c is included to reach them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vpc/imds.c"

static void identity_values(void **state)
{
	assert_true(ident_value_ok("i-0123456789abcdef0", 19, 64));
	assert_true(ident_value_ok("06:1f:2a:3b:4c:5d", 17, 32));
	assert_true(ident_value_ok("ap-northeast-1a", 15, 32));
	assert_false(ident_value_ok("", 0, 64));
	assert_false(ident_value_ok("ap northeast", 12, 64));
	assert_false(ident_value_ok("i-01/..", 7, 64));
	assert_false(ident_value_ok("0123456789", 10, 10)); /* no room for the NUL */
	/* A NUL byte is no '-', ':' or '.': strchr said it was (fuzz_imds,
	 * tests/fuzz/corpus/imds/regress-nul-in-value). */
	assert_false(ident_value_ok("\0\0\0ab", 5, 64));
	assert_false(ident_value_ok("i-0123\0", 7, 64));
}

static void session_tokens(void **state)
{
	char big[300];

	assert_true(token_ok("AQAEAFakeToken==", 16));
	assert_false(token_ok("", 0));
	/* It goes into a header: no CR, LF, space or control byte. */
	assert_false(token_ok("tok\r\nX-Injected: 1", 19));
	assert_false(token_ok("a b", 3));
	/* "\0" looked like no token: a new one was asked for at once, forever
	 * (fuzz_imds, tests/fuzz/corpus/imds/regress-nul-token). */
	assert_false(token_ok("\0", 1));
	memset(big, 'A', sizeof(big));
	assert_false(token_ok(big, sizeof(big)));
	assert_true(token_ok(big, 255));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(identity_values),
	    cmocka_unit_test(session_tokens),
	};
	log_init("test_imds", 1, LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
